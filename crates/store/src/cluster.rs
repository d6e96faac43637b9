//! What several nodes on one record need from it: the fencing epoch of each city's dispatcher, and the
//! odometers of jobs on workers' routes (migration 0018).
//!
//! The lease that says which node owns a city lives in NATS JetStream KV, with a time to live; the record
//! cannot rely on it alone, since a node paused past its lease (a long GC-like stall, SIGSTOP, a
//! partition) wakes up still believing it owns the city. So the node that wins a lease takes the city's
//! next epoch here ([`Store::take_city`]), and hands its dispatcher a [`Store::fenced`] store: every write
//! transaction of a fenced store starts with `SELECT epoch FROM city_fences WHERE city = $1 AND epoch = $2
//! FOR SHARE`, which matches no row once a newer owner took the epoch (the write is refused with
//! [`StoreError::Fenced`] and nothing of it is written), and which otherwise holds the city's row shared
//! until the write commits. Fenced writes of one owner run side by side (shared locks do not conflict),
//! while a takeover's update of the row waits for every write already under way instead of racing it;
//! a fenced write that starts while a takeover waits or after it sees the new epoch (PostgreSQL
//! re-reads a row updated meanwhile) and is refused. (SQLite, never clustered, has one writer at a time
//! and takes the row with a no-op update instead.)

use crate::columns::{get, id};
use crate::{Store, StoreError};
use doorstep_domain::{JobId, Timestamp};
use doorstep_geo::LatLng;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

/// The city and epoch a fenced store writes under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The city (its lease key).
    pub city: String,
    /// The epoch taken with the lease.
    pub epoch: i64,
}

/// A job's odometer as kept for a takeover.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Odometer {
    /// The job.
    pub job: JobId,
    /// Metres driven on it so far.
    pub metres: f64,
    /// The last point measured to.
    pub at_point: LatLng,
    /// When the worker was there.
    pub at: Timestamp,
}

impl Store {
    /// Takes the next epoch of `city` for `owner` (a node id): 1 for a city never taken. Every write of
    /// a store [`fenced`](Store::fenced) with an older epoch is refused from now on; a write of one
    /// already under way finishes first (the update waits for its row lock).
    pub async fn take_city(
        &self,
        city: &str,
        owner: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_unfenced_write().await?;
        let row = sqlx::query(
            "INSERT INTO city_fences (city, epoch, owner, taken_at) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (city) DO UPDATE SET epoch = city_fences.epoch + 1, owner = excluded.owner, \
             taken_at = excluded.taken_at RETURNING epoch",
        )
        .bind(city)
        .bind(owner)
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        let epoch: i64 = get(&row, "epoch")?;
        tx.commit().await?;
        Ok(epoch)
    }

    /// The city's current epoch and the node that took it, if it was ever taken.
    pub async fn city_fence(&self, city: &str) -> Result<Option<(i64, String)>, StoreError> {
        let row = sqlx::query("SELECT epoch, owner FROM city_fences WHERE city = $1")
            .bind(city)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((get(&r, "epoch")?, get(&r, "owner")?)))
            .transpose()
    }

    /// This store, with every write transaction checked against `fence` first (see the module).
    /// Reads are not fenced.
    pub fn fenced(&self, fence: Fence) -> Store {
        Store {
            pool: self.pool.clone(),
            backend: self.backend,
            fence: Some(std::sync::Arc::new(fence)),
        }
    }

    /// The fence this store writes under, if any.
    pub fn fence(&self) -> Option<&Fence> {
        self.fence.as_deref()
    }

    /// Checks the store's fence inside `tx`, the first statement of a write transaction.
    pub(crate) async fn check_fence(
        &self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), StoreError> {
        let Some(fence) = self.fence.as_deref() else {
            return Ok(());
        };
        let held = match self.backend {
            crate::Backend::Postgres => sqlx::query(
                "SELECT epoch FROM city_fences WHERE city = $1 AND epoch = $2 FOR SHARE",
            )
            .bind(&fence.city)
            .bind(fence.epoch)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
            crate::Backend::Sqlite => {
                sqlx::query("UPDATE city_fences SET epoch = epoch WHERE city = $1 AND epoch = $2")
                    .bind(&fence.city)
                    .bind(fence.epoch)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                    == 1
            }
        };
        if held {
            Ok(())
        } else {
            Err(StoreError::Fenced {
                city: fence.city.clone(),
                epoch: fence.epoch,
            })
        }
    }

    /// Saves the odometers of jobs on routes (one row per job, the newest measure kept).
    pub async fn save_odometers(
        &self,
        odometers: &[Odometer],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if odometers.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for o in odometers {
            sqlx::query(
                "INSERT INTO job_odometers (job_id, metres, lat, lng, at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (job_id) DO UPDATE SET metres = excluded.metres, lat = excluded.lat, \
                 lng = excluded.lng, at = excluded.at, updated_at = excluded.updated_at \
                 WHERE job_odometers.at <= excluded.at",
            )
            .bind(o.job.to_string())
            .bind(o.metres)
            .bind(o.at_point.lat())
            .bind(o.at_point.lng())
            .bind(o.at.millis())
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The kept odometers of jobs not ended (assigned or under way).
    pub async fn open_odometers(&self) -> Result<Vec<Odometer>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.job_id, o.metres, o.lat, o.lng, o.at FROM job_odometers o \
             JOIN jobs j ON j.id = o.job_id WHERE j.state IN ('assigned', 'in_progress')",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(odometer_of).collect()
    }

    /// The kept odometer of `job`, if one was saved.
    pub async fn odometer(&self, job: JobId) -> Result<Option<Odometer>, StoreError> {
        let row =
            sqlx::query("SELECT job_id, metres, lat, lng, at FROM job_odometers WHERE job_id = $1")
                .bind(job.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(odometer_of).transpose()
    }
}

fn odometer_of(r: &AnyRow) -> Result<Odometer, StoreError> {
    Ok(Odometer {
        job: id(r, "job_id")?,
        metres: get(r, "metres")?,
        at_point: crate::columns::latlng(r, "lat", "lng")?,
        at: crate::columns::timestamp(r, "at")?,
    })
}
