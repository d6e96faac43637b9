//! `reyes`: a port of the rolling-horizon matching policy of Reyes, Erera, Savelsbergh,
//! Sahasrabudhe and O'Neil, "The Meal Delivery Routing Problem" (2018), without prepositioning and
//! without assignment updates, as the comparison for `doorstep`.
//!
//! Every `f` minutes (the optimisation time `t`):
//! 1. **Orders and couriers.** The orders placed and not assigned whose food is ready by
//!    `t + Δu` (the assignment horizon); the couriers on duty that are idle or free by `t + Δu`,
//!    each at the place and time it becomes free.
//! 2. **Target bundle size** `Z = ⌈|orders ready by t + Δ1| / |couriers free by t + Δ2|⌉`.
//! 3. **Bundles by restaurant** (parallel insertion): a restaurant with `n` orders gets
//!    `⌈n / Z⌉` routes; its orders, by ready time, each go where they raise the route cost least,
//!    the cost of a route mixing its efficiency (minutes per order from pickup to the last
//!    departure) and its freshness (mean minutes from pickup to drop-off), with weight `θ`.
//! 4. **Matching** of bundles to couriers that can pick up before their off-time, maximising the
//!    sum of scores `|s| / (completion − t) − β · (pickup − ready)` (orders per hour of the
//!    courier's time, less a penalty per minute the food waits), solved with the platform's own
//!    [`assign_min_cost`].
//! 5. **Commitment**: a matched pair becomes an instruction only if the courier is idle and must
//!    leave before the next optimisation time to reach the restaurant by the bundle's ready time;
//!    every other pair is dropped and decided again at `t + f` with what is known then.
//!
//! Interpretation (the 2018 paper's text is summarised, not reproduced): `f = 5`, `Δu = Δ1 = Δ2 =
//! 20` minutes, `θ = 0.5`, `β = 0.1` per minute, as the paper's base setting is read here;
//! couriers busy at `t` are matched from where and when they become free but only idle ones are
//! committed (no instruction reaches a courier mid-assignment); no priority groups.

use doorstep_dispatch::{AssignmentProblem, Candidate, assign_min_cost};

use super::engine::{Assignment, Policy, View};
use super::instance::{Instance, Loc};

/// The policy's parameters (minutes unless said otherwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReyesTuning {
    /// Minutes between optimisations (`f`).
    pub frequency: f64,
    /// The assignment horizon (`Δu`).
    pub horizon: f64,
    /// Look-ahead for the orders counted in the target bundle size (`Δ1`).
    pub delta_orders: f64,
    /// Look-ahead for the couriers counted in it (`Δ2`).
    pub delta_couriers: f64,
    /// Weight of efficiency against freshness in the route cost (`θ`).
    pub efficiency_weight: f64,
    /// Score penalty per minute between the ready time and the pickup (`β`), in orders per hour.
    pub pickup_delay_penalty: f64,
}

impl Default for ReyesTuning {
    fn default() -> Self {
        ReyesTuning {
            frequency: 5.0,
            horizon: 20.0,
            delta_orders: 20.0,
            delta_couriers: 20.0,
            efficiency_weight: 0.5,
            pickup_delay_penalty: 0.1,
        }
    }
}

/// The `reyes` policy.
#[derive(Debug, Default)]
pub struct ReyesPolicy {
    tuning: ReyesTuning,
    first: Option<f64>,
}

impl ReyesPolicy {
    /// The policy with the paper's base parameters.
    pub fn new() -> ReyesPolicy {
        ReyesPolicy {
            tuning: ReyesTuning::default(),
            first: None,
        }
    }
}

/// A route from a restaurant through its orders' customers: (minutes from pickup to leaving the
/// last customer, minutes from pickup to each drop-off summed).
fn route_times(inst: &Instance, r: usize, orders: &[usize]) -> (f64, f64) {
    let p = &inst.params;
    let mut at = inst.restaurants[r].loc;
    let mut t = p.pickup_service_min / 2.0;
    let mut drops = 0.0;
    for &o in orders {
        let loc = inst.orders[o].loc;
        t += inst.travel_min(at, loc) + p.dropoff_service_min / 2.0;
        drops += t;
        t += p.dropoff_service_min / 2.0;
        at = loc;
    }
    (t, drops)
}

/// The cost of a route: efficiency and freshness weighted by `theta` (0 for an empty route).
fn route_cost(inst: &Instance, r: usize, orders: &[usize], theta: f64) -> f64 {
    if orders.is_empty() {
        return 0.0;
    }
    let (duration, drops) = route_times(inst, r, orders);
    let n = orders.len() as f64;
    theta * duration / n + (1.0 - theta) * drops / n
}

/// The bundles of one restaurant's orders (sorted by ready time) for target size `z`.
fn bundles_of(
    inst: &Instance,
    r: usize,
    orders: &[usize],
    z: usize,
    theta: f64,
) -> Vec<Vec<usize>> {
    let m = orders.len().div_ceil(z.max(1)).max(1);
    let mut routes: Vec<Vec<usize>> = vec![Vec::new(); m];
    for &o in orders {
        let mut best: Option<(f64, usize, usize)> = None;
        for (k, route) in routes.iter().enumerate() {
            let before = route_cost(inst, r, route, theta);
            for pos in 0..=route.len() {
                let mut trial = route.clone();
                trial.insert(pos, o);
                let inc = route_cost(inst, r, &trial, theta) - before;
                if best.is_none_or(|b| inc < b.0) {
                    best = Some((inc, k, pos));
                }
            }
        }
        if let Some((_, k, pos)) = best {
            routes[k].insert(pos, o);
        }
    }
    routes.retain(|r| !r.is_empty());
    routes
}

impl Policy for ReyesPolicy {
    fn name(&self) -> &'static str {
        "reyes"
    }

    fn start(&mut self, _instance: &Instance) {
        self.first = None;
    }

    fn decide(&mut self, view: &View<'_>, out: &mut Vec<Assignment>) {
        let tune = self.tuning;
        let t = view.now;
        let first = *self.first.get_or_insert(t);
        // Optimisation times every f minutes.
        if ((t - first) / tune.frequency).fract().abs() > 1e-9 {
            return;
        }
        let inst = view.instance;
        let p = &inst.params;
        // 1. Orders and couriers in the horizon.
        let orders: Vec<usize> = view
            .pending
            .iter()
            .copied()
            .filter(|&o| inst.orders[o].ready <= t + tune.horizon)
            .collect();
        if orders.is_empty() {
            return;
        }
        let couriers: Vec<(usize, f64, Loc)> = view
            .couriers
            .iter()
            .enumerate()
            .filter(|&(c, s)| {
                let shift = &inst.couriers[c];
                shift.on <= t && t <= shift.off && s.free_at <= t + tune.horizon
            })
            .map(|(c, s)| (c, s.free_at.max(t), s.loc))
            .collect();
        if couriers.is_empty() {
            return;
        }
        // 2. Target bundle size.
        let soon_orders = orders
            .iter()
            .filter(|&&o| inst.orders[o].ready <= t + tune.delta_orders)
            .count();
        let soon_couriers = couriers
            .iter()
            .filter(|c| c.1 <= t + tune.delta_couriers)
            .count()
            .max(1);
        let z = soon_orders.div_ceil(soon_couriers).max(1);
        // 3. Bundles by restaurant.
        let mut by_restaurant: std::collections::BTreeMap<usize, Vec<usize>> =
            std::collections::BTreeMap::new();
        for &o in &orders {
            by_restaurant
                .entry(inst.orders[o].restaurant)
                .or_default()
                .push(o);
        }
        let mut bundles: Vec<(usize, Vec<usize>, f64)> = Vec::new(); // restaurant, orders, ready
        for (r, mut list) in by_restaurant {
            list.sort_by(|&a, &b| {
                inst.orders[a]
                    .ready
                    .total_cmp(&inst.orders[b].ready)
                    .then(a.cmp(&b))
            });
            for b in bundles_of(inst, r, &list, z, tune.efficiency_weight) {
                let ready = b
                    .iter()
                    .map(|&o| inst.orders[o].ready)
                    .fold(f64::NEG_INFINITY, f64::max);
                bundles.push((r, b, ready));
            }
        }
        // 4. Matching: maximise the total score (cost = ceiling - score).
        const CEILING: f64 = 1000.0;
        let mut problem = AssignmentProblem {
            requests: bundles.len(),
            drivers: couriers.len(),
            candidates: Vec::new(),
            unassigned_cost: vec![CEILING; bundles.len()],
        };
        for (b, (r, list, ready)) in bundles.iter().enumerate() {
            let rloc = inst.restaurants[*r].loc;
            let (duration, _) = route_times(inst, *r, list);
            for (k, &(c, avail, loc)) in couriers.iter().enumerate() {
                let arrival = avail + inst.travel_min(loc, rloc);
                let pickup = ready.max(arrival + p.pickup_service_min / 2.0);
                if pickup > inst.couriers[c].off {
                    continue;
                }
                let completion = pickup - p.pickup_service_min / 2.0 + duration;
                let hours = ((completion - t) / 60.0).max(1.0 / 60.0);
                let score = list.len() as f64 / hours
                    - tune.pickup_delay_penalty * (pickup - ready).max(0.0);
                if score > 0.0 && score < CEILING {
                    problem.candidates.push(Candidate {
                        request: b,
                        driver: k,
                        cost: CEILING - score,
                    });
                }
            }
        }
        let Ok(solution) = assign_min_cost(&problem) else {
            return;
        };
        // 5. Commitment.
        for (b, k) in solution.driver_of.iter().enumerate() {
            let Some(k) = *k else { continue };
            let (c, _, loc) = couriers[k];
            if view.couriers[c].free_at > t {
                continue;
            }
            let (r, list, ready) = &bundles[b];
            let drive = inst.travel_min(loc, inst.restaurants[*r].loc);
            let latest_departure = ready - p.pickup_service_min / 2.0 - drive;
            if latest_departure < t + tune.frequency {
                out.push(Assignment {
                    courier: c,
                    orders: list.clone(),
                });
            }
        }
    }
}
