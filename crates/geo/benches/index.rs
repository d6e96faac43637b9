//! Criterion benchmarks of the live driver index [`GridIndex`] (a uniform grid over the city's
//! bounding box, sized for the fleet as the server's `Fleet` sizes it): a location update of a
//! moving driver, and the 10 nearest available drivers within 3 km (the
//! server's nearby query), at 10k and 100k drivers spread over Manhattan's bounding box. At 10k a
//! naive linear scan with [`haversine_km`] over every driver sits in the same group as the
//! baseline, so the group reads as a ratio.
//!
//! The workload is that of `doorstep bench geo` (`crates/loadtest/src/geo_bench.rs`): random
//! drivers take steps of at most 0.0005° in latitude and longitude (about 55 m × 42 m), and query
//! points are uniform in the box.
//!
//! Run: `cargo bench -p doorstep-geo --bench index -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use doorstep_geo::{City, GridIndex, LatLng, haversine_km};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Fleet sizes measured.
const FLEETS: [usize; 2] = [10_000, 100_000];
/// The linear scan baseline runs at this fleet size only (it is linear in the fleet).
const SCAN_FLEET: usize = 10_000;
/// Neighbours per query.
const K: usize = 10;
/// Search radius of a query, km (the server's nearby query uses 3 km).
const MAX_KM: f64 = 3.0;
/// Largest step of a move in each of latitude and longitude, degrees.
const STEP_DEG: f64 = 0.0005;
/// Moves in one loop of the update workload (half out, half back: see [`Workload::new`]).
const MOVES: usize = 1 << 20;
/// Query points cycled through by the query benchmarks.
const QUERIES: usize = 4096;

/// Positions, moves and query points of one fleet size, all inside Manhattan's bounding box.
struct Workload {
    /// Where each driver (id = index) starts.
    initial: Vec<LatLng>,
    /// A closed loop of moves: every driver walks randomly for the first half and retraces its
    /// steps in the second, so cycling through the list is a seamless walk and never teleports a
    /// driver across the city.
    moves: Vec<(u32, LatLng)>,
    /// Query points.
    queries: Vec<LatLng>,
    /// The box the drivers stay in.
    south_west: LatLng,
    north_east: LatLng,
}

fn clamp_to(sw: LatLng, ne: LatLng, lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat.clamp(sw.lat(), ne.lat()), lng.clamp(sw.lng(), ne.lng())).unwrap_or(sw)
}

fn random_point(rng: &mut Pcg64, sw: LatLng, ne: LatLng) -> LatLng {
    let lat = rng.random_range(sw.lat()..=ne.lat());
    let lng = rng.random_range(sw.lng()..=ne.lng());
    clamp_to(sw, ne, lat, lng)
}

impl Workload {
    fn new(drivers: usize) -> Self {
        let (sw, ne) = City::manhattan().bounding_box();
        let mut rng = Pcg64::seed_from_u64(1 ^ (drivers as u64).rotate_left(17));
        let initial: Vec<LatLng> = (0..drivers)
            .map(|_| random_point(&mut rng, sw, ne))
            .collect();
        let mut now = initial.clone();
        let mut out = Vec::with_capacity(MOVES / 2);
        let mut back = Vec::with_capacity(MOVES / 2);
        for _ in 0..MOVES / 2 {
            let id = rng.random_range(0..drivers);
            let p = now[id];
            let q = clamp_to(
                sw,
                ne,
                p.lat() + rng.random_range(-STEP_DEG..=STEP_DEG),
                p.lng() + rng.random_range(-STEP_DEG..=STEP_DEG),
            );
            now[id] = q;
            let id = u32::try_from(id).expect("fleet sizes fit in u32");
            out.push((id, q));
            back.push((id, p));
        }
        back.reverse();
        out.extend(back);
        let queries = (0..QUERIES)
            .map(|_| random_point(&mut rng, sw, ne))
            .collect();
        Workload {
            initial,
            moves: out,
            queries,
            south_west: sw,
            north_east: ne,
        }
    }

    fn index(&self) -> GridIndex {
        let mut index = GridIndex::for_fleet(self.south_west, self.north_east, self.initial.len());
        for (id, &p) in (0u32..).zip(&self.initial) {
            index.upsert(id, p);
        }
        index
    }
}

/// The baseline: every driver's distance with [`haversine_km`], then the `k` smallest within
/// `max_km`, closest first.
fn linear_scan(drivers: &[LatLng], p: LatLng, k: usize, max_km: f64) -> Vec<(u32, f64)> {
    let mut found: Vec<(u32, f64)> = (0u32..)
        .zip(drivers)
        .map(|(id, &q)| (id, haversine_km(p, q)))
        .filter(|&(_, km)| km <= max_km)
        .collect();
    if found.len() > k {
        found.select_nth_unstable_by(k, |a, b| a.1.total_cmp(&b.1));
        found.truncate(k);
    }
    found.sort_unstable_by(|a, b| a.1.total_cmp(&b.1));
    found
}

/// Upserts of existing drivers along the closed walk: one move per iteration.
fn update(c: &mut Criterion) {
    let mut group = c.benchmark_group("grid_index/update");
    group.throughput(Throughput::Elements(1));
    for drivers in FLEETS {
        let workload = Workload::new(drivers);
        let mut index = workload.index();
        let mut next = 0;
        group.bench_function(BenchmarkId::from_parameter(drivers), |b| {
            b.iter(|| {
                let (id, p) = workload.moves[next];
                next = (next + 1) % workload.moves.len();
                index.upsert(black_box(id), black_box(p));
            })
        });
    }
    group.finish();
}

/// The 10 nearest drivers within 3 km of a query point, one query per iteration.
fn nearest(c: &mut Criterion) {
    for drivers in FLEETS {
        let workload = Workload::new(drivers);
        let index = workload.index();
        // The index (planar distances in its projection) and the great-circle scan must find the
        // same neighbours before their speeds are compared (a tie at the k-th may differ).
        let same = workload
            .queries
            .iter()
            .take(64)
            .filter(|&&p| {
                let mut by_index: Vec<u32> =
                    index.nearest(p, K, MAX_KM).iter().map(|x| x.0).collect();
                let mut by_scan: Vec<u32> = linear_scan(&workload.initial, p, K, MAX_KM)
                    .iter()
                    .map(|x| x.0)
                    .collect();
                by_index.sort_unstable();
                by_scan.sort_unstable();
                by_index == by_scan
            })
            .count();
        assert!(
            same >= 60,
            "index and scan agree on only {same} of 64 queries"
        );
        let mut group = c.benchmark_group(format!("nearest{K}/{}k", drivers / 1000));
        if drivers == SCAN_FLEET {
            let mut next = 0;
            group.bench_function("linear_scan", |b| {
                b.iter(|| {
                    let p = workload.queries[next];
                    next = (next + 1) % workload.queries.len();
                    linear_scan(&workload.initial, black_box(p), K, MAX_KM)
                })
            });
        }
        let mut next = 0;
        group.bench_function("grid_index", |b| {
            b.iter(|| {
                let p = workload.queries[next];
                next = (next + 1) % workload.queries.len();
                index.nearest(black_box(p), K, MAX_KM)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, update, nearest);
criterion_main!(benches);
