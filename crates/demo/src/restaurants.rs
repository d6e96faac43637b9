//! Where the demo's restaurants are and what they are: placed where Manhattan eats in the evening.
//!
//! [`evening_zones`] ranks the city's zones by their taxi drop-offs and pickups between 18:00 and 21:00
//! over the five weekdays of the demand table (people going out to eat, and coming home to order in).
//! [`plan_restaurants`] puts restaurant `i` in the `i`-th busiest zone (round after round when there are
//! more restaurants than ranked zones), at one of the zone's lots (the city's curb-side places), and
//! gives it a cuisine, a name, a delivery radius, a usual preparation time and opening hours. All of it
//! is pure and seeded: the same city, count and seed give the same restaurants.

use doorstep_geo::{City, Utm, ZoneIdx};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::catalogue::{CUISINES, CuisineSpec};
use crate::seed::{Stream, agent_rng};

/// The first 15-minute window of the evening (18:00).
const EVENING_FIRST_WINDOW: u8 = 72;
/// The window after the evening (21:00).
const EVENING_END_WINDOW: u8 = 84;
/// Delivery radius of the demo's restaurants, metres: drawn from this range in steps of 100 m.
pub const RADIUS_M: (u32, u32) = (2000, 3500);

/// A zone's evening activity: drop-offs plus pickups from 18:00 to 21:00 on the weekdays of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneActivity {
    /// The zone.
    pub zone: ZoneIdx,
    /// Its trips ending or starting there in the evening windows.
    pub trips: u64,
}

/// The zones with at least one lot outside the sandbox, busiest evening first (ties by zone index).
pub fn evening_zones(city: &City) -> Vec<ZoneActivity> {
    let mut trips = vec![0_u64; city.zones().len()];
    let demand = city.demand();
    for weekday in 0..5 {
        for window in EVENING_FIRST_WINDOW..EVENING_END_WINDOW {
            for row in demand.rows(weekday, window) {
                for zone in [row.pickup, row.dropoff] {
                    if let Some(t) = trips.get_mut(zone.index()) {
                        *t += u64::from(row.trips);
                    }
                }
            }
        }
    }
    let mut ranked: Vec<ZoneActivity> = trips
        .into_iter()
        .enumerate()
        .filter_map(|(i, trips)| {
            let zone = ZoneIdx(u8::try_from(i).ok()?);
            lots_of(city, zone)
                .next()
                .map(|_| ZoneActivity { zone, trips })
        })
        .collect();
    ranked.sort_by(|a, b| b.trips.cmp(&a.trips).then(a.zone.0.cmp(&b.zone.0)));
    ranked
}

fn lots_of(city: &City, zone: ZoneIdx) -> impl Iterator<Item = Utm> + '_ {
    city.lots()
        .iter()
        .filter(move |l| l.zone == zone && !crate::sandbox::contains(l.pos))
        .map(|l| l.pos)
}

/// Opening hours as written on the door, the weekly part of `PUT /v1/merchants/{id}/hours`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoursPattern {
    /// What the pattern is called (for logs).
    pub name: &'static str,
    /// Monday to Thursday and Sunday: `(open, close)` ranges.
    pub weekday: &'static [(&'static str, &'static str)],
    /// Friday and Saturday: later closing.
    pub weekend: &'static [(&'static str, &'static str)],
}

/// The kinds of opening hours the demo's restaurants keep.
pub const HOURS: &[HoursPattern] = &[
    HoursPattern {
        name: "lunch and dinner",
        weekday: &[("11:30", "15:00"), ("17:00", "22:30")],
        weekend: &[("11:30", "15:00"), ("17:00", "23:30")],
    },
    HoursPattern {
        name: "all day",
        weekday: &[("11:00", "23:00")],
        weekend: &[("11:00", "00:00")],
    },
    HoursPattern {
        name: "late night",
        weekday: &[("12:00", "02:00")],
        weekend: &[("12:00", "04:00")],
    },
];

/// One planned restaurant.
#[derive(Debug, Clone, PartialEq)]
pub struct RestaurantPlan {
    /// Its number, from 0: also its staff account's (`merchant{N}@demo.doorstep.dev`).
    pub index: usize,
    /// Its name (unique among the plan).
    pub name: String,
    /// Its cuisine in the catalogue.
    pub cuisine: &'static CuisineSpec,
    /// The zone it is in.
    pub zone: ZoneIdx,
    /// Its pickup point: a lot of the zone.
    pub site: Utm,
    /// How far it delivers, metres.
    pub delivery_radius_m: u32,
    /// Its usual preparation time, minutes (the middle of its cuisine's range).
    pub prep_minutes: u32,
    /// Its opening hours.
    pub hours: &'static HoursPattern,
}

/// The `count` restaurants of the demo seeded by `seed`.
///
/// Restaurant `i` is in the `i mod k`-th busiest evening zone (`k` the number of ranked zones), at a
/// lot of it not taken by another restaurant when there is one. Cuisines go round the catalogue in a
/// seeded order, so any dozen restaurants offer every cuisine; names come from the cuisine's list, the
/// zone's name added when a name would repeat.
pub fn plan_restaurants(city: &City, count: usize, seed: u64) -> Vec<RestaurantPlan> {
    let zones = evening_zones(city);
    if zones.is_empty() || CUISINES.is_empty() {
        return Vec::new();
    }
    let mut order_rng = agent_rng(seed, Stream::Restaurant, u64::MAX);
    let mut cuisine_order: Vec<usize> = (0..CUISINES.len()).collect();
    cuisine_order.shuffle(&mut order_rng);
    let mut taken: Vec<Utm> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut plans = Vec::with_capacity(count);
    for index in 0..count {
        let mut rng = agent_rng(seed, Stream::Restaurant, index as u64);
        let zone = zones[index % zones.len()].zone;
        let lots: Vec<Utm> = lots_of(city, zone).collect();
        let free: Vec<Utm> = lots
            .iter()
            .copied()
            .filter(|p| !taken.contains(p))
            .collect();
        let pool = if free.is_empty() { &lots } else { &free };
        let site = pool[rng.random_range(0..pool.len())];
        taken.push(site);
        let cuisine = &CUISINES[cuisine_order[index % cuisine_order.len()]];
        let base = cuisine.names[rng.random_range(0..cuisine.names.len())];
        let zone_name = city
            .zones()
            .get(zone.index())
            .map_or("Manhattan", |z| z.name.as_str());
        let mut name = base.to_owned();
        if names.contains(&name) {
            name = format!("{base} {zone_name}");
        }
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base} {zone_name} {n}");
            n += 1;
        }
        names.push(name.clone());
        let steps = (RADIUS_M.1 - RADIUS_M.0) / 100;
        let delivery_radius_m = RADIUS_M.0 + 100 * rng.random_range(0..=steps);
        let prep_minutes = (cuisine.prep_minutes.start + cuisine.prep_minutes.end) / 2;
        let hours = &HOURS[rng.random_range(0..HOURS.len())];
        plans.push(RestaurantPlan {
            index,
            name,
            cuisine,
            zone,
            site,
            delivery_radius_m,
            prep_minutes,
            hours,
        });
    }
    plans
}

/// One range of opening hours on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RangeDoc {
    /// Opens, `HH:MM`.
    pub open: &'static str,
    /// Closes, `HH:MM`.
    pub close: &'static str,
}

/// A dated exception to the weekly hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionDoc {
    /// The date, `YYYY-MM-DD`, New York.
    pub date: String,
    /// Its ranges.
    pub ranges: Vec<RangeDoc>,
}

/// The body of `PUT /v1/merchants/{id}/hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoursDoc {
    /// The regular week, by lower-case weekday name.
    pub weekly: std::collections::BTreeMap<&'static str, Vec<RangeDoc>>,
    /// Exceptions.
    pub exceptions: Vec<ExceptionDoc>,
}

/// How many New York days from the demo's start its restaurants stay open around the clock.
pub const DEMO_DAYS_OPEN: i64 = 2;

/// The hours `pattern` with exceptions that keep the kitchen open all day on the New York dates of
/// the [`DEMO_DAYS_OPEN`] days from real time `now_unix` on.
///
/// The server judges opening hours by its own (real) clock, while the demo's customers order by the
/// simulated one, which a fast demo runs hours ahead: without the exceptions a demo started at 4 am, or
/// run at speed 10, would find most kitchens closed. The regular hours are what a customer sees for the
/// rest of the week.
pub fn hours_doc(pattern: &HoursPattern, now_unix: f64) -> HoursDoc {
    let ranges = |r: &'static [(&'static str, &'static str)]| -> Vec<RangeDoc> {
        r.iter()
            .map(|&(open, close)| RangeDoc { open, close })
            .collect()
    };
    let mut weekly = std::collections::BTreeMap::new();
    for day in ["monday", "tuesday", "wednesday", "thursday", "sunday"] {
        weekly.insert(day, ranges(pattern.weekday));
    }
    for day in ["friday", "saturday"] {
        weekly.insert(day, ranges(pattern.weekend));
    }
    let now = if now_unix.is_finite() { now_unix } else { 0.0 };
    let unix = now.floor() as i64;
    let local_days =
        (unix + i64::from(doorstep_geo::new_york_utc_offset_secs(unix))).div_euclid(86_400);
    let exceptions = (0..DEMO_DAYS_OPEN)
        .map(|d| {
            let (y, m, day) = doorstep_geo::civil_from_days(local_days + d);
            ExceptionDoc {
                date: format!("{y:04}-{m:02}-{day:02}"),
                ranges: vec![RangeDoc {
                    open: "00:00",
                    close: "24:00",
                }],
            }
        })
        .collect();
    HoursDoc { weekly, exceptions }
}
