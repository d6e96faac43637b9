//! The HTTP face of Doorstep: an axum router with authentication, the JSON API under `/v1`, the event
//! WebSocket, the OpenAPI document and offline docs page, health and Prometheus metrics.
//!
//! This is the only crate that knows HTTP and JSON. Wire types live in [`dto`] and convert into domain
//! types at the edge, so that invalid input never reaches the use cases; every fault of the caller answers
//! a 4xx with a machine-readable code ([`error::ApiError`]). Every route but `/healthz`, `/readyz`,
//! `/metrics` and the public docs requires a bearer token, and the use cases check role and ownership.

pub mod contract;
pub mod driver_sockets;
pub mod dto;
pub mod error;
pub mod extract;
pub mod open_sockets;
pub mod rate_limit;
pub mod routes;
pub mod schema;
pub mod web;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use doorstep_app::App;
use error::ApiError;
use futures_util::StreamExt as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::routes;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// State shared by every handler.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The use cases.
    pub app: App,
    /// Renders the Prometheus metrics.
    pub metrics: PrometheusHandle,
    /// The OpenAPI document, serialised once.
    pub openapi: Arc<String>,
    /// The per-user and per-IP request quotas (HTTP requests and `nearby` queries on the event stream).
    pub limiter: rate_limit::Limiter,
    /// The open WebSockets and their caps.
    pub sockets: open_sockets::OpenSockets,
    /// The event stream's write timeout, ping interval, pong deadline and catch-up page.
    pub streams: routes::events::StreamTimings,
}

/// The process-wide Prometheus recorder (installed once; later calls share it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed (a test harness): render an empty one of our own.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Doorstep API", description = "Rides, food delivery and house calls on one open platform. Money is in integer minor units; timestamps are RFC 3339 UTC; errors are `{\"code\", \"message\"}`.", license(name = "Apache-2.0")),
    tags((name = "auth"), (name = "rides"), (name = "driving"), (name = "payments"), (name = "events"), (name = "operations"), (name = "console"), (name = "places"), (name = "merchants"), (name = "orders"), (name = "house_calls"), (name = "ops"))
)]
struct ApiDoc;

struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("opaque")
                    .build(),
            ),
        );
        // The event stream's WebSocket: browsers cannot set headers on it, so they fetch a short-lived
        // single-use ticket with their bearer token and put the ticket in the URL.
        components.add_security_scheme(
            "ticket",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Query(
                utoipa::openapi::security::ApiKeyValue::new("ticket"),
            )),
        );
    }
}

/// The documented routes with who may call them, the OpenAPI document built from their annotations and
/// that table ([`contract`]), and the table itself.
fn api_routes() -> (
    Router<ApiState>,
    serde_json::Value,
    Arc<contract::AccessTable>,
) {
    use contract::{ANY_ROLE, Access, Api};
    use doorstep_domain::Role::{Admin, Driver, Merchant, Provider, Rider};
    use routes::{
        admin, auth, console, console_food, console_housecalls, contact, couriers, devices,
        drivers, events, food_money, housecall_admin, housecalls, merchants, ops, orders, payments,
        places, rides, saved_places, visit_safety,
    };
    const RIDER: Access = Access::Roles(&[Rider]);
    const DRIVER: Access = Access::Roles(&[Driver]);
    const ADMIN: Access = Access::Roles(&[Admin]);
    const RIDE_PARTIES: Access = Access::Roles(&[Rider, Driver, Admin]);
    // A merchant's own staff; the handlers answer 404 for any other merchant.
    const MERCHANT_STAFF: Access = Access::Roles(&[Merchant]);
    const PROVIDER: Access = Access::Roles(&[Provider]);
    let mut base = <ApiDoc as utoipa::OpenApi>::openapi();
    utoipa::Modify::modify(&BearerSecurity, &mut base);
    Api::new(base)
        .add(Access::Public, routes!(auth::signup))
        .add(Access::Public, routes!(auth::login))
        .add(ANY_ROLE, routes!(auth::logout))
        .add(ANY_ROLE, routes!(auth::me))
        .add(RIDER, routes!(rides::quote))
        .add(RIDER, routes!(rides::request))
        .add(RIDE_PARTIES, routes!(rides::list))
        .add(RIDE_PARTIES, routes!(rides::get))
        .add(RIDE_PARTIES, routes!(rides::events))
        .add(RIDE_PARTIES, routes!(rides::cancel))
        .add(DRIVER, routes!(rides::arrive))
        .add(DRIVER, routes!(rides::start))
        .add(Access::Roles(&[Rider, Admin]), routes!(rides::reissue_pin))
        .add(DRIVER, routes!(rides::complete))
        .add(Access::Roles(&[Rider, Driver]), routes!(rides::rate))
        .add(RIDE_PARTIES, routes!(contact::list))
        .add(Access::Roles(&[Rider, Driver]), routes!(contact::send))
        .add(DRIVER, routes!(contact::put_vehicle))
        .add(DRIVER, routes!(contact::get_vehicle))
        .add(RIDER, routes!(payments::tip))
        .add(RIDER, routes!(payments::list, payments::add))
        .add(RIDER, routes!(payments::top_up))
        .add(DRIVER, routes!(drivers::online))
        .add(DRIVER, routes!(drivers::offline))
        .add(DRIVER, routes!(drivers::locations))
        .add(DRIVER, routes!(drivers::earnings))
        .add(DRIVER, routes!(drivers::offers))
        .add(Access::Roles(&[Rider, Admin]), routes!(drivers::nearby))
        .add(DRIVER, routes!(drivers::accept))
        .add(DRIVER, routes!(drivers::decline))
        .add(Access::Ticket, routes!(events::events))
        .add(ANY_ROLE, routes!(events::ticket))
        .add(ADMIN, routes!(admin::fleet))
        .add(ADMIN, routes!(admin::kpis))
        .add(ADMIN, routes!(admin::zones))
        .add(ADMIN, routes!(admin::rides))
        .add(ANY_ROLE, routes!(places::search))
        .add(ANY_ROLE, routes!(places::reverse))
        .add(ANY_ROLE, routes!(places::route))
        .add(ADMIN, routes!(payments::postings))
        .add(ADMIN, routes!(console::cancel_ride))
        .add(ADMIN, routes!(console::refund))
        .add(ADMIN, routes!(console::waive_fee))
        .add(ADMIN, routes!(console::reassign))
        .add(ADMIN, routes!(console::ride_ledger))
        .add(ADMIN, routes!(console::suspend))
        .add(ADMIN, routes!(console::reinstate))
        .add(ADMIN, routes!(console::approve))
        .add(ADMIN, routes!(console::reject))
        .add(ADMIN, routes!(console::audit))
        .add(ADMIN, routes!(console::people))
        .add(ADMIN, routes!(console::person))
        .add(DRIVER, routes!(console::onboarding))
        .add(DRIVER, routes!(console::put_document))
        .add(ANY_ROLE, routes!(console::set_phone))
        // Every account keeps its own saved places (the routes name no account: only the caller's).
        .add(ANY_ROLE, routes!(saved_places::list))
        .add(ANY_ROLE, routes!(saved_places::save))
        .add(ANY_ROLE, routes!(saved_places::delete))
        // Merchants: operators create and approve them, their staff run them, anyone signed in browses
        // approved ones.
        .add(ADMIN, routes!(merchants::admin_create))
        .add(ADMIN, routes!(merchants::admin_list))
        .add(ADMIN, routes!(merchants::admin_get))
        .add(ADMIN, routes!(merchants::admin_approve))
        .add(ADMIN, routes!(merchants::admin_suspend))
        .add(ADMIN, routes!(merchants::admin_reinstate))
        .add(ADMIN, routes!(merchants::admin_add_staff))
        .add(ADMIN, routes!(merchants::admin_remove_staff))
        .add(MERCHANT_STAFF, routes!(merchants::mine))
        .add(MERCHANT_STAFF, routes!(merchants::update_profile))
        .add(MERCHANT_STAFF, routes!(merchants::set_hours))
        .add(MERCHANT_STAFF, routes!(merchants::pause))
        .add(MERCHANT_STAFF, routes!(merchants::resume))
        .add(MERCHANT_STAFF, routes!(merchants::set_busy))
        .add(MERCHANT_STAFF, routes!(merchants::clear_busy))
        .add(MERCHANT_STAFF, routes!(merchants::set_max_open_orders))
        .add(MERCHANT_STAFF, routes!(merchants::export_menu))
        .add(MERCHANT_STAFF, routes!(merchants::import_menu))
        .add(MERCHANT_STAFF, routes!(merchants::set_sold_out))
        .add(ANY_ROLE, routes!(merchants::browse))
        .add(ANY_ROLE, routes!(merchants::get))
        .add(ANY_ROLE, routes!(merchants::menu))
        // Food orders: customers order and follow them, the merchant's staff run their queue; an order is
        // visible to its customer, its merchant's staff, its courier and operators.
        .add(RIDER, routes!(orders::checkout))
        .add(RIDER, routes!(orders::place))
        .add(RIDER, routes!(orders::list))
        .add(ANY_ROLE, routes!(orders::get))
        .add(RIDER, routes!(orders::cancel))
        .add(MERCHANT_STAFF, routes!(orders::merchant_orders))
        .add(MERCHANT_STAFF, routes!(orders::accept))
        .add(MERCHANT_STAFF, routes!(orders::preparing))
        .add(MERCHANT_STAFF, routes!(orders::ready))
        .add(MERCHANT_STAFF, routes!(orders::reject))
        .add(ADMIN, routes!(orders::admin_create_promo))
        .add(ADMIN, routes!(orders::admin_promos))
        .add(ADMIN, routes!(orders::admin_assign))
        .add(ADMIN, routes!(orders::admin_refund))
        .add(ADMIN, routes!(orders::admin_ledger))
        // The operations console's food reads.
        .add(ADMIN, routes!(console_food::admin_orders))
        .add(ADMIN, routes!(console_food::admin_order_events))
        .add(ADMIN, routes!(console_food::food_summary))
        .add(DRIVER, routes!(orders::arrived))
        .add(DRIVER, routes!(orders::picked_up))
        .add(DRIVER, routes!(orders::delivered))
        .add(DRIVER, routes!(orders::undeliverable))
        .add(DRIVER, routes!(couriers::offers))
        .add(DRIVER, routes!(couriers::accept))
        .add(DRIVER, routes!(couriers::decline))
        .add(DRIVER, routes!(couriers::my_orders))
        // The money and ratings of food orders: the parties rate each other and the merchant; a
        // merchant's staff and operators read its statement.
        .add(Access::Roles(&[Rider, Driver]), routes!(food_money::rate))
        .add(
            Access::Roles(&[Rider, Driver, Merchant, Admin]),
            routes!(food_money::ratings),
        )
        .add(
            Access::Roles(&[Merchant, Admin]),
            routes!(food_money::statement),
        )
        // House calls: customers find slots, hold and book them; providers keep their profile and time
        // off; a booking is visible to its customer, its provider and operators.
        .add(
            Access::Roles(&[Rider, Admin]),
            routes!(housecalls::availability),
        )
        .add(RIDER, routes!(housecalls::hold))
        .add(RIDER, routes!(housecalls::book))
        .add(RIDER, routes!(housecalls::book_series))
        .add(Access::Roles(&[Rider, Provider]), routes!(housecalls::list))
        .add(
            Access::Roles(&[Rider, Provider, Admin]),
            routes!(housecalls::get),
        )
        .add(RIDER, routes!(housecalls::cancel))
        .add(RIDER, routes!(housecalls::reschedule))
        .add(PROVIDER, routes!(housecalls::me))
        .add(PROVIDER, routes!(housecalls::put_me))
        .add(PROVIDER, routes!(housecalls::add_time_off))
        .add(PROVIDER, routes!(housecalls::location))
        .add(PROVIDER, routes!(housecalls::earnings))
        .add(PROVIDER, routes!(housecalls::on_my_way))
        .add(PROVIDER, routes!(housecalls::arrive))
        .add(PROVIDER, routes!(housecalls::check_in))
        .add(PROVIDER, routes!(housecalls::check_out))
        .add(PROVIDER, routes!(housecalls::customer_no_show))
        .add(RIDER, routes!(housecalls::provider_no_show))
        .add(Access::Roles(&[Rider, Provider]), routes!(housecalls::rate))
        .add(
            Access::Roles(&[Rider, Provider, Admin]),
            routes!(housecalls::ratings),
        )
        .add(
            Access::Roles(&[Rider, Provider]),
            routes!(housecalls::block),
        )
        .add(ADMIN, routes!(housecalls::admin_ledger))
        .add(ADMIN, routes!(housecalls::admin_refund))
        // The provider's safety tools: a share link for a trusted contact (its token is the capability
        // of the public read), SOS; operators see and acknowledge alerts.
        .add(PROVIDER, routes!(visit_safety::share))
        .add(PROVIDER, routes!(visit_safety::revoke_share))
        .add(Access::Public, routes!(visit_safety::shared_visit))
        .add(PROVIDER, routes!(visit_safety::sos))
        .add(ADMIN, routes!(visit_safety::admin_sos_alerts))
        .add(ADMIN, routes!(visit_safety::admin_acknowledge_sos))
        // The console's house calls: a day's bookings across providers and the day's summary.
        .add(ADMIN, routes!(console_housecalls::admin_day_bookings))
        .add(ADMIN, routes!(console_housecalls::house_call_summary))
        // House calls, the operators' side: the catalogue, which anyone signed in reads, and the vetting
        // of providers, who declare their own documents.
        .add(ADMIN, routes!(housecall_admin::admin_create_service))
        .add(ADMIN, routes!(housecall_admin::admin_replace_service))
        .add(ANY_ROLE, routes!(housecall_admin::list_services))
        .add(ANY_ROLE, routes!(housecall_admin::get_service))
        .add(ADMIN, routes!(housecall_admin::admin_list_providers))
        .add(ADMIN, routes!(housecall_admin::admin_approve_provider))
        .add(ADMIN, routes!(housecall_admin::admin_reject_provider))
        .add(ADMIN, routes!(housecall_admin::admin_suspend_provider))
        .add(ADMIN, routes!(housecall_admin::admin_reinstate_provider))
        .add(PROVIDER, routes!(housecall_admin::my_documents))
        .add(PROVIDER, routes!(housecall_admin::put_document))
        // Connected devices (vehicle trackers) reporting their worker's positions over MQTT.
        .add(ADMIN, routes!(devices::admin_create_device))
        .add(ADMIN, routes!(devices::admin_list_devices))
        .add(ADMIN, routes!(devices::admin_get_device))
        .add(ADMIN, routes!(devices::admin_bind_device))
        .add(ADMIN, routes!(devices::admin_unbind_device))
        .add(ADMIN, routes!(devices::admin_rotate_device_token))
        .add(Access::Public, routes!(ops::healthz))
        .add(Access::Public, routes!(ops::readyz))
        .add(ADMIN, routes!(ops::metrics))
        .finish()
}

/// The OpenAPI 3.1 document of the API, as served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    api_routes().1
}

/// Builds the whole HTTP application over `app` with the default rate limits.
pub fn router(app: App) -> Router {
    router_with_limits(app, rate_limit::RateLimits::default())
}

/// Builds the whole HTTP application over `app` with the default WebSocket caps.
pub fn router_with_limits(app: App, limits: rate_limit::RateLimits) -> Router {
    router_with(app, limits, open_sockets::SocketCaps::default())
}

/// Builds the whole HTTP application over `app` with request quotas `limits` and WebSocket caps `caps`.
pub fn router_with(
    app: App,
    limits: rate_limit::RateLimits,
    caps: open_sockets::SocketCaps,
) -> Router {
    router_with_timings(app, limits, caps, routes::events::StreamTimings::default())
}

/// [`router_with`], and the event stream's timings `streams` (tests shorten them).
pub fn router_with_timings(
    app: App,
    limits: rate_limit::RateLimits,
    caps: open_sockets::SocketCaps,
    streams: routes::events::StreamTimings,
) -> Router {
    let (api, openapi, access) = api_routes();
    let openapi_text = serde_json::to_string(&openapi).unwrap_or_else(|_| "{}".to_owned());
    let state = ApiState {
        limiter: rate_limit::Limiter::new(app.clone(), limits),
        sockets: open_sockets::OpenSockets::new(caps),
        streams,
        app,
        metrics: metrics_handle(),
        openapi: Arc::new(openapi_text),
    };
    let guard = contract::Guard {
        app: state.app.clone(),
        table: access,
    };
    // Swagger UI's default online validator loads a badge from validator.swagger.io (and sends it our
    // document's URL) whenever the page is not on localhost: the docs must work offline, so it is off.
    // The page reads the document this router serves at `/openapi.json`.
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::new(["/openapi.json"]).validator_url("none"));
    Router::new()
        .merge(api)
        .route(
            "/openapi.json",
            axum::routing::get(routes::ops::openapi_json),
        )
        .merge(docs)
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(guard, contract::guard))
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .layer(middleware::from_fn(record_request))
        .layer(middleware::from_fn(close_if_unread))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
    .into_response()
}

/// The span of a request: its method and path only. Never the query string (a mistaken `?token=` must not
/// reach a log), any header (`Authorization`), nor a share link's token (its path is logged as the route
/// template).
fn request_span(request: &Request) -> tracing::Span {
    // A share link's token is in its path: such a path is logged as its route template.
    let path = routes::visit_safety::loggable_path(request.uri().path());
    tracing::debug_span!("request", method = %request.method(), path = %path)
}

async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    if method == axum::http::Method::GET
        && !uri.path().starts_with("/v1/")
        && let Some(asset) = web::asset(&uri)
    {
        return asset;
    }
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such route").into_response()
}

/// The largest body `method` on the route `path` takes: [`MAX_BODY_BYTES`], but for a menu import.
fn body_limit(method: &axum::http::Method, path: Option<&str>) -> usize {
    if method == axum::http::Method::PUT && path == Some(routes::merchants::MENU_IMPORT_PATH) {
        routes::merchants::MENU_IMPORT_MAX_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// Refuses a declared body larger than its route takes ([`body_limit`]) before reading it.
async fn limit_body(request: Request, next: Next) -> Response {
    let limit = body_limit(
        request.method(),
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Answers a request whose body was not read to its end (refused by its size, its rate, its route, its
/// caller or its media type before a handler read it) with `Connection: close`. The server closes such
/// a connection after the answer; a client told so does not send its next request on it (without the
/// header a client's pool may reuse the closing connection, and that next request is lost).
async fn close_if_unread(request: Request, next: Next) -> Response {
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != "0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return next.run(request).await;
    }
    let read_to_end = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mark = read_to_end.clone();
    let (parts, body) = request.into_parts();
    let end = futures_util::stream::once(async move {
        mark.store(true, std::sync::atomic::Ordering::Relaxed);
    })
    .filter_map(|()| async { None::<Result<axum::body::Bytes, axum::Error>> });
    let body = axum::body::Body::from_stream(body.into_data_stream().chain(end));
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if !read_to_end.load(std::sync::atomic::Ordering::Relaxed) {
        close_after(&mut response);
    }
    response
}

/// Marks `response` as the last on its connection.
fn close_after(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

/// Counts requests by route and status and times them.
async fn record_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let mut response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
