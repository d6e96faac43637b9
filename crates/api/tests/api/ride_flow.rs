//! A whole ride from quote to ratings, and requesting rides idempotently.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, TIMES_SQUARE, UNION_SQUARE};
use crate::ride_steps::sum_of_lines;
use crate::server::{TestServer, field, usd};
use doorstep_api::dto::parse_rfc3339;
use serde_json::json;

pub async fn a_rider_and_a_driver_complete_a_ride_rate_each_other_and_the_ledger_balances(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;

    // The quote is itemised, its lines sum to the fare, and it expires in the future.
    let quote = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let fare = usd(&quote["fare"]);
    assert!(fare > 0, "{quote}");
    assert!(quote["breakdown"].as_array().is_some_and(|l| l.len() >= 2));
    assert_eq!(sum_of_lines(&quote["breakdown"]), fare, "{quote}");
    let expires_at = parse_rfc3339(&field(&quote, "expires_at")?).map_err(|e| format!("{e:?}"))?;
    assert!(expires_at > server.clock.now(), "{quote}");

    let ride = server
        .request_with_key(&rider, &field(&quote, "quote_id")?, Some("full-ride-key-1"))
        .await?
        .expect(201);
    let ride_id = field(&ride, "ride_id")?;
    let pin = field(&ride, "pin")?;
    assert_eq!(ride["state"], "requested");
    assert_eq!(ride["rider_id"], rider.id.as_str());
    assert_eq!(usd(&ride["fare"]), fare);
    assert!(TIMES_SQUARE.is(&ride["pickup"]) && UNION_SQUARE.is(&ride["dropoff"]));
    assert!(
        pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit()),
        "{pin}"
    );

    // The dispatcher offers the ride to the only driver near it.
    let offer = server.wait_for_offer(&driver, &ride_id).await?;
    assert_eq!(usd(&offer["fare"]), fare);
    assert!(TIMES_SQUARE.is(&offer["pickup"]), "{offer}");
    // The driver sees the offered ride, but not the rider's PIN.
    let offered = server.ride(&driver, &ride_id).await?;
    assert!(offered.get("pin").is_none(), "{offered}");

    let assigned = server.accept(&driver, &offer).await?;
    assert!(assigned.get("pin").is_none(), "{assigned}");
    let seen_by_rider = server.ride(&rider, &ride_id).await?;
    assert_eq!(seen_by_rider["state"], "driver_assigned");
    assert_eq!(seen_by_rider["driver_id"], driver.id.as_str());
    assert!(seen_by_rider["assigned_at"].is_string());

    server.drive_to(&driver, TIMES_SQUARE).await?;
    let arrived = server
        .post_empty(&format!("/v1/rides/{ride_id}/arrive"), &driver.token)
        .await?
        .expect(200);
    assert_eq!(arrived["state"], "driver_arrived");

    let wrong_pin = format!("{:04}", (pin.parse::<u32>()? + 1) % 10_000);
    server
        .post(
            &format!("/v1/rides/{ride_id}/start"),
            &driver.token,
            json!({"pin": wrong_pin}),
        )
        .await?
        .expect_error(422, "wrong_pin");
    assert_eq!(
        server.ride(&rider, &ride_id).await?["state"],
        "driver_arrived"
    );
    let started = server
        .post(
            &format!("/v1/rides/{ride_id}/start"),
            &driver.token,
            json!({"pin": pin}),
        )
        .await?
        .expect(200);
    assert_eq!(started["state"], "in_progress");

    server.clock.advance_secs(900);
    server.report_position(&driver, UNION_SQUARE).await?;
    let completed = server
        .post_empty(&format!("/v1/rides/{ride_id}/complete"), &driver.token)
        .await?
        .expect(200);
    assert_eq!(completed["state"], "completed");
    let final_fare = usd(&completed["final_fare"]);
    assert!(final_fare > 0, "{completed}");
    assert_eq!(sum_of_lines(&completed["final_breakdown"]), final_fare);
    assert!(completed["ended_at"].is_string());

    // Each rates the other once.
    let rated_driver = server
        .post(
            &format!("/v1/rides/{ride_id}/rating"),
            &rider.token,
            json!({"stars": 5, "comment": "smooth"}),
        )
        .await?
        .expect(201);
    assert_eq!(rated_driver["rated_user_id"], driver.id.as_str());
    let rated_rider = server
        .post(
            &format!("/v1/rides/{ride_id}/rating"),
            &driver.token,
            json!({"stars": 4}),
        )
        .await?
        .expect(201);
    assert_eq!(rated_rider["rated_user_id"], rider.id.as_str());
    server
        .post(
            &format!("/v1/rides/{ride_id}/rating"),
            &rider.token,
            json!({"stars": 1}),
        )
        .await?
        .expect_error(409, "already_rated");
    let driver_me = server.get("/v1/me", &driver.token).await?.expect(200);
    assert_eq!(
        (driver_me["rating"].as_f64(), driver_me["ratings"].as_i64()),
        (Some(5.0), Some(1))
    );
    let rider_me = server.get("/v1/me", &rider.token).await?.expect(200);
    assert_eq!(
        (rider_me["rating"].as_f64(), rider_me["ratings"].as_i64()),
        (Some(4.0), Some(1))
    );

    // The driver earns the fare less the platform's commission (20 %, rounded half away from zero).
    let commission_bps = server.app.config().pricing.commission_bps;
    let expected_share = final_fare - (final_fare * commission_bps + 5_000) / 10_000;
    let earnings = server
        .get("/v1/drivers/me/earnings", &driver.token)
        .await?
        .expect(200);
    assert_eq!(usd(&earnings["total"]), expected_share, "{earnings}");
    assert_eq!(earnings["rides"], 1);
    let lines = earnings["lines"].as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), 1, "{earnings}");
    assert_eq!(lines[0]["ride_id"], ride_id.as_str());
    assert_eq!(lines[0]["kind"], "ride_fare");
    assert_eq!(usd(&lines[0]["amount"]), expected_share);

    // Money moved only in balanced postings.
    assert_eq!(server.trial_balance().await?, vec![0]);
    server.stop().await
}

pub async fn retrying_a_request_with_the_same_idempotency_key_returns_the_same_ride_and_creates_no_other(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let quote = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let quote_id = field(&quote, "quote_id")?;

    let first = server
        .request_with_key(&rider, &quote_id, Some("retry-me"))
        .await?
        .expect(201);
    let second = server
        .request_with_key(&rider, &quote_id, Some("retry-me"))
        .await?;
    assert!(second.status == 200 || second.status == 201, "{second:?}");
    assert_eq!(second.body["ride_id"], first["ride_id"]);
    assert_eq!(second.body["pin"], first["pin"]);

    // Even once the quote has expired, the retry still finds the ride it created.
    server
        .clock
        .advance_secs(server.app.config().pricing.quote_ttl_secs + 1);
    let late_retry = server
        .request_with_key(&rider, &quote_id, Some("retry-me"))
        .await?;
    assert!(
        late_retry.status == 200 || late_retry.status == 201,
        "{late_retry:?}"
    );
    assert_eq!(late_retry.body["ride_id"], first["ride_id"]);

    // Two identical requests at the same time still make one ride.
    let quote = server.quote(&rider, UNION_SQUARE, TIMES_SQUARE).await?;
    let quote_id = field(&quote, "quote_id")?;
    let (a, b) = tokio::join!(
        server.request_with_key(&rider, &quote_id, Some("double-tap")),
        server.request_with_key(&rider, &quote_id, Some("double-tap")),
    );
    let (a, b) = (a?, b?);
    assert!(
        a.status == 201 && (b.status == 200 || b.status == 201),
        "{a:?} {b:?}"
    );
    assert_eq!(a.body["ride_id"], b.body["ride_id"]);

    let rides = server.get("/v1/rides", &rider.token).await?.expect(200);
    let mut listed: Vec<_> = rides["rides"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["ride_id"].clone())
        .collect();
    listed.sort_by_key(ToString::to_string);
    let mut expected = vec![first["ride_id"].clone(), a.body["ride_id"].clone()];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(listed, expected);

    // Keys belong to their rider: another rider's request with the same key is a ride of its own.
    let other = server.signup("rider").await?;
    let other_quote = server.quote(&other, TIMES_SQUARE, UNION_SQUARE).await?;
    let theirs = server
        .request_with_key(&other, &field(&other_quote, "quote_id")?, Some("retry-me"))
        .await?
        .expect(201);
    assert_ne!(theirs["ride_id"], first["ride_id"]);
    assert_eq!(theirs["rider_id"], other.id.as_str());

    // A key longer than 100 characters is refused and creates nothing.
    let long_quote = server.quote(&other, TIMES_SQUARE, UNION_SQUARE).await?;
    server
        .request_with_key(
            &other,
            &field(&long_quote, "quote_id")?,
            Some(&"k".repeat(101)),
        )
        .await?
        .expect_error(422, "invalid_idempotency_key");
    let their_rides = server.get("/v1/rides", &other.token).await?.expect(200);
    assert_eq!(their_rides["rides"].as_array().map(Vec::len), Some(1));
    server.stop().await
}

pub async fn a_used_quote_and_an_expired_quote_cannot_be_turned_into_a_ride(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let quote = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let quote_id = field(&quote, "quote_id")?;
    server
        .request_with_key(&rider, &quote_id, Some("first-key"))
        .await?
        .expect(201);
    server
        .request_with_key(&rider, &quote_id, Some("second-key"))
        .await?
        .expect_error(409, "quote_already_used");
    server
        .request_with_key(&rider, &quote_id, None)
        .await?
        .expect_error(409, "quote_already_used");

    // A quote used one second after it expired is refused.
    let stale = server.quote(&rider, UNION_SQUARE, TIMES_SQUARE).await?;
    let ttl = server.app.config().pricing.quote_ttl_secs;
    server.clock.advance_secs(ttl + 1);
    server
        .request_with_key(&rider, &field(&stale, "quote_id")?, Some("late-key"))
        .await?
        .expect_error(409, "quote_expired");

    let rides = server.get("/v1/rides", &rider.token).await?.expect(200);
    assert_eq!(rides["rides"].as_array().map(Vec::len), Some(1), "{rides}");
    server.stop().await
}
