//! Merchants for food delivery (`merchants`, `merchant_staff`, `merchant_hours`,
//! `merchant_hour_exceptions`) and their menus (`merchant_menus`, one versioned JSON document each, with
//! `menu_items` indexing its item ids). Migration 0013 says why the menu is one document.

use crate::columns::{get, id, latlng, named, opt_timestamp, parse_id, row_limit, timestamp};
use crate::console::insert_audit_in;
use crate::users::user_from_row;
use crate::{Backend, Store, StoreError};
use doorstep_domain::audit::NewAuditEntry;
use doorstep_domain::food::hours::{Exceptions, OpeningHours, OpeningRange, WeeklyHours};
use doorstep_domain::food::menu::{Menu, MenuDraft};
use doorstep_domain::food::merchant::{Busy, Intake, Merchant, MerchantStatus, Pause, Profile};
use doorstep_domain::onboarding::CalendarDate;
use doorstep_domain::{MenuItemId, MerchantId, Timestamp, User, UserId};
use doorstep_geo::LatLng;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// A merchant's menu as stored: the menu, its version (grows with every change; 0 before the first)
/// and when it last changed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMenu {
    /// The menu.
    pub menu: Menu,
    /// Its version.
    pub version: i64,
    /// When it last changed (`None` before the first menu).
    pub updated_at: Option<Timestamp>,
}

/// The columns [`merchant_from_row`] reads, from `merchants m`.
macro_rules! merchant_columns {
    () => {
        "m.id, m.status, m.name, m.cuisines, m.address, m.lat, m.lng, m.delivery_radius_m, \
         m.prep_minutes, m.paused, m.paused_until, m.busy_minutes, m.busy_until, m.max_open_orders, \
         m.created_at"
    };
}

/// Ranges as stored: `11:00-15:00 18:00-02:00`, '' for none.
fn ranges_text(ranges: &[OpeningRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{}-{}", r.open(), r.close()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_ranges(text: &str) -> Result<Vec<OpeningRange>, StoreError> {
    text.split_whitespace()
        .map(|r| {
            r.split_once('-')
                .and_then(|(open, close)| OpeningRange::parse(open, close).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("opening range {r:?}")))
        })
        .collect()
}

fn u32_of(v: i64, name: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{name}: {v}")))
}

fn merchant_from_row(row: &AnyRow, hours: OpeningHours) -> Result<Merchant, StoreError> {
    let cuisines: String = get(row, "cuisines")?;
    let cuisines: Vec<String> = cuisines.split_whitespace().map(str::to_owned).collect();
    let profile = Profile::new(
        &get::<String>(row, "name")?,
        &cuisines,
        &get::<String>(row, "address")?,
        latlng(row, "lat", "lng")?,
        u32_of(get(row, "delivery_radius_m")?, "delivery_radius_m")?,
        u32_of(get(row, "prep_minutes")?, "prep_minutes")?,
    )
    .map_err(|e| StoreError::Corrupt(format!("merchant profile: {e}")))?;
    let paused: i64 = get(row, "paused")?;
    let busy: Option<i64> = get(row, "busy_minutes")?;
    let max_open: Option<i64> = get(row, "max_open_orders")?;
    let intake = Intake {
        pause: (paused != 0).then_some(Pause {
            until: opt_timestamp(row, "paused_until")?,
        }),
        busy: busy
            .map(|m| -> Result<Busy, StoreError> {
                Ok(Busy {
                    extra_minutes: u32_of(m, "busy_minutes")?,
                    until: opt_timestamp(row, "busy_until")?,
                })
            })
            .transpose()?,
        max_open_orders: max_open.map(|m| u32_of(m, "max_open_orders")).transpose()?,
    };
    Ok(Merchant::from_stored(
        id(row, "id")?,
        named(row, "status", MerchantStatus::parse)?,
        profile,
        hours,
        intake,
        timestamp(row, "created_at")?,
    ))
}

/// Weekly rows and exception rows as read, by merchant id.
#[derive(Default)]
struct HoursRows {
    weekly: HashMap<String, [Vec<OpeningRange>; 7]>,
    exceptions: HashMap<String, Vec<(CalendarDate, Vec<OpeningRange>)>>,
}

impl HoursRows {
    fn add_weekly(&mut self, rows: &[AnyRow]) -> Result<(), StoreError> {
        for row in rows {
            let merchant: String = get(row, "merchant_id")?;
            let weekday: i64 = get(row, "weekday")?;
            let day = usize::try_from(weekday)
                .ok()
                .filter(|d| *d < 7)
                .ok_or_else(|| StoreError::Corrupt(format!("weekday {weekday}")))?;
            self.weekly.entry(merchant).or_default()[day] =
                parse_ranges(&get::<String>(row, "ranges")?)?;
        }
        Ok(())
    }

    fn add_exceptions(&mut self, rows: &[AnyRow]) -> Result<(), StoreError> {
        for row in rows {
            let merchant: String = get(row, "merchant_id")?;
            let date: String = get(row, "on_date")?;
            let date = CalendarDate::parse(&date)
                .ok_or_else(|| StoreError::Corrupt(format!("exception date {date:?}")))?;
            let ranges = parse_ranges(&get::<String>(row, "ranges")?)?;
            self.exceptions
                .entry(merchant)
                .or_default()
                .push((date, ranges));
        }
        Ok(())
    }

    fn take(&mut self, merchant: &str) -> Result<OpeningHours, StoreError> {
        let weekly = WeeklyHours::new(self.weekly.remove(merchant).unwrap_or_default())
            .map_err(|(day, e)| StoreError::Corrupt(format!("hours of weekday {day}: {e}")))?;
        let exceptions = Exceptions::new(self.exceptions.remove(merchant).unwrap_or_default())
            .map_err(|(_, e)| StoreError::Corrupt(format!("hour exceptions: {e}")))?;
        Ok(OpeningHours { weekly, exceptions })
    }
}

/// Writes `merchant`'s row inside the caller's transaction.
async fn insert_merchant_in(conn: &mut AnyConnection, m: &Merchant) -> Result<(), StoreError> {
    let intake = m.intake();
    sqlx::query(
        "INSERT INTO merchants (id, status, name, cuisines, address, lat, lng, delivery_radius_m, prep_minutes, \
         paused, paused_until, busy_minutes, busy_until, max_open_orders, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(m.id.to_string())
    .bind(m.status().as_str())
    .bind(m.profile.name.as_str())
    .bind(cuisines_text(&m.profile))
    .bind(m.profile.address.as_str())
    .bind(m.profile.point.lat())
    .bind(m.profile.point.lng())
    .bind(i64::from(m.profile.delivery_radius_m))
    .bind(i64::from(m.profile.prep_minutes))
    .bind(i64::from(intake.pause.is_some()))
    .bind(intake.pause.and_then(|p| p.until).map(Timestamp::millis))
    .bind(intake.busy.map(|b| i64::from(b.extra_minutes)))
    .bind(intake.busy.and_then(|b| b.until).map(Timestamp::millis))
    .bind(intake.max_open_orders.map(i64::from))
    .bind(m.created_at.millis())
    .execute(&mut *conn)
    .await?;
    write_hours_in(conn, m.id, &m.hours).await
}

fn cuisines_text(p: &Profile) -> String {
    p.cuisines
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces a merchant's hours inside the caller's transaction.
async fn write_hours_in(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    hours: &OpeningHours,
) -> Result<(), StoreError> {
    let id = merchant.to_string();
    sqlx::query("DELETE FROM merchant_hours WHERE merchant_id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM merchant_hour_exceptions WHERE merchant_id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    for (weekday, ranges) in hours.weekly.days().iter().enumerate() {
        if ranges.is_empty() {
            continue;
        }
        sqlx::query(
            "INSERT INTO merchant_hours (merchant_id, weekday, ranges) VALUES ($1, $2, $3)",
        )
        .bind(&id)
        .bind(i64::try_from(weekday).unwrap_or(0))
        .bind(ranges_text(ranges))
        .execute(&mut *conn)
        .await?;
    }
    for (date, ranges) in hours.exceptions.iter() {
        sqlx::query(
            "INSERT INTO merchant_hour_exceptions (merchant_id, on_date, ranges) VALUES ($1, $2, $3)",
        )
        .bind(&id)
        .bind(date.to_string())
        .bind(ranges_text(ranges))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Adds `user` to `merchant`'s staff inside the caller's transaction ([`StoreError::StaffTaken`] if
/// they are on a staff already).
async fn add_staff_in(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    user: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let added = sqlx::query(
        "INSERT INTO merchant_staff (user_id, merchant_id, added_at) VALUES ($1, $2, $3)",
    )
    .bind(user.to_string())
    .bind(merchant.to_string())
    .bind(at.millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from);
    match added {
        Ok(_) => Ok(()),
        Err(e) if e.is_unique_violation() => Err(StoreError::StaffTaken),
        Err(e) => Err(e),
    }
}

impl Store {
    /// Creates `merchant` with its staff: `existing` accounts and, if given, a new account (with its
    /// password hash) made for it, with the operator's action, in one transaction.
    /// [`StoreError::EmailTaken`] (the new account's address), [`StoreError::StaffTaken`] (an account
    /// already on a staff) and [`StoreError::AuditKeyUsed`] write nothing.
    pub async fn create_merchant(
        &self,
        merchant: &Merchant,
        new_account: Option<(&User, &str)>,
        existing: &[UserId],
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        insert_merchant_in(&mut tx, merchant).await?;
        if let Some((user, hash)) = new_account {
            let inserted = sqlx::query(
                "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(user.id.to_string())
            .bind(user.email.as_str())
            .bind(user.name.as_str())
            .bind(user.role.as_str())
            .bind(hash)
            .bind(user.created_at.millis())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from);
            match inserted {
                Ok(_) => {}
                Err(e) if e.is_unique_violation() => return Err(StoreError::EmailTaken),
                Err(e) => return Err(e),
            }
            add_staff_in(&mut tx, merchant.id, user.id, merchant.created_at).await?;
        }
        for user in existing {
            add_staff_in(&mut tx, merchant.id, *user, merchant.created_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The merchant with this id.
    pub async fn merchant(&self, id: MerchantId) -> Result<Option<Merchant>, StoreError> {
        let key = id.to_string();
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            merchant_columns!(),
            " FROM merchants m WHERE m.id = $1"
        ))
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let mut hours = HoursRows::default();
        hours.add_weekly(
            &sqlx::query(
                "SELECT merchant_id, weekday, ranges FROM merchant_hours WHERE merchant_id = $1",
            )
            .bind(&key)
            .fetch_all(&self.pool)
            .await?,
        )?;
        hours.add_exceptions(
            &sqlx::query(
                "SELECT merchant_id, on_date, ranges FROM merchant_hour_exceptions WHERE merchant_id = $1",
            )
            .bind(&key)
            .fetch_all(&self.pool)
            .await?,
        )?;
        merchant_from_row(&row, hours.take(&key)?).map(Some)
    }

    /// Merchants in `status` (any when `None`), oldest first, at most `limit`.
    pub async fn merchants(
        &self,
        status: Option<MerchantStatus>,
        limit: i64,
    ) -> Result<Vec<Merchant>, StoreError> {
        let status = status.map_or("", MerchantStatus::as_str);
        let filter = "FROM merchants m WHERE ($1 = '' OR m.status = $1) ORDER BY m.created_at, m.id LIMIT $2";
        self.merchants_where(filter, |q| q.bind(status).bind(row_limit(limit)))
            .await
    }

    /// Approved merchants whose point is within `radius_m` of `point` by latitude and longitude (a box
    /// around it: the caller measures the distance), by id.
    pub async fn listed_merchants_near(
        &self,
        point: LatLng,
        radius_m: u32,
    ) -> Result<Vec<Merchant>, StoreError> {
        // A degree of latitude is 111.2 km; of longitude, that times the cosine of the latitude (Manhattan
        // is far from the poles, so the cosine is at least a half with room to spare).
        let dlat = f64::from(radius_m) / 111_000.0;
        let dlng = dlat / point.lat().to_radians().cos().max(0.5);
        let filter = "FROM merchants m WHERE m.status = 'approved' AND m.lat BETWEEN $1 AND $2 \
                      AND m.lng BETWEEN $3 AND $4 ORDER BY m.id";
        self.merchants_where(filter, |q| {
            q.bind(point.lat() - dlat)
                .bind(point.lat() + dlat)
                .bind(point.lng() - dlng)
                .bind(point.lng() + dlng)
        })
        .await
    }

    /// The merchants a `FROM merchants m WHERE ...` clause selects, with their hours (three queries
    /// with the same clause and binds).
    async fn merchants_where<'q>(
        &self,
        filter: &'static str,
        bind: impl Fn(
            sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
        ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<Merchant>, StoreError> {
        let select = format!("SELECT {} {filter}", merchant_columns!());
        let rows = bind(sqlx::query(sqlx::AssertSqlSafe(select)))
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // The hours of exactly the merchants selected: the same clause as a subquery.
        let without_order = filter.split(" ORDER BY").next().unwrap_or(filter);
        let mut hours = HoursRows::default();
        let weekly = format!(
            "SELECT h.merchant_id, h.weekday, h.ranges FROM merchant_hours h WHERE h.merchant_id IN (SELECT m.id {without_order})"
        );
        hours.add_weekly(
            &bind(sqlx::query(sqlx::AssertSqlSafe(weekly)))
                .fetch_all(&self.pool)
                .await?,
        )?;
        let exceptions = format!(
            "SELECT e.merchant_id, e.on_date, e.ranges FROM merchant_hour_exceptions e WHERE e.merchant_id IN (SELECT m.id {without_order})"
        );
        hours.add_exceptions(
            &bind(sqlx::query(sqlx::AssertSqlSafe(exceptions)))
                .fetch_all(&self.pool)
                .await?,
        )?;
        rows.iter()
            .map(|row| {
                let id: String = get(row, "id")?;
                merchant_from_row(row, hours.take(&id)?)
            })
            .collect()
    }

    /// The merchant whose staff `user` is on, if any.
    pub async fn staff_merchant(&self, user: UserId) -> Result<Option<MerchantId>, StoreError> {
        let row = sqlx::query("SELECT merchant_id FROM merchant_staff WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|r| id(r, "merchant_id")).transpose()
    }

    /// A merchant's staff, by name.
    pub async fn merchant_staff(&self, merchant: MerchantId) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, u.created_at FROM merchant_staff s JOIN users u ON u.id = s.user_id \
             WHERE s.merchant_id = $1 ORDER BY u.name, u.id",
        )
        .bind(merchant.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Records `merchant`'s new standing, which an operator's action moved from `from`, with the action,
    /// in one transaction; [`StoreError::Conflict`] (nothing written) if its standing is no longer `from`.
    pub async fn set_merchant_status(
        &self,
        merchant: &Merchant,
        from: MerchantStatus,
        audit: &NewAuditEntry,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        let done = sqlx::query(
            "UPDATE merchants SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2",
        )
        .bind(merchant.id.to_string())
        .bind(from.as_str())
        .bind(merchant.status().as_str())
        .bind(at.millis())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds `user` to `merchant`'s staff with the operator's action, in one transaction
    /// ([`StoreError::StaffTaken`]: nothing written).
    pub async fn add_merchant_staff(
        &self,
        merchant: MerchantId,
        user: UserId,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        add_staff_in(&mut tx, merchant, user, audit.at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes `user` off `merchant`'s staff with the operator's action, in one transaction; whether they
    /// were on it (if not, nothing is written).
    pub async fn remove_merchant_staff(
        &self,
        merchant: MerchantId,
        user: UserId,
        audit: &NewAuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        let done =
            sqlx::query("DELETE FROM merchant_staff WHERE user_id = $1 AND merchant_id = $2")
                .bind(user.to_string())
                .bind(merchant.to_string())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces a merchant's profile.
    pub async fn save_merchant_profile(
        &self,
        merchant: MerchantId,
        profile: &Profile,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE merchants SET name = $2, cuisines = $3, address = $4, lat = $5, lng = $6, \
             delivery_radius_m = $7, prep_minutes = $8, updated_at = $9 WHERE id = $1",
        )
        .bind(merchant.to_string())
        .bind(profile.name.as_str())
        .bind(cuisines_text(profile))
        .bind(profile.address.as_str())
        .bind(profile.point.lat())
        .bind(profile.point.lng())
        .bind(i64::from(profile.delivery_radius_m))
        .bind(i64::from(profile.prep_minutes))
        .bind(at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets or lifts a merchant's pause (only the pause: concurrent changes of busy mode or the cap are
    /// kept).
    pub async fn save_merchant_pause(
        &self,
        merchant: MerchantId,
        pause: Option<Pause>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE merchants SET paused = $2, paused_until = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(merchant.to_string())
        .bind(i64::from(pause.is_some()))
        .bind(pause.and_then(|p| p.until).map(Timestamp::millis))
        .bind(at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets or lifts a merchant's busy mode (only that).
    pub async fn save_merchant_busy(
        &self,
        merchant: MerchantId,
        busy: Option<Busy>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE merchants SET busy_minutes = $2, busy_until = $3, updated_at = $4 WHERE id = $1")
            .bind(merchant.to_string())
            .bind(busy.map(|b| i64::from(b.extra_minutes)))
            .bind(busy.and_then(|b| b.until).map(Timestamp::millis))
            .bind(at.millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets or lifts a merchant's cap on open orders (only that).
    pub async fn save_merchant_max_open_orders(
        &self,
        merchant: MerchantId,
        max: Option<u32>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE merchants SET max_open_orders = $2, updated_at = $3 WHERE id = $1")
            .bind(merchant.to_string())
            .bind(max.map(i64::from))
            .bind(at.millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces a merchant's opening hours and exceptions, in one transaction.
    pub async fn save_merchant_hours(
        &self,
        merchant: MerchantId,
        hours: &OpeningHours,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            // Two replacements of the same merchant's hours queue on its row instead of interleaving.
            sqlx::query("SELECT id FROM merchants WHERE id = $1 FOR UPDATE")
                .bind(merchant.to_string())
                .execute(&mut *tx)
                .await?;
        }
        write_hours_in(&mut tx, merchant, hours).await?;
        sqlx::query("UPDATE merchants SET updated_at = $2 WHERE id = $1")
            .bind(merchant.to_string())
            .bind(at.millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A merchant's menu in `currency` (an empty one at version 0 before the first).
    pub async fn menu(
        &self,
        merchant: MerchantId,
        currency: doorstep_domain::Currency,
    ) -> Result<StoredMenu, StoreError> {
        let row = sqlx::query(
            "SELECT version, document, updated_at FROM merchant_menus WHERE merchant_id = $1",
        )
        .bind(merchant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(StoredMenu {
                menu: Menu::empty(merchant, currency),
                version: 0,
                updated_at: None,
            });
        };
        let draft: MenuDraft = crate::columns::json(&row, "document")?;
        let menu = Menu::from_stored(merchant, draft.currency, &draft).map_err(|errors| {
            StoreError::Corrupt(format!(
                "menu of {merchant}: {}",
                errors.first().map(ToString::to_string).unwrap_or_default()
            ))
        })?;
        Ok(StoredMenu {
            menu,
            version: get(&row, "version")?,
            updated_at: opt_timestamp(&row, "updated_at")?,
        })
    }

    /// Replaces a merchant's menu whole if its version is still `expected` (0: it has none yet), with
    /// the index of its item ids, in one transaction; the new version, or [`StoreError::Conflict`]
    /// (nothing written) if the menu changed meanwhile.
    pub async fn replace_menu(
        &self,
        menu: &Menu,
        expected: i64,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let merchant = menu.merchant().to_string();
        let document = crate::columns::to_json(&menu.to_draft(), "menu")?;
        let version = expected + 1;
        let mut tx = self.begin_write().await?;
        let written = if expected == 0 {
            sqlx::query(
                "INSERT INTO merchant_menus (merchant_id, version, document, updated_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&merchant)
            .bind(version)
            .bind(&document)
            .bind(at.millis())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)
        } else {
            sqlx::query(
                "UPDATE merchant_menus SET version = $2, document = $3, updated_at = $4 \
                 WHERE merchant_id = $1 AND version = $5",
            )
            .bind(&merchant)
            .bind(version)
            .bind(&document)
            .bind(at.millis())
            .bind(expected)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)
        };
        match written {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => {
                tx.rollback().await?;
                return Err(StoreError::Conflict);
            }
            Err(e) if e.is_unique_violation() => return Err(StoreError::Conflict),
            Err(e) => return Err(e),
        }
        sqlx::query("DELETE FROM menu_items WHERE merchant_id = $1")
            .bind(&merchant)
            .execute(&mut *tx)
            .await?;
        for item in menu.items() {
            sqlx::query("INSERT INTO menu_items (item_id, merchant_id) VALUES ($1, $2)")
                .bind(item.id.to_string())
                .bind(&merchant)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(version)
    }

    /// The merchant whose menu has this item, if any.
    pub async fn menu_item_merchant(
        &self,
        item: MenuItemId,
    ) -> Result<Option<MerchantId>, StoreError> {
        let row = sqlx::query("SELECT merchant_id FROM menu_items WHERE item_id = $1")
            .bind(item.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| {
                let text: String = get(r, "merchant_id")?;
                parse_id(&text, "merchant_id")
            })
            .transpose()
    }
}
