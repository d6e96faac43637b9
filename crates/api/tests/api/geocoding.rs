//! Places: search, reverse geocoding, routes along the streets, and quotes refused on the water.

use crate::backend::{TestDb, TestResult};
use crate::places::{
    BRYANT_PARK, COLUMBUS_CIRCLE, FIFTH_AVE_34TH, FIFTH_AVE_59TH, GRAND_CENTRAL, MET_MUSEUM, Place,
    TIMES_SQUARE, UNION_SQUARE, WASHINGTON_SQUARE,
};
use crate::server::TestServer;
use serde_json::{Value, json};

/// The Hudson, 300 m off Pier 84: inside the service area's margin, on the water.
const HUDSON: Place = Place {
    lat: 40.7640,
    lng: -74.0040,
};

/// The Empire State Building's address point.
const EMPIRE_STATE: Place = Place {
    lat: 40.748442,
    lng: -73.985659,
};

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(server: &TestServer, token: &str, q: &str) -> TestResult<Vec<Value>> {
    let body = server
        .get(&format!("/v1/places/search?q={}", encode(q)), token)
        .await?
        .expect(200);
    Ok(body["results"].as_array().cloned().unwrap_or_default())
}

pub async fn places_search_finds_addresses_landmarks_and_intersections_for_every_role(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let driver = server.signup("driver").await?;
    let esb = search(&server, &rider.token, "350 5th Ave").await?;
    let first = &esb[0];
    assert_eq!(first["label"], "Empire State Building", "{esb:?}");
    assert_eq!(first["kind"], "address");
    assert_eq!(first["precision"], "exact");
    assert!(EMPIRE_STATE.within_m(first, 50.0), "{first}");
    assert!(first["precision_m"].as_f64().is_some_and(|m| m > 0.0));
    assert!(
        first["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("350 5th Avenue"))
    );
    // As typed, and by a driver too.
    let typing = search(&server, &driver.token, "350 5th").await?;
    assert!(EMPIRE_STATE.within_m(&typing[0], 50.0), "{typing:?}");
    let typo = search(&server, &rider.token, "Tims Sqare").await?;
    assert!(
        typo[0]["label"]
            .as_str()
            .is_some_and(|l| l.contains("Times Square")),
        "{typo:?}"
    );
    let crossing = search(&server, &rider.token, "W 52 St & 11 Ave").await?;
    assert_eq!(crossing[0]["kind"], "intersection", "{crossing:?}");
    assert_eq!(crossing[0]["label"], "West 52nd Street & 11th Avenue");
    let uptown = search(&server, &rider.token, "1000 Fifth Avenue").await?;
    assert_eq!(uptown[0]["precision"], "interpolated", "{uptown:?}");
    assert!(MET_MUSEUM.within_m(&uptown[0], 200.0), "{uptown:?}");
    // Near a point, and a limit.
    let near = server
        .get(
            &format!(
                "/v1/places/search?q=starbucks&limit=3&lat={}&lng={}",
                UNION_SQUARE.lat, UNION_SQUARE.lng
            ),
            &rider.token,
        )
        .await?
        .expect(200);
    let near = near["results"].as_array().cloned().unwrap_or_default();
    assert!(!near.is_empty() && near.len() <= 3, "{near:?}");
    assert!(UNION_SQUARE.within_m(&near[0], 1_000.0), "{near:?}");
    // Bad input.
    for (path, code) in [
        ("/v1/places/search?q=", "empty_query"),
        ("/v1/places/search?q=%20%20", "empty_query"),
        ("/v1/places/search?q=a&limit=0", "invalid_limit"),
        ("/v1/places/search?q=a&limit=21", "invalid_limit"),
        ("/v1/places/search?q=a&lat=40.75", "invalid_coordinates"),
    ] {
        server
            .get(path, &rider.token)
            .await?
            .expect_error(422, code);
    }
    let long = "a".repeat(201);
    server
        .get(&format!("/v1/places/search?q={long}"), &rider.token)
        .await?
        .expect_error(422, "query_too_long");
    server
        .get("/v1/places/search", &rider.token)
        .await?
        .expect_error(400, "invalid_query");
    server
        .call(
            reqwest::Method::GET,
            "/v1/places/search?q=times",
            None,
            None,
        )
        .await?
        .expect_error(401, "unauthenticated");
    server.stop().await
}

pub async fn reverse_geocoding_names_the_place_snaps_to_the_street_and_refuses_the_water(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let at = |p: Place| format!("/v1/places/reverse?lat={}&lng={}", p.lat, p.lng);
    let esb = server
        .get(&at(EMPIRE_STATE), &rider.token)
        .await?
        .expect(200);
    assert_eq!(esb["label"], "Empire State Building", "{esb}");
    assert_eq!(esb["precision"], "exact");
    // Its point is mid-block: the nearest street is 5th Avenue or West 33rd or 34th Street.
    assert!(
        esb["street"]
            .as_str()
            .is_some_and(|s| s == "5th Avenue" || s.starts_with("West 3")),
        "{esb}"
    );
    assert!(!esb["zip"].as_str().unwrap_or_default().is_empty(), "{esb}");
    assert!(
        !esb["neighborhood"].as_str().unwrap_or_default().is_empty(),
        "{esb}"
    );
    assert!(EMPIRE_STATE.within_m(&esb["snapped"], 60.0), "{esb}");
    // Upper West Side, mid-block: no address points there, so the block.
    let block = Place {
        lat: 40.78186,
        lng: -73.97709,
    };
    let uws = server.get(&at(block), &rider.token).await?.expect(200);
    assert_eq!(uws["street"], "West 78th Street", "{uws}");
    assert_eq!(uws["precision"], "street");
    assert!(
        uws["label"].as_str().is_some_and(|l| l.contains("between")),
        "{uws}"
    );
    assert!(block.within_m(&uws["snapped"], 30.0), "{uws}");
    server
        .get(&at(HUDSON), &rider.token)
        .await?
        .expect_error(422, "in_water");
    server
        .get(&at(crate::places::PROSPECT_PARK), &rider.token)
        .await?
        .expect_error(422, "outside_service_area");
    server
        .get("/v1/places/reverse?lat=91&lng=0", &rider.token)
        .await?
        .expect_error(422, "invalid_coordinates");
    server.stop().await
}

pub async fn routes_follow_the_streets_and_refuse_the_water(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let path = |a: Place, b: Place| {
        format!(
            "/v1/route?from_lat={}&from_lng={}&to_lat={}&to_lng={}",
            a.lat, a.lng, b.lat, b.lng
        )
    };
    let route = server
        .get(&path(TIMES_SQUARE, UNION_SQUARE), &rider.token)
        .await?
        .expect(200);
    let straight = doorstep_geo::haversine_km(
        doorstep_geo::LatLng::new(TIMES_SQUARE.lat, TIMES_SQUARE.lng)?,
        doorstep_geo::LatLng::new(UNION_SQUARE.lat, UNION_SQUARE.lng)?,
    ) * 1000.0;
    let distance = route["distance_m"].as_f64().unwrap_or_default();
    assert!(distance > straight && distance < 1.6 * straight, "{route}");
    assert!(
        route["duration_s"].as_f64().is_some_and(|s| s > 60.0),
        "{route}"
    );
    let points = route["points"].as_array().cloned().unwrap_or_default();
    assert!(points.len() > 2, "{route}");
    // [lng, lat], starting next to the start.
    let start = json!({"lat": points[0][1], "lng": points[0][0]});
    assert!(TIMES_SQUARE.within_m(&start, 60.0), "{route}");
    server
        .get(&path(TIMES_SQUARE, HUDSON), &rider.token)
        .await?
        .expect_error(422, "in_water");
    server
        .get(
            &path(crate::places::PROSPECT_PARK, TIMES_SQUARE),
            &rider.token,
        )
        .await?
        .expect_error(422, "outside_service_area");
    server
        .get("/v1/route?from_lat=40.75&from_lng=-73.98", &rider.token)
        .await?
        .expect_error(400, "invalid_query");
    server.stop().await
}

pub async fn a_quote_with_a_pickup_or_drop_off_in_the_water_is_refused(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    for (pickup, dropoff) in [(HUDSON, TIMES_SQUARE), (TIMES_SQUARE, HUDSON)] {
        server
            .post(
                "/v1/rides/quotes",
                &rider.token,
                json!({"pickup": pickup.json(), "dropoff": dropoff.json()}),
            )
            .await?
            .expect_error(422, "in_water");
    }
    // The places the other tests put riders and drivers at are all on land.
    for p in [
        TIMES_SQUARE,
        BRYANT_PARK,
        GRAND_CENTRAL,
        COLUMBUS_CIRCLE,
        UNION_SQUARE,
        WASHINGTON_SQUARE,
        MET_MUSEUM,
        FIFTH_AVE_34TH,
        FIFTH_AVE_59TH,
    ] {
        assert!(
            doorstep_places::Places::manhattan().on_land(doorstep_geo::LatLng::new(p.lat, p.lng)?),
            "{p:?}"
        );
    }
    server
        .post(
            "/v1/rides/quotes",
            &rider.token,
            json!({"pickup": TIMES_SQUARE.json(), "dropoff": UNION_SQUARE.json()}),
        )
        .await?
        .expect(201);
    server.stop().await
}
