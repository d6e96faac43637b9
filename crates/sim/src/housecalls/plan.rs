//! The booked visits of a week, by day and provider, and the walk of a provider's day with the real
//! (time-dependent) travel times that says when each visit really starts.

use doorstep_dispatch::TravelTime;
use doorstep_dispatch::calendar::{Interval, Visit, WorkDay};

use super::travel::Spot;
use super::week::Week;

/// One booked visit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Booking {
    /// The request it answers.
    pub request: u32,
    /// Who comes (re-optimisation may change it for "any provider" bookings).
    pub provider: u32,
    /// The day of the week.
    pub day: u32,
    /// The promised start, Unix seconds (never changes).
    pub start: f64,
    /// Time on site, seconds.
    pub on_site: f64,
    /// Where.
    pub place: Spot,
    /// Whether the customer chose this provider (then it never changes).
    pub pinned: bool,
    /// Index into `SERVICES`.
    pub service: usize,
}

/// The visits booked so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    providers: usize,
    days: u32,
    /// Every booking, in the order made.
    pub bookings: Vec<Booking>,
    /// Per `day × providers + provider`, the indices of its bookings in order of start.
    calendar: Vec<Vec<usize>>,
}

impl Plan {
    /// An empty plan of `providers` over `days`.
    pub fn new(providers: usize, days: u32) -> Plan {
        Plan {
            providers,
            days,
            bookings: Vec::new(),
            calendar: vec![Vec::new(); providers * days as usize],
        }
    }

    /// The providers.
    pub fn providers(&self) -> usize {
        self.providers
    }

    /// The days.
    pub fn days(&self) -> u32 {
        self.days
    }

    fn slot(&self, day: u32, provider: u32) -> usize {
        day as usize * self.providers + provider as usize
    }

    /// A provider's bookings on a day (indices into [`Plan::bookings`]), in order of start.
    pub fn day(&self, day: u32, provider: u32) -> &[usize] {
        &self.calendar[self.slot(day, provider)]
    }

    /// Books `booking`.
    pub fn add(&mut self, booking: Booking) {
        let i = self.bookings.len();
        self.bookings.push(booking);
        let slot = self.slot(booking.day, booking.provider);
        let starts: Vec<f64> = self.calendar[slot]
            .iter()
            .map(|&j| self.bookings[j].start)
            .collect();
        let at = starts.partition_point(|&s| s <= booking.start);
        self.calendar[slot].insert(at, i);
    }

    /// Gives day `day` a new assignment: `routes[p]` the bookings provider `p` serves. The caller has
    /// checked it (every booking of the day once).
    pub fn reassign(&mut self, day: u32, routes: &[Vec<usize>]) {
        for (p, route) in routes.iter().enumerate() {
            let mut route = route.clone();
            route.sort_by(|&a, &b| self.bookings[a].start.total_cmp(&self.bookings[b].start));
            for &b in &route {
                self.bookings[b].provider = u32::try_from(p).unwrap_or(u32::MAX);
            }
            let slot = day as usize * self.providers + p;
            self.calendar[slot] = route;
        }
    }

    /// The provider's day as the server's availability check sees it: one working interval from home,
    /// with its booked visits.
    pub fn work_day(&self, week: &Week, day: u32, provider: u32) -> WorkDay<Spot> {
        let (from, to) = week.hours(day);
        let mine = self.day(day, provider);
        WorkDay {
            home: week.providers[provider as usize].home,
            intervals: vec![Interval {
                from,
                to,
                visits: mine
                    .iter()
                    .map(|&b| {
                        let b = &self.bookings[b];
                        Visit {
                            place: b.place,
                            start: b.start,
                            end: b.start + b.on_site,
                        }
                    })
                    .collect(),
            }],
            cap: week.config.daily_cap,
            visits: u32::try_from(mine.len()).unwrap_or(u32::MAX),
        }
    }
}

/// What a provider's day was like, driven with the real travel times.
#[derive(Debug, Clone, PartialEq)]
pub struct DayWalk {
    /// Seconds driven (home, the visits in order, home).
    pub driving_secs: f64,
    /// Per visit (in the order walked), when service really started: the promised start, or the arrival if
    /// later.
    pub started: Vec<f64>,
    /// Per visit, seconds arrived after the promised start (0 when on time).
    pub late_secs: Vec<f64>,
    /// When the provider was back home.
    pub home_at: f64,
}

/// Drives a provider's day: leaves `home` at `leave`, then for each visit in the order given drives there
/// (leaving when the previous visit ended), waits for its start if early, and stays its time on site (from
/// the arrival, if late: a late visit pushes the next ones), then drives home. `None` if a drive is
/// impossible.
pub fn walk_day<T: TravelTime<Place = Spot>>(
    travel: &T,
    home: Spot,
    leave: f64,
    visits: &[(Spot, f64, f64)],
) -> Option<DayWalk> {
    let mut walk = DayWalk {
        driving_secs: 0.0,
        started: Vec::with_capacity(visits.len()),
        late_secs: Vec::with_capacity(visits.len()),
        home_at: leave,
    };
    if visits.is_empty() {
        return Some(walk);
    }
    let (mut at, mut t) = (home, leave);
    for &(place, start, on_site) in visits {
        let drive = travel.travel_secs(&at, &place, t)?;
        walk.driving_secs += drive;
        let arrival = t + drive;
        walk.late_secs.push((arrival - start).max(0.0));
        let begins = arrival.max(start);
        walk.started.push(begins);
        t = begins + on_site;
        at = place;
    }
    let drive = travel.travel_secs(&at, &home, t)?;
    walk.driving_secs += drive;
    walk.home_at = t + drive;
    Some(walk)
}

/// The visits of a provider's day for [`walk_day`]: `(place, start, on site)` in the order of `bookings`.
pub fn legs(plan: &Plan, bookings: &[usize]) -> Vec<(Spot, f64, f64)> {
    bookings
        .iter()
        .map(|&b| {
            let b = &plan.bookings[b];
            (b.place, b.start, b.on_site)
        })
        .collect()
}
