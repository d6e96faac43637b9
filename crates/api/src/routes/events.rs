//! `GET /v1/events`: the live event stream over a WebSocket.
//!
//! On connect the server sends `{"type":"hello","last_event_id":N}`, then every durable event of the
//! caller's rides after `after` (the last id the client saw; default: now), then live events as they happen,
//! in id order, each once. A durable event on the bus is only a doorbell: the handler reads the caller's
//! events after its last delivered id from the store, so a slow or reconnecting client never sees a gap or a
//! duplicate. Driver positions on the caller's rides arrive as ephemeral `driver_location` messages without
//! an id; admins also receive every driver's `driver_position` (with `status`) every few seconds, for the
//! operations console. Drivers may send `{"type":"locations","points":[{lat,lng,at}]}` batches on the same socket.

use crate::ApiState;
use crate::dto::{LocationPoint, event_json, rfc3339};
use crate::error::ApiError;
use crate::extract::bearer_token;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use doorstep_app::{BusMessage, LocationUpdate};
use doorstep_domain::{Role, User};
use serde::Deserialize;
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

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Locations { points: Vec<LocationPoint> },
    Ping,
}

/// How many events one catch-up read returns.
const PAGE: i64 = 500;

/// Opens the event stream (WebSocket upgrade).
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"), (status = 401, body = crate::error::ErrorBody)))]
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
        .on_upgrade(move |socket| stream(state, user, after, socket)))
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
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let reply = handle_client_message(&state, &user, text.as_str()).await;
                        if let Some(reply) = reply
                            && !send_json(&mut socket, &reply).await
                        {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
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

async fn handle_client_message(
    state: &ApiState,
    user: &User,
    text: &str,
) -> Option<serde_json::Value> {
    let error = |code: &str, message: String| {
        Some(serde_json::json!({"type": "error", "code": code, "message": message}))
    };
    let message: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return error("invalid_message", e.to_string()),
    };
    match message {
        ClientMessage::Ping => Some(serde_json::json!({"type": "pong"})),
        ClientMessage::Locations { points } => {
            let parsed = match points
                .iter()
                .map(LocationPoint::parse)
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(p) => p,
                Err(_) => {
                    return error(
                        "invalid_location",
                        "a point has invalid coordinates or timestamp".into(),
                    );
                }
            };
            match state.app.report_locations(user, &parsed).await {
                Ok(_) => None,
                Err(e) => {
                    let e = ApiError::from(e);
                    error("locations_refused", format!("{}", e.status()))
                }
            }
        }
    }
}
