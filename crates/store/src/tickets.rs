//! Single-use tickets of the WebSocket event stream, stored as SHA-256 digests.

use crate::columns::id;
use crate::{Store, StoreError};
use doorstep_domain::{Timestamp, User, UserId};

impl Store {
    /// Records a ticket of `user`, valid while `now < expires_at`. The caller keeps the ticket; the
    /// store sees only its SHA-256 in hex.
    pub async fn insert_ws_ticket(
        &self,
        digest_hex: &str,
        user: UserId,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ws_tickets (digest, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(digest_hex)
        .bind(user.to_string())
        .bind(created_at.millis())
        .bind(expires_at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Consumes a ticket: deletes it and returns its user if it existed and had not expired at `now`.
    /// One statement (`DELETE ... RETURNING`, SQLite ≥ 3.35 and PostgreSQL), so of two concurrent
    /// attempts with the same ticket at most one gets the user, on one node or many.
    pub async fn consume_ws_ticket(
        &self,
        digest_hex: &str,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM ws_tickets WHERE digest = $1 AND expires_at > $2 RETURNING user_id",
        )
        .bind(digest_hex)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => self.user_by_id(id(&row, "user_id")?).await,
            None => Ok(None),
        }
    }

    /// Deletes the tickets expired at `now`; returns how many went.
    pub async fn delete_expired_ws_tickets(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM ws_tickets WHERE expires_at <= $1")
            .bind(now.millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
