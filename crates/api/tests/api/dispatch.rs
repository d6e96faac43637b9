//! The live dispatcher seen through the API: offers time out or are declined and go to the next driver,
//! rides without drivers end with the reason, stale drivers get nothing, and a batch minimises total ETA.

use crate::backend::{TestDb, TestResult};
use crate::places::{
    BRYANT_PARK, COLUMBUS_CIRCLE, FIFTH_AVE_34TH, FIFTH_AVE_59TH, MET_MUSEUM, Place, TIMES_SQUARE,
    UNION_SQUARE, WASHINGTON_SQUARE,
};
use crate::server::{Account, TestServer, field, let_dispatch_run, test_config};
use doorstep_app::Clock;
use doorstep_geo::LatLng;
use serde_json::Value;
use std::time::Duration;

/// The two drivers' offers of a ride: who got it first, and the other one.
async fn first_offer<'a>(
    server: &TestServer,
    drivers: [&'a Account; 2],
    ride_id: &str,
) -> TestResult<(&'a Account, &'a Account, Value)> {
    let (chosen, offer) = server.wait_for_offer_to_one_of(&drivers, ride_id).await?;
    Ok((drivers[chosen], drivers[1 - chosen], offer))
}

/// The drivers the ride was offered to, in order.
async fn offered_to(server: &TestServer, ride_id: &str) -> TestResult<Vec<String>> {
    let admin = server.admin().await?;
    Ok(server
        .timeline(&admin, ride_id)
        .await?
        .iter()
        .filter(|e| e["type"] == "offered")
        .filter_map(|e| e["driver"].as_str().map(str::to_owned))
        .collect())
}

fn latlng(p: Place) -> TestResult<LatLng> {
    Ok(LatLng::new(p.lat, p.lng)?)
}

/// The travel model's pickup time from `from` to `to` at the server's current instant.
fn eta(server: &TestServer, from: Place, to: Place) -> TestResult<f64> {
    Ok(server
        .app
        .travel_secs(latlng(from)?, latlng(to)?, server.clock.now()))
}

pub async fn an_unanswered_offer_expires_and_the_ride_is_offered_to_the_next_driver(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let a = server.driver_at(BRYANT_PARK).await?;
    let b = server.driver_at(COLUMBUS_CIRCLE).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let (silent, next, offer) = first_offer(&server, [&a, &b], &ride_id).await?;

    // Nothing moves while the offer is still open.
    let_dispatch_run().await;
    assert!(server.offers(next).await?.is_empty());
    assert_eq!(server.offers(silent).await?.len(), 1);

    server
        .clock
        .advance_secs(server.app.config().offer_timeout_secs + 1);
    server.wait_for_offer(next, &ride_id).await?;
    assert!(server.offers(silent).await?.is_empty());
    server
        .post_empty(
            &format!("/v1/offers/{}/accept", field(&offer, "offer_id")?),
            &silent.token,
        )
        .await?
        .expect_error(409, "offer_not_pending");
    assert_eq!(
        offered_to(&server, &ride_id).await?,
        vec![silent.id.clone(), next.id.clone()]
    );
    assert_eq!(server.ride(&rider, &ride_id).await?["state"], "requested");
    server.stop().await
}

pub async fn a_declined_offer_goes_to_the_next_driver(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let a = server.driver_at(BRYANT_PARK).await?;
    let b = server.driver_at(COLUMBUS_CIRCLE).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let (decliner, next, offer) = first_offer(&server, [&a, &b], &ride_id).await?;
    let decline_path = format!("/v1/offers/{}/decline", field(&offer, "offer_id")?);

    let declined = server
        .post_empty(&decline_path, &decliner.token)
        .await?
        .expect(200);
    assert_eq!(declined["state"], "declined");
    assert_eq!(declined["offer_id"], offer["offer_id"]);
    server
        .post_empty(&decline_path, &decliner.token)
        .await?
        .expect_error(409, "offer_not_pending");

    let second = server.wait_for_offer(next, &ride_id).await?;
    assert!(server.offers(decliner).await?.is_empty());
    server.accept(next, &second).await?;
    assert_eq!(
        offered_to(&server, &ride_id).await?,
        vec![decliner.id.clone(), next.id.clone()]
    );
    let assigned = server.ride(&rider, &ride_id).await?;
    assert_eq!(assigned["driver_id"], next.id.as_str());
    server.stop().await
}

pub async fn without_any_driver_the_ride_ends_as_no_driver_available_at_the_pickup_limit(
    db: TestDb,
) -> TestResult {
    // With the early end for unreachable rides longer than the pickup limit (see whocoming.rs for the
    // early end itself).
    let config = doorstep_app::AppConfig {
        no_driver_grace_secs: 100_000,
        ..crate::server::test_config()
    };
    let server = TestServer::start_with(
        &db,
        config,
        doorstep_app::Clock::manual(crate::server::WEDNESDAY_2PM),
    )
    .await?;
    let rider = server.signup("rider").await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let limit = server.app.config().pickup_limit_secs;

    server.clock.advance_secs(limit - 1);
    let_dispatch_run().await;
    assert_eq!(server.ride(&rider, &ride_id).await?["state"], "requested");

    server.clock.advance_secs(1);
    let ended = server
        .wait_for_state(&rider, &ride_id, "no_driver_available")
        .await?;
    assert_eq!(ended["no_driver_reason"], "no_drivers_nearby");
    assert!(ended["ended_at"].is_string());
    let timeline = server.timeline(&rider, &ride_id).await?;
    let last = timeline.last().ok_or("a timeline")?;
    assert_eq!(last["type"], "no_driver_available");
    assert_eq!(last["reason"], "no_drivers_nearby");
    server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &rider.token)
        .await?
        .expect_error(409, "invalid_ride_state");
    server.stop().await
}

pub async fn when_every_driver_declines_the_ride_ends_with_all_offers_declined(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let a = server.driver_at(BRYANT_PARK).await?;
    let b = server.driver_at(COLUMBUS_CIRCLE).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let (first, second, offer) = first_offer(&server, [&a, &b], &ride_id).await?;
    server
        .post_empty(
            &format!("/v1/offers/{}/decline", field(&offer, "offer_id")?),
            &first.token,
        )
        .await?
        .expect(200);
    let offer = server.wait_for_offer(second, &ride_id).await?;
    server
        .post_empty(
            &format!("/v1/offers/{}/decline", field(&offer, "offer_id")?),
            &second.token,
        )
        .await?
        .expect(200);

    // Both are free, yet neither is offered the ride again.
    let_dispatch_run().await;
    assert!(server.offers(first).await?.is_empty());
    assert!(server.offers(second).await?.is_empty());
    assert_eq!(server.ride(&rider, &ride_id).await?["state"], "requested");

    server
        .clock
        .advance_secs(server.app.config().pickup_limit_secs);
    let ended = server
        .wait_for_state(&rider, &ride_id, "no_driver_available")
        .await?;
    assert_eq!(ended["no_driver_reason"], "all_offers_declined");
    server.stop().await
}

pub async fn a_driver_whose_last_position_is_stale_gets_no_offer(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    // The stale driver is nearer to the pickup than the fresh one, so only staleness can pass them over.
    assert!(
        eta(&server, BRYANT_PARK, TIMES_SQUARE)? < eta(&server, COLUMBUS_CIRCLE, TIMES_SQUARE)?
    );
    let stale = server.driver_at(BRYANT_PARK).await?;
    server
        .clock
        .advance_secs(server.app.config().driver_stale_secs + 1);
    let fresh = server.driver_at(COLUMBUS_CIRCLE).await?;

    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    server.wait_for_offer(&fresh, &ride_id).await?;
    assert!(server.offers(&stale).await?.is_empty());
    assert_eq!(offered_to(&server, &ride_id).await?, vec![fresh.id.clone()]);

    // Once the stale driver reports again, they get offers again.
    server.report_position(&stale, BRYANT_PARK).await?;
    let next = server
        .request_ride(&rider, TIMES_SQUARE, WASHINGTON_SQUARE)
        .await?;
    server
        .wait_for_offer(&stale, &field(&next, "ride_id")?)
        .await?;
    server.stop().await
}

/// Two rides and two drivers on Fifth Avenue, where serving the first request with its nearest driver
/// (first come, first served) leaves the second ride a long pickup. The dispatcher must pick the pairing
/// with the least total pickup time instead.
///
/// Both rides and both drivers must be in the same batch. Requests and position reports reach a running
/// dispatcher one by one, so the setup runs on a server whose batch window is an hour (its only batch runs
/// at start, before anything exists); the server is then restarted with the short window, rebuilds rides
/// and drivers from the record, and solves them all in its first batch.
pub async fn a_batch_pairs_rides_and_drivers_by_least_total_pickup_time_not_first_come(
    db: TestDb,
) -> TestResult {
    let clock = Clock::manual(crate::server::WEDNESDAY_2PM);
    let slow = doorstep_app::AppConfig {
        batch_window: Duration::from_secs(3_600),
        ..test_config()
    };
    let setup = TestServer::start_with(&db, slow, clock.clone()).await?;
    let first_pickup = FIFTH_AVE_34TH.toward(FIFTH_AVE_59TH, 0.4);
    let second_pickup = FIFTH_AVE_34TH.toward(FIFTH_AVE_59TH, 0.05);
    let south = FIFTH_AVE_34TH;
    let north = FIFTH_AVE_59TH;

    let first_rider = setup.signup("rider").await?;
    let second_rider = setup.signup("rider").await?;
    let first = setup
        .request_ride(&first_rider, first_pickup, MET_MUSEUM)
        .await?;
    setup.clock.advance_secs(1);
    let second = setup
        .request_ride(&second_rider, second_pickup, MET_MUSEUM)
        .await?;
    let south_driver = setup.driver_at(south).await?;
    let north_driver = setup.driver_at(north).await?;

    // The premise: greedy gives the first ride the south driver, which costs more in total.
    let e = |d: Place, r: Place| eta(&setup, d, r);
    assert!(e(south, first_pickup)? < e(north, first_pickup)?);
    let greedy = e(south, first_pickup)? + e(north, second_pickup)?;
    let best = e(north, first_pickup)? + e(south, second_pickup)?;
    assert!(best < greedy, "best {best} greedy {greedy}");
    let expected_etas = (e(north, first_pickup)?, e(south, second_pickup)?);
    for driver in [&south_driver, &north_driver] {
        assert!(
            setup.offers(driver).await?.is_empty(),
            "the setup server must not have run a batch after its start"
        );
    }
    setup.stop().await?;

    let server = TestServer::start_with(&db, test_config(), clock).await?;
    let first_id = field(&first, "ride_id")?;
    let second_id = field(&second, "ride_id")?;
    let first_offer = server.wait_for_offer(&north_driver, &first_id).await?;
    let second_offer = server.wait_for_offer(&south_driver, &second_id).await?;
    assert_eq!(server.offers(&north_driver).await?.len(), 1);
    assert_eq!(server.offers(&south_driver).await?.len(), 1);
    let offered_eta = |offer: &Value| offer["pickup_eta_s"].as_f64().unwrap_or(f64::NAN);
    assert!(
        (offered_eta(&first_offer) - expected_etas.0).abs() <= 1.0,
        "{first_offer}"
    );
    assert!(
        (offered_eta(&second_offer) - expected_etas.1).abs() <= 1.0,
        "{second_offer}"
    );
    server.stop().await
}
