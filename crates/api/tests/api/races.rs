//! Use-case races: two commands on one ride at the same moment, many times, with the hot state's
//! updates delayed by a random jitter so that they reach it in every order. After each round every
//! driver's hot state must agree with the record: a change that arrives after a newer change of the
//! same ride is refused (`Fleet::apply`, by ride version).

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, TestServer, eventually, field, test_config};
use doorstep_api::rate_limit::RateLimits;
use doorstep_app::fleet::Activity;
use doorstep_domain::{RideId, UserId};
use std::time::Duration;

/// Rounds per race.
const ROUNDS: usize = 16;

/// How long the second command of round `round` waits after the first starts: spread over the first's
/// whole run (reads, commit, the jitter before its hot-state update), so the rounds cover every phase.
fn stagger(round: usize) -> Duration {
    Duration::from_millis(u64::try_from(round * 7 % 40).unwrap_or(0))
}

async fn racing_server(db: &TestDb) -> TestResult<TestServer> {
    let config = doorstep_app::AppConfig {
        hot_state_jitter: Duration::from_millis(40),
        // A reconciliation at every batch meets the commands of the rides it reads.
        reconcile_every_ticks: 1,
        ..test_config()
    };
    TestServer::start_configured(db, config, RateLimits::default()).await
}

/// What the record says the driver should be doing, as the hot state names it.
#[derive(Debug, PartialEq)]
enum Expected {
    Available,
    Offered(String),
    ToPickup(String),
    OnTrip(String),
}

async fn expected(
    server: &TestServer,
    driver: &Account,
    rides: &[(Account, String)],
) -> TestResult<Expected> {
    for (rider, ride_id) in rides {
        let ride = server
            .get(&format!("/v1/rides/{ride_id}"), &rider.token)
            .await?
            .expect(200);
        if ride["driver_id"] != driver.id.as_str() {
            continue;
        }
        match ride["state"].as_str() {
            Some("driver_assigned" | "driver_arrived") => {
                return Ok(Expected::ToPickup(ride_id.clone()));
            }
            Some("in_progress") => return Ok(Expected::OnTrip(ride_id.clone())),
            _ => {}
        }
    }
    let offers = server.offers(driver).await?;
    Ok(match offers.first() {
        Some(o) => Expected::Offered(field(o, "ride_id")?),
        None => Expected::Available,
    })
}

fn actual(server: &TestServer, driver: &Account) -> TestResult<Expected> {
    let id: UserId = driver.id.parse().map_err(|_| "a driver id")?;
    let status = server
        .app
        .with_fleet(|f| f.driver(id).map(|d| d.activity()))
        .ok_or("the driver is in the hot state")?;
    let ride = |job| RideId::from(job).to_string();
    Ok(match status {
        Activity::Idle => Expected::Available,
        Activity::Offered(o) => Expected::Offered(ride(o.job)),
        Activity::ToPickup { job } => Expected::ToPickup(ride(job)),
        Activity::OnTrip { job } => Expected::OnTrip(ride(job)),
    })
}

/// Waits out the jitter, then checks the driver's hot state against the record.
async fn agrees(
    server: &TestServer,
    driver: &Account,
    rides: &[(Account, String)],
    round: usize,
) -> TestResult {
    let found = eventually("the hot state agrees with the record", || async {
        let want = expected(server, driver, rides).await?;
        let got = actual(server, driver)?;
        Ok((want == got).then_some((want, got)))
    })
    .await;
    let (want, got) = match found {
        Ok(found) => found,
        Err(e) => {
            return Err(format!(
                "round {round}: {e}; the hot state says {:?} of driver {}; the record's pending offers of the driver: {}",
                actual(server, driver).ok(),
                driver.id,
                pending_offers(server, driver).await
            )
            .into());
        }
    };
    assert_eq!(want, got);
    Ok(())
}

/// The driver's pending offers as the record has them (ride and offer): what a failed check prints.
async fn pending_offers(server: &TestServer, driver: &Account) -> String {
    let Ok(id) = driver.id.parse::<UserId>() else {
        return "(not a driver id)".to_owned();
    };
    let store = server.app.store();
    let pending = match store.pending_offers_of_driver(id).await {
        Ok(offers) => offers,
        Err(e) => return format!("(not read: {e})"),
    };
    let mut said = Vec::new();
    for o in &pending {
        // Every offer of that ride, in the order made: who got it and what became of it.
        let all = match store.offers_of_ride(o.ride_id).await {
            Ok(all) => all
                .iter()
                .map(|a| format!("{} to {}: {}", a.id, a.driver, a.state.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => format!("(not read: {e})"),
        };
        said.push(format!(
            "ride {} offer {} (the ride's offers: {all})",
            o.ride_id, o.id
        ));
    }
    format!("{said:?}")
}

pub async fn accept_racing_a_riders_cancellation_leaves_the_driver_as_the_record_says(
    db: TestDb,
) -> TestResult {
    let server = racing_server(&db).await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let mut rides = Vec::new();
    for round in 0..ROUNDS {
        let rider = server.signup("rider").await?;
        let ride = server
            .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
            .await?;
        let ride_id = field(&ride, "ride_id")?;
        let offer = server.wait_for_offer(&driver, &ride_id).await?;
        let accept = format!("/v1/offers/{}/accept", field(&offer, "offer_id")?);
        let cancel = format!("/v1/rides/{ride_id}/cancel");
        let (a, c) = tokio::join!(server.post_empty(&accept, &driver.token), async {
            tokio::time::sleep(stagger(round)).await;
            server.post_empty(&cancel, &rider.token).await
        });
        let (a, c) = (a?, c?);
        assert!(a.status == 200 || a.status == 409, "accept: {}", a.status);
        assert!(c.status == 200 || c.status == 409, "cancel: {}", c.status);
        rides.push((rider, ride_id));
        agrees(&server, &driver, &rides, round).await?;
        // The next round starts from an available driver.
        if let Expected::ToPickup(id) = actual(&server, &driver)? {
            let (rider, _) = rides.iter().find(|(_, r)| *r == id).ok_or("the ride")?;
            server
                .post_empty(&format!("/v1/rides/{id}/cancel"), &rider.token)
                .await?
                .expect(200);
            agrees(&server, &driver, &rides, round).await?;
        }
    }
    server.stop().await
}

pub async fn a_drivers_and_a_riders_cancellation_racing_leave_the_driver_as_the_record_says(
    db: TestDb,
) -> TestResult {
    let server = racing_server(&db).await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let mut rides = Vec::new();
    for round in 0..ROUNDS {
        let rider = server.signup("rider").await?;
        let ride = server
            .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
            .await?;
        let ride_id = field(&ride, "ride_id")?;
        let offer = server.wait_for_offer(&driver, &ride_id).await?;
        server
            .post_empty(
                &format!("/v1/offers/{}/accept", field(&offer, "offer_id")?),
                &driver.token,
            )
            .await?
            .expect(200);
        let cancel = format!("/v1/rides/{ride_id}/cancel");
        let (d, r) = tokio::join!(server.post_empty(&cancel, &driver.token), async {
            tokio::time::sleep(stagger(round)).await;
            server.post_empty(&cancel, &rider.token).await
        });
        let (d, r) = (d?, r?);
        assert!(
            d.status == 200 || d.status == 409,
            "driver cancel: {}",
            d.status
        );
        assert!(
            r.status == 200 || r.status == 409,
            "rider cancel: {}",
            r.status
        );
        rides.push((rider, ride_id.clone()));
        agrees(&server, &driver, &rides, round).await?;
        // A ride the driver gave back waits for a driver again; end it so the next round is clean.
        let state = server
            .get(&format!("/v1/rides/{ride_id}"), &rides[round].0.token)
            .await?
            .expect(200);
        if state["state"] == "requested" {
            server.post_empty(&cancel, &rides[round].0.token).await?;
        }
        agrees(&server, &driver, &rides, round).await?;
    }
    server.stop().await
}

pub async fn accept_racing_the_offers_expiry_leaves_the_driver_as_the_record_says(
    db: TestDb,
) -> TestResult {
    let server = racing_server(&db).await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let timeout = server.app.config().offer_timeout_secs;
    let mut rides = Vec::new();
    for round in 0..ROUNDS {
        let rider = server.signup("rider").await?;
        let ride = server
            .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
            .await?;
        let ride_id = field(&ride, "ride_id")?;
        let offer = server.wait_for_offer(&driver, &ride_id).await?;
        let accept = format!("/v1/offers/{}/accept", field(&offer, "offer_id")?);
        // The offer lapses now: the dispatcher's next tick expires it while the driver accepts.
        server.clock.advance_secs(timeout + 1);
        let a = async {
            tokio::time::sleep(stagger(round)).await;
            server.post_empty(&accept, &driver.token).await
        }
        .await?;
        assert!(a.status == 200 || a.status == 409, "accept: {}", a.status);
        rides.push((rider, ride_id.clone()));
        agrees(&server, &driver, &rides, round).await?;
        // End the ride (assigned or waiting) so the next round starts from an available driver, and
        // keep the driver's position fresh.
        server
            .post_empty(
                &format!("/v1/rides/{ride_id}/cancel"),
                &rides[round].0.token,
            )
            .await?;
        server.report_position(&driver, BRYANT_PARK).await?;
        agrees(&server, &driver, &rides, round).await?;
    }
    server.stop().await
}

pub async fn a_decline_racing_the_next_batch_leaves_both_drivers_as_the_record_says(
    db: TestDb,
) -> TestResult {
    let server = racing_server(&db).await?;
    let a = server.driver_at(BRYANT_PARK).await?;
    let b = server.driver_at(UNION_SQUARE).await?;
    let mut rides = Vec::new();
    for round in 0..ROUNDS {
        let rider = server.signup("rider").await?;
        let ride = server
            .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
            .await?;
        let ride_id = field(&ride, "ride_id")?;
        let (first, offer) = server.wait_for_offer_to_one_of(&[&a, &b], &ride_id).await?;
        let (first, other) = if first == 0 { (&a, &b) } else { (&b, &a) };
        // The decline sends the ride back to dispatch; the next batch offers it to the other driver
        // while the decline's own update may still be on its way to the hot state.
        server
            .post_empty(
                &format!("/v1/offers/{}/decline", field(&offer, "offer_id")?),
                &first.token,
            )
            .await?
            .expect(200);
        rides.push((rider, ride_id.clone()));
        server.wait_for_offer(other, &ride_id).await?;
        agrees(&server, first, &rides, round).await?;
        agrees(&server, other, &rides, round).await?;
        server
            .post_empty(
                &format!("/v1/rides/{ride_id}/cancel"),
                &rides[round].0.token,
            )
            .await?
            .expect(200);
        agrees(&server, first, &rides, round).await?;
        agrees(&server, other, &rides, round).await?;
    }
    server.stop().await
}
