//! The contract, checked from the OpenAPI document itself: the authorization matrix of every operation,
//! and what the document must say of each.
//!
//! Nothing here lists endpoints. The matrix reads every operation from `/openapi.json`, with its
//! `x-roles`; a path parameter names the kind of object it takes (`ride_id`, `offer_id`), and for each
//! kind there is one fixture that makes an object with its owners. An endpoint added tomorrow is covered
//! the moment it is in the document, and one with a new kind of object fails here until it has a fixture.

use crate::backend::{TestDb, TestResult};
use crate::places::{BRYANT_PARK, TIMES_SQUARE, UNION_SQUARE};
use crate::server::{Account, Reply, TestServer, field};
use doorstep_api::rate_limit::RateLimits;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Rate limits that a few hundred requests in a row never reach.
fn generous() -> RateLimits {
    RateLimits {
        per_token_per_sec: 10_000,
        per_token_burst: 10_000,
        per_ip_per_sec: 10_000,
        per_ip_burst: 10_000,
    }
}

/// One operation of the document.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    id: String,
    /// The roles that may call it; `None` for public operations.
    roles: Option<Vec<String>>,
    /// The documented statuses.
    statuses: BTreeSet<u16>,
    /// The path parameters' names.
    path_params: Vec<String>,
    document: Value,
}

fn operations(document: &Value) -> TestResult<Vec<Operation>> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().ok_or("no paths")? {
        for (method, op) in item.as_object().ok_or("path item")? {
            let method: Method = method.to_ascii_uppercase().parse()?;
            let roles = op["x-roles"].as_array().map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            });
            let statuses = op["responses"]
                .as_object()
                .ok_or("responses")?
                .keys()
                .filter_map(|s| s.parse().ok())
                .collect();
            let path_params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            found.push(Operation {
                method,
                path: path.clone(),
                id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                roles,
                statuses,
                path_params,
                document: op.clone(),
            });
        }
    }
    Ok(found)
}

/// Resolves a `$ref` into the document.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            document.pointer(pointer).unwrap_or(&Value::Null)
        }
        None => schema,
    }
}

/// A value that the schema accepts, built from the schema alone (the smallest that fits).
fn example_of(document: &Value, schema: &Value, now: &str) -> Value {
    let schema = resolve(document, schema);
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(one) = schema["oneOf"].as_array().and_then(|e| e.first()) {
        return example_of(document, one, now);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .find(|k| *k != "null")
            .and_then(Value::as_str)
            .unwrap_or("object"),
        Value::String(kind) => kind.as_str(),
        _ => "object",
    };
    match kind {
        "object" => {
            let mut object = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    object.insert(
                        name.to_owned(),
                        example_of(document, &schema["properties"][name], now),
                    );
                }
            }
            Value::Object(object)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(0);
            Value::Array(
                (0..n)
                    .map(|_| example_of(document, &schema["items"], now))
                    .collect(),
            )
        }
        "integer" | "number" => {
            let lo = schema["minimum"].as_f64().unwrap_or(0.0);
            let hi = schema["maximum"].as_f64().unwrap_or(lo.max(0.0) + 1.0);
            let mid = f64::midpoint(lo, hi);
            if kind == "integer" {
                json!(mid.round() as i64)
            } else {
                json!(mid)
            }
        }
        "boolean" => json!(true),
        _ => match (schema["format"].as_str(), schema["pattern"].as_str()) {
            (Some("uuid"), _) => json!(uuid::Uuid::new_v4().to_string()),
            (Some("date-time"), _) => json!(now),
            (_, Some(p)) if p.starts_with("^[0-9]{") => {
                let digits = p
                    .trim_start_matches("^[0-9]{")
                    .trim_end_matches("}$")
                    .parse()
                    .unwrap_or(4);
                json!("0".repeat(digits))
            }
            (_, Some(p)) if p.contains('@') => json!(format!(
                "someone-{}@example.com",
                uuid::Uuid::new_v4().simple()
            )),
            _ => {
                let n = usize::try_from(schema["minLength"].as_u64().unwrap_or(1)).unwrap_or(1);
                json!("x".repeat(n.max(1)))
            }
        },
    }
}

/// The request body an operation takes, if any, built from its schema.
fn body_of(document: &Value, op: &Operation, now: &str) -> Option<Value> {
    let schema = &op.document["requestBody"]["content"]["application/json"]["schema"];
    (!schema.is_null()).then(|| example_of(document, schema, now))
}

/// The path and query of a call, with `objects` for the path parameters and schema examples for the
/// required query parameters.
fn target_of(document: &Value, op: &Operation, objects: &[(&str, &str)], now: &str) -> String {
    let mut path = op.path.clone();
    for (name, id) in objects {
        path = path.replace(&format!("{{{name}}}"), id);
    }
    let query: Vec<String> = op.document["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .filter_map(|p| {
            let value = example_of(document, &p["schema"], now);
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            Some(format!("{}={text}", p["name"].as_str()?))
        })
        .collect();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The fixed cast: one account of every role, and a second rider and driver who own nothing.
struct Cast {
    by_role: Vec<(String, Account)>,
    stranger_rider: Account,
    stranger_driver: Account,
}

impl Cast {
    async fn new(server: &TestServer) -> TestResult<Cast> {
        let mut by_role = Vec::new();
        for role in ["rider", "driver", "merchant", "provider"] {
            by_role.push((role.to_owned(), server.signup(role).await?));
        }
        by_role.push(("admin".to_owned(), server.admin().await?));
        Ok(Cast {
            by_role,
            stranger_rider: server.signup("rider").await?,
            stranger_driver: server.signup("driver").await?,
        })
    }

    fn of(&self, role: &str) -> Option<&Account> {
        self.by_role.iter().find(|(r, _)| r == role).map(|(_, a)| a)
    }
}

/// A ride of a new rider, offered to and accepted by a new driver: the objects `ride_id` (the ride)
/// and `offer_id` (the accepted offer), owned by the rider (the ride) and the driver (both).
struct Owned {
    rider: Account,
    driver: Account,
    ride_id: String,
    offer_id: String,
}

async fn owned_objects(server: &TestServer) -> TestResult<Owned> {
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let ride = server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&ride, "ride_id")?;
    let offer = server.wait_for_offer(&driver, &ride_id).await?;
    server.accept(&driver, &offer).await?;
    Ok(Owned {
        rider,
        driver,
        ride_id,
        offer_id: field(&offer, "offer_id")?,
    })
}

/// An approved merchant, open, with one staff member and one item on its menu: the objects
/// `merchant_id` and `item_id`, run by the staff member and shown to everyone signed in.
struct OwnedMerchant {
    staff: Account,
    merchant_id: String,
    item_id: String,
}

async fn owned_merchant(server: &TestServer, admin: &Account) -> TestResult<OwnedMerchant> {
    let (merchant_id, staff) = server
        .open_merchant(admin, "Fixture Kitchen", BRYANT_PARK)
        .await?;
    let menu = json!({"currency": "USD", "categories": [{"name": "Mains", "items": [
        {"name": "Pad thai", "price": 1450}]}]});
    let imported = server
        .put(
            &format!("/v1/merchants/{merchant_id}/menu"),
            &staff.token,
            menu,
        )
        .await?
        .expect(200);
    let item_id = imported["categories"][0]["items"][0]["id"]
        .as_str()
        .ok_or("an item id")?
        .to_owned();
    Ok(OwnedMerchant {
        staff,
        merchant_id,
        item_id,
    })
}

/// A food order of a new customer from a merchant of [`owned_merchant`], accepted by its kitchen and
/// given to a courier by an operator: the object `order_id`, seen by its customer, the merchant's staff,
/// its courier and operators.
struct OwnedOrder {
    customer: Account,
    staff: Account,
    courier: Account,
    order_id: String,
}

async fn owned_order(server: &TestServer, admin: &Account) -> TestResult<OwnedOrder> {
    let merchant = owned_merchant(server, admin).await?;
    let customer = server.customer_with_card().await?;
    let cart = json!({
        "merchant_id": merchant.merchant_id,
        "dropoff": {"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng},
        "address": "1 Times Sq",
        "lines": [{"item_id": merchant.item_id, "quantity": 1}],
    });
    let placed = server
        .post("/v1/orders", &customer.token, cart)
        .await?
        .expect(201);
    let order_id = field(&placed, "id")?;
    server
        .post(
            &format!("/v1/orders/{order_id}/accept"),
            &merchant.staff.token,
            json!({"prep_minutes": 10}),
        )
        .await?
        .expect(200);
    let courier = server.driver_at(BRYANT_PARK).await?;
    server
        .act(
            admin,
            &format!("/v1/admin/orders/{order_id}/assign"),
            &uuid::Uuid::new_v4().to_string(),
            json!({"courier_id": courier.id, "reason": "fixture"}),
        )
        .await?
        .expect(200);
    Ok(OwnedOrder {
        customer,
        staff: merchant.staff,
        courier,
        order_id,
    })
}

/// A delivery offer: an order of a merchant of [`owned_merchant`], ready in its kitchen, offered by the
/// live dispatcher to the one courier online near it (the object `delivery_offer_id`, the courier's).
struct OwnedDeliveryOffer {
    customer: Account,
    courier: Account,
    order_id: String,
    offer_id: String,
}

async fn owned_delivery_offer(
    server: &TestServer,
    admin: &Account,
) -> TestResult<OwnedDeliveryOffer> {
    let merchant = owned_merchant(server, admin).await?;
    let customer = server.customer_with_card().await?;
    let cart = json!({
        "merchant_id": merchant.merchant_id,
        "dropoff": {"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng},
        "address": "1 Times Sq",
        "lines": [{"item_id": merchant.item_id, "quantity": 1}],
    });
    let placed = server
        .post("/v1/orders", &customer.token, cart)
        .await?
        .expect(201);
    let order_id = field(&placed, "id")?;
    for (step, body) in [
        ("accept", json!({"prep_minutes": 10})),
        ("ready", json!({})),
    ] {
        server
            .post(
                &format!("/v1/orders/{order_id}/{step}"),
                &merchant.staff.token,
                body,
            )
            .await?
            .expect(200);
    }
    let courier = server.driver_at(BRYANT_PARK).await?;
    let offer_id = crate::server::eventually("a delivery offer", || async {
        let list = server
            .get("/v1/delivery-offers", &courier.token)
            .await?
            .expect(200);
        Ok(list["offers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["orders"][0]["order_id"] == order_id.as_str())
            .and_then(|o| o["offer_id"].as_str().map(str::to_owned)))
    })
    .await?;
    Ok(OwnedDeliveryOffer {
        customer,
        courier,
        order_id,
        offer_id,
    })
}

/// The path parameters this suite has fixtures for, and the error code of a missing one. A `user_id` is
/// the account of the fixture's driver (admins act on accounts; nobody owns one but itself), or on a
/// merchant's routes the account of its staff member. A `service_id` is a service of the house-call
/// catalogue (everyone signed in reads it), a `provider_id` a provider's account with a profile, a
/// `device_id` a connected device an operator registered.
const OBJECT_KINDS: [(&str, &str); 12] = [
    ("booking_id", "booking"),
    ("order_id", "order"),
    ("delivery_offer_id", "offer"),
    ("ride_id", "ride"),
    ("offer_id", "offer"),
    ("user_id", "user"),
    ("merchant_id", "merchant"),
    ("item_id", "item"),
    ("service_id", "service"),
    ("provider_id", "provider"),
    ("alert_id", "sos_alert"),
    ("device_id", "device"),
];

/// The path parameters of a merchant's objects ([`owned_merchant`]).
const MERCHANT_PARAMS: [&str; 2] = ["merchant_id", "item_id"];

/// Path parameters that name no object, only a value of a closed list, with the value used.
const LITERAL_PARAMS: [(&str, &str); 1] = [("kind", "licence")];

/// Path parameters that name something of the caller's own (under `/v1/me/`), with the value used: no
/// caller can name another account's, so these operations are checked like those without parameters.
const OWN_PARAMS: [(&str, &str); 1] = [("label", "home")];

/// Path parameters that are a capability themselves (a share link's token): the operation is public,
/// whoever holds the value gets in, so there is no owner nor stranger to check; the value is a token
/// never issued (`crate::console_housecalls` checks real ones).
const CAPABILITY_PARAMS: [(&str, &str); 1] = [(
    "token",
    "vsh_0000000000000000000000000000000000000000000000000000000000000000",
)];

struct Checker<'a> {
    server: &'a TestServer,
    document: &'a Value,
    now: String,
    calls: usize,
}

impl Checker<'_> {
    async fn call(
        &mut self,
        op: &Operation,
        objects: &[(&str, &str)],
        token: Option<&str>,
    ) -> TestResult<Reply> {
        let target = target_of(self.document, op, objects, &self.now);
        let body = body_of(self.document, op, &self.now);
        let reply = self
            .server
            .call(op.method.clone(), &target, token, body.as_ref())
            .await?;
        self.calls += 1;
        assert!(
            op.statuses.contains(&reply.status),
            "{} {target} answered {} which its document does not list ({:?}): {}",
            op.method,
            reply.status,
            op.statuses,
            reply.body
        );
        Ok(reply)
    }

    /// Calls `op` without a token, with a forged one, and as every role it does not allow.
    async fn refuses_outsiders(
        &mut self,
        op: &Operation,
        cast: &Cast,
        objects: &[(&str, &str)],
    ) -> TestResult {
        let Some(roles) = &op.roles else {
            return Ok(());
        };
        let forged = format!("dst_{}", "0f".repeat(32));
        for token in [None, Some(forged.as_str())] {
            let reply = self.call(op, objects, token).await?;
            assert_eq!(
                reply.status, 401,
                "{} {} without a valid token: {}",
                op.method, op.path, reply.body
            );
            reply.expect_error(401, "unauthenticated");
        }
        for (role, account) in &cast.by_role {
            if roles.contains(role) {
                continue;
            }
            let reply = self.call(op, objects, Some(&account.token)).await?;
            assert_eq!(
                (reply.status, reply.body["code"].as_str()),
                (403, Some("forbidden")),
                "{} {} as a {role}, which it does not allow: {}",
                op.method,
                op.path,
                reply.body
            );
        }
        Ok(())
    }
}

/// Whether an answer lets the caller in (not refused for who they are).
fn lets_in(reply: &Reply) -> bool {
    !matches!(reply.status, 401 | 403 | 404)
}

pub async fn every_operation_in_the_document_answers_owner_stranger_other_roles_admin_and_no_token_as_documented(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start_with_limits(&db, generous()).await?;
    let document: Value = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    let mut ops = operations(&document)?;
    // Logging out ends the session of the token used: it goes last so the cast keeps its tokens.
    ops.sort_by_key(|op| op.id == "log_out");
    let cast = Cast::new(&server).await?;
    let mut checker = Checker {
        server: &server,
        document: &document,
        now: server.now_rfc3339(),
        calls: 0,
    };
    let mut with_objects = 0;
    // A ride and an offer of other accounts, which no list may show the cast.
    let listed = owned_objects(&server).await?;
    for op in &ops {
        let literals: Vec<(&str, &str)> = LITERAL_PARAMS
            .iter()
            .chain(OWN_PARAMS.iter())
            .chain(CAPABILITY_PARAMS.iter())
            .filter(|(name, _)| op.path_params.iter().any(|p| p == name))
            .copied()
            .collect();
        let kinds: Vec<(&str, &str)> = op
            .path_params
            .iter()
            .filter(|name| !literals.iter().any(|(l, _)| l == name))
            .map(|name| {
                OBJECT_KINDS
                    .iter()
                    .find(|(param, _)| param == name)
                    .copied()
                    .ok_or_else(|| {
                        format!(
                            "{} {} takes a path parameter {name:?} that this suite has no fixture \
                             for: add one to OBJECT_KINDS and owned_objects",
                            op.method, op.path
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        let Some(roles) = op.roles.clone() else {
            continue;
        };
        if kinds.is_empty() {
            checker.refuses_outsiders(op, &cast, &literals).await?;
            // Everyone allowed gets past the guard (a 404 here is about the body, e.g. an unknown
            // quote, not about the caller); nothing shows a ride or offer of someone else.
            for role in &roles {
                let account = match role.as_str() {
                    "rider" => &cast.stranger_rider,
                    "driver" => &cast.stranger_driver,
                    other => cast.of(other).ok_or("cast")?,
                };
                let reply = checker.call(op, &literals, Some(&account.token)).await?;
                assert!(
                    !matches!(reply.status, 401 | 403),
                    "{} {} as a {role}: {}",
                    op.method,
                    op.path,
                    reply.body
                );
                if role != "admin" {
                    let text = reply.body.to_string();
                    assert!(
                        !text.contains(&listed.ride_id) && !text.contains(&listed.offer_id),
                        "{} {} shows a {role} another account's ride or offer: {text}",
                        op.method,
                        op.path
                    );
                }
            }
            continue;
        }
        with_objects += 1;
        // A delivery offer: its courier gets in, any other driver is a stranger (404).
        if kinds.iter().any(|(p, _)| *p == "delivery_offer_id") {
            let admin = cast.of("admin").ok_or("admin")?;
            let owned = owned_delivery_offer(&server, admin).await?;
            let objects = [("delivery_offer_id", owned.offer_id.as_str())];
            checker.refuses_outsiders(op, &cast, &objects).await?;
            assert_eq!(roles, ["driver"], "{} {}", op.method, op.path);
            let reply = checker
                .call(op, &objects, Some(&cast.stranger_driver.token))
                .await?;
            reply.expect_error(404, "offer_not_found");
            let reply = checker
                .call(op, &objects, Some(&owned.courier.token))
                .await?;
            assert!(
                lets_in(&reply),
                "{} {} as its courier: {}",
                op.method,
                op.path,
                reply.body
            );
            // The order goes, or it would be offered to the next driver who comes online.
            server
                .post_empty(
                    &format!("/v1/orders/{}/cancel", owned.order_id),
                    &owned.customer.token,
                )
                .await?
                .expect(200);
            server
                .post_empty("/v1/drivers/me/offline", &owned.courier.token)
                .await?;
            continue;
        }
        // A house-call booking: its customer, its provider and operators get in; another customer or
        // provider is a stranger (404).
        if kinds.iter().any(|(p, _)| *p == "booking_id") {
            let (customer, provider, booking_id) =
                crate::housecalls::booked_house_call(&server).await?;
            let objects = [("booking_id", booking_id.as_str())];
            checker.refuses_outsiders(op, &cast, &objects).await?;
            for role in &roles {
                let (owner, stranger) = match role.as_str() {
                    "rider" => (&customer, Some(&cast.stranger_rider)),
                    "provider" => (&provider, cast.of("provider")),
                    other => (cast.of(other).ok_or("cast")?, None),
                };
                if let Some(stranger) = stranger {
                    let reply = checker.call(op, &objects, Some(&stranger.token)).await?;
                    reply.expect_error(404, "booking_not_found");
                }
                let reply = checker.call(op, &objects, Some(&owner.token)).await?;
                assert!(
                    lets_in(&reply),
                    "{} {} as its {role}: {}",
                    op.method,
                    op.path,
                    reply.body
                );
            }
            continue;
        }
        // An order: its customer, its merchant's staff, its courier and operators get in; any other
        // account of a role the operation allows is a stranger (404).
        if kinds.iter().any(|(p, _)| *p == "order_id") {
            let admin = cast.of("admin").ok_or("admin")?;
            let owned = owned_order(&server, admin).await?;
            let objects = [("order_id", owned.order_id.as_str())];
            checker.refuses_outsiders(op, &cast, &objects).await?;
            for role in &roles {
                let (owner, stranger) = match role.as_str() {
                    "rider" => (&owned.customer, Some(&cast.stranger_rider)),
                    "driver" => (&owned.courier, Some(&cast.stranger_driver)),
                    "merchant" => (&owned.staff, cast.of("merchant")),
                    "provider" => {
                        let provider = cast.of("provider").ok_or("provider")?;
                        (provider, Some(provider))
                    }
                    other => (cast.of(other).ok_or("cast")?, None),
                };
                if let Some(stranger) = stranger {
                    let reply = checker.call(op, &objects, Some(&stranger.token)).await?;
                    reply.expect_error(404, "order_not_found");
                }
                if role != "provider" {
                    let reply = checker.call(op, &objects, Some(&owner.token)).await?;
                    assert!(
                        lets_in(&reply),
                        "{} {} as its {role}: {}",
                        op.method,
                        op.path,
                        reply.body
                    );
                }
            }
            server
                .post_empty("/v1/drivers/me/offline", &owned.courier.token)
                .await?;
            continue;
        }
        // A merchant's objects: its staff run them and a merchant account of no staff is a stranger
        // (404); an approved merchant is shown to every role allowed to browse.
        if kinds.iter().any(|(p, _)| MERCHANT_PARAMS.contains(p)) {
            let admin = cast.of("admin").ok_or("admin")?;
            let owned = owned_merchant(&server, admin).await?;
            let objects: Vec<(&str, &str)> = kinds
                .iter()
                .map(|(param, _)| {
                    let id = match *param {
                        "merchant_id" => owned.merchant_id.as_str(),
                        "item_id" => owned.item_id.as_str(),
                        _ => owned.staff.id.as_str(),
                    };
                    (*param, id)
                })
                .collect();
            checker.refuses_outsiders(op, &cast, &objects).await?;
            let (_, kind) = kinds[0];
            let browsing = roles.iter().any(|r| r == "rider");
            if roles.iter().any(|r| r == "merchant") && !browsing {
                let stranger = cast.of("merchant").ok_or("merchant")?;
                let reply = checker.call(op, &objects, Some(&stranger.token)).await?;
                reply.expect_error(404, &format!("{kind}_not_found"));
                let reply = checker.call(op, &objects, Some(&owned.staff.token)).await?;
                assert!(
                    lets_in(&reply),
                    "{} {} as its staff: {}",
                    op.method,
                    op.path,
                    reply.body
                );
            }
            for role in &roles {
                if role == "merchant" && !browsing {
                    continue;
                }
                let account = match role.as_str() {
                    "rider" => &cast.stranger_rider,
                    "driver" => &cast.stranger_driver,
                    other => cast.of(other).ok_or("cast")?,
                };
                let reply = checker.call(op, &objects, Some(&account.token)).await?;
                assert!(
                    lets_in(&reply),
                    "{} {} as a {role}: {}",
                    op.method,
                    op.path,
                    reply.body
                );
            }
            continue;
        }
        // House calls: a service of the catalogue, shown to every role allowed; a provider with a
        // profile, whom only operators act on.
        if kinds
            .iter()
            .any(|(p, _)| *p == "service_id" || *p == "provider_id")
        {
            let admin = cast.of("admin").ok_or("admin")?;
            let service_id = server.create_hc_service(admin).await?;
            let provider = server.provider_with_profile().await?;
            let objects: Vec<(&str, &str)> = kinds
                .iter()
                .map(|(param, _)| {
                    let id = match *param {
                        "service_id" => service_id.as_str(),
                        _ => provider.id.as_str(),
                    };
                    (*param, id)
                })
                .collect();
            checker.refuses_outsiders(op, &cast, &objects).await?;
            for role in &roles {
                let account = match role.as_str() {
                    "rider" => &cast.stranger_rider,
                    "driver" => &cast.stranger_driver,
                    other => cast.of(other).ok_or("cast")?,
                };
                let reply = checker.call(op, &objects, Some(&account.token)).await?;
                assert!(
                    lets_in(&reply),
                    "{} {} as a {role}: {}",
                    op.method,
                    op.path,
                    reply.body
                );
            }
            continue;
        }
        // An SOS alert, raised by a provider during a visit: only operators act on it.
        if kinds.iter().any(|(p, _)| *p == "alert_id") {
            let (_, provider, booking_id) = crate::housecalls::booked_house_call(&server).await?;
            let raised = server
                .post(
                    &format!("/v1/house-calls/bookings/{booking_id}/sos"),
                    &provider.token,
                    json!({}),
                )
                .await?
                .expect(201);
            let alert_id = field(&raised, "alert_id")?;
            let objects = [("alert_id", alert_id.as_str())];
            checker.refuses_outsiders(op, &cast, &objects).await?;
            assert_eq!(roles, ["admin"], "{} {}", op.method, op.path);
            let admin = cast.of("admin").ok_or("admin")?;
            let reply = checker.call(op, &objects, Some(&admin.token)).await?;
            assert!(
                lets_in(&reply),
                "{} {} as an admin: {}",
                op.method,
                op.path,
                reply.body
            );
            continue;
        }
        // A connected device (a vehicle tracker): only operators act on it.
        if kinds.iter().any(|(p, _)| *p == "device_id") {
            let admin = cast.of("admin").ok_or("admin")?;
            let device = server.create_device(admin, "contract fixture").await?;
            let device_id = field(&device, "device_id")?;
            let objects = [("device_id", device_id.as_str())];
            checker.refuses_outsiders(op, &cast, &objects).await?;
            assert_eq!(roles, ["admin"], "{} {}", op.method, op.path);
            let reply = checker.call(op, &objects, Some(&admin.token)).await?;
            assert!(
                lets_in(&reply),
                "{} {} as an admin: {}",
                op.method,
                op.path,
                reply.body
            );
            continue;
        }
        // Operations only admins may call: everyone else is refused, an admin gets in.
        if !roles.iter().any(|r| r == "rider" || r == "driver") {
            let owned = owned_objects(&server).await?;
            let objects: Vec<(&str, &str)> = kinds
                .iter()
                .map(|(param, _)| {
                    let id = match *param {
                        "ride_id" => owned.ride_id.as_str(),
                        "user_id" => owned.driver.id.as_str(),
                        _ => owned.offer_id.as_str(),
                    };
                    (*param, id)
                })
                .collect();
            checker.refuses_outsiders(op, &cast, &objects).await?;
            if roles.iter().any(|r| r == "admin") {
                let admin = cast.of("admin").ok_or("admin")?;
                let reply = checker.call(op, &objects, Some(&admin.token)).await?;
                assert!(
                    lets_in(&reply),
                    "{} {} as an admin: {}",
                    op.method,
                    op.path,
                    reply.body
                );
            }
            server
                .post_empty("/v1/drivers/me/offline", &owned.driver.token)
                .await?;
            continue;
        }
        // One fresh set of objects per owner, so that one owner's call (a cancellation, say) does not
        // decide what the next caller sees.
        for owner_role in ["rider", "driver"] {
            if !roles.iter().any(|r| r == owner_role) {
                continue;
            }
            let owned = owned_objects(&server).await?;
            let owner = if owner_role == "rider" {
                &owned.rider
            } else {
                &owned.driver
            };
            let objects: Vec<(&str, &str)> = kinds
                .iter()
                .map(|(param, _)| {
                    let id = match *param {
                        "ride_id" => owned.ride_id.as_str(),
                        "user_id" => owned.driver.id.as_str(),
                        _ => owned.offer_id.as_str(),
                    };
                    (*param, id)
                })
                .collect();
            // An offer belongs to its driver alone: its rider is a stranger to it.
            let owns = owner_role == "driver" || kinds.iter().all(|(p, _)| *p == "ride_id");
            checker.refuses_outsiders(op, &cast, &objects).await?;
            let stranger = if owner_role == "rider" {
                &cast.stranger_rider
            } else {
                &cast.stranger_driver
            };
            let reply = checker.call(op, &objects, Some(&stranger.token)).await?;
            let (_, kind) = kinds[0];
            reply.expect_error(404, &format!("{kind}_not_found"));
            if roles.iter().any(|r| r == "admin") {
                let admin = cast.of("admin").ok_or("admin")?;
                let reply = checker.call(op, &objects, Some(&admin.token)).await?;
                assert!(
                    lets_in(&reply),
                    "{} {} as an admin: {}",
                    op.method,
                    op.path,
                    reply.body
                );
            }
            let reply = checker.call(op, &objects, Some(&owner.token)).await?;
            if owns {
                assert!(
                    lets_in(&reply),
                    "{} {} as its {owner_role}: {}",
                    op.method,
                    op.path,
                    reply.body
                );
            } else {
                reply.expect_error(404, &format!("{kind}_not_found"));
            }
            server
                .post_empty("/v1/drivers/me/offline", &owned.driver.token)
                .await?;
        }
    }
    assert!(
        with_objects >= 9,
        "the document has operations on rides and offers"
    );
    // Written to stderr's handle so that CI's log shows the count (the harness hides passing tests' output).
    use std::io::Write as _;
    writeln!(
        std::io::stderr(),
        "AUTHZ_MATRIX: {} operations, {with_objects} on objects, {} calls",
        ops.len(),
        checker.calls
    )?;
    server.stop().await
}

pub async fn the_document_lists_the_shared_statuses_and_the_codes_of_every_error(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let document: Value = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        document.get("x-undocumented-error-codes"),
        None,
        "every error response names its codes"
    );
    let ops = operations(&document)?;
    let ids: BTreeSet<&str> = ops.iter().map(|op| op.id.as_str()).collect();
    assert_eq!(ids.len(), ops.len(), "operation ids are unique");
    for op in &ops {
        let name = format!("{} {}", op.method, op.path);
        if op.roles.is_some() {
            assert!(op.statuses.contains(&401), "{name} documents 401");
        }
        if op.path.starts_with("/v1/") {
            assert!(op.statuses.contains(&429), "{name} documents 429");
        }
        if op.document.get("requestBody").is_some() {
            for status in [400, 413, 415, 422] {
                assert!(op.statuses.contains(&status), "{name} documents {status}");
            }
        }
        for param in &op.path_params {
            assert!(op.path.contains(&format!("{{{param}}}")), "{name}: {param}");
        }
        for (status, response) in op.document["responses"].as_object().ok_or("responses")? {
            if status.as_str() >= "400" {
                let codes = &response["content"]["application/json"]["schema"]["properties"]["code"]
                    ["enum"];
                assert!(
                    codes.as_array().is_some_and(|c| !c.is_empty()),
                    "{name} {status} lists its codes: {response}"
                );
            }
        }
    }
    // Constraints come from the rules the server checks with.
    let schemas = &document["components"]["schemas"];
    let signup = &schemas["SignupRequest"]["properties"];
    assert_eq!(signup["password"]["minLength"], 8);
    assert_eq!(signup["name"]["maxLength"], 100);
    assert!(signup["email"]["pattern"].is_string(), "{signup}");
    assert_eq!(schemas["LatLngDto"]["properties"]["lat"]["maximum"], 90.0);
    assert_eq!(schemas["RatingBody"]["properties"]["stars"]["minimum"], 1);
    assert_eq!(schemas["RatingBody"]["properties"]["stars"]["maximum"], 5);
    let batch = resolve(
        &document,
        &document["paths"]["/v1/drivers/me/locations"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"],
    );
    assert_eq!(batch["maxItems"], 100, "{batch}");
    let search = &document["paths"]["/v1/admin/rides"]["get"]["parameters"];
    assert!(
        search
            .as_array()
            .into_iter()
            .flatten()
            .all(|p| p["in"] == "query"),
        "{search}"
    );
    // The ride flow is linked for stateful testing.
    let quote_links = &document["paths"]["/v1/rides/quotes"]["post"]["responses"]["201"]["links"];
    assert_eq!(quote_links["request_ride"]["operationId"], "request_ride");
    server.stop().await
}
