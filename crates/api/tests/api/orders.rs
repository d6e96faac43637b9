//! Food orders through the API: a customer prices and places an order (idempotently), the kitchen accepts,
//! prepares and readies it or rejects it, the customer cancels (free until accepted, then a fee that posts
//! balanced entries), strangers get 404, and every bad cart is a 4xx with its code.

use crate::backend::{TestDb, TestResult};
use crate::places::{
    BRYANT_PARK, COLUMBUS_CIRCLE, GRAND_CENTRAL, Place, TIMES_SQUARE, UNION_SQUARE,
};
use crate::server::{Account, Reply, TestServer, field, usd};
use serde_json::{Value, json};

/// The Hudson off Pier 84.
const HUDSON: Place = Place {
    lat: 40.7640,
    lng: -74.0040,
};

/// Noodles (a required size, up to two extras) and a breakfast-only burrito.
fn noodle_menu() -> Value {
    json!({
        "currency": "USD",
        "categories": [{
            "name": "Mains",
            "items": [
                {
                    "name": "Pad thai",
                    "price": 1450,
                    "option_groups": [
                        {"name": "Size", "min": 1, "max": 1, "options": [
                            {"name": "Regular", "price_delta": 0},
                            {"name": "Large", "price_delta": 300},
                        ]},
                        {"name": "Extras", "min": 0, "max": 2, "options": [
                            {"name": "Egg", "price_delta": 150},
                            {"name": "Shrimp", "price_delta": 400},
                            {"name": "Tofu", "price_delta": 200},
                        ]},
                    ],
                },
                {
                    "name": "Breakfast burrito",
                    "price": 900,
                    "availability": [{"open": "07:00", "close": "11:00"}],
                },
            ],
        }],
    })
}

/// An item of a menu as customers read it: its name, its id, and its options' names and ids.
type ItemIds = (String, String, Vec<(String, String)>);

/// The ids of a menu as customers read it.
pub(crate) struct MenuIds {
    items: Vec<ItemIds>,
}

impl MenuIds {
    fn item(&self, name: &str) -> TestResult<&str> {
        self.items
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, id, _)| id.as_str())
            .ok_or_else(|| format!("no item {name}").into())
    }

    fn option(&self, item: &str, option: &str) -> TestResult<&str> {
        self.items
            .iter()
            .find(|(n, _, _)| n == item)
            .and_then(|(_, _, opts)| opts.iter().find(|(o, _)| o == option))
            .map(|(_, id)| id.as_str())
            .ok_or_else(|| format!("no option {option} of {item}").into())
    }
}

/// An approved merchant at `place`, open 11:00-22:00, with the noodle menu: its id, its staff and the
/// menu's ids.
pub(crate) async fn noodle_bar(
    server: &TestServer,
    admin: &Account,
    name: &str,
    place: Place,
) -> TestResult<(String, Account, MenuIds)> {
    let (id, staff) = server.open_merchant(admin, name, place).await?;
    server
        .put(
            &format!("/v1/merchants/{id}/menu"),
            &staff.token,
            noodle_menu(),
        )
        .await?
        .expect(200);
    let menu = server
        .get(&format!("/v1/merchants/{id}/menu"), &admin.token)
        .await?
        .expect(200);
    let mut items = Vec::new();
    for c in menu["categories"].as_array().into_iter().flatten() {
        for i in c["items"].as_array().into_iter().flatten() {
            let mut opts = Vec::new();
            for g in i["option_groups"].as_array().into_iter().flatten() {
                for o in g["options"].as_array().into_iter().flatten() {
                    opts.push((field(o, "name")?, field(o, "option_id")?));
                }
            }
            items.push((field(i, "name")?, field(i, "item_id")?, opts));
        }
    }
    Ok((id, staff, MenuIds { items }))
}

/// Two large pad thai with egg, to `to`, with a $2 tip.
pub(crate) fn cart(merchant: &str, ids: &MenuIds, to: Place) -> TestResult<Value> {
    Ok(json!({
        "merchant_id": merchant,
        "dropoff": {"lat": to.lat, "lng": to.lng},
        "address": "11 W 42nd St",
        "lines": [{
            "item_id": ids.item("Pad thai")?,
            "option_ids": [ids.option("Pad thai", "Large")?, ids.option("Pad thai", "Egg")?],
            "quantity": 2,
            "note": "no peanuts",
        }],
        "tip": 200,
    }))
}

impl TestServer {
    /// Places `body` as `customer` with the idempotency key `key`.
    pub(crate) async fn place_order(
        &self,
        customer: &Account,
        key: &str,
        body: &Value,
    ) -> TestResult<Reply> {
        let response = self
            .http
            .post(self.url("/v1/orders"))
            .bearer_auth(&customer.token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await?;
        TestServer::reply(response).await
    }
}

pub async fn a_customer_orders_and_the_kitchen_accepts_prepares_and_readies_it(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, staff, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let (_other, other_staff, _) =
        noodle_bar(&server, &admin, "Other Noodles", GRAND_CENTRAL).await?;
    let customer = server.customer_with_card().await?;
    let body = cart(&merchant, &ids, TIMES_SQUARE)?;

    // Checkout: (14.50 + 3.00 + 1.50) × 2 = 38.00 of food, fees by distance, the tip.
    let checkout = server
        .post("/v1/orders/checkout", &customer.token, body.clone())
        .await?
        .expect(200);
    let price = &checkout["price"];
    assert_eq!(usd(&price["subtotal"]), 3800);
    assert_eq!(usd(&price["tip"]), 200);
    let total = usd(&price["delivery_fee"])
        + usd(&price["service_fee"])
        + usd(&price["small_order_fee"])
        + usd(&price["busy_fee"])
        - usd(&price["discount"])
        + 3800
        + 200;
    assert_eq!(usd(&price["total"]), total);
    assert_eq!(
        checkout["lines"][0]["options"].as_array().map(Vec::len),
        Some(2)
    );

    // Placement, its retry and a reuse of its key with another body.
    let placed = server
        .place_order(&customer, "order-1", &body)
        .await?
        .expect(201);
    let order = field(&placed, "id")?;
    assert_eq!(placed["state"], "placed");
    assert_eq!(
        usd(&placed["price"]["total"]),
        total,
        "the price checkout showed"
    );
    let code = field(&placed, "handover_code")?;
    assert_eq!(code.len(), 4);
    let retry = server
        .place_order(&customer, "order-1", &body)
        .await?
        .expect(200);
    assert_eq!(field(&retry, "id")?, order);
    let mut other_body = body.clone();
    other_body["tip"] = json!(500);
    server
        .place_order(&customer, "order-1", &other_body)
        .await?
        .expect_error(422, "idempotency_key_reused");
    let mine = server.get("/v1/orders", &customer.token).await?.expect(200);
    assert_eq!(mine["orders"].as_array().map(Vec::len), Some(1));

    // Who sees it: the customer (with the code), the staff (without); others get 404.
    let path = format!("/v1/orders/{order}");
    let seen = server.get(&path, &staff.token).await?.expect(200);
    assert!(
        seen["handover_code"].is_null(),
        "only the customer sees the code"
    );
    let stranger = server.signup("rider").await?;
    server
        .get(&path, &stranger.token)
        .await?
        .expect_error(404, "order_not_found");
    server
        .get(&path, &other_staff.token)
        .await?
        .expect_error(404, "order_not_found");
    server
        .post_empty(&format!("{path}/ready"), &other_staff.token)
        .await?
        .expect_error(404, "order_not_found");
    let queue = server
        .get(&format!("/v1/merchants/{merchant}/orders"), &staff.token)
        .await?
        .expect(200);
    assert_eq!(queue["orders"][0]["id"], order.as_str());

    // The kitchen: accept with a prep time, prepare, ready; out of order is a conflict.
    server
        .post_empty(&format!("{path}/ready"), &staff.token)
        .await?
        .expect_error(409, "invalid_order_state");
    let accepted = server
        .post(
            &format!("{path}/accept"),
            &staff.token,
            json!({"prep_minutes": 20}),
        )
        .await?
        .expect(200);
    assert_eq!(accepted["state"], "accepted");
    assert!(accepted["accepted_at"].is_string());
    server
        .post_empty(&format!("{path}/preparing"), &staff.token)
        .await?
        .expect(200);
    let ready = server
        .post_empty(&format!("{path}/ready"), &staff.token)
        .await?
        .expect(200);
    assert_eq!(ready["state"], "ready");
    server
        .post(
            &format!("{path}/reject"),
            &staff.token,
            json!({"reason": "too_busy"}),
        )
        .await?
        .expect_error(409, "invalid_order_state");

    // Another order the kitchen rejects: nothing is charged.
    let second = server
        .place_order(&customer, "order-2", &body)
        .await?
        .expect(201);
    let rejected = server
        .post(
            &format!("/v1/orders/{}/reject", field(&second, "id")?),
            &staff.token,
            json!({"reason": "item_unavailable"}),
        )
        .await?
        .expect(200);
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(rejected["reject_reason"], "item_unavailable");

    // Cancelled before the kitchen accepts: free. After: half the food, to the merchant.
    let third = server
        .place_order(&customer, "order-3", &body)
        .await?
        .expect(201);
    let free = server
        .post_empty(
            &format!("/v1/orders/{}/cancel", field(&third, "id")?),
            &customer.token,
        )
        .await?
        .expect(200);
    assert_eq!(free["state"], "cancelled");
    assert!(free["cancel_fee"].is_null());
    let fourth = server
        .place_order(&customer, "order-4", &body)
        .await?
        .expect(201);
    let fourth_path = format!("/v1/orders/{}", field(&fourth, "id")?);
    server
        .post(
            &format!("{fourth_path}/accept"),
            &staff.token,
            json!({"prep_minutes": 15}),
        )
        .await?
        .expect(200);
    server
        .post_empty(&format!("{fourth_path}/cancel"), &stranger.token)
        .await?
        .expect_error(404, "order_not_found");
    let late = server
        .post_empty(&format!("{fourth_path}/cancel"), &customer.token)
        .await?
        .expect(200);
    assert_eq!(usd(&late["cancel_fee"]), 1900);
    assert!(server.trial_balance().await?.iter().all(|&t| t == 0));
    server.stop().await
}

pub async fn every_bad_order_input_is_a_4xx_with_its_code(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, _, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let (other, _, other_ids) = noodle_bar(&server, &admin, "Other Noodles", GRAND_CENTRAL).await?;
    let customer = server.customer_with_card().await?;
    let good = cart(&merchant, &ids, TIMES_SQUARE)?;
    let checkout = |body: Value| {
        let server = &server;
        let token = customer.token.clone();
        async move { server.post("/v1/orders/checkout", &token, body).await }
    };
    checkout(good.clone()).await?.expect(200);

    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    // An item of another merchant.
    let foreign = other_ids.item("Pad thai")?.to_owned();
    checkout(with(&|b| b["lines"][0]["item_id"] = json!(foreign)))
        .await?
        .expect_error(422, "item_of_another_merchant");
    // Options outside their groups' bounds: no size, three extras, an option of another item.
    checkout(with(&|b| {
        b["lines"][0]["option_ids"] = json!([ids.option("Pad thai", "Egg").unwrap_or_default()]);
    }))
    .await?
    .expect_error(422, "invalid_options");
    let three = json!([
        ids.option("Pad thai", "Regular")?,
        ids.option("Pad thai", "Egg")?,
        ids.option("Pad thai", "Shrimp")?,
        ids.option("Pad thai", "Tofu")?,
    ]);
    checkout(with(&|b| b["lines"][0]["option_ids"] = three.clone()))
        .await?
        .expect_error(422, "invalid_options");
    // Not served at 14:00, a quantity of 0, an empty cart.
    let burrito = ids.item("Breakfast burrito")?.to_owned();
    checkout(with(&|b| {
        b["lines"][0] = json!({"item_id": burrito, "quantity": 1});
    }))
    .await?
    .expect_error(422, "item_not_available_now");
    checkout(with(&|b| b["lines"][0]["quantity"] = json!(0)))
        .await?
        .expect_error(422, "invalid_quantity");
    checkout(with(&|b| b["lines"] = json!([])))
        .await?
        .expect_error(422, "cart_empty");
    // Outside the radius, in the river; a negative or huge tip.
    checkout(with(&|b| {
        b["dropoff"] = json!({"lat": UNION_SQUARE.lat, "lng": UNION_SQUARE.lng});
    }))
    .await?
    .expect_error(422, "outside_delivery_radius");
    checkout(with(&|b| {
        b["dropoff"] = json!({"lat": HUDSON.lat, "lng": HUDSON.lng})
    }))
    .await?
    .expect_error(422, "in_water");
    checkout(with(&|b| b["tip"] = json!(-100)))
        .await?
        .expect_error(422, "tip_negative");
    checkout(with(&|b| b["tip"] = json!(10_001)))
        .await?
        .expect_error(422, "tip_too_large");
    // An unknown merchant; one closed now.
    checkout(with(&|b| {
        b["merchant_id"] = json!(uuid::Uuid::now_v7().to_string())
    }))
    .await?
    .expect_error(404, "merchant_not_found");
    let night = json!([{"open": "18:00", "close": "23:00"}]);
    let (closed, closed_staff, closed_ids) =
        noodle_bar(&server, &admin, "Night Noodles", GRAND_CENTRAL).await?;
    server
        .put(
            &format!("/v1/merchants/{closed}/hours"),
            &closed_staff.token,
            json!({"weekly": {"monday": night, "tuesday": night, "wednesday": night,
                "thursday": night, "friday": night, "saturday": night, "sunday": night}}),
        )
        .await?
        .expect(200);
    checkout(cart(&closed, &closed_ids, GRAND_CENTRAL)?)
        .await?
        .expect_error(409, "merchant_closed");
    checkout(cart(&other, &other_ids, GRAND_CENTRAL)?)
        .await?
        .expect(200);

    // Promo codes: unknown, expired, used up.
    checkout(with(&|b| b["promo_code"] = json!("NOSUCHCODE")))
        .await?
        .expect_error(422, "promo_unknown");
    let expires = |secs: i64| {
        let t = server.clock.now().plus_secs(secs);
        doorstep_api::dto::rfc3339(t)
    };
    server
        .act(
            &admin,
            "/v1/admin/promos",
            "promo-1",
            json!({"code": "welcome5", "amount_off": 500, "min_order": 1000, "per_user_limit": 1,
                "total_limit": 100, "expires_at": expires(3600), "reason": "launch week"}),
        )
        .await?
        .expect(201);
    server
        .act(
            &admin,
            "/v1/admin/promos",
            "promo-2",
            json!({"code": "WELCOME5", "amount_off": 500, "per_user_limit": 1,
                "total_limit": 100, "expires_at": expires(3600), "reason": "again"}),
        )
        .await?
        .expect_error(409, "promo_taken");
    server
        .act(
            &admin,
            "/v1/admin/promos",
            "promo-3",
            json!({"code": "BAD", "percent_bps": 0, "per_user_limit": 1,
                "total_limit": 1, "expires_at": expires(3600), "reason": "bad"}),
        )
        .await?
        .expect(422);
    let discounted = checkout(with(&|b| b["promo_code"] = json!("welcome5")))
        .await?
        .expect(200);
    assert_eq!(usd(&discounted["price"]["discount"]), 500);
    server
        .place_order(
            &customer,
            "promo-order",
            &with(&|b| b["promo_code"] = json!("WELCOME5")),
        )
        .await?
        .expect(201);
    checkout(with(&|b| b["promo_code"] = json!("WELCOME5")))
        .await?
        .expect_error(422, "promo_used_up");
    let newcomer = server.signup("rider").await?;
    server.clock.advance_secs(7200);
    server
        .post(
            "/v1/orders/checkout",
            &newcomer.token,
            with(&|b| b["promo_code"] = json!("WELCOME5")),
        )
        .await?
        .expect_error(422, "promo_expired");
    // Only customers order.
    server
        .post("/v1/orders/checkout", &admin.token, good.clone())
        .await?
        .expect_error(403, "forbidden");
    server.stop().await
}

/// The courier `driver` sees, after the dispatcher's next batches: its pending delivery offers.
async fn delivery_offers(server: &TestServer, driver: &Account) -> TestResult<Vec<Value>> {
    let list = server
        .get("/v1/delivery-offers", &driver.token)
        .await?
        .expect(200);
    Ok(list["offers"].as_array().cloned().unwrap_or_default())
}

/// Waits until `driver` holds a delivery offer of `order`, and returns it.
async fn offer_of(server: &TestServer, driver: &Account, order: &str) -> TestResult<Value> {
    crate::server::eventually("a delivery offer", || async {
        Ok(delivery_offers(server, driver)
            .await?
            .into_iter()
            .find(|o| o["orders"][0]["order_id"] == order))
    })
    .await
}

pub async fn the_live_dispatcher_offers_ready_food_to_a_courier_who_delivers_it(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, staff, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let customer = server.customer_with_card().await?;
    // The nearest courier waits at Grand Central; another at Union Square.
    let near = server.driver_at(GRAND_CENTRAL).await?;
    let far = server.driver_at(UNION_SQUARE).await?;
    let placed = server
        .place_order(&customer, "live-1", &cart(&merchant, &ids, TIMES_SQUARE)?)
        .await?
        .expect(201);
    let order = field(&placed, "id")?;
    let code = field(&placed, "handover_code")?;
    let path = format!("/v1/orders/{order}");

    // Placed but not accepted: nobody is offered it. Accepted with 20 minutes to cook: a courier
    // minutes away is not committed yet (they would wait in the kitchen).
    crate::server::let_dispatch_run().await;
    assert!(delivery_offers(&server, &near).await?.is_empty());
    server
        .post(
            &format!("{path}/accept"),
            &staff.token,
            json!({"prep_minutes": 20}),
        )
        .await?
        .expect(200);
    crate::server::let_dispatch_run().await;
    assert!(
        delivery_offers(&server, &near).await?.is_empty(),
        "no courier is committed 20 minutes before the food is ready"
    );

    // Ready now: the nearest courier is offered it, with the pay and the stops.
    server
        .post_empty(&format!("{path}/ready"), &staff.token)
        .await?
        .expect(200);
    let offer = offer_of(&server, &near, &order).await?;
    assert_eq!(offer["orders"][0]["merchant_name"], "Noodle Bar");
    assert!(usd(&offer["pay"]) > 0, "the courier's pay: {offer}");
    let kinds: Vec<&str> = offer["stops"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["pickup", "dropoff"]);
    let offer_id = field(&offer, "offer_id")?;
    assert!(delivery_offers(&server, &far).await?.is_empty());
    // Someone else's offer is not found; a customer is not a courier.
    server
        .post_empty(
            &format!("/v1/delivery-offers/{offer_id}/accept"),
            &far.token,
        )
        .await?
        .expect_error(404, "offer_not_found");
    server
        .get("/v1/delivery-offers", &customer.token)
        .await?
        .expect(403);

    // The nearest courier declines: the order goes to the other one, never back to them.
    let declined = server
        .post_empty(
            &format!("/v1/delivery-offers/{offer_id}/decline"),
            &near.token,
        )
        .await?
        .expect(200);
    assert_eq!(declined["state"], "declined");
    let offer = offer_of(&server, &far, &order).await?;
    let offer_id = field(&offer, "offer_id")?;
    assert!(delivery_offers(&server, &near).await?.is_empty());
    let taken = server
        .post_empty(
            &format!("/v1/delivery-offers/{offer_id}/accept"),
            &far.token,
        )
        .await?
        .expect(200);
    assert_eq!(taken["orders"][0]["courier_id"], far.id.as_str());
    server
        .post_empty(
            &format!("/v1/delivery-offers/{offer_id}/accept"),
            &far.token,
        )
        .await?
        .expect_error(409, "offer_not_pending");
    let carried = server
        .get("/v1/couriers/me/orders", &far.token)
        .await?
        .expect(200);
    assert_eq!(carried["orders"][0]["id"], order.as_str());

    // The customer sees who is coming and where they are.
    let seen = server.get(&path, &customer.token).await?.expect(200);
    assert!(seen["courier"]["name"].is_string(), "{seen}");
    assert!(seen["courier"]["position"]["lat"].is_number(), "{seen}");

    // Collect, ride, hand over with the customer's code: delivered, with balanced books.
    server.drive_to(&far, BRYANT_PARK).await?;
    server
        .post_empty(&format!("{path}/arrived"), &far.token)
        .await?
        .expect(200);
    let picked = server
        .post_empty(&format!("{path}/picked-up"), &far.token)
        .await?
        .expect(200);
    assert_eq!(picked["state"], "picked_up");
    server.drive_to(&far, TIMES_SQUARE).await?;
    let delivered = server
        .post(
            &format!("{path}/delivered"),
            &far.token,
            json!({"code": code}),
        )
        .await?
        .expect(200);
    assert_eq!(delivered["state"], "delivered");
    assert!(delivered["courier"].is_null());
    // The order's own books: the customer's payment, the shares and the tip, summing to zero.
    let ledger = server
        .get(&format!("/v1/admin/orders/{order}/ledger"), &admin.token)
        .await?
        .expect(200);
    assert!(
        ledger["postings"].as_array().map_or(0, Vec::len) >= 2,
        "{ledger}"
    );
    assert_eq!(ledger["total"], 0, "{ledger}");
    let carried = server
        .get("/v1/couriers/me/orders", &far.token)
        .await?
        .expect(200);
    assert_eq!(carried["orders"].as_array().map(Vec::len), Some(0));
    assert!(server.trial_balance().await?.iter().all(|&t| t == 0));

    // With every courier offline, a ready order ends undeliverable once its grace has passed,
    // with the reason; it never hangs.
    for d in [&near, &far] {
        server
            .post_empty("/v1/drivers/me/offline", &d.token)
            .await?
            .expect(200);
    }
    let lonely = server
        .place_order(&customer, "live-2", &cart(&merchant, &ids, TIMES_SQUARE)?)
        .await?
        .expect(201);
    let lonely_path = format!("/v1/orders/{}", field(&lonely, "id")?);
    server
        .post(
            &format!("{lonely_path}/accept"),
            &staff.token,
            json!({"prep_minutes": 10}),
        )
        .await?
        .expect(200);
    server
        .post_empty(&format!("{lonely_path}/ready"), &staff.token)
        .await?
        .expect(200);
    // Food waits for a courier to come online: a minute with nobody in reach does not end it (a
    // ride would have been told no driver is near by now).
    crate::server::let_dispatch_run().await;
    server.clock.advance_secs(60);
    crate::server::let_dispatch_run().await;
    let waiting = server.get(&lonely_path, &customer.token).await?.expect(200);
    assert_eq!(waiting["state"], "ready", "{waiting}");
    server
        .clock
        .advance_secs(doorstep_domain::food::order::DELIVERY_GRACE_S);
    let ended = crate::server::eventually("the order to end undeliverable", || async {
        let o = server.get(&lonely_path, &customer.token).await?.expect(200);
        Ok((o["state"] == "undeliverable").then_some(o))
    })
    .await?;
    assert_eq!(ended["undeliverable_reason"], "no_workers_nearby");
    assert!(server.trial_balance().await?.iter().all(|&t| t == 0));
    server.stop().await
}

pub async fn browsing_shows_the_delivery_fee_and_time_and_an_order_says_what_cancelling_costs_now(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, staff, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let customer = server.customer_with_card().await?;
    let body = cart(&merchant, &ids, TIMES_SQUARE)?;

    // The listing's delivery fee is the checkout's, for the same point; its time is no earlier than
    // the checkout's promise (whole minutes, rounded up).
    let listed = server
        .get(
            &format!(
                "/v1/merchants?lat={}&lng={}",
                TIMES_SQUARE.lat, TIMES_SQUARE.lng
            ),
            &customer.token,
        )
        .await?
        .expect(200);
    let listing = listed["merchants"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["merchant_id"] == merchant.as_str()))
        .ok_or("the merchant is listed")?;
    let checkout = server
        .post("/v1/orders/checkout", &customer.token, body.clone())
        .await?
        .expect(200);
    assert_eq!(
        usd(&listing["delivery_fee"]),
        usd(&checkout["price"]["delivery_fee"])
    );
    let minutes = listing["delivery_minutes"]
        .as_i64()
        .ok_or("delivery_minutes")?;
    assert!((1..=180).contains(&minutes), "{minutes}");
    // A merchant read on its own (not browsed from a point) has neither.
    let one = server
        .get(&format!("/v1/merchants/{merchant}"), &customer.token)
        .await?
        .expect(200);
    assert!(one.get("delivery_fee").is_none(), "{one}");

    // Cancelling costs nothing before the kitchen accepts, half the food after; once cancelled, null.
    let placed = server
        .place_order(&customer, "cancel-fee-1", &body)
        .await?
        .expect(201);
    let order = field(&placed, "id")?;
    let path = format!("/v1/orders/{order}");
    let before = server.get(&path, &customer.token).await?.expect(200);
    assert_eq!(usd(&before["cancel_fee_now"]), 0);
    // Only its customer is told.
    let for_staff = server.get(&path, &staff.token).await?.expect(200);
    assert!(for_staff["cancel_fee_now"].is_null(), "{for_staff}");
    server
        .post(
            &format!("{path}/accept"),
            &staff.token,
            json!({"prep_minutes": 10}),
        )
        .await?
        .expect(200);
    let after = server.get(&path, &customer.token).await?.expect(200);
    assert_eq!(usd(&after["cancel_fee_now"]), 1900, "half of 38.00 of food");
    let cancelled = server
        .post(&format!("{path}/cancel"), &customer.token, json!({}))
        .await?
        .expect(200);
    assert_eq!(usd(&cancelled["cancel_fee"]), 1900);
    let gone = server.get(&path, &customer.token).await?.expect(200);
    assert!(gone["cancel_fee_now"].is_null(), "{gone}");
    Ok(())
}

pub async fn two_orders_ready_at_one_kitchen_go_to_one_courier_as_one_offer_and_a_lapsed_offer_goes_to_the_next(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (merchant, staff, ids) = noodle_bar(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let mut orders = Vec::new();
    for (key, to) in [
        ("batch-1", TIMES_SQUARE),
        ("batch-2", TIMES_SQUARE.toward(COLUMBUS_CIRCLE, 0.5)),
    ] {
        let customer = server.customer_with_card().await?;
        let placed = server
            .place_order(&customer, key, &cart(&merchant, &ids, to)?)
            .await?
            .expect(201);
        let id = field(&placed, "id")?;
        server
            .post(
                &format!("/v1/orders/{id}/accept"),
                &staff.token,
                json!({"prep_minutes": 10}),
            )
            .await?
            .expect(200);
        server
            .post_empty(&format!("/v1/orders/{id}/ready"), &staff.token)
            .await?
            .expect(200);
        orders.push(id);
    }

    // One courier for two orders ready at one kitchen: one offer of both, taken or left whole.
    let first = server.driver_at(GRAND_CENTRAL).await?;
    let offer = crate::server::eventually("a batch offer", || async {
        Ok(delivery_offers(&server, &first)
            .await?
            .into_iter()
            .find(|o| o["orders"].as_array().map_or(0, Vec::len) == 2))
    })
    .await?;
    let mut offered: Vec<String> = offer["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["order_id"].as_str().map(str::to_owned))
        .collect();
    offered.sort();
    let mut expected = orders.clone();
    expected.sort();
    assert_eq!(offered, expected);
    assert_eq!(offer["stops"].as_array().map(Vec::len), Some(4), "{offer}");
    assert_eq!(offer["stops"][0]["kind"], "pickup", "{offer}");

    // The courier lets it lapse (the offer expires); then goes offline. Both orders go to the next
    // courier, never back to the first.
    let first_offer = field(&offer, "offer_id")?;
    server.clock.advance_secs(20);
    server.report_position(&first, GRAND_CENTRAL).await?;
    crate::server::eventually("the offer to expire", || async {
        Ok(delivery_offers(&server, &first)
            .await?
            .iter()
            .all(|o| o["offer_id"] != first_offer.as_str())
            .then_some(()))
    })
    .await?;
    let late = server
        .post_empty(
            &format!("/v1/delivery-offers/{first_offer}/accept"),
            &first.token,
        )
        .await?;
    // Past its deadline (and then recorded expired): either way, too late.
    let late = late.expect(409);
    assert!(
        late["code"] == "offer_expired" || late["code"] == "offer_not_pending",
        "{late}"
    );
    server
        .post_empty("/v1/drivers/me/offline", &first.token)
        .await?
        .expect(200);
    let second = server.driver_at(GRAND_CENTRAL).await?;
    let offer = crate::server::eventually("the batch offered again", || async {
        Ok(delivery_offers(&server, &second)
            .await?
            .into_iter()
            .find(|o| o["orders"].as_array().map_or(0, Vec::len) == 2))
    })
    .await?;
    assert!(delivery_offers(&server, &first).await?.is_empty());
    let offer_id = field(&offer, "offer_id")?;
    let taken = server
        .post_empty(
            &format!("/v1/delivery-offers/{offer_id}/accept"),
            &second.token,
        )
        .await?
        .expect(200);
    assert_eq!(taken["orders"].as_array().map(Vec::len), Some(2));
    let carried = server
        .get("/v1/couriers/me/orders", &second.token)
        .await?
        .expect(200);
    assert_eq!(carried["orders"].as_array().map(Vec::len), Some(2));
    for id in &orders {
        let seen = server
            .get(&format!("/v1/orders/{id}"), &staff.token)
            .await?
            .expect(200);
        assert_eq!(seen["courier_id"], second.id.as_str());
    }
    server.stop().await
}
