//! When customers order food, and where to: a Poisson stream whose rate follows the meal times.
//!
//! The taxi data says where people are, not when they eat: the rate of food orders follows
//! [`MEAL_CURVE`], a share of the peak rate for each hour of the New York day (a lunch peak at
//! 12:00–13:00, the dinner peak at 19:00–20:00, quiet small hours), times
//! [`FoodSchedule::peak_per_hour`]. Where an order goes is drawn from the demand data of its 15-minute
//! window: the drop-off zone of a sampled taxi trip (people at home, at work, at the hotel), then a
//! uniform point of that zone that some restaurant delivers to. The stream is drawn exactly over the
//! hourly step function by inversion, as the riders' schedule is.

use doorstep_geo::{City, Utm, ZoneIdx, new_york_local, to_latlng};
use rand::Rng;
use rand_pcg::Pcg64;

use crate::schedule::demand_weekday;
use crate::seed::{Stream, agent_rng};

/// The share of the peak order rate in each hour of the day, 00:00 first.
pub const MEAL_CURVE: [f64; 24] = [
    0.15, 0.10, 0.06, 0.03, 0.02, 0.02, 0.04, 0.08, 0.12, 0.12, 0.18, 0.45, //
    0.80, 0.70, 0.30, 0.20, 0.22, 0.40, 0.75, 1.00, 0.85, 0.55, 0.35, 0.22,
];

/// How often a drop-off point no restaurant delivers to is drawn again before the order is skipped.
const MAX_REDRAWS: usize = 24;
/// Arrivals skipped in a row (no restaurant reaches the points drawn) before the schedule ends.
const MAX_SKIPPED: usize = 1000;
/// The schedule gives up looking for the next order this far ahead (seconds).
const HORIZON_SECS: f64 = 8.0 * 86_400.0;

/// A restaurant as the schedule sees it: where it is and how far it delivers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    /// Its pickup point.
    pub site: Utm,
    /// Its delivery radius, km.
    pub radius_km: f64,
}

impl Reach {
    fn covers(&self, p: Utm) -> bool {
        (p.x - self.site.x).hypot(p.y - self.site.y) <= self.radius_km
    }
}

/// The expected food orders per simulated second at New York seconds of day `seconds_of_day`.
pub fn order_rate_per_sec(peak_per_hour: f64, seconds_of_day: u32) -> f64 {
    let hour = (seconds_of_day / 3600).min(23) as usize;
    peak_per_hour.max(0.0) * MEAL_CURVE[hour] / 3600.0
}

/// One food order of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledOrder {
    /// Position in the schedule, from 0; also the index of the customer's random stream.
    pub index: u64,
    /// When the customer orders, simulated Unix seconds.
    pub at_unix: f64,
    /// The zone the food goes to.
    pub dropoff_zone: ZoneIdx,
    /// Where the food goes: in the service area, outside the sandbox, within some restaurant's radius.
    pub dropoff: Utm,
}

/// The food orders of a demo in time order: endless and pure given its inputs.
#[derive(Debug)]
pub struct FoodSchedule<'a> {
    city: &'a City,
    reach: Vec<Reach>,
    peak_per_hour: f64,
    rng: Pcg64,
    now: f64,
    next_index: u64,
}

impl<'a> FoodSchedule<'a> {
    /// The orders after `start_unix` at `peak_per_hour` orders an hour at the dinner peak, to points
    /// that one of `reach` delivers to, from the food schedule stream of `seed`.
    pub fn new(
        city: &'a City,
        reach: Vec<Reach>,
        start_unix: f64,
        peak_per_hour: f64,
        seed: u64,
    ) -> Self {
        FoodSchedule {
            city,
            reach,
            peak_per_hour,
            rng: agent_rng(seed, Stream::FoodSchedule, 0),
            now: start_unix,
            next_index: 0,
        }
    }

    /// The orders' peak rate, an hour.
    pub fn peak_per_hour(&self) -> f64 {
        self.peak_per_hour
    }

    fn next_arrival(&mut self) -> Option<f64> {
        let mut budget = -(1.0 - self.rng.random::<f64>()).ln();
        let limit = self.now + HORIZON_SECS;
        let mut t = self.now;
        while t < limit {
            let whole = t.floor();
            let local = new_york_local(whole as i64);
            let into_hour = f64::from(local.seconds_of_day % 3600) + (t - whole);
            let left = (3600.0 - into_hour).max(f64::EPSILON);
            let rate = order_rate_per_sec(self.peak_per_hour, local.seconds_of_day);
            let expected = rate * left;
            if rate > 0.0 && budget <= expected {
                return Some(t + budget / rate);
            }
            budget -= expected;
            t += left;
        }
        None
    }

    fn dropoff_at(&mut self, at: f64) -> Option<(ZoneIdx, Utm)> {
        let local = new_york_local(at.floor() as i64);
        let demand = self.city.demand();
        let weekday = demand_weekday(local.weekday);
        if demand.trips_in_window(weekday, local.window()) == 0 {
            return None;
        }
        for _ in 0..MAX_REDRAWS {
            let (_, zone) = demand.sample_pair(weekday, local.window(), &mut self.rng);
            let point = self.city.random_point_in_zone(zone, &mut self.rng);
            if !crate::sandbox::contains(point)
                && self.city.covers(to_latlng(point))
                && self.reach.iter().any(|r| r.covers(point))
            {
                return Some((zone, point));
            }
        }
        None
    }
}

impl Iterator for FoodSchedule<'_> {
    type Item = ScheduledOrder;

    fn next(&mut self) -> Option<ScheduledOrder> {
        if !(self.peak_per_hour.is_finite() && self.peak_per_hour > 0.0) || self.reach.is_empty() {
            return None;
        }
        // Arrivals whose every drawn point is out of reach are skipped; a run of them this long means
        // no restaurant reaches anywhere people go, and the schedule ends.
        for _ in 0..MAX_SKIPPED {
            let at = self.next_arrival()?;
            self.now = at;
            let Some((dropoff_zone, dropoff)) = self.dropoff_at(at) else {
                continue;
            };
            let index = self.next_index;
            self.next_index += 1;
            return Some(ScheduledOrder {
                index,
                at_unix: at,
                dropoff_zone,
                dropoff,
            });
        }
        None
    }
}
