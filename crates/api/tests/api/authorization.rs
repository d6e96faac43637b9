//! Who may do what: other people's rides and offers are not found, roles are enforced, and every route but
//! the public ones needs a valid token.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, COLUMBUS_CIRCLE, GRAND_CENTRAL, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{TestServer, field};
use reqwest::Method;
use serde_json::json;

pub async fn another_rider_gets_404_for_a_ride_that_is_not_theirs(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let owner = server.signup("rider").await?;
    let stranger = server.signup("rider").await?;
    let ride = server
        .request_ride(&owner, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;

    server
        .get(&format!("/v1/rides/{ride_id}"), &stranger.token)
        .await?
        .expect_error(404, "ride_not_found");
    server
        .get(&format!("/v1/rides/{ride_id}/events"), &stranger.token)
        .await?
        .expect_error(404, "ride_not_found");
    server
        .post_empty(&format!("/v1/rides/{ride_id}/cancel"), &stranger.token)
        .await?
        .expect_error(404, "ride_not_found");
    server
        .post(
            &format!("/v1/rides/{ride_id}/rating"),
            &stranger.token,
            json!({"stars": 1}),
        )
        .await?
        .expect_error(404, "ride_not_found");
    let stranger_rides = server.get("/v1/rides", &stranger.token).await?.expect(200);
    assert_eq!(stranger_rides["rides"].as_array().map(Vec::len), Some(0));

    // The ride is untouched, and its owner and an admin can see it.
    assert_eq!(server.ride(&owner, &ride_id).await?["state"], "requested");
    let admin = server.admin().await?;
    assert_eq!(
        server.ride(&admin, &ride_id).await?["ride_id"],
        ride_id.as_str()
    );
    server.stop().await
}

pub async fn a_driver_cannot_take_or_drive_a_ride_offered_or_assigned_to_another_driver(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let first = server.driver_at(BRYANT_PARK).await?;
    let second = server.driver_at(COLUMBUS_CIRCLE).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let (chosen, offer) = server
        .wait_for_offer_to_one_of(&[&first, &second], &ride_id)
        .await?;
    let (offered, other) = if chosen == 0 {
        (&first, &second)
    } else {
        (&second, &first)
    };
    let offer_id = field(&offer, "offer_id")?;

    server
        .post_empty(&format!("/v1/offers/{offer_id}/accept"), &other.token)
        .await?
        .expect_error(404, "offer_not_found");
    server
        .post_empty(&format!("/v1/offers/{offer_id}/decline"), &other.token)
        .await?
        .expect_error(404, "offer_not_found");
    server
        .get(&format!("/v1/rides/{ride_id}"), &other.token)
        .await?
        .expect_error(404, "ride_not_found");

    server.accept(offered, &offer).await?;
    for action in ["arrive", "complete", "cancel"] {
        server
            .post_empty(&format!("/v1/rides/{ride_id}/{action}"), &other.token)
            .await?
            .expect_error(404, "ride_not_found");
    }
    server
        .post(
            &format!("/v1/rides/{ride_id}/start"),
            &other.token,
            json!({"pin": field(&ride, "pin")?}),
        )
        .await?
        .expect_error(404, "ride_not_found");

    let after = server.ride(&rider, &ride_id).await?;
    assert_eq!(after["state"], "driver_assigned");
    assert_eq!(after["driver_id"], offered.id.as_str());
    server.stop().await
}

pub async fn riders_cannot_use_driver_endpoints_and_drivers_cannot_quote(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.signup("driver").await?;

    for path in ["/v1/drivers/me/online", "/v1/drivers/me/offline"] {
        server
            .post_empty(path, &rider.token)
            .await?
            .expect_error(403, "forbidden");
    }
    let point =
        json!([{"lat": GRAND_CENTRAL.lat, "lng": GRAND_CENTRAL.lng, "at": server.now_rfc3339()}]);
    server
        .post("/v1/drivers/me/locations", &rider.token, point)
        .await?
        .expect_error(403, "forbidden");
    for path in ["/v1/offers", "/v1/drivers/me/earnings"] {
        server
            .get(path, &rider.token)
            .await?
            .expect_error(403, "forbidden");
    }

    // Nor can a rider drive their own ride.
    let own = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let own_id = field(&own, "ride_id")?;
    for action in ["arrive", "complete"] {
        server
            .post_empty(&format!("/v1/rides/{own_id}/{action}"), &rider.token)
            .await?
            .expect_error(403, "forbidden");
    }
    server
        .post(
            &format!("/v1/rides/{own_id}/start"),
            &rider.token,
            json!({"pin": field(&own, "pin")?}),
        )
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(server.ride(&rider, &own_id).await?["state"], "requested");

    server
        .post(
            "/v1/rides/quotes",
            &driver.token,
            json!({"pickup": TIMES_SQUARE.json(), "dropoff": UNION_SQUARE.json()}),
        )
        .await?
        .expect_error(403, "forbidden");
    // The same quote is fine for a rider.
    server.quote(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    server.stop().await
}

pub async fn requests_without_a_valid_token_are_unauthenticated(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;

    server
        .call(Method::GET, "/v1/rides", None, None)
        .await?
        .expect_error(401, "unauthenticated");
    server
        .call(Method::GET, "/v1/me", Some("dst_not-a-real-token"), None)
        .await?
        .expect_error(401, "unauthenticated");
    let basic = server
        .http
        .get(server.url("/v1/me"))
        .basic_auth("rider", Some("password"))
        .send()
        .await?;
    TestServer::reply(basic)
        .await?
        .expect_error(401, "unauthenticated");
    server
        .call(
            Method::POST,
            "/v1/rides/quotes",
            None,
            Some(&json!({"pickup": TIMES_SQUARE.json(), "dropoff": UNION_SQUARE.json()})),
        )
        .await?
        .expect_error(401, "unauthenticated");

    // A valid token works until its session is ended.
    let me = server.get("/v1/me", &rider.token).await?.expect(200);
    assert_eq!(me["user_id"], rider.id.as_str());
    assert_eq!(me["role"], "rider");
    let logout = server.post_empty("/v1/auth/logout", &rider.token).await?;
    assert_eq!(logout.status, 204);
    server
        .get("/v1/me", &rider.token)
        .await?
        .expect_error(401, "unauthenticated");
    server.stop().await
}

pub async fn signing_up_as_admin_is_refused_and_creates_no_account(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let email = "would-be-admin@example.com";
    let password = "correct horse battery";
    let refused = server
        .call(
            Method::POST,
            "/v1/auth/signup",
            None,
            Some(
                &json!({"email": email, "password": password, "name": "Mallory", "role": "admin"}),
            ),
        )
        .await?;
    assert!(
        refused.status == 403 || refused.status == 422,
        "{refused:?}"
    );
    assert!(refused.body["code"].is_string(), "{refused:?}");
    server
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"email": email, "password": password})),
        )
        .await?
        .expect_error(401, "invalid_credentials");

    // The address is still free, and a rider account with it can log in.
    server
        .call(
            Method::POST,
            "/v1/auth/signup",
            None,
            Some(
                &json!({"email": email, "password": password, "name": "Mallory", "role": "rider"}),
            ),
        )
        .await?
        .expect(201);
    let login = server
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"email": email, "password": password})),
        )
        .await?
        .expect(200);
    assert_eq!(login["role"], "rider");
    server.stop().await
}
