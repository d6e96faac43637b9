//! The operations console acts: every operator action (cancel with or without a fee, refund, waive a
//! fee, reassign, suspend and reinstate, approve and reject) needs a reason and an idempotency key, goes
//! through the state machines and the ledger, and is recorded in the audit log with who did it and why;
//! drivers go online only once approved and with no document expired; people are found by name, e-mail
//! and phone.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, COLUMBUS_CIRCLE, GRAND_CENTRAL, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, Reply, TestServer, field, usd};
use doorstep_domain::UserId;
use doorstep_domain::onboarding::CalendarDate;
use reqwest::Method;
use serde_json::{Value, json};

impl TestServer {
    /// An operator action: POST `path` as `admin` with `body` and the idempotency key `key`.
    pub async fn act(
        &self,
        admin: &Account,
        path: &str,
        key: &str,
        body: Value,
    ) -> TestResult<Reply> {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(&admin.token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await?;
        TestServer::reply(response).await
    }

    /// An operator's approval of the driver `driver` (`/v1/admin/drivers/{id}/approve`) under `key`.
    pub async fn approve(
        &self,
        admin: &Account,
        driver: &Account,
        key: &str,
        reason: &str,
    ) -> TestResult<Reply> {
        let path = format!("/v1/admin/drivers/{}/approve", driver.id);
        self.act(admin, &path, key, json!({ "reason": reason }))
            .await
    }

    /// The audit entries about `target`, newest first.
    pub async fn audit_of(&self, admin: &Account, target: &str) -> TestResult<Vec<Value>> {
        let page = self
            .get(&format!("/v1/admin/audit?target={target}"), &admin.token)
            .await?
            .expect(200);
        Ok(page["entries"].as_array().cloned().unwrap_or_default())
    }

    /// The day `days` after today in the city, as `YYYY-MM-DD`.
    fn day_after_today(&self, days: i64) -> String {
        CalendarDate::from_days(self.app.today().days() + days)
            .map(|d| d.to_string())
            .unwrap_or_default()
    }
}

/// Checks the newest audit entry about `target`: `action` by `admin` with `reason`.
#[track_caller]
fn assert_audited(entries: &[Value], action: &str, admin: &Account, reason: &str) {
    let newest = entries
        .first()
        .unwrap_or_else(|| panic!("an audit entry for {action}"));
    assert_eq!(newest["action"], action, "{newest}");
    assert_eq!(newest["actor"]["user_id"], admin.id.as_str(), "{newest}");
    assert_eq!(newest["actor"]["name"], "An admin", "{newest}");
    assert_eq!(newest["reason"], reason, "{newest}");
    assert!(newest["at"].is_string(), "{newest}");
}

pub async fn an_operator_refunds_part_of_a_fare_with_balanced_entries_and_never_more_than_was_paid(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let ride = server
        .completed_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let paid = usd(&ride["final_fare"]);
    assert!(paid > 300, "{ride}");
    let refund = format!("/v1/admin/rides/{ride_id}/refund");

    // Every action needs a reason and a key, and only admins may act.
    server
        .act(
            &admin,
            &refund,
            "r-1",
            json!({"amount": 300, "reason": "  "}),
        )
        .await?
        .expect_error(422, "invalid_reason");
    server
        .post(
            &refund,
            &admin.token,
            json!({"amount": 300, "reason": "late"}),
        )
        .await?
        .expect_error(422, "idempotency_key_required");
    server
        .act(
            &rider,
            &refund,
            "r-1",
            json!({"amount": 300, "reason": "late"}),
        )
        .await?
        .expect_error(403, "forbidden");
    server
        .act(
            &admin,
            &refund,
            "r-0",
            json!({"amount": 0, "reason": "late"}),
        )
        .await?
        .expect_error(422, "invalid_amount");

    // A partial refund posts balanced entries: the rider gets 300 back out of the refunds account.
    let ledger = server
        .act(
            &admin,
            &refund,
            "r-1",
            json!({"amount": 300, "reason": "driver took a detour"}),
        )
        .await?
        .expect(200);
    assert_eq!(ledger["total"], 0, "{ledger}");
    assert_eq!(usd(&ledger["refundable"]), paid - 300, "{ledger}");
    let refunds: Vec<&Value> = ledger["postings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["kind"] == "refund")
        .collect();
    assert_eq!(refunds.len(), 1, "{ledger}");
    let entries = refunds[0]["entries"].as_array().ok_or("entries")?;
    assert!(
        entries
            .iter()
            .any(|e| e["account"] == format!("rider:{}", rider.id) && usd(&e["amount"]) == 300)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["account"] == "platform:refunds" && usd(&e["amount"]) == -300)
    );
    assert!(server.trial_balance().await?.iter().all(|&sum| sum == 0));
    assert_audited(
        &server.audit_of(&admin, &ride_id).await?,
        "refund",
        &admin,
        "driver took a detour",
    );

    // A retry with the same key refunds nothing more; the key cannot be reused for another action.
    let again = server
        .act(
            &admin,
            &refund,
            "r-1",
            json!({"amount": 300, "reason": "driver took a detour"}),
        )
        .await?
        .expect(200);
    assert_eq!(usd(&again["refundable"]), paid - 300, "{again}");
    assert_eq!(server.audit_of(&admin, &ride_id).await?.len(), 1);
    server
        .act(
            &admin,
            &format!("/v1/admin/rides/{ride_id}/waive-fee"),
            "r-1",
            json!({"reason": "x"}),
        )
        .await?
        .expect_error(422, "idempotency_key_reused");

    // Never more than what is left.
    server
        .act(
            &admin,
            &refund,
            "r-2",
            json!({"amount": paid - 299, "reason": "too much"}),
        )
        .await?
        .expect_error(409, "refund_too_large");
    let full = server
        .act(
            &admin,
            &refund,
            "r-3",
            json!({"amount": paid - 300, "reason": "the rest"}),
        )
        .await?
        .expect(200);
    assert_eq!(usd(&full["refundable"]), 0, "{full}");
    assert_eq!(full["total"], 0);
    server
        .act(
            &admin,
            &refund,
            "r-4",
            json!({"amount": 1, "reason": "one more cent"}),
        )
        .await?
        .expect_error(409, "refund_too_large");
    assert!(server.trial_balance().await?.iter().all(|&sum| sum == 0));
    assert_eq!(server.audit_of(&admin, &ride_id).await?.len(), 2);

    // Two refunds at once that each fit but not both: one is refused, whatever the order.
    let second = server
        .completed_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let second_id = field(&second, "ride_id")?;
    let second_paid = usd(&second["final_fare"]);
    let path = format!("/v1/admin/rides/{second_id}/refund");
    let body = json!({"amount": second_paid - 100, "reason": "double click in two tabs"});
    let (a, b) = tokio::join!(
        server.act(&admin, &path, "race-a", body.clone()),
        server.act(&admin, &path, "race-b", body.clone()),
    );
    let mut statuses = [a?.status, b?.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let ledger = server
        .get(&format!("/v1/admin/rides/{second_id}/ledger"), &admin.token)
        .await?
        .expect(200);
    assert_eq!(usd(&ledger["refundable"]), 100, "{ledger}");
    assert!(server.trial_balance().await?.iter().all(|&sum| sum == 0));

    // A ride nobody paid for has nothing to refund.
    let unpaid = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    server
        .act(
            &admin,
            &format!("/v1/admin/rides/{}/refund", field(&unpaid, "ride_id")?),
            "r-5",
            json!({"amount": 1, "reason": "x"}),
        )
        .await?
        .expect_error(409, "nothing_to_refund");
    server.stop().await
}

pub async fn an_operator_cancels_with_or_without_a_fee_and_waives_a_charged_fee(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;

    // Without a fee: nothing is posted.
    let free = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let free_id = field(&free, "ride_id")?;
    let cancelled = server
        .act(
            &admin,
            &format!("/v1/admin/rides/{free_id}/cancel"),
            "c-1",
            json!({"reason": "rider called support", "charge_fee": false}),
        )
        .await?
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["cancel_fee"].is_null(), "{cancelled}");
    let ledger = server
        .get(&format!("/v1/admin/rides/{free_id}/ledger"), &admin.token)
        .await?
        .expect(200);
    assert_eq!(
        ledger["postings"].as_array().map(Vec::len),
        Some(0),
        "{ledger}"
    );
    assert_audited(
        &server.audit_of(&admin, &free_id).await?,
        "cancel_ride",
        &admin,
        "rider called support",
    );
    let events = server.timeline(&rider, &free_id).await?;
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "cancelled" && e["by"] == "admin"),
        "{events:?}"
    );
    // Nothing was charged, so there is no fee to waive; a cancelled ride cannot be cancelled again.
    server
        .act(
            &admin,
            &format!("/v1/admin/rides/{free_id}/waive-fee"),
            "w-0",
            json!({"reason": "x"}),
        )
        .await?
        .expect_error(409, "no_fee_to_waive");
    server
        .act(
            &admin,
            &format!("/v1/admin/rides/{free_id}/cancel"),
            "c-1b",
            json!({"reason": "again"}),
        )
        .await?
        .expect_error(409, "invalid_ride_state");

    // With the fee: the rider pays it, the driver on the way earns their share, the books balance.
    server.report_position(&driver, BRYANT_PARK).await?;
    let charged = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let charged_id = field(&charged, "ride_id")?;
    let cancelled = server
        .act(
            &admin,
            &format!("/v1/admin/rides/{charged_id}/cancel"),
            "c-2",
            json!({"reason": "rider no-show", "charge_fee": true}),
        )
        .await?
        .expect(200);
    let fee = server.app.config().pricing.cancel_fee_minor;
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(usd(&cancelled["cancel_fee"]), fee, "{cancelled}");
    let earnings = server
        .get("/v1/drivers/me/earnings", &driver.token)
        .await?
        .expect(200);
    assert!(usd(&earnings["total"]) > 0, "{earnings}");
    assert!(server.trial_balance().await?.iter().all(|&sum| sum == 0));
    assert_audited(
        &server.audit_of(&admin, &charged_id).await?,
        "cancel_ride_with_fee",
        &admin,
        "rider no-show",
    );

    // The fee is waived once, as a refund of the fee.
    let waived = server
        .act(
            &admin,
            &format!("/v1/admin/rides/{charged_id}/waive-fee"),
            "w-1",
            json!({"reason": "the driver was late"}),
        )
        .await?
        .expect(200);
    assert_eq!(usd(&waived["refundable"]), 0, "{waived}");
    assert_eq!(waived["total"], 0);
    assert!(
        waived["postings"].as_array().is_some_and(|ps| ps
            .iter()
            .any(|p| p["waiver"] == true && p["kind"] == "refund")),
        "{waived}"
    );
    server
        .act(
            &admin,
            &format!("/v1/admin/rides/{charged_id}/waive-fee"),
            "w-2",
            json!({"reason": "again"}),
        )
        .await?
        .expect_error(409, "fee_already_waived");
    assert!(server.trial_balance().await?.iter().all(|&sum| sum == 0));
    assert_audited(
        &server.audit_of(&admin, &charged_id).await?,
        "waive_fee",
        &admin,
        "the driver was late",
    );

    // A completed ride cannot be cancelled.
    server.report_position(&driver, BRYANT_PARK).await?;
    let done = server
        .completed_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    server
        .act(
            &admin,
            &format!("/v1/admin/rides/{}/cancel", field(&done, "ride_id")?),
            "c-3",
            json!({"reason": "x", "charge_fee": true}),
        )
        .await?
        .expect_error(409, "invalid_ride_state");
    server.stop().await
}

pub async fn an_operator_reassigns_an_assigned_ride_to_another_driver_or_back_to_dispatch(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let rider = server.signup("rider").await?;
    let first = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &first, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    let reassign = format!("/v1/admin/rides/{ride_id}/reassign");
    let second = server.driver_at(GRAND_CENTRAL).await?;

    // Not to someone who is not a free driver.
    server
        .act(
            &admin,
            &reassign,
            "a-0",
            json!({"reason": "x", "driver_id": rider.id}),
        )
        .await?
        .expect_error(404, "driver_not_found");
    let offline = server.signup("driver").await?;
    server
        .act(
            &admin,
            &reassign,
            "a-1",
            json!({"reason": "x", "driver_id": offline.id}),
        )
        .await?
        .expect_error(409, "driver_unavailable");

    // To the second driver: the ride is theirs, the first is free and not offered it again.
    let moved = server
        .act(
            &admin,
            &reassign,
            "a-2",
            json!({"reason": "first driver's car broke down", "driver_id": second.id}),
        )
        .await?
        .expect(200);
    assert_eq!(moved["state"], "driver_assigned");
    assert_eq!(moved["driver_id"], second.id.as_str());
    assert_eq!(
        server.ride(&second, &ride_id).await?["driver_id"],
        second.id.as_str()
    );
    let seen = server.ride(&rider, &ride_id).await?;
    assert_eq!(seen["driver_id"], second.id.as_str());
    assert_audited(
        &server.audit_of(&admin, &ride_id).await?,
        "reassign_ride",
        &admin,
        "first driver's car broke down",
    );
    let events = server.timeline(&rider, &ride_id).await?;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(
        kinds.ends_with(&["driver_cancelled", "driver_assigned"]),
        "{kinds:?}"
    );

    // Back to dispatch: the second driver loses it too, and a third driver is offered it.
    let released = server
        .act(
            &admin,
            &reassign,
            "a-3",
            json!({"reason": "second driver asked to drop it"}),
        )
        .await?
        .expect(200);
    assert_eq!(released["state"], "requested");
    assert!(released["driver_id"].is_null(), "{released}");
    assert_audited(
        &server.audit_of(&admin, &ride_id).await?,
        "release_ride",
        &admin,
        "second driver asked to drop it",
    );
    let third = server.driver_at(COLUMBUS_CIRCLE).await?;
    server.report_position(&first, BRYANT_PARK).await?;
    server.report_position(&second, GRAND_CENTRAL).await?;
    let offer = server.wait_for_offer(&third, &ride_id).await?;
    assert!(server.offers(&first).await?.is_empty());
    assert!(server.offers(&second).await?.is_empty());
    server.accept(&third, &offer).await?;

    // A ride waiting for a driver has no driver to take it from.
    let waiting = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    server
        .act(
            &admin,
            &format!("/v1/admin/rides/{}/reassign", field(&waiting, "ride_id")?),
            "a-4",
            json!({"reason": "x"}),
        )
        .await?
        .expect_error(409, "invalid_ride_state");
    server.stop().await
}

pub async fn a_suspension_blocks_the_account_and_takes_a_driver_offline_until_reinstated(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let rider = server.signup("rider").await?;
    let driver_id: UserId = driver.id.parse()?;
    assert!(
        server
            .app
            .with_fleet(|f| f.driver(driver_id).is_some_and(|d| d.online()))
    );

    let suspended = server
        .act(
            &admin,
            &format!("/v1/admin/people/{}/suspend", driver.id),
            "s-1",
            json!({"reason": "fake documents"}),
        )
        .await?
        .expect(200);
    assert_eq!(suspended["approval"], "suspended", "{suspended}");
    assert!(suspended["suspended_at"].is_string());
    // The token answers 403, logging in too, and the driver is offline: no offer reaches them.
    server
        .get("/v1/me", &driver.token)
        .await?
        .expect_error(403, "account_suspended");
    server
        .post_empty("/v1/drivers/me/online", &driver.token)
        .await?
        .expect_error(403, "account_suspended");
    assert!(
        !server
            .app
            .with_fleet(|f| f.driver(driver_id).is_some_and(|d| d.online()))
    );
    assert!(
        server
            .app
            .store()
            .online_drivers()
            .await?
            .iter()
            .all(|(d, _)| *d != driver_id)
    );
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    crate::server::let_dispatch_run().await;
    assert_eq!(
        server.ride(&rider, &field(&ride, "ride_id")?).await?["state"],
        "requested"
    );
    assert_audited(
        &server.audit_of(&admin, &driver.id).await?,
        "suspend",
        &admin,
        "fake documents",
    );
    server
        .act(
            &admin,
            &format!("/v1/admin/people/{}/suspend", driver.id),
            "s-2",
            json!({"reason": "again"}),
        )
        .await?
        .expect_error(409, "already_suspended");
    server
        .act(
            &admin,
            &format!("/v1/admin/people/{}/suspend", admin.id),
            "s-3",
            json!({"reason": "oops"}),
        )
        .await?
        .expect_error(409, "cannot_suspend_admin");

    // Reinstated: the same token works again and the driver can go online.
    let back = server
        .act(
            &admin,
            &format!("/v1/admin/people/{}/reinstate", driver.id),
            "s-4",
            json!({"reason": "documents checked"}),
        )
        .await?
        .expect(200);
    assert_eq!(back["approval"], "approved", "{back}");
    server.get("/v1/me", &driver.token).await?.expect(200);
    server.go_online_at(&driver, BRYANT_PARK).await?;
    let entries = server.audit_of(&admin, &driver.id).await?;
    assert_audited(&entries, "reinstate", &admin, "documents checked");
    assert_eq!(entries[0]["target_name"], "A driver", "{}", entries[0]);

    // A suspended rider cannot log in either.
    let email = format!("suspended-{}@example.com", uuid::Uuid::new_v4().simple());
    let signed = server
        .call(Method::POST, "/v1/auth/signup", None, Some(&json!({"email": email, "password": "correct horse battery", "name": "Sam", "role": "rider"})))
        .await?
        .expect(201);
    server
        .act(
            &admin,
            &format!("/v1/admin/people/{}/suspend", field(&signed, "user_id")?),
            "s-5",
            json!({"reason": "chargebacks"}),
        )
        .await?
        .expect(200);
    server
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"email": email, "password": "correct horse battery"})),
        )
        .await?
        .expect_error(403, "account_suspended");
    server
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"email": email, "password": "wrong horse battery"})),
        )
        .await?
        .expect_error(401, "invalid_credentials");
    server.stop().await
}

pub async fn a_driver_goes_online_only_after_an_operator_approves_them(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let driver = server.signup_unapproved("driver").await?;

    let onboarding = server
        .get("/v1/drivers/me/onboarding", &driver.token)
        .await?
        .expect(200);
    assert_eq!(onboarding["approval"], "pending", "{onboarding}");
    assert_eq!(onboarding["may_go_online"], false);
    assert_eq!(
        onboarding["missing"].as_array().map(Vec::len),
        Some(3),
        "{onboarding}"
    );
    server
        .post_empty("/v1/drivers/me/online", &driver.token)
        .await?
        .expect_error(409, "driver_not_approved");

    // Documents: checked, one of each kind.
    let in_a_year = server.day_after_today(365);
    for (kind, number) in [
        ("licence", "NY-D123 4567"),
        ("insurance", "INS-77"),
        ("vehicle_registration", "REG 1"),
    ] {
        let put = server
            .call(
                Method::PUT,
                &format!("/v1/drivers/me/documents/{kind}"),
                Some(&driver.token),
                Some(&json!({"number": number, "expires_on": in_a_year})),
            )
            .await?
            .expect(200);
        assert!(
            put["documents"].as_array().is_some_and(|d| d
                .iter()
                .any(|d| d["kind"] == kind && d["number"] == number && d["expired"] == false)),
            "{put}"
        );
    }
    for (kind, body, code) in [
        (
            "passport",
            json!({"number": "P1", "expires_on": in_a_year}),
            "invalid_document_kind",
        ),
        (
            "licence",
            json!({"number": "P_1", "expires_on": in_a_year}),
            "invalid_document_number",
        ),
        (
            "licence",
            json!({"number": "P1", "expires_on": "2027-02-30"}),
            "invalid_expiry_date",
        ),
    ] {
        server
            .call(
                Method::PUT,
                &format!("/v1/drivers/me/documents/{kind}"),
                Some(&driver.token),
                Some(&body),
            )
            .await?
            .expect_error(422, code);
    }
    // An expired document is refused for what day it is, not for its form.
    server
        .call(
            Method::PUT,
            "/v1/drivers/me/documents/licence",
            Some(&driver.token),
            Some(&json!({"number": "P1", "expires_on": server.day_after_today(-1)})),
        )
        .await?
        .expect_error(409, "document_expired");
    server
        .post_empty("/v1/drivers/me/online", &driver.token)
        .await?
        .expect_error(409, "driver_not_approved");

    // Approved by an operator (once the car is registered): online.
    server.register_vehicle(&driver, "T12 4567C").await?;
    let approved = server
        .approve(&admin, &driver, "p-1", "documents verified")
        .await?
        .expect(200);
    assert_eq!(approved["approval"], "approved");
    assert_audited(
        &server.audit_of(&admin, &driver.id).await?,
        "approve_driver",
        &admin,
        "documents verified",
    );
    server.go_online_at(&driver, BRYANT_PARK).await?;
    server
        .approve(&admin, &driver, "p-2", "again")
        .await?
        .expect_error(409, "already_approved");

    // Rejected: offline, and told why.
    server
        .act(
            &admin,
            &format!("/v1/admin/drivers/{}/reject", driver.id),
            "p-3",
            json!({"reason": "licence suspended by the DMV"}),
        )
        .await?
        .expect(200);
    let driver_id: UserId = driver.id.parse()?;
    assert!(
        !server
            .app
            .with_fleet(|f| f.driver(driver_id).is_some_and(|d| d.online()))
    );
    let onboarding = server
        .get("/v1/drivers/me/onboarding", &driver.token)
        .await?
        .expect(200);
    assert_eq!(onboarding["approval"], "rejected");
    assert_eq!(onboarding["reason"], "licence suspended by the DMV");
    server
        .post_empty("/v1/drivers/me/online", &driver.token)
        .await?
        .expect_error(409, "driver_not_approved");
    // Only drivers can be approved.
    let rider = server.signup("rider").await?;
    server
        .approve(&admin, &rider, "p-4", "x")
        .await?
        .expect_error(404, "driver_not_found");
    server.stop().await
}

pub async fn approving_a_driver_without_a_vehicle_is_refused_and_changes_nothing_until_they_register_one(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let driver = server.signup_unapproved("driver").await?;
    let page = format!("/v1/admin/people/{}", driver.id);
    let before = server.get(&page, &admin.token).await?.expect(200);
    assert_eq!(before["onboarding"]["vehicle"], Value::Null, "{before}");

    // No vehicle: refused with a code, and nothing changed (approval, audit log, going online).
    server
        .approve(&admin, &driver, "v-1", "documents verified")
        .await?
        .expect_error(409, "vehicle_missing");
    let after = server.get(&page, &admin.token).await?.expect(200);
    assert_eq!(after["person"]["approval"], "pending", "{after}");
    assert_eq!(after["onboarding"]["approval"], "pending", "{after}");
    assert_eq!(after["audit"], json!([]), "{after}");
    assert!(server.audit_of(&admin, &driver.id).await?.is_empty());
    server
        .post_empty("/v1/drivers/me/online", &driver.token)
        .await?
        .expect_error(409, "driver_not_approved");

    // Once the driver registers a car, the same request (same key: the refusal recorded nothing)
    // approves them, and the console's page shows the car.
    server.register_vehicle(&driver, "t12 4567c").await?;
    let onboarding = server
        .get("/v1/drivers/me/onboarding", &driver.token)
        .await?
        .expect(200);
    assert_eq!(onboarding["vehicle"]["plate"], "T12 4567C", "{onboarding}");
    let approved = server
        .approve(&admin, &driver, "v-1", "documents verified")
        .await?
        .expect(200);
    assert_eq!(approved["approval"], "approved", "{approved}");
    let entries = server.audit_of(&admin, &driver.id).await?;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_audited(&entries, "approve_driver", &admin, "documents verified");
    let shown = server.get(&page, &admin.token).await?.expect(200);
    assert_eq!(
        shown["onboarding"]["vehicle"],
        json!({"make": "Toyota", "model": "Prius", "colour": "Blue", "plate": "T12 4567C"}),
        "{shown}"
    );
    server.go_online_at(&driver, BRYANT_PARK).await?;
    server.stop().await
}

pub async fn an_expired_document_takes_a_driver_offline_and_keeps_them_offline(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let driver_id: UserId = driver.id.parse()?;
    let tomorrow = server.day_after_today(1);
    server
        .call(
            Method::PUT,
            "/v1/drivers/me/documents/insurance",
            Some(&driver.token),
            Some(&json!({"number": "INS-1", "expires_on": tomorrow})),
        )
        .await?
        .expect(200);
    // Still valid: the sweep leaves the driver online.
    assert_eq!(server.app.sweep_expired_documents().await?, 0);
    assert!(
        server
            .app
            .with_fleet(|f| f.driver(driver_id).is_some_and(|d| d.online()))
    );

    // Two days on the insurance has expired: the sweep takes the driver offline.
    server.clock.advance_secs(2 * 24 * 3600);
    assert_eq!(server.app.sweep_expired_documents().await?, 1);
    assert!(
        !server
            .app
            .with_fleet(|f| f.driver(driver_id).is_some_and(|d| d.online()))
    );
    assert!(
        server
            .app
            .store()
            .online_drivers()
            .await?
            .iter()
            .all(|(d, _)| *d != driver_id)
    );
    let onboarding = server
        .get("/v1/drivers/me/onboarding", &driver.token)
        .await?
        .expect(200);
    assert_eq!(onboarding["may_go_online"], false, "{onboarding}");
    server
        .post_empty("/v1/drivers/me/online", &driver.token)
        .await?
        .expect_error(409, "document_expired");

    // A new insurance: online again.
    let next_year = server.day_after_today(365);
    server
        .call(
            Method::PUT,
            "/v1/drivers/me/documents/insurance",
            Some(&driver.token),
            Some(&json!({"number": "INS-2", "expires_on": next_year})),
        )
        .await?
        .expect(200);
    server.go_online_at(&driver, BRYANT_PARK).await?;
    assert_eq!(server.app.sweep_expired_documents().await?, 0);
    server.stop().await
}

pub async fn people_are_found_by_name_email_and_phone_and_have_a_page(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let admin = server.admin().await?;
    let email = format!("zelda-{}@example.com", uuid::Uuid::new_v4().simple());
    let signed = server
        .call(Method::POST, "/v1/auth/signup", None, Some(&json!({"email": email, "password": "correct horse battery", "name": "Zelda Quartermaine", "role": "rider"})))
        .await?
        .expect(201);
    let zelda = Account {
        id: field(&signed, "user_id")?,
        token: field(&signed, "token")?,
    };
    server
        .call(
            Method::PUT,
            "/v1/me/phone",
            Some(&zelda.token),
            Some(&json!({"phone": "12125550100"})),
        )
        .await?
        .expect_error(422, "invalid_phone");
    let phone = server
        .call(
            Method::PUT,
            "/v1/me/phone",
            Some(&zelda.token),
            Some(&json!({"phone": "+1 (212) 555-0199"})),
        )
        .await?
        .expect(200);
    assert_eq!(phone["phone"], "+12125550199");
    server.signup("rider").await?;

    for q in ["quarterm", "ZELDA", &email[..12], "555-0199", "2125550199"] {
        let found = server
            .get(
                &format!("/v1/admin/people?q={}", urlencode(q)),
                &admin.token,
            )
            .await?
            .expect(200);
        let people = found["people"].as_array().ok_or("people")?;
        assert_eq!(people.len(), 1, "{q}: {found}");
        assert_eq!(people[0]["user_id"], zelda.id.as_str());
        assert_eq!(people[0]["name"], "Zelda Quartermaine");
        assert_eq!(people[0]["phone"], "+12125550199");
    }
    let none = server
        .get("/v1/admin/people?q=%25", &admin.token)
        .await?
        .expect(200);
    assert_eq!(
        none["people"].as_array().map(Vec::len),
        Some(0),
        "a % is a character, not a wildcard: {none}"
    );
    let by_id = server
        .get(
            &format!("/v1/admin/people?ids={},{}", zelda.id, admin.id),
            &admin.token,
        )
        .await?
        .expect(200);
    assert_eq!(by_id["people"].as_array().map(Vec::len), Some(2), "{by_id}");
    server
        .get("/v1/admin/people?q=zelda", &zelda.token)
        .await?
        .expect_error(403, "forbidden");

    // A driver's page: profile, rides, documents and the actions about them.
    let driver = server.driver_at(BRYANT_PARK).await?;
    server
        .completed_ride(&zelda, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let page = server
        .get(&format!("/v1/admin/people/{}", driver.id), &admin.token)
        .await?
        .expect(200);
    assert_eq!(page["person"]["role"], "driver");
    assert_eq!(page["person"]["approval"], "approved");
    assert_eq!(page["rides"].as_array().map(Vec::len), Some(1), "{page}");
    assert!(page["onboarding"]["documents"].is_array(), "{page}");
    let rider_page = server
        .get(&format!("/v1/admin/people/{}", zelda.id), &admin.token)
        .await?
        .expect(200);
    assert_eq!(rider_page["rides"].as_array().map(Vec::len), Some(1));
    assert!(rider_page["onboarding"].is_null());
    server
        .get(
            &format!("/v1/admin/people/{}", uuid::Uuid::new_v4()),
            &admin.token,
        )
        .await?
        .expect_error(404, "user_not_found");
    server.stop().await
}

pub async fn the_audit_log_pages_newest_first_and_filters_by_operator(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let first = server.admin().await?;
    let second = server.admin().await?;
    let drivers = [
        server.signup_unapproved("driver").await?,
        server.signup_unapproved("driver").await?,
        server.signup_unapproved("driver").await?,
    ];
    for (i, d) in drivers.iter().enumerate() {
        let admin = if i == 1 { &second } else { &first };
        server.register_vehicle(d, &format!("AUD {i}")).await?;
        server
            .approve(admin, d, &format!("k{i}"), &format!("batch {i}"))
            .await?
            .expect(200);
    }
    let page = server
        .get(
            &format!("/v1/admin/audit?actor={}&limit=1", first.id),
            &first.token,
        )
        .await?
        .expect(200);
    let entries = page["entries"].as_array().ok_or("entries")?;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["reason"], "batch 2");
    let cursor = page["next_cursor"].as_i64().ok_or("a next page")?;
    let next = server
        .get(
            &format!("/v1/admin/audit?actor={}&limit=1&cursor={cursor}", first.id),
            &first.token,
        )
        .await?
        .expect(200);
    assert_eq!(next["entries"][0]["reason"], "batch 0", "{next}");
    let all = server
        .get("/v1/admin/audit", &first.token)
        .await?
        .expect(200);
    assert_eq!(all["entries"].as_array().map(Vec::len), Some(3));
    assert!(all["next_cursor"].is_null());
    for bad in [
        "target=nope",
        "actor=nope",
        "cursor=0",
        "limit=0",
        "limit=201",
    ] {
        let reply = server
            .get(&format!("/v1/admin/audit?{bad}"), &first.token)
            .await?;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.body);
    }
    server.stop().await
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
