//! The operations console's reads: fleet snapshot, KPIs, zone demand and supply, ride search. Admins only.

use crate::ApiState;
use crate::dto::{LatLngDto, MoneyDto, RideView, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller};
use axum::Json;
use axum::extract::State;
use doorstep_domain::ride::RideState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A driver on the live map.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetDriver {
    /// The driver.
    pub driver_id: String,
    /// `available`, `stale`, `offered`, `to_pickup`, `on_trip` or `offline`.
    pub status: String,
    /// Last reported position.
    pub position: Option<LatLngDto>,
    /// When it was reported.
    pub last_seen: Option<String>,
    /// The ride the driver is busy with.
    pub ride_id: Option<String>,
}

/// The live picture: drivers and open rides.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetResponse {
    /// Online drivers (and offline ones finishing a ride).
    pub drivers: Vec<FleetDriver>,
    /// Rides not yet ended.
    pub open_rides: Vec<RideView>,
}

/// The live fleet and open rides. Keep it current with the `/v1/events` WebSocket (`driver_position`
/// messages and ride events), not by polling.
#[utoipa::path(get, path = "/v1/admin/fleet", operation_id = "admin_fleet", tag = "operations",
    responses((status = 200, body = FleetResponse)))]
pub async fn fleet(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<FleetResponse>, ApiError> {
    let snapshot = state.app.fleet_snapshot(&user).await?;
    Ok(Json(FleetResponse {
        drivers: snapshot
            .drivers
            .iter()
            .map(|d| FleetDriver {
                driver_id: d.driver.to_string(),
                status: d.status.to_owned(),
                position: d.position.map(Into::into),
                last_seen: d.last_seen.map(rfc3339),
                ride_id: d.ride.map(|r| r.to_string()),
            })
            .collect(),
        open_rides: snapshot
            .open_rides
            .iter()
            .map(|r| RideView::new(r, user.id, None, state.app.config().pin_max_attempts))
            .collect(),
    }))
}

/// One five-minute bucket of the KPI series.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiBucketDto {
    /// Start of the bucket.
    pub start: String,
    /// Rides requested.
    pub requested: u32,
    /// Rides completed.
    pub completed: u32,
    /// Rides cancelled.
    pub cancelled: u32,
    /// Fares of completed rides, minor units.
    pub gross: i64,
}

/// Key figures of the last hour.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiResponse {
    /// When computed.
    pub at: String,
    /// Rides the dispatcher is working on now (requested, in its queue). Prefer `waiting_for_driver`.
    pub open_requests: u32,
    /// Rides in the record waiting for a driver now.
    pub waiting_for_driver: u32,
    /// Rides under way now: a driver on the way, at the pickup or on the trip. With `waiting_for_driver`,
    /// every ride not yet ended.
    pub rides_under_way: u32,
    /// Drivers online and heard from lately (stale ones are not counted).
    pub drivers_online: u32,
    /// Drivers available.
    pub drivers_available: u32,
    /// Share of last hour's rides assigned within one minute (0 to 1).
    pub assigned_within_1min: f64,
    /// Mean pickup ETA at assignment, seconds.
    pub mean_pickup_eta_s: f64,
    /// Completed in the last hour.
    pub completed_last_hour: u32,
    /// Cancelled in the last hour.
    pub cancelled_last_hour: u32,
    /// Ended without a driver in the last hour.
    pub no_driver_last_hour: u32,
    /// Fares of the last hour's completed rides.
    pub gross_last_hour: MoneyDto,
    /// The platform's commission on them.
    pub revenue_last_hour: MoneyDto,
    /// Two hours in five-minute buckets, oldest first.
    pub series: Vec<KpiBucketDto>,
}

/// KPIs of the last hour and a two-hour series.
#[utoipa::path(get, path = "/v1/admin/kpis", operation_id = "admin_kpis", tag = "operations",
    responses((status = 200, body = KpiResponse)))]
pub async fn kpis(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<KpiResponse>, ApiError> {
    let k = state.app.kpis(&user).await?;
    Ok(Json(KpiResponse {
        at: rfc3339(k.at),
        open_requests: k.open_requests,
        waiting_for_driver: k.waiting_for_driver,
        rides_under_way: k.rides_under_way,
        drivers_online: k.drivers_online,
        drivers_available: k.drivers_available,
        assigned_within_1min: k.assigned_within_1min,
        mean_pickup_eta_s: k.mean_pickup_eta_s,
        completed_last_hour: k.completed_last_hour,
        cancelled_last_hour: k.cancelled_last_hour,
        no_driver_last_hour: k.no_driver_last_hour,
        gross_last_hour: k.gross_last_hour.into(),
        revenue_last_hour: k.revenue_last_hour.into(),
        series: k
            .series
            .iter()
            .map(|b| KpiBucketDto {
                start: rfc3339(b.start),
                requested: b.requested,
                completed: b.completed,
                cancelled: b.cancelled,
                gross: b.gross_minor,
            })
            .collect(),
    }))
}

/// Demand and supply of one zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneStatDto {
    /// TLC zone id (the `zone_id` of `/assets/zones.wgs84.geojson`).
    pub zone_id: u16,
    /// Zone name.
    pub name: String,
    /// Rides waiting for a driver with their pickup here.
    pub open_requests: u32,
    /// Available drivers here.
    pub available_drivers: u32,
    /// Rides requested here in the last hour.
    pub requests_last_hour: u32,
}

/// Demand and supply per zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneStatsResponse {
    /// One entry per taxi zone.
    pub zones: Vec<ZoneStatDto>,
}

/// Demand and supply by taxi zone, for the heatmap.
#[utoipa::path(get, path = "/v1/admin/zones", operation_id = "admin_zones", tag = "operations",
    responses((status = 200, body = ZoneStatsResponse)))]
pub async fn zones(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<ZoneStatsResponse>, ApiError> {
    let stats = state.app.zone_stats(&user).await?;
    Ok(Json(ZoneStatsResponse {
        zones: stats
            .into_iter()
            .map(|z| ZoneStatDto {
                zone_id: z.zone_id,
                name: z.name,
                open_requests: z.open_requests,
                available_drivers: z.available_drivers,
                requests_last_hour: z.requests_last_hour,
            })
            .collect(),
    }))
}

/// Ride search query.
#[derive(Debug, Deserialize)]
pub struct RideSearch {
    /// Only rides in this state.
    pub state: Option<String>,
    /// Text contained in the ride, rider or driver id.
    pub q: Option<String>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<i64>,
}

impl utoipa::IntoParams for RideSearch {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::schema::{parameter, ride_search_limit, ride_search_text, ride_state};
        use utoipa::openapi::path::ParameterIn::Query;
        vec![
            parameter(
                Query,
                "state",
                false,
                ride_state(),
                "Only rides in this state",
            ),
            parameter(
                Query,
                "q",
                false,
                ride_search_text(),
                "Text contained in the ride, rider or driver id",
            ),
            parameter(
                Query,
                "limit",
                false,
                ride_search_limit(),
                "At most this many (default 100)",
            ),
        ]
    }
}

/// Rides, newest first, filtered by state and id text.
#[utoipa::path(get, path = "/v1/admin/rides", operation_id = "admin_rides", tag = "operations", params(RideSearch),
    responses((status = 200, body = crate::dto::RideList), (status = 422, description = "invalid_state, invalid_limit, invalid_query_text")))]
pub async fn rides(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<RideSearch>,
) -> Result<Json<crate::dto::RideList>, ApiError> {
    let ride_state = match q.state.as_deref() {
        Some(s) => Some(RideState::parse(s).ok_or_else(|| {
            ApiError::unprocessable("invalid_state", format!("unknown ride state {s:?}"))
        })?),
        None => None,
    };
    let range = doorstep_app::ops::RIDE_SEARCH_LIMIT;
    let limit = q.limit.unwrap_or(100);
    if !range.contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_limit",
            format!("limit must be {} to {}", range.start(), range.end()),
        ));
    }
    if q.q
        .as_deref()
        .is_some_and(|t| t.chars().count() > doorstep_app::ops::RIDE_SEARCH_TEXT_MAX_CHARS)
    {
        return Err(ApiError::unprocessable(
            "invalid_query_text",
            format!(
                "q is at most {} characters",
                doorstep_app::ops::RIDE_SEARCH_TEXT_MAX_CHARS
            ),
        ));
    }
    let rides = state
        .app
        .search_rides(&user, ride_state, q.q.as_deref(), limit)
        .await?;
    Ok(Json(crate::dto::RideList {
        rides: rides
            .iter()
            .map(|r| RideView::new(r, user.id, None, state.app.config().pin_max_attempts))
            .collect(),
    }))
}
