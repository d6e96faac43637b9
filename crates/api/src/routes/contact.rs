//! Who is coming and what they say: a driver's vehicle, and the messages of a ride.

use crate::ApiState;
use crate::dto::{MessageBody, MessageDto, MessageList, VehicleDto};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use doorstep_domain::RideId;

/// The driver registers or replaces their vehicle; riders see it (with the plate) from assignment on.
#[utoipa::path(put, path = "/v1/drivers/me/vehicle", operation_id = "register_vehicle", tag = "driving",
    request_body = VehicleDto,
    responses((status = 200, body = VehicleDto),
        (status = 422, description = "invalid_make, invalid_model, invalid_colour, invalid_plate")))]
pub async fn put_vehicle(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<VehicleDto>,
) -> Result<Json<VehicleDto>, ApiError> {
    let vehicle = state
        .app
        .register_vehicle(&user, &body.make, &body.model, &body.colour, &body.plate)
        .await?;
    Ok(Json(VehicleDto::from(&vehicle)))
}

/// The driver's registered vehicle.
#[utoipa::path(get, path = "/v1/drivers/me/vehicle", operation_id = "get_vehicle", tag = "driving",
    responses((status = 200, body = VehicleDto), (status = 404, description = "vehicle_not_found")))]
pub async fn get_vehicle(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<VehicleDto>, ApiError> {
    let vehicle = state.app.vehicle_of(&user).await?;
    Ok(Json(VehicleDto::from(&vehicle)))
}

/// The messages of a ride, oldest first: for its rider, its driver and operators (for disputes).
#[utoipa::path(get, path = "/v1/rides/{ride_id}/messages", operation_id = "list_messages", tag = "rides",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = MessageList), (status = 404, description = "ride_not_found")))]
pub async fn list(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<MessageList>, ApiError> {
    let messages = state
        .app
        .messages_for(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(MessageList {
        messages: messages.iter().map(MessageDto::from).collect(),
    }))
}

/// The header that makes a send safe to retry (read from the headers by hand; this documents it).
struct MessageKeyHeader;

impl utoipa::IntoParams for MessageKeyHeader {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![crate::schema::parameter(
            utoipa::openapi::path::ParameterIn::Header,
            "Idempotency-Key",
            false,
            crate::schema::idempotency_key(),
            "Client-chosen key: a retry with the same key returns the message sent the first time",
        )]
    }
}

/// The ride's rider or driver sends the other a message (1 to 500 characters), once a driver is
/// assigned and until the ride ends. It is stored and delivered to both on the event stream as
/// `message_sent`. Operators read messages but do not send them. A sender may send 10 at once and one a second after that (429 `rate_limited`).
#[utoipa::path(post, path = "/v1/rides/{ride_id}/messages", operation_id = "send_message", tag = "rides",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride"), MessageKeyHeader),
    request_body = MessageBody,
    responses((status = 201, body = MessageDto), (status = 200, body = MessageDto, description = "Sent before with this Idempotency-Key"),
        (status = 404, description = "ride_not_found"),
        (status = 409, description = "no_driver_yet, ride_closed"),
        (status = 422, description = "invalid_text, invalid_idempotency_key")))]
pub async fn send(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| crate::schema::check_idempotency_key(v.as_bytes()))
        .transpose()?;
    let id = parse_id::<RideId>(&id, "ride")?;
    if let Err(wait) = state.limiter.check_message(user.id) {
        return Ok(crate::rate_limit::too_many(wait));
    }
    let sent = state.app.send_message(&user, id, &body.text, key).await?;
    let status = if sent.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(MessageDto::from(&sent.message))).into_response())
}
