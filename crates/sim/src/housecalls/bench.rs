//! `doorstep bench housecalls`: draws the week, runs the policies one after the other on it, measures the
//! availability query on a full calendar, and prints a table per policy (or one JSON object per policy,
//! then one for the latency).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Args;
use cpu_time::ThreadTime;
use doorstep_dispatch::vrptw::{Problem, Solution, VrptwError, solve};
use doorstep_geo::City;
use rand_pcg::Pcg64;
use serde::Serialize;

use super::engine::{PolicyName, RunResult, simulate};
use super::latency::{LatencyConfig, LatencyReport, measure};
use super::reopt::{Reoptimiser, SolveWithCalls};
use super::week::{Week, WeekConfig};
use crate::{Stopwatch, percentile};

/// Arguments of `doorstep bench housecalls`.
#[derive(Debug, Args)]
pub struct HousecallsArgs {
    /// Seed of the week (providers, requests) and of the solver.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Days simulated, from Monday 7 December 2026.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=28))]
    pub days: u32,
    /// Providers.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=2000))]
    pub providers: u64,
    /// Mean requests per provider and day.
    #[arg(long, default_value_t = 5.0)]
    pub requests_per_provider_day: f64,
    /// The share of requests for "any provider" (the others name a provider).
    #[arg(long, default_value_t = 0.8)]
    pub any_share: f64,
    /// The policies to run (comma-separated); all three by default.
    #[arg(long, value_delimiter = ',', default_values = ["naive", "insertion", "reopt"])]
    pub policies: Vec<PolicyName>,
    /// CPU milliseconds of the VRPTW solver per day re-optimised.
    #[arg(long, default_value_t = 50)]
    pub reopt_budget_ms: u64,
    /// Instead of a CPU budget, stop the solver after it asked this many times (a reproducible run).
    #[arg(long)]
    pub reopt_calls: Option<u64>,
    /// Providers of the dedicated latency measurement (a full week booked); 0 skips it.
    #[arg(long, default_value_t = 200)]
    pub latency_providers: u64,
    /// Availability queries timed in the dedicated measurement.
    #[arg(long, default_value_t = 100)]
    pub latency_queries: u64,
    /// Print one JSON object per policy, one per line, then one for the latency measurement.
    #[arg(long)]
    pub json: bool,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum HousecallsBenchError {
    /// This platform gives no CPU time of a thread (for the solver's budget).
    #[error("the CPU time of a thread cannot be read here")]
    NoCpuClock(#[source] std::io::Error),
    /// A rate or share out of range.
    #[error("{0}")]
    BadArgument(String),
}

/// A monotonic wall clock for the query times.
#[derive(Debug)]
struct WallClock(Instant);

impl Stopwatch for WallClock {
    fn now_ns(&mut self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// `vrptw::solve` with a CPU-time budget of this thread per day.
#[derive(Debug, Clone, Copy)]
pub struct SolveWithCpuBudget {
    /// CPU time per day.
    pub budget: Duration,
}

impl Reoptimiser for SolveWithCpuBudget {
    fn reoptimise(
        &mut self,
        problem: &Problem,
        initial: &Solution,
        rng: &mut Pcg64,
    ) -> Result<Solution, VrptwError> {
        let started = ThreadTime::try_now().ok();
        let budget = self.budget;
        let mut stop = || {
            started
                .as_ref()
                .is_none_or(|s| s.try_elapsed().map_or(true, |used| used >= budget))
        };
        solve(problem, Some(initial), rng, &mut stop)
    }
}

/// One policy's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRow {
    /// The policy.
    pub policy: &'static str,
    /// Requests made.
    pub requests: u32,
    /// Requests booked.
    pub accepted: u32,
    /// `100 × accepted / requests` (1 decimal).
    pub accepted_pct: f64,
    /// Requests that named a provider, and of those booked.
    pub pinned_requests: u32,
    /// See `pinned_requests`.
    pub pinned_accepted: u32,
    /// `100 ×` bookings served (really started, driven with the city's times) within an hour of the wished
    /// start `/ requests` (1 decimal).
    pub within_hour_pct: f64,
    /// Minutes driven per visit (home to the visits and back; 2 decimals).
    pub travel_min_per_visit: f64,
    /// `100 ×` time on site `/` working hours of all providers (1 decimal).
    pub utilisation_pct: f64,
    /// Visits reached after the promised start.
    pub late_arrivals: u32,
    /// Their minutes late in all (1 decimal).
    pub late_min: f64,
    /// Minutes providers came home after 18:00, in all (1 decimal).
    pub overtime_min: f64,
    /// Days re-optimised (solver calls), and of those whose new plan was taken.
    pub reopt_days: u32,
    /// See `reopt_days`.
    pub reopt_taken: u32,
    /// Visits moved between providers by re-optimisation.
    pub reopt_moved: u32,
    /// Driving minutes saved by re-optimisation (1 decimal).
    pub reopt_saved_min: f64,
    /// New plans refused by the check (must be 0) and days the solver failed on.
    pub reopt_refused: u32,
    /// See `reopt_refused`.
    pub reopt_failed: u32,
    /// "Any provider" availability queries timed.
    pub queries: usize,
    /// Their p50 and p99, microseconds (1 decimal).
    pub query_p50_us: f64,
    /// See `query_p50_us`.
    pub query_p99_us: f64,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 { round1(100.0 * a / b) } else { 0.0 }
}

/// The report line of a run.
pub fn row(run: &RunResult) -> PolicyRow {
    let o = &run.outcome;
    let mut ns = run.query_ns.clone();
    ns.sort_unstable();
    #[allow(clippy::cast_precision_loss, reason = "nanoseconds of a query")]
    let us = |q: f64| round1(percentile(&ns, q) as f64 / 1000.0);
    PolicyRow {
        policy: o.policy.name(),
        requests: o.requests,
        accepted: o.accepted,
        accepted_pct: pct(f64::from(o.accepted), f64::from(o.requests)),
        pinned_requests: o.pinned_requests,
        pinned_accepted: o.pinned_accepted,
        within_hour_pct: pct(f64::from(o.within_hour), f64::from(o.requests)),
        travel_min_per_visit: if o.accepted > 0 {
            (o.driving_secs / 60.0 / f64::from(o.accepted) * 100.0).round() / 100.0
        } else {
            0.0
        },
        utilisation_pct: pct(o.on_site_secs, o.working_secs),
        late_arrivals: o.late_arrivals,
        late_min: round1(o.late_secs / 60.0),
        overtime_min: round1(o.overtime_secs / 60.0),
        reopt_days: o.reopt.solved,
        reopt_taken: o.reopt.taken,
        reopt_moved: o.reopt.moved,
        reopt_saved_min: round1(o.reopt.saved_secs / 60.0),
        reopt_refused: o.reopt.refused,
        reopt_failed: o.reopt.failed,
        queries: run.query_ns.len(),
        query_p50_us: us(0.5),
        query_p99_us: us(0.99),
    }
}

/// The table of the policies, one column each.
pub fn table(rows: &[PolicyRow]) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<34}", "");
    for r in rows {
        let _ = write!(out, "{:>17}", r.policy);
    }
    out.push('\n');
    let mut line = |name: &str, f: &dyn Fn(&PolicyRow) -> String| {
        let _ = write!(out, "{name:<34}");
        for r in rows {
            let _ = write!(out, "{:>17}", f(r));
        }
        out.push('\n');
    };
    line("requests", &|r| r.requests.to_string());
    line("bookings accepted", &|r| {
        format!("{} ({:.1}%)", r.accepted, r.accepted_pct)
    });
    line("  of which a chosen provider", &|r| {
        format!("{}/{}", r.pinned_accepted, r.pinned_requests)
    });
    line("served within 1 h of wish (% req)", &|r| {
        format!("{:.1}%", r.within_hour_pct)
    });
    line("travel min per visit", &|r| {
        format!("{:.2}", r.travel_min_per_visit)
    });
    line("provider utilisation (on site)", &|r| {
        format!("{:.1}%", r.utilisation_pct)
    });
    line("late arrivals", &|r| r.late_arrivals.to_string());
    line("  minutes late in all", &|r| format!("{:.1}", r.late_min));
    line("home after 18:00, min in all", &|r| {
        format!("{:.1}", r.overtime_min)
    });
    line("re-opt days solved / taken", &|r| {
        format!("{}/{}", r.reopt_days, r.reopt_taken)
    });
    line("re-opt visits moved", &|r| r.reopt_moved.to_string());
    line("re-opt driving saved, min", &|r| {
        format!("{:.1}", r.reopt_saved_min)
    });
    line("re-opt refused / failed", &|r| {
        format!("{}/{}", r.reopt_refused, r.reopt_failed)
    });
    line("availability query p50 / p99 us", &|r| {
        format!("{:.0} / {:.0}", r.query_p50_us, r.query_p99_us)
    });
    out
}

/// The latency measurement as text.
pub fn latency_text(l: &LatencyReport) -> String {
    format!(
        "availability query, {} providers, a full week booked ({} visits, {:.2} per provider-day), {} queries \
         of one day over {:.0} providers each:\n  \
         server's adapter: full p50 {:.0} us p99 {:.0} us; empty p50 {:.0} us p99 {:.0} us; full/empty {:.2}x (p50) {:.2}x (p99)\n  \
         zones looked up once: full p50 {:.0} us p99 {:.0} us; empty p50 {:.0} us p99 {:.0} us\n",
        l.providers,
        l.visits,
        l.visits_per_provider_day,
        l.queries,
        l.providers_per_query,
        l.full_p50_us,
        l.full_p99_us,
        l.empty_p50_us,
        l.empty_p99_us,
        l.ratio_p50,
        l.ratio_p99,
        l.zoned_full_p50_us,
        l.zoned_full_p99_us,
        l.zoned_empty_p50_us,
        l.zoned_empty_p99_us,
    )
}

/// Runs the benchmark and prints its results.
pub fn run(args: &HousecallsArgs) -> Result<(), HousecallsBenchError> {
    if !(args.requests_per_provider_day.is_finite() && args.requests_per_provider_day > 0.0) {
        return Err(HousecallsBenchError::BadArgument(
            "--requests-per-provider-day must be a positive number".to_owned(),
        ));
    }
    if !(0.0..=1.0).contains(&args.any_share) {
        return Err(HousecallsBenchError::BadArgument(
            "--any-share must be between 0 and 1".to_owned(),
        ));
    }
    ThreadTime::try_now().map_err(HousecallsBenchError::NoCpuClock)?;
    let city = City::manhattan();
    let config = WeekConfig {
        providers: usize::try_from(args.providers).unwrap_or(usize::MAX),
        days: args.days,
        requests_per_provider_day: args.requests_per_provider_day,
        any_share: args.any_share,
        seed: args.seed,
        ..WeekConfig::default()
    };
    let week = Week::generate(city, config);
    if !args.json {
        println!(
            "housecalls — {} providers, {} day(s) from Mon 2026-12-07, {} requests, seed {}, re-opt budget {}",
            week.providers.len(),
            config.days,
            week.requests.len(),
            args.seed,
            args.reopt_calls.map_or_else(
                || format!("{} CPU ms per day", args.reopt_budget_ms),
                |c| format!("{c} solver calls per day")
            )
        );
    }
    let mut rows = Vec::new();
    let mut seconds = Vec::new();
    let mut clock = WallClock(Instant::now());
    for &policy in &args.policies {
        let started = Instant::now();
        let result = match args.reopt_calls {
            Some(calls) => simulate(
                city,
                &week,
                policy,
                &mut SolveWithCalls { calls },
                &mut clock,
            ),
            None => simulate(
                city,
                &week,
                policy,
                &mut SolveWithCpuBudget {
                    budget: Duration::from_millis(args.reopt_budget_ms),
                },
                &mut clock,
            ),
        };
        let r = row(&result);
        if args.json {
            println!("{}", serde_json::to_string(&r).unwrap_or_default());
        }
        seconds.push((policy.name(), started.elapsed().as_secs_f64()));
        rows.push(r);
    }
    if !args.json {
        println!();
        print!("{}", table(&rows));
        let took: Vec<String> = seconds
            .iter()
            .map(|(name, s)| format!("{name} {s:.1} s"))
            .collect();
        println!("wall time: {}", took.join(", "));
    }
    if args.latency_providers > 0 {
        let latency = measure(
            city,
            &LatencyConfig {
                providers: usize::try_from(args.latency_providers).unwrap_or(usize::MAX),
                days: args.days,
                queries: usize::try_from(args.latency_queries.max(1)).unwrap_or(1),
                seed: args.seed,
            },
            &mut clock,
        );
        if args.json {
            #[derive(Serialize)]
            struct Line<'a> {
                latency: &'a LatencyReport,
            }
            println!(
                "{}",
                serde_json::to_string(&Line { latency: &latency }).unwrap_or_default()
            );
        } else {
            println!();
            print!("{}", latency_text(&latency));
        }
    }
    Ok(())
}
