//! Food orders paid through the payment layer rides use: placement authorises the total on the
//! customer's method (none, or a declined card, places nothing, and a retry with the same key tries
//! again), delivery captures the total, a rejection, a free cancellation or a courier who could not
//! deliver releases the hold, a late
//! cancellation takes only the fee, and operators refund a delivered order in part, borne by the platform
//! or charged back to the merchant, never beyond what was paid. The books balance after each.

use crate::backend::{TestDb, TestResult};
use crate::orders::{cart, noodle_bar};
use crate::places::{BRYANT_PARK, TIMES_SQUARE};
use crate::server::{Account, Reply, TestServer, field, usd};
use serde_json::{Value, json};

async fn assert_books_balance(server: &TestServer) -> TestResult {
    assert!(
        server.trial_balance().await?.iter().all(|&sum| sum == 0),
        "the trial balance is zero"
    );
    Ok(())
}

/// The customer's view of an order's payment (`GET /v1/orders/{order_id}`).
async fn payment_of(server: &TestServer, customer: &Account, order: &str) -> TestResult<Value> {
    let seen = server
        .get(&format!("/v1/orders/{order}"), &customer.token)
        .await?
        .expect(200);
    Ok(seen["payment"].clone())
}

async fn wallet(server: &TestServer, customer: &Account) -> TestResult<(i64, i64)> {
    let list = server
        .get("/v1/me/payment-methods", &customer.token)
        .await?
        .expect(200);
    Ok((
        usd(&list["wallet"]["balance"]),
        usd(&list["wallet"]["held"]),
    ))
}

/// An operator's refund of `order` under `key`.
async fn refund(
    server: &TestServer,
    admin: &Account,
    order: &str,
    key: &str,
    body: Value,
) -> TestResult<Reply> {
    server
        .act(
            admin,
            &format!("/v1/admin/orders/{order}/refund"),
            key,
            body,
        )
        .await
}

/// Places `body` for `customer`, has the kitchen accept it, an operator give it to a new courier, the
/// kitchen ready it, and the courier collect it and hand it over with the code. Returns the order's id
/// and its total.
async fn delivered_order(
    server: &TestServer,
    admin: &Account,
    staff: &Account,
    customer: &Account,
    body: &Value,
) -> TestResult<(String, i64)> {
    let placed = server
        .place_order(customer, &uuid::Uuid::new_v4().to_string(), body)
        .await?
        .expect(201);
    let order = field(&placed, "id")?;
    let total = usd(&placed["price"]["total"]);
    let code = field(&placed, "handover_code")?;
    let path = format!("/v1/orders/{order}");
    server
        .post(
            &format!("{path}/accept"),
            &staff.token,
            json!({"prep_minutes": 20}),
        )
        .await?
        .expect(200);
    let courier = server.driver_at(BRYANT_PARK).await?;
    server
        .act(
            admin,
            &format!("/v1/admin/orders/{order}/assign"),
            &uuid::Uuid::new_v4().to_string(),
            json!({"courier_id": courier.id, "reason": "no courier nearby"}),
        )
        .await?
        .expect(200);
    server
        .post_empty(&format!("{path}/ready"), &staff.token)
        .await?
        .expect(200);
    server.drive_to(&courier, BRYANT_PARK).await?;
    server
        .post_empty(&format!("{path}/arrived"), &courier.token)
        .await?
        .expect(200);
    server
        .post_empty(&format!("{path}/picked-up"), &courier.token)
        .await?
        .expect(200);
    server.drive_to(&courier, TIMES_SQUARE).await?;
    let delivered = server
        .post(
            &format!("{path}/delivered"),
            &courier.token,
            json!({"code": code}),
        )
        .await?
        .expect(200);
    assert_eq!(delivered["state"], "delivered");
    server
        .post_empty("/v1/drivers/me/offline", &courier.token)
        .await?
        .expect(200);
    Ok((order, total))
}

pub async fn an_order_without_a_payment_method_or_with_a_declined_card_is_refused_and_nothing_is_placed(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, _, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let customer = server.signup("rider").await?;
    let body = cart(&merchant, &ids, TIMES_SQUARE)?;
    let with_method = |id: &str| {
        let mut b = body.clone();
        b["payment_method_id"] = json!(id);
        b
    };
    let placed_count = || async {
        let mine = server.get("/v1/orders", &customer.token).await?.expect(200);
        TestResult::Ok(mine["orders"].as_array().map_or(0, Vec::len))
    };

    // No card: refused with the code a ride's cash tip gets; naming cash is the same.
    server
        .place_order(&customer, "pay-1", &body)
        .await?
        .expect_error(422, "payment_method_required");
    server
        .place_order(&customer, "pay-cash", &with_method("cash"))
        .await?
        .expect_error(422, "payment_method_required");
    // A method that is not the customer's, and an empty wallet.
    server
        .place_order(
            &customer,
            "pay-unknown",
            &with_method(&uuid::Uuid::new_v4().to_string()),
        )
        .await?
        .expect_error(404, "payment_method_not_found");
    server
        .place_order(&customer, "pay-wallet", &with_method("wallet"))
        .await?
        .expect_error(402, "insufficient_funds");

    // A declined card (the newest card is the default) is 402 and places nothing.
    server
        .add_card(&customer, "4000 0000 0000 0002")
        .await?
        .expect(201);
    server
        .place_order(&customer, "pay-1", &body)
        .await?
        .expect_error(402, "card_declined");
    assert_eq!(
        placed_count().await?,
        0,
        "a refused placement places nothing"
    );

    // With a card that approves, the retry under the same key tries again and places the order, its
    // total authorised on the card.
    let card = server
        .add_card(&customer, "4242 4242 4242 4242")
        .await?
        .expect(201);
    let placed = server
        .place_order(&customer, "pay-1", &body)
        .await?
        .expect(201);
    let order = field(&placed, "id")?;
    let payment = payment_of(&server, &customer, &order).await?;
    assert_eq!(payment["state"], "authorised", "{payment}");
    assert_eq!(payment["kind"], "test_card");
    assert_eq!(payment["method_id"], card["id"].clone());
    assert_eq!(
        usd(&payment["authorised"]),
        usd(&placed["price"]["total"]),
        "the total is authorised"
    );
    assert!(payment["captured"].is_null());
    // A retry of the placed order returns it and authorises nothing more.
    let retry = server
        .place_order(&customer, "pay-1", &body)
        .await?
        .expect(200);
    assert_eq!(field(&retry, "id")?, order);
    assert_eq!(placed_count().await?, 1);
    // Nobody else sees it.
    let stranger = server.signup("rider").await?;
    server
        .get(&format!("/v1/orders/{order}"), &stranger.token)
        .await?
        .expect_error(404, "order_not_found");
    assert_books_balance(&server).await?;
    server.stop().await
}

pub async fn an_order_is_captured_at_delivery_released_when_rejected_cancelled_free_or_undeliverable_and_charged_only_the_fee_when_cancelled_late(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, staff, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let customer = server.customer_with_card().await?;
    let body = cart(&merchant, &ids, TIMES_SQUARE)?;

    // Delivered: the total (food, fees and tip, less any promo) is captured, and the books balance.
    let (order, total) = delivered_order(&server, &admin, &staff, &customer, &body).await?;
    let payment = payment_of(&server, &customer, &order).await?;
    assert_eq!(payment["state"], "captured", "{payment}");
    assert_eq!(usd(&payment["captured"]), total);
    assert_eq!(usd(&payment["uncollected"]), 0);
    assert_books_balance(&server).await?;

    // Paid from the wallet, so that what is held and taken shows in its balance.
    server
        .http
        .post(server.url("/v1/me/wallet/top-ups"))
        .bearer_auth(&customer.token)
        .header("Idempotency-Key", "top-up-1")
        .json(&json!({"amount": 20_000}))
        .send()
        .await?
        .error_for_status()?;
    let mut by_wallet = body.clone();
    by_wallet["payment_method_id"] = json!("wallet");

    // Rejected by the merchant: the hold is released and nothing is charged.
    let placed = server
        .place_order(&customer, "reject-1", &by_wallet)
        .await?
        .expect(201);
    let rejected = field(&placed, "id")?;
    assert_eq!(
        wallet(&server, &customer).await?,
        (20_000, total),
        "the total is held"
    );
    server
        .post(
            &format!("/v1/orders/{rejected}/reject"),
            &staff.token,
            json!({"reason": "too_busy"}),
        )
        .await?
        .expect(200);
    let payment = payment_of(&server, &customer, &rejected).await?;
    assert_eq!(payment["state"], "voided", "{payment}");
    assert!(payment["captured"].is_null());
    assert_eq!(wallet(&server, &customer).await?, (20_000, 0));

    // Cancelled before the kitchen accepted it: released.
    let placed = server
        .place_order(&customer, "cancel-free-1", &by_wallet)
        .await?
        .expect(201);
    let free = field(&placed, "id")?;
    server
        .post_empty(&format!("/v1/orders/{free}/cancel"), &customer.token)
        .await?
        .expect(200);
    assert_eq!(
        payment_of(&server, &customer, &free).await?["state"],
        "voided"
    );
    assert_eq!(wallet(&server, &customer).await?, (20_000, 0));

    // The courier could not deliver it (the restaurant had nothing to hand over): released.
    let placed = server
        .place_order(&customer, "undeliverable-1", &by_wallet)
        .await?
        .expect(201);
    let undeliverable = field(&placed, "id")?;
    server
        .post(
            &format!("/v1/orders/{undeliverable}/accept"),
            &staff.token,
            json!({"prep_minutes": 20}),
        )
        .await?
        .expect(200);
    let courier = server.driver_at(BRYANT_PARK).await?;
    server
        .act(
            &admin,
            &format!("/v1/admin/orders/{undeliverable}/assign"),
            "assign-undeliverable-1",
            json!({"courier_id": courier.id, "reason": "no courier nearby"}),
        )
        .await?
        .expect(200);
    let ended = server
        .post(
            &format!("/v1/orders/{undeliverable}/undeliverable"),
            &courier.token,
            json!({"reason": "pickup_unavailable"}),
        )
        .await?
        .expect(200);
    assert_eq!(ended["state"], "undeliverable");
    assert_eq!(
        payment_of(&server, &customer, &undeliverable).await?["state"],
        "voided"
    );
    assert_eq!(wallet(&server, &customer).await?, (20_000, 0));

    // Cancelled after the kitchen accepted it: only the fee (half the food) is taken, the rest of the
    // hold released.
    let placed = server
        .place_order(&customer, "cancel-late-1", &by_wallet)
        .await?
        .expect(201);
    let late = field(&placed, "id")?;
    server
        .post(
            &format!("/v1/orders/{late}/accept"),
            &staff.token,
            json!({"prep_minutes": 15}),
        )
        .await?
        .expect(200);
    let cancelled = server
        .post_empty(&format!("/v1/orders/{late}/cancel"), &customer.token)
        .await?
        .expect(200);
    let fee = usd(&cancelled["cancel_fee"]);
    assert_eq!(fee, 1900);
    let payment = payment_of(&server, &customer, &late).await?;
    assert_eq!(payment["state"], "captured", "{payment}");
    assert_eq!(usd(&payment["captured"]), fee);
    assert_eq!(wallet(&server, &customer).await?, (20_000 - fee, 0));
    assert_books_balance(&server).await?;
    server.stop().await
}

pub async fn an_operator_refunds_part_of_a_delivered_order_charged_to_the_platform_or_the_merchant_and_never_more_than_was_paid(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, staff, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let customer = server.customer_with_card().await?;
    let body = cart(&merchant, &ids, TIMES_SQUARE)?;
    let (order, total) = delivered_order(&server, &admin, &staff, &customer, &body).await?;

    // Bad requests: no reason, no amount; an order that does not exist.
    refund(
        &server,
        &admin,
        &order,
        "refund-bad-1",
        json!({"amount": 100, "reason": ""}),
    )
    .await?
    .expect_error(422, "invalid_reason");
    refund(
        &server,
        &admin,
        &order,
        "refund-bad-2",
        json!({"amount": 0, "reason": "cold food"}),
    )
    .await?
    .expect_error(422, "invalid_amount");
    refund(
        &server,
        &admin,
        &uuid::Uuid::new_v4().to_string(),
        "refund-bad-3",
        json!({"amount": 100, "reason": "cold food"}),
    )
    .await?
    .expect_error(404, "order_not_found");

    // A partial refund borne by the platform.
    let first = refund(
        &server,
        &admin,
        &order,
        "refund-1",
        json!({"amount": 1000, "reason": "cold food"}),
    )
    .await?
    .expect(200);
    assert_eq!(first["total"], 0, "the order's postings balance: {first}");
    assert_eq!(usd(&first["refundable"]), total - 1000);
    let refund_entries = |ledger: &Value| -> Vec<(String, i64)> {
        ledger["postings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["kind"] == "refund")
            .flat_map(|p| p["entries"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                (
                    e["account"].as_str().unwrap_or("").to_owned(),
                    usd(&e["amount"]),
                )
            })
            .collect()
    };
    assert_eq!(
        refund_entries(&first),
        [
            (format!("rider:{}", customer.id), 1000),
            ("platform:refunds".to_owned(), -1000)
        ]
    );
    // Its retry refunds nothing more.
    let again = refund(
        &server,
        &admin,
        &order,
        "refund-1",
        json!({"amount": 1000, "reason": "cold food"}),
    )
    .await?
    .expect(200);
    assert_eq!(usd(&again["refundable"]), total - 1000);

    // Charged back to the merchant: its payable is debited instead.
    let second = refund(
        &server,
        &admin,
        &order,
        "refund-2",
        json!({"amount": 500, "reason": "missing item", "charge_merchant": true}),
    )
    .await?
    .expect(200);
    assert_eq!(usd(&second["refundable"]), total - 1500);
    assert!(
        refund_entries(&second).contains(&(format!("merchant:{merchant}"), -500)),
        "{second}"
    );

    // More than is left is refused with its code, and nothing is posted.
    refund(
        &server,
        &admin,
        &order,
        "refund-3",
        json!({"amount": total - 1500 + 1, "reason": "everything"}),
    )
    .await?
    .expect_error(409, "refund_too_large");
    // The rest is fine; then nothing is left.
    let last = refund(
        &server,
        &admin,
        &order,
        "refund-4",
        json!({"amount": total - 1500, "reason": "everything"}),
    )
    .await?
    .expect(200);
    assert_eq!(usd(&last["refundable"]), 0);
    refund(
        &server,
        &admin,
        &order,
        "refund-5",
        json!({"amount": 1, "reason": "one more"}),
    )
    .await?
    .expect_error(409, "refund_too_large");

    // Only operators refund; a stranger does not see the order at all.
    let stranger = server.signup("rider").await?;
    server
        .get(&format!("/v1/orders/{order}"), &stranger.token)
        .await?
        .expect_error(404, "order_not_found");
    server
        .act(
            &customer,
            &format!("/v1/admin/orders/{order}/refund"),
            "refund-6",
            json!({"amount": 1, "reason": "mine"}),
        )
        .await?
        .expect_error(403, "forbidden");
    // An order that was rejected paid nothing.
    let placed = server
        .place_order(&customer, "rejected-1", &body)
        .await?
        .expect(201);
    let rejected = field(&placed, "id")?;
    server
        .post(
            &format!("/v1/orders/{rejected}/reject"),
            &staff.token,
            json!({"reason": "closing"}),
        )
        .await?
        .expect(200);
    refund(
        &server,
        &admin,
        &rejected,
        "refund-7",
        json!({"amount": 100, "reason": "goodwill"}),
    )
    .await?
    .expect_error(409, "nothing_to_refund");
    assert_books_balance(&server).await?;
    server.stop().await
}
