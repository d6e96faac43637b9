//! Device ingest over MQTT (`doorstep serve --mqtt`, docs/devices.md): connected devices (vehicle
//! trackers) publish their positions to `doorstep/{city}/devices/{device_id}/position`, and this task
//! moves the device's worker exactly as the worker's phone does, through [`App::report_locations`] (the
//! same plausibility checks, the same operations map).
//!
//! It lives in the app, not the API, because it is a background task of the running app like the
//! dispatcher and the position flusher: it starts with [`App::start`] when
//! [`AppConfig::mqtt_url`](crate::AppConfig) is set and stops with the app's shutdown watch, and the
//! registry's writes drop its cached device lookups ([`crate::devices::DeviceCache`]) in the same
//! process.
//!
//! It subscribes with the shared subscription `$share/doorstep/doorstep/{city}/devices/+/position`, so
//! that with several nodes each message is handled by one of them. Every message carries the device's
//! token, checked by its SHA-256 against the registry's (defence in depth besides the broker's own
//! per-device credentials). A message that moves nobody — topic not ours, payload malformed, unknown
//! device, wrong token, unbound device, batch refused — is dropped and counted in
//! `mqtt_messages_dropped_total{reason}` and logged with the device id at most, never the token nor
//! the payload; accepted points count in `mqtt_positions_accepted_total`, every message handled in
//! `mqtt_messages_received_total`. When the broker is away the
//! task reconnects with a growing pause (up to [`MAX_BACKOFF`]); it never takes the server down.

use crate::devices::{DEVICE_CITY, DEVICE_TOKEN_BYTES, DeviceLookup, DeviceRefusal, parse_token};
use crate::{App, AppError};
use doorstep_domain::Timestamp;
use doorstep_domain::ids::DeviceId;
use doorstep_geo::LatLng;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeReasonCode};
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The version byte of the binary payload.
pub const BINARY_V1: u8 = 1;

/// Bytes of one point in the binary payload: latitude × 10⁷ (`i32`), longitude × 10⁷ (`i32`), Unix
/// milliseconds (`i64`), little-endian — the layout of the WebSocket's binary location batches.
pub const BINARY_POINT_BYTES: usize = 16;

/// The largest payload looked at; a bigger one is dropped as malformed (100 JSON points are ~8 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The largest packet the client reads off the connection: above [`MAX_PAYLOAD_BYTES`], so that an
/// oversized message is dropped and counted rather than breaking the connection.
const MAX_PACKET_BYTES: usize = 1024 * 1024;

/// The first pause before reconnecting to an absent broker.
const MIN_BACKOFF: Duration = Duration::from_millis(500);

/// The longest pause between two attempts to reach the broker.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The shared subscription's group every Doorstep node subscribes in, unless the broker URL names
/// another (`?share_group=`: two deployments on one broker, or tests running side by side).
pub const SHARE_GROUP: &str = "doorstep";

/// The topic device `device` of `city` publishes its positions to.
pub fn position_topic(city: &str, device: DeviceId) -> String {
    format!("doorstep/{city}/devices/{device}/position")
}

/// The filter a node subscribes with: shared in `group`, so that each message is handled by one node
/// of the group.
pub fn subscription_filter(group: &str, city: &str) -> String {
    format!("$share/{group}/doorstep/{city}/devices/+/position")
}

/// Where the broker is, and Doorstep's own account on it. Its `Debug` does not print the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerOptions {
    /// The broker's host.
    pub host: String,
    /// Its port (1883 unless the URL says).
    pub port: u16,
    /// Doorstep's username and password on the broker, if it needs them.
    pub credentials: Option<(String, String)>,
    /// The shared subscription's group ([`SHARE_GROUP`] unless `?share_group=` says).
    pub share_group: String,
}

impl std::fmt::Debug for BrokerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("share_group", &self.share_group)
            .field(
                "user",
                &self.credentials.as_ref().map(|(user, _)| user.as_str()),
            )
            .finish_non_exhaustive()
    }
}

impl BrokerOptions {
    /// Parses `mqtt://[user[:password]@]host[:port][?share_group=NAME]` (plain TCP; 422
    /// `invalid_mqtt_url` otherwise). The error never repeats the URL, which may hold a password.
    pub fn parse(url: &str) -> Result<BrokerOptions, AppError> {
        let bad = |why: &str| AppError::invalid("invalid_mqtt_url", format!("the MQTT url {why}"));
        let rest = url
            .strip_prefix("mqtt://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| bad("must start with mqtt:// (TLS is not supported)"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut share_group = SHARE_GROUP.to_owned();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("share_group", group))
                    if !group.is_empty()
                        && group
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
                {
                    group.clone_into(&mut share_group);
                }
                _ => {
                    return Err(bad(
                        "takes only ?share_group=NAME (letters, digits, - and _)",
                    ));
                }
            }
        }
        let rest = rest.trim_end_matches('/');
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((userinfo, address)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                if user.is_empty() {
                    return Err(bad("names an empty user"));
                }
                (Some((user.to_owned(), password.to_owned())), address)
            }
            None => (None, rest),
        };
        if address.contains('/') {
            return Err(bad("must not have a path"));
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (
                host,
                port.parse::<u16>()
                    .map_err(|_| bad("has a port that is not a number from 1 to 65535"))?,
            ),
            _ => (address, 1883),
        };
        if host.is_empty() || port == 0 {
            return Err(bad("has no host or port"));
        }
        Ok(BrokerOptions {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            credentials,
            share_group,
        })
    }
}

/// Why a message was dropped: the label of `mqtt_messages_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The topic is not `doorstep/{city}/devices/{device_id}/position` of this city.
    Topic,
    /// The payload is neither a JSON nor a binary batch (bad JSON, wrong length or version, a token
    /// not of the token's shape, a time not RFC 3339).
    Malformed,
    /// No points, or more than [`crate::drivers::MAX_BATCH`].
    TooManyPoints,
    /// A point's coordinates are not a position on Earth.
    InvalidLocation,
    /// No device has this id.
    UnknownDevice,
    /// The token is not the device's.
    WrongToken,
    /// The device is bound to no worker.
    Unbound,
    /// The worker's batch was refused (a point too far in the future).
    Refused,
    /// The store failed while looking the device up (ours).
    Internal,
}

impl DropReason {
    /// Every reason, in the order of [`IngestCounts`].
    pub const ALL: [DropReason; 9] = [
        DropReason::Topic,
        DropReason::Malformed,
        DropReason::TooManyPoints,
        DropReason::InvalidLocation,
        DropReason::UnknownDevice,
        DropReason::WrongToken,
        DropReason::Unbound,
        DropReason::Refused,
        DropReason::Internal,
    ];

    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Topic => "topic",
            DropReason::Malformed => "malformed",
            DropReason::TooManyPoints => "too_many_points",
            DropReason::InvalidLocation => "invalid_location",
            DropReason::UnknownDevice => "unknown_device",
            DropReason::WrongToken => "wrong_token",
            DropReason::Unbound => "unbound",
            DropReason::Refused => "refused",
            DropReason::Internal => "internal",
        }
    }

    const fn index(self) -> usize {
        match self {
            DropReason::Topic => 0,
            DropReason::Malformed => 1,
            DropReason::TooManyPoints => 2,
            DropReason::InvalidLocation => 3,
            DropReason::UnknownDevice => 4,
            DropReason::WrongToken => 5,
            DropReason::Unbound => 6,
            DropReason::Refused => 7,
            DropReason::Internal => 8,
        }
    }
}

impl From<DeviceRefusal> for DropReason {
    fn from(r: DeviceRefusal) -> DropReason {
        match r {
            DeviceRefusal::UnknownDevice => DropReason::UnknownDevice,
            DeviceRefusal::WrongToken => DropReason::WrongToken,
            DeviceRefusal::Unbound => DropReason::Unbound,
        }
    }
}

/// What this app's ingest did, besides the process-wide metrics (tests read it).
#[derive(Debug, Default)]
pub struct IngestCounts {
    accepted: AtomicU64,
    dropped: [AtomicU64; 9],
}

impl IngestCounts {
    /// Points accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Messages dropped so far for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()].load(Ordering::Relaxed)
    }
}

/// One decoded message: the token's raw bytes and the points.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceMessage {
    /// The token's 32 raw bytes.
    pub token: [u8; DEVICE_TOKEN_BYTES],
    /// The positions, as sent.
    pub points: Vec<(LatLng, Timestamp)>,
}

/// The device a topic names, if it is `doorstep/{city}/devices/{device_id}/position` of `city`.
pub fn parse_topic(topic: &str, city: &str) -> Option<DeviceId> {
    let mut parts = topic.split('/');
    let ok = parts.next() == Some("doorstep") && parts.next() == Some(city);
    let ok = ok && parts.next() == Some("devices");
    let device = parts.next()?;
    (ok && parts.next() == Some("position") && parts.next().is_none())
        .then(|| device.parse().ok())
        .flatten()
}

#[derive(Deserialize)]
struct JsonMessage<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    #[serde(borrow)]
    points: Vec<JsonPoint<'a>>,
}

#[derive(Deserialize)]
struct JsonPoint<'a> {
    lat: f64,
    lng: f64,
    #[serde(borrow)]
    at: Cow<'a, str>,
}

fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .ok()
        .map(Timestamp::from_millis)
}

/// Decodes a payload: JSON `{"token":"dsd_…","points":[{"lat":..,"lng":..,"at":"RFC 3339"}]}` (it
/// starts with `{`, after any white space) or binary `[1] ++ 32 raw token bytes ++ n × 16-byte point`.
pub fn parse_payload(payload: &[u8]) -> Result<DeviceMessage, DropReason> {
    let max = crate::drivers::MAX_BATCH;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(DropReason::Malformed);
    }
    match payload.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {
            let message: JsonMessage<'_> =
                serde_json::from_slice(payload).map_err(|_| DropReason::Malformed)?;
            let token = parse_token(&message.token).ok_or(DropReason::Malformed)?;
            if message.points.is_empty() || message.points.len() > max {
                return Err(DropReason::TooManyPoints);
            }
            let mut points = Vec::with_capacity(message.points.len());
            for p in &message.points {
                let at = parse_rfc3339(&p.at).ok_or(DropReason::Malformed)?;
                let position =
                    LatLng::new(p.lat, p.lng).map_err(|_| DropReason::InvalidLocation)?;
                points.push((position, at));
            }
            Ok(DeviceMessage { token, points })
        }
        _ => {
            let (&version, body) = payload.split_first().ok_or(DropReason::Malformed)?;
            if version != BINARY_V1 || body.len() < DEVICE_TOKEN_BYTES {
                return Err(DropReason::Malformed);
            }
            let (raw, body) = body.split_at(DEVICE_TOKEN_BYTES);
            if body.len() % BINARY_POINT_BYTES != 0 {
                return Err(DropReason::Malformed);
            }
            let n = body.len() / BINARY_POINT_BYTES;
            if n == 0 || n > max {
                return Err(DropReason::TooManyPoints);
            }
            let mut token = [0u8; DEVICE_TOKEN_BYTES];
            token.copy_from_slice(raw);
            let mut points = Vec::with_capacity(n);
            for point in body.chunks_exact(BINARY_POINT_BYTES) {
                let word = |at: usize| {
                    let mut w = [0u8; 4];
                    w.copy_from_slice(&point[at..at + 4]);
                    f64::from(i32::from_le_bytes(w)) * 1e-7
                };
                let mut millis = [0u8; 8];
                millis.copy_from_slice(&point[8..16]);
                let position =
                    LatLng::new(word(0), word(4)).map_err(|_| DropReason::InvalidLocation)?;
                points.push((position, Timestamp::from_millis(i64::from_le_bytes(millis))));
            }
            Ok(DeviceMessage { token, points })
        }
    }
}

/// Encodes a binary payload (for devices written in Rust, the tests and `bench ingest --mqtt`).
pub fn encode_binary(token: &[u8; DEVICE_TOKEN_BYTES], points: &[(LatLng, Timestamp)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + DEVICE_TOKEN_BYTES + points.len() * BINARY_POINT_BYTES);
    out.push(BINARY_V1);
    out.extend_from_slice(token);
    for (p, at) in points {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "|lat|, |lng| ≤ 180 so × 10⁷ fits an i32"
        )]
        let e7 = |x: f64| (x * 1e7).round() as i32;
        out.extend_from_slice(&e7(p.lat()).to_le_bytes());
        out.extend_from_slice(&e7(p.lng()).to_le_bytes());
        out.extend_from_slice(&at.millis().to_le_bytes());
    }
    out
}

impl App {
    /// What this app's device ingest did.
    pub fn device_ingest_counts(&self) -> &IngestCounts {
        self.ingest_counts()
    }

    fn count_drop(&self, reason: DropReason) {
        self.ingest_counts().dropped[reason.index()].fetch_add(1, Ordering::Relaxed);
        metrics::counter!("mqtt_messages_dropped_total", "reason" => reason.as_str()).increment(1);
    }

    /// Handles one message published on `topic`: moves the device's worker, or drops it and counts why.
    pub async fn ingest_device_message(&self, topic: &str, payload: &[u8]) {
        metrics::counter!("mqtt_messages_received_total").increment(1);
        let Some(device) = parse_topic(topic, DEVICE_CITY) else {
            self.count_drop(DropReason::Topic);
            tracing::debug!("mqtt message on a topic that is not a device's position topic");
            return;
        };
        let message = match parse_payload(payload) {
            Ok(m) => m,
            Err(reason) => {
                self.count_drop(reason);
                tracing::debug!(device_id = %device, reason = reason.as_str(), bytes = payload.len(), "mqtt message dropped");
                return;
            }
        };
        let worker = match self.device_worker(device, &message.token).await {
            Ok(worker) => worker,
            Err(DeviceLookup::Refused(refusal)) => {
                let reason = DropReason::from(refusal);
                self.count_drop(reason);
                if refusal == DeviceRefusal::WrongToken {
                    tracing::warn!(device_id = %device, "mqtt message with a wrong device token dropped");
                } else {
                    tracing::debug!(device_id = %device, reason = reason.as_str(), "mqtt message dropped");
                }
                return;
            }
            Err(DeviceLookup::Failed(e)) => {
                self.count_drop(DropReason::Internal);
                tracing::warn!(device_id = %device, error = %e, "could not look a device up; mqtt message dropped");
                return;
            }
        };
        match self.report_locations(&worker, &message.points).await {
            Ok(report) => {
                let accepted = report.accepted as u64;
                self.ingest_counts()
                    .accepted
                    .fetch_add(accepted, Ordering::Relaxed);
                metrics::counter!("mqtt_positions_accepted_total").increment(accepted);
            }
            Err(e) => {
                self.count_drop(DropReason::Refused);
                tracing::debug!(device_id = %device, error = %e, "a device's batch was refused");
            }
        }
    }
}

/// Connects to the broker, subscribes, and hands every message to [`App::ingest_device_message`]
/// until `shutdown` becomes `true`; reconnects with a growing pause whenever the broker is away.
pub async fn run(app: App, broker: BrokerOptions, mut shutdown: watch::Receiver<bool>) {
    let client_id = format!("doorstep-{}", uuid::Uuid::new_v4().simple());
    let mut options = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    if let Some((user, password)) = &broker.credentials {
        options.set_credentials(user.clone(), password.clone());
    }
    let (client, mut events) = AsyncClient::new(options, 64);
    let filter = subscription_filter(&broker.share_group, DEVICE_CITY);
    let mut backoff = MIN_BACKOFF;
    tracing::info!(host = %broker.host, port = broker.port, filter = %filter, "device ingest over mqtt starting");
    loop {
        let event = tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
            event = events.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = MIN_BACKOFF;
                tracing::info!(host = %broker.host, port = broker.port, "connected to the mqtt broker");
                // A clean session forgets subscriptions: subscribe on every connection.
                if let Err(e) = client.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
                    tracing::warn!(error = %e, "could not ask the mqtt broker for the subscription");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, SubscribeReasonCode::Failure))
                {
                    tracing::error!(filter = %filter, "the mqtt broker refused the subscription: no device positions arrive");
                } else {
                    tracing::info!(filter = %filter, "subscribed to device positions");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                app.ingest_device_message(&publish.topic, &publish.payload)
                    .await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis(), "mqtt broker unreachable; retrying");
                tokio::select! {
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            break;
                        }
                    }
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    let _ = client.try_disconnect();
    tracing::info!("device ingest over mqtt stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::token_text;

    fn device() -> DeviceId {
        DeviceId::from_uuid(uuid::Uuid::now_v7())
    }

    #[test]
    fn a_topic_names_its_device_only_in_the_right_shape() {
        let id = device();
        assert_eq!(
            parse_topic(&position_topic("manhattan", id), "manhattan"),
            Some(id)
        );
        assert_eq!(
            parse_topic(&position_topic("brooklyn", id), "manhattan"),
            None
        );
        assert_eq!(
            parse_topic(
                &format!("doorstep/manhattan/devices/{id}/position/x"),
                "manhattan"
            ),
            None
        );
        assert_eq!(
            parse_topic("doorstep/manhattan/devices/not-an-id/position", "manhattan"),
            None
        );
    }

    #[test]
    fn json_and_binary_payloads_decode_to_the_same_message() {
        let token = [7u8; DEVICE_TOKEN_BYTES];
        let at = Timestamp::from_millis(1_796_594_400_000);
        let p = LatLng::new(40.75, -73.98).expect("a point");
        let json = format!(
            r#"{{"token":"{}","points":[{{"lat":40.75,"lng":-73.98,"at":"2026-12-06T22:00:00Z"}}]}}"#,
            token_text(&token)
        );
        let from_json = parse_payload(json.as_bytes()).expect("parses");
        assert_eq!(from_json.token, token);
        assert_eq!(from_json.points, vec![(p, at)]);
        let binary = encode_binary(&token, &[(p, at)]);
        assert_eq!(binary.len(), 1 + 32 + 16);
        let from_binary = parse_payload(&binary).expect("parses");
        assert_eq!(from_binary.token, token);
        assert_eq!(from_binary.points.len(), 1);
        assert!((from_binary.points[0].0.lat() - 40.75).abs() < 1e-6);
        assert_eq!(from_binary.points[0].1, at);
    }

    #[test]
    fn bad_payloads_are_dropped_for_their_reason() {
        let token = [7u8; DEVICE_TOKEN_BYTES];
        let at = Timestamp::from_millis(1_796_594_400_000);
        let p = LatLng::new(40.75, -73.98).expect("parses");
        assert_eq!(parse_payload(b"{not json"), Err(DropReason::Malformed));
        assert_eq!(parse_payload(b""), Err(DropReason::Malformed));
        let wrong_token = r#"{"token":"dst_00","points":[{"lat":40.75,"lng":-73.98,"at":"2026-12-06T22:00:00Z"}]}"#;
        assert_eq!(
            parse_payload(wrong_token.as_bytes()),
            Err(DropReason::Malformed)
        );
        let none = format!(r#"{{"token":"{}","points":[]}}"#, token_text(&token));
        assert_eq!(
            parse_payload(none.as_bytes()),
            Err(DropReason::TooManyPoints)
        );
        let bad_point = format!(
            r#"{{"token":"{}","points":[{{"lat":95,"lng":-73.98,"at":"2026-12-06T22:00:00Z"}}]}}"#,
            token_text(&token)
        );
        assert_eq!(
            parse_payload(bad_point.as_bytes()),
            Err(DropReason::InvalidLocation)
        );
        let mut binary = encode_binary(&token, &[(p, at)]);
        binary.push(0);
        assert_eq!(parse_payload(&binary), Err(DropReason::Malformed));
        let many = encode_binary(&token, &vec![(p, at); 101]);
        assert_eq!(parse_payload(&many), Err(DropReason::TooManyPoints));
        let mut v2 = encode_binary(&token, &[(p, at)]);
        v2[0] = 2;
        assert_eq!(parse_payload(&v2), Err(DropReason::Malformed));
    }

    #[test]
    fn broker_urls_parse_without_echoing_passwords() {
        let plain = BrokerOptions::parse("mqtt://127.0.0.1:1883").expect("parses");
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 1883));
        assert_eq!(
            BrokerOptions::parse("mqtt://broker").expect("parses").port,
            1883
        );
        let with = BrokerOptions::parse("mqtt://doorstep:s3cret@broker:1884").expect("parses");
        assert_eq!(
            with.credentials,
            Some(("doorstep".to_owned(), "s3cret".to_owned()))
        );
        assert!(!format!("{with:?}").contains("s3cret"));
        let err = BrokerOptions::parse("mqtts://doorstep:s3cret@broker").expect_err("refused");
        assert!(!err.to_string().contains("s3cret"));
        assert!(BrokerOptions::parse("mqtt://broker:notaport").is_err());
        assert_eq!(plain.share_group, SHARE_GROUP);
        let grouped =
            BrokerOptions::parse("mqtt://127.0.0.1:1883?share_group=test-1").expect("parses");
        assert_eq!(
            (grouped.port, grouped.share_group.as_str()),
            (1883, "test-1")
        );
        assert!(BrokerOptions::parse("mqtt://broker?share_group=a/b").is_err());
        assert!(BrokerOptions::parse("mqtt://broker?other=1").is_err());
    }
}
