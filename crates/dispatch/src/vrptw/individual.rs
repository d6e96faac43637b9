//! A candidate solution of the genetic search: routes per vehicle and the totals its penalised cost is made of.

use super::instance::{Instance, Penalties, SCALE};
use super::segment::Segment;

/// Marks a depot (any vehicle's start or end) in the predecessor and successor tables.
const DEPOT: usize = usize::MAX;

/// A complete assignment of customers to vehicles (feasible or not) with its cost totals.
#[derive(Debug, Clone)]
pub(crate) struct Individual {
    /// `routes[v]`: the customers of vehicle `v`, in order.
    pub routes: Vec<Vec<usize>>,
    /// Total distance (cost) of the non-empty routes.
    pub distance: i64,
    /// Total load above capacities.
    pub excess_load: i64,
    /// Total time warp.
    pub time_warp: i64,
    /// Per node: the node before it in its route (`DEPOT` for a depot).
    pred: Vec<usize>,
    /// Per node: the node after it in its route (`DEPOT` for a depot).
    succ: Vec<usize>,
}

impl Individual {
    /// Evaluates `routes` (one per vehicle, every customer once).
    pub fn new(instance: &Instance<'_>, routes: Vec<Vec<usize>>) -> Self {
        let n = instance.problem.nodes;
        let (mut pred, mut succ) = (vec![DEPOT; n], vec![DEPOT; n]);
        let (mut distance, mut excess_load, mut time_warp) = (0, 0, 0);
        for (v, route) in routes.iter().enumerate() {
            if route.is_empty() {
                continue;
            }
            let segment = route_segment(instance, v, route);
            distance += segment.distance;
            time_warp += segment.time_warp;
            excess_load += (segment.load - instance.problem.vehicles[v].capacity).max(0);
            for (k, &c) in route.iter().enumerate() {
                pred[c] = if k == 0 { DEPOT } else { route[k - 1] };
                succ[c] = route.get(k + 1).copied().unwrap_or(DEPOT);
            }
        }
        Self {
            routes,
            distance,
            excess_load,
            time_warp,
            pred,
            succ,
        }
    }

    /// Whether it respects every capacity and window.
    pub fn is_feasible(&self) -> bool {
        self.excess_load == 0 && self.time_warp == 0
    }

    /// Its penalised cost under `pen`.
    pub fn penalised(&self, pen: Penalties) -> i64 {
        self.distance * SCALE + self.excess_load * pen.load + self.time_warp * pen.time_warp
    }

    /// The broken-pairs distance to `other`: the share of customers whose neighbours differ.
    pub fn broken_pairs(&self, other: &Self, clients: &[usize]) -> f64 {
        if clients.is_empty() {
            return 0.0;
        }
        // Vidal's definition: each undirected edge of `self` missing from `other` counts once (the edge after a
        // customer, and the edge from the depot to a route's first customer).
        let broken: usize = clients
            .iter()
            .map(|&c| {
                let (p, s) = (self.pred[c], self.succ[c]);
                usize::from(s != other.succ[c] && s != other.pred[c])
                    + usize::from(p == DEPOT && other.pred[c] != DEPOT && other.succ[c] != DEPOT)
            })
            .sum();
        broken as f64 / clients.len() as f64
    }
}

/// The whole route of vehicle `v` through `route`, from its start to its end.
pub(crate) fn route_segment(instance: &Instance<'_>, v: usize, route: &[usize]) -> Segment {
    let p = instance.problem;
    let mut segment = instance.start_segment[v];
    for &c in route {
        segment = segment.then(&instance.node_segment[c], p);
    }
    segment.then(&instance.end_segment[v], p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::vrptw::{Problem, Vehicle};
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    /// A random problem with asymmetric integer matrices (travel time unrelated to cost), random windows (some
    /// closing before they open), home bases 0 and 1, and two vehicles with different shifts and capacities.
    pub(crate) fn random_problem(rng: &mut Pcg64, n: usize) -> Problem {
        let matrix =
            |rng: &mut Pcg64| -> Vec<i64> { (0..n * n).map(|_| rng.random_range(0..50)).collect() };
        let (cost, time) = (matrix(rng), matrix(rng));
        let ready: Vec<i64> = (0..n).map(|_| rng.random_range(0..200)).collect();
        let due = ready
            .iter()
            .map(|&r| r + rng.random_range(-10..150))
            .collect();
        Problem {
            nodes: n,
            cost,
            time,
            demand: (0..n).map(|_| rng.random_range(0..10)).collect(),
            ready,
            due,
            service: (0..n).map(|_| rng.random_range(0..20)).collect(),
            customers: (2..n).collect(),
            vehicles: vec![
                Vehicle {
                    start: 0,
                    end: 1,
                    shift_start: 0,
                    shift_end: 300,
                    capacity: 25,
                },
                Vehicle {
                    start: 1,
                    end: 1,
                    shift_start: 50,
                    shift_end: 250,
                    capacity: 15,
                },
            ],
            allowed: vec![None; n],
        }
    }

    #[test]
    fn time_warp_and_excess_load_are_zero_exactly_when_the_routes_are_feasible() {
        let mut rng = Pcg64::seed_from_u64(17);
        let (mut feasible, mut infeasible) = (0, 0);
        for _ in 0..3000 {
            let n = rng.random_range(3..9);
            let problem = random_problem(&mut rng, n);
            let instance = Instance::new(&problem, 5);
            let mut clients = problem.customers.clone();
            clients.shuffle(&mut rng);
            let cut = rng.random_range(0..=clients.len());
            let routes = vec![clients[..cut].to_vec(), clients[cut..].to_vec()];
            let individual = Individual::new(&instance, routes.clone());
            assert_eq!(individual.distance, problem.routes_cost(&routes));
            assert_eq!(
                individual.is_feasible(),
                problem.is_feasible(&routes),
                "{problem:?} {routes:?}"
            );
            if individual.is_feasible() {
                feasible += 1;
            } else {
                infeasible += 1;
            }
        }
        assert!(
            feasible > 100 && infeasible > 100,
            "{feasible} {infeasible}"
        );
    }
}
