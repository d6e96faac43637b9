//! What the operations console reads of house calls: a day's bookings across providers (with the names
//! an operator reads and a late flag) and the day's summary — bookings by state, providers by approval
//! and working that day, and each provider's utilisation (booked on-site minutes over working minutes)
//! with the minutes of driving the day's visits take. Operators only; the console acts through the
//! audited endpoints that exist (the vetting of providers, SOS acknowledgement).
//!
//! Travel is the city's model (`CityTravel`, what availability prices slots with): from the home base
//! through the day's visits in order of start and back, each leg at its time of day. A provider who goes
//! home between two working intervals is counted as driving on to the next visit instead: an estimate
//! for the console, not a route.

use crate::dispatcher::{CityPlace, CityTravel};
use crate::{App, AppError};
use doorstep_dispatch::route::TravelTime;
use doorstep_domain::food::hours::local_instant;
use doorstep_domain::housecall::booking::LATE_GRACE_S;
use doorstep_domain::housecall::{Booking, BookingState};
use doorstep_domain::onboarding::{Approval, CalendarDate};
use doorstep_domain::{Role, Timestamp, User, UserId};
use std::collections::{BTreeMap, HashMap};

/// The most bookings one day's list holds.
pub const DAY_BOOKING_LIMIT: i64 = 2000;

/// A booking as the console's day shows it: the booking with the names an operator reads.
#[derive(Debug, Clone)]
pub struct OperatorBooking {
    /// The booking.
    pub booking: Booking,
    /// Its customer's name, if the account exists.
    pub customer_name: Option<String>,
    /// Its provider's name.
    pub provider_name: Option<String>,
    /// Whether it is late now ([`is_late`]).
    pub late: bool,
}

/// Which bookings of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayFilter {
    /// The local date (New York).
    pub date: CalendarDate,
    /// Only this provider's.
    pub provider: Option<UserId>,
    /// Only those in this state.
    pub state: Option<BookingState>,
}

/// Providers by approval, and those working on the day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderCounts {
    /// Approved with working hours on the day (not all time off).
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

/// One provider's day: working time, booked time and driving between visits.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDay {
    /// The provider.
    pub provider: UserId,
    /// Their name.
    pub name: String,
    /// Their approval.
    pub approval: Approval,
    /// Their working intervals on the day (weekly hours minus time off).
    pub intervals: Vec<(Timestamp, Timestamp)>,
    /// Minutes of working time.
    pub working_min: u32,
    /// Minutes on site: the visits that are not cancelled or missed, appointment and buffer.
    pub booked_min: u32,
    /// Minutes driving from home through the visits and back, by the city's travel times.
    pub travel_min: u32,
    /// Visits not cancelled or missed.
    pub visits: u32,
}

impl ProviderDay {
    /// Booked minutes over working minutes, basis points (`None` without working time).
    pub fn utilisation_bps(&self) -> Option<u32> {
        (self.working_min > 0).then(|| {
            u32::try_from(u64::from(self.booked_min) * 10_000 / u64::from(self.working_min))
                .unwrap_or(u32::MAX)
        })
    }
}

/// The console's house-call summary of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseCallSummary {
    /// The local date.
    pub date: CalendarDate,
    /// Its first instant.
    pub from: Timestamp,
    /// The first instant of the next day.
    pub to: Timestamp,
    /// The day's bookings by state, every state (zero included).
    pub by_state: Vec<(BookingState, i64)>,
    /// Bookings late now.
    pub late: u32,
    /// Providers by approval and working.
    pub providers: ProviderCounts,
    /// Every provider working that day or with a visit, by name.
    pub days: Vec<ProviderDay>,
    /// SOS alerts not yet acknowledged (any day).
    pub open_sos: i64,
}

/// Whether `booking` is late at `now`: the provider is not at the door yet and their estimate, or the
/// clock, is past the start and its grace ([`LATE_GRACE_S`]).
pub fn is_late(booking: &Booking, now: Timestamp) -> bool {
    let due = booking.starts_at().plus_secs(LATE_GRACE_S);
    match booking.state() {
        BookingState::Confirmed | BookingState::OnTheWay => {
            now > due || booking.record().eta.is_some_and(|eta| eta > due)
        }
        BookingState::Arrived
        | BookingState::InProgress
        | BookingState::Completed
        | BookingState::Cancelled
        | BookingState::Missed => false,
    }
}

/// Whether the booking still takes the provider's time (not cancelled, not missed).
fn takes_time(booking: &Booking) -> bool {
    !matches!(
        booking.state(),
        BookingState::Cancelled | BookingState::Missed
    )
}

fn minutes(from: Timestamp, to: Timestamp) -> u32 {
    u32::try_from(to.secs_since(from).max(0) / 60).unwrap_or(u32::MAX)
}

fn secs(t: Timestamp) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "Unix seconds of this era")]
    let s = t.unix_secs() as f64;
    s
}

/// The start and end instants of a local date.
pub fn day_bounds(date: CalendarDate) -> (Timestamp, Timestamp) {
    (local_instant(date, 0), local_instant(date, 24 * 60))
}

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins can do this"))
    }
}

impl App {
    /// A day's bookings matching `filter`, by start, with their names (operators).
    pub async fn admin_day_bookings(
        &self,
        admin: &User,
        filter: DayFilter,
    ) -> Result<Vec<OperatorBooking>, AppError> {
        require_admin(admin)?;
        let (from, to) = day_bounds(filter.date);
        let bookings = self
            .store()
            .bookings_between(from, to, filter.provider, DAY_BOOKING_LIMIT)
            .await?;
        let now = self.clock().now();
        let mut names: HashMap<UserId, Option<String>> = HashMap::new();
        let mut out = Vec::with_capacity(bookings.len());
        for booking in bookings {
            if filter.state.is_some_and(|s| s != booking.state()) {
                continue;
            }
            out.push(OperatorBooking {
                customer_name: self.hc_name(&mut names, booking.customer()).await?,
                provider_name: self.hc_name(&mut names, booking.provider()).await?,
                late: is_late(&booking, now),
                booking,
            });
        }
        Ok(out)
    }

    async fn hc_name(
        &self,
        names: &mut HashMap<UserId, Option<String>>,
        id: UserId,
    ) -> Result<Option<String>, AppError> {
        if let Some(known) = names.get(&id) {
            return Ok(known.clone());
        }
        let name = self.store().user_by_id(id).await?.map(|u| u.name);
        names.insert(id, name.clone());
        Ok(name)
    }

    /// The day's summary (operators): bookings by state, late ones, providers by approval and working,
    /// each provider's utilisation and driving, open SOS alerts.
    pub async fn house_call_summary(
        &self,
        admin: &User,
        date: CalendarDate,
    ) -> Result<HouseCallSummary, AppError> {
        require_admin(admin)?;
        let (from, to) = day_bounds(date);
        let now = self.clock().now();
        let bookings = self
            .store()
            .bookings_between(from, to, None, DAY_BOOKING_LIMIT)
            .await?;
        let mut by_state: Vec<(BookingState, i64)> =
            BookingState::ALL.iter().map(|s| (*s, 0)).collect();
        let mut late = 0;
        let mut by_provider: BTreeMap<UserId, Vec<&Booking>> = BTreeMap::new();
        for b in &bookings {
            if let Some(slot) = by_state.iter_mut().find(|(s, _)| *s == b.state()) {
                slot.1 += 1;
            }
            late += u32::from(is_late(b, now));
            if takes_time(b) {
                by_provider.entry(b.provider()).or_default().push(b);
            }
        }
        let travel = CityTravel::new(self.city());
        let mut counts = ProviderCounts::default();
        let mut names: HashMap<UserId, Option<String>> = HashMap::new();
        let mut days = Vec::new();
        for (profile, _) in self.store().all_providers().await? {
            let intervals = if profile.approval == Approval::Approved {
                profile.working_intervals(date)
            } else {
                Vec::new()
            };
            match profile.approval {
                Approval::Approved => counts.approved += 1,
                Approval::Pending => counts.pending += 1,
                Approval::Rejected => counts.rejected += 1,
                Approval::Suspended => counts.suspended += 1,
            }
            counts.working += u32::from(!intervals.is_empty());
            let visits = by_provider.remove(&profile.user).unwrap_or_default();
            if intervals.is_empty() && visits.is_empty() {
                continue;
            }
            let mut travel_s = 0.0;
            let mut at = CityPlace::of(profile.home);
            for v in &visits {
                let to = CityPlace::of(v.place());
                travel_s += travel
                    .travel_secs(&at, &to, secs(v.starts_at()))
                    .unwrap_or(0.0);
                at = to;
            }
            if let Some(last) = visits.last() {
                travel_s += travel
                    .travel_secs(&at, &CityPlace::of(profile.home), secs(last.ends_at()))
                    .unwrap_or(0.0);
            }
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "minutes of one day, non-negative"
            )]
            let travel_min = (travel_s / 60.0).round() as u32;
            days.push(ProviderDay {
                provider: profile.user,
                name: self
                    .hc_name(&mut names, profile.user)
                    .await?
                    .unwrap_or_default(),
                approval: profile.approval,
                working_min: intervals.iter().map(|(a, b)| minutes(*a, *b)).sum(),
                booked_min: visits
                    .iter()
                    .map(|v| minutes(v.starts_at(), v.ends_at()))
                    .sum(),
                travel_min,
                visits: u32::try_from(visits.len()).unwrap_or(u32::MAX),
                intervals,
            });
        }
        days.sort_by(|a, b| a.name.cmp(&b.name).then(a.provider.cmp(&b.provider)));
        Ok(HouseCallSummary {
            date,
            from,
            to,
            by_state,
            late,
            providers: counts,
            days,
            open_sos: self.store().open_sos_alerts().await?,
        })
    }
}
