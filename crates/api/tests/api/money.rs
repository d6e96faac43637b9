//! Money that adds up: paying by cash, wallet and test card (authorise at request, capture at completion,
//! void on cancel), tips after the ride, the driver's take on offers, and earnings split into gross,
//! commission and net. After each, the ledger's trial balance is zero.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, Reply, TestServer, field, usd};
use doorstep_domain::RideId;
use doorstep_domain::ledger::{Account as LedgerAccount, PostingKind};
use reqwest::Method;
use serde_json::{Value, json};

/// Quotes and requests a ride paid with `method` (none: the default).
async fn request_paid(
    server: &TestServer,
    rider: &Account,
    method: Option<&str>,
) -> TestResult<(Value, Reply)> {
    let quote = server.quote(rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let mut body = json!({"quote_id": field(&quote, "quote_id")?});
    if let Some(m) = method {
        body["payment_method_id"] = json!(m);
    }
    let reply = TestServer::reply(
        server
            .http
            .request(Method::POST, server.url("/v1/rides"))
            .bearer_auth(&rider.token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await?,
    )
    .await?;
    Ok((quote, reply))
}

/// A ride paid with `method` that `driver` is offered, accepts, drives and completes; returns the
/// quote, the offer and the rider's view of the completed ride.
async fn completed_paid_ride(
    server: &TestServer,
    rider: &Account,
    driver: &Account,
    method: Option<&str>,
) -> TestResult<(Value, Value, Value)> {
    let (quote, reply) = request_paid(server, rider, method).await?;
    let ride = reply.expect(201);
    let ride_id = field(&ride, "ride_id")?;
    let offer = server.wait_for_offer(driver, &ride_id).await?;
    server.accept(driver, &offer).await?;
    let assigned = server.ride(rider, &ride_id).await?;
    server.drive_to_completion(driver, &assigned, 600).await?;
    server.drive_to(driver, BRYANT_PARK).await?;
    Ok((quote, offer, server.ride(rider, &ride_id).await?))
}

async fn top_up(server: &TestServer, rider: &Account, amount: i64, key: &str) -> TestResult<Reply> {
    TestServer::reply(
        server
            .http
            .request(Method::POST, server.url("/v1/me/wallet/top-ups"))
            .bearer_auth(&rider.token)
            .header("Idempotency-Key", key)
            .json(&json!({"amount": amount}))
            .send()
            .await?,
    )
    .await
}

async fn tip(
    server: &TestServer,
    who: &Account,
    ride_id: &str,
    body: Value,
    key: &str,
) -> TestResult<Reply> {
    TestServer::reply(
        server
            .http
            .request(
                Method::POST,
                server.url(&format!("/v1/rides/{ride_id}/tip")),
            )
            .bearer_auth(&who.token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await?,
    )
    .await
}

async fn wallet(server: &TestServer, rider: &Account) -> TestResult<Value> {
    let list = server
        .get("/v1/me/payment-methods", &rider.token)
        .await?
        .expect(200);
    Ok(list["wallet"].clone())
}

async fn add_card(server: &TestServer, rider: &Account, number: &str) -> TestResult<Reply> {
    server
        .post(
            "/v1/me/payment-methods",
            &rider.token,
            json!({"kind": "test_card", "number": number}),
        )
        .await
}

fn commission_of(server: &TestServer, fare: i64) -> i64 {
    (fare * server.app.config().pricing.commission_bps + 5_000) / 10_000
}

async fn assert_books_balance(server: &TestServer) -> TestResult {
    assert!(
        server.trial_balance().await?.iter().all(|&sum| sum == 0),
        "the trial balance is zero"
    );
    Ok(())
}

pub async fn a_cash_ride_is_collected_by_the_driver_who_then_owes_the_commission_and_earnings_add_up(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let methods = server
        .get("/v1/me/payment-methods", &rider.token)
        .await?
        .expect(200);
    assert_eq!(methods["default_method_id"], "cash");
    let kinds: Vec<&str> = methods["methods"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, ["cash", "wallet"]);

    let (quote, offer, ride) = completed_paid_ride(&server, &rider, &driver, None).await?;
    // The offer shows the driver's take, not what the rider pays.
    let quoted = usd(&quote["fare"]);
    assert_eq!(usd(&offer["fare"]), quoted);
    assert_eq!(usd(&offer["commission"]), commission_of(&server, quoted));
    assert_eq!(
        usd(&offer["driver_take"]),
        quoted - commission_of(&server, quoted)
    );
    // Nothing was authorised; the driver collected the final fare.
    let fare = usd(&ride["final_fare"]);
    let payment = &ride["payment"];
    assert_eq!(payment["kind"], "cash", "{ride}");
    assert_eq!(payment["state"], "captured");
    assert_eq!(usd(&payment["authorised"]), 0);
    assert_eq!(usd(&payment["captured"]), fare);

    // The ledger: the fare, then the cash the driver collected; the driver owes the commission.
    let ride_id: RideId = field(&ride, "ride_id")?
        .parse()
        .map_err(|e| format!("{e:?}"))?;
    let postings = server.app.store().postings_of_ride(ride_id).await?;
    let kinds: Vec<PostingKind> = postings.iter().map(|p| p.kind()).collect();
    assert_eq!(kinds, [PostingKind::RideFare, PostingKind::CashCollected]);
    let driver_id = driver.id.parse().map_err(|e| format!("{e:?}"))?;
    let driver_balance: i64 = postings
        .iter()
        .flat_map(|p| p.entries())
        .filter(|e| e.account == LedgerAccount::worker_earnings(driver_id))
        .map(|e| e.amount.minor)
        .sum();
    let commission = commission_of(&server, fare);
    assert_eq!(
        driver_balance, -commission,
        "the driver owes the commission"
    );

    // Earnings: gross − commission = net, with the cash collected beside them.
    let earnings = server
        .get("/v1/drivers/me/earnings", &driver.token)
        .await?
        .expect(200);
    assert_eq!(usd(&earnings["gross"]), fare, "{earnings}");
    assert_eq!(usd(&earnings["commission"]), commission);
    assert_eq!(
        usd(&earnings["net"]),
        usd(&earnings["gross"]) - usd(&earnings["commission"])
    );
    assert_eq!(usd(&earnings["total"]), usd(&earnings["net"]));
    assert_eq!(usd(&earnings["cash_collected"]), fare);
    assert_eq!(usd(&earnings["tips"]), 0);
    for period in ["days", "weeks"] {
        let list = earnings[period].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), 1, "{period}: {earnings}");
        assert_eq!(usd(&list[0]["net"]), fare - commission);
        assert_eq!(list[0]["rides"], 1);
    }
    // The test clock is a Wednesday afternoon in New York: its week starts on the Monday before.
    let day = field(&earnings["days"][0], "start")?;
    let week = field(&earnings["weeks"][0], "start")?;
    assert!(week < day, "{week} starts the week of {day}");
    // The admin's read of the ride's postings says they balance.
    let admin = server.admin().await?;
    let read = server
        .get(
            &format!("/v1/admin/rides/{}/postings", field(&ride, "ride_id")?),
            &admin.token,
        )
        .await?
        .expect(200);
    assert_eq!(read["balanced"], true);
    assert_eq!(read["postings"].as_array().map(Vec::len), Some(2));
    assert_books_balance(&server).await?;
    server.stop().await
}

pub async fn a_wallet_ride_is_refused_without_funds_and_holds_then_captures_the_fare(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;

    // An empty wallet: refused before any ride exists.
    let (_, refused) = request_paid(&server, &rider, Some("wallet")).await?;
    refused.expect_error(402, "insufficient_funds");
    let rides = server.get("/v1/rides", &rider.token).await?.expect(200);
    assert_eq!(rides["rides"].as_array().map(Vec::len), Some(0));

    // Top-ups: within limits, once per key.
    top_up(&server, &rider, 50, "small")
        .await?
        .expect_error(422, "invalid_amount");
    top_up(&server, &rider, 50_001, "large")
        .await?
        .expect_error(422, "invalid_amount");
    let w = top_up(&server, &rider, 5_000, "first").await?.expect(201);
    assert_eq!(usd(&w["balance"]), 5_000);
    let again = top_up(&server, &rider, 5_000, "first").await?.expect(201);
    assert_eq!(
        usd(&again["balance"]),
        5_000,
        "a retried top-up adds nothing"
    );

    // The quoted fare is held at request and the final fare taken at completion.
    let (quote, reply) = request_paid(&server, &rider, Some("wallet")).await?;
    let ride = reply.expect(201);
    let quoted = usd(&quote["fare"]);
    assert_eq!(ride["payment"]["state"], "authorised", "{ride}");
    assert_eq!(usd(&ride["payment"]["authorised"]), quoted);
    let held = wallet(&server, &rider).await?;
    assert_eq!(
        (usd(&held["held"]), usd(&held["available"])),
        (quoted, 5_000 - quoted)
    );
    let ride_id = field(&ride, "ride_id")?;
    let offer = server.wait_for_offer(&driver, &ride_id).await?;
    server.accept(&driver, &offer).await?;
    let assigned = server.ride(&rider, &ride_id).await?;
    server.drive_to_completion(&driver, &assigned, 600).await?;
    let done = server.ride(&rider, &ride_id).await?;
    let fare = usd(&done["final_fare"]);
    assert_eq!(done["payment"]["state"], "captured");
    assert_eq!(usd(&done["payment"]["captured"]), fare);
    let after = wallet(&server, &rider).await?;
    assert_eq!(
        (usd(&after["balance"]), usd(&after["held"])),
        (5_000 - fare, 0)
    );
    assert_books_balance(&server).await?;
    server.stop().await
}

pub async fn a_card_is_authorised_at_request_captured_at_completion_voided_on_cancel_and_a_declined_card_is_refused(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;

    add_card(&server, &rider, "4242 4242 4242 4241")
        .await?
        .expect_error(422, "invalid_card_number");
    let card = add_card(&server, &rider, "4242 4242 4242 4242")
        .await?
        .expect(201);
    assert_eq!(
        (card["kind"].as_str(), card["last4"].as_str()),
        (Some("test_card"), Some("4242"))
    );
    let card_id = field(&card, "id")?;
    let listed = server
        .get("/v1/me/payment-methods", &rider.token)
        .await?
        .expect(200);
    assert!(
        !listed.to_string().contains("4242424242424242"),
        "the card number is not kept"
    );
    // Another rider cannot pay with it.
    let other = server.signup("rider").await?;
    let (_, foreign) = request_paid(&server, &other, Some(&card_id)).await?;
    foreign.expect_error(404, "payment_method_not_found");

    // Cancel → void.
    let (quote, reply) = request_paid(&server, &rider, Some(&card_id)).await?;
    let ride = reply.expect(201);
    assert_eq!(ride["payment"]["state"], "authorised");
    assert_eq!(ride["payment"]["last4"], "4242");
    assert_eq!(usd(&ride["payment"]["authorised"]), usd(&quote["fare"]));
    // Once the dispatcher has offered it (a cancellation racing the offer's commit is a 409 to retry).
    server
        .wait_for_offer(&driver, &field(&ride, "ride_id")?)
        .await?;
    let cancelled = server
        .post_empty(
            &format!("/v1/rides/{}/cancel", field(&ride, "ride_id")?),
            &rider.token,
        )
        .await?
        .expect(200);
    assert_eq!(cancelled["payment"]["state"], "voided", "{cancelled}");
    server.drive_to(&driver, BRYANT_PARK).await?;

    // Authorise → capture.
    let (_, _, done) = completed_paid_ride(&server, &rider, &driver, Some(&card_id)).await?;
    assert_eq!(done["payment"]["state"], "captured");
    assert_eq!(usd(&done["payment"]["captured"]), usd(&done["final_fare"]));
    assert_eq!(usd(&done["payment"]["uncollected"]), 0);

    // A declined card creates no ride.
    let declined = add_card(&server, &rider, "4000 0000 0000 0002")
        .await?
        .expect(201);
    let before = server.get("/v1/rides", &rider.token).await?.expect(200);
    let (_, refused) = request_paid(&server, &rider, Some(&field(&declined, "id")?)).await?;
    refused.expect_error(402, "card_declined");
    let after = server.get("/v1/rides", &rider.token).await?.expect(200);
    assert_eq!(
        before["rides"].as_array().map(Vec::len),
        after["rides"].as_array().map(Vec::len)
    );
    assert_books_balance(&server).await?;
    server.stop().await
}

pub async fn a_rider_tips_their_completed_ride_once_and_the_tip_posts_balanced_to_the_driver(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let card = add_card(&server, &rider, "4242424242424242")
        .await?
        .expect(201);
    let card_id = field(&card, "id")?;

    // Not before the ride is completed.
    let (_, reply) = request_paid(&server, &rider, Some(&card_id)).await?;
    let open = reply.expect(201);
    let open_id = field(&open, "ride_id")?;
    tip(&server, &rider, &open_id, json!({"amount": 200}), "early")
        .await?
        .expect_error(409, "ride_not_completed");
    server.wait_for_offer(&driver, &open_id).await?;
    server
        .post_empty(&format!("/v1/rides/{open_id}/cancel"), &rider.token)
        .await?
        .expect(200);
    server.drive_to(&driver, BRYANT_PARK).await?;

    let (_, _, ride) = completed_paid_ride(&server, &rider, &driver, Some(&card_id)).await?;
    let ride_id = field(&ride, "ride_id")?;
    // Only its rider tips; limits are checked.
    let stranger = server.signup("rider").await?;
    tip(&server, &stranger, &ride_id, json!({"amount": 200}), "k1")
        .await?
        .expect_error(404, "ride_not_found");
    tip(&server, &driver, &ride_id, json!({"amount": 200}), "k1")
        .await?
        .expect_error(403, "forbidden");
    for amount in [0, -5, 10_001] {
        tip(&server, &rider, &ride_id, json!({"amount": amount}), "k1")
            .await?
            .expect_error(422, "invalid_amount");
    }
    // Once; a retry with the same key is the same tip, another tip is a conflict.
    let tipped = tip(&server, &rider, &ride_id, json!({"amount": 300}), "k1")
        .await?
        .expect(201);
    assert_eq!(usd(&tipped["amount"]), 300);
    assert_eq!(usd(&tipped["ride"]["payment"]["tip"]), 300);
    tip(&server, &rider, &ride_id, json!({"amount": 300}), "k1")
        .await?
        .expect(201);
    tip(&server, &rider, &ride_id, json!({"amount": 300}), "k2")
        .await?
        .expect_error(409, "already_tipped");
    // One balanced tip posting, all of it to the driver's tips.
    let id: RideId = ride_id.parse().map_err(|e| format!("{e:?}"))?;
    let postings = server.app.store().postings_of_ride(id).await?;
    let tips: Vec<_> = postings
        .iter()
        .filter(|p| p.kind() == PostingKind::Tip)
        .collect();
    assert_eq!(tips.len(), 1);
    let driver_id = driver.id.parse().map_err(|e| format!("{e:?}"))?;
    let rider_id = rider.id.parse().map_err(|e| format!("{e:?}"))?;
    let amount_on = |account| {
        tips[0]
            .entries()
            .iter()
            .filter(|e| e.account == account)
            .map(|e| e.amount.minor)
            .sum::<i64>()
    };
    assert_eq!(amount_on(LedgerAccount::Tips(driver_id)), 300);
    assert_eq!(amount_on(LedgerAccount::customer(rider_id)), -300);
    let earnings = server
        .get("/v1/drivers/me/earnings", &driver.token)
        .await?
        .expect(200);
    assert_eq!(usd(&earnings["tips"]), 300, "{earnings}");
    assert_eq!(
        usd(&earnings["net"]),
        usd(&earnings["gross"]) - usd(&earnings["commission"])
    );

    // A cash ride's tip needs the wallet or a card; an empty wallet cannot pay it.
    server.drive_to(&driver, BRYANT_PARK).await?;
    let (_, _, cash) = completed_paid_ride(&server, &rider, &driver, None).await?;
    let cash_id = field(&cash, "ride_id")?;
    tip(&server, &rider, &cash_id, json!({"amount": 100}), "c1")
        .await?
        .expect_error(422, "payment_method_required");
    tip(
        &server,
        &rider,
        &cash_id,
        json!({"amount": 100, "method_id": "wallet"}),
        "c1",
    )
    .await?
    .expect_error(402, "insufficient_funds");
    // Past the window: too late.
    server.clock.advance_secs(72 * 3600 + 1);
    tip(
        &server,
        &rider,
        &cash_id,
        json!({"amount": 100, "method_id": card_id}),
        "c2",
    )
    .await?
    .expect_error(409, "tip_window_closed");
    assert_books_balance(&server).await?;
    server.stop().await
}

pub async fn surge_rises_in_small_steps_and_the_quote_says_why(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let calm = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    assert_eq!(calm["surge_multiplier"], 1.0);
    assert!(calm["surge_reason"].is_null(), "{calm}");
    // Four riders wait near Times Square and no car is free.
    for _ in 0..4 {
        let other = server.signup("rider").await?;
        server
            .request_ride(&other, TIMES_SQUARE, UNION_SQUARE)
            .await?;
    }
    server.clock.advance_secs(30);
    let busy = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    // One step of 0.1×, not a jump to the cap, with its reason.
    assert_eq!(busy["surge_multiplier"], 1.1, "{busy}");
    assert_eq!(busy["surge_reason"]["requests"], 4);
    assert_eq!(busy["surge_reason"]["cars"], 0);
    assert!(busy["surge_reason"]["zone"].is_string());
    // At most one step per interval.
    let again = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    assert_eq!(again["surge_multiplier"], 1.1, "{again}");
    server.clock.advance_secs(30);
    let higher = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    assert_eq!(higher["surge_multiplier"], 1.2, "{higher}");
    server.stop().await
}
