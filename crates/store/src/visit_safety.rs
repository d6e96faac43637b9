//! The provider's safety tools during a house call (migration 0017): share links for a trusted contact
//! (`visit_shares`) and SOS alerts (`sos_alerts`).
//!
//! A share link's token is a capability, so the store never sees it: the app hands over its SHA-256
//! (hex), which is the row's key, and looks a link up by the digest of the token presented. An alert is
//! written with its `booking_sos_raised` event in one transaction, and acknowledged with the operator's
//! audit entry and its `booking_sos_acknowledged` event in another: the acknowledgement moves an alert
//! only from open (`acknowledged_at IS NULL`), so two operators acknowledging at once get one winner.

use crate::columns::{get, id, opt_id, opt_timestamp, timestamp};
use crate::console::insert_audit_in;
use crate::events::{Recipient, StoredEvent, append_events};
use crate::{Store, StoreError};
use doorstep_domain::audit::NewAuditEntry;
use doorstep_domain::housecall::BookingEvent;
use doorstep_domain::ids::SosAlertId;
use doorstep_domain::{JobId, Timestamp, UserId};
use doorstep_geo::LatLng;
use sqlx::any::AnyRow;

/// A share link as stored (without its token, which the store never sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitShare {
    /// The booking it shows.
    pub booking: JobId,
    /// The provider who made it.
    pub provider: UserId,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When the provider revoked it, if they did.
    pub revoked_at: Option<Timestamp>,
}

impl VisitShare {
    /// Whether it still works at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// An SOS alert.
#[derive(Debug, Clone, PartialEq)]
pub struct SosAlert {
    /// Its id.
    pub id: SosAlertId,
    /// The visit.
    pub booking: JobId,
    /// The provider who raised it.
    pub provider: UserId,
    /// Where the provider was and when that position was reported, if the server knew.
    pub position: Option<(LatLng, Timestamp)>,
    /// What the provider wrote ("" when nothing).
    pub note: String,
    /// When it was raised.
    pub raised_at: Timestamp,
    /// The operator who acknowledged it, once one did.
    pub acknowledged_by: Option<UserId>,
    /// When.
    pub acknowledged_at: Option<Timestamp>,
}

fn share_from_row(row: &AnyRow) -> Result<VisitShare, StoreError> {
    Ok(VisitShare {
        booking: id(row, "booking_id")?,
        provider: id(row, "provider_id")?,
        created_at: timestamp(row, "created_at")?,
        expires_at: timestamp(row, "expires_at")?,
        revoked_at: opt_timestamp(row, "revoked_at")?,
    })
}

fn alert_from_row(row: &AnyRow) -> Result<SosAlert, StoreError> {
    let alert: SosAlertId = id(row, "id")?;
    let lat: Option<f64> = get(row, "lat")?;
    let lng: Option<f64> = get(row, "lng")?;
    let at = opt_timestamp(row, "position_at")?;
    let position = match (lat, lng, at) {
        (Some(lat), Some(lng), Some(at)) => Some((
            LatLng::new(lat, lng)
                .map_err(|e| StoreError::Corrupt(format!("sos alert {alert}: {e}")))?,
            at,
        )),
        _ => None,
    };
    Ok(SosAlert {
        id: alert,
        booking: id(row, "booking_id")?,
        provider: id(row, "provider_id")?,
        position,
        note: get(row, "note")?,
        raised_at: timestamp(row, "raised_at")?,
        acknowledged_by: opt_id(row, "acknowledged_by")?,
        acknowledged_at: opt_timestamp(row, "acknowledged_at")?,
    })
}

/// `SELECT`s the columns [`alert_from_row`] reads from `sos_alerts`, followed by the rest of the statement.
macro_rules! select_alerts {
    ($rest:literal) => {
        concat!(
            "SELECT id, booking_id, provider_id, lat, lng, position_at, note, raised_at, \
             acknowledged_by, acknowledged_at FROM sos_alerts ",
            $rest
        )
    };
}

impl Store {
    /// Records a share link under the SHA-256 of its token (hex).
    pub async fn create_visit_share(
        &self,
        token_hash: &str,
        share: &VisitShare,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO visit_shares (token_hash, booking_id, provider_id, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(token_hash)
        .bind(share.booking.to_string())
        .bind(share.provider.to_string())
        .bind(share.created_at.millis())
        .bind(share.expires_at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The share link whose token has this SHA-256 (hex), live or not.
    pub async fn visit_share(&self, token_hash: &str) -> Result<Option<VisitShare>, StoreError> {
        let row = sqlx::query(
            "SELECT booking_id, provider_id, created_at, expires_at, revoked_at FROM visit_shares \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(share_from_row).transpose()
    }

    /// Revokes every link of a booking still live at `now`; how many.
    pub async fn revoke_visit_shares(
        &self,
        booking: JobId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE visit_shares SET revoked_at = $2 \
             WHERE booking_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(booking.to_string())
        .bind(now.millis())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Records an alert with its event, in one transaction.
    pub async fn raise_sos(
        &self,
        alert: &SosAlert,
        event: &(BookingEvent, Vec<Recipient>),
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sos_alerts (id, booking_id, provider_id, lat, lng, position_at, note, raised_at, \
             acknowledged_by, acknowledged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        )
        .bind(alert.id.to_string())
        .bind(alert.booking.to_string())
        .bind(alert.provider.to_string())
        .bind(alert.position.map(|(p, _)| p.lat()))
        .bind(alert.position.map(|(p, _)| p.lng()))
        .bind(alert.position.map(|(_, at)| at.millis()))
        .bind(&alert.note)
        .bind(alert.raised_at.millis())
        .execute(&mut *tx)
        .await?;
        let events = [(event.0.clone().into(), event.1.clone())];
        let stored = append_events(
            &mut tx,
            self.backend,
            alert.booking,
            &events,
            alert.raised_at,
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// An alert.
    pub async fn sos_alert(&self, alert: SosAlertId) -> Result<Option<SosAlert>, StoreError> {
        let row = sqlx::query(select_alerts!("WHERE id = $1"))
            .bind(alert.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    /// Every open alert, oldest first, then the latest acknowledged ones, newest first; at most `limit`
    /// in all.
    pub async fn sos_alerts(&self, limit: i64) -> Result<Vec<SosAlert>, StoreError> {
        let limit = crate::columns::row_limit(limit);
        let open = sqlx::query(select_alerts!(
            "WHERE acknowledged_at IS NULL ORDER BY raised_at, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let rest = limit - i64::try_from(open.len()).unwrap_or(limit);
        let done = sqlx::query(select_alerts!(
            "WHERE acknowledged_at IS NOT NULL ORDER BY raised_at DESC, id DESC LIMIT $1"
        ))
        .bind(rest.max(0))
        .fetch_all(&self.pool)
        .await?;
        open.iter().chain(done.iter()).map(alert_from_row).collect()
    }

    /// How many alerts are open.
    pub async fn open_sos_alerts(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM sos_alerts WHERE acknowledged_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Acknowledges an open alert with the operator's audit entry and the event, in one transaction.
    /// [`StoreError::AuditKeyUsed`] for a retry and [`StoreError::Conflict`] when the alert is no longer
    /// open (another operator acknowledged it): nothing is written then.
    pub async fn acknowledge_sos_audited(
        &self,
        alert: &SosAlert,
        audit: &NewAuditEntry,
        event: &(BookingEvent, Vec<Recipient>),
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        let done = sqlx::query(
            "UPDATE sos_alerts SET acknowledged_by = $2, acknowledged_at = $3 \
             WHERE id = $1 AND acknowledged_at IS NULL",
        )
        .bind(alert.id.to_string())
        .bind(audit.actor.to_string())
        .bind(audit.at.millis())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        let events = [(event.0.clone().into(), event.1.clone())];
        let stored = append_events(&mut tx, self.backend, alert.booking, &events, audit.at).await?;
        tx.commit().await?;
        Ok(stored)
    }
}
