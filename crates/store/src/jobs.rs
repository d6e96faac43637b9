//! Jobs of every kind (`jobs`, `job_stops`, `job_workers`): the one record of fulfilment that rides, and
//! later food orders and house calls, sit on. A service table (`rides`) holds only what is the service's
//! own and shares its job's id.
//!
//! A job is written whole: its row, then each stop's row, inside the caller's transaction, so a job and
//! its stops never disagree. The job's `version` is the optimistic-concurrency check of every change: an
//! update applies only where the stored version is the one the change was computed from.
//!
//! Not stored here: the pending offer (the `offers` table is its record; [`Job::pending_offer`] is left
//! `None` on reads).

use crate::columns::{get, id, json, latlng, named, opt_id, opt_millis, opt_money, opt_named};
use crate::columns::{opt_timestamp, opt_u32_col, timestamp, to_json};
use crate::{Store, StoreError};
use doorstep_domain::code::VerificationCode;
use doorstep_domain::job::{
    Canceller, Job, JobKind, JobState, Stop, StopCompletion, StopKind, StopState, TimeWindow,
    UnfulfilledReason,
};
use doorstep_domain::{JobId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// The columns [`job_from_row`] reads from `jobs j`, as one literal for `concat!`.
macro_rules! job_columns {
    () => {
        "j.id, j.kind, j.customer_id, j.merchant_id, j.state, j.worker_id, j.requirements, j.load_units, \
         j.excluded_workers, j.eta_s, j.opened_at, j.assigned_at, j.ended_at, j.cancelled_by, \
         j.cancel_fee_minor, j.cancel_fee_currency, j.unfulfilled_reason, j.version"
    };
}
pub(crate) use job_columns;

/// The columns of a stop row aliased `$t` (`$t.kind AS $t_kind, ...`), as one literal for `concat!`;
/// [`stop_from_row`] reads them with the prefix `"$t_"`.
macro_rules! stop_columns {
    ($t:ident) => {
        concat!(
            stringify!($t),
            ".job_id AS ",
            stringify!($t),
            "_job_id, ",
            stringify!($t),
            ".kind AS ",
            stringify!($t),
            "_kind, ",
            stringify!($t),
            ".lat AS ",
            stringify!($t),
            "_lat, ",
            stringify!($t),
            ".lng AS ",
            stringify!($t),
            "_lng, ",
            stringify!($t),
            ".window_earliest AS ",
            stringify!($t),
            "_window_earliest, ",
            stringify!($t),
            ".window_latest AS ",
            stringify!($t),
            "_window_latest, ",
            stringify!($t),
            ".service_s AS ",
            stringify!($t),
            "_service_s, ",
            stringify!($t),
            ".proof AS ",
            stringify!($t),
            "_proof, ",
            stringify!($t),
            ".proof_failed_attempts AS ",
            stringify!($t),
            "_proof_failed_attempts, ",
            stringify!($t),
            ".state AS ",
            stringify!($t),
            "_state, ",
            stringify!($t),
            ".arrived_at AS ",
            stringify!($t),
            "_arrived_at, ",
            stringify!($t),
            ".completed_at AS ",
            stringify!($t),
            "_completed_at, ",
            stringify!($t),
            ".completed_distance_m AS ",
            stringify!($t),
            "_completed_distance_m, ",
            stringify!($t),
            ".completed_early AS ",
            stringify!($t),
            "_completed_early"
        )
    };
}
pub(crate) use stop_columns;

fn parse_canceller(s: &str) -> Option<Canceller> {
    [
        Canceller::Customer,
        Canceller::Merchant,
        Canceller::Operator,
    ]
    .into_iter()
    .find(|c| c.as_str() == s)
}

fn parse_unfulfilled(s: &str) -> Option<UnfulfilledReason> {
    UnfulfilledReason::ALL.into_iter().find(|r| r.as_str() == s)
}

fn parse_stop_kind(s: &str) -> Option<StopKind> {
    [StopKind::Pickup, StopKind::Dropoff, StopKind::Service]
        .into_iter()
        .find(|k| k.as_str() == s)
}

/// A job read from its row, with `stops` (already in order) as its stops.
pub(crate) fn job_from_row(row: &AnyRow, stops: Vec<Stop>) -> Result<Job, StoreError> {
    let load: i64 = get(row, "load_units")?;
    Ok(Job {
        id: id(row, "id")?,
        kind: named(row, "kind", JobKind::parse)?,
        customer: id(row, "customer_id")?,
        merchant: opt_id(row, "merchant_id")?,
        stops,
        state: named(row, "state", JobState::parse)?,
        worker: opt_id(row, "worker_id")?,
        requirements: json(row, "requirements")?,
        load: u32::try_from(load)
            .map_err(|_| StoreError::Corrupt(format!("load_units: {load} is not a u32")))?,
        pending_offer: None,
        excluded_workers: json(row, "excluded_workers")?,
        eta_s: opt_u32_col(row, "eta_s")?,
        opened_at: timestamp(row, "opened_at")?,
        assigned_at: opt_timestamp(row, "assigned_at")?,
        ended_at: opt_timestamp(row, "ended_at")?,
        cancelled_by: opt_named(row, "cancelled_by", parse_canceller)?,
        cancel_fee: opt_money(row, "cancel_fee_minor", "cancel_fee_currency")?,
        unfulfilled_reason: opt_named(row, "unfulfilled_reason", parse_unfulfilled)?,
        version: get(row, "version")?,
    })
}

/// One stop read from columns named by [`stop_columns!`] with `prefix` (`"p_"` for `stop_columns!(p)`).
pub(crate) fn stop_from_row(row: &AnyRow, prefix: &str) -> Result<Stop, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    let proof: Option<String> = get(row, &col("proof"))?;
    let failed: i64 = get(row, &col("proof_failed_attempts"))?;
    let failed = u8::try_from(failed)
        .map_err(|_| StoreError::Corrupt(format!("proof_failed_attempts: {failed} is not a u8")))?;
    let proof = proof
        .map(|code| VerificationCode::restore(&code, failed))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("proof: {e}")))?;
    let window = TimeWindow::new(
        timestamp(row, &col("window_earliest"))?,
        timestamp(row, &col("window_latest"))?,
    )
    .map_err(|e| StoreError::Corrupt(format!("stop window: {e}")))?;
    let service_s = opt_u32_col(row, &col("service_s"))?
        .ok_or_else(|| StoreError::Corrupt("service_s is NULL".to_owned()))?;
    let completion = match opt_timestamp(row, &col("completed_at"))? {
        None => None,
        Some(at) => {
            let early: Option<i64> = get(row, &col("completed_early"))?;
            Some(StopCompletion {
                at,
                distance_m: opt_u32_col(row, &col("completed_distance_m"))?,
                early_end: early.unwrap_or(0) != 0,
            })
        }
    };
    Ok(Stop {
        kind: named(row, &col("kind"), parse_stop_kind)?,
        place: latlng(row, &col("lat"), &col("lng"))?,
        window,
        service_s,
        proof,
        state: named(row, &col("state"), StopState::parse)?,
        arrived_at: opt_timestamp(row, &col("arrived_at"))?,
        completion,
    })
}

/// The columns of a job that change after creation, encoded before any statement runs so that an
/// encoding failure never leaves a transaction half done.
struct JobColumns {
    state: &'static str,
    worker: Option<String>,
    excluded_workers: String,
    eta_s: Option<i64>,
    assigned_at: Option<i64>,
    ended_at: Option<i64>,
    cancelled_by: Option<&'static str>,
    cancel_fee_minor: Option<i64>,
    cancel_fee_currency: Option<String>,
    unfulfilled_reason: Option<&'static str>,
    version: i64,
}

impl JobColumns {
    fn of(job: &Job) -> Result<JobColumns, StoreError> {
        Ok(JobColumns {
            state: job.state.as_str(),
            worker: job.worker.map(|w| w.to_string()),
            excluded_workers: to_json(&job.excluded_workers, "excluded workers")?,
            eta_s: job.eta_s.map(i64::from),
            assigned_at: opt_millis(job.assigned_at),
            ended_at: opt_millis(job.ended_at),
            cancelled_by: job.cancelled_by.map(Canceller::as_str),
            cancel_fee_minor: job.cancel_fee.map(|m| m.minor),
            cancel_fee_currency: job.cancel_fee.map(|m| m.currency.as_str().to_owned()),
            unfulfilled_reason: job.unfulfilled_reason.map(UnfulfilledReason::as_str),
            version: job.version,
        })
    }

    /// Binds the columns in their statement order: state, worker_id, excluded_workers, eta_s,
    /// assigned_at, ended_at, cancelled_by, cancel_fee_minor, cancel_fee_currency, unfulfilled_reason,
    /// version.
    fn bind_to<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(self.state)
            .bind(self.worker)
            .bind(self.excluded_workers)
            .bind(self.eta_s)
            .bind(self.assigned_at)
            .bind(self.ended_at)
            .bind(self.cancelled_by)
            .bind(self.cancel_fee_minor)
            .bind(self.cancel_fee_currency)
            .bind(self.unfulfilled_reason)
            .bind(self.version)
    }
}

/// A statement on the `Any` driver with its arguments.
pub(crate) type AnyQuery<'q> =
    sqlx::query::Query<'q, sqlx::Any, <sqlx::Any as sqlx::Database>::Arguments>;

/// Writes every stop of `job` (inserting the rows the first time, replacing them after).
async fn write_stops(conn: &mut AnyConnection, job: &Job) -> Result<(), StoreError> {
    for (index, stop) in job.stops.iter().enumerate() {
        let index = i64::try_from(index).map_err(|_| StoreError::Corrupt("stop index".into()))?;
        sqlx::query(
            "INSERT INTO job_stops (job_id, stop_index, kind, lat, lng, window_earliest, window_latest, service_s, \
             proof, proof_failed_attempts, state, arrived_at, completed_at, completed_distance_m, completed_early) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (job_id, stop_index) DO UPDATE SET window_earliest = excluded.window_earliest, \
             window_latest = excluded.window_latest, proof = excluded.proof, \
             proof_failed_attempts = excluded.proof_failed_attempts, state = excluded.state, \
             arrived_at = excluded.arrived_at, completed_at = excluded.completed_at, \
             completed_distance_m = excluded.completed_distance_m, completed_early = excluded.completed_early",
        )
        .bind(job.id.to_string())
        .bind(index)
        .bind(stop.kind.as_str())
        .bind(stop.place.lat())
        .bind(stop.place.lng())
        .bind(stop.window.earliest().millis())
        .bind(stop.window.latest().millis())
        .bind(i64::from(stop.service_s))
        .bind(stop.proof.as_ref().map(|p| p.as_str().to_owned()))
        .bind(i64::from(stop.proof.as_ref().map_or(0, VerificationCode::failed_attempts)))
        .bind(stop.state.as_str())
        .bind(opt_millis(stop.arrived_at))
        .bind(opt_millis(stop.completion.map(|c| c.at)))
        .bind(stop.completion.and_then(|c| c.distance_m).map(i64::from))
        .bind(stop.completion.map(|c| i64::from(c.early_end)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Remembers that `worker` was assigned to `job` (kept when the worker later cancels).
async fn remember_worker(
    conn: &mut AnyConnection,
    job: JobId,
    worker: UserId,
    assigned_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO job_workers (job_id, worker_id, assigned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (job_id, worker_id) DO NOTHING",
    )
    .bind(job.to_string())
    .bind(worker.to_string())
    .bind(assigned_at.millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts a new job and its stops inside the caller's transaction.
pub(crate) async fn insert_job(
    conn: &mut AnyConnection,
    job: &Job,
    idempotency_key: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let m = JobColumns::of(job)?;
    let query = sqlx::query(
        "INSERT INTO jobs (id, kind, customer_id, merchant_id, requirements, load_units, opened_at, \
         idempotency_key, updated_at, state, worker_id, excluded_workers, eta_s, assigned_at, ended_at, \
         cancelled_by, cancel_fee_minor, cancel_fee_currency, unfulfilled_reason, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(job.id.to_string())
    .bind(job.kind.as_str())
    .bind(job.customer.to_string())
    .bind(job.merchant.map(|m| m.to_string()))
    .bind(to_json(&job.requirements, "requirements")?)
    .bind(i64::from(job.load))
    .bind(job.opened_at.millis())
    .bind(idempotency_key.map(str::to_owned))
    .bind(now.millis());
    m.bind_to(query).execute(&mut *conn).await?;
    write_stops(conn, job).await?;
    if let Some(worker) = job.worker {
        remember_worker(conn, job.id, worker, job.assigned_at.unwrap_or(now)).await?;
    }
    Ok(())
}

/// Updates a job and its stops where the stored version is `expected_version`, inside the caller's
/// transaction. `false` (and nothing written) when the stored job has another version.
pub(crate) async fn update_job(
    conn: &mut AnyConnection,
    job: &Job,
    expected_version: i64,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let m = JobColumns::of(job)?;
    let query = sqlx::query(
        "UPDATE jobs SET state = $3, worker_id = $4, excluded_workers = $5, eta_s = $6, assigned_at = $7, \
         ended_at = $8, cancelled_by = $9, cancel_fee_minor = $10, cancel_fee_currency = $11, \
         unfulfilled_reason = $12, version = $13, updated_at = $14 WHERE id = $1 AND version = $2",
    )
    .bind(job.id.to_string())
    .bind(expected_version);
    let updated = m
        .bind_to(query)
        .bind(at.millis())
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    write_stops(conn, job).await?;
    if let Some(worker) = job.worker {
        remember_worker(conn, job.id, worker, job.assigned_at.unwrap_or(at)).await?;
    }
    Ok(true)
}

impl Store {
    /// Stores a new job of any kind with its stops (a service's own create call also writes its record and
    /// the job's first event in the same transaction, as [`Store::create_ride`] does).
    pub async fn create_job(
        &self,
        job: &Job,
        idempotency_key: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_job(&mut tx, job, idempotency_key, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes `job` (its state, worker, stops, version) where the stored version is `expected_version`;
    /// [`StoreError::Conflict`] and nothing written otherwise.
    pub async fn save_job(
        &self,
        job: &Job,
        expected_version: i64,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !update_job(&mut tx, job, expected_version, at).await? {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        tx.commit().await?;
        Ok(())
    }

    /// The job with this id, of any kind, with its stops (read in one statement, so the job and its
    /// stops are one committed state).
    pub async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            ", ",
            stop_columns!(s),
            " FROM jobs j JOIN job_stops s ON s.job_id = j.id WHERE j.id = $1 ORDER BY s.stop_index"
        ))
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let stops = rows
            .iter()
            .map(|row| stop_from_row(row, "s_"))
            .collect::<Result<Vec<_>, _>>()?;
        job_from_row(first, stops).map(Some)
    }

    /// Every worker `job` was ever assigned to, in the order they were assigned.
    pub async fn workers_of_job(&self, job: JobId) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query(
            "SELECT worker_id FROM job_workers WHERE job_id = $1 ORDER BY assigned_at, worker_id",
        )
        .bind(job.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| id(row, "worker_id")).collect()
    }

    /// The rides and deliveries `worker` is assigned to and that have not ended, oldest first: what
    /// keeps the worker from a new offer ([`StoreError::WorkerBusy`]).
    pub async fn jobs_under_way_of(&self, worker: UserId) -> Result<Vec<JobId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM jobs WHERE worker_id = $1 AND ended_at IS NULL \
             AND kind IN ('ride', 'delivery') ORDER BY opened_at, id",
        )
        .bind(worker.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| id(row, "id")).collect()
    }
}
