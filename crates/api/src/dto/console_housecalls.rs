//! Wire types of the operations console's house calls (a day's bookings, the day's summary, SOS alerts)
//! and of the provider's safety tools (share links, what a share link shows, SOS). Times are RFC 3339;
//! money is integer minor units.

use crate::dto::{LatLngDto, MoneyDto, rfc3339};
use doorstep_app::console_housecalls::{HouseCallSummary, OperatorBooking, ProviderDay};
use doorstep_app::visit_safety::{OperatorSosAlert, SOS_NOTE, ShareLink, SharedVisit};
use doorstep_domain::onboarding::CalendarDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

// ---- the console's day

/// A booking in the console's day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminBookingView {
    /// The booking (its job's id).
    #[schema(format = Uuid)]
    pub id: String,
    /// `confirmed`, `on_the_way`, `arrived`, `in_progress`, `completed`, `cancelled` or `missed`.
    pub state: String,
    /// The service's name.
    pub service_name: String,
    /// The customer.
    #[schema(format = Uuid)]
    pub customer_id: String,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// The provider.
    #[schema(format = Uuid)]
    pub provider_id: String,
    /// The provider's name.
    pub provider_name: Option<String>,
    /// When the visit starts.
    pub start: String,
    /// When the provider is free again (the appointment and their buffer).
    pub end: String,
    /// The address.
    pub address: String,
    /// The customer's place.
    pub location: LatLngDto,
    /// The provider's arrival estimate, once they set off.
    pub eta: Option<String>,
    /// Late: the provider is not at the door and their estimate, or the clock, is past the start and
    /// five minutes.
    pub late: bool,
    /// The price.
    pub price: MoneyDto,
}

impl From<&OperatorBooking> for AdminBookingView {
    fn from(o: &OperatorBooking) -> Self {
        let b = &o.booking;
        let r = b.record();
        AdminBookingView {
            id: b.id().to_string(),
            state: b.state().as_str().to_owned(),
            service_name: r.service_name.clone(),
            customer_id: b.customer().to_string(),
            customer_name: o.customer_name.clone(),
            provider_id: b.provider().to_string(),
            provider_name: o.provider_name.clone(),
            start: rfc3339(b.starts_at()),
            end: rfc3339(b.ends_at()),
            address: r.address.clone(),
            location: b.place().into(),
            eta: r.eta.map(rfc3339),
            late: o.late,
            price: r.price.into(),
        }
    }
}

/// The console's day of bookings, by start.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminBookingList {
    /// The local date (New York), `YYYY-MM-DD`.
    pub date: String,
    /// The bookings.
    pub bookings: Vec<AdminBookingView>,
}

impl AdminBookingList {
    /// The list of `date`.
    pub fn of(date: CalendarDate, bookings: &[OperatorBooking]) -> Self {
        AdminBookingList {
            date: date.to_string(),
            bookings: bookings.iter().map(AdminBookingView::from).collect(),
        }
    }
}

/// How many of the day's bookings are in one state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingStateCount {
    /// The state.
    pub state: String,
    /// How many.
    pub count: i64,
}

/// Providers by approval, and those working on the day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderCountsView {
    /// Approved, with working hours that day.
    pub working: u32,
    /// Approved.
    pub approved: u32,
    /// Waiting for an operator (with a profile).
    pub pending: u32,
    /// Rejected.
    pub rejected: u32,
    /// Suspended.
    pub suspended: u32,
}

/// A working interval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntervalView {
    /// Its start.
    pub from: String,
    /// Its end.
    pub to: String,
}

/// One provider's day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderDayView {
    /// The provider.
    #[schema(format = Uuid)]
    pub provider_id: String,
    /// Their name.
    pub name: String,
    /// `approved`, `pending`, `rejected` or `suspended`.
    pub approval: String,
    /// Their working intervals that day (weekly hours minus time off).
    pub working: Vec<IntervalView>,
    /// Minutes of working time.
    pub working_min: u32,
    /// Minutes on site (visits not cancelled or missed: appointment and buffer).
    pub booked_min: u32,
    /// Minutes of driving from home through the visits in order and back (the city's travel times).
    pub travel_min: u32,
    /// Visits not cancelled or missed.
    pub visits: u32,
    /// Booked over working minutes, basis points (10000 = fully booked); null without working time.
    pub utilisation_bps: Option<u32>,
}

impl From<&ProviderDay> for ProviderDayView {
    fn from(d: &ProviderDay) -> Self {
        ProviderDayView {
            provider_id: d.provider.to_string(),
            name: d.name.clone(),
            approval: d.approval.as_str().to_owned(),
            working: d
                .intervals
                .iter()
                .map(|(a, b)| IntervalView {
                    from: rfc3339(*a),
                    to: rfc3339(*b),
                })
                .collect(),
            working_min: d.working_min,
            booked_min: d.booked_min,
            travel_min: d.travel_min,
            visits: d.visits,
            utilisation_bps: d.utilisation_bps(),
        }
    }
}

/// The console's house-call summary of a day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HouseCallSummaryView {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// Its first instant.
    pub from: String,
    /// The first instant of the next day.
    pub to: String,
    /// The day's bookings by state (every state, zero included).
    pub by_state: Vec<BookingStateCount>,
    /// The day's bookings in all.
    pub total: i64,
    /// Bookings late now.
    pub late: u32,
    /// Providers by approval and working.
    pub providers: ProviderCountsView,
    /// Each provider working that day or with a visit, by name.
    pub utilisation: Vec<ProviderDayView>,
    /// SOS alerts not yet acknowledged (any day).
    pub open_sos: i64,
}

impl From<&HouseCallSummary> for HouseCallSummaryView {
    fn from(s: &HouseCallSummary) -> Self {
        let p = s.providers;
        HouseCallSummaryView {
            date: s.date.to_string(),
            from: rfc3339(s.from),
            to: rfc3339(s.to),
            by_state: s
                .by_state
                .iter()
                .map(|(state, count)| BookingStateCount {
                    state: state.as_str().to_owned(),
                    count: *count,
                })
                .collect(),
            total: s.by_state.iter().map(|(_, n)| n).sum(),
            late: s.late,
            providers: ProviderCountsView {
                working: p.working,
                approved: p.approved,
                pending: p.pending,
                rejected: p.rejected,
                suspended: p.suspended,
            },
            utilisation: s.days.iter().map(ProviderDayView::from).collect(),
            open_sos: s.open_sos,
        }
    }
}

// ---- share links

/// `POST /v1/house-calls/bookings/{booking_id}/share`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// How long the link works, minutes (default 240, at most 1440).
    #[schema(minimum = 5, maximum = 1440)]
    pub expires_in_min: Option<u32>,
}

/// A share link, shown once: send `url` to a trusted contact.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareLinkView {
    /// The page that shows the visit (`/share/visit/<token>`).
    pub url: String,
    /// The capability itself (read the status at `/v1/shared-visits/{token}`); only its SHA-256 is
    /// stored, so it cannot be shown again.
    pub token: String,
    /// When it stops working.
    pub expires_at: String,
}

impl From<&ShareLink> for ShareLinkView {
    fn from(l: &ShareLink) -> Self {
        ShareLinkView {
            url: l.url.clone(),
            token: l.token.clone(),
            expires_at: rfc3339(l.expires_at),
        }
    }
}

/// Where the provider was, and when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionView {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// When it was reported.
    pub at: String,
}

/// What a share link shows of a visit: no address, no customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SharedVisitView {
    /// `confirmed`, `on_the_way`, `arrived`, `in_progress`, `completed`, `cancelled` or `missed`.
    pub state: String,
    /// When the visit starts.
    pub start: String,
    /// When it should be over.
    pub end: String,
    /// The provider's arrival estimate, once they set off.
    pub eta: Option<String>,
    /// The provider's first name.
    pub provider_first_name: String,
    /// The neighbourhood of the address (never the address).
    pub neighbourhood: String,
    /// The provider's last position while on the way, at the door or in the visit; null otherwise.
    pub provider_position: Option<PositionView>,
    /// When the link stops working.
    pub expires_at: String,
}

impl From<&SharedVisit> for SharedVisitView {
    fn from(v: &SharedVisit) -> Self {
        SharedVisitView {
            state: v.state.as_str().to_owned(),
            start: rfc3339(v.starts_at),
            end: rfc3339(v.ends_at),
            eta: v.eta.map(rfc3339),
            provider_first_name: v.provider_first_name.clone(),
            neighbourhood: v.neighbourhood.clone(),
            provider_position: v.provider_position.map(|(p, at)| PositionView {
                lat: p.lat(),
                lng: p.lng(),
                at: rfc3339(at),
            }),
            expires_at: rfc3339(v.expires_at),
        }
    }
}

// ---- SOS

fn sos_note_schema() -> RefOr<Schema> {
    crate::schema::text(
        &SOS_NOTE,
        "Optional note, trimmed; line breaks allowed, other control and bidirectional characters not",
    )
}

/// `POST /v1/house-calls/bookings/{booking_id}/sos`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SosBody {
    /// What is happening, if there is time to say.
    #[schema(schema_with = sos_note_schema)]
    pub note: Option<String>,
}

/// An SOS alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SosAlertView {
    /// The alert.
    #[schema(format = Uuid)]
    pub alert_id: String,
    /// The visit.
    #[schema(format = Uuid)]
    pub booking_id: String,
    /// The provider who raised it.
    #[schema(format = Uuid)]
    pub provider_id: String,
    /// Their name (operators' view).
    pub provider_name: Option<String>,
    /// The visit's customer (operators' view).
    pub customer_id: Option<String>,
    /// The customer's name (operators' view).
    pub customer_name: Option<String>,
    /// The visit's address (operators' view).
    pub address: Option<String>,
    /// The visit's state now (operators' view).
    pub booking_state: Option<String>,
    /// When the visit starts (operators' view).
    pub booking_start: Option<String>,
    /// Where the provider was when they raised it, if the server knew.
    pub position: Option<PositionView>,
    /// Their note ("" when none).
    pub note: String,
    /// When it was raised.
    pub raised_at: String,
    /// The operator who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Their name.
    pub acknowledged_by_name: Option<String>,
    /// When.
    pub acknowledged_at: Option<String>,
}

impl From<&OperatorSosAlert> for SosAlertView {
    fn from(o: &OperatorSosAlert) -> Self {
        let a = &o.alert;
        SosAlertView {
            alert_id: a.id.to_string(),
            booking_id: a.booking.to_string(),
            provider_id: a.provider.to_string(),
            provider_name: o.provider_name.clone(),
            customer_id: o.booking.as_ref().map(|b| b.customer().to_string()),
            customer_name: o.customer_name.clone(),
            address: o.booking.as_ref().map(|b| b.record().address.clone()),
            booking_state: o.booking.as_ref().map(|b| b.state().as_str().to_owned()),
            booking_start: o.booking.as_ref().map(|b| rfc3339(b.starts_at())),
            position: a.position.map(|(p, at)| PositionView {
                lat: p.lat(),
                lng: p.lng(),
                at: rfc3339(at),
            }),
            note: a.note.clone(),
            raised_at: rfc3339(a.raised_at),
            acknowledged_by: a.acknowledged_by.map(|u| u.to_string()),
            acknowledged_by_name: o.acknowledged_by_name.clone(),
            acknowledged_at: a.acknowledged_at.map(rfc3339),
        }
    }
}

/// SOS alerts: every open one (oldest first), then the latest acknowledged ones.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SosAlertList {
    /// The alerts.
    pub alerts: Vec<SosAlertView>,
    /// How many are open.
    pub open: usize,
}
