//! The WebSocket event stream: a ride's events in id order, resuming without gaps or duplicates, driver
//! locations pushed to the rider, and authentication.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::{EventStream, bearer_request, events_url, refused, ticket_url};
use crate::places::{BRYANT_PARK, GRAND_CENTRAL, TIMES_SQUARE, UNION_SQUARE};
use crate::ride_steps::{ids, types};
use crate::server::{TestServer, field};
use serde_json::{Value, json};
use std::time::Duration;

/// Checks that `events` are in strictly increasing id order and all about `ride_id`.
#[track_caller]
fn assert_in_order_for(events: &[Value], ride_id: &str) {
    let ids = ids(events);
    assert_eq!(ids.len(), events.len(), "every event has an id: {events:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
    assert!(events.iter().all(|e| e["ride_id"] == ride_id), "{events:?}");
}

pub async fn a_rider_on_the_event_stream_sees_the_whole_ride_in_order_and_the_driver_sees_the_offer(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let mut rider_events = EventStream::open(&server, &rider.token, None).await?;
    let mut driver_events = EventStream::open(&server, &driver.token, None).await?;
    assert!(
        rider_events.hello["last_event_id"].is_i64(),
        "{}",
        rider_events.hello
    );
    assert_eq!(rider_events.hello["user_id"], rider.id.as_str());

    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;

    let offered = driver_events.next_event().await?;
    assert_eq!(offered["type"], "offered", "{offered}");
    assert_eq!(offered["ride_id"], ride_id.as_str());
    assert_eq!(offered["driver"], driver.id.as_str());
    assert!(offered["expires_at"].is_string(), "{offered}");
    // The driver sees what they earn from it: the quoted fare less the platform's commission.
    let fare = crate::server::usd(&ride["fare"]);
    let commission = (fare * server.app.config().pricing.commission_bps + 5_000) / 10_000;
    assert_eq!(
        crate::server::usd(&offered["driver_take"]),
        fare - commission,
        "{offered}"
    );
    // The offer on the stream is the one the driver can accept.
    server.accept(&driver, &offered).await?;
    let assigned = server.ride(&rider, &ride_id).await?;
    server.drive_to_completion(&driver, &assigned, 600).await?;

    let seen = rider_events.events_until("completed").await?;
    assert_eq!(
        types(&seen),
        [
            "requested",
            "driver_assigned",
            "driver_arrived",
            "started",
            "completed"
        ]
    );
    assert_in_order_for(&seen, &ride_id);
    assert_eq!(ids(&seen), ids(&server.timeline(&rider, &ride_id).await?));
    assert_eq!(seen[1]["driver"], driver.id.as_str());

    let driver_seen = driver_events.events_until("completed").await?;
    assert_eq!(
        types(&driver_seen),
        ["driver_assigned", "driver_arrived", "started", "completed"]
    );
    assert_in_order_for(&driver_seen, &ride_id);
    let (offer_id, assigned_id) = (offered["id"].as_i64(), driver_seen[0]["id"].as_i64());
    assert!(
        matches!((offer_id, assigned_id), (Some(o), Some(a)) if o < a),
        "{offer_id:?} {assigned_id:?}"
    );

    rider_events.close().await?;
    driver_events.close().await?;
    server.stop().await
}

pub async fn a_client_that_reconnects_after_its_last_event_gets_exactly_the_events_it_missed(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let mut stream = EventStream::open(&server, &rider.token, None).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    let before = stream.events_until("driver_assigned").await?;
    assert_eq!(types(&before), ["requested", "driver_assigned"]);
    let last_seen = ids(&before)[1];
    stream.close().await?;

    // The ride goes on while the rider is away.
    server.drive_to_completion(&driver, &assigned, 600).await?;

    let mut resumed = EventStream::open(&server, &rider.token, Some(last_seen)).await?;
    assert_eq!(resumed.hello["last_event_id"], last_seen);
    let missed = resumed.events_until("completed").await?;
    assert_eq!(types(&missed), ["driver_arrived", "started", "completed"]);
    let timeline = ids(&server.timeline(&rider, &ride_id).await?);
    let expected: Vec<i64> = timeline
        .iter()
        .copied()
        .filter(|&id| id > last_seen)
        .collect();
    assert_eq!(ids(&missed), expected);
    assert_in_order_for(&missed, &ride_id);
    // Nothing is sent twice.
    let extra = resumed
        .next_message_within(Duration::from_millis(300))
        .await?;
    assert!(extra.is_none(), "unexpected message: {extra:?}");
    resumed.close().await?;

    // Resuming from the start replays the whole timeline, once.
    let mut replay = EventStream::open(&server, &rider.token, Some(0)).await?;
    let all = replay.events_until("completed").await?;
    assert_eq!(ids(&all), timeline);
    assert_eq!([before, missed].concat(), all);
    replay.close().await?;
    server.stop().await
}

pub async fn the_rider_receives_driver_locations_sent_over_the_drivers_websocket(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    let mut rider_events = EventStream::open(&server, &rider.token, None).await?;
    let mut driver_socket = EventStream::open(&server, &driver.token, None).await?;

    // Two positions on the way, taken after the one reported when going online, at a car's pace (the
    // server refuses faster jumps).
    server.clock.advance_secs(60);
    let now = server.clock.now();
    let on_the_way = [
        (BRYANT_PARK.toward(TIMES_SQUARE, 0.5), now.plus_secs(-40)),
        (BRYANT_PARK.toward(TIMES_SQUARE, 0.9), now.plus_secs(-20)),
    ];
    let points: Vec<Value> = on_the_way
        .iter()
        .map(|(p, at)| json!({"lat": p.lat, "lng": p.lng, "at": doorstep_api::dto::rfc3339(*at)}))
        .collect();
    driver_socket
        .send(&json!({"type": "locations", "points": points}))
        .await?;

    for (place, at) in on_the_way {
        let location = rider_events.next_location().await?;
        assert_eq!(location["ride_id"], ride_id.as_str());
        assert_eq!(location["driver_id"], driver.id.as_str());
        assert!(place.is(&location), "{location}");
        assert_eq!(location["at"], doorstep_api::dto::rfc3339(at));
        assert!(
            location["eta_s"].is_u64(),
            "an ETA to the pickup: {location}"
        );
    }
    let reply = driver_socket
        .next_message_within(Duration::from_millis(200))
        .await?;
    assert!(reply.is_none(), "a good batch gets no error: {reply:?}");

    // A bad batch gets an error on the socket, which stays open.
    driver_socket
        .send(&json!({"type": "locations", "points": [{"lat": 95.0, "lng": 0.0, "at": server.now_rfc3339()}]}))
        .await?;
    let error = driver_socket.next_message().await?;
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("error"), Some("invalid_location"))
    );
    driver_socket.send(&json!({"type": "ping"})).await?;
    assert_eq!(driver_socket.next_message().await?["type"], "pong");

    // Another driver's positions never reach this rider.
    let other = server.driver_at(GRAND_CENTRAL).await?;
    let mut other_socket = EventStream::open(&server, &other.token, None).await?;
    other_socket
        .send(&json!({"type": "locations", "points": [{"lat": GRAND_CENTRAL.lat, "lng": GRAND_CENTRAL.lng, "at": server.now_rfc3339()}]}))
        .await?;
    let stray = rider_events
        .next_message_within(Duration::from_millis(300))
        .await?;
    assert!(stray.is_none(), "unexpected message: {stray:?}");

    rider_events.close().await?;
    driver_socket.close().await?;
    other_socket.close().await?;
    server.stop().await
}

pub async fn the_event_stream_refuses_a_missing_or_bad_token_with_401(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let answers = [
        refused(bearer_request(&server, "dst_forged", None)?).await?,
        refused(events_url(&server, None)).await?,
        refused(ticket_url(&server, "dwt_forged", None)).await?,
    ];
    for (status, body) in answers {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthenticated", "{body}");
    }
    // The same stream opens with a good token.
    let stream = EventStream::open(&server, &rider.token, None).await?;
    stream.close().await?;
    server.stop().await
}

/// A binary location batch: version byte 1, then `(lat·10⁷, lng·10⁷, unix ms)` little-endian per point.
fn binary_batch(points: &[(f64, f64, i64)]) -> Vec<u8> {
    let mut frame = vec![1u8];
    for &(lat, lng, at) in points {
        frame.extend_from_slice(&((lat * 1e7).round() as i32).to_le_bytes());
        frame.extend_from_slice(&((lng * 1e7).round() as i32).to_le_bytes());
        frame.extend_from_slice(&at.to_le_bytes());
    }
    frame
}

/// The next message, which must be an error frame with `status` and `code`.
async fn expect_error_frame(socket: &mut EventStream, status: u16, code: &str) -> TestResult {
    let error = socket.next_message().await?;
    assert_eq!(
        (
            error["type"].as_str(),
            error["status"].as_u64(),
            error["code"].as_str()
        ),
        (Some("error"), Some(u64::from(status)), Some(code)),
        "{error}"
    );
    assert!(error["message"].is_string(), "{error}");
    Ok(())
}

pub async fn drivers_send_binary_location_batches_and_bad_messages_get_error_frames(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    // Riders see coarse positions; the operations console sees where the batch put the driver exactly.
    let admin = server.admin().await?;
    let driver = server.driver_at(UNION_SQUARE).await?;
    let mut socket = EventStream::open(&server, &driver.token, None).await?;
    let nearby_path = format!(
        "/v1/drivers/nearby?lat={}&lng={}&limit=5",
        BRYANT_PARK.lat, BRYANT_PARK.lng
    );

    // A good binary batch moves the driver (the last point wins) and gets no answer. The points are
    // minutes apart: the server refuses jumps faster than a car.
    server.clock.advance_secs(300);
    let now = server.clock.now().millis();
    let on_the_way = GRAND_CENTRAL.toward(BRYANT_PARK, 0.5);
    socket
        .send_binary(binary_batch(&[
            (on_the_way.lat, on_the_way.lng, now - 60_000),
            (BRYANT_PARK.lat, BRYANT_PARK.lng, now - 30_000),
        ]))
        .await?;
    socket.send(&json!({"type": "ping"})).await?;
    assert_eq!(
        socket.next_message().await?["type"],
        "pong",
        "no error before the pong"
    );
    let nearby = server.get(&nearby_path, &admin.token).await?.expect(200);
    let first = &nearby["drivers"][0];
    assert!(
        (first["lat"].as_f64().unwrap_or(0.0) - BRYANT_PARK.lat).abs() < 1e-6
            && (first["lng"].as_f64().unwrap_or(0.0) - BRYANT_PARK.lng).abs() < 1e-6,
        "the driver is where the binary batch put it: {nearby}"
    );
    assert!(first["distance_m"].as_u64() < Some(1), "{nearby}");

    // Malformed binary frames: no version byte, another version, a cut point, no points, too many.
    let point = (BRYANT_PARK.lat, BRYANT_PARK.lng, now);
    let mut cut = binary_batch(&[point]);
    cut.pop();
    let mut other_version = binary_batch(&[point]);
    other_version[0] = 2;
    for frame in [Vec::new(), other_version, cut, vec![1u8]] {
        socket.send_binary(frame.clone()).await?;
        let code = if frame == vec![1u8] {
            "invalid_batch"
        } else {
            "invalid_binary_batch"
        };
        expect_error_frame(&mut socket, 422, code).await?;
    }
    socket.send_binary(binary_batch(&[point; 101])).await?;
    expect_error_frame(&mut socket, 422, "invalid_batch").await?;
    // Coordinates out of range, a time in the future; extreme times never panic: a point from the
    // far past is skipped, one from the far future refused.
    socket
        .send_binary(binary_batch(&[(95.0, 0.0, now)]))
        .await?;
    expect_error_frame(&mut socket, 422, "invalid_location").await?;
    socket
        .send_binary(binary_batch(&[(BRYANT_PARK.lat, 181.0, now)]))
        .await?;
    expect_error_frame(&mut socket, 422, "invalid_location").await?;
    socket
        .send_binary(binary_batch(&[(
            BRYANT_PARK.lat,
            BRYANT_PARK.lng,
            now + 3_600_000,
        )]))
        .await?;
    expect_error_frame(&mut socket, 422, "location_in_future").await?;
    socket
        .send_binary(binary_batch(&[(
            BRYANT_PARK.lat,
            BRYANT_PARK.lng,
            i64::MAX,
        )]))
        .await?;
    expect_error_frame(&mut socket, 422, "location_in_future").await?;
    socket
        .send_binary(binary_batch(&[(
            UNION_SQUARE.lat,
            UNION_SQUARE.lng,
            i64::MIN,
        )]))
        .await?;

    // Malformed text frames.
    for text in [
        json!("not an object"),
        json!({"type": "teleport"}),
        json!({"type": "locations"}),
        json!({"points": []}),
    ] {
        socket.send(&text).await?;
        expect_error_frame(&mut socket, 400, "invalid_message").await?;
    }
    socket.send(&json!({"type": "locations", "points": [{"lat": 40.75, "lng": -73.98, "at": "yesterday"}]})).await?;
    expect_error_frame(&mut socket, 422, "invalid_location").await?;
    socket
        .send(&json!({"type": "locations", "points": []}))
        .await?;
    expect_error_frame(&mut socket, 422, "invalid_batch").await?;

    // The socket is still open, and nothing bad moved the driver.
    socket.send(&json!({"type": "ping"})).await?;
    assert_eq!(socket.next_message().await?["type"], "pong");
    let nearby = server.get(&nearby_path, &admin.token).await?.expect(200);
    assert!(
        BRYANT_PARK.is(&nearby["drivers"][0])
            || nearby["drivers"][0]["distance_m"].as_u64() < Some(1),
        "{nearby}"
    );

    // A rider's binary batch is refused: only drivers report locations.
    let mut rider_socket = EventStream::open(&server, &rider.token, None).await?;
    rider_socket.send_binary(binary_batch(&[point])).await?;
    expect_error_frame(&mut rider_socket, 403, "forbidden").await?;

    rider_socket.close().await?;
    socket.close().await?;
    server.stop().await
}

pub async fn riders_ask_for_nearby_drivers_on_the_event_stream(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let near = server.driver_at(BRYANT_PARK).await?;
    let _far = server.driver_at(UNION_SQUARE).await?;
    let rider = server.signup("rider").await?;
    let mut socket = EventStream::open(&server, &rider.token, None).await?;

    // The same answer as GET /v1/drivers/nearby, with the query's id.
    socket
        .send(&json!({"type": "nearby", "lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng, "limit": 5, "id": 7}))
        .await?;
    let answer = socket.next_message().await?;
    let path = format!(
        "/v1/drivers/nearby?lat={}&lng={}&limit=5",
        TIMES_SQUARE.lat, TIMES_SQUARE.lng
    );
    let over_http = server.get(&path, &rider.token).await?.expect(200);
    assert_eq!(
        (answer["type"].as_str(), answer["id"].as_u64()),
        (Some("nearby"), Some(7)),
        "{answer}"
    );
    assert_eq!(answer["drivers"], over_http["drivers"]);
    assert_eq!(
        answer["drivers"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
    assert!(
        !answer.to_string().contains(&near.id),
        "no driver ids are revealed"
    );

    // Bad queries get error frames with the id; the socket stays open.
    socket
        .send(&json!({"type": "nearby", "lat": 123.0, "lng": 0.0, "id": 8}))
        .await?;
    let error = socket.next_message().await?;
    assert_eq!(
        (
            error["code"].as_str(),
            error["status"].as_u64(),
            error["id"].as_u64()
        ),
        (Some("invalid_coordinates"), Some(422), Some(8)),
        "{error}"
    );
    socket
        .send(&json!({"type": "nearby", "lat": 40.75}))
        .await?;
    let error = socket.next_message().await?;
    assert_eq!(
        (error["code"].as_str(), error["status"].as_u64()),
        (Some("invalid_message"), Some(400)),
        "{error}"
    );

    // Drivers cannot ask.
    let mut driver_socket = EventStream::open(&server, &near.token, None).await?;
    driver_socket
        .send(&json!({"type": "nearby", "lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng}))
        .await?;
    let error = driver_socket.next_message().await?;
    assert_eq!(
        (error["code"].as_str(), error["status"].as_u64()),
        (Some("forbidden"), Some(403)),
        "{error}"
    );

    socket.close().await?;
    driver_socket.close().await?;
    server.stop().await
}
