//! Rides and their offers: creating a ride, changing one in a single transaction, and the reads.

use crate::columns::{
    cancelled_by_name, get, id, json, latlng, money, named, opt_id, opt_json, opt_millis,
    opt_money, opt_named, opt_timestamp, opt_u32_col, parse_cancelled_by, parse_no_driver_reason,
    row_limit, timestamp, to_json, u32_col,
};
use crate::events::{Audience, StoredEvent, append_events};
use crate::ledger::insert_posting_in;
use crate::{Store, StoreError};
use doorstep_domain::code::VerificationCode;
use doorstep_domain::ledger::Posting;
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::pricing::FareAdjustment;
use doorstep_domain::ride::{EarlyEnd, FlatRide, Ride, RideEvent, RideState};
use doorstep_domain::{OfferId, RideId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// What an idempotent create did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// It was stored now, with the event recorded alongside.
    New(T, StoredEvent),
    /// An earlier request with the same idempotency key (or the very same ride) already stored it; this is
    /// the stored one and nothing was written.
    Existing(T),
}

impl<T> Created<T> {
    /// The stored value, new or existing.
    pub fn into_inner(self) -> T {
        match self {
            Created::New(value, _) | Created::Existing(value) => value,
        }
    }

    /// Whether this call stored it.
    pub fn is_new(&self) -> bool {
        match self {
            Created::New(..) => true,
            Created::Existing(_) => false,
        }
    }
}

/// Everything one step of a ride writes, applied in one transaction by [`Store::save_ride_change`].
#[derive(Debug, Clone, Copy)]
pub struct RideChange<'a> {
    /// The ride after the change, already carrying its new version.
    pub ride: &'a Ride,
    /// The version the change was computed from: the stored ride must still have it.
    pub expected_version: i64,
    /// Offers made or answered in this step (inserted if new, else their state is updated). They must be
    /// offers of this ride.
    pub offers: &'a [Offer],
    /// Events to append, in order, with who may see each.
    pub events: &'a [(RideEvent, Audience)],
    /// Money moved by this step, if any (a completed ride's fare, a cancellation fee).
    pub posting: Option<&'a Posting>,
    /// When the change happens: the time of its events and of the rows' `updated_at`.
    pub at: Timestamp,
}

/// `SELECT`s the columns [`ride_from_row`] reads from `rides r`, followed by the rest of the statement.
macro_rules! select_rides {
    ($rest:literal) => {
        concat!(
            "SELECT r.id, r.rider_id, r.quote_id, r.pickup_lat, r.pickup_lng, r.dropoff_lat, r.dropoff_lng, ",
            "r.quoted_fare, r.final_fare, r.state, r.driver_id, r.pin, r.pickup_eta_s, r.excluded_drivers, ",
            "r.requested_at, r.assigned_at, r.arrived_at, r.started_at, r.ended_at, r.cancelled_by, ",
            "r.cancel_fee_minor, r.cancel_fee_currency, r.no_driver_reason, r.version, r.pin_failed_attempts, ",
            "r.trip_distance_m, r.fare_adjustment, r.early_end, r.dropoff_distance_m FROM rides r ",
            $rest
        )
    };
}

/// `SELECT`s the columns [`offer_from_row`] reads, followed by the rest of the statement.
macro_rules! select_offers {
    ($rest:literal) => {
        concat!(
            "SELECT id, ride_id, driver_id, state, created_at, expires_at, pickup_eta_s, pickup_distance_m, ",
            "fare_minor, fare_currency FROM offers ",
            $rest
        )
    };
}

fn ride_from_row(row: &AnyRow) -> Result<Ride, StoreError> {
    let pin: String = get(row, "pin")?;
    let failed: i64 = get(row, "pin_failed_attempts")?;
    let failed = u8::try_from(failed)
        .map_err(|_| StoreError::Corrupt(format!("pin_failed_attempts: {failed} is not a u8")))?;
    Ok(Ride::from_flat(FlatRide {
        id: id(row, "id")?,
        rider: id(row, "rider_id")?,
        quote_id: id(row, "quote_id")?,
        pickup: latlng(row, "pickup_lat", "pickup_lng")?,
        dropoff: latlng(row, "dropoff_lat", "dropoff_lng")?,
        quoted: json(row, "quoted_fare")?,
        final_fare: opt_json(row, "final_fare")?,
        state: named(row, "state", RideState::parse)?,
        driver: opt_id(row, "driver_id")?,
        pin: VerificationCode::restore(&pin, failed)
            .map_err(|e| StoreError::Corrupt(format!("pin: {e}")))?,
        pickup_eta_s: opt_u32_col(row, "pickup_eta_s")?,
        excluded_drivers: json(row, "excluded_drivers")?,
        requested_at: timestamp(row, "requested_at")?,
        assigned_at: opt_timestamp(row, "assigned_at")?,
        arrived_at: opt_timestamp(row, "arrived_at")?,
        started_at: opt_timestamp(row, "started_at")?,
        ended_at: opt_timestamp(row, "ended_at")?,
        cancelled_by: opt_named(row, "cancelled_by", parse_cancelled_by)?,
        cancel_fee: opt_money(row, "cancel_fee_minor", "cancel_fee_currency")?,
        no_driver_reason: opt_named(row, "no_driver_reason", parse_no_driver_reason)?,
        trip_distance_m: opt_u32_col(row, "trip_distance_m")?,
        fare_adjustment: opt_named(row, "fare_adjustment", FareAdjustment::parse)?,
        early_end: opt_named(row, "early_end", EarlyEnd::parse)?,
        dropoff_distance_m: opt_u32_col(row, "dropoff_distance_m")?,
        version: get(row, "version")?,
    }))
}

fn offer_from_row(row: &AnyRow) -> Result<Offer, StoreError> {
    Ok(Offer {
        id: id(row, "id")?,
        ride_id: id(row, "ride_id")?,
        driver: id(row, "driver_id")?,
        state: named(row, "state", OfferState::parse)?,
        created_at: timestamp(row, "created_at")?,
        expires_at: timestamp(row, "expires_at")?,
        pickup_eta_s: u32_col(row, "pickup_eta_s")?,
        pickup_distance_m: u32_col(row, "pickup_distance_m")?,
        fare: money(row, "fare_minor", "fare_currency")?,
    })
}

/// The columns of a ride that change after creation, encoded before any statement runs so that an
/// encoding failure never leaves a transaction half done.
struct MutableColumns {
    final_fare: Option<String>,
    state: &'static str,
    driver: Option<String>,
    pickup_eta_s: Option<i64>,
    excluded_drivers: String,
    assigned_at: Option<i64>,
    arrived_at: Option<i64>,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    cancelled_by: Option<&'static str>,
    cancel_fee_minor: Option<i64>,
    cancel_fee_currency: Option<String>,
    no_driver_reason: Option<&'static str>,
    version: i64,
    pin: String,
    pin_failed_attempts: i64,
    trip_distance_m: Option<i64>,
    fare_adjustment: Option<&'static str>,
    early_end: Option<&'static str>,
    dropoff_distance_m: Option<i64>,
}

impl MutableColumns {
    fn of(ride: &Ride) -> Result<MutableColumns, StoreError> {
        Ok(MutableColumns {
            final_fare: ride
                .final_fare
                .as_ref()
                .map(|f| to_json(f, "final fare"))
                .transpose()?,
            state: ride.state().as_str(),
            driver: ride.driver().map(|d| d.to_string()),
            pickup_eta_s: ride.pickup_eta_s().map(i64::from),
            excluded_drivers: to_json(&ride.excluded_drivers(), "excluded drivers")?,
            assigned_at: opt_millis(ride.assigned_at()),
            arrived_at: opt_millis(ride.arrived_at()),
            started_at: opt_millis(ride.started_at()),
            ended_at: opt_millis(ride.ended_at()),
            cancelled_by: ride.cancelled_by().map(cancelled_by_name),
            cancel_fee_minor: ride.cancel_fee().map(|m| m.minor),
            cancel_fee_currency: ride.cancel_fee().map(|m| m.currency.as_str().to_owned()),
            no_driver_reason: ride.no_driver_reason().map(|r| r.as_str()),
            version: ride.version(),
            pin: ride.pin().as_str().to_owned(),
            pin_failed_attempts: i64::from(ride.pin().failed_attempts()),
            trip_distance_m: ride.trip_distance_m.map(i64::from),
            fare_adjustment: ride.fare_adjustment.map(FareAdjustment::as_str),
            early_end: ride.early_end.map(EarlyEnd::as_str),
            dropoff_distance_m: ride.dropoff_distance_m.map(i64::from),
        })
    }

    /// Binds the columns in their statement order: final_fare, state, driver_id, pickup_eta_s,
    /// excluded_drivers, assigned_at, arrived_at, started_at, ended_at, cancelled_by, cancel_fee_minor,
    /// cancel_fee_currency, no_driver_reason, version, pin, pin_failed_attempts, trip_distance_m,
    /// fare_adjustment, early_end, dropoff_distance_m.
    fn bind_to<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(self.final_fare)
            .bind(self.state)
            .bind(self.driver)
            .bind(self.pickup_eta_s)
            .bind(self.excluded_drivers)
            .bind(self.assigned_at)
            .bind(self.arrived_at)
            .bind(self.started_at)
            .bind(self.ended_at)
            .bind(self.cancelled_by)
            .bind(self.cancel_fee_minor)
            .bind(self.cancel_fee_currency)
            .bind(self.no_driver_reason)
            .bind(self.version)
            .bind(self.pin)
            .bind(self.pin_failed_attempts)
            .bind(self.trip_distance_m)
            .bind(self.fare_adjustment)
            .bind(self.early_end)
            .bind(self.dropoff_distance_m)
    }
}

/// A statement on the `Any` driver with its arguments.
type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments>;

/// Inserts a new ride row.
async fn insert_ride(
    conn: &mut AnyConnection,
    ride: &Ride,
    idempotency_key: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let m = MutableColumns::of(ride)?;
    let query = sqlx::query(
        "INSERT INTO rides (id, rider_id, quote_id, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng, quoted_fare, \
         requested_at, idempotency_key, updated_at, final_fare, state, driver_id, pickup_eta_s, \
         excluded_drivers, assigned_at, arrived_at, started_at, ended_at, cancelled_by, cancel_fee_minor, \
         cancel_fee_currency, no_driver_reason, version, pin, pin_failed_attempts, trip_distance_m, fare_adjustment, \
         early_end, dropoff_distance_m) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)",
    )
    .bind(ride.id().to_string())
    .bind(ride.rider().to_string())
    .bind(ride.quote_id.to_string())
    .bind(ride.pickup().lat())
    .bind(ride.pickup().lng())
    .bind(ride.dropoff().lat())
    .bind(ride.dropoff().lng())
    .bind(to_json(&ride.quoted, "quoted fare")?)
    .bind(ride.requested_at().millis())
    .bind(idempotency_key.map(str::to_owned))
    .bind(now.millis());
    m.bind_to(query).execute(&mut *conn).await?;
    Ok(())
}

/// Remembers that `driver` was assigned to `ride` (kept when the driver later cancels).
async fn remember_driver(
    conn: &mut AnyConnection,
    ride: RideId,
    driver: UserId,
    assigned_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ride_drivers (ride_id, driver_id, assigned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (ride_id, driver_id) DO NOTHING",
    )
    .bind(ride.to_string())
    .bind(driver.to_string())
    .bind(assigned_at.millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts an offer, or updates the state of the stored one (the rest of an offer never changes).
async fn upsert_offer(
    conn: &mut AnyConnection,
    offer: &Offer,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO offers (id, ride_id, driver_id, state, created_at, expires_at, pickup_eta_s, pickup_distance_m, \
         fare_minor, fare_currency, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(offer.id.to_string())
    .bind(offer.ride_id.to_string())
    .bind(offer.driver.to_string())
    .bind(offer.state.as_str())
    .bind(offer.created_at.millis())
    .bind(offer.expires_at.millis())
    .bind(i64::from(offer.pickup_eta_s))
    .bind(i64::from(offer.pickup_distance_m))
    .bind(offer.fare.minor)
    .bind(offer.fare.currency.as_str())
    .bind(at.millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Stores a new ride and its `Requested` event in one transaction.
    ///
    /// Idempotent: if the rider already created a ride with `idempotency_key`, returns
    /// [`Created::Existing`] with that ride and writes nothing (whatever the new request contains). A
    /// retry of the very same ride (same id and quote) is also `Existing`. If another ride already used the
    /// quote: [`StoreError::QuoteAlreadyUsed`].
    #[tracing::instrument(skip_all, fields(ride_id = %ride.id()))]
    pub async fn create_ride(
        &self,
        ride: &Ride,
        idempotency_key: Option<&str>,
        event: &RideEvent,
        audience: &Audience,
        now: Timestamp,
    ) -> Result<Created<Ride>, StoreError> {
        if let Some(key) = idempotency_key
            && let Some(existing) = self.ride_by_idempotency_key(ride.rider(), key).await?
        {
            return Ok(Created::Existing(existing));
        }
        let mut tx = self.begin_write().await?;
        match insert_ride(&mut tx, ride, idempotency_key, now).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                tx.rollback().await?;
                return self.explain_duplicate_ride(ride, idempotency_key, e).await;
            }
            Err(e) => return Err(e),
        }
        if let Some(driver) = ride.driver() {
            remember_driver(
                &mut tx,
                ride.id(),
                driver,
                ride.assigned_at().unwrap_or(now),
            )
            .await?;
        }
        let mut stored = append_events(
            &mut tx,
            self.backend,
            ride.id(),
            &[(event.clone(), audience.recipients())],
            now,
        )
        .await?;
        tx.commit().await?;
        let event = stored
            .pop()
            .ok_or_else(|| StoreError::Corrupt("the requested event was not stored".to_owned()))?;
        Ok(Created::New(ride.clone(), event))
    }

    /// Says why inserting `ride` hit a unique key: a concurrent request with the same idempotency key, a
    /// retry of the same ride, or a quote used by another ride. Anything else is returned as `original`.
    async fn explain_duplicate_ride(
        &self,
        ride: &Ride,
        idempotency_key: Option<&str>,
        original: StoreError,
    ) -> Result<Created<Ride>, StoreError> {
        if let Some(key) = idempotency_key
            && let Some(existing) = self.ride_by_idempotency_key(ride.rider(), key).await?
        {
            return Ok(Created::Existing(existing));
        }
        let row = sqlx::query(select_rides!("WHERE r.quote_id = $1"))
            .bind(ride.quote_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match row.as_ref().map(ride_from_row).transpose()? {
            Some(existing) if existing.id() == ride.id() => Ok(Created::Existing(existing)),
            Some(_) => Err(StoreError::QuoteAlreadyUsed),
            None => Err(original),
        }
    }

    /// The ride `rider` created with idempotency key `key`, if any.
    pub async fn ride_by_idempotency_key(
        &self,
        rider: UserId,
        key: &str,
    ) -> Result<Option<Ride>, StoreError> {
        let row = sqlx::query(select_rides!(
            "WHERE r.rider_id = $1 AND r.idempotency_key = $2"
        ))
        .bind(rider.to_string())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ride_from_row).transpose()
    }

    /// The ride with this id.
    pub async fn ride(&self, id: RideId) -> Result<Option<Ride>, StoreError> {
        let row = sqlx::query(select_rides!("WHERE r.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ride_from_row).transpose()
    }

    /// The rider's rides, newest first, at most `limit`.
    pub async fn rides_of_rider(&self, rider: UserId, limit: i64) -> Result<Vec<Ride>, StoreError> {
        let rows = sqlx::query(select_rides!(
            "WHERE r.rider_id = $1 ORDER BY r.requested_at DESC, r.id DESC LIMIT $2"
        ))
        .bind(rider.to_string())
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ride_from_row).collect()
    }

    /// The rides `driver` is or ever was assigned to (also those they cancelled), newest first, at most
    /// `limit`.
    pub async fn rides_of_driver(
        &self,
        driver: UserId,
        limit: i64,
    ) -> Result<Vec<Ride>, StoreError> {
        let rows = sqlx::query(select_rides!(
            "WHERE r.driver_id = $1 OR r.id IN (SELECT ride_id FROM ride_drivers WHERE driver_id = $1) \
             ORDER BY r.requested_at DESC, r.id DESC LIMIT $2"
        ))
        .bind(driver.to_string())
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ride_from_row).collect()
    }

    /// The most recently requested rides, newest first, at most `limit` (the operations console).
    pub async fn recent_rides(&self, limit: i64) -> Result<Vec<Ride>, StoreError> {
        let rows = sqlx::query(select_rides!(
            "ORDER BY r.requested_at DESC, r.id DESC LIMIT $1"
        ))
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ride_from_row).collect()
    }

    /// The rides requested at or after `since`, oldest first, at most `limit` (operations KPIs).
    pub async fn rides_requested_since(
        &self,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<Ride>, StoreError> {
        let rows = sqlx::query(select_rides!(
            "WHERE r.requested_at >= $1 ORDER BY r.requested_at, r.id LIMIT $2"
        ))
        .bind(since.millis())
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ride_from_row).collect()
    }

    /// The rides in any of `states`, oldest first, at most `limit` (the dispatcher rebuilds its queue from
    /// the open ones after a restart).
    pub async fn rides_in_states(
        &self,
        states: &[RideState],
        limit: i64,
    ) -> Result<Vec<Ride>, StoreError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (2..states.len() + 2).map(|i| format!("${i}")).collect();
        // Only placeholders are formatted into the statement; every value is bound.
        let sql = format!(
            "{}WHERE r.state IN ({}) ORDER BY r.requested_at, r.id LIMIT $1",
            select_rides!(""),
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(row_limit(limit));
        for state in states {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(ride_from_row).collect()
    }

    /// How many rides are in each state, for every state (zero included), in lifecycle order.
    pub async fn count_rides_by_state(&self) -> Result<Vec<(RideState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM rides GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: Vec<(RideState, i64)> = RideState::ALL.iter().map(|&s| (s, 0)).collect();
        for row in &rows {
            let state = named(row, "state", RideState::parse)?;
            let n: i64 = get(row, "n")?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == state) {
                slot.1 = n;
            }
        }
        Ok(counts)
    }

    /// Applies one step of a ride in one transaction: updates the ride where its stored version is
    /// `expected_version` (else [`StoreError::Conflict`], and nothing is written), upserts the offers,
    /// records the posting ([`StoreError::DuplicatePosting`] if the ride already has one of its kind, and
    /// nothing is written), and appends the events. Returns the stored events, in the order given.
    ///
    /// A ride's id, rider, quote, places, quoted fare and request time are fixed at creation; the rest
    /// (the PIN and its count of wrong attempts included) is written from `change.ride`. A wrong PIN is a
    /// change like any other: the count is durable once this returns.
    #[tracing::instrument(skip_all, fields(ride_id = %change.ride.id(), version = change.ride.version()))]
    pub async fn save_ride_change(
        &self,
        change: RideChange<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let ride = change.ride;
        let m = MutableColumns::of(ride)?;
        let mut tx = self.begin_write().await?;
        let query = sqlx::query(
            "UPDATE rides SET final_fare = $3, state = $4, driver_id = $5, pickup_eta_s = $6, excluded_drivers = $7, \
             assigned_at = $8, arrived_at = $9, started_at = $10, ended_at = $11, cancelled_by = $12, \
             cancel_fee_minor = $13, cancel_fee_currency = $14, no_driver_reason = $15, version = $16, \
             pin = $17, pin_failed_attempts = $18, trip_distance_m = $19, fare_adjustment = $20, early_end = $21, \
             dropoff_distance_m = $22, updated_at = $23 WHERE id = $1 AND version = $2",
        )
        .bind(ride.id().to_string())
        .bind(change.expected_version);
        let updated = m
            .bind_to(query)
            .bind(change.at.millis())
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        if let Some(driver) = ride.driver() {
            remember_driver(
                &mut tx,
                ride.id(),
                driver,
                ride.assigned_at().unwrap_or(change.at),
            )
            .await?;
        }
        for offer in change.offers {
            upsert_offer(&mut tx, offer, change.at).await?;
        }
        if let Some(posting) = change.posting {
            // On an error the transaction is dropped, which rolls it back.
            insert_posting_in(&mut tx, posting).await?;
        }
        let events: Vec<_> = change
            .events
            .iter()
            .map(|(event, audience)| (event.clone(), audience.recipients()))
            .collect();
        let stored = append_events(&mut tx, self.backend, ride.id(), &events, change.at).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The offer with this id.
    pub async fn offer(&self, id: OfferId) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(select_offers!("WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// Every offer of a ride, oldest first.
    pub async fn offers_of_ride(&self, ride: RideId) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(select_offers!("WHERE ride_id = $1 ORDER BY created_at, id"))
            .bind(ride.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(offer_from_row).collect()
    }

    /// The driver's pending offers, oldest first (pending in the store: the caller decides whether one
    /// has passed its deadline).
    pub async fn pending_offers_of_driver(&self, driver: UserId) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(select_offers!(
            "WHERE driver_id = $1 AND state = $2 ORDER BY created_at, id"
        ))
        .bind(driver.to_string())
        .bind(OfferState::Pending.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offer_from_row).collect()
    }

    /// Every pending offer, oldest first (the dispatcher rebuilds its timers from them after a restart).
    pub async fn pending_offers(&self) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(select_offers!("WHERE state = $1 ORDER BY created_at, id"))
            .bind(OfferState::Pending.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(offer_from_row).collect()
    }
}
