//! Merchants for food delivery: what operators do (create a merchant with its staff, approve, suspend,
//! reinstate, change its staff: each audited and idempotent like the console's other actions), what a
//! merchant's staff do (profile, opening hours, pause, busy mode, the cap on open orders, the menu:
//! import, export, sold out), and what customers see (approved merchants that deliver to an address, a
//! merchant, its menu).
//!
//! A merchant's staff act on their own merchant only: any other merchant is "not found" to them, as
//! another rider's ride is to a rider. Every rule of a merchant, its hours and its menu is the domain's
//! (`doorstep_domain::food`); this module checks who asks, reads, and writes.

use crate::console::Act;
use crate::{App, AppError};
use doorstep_domain::audit::{AuditAction, AuditEntry};
use doorstep_domain::food::hours::{Exceptions, OpeningHours, WeeklyHours};
use doorstep_domain::food::menu::{CartError, Menu, MenuDraft};
use doorstep_domain::food::merchant::{
    Merchant, MerchantStatus, Profile, ProfileError, StatusAction,
};
use doorstep_domain::onboarding::CalendarDate;
use doorstep_domain::user::{Email, check_password_policy, parse_display_name};
use doorstep_domain::{MenuItemId, MerchantId, Role, Timestamp, User, UserId};
use doorstep_geo::LatLng;
use doorstep_store::{StoreError, StoredMenu};
use std::ops::RangeInclusive;

/// How many merchants an operator's list holds at most.
pub const ADMIN_LIST_LIMIT: i64 = 500;
/// How many merchants a customer's browse answers at most (the nearest open ones first).
pub const BROWSE_LIMIT: usize = 100;
/// How many existing accounts an operator may put on a new merchant's staff at once.
pub const MAX_STAFF_AT_CREATION: usize = 20;
/// How long a timed pause lasts, in minutes (without a length it lasts until the staff resume).
pub const PAUSE_MINUTES: RangeInclusive<u32> = 1..=1_440;
/// How long a timed busy mode lasts, in minutes (without a length until switched off).
pub const BUSY_FOR_MINUTES: RangeInclusive<u32> = 1..=1_440;
/// How far ahead an exception to the opening hours may be, in days.
pub const EXCEPTION_DAYS_AHEAD: i64 = 366;
/// How many times a menu change is retried when another change of the same menu got there first.
const MENU_RETRIES: usize = 5;

/// The profile fields of a merchant, as sent.
#[derive(Debug, Clone)]
pub struct ProfileInput<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its cuisine tags.
    pub cuisines: &'a [String],
    /// Its address line.
    pub address: &'a str,
    /// Where it is (on land in the service area).
    pub point: LatLng,
    /// How far it delivers, metres.
    pub delivery_radius_m: u32,
    /// Its usual preparation time, minutes.
    pub prep_minutes: u32,
}

/// An account an operator makes for a new merchant's staff.
#[derive(Debug, Clone, Copy)]
pub struct NewStaffAccount<'a> {
    /// Its login address.
    pub email: &'a str,
    /// Its display name.
    pub name: &'a str,
    /// Its password (the operator hands it over; the staff member may change it later).
    pub password: &'a str,
}

/// A merchant with its staff: what operators and the merchant's own staff see.
#[derive(Debug, Clone)]
pub struct MerchantPage {
    /// The merchant.
    pub merchant: Merchant,
    /// Its staff, by name.
    pub staff: Vec<User>,
}

/// A merchant as a customer browsing sees it at an instant.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The merchant.
    pub merchant: Merchant,
    /// How far it is from the customer's point, metres (`None` when no point was given).
    pub distance_m: Option<f64>,
    /// Whether it takes orders now: approved, open by its hours and not paused.
    pub open_now: bool,
    /// When it opens next (now when open), if ever.
    pub next_opening: Option<Timestamp>,
    /// The preparation time of an order placed now, minutes (busy mode included).
    pub prep_minutes: u32,
    /// What busy mode adds now, minutes.
    pub busy_minutes: u32,
    /// Whether it has paused new orders now.
    pub paused: bool,
}

impl Listing {
    fn of(merchant: Merchant, distance_m: Option<f64>, now: Timestamp) -> Listing {
        let paused = merchant.pause_at(now).is_some();
        let next_opening = merchant.hours.next_opening(now);
        Listing {
            distance_m,
            // Approved, not paused, open by its hours (the cap is the order side's, with its count).
            open_now: merchant.accepts_new_order(0, now).is_ok(),
            next_opening,
            prep_minutes: merchant.prep_minutes(now),
            busy_minutes: merchant.busy_minutes(now),
            paused,
            merchant,
        }
    }
}

/// A profile field refused, as the API's codes.
fn profile_error(e: &ProfileError) -> AppError {
    let code = if e.is_forbidden_character() {
        "invalid_characters"
    } else {
        match e {
            ProfileError::Name(_) => "invalid_name",
            ProfileError::Address(_) => "invalid_address",
            ProfileError::Cuisine(_) => "invalid_cuisine",
            ProfileError::TooManyCuisines => "too_many_cuisines",
            ProfileError::Radius(_) => "invalid_radius",
            ProfileError::PrepMinutes(_) => "invalid_prep_time",
        }
    };
    AppError::invalid(code, e.to_string())
}

/// Checks a profile: its fields by the domain's rules, its point by the geocoder's (on land, in the
/// service area).
fn check_profile(input: &ProfileInput<'_>) -> Result<Profile, AppError> {
    let profile = Profile::new(
        input.name,
        input.cuisines,
        input.address,
        input.point,
        input.delivery_radius_m,
        input.prep_minutes,
    )
    .map_err(|e| profile_error(&e))?;
    doorstep_places::Places::manhattan()
        .check_position(input.point)
        .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
    Ok(profile)
}

fn status_action_of(action: StatusAction) -> AuditAction {
    match action {
        StatusAction::Approve => AuditAction::ApproveMerchant,
        StatusAction::Suspend => AuditAction::SuspendMerchant,
        StatusAction::Reinstate => AuditAction::ReinstateMerchant,
    }
}

/// A cart error of a menu change, as the API's codes (only unknown items can arise there).
fn menu_item_error(e: &CartError) -> AppError {
    match e {
        CartError::UnknownItem(_) | CartError::ItemOfAnotherMerchant { .. } => {
            AppError::NotFound("item")
        }
        other => AppError::Internal(format!("menu change: {other}")),
    }
}

fn menu_changed() -> AppError {
    AppError::conflict(
        "menu_changed",
        "the menu kept changing meanwhile; read it again and retry",
    )
}

impl App {
    // ---- operators

    /// Creates a merchant, pending approval, with its staff: existing accounts of role merchant
    /// (`staff`) and, if given, an account made for it. Audited and idempotent under the operator's key.
    /// Refused: a bad profile field (422 with its code), a point in the water or outside the area, an
    /// account that is not a merchant's (422 `invalid_staff`), one already on a staff (409
    /// `staff_taken`), a taken e-mail for the new account (409 `email_taken`).
    pub async fn admin_create_merchant(
        &self,
        act: Act<'_>,
        input: &ProfileInput<'_>,
        staff: &[UserId],
        new_account: Option<NewStaffAccount<'_>>,
    ) -> Result<MerchantPage, AppError> {
        let id = MerchantId::from_uuid(uuid::Uuid::now_v7());
        if staff.len() > MAX_STAFF_AT_CREATION {
            return Err(AppError::invalid(
                "too_many_staff",
                format!("at most {MAX_STAFF_AT_CREATION} accounts at once"),
            ));
        }
        let mut unique: Vec<UserId> = Vec::new();
        for s in staff {
            if !unique.contains(s) {
                unique.push(*s);
            }
        }
        let detail = serde_json::json!({
            "name": input.name,
            "staff": unique.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "new_account": new_account.map(|a| a.email),
        });
        let entry = self.audit_entry(&act, AuditAction::CreateMerchant, id.as_uuid(), detail)?;
        if let Some(done) = self.earlier_creation(&act).await? {
            return self.merchant_page(done).await;
        }
        let profile = check_profile(input)?;
        for user in &unique {
            self.check_staff_account(*user).await?;
        }
        let now = self.clock().now();
        let account = match new_account {
            Some(a) => Some(self.prepare_staff_account(a, now).await?),
            None => None,
        };
        let merchant = Merchant::new(id, profile, now);
        let created = self
            .store()
            .create_merchant(
                &merchant,
                account.as_ref().map(|(u, h)| (u, h.as_str())),
                &unique,
                &entry,
            )
            .await;
        match created {
            Ok(()) => {}
            // A concurrent retry of the same request got there first.
            Err(StoreError::AuditKeyUsed) => {
                if let Some(done) = self.earlier_creation(&act).await? {
                    return self.merchant_page(done).await;
                }
                return Err(AppError::Internal("audit key used but not found".into()));
            }
            Err(StoreError::StaffTaken) => return Err(staff_taken()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(merchant_id = %id, "merchant created");
        self.merchant_page(id).await
    }

    /// The merchant an earlier request under the operator's key created, if it was a creation; the key
    /// used for another action is refused.
    async fn earlier_creation(&self, act: &Act<'_>) -> Result<Option<MerchantId>, AppError> {
        match self.store().audit_by_key(act.admin.id, act.key).await? {
            Some(AuditEntry { entry, .. }) if entry.action == AuditAction::CreateMerchant => {
                Ok(Some(MerchantId::from_uuid(entry.target)))
            }
            Some(_) => Err(AppError::invalid(
                "idempotency_key_reused",
                "this idempotency key was used for another action",
            )),
            None => Ok(None),
        }
    }

    /// Refuses an account that does not exist or is not a merchant's (422 `invalid_staff`).
    async fn check_staff_account(&self, user: UserId) -> Result<User, AppError> {
        match self.store().user_by_id(user).await? {
            Some(u) if u.role == Role::Merchant => Ok(u),
            Some(u) => Err(AppError::invalid(
                "invalid_staff",
                format!("account {user} is a {} account, not a merchant's", u.role),
            )),
            None => Err(AppError::invalid(
                "invalid_staff",
                format!("there is no account {user}"),
            )),
        }
    }

    /// Checks a new staff account's fields and hashes its password (before anything is written).
    async fn prepare_staff_account(
        &self,
        account: NewStaffAccount<'_>,
        now: Timestamp,
    ) -> Result<(User, String), AppError> {
        let email = Email::parse(account.email)
            .map_err(|e| crate::auth::field_error("invalid_email", e))?;
        check_password_policy(account.password)
            .map_err(|e| crate::auth::field_error("weak_password", e))?;
        let name = parse_display_name(account.name)
            .map_err(|e| crate::auth::field_error("invalid_name", e))?;
        if self.store().user_by_email(&email).await?.is_some() {
            return Err(AppError::conflict(
                "email_taken",
                "an account with this email exists",
            ));
        }
        let hash = crate::auth::hash_password(account.password.to_owned()).await?;
        let user = User {
            id: UserId::from_uuid(uuid::Uuid::now_v7()),
            email,
            name,
            role: Role::Merchant,
            created_at: now,
        };
        Ok((user, hash))
    }

    /// A merchant with its staff (404 `merchant_not_found`).
    async fn merchant_page(&self, id: MerchantId) -> Result<MerchantPage, AppError> {
        let merchant = self.merchant_or_404(id).await?;
        let staff = self.store().merchant_staff(id).await?;
        Ok(MerchantPage { merchant, staff })
    }

    pub(crate) async fn merchant_or_404(&self, id: MerchantId) -> Result<Merchant, AppError> {
        self.store()
            .merchant(id)
            .await?
            .ok_or(AppError::NotFound("merchant"))
    }

    /// Approves, suspends or reinstates a merchant (409 `invalid_merchant_state` when its standing does
    /// not allow it). Audited and idempotent under the operator's key.
    pub async fn admin_merchant_action(
        &self,
        act: Act<'_>,
        id: MerchantId,
        action: StatusAction,
    ) -> Result<MerchantPage, AppError> {
        let audit = status_action_of(action);
        let entry = self.audit_entry(&act, audit, id.as_uuid(), serde_json::json!({}))?;
        if self.earlier(&act, &[audit], id.as_uuid()).await?.is_some() {
            return self.merchant_page(id).await;
        }
        let mut merchant = self.merchant_or_404(id).await?;
        let from = merchant.status();
        merchant
            .apply(action)
            .map_err(|e| AppError::conflict("invalid_merchant_state", e.to_string()))?;
        match self
            .store()
            .set_merchant_status(&merchant, from, &entry, entry.at)
            .await
        {
            Ok(()) | Err(StoreError::AuditKeyUsed) => {}
            Err(StoreError::Conflict) => {
                return Err(AppError::conflict(
                    "concurrent_update",
                    "the merchant changed meanwhile; read it again and retry",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(merchant_id = %id, action = audit.as_str(), "merchant standing changed");
        self.merchant_page(id).await
    }

    /// Puts an account of role merchant on a merchant's staff (422 `invalid_staff`, 409 `staff_taken`).
    /// Audited and idempotent under the operator's key.
    pub async fn admin_add_merchant_staff(
        &self,
        act: Act<'_>,
        id: MerchantId,
        user: UserId,
    ) -> Result<MerchantPage, AppError> {
        let detail = serde_json::json!({"user_id": user.to_string()});
        let entry = self.audit_entry(&act, AuditAction::AddMerchantStaff, id.as_uuid(), detail)?;
        if self
            .earlier(&act, &[AuditAction::AddMerchantStaff], id.as_uuid())
            .await?
            .is_some()
        {
            return self.merchant_page(id).await;
        }
        self.merchant_or_404(id).await?;
        self.check_staff_account(user).await?;
        match self.store().add_merchant_staff(id, user, &entry).await {
            Ok(()) | Err(StoreError::AuditKeyUsed) => {}
            Err(StoreError::StaffTaken) => return Err(staff_taken()),
            Err(e) => return Err(e.into()),
        }
        self.merchant_page(id).await
    }

    /// Takes an account off a merchant's staff (409 `not_on_staff` if it is not on it). Audited and
    /// idempotent under the operator's key.
    pub async fn admin_remove_merchant_staff(
        &self,
        act: Act<'_>,
        id: MerchantId,
        user: UserId,
    ) -> Result<MerchantPage, AppError> {
        let detail = serde_json::json!({"user_id": user.to_string()});
        let entry =
            self.audit_entry(&act, AuditAction::RemoveMerchantStaff, id.as_uuid(), detail)?;
        if self
            .earlier(&act, &[AuditAction::RemoveMerchantStaff], id.as_uuid())
            .await?
            .is_some()
        {
            return self.merchant_page(id).await;
        }
        self.merchant_or_404(id).await?;
        match self.store().remove_merchant_staff(id, user, &entry).await {
            Ok(true) | Err(StoreError::AuditKeyUsed) => {}
            Ok(false) => {
                return Err(AppError::conflict(
                    "not_on_staff",
                    "this account is not on the merchant's staff",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.merchant_page(id).await
    }

    /// Every merchant in `status` (any when `None`), oldest first: the operators' list.
    pub async fn admin_merchants(
        &self,
        admin: &User,
        status: Option<MerchantStatus>,
    ) -> Result<Vec<Merchant>, AppError> {
        require_role(admin, Role::Admin)?;
        Ok(self.store().merchants(status, ADMIN_LIST_LIMIT).await?)
    }

    /// A merchant with its staff, for an operator.
    pub async fn admin_merchant(
        &self,
        admin: &User,
        id: MerchantId,
    ) -> Result<MerchantPage, AppError> {
        require_role(admin, Role::Admin)?;
        self.merchant_page(id).await
    }

    // ---- a merchant's staff

    /// The merchant the caller is on the staff of (404 `merchant_not_found` if none).
    pub async fn my_merchant(&self, user: &User) -> Result<MerchantPage, AppError> {
        let id = self
            .store()
            .staff_merchant(user.id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        self.merchant_page(id).await
    }

    /// The merchant `id` if the caller is on its staff; any other is not found (404
    /// `merchant_not_found`). The API asks this before it checks a body, so that a stranger learns
    /// nothing from the answer to a bad one.
    pub async fn own_merchant(&self, user: &User, id: MerchantId) -> Result<Merchant, AppError> {
        require_role(user, Role::Merchant)?;
        if self.store().staff_merchant(user.id).await? != Some(id) {
            return Err(AppError::NotFound("merchant"));
        }
        self.merchant_or_404(id).await
    }

    /// Replaces the caller's merchant's profile (the same checks as at creation).
    pub async fn update_merchant_profile(
        &self,
        user: &User,
        id: MerchantId,
        input: &ProfileInput<'_>,
    ) -> Result<Merchant, AppError> {
        self.own_merchant(user, id).await?;
        let profile = check_profile(input)?;
        self.store()
            .save_merchant_profile(id, &profile, self.clock().now())
            .await?;
        self.merchant_or_404(id).await
    }

    /// Replaces the caller's merchant's opening hours. Exceptions of dates before yesterday are dropped
    /// (they can no longer matter; yesterday's late range still may), and one more than
    /// [`EXCEPTION_DAYS_AHEAD`] days ahead is refused (422 `invalid_exception_date`).
    pub async fn set_merchant_hours(
        &self,
        user: &User,
        id: MerchantId,
        weekly: WeeklyHours,
        exceptions: Exceptions,
    ) -> Result<Merchant, AppError> {
        self.own_merchant(user, id).await?;
        let today = self.today();
        let last = CalendarDate::from_days(today.days() + EXCEPTION_DAYS_AHEAD).unwrap_or(today);
        if let Some((date, _)) = exceptions.iter().find(|(d, _)| *d > last) {
            return Err(AppError::invalid(
                "invalid_exception_date",
                format!("{date} is more than {EXCEPTION_DAYS_AHEAD} days ahead"),
            ));
        }
        let hours = OpeningHours {
            weekly,
            exceptions: exceptions.without_past(today),
        };
        self.store()
            .save_merchant_hours(id, &hours, self.clock().now())
            .await?;
        self.merchant_or_404(id).await
    }

    /// Pauses new orders of the caller's merchant for `minutes` (within [`PAUSE_MINUTES`]), or until
    /// resumed when `None` (422 `invalid_pause_minutes`).
    pub async fn pause_merchant(
        &self,
        user: &User,
        id: MerchantId,
        minutes: Option<u32>,
    ) -> Result<Merchant, AppError> {
        let mut merchant = self.own_merchant(user, id).await?;
        let now = self.clock().now();
        let until = match minutes {
            Some(m) if PAUSE_MINUTES.contains(&m) => Some(now.plus_secs(i64::from(m) * 60)),
            Some(m) => {
                return Err(AppError::invalid(
                    "invalid_pause_minutes",
                    format!(
                        "a pause lasts {} to {} minutes, not {m} (or until resumed)",
                        PAUSE_MINUTES.start(),
                        PAUSE_MINUTES.end()
                    ),
                ));
            }
            None => None,
        };
        merchant
            .pause(until, now)
            .map_err(|e| AppError::invalid("invalid_pause_minutes", e.to_string()))?;
        self.store()
            .save_merchant_pause(id, merchant.intake().pause, now)
            .await?;
        Ok(merchant)
    }

    /// Takes new orders again.
    pub async fn resume_merchant(&self, user: &User, id: MerchantId) -> Result<Merchant, AppError> {
        let mut merchant = self.own_merchant(user, id).await?;
        merchant.resume();
        self.store()
            .save_merchant_pause(id, None, self.clock().now())
            .await?;
        Ok(merchant)
    }

    /// Switches busy mode on: `extra_minutes` added to every preparation, for `for_minutes` (within
    /// [`BUSY_FOR_MINUTES`]) or until switched off (422 `invalid_busy_minutes`).
    pub async fn set_merchant_busy(
        &self,
        user: &User,
        id: MerchantId,
        extra_minutes: u32,
        for_minutes: Option<u32>,
    ) -> Result<Merchant, AppError> {
        let mut merchant = self.own_merchant(user, id).await?;
        let now = self.clock().now();
        let until = match for_minutes {
            Some(m) if BUSY_FOR_MINUTES.contains(&m) => Some(now.plus_secs(i64::from(m) * 60)),
            Some(m) => {
                return Err(AppError::invalid(
                    "invalid_busy_minutes",
                    format!(
                        "busy mode lasts {} to {} minutes, not {m} (or until switched off)",
                        BUSY_FOR_MINUTES.start(),
                        BUSY_FOR_MINUTES.end()
                    ),
                ));
            }
            None => None,
        };
        merchant
            .set_busy(extra_minutes, until, now)
            .map_err(|e| AppError::invalid("invalid_busy_minutes", e.to_string()))?;
        self.store()
            .save_merchant_busy(id, merchant.intake().busy, now)
            .await?;
        Ok(merchant)
    }

    /// Switches busy mode off.
    pub async fn clear_merchant_busy(
        &self,
        user: &User,
        id: MerchantId,
    ) -> Result<Merchant, AppError> {
        let mut merchant = self.own_merchant(user, id).await?;
        merchant.clear_busy();
        self.store()
            .save_merchant_busy(id, None, self.clock().now())
            .await?;
        Ok(merchant)
    }

    /// Caps the caller's merchant's open orders at `max` (none: no cap; 422 `invalid_max_open_orders`).
    pub async fn set_merchant_max_open_orders(
        &self,
        user: &User,
        id: MerchantId,
        max: Option<u32>,
    ) -> Result<Merchant, AppError> {
        let mut merchant = self.own_merchant(user, id).await?;
        merchant
            .set_max_open_orders(max)
            .map_err(|e| AppError::invalid("invalid_max_open_orders", e.to_string()))?;
        self.store()
            .save_merchant_max_open_orders(id, max, self.clock().now())
            .await?;
        Ok(merchant)
    }

    /// The caller's merchant's menu, whole, with its version: the export.
    pub async fn export_menu(&self, user: &User, id: MerchantId) -> Result<StoredMenu, AppError> {
        self.own_merchant(user, id).await?;
        self.menu_of(id).await
    }

    pub(crate) async fn menu_of(&self, id: MerchantId) -> Result<StoredMenu, AppError> {
        Ok(self
            .store()
            .menu(id, self.config().pricing.currency)
            .await?)
    }

    /// Replaces the caller's merchant's menu whole with `draft` after checking all of it (422
    /// `invalid_menu` naming the path of every bad field, nothing written). Ids of the current menu are
    /// kept; anything else gets a new id. With `expected`, only if the menu is still at that version
    /// (409 `menu_changed`).
    pub async fn import_menu(
        &self,
        user: &User,
        id: MerchantId,
        draft: &MenuDraft,
        expected: Option<i64>,
    ) -> Result<StoredMenu, AppError> {
        self.own_merchant(user, id).await?;
        let currency = self.config().pricing.currency;
        for _ in 0..MENU_RETRIES {
            let current = self.menu_of(id).await?;
            if expected.is_some_and(|v| v != current.version) {
                return Err(AppError::conflict(
                    "menu_changed",
                    format!(
                        "the menu is at version {}, not the one this document was exported from",
                        current.version
                    ),
                ));
            }
            let menu = Menu::from_draft(
                id,
                currency,
                draft,
                Some(&current.menu),
                &mut uuid::Uuid::now_v7,
            )
            .map_err(|errors| {
                let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
                AppError::invalid(
                    "invalid_menu",
                    format!("{} refused: {}", errors.len(), listed.join("; ")),
                )
            })?;
            match self
                .store()
                .replace_menu(&menu, current.version, self.clock().now())
                .await
            {
                Ok(_) => return self.menu_of(id).await,
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(menu_changed())
    }

    /// Marks an item of the caller's merchant's menu sold out, or back in stock (404 `item_not_found`).
    pub async fn set_item_sold_out(
        &self,
        user: &User,
        id: MerchantId,
        item: MenuItemId,
        sold_out: bool,
    ) -> Result<StoredMenu, AppError> {
        self.own_merchant(user, id).await?;
        for _ in 0..MENU_RETRIES {
            let mut current = self.menu_of(id).await?;
            let changed = current
                .menu
                .set_sold_out(item, sold_out)
                .map_err(|e| menu_item_error(&e))?;
            if !changed {
                return Ok(current);
            }
            match self
                .store()
                .replace_menu(&current.menu, current.version, self.clock().now())
                .await
            {
                Ok(_) => return self.menu_of(id).await,
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(menu_changed())
    }

    // ---- customers

    /// Approved merchants that deliver to `point` (on land in the service area: 422 otherwise), those
    /// taking orders now first, then by distance; at most [`BROWSE_LIMIT`].
    pub async fn browse_merchants(&self, point: LatLng) -> Result<Vec<Listing>, AppError> {
        doorstep_places::Places::manhattan()
            .check_position(point)
            .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        let radius = *doorstep_domain::food::merchant::DELIVERY_RADIUS_M.end();
        let now = self.clock().now();
        let mut listings: Vec<Listing> = self
            .store()
            .listed_merchants_near(point, radius)
            .await?
            .into_iter()
            .filter_map(|m| {
                let d = m.delivers_to(point)?;
                Some(Listing::of(m, Some(d), now))
            })
            .collect();
        listings.sort_by(|a, b| {
            b.open_now.cmp(&a.open_now).then_with(|| {
                a.distance_m
                    .unwrap_or(0.0)
                    .total_cmp(&b.distance_m.unwrap_or(0.0))
            })
        });
        listings.truncate(BROWSE_LIMIT);
        Ok(listings)
    }

    /// A merchant as customers see it: approved ones to everyone; one not approved only to its own staff
    /// and to operators (404 `merchant_not_found` to anyone else).
    pub async fn merchant_listing(&self, user: &User, id: MerchantId) -> Result<Listing, AppError> {
        let merchant = self.visible_merchant(user, id).await?;
        Ok(Listing::of(merchant, None, self.clock().now()))
    }

    /// A merchant's menu as customers see it (the same visibility as [`App::merchant_listing`]), with
    /// the merchant at this instant.
    pub async fn merchant_menu(
        &self,
        user: &User,
        id: MerchantId,
    ) -> Result<(Listing, StoredMenu), AppError> {
        let merchant = self.visible_merchant(user, id).await?;
        let menu = self.menu_of(id).await?;
        Ok((Listing::of(merchant, None, self.clock().now()), menu))
    }

    async fn visible_merchant(&self, user: &User, id: MerchantId) -> Result<Merchant, AppError> {
        let merchant = self.merchant_or_404(id).await?;
        if merchant.is_listed() || user.role == Role::Admin {
            return Ok(merchant);
        }
        if user.role == Role::Merchant && self.store().staff_merchant(user.id).await? == Some(id) {
            return Ok(merchant);
        }
        Err(AppError::NotFound("merchant"))
    }
}

fn require_role(user: &User, role: Role) -> Result<(), AppError> {
    if user.role == role {
        Ok(())
    } else {
        Err(AppError::Forbidden("this account's role may not do this"))
    }
}

fn staff_taken() -> AppError {
    AppError::conflict(
        "staff_taken",
        "this account is on a merchant's staff already",
    )
}
