//! House calls, the operators' side: the catalogue (create, replace, retire; anyone signed in reads the
//! bookable services) and the vetting of providers (approve, reject, suspend, reinstate), each with a
//! reason and an idempotency key and recorded in the audit log; a provider's own documents, whose expiry
//! operators see and which stop new bookings.

use crate::backend::{TestDb, TestResult};
use crate::places::BRYANT_PARK;
use crate::server::{Account, Reply, TestServer, field};
use doorstep_domain::UserId;
use doorstep_domain::food::hours::{OpeningRange, WeeklyHours};
use doorstep_domain::housecall::ProviderDraft;
use doorstep_domain::onboarding::CalendarDate;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A service's body: a one-hour massage at $95 with a 15-minute buffer.
fn massage(reason: &str) -> Value {
    json!({
        "reason": reason,
        "name": "Swedish massage, 60 minutes",
        "description": "Full body, table and oils brought along",
        "duration_min": 60,
        "prep_min": 15,
        "price": {"amount": 9500, "currency": "USD"},
        "active": true,
    })
}

impl TestServer {
    /// `PUT path` with a JSON body and the idempotency key `key` as `admin` (an operator's replacement).
    pub async fn put_act(
        &self,
        admin: &Account,
        path: &str,
        key: &str,
        body: Value,
    ) -> TestResult<Reply> {
        let response = self
            .http
            .request(Method::PUT, self.url(path))
            .bearer_auth(&admin.token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await?;
        TestServer::reply(response).await
    }

    /// An operator adds the one-hour massage to the catalogue; its id.
    pub async fn create_hc_service(&self, admin: &Account) -> TestResult<String> {
        let created = self
            .act(
                admin,
                "/v1/admin/house-calls/services",
                &key(),
                massage("new in the catalogue"),
            )
            .await?
            .expect(201);
        field(&created, "id")
    }

    /// Writes a profile for the provider `provider` (home at Bryant Park, 3 km, weekdays 09:00-17:00),
    /// as the provider app will; pending approval.
    pub async fn write_provider_profile(&self, provider: &Account) -> TestResult {
        let user: UserId = provider.id.parse().map_err(|_| "a provider id")?;
        let nine_to_five = || -> TestResult<Vec<OpeningRange>> {
            Ok(vec![OpeningRange::parse("09:00", "17:00")?])
        };
        let hours = WeeklyHours::new([
            nine_to_five()?,
            nine_to_five()?,
            nine_to_five()?,
            nine_to_five()?,
            nine_to_five()?,
            Vec::new(),
            Vec::new(),
        ])
        .map_err(|(day, e)| format!("weekday {day}: {e}"))?;
        let profile = ProviderDraft {
            bio: "Licensed massage therapist".into(),
            home: doorstep_geo::LatLng::new(BRYANT_PARK.lat, BRYANT_PARK.lng)?,
            area_m: 3_000,
            daily_cap: 6,
            services: BTreeSet::new(),
            hours,
        }
        .into_profile(user, None)?;
        self.app
            .store()
            .put_provider(&profile, self.clock.now())
            .await?;
        Ok(())
    }

    /// A provider who signed up and wrote a profile, pending approval.
    pub async fn provider_with_profile(&self) -> TestResult<Account> {
        let provider = self.signup("provider").await?;
        self.write_provider_profile(&provider).await?;
        Ok(provider)
    }

    /// The operators' view of one provider.
    async fn provider_in_list(&self, admin: &Account, provider: &Account) -> TestResult<Value> {
        let list = self
            .get("/v1/admin/providers", &admin.token)
            .await?
            .expect(200);
        list["providers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["user_id"] == provider.id.as_str())
            .cloned()
            .ok_or_else(|| format!("{} in {list}", provider.id).into())
    }

    /// The day `days` after today in the city, as `YYYY-MM-DD`.
    fn city_day(&self, days: i64) -> String {
        CalendarDate::from_days(self.app.today().days() + days)
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
}

/// The ids of the services `who` sees in the catalogue.
async fn catalogue(server: &TestServer, who: &Account) -> TestResult<Vec<String>> {
    let list = server
        .get("/v1/house-calls/services", &who.token)
        .await?
        .expect(200);
    Ok(list["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect())
}

/// The actions of the audit entries about `target`, newest first.
async fn audited(server: &TestServer, admin: &Account, target: &str) -> TestResult<Vec<String>> {
    Ok(server
        .audit_of(admin, target)
        .await?
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect())
}

pub async fn operators_create_replace_and_retire_house_call_services_once_per_key_and_everyone_signed_in_reads_the_catalogue(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let provider = server.signup("provider").await?;

    // Created, and a retry under the same key answers the same service without making another.
    let create_key = key();
    let created = server
        .act(
            &admin,
            "/v1/admin/house-calls/services",
            &create_key,
            massage("launching massages"),
        )
        .await?
        .expect(201);
    let id = field(&created, "id")?;
    assert_eq!(created["name"], "Swedish massage, 60 minutes");
    assert_eq!(created["duration_min"], 60);
    assert_eq!(created["prep_min"], 15);
    assert_eq!(created["price"], json!({"amount": 9500, "currency": "USD"}));
    assert_eq!(created["active"], true);
    let retried = server
        .act(
            &admin,
            "/v1/admin/house-calls/services",
            &create_key,
            massage("launching massages"),
        )
        .await?
        .expect(201);
    assert_eq!(retried["id"], id.as_str());
    assert_eq!(catalogue(&server, &admin).await?, std::slice::from_ref(&id));

    // Anyone signed in reads the catalogue and the service.
    for who in [&rider, &provider] {
        assert_eq!(catalogue(&server, who).await?, std::slice::from_ref(&id));
        let one = server
            .get(&format!("/v1/house-calls/services/{id}"), &who.token)
            .await?
            .expect(200);
        assert_eq!(
            one["description"],
            "Full body, table and oils brought along"
        );
    }

    // Replaced whole: dearer, then retired. Customers no longer see a retired one in the catalogue,
    // but can still read it (their bookings name it); operators see it.
    let path = format!("/v1/admin/house-calls/services/{id}");
    let mut dearer = massage("new price list");
    dearer["price"]["amount"] = json!(10500);
    let replace_key = key();
    let replaced = server
        .put_act(&admin, &path, &replace_key, dearer.clone())
        .await?
        .expect(200);
    assert_eq!(replaced["price"]["amount"], 10500);
    // A retry under the same key changes nothing more, whatever its body says.
    let mut other = dearer.clone();
    other["price"]["amount"] = json!(1);
    let again = server
        .put_act(&admin, &path, &replace_key, other)
        .await?
        .expect(200);
    assert_eq!(again["price"]["amount"], 10500);
    let mut retired = dearer;
    retired["active"] = json!(false);
    retired["reason"] = json!("no masseuses left");
    server
        .put_act(&admin, &path, &key(), retired)
        .await?
        .expect(200);
    assert_eq!(catalogue(&server, &rider).await?, Vec::<String>::new());
    assert_eq!(catalogue(&server, &admin).await?, std::slice::from_ref(&id));
    let one = server
        .get(&format!("/v1/house-calls/services/{id}"), &rider.token)
        .await?
        .expect(200);
    assert_eq!(one["active"], false);

    // Every action once in the audit log, newest first, with its reason.
    assert_eq!(
        audited(&server, &admin, &id).await?,
        [
            "replace_house_call_service",
            "replace_house_call_service",
            "create_house_call_service"
        ]
    );
    let entries = server.audit_of(&admin, &id).await?;
    assert_eq!(entries[0]["reason"], "no masseuses left");
    assert_eq!(entries[0]["target_kind"], "service");
    assert_eq!(entries[2]["reason"], "launching massages");

    // The key of the creation is not a key for another action.
    server
        .put_act(&admin, &path, &create_key, massage("reuse"))
        .await?
        .expect_error(422, "idempotency_key_reused");

    // Unknown services are not found; only operators write the catalogue.
    let unknown = uuid::Uuid::new_v4();
    server
        .put_act(
            &admin,
            &format!("/v1/admin/house-calls/services/{unknown}"),
            &key(),
            massage("typo"),
        )
        .await?
        .expect_error(404, "service_not_found");
    for path in [
        format!("/v1/house-calls/services/{unknown}"),
        "/v1/house-calls/services/not-a-uuid".to_owned(),
    ] {
        server
            .get(&path, &rider.token)
            .await?
            .expect_error(404, "service_not_found");
    }
    for who in [&rider, &provider] {
        server
            .act(
                who,
                "/v1/admin/house-calls/services",
                &key(),
                massage("let me in"),
            )
            .await?
            .expect_error(403, "forbidden");
        server
            .put_act(who, &path, &key(), massage("let me in"))
            .await?
            .expect_error(403, "forbidden");
    }
    assert_eq!(catalogue(&server, &admin).await?, [id]);
    server.stop().await
}

pub async fn bad_service_fields_are_refused_with_invalid_service_naming_the_field_and_nothing_is_created(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let cases: [(&str, Value, &str); 8] = [
        ("name", json!(""), "name"),
        ("name", json!("Massage\u{202e}"), "name"),
        ("description", json!("x".repeat(501)), "description"),
        ("duration_min", json!(62), "duration_min"),
        ("duration_min", json!(10), "duration_min"),
        ("prep_min", json!(61), "prep_min"),
        ("price", json!({"amount": 0, "currency": "USD"}), "price"),
        ("price", json!({"amount": 9500, "currency": "EUR"}), "price"),
    ];
    for (field_name, value, named) in cases {
        let mut body = massage("bad input");
        body[field_name] = value;
        let reply = server
            .act(&admin, "/v1/admin/house-calls/services", &key(), body)
            .await?;
        reply.expect_error(422, "invalid_service");
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(named), "{field_name}: {message}");
    }
    let mut lower_case = massage("bad input");
    lower_case["price"]["currency"] = json!("usd");
    server
        .act(&admin, "/v1/admin/house-calls/services", &key(), lower_case)
        .await?
        .expect_error(422, "invalid_service");
    // The reason and the key are required like for every operator action.
    server
        .act(
            &admin,
            "/v1/admin/house-calls/services",
            &key(),
            massage("  "),
        )
        .await?
        .expect_error(422, "invalid_reason");
    server
        .post(
            "/v1/admin/house-calls/services",
            &admin.token,
            massage("no key"),
        )
        .await?
        .expect_error(422, "idempotency_key_required");
    assert_eq!(catalogue(&server, &admin).await?, Vec::<String>::new());
    assert!(
        server
            .get("/v1/admin/audit", &admin.token)
            .await?
            .expect(200)["entries"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "nothing refused is audited"
    );
    server.stop().await
}

pub async fn operators_approve_reject_suspend_and_reinstate_providers_once_per_key_and_only_with_a_profile(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let provider = server.signup("provider").await?;
    let decide =
        |what: &'static str, who: &Account| format!("/v1/admin/providers/{}/{what}", who.id);

    // Signed up, no profile yet: listed, not bookable, and no decision can be made.
    let listed = server.provider_in_list(&admin, &provider).await?;
    assert_eq!(listed["approval"], "pending");
    assert_eq!(listed["has_profile"], false);
    assert_eq!(listed["bookable"], false);
    assert_eq!(listed["not_bookable"], "provider_profile_missing");
    assert_eq!(
        listed["missing_documents"],
        json!(["id_card", "professional_licence", "liability_insurance"])
    );
    server
        .act(
            &admin,
            &decide("approve", &provider),
            &key(),
            json!({"reason": "looks fine"}),
        )
        .await?
        .expect_error(409, "provider_profile_missing");

    // With a profile: approved once per key, bookable.
    server.write_provider_profile(&provider).await?;
    let approve_key = key();
    for _ in 0..2 {
        let approved = server
            .act(
                &admin,
                &decide("approve", &provider),
                &approve_key,
                json!({"reason": "interviewed, references checked"}),
            )
            .await?
            .expect(200);
        assert_eq!(approved["approval"], "approved");
        assert_eq!(approved["bookable"], true);
        assert_eq!(approved["not_bookable"], Value::Null);
        assert_eq!(approved["area_m"], 3000);
        assert_eq!(approved["home"]["lat"], BRYANT_PARK.lat);
    }
    server
        .act(
            &admin,
            &decide("approve", &provider),
            &key(),
            json!({"reason": "again"}),
        )
        .await?
        .expect_error(409, "invalid_provider_state");

    // Suspended: not bookable; suspending again or reinstating twice does not apply.
    let suspended = server
        .act(
            &admin,
            &decide("suspend", &provider),
            &key(),
            json!({"reason": "customer complaint"}),
        )
        .await?
        .expect(200);
    assert_eq!(suspended["approval"], "suspended");
    assert_eq!(suspended["not_bookable"], "not_approved");
    server
        .act(
            &admin,
            &decide("suspend", &provider),
            &key(),
            json!({"reason": "twice"}),
        )
        .await?
        .expect_error(409, "invalid_provider_state");
    let reinstated = server
        .act(
            &admin,
            &decide("reinstate", &provider),
            &key(),
            json!({"reason": "complaint unfounded"}),
        )
        .await?
        .expect(200);
    assert_eq!(reinstated["approval"], "approved");
    server
        .act(
            &admin,
            &decide("reinstate", &provider),
            &key(),
            json!({"reason": "twice"}),
        )
        .await?
        .expect_error(409, "invalid_provider_state");
    let rejected = server
        .act(
            &admin,
            &decide("reject", &provider),
            &key(),
            json!({"reason": "licence revoked"}),
        )
        .await?
        .expect(200);
    assert_eq!(rejected["approval"], "rejected");
    assert_eq!(
        server
            .app
            .store()
            .provider(provider.id.parse().map_err(|_| "id")?)
            .await?
            .map(|(p, _)| p.approval.as_str()),
        Some("rejected")
    );

    // Every decision once in the audit log, newest first, with the provider's name.
    assert_eq!(
        audited(&server, &admin, &provider.id).await?,
        [
            "reject_provider",
            "reinstate_provider",
            "suspend_provider",
            "approve_provider"
        ]
    );
    let entries = server.audit_of(&admin, &provider.id).await?;
    assert_eq!(entries[0]["reason"], "licence revoked");
    assert_eq!(entries[0]["target_kind"], "user");
    assert_eq!(entries[0]["target_name"], "A provider");

    // Someone who is not a provider is not found; only operators decide.
    let rider = server.signup("rider").await?;
    server
        .act(
            &admin,
            &decide("approve", &rider),
            &key(),
            json!({"reason": "x"}),
        )
        .await?
        .expect_error(404, "provider_not_found");
    server
        .act(
            &admin,
            "/v1/admin/providers/not-a-uuid/approve",
            &key(),
            json!({"reason": "x"}),
        )
        .await?
        .expect_error(404, "provider_not_found");
    for who in [&rider, &provider] {
        server
            .act(
                who,
                &decide("approve", &provider),
                &key(),
                json!({"reason": "me"}),
            )
            .await?
            .expect_error(403, "forbidden");
        server
            .get("/v1/admin/providers", &who.token)
            .await?
            .expect_error(403, "forbidden");
    }
    server.stop().await
}

pub async fn a_provider_declares_documents_operators_see_their_expiry_and_an_expired_one_stops_approval(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let provider = server.provider_with_profile().await?;
    let docs = "/v1/providers/me/documents";

    let none = server.get(docs, &provider.token).await?.expect(200);
    assert_eq!(none["documents"], json!([]));
    assert_eq!(
        none["missing"],
        json!(["id_card", "professional_licence", "liability_insurance"])
    );
    let tomorrow = server.city_day(1);
    let declared = server
        .put(
            &format!("{docs}/liability_insurance"),
            &provider.token,
            json!({"number": "LIA-2231", "expires_on": tomorrow}),
        )
        .await?
        .expect(200);
    assert_eq!(
        declared["documents"],
        json!([{"kind": "liability_insurance", "number": "LIA-2231", "expires_on": tomorrow, "expired": false}])
    );
    assert_eq!(
        declared["missing"],
        json!(["id_card", "professional_licence"])
    );
    let read = server.get(docs, &provider.token).await?.expect(200);
    assert_eq!(read, declared);
    let id: UserId = provider.id.parse().map_err(|_| "id")?;
    let stored = server.app.store().provider_documents(id).await?;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].number, "LIA-2231");

    // A driver's kind, a bad number, a bad date, a day past: refused, nothing written.
    let yesterday = server.city_day(-1);
    for (kind, body, status, code) in [
        (
            "licence",
            json!({"number": "A1", "expires_on": tomorrow}),
            422,
            "invalid_document_kind",
        ),
        (
            "id_card",
            json!({"number": "-A1", "expires_on": tomorrow}),
            422,
            "invalid_document_number",
        ),
        (
            "id_card",
            json!({"number": "A1", "expires_on": "2027-02-30"}),
            422,
            "invalid_expiry_date",
        ),
        (
            "id_card",
            json!({"number": "A1", "expires_on": yesterday}),
            409,
            "document_expired",
        ),
    ] {
        server
            .put(&format!("{docs}/{kind}"), &provider.token, body)
            .await?
            .expect_error(status, code);
    }
    assert_eq!(server.app.store().provider_documents(id).await?.len(), 1);

    // Drivers keep their own kinds and their own routes; providers theirs.
    let driver = server.signup("driver").await?;
    server
        .put(
            "/v1/drivers/me/documents/id_card",
            &driver.token,
            json!({"number": "A1", "expires_on": tomorrow}),
        )
        .await?
        .expect_error(422, "invalid_document_kind");
    server
        .put(
            &format!("{docs}/id_card"),
            &driver.token,
            json!({"number": "A1", "expires_on": tomorrow}),
        )
        .await?
        .expect_error(403, "forbidden");
    server
        .get(docs, &driver.token)
        .await?
        .expect_error(403, "forbidden");

    // Operators see the documents; approved while valid, the provider is bookable.
    let path = |what: &str| format!("/v1/admin/providers/{}/{what}", provider.id);
    server
        .act(&admin, &path("approve"), &key(), json!({"reason": "ok"}))
        .await?
        .expect(200);
    let listed = server.provider_in_list(&admin, &provider).await?;
    assert_eq!(listed["bookable"], true);
    assert_eq!(listed["documents"][0]["kind"], "liability_insurance");
    assert_eq!(
        listed["missing_documents"],
        json!(["id_card", "professional_licence"])
    );

    // Two days on, the insurance has expired: not bookable, and no reinstatement until it is renewed.
    server.clock.advance_secs(2 * 86_400);
    let listed = server.provider_in_list(&admin, &provider).await?;
    assert_eq!(listed["bookable"], false);
    assert_eq!(listed["not_bookable"], "document_expired");
    assert_eq!(listed["documents"][0]["expired"], true);
    server
        .act(
            &admin,
            &path("suspend"),
            &key(),
            json!({"reason": "insurance lapsed"}),
        )
        .await?
        .expect(200);
    server
        .act(
            &admin,
            &path("reinstate"),
            &key(),
            json!({"reason": "back"}),
        )
        .await?
        .expect_error(409, "document_expired");
    server
        .put(
            &format!("{docs}/liability_insurance"),
            &provider.token,
            json!({"number": "LIA-2232", "expires_on": server.city_day(365)}),
        )
        .await?
        .expect(200);
    let reinstated = server
        .act(
            &admin,
            &path("reinstate"),
            &key(),
            json!({"reason": "renewed"}),
        )
        .await?
        .expect(200);
    assert_eq!(reinstated["bookable"], true);
    assert_eq!(reinstated["documents"][0]["number"], "LIA-2232");
    server.stop().await
}
