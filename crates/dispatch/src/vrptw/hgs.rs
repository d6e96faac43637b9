//! Hybrid genetic search (Vidal 2012, 2022; as in HGS-CVRP and PyVRP): parents by binary tournament, SREX
//! crossover, education by local search, repair of infeasible children under boosted penalties, penalty weights
//! adapted towards a target share of feasible children, and a restart when the best stalls.

use rand::Rng;
use rand::seq::SliceRandom;

use super::crossover::srex;
use super::individual::Individual;
use super::instance::{Instance, Penalties, SCALE};
use super::local_search::LocalSearch;
use super::population::{Population, PopulationParams};
use super::{Problem, Solution, SolveParams, SolveStats, VrptwError};

/// Least penalty weight (0.1 per unit).
const MIN_PENALTY: i64 = SCALE / 10;
/// Greatest penalty weight (100 000 per unit).
const MAX_PENALTY: i64 = 100_000 * SCALE;

/// The penalty weights and the record of recent children they are adapted on.
#[derive(Debug)]
struct PenaltyManager {
    pen: Penalties,
    load_feasible: Vec<bool>,
    time_feasible: Vec<bool>,
    target: f64,
    window: usize,
}

impl PenaltyManager {
    fn register(&mut self, individual: &Individual) {
        self.load_feasible.push(individual.excess_load == 0);
        self.time_feasible.push(individual.time_warp == 0);
        if self.load_feasible.len() < self.window {
            return;
        }
        let adapt = |weight: i64, record: &[bool], target: f64| -> i64 {
            let share = record.iter().filter(|&&f| f).count() as f64 / record.len() as f64;
            let next = if share < target - 0.05 {
                (weight as f64 * 1.2).max(weight as f64 + 1.0)
            } else if share > target + 0.05 {
                weight as f64 * 0.85
            } else {
                weight as f64
            };
            (next as i64).clamp(MIN_PENALTY, MAX_PENALTY)
        };
        self.pen.load = adapt(self.pen.load, &self.load_feasible, self.target);
        self.pen.time_warp = adapt(self.pen.time_warp, &self.time_feasible, self.target);
        self.load_feasible.clear();
        self.time_feasible.clear();
    }

    fn booster(&self, factor: i64) -> Penalties {
        Penalties {
            load: (self.pen.load * factor).min(MAX_PENALTY),
            time_warp: (self.pen.time_warp * factor).min(MAX_PENALTY),
        }
    }
}

/// The search's state: the problem view, the tools, the population and the best feasible solution.
struct Search<'a, 'p, R> {
    instance: &'a Instance<'p>,
    params: &'a SolveParams,
    ls: LocalSearch<'a, 'p>,
    population: Population,
    penalties: PenaltyManager,
    best: Option<Individual>,
    stats: SolveStats,
    since_improvement: u64,
    rng: &'a mut R,
}

impl<R: Rng> Search<'_, '_, R> {
    /// Educates `routes`, files the result (and its repair) in the population and the best.
    fn educate(&mut self, routes: &[Vec<usize>], stop: &mut dyn FnMut() -> bool) {
        let pen = self.penalties.pen;
        let child = self.ls.run(routes, pen, self.rng, stop);
        self.penalties.register(&child);
        let repair = !child.is_feasible() && self.rng.random_bool(self.params.repair_probability);
        let repair_from = repair.then(|| child.routes.clone());
        self.offer_best(&child);
        self.population
            .add(child, &self.instance.clients, self.penalties.pen);
        if let Some(routes) = repair_from {
            let boosted = self.penalties.booster(10);
            let repaired = self.ls.run(&routes, boosted, self.rng, stop);
            if repaired.is_feasible() {
                self.offer_best(&repaired);
                self.population
                    .add(repaired, &self.instance.clients, self.penalties.pen);
            }
        }
    }

    /// Keeps `candidate` as the best if it is feasible and cheaper.
    fn offer_best(&mut self, candidate: &Individual) {
        if !candidate.is_feasible()
            || self
                .best
                .as_ref()
                .is_some_and(|b| b.distance <= candidate.distance)
            || !self.instance.problem.is_feasible(&candidate.routes)
        {
            return;
        }
        self.best = Some(candidate.clone());
        self.since_improvement = 0;
    }

    /// A random complete assignment: customers shuffled and dealt to the vehicles allowed to serve them.
    fn random_routes(&mut self) -> Vec<Vec<usize>> {
        let m = self.instance.problem.vehicles.len();
        let mut routes = vec![Vec::new(); m];
        let mut clients = self.instance.clients.clone();
        clients.shuffle(self.rng);
        let per_route = (clients.len() / m).max(1);
        for (k, &c) in clients.iter().enumerate() {
            let preferred = (k / per_route) % m;
            let v = if self.instance.can_serve(c, preferred) {
                preferred
            } else {
                let allowed: Vec<usize> =
                    (0..m).filter(|&v| self.instance.can_serve(c, v)).collect();
                allowed[self.rng.random_range(0..allowed.len())]
            };
            routes[v].push(c);
        }
        routes
    }

    /// Fills the population with educated random individuals.
    fn initialise(&mut self, stop: &mut dyn FnMut() -> bool) -> bool {
        for _ in 0..self.params.min_population {
            if stop() {
                return false;
            }
            let routes = self.random_routes();
            self.educate(&routes, stop);
        }
        true
    }
}

/// Runs the search; see [`super::solve_with`].
pub(crate) fn run<R: Rng>(
    problem: &Problem,
    initial: Option<&Solution>,
    rng: &mut R,
    stop: &mut dyn FnMut() -> bool,
    params: &SolveParams,
) -> Result<(Solution, SolveStats), VrptwError> {
    let m = problem.vehicles.len();
    if problem.customers.is_empty() {
        let routes = vec![Vec::new(); m];
        return Ok((Solution { routes, cost: 0 }, SolveStats::default()));
    }
    let instance = Instance::new(problem, params.granularity);
    let unservable = problem
        .customers
        .iter()
        .any(|&c| (0..m).all(|v| !instance.can_serve(c, v)));
    // A customer listed twice can never be served exactly as often as listed (see `Problem::is_feasible`).
    let mut listed = vec![false; problem.nodes];
    let repeated = problem
        .customers
        .iter()
        .any(|&c| std::mem::replace(&mut listed[c], true));
    if m == 0 || unservable || repeated {
        return Err(VrptwError::NoFeasibleSolution);
    }
    let penalties = initial_penalties(problem, params);
    let mut search = Search {
        instance: &instance,
        params,
        ls: LocalSearch::new(&instance),
        population: Population::new(PopulationParams {
            min_size: params.min_population,
            generation: params.generation,
            elite: params.elite,
            close: params.close,
            lb_diversity: 0.1,
            ub_diversity: 0.5,
        }),
        penalties,
        best: None,
        stats: SolveStats::default(),
        since_improvement: 0,
        rng,
    };
    if let Some(initial) = initial {
        if problem.is_feasible(&initial.routes) {
            let start = Individual::new(&instance, initial.routes.clone());
            search.offer_best(&start);
            search
                .population
                .add(start, &instance.clients, search.penalties.pen);
        }
        // An infeasible or incomplete plan (a new booking, a changed window) still seeds the search.
        if let Some(seed) = seed_routes(&instance, initial) {
            search.educate(&seed, stop);
        }
    }
    let mut running = search.initialise(stop);
    while running && !stop() {
        search.stats.iterations += 1;
        if search.since_improvement >= params.restart_after {
            search.stats.restarts += 1;
            search.population.clear();
            search.since_improvement = 0;
            if !search.initialise(stop) {
                break;
            }
        }
        search.since_improvement += 1;
        let pen = search.penalties.pen;
        let Some((a, b)) = search
            .population
            .parents(pen, &instance.clients, search.rng)
        else {
            running = search.initialise(stop);
            continue;
        };
        let (a, b) = (a.clone(), b.clone());
        let child = srex(&instance, &a, &b, &mut search.ls, pen, search.rng);
        search.educate(&child.routes, stop);
    }
    let stats = search.stats;
    let best = search.best.ok_or(VrptwError::NoFeasibleSolution)?;
    let cost = problem.routes_cost(&best.routes);
    Ok((
        Solution {
            routes: best.routes,
            cost,
        },
        stats,
    ))
}

/// The routes of `initial` keeping each customer once, on a vehicle that may serve it (the search inserts the
/// others), or `None` if it does not have one route per vehicle.
fn seed_routes(instance: &Instance<'_>, initial: &Solution) -> Option<Vec<Vec<usize>>> {
    let problem = instance.problem;
    if initial.routes.len() != problem.vehicles.len() {
        return None;
    }
    let mut open = vec![false; problem.nodes];
    for &c in &problem.customers {
        open[c] = true;
    }
    let routes = initial
        .routes
        .iter()
        .enumerate()
        .map(|(v, route)| {
            route
                .iter()
                .copied()
                .filter(|&c| {
                    c < problem.nodes
                        && instance.can_serve(c, v)
                        && std::mem::replace(&mut open[c], false)
                })
                .collect()
        })
        .collect();
    Some(routes)
}

/// PyVRP's starting weights: a unit of violation costs about an average edge per average demand or duration.
fn initial_penalties(problem: &Problem, params: &SolveParams) -> PenaltyManager {
    let mean = |v: &[i64]| v.iter().map(|&x| x as f64).sum::<f64>() / (v.len() as f64).max(1.0);
    let avg_cost = mean(&problem.cost);
    let avg_time = mean(&problem.time).max(1.0);
    let demands: Vec<i64> = problem
        .customers
        .iter()
        .map(|&c| problem.demand[c])
        .collect();
    let avg_demand = mean(&demands).max(1.0);
    let weight = |x: f64| ((x * SCALE as f64) as i64).clamp(MIN_PENALTY, MAX_PENALTY);
    PenaltyManager {
        pen: Penalties {
            load: weight(avg_cost / avg_demand),
            time_warp: weight(avg_cost / avg_time),
        },
        load_feasible: Vec::new(),
        time_feasible: Vec::new(),
        target: params.target_feasible,
        window: 100,
    }
}
