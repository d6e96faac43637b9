//! The WebSocket half of the public API: one connection per agent to `/v1/events`, kept open
//! across failures and resumed without gaps from the last durable event id seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;

use crate::api::MAX_BACKOFF;
use crate::shutdown::Shutdown;
use crate::wire::{EventKind, ServerEvent};

/// Pause before the first reconnection; it doubles up to [`MAX_BACKOFF`].
const FIRST_RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// Events buffered between the connection task and its agent.
const INBOUND_BUFFER: usize = 64;
/// Outgoing messages buffered while the connection is busy or down; more are dropped.
const OUTGOING_BUFFER: usize = 16;

/// What the connection tells its agent.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// The connection is (re)established: events missed while it was down have been or will be
    /// replayed, but state that is not an event (pending offers) is worth polling.
    Connected,
    /// A durable event.
    Event(ServerEvent),
}

/// An agent's event connection, maintained by a background task until the link is dropped or the
/// demo stops.
#[derive(Debug)]
pub(crate) struct EventLink {
    /// Events and connection notices, in order.
    pub(crate) inbound: mpsc::Receiver<Inbound>,
    outgoing: mpsc::Sender<String>,
    last_event_id: Arc<AtomicI64>,
    task: JoinHandle<()>,
}

impl EventLink {
    /// Opens the event stream at `url` (`ws://host/v1/events`) as the holder of `token`, resuming
    /// after durable event `after` (0: from now on).
    pub(crate) fn open(url: String, token: String, after: i64, shutdown: Shutdown) -> EventLink {
        let (inbound_tx, inbound) = mpsc::channel(INBOUND_BUFFER);
        let (outgoing, outgoing_rx) = mpsc::channel(OUTGOING_BUFFER);
        let last_event_id = Arc::new(AtomicI64::new(after));
        let task = tokio::spawn(maintain(
            Endpoint { url, token },
            Arc::clone(&last_event_id),
            inbound_tx,
            outgoing_rx,
            shutdown,
        ));
        EventLink {
            inbound,
            outgoing,
            last_event_id,
            task,
        }
    }

    /// Queues a text message for the server; false if it had to be dropped because the queue is
    /// full (the connection is down or slow).
    pub(crate) fn try_send(&self, text: String) -> bool {
        self.outgoing.try_send(text).is_ok()
    }

    /// Waits until the connection is up (true), for at most `limit`; false on timeout or if the
    /// connection task ended. Events that arrive meanwhile are lost, so call it before anything
    /// happens that the agent must hear about.
    pub(crate) async fn connected(&mut self, limit: Duration) -> bool {
        let wait = async {
            while let Some(inbound) = self.inbound.recv().await {
                if matches!(inbound, Inbound::Connected) {
                    return true;
                }
            }
            false
        };
        tokio::time::timeout(limit, wait).await.unwrap_or(false)
    }

    /// The id of the last durable event received, to resume from on a later connection.
    pub(crate) fn last_event_id(&self) -> i64 {
        self.last_event_id.load(Ordering::Relaxed)
    }
}

impl Drop for EventLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where and as whom to connect.
struct Endpoint {
    url: String,
    token: String,
}

impl Endpoint {
    /// The URL to connect to now: with the last event id if there is one. The token goes in the
    /// `Authorization` header, never in the URL.
    fn url_after(&self, after: i64) -> String {
        if after > 0 {
            format!("{}?after={after}", self.url)
        } else {
            self.url.clone()
        }
    }
}

/// Keeps one connection open: connects, forwards events and outgoing messages, and reconnects
/// with backoff when the connection fails, until the agent drops its link or the demo stops.
async fn maintain(
    endpoint: Endpoint,
    last_event_id: Arc<AtomicI64>,
    inbound: mpsc::Sender<Inbound>,
    mut outgoing: mpsc::Receiver<String>,
    mut shutdown: Shutdown,
) {
    let mut pause = FIRST_RECONNECT_PAUSE;
    loop {
        if shutdown.is_stopping() || inbound.is_closed() {
            return;
        }
        let url = endpoint.url_after(last_event_id.load(Ordering::Relaxed));
        let request = match url.as_str().into_client_request() {
            Ok(mut request) => {
                // Apps that can set headers authenticate the socket like any request.
                if let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", endpoint.token)) {
                    request.headers_mut().insert(AUTHORIZATION, value);
                }
                request
            }
            Err(error) => {
                tracing::error!(url = %endpoint.url, %error, "invalid events url; no live events for this agent");
                return;
            }
        };
        let connected = tokio::select! {
            () = shutdown.wait() => return,
            result = tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), true) => result,
        };
        match connected {
            Ok((socket, _response)) => {
                pause = FIRST_RECONNECT_PAUSE;
                if inbound.send(Inbound::Connected).await.is_err() {
                    return;
                }
                let (mut sink, mut stream) = socket.split();
                loop {
                    tokio::select! {
                        () = shutdown.wait() => {
                            let _ = sink.send(Message::Close(None)).await;
                            return;
                        }
                        frame = stream.next() => match frame {
                            Some(Ok(Message::Text(text))) => {
                                match serde_json::from_str::<ServerEvent>(text.as_str()) {
                                    Ok(event) => {
                                        if let Some(id) = event.id {
                                            last_event_id.fetch_max(id, Ordering::Relaxed);
                                        }
                                        // Positions of the rider's driver are not needed.
                                        if event.kind == EventKind::DriverLocation {
                                            continue;
                                        }
                                        if event.kind == EventKind::Hello {
                                            // Without an `after`, the server starts from "now":
                                            // resume from there if this connection drops.
                                            if let Some(id) = event.last_event_id {
                                                last_event_id.fetch_max(id, Ordering::Relaxed);
                                            }
                                            continue;
                                        }
                                        if event.kind == EventKind::Error {
                                            tracing::debug!(code = ?event.code, "the server refused a message");
                                            continue;
                                        }
                                        if inbound.send(Inbound::Event(event)).await.is_err() {
                                            return;
                                        }
                                    }
                                    Err(error) => {
                                        tracing::debug!(%error, "unreadable event frame skipped");
                                    }
                                }
                            }
                            Some(Ok(Message::Close(_))) | None => break,
                            Some(Ok(_)) => {}
                            Some(Err(error)) => {
                                tracing::debug!(%error, "event connection failed");
                                break;
                            }
                        },
                        message = outgoing.recv() => match message {
                            Some(text) => {
                                if let Err(error) = sink.send(Message::text(text)).await {
                                    tracing::debug!(%error, "event connection failed while sending");
                                    break;
                                }
                            }
                            None => return,
                        },
                    }
                }
            }
            Err(error) => {
                tracing::debug!(%error, "event connection refused");
            }
        }
        if !shutdown.sleep(pause).await {
            return;
        }
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}

/// Small socket buffers: each agent exchanges a few short JSON messages a second, and the demo runs
/// hundreds of them in one process (the default is 128 KiB each way per socket).
fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}
