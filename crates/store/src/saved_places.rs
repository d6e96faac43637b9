//! Saved places: each account's home, work and labels of its own (`saved_places`).

use crate::columns::{get, latlng, timestamp};
use crate::{Backend, Store, StoreError};
use doorstep_domain::UserId;
use doorstep_domain::saved_place::{LabelKind, PlaceLabel, SavedPlace, sort_places};
use sqlx::any::AnyRow;

/// What [`Store::put_saved_place`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutPlace {
    /// A new label.
    Created,
    /// The label existed: its place was replaced.
    Replaced,
    /// A new label of the account's own, but it already has the most it may keep: nothing written.
    Full,
}

fn place_from_row(row: &AnyRow) -> Result<SavedPlace, StoreError> {
    let text: String = get(row, "label")?;
    let label = PlaceLabel::parse(&text)
        .map_err(|e| StoreError::Corrupt(format!("saved place label {text:?}: {e}")))?;
    Ok(SavedPlace {
        label,
        point: latlng(row, "lat", "lng")?,
        name: get(row, "name")?,
        address: get(row, "address")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

impl Store {
    /// The places `user` keeps: home, work, then their own labels by key.
    pub async fn saved_places(&self, user: UserId) -> Result<Vec<SavedPlace>, StoreError> {
        let rows = sqlx::query(
            "SELECT label, lat, lng, name, address, updated_at FROM saved_places WHERE user_id = $1",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut places = rows
            .iter()
            .map(place_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        sort_places(&mut places);
        Ok(places)
    }

    /// Saves `place` for `user` under its label, replacing what the label held (the label's spelling
    /// too). A new label of the user's own is refused ([`PutPlace::Full`]) when the user already keeps
    /// `max_custom` of them; home and work do not count. One transaction, with the user's row locked on
    /// PostgreSQL (SQLite writers queue anyway), so two concurrent saves cannot both pass the count.
    pub async fn put_saved_place(
        &self,
        user: UserId,
        place: &SavedPlace,
        max_custom: usize,
    ) -> Result<PutPlace, StoreError> {
        let user_id = user.to_string();
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(&user_id)
                .execute(&mut *tx)
                .await?;
        }
        let updated = sqlx::query(
            "UPDATE saved_places SET label = $3, lat = $4, lng = $5, name = $6, address = $7, updated_at = $8 \
             WHERE user_id = $1 AND label_key = $2",
        )
        .bind(&user_id)
        .bind(place.label.key())
        .bind(place.label.as_str())
        .bind(place.point.lat())
        .bind(place.point.lng())
        .bind(place.name.as_str())
        .bind(place.address.as_str())
        .bind(place.updated_at.millis())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() > 0 {
            tx.commit().await?;
            return Ok(PutPlace::Replaced);
        }
        if place.label.kind() == LabelKind::Custom {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM saved_places WHERE user_id = $1 AND label_key <> 'home' AND label_key <> 'work'",
            )
            .bind(&user_id)
            .fetch_one(&mut *tx)
            .await?;
            let n: i64 = get(&row, "n")?;
            if usize::try_from(n).unwrap_or(usize::MAX) >= max_custom {
                return Ok(PutPlace::Full);
            }
        }
        sqlx::query(
            "INSERT INTO saved_places (user_id, label_key, label, lat, lng, name, address, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&user_id)
        .bind(place.label.key())
        .bind(place.label.as_str())
        .bind(place.point.lat())
        .bind(place.point.lng())
        .bind(place.name.as_str())
        .bind(place.address.as_str())
        .bind(place.updated_at.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PutPlace::Created)
    }

    /// Deletes the place `user` keeps under the label with `key`; whether there was one.
    pub async fn delete_saved_place(&self, user: UserId, key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM saved_places WHERE user_id = $1 AND label_key = $2")
            .bind(user.to_string())
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
