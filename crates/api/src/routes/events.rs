//! `GET /v1/events`: the live event stream over a WebSocket.
//!
//! On connect the server sends `{"type":"hello","last_event_id":N}`, then every durable event of the
//! caller's rides after `after` (the last id the client saw; default: now), then live events as they happen,
//! in id order, each once. Each socket subscribes to the bus under its user id ([`doorstep_app::bus`]): only
//! the recipients of an event (and operators' sockets) are woken for it. A durable event on the bus is only a
//! doorbell: the handler reads the caller's events after its last delivered id from the store, a bounded page
//! at a time, so a slow or reconnecting client never sees a gap or a duplicate (why ids of one recipient only
//! grow, without a table lock: `doorstep_store`'s `events` module). Events go out in the versioned wire format
//! [`crate::dto::EventV1`]. Driver positions on the caller's rides arrive as ephemeral `driver_location` messages without
//! an id; admins also receive every driver's `driver_position` (with `status`) every few seconds, for the
//! operations console.
//!
//! Drivers send their positions on the same socket, as JSON text `{"type":"locations","points":[{lat,lng,at}]}`
//! or, more cheaply, as binary batches ([`crate::dto::parse_binary_locations`]: a version byte `1`, then 16
//! bytes a point). A good batch gets no answer; a bad one gets an error frame
//! `{"type":"error","status":422,"code":"invalid_location","message":"..."}` and the socket stays open; a
//! batch with points the server does not believe (too fast, outside the service area's margin) gets
//! `{"type":"locations_rejected","accepted":..,"rejected":..,"too_fast":..,"outside_service_area":..}`.
//! Drivers' sockets run on their own runtime and may be shed under overload ([`crate::driver_sockets`]).
//!
//! Authentication: `Authorization: Bearer` on the upgrade request (apps that can set headers), or a
//! single-use ticket from `POST /v1/events/tickets` in `?ticket=` (browsers, which cannot). A bearer token
//! in the URL (`?token=`) is refused with 400 `token_in_url`: URLs end up in proxy and debug logs.
//!
//! Limits: a message over [`MAX_MESSAGE_BYTES`] closes the socket with close code 1009 (message too big);
//! each user and each client IP may hold a few sockets at once ([`crate::open_sockets`]), and the oldest
//! one over a cap is closed with 1008 `too_many_connections`; `nearby` queries count against the caller's
//! request quota ([`crate::rate_limit`]) and are answered `rate_limited` (429) over it. Writes have a
//! timeout and pings a pong deadline ([`StreamTimings`]; a silent peer is closed with 1001 `pong_timeout`).

use crate::ApiState;
use crate::driver_sockets;
use crate::dto::{WireLocationPoint, event_json, parse_binary_locations, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller, bearer_token};
use crate::open_sockets::{Cap, Registration, TOO_MANY_CONNECTIONS};
use axum::Json;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use doorstep_app::{Delivery, Interest, LocationUpdate};
use doorstep_domain::{Role, Timestamp, User};
use doorstep_geo::LatLng;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// Query of the event stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// A single-use ticket from `POST /v1/events/tickets` (browsers cannot set headers on a WebSocket);
    /// clients that can send `Authorization: Bearer` instead. Never put the bearer token itself in the URL:
    /// `?token=` is refused with 400 `token_in_url`.
    pub ticket: Option<String>,
    /// Resume after this event id.
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// A ticket that opens one event stream.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TicketResponse {
    /// Pass it as `GET /v1/events?ticket=...`; it works once.
    pub ticket: String,
    /// When it stops working if unused (RFC 3339, about 30 s after issue).
    pub expires_at: String,
}

/// The largest message a client may send on the event stream, bytes; a larger one closes the socket
/// with close code 1009.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// The largest frame read before it is refused unread. Frames up to this size are read whole, so that the
/// 1009 close frame reaches the client before the connection ends; beyond it the connection may be
/// reset before the client reads the close frame.
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Close reason of a message over [`MAX_MESSAGE_BYTES`].
pub const MESSAGE_TOO_BIG: &str = "message_too_big";

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
/// How an event stream treats a slow or silent peer.
///
/// A socket whose peer stopped reading would otherwise hold its task, its buffers and its database
/// reads forever: every write has a deadline ([`StreamTimings::write_timeout`]), after which the socket
/// is dropped. A peer that vanished without closing (a phone that lost its network) is found by pings: if
/// nothing at all (a pong or any other message) arrives within [`StreamTimings::pong_deadline`] of a
/// ping, the socket is closed. A socket that fell behind catches up from the store in pages of
/// [`StreamTimings::catch_up_page`] events, one bounded query at a time, never one unbounded read.
/// Closes are counted in `websocket_closed_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimings {
    /// Longest a write to the socket may take.
    pub write_timeout: Duration,
    /// How often the server pings a quiet socket.
    pub ping_interval: Duration,
    /// How long after a ping the peer has to send a pong (or anything else).
    pub pong_deadline: Duration,
    /// How many events one catch-up query reads at most.
    pub catch_up_page: i64,
}

impl Default for StreamTimings {
    fn default() -> Self {
        StreamTimings {
            write_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            pong_deadline: Duration::from_secs(20),
            catch_up_page: 500,
        }
    }
}
/// A driver's socket lets the others take a turn after this many location batches in a row.
const BATCHES_PER_TURN: u32 = 16;

/// How many times a socket's task woke for a message from the bus, over all sockets of this process.
static BUS_WAKEUPS: AtomicU64 = AtomicU64::new(0);

/// How many times a socket's task woke for a message from the bus (a durable event's doorbell or a
/// driver location), summed over every socket of this process since it started; also served as
/// `websocket_bus_wakeups_total`. `doorstep bench fanout` divides it by the messages published.
pub fn bus_wakeups() -> u64 {
    BUS_WAKEUPS.load(Ordering::Relaxed)
}

/// Counts one wake-up of a socket's task for a bus message.
fn count_bus_wakeup() {
    BUS_WAKEUPS.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("websocket_bus_wakeups_total").increment(1);
}

/// Issues a single-use ticket for the event stream: `GET /v1/events?ticket=...` within about 30 s.
///
/// Browsers cannot set an `Authorization` header on a WebSocket, and a bearer token in a URL ends up in
/// proxy and debug logs; a ticket in the URL is worthless once used or expired. Fetch a new one before
/// every (re)connect.
#[utoipa::path(post, path = "/v1/events/tickets", operation_id = "create_ticket", tag = "events",
    responses((status = 201, body = TicketResponse)))]
pub async fn ticket(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<(StatusCode, Json<TicketResponse>), ApiError> {
    let (ticket, expires_at) = state.app.issue_ws_ticket(&user).await?;
    Ok((
        StatusCode::CREATED,
        Json(TicketResponse {
            ticket: ticket.expose().to_owned(),
            expires_at: rfc3339(expires_at),
        }),
    ))
}

/// Whether a query string carries a `token` parameter.
fn has_token_param(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|kv| {
            kv.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("token"))
        })
    })
}

/// Opens the event stream (WebSocket upgrade).
///
/// Authenticate with `Authorization: Bearer <token>` or with `?ticket=` (from `POST /v1/events/tickets`,
/// single use); `?token=` is refused with 400 `token_in_url`. The server sends
/// `{"type":"hello","last_event_id":N}`, then the caller's events after `after`, then live
/// events, each once and in id order. Each durable event is an `EventV1` (schema below: `v: 1`, `id`,
/// `ride_id`, `at`, `type` and the type's fields), the same as in `GET /v1/rides/{id}/events`. Drivers send their positions on the same socket, either as text
/// `{"type":"locations","points":[{"lat":..,"lng":..,"at":"RFC 3339"}]}` or as compact binary messages: a
/// version byte `1`, then 1 to 100 points of 16 bytes, little-endian: latitude × 10⁷ (`i32`), longitude ×
/// 10⁷ (`i32`), time in Unix milliseconds (`i64`). Good batches get no answer. A bad message gets an error
/// frame `{"type":"error","status":422,"code":"...","message":"..."}` (codes `invalid_message` (400),
/// `invalid_binary_batch`, `invalid_batch`, `invalid_location`, `location_in_future` (422), `forbidden`
/// (403), `rate_limited` (429)) and the socket stays open. A batch with points the server does not believe
/// (too fast from the previous accepted point, or outside the service area's margin; see
/// `POST /v1/drivers/me/locations`) is answered
/// `{"type":"locations_rejected","accepted":N,"rejected":M,"too_fast":..,"outside_service_area":..}`; `overloaded` (503) means the server shed the
/// batch because it is behind. `{"type":"ping"}` is answered `{"type":"pong"}` after every earlier message
/// was handled. Riders (and admins) may ask `{"type":"nearby","lat":..,"lng":..,"limit":10,"id":7}` on the
/// socket and get `{"type":"nearby","id":7,"drivers":[...]}`, the answer of `GET /v1/drivers/nearby`,
/// counted against the same per-user rate limit.
///
/// Close codes: 1009 `message_too_big` for a message over 256 KiB; 1008 `too_many_connections` when a
/// newer socket of the same user (default cap 5) or client IP (default 50) took this one's place.
#[utoipa::path(get, path = "/v1/events", operation_id = "event_stream", tag = "events", params(EventsQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, description = "token_in_url"),
        (status = 422, description = "invalid_after"), (status = 426, description = "websocket_required")))]
pub async fn events(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<EventsQuery>,
    parts: Parts,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    if has_token_param(parts.uri.query()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "token_in_url",
            "never put a bearer token in a URL: send it as Authorization: Bearer, or get a ticket \
             from POST /v1/events/tickets and open /v1/events?ticket=...",
        ));
    }
    let unauthenticated = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid bearer token or ticket is required",
        )
    };
    let bearer = bearer_token(&parts);
    // A bearer token is checked at once (checking spends nothing); a ticket only once the request is
    // known to be a well-formed upgrade, because redeeming spends it.
    let bearer_user = match (&q.ticket, bearer) {
        (None, None) => return Err(unauthenticated()),
        (None, Some(token)) => Some(state.app.authenticate(token).await?),
        (Some(_), _) => None,
    };
    let ws = ws.map_err(|_| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            "open this endpoint as a WebSocket",
        )
    })?;
    if q.after.is_some_and(|a| a < 0) {
        return Err(ApiError::unprocessable(
            "invalid_after",
            "after must be a non-negative id",
        ));
    }
    // Only now, with a well-formed request, is a ticket spent.
    let user = match (bearer_user, &q.ticket) {
        (Some(user), _) => user,
        (None, Some(ticket)) => state.app.redeem_ws_ticket(ticket).await?,
        (None, None) => return Err(unauthenticated()),
    };
    let after = match q.after {
        Some(a) => a,
        // Operators read the whole log below its visibility horizon; anyone else starts after their own
        // newest event, which every later event of theirs follows (crates/store/src/events.rs).
        None if user.role == Role::Admin => state
            .app
            .store()
            .event_horizon()
            .await
            .map_err(doorstep_app::AppError::from)?,
        None => state
            .app
            .store()
            .last_event_id_for(user.id)
            .await
            .map_err(doorstep_app::AppError::from)?,
    };
    let ip = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // tungstenite zero-fills the free part of its read buffer before every read: at the default
        // 128 KiB that memset was the largest single cost of a location batch. A full batch is under
        // 8 KiB as JSON and 1.6 KiB as binary.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            let registration = state.sockets.register(user.id, ip);
            if user.role == Role::Driver {
                driver_sockets::spawn(stream(state, user, after, socket, registration));
            } else {
                stream(state, user, after, socket, registration).await;
            }
        }))
}

/// Sends a close frame with `code` and `reason`, within the write timeout; the caller then drops the
/// socket.
async fn close_with(state: &ApiState, socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    // The peer may be gone already.
    let _ = send(state, socket, Message::Close(Some(frame))).await;
}

/// Counts a socket closed by the server for `reason` (a bounded set of names).
fn count_close(reason: &'static str) {
    metrics::counter!("websocket_closed_total", "reason" => reason).increment(1);
}

/// Sends one message within the write timeout. False if the peer is gone or did not take it in time
/// (then the caller drops the socket).
async fn send(state: &ApiState, socket: &mut WebSocket, message: Message) -> bool {
    match tokio::time::timeout(state.streams.write_timeout, socket.send(message)).await {
        Ok(sent) => sent.is_ok(),
        Err(_) => {
            count_close("write_timeout");
            tracing::debug!("websocket write timed out; closing it");
            false
        }
    }
}

/// Whether a read failed because the message was over the size limit (tungstenite's capacity error,
/// wrapped by axum).
fn message_too_big(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
    error
        .into_inner()
        .downcast_ref::<Error>()
        .is_some_and(|e| matches!(e, Error::Capacity(CapacityError::MessageTooLong { .. })))
}

/// Resolves when a newer socket took this one's place under a cap; never otherwise.
async fn superseded(registration: &mut Registration) -> Cap {
    match (&mut registration.superseded).await {
        Ok(cap) => cap,
        // The registry dropped the sender without a word: only at the socket's own end.
        Err(_) => std::future::pending().await,
    }
}

async fn send_json(state: &ApiState, socket: &mut WebSocket, value: &serde_json::Value) -> bool {
    send(
        state,
        socket,
        Message::Text(Utf8Bytes::from(value.to_string())),
    )
    .await
}

/// Sends every event of `user` after `*last`, advancing `*last`, reading at most a page at a time.
/// Returns false if the socket is gone.
async fn catch_up(state: &ApiState, user: &User, last: &mut i64, socket: &mut WebSocket) -> bool {
    let page_size = state.streams.catch_up_page.max(1);
    loop {
        let page = if user.role == Role::Admin {
            state.app.store().events_after(*last, page_size).await
        } else {
            state
                .app
                .store()
                .events_for_user(user.id, *last, page_size)
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
            let mut wire = event_json(e);
            if let Some(doorstep_domain::ride::RideEvent::Offered { offer_id, .. }) =
                e.event.as_ride()
                && let Ok(Some(offer)) = state.app.store().offer(*offer_id).await
                && let Some(obj) = wire.as_object_mut()
            {
                // The driver sees what they earn, not what the rider pays.
                let take = crate::dto::MoneyDto::from(state.app.driver_take(offer.fare));
                obj.insert(
                    "driver_take".to_owned(),
                    serde_json::to_value(take).unwrap_or_default(),
                );
            }
            if !send_json(state, socket, &wire).await {
                return false;
            }
            *last = e.id;
        }
        if i64::try_from(events.len()).unwrap_or(0) < page_size {
            return true;
        }
    }
}

fn location_json(l: &LocationUpdate) -> serde_json::Value {
    serde_json::json!({
        "type": "driver_location",
        "ride_id": l.ride_id.to_string(),
        // The job the worker is on: a ride's (the same id) or an order's.
        "job_id": l.ride_id.to_string(),
        "driver_id": l.driver.to_string(),
        "lat": l.position.lat(),
        "lng": l.position.lng(),
        "at": rfc3339(l.at),
        "eta_s": l.eta_s,
    })
}

async fn stream(
    state: ApiState,
    user: User,
    after: i64,
    mut socket: WebSocket,
    mut registration: Registration,
) {
    // Subscribe before reading the backlog so that nothing falls between the two. Only this user's
    // events and locations ring this socket; operators' sockets hear everything.
    let interest = if user.role == Role::Admin {
        Interest::Everything
    } else {
        Interest::Own
    };
    let mut bus = state.app.bus().subscribe(user.id, interest);
    // Only the operations console listens to every driver's position.
    let mut positions = (user.role == Role::Admin).then(|| state.app.bus().subscribe_positions());
    let mut last = after;
    let hello = serde_json::json!({"type": "hello", "last_event_id": after, "user_id": user.id.to_string()});
    if !send_json(&state, &mut socket, &hello).await
        || !catch_up(&state, &user, &mut last, &mut socket).await
    {
        return;
    }
    let timings = state.streams;
    let mut ping = tokio::time::interval(timings.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    // When the peer must have answered the last ping; `None` while nothing is outstanding.
    let mut pong_due: Option<Instant> = None;
    let mut points = Vec::with_capacity(doorstep_app::drivers::MAX_BATCH);
    let mut batches_in_a_row = 0u32;
    metrics::gauge!("websocket_connections").increment(1.0);
    loop {
        tokio::select! {
            delivery = bus.recv() => {
                count_bus_wakeup();
                let alive = match delivery {
                    Delivery::Events => catch_up(&state, &user, &mut last, &mut socket).await,
                    Delivery::Location(l) => send_json(&state, &mut socket, &location_json(&l)).await,
                    Delivery::Suggestion(r) => {
                        let message = serde_json::json!({
                            "type": "reposition_suggested",
                            "lat": r.to.lat(),
                            "lng": r.to.lng(),
                            "zone": r.zone,
                            "at": rfc3339(r.at),
                        });
                        send_json(&state, &mut socket, &message).await
                    }
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
                if !send_json(&state, &mut socket, &message).await {
                    break;
                }
            }
            incoming = socket.recv() => {
                // Anything from the peer shows it is there.
                pong_due = None;
                let reply = match incoming {
                    Some(Ok(Message::Text(text))) => {
                        handle_text(&state, &user, text.as_str(), &mut points).await
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        handle_binary(&state, &user, &bytes, &mut points).await
                    }
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => {
                        if message_too_big(e) {
                            close_with(&state, &mut socket, close_code::SIZE, MESSAGE_TOO_BIG).await;
                        }
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                if let Some(reply) = reply
                    && !send_json(&state, &mut socket, &reply).await
                {
                    break;
                }
                batches_in_a_row += 1;
                if batches_in_a_row >= BATCHES_PER_TURN {
                    batches_in_a_row = 0;
                    tokio::task::yield_now().await;
                }
            }
            cap = superseded(&mut registration) => {
                tracing::debug!(user_id = %user.id, cap = cap.as_str(), "websocket superseded by a newer one");
                close_with(&state, &mut socket, close_code::POLICY, TOO_MANY_CONNECTIONS).await;
                break;
            }
            () = pong_deadline(pong_due) => {
                tracing::debug!(user_id = %user.id, "no pong within the deadline; closing the websocket");
                count_close("pong_timeout");
                close_with(&state, &mut socket, close_code::AWAY, PONG_TIMEOUT).await;
                break;
            }
            _ = ping.tick() => {
                if !send(&state, &mut socket, Message::Ping(Default::default())).await {
                    break;
                }
                if pong_due.is_none() {
                    pong_due = Some(Instant::now() + timings.pong_deadline);
                }
            }
        }
    }
    metrics::gauge!("websocket_connections").decrement(1.0);
}

/// Close reason of a socket whose peer did not answer a ping in time.
pub const PONG_TIMEOUT: &str = "pong_timeout";

/// Resolves at `due`; never when nothing is due.
async fn pong_deadline(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
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
    if let Err(wait_secs) = state.limiter.check_user(user.id) {
        let mut frame = error_frame(&crate::rate_limit::rate_limited());
        frame["id"] = serde_json::json!(id);
        frame["retry_after_s"] = serde_json::json!(wait_secs.max(1));
        return frame;
    }
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

/// Hands a parsed batch to the fleet; an error frame if it is refused, a `locations_rejected` frame with
/// the counts if some points were not believed, nothing otherwise.
async fn report(
    state: &ApiState,
    user: &User,
    points: &[(LatLng, Timestamp)],
) -> Option<serde_json::Value> {
    match state.app.report_locations(user, points).await {
        Ok(report) if report.rejected.total() == 0 => None,
        Ok(report) => {
            let counts = crate::dto::LocationsAccepted::from(report);
            let mut frame = serde_json::json!(counts);
            frame["type"] = "locations_rejected".into();
            Some(frame)
        }
        Err(e) => Some(error_frame(&ApiError::from(e))),
    }
}
