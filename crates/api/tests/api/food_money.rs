//! The money and ratings of a food order through the API: a whole order (placed, accepted, prepared,
//! ready, given to a courier by an operator, picked up, delivered with a tip), then the parties' ratings
//! (each once, never before delivery, never by a stranger, stars 1 to 5), the merchant's statement
//! (subtotal, commission, payable and fees read from the ledger, reconciled with the merchant's account)
//! and the courier's earnings (pay per order and per km plus the tip, apart from rides). The books
//! balance throughout.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, TIMES_SQUARE};
use crate::server::{Account, TestServer, field, usd};
use doorstep_domain::food::checkout::FeeSchedule;
use doorstep_domain::{JobId, Money};
use serde_json::{Value, json};

/// An approved merchant at Bryant Park with pad thai at $14.50: its id, staff and the item's id.
async fn pad_thai_kitchen(
    server: &TestServer,
    admin: &Account,
    name: &str,
) -> TestResult<(String, Account, String)> {
    let (merchant, staff) = server.open_merchant(admin, name, BRYANT_PARK).await?;
    let menu = json!({"currency": "USD", "categories": [{"name": "Mains", "items": [
        {"name": "Pad thai", "price": 1450}]}]});
    let imported = server
        .put(
            &format!("/v1/merchants/{merchant}/menu"),
            &staff.token,
            menu,
        )
        .await?
        .expect(200);
    let item = imported["categories"][0]["items"][0]["id"]
        .as_str()
        .ok_or("an item id")?
        .to_owned();
    Ok((merchant, staff, item))
}

/// `customer` orders `quantity` pad thai from `merchant` to Times Square with `tip`; the order's JSON.
async fn order(
    server: &TestServer,
    customer: &Account,
    merchant: &str,
    item: &str,
    quantity: u32,
    tip: i64,
) -> TestResult<Value> {
    let cart = json!({
        "merchant_id": merchant,
        "dropoff": {"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng},
        "address": "1 Times Sq",
        "lines": [{"item_id": item, "quantity": quantity}],
        "tip": tip,
    });
    Ok(server
        .post("/v1/orders", &customer.token, cart)
        .await?
        .expect(201))
}

fn rating(whom: &str, stars: i64) -> Value {
    json!({"whom": whom, "stars": stars})
}

pub async fn a_delivered_order_is_rated_once_by_each_party_and_both_statements_match_the_quote_and_the_books(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, staff, item) = pad_thai_kitchen(&server, &admin, "Thai Kitchen").await?;
    let (other_merchant, other_staff, _) =
        pad_thai_kitchen(&server, &admin, "Other Kitchen").await?;
    let customer = server.signup("rider").await?;
    let stranger = server.signup("rider").await?;
    let stranger_driver = server.signup("driver").await?;

    // The order: two pad thai ($29.00) with a $3.00 tip.
    let placed = order(&server, &customer, &merchant, &item, 2, 300).await?;
    let id = field(&placed, "id")?;
    let code = field(&placed, "handover_code")?;
    let subtotal = usd(&placed["price"]["subtotal"]);
    assert_eq!(subtotal, 2900);
    assert_eq!(usd(&placed["price"]["tip"]), 300);
    let ratings_path = format!("/v1/orders/{id}/ratings");

    for step in ["accept", "preparing", "ready"] {
        let body = if step == "accept" {
            json!({"prep_minutes": 10})
        } else {
            json!({})
        };
        server
            .post(&format!("/v1/orders/{id}/{step}"), &staff.token, body)
            .await?
            .expect(200);
    }
    let courier = server.driver_at(BRYANT_PARK).await?;
    server
        .act(
            &admin,
            &format!("/v1/admin/orders/{id}/assign"),
            &uuid::Uuid::new_v4().to_string(),
            json!({"courier_id": courier.id, "reason": "food is ready"}),
        )
        .await?
        .expect(200);

    // Before delivery nobody rates: a conflict for the parties, 404 for strangers.
    server
        .post(&ratings_path, &customer.token, rating("courier", 5))
        .await?
        .expect_error(409, "order_not_delivered");
    server
        .post(&ratings_path, &courier.token, rating("customer", 5))
        .await?
        .expect_error(409, "order_not_delivered");
    server
        .post(&ratings_path, &stranger.token, rating("merchant", 5))
        .await?
        .expect_error(404, "order_not_found");

    server
        .post(
            &format!("/v1/orders/{id}/arrived"),
            &courier.token,
            json!({}),
        )
        .await?
        .expect(200);
    server
        .post(
            &format!("/v1/orders/{id}/picked-up"),
            &courier.token,
            json!({}),
        )
        .await?
        .expect(200);
    server.drive_to(&courier, TIMES_SQUARE).await?;
    let delivered = server
        .post(
            &format!("/v1/orders/{id}/delivered"),
            &courier.token,
            json!({"code": code}),
        )
        .await?
        .expect(200);
    assert_eq!(delivered["state"], "delivered");

    // Ratings: the customer rates the merchant (with a comment and tags) and the courier; the courier
    // rates the customer.
    let of_merchant = server
        .post(
            &ratings_path,
            &customer.token,
            json!({"whom": "merchant", "stars": 5, "comment": "still hot", "tags": ["hot", "well-packed"]}),
        )
        .await?
        .expect(201);
    assert_eq!(of_merchant["rated_merchant_id"], merchant.as_str());
    assert_eq!(of_merchant["rated_user_id"], Value::Null);
    assert_eq!(of_merchant["tags"], json!(["hot", "well-packed"]));
    let of_courier = server
        .post(&ratings_path, &customer.token, rating("courier", 4))
        .await?
        .expect(201);
    assert_eq!(of_courier["rated_user_id"], courier.id.as_str());
    let of_customer = server
        .post(&ratings_path, &courier.token, rating("customer", 3))
        .await?
        .expect(201);
    assert_eq!(of_customer["rated_user_id"], customer.id.as_str());
    assert_eq!(of_customer["whom"], "customer");

    // Once each; only one's own ratees; stars 1 to 5; tags only for the merchant; strangers 404.
    server
        .post(&ratings_path, &customer.token, rating("merchant", 1))
        .await?
        .expect_error(409, "already_rated");
    server
        .post(&ratings_path, &courier.token, rating("customer", 1))
        .await?
        .expect_error(409, "already_rated");
    server
        .post(&ratings_path, &customer.token, rating("customer", 4))
        .await?
        .expect_error(422, "invalid_ratee");
    server
        .post(&ratings_path, &courier.token, rating("merchant", 4))
        .await?
        .expect_error(422, "invalid_ratee");
    for stars in [0, 6] {
        server
            .post(&ratings_path, &courier.token, rating("customer", stars))
            .await?
            .expect_error(422, "invalid_stars");
    }
    server
        .post(
            &ratings_path,
            &courier.token,
            json!({"whom": "customer", "stars": 4, "tags": ["rude"]}),
        )
        .await?
        .expect_error(422, "invalid_tag");
    for outsider in [&stranger, &stranger_driver] {
        server
            .post(&ratings_path, &outsider.token, rating("merchant", 9))
            .await?
            .expect_error(404, "order_not_found");
        server
            .get(&ratings_path, &outsider.token)
            .await?
            .expect_error(404, "order_not_found");
    }
    server
        .get(&ratings_path, &other_staff.token)
        .await?
        .expect_error(404, "order_not_found");
    for party in [&customer, &courier, &staff, &admin] {
        let listed = server.get(&ratings_path, &party.token).await?.expect(200);
        let whoms: Vec<&str> = listed["ratings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["whom"].as_str())
            .collect();
        assert_eq!(whoms.len(), 3, "{listed}");
        for whom in ["merchant", "courier", "customer"] {
            assert!(whoms.contains(&whom), "{listed}");
        }
    }
    // The merchant's mean stars (one rating of 5) show on its public page.
    let profile = server
        .get(&format!("/v1/merchants/{merchant}"), &stranger.token)
        .await?
        .expect(200);
    assert_eq!(profile["rating"]["count"], 1, "{profile}");
    assert_eq!(profile["rating"]["mean"], 5.0, "{profile}");

    // What the quote promised: the merchant is owed the food less the commission; the courier earns the
    // pay per order and per km for the quoted distance, and the tip.
    let fees = FeeSchedule::default();
    let stored = server
        .app
        .store()
        .order(id.parse::<JobId>().map_err(|_| "an order id")?)
        .await?
        .ok_or("the order")?;
    let commission = doorstep_domain::pricing::commission(
        Money::new(subtotal, fees.currency),
        fees.merchant_commission_bps,
    )?
    .minor;
    assert!(commission > 0);
    let courier_pay = fees.courier_pay(stored.record.quote.distance_m).minor;
    assert!(courier_pay > fees.courier_per_order, "pay per km is added");

    // A second order, accepted and then cancelled: the late fee goes to the merchant, less commission.
    let cancelled = order(&server, &customer, &merchant, &item, 1, 0).await?;
    let cancelled_id = field(&cancelled, "id")?;
    server
        .post(
            &format!("/v1/orders/{cancelled_id}/accept"),
            &staff.token,
            json!({"prep_minutes": 10}),
        )
        .await?
        .expect(200);
    server
        .post(
            &format!("/v1/orders/{cancelled_id}/cancel"),
            &customer.token,
            json!({}),
        )
        .await?
        .expect(200);

    // The merchant's statement for the day, for its staff and for operators.
    let statement_path = format!("/v1/merchants/{merchant}/statement");
    let day = format!("{statement_path}?from=2026-11-25&to=2026-11-25");
    let statement = server.get(&day, &staff.token).await?.expect(200);
    let totals = &statement["totals"];
    assert_eq!(totals["orders_delivered"], 1, "{statement}");
    assert_eq!(usd(&totals["subtotal"]), subtotal);
    assert_eq!(usd(&totals["commission"]), commission);
    assert_eq!(usd(&totals["payable"]), subtotal - commission);
    assert_eq!(usd(&totals["refunds"]), 0);
    let fee_share = usd(&totals["cancellation_fees"]);
    assert!(fee_share > 0, "the late fee less commission: {statement}");
    assert_eq!(
        usd(&totals["net"]),
        subtotal - commission + fee_share,
        "net = payable + fees − refunds"
    );
    let days = statement["days"].as_array().ok_or("days")?;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], "2026-11-25");
    assert_eq!(usd(&days[0]["payable"]), subtotal - commission);
    // It reconciles with the books: the merchant's account holds exactly the statement's net.
    let balance = server
        .app
        .store()
        .account_balances()
        .await?
        .into_iter()
        .find(|(a, _)| a.key() == format!("merchant:{merchant}"))
        .map(|(_, m)| m.minor)
        .ok_or("the merchant's account")?;
    assert_eq!(usd(&totals["net"]), balance);
    let as_admin = server.get(&day, &admin.token).await?.expect(200);
    assert_eq!(as_admin["totals"], statement["totals"]);
    let by_default = server.get(&statement_path, &staff.token).await?.expect(200);
    assert_eq!(by_default["to"], "2026-11-25");
    assert_eq!(by_default["totals"], statement["totals"]);
    // A day before anything happened is empty.
    let before = server
        .get(
            &format!("{statement_path}?from=2026-11-01&to=2026-11-24"),
            &staff.token,
        )
        .await?
        .expect(200);
    assert_eq!(before["totals"]["orders_delivered"], 0);
    assert_eq!(usd(&before["totals"]["net"]), 0);
    assert_eq!(before["days"], json!([]));
    // Another merchant's staff and strangers learn nothing; bad periods are 422.
    server
        .get(&day, &other_staff.token)
        .await?
        .expect_error(404, "merchant_not_found");
    server
        .get(&day, &customer.token)
        .await?
        .expect_error(403, "forbidden");
    let other = server
        .get(
            &format!("/v1/merchants/{other_merchant}/statement?from=2026-11-25&to=2026-11-25"),
            &other_staff.token,
        )
        .await?
        .expect(200);
    assert_eq!(other["totals"]["orders_delivered"], 0);
    for (query, code) in [
        ("from=2026-11-31", "invalid_date"),
        ("to=yesterday", "invalid_date"),
        ("from=2026-11-26&to=2026-11-25", "invalid_period"),
        ("from=2026-01-01&to=2026-11-25", "period_too_long"),
    ] {
        server
            .get(&format!("{statement_path}?{query}"), &staff.token)
            .await?
            .expect_error(422, code);
    }

    // The courier's earnings: one delivery, its pay and its tip, apart from rides.
    let earnings = server
        .get("/v1/drivers/me/earnings", &courier.token)
        .await?
        .expect(200);
    assert_eq!(earnings["deliveries"], 1, "{earnings}");
    assert_eq!(earnings["rides"], 0);
    assert_eq!(usd(&earnings["delivery_pay"]), courier_pay);
    assert_eq!(usd(&earnings["delivery_tips"]), 300);
    assert_eq!(usd(&earnings["ride_net"]), 0);
    assert_eq!(usd(&earnings["ride_tips"]), 0);
    assert_eq!(usd(&earnings["net"]), courier_pay);
    assert_eq!(usd(&earnings["total"]), courier_pay);
    assert_eq!(usd(&earnings["tips"]), 300);
    assert_eq!(earnings["days"][0]["deliveries"], 1);
    assert_eq!(usd(&earnings["days"][0]["delivery_pay"]), courier_pay);

    assert!(
        server.trial_balance().await?.iter().all(|s| *s == 0),
        "the books balance"
    );
    Ok(())
}
