//! A client of `GET /v1/events`, the WebSocket event stream.

use crate::backend::TestResult;
use crate::server::{TestServer, WAIT};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open event stream.
#[derive(Debug)]
pub struct EventStream {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The server's first message, `{"type":"hello","last_event_id":N}`.
    pub hello: Value,
    /// Repositioning suggestions received so far (idle drivers get them at any moment, so the
    /// other readers set them aside here).
    pub suggestions: Vec<Value>,
}

/// The URL of the event stream, resuming after `after` if given (no credentials).
pub fn events_url(server: &TestServer, after: Option<i64>) -> String {
    let mut url = format!("ws://{}/v1/events", server.addr);
    if let Some(after) = after {
        url.push_str(&format!("?after={after}"));
    }
    url
}

/// The upgrade request of the event stream as the holder of `token` (in the `Authorization` header).
pub fn bearer_request(server: &TestServer, token: &str, after: Option<i64>) -> TestResult<Request> {
    let mut request = events_url(server, after).into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    Ok(request)
}

/// The URL of the event stream opened with a single-use `ticket`.
pub fn ticket_url(server: &TestServer, ticket: &str, after: Option<i64>) -> String {
    let mut url = format!("ws://{}/v1/events?ticket={ticket}", server.addr);
    if let Some(after) = after {
        url.push_str(&format!("&after={after}"));
    }
    url
}

/// A fresh ticket of `token` from `POST /v1/events/tickets`.
pub async fn new_ticket(server: &TestServer, token: &str) -> TestResult<String> {
    let answer = server
        .post_empty("/v1/events/tickets", token)
        .await?
        .expect(201);
    crate::server::field(&answer, "ticket")
}

/// The status and JSON body with which the server refused to open a socket.
pub async fn refused<R>(request: R) -> TestResult<(u16, Value)>
where
    R: tokio_tungstenite::tungstenite::client::IntoClientRequest + Unpin,
{
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            Ok((response.status().as_u16(), serde_json::from_slice(&body)?))
        }
        Err(other) => Err(format!("expected an HTTP refusal, got {other}").into()),
        Ok(_) => Err("expected a refusal, but the socket opened".into()),
    }
}

impl EventStream {
    /// Connects as `token` (in the `Authorization` header) and reads the hello.
    pub async fn open(server: &TestServer, token: &str, after: Option<i64>) -> TestResult<Self> {
        EventStream::connect(bearer_request(server, token, after)?).await
    }

    /// Connects with a single-use ticket in the URL, as browsers do, and reads the hello.
    pub async fn open_with_ticket(
        server: &TestServer,
        ticket: &str,
        after: Option<i64>,
    ) -> TestResult<Self> {
        EventStream::connect(ticket_url(server, ticket, after)).await
    }

    async fn connect<R>(request: R) -> TestResult<Self>
    where
        R: tokio_tungstenite::tungstenite::client::IntoClientRequest + Unpin,
    {
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        let mut stream = EventStream {
            socket,
            hello: Value::Null,
            suggestions: Vec::new(),
        };
        let hello = stream.next_message().await?;
        assert_eq!(hello["type"], "hello", "the stream opens with a hello");
        stream.hello = hello;
        Ok(stream)
    }

    /// Waits for the server's close frame, skipping messages; its code and reason.
    pub async fn closed(&mut self) -> TestResult<(u16, String)> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| "the server did not close the stream in time")?;
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Ok((u16::from(frame.code), frame.reason.as_str().to_owned()));
                }
                Some(Ok(Message::Close(None))) => return Ok((1005, String::new())),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(format!("the stream broke without a close frame: {e}").into());
                }
                None => return Err("the stream ended without a close frame".into()),
            }
        }
    }

    /// Whether the stream is still open: a ping is answered with a pong.
    pub async fn answers_ping(&mut self) -> TestResult<bool> {
        self.send(&serde_json::json!({"type": "ping"})).await?;
        loop {
            match self.next_message().await {
                Ok(message) if message["type"] == "pong" => return Ok(true),
                Ok(_) => {}
                Err(_) => return Ok(false),
            }
        }
    }

    /// The next JSON message, whatever it is; fails after [`WAIT`].
    pub async fn next_message(&mut self) -> TestResult<Value> {
        self.next_message_within(WAIT)
            .await?
            .ok_or_else(|| "no message on the event stream in time".into())
    }

    /// The next JSON message if one arrives within `limit`.
    pub async fn next_message_within(&mut self, limit: Duration) -> TestResult<Option<Value>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Ok(next) => next,
                Err(_) => return Ok(None),
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text)?;
                    if message["type"] == "reposition_suggested" {
                        self.suggestions.push(message);
                        continue;
                    }
                    return Ok(Some(message));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!("the server closed the stream: {frame:?}").into());
                }
                // Pings are answered by the library; nothing else is expected.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Err("the event stream ended".into()),
            }
        }
    }

    /// The next durable event (a message with an `id`), skipping ephemeral driver locations.
    pub async fn next_event(&mut self) -> TestResult<Value> {
        loop {
            let message = self.next_message().await?;
            if message.get("id").is_some() {
                return Ok(message);
            }
            assert_eq!(
                message["type"], "driver_location",
                "only driver locations come without an id: {message}"
            );
        }
    }

    /// Durable events until (and including) the first of type `last`.
    pub async fn events_until(&mut self, last: &str) -> TestResult<Vec<Value>> {
        let mut events = Vec::new();
        loop {
            let event = self.next_event().await?;
            let done = event["type"] == last;
            events.push(event);
            if done {
                return Ok(events);
            }
        }
    }

    /// The next `driver_location` message, skipping durable events.
    pub async fn next_location(&mut self) -> TestResult<Value> {
        loop {
            let message = self.next_message().await?;
            if message["type"] == "driver_location" {
                return Ok(message);
            }
        }
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, value: &Value) -> TestResult {
        self.socket.send(Message::text(value.to_string())).await?;
        Ok(())
    }

    /// Sends a text message as it is.
    pub async fn send_text(&mut self, text: String) -> TestResult {
        self.socket.send(Message::text(text)).await?;
        Ok(())
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> TestResult {
        self.socket.send(Message::binary(bytes)).await?;
        Ok(())
    }

    /// Closes the stream.
    pub async fn close(mut self) -> TestResult {
        self.socket.close(None).await?;
        Ok(())
    }
}
