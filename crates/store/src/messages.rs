//! Messages between the parties of a job (`job_messages`), each written together with its durable event
//! (`message_sent`) in one transaction, and drivers' vehicles (`workers.vehicle_*`).

use crate::columns::{get, id, named, timestamp};
use crate::events::{Recipient, append_events};
use crate::{Store, StoreError, StoredEvent};
use doorstep_domain::contact::{JobMessage, Sender, Vehicle};
use doorstep_domain::ride::RideEvent;
use doorstep_domain::{JobId, Timestamp, UserId};
use sqlx::any::AnyRow;

/// What sending a message did.
#[derive(Debug, Clone)]
pub enum Sent {
    /// Stored now, with its event.
    New(JobMessage, StoredEvent),
    /// The sender's idempotency key had sent this message before.
    Existing(JobMessage),
}

fn message_from_row(row: &AnyRow) -> Result<JobMessage, StoreError> {
    Ok(JobMessage {
        id: id(row, "id")?,
        job: id(row, "job_id")?,
        from: id(row, "sender_id")?,
        sender: named(row, "sender_role", Sender::parse)?,
        text: get(row, "body")?,
        at: timestamp(row, "at")?,
    })
}

const SELECT_MESSAGES: &str =
    "SELECT id, job_id, sender_id, sender_role, body, at FROM job_messages";

impl Store {
    /// Stores `message` and its event for `recipients` in one transaction; with an idempotency key the
    /// sender used before on this job, returns that message instead.
    pub async fn insert_job_message(
        &self,
        message: &JobMessage,
        idempotency_key: Option<&str>,
        recipients: &[Recipient],
    ) -> Result<Sent, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(key) = idempotency_key {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT_MESSAGES} WHERE job_id = $1 AND sender_id = $2 AND idempotency_key = $3"
            )))
            .bind(message.job.to_string())
            .bind(message.from.to_string())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                return Ok(Sent::Existing(message_from_row(&row)?));
            }
        }
        sqlx::query(
            "INSERT INTO job_messages (id, job_id, sender_id, sender_role, body, idempotency_key, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(message.id.to_string())
        .bind(message.job.to_string())
        .bind(message.from.to_string())
        .bind(message.sender.as_str())
        .bind(&message.text)
        .bind(idempotency_key)
        .bind(message.at.millis())
        .execute(&mut *tx)
        .await?;
        let event = RideEvent::MessageSent {
            message_id: message.id,
            from: message.from,
            sender: message.sender,
            text: message.text.clone(),
        };
        let mut stored = append_events(
            &mut tx,
            self.backend,
            message.job,
            &[(event.into(), recipients.to_vec())],
            message.at,
        )
        .await?;
        tx.commit().await?;
        let stored = stored
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a message without its event".to_owned()))?;
        Ok(Sent::New(message.clone(), stored))
    }

    /// The messages of a job, oldest first.
    pub async fn messages_of_job(&self, job: JobId) -> Result<Vec<JobMessage>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_MESSAGES} WHERE job_id = $1 ORDER BY at, id"
        )))
        .bind(job.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    /// Registers (or replaces) `driver`'s vehicle, creating its worker row (offline) if it has none.
    pub async fn set_vehicle(
        &self,
        driver: UserId,
        vehicle: &Vehicle,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workers (user_id, online, updated_at, vehicle, capacity, skills, vehicle_make, \
             vehicle_model, vehicle_colour, vehicle_plate) VALUES ($1, 0, $2, 'car', 1, '[]', $3, $4, $5, $6) \
             ON CONFLICT (user_id) DO UPDATE SET vehicle_make = excluded.vehicle_make, \
             vehicle_model = excluded.vehicle_model, vehicle_colour = excluded.vehicle_colour, \
             vehicle_plate = excluded.vehicle_plate, updated_at = excluded.updated_at",
        )
        .bind(driver.to_string())
        .bind(now.millis())
        .bind(&vehicle.make)
        .bind(&vehicle.model)
        .bind(&vehicle.colour)
        .bind(&vehicle.plate)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `driver`'s registered vehicle, if any.
    pub async fn vehicle(&self, driver: UserId) -> Result<Option<Vehicle>, StoreError> {
        let row = sqlx::query(
            "SELECT vehicle_make, vehicle_model, vehicle_colour, vehicle_plate FROM workers \
             WHERE user_id = $1 AND vehicle_plate IS NOT NULL",
        )
        .bind(driver.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Vehicle {
                make: get(&row, "vehicle_make")?,
                model: get(&row, "vehicle_model")?,
                colour: get(&row, "vehicle_colour")?,
                plate: get(&row, "vehicle_plate")?,
            })
        })
        .transpose()
    }
}
