//! The API's contract in one place: who may call each operation, and what the shared layers answer.
//!
//! Every route is registered with its [`Access`] through [`Api::add`]. The same table then serves two
//! purposes, so the two cannot drift apart:
//! - [`guard`], a middleware that runs after routing, authenticates the bearer token (401
//!   `unauthenticated`) and checks the caller's role (403 `forbidden`) before any handler or extractor
//!   runs, and hands the caller to the handler ([`crate::extract::Caller`]);
//! - [`Api::finish`] writes the OpenAPI document: the security of each operation, its `x-roles`, and the
//!   statuses the shared layers produce (401, 403, 429 from the rate limiter, 400/413/415/422 for JSON
//!   bodies, 400 for unreadable query strings), next to those the handler's annotation declares.
//!
//! Error responses are documented by their codes: an annotation's description of a status ≥ 400 is the
//! comma-separated list of the codes it answers (`"ride_not_found"`, `"quote_expired, quote_already_used"`),
//! and the document gives each such response a schema whose `code` is an enum of exactly those codes. A
//! code the document does not list is then a schema violation that the contract gate (`tools/contract`)
//! reports. The document also carries the OpenAPI links of the ride flow (quote → ride → offer → accept →
//! arrive → start → complete), which drive the gate's stateful phase.

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, bearer_token_of};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use doorstep_app::App;
use doorstep_domain::Role;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token: health, sign-up, login.
    Public,
    /// The handler authenticates the caller itself: the event stream's WebSocket takes a single-use
    /// ticket in its URL or a bearer token in a header.
    Ticket,
    /// A bearer token of an account with one of these roles.
    Roles(&'static [Role]),
}

/// Every role: any authenticated caller.
pub const ANY_ROLE: Access = Access::Roles(&Role::ALL);

impl Access {
    /// Whether an authenticated caller of `role` may call the operation.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public | Access::Ticket => true,
            Access::Roles(roles) => roles.contains(&role),
        }
    }

    /// The roles that may call the operation (every role for public and ticket operations).
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|&r| self.allows(r)).collect()
    }

    fn needs_token(self) -> bool {
        match self {
            Access::Public => false,
            Access::Ticket | Access::Roles(_) => true,
        }
    }

    fn restricts_roles(self) -> bool {
        self.roles().len() < Role::ALL.len()
    }
}

/// The access of every registered operation, by method and path template (`/v1/rides/{ride_id}`).
#[derive(Debug, Default)]
pub struct AccessTable {
    by_route: HashMap<(Method, String), Access>,
}

impl AccessTable {
    /// The access of `method` on the route `path` (a path template); HEAD is answered as GET.
    pub fn get(&self, method: &Method, path: &str) -> Option<Access> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.by_route
            .get(&(method.clone(), path.to_owned()))
            .copied()
    }
}

/// Routes being registered, with their access.
pub struct Api {
    router: OpenApiRouter<ApiState>,
    table: AccessTable,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("table", &self.table).finish()
    }
}

fn methods_of(item: &utoipa::openapi::PathItem) -> Vec<Method> {
    [
        (&item.get, Method::GET),
        (&item.put, Method::PUT),
        (&item.post, Method::POST),
        (&item.delete, Method::DELETE),
        (&item.patch, Method::PATCH),
        (&item.head, Method::HEAD),
        (&item.options, Method::OPTIONS),
        (&item.trace, Method::TRACE),
    ]
    .into_iter()
    .filter(|(op, _)| op.is_some())
    .map(|(_, m)| m)
    .collect()
}

impl Api {
    /// An API whose document starts from `base` (title, tags, components).
    pub fn new(base: utoipa::openapi::OpenApi) -> Api {
        Api {
            router: OpenApiRouter::with_openapi(base),
            table: AccessTable::default(),
        }
    }

    /// Registers the operations of `routes` (one handler each: use one call per method) for `access`.
    pub fn add(mut self, access: Access, routes: UtoipaMethodRouter<ApiState>) -> Api {
        for (path, item) in &routes.1.paths {
            for method in methods_of(item) {
                self.table.by_route.insert((method, path.clone()), access);
            }
        }
        self.router = self.router.routes(routes);
        self
    }

    /// The router, the OpenAPI document (as JSON, with the shared statuses, roles and links added), and
    /// the access table for [`guard`].
    pub fn finish(self) -> (Router<ApiState>, Value, Arc<AccessTable>) {
        let (router, openapi) = self.router.split_for_parts();
        let mut document = serde_json::to_value(&openapi).unwrap_or_else(|_| json!({}));
        complete_document(&mut document, &self.table);
        (router, document, Arc::new(self.table))
    }
}

/// State of [`guard`].
#[derive(Debug, Clone)]
pub struct Guard {
    /// Authenticates tokens.
    pub app: App,
    /// The access of every operation.
    pub table: Arc<AccessTable>,
}

fn role_list(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("{one}s"),
        [init @ .., last] => format!("{}s and {last}s", init.join("s, ")),
    }
}

/// Authenticates and authorises by role every request to an operation that needs a token, before the
/// handler reads anything of it. Requests to routes outside the table (the web apps, the docs, unknown
/// paths) pass through.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let access = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| guard.table.get(request.method(), path.as_str()));
    let Some(Access::Roles(roles)) = access else {
        return next.run(request).await;
    };
    // The rate limiter, which runs first on `/v1/`, has usually authenticated the token already.
    let user = match request.extensions().get::<Caller>() {
        Some(Caller(user)) => user.clone(),
        None => {
            let Some(token) = bearer_token_of(request.headers()) else {
                return ApiError::unauthenticated().into_response();
            };
            match guard.app.authenticate(token).await {
                Ok(user) => user,
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
    };
    if !roles.contains(&user.role) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("only {} can do this", role_list(roles)),
        )
        .into_response();
    }
    request.extensions_mut().insert(Caller(user));
    next.run(request).await
}

/// The codes of an error response from its description (`"a, b"`); empty if it is not such a list.
fn codes_of(description: &str) -> Vec<String> {
    let codes: Vec<String> = description
        .split(',')
        .map(|c| c.trim().trim_matches('`').to_owned())
        .collect();
    let is_code = |c: &String| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if codes.iter().all(is_code) {
        codes
    } else {
        Vec::new()
    }
}

/// Adds `codes` to the error response `status` of `operation`, creating it if needed.
fn add_error(operation: &mut Value, status: u16, codes: &[&str]) {
    let responses = &mut operation["responses"];
    let key = status.to_string();
    let existing = responses
        .get(&key)
        .and_then(|r| r["description"].as_str())
        .map(codes_of)
        .unwrap_or_default();
    let mut all: BTreeSet<String> = existing.into_iter().collect();
    all.extend(codes.iter().map(|c| (*c).to_owned()));
    let list: Vec<String> = all.into_iter().collect();
    responses[key] = json!({"description": list.join(", ")});
}

/// Turns the code list of every error response into its description and an enum schema; returns the
/// operations whose error responses list no codes.
fn write_error_schemas(operation: &mut Value, name: &str, missing: &mut Vec<String>) {
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if status.as_str() < "400" {
            continue;
        }
        let codes = codes_of(response["description"].as_str().unwrap_or_default());
        if codes.is_empty() {
            missing.push(format!("{name} {status}"));
            continue;
        }
        let listed: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
        let mut body = json!({
            "description": format!("Error codes: {}", listed.join(", ")),
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                },
            }}},
        });
        if status == "429" {
            body["headers"] = json!({"Retry-After": {
                "description": "Seconds to wait before the next request",
                "required": true,
                "schema": {"type": "integer", "minimum": 1},
            }});
        }
        *response = body;
    }
}

/// Adds what the shared layers answer, the roles and the links to every operation of `document`.
fn complete_document(document: &mut Value, table: &AccessTable) {
    let mut missing = Vec::new();
    if let Some(paths) = document["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method_name, operation) in item.iter_mut() {
                let Ok(method) = method_name.to_ascii_uppercase().parse::<Method>() else {
                    continue;
                };
                let Some(access) = table.get(&method, path) else {
                    continue;
                };
                complete_operation(operation, path, access);
                write_error_schemas(operation, &format!("{method} {path}"), &mut missing);
            }
        }
    }
    add_links(document);
    // A handler whose error statuses name no codes is a fault of ours: say so in the document, where
    // the contract test finds it.
    if !missing.is_empty() {
        document["x-undocumented-error-codes"] = json!(missing);
    }
}

fn complete_operation(operation: &mut Value, path: &str, access: Access) {
    let roles: Vec<&str> = access.roles().iter().map(|r| r.as_str()).collect();
    match access {
        Access::Public => {
            operation["security"] = json!([]);
        }
        Access::Ticket => {
            operation["security"] = json!([{"ticket": []}, {"bearer": []}]);
            add_error(operation, 401, &["unauthenticated"]);
        }
        Access::Roles(_) => {
            operation["security"] = json!([{"bearer": []}]);
            add_error(operation, 401, &["unauthenticated"]);
            // An operator may suspend any rider's or driver's account; its tokens then answer this.
            add_error(operation, 403, &["account_suspended"]);
        }
    }
    if access.needs_token() {
        operation["x-roles"] = json!(roles);
    }
    if access.restricts_roles() {
        add_error(operation, 403, &["forbidden"]);
    }
    if path.starts_with("/v1/") {
        add_error(operation, 429, &["rate_limited"]);
    }
    if operation.get("requestBody").is_some() {
        add_error(operation, 400, &["malformed_json"]);
        add_error(operation, 413, &["payload_too_large"]);
        add_error(operation, 415, &["unsupported_media_type"]);
        add_error(operation, 422, &["invalid_body"]);
    }
    let has_query = operation["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    if has_query {
        add_error(operation, 400, &["invalid_query"]);
    }
    // An empty path parameter leaves a path that no route matches.
    let has_path_params = operation["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path"));
    if has_path_params {
        add_error(operation, 404, &["route_not_found"]);
    }
}

/// The links of one answer: the operation, its status, and each link's name and object.
type LinksFrom<'a> = (&'a str, &'a str, Vec<(&'a str, Value)>);

/// The OpenAPI links of the ride flow (each step's answer names what the next step takes) and of a
/// merchant's (its staff's page and its creation name the merchant the next steps act on).
fn add_links(document: &mut Value) {
    let ride_param = json!({"ride_id": "$response.body#/ride_id"});
    let ride_steps = [
        "get_ride",
        "ride_events",
        "cancel_ride",
        "rate_ride",
        "arrive",
        "start_trip",
        "complete_trip",
        "reissue_pin",
    ];
    let ride_links: Vec<(&str, Value)> = ride_steps
        .iter()
        .map(|op| (*op, json!({"operationId": op, "parameters": ride_param})))
        .collect();
    // A merchant's staff find their merchant, then run it; an operator creates one, then acts on it.
    let staff_steps = [
        "update_merchant_profile",
        "set_merchant_hours",
        "pause_merchant",
        "resume_merchant",
        "set_merchant_busy",
        "clear_merchant_busy",
        "set_merchant_max_open_orders",
        "export_menu",
        "import_menu",
        "get_merchant",
        "get_menu",
    ];
    let admin_steps = [
        "admin_get_merchant",
        "admin_approve_merchant",
        "admin_suspend_merchant",
        "admin_reinstate_merchant",
        "admin_add_merchant_staff",
    ];
    let merchant_links = |steps: &[&'static str]| -> Vec<(&'static str, Value)> {
        steps
            .iter()
            .map(|op| {
                (
                    *op,
                    json!({"operationId": op,
                           "parameters": {"merchant_id": "$response.body#/merchant_id"}}),
                )
            })
            .collect()
    };
    let links: Vec<LinksFrom> = vec![
        (
            "create_quote",
            "201",
            vec![(
                "request_ride",
                json!({"operationId": "request_ride",
                       "requestBody": {"quote_id": "$response.body#/quote_id"}}),
            )],
        ),
        ("request_ride", "201", ride_links.clone()),
        (
            "list_offers",
            "200",
            ["accept_offer", "decline_offer"]
                .into_iter()
                .map(|op| {
                    (
                        op,
                        json!({"operationId": op,
                               "parameters": {"offer_id": "$response.body#/offers/0/offer_id"}}),
                    )
                })
                .collect(),
        ),
        ("accept_offer", "200", ride_links.clone()),
        ("arrive", "200", ride_links.clone()),
        ("start_trip", "200", ride_links.clone()),
        ("complete_trip", "200", ride_links),
        ("my_merchant", "200", merchant_links(&staff_steps)),
        ("admin_create_merchant", "201", merchant_links(&admin_steps)),
    ];
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    let known: BTreeSet<String> = paths
        .values()
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        .collect();
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in item.values_mut() {
            let Some(id) = operation["operationId"].as_str().map(str::to_owned) else {
                continue;
            };
            for (from, status, targets) in &links {
                if *from != id {
                    continue;
                }
                let response = &mut operation["responses"][*status];
                if !response.is_object() {
                    continue;
                }
                for (name, link) in targets {
                    if known.contains(*name) {
                        response["links"][*name] = link.clone();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_descriptions_are_read_as_code_lists() {
        assert_eq!(
            codes_of("quote_expired, quote_already_used"),
            ["quote_expired", "quote_already_used"]
        );
        assert_eq!(codes_of("`ride_not_found`"), ["ride_not_found"]);
        assert!(codes_of("something went wrong").is_empty());
    }

    #[test]
    fn role_lists_read_as_english() {
        assert_eq!(role_list(&[Role::Driver]), "drivers");
        assert_eq!(role_list(&[Role::Rider, Role::Admin]), "riders and admins");
        assert_eq!(
            role_list(&[Role::Rider, Role::Driver, Role::Admin]),
            "riders, drivers and admins"
        );
    }
}
