//! How the event stream treats slow, silent and far-behind clients: a write that the client does not
//! take in time drops the socket, a ping without a pong closes it, and a client far behind catches up in
//! bounded pages with every event once and in order. Timings are shortened per test.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::{EventStream, bearer_request};
use crate::places::{TIMES_SQUARE, UNION_SQUARE};
use crate::ride_steps::{ids, types};
use crate::server::{TestServer, WAIT, field};
use doorstep_api::routes::events::StreamTimings;
use doorstep_app::{BusMessage, LocationUpdate};
use doorstep_domain::{RideId, UserId};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Timings with nothing short but `change`.
fn timings(change: impl FnOnce(&mut StreamTimings)) -> StreamTimings {
    let mut t = StreamTimings {
        write_timeout: Duration::from_secs(30),
        ping_interval: Duration::from_secs(3600),
        pong_deadline: Duration::from_secs(3600),
        catch_up_page: 500,
    };
    change(&mut t);
    t
}

pub async fn a_client_that_stops_reading_is_dropped_once_a_write_times_out(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start_with_timings(
        &db,
        timings(|t| t.write_timeout = Duration::from_millis(200)),
    )
    .await?;
    let rider = server.signup("rider").await?;
    let rider_id: UserId = rider.id.parse()?;
    // The client reads the hello, then nothing more (it keeps the connection open).
    let (mut socket, _) =
        tokio_tungstenite::connect_async(bearer_request(&server, &rider.token, None)?).await?;
    futures_util::StreamExt::next(&mut socket).await;
    assert_eq!(server.app.bus().subscribers(), 1);
    // Driver locations pile up until the kernel's buffers are full and a write blocks.
    let place = doorstep_geo::LatLng::new(TIMES_SQUARE.lat, TIMES_SQUARE.lng)?;
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.app.bus().subscribers() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still holds the socket of a client that stopped reading"
        );
        for _ in 0..200 {
            server
                .app
                .bus()
                .publish(BusMessage::Location(LocationUpdate {
                    ride_id: RideId::from_uuid(uuid::Uuid::now_v7()),
                    rider: rider_id,
                    driver: rider_id,
                    position: place,
                    at: server.clock.now(),
                    eta_s: Some(60),
                }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(socket);
    server.stop().await
}

pub async fn a_client_that_never_answers_a_ping_is_closed_after_the_pong_deadline(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start_with_timings(
        &db,
        timings(|t| {
            t.ping_interval = Duration::from_millis(100);
            t.pong_deadline = Duration::from_millis(300);
        }),
    )
    .await?;
    let rider = server.signup("rider").await?;
    // A client that does the handshake and then only reads: it never sends a pong.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await?;
    let handshake = format!(
        "GET /v1/events HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: Bearer {}\r\n\r\n",
        server.addr, rider.token
    );
    tcp.write_all(handshake.as_bytes()).await?;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the server kept the socket of a client that never answered a ping open"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(
        text.contains("pong_timeout"),
        "closed with its reason: {text}"
    );

    // A client that answers pings (tungstenite does it as it reads) stays.
    let mut live = EventStream::open(&server, &rider.token, None).await?;
    assert!(
        live.next_message_within(Duration::from_millis(800))
            .await?
            .is_none(),
        "nothing but pings"
    );
    assert!(live.answers_ping().await?, "a live client is kept");
    live.close().await?;
    server.stop().await
}

pub async fn a_client_far_behind_catches_up_in_pages_with_each_event_once_in_order(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start_with_timings(&db, timings(|t| t.catch_up_page = 3)).await?;
    let rider = server.signup("rider").await?;
    let mut ride_ids = Vec::new();
    for _ in 0..5 {
        let ride = server
            .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
            .await?;
        let ride_id = field(&ride, "ride_id")?;
        server
            .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &rider.token)
            .await?
            .expect(200);
        ride_ids.push(ride_id);
    }
    let mut expected = Vec::new();
    for ride_id in &ride_ids {
        expected.extend(ids(&server.timeline(&rider, ride_id).await?));
    }
    assert_eq!(expected.len(), 10, "a request and a cancellation per ride");

    // Ten events behind, three per read.
    let mut stream = EventStream::open(&server, &rider.token, Some(0)).await?;
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        seen.push(stream.next_event().await?);
    }
    assert_eq!(ids(&seen), expected);
    assert_eq!(
        types(&seen),
        ["requested", "cancelled"].repeat(5),
        "{seen:?}"
    );
    let extra = stream
        .next_message_within(Duration::from_millis(300))
        .await?;
    assert!(extra.is_none(), "nothing twice: {extra:?}");
    stream.close().await?;
    server.stop().await
}
