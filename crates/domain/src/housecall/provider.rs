//! A house-call provider's profile: what they offer, where, from which home base, and when they work.
//!
//! A provider's working day is their weekly hours on the city's wall clock (ranges within one day; a
//! range past midnight is refused) minus their time off. Each working interval is a route of its own: the
//! provider leaves the home base when it starts and is back by its end, so travel to the first visit and
//! home from the last counts as working time (docs/house-calls.md).

use crate::food::hours::{OpeningRange, WeeklyHours, local_instant, weekday};
use crate::ids::{ServiceId, UserId};
use crate::onboarding::{Approval, CalendarDate, Document, DocumentKind};
use crate::text::{self, TextRule};
use crate::time::Timestamp;
use doorstep_geo::{LatLng, haversine_km};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The smallest service area's radius around the home base, metres.
pub const MIN_AREA_M: u32 = 500;
/// The largest service area's radius, metres.
pub const MAX_AREA_M: u32 = 30_000;
/// The most visits a provider may take in a day.
pub const MAX_DAILY_CAP: u32 = 16;
/// The most periods of time off kept at once.
pub const MAX_TIME_OFF: usize = 50;
/// The longest period of time off, seconds (90 days).
pub const MAX_TIME_OFF_SECS: i64 = 90 * 86_400;
/// A provider's bio: up to 500 characters.
pub const BIO: TextRule = TextRule {
    min_chars: 0,
    max_chars: 500,
    needs_visible: false,
    ..text::DISPLAY_NAME
};

/// A period the provider does not work, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOff {
    /// The first instant off.
    pub from: Timestamp,
    /// The first instant back.
    pub to: Timestamp,
}

/// A provider's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderProfile {
    /// The provider's account.
    pub user: UserId,
    /// What customers read about them.
    pub bio: String,
    /// Where each working interval starts and ends.
    pub home: LatLng,
    /// The radius around `home` they serve, metres.
    pub area_m: u32,
    /// The most visits they take in a day.
    pub daily_cap: u32,
    /// The services they offer.
    pub services: BTreeSet<ServiceId>,
    /// When they work, by weekday.
    pub hours: WeeklyHours,
    /// When they do not, although the weekly hours say they do.
    pub time_off: Vec<TimeOff>,
    /// Whether an operator approved them.
    pub approval: Approval,
}

/// What a provider writes of their profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDraft {
    /// Bio.
    pub bio: String,
    /// Home base.
    pub home: LatLng,
    /// Service area's radius, metres.
    pub area_m: u32,
    /// Visits a day at most.
    pub daily_cap: u32,
    /// Services offered.
    pub services: BTreeSet<ServiceId>,
    /// Weekly hours.
    pub hours: WeeklyHours,
}

/// Why a profile or a period of time off was refused, or why a provider cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The bio breaks its rule.
    #[error("bio: {0}")]
    Bio(String),
    /// The service area is out of range.
    #[error("area_m: {MIN_AREA_M} to {MAX_AREA_M}")]
    Area,
    /// The daily cap is out of range.
    #[error("daily_cap: 1 to {MAX_DAILY_CAP}")]
    DailyCap,
    /// A range of the weekly hours runs past midnight.
    #[error("hours: a working range must end on its own day (weekday {0})")]
    PastMidnight(usize),
    /// Time off that ends before it starts, or lasts too long.
    #[error("time off must end after it starts and last at most 90 days")]
    TimeOff,
    /// Too many periods of time off.
    #[error("at most {MAX_TIME_OFF} periods of time off")]
    TooMuchTimeOff,
}

/// Why a provider cannot take new bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotBookable {
    /// Not approved (pending, rejected or suspended).
    NotApproved(Approval),
    /// A document has expired.
    DocumentExpired(DocumentKind),
}

impl ProviderDraft {
    /// Checks the draft; the profile keeps `user`, `approval` and `time_off` from `current` (a new
    /// provider is pending with no time off).
    pub fn into_profile(
        self,
        user: UserId,
        current: Option<&ProviderProfile>,
    ) -> Result<ProviderProfile, ProviderError> {
        let bio = BIO
            .check(&self.bio)
            .map_err(|e| ProviderError::Bio(e.to_string()))?
            .to_owned();
        if !(MIN_AREA_M..=MAX_AREA_M).contains(&self.area_m) {
            return Err(ProviderError::Area);
        }
        if !(1..=MAX_DAILY_CAP).contains(&self.daily_cap) {
            return Err(ProviderError::DailyCap);
        }
        if let Some(day) = self
            .hours
            .days()
            .iter()
            .position(|ranges| ranges.iter().any(|r| r.spans_midnight()))
        {
            return Err(ProviderError::PastMidnight(day));
        }
        Ok(ProviderProfile {
            user,
            bio,
            home: self.home,
            area_m: self.area_m,
            daily_cap: self.daily_cap,
            services: self.services,
            hours: self.hours,
            time_off: current.map(|c| c.time_off.clone()).unwrap_or_default(),
            approval: current.map_or(Approval::Pending, |c| c.approval),
        })
    }
}

impl TimeOff {
    /// A period `[from, to)`, checked.
    pub fn new(from: Timestamp, to: Timestamp) -> Result<TimeOff, ProviderError> {
        if to <= from || to.secs_since(from) > MAX_TIME_OFF_SECS {
            return Err(ProviderError::TimeOff);
        }
        Ok(TimeOff { from, to })
    }
}

impl ProviderProfile {
    /// Whether `place` is inside the service area.
    pub fn covers(&self, place: LatLng) -> bool {
        haversine_km(self.home, place) * 1000.0 <= f64::from(self.area_m)
    }

    /// Whether they offer `service`.
    pub fn offers(&self, service: ServiceId) -> bool {
        self.services.contains(&service)
    }

    /// Adds a period of time off, keeping at most [`MAX_TIME_OFF`] (past periods are dropped first).
    pub fn add_time_off(&mut self, off: TimeOff, now: Timestamp) -> Result<(), ProviderError> {
        self.time_off.retain(|t| t.to > now);
        if self.time_off.len() >= MAX_TIME_OFF {
            return Err(ProviderError::TooMuchTimeOff);
        }
        self.time_off.push(off);
        self.time_off.sort_by_key(|t| (t.from, t.to));
        Ok(())
    }

    /// Whether they may take new bookings on `today` with these documents.
    pub fn bookable(&self, documents: &[Document], today: CalendarDate) -> Result<(), NotBookable> {
        if self.approval != Approval::Approved {
            return Err(NotBookable::NotApproved(self.approval));
        }
        match documents.iter().find(|d| d.is_expired(today)) {
            Some(d) => Err(NotBookable::DocumentExpired(d.kind)),
            None => Ok(()),
        }
    }

    /// The intervals they work on `date` (the city's wall clock), as instants: the weekday's ranges
    /// minus time off, in order, none empty.
    pub fn working_intervals(&self, date: CalendarDate) -> Vec<(Timestamp, Timestamp)> {
        let ranges: &[OpeningRange] = self.hours.day(weekday(date));
        let mut out = Vec::new();
        for range in ranges {
            let start = local_instant(date, u32::from(range.open().minutes()));
            let end = local_instant(date, u32::from(range.end_minute()));
            let mut pieces = vec![(start, end)];
            for off in &self.time_off {
                pieces = pieces
                    .into_iter()
                    .flat_map(|(a, b)| {
                        if off.to <= a || off.from >= b {
                            vec![(a, b)]
                        } else {
                            [(a, off.from.min(b)), (off.to.max(a), b)]
                                .into_iter()
                                .filter(|(x, y)| x < y)
                                .collect()
                        }
                    })
                    .collect();
            }
            out.extend(pieces);
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::food::hours::OpeningRange;

    fn profile() -> ProviderProfile {
        let day = vec![OpeningRange::parse("09:00", "17:00").expect("range")];
        ProviderDraft {
            bio: String::new(),
            home: LatLng::new(40.7536, -73.9832).expect("point"),
            area_m: 2000,
            daily_cap: 4,
            services: BTreeSet::new(),
            hours: WeeklyHours::every_day(&day).expect("hours"),
        }
        .into_profile(UserId::from_uuid(uuid::Uuid::nil()), None)
        .expect("profile")
    }

    fn at(iso_utc_hour: (i64, i64)) -> Timestamp {
        // Days since the epoch and hour (UTC).
        Timestamp::from_millis((iso_utc_hour.0 * 86_400 + iso_utc_hour.1 * 3600) * 1000)
    }

    #[test]
    fn a_working_day_is_the_weekly_range_on_the_wall_clock_minus_time_off() {
        let mut p = profile();
        assert_eq!(p.approval, Approval::Pending);
        // 2026-11-26 (EST, UTC-5): 09:00-17:00 local is 14:00-22:00 UTC.
        let date = CalendarDate::parse("2026-11-26").expect("date");
        let d = date.days();
        assert_eq!(p.working_intervals(date), vec![(at((d, 14)), at((d, 22)))]);
        // 2026-07-01 (EDT, UTC-4): 13:00-21:00 UTC.
        let summer = CalendarDate::parse("2026-07-01").expect("date");
        let s = summer.days();
        assert_eq!(
            p.working_intervals(summer),
            vec![(at((s, 13)), at((s, 21)))]
        );
        // Time off from 12:00 to 13:00 local splits the day; time off covering it all removes it.
        let off = TimeOff::new(at((d, 17)), at((d, 18))).expect("time off");
        p.add_time_off(off, at((d, 0))).expect("added");
        assert_eq!(
            p.working_intervals(date),
            vec![(at((d, 14)), at((d, 17))), (at((d, 18)), at((d, 22)))]
        );
        let all = TimeOff::new(at((d, 10)), at((d + 1, 0))).expect("time off");
        p.add_time_off(all, at((d, 0))).expect("added");
        assert_eq!(p.working_intervals(date), vec![]);
    }

    #[test]
    fn a_profile_refuses_ranges_past_midnight_and_bounds_and_the_area_is_a_radius() {
        let p = profile();
        assert!(p.covers(LatLng::new(40.7580, -73.9855).expect("Times Square")));
        assert!(!p.covers(LatLng::new(40.7794, -73.9632).expect("the Met")));
        let late = vec![OpeningRange::parse("20:00", "02:00").expect("range")];
        let draft = ProviderDraft {
            bio: String::new(),
            home: p.home,
            area_m: 2000,
            daily_cap: 4,
            services: BTreeSet::new(),
            hours: WeeklyHours::every_day(&late).expect("hours"),
        };
        assert_eq!(
            draft.clone().into_profile(p.user, None),
            Err(ProviderError::PastMidnight(0))
        );
        let hours = p.hours.clone();
        for (area_m, cap, err) in [
            (100, 4, ProviderError::Area),
            (2000, 0, ProviderError::DailyCap),
            (2000, 17, ProviderError::DailyCap),
        ] {
            let d = ProviderDraft {
                area_m,
                daily_cap: cap,
                hours: hours.clone(),
                ..draft.clone()
            };
            assert_eq!(d.into_profile(p.user, None), Err(err));
        }
        assert_eq!(
            TimeOff::new(at((1, 2)), at((1, 1))),
            Err(ProviderError::TimeOff)
        );
    }
}
