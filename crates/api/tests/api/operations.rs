//! The operations console's reads: admins only, and they reflect what happened in the city.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::EventStream;
use crate::places::{BRYANT_PARK, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{TestServer, field, usd};
use serde_json::json;
use std::time::Duration;

pub async fn only_admins_read_the_operations_endpoints(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.signup("driver").await?;
    for path in [
        "/v1/admin/fleet",
        "/v1/admin/kpis",
        "/v1/admin/zones",
        "/v1/admin/rides",
    ] {
        server
            .get(path, &rider.token)
            .await?
            .expect_error(403, "forbidden");
        server
            .get(path, &driver.token)
            .await?
            .expect_error(403, "forbidden");
    }
    let admin = server.admin().await?;
    server
        .get("/v1/admin/rides?state=flying", &admin.token)
        .await?
        .expect_error(422, "invalid_state");
    server.stop().await
}

pub async fn the_console_sees_drivers_rides_kpis_and_zone_demand(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let driver = server.driver_at(BRYANT_PARK).await?;

    let fleet = server
        .get("/v1/admin/fleet", &admin.token)
        .await?
        .expect(200);
    let drivers = fleet["drivers"].as_array().cloned().unwrap_or_default();
    let me = drivers
        .iter()
        .find(|d| d["driver_id"] == driver.id.as_str())
        .ok_or("driver missing from the fleet")?;
    assert_eq!(me["status"], "available");
    assert!(BRYANT_PARK.is(&me["position"]), "{me}");

    let rider = server.signup("rider").await?;
    let completed = server
        .completed_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&completed, "ride_id")?;
    let fare = usd(&completed["final_fare"]);
    assert!(fare > 0);

    let kpis = server
        .get("/v1/admin/kpis", &admin.token)
        .await?
        .expect(200);
    assert_eq!(kpis["completed_last_hour"], 1, "{kpis}");
    assert_eq!(usd(&kpis["gross_last_hour"]), fare);
    assert_eq!(
        usd(&kpis["revenue_last_hour"]),
        (fare as f64 * 0.2).round() as i64
    );
    assert_eq!(kpis["drivers_online"], 1);
    let series = kpis["series"].as_array().cloned().unwrap_or_default();
    assert_eq!(series.len(), 24, "two hours of five-minute buckets");
    assert_eq!(
        series
            .iter()
            .map(|b| b["completed"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        1
    );
    assert_eq!(
        series
            .iter()
            .map(|b| b["requested"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        1
    );

    let zones = server
        .get("/v1/admin/zones", &admin.token)
        .await?
        .expect(200);
    let zones = zones["zones"].as_array().cloned().unwrap_or_default();
    assert_eq!(zones.len(), 61);
    assert_eq!(
        zones
            .iter()
            .map(|z| z["requests_last_hour"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        1
    );

    let timeline = server.timeline(&admin, &ride_id).await?;
    assert_eq!(timeline[0]["type"], "requested");
    assert!(
        TIMES_SQUARE.is(&timeline[0]["pickup"]),
        "the request says where: {}",
        timeline[0]
    );
    assert!(UNION_SQUARE.is(&timeline[0]["dropoff"]), "{}", timeline[0]);
    let me = server.get("/v1/me", &driver.token).await?.expect(200);
    assert_eq!(me["online"], true, "{me}");
    let rider_me = server.get("/v1/me", &rider.token).await?.expect(200);
    assert!(rider_me.get("online").is_none(), "{rider_me}");

    let by_state = server
        .get("/v1/admin/rides?state=completed", &admin.token)
        .await?
        .expect(200);
    assert_eq!(by_state["rides"].as_array().map(Vec::len), Some(1));
    let prefix = &ride_id[..13];
    let by_text = server
        .get(&format!("/v1/admin/rides?q={prefix}"), &admin.token)
        .await?
        .expect(200);
    assert_eq!(by_text["rides"][0]["ride_id"], ride_id.as_str());
    let none = server
        .get("/v1/admin/rides?state=cancelled", &admin.token)
        .await?
        .expect(200);
    assert_eq!(none["rides"].as_array().map(Vec::len), Some(0));
    server.stop().await
}

pub async fn admins_receive_every_drivers_position_on_the_event_stream(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let rider = server.signup("rider").await?;
    let mut console = EventStream::open(&server, &admin.token, None).await?;
    let mut rider_stream = EventStream::open(&server, &rider.token, None).await?;
    // A minute for the 500 m to Times Square: the server refuses jumps faster than a car.
    server.clock.advance_secs(60);
    let points =
        json!([{"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng, "at": server.now_rfc3339()}]);
    server
        .post("/v1/drivers/me/locations", &driver.token, points)
        .await?
        .expect(202);
    let position = loop {
        let m = console.next_message().await?;
        if m["type"] == "driver_position" {
            break m;
        }
    };
    assert_eq!(position["driver_id"], driver.id.as_str());
    assert_eq!(position["status"], "available");
    assert!(TIMES_SQUARE.is(&position), "{position}");
    // A rider sees no other driver's position.
    let leaked = rider_stream
        .next_message_within(Duration::from_millis(300))
        .await?;
    assert!(leaked.is_none(), "{leaked:?}");
    server.stop().await
}

pub async fn riders_see_nearby_available_drivers_without_identities(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let near = server.driver_at(BRYANT_PARK).await?;
    let _far = server.driver_at(UNION_SQUARE).await?;
    let rider = server.signup("rider").await?;
    let path = format!(
        "/v1/drivers/nearby?lat={}&lng={}&limit=5",
        TIMES_SQUARE.lat, TIMES_SQUARE.lng
    );
    let nearby = server.get(&path, &rider.token).await?.expect(200);
    let drivers = nearby["drivers"].as_array().cloned().unwrap_or_default();
    assert_eq!(drivers.len(), 2, "{nearby}");
    assert!(
        BRYANT_PARK.within_m(&drivers[0], 40.0),
        "closest first, near where the driver is: {nearby}"
    );
    assert!(drivers[0]["distance_m"].as_u64() < drivers[1]["distance_m"].as_u64());
    assert!(
        !nearby.to_string().contains(&near.id),
        "no driver ids are revealed"
    );
    server
        .get(&path, &near.token)
        .await?
        .expect_error(403, "forbidden");
    server
        .get("/v1/drivers/nearby?lat=123&lng=0", &rider.token)
        .await?
        .expect_error(422, "invalid_coordinates");
    server.stop().await
}

/// A driver who went online and then fell silent (a closed browser) is `stale` on the console's map and
/// not counted online, as dispatch already stops offering it rides; a driver on a ride stays counted
/// however quiet, and a stale driver that reports again is available again.
pub async fn a_silent_idle_driver_is_stale_and_not_counted_online(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let quiet = server.driver_at(BRYANT_PARK).await?;
    let busy = server.driver_at(TIMES_SQUARE).await?;
    let rider = server.signup("rider").await?;
    server
        .assigned_ride(&rider, &busy, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let status_of = |fleet: &serde_json::Value, driver: &str| {
        fleet["drivers"]
            .as_array()
            .and_then(|ds| ds.iter().find(|d| d["driver_id"] == driver))
            .map(|d| d["status"].clone())
    };
    let fleet = server
        .get("/v1/admin/fleet", &admin.token)
        .await?
        .expect(200);
    assert_eq!(status_of(&fleet, &quiet.id), Some("available".into()));
    let kpis = server
        .get("/v1/admin/kpis", &admin.token)
        .await?
        .expect(200);
    assert_eq!(kpis["drivers_online"], 2, "{kpis}");

    server
        .clock
        .advance_secs(server.app.config().driver_stale_secs + 1);
    let fleet = server
        .get("/v1/admin/fleet", &admin.token)
        .await?
        .expect(200);
    assert_eq!(status_of(&fleet, &quiet.id), Some("stale".into()));
    assert_eq!(status_of(&fleet, &busy.id), Some("to_pickup".into()));
    let kpis = server
        .get("/v1/admin/kpis", &admin.token)
        .await?
        .expect(200);
    assert_eq!(kpis["drivers_online"], 1, "{kpis}");

    server.report_position(&quiet, BRYANT_PARK).await?;
    let fleet = server
        .get("/v1/admin/fleet", &admin.token)
        .await?
        .expect(200);
    assert_eq!(status_of(&fleet, &quiet.id), Some("available".into()));
    server.stop().await
}
