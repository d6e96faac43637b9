//! Whether a visit fits a provider's working day: the house-call scheduler's availability check.
//!
//! A working interval is a route: the provider leaves `home` when it starts, serves the booked visits —
//! each a stop whose window is its start and whose service time runs to its end — and is back home by
//! the interval's end. A new visit at `start` fits if [`best_insertion`] places a stop with window
//! `[start, start]` in that route with the caller's travel times, keeping every booked visit on time and
//! the way home within the interval. The route's last stop is the home base as a place nothing can be
//! driven from, so a visit is never put after the provider went home. The live server
//! (`doorstep_app::housecalls`) and `doorstep bench housecalls` call this same function.

use crate::route::{Route, RouteStop, TravelTime, Window, best_insertion};

/// A visit already on the day (a booking or a hold), times in seconds on the caller's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Visit<P> {
    /// Where.
    pub place: P,
    /// When it starts.
    pub start: f64,
    /// When the provider may leave (the appointment and its buffer).
    pub end: f64,
}

/// One working interval with the visits in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval<P> {
    /// When the provider leaves home.
    pub from: f64,
    /// When the provider is back home at the latest.
    pub to: f64,
    /// The visits in it, in any order.
    pub visits: Vec<Visit<P>>,
}

/// A provider's working day.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkDay<P> {
    /// Where each interval starts and ends.
    pub home: P,
    /// The working intervals.
    pub intervals: Vec<Interval<P>>,
    /// The most visits in the day.
    pub cap: u32,
    /// Visits already in the day.
    pub visits: u32,
}

/// A place of the day: a point, or the home base at the end of the interval.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DayPlace<P> {
    place: P,
    home_end: bool,
}

/// The caller's travel times, with no way out of the final home stop.
struct DayTravel<'a, T>(&'a T);

impl<T: TravelTime> TravelTime for DayTravel<'_, T> {
    type Place = DayPlace<T::Place>;

    fn travel_secs(&self, from: &Self::Place, to: &Self::Place, depart: f64) -> Option<f64> {
        if from.home_end {
            return None;
        }
        self.0.travel_secs(&from.place, &to.place, depart)
    }
}

/// The seconds a visit at `place` starting at `start` and staying `on_site` adds to the day (driving and
/// waiting), or `None` if it does not fit: over the cap, outside every interval, or no feasible insertion.
pub fn fits<T: TravelTime>(
    day: &WorkDay<T::Place>,
    travel: &T,
    place: T::Place,
    start: f64,
    on_site: f64,
) -> Option<f64> {
    if day.visits >= day.cap {
        return None;
    }
    let end = start + on_site;
    let interval = day
        .intervals
        .iter()
        .find(|i| i.from <= start && end <= i.to)?;
    let point = |place| DayPlace {
        place,
        home_end: false,
    };
    let mut stops: Vec<RouteStop<usize, DayPlace<T::Place>>> = interval
        .visits
        .iter()
        .enumerate()
        .map(|(i, v)| RouteStop {
            job: i,
            place: point(v.place),
            window: Window {
                earliest: v.start,
                latest: v.start,
            },
            service_secs: (v.end - v.start).max(0.0),
            load: 0,
        })
        .collect();
    stops.sort_by(|a, b| a.window.earliest.total_cmp(&b.window.earliest));
    stops.push(RouteStop {
        job: usize::MAX,
        place: DayPlace {
            place: day.home,
            home_end: true,
        },
        window: Window {
            earliest: f64::NEG_INFINITY,
            latest: interval.to,
        },
        service_secs: 0.0,
        load: 0,
    });
    let route = Route {
        start: point(day.home),
        start_at: interval.from,
        start_load: 0,
        capacity: 0,
        stops,
    };
    let visit = [RouteStop {
        job: usize::MAX - 1,
        place: point(place),
        window: Window {
            earliest: start,
            latest: start,
        },
        service_secs: on_site,
        load: 0,
    }];
    best_insertion(&route, &visit, &DayTravel(travel)).map(|i| i.added_secs)
}

/// Whether some interval of the day holds a visit from `start` for `on_site` seconds (working hours).
pub fn within_hours<P>(day: &WorkDay<P>, start: f64, on_site: f64) -> bool {
    day.intervals
        .iter()
        .any(|i| i.from <= start && start + on_site <= i.to)
}
