//! Health, readiness, metrics and the API documents: the only routes that need no token.

use crate::ApiState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "ops", responses((status = 200, description = "ok", content_type = "text/plain", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "ops",
    responses((status = 200, description = "ready", content_type = "text/plain", body = String), (status = 503, description = "database_unavailable")))]
pub async fn readyz(State(state): State<ApiState>) -> Response {
    match state.app.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            crate::error::ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database does not answer",
            )
            .into_response()
        }
    }
}

/// Prometheus metrics: requests by route and status, rides by state, dispatch batch size and solve time,
/// location updates and rejected location points by reason. Rides by state are counted in memory (from the
/// record once at start, then by every committed change): a scrape runs no query.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<ApiState>) -> Response {
    for (s, n) in state.app.ride_counts().snapshot() {
        metrics::gauge!("rides", "state" => s.as_str()).set(n as f64);
    }
    let (online, available, pending) = state
        .app
        .with_fleet(|f| (f.online_count(), f.available_count(), f.pending_count()));
    metrics::gauge!("drivers_online").set(online as f64);
    metrics::gauge!("drivers_available").set(available as f64);
    metrics::gauge!("rides_waiting_for_dispatch").set(pending as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The OpenAPI 3.1 document of this API.
pub async fn openapi_json(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        (*state.openapi).clone(),
    )
        .into_response()
}
