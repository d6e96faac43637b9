//! House calls: the catalogue (`hc_services`), providers (`providers`, `provider_services`), bookings
//! (`bookings` over `jobs`/`job_stops`) and holds (`booking_holds`); migration 0016.
//!
//! A provider's calendar has a version (`providers.calendar_version`). Availability is checked in the app
//! against the calendar read after its version; a hold, a booking or a reschedule is then written with a
//! conditional bump of every touched provider's version (`WHERE calendar_version = $read`), so a write
//! checked against a calendar that changed meanwhile writes nothing ([`StoreError::CalendarChanged`]) and
//! the app checks again. Two customers racing for the last slot: exactly one commits.

use crate::columns::{get, id, json, latlng, timestamp, to_json};
use crate::events::{Recipient, StoredEvent, append_events};
use crate::jobs::{insert_job, job_columns, job_from_row, stop_columns, stop_from_row, update_job};
use crate::ledger::insert_posting_in;
use crate::{Store, StoreError};
use doorstep_domain::food::hours::{OpeningRange, WeeklyHours};
use doorstep_domain::housecall::{
    Booking, BookingEvent, BookingRecord, HcService, ProviderProfile, TimeOff,
};
use doorstep_domain::ledger::Posting;
use doorstep_domain::onboarding::Approval;
use doorstep_domain::{HoldId, JobId, ServiceId, Timestamp, UserId};
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// A provider's profile as stored (the approval is its own column).
#[derive(Serialize, Deserialize)]
struct StoredProfile {
    bio: String,
    home: LatLng,
    area_m: u32,
    daily_cap: u32,
    services: Vec<ServiceId>,
    /// Per weekday (Monday first), `[open, close]` as `HH:MM`.
    hours: Vec<Vec<[String; 2]>>,
    time_off: Vec<TimeOff>,
}

fn profile_from_row(row: &AnyRow) -> Result<(ProviderProfile, i64), StoreError> {
    let user: UserId = id(row, "user_id")?;
    let stored: StoredProfile = json(row, "profile")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("provider {user}: {what}"));
    let mut days: [Vec<OpeningRange>; 7] = Default::default();
    for (day, ranges) in stored.hours.iter().enumerate().take(7) {
        for [open, close] in ranges {
            days[day].push(OpeningRange::parse(open, close).map_err(|e| corrupt(&e.to_string()))?);
        }
    }
    let hours = WeeklyHours::new(days).map_err(|(_, e)| corrupt(&e.to_string()))?;
    let approval: String = get(row, "approval")?;
    let approval = Approval::parse(&approval).ok_or_else(|| corrupt("approval"))?;
    let version: i64 = get(row, "calendar_version")?;
    Ok((
        ProviderProfile {
            user,
            bio: stored.bio,
            home: stored.home,
            area_m: stored.area_m,
            daily_cap: stored.daily_cap,
            services: stored.services.into_iter().collect(),
            hours,
            time_off: stored.time_off,
            approval,
        },
        version,
    ))
}

fn stored_profile(p: &ProviderProfile) -> StoredProfile {
    StoredProfile {
        bio: p.bio.clone(),
        home: p.home,
        area_m: p.area_m,
        daily_cap: p.daily_cap,
        services: p.services.iter().copied().collect(),
        hours: p
            .hours
            .days()
            .iter()
            .map(|ranges| {
                ranges
                    .iter()
                    .map(|r| [r.open().to_string(), r.close().to_string()])
                    .collect()
            })
            .collect(),
        time_off: p.time_off.clone(),
    }
}

/// One visit or hold on a provider's calendar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalendarEntry {
    /// The provider.
    pub provider: UserId,
    /// A booking's id, or `None` for a hold.
    pub booking: Option<JobId>,
    /// A hold's id, or `None` for a booking.
    pub hold: Option<HoldId>,
    /// Where.
    pub place: LatLng,
    /// When the visit starts.
    pub starts_at: Timestamp,
    /// When the provider may leave (the appointment and its buffer).
    pub ends_at: Timestamp,
}

/// A slot held for a customer during checkout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hold {
    /// Its id.
    pub id: HoldId,
    /// For whom.
    pub customer: UserId,
    /// Whose time.
    pub provider: UserId,
    /// Which service.
    pub service: ServiceId,
    /// Where.
    pub place: LatLng,
    /// When the visit would start.
    pub starts_at: Timestamp,
    /// When the provider would be free again.
    pub ends_at: Timestamp,
    /// Until when it is held.
    pub expires_at: Timestamp,
}

/// What storing a booking did.
#[derive(Debug, Clone)]
pub enum Booked {
    /// Stored now, with its events.
    New(Booking, Vec<StoredEvent>),
    /// The customer already booked with this idempotency key: that booking and its request hash.
    Existing(Booking, String),
}

/// A change of a booking to write.
#[derive(Debug, Clone, Copy)]
pub struct BookingChange<'a> {
    /// The booking after the change.
    pub booking: &'a Booking,
    /// The version the change was computed from.
    pub expected_version: i64,
    /// The calendars whose time the change takes or gives back, each with the version the check read
    /// (none for a change that only gives time back: a cancellation never needs a check).
    pub calendars: &'a [(UserId, i64)],
    /// Events with their recipients.
    pub events: &'a [(BookingEvent, Vec<Recipient>)],
    /// Money moved.
    pub postings: &'a [Posting],
    /// When.
    pub at: Timestamp,
}

/// `SELECT`s a booking's job `j`, its stop `s` and its record `b`, followed by the rest of the statement.
macro_rules! select_bookings {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            job_columns!(),
            ", ",
            stop_columns!(s),
            ", b.record, b.request_hash FROM jobs j JOIN job_stops s ON s.job_id = j.id \
             JOIN bookings b ON b.id = j.id ",
            $rest
        )
    };
}

fn booking_from_row(row: &AnyRow) -> Result<(Booking, String), StoreError> {
    let stop = stop_from_row(row, "s_")?;
    let job = job_from_row(row, vec![stop])?;
    let job_id = job.id;
    let record: BookingRecord = json(row, "record")?;
    let hash: String = get(row, "request_hash")?;
    let booking = Booking::from_parts(job, record)
        .map_err(|e| StoreError::Corrupt(format!("booking {job_id}: {e}")))?;
    Ok((booking, hash))
}

/// Bumps each calendar's version from the one read, or fails with [`StoreError::CalendarChanged`].
async fn bump_calendars(
    conn: &mut AnyConnection,
    calendars: &[(UserId, i64)],
) -> Result<(), StoreError> {
    for (provider, version) in calendars {
        let done = sqlx::query(
            "UPDATE providers SET calendar_version = calendar_version + 1 \
             WHERE user_id = $1 AND calendar_version = $2",
        )
        .bind(provider.to_string())
        .bind(*version)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::CalendarChanged);
        }
    }
    Ok(())
}

fn service_from_row(row: &AnyRow) -> Result<HcService, StoreError> {
    json(row, "record")
}

fn hold_from_row(row: &AnyRow) -> Result<Hold, StoreError> {
    Ok(Hold {
        id: id(row, "id")?,
        customer: id(row, "customer_id")?,
        provider: id(row, "provider_id")?,
        service: id(row, "service_id")?,
        place: latlng(row, "lat", "lng")?,
        starts_at: timestamp(row, "starts_at")?,
        ends_at: timestamp(row, "ends_at")?,
        expires_at: timestamp(row, "expires_at")?,
    })
}

impl Store {
    /// Creates or replaces a service of the catalogue.
    pub async fn put_hc_service(
        &self,
        service: &HcService,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hc_services (id, record, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (id) DO UPDATE SET record = $2, active = $3, updated_at = $4",
        )
        .bind(service.id.to_string())
        .bind(to_json(service, "service")?)
        .bind(i64::from(service.active))
        .bind(now.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A service of the catalogue.
    pub async fn hc_service(&self, id: ServiceId) -> Result<Option<HcService>, StoreError> {
        let row = sqlx::query("SELECT record FROM hc_services WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(service_from_row).transpose()
    }

    /// The catalogue (only bookable services with `active_only`), by name.
    pub async fn hc_services(&self, active_only: bool) -> Result<Vec<HcService>, StoreError> {
        let rows = sqlx::query(
            "SELECT record FROM hc_services WHERE active >= $1 ORDER BY created_at, id",
        )
        .bind(i64::from(active_only))
        .fetch_all(&self.pool)
        .await?;
        let mut services = rows
            .iter()
            .map(service_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        services.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(services)
    }

    /// Creates or replaces a provider's profile and the services they offer. The approval is written
    /// for a new provider only; [`Store::set_provider_approval`] changes it.
    pub async fn put_provider(
        &self,
        profile: &ProviderProfile,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO providers (user_id, profile, approval, calendar_version, created_at, updated_at) \
             VALUES ($1, $2, $3, 0, $4, $4) \
             ON CONFLICT (user_id) DO UPDATE SET profile = $2, updated_at = $4, \
             calendar_version = providers.calendar_version + 1",
        )
        .bind(profile.user.to_string())
        .bind(to_json(&stored_profile(profile), "provider profile")?)
        .bind(profile.approval.as_str())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM provider_services WHERE provider_id = $1")
            .bind(profile.user.to_string())
            .execute(&mut *tx)
            .await?;
        for service in &profile.services {
            sqlx::query("INSERT INTO provider_services (provider_id, service_id) VALUES ($1, $2)")
                .bind(profile.user.to_string())
                .bind(service.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a provider's approval; `false` if there is no such provider.
    pub async fn set_provider_approval(
        &self,
        provider: UserId,
        approval: Approval,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE providers SET approval = $2, updated_at = $3, calendar_version = calendar_version + 1 \
             WHERE user_id = $1",
        )
        .bind(provider.to_string())
        .bind(approval.as_str())
        .bind(now.millis())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A provider's profile and their calendar's version.
    pub async fn provider(
        &self,
        user: UserId,
    ) -> Result<Option<(ProviderProfile, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, profile, approval, calendar_version FROM providers WHERE user_id = $1",
        )
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(profile_from_row).transpose()
    }

    /// Every provider offering `service`, with their calendars' versions, by id.
    pub async fn providers_offering(
        &self,
        service: ServiceId,
    ) -> Result<Vec<(ProviderProfile, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.user_id, p.profile, p.approval, p.calendar_version FROM providers p \
             JOIN provider_services ps ON ps.provider_id = p.user_id WHERE ps.service_id = $1 \
             ORDER BY p.user_id",
        )
        .bind(service.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(profile_from_row).collect()
    }

    /// Every provider, by id (operators' list).
    pub async fn all_providers(&self) -> Result<Vec<(ProviderProfile, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, profile, approval, calendar_version FROM providers ORDER BY user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(profile_from_row).collect()
    }

    /// The visits (bookings not ended) and live holds of `providers` that overlap `[from, to)`, by
    /// provider and start. Read after the providers' calendar versions, so a write in between shows as a
    /// changed version when the check is written.
    pub async fn calendar_entries(
        &self,
        providers: &[UserId],
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<CalendarEntry>, StoreError> {
        let mut out = Vec::new();
        if providers.is_empty() {
            return Ok(out);
        }
        let wanted: std::collections::HashSet<UserId> = providers.iter().copied().collect();
        // One read of the period for all of them: a list of ids as parameters would differ in shape
        // between the backends; the period bounds the rows.
        let rows = sqlx::query(
            "SELECT b.id, b.provider_id, b.starts_at, b.ends_at, s.lat, s.lng FROM bookings b \
             JOIN jobs j ON j.id = b.id JOIN job_stops s ON s.job_id = b.id \
             WHERE b.starts_at < $2 AND b.ends_at > $1 AND j.state IN ('open', 'assigned', 'in_progress')",
        )
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let provider: UserId = id(row, "provider_id")?;
            if wanted.contains(&provider) {
                out.push(CalendarEntry {
                    provider,
                    booking: Some(id(row, "id")?),
                    hold: None,
                    place: latlng(row, "lat", "lng")?,
                    starts_at: timestamp(row, "starts_at")?,
                    ends_at: timestamp(row, "ends_at")?,
                });
            }
        }
        let rows = sqlx::query(
            "SELECT id, customer_id, provider_id, service_id, lat, lng, starts_at, ends_at, expires_at \
             FROM booking_holds WHERE starts_at < $2 AND ends_at > $1 AND expires_at > $3",
        )
        .bind(from.millis())
        .bind(to.millis())
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let hold = hold_from_row(row)?;
            if wanted.contains(&hold.provider) {
                out.push(CalendarEntry {
                    provider: hold.provider,
                    booking: None,
                    hold: Some(hold.id),
                    place: hold.place,
                    starts_at: hold.starts_at,
                    ends_at: hold.ends_at,
                });
            }
        }
        out.sort_by_key(|e| (e.provider, e.starts_at, e.booking, e.hold));
        Ok(out)
    }

    /// Stores a hold if the provider's calendar is still at `calendar_version`
    /// ([`StoreError::CalendarChanged`] otherwise). A customer's earlier holds are released.
    pub async fn create_hold(
        &self,
        hold: &Hold,
        calendar_version: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        bump_calendars(&mut tx, &[(hold.provider, calendar_version)]).await?;
        sqlx::query("DELETE FROM booking_holds WHERE customer_id = $1 OR expires_at <= $2")
            .bind(hold.customer.to_string())
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO booking_holds (id, customer_id, provider_id, service_id, starts_at, ends_at, lat, lng, \
             expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(hold.id.to_string())
        .bind(hold.customer.to_string())
        .bind(hold.provider.to_string())
        .bind(hold.service.to_string())
        .bind(hold.starts_at.millis())
        .bind(hold.ends_at.millis())
        .bind(hold.place.lat())
        .bind(hold.place.lng())
        .bind(hold.expires_at.millis())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A hold, expired or not.
    pub async fn hold(&self, id: HoldId) -> Result<Option<Hold>, StoreError> {
        let row = sqlx::query(
            "SELECT id, customer_id, provider_id, service_id, lat, lng, starts_at, ends_at, expires_at \
             FROM booking_holds WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(hold_from_row).transpose()
    }

    /// Deletes expired holds; returns how many.
    pub async fn delete_expired_holds(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM booking_holds WHERE expires_at <= $1")
            .bind(now.millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Stores a new booking if every calendar in `calendars` is still at the version read
    /// ([`StoreError::CalendarChanged`] otherwise), releasing `hold` if given. Idempotent by
    /// `idempotency_key` per customer ([`Booked::Existing`]: nothing written).
    #[allow(
        clippy::too_many_arguments,
        reason = "the booking, the calendar check, the hold, the key and its request, the events and when"
    )]
    pub async fn book(
        &self,
        booking: &Booking,
        calendars: &[(UserId, i64)],
        hold: Option<HoldId>,
        idempotency_key: Option<&str>,
        request_hash: &str,
        events: &[(BookingEvent, Vec<Recipient>)],
        now: Timestamp,
    ) -> Result<Booked, StoreError> {
        if let Some(key) = idempotency_key
            && let Some(existing) = self
                .booking_by_idempotency_key(booking.customer(), key)
                .await?
        {
            return Ok(Booked::Existing(existing.0, existing.1));
        }
        let mut tx = self.begin_write().await?;
        match insert_job(&mut tx, booking.job(), idempotency_key, now).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                tx.rollback().await?;
                if let Some(key) = idempotency_key
                    && let Some(existing) = self
                        .booking_by_idempotency_key(booking.customer(), key)
                        .await?
                {
                    return Ok(Booked::Existing(existing.0, existing.1));
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        bump_calendars(&mut tx, calendars).await?;
        sqlx::query(
            "INSERT INTO bookings (id, customer_id, provider_id, service_id, starts_at, ends_at, record, \
             request_hash, booked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(booking.id().to_string())
        .bind(booking.customer().to_string())
        .bind(booking.provider().to_string())
        .bind(booking.record().service.to_string())
        .bind(booking.starts_at().millis())
        .bind(booking.ends_at().millis())
        .bind(to_json(booking.record(), "booking record")?)
        .bind(request_hash)
        .bind(booking.record().booked_at.millis())
        .execute(&mut *tx)
        .await?;
        if let Some(hold) = hold {
            sqlx::query("DELETE FROM booking_holds WHERE id = $1")
                .bind(hold.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let events: Vec<_> = events
            .iter()
            .map(|(e, r)| (e.clone().into(), r.clone()))
            .collect();
        let stored = append_events(&mut tx, self.backend, booking.id(), &events, now).await?;
        tx.commit().await?;
        Ok(Booked::New(booking.clone(), stored))
    }

    /// Writes a change of a booking where the stored version is `expected_version` and every calendar
    /// is still at the version read ([`StoreError::Conflict`] / [`StoreError::CalendarChanged`], nothing
    /// written otherwise), with its events and postings.
    pub async fn save_booking_change(
        &self,
        change: BookingChange<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let booking = change.booking;
        let mut tx = self.begin_write().await?;
        if !update_job(&mut tx, booking.job(), change.expected_version, change.at).await? {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        bump_calendars(&mut tx, change.calendars).await?;
        sqlx::query(
            "UPDATE bookings SET provider_id = $2, starts_at = $3, ends_at = $4, record = $5 WHERE id = $1",
        )
        .bind(booking.id().to_string())
        .bind(booking.provider().to_string())
        .bind(booking.starts_at().millis())
        .bind(booking.ends_at().millis())
        .bind(to_json(booking.record(), "booking record")?)
        .execute(&mut *tx)
        .await?;
        for posting in change.postings {
            insert_posting_in(&mut tx, posting).await?;
        }
        let events: Vec<_> = change
            .events
            .iter()
            .map(|(e, r)| (e.clone().into(), r.clone()))
            .collect();
        let stored = append_events(&mut tx, self.backend, booking.id(), &events, change.at).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// A booking.
    pub async fn booking(&self, id: JobId) -> Result<Option<Booking>, StoreError> {
        let row = sqlx::query(select_bookings!("WHERE j.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .as_ref()
            .map(booking_from_row)
            .transpose()?
            .map(|(b, _)| b))
    }

    /// The booking a customer made with `key`, with its request's hash.
    pub async fn booking_by_idempotency_key(
        &self,
        customer: UserId,
        key: &str,
    ) -> Result<Option<(Booking, String)>, StoreError> {
        let row = sqlx::query(select_bookings!(
            "WHERE j.customer_id = $1 AND j.idempotency_key = $2"
        ))
        .bind(customer.to_string())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(booking_from_row).transpose()
    }

    /// A customer's bookings starting in `[from, to)`, by start.
    pub async fn bookings_of_customer(
        &self,
        customer: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query(select_bookings!(
            "WHERE b.customer_id = $1 AND b.starts_at >= $2 AND b.starts_at < $3 ORDER BY b.starts_at, b.id"
        ))
        .bind(customer.to_string())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| booking_from_row(r).map(|(b, _)| b))
            .collect()
    }

    /// Every booking not ended starting in `[from, to)`, by provider and start (the re-optimiser's day).
    pub async fn live_bookings_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query(select_bookings!(
            "WHERE b.starts_at >= $1 AND b.starts_at < $2 AND j.state IN ('open', 'assigned', 'in_progress') \
             ORDER BY b.provider_id, b.starts_at, b.id"
        ))
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| booking_from_row(r).map(|(b, _)| b))
            .collect()
    }

    /// Every provider's bookings starting in `[from, to)`, by start, at most `limit` (the operators'
    /// day; `provider` narrows it to one).
    pub async fn bookings_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        provider: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<Booking>, StoreError> {
        let rows = match provider {
            Some(p) => {
                sqlx::query(select_bookings!(
                    "WHERE b.provider_id = $1 AND b.starts_at >= $2 AND b.starts_at < $3 \
                     ORDER BY b.starts_at, b.id LIMIT $4"
                ))
                .bind(p.to_string())
                .bind(from.millis())
                .bind(to.millis())
                .bind(crate::columns::row_limit(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => sqlx::query(select_bookings!(
                "WHERE b.starts_at >= $1 AND b.starts_at < $2 ORDER BY b.starts_at, b.id LIMIT $3"
            ))
            .bind(from.millis())
            .bind(to.millis())
            .bind(crate::columns::row_limit(limit))
            .fetch_all(&self.pool)
            .await?,
        };
        rows.iter()
            .map(|r| booking_from_row(r).map(|(b, _)| b))
            .collect()
    }

    /// `blocker` blocks `blocked` (again: nothing changes).
    pub async fn block_user(
        &self,
        blocker: UserId,
        blocked: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(blocker.to_string())
        .bind(blocked.to_string())
        .bind(now.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Everyone `user` blocked or was blocked by.
    pub async fn blocked_with(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query(
            "SELECT blocked_id AS other FROM user_blocks WHERE blocker_id = $1 \
             UNION SELECT blocker_id AS other FROM user_blocks WHERE blocked_id = $1",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| id(r, "other")).collect()
    }

    /// A provider's bookings starting in `[from, to)`, by start.
    pub async fn bookings_of_provider(
        &self,
        provider: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Booking>, StoreError> {
        let rows = sqlx::query(select_bookings!(
            "WHERE b.provider_id = $1 AND b.starts_at >= $2 AND b.starts_at < $3 ORDER BY b.starts_at, b.id"
        ))
        .bind(provider.to_string())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| booking_from_row(r).map(|(b, _)| b))
            .collect()
    }
}
