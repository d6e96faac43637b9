//! Places: address and place search as the user types, reverse geocoding, and routes along the streets,
//! all answered offline from `doorstep_places` (OpenStreetMap under ODbL and NYC Open Data: apps that
//! show these answers on a map show "© OpenStreetMap contributors").

use crate::ApiState;
use crate::dto::LatLngDto;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller};
use axum::Json;
use axum::extract::State;
use doorstep_domain::saved_place::PLACE_LABEL;
use doorstep_geo::LatLng;
use doorstep_places::{Kind, PlaceError, Places, Precision};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};

/// The longest search text, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// How many results a search may ask for.
pub const SEARCH_LIMIT: std::ops::RangeInclusive<i64> = 1..=20;

fn refused(e: PlaceError) -> ApiError {
    ApiError::unprocessable(e.code(), e.to_string())
}

fn point(lat: f64, lng: f64) -> Result<LatLng, ApiError> {
    LatLng::try_from(LatLngDto { lat, lng })
}

/// What a result is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// A house number on a street.
    Address,
    /// A named place: landmark, business, station, park.
    Place,
    /// Where two streets cross.
    Intersection,
    /// A whole street.
    Street,
    /// A neighbourhood.
    Neighborhood,
    /// One of the caller's saved places (`/v1/me/places`): its label is the saved label.
    Saved,
}

impl From<Kind> for PlaceKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Address => PlaceKind::Address,
            Kind::Place => PlaceKind::Place,
            Kind::Intersection => PlaceKind::Intersection,
            Kind::Street => PlaceKind::Street,
            Kind::Neighborhood => PlaceKind::Neighborhood,
        }
    }
}

/// How a position was found: `exact` (an address point, a place's own point, a crossing),
/// `interpolated` (a house number placed between known numbers or by the Manhattan address arithmetic),
/// `street` (somewhere on the street), `area` (somewhere in a neighbourhood or park).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlacePrecision {
    /// An address point or a place's own point.
    Exact,
    /// Interpolated or computed.
    Interpolated,
    /// The street only.
    Street,
    /// An area.
    Area,
}

impl From<Precision> for PlacePrecision {
    fn from(p: Precision) -> Self {
        match p {
            Precision::Exact => PlacePrecision::Exact,
            Precision::Interpolated => PlacePrecision::Interpolated,
            Precision::Street => PlacePrecision::Street,
            Precision::Area => PlacePrecision::Area,
        }
    }
}

/// Query of a place search.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// The text as typed.
    pub q: String,
    /// How many results (1 to 20, default 8).
    pub limit: Option<i64>,
    /// Latitude to search near (with `lng`).
    pub lat: Option<f64>,
    /// Longitude to search near (with `lat`).
    pub lng: Option<f64>,
}

impl utoipa::IntoParams for SearchQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::schema::{latitude, longitude, parameter, place_query, place_search_limit};
        use ParameterIn::Query;
        vec![
            parameter(Query, "q", true, place_query(), "The text as typed"),
            parameter(
                Query,
                "limit",
                false,
                place_search_limit(),
                "How many results (default 8)",
            ),
            parameter(
                Query,
                "lat",
                false,
                latitude(),
                "Latitude to search near (with lng)",
            ),
            parameter(
                Query,
                "lng",
                false,
                longitude(),
                "Longitude to search near (with lat)",
            ),
        ]
    }
}

/// One search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceResult {
    /// What to show: a building or place name, "350 5th Avenue", "West 52nd Street & 11th Avenue".
    pub label: String,
    /// The address line under it.
    pub address: String,
    /// What it is.
    pub kind: PlaceKind,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// How the position was found.
    pub precision: PlacePrecision,
    /// Estimated error of the position, metres.
    pub precision_m: f64,
}

/// Search results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Best first.
    pub results: Vec<PlaceResult>,
}

/// Addresses ("350 5th Ave", also while typing: "350 5th"), places and landmarks ("Times Square",
/// "Empire State Building"), intersections ("W 52 St & 11 Ave", "5th Ave and 42nd St"), streets and
/// neighbourhoods of Manhattan, tolerant of abbreviations, case and typos. The last word counts as a
/// prefix unless the text ends with a space. House numbers outside the address points (about 40.701–40.759 N)
/// are interpolated or computed by the Manhattan address arithmetic, and say so in `precision`. The
/// caller's saved places whose label the text begins ("h", "home" for `home`) come first, of kind
/// `saved`, with the saved label as `label` and the saved name and address as `address`.
#[utoipa::path(get, path = "/v1/places/search", operation_id = "search_places", tag = "places", params(SearchQuery),
    responses((status = 200, body = SearchResponse),
        (status = 422, description = "empty_query, query_too_long, invalid_limit, invalid_coordinates")))]
pub async fn search(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchResponse>, ApiError> {
    if q.q.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "empty_query",
            "type something to search for",
        ));
    }
    if q.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::unprocessable(
            "query_too_long",
            format!("a search is at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let limit = match q.limit {
        None => 8,
        Some(n) if SEARCH_LIMIT.contains(&n) => usize::try_from(n).unwrap_or(8),
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_limit",
                format!(
                    "limit is {} to {}",
                    SEARCH_LIMIT.start(),
                    SEARCH_LIMIT.end()
                ),
            ));
        }
    };
    let near = match (q.lat, q.lng) {
        (Some(lat), Some(lng)) => Some(point(lat, lng)?),
        (None, None) => None,
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_coordinates",
                "give both lat and lng, or neither",
            ));
        }
    };
    // The caller's saved places first. Only a text as short as a label can begin one; and search keeps
    // working on the offline data if the store cannot answer.
    let saved = if q.q.trim().chars().count() <= PLACE_LABEL.max_chars {
        state.app.saved_places(&user).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "saved places unavailable to place search");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    let mut results: Vec<PlaceResult> = saved
        .into_iter()
        .filter(|p| p.label.answers(&q.q))
        .map(|p| PlaceResult {
            label: p.label.as_str().to_owned(),
            address: [p.name.as_str(), p.address.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
            kind: PlaceKind::Saved,
            lat: p.point.lat(),
            lng: p.point.lng(),
            precision: PlacePrecision::Exact,
            precision_m: 0.0,
        })
        .take(limit)
        .collect();
    let rest = limit - results.len();
    if rest > 0 {
        results.extend(
            Places::manhattan()
                .search(&q.q, near, rest)
                .into_iter()
                .map(|h| PlaceResult {
                    label: h.label,
                    address: h.address,
                    kind: h.kind.into(),
                    lat: h.lat,
                    lng: h.lng,
                    precision: h.precision.into(),
                    precision_m: h.precision_m,
                }),
        );
    }
    Ok(Json(SearchResponse { results }))
}

/// A position.
#[derive(Debug, Deserialize)]
pub struct PointQuery {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
}

impl utoipa::IntoParams for PointQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::schema::{latitude, longitude, parameter};
        vec![
            parameter(ParameterIn::Query, "lat", true, latitude(), "Latitude"),
            parameter(ParameterIn::Query, "lng", true, longitude(), "Longitude"),
        ]
    }
}

/// What is at a position.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReverseResponse {
    /// "Empire State Building", "350 5th Avenue", "near 350 5th Avenue", or "West 78th Street between
    /// Columbus Avenue and Amsterdam Avenue".
    pub label: String,
    /// The address line.
    pub address: String,
    /// The nearest named street.
    pub street: String,
    /// The neighbourhood (2020 NTA), "" if none.
    pub neighborhood: String,
    /// The ZIP code, "" if none.
    pub zip: String,
    /// Latitude of what the label names: the address point, else the snapped point.
    pub lat: f64,
    /// Longitude of what the label names.
    pub lng: f64,
    /// The nearest point of a named street: where a pin snaps to.
    pub snapped: LatLngDto,
    /// How precise the label is: `exact` (an address point within 60 m) or `street`.
    pub precision: PlacePrecision,
    /// Its estimated error, metres.
    pub precision_m: f64,
}

/// Reverse geocoding for "use my location" and map taps: the nearest address or the block of the
/// nearest street, the neighbourhood and ZIP, and the point on the nearest street a pin snaps to. A
/// position on the water or outside Manhattan is refused.
#[utoipa::path(get, path = "/v1/places/reverse", operation_id = "reverse_place", tag = "places", params(PointQuery),
    responses((status = 200, body = ReverseResponse),
        (status = 422, description = "invalid_coordinates, in_water, outside_service_area, no_road_nearby")))]
pub async fn reverse(
    _caller: Caller,
    ApiQuery(q): ApiQuery<PointQuery>,
) -> Result<Json<ReverseResponse>, ApiError> {
    let p = point(q.lat, q.lng)?;
    let r = Places::manhattan().reverse(p).map_err(refused)?;
    Ok(Json(ReverseResponse {
        label: r.label,
        address: r.address,
        street: r.street,
        neighborhood: r.neighborhood,
        zip: r.zip,
        lat: r.point.lat(),
        lng: r.point.lng(),
        snapped: r.snapped.into(),
        precision: r.precision.into(),
        precision_m: r.precision_m,
    }))
}

/// Query of a route.
#[derive(Debug, Deserialize)]
pub struct RouteQuery {
    /// Start latitude.
    pub from_lat: f64,
    /// Start longitude.
    pub from_lng: f64,
    /// End latitude.
    pub to_lat: f64,
    /// End longitude.
    pub to_lng: f64,
}

impl utoipa::IntoParams for RouteQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::schema::{latitude, longitude, parameter};
        use ParameterIn::Query;
        vec![
            parameter(Query, "from_lat", true, latitude(), "Start latitude"),
            parameter(Query, "from_lng", true, longitude(), "Start longitude"),
            parameter(Query, "to_lat", true, latitude(), "End latitude"),
            parameter(Query, "to_lng", true, longitude(), "End longitude"),
        ]
    }
}

/// A route along the streets.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteResponse {
    /// Length, metres.
    pub distance_m: f64,
    /// Estimated drive, seconds.
    pub duration_s: f64,
    /// The polyline as `[lng, lat]` pairs (GeoJSON order), from the start snapped to its street to the
    /// end snapped to its street.
    pub points: Vec<[f64; 2]>,
}

/// The fastest route between two positions along Manhattan's named streets (A* on the street graph; all
/// streets taken as two-way: the data has no one-way information). Ends snap to the nearest street.
#[utoipa::path(get, path = "/v1/route", operation_id = "route", tag = "places", params(RouteQuery),
    responses((status = 200, body = RouteResponse),
        (status = 422, description = "invalid_coordinates, in_water, outside_service_area, no_road_nearby, unroutable")))]
pub async fn route(
    _caller: Caller,
    State(_state): State<ApiState>,
    ApiQuery(q): ApiQuery<RouteQuery>,
) -> Result<Json<RouteResponse>, ApiError> {
    let from = point(q.from_lat, q.from_lng)?;
    let to = point(q.to_lat, q.to_lng)?;
    let r = Places::manhattan().route(from, to).map_err(refused)?;
    let round = |x: f64, k: f64| (x * k).round() / k;
    Ok(Json(RouteResponse {
        distance_m: round(r.distance_m, 10.0),
        duration_s: round(r.duration_s, 10.0),
        points: r
            .points
            .iter()
            .map(|p| [round(p.lng(), 1e6), round(p.lat(), 1e6)])
            .collect(),
    }))
}
