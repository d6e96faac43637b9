//! The greedy baseline: first come, nearest driver.

use crate::problem::{Assignment, AssignmentProblem, InvalidProblem, SparseRows};

/// Greedy baseline: requests in the given order, each to its cheapest still-free candidate driver (tie → lower
/// driver index). Same problem type, same result type as [`crate::assign_min_cost`].
///
/// `order` must be a permutation of `0..problem.requests`. A request is given a driver whenever one of its
/// candidates is still free, even if that driver costs more than leaving the request unassigned: this is the
/// classic "nearest free driver" dispatcher the optimiser is measured against. A request whose candidates are all
/// taken stays unassigned and pays its unassigned cost.
///
/// Runs in `O(requests + drivers + candidates · log candidates)`.
pub fn assign_greedy(
    problem: &AssignmentProblem,
    order: &[usize],
) -> Result<Assignment, InvalidProblem> {
    let rows = SparseRows::from_problem(problem)?;
    check_order(order, problem.requests)?;
    let mut taken = vec![false; problem.drivers];
    let mut driver_of = vec![None; problem.requests];
    for &request in order {
        let (drivers, costs) = rows.row(request);
        let mut best: Option<(usize, f64)> = None;
        // Drivers are in increasing index order, so a strict comparison keeps the lower index on ties.
        for (&driver, &cost) in drivers.iter().zip(costs) {
            if !taken[driver] && best.is_none_or(|(_, best_cost)| cost < best_cost) {
                best = Some((driver, cost));
            }
        }
        if let Some((driver, _)) = best {
            taken[driver] = true;
            driver_of[request] = Some(driver);
        }
    }
    let total_cost = rows.total_cost(&driver_of, &problem.unassigned_cost);
    Ok(Assignment {
        driver_of,
        total_cost,
    })
}

/// Checks that `order` is a permutation of `0..requests`.
fn check_order(order: &[usize], requests: usize) -> Result<(), InvalidProblem> {
    if order.len() != requests {
        return Err(InvalidProblem::OrderLength {
            expected: requests,
            found: order.len(),
        });
    }
    let mut seen = vec![false; requests];
    for (position, &request) in order.iter().enumerate() {
        let Some(seen) = seen.get_mut(request) else {
            return Err(InvalidProblem::OrderRequestOutOfRange {
                position,
                request,
                requests,
            });
        };
        if std::mem::replace(seen, true) {
            return Err(InvalidProblem::OrderRepeatsRequest { request });
        }
    }
    Ok(())
}
