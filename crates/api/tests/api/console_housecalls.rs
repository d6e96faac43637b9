//! The console's house calls and the provider's safety tools: a day's bookings across providers with
//! names, filters and the late flag; the day's summary (bookings by state, providers, utilisation); a
//! share link that works for whoever holds it, is 404 for strangers, expires and is revoked, and is
//! stored only as a digest; SOS reaching operators, acknowledged once per key and audited.
//!
//! The clock stands on Wednesday 2026-11-25 at 14:00 in New York; visits are on Thursday the 26th.

use crate::backend::{TestDb, TestResult};
use crate::housecalls::{book, book_body, booked_house_call, locate, thursday, to_thursday};
use crate::places::{BRYANT_PARK, Place, TIMES_SQUARE, WASHINGTON_SQUARE};
use crate::server::{Account, TestServer, field};
use doorstep_domain::{JobId, RideId};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

const THURSDAY: &str = "2026-11-26";

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A provider signed up, with a profile (home at `home`, 8 km, 09:00–17:00 every day) offering
/// `service`, approved by `admin` through the console's endpoint.
async fn approved_provider(
    server: &TestServer,
    admin: &Account,
    service: &str,
    home: Place,
) -> TestResult<Account> {
    let provider = pending_provider(server, service, home).await?;
    server
        .act(
            admin,
            &format!("/v1/admin/providers/{}/approve", provider.id),
            &key(),
            json!({"reason": "documents checked"}),
        )
        .await?
        .expect(200);
    Ok(provider)
}

/// A provider with a profile, waiting for an operator.
async fn pending_provider(server: &TestServer, service: &str, home: Place) -> TestResult<Account> {
    let provider = server.signup("provider").await?;
    let day = json!([{"open": "09:00", "close": "17:00"}]);
    server
        .put(
            "/v1/providers/me",
            &provider.token,
            json!({
                "bio": "Ten years of practice",
                "home": {"lat": home.lat, "lng": home.lng},
                "area_m": 8000,
                "daily_cap": 8,
                "service_ids": [service],
                "hours": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                          "friday": day, "saturday": day, "sunday": day},
            }),
        )
        .await?
        .expect(200);
    Ok(provider)
}

async fn book_with(
    server: &TestServer,
    customer: &Account,
    service: &str,
    provider: &Account,
    place: Place,
    start: &str,
) -> TestResult<String> {
    let mut body = book_body(service, place, start);
    body["provider_id"] = json!(provider.id);
    let booked = book(server, customer, body).await?.expect(201);
    field(&booked, "id")
}

fn ids(list: &Value) -> Vec<String> {
    list["bookings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["id"].as_str().map(str::to_owned))
        .collect()
}

fn day_of<'a>(summary: &'a Value, provider: &Account) -> TestResult<&'a Value> {
    summary["utilisation"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["provider_id"] == provider.id.as_str())
        .ok_or_else(|| format!("{} in {summary}", provider.id).into())
}

pub async fn operators_read_a_days_bookings_across_providers_and_its_summary_with_utilisation(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    // A one-hour massage with a 15-minute buffer, from the catalogue's endpoint.
    let service = server.create_hc_service(&admin).await?;
    let ana = approved_provider(&server, &admin, &service, BRYANT_PARK).await?;
    let ben = approved_provider(&server, &admin, &service, WASHINGTON_SQUARE).await?;
    pending_provider(&server, &service, BRYANT_PARK).await?;
    let (c1, c2) = (
        server.customer_with_card().await?,
        server.customer_with_card().await?,
    );
    let first = book_with(&server, &c1, &service, &ana, TIMES_SQUARE, &thursday(10, 0)).await?;
    let second = book_with(
        &server,
        &c2,
        &service,
        &ben,
        WASHINGTON_SQUARE,
        &thursday(11, 0),
    )
    .await?;
    let third = book_with(&server, &c2, &service, &ana, TIMES_SQUARE, &thursday(13, 0)).await?;
    server
        .post_empty(
            &format!("/v1/house-calls/bookings/{third}/cancel"),
            &c2.token,
        )
        .await?
        .expect(200);

    // The day, by start, with names and addresses.
    let path = format!("/v1/admin/house-calls/bookings?date={THURSDAY}");
    let day = server.get(&path, &admin.token).await?.expect(200);
    assert_eq!(day["date"], THURSDAY);
    assert_eq!(ids(&day), [first.as_str(), second.as_str(), third.as_str()]);
    let b = &day["bookings"][0];
    assert_eq!(b["state"], "confirmed");
    assert_eq!(b["provider_id"], ana.id.as_str());
    assert_eq!(b["provider_name"], "A provider");
    assert_eq!(b["customer_name"], "A rider");
    assert_eq!(b["address"], "1 Test Street");
    assert_eq!(b["start"], thursday(10, 0));
    assert_eq!(b["late"], false);
    assert_eq!(day["bookings"][2]["state"], "cancelled");
    // Filters: a provider, a state; another day is empty.
    let bens = server
        .get(&format!("{path}&provider_id={}", ben.id), &admin.token)
        .await?
        .expect(200);
    assert_eq!(ids(&bens), [second.as_str()]);
    let cancelled = server
        .get(&format!("{path}&state=cancelled"), &admin.token)
        .await?
        .expect(200);
    assert_eq!(ids(&cancelled), [third.as_str()]);
    let other = server
        .get(
            "/v1/admin/house-calls/bookings?date=2026-11-27",
            &admin.token,
        )
        .await?
        .expect(200);
    assert_eq!(other["bookings"], json!([]));

    // The summary: by state, providers, utilisation = on-site minutes / working minutes.
    let summary = server
        .get(
            &format!("/v1/admin/house-calls/summary?date={THURSDAY}"),
            &admin.token,
        )
        .await?
        .expect(200);
    let count = |state: &str| {
        summary["by_state"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["state"] == state)
            .map(|c| c["count"].clone())
    };
    assert_eq!(count("confirmed"), Some(json!(2)));
    assert_eq!(count("cancelled"), Some(json!(1)));
    assert_eq!(count("completed"), Some(json!(0)));
    assert_eq!(summary["total"], 3);
    assert_eq!(summary["late"], 0);
    assert_eq!(
        summary["providers"],
        json!({"working": 2, "approved": 2, "pending": 1, "rejected": 0, "suspended": 0})
    );
    let a = day_of(&summary, &ana)?;
    assert_eq!(a["working_min"], 480);
    assert_eq!(a["booked_min"], 75, "the cancelled visit takes no time");
    assert_eq!(a["visits"], 1);
    assert_eq!(a["utilisation_bps"], 75 * 10_000 / 480);
    assert!(
        a["travel_min"].as_u64().is_some_and(|m| m > 0),
        "Bryant Park to Times Square and back: {a}"
    );
    assert_eq!(a["working"].as_array().map(Vec::len), Some(1));
    let b = day_of(&summary, &ben)?;
    assert_eq!(b["booked_min"], 75);
    assert_eq!(summary["open_sos"], 0);
    assert_eq!(
        summary["utilisation"].as_array().map(Vec::len),
        Some(2),
        "the pending provider does not work: {summary}"
    );

    // Six minutes past ten and Ana has not set off: late, in the list and in the summary.
    to_thursday(&server, 10, 6);
    let day = server.get(&path, &admin.token).await?.expect(200);
    assert_eq!(day["bookings"][0]["late"], true);
    assert_eq!(day["bookings"][1]["late"], false);
    let summary = server
        .get(
            &format!("/v1/admin/house-calls/summary?date={THURSDAY}"),
            &admin.token,
        )
        .await?
        .expect(200);
    assert_eq!(summary["late"], 1);
    // Without a date: today.
    let today = server
        .get("/v1/admin/house-calls/summary", &admin.token)
        .await?
        .expect(200);
    assert_eq!(today["date"], THURSDAY);

    // Bad values are 422 with their codes, empty ones included.
    for (query, code) in [
        ("date=", "invalid_date"),
        ("date=2026-02-30", "invalid_date"),
        ("state=", "invalid_state"),
        ("state=lost", "invalid_state"),
        ("provider_id=", "invalid_provider_id"),
        ("provider_id=ana", "invalid_provider_id"),
    ] {
        server
            .get(
                &format!("/v1/admin/house-calls/bookings?{query}"),
                &admin.token,
            )
            .await?
            .expect_error(422, code);
    }
    server
        .get("/v1/admin/house-calls/summary?date=", &admin.token)
        .await?
        .expect_error(422, "invalid_date");
    // Nobody but operators.
    for who in [&c1, &ana] {
        for path in [
            "/v1/admin/house-calls/bookings",
            "/v1/admin/house-calls/summary",
            "/v1/admin/sos-alerts",
        ] {
            server
                .get(path, &who.token)
                .await?
                .expect_error(403, "forbidden");
        }
    }
    server.stop().await
}

pub async fn a_share_link_shows_the_visit_to_whoever_holds_it_until_it_expires_or_is_revoked(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let (customer, provider, id) = booked_house_call(&server).await?;
    let stranger = server.signup("provider").await?;
    let share = format!("/v1/house-calls/bookings/{id}/share");

    // Only the booking's provider: the customer's role may not (403), another provider gets 404.
    server
        .post(&share, &customer.token, json!({}))
        .await?
        .expect_error(403, "forbidden");
    server
        .post(&share, &stranger.token, json!({}))
        .await?
        .expect_error(404, "booking_not_found");
    server
        .call(reqwest::Method::DELETE, &share, Some(&stranger.token), None)
        .await?
        .expect_error(404, "booking_not_found");
    for minutes in [4, 1441] {
        server
            .post(&share, &provider.token, json!({"expires_in_min": minutes}))
            .await?
            .expect_error(422, "invalid_expiry");
    }

    // Four hours by default.
    let link = server
        .post(&share, &provider.token, json!({}))
        .await?
        .expect(201);
    let token = field(&link, "token")?;
    assert_eq!(field(&link, "url")?, format!("/share/visit/{token}"));
    let in_four_hours = doorstep_api::dto::rfc3339(server.clock.now().plus_secs(4 * 3600));
    assert_eq!(field(&link, "expires_at")?, in_four_hours);
    let shared = format!("/v1/shared-visits/{token}");
    let seen = server
        .call(reqwest::Method::GET, &shared, None, None)
        .await?
        .expect(200);
    assert_eq!(seen["state"], "confirmed");
    assert_eq!(seen["start"], thursday(10, 0));
    assert_eq!(seen["provider_first_name"], "A");
    assert!(
        seen["neighbourhood"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{seen}"
    );
    assert_eq!(seen["provider_position"], Value::Null);
    let text = seen.to_string();
    assert!(
        !text.contains("Test Street") && !text.contains(&customer.id),
        "no address, no customer: {text}"
    );

    // Only the token's digest is stored: the table holds no trace of it.
    let mut conn = sqlx::AnyConnection::connect(&db.url).await?;
    let rows = sqlx::query("SELECT token_hash FROM visit_shares")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    let secret = token.trim_start_matches("vsh_");
    for row in &rows {
        let stored: String = row.try_get("token_hash")?;
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(secret) && !secret.contains(&stored));
    }
    assert_eq!(server.app.store().visit_share(&token).await?, None);

    // Four hours and a second later: gone.
    server.clock.advance_secs(4 * 3600 + 1);
    server
        .call(reqwest::Method::GET, &shared, None, None)
        .await?
        .expect_error(404, "share_not_found");
    // A link for a day follows the provider on the way, then is revoked.
    let link = server
        .post(&share, &provider.token, json!({"expires_in_min": 1440}))
        .await?
        .expect(201);
    let shared = format!("/v1/shared-visits/{}", field(&link, "token")?);
    to_thursday(&server, 9, 30);
    locate(&server, &provider, BRYANT_PARK).await?;
    server
        .post(
            &format!("/v1/house-calls/bookings/{id}/on-my-way"),
            &provider.token,
            json!({"eta_min": 20}),
        )
        .await?
        .expect(200);
    let seen = server
        .call(reqwest::Method::GET, &shared, None, None)
        .await?
        .expect(200);
    assert_eq!(seen["state"], "on_the_way");
    assert_eq!(seen["provider_position"]["lat"], json!(BRYANT_PARK.lat));
    assert!(seen["eta"].is_string());
    server
        .call(reqwest::Method::DELETE, &share, Some(&provider.token), None)
        .await?
        .expect(204);
    server
        .call(reqwest::Method::GET, &shared, None, None)
        .await?
        .expect_error(404, "share_not_found");
    // A token never issued, or not shaped like one: the same 404.
    for bad in [format!("vsh_{}", "0".repeat(64)), "nonsense".to_owned()] {
        server
            .call(
                reqwest::Method::GET,
                &format!("/v1/shared-visits/{bad}"),
                None,
                None,
            )
            .await?
            .expect_error(404, "share_not_found");
    }
    server.stop().await
}

pub async fn an_sos_reaches_operators_and_acknowledging_it_is_audited_once_per_key(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let (customer, provider, id) = booked_house_call(&server).await?;
    let stranger = server.signup("provider").await?;
    let sos = format!("/v1/house-calls/bookings/{id}/sos");

    server
        .post(&sos, &customer.token, json!({}))
        .await?
        .expect_error(403, "forbidden");
    server
        .post(&sos, &stranger.token, json!({}))
        .await?
        .expect_error(404, "booking_not_found");
    server
        .post(&sos, &provider.token, json!({"note": "x".repeat(501)}))
        .await?
        .expect_error(422, "invalid_note");

    // Raised with the provider's position and note.
    locate(&server, &provider, TIMES_SQUARE).await?;
    let raised = server
        .post(
            &sos,
            &provider.token,
            json!({"note": "  the customer is shouting  "}),
        )
        .await?
        .expect(201);
    let alert = field(&raised, "alert_id")?;
    assert_eq!(raised["note"], "the customer is shouting");
    assert_eq!(raised["position"]["lat"], json!(TIMES_SQUARE.lat));
    assert_eq!(raised["acknowledged_at"], Value::Null);

    // Its event is the provider's (and every operator's), never the customer's.
    let job: JobId = id.parse().map_err(|_| "a booking id")?;
    let events = server.app.store().events_of_ride(RideId::from(job)).await?;
    let event = events
        .iter()
        .find(|e| e.event.kind() == "booking_sos_raised")
        .ok_or("the sos event")?;
    let customer_id = customer.id.parse().map_err(|_| "an id")?;
    let provider_id = provider.id.parse().map_err(|_| "an id")?;
    assert!(event.is_for(provider_id) && !event.is_for(customer_id));

    // The operators' list: open first, with the visit and the names.
    let list = server
        .get("/v1/admin/sos-alerts", &admin.token)
        .await?
        .expect(200);
    assert_eq!(list["open"], 1);
    let a = &list["alerts"][0];
    assert_eq!(a["alert_id"], alert.as_str());
    assert_eq!(a["booking_id"], id.as_str());
    assert_eq!(a["provider_name"], "A provider");
    assert_eq!(a["customer_name"], "A rider");
    assert_eq!(a["address"], "1 Test Street");
    assert_eq!(a["booking_state"], "confirmed");
    let summary = server
        .get("/v1/admin/house-calls/summary", &admin.token)
        .await?
        .expect(200);
    assert_eq!(summary["open_sos"], 1);

    // Acknowledged once per key, with a reason, audited once.
    let ack = format!("/v1/admin/sos-alerts/{alert}/acknowledge");
    server
        .post(
            &ack,
            &admin.token,
            json!({"reason": "calling the provider"}),
        )
        .await?
        .expect_error(422, "idempotency_key_required");
    server
        .act(&admin, &ack, &key(), json!({"reason": " "}))
        .await?
        .expect_error(422, "invalid_reason");
    let k = key();
    let done = server
        .act(&admin, &ack, &k, json!({"reason": "calling the provider"}))
        .await?
        .expect(200);
    assert_eq!(done["acknowledged_by"], admin.id.as_str());
    let again = server
        .act(&admin, &ack, &k, json!({"reason": "calling the provider"}))
        .await?
        .expect(200);
    assert_eq!(again["acknowledged_at"], done["acknowledged_at"]);
    server
        .act(&admin, &ack, &key(), json!({"reason": "me too"}))
        .await?
        .expect_error(409, "sos_already_acknowledged");
    let entries = server.audit_of(&admin, &alert).await?;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "acknowledge_sos");
    assert_eq!(entries[0]["reason"], "calling the provider");
    let events = server.app.store().events_of_ride(RideId::from(job)).await?;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event.kind() == "booking_sos_acknowledged")
            .count(),
        1
    );
    server
        .act(
            &admin,
            &format!("/v1/admin/sos-alerts/{}/acknowledge", uuid::Uuid::now_v7()),
            &key(),
            json!({"reason": "calling"}),
        )
        .await?
        .expect_error(404, "sos_alert_not_found");

    // A second alert is open and listed before the acknowledged one.
    let second = server
        .post(&sos, &provider.token, json!({}))
        .await?
        .expect(201);
    let list = server
        .get("/v1/admin/sos-alerts", &admin.token)
        .await?
        .expect(200);
    assert_eq!(list["open"], 1);
    assert_eq!(list["alerts"][0]["alert_id"], second["alert_id"]);
    assert_eq!(list["alerts"][0]["note"], "");
    assert_eq!(list["alerts"][1]["alert_id"], alert.as_str());
    assert_eq!(list["alerts"][1]["acknowledged_by_name"], "An admin");
    server
        .get("/v1/admin/sos-alerts", &provider.token)
        .await?
        .expect_error(403, "forbidden");
    server.stop().await
}
