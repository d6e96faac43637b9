//! The availability query's latency on a large, full calendar: `providers` providers (200 by default), a
//! week booked until no random visit fits any more, and queries over all the providers offering a service
//! for one day at every quarter hour, as the server answers them; against the same queries on empty
//! calendars in the same process, with the server's travel adapter and with the zones looked up once.

use doorstep_dispatch::TravelTime;
use doorstep_dispatch::calendar::fits;
use doorstep_geo::City;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::Serialize;

use super::availability::{Query, travel_aware};
use super::plan::{Booking, Plan};
use super::travel::{ServerTravel, Spot, ZonedTravel};
use super::week::{SERVICES, SLOT_STEP_S, Week, WeekConfig, draw_providers, random_spot};
use crate::{Stopwatch, percentile};

/// Random visits in a row that must fail to fit a provider's day before it counts as full.
pub const FULL_AFTER_MISSES: u32 = 40;

/// What the measurement runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyConfig {
    /// Providers.
    pub providers: usize,
    /// Days booked.
    pub days: u32,
    /// Queries timed (each on the full and the empty calendars, with both adapters).
    pub queries: usize,
    /// The seed.
    pub seed: u64,
}

/// The figures, microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyReport {
    /// Providers.
    pub providers: usize,
    /// Days booked.
    pub days: u32,
    /// Visits in the full calendar.
    pub visits: usize,
    /// Mean visits per provider and day.
    pub visits_per_provider_day: f64,
    /// Queries timed.
    pub queries: usize,
    /// Providers asked per query, mean (those offering the service).
    pub providers_per_query: f64,
    /// Full calendar, the server's adapter: p50 and p99.
    pub full_p50_us: f64,
    /// See `full_p50_us`.
    pub full_p99_us: f64,
    /// Empty calendar, the server's adapter: p50 and p99 (the baseline).
    pub empty_p50_us: f64,
    /// See `empty_p50_us`.
    pub empty_p99_us: f64,
    /// `full_p50_us / empty_p50_us`.
    pub ratio_p50: f64,
    /// `full_p99_us / empty_p99_us`.
    pub ratio_p99: f64,
    /// Full calendar with the zones looked up once per place ([`ZonedTravel`]): p50 and p99.
    pub zoned_full_p50_us: f64,
    /// See `zoned_full_p50_us`.
    pub zoned_full_p99_us: f64,
    /// Empty calendar with [`ZonedTravel`]: p50 and p99.
    pub zoned_empty_p50_us: f64,
    /// See `zoned_empty_p50_us`.
    pub zoned_empty_p99_us: f64,
}

/// A week of `config.providers` providers booked full: for each provider and day, random visits (a point of
/// the city, a service they offer, a quarter-hour start) are booked when `calendar::fits` takes them, until
/// [`FULL_AFTER_MISSES`] in a row do not fit or the daily cap is reached.
pub fn full_week(city: &'static City, config: &LatencyConfig) -> (Week, Plan) {
    let mut rng = Pcg64::seed_from_u64(config.seed);
    let providers = draw_providers(city, config.providers, &mut rng);
    let week_config = WeekConfig {
        providers: config.providers,
        days: config.days,
        seed: config.seed,
        ..WeekConfig::default()
    };
    let week = Week::from_parts(week_config, providers, Vec::new());
    let travel = ZonedTravel::new(city);
    let mut plan = Plan::new(config.providers, config.days);
    for day in 0..config.days {
        let (from, to) = week.hours(day);
        for p in 0..config.providers {
            let provider = u32::try_from(p).unwrap_or(u32::MAX);
            let services: Vec<usize> = (0..SERVICES.len())
                .filter(|&s| week.providers[p].offers[s])
                .collect();
            let mut misses = 0;
            while misses < FULL_AFTER_MISSES
                && plan.day(day, provider).len() < week.config.daily_cap as usize
            {
                let service = services[rng.random_range(0..services.len())];
                let on_site = SERVICES[service].on_site_secs();
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a few dozen quarter hours"
                )]
                let quarters = ((to - from - on_site) / SLOT_STEP_S).floor() as u32 + 1;
                let start = from + f64::from(rng.random_range(0..quarters)) * SLOT_STEP_S;
                let place = random_spot(city, &mut rng);
                let work = plan.work_day(&week, day, provider);
                if fits(&work, &travel, place, start, on_site).is_some() {
                    plan.add(Booking {
                        request: 0,
                        provider,
                        day,
                        start,
                        on_site,
                        place,
                        pinned: false,
                        service,
                    });
                    misses = 0;
                } else {
                    misses += 1;
                }
            }
        }
    }
    (week, plan)
}

fn time_query<T: TravelTime<Place = Spot>>(
    week: &Week,
    plan: &Plan,
    travel: &T,
    query: &Query<'_>,
    stopwatch: &mut dyn Stopwatch,
) -> u64 {
    let started = stopwatch.now_ns();
    let slots = travel_aware(week, plan, travel, query);
    let spent = stopwatch.now_ns().saturating_sub(started);
    std::hint::black_box(slots);
    spent
}

fn us(sorted: &[u64], q: f64) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "nanoseconds of a query")]
    let ns = percentile(sorted, q) as f64;
    (ns / 100.0).round() / 10.0
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        (a / b * 100.0).round() / 100.0
    } else {
        0.0
    }
}

/// Books a full week ([`full_week`]) and times `config.queries` availability queries (a random place,
/// service and day, every provider offering the service, every quarter hour of the day) on it and on the
/// same providers with empty calendars, with the server's adapter and with [`ZonedTravel`], in turns.
pub fn measure(
    city: &'static City,
    config: &LatencyConfig,
    stopwatch: &mut dyn Stopwatch,
) -> LatencyReport {
    let (week, full) = full_week(city, config);
    let empty = Plan::new(config.providers, config.days);
    let server = ServerTravel::new(city);
    let zoned = ZonedTravel::new(city);
    let offering: Vec<Vec<u32>> = (0..SERVICES.len())
        .map(|s| {
            (0..config.providers)
                .filter(|&p| week.providers[p].offers[s])
                .filter_map(|p| u32::try_from(p).ok())
                .collect()
        })
        .collect();
    let mut rng = Pcg64::seed_from_u64(config.seed.wrapping_add(1));
    let mut times: [Vec<u64>; 4] = Default::default();
    let mut asked = 0usize;
    for q in 0..config.queries {
        let service = rng.random_range(0..SERVICES.len());
        let day = rng.random_range(0..config.days.max(1));
        let place = random_spot(city, &mut rng);
        let query = Query {
            candidates: &offering[service],
            day,
            place,
            on_site: SERVICES[service].on_site_secs(),
            earliest: f64::NEG_INFINITY,
        };
        asked += query.candidates.len();
        // Turns, so that neither calendar always runs with warm caches.
        for k in 0..4 {
            let which = (k + q) % 4;
            let spent = match which {
                0 => time_query(&week, &full, &server, &query, stopwatch),
                1 => time_query(&week, &empty, &server, &query, stopwatch),
                2 => time_query(&week, &full, &zoned, &query, stopwatch),
                _ => time_query(&week, &empty, &zoned, &query, stopwatch),
            };
            times[which].push(spent);
        }
    }
    for t in &mut times {
        t.sort_unstable();
    }
    let visits = full.bookings.len();
    #[allow(clippy::cast_precision_loss, reason = "counts")]
    let (per_day, per_query) = (
        visits as f64 / (config.providers.max(1) as f64 * f64::from(config.days.max(1))),
        asked as f64 / config.queries.max(1) as f64,
    );
    let [full_s, empty_s, full_z, empty_z] = &times;
    LatencyReport {
        providers: config.providers,
        days: config.days,
        visits,
        visits_per_provider_day: (per_day * 100.0).round() / 100.0,
        queries: config.queries,
        providers_per_query: (per_query * 10.0).round() / 10.0,
        full_p50_us: us(full_s, 0.5),
        full_p99_us: us(full_s, 0.99),
        empty_p50_us: us(empty_s, 0.5),
        empty_p99_us: us(empty_s, 0.99),
        ratio_p50: ratio(us(full_s, 0.5), us(empty_s, 0.5)),
        ratio_p99: ratio(us(full_s, 0.99), us(empty_s, 0.99)),
        zoned_full_p50_us: us(full_z, 0.5),
        zoned_full_p99_us: us(full_z, 0.99),
        zoned_empty_p50_us: us(empty_z, 0.5),
        zoned_empty_p99_us: us(empty_z, 0.99),
    }
}
