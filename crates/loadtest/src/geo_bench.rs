//! `doorstep bench geo`: the live index in process, H3 buckets against a uniform grid.

use std::hint::black_box;
use std::time::Instant;

use clap::ValueEnum;
use doorstep_geo::{City, LatLng, MoverIndex};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::Serialize;

use crate::stats::{LatencySummary, vm_rss_bytes};
use crate::{GridIndex, LoadtestError};

/// Arguments of `doorstep bench geo`.
#[derive(Debug, Clone, clap::Args)]
pub struct GeoArgs {
    /// Fleet sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000, 1_000_000])]
    pub drivers: Vec<usize>,
    /// Nearest queries per fleet size and index.
    #[arg(long, default_value_t = 100_000)]
    pub queries: usize,
    /// Location updates (random moves of random drivers) per fleet size and index.
    #[arg(long, default_value_t = 4_000_000)]
    pub updates: usize,
    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Search radius of a query, km (the server's nearby query uses 3 km).
    #[arg(long, default_value_t = 3.0)]
    pub max_km: f64,
    /// Indexes to measure, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["h3", "grid"])]
    pub index: Vec<IndexKind>,
    /// Side of the grid's cells in km (default: sized for about four drivers per cell).
    #[arg(long)]
    pub grid_cell_km: Option<f64>,
    /// Seed of the workload (positions, moves, query points).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// An index under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    /// `doorstep_geo::MoverIndex<u32>`: H3 resolution 9 buckets, great-circle distances.
    H3,
    /// [`GridIndex`]: uniform grid in projected km, dense `u32` ids.
    Grid,
}

/// One measured (fleet size, index) pair: a table row, or a JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct GeoRow {
    /// Always `"geo"`.
    pub bench: &'static str,
    /// Which index.
    pub index: IndexKind,
    /// Fleet size.
    pub drivers: usize,
    /// Bucket size: H3 resolution 9 (≈ 0.17 km edges) or the grid's cell side in km.
    pub cell: String,
    /// Initial inserts per second (building the index).
    pub inserts_per_s: f64,
    /// Location updates per second (upsert of an existing driver, projection included).
    pub updates_per_s: f64,
    /// Nanoseconds per update spent computing the bucket alone (H3 `to_cell`, or the grid's
    /// projection and floor): a floor under the cost of an update.
    pub bucket_ns: f64,
    /// Share of updates that changed bucket.
    pub bucket_changes: f64,
    /// Nearest queries per second (one thread, timer overhead of ~25 ns a query included).
    pub queries_per_s: f64,
    /// Latency of one query.
    pub query: LatencySummary,
    /// Mean neighbours found per query.
    pub mean_found: f64,
    /// Growth of the resident set while building the index, per driver (approximate: the
    /// allocator may reuse memory freed by an earlier row, which hides small indexes).
    pub rss_bytes_per_driver: Option<f64>,
    /// Heap bytes per driver as counted by the index from its vectors' capacities (grid only).
    pub counted_bytes_per_driver: Option<f64>,
    /// Share of sampled queries whose neighbour set equals the other index's (the metrics differ:
    /// great-circle against projected plane), when both ran.
    pub agreement_with_other: Option<f64>,
}

/// The workload of one fleet size: initial positions, moves and query points, all in the box.
struct Workload {
    initial: Vec<LatLng>,
    moves: Vec<(u32, LatLng)>,
    queries: Vec<LatLng>,
}

/// How far a move goes at most in each of latitude and longitude, degrees (about 55 m × 42 m).
const STEP_DEG: f64 = 0.0005;
/// How many queries per index are kept to compare neighbour sets.
const AGREEMENT_SAMPLE: usize = 2000;

fn clamp_to(sw: LatLng, ne: LatLng, lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat.clamp(sw.lat(), ne.lat()), lng.clamp(sw.lng(), ne.lng())).unwrap_or(sw)
}

fn random_point(rng: &mut impl Rng, sw: LatLng, ne: LatLng) -> LatLng {
    let lat = rng.random_range(sw.lat()..=ne.lat());
    let lng = rng.random_range(sw.lng()..=ne.lng());
    clamp_to(sw, ne, lat, lng)
}

impl Workload {
    fn new(
        seed: u64,
        drivers: usize,
        updates: usize,
        queries: usize,
        sw: LatLng,
        ne: LatLng,
    ) -> Self {
        let mut rng = Pcg64::seed_from_u64(seed ^ (drivers as u64).rotate_left(17));
        let initial: Vec<LatLng> = (0..drivers)
            .map(|_| random_point(&mut rng, sw, ne))
            .collect();
        let mut now = initial.clone();
        let mut moves = Vec::with_capacity(updates);
        for _ in 0..updates {
            let id = rng.random_range(0..drivers);
            let p = now[id];
            let q = clamp_to(
                sw,
                ne,
                p.lat() + rng.random_range(-STEP_DEG..=STEP_DEG),
                p.lng() + rng.random_range(-STEP_DEG..=STEP_DEG),
            );
            now[id] = q;
            moves.push((id as u32, q));
        }
        let queries = (0..queries)
            .map(|_| random_point(&mut rng, sw, ne))
            .collect();
        Workload {
            initial,
            moves,
            queries,
        }
    }
}

/// What the benchmark needs of an index.
trait LiveIndex {
    fn upsert(&mut self, id: u32, p: LatLng);
    fn nearest_ids(&self, p: LatLng, k: usize, max_km: f64) -> Vec<u32>;
    fn bucket_of(&self, p: LatLng) -> u64;
    /// Heap bytes counted by the index itself, where it can.
    fn counted_bytes(&self) -> Option<usize> {
        None
    }
}

impl LiveIndex for MoverIndex<u32> {
    fn upsert(&mut self, id: u32, p: LatLng) {
        MoverIndex::upsert(self, id, p);
    }
    fn nearest_ids(&self, p: LatLng, k: usize, max_km: f64) -> Vec<u32> {
        self.nearest(p, k, max_km)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }
    fn bucket_of(&self, p: LatLng) -> u64 {
        h3o::LatLng::new(p.lat(), p.lng())
            .map(|ll| u64::from(ll.to_cell(self.resolution())))
            .unwrap_or(0)
    }
}

impl LiveIndex for GridIndex {
    fn counted_bytes(&self) -> Option<usize> {
        Some(self.heap_bytes())
    }
    fn upsert(&mut self, id: u32, p: LatLng) {
        GridIndex::upsert(self, id, p);
    }
    fn nearest_ids(&self, p: LatLng, k: usize, max_km: f64) -> Vec<u32> {
        self.nearest(p, k, max_km)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }
    fn bucket_of(&self, p: LatLng) -> u64 {
        let q = self.project(p);
        let cell = self.cell_km();
        let (x, y) = (
            (f64::from(q.x) / cell).floor() as i64,
            (f64::from(q.y) / cell).floor() as i64,
        );
        ((x as u64) << 32) ^ (y as u64)
    }
}

/// Runs `doorstep bench geo`: for each fleet size and index, builds the index, applies random
/// moves, runs nearest queries, and prints a row.
pub fn run_geo(args: &GeoArgs) -> Result<(), LoadtestError> {
    if args.drivers.is_empty()
        || args
            .drivers
            .iter()
            .any(|&n| n == 0 || n > u32::MAX as usize)
    {
        return Err(LoadtestError::Usage(
            "--drivers takes fleet sizes from 1 to 2^32 - 1".into(),
        ));
    }
    if args.index.is_empty() {
        return Err(LoadtestError::Usage("--index names no index".into()));
    }
    if args.k == 0 || args.max_km.is_nan() || args.max_km < 0.0 {
        return Err(LoadtestError::Usage(
            "--k must be at least 1 and --max-km a non-negative number".into(),
        ));
    }
    let city = City::manhattan();
    let (sw, ne) = city.bounding_box();
    if !args.json {
        println!(
            "bench geo: Manhattan bounding box ({:.4},{:.4})-({:.4},{:.4}), {} updates and {} queries \
             (k = {}, max {} km) per row, seed {}",
            sw.lat(),
            sw.lng(),
            ne.lat(),
            ne.lng(),
            args.updates,
            args.queries,
            args.k,
            args.max_km,
            args.seed
        );
        println!(
            "{:>9} {:>5} {:>9} {:>11} {:>11} {:>7} {:>7} {:>10} {:>9} {:>9} {:>9} {:>6} {:>9} {:>10} {:>6}",
            "drivers",
            "index",
            "bucket",
            "inserts/s",
            "updates/s",
            "cell ns",
            "moved%",
            "queries/s",
            "mean µs",
            "p50 µs",
            "p99 µs",
            "found",
            "rss B/drv",
            "heap B/drv",
            "agree"
        );
    }
    for &n in &args.drivers {
        let work = Workload::new(args.seed, n, args.updates, args.queries, sw, ne);
        let mut rows: Vec<(GeoRow, Vec<Vec<u32>>)> = Vec::new();
        for &kind in &args.index {
            let measured = match kind {
                IndexKind::H3 => {
                    let rss0 = vm_rss_bytes();
                    let started = Instant::now();
                    let mut index = MoverIndex::<u32>::new();
                    for (i, &p) in work.initial.iter().enumerate() {
                        index.upsert(i as u32, p);
                    }
                    measure(kind, "h3 res 9".into(), index, started, rss0, &work, args)
                }
                IndexKind::Grid => {
                    let rss0 = vm_rss_bytes();
                    let started = Instant::now();
                    let mut index = match args.grid_cell_km {
                        Some(cell_km) => GridIndex::new(sw, ne, cell_km),
                        None => GridIndex::for_fleet(sw, ne, n),
                    };
                    let cell = format!("{:.3} km", index.cell_km());
                    for (i, &p) in work.initial.iter().enumerate() {
                        index.upsert(i as u32, p);
                    }
                    measure(kind, cell, index, started, rss0, &work, args)
                }
            };
            rows.push(measured);
        }
        if rows.len() == 2 {
            let agree = agreement(&rows[0].1, &rows[1].1);
            for (row, _) in &mut rows {
                row.agreement_with_other = agree;
            }
        }
        for (row, _) in &rows {
            print_row(row, args.json)?;
        }
    }
    Ok(())
}

/// Times updates and queries on an index already filled with `work.initial` (the fill was
/// started at `started`, with the resident set at `rss0` before it).
fn measure<I: LiveIndex>(
    kind: IndexKind,
    cell: String,
    mut index: I,
    started: Instant,
    rss0: Option<u64>,
    work: &Workload,
    args: &GeoArgs,
) -> (GeoRow, Vec<Vec<u32>>) {
    let n = work.initial.len();
    let insert_s = started.elapsed().as_secs_f64();
    let rss1 = vm_rss_bytes();
    let counted_bytes_per_driver = index.counted_bytes().map(|b| b as f64 / n as f64);
    let rss_bytes_per_driver = match (rss0, rss1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / n as f64),
        _ => None,
    };

    // How many moves change bucket: computed outside the timed loop.
    let mut last: Vec<u64> = work.initial.iter().map(|&p| index.bucket_of(p)).collect();
    let mut changes = 0usize;
    for &(id, p) in &work.moves {
        let b = index.bucket_of(p);
        if last[id as usize] != b {
            changes += 1;
            last[id as usize] = b;
        }
    }

    let started = Instant::now();
    for &(id, p) in &work.moves {
        index.upsert(id, p);
    }
    let update_s = started.elapsed().as_secs_f64();

    // The bucket computation alone (H3: `LatLng::to_cell`; grid: projection and floor), the part
    // of an update no bucket layout can avoid.
    let started = Instant::now();
    let mut fold = 0u64;
    for &(_, p) in &work.moves {
        fold = fold.wrapping_add(index.bucket_of(black_box(p)));
    }
    black_box(fold);
    let bucket_s = started.elapsed().as_secs_f64();

    let mut nanos = Vec::with_capacity(work.queries.len());
    let mut found = 0usize;
    let mut sample = Vec::with_capacity(AGREEMENT_SAMPLE.min(work.queries.len()));
    let started = Instant::now();
    for (i, &q) in work.queries.iter().enumerate() {
        let t = Instant::now();
        let ids = index.nearest_ids(q, args.k, args.max_km);
        nanos.push(t.elapsed().as_nanos() as u64);
        found += ids.len();
        if i < AGREEMENT_SAMPLE {
            sample.push(ids);
        } else {
            black_box(ids);
        }
    }
    let query_s = started.elapsed().as_secs_f64();
    drop(index);
    let per_s = |count: usize, s: f64| if s > 0.0 { count as f64 / s } else { 0.0 };
    let row = GeoRow {
        bench: "geo",
        index: kind,
        drivers: n,
        cell,
        inserts_per_s: per_s(n, insert_s),
        updates_per_s: per_s(work.moves.len(), update_s),
        bucket_ns: if work.moves.is_empty() {
            0.0
        } else {
            bucket_s * 1e9 / work.moves.len() as f64
        },
        bucket_changes: if work.moves.is_empty() {
            0.0
        } else {
            changes as f64 / work.moves.len() as f64
        },
        queries_per_s: per_s(work.queries.len(), query_s),
        query: LatencySummary::from_nanos(&mut nanos),
        mean_found: if work.queries.is_empty() {
            0.0
        } else {
            found as f64 / work.queries.len() as f64
        },
        rss_bytes_per_driver,
        counted_bytes_per_driver,
        agreement_with_other: None,
    };
    (row, sample)
}

/// Share of queries whose neighbour sets are equal.
fn agreement(a: &[Vec<u32>], b: &[Vec<u32>]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n == 0 {
        return None;
    }
    let same = a
        .iter()
        .zip(b)
        .filter(|(x, y)| {
            let (mut x, mut y) = ((*x).clone(), (*y).clone());
            x.sort_unstable();
            y.sort_unstable();
            x == y
        })
        .count();
    Some(same as f64 / n as f64)
}

fn print_row(row: &GeoRow, json: bool) -> Result<(), LoadtestError> {
    if json {
        println!("{}", serde_json::to_string(row)?);
        return Ok(());
    }
    let opt = |v: Option<f64>, scale: f64, digits: usize| match v {
        Some(v) => format!("{:.*}", digits, v * scale),
        None => "-".into(),
    };
    println!(
        "{:>9} {:>5} {:>9} {:>11.0} {:>11.0} {:>7.1} {:>7.1} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>6.1} {:>9} {:>10} {:>6}",
        row.drivers,
        match row.index {
            IndexKind::H3 => "h3",
            IndexKind::Grid => "grid",
        },
        row.cell,
        row.inserts_per_s,
        row.updates_per_s,
        row.bucket_ns,
        row.bucket_changes * 100.0,
        row.queries_per_s,
        row.query.mean_us,
        row.query.p50_us,
        row.query.p99_us,
        row.mean_found,
        opt(row.rss_bytes_per_driver, 1.0, 0),
        opt(row.counted_bytes_per_driver, 1.0, 0),
        match row.agreement_with_other {
            Some(a) => format!("{:.1}%", a * 100.0),
            None => "-".into(),
        },
    );
    Ok(())
}
