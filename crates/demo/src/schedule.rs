//! When riders ask for rides, and from where to where: a Poisson stream that follows real demand.
//!
//! The city's demand table counts the trips of all the business days of 2018 by New York weekday
//! and 15-minute window. One window of one weekday therefore stands for about
//! [`WEEKS_OF_DATA`] real windows, and the arrival rate in it is
//! `trips_in_window / WEEKS_OF_DATA / 900 s × demand_scale`. The rate is constant inside a window
//! and changes at its edges; [`RiderSchedule`] draws a non-homogeneous Poisson stream over that
//! step function exactly, by inversion (an exponential amount of "expected arrivals" is spent
//! window by window).
//!
//! Weekends have no data: Saturday is given Friday's demand and Sunday Monday's
//! ([`demand_weekday`]). Friday is the busiest business day and its late evening resembles a
//! Saturday night; Monday is the quietest, the closest to a Sunday.

use doorstep_geo::{City, DemandTable, LocalTime, Utm, ZoneIdx, new_york_local, to_latlng};
use rand::Rng;
use rand_pcg::Pcg64;

use crate::seed::{Stream, agent_rng};

/// How often a point outside the service area is drawn again before it is used anyway.
const MAX_REDRAWS: usize = 16;

/// How many times each weekday occurs in the data (the business days of 2018, about 52 weeks).
pub const WEEKS_OF_DATA: f64 = 52.0;

/// Seconds in one demand window.
pub const WINDOW_SECS: f64 = 900.0;

/// The schedule gives up looking for the next request this far ahead (seconds): a demand scale of
/// zero would otherwise search forever.
const HORIZON_SECS: f64 = 8.0 * 86_400.0;

/// The weekday (0 = Monday .. 4 = Friday) whose demand stands in for `weekday` (0 = Monday ..
/// 6 = Sunday): business days are themselves, Saturday maps to Friday and Sunday to Monday.
pub fn demand_weekday(weekday: u8) -> u8 {
    LocalTime {
        weekday,
        seconds_of_day: 0,
    }
    .nearest_weekday()
}

/// The expected number of ride requests per simulated second at New York local time `local`, at
/// `demand_scale` times the real demand.
pub fn arrival_rate_per_sec(demand: &DemandTable, local: LocalTime, demand_scale: f64) -> f64 {
    let trips = demand.trips_in_window(demand_weekday(local.weekday), local.window());
    f64::from(trips) / WEEKS_OF_DATA / WINDOW_SECS * demand_scale.max(0.0)
}

/// One ride request of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledRequest {
    /// Position in the schedule, from 0; also the index of the rider's random stream.
    pub index: u64,
    /// When the rider asks, in simulated Unix seconds.
    pub at_unix: f64,
    /// The zone the ride starts in.
    pub pickup_zone: ZoneIdx,
    /// The zone the ride ends in.
    pub dropoff_zone: ZoneIdx,
    /// Where the rider waits: a uniform random point of the pickup zone (inside the service area).
    pub pickup: Utm,
    /// Where the rider goes: a uniform random point of the drop-off zone (inside the service area).
    pub dropoff: Utm,
}

/// The ride requests of a demo, in time order: an endless iterator that is pure given its inputs
/// (the same city, start, scale and seed always give the same requests).
///
/// It ends only when no request falls within eight days, which happens when the demand scale is
/// zero.
#[derive(Debug)]
pub struct RiderSchedule<'a> {
    city: &'a City,
    demand_scale: f64,
    rng: Pcg64,
    now: f64,
    next_index: u64,
}

impl<'a> RiderSchedule<'a> {
    /// The schedule of requests after `start_unix` (simulated Unix seconds) at `demand_scale`
    /// times the real demand, drawn from the schedule stream of `seed`.
    pub fn new(city: &'a City, start_unix: f64, demand_scale: f64, seed: u64) -> Self {
        RiderSchedule {
            city,
            demand_scale,
            rng: agent_rng(seed, Stream::Schedule, 0),
            now: start_unix,
            next_index: 0,
        }
    }

    /// The time of the next arrival after `self.now`, or `None` if there is none within the
    /// horizon. Spends an Exp(1) amount of expected arrivals over the windows ahead.
    fn next_arrival(&mut self) -> Option<f64> {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let mut budget = -(1.0 - self.rng.random::<f64>()).ln();
        let limit = self.now + HORIZON_SECS;
        let mut t = self.now;
        while t < limit {
            let whole = t.floor();
            let local = new_york_local(whole as i64);
            let into_window = f64::from(local.seconds_of_day) % WINDOW_SECS + (t - whole);
            let left = (WINDOW_SECS - into_window).max(f64::EPSILON);
            let rate = arrival_rate_per_sec(self.city.demand(), local, self.demand_scale);
            let expected = rate * left;
            if rate > 0.0 && budget <= expected {
                return Some(t + budget / rate);
            }
            budget -= expected;
            t += left;
        }
        None
    }
}

impl RiderSchedule<'_> {
    /// A uniform random point of `zone` that the city serves, outside the demo's sandbox. Points are
    /// drawn in the zone's convex hull, so a few fall in the river next to a concave zone: those (and
    /// those in the sandbox) are drawn again.
    fn point_in(&mut self, zone: ZoneIdx) -> Option<Utm> {
        let mut point = self.city.random_point_in_zone(zone, &mut self.rng);
        for _ in 0..MAX_REDRAWS {
            if !crate::sandbox::contains(point) && self.city.covers(to_latlng(point)) {
                return Some(point);
            }
            point = self.city.random_point_in_zone(zone, &mut self.rng);
        }
        // A zone mostly inside the sandbox: no request this time. (The last draw of a concave zone
        // may be in the river, as before: the server refuses it and the rider counts the failure.)
        (!crate::sandbox::contains(point)).then_some(point)
    }
}

impl Iterator for RiderSchedule<'_> {
    type Item = ScheduledRequest;

    fn next(&mut self) -> Option<ScheduledRequest> {
        if self.demand_scale <= 0.0 || !self.demand_scale.is_finite() {
            return None;
        }
        loop {
            let at = self.next_arrival()?;
            self.now = at;
            let local = new_york_local(at.floor() as i64);
            let demand = self.city.demand();
            let weekday = demand_weekday(local.weekday);
            // An arrival only lands in a window with trips, so sampling cannot fail; check anyway
            // rather than let the table's assertion fire.
            if demand.trips_in_window(weekday, local.window()) == 0 {
                return None;
            }
            let (pickup_zone, dropoff_zone) =
                demand.sample_pair(weekday, local.window(), &mut self.rng);
            let (Some(pickup), Some(dropoff)) =
                (self.point_in(pickup_zone), self.point_in(dropoff_zone))
            else {
                continue;
            };
            let index = self.next_index;
            self.next_index += 1;
            return Some(ScheduledRequest {
                index,
                at_unix: at,
                pickup_zone,
                dropoff_zone,
                pickup,
                dropoff,
            });
        }
    }
}
