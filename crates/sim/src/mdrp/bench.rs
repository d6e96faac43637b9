//! `doorstep bench mdrp`: runs the policies on the instances of a folder (never copied into the
//! repository), prints a summary table or one JSON object per instance and policy, and writes an
//! HTML report and the solutions in the mdrplib format on request.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::engine::{Policy, simulate};
use super::instance::{Instance, InstanceError};
use super::metrics::{DayFigures, OrderFigures, figures, p90};
use super::solution;
use super::{DoorstepPolicy, ReyesPolicy};
use crate::bench::{esc, svg_bars};

/// Arguments of `doorstep bench mdrp`.
#[derive(Debug, Args)]
pub struct MdrpArgs {
    /// The folder of instances (one sub-folder each, in the Grubhub format).
    #[arg(long, default_value = "../shared/data/mdrplib/public_instances")]
    pub instances: PathBuf,
    /// Policies, comma-separated: doorstep, reyes.
    #[arg(long, value_delimiter = ',', default_value = "doorstep,reyes")]
    pub policy: Vec<MdrpPolicyName>,
    /// Only instances whose name contains one of these (comma-separated), e.g. `0o50`.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Only these seeds (the number an instance's name starts with): `0-6`, `3` or `0,2,5`.
    #[arg(long)]
    pub seeds: Option<SeedSet>,
    /// Print one JSON object per instance and policy, one per line, instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML report to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Write each solution to `DIR/<policy>/<instance>/solution_info_*.txt`.
    #[arg(long)]
    pub solutions: Option<PathBuf>,
    /// Worker threads running instances side by side (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A policy of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdrpPolicyName {
    /// [`DoorstepPolicy`].
    Doorstep,
    /// [`ReyesPolicy`].
    Reyes,
}

impl MdrpPolicyName {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            MdrpPolicyName::Doorstep => "doorstep",
            MdrpPolicyName::Reyes => "reyes",
        }
    }

    /// A fresh policy.
    pub fn policy(self) -> Box<dyn Policy> {
        match self {
            MdrpPolicyName::Doorstep => Box::new(DoorstepPolicy::new()),
            MdrpPolicyName::Reyes => Box::new(ReyesPolicy::new()),
        }
    }
}

/// A policy name that is neither `doorstep` nor `reyes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?} (expected doorstep or reyes)")]
pub struct UnknownMdrpPolicy(pub String);

impl FromStr for MdrpPolicyName {
    type Err = UnknownMdrpPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "doorstep" => Ok(MdrpPolicyName::Doorstep),
            "reyes" => Ok(MdrpPolicyName::Reyes),
            other => Err(UnknownMdrpPolicy(other.to_owned())),
        }
    }
}

/// A set of seeds: `0-6`, `3`, `0,2,5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSet(pub Vec<u32>);

/// A seed set that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid seeds {0:?} (expected a range such as 0-6 or a list such as 0,2,5)")]
pub struct InvalidSeeds(pub String);

impl FromStr for SeedSet {
    type Err = InvalidSeeds;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidSeeds(s.to_owned());
        let mut out = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if let Some((a, b)) = part.split_once('-') {
                let (a, b): (u32, u32) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            } else {
                out.push(part.parse().map_err(|_| bad())?);
            }
        }
        Ok(SeedSet(out))
    }
}

/// The seed of an instance: the number its name starts with.
pub fn seed_of(name: &str) -> Option<u32> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum MdrpBenchError {
    /// The instance folder does not exist.
    #[error(
        "no instance folder at {0} (pass --instances DIR: the mdrplib public_instances folder)"
    )]
    NoInstances(PathBuf),
    /// The folder exists but no instance matches.
    #[error("no instance in {0} matches the filters")]
    NothingSelected(PathBuf),
    /// Listing the folder failed.
    #[error("listing {path}")]
    List {
        /// The folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// An instance could not be read.
    #[error("instance {name}")]
    Instance {
        /// Its name.
        name: String,
        /// Why.
        #[source]
        source: InstanceError,
    },
    /// A file could not be written.
    #[error("writing {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// One instance under one policy: one JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct MdrpRow {
    /// The instance.
    pub instance: String,
    /// The policy.
    pub policy: &'static str,
    /// Orders of the instance.
    pub orders: usize,
    /// Orders some courier could serve.
    pub serveable: usize,
    /// Orders delivered.
    pub delivered: usize,
    /// Mean click-to-door, minutes.
    pub ctd_mean_min: f64,
    /// 90th percentile click-to-door, minutes.
    pub ctd_p90_min: f64,
    /// Mean ready-to-pickup, minutes.
    pub r2p_mean_min: f64,
    /// Mean click-to-door overage over the target, minutes.
    pub overage_mean_min: f64,
    /// Total courier pay, dollars.
    pub pay_total: f64,
    /// Pay per delivered order, dollars.
    pub pay_per_order: f64,
    /// Mean orders per instruction.
    pub bundle_mean: f64,
    /// Mean courier utilisation.
    pub utilisation_mean: f64,
    /// Mean lower bound of the delivered orders, minutes.
    pub lower_bound_mean_min: f64,
    /// Mean click-to-door less the lower bound, minutes.
    pub excess_mean_min: f64,
    /// Wall time of the simulation, seconds.
    pub wall_s: f64,
}

/// A run's full result: its row, its figures, and whether its written solution checks out.
#[derive(Debug, Clone)]
pub struct MdrpRun {
    /// The JSON row.
    pub row: MdrpRow,
    /// All figures.
    pub figures: DayFigures,
    /// Instructions carried out.
    pub assignments: usize,
    /// Courier hours of the instance.
    pub courier_hours: f64,
    /// Violations found by [`solution::check`] (empty: feasible).
    pub violations: Vec<String>,
}

/// The instance folders of `dir` that pass the filters, sorted by name.
pub fn select(
    dir: &Path,
    only: &[String],
    seeds: Option<&SeedSet>,
) -> Result<Vec<PathBuf>, MdrpBenchError> {
    if !dir.is_dir() {
        return Err(MdrpBenchError::NoInstances(dir.to_path_buf()));
    }
    let entries = std::fs::read_dir(dir).map_err(|source| MdrpBenchError::List {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("orders.txt").is_file())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (only.is_empty() || only.iter().any(|o| name.contains(o.as_str())))
                && seeds.is_none_or(|s| seed_of(&name).is_some_and(|x| s.0.contains(&x)))
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(MdrpBenchError::NothingSelected(dir.to_path_buf()));
    }
    Ok(out)
}

/// Runs `policy` on `inst`: the row, the figures and the check of the written solution; writes
/// the solution under `solutions` if given.
pub fn run_one(
    inst: &Instance,
    policy: MdrpPolicyName,
    solutions: Option<&Path>,
) -> Result<MdrpRun, MdrpBenchError> {
    let mut p = policy.policy();
    let started = Instant::now();
    let outcome = simulate(inst, p.as_mut());
    let wall_s = started.elapsed().as_secs_f64();
    let f = figures(inst, &outcome);
    let (a, o, c) = solution::write(inst, &outcome);
    let violations = solution::check(inst, &a, &o, &c);
    if let Some(dir) = solutions {
        let dir = dir.join(policy.name()).join(&inst.name);
        std::fs::create_dir_all(&dir).map_err(|source| MdrpBenchError::Write {
            path: dir.clone(),
            source,
        })?;
        for (name, text) in [
            ("solution_info_assignments.txt", &a),
            ("solution_info_orders.txt", &o),
            ("solution_info_couriers.txt", &c),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| MdrpBenchError::Write { path, source })?;
        }
    }
    Ok(MdrpRun {
        row: MdrpRow {
            instance: inst.name.clone(),
            policy: policy.name(),
            orders: f.orders,
            serveable: f.serveable,
            delivered: f.delivered,
            ctd_mean_min: f.ctd_mean,
            ctd_p90_min: f.ctd_p90,
            r2p_mean_min: f.r2p_mean,
            overage_mean_min: f.overage_mean,
            pay_total: f.pay_total,
            pay_per_order: f.pay_per_order,
            bundle_mean: f.bundle_mean,
            utilisation_mean: f.utilisation_mean,
            lower_bound_mean_min: f.lower_bound_mean,
            excess_mean_min: f.excess_mean,
            wall_s,
        },
        assignments: outcome.assignments.len(),
        courier_hours: inst.courier_hours(),
        figures: f,
        violations,
    })
}

/// The overall figures of one policy: order-weighted means and percentiles over every delivered
/// order of every instance, pay over every delivered order.
#[derive(Debug, Clone, Serialize)]
pub struct MdrpSummary {
    /// The policy.
    pub policy: &'static str,
    /// Instances run.
    pub instances: usize,
    /// Orders.
    pub orders: usize,
    /// Serveable orders.
    pub serveable: usize,
    /// Delivered orders.
    pub delivered: usize,
    /// Serveable orders not delivered.
    pub missed_serveable: usize,
    /// Delivered share of the serveable orders.
    pub delivered_share: f64,
    /// Mean click-to-door, minutes.
    pub ctd_mean_min: f64,
    /// 90th percentile click-to-door, minutes.
    pub ctd_p90_min: f64,
    /// Mean of the instances' mean click-to-door, minutes.
    pub ctd_mean_of_instances_min: f64,
    /// Mean ready-to-pickup, minutes.
    pub r2p_mean_min: f64,
    /// 90th percentile ready-to-pickup, minutes.
    pub r2p_p90_min: f64,
    /// Mean overage, minutes.
    pub overage_mean_min: f64,
    /// Total pay, dollars.
    pub pay_total: f64,
    /// Pay per delivered order, dollars.
    pub pay_per_order: f64,
    /// Orders per instruction.
    pub bundle_mean: f64,
    /// Mean of the instances' mean utilisation.
    pub utilisation_mean: f64,
    /// Delivered orders per courier-hour.
    pub orders_per_courier_hour: f64,
    /// Mean lower bound, minutes.
    pub lower_bound_mean_min: f64,
    /// Mean excess over the lower bound, minutes.
    pub excess_mean_min: f64,
    /// Instructions refused by the rules.
    pub refused: usize,
    /// Runs whose written solution failed the check.
    pub infeasible: usize,
    /// Total wall time of the simulations, seconds.
    pub wall_s: f64,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Per policy (in the order given), the overall figures of its runs.
pub fn summarise(runs: &[MdrpRun], policies: &[MdrpPolicyName]) -> Vec<MdrpSummary> {
    policies
        .iter()
        .map(|p| {
            let mine: Vec<&MdrpRun> = runs.iter().filter(|r| r.row.policy == p.name()).collect();
            let mut all = OrderFigures::default();
            let mut overage = 0.0;
            for r in &mine {
                all.ctd.extend(&r.figures.per_order.ctd);
                all.r2p.extend(&r.figures.per_order.r2p);
                all.lower_bound.extend(&r.figures.per_order.lower_bound);
                overage += r.figures.overage_mean * r.figures.delivered as f64;
            }
            let sum = |f: fn(&MdrpRun) -> usize| mine.iter().map(|r| f(r)).sum::<usize>();
            let delivered = all.ctd.len();
            let pay_total: f64 = mine.iter().map(|r| r.figures.pay_total).sum();
            let hours: f64 = mine.iter().map(|r| r.courier_hours).sum();
            let assignments = sum(|r| r.assignments);
            let serveable = sum(|r| r.figures.serveable);
            let d = delivered.max(1) as f64;
            let excess: f64 = all
                .ctd
                .iter()
                .zip(&all.lower_bound)
                .map(|(c, l)| c - l)
                .sum();
            MdrpSummary {
                policy: p.name(),
                instances: mine.len(),
                orders: sum(|r| r.figures.orders),
                serveable,
                delivered,
                missed_serveable: sum(|r| r.figures.missed_serveable),
                delivered_share: if serveable > 0 {
                    (serveable - sum(|r| r.figures.missed_serveable)) as f64 / serveable as f64
                } else {
                    0.0
                },
                ctd_mean_min: mean(&all.ctd),
                ctd_p90_min: p90(&all.ctd),
                ctd_mean_of_instances_min: mean(
                    &mine.iter().map(|r| r.figures.ctd_mean).collect::<Vec<_>>(),
                ),
                r2p_mean_min: mean(&all.r2p),
                r2p_p90_min: p90(&all.r2p),
                overage_mean_min: overage / d,
                pay_total,
                pay_per_order: pay_total / d,
                bundle_mean: if assignments > 0 {
                    delivered as f64 / assignments as f64
                } else {
                    0.0
                },
                utilisation_mean: mean(
                    &mine
                        .iter()
                        .map(|r| r.figures.utilisation_mean)
                        .collect::<Vec<_>>(),
                ),
                orders_per_courier_hour: if hours > 0.0 {
                    delivered as f64 / hours
                } else {
                    0.0
                },
                lower_bound_mean_min: mean(&all.lower_bound),
                excess_mean_min: excess / d,
                refused: sum(|r| r.figures.refused),
                infeasible: mine.iter().filter(|r| !r.violations.is_empty()).count(),
                wall_s: mine.iter().map(|r| r.row.wall_s).sum(),
            }
        })
        .collect()
}

/// The terminal table: overall per policy, then per instance when there are few.
pub fn table(summary: &[MdrpSummary], runs: &[MdrpRun]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mdrp — overall (order-weighted over all delivered orders; delivered % of serveable)"
    );
    let _ = writeln!(
        out,
        "{:<9} {:>4} {:>7} {:>7} {:>8} {:>6} {:>6} {:>6} {:>6} {:>6} {:>5} {:>10} {:>7} {:>6} {:>5} {:>6} {:>6} {:>6} {:>4} {:>4} {:>7}",
        "policy",
        "inst",
        "orders",
        "serve",
        "deliv%",
        "ctd",
        "(inst)",
        "p90",
        "r2p",
        "r2p90",
        "over",
        "pay $",
        "$/ord",
        "bundle",
        "util",
        "ord/h",
        "LB",
        "excess",
        "ref",
        "inf",
        "wall s"
    );
    for s in summary {
        let _ = writeln!(
            out,
            "{:<9} {:>4} {:>7} {:>7} {:>7.2}% {:>6.2} {:>6.2} {:>6.1} {:>6.2} {:>6.1} {:>5.2} {:>10.0} {:>7.2} {:>6.3} {:>5.3} {:>6.3} {:>6.2} {:>6.2} {:>4} {:>4} {:>7.2}",
            s.policy,
            s.instances,
            s.orders,
            s.serveable,
            100.0 * s.delivered_share,
            s.ctd_mean_min,
            s.ctd_mean_of_instances_min,
            s.ctd_p90_min,
            s.r2p_mean_min,
            s.r2p_p90_min,
            s.overage_mean_min,
            s.pay_total,
            s.pay_per_order,
            s.bundle_mean,
            s.utilisation_mean,
            s.orders_per_courier_hour,
            s.lower_bound_mean_min,
            s.excess_mean_min,
            s.refused,
            s.infeasible,
            s.wall_s
        );
    }
    if runs.len() <= 24 {
        let _ = writeln!(out, "\nper instance");
        let _ = writeln!(
            out,
            "{:<16} {:<9} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} {:>5} {:>6} {:>6} {:>4}",
            "instance",
            "policy",
            "orders",
            "deliv",
            "ctd",
            "p90",
            "r2p",
            "over",
            "$/ord",
            "bundle",
            "util",
            "LB",
            "excess",
            "feas"
        );
        for r in runs {
            let (row, f) = (&r.row, &r.figures);
            let _ = writeln!(
                out,
                "{:<16} {:<9} {:>6} {:>6} {:>6.2} {:>6.1} {:>6.2} {:>6.2} {:>7.2} {:>6.3} {:>5.3} {:>6.2} {:>6.2} {:>4}",
                row.instance,
                row.policy,
                f.orders,
                f.delivered,
                f.ctd_mean,
                f.ctd_p90,
                f.r2p_mean,
                f.overage_mean,
                f.pay_per_order,
                f.bundle_mean,
                f.utilisation_mean,
                f.lower_bound_mean,
                f.excess_mean,
                if r.violations.is_empty() { "ok" } else { "NO" }
            );
        }
    }
    out
}

/// The HTML report: the tables and charts per policy (bars: overall, dots: instances).
pub fn html(summary: &[MdrpSummary], runs: &[MdrpRun]) -> String {
    let mut out = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>doorstep bench mdrp</title>\
         <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}figcaption{font-weight:600;margin:1em 0 .3em}</style>\
         </head><body><h1>Meal delivery (MDRP) on the Grubhub instances</h1>\
         <p>Bars are overall figures, dots single instances (see docs/benchmarks.md).</p><pre>",
    );
    out.push_str(&esc(&table(summary, runs)));
    out.push_str("</pre>");
    let series =
        |f: fn(&MdrpRun) -> f64, g: fn(&MdrpSummary) -> f64| -> Vec<(&str, f64, Vec<f64>)> {
            summary
                .iter()
                .map(|s| {
                    (
                        s.policy,
                        g(s),
                        runs.iter()
                            .filter(|r| r.row.policy == s.policy)
                            .map(f)
                            .collect(),
                    )
                })
                .collect()
        };
    out.push_str(&svg_bars(
        "Mean click-to-door",
        "min",
        &series(|r| r.figures.ctd_mean, |s| s.ctd_mean_min),
    ));
    out.push_str(&svg_bars(
        "Mean excess over the lower bound",
        "min",
        &series(|r| r.figures.excess_mean, |s| s.excess_mean_min),
    ));
    out.push_str(&svg_bars(
        "Mean ready-to-pickup",
        "min",
        &series(|r| r.figures.r2p_mean, |s| s.r2p_mean_min),
    ));
    out.push_str(&svg_bars(
        "Pay per delivered order",
        "$",
        &series(|r| r.figures.pay_per_order, |s| s.pay_per_order),
    ));
    out.push_str(&svg_bars(
        "Orders per instruction",
        "",
        &series(|r| r.figures.bundle_mean, |s| s.bundle_mean),
    ));
    out.push_str(&svg_bars(
        "Wall time",
        "s",
        &series(|r| r.row.wall_s, |s| s.wall_s),
    ));
    out.push_str("</body></html>\n");
    out
}

/// Runs the benchmark and prints its results.
pub fn run(args: &MdrpArgs) -> Result<(), MdrpBenchError> {
    let dirs = select(&args.instances, &args.only, args.seeds.as_ref())?;
    let jobs: Vec<(usize, MdrpPolicyName)> = (0..dirs.len())
        .flat_map(|i| args.policy.iter().map(move |&p| (i, p)))
        .collect();
    let progress = ProgressBar::new(jobs.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, 64);
    // Instances are read once each, by whichever thread runs their first policy.
    let instances: Vec<std::sync::OnceLock<Result<Instance, String>>> =
        dirs.iter().map(|_| std::sync::OnceLock::new()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Result<MdrpRun, MdrpBenchError>>>> =
        std::sync::Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(i, policy)) = jobs.get(k) else {
                        break;
                    };
                    let inst = instances[i].get_or_init(|| {
                        Instance::read_dir(&dirs[i]).map_err(|e| {
                            let mut msg = e.to_string();
                            let mut src = std::error::Error::source(&e);
                            while let Some(s) = src {
                                let _ = write!(msg, ": {s}");
                                src = s.source();
                            }
                            msg
                        })
                    });
                    let result = match inst {
                        Ok(inst) => {
                            progress.set_message(format!("{} {}", inst.name, policy.name()));
                            run_one(inst, policy, args.solutions.as_deref())
                        }
                        Err(msg) => Err(MdrpBenchError::Instance {
                            name: dirs[i].display().to_string(),
                            source: InstanceError::Invalid(msg.clone()),
                        }),
                    };
                    if let Ok(mut r) = results.lock() {
                        r[k] = Some(result);
                    }
                    progress.inc(1);
                }
            });
        }
    });
    progress.finish_and_clear();
    let total_wall = started.elapsed().as_secs_f64();
    let mut runs = Vec::with_capacity(jobs.len());
    for r in results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
    {
        runs.push(r?);
    }
    if args.json {
        for r in &runs {
            if let Ok(line) = serde_json::to_string(&r.row) {
                println!("{line}");
            }
        }
    }
    let summary = summarise(&runs, &args.policy);
    if !args.json {
        print!("{}", table(&summary, &runs));
        println!(
            "{} instance(s), {} run(s) on {threads} thread(s): {total_wall:.2} s wall",
            dirs.len(),
            runs.len()
        );
        for r in runs.iter().filter(|r| !r.violations.is_empty()) {
            println!(
                "{} {}: {} violation(s), first: {}",
                r.row.instance,
                r.row.policy,
                r.violations.len(),
                r.violations[0]
            );
        }
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html(&summary, &runs)).map_err(|source| MdrpBenchError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}
