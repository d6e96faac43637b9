//! Health, readiness, metrics and the API documents: the only routes that need no token.

use crate::ApiState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "ops", responses((status = 200, description = "ok", content_type = "text/plain", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and, in cluster mode, NATS is connected. The text says so line by
/// line (`ready`, then `database: ...`, and in cluster mode `node: ...`, `nats: ...`, and the city
/// leases this node holds with their epochs, or `leases: none`).
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "ops",
    responses((status = 200, description = "ready", content_type = "text/plain", body = String), (status = 503, description = "database_unavailable or nats_unavailable")))]
pub async fn readyz(State(state): State<ApiState>) -> Response {
    if let Err(e) = state.app.store().ping().await {
        tracing::warn!(error = %e, "readiness check failed");
        return crate::error::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database does not answer",
        )
        .into_response();
    }
    let mut text = format!("ready\ndatabase: {} ok\n", state.app.store().backend());
    if let Some(cluster) = state.app.cluster() {
        let status = cluster.status();
        if !status.nats_connected {
            return crate::error::ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "nats_unavailable",
                "the node is not connected to NATS",
            )
            .into_response();
        }
        let _ = writeln!(text, "node: {}\nnats: connected", status.node);
        if status.leases.is_empty() {
            text.push_str("leases: none\n");
        }
        for (city, epoch) in status.leases {
            let _ = writeln!(text, "lease: {city} epoch {epoch}");
        }
    }
    (StatusCode::OK, text).into_response()
}

/// Prometheus metrics: requests by route and status, rides by state, dispatch batch size and solve time,
/// location updates and rejected location points by reason. Rides by state are counted in memory (from the
/// record once at start, then by every committed change): a scrape runs no query.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<ApiState>) -> Response {
    let fresh_since = state.app.drivers_fresh_since();
    let (online, available, pending) = state.app.with_fleet(|f| {
        (
            f.online_count(fresh_since),
            f.available_count(),
            f.pending_count(),
        )
    });
    metrics::gauge!("drivers_online").set(online as f64);
    metrics::gauge!("drivers_available").set(available as f64);
    metrics::gauge!("rides_waiting_for_dispatch").set(pending as f64);
    let mut text = state.metrics.render();
    // Rides by state belong to this app, not to the process-wide recorder (which every app of the
    // process shares): written here from the app's own counts.
    text.push_str("# HELP rides Rides by state.\n# TYPE rides gauge\n");
    for (s, n) in state.app.ride_counts().snapshot() {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "rides{{state=\"{}\"}} {n}", s.as_str());
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The OpenAPI 3.1 document of this API.
pub async fn openapi_json(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        (*state.openapi).clone(),
    )
        .into_response()
}
