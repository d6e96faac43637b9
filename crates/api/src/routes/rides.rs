//! Rides: quotes, requests, reading, cancelling, a new PIN, the driver's arrive/start/complete, and
//! ratings.

use crate::ApiState;
use crate::dto::{
    EventList, EventV1, QuoteRequest, QuoteResponse, RatingBody, RatingResponse, RideList,
    RideRequestBody, RideView, StartBody,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_domain::ride::{Pin, Ride};
use doorstep_domain::{QuoteId, RideId, User};
use doorstep_geo::LatLng;

fn view(state: &ApiState, ride: &Ride, user: &User) -> RideView {
    let fee = if ride.rider() == user.id {
        state.app.cancel_fee_now(ride)
    } else {
        None
    };
    RideView::new(ride, user.id, fee, state.app.config().pin_max_attempts)
}

/// The view of `ride` for `user` with how it is paid and tipped.
pub(crate) async fn view_with_payment(
    state: &ApiState,
    ride: &Ride,
    user: &User,
) -> Result<RideView, ApiError> {
    let mut v = view(state, ride, user);
    let payment = state.app.ride_payment(ride).await?;
    v.payment = crate::dto::RidePaymentDto::new(&payment);
    Ok(v)
}

/// Prices a trip: the itemised fare with the surge of the pickup area, valid for a few minutes. A pickup
/// or drop-off on the water is refused (`in_water`).
#[utoipa::path(post, path = "/v1/rides/quotes", operation_id = "create_quote", tag = "rides", request_body = QuoteRequest,
    responses((status = 201, body = QuoteResponse), (status = 422, description = "invalid_coordinates, outside_service_area, in_water")))]
pub async fn quote(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<QuoteRequest>,
) -> Result<(StatusCode, Json<QuoteResponse>), ApiError> {
    let pickup = LatLng::try_from(body.pickup)?;
    let dropoff = LatLng::try_from(body.dropoff)?;
    let (quote, reason) = state.app.quote_explained(&user, pickup, dropoff).await?;
    let supply = state.app.pickup_supply_anywhere(pickup).await;
    Ok((
        StatusCode::CREATED,
        Json(QuoteResponse::explained(&quote, reason).with_supply(supply)),
    ))
}

/// The header that makes a request safe to retry (read from the headers by hand; this documents it).
pub(crate) struct IdempotencyHeader;

impl utoipa::IntoParams for IdempotencyHeader {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![crate::schema::parameter(
            utoipa::openapi::path::ParameterIn::Header,
            "Idempotency-Key",
            false,
            crate::schema::idempotency_key(),
            "Client-chosen key: a retry with the same key and body returns the same ride; the same key \
             with another body is refused",
        )]
    }
}

/// Requests a ride from a quote, paid with `payment_method_id` (default `cash`). The quoted fare is
/// authorised on the method first: an empty wallet is 402 `insufficient_funds`, a declined card 402
/// `card_declined`, and then no ride is created. Send an `Idempotency-Key` header: a retry with the same
/// key returns the same ride and never creates (or authorises) a second one.
#[utoipa::path(post, path = "/v1/rides", operation_id = "request_ride", tag = "rides", request_body = RideRequestBody,
    params(IdempotencyHeader),
    responses((status = 201, body = RideView), (status = 402, description = "insufficient_funds, card_declined"),
        (status = 404, description = "quote_not_found, payment_method_not_found"),
        (status = 409, description = "quote_expired, quote_already_used"),
        (status = 422, description = "invalid_idempotency_key, idempotency_key_reused")))]
pub async fn request(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RideRequestBody>,
) -> Result<(StatusCode, Json<RideView>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| crate::schema::check_idempotency_key(v.as_bytes()))
        .transpose()?;
    let quote_id: QuoteId = parse_id(&body.quote_id, "quote")?;
    let method = body.payment_method_id.as_deref();
    let ride = state.app.request_ride(&user, quote_id, key, method).await?;
    Ok((
        StatusCode::CREATED,
        Json(view_with_payment(&state, &ride, &user).await?),
    ))
}

/// A ride of the caller (404 for anyone else's), with who is coming (`driver`) once a driver is assigned.
#[utoipa::path(get, path = "/v1/rides/{ride_id}", operation_id = "get_ride", tag = "rides", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found")))]
pub async fn get(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .ride_for(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    let mut view = view_with_payment(&state, &ride, &user).await?;
    view.driver = state
        .app
        .driver_card_for(&user, &ride)
        .await?
        .as_ref()
        .map(crate::dto::DriverCardDto::from);
    Ok(Json(view))
}

/// The caller's rides, newest first (all rides for an admin).
#[utoipa::path(get, path = "/v1/rides", operation_id = "list_rides", tag = "rides", responses((status = 200, body = RideList)))]
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
#[utoipa::path(get, path = "/v1/rides/{ride_id}/events", operation_id = "ride_events", tag = "rides", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = EventList), (status = 404, description = "ride_not_found")))]
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
        events: events.iter().map(EventV1::from).collect(),
    }))
}

/// Cancels a ride. The rider cancels for free until two minutes after a driver is assigned and pays the
/// fee after (shown beforehand as `cancel_fee_now`); the assigned driver's cancellation sends the ride back
/// to dispatch.
#[utoipa::path(post, path = "/v1/rides/{ride_id}/cancel", operation_id = "cancel_ride", tag = "rides", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "invalid_ride_state, concurrent_update")))]
pub async fn cancel(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .cancel_ride(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(view_with_payment(&state, &ride, &user).await?))
}

/// The assigned driver is at the pickup. Allowed only within 200 m of it (`--arrive-radius-m`), by the last
/// position the server accepted from the driver: send a position there first. Farther, or with no position
/// known, the answer is 409 `not_at_pickup` (the message says how far) and the ride does not change.
#[utoipa::path(post, path = "/v1/rides/{ride_id}/arrive", operation_id = "arrive", tag = "driving", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "not_at_pickup, invalid_ride_state, concurrent_update")))]
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
/// with `POST /v1/rides/{ride_id}/pin`. `wrong_pin` is counted (the message says how many tries are left);
/// `invalid_pin` (not exactly 4 digits) is not.
#[utoipa::path(post, path = "/v1/rides/{ride_id}/start", operation_id = "start_trip", tag = "driving", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    request_body = StartBody,
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "pin_locked, invalid_ride_state, concurrent_update"), (status = 422, description = "wrong_pin, invalid_pin")))]
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
#[utoipa::path(post, path = "/v1/rides/{ride_id}/pin", operation_id = "reissue_pin", tag = "rides", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "invalid_ride_state, concurrent_update")))]
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

/// The assigned driver ends the trip; the final fare comes from the distance driven (summed from the
/// driver's accepted positions) and the time taken, at the quote's surge, and stays within a band around the
/// quote (50 % to 200 % by default, `--fare-min-pct`, `--fare-max-pct`; `fare_adjustment` says when the band
/// applied). A completion farther than 200 m from the drop-off (`--dropoff-radius-m`) is recorded as an early
/// end (`early_end`) and charged for what was driven, without the band's minimum. The `completed` event
/// carries `fare`, `distance_m`, `fare_adjustment` and `early_end`.
#[utoipa::path(post, path = "/v1/rides/{ride_id}/complete", operation_id = "complete_trip", tag = "driving", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "invalid_ride_state, concurrent_update")))]
pub async fn complete(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideView>, ApiError> {
    let ride = state
        .app
        .complete_trip(&user, parse_id::<RideId>(&id, "ride")?)
        .await?;
    Ok(Json(view_with_payment(&state, &ride, &user).await?))
}

/// The rider rates the driver, or the driver the rider, after a completed ride.
#[utoipa::path(post, path = "/v1/rides/{ride_id}/rating", operation_id = "rate_ride", tag = "rides", params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    request_body = RatingBody,
    responses((status = 201, body = RatingResponse), (status = 404, description = "ride_not_found"),
        (status = 409, description = "already_rated, ride_not_completed"),
        (status = 422, description = "invalid_stars, comment_too_long, invalid_characters")))]
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
