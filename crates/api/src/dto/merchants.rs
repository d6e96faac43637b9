//! Wire types of merchants, their hours and menus, and their conversions into the domain's
//! (`doorstep_domain::food`). Opening hours are written as on a shop door: `HH:MM` local times of New
//! York, a close at or before the open on the next day. Menu prices are integer minor units of the
//! menu's `currency`; the menu document an export gives is the one an import takes.

use crate::dto::{MoneyDto, rfc3339};
use crate::error::ApiError;
use crate::schema::{integer_in, string, text};
use doorstep_app::merchants::{Listing, MerchantPage};
use doorstep_domain::food::hours::{
    Exceptions, MAX_EXCEPTIONS, MAX_RANGES_PER_DAY, OpeningHours, OpeningRange, WeeklyHours,
};
use doorstep_domain::food::menu::{
    self, CategoryDraft, GroupDraft, ItemDraft, Menu, MenuDraft, OptionDraft, RangeDraft,
};
use doorstep_domain::food::merchant::{self as merchant_rules, Merchant};
use doorstep_domain::onboarding::CalendarDate;
use doorstep_domain::{
    Currency, MenuCategoryId, MenuItemId, MenuOptionId, OptionGroupId, Timestamp, User,
};
use doorstep_geo::LocalTime;
use doorstep_store::StoredMenu;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};

/// The time zone of every opening range and availability hour.
pub const TIME_ZONE: &str = "America/New_York";

/// A time of day as `HH:MM`: 00:00 to 23:59, and 24:00.
const CLOCK_TIME_PATTERN: &str = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";

/// A calendar date as `YYYY-MM-DD` (years 2000 to 2999).
const DATE_PATTERN: &str = "^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

// ---- schemas, from the rules the server checks with

fn clock_time() -> RefOr<Schema> {
    string()
        .pattern(Some(CLOCK_TIME_PATTERN))
        .description(Some(
            "Local time of day, HH:MM (24:00 is midnight at the end of the day)",
        ))
        .into()
}

pub(crate) fn calendar_date() -> RefOr<Schema> {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some(DATE_PATTERN))
        .description(Some("A local calendar date, YYYY-MM-DD"))
        .into()
}

fn ranges_of_a_day() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "RangeDto",
        )))
        .max_items(Some(MAX_RANGES_PER_DAY))
        .description(Some(
            "Ranges in order of opening, not overlapping; none: closed",
        ))
        .into()
}

fn exceptions_list() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "ExceptionDto",
        )))
        .max_items(Some(MAX_EXCEPTIONS))
        .description(Some("Dated exceptions, one per date"))
        .into()
}

fn merchant_name() -> RefOr<Schema> {
    text(
        &merchant_rules::MERCHANT_NAME,
        "The merchant's name, trimmed; one line",
    )
}

fn merchant_address() -> RefOr<Schema> {
    text(
        &merchant_rules::MERCHANT_ADDRESS,
        "Address line, trimmed; one line",
    )
}

fn cuisines() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            string()
                .min_length(Some(1))
                .max_length(Some(merchant_rules::CUISINE_TAG_MAX_CHARS))
                .pattern(Some(merchant_rules::CUISINE_TAG_PATTERN)),
        )
        .max_items(Some(merchant_rules::MAX_CUISINE_TAGS))
        .description(Some(
            "Cuisine tags (`thai`, `dim-sum`): keys the apps translate",
        ))
        .into()
}

fn range_u32(range: &std::ops::RangeInclusive<u32>, description: &str) -> RefOr<Schema> {
    integer_in(
        i64::from(*range.start()),
        i64::from(*range.end()),
        description,
    )
}

fn delivery_radius() -> RefOr<Schema> {
    range_u32(
        &merchant_rules::DELIVERY_RADIUS_M,
        "How far it delivers, metres",
    )
}

fn prep_minutes() -> RefOr<Schema> {
    range_u32(
        &merchant_rules::PREP_MINUTES,
        "Usual preparation time, minutes",
    )
}

fn busy_extra() -> RefOr<Schema> {
    range_u32(
        &merchant_rules::BUSY_EXTRA_MINUTES,
        "Minutes added to every preparation",
    )
}

fn pause_minutes() -> RefOr<Schema> {
    nullable_range(
        &doorstep_app::merchants::PAUSE_MINUTES,
        "How long, minutes; null or absent: until resumed",
    )
}

fn busy_for_minutes() -> RefOr<Schema> {
    nullable_range(
        &doorstep_app::merchants::BUSY_FOR_MINUTES,
        "How long, minutes; null or absent: until switched off",
    )
}

fn max_open_orders() -> RefOr<Schema> {
    nullable_range(
        &merchant_rules::MAX_OPEN_ORDERS,
        "The most open orders at once; null or absent: no cap",
    )
}

fn nullable_range(range: &std::ops::RangeInclusive<u32>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(i64::from(*range.start())))
        .maximum(Some(i64::from(*range.end())))
        .description(Some(description))
        .into()
}

fn staff_ids() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))))
        .max_items(Some(doorstep_app::merchants::MAX_STAFF_AT_CREATION))
        .description(Some(
            "Existing accounts of role merchant to put on its staff",
        ))
        .into()
}

fn menu_name() -> RefOr<Schema> {
    text(&menu::MENU_NAME, "Name, trimmed; one line")
}

fn menu_description() -> RefOr<Schema> {
    text(
        &menu::MENU_DESCRIPTION,
        "Description, trimmed; line breaks allowed",
    )
}

fn currency_code() -> RefOr<Schema> {
    string()
        .pattern(Some("^[A-Z]{3}$"))
        .description(Some("ISO 4217 code of every price: the city's (USD)"))
        .into()
}

fn item_price() -> RefOr<Schema> {
    integer_in(
        *menu::ITEM_PRICE_MINOR.start(),
        *menu::ITEM_PRICE_MINOR.end(),
        "Price, minor units",
    )
}

fn price_delta() -> RefOr<Schema> {
    integer_in(
        *menu::PRICE_DELTA_MINOR.start(),
        *menu::PRICE_DELTA_MINOR.end(),
        "What the option adds to the price, minor units",
    )
}

fn choices(description: &str) -> RefOr<Schema> {
    integer_in(
        0,
        i64::try_from(menu::MAX_OPTIONS_PER_GROUP).unwrap_or(30),
        description,
    )
}

fn optional_uuid() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .description(Some(
            "Its id: kept when it is one of this merchant's current menu, else a new one is given",
        ))
        .into()
}

// ---- hours

/// One range of opening (or of an item's availability).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RangeDto {
    /// Opens, `HH:MM`.
    #[schema(schema_with = clock_time)]
    pub open: String,
    /// Closes, `HH:MM`; at or before `open`: on the next day.
    #[schema(schema_with = clock_time)]
    pub close: String,
}

impl From<&OpeningRange> for RangeDto {
    fn from(r: &OpeningRange) -> Self {
        RangeDto {
            open: r.open().to_string(),
            close: r.close().to_string(),
        }
    }
}

/// The regular ranges of each weekday; a day left out is closed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct WeekDto {
    /// Monday.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub monday: Vec<RangeDto>,
    /// Tuesday.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub tuesday: Vec<RangeDto>,
    /// Wednesday.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub wednesday: Vec<RangeDto>,
    /// Thursday.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub thursday: Vec<RangeDto>,
    /// Friday.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub friday: Vec<RangeDto>,
    /// Saturday.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub saturday: Vec<RangeDto>,
    /// Sunday.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub sunday: Vec<RangeDto>,
}

const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl WeekDto {
    /// The week, checked (422 `invalid_hours` naming the bad day under `path`).
    pub fn to_weekly(&self, path: &str) -> Result<WeeklyHours, ApiError> {
        let mut days: [Vec<OpeningRange>; 7] = Default::default();
        for (i, list) in self.days().into_iter().enumerate() {
            days[i] = ranges_of(list, &format!("{path}.{}", DAY_NAMES[i]))?;
        }
        WeeklyHours::new(days)
            .map_err(|(i, e)| invalid_hours(&format!("{path}.{}", DAY_NAMES[i.min(6)]), e))
    }

    fn days(&self) -> [&Vec<RangeDto>; 7] {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
    }
}

impl From<&WeeklyHours> for WeekDto {
    fn from(w: &WeeklyHours) -> Self {
        let day = |i: u8| w.day(i).iter().map(RangeDto::from).collect();
        WeekDto {
            monday: day(0),
            tuesday: day(1),
            wednesday: day(2),
            thursday: day(3),
            friday: day(4),
            saturday: day(5),
            sunday: day(6),
        }
    }
}

/// A dated exception: its ranges replace the weekday's; none: closed that day.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExceptionDto {
    /// The local date.
    #[schema(schema_with = calendar_date)]
    pub date: String,
    /// Its ranges; empty: closed.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub ranges: Vec<RangeDto>,
}

/// `PUT /v1/merchants/{merchant_id}/hours`: the whole week and the exceptions, replacing what was set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HoursBody {
    /// The regular week.
    pub weekly: WeekDto,
    /// Exceptions by date (dates before yesterday are dropped; at most a year ahead).
    #[serde(default)]
    #[schema(schema_with = exceptions_list)]
    pub exceptions: Vec<ExceptionDto>,
}

/// Opening hours as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoursView {
    /// The time zone of every range: `America/New_York`.
    pub time_zone: String,
    /// The regular week.
    pub weekly: WeekDto,
    /// Exceptions by date.
    pub exceptions: Vec<ExceptionDto>,
}

impl From<&OpeningHours> for HoursView {
    fn from(h: &OpeningHours) -> Self {
        HoursView {
            time_zone: TIME_ZONE.to_owned(),
            weekly: WeekDto::from(&h.weekly),
            exceptions: h
                .exceptions
                .iter()
                .map(|(date, ranges)| ExceptionDto {
                    date: date.to_string(),
                    ranges: ranges.iter().map(RangeDto::from).collect(),
                })
                .collect(),
        }
    }
}

fn invalid_hours(path: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable("invalid_hours", format!("{path}: {e}"))
}

fn ranges_of(list: &[RangeDto], path: &str) -> Result<Vec<OpeningRange>, ApiError> {
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            OpeningRange::parse(&r.open, &r.close)
                .map_err(|e| invalid_hours(&format!("{path}[{i}]"), e))
        })
        .collect()
}

impl HoursBody {
    /// The week and exceptions, checked (422 `invalid_hours` naming the bad day or exception).
    pub fn into_domain(self) -> Result<(WeeklyHours, Exceptions), ApiError> {
        let weekly = self.weekly.to_weekly("weekly")?;
        let mut list = Vec::with_capacity(self.exceptions.len());
        for (i, ex) in self.exceptions.iter().enumerate() {
            let date = CalendarDate::parse(&ex.date).ok_or_else(|| {
                invalid_hours(
                    &format!("exceptions[{i}].date"),
                    "not a calendar date YYYY-MM-DD",
                )
            })?;
            list.push((
                date,
                ranges_of(&ex.ranges, &format!("exceptions[{i}].ranges"))?,
            ));
        }
        let exceptions = Exceptions::new(list)
            .map_err(|(i, e)| invalid_hours(&format!("exceptions[{i}]"), e))?;
        Ok((weekly, exceptions))
    }
}

// ---- merchants

/// The profile fields of a merchant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ProfileBody {
    /// Its name.
    #[schema(schema_with = merchant_name)]
    pub name: String,
    /// Its cuisine tags.
    #[serde(default)]
    #[schema(schema_with = cuisines)]
    pub cuisines: Vec<String>,
    /// Its address line.
    #[schema(schema_with = merchant_address)]
    pub address: String,
    /// Latitude of where couriers pick up: on land in the service area.
    #[schema(schema_with = crate::schema::service_latitude)]
    pub lat: f64,
    /// Longitude of where couriers pick up.
    #[schema(schema_with = crate::schema::service_longitude)]
    pub lng: f64,
    /// How far it delivers, metres.
    #[schema(schema_with = delivery_radius)]
    pub delivery_radius_m: u32,
    /// Usual preparation time, minutes (busy mode adds to it).
    #[schema(schema_with = prep_minutes)]
    pub prep_minutes: u32,
}

/// An account an operator makes for a new merchant's staff.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewStaffBody {
    /// Login address.
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    /// Display name.
    #[schema(schema_with = crate::schema::display_name)]
    pub name: String,
    /// Password, handed over to the staff member.
    #[schema(schema_with = crate::schema::password)]
    pub password: String,
}

/// `POST /v1/admin/merchants`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateMerchantBody {
    /// Its profile.
    #[serde(flatten)]
    pub profile: ProfileBody,
    /// Existing accounts of role merchant for its staff.
    #[serde(default)]
    #[schema(schema_with = staff_ids)]
    pub staff: Vec<uuid::Uuid>,
    /// An account to make for its staff, if any.
    #[serde(default)]
    pub new_staff: Option<NewStaffBody>,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
}

/// `POST /v1/admin/merchants/{merchant_id}/staff`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AddStaffBody {
    /// An account of role merchant, on no staff yet.
    pub user_id: uuid::Uuid,
    /// Why (recorded in the audit log).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
}

/// `POST /v1/merchants/{merchant_id}/pause`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PauseBody {
    /// How long, minutes; absent or null: until resumed.
    #[serde(default)]
    #[schema(schema_with = pause_minutes)]
    pub minutes: Option<u32>,
}

/// `PUT /v1/merchants/{merchant_id}/busy`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BusyBody {
    /// Minutes added to every preparation.
    #[schema(schema_with = busy_extra)]
    pub extra_minutes: u32,
    /// How long, minutes; absent or null: until switched off.
    #[serde(default)]
    #[schema(schema_with = busy_for_minutes)]
    pub for_minutes: Option<u32>,
}

/// `PUT /v1/merchants/{merchant_id}/max-open-orders`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MaxOpenOrdersBody {
    /// The most open orders at once; null or absent: no cap.
    #[serde(default)]
    #[schema(schema_with = max_open_orders)]
    pub max_open_orders: Option<u32>,
}

/// A member of a merchant's staff.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffView {
    /// The account.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Login address.
    pub email: String,
}

impl From<&User> for StaffView {
    fn from(u: &User) -> Self {
        StaffView {
            user_id: u.id.to_string(),
            name: u.name.clone(),
            email: u.email.as_str().to_owned(),
        }
    }
}

/// What a merchant does about new orders now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntakeView {
    /// Whether new orders are paused now.
    pub paused: bool,
    /// When the pause ends by itself (null: when resumed, or not paused).
    pub paused_until: Option<String>,
    /// Minutes busy mode adds now (0: not busy).
    pub busy_minutes: u32,
    /// When busy mode ends by itself (null: when switched off, or not busy).
    pub busy_until: Option<String>,
    /// The cap on open orders, if any.
    pub max_open_orders: Option<u32>,
}

impl IntakeView {
    fn of(m: &Merchant, now: Timestamp) -> IntakeView {
        let pause = m.pause_at(now);
        let busy = m.busy_minutes(now);
        IntakeView {
            paused: pause.is_some(),
            paused_until: pause.and_then(|p| p.until).map(rfc3339),
            busy_minutes: busy,
            busy_until: (busy > 0)
                .then(|| m.intake().busy.and_then(|b| b.until))
                .flatten()
                .map(rfc3339),
            max_open_orders: m.intake().max_open_orders,
        }
    }
}

/// A merchant as operators and its own staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantView {
    /// Its id.
    pub merchant_id: String,
    /// `pending`, `approved` or `suspended`: only approved merchants are shown to customers.
    pub status: String,
    /// Its name.
    pub name: String,
    /// Its cuisine tags.
    pub cuisines: Vec<String>,
    /// Its address line.
    pub address: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// How far it delivers, metres.
    pub delivery_radius_m: u32,
    /// Usual preparation time, minutes.
    pub prep_minutes: u32,
    /// Opening hours.
    pub hours: HoursView,
    /// Pause, busy mode and cap now.
    pub intake: IntakeView,
    /// Whether it takes orders now: approved, open by its hours and not paused.
    pub open_now: bool,
    /// When it opens next by its hours (now when open), if ever.
    pub next_opening: Option<String>,
    /// When an operator created it.
    pub created_at: String,
    /// Its staff (in lists: left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<Vec<StaffView>>,
}

impl MerchantView {
    /// The view of `merchant` at `now`, with its staff if given.
    pub fn of(merchant: &Merchant, staff: Option<&[User]>, now: Timestamp) -> MerchantView {
        let p = &merchant.profile;
        let next_opening = merchant.hours.next_opening(now);
        MerchantView {
            merchant_id: merchant.id.to_string(),
            status: merchant.status().as_str().to_owned(),
            name: p.name.clone(),
            cuisines: p.cuisines.iter().map(|t| t.as_str().to_owned()).collect(),
            address: p.address.clone(),
            lat: p.point.lat(),
            lng: p.point.lng(),
            delivery_radius_m: p.delivery_radius_m,
            prep_minutes: p.prep_minutes,
            hours: HoursView::from(&merchant.hours),
            intake: IntakeView::of(merchant, now),
            open_now: merchant.accepts_new_order(0, now).is_ok(),
            next_opening: next_opening.map(rfc3339),
            created_at: rfc3339(merchant.created_at),
            staff: staff.map(|s| s.iter().map(StaffView::from).collect()),
        }
    }

    /// The view of a merchant with its staff.
    pub fn of_page(page: &MerchantPage, now: Timestamp) -> MerchantView {
        MerchantView::of(&page.merchant, Some(&page.staff), now)
    }
}

/// The operators' list of merchants.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantList {
    /// Oldest first.
    pub merchants: Vec<MerchantView>,
}

/// A merchant as customers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantListing {
    /// Its id.
    pub merchant_id: String,
    /// Its name.
    pub name: String,
    /// Its cuisine tags.
    pub cuisines: Vec<String>,
    /// Its address line.
    pub address: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// How far it delivers, metres.
    pub delivery_radius_m: u32,
    /// How far it is from the point asked about, metres (browse only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<u32>,
    /// Whether it takes orders now: open by its hours and not paused.
    pub open_now: bool,
    /// When it opens next by its hours (now when open), if ever.
    pub next_opening: Option<String>,
    /// Whether it has paused new orders now.
    pub paused: bool,
    /// The preparation time of an order placed now, minutes (busy mode included).
    pub prep_minutes: u32,
    /// What busy mode adds now, minutes (0: not busy).
    pub busy_minutes: u32,
    /// Opening hours.
    pub hours: HoursView,
    /// The delivery fee to the point asked about (browse only; the checkout itemises the rest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_fee: Option<MoneyDto>,
    /// Minutes from placing an order now to its delivery at the point asked about, by the checkout's
    /// estimate (browse only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_minutes: Option<u32>,
    /// Customers' ratings of it after delivered orders (on its own page, `GET /v1/merchants/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<MerchantRatingView>,
}

/// Customers' ratings of a merchant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantRatingView {
    /// The mean stars, 1 to 5 (0 when none yet).
    pub mean: f64,
    /// How many ratings.
    pub count: i64,
}

impl From<&Listing> for MerchantListing {
    fn from(l: &Listing) -> Self {
        let p = &l.merchant.profile;
        MerchantListing {
            merchant_id: l.merchant.id.to_string(),
            name: p.name.clone(),
            cuisines: p.cuisines.iter().map(|t| t.as_str().to_owned()).collect(),
            address: p.address.clone(),
            lat: p.point.lat(),
            lng: p.point.lng(),
            delivery_radius_m: p.delivery_radius_m,
            // Metres within a radius of at most 10 km: the rounding is exact enough and fits.
            distance_m: l
                .distance_m
                .map(|d| d.round().clamp(0.0, f64::from(u32::MAX)) as u32),
            open_now: l.open_now,
            next_opening: l.next_opening.map(rfc3339),
            paused: l.paused,
            prep_minutes: l.prep_minutes,
            busy_minutes: l.busy_minutes,
            hours: HoursView::from(&l.merchant.hours),
            delivery_fee: None,
            delivery_minutes: None,
            rating: None,
        }
    }
}

/// Approved merchants that deliver to a point.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantListings {
    /// Those taking orders now first, then by distance.
    pub merchants: Vec<MerchantListing>,
}

// ---- the menu document (import and export)

/// An option.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OptionDoc {
    /// Its id.
    #[serde(default)]
    #[schema(schema_with = optional_uuid)]
    pub id: Option<uuid::Uuid>,
    /// Its name ("Large").
    #[schema(schema_with = menu_name)]
    pub name: String,
    /// What it adds to the item's price, minor units.
    #[serde(default)]
    #[schema(schema_with = price_delta)]
    pub price_delta: i64,
}

/// A group of options.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OptionGroupDoc {
    /// Its id.
    #[serde(default)]
    #[schema(schema_with = optional_uuid)]
    pub id: Option<uuid::Uuid>,
    /// Its name ("Size").
    #[schema(schema_with = menu_name)]
    pub name: String,
    /// The fewest choices: more than 0 makes the group required.
    #[serde(default)]
    #[schema(schema_with = min_choices)]
    pub min: u32,
    /// The most choices: 1 to the number of options.
    #[schema(schema_with = max_choices)]
    pub max: u32,
    /// Its options, in order.
    pub options: Vec<OptionDoc>,
}

fn min_choices() -> RefOr<Schema> {
    choices("The fewest choices (0: optional)")
}

fn max_choices() -> RefOr<Schema> {
    choices("The most choices, at least 1 and at most the number of options")
}

/// An item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemDoc {
    /// Its id.
    #[serde(default)]
    #[schema(schema_with = optional_uuid)]
    pub id: Option<uuid::Uuid>,
    /// Its name.
    #[schema(schema_with = menu_name)]
    pub name: String,
    /// Its description.
    #[serde(default)]
    #[schema(schema_with = menu_description)]
    pub description: String,
    /// Its price, minor units.
    #[schema(schema_with = item_price)]
    pub price: i64,
    /// Sold out for now.
    #[serde(default)]
    pub sold_out: bool,
    /// When in the day it is served (every day alike); empty: whenever the merchant is open.
    #[serde(default)]
    #[schema(schema_with = ranges_of_a_day)]
    pub availability: Vec<RangeDto>,
    /// Its option groups, in order.
    #[serde(default)]
    pub option_groups: Vec<OptionGroupDoc>,
}

/// A category.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryDoc {
    /// Its id.
    #[serde(default)]
    #[schema(schema_with = optional_uuid)]
    pub id: Option<uuid::Uuid>,
    /// Its name.
    #[schema(schema_with = menu_name)]
    pub name: String,
    /// Its items, in order.
    #[serde(default)]
    pub items: Vec<ItemDoc>,
}

/// A whole menu: what an export gives and an import takes (`PUT /v1/merchants/{merchant_id}/menu`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MenuDocument {
    /// On import: replace only if the menu is still at this version (409 `menu_changed` otherwise);
    /// absent: replace whatever is there. On export: the menu's version.
    #[serde(default)]
    pub version: Option<i64>,
    /// The currency of every price.
    #[schema(schema_with = currency_code)]
    pub currency: String,
    /// The categories, in order.
    pub categories: Vec<CategoryDoc>,
}

impl MenuDocument {
    /// The export of a stored menu.
    pub fn of(stored: &StoredMenu) -> MenuDocument {
        let draft = stored.menu.to_draft();
        let ranges = |r: &[RangeDraft]| -> Vec<RangeDto> {
            r.iter()
                .map(|r| RangeDto {
                    open: r.open.clone(),
                    close: r.close.clone(),
                })
                .collect()
        };
        MenuDocument {
            version: Some(stored.version),
            currency: draft.currency.as_str().to_owned(),
            categories: draft
                .categories
                .iter()
                .map(|c| CategoryDoc {
                    id: c.id.map(|i| i.as_uuid()),
                    name: c.name.clone(),
                    items: c
                        .items
                        .iter()
                        .map(|i| ItemDoc {
                            id: i.id.map(|i| i.as_uuid()),
                            name: i.name.clone(),
                            description: i.description.clone(),
                            price: i.price,
                            sold_out: i.sold_out,
                            availability: ranges(&i.availability),
                            option_groups: i
                                .option_groups
                                .iter()
                                .map(|g| OptionGroupDoc {
                                    id: g.id.map(|i| i.as_uuid()),
                                    name: g.name.clone(),
                                    min: g.min,
                                    max: g.max,
                                    options: g
                                        .options
                                        .iter()
                                        .map(|o| OptionDoc {
                                            id: o.id.map(|i| i.as_uuid()),
                                            name: o.name.clone(),
                                            price_delta: o.price_delta,
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

    /// The draft the domain checks (422 `invalid_menu` for a currency that is no code).
    pub fn into_draft(self) -> Result<MenuDraft, ApiError> {
        let currency = Currency::parse(&self.currency).map_err(|_| {
            ApiError::unprocessable(
                "invalid_menu",
                "currency: must be a three-letter code such as USD",
            )
        })?;
        let ranges = |r: Vec<RangeDto>| -> Vec<RangeDraft> {
            r.into_iter()
                .map(|r| RangeDraft {
                    open: r.open,
                    close: r.close,
                })
                .collect()
        };
        Ok(MenuDraft {
            currency,
            categories: self
                .categories
                .into_iter()
                .map(|c| CategoryDraft {
                    id: c.id.map(MenuCategoryId::from_uuid),
                    name: c.name,
                    items: c
                        .items
                        .into_iter()
                        .map(|i| ItemDraft {
                            id: i.id.map(MenuItemId::from_uuid),
                            name: i.name,
                            description: i.description,
                            price: i.price,
                            sold_out: i.sold_out,
                            availability: ranges(i.availability),
                            option_groups: i
                                .option_groups
                                .into_iter()
                                .map(|g| GroupDraft {
                                    id: g.id.map(OptionGroupId::from_uuid),
                                    name: g.name,
                                    min: g.min,
                                    max: g.max,
                                    options: g
                                        .options
                                        .into_iter()
                                        .map(|o| OptionDraft {
                                            id: o.id.map(MenuOptionId::from_uuid),
                                            name: o.name,
                                            price_delta: o.price_delta,
                                        })
                                        .collect(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// `PUT /v1/merchants/{merchant_id}/menu/items/{item_id}/sold-out`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SoldOutBody {
    /// Sold out (true) or back in stock (false).
    pub sold_out: bool,
}

/// An item's stock after a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SoldOutView {
    /// The item.
    pub item_id: String,
    /// Whether it is sold out.
    pub sold_out: bool,
    /// The menu's version after the change.
    pub version: i64,
}

// ---- the menu as customers see it

/// An option as customers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuOptionView {
    /// Its id (what a cart line names).
    pub option_id: String,
    /// Its name.
    pub name: String,
    /// What it adds to the price.
    pub price_delta: MoneyDto,
}

/// An option group as customers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionGroupView {
    /// Its id.
    pub group_id: String,
    /// Its name.
    pub name: String,
    /// Whether a choice is required (`min` > 0).
    pub required: bool,
    /// The fewest choices.
    pub min: u32,
    /// The most choices.
    pub max: u32,
    /// Its options, in order.
    pub options: Vec<MenuOptionView>,
}

/// An item as customers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuItemView {
    /// Its id (what a cart line names).
    pub item_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its price without options.
    pub price: MoneyDto,
    /// Sold out for now.
    pub sold_out: bool,
    /// Whether it can be ordered now: not sold out and served at this hour.
    pub available_now: bool,
    /// When in the day it is served; empty: whenever the merchant is open.
    pub availability: Vec<RangeDto>,
    /// Its option groups, in order.
    pub option_groups: Vec<OptionGroupView>,
}

/// A category as customers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuCategoryView {
    /// Its id.
    pub category_id: String,
    /// Its name.
    pub name: String,
    /// Its items, in order.
    pub items: Vec<MenuItemView>,
}

/// A merchant's menu as customers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MenuView {
    /// The merchant, now.
    pub merchant: MerchantListing,
    /// The menu's version (an order can say which menu it was priced against).
    pub version: i64,
    /// The currency of every price.
    pub currency: String,
    /// The categories, in order.
    pub categories: Vec<MenuCategoryView>,
}

impl MenuView {
    /// The menu of `listing`'s merchant as it is at the local time `now_local`.
    pub fn of(listing: &Listing, stored: &StoredMenu, now_local: LocalTime) -> MenuView {
        let menu: &Menu = &stored.menu;
        MenuView {
            merchant: MerchantListing::from(listing),
            version: stored.version,
            currency: menu.currency().as_str().to_owned(),
            categories: menu
                .categories()
                .iter()
                .map(|c| MenuCategoryView {
                    category_id: c.id.to_string(),
                    name: c.name.clone(),
                    items: c
                        .items
                        .iter()
                        .map(|i| MenuItemView {
                            item_id: i.id.to_string(),
                            name: i.name.clone(),
                            description: i.description.clone(),
                            price: i.price.into(),
                            sold_out: i.sold_out,
                            available_now: !i.sold_out && i.is_available_at(now_local),
                            availability: i.availability.iter().map(RangeDto::from).collect(),
                            option_groups: i
                                .option_groups
                                .iter()
                                .map(|g| OptionGroupView {
                                    group_id: g.id.to_string(),
                                    name: g.name.clone(),
                                    required: g.is_required(),
                                    min: g.min,
                                    max: g.max,
                                    options: g
                                        .options
                                        .iter()
                                        .map(|o| MenuOptionView {
                                            option_id: o.id.to_string(),
                                            name: o.name.clone(),
                                            price_delta: o.price_delta.into(),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_domain::food::hours::ClockTime;

    #[test]
    fn the_clock_time_pattern_accepts_exactly_what_the_parser_accepts() {
        let re = regex::Regex::new(CLOCK_TIME_PATTERN).expect("a valid pattern");
        for h in 0..=25 {
            for m in [0, 1, 30, 59, 60, 99] {
                let s = format!("{h:02}:{m:02}");
                assert_eq!(re.is_match(&s), ClockTime::parse(&s).is_ok(), "{s}");
            }
        }
        for s in ["7:00", "07:00 ", "0700", ""] {
            assert!(!re.is_match(s) && ClockTime::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn the_date_pattern_accepts_every_date_the_parser_does() {
        let re = regex::Regex::new(DATE_PATTERN).expect("a valid pattern");
        for s in ["2026-12-25", "2028-02-29", "2999-12-31", "2000-01-01"] {
            assert!(re.is_match(s) && CalendarDate::parse(s).is_some(), "{s}");
        }
        // The pattern is a shape; the calendar (30 February) is the server's check.
        for s in ["1999-12-31", "2026-13-01", "2026-1-01", "2026-12-32"] {
            assert!(!re.is_match(s) && CalendarDate::parse(s).is_none(), "{s}");
        }
    }
}
