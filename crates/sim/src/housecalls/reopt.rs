//! Re-optimising a booked day with the VRPTW solver: providers are vehicles (home to home within their
//! hours), visits are customers whose window is their promised start alone, a chosen provider's visits are
//! pinned to them, and the current assignment is the warm start. The solver may only move "any provider"
//! visits between providers and reorder routes; whatever it returns is checked again here, with the real
//! travel times, before the day takes it.

use doorstep_dispatch::TravelTime;
use doorstep_dispatch::vrptw::{Problem, Solution, Vehicle, VrptwError, solve};
use rand_pcg::Pcg64;

use super::plan::{Plan, legs, walk_day};
use super::travel::Spot;
use super::week::{Week, local_midnight};

/// Who re-optimises a day: `doorstep_dispatch::vrptw::solve` with a budget ([`SolveWithCalls`] in tests and
/// reproducible runs, a CPU-time budget in `doorstep bench housecalls`), or a stand-in in tests.
pub trait Reoptimiser {
    /// A new plan for `problem`, starting from `initial` (feasible or not: travel times are rounded up).
    ///
    /// # Errors
    /// The solver's error; the day then keeps its plan.
    fn reoptimise(
        &mut self,
        problem: &Problem,
        initial: &Solution,
        rng: &mut Pcg64,
    ) -> Result<Solution, VrptwError>;
}

/// `vrptw::solve` stopped after it has asked `calls` times whether to stop: a budget that does not depend
/// on the machine, so a run is reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolveWithCalls {
    /// How many times `solve` may ask before it is told to stop.
    pub calls: u64,
}

impl Reoptimiser for SolveWithCalls {
    fn reoptimise(
        &mut self,
        problem: &Problem,
        initial: &Solution,
        rng: &mut Pcg64,
    ) -> Result<Solution, VrptwError> {
        let mut asked = 0;
        let mut stop = || {
            asked += 1;
            asked > self.calls
        };
        solve(problem, Some(initial), rng, &mut stop)
    }
}

/// What the re-optimisations of a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReoptStats {
    /// Days given to the solver.
    pub solved: u32,
    /// Days whose new plan was taken (it drives less).
    pub taken: u32,
    /// Visits moved to another provider by the plans taken.
    pub moved: u32,
    /// Seconds of driving the plans taken saved (real travel times, on the day of the re-optimisation).
    pub saved_secs: f64,
    /// Plans refused by the check here (a pin broken, a visit lost or twice, a start missed with the real
    /// travel times, a provider over the cap or home late): never expected from the solver.
    pub refused: u32,
    /// Days the solver returned no plan for.
    pub failed: u32,
}

/// A day as a VRPTW problem: the problem, and which booking each customer node is.
#[derive(Debug, Clone, PartialEq)]
pub struct DayProblem {
    /// The problem: nodes `0..providers` are the homes, then one node per visit.
    pub problem: Problem,
    /// Per visit node (from `providers`), its booking.
    pub bookings: Vec<usize>,
    /// The current assignment as a solution.
    pub initial: Solution,
}

/// A travel time rounded up to whole seconds (unreachable: a day).
fn whole_secs<T: TravelTime<Place = Spot>>(travel: &T, from: &Spot, to: &Spot, at: f64) -> i64 {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "seconds of a drive in the city"
    )]
    travel
        .travel_secs(from, to, at)
        .map_or(86_400, |s| s.ceil() as i64)
}

#[allow(clippy::cast_possible_truncation, reason = "seconds of a day")]
fn secs_of_day(t: f64, midnight: f64) -> i64 {
    (t - midnight).round() as i64
}

/// Day `day` of `plan` as a VRPTW problem. Times are seconds after local midnight.
///
/// The matrices are exact, not a typical hour's: every visit's window is a single instant, so a provider
/// who keeps the plan leaves each visit exactly at its end and home exactly when the working day starts;
/// the drive from node `a` therefore always departs at the same moment, and `time[a][b]` is the city's
/// travel time from `a` to `b` at that moment, rounded up to the second (so a plan feasible for the
/// solver is feasible with the real times). `cost` is the same seconds.
pub fn day_problem<T: TravelTime<Place = Spot>>(
    week: &Week,
    plan: &Plan,
    travel: &T,
    day: u32,
) -> DayProblem {
    let providers = plan.providers();
    let midnight = local_midnight(i64::from(day));
    let (from, to) = week.hours(day);
    let mut bookings = Vec::new();
    let mut routes = vec![Vec::new(); providers];
    for (p, route) in routes.iter_mut().enumerate() {
        for &b in plan.day(day, u32::try_from(p).unwrap_or(u32::MAX)) {
            route.push(providers + bookings.len());
            bookings.push(b);
        }
    }
    let nodes = providers + bookings.len();
    // Where each node is and when a provider leaves it.
    let mut places: Vec<(Spot, f64)> = week
        .providers
        .iter()
        .take(providers)
        .map(|p| (p.home, from))
        .collect();
    places.extend(bookings.iter().map(|&b| {
        let b = &plan.bookings[b];
        (b.place, b.start + b.on_site)
    }));
    let mut time = vec![0; nodes * nodes];
    for (a, (pa, leave)) in places.iter().enumerate() {
        for (b, (pb, _)) in places.iter().enumerate() {
            if a != b {
                time[a * nodes + b] = whole_secs(travel, pa, pb, *leave);
            }
        }
    }
    let mut ready = vec![0; nodes];
    let mut due = vec![2 * 86_400; nodes];
    let mut service = vec![0; nodes];
    let mut demand = vec![0; nodes];
    let mut allowed = vec![None; nodes];
    for (k, &b) in bookings.iter().enumerate() {
        let node = providers + k;
        let b = &plan.bookings[b];
        ready[node] = secs_of_day(b.start, midnight);
        due[node] = ready[node];
        service[node] = secs_of_day(b.start + b.on_site, midnight) - ready[node];
        demand[node] = 1;
        allowed[node] = Some(if b.pinned {
            vec![b.provider as usize]
        } else {
            (0..providers)
                .filter(|&p| week.providers[p].offers[b.service])
                .collect()
        });
    }
    let vehicles = (0..providers)
        .map(|p| Vehicle {
            start: p,
            end: p,
            shift_start: secs_of_day(from, midnight),
            shift_end: secs_of_day(to, midnight),
            capacity: i64::from(week.config.daily_cap),
        })
        .collect();
    let problem = Problem {
        nodes,
        cost: time.clone(),
        time,
        demand,
        ready,
        due,
        service,
        customers: (providers..nodes).collect(),
        vehicles,
        allowed,
    };
    let cost = problem.routes_cost(&routes);
    DayProblem {
        problem,
        bookings,
        initial: Solution { routes, cost },
    }
}

/// The seconds driven on day `day` by the providers whose routes are `routes` (booking indices, in the order
/// driven), or `None` if a route breaks a promise with the real travel times: a visit reached after its
/// start, a provider home after the working day, over the cap, or out of start order.
pub fn driving_if_kept<T: TravelTime<Place = Spot>>(
    week: &Week,
    plan: &Plan,
    travel: &T,
    day: u32,
    routes: &[Vec<usize>],
) -> Option<f64> {
    let (from, to) = week.hours(day);
    let mut total = 0.0;
    for (p, route) in routes.iter().enumerate() {
        if route.len() > week.config.daily_cap as usize {
            return None;
        }
        let walk = walk_day(travel, week.providers[p].home, from, &legs(plan, route))?;
        if walk.late_secs.iter().any(|&l| l > 0.0) || (!route.is_empty() && walk.home_at > to) {
            return None;
        }
        total += walk.driving_secs;
    }
    Some(total)
}

/// Re-optimises day `day` of `plan` with `reoptimiser` and takes the new plan if it keeps every promise
/// (checked here, with the real travel times, never with the solver's own check) and drives less.
pub fn reoptimise_day<T: TravelTime<Place = Spot>>(
    week: &Week,
    plan: &mut Plan,
    travel: &T,
    day: u32,
    reoptimiser: &mut dyn Reoptimiser,
    rng: &mut Pcg64,
    stats: &mut ReoptStats,
) {
    let dp = day_problem(week, plan, travel, day);
    if dp.bookings.is_empty() {
        return;
    }
    stats.solved += 1;
    let Ok(solution) = reoptimiser.reoptimise(&dp.problem, &dp.initial, rng) else {
        stats.failed += 1;
        return;
    };
    let providers = plan.providers();
    let Some(routes) = bookings_of(&dp, providers, &solution) else {
        stats.refused += 1;
        return;
    };
    let pins_kept = routes.iter().enumerate().all(|(p, route)| {
        route.iter().all(|&b| {
            let b = &plan.bookings[b];
            (!b.pinned || b.provider as usize == p) && week.providers[p].offers[b.service]
        })
    });
    let old: Vec<Vec<usize>> = (0..providers)
        .map(|p| plan.day(day, u32::try_from(p).unwrap_or(u32::MAX)).to_vec())
        .collect();
    let (Some(before), Some(after)) = (
        driving_if_kept(week, plan, travel, day, &old),
        driving_if_kept(week, plan, travel, day, &routes).filter(|_| pins_kept),
    ) else {
        stats.refused += 1;
        return;
    };
    if after < before - 1e-6 {
        stats.taken += 1;
        stats.saved_secs += before - after;
        let moved: usize = routes
            .iter()
            .enumerate()
            .map(|(p, r)| {
                r.iter()
                    .filter(|&&b| plan.bookings[b].provider as usize != p)
                    .count()
            })
            .sum();
        stats.moved += u32::try_from(moved).unwrap_or(u32::MAX);
        plan.reassign(day, &routes);
    }
}

/// The solution's routes as booking indices, if it has one route per provider and every visit node
/// exactly once (and no home).
fn bookings_of(dp: &DayProblem, providers: usize, solution: &Solution) -> Option<Vec<Vec<usize>>> {
    if solution.routes.len() != providers {
        return None;
    }
    let mut seen = vec![false; dp.bookings.len()];
    let mut routes = Vec::with_capacity(providers);
    for route in &solution.routes {
        let mut mine = Vec::with_capacity(route.len());
        for &node in route {
            let k = node.checked_sub(providers)?;
            if *seen.get(k)? {
                return None;
            }
            seen[k] = true;
            mine.push(dp.bookings[k]);
        }
        routes.push(mine);
    }
    seen.iter().all(|&s| s).then_some(routes)
}
