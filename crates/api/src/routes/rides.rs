//! Rides: quotes, requests, reading, cancelling, a new PIN, the driver's arrive/start/complete, and
//! ratings.

use crate::ApiState;
use crate::dto::{
    EventList, QuoteRequest, QuoteResponse, RatingBody, RatingResponse, RideList, RideRequestBody,
    RideView, StartBody, event_json,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_domain::ride::{Pin, Ride};
use doorstep_domain::{QuoteId, RideId, User};
use doorstep_geo::LatLng;

fn view(state: &ApiState, ride: &Ride, user: &User) -> RideView {
    let fee = if ride.rider == user.id {
        state.app.cancel_fee_now(ride)
    } else {
        None
    };
    RideView::new(ride, user.id, fee, state.app.config().pin_max_attempts)
}

/// Prices a trip: the itemised fare with the surge of the pickup area, valid for a few minutes.
#[utoipa::path(post, path = "/v1/rides/quotes", tag = "rides", security(("bearer" = [])), request_body = QuoteRequest,
    responses((status = 201, body = QuoteResponse), (status = 422, description = "invalid_coordinates, outside_service_area", body = ErrorBody)))]
pub async fn quote(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<QuoteRequest>,
) -> Result<(StatusCode, Json<QuoteResponse>), ApiError> {
    let pickup = LatLng::try_from(body.pickup)?;
    let dropoff = LatLng::try_from(body.dropoff)?;
    let quote = state.app.quote(&user, pickup, dropoff).await?;
    Ok((StatusCode::CREATED, Json(QuoteResponse::from(&quote))))
}

/// Requests a ride from a quote. Send an `Idempotency-Key` header: a retry with the same key returns the
/// same ride and never creates a second one.
#[utoipa::path(post, path = "/v1/rides", tag = "rides", security(("bearer" = [])), request_body = RideRequestBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Client-chosen key, up to 100 characters")),
    responses((status = 201, body = RideView), (status = 404, body = ErrorBody), (status = 409, description = "quote_expired, quote_already_used", body = ErrorBody)))]
pub async fn request(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RideRequestBody>,
) -> Result<(StatusCode, Json<RideView>), ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(v) => {
            let k = v.to_str().map_err(|_| {
                ApiError::unprocessable("invalid_idempotency_key", "the key must be ASCII")
            })?;
            if k.is_empty() || k.len() > 100 {
                return Err(ApiError::unprocessable(
                    "invalid_idempotency_key",
                    "the key must be 1 to 100 characters",
                ));
            }
            Some(k.to_owned())
        }
        None => None,
    };
    let quote_id: QuoteId = parse_id(&body.quote_id, "quote")?;
    let ride = state
        .app
        .request_ride(&user, quote_id, key.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, &ride, &user))))
}

/// A ride of the caller (404 for anyone else's).
#[utoipa::path(get, path = "/v1/rides/{id}", tag = "rides", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RideView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .ride_for(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(view(&state, &ride, &user)))
}

/// The caller's rides, newest first (all rides for an admin).
#[utoipa::path(get, path = "/v1/rides", tag = "rides", security(("bearer" = [])), responses((status = 200, body = RideList)))]
pub async fn list(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<RideList>, ApiError> {
    let rides = state.app.rides_for(&user).await?;
    Ok(Json(RideList {
        rides: rides.iter().map(|r| view(&state, r, &user)).collect(),
    }))
}

/// The events of a ride, oldest first.
#[utoipa::path(get, path = "/v1/rides/{id}/events", tag = "rides", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EventList), (status = 404, body = ErrorBody)))]
pub async fn events(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<EventList>, ApiError> {
    let events = state
        .app
        .ride_events_for(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(EventList {
        events: events.iter().map(event_json).collect(),
    }))
}

/// Cancels a ride. The rider cancels for free until two minutes after a driver is assigned and pays the
/// fee after (shown beforehand as `cancel_fee_now`); the assigned driver's cancellation sends the ride back
/// to dispatch.
#[utoipa::path(post, path = "/v1/rides/{id}/cancel", tag = "rides", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RideView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .cancel_ride(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(view(&state, &ride, &user)))
}

/// The assigned driver is at the pickup.
#[utoipa::path(post, path = "/v1/rides/{id}/arrive", tag = "driving", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RideView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn arrive(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .arrive(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(view(&state, &ride, &user)))
}

/// The assigned driver starts the trip with the rider's PIN. Wrong PINs are limited (5 by default,
/// `--pin-max-attempts`): each is counted before it is answered and shows in the ride's events as
/// `pin_attempt_failed`; the last allowed one locks the PIN (`pin_locked`) until the rider issues a new one
/// with `POST /v1/rides/{id}/pin`.
#[utoipa::path(post, path = "/v1/rides/{id}/start", tag = "driving", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = StartBody,
    responses((status = 200, body = RideView), (status = 404, body = ErrorBody),
        (status = 409, description = "pin_locked (too many wrong PINs; the rider must issue a new one), invalid_ride_state, concurrent_update", body = ErrorBody),
        (status = 422, description = "wrong_pin (counted; the message says how many tries are left), invalid_pin (not exactly 4 digits; not counted)", body = ErrorBody)))]
pub async fn start(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<Json<RideView>, ApiError> {
    let id = parse_id::<RideId>(&id, "ride")?;
    let pin = Pin::try_from(&body)?;
    let ride = state.app.start_trip(&user, id, &pin).await?;
    Ok(Json(view(&state, &ride, &user)))
}

/// The rider (or an operator) replaces the ride's PIN with a new random one, until the trip starts. This
/// also unlocks a PIN locked by too many wrong tries. The answer carries the new `pin`; the event
/// `pin_reissued`, which the driver receives too, does not.
#[utoipa::path(post, path = "/v1/rides/{id}/pin", tag = "rides", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RideView),
        (status = 403, description = "forbidden (the ride's driver)", body = ErrorBody),
        (status = 404, description = "ride_not_found (also for other riders' and drivers' rides)", body = ErrorBody),
        (status = 409, description = "invalid_ride_state (the trip started or the ride ended), concurrent_update", body = ErrorBody)))]
pub async fn reissue_pin(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .reissue_pin(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(view(&state, &ride, &user)))
}

/// The assigned driver ends the trip; the final fare comes from the distance driven and the time taken.
#[utoipa::path(post, path = "/v1/rides/{id}/complete", tag = "driving", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = RideView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn complete(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .complete_trip(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(view(&state, &ride, &user)))
}

/// The rider rates the driver, or the driver the rider, after a completed ride.
#[utoipa::path(post, path = "/v1/rides/{id}/rating", tag = "rides", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = RatingBody,
    responses((status = 201, body = RatingResponse), (status = 404, body = ErrorBody), (status = 409, description = "already_rated, ride_not_completed", body = ErrorBody)))]
pub async fn rate(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RatingBody>,
) -> Result<(StatusCode, Json<RatingResponse>), ApiError> {
    let rating = state
        .app
        .rate(
            &user,
            parse_id::<RideId>(&id, "ride")?,
            body.stars,
            &body.comment,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RatingResponse {
            ride_id: rating.ride_id.to_string(),
            rated_user_id: rating.to.to_string(),
            stars: rating.stars.get(),
            comment: rating.comment,
        }),
    ))
}
