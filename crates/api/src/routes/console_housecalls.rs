//! The operations console's house calls over HTTP: a day's bookings across providers
//! (`GET /v1/admin/house-calls/bookings?date=&provider_id=&state=`) and the day's summary
//! (`GET /v1/admin/house-calls/summary?date=`: bookings by state, providers, utilisation). Operators
//! only (the access table answers 403 to anyone else before these handlers run). The console acts on
//! providers through `routes/housecall_admin.rs` and on SOS alerts through `routes/visit_safety.rs`.

use crate::ApiState;
use crate::dto::console_housecalls::{AdminBookingList, HouseCallSummaryView};
use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller};
use axum::Json;
use axum::extract::State;
use doorstep_app::console_housecalls::DayFilter;
use doorstep_domain::UserId;
use doorstep_domain::housecall::BookingState;
use doorstep_domain::onboarding::CalendarDate;
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};

fn date_parameter() -> Parameter {
    crate::schema::parameter(
        ParameterIn::Query,
        "date",
        false,
        crate::dto::merchants::calendar_date(),
        "The local date (New York), YYYY-MM-DD; default today",
    )
}

/// The day asked for: `date`, or today in New York (422 `invalid_date` for anything but a real day).
fn day(state: &ApiState, raw: Option<&str>) -> Result<CalendarDate, ApiError> {
    match raw {
        None => Ok(state.app.today()),
        Some(text) => CalendarDate::parse(text).ok_or_else(|| {
            ApiError::unprocessable("invalid_date", "date: not a calendar date YYYY-MM-DD")
        }),
    }
}

/// `?date=&provider_id=&state=` of the console's day of bookings (read as text, so that a bad value,
/// an empty one included, answers its own 422 code).
#[derive(Debug, Deserialize)]
pub struct DayBookingsQuery {
    /// The local date.
    pub date: Option<String>,
    /// Only this provider's bookings.
    pub provider_id: Option<String>,
    /// Only bookings in this state.
    pub state: Option<String>,
}

impl utoipa::IntoParams for DayBookingsQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::schema::{parameter, string};
        vec![
            date_parameter(),
            parameter(
                ParameterIn::Query,
                "provider_id",
                false,
                string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into(),
                "Only this provider's bookings",
            ),
            parameter(
                ParameterIn::Query,
                "state",
                false,
                string()
                    .enum_values(Some(BookingState::ALL.iter().map(|s| s.as_str())))
                    .into(),
                "Only bookings in this state",
            ),
        ]
    }
}

impl DayBookingsQuery {
    /// The filter, or the 422 of the first bad value.
    fn filter(&self, state: &ApiState) -> Result<DayFilter, ApiError> {
        let date = day(state, self.date.as_deref())?;
        let provider = self
            .provider_id
            .as_deref()
            .map(|s| {
                s.parse::<uuid::Uuid>().map(UserId::from_uuid).map_err(|_| {
                    ApiError::unprocessable("invalid_provider_id", "provider_id is a UUID")
                })
            })
            .transpose()?;
        let booking_state = self
            .state
            .as_deref()
            .map(|s| {
                BookingState::parse(s).ok_or_else(|| {
                    ApiError::unprocessable("invalid_state", format!("unknown booking state {s:?}"))
                })
            })
            .transpose()?;
        Ok(DayFilter {
            date,
            provider,
            state: booking_state,
        })
    }
}

/// `?date=` of the day's summary.
#[derive(Debug, Deserialize)]
pub struct DayQuery {
    /// The local date.
    pub date: Option<String>,
}

impl utoipa::IntoParams for DayQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![date_parameter()]
    }
}

/// A day's house calls across providers, by start: the service, the customer's and provider's names,
/// the state, start and end, the address and whether the provider is late. Keep it current with the
/// `booking_*` events of `/v1/events`.
#[utoipa::path(get, path = "/v1/admin/house-calls/bookings", operation_id = "admin_day_bookings", tag = "operations",
    params(DayBookingsQuery),
    responses((status = 200, body = AdminBookingList),
        (status = 422, description = "invalid_date, invalid_provider_id, invalid_state")))]
pub async fn admin_day_bookings(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<DayBookingsQuery>,
) -> Result<Json<AdminBookingList>, ApiError> {
    let filter = q.filter(&state)?;
    let bookings = state.app.admin_day_bookings(&user, filter).await?;
    Ok(Json(AdminBookingList::of(filter.date, &bookings)))
}

/// A day of house calls in numbers: bookings by state and late ones, providers working, approved and
/// pending, each provider's utilisation (booked on-site minutes over working minutes) and driving
/// minutes between visits, and the SOS alerts still open.
#[utoipa::path(get, path = "/v1/admin/house-calls/summary", operation_id = "admin_house_call_summary", tag = "operations",
    params(DayQuery),
    responses((status = 200, body = HouseCallSummaryView), (status = 422, description = "invalid_date")))]
pub async fn house_call_summary(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> Result<Json<HouseCallSummaryView>, ApiError> {
    let date = day(&state, q.date.as_deref())?;
    let summary = state.app.house_call_summary(&user, date).await?;
    Ok(Json(HouseCallSummaryView::from(&summary)))
}
