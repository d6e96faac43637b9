//! `doorstep bench geo`: the live index ([`doorstep_geo::GridIndex`], what the server's fleet
//! queries) in process, with the share of its answers that equal an exact great-circle ranking,
//! and the server's own path around it ([`Fleet`]) under the same workload.

use std::hint::black_box;
use std::time::Instant;

use doorstep_app::fleet::Fleet;
use doorstep_domain::{Timestamp, UserId};
use doorstep_geo::{City, GridIndex, LatLng, haversine_km};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::Serialize;

use crate::LoadtestError;
use crate::stats::{LatencySummary, vm_rss_bytes};

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

/// One measured fleet size: a table row, or a JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct GeoRow {
    /// Always `"geo"`.
    pub bench: &'static str,
    /// Fleet size.
    pub drivers: usize,
    /// The grid's cell side, km.
    pub cell: String,
    /// Initial inserts per second (building the index).
    pub inserts_per_s: f64,
    /// Location updates per second (upsert of an existing driver, projection included).
    pub updates_per_s: f64,
    /// Nanoseconds per update spent computing the bucket alone (the projection and the floor): a
    /// floor under the cost of an update.
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
    /// Heap bytes per driver as counted by the index from its vectors' capacities.
    pub counted_bytes_per_driver: f64,
    /// Share of sampled queries whose neighbour set equals the exact great-circle answer (a scan
    /// of every driver by [`haversine_km`]): the grid ranks by a projected plane distance, so the
    /// two differ only between near-ties.
    pub agreement_with_great_circle: Option<f64>,
}

/// The workload of one fleet size: initial positions, moves and query points, all in the box.
struct Workload {
    initial: Vec<LatLng>,
    moves: Vec<(u32, LatLng)>,
    queries: Vec<LatLng>,
}

/// How far a move goes at most in each of latitude and longitude, degrees (about 55 m × 42 m).
const STEP_DEG: f64 = 0.0005;
/// How many queries are compared with a great-circle scan of every driver.
const AGREEMENT_SAMPLE: usize = 200;

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

/// The bucket of a point as [`GridIndex`] computes it: the projection and the floor.
fn bucket_of(index: &GridIndex, p: LatLng) -> u64 {
    let q = index.project(p);
    let cell = index.cell_km();
    let (x, y) = (
        (f64::from(q.x) / cell).floor() as i64,
        (f64::from(q.y) / cell).floor() as i64,
    );
    ((x as u64) << 32) ^ (y as u64)
}

/// Runs `doorstep bench geo`: for each fleet size, builds the index, applies random moves, runs
/// nearest queries, and prints a row.
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
            "{:>9} {:>9} {:>11} {:>11} {:>7} {:>7} {:>10} {:>9} {:>9} {:>9} {:>6} {:>9} {:>10} {:>6}",
            "drivers",
            "cell",
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
        let rss0 = vm_rss_bytes();
        let started = Instant::now();
        let mut index = match args.grid_cell_km {
            Some(cell_km) => GridIndex::new(sw, ne, cell_km),
            None => GridIndex::for_fleet(sw, ne, n),
        };
        for (i, &p) in work.initial.iter().enumerate() {
            index.upsert(i as u32, p);
        }
        let row = measure(index, started, rss0, &work, args);
        print_row(&row, args.json)?;
        let fleet = measure_fleet(&work, args);
        if args.json {
            println!("{}", serde_json::to_string(&fleet)?);
        } else {
            println!(
                "{:>9} fleet: Fleet::report_positions in batches of {FLEET_BATCH} points of one driver \
                 {:.1} M points/s ({:.0} ns a batch); Fleet::candidates (k {}, {} km) mean {:.2} µs, \
                 p50 {:.2}, p99 {:.2}",
                fleet.drivers,
                fleet.points_per_s / 1e6,
                fleet.batch_ns,
                args.k,
                args.max_km,
                fleet.query.mean_us,
                fleet.query.p50_us,
                fleet.query.p99_us,
            );
        }
    }
    Ok(())
}

/// Points per batch in the fleet row, as the server's load test sends them.
const FLEET_BATCH: usize = 10;

/// The live server's path for the same workload: [`Fleet::report_positions`] (driver lookup, index
/// update, push bookkeeping) and [`Fleet::candidates`] (index query, great-circle re-ranking,
/// freshness), on one thread without the lock around them.
#[derive(Debug, Clone, Serialize)]
pub struct FleetRow {
    /// Always `"geo_fleet"`.
    pub bench: &'static str,
    /// Fleet size.
    pub drivers: usize,
    /// Points applied per second, in batches of ten consecutive moves given to one driver.
    pub points_per_s: f64,
    /// Nanoseconds per batch.
    pub batch_ns: f64,
    /// Latency of one `candidates` call.
    pub query: LatencySummary,
}

fn measure_fleet(work: &Workload, args: &GeoArgs) -> FleetRow {
    let mut fleet = Fleet::new(City::manhattan());
    let ids: Vec<UserId> = (0..work.initial.len())
        .map(|i| UserId::from_uuid(uuid::Uuid::from_u128(i as u128 + 1)))
        .collect();
    let start = Timestamp::from_millis(1_800_000_000_000);
    for (&id, &p) in ids.iter().zip(&work.initial) {
        fleet.set_online(id, true);
        fleet.report_positions(id, &[(p, start)], 2_000);
    }
    // Each run of ten moves goes to the driver of its first move, with increasing times.
    let batches: Vec<(UserId, Vec<(LatLng, Timestamp)>)> = work
        .moves
        .chunks(FLEET_BATCH)
        .enumerate()
        .map(|(c, chunk)| {
            let points = chunk
                .iter()
                .enumerate()
                .map(|(j, &(_, p))| (p, start.plus_millis(1 + (c * FLEET_BATCH + j) as i64)))
                .collect();
            (ids[chunk[0].0 as usize], points)
        })
        .collect();
    let started = Instant::now();
    for (id, points) in &batches {
        black_box(fleet.report_positions(*id, points, 2_000));
    }
    let seconds = started.elapsed().as_secs_f64();
    let fresh_since = start;
    let mut nanos = Vec::with_capacity(work.queries.len());
    for &q in &work.queries {
        let t = Instant::now();
        black_box(fleet.candidates(q, args.k, args.max_km, fresh_since));
        nanos.push(t.elapsed().as_nanos() as u64);
    }
    FleetRow {
        bench: "geo_fleet",
        drivers: work.initial.len(),
        points_per_s: if seconds > 0.0 {
            work.moves.len() as f64 / seconds
        } else {
            0.0
        },
        batch_ns: if batches.is_empty() {
            0.0
        } else {
            seconds * 1e9 / batches.len() as f64
        },
        query: LatencySummary::from_nanos(&mut nanos),
    }
}

/// Times updates and queries on an index already filled with `work.initial` (the fill was
/// started at `started`, with the resident set at `rss0` before it).
fn measure(
    mut index: GridIndex,
    started: Instant,
    rss0: Option<u64>,
    work: &Workload,
    args: &GeoArgs,
) -> GeoRow {
    let n = work.initial.len();
    let index_cell_km = index.cell_km();
    let insert_s = started.elapsed().as_secs_f64();
    let rss1 = vm_rss_bytes();
    let counted_bytes_per_driver = index.heap_bytes() as f64 / n as f64;
    let rss_bytes_per_driver = match (rss0, rss1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / n as f64),
        _ => None,
    };

    // How many moves change bucket: computed outside the timed loop.
    let mut last: Vec<u64> = work.initial.iter().map(|&p| bucket_of(&index, p)).collect();
    let mut changes = 0usize;
    for &(id, p) in &work.moves {
        let b = bucket_of(&index, p);
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

    // The bucket computation alone (projection and floor), the part of an update no bucket layout
    // can avoid.
    let started = Instant::now();
    let mut fold = 0u64;
    for &(_, p) in &work.moves {
        fold = fold.wrapping_add(bucket_of(&index, black_box(p)));
    }
    black_box(fold);
    let bucket_s = started.elapsed().as_secs_f64();

    let mut nanos = Vec::with_capacity(work.queries.len());
    let mut found = 0usize;
    let mut sample = Vec::with_capacity(AGREEMENT_SAMPLE.min(work.queries.len()));
    let started = Instant::now();
    for (i, &q) in work.queries.iter().enumerate() {
        let t = Instant::now();
        let ids: Vec<u32> = index
            .nearest(q, args.k, args.max_km)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        nanos.push(t.elapsed().as_nanos() as u64);
        found += ids.len();
        if i < AGREEMENT_SAMPLE {
            sample.push(ids);
        } else {
            black_box(ids);
        }
    }
    let query_s = started.elapsed().as_secs_f64();
    let positions: Vec<LatLng> = {
        let mut now = work.initial.clone();
        for &(id, p) in &work.moves {
            now[id as usize] = p;
        }
        now
    };
    let agreement_with_great_circle = agreement(&sample, &work.queries, &positions, args);
    drop(index);
    let per_s = |count: usize, s: f64| if s > 0.0 { count as f64 / s } else { 0.0 };
    GeoRow {
        bench: "geo",
        drivers: n,
        cell: format!("{:.3} km", index_cell_km),
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
        agreement_with_great_circle,
    }
}

/// Share of the sampled queries whose neighbour set equals a great-circle scan of every driver
/// (`sample[i]` answers `queries[i]`; drivers are at `positions`).
fn agreement(
    sample: &[Vec<u32>],
    queries: &[LatLng],
    positions: &[LatLng],
    args: &GeoArgs,
) -> Option<f64> {
    if sample.is_empty() {
        return None;
    }
    let same = sample
        .iter()
        .zip(queries)
        .filter(|(ids, q)| {
            let mut exact: Vec<(f64, u32)> = positions
                .iter()
                .enumerate()
                .map(|(id, &p)| (haversine_km(**q, p), id as u32))
                .filter(|&(d, _)| d <= args.max_km)
                .collect();
            exact.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut exact: Vec<u32> = exact.iter().take(args.k).map(|&(_, id)| id).collect();
            let mut got = (*ids).clone();
            exact.sort_unstable();
            got.sort_unstable();
            exact == got
        })
        .count();
    Some(same as f64 / sample.len() as f64)
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
        "{:>9} {:>9} {:>11.0} {:>11.0} {:>7.1} {:>7.1} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>6.1} {:>9} {:>10.0} {:>6}",
        row.drivers,
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
        row.counted_bytes_per_driver,
        match row.agreement_with_great_circle {
            Some(a) => format!("{:.1}%", a * 100.0),
            None => "-".into(),
        },
    );
    Ok(())
}
