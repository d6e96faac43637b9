//! The durable event log: every ride event, with who may see it. WebSocket clients resume from it by id,
//! and the publisher reads it in id order (it doubles as the outbox).

use crate::columns::{get, id, opt_id, row_limit, timestamp, to_json};
use crate::{Backend, Store, StoreError};
use doorstep_domain::ride::{Ride, RideEvent};
use doorstep_domain::{RideId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// Who may see an event: its rider, its driver, both, or (both `None`) operators only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Audience {
    /// The rider who may see it.
    pub rider: Option<UserId>,
    /// The driver who may see it (for an offer, the driver offered).
    pub driver: Option<UserId>,
}

impl Audience {
    /// The ride's rider and its currently assigned driver, if any.
    pub fn of_ride(ride: &Ride) -> Audience {
        Audience {
            rider: Some(ride.rider),
            driver: ride.driver,
        }
    }

    /// Whether `user` is in the audience.
    pub fn includes(&self, user: UserId) -> bool {
        self.rider == Some(user) || self.driver == Some(user)
    }
}

/// An event as recorded, with its position in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the log: unique, increasing in the order events were recorded. Clients resume "after"
    /// the last id they saw.
    pub id: i64,
    /// The ride it happened to.
    pub ride_id: RideId,
    /// When it was recorded.
    pub at: Timestamp,
    /// Who may see it.
    pub audience: Audience,
    /// What happened.
    pub event: RideEvent,
}

/// `SELECT`s the columns [`event_from_row`] reads, followed by the rest of the statement.
macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT id, ride_id, rider_id, driver_id, payload, at FROM events ",
            $rest
        )
    };
}

fn event_from_row(row: &AnyRow) -> Result<StoredEvent, StoreError> {
    let payload: String = get(row, "payload")?;
    Ok(StoredEvent {
        id: get(row, "id")?,
        ride_id: id(row, "ride_id")?,
        at: timestamp(row, "at")?,
        audience: Audience {
            rider: opt_id(row, "rider_id")?,
            driver: opt_id(row, "driver_id")?,
        },
        event: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
    })
}

/// Appends `events` of `ride_id` at `at`, in order, inside the caller's transaction. Call it last in the
/// transaction, right before commit: on PostgreSQL it locks the events table until then.
pub(crate) async fn append_events(
    conn: &mut AnyConnection,
    backend: Backend,
    ride_id: RideId,
    events: &[(RideEvent, Audience)],
    at: Timestamp,
) -> Result<Vec<StoredEvent>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    match backend {
        // SQLite has one writer at a time, so ids are handed out and committed in the same order.
        Backend::Sqlite => {}
        // PostgreSQL hands out identity values before commit, so without this a transaction holding id 7
        // could commit after one holding id 8, and a reader resuming after 8 would never see 7. EXCLUSIVE
        // mode conflicts with itself and with inserts but not with plain reads. Taken last in the
        // transaction, the lock is held only for the inserts and the commit, and its holder waits for
        // nothing else, so it cannot deadlock.
        Backend::Postgres => {
            sqlx::query("LOCK TABLE events IN EXCLUSIVE MODE")
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut stored = Vec::with_capacity(events.len());
    for (event, audience) in events {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (ride_id, rider_id, driver_id, kind, payload, at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id",
        )
        .bind(ride_id.to_string())
        .bind(audience.rider.map(|u| u.to_string()))
        .bind(audience.driver.map(|u| u.to_string()))
        .bind(event.kind())
        .bind(to_json(event, "event")?)
        .bind(at.millis())
        .fetch_one(&mut *conn)
        .await?;
        stored.push(StoredEvent {
            id,
            ride_id,
            at,
            audience: *audience,
            event: event.clone(),
        });
    }
    Ok(stored)
}

impl Store {
    /// The events `user` may see with an id above `after_id`, oldest first, at most `limit`.
    pub async fn events_for_user(
        &self,
        user: UserId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "WHERE (rider_id = $1 OR driver_id = $1) AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(user.to_string())
        .bind(after_id)
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Every event of a ride, oldest first.
    pub async fn events_of_ride(&self, ride: RideId) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(select_events!("WHERE ride_id = $1 ORDER BY id"))
            .bind(ride.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// All events with an id above `after_id`, oldest first, at most `limit` (for operators and the
    /// publisher).
    pub async fn events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(select_events!("WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(after_id)
            .bind(row_limit(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The id of the newest event, 0 when there is none.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS last FROM events")
            .fetch_one(&self.pool)
            .await?;
        get(&row, "last")
    }
}
