//! Exact minimum-cost batch assignment by successive shortest augmenting paths.
//!
//! # The model
//!
//! Every request `r` gets a private "unassigned" column `u(r)` reachable only from `r`, with cost
//! `unassigned_cost[r]`. The problem becomes a rectangular assignment problem in which every row must be matched
//! (to a driver or to its own unassigned column) and every column is used at most once. This is the same as a
//! min-cost flow with arcs source → request, request → driver (candidate cost), driver → sink and request → sink
//! (the unassigned arc); the private columns are those request → sink arcs.
//!
//! # The algorithm
//!
//! The solver keeps dual potentials `row_pot` and `col_pot` such that every reduced cost
//! `cost + row_pot[r] - col_pot[c]` is `>= 0`, the reduced cost of every matched pair is `0`, every free driver has
//! potential `0` and no driver has a positive one (the unassigned columns have potential `0` throughout). These are
//! the complementary slackness conditions of the assignment LP, so whenever every row is matched the matching is
//! optimal.
//!
//! 1. The Jonker-Volgenant augmenting row reduction, a zero-increment auction: a free row takes its cheapest
//!    option and lowers that driver's potential until the row is indifferent between it and its second-cheapest
//!    option; the row it displaces bids next. Each step keeps the conditions above exactly, and it settles most
//!    rows for the price of a scan of their candidates. Ties leave rows for a second pass, and a bid budget
//!    proportional to the input bounds the price wars a zero increment can fall into.
//! 2. Each row still free, in the order the reduction left them, runs Dijkstra over the residual graph with reduced
//!    costs (a radix heap; only the touched part of the graph is visited) until the cheapest reachable free column
//!    is settled, shifts the potentials of the settled nodes (Johnson's trick, so the next search again sees
//!    non-negative costs) and flips the augmenting path. A search stops as soon as no open label is below the best
//!    free column found, and a row's candidates are kept sorted by cost so its scan stops as soon as
//!    `distance + cost + row_pot` (a lower bound, driver potentials being `<= 0`) cannot beat that.
//!
//! Each search costs `O(E' log E')` for the `E'` candidate arcs it touches, so the whole solve is
//! `O(R · E log E)` in the worst case (every search touching the whole graph). In practice the reduction settles
//! most rows, and the searches that remain are short unless the market is saturated: the expensive case is a
//! batch with about as many drivers as requests and a prohibitive unassigned cost, where the last requests to be
//! served need long chains of reassignments and each search settles thousands of drivers.
//!
//! # Floating point
//!
//! Costs are `f64`. Reduced costs are clamped at `0` against rounding, potentials stay within the range of the
//! input costs (unassigned costs included), and the reported `total_cost` is summed from the input costs of the chosen pairs. The matching is
//! optimal up to rounding: its cost exceeds the optimum by at most a few ulps of the largest cost per request, far
//! below `1e-6` relative for any sane inputs (say, costs below `1e9`). Ties are broken deterministically.

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
/// potentials and a radix-heap Dijkstra over the sparse bipartite graph (see the module documentation); memory is
/// `O(requests + drivers + candidates)`.
pub fn assign_min_cost(problem: &AssignmentProblem) -> Result<Assignment, InvalidProblem> {
    let rows = SparseRows::from_problem(problem)?;
    let solver = Solver::solve(&rows, &problem.unassigned_cost, problem.drivers);
    let driver_of = solver.driver_of();
    let total_cost = rows.total_cost(&driver_of, &problem.unassigned_cost);
    Ok(Assignment {
        driver_of,
        total_cost,
    })
}

/// What a row (request) is matched to.
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

/// Bids the augmenting row reduction may place per request, on top of one per candidate.
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
#[derive(Debug)]
struct Solver<'a> {
    /// The candidates by request.
    rows: &'a SparseRows,
    /// Per request, the cost of its unassigned column.
    unassigned_cost: &'a [f64],
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
}

impl<'a> Solver<'a> {
    /// Solves the problem given by validated `rows` and `unassigned_cost`.
    fn solve(rows: &'a SparseRows, unassigned_cost: &'a [f64], drivers: usize) -> Self {
        let requests = rows.requests();
        let mut solver = Solver {
            rows,
            unassigned_cost,
            row_pot: vec![0.0; requests],
            row_match: vec![RowMatch::Free; requests],
            col: vec![Column::default(); drivers],
            touched: Vec::new(),
            settled: Vec::new(),
            heap: RadixHeap::new(),
        };
        for request in solver.reduce_by_auction() {
            solver.augment_from(request);
        }
        solver
    }

    /// The matching as `driver_of` per request. Every row is matched once `solve` returns.
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
    fn assert_certificate(solver: &Solver<'_>) {
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
    fn solver_ends_with_a_valid_dual_certificate_on_random_sparse_problems() {
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
            let solver = Solver::solve(&rows, &problem.unassigned_cost, drivers);
            assert_certificate(&solver);
        }
    }
}
