//! Exact minimum-cost batch assignment by successive shortest augmenting paths.
//!
//! # The model
//!
//! The solver works on a rectangular assignment problem in which every row must be matched, either to one of its
//! candidate columns (each column at most once) or to a private "unassigned" column of its own with a given cost.
//! This is the same as a min-cost flow with arcs source → row, row → column (candidate cost), column → sink and
//! row → sink (the unassigned arc). A batch can be put in this form two ways round (see [`by_requests`] and
//! [`by_drivers`]):
//!
//! - requests as rows, drivers as columns, `unassigned_cost` as the private columns' costs;
//! - drivers as rows, requests as columns, costs rewritten as savings against leaving the request unassigned,
//!   and "idle" as the private column.
//!
//! Both give the same optimum, but not in the same time: requests as rows is fast when drivers are plentiful
//! (searches end at one of the many free drivers), drivers as rows when they are scarce (searches end at one of
//! the many unserved requests). [`assign_min_cost`] guesses the faster one and races it against the other under
//! growing work budgets (counted in arcs scanned, never in time, so the outcome is deterministic); a wrong guess
//! costs at most a small constant factor.
//!
//! # The algorithm
//!
//! The solver keeps dual potentials `row_pot` and `Column::pot` such that every reduced cost
//! `cost + row_pot[r] - pot[c]` is `>= 0`, the reduced cost of every matched pair is `0`, every free column has
//! potential `0` and no column has a positive one (the private columns have potential `0` throughout). These are
//! the complementary slackness conditions of the assignment LP, so once every row is matched the matching is
//! optimal.
//!
//! 1. The Jonker-Volgenant augmenting row reduction, a zero-increment auction: a free row takes its cheapest
//!    option and lowers that column's potential until the row is indifferent between it and its second-cheapest
//!    option; the row it displaces bids next. Each step keeps the conditions above exactly, and it settles most
//!    rows for the price of a scan of their candidates. Ties leave rows for a second pass, and a bid budget
//!    proportional to the input bounds the price wars a zero increment can fall into.
//! 2. Each row still free, in the order the reduction left them, runs Dijkstra over the residual graph with reduced
//!    costs (a radix heap; only the touched part of the graph is visited) until the cheapest reachable free column
//!    is settled, shifts the potentials of the settled nodes (Johnson's trick, so the next search again sees
//!    non-negative costs) and flips the augmenting path. A search stops as soon as no open label is below the best
//!    free column found, and a row's candidates are kept sorted by cost so its scan stops as soon as
//!    `distance + cost + row_pot` (a lower bound, column potentials being `<= 0`) cannot beat that.
//!
//! Each search costs `O(E')` plus the heap operations for the `E'` candidate arcs it touches, so the whole solve is
//! `O(R · E)` heap steps in the worst case (every search touching the whole graph). In practice the reduction
//! settles most rows and the remaining searches are short, except in saturated batches (about as many drivers as
//! requests, unassigned costs high enough that everyone who can be served must be): there the last rows need long
//! chains of reassignments, and each of their searches settles thousands of columns, largely on plateaus of equally
//! good alternatives.
//!
//! # Floating point
//!
//! Costs are `f64`. Reduced costs are clamped at `0` against rounding, potentials stay within the range of the
//! input costs (unassigned costs included), and the reported `total_cost` is summed from the input costs of the
//! chosen pairs. The matching is optimal up to rounding: its cost exceeds the optimum by at most a few ulps of the
//! largest cost per request, far below `1e-6` relative for any sane input (say, every cost below `1e9`). Ties are
//! broken deterministically.

use crate::problem::{Assignment, AssignmentProblem, InvalidProblem, SparseRows};
use crate::radix_heap::RadixHeap;

/// Minimum-cost assignment of a batch: choose a matching (each request at most one driver, each driver at most one
/// request, only listed candidates) minimising the sum of the chosen candidates' costs plus the sum of
/// `unassigned_cost` over the requests left unassigned.
///
/// The result is exact (up to floating-point rounding, see the module documentation) and deterministic: it depends
/// only on the set of candidates, not on their order in `candidates`, and equal-cost ties are broken the same way on
/// every run and every machine.
///
/// Uses the Jonker-Volgenant augmenting row reduction, then successive shortest augmenting paths with Johnson
/// potentials and a radix-heap Dijkstra over the sparse bipartite graph, with requests or drivers as rows,
/// whichever finishes first (see the module documentation); memory is `O(requests + drivers + candidates)`.
pub fn assign_min_cost(problem: &AssignmentProblem) -> Result<Assignment, InvalidProblem> {
    let rows = SparseRows::from_problem(problem)?;
    let unassigned_cost = &problem.unassigned_cost;
    let drivers = problem.drivers;
    // Race the two orientations under growing work budgets, the one expected to be faster with four times the
    // budget of the other; the first to finish gives the answer. Budgets count work (arcs scanned), never time,
    // so the outcome is deterministic.
    let drivers_first = drivers_first(problem.requests, drivers, unassigned_cost);
    let mut first = Orientation::new(drivers_first);
    let mut second = Orientation::new(!drivers_first);
    let mut budget = RACE_FIRST_BUDGET_PER_ARC * (rows.entries() + problem.requests + drivers);
    let driver_of = loop {
        if let Some(driver_of) = first.run(&rows, unassigned_cost, drivers, budget) {
            break driver_of;
        }
        if let Some(driver_of) = second.run(&rows, unassigned_cost, drivers, budget / 4) {
            break driver_of;
        }
        budget = budget.saturating_mul(2);
    };
    let total_cost = rows.total_cost(&driver_of, unassigned_cost);
    Ok(Assignment {
        driver_of,
        total_cost,
    })
}

/// Whether to give the drivers-as-rows orientation the larger budget, from what was measured on synthetic city
/// batches: with more drivers than requests, requests as rows always won; with fewer drivers, drivers as rows won
/// when drivers were scarce (at most half the requests) or the unassigned costs were all about equal (then every
/// request is worth the same and drivers compete for none in particular); requests as rows won on nearly balanced
/// batches with heterogeneous unassigned costs. The race makes up for a wrong guess.
fn drivers_first(requests: usize, drivers: usize, unassigned_cost: &[f64]) -> bool {
    if drivers >= requests {
        return false;
    }
    if drivers.saturating_mul(2) <= requests {
        return true;
    }
    let (low, high) = unassigned_cost
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(low, high), &cost| {
            (low.min(cost), high.max(cost))
        });
    high - low <= UNIFORM_UNASSIGNED_SPREAD * high
}

/// Relative spread below which unassigned costs count as all about equal.
const UNIFORM_UNASSIGNED_SPREAD: f64 = 0.01;

/// Initial work budget of the orientation expected to be faster, per candidate, request and driver.
const RACE_FIRST_BUDGET_PER_ARC: usize = 4;

/// One orientation of the problem, built on first use and solved incrementally.
#[derive(Debug)]
struct Orientation {
    /// Whether the drivers are the rows (see [`by_drivers`]) rather than the requests (see [`by_requests`]).
    drivers_are_rows: bool,
    /// The solver, once built.
    solver: Option<Solver>,
}

impl Orientation {
    /// An orientation not yet built.
    fn new(drivers_are_rows: bool) -> Self {
        Orientation {
            drivers_are_rows,
            solver: None,
        }
    }

    /// Gives the orientation `budget` more work; returns `driver_of` per request once it is solved.
    fn run(
        &mut self,
        rows: &SparseRows,
        unassigned_cost: &[f64],
        drivers: usize,
        budget: usize,
    ) -> Option<Vec<Option<usize>>> {
        let drivers_are_rows = self.drivers_are_rows;
        let solver = self.solver.get_or_insert_with(|| {
            if drivers_are_rows {
                by_drivers(rows, unassigned_cost, drivers)
            } else {
                by_requests(rows, unassigned_cost, drivers)
            }
        });
        if !solver.run(budget) {
            return None;
        }
        let matched = solver.driver_of();
        if !drivers_are_rows {
            return Some(matched);
        }
        let mut driver_of = vec![None; rows.requests()];
        for (driver, request) in matched.into_iter().enumerate() {
            if let Some(request) = request {
                driver_of[request] = Some(driver);
            }
        }
        Some(driver_of)
    }
}

/// The solver with requests as rows, drivers as columns. A candidate that costs more than leaving its request
/// unassigned can never be part of an optimal matching (dropping it and the request would be cheaper), so it is
/// left out of the graph.
///
/// This orientation is fast when drivers are plentiful: searches end at one of the many free drivers.
fn by_requests(rows: &SparseRows, unassigned_cost: &[f64], drivers: usize) -> Solver {
    let useful = rows.filtered(|request, _, cost| cost <= unassigned_cost[request]);
    Solver::new(useful, unassigned_cost.to_vec(), drivers)
}

/// The solver with drivers as rows, requests as columns.
///
/// Serving request `i` with driver `j` saves `unassigned_cost[i] - cost` over leaving `i` unassigned, so the
/// problem is the same as matching each driver to a request or to "idle" at cost `cost - unassigned_cost[i]` or
/// `0`. Adding a constant `k[j]` to all of driver `j`'s options changes no decision (every driver takes exactly one
/// option); `k[j]` is driver `j`'s largest saving, which makes every cost `>= 0`, with `k[j]` as the idle cost.
/// Candidates that save nothing (cost above the unassigned cost) are left out as in [`by_requests`].
///
/// This orientation is fast when drivers are scarce: searches end at one of the many unserved requests instead of
/// hunting for the cheapest request to drop.
fn by_drivers(rows: &SparseRows, unassigned_cost: &[f64], drivers: usize) -> Solver {
    let requests = rows.requests();
    // Per driver, its useful candidates as (request, cost - unassigned cost), grouped by a counting sort.
    let mut start = vec![0usize; drivers + 1];
    for (request, &unassigned) in unassigned_cost.iter().enumerate() {
        let (row_drivers, costs) = rows.row(request);
        for (&driver, &cost) in row_drivers.iter().zip(costs) {
            if cost <= unassigned {
                start[driver + 1] += 1;
            }
        }
    }
    for driver in 0..drivers {
        start[driver + 1] += start[driver];
    }
    let mut next = start.clone();
    let mut entries = vec![(0usize, 0.0f64); start[drivers]];
    for (request, &unassigned) in unassigned_cost.iter().enumerate() {
        let (row_drivers, costs) = rows.row(request);
        for (&driver, &cost) in row_drivers.iter().zip(costs) {
            if cost <= unassigned {
                entries[next[driver]] = (request, cost - unassigned);
                next[driver] += 1;
            }
        }
    }
    let mut idle_cost = vec![0.0; drivers];
    for (driver, idle) in idle_cost.iter_mut().enumerate() {
        let row = &mut entries[start[driver]..start[driver + 1]];
        // `0.0 - x` rather than `-x`, so that a driver without savings gets `+0.0`, not `-0.0`.
        let largest_saving = 0.0 - row.iter().map(|&(_, cost)| cost).fold(0.0, f64::min);
        for entry in row.iter_mut() {
            // `cost >= -largest_saving`, so the sum is `>= 0` even after rounding.
            entry.1 += largest_saving;
        }
        row.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        *idle = largest_saving;
    }
    Solver::new(
        SparseRows::from_sorted_parts(start, &entries),
        idle_cost,
        requests,
    )
}

/// What a row is matched to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RowMatch {
    /// Not yet matched: only rows waiting for their search are in this state.
    Free,
    /// Matched to a driver column.
    Driver(usize),
    /// Matched to its private unassigned column.
    Unassigned,
}

/// The free column at the end of an augmenting path, and the row the path reaches it from.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A free driver, reached from `row`.
    Driver {
        /// The free driver.
        driver: usize,
        /// The row whose candidate arc reaches it.
        row: usize,
    },
    /// The unassigned column of `row`.
    Unassigned {
        /// The row that gives up its driver (or the searching row itself, which then stays unassigned).
        row: usize,
    },
}

/// Bids the augmenting row reduction may place per row, on top of one per candidate.
const AUCTION_BIDS_PER_ROW: usize = 4;

/// Passes of the augmenting row reduction over the rows it leaves free.
const AUCTION_PASSES: usize = 2;

/// Marker for "no row" in [`Column`].
const NO_ROW: usize = usize::MAX;

/// The solver's state of one driver column.
#[derive(Debug, Clone, Copy)]
struct Column {
    /// The driver's potential (the LP dual of the column, `<= 0`, `0` while the driver is free).
    pot: f64,
    /// Its tentative distance in the current search: `INFINITY` when untouched, `NEG_INFINITY` once settled.
    dist: f64,
    /// The request matched to it, or `NO_ROW`.
    matched: usize,
    /// The row its tentative distance comes from in the current search.
    pred: usize,
}

impl Default for Column {
    fn default() -> Self {
        Column {
            pot: 0.0,
            dist: f64::INFINITY,
            matched: NO_ROW,
            pred: NO_ROW,
        }
    }
}

/// The solver state: the matching, the dual potentials and the reusable scratch space of the searches.
///
/// Inside the solver, "request" means row and "driver" means column, in whichever orientation it was built (see
/// the module documentation); "unassigned" is the row's private column.
#[derive(Debug)]
struct Solver {
    /// The candidates by row.
    rows: SparseRows,
    /// Per row, the cost of its unassigned column.
    unassigned_cost: Vec<f64>,
    /// Per request, its potential (minus the LP dual of the row).
    row_pot: Vec<f64>,
    /// Per request, what it is matched to.
    row_match: Vec<RowMatch>,
    /// Per driver, its potential, match and search state, together so that relaxing an arc touches one cache line.
    col: Vec<Column>,
    /// Drivers whose search distance the current search changed, to reset them afterwards.
    touched: Vec<usize>,
    /// Drivers settled by the current search, with their final distances.
    settled: Vec<(usize, f64)>,
    /// The Dijkstra queue of the current search.
    heap: RadixHeap,
    /// Work done so far: arcs scanned (counted as whole rows) plus rows scanned.
    work: usize,
    /// Work allowed so far by [`Solver::run`].
    allowed: usize,
    /// The rows the augmenting row reduction left free, once it has run, and how many of them are matched.
    pending: Option<(Vec<usize>, usize)>,
}

impl Solver {
    /// A solver for validated `rows` (each sorted by cost) with `columns` columns and the given unassigned costs.
    fn new(rows: SparseRows, unassigned_cost: Vec<f64>, columns: usize) -> Self {
        let row_count = rows.requests();
        Solver {
            rows,
            unassigned_cost,
            row_pot: vec![0.0; row_count],
            row_match: vec![RowMatch::Free; row_count],
            col: vec![Column::default(); columns],
            touched: Vec::new(),
            settled: Vec::new(),
            heap: RadixHeap::new(),
            work: 0,
            allowed: 0,
            pending: None,
        }
    }

    /// Allows `budget` more work and works until the problem is solved (returns `true`) or the work done exceeds
    /// the work allowed (returns `false`; a later call resumes). A search is never interrupted, so the allowance
    /// can be overrun by one search.
    fn run(&mut self, budget: usize) -> bool {
        self.allowed = self.allowed.saturating_add(budget);
        let (free, mut done) = match self.pending.take() {
            Some(pending) => pending,
            None => (self.reduce_by_auction(), 0),
        };
        while done < free.len() && self.work <= self.allowed {
            self.augment_from(free[done]);
            done += 1;
        }
        let solved = done == free.len();
        self.pending = Some((free, done));
        solved
    }

    /// The matching as the column of each row. Every row is matched once `run` has returned `true`.
    fn driver_of(&self) -> Vec<Option<usize>> {
        self.row_match
            .iter()
            .map(|matched| match matched {
                RowMatch::Driver(driver) => Some(*driver),
                RowMatch::Free | RowMatch::Unassigned => None,
            })
            .collect()
    }

    /// The two cheapest options of `row` at the current driver potentials, as `(value, driver)` pairs where `None`
    /// stands for the row's unassigned column: the value of a driver is `cost - col_pot`, of the unassigned column
    /// `unassigned_cost`. Ties go to the lower driver index, and drivers beat the unassigned column.
    fn two_cheapest(&self, row: usize) -> [(f64, Option<usize>); 2] {
        let (drivers, costs) = self.rows.row(row);
        // Is `(value, option)` strictly preferred to `than`? Drivers win ties against the unassigned column.
        let beats = |value: f64, than: (f64, Option<usize>)| {
            value < than.0 || (value == than.0 && than.1.is_none())
        };
        let mut best = [(self.unassigned_cost[row], None), (f64::INFINITY, None)];
        for (&driver, &cost) in drivers.iter().zip(costs) {
            // Driver potentials are never positive, so a driver's value is at least its cost, and the row is
            // sorted by cost: once the cost exceeds the second best value, nothing later can enter the top two.
            if cost > best[1].0 {
                break;
            }
            let value = cost - self.col[driver].pot;
            if beats(value, best[0]) {
                best[1] = best[0];
                best[0] = (value, Some(driver));
            } else if beats(value, best[1]) {
                best[1] = (value, Some(driver));
            }
        }
        best
    }

    /// Gives `row` to `driver` (`None`: to its unassigned column) at row potential `-value`, and returns the row that
    /// held the driver before, if any, now free.
    fn give(&mut self, row: usize, driver: Option<usize>, value: f64) -> Option<usize> {
        self.row_pot[row] = -value;
        let Some(driver) = driver else {
            self.row_match[row] = RowMatch::Unassigned;
            return None;
        };
        self.row_match[row] = RowMatch::Driver(driver);
        let previous = std::mem::replace(&mut self.col[driver].matched, row);
        if previous == NO_ROW {
            return None;
        }
        self.row_match[previous] = RowMatch::Free;
        Some(previous)
    }

    /// The Jonker-Volgenant augmenting row reduction, a zero-increment auction: a free row takes its cheapest option
    /// and lowers that driver's potential until the row is indifferent between it and its second-cheapest option,
    /// displacing the driver's previous row, which bids next. Every step keeps every invariant (matched pairs at
    /// reduced cost `0`, all reduced costs `>= 0`, only matched drivers below potential `0`), so whatever it leaves
    /// free the shortest-path phase finishes exactly. It settles most rows for a fraction of the cost of a search;
    /// a bid budget proportional to the input size bounds the price wars it can fall into.
    ///
    /// Returns the rows still free, in the order they were left.
    fn reduce_by_auction(&mut self) -> Vec<usize> {
        let mut free: Vec<usize> = (0..self.rows.requests()).collect();
        let mut bids_left = AUCTION_BIDS_PER_ROW * free.len() + self.rows.entries();
        for _ in 0..AUCTION_PASSES {
            let mut still_free = Vec::new();
            for (position, &first) in free.iter().enumerate() {
                if bids_left == 0 {
                    still_free.extend_from_slice(&free[position..]);
                    break;
                }
                let mut bidder = Some(first);
                while let Some(row) = bidder.take() {
                    if bids_left == 0 {
                        still_free.push(row);
                        break;
                    }
                    bids_left -= 1;
                    self.work += self.rows.row(row).0.len() + 1;
                    let [(value, option), (second_value, second_option)] = self.two_cheapest(row);
                    let Some(driver) = option else {
                        // Leaving the row unassigned is its cheapest option: nobody can contest that.
                        self.give(row, None, value);
                        continue;
                    };
                    if second_value > value {
                        // Lower the driver's potential (raise its price) by the row's margin and take it; the
                        // displaced row bids next.
                        self.col[driver].pot -= second_value - value;
                        bidder = self.give(row, Some(driver), second_value);
                    } else if self.col[driver].matched != NO_ROW {
                        // A tie with a taken driver: take the equally cheap second option instead, and leave
                        // whoever held it to the next pass.
                        still_free.extend(self.give(row, second_option, value));
                    } else {
                        self.give(row, Some(driver), value);
                    }
                }
            }
            free = still_free;
        }
        free
    }

    /// Relaxes every arc out of `row`, which the search reached at `distance`, improving `best` (the cheapest free
    /// column found so far) or pushing labels of matched drivers.
    fn scan_row(&mut self, row: usize, distance: f64, best: &mut (f64, Option<Target>)) {
        let (drivers, costs) = self.rows.row(row);
        self.work += drivers.len() + 1;
        // Driver potentials are never positive, so `cost + row_pot` bounds every reduced cost from below, and the
        // row is sorted by cost: once that bound reaches `best`, no later arc can improve anything.
        let floor = distance + self.row_pot[row];
        let row_pot = self.row_pot[row];
        for (&driver, &cost) in drivers.iter().zip(costs) {
            if floor + cost >= best.0 {
                break;
            }
            let column = &mut self.col[driver];
            // The reduced cost is clamped at 0 against rounding. A settled driver has distance `NEG_INFINITY`, so
            // the comparison below skips it.
            let candidate = distance + (cost + row_pot - column.pot).max(0.0);
            if candidate >= best.0 {
                continue;
            }
            if column.matched == NO_ROW {
                *best = (candidate, Some(Target::Driver { driver, row }));
            } else if candidate < column.dist {
                if column.dist == f64::INFINITY {
                    self.touched.push(driver);
                }
                column.dist = candidate;
                column.pred = row;
                self.heap.push(candidate, driver);
            }
        }
        // The row's own unassigned column comes last, so a driver of equal cost in the same row wins the tie.
        let candidate = distance + (self.unassigned_cost[row] + self.row_pot[row]).max(0.0);
        if candidate < best.0 {
            *best = (candidate, Some(Target::Unassigned { row }));
        }
    }

    /// Matches the free row `start` by one shortest augmenting path, keeping all invariants.
    fn augment_from(&mut self, start: usize) {
        // A free row's potential is free to choose: make its cheapest option tight, so its arcs are non-negative.
        self.row_pot[start] = -self.two_cheapest(start)[0].0;
        let mut best: (f64, Option<Target>) = (f64::INFINITY, None);
        self.scan_row(start, 0.0, &mut best);
        while let Some((distance, driver)) = self.heap.pop() {
            if distance >= best.0 {
                break;
            }
            let column = &mut self.col[driver];
            if distance > column.dist {
                continue; // A stale label, or the driver is already settled.
            }
            column.dist = f64::NEG_INFINITY;
            let matched = column.matched;
            self.settled.push((driver, distance));
            self.scan_row(matched, distance, &mut best);
        }
        self.heap.clear();
        let (length, target) = best;

        // Johnson's update: every settled node moves by (its distance - length), the others stay. The searching
        // row sits at distance 0.
        self.row_pot[start] -= length;
        for &(driver, distance) in &self.settled {
            let shift = length - distance;
            let column = &mut self.col[driver];
            column.pot -= shift;
            self.row_pot[column.matched] -= shift;
        }

        // Flip the path, walking back from its end to `start`.
        if let Some(target) = target {
            let (mut row, mut slot) = match target {
                Target::Driver { driver, row } => (row, RowMatch::Driver(driver)),
                Target::Unassigned { row } => (row, RowMatch::Unassigned),
            };
            loop {
                let previous = std::mem::replace(&mut self.row_match[row], slot);
                if let RowMatch::Driver(driver) = slot {
                    self.col[driver].matched = row;
                }
                if row == start {
                    break;
                }
                // Every row on the path other than `start` was reached through the driver it was matched to.
                let RowMatch::Driver(driver) = previous else {
                    unreachable!("a row reached by the search is matched to a driver");
                };
                row = self.col[driver].pred;
                slot = RowMatch::Driver(driver);
            }
        }

        for &driver in &self.touched {
            let column = &mut self.col[driver];
            column.dist = f64::INFINITY;
            column.pred = NO_ROW;
        }
        self.touched.clear();
        self.settled.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Candidate;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    /// Checks the complementary slackness certificate the solver promises.
    fn assert_certificate(solver: &Solver) {
        let tolerance = 1e-9;
        for row in 0..solver.rows.requests() {
            let (drivers, costs) = solver.rows.row(row);
            for (&driver, &cost) in drivers.iter().zip(costs) {
                let reduced = cost + solver.row_pot[row] - solver.col[driver].pot;
                assert!(reduced >= -tolerance, "negative reduced cost {reduced}");
                if solver.row_match[row] == RowMatch::Driver(driver) {
                    assert!(reduced.abs() <= tolerance, "loose matched arc {reduced}");
                }
            }
            let reduced = solver.unassigned_cost[row] + solver.row_pot[row];
            assert!(reduced >= -tolerance);
            match solver.row_match[row] {
                RowMatch::Free => panic!("row {row} left free"),
                RowMatch::Unassigned => assert!(reduced.abs() <= tolerance),
                RowMatch::Driver(driver) => assert_eq!(solver.col[driver].matched, row),
            }
        }
        for column in &solver.col {
            let pot = column.pot;
            assert!(pot <= tolerance);
            if column.matched == NO_ROW {
                assert!(pot.abs() <= tolerance, "free driver with potential {pot}");
            }
        }
    }

    #[test]
    fn both_orientations_end_with_a_valid_dual_certificate_and_the_same_optimum() {
        let mut rng = Pcg64::seed_from_u64(7);
        for _ in 0..200 {
            let requests = rng.random_range(0..40);
            let drivers = rng.random_range(0..40);
            let mut candidates = Vec::new();
            if drivers > 0 {
                for request in 0..requests {
                    for _ in 0..rng.random_range(0..6) {
                        candidates.push(Candidate {
                            request,
                            driver: rng.random_range(0..drivers),
                            cost: f64::from(rng.random_range(0..30u32)),
                        });
                    }
                }
            }
            let unassigned_cost = (0..requests)
                .map(|_| {
                    if rng.random_bool(0.5) {
                        1e6
                    } else {
                        f64::from(rng.random_range(0..40u32))
                    }
                })
                .collect();
            let problem = AssignmentProblem {
                requests,
                drivers,
                candidates,
                unassigned_cost,
            };
            let rows = SparseRows::from_problem(&problem).expect("valid problem");
            let mut by_requests = by_requests(&rows, &problem.unassigned_cost, drivers);
            let mut by_drivers = by_drivers(&rows, &problem.unassigned_cost, drivers);
            for solver in [&mut by_requests, &mut by_drivers] {
                assert!(solver.run(usize::MAX));
                assert_certificate(solver);
            }
            // Both orientations reach the same optimum.
            let driver_of = by_requests.driver_of();
            let mut transposed = vec![None; requests];
            for (driver, request) in by_drivers.driver_of().into_iter().enumerate() {
                if let Some(request) = request {
                    transposed[request] = Some(driver);
                }
            }
            let cost = rows.total_cost(&driver_of, &problem.unassigned_cost);
            let transposed_cost = rows.total_cost(&transposed, &problem.unassigned_cost);
            assert!((cost - transposed_cost).abs() <= 1e-9 * cost.max(1.0));
        }
    }
}
