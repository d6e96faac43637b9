//! The batch assignment problem, its solution, validation and the sparse row layout the solvers share.

use thiserror::Error;

/// One candidate pairing of a request (row) with a driver or vehicle (column) and its cost.
///
/// The cost is whatever the caller minimises, typically the pickup ETA in seconds. It must be a finite
/// `f64 >= 0`; pairs that are not listed as candidates are infeasible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index of the request, in `0..problem.requests`.
    pub request: usize,
    /// Index of the driver, in `0..problem.drivers`.
    pub driver: usize,
    /// Cost of serving `request` with `driver` (finite, `>= 0`).
    pub cost: f64,
}

/// A batch assignment problem: `requests` rows, `drivers` columns, a sparse list of feasible candidates, and per
/// request the cost of leaving it unassigned in this batch.
///
/// A solution is a matching (each request gets at most one driver, each driver at most one request, only listed
/// candidates) whose cost is the sum of the chosen candidates' costs plus the unassigned cost of every request left
/// without a driver. With an unassigned cost far above any candidate cost, the cheapest solution serves as many
/// requests as possible and, among those, minimises the total candidate cost; per-request unassigned costs make the
/// choice profit-aware (a request is left out when serving it costs more than rejecting it).
///
/// If the same `(request, driver)` pair is listed more than once, the cheapest listing counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssignmentProblem {
    /// Number of requests (rows).
    pub requests: usize,
    /// Number of drivers (columns).
    pub drivers: usize,
    /// The feasible pairings; every pair not listed here is infeasible.
    pub candidates: Vec<Candidate>,
    /// Per request, the cost of leaving it unassigned (finite, `>= 0`); its length must equal `requests`.
    pub unassigned_cost: Vec<f64>,
}

/// A solution of an [`AssignmentProblem`].
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Per request, the driver it is assigned to, or `None` if it stays unassigned in this batch.
    pub driver_of: Vec<Option<usize>>,
    /// Sum of the chosen candidates' costs plus the unassigned costs of the unassigned requests, summed in request
    /// order.
    pub total_cost: f64,
}

impl Assignment {
    /// Number of requests that got a driver.
    pub fn served(&self) -> usize {
        self.driver_of
            .iter()
            .filter(|driver| driver.is_some())
            .count()
    }

    /// The inverse view: per driver (of `drivers`), the request assigned to it, if any.
    ///
    /// Drivers with an index `>= drivers` are ignored, which cannot happen for an assignment returned by this crate
    /// when `drivers` is the problem's driver count.
    pub fn request_of(&self, drivers: usize) -> Vec<Option<usize>> {
        let mut request_of = vec![None; drivers];
        for (request, driver) in self.driver_of.iter().enumerate() {
            if let Some(slot) = driver.and_then(|driver| request_of.get_mut(driver)) {
                *slot = Some(request);
            }
        }
        request_of
    }
}

/// Why an [`AssignmentProblem`] (or the request order given with it) cannot be solved. Every variant is the caller's
/// fault: the input is rejected before any work is done.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InvalidProblem {
    /// `unassigned_cost` does not have one entry per request.
    #[error("unassigned_cost has {found} entries but the problem has {expected} requests")]
    UnassignedCostLength {
        /// The number of requests.
        expected: usize,
        /// The length of `unassigned_cost`.
        found: usize,
    },
    /// A candidate names a request that does not exist.
    #[error(
        "candidate {candidate} names request {request} but the problem has {requests} requests"
    )]
    RequestOutOfRange {
        /// Position of the candidate in `candidates`.
        candidate: usize,
        /// The request it names.
        request: usize,
        /// The number of requests.
        requests: usize,
    },
    /// A candidate names a driver that does not exist.
    #[error("candidate {candidate} names driver {driver} but the problem has {drivers} drivers")]
    DriverOutOfRange {
        /// Position of the candidate in `candidates`.
        candidate: usize,
        /// The driver it names.
        driver: usize,
        /// The number of drivers.
        drivers: usize,
    },
    /// A candidate's cost is NaN, infinite or negative.
    #[error("candidate {candidate} has cost {cost}, which is not a finite number >= 0")]
    InvalidCandidateCost {
        /// Position of the candidate in `candidates`.
        candidate: usize,
        /// The offending cost.
        cost: f64,
    },
    /// An unassigned cost is NaN, infinite or negative.
    #[error("request {request} has unassigned cost {cost}, which is not a finite number >= 0")]
    InvalidUnassignedCost {
        /// The request.
        request: usize,
        /// The offending cost.
        cost: f64,
    },
    /// The request order given to a greedy assignment does not have one entry per request.
    #[error("the order lists {found} requests but the problem has {expected}")]
    OrderLength {
        /// The number of requests.
        expected: usize,
        /// The length of the order.
        found: usize,
    },
    /// The request order names a request that does not exist.
    #[error(
        "position {position} of the order names request {request} but the problem has {requests} requests"
    )]
    OrderRequestOutOfRange {
        /// Position in the order.
        position: usize,
        /// The request it names.
        request: usize,
        /// The number of requests.
        requests: usize,
    },
    /// The request order names a request twice.
    #[error("the order names request {request} more than once")]
    OrderRepeatsRequest {
        /// The repeated request.
        request: usize,
    },
}

/// Why a proposed matching is not a valid solution of an [`AssignmentProblem`], as reported by
/// [`AssignmentProblem::cost_of`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InvalidMatching {
    /// The problem itself is invalid.
    #[error("invalid problem")]
    Problem(#[from] InvalidProblem),
    /// The matching does not have one entry per request.
    #[error("the matching has {found} entries but the problem has {expected} requests")]
    Length {
        /// The number of requests.
        expected: usize,
        /// The length of the matching.
        found: usize,
    },
    /// A request is paired with a driver it has no candidate for (this includes drivers that do not exist).
    #[error("request {request} is paired with driver {driver}, which is not one of its candidates")]
    NotACandidate {
        /// The request.
        request: usize,
        /// The driver.
        driver: usize,
    },
    /// A driver is paired with more than one request.
    #[error("driver {driver} is paired with more than one request")]
    DriverUsedTwice {
        /// The driver.
        driver: usize,
    },
}

impl AssignmentProblem {
    /// Checks the problem: index ranges, costs (finite, `>= 0`) and the length of `unassigned_cost`.
    ///
    /// The solvers run the same check and return the same error, so calling this first is never required.
    pub fn validate(&self) -> Result<(), InvalidProblem> {
        SparseRows::from_problem(self).map(|_| ())
    }

    /// The total cost of a proposed matching (`driver_of[request]`), checking that it is a valid matching of this
    /// problem: only listed candidates (the cheapest listing of a duplicated pair counts), no driver used twice.
    ///
    /// Benchmarks and tests use this to score any matching with the same rules as the solvers; the sum is taken in
    /// request order, exactly as the solvers compute [`Assignment::total_cost`].
    pub fn cost_of(&self, driver_of: &[Option<usize>]) -> Result<f64, InvalidMatching> {
        let rows = SparseRows::from_problem(self)?;
        if driver_of.len() != self.requests {
            return Err(InvalidMatching::Length {
                expected: self.requests,
                found: driver_of.len(),
            });
        }
        let mut used = vec![false; self.drivers];
        for (request, driver) in driver_of.iter().enumerate() {
            let Some(driver) = *driver else { continue };
            if rows.cost(request, driver).is_none() {
                return Err(InvalidMatching::NotACandidate { request, driver });
            }
            // The driver exists: it is one of the request's (validated) candidates.
            if std::mem::replace(&mut used[driver], true) {
                return Err(InvalidMatching::DriverUsedTwice { driver });
            }
        }
        Ok(rows.total_cost(driver_of, &self.unassigned_cost))
    }
}

/// Checks that a cost is a finite number `>= 0` (`-0.0` counts as zero).
pub(crate) fn is_valid_cost(cost: f64) -> bool {
    cost.is_finite() && cost >= 0.0
}

/// The validated candidates in compressed sparse row form: for each request, its distinct drivers, each with the
/// cheapest cost listed for that pair, in increasing order of (cost, driver index).
///
/// This layout depends only on the set of candidates, not on their order in the input, so everything built on it is
/// independent of how the caller ordered `candidates`.
#[derive(Debug, Clone)]
pub(crate) struct SparseRows {
    /// `start[r]..start[r + 1]` is the range of request `r`'s entries in `driver` and `cost`.
    start: Vec<usize>,
    /// Driver of each entry.
    driver: Vec<usize>,
    /// Cost of each entry.
    cost: Vec<f64>,
}

impl SparseRows {
    /// Validates `problem` and builds its rows.
    pub(crate) fn from_problem(problem: &AssignmentProblem) -> Result<Self, InvalidProblem> {
        if problem.unassigned_cost.len() != problem.requests {
            return Err(InvalidProblem::UnassignedCostLength {
                expected: problem.requests,
                found: problem.unassigned_cost.len(),
            });
        }
        for (request, &cost) in problem.unassigned_cost.iter().enumerate() {
            if !is_valid_cost(cost) {
                return Err(InvalidProblem::InvalidUnassignedCost { request, cost });
            }
        }
        // Count per request while validating, then place the candidates by a stable counting sort.
        let mut start = vec![0usize; problem.requests + 1];
        for (index, candidate) in problem.candidates.iter().enumerate() {
            if candidate.request >= problem.requests {
                return Err(InvalidProblem::RequestOutOfRange {
                    candidate: index,
                    request: candidate.request,
                    requests: problem.requests,
                });
            }
            if candidate.driver >= problem.drivers {
                return Err(InvalidProblem::DriverOutOfRange {
                    candidate: index,
                    driver: candidate.driver,
                    drivers: problem.drivers,
                });
            }
            if !is_valid_cost(candidate.cost) {
                return Err(InvalidProblem::InvalidCandidateCost {
                    candidate: index,
                    cost: candidate.cost,
                });
            }
            start[candidate.request + 1] += 1;
        }
        for request in 0..problem.requests {
            start[request + 1] += start[request];
        }
        let mut next = start.clone();
        let mut entries = vec![(0usize, 0.0f64); problem.candidates.len()];
        for candidate in &problem.candidates {
            let slot = &mut next[candidate.request];
            entries[*slot] = (candidate.driver, candidate.cost);
            *slot += 1;
        }
        // Sort each row by (cost, driver) and keep the first, i.e. cheapest, entry per driver (`seen[driver]` holds
        // `request + 1` once the request has kept that driver). Ordering rows by cost lets the solvers stop
        // scanning a row early.
        let mut rows = SparseRows {
            start: Vec::with_capacity(problem.requests + 1),
            driver: Vec::with_capacity(entries.len()),
            cost: Vec::with_capacity(entries.len()),
        };
        rows.start.push(0);
        let mut seen = vec![0usize; problem.drivers];
        for request in 0..problem.requests {
            let row = &mut entries[start[request]..start[request + 1]];
            row.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            for &(driver, cost) in row.iter() {
                if seen[driver] != request + 1 {
                    seen[driver] = request + 1;
                    rows.driver.push(driver);
                    rows.cost.push(cost);
                }
            }
            rows.start.push(rows.driver.len());
        }
        Ok(rows)
    }

    /// Builds rows from per-row lists of `(column, cost)`, each already sorted by (cost, column) with distinct
    /// columns: `start[r]..start[r + 1]` indexes row `r`'s entries in `entries`.
    pub(crate) fn from_sorted_parts(start: Vec<usize>, entries: &[(usize, f64)]) -> Self {
        SparseRows {
            start,
            driver: entries.iter().map(|&(col, _)| col).collect(),
            cost: entries.iter().map(|&(_, cost)| cost).collect(),
        }
    }

    /// The same rows without the entries for which `keep(row, column, cost)` is false (order preserved).
    pub(crate) fn filtered(&self, keep: impl Fn(usize, usize, f64) -> bool) -> Self {
        let mut start = Vec::with_capacity(self.start.len());
        let mut entries = Vec::with_capacity(self.driver.len());
        start.push(0);
        for row in 0..self.requests() {
            let (cols, costs) = self.row(row);
            entries.extend(
                cols.iter()
                    .zip(costs)
                    .filter(|&(&col, &cost)| keep(row, col, cost))
                    .map(|(&col, &cost)| (col, cost)),
            );
            start.push(entries.len());
        }
        SparseRows::from_sorted_parts(start, &entries)
    }

    /// Number of requests.
    pub(crate) fn requests(&self) -> usize {
        self.start.len() - 1
    }

    /// Number of distinct candidate pairs.
    pub(crate) fn entries(&self) -> usize {
        self.driver.len()
    }

    /// Request `request`'s candidates as parallel slices of drivers and costs, cheapest first (ties: lower driver).
    pub(crate) fn row(&self, request: usize) -> (&[usize], &[f64]) {
        let range = self.start[request]..self.start[request + 1];
        (&self.driver[range.clone()], &self.cost[range])
    }

    /// The cost of pairing `request` with `driver`, or `None` if that pair is not a candidate.
    pub(crate) fn cost(&self, request: usize, driver: usize) -> Option<f64> {
        let (drivers, costs) = self.row(request);
        drivers
            .iter()
            .position(|&candidate| candidate == driver)
            .map(|position| costs[position])
    }

    /// The total cost of a matching already known to be valid, summed in request order.
    pub(crate) fn total_cost(&self, driver_of: &[Option<usize>], unassigned_cost: &[f64]) -> f64 {
        driver_of
            .iter()
            .zip(unassigned_cost)
            .enumerate()
            .map(|(request, (driver, &unassigned))| {
                driver
                    .and_then(|driver| self.cost(request, driver))
                    .unwrap_or(unassigned)
            })
            .fold(0.0, |total, cost| total + cost)
    }
}
