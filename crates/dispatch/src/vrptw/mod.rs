//! Vehicle routing with time windows: the scheduler of house calls.
//!
//! A [`Problem`] is a set of customers (visits) each with a demand, a time window for the start of service and a
//! service time, and a fleet of vehicles (providers), each starting and ending at its own node (a depot, a home
//! base) within its own shift. [`solve`] searches for the cheapest set of routes that serves every customer
//! within its window and every vehicle within its shift and capacity. The benchmark (`doorstep bench vrptw`,
//! Solomon and Gehring–Homberger instances) and the live re-optimisation of bookings run this same code.
//!
//! Conventions: every quantity is an integer (the DIMACS convention of the benchmark is tenths of a unit of
//! distance, truncated, with travel time equal to distance); node 0..`nodes` index the row-major matrices;
//! a route lists customer nodes only (never its vehicle's start or end node). Service at a customer starts at
//! `max(arrival, ready)` and must start no later than `due`; a vehicle returns to its end node no later than its
//! shift's end.
//!
//! The search ([`solve_with`]) is a hybrid genetic search in the manner of HGS (Vidal 2012, 2022) and PyVRP, in
//! these files: `segment` (time-warp summaries of route segments, concatenated in O(1)), `instance` (what is
//! precomputed per problem: vehicle types, who may serve whom, granular neighbourhoods), `individual` (a solution
//! with its distance, excess load and time warp), `local_search`, `crossover` (SREX), `population` (biased
//! fitness, survivors, tournaments) and `hgs` (the main loop and the penalty weights).
//!
//! Architecture invariant: pure like the rest of this crate. Time spent is the caller's business: [`solve`]
//! asks `stop()` between iterations and returns its best feasible solution when told to; randomness is the
//! caller's generator.

use rand::Rng;

mod crossover;
mod hgs;
mod individual;
mod instance;
mod local_search;
mod population;
mod segment;

/// One vehicle (a provider's day): where it starts and ends, when, and how much it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vehicle {
    /// Node where the route starts.
    pub start: usize,
    /// Node where the route ends.
    pub end: usize,
    /// Earliest departure from `start`.
    pub shift_start: i64,
    /// Latest return to `end`.
    pub shift_end: i64,
    /// Capacity (the sum of its customers' demands may not exceed it).
    pub capacity: i64,
}

/// A routing problem with time windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Number of nodes (depots, home bases and customers).
    pub nodes: usize,
    /// Row-major `nodes × nodes` cost of driving from one node to another (what is minimised).
    pub cost: Vec<i64>,
    /// Row-major `nodes × nodes` travel time, in the unit of the windows.
    pub time: Vec<i64>,
    /// Per node: demand (0 for depots).
    pub demand: Vec<i64>,
    /// Per node: earliest start of service.
    pub ready: Vec<i64>,
    /// Per node: latest start of service.
    pub due: Vec<i64>,
    /// Per node: service time.
    pub service: Vec<i64>,
    /// The customers to serve (every other node is a depot or home base).
    pub customers: Vec<usize>,
    /// The fleet; a solution uses at most this many routes.
    pub vehicles: Vec<Vehicle>,
    /// Per node: the vehicles allowed to serve it (`None`: any). A visit pinned to its provider has one.
    pub allowed: Vec<Option<Vec<usize>>>,
}

/// A solution: one route per vehicle (an empty route is an unused vehicle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// `routes[v]` is the customers vehicle `v` serves, in order.
    pub routes: Vec<Vec<usize>>,
    /// Total cost of the routes (start → customers → end, empty routes cost nothing).
    pub cost: i64,
}

/// Why a problem or a solution was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VrptwError {
    /// A matrix or per-node vector has the wrong length, or an index is out of range.
    #[error("malformed problem: {0}")]
    Malformed(String),
    /// No solution serving every customer was found within the budget.
    #[error("no feasible solution found")]
    NoFeasibleSolution,
}

impl Problem {
    /// Cost from `a` to `b`.
    pub fn cost(&self, a: usize, b: usize) -> i64 {
        self.cost[a * self.nodes + b]
    }

    /// Travel time from `a` to `b`.
    pub fn time(&self, a: usize, b: usize) -> i64 {
        self.time[a * self.nodes + b]
    }

    /// Checks lengths and indices.
    pub fn validate(&self) -> Result<(), VrptwError> {
        let n = self.nodes;
        let bad = |what: &str| Err(VrptwError::Malformed(what.to_owned()));
        if self.cost.len() != n * n || self.time.len() != n * n {
            return bad("matrices must be nodes × nodes");
        }
        for (name, v) in [
            ("demand", &self.demand),
            ("ready", &self.ready),
            ("due", &self.due),
            ("service", &self.service),
        ] {
            if v.len() != n {
                return bad(&format!("{name} must have one entry per node"));
            }
        }
        if self.allowed.len() != n {
            return bad("allowed must have one entry per node");
        }
        if self.customers.iter().any(|&c| c >= n) {
            return bad("a customer is out of range");
        }
        if self
            .vehicles
            .iter()
            .any(|v| v.start >= n || v.end >= n || v.shift_end < v.shift_start)
        {
            return bad("a vehicle's node is out of range or its shift ends before it starts");
        }
        if self
            .allowed
            .iter()
            .flatten()
            .flatten()
            .any(|&v| v >= self.vehicles.len())
        {
            return bad("an allowed vehicle is out of range");
        }
        Ok(())
    }

    /// The cost of `routes` (start → customers → end per non-empty route), feasible or not.
    pub fn routes_cost(&self, routes: &[Vec<usize>]) -> i64 {
        routes
            .iter()
            .zip(&self.vehicles)
            .filter(|(route, _)| !route.is_empty())
            .map(|(route, vehicle)| {
                let mut at = vehicle.start;
                let mut total = 0;
                for &c in route {
                    total += self.cost(at, c);
                    at = c;
                }
                total + self.cost(at, vehicle.end)
            })
            .sum()
    }

    /// Whether `routes` serve every customer exactly once within windows, shifts, capacities and `allowed`.
    pub fn is_feasible(&self, routes: &[Vec<usize>]) -> bool {
        if routes.len() != self.vehicles.len() {
            return false;
        }
        let mut seen = vec![false; self.nodes];
        for (v, (route, vehicle)) in routes.iter().zip(&self.vehicles).enumerate() {
            if route.is_empty() {
                continue;
            }
            let (mut at, mut clock, mut load) = (vehicle.start, vehicle.shift_start, 0);
            for &c in route {
                if c >= self.nodes || std::mem::replace(&mut seen[c], true) {
                    return false;
                }
                if self.allowed[c].as_ref().is_some_and(|a| !a.contains(&v)) {
                    return false;
                }
                clock = (clock + self.time(at, c)).max(self.ready[c]);
                if clock > self.due[c] {
                    return false;
                }
                clock += self.service[c];
                load += self.demand[c];
                at = c;
            }
            if load > vehicle.capacity || clock + self.time(at, vehicle.end) > vehicle.shift_end {
                return false;
            }
        }
        self.customers.iter().all(|&c| seen[c])
            && seen.iter().filter(|&&s| s).count() == self.customers.len()
    }
}

/// Searches for the cheapest feasible solution until `stop()` says so; returns the best feasible one found.
///
/// `stop` is asked between iterations (often: every few milliseconds of work at most), so a caller can give it
/// a CPU-time budget. `initial` (live re-optimisation) seeds the search: when feasible, the answer never costs
/// more than it; when not (a new booking missing from it, a visit on a vehicle it may no longer use), its valid
/// part is repaired and improved like any other solution. The search is the hybrid genetic search of [`solve_with`] with the
/// default [`SolveParams`].
pub fn solve<R: Rng>(
    problem: &Problem,
    initial: Option<&Solution>,
    rng: &mut R,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Solution, VrptwError> {
    solve_with(problem, initial, rng, stop, &SolveParams::default()).map(|(solution, _)| solution)
}

/// Like [`solve`], with the search's parameters, and with a count of what the search did.
///
/// The search is a hybrid genetic search (Vidal 2012, 2022; PyVRP): a population of solutions, feasible and
/// infeasible (time warp and excess load are penalised with weights adapted to keep a target share of feasible
/// children), children by selective route exchange of two parents chosen by binary tournament on cost and
/// diversity, each improved by a granular local search, and a restart when the best solution stalls. It is
/// deterministic for a given generator state and sequence of `stop()` answers. A problem without customers is
/// solved by empty routes; [`VrptwError::NoFeasibleSolution`] means no feasible solution was found before
/// `stop()` said so (or that some customer may be served by no vehicle).
pub fn solve_with<R: Rng>(
    problem: &Problem,
    initial: Option<&Solution>,
    rng: &mut R,
    stop: &mut dyn FnMut() -> bool,
    params: &SolveParams,
) -> Result<(Solution, SolveStats), VrptwError> {
    problem.validate()?;
    hgs::run(problem, initial, rng, stop, params)
}

/// Parameters of the hybrid genetic search (the defaults are those of HGS and PyVRP for time windows, with 25
/// neighbours: as good on the benchmark at 5–10 s and half again as many iterations as 40).
#[derive(Debug, Clone, PartialEq)]
pub struct SolveParams {
    /// How many nearest customers (by distance and window compatibility) the local search pairs each customer
    /// with.
    pub granularity: usize,
    /// Size each subpopulation (feasible, infeasible) is cut back to, and the size of a fresh population.
    pub min_population: usize,
    /// How many children a subpopulation takes before it is cut back.
    pub generation: usize,
    /// How many of the best solutions are protected from the diversity term of the fitness.
    pub elite: usize,
    /// How many nearest solutions a solution's diversity is measured against.
    pub close: usize,
    /// The share of feasible children the penalty weights aim at.
    pub target_feasible: f64,
    /// The chance that an infeasible child is repaired under ten times the penalties.
    pub repair_probability: f64,
    /// Iterations without a better feasible solution before the population restarts.
    pub restart_after: u64,
}

impl Default for SolveParams {
    fn default() -> Self {
        Self {
            granularity: 25,
            min_population: 25,
            generation: 40,
            elite: 4,
            close: 5,
            target_feasible: 0.43,
            repair_probability: 0.8,
            restart_after: 20_000,
        }
    }
}

/// What a search did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolveStats {
    /// Children bred (after the initial population).
    pub iterations: u64,
    /// Restarts of the population.
    pub restarts: u64,
}
