//! The server's dispatcher is the IO-free core of `doorstep-dispatch` behind a thin shell: idle drivers
//! get repositioning suggestions on their event stream, and no ride is dropped while the store refuses
//! the dispatcher's writes (faults injected with database triggers).

use crate::backend::{TestDb, TestResult};
use crate::event_stream::EventStream;
use crate::places::{BRYANT_PARK, TIMES_SQUARE, UNION_SQUARE, WASHINGTON_SQUARE};
use crate::server::{Account, TestServer, eventually, field, let_dispatch_run};
use sqlx::{AnyConnection, Connection as _};
use std::time::Duration;

/// The state of a ride as its rider reads it.
async fn state(server: &TestServer, rider: &Account, ride_id: &str) -> TestResult<String> {
    let ride = server
        .get(&format!("/v1/rides/{ride_id}"), &rider.token)
        .await?
        .expect(200);
    field(&ride, "state")
}

pub async fn idle_drivers_crowded_in_one_place_are_suggested_where_riders_are_expected(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let mut drivers = Vec::new();
    for _ in 0..6 {
        drivers.push(server.driver_at(UNION_SQUARE).await?);
    }
    let mut streams = Vec::new();
    for d in &drivers {
        streams.push(EventStream::open(&server, &d.token, None).await?);
    }
    let mut rider_stream = EventStream::open(&server, &rider.token, None).await?;
    // Repositioning runs once a minute: a minute later (positions reported again, so fresh), six idle
    // cars in one zone are more than the zone's share of the expected demand. The dispatcher ticks on
    // its own: a tick between the clock's jump and the fresh positions sees stale drivers and uses up
    // that minute's repositioning, so each round moves the clock on another minute.
    let mut suggested = 0;
    for _round in 0..5 {
        server.clock.advance_secs(61);
        for d in &drivers {
            server.report_position(d, UNION_SQUARE).await?;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
        while suggested == 0 && tokio::time::Instant::now() < deadline {
            for s in &mut streams {
                s.next_message_within(Duration::from_millis(100)).await?;
                suggested += s.suggestions.len();
            }
        }
        if suggested > 0 {
            break;
        }
    }
    assert!(
        suggested >= 1,
        "no idle driver was told where riders are expected"
    );
    for s in &streams {
        for g in &s.suggestions {
            assert!(
                g["zone"].as_str().is_some_and(|z| !z.is_empty()),
                "a suggestion names its zone: {g}"
            );
            let (lat, lng) = (
                g["lat"].as_f64().unwrap_or(0.0),
                g["lng"].as_f64().unwrap_or(0.0),
            );
            assert!(
                (lat - UNION_SQUARE.lat).abs() + (lng - UNION_SQUARE.lng).abs() > 0.002,
                "a suggestion moves the driver: {g}"
            );
            assert!(g["at"].is_string(), "{g}");
        }
    }
    // Suggestions go to their driver only.
    rider_stream
        .next_message_within(Duration::from_millis(300))
        .await?;
    assert!(rider_stream.suggestions.is_empty());
    server.stop().await
}

/// The database refuses every new offer and every `no_driver_available` verdict until `clear_faults`.
async fn inject_faults(db: &TestDb) -> TestResult {
    let mut conn = AnyConnection::connect(&db.url).await?;
    let statements: &[&str] = if db.url.starts_with("postgres") {
        &[
            "CREATE FUNCTION inject_fault() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER inject_offer_fault BEFORE INSERT ON offers FOR EACH ROW EXECUTE FUNCTION inject_fault()",
            "CREATE TRIGGER inject_verdict_fault BEFORE UPDATE ON jobs FOR EACH ROW WHEN (NEW.state = 'unfulfilled') EXECUTE FUNCTION inject_fault()",
        ]
    } else {
        &[
            "CREATE TRIGGER inject_offer_fault BEFORE INSERT ON offers BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
            "CREATE TRIGGER inject_verdict_fault BEFORE UPDATE ON jobs WHEN NEW.state = 'unfulfilled' BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
        ]
    };
    for s in statements {
        sqlx::query(sqlx::AssertSqlSafe(*s))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

async fn clear_faults(db: &TestDb) -> TestResult {
    let mut conn = AnyConnection::connect(&db.url).await?;
    let statements: &[&str] = if db.url.starts_with("postgres") {
        &[
            "DROP TRIGGER inject_offer_fault ON offers",
            "DROP TRIGGER inject_verdict_fault ON jobs",
            "DROP FUNCTION inject_fault()",
        ]
    } else {
        &[
            "DROP TRIGGER inject_offer_fault",
            "DROP TRIGGER inject_verdict_fault",
        ]
    };
    for s in statements {
        sqlx::query(sqlx::AssertSqlSafe(*s))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

pub async fn no_ride_is_dropped_while_the_store_refuses_the_dispatchers_writes(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let other = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    inject_faults(&db).await?;

    // Ride A: every offer to the driver fails to be recorded, and past the pickup limit so does its
    // verdict.
    let a = server
        .request_ride(&rider, TIMES_SQUARE, WASHINGTON_SQUARE)
        .await?;
    let a_id = field(&a, "ride_id")?;
    let_dispatch_run().await;
    assert!(server.offers(&driver).await?.is_empty(), "offers fail");
    server
        .clock
        .advance_secs(server.app.config().pickup_limit_secs + 1);
    server.report_position(&driver, BRYANT_PARK).await?;
    // Ride B is requested while offers fail.
    let b = server
        .request_ride(&other, BRYANT_PARK, UNION_SQUARE)
        .await?;
    let b_id = field(&b, "ride_id")?;
    // Wait until the dispatcher has tried to record A's verdict and failed (counted in the metrics).
    let admin = server.admin().await?;
    eventually("the verdict fails to be recorded", || async {
        let metrics = server.get_text("/metrics", &admin.token).await?;
        Ok(metrics
            .lines()
            .any(|l| l.starts_with("dispatch_store_retries_total{what=\"unfulfilled\"}"))
            .then_some(()))
    })
    .await?;
    let_dispatch_run().await;
    assert_eq!(state(&server, &rider, &a_id).await?, "requested");
    assert_eq!(state(&server, &other, &b_id).await?, "requested");
    assert!(server.offers(&driver).await?.is_empty());

    // The store recovers: the verdict is repeated and recorded, and B is offered.
    clear_faults(&db).await?;
    server.clock.advance_secs(11);
    server.report_position(&driver, BRYANT_PARK).await?;
    eventually("ride A ends without a driver", || async {
        Ok((state(&server, &rider, &a_id).await? == "no_driver_available").then_some(()))
    })
    .await?;
    server.wait_for_offer(&driver, &b_id).await?;
    server.stop().await
}
