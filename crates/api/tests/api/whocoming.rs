//! Who is coming, chat, and telling the truth early (issue 10, items 3 and 4): a driver's vehicle, the
//! driver card the ride's rider sees from assignment on (and nobody else), messages between rider and
//! driver over the event stream, the likely wait in a quote, an early end when no driver can reach the
//! pickup, and `no_driver_available` reasons that say what happened.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::EventStream;
use crate::places::{BRYANT_PARK, Place, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, TestServer, field, let_dispatch_run};
use reqwest::Method;
use serde_json::{Value, json};

/// Far up Manhattan: more than the dispatcher's 5 km from Midtown.
const INWOOD: Place = Place {
    lat: 40.8677,
    lng: -73.9212,
};

async fn put_vehicle(
    server: &TestServer,
    driver: &Account,
    body: Value,
) -> TestResult<crate::server::Reply> {
    server
        .call(
            Method::PUT,
            "/v1/drivers/me/vehicle",
            Some(&driver.token),
            Some(&body),
        )
        .await
}

fn prius(plate: &str) -> Value {
    json!({"make": "Toyota", "model": "Prius", "colour": "Blue", "plate": plate})
}

pub async fn a_driver_registers_a_vehicle_with_checked_fields_and_an_upper_case_plate(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let driver = server.signup("driver").await?;
    let rider = server.signup("rider").await?;
    server
        .get("/v1/drivers/me/vehicle", &driver.token)
        .await?
        .expect_error(404, "vehicle_not_found");
    for (body, code) in [
        (prius(""), "invalid_plate"),
        (prius("AB_12"), "invalid_plate"),
        (prius(" AB12"), "invalid_plate"),
        (prius("ABCDEFGHIJK"), "invalid_plate"),
        (
            json!({"make": "  ", "model": "Prius", "colour": "Blue", "plate": "X1"}),
            "invalid_make",
        ),
        (
            json!({"make": "Toyota", "model": "m".repeat(41), "colour": "Blue", "plate": "X1"}),
            "invalid_model",
        ),
        (
            json!({"make": "Toyota", "model": "Prius", "colour": "Bl\u{202e}ue", "plate": "X1"}),
            "invalid_colour",
        ),
    ] {
        put_vehicle(&server, &driver, body.clone())
            .await?
            .expect_error(422, code);
    }
    // Nothing was kept.
    server
        .get("/v1/drivers/me/vehicle", &driver.token)
        .await?
        .expect_error(404, "vehicle_not_found");

    let saved = put_vehicle(&server, &driver, prius("t12  4567c"))
        .await?
        .expect(200);
    assert_eq!(saved["plate"], "T12 4567C");
    assert_eq!(saved["make"], "Toyota");
    let read = server
        .get("/v1/drivers/me/vehicle", &driver.token)
        .await?
        .expect(200);
    assert_eq!(read, saved);
    // Editable later.
    let edited = put_vehicle(
        &server,
        &driver,
        json!({"make": " Honda ", "model": "Civic", "colour": "Red", "plate": "ny-42"}),
    )
    .await?
    .expect(200);
    assert_eq!(edited["make"], "Honda");
    assert_eq!(edited["plate"], "NY-42");
    // Riders have no vehicle to register.
    put_vehicle(&server, &rider, prius("X1"))
        .await?
        .expect_error(403, "forbidden");
    server.stop().await
}

pub async fn the_rider_sees_who_is_coming_from_assignment_on_and_nobody_else_does(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let stranger = server.signup("rider").await?;
    let admin = server.admin().await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    put_vehicle(&server, &driver, prius("T123 4567C"))
        .await?
        .expect(200);

    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    assert!(ride["driver"].is_null(), "{ride}");
    assert!(server.ride(&rider, &ride_id).await?["driver"].is_null());
    let offer = server.wait_for_offer(&driver, &ride_id).await?;
    server.accept(&driver, &offer).await?;

    let seen = server.ride(&rider, &ride_id).await?;
    let card = &seen["driver"];
    assert_eq!(card["driver"], driver.id.as_str(), "{seen}");
    assert!(card["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(card["initials"].as_str().is_some_and(|i| !i.is_empty()));
    assert_eq!(card["vehicle"]["make"], "Toyota");
    assert_eq!(card["vehicle"]["model"], "Prius");
    assert_eq!(card["vehicle"]["colour"], "Blue");
    assert_eq!(card["vehicle"]["plate"], "T123 4567C");
    assert!(card["rating"].is_null(), "no ratings yet: {card}");
    // The driver and operators see it too; another rider does not see the ride at all.
    assert_eq!(
        server.ride(&driver, &ride_id).await?["driver"]["vehicle"]["plate"],
        "T123 4567C"
    );
    assert_eq!(
        server.ride(&admin, &ride_id).await?["driver"]["driver"],
        driver.id.as_str()
    );
    server
        .get(&format!("/v1/rides/{ride_id}"), &stranger.token)
        .await?
        .expect_error(404, "ride_not_found");
    // The driver_assigned event carries the card.
    let timeline = server.timeline(&rider, &ride_id).await?;
    let assigned = timeline
        .iter()
        .find(|e| e["type"] == "driver_assigned")
        .ok_or("a driver_assigned event")?;
    assert_eq!(assigned["driver_card"]["vehicle"]["plate"], "T123 4567C");
    assert_eq!(assigned["driver_card"]["name"], card["name"]);

    // After the trip: a receipt's card, without the rating.
    let assigned_view = server.ride(&rider, &ride_id).await?;
    server
        .drive_to_completion(&driver, &assigned_view, 600)
        .await?;
    server
        .post(
            &format!("/v1/rides/{ride_id}/rating"),
            &rider.token,
            json!({"stars": 4, "comment": ""}),
        )
        .await?
        .expect(201);
    let receipt = server.ride(&rider, &ride_id).await?;
    assert_eq!(receipt["driver"]["vehicle"]["plate"], "T123 4567C");
    assert!(receipt["driver"]["rating"].is_null(), "{receipt}");

    // The next rider sees the rating the driver received.
    let next = server.signup("rider").await?;
    server.clock.advance_secs(900);
    server.report_position(&driver, BRYANT_PARK).await?;
    let second = server
        .assigned_ride(&next, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let second = server.ride(&next, &field(&second, "ride_id")?).await?;
    assert_eq!(second["driver"]["rating"]["count"], 1, "{second}");
    assert_eq!(second["driver"]["rating"]["average"], 4.0);
    server.stop().await
}

pub async fn rider_and_driver_chat_over_the_event_stream_while_the_ride_is_open(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let stranger = server.signup("rider").await?;
    let admin = server.admin().await?;

    // Before a driver is assigned there is nobody to talk to.
    let waiting = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let waiting_id = field(&waiting, "ride_id")?;
    server
        .post(
            &format!("/v1/rides/{waiting_id}/messages"),
            &rider.token,
            json!({"text": "hello?"}),
        )
        .await?
        .expect_error(409, "no_driver_yet");
    server
        .post_empty(&format!("/v1/rides/{waiting_id}/cancel"), &rider.token)
        .await?
        .expect(200);

    let driver = server.driver_at(BRYANT_PARK).await?;
    let other_driver = server.signup("driver").await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    let path = format!("/v1/rides/{ride_id}/messages");
    let mut rider_stream = EventStream::open(&server, &rider.token, None).await?;
    let mut driver_stream = EventStream::open(&server, &driver.token, None).await?;

    // Rider to driver.
    let sent = server
        .post(
            &path,
            &rider.token,
            json!({"text": "  I'm by the red awning  "}),
        )
        .await?
        .expect(201);
    assert_eq!(sent["text"], "I'm by the red awning");
    assert_eq!(sent["sender"], "customer");
    assert_eq!(sent["from"], rider.id.as_str());
    let got = driver_stream.events_until("message_sent").await?;
    let got = got.last().ok_or("an event")?;
    assert_eq!(got["text"], "I'm by the red awning");
    assert_eq!(got["message_id"], sent["message_id"]);
    assert_eq!(got["ride_id"], ride_id.as_str());
    assert_eq!(got["v"], 1);

    // Driver to rider, sent twice with one idempotency key: one message.
    let reply = |key: &'static str| {
        let server = &server;
        let driver = &driver;
        let path = path.clone();
        async move {
            let request = server
                .http
                .post(server.url(&path))
                .bearer_auth(&driver.token)
                .header("Idempotency-Key", key)
                .json(&json!({"text": "Two minutes away"}));
            TestServer::reply(request.send().await?).await
        }
    };
    let first = reply("reply-1").await?.expect(201);
    let again = reply("reply-1").await?.expect(200);
    assert_eq!(first["message_id"], again["message_id"]);
    assert_eq!(first["sender"], "worker");
    // The rider's stream has the rider's own message first (both parties receive every message).
    let own = rider_stream.events_until("message_sent").await?;
    assert_eq!(own.last().map(|e| e["from"].clone()), Some(json!(rider.id)));
    let got = rider_stream.events_until("message_sent").await?;
    let got = got.last().ok_or("an event")?;
    assert_eq!(got["text"], "Two minutes away");
    assert_eq!(got["from"], driver.id.as_str());

    // Read back in order by both parties and an operator; nobody else.
    for who in [&rider, &driver, &admin] {
        let list = server.get(&path, &who.token).await?.expect(200);
        let texts: Vec<&str> = list["messages"]
            .as_array()
            .ok_or("messages")?
            .iter()
            .filter_map(|m| m["text"].as_str())
            .collect();
        assert_eq!(texts, ["I'm by the red awning", "Two minutes away"]);
    }
    for who in [&stranger, &other_driver] {
        server
            .get(&path, &who.token)
            .await?
            .expect_error(404, "ride_not_found");
        server
            .post(&path, &who.token, json!({"text": "hi"}))
            .await?
            .expect_error(404, "ride_not_found");
    }
    server
        .post(&path, &admin.token, json!({"text": "operator here"}))
        .await?
        .expect_error(403, "forbidden");
    for bad in [
        json!({"text": ""}),
        json!({"text": "   "}),
        json!({"text": "x".repeat(501)}),
        json!({"text": "a\u{202e}b"}),
    ] {
        server
            .post(&path, &rider.token, bad)
            .await?
            .expect_error(422, "invalid_text");
    }
    server
        .post(&path, &rider.token, json!({"text": "x".repeat(500)}))
        .await?
        .expect(201);

    // Once the ride is over, nobody sends; the record stays readable for disputes.
    server.drive_to_completion(&driver, &assigned, 600).await?;
    server
        .post(&path, &rider.token, json!({"text": "thanks!"}))
        .await?
        .expect_error(409, "ride_closed");
    server
        .post(&path, &driver.token, json!({"text": "bye"}))
        .await?
        .expect_error(409, "ride_closed");
    let list = server.get(&path, &admin.token).await?.expect(200);
    assert_eq!(list["messages"].as_array().map(Vec::len), Some(3));
    rider_stream.close().await?;
    driver_stream.close().await?;
    server.stop().await
}

pub async fn a_sender_is_rate_limited_after_a_burst_of_messages(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let path = format!("/v1/rides/{}/messages", field(&assigned, "ride_id")?);
    let mut statuses = Vec::new();
    for i in 0..15 {
        let reply = server
            .post(&path, &rider.token, json!({"text": format!("ping {i}")}))
            .await?;
        statuses.push(reply.status);
    }
    assert!(statuses.iter().take(5).all(|s| *s == 201), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    // The driver's allowance is their own.
    server
        .post(&path, &driver.token, json!({"text": "ok"}))
        .await?
        .expect(201);
    server.stop().await
}

pub async fn a_quote_says_how_far_the_nearest_car_is_or_that_none_is_near(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let lonely = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    assert!(lonely["pickup_eta_s"].is_null(), "{lonely}");
    assert_eq!(lonely["drivers_nearby"], 0);
    assert_eq!(lonely["no_eta_reason"], "no_drivers_nearby");

    let _near = server.driver_at(BRYANT_PARK).await?;
    let _far = server.driver_at(INWOOD).await?;
    let quoted = server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let eta = quoted["pickup_eta_s"].as_u64().ok_or("an eta")?;
    // Bryant Park is a few blocks from Times Square: a minute or two, not ten.
    assert!((1..600).contains(&eta), "{quoted}");
    assert_eq!(
        quoted["drivers_nearby"], 1,
        "Inwood is out of reach: {quoted}"
    );
    assert!(quoted["no_eta_reason"].is_null());
    server.stop().await
}

pub async fn a_ride_no_driver_can_reach_ends_early_as_no_drivers_nearby(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let _far = server.driver_at(INWOOD).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let grace = server.app.config().no_driver_grace_secs;
    let_dispatch_run().await;
    server.clock.advance_secs(grace - 1);
    let_dispatch_run().await;
    assert_eq!(server.ride(&rider, &ride_id).await?["state"], "requested");
    server.clock.advance_secs(2);
    let ended = server
        .wait_for_state(&rider, &ride_id, "no_driver_available")
        .await?;
    assert_eq!(ended["no_driver_reason"], "no_drivers_nearby");
    let timeline = server.timeline(&rider, &ride_id).await?;
    assert_eq!(
        timeline.last().map(|e| e["reason"].clone()),
        Some(json!("no_drivers_nearby"))
    );
    server.stop().await
}

/// A ride for a new rider at Times Square that `driver` (alone near it) is offered.
async fn offered(server: &TestServer, driver: &Account) -> TestResult<(Account, String, Value)> {
    let rider = server.signup("rider").await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let offer = server.wait_for_offer(driver, &ride_id).await?;
    Ok((rider, ride_id, offer))
}

/// Lets the grace for unreachable rides pass, and waits for the ride to end.
async fn ends_with(
    server: &TestServer,
    rider: &Account,
    ride_id: &str,
    reason: &str,
) -> TestResult {
    let_dispatch_run().await;
    server
        .clock
        .advance_secs(server.app.config().no_driver_grace_secs + 1);
    let ended = server
        .wait_for_state(rider, ride_id, "no_driver_available")
        .await?;
    assert_eq!(ended["no_driver_reason"], reason, "{ended}");
    let timeline = server.timeline(rider, ride_id).await?;
    assert_eq!(
        timeline.last().map(|e| e["reason"].clone()),
        Some(json!(reason))
    );
    Ok(())
}

pub async fn no_driver_reasons_say_whether_offers_were_declined_or_expired_or_the_driver_cancelled(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;

    // Declined by the only driver near.
    let driver = server.driver_at(BRYANT_PARK).await?;
    let (rider, ride_id, offer) = offered(&server, &driver).await?;
    server
        .post_empty(
            &format!("/v1/offers/{}/decline", field(&offer, "offer_id")?),
            &driver.token,
        )
        .await?
        .expect(200);
    ends_with(&server, &rider, &ride_id, "all_offers_declined").await?;
    server
        .post_empty("/v1/drivers/me/offline", &driver.token)
        .await?
        .expect(200);

    // Not answered by the only driver near.
    let driver = server.driver_at(BRYANT_PARK).await?;
    let (rider, ride_id, _offer) = offered(&server, &driver).await?;
    server
        .clock
        .advance_secs(server.app.config().offer_timeout_secs + 1);
    // The dispatcher records the expiry at its next tick and finds nobody else near.
    let_dispatch_run().await;
    server.report_position(&driver, BRYANT_PARK).await?;
    ends_with(&server, &rider, &ride_id, "offers_expired").await?;
    server
        .post_empty("/v1/drivers/me/offline", &driver.token)
        .await?
        .expect(200);

    // Accepted, then cancelled by the driver: the rider is told, and nobody else is near.
    let driver = server.driver_at(BRYANT_PARK).await?;
    let (rider, ride_id, offer) = offered(&server, &driver).await?;
    server.accept(&driver, &offer).await?;
    let mut rider_stream = EventStream::open(&server, &rider.token, None).await?;
    let back = server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &driver.token)
        .await?
        .expect(200);
    assert_eq!(back["state"], "requested");
    let told = rider_stream.events_until("driver_cancelled").await?;
    assert_eq!(
        told.last().map(|e| e["driver"].clone()),
        Some(json!(driver.id))
    );
    ends_with(&server, &rider, &ride_id, "driver_cancelled_no_replacement").await?;
    rider_stream.close().await?;
    server.stop().await
}
