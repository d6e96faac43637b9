//! Connected devices (migration 0019): vehicle trackers that report their worker's positions over MQTT.
//!
//! A device's token authenticates every message it publishes, so the store never sees it: the app hands
//! over its SHA-256 (hex). Every operator write (create, bind, unbind, rotate) is written with its audit
//! entry in one transaction ([`crate::console::insert_audit_in`]): a retried request under the same key
//! finds its entry and writes nothing ([`StoreError::AuditKeyUsed`]).

use crate::columns::{get, id, opt_id, opt_timestamp, row_limit, timestamp};
use crate::console::insert_audit_in;
use crate::{Store, StoreError};
use doorstep_domain::audit::NewAuditEntry;
use doorstep_domain::ids::DeviceId;
use doorstep_domain::{Timestamp, UserId};
use sqlx::any::AnyRow;

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id: the `{device_id}` of its MQTT topic and its broker username.
    pub id: DeviceId,
    /// The city whose topics it publishes on (`manhattan`).
    pub city: String,
    /// The operator's name for it.
    pub label: String,
    /// The worker whose positions it reports, while bound.
    pub worker: Option<UserId>,
    /// Hex SHA-256 of its current token (the token itself is never stored).
    pub token_hash: String,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When its current token was issued.
    pub token_rotated_at: Timestamp,
    /// When it was bound to its worker, while bound.
    pub bound_at: Option<Timestamp>,
    /// When an operator last changed it.
    pub updated_at: Timestamp,
}

fn device_from_row(row: &AnyRow) -> Result<Device, StoreError> {
    Ok(Device {
        id: id(row, "id")?,
        city: get(row, "city")?,
        label: get(row, "label")?,
        worker: opt_id(row, "worker_id")?,
        token_hash: get(row, "token_hash")?,
        created_at: timestamp(row, "created_at")?,
        token_rotated_at: timestamp(row, "token_rotated_at")?,
        bound_at: opt_timestamp(row, "bound_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

impl Store {
    /// Registers `device` with the operator's action, in one transaction ([`StoreError::AuditKeyUsed`]:
    /// nothing is written).
    pub async fn create_device_audited(
        &self,
        device: &Device,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        sqlx::query(
            "INSERT INTO devices (id, city, label, worker_id, token_hash, created_at, token_rotated_at, \
             bound_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(device.id.to_string())
        .bind(device.city.clone())
        .bind(device.label.clone())
        .bind(device.worker.map(|w| w.to_string()))
        .bind(device.token_hash.clone())
        .bind(device.created_at.millis())
        .bind(device.token_rotated_at.millis())
        .bind(device.bound_at.map(Timestamp::millis))
        .bind(device.updated_at.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Binds the device to `worker` (`None`: unbinds it) with the operator's action, in one
    /// transaction. [`StoreError::Conflict`] if there is no such device (nothing is written),
    /// [`StoreError::AuditKeyUsed`] for a retry.
    pub async fn bind_device_audited(
        &self,
        device: DeviceId,
        worker: Option<UserId>,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        let at = audit.at.millis();
        let done = sqlx::query(
            "UPDATE devices SET worker_id = $2, bound_at = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(device.to_string())
        .bind(worker.map(|w| w.to_string()))
        .bind(worker.map(|_| at))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the device's token digest with `token_hash` with the operator's action, in one
    /// transaction. [`StoreError::Conflict`] if there is no such device, [`StoreError::AuditKeyUsed`]
    /// for a retry.
    pub async fn rotate_device_token_audited(
        &self,
        device: DeviceId,
        token_hash: &str,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        let at = audit.at.millis();
        let done = sqlx::query(
            "UPDATE devices SET token_hash = $2, token_rotated_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(device.to_string())
        .bind(token_hash.to_owned())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        tx.commit().await?;
        Ok(())
    }

    /// One device.
    pub async fn device(&self, device: DeviceId) -> Result<Option<Device>, StoreError> {
        let row = sqlx::query(
            "SELECT id, city, label, worker_id, token_hash, created_at, token_rotated_at, bound_at, \
             updated_at FROM devices WHERE id = $1",
        )
        .bind(device.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// Up to `limit` devices by label (then id), those bound to `worker` only when given.
    pub async fn devices(
        &self,
        worker: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<Device>, StoreError> {
        let rows = match worker {
            Some(worker) => {
                sqlx::query(
                    "SELECT id, city, label, worker_id, token_hash, created_at, token_rotated_at, \
                     bound_at, updated_at FROM devices WHERE worker_id = $1 ORDER BY label, id LIMIT $2",
                )
                .bind(worker.to_string())
                .bind(row_limit(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, city, label, worker_id, token_hash, created_at, token_rotated_at, \
                     bound_at, updated_at FROM devices ORDER BY label, id LIMIT $1",
                )
                .bind(row_limit(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(device_from_row).collect()
    }
}
