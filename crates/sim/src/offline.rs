//! The clairvoyant offline bounds: upper bounds on the profit any policy can earn on a day.
//!
//! Two bounds are computed; [`offline_bound`] reports the smaller (the better) of those it ran.
//!
//! # The loose bound
//!
//! The loose bound is every request served, with no empty driving and
//! with its ride charged only when it certainly ends before the end of the day. It knows all of
//! the day's requests (and their drawn ride times) in advance.
//!
//! # Why it bounds every online policy
//!
//! Any policy's profit is the revenue of the requests it serves minus the cost of the km it drives
//! before the end of the day. Revenue is earned once per served request, at most once each. The km
//! driven include, for every served request `i` whose ride ends before 86,400 s, its whole trip
//! distance. A ride of `i` ends at `pickup_i + ride_i`, `ride_i` being drawn when `i` was generated.
//! Its pickup is at most `rel_i + 300` (the latest assignment) `+ 300` (the longest wait for the
//! assigned vehicle to become free) `+` the drive to the pickup, whose L1 length `d` satisfies
//! `d / v_mean ≤ 300`, so `d ≤ 300 · v̂` with `v̂` the highest mean speed into `i`'s zone at any time,
//! and whose drawn speed is at least 1 mph (`MIN_SPEED_KMPS`): the drive takes at most
//! `300 · v̂ / MIN_SPEED_KMPS` seconds. Whenever `rel_i + 600 + 300 · v̂ / MIN_SPEED_KMPS + ride_i ≤
//! 86,400` the trip is therefore certainly charged in full. Dropping every other (non-negative)
//! cost and serving every request can only raise the profit, so
//! `Σ_i (revenue_i − 0.53 · trip_km_i · [ride certainly ends in the day])` is an upper bound for
//! every policy, online or not, on every draw of the drive times.
//!
//! It is loose, like the chain-flow bound with 600 s of slack per arc that the data README
//! describes (about $30k on SUI days): it ignores that a vehicle can be in one place at a time.
//!
//! # The chain bound (time-expanded, Lagrangian)
//!
//! Every vehicle serves a chain of requests. For two consecutive requests `i → j` of one vehicle,
//! whatever the policy and whatever the drawn speeds (`V = 60 mph`, the highest speed a drawn
//! travel time may use, also above every mean speed of the data; `d_ij` the L1 km from `i`'s drop-off
//! to `j`'s pickup; `E` a lower bound of the pickup time):
//!
//! 1. `pickup_j ≥ rel_j` (assigned after release) and `pickup_j ≥ drop_i + d_ij / V` (it has to
//!    drive there, by any route, at most at `V`; L1 obeys the triangle inequality);
//! 2. `drop_i + d_ij / V ≤ rel_j + 600`: `j` is assigned by `rel_j + 300`, at which point the
//!    vehicle is free within 300 s at some point `p` from which the mean drive to `j` is at most
//!    the rest of the 300 s; getting from `i`'s drop-off to `p` and from `p` to `j`'s pickup takes at
//!    least `d_ij / V`;
//! 3. `drop_i = pickup_i + ride_i` with `ride_i` drawn when the request is generated.
//!
//! So the earliest pickup times `E_j = max(rel_j, E_i + ride_i + d_ij / V)` carried along the chain
//! must meet `E_i + ride_i + d_ij / V ≤ rel_j + 600` at every step (and `d(lot, o_j) / V ≤ rel_j + 600`
//! for a vehicle's first request), hence `E_j ∈ [rel_j, rel_j + 600]`. The bound keeps exactly these
//! constraints on a time-expanded network whose nodes are (request, pickup-time bucket of Δ seconds
//! on a global grid), rounding every time *down* to its bucket (optimistic, so every real chain maps
//! onto a path whose times are no later; being earlier never hurts, all constraints being monotone).
//! Δ is at most the shortest ride of the day, so every arc moves forward in time and the network is
//! acyclic. Requests released more than `T = (city L1 diameter) / V` after a vehicle becomes free can
//! be reached from anywhere; those arcs pass through a "free anywhere" time line and drop their
//! empty-km cost. Each path earns the request's revenue minus its certainly charged trip cost and the
//! certainly charged empty km `0.53 · d_ij` (charged when `rel_j + P_j ≤ 86,400`, see above).
//!
//! "Each request at most once over all vehicles" is relaxed with Lagrange multipliers `μ_j ≥ 0`:
//! for any `μ`, `Σ_j μ_j + Σ_vehicles (best path from the vehicle's starting lot with node weights
//! `w_j − μ_j`)` is an upper bound (weak duality), computed exactly by one backward dynamic program
//! over the acyclic network. A subgradient method lowers it; every iterate is a valid bound and the
//! smallest is reported. Before the subgradient steps, vehicles pick disjoint best paths one after
//! the other: that is a feasible solution of the relaxed problem, whose value is the floor below
//! which no multiplier can push the bound (and the Polyak target of the steps). On SUI days that
//! floor is already about $29.5k (the bound ends near $30.7k against $31.8k for the loose one): the
//! relaxation, not the solver, is what is loose. What the bound relaxes: the one-queued-job rule, the
//! "driving-to-a-pickup takes nothing more" rule, mean-speed (rather than 60 mph) travel, and the
//! fact that the policy does not know the future.

use doorstep_geo::MIN_SPEED_KMPS;
use serde::Serialize;

use crate::instance::{COST_PER_KM, DAY_SECS, Day, Model, PICKUP_LIMIT_SECS};

/// An upper bound on the profit of a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfflineBound {
    /// Which bound this is, in words.
    pub kind: &'static str,
    /// The bound on profit, dollars.
    pub profit: f64,
    /// Requests served in the bound's schedule: every request with a positive value for the loose
    /// bound; for the chain bound, those on the disjoint relaxed paths found before the subgradient
    /// steps (a schedule of the relaxation, not of the real rules).
    pub served: usize,
}

/// The name of the loose bound.
pub const LOOSE_BOUND: &str = "loose: all requests served, no empty km";
/// The name of the chain bound.
pub const CHAIN_BOUND: &str = "chain: time-expanded Lagrangian";

/// The best offline bound of `day` for which there is time: the chain bound for days of at most
/// `CHAIN_BOUND_MAX_REQUESTS` requests (bounded by the loose bound), the loose bound otherwise.
pub fn offline_bound(model: &Model, day: &Day) -> OfflineBound {
    let loose = loose_bound(model, day);
    if day.requests.len() > CHAIN_BOUND_MAX_REQUESTS {
        return loose;
    }
    match chain_bound(model, day, CHAIN_BOUND_ITERATIONS) {
        Some(chain) if chain.profit < loose.profit => chain,
        _ => loose,
    }
}

/// The chain bound is computed for days of at most this many requests (SUI): its network grows
/// with the square of the request rate, and at MUI a pass takes seconds.
pub const CHAIN_BOUND_MAX_REQUESTS: usize = 2_000;
/// Subgradient iterations of the chain bound.
pub const CHAIN_BOUND_ITERATIONS: usize = 100;

/// The loose clairvoyant bound of `day` (see the module documentation for the proof).
pub fn loose_bound(model: &Model, day: &Day) -> OfflineBound {
    let mut profit = 0.0;
    let mut served = 0;
    for r in &day.requests {
        let v_hat = model.max_speed_into_any_time(r.origin_zone);
        let latest_pickup =
            r.release + 2.0 * PICKUP_LIMIT_SECS + PICKUP_LIMIT_SECS * v_hat / MIN_SPEED_KMPS;
        let trip_cost = if latest_pickup + r.ride_secs <= DAY_SECS {
            COST_PER_KM * r.trip_km
        } else {
            0.0
        };
        let value = r.revenue - trip_cost;
        if value > 0.0 {
            profit += value;
            served += 1;
        }
    }
    OfflineBound {
        kind: LOOSE_BOUND,
        profit,
        served,
    }
}

/// Starting multipliers, as a share of each request's value.
const MU_START: f64 = 0.9;
/// Iterations without improvement before the step is halved.
const STALL_ITERATIONS: usize = 3;

/// Whether the trip of `r` (and any empty driving towards it) is certainly charged before the end
/// of the day: its pickup cannot be later than `P` after release (see the module documentation).
fn certainly_charged(model: &Model, r: &crate::instance::Request, extra_secs: f64) -> bool {
    let v_hat = model.max_speed_into_any_time(r.origin_zone);
    let latest_pickup =
        r.release + 2.0 * PICKUP_LIMIT_SECS + PICKUP_LIMIT_SECS * v_hat / MIN_SPEED_KMPS;
    latest_pickup + extra_secs <= DAY_SECS
}

/// The chain bound of `day` after `iterations` subgradient steps (see the module documentation),
/// or `None` when the day has a ride too short for a time grid of at least 1 s.
pub fn chain_bound(model: &Model, day: &Day, iterations: usize) -> Option<OfflineBound> {
    let reqs = &day.requests;
    let n = reqs.len();
    if n == 0 {
        return None;
    }
    let zones = model.centroids.len();
    let vmax = (0..zones)
        .map(|z| model.max_speed_into_any_time(doorstep_geo::ZoneIdx(u8::try_from(z).unwrap_or(0))))
        .fold(doorstep_geo::MAX_SPEED_KMPS, f64::max);
    let min_ride = reqs
        .iter()
        .map(|r| r.ride_secs)
        .fold(f64::INFINITY, f64::min);
    let delta = min_ride.min(10.0);
    if delta < 1.0 {
        return None;
    }
    // The city's L1 diameter over every point a vehicle can be at.
    let (mut lo, mut hi) = (model.min, model.max);
    for p in reqs
        .iter()
        .flat_map(|r| [r.origin, r.dest])
        .chain(model.lots.iter().map(|l| l.pos))
    {
        lo.x = lo.x.min(p.x);
        lo.y = lo.y.min(p.y);
        hi.x = hi.x.max(p.x);
        hi.y = hi.y.max(p.y);
    }
    let t_any = (hi.x - lo.x + hi.y - lo.y) / vmax;
    let slack = 2.0 * PICKUP_LIMIT_SECS;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "times are non-negative and bounded by a few days"
    )]
    let bucket = |t: f64| (t.max(0.0) / delta).floor() as usize;

    // Request nodes: request j has buckets first[j] ..= first[j] + span[j] - 1.
    let first: Vec<usize> = reqs.iter().map(|r| bucket(r.release)).collect();
    let mut base = Vec::with_capacity(n + 1);
    let mut nodes = 0usize;
    for (j, r) in reqs.iter().enumerate() {
        base.push(nodes);
        nodes += bucket(r.release + slack) - first[j] + 1;
    }
    base.push(nodes);
    let last_bucket = reqs
        .iter()
        .map(|r| bucket(r.release + slack + r.ride_secs + t_any))
        .max()
        .unwrap_or(0)
        + 1;
    let free_node = |b: usize| nodes + b.min(last_bucket);
    let total_nodes = nodes + last_bucket + 1;
    // Nodes of each bucket, for the backward pass.
    let mut by_bucket: Vec<Vec<u32>> = vec![Vec::new(); last_bucket + 1];
    let mut node_req = vec![0u32; nodes];
    for j in 0..n {
        for (k, node) in (base[j]..base[j + 1]).enumerate() {
            by_bucket[(first[j] + k).min(last_bucket)]
                .push(u32::try_from(node).unwrap_or(u32::MAX));
            node_req[node] = u32::try_from(j).unwrap_or(u32::MAX);
        }
    }
    let weight: Vec<f64> = reqs
        .iter()
        .map(|r| {
            let trip = if certainly_charged(model, r, r.ride_secs) {
                COST_PER_KM * r.trip_km
            } else {
                0.0
            };
            r.revenue - trip
        })
        .collect();
    let charged: Vec<bool> = reqs
        .iter()
        .map(|r| certainly_charged(model, r, 0.0))
        .collect();
    let releases: Vec<f64> = reqs.iter().map(|r| r.release).collect();
    // Requests whose release is in [a, b).
    let released_between =
        |a: f64, b: f64| releases.partition_point(|&t| t < a)..releases.partition_point(|&t| t < b);
    // The arcs out of request node (i, bucket b): (target, weight).
    let arcs = |i: usize, b: usize, out: &mut Vec<(usize, f64)>| {
        out.clear();
        let r = &reqs[i];
        let t = b as f64 * delta + r.ride_secs;
        for j in released_between(t - slack, t + t_any) {
            if j == i {
                continue;
            }
            let q = &reqs[j];
            let d = r.dest.l1(q.origin);
            let arrive = t + d / vmax;
            if arrive > q.release + slack {
                continue;
            }
            let target = base[j] + bucket(q.release.max(arrive)) - first[j];
            let cost = if charged[j] { COST_PER_KM * d } else { 0.0 };
            out.push((target, -cost));
        }
        out.push((free_node(bucket(t + t_any)), 0.0));
    };
    // Starts: per vehicle, its explicit first requests and the free time line after `t_any`.
    let start_arcs = |lot: usize, out: &mut Vec<(usize, f64)>| {
        out.clear();
        let p = model.lots[lot].pos;
        for j in released_between(f64::NEG_INFINITY, t_any) {
            let q = &reqs[j];
            let d = p.l1(q.origin);
            let arrive = d / vmax;
            if arrive > q.release + slack {
                continue;
            }
            let target = base[j] + bucket(q.release.max(arrive)) - first[j];
            let cost = if charged[j] { COST_PER_KM * d } else { 0.0 };
            out.push((target, -cost));
        }
        out.push((free_node(bucket(t_any)), 0.0));
    };
    // Requests entered from the free time line at bucket b: those released in bucket b.
    let mut entered_at: Vec<Vec<u32>> = vec![Vec::new(); last_bucket + 1];
    for j in 0..n {
        entered_at[first[j].min(last_bucket)].push(u32::try_from(j).unwrap_or(u32::MAX));
    }

    // The arcs, computed once (compressed rows per request node).
    let mut arc_start = Vec::with_capacity(nodes + 1);
    let mut arc_list: Vec<(u32, f32)> = Vec::new();
    let mut scratch = Vec::new();
    for (node, &i) in node_req.iter().enumerate() {
        arc_start.push(arc_list.len());
        let i = i as usize;
        arcs(i, first[i] + node - base[i], &mut scratch);
        arc_list.extend(
            scratch
                .iter()
                .map(|&(t, w)| (u32::try_from(t).unwrap_or(u32::MAX), w as f32)),
        );
    }
    arc_start.push(arc_list.len());
    let starts: Vec<Vec<(usize, f64)>> = day
        .start_lots
        .iter()
        .map(|&lot| {
            start_arcs(lot, &mut scratch);
            scratch.clone()
        })
        .collect();

    let mut best = vec![0.0f64; total_nodes];
    let mut next = vec![u32::MAX; total_nodes];
    // One backward pass with node weights `weight − mu`: the best path value from every node.
    let backward = |mu: &[f64], best: &mut Vec<f64>, next: &mut Vec<u32>| {
        for b in (0..=last_bucket).rev() {
            for &node in &by_bucket[b] {
                let node = node as usize;
                let i = node_req[node] as usize;
                let mut value = 0.0;
                let mut choice = u32::MAX;
                for &(target, w) in &arc_list[arc_start[node]..arc_start[node + 1]] {
                    let v = f64::from(w) + best[target as usize];
                    if v > value {
                        value = v;
                        choice = target;
                    }
                }
                best[node] = weight[i] - mu[i] + value;
                next[node] = choice;
            }
            let f = nodes + b;
            let mut value = 0.0;
            let mut choice = u32::MAX;
            if b < last_bucket && best[f + 1] > value {
                value = best[f + 1];
                choice = u32::try_from(f + 1).unwrap_or(u32::MAX);
            }
            for &j in &entered_at[b] {
                let target = base[j as usize];
                if best[target] > value {
                    value = best[target];
                    choice = u32::try_from(target).unwrap_or(u32::MAX);
                }
            }
            best[f] = value;
            next[f] = choice;
        }
    };
    // The best start of a vehicle and the requests on its path.
    let follow = |start: &[(usize, f64)], best: &[f64], next: &[u32], path: &mut Vec<usize>| {
        path.clear();
        let mut value = 0.0;
        let mut node = usize::MAX;
        for &(target, w) in start {
            let v = w + best[target];
            if v > value {
                value = v;
                node = target;
            }
        }
        while node < total_nodes {
            if node < nodes {
                path.push(node_req[node] as usize);
            }
            node = match next[node] {
                u32::MAX => usize::MAX,
                x => x as usize,
            };
        }
        value
    };

    // A lower bound of the relaxed problem (disjoint paths, one vehicle after the other), the
    // target of the subgradient steps.
    let mut path = Vec::new();
    let mut taken = vec![0.0f64; n];
    let mut primal = 0.0;
    let mut primal_served = 0;
    for start in &starts {
        backward(&taken, &mut best, &mut next);
        primal += follow(start, &best, &next, &mut path);
        for &j in &path {
            if taken[j] == 0.0 {
                primal_served += 1;
            }
            taken[j] = 1e12;
        }
    }

    let mut mu: Vec<f64> = weight.iter().map(|w| MU_START * w.max(0.0)).collect();
    let mut best_bound = f64::INFINITY;
    let mut step_scale = 2.0;
    let mut since_improvement = 0;
    let mut visits = vec![0u32; n];
    for _ in 0..iterations.max(1) {
        backward(&mu, &mut best, &mut next);
        visits.iter_mut().for_each(|v| *v = 0);
        let mut bound: f64 = mu.iter().sum();
        for start in &starts {
            bound += follow(start, &best, &next, &mut path);
            for &j in &path {
                visits[j] += 1;
            }
        }
        if bound < best_bound {
            best_bound = bound;
            since_improvement = 0;
        } else {
            since_improvement += 1;
            if since_improvement >= STALL_ITERATIONS {
                step_scale /= 2.0;
                since_improvement = 0;
            }
        }
        // Polyak step towards the primal value.
        let norm: f64 = visits.iter().map(|&v| (1.0 - f64::from(v)).powi(2)).sum();
        if norm == 0.0 {
            break;
        }
        let step = step_scale * (bound - primal).max(0.0) / norm;
        for (m, &v) in mu.iter_mut().zip(&visits) {
            *m = (*m - step * (1.0 - f64::from(v))).max(0.0);
        }
    }
    Some(OfflineBound {
        kind: CHAIN_BOUND,
        profit: best_bound,
        served: primal_served,
    })
}
