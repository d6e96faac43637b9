//! Rides and their offers: creating a ride, changing one in a single transaction, and the reads.

use crate::columns::{
    get, id, json, money, named, opt_json, opt_named, opt_u32_col, row_limit, timestamp, to_json,
    u32_col,
};
use crate::console::insert_audit_in;
use crate::events::{Audience, StoredEvent, append_events};
use crate::jobs::{
    AnyQuery, insert_job, job_columns, job_from_row, stop_columns, stop_from_row, update_job,
};
use crate::ledger::insert_posting_in;
use crate::{Store, StoreError};
use doorstep_domain::audit::NewAuditEntry;
use doorstep_domain::job::{JobState, StopState};
use doorstep_domain::ledger::Posting;
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::pricing::FareAdjustment;
use doorstep_domain::ride::{Ride, RideEvent, RideRecord, RideState};
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

/// `SELECT`s what [`ride_from_row`] reads: the ride's record `r`, its job `j` and the job's pickup `p` and
/// drop-off `d` stops, in one statement (so they are one committed state), followed by the rest of the
/// statement.
macro_rules! select_rides {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            job_columns!(),
            ", r.quote_id, r.quoted_fare, r.final_fare, r.trip_distance_m, r.fare_adjustment, ",
            stop_columns!(p),
            ", ",
            stop_columns!(d),
            " FROM rides r JOIN jobs j ON j.id = r.id ",
            "JOIN job_stops p ON p.job_id = r.id AND p.stop_index = 0 ",
            "JOIN job_stops d ON d.job_id = r.id AND d.stop_index = 1 ",
            $rest
        )
    };
}

/// `SELECT`s the columns [`offer_from_row`] reads (an offer `o` with the job `oj` it covers), followed by
/// the rest of the statement.
macro_rules! select_offers {
    ($rest:literal) => {
        concat!(
            "SELECT o.id, oj.job_id, o.worker_id, o.state, o.created_at, o.expires_at, o.eta_s, o.distance_m, ",
            "o.fare_minor, o.fare_currency FROM offers o JOIN offer_jobs oj ON oj.offer_id = o.id ",
            $rest
        )
    };
}
pub(crate) use select_offers;

fn ride_from_row(row: &AnyRow) -> Result<Ride, StoreError> {
    let stops = vec![stop_from_row(row, "p_")?, stop_from_row(row, "d_")?];
    let job = job_from_row(row, stops)?;
    let job_id = job.id;
    let record = RideRecord {
        quote_id: id(row, "quote_id")?,
        quoted: json(row, "quoted_fare")?,
        final_fare: opt_json(row, "final_fare")?,
        trip_distance_m: opt_u32_col(row, "trip_distance_m")?,
        fare_adjustment: opt_named(row, "fare_adjustment", FareAdjustment::parse)?,
    };
    Ride::from_parts(job, record).map_err(|e| StoreError::Corrupt(format!("ride {job_id}: {e}")))
}

pub(crate) fn offer_from_row(row: &AnyRow) -> Result<Offer, StoreError> {
    Ok(Offer {
        id: id(row, "id")?,
        ride_id: id(row, "job_id")?,
        driver: id(row, "worker_id")?,
        state: named(row, "state", OfferState::parse)?,
        created_at: timestamp(row, "created_at")?,
        expires_at: timestamp(row, "expires_at")?,
        pickup_eta_s: u32_col(row, "eta_s")?,
        pickup_distance_m: u32_col(row, "distance_m")?,
        fare: money(row, "fare_minor", "fare_currency")?,
    })
}

/// The ride's own columns that change after creation, encoded before any statement runs so that an
/// encoding failure never leaves a transaction half done.
struct RideColumns {
    final_fare: Option<String>,
    trip_distance_m: Option<i64>,
    fare_adjustment: Option<&'static str>,
}

impl RideColumns {
    fn of(ride: &Ride) -> Result<RideColumns, StoreError> {
        Ok(RideColumns {
            final_fare: ride
                .final_fare
                .as_ref()
                .map(|f| to_json(f, "final fare"))
                .transpose()?,
            trip_distance_m: ride.trip_distance_m.map(i64::from),
            fare_adjustment: ride.fare_adjustment.map(FareAdjustment::as_str),
        })
    }

    /// Binds the columns in their statement order: final_fare, trip_distance_m, fare_adjustment.
    fn bind_to<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(self.final_fare)
            .bind(self.trip_distance_m)
            .bind(self.fare_adjustment)
    }
}

/// Inserts a new ride: its job and stops, then its own row.
async fn insert_ride(
    conn: &mut AnyConnection,
    ride: &Ride,
    idempotency_key: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let own = RideColumns::of(ride)?;
    let quoted = to_json(&ride.quoted, "quoted fare")?;
    insert_job(conn, ride.job(), idempotency_key, now).await?;
    let query = sqlx::query(
        "INSERT INTO rides (id, quote_id, quoted_fare, final_fare, trip_distance_m, fare_adjustment) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ride.id().to_string())
    .bind(ride.quote_id.to_string())
    .bind(quoted);
    own.bind_to(query).execute(&mut *conn).await?;
    Ok(())
}

/// Inserts an offer and the job it covers, or updates the state of the stored offer (the rest of an offer
/// never changes).
///
/// A pending offer is refused ([`StoreError::WorkerBusy`]) if its worker has, in the record, a ride or a
/// delivery under way or another offer still open (pending and before its deadline): the record, not the
/// dispatcher's hot state, is what keeps a worker to one offer at a time and no offer while it works. (The
/// offers of one dispatcher are written by the one owner of the city, one per worker in a batch, so two
/// new offers of one worker never race each other.)
pub(crate) async fn upsert_offer(
    conn: &mut AnyConnection,
    offer: &Offer,
    at: Timestamp,
) -> Result<(), StoreError> {
    if offer.state == OfferState::Pending {
        let busy: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM jobs WHERE worker_id = $1 AND ended_at IS NULL              AND kind IN ('ride', 'delivery'))              + (SELECT COUNT(*) FROM offers WHERE worker_id = $1 AND state = 'pending'              AND expires_at > $2 AND id <> $3)",
        )
        .bind(offer.driver.to_string())
        .bind(at.millis())
        .bind(offer.id.to_string())
        .fetch_one(&mut *conn)
        .await?;
        if busy > 0 {
            return Err(StoreError::WorkerBusy);
        }
    }
    sqlx::query(
        "INSERT INTO offers (id, worker_id, state, created_at, expires_at, eta_s, distance_m, fare_minor, \
         fare_currency, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(offer.id.to_string())
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
    sqlx::query(
        "INSERT INTO offer_jobs (offer_id, job_id) VALUES ($1, $2) ON CONFLICT (offer_id, job_id) DO NOTHING",
    )
    .bind(offer.id.to_string())
    .bind(offer.ride_id.to_string())
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
        let mut stored = append_events(
            &mut tx,
            self.backend,
            ride.id().into(),
            &[(event.clone().into(), audience.recipients())],
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
            "WHERE j.customer_id = $1 AND j.idempotency_key = $2"
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
            "WHERE j.customer_id = $1 ORDER BY j.opened_at DESC, j.id DESC LIMIT $2"
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
            "WHERE j.worker_id = $1 OR j.id IN (SELECT job_id FROM job_workers WHERE worker_id = $1) \
             ORDER BY j.opened_at DESC, j.id DESC LIMIT $2"
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
            "ORDER BY j.opened_at DESC, j.id DESC LIMIT $1"
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
            "WHERE j.opened_at >= $1 ORDER BY j.opened_at, j.id LIMIT $2"
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
        // A ride state is a job state, and for an assigned job whether its pickup was arrived at.
        let mut conditions = Vec::with_capacity(states.len());
        let mut values = Vec::with_capacity(states.len() * 2);
        for &state in states {
            let (job_state, pickup) = job_filter_of(state);
            values.push(job_state.as_str());
            let n = values.len() + 1;
            match pickup {
                None => conditions.push(format!("j.state = ${n}")),
                Some((arrived, is)) => {
                    values.push(arrived.as_str());
                    let op = if is { "=" } else { "<>" };
                    conditions.push(format!("(j.state = ${n} AND p.state {op} ${})", n + 1));
                }
            }
        }
        // Only placeholders are formatted into the statement; every value is bound.
        let sql = format!(
            "{}WHERE {} ORDER BY j.opened_at, j.id LIMIT $1",
            select_rides!(""),
            conditions.join(" OR ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(row_limit(limit));
        for value in values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(ride_from_row).collect()
    }

    /// How many rides are in each state, for every state (zero included), in lifecycle order.
    pub async fn count_rides_by_state(&self) -> Result<Vec<(RideState, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT j.state AS job_state, p.state AS pickup_state, COUNT(*) AS n FROM rides r \
             JOIN jobs j ON j.id = r.id JOIN job_stops p ON p.job_id = r.id AND p.stop_index = 0 \
             GROUP BY j.state, p.state",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut counts: Vec<(RideState, i64)> = RideState::ALL.iter().map(|&s| (s, 0)).collect();
        for row in &rows {
            let job_state = named(row, "job_state", JobState::parse)?;
            let pickup = named(row, "pickup_state", StopState::parse)?;
            let n: i64 = get(row, "n")?;
            let state = RideState::ALL
                .into_iter()
                .find(|&s| {
                    let (js, p) = job_filter_of(s);
                    js == job_state && p.is_none_or(|(arrived, is)| (pickup == arrived) == is)
                })
                .ok_or_else(|| StoreError::Corrupt(format!("job state {job_state}")))?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == state) {
                slot.1 += n;
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
        self.save_ride_change_audited(change, None).await
    }

    /// [`Store::save_ride_change`] with the operator's action that made the change recorded in the audit
    /// log in the same transaction ([`StoreError::AuditKeyUsed`] if the operator already used its
    /// idempotency key: then nothing is written).
    pub async fn save_ride_change_audited(
        &self,
        change: RideChange<'_>,
        audit: Option<&NewAuditEntry>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let ride = change.ride;
        let own = RideColumns::of(ride)?;
        let mut tx = self.begin_write().await?;
        if let Some(entry) = audit {
            insert_audit_in(&mut tx, entry).await?;
        }
        if !update_job(&mut tx, ride.job(), change.expected_version, change.at).await? {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        let query = sqlx::query(
            "UPDATE rides SET final_fare = $2, trip_distance_m = $3, fare_adjustment = $4 WHERE id = $1",
        )
        .bind(ride.id().to_string());
        own.bind_to(query).execute(&mut *tx).await?;
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
            .map(|(event, audience)| (event.clone().into(), audience.recipients()))
            .collect();
        let stored =
            append_events(&mut tx, self.backend, ride.id().into(), &events, change.at).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The offer with this id.
    pub async fn offer(&self, id: OfferId) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(select_offers!("WHERE o.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// Every offer of a ride, oldest first.
    pub async fn offers_of_ride(&self, ride: RideId) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(select_offers!(
            "WHERE oj.job_id = $1 ORDER BY o.created_at, o.id"
        ))
        .bind(ride.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offer_from_row).collect()
    }

    /// The driver's pending offers, oldest first (pending in the store: the caller decides whether one
    /// has passed its deadline).
    pub async fn pending_offers_of_driver(&self, driver: UserId) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(select_offers!(
            "WHERE o.worker_id = $1 AND o.state = $2 ORDER BY o.created_at, o.id"
        ))
        .bind(driver.to_string())
        .bind(OfferState::Pending.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offer_from_row).collect()
    }

    /// Every pending offer, oldest first (the dispatcher rebuilds its timers from them after a restart).
    pub async fn pending_offers(&self) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(select_offers!(
            "WHERE o.state = $1 ORDER BY o.created_at, o.id"
        ))
        .bind(OfferState::Pending.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offer_from_row).collect()
    }
}

/// The job state a ride state is, and for the two assigned states whether the pickup must be (`true`) or
/// must not be (`false`) in [`StopState::Arrived`].
const fn job_filter_of(state: RideState) -> (JobState, Option<(StopState, bool)>) {
    match state {
        RideState::Requested => (JobState::Open, None),
        RideState::DriverAssigned => (JobState::Assigned, Some((StopState::Arrived, false))),
        RideState::DriverArrived => (JobState::Assigned, Some((StopState::Arrived, true))),
        RideState::InProgress => (JobState::InProgress, None),
        RideState::Completed => (JobState::Completed, None),
        RideState::Cancelled => (JobState::Cancelled, None),
        RideState::NoDriverAvailable => (JobState::Unfulfilled, None),
    }
}
