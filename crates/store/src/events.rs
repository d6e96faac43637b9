//! The durable event log: every ride event, and who receives it. WebSocket clients resume from it by id,
//! and the publisher reads it in id order (it doubles as the outbox).
//!
//! # Recipients and gapless resume without a table lock
//!
//! An event has any number of recipients (`event_recipients`: customer, worker, merchant staff,
//! operators), each a user. A client resumes with `?after=<the last event id it saw>` and must get every
//! later event of its own exactly once, in order, even while many transactions write concurrently.
//!
//! On PostgreSQL identity values are handed out when a row is inserted, not when its transaction
//! commits: a transaction holding id 7 can commit after one holding id 8, and a reader that saw 8 and
//! resumes "after 8" would never see 7. The log used to prevent that with `LOCK TABLE events IN
//! EXCLUSIVE MODE` in every writing transaction, which serialised every ride change on the platform.
//!
//! Instead, each recipient has a cursor row (`event_cursors`: the count of events it has received, its
//! per-recipient sequence). A writing transaction first bumps the cursor row of every recipient of its
//! events, in one fixed order (recipients sorted by id, so two transactions never wait on each other in a
//! cycle), and only then inserts its events, drawing their ids. The bump locks the row until commit. So
//! for any one recipient: a transaction that writes to it waits until the previous such transaction has
//! committed, and only then draws its ids, which are therefore larger than every id that recipient
//! already has. A recipient's events become visible in id order, and an uncommitted one always has a
//! larger id than every committed one: reading "this recipient's events with id > after" in id order
//! never skips an event that commits later. Writers with no recipient in common never wait for each other.
//! Each row of `event_recipients` also records its `seq` in the recipient's sequence (1, 2, 3, ... in
//! commit order, unique per recipient), which makes the ordering checkable.
//!
//! The same SQL runs on SQLite, which has one writer at a time anyway. This module must run the cursor
//! bumps before the event inserts and after every other lock of the transaction; [`append_events`] is
//! therefore called last in a transaction.
//!
//! # The operators' feed: a visibility horizon
//!
//! Operators read *every* event ([`Store::events_after`]); one cursor row for "everyone" would serialise
//! every writer again. Their feed is read below a visibility horizon instead: on PostgreSQL each writing
//! transaction, before it draws its first event id, takes a shared transaction-level advisory lock keyed
//! by the highest id drawn so far, `K` (every id it then draws is above `K`). The lock shows in
//! `pg_locks` until the transaction ends. A reader first reads the highest id drawn so far, `S`, then
//! the smallest key `H` held in `pg_locks`, and reads only ids up to `min(S, H)`. Any event at or below
//! that horizon is committed (or rolled back, and never appears): its id was drawn before `S` was read,
//! so its writer's lock was granted before that, and had the writer still been running when `pg_locks`
//! was read, `H` would be at most its key, below its id. Later events have ids above the horizon. So
//! reading "id > after AND id <= horizon" in id order never skips an event that commits later; the feed
//! trails the newest commit only by the transactions still running. SQLite has one writer at a time and
//! needs no horizon. Nothing ever waits on these locks: they are only taken in shared mode.

use crate::columns::{get, id, named, row_limit, timestamp, to_json};
use crate::{Backend, Store, StoreError};
use doorstep_domain::event::Event;
use doorstep_domain::ride::Ride;
use doorstep_domain::{JobId, RideId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, HashMap};

/// What a recipient is to the job an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecipientRole {
    /// The customer (a ride's rider).
    Customer,
    /// The worker doing the job (a ride's driver, or the driver offered it).
    Worker,
    /// Staff of the merchant (food orders, later).
    MerchantStaff,
    /// An operator addressed by name (an escalation, later).
    Operator,
}

impl RecipientRole {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecipientRole::Customer => "customer",
            RecipientRole::Worker => "worker",
            RecipientRole::MerchantStaff => "merchant_staff",
            RecipientRole::Operator => "operator",
        }
    }

    /// Parses a name from [`RecipientRole::as_str`].
    pub fn parse(name: &str) -> Option<RecipientRole> {
        [
            RecipientRole::Customer,
            RecipientRole::Worker,
            RecipientRole::MerchantStaff,
            RecipientRole::Operator,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }
}

/// One recipient of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient {
    /// Who receives it.
    pub user: UserId,
    /// What they are to the job.
    pub role: RecipientRole,
}

/// Who may see a ride event: its rider, its driver, both, or neither (operators only). The ride-shaped
/// way to name an event's [`Recipient`]s.
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
            rider: Some(ride.rider()),
            driver: ride.driver(),
        }
    }

    /// Whether `user` is in the audience.
    pub fn includes(&self, user: UserId) -> bool {
        self.rider == Some(user) || self.driver == Some(user)
    }

    /// The recipients: the rider as customer, the driver as worker.
    pub fn recipients(&self) -> Vec<Recipient> {
        let rider = self.rider.map(|user| Recipient {
            user,
            role: RecipientRole::Customer,
        });
        let driver = self.driver.map(|user| Recipient {
            user,
            role: RecipientRole::Worker,
        });
        rider.into_iter().chain(driver).collect()
    }
}

/// An event as recorded, with its position in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the log: unique, and increasing in commit order for each recipient. Clients resume
    /// "after" the last id they saw.
    pub id: i64,
    /// The job it happened to (a ride's job has the ride's id).
    pub job_id: JobId,
    /// When it was recorded.
    pub at: Timestamp,
    /// Who receives it, in the order they were given.
    pub recipients: Vec<Recipient>,
    /// What happened.
    pub event: Event,
}

impl StoredEvent {
    /// The users who receive it.
    pub fn recipient_users(&self) -> impl Iterator<Item = UserId> + '_ {
        self.recipients.iter().map(|r| r.user)
    }

    /// Whether `user` receives it.
    pub fn is_for(&self, user: UserId) -> bool {
        self.recipients.iter().any(|r| r.user == user)
    }
}

/// `SELECT`s the columns [`event_from_row`] reads (from `events e`), followed by the rest of the
/// statement.
macro_rules! select_events {
    ($rest:literal) => {
        concat!("SELECT e.id, e.job_id, e.payload, e.at FROM ", $rest)
    };
}

/// The highest id `events_id_seq` has handed out (on PostgreSQL), as an SQL expression over it.
macro_rules! drawn_so_far {
    () => {
        "CASE WHEN is_called THEN last_value ELSE last_value - 1 END"
    };
}

fn event_from_row(row: &AnyRow) -> Result<StoredEvent, StoreError> {
    let payload: String = get(row, "payload")?;
    Ok(StoredEvent {
        id: get(row, "id")?,
        job_id: id(row, "job_id")?,
        at: timestamp(row, "at")?,
        recipients: Vec::new(),
        event: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?,
    })
}

/// Fills in the recipients of `events` from rows of `(event_id, recipient, role)`, in stored order.
fn attach_recipients(events: &mut [StoredEvent], rows: &[AnyRow]) -> Result<(), StoreError> {
    let index: HashMap<i64, usize> = events.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    for row in rows {
        let event_id: i64 = get(row, "event_id")?;
        if let Some(&i) = index.get(&event_id) {
            events[i].recipients.push(Recipient {
                user: id(row, "recipient")?,
                role: named(row, "role", RecipientRole::parse)?,
            });
        }
    }
    Ok(())
}

/// `recipients` with each user once (the first role given wins): a user receives an event once.
fn distinct_users(recipients: &[Recipient]) -> Vec<Recipient> {
    let mut distinct: Vec<Recipient> = Vec::with_capacity(recipients.len());
    for r in recipients {
        if !distinct.iter().any(|d| d.user == r.user) {
            distinct.push(*r);
        }
    }
    distinct
}

/// Appends `events` of `job_id` at `at`, in order, inside the caller's transaction. Call it last in the
/// transaction, right before commit: it locks the cursor rows of the events' recipients until then (see
/// the module documentation).
pub(crate) async fn append_events(
    conn: &mut AnyConnection,
    backend: Backend,
    job_id: JobId,
    events: &[(Event, Vec<Recipient>)],
    at: Timestamp,
) -> Result<Vec<StoredEvent>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // How many of these events each recipient gets; a BTreeMap, so the cursors are locked in the order
    // of recipient ids in every transaction.
    let events: Vec<(&Event, Vec<Recipient>)> = events
        .iter()
        .map(|(event, recipients)| (event, distinct_users(recipients)))
        .collect();
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for (_, recipients) in &events {
        for r in recipients {
            *counts.entry(r.user.to_string()).or_default() += 1;
        }
    }
    // Each recipient's next sequence number in this transaction.
    let mut next_seq: HashMap<String, i64> = HashMap::with_capacity(counts.len());
    for (recipient, n) in counts {
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO event_cursors (recipient, last_seq) VALUES ($1, $2) \
             ON CONFLICT (recipient) DO UPDATE SET last_seq = event_cursors.last_seq + excluded.last_seq \
             RETURNING last_seq",
        )
        .bind(&recipient)
        .bind(n)
        .fetch_one(&mut *conn)
        .await?;
        next_seq.insert(recipient, last - n + 1);
    }
    match backend {
        Backend::Sqlite => {}
        // Shows this transaction in `pg_locks`, keyed below every id it draws, until it ends: the
        // operators' horizon (see the module documentation).
        Backend::Postgres => {
            sqlx::query(concat!(
                "SELECT pg_advisory_xact_lock_shared(",
                drawn_so_far!(),
                ") FROM events_id_seq"
            ))
            .execute(&mut *conn)
            .await?;
        }
    }
    let mut stored = Vec::with_capacity(events.len());
    for (event, recipients) in &events {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (job_id, kind, payload, at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(job_id.to_string())
        .bind(event.kind())
        .bind(to_json(event, "event")?)
        .bind(at.millis())
        .fetch_one(&mut *conn)
        .await?;
        for r in recipients {
            let user = r.user.to_string();
            let seq = next_seq
                .get_mut(&user)
                .ok_or_else(|| StoreError::Corrupt("a recipient without a cursor".to_owned()))?;
            sqlx::query(
                "INSERT INTO event_recipients (event_id, recipient, role, seq) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&user)
            .bind(r.role.as_str())
            .bind(*seq)
            .execute(&mut *conn)
            .await?;
            *seq += 1;
        }
        stored.push(StoredEvent {
            id,
            job_id,
            at,
            recipients: recipients.clone(),
            event: (*event).clone(),
        });
    }
    Ok(stored)
}

impl Store {
    /// The events `user` receives with an id above `after_id`, oldest first, at most `limit`.
    pub async fn events_for_user(
        &self,
        user: UserId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(select_events!(
            "event_recipients r JOIN events e ON e.id = r.event_id \
             WHERE r.recipient = $1 AND r.event_id > $2 ORDER BY r.event_id LIMIT $3"
        ))
        .bind(user.to_string())
        .bind(after_id)
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(last) = events.last().map(|e| e.id) {
            let rows = sqlx::query(
                "SELECT a.event_id, a.recipient, a.role FROM event_recipients r \
                 JOIN event_recipients a ON a.event_id = r.event_id \
                 WHERE r.recipient = $1 AND r.event_id > $2 AND r.event_id <= $3 \
                 ORDER BY a.event_id, a.seq",
            )
            .bind(user.to_string())
            .bind(after_id)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            attach_recipients(&mut events, &rows)?;
        }
        Ok(events)
    }

    /// Every event of a ride, oldest first.
    pub async fn events_of_ride(&self, ride: RideId) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(select_events!("events e WHERE e.job_id = $1 ORDER BY e.id"))
            .bind(ride.to_string())
            .fetch_all(&self.pool)
            .await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let rows = sqlx::query(
            "SELECT a.event_id, a.recipient, a.role FROM events e \
             JOIN event_recipients a ON a.event_id = e.id WHERE e.job_id = $1 ORDER BY a.event_id, a.seq",
        )
        .bind(ride.to_string())
        .fetch_all(&self.pool)
        .await?;
        attach_recipients(&mut events, &rows)?;
        Ok(events)
    }

    /// The operators' visibility horizon: every event with an id at or below it is committed, and every
    /// event committed later has a larger id (see the module documentation).
    pub async fn event_horizon(&self) -> Result<i64, StoreError> {
        match self.backend {
            Backend::Sqlite => self.last_event_id().await,
            Backend::Postgres => {
                let row = sqlx::query(concat!(
                    "SELECT ",
                    drawn_so_far!(),
                    " AS drawn FROM events_id_seq"
                ))
                .fetch_one(&self.pool)
                .await?;
                let drawn: i64 = get(&row, "drawn")?;
                // Read after `drawn`: a writer not listed now draws its ids above it. The bigint key of an
                // advisory lock shows as classid (high half) and objid (low half), with objsubid 1.
                let row = sqlx::query(
                    "SELECT MIN((classid::int8 << 32) | objid::int8) AS running FROM pg_locks \
                     WHERE locktype = 'advisory' AND objsubid = 1 \
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                )
                .fetch_one(&self.pool)
                .await?;
                let running: Option<i64> = get(&row, "running")?;
                Ok(running.map_or(drawn, |r| r.min(drawn)))
            }
        }
    }

    /// All events with an id above `after_id`, oldest first, at most `limit`, up to the
    /// [horizon](Store::event_horizon) (for operators, who see every event).
    pub async fn events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let horizon = self.event_horizon().await?;
        let rows = sqlx::query(select_events!(
            "events e WHERE e.id > $1 AND e.id <= $3 ORDER BY e.id LIMIT $2"
        ))
        .bind(after_id)
        .bind(row_limit(limit))
        .bind(horizon)
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(last) = events.last().map(|e| e.id) {
            let rows = sqlx::query(
                "SELECT a.event_id, a.recipient, a.role FROM event_recipients a \
                 WHERE a.event_id > $1 AND a.event_id <= $2 ORDER BY a.event_id, a.seq",
            )
            .bind(after_id)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            attach_recipients(&mut events, &rows)?;
        }
        Ok(events)
    }

    /// The id of the newest event, 0 when there is none.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS last FROM events")
            .fetch_one(&self.pool)
            .await?;
        get(&row, "last")
    }

    /// The id of the newest committed event `user` receives, 0 when there is none. Every event `user`
    /// receives that commits later has a larger id (see the module documentation), so a stream that starts
    /// "after" it misses nothing.
    pub async fn last_event_id_for(&self, user: UserId) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(event_id), 0) AS last FROM event_recipients WHERE recipient = $1",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await?;
        get(&row, "last")
    }
}
