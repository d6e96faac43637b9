//! The operations console's food reads: the operators' list of orders (newest first, filtered by state
//! and merchant, every bad filter a 422 with its code), one order's timeline, and the dashboard's food
//! tile counting what the kitchens and couriers did. Operators only.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, GRAND_CENTRAL, TIMES_SQUARE};
use crate::server::{Account, TestServer, field, usd};
use serde_json::{Value, json};

/// An approved, open merchant at `place` with one item (pad thai, 14.50): its id, staff and item.
async fn kitchen(
    server: &TestServer,
    admin: &Account,
    name: &str,
    place: crate::places::Place,
) -> TestResult<(String, Account, String)> {
    let (id, staff) = server.open_merchant(admin, name, place).await?;
    let menu = json!({"currency": "USD", "categories": [{"name": "Mains", "items": [
        {"name": "Pad thai", "price": 1450}]}]});
    let imported = server
        .put(&format!("/v1/merchants/{id}/menu"), &staff.token, menu)
        .await?
        .expect(200);
    let item = imported["categories"][0]["items"][0]["id"]
        .as_str()
        .ok_or("an item id")?
        .to_owned();
    Ok((id, staff, item))
}

/// Places one pad thai from `merchant` for `customer`; the order's id.
async fn order(
    server: &TestServer,
    customer: &Account,
    merchant: &str,
    item: &str,
) -> TestResult<String> {
    let placed = server
        .post(
            "/v1/orders",
            &customer.token,
            json!({
                "merchant_id": merchant,
                "dropoff": {"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng},
                "address": "1 Times Sq",
                "lines": [{"item_id": item, "quantity": 1}],
            }),
        )
        .await?
        .expect(201);
    field(&placed, "id")
}

/// The ids of the operators' list at `query`.
async fn listed(server: &TestServer, admin: &Account, query: &str) -> TestResult<Vec<String>> {
    let list = server
        .get(&format!("/v1/admin/orders{query}"), &admin.token)
        .await?
        .expect(200);
    Ok(list["orders"]
        .as_array()
        .ok_or("orders")?
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect())
}

fn count_of(summary: &Value, state: &str) -> i64 {
    summary["today"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["state"] == state)
        .and_then(|c| c["count"].as_i64())
        .unwrap_or(-1)
}

pub async fn operators_list_food_orders_by_state_and_merchant_and_the_food_tile_counts_them(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (noodles, noodle_staff, noodle_item) =
        kitchen(&server, &admin, "Noodle Bar", BRYANT_PARK).await?;
    let (grand, grand_staff, grand_item) =
        kitchen(&server, &admin, "Grand Dumplings", GRAND_CENTRAL).await?;
    let customer = server.customer_with_card().await?;

    // Nothing yet: every state is counted, at zero.
    let empty = server
        .get("/v1/admin/food/summary", &admin.token)
        .await?
        .expect(200);
    assert_eq!(empty["today_total"], 0);
    assert_eq!(empty["today"].as_array().map(Vec::len), Some(9));
    assert_eq!(empty["merchants"]["open"], 2);

    // A: accepted; B: accepted, preparing, ready; C: placed at the other merchant.
    let a = order(&server, &customer, &noodles, &noodle_item).await?;
    server.clock.advance_secs(1);
    let b = order(&server, &customer, &noodles, &noodle_item).await?;
    server.clock.advance_secs(1);
    let c = order(&server, &customer, &grand, &grand_item).await?;
    for id in [a.as_str(), b.as_str()] {
        server
            .post(
                &format!("/v1/orders/{id}/accept"),
                &noodle_staff.token,
                json!({"prep_minutes": 15}),
            )
            .await?
            .expect(200);
    }
    for step in ["preparing", "ready"] {
        server
            .post_empty(&format!("/v1/orders/{b}/{step}"), &noodle_staff.token)
            .await?
            .expect(200);
    }

    // Newest first, with the names, the times and the total.
    assert_eq!(
        listed(&server, &admin, "").await?,
        [c.as_str(), b.as_str(), a.as_str()]
    );
    let list = server
        .get("/v1/admin/orders", &admin.token)
        .await?
        .expect(200);
    let first = &list["orders"][0];
    assert_eq!(first["state"], "placed");
    assert_eq!(first["merchant_name"], "Grand Dumplings");
    assert_eq!(first["merchant_id"], grand.as_str());
    assert_eq!(first["customer_id"], customer.id.as_str());
    assert!(first["customer_name"].is_string());
    assert!(first["courier_id"].is_null());
    assert!(usd(&first["total"]) >= 1450, "the food and its fees");
    for time in ["placed_at", "promised_at", "eta", "ready_at"] {
        assert!(first[time].is_string(), "{time}: {first}");
    }
    assert_eq!(first["late"], false);

    // Filters, alone and together; the limit.
    assert_eq!(
        listed(&server, &admin, "?state=placed").await?,
        [c.as_str()]
    );
    assert_eq!(listed(&server, &admin, "?state=ready").await?, [b.as_str()]);
    assert_eq!(
        listed(&server, &admin, "?state=accepted").await?,
        [a.as_str()]
    );
    assert!(
        listed(&server, &admin, "?state=delivered")
            .await?
            .is_empty()
    );
    assert_eq!(
        listed(&server, &admin, &format!("?merchant_id={noodles}")).await?,
        [b.as_str(), a.as_str()]
    );
    assert_eq!(
        listed(
            &server,
            &admin,
            &format!("?merchant_id={noodles}&state=ready")
        )
        .await?,
        [b.as_str()]
    );
    assert_eq!(listed(&server, &admin, "?limit=1").await?, [c.as_str()]);

    // Bad filters are 422 with their codes.
    for (query, code) in [
        ("?state=lost", "invalid_state"),
        ("?state=PLACED", "invalid_state"),
        ("?merchant_id=nope", "invalid_merchant_id"),
        // An empty value is not "no filter": leave the parameter out for that.
        ("?state=", "invalid_state"),
        ("?merchant_id=", "invalid_merchant_id"),
        ("?limit=", "invalid_limit"),
        ("?limit=0", "invalid_limit"),
        ("?limit=501", "invalid_limit"),
        ("?limit=ten", "invalid_limit"),
    ] {
        server
            .get(&format!("/v1/admin/orders{query}"), &admin.token)
            .await?
            .expect_error(422, code);
    }

    // Nobody but operators reads them.
    let driver = server.signup("driver").await?;
    for who in [&customer, &noodle_staff, &driver] {
        for path in [
            "/v1/admin/orders".to_owned(),
            "/v1/admin/food/summary".to_owned(),
            format!("/v1/admin/orders/{a}/events"),
        ] {
            let reply = server.get(&path, &who.token).await?;
            assert_eq!(reply.status, 403, "{path}: {}", reply.body);
        }
    }

    // The tile: today's orders by state, those waiting for a courier, merchants open.
    let summary = server
        .get("/v1/admin/food/summary", &admin.token)
        .await?
        .expect(200);
    assert_eq!(summary["today_total"], 3);
    assert_eq!(count_of(&summary, "placed"), 1);
    assert_eq!(count_of(&summary, "accepted"), 1);
    assert_eq!(count_of(&summary, "ready"), 1);
    assert_eq!(count_of(&summary, "delivered"), 0);
    assert_eq!(summary["waiting_for_courier"], 2, "{summary}");
    assert_eq!(summary["unfinished"], 3);
    assert_eq!(summary["couriers_with_orders"], 0);
    // Late: not over and the live estimate past the promise (a kitchen slower than promised), the same
    // orders in the list and on the tile.
    let list = server
        .get("/v1/admin/orders", &admin.token)
        .await?
        .expect(200);
    let mut late = 0;
    for o in list["orders"].as_array().into_iter().flatten() {
        let behind = o["eta"].as_str() > o["promised_at"].as_str();
        assert_eq!(o["late"], behind, "{o}");
        late += i64::from(behind);
    }
    assert_eq!(summary["late"], late);

    // An operator gives A to a courier: the list names them, the tile counts them, the timeline has it.
    let courier = server.driver_at(BRYANT_PARK).await?;
    server
        .act(
            &admin,
            &format!("/v1/admin/orders/{a}/assign"),
            &uuid::Uuid::new_v4().to_string(),
            json!({"courier_id": courier.id, "reason": "the kitchen asked"}),
        )
        .await?
        .expect(200);
    let list = server
        .get(
            &format!("/v1/admin/orders?merchant_id={noodles}&state=accepted"),
            &admin.token,
        )
        .await?
        .expect(200);
    assert_eq!(list["orders"][0]["courier_id"], courier.id.as_str());
    assert!(list["orders"][0]["courier_name"].is_string());
    let summary = server
        .get("/v1/admin/food/summary", &admin.token)
        .await?
        .expect(200);
    assert_eq!(summary["couriers_with_orders"], 1);
    assert_eq!(summary["couriers_carrying"], 0);
    assert_eq!(summary["waiting_for_courier"], 1);
    let timeline = server
        .get(&format!("/v1/admin/orders/{a}/events"), &admin.token)
        .await?
        .expect(200);
    let types: Vec<&str> = timeline["events"]
        .as_array()
        .ok_or("events")?
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        ["order_placed", "order_accepted", "order_courier_assigned"],
        "{timeline}"
    );
    assert!(
        timeline["events"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["job_id"] == a.as_str())
    );
    server
        .get(
            &format!("/v1/admin/orders/{}/events", uuid::Uuid::new_v4()),
            &admin.token,
        )
        .await?
        .expect_error(404, "order_not_found");
    server
        .get("/v1/admin/orders/not-an-id/events", &admin.token)
        .await?
        .expect_error(404, "order_not_found");

    // The customer cancels C; its merchant pauses: the tile and the filter follow.
    server
        .post_empty(&format!("/v1/orders/{c}/cancel"), &customer.token)
        .await?
        .expect(200);
    server
        .post(
            &format!("/v1/merchants/{grand}/pause"),
            &grand_staff.token,
            json!({"minutes": 30}),
        )
        .await?
        .expect(200);
    assert_eq!(
        listed(&server, &admin, "?state=cancelled").await?,
        [c.as_str()]
    );
    let summary = server
        .get("/v1/admin/food/summary", &admin.token)
        .await?
        .expect(200);
    assert_eq!(count_of(&summary, "cancelled"), 1);
    assert_eq!(count_of(&summary, "placed"), 0);
    assert_eq!(summary["unfinished"], 2);
    assert_eq!(summary["merchants"]["open"], 1);
    assert_eq!(summary["merchants"]["paused"], 1);

    // Three hours on, whatever is not over is late, in the list and on the tile.
    server.clock.advance_secs(3 * 3600);
    let list = server
        .get("/v1/admin/orders", &admin.token)
        .await?
        .expect(200);
    for o in list["orders"].as_array().into_iter().flatten() {
        let over = ["delivered", "rejected", "cancelled", "undeliverable"]
            .contains(&o["state"].as_str().unwrap_or(""));
        assert_eq!(o["late"], !over, "{o}");
    }
    let summary = server
        .get("/v1/admin/food/summary", &admin.token)
        .await?
        .expect(200);
    assert_eq!(summary["late"], summary["unfinished"], "{summary}");
    server.stop().await
}
