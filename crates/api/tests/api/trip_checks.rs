//! What a driver's phone says is checked (issue 9, item 8): implausible positions are rejected and counted,
//! a driver arrives only at the pickup, a completion away from the drop-off is an early end charged for
//! what was driven, a final fare stays within its band around the quote, and `/metrics` counts rides by
//! state without asking the database.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::EventStream;
use crate::places::{BRYANT_PARK, MET_MUSEUM, Place, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, TestServer, field, test_config, usd};
use doorstep_app::{AppConfig, Clock};
use serde_json::{Value, json};

/// Philadelphia: far outside the service area.
const PHILADELPHIA: Place = Place {
    lat: 39.9526,
    lng: -75.1652,
};

/// Inwood, at the north end of Manhattan: farther from midtown than a pickup is ever offered.
const INWOOD: Place = Place {
    lat: 40.8677,
    lng: -73.9212,
};

/// A location batch of `points` (place, seconds before the clock's now) as `driver`.
async fn send_points(
    server: &TestServer,
    driver: &Account,
    points: &[(Place, i64)],
) -> TestResult<Value> {
    let now = server.clock.now();
    let body: Vec<Value> = points
        .iter()
        .map(|(p, ago)| json!({"lat": p.lat, "lng": p.lng, "at": doorstep_api::dto::rfc3339(now.plus_secs(-ago))}))
        .collect();
    Ok(server
        .post("/v1/drivers/me/locations", &driver.token, json!(body))
        .await?
        .expect(202))
}

/// Where the operations console sees `driver`'s car (the nearest driver to `near`).
async fn console_position(server: &TestServer, admin: &Account, near: Place) -> TestResult<Value> {
    let nearby = server
        .get(
            &format!(
                "/v1/drivers/nearby?lat={}&lng={}&limit=1",
                near.lat, near.lng
            ),
            &admin.token,
        )
        .await?
        .expect(200);
    Ok(nearby["drivers"][0].clone())
}

pub async fn implausible_positions_are_rejected_counted_by_reason_and_move_nothing(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    server.clock.advance_secs(60);
    // Times Square half a minute later is a car's pace; Union Square a second after that is not, and
    // Philadelphia is outside the service area.
    let answer = send_points(
        &server,
        &driver,
        &[(TIMES_SQUARE, 30), (UNION_SQUARE, 29), (PHILADELPHIA, 0)],
    )
    .await?;
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["rejected"], 2, "{answer}");
    assert_eq!(answer["too_fast"], 1, "{answer}");
    assert_eq!(answer["outside_service_area"], 1, "{answer}");
    // The car is where the believed point put it.
    let seen = console_position(&server, &admin, TIMES_SQUARE).await?;
    assert!(TIMES_SQUARE.within_m(&seen, 1.0), "{seen}");

    // On the WebSocket, a batch with rejected points is answered with the counts.
    let mut socket = EventStream::open(&server, &driver.token, None).await?;
    let at = doorstep_api::dto::rfc3339(server.clock.now());
    socket
        .send(&json!({"type": "locations", "points": [{"lat": UNION_SQUARE.lat, "lng": UNION_SQUARE.lng, "at": at}]}))
        .await?;
    let frame = socket.next_message().await?;
    assert_eq!(frame["type"], "locations_rejected", "{frame}");
    assert_eq!(
        (&frame["accepted"], &frame["rejected"], &frame["too_fast"]),
        (&json!(0), &json!(1), &json!(1)),
        "{frame}"
    );
    socket.close().await?;
    let seen = console_position(&server, &admin, TIMES_SQUARE).await?;
    assert!(TIMES_SQUARE.within_m(&seen, 1.0), "{seen}");

    // Counted in the metrics by reason.
    let metrics = server.get_text("/metrics", &admin.token).await?;
    for reason in ["too_fast", "outside_service_area"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("location_points_rejected_total{")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "{metrics}"
        );
    }
    server.stop().await
}

pub async fn a_driver_arrives_only_near_the_pickup_by_a_believed_position(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    let arrive = format!("/v1/rides/{ride_id}/arrive");
    // From Bryant Park, about 500 m away.
    server
        .post_empty(&arrive, &driver.token)
        .await?
        .expect_error(409, "not_at_pickup");
    // A jump to the pickup in no time is not believed, and does not put the car there.
    let jump = send_points(&server, &driver, &[(TIMES_SQUARE, 0)]).await?;
    assert_eq!(jump["too_fast"], 1, "{jump}");
    server
        .post_empty(&arrive, &driver.token)
        .await?
        .expect_error(409, "not_at_pickup");
    // Halfway (about 260 m): still too far.
    server
        .drive_to(&driver, BRYANT_PARK.toward(TIMES_SQUARE, 0.5))
        .await?;
    server
        .post_empty(&arrive, &driver.token)
        .await?
        .expect_error(409, "not_at_pickup");
    assert_eq!(
        server.ride(&rider, &ride_id).await?["state"],
        "driver_assigned"
    );
    // About 100 m from the pickup: arrived.
    server
        .drive_to(&driver, TIMES_SQUARE.toward(BRYANT_PARK, 0.2))
        .await?;
    let arrived = server.post_empty(&arrive, &driver.token).await?.expect(200);
    assert_eq!(arrived["state"], "driver_arrived");
    server.stop().await
}

/// Arrives at `from`, starts, and returns the ride id and the quoted total.
async fn on_trip(
    server: &TestServer,
    rider: &Account,
    driver: &Account,
    from: Place,
    to: Place,
) -> TestResult<(String, i64)> {
    let assigned = server.assigned_ride(rider, driver, from, to).await?;
    let ride_id = field(&assigned, "ride_id")?;
    server.drive_to(driver, from).await?;
    server
        .post_empty(&format!("/v1/rides/{ride_id}/arrive"), &driver.token)
        .await?
        .expect(200);
    server
        .post(
            &format!("/v1/rides/{ride_id}/start"),
            &driver.token,
            json!({"pin": field(&assigned, "pin")?}),
        )
        .await?
        .expect(200);
    Ok((ride_id, usd(&assigned["fare"])))
}

/// The `completed` event of a ride as `who` reads it in the timeline.
async fn completed_event(server: &TestServer, who: &Account, ride_id: &str) -> TestResult<Value> {
    let timeline = server.timeline(who, ride_id).await?;
    Ok(timeline
        .into_iter()
        .find(|e| e["type"] == "completed")
        .ok_or("a completed event")?)
}

pub async fn a_completion_away_from_the_drop_off_is_an_early_end_charged_for_what_was_driven(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let (ride_id, _) = on_trip(&server, &rider, &driver, TIMES_SQUARE, UNION_SQUARE).await?;
    // A short way toward Union Square, then the driver ends the trip.
    server.clock.advance_secs(60);
    server
        .report_position(&driver, TIMES_SQUARE.toward(UNION_SQUARE, 0.05))
        .await?;
    let completed = server
        .post_empty(&format!("/v1/rides/{ride_id}/complete"), &driver.token)
        .await?
        .expect(200);
    assert_eq!(completed["state"], "completed");
    assert_eq!(completed["early_end"], "far_from_dropoff", "{completed}");
    assert!(
        completed["dropoff_distance_m"].as_u64() > Some(2_000),
        "{completed}"
    );
    let driven = completed["trip_distance_m"]
        .as_u64()
        .ok_or("a trip distance")?;
    assert!((100..200).contains(&driven), "{completed}");
    // Charged by the tariff for the distance driven and the time taken: no band minimum for an early end.
    let tariff = doorstep_domain::pricing::price_trip(
        &server.app.config().pricing,
        u32::try_from(driven)?,
        60,
        doorstep_domain::pricing::SurgeMillis::NONE,
    )?;
    assert_eq!(
        usd(&completed["final_fare"]),
        tariff.total.minor,
        "{completed}"
    );
    assert_eq!(completed["fare_adjustment"], Value::Null);
    // The rider, the driver and operators see it, on the ride and in its completed event.
    for who in [&rider, &driver, &admin] {
        let ride = server.ride(who, &ride_id).await?;
        assert_eq!(ride["early_end"], "far_from_dropoff", "{ride}");
        assert_eq!(ride["trip_distance_m"], json!(driven), "{ride}");
        let event = completed_event(&server, who, &ride_id).await?;
        assert_eq!(event["early_end"], "far_from_dropoff", "{event}");
        assert_eq!(event["distance_m"], json!(driven), "{event}");
    }
    assert_eq!(server.trial_balance().await?, vec![0]);
    server.stop().await
}

pub async fn a_final_fare_is_capped_at_the_top_of_its_band_with_the_reason_recorded(
    db: TestDb,
) -> TestResult {
    // Position limits that believe anything, so that a phone zig-zagging across town at 7,000 km/h gets
    // its distance counted: the band is the last line of defence.
    let mut config = test_config();
    config.position_limits.max_speed_kmh = 1e9;
    config.position_limits.service_area_margin_km = f64::INFINITY;
    let server =
        TestServer::start_with(&db, config, Clock::manual(crate::server::WEDNESDAY_2PM)).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let (ride_id, quoted) = on_trip(&server, &rider, &driver, TIMES_SQUARE, UNION_SQUARE).await?;
    server.clock.advance_secs(60);
    let zigzag: Vec<(Place, i64)> = (0..40)
        .map(|i| (if i % 2 == 0 { MET_MUSEUM } else { TIMES_SQUARE }, 50 - i))
        .chain([(UNION_SQUARE, 0)])
        .collect();
    let answer = send_points(&server, &driver, &zigzag).await?;
    assert_eq!(answer["rejected"], 0, "{answer}");
    let completed = server
        .post_empty(&format!("/v1/rides/{ride_id}/complete"), &driver.token)
        .await?
        .expect(200);
    let band = AppConfig::default().fare_band;
    assert_eq!(
        usd(&completed["final_fare"]),
        quoted * i64::from(band.max_pct) / 100,
        "{completed}"
    );
    assert_eq!(
        completed["fare_adjustment"], "capped_at_maximum",
        "{completed}"
    );
    assert_eq!(completed["early_end"], Value::Null, "{completed}");
    assert!(
        completed["trip_distance_m"].as_u64() > Some(100_000),
        "the distance claimed is kept: {completed}"
    );
    let lines = completed["final_breakdown"]
        .as_array()
        .ok_or("an itemised final fare")?;
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "band_adjustment" && usd(&l["amount"]) < 0),
        "{completed}"
    );
    for who in [&rider, &driver, &admin] {
        let ride = server.ride(who, &ride_id).await?;
        assert_eq!(ride["fare_adjustment"], "capped_at_maximum", "{ride}");
        let event = completed_event(&server, who, &ride_id).await?;
        assert_eq!(event["fare_adjustment"], "capped_at_maximum", "{event}");
        assert_eq!(
            usd(&event["fare"]),
            usd(&completed["final_fare"]),
            "{event}"
        );
    }
    assert_eq!(server.trial_balance().await?, vec![0]);
    server.stop().await
}

/// The value of `rides{state="..."}` in a metrics text.
fn rides_in(metrics: &str, state: &str) -> Option<i64> {
    let prefix = format!("rides{{state=\"{state}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

pub async fn metrics_count_rides_by_state_in_memory_without_reading_the_database_on_a_scrape(
    db: TestDb,
) -> TestResult {
    // Another server on the same database makes a ride (in Inwood, far from the driver below) before
    // this one starts...
    let other = TestServer::start(&db).await?;
    let other_rider = other.signup("rider").await?;
    other.request_ride(&other_rider, INWOOD, MET_MUSEUM).await?;
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let scrape = || server.get_text("/metrics", &admin.token);
    // ...which this one counts once, at start.
    assert_eq!(rides_in(&scrape().await?, "requested"), Some(1));
    // A ride the other server makes now is in the database, but this server's scrape does not read it:
    // its numbers are its own changes since it started.
    other.request_ride(&other_rider, INWOOD, MET_MUSEUM).await?;
    other.stop().await?;
    let text = scrape().await?;
    assert_eq!(rides_in(&text, "requested"), Some(1), "{text}");

    // The numbers follow every change this server commits.
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let text = scrape().await?;
    assert_eq!(rides_in(&text, "requested"), Some(1), "{text}");
    assert_eq!(rides_in(&text, "driver_assigned"), Some(1), "{text}");
    // A trip short enough that the ride waiting in Inwood is not given up on before the next scrapes.
    server.drive_to_completion(&driver, &assigned, 240).await?;
    let text = scrape().await?;
    assert_eq!(rides_in(&text, "driver_assigned"), Some(0), "{text}");
    assert_eq!(rides_in(&text, "in_progress"), Some(0), "{text}");
    assert_eq!(rides_in(&text, "completed"), Some(1), "{text}");
    let cancelled = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let cancel = format!("/v1/rides/{}/cancel", field(&cancelled, "ride_id")?);
    // The driver is free again, so the dispatcher may offer them this ride between the cancel's read and
    // its commit: that lost race answers 409 `concurrent_update`, and a client tries again.
    let mut reply = server.post_empty(&cancel, &rider.token).await?;
    for _ in 0..5 {
        if reply.status != 409 || reply.body["code"] != "concurrent_update" {
            break;
        }
        reply = server.post_empty(&cancel, &rider.token).await?;
    }
    reply.expect(200);
    let text = scrape().await?;
    assert_eq!(rides_in(&text, "cancelled"), Some(1), "{text}");
    // Should the clock have passed the pickup limit, this server's dispatcher may have given up on the ride
    // waiting in Inwood meanwhile: a change it counts too.
    let waiting = rides_in(&text, "requested").zip(rides_in(&text, "no_driver_available"));
    assert_eq!(waiting.map(|(r, n)| r + n), Some(1), "{text}");
    server.stop().await
}
