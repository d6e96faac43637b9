//! The record of workers (drivers, couriers, providers): their capabilities, whether they are online and
//! where they were last seen. The hot state lives in the dispatcher's memory; this is what it rebuilds
//! from after a restart. A driver is a worker with [`Capabilities::driver`]: the calls named for drivers
//! create a worker row with those capabilities the first time they see one.

use crate::columns::{get, id, json, opt_named, opt_timestamp, to_json};
use crate::{Store, StoreError};
use doorstep_domain::worker::{Capabilities, VehicleKind};
use doorstep_domain::{Timestamp, UserId};
use doorstep_geo::LatLng;
use std::collections::BTreeMap;

/// A driver's capabilities as stored ([`Capabilities::driver`]: a car, room for one ride, no skills);
/// constants, so they may be written into a statement. A test checks they read back as the domain's.
struct StoredCapabilities {
    vehicle: &'static str,
    capacity: i64,
    skills: &'static str,
}

const DRIVER: StoredCapabilities = StoredCapabilities {
    vehicle: "car",
    capacity: 1,
    skills: "[]",
};

/// Positions written per statement: 4 parameters each, far below both backends' parameter limits.
const POSITIONS_PER_STATEMENT: usize = 250;

impl Store {
    /// Records that `driver` went online or offline at `now`.
    pub async fn set_driver_online(
        &self,
        driver: UserId,
        online: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workers (user_id, online, updated_at, vehicle, capacity, skills) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id) DO UPDATE SET online = excluded.online, updated_at = excluded.updated_at",
        )
        .bind(driver.to_string())
        .bind(i64::from(online))
        .bind(now.millis())
        .bind(DRIVER.vehicle)
        .bind(DRIVER.capacity)
        .bind(DRIVER.skills)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Upserts the last known position of each driver in `batch`, in one transaction. A position older
    /// than the one stored is ignored, so batches may arrive out of order; within a batch the newest
    /// position of each driver wins.
    pub async fn save_driver_positions(
        &self,
        batch: &[(UserId, LatLng, Timestamp)],
    ) -> Result<(), StoreError> {
        // One row per driver: PostgreSQL refuses an upsert that touches a row twice.
        let mut newest: BTreeMap<UserId, (LatLng, Timestamp)> = BTreeMap::new();
        for &(driver, position, at) in batch {
            match newest.get(&driver) {
                Some(&(_, seen)) if seen > at => {}
                _ => {
                    newest.insert(driver, (position, at));
                }
            }
        }
        if newest.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = newest.into_iter().collect();
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(POSITIONS_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = 4 * i;
                    format!(
                        "(${}, 0, ${}, ${}, ${}, ${}, '{}', {}, '{}')",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 4,
                        DRIVER.vehicle,
                        DRIVER.capacity,
                        DRIVER.skills
                    )
                })
                .collect();
            // Only placeholders are formatted into the statement; every value is bound.
            let sql = format!(
                "INSERT INTO workers (user_id, online, lat, lng, position_at, updated_at, vehicle, capacity, skills) \
                 VALUES {} ON CONFLICT (user_id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng, \
                 position_at = excluded.position_at, updated_at = excluded.updated_at \
                 WHERE workers.position_at IS NULL OR workers.position_at <= excluded.position_at",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (driver, (position, at)) in chunk {
                query = query
                    .bind(driver.to_string())
                    .bind(position.lat())
                    .bind(position.lng())
                    .bind(at.millis());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The drivers recorded as online, with their last known position and its time if any, by id.
    pub async fn online_drivers(
        &self,
    ) -> Result<Vec<(UserId, Option<(LatLng, Timestamp)>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, lat, lng, position_at FROM workers WHERE online = 1 ORDER BY user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let driver: UserId = id(row, "user_id")?;
                let lat: Option<f64> = get(row, "lat")?;
                let lng: Option<f64> = get(row, "lng")?;
                let position = match (lat, lng, opt_timestamp(row, "position_at")?) {
                    (Some(lat), Some(lng), Some(at)) => Some((
                        LatLng::new(lat, lng)
                            .map_err(|e| StoreError::Corrupt(format!("driver {driver}: {e}")))?,
                        at,
                    )),
                    _ => None,
                };
                Ok((driver, position))
            })
            .collect()
    }

    /// Records what `worker` can do (a courier's bicycle and bags, a provider's skills), creating its
    /// worker row (offline) if it has none.
    pub async fn set_worker_capabilities(
        &self,
        worker: UserId,
        capabilities: &Capabilities,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let skills = to_json(&capabilities.skills, "skills")?;
        sqlx::query(
            "INSERT INTO workers (user_id, online, updated_at, vehicle, capacity, skills) VALUES ($1, 0, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET vehicle = excluded.vehicle, capacity = excluded.capacity, \
             skills = excluded.skills, updated_at = excluded.updated_at",
        )
        .bind(worker.to_string())
        .bind(now.millis())
        .bind(capabilities.vehicle.map(VehicleKind::as_str))
        .bind(i64::from(capabilities.capacity))
        .bind(skills)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What `worker` can do, if it has a worker row.
    pub async fn worker_capabilities(
        &self,
        worker: UserId,
    ) -> Result<Option<Capabilities>, StoreError> {
        let row = sqlx::query("SELECT vehicle, capacity, skills FROM workers WHERE user_id = $1")
            .bind(worker.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let capacity: i64 = get(&row, "capacity")?;
        Ok(Some(Capabilities {
            vehicle: opt_named(&row, "vehicle", VehicleKind::parse)?,
            capacity: u32::try_from(capacity)
                .map_err(|_| StoreError::Corrupt(format!("capacity: {capacity} is not a u32")))?,
            skills: json(&row, "skills")?,
        }))
    }
}
