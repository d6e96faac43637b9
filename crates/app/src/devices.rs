//! The registry of connected devices (vehicle trackers that report positions over MQTT, see
//! [`crate::device_ingest`] and docs/devices.md): operators create a device, bind it to a worker (a
//! driver's account), unbind it and rotate its token; each write is audited and idempotent under the
//! operator's key through the console's `begin`/`written` path ([`crate::console`]).
//!
//! A device's token (`dsd_` and 64 hex digits: 32 random bytes) is shown once, in the answer that
//! made it; only its SHA-256 is stored. A retried creation or rotation answers the device without a
//! token (rotate again if the answer was lost).
//!
//! The ingest looks devices up through [`DeviceCache`]: one store read per device every
//! [`DEVICE_CACHE_TTL`] at most, not one per message; every write here drops the device's entry, so
//! on this node a rotated token or an unbinding takes effect at the next message (other nodes within
//! the TTL).

use crate::console::{Act, hex, written};
use crate::{App, AppError};
use doorstep_domain::audit::{AuditAction, AuditEntry};
use doorstep_domain::ids::DeviceId;
use doorstep_domain::text::{FORBIDDEN_IN_LINE, TextRule};
use doorstep_domain::{Role, User, UserId};
use doorstep_store::Device;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A device's label: the operator's name for it, 1 to 100 characters on one line, trimmed.
pub const DEVICE_LABEL: TextRule = TextRule {
    min_chars: 1,
    max_chars: 100,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: true,
    trimmed: true,
};

/// What every device token starts with.
pub const DEVICE_TOKEN_PREFIX: &str = "dsd_";

/// The raw bytes of a device token (what the binary payload carries).
pub const DEVICE_TOKEN_BYTES: usize = 32;

/// The city devices publish for (the one city this server runs).
pub const DEVICE_CITY: &str = "manhattan";

/// How long the ingest trusts what it read of a device before reading it again.
pub const DEVICE_CACHE_TTL: Duration = Duration::from_secs(10);

/// The most devices one list answers.
pub const MAX_DEVICE_LIST: i64 = 500;

/// A device token as handed to the operator, once. Its `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceToken(<redacted>)")
    }
}

impl DeviceToken {
    /// The token text to show the operator.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A device and, in the answer that issued it, its new token.
#[derive(Debug, Clone)]
pub struct IssuedDevice {
    /// The device.
    pub device: Device,
    /// The token, only in the first answer of a creation or rotation.
    pub token: Option<DeviceToken>,
}

/// The text form of a token's raw bytes: `dsd_` and 64 lower-case hex digits.
pub fn token_text(raw: &[u8; DEVICE_TOKEN_BYTES]) -> String {
    let mut s = String::with_capacity(DEVICE_TOKEN_PREFIX.len() + 2 * DEVICE_TOKEN_BYTES);
    s.push_str(DEVICE_TOKEN_PREFIX);
    s.push_str(&hex(raw));
    s
}

/// The raw bytes of a token's text form (`dsd_` and 64 hex digits, either case), if it is one.
pub fn parse_token(text: &str) -> Option<[u8; DEVICE_TOKEN_BYTES]> {
    let digits = text.strip_prefix(DEVICE_TOKEN_PREFIX)?.as_bytes();
    if digits.len() != 2 * DEVICE_TOKEN_BYTES {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut raw = [0u8; DEVICE_TOKEN_BYTES];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        raw[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(raw)
}

/// The SHA-256 of a token's text form: what the store keeps (hex) and the ingest compares.
pub fn token_digest(raw: &[u8; DEVICE_TOKEN_BYTES]) -> [u8; 32] {
    Sha256::digest(token_text(raw).as_bytes()).into()
}

fn new_token() -> ([u8; DEVICE_TOKEN_BYTES], DeviceToken) {
    let mut raw = [0u8; DEVICE_TOKEN_BYTES];
    rand::rng().fill_bytes(&mut raw);
    (raw, DeviceToken(token_text(&raw)))
}

/// Compares two digests in time independent of where they differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_digest_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Why a device's message moved nobody (the ingest counts each by [`DeviceRefusal::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRefusal {
    /// No device has this id.
    UnknownDevice,
    /// The token is not the device's current one.
    WrongToken,
    /// The device is bound to no worker.
    Unbound,
}

impl DeviceRefusal {
    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceRefusal::UnknownDevice => "unknown_device",
            DeviceRefusal::WrongToken => "wrong_token",
            DeviceRefusal::Unbound => "unbound",
        }
    }
}

/// What the ingest knows of one device.
#[derive(Debug, Clone)]
struct CachedDevice {
    /// The digest of its current token; `None`: no such device.
    digest: Option<[u8; 32]>,
    /// Its worker's account, while bound.
    worker: Option<User>,
    /// When this was read from the store.
    read_at: Instant,
}

/// The ingest's cache of device lookups, dropped per device by every operator write.
#[derive(Debug, Default)]
pub struct DeviceCache {
    entries: Mutex<HashMap<DeviceId, CachedDevice>>,
}

impl DeviceCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DeviceId, CachedDevice>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn get(&self, id: DeviceId) -> Option<CachedDevice> {
        let now = Instant::now();
        let mut entries = self.lock();
        match entries.get(&id) {
            Some(e) if now.duration_since(e.read_at) < DEVICE_CACHE_TTL => Some(e.clone()),
            Some(_) => {
                entries.remove(&id);
                None
            }
            None => None,
        }
    }

    fn put(&self, id: DeviceId, entry: CachedDevice) {
        let mut entries = self.lock();
        // A fleet is bounded, but unknown ids are not: stale entries go when the map grows large.
        if entries.len() >= 100_000 {
            let now = Instant::now();
            entries.retain(|_, e| now.duration_since(e.read_at) < DEVICE_CACHE_TTL);
        }
        entries.insert(id, entry);
    }

    /// Forgets what is known of `id`: the next message reads the store.
    pub fn invalidate(&self, id: DeviceId) {
        self.lock().remove(&id);
    }
}

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins can do this"))
    }
}

/// Checks a device's label by [`DEVICE_LABEL`] (422 `invalid_label`) and returns it trimmed.
pub fn parse_label(raw: &str) -> Result<String, AppError> {
    DEVICE_LABEL
        .check(raw)
        .map(str::to_owned)
        .map_err(|e| AppError::invalid("invalid_label", format!("label: it {e}")))
}

impl App {
    /// Every device (up to [`MAX_DEVICE_LIST`], `limit` fewer), by label; those bound to `worker`
    /// only when given (operators only).
    pub async fn admin_devices(
        &self,
        admin: &User,
        worker: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<Device>, AppError> {
        require_admin(admin)?;
        Ok(self
            .store()
            .devices(worker, limit.clamp(1, MAX_DEVICE_LIST))
            .await?)
    }

    /// One device (404 `device_not_found`; operators only).
    pub async fn admin_device(&self, admin: &User, id: DeviceId) -> Result<Device, AppError> {
        require_admin(admin)?;
        self.device_record(id).await
    }

    async fn device_record(&self, id: DeviceId) -> Result<Device, AppError> {
        self.store()
            .device(id)
            .await?
            .ok_or(AppError::NotFound("device"))
    }

    /// Registers a device, unbound, with a new token shown once in the answer (422 `invalid_label`).
    /// Audited and idempotent under the operator's key: a retry answers the device without its token.
    pub async fn admin_create_device(
        &self,
        act: Act<'_>,
        label: &str,
    ) -> Result<IssuedDevice, AppError> {
        let id = DeviceId::from_uuid(uuid::Uuid::now_v7());
        let label = parse_label(label)?;
        let detail = serde_json::json!({ "label": label });
        let entry = self.audit_entry(&act, AuditAction::CreateDevice, id.as_uuid(), detail)?;
        if let Some(done) = self.earlier_device_creation(&act).await? {
            return self.device_without_token(done).await;
        }
        let (raw, token) = new_token();
        let now = entry.at;
        let device = Device {
            id,
            city: DEVICE_CITY.to_owned(),
            label,
            worker: None,
            token_hash: hex(&token_digest(&raw)),
            created_at: now,
            token_rotated_at: now,
            bound_at: None,
            updated_at: now,
        };
        let write = self.store().create_device_audited(&device, &entry).await;
        if written(write)?.is_none() {
            // A concurrent request under the same key got there first.
            return match self.earlier_device_creation(&act).await? {
                Some(done) => self.device_without_token(done).await,
                None => Err(AppError::Internal("audit key used but not found".into())),
            };
        }
        self.device_cache().invalidate(id);
        tracing::info!(device_id = %id, "device created");
        Ok(IssuedDevice {
            device,
            token: Some(token),
        })
    }

    async fn device_without_token(&self, id: DeviceId) -> Result<IssuedDevice, AppError> {
        Ok(IssuedDevice {
            device: self.device_record(id).await?,
            token: None,
        })
    }

    /// The device an earlier request under the operator's key created, if it was such a creation; the
    /// key used for another action is refused (422 `idempotency_key_reused`).
    async fn earlier_device_creation(&self, act: &Act<'_>) -> Result<Option<DeviceId>, AppError> {
        match self.store().audit_by_key(act.admin.id, act.key).await? {
            Some(AuditEntry { entry, .. }) if entry.action == AuditAction::CreateDevice => {
                Ok(Some(DeviceId::from_uuid(entry.target)))
            }
            Some(_) => Err(AppError::invalid(
                "idempotency_key_reused",
                "this idempotency key was used for another action",
            )),
            None => Ok(None),
        }
    }

    /// Binds a device to a worker: from now on its positions move that worker as the worker's phone's
    /// do (404 `device_not_found`; 422 `worker_not_found` for an unknown account, `not_a_worker` for
    /// an account that is not a driver's). Binding a bound device moves it to the new worker. Audited
    /// and idempotent under the operator's key.
    pub async fn admin_bind_device(
        &self,
        act: Act<'_>,
        id: DeviceId,
        worker: UserId,
    ) -> Result<Device, AppError> {
        let detail = serde_json::json!({ "worker_id": worker });
        let Some(entry) = self
            .begin(&act, AuditAction::BindDevice, id.as_uuid(), detail)
            .await?
        else {
            return self.device_record(id).await;
        };
        self.device_record(id).await?;
        let account = self.store().user_by_id(worker).await?.ok_or_else(|| {
            AppError::invalid("worker_not_found", "worker_id: no account has this id")
        })?;
        if account.role != Role::Driver {
            return Err(AppError::invalid(
                "not_a_worker",
                "worker_id: the account is not a driver's (only workers carry devices)",
            ));
        }
        let write = self
            .store()
            .bind_device_audited(id, Some(worker), &entry)
            .await;
        self.device_cache().invalidate(id);
        if written(device_write(write)?)?.is_some() {
            tracing::info!(device_id = %id, worker_id = %worker, "device bound");
        }
        self.device_record(id).await
    }

    /// Unbinds a device: its positions move nobody from now on (404 `device_not_found`). Audited and
    /// idempotent under the operator's key.
    pub async fn admin_unbind_device(
        &self,
        act: Act<'_>,
        id: DeviceId,
    ) -> Result<Device, AppError> {
        let Some(entry) = self
            .begin(
                &act,
                AuditAction::UnbindDevice,
                id.as_uuid(),
                serde_json::json!({}),
            )
            .await?
        else {
            return self.device_record(id).await;
        };
        self.device_record(id).await?;
        let write = self.store().bind_device_audited(id, None, &entry).await;
        self.device_cache().invalidate(id);
        if written(device_write(write)?)?.is_some() {
            tracing::info!(device_id = %id, "device unbound");
        }
        self.device_record(id).await
    }

    /// Gives a device a new token, shown once in the answer; the old one stops working at once on this
    /// node (404 `device_not_found`). Audited and idempotent under the operator's key: a retry answers
    /// the device without a token.
    pub async fn admin_rotate_device_token(
        &self,
        act: Act<'_>,
        id: DeviceId,
    ) -> Result<IssuedDevice, AppError> {
        let Some(entry) = self
            .begin(
                &act,
                AuditAction::RotateDeviceToken,
                id.as_uuid(),
                serde_json::json!({}),
            )
            .await?
        else {
            return self.device_without_token(id).await;
        };
        self.device_record(id).await?;
        let (raw, token) = new_token();
        let write = self
            .store()
            .rotate_device_token_audited(id, &hex(&token_digest(&raw)), &entry)
            .await;
        self.device_cache().invalidate(id);
        if written(device_write(write)?)?.is_none() {
            return self.device_without_token(id).await;
        }
        tracing::info!(device_id = %id, "device token rotated");
        Ok(IssuedDevice {
            device: self.device_record(id).await?,
            token: Some(token),
        })
    }

    /// The worker a message of device `id` carrying the token `raw` speaks for, or why it speaks for
    /// nobody. Reads the store at most once per device every [`DEVICE_CACHE_TTL`].
    pub async fn device_worker(
        &self,
        id: DeviceId,
        raw: &[u8; DEVICE_TOKEN_BYTES],
    ) -> Result<User, DeviceLookup> {
        let known = match self.device_cache().get(id) {
            Some(known) => known,
            None => {
                let known = self.read_device(id).await.map_err(DeviceLookup::Failed)?;
                self.device_cache().put(id, known.clone());
                known
            }
        };
        let Some(digest) = known.digest else {
            return Err(DeviceLookup::Refused(DeviceRefusal::UnknownDevice));
        };
        if !same_digest(&digest, &token_digest(raw)) {
            return Err(DeviceLookup::Refused(DeviceRefusal::WrongToken));
        }
        known
            .worker
            .ok_or(DeviceLookup::Refused(DeviceRefusal::Unbound))
    }

    async fn read_device(&self, id: DeviceId) -> Result<CachedDevice, AppError> {
        let read_at = Instant::now();
        let Some(device) = self.store().device(id).await? else {
            return Ok(CachedDevice {
                digest: None,
                worker: None,
                read_at,
            });
        };
        let digest = parse_digest_hex(&device.token_hash)
            .ok_or_else(|| AppError::Internal(format!("device {id}: corrupt token digest")))?;
        let worker = match device.worker {
            Some(w) => self.store().user_by_id(w).await?,
            None => None,
        };
        Ok(CachedDevice {
            digest: Some(digest),
            worker,
            read_at,
        })
    }
}

/// Why [`App::device_worker`] found no worker.
#[derive(Debug)]
pub enum DeviceLookup {
    /// The message is refused for this reason.
    Refused(DeviceRefusal),
    /// The store failed: ours, not the device's.
    Failed(AppError),
}

/// A device write whose row was not there (the device went between the read and the write) is a 404.
fn device_write(
    write: Result<(), doorstep_store::StoreError>,
) -> Result<Result<(), doorstep_store::StoreError>, AppError> {
    match write {
        Err(doorstep_store::StoreError::Conflict) => Err(AppError::NotFound("device")),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_between_text_and_bytes() {
        let (raw, token) = new_token();
        assert!(token.expose().starts_with(DEVICE_TOKEN_PREFIX));
        assert_eq!(token.expose().len(), 68);
        assert_eq!(parse_token(token.expose()), Some(raw));
        assert_eq!(
            parse_token(&token.expose().to_ascii_uppercase().replace("DSD_", "dsd_")),
            Some(raw)
        );
        assert_eq!(parse_token("dsd_00"), None);
        assert_eq!(parse_token(&format!("dst_{}", "0".repeat(64))), None);
        assert_eq!(parse_token(&format!("dsd_{}", "g".repeat(64))), None);
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn digests_compare_equal_only_when_equal() {
        let (a, _) = new_token();
        let (b, _) = new_token();
        assert!(same_digest(&token_digest(&a), &token_digest(&a)));
        assert!(!same_digest(&token_digest(&a), &token_digest(&b)));
        assert_eq!(
            parse_digest_hex(&hex(&token_digest(&a))),
            Some(token_digest(&a))
        );
    }
}
