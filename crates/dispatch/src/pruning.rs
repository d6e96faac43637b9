//! Candidate pruning: keep each request's few cheapest drivers.

use crate::problem::{AssignmentProblem, is_valid_cost};

/// Keep for each request only its `k` cheapest candidates (stable, deterministic) — candidate pruning.
///
/// For each request the candidates are ranked by cost, then by driver index, then by position in `candidates`; a
/// `(request, driver)` pair listed more than once keeps only its cheapest listing (which counts as one of the `k`).
/// The surviving candidates stay in their original relative order, so the result does not depend on anything but
/// the input. Pruning makes the problem smaller and its optimum possibly worse (never better): the solvers only see
/// what is left.
///
/// Invalid candidates (index out of range, cost NaN, infinite or negative) are never removed, so
/// [`crate::assign_min_cost`] still reports them; they do not count towards `k`.
///
/// Runs in `O(requests + drivers + candidates · log candidates)`.
pub fn prune_candidates(problem: &mut AssignmentProblem, k: usize) {
    let requests = problem.requests;
    let is_valid = |candidate: &crate::Candidate| {
        candidate.request < requests
            && candidate.driver < problem.drivers
            && is_valid_cost(candidate.cost)
    };
    // Group the valid candidates' positions by request with a stable counting sort.
    let mut start = vec![0usize; requests + 1];
    for candidate in problem.candidates.iter().filter(|c| is_valid(c)) {
        start[candidate.request + 1] += 1;
    }
    for request in 0..requests {
        start[request + 1] += start[request];
    }
    let mut next = start.clone();
    let mut grouped = vec![0usize; start[requests]];
    for (position, candidate) in problem.candidates.iter().enumerate() {
        if is_valid(candidate) {
            grouped[next[candidate.request]] = position;
            next[candidate.request] += 1;
        }
    }
    // Mark which valid candidates survive: `seen[driver] == request + 1` means the pair is already kept.
    let mut keep: Vec<bool> = problem.candidates.iter().map(|c| !is_valid(c)).collect();
    let mut seen = vec![0usize; problem.drivers];
    for request in 0..requests {
        let group = &mut grouped[start[request]..start[request + 1]];
        let candidates = &problem.candidates;
        group.sort_unstable_by(|&a, &b| {
            let (a_candidate, b_candidate) = (&candidates[a], &candidates[b]);
            a_candidate
                .cost
                .total_cmp(&b_candidate.cost)
                .then(a_candidate.driver.cmp(&b_candidate.driver))
                .then(a.cmp(&b))
        });
        let mut kept = 0;
        for &position in group.iter() {
            if kept == k {
                break;
            }
            let driver = candidates[position].driver;
            if seen[driver] != request + 1 {
                seen[driver] = request + 1;
                keep[position] = true;
                kept += 1;
            }
        }
    }
    let mut keep = keep.into_iter();
    problem.candidates.retain(|_| keep.next().unwrap_or(false));
}
