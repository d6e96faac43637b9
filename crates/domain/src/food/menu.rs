//! A merchant's menu: ordered categories of items, each with a price, a description, optional
//! availability hours (breakfast only), a sold-out toggle and option groups (required or optional, with
//! the fewest and most choices, each option with a price delta of zero or more).
//!
//! A menu is built whole from a [`MenuDraft`] (what an import sends, what an export gives back, what the
//! store keeps) by [`Menu::from_draft`], which checks all of it and names the path of every bad field
//! (`categories[0].items[2].price`). The order side prices a cart line against it with
//! [`Menu::price_line`], which refuses, each with its own [`CartError`], an unknown item, a sold-out one,
//! one outside its hours, an option the item does not offer, a group's choices outside its bounds, and a
//! quantity out of bounds.
//!
//! Identifiers are minted by the caller (`mint`, a parameter like every source of randomness here). An
//! import keeps the ids of the merchant's own current menu and mints new ones for anything else, so ids
//! stay stable across a round trip and one merchant's export imported by another (a chain's second
//! kitchen) gets ids of its own: an item id names one item of one merchant, everywhere.

use crate::food::hours::{HoursError, MAX_RANGES_PER_DAY, OpeningRange, check_day, daily_covers};
use crate::ids::{MenuCategoryId, MenuItemId, MenuOptionId, MerchantId, OptionGroupId};
use crate::money::{Currency, Money};
use crate::text::{FORBIDDEN_IN_LINE, FORBIDDEN_IN_PARAGRAPH, TextError, TextRule};
use doorstep_geo::LocalTime;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::ops::RangeInclusive;
use uuid::Uuid;

/// The name of a category, an item, an option group or an option: 1 to 100 characters, one line.
pub const MENU_NAME: TextRule = TextRule {
    min_chars: 1,
    max_chars: 100,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: true,
    trimmed: true,
};

/// An item's description: up to 1000 characters, line breaks allowed.
pub const MENU_DESCRIPTION: TextRule = TextRule {
    min_chars: 0,
    max_chars: 1_000,
    forbidden: &FORBIDDEN_IN_PARAGRAPH,
    needs_visible: false,
    trimmed: true,
};

/// How many categories a menu may have.
pub const MAX_CATEGORIES: usize = 50;
/// How many items a menu may have, over all its categories.
pub const MAX_ITEMS: usize = 500;
/// How many option groups an item may have.
pub const MAX_GROUPS_PER_ITEM: usize = 10;
/// How many options a group may have.
pub const MAX_OPTIONS_PER_GROUP: usize = 30;
/// An item's price in minor units: free up to 10 000.00.
pub const ITEM_PRICE_MINOR: RangeInclusive<i64> = 0..=1_000_000;
/// An option's price delta in minor units: nothing up to 1 000.00 (never negative).
pub const PRICE_DELTA_MINOR: RangeInclusive<i64> = 0..=100_000;
/// How many of one item a cart line may hold.
pub const LINE_QUANTITY: RangeInclusive<u32> = 1..=99;

/// One daily range of a [`MenuDraft`]'s item: `HH:MM` times, as opening hours are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeDraft {
    /// From, `HH:MM`.
    pub open: String,
    /// Until, `HH:MM` (on the next day when not after `open`; `24:00` is midnight).
    pub close: String,
}

/// An option as sent or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionDraft {
    /// Its id (kept when it is one of the merchant's current menu, else a new one is minted).
    #[serde(default)]
    pub id: Option<MenuOptionId>,
    /// Its name.
    pub name: String,
    /// What it adds to the item's price, minor units, zero or more.
    #[serde(default)]
    pub price_delta: i64,
}

/// An option group as sent or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDraft {
    /// Its id (see [`OptionDraft::id`]).
    #[serde(default)]
    pub id: Option<OptionGroupId>,
    /// Its name ("Size").
    pub name: String,
    /// The fewest choices; more than zero makes the group required.
    #[serde(default)]
    pub min: u32,
    /// The most choices, at least one and at most the number of options.
    pub max: u32,
    /// Its options, in the order shown.
    pub options: Vec<OptionDraft>,
}

/// An item as sent or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDraft {
    /// Its id (see [`OptionDraft::id`]).
    #[serde(default)]
    pub id: Option<MenuItemId>,
    /// Its name.
    pub name: String,
    /// Its description, "" if none.
    #[serde(default)]
    pub description: String,
    /// Its price, minor units of the menu's currency.
    pub price: i64,
    /// Whether it is sold out (for now).
    #[serde(default)]
    pub sold_out: bool,
    /// When in the day it is served (every day alike); empty: whenever the merchant is open.
    #[serde(default)]
    pub availability: Vec<RangeDraft>,
    /// Its option groups, in the order shown.
    #[serde(default)]
    pub option_groups: Vec<GroupDraft>,
}

/// A category as sent or kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryDraft {
    /// Its id (see [`OptionDraft::id`]).
    #[serde(default)]
    pub id: Option<MenuCategoryId>,
    /// Its name.
    pub name: String,
    /// Its items, in the order shown.
    #[serde(default)]
    pub items: Vec<ItemDraft>,
}

/// A whole menu as sent (an import), given back (an export) or kept: unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuDraft {
    /// The currency of every price: the merchant's.
    pub currency: Currency,
    /// The categories, in the order shown.
    pub categories: Vec<CategoryDraft>,
}

/// What is wrong with one field of a [`MenuDraft`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MenuProblem {
    /// A name or description refused by its rule.
    #[error("{0}")]
    Text(TextError),
    /// An amount outside its bounds.
    #[error("must be {min} to {max} minor units")]
    Amount {
        /// The least.
        min: i64,
        /// The most.
        max: i64,
    },
    /// More entries than allowed.
    #[error("at most {0} allowed")]
    TooMany(usize),
    /// An id given twice in the menu.
    #[error("this id is used twice in the menu")]
    DuplicateId,
    /// Not the merchant's currency.
    #[error("must be the merchant's currency {0}")]
    Currency(Currency),
    /// A bad availability range.
    #[error("{0}")]
    Hours(HoursError),
    /// A group with no option.
    #[error("a group needs at least one option")]
    NoOptions,
    /// A group whose most choices is zero or more than its options.
    #[error("must be 1 to the number of options ({0})")]
    Max(usize),
    /// A group whose fewest choices is more than its most.
    #[error("must not be more than max ({0})")]
    MinAboveMax(u32),
    /// An id missing from a stored menu (which keeps every id).
    #[error("a stored menu has every id")]
    MissingId,
}

/// A refused field: where it is (`categories[0].items[2].price`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct MenuError {
    /// The JSON path of the field in the draft.
    pub path: String,
    /// What is wrong with it.
    pub problem: MenuProblem,
}

/// How many refused fields [`Menu::from_draft`] reports at most.
pub const MAX_REPORTED_ERRORS: usize = 50;

/// An option of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuOption {
    /// Its id.
    pub id: MenuOptionId,
    /// Its name.
    pub name: String,
    /// What choosing it adds to the item's price (zero or more).
    pub price_delta: Money,
}

/// A group of options of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionGroup {
    /// Its id.
    pub id: OptionGroupId,
    /// Its name.
    pub name: String,
    /// The fewest choices (more than zero: required).
    pub min: u32,
    /// The most choices (1 to the number of options).
    pub max: u32,
    /// Its options, in order.
    pub options: Vec<MenuOption>,
}

impl OptionGroup {
    /// Whether a choice from it is required.
    pub fn is_required(&self) -> bool {
        self.min > 0
    }
}

/// An item of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// Its id.
    pub id: MenuItemId,
    /// Its name.
    pub name: String,
    /// Its description, "" if none.
    pub description: String,
    /// Its price without options.
    pub price: Money,
    /// Whether it is sold out.
    pub sold_out: bool,
    /// When in the day it is served; empty: whenever the merchant is open.
    pub availability: Vec<OpeningRange>,
    /// Its option groups, in order.
    pub option_groups: Vec<OptionGroup>,
}

impl MenuItem {
    /// Whether it is served at the local time `now_local` (its availability hours, every day alike).
    pub fn is_available_at(&self, now_local: LocalTime) -> bool {
        self.availability.is_empty() || daily_covers(&self.availability, now_local.seconds_of_day)
    }
}

/// A category of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Its id.
    pub id: MenuCategoryId,
    /// Its name.
    pub name: String,
    /// Its items, in order.
    pub items: Vec<MenuItem>,
}

/// A checked menu of one merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    merchant: MerchantId,
    currency: Currency,
    categories: Vec<Category>,
}

/// An option chosen on a priced line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedOption {
    /// The option.
    pub id: MenuOptionId,
    /// Its group.
    pub group: OptionGroupId,
    /// Its name, as it was when priced.
    pub name: String,
    /// What it added to the unit price.
    pub price_delta: Money,
}

/// A cart line priced against the menu: what the order keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// The item.
    pub item: MenuItemId,
    /// Its name, as it was when priced.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// The options chosen, in the menu's order.
    pub options: Vec<PricedOption>,
    /// One item with its options.
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub total: Money,
}

/// Why a cart line cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    /// No such item on this menu (nor, as far as the caller knows, anywhere).
    #[error("item {0} is not on the menu")]
    UnknownItem(MenuItemId),
    /// The item is another merchant's.
    #[error("item {item} is sold by another merchant")]
    ItemOfAnotherMerchant {
        /// The item.
        item: MenuItemId,
        /// Who sells it.
        merchant: MerchantId,
    },
    /// The item is sold out.
    #[error("{name} is sold out")]
    SoldOut {
        /// The item.
        item: MenuItemId,
        /// Its name.
        name: String,
    },
    /// The item is not served at this hour.
    #[error("{name} is not served at this hour")]
    NotAvailableNow {
        /// The item.
        item: MenuItemId,
        /// Its name.
        name: String,
    },
    /// An option the item does not offer.
    #[error("option {option} is not one of this item's options")]
    OptionNotInItem {
        /// The option.
        option: MenuOptionId,
    },
    /// The same option chosen twice.
    #[error("option {option} is chosen twice")]
    DuplicateOption {
        /// The option.
        option: MenuOptionId,
    },
    /// Fewer choices from a group than it needs (none from a required group).
    #[error("choose at least {min} of {name}")]
    TooFewChoices {
        /// The group.
        group: OptionGroupId,
        /// Its name.
        name: String,
        /// The fewest choices.
        min: u32,
        /// How many were chosen.
        chosen: u32,
    },
    /// More choices from a group than it allows.
    #[error("choose at most {max} of {name}")]
    TooManyChoices {
        /// The group.
        group: OptionGroupId,
        /// Its name.
        name: String,
        /// The most choices.
        max: u32,
        /// How many were chosen.
        chosen: u32,
    },
    /// A quantity outside [`LINE_QUANTITY`].
    #[error("the quantity must be {} to {}", LINE_QUANTITY.start(), LINE_QUANTITY.end())]
    Quantity(u32),
}

/// Where ids come from while a draft is built.
enum Ids<'a, F> {
    /// A stored menu: every id is given and kept.
    Stored,
    /// An import: ids of `previous` are kept, anything else gets a new id from `mint`.
    Import {
        previous: HashSet<Uuid>,
        mint: &'a mut F,
    },
}

impl<F: FnMut() -> Uuid> Ids<'_, F> {
    fn take(&mut self, given: Option<Uuid>, path: &str, errors: &mut Errors) -> Uuid {
        match self {
            Ids::Stored => match given {
                Some(id) => id,
                None => {
                    errors.push(format!("{path}.id"), MenuProblem::MissingId);
                    Uuid::nil()
                }
            },
            Ids::Import { previous, mint } => match given {
                Some(id) if previous.contains(&id) => id,
                _ => mint(),
            },
        }
    }
}

/// The refused fields found so far (the first [`MAX_REPORTED_ERRORS`]).
#[derive(Default)]
struct Errors(Vec<MenuError>);

impl Errors {
    fn push(&mut self, path: String, problem: MenuProblem) {
        if self.0.len() < MAX_REPORTED_ERRORS {
            self.0.push(MenuError { path, problem });
        }
    }

    fn text(&mut self, rule: &TextRule, raw: &str, path: String) -> String {
        match rule.check(raw) {
            Ok(s) => s.to_owned(),
            Err(e) => {
                self.push(path, MenuProblem::Text(e));
                String::new()
            }
        }
    }

    fn amount(
        &mut self,
        minor: i64,
        bounds: &RangeInclusive<i64>,
        currency: Currency,
        path: String,
    ) -> Money {
        if !bounds.contains(&minor) {
            self.push(
                path,
                MenuProblem::Amount {
                    min: *bounds.start(),
                    max: *bounds.end(),
                },
            );
        }
        Money::new(minor, currency)
    }

    fn count(&mut self, n: usize, max: usize, path: String) {
        if n > max {
            self.push(path, MenuProblem::TooMany(max));
        }
    }
}

/// Every id used in a draft, to find those given twice.
#[derive(Default)]
struct Seen(HashSet<Uuid>);

impl Seen {
    fn check(&mut self, id: Option<Uuid>, path: &str, errors: &mut Errors) {
        if let Some(id) = id
            && !self.0.insert(id)
        {
            errors.push(format!("{path}.id"), MenuProblem::DuplicateId);
        }
    }
}

impl Menu {
    /// A menu with nothing on it.
    pub fn empty(merchant: MerchantId, currency: Currency) -> Menu {
        Menu {
            merchant,
            currency,
            categories: Vec::new(),
        }
    }

    /// Checks all of `draft` and builds `merchant`'s menu in `currency`, or names every refused field
    /// (the first [`MAX_REPORTED_ERRORS`]). Ids of `previous` (the merchant's current menu) that the
    /// draft gives are kept; every other entry gets a new id from `mint`.
    pub fn from_draft(
        merchant: MerchantId,
        currency: Currency,
        draft: &MenuDraft,
        previous: Option<&Menu>,
        mint: &mut impl FnMut() -> Uuid,
    ) -> Result<Menu, Vec<MenuError>> {
        let previous = previous.map(Menu::all_ids).unwrap_or_default();
        Menu::build(merchant, currency, draft, Ids::Import { previous, mint })
    }

    /// Rebuilds a menu the store kept (its draft has every id); a draft that does not check is corrupt.
    pub fn from_stored(
        merchant: MerchantId,
        currency: Currency,
        draft: &MenuDraft,
    ) -> Result<Menu, Vec<MenuError>> {
        Menu::build::<fn() -> Uuid>(merchant, currency, draft, Ids::Stored)
    }

    fn build<F: FnMut() -> Uuid>(
        merchant: MerchantId,
        currency: Currency,
        draft: &MenuDraft,
        mut ids: Ids<'_, F>,
    ) -> Result<Menu, Vec<MenuError>> {
        let mut errors = Errors::default();
        let mut seen = Seen::default();
        if draft.currency != currency {
            errors.push("currency".to_owned(), MenuProblem::Currency(currency));
        }
        errors.count(
            draft.categories.len(),
            MAX_CATEGORIES,
            "categories".to_owned(),
        );
        let total_items: usize = draft.categories.iter().map(|c| c.items.len()).sum();
        errors.count(total_items, MAX_ITEMS, "categories".to_owned());
        let mut categories = Vec::with_capacity(draft.categories.len());
        for (ci, c) in draft.categories.iter().enumerate() {
            let cp = format!("categories[{ci}]");
            seen.check(c.id.map(|i| i.as_uuid()), &cp, &mut errors);
            let id =
                MenuCategoryId::from_uuid(ids.take(c.id.map(|i| i.as_uuid()), &cp, &mut errors));
            let name = errors.text(&MENU_NAME, &c.name, format!("{cp}.name"));
            let mut items = Vec::with_capacity(c.items.len());
            for (ii, item) in c.items.iter().enumerate() {
                let ip = format!("{cp}.items[{ii}]");
                items.push(build_item(
                    item,
                    &ip,
                    currency,
                    &mut ids,
                    &mut seen,
                    &mut errors,
                ));
            }
            categories.push(Category { id, name, items });
        }
        if errors.0.is_empty() {
            Ok(Menu {
                merchant,
                currency,
                categories,
            })
        } else {
            Err(errors.0)
        }
    }

    /// The menu as a draft with every id: what an export gives and the store keeps.
    pub fn to_draft(&self) -> MenuDraft {
        MenuDraft {
            currency: self.currency,
            categories: self
                .categories
                .iter()
                .map(|c| CategoryDraft {
                    id: Some(c.id),
                    name: c.name.clone(),
                    items: c
                        .items
                        .iter()
                        .map(|i| ItemDraft {
                            id: Some(i.id),
                            name: i.name.clone(),
                            description: i.description.clone(),
                            price: i.price.minor,
                            sold_out: i.sold_out,
                            availability: i
                                .availability
                                .iter()
                                .map(|r| RangeDraft {
                                    open: r.open().to_string(),
                                    close: r.close().to_string(),
                                })
                                .collect(),
                            option_groups: i
                                .option_groups
                                .iter()
                                .map(|g| GroupDraft {
                                    id: Some(g.id),
                                    name: g.name.clone(),
                                    min: g.min,
                                    max: g.max,
                                    options: g
                                        .options
                                        .iter()
                                        .map(|o| OptionDraft {
                                            id: Some(o.id),
                                            name: o.name.clone(),
                                            price_delta: o.price_delta.minor,
                                        })
                                        .collect(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Whose menu it is.
    pub fn merchant(&self) -> MerchantId {
        self.merchant
    }

    /// The currency of its prices.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Its categories, in order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Every item, in order.
    pub fn items(&self) -> impl Iterator<Item = &MenuItem> {
        self.categories.iter().flat_map(|c| c.items.iter())
    }

    /// The item with this id.
    pub fn item(&self, id: MenuItemId) -> Option<&MenuItem> {
        self.items().find(|i| i.id == id)
    }

    fn all_ids(&self) -> HashSet<Uuid> {
        let mut ids = HashSet::new();
        for c in &self.categories {
            ids.insert(c.id.as_uuid());
            for i in &c.items {
                ids.insert(i.id.as_uuid());
                for g in &i.option_groups {
                    ids.insert(g.id.as_uuid());
                    ids.extend(g.options.iter().map(|o| o.id.as_uuid()));
                }
            }
        }
        ids
    }

    /// Marks an item sold out (or back in stock); whether anything changed, or
    /// [`CartError::UnknownItem`].
    pub fn set_sold_out(&mut self, item: MenuItemId, sold_out: bool) -> Result<bool, CartError> {
        let found = self
            .categories
            .iter_mut()
            .flat_map(|c| c.items.iter_mut())
            .find(|i| i.id == item)
            .ok_or(CartError::UnknownItem(item))?;
        let changed = found.sold_out != sold_out;
        found.sold_out = sold_out;
        Ok(changed)
    }

    /// The error of a line whose item this menu lacks: [`CartError::ItemOfAnotherMerchant`] when
    /// `sold_by` (who sells the item, as the store knows it) is another merchant, else
    /// [`CartError::UnknownItem`].
    pub fn missing_item(&self, item: MenuItemId, sold_by: Option<MerchantId>) -> CartError {
        match sold_by {
            Some(merchant) if merchant != self.merchant => {
                CartError::ItemOfAnotherMerchant { item, merchant }
            }
            _ => CartError::UnknownItem(item),
        }
    }

    /// Prices `quantity` of `item` with the options `chosen` at the local time `now_local`: refused when
    /// the item is not on this menu, is sold out or not served at this hour, when an option is not one of
    /// the item's or is chosen twice, when a group gets fewer or more choices than it allows (none from a
    /// required group), or when the quantity is outside [`LINE_QUANTITY`].
    pub fn price_line(
        &self,
        item: MenuItemId,
        chosen: &[MenuOptionId],
        quantity: u32,
        now_local: LocalTime,
    ) -> Result<PricedLine, CartError> {
        let found = self.item(item).ok_or(CartError::UnknownItem(item))?;
        if !LINE_QUANTITY.contains(&quantity) {
            return Err(CartError::Quantity(quantity));
        }
        if found.sold_out {
            return Err(CartError::SoldOut {
                item,
                name: found.name.clone(),
            });
        }
        if !found.is_available_at(now_local) {
            return Err(CartError::NotAvailableNow {
                item,
                name: found.name.clone(),
            });
        }
        let mut picked: HashSet<MenuOptionId> = HashSet::with_capacity(chosen.len());
        for &option in chosen {
            let offered = found
                .option_groups
                .iter()
                .any(|g| g.options.iter().any(|o| o.id == option));
            if !offered {
                return Err(CartError::OptionNotInItem { option });
            }
            if !picked.insert(option) {
                return Err(CartError::DuplicateOption { option });
            }
        }
        let mut options = Vec::new();
        let mut unit = found.price;
        for group in &found.option_groups {
            let mut n = 0u32;
            for option in group.options.iter().filter(|o| picked.contains(&o.id)) {
                n += 1;
                // Prices and deltas are bounded, so the sums stay far below the range of minor units.
                unit.minor = unit.minor.saturating_add(option.price_delta.minor);
                options.push(PricedOption {
                    id: option.id,
                    group: group.id,
                    name: option.name.clone(),
                    price_delta: option.price_delta,
                });
            }
            if n < group.min {
                return Err(CartError::TooFewChoices {
                    group: group.id,
                    name: group.name.clone(),
                    min: group.min,
                    chosen: n,
                });
            }
            if n > group.max {
                return Err(CartError::TooManyChoices {
                    group: group.id,
                    name: group.name.clone(),
                    max: group.max,
                    chosen: n,
                });
            }
        }
        let total = Money::new(
            unit.minor.saturating_mul(i64::from(quantity)),
            unit.currency,
        );
        Ok(PricedLine {
            item,
            name: found.name.clone(),
            quantity,
            options,
            unit_price: unit,
            total,
        })
    }
}

fn build_item<F: FnMut() -> Uuid>(
    item: &ItemDraft,
    ip: &str,
    currency: Currency,
    ids: &mut Ids<'_, F>,
    seen: &mut Seen,
    errors: &mut Errors,
) -> MenuItem {
    seen.check(item.id.map(|i| i.as_uuid()), ip, errors);
    let id = MenuItemId::from_uuid(ids.take(item.id.map(|i| i.as_uuid()), ip, errors));
    let name = errors.text(&MENU_NAME, &item.name, format!("{ip}.name"));
    let description = errors.text(
        &MENU_DESCRIPTION,
        &item.description,
        format!("{ip}.description"),
    );
    let price = errors.amount(
        item.price,
        &ITEM_PRICE_MINOR,
        currency,
        format!("{ip}.price"),
    );
    let mut availability = Vec::with_capacity(item.availability.len());
    for (ri, r) in item.availability.iter().enumerate() {
        match OpeningRange::parse(&r.open, &r.close) {
            Ok(range) => availability.push(range),
            Err(e) => errors.push(format!("{ip}.availability[{ri}]"), MenuProblem::Hours(e)),
        }
    }
    if availability.len() == item.availability.len()
        && let Err(e) = check_day(&availability)
    {
        let problem = match e {
            HoursError::TooManyRanges => MenuProblem::TooMany(MAX_RANGES_PER_DAY),
            other => MenuProblem::Hours(other),
        };
        errors.push(format!("{ip}.availability"), problem);
    }
    errors.count(
        item.option_groups.len(),
        MAX_GROUPS_PER_ITEM,
        format!("{ip}.option_groups"),
    );
    let mut option_groups = Vec::with_capacity(item.option_groups.len());
    for (gi, g) in item.option_groups.iter().enumerate() {
        let gp = format!("{ip}.option_groups[{gi}]");
        seen.check(g.id.map(|i| i.as_uuid()), &gp, errors);
        let id = OptionGroupId::from_uuid(ids.take(g.id.map(|i| i.as_uuid()), &gp, errors));
        let name = errors.text(&MENU_NAME, &g.name, format!("{gp}.name"));
        if g.options.is_empty() {
            errors.push(format!("{gp}.options"), MenuProblem::NoOptions);
        }
        errors.count(
            g.options.len(),
            MAX_OPTIONS_PER_GROUP,
            format!("{gp}.options"),
        );
        let n = g.options.len();
        if g.max == 0 || usize::try_from(g.max).map_or(true, |m| m > n) {
            errors.push(format!("{gp}.max"), MenuProblem::Max(n));
        }
        if g.min > g.max {
            errors.push(format!("{gp}.min"), MenuProblem::MinAboveMax(g.max));
        }
        let mut options = Vec::with_capacity(n);
        for (oi, o) in g.options.iter().enumerate() {
            let op = format!("{gp}.options[{oi}]");
            seen.check(o.id.map(|i| i.as_uuid()), &op, errors);
            let id = MenuOptionId::from_uuid(ids.take(o.id.map(|i| i.as_uuid()), &op, errors));
            options.push(MenuOption {
                id,
                name: errors.text(&MENU_NAME, &o.name, format!("{op}.name")),
                price_delta: errors.amount(
                    o.price_delta,
                    &PRICE_DELTA_MINOR,
                    currency,
                    format!("{op}.price_delta"),
                ),
            });
        }
        option_groups.push(OptionGroup {
            id,
            name,
            min: g.min,
            max: g.max,
            options,
        });
    }
    MenuItem {
        id,
        name,
        description,
        price,
        sold_out: item.sold_out,
        availability,
        option_groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn merchant(n: u128) -> MerchantId {
        MerchantId::from_uuid(Uuid::from_u128(n))
    }

    /// Mints ids `base + 1`, `base + 2`, ...
    fn counter(base: u128) -> impl FnMut() -> Uuid {
        let mut n = base;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    fn option(name: &str, delta: i64) -> OptionDraft {
        OptionDraft {
            id: None,
            name: name.into(),
            price_delta: delta,
        }
    }

    fn item(name: &str, price: i64) -> ItemDraft {
        ItemDraft {
            id: None,
            name: name.into(),
            description: String::new(),
            price,
            sold_out: false,
            availability: vec![],
            option_groups: vec![],
        }
    }

    /// Pad thai (a required size, up to two extras), a breakfast-only burrito, sold-out mango rice.
    fn draft() -> MenuDraft {
        let mut pad_thai = item("Pad thai", 1_450);
        pad_thai.description = "Rice noodles, tamarind, peanuts".into();
        pad_thai.option_groups = vec![
            GroupDraft {
                id: None,
                name: "Size".into(),
                min: 1,
                max: 1,
                options: vec![option("Regular", 0), option("Large", 300)],
            },
            GroupDraft {
                id: None,
                name: "Extras".into(),
                min: 0,
                max: 2,
                options: vec![
                    option("Egg", 150),
                    option("Tofu", 200),
                    option("Shrimp", 400),
                ],
            },
        ];
        let mut burrito = item("Breakfast burrito", 900);
        burrito.availability = vec![RangeDraft {
            open: "07:00".into(),
            close: "11:00".into(),
        }];
        let mut mango = item("Mango sticky rice", 800);
        mango.sold_out = true;
        MenuDraft {
            currency: Currency::USD,
            categories: vec![
                CategoryDraft {
                    id: None,
                    name: "Mains".into(),
                    items: vec![pad_thai, burrito],
                },
                CategoryDraft {
                    id: None,
                    name: "Desserts".into(),
                    items: vec![mango],
                },
            ],
        }
    }

    fn menu() -> Menu {
        Menu::from_draft(
            merchant(1),
            Currency::USD,
            &draft(),
            None,
            &mut counter(100),
        )
        .expect("a valid menu")
    }

    fn at(h: u32, m: u32) -> LocalTime {
        LocalTime {
            weekday: 2,
            seconds_of_day: h * 3_600 + m * 60,
        }
    }

    fn paths(errors: &[MenuError]) -> Vec<&str> {
        errors.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn an_import_round_trips_through_its_export_with_the_same_ids() {
        let menu = menu();
        assert!(menu.items().all(|i| i.id.as_uuid().as_u128() > 100));
        let exported = menu.to_draft();
        let again = Menu::from_draft(
            merchant(1),
            Currency::USD,
            &exported,
            Some(&menu),
            &mut || panic!("no id is minted for a menu's own ids"),
        )
        .expect("the export imports");
        assert_eq!(again, menu);
        assert_eq!(again.to_draft(), exported);
        assert_eq!(
            Menu::from_stored(merchant(1), Currency::USD, &exported),
            Ok(menu)
        );
    }

    #[test]
    fn another_merchants_export_gets_ids_of_its_own() {
        let theirs = menu();
        let ours = Menu::from_draft(
            merchant(2),
            Currency::USD,
            &theirs.to_draft(),
            None,
            &mut counter(1_000),
        )
        .expect("valid");
        let their_ids = theirs.all_ids();
        assert!(ours.all_ids().iter().all(|id| !their_ids.contains(id)));
        assert_eq!(ours.items().count(), 3);
        assert_eq!(ours.merchant(), merchant(2));
    }

    #[test]
    fn a_stored_menu_without_ids_is_refused() {
        let errors = Menu::from_stored(merchant(1), Currency::USD, &draft()).expect_err("no ids");
        assert!(errors.iter().all(|e| e.problem == MenuProblem::MissingId));
        assert!(paths(&errors).contains(&"categories[0].items[0].option_groups[1].options[2].id"));
    }

    #[test]
    fn every_bad_field_is_named_by_its_path() {
        let mut bad = draft();
        bad.currency = Currency::parse("EUR").expect("code");
        bad.categories[0].name = "  ".into();
        let pad_thai = &mut bad.categories[0].items[0];
        pad_thai.price = -1;
        pad_thai.description = "a\u{202e}b".into();
        pad_thai.option_groups[0].min = 2;
        pad_thai.option_groups[1].max = 4;
        pad_thai.option_groups[1].options[0].price_delta = -50;
        bad.categories[0].items[1].availability[0].close = "25:00".into();
        bad.categories[1].items[0].option_groups = vec![GroupDraft {
            id: None,
            name: "Topping".into(),
            min: 0,
            max: 0,
            options: vec![],
        }];
        let errors = Menu::from_draft(merchant(1), Currency::USD, &bad, None, &mut counter(0))
            .expect_err("refused");
        assert_eq!(
            paths(&errors),
            [
                "currency",
                "categories[0].name",
                "categories[0].items[0].description",
                "categories[0].items[0].price",
                "categories[0].items[0].option_groups[0].min",
                "categories[0].items[0].option_groups[1].max",
                "categories[0].items[0].option_groups[1].options[0].price_delta",
                "categories[0].items[1].availability[0]",
                "categories[1].items[0].option_groups[0].options",
                "categories[1].items[0].option_groups[0].max",
            ]
        );
        assert_eq!(
            errors[3].to_string(),
            "categories[0].items[0].price: must be 0 to 1000000 minor units"
        );
    }

    #[test]
    fn ids_given_twice_and_too_many_entries_are_refused() {
        let mut twice = menu().to_draft();
        twice.categories[1].items[0].id = twice.categories[0].items[0].id;
        let errors = Menu::from_draft(merchant(1), Currency::USD, &twice, None, &mut counter(0))
            .expect_err("refused");
        assert_eq!(paths(&errors), ["categories[1].items[0].id"]);
        assert_eq!(errors[0].problem, MenuProblem::DuplicateId);

        let mut big = draft();
        big.categories[0].items = (0..=MAX_ITEMS)
            .map(|i| item(&format!("Dish {i}"), 100))
            .collect();
        let errors = Menu::from_draft(merchant(1), Currency::USD, &big, None, &mut counter(0))
            .expect_err("refused");
        assert_eq!(errors[0].problem, MenuProblem::TooMany(MAX_ITEMS));
        let mut avail = draft();
        avail.categories[0].items[1].availability = vec![
            RangeDraft {
                open: "07:00".into(),
                close: "11:00".into(),
            },
            RangeDraft {
                open: "10:00".into(),
                close: "12:00".into(),
            },
        ];
        let errors = Menu::from_draft(merchant(1), Currency::USD, &avail, None, &mut counter(0))
            .expect_err("refused");
        assert_eq!(paths(&errors), ["categories[0].items[1].availability"]);
        assert_eq!(errors[0].problem, MenuProblem::Hours(HoursError::Overlap));
    }

    #[test]
    fn a_line_is_priced_with_its_options_times_its_quantity() {
        let menu = menu();
        let pad_thai = &menu.categories()[0].items[0];
        let large = pad_thai.option_groups[0].options[1].id;
        let egg = pad_thai.option_groups[1].options[0].id;
        let shrimp = pad_thai.option_groups[1].options[2].id;
        let line = menu
            .price_line(pad_thai.id, &[shrimp, large, egg], 2, at(19, 0))
            .expect("priced");
        assert_eq!(
            line.unit_price,
            Money::new(1_450 + 300 + 150 + 400, Currency::USD)
        );
        assert_eq!(line.total.minor, 2 * 2_300);
        // In the menu's order, whatever order they were chosen in.
        let names: Vec<&str> = line.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["Large", "Egg", "Shrimp"]);
        assert_eq!(line.name, "Pad thai");
    }

    #[test]
    fn each_bad_cart_line_has_its_own_error() {
        let menu = menu();
        let pad_thai = &menu.categories()[0].items[0];
        let burrito = &menu.categories()[0].items[1];
        let mango = &menu.categories()[1].items[0];
        let regular = pad_thai.option_groups[0].options[0].id;
        let large = pad_thai.option_groups[0].options[1].id;
        let extras: Vec<MenuOptionId> = pad_thai.option_groups[1]
            .options
            .iter()
            .map(|o| o.id)
            .collect();
        let stranger = MenuItemId::from_uuid(Uuid::from_u128(7));
        let evening = at(19, 0);
        assert_eq!(
            menu.price_line(stranger, &[], 1, evening),
            Err(CartError::UnknownItem(stranger))
        );
        assert_eq!(
            menu.missing_item(stranger, Some(merchant(9))),
            CartError::ItemOfAnotherMerchant {
                item: stranger,
                merchant: merchant(9)
            }
        );
        assert_eq!(
            menu.missing_item(stranger, None),
            CartError::UnknownItem(stranger)
        );
        assert!(matches!(
            menu.price_line(mango.id, &[], 1, evening),
            Err(CartError::SoldOut { .. })
        ));
        assert!(matches!(
            menu.price_line(burrito.id, &[], 1, evening),
            Err(CartError::NotAvailableNow { .. })
        ));
        assert!(menu.price_line(burrito.id, &[], 1, at(7, 0)).is_ok());
        assert!(menu.price_line(burrito.id, &[], 1, at(11, 0)).is_err());
        let foreign_option = MenuOptionId::from_uuid(Uuid::from_u128(8));
        assert_eq!(
            menu.price_line(pad_thai.id, &[regular, foreign_option], 1, evening),
            Err(CartError::OptionNotInItem {
                option: foreign_option
            })
        );
        assert_eq!(
            menu.price_line(burrito.id, &[regular], 1, at(8, 0)),
            Err(CartError::OptionNotInItem { option: regular })
        );
        assert_eq!(
            menu.price_line(pad_thai.id, &[regular, regular], 1, evening),
            Err(CartError::DuplicateOption { option: regular })
        );
        assert!(matches!(
            menu.price_line(pad_thai.id, &[extras[0]], 1, evening),
            Err(CartError::TooFewChoices {
                min: 1,
                chosen: 0,
                ..
            })
        ));
        assert!(matches!(
            menu.price_line(pad_thai.id, &[regular, large], 1, evening),
            Err(CartError::TooManyChoices {
                max: 1,
                chosen: 2,
                ..
            })
        ));
        assert!(matches!(
            menu.price_line(
                pad_thai.id,
                &[regular, extras[0], extras[1], extras[2]],
                1,
                evening
            ),
            Err(CartError::TooManyChoices {
                max: 2,
                chosen: 3,
                ..
            })
        ));
        for q in [0, 100] {
            assert_eq!(
                menu.price_line(pad_thai.id, &[regular], q, evening),
                Err(CartError::Quantity(q))
            );
        }
    }

    #[test]
    fn sold_out_is_toggled_by_item() {
        let mut menu = menu();
        let mango = menu.categories()[1].items[0].id;
        assert_eq!(menu.set_sold_out(mango, false), Ok(true));
        assert_eq!(menu.set_sold_out(mango, false), Ok(false));
        assert!(menu.price_line(mango, &[], 1, at(19, 0)).is_ok());
        let stranger = MenuItemId::from_uuid(Uuid::from_u128(7));
        assert_eq!(
            menu.set_sold_out(stranger, true),
            Err(CartError::UnknownItem(stranger))
        );
    }

    proptest! {
        /// Any choice within the groups' bounds is priced at the item's price plus the deltas chosen,
        /// times the quantity.
        #[test]
        fn a_valid_choice_costs_the_price_plus_its_deltas_times_the_quantity(
            size in 0usize..2,
            extras in prop::sample::subsequence(vec![0usize, 1, 2], 0..=2),
            quantity in LINE_QUANTITY,
        ) {
            let menu = menu();
            let pad_thai = &menu.categories()[0].items[0];
            let mut chosen = vec![pad_thai.option_groups[0].options[size].id];
            chosen.extend(extras.iter().map(|&e| pad_thai.option_groups[1].options[e].id));
            let line = menu.price_line(pad_thai.id, &chosen, quantity, at(20, 0));
            let deltas: i64 = pad_thai.option_groups[0].options[size].price_delta.minor
                + extras.iter().map(|&e| pad_thai.option_groups[1].options[e].price_delta.minor).sum::<i64>();
            let line = line.expect("priced");
            prop_assert_eq!(line.total.minor, (1_450 + deltas) * i64::from(quantity));
            prop_assert_eq!(line.options.len(), chosen.len());
        }
    }
}
