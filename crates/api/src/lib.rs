//! The HTTP face of Doorstep: an axum router with authentication, the JSON API under `/v1`, the event
//! WebSocket, the OpenAPI document and offline docs page, health and Prometheus metrics.
//!
//! This is the only crate that knows HTTP and JSON. Wire types live in [`dto`] and convert into domain
//! types at the edge, so that invalid input never reaches the use cases; every fault of the caller answers
//! a 4xx with a machine-readable code ([`error::ApiError`]). Every route but `/healthz`, `/readyz`,
//! `/metrics` and the public docs requires a bearer token, and the use cases check role and ownership.

pub mod driver_sockets;
pub mod dto;
pub mod error;
pub mod extract;
pub mod open_sockets;
pub mod rate_limit;
pub mod routes;
pub mod web;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use doorstep_app::App;
use error::ApiError;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
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
    tags((name = "auth"), (name = "rides"), (name = "driving"), (name = "events"), (name = "operations"), (name = "ops"))
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
    }
}

/// The documented routes, and the OpenAPI document built from their annotations.
fn api_routes() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    use routes::{admin, auth, drivers, events, ops, rides};
    let (router, mut openapi) =
        OpenApiRouter::<ApiState>::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
            .routes(routes!(auth::signup))
            .routes(routes!(auth::login))
            .routes(routes!(auth::logout))
            .routes(routes!(auth::me))
            .routes(routes!(rides::quote))
            .routes(routes!(rides::request, rides::list))
            .routes(routes!(rides::get))
            .routes(routes!(rides::events))
            .routes(routes!(rides::cancel))
            .routes(routes!(rides::arrive))
            .routes(routes!(rides::start))
            .routes(routes!(rides::complete))
            .routes(routes!(rides::rate))
            .routes(routes!(drivers::online))
            .routes(routes!(drivers::offline))
            .routes(routes!(drivers::locations))
            .routes(routes!(drivers::earnings))
            .routes(routes!(drivers::offers))
            .routes(routes!(drivers::nearby))
            .routes(routes!(drivers::accept))
            .routes(routes!(drivers::decline))
            .routes(routes!(events::events))
            .routes(routes!(events::ticket))
            .routes(routes!(admin::fleet))
            .routes(routes!(admin::kpis))
            .routes(routes!(admin::zones))
            .routes(routes!(admin::rides))
            .routes(routes!(ops::healthz))
            .routes(routes!(ops::readyz))
            .routes(routes!(ops::metrics))
            .split_for_parts();
    utoipa::Modify::modify(&BearerSecurity, &mut openapi);
    (router, openapi)
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
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
    let (api, openapi) = api_routes();
    let openapi_text = openapi.to_json().unwrap_or_else(|_| "{}".to_owned());
    let state = ApiState {
        limiter: rate_limit::Limiter::new(app.clone(), limits),
        sockets: open_sockets::OpenSockets::new(caps),
        app,
        metrics: metrics_handle(),
        openapi: Arc::new(openapi_text),
    };
    // Swagger UI's default online validator loads a badge from validator.swagger.io (and sends it our
    // document's URL) whenever the page is not on localhost: the docs must work offline, so it is off.
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .url("/openapi.json", openapi)
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));
    Router::new()
        .merge(api)
        .merge(docs)
        .fallback(not_found)
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .layer(middleware::from_fn(record_request))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of a request: its method and path only. Never the query string (a mistaken `?token=` must not
/// reach a log) nor any header (`Authorization`).
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
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

/// Refuses a declared body larger than [`MAX_BODY_BYTES`] before reading it.
async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
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
