//! A client of `GET /v1/events`, the WebSocket event stream.

use crate::backend::TestResult;
use crate::server::{TestServer, WAIT};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open event stream.
#[derive(Debug)]
pub struct EventStream {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The server's first message, `{"type":"hello","last_event_id":N}`.
    pub hello: Value,
}

/// The URL of the event stream for `token`, resuming after `after` if given.
pub fn events_url(server: &TestServer, token: &str, after: Option<i64>) -> String {
    let mut url = format!("ws://{}/v1/events?token={token}", server.addr);
    if let Some(after) = after {
        url.push_str(&format!("&after={after}"));
    }
    url
}

impl EventStream {
    /// Connects as `token` and reads the hello.
    pub async fn open(server: &TestServer, token: &str, after: Option<i64>) -> TestResult<Self> {
        let (socket, _) =
            tokio_tungstenite::connect_async(events_url(server, token, after)).await?;
        let mut stream = EventStream {
            socket,
            hello: Value::Null,
        };
        let hello = stream.next_message().await?;
        assert_eq!(hello["type"], "hello", "the stream opens with a hello");
        stream.hello = hello;
        Ok(stream)
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
                Some(Ok(Message::Text(text))) => return Ok(Some(serde_json::from_str(&text)?)),
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
