//! Wire types of the API and their conversions to and from domain types. Input is validated here, at the
//! edge, so that invalid values never reach the use cases.

use crate::error::ApiError;
use doorstep_app::earnings::EarningsStatement;
use doorstep_app::rides::OfferView;
use doorstep_domain::event::Event;
use doorstep_domain::food::order::OrderEvent;
use doorstep_domain::housecall::BookingEvent;
use doorstep_domain::pricing::FareBreakdown;
use doorstep_domain::ride::{CancelledBy, Pin, Ride, RideEvent};
use doorstep_domain::{Money, Role, Timestamp, UserId};
use doorstep_geo::LatLng;
use doorstep_store::StoredEvent;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

pub mod console_food;
pub mod console_housecalls;
pub mod devices;
pub mod food_money;
pub mod housecall_admin;
pub mod housecalls;
pub mod merchants;
pub mod orders;

/// Formats an instant as RFC 3339 UTC with milliseconds, e.g. `2026-11-28T12:00:00.000Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    let nanos = i128::from(ts.millis()) * 1_000_000;
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => {
            let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
            format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            )
        }
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// Parses an RFC 3339 instant (any offset).
pub fn parse_rfc3339(s: &str) -> Result<Timestamp, ApiError> {
    if let Some(t) = parse_canonical_utc(s) {
        return Ok(t);
    }
    let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        ApiError::unprocessable(
            "invalid_timestamp",
            format!("{s:?} is not an RFC 3339 timestamp"),
        )
    })?;
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(millis)
        .map(Timestamp::from_millis)
        .map_err(|_| ApiError::unprocessable("invalid_timestamp", "timestamp out of range"))
}

/// The form phones and [`rfc3339`] write, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` from 1970 on, parsed
/// without the general parser: location batches carry one per point, so this is on the ingest hot
/// path. `None` for anything else, which the general parser then decides on (it gives the same
/// instant for every string accepted here: the fraction is truncated to milliseconds).
fn parse_canonical_utc(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z';
    if !shape {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    let fraction = &b[19..b.len() - 1];
    let millis = match fraction {
        [] => 0,
        [b'.', rest @ ..] if (1..=9).contains(&rest.len()) => {
            if !rest.iter().all(u8::is_ascii_digit) {
                return None;
            }
            (0..3).fold(0i64, |acc, i| {
                acc * 10 + rest.get(i).map_or(0, |&c| i64::from(c - b'0'))
            })
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1970 || !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // `month` is in 1..=12 and `day` in 1..=31 here.
    let days = doorstep_geo::days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(Timestamp::from_millis(secs * 1_000 + millis))
}

/// The first byte of a binary location batch on the WebSocket (format version 1).
pub const BINARY_LOCATIONS_V1: u8 = 1;
/// Bytes per point of a binary location batch: latitude and longitude as `i32` in units of 10⁻⁷
/// degree, then the time as `i64` Unix milliseconds, all little-endian.
pub const BINARY_POINT_BYTES: usize = 16;

/// Parses a binary location batch (`[1] ++ n × (lat_e7: i32, lng_e7: i32, at_ms: i64)`,
/// little-endian, 1 ≤ n ≤ 100) into `out` (cleared first). The compact alternative to
/// `{"type":"locations","points":[...]}`: 16 bytes a point instead of about 70, and no text to parse.
pub fn parse_binary_locations(
    frame: &[u8],
    out: &mut Vec<(LatLng, Timestamp)>,
) -> Result<(), ApiError> {
    out.clear();
    let max = doorstep_app::drivers::MAX_BATCH;
    let Some((&version, body)) = frame.split_first() else {
        return Err(ApiError::unprocessable(
            "invalid_binary_batch",
            "an empty binary message",
        ));
    };
    if version != BINARY_LOCATIONS_V1 {
        return Err(ApiError::unprocessable(
            "invalid_binary_batch",
            format!("unknown binary message version {version} (expected {BINARY_LOCATIONS_V1})"),
        ));
    }
    if body.len() % BINARY_POINT_BYTES != 0 {
        return Err(ApiError::unprocessable(
            "invalid_binary_batch",
            format!(
                "a binary batch is 1 byte and then {BINARY_POINT_BYTES} bytes a point; got {} bytes",
                frame.len()
            ),
        ));
    }
    let n = body.len() / BINARY_POINT_BYTES;
    if n == 0 || n > max {
        return Err(ApiError::unprocessable(
            "invalid_batch",
            format!("send 1 to {max} points per batch"),
        ));
    }
    for (i, point) in body.chunks_exact(BINARY_POINT_BYTES).enumerate() {
        let (lat, rest) = point.split_at(4);
        let (lng, at) = rest.split_at(4);
        let e7 = |bytes: &[u8]| {
            let mut word = [0u8; 4];
            word.copy_from_slice(bytes);
            f64::from(i32::from_le_bytes(word)) * 1e-7
        };
        let mut millis = [0u8; 8];
        millis.copy_from_slice(at);
        let p = LatLng::new(e7(lat), e7(lng))
            .map_err(|e| ApiError::unprocessable("invalid_location", format!("point {i}: {e}")))?;
        out.push((p, Timestamp::from_millis(i64::from_le_bytes(millis))));
    }
    Ok(())
}

/// One point of a JSON location batch on the WebSocket, borrowing its time from the message.
#[derive(Debug, Deserialize)]
pub struct WireLocationPoint<'a> {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// When the position was taken, RFC 3339.
    #[serde(borrow)]
    pub at: std::borrow::Cow<'a, str>,
}

impl WireLocationPoint<'_> {
    /// Validates the point.
    pub fn parse(&self) -> Result<(LatLng, Timestamp), ApiError> {
        let p = LatLng::try_from(LatLngDto {
            lat: self.lat,
            lng: self.lng,
        })?;
        Ok((p, parse_rfc3339(&self.at)?))
    }
}

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct LatLngDto {
    /// Latitude, −90 to 90.
    #[schema(schema_with = crate::schema::latitude)]
    pub lat: f64,
    /// Longitude, −180 to 180.
    #[schema(schema_with = crate::schema::longitude)]
    pub lng: f64,
}

impl TryFrom<LatLngDto> for LatLng {
    type Error = ApiError;

    fn try_from(p: LatLngDto) -> Result<Self, Self::Error> {
        LatLng::new(p.lat, p.lng)
            .map_err(|e| ApiError::unprocessable("invalid_coordinates", e.to_string()))
    }
}

impl From<LatLng> for LatLngDto {
    fn from(p: LatLng) -> Self {
        LatLngDto {
            lat: p.lat(),
            lng: p.lng(),
        }
    }
}

/// An amount of money in integer minor units.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MoneyDto {
    /// Minor units (cents).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<Money> for MoneyDto {
    fn from(m: Money) -> Self {
        MoneyDto {
            amount: m.minor,
            currency: m.currency.as_str().to_owned(),
        }
    }
}

/// One itemised line of a fare.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FareLineDto {
    /// `base`, `distance`, `time`, `surge`, `booking_fee`, `minimum_fare` or `band_adjustment` (a final
    /// fare brought into its band around the quote: negative when capped, positive when raised).
    pub kind: String,
    /// The line's amount.
    pub amount: MoneyDto,
}

fn breakdown(fare: &FareBreakdown) -> Vec<FareLineDto> {
    fare.lines
        .iter()
        .map(|l| FareLineDto {
            kind: serde_json::to_value(l.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            amount: l.amount.into(),
        })
        .collect()
}

/// Roles a user can sign up with.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignupRole {
    /// Requests rides.
    Rider,
    /// Drives.
    Driver,
    /// Runs a restaurant or shop.
    Merchant,
    /// Performs house calls.
    Provider,
}

impl From<SignupRole> for Role {
    fn from(r: SignupRole) -> Role {
        match r {
            SignupRole::Rider => Role::Rider,
            SignupRole::Driver => Role::Driver,
            SignupRole::Merchant => Role::Merchant,
            SignupRole::Provider => Role::Provider,
        }
    }
}

/// `POST /v1/auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    /// Login address.
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    /// 8 to 128 characters.
    #[schema(schema_with = crate::schema::password)]
    pub password: String,
    /// Display name.
    #[schema(schema_with = crate::schema::display_name)]
    pub name: String,
    /// What the account is for.
    pub role: SignupRole,
}

/// Answer to a sign-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    /// The new account.
    pub user_id: String,
    /// Bearer token for `Authorization: Bearer ...`.
    pub token: String,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Login address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Answer to a login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The account.
    pub user_id: String,
    /// Bearer token.
    pub token: String,
    /// The account's role.
    pub role: String,
    /// Display name.
    pub name: String,
}

/// The caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The account.
    pub user_id: String,
    /// Login address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Mean stars received (0 when none).
    pub rating: f64,
    /// Number of ratings received.
    pub ratings: i64,
    /// For drivers: whether they are online and taking offers (absent for other roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
}

/// `POST /v1/rides/quotes`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct QuoteRequest {
    /// Pickup point, inside the service area.
    #[schema(schema_with = crate::schema::service_point)]
    pub pickup: LatLngDto,
    /// Drop-off point, inside the service area.
    #[schema(schema_with = crate::schema::service_point)]
    pub dropoff: LatLngDto,
}

/// A fare quote.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteResponse {
    /// Use it in `POST /v1/rides`.
    pub quote_id: String,
    /// Total fare.
    pub fare: MoneyDto,
    /// Itemised lines summing to `fare`.
    pub breakdown: Vec<FareLineDto>,
    /// Surge multiplier of the pickup area (1.0 = none).
    pub surge_multiplier: f64,
    /// Estimated street distance, metres.
    pub distance_m: u32,
    /// Estimated trip time, seconds.
    pub duration_s: u32,
    /// The quote can be used until then.
    pub expires_at: String,
    /// The likely wait: seconds for the fastest idle car within the dispatcher's reach to get to the
    /// pickup, from current supply; null when there is none (`no_eta_reason` says why).
    pub pickup_eta_s: Option<u32>,
    /// Idle cars within the dispatcher's reach of the pickup now.
    pub drivers_nearby: u32,
    /// Why `pickup_eta_s` is null: `no_drivers_nearby` (a request now would most likely end soon as
    /// `no_driver_available`); null when there is an estimate.
    #[schema(value_type = Option<NoEtaReason>)]
    pub no_eta_reason: Option<String>,
    /// Why the price surges (null when it does not): the pickup's zone with its open requests and
    /// available cars.
    pub surge_reason: Option<SurgeReasonDto>,
}

/// Why a quote has no pickup estimate.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoEtaReason {
    /// No idle car with a fresh position is within the dispatcher's reach of the pickup.
    NoDriversNearby,
}

impl QuoteResponse {
    /// The quote with the likely wait from current supply.
    pub fn with_supply(mut self, supply: doorstep_app::contact::PickupSupply) -> QuoteResponse {
        self.pickup_eta_s = supply.pickup_eta_s;
        self.drivers_nearby = supply.drivers_nearby;
        self.no_eta_reason = supply
            .pickup_eta_s
            .is_none()
            .then(|| "no_drivers_nearby".to_owned());
        self
    }
}

/// Why a price surges.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurgeReasonDto {
    /// The pickup's zone ("Midtown Center").
    pub zone: String,
    /// Open requests near the pickup.
    pub requests: u32,
    /// Available cars near the pickup.
    pub cars: u32,
}

impl QuoteResponse {
    /// The quote with its surge's reason.
    pub fn explained(
        q: &doorstep_domain::quote::Quote,
        reason: Option<doorstep_app::rides::SurgeReason>,
    ) -> QuoteResponse {
        QuoteResponse {
            surge_reason: reason.map(|r| SurgeReasonDto {
                zone: r.zone,
                requests: r.requests,
                cars: r.cars,
            }),
            ..QuoteResponse::from(q)
        }
    }
}

impl From<&doorstep_domain::quote::Quote> for QuoteResponse {
    fn from(q: &doorstep_domain::quote::Quote) -> Self {
        QuoteResponse {
            quote_id: q.id.to_string(),
            fare: q.fare.total.into(),
            breakdown: breakdown(&q.fare),
            surge_multiplier: f64::from(q.fare.surge.0) / 1000.0,
            distance_m: q.fare.distance_m,
            duration_s: q.fare.duration_s,
            expires_at: rfc3339(q.expires_at),
            pickup_eta_s: None,
            drivers_nearby: 0,
            no_eta_reason: None,
            surge_reason: None,
        }
    }
}

/// `POST /v1/rides`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RideRequestBody {
    /// A quote from `POST /v1/rides/quotes`, not expired.
    #[schema(value_type = uuid::Uuid)]
    pub quote_id: String,
    /// How the ride is paid: `cash` (the default), `wallet`, or the id of a stored card from
    /// `GET /v1/me/payment-methods`. The quoted fare is authorised on it at once.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub payment_method_id: Option<String>,
}

/// A ride as its rider, driver or an admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RideView {
    /// Identity.
    pub ride_id: String,
    /// `requested`, `driver_assigned`, `driver_arrived`, `in_progress`, `completed`, `cancelled` or `no_driver_available`.
    pub state: String,
    /// The rider.
    pub rider_id: String,
    /// The assigned driver.
    pub driver_id: Option<String>,
    /// Pickup point.
    pub pickup: LatLngDto,
    /// Drop-off point.
    pub dropoff: LatLngDto,
    /// Quoted fare.
    pub fare: MoneyDto,
    /// Quoted fare, itemised.
    pub breakdown: Vec<FareLineDto>,
    /// Surge multiplier of the quote.
    pub surge_multiplier: f64,
    /// Final fare once completed.
    pub final_fare: Option<MoneyDto>,
    /// Final fare, itemised.
    pub final_breakdown: Option<Vec<FareLineDto>>,
    /// The PIN the rider tells the driver (shown to the rider only). A new one replaces it after
    /// `POST /v1/rides/{id}/pin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// Whether too many wrong PINs locked the PIN: the trip cannot start until the rider issues a new one.
    pub pin_locked: bool,
    /// How many more wrong PINs the driver may try before the PIN locks (0 when locked).
    pub pin_attempts_left: u8,
    /// Wrong PINs tried since the PIN was issued.
    pub pin_failed_attempts: u8,
    /// Estimated pickup time at assignment, seconds.
    pub pickup_eta_s: Option<u32>,
    /// When requested.
    pub requested_at: String,
    /// When the driver was assigned.
    pub assigned_at: Option<String>,
    /// When the driver arrived.
    pub arrived_at: Option<String>,
    /// When the trip started.
    pub started_at: Option<String>,
    /// When the ride ended.
    pub ended_at: Option<String>,
    /// Cancellation fee charged.
    pub cancel_fee: Option<MoneyDto>,
    /// The fee the rider would pay to cancel right now (null: free).
    pub cancel_fee_now: Option<MoneyDto>,
    /// Why no driver was found (see [`NoDriverReasonName`]).
    #[schema(value_type = Option<NoDriverReasonName>)]
    pub no_driver_reason: Option<String>,
    /// Who is coming: the assigned driver's name, initials, car and rating, for the ride's rider, its
    /// driver and admins, from assignment until the trip ends (after a completed trip without the
    /// rating, as on a receipt); null before assignment and for a ride that ended otherwise. Filled in
    /// by `GET /v1/rides/{ride_id}`; null in other answers.
    pub driver: Option<DriverCardDto>,
    /// Metres the final fare is charged for, once completed: the distance driven, summed from the
    /// driver's accepted positions.
    pub trip_distance_m: Option<u32>,
    /// Why the final fare differs from the tariff's price of the trip: `capped_at_maximum` (above the
    /// band around the quote, `--fare-max-pct`) or `raised_to_minimum` (below it, `--fare-min-pct`, for a
    /// trip that reached its drop-off); null when it does not.
    #[schema(value_type = Option<FareAdjustmentName>)]
    pub fare_adjustment: Option<String>,
    /// Why the trip counts as ended early: `far_from_dropoff` (completed farther than the drop-off radius
    /// from it) or `position_unknown`; null when it ended at the drop-off. An early end is charged for what
    /// was driven.
    #[schema(value_type = Option<EarlyEndName>)]
    pub early_end: Option<String>,
    /// How far from the drop-off the driver was at completion, metres (null when unknown or not completed).
    pub dropoff_distance_m: Option<u32>,
    /// Why the final fare differs from the quote, once completed (empty when it does not): `reason` is
    /// `longer_route` or `shorter_route` (metres), `longer_time` or `shorter_time` (seconds),
    /// `minimum_fare`, `capped_at_maximum` or `raised_to_minimum` (the band around the quote), with the
    /// quoted and actual values where they are measures.
    pub fare_differences: Vec<FareDifferenceDto>,
    /// How the ride is paid and tipped (in a single ride's answer to its rider, driver or an admin;
    /// absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<RidePaymentDto>,
}

/// One reason a final fare differs from its quote.
#[derive(Debug, Serialize, ToSchema)]
pub struct FareDifferenceDto {
    /// `longer_route`, `shorter_route`, `longer_time`, `shorter_time`, `minimum_fare`,
    /// `capped_at_maximum` or `raised_to_minimum`.
    pub reason: String,
    /// The quote's value: metres for a route, seconds for a time.
    pub quoted: Option<u32>,
    /// The trip's value, in the same unit.
    pub actual: Option<u32>,
}

/// How a ride or an order is paid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RidePaymentDto {
    /// `cash`, `wallet` or a stored card's id.
    pub method_id: String,
    /// `cash`, `wallet` or `test_card`.
    pub kind: String,
    /// A card's last four digits.
    pub last4: Option<String>,
    /// `authorised` (held until the ride ends), `captured` or `voided`.
    pub state: String,
    /// What was authorised at request (zero for cash).
    pub authorised: MoneyDto,
    /// What was taken at the end (for cash: what the driver collected).
    pub captured: Option<MoneyDto>,
    /// What could not be taken (still owed).
    pub uncollected: MoneyDto,
    /// The tip, if the rider gave one.
    pub tip: Option<MoneyDto>,
}

impl RidePaymentDto {
    /// The view of a ride's payment; none for a ride requested before payments existed and not tipped.
    pub fn new(p: &doorstep_app::payments::RidePayment) -> Option<RidePaymentDto> {
        use doorstep_domain::payment::{AuthorisationState, CASH_METHOD_ID};
        let tip = p.tip.as_ref().map(|t| MoneyDto::from(t.amount));
        match &p.authorisation {
            Some(a) => Some(RidePaymentDto {
                method_id: a.method_id.clone(),
                kind: a.kind.as_str().to_owned(),
                last4: p.last4.clone(),
                state: a.state.as_str().to_owned(),
                authorised: a.authorised.into(),
                captured: a.captured.map(Into::into),
                uncollected: a.uncollected.into(),
                tip,
            }),
            None => tip.map(|tip| RidePaymentDto {
                method_id: CASH_METHOD_ID.to_owned(),
                kind: "cash".to_owned(),
                last4: None,
                state: AuthorisationState::Captured.as_str().to_owned(),
                authorised: MoneyDto {
                    amount: 0,
                    currency: tip.currency.clone(),
                },
                captured: None,
                uncollected: MoneyDto {
                    amount: 0,
                    currency: tip.currency.clone(),
                },
                tip: Some(tip),
            }),
        }
    }
}

/// Why a final fare was brought into its band around the quote.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FareAdjustmentName {
    /// Capped at the band's maximum.
    CappedAtMaximum,
    /// Raised to the band's minimum.
    RaisedToMinimum,
}

/// Why a completed trip counts as ended early.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EarlyEndName {
    /// The driver's last accepted position was farther from the drop-off than the radius.
    FarFromDropoff,
    /// The server had no position of the driver.
    PositionUnknown,
}

impl RideView {
    /// The view of `ride` for `viewer`; `cancel_fee_now` is computed by the caller, and `pin_max_attempts`
    /// is the app's limit of wrong PINs.
    pub fn new(
        ride: &Ride,
        viewer: UserId,
        cancel_fee_now: Option<Money>,
        pin_max_attempts: u8,
    ) -> RideView {
        let t = |x: Option<Timestamp>| x.map(rfc3339);
        RideView {
            ride_id: ride.id().to_string(),
            state: ride.state().as_str().to_owned(),
            rider_id: ride.rider().to_string(),
            driver_id: ride.driver().map(|d| d.to_string()),
            pickup: ride.pickup().into(),
            dropoff: ride.dropoff().into(),
            fare: ride.quoted.total.into(),
            breakdown: breakdown(&ride.quoted),
            surge_multiplier: f64::from(ride.quoted.surge.0) / 1000.0,
            final_fare: ride.final_fare.as_ref().map(|f| f.total.into()),
            final_breakdown: ride.final_fare.as_ref().map(breakdown),
            pin: (viewer == ride.rider()).then(|| ride.pin().as_str().to_owned()),
            pin_locked: ride.pin_locked(pin_max_attempts),
            pin_attempts_left: ride.pin().attempts_left(pin_max_attempts),
            pin_failed_attempts: ride.pin().failed_attempts(),
            pickup_eta_s: ride.pickup_eta_s(),
            requested_at: rfc3339(ride.requested_at()),
            assigned_at: t(ride.assigned_at()),
            arrived_at: t(ride.arrived_at()),
            started_at: t(ride.started_at()),
            ended_at: t(ride.ended_at()),
            cancel_fee: ride.cancel_fee().map(Into::into),
            cancel_fee_now: cancel_fee_now.map(Into::into),
            no_driver_reason: ride.no_driver_reason().map(|r| r.as_str().to_owned()),
            driver: None,
            trip_distance_m: ride.trip_distance_m,
            fare_adjustment: ride.fare_adjustment.map(|a| a.as_str().to_owned()),
            early_end: ride.early_end().map(|e| e.as_str().to_owned()),
            dropoff_distance_m: ride.dropoff_distance_m(),
            fare_differences: ride
                .final_fare
                .as_ref()
                .map(|f| {
                    doorstep_domain::pricing::explain_final_fare(
                        &ride.quoted,
                        f,
                        ride.fare_adjustment,
                    )
                })
                .unwrap_or_default()
                .into_iter()
                .map(|d| FareDifferenceDto {
                    reason: d.reason.as_str().to_owned(),
                    quoted: d.quoted,
                    actual: d.actual,
                })
                .collect(),
            payment: None,
        }
    }
}

/// A list of rides, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RideList {
    /// The rides.
    pub rides: Vec<RideView>,
}

/// `POST /v1/rides/{id}/start`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartBody {
    /// The rider's PIN: exactly four ASCII digits.
    #[schema(schema_with = crate::schema::pin)]
    pub pin: String,
}

impl TryFrom<&StartBody> for Pin {
    type Error = ApiError;

    fn try_from(body: &StartBody) -> Result<Self, Self::Error> {
        Pin::parse(&body.pin).ok_or_else(|| {
            ApiError::unprocessable("invalid_pin", "the pin must be exactly 4 digits (0-9)")
        })
    }
}

/// `POST /v1/rides/{id}/rating`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RatingBody {
    /// 1 to 5.
    #[schema(schema_with = crate::schema::stars)]
    #[serde(deserialize_with = "whole_number")]
    pub stars: u8,
    /// Optional comment, up to 500 characters.
    #[serde(default)]
    #[schema(schema_with = crate::schema::rating_comment)]
    pub comment: String,
}

/// A whole number that fits a `u8`, written as `4` or `4.0`: JSON Schema's `integer` accepts both, so the
/// server does too. Other numbers are refused as an invalid body.
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=255.0).contains(f))
            .map(|f| f as u64)
    });
    whole
        .and_then(|w| u8::try_from(w).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number from 0 to 255")))
}

/// A rating as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingResponse {
    /// The ride.
    pub ride_id: String,
    /// Who was rated.
    pub rated_user_id: String,
    /// Stars.
    pub stars: u8,
    /// Comment.
    pub comment: String,
}

/// One reported position.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LocationPoint {
    /// Latitude.
    #[schema(schema_with = crate::schema::latitude)]
    pub lat: f64,
    /// Longitude.
    #[schema(schema_with = crate::schema::longitude)]
    pub lng: f64,
    /// When the position was taken, RFC 3339; not in the future.
    #[schema(schema_with = crate::schema::date_time)]
    pub at: String,
}

impl LocationPoint {
    /// Validates the point.
    pub fn parse(&self) -> Result<(LatLng, Timestamp), ApiError> {
        let p = LatLng::try_from(LatLngDto {
            lat: self.lat,
            lng: self.lng,
        })?;
        Ok((p, parse_rfc3339(&self.at)?))
    }
}

/// Answer to a location batch. The same counts come on the WebSocket as
/// `{"type":"locations_rejected","accepted":..,"rejected":..,"too_fast":..,"outside_service_area":..}` for a
/// batch with rejected points (a batch with none gets no answer there).
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationsAccepted {
    /// Points taken: fresh and believed (points older than ten minutes are skipped and not counted).
    pub accepted: usize,
    /// Points not believed: they moved neither the car nor a trip's distance. The sum of the reasons.
    pub rejected: usize,
    /// Rejected because reaching them from the previous accepted point would take more than the speed
    /// limit (`--max-speed-kmh`, default 150 km/h).
    pub too_fast: usize,
    /// Rejected because they are outside the service area and its margin (`--service-area-margin-km`,
    /// default 5 km).
    pub outside_service_area: usize,
}

impl From<doorstep_app::drivers::LocationReport> for LocationsAccepted {
    fn from(r: doorstep_app::drivers::LocationReport) -> Self {
        LocationsAccepted {
            accepted: r.accepted,
            rejected: r.rejected.total(),
            too_fast: r.rejected.too_fast,
            outside_service_area: r.rejected.outside_service_area,
        }
    }
}

/// Online status of the calling driver.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnlineResponse {
    /// Whether the driver takes offers.
    pub online: bool,
}

/// A pending offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferDto {
    /// Identity; accept or decline with it.
    pub offer_id: String,
    /// The ride offered.
    pub ride_id: String,
    /// Pickup point.
    pub pickup: LatLngDto,
    /// Drop-off point.
    pub dropoff: LatLngDto,
    /// Estimated drive to the pickup, seconds.
    pub pickup_eta_s: u32,
    /// Estimated distance to the pickup, metres.
    pub pickup_distance_m: u32,
    /// The quoted fare: what the rider pays.
    pub fare: MoneyDto,
    /// What the driver earns from it (an estimate: the quoted fare less the platform's commission;
    /// the final fare follows the trip).
    pub driver_take: MoneyDto,
    /// The platform's commission in the estimate.
    pub commission: MoneyDto,
    /// Answer before this instant.
    pub expires_at: String,
}

impl OfferDto {
    /// The offer with the driver's take at `commission_bps`.
    pub fn new(v: &OfferView, commission_bps: i64) -> OfferDto {
        let commission = doorstep_domain::pricing::commission(v.offer.fare, commission_bps)
            .unwrap_or(Money::zero(v.offer.fare.currency));
        OfferDto {
            offer_id: v.offer.id.to_string(),
            ride_id: v.ride.id().to_string(),
            pickup: v.ride.pickup().into(),
            dropoff: v.ride.dropoff().into(),
            pickup_eta_s: v.offer.pickup_eta_s,
            pickup_distance_m: v.offer.pickup_distance_m,
            fare: v.offer.fare.into(),
            driver_take: v
                .offer
                .fare
                .checked_sub(commission)
                .unwrap_or(v.offer.fare)
                .into(),
            commission: commission.into(),
            expires_at: rfc3339(v.offer.expires_at),
        }
    }
}

/// The calling driver's pending offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferList {
    /// Offers, oldest first.
    pub offers: Vec<OfferDto>,
}

/// Answer to a decline.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeclineResponse {
    /// The offer.
    pub offer_id: String,
    /// Always `declined`.
    pub state: String,
}

/// `GET /v1/drivers/me/earnings` query.
#[derive(Debug, Deserialize)]
pub struct EarningsQuery {
    /// Start, RFC 3339 (default: 24 hours before `to`).
    pub from: Option<String>,
    /// End, RFC 3339, not before `from` (default: now).
    pub to: Option<String>,
}

impl utoipa::IntoParams for EarningsQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::schema::{date_time, parameter};
        use utoipa::openapi::path::ParameterIn::Query;
        vec![
            parameter(
                Query,
                "from",
                false,
                date_time(),
                "Start (default: 24 hours before `to`)",
            ),
            parameter(
                Query,
                "to",
                false,
                date_time(),
                "End, not before `from` (default: now)",
            ),
        ]
    }
}

/// One line of an earnings statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsLine {
    /// The ride, or the order (its job) for a delivery.
    pub ride_id: String,
    /// `ride_fare`, `cancellation_fee` or `delivery_order` (tips and cash collected are in the summary).
    pub kind: String,
    /// The driver's share.
    pub amount: MoneyDto,
    /// When posted.
    pub at: String,
}

/// A driver's earnings statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsResponse {
    /// Start of the period.
    pub from: String,
    /// End of the period.
    pub to: String,
    /// Sum of the lines: the net earnings from fares, fees and delivery pay (tips apart).
    pub total: MoneyDto,
    /// Number of completed rides in the period.
    pub rides: usize,
    /// Number of orders delivered in the period.
    pub deliveries: u32,
    /// Lines, oldest first.
    pub lines: Vec<EarningsLine>,
    /// What riders paid for the driver's rides and fees.
    pub gross: MoneyDto,
    /// The platform's commission on it.
    pub commission: MoneyDto,
    /// Everything earned (equals `total`): the rides' share (gross less commission) and the deliveries'
    /// pay.
    pub net: MoneyDto,
    /// Tips, all the driver's: the rides' and the deliveries'.
    pub tips: MoneyDto,
    /// Cash the driver collected from riders; the commission in it is owed to the platform.
    pub cash_collected: MoneyDto,
    /// Rides apart: the driver's share of fares and fees, and tips.
    pub ride_net: MoneyDto,
    /// Tips for rides.
    pub ride_tips: MoneyDto,
    /// Deliveries apart: the pay per order and per km the platform credits.
    pub delivery_pay: MoneyDto,
    /// Tips for deliveries.
    pub delivery_tips: MoneyDto,
    /// By New York calendar day, oldest first.
    pub days: Vec<EarningsPeriod>,
    /// By week (Monday to Sunday, New York time), oldest first.
    pub weeks: Vec<EarningsPeriod>,
}

/// Earnings over one day or week.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsPeriod {
    /// The day, or the Monday that starts the week (`YYYY-MM-DD`, New York time).
    pub start: String,
    /// What riders paid.
    pub gross: MoneyDto,
    /// The platform's commission.
    pub commission: MoneyDto,
    /// The driver's share.
    pub net: MoneyDto,
    /// Tips.
    pub tips: MoneyDto,
    /// Cash collected.
    pub cash_collected: MoneyDto,
    /// Completed rides.
    pub rides: u32,
    /// The rides' share.
    pub ride_net: MoneyDto,
    /// Tips for rides.
    pub ride_tips: MoneyDto,
    /// Orders delivered.
    pub deliveries: u32,
    /// The pay for deliveries.
    pub delivery_pay: MoneyDto,
    /// Tips for deliveries.
    pub delivery_tips: MoneyDto,
}

impl EarningsPeriod {
    fn new(start: &str, t: &doorstep_app::earnings::EarningsTotals) -> EarningsPeriod {
        EarningsPeriod {
            start: start.to_owned(),
            gross: t.gross.into(),
            commission: t.commission.into(),
            net: t.net.into(),
            tips: t.tips.into(),
            cash_collected: t.cash_collected.into(),
            rides: t.rides,
            ride_net: t.ride_net.into(),
            ride_tips: t.ride_tips.into(),
            deliveries: t.deliveries,
            delivery_pay: t.delivery_pay.into(),
            delivery_tips: t.delivery_tips.into(),
        }
    }
}

impl EarningsResponse {
    /// Builds the statement view.
    pub fn new(s: &EarningsStatement, from: Timestamp, to: Timestamp) -> Self {
        EarningsResponse {
            from: rfc3339(from),
            to: rfc3339(to),
            total: s.total.into(),
            rides: s
                .lines
                .iter()
                .filter(|l| l.kind == doorstep_domain::ledger::PostingKind::RideFare)
                .count(),
            deliveries: s.summary.totals.deliveries,
            lines: s
                .lines
                .iter()
                .map(|l| EarningsLine {
                    ride_id: l.ride_id.to_string(),
                    kind: l.kind.as_str().to_owned(),
                    amount: l.amount.into(),
                    at: rfc3339(l.at),
                })
                .collect(),
            gross: s.summary.totals.gross.into(),
            commission: s.summary.totals.commission.into(),
            net: s.summary.totals.net.into(),
            tips: s.summary.totals.tips.into(),
            cash_collected: s.summary.totals.cash_collected.into(),
            ride_net: s.summary.totals.ride_net.into(),
            ride_tips: s.summary.totals.ride_tips.into(),
            delivery_pay: s.summary.totals.delivery_pay.into(),
            delivery_tips: s.summary.totals.delivery_tips.into(),
            days: s
                .summary
                .days
                .iter()
                .map(|(d, t)| EarningsPeriod::new(d, t))
                .collect(),
            weeks: s
                .summary
                .weeks
                .iter()
                .map(|(d, t)| EarningsPeriod::new(d, t))
                .collect(),
        }
    }
}

/// The version of the public wire format of events, sent as `v` in every event.
pub const EVENT_WIRE_VERSION: u8 = 1;

/// A durable ride event as sent on the event stream and in a ride's timeline: version 1 of the public
/// wire format (`v: 1`).
///
/// This is the public contract, kept apart from the stored format (`doorstep_domain::ride::RideEvent`'s
/// serde, in the `events` table), so that the store can change without breaking clients. An addition
/// (a new event type, a new field) keeps `v`; a change that would break a client that reads `v: 1` gets
/// a new version, sent side by side until the apps move.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventV1 {
    /// The wire format's version: 1.
    #[schema(minimum = 1, maximum = 1)]
    pub v: u8,
    /// Position in the log. Resume the event stream with `?after=` the last one received: ids of the
    /// caller's own events only ever grow.
    pub id: i64,
    /// The ride it happened to; for an event of another job (a food order: `type` `order_*`), that
    /// job's id, as in `job_id`.
    pub ride_id: String,
    /// The job it happened to: a ride's id, or a food order's.
    pub job_id: String,
    /// When it was recorded (RFC 3339).
    pub at: String,
    /// What happened: `type` and that type's fields.
    #[serde(flatten)]
    pub body: EventBodyV1,
}

/// What happened, by `type`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBodyV1 {
    /// The rider requested the ride.
    Requested {
        /// The quoted fare.
        fare: MoneyDto,
        /// The pickup (null for rides recorded before it was kept with the event).
        pickup: Option<LatLngDto>,
        /// The drop-off (null likewise).
        dropoff: Option<LatLngDto>,
    },
    /// A driver was offered the ride (sent to that driver only).
    Offered {
        /// The offer to accept or decline.
        offer_id: String,
        /// The driver offered.
        driver: String,
        /// When the offer lapses (RFC 3339).
        expires_at: String,
        /// Estimated seconds to the pickup.
        pickup_eta_s: u32,
        /// What the driver earns from the ride: the quoted fare less the platform's commission (an
        /// estimate; sent on the event stream, absent from a ride's timeline).
        #[serde(skip_serializing_if = "Option::is_none")]
        driver_take: Option<MoneyDto>,
    },
    /// A driver accepted and is on the way.
    DriverAssigned {
        /// The driver.
        driver: String,
        /// Estimated seconds to the pickup.
        pickup_eta_s: u32,
        /// Who is coming, at assignment (absent for rides assigned before it was recorded).
        #[serde(skip_serializing_if = "Option::is_none")]
        driver_card: Option<DriverCardDto>,
    },
    /// The driver is at the pickup.
    DriverArrived {
        /// The driver.
        driver: String,
    },
    /// The trip started.
    Started {
        /// The driver.
        driver: String,
    },
    /// The trip ended and was charged.
    Completed {
        /// The driver.
        driver: String,
        /// The final fare.
        fare: MoneyDto,
        /// Metres the fare is charged for (absent for rides completed before it was recorded).
        #[serde(default)]
        distance_m: Option<u32>,
        /// Why the fare was changed to fit its band around the quote (`capped_at_maximum`,
        /// `raised_to_minimum`), if it was.
        #[serde(default)]
        fare_adjustment: Option<String>,
        /// Why the trip counts as ended early (`far_from_dropoff`, `position_unknown`), if it does.
        #[serde(default)]
        early_end: Option<String>,
    },
    /// The ride was cancelled.
    Cancelled {
        /// `rider` or `admin`.
        by: String,
        /// The cancellation fee, if one was charged.
        fee: Option<MoneyDto>,
    },
    /// The assigned driver cancelled; the ride is dispatched again.
    DriverCancelled {
        /// The driver who cancelled.
        driver: String,
    },
    /// Dispatch gave up.
    NoDriverAvailable {
        /// Why (see [`NoDriverReasonName`]).
        #[schema(value_type = NoDriverReasonName)]
        reason: String,
    },
    /// The rider or the driver sent the other a message (sent to both).
    MessageSent {
        /// The message.
        message_id: String,
        /// Who sent it.
        from: String,
        /// `customer` (the rider) or `worker` (the driver).
        sender: String,
        /// What it says.
        text: String,
    },
    /// A wrong PIN was entered.
    PinAttemptFailed {
        /// Wrong attempts left before the PIN locks.
        attempts_left: u8,
    },
    /// The PIN locked after too many wrong attempts.
    PinLocked,
    /// The rider (or an operator) issued a new PIN.
    PinReissued,
    /// A customer placed a food order.
    OrderPlaced {
        /// The merchant.
        merchant: String,
        /// What the customer pays.
        total: MoneyDto,
        /// The delivery time promised (RFC 3339).
        promised_at: String,
    },
    /// The merchant accepted the order.
    OrderAccepted {
        /// When the food should be ready (RFC 3339).
        ready_at: String,
        /// The delivery estimate (RFC 3339).
        eta: String,
    },
    /// The kitchen started on the order.
    OrderPreparing,
    /// The food is ready for the courier.
    OrderReady {
        /// The delivery estimate (RFC 3339).
        eta: String,
    },
    /// The merchant refused the order (nothing is charged).
    OrderRejected {
        /// Why: `item_unavailable`, `too_busy`, `closing` or `other`.
        reason: String,
    },
    /// The order was cancelled.
    OrderCancelled {
        /// Who: `customer`, `merchant` or `operator`.
        by: String,
        /// The fee charged, if any.
        fee: Option<MoneyDto>,
    },
    /// The order was offered to the courier receiving this event (a batch: one event per order).
    OrderOffered {
        /// The offer (accept or decline it at `/v1/delivery-offers/{offer_id}`).
        offer_id: String,
        /// The courier asked.
        courier: String,
        /// The last instant to accept (RFC 3339).
        expires_at: String,
        /// Seconds to the restaurant.
        eta_s: u32,
    },
    /// A courier took the order.
    OrderCourierAssigned {
        /// The courier.
        courier: String,
        /// Seconds to the restaurant.
        eta_s: u32,
    },
    /// The courier is at the restaurant.
    OrderCourierAtRestaurant {
        /// The courier.
        courier: String,
    },
    /// The courier has the food.
    OrderPickedUp {
        /// The courier.
        courier: String,
        /// The delivery estimate (RFC 3339).
        eta: String,
    },
    /// A wrong hand-over code was tried at the door.
    OrderHandoverAttemptFailed {
        /// Wrong codes left before it locks.
        attempts_left: u8,
    },
    /// The order was handed over.
    OrderDelivered {
        /// The courier.
        courier: String,
    },
    /// The order could not be delivered.
    OrderUndeliverable {
        /// Why (`no_workers_nearby`, `customer_unreachable`, ...).
        reason: String,
    },
    /// A house call was booked.
    BookingConfirmed {
        /// Who comes.
        provider: String,
        /// The service booked.
        service_id: String,
        /// When the visit starts (RFC 3339).
        starts_at: String,
        /// The price.
        price: MoneyDto,
    },
    /// A house call moved to another time or provider.
    BookingRescheduled {
        /// The start before (RFC 3339).
        from: String,
        /// The start now (RFC 3339).
        to: String,
        /// The provider before.
        from_provider: String,
        /// The provider now.
        provider: String,
    },
    /// A house call was cancelled.
    BookingCancelled {
        /// `customer`, `merchant` or `operator`.
        by: String,
        /// The fee charged, if any.
        fee: Option<MoneyDto>,
    },
    /// The provider set off.
    BookingProviderOnTheWay {
        /// The provider.
        provider: String,
        /// Their arrival estimate (RFC 3339).
        eta: String,
    },
    /// The provider will be late.
    BookingProviderLate {
        /// The provider.
        provider: String,
        /// Their arrival estimate (RFC 3339).
        eta: String,
    },
    /// The provider is at the door.
    BookingProviderArrived {
        /// The provider.
        provider: String,
    },
    /// A wrong check-in code was given.
    BookingCheckinAttemptFailed {
        /// Wrong codes left before it locks.
        attempts_left: u8,
    },
    /// The visit started (checked in).
    BookingStarted {
        /// The provider.
        provider: String,
    },
    /// The visit is done (checked out).
    BookingCompleted {
        /// The provider.
        provider: String,
        /// What the customer paid.
        price: MoneyDto,
    },
    /// The customer was not there.
    BookingCustomerNoShow {
        /// The fee charged, if any.
        fee: Option<MoneyDto>,
    },
    /// The provider did not come.
    BookingProviderNoShow {
        /// The provider.
        provider: String,
    },
    /// The provider raised an SOS alert (to the provider and operators only).
    BookingSosRaised {
        /// The provider.
        provider: String,
        /// The alert (`GET /v1/admin/sos-alerts` has its position and note).
        alert_id: String,
    },
    /// An operator acknowledged an SOS alert (to the provider and operators only).
    BookingSosAcknowledged {
        /// The alert.
        alert_id: String,
        /// The operator.
        by: String,
    },
}

impl From<&BookingEvent> for EventBodyV1 {
    fn from(event: &BookingEvent) -> Self {
        match event {
            BookingEvent::BookingConfirmed {
                provider,
                service,
                starts_at,
                price,
            } => EventBodyV1::BookingConfirmed {
                provider: provider.to_string(),
                service_id: service.to_string(),
                starts_at: rfc3339(*starts_at),
                price: (*price).into(),
            },
            BookingEvent::BookingRescheduled {
                from,
                to,
                from_provider,
                provider,
            } => EventBodyV1::BookingRescheduled {
                from: rfc3339(*from),
                to: rfc3339(*to),
                from_provider: from_provider.to_string(),
                provider: provider.to_string(),
            },
            BookingEvent::BookingCancelled { by, fee } => EventBodyV1::BookingCancelled {
                by: by.as_str().to_owned(),
                fee: fee.map(MoneyDto::from),
            },
            BookingEvent::BookingProviderOnTheWay { provider, eta } => {
                EventBodyV1::BookingProviderOnTheWay {
                    provider: provider.to_string(),
                    eta: rfc3339(*eta),
                }
            }
            BookingEvent::BookingProviderLate { provider, eta } => {
                EventBodyV1::BookingProviderLate {
                    provider: provider.to_string(),
                    eta: rfc3339(*eta),
                }
            }
            BookingEvent::BookingProviderArrived { provider } => {
                EventBodyV1::BookingProviderArrived {
                    provider: provider.to_string(),
                }
            }
            BookingEvent::BookingCheckinAttemptFailed { attempts_left } => {
                EventBodyV1::BookingCheckinAttemptFailed {
                    attempts_left: *attempts_left,
                }
            }
            BookingEvent::BookingStarted { provider } => EventBodyV1::BookingStarted {
                provider: provider.to_string(),
            },
            BookingEvent::BookingCompleted { provider, price } => EventBodyV1::BookingCompleted {
                provider: provider.to_string(),
                price: (*price).into(),
            },
            BookingEvent::BookingCustomerNoShow { fee } => EventBodyV1::BookingCustomerNoShow {
                fee: fee.map(MoneyDto::from),
            },
            BookingEvent::BookingProviderNoShow { provider } => {
                EventBodyV1::BookingProviderNoShow {
                    provider: provider.to_string(),
                }
            }
            BookingEvent::BookingSosRaised { provider, alert } => EventBodyV1::BookingSosRaised {
                provider: provider.to_string(),
                alert_id: alert.to_string(),
            },
            BookingEvent::BookingSosAcknowledged { alert, by } => {
                EventBodyV1::BookingSosAcknowledged {
                    alert_id: alert.to_string(),
                    by: by.to_string(),
                }
            }
        }
    }
}

impl From<&OrderEvent> for EventBodyV1 {
    fn from(event: &OrderEvent) -> Self {
        match event {
            OrderEvent::OrderPlaced {
                merchant,
                total,
                promised_at,
            } => EventBodyV1::OrderPlaced {
                merchant: merchant.to_string(),
                total: (*total).into(),
                promised_at: rfc3339(*promised_at),
            },
            OrderEvent::OrderAccepted { ready_at, eta } => EventBodyV1::OrderAccepted {
                ready_at: rfc3339(*ready_at),
                eta: rfc3339(*eta),
            },
            OrderEvent::OrderPreparing => EventBodyV1::OrderPreparing,
            OrderEvent::OrderReady { eta } => EventBodyV1::OrderReady { eta: rfc3339(*eta) },
            OrderEvent::OrderRejected { reason } => EventBodyV1::OrderRejected {
                reason: reason.as_str().to_owned(),
            },
            OrderEvent::OrderCancelled { by, fee } => EventBodyV1::OrderCancelled {
                by: by.as_str().to_owned(),
                fee: fee.map(MoneyDto::from),
            },
            OrderEvent::OrderOffered {
                offer,
                courier,
                expires_at,
                eta_s,
            } => EventBodyV1::OrderOffered {
                offer_id: offer.to_string(),
                courier: courier.to_string(),
                expires_at: rfc3339(*expires_at),
                eta_s: *eta_s,
            },
            OrderEvent::OrderCourierAssigned { courier, eta_s } => {
                EventBodyV1::OrderCourierAssigned {
                    courier: courier.to_string(),
                    eta_s: *eta_s,
                }
            }
            OrderEvent::OrderCourierAtRestaurant { courier } => {
                EventBodyV1::OrderCourierAtRestaurant {
                    courier: courier.to_string(),
                }
            }
            OrderEvent::OrderPickedUp { courier, eta } => EventBodyV1::OrderPickedUp {
                courier: courier.to_string(),
                eta: rfc3339(*eta),
            },
            OrderEvent::OrderHandoverAttemptFailed { attempts_left } => {
                EventBodyV1::OrderHandoverAttemptFailed {
                    attempts_left: *attempts_left,
                }
            }
            OrderEvent::OrderDelivered { courier } => EventBodyV1::OrderDelivered {
                courier: courier.to_string(),
            },
            OrderEvent::OrderUndeliverable { reason } => EventBodyV1::OrderUndeliverable {
                reason: reason.as_str().to_owned(),
            },
        }
    }
}

impl From<&Event> for EventBodyV1 {
    fn from(event: &Event) -> Self {
        match event {
            Event::Ride(e) => EventBodyV1::from(e),
            Event::Order(e) => EventBodyV1::from(e),
            Event::Booking(e) => EventBodyV1::from(e),
        }
    }
}

impl From<&RideEvent> for EventBodyV1 {
    fn from(event: &RideEvent) -> Self {
        match event {
            RideEvent::Requested {
                fare,
                pickup,
                dropoff,
            } => EventBodyV1::Requested {
                fare: (*fare).into(),
                pickup: pickup.map(LatLngDto::from),
                dropoff: dropoff.map(LatLngDto::from),
            },
            RideEvent::Offered {
                offer_id,
                driver,
                expires_at,
                pickup_eta_s,
            } => EventBodyV1::Offered {
                offer_id: offer_id.to_string(),
                driver: driver.to_string(),
                expires_at: rfc3339(*expires_at),
                pickup_eta_s: *pickup_eta_s,
                driver_take: None,
            },
            RideEvent::DriverAssigned {
                driver,
                pickup_eta_s,
                driver_card,
            } => EventBodyV1::DriverAssigned {
                driver: driver.to_string(),
                pickup_eta_s: *pickup_eta_s,
                driver_card: driver_card.as_deref().map(DriverCardDto::from),
            },
            RideEvent::DriverArrived { driver } => EventBodyV1::DriverArrived {
                driver: driver.to_string(),
            },
            RideEvent::Started { driver } => EventBodyV1::Started {
                driver: driver.to_string(),
            },
            RideEvent::Completed {
                driver,
                fare,
                distance_m,
                fare_adjustment,
                early_end,
            } => EventBodyV1::Completed {
                driver: driver.to_string(),
                fare: (*fare).into(),
                distance_m: *distance_m,
                fare_adjustment: fare_adjustment.map(|a| a.as_str().to_owned()),
                early_end: early_end.map(|e| e.as_str().to_owned()),
            },
            RideEvent::Cancelled { by, fee } => EventBodyV1::Cancelled {
                by: match by {
                    CancelledBy::Rider => "rider",
                    CancelledBy::Admin => "admin",
                }
                .to_owned(),
                fee: fee.map(MoneyDto::from),
            },
            RideEvent::DriverCancelled { driver } => EventBodyV1::DriverCancelled {
                driver: driver.to_string(),
            },
            RideEvent::NoDriverAvailable { reason } => EventBodyV1::NoDriverAvailable {
                reason: reason.as_str().to_owned(),
            },
            RideEvent::MessageSent {
                message_id,
                from,
                sender,
                text,
            } => EventBodyV1::MessageSent {
                message_id: message_id.to_string(),
                from: from.to_string(),
                sender: sender.as_str().to_owned(),
                text: text.clone(),
            },
            RideEvent::PinAttemptFailed { attempts_left } => EventBodyV1::PinAttemptFailed {
                attempts_left: *attempts_left,
            },
            RideEvent::PinLocked => EventBodyV1::PinLocked,
            RideEvent::PinReissued => EventBodyV1::PinReissued,
        }
    }
}

impl From<&StoredEvent> for EventV1 {
    fn from(e: &StoredEvent) -> Self {
        EventV1 {
            v: EVENT_WIRE_VERSION,
            id: e.id,
            ride_id: e.job_id.to_string(),
            job_id: e.job_id.to_string(),
            at: rfc3339(e.at),
            body: EventBodyV1::from(&e.event),
        }
    }
}

/// A durable event as sent on the WebSocket: its [`EventV1`] as JSON.
pub fn event_json(e: &StoredEvent) -> serde_json::Value {
    serde_json::to_value(EventV1::from(e)).unwrap_or_else(
        |_| serde_json::json!({"v": EVENT_WIRE_VERSION, "id": e.id, "type": e.event.kind()}),
    )
}

/// A ride's event timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    /// Events, oldest first, in the event stream's wire format.
    pub events: Vec<EventV1>,
}

#[cfg(test)]
mod event_wire_tests {
    use super::*;
    use doorstep_domain::ride::NoDriverReason;
    use doorstep_domain::{Currency, OfferId, RideId};

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// Every event type, with every optional field both set and unset.
    fn every_event() -> TestResult<Vec<RideEvent>> {
        let usd = Currency::parse("USD")?;
        let driver = UserId::from_uuid(uuid::Uuid::now_v7());
        let place = LatLng::new(40.75, -73.98)?;
        Ok(vec![
            RideEvent::Requested {
                fare: Money::new(1234, usd),
                pickup: Some(place),
                dropoff: Some(place),
            },
            RideEvent::Requested {
                fare: Money::new(1234, usd),
                pickup: None,
                dropoff: None,
            },
            RideEvent::Offered {
                offer_id: OfferId::from_uuid(uuid::Uuid::now_v7()),
                driver,
                expires_at: Timestamp::from_millis(1_795_633_200_000),
                pickup_eta_s: 240,
            },
            RideEvent::DriverAssigned {
                driver,
                pickup_eta_s: 240,
                driver_card: None,
            },
            RideEvent::DriverAssigned {
                driver,
                pickup_eta_s: 240,
                driver_card: Some(Box::new(doorstep_domain::contact::DriverCard {
                    driver,
                    name: "Ada Lovelace".to_owned(),
                    initials: "AL".to_owned(),
                    vehicle: Some(doorstep_domain::contact::Vehicle {
                        make: "Toyota".to_owned(),
                        model: "Prius".to_owned(),
                        colour: "Blue".to_owned(),
                        plate: "T123 456C".to_owned(),
                    }),
                    rating: Some(doorstep_domain::contact::RatingSummary {
                        average: 4.5,
                        count: 2,
                    }),
                })),
            },
            RideEvent::MessageSent {
                message_id: doorstep_domain::MessageId::from_uuid(uuid::Uuid::now_v7()),
                from: driver,
                sender: doorstep_domain::contact::Sender::Worker,
                text: "At the corner".to_owned(),
            },
            RideEvent::DriverArrived { driver },
            RideEvent::Started { driver },
            RideEvent::Completed {
                driver,
                fare: Money::new(2000, usd),
                distance_m: Some(3200),
                fare_adjustment: None,
                early_end: None,
            },
            RideEvent::Cancelled {
                by: CancelledBy::Rider,
                fee: Some(Money::new(500, usd)),
            },
            RideEvent::Cancelled {
                by: CancelledBy::Admin,
                fee: None,
            },
            RideEvent::DriverCancelled { driver },
            RideEvent::NoDriverAvailable {
                reason: NoDriverReason::AllDriversDeclined,
            },
            RideEvent::NoDriverAvailable {
                reason: NoDriverReason::DriverCancelledNoReplacement,
            },
            RideEvent::PinAttemptFailed { attempts_left: 2 },
            RideEvent::PinLocked,
            RideEvent::PinReissued,
        ])
    }

    /// The wire format before it had a DTO: the stored serde of the event with `id`, `ride_id`, `at`, and
    /// `expires_at` in RFC 3339. The web apps and the demo agents read this shape.
    fn unversioned_wire(e: &StoredEvent) -> TestResult<serde_json::Value> {
        let mut v = serde_json::to_value(&e.event)?;
        let obj = v.as_object_mut().ok_or("an event is an object")?;
        obj.insert("id".into(), e.id.into());
        obj.insert("ride_id".into(), e.job_id.to_string().into());
        obj.insert("job_id".into(), e.job_id.to_string().into());
        obj.insert("at".into(), rfc3339(e.at).into());
        if let Some(RideEvent::Offered { expires_at, .. }) = e.event.as_ride() {
            obj.insert("expires_at".into(), rfc3339(*expires_at).into());
        }
        Ok(v)
    }

    #[test]
    fn version_1_is_the_unversioned_wire_format_with_v_1_for_every_event_type() -> TestResult {
        for (i, event) in every_event()?.into_iter().enumerate() {
            let stored = StoredEvent {
                id: i64::try_from(i)? + 1,
                job_id: RideId::from_uuid(uuid::Uuid::now_v7()).into(),
                at: Timestamp::from_millis(1_795_633_200_000),
                recipients: Vec::new(),
                event: event.into(),
            };
            let mut wire = event_json(&stored);
            assert_eq!(wire["v"], 1, "{wire}");
            wire.as_object_mut().ok_or("an object")?.remove("v");
            assert_eq!(wire, unversioned_wire(&stored)?);
        }
        Ok(())
    }

    #[test]
    fn every_order_event_goes_out_with_its_type_its_job_and_times_in_rfc_3339() -> TestResult {
        use doorstep_domain::food::order::{OrderEvent, RejectReason};
        use doorstep_domain::job::{Canceller, UnfulfilledReason};
        let t = Timestamp::from_millis(1_795_633_200_000);
        let who = UserId::from_uuid(uuid::Uuid::now_v7());
        let usd = |minor| doorstep_domain::Money::new(minor, Currency::USD);
        let events = [
            OrderEvent::OrderPlaced {
                merchant: doorstep_domain::MerchantId::from_uuid(uuid::Uuid::now_v7()),
                total: usd(2599),
                promised_at: t,
            },
            OrderEvent::OrderAccepted {
                ready_at: t,
                eta: t,
            },
            OrderEvent::OrderPreparing,
            OrderEvent::OrderReady { eta: t },
            OrderEvent::OrderRejected {
                reason: RejectReason::TooBusy,
            },
            OrderEvent::OrderCancelled {
                by: Canceller::Customer,
                fee: Some(usd(500)),
            },
            OrderEvent::OrderOffered {
                offer: doorstep_domain::OfferId::from_uuid(uuid::Uuid::now_v7()),
                courier: who,
                expires_at: t,
                eta_s: 300,
            },
            OrderEvent::OrderCourierAssigned {
                courier: who,
                eta_s: 300,
            },
            OrderEvent::OrderCourierAtRestaurant { courier: who },
            OrderEvent::OrderPickedUp {
                courier: who,
                eta: t,
            },
            OrderEvent::OrderHandoverAttemptFailed { attempts_left: 2 },
            OrderEvent::OrderDelivered { courier: who },
            OrderEvent::OrderUndeliverable {
                reason: UnfulfilledReason::CustomerUnreachable,
            },
        ];
        let job = doorstep_domain::JobId::from_uuid(uuid::Uuid::now_v7());
        for (i, event) in events.into_iter().enumerate() {
            let kind = event.kind();
            let stored = StoredEvent {
                id: i64::try_from(i)? + 1,
                job_id: job,
                at: t,
                recipients: Vec::new(),
                event: event.into(),
            };
            let wire = event_json(&stored);
            assert_eq!(wire["v"], 1, "{wire}");
            assert_eq!(wire["type"], kind, "{wire}");
            assert_eq!(wire["job_id"], job.to_string(), "{wire}");
            for field in ["promised_at", "ready_at", "eta"] {
                if let Some(v) = wire.get(field) {
                    assert_eq!(v, &serde_json::Value::from(rfc3339(t)), "{wire}");
                }
            }
        }
        Ok(())
    }
}

/// Why dispatch found no driver for a ride.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoDriverReasonName {
    /// No online driver was within reach of the pickup and none was ever offered the ride: ended early
    /// (after `--no-driver-grace-secs`, 6 s by default), not after the pickup limit.
    NoDriversNearby,
    /// Every driver offered the ride declined, and nobody else was in reach.
    AllOffersDeclined,
    /// At least one offer lapsed unanswered, and nobody else was in reach.
    OffersExpired,
    /// A driver accepted and then cancelled, and no other driver took the ride.
    DriverCancelledNoReplacement,
    /// Drivers were within reach but none became free before the pickup limit.
    TimedOut,
    /// Rides that ended before the reasons above existed: offers declined or expired, undistinguished.
    AllDriversDeclined,
}

/// A driver's car, as registered and as riders see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VehicleDto {
    /// Make, trimmed.
    #[schema(schema_with = crate::schema::vehicle_text)]
    pub make: String,
    /// Model, trimmed.
    #[schema(schema_with = crate::schema::vehicle_text)]
    pub model: String,
    /// Colour, trimmed.
    #[schema(schema_with = crate::schema::vehicle_text)]
    pub colour: String,
    /// Number plate: kept upper-cased, with single spaces.
    #[schema(schema_with = crate::schema::plate)]
    pub plate: String,
}

impl From<&doorstep_domain::contact::Vehicle> for VehicleDto {
    fn from(v: &doorstep_domain::contact::Vehicle) -> Self {
        VehicleDto {
            make: v.make.clone(),
            model: v.model.clone(),
            colour: v.colour.clone(),
            plate: v.plate.clone(),
        }
    }
}

/// The ratings a driver received.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatingSummaryDto {
    /// Mean stars, 1 to 5.
    pub average: f64,
    /// How many ratings.
    pub count: u32,
}

/// Who is coming.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DriverCardDto {
    /// The driver.
    pub driver: String,
    /// Display name.
    pub name: String,
    /// Initials, for an avatar.
    pub initials: String,
    /// The car (null if the driver registered none).
    pub vehicle: Option<VehicleDto>,
    /// Ratings received (null before the first, and on a completed ride's receipt).
    pub rating: Option<RatingSummaryDto>,
}

impl From<&doorstep_domain::contact::DriverCard> for DriverCardDto {
    fn from(c: &doorstep_domain::contact::DriverCard) -> Self {
        DriverCardDto {
            driver: c.driver.to_string(),
            name: c.name.clone(),
            initials: c.initials.clone(),
            vehicle: c.vehicle.as_ref().map(VehicleDto::from),
            rating: c.rating.map(|r| RatingSummaryDto {
                average: r.average,
                count: r.count,
            }),
        }
    }
}

/// `POST /v1/rides/{ride_id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageBody {
    /// What to say, trimmed.
    #[schema(schema_with = crate::schema::message_text)]
    pub text: String,
}

/// A message between a ride's rider and driver.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    /// Identity.
    pub message_id: String,
    /// The ride.
    pub ride_id: String,
    /// Who sent it.
    pub from: String,
    /// `customer` (the rider) or `worker` (the driver).
    pub sender: String,
    /// What it says.
    pub text: String,
    /// When it was sent (RFC 3339).
    pub at: String,
}

impl From<&doorstep_domain::contact::JobMessage> for MessageDto {
    fn from(m: &doorstep_domain::contact::JobMessage) -> Self {
        MessageDto {
            message_id: m.id.to_string(),
            ride_id: m.job.to_string(),
            from: m.from.to_string(),
            sender: m.sender.as_str().to_owned(),
            text: m.text.clone(),
            at: rfc3339(m.at),
        }
    }
}

/// A ride's messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    /// The messages.
    pub messages: Vec<MessageDto>,
}
