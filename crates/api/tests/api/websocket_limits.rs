//! What keeps the event stream and the nearby-drivers map from being abused: single-use tickets instead of
//! tokens in URLs, caps on open sockets per user and per client IP (the oldest socket goes, with close code
//! 1008), close code 1009 for oversized messages, JSON errors for bad queries, coarse positions for riders,
//! and the request quota on socket `nearby` queries.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::{EventStream, bearer_request, new_ticket, refused, ticket_url};
use crate::places::{BRYANT_PARK, GRAND_CENTRAL, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{TestServer, field};
use doorstep_api::open_sockets::SocketCaps;
use doorstep_api::rate_limit::RateLimits;
use doorstep_domain::Role;
use serde_json::{Value, json};

pub async fn a_ticket_opens_one_socket_once_and_only_before_it_expires(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;

    let answer = server
        .post_empty("/v1/events/tickets", &rider.token)
        .await?
        .expect(201);
    let ticket = field(&answer, "ticket")?;
    let expires_at = field(&answer, "expires_at")?;
    let issued = doorstep_api::dto::parse_rfc3339(&expires_at)
        .map_err(|e| format!("expires_at is RFC 3339: {expires_at}: {}", e.message()))?;
    assert_eq!(
        issued.millis() - server.clock.now().millis(),
        30_000,
        "valid for 30 s: {answer}"
    );
    assert!(!ticket.contains(&rider.token), "a ticket is not the token");

    // A plain GET (no upgrade) does not spend the ticket.
    let plain = server
        .http
        .get(server.url(&format!("/v1/events?ticket={ticket}")))
        .send()
        .await?;
    let plain = TestServer::reply(plain).await?;
    plain.expect_error(426, "websocket_required");

    let stream = EventStream::open_with_ticket(&server, &ticket, None).await?;
    assert_eq!(
        stream.hello["user_id"],
        rider.id.as_str(),
        "the ticket's user"
    );
    let (status, body) = refused(ticket_url(&server, &ticket, None)).await?;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated")),
        "a ticket works once: {body}"
    );
    stream.close().await?;

    // An unused ticket expires after 30 s.
    let stale = new_ticket(&server, &rider.token).await?;
    server.clock.advance_secs(31);
    let (status, body) = refused(ticket_url(&server, &stale, None)).await?;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated")),
        "{body}"
    );

    // Tickets are for holders of a valid token.
    server
        .call(reqwest::Method::POST, "/v1/events/tickets", None, None)
        .await?
        .expect_error(401, "unauthenticated");
    server
        .post_empty("/v1/events/tickets", "dst_forged")
        .await?
        .expect_error(401, "unauthenticated");
    server.stop().await
}

pub async fn a_bearer_token_in_the_url_is_refused_with_400_json(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    for url in [
        format!("ws://{}/v1/events?token={}", server.addr, rider.token),
        format!(
            "ws://{}/v1/events?after=0&token={}",
            server.addr, rider.token
        ),
    ] {
        let (status, body) = refused(url).await?;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("token_in_url")),
            "{body}"
        );
        assert!(body["message"].is_string(), "{body}");
        assert!(
            !body.to_string().contains(&rider.token),
            "not echoed: {body}"
        );
    }
    // Even with a good header, and over plain HTTP.
    let response = server
        .http
        .get(server.url(&format!("/v1/events?token={}", rider.token)))
        .bearer_auth(&rider.token)
        .send()
        .await?;
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    TestServer::reply(response)
        .await?
        .expect_error(400, "token_in_url");
    server.stop().await
}

pub async fn a_non_numeric_after_is_refused_with_400_json(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let response = server
        .http
        .get(server.url("/v1/events?after=abc"))
        .bearer_auth(&rider.token)
        .send()
        .await?;
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    TestServer::reply(response)
        .await?
        .expect_error(400, "invalid_query");
    let mut request = bearer_request(&server, &rider.token, None)?;
    *request.uri_mut() = format!("ws://{}/v1/events?after=abc", server.addr).parse()?;
    let (status, body) = refused(request).await?;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query")),
        "{body}"
    );
    server.stop().await
}

pub async fn one_account_opening_forty_sockets_keeps_its_newest_five_and_others_still_connect(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let greedy = server.signup("rider").await?;
    let mut sockets = Vec::new();
    for _ in 0..40 {
        sockets.push(EventStream::open(&server, &greedy.token, None).await?);
    }
    let newest = sockets.split_off(35);
    for (n, mut old) in sockets.into_iter().enumerate() {
        let (code, reason) = old.closed().await?;
        assert_eq!(
            (code, reason.as_str()),
            (1008, "too_many_connections"),
            "socket {n} of 40"
        );
    }
    for mut socket in newest {
        assert!(socket.answers_ping().await?, "the newest five stay open");
        socket.close().await?;
    }
    // Another account is not affected.
    let other = server.signup("rider").await?;
    let stream = EventStream::open(&server, &other.token, None).await?;
    assert_eq!(stream.hello["user_id"], other.id.as_str());
    stream.close().await?;
    let admin = server.admin().await?;
    let metrics = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(&admin.token)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("websocket_closed_by_cap_total{cap=\"user\"}"),
        "the closes are counted"
    );
    server.stop().await
}

pub async fn a_client_ip_over_its_socket_cap_loses_its_oldest_sockets_whoever_holds_them(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start_with_caps(
        &db,
        SocketCaps {
            per_user: 5,
            per_ip: 3,
        },
    )
    .await?;
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let rider = server.signup("rider").await?;
        sockets.push(EventStream::open(&server, &rider.token, None).await?);
    }
    let newest = sockets.split_off(2);
    for mut old in sockets {
        assert_eq!(
            old.closed().await?,
            (1008, "too_many_connections".to_owned())
        );
    }
    for mut socket in newest {
        assert!(socket.answers_ping().await?, "the newest three stay open");
        socket.close().await?;
    }
    server.stop().await
}

pub async fn a_message_over_the_size_limit_closes_the_socket_with_1009(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let mut socket = EventStream::open(&server, &driver.token, None).await?;
    // Just within the limit: an ordinary bad message, the socket stays open.
    let limit = doorstep_api::routes::events::MAX_MESSAGE_BYTES;
    socket.send_text(" ".repeat(limit)).await?;
    let error = socket.next_message().await?;
    assert_eq!(error["code"], "invalid_message", "{error}");
    // One byte more: close code 1009 with a reason.
    socket.send_text(" ".repeat(limit + 1)).await?;
    let (code, reason) = socket.closed().await?;
    assert_eq!((code, reason.as_str()), (1009, "message_too_big"));
    server.stop().await
}

/// Whether every driver of a nearby answer is on the coarse grid, 50 m and 30 s steps.
fn assert_coarse(answer: &Value) -> TestResult {
    let drivers = answer["drivers"].as_array().ok_or("a driver list")?;
    for d in drivers {
        let (lat, lng) = (
            d["lat"].as_f64().ok_or("lat")?,
            d["lng"].as_f64().ok_or("lng")?,
        );
        let p = doorstep_geo::LatLng::new(lat, lng)?;
        assert_eq!(
            doorstep_geo::snap_to_grid(p, doorstep_geo::COARSE_CELL_M),
            p,
            "on the 50 m grid: {d}"
        );
        assert_eq!(d["distance_m"].as_u64().map(|m| m % 50), Some(0), "{d}");
        assert_eq!(d["eta_s"].as_u64().map(|s| s % 30), Some(0), "{d}");
        assert_eq!(
            d.as_object().map(|o| o.len()),
            Some(4),
            "nothing but the coarse fields: {d}"
        );
    }
    Ok(())
}

pub async fn riders_see_nearby_drivers_on_a_coarse_grid_and_admins_see_exact_positions(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    for place in [BRYANT_PARK, GRAND_CENTRAL, UNION_SQUARE, TIMES_SQUARE] {
        server.driver_at(place).await?;
    }
    let rider = server.signup("rider").await?;
    let admin = server.admin().await?;
    let path = format!(
        "/v1/drivers/nearby?lat={}&lng={}&limit=50",
        TIMES_SQUARE.lat, TIMES_SQUARE.lng
    );
    let coarse = server.get(&path, &rider.token).await?.expect(200);
    assert_coarse(&coarse)?;
    let drivers = coarse["drivers"].as_array().cloned().unwrap_or_default();
    assert_eq!(drivers.len(), 4, "{coarse}");
    assert!(
        !drivers
            .iter()
            .any(|d| BRYANT_PARK.is(d) || GRAND_CENTRAL.is(d)),
        "no exact position: {coarse}"
    );
    assert!(
        drivers
            .windows(2)
            .all(|w| w[0]["distance_m"].as_u64() <= w[1]["distance_m"].as_u64()),
        "closest first: {coarse}"
    );
    let mut socket = EventStream::open(&server, &rider.token, None).await?;
    socket
        .send(&json!({"type": "nearby", "lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng, "id": 1}))
        .await?;
    assert_coarse(&socket.next_message().await?)?;
    socket.close().await?;

    let exact = server.get(&path, &admin.token).await?.expect(200);
    let exact = exact["drivers"].as_array().cloned().unwrap_or_default();
    assert!(
        TIMES_SQUARE.is(&exact[0]),
        "the console sees exact positions"
    );
    assert!(exact.iter().any(|d| BRYANT_PARK.is(d)));
    server.stop().await
}

pub async fn nearby_queries_on_the_socket_count_against_the_callers_rate_limit(
    db: TestDb,
) -> TestResult {
    let limits = RateLimits {
        per_token_per_sec: 1,
        per_token_burst: 3,
        ..RateLimits::default()
    };
    let server = TestServer::start_with_limits(&db, limits).await?;
    // An account made without HTTP, so that signing up spends none of the quota.
    let signed = server
        .app
        .sign_up(
            "nearby-quota@example.com",
            "correct horse battery",
            "Quota",
            Role::Rider,
        )
        .await?;
    let token = signed.token.expose().to_owned();
    let mut socket = EventStream::open(&server, &token, None).await?;
    let mut answers = Vec::new();
    for id in 0..20u64 {
        socket
            .send(&json!({"type": "nearby", "lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng, "id": id}))
            .await?;
        answers.push(socket.next_message().await?);
    }
    assert_eq!(
        answers[0]["type"], "nearby",
        "the first ones are answered: {}",
        answers[0]
    );
    let refused: Vec<&Value> = answers.iter().filter(|a| a["type"] == "error").collect();
    assert!(
        !refused.is_empty(),
        "twenty queries at once are over a quota of one a second"
    );
    for r in &refused {
        assert_eq!(
            (r["status"].as_u64(), r["code"].as_str()),
            (Some(429), Some("rate_limited")),
            "{r}"
        );
        assert!(r["id"].is_u64() && r["retry_after_s"].is_u64(), "{r}");
    }
    // The socket's queries drew on the same allowance as HTTP requests.
    let after = server
        .get("/v1/drivers/nearby?lat=40.758&lng=-73.9855", &token)
        .await?;
    after.expect_error(429, "rate_limited");
    server.stop().await
}
