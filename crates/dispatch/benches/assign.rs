//! Criterion benchmarks of the dispatch kernels: the exact [`assign_min_cost`] against the
//! [`assign_greedy`] baseline on the same problems (one group per batch size, so each group reads
//! as a ratio), and [`prune_candidates`] itself.
//!
//! The problems are seeded and shaped like the live dispatcher's: requests and drivers uniform in a
//! square whose side grows with the batch so that the density stays that of a busy city (about 33
//! drivers per km², Manhattan-like), each request lists its [`RAW_CANDIDATES`] nearest drivers with
//! the pickup ETA in seconds over the L1 distance as the cost, an unassigned cost far above any ETA
//! (as `crates/app/src/dispatcher.rs` sets), and [`prune_candidates`] keeps [`KEPT_CANDIDATES`] per
//! request, as the simulator's `batch` policy does. As many requests as drivers is the saturated
//! case, the hardest one for the exact solver.
//!
//! Run: `cargo bench -p doorstep-dispatch --bench assign -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use doorstep_dispatch::{
    AssignmentProblem, Candidate, assign_greedy, assign_min_cost, prune_candidates,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Batch sizes measured, as (requests, drivers).
const SIZES: [(usize, usize); 3] = [(50, 50), (500, 500), (2000, 2000)];
/// Candidates listed per request before pruning: the nearest drivers, as the fleet index returns.
const RAW_CANDIDATES: usize = 48;
/// Candidates kept per request by [`prune_candidates`] (the simulator's `batch` policy keeps 16).
const KEPT_CANDIDATES: usize = 16;
/// Drivers per km² of the square the batch lives in.
const DRIVERS_PER_KM2: f64 = 33.0;
/// Pickup driving speed, km/s (18 km/h, a Manhattan daytime average).
const SPEED_KMPS: f64 = 0.005;
/// Cost of leaving a request unassigned: far above any ETA, so the optimum serves as many as it can.
const UNASSIGNED_COST: f64 = 1.0e7;

/// A seeded batch of `requests` × `drivers` with each request's [`RAW_CANDIDATES`] nearest
/// drivers as candidates (in driver order, as a scan of the fleet lists them), not yet pruned.
fn raw_problem(seed: u64, requests: usize, drivers: usize) -> AssignmentProblem {
    let mut rng = Pcg64::seed_from_u64(seed);
    let side_km = (drivers as f64 / DRIVERS_PER_KM2).sqrt();
    let mut point = || {
        (
            rng.random_range(0.0..side_km),
            rng.random_range(0.0..side_km),
        )
    };
    let driver_at: Vec<(f64, f64)> = (0..drivers).map(|_| point()).collect();
    let request_at: Vec<(f64, f64)> = (0..requests).map(|_| point()).collect();
    let mut candidates = Vec::with_capacity(requests * RAW_CANDIDATES);
    let mut row: Vec<(f64, usize)> = Vec::with_capacity(drivers);
    for (request, &(rx, ry)) in request_at.iter().enumerate() {
        row.clear();
        row.extend(
            driver_at
                .iter()
                .enumerate()
                .map(|(driver, &(dx, dy))| (((rx - dx).abs() + (ry - dy).abs()), driver)),
        );
        let keep = RAW_CANDIDATES.min(drivers);
        if keep < row.len() {
            row.select_nth_unstable_by(keep, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            row.truncate(keep);
        }
        row.sort_unstable_by_key(|&(_, driver)| driver);
        candidates.extend(row.iter().map(|&(km, driver)| Candidate {
            request,
            driver,
            cost: km / SPEED_KMPS,
        }));
    }
    AssignmentProblem {
        requests,
        drivers,
        candidates,
        unassigned_cost: vec![UNASSIGNED_COST; requests],
    }
}

/// `assign_greedy` (baseline, requests oldest first) and `assign_min_cost` on the same pruned
/// problem, one group per size. The served counts and pickup ETA sums are printed once per size
/// so the speed can be read next to what it buys.
fn assign(c: &mut Criterion) {
    for (requests, drivers) in SIZES {
        let mut problem = raw_problem(7, requests, drivers);
        prune_candidates(&mut problem, KEPT_CANDIDATES);
        let order: Vec<usize> = (0..requests).collect();
        let greedy = assign_greedy(&problem, &order).expect("a valid problem");
        let optimal = assign_min_cost(&problem).expect("a valid problem");
        // The pickup ETAs summed over the served requests: the total less the unassigned costs.
        let eta_sum =
            |served: usize, total: f64| total - (requests - served) as f64 * UNASSIGNED_COST;
        eprintln!(
            "assign/{requests}x{drivers}: {} candidates; greedy serves {} (ETA sum {:.0} s), \
             min_cost serves {} (ETA sum {:.0} s)",
            problem.candidates.len(),
            greedy.served(),
            eta_sum(greedy.served(), greedy.total_cost),
            optimal.served(),
            eta_sum(optimal.served(), optimal.total_cost),
        );
        let mut group = c.benchmark_group(format!("assign/{requests}x{drivers}"));
        if requests >= 2000 {
            group.sample_size(10);
        }
        group.bench_function("greedy", |b| {
            b.iter(|| assign_greedy(black_box(&problem), black_box(&order)))
        });
        group.bench_function("min_cost", |b| {
            b.iter(|| assign_min_cost(black_box(&problem)))
        });
        group.finish();
    }
}

/// `prune_candidates` from [`RAW_CANDIDATES`] to [`KEPT_CANDIDATES`] per request; the clone of
/// the raw problem it consumes is made outside the timed part.
fn prune(c: &mut Criterion) {
    let mut group = c.benchmark_group("prune_candidates");
    for (requests, drivers) in SIZES {
        let raw = raw_problem(7, requests, drivers);
        group.throughput(Throughput::Elements(raw.candidates.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{requests}x{drivers}")),
            &raw,
            |b, raw| {
                b.iter_batched(
                    || raw.clone(),
                    |mut problem| {
                        prune_candidates(&mut problem, KEPT_CANDIDATES);
                        problem
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, assign, prune);
criterion_main!(benches);
