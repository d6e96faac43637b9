//! The booking week: requests in order of arrival, each answered by the policy's availability query, the
//! customer taking the offered start nearest the wished time (within three hours) or leaving; for the third
//! policy, every night the days ahead are re-optimised. At the end every provider's days are driven with
//! the real travel times.

use doorstep_geo::City;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::Serialize;

use super::availability::{Query, choose, naive, travel_aware};
use super::plan::{Booking, Plan, legs, walk_day};
use super::reopt::{ReoptStats, Reoptimiser, reoptimise_day};
use super::travel::ZonedTravel;
use super::week::{MIN_LEAD_S, SERVICES, TOLERANCE_S, Week, local_midnight};
use crate::Stopwatch;

/// The three booking policies compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum PolicyName {
    /// A fixed 30-minute buffer between visits, no travel model.
    Naive,
    /// The server's check: a start is offered if `calendar::fits` inserts it with the city's travel times.
    Insertion,
    /// Insertion, and every night each day ahead re-optimised with the VRPTW solver.
    Reopt,
}

impl PolicyName {
    /// The three, in the order of the report.
    pub const ALL: [PolicyName; 3] = [PolicyName::Naive, PolicyName::Insertion, PolicyName::Reopt];

    /// The name in the report.
    pub fn name(self) -> &'static str {
        match self {
            PolicyName::Naive => "naive-30min",
            PolicyName::Insertion => "insertion",
            PolicyName::Reopt => "insertion+reopt",
        }
    }
}

/// What was promised when a request was booked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Promise {
    /// The request.
    pub request: u32,
    /// The start promised.
    pub start: f64,
    /// The provider assigned then.
    pub provider: u32,
}

/// The outcome of a week under a policy (a pure function of the week, the policy and the re-optimiser).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The policy.
    pub policy: PolicyName,
    /// Requests made.
    pub requests: u32,
    /// Requests booked.
    pub accepted: u32,
    /// Requests that named a provider.
    pub pinned_requests: u32,
    /// Of those, booked.
    pub pinned_accepted: u32,
    /// Bookings whose service really started (driven with the real travel times) within an hour of the
    /// wished start.
    pub within_hour: u32,
    /// Seconds driven by all providers (home, visits, home).
    pub driving_secs: f64,
    /// Seconds on site.
    pub on_site_secs: f64,
    /// Working seconds of all providers over the week.
    pub working_secs: f64,
    /// Visits reached after their promised start.
    pub late_arrivals: u32,
    /// Their seconds late, summed.
    pub late_secs: f64,
    /// Seconds providers came home after their working day, summed.
    pub overtime_secs: f64,
    /// The re-optimisations (zero for the other policies).
    pub reopt: ReoptStats,
    /// What each booking promised when it was made.
    pub promises: Vec<Promise>,
    /// The final plan.
    pub plan: Plan,
}

/// A run: the outcome, and the measured time of each "any provider" availability query.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// The outcome.
    pub outcome: Outcome,
    /// Nanoseconds of each availability query over all the providers offering the service (all zero with
    /// `NoStopwatch`).
    pub query_ns: Vec<u64>,
}

/// Runs `week` under `policy`. `reoptimiser` is used by [`PolicyName::Reopt`] only; `stopwatch` times the
/// availability queries.
pub fn simulate(
    city: &'static City,
    week: &Week,
    policy: PolicyName,
    reoptimiser: &mut dyn Reoptimiser,
    stopwatch: &mut dyn Stopwatch,
) -> RunResult {
    let travel = ZonedTravel::new(city);
    let days = week.config.days;
    let mut plan = Plan::new(week.providers.len(), days);
    let offering: Vec<Vec<u32>> = (0..SERVICES.len())
        .map(|s| {
            (0..week.providers.len())
                .filter(|&p| week.providers[p].offers[s])
                .filter_map(|p| u32::try_from(p).ok())
                .collect()
        })
        .collect();
    let mut promises = Vec::new();
    let mut query_ns = Vec::new();
    let mut stats = ReoptStats::default();
    // The nights ahead: the first midnight after the first request, to the last day's.
    let first = week
        .requests
        .first()
        .map_or(0.0, |r| r.arrives)
        .min(local_midnight(0));
    #[allow(clippy::cast_possible_truncation, reason = "a few days")]
    let mut night = ((first - local_midnight(0)) / 86_400.0).floor() as i64 + 1;
    let mut run_nights = |until: f64, plan: &mut Plan, stats: &mut ReoptStats| {
        while night < i64::from(days) && local_midnight(night) <= until {
            if policy == PolicyName::Reopt {
                for day in u32::try_from(night.max(0)).unwrap_or(0)..days {
                    let mut rng = Pcg64::seed_from_u64(
                        week.config
                            .seed
                            .wrapping_mul(1_000_003)
                            .wrapping_add(night.unsigned_abs() * 1000 + u64::from(day)),
                    );
                    reoptimise_day(week, plan, &travel, day, reoptimiser, &mut rng, stats);
                }
            }
            night += 1;
        }
    };
    for request in &week.requests {
        run_nights(request.arrives, &mut plan, &mut stats);
        let service = SERVICES[request.service];
        let on_site = service.on_site_secs();
        let chosen;
        let candidates: &[u32] = match request.chosen {
            Some(p) => {
                chosen = [p];
                &chosen
            }
            None => &offering[request.service],
        };
        let query = Query {
            candidates,
            day: request.day,
            place: request.place,
            on_site,
            earliest: request.arrives + MIN_LEAD_S,
        };
        let started = stopwatch.now_ns();
        let slots = match policy {
            PolicyName::Naive => naive(week, &plan, &query),
            PolicyName::Insertion | PolicyName::Reopt => travel_aware(week, &plan, &travel, &query),
        };
        if request.chosen.is_none() {
            query_ns.push(stopwatch.now_ns().saturating_sub(started));
        }
        if let Some((start, provider)) = choose(&slots, request.wished, TOLERANCE_S) {
            plan.add(Booking {
                request: request.id,
                provider,
                day: request.day,
                start,
                on_site,
                place: request.place,
                pinned: request.chosen.is_some(),
                service: request.service,
            });
            promises.push(Promise {
                request: request.id,
                start,
                provider,
            });
        }
    }
    run_nights(f64::INFINITY, &mut plan, &mut stats);
    let mut outcome = Outcome {
        policy,
        requests: u32::try_from(week.requests.len()).unwrap_or(u32::MAX),
        accepted: u32::try_from(plan.bookings.len()).unwrap_or(u32::MAX),
        pinned_requests: u32::try_from(week.requests.iter().filter(|r| r.chosen.is_some()).count())
            .unwrap_or(u32::MAX),
        pinned_accepted: u32::try_from(plan.bookings.iter().filter(|b| b.pinned).count())
            .unwrap_or(u32::MAX),
        within_hour: 0,
        driving_secs: 0.0,
        on_site_secs: plan.bookings.iter().map(|b| b.on_site).sum(),
        working_secs: 0.0,
        late_arrivals: 0,
        late_secs: 0.0,
        overtime_secs: 0.0,
        reopt: stats,
        promises,
        plan: Plan::new(0, 0),
    };
    drive_the_week(week, &plan, &travel, &mut outcome);
    outcome.plan = plan;
    RunResult { outcome, query_ns }
}

/// Drives every provider's days with the real travel times and fills the outcome's driving, lateness,
/// overtime, working time and the visits served within an hour of the wish.
fn drive_the_week(week: &Week, plan: &Plan, travel: &ZonedTravel, outcome: &mut Outcome) {
    for day in 0..plan.days() {
        let (from, to) = week.hours(day);
        for p in 0..plan.providers() {
            outcome.working_secs += to - from;
            let mine = plan.day(day, u32::try_from(p).unwrap_or(u32::MAX));
            let Some(walk) = walk_day(travel, week.providers[p].home, from, &legs(plan, mine))
            else {
                continue;
            };
            outcome.driving_secs += walk.driving_secs;
            if !mine.is_empty() {
                outcome.overtime_secs += (walk.home_at - to).max(0.0);
            }
            for ((&b, &late), &started) in mine.iter().zip(&walk.late_secs).zip(&walk.started) {
                if late > 0.0 {
                    outcome.late_arrivals += 1;
                    outcome.late_secs += late;
                }
                let wished = week.requests[plan.bookings[b].request as usize].wished;
                if (started - wished).abs() <= 3600.0 {
                    outcome.within_hour += 1;
                }
            }
        }
    }
}
