//! The driver's own status, locations, offers and earnings.

use crate::ApiState;
use crate::dto::{
    DeclineResponse, EarningsQuery, EarningsResponse, LocationPoint, LocationsAccepted, OfferDto,
    OfferList, OnlineResponse, RideView, parse_rfc3339,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use doorstep_domain::OfferId;

/// The driver starts taking offers: only once an operator approved them (409 `driver_not_approved`) and
/// with no document expired (409 `document_expired`).
#[utoipa::path(post, path = "/v1/drivers/me/online", operation_id = "go_online", tag = "driving",
    responses((status = 200, body = OnlineResponse),
        (status = 409, description = "driver_not_approved, document_expired")))]
pub async fn online(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<OnlineResponse>, ApiError> {
    state.app.go_online(&user).await?;
    Ok(Json(OnlineResponse { online: true }))
}

/// The driver stops taking offers.
#[utoipa::path(post, path = "/v1/drivers/me/offline", operation_id = "go_offline", tag = "driving",
    responses((status = 200, body = OnlineResponse)))]
pub async fn offline(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<OnlineResponse>, ApiError> {
    state.app.go_offline(&user).await?;
    Ok(Json(OnlineResponse { online: false }))
}

/// A batch of 1 to 100 positions (the WebSocket takes the same batches as `{"type":"locations","points":[...]}`).
///
/// A point is believed only if reaching it from the driver's previous accepted point needs no more than the
/// speed limit (`--max-speed-kmh`, default 150 km/h; two points of one instant must be at one place) and it is
/// within the service area's margin (`--service-area-margin-km`, default 5 km). Points that are not believed
/// are counted in the answer (`rejected`, by reason) and move nothing: not the car, not a trip's distance,
/// not who is at a pickup.
#[utoipa::path(post, path = "/v1/drivers/me/locations", operation_id = "report_locations", tag = "driving",
    request_body = crate::schema::LocationBatch,
    responses((status = 202, body = LocationsAccepted),
        (status = 422, description = "invalid_coordinates, invalid_timestamp, invalid_batch, location_in_future")))]
pub async fn locations(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(points): ApiJson<Vec<LocationPoint>>,
) -> Result<(StatusCode, Json<LocationsAccepted>), ApiError> {
    let parsed = points
        .iter()
        .map(LocationPoint::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let report = state.app.report_locations(&user, &parsed).await?;
    Ok((StatusCode::ACCEPTED, Json(LocationsAccepted::from(report))))
}

/// The driver's earnings statement (default: the last 24 hours).
#[utoipa::path(get, path = "/v1/drivers/me/earnings", operation_id = "earnings", tag = "driving", params(EarningsQuery),
    responses((status = 200, body = EarningsResponse), (status = 422, description = "invalid_timestamp, invalid_period")))]
pub async fn earnings(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<EarningsQuery>,
) -> Result<Json<EarningsResponse>, ApiError> {
    let now = state.app.clock().now();
    let to =
        q.to.as_deref()
            .map(parse_rfc3339)
            .transpose()?
            .unwrap_or(now.plus_secs(1));
    let from = q
        .from
        .as_deref()
        .map(parse_rfc3339)
        .transpose()?
        .unwrap_or(to.plus_secs(-24 * 3600));
    if from > to {
        return Err(ApiError::unprocessable(
            "invalid_period",
            "from must not be after to",
        ));
    }
    let statement = state.app.earnings(&user, from, to).await?;
    Ok(Json(EarningsResponse::new(&statement, from, to)))
}

/// The calling driver's pending offers.
#[utoipa::path(get, path = "/v1/offers", operation_id = "list_offers", tag = "driving",
    responses((status = 200, body = OfferList)))]
pub async fn offers(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<OfferList>, ApiError> {
    let offers = state.app.offers_for(&user).await?;
    Ok(Json(OfferList {
        offers: offers
            .iter()
            .map(|o| OfferDto::new(o, state.app.config().pricing.commission_bps))
            .collect(),
    }))
}

/// Accepts an offer made to the caller: the ride is theirs.
#[utoipa::path(post, path = "/v1/offers/{offer_id}/accept", operation_id = "accept_offer", tag = "driving", params(("offer_id" = uuid::Uuid, Path, description = "The offer")),
    responses((status = 200, body = RideView), (status = 404, description = "offer_not_found"),
        (status = 409, description = "offer_expired, offer_not_pending, invalid_ride_state, driver_excluded, concurrent_update")))]
pub async fn accept(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .accept_offer(&user, parse_id::<OfferId>(&id, "offer")?)
        .await?;
    Ok(Json(RideView::new(
        &ride,
        user.id,
        None,
        state.app.config().pin_max_attempts,
    )))
}

/// Declines an offer made to the caller.
#[utoipa::path(post, path = "/v1/offers/{offer_id}/decline", operation_id = "decline_offer", tag = "driving", params(("offer_id" = uuid::Uuid, Path, description = "The offer")),
    responses((status = 200, body = DeclineResponse), (status = 404, description = "offer_not_found"),
        (status = 409, description = "offer_expired, offer_not_pending, concurrent_update")))]
pub async fn decline(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<DeclineResponse>, ApiError> {
    let offer = state
        .app
        .decline_offer(&user, parse_id::<OfferId>(&id, "offer")?)
        .await?;
    Ok(Json(DeclineResponse {
        offer_id: offer.id.to_string(),
        state: offer.state.as_str().to_owned(),
    }))
}

/// Query of the nearby-drivers map.
#[derive(Debug, serde::Deserialize)]
pub struct NearbyQuery {
    /// Latitude of the point.
    pub lat: f64,
    /// Longitude of the point.
    pub lng: f64,
    /// How many drivers (1 to 50, default 10).
    pub limit: Option<i64>,
}

impl utoipa::IntoParams for NearbyQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::schema::{latitude, longitude, nearby_limit, parameter};
        use utoipa::openapi::path::ParameterIn::Query;
        vec![
            parameter(Query, "lat", true, latitude(), "Latitude of the point"),
            parameter(Query, "lng", true, longitude(), "Longitude of the point"),
            parameter(
                Query,
                "limit",
                false,
                nearby_limit(),
                "How many drivers (default 10)",
            ),
        ]
    }
}

/// One available driver near a point, without identity. For riders the position is snapped to a 50 m
/// grid, the distance rounded to 50 m and the ETA to 30 s; admins see exact values.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NearbyDriver {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// Straight-line distance to the point, metres.
    pub distance_m: u32,
    /// Estimated drive to the point, seconds.
    pub eta_s: u32,
}

/// Available drivers near the point.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NearbyResponse {
    /// Closest first (for riders by the rounded distance, equal ones in random order).
    pub drivers: Vec<NearbyDriver>,
}

/// Up to 50 available drivers near a point (within 3 km), closest first: the cars a rider's map shows.
/// Riders get coarse answers (positions on a 50 m grid, distances in 50 m and ETAs in 30 s steps, no
/// identities, equal distances in random order); admins get exact positions. The same query is answered
/// on the event stream: `{"type":"nearby","lat":..,"lng":..,"limit":10}`, and counts against the same
/// per-user rate limit.
#[utoipa::path(get, path = "/v1/drivers/nearby", operation_id = "nearby_drivers", tag = "rides", params(NearbyQuery),
    responses((status = 200, body = NearbyResponse), (status = 422, description = "invalid_coordinates, invalid_limit")))]
pub async fn nearby(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<NearbyQuery>,
) -> Result<Json<NearbyResponse>, ApiError> {
    let p = doorstep_geo::LatLng::try_from(crate::dto::LatLngDto {
        lat: q.lat,
        lng: q.lng,
    })?;
    let limit = nearby_limit(q.limit)?;
    let found = state.app.nearby_drivers_anywhere(&user, p, limit).await?;
    Ok(Json(NearbyResponse::new(found)))
}

/// The `limit` of a nearby query: 10 when absent, 422 `invalid_limit` outside
/// [`doorstep_app::drivers::NEARBY_LIMIT`].
pub fn nearby_limit(limit: Option<i64>) -> Result<usize, ApiError> {
    let range = doorstep_app::drivers::NEARBY_LIMIT;
    match limit {
        None => Ok(10),
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_limit",
                    format!("limit must be {} to {}", range.start(), range.end()),
                )
            }),
    }
}

impl NearbyResponse {
    /// The answer for the sightings of [`doorstep_app::App::nearby_drivers`], in their order.
    pub fn new(found: Vec<doorstep_geo::Sighting>) -> NearbyResponse {
        let round = |x: f64| {
            if x.is_finite() && x > 0.0 {
                x.round().min(f64::from(u32::MAX)) as u32
            } else {
                0
            }
        };
        NearbyResponse {
            drivers: found
                .into_iter()
                .map(|s| NearbyDriver {
                    lat: s.position.lat(),
                    lng: s.position.lng(),
                    distance_m: round(s.distance_m),
                    eta_s: round(s.eta_s),
                })
                .collect(),
        }
    }
}
