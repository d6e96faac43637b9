//! Merchants for food delivery through the API: operators create and approve them (audited, with a
//! reason and an idempotency key), their staff run their own merchant and nobody else's (404), customers
//! browse approved merchants that deliver to their address, and menus go out and come back whole.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, GRAND_CENTRAL, PROSPECT_PARK, Place, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, Reply, TestServer, field};
use reqwest::Method;
use serde_json::{Value, json};

/// The Hudson, 300 m off Pier 84: on the water.
const HUDSON: Place = Place {
    lat: 40.7640,
    lng: -74.0040,
};

/// A merchant's profile fields at `place`: delivers 1.5 km around, 15 minutes to prepare.
fn profile(name: &str, place: Place) -> Value {
    json!({
        "name": name,
        "cuisines": ["thai", "noodles"],
        "address": "41 W 42nd St",
        "lat": place.lat,
        "lng": place.lng,
        "delivery_radius_m": 1500,
        "prep_minutes": 15,
    })
}

/// Open 11:00-22:00 every day (the tests run on a Wednesday at 14:00 in New York).
fn lunch_and_dinner() -> Value {
    let day = json!([{"open": "11:00", "close": "22:00"}]);
    json!({"weekly": {
        "monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day,
        "saturday": day, "sunday": day,
    }})
}

/// Pad thai (a required size, up to two extras) and a breakfast-only burrito.
fn menu_document() -> Value {
    json!({
        "currency": "USD",
        "categories": [{
            "name": "Mains",
            "items": [
                {
                    "name": "Pad thai",
                    "description": "Rice noodles, tamarind, peanuts",
                    "price": 1450,
                    "option_groups": [
                        {"name": "Size", "min": 1, "max": 1, "options": [
                            {"name": "Regular", "price_delta": 0},
                            {"name": "Large", "price_delta": 300},
                        ]},
                        {"name": "Extras", "min": 0, "max": 2, "options": [
                            {"name": "Egg", "price_delta": 150},
                            {"name": "Shrimp", "price_delta": 400},
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

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl TestServer {
    /// `PUT path` with a JSON body as `token`.
    pub async fn put(&self, path: &str, token: &str, body: Value) -> TestResult<Reply> {
        self.call(Method::PUT, path, Some(token), Some(&body)).await
    }

    /// An operator creates a merchant at `place` with `staff` on it; the answer.
    pub async fn create_merchant(
        &self,
        admin: &Account,
        name: &str,
        place: Place,
        staff: &[&Account],
    ) -> TestResult<Value> {
        let mut body = profile(name, place);
        body["staff"] = json!(staff.iter().map(|s| s.id.as_str()).collect::<Vec<_>>());
        body["reason"] = json!("signed the merchant agreement");
        Ok(self
            .act(admin, "/v1/admin/merchants", &key(), body)
            .await?
            .expect(201))
    }

    /// An approved merchant at `place`, open 11:00-22:00, with one staff member: its id and the staff.
    pub async fn open_merchant(
        &self,
        admin: &Account,
        name: &str,
        place: Place,
    ) -> TestResult<(String, Account)> {
        let staff = self.signup("merchant").await?;
        let created = self.create_merchant(admin, name, place, &[&staff]).await?;
        let id = field(&created, "merchant_id")?;
        self.act(
            admin,
            &format!("/v1/admin/merchants/{id}/approve"),
            &key(),
            json!({"reason": "checked the kitchen"}),
        )
        .await?
        .expect(200);
        self.put(
            &format!("/v1/merchants/{id}/hours"),
            &staff.token,
            lunch_and_dinner(),
        )
        .await?
        .expect(200);
        Ok((id, staff))
    }
}

/// The names of the merchants a customer sees around `place`, in the order given.
async fn browse(server: &TestServer, who: &Account, place: Place) -> TestResult<Vec<Value>> {
    let listed = server
        .get(
            &format!("/v1/merchants?lat={}&lng={}", place.lat, place.lng),
            &who.token,
        )
        .await?
        .expect(200);
    Ok(listed["merchants"].as_array().cloned().unwrap_or_default())
}

fn names(listed: &[Value]) -> Vec<&str> {
    listed.iter().filter_map(|m| m["name"].as_str()).collect()
}

pub async fn an_operator_creates_and_approves_a_merchant_and_only_then_customers_see_it(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let cook = server.signup("merchant").await?;

    // Created with an existing merchant account and a new one made for it.
    let mut body = profile("Thai Garden", BRYANT_PARK);
    body["staff"] = json!([cook.id]);
    body["new_staff"] = json!({"email": "owner@thai-garden.example", "name": "Owner", "password": "correct horse battery"});
    body["reason"] = json!("signed the merchant agreement");
    let create_key = key();
    let created = server
        .act(&admin, "/v1/admin/merchants", &create_key, body.clone())
        .await?
        .expect(201);
    let id = field(&created, "merchant_id")?;
    assert_eq!(created["status"], "pending");
    assert_eq!(created["cuisines"], json!(["thai", "noodles"]));
    assert_eq!(created["hours"]["time_zone"], "America/New_York");
    assert_eq!(created["open_now"], false, "pending, and no hours yet");
    let staff: Vec<&str> = created["staff"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(staff, ["A merchant", "Owner"]);
    // A retry with the same key is the same merchant, created once.
    let again = server
        .act(&admin, "/v1/admin/merchants", &create_key, body)
        .await?
        .expect(201);
    assert_eq!(again["merchant_id"], id.as_str());
    let all = server
        .get("/v1/admin/merchants", &admin.token)
        .await?
        .expect(200);
    assert_eq!(all["merchants"].as_array().map(Vec::len), Some(1));
    // The new account logs in and finds its merchant.
    let login = server
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(
                &json!({"email": "owner@thai-garden.example", "password": "correct horse battery"}),
            ),
        )
        .await?
        .expect(200);
    let owner_token = field(&login, "token")?;
    let mine = server
        .get("/v1/merchants/mine", &owner_token)
        .await?
        .expect(200);
    assert_eq!(mine["merchant_id"], id.as_str());

    // Pending: its staff see it, customers do not.
    server
        .put(
            &format!("/v1/merchants/{id}/hours"),
            &cook.token,
            lunch_and_dinner(),
        )
        .await?
        .expect(200);
    assert!(browse(&server, &rider, TIMES_SQUARE).await?.is_empty());
    server
        .get(&format!("/v1/merchants/{id}"), &rider.token)
        .await?
        .expect_error(404, "merchant_not_found");
    server
        .get(&format!("/v1/merchants/{id}/menu"), &rider.token)
        .await?
        .expect_error(404, "merchant_not_found");
    server
        .get(&format!("/v1/merchants/{id}"), &cook.token)
        .await?
        .expect(200);

    // Approved: listed and open at 14:00.
    let approve = format!("/v1/admin/merchants/{id}/approve");
    server
        .act(&admin, &approve, &key(), json!({"reason": ""}))
        .await?
        .expect_error(422, "invalid_reason");
    let approved = server
        .act(
            &admin,
            &approve,
            &key(),
            json!({"reason": "checked the kitchen"}),
        )
        .await?
        .expect(200);
    assert_eq!(
        (approved["status"].as_str(), approved["open_now"].as_bool()),
        (Some("approved"), Some(true))
    );
    server
        .act(&admin, &approve, &key(), json!({"reason": "again"}))
        .await?
        .expect_error(409, "invalid_merchant_state");
    let listed = browse(&server, &rider, TIMES_SQUARE).await?;
    assert_eq!(names(&listed), ["Thai Garden"]);
    assert_eq!(listed[0]["open_now"], true);

    // Suspended: gone for customers; reinstated: back.
    server
        .act(
            &admin,
            &format!("/v1/admin/merchants/{id}/suspend"),
            &key(),
            json!({"reason": "health inspection"}),
        )
        .await?
        .expect(200);
    assert!(browse(&server, &rider, TIMES_SQUARE).await?.is_empty());
    server
        .get(&format!("/v1/merchants/{id}"), &rider.token)
        .await?
        .expect_error(404, "merchant_not_found");
    server
        .act(
            &admin,
            &format!("/v1/admin/merchants/{id}/reinstate"),
            &key(),
            json!({"reason": "passed"}),
        )
        .await?
        .expect(200);
    assert_eq!(browse(&server, &rider, TIMES_SQUARE).await?.len(), 1);

    // Every action is in the audit log with its reason, newest first.
    let audit = server.audit_of(&admin, &id).await?;
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "reinstate_merchant",
            "suspend_merchant",
            "approve_merchant",
            "create_merchant"
        ]
    );
    assert_eq!(audit[1]["reason"], "health inspection");

    // Staff change: the cook leaves, and is a stranger to the merchant from then on.
    let remove = format!("/v1/admin/merchants/{id}/staff/{}/remove", cook.id);
    let page = server
        .act(
            &admin,
            &remove,
            &key(),
            json!({"reason": "left the restaurant"}),
        )
        .await?
        .expect(200);
    assert_eq!(page["staff"].as_array().map(Vec::len), Some(1));
    server
        .act(&admin, &remove, &key(), json!({"reason": "twice"}))
        .await?
        .expect_error(409, "not_on_staff");
    server
        .put(
            &format!("/v1/merchants/{id}/hours"),
            &cook.token,
            lunch_and_dinner(),
        )
        .await?
        .expect_error(404, "merchant_not_found");
    server
        .act(
            &admin,
            &format!("/v1/admin/merchants/{id}/staff"),
            &key(),
            json!({"user_id": cook.id, "reason": "came back"}),
        )
        .await?
        .expect(200);
    server
        .act(
            &admin,
            &format!("/v1/admin/merchants/{id}/staff"),
            &key(),
            json!({"user_id": rider.id, "reason": "a rider"}),
        )
        .await?
        .expect_error(422, "invalid_staff");
    // Only operators act on merchants.
    server
        .act(&rider, &approve, &key(), json!({"reason": "me"}))
        .await?
        .expect_error(403, "forbidden");
    server
        .act(
            &cook,
            "/v1/admin/merchants",
            &key(),
            profile("Mine", BRYANT_PARK),
        )
        .await?
        .expect_error(403, "forbidden");
    server.stop().await
}

pub async fn a_merchants_staff_run_their_own_merchant_and_another_merchants_staff_get_404(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let (id, staff) = server
        .open_merchant(&admin, "Thai Garden", BRYANT_PARK)
        .await?;
    let (other_id, other) = server
        .open_merchant(&admin, "Noodle Bar", GRAND_CENTRAL)
        .await?;
    let path = |rest: &str| format!("/v1/merchants/{id}{rest}");

    // Profile.
    let mut moved = profile("Thai Garden Midtown", TIMES_SQUARE);
    moved["delivery_radius_m"] = json!(3000);
    moved["cuisines"] = json!(["thai"]);
    let updated = server
        .put(&path("/profile"), &staff.token, moved.clone())
        .await?
        .expect(200);
    assert_eq!(updated["name"], "Thai Garden Midtown");
    assert_eq!(
        (
            updated["delivery_radius_m"].as_u64(),
            updated["lat"].as_f64()
        ),
        (Some(3000), Some(TIMES_SQUARE.lat))
    );

    // Pause for 30 minutes: closed to orders until then, open again after.
    let paused = server
        .post(&path("/pause"), &staff.token, json!({"minutes": 30}))
        .await?
        .expect(200);
    assert_eq!(paused["intake"]["paused"], true);
    assert_eq!(paused["open_now"], false);
    assert!(paused["intake"]["paused_until"].is_string());
    let listed = browse(&server, &rider, TIMES_SQUARE).await?;
    let thai = listed
        .iter()
        .find(|m| m["merchant_id"] == id.as_str())
        .ok_or("listed")?;
    assert_eq!(
        (thai["paused"].as_bool(), thai["open_now"].as_bool()),
        (Some(true), Some(false))
    );
    server.clock.advance_secs(30 * 60);
    let page = server
        .get("/v1/merchants/mine", &staff.token)
        .await?
        .expect(200);
    assert_eq!(page["intake"]["paused"], false);
    server
        .post(&path("/pause"), &staff.token, json!({}))
        .await?
        .expect(200);
    server.clock.advance_secs(24 * 3600);
    let page = server
        .get("/v1/merchants/mine", &staff.token)
        .await?
        .expect(200);
    assert_eq!(page["intake"]["paused"], true, "until resumed");
    let resumed = server
        .post_empty(&path("/resume"), &staff.token)
        .await?
        .expect(200);
    assert_eq!(resumed["intake"]["paused"], false);

    // Busy mode adds to every preparation; the cap on open orders.
    let busy = server
        .put(
            &path("/busy"),
            &staff.token,
            json!({"extra_minutes": 20, "for_minutes": 60}),
        )
        .await?
        .expect(200);
    assert_eq!(busy["intake"]["busy_minutes"], 20);
    let seen = server
        .get(&format!("/v1/merchants/{id}"), &rider.token)
        .await?
        .expect(200);
    assert_eq!(
        (seen["prep_minutes"].as_u64(), seen["busy_minutes"].as_u64()),
        (Some(35), Some(20))
    );
    let cleared = server
        .call(Method::DELETE, &path("/busy"), Some(&staff.token), None)
        .await?
        .expect(200);
    assert_eq!(cleared["intake"]["busy_minutes"], 0);
    let capped = server
        .put(
            &path("/max-open-orders"),
            &staff.token,
            json!({"max_open_orders": 8}),
        )
        .await?
        .expect(200);
    assert_eq!(capped["intake"]["max_open_orders"], 8);
    let uncapped = server
        .put(
            &path("/max-open-orders"),
            &staff.token,
            json!({"max_open_orders": null}),
        )
        .await?
        .expect(200);
    assert!(uncapped["intake"]["max_open_orders"].is_null());

    // Another merchant's staff get 404 for every one of these, and leave nothing changed.
    let before = server
        .get("/v1/merchants/mine", &staff.token)
        .await?
        .expect(200);
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::PUT,
            path("/profile"),
            Some(profile("Stolen", GRAND_CENTRAL)),
        ),
        (Method::PUT, path("/hours"), Some(json!({"weekly": {}}))),
        (Method::POST, path("/pause"), Some(json!({}))),
        (Method::POST, path("/resume"), None),
        (
            Method::PUT,
            path("/busy"),
            Some(json!({"extra_minutes": 30})),
        ),
        (Method::DELETE, path("/busy"), None),
        (
            Method::PUT,
            path("/max-open-orders"),
            Some(json!({"max_open_orders": 1})),
        ),
        (Method::GET, path("/menu/export"), None),
        (Method::PUT, path("/menu"), Some(menu_document())),
    ];
    for (method, target, body) in &attempts {
        server
            .call(method.clone(), target, Some(&other.token), body.as_ref())
            .await?
            .expect_error(404, "merchant_not_found");
        // A rider may not call staff routes at all.
        server
            .call(method.clone(), target, Some(&rider.token), body.as_ref())
            .await?
            .expect_error(403, "forbidden");
    }
    let after = server
        .get("/v1/merchants/mine", &staff.token)
        .await?
        .expect(200);
    assert_eq!(before, after);
    let theirs = server
        .get("/v1/merchants/mine", &other.token)
        .await?
        .expect(200);
    assert_eq!(theirs["merchant_id"], other_id.as_str());
    server.stop().await
}

pub async fn customers_browse_merchants_that_deliver_to_their_address_open_ones_first(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let driver = server.signup("driver").await?;
    let (_, bryant) = server.open_merchant(&admin, "Bryant", BRYANT_PARK).await?;
    let (grand_id, grand) = server.open_merchant(&admin, "Grand", GRAND_CENTRAL).await?;
    let (_, _union) = server.open_merchant(&admin, "Union", UNION_SQUARE).await?;
    let (evening_id, evening) = server
        .open_merchant(&admin, "Evening", TIMES_SQUARE)
        .await?;
    // Evening opens at 17:00 (it is 14:00); Grand is busy; Bryant has a small radius.
    let day = json!([{"open": "17:00", "close": "01:00"}]);
    server
        .put(
            &format!("/v1/merchants/{evening_id}/hours"),
            &evening.token,
            json!({"weekly": {"wednesday": day, "thursday": day}}),
        )
        .await?
        .expect(200);
    server
        .put(
            &format!("/v1/merchants/{grand_id}/busy"),
            &grand.token,
            json!({"extra_minutes": 25}),
        )
        .await?
        .expect(200);
    let mut small = profile("Bryant", BRYANT_PARK);
    small["delivery_radius_m"] = json!(300);
    let mine = server
        .get("/v1/merchants/mine", &bryant.token)
        .await?
        .expect(200);
    let bryant_id = field(&mine, "merchant_id")?;
    server
        .put(
            &format!("/v1/merchants/{bryant_id}/profile"),
            &bryant.token,
            small,
        )
        .await?
        .expect(200);

    // From Times Square: Grand (open, 900 m) before Evening (closed, next at 17:00); Union is 2.6 km
    // away (beyond its 1.5 km) and Bryant's 300 m do not reach.
    for who in [&rider, &driver] {
        let listed = browse(&server, who, TIMES_SQUARE).await?;
        assert_eq!(names(&listed), ["Grand", "Evening"]);
        assert_eq!(listed[0]["open_now"], true);
        assert_eq!(
            (
                listed[0]["busy_minutes"].as_u64(),
                listed[0]["prep_minutes"].as_u64()
            ),
            (Some(25), Some(40))
        );
        let distance = listed[0]["distance_m"].as_u64().ok_or("distance")?;
        assert!((700..1000).contains(&distance), "{distance}");
        assert_eq!(listed[1]["open_now"], false);
        assert_eq!(listed[1]["next_opening"], "2026-11-25T22:00:00.000Z");
        assert_eq!(listed[1]["distance_m"], 0);
    }
    // From Bryant Park itself: Bryant (0 m) and Grand and Evening.
    let listed = browse(&server, &rider, BRYANT_PARK).await?;
    assert_eq!(names(&listed), ["Bryant", "Grand", "Evening"]);
    // At 17:00 Evening is open, and nearest.
    server.clock.advance_secs(3 * 3600);
    let listed = browse(&server, &rider, TIMES_SQUARE).await?;
    assert_eq!(names(&listed), ["Evening", "Grand"]);
    // An address on the water or outside the area is refused.
    for (place, code) in [
        (HUDSON, "in_water"),
        (PROSPECT_PARK, "outside_service_area"),
    ] {
        server
            .get(
                &format!("/v1/merchants?lat={}&lng={}", place.lat, place.lng),
                &rider.token,
            )
            .await?
            .expect_error(422, code);
    }
    server.stop().await
}

pub async fn a_menu_export_imports_back_unchanged_and_a_bad_import_names_the_bad_field(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let (id, staff) = server
        .open_merchant(&admin, "Thai Garden", BRYANT_PARK)
        .await?;
    let (other_id, other) = server
        .open_merchant(&admin, "Noodle Bar", GRAND_CENTRAL)
        .await?;
    let menu = format!("/v1/merchants/{id}/menu");

    let imported = server
        .put(&menu, &staff.token, menu_document())
        .await?
        .expect(200);
    assert_eq!(imported["version"], 1);
    let pad_thai = &imported["categories"][0]["items"][0];
    assert!(
        pad_thai["id"].is_string() && pad_thai["option_groups"][1]["options"][1]["id"].is_string()
    );
    // The export imports back as it is: same ids, one version more.
    let exported = server
        .get(&format!("{menu}/export"), &staff.token)
        .await?
        .expect(200);
    assert_eq!(exported, imported);
    let again = server
        .put(&menu, &staff.token, exported.clone())
        .await?
        .expect(200);
    assert_eq!(again["version"], 2);
    let unversioned = |v: &Value| {
        let mut v = v.clone();
        v["version"] = Value::Null;
        v
    };
    assert_eq!(unversioned(&again), unversioned(&exported));
    // An import from an export of an older version is refused: someone changed the menu since.
    server
        .put(&menu, &staff.token, exported)
        .await?
        .expect_error(409, "menu_changed");

    // A bad import names every bad field and changes nothing.
    let mut bad = menu_document();
    bad["categories"][0]["items"][1]["price"] = json!(-5);
    bad["categories"][0]["items"][0]["option_groups"][0]["max"] = json!(3);
    bad["categories"][0]["items"][0]["option_groups"][1]["options"][0]["name"] = json!(" ");
    let refused = server.put(&menu, &staff.token, bad).await?;
    refused.expect_error(422, "invalid_menu");
    let message = refused.body["message"].as_str().unwrap_or_default();
    for path in [
        "categories[0].items[1].price",
        "categories[0].items[0].option_groups[0].max",
        "categories[0].items[0].option_groups[1].options[0].name",
    ] {
        assert!(message.contains(path), "{path} in {message}");
    }
    let now = server
        .get(&format!("{menu}/export"), &staff.token)
        .await?
        .expect(200);
    assert_eq!(now["version"], 2);

    // What customers see: money, what can be ordered at 14:00 (not the breakfast burrito).
    let seen = server.get(&menu, &rider.token).await?.expect(200);
    assert_eq!(seen["merchant"]["name"], "Thai Garden");
    let items = &seen["categories"][0]["items"];
    assert_eq!(
        items[0]["price"],
        json!({"amount": 1450, "currency": "USD"})
    );
    assert_eq!(items[0]["option_groups"][0]["required"], true);
    assert_eq!(
        items[0]["option_groups"][0]["options"][1]["price_delta"]["amount"],
        300
    );
    assert_eq!(
        (
            items[0]["available_now"].as_bool(),
            items[1]["available_now"].as_bool()
        ),
        (Some(true), Some(false))
    );

    // Sold out, and back; an item of another merchant's menu is not found here.
    let item = field(&items[0], "item_id")?;
    let sold_out = format!("{menu}/items/{item}/sold-out");
    let done = server
        .put(&sold_out, &staff.token, json!({"sold_out": true}))
        .await?
        .expect(200);
    assert_eq!(
        (done["sold_out"].as_bool(), done["version"].as_i64()),
        (Some(true), Some(3))
    );
    let seen = server.get(&menu, &rider.token).await?.expect(200);
    assert_eq!(seen["categories"][0]["items"][0]["sold_out"], true);
    assert_eq!(seen["categories"][0]["items"][0]["available_now"], false);
    server
        .put(&sold_out, &staff.token, json!({"sold_out": false}))
        .await?
        .expect(200);
    server
        .put(
            &format!("/v1/merchants/{other_id}/menu"),
            &other.token,
            menu_document(),
        )
        .await?
        .expect(200);
    let theirs = server
        .get(&format!("/v1/merchants/{other_id}/menu"), &rider.token)
        .await?
        .expect(200);
    let their_item = field(&theirs["categories"][0]["items"][0], "item_id")?;
    assert_ne!(
        their_item, item,
        "the same document gives each merchant its own ids"
    );
    server
        .put(
            &format!("{menu}/items/{their_item}/sold-out"),
            &staff.token,
            json!({"sold_out": true}),
        )
        .await?
        .expect_error(404, "item_not_found");
    server
        .put(
            &format!("/v1/merchants/{other_id}/menu/items/{their_item}/sold-out"),
            &staff.token,
            json!({"sold_out": true}),
        )
        .await?
        .expect_error(404, "merchant_not_found");
    server.stop().await
}

pub async fn every_bad_merchant_input_is_a_4xx_with_its_code(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let (id, staff) = server
        .open_merchant(&admin, "Thai Garden", BRYANT_PARK)
        .await?;
    let taken = server.signup("merchant").await?;
    server
        .create_merchant(&admin, "Other", GRAND_CENTRAL, &[&taken])
        .await?;

    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = profile("New Place", TIMES_SQUARE);
        body["reason"] = json!("a new restaurant");
        change(&mut body);
        body
    };
    let creations: Vec<(Value, u16, &str)> = vec![
        (
            with(&|b| {
                b["lat"] = json!(HUDSON.lat);
                b["lng"] = json!(HUDSON.lng);
            }),
            422,
            "in_water",
        ),
        (
            with(&|b| {
                b["lat"] = json!(PROSPECT_PARK.lat);
                b["lng"] = json!(PROSPECT_PARK.lng);
            }),
            422,
            "outside_service_area",
        ),
        (
            with(&|b| b["lat"] = json!(95.0)),
            422,
            "invalid_coordinates",
        ),
        (
            with(&|b| b["name"] = json!("Thai\u{202e}Garden")),
            422,
            "invalid_characters",
        ),
        (with(&|b| b["name"] = json!("  ")), 422, "invalid_name"),
        (with(&|b| b["address"] = json!("")), 422, "invalid_address"),
        (
            with(&|b| b["cuisines"] = json!(["Thai"])),
            422,
            "invalid_cuisine",
        ),
        (
            with(&|b| b["cuisines"] = json!(["a", "b", "c", "d", "e", "f", "g", "h", "i"])),
            422,
            "too_many_cuisines",
        ),
        (
            with(&|b| b["delivery_radius_m"] = json!(50)),
            422,
            "invalid_radius",
        ),
        (
            with(&|b| b["prep_minutes"] = json!(0)),
            422,
            "invalid_prep_time",
        ),
        (
            with(&|b| b["prep_minutes"] = json!(-3)),
            422,
            "invalid_body",
        ),
        (
            with(&|b| b["staff"] = json!([rider.id])),
            422,
            "invalid_staff",
        ),
        (
            with(&|b| b["staff"] = json!([uuid::Uuid::new_v4()])),
            422,
            "invalid_staff",
        ),
        (
            with(&|b| b["staff"] = json!([taken.id])),
            409,
            "staff_taken",
        ),
        (
            with(&|b| {
                b["new_staff"] = json!({"email": "not-an-email", "name": "A", "password": "correct horse battery"})
            }),
            422,
            "invalid_email",
        ),
        (
            with(&|b| {
                b["new_staff"] = json!({"email": "a@b.example", "name": "A", "password": "short"})
            }),
            422,
            "weak_password",
        ),
        (with(&|b| b["reason"] = json!("")), 422, "invalid_reason"),
    ];
    let before = server
        .get("/v1/admin/merchants", &admin.token)
        .await?
        .expect(200);
    for (body, status, code) in creations {
        let reply = server
            .act(&admin, "/v1/admin/merchants", &key(), body.clone())
            .await?;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            reply.body
        );
    }
    // None of them created anything.
    assert_eq!(
        server
            .get("/v1/admin/merchants", &admin.token)
            .await?
            .expect(200),
        before
    );
    server
        .call(
            Method::POST,
            "/v1/admin/merchants",
            Some(&admin.token),
            Some(&with(&|_| {})),
        )
        .await?
        .expect_error(422, "idempotency_key_required");

    let path = |rest: &str| format!("/v1/merchants/{id}{rest}");
    let day = |open: &str, close: &str| json!([{"open": open, "close": close}]);
    let far = crate::server::WEDNESDAY_2PM.plus_secs(400 * 86_400);
    let far_date = doorstep_api::dto::rfc3339(far)[..10].to_owned();
    let staff_cases: Vec<(Method, String, Value, u16, &str)> = vec![
        (
            Method::PUT,
            path("/hours"),
            json!({"weekly": {"monday": day("25:00", "22:00")}}),
            422,
            "invalid_hours",
        ),
        (
            Method::PUT,
            path("/hours"),
            json!({"weekly": {"monday": day("10:00", "10:00")}}),
            422,
            "invalid_hours",
        ),
        (
            Method::PUT,
            path("/hours"),
            json!({"weekly": {"monday": [{"open": "10:00", "close": "14:00"}, {"open": "13:00", "close": "22:00"}]}}),
            422,
            "invalid_hours",
        ),
        (
            Method::PUT,
            path("/hours"),
            json!({"weekly": {}, "exceptions": [{"date": "2026-02-30", "ranges": []}]}),
            422,
            "invalid_hours",
        ),
        (
            Method::PUT,
            path("/hours"),
            json!({"weekly": {}, "exceptions": [{"date": "2026-12-25"}, {"date": "2026-12-25"}]}),
            422,
            "invalid_hours",
        ),
        (
            Method::PUT,
            path("/hours"),
            json!({"weekly": {}, "exceptions": [{"date": far_date}]}),
            422,
            "invalid_exception_date",
        ),
        (
            Method::POST,
            path("/pause"),
            json!({"minutes": 0}),
            422,
            "invalid_pause_minutes",
        ),
        (
            Method::POST,
            path("/pause"),
            json!({"minutes": 2000}),
            422,
            "invalid_pause_minutes",
        ),
        (
            Method::PUT,
            path("/busy"),
            json!({"extra_minutes": 0}),
            422,
            "invalid_busy_minutes",
        ),
        (
            Method::PUT,
            path("/busy"),
            json!({"extra_minutes": 10, "for_minutes": 0}),
            422,
            "invalid_busy_minutes",
        ),
        (
            Method::PUT,
            path("/max-open-orders"),
            json!({"max_open_orders": 0}),
            422,
            "invalid_max_open_orders",
        ),
        (
            Method::PUT,
            path("/max-open-orders"),
            json!({"max_open_orders": -1}),
            422,
            "invalid_body",
        ),
        (
            Method::PUT,
            path("/profile"),
            profile("Wet", HUDSON),
            422,
            "in_water",
        ),
        (
            Method::PUT,
            path("/menu"),
            json!({"currency": "EUR", "categories": []}),
            422,
            "invalid_menu",
        ),
        (
            Method::PUT,
            path("/menu"),
            json!({"currency": "usd", "categories": []}),
            422,
            "invalid_menu",
        ),
        (
            Method::PUT,
            path("/menu"),
            json!({"categories": []}),
            422,
            "invalid_body",
        ),
        (
            Method::PUT,
            "/v1/merchants/not-a-uuid/hours".to_owned(),
            lunch_and_dinner(),
            404,
            "merchant_not_found",
        ),
        (
            Method::PUT,
            path("/menu/items/not-a-uuid/sold-out"),
            json!({"sold_out": true}),
            404,
            "item_not_found",
        ),
    ];
    let mine = server
        .get("/v1/merchants/mine", &staff.token)
        .await?
        .expect(200);
    for (method, target, body, status, code) in staff_cases {
        let reply = server
            .call(method.clone(), &target, Some(&staff.token), Some(&body))
            .await?;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (status, Some(code)),
            "{method} {target} {body}: {}",
            reply.body
        );
    }
    assert_eq!(
        server
            .get("/v1/merchants/mine", &staff.token)
            .await?
            .expect(200),
        mine
    );

    // The menu import's own body checks: JSON only, well formed, at most 1 MiB.
    let send = |content_type: &'static str, body: Vec<u8>| {
        server
            .http
            .put(server.url(&path("/menu")))
            .bearer_auth(&staff.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let reply = TestServer::reply(send("text/plain", b"{}".to_vec()).await?).await?;
    reply.expect_error(415, "unsupported_media_type");
    let reply =
        TestServer::reply(send("application/json", b"{\"currency\":".to_vec()).await?).await?;
    reply.expect_error(400, "malformed_json");
    let big = vec![b' '; doorstep_api::routes::merchants::MENU_IMPORT_MAX_BYTES + 1];
    let reply = TestServer::reply(send("application/json", big).await?).await?;
    reply.expect_error(413, "payload_too_large");
    // A large menu within the limit (more than the 64 KiB of other bodies) is taken.
    let mut large = menu_document();
    let items: Vec<Value> = (0..150)
        .map(|i| json!({"name": format!("Dish {i}"), "description": "x".repeat(600), "price": 1000 + i}))
        .collect();
    large["categories"][0]["items"] = json!(items);
    let text = serde_json::to_vec(&large)?;
    assert!(text.len() > doorstep_api::MAX_BODY_BYTES, "{}", text.len());
    let reply = TestServer::reply(send("application/json", text).await?).await?;
    assert_eq!(
        reply.expect(200)["categories"][0]["items"]
            .as_array()
            .map(Vec::len),
        Some(150)
    );
    server.stop().await
}
