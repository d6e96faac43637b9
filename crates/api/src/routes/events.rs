//! `GET /v1/events`: the live event stream over a WebSocket.
//!
//! On connect the server sends `{"type":"hello","last_event_id":N}`, then every durable event of the
//! caller's rides after `after` (the last id the client saw; default: now), then live events as they happen,
//! in id order, each once. A durable event on the bus is only a doorbell: the handler reads the caller's
//! events after its last delivered id from the store, so a slow or reconnecting client never sees a gap or a
//! duplicate. Driver positions on the caller's rides arrive as ephemeral `driver_location` messages without
//! an id; admins also receive every driver's `driver_position` (with `status`) every few seconds, for the
//! operations console.
//!
//! Drivers send their positions on the same socket, as JSON text `{"type":"locations","points":[{lat,lng,at}]}`
//! or, more cheaply, as binary batches ([`crate::dto::parse_binary_locations`]: a version byte `1`, then 16
//! bytes a point). A good batch gets no answer; a bad one gets an error frame
//! `{"type":"error","status":422,"code":"invalid_location","message":"..."}` and the socket stays open.
//! Drivers' sockets run on their own runtime and may be shed under overload ([`crate::driver_sockets`]).

use crate::ApiState;
use crate::driver_sockets;
use crate::dto::{WireLocationPoint, event_json, parse_binary_locations, rfc3339};
use crate::error::ApiError;
use crate::extract::bearer_token;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use doorstep_app::{BusMessage, LocationUpdate};
use doorstep_domain::{Role, Timestamp, User};
use doorstep_geo::LatLng;
use serde::Deserialize;
use std::borrow::Cow;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Query of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Bearer token (browsers cannot set headers on a WebSocket); the `Authorization` header also works.
    pub token: Option<String>,
    /// Resume after this event id.
    pub after: Option<i64>,
}

/// A message from the client: `{"type":"ping"}` or `{"type":"locations","points":[...]}`. Read as a
/// plain struct, not an internally tagged enum, so that serde parses the text once and the points'
/// times stay borrowed from it.
#[derive(Debug, Deserialize)]
struct ClientMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    points: Option<Vec<WireLocationPoint<'a>>>,
    /// Latitude of a `nearby` query.
    lat: Option<f64>,
    /// Longitude of a `nearby` query.
    lng: Option<f64>,
    /// How many drivers a `nearby` query wants (1 to 50, default 10).
    limit: Option<usize>,
    /// Echoed in the answer to a `nearby` query, to match answers to questions.
    id: Option<u64>,
}

/// Read buffer of a socket (several full location batches).
const READ_BUFFER_BYTES: usize = 16 * 1024;
/// How many events one catch-up read returns.
const PAGE: i64 = 500;
/// A driver's socket lets the others take a turn after this many location batches in a row.
const BATCHES_PER_TURN: u32 = 16;

/// Opens the event stream (WebSocket upgrade).
///
/// The server sends `{"type":"hello","last_event_id":N}`, then the caller's events after `after`, then live
/// events, each once and in id order. Drivers send their positions on the same socket, either as text
/// `{"type":"locations","points":[{"lat":..,"lng":..,"at":"RFC 3339"}]}` or as compact binary messages: a
/// version byte `1`, then 1 to 100 points of 16 bytes, little-endian: latitude × 10⁷ (`i32`), longitude ×
/// 10⁷ (`i32`), time in Unix milliseconds (`i64`). Good batches get no answer. A bad message gets an error
/// frame `{"type":"error","status":422,"code":"...","message":"..."}` (codes `invalid_message` (400),
/// `invalid_binary_batch`, `invalid_batch`, `invalid_location`, `location_in_future` (422), `forbidden`
/// (403)) and the socket stays open; `overloaded` (503) means the server shed the batch because it is
/// behind. `{"type":"ping"}` is answered `{"type":"pong"}` after every earlier message was handled.
/// Riders (and admins) may ask `{"type":"nearby","lat":..,"lng":..,"limit":10,"id":7}` on the socket and get
/// `{"type":"nearby","id":7,"drivers":[...]}`, the answer of `GET /v1/drivers/nearby`.
#[utoipa::path(get, path = "/v1/events", operation_id = "event_stream", tag = "events", params(EventsQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 422, description = "invalid_after"), (status = 426, description = "websocket_required")))]
pub async fn events(
    State(state): State<ApiState>,
    Query(q): Query<EventsQuery>,
    parts: Parts,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let token = q
        .token
        .as_deref()
        .or_else(|| bearer_token(&parts))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid bearer token is required",
            )
        })?;
    let user = state.app.authenticate(token).await?;
    let ws = ws.map_err(|_| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            "open this endpoint as a WebSocket",
        )
    })?;
    let after = match q.after {
        Some(a) if a < 0 => {
            return Err(ApiError::unprocessable(
                "invalid_after",
                "after must be a non-negative id",
            ));
        }
        Some(a) => a,
        None => state
            .app
            .store()
            .last_event_id()
            .await
            .map_err(doorstep_app::AppError::from)?,
    };
    Ok(ws
        .max_message_size(256 * 1024)
        // tungstenite zero-fills the free part of its read buffer before every read: at the default
        // 128 KiB that memset was the largest single cost of a location batch. A full batch is under
        // 8 KiB as JSON and 1.6 KiB as binary.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            if user.role == Role::Driver {
                driver_sockets::spawn(stream(state, user, after, socket));
            } else {
                stream(state, user, after, socket).await;
            }
        }))
}

async fn send_json(socket: &mut WebSocket, value: &serde_json::Value) -> bool {
    socket
        .send(Message::Text(Utf8Bytes::from(value.to_string())))
        .await
        .is_ok()
}

/// Sends every event of `user` after `*last`, advancing `*last`. Returns false if the socket is gone.
async fn catch_up(state: &ApiState, user: &User, last: &mut i64, socket: &mut WebSocket) -> bool {
    loop {
        let page = if user.role == Role::Admin {
            state.app.store().events_after(*last, PAGE).await
        } else {
            state
                .app
                .store()
                .events_for_user(user.id, *last, PAGE)
                .await
        };
        let events = match page {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "event catch-up failed");
                return true;
            }
        };
        for e in &events {
            if !send_json(socket, &event_json(e)).await {
                return false;
            }
            *last = e.id;
        }
        if i64::try_from(events.len()).unwrap_or(0) < PAGE {
            return true;
        }
    }
}

fn location_json(l: &LocationUpdate) -> serde_json::Value {
    serde_json::json!({
        "type": "driver_location",
        "ride_id": l.ride_id.to_string(),
        "driver_id": l.driver.to_string(),
        "lat": l.position.lat(),
        "lng": l.position.lng(),
        "at": rfc3339(l.at),
        "eta_s": l.eta_s,
    })
}

async fn stream(state: ApiState, user: User, after: i64, mut socket: WebSocket) {
    // Subscribe before reading the backlog so that nothing falls between the two.
    let mut bus = state.app.bus().subscribe();
    // Only the operations console listens to every driver's position.
    let mut positions = (user.role == Role::Admin).then(|| state.app.bus().subscribe_positions());
    let mut last = after;
    let hello = serde_json::json!({"type": "hello", "last_event_id": after, "user_id": user.id.to_string()});
    if !send_json(&mut socket, &hello).await
        || !catch_up(&state, &user, &mut last, &mut socket).await
    {
        return;
    }
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    ping.tick().await;
    let mut points = Vec::with_capacity(doorstep_app::drivers::MAX_BATCH);
    let mut batches_in_a_row = 0u32;
    metrics::gauge!("websocket_connections").increment(1.0);
    loop {
        tokio::select! {
            message = bus.recv() => {
                let alive = match message {
                    Ok(BusMessage::Event(e)) => {
                        let mine = user.role == Role::Admin
                            || e.audience.rider == Some(user.id)
                            || e.audience.driver == Some(user.id);
                        if mine && e.id > last { catch_up(&state, &user, &mut last, &mut socket).await } else { true }
                    }
                    Ok(BusMessage::Location(l)) => {
                        if l.rider == user.id || user.role == Role::Admin {
                            send_json(&mut socket, &location_json(&l)).await
                        } else {
                            true
                        }
                    }
                    Err(RecvError::Lagged(_)) => catch_up(&state, &user, &mut last, &mut socket).await,
                    Err(RecvError::Closed) => false,
                };
                if !alive {
                    break;
                }
            }
            position = next_position(&mut positions) => {
                let Some(d) = position else { continue };
                let message = serde_json::json!({
                    "type": "driver_position",
                    "driver_id": d.driver.to_string(),
                    "status": d.status,
                    "lat": d.position.lat(),
                    "lng": d.position.lng(),
                    "at": rfc3339(d.at),
                });
                if !send_json(&mut socket, &message).await {
                    break;
                }
            }
            incoming = socket.recv() => {
                let reply = match incoming {
                    Some(Ok(Message::Text(text))) => {
                        handle_text(&state, &user, text.as_str(), &mut points).await
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        handle_binary(&state, &user, &bytes, &mut points).await
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                if let Some(reply) = reply
                    && !send_json(&mut socket, &reply).await
                {
                    break;
                }
                batches_in_a_row += 1;
                if batches_in_a_row >= BATCHES_PER_TURN {
                    batches_in_a_row = 0;
                    tokio::task::yield_now().await;
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    metrics::gauge!("websocket_connections").decrement(1.0);
}

/// The next driver position for an admin's socket; never resolves for other users. A lagging console
/// skips positions (the next ones supersede them).
async fn next_position(
    positions: &mut Option<tokio::sync::broadcast::Receiver<doorstep_app::DriverPosition>>,
) -> Option<doorstep_app::DriverPosition> {
    match positions {
        Some(rx) => match rx.recv().await {
            Ok(p) => Some(p),
            Err(RecvError::Lagged(_)) => None,
            Err(RecvError::Closed) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// The error frame of a refused message: the HTTP API's error body with `"type":"error"` and the status.
fn error_frame(e: &ApiError) -> serde_json::Value {
    serde_json::json!({
        "type": "error",
        "status": e.status().as_u16(),
        "code": e.code(),
        "message": e.message(),
    })
}

/// The frame that answers a shed batch.
fn shed_frame(lag_ms: u64, points: usize) -> serde_json::Value {
    driver_sockets::record_shed(points);
    error_frame(&ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        format!(
            "the server is {lag_ms} ms behind; this batch was dropped, send the next one later"
        ),
    ))
}

async fn handle_text(
    state: &ApiState,
    user: &User,
    text: &str,
    points: &mut Vec<(LatLng, Timestamp)>,
) -> Option<serde_json::Value> {
    let message: ClientMessage<'_> = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            return Some(error_frame(&ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_message",
                e.to_string(),
            )));
        }
    };
    match (message.kind.as_ref(), message.points) {
        ("ping", _) => Some(serde_json::json!({"type": "pong"})),
        ("locations", Some(wire)) => {
            if let Some(lag) = driver_sockets::overloaded() {
                return Some(shed_frame(lag, wire.len()));
            }
            points.clear();
            for point in &wire {
                match point.parse() {
                    Ok(p) => points.push(p),
                    Err(_) => {
                        return Some(error_frame(&ApiError::unprocessable(
                            "invalid_location",
                            "a point has invalid coordinates or timestamp",
                        )));
                    }
                }
            }
            report(state, user, points).await
        }
        ("nearby", _) => Some(nearby(
            state,
            user,
            message.lat,
            message.lng,
            message.limit,
            message.id,
        )),
        ("locations", None) => Some(error_frame(&ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_message",
            "a locations message needs its points",
        ))),
        (other, _) => Some(error_frame(&ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_message",
            format!(
                "unknown message type {other:?} (expected \"locations\", \"nearby\" or \"ping\")"
            ),
        ))),
    }
}

/// The answer to `{"type":"nearby","lat":..,"lng":..}`: `GET /v1/drivers/nearby` on the socket, without
/// an HTTP request per query (the rider's map can refresh as often as it likes at little cost).
fn nearby(
    state: &ApiState,
    user: &User,
    lat: Option<f64>,
    lng: Option<f64>,
    limit: Option<usize>,
    id: Option<u64>,
) -> serde_json::Value {
    let (Some(lat), Some(lng)) = (lat, lng) else {
        return error_frame(&ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_message",
            "a nearby query needs lat and lng",
        ));
    };
    let answer = LatLng::try_from(crate::dto::LatLngDto { lat, lng })
        .and_then(|p| Ok(state.app.nearby_drivers(user, p, limit.unwrap_or(10))?));
    match answer {
        Ok(found) => {
            let drivers = crate::routes::drivers::NearbyResponse::new(found).drivers;
            serde_json::json!({"type": "nearby", "id": id, "drivers": drivers})
        }
        Err(e) => {
            let mut frame = error_frame(&e);
            frame["id"] = serde_json::json!(id);
            frame
        }
    }
}

async fn handle_binary(
    state: &ApiState,
    user: &User,
    frame: &[u8],
    points: &mut Vec<(LatLng, Timestamp)>,
) -> Option<serde_json::Value> {
    if let Some(lag) = driver_sockets::overloaded() {
        let n = frame.len().saturating_sub(1) / crate::dto::BINARY_POINT_BYTES;
        return Some(shed_frame(lag, n));
    }
    if let Err(e) = parse_binary_locations(frame, points) {
        return Some(error_frame(&e));
    }
    report(state, user, points).await
}

/// Hands a parsed batch to the fleet; an error frame if it is refused.
async fn report(
    state: &ApiState,
    user: &User,
    points: &[(LatLng, Timestamp)],
) -> Option<serde_json::Value> {
    match state.app.report_locations(user, points).await {
        Ok(_) => None,
        Err(e) => Some(error_frame(&ApiError::from(e))),
    }
}
