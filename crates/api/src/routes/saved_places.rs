//! Saved places: the caller's home, work and up to 20 labels of their own, under `/v1/me/places`. The
//! routes take no account id: each acts on the caller's own places, so nobody can name another's. Any
//! role may keep them (riders to ride home, drivers to head home after a shift, customers of the
//! services to come), and place search offers them first (`routes::places::search`).

use crate::ApiState;
use crate::dto::{LatLngDto, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use doorstep_domain::saved_place::{LabelKind, SavedPlace};
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};

/// What a saved place's label is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SavedPlaceKind {
    /// The label `home`.
    Home,
    /// The label `work`.
    Work,
    /// A label of the caller's own.
    Custom,
}

impl From<LabelKind> for SavedPlaceKind {
    fn from(k: LabelKind) -> Self {
        match k {
            LabelKind::Home => SavedPlaceKind::Home,
            LabelKind::Work => SavedPlaceKind::Work,
            LabelKind::Custom => SavedPlaceKind::Custom,
        }
    }
}

/// One saved place.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedPlaceView {
    /// The label: `home`, `work` (always lower case), or the caller's own as they wrote it.
    pub label: String,
    /// Home, work or custom.
    pub kind: SavedPlaceKind,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// The name given, "" if none.
    pub name: String,
    /// The address line given, "" if none.
    pub address: String,
    /// When it was last saved (RFC 3339).
    pub updated_at: String,
}

impl From<&SavedPlace> for SavedPlaceView {
    fn from(p: &SavedPlace) -> Self {
        SavedPlaceView {
            label: p.label.as_str().to_owned(),
            kind: p.label.kind().into(),
            lat: p.point.lat(),
            lng: p.point.lng(),
            name: p.name.clone(),
            address: p.address.clone(),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

/// The caller's saved places.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedPlacesResponse {
    /// Home, work, then the caller's own labels in alphabetical order.
    pub places: Vec<SavedPlaceView>,
}

/// `PUT /v1/me/places/{label}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SavePlaceBody {
    /// Latitude: on land in the service area.
    #[schema(schema_with = crate::schema::service_latitude)]
    pub lat: f64,
    /// Longitude: on land in the service area.
    #[schema(schema_with = crate::schema::service_longitude)]
    pub lng: f64,
    /// Optional name ("Flatiron office"), up to 100 characters.
    #[serde(default)]
    #[schema(schema_with = crate::schema::place_name)]
    pub name: Option<String>,
    /// Optional address line, up to 200 characters (a search result's `address`).
    #[serde(default)]
    #[schema(schema_with = crate::schema::place_address)]
    pub address: Option<String>,
}

/// The `{label}` path parameter.
#[derive(Debug)]
pub struct LabelPath;

impl utoipa::IntoParams for LabelPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![crate::schema::parameter(
            ParameterIn::Path,
            "label",
            true,
            crate::schema::place_label(),
            "`home`, `work` or a label of your own (1 to 32 characters)",
        )]
    }
}

/// The label of the path; a path that does not decode is a bad label.
fn label_of(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(label)| label)
        .map_err(|_| ApiError::unprocessable("invalid_label", "the label is not valid UTF-8 text"))
}

/// The caller's saved places: home, work, then their own labels. Only ever the caller's.
#[utoipa::path(get, path = "/v1/me/places", operation_id = "list_saved_places", tag = "places",
    responses((status = 200, body = SavedPlacesResponse)))]
pub async fn list(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<SavedPlacesResponse>, ApiError> {
    let places = state.app.saved_places(&user).await?;
    Ok(Json(SavedPlacesResponse {
        places: places.iter().map(SavedPlaceView::from).collect(),
    }))
}

/// Saves a place under `label` for the caller (201 when the label is new, 200 when its place is
/// replaced). The point must be on land in the service area, as for a quote. Besides home and work, a
/// caller keeps at most 20 labels (409 `too_many_saved_places`); labels are compared without case.
#[utoipa::path(put, path = "/v1/me/places/{label}", operation_id = "save_place", tag = "places", params(LabelPath),
    request_body = SavePlaceBody,
    responses((status = 200, body = SavedPlaceView, description = "The label's place was replaced"),
        (status = 201, body = SavedPlaceView, description = "A new label"),
        (status = 409, description = "too_many_saved_places"),
        (status = 422, description = "invalid_label, invalid_name, invalid_address, invalid_characters, invalid_coordinates, outside_service_area, in_water")))]
pub async fn save(
    State(state): State<ApiState>,
    Caller(user): Caller,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<SavePlaceBody>,
) -> Result<(StatusCode, Json<SavedPlaceView>), ApiError> {
    let label = label_of(path)?;
    let point = LatLng::try_from(LatLngDto {
        lat: body.lat,
        lng: body.lng,
    })?;
    let saved = state
        .app
        .save_place(
            &user,
            &label,
            point,
            body.name.as_deref(),
            body.address.as_deref(),
        )
        .await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(SavedPlaceView::from(&saved.place))))
}

/// Deletes the caller's place under `label` (compared without case).
#[utoipa::path(delete, path = "/v1/me/places/{label}", operation_id = "delete_saved_place", tag = "places", params(LabelPath),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "place_not_found"),
        (status = 422, description = "invalid_label, invalid_characters")))]
pub async fn delete(
    State(state): State<ApiState>,
    Caller(user): Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let label = label_of(path)?;
    state.app.delete_saved_place(&user, &label).await?;
    Ok(StatusCode::NO_CONTENT)
}
