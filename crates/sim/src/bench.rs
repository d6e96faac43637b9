//! The benchmark runner behind `doorstep bench ridehail`: runs policies on seeded days, measures
//! wall time, decision times and peak memory, and prints a table, JSON lines or an HTML report.
//!
//! This module is the crate's only contact with the outside world (the clock, `/proc/self`, files,
//! the terminal); the simulation it drives stays pure.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::engine::{Policy, Stopwatch, simulate};
use crate::instance::{Day, InstanceClass, Model};
use crate::offline::offline_bound;
use crate::policy::{Batch, BatchTuning, Greedy};

/// `doorstep bench ...`: benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The DIMACS ride-hailing benchmark on Manhattan demand (a re-implementation of pyhailing).
    Ridehail(RidehailArgs),
}

/// Arguments of `doorstep bench ridehail`.
#[derive(Debug, Args)]
pub struct RidehailArgs {
    /// Instance class: SUI, MUI, LUI, LTI or XL.
    #[arg(long, default_value = "SUI")]
    pub class: InstanceClass,
    /// Policies to run, comma-separated: greedy, batch, batch+reposition, live, offline.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "greedy,batch,batch+reposition,live,offline"
    )]
    pub policy: Vec<PolicyName>,
    /// Number of seeded days per policy.
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// The first seed (days use seeds `first_seed .. first_seed + seeds`).
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    /// Print one JSON object per run and line instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML report with charts to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// A policy the benchmark can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyName {
    /// [`Greedy`].
    Greedy,
    /// [`Batch`] without repositioning.
    Batch,
    /// [`Batch`] with repositioning.
    BatchReposition,
    /// [`crate::live::Live`]: the server's dispatcher core.
    Live,
    /// The offline bound.
    Offline,
}

impl PolicyName {
    /// The name as written on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            PolicyName::Greedy => "greedy",
            PolicyName::Batch => "batch",
            PolicyName::BatchReposition => "batch+reposition",
            PolicyName::Live => "live",
            PolicyName::Offline => "offline",
        }
    }

    /// A fresh instance of an online policy (`None` for the offline bound).
    pub fn online(self) -> Option<Box<dyn Policy>> {
        match self {
            PolicyName::Greedy => Some(Box::new(Greedy::default())),
            PolicyName::Batch => Some(Box::new(Batch::new(BatchTuning::default()))),
            PolicyName::BatchReposition => {
                Some(Box::new(Batch::with_reposition(BatchTuning::default())))
            }
            PolicyName::Live => Some(Box::new(crate::live::Live::new())),
            PolicyName::Offline => None,
        }
    }
}

/// A policy name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?} (expected greedy, batch, batch+reposition, live or offline)")]
pub struct UnknownPolicy(pub String);

impl FromStr for PolicyName {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "greedy" => Ok(PolicyName::Greedy),
            "batch" => Ok(PolicyName::Batch),
            "batch+reposition" => Ok(PolicyName::BatchReposition),
            "live" => Ok(PolicyName::Live),
            "offline" => Ok(PolicyName::Offline),
            other => Err(UnknownPolicy(other.to_owned())),
        }
    }
}

/// Why a benchmark could not finish.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Writing the HTML report failed.
    #[error("writing the HTML report to {path}")]
    Html {
        /// The report's path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// One run's figures: one JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// Instance class.
    pub class: &'static str,
    /// Policy.
    pub policy: &'static str,
    /// Seed of the day.
    pub seed: u64,
    /// Weekday drawn (0 = Monday).
    pub weekday: u8,
    /// Profit, dollars (for `offline`: the bound).
    pub profit: f64,
    /// Revenue credited, dollars.
    pub revenue: f64,
    /// Driving cost, dollars.
    pub cost: f64,
    /// Requests served.
    pub served: usize,
    /// Requests of the day.
    pub requests: usize,
    /// `served / requests`.
    pub served_share: f64,
    /// Revenue of all requests of the day, dollars.
    pub request_value: f64,
    /// Mean seconds from release to pickup over served requests.
    pub mean_wait_s: f64,
    /// 95th percentile of those.
    pub p95_wait_s: f64,
    /// Empty km over all km driven (charged part).
    pub empty_km_share: f64,
    /// Number of decisions.
    pub decisions: u64,
    /// Median decision time, ms.
    pub decision_p50_ms: f64,
    /// 99th percentile decision time, ms.
    pub decision_p99_ms: f64,
    /// Longest decision, ms.
    pub decision_max_ms: f64,
    /// Wall time of the whole day (policy and simulation, not the generation of the day), s.
    pub wall_s: f64,
    /// CPU time (user + system) of the process during the run, s, from `/proc/self/stat` (10 ms
    /// resolution); unlike `wall_s` it does not grow when other jobs share the cores. 0 if unknown.
    pub cpu_s: f64,
    /// Peak resident memory of the process during the run (VmHWM after a reset), MB; 0 if unknown.
    pub peak_mem_mb: f64,
    /// `profit / offline bound profit`.
    pub ratio_to_offline: f64,
    /// Which offline bound the ratio uses.
    pub offline_bound: &'static str,
    /// Actions refused by the rules (0 for a correct policy).
    pub refused: u64,
}

/// The wall clock, for decision times.
#[derive(Debug)]
struct WallStopwatch(Instant);

impl Stopwatch for WallStopwatch {
    fn now_ns(&mut self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Resets the process's peak resident memory (Linux `clear_refs` 5); ignored where unsupported.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU seconds (user + system) used by the process so far, from `/proc/self/stat` (Linux reports
/// them in units of 1/100 s); 0 where unknown.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces): state is field
    // 3, utime 14 and stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// The process's peak resident memory in MB (`VmHWM`), 0 where unknown.
fn peak_memory_mb() -> f64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs the benchmark and prints its results.
pub fn run(command: BenchCommand) -> Result<(), BenchError> {
    match command {
        BenchCommand::Ridehail(args) => ridehail(&args),
    }
}

/// Runs every policy of `args` on every seed; returns the rows (one per run) in run order.
pub fn run_ridehail(args: &RidehailArgs, progress: &ProgressBar) -> Vec<RunRow> {
    let model = Model::manhattan();
    let mut rows = Vec::new();
    for seed in args.first_seed..args.first_seed.saturating_add(args.seeds) {
        let day = Day::generate(&model, args.class, seed);
        let bound = offline_bound(&model, &day);
        for &name in &args.policy {
            progress.set_message(format!("{} seed {seed} {}", args.class, name.name()));
            let row = match name.online() {
                None => RunRow {
                    class: args.class.name(),
                    policy: name.name(),
                    seed,
                    weekday: day.weekday,
                    profit: bound.profit,
                    revenue: 0.0,
                    cost: 0.0,
                    served: bound.served,
                    requests: day.requests.len(),
                    served_share: bound.served as f64 / day.requests.len().max(1) as f64,
                    request_value: day.request_value(),
                    mean_wait_s: 0.0,
                    p95_wait_s: 0.0,
                    empty_km_share: 0.0,
                    decisions: 0,
                    decision_p50_ms: 0.0,
                    decision_p99_ms: 0.0,
                    decision_max_ms: 0.0,
                    wall_s: 0.0,
                    cpu_s: 0.0,
                    peak_mem_mb: 0.0,
                    ratio_to_offline: 1.0,
                    offline_bound: bound.kind,
                    refused: 0,
                },
                Some(mut policy) => {
                    reset_peak_memory();
                    let cpu_before = cpu_secs();
                    let started = Instant::now();
                    let mut stopwatch = WallStopwatch(started);
                    let result = simulate(&model, &day, policy.as_mut(), &mut stopwatch);
                    let wall_s = started.elapsed().as_secs_f64();
                    let cpu_s = cpu_secs() - cpu_before;
                    let peak_mem_mb = peak_memory_mb();
                    let o = &result.outcome;
                    let mut ns = result.decision_ns;
                    ns.sort_unstable();
                    let ms = |q: f64| crate::engine::percentile(&ns, q) as f64 / 1e6;
                    let km = o.empty_km + o.loaded_km;
                    let r = &o.refused;
                    RunRow {
                        class: args.class.name(),
                        policy: name.name(),
                        seed,
                        weekday: day.weekday,
                        profit: o.profit,
                        revenue: o.revenue,
                        cost: o.cost,
                        served: o.served,
                        requests: o.requests,
                        served_share: o.served as f64 / o.requests.max(1) as f64,
                        request_value: o.request_value,
                        mean_wait_s: o.mean_wait_s,
                        p95_wait_s: o.p95_wait_s,
                        empty_km_share: if km > 0.0 { o.empty_km / km } else { 0.0 },
                        decisions: o.decisions,
                        decision_p50_ms: ms(0.5),
                        decision_p99_ms: ms(0.99),
                        decision_max_ms: ms(1.0),
                        wall_s,
                        cpu_s,
                        peak_mem_mb,
                        ratio_to_offline: if bound.profit > 0.0 {
                            o.profit / bound.profit
                        } else {
                            0.0
                        },
                        offline_bound: bound.kind,
                        refused: r.not_pending
                            + r.vehicle_not_eligible
                            + r.too_far
                            + r.bad_reposition,
                    }
                }
            };
            if args.json {
                progress.suspend(|| {
                    if let Ok(line) = serde_json::to_string(&row) {
                        println!("{line}");
                    }
                });
            }
            rows.push(row);
            progress.inc(1);
        }
    }
    rows
}

fn ridehail(args: &RidehailArgs) -> Result<(), BenchError> {
    let total = args.seeds.saturating_mul(args.policy.len() as u64);
    let progress = ProgressBar::new(total);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rows = run_ridehail(args, &progress);
    progress.finish_and_clear();
    let summary = summarise(&rows, &args.policy);
    if !args.json {
        print!("{}", table(args, &summary));
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html(args, &summary, &rows)).map_err(|source| BenchError::Html {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Mean figures of one policy over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Policy.
    pub policy: &'static str,
    /// Number of runs.
    pub runs: usize,
    /// Mean profit.
    pub profit: f64,
    /// Standard deviation of profit over seeds.
    pub profit_sd: f64,
    /// Mean served share.
    pub served_share: f64,
    /// Mean of the mean waits.
    pub mean_wait_s: f64,
    /// Mean of the p95 waits.
    pub p95_wait_s: f64,
    /// Mean empty km share.
    pub empty_km_share: f64,
    /// Median over runs of the decision p50.
    pub decision_p50_ms: f64,
    /// Highest decision p99 over runs.
    pub decision_p99_ms: f64,
    /// Highest decision time over runs.
    pub decision_max_ms: f64,
    /// Mean wall time of a day.
    pub wall_s: f64,
    /// Mean CPU time of a day.
    pub cpu_s: f64,
    /// Highest peak memory.
    pub peak_mem_mb: f64,
    /// Mean ratio of profit to the offline bound.
    pub ratio_to_offline: f64,
    /// Mean request value of the days.
    pub request_value: f64,
    /// Total refused actions.
    pub refused: u64,
    /// Which offline bound the ratios use.
    pub offline_bound: &'static str,
}

/// Per policy (in the order given), the mean figures over its runs.
pub fn summarise(rows: &[RunRow], policies: &[PolicyName]) -> Vec<Summary> {
    policies
        .iter()
        .map(|p| {
            let mine: Vec<&RunRow> = rows.iter().filter(|r| r.policy == p.name()).collect();
            let n = mine.len().max(1) as f64;
            let mean = |f: fn(&RunRow) -> f64| mine.iter().map(|r| f(r)).sum::<f64>() / n;
            let max = |f: fn(&RunRow) -> f64| mine.iter().map(|r| f(r)).fold(0.0, f64::max);
            let profit = mean(|r| r.profit);
            let var = mine
                .iter()
                .map(|r| (r.profit - profit).powi(2))
                .sum::<f64>()
                / (n - 1.0).max(1.0);
            let mut p50: Vec<f64> = mine.iter().map(|r| r.decision_p50_ms).collect();
            p50.sort_by(f64::total_cmp);
            Summary {
                policy: p.name(),
                runs: mine.len(),
                profit,
                profit_sd: var.sqrt(),
                served_share: mean(|r| r.served_share),
                mean_wait_s: mean(|r| r.mean_wait_s),
                p95_wait_s: mean(|r| r.p95_wait_s),
                empty_km_share: mean(|r| r.empty_km_share),
                decision_p50_ms: crate::engine::percentile(&p50, 0.5),
                decision_p99_ms: max(|r| r.decision_p99_ms),
                decision_max_ms: max(|r| r.decision_max_ms),
                wall_s: mean(|r| r.wall_s),
                cpu_s: mean(|r| r.cpu_s),
                peak_mem_mb: max(|r| r.peak_mem_mb),
                ratio_to_offline: mean(|r| r.ratio_to_offline),
                request_value: mean(|r| r.request_value),
                refused: mine.iter().map(|r| r.refused).sum(),
                offline_bound: mine.first().map_or("", |r| r.offline_bound),
            }
        })
        .collect()
}

/// The terminal table.
pub fn table(args: &RidehailArgs, summary: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ridehail {} — {} seed(s) from {}, means over seeds; ratio = profit / offline bound ({})",
        args.class,
        args.seeds,
        args.first_seed,
        summary.first().map_or("", |s| s.offline_bound)
    );
    let _ = writeln!(
        out,
        "{:<17} {:>10} {:>8} {:>7} {:>7} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>6} {:>7}",
        "policy",
        "profit $",
        "sd $",
        "served",
        "wait s",
        "p95 s",
        "empty",
        "p50 ms",
        "p99 ms",
        "max ms",
        "wall s",
        "cpu s",
        "peak MB",
        "ratio",
        "refused"
    );
    for s in summary {
        let _ = writeln!(
            out,
            "{:<17} {:>10.0} {:>8.0} {:>6.1}% {:>7.0} {:>7.0} {:>5.1}% {:>8.3} {:>8.3} {:>8.2} {:>8.3} {:>7.2} {:>8.1} {:>6.3} {:>7}",
            s.policy,
            s.profit,
            s.profit_sd,
            100.0 * s.served_share,
            s.mean_wait_s,
            s.p95_wait_s,
            100.0 * s.empty_km_share,
            s.decision_p50_ms,
            s.decision_p99_ms,
            s.decision_max_ms,
            s.wall_s,
            s.cpu_s,
            s.peak_mem_mb,
            s.ratio_to_offline,
            s.refused
        );
    }
    if let Some(v) = summary.first() {
        let _ = writeln!(
            out,
            "mean request value of the days: ${:.0}",
            v.request_value
        );
    }
    out
}

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart as inline SVG: one bar per policy (the mean), one dot per run.
pub(crate) fn svg_bars(title: &str, unit: &str, bars: &[(&str, f64, Vec<f64>)]) -> String {
    let (w, row_h, left) = (720.0, 34.0, 150.0);
    let h = 40.0 + row_h * bars.len() as f64;
    let top = bars
        .iter()
        .flat_map(|(_, m, pts)| pts.iter().copied().chain(std::iter::once(*m)))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let scale = (w - left - 90.0) / top;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">"#,
        esc(title)
    );
    for (i, (label, mean, pts)) in bars.iter().enumerate() {
        let y = 20.0 + row_h * i as f64;
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" font-size="13">{}</text><rect x="{left}" y="{y}" width="{:.1}" height="22" fill="#4a7fb5"/><text x="{:.1}" y="{}" font-size="12">{:.2} {}</text>"##,
            left - 8.0,
            y + 16.0,
            esc(label),
            (mean * scale).max(0.0),
            left + (mean * scale).max(0.0) + 6.0,
            y + 16.0,
            mean,
            esc(unit)
        );
        for p in pts {
            let _ = write!(
                s,
                r##"<circle cx="{:.1}" cy="{}" r="3" fill="#d9822b" fill-opacity="0.8"/>"##,
                left + (p * scale).max(0.0),
                y + 11.0
            );
        }
    }
    s.push_str("</svg></figure>\n");
    s
}

/// The HTML report: the summary table and charts, self-contained (no scripts, no external files).
pub fn html(args: &RidehailArgs, summary: &[Summary], rows: &[RunRow]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>doorstep bench ridehail {class}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:980px}}table{{border-collapse:collapse}}\
         td,th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         figcaption{{font-weight:600;margin:1em 0 .3em}}</style></head><body>\
         <h1>Ride-hailing benchmark: {class}</h1><p>{seeds} seeded day(s) from seed {first}. Bars are means over seeds, dots single days. \
         Ratios are against the offline bound named in the table (see docs/benchmarks.md).</p>",
        class = args.class,
        seeds = args.seeds,
        first = args.first_seed,
    );
    out.push_str("<pre>");
    out.push_str(&esc(&table(args, summary)));
    out.push_str("</pre>");
    let series = |f: fn(&RunRow) -> f64, g: fn(&Summary) -> f64| -> Vec<(&str, f64, Vec<f64>)> {
        summary
            .iter()
            .map(|s| {
                (
                    s.policy,
                    g(s),
                    rows.iter()
                        .filter(|r| r.policy == s.policy)
                        .map(f)
                        .collect(),
                )
            })
            .collect()
    };
    out.push_str(&svg_bars(
        "Profit per day",
        "$",
        &series(|r| r.profit, |s| s.profit),
    ));
    out.push_str(&svg_bars(
        "Share of requests served",
        "",
        &series(|r| r.served_share, |s| s.served_share),
    ));
    out.push_str(&svg_bars(
        "Mean pickup wait",
        "s",
        &series(|r| r.mean_wait_s, |s| s.mean_wait_s),
    ));
    out.push_str(&svg_bars(
        "Decision time p99",
        "ms",
        &series(|r| r.decision_p99_ms, |s| s.decision_p99_ms),
    ));
    out.push_str(&svg_bars(
        "Wall time of a day",
        "s",
        &series(|r| r.wall_s, |s| s.wall_s),
    ));
    out.push_str("</body></html>\n");
    out
}
