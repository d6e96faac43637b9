//! `doorstep bench vrptw`: runs the solver on every selected instance for an equal CPU-time budget on one
//! thread, checks each solution with [`check`], and prints a table (or one JSON object per instance) with
//! the gap to the best known solution, then the mean gap per family and per set.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Args;
use cpu_time::ThreadTime;
use doorstep_dispatch::vrptw::{Problem, Solution, VrptwError, solve};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::Serialize;

use super::bks::{Bks, BksError, BksTable};
use super::check::{Violation, check};
use super::instance::{Instance, VrplibError, units};
use super::solution::write_sol;

/// The name of the BKS table looked for beside the instances.
pub const BKS_FILE: &str = "bks_dimacs_distance.tsv";

/// Default CPU budget per 100 customers: 5 s for Solomon (100 customers), 10 s for GH200 (200).
pub const BUDGET_PER_100_CUSTOMERS_S: f64 = 5.0;

/// Arguments of `doorstep bench vrptw`.
#[derive(Debug, Args)]
pub struct VrptwArgs {
    /// A folder of VRPLIB VRPTW instances (`*.vrp`; a folder without any reads its sub-folders), or one
    /// `.vrp` file; may be given several times. Relative to the current directory.
    #[arg(long, default_values = ["data/vrptw/Solomon", "data/vrptw/GH200"])]
    pub instances: Vec<PathBuf>,
    /// The BKS table (tab-separated: `instance`, `bks_distance_dimacs`, optionally `set`, `bks_routes`).
    /// Default: `bks_dimacs_distance.tsv` in each instance folder or its parent; no table, no gap.
    #[arg(long)]
    pub bks: Option<PathBuf>,
    /// CPU seconds per instance on one thread (default: 5 per 100 customers, so 5 for Solomon and 10 for
    /// GH200).
    #[arg(long, value_parser = positive_seconds)]
    pub budget_s: Option<f64>,
    /// Write each solution to `DIR/<instance>.sol` (VRPLIB format).
    #[arg(long)]
    pub solutions: Option<PathBuf>,
    /// Print one JSON object per instance, one per line, instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// Only instances whose name contains one of these (comma-separated or repeated), e.g. `C1,RC2_2`.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Seed of the solver's random generator (the same for every instance).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Instances run side by side, each on its own thread with its own CPU budget.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum VrptwBenchError {
    /// An instance folder or file does not exist.
    #[error(
        "no instances at {0} (run from the repository's root for data/vrptw, or pass --instances DIR)"
    )]
    NoInstances(PathBuf),
    /// Nothing matches the filters.
    #[error("no instance matches the filters")]
    NothingSelected,
    /// Listing a folder failed.
    #[error("listing {path}")]
    List {
        /// The folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// An instance could not be read.
    #[error("instance")]
    Instance(#[from] VrplibError),
    /// A BKS table could not be read.
    #[error("bks table")]
    Bks(#[from] BksError),
    /// This platform gives no CPU time of a thread.
    #[error("the CPU time of a thread cannot be read here")]
    NoCpuClock(#[source] std::io::Error),
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

/// One instance file chosen to run, with its set (its folder's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The `.vrp` file.
    pub path: PathBuf,
    /// Its folder's name (`Solomon`, `GH200`).
    pub set: String,
}

/// The `.vrp` files under `dirs` whose name contains one of `only` (all when empty), folder by folder,
/// each folder's in natural order (`C1_2_2` before `C1_2_10`).
pub fn select(dirs: &[PathBuf], only: &[String]) -> Result<Vec<Selected>, VrptwBenchError> {
    let mut out = Vec::new();
    for dir in dirs {
        let mut files = Vec::new();
        if dir.is_file() {
            files.push(dir.clone());
        } else if dir.is_dir() {
            files = vrp_files(dir)?;
            if files.is_empty() {
                for sub in sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()) {
                    files.extend(vrp_files(&sub)?);
                }
            }
        } else {
            return Err(VrptwBenchError::NoInstances(dir.clone()));
        }
        for path in files {
            let stem = stem(&path);
            if only.is_empty() || only.iter().any(|o| stem.contains(o.as_str())) {
                let set = path
                    .parent()
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(Selected { path, set });
            }
        }
    }
    if out.is_empty() {
        return Err(VrptwBenchError::NothingSelected);
    }
    Ok(out)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, VrptwBenchError> {
    let list = |source| VrptwBenchError::List {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list)? {
        paths.push(entry.map_err(list)?.path());
    }
    paths.sort_by_key(|p| natural_key(&stem(p)));
    Ok(paths)
}

fn vrp_files(dir: &Path) -> Result<Vec<PathBuf>, VrptwBenchError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "vrp"))
        .collect())
}

/// A sort key that orders the numbers inside a name by value: `R1_2_2` before `R1_2_10`.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = name.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut n: u64 = 0;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = n.saturating_mul(10).saturating_add(u64::from(d));
                chars.next();
            }
            key.push((std::mem::take(&mut text), n));
        } else {
            text.push(c);
            chars.next();
        }
    }
    key.push((text, 0));
    key
}

/// The family of an instance: `C101` → `C1`, `RC208` → `RC2`, `C1_2_10` → `C1_2`.
pub fn family(name: &str) -> String {
    if let Some((family, _)) = name.rsplit_once('_') {
        return family.to_owned();
    }
    let letters: String = name.chars().take_while(char::is_ascii_alphabetic).collect();
    let digit: String = name[letters.len()..].chars().take(1).collect();
    letters + &digit
}

/// The default CPU budget of an instance: 5 s per 100 customers.
pub fn default_budget(customers: usize) -> Duration {
    Duration::from_secs_f64(BUDGET_PER_100_CUSTOMERS_S * customers.max(1) as f64 / 100.0)
}

/// Gap to the BKS in per cent: `100 × (distance − bks) / bks`.
pub fn gap_pct(distance: i64, bks: i64) -> f64 {
    100.0 * (distance - bks) as f64 / bks as f64
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let k = 10_f64.powi(decimals);
    (x * k).round() / k
}

/// One instance's JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrptwRow {
    /// The instance's name.
    pub instance: String,
    /// Its customers.
    pub customers: usize,
    /// Routes of the solution the solver returned (null: none returned).
    pub routes: Option<usize>,
    /// DIMACS distance of the returned solution in units, one decimal (recomputed by the check).
    pub distance: Option<f64>,
    /// The best known distance, if the table has the instance.
    pub bks: Option<f64>,
    /// `100 × (distance − bks) / bks`, for a feasible solution with a BKS only (3 decimals).
    pub gap_pct: Option<f64>,
    /// Whether the solver returned a solution and the check found nothing wrong with it.
    pub feasible: bool,
    /// CPU seconds the solver's thread used (3 decimals).
    pub cpu_s: f64,
}

/// One instance's run: its row and what the table and summary need besides.
#[derive(Debug, Clone)]
pub struct VrptwRun {
    /// The JSON row.
    pub row: VrptwRow,
    /// The instance's set (its folder's name).
    pub set: String,
    /// Its family ([`family`]).
    pub family: String,
    /// `VEHICLES` of the instance.
    pub vehicles: usize,
    /// Routes of the BKS, if known.
    pub bks_routes: Option<usize>,
    /// The returned solution's non-empty routes (empty: none returned).
    pub routes: Vec<Vec<usize>>,
    /// The returned solution's distance in tenths, recomputed.
    pub distance: Option<i64>,
    /// The BKS in tenths.
    pub bks: Option<i64>,
    /// What the check refused in the returned solution.
    pub violations: Vec<Violation>,
    /// Why there is no solution (the solver's error, or its panic).
    pub failure: Option<String>,
    /// The budget given, CPU seconds.
    pub budget_s: f64,
}

/// Runs the solver on `instance` for `budget` CPU time of this thread, then checks what it returned.
pub fn run_one(
    instance: &Instance,
    set: &str,
    bks: Option<&Bks>,
    budget: Duration,
    seed: u64,
) -> Result<VrptwRun, VrptwBenchError> {
    run_one_with(instance, set, bks, budget, seed, |problem, rng, stop| {
        solve(problem, None, rng, stop)
    })
}

/// [`run_one`] with another solver in place of `doorstep_dispatch::vrptw::solve` (the tests use this to check
/// the budget, a panic and a wrong reported distance). The solver gets the problem, the seeded generator and
/// the stop callback.
pub fn run_one_with<F>(
    instance: &Instance,
    set: &str,
    bks: Option<&Bks>,
    budget: Duration,
    seed: u64,
    solver: F,
) -> Result<VrptwRun, VrptwBenchError>
where
    F: FnOnce(&Problem, &mut Pcg64, &mut dyn FnMut() -> bool) -> Result<Solution, VrptwError>,
{
    let problem = instance.problem();
    let mut rng = Pcg64::seed_from_u64(seed);
    let started = ThreadTime::try_now().map_err(VrptwBenchError::NoCpuClock)?;
    let mut stop = || started.try_elapsed().map_or(true, |used| used >= budget);
    // A panicking solver is reported as a run without a solution rather than ending the whole benchmark.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        solver(&problem, &mut rng, &mut stop)
    }));
    let cpu = started.try_elapsed().map_err(VrptwBenchError::NoCpuClock)?;
    let (solution, failure) = match outcome {
        Ok(Ok(solution)) => (Some(solution), None),
        Ok(Err(e @ (VrptwError::NoFeasibleSolution | VrptwError::Malformed(_)))) => {
            (None, Some(e.to_string()))
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            (None, Some(format!("the solver panicked: {what}")))
        }
    };
    let bks_tenths = bks.map(|b| b.distance);
    let (routes, distance, violations) = match &solution {
        Some(s) => {
            let routes: Vec<Vec<usize>> =
                s.routes.iter().filter(|r| !r.is_empty()).cloned().collect();
            let verdict = check(instance, &s.routes, Some(s.cost));
            (routes, Some(verdict.distance), verdict.violations)
        }
        None => (Vec::new(), None, Vec::new()),
    };
    let feasible = solution.is_some() && violations.is_empty();
    let gap = match (feasible, distance, bks_tenths) {
        (true, Some(d), Some(b)) => Some(round_to(gap_pct(d, b), 3)),
        _ => None,
    };
    Ok(VrptwRun {
        row: VrptwRow {
            instance: instance.name().to_owned(),
            customers: instance.customers(),
            routes: solution.as_ref().map(|_| routes.len()),
            distance: distance.map(units),
            bks: bks_tenths.map(units),
            gap_pct: gap,
            feasible,
            cpu_s: round_to(cpu.as_secs_f64(), 3),
        },
        set: set.to_owned(),
        family: family(instance.name()),
        vehicles: instance.vehicles(),
        bks_routes: bks.and_then(|b| b.routes),
        routes,
        distance,
        bks: bks_tenths,
        violations,
        failure,
        budget_s: budget.as_secs_f64(),
    })
}

/// The figures of a group of runs (a family or a set).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrptwSummary {
    /// The set.
    pub set: String,
    /// The family, or `all` for the whole set.
    pub family: String,
    /// Instances run.
    pub instances: usize,
    /// Instances with a feasible solution.
    pub feasible: usize,
    /// Instances with a feasible solution and a BKS (those in the mean gap).
    pub with_gap: usize,
    /// Mean gap over those, per cent.
    pub gap_mean_pct: Option<f64>,
    /// Mean routes of the feasible solutions.
    pub routes_mean: Option<f64>,
    /// Mean routes of the BKS of the same instances.
    pub bks_routes_mean: Option<f64>,
    /// Mean CPU seconds.
    pub cpu_mean_s: f64,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn summary_of(set: &str, family: &str, runs: &[&VrptwRun]) -> VrptwSummary {
    let feasible: Vec<&&VrptwRun> = runs.iter().filter(|r| r.row.feasible).collect();
    let gaps: Vec<f64> = feasible
        .iter()
        .filter_map(|r| Some(gap_pct(r.distance?, r.bks?)))
        .collect();
    let routes: Vec<f64> = feasible.iter().map(|r| r.routes.len() as f64).collect();
    let bks_routes: Vec<f64> = feasible
        .iter()
        .filter_map(|r| r.bks_routes.map(|b| b as f64))
        .collect();
    VrptwSummary {
        set: set.to_owned(),
        family: family.to_owned(),
        instances: runs.len(),
        feasible: feasible.len(),
        with_gap: gaps.len(),
        gap_mean_pct: mean(&gaps),
        routes_mean: mean(&routes),
        bks_routes_mean: mean(&bks_routes),
        cpu_mean_s: mean(&runs.iter().map(|r| r.row.cpu_s).collect::<Vec<_>>()).unwrap_or(0.0),
    }
}

/// Per set (in order of appearance): each family's figures, then the set's (`family` = `all`).
pub fn summarise(runs: &[VrptwRun]) -> Vec<VrptwSummary> {
    let mut sets: Vec<&str> = Vec::new();
    for r in runs {
        if !sets.contains(&r.set.as_str()) {
            sets.push(&r.set);
        }
    }
    let mut out = Vec::new();
    for set in sets {
        let mine: Vec<&VrptwRun> = runs.iter().filter(|r| r.set == set).collect();
        let mut families: Vec<&str> = mine.iter().map(|r| r.family.as_str()).collect();
        families.sort_by_key(|f| natural_key(f));
        families.dedup();
        for family in families {
            let of: Vec<&VrptwRun> = mine
                .iter()
                .copied()
                .filter(|r| r.family == family)
                .collect();
            out.push(summary_of(set, family, &of));
        }
        out.push(summary_of(set, "all", &mine));
    }
    out
}

/// The header of the per-instance table.
pub fn table_header() -> String {
    format!(
        "{:<8} {:<10} {:>5} {:>4} {:>6} {:>5} {:>9} {:>9} {:>8} {:>5} {:>7}",
        "set",
        "instance",
        "cust",
        "veh",
        "routes",
        "bks_r",
        "distance",
        "bks",
        "gap%",
        "feas",
        "cpu_s"
    )
}

/// One line of the per-instance table.
pub fn table_line(r: &VrptwRun) -> String {
    let opt = |x: Option<String>| x.unwrap_or_else(|| "-".to_owned());
    format!(
        "{:<8} {:<10} {:>5} {:>4} {:>6} {:>5} {:>9} {:>9} {:>8} {:>5} {:>7.2}",
        r.set,
        r.row.instance,
        r.row.customers,
        r.vehicles,
        opt(r.row.routes.map(|x| x.to_string())),
        opt(r.bks_routes.map(|x| x.to_string())),
        opt(r.row.distance.map(|x| format!("{x:.1}"))),
        opt(r.row.bks.map(|x| format!("{x:.1}"))),
        opt(r.row.gap_pct.map(|x| format!("{x:.2}"))),
        if r.row.feasible {
            "ok"
        } else if r.failure.is_some() {
            "none"
        } else {
            "NO"
        },
        r.row.cpu_s
    )
}

/// The per-family and per-set summary table.
pub fn summary_table(summary: &[VrptwSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mean gap to BKS over the feasible instances with a BKS (feasible/instances)"
    );
    let _ = writeln!(
        out,
        "{:<8} {:<7} {:>10} {:>8} {:>7} {:>7} {:>6}",
        "set", "family", "feasible", "gap%", "routes", "bks_r", "cpu_s"
    );
    let num = |x: Option<f64>, d: usize| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.d$}"));
    for s in summary {
        if s.family == "all" {
            let _ = writeln!(out, "{}", "-".repeat(59));
        }
        let _ = writeln!(
            out,
            "{:<8} {:<7} {:>10} {:>8} {:>7} {:>7} {:>6.2}",
            s.set,
            s.family,
            format!("{}/{}", s.feasible, s.instances),
            num(s.gap_mean_pct, 2),
            num(s.routes_mean, 1),
            num(s.bks_routes_mean, 1),
            s.cpu_mean_s
        );
        if s.family == "all" {
            let _ = writeln!(out);
        }
    }
    out
}

/// The BKS table of each selected instance: `--bks` for all, else the first `bks_dimacs_distance.tsv` in
/// the instance's folder or its parent (read once per file).
fn bks_tables(
    selected: &[Selected],
    explicit: Option<&Path>,
) -> Result<Vec<Option<std::sync::Arc<BksTable>>>, VrptwBenchError> {
    if let Some(path) = explicit {
        let table = std::sync::Arc::new(BksTable::read(path)?);
        return Ok(selected.iter().map(|_| Some(table.clone())).collect());
    }
    let mut cache: HashMap<PathBuf, std::sync::Arc<BksTable>> = HashMap::new();
    let mut out = Vec::with_capacity(selected.len());
    for s in selected {
        let folder = s.path.parent().unwrap_or(Path::new("."));
        let candidates = [Some(folder), folder.parent()];
        let found = candidates
            .into_iter()
            .flatten()
            .map(|d| d.join(BKS_FILE))
            .find(|p| p.is_file());
        let table = match found {
            Some(path) => match cache.get(&path) {
                Some(t) => Some(t.clone()),
                None => {
                    let t = std::sync::Arc::new(BksTable::read(&path)?);
                    cache.insert(path, t.clone());
                    Some(t)
                }
            },
            None => None,
        };
        out.push(table);
    }
    Ok(out)
}

/// Runs the benchmark and prints its results (rows as instances finish, in the order selected).
pub fn run(args: &VrptwArgs) -> Result<(), VrptwBenchError> {
    let selected = select(&args.instances, &args.only)?;
    let tables = bks_tables(&selected, args.bks.as_deref())?;
    let instances = selected
        .iter()
        .map(|s| Instance::read(&s.path))
        .collect::<Result<Vec<_>, _>>()?;
    let budgets: Vec<Duration> = instances
        .iter()
        .map(|i| {
            args.budget_s
                .map_or_else(|| default_budget(i.customers()), Duration::from_secs_f64)
        })
        .collect();
    let total: f64 = budgets.iter().map(Duration::as_secs_f64).sum();
    let jobs = usize::try_from(args.jobs).unwrap_or(1).min(instances.len());
    let progress = ProgressBar::new(instances.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} instances  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if !args.json {
        println!(
            "vrptw — {} instance(s), {total:.0} CPU s of budget in all on {jobs} thread(s), seed {}",
            instances.len(),
            args.seed
        );
        println!("{}", table_header());
    }
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Finished {
        results: (0..instances.len()).map(|_| None).collect(),
        printed: 0,
    });
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(instance) = instances.get(k) else {
                        break;
                    };
                    progress.set_message(instance.name().to_owned());
                    let bks = tables[k].as_ref().and_then(|t| t.get(instance.name()));
                    let result = run_one(instance, &selected[k].set, bks, budgets[k], args.seed)
                        .and_then(|run| {
                            if let Some(dir) = &args.solutions
                                && let Some(distance) = run.distance
                            {
                                write_solution(dir, &run, distance)?;
                            }
                            Ok(run)
                        });
                    progress.inc(1);
                    let Ok(mut guard) = done.lock() else {
                        break;
                    };
                    let Finished { results, printed } = &mut *guard;
                    results[k] = Some(result);
                    while let Some(Some(Ok(run))) = results.get(*printed) {
                        let line = if args.json {
                            serde_json::to_string(&run.row).unwrap_or_default()
                        } else {
                            table_line(run)
                        };
                        progress.suspend(|| println!("{line}"));
                        *printed += 1;
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    let results = done.into_inner().map(|f| f.results).unwrap_or_default();
    let mut runs = Vec::with_capacity(results.len());
    for r in results.into_iter().flatten() {
        runs.push(r?);
    }
    if !args.json {
        println!();
        print!("{}", summary_table(&summarise(&runs)));
        for r in &runs {
            if let Some(why) = &r.failure {
                println!("{}: no solution ({why})", r.row.instance);
            } else if let Some(v) = r.violations.first() {
                println!(
                    "{}: infeasible, {} violation(s), first: {v}",
                    r.row.instance,
                    r.violations.len()
                );
            }
        }
    }
    Ok(())
}

/// The runs finished so far (by selection index) and how many of them, from the first, have been printed.
#[derive(Debug)]
struct Finished {
    results: Vec<Option<Result<VrptwRun, VrptwBenchError>>>,
    printed: usize,
}

fn write_solution(dir: &Path, run: &VrptwRun, distance: i64) -> Result<(), VrptwBenchError> {
    std::fs::create_dir_all(dir).map_err(|source| VrptwBenchError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{}.sol", run.row.instance));
    std::fs::write(&path, write_sol(&run.routes, distance))
        .map_err(|source| VrptwBenchError::Write { path, source })
}
