//! The provider's safety tools during a house call (issue 12, item 5): a link to share the visit with a
//! trusted contact, and an SOS alert operators see at once and acknowledge.
//!
//! **Share links.** The booking's provider makes a link that expires (4 hours by default, at most 24).
//! Its token is a capability — whoever holds it reads the visit's status, without an account — so it is
//! 32 random bytes, shown once, and only its SHA-256 is stored (as with bearer tokens). What the link
//! shows is the least a trusted contact needs: the state, the times, the provider's first name, the
//! neighbourhood of the address (never the address), and the provider's position only while they are
//! on the way, at the door or in the visit. An expired, revoked or unknown token is 404
//! `share_not_found`, the same answer for each.
//!
//! **SOS.** The booking's provider raises an alert with an optional note; the store keeps it with the
//! provider's believed position (if fresh) and records a `booking_sos_raised` event for the provider in
//! the same transaction. Operators see every event on the bus, so the console hears it at once; the
//! customer never does. An operator acknowledges an alert like every operator action: a reason, an
//! `Idempotency-Key`, the audit entry in the transaction of the change ([`crate::console`]'s
//! `begin`/`written` path), and a `booking_sos_acknowledged` event that tells the provider help is coming.

use crate::console::Act;
use crate::house_visits::POSITION_FRESH_S;
use crate::{App, AppError};
use doorstep_domain::audit::AuditAction;
use doorstep_domain::housecall::{Booking, BookingEvent, BookingState};
use doorstep_domain::ids::SosAlertId;
use doorstep_domain::text::{FORBIDDEN_IN_PARAGRAPH, TextRule};
use doorstep_domain::{JobId, Role, Timestamp, User, UserId};
use doorstep_geo::LatLng;
use doorstep_store::{Recipient, RecipientRole, SosAlert, StoreError, VisitShare};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;

/// How long a share link works when the provider does not say, minutes.
pub const SHARE_DEFAULT_MIN: u32 = 4 * 60;
/// How long a share link may work, minutes.
pub const SHARE_MINUTES: std::ops::RangeInclusive<u32> = 5..=24 * 60;
/// The web page a share link opens; the token follows.
pub const SHARE_PAGE: &str = "/share/visit/";
/// A share token: this prefix and 64 lower-case hex digits.
pub const SHARE_TOKEN_PREFIX: &str = "vsh_";
/// The pattern of a share token, for the document.
pub const SHARE_TOKEN_PATTERN: &str = "^vsh_[0-9a-f]{64}$";
/// The note a provider may add to an SOS alert: optional, at most 500 characters, trimmed.
pub const SOS_NOTE: TextRule = TextRule {
    min_chars: 0,
    max_chars: 500,
    forbidden: &FORBIDDEN_IN_PARAGRAPH,
    needs_visible: false,
    trimmed: true,
};
/// The most alerts the operators' list gives (every open one first).
pub const SOS_LIST_LIMIT: i64 = 200;

/// A share link, as its provider gets it (the only time the token is shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    /// The capability.
    pub token: String,
    /// The page to send the trusted contact: [`SHARE_PAGE`] and the token.
    pub url: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// What a share link shows of a visit.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedVisit {
    /// The booking's state.
    pub state: BookingState,
    /// When the visit starts.
    pub starts_at: Timestamp,
    /// When it should be over (the appointment and the provider's buffer).
    pub ends_at: Timestamp,
    /// The provider's arrival estimate, once they set off.
    pub eta: Option<Timestamp>,
    /// The provider's first name.
    pub provider_first_name: String,
    /// The neighbourhood of the address ("" if the map has none there).
    pub neighbourhood: String,
    /// The provider's last position and when it was reported, while on the way, at the door or in the
    /// visit (and fresh).
    pub provider_position: Option<(LatLng, Timestamp)>,
    /// When the link stops working.
    pub expires_at: Timestamp,
}

/// An SOS alert as operators see it: the alert, its visit and the names they read.
#[derive(Debug, Clone)]
pub struct OperatorSosAlert {
    /// The alert.
    pub alert: SosAlert,
    /// The visit, if it is still there.
    pub booking: Option<Booking>,
    /// The provider's name.
    pub provider_name: Option<String>,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// The name of the operator who acknowledged it.
    pub acknowledged_by_name: Option<String>,
}

/// The SHA-256 of `token`, hex: what the store keys a link by.
fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Whether `token` has the shape of a share token.
pub fn is_share_token(token: &str) -> bool {
    token.strip_prefix(SHARE_TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn new_share_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut s = String::from(SHARE_TOKEN_PREFIX);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The first word of a display name.
fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn share_not_found() -> AppError {
    AppError::NotFound("share")
}

/// Who hears of an alert: the provider (operators see every event).
fn provider_only(provider: UserId) -> Vec<Recipient> {
    vec![Recipient {
        user: provider,
        role: RecipientRole::Worker,
    }]
}

impl App {
    /// The booking if `caller` is its provider; 404 `booking_not_found` for anyone else.
    async fn providers_booking(&self, caller: &User, id: JobId) -> Result<Booking, AppError> {
        let booking = self
            .store()
            .booking(id)
            .await?
            .ok_or(AppError::NotFound("booking"))?;
        if caller.role == Role::Provider && booking.provider() == caller.id {
            Ok(booking)
        } else {
            Err(AppError::NotFound("booking"))
        }
    }

    /// The neighbourhood of a place, for people who must not learn the address: the street map's
    /// neighbourhood, else the taxi zone's name.
    pub fn neighbourhood_of(&self, place: LatLng) -> String {
        let named = doorstep_places::Places::manhattan()
            .reverse(place)
            .map(|r| r.neighborhood)
            .unwrap_or_default();
        if !named.is_empty() {
            return named;
        }
        let city = self.city();
        let zone = city.zone_of(doorstep_geo::to_utm(place));
        city.zones()
            .get(zone.index())
            .map(|z| z.name.clone())
            .unwrap_or_default()
    }

    /// The booking's provider makes a link for a trusted contact, working for `minutes` (default
    /// [`SHARE_DEFAULT_MIN`]; 422 `invalid_expiry` outside [`SHARE_MINUTES`]). 404 `booking_not_found`
    /// for anyone else; 409 `invalid_booking_state` once the visit is over.
    pub async fn share_visit(
        &self,
        caller: &User,
        id: JobId,
        minutes: Option<u32>,
    ) -> Result<ShareLink, AppError> {
        let booking = self.providers_booking(caller, id).await?;
        let minutes = minutes.unwrap_or(SHARE_DEFAULT_MIN);
        if !SHARE_MINUTES.contains(&minutes) {
            return Err(AppError::invalid(
                "invalid_expiry",
                format!(
                    "expires_in_min is {} to {}",
                    SHARE_MINUTES.start(),
                    SHARE_MINUTES.end()
                ),
            ));
        }
        if booking.state().is_terminal() {
            return Err(AppError::conflict(
                "invalid_booking_state",
                "this visit is over: there is nothing to share",
            ));
        }
        let now = self.clock().now();
        let token = new_share_token();
        let share = VisitShare {
            booking: booking.id(),
            provider: caller.id,
            created_at: now,
            expires_at: now.plus_secs(i64::from(minutes) * 60),
            revoked_at: None,
        };
        self.store()
            .create_visit_share(&token_digest(&token), &share)
            .await?;
        tracing::info!(booking_id = %booking.id(), minutes, "visit share link created");
        Ok(ShareLink {
            url: format!("{SHARE_PAGE}{token}"),
            token,
            expires_at: share.expires_at,
        })
    }

    /// The booking's provider revokes every link of the visit still working (none is fine). 404
    /// `booking_not_found` for anyone else.
    pub async fn revoke_visit_shares(&self, caller: &User, id: JobId) -> Result<u64, AppError> {
        let booking = self.providers_booking(caller, id).await?;
        let n = self
            .store()
            .revoke_visit_shares(booking.id(), self.clock().now())
            .await?;
        tracing::info!(booking_id = %booking.id(), revoked = n, "visit share links revoked");
        Ok(n)
    }

    /// What the link with `token` shows, for anyone holding it: 404 `share_not_found` for a token
    /// unknown, expired or revoked (the same answer for each).
    pub async fn shared_visit(&self, token: &str) -> Result<SharedVisit, AppError> {
        if !is_share_token(token) {
            return Err(share_not_found());
        }
        let now = self.clock().now();
        let share = self
            .store()
            .visit_share(&token_digest(token))
            .await?
            .filter(|s| s.is_live(now))
            .ok_or_else(share_not_found)?;
        let booking = self
            .store()
            .booking(share.booking)
            .await?
            .ok_or_else(share_not_found)?;
        let provider = self.store().user_by_id(booking.provider()).await?;
        let moving = matches!(
            booking.state(),
            BookingState::OnTheWay | BookingState::Arrived | BookingState::InProgress
        );
        Ok(SharedVisit {
            state: booking.state(),
            starts_at: booking.starts_at(),
            ends_at: booking.ends_at(),
            eta: booking.record().eta,
            provider_first_name: provider.map(|u| first_name(&u.name)).unwrap_or_default(),
            neighbourhood: self.neighbourhood_of(booking.place()),
            provider_position: if moving {
                self.provider_position(booking.provider())
            } else {
                None
            },
            expires_at: share.expires_at,
        })
    }

    /// The booking's provider raises an SOS alert with an optional note (422 `invalid_note`), whatever
    /// the visit's state: the alert is kept with their believed position if fresh, and operators hear of
    /// it at once. 404 `booking_not_found` for anyone else.
    pub async fn raise_sos(
        &self,
        caller: &User,
        id: JobId,
        note: Option<&str>,
    ) -> Result<SosAlert, AppError> {
        let booking = self.providers_booking(caller, id).await?;
        let note = SOS_NOTE
            .check(note.unwrap_or_default())
            .map_err(|e| AppError::invalid("invalid_note", format!("note: it {e}")))?
            .to_owned();
        let now = self.clock().now();
        let position = self
            .provider_position(caller.id)
            .filter(|(_, at)| now.secs_since(*at) <= POSITION_FRESH_S);
        let alert = SosAlert {
            id: SosAlertId::from_uuid(uuid::Uuid::now_v7()),
            booking: booking.id(),
            provider: caller.id,
            position,
            note,
            raised_at: now,
            acknowledged_by: None,
            acknowledged_at: None,
        };
        let event = (
            BookingEvent::BookingSosRaised {
                provider: caller.id,
                alert: alert.id,
            },
            provider_only(caller.id),
        );
        let stored = self.store().raise_sos(&alert, &event).await?;
        self.publish_all(stored);
        metrics::counter!("sos_alerts_total").increment(1);
        tracing::warn!(alert_id = %alert.id, booking_id = %booking.id(), provider_id = %caller.id, "sos alert raised");
        Ok(alert)
    }

    async fn operator_alert(
        &self,
        alert: SosAlert,
        names: &mut HashMap<UserId, Option<String>>,
    ) -> Result<OperatorSosAlert, AppError> {
        let booking = self.store().booking(alert.booking).await?;
        let provider_name = self.name_of(names, alert.provider).await?;
        let customer_name = match &booking {
            Some(b) => self.name_of(names, b.customer()).await?,
            None => None,
        };
        let acknowledged_by_name = match alert.acknowledged_by {
            Some(by) => self.name_of(names, by).await?,
            None => None,
        };
        Ok(OperatorSosAlert {
            alert,
            booking,
            provider_name,
            customer_name,
            acknowledged_by_name,
        })
    }

    async fn name_of(
        &self,
        names: &mut HashMap<UserId, Option<String>>,
        id: UserId,
    ) -> Result<Option<String>, AppError> {
        if let Some(known) = names.get(&id) {
            return Ok(known.clone());
        }
        let name = self.store().user_by_id(id).await?.map(|u| u.name);
        names.insert(id, name.clone());
        Ok(name)
    }

    /// Every open alert, oldest first, then the latest acknowledged ones (operators only).
    pub async fn admin_sos_alerts(&self, admin: &User) -> Result<Vec<OperatorSosAlert>, AppError> {
        if admin.role != Role::Admin {
            return Err(AppError::Forbidden("only admins can do this"));
        }
        let mut names = HashMap::new();
        let mut out = Vec::new();
        for alert in self.store().sos_alerts(SOS_LIST_LIMIT).await? {
            out.push(self.operator_alert(alert, &mut names).await?);
        }
        Ok(out)
    }

    async fn sos_alert(&self, id: SosAlertId) -> Result<SosAlert, AppError> {
        self.store()
            .sos_alert(id)
            .await?
            .ok_or(AppError::NotFound("sos_alert"))
    }

    /// An operator acknowledges an open alert (404 `sos_alert_not_found`; 409
    /// `sos_already_acknowledged` when another operator did). Audited and idempotent under the operator's
    /// key: a retry answers the alert as it is and writes nothing.
    pub async fn admin_acknowledge_sos(
        &self,
        act: Act<'_>,
        id: SosAlertId,
    ) -> Result<OperatorSosAlert, AppError> {
        let mut names = HashMap::new();
        let Some(entry) = self
            .begin(
                &act,
                AuditAction::AcknowledgeSos,
                id.as_uuid(),
                serde_json::json!({}),
            )
            .await?
        else {
            let alert = self.sos_alert(id).await?;
            return self.operator_alert(alert, &mut names).await;
        };
        let alert = self.sos_alert(id).await?;
        if alert.acknowledged_at.is_some() {
            return Err(already_acknowledged());
        }
        let event = (
            BookingEvent::BookingSosAcknowledged {
                alert: alert.id,
                by: act.admin.id,
            },
            provider_only(alert.provider),
        );
        match self
            .store()
            .acknowledge_sos_audited(&alert, &entry, &event)
            .await
        {
            Ok(stored) => self.publish_all(stored),
            // A concurrent request under the same key wrote it: answer the alert as it is.
            Err(StoreError::AuditKeyUsed) => {}
            Err(StoreError::Conflict) => return Err(already_acknowledged()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(alert_id = %id, "sos alert acknowledged");
        let alert = self.sos_alert(id).await?;
        self.operator_alert(alert, &mut names).await
    }
}

fn already_acknowledged() -> AppError {
    AppError::conflict(
        "sos_already_acknowledged",
        "another operator acknowledged this alert already",
    )
}
