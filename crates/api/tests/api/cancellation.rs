//! Cancelling: free before assignment and within the free window, a fee after it, never once completed, and
//! a driver's cancellation sends the ride to another driver.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, COLUMBUS_CIRCLE, GRAND_CENTRAL, TIMES_SQUARE, UNION_SQUARE};
use crate::ride_steps::types;
use crate::server::{TestServer, field, let_dispatch_run, usd};
use doorstep_domain::RideId;
use doorstep_domain::ledger::{Account, PostingKind};

pub async fn a_rider_cancels_for_free_before_assignment_and_within_the_free_window(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;

    // Before any driver is assigned.
    let waiting = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    assert!(waiting["cancel_fee_now"].is_null(), "{waiting}");
    let cancelled = server
        .post_empty(
            &format!("/v1/rides/{}/cancel", field(&waiting, "ride_id")?),
            &rider.token,
        )
        .await?
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["cancel_fee"].is_null(), "{cancelled}");

    // After assignment, but within the free window.
    let driver = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    let free_secs = server.app.config().pricing.free_cancel_secs;
    server.clock.advance_secs(free_secs - 10);
    let before = server.ride(&rider, &ride_id).await?;
    assert!(before["cancel_fee_now"].is_null(), "{before}");
    let cancelled = server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &rider.token)
        .await?
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["cancel_fee"].is_null(), "{cancelled}");

    // Nothing was charged and the driver earned nothing.
    let ride_id: RideId = ride_id.parse().map_err(|e| format!("{e:?}"))?;
    assert!(
        server
            .app
            .store()
            .postings_of_ride(ride_id)
            .await?
            .is_empty()
    );
    let earnings = server
        .get("/v1/drivers/me/earnings", &driver.token)
        .await?
        .expect(200);
    assert_eq!(usd(&earnings["total"]), 0);
    assert_eq!(earnings["lines"].as_array().map(Vec::len), Some(0));
    assert!(server.trial_balance().await?.iter().all(|&sum| sum == 0));

    // The driver is free again: once they report a fresh position, the next ride is offered to them.
    server.report_position(&driver, BRYANT_PARK).await?;
    let next = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    server
        .wait_for_offer(&driver, &field(&next, "ride_id")?)
        .await?;
    server.stop().await
}

pub async fn cancelling_a_ride_withdraws_its_offer_and_frees_the_driver(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let offer = server.wait_for_offer(&driver, &ride_id).await?;

    let cancelled = server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &rider.token)
        .await?
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["cancel_fee"].is_null());
    assert!(server.offers(&driver).await?.is_empty());
    server
        .post_empty(
            &format!("/v1/offers/{}/accept", field(&offer, "offer_id")?),
            &driver.token,
        )
        .await?
        .expect_error(409, "offer_not_pending");
    assert_eq!(server.ride(&rider, &ride_id).await?["state"], "cancelled");

    // The driver takes the next ride at once.
    let next = server
        .request_ride(&rider, GRAND_CENTRAL, UNION_SQUARE)
        .await?;
    let offer = server
        .wait_for_offer(&driver, &field(&next, "ride_id")?)
        .await?;
    server.accept(&driver, &offer).await?;
    server.stop().await
}

pub async fn a_late_cancellation_shows_the_fee_first_then_charges_it_for_the_driver(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    let pricing = server.app.config().pricing.clone();

    server.clock.advance_secs(pricing.free_cancel_secs + 1);
    let shown = server.ride(&rider, &ride_id).await?;
    assert_eq!(
        usd(&shown["cancel_fee_now"]),
        pricing.cancel_fee_minor,
        "{shown}"
    );
    assert!(
        shown["cancel_fee"].is_null(),
        "showing the fee charges nothing: {shown}"
    );
    assert_eq!(shown["state"], "driver_assigned");
    // Only the rider is shown what they would pay.
    assert!(server.ride(&driver, &ride_id).await?["cancel_fee_now"].is_null());

    let cancelled = server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &rider.token)
        .await?
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(usd(&cancelled["cancel_fee"]), pricing.cancel_fee_minor);

    // One balanced posting: the rider pays the fee, the driver gets it less the platform's share.
    let platform_share = (pricing.cancel_fee_minor * pricing.commission_bps + 5_000) / 10_000;
    let driver_share = pricing.cancel_fee_minor - platform_share;
    let id: RideId = ride_id.parse().map_err(|e| format!("{e:?}"))?;
    let postings = server.app.store().postings_of_ride(id).await?;
    assert_eq!(postings.len(), 1);
    let posting = &postings[0];
    assert_eq!(posting.kind(), PostingKind::CancellationFee);
    assert_eq!(
        posting
            .entries()
            .iter()
            .map(|e| e.amount.minor)
            .sum::<i64>(),
        0
    );
    let amount_of = |wanted: &dyn Fn(&Account) -> bool| {
        posting
            .entries()
            .iter()
            .filter(|e| wanted(&e.account))
            .map(|e| e.amount.minor)
            .sum::<i64>()
    };
    assert_eq!(
        amount_of(&|a| matches!(a, Account::Rider(u) if u.to_string() == rider.id)),
        -pricing.cancel_fee_minor
    );
    assert_eq!(
        amount_of(&|a| matches!(a, Account::DriverEarnings(u) if u.to_string() == driver.id)),
        driver_share
    );
    assert_eq!(amount_of(&|a| *a == Account::PlatformFees), platform_share);

    let earnings = server
        .get("/v1/drivers/me/earnings", &driver.token)
        .await?
        .expect(200);
    assert_eq!(usd(&earnings["total"]), driver_share, "{earnings}");
    let lines = earnings["lines"].as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), 1, "{earnings}");
    assert_eq!(lines[0]["kind"], "cancellation_fee");
    assert_eq!(lines[0]["ride_id"], ride_id.as_str());
    assert_eq!(
        earnings["rides"], 0,
        "a cancelled ride is not a completed ride"
    );
    assert_eq!(server.trial_balance().await?, vec![0]);

    // Cancelling again changes nothing and charges nothing more.
    server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &rider.token)
        .await?
        .expect_error(409, "invalid_ride_state");
    assert_eq!(server.app.store().postings_of_ride(id).await?.len(), 1);
    server.stop().await
}

pub async fn a_completed_ride_cannot_be_cancelled(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let ride = server
        .completed_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    for who in [&rider, &driver] {
        server
            .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &who.token)
            .await?
            .expect_error(409, "invalid_ride_state");
    }
    let after = server.ride(&rider, &ride_id).await?;
    assert_eq!(after["state"], "completed");
    assert!(after["cancel_fee"].is_null());
    assert_eq!(server.trial_balance().await?, vec![0]);
    server.stop().await
}

pub async fn a_drivers_cancellation_returns_the_ride_to_dispatch_for_another_driver(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let near = server.driver_at(BRYANT_PARK).await?;
    let far = server.driver_at(COLUMBUS_CIRCLE).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let (chosen, offer) = server
        .wait_for_offer_to_one_of(&[&near, &far], &ride_id)
        .await?;
    let (quitter, other) = if chosen == 0 {
        (&near, &far)
    } else {
        (&far, &near)
    };
    server.accept(quitter, &offer).await?;

    let back = server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &quitter.token)
        .await?
        .expect(200);
    assert_eq!(back["state"], "requested");
    assert!(back["driver_id"].is_null(), "{back}");
    let seen = server.ride(&rider, &ride_id).await?;
    assert_eq!(seen["state"], "requested");
    assert!(seen["cancel_fee"].is_null() && seen["cancel_fee_now"].is_null());

    // The other driver gets the ride, even though the one who cancelled is free again.
    let second_offer = server.wait_for_offer(other, &ride_id).await?;
    assert!(server.offers(quitter).await?.is_empty());
    // When the other driver declines too, the ride still never returns to the one who cancelled.
    server
        .post_empty(
            &format!("/v1/offers/{}/decline", field(&second_offer, "offer_id")?),
            &other.token,
        )
        .await?
        .expect(200);
    let_dispatch_run().await;
    assert!(server.offers(quitter).await?.is_empty());
    assert_eq!(server.ride(&rider, &ride_id).await?["state"], "requested");
    // Yet the driver who cancelled is available: with the other driver offline, a new ride goes to them.
    server
        .post_empty("/v1/drivers/me/offline", &other.token)
        .await?
        .expect(200);
    let another_rider = server.signup("rider").await?;
    let another = server
        .request_ride(&another_rider, GRAND_CENTRAL, UNION_SQUARE)
        .await?;
    server
        .wait_for_offer(quitter, &field(&another, "ride_id")?)
        .await?;

    // Every offer of the ride after the cancellation went to the other driver.
    let admin = server.admin().await?;
    let timeline = server.timeline(&admin, &ride_id).await?;
    let cancelled_at = timeline
        .iter()
        .position(|e| e["type"] == "driver_cancelled")
        .ok_or("a driver_cancelled event")?;
    assert_eq!(timeline[cancelled_at]["driver"], quitter.id.as_str());
    let offered_after: Vec<_> = timeline[cancelled_at..]
        .iter()
        .filter(|e| e["type"] == "offered")
        .collect();
    assert!(!offered_after.is_empty(), "{:?}", types(&timeline));
    assert!(
        offered_after
            .iter()
            .all(|e| e["driver"] == other.id.as_str()),
        "{offered_after:?}"
    );
    server.stop().await
}
