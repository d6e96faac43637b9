//! Wire types of house calls: availability, holds, bookings and a provider's own profile. Times are RFC 3339,
//! dates `YYYY-MM-DD` in the city's time zone, money integer minor units.

use crate::dto::merchants::WeekDto;
use crate::dto::{LatLngDto, MoneyDto, parse_rfc3339, rfc3339};
use crate::error::ApiError;
use doorstep_app::housecalls::Slot;
use doorstep_domain::housecall::{Booking, ProviderDraft, ProviderProfile};
use doorstep_domain::{Role, ServiceId, User, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One bookable start.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlotView {
    /// When the visit starts.
    pub start: String,
    /// When the appointment ends.
    pub end: String,
    /// Who can come, best first (the least travel added to their day).
    pub provider_ids: Vec<String>,
}

impl From<&Slot> for SlotView {
    fn from(s: &Slot) -> Self {
        SlotView {
            start: rfc3339(s.start),
            end: rfc3339(s.end),
            provider_ids: s.providers.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The free slots for a service at an address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvailabilityView {
    /// The service.
    pub service_id: String,
    /// Its name.
    pub service_name: String,
    /// The appointment's length, minutes.
    pub duration_min: u32,
    /// Its price.
    pub price: MoneyDto,
    /// The time zone of the dates: `America/New_York`.
    pub time_zone: String,
    /// Every free start, in order.
    pub slots: Vec<SlotView>,
}

/// The answer when a slot was taken meanwhile: the code and the slots still free that day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlotTakenBody {
    /// `slot_unavailable`.
    pub code: String,
    /// What happened.
    pub message: String,
    /// The slots still free that day.
    pub slots: Vec<SlotView>,
}

/// `POST /v1/house-calls/holds`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HoldBody {
    /// The service.
    pub service_id: uuid::Uuid,
    /// The customer's place.
    pub location: LatLngDto,
    /// When the visit starts (a quarter hour).
    pub start: String,
    /// A chosen provider; absent: any provider.
    #[serde(default)]
    pub provider_id: Option<uuid::Uuid>,
}

/// A held slot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldView {
    /// The hold, to name when booking.
    pub hold_id: String,
    /// Who it is held with.
    pub provider_id: String,
    /// When the visit starts.
    pub start: String,
    /// Until when it is held.
    pub expires_at: String,
}

/// `POST /v1/house-calls/bookings`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BookBody {
    /// The service.
    pub service_id: uuid::Uuid,
    /// The customer's place.
    pub location: LatLngDto,
    /// The address as the customer writes it (1 to 200 characters).
    pub address: String,
    /// When the visit starts (a quarter hour); leave it out with `asap`.
    #[serde(default)]
    pub start: Option<String>,
    /// As soon as possible: the earliest start a provider can make (then no `start`).
    #[serde(default)]
    pub asap: bool,
    /// A chosen provider; absent: any provider.
    #[serde(default)]
    pub provider_id: Option<uuid::Uuid>,
    /// The hold this booking converts, if any.
    #[serde(default)]
    pub hold_id: Option<uuid::Uuid>,
    /// The payment method (`wallet` or a stored card's id); absent: the newest card.
    #[serde(default)]
    pub payment_method_id: Option<String>,
}

/// `POST /v1/house-calls/bookings/{booking_id}/on-my-way`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OnMyWayBody {
    /// Minutes to the door (0 to 240).
    #[schema(maximum = 240)]
    pub eta_min: u32,
}

/// `POST /v1/house-calls/bookings/{booking_id}/check-in`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CheckInBody {
    /// The code the customer tells the provider.
    pub code: String,
}

/// Where the provider is, for the customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderPositionView {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// When it was reported.
    pub seen_at: String,
}

/// `POST /v1/house-calls/bookings/{booking_id}/reschedule`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RescheduleBody {
    /// The new start (a quarter hour).
    pub start: String,
}

/// A booking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingView {
    /// The booking (its job's id).
    pub id: String,
    /// `confirmed`, `on_the_way`, `arrived`, `in_progress`, `completed`, `cancelled` or `missed`.
    pub state: String,
    /// The service.
    pub service_id: String,
    /// Its name.
    pub service_name: String,
    /// The appointment's length, minutes.
    pub duration_min: u32,
    /// The price.
    pub price: MoneyDto,
    /// The customer.
    pub customer_id: String,
    /// The provider.
    pub provider_id: String,
    /// `chosen` (the customer chose the provider) or `any`.
    pub provider_choice: String,
    /// The customer's place.
    pub location: LatLngDto,
    /// The address.
    pub address: String,
    /// When the visit starts.
    pub start: String,
    /// When the appointment ends.
    pub end: String,
    /// The code the customer gives the provider at check-in (the customer's view only).
    pub checkin_code: Option<String>,
    /// The fee charged for a cancellation, if any.
    pub cancel_fee: Option<MoneyDto>,
    /// The weekly series it belongs to, if recurring.
    pub series_id: Option<String>,
    /// The provider's arrival estimate once they set off.
    pub eta: Option<String>,
    /// Where the provider is while on the way (the customer's view only).
    pub provider_position: Option<ProviderPositionView>,
    /// The version, for concurrency.
    pub version: i64,
}

impl BookingView {
    /// The booking as `viewer` sees it.
    pub fn of(b: &Booking, viewer: &User) -> BookingView {
        let start = b.starts_at();
        let r = b.record();
        BookingView {
            id: b.id().to_string(),
            state: b.state().as_str().to_owned(),
            service_id: r.service.to_string(),
            service_name: r.service_name.clone(),
            duration_min: r.duration_min,
            price: r.price.into(),
            customer_id: b.customer().to_string(),
            provider_id: b.provider().to_string(),
            provider_choice: r.choice.as_str().to_owned(),
            location: b.place().into(),
            address: r.address.clone(),
            start: rfc3339(start),
            end: rfc3339(start.plus_secs(i64::from(r.duration_min) * 60)),
            checkin_code: (viewer.id == b.customer() && !b.state().is_terminal())
                .then(|| b.checkin_code().map(|c| c.as_str().to_owned()))
                .flatten(),
            cancel_fee: b.job().cancel_fee.map(MoneyDto::from),
            series_id: r.series.map(|s| s.to_string()),
            eta: r.eta.map(rfc3339),
            provider_position: None,
            version: b.version(),
        }
    }

    /// With the provider's position, for the customer.
    pub fn with_position(
        mut self,
        position: Option<(doorstep_geo::LatLng, doorstep_domain::Timestamp)>,
    ) -> BookingView {
        self.provider_position = position.map(|(p, at)| ProviderPositionView {
            lat: p.lat(),
            lng: p.lng(),
            seen_at: rfc3339(at),
        });
        self
    }
}

/// A list of bookings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingList {
    /// By start.
    pub bookings: Vec<BookingView>,
}

/// `PUT /v1/providers/me`: the caller's provider profile, replacing what was set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ProviderBody {
    /// What customers read (up to 500 characters).
    #[serde(default)]
    pub bio: String,
    /// Where the working day starts and ends.
    pub home: LatLngDto,
    /// The service area's radius around the home base, metres (500 to 30 000).
    pub area_m: u32,
    /// The most visits a day (1 to 16).
    pub daily_cap: u32,
    /// The services offered (from the catalogue).
    pub service_ids: Vec<uuid::Uuid>,
    /// Working hours by weekday in the city's time zone (ranges within a day).
    pub hours: WeekDto,
}

impl ProviderBody {
    /// The draft, checked at the edge.
    pub fn into_draft(self) -> Result<ProviderDraft, ApiError> {
        Ok(ProviderDraft {
            bio: self.bio,
            home: self.home.try_into()?,
            area_m: self.area_m,
            daily_cap: self.daily_cap,
            services: self
                .service_ids
                .into_iter()
                .map(ServiceId::from_uuid)
                .collect(),
            hours: self.hours.to_weekly("hours")?,
        })
    }
}

/// A period of time off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimeOffDto {
    /// The first instant off.
    pub from: String,
    /// The first instant back.
    pub to: String,
}

impl TimeOffDto {
    /// The instants, parsed.
    pub fn parse(
        &self,
    ) -> Result<(doorstep_domain::Timestamp, doorstep_domain::Timestamp), ApiError> {
        Ok((parse_rfc3339(&self.from)?, parse_rfc3339(&self.to)?))
    }
}

/// A provider's profile as they see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderView {
    /// The provider.
    pub provider_id: String,
    /// `pending`, `approved`, `rejected` or `suspended`.
    pub approval: String,
    /// Bio.
    pub bio: String,
    /// Home base.
    pub home: LatLngDto,
    /// Service area's radius, metres.
    pub area_m: u32,
    /// Visits a day at most.
    pub daily_cap: u32,
    /// Services offered.
    pub service_ids: Vec<String>,
    /// The time zone of the hours: `America/New_York`.
    pub time_zone: String,
    /// Working hours.
    pub hours: WeekDto,
    /// Time off still to come or under way.
    pub time_off: Vec<TimeOffDto>,
}

impl From<&ProviderProfile> for ProviderView {
    fn from(p: &ProviderProfile) -> Self {
        ProviderView {
            provider_id: p.user.to_string(),
            approval: p.approval.as_str().to_owned(),
            bio: p.bio.clone(),
            home: p.home.into(),
            area_m: p.area_m,
            daily_cap: p.daily_cap,
            service_ids: p.services.iter().map(ToString::to_string).collect(),
            time_zone: "America/New_York".to_owned(),
            hours: WeekDto::from(&p.hours),
            time_off: p
                .time_off
                .iter()
                .map(|t| TimeOffDto {
                    from: rfc3339(t.from),
                    to: rfc3339(t.to),
                })
                .collect(),
        }
    }
}

/// Whether `user` sees bookings as a provider.
pub fn is_provider(user: &User) -> bool {
    user.role == Role::Provider
}

/// A provider's id from the wire.
pub fn provider_id(raw: Option<uuid::Uuid>) -> Option<UserId> {
    raw.map(UserId::from_uuid)
}

/// A rating of a visit by one of its parties.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitRatingView {
    /// The booking.
    pub booking_id: String,
    /// Who rated.
    pub from_user_id: String,
    /// Who was rated (the provider or the customer).
    pub rated_user_id: String,
    /// Stars.
    pub stars: u8,
    /// Comment, possibly empty.
    pub comment: String,
    /// When.
    pub at: String,
}

impl From<&doorstep_domain::rating::JobRating> for VisitRatingView {
    fn from(r: &doorstep_domain::rating::JobRating) -> Self {
        VisitRatingView {
            booking_id: r.job.to_string(),
            from_user_id: r.from.to_string(),
            rated_user_id: match r.to {
                doorstep_domain::rating::Ratee::User(u) => u.to_string(),
                doorstep_domain::rating::Ratee::Merchant(m) => m.to_string(),
            },
            stars: r.stars.get(),
            comment: r.comment.clone(),
            at: rfc3339(r.at),
        }
    }
}

/// The ratings of a visit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitRatingList {
    /// Oldest first.
    pub ratings: Vec<VisitRatingView>,
}

/// Whom the caller blocked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockView {
    /// The other party, now kept apart from the caller in every future booking.
    pub blocked_user_id: String,
}
