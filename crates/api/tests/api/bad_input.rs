//! Invalid input is refused at the edge with a 4xx and a machine-readable code, never a 500.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, PROSPECT_PARK, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Reply, TestServer, WAIT, field};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Sends `body` as raw text with `content_type` to `path` as `token`.
async fn send_raw(
    server: &TestServer,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> TestResult<Reply> {
    let response = server
        .http
        .post(server.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?;
    TestServer::reply(response).await
}

pub async fn malformed_bodies_are_refused_with_their_own_codes(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let json_type = "application/json";

    send_raw(
        &server,
        "/v1/rides/quotes",
        &rider.token,
        json_type,
        r#"{"pickup": {"lat": 40.75,"#,
    )
    .await?
    .expect_error(400, "malformed_json");
    send_raw(
        &server,
        "/v1/rides/quotes",
        &rider.token,
        json_type,
        "not json at all",
    )
    .await?
    .expect_error(400, "malformed_json");

    // Missing and mistyped fields.
    for body in [
        json!({"pickup": TIMES_SQUARE.json()}),
        json!({}),
        json!({"pickup": {"lat": 40.75}, "dropoff": UNION_SQUARE.json()}),
        json!({"pickup": {"lat": "north", "lng": -73.98}, "dropoff": UNION_SQUARE.json()}),
        json!([1, 2, 3]),
    ] {
        server
            .post("/v1/rides/quotes", &rider.token, body)
            .await?
            .expect_error(422, "invalid_body");
    }
    server
        .post("/v1/rides", &rider.token, json!({}))
        .await?
        .expect_error(422, "invalid_body");

    // An unknown enum value.
    server
        .call(
            Method::POST,
            "/v1/auth/signup",
            None,
            Some(&json!({"email": "pilot@example.com", "password": "correct horse battery", "name": "P", "role": "pilot"})),
        )
        .await?
        .expect_error(422, "invalid_body");

    // The wrong content type.
    let body = json!({"pickup": TIMES_SQUARE.json(), "dropoff": UNION_SQUARE.json()}).to_string();
    let wrong_type = send_raw(
        &server,
        "/v1/rides/quotes",
        &rider.token,
        "text/plain",
        body.clone(),
    )
    .await?;
    wrong_type.expect_error(415, "unsupported_media_type");
    // The same body as JSON is a good quote.
    send_raw(&server, "/v1/rides/quotes", &rider.token, json_type, body)
        .await?
        .expect(201);

    // A 2 MB body is refused on its declared length, before the server reads it.
    let (status, body) =
        declare_body(&server, "/v1/rides/quotes", &rider.token, 2 * 1024 * 1024).await?;
    Reply { status, body }.expect_error(413, "payload_too_large");
    // The server still answers afterwards.
    server.get("/v1/me", &rider.token).await?.expect(200);
    server.stop().await
}

/// Sends the head of a JSON `POST` declaring a body of `length` bytes, but not the body, and reads the
/// answer. (Sending the whole body would race with the server closing the connection once it has answered:
/// the client may see the reset of its unread bytes instead of the answer.)
async fn declare_body(
    server: &TestServer,
    path: &str,
    token: &str,
    length: usize,
) -> TestResult<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await??;
    let answer = String::from_utf8(answer)?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {answer:?}"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    Ok((status, body))
}

pub async fn coordinates_out_of_range_or_outside_manhattan_are_refused(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let (srv, token) = (&server, rider.token.as_str());
    let quote = move |pickup: Value, dropoff: Value| async move {
        srv.post(
            "/v1/rides/quotes",
            token,
            json!({"pickup": pickup, "dropoff": dropoff}),
        )
        .await
    };

    for bad in [
        json!({"lat": 91.0, "lng": -73.98}),
        json!({"lat": -90.5, "lng": -73.98}),
        json!({"lat": 40.75, "lng": 180.5}),
        json!({"lat": 40.75, "lng": -181.0}),
    ] {
        quote(bad.clone(), UNION_SQUARE.json())
            .await?
            .expect_error(422, "invalid_coordinates");
        quote(TIMES_SQUARE.json(), bad)
            .await?
            .expect_error(422, "invalid_coordinates");
    }
    quote(PROSPECT_PARK.json(), UNION_SQUARE.json())
        .await?
        .expect_error(422, "outside_service_area");
    quote(TIMES_SQUARE.json(), PROSPECT_PARK.json())
        .await?
        .expect_error(422, "outside_service_area");
    // London is a valid coordinate, just not served.
    quote(json!({"lat": 51.5074, "lng": -0.1278}), UNION_SQUARE.json())
        .await?
        .expect_error(422, "outside_service_area");
    server.stop().await
}

pub async fn ids_that_are_not_uuids_are_simply_not_found(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.signup("driver").await?;
    for path in ["/v1/rides/not-a-uuid", "/v1/rides/42/events"] {
        server
            .get(path, &rider.token)
            .await?
            .expect_error(404, "ride_not_found");
    }
    server
        .post_empty("/v1/rides/%20/cancel", &rider.token)
        .await?
        .expect_error(404, "ride_not_found");
    server
        .post_empty("/v1/offers/xyz/accept", &driver.token)
        .await?
        .expect_error(404, "offer_not_found");
    server
        .post("/v1/rides", &rider.token, json!({"quote_id": "nope"}))
        .await?
        .expect_error(404, "quote_not_found");
    // A well-formed id that exists nowhere is the same 404.
    let unknown = uuid::Uuid::new_v4();
    server
        .get(&format!("/v1/rides/{unknown}"), &rider.token)
        .await?
        .expect_error(404, "ride_not_found");
    server.stop().await
}

pub async fn bad_location_batches_are_refused(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let driver = server.signup("driver").await?;
    let now = server.now_rfc3339();
    let point = |at: &str| json!({"lat": BRYANT_PARK.lat, "lng": BRYANT_PARK.lng, "at": at});
    let (srv, token) = (&server, driver.token.as_str());
    let send = move |points: Value| async move {
        srv.post("/v1/drivers/me/locations", token, points).await
    };

    for at in [
        "yesterday",
        "2026-11-25 19:00:00",
        "2026-13-45T25:00:00Z",
        "",
    ] {
        send(json!([point(at)]))
            .await?
            .expect_error(422, "invalid_timestamp");
    }
    let future = doorstep_api::dto::rfc3339(server.clock.now().plus_secs(3_600));
    send(json!([point(&future)]))
        .await?
        .expect_error(422, "location_in_future");
    send(json!([{"lat": 123.0, "lng": -73.98, "at": now}]))
        .await?
        .expect_error(422, "invalid_coordinates");
    send(json!([{"lat": 40.75, "at": now}]))
        .await?
        .expect_error(422, "invalid_body");
    send(json!([])).await?.expect_error(422, "invalid_batch");
    let too_many: Vec<Value> = (0..101).map(|_| point(&now)).collect();
    send(Value::Array(too_many))
        .await?
        .expect_error(422, "invalid_batch");

    for query in ["from=yesterday", "to=2026-02-30T00:00:00Z"] {
        srv.get(&format!("/v1/drivers/me/earnings?{query}"), token)
            .await?
            .expect_error(422, "invalid_timestamp");
    }

    // A hundred good points are fine.
    let hundred: Vec<Value> = (0..100).map(|_| point(&now)).collect();
    let accepted = send(Value::Array(hundred)).await?.expect(202);
    assert_eq!(accepted["accepted"], 100);
    server.stop().await
}

pub async fn ratings_outside_one_to_five_stars_are_refused(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let ride = server
        .completed_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let path = format!("/v1/rides/{}/rating", field(&ride, "ride_id")?);

    for stars in [0, 6] {
        server
            .post(&path, &rider.token, json!({"stars": stars}))
            .await?
            .expect_error(422, "invalid_stars");
    }
    for stars in [json!(-1), json!(256), json!(4.5), json!("five")] {
        server
            .post(&path, &rider.token, json!({"stars": stars}))
            .await?
            .expect_error(422, "invalid_body");
    }
    server
        .post(
            &path,
            &rider.token,
            json!({"stars": 5, "comment": "x".repeat(501)}),
        )
        .await?
        .expect_error(422, "comment_too_long");
    // None of those counted: a valid rating is still accepted.
    server
        .post(&path, &rider.token, json!({"stars": 5}))
        .await?
        .expect(201);
    server.stop().await
}

proptest::proptest! {
    /// Location batches carry one time per point, so the canonical `...Z` form is parsed by a fast
    /// path; whatever it accepts must read as the general RFC 3339 parser reads it, and whatever it
    /// refuses falls through to that parser.
    #[test]
    fn timestamps_read_the_same_on_the_fast_path_as_with_the_general_parser(
        year in 1960i32..2200,
        month in 0u8..14,
        day in 0u8..33,
        hour in 0u8..26,
        minute in 0u8..62,
        second in 0u8..62,
        fraction in proptest::option::of("[0-9]{1,10}"),
        zone in proptest::sample::select(vec!["Z", "z", "+00:00", "-05:00"]),
    ) {
        let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
        let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{zone}");
        let general = time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .ok()
            .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok());
        let ours = doorstep_api::dto::parse_rfc3339(&text).ok().map(|t| t.millis());
        proptest::prop_assert_eq!(ours, general, "{}", text);
    }
}

#[test]
fn odd_timestamps_are_refused_or_read_exactly() {
    use doorstep_api::dto::parse_rfc3339;
    let millis = |s: &str| parse_rfc3339(s).ok().map(|t| t.millis());
    assert_eq!(millis("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        millis("2026-11-28T12:00:00.123456789Z"),
        Some(1_795_867_200_123)
    );
    assert_eq!(millis("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
    for bad in [
        "",
        "Z",
        "2026-11-28",
        "2026-11-28T12:00:00",
        "2023-02-29T00:00:00Z",
        "2026-11-28T12:00:00.Z",
        "2026-11-28T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "２０２６-11-28T12:00:00Z",
    ] {
        assert_eq!(millis(bad), None, "{bad:?}");
    }
}
