//! A seeded week of house-call requests in Manhattan: providers with home bases spread over the city, and
//! customers who ask, some days ahead, for a service at a wished time.

use doorstep_geo::{City, days_from_civil, new_york_utc_offset_secs};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::travel::Spot;

/// The first day of the simulated week: Monday 7 December 2026 (no daylight saving change in it).
pub const FIRST_DAY: (i64, u32, u32) = (2026, 12, 7);
/// When every provider's working day starts, seconds after local midnight (09:00).
pub const OPENS_S: f64 = 9.0 * 3600.0;
/// When it ends (18:00).
pub const CLOSES_S: f64 = 18.0 * 3600.0;
/// Candidate starts are this far apart (the server's quarter hour).
pub const SLOT_STEP_S: f64 = 900.0;
/// The earliest start offered, from the moment of the request (the server's `MIN_LEAD_S`).
pub const MIN_LEAD_S: f64 = 3600.0;
/// How far from the wished start a customer still takes a slot.
pub const TOLERANCE_S: f64 = 3.0 * 3600.0;
/// The earliest a customer asks before the visit: a week.
pub const MAX_LEAD_S: f64 = 7.0 * 86_400.0;

/// A service of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// Its name in the report.
    pub name: &'static str,
    /// How long the provider is at the customer's (the appointment; no preparation buffer), minutes.
    pub minutes: u32,
}

impl Service {
    /// Time on site, seconds.
    pub fn on_site_secs(self) -> f64 {
        f64::from(self.minutes * 60)
    }
}

/// The two services every week offers: a 60-minute and a 90-minute visit.
pub const SERVICES: [Service; 2] = [
    Service {
        name: "massage-60",
        minutes: 60,
    },
    Service {
        name: "cleaning-90",
        minutes: 90,
    },
];

/// What a week is drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekConfig {
    /// Providers.
    pub providers: usize,
    /// Days of the week simulated (from Monday).
    pub days: u32,
    /// Mean requests per provider and day (the Poisson rate of wished starts).
    pub requests_per_provider_day: f64,
    /// The share of requests for "any provider"; the rest name one.
    pub any_share: f64,
    /// The most visits a provider takes in a day.
    pub daily_cap: u32,
    /// The seed of everything drawn.
    pub seed: u64,
}

impl Default for WeekConfig {
    fn default() -> Self {
        WeekConfig {
            providers: 40,
            days: 7,
            requests_per_provider_day: 5.0,
            any_share: 0.8,
            daily_cap: 8,
            seed: 1,
        }
    }
}

/// A provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Where each working day starts and ends.
    pub home: Spot,
    /// Per service of [`SERVICES`], whether they offer it.
    pub offers: [bool; 2],
}

/// A customer's request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Its index in [`Week::requests`].
    pub id: u32,
    /// When the customer asks (Unix seconds).
    pub arrives: f64,
    /// The day of the week wished (0 = Monday).
    pub day: u32,
    /// The wished start (Unix seconds).
    pub wished: f64,
    /// Where the visit is.
    pub place: Spot,
    /// Index into [`SERVICES`].
    pub service: usize,
    /// The provider the customer chose, or `None` for "any provider".
    pub chosen: Option<u32>,
}

/// A week: its providers and its requests in order of arrival.
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// What it was drawn from.
    pub config: WeekConfig,
    /// The providers.
    pub providers: Vec<Provider>,
    /// The requests, by arrival time.
    pub requests: Vec<Request>,
}

/// Local midnight of day `day` of the week (negative: the days before it), Unix seconds.
pub fn local_midnight(day: i64) -> f64 {
    let (y, m, d) = FIRST_DAY;
    let local = (days_from_civil(y, m, d) + day) * 86_400;
    // The offset at the instant itself: one step suffices away from a daylight saving change.
    let utc = local - i64::from(new_york_utc_offset_secs(local));
    let utc = local - i64::from(new_york_utc_offset_secs(utc));
    #[allow(clippy::cast_precision_loss, reason = "Unix seconds of this era")]
    let s = utc as f64;
    s
}

/// A point drawn uniformly in the zone of a uniformly drawn lot of the city.
pub fn random_spot(city: &City, rng: &mut Pcg64) -> Spot {
    let lots = city.lots();
    let lot = lots[rng.random_range(0..lots.len())];
    Spot::new(city, city.random_point_in_zone(lot.zone, rng))
}

/// An exponential draw of mean `mean`.
fn exponential(rng: &mut Pcg64, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

/// The providers of a week: homes in the zones of uniformly drawn lots; half offer both services, a quarter
/// only the 60-minute one, a quarter only the 90-minute one.
pub fn draw_providers(city: &City, n: usize, rng: &mut Pcg64) -> Vec<Provider> {
    (0..n)
        .map(|_| {
            let home = random_spot(city, rng);
            let u: f64 = rng.random();
            let offers = if u < 0.5 {
                [true, true]
            } else if u < 0.75 {
                [true, false]
            } else {
                [false, true]
            };
            Provider { home, offers }
        })
        .collect()
}

impl Week {
    /// Draws a week. Each day, wished starts form a Poisson process over 09:00–17:00 (to the minute) of
    /// rate `providers × requests_per_provider_day`; each request is made `1 h + Exp(48 h)` ahead (at most a
    /// week), so the requests arrive over the week before and during it (a Poisson process again). A request
    /// is for either service with equal chance; "any provider" with `any_share`, else a provider drawn
    /// among those offering the service. The place: a point in the zone of a uniformly drawn lot.
    pub fn generate(city: &City, config: WeekConfig) -> Week {
        let mut rng = Pcg64::seed_from_u64(config.seed);
        let providers = draw_providers(city, config.providers, &mut rng);
        let wish_span = 8.0 * 3600.0;
        #[allow(clippy::cast_precision_loss, reason = "a few hundred providers")]
        let per_day = config.providers as f64 * config.requests_per_provider_day;
        let mut requests = Vec::new();
        for day in 0..config.days {
            let midnight = local_midnight(i64::from(day));
            let mut at = exponential(&mut rng, wish_span / per_day.max(1e-9));
            while at < wish_span {
                let wished = midnight + OPENS_S + (at / 60.0).floor() * 60.0;
                let lead = (MIN_LEAD_S + exponential(&mut rng, 48.0 * 3600.0)).min(MAX_LEAD_S);
                let service = rng.random_range(0..SERVICES.len());
                let chosen = if rng.random::<f64>() < config.any_share {
                    None
                } else {
                    let offering: Vec<u32> = (0..providers.len())
                        .filter(|&p| providers[p].offers[service])
                        .filter_map(|p| u32::try_from(p).ok())
                        .collect();
                    (!offering.is_empty()).then(|| offering[rng.random_range(0..offering.len())])
                };
                requests.push(Request {
                    id: 0,
                    arrives: wished - lead,
                    day,
                    wished,
                    place: random_spot(city, &mut rng),
                    service,
                    chosen,
                });
                at += exponential(&mut rng, wish_span / per_day.max(1e-9));
            }
        }
        requests.sort_by(|a, b| a.arrives.total_cmp(&b.arrives));
        for (i, r) in requests.iter_mut().enumerate() {
            r.id = u32::try_from(i).unwrap_or(u32::MAX);
        }
        Week {
            config,
            providers,
            requests,
        }
    }

    /// Builds a week from given providers and requests (the tests' hand-made instances); requests are
    /// sorted by arrival and numbered.
    pub fn from_parts(
        config: WeekConfig,
        providers: Vec<Provider>,
        mut requests: Vec<Request>,
    ) -> Week {
        requests.sort_by(|a, b| a.arrives.total_cmp(&b.arrives));
        for (i, r) in requests.iter_mut().enumerate() {
            r.id = u32::try_from(i).unwrap_or(u32::MAX);
        }
        Week {
            config,
            providers,
            requests,
        }
    }

    /// When day `day`'s working hours start and end, Unix seconds.
    pub fn hours(&self, day: u32) -> (f64, f64) {
        let midnight = local_midnight(i64::from(day));
        (midnight + OPENS_S, midnight + CLOSES_S)
    }
}
