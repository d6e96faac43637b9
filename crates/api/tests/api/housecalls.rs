//! House calls: slots offered only where the provider can really get to and from the visit, booking
//! (idempotent, one winner for the last slot), holds, cancellation fees, reschedules, and every bad input
//! a 4xx with its code.
//!
//! The clock stands on Wednesday 2026-11-25 at 14:00 in New York; visits are booked on Thursday the
//! 26th, when the providers here work 09:00–17:00.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, MET_MUSEUM, Place, TIMES_SQUARE, WASHINGTON_SQUARE};
use crate::server::{Account, TestServer, field, usd};
use doorstep_domain::housecall::HcService;
use doorstep_domain::{Currency, Money, ServiceId};
use serde_json::{Value, json};

/// Thursday 2026-11-26 at `hh:mm` New York time (EST, UTC−5), as RFC 3339.
pub fn thursday(hh: u32, mm: u32) -> String {
    format!("2026-11-26T{:02}:{mm:02}:00.000Z", hh + 5)
}

/// A 60-minute service at 80.00 in the catalogue; its id.
pub async fn massage(server: &TestServer) -> TestResult<String> {
    let id = ServiceId::from_uuid(uuid::Uuid::now_v7());
    let service = HcService {
        id,
        name: "Swedish massage, 60 min".into(),
        description: "A full-body massage at home".into(),
        duration_min: 60,
        prep_min: 0,
        price: Money::new(8000, Currency::parse("USD")?),
        active: true,
    };
    server
        .app
        .store()
        .put_hc_service(&service, server.clock.now())
        .await?;
    Ok(id.to_string())
}

/// An approved provider living at `home` who offers `service` within `area_m`, working 09:00–17:00
/// every day, at most `cap` visits a day.
pub async fn provider(
    server: &TestServer,
    service: &str,
    home: Place,
    area_m: u32,
    cap: u32,
) -> TestResult<Account> {
    let provider = server.signup("provider").await?;
    let day = json!([{"open": "09:00", "close": "17:00"}]);
    server
        .put(
            "/v1/providers/me",
            &provider.token,
            json!({
                "bio": "Ten years of practice",
                "home": {"lat": home.lat, "lng": home.lng},
                "area_m": area_m,
                "daily_cap": cap,
                "service_ids": [service],
                "hours": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                          "friday": day, "saturday": day, "sunday": day},
            }),
        )
        .await?
        .expect(200);
    server
        .app
        .store()
        .set_provider_approval(
            provider.id.parse()?,
            doorstep_domain::onboarding::Approval::Approved,
            server.clock.now(),
        )
        .await?;
    Ok(provider)
}

/// The starts offered for `service` at `place` on Thursday (optionally with `provider` only).
async fn starts(
    server: &TestServer,
    who: &Account,
    service: &str,
    place: Place,
    provider: Option<&Account>,
) -> TestResult<Vec<String>> {
    let mut path = format!(
        "/v1/house-calls/availability?service_id={service}&lat={}&lng={}&from=2026-11-26&to=2026-11-26",
        place.lat, place.lng
    );
    if let Some(p) = provider {
        path.push_str(&format!("&provider_id={}", p.id));
    }
    let reply = server.get(&path, &who.token).await?.expect(200);
    Ok(reply["slots"]
        .as_array()
        .ok_or("slots")?
        .iter()
        .filter_map(|s| s["start"].as_str().map(str::to_owned))
        .collect())
}

pub fn book_body(service: &str, place: Place, start: &str) -> Value {
    json!({
        "service_id": service,
        "location": {"lat": place.lat, "lng": place.lng},
        "address": "1 Test Street",
        "start": start,
    })
}

/// Books `start` for `customer` with a fresh idempotency key; the reply.
pub async fn book(
    server: &TestServer,
    customer: &Account,
    body: Value,
) -> TestResult<crate::server::Reply> {
    let key = uuid::Uuid::new_v4().to_string();
    server
        .call_with_key("/v1/house-calls/bookings", &customer.token, &key, body)
        .await
}

impl TestServer {
    /// `POST path` with an `Idempotency-Key`.
    pub async fn call_with_key(
        &self,
        path: &str,
        token: &str,
        key: &str,
        body: Value,
    ) -> TestResult<crate::server::Reply> {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await?;
        TestServer::reply(response).await
    }
}

/// A confirmed booking of a customer with a provider: `(customer, provider, booking id)` (the
/// authorization matrix's `booking_id`).
pub async fn booked_house_call(server: &TestServer) -> TestResult<(Account, Account, String)> {
    let service = massage(server).await?;
    let provider = provider(server, &service, BRYANT_PARK, 8000, 8).await?;
    let customer = server.customer_with_card().await?;
    let booked = book(
        server,
        &customer,
        book_body(&service, TIMES_SQUARE, &thursday(10, 0)),
    )
    .await?
    .expect(201);
    Ok((customer, provider, field(&booked, "id")?))
}

pub async fn only_slots_the_provider_can_reach_from_the_visit_before_are_offered_and_a_booking_is_on_their_day(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let (a, b) = (
        server.customer_with_card().await?,
        server.customer_with_card().await?,
    );

    // An empty day: every quarter hour from 09:15 (the drive from home) to 16:00 or so.
    let free = starts(&server, &a, &service, MET_MUSEUM, None).await?;
    assert!(
        !free.contains(&thursday(9, 0)),
        "no time to drive from home: {free:?}"
    );
    assert!(
        free.contains(&thursday(10, 0)) && free.contains(&thursday(14, 0)),
        "{free:?}"
    );
    assert!(
        !free.contains(&thursday(16, 45)),
        "ends after 17:00: {free:?}"
    );

    let booked = book(
        &server,
        &a,
        book_body(&service, MET_MUSEUM, &thursday(10, 0)),
    )
    .await?
    .expect(201);
    assert_eq!(booked["state"], "confirmed");
    assert_eq!(booked["provider_id"], provider.id.as_str());
    assert_eq!(booked["provider_choice"], "any");
    assert_eq!(usd(&booked["price"]), 8000);
    assert!(
        booked["checkin_code"]
            .as_str()
            .is_some_and(|c| c.len() == 4)
    );

    // Downtown, ~6 km from the museum: not at 11:00 when the massage there ends, nor at 09:00 (it
    // would end when the museum visit starts), but once there is time to drive.
    let downtown = starts(&server, &b, &service, WASHINGTON_SQUARE, None).await?;
    for taken in [
        thursday(9, 0),
        thursday(9, 15),
        thursday(10, 0),
        thursday(10, 30),
        thursday(11, 0),
    ] {
        assert!(
            !downtown.contains(&taken),
            "{taken} is offered: {downtown:?}"
        );
    }
    assert!(downtown.contains(&thursday(12, 0)), "{downtown:?}");
    // A visit there at 11:00 is refused with the day's free slots.
    let refused = book(
        &server,
        &b,
        book_body(&service, WASHINGTON_SQUARE, &thursday(11, 0)),
    )
    .await?;
    refused.expect_error(409, "slot_unavailable");
    assert!(
        refused.body["slots"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );

    // The visit is on the provider's day, and the customer's.
    let day = server
        .get(
            &format!("/v1/house-calls/bookings?from={}&days=2", thursday(0, 0)),
            &provider.token,
        )
        .await?
        .expect(200);
    let ids: Vec<&str> = day["bookings"]
        .as_array()
        .ok_or("bookings")?
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert_eq!(ids, [booked["id"].as_str().ok_or("id")?]);
    assert_eq!(
        day["bookings"][0]["checkin_code"],
        Value::Null,
        "the provider never sees the code"
    );
    let mine = server
        .get(
            &format!("/v1/house-calls/bookings/{}", field(&booked, "id")?),
            &a.token,
        )
        .await?
        .expect(200);
    assert_eq!(mine["start"], thursday(10, 0));
    // Someone else's booking does not exist for them.
    server
        .get(
            &format!("/v1/house-calls/bookings/{}", field(&booked, "id")?),
            &b.token,
        )
        .await?
        .expect_error(404, "booking_not_found");
    server.stop().await
}

pub async fn two_customers_racing_for_the_last_slot_one_books_it_and_the_other_gets_409_with_fresh_slots(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let (a, b) = (
        server.customer_with_card().await?,
        server.customer_with_card().await?,
    );
    for round in 0..3 {
        let start = thursday(11 + 2 * round, 0);
        let (ra, rb) = tokio::join!(
            book(&server, &a, book_body(&service, TIMES_SQUARE, &start)),
            book(&server, &b, book_body(&service, TIMES_SQUARE, &start)),
        );
        let (ra, rb) = (ra?, rb?);
        let mut statuses = [ra.status, rb.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 409],
            "round {round}: {} / {}",
            ra.body,
            rb.body
        );
        let loser = if ra.status == 409 { ra } else { rb };
        loser.expect_error(409, "slot_unavailable");
        let fresh: Vec<&str> = loser.body["slots"]
            .as_array()
            .ok_or("slots")?
            .iter()
            .filter_map(|s| s["start"].as_str())
            .collect();
        assert!(!fresh.contains(&start.as_str()), "{fresh:?}");
    }
    server.stop().await
}

pub async fn a_provider_at_their_daily_cap_is_not_offered_and_a_hold_keeps_a_slot_for_its_holder(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 2).await?;
    let (a, b) = (
        server.customer_with_card().await?,
        server.customer_with_card().await?,
    );

    // A holds 13:00; B is not offered it, and cannot book it.
    let held = server
        .post(
            "/v1/house-calls/holds",
            &a.token,
            json!({"service_id": service, "location": {"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng},
                   "start": thursday(13, 0)}),
        )
        .await?
        .expect(201);
    assert_eq!(held["provider_id"], provider.id.as_str());
    let for_b = starts(&server, &b, &service, TIMES_SQUARE, None).await?;
    assert!(!for_b.contains(&thursday(13, 0)), "{for_b:?}");
    book(
        &server,
        &b,
        book_body(&service, TIMES_SQUARE, &thursday(13, 0)),
    )
    .await?
    .expect_error(409, "slot_unavailable");
    // A books it with the hold.
    let mut body = book_body(&service, TIMES_SQUARE, &thursday(13, 0));
    body["hold_id"] = held["hold_id"].clone();
    book(&server, &a, body).await?.expect(201);

    // One more visit reaches the cap of two: the day offers nothing more.
    book(
        &server,
        &b,
        book_body(&service, TIMES_SQUARE, &thursday(15, 0)),
    )
    .await?
    .expect(201);
    assert_eq!(
        starts(&server, &b, &service, TIMES_SQUARE, None).await?,
        Vec::<String>::new()
    );

    // An expired hold is refused.
    let c = server.customer_with_card().await?;
    let held = server
        .post(
            "/v1/house-calls/holds",
            &c.token,
            json!({"service_id": service, "location": {"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng},
                   "start": "2026-11-27T15:00:00.000Z"}),
        )
        .await?
        .expect(201);
    server.clock.advance_secs(6 * 60);
    let mut body = book_body(&service, TIMES_SQUARE, "2026-11-27T15:00:00.000Z");
    body["hold_id"] = held["hold_id"].clone();
    book(&server, &c, body)
        .await?
        .expect_error(409, "hold_expired");
    server.stop().await
}

pub async fn a_booking_is_idempotent_free_to_cancel_a_day_ahead_and_half_price_later(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let a = server.customer_with_card().await?;

    let body = book_body(&service, TIMES_SQUARE, "2026-11-28T15:00:00.000Z");
    let first = server
        .call_with_key("/v1/house-calls/bookings", &a.token, "key-1", body.clone())
        .await?
        .expect(201);
    let again = server
        .call_with_key("/v1/house-calls/bookings", &a.token, "key-1", body)
        .await?
        .expect(200);
    assert_eq!(first["id"], again["id"]);
    server
        .call_with_key(
            "/v1/house-calls/bookings",
            &a.token,
            "key-1",
            book_body(&service, TIMES_SQUARE, "2026-11-28T16:00:00.000Z"),
        )
        .await?
        .expect_error(422, "idempotency_key_reused");

    // Saturday 10:00 is two days away: free.
    let cancelled = server
        .post_empty(
            &format!("/v1/house-calls/bookings/{}/cancel", field(&first, "id")?),
            &a.token,
        )
        .await?
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(cancelled["cancel_fee"], Value::Null);
    // Thursday 10:00 is 20 hours away: half the price.
    let late = book(
        &server,
        &a,
        book_body(&service, TIMES_SQUARE, &thursday(10, 0)),
    )
    .await?
    .expect(201);
    let cancelled = server
        .post_empty(
            &format!("/v1/house-calls/bookings/{}/cancel", field(&late, "id")?),
            &a.token,
        )
        .await?
        .expect(200);
    assert_eq!(usd(&cancelled["cancel_fee"]), 4000);
    server
        .post_empty(
            &format!("/v1/house-calls/bookings/{}/cancel", field(&late, "id")?),
            &a.token,
        )
        .await?
        .expect_error(409, "invalid_booking_state");
    server.stop().await
}

pub async fn a_reschedule_moves_the_visit_and_frees_its_old_time_and_strangers_get_404(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let (a, b) = (
        server.customer_with_card().await?,
        server.customer_with_card().await?,
    );
    let booked = book(
        &server,
        &a,
        book_body(&service, TIMES_SQUARE, &thursday(10, 0)),
    )
    .await?
    .expect(201);
    let id = field(&booked, "id")?;
    let path = format!("/v1/house-calls/bookings/{id}/reschedule");
    server
        .post(&path, &b.token, json!({"start": thursday(14, 0)}))
        .await?
        .expect_error(404, "booking_not_found");
    server
        .post(&path, &provider.token, json!({"start": thursday(14, 0)}))
        .await?
        .expect_error(403, "forbidden");
    let moved = server
        .post(&path, &a.token, json!({"start": thursday(14, 0)}))
        .await?
        .expect(200);
    assert_eq!(moved["start"], thursday(14, 0));
    assert_eq!(moved["provider_id"], provider.id.as_str());
    let free = starts(&server, &b, &service, TIMES_SQUARE, Some(&provider)).await?;
    assert!(free.contains(&thursday(10, 0)), "{free:?}");
    assert!(!free.contains(&thursday(14, 0)), "{free:?}");
    server.stop().await
}

pub async fn bad_house_call_requests_get_a_4xx_with_a_code(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let other = massage(&server).await?;
    let near = provider(&server, &service, BRYANT_PARK, 1000, 8).await?;
    let a = server.customer_with_card().await?;
    let with = |place: Place, start: &str, provider: &Account| {
        let mut body = book_body(&service, place, start);
        body["provider_id"] = json!(provider.id);
        body
    };
    // Outside working hours (17:00 to 18:00).
    book(&server, &a, with(TIMES_SQUARE, &thursday(17, 0), &near))
        .await?
        .expect_error(422, "outside_working_hours");
    // A service this provider does not offer.
    let mut body = with(TIMES_SQUARE, &thursday(11, 0), &near);
    body["service_id"] = json!(other);
    book(&server, &a, body)
        .await?
        .expect_error(422, "service_not_offered");
    // An address outside the provider's area (the museum is ~3 km from Bryant Park).
    book(&server, &a, with(MET_MUSEUM, &thursday(11, 0), &near))
        .await?
        .expect_error(422, "outside_service_area");
    // Not on a quarter hour; in the past.
    book(
        &server,
        &a,
        with(TIMES_SQUARE, "2026-11-26T16:10:00.000Z", &near),
    )
    .await?
    .expect_error(422, "invalid_start");
    book(
        &server,
        &a,
        with(TIMES_SQUARE, "2026-11-20T16:00:00.000Z", &near),
    )
    .await?
    .expect_error(422, "invalid_start");
    // An unknown service; a range of more than 14 days.
    let mut body = book_body(&service, TIMES_SQUARE, &thursday(11, 0));
    body["service_id"] = json!(uuid::Uuid::now_v7());
    book(&server, &a, body)
        .await?
        .expect_error(404, "service_not_found");
    server
        .get(
            &format!("/v1/house-calls/availability?service_id={service}&lat=40.758&lng=-73.9855&from=2026-11-26&to=2026-12-20"),
            &a.token,
        )
        .await?
        .expect_error(422, "invalid_date_range");
    server
        .get(
            &format!("/v1/house-calls/availability?service_id={service}&lat=40.758&lng=-73.9855&from=2026-11-26&to=tomorrow"),
            &a.token,
        )
        .await?
        .expect_error(422, "invalid_date");
    // A provider's profile with a range past midnight, or an unknown service.
    let day = json!([{"open": "20:00", "close": "02:00"}]);
    server
        .put(
            "/v1/providers/me",
            &near.token,
            json!({"home": {"lat": BRYANT_PARK.lat, "lng": BRYANT_PARK.lng}, "area_m": 5000, "daily_cap": 4,
                   "service_ids": [service], "hours": {"monday": day}}),
        )
        .await?
        .expect_error(422, "invalid_profile");
    server
        .put(
            "/v1/providers/me",
            &near.token,
            json!({"home": {"lat": BRYANT_PARK.lat, "lng": BRYANT_PARK.lng}, "area_m": 5000, "daily_cap": 4,
                   "service_ids": [uuid::Uuid::now_v7()], "hours": {}}),
        )
        .await?
        .expect_error(422, "unknown_service");
    // A customer without a card or wallet money names no way to pay.
    let cardless = server.signup("rider").await?;
    book(
        &server,
        &cardless,
        book_body(&service, TIMES_SQUARE, &thursday(11, 0)),
    )
    .await?
    .expect_error(422, "payment_method_required");
    // Nothing was booked by any of it.
    let mine = server
        .get("/v1/house-calls/bookings", &a.token)
        .await?
        .expect(200);
    assert_eq!(mine["bookings"], json!([]));
    server.stop().await
}

pub async fn time_off_removes_the_slots_it_covers(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let a = server.customer_with_card().await?;
    server
        .post(
            "/v1/providers/me/time-off",
            &provider.token,
            json!({"from": thursday(12, 0), "to": thursday(17, 0)}),
        )
        .await?
        .expect(200);
    let free = starts(&server, &a, &service, TIMES_SQUARE, None).await?;
    assert!(free.contains(&thursday(10, 0)), "{free:?}");
    assert!(
        !free.contains(&thursday(11, 30)) && !free.contains(&thursday(13, 0)),
        "{free:?}"
    );
    server
        .post(
            "/v1/providers/me/time-off",
            &provider.token,
            json!({"from": thursday(12, 0), "to": thursday(11, 0)}),
        )
        .await?
        .expect_error(422, "invalid_time_off");
    server.stop().await
}

/// The clock moved to Thursday `hh:mm` New York time.
pub fn to_thursday(server: &TestServer, hh: i64, mm: i64) {
    // The clock starts on Wednesday at 14:00.
    let target = (24 + hh - 14) * 3600 + mm * 60;
    let now = server.clock.now().secs_since(crate::server::WEDNESDAY_2PM);
    server.clock.advance_secs(target - now);
}

pub async fn locate(server: &TestServer, provider: &Account, place: Place) -> TestResult {
    server
        .post(
            "/v1/providers/me/location",
            &provider.token,
            json!({"lat": place.lat, "lng": place.lng}),
        )
        .await?
        .expect(204);
    Ok(())
}

pub async fn a_visit_goes_on_my_way_arrive_check_in_check_out_and_its_postings_balance(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let customer = server.customer_with_card().await?;
    let booked = book(
        &server,
        &customer,
        book_body(&service, TIMES_SQUARE, &thursday(10, 0)),
    )
    .await?
    .expect(201);
    let id = field(&booked, "id")?;
    let code = field(&booked, "checkin_code")?;
    let step = |name: &str| format!("/v1/house-calls/bookings/{id}/{name}");

    to_thursday(&server, 9, 30);
    // Arriving before setting off from far away: not at the door.
    locate(&server, &provider, BRYANT_PARK).await?;
    server
        .post(&step("on-my-way"), &customer.token, json!({"eta_min": 20}))
        .await?
        .expect_error(403, "forbidden");
    let on_way = server
        .post(&step("on-my-way"), &provider.token, json!({"eta_min": 20}))
        .await?
        .expect(200);
    assert_eq!(on_way["state"], "on_the_way");
    let seen = server
        .get(&format!("/v1/house-calls/bookings/{id}"), &customer.token)
        .await?
        .expect(200);
    assert_eq!(seen["provider_position"]["lat"], json!(BRYANT_PARK.lat));
    server
        .post_empty(&step("arrive"), &provider.token)
        .await?
        .expect_error(409, "not_at_the_door");
    to_thursday(&server, 9, 55);
    locate(&server, &provider, TIMES_SQUARE).await?;
    let arrived = server
        .post_empty(&step("arrive"), &provider.token)
        .await?
        .expect(200);
    assert_eq!(arrived["state"], "arrived");
    // A wrong code is counted; the right one starts the visit.
    let wrong = if code == "0000" { "1111" } else { "0000" };
    server
        .post(&step("check-in"), &provider.token, json!({"code": wrong}))
        .await?
        .expect_error(422, "wrong_code");
    let started = server
        .post(&step("check-in"), &provider.token, json!({"code": code}))
        .await?
        .expect(200);
    assert_eq!(started["state"], "in_progress");
    server
        .post_empty(&step("no-show"), &provider.token)
        .await?
        .expect_error(409, "invalid_booking_state");
    to_thursday(&server, 11, 0);
    let done = server
        .post_empty(&step("check-out"), &provider.token)
        .await?
        .expect(200);
    assert_eq!(done["state"], "completed");
    assert_eq!(done["checkin_code"], Value::Null);
    // The price is posted, shared 80/20, and the ledger balances.
    let postings = server.app.store().postings_of_job(id.parse()?).await?;
    assert_eq!(postings.len(), 1);
    assert!(server.trial_balance().await?.iter().all(|sum| *sum == 0));
    let payment = server
        .app
        .store()
        .authorisation(id.parse()?)
        .await?
        .ok_or("authorised")?;
    assert_eq!(payment.captured.map(|m| m.minor), Some(8000));
    // The provider's earnings: the price less the platform's 20 %.
    let earned = server
        .get("/v1/providers/me/earnings", &provider.token)
        .await?
        .expect(200);
    assert_eq!(usd(&earned["net"]), 6400);
    assert_eq!(usd(&earned["gross"]), 8000);
    assert_eq!(usd(&earned["commission"]), 1600);

    // They rate each other once; a stranger cannot.
    let rated = server
        .post(
            &step("ratings"),
            &customer.token,
            json!({"stars": 5, "comment": "Wonderful"}),
        )
        .await?
        .expect(201);
    assert_eq!(rated["rated_user_id"], provider.id.as_str());
    server
        .post(&step("ratings"), &customer.token, json!({"stars": 4}))
        .await?
        .expect_error(409, "already_rated");
    server
        .post(&step("ratings"), &provider.token, json!({"stars": 5}))
        .await?
        .expect(201);
    let stranger = server.customer_with_card().await?;
    server
        .post(&step("ratings"), &stranger.token, json!({"stars": 1}))
        .await?
        .expect_error(404, "booking_not_found");
    let both = server
        .get(&step("ratings"), &customer.token)
        .await?
        .expect(200);
    assert_eq!(both["ratings"].as_array().map(Vec::len), Some(2));

    // The customer blocks the provider: never offered nor bookable with them again.
    server
        .post_empty(&step("block"), &customer.token)
        .await?
        .expect(200);
    server
        .get(
            &format!(
                "/v1/house-calls/availability?service_id={service}&lat={}&lng={}&from=2026-11-27&to=2026-11-27",
                TIMES_SQUARE.lat, TIMES_SQUARE.lng
            ),
            &customer.token,
        )
        .await?
        .expect_error(422, "outside_service_area");
    let mut body = book_body(&service, TIMES_SQUARE, "2026-11-27T16:00:00.000Z");
    body["provider_id"] = json!(provider.id);
    book(&server, &customer, body)
        .await?
        .expect_error(404, "provider_not_found");
    // Another customer still books them.
    book(
        &server,
        &stranger,
        book_body(&service, TIMES_SQUARE, "2026-11-27T16:00:00.000Z"),
    )
    .await?
    .expect(201);

    // An operator refunds part of the price, once per key, never more than was paid.
    let admin = server.admin().await?;
    let refund = format!("/v1/admin/house-calls/bookings/{id}/refund");
    let ledger = server
        .call_with_key(
            &refund,
            &admin.token,
            "refund-1",
            json!({"reason": "late start", "amount": 2000}),
        )
        .await?
        .expect(200);
    assert_eq!(usd(&ledger["refundable"]), 6000);
    let again = server
        .call_with_key(
            &refund,
            &admin.token,
            "refund-1",
            json!({"reason": "late start", "amount": 2000}),
        )
        .await?
        .expect(200);
    assert_eq!(usd(&again["refundable"]), 6000);
    server
        .call_with_key(
            &refund,
            &admin.token,
            "refund-2",
            json!({"reason": "more", "amount": 7000}),
        )
        .await?
        .expect_error(409, "refund_too_large");
    server
        .call_with_key(
            &refund,
            &customer.token,
            "refund-3",
            json!({"reason": "mine", "amount": 100}),
        )
        .await?
        .expect_error(403, "forbidden");
    assert!(server.trial_balance().await?.iter().all(|sum| *sum == 0));
    server.stop().await
}

pub async fn no_shows_on_either_side_wait_their_time_and_only_the_customers_is_charged(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let customer = server.customer_with_card().await?;
    let at_noon = book(
        &server,
        &customer,
        book_body(&service, TIMES_SQUARE, &thursday(12, 0)),
    )
    .await?
    .expect(201);
    let at_three = book(
        &server,
        &customer,
        book_body(&service, TIMES_SQUARE, &thursday(15, 0)),
    )
    .await?
    .expect(201);
    let (noon, three) = (field(&at_noon, "id")?, field(&at_three, "id")?);

    // The customer is not there at noon: the provider waits 15 minutes, then the whole price is due.
    to_thursday(&server, 12, 0);
    locate(&server, &provider, TIMES_SQUARE).await?;
    server
        .post_empty(
            &format!("/v1/house-calls/bookings/{noon}/arrive"),
            &provider.token,
        )
        .await?
        .expect(200);
    to_thursday(&server, 12, 10);
    server
        .post_empty(
            &format!("/v1/house-calls/bookings/{noon}/no-show"),
            &provider.token,
        )
        .await?
        .expect_error(409, "too_early");
    to_thursday(&server, 12, 16);
    let missed = server
        .post_empty(
            &format!("/v1/house-calls/bookings/{noon}/no-show"),
            &provider.token,
        )
        .await?
        .expect(200);
    assert_eq!(missed["state"], "missed");
    assert_eq!(usd(&missed["cancel_fee"]), 8000);

    // The provider does not come at three: the customer may say so from 15:30, free.
    to_thursday(&server, 15, 20);
    let path = format!("/v1/house-calls/bookings/{three}/provider-no-show");
    server
        .post_empty(&path, &customer.token)
        .await?
        .expect_error(409, "too_early");
    to_thursday(&server, 15, 31);
    let cancelled = server.post_empty(&path, &customer.token).await?.expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(cancelled["cancel_fee"], Value::Null);
    let released = server
        .app
        .store()
        .authorisation(three.parse()?)
        .await?
        .ok_or("authorised")?;
    assert_eq!(released.captured, None);
    assert!(server.trial_balance().await?.iter().all(|sum| *sum == 0));
    server.stop().await
}

pub async fn reoptimisation_swaps_crossed_any_provider_visits_and_never_moves_a_chosen_one(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let uptown = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    // The downtown provider is approved only after the first booking, so it goes uptown's way.
    let downtown = server.signup("provider").await?;
    let day = json!([{"open": "09:00", "close": "17:00"}]);
    server
        .put(
            "/v1/providers/me",
            &downtown.token,
            json!({"home": {"lat": WASHINGTON_SQUARE.lat, "lng": WASHINGTON_SQUARE.lng}, "area_m": 8000,
                   "daily_cap": 8, "service_ids": [service], "hours": {"thursday": day}}),
        )
        .await?
        .expect(200);
    let (a, b, c) = (
        server.customer_with_card().await?,
        server.customer_with_card().await?,
        server.customer_with_card().await?,
    );
    let first = book(
        &server,
        &a,
        book_body(&service, WASHINGTON_SQUARE, &thursday(10, 0)),
    )
    .await?
    .expect(201);
    assert_eq!(first["provider_id"], uptown.id.as_str());
    server
        .app
        .store()
        .set_provider_approval(
            downtown.id.parse()?,
            doorstep_domain::onboarding::Approval::Approved,
            server.clock.now(),
        )
        .await?;
    // Uptown is downtown at 10:00, so the uptown visit at 10:00 goes to the downtown provider.
    let second = book(
        &server,
        &b,
        book_body(&service, BRYANT_PARK, &thursday(10, 0)),
    )
    .await?
    .expect(201);
    assert_eq!(second["provider_id"], downtown.id.as_str());
    // A customer who chose the uptown provider downtown in the afternoon keeps them.
    let mut body = book_body(&service, WASHINGTON_SQUARE, &thursday(14, 0));
    body["provider_id"] = json!(uptown.id);
    let chosen = book(&server, &c, body).await?.expect(201);

    let date = doorstep_domain::onboarding::CalendarDate::parse("2026-11-26").ok_or("date")?;
    let report = server
        .app
        .reoptimise_day(date, std::time::Duration::from_secs(2))
        .await?;
    assert_eq!(report.visits, 3);
    assert_eq!(report.moved.len(), 2, "{report:?}");
    assert!(report.travel_after_s < report.travel_before_s, "{report:?}");
    let provider_of = |id: String| {
        let server = &server;
        async move {
            let seen = server
                .get(
                    &format!("/v1/house-calls/bookings/{id}"),
                    &server.admin().await?.token,
                )
                .await?
                .expect(200);
            field(&seen, "provider_id")
        }
    };
    assert_eq!(provider_of(field(&first, "id")?).await?, downtown.id);
    assert_eq!(provider_of(field(&second, "id")?).await?, uptown.id);
    assert_eq!(provider_of(field(&chosen, "id")?).await?, uptown.id);
    // Nothing more to gain: a second run moves nothing.
    let again = server
        .app
        .reoptimise_day(date, std::time::Duration::from_millis(500))
        .await?;
    assert!(again.moved.is_empty(), "{again:?}");
    server.stop().await
}

pub async fn an_as_soon_as_possible_visit_goes_to_the_earliest_gap(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let (a, b) = (
        server.customer_with_card().await?,
        server.customer_with_card().await?,
    );
    let asap = || {
        json!({"service_id": service, "location": {"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng},
               "address": "1 Times Sq", "asap": true})
    };
    // It is Wednesday 14:00: the first visit can start at 14:20 (a quarter hour of lead, on five minutes).
    let first = book(&server, &a, asap()).await?.expect(201);
    assert_eq!(first["start"], "2026-11-25T19:20:00.000Z");
    assert_eq!(first["provider_id"], provider.id.as_str());
    // The next one waits for the provider: after 15:20 at the same place, so 15:20 exactly.
    let second = book(&server, &b, asap()).await?.expect(201);
    assert_eq!(second["start"], "2026-11-25T20:20:00.000Z");
    // Both a start and asap, or neither: 422.
    let mut both = asap();
    both["start"] = json!(thursday(10, 0));
    book(&server, &a, both)
        .await?
        .expect_error(422, "start_or_asap");
    let mut neither = asap();
    neither["asap"] = json!(false);
    book(&server, &a, neither)
        .await?
        .expect_error(422, "start_or_asap");
    server.stop().await
}

pub async fn a_weekly_series_books_the_same_hour_each_week_and_skips_a_week_off(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let service = massage(&server).await?;
    let provider = provider(&server, &service, BRYANT_PARK, 8000, 8).await?;
    let customer = server.customer_with_card().await?;
    // The provider is off on Thursday 3 December.
    server
        .post(
            "/v1/providers/me/time-off",
            &provider.token,
            json!({"from": "2026-12-03T05:00:00.000Z", "to": "2026-12-04T05:00:00.000Z"}),
        )
        .await?
        .expect(200);
    let body = json!({"booking": book_body(&service, TIMES_SQUARE, &thursday(10, 0)), "weeks": 3});
    let series = server
        .call_with_key(
            "/v1/house-calls/series",
            &customer.token,
            "weekly-1",
            body.clone(),
        )
        .await?
        .expect(201);
    let starts: Vec<&str> = series["bookings"]
        .as_array()
        .ok_or("bookings")?
        .iter()
        .filter_map(|b| b["start"].as_str())
        .collect();
    assert_eq!(
        starts,
        [thursday(10, 0).as_str(), "2026-12-10T15:00:00.000Z"]
    );
    assert_eq!(series["skipped"], json!(["2026-12-03T15:00:00.000Z"]));
    for b in series["bookings"].as_array().ok_or("bookings")? {
        assert_eq!(b["series_id"], series["series_id"]);
        assert_eq!(b["provider_id"], provider.id.as_str());
    }
    // A retry books nothing more.
    let again = server
        .call_with_key("/v1/house-calls/series", &customer.token, "weekly-1", body)
        .await?
        .expect(201);
    assert_eq!(again["series_id"], series["series_id"]);
    let mine = server
        .get("/v1/house-calls/bookings?days=30", &customer.token)
        .await?
        .expect(200);
    assert_eq!(mine["bookings"].as_array().map(Vec::len), Some(2));
    let mut one =
        json!({"booking": book_body(&service, TIMES_SQUARE, &thursday(12, 0)), "weeks": 13});
    server
        .call_with_key(
            "/v1/house-calls/series",
            &customer.token,
            "weekly-2",
            one.clone(),
        )
        .await?
        .expect_error(422, "invalid_weeks");
    one["weeks"] = json!(1);
    server
        .call_with_key("/v1/house-calls/series", &customer.token, "weekly-3", one)
        .await?
        .expect_error(422, "invalid_weeks");
    server.stop().await
}
