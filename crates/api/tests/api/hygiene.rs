//! Input hygiene: invisible and control characters, idempotency keys, documented ranges, and errors
//! that are always `{"code","message"}` JSON.

use crate::backend::{TestDb, TestResult};
use crate::places::{TIMES_SQUARE, UNION_SQUARE};
use crate::server::{TestServer, field};
use reqwest::Method;
use serde_json::json;

pub async fn names_and_emails_with_control_bidi_or_zero_width_characters_are_refused(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let email = format!("clean-{}@example.com", uuid::Uuid::new_v4().simple());
    for name in [
        "Ann\u{0}",
        "Ann\r\nX-Injected: 1",
        "\u{202e}nnA",
        "A\u{200b}nn",
        "Ann\u{2066}",
        "Ann\u{85}",
    ] {
        let body =
            json!({"email": email, "password": "correct horse", "name": name, "role": "rider"});
        server
            .call(Method::POST, "/v1/auth/signup", None, Some(&body))
            .await?
            .expect_error(422, "invalid_characters");
    }
    for bad_email in [
        format!("a\u{200b}{email}"),
        format!("{email}\u{0}"),
        format!("\u{202e}{email}"),
    ] {
        let body = json!({"email": bad_email, "password": "correct horse", "name": "Ann", "role": "rider"});
        server
            .call(Method::POST, "/v1/auth/signup", None, Some(&body))
            .await?
            .expect_error(422, "invalid_characters");
    }
    // Spaces around an address are not trimmed silently: the document's pattern refuses them too.
    let spaced = json!({"email": format!(" {email}"), "password": "correct horse", "name": "Ann", "role": "rider"});
    server
        .call(Method::POST, "/v1/auth/signup", None, Some(&spaced))
        .await?
        .expect_error(422, "invalid_email");
    // Nothing was kept: the address is still free, and a name is trimmed.
    let body =
        json!({"email": email, "password": "correct horse", "name": "  Ann Lee ", "role": "rider"});
    let signed = server
        .call(Method::POST, "/v1/auth/signup", None, Some(&body))
        .await?
        .expect(201);
    let me = server
        .get("/v1/me", &field(&signed, "token")?)
        .await?
        .expect(200);
    assert_eq!(me["name"], "Ann Lee");
    server.stop().await
}

pub async fn an_empty_malformed_or_reused_idempotency_key_is_refused_and_creates_nothing(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let first = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let second = server.quote(&rider, UNION_SQUARE, TIMES_SQUARE).await?;
    let request = |quote: &serde_json::Value, key: &str| {
        let quote_id = quote["quote_id"].clone();
        server
            .http
            .post(server.url("/v1/rides"))
            .bearer_auth(&rider.token)
            .header("idempotency-key", key)
            .json(&json!({"quote_id": quote_id}))
            .send()
    };
    let long = "k".repeat(101);
    for key in ["", "two words", long.as_str()] {
        TestServer::reply(request(&first, key).await?)
            .await?
            .expect_error(422, "invalid_idempotency_key");
    }
    let ride = TestServer::reply(request(&first, "key-1").await?)
        .await?
        .expect(201);
    let again = TestServer::reply(request(&first, "key-1").await?)
        .await?
        .expect(201);
    assert_eq!(
        again["ride_id"], ride["ride_id"],
        "a retry is the same ride"
    );
    TestServer::reply(request(&second, "key-1").await?)
        .await?
        .expect_error(422, "idempotency_key_reused");
    let rides = server.get("/v1/rides", &rider.token).await?.expect(200);
    assert_eq!(
        rides["rides"].as_array().map(Vec::len),
        Some(1),
        "only the first request made a ride: {rides}"
    );
    server.stop().await
}

pub async fn every_error_is_json_with_a_code_and_ranges_are_checked_as_documented(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.signup("driver").await?;
    let admin = server.admin().await?;
    server
        .call(Method::GET, "/v1/no-such-thing", Some(&rider.token), None)
        .await?
        .expect_error(404, "route_not_found");
    let response = server
        .http
        .delete(server.url("/v1/rides"))
        .bearer_auth(&rider.token)
        .send()
        .await?;
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    TestServer::reply(response)
        .await?
        .expect_error(405, "method_not_allowed");
    assert!(
        allow
            .as_deref()
            .is_some_and(|a| a.contains("GET") && a.contains("POST")),
        "405 names the methods: {allow:?}"
    );
    for limit in ["0", "501", "-1"] {
        server
            .get(&format!("/v1/admin/rides?limit={limit}"), &admin.token)
            .await?
            .expect_error(422, "invalid_limit");
    }
    server
        .get("/v1/admin/rides?limit=500", &admin.token)
        .await?
        .expect(200);
    server
        .get("/v1/admin/rides?limit=abc", &admin.token)
        .await?
        .expect_error(400, "invalid_query");
    server
        .get("/v1/admin/rides?state=flying", &admin.token)
        .await?
        .expect_error(422, "invalid_state");
    for limit in ["0", "51"] {
        server
            .get(
                &format!("/v1/drivers/nearby?lat=40.758&lng=-73.9855&limit={limit}"),
                &rider.token,
            )
            .await?
            .expect_error(422, "invalid_limit");
    }
    server
        .get("/v1/drivers/nearby?lat=40.758", &rider.token)
        .await?
        .expect_error(400, "invalid_query");
    server
        .get(
            "/v1/drivers/me/earnings?from=2026-11-25T12:00:00Z&to=2026-11-24T12:00:00Z",
            &driver.token,
        )
        .await?
        .expect_error(422, "invalid_period");
    server
        .get("/v1/drivers/me/earnings?from=yesterday", &driver.token)
        .await?
        .expect_error(422, "invalid_timestamp");
    // A role that may not call an operation is refused before its body is read.
    server
        .call(
            Method::POST,
            "/v1/rides/quotes",
            Some(&driver.token),
            Some(&json!("not even an object")),
        )
        .await?
        .expect_error(403, "forbidden");
    server.stop().await
}

pub async fn rating_an_unfinished_ride_is_a_conflict_for_its_rider_and_not_found_for_others(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let stranger = server.signup("rider").await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let path = format!("/v1/rides/{}/rating", field(&ride, "ride_id")?);
    server
        .post(&path, &rider.token, json!({"stars": 5}))
        .await?
        .expect_error(409, "ride_not_completed");
    server
        .post(&path, &stranger.token, json!({"stars": 5}))
        .await?
        .expect_error(404, "ride_not_found");
    server.stop().await
}

pub async fn an_admins_ride_list_is_newest_first_like_everyone_elses(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let admin = server.admin().await?;
    let first = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    server.clock.advance_secs(60);
    let second = server
        .request_ride(&rider, UNION_SQUARE, TIMES_SQUARE)
        .await?;
    for who in [&rider, &admin] {
        let list = server.get("/v1/rides", &who.token).await?.expect(200);
        let ids: Vec<&str> = list["rides"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["ride_id"].as_str())
            .collect();
        assert_eq!(
            ids,
            [field(&second, "ride_id")?, field(&first, "ride_id")?],
            "newest first"
        );
    }
    server.stop().await
}

/// Whether `response` tells the client the server closes its connection after it.
fn closes(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("connection")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
}

pub async fn a_body_refused_before_it_is_read_ends_its_connection_and_no_next_request_is_lost(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let hours = json!({"weekly": {"monday": [{"open": "11:00", "close": "22:00"}]}});
    let merchant = format!("/v1/merchants/{}/hours", uuid::Uuid::new_v4());
    // Refused before its body is read: without a token, for its size, for its media type.
    let refused = [
        server.http.put(server.url(&merchant)).json(&hours),
        server
            .http
            .post(server.url("/v1/auth/login"))
            .header("content-type", "application/json")
            .body(vec![b' '; doorstep_api::MAX_BODY_BYTES + 1]),
        server
            .http
            .post(server.url("/v1/rides/quotes"))
            .bearer_auth(&rider.token)
            .header("content-type", "text/plain")
            .body("{}"),
    ];
    let mut codes = Vec::new();
    for request in refused {
        let response = request.send().await?;
        assert!(closes(&response), "{response:?}");
        codes.push(response.status().as_u16());
    }
    assert_eq!(codes, [401, 413, 415]);
    // A body read to its end (even one refused afterwards) and a request without one keep it open.
    let wrong = server
        .http
        .post(server.url("/v1/auth/login"))
        .json(&json!({"email": "nobody@example.com", "password": "wrong password"}))
        .send()
        .await?;
    assert!(!closes(&wrong), "{wrong:?}");
    assert_eq!(wrong.status().as_u16(), 401);
    let read = server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth(&rider.token)
        .send()
        .await?;
    assert!(!closes(&read), "{read:?}");
    // One client, refused and served in turn: every request gets its answer (a refusal may come from the
    // rate limit by the end, which does not read the body either).
    for _ in 0..10 {
        let refused = server
            .http
            .post(server.url("/v1/rides/quotes"))
            .bearer_auth(&rider.token)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await?;
        assert!(closes(&refused), "{refused:?}");
        assert!(
            matches!(refused.status().as_u16(), 415 | 429),
            "{refused:?}"
        );
        server
            .call(Method::GET, "/v1/me", Some(&rider.token), None)
            .await?
            .expect(200);
    }
    server.stop().await
}
