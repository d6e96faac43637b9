//! A restart on the same database: the new app rebuilds its hot state from the record.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, GRAND_CENTRAL, TIMES_SQUARE, UNION_SQUARE, WASHINGTON_SQUARE};
use crate::server::{TestServer, field, test_config, usd};
use doorstep_app::Clock;
use serde_json::json;

pub async fn after_a_restart_waiting_rides_are_dispatched_assigned_rides_stay_assigned_and_the_ledger_balances(
    db: TestDb,
) -> TestResult {
    let clock = Clock::manual(crate::server::WEDNESDAY_2PM);
    let before = TestServer::start_with(&db, test_config(), clock.clone()).await?;
    let rider = before.signup("rider").await?;
    let waiting_rider = before.signup("rider").await?;
    let driver = before.driver_at(BRYANT_PARK).await?;

    // A completed ride puts money in the ledger.
    let done = before
        .completed_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let fare = usd(&done["final_fare"]);
    // The driver is back near Times Square and takes another ride.
    before.drive_to(&driver, TIMES_SQUARE).await?;
    let assigned = before
        .assigned_ride(&rider, &driver, TIMES_SQUARE, WASHINGTON_SQUARE)
        .await?;
    let assigned_id = field(&assigned, "ride_id")?;
    // With the only driver busy, this ride waits.
    let waiting = before
        .request_ride(&waiting_rider, GRAND_CENTRAL, UNION_SQUARE)
        .await?;
    let waiting_id = field(&waiting, "ride_id")?;
    before.stop().await?;

    let after = TestServer::start_with(&db, test_config(), clock).await?;
    // Tokens, rides and the ledger are in the record.
    let still = after.ride(&rider, &assigned_id).await?;
    assert_eq!(still["state"], "driver_assigned");
    assert_eq!(still["driver_id"], driver.id.as_str());
    assert_eq!(
        after.ride(&waiting_rider, &waiting_id).await?["state"],
        "requested"
    );
    assert_eq!(after.trial_balance().await?, vec![0]);
    let earnings = after
        .get("/v1/drivers/me/earnings", &driver.token)
        .await?
        .expect(200);
    assert_eq!(earnings["rides"], 1);
    assert!(usd(&earnings["total"]) > 0 && usd(&earnings["total"]) < fare);

    // The waiting ride is dispatched to a driver who comes online after the restart, never to the busy one.
    let newcomer = after.driver_at(GRAND_CENTRAL).await?;
    let offer = after.wait_for_offer(&newcomer, &waiting_id).await?;
    assert!(after.offers(&driver).await?.is_empty());
    after.accept(&newcomer, &offer).await?;

    // The assigned driver carries on where they left off.
    after
        .post_empty(&format!("/v1/rides/{assigned_id}/arrive"), &driver.token)
        .await?
        .expect(200);
    after
        .post(
            &format!("/v1/rides/{assigned_id}/start"),
            &driver.token,
            json!({"pin": field(&assigned, "pin")?}),
        )
        .await?
        .expect(200);
    after.clock.advance_secs(300);
    after.report_position(&driver, WASHINGTON_SQUARE).await?;
    let completed = after
        .post_empty(&format!("/v1/rides/{assigned_id}/complete"), &driver.token)
        .await?
        .expect(200);
    assert_eq!(completed["state"], "completed");
    assert_eq!(after.trial_balance().await?, vec![0]);
    after.stop().await
}
