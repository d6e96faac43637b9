//! House calls over HTTP: availability for a service at an address, holds, bookings (idempotent by
//! `Idempotency-Key`), the customer's cancel and reschedule, and a provider's own profile and time off.
//!
//! A booking is visible to its customer, its provider and operators; anyone else gets 404
//! `booking_not_found`, never 403. A slot taken meanwhile is 409 `slot_unavailable` with the day's free
//! slots in `slots`.

use crate::ApiState;
use crate::dto::housecalls::{
    AvailabilityView, BlockView, BookBody, BookingList, BookingView, CheckInBody, HoldBody,
    HoldView, OnMyWayBody, ProviderBody, ProviderView, RescheduleBody, SlotTakenBody, SlotView,
    TimeOffDto, VisitRatingList, VisitRatingView, provider_id,
};
use crate::dto::{LatLngDto, parse_rfc3339, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use doorstep_app::house_visits::VisitStep;
use doorstep_app::housecalls::{BookError, BookRequest, VisitRequest};
use doorstep_domain::onboarding::CalendarDate;
use doorstep_domain::{HoldId, JobId, ServiceId};
use doorstep_geo::LatLng;
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};

fn booking_id(raw: &str) -> Result<JobId, ApiError> {
    parse_id(raw, "booking")
}

/// A refusal of a booking, a hold or a reschedule: 409 with the day's free slots, or the error.
fn book_error(e: BookError) -> Response {
    match e {
        BookError::SlotUnavailable(slots) => (
            StatusCode::CONFLICT,
            Json(SlotTakenBody {
                code: "slot_unavailable".to_owned(),
                message: "this slot is no longer free; pick another".to_owned(),
                slots: slots.iter().map(SlotView::from).collect(),
            }),
        )
            .into_response(),
        BookError::App(e) => ApiError::from(e).into_response(),
    }
}

/// The availability query.
#[derive(Debug, Deserialize)]
pub struct AvailabilityQuery {
    /// The service.
    pub service_id: uuid::Uuid,
    /// Latitude of the customer's place.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// The first local date.
    pub from: String,
    /// The last local date (inclusive).
    pub to: String,
    /// A chosen provider.
    #[serde(default)]
    pub provider_id: Option<uuid::Uuid>,
}

impl utoipa::IntoParams for AvailabilityQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::dto::merchants::calendar_date;
        use crate::schema::{latitude, longitude, parameter};
        let uuid = || {
            crate::schema::string()
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Uuid,
                )))
                .into()
        };
        vec![
            parameter(
                ParameterIn::Query,
                "service_id",
                true,
                uuid(),
                "The service",
            ),
            parameter(
                ParameterIn::Query,
                "lat",
                true,
                latitude(),
                "Latitude of the customer's place",
            ),
            parameter(
                ParameterIn::Query,
                "lng",
                true,
                longitude(),
                "Longitude of the customer's place",
            ),
            parameter(
                ParameterIn::Query,
                "from",
                true,
                calendar_date(),
                "The first local date",
            ),
            parameter(
                ParameterIn::Query,
                "to",
                true,
                calendar_date(),
                "The last local date (inclusive, at most 14 days)",
            ),
            parameter(
                ParameterIn::Query,
                "provider_id",
                false,
                uuid(),
                "A chosen provider; absent: any",
            ),
        ]
    }
}

fn date(raw: &str, name: &str) -> Result<CalendarDate, ApiError> {
    CalendarDate::parse(raw).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_date",
            format!("{name}: not a calendar date YYYY-MM-DD"),
        )
    })
}

/// The free slots for a service at an address over a range of local dates: every quarter-hour start
/// that a provider can reach from the visit before, leave in time for the next, and fit in their working
/// hours, with the providers who can take it (best first).
#[utoipa::path(get, path = "/v1/house-calls/availability", operation_id = "house_call_availability", tag = "house_calls",
    params(AvailabilityQuery),
    responses((status = 200, body = AvailabilityView),
        (status = 404, description = "service_not_found, provider_not_found"),
        (status = 409, description = "provider_not_bookable"),
        (status = 422, description = "invalid_coordinates, in_water, outside_service_area, invalid_date, invalid_date_range, service_not_offered")))]
pub async fn availability(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> Result<Json<AvailabilityView>, ApiError> {
    let place = LatLng::try_from(LatLngDto {
        lat: q.lat,
        lng: q.lng,
    })?;
    let (from, to) = (date(&q.from, "from")?, date(&q.to, "to")?);
    let visit = VisitRequest {
        service: ServiceId::from_uuid(q.service_id),
        place,
        provider: provider_id(q.provider_id),
    };
    let (service, slots) = state.app.availability(&user, visit, from, to).await?;
    Ok(Json(AvailabilityView {
        service_id: service.id.to_string(),
        service_name: service.name.clone(),
        duration_min: service.duration_min,
        price: service.price.into(),
        time_zone: "America/New_York".to_owned(),
        slots: slots.iter().map(SlotView::from).collect(),
    }))
}

/// Holds a slot for the caller for five minutes during checkout (an earlier hold of theirs is released).
#[utoipa::path(post, path = "/v1/house-calls/holds", operation_id = "hold_house_call", tag = "house_calls",
    request_body = HoldBody,
    responses((status = 201, body = HoldView),
        (status = 404, description = "service_not_found, provider_not_found"),
        (status = 409, body = SlotTakenBody, description = "slot_unavailable, provider_not_bookable, calendar_busy"),
        (status = 422, description = "invalid_coordinates, in_water, outside_service_area, invalid_timestamp, invalid_start, outside_working_hours, service_not_offered")))]
pub async fn hold(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<HoldBody>,
) -> Result<Response, ApiError> {
    let visit = VisitRequest {
        service: ServiceId::from_uuid(body.service_id),
        place: body.location.try_into()?,
        provider: provider_id(body.provider_id),
    };
    let start = parse_rfc3339(&body.start)?;
    Ok(match state.app.hold_slot(&user, visit, start).await {
        Ok(hold) => (
            StatusCode::CREATED,
            Json(HoldView {
                hold_id: hold.id.to_string(),
                provider_id: hold.provider.to_string(),
                start: rfc3339(hold.starts_at),
                expires_at: rfc3339(hold.expires_at),
            }),
        )
            .into_response(),
        Err(e) => book_error(e),
    })
}

/// Books a house call. Send an `Idempotency-Key`: a retry with the same key and body returns the first
/// booking (200) and never books twice; the same key with another body is 422 `idempotency_key_reused`.
/// With `hold_id`, the held provider comes; without, the chosen provider or the best one free.
#[utoipa::path(post, path = "/v1/house-calls/bookings", operation_id = "book_house_call", tag = "house_calls",
    request_body = BookBody, params(crate::routes::rides::IdempotencyHeader),
    responses((status = 201, body = BookingView), (status = 200, body = BookingView, description = "A retry: the booking made first"),
        (status = 402, description = "card_declined, insufficient_funds"),
        (status = 404, description = "service_not_found, provider_not_found, hold_not_found, payment_method_not_found"),
        (status = 409, body = SlotTakenBody, description = "slot_unavailable, provider_not_bookable, hold_expired, calendar_busy, no_provider_available"),
        (status = 422, description = "invalid_coordinates, in_water, outside_service_area, invalid_timestamp, invalid_start, start_or_asap, invalid_address, outside_working_hours, service_not_offered, hold_mismatch, payment_method_required, invalid_idempotency_key, idempotency_key_reused")))]
pub async fn book(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BookBody>,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| crate::schema::check_idempotency_key(v.as_bytes()))
        .transpose()?;
    let req = book_request(body)?;
    Ok(match state.app.book(&user, req, key).await {
        Ok((booking, new)) => {
            let status = if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(BookingView::of(&booking, &user))).into_response()
        }
        Err(e) => book_error(e),
    })
}

/// The list query of bookings.
#[derive(Debug, Deserialize)]
pub struct BookingsQuery {
    /// From this instant (default: now).
    #[serde(default)]
    pub from: Option<String>,
    /// For this many days (1 to 60, default 14).
    #[serde(default)]
    pub days: Option<i64>,
}

impl utoipa::IntoParams for BookingsQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::schema::{date_time, parameter};
        let days = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(1))
            .maximum(Some(60))
            .into();
        vec![
            parameter(
                ParameterIn::Query,
                "from",
                false,
                date_time(),
                "From this instant (default: now)",
            ),
            parameter(
                ParameterIn::Query,
                "days",
                false,
                days,
                "For this many days (default 14)",
            ),
        ]
    }
}

/// The caller's bookings (a customer's; a provider's visits) starting in a period, by start.
#[utoipa::path(get, path = "/v1/house-calls/bookings", operation_id = "list_house_calls", tag = "house_calls",
    params(BookingsQuery),
    responses((status = 200, body = BookingList), (status = 422, description = "invalid_timestamp, invalid_days")))]
pub async fn list(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<BookingsQuery>,
) -> Result<Json<BookingList>, ApiError> {
    let from = match q.from.as_deref() {
        Some(raw) => parse_rfc3339(raw)?,
        None => state.app.clock().now(),
    };
    let days = q.days.unwrap_or(14);
    if !(1..=60).contains(&days) {
        return Err(ApiError::unprocessable("invalid_days", "days is 1 to 60"));
    }
    let bookings = state.app.my_bookings(&user, from, days).await?;
    Ok(Json(BookingList {
        bookings: bookings.iter().map(|b| BookingView::of(b, &user)).collect(),
    }))
}

/// A booking, for its customer, its provider and operators (404 for anyone else).
#[utoipa::path(get, path = "/v1/house-calls/bookings/{booking_id}", operation_id = "get_house_call", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found")))]
pub async fn get(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    let booking = state.app.booking_for(&user, booking_id(&id)?).await?;
    let mut view = BookingView::of(&booking, &user);
    if booking.customer() == user.id {
        view = view.with_position(state.app.provider_on_the_way(&booking));
    }
    Ok(Json(view))
}

/// The customer cancels: free up to 24 hours before the start, half the price after.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/cancel", operation_id = "cancel_house_call", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state, concurrent_update")))]
pub async fn cancel(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    let booking = state.app.cancel_booking(&user, booking_id(&id)?).await?;
    Ok(Json(BookingView::of(&booking, &user)))
}

/// The customer moves the visit: the same provider if their day takes it, else (for "any provider")
/// the best other one; 409 `slot_unavailable` with that day's free slots if no one can.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/reschedule", operation_id = "reschedule_house_call", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")), request_body = RescheduleBody,
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, body = SlotTakenBody, description = "slot_unavailable, invalid_booking_state, provider_not_bookable, calendar_busy"),
        (status = 422, description = "invalid_timestamp, invalid_start, outside_working_hours")))]
pub async fn reschedule(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> Result<Response, ApiError> {
    let id = booking_id(&id)?;
    // The booking first: a stranger learns nothing from the answer to a bad body.
    let booking = state.app.booking_for(&user, id).await?;
    if booking.customer() != user.id {
        return Err(ApiError::not_found("booking"));
    }
    let start = parse_rfc3339(&body.start)?;
    Ok(match state.app.reschedule_booking(&user, id, start).await {
        Ok(booking) => Json(BookingView::of(&booking, &user)).into_response(),
        Err(e) => book_error(e),
    })
}

/// The caller's provider profile.
#[utoipa::path(get, path = "/v1/providers/me", operation_id = "my_provider_profile", tag = "house_calls",
    responses((status = 200, body = ProviderView), (status = 404, description = "provider_not_found")))]
pub async fn me(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<ProviderView>, ApiError> {
    let (profile, _) = state.app.my_provider_profile(&user).await?;
    Ok(Json(ProviderView::from(&profile)))
}

/// Writes the caller's provider profile (a new provider waits for an operator's approval).
#[utoipa::path(put, path = "/v1/providers/me", operation_id = "put_my_provider_profile", tag = "house_calls",
    request_body = ProviderBody,
    responses((status = 200, body = ProviderView),
        (status = 422, description = "invalid_coordinates, invalid_hours, invalid_profile, unknown_service")))]
pub async fn put_me(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<ProviderBody>,
) -> Result<Json<ProviderView>, ApiError> {
    let draft = body.into_draft()?;
    let profile = state.app.put_my_provider_profile(&user, draft).await?;
    Ok(Json(ProviderView::from(&profile)))
}

/// Adds a period of time off (visits already booked in it stay booked).
#[utoipa::path(post, path = "/v1/providers/me/time-off", operation_id = "add_my_time_off", tag = "house_calls",
    request_body = TimeOffDto,
    responses((status = 200, body = ProviderView), (status = 404, description = "provider_not_found"),
        (status = 409, description = "too_much_time_off"),
        (status = 422, description = "invalid_timestamp, invalid_time_off")))]
pub async fn add_time_off(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<TimeOffDto>,
) -> Result<Json<ProviderView>, ApiError> {
    let (from, to) = body.parse()?;
    let profile = state.app.add_my_time_off(&user, from, to).await?;
    Ok(Json(ProviderView::from(&profile)))
}

/// A step of the visit, answered with the booking after it.
async fn step(
    state: &ApiState,
    user: &doorstep_domain::User,
    id: &str,
    step: VisitStep<'_>,
) -> Result<Json<BookingView>, ApiError> {
    let booking = state.app.visit_step(user, booking_id(id)?, step).await?;
    Ok(Json(BookingView::of(&booking, user)))
}

/// The provider sets off for the visit, with minutes to the door; an estimate past the start tells the
/// customer they will be late.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/on-my-way", operation_id = "house_call_on_my_way", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")), request_body = OnMyWayBody,
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state, concurrent_update"),
        (status = 422, description = "invalid_eta")))]
pub async fn on_my_way(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OnMyWayBody>,
) -> Result<Json<BookingView>, ApiError> {
    state.app.booking_for(&user, booking_id(&id)?).await?;
    if body.eta_min > 240 {
        return Err(ApiError::unprocessable(
            "invalid_eta",
            "eta_min is 0 to 240",
        ));
    }
    step(
        &state,
        &user,
        &id,
        VisitStep::OnMyWay {
            eta_min: body.eta_min,
        },
    )
    .await
}

/// The provider is at the door (their last position, at most two minutes old, within 150 m).
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/arrive", operation_id = "house_call_arrive", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state, not_at_the_door, position_unknown, concurrent_update")))]
pub async fn arrive(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    step(&state, &user, &id, VisitStep::Arrive).await
}

/// The provider checks in with the code the customer tells them: the visit starts. A wrong code is 422
/// `wrong_code` (counted; five lock it).
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/check-in", operation_id = "house_call_check_in", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")), request_body = CheckInBody,
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state, code_locked, concurrent_update"),
        (status = 422, description = "wrong_code, invalid_code")))]
pub async fn check_in(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CheckInBody>,
) -> Result<Json<BookingView>, ApiError> {
    step(&state, &user, &id, VisitStep::CheckIn { code: &body.code }).await
}

/// The provider checks out: the visit is done and the price is charged.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/check-out", operation_id = "house_call_check_out", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state, concurrent_update")))]
pub async fn check_out(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    step(&state, &user, &id, VisitStep::CheckOut).await
}

/// The provider, at the door for 15 minutes past the start, reports the customer is not there: the
/// no-show fee is charged.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/no-show", operation_id = "house_call_customer_no_show", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state, too_early, concurrent_update")))]
pub async fn customer_no_show(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    step(&state, &user, &id, VisitStep::CustomerNoShow).await
}

/// The customer reports, 30 minutes past the start, that the provider did not come: the booking is
/// cancelled and nothing is charged.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/provider-no-show", operation_id = "house_call_provider_no_show", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = BookingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state, too_early, concurrent_update")))]
pub async fn provider_no_show(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<BookingView>, ApiError> {
    step(&state, &user, &id, VisitStep::ProviderNoShow).await
}

/// The provider's position, for the customer's live tracking and the arrival check.
#[utoipa::path(post, path = "/v1/providers/me/location", operation_id = "provider_location", tag = "house_calls",
    request_body = LatLngDto,
    responses((status = 204), (status = 422, description = "invalid_coordinates")))]
pub async fn location(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<LatLngDto>,
) -> Result<StatusCode, ApiError> {
    state.app.set_provider_position(&user, body.try_into()?)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The customer rates the provider, or the provider the customer, once the visit is completed (one
/// rating each).
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/ratings", operation_id = "rate_house_call", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")), request_body = crate::dto::RatingBody,
    responses((status = 201, body = VisitRatingView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "booking_not_completed, already_rated"),
        (status = 422, description = "invalid_stars, invalid_characters, comment_too_long")))]
pub async fn rate(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<crate::dto::RatingBody>,
) -> Result<(StatusCode, Json<VisitRatingView>), ApiError> {
    let rating = state
        .app
        .rate_booking(
            &user,
            booking_id(&id)?,
            i64::from(body.stars),
            &body.comment,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(VisitRatingView::from(&rating))))
}

/// The ratings of a visit, for its parties and operators.
#[utoipa::path(get, path = "/v1/house-calls/bookings/{booking_id}/ratings", operation_id = "house_call_ratings", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = VisitRatingList), (status = 404, description = "booking_not_found")))]
pub async fn ratings(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<VisitRatingList>, ApiError> {
    let ratings = state.app.booking_ratings(&user, booking_id(&id)?).await?;
    Ok(Json(VisitRatingList {
        ratings: ratings.iter().map(VisitRatingView::from).collect(),
    }))
}

/// The caller blocks the other party of a booking: they are never offered to, or booked with, each
/// other again. Visits already booked stay booked.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/block", operation_id = "block_house_call_party", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = BlockView), (status = 404, description = "booking_not_found")))]
pub async fn block(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<BlockView>, ApiError> {
    let other = state.app.block_other_party(&user, booking_id(&id)?).await?;
    Ok(Json(BlockView {
        blocked_user_id: other.to_string(),
    }))
}

/// `POST /v1/house-calls/series`: the same visit every week.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SeriesBody {
    /// The first week's booking (a `start`, not `asap`).
    pub booking: BookBody,
    /// How many weeks, the first included (2 to 12).
    #[schema(minimum = 2, maximum = 12)]
    pub weeks: u32,
}

/// A weekly series booked.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SeriesView {
    /// The series.
    pub series_id: String,
    /// The weeks booked, in order.
    pub bookings: Vec<BookingView>,
    /// The starts of the weeks no provider could take.
    pub skipped: Vec<String>,
}

/// Books the same visit every week at the same local time for 2 to 12 weeks. The first week must be
/// free (else its refusal is the answer); later weeks keep the first week's provider when they can, and a
/// week no one can take is listed in `skipped`. Send an `Idempotency-Key`: each week is booked under
/// `<key>:w<n>`, so a retry books nothing twice.
#[utoipa::path(post, path = "/v1/house-calls/series", operation_id = "book_house_call_series", tag = "house_calls",
    request_body = SeriesBody, params(crate::routes::rides::IdempotencyHeader),
    responses((status = 201, body = SeriesView),
        (status = 402, description = "card_declined, insufficient_funds"),
        (status = 404, description = "service_not_found, provider_not_found, hold_not_found, payment_method_not_found"),
        (status = 409, body = SlotTakenBody, description = "slot_unavailable, provider_not_bookable, hold_expired, calendar_busy"),
        (status = 422, description = "invalid_coordinates, in_water, outside_service_area, invalid_timestamp, invalid_start, start_or_asap, invalid_weeks, invalid_address, outside_working_hours, service_not_offered, hold_mismatch, payment_method_required, invalid_idempotency_key, idempotency_key_reused")))]
pub async fn book_series(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SeriesBody>,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| crate::schema::check_idempotency_key(v.as_bytes()))
        .transpose()?;
    let req = book_request(body.booking)?;
    if req.start.is_none() {
        return Err(ApiError::unprocessable(
            "start_or_asap",
            "a weekly series needs a start (not asap)",
        ));
    }
    Ok(
        match state.app.book_weekly(&user, req, body.weeks, key).await {
            Ok(series) => (
                StatusCode::CREATED,
                Json(SeriesView {
                    series_id: series.id.to_string(),
                    bookings: series
                        .bookings
                        .iter()
                        .map(|b| BookingView::of(b, &user))
                        .collect(),
                    skipped: series.skipped.iter().map(|t| rfc3339(*t)).collect(),
                }),
            )
                .into_response(),
            Err(e) => book_error(e),
        },
    )
}

/// `POST /v1/admin/house-calls/bookings/{booking_id}/refund`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RefundBookingBody {
    /// Why (the audit log's reason).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
    /// How much to give back, minor units: at most what the customer paid less earlier refunds.
    #[schema(minimum = 1)]
    pub amount: i64,
}

/// A booking's postings and what is left to refund (operators).
#[utoipa::path(get, path = "/v1/admin/house-calls/bookings/{booking_id}/ledger", operation_id = "admin_booking_ledger", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 200, body = crate::routes::console::RideLedgerView), (status = 404, description = "booking_not_found")))]
pub async fn admin_ledger(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<crate::routes::console::RideLedgerView>, ApiError> {
    let ledger = state.app.booking_ledger(&user, booking_id(&id)?).await?;
    Ok(Json(crate::routes::console::RideLedgerView::from(&ledger)))
}

/// An operator gives money back to a booking's customer, borne by the platform: at most what they paid
/// less earlier refunds. Posted to the ledger as a balanced refund with the audit entry, then paid back
/// through the booking's method. Audited, with a reason and an `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/admin/house-calls/bookings/{booking_id}/refund", operation_id = "admin_refund_booking", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking"), crate::routes::console::ActionKey),
    request_body = RefundBookingBody,
    responses((status = 200, body = crate::routes::console::RideLedgerView, description = "The booking's postings and what is left to refund"),
        (status = 404, description = "booking_not_found"),
        (status = 409, description = "refund_too_large, nothing_to_refund"),
        (status = 422, description = "invalid_amount, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_refund(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefundBookingBody>,
) -> Result<Json<crate::routes::console::RideLedgerView>, ApiError> {
    let key = crate::routes::console::action_key(&headers)?;
    let act = doorstep_app::console::Act {
        admin: &user,
        reason: &body.reason,
        key,
    };
    let ledger = state
        .app
        .admin_refund_booking(act, booking_id(&id)?, body.amount)
        .await?;
    Ok(Json(crate::routes::console::RideLedgerView::from(&ledger)))
}

/// The provider's earnings statement (default: the last 24 hours): each visit's share of its price, the
/// provider's share of late-cancellation and no-show fees, by day and week.
#[utoipa::path(get, path = "/v1/providers/me/earnings", operation_id = "provider_earnings", tag = "house_calls",
    params(crate::dto::EarningsQuery),
    responses((status = 200, body = crate::dto::EarningsResponse), (status = 422, description = "invalid_timestamp, invalid_period")))]
pub async fn earnings(
    state: State<ApiState>,
    caller: Caller,
    query: ApiQuery<crate::dto::EarningsQuery>,
) -> Result<Json<crate::dto::EarningsResponse>, ApiError> {
    crate::routes::drivers::earnings(state, caller, query).await
}

/// A booking request from its body, checked at the edge: the address (1 to 200 characters on one
/// line), the coordinates, and either a `start` or `asap`.
fn book_request(body: BookBody) -> Result<BookRequest, ApiError> {
    let address = body.address.trim().to_owned();
    if address.is_empty() || address.chars().count() > 200 || address.chars().any(char::is_control)
    {
        return Err(ApiError::unprocessable(
            "invalid_address",
            "an address is 1 to 200 characters on one line",
        ));
    }
    Ok(BookRequest {
        visit: VisitRequest {
            service: ServiceId::from_uuid(body.service_id),
            place: body.location.try_into()?,
            provider: provider_id(body.provider_id),
        },
        address,
        start: match (body.start.as_deref(), body.asap) {
            (Some(raw), false) => Some(parse_rfc3339(raw)?),
            (None, true) => None,
            _ => {
                return Err(ApiError::unprocessable(
                    "start_or_asap",
                    "give either a start or asap: true",
                ));
            }
        },
        hold: body.hold_id.map(HoldId::from_uuid),
        payment_method: body.payment_method_id,
        series: None,
        prefer: None,
    })
}
