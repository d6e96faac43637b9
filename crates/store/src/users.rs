//! Users, their sessions, and the quotes given to them.

use crate::columns::{get, id, json, latlng, named, timestamp, to_json};
use crate::{Store, StoreError};
use doorstep_domain::quote::Quote;
use doorstep_domain::{Email, QuoteId, Role, Timestamp, User, UserId};
use sqlx::any::AnyRow;

/// Builds a user from the columns `id, email, name, role, created_at`.
pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let email: String = get(row, "email")?;
    Ok(User {
        id: id(row, "id")?,
        email: Email::from_stored(email),
        name: get(row, "name")?,
        role: named(row, "role", Role::parse)?,
        created_at: timestamp(row, "created_at")?,
    })
}

fn quote_from_row(row: &AnyRow) -> Result<Quote, StoreError> {
    Ok(Quote {
        id: id(row, "id")?,
        rider: id(row, "rider_id")?,
        pickup: latlng(row, "pickup_lat", "pickup_lng")?,
        dropoff: latlng(row, "dropoff_lat", "dropoff_lng")?,
        fare: json(row, "fare")?,
        created_at: timestamp(row, "created_at")?,
        expires_at: timestamp(row, "expires_at")?,
    })
}

impl Store {
    /// Adds a user with the hash of their password. [`StoreError::EmailTaken`] if another user has the
    /// e-mail address.
    pub async fn insert_user(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(user.role.as_str())
        .bind(password_hash)
        .bind(user.created_at.millis())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from);
        match inserted {
            Ok(_) => Ok(()),
            // The id is unique too: only call it a taken e-mail when the e-mail is what collided.
            Err(e)
                if e.is_unique_violation() && self.user_by_email(&user.email).await?.is_some() =>
            {
                Err(StoreError::EmailTaken)
            }
            Err(e) => Err(e),
        }
    }

    /// The user with this e-mail address and their password hash.
    pub async fn user_by_email(&self, email: &Email) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, name, role, created_at, password_hash FROM users WHERE email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, get(&row, "password_hash")?)))
            .transpose()
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, email, name, role, created_at FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// How many users have `role` (used, for one, to create the first admin only once).
    pub async fn count_users_with_role(&self, role: Role) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = $1")
            .bind(role.as_str())
            .fetch_one(&self.pool)
            .await?;
        get(&row, "n")
    }

    /// Records a session. The caller keeps the bearer token; the store sees only its SHA-256 in hex.
    pub async fn insert_session(
        &self,
        token_sha256_hex: &str,
        user: UserId,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_sha256, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_sha256_hex)
            .bind(user.to_string())
            .bind(created_at.millis())
            .bind(expires_at.millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user of a session that exists and has not expired at `now` (a session is valid while
    /// `now < expires_at`).
    pub async fn session_user(
        &self,
        token_sha256_hex: &str,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_sha256 = $1 AND s.expires_at > $2",
        )
        .bind(token_sha256_hex)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Ends a session (logout). Deleting a session that does not exist is not an error.
    pub async fn delete_session(&self, token_sha256_hex: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(token_sha256_hex)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes the sessions expired at `now`; returns how many went.
    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records a quote given to a rider.
    pub async fn insert_quote(&self, q: &Quote) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO quotes (id, rider_id, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng, fare, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(q.id.to_string())
        .bind(q.rider.to_string())
        .bind(q.pickup.lat())
        .bind(q.pickup.lng())
        .bind(q.dropoff.lat())
        .bind(q.dropoff.lng())
        .bind(to_json(&q.fare, "fare")?)
        .bind(q.created_at.millis())
        .bind(q.expires_at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The quote with this id.
    pub async fn quote(&self, id: QuoteId) -> Result<Option<Quote>, StoreError> {
        let row = sqlx::query(
            "SELECT id, rider_id, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng, fare, created_at, expires_at \
             FROM quotes WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(quote_from_row).transpose()
    }

    /// Deletes the quotes that expired at or before `before` and never became a ride (a ride keeps its
    /// quote); returns how many.
    pub async fn delete_expired_unused_quotes(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM quotes WHERE expires_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM rides r WHERE r.quote_id = quotes.id)",
        )
        .bind(before.millis())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
