//! Saved places (`/v1/me/places`): home, work and labels of one's own, owner-only, limited, checked like a
//! pickup, and offered first by place search.

use crate::backend::{TestDb, TestResult};
use crate::places::{GRAND_CENTRAL, PROSPECT_PARK, Place, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, Reply, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// The Hudson, 300 m off Pier 84.
const HUDSON: Place = Place {
    lat: 40.7640,
    lng: -74.0040,
};

/// `label` percent-encoded for a path (every byte but ASCII letters and digits).
fn encode(label: &str) -> String {
    label
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn put(server: &TestServer, who: &Account, label: &str, body: Value) -> TestResult<Reply> {
    server
        .call(
            Method::PUT,
            &format!("/v1/me/places/{}", encode(label)),
            Some(&who.token),
            Some(&body),
        )
        .await
}

async fn delete(server: &TestServer, who: &Account, label: &str) -> TestResult<Reply> {
    server
        .call(
            Method::DELETE,
            &format!("/v1/me/places/{}", encode(label)),
            Some(&who.token),
            None,
        )
        .await
}

async fn labels(server: &TestServer, who: &Account) -> TestResult<Vec<String>> {
    let list = server.get("/v1/me/places", &who.token).await?.expect(200);
    Ok(list["places"]
        .as_array()
        .ok_or("places")?
        .iter()
        .filter_map(|p| p["label"].as_str().map(str::to_owned))
        .collect())
}

async fn search(server: &TestServer, who: &Account, q: &str) -> TestResult<Vec<Value>> {
    let body = server
        .get(&format!("/v1/places/search?q={}", encode(q)), &who.token)
        .await?
        .expect(200);
    Ok(body["results"].as_array().cloned().unwrap_or_default())
}

pub async fn saved_places_are_created_replaced_listed_and_deleted_by_their_owner_only(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let stranger = server.signup("rider").await?;
    assert!(labels(&server, &rider).await?.is_empty());

    let home = put(&server, &rider, "Home", TIMES_SQUARE.json())
        .await?
        .expect(201);
    assert_eq!(
        (
            &home["label"],
            &home["kind"],
            &home["name"],
            &home["address"]
        ),
        (&json!("home"), &json!("home"), &json!(""), &json!(""))
    );
    assert!(TIMES_SQUARE.is(&home), "{home}");
    assert!(
        home["updated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    // The same label in another case replaces it.
    let moved = put(
        &server,
        &rider,
        "home",
        json!({"lat": UNION_SQUARE.lat, "lng": UNION_SQUARE.lng, "name": " My flat ", "address": "1 Union Sq W, New York, NY 10003"}),
    )
    .await?
    .expect(200);
    assert!(UNION_SQUARE.is(&moved), "{moved}");
    assert_eq!(moved["name"], "My flat");
    put(&server, &rider, "work", GRAND_CENTRAL.json())
        .await?
        .expect(201);
    let gym = put(&server, &rider, "Gym", TIMES_SQUARE.json())
        .await?
        .expect(201);
    assert_eq!(
        (&gym["label"], &gym["kind"]),
        (&json!("Gym"), &json!("custom"))
    );
    put(&server, &rider, "Aunt May", TIMES_SQUARE.json())
        .await?
        .expect(201);
    assert_eq!(
        labels(&server, &rider).await?,
        ["home", "work", "Aunt May", "Gym"]
    );
    let list = server.get("/v1/me/places", &rider.token).await?.expect(200);
    assert!(UNION_SQUARE.is(&list["places"][0]), "{list}");
    assert_eq!(
        list["places"][0]["address"],
        "1 Union Sq W, New York, NY 10003"
    );

    // Another account sees none of them, cannot delete them, and saving its own home changes nothing of
    // the rider's.
    assert!(labels(&server, &stranger).await?.is_empty());
    delete(&server, &stranger, "home")
        .await?
        .expect_error(404, "place_not_found");
    put(&server, &stranger, "home", GRAND_CENTRAL.json())
        .await?
        .expect(201);
    assert_eq!(labels(&server, &stranger).await?, ["home"]);
    let list = server.get("/v1/me/places", &rider.token).await?.expect(200);
    assert!(UNION_SQUARE.is(&list["places"][0]), "{list}");

    // Any role keeps its own: a driver's home.
    let driver = server.signup("driver").await?;
    put(&server, &driver, "home", GRAND_CENTRAL.json())
        .await?
        .expect(201);
    assert_eq!(labels(&server, &driver).await?, ["home"]);

    // Deleting, without regard to case; twice is not found.
    assert_eq!(delete(&server, &rider, "GYM").await?.status, 204);
    delete(&server, &rider, "gym")
        .await?
        .expect_error(404, "place_not_found");
    assert_eq!(labels(&server, &rider).await?, ["home", "work", "Aunt May"]);
    assert_eq!(labels(&server, &stranger).await?, ["home"]);
    server
        .call(Method::GET, "/v1/me/places", None, None)
        .await?
        .expect_error(401, "unauthenticated");
    server.stop().await
}

pub async fn saving_a_place_refuses_the_water_outside_the_area_and_bad_labels_or_text(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let at = |p: Place, extra: Value| {
        let mut body = p.json();
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let cases: [(&str, Value, u16, &str); 12] = [
        ("home", HUDSON.json(), 422, "in_water"),
        ("home", PROSPECT_PARK.json(), 422, "outside_service_area"),
        (
            "home",
            json!({"lat": 91.0, "lng": -73.98}),
            422,
            "invalid_coordinates",
        ),
        ("home", json!({"lat": 40.75}), 422, "invalid_body"),
        (&"x".repeat(33), TIMES_SQUARE.json(), 422, "invalid_label"),
        ("   ", TIMES_SQUARE.json(), 422, "invalid_label"),
        ("a\u{202e}b", TIMES_SQUARE.json(), 422, "invalid_characters"),
        (
            "gym",
            at(TIMES_SQUARE, json!({"name": "n".repeat(101)})),
            422,
            "invalid_name",
        ),
        (
            "gym",
            at(TIMES_SQUARE, json!({"name": "a\u{200b}b"})),
            422,
            "invalid_characters",
        ),
        (
            "gym",
            at(TIMES_SQUARE, json!({"address": "a".repeat(201)})),
            422,
            "invalid_address",
        ),
        (
            "gym",
            at(TIMES_SQUARE, json!({"address": "line\nbreak"})),
            422,
            "invalid_characters",
        ),
        ("gym", json!("Times Square"), 422, "invalid_body"),
    ];
    for (label, body, status, code) in cases {
        let reply = put(&server, &rider, label, body.clone()).await?;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (status, Some(code)),
            "{label:?} {body}: {}",
            reply.body
        );
    }
    // A label of 32 characters of any script is fine; a path that is not UTF-8 is a bad label.
    put(&server, &rider, &"é".repeat(32), TIMES_SQUARE.json())
        .await?
        .expect(201);
    server
        .call(
            Method::PUT,
            "/v1/me/places/%FF",
            Some(&rider.token),
            Some(&TIMES_SQUARE.json()),
        )
        .await?
        .expect_error(422, "invalid_label");
    delete(&server, &rider, &"x".repeat(33))
        .await?
        .expect_error(422, "invalid_label");
    // Nothing refused was kept.
    assert_eq!(labels(&server, &rider).await?, ["é".repeat(32).as_str()]);
    // The document states the rules, and the middle of its bounds (what generated requests send) is a
    // place that can be saved.
    let document: Value = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    let body = &document["components"]["schemas"]["SavePlaceBody"];
    assert_eq!(body["required"], json!(["lat", "lng"]), "{body}");
    assert_eq!(body["properties"]["name"]["maxLength"], 100, "{body}");
    let put_op = &document["paths"]["/v1/me/places/{label}"]["put"];
    let label = &put_op["parameters"][0];
    assert_eq!(
        (&label["name"], &label["in"], &label["schema"]["maxLength"]),
        (&json!("label"), &json!("path"), &json!(32)),
        "{label}"
    );
    let middle = |p: &Value| {
        f64::midpoint(
            p["minimum"].as_f64().unwrap_or_default(),
            p["maximum"].as_f64().unwrap_or_default(),
        )
    };
    let point = json!({"lat": middle(&body["properties"]["lat"]), "lng": middle(&body["properties"]["lng"])});
    put(&server, &rider, "middle", point.clone())
        .await?
        .expect(201);
    server.stop().await
}

pub async fn a_person_keeps_home_work_and_at_most_twenty_labels_of_their_own(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let other = server.signup("rider").await?;
    let max = doorstep_domain::saved_place::MAX_CUSTOM_PLACES;
    for i in 0..max {
        put(
            &server,
            &rider,
            &format!("place {i:02}"),
            TIMES_SQUARE.json(),
        )
        .await?
        .expect(201);
    }
    put(&server, &rider, "one too many", TIMES_SQUARE.json())
        .await?
        .expect_error(409, "too_many_saved_places");
    // Home and work do not count; replacing a label adds none; other accounts have their own limit.
    put(&server, &rider, "home", TIMES_SQUARE.json())
        .await?
        .expect(201);
    put(&server, &rider, "WORK", TIMES_SQUARE.json())
        .await?
        .expect(201);
    put(&server, &rider, "Place 07", UNION_SQUARE.json())
        .await?
        .expect(200);
    put(&server, &other, "one too many", TIMES_SQUARE.json())
        .await?
        .expect(201);
    let kept = labels(&server, &rider).await?;
    assert_eq!(kept.len(), max + 2, "{kept:?}");
    assert!(!kept.iter().any(|l| l == "one too many"), "{kept:?}");
    // Deleting one makes room for one.
    assert_eq!(delete(&server, &rider, "place 00").await?.status, 204);
    put(&server, &rider, "one too many", TIMES_SQUARE.json())
        .await?
        .expect(201);
    put(&server, &rider, "and another", TIMES_SQUARE.json())
        .await?
        .expect_error(409, "too_many_saved_places");
    // Concurrent saves of new labels cannot pass the count together.
    let third = server.signup("rider").await?;
    for i in 0..max - 1 {
        put(&server, &third, &format!("p{i}"), TIMES_SQUARE.json())
            .await?
            .expect(201);
    }
    let (a, b, c) = tokio::join!(
        put(&server, &third, "race a", TIMES_SQUARE.json()),
        put(&server, &third, "race b", TIMES_SQUARE.json()),
        put(&server, &third, "race c", TIMES_SQUARE.json()),
    );
    let statuses: Vec<u16> = [a?, b?, c?].iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(labels(&server, &third).await?.len(), max);
    server.stop().await
}

pub async fn place_search_offers_the_callers_matching_saved_places_first(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let stranger = server.signup("rider").await?;
    put(
        &server,
        &rider,
        "home",
        json!({"lat": UNION_SQUARE.lat, "lng": UNION_SQUARE.lng, "name": "My flat", "address": "1 Union Sq W"}),
    )
    .await?
    .expect(201);
    put(&server, &rider, "Gym", GRAND_CENTRAL.json())
        .await?
        .expect(201);
    for q in ["home", "Home", "h", "hom", "home "] {
        let results = search(&server, &rider, q).await?;
        let first = &results[0];
        assert_eq!(
            (&first["kind"], &first["label"]),
            (&json!("saved"), &json!("home")),
            "{q:?}: {results:?}"
        );
        assert!(UNION_SQUARE.is(first), "{first}");
        assert_eq!(first["address"], "My flat, 1 Union Sq W");
        assert_eq!(first["precision"], "exact");
        assert_eq!(
            results.iter().filter(|r| r["kind"] == "saved").count(),
            1,
            "{q:?}: {results:?}"
        );
    }
    let gym = search(&server, &rider, "gy").await?;
    assert_eq!(
        (&gym[0]["kind"], &gym[0]["label"]),
        (&json!("saved"), &json!("Gym"))
    );
    assert!(GRAND_CENTRAL.is(&gym[0]), "{gym:?}");
    // A limit counts the saved place; the rest are the geocoder's.
    let one = server
        .get("/v1/places/search?q=home&limit=1", &rider.token)
        .await?
        .expect(200);
    assert_eq!(one["results"].as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(one["results"][0]["kind"], "saved");
    // No saved place where the text does not begin a label, nor for anyone else.
    for (who, q) in [(&rider, "homes"), (&rider, "work"), (&stranger, "home")] {
        let results = search(&server, who, q).await?;
        assert!(
            results.iter().all(|r| r["kind"] != "saved"),
            "{q:?}: {results:?}"
        );
    }
    // Times Square is still found as before.
    let times = search(&server, &rider, "Times Square").await?;
    assert!(
        times[0]["label"]
            .as_str()
            .is_some_and(|l| l.contains("Times Square")),
        "{times:?}"
    );
    server.stop().await
}
