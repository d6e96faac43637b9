//! Behaviour of the public dispatch API: optimality against brute force, the greedy baseline, determinism, input
//! validation, pruning and a large instance.

use doorstep_dispatch::{
    Assignment, AssignmentProblem, Candidate, InvalidMatching, InvalidProblem, assign_greedy,
    assign_min_cost, prune_candidates,
};
use proptest::prelude::*;

#[path = "dispatch/calendar.rs"]
mod calendar;
#[path = "dispatch/common.rs"]
mod common;
#[path = "dispatch/core.rs"]
mod core;
#[path = "dispatch/delivery.rs"]
mod delivery;
#[path = "dispatch/route.rs"]
mod route;
#[path = "dispatch/vrptw.rs"]
mod vrptw;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// The cost of leaving a request unassigned when serving is all that matters.
const NEVER_UNASSIGN: f64 = 1e6;

/// Enumerates every matching and returns the cheapest total cost.
fn brute_force_optimum(problem: &AssignmentProblem) -> f64 {
    fn best_from(
        problem: &AssignmentProblem,
        request: usize,
        used: &mut Vec<bool>,
        cost_so_far: f64,
    ) -> f64 {
        if request == problem.requests {
            return cost_so_far;
        }
        let mut best = best_from(
            problem,
            request + 1,
            used,
            cost_so_far + problem.unassigned_cost[request],
        );
        for candidate in problem.candidates.iter().filter(|c| c.request == request) {
            if !used[candidate.driver] {
                used[candidate.driver] = true;
                let cost = best_from(problem, request + 1, used, cost_so_far + candidate.cost);
                used[candidate.driver] = false;
                best = best.min(cost);
            }
        }
        best
    }
    best_from(problem, 0, &mut vec![false; problem.drivers], 0.0)
}

/// An independent exact oracle for mid-sized problems: the textbook dense O(n²·m) Hungarian algorithm on the
/// rectangular matrix with one private "unassigned" column per request; infeasible pairs cost `INFEASIBLE`, more
/// than any solution that avoids them.
fn dense_hungarian_optimum(problem: &AssignmentProblem) -> f64 {
    const INFEASIBLE: f64 = 1e12;
    let (n, m) = (problem.requests, problem.drivers + problem.requests);
    if n == 0 {
        return 0.0;
    }
    let mut cost = vec![vec![INFEASIBLE; m]; n];
    for candidate in &problem.candidates {
        let entry = &mut cost[candidate.request][candidate.driver];
        *entry = entry.min(candidate.cost);
    }
    for (request, &unassigned) in problem.unassigned_cost.iter().enumerate() {
        cost[request][problem.drivers + request] = unassigned;
    }
    // 1-based arrays as in the classic formulation; `matched[j]` is the row (1-based) holding column `j`.
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; m + 1]);
    let (mut matched, mut way) = (vec![0usize; m + 1], vec![0usize; m + 1]);
    for row in 1..=n {
        matched[0] = row;
        let mut column = 0;
        let mut slack = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[column] = true;
            let current = matched[column];
            let (mut delta, mut next) = (f64::INFINITY, 0);
            for j in 1..=m {
                if !used[j] {
                    let reduced = cost[current - 1][j - 1] - u[current] - v[j];
                    if reduced < slack[j] {
                        slack[j] = reduced;
                        way[j] = column;
                    }
                    if slack[j] < delta {
                        delta = slack[j];
                        next = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[matched[j]] += delta;
                    v[j] -= delta;
                } else {
                    slack[j] -= delta;
                }
            }
            column = next;
            if matched[column] == 0 {
                break;
            }
        }
        while column != 0 {
            let previous = way[column];
            matched[column] = matched[previous];
            column = previous;
        }
    }
    (1..=m)
        .filter(|&j| matched[j] != 0)
        .map(|j| cost[matched[j] - 1][j - 1])
        .sum()
}

/// Asserts that `assignment` is a valid matching of `problem` whose reported cost is its real cost.
fn assert_valid(problem: &AssignmentProblem, assignment: &Assignment) {
    let cost = problem
        .cost_of(&assignment.driver_of)
        .expect("the assignment is a valid matching");
    assert!(
        (cost - assignment.total_cost).abs() <= 1e-9 * cost.abs().max(1.0),
        "reported {} but the matching costs {cost}",
        assignment.total_cost
    );
}

/// Whether `a` is within `1e-6` relative of `b`.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// A small random problem: up to 6×6, random sparsity, duplicates, integer costs (many ties) or fractional ones,
/// and unassigned costs that are either prohibitive or competitive.
fn small_problem() -> impl Strategy<Value = AssignmentProblem> {
    let cost = prop_oneof![(0u8..12).prop_map(f64::from), 0.0..100.0f64];
    let unassigned = prop_oneof![
        Just(NEVER_UNASSIGN),
        (0u8..15).prop_map(f64::from),
        0.0..120.0f64
    ];
    (0usize..=6, 0usize..=6).prop_flat_map(move |(requests, drivers)| {
        (
            prop::collection::vec((any::<u8>(), any::<u8>(), cost.clone()), 0..=40),
            prop::collection::vec(unassigned.clone(), requests),
        )
            .prop_map(move |(raw, unassigned_cost)| {
                let candidates = if requests == 0 || drivers == 0 {
                    Vec::new()
                } else {
                    raw.into_iter()
                        .map(|(request, driver, cost)| Candidate {
                            request: usize::from(request) % requests,
                            driver: usize::from(driver) % drivers,
                            cost,
                        })
                        .collect()
                };
                AssignmentProblem {
                    requests,
                    drivers,
                    candidates,
                    unassigned_cost,
                }
            })
    })
}

/// A random problem with `requests` rows and `drivers` columns, `per_request` random candidates per request with
/// costs in seconds, and the given unassigned cost.
fn random_problem(
    rng: &mut Pcg64,
    requests: usize,
    drivers: usize,
    per_request: usize,
    unassigned: f64,
) -> AssignmentProblem {
    let mut candidates = Vec::with_capacity(requests * per_request);
    for request in 0..requests {
        for _ in 0..per_request {
            candidates.push(Candidate {
                request,
                driver: rng.random_range(0..drivers),
                cost: rng.random_range(30.0..900.0),
            });
        }
    }
    AssignmentProblem {
        requests,
        drivers,
        candidates,
        unassigned_cost: vec![unassigned; requests],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn min_cost_assignment_matches_brute_force_on_small_problems(problem in small_problem()) {
        let assignment = assign_min_cost(&problem).expect("valid problem");
        assert_valid(&problem, &assignment);
        let optimum = brute_force_optimum(&problem);
        prop_assert!(
            close(assignment.total_cost, optimum),
            "solver {} vs brute force {optimum}",
            assignment.total_cost
        );
    }

    #[test]
    fn min_cost_assignment_is_never_worse_than_greedy_in_any_order(
        problem in small_problem(),
        seed in any::<u64>(),
    ) {
        let mut order: Vec<usize> = (0..problem.requests).collect();
        order.shuffle(&mut Pcg64::seed_from_u64(seed));
        let greedy = assign_greedy(&problem, &order).expect("valid problem");
        assert_valid(&problem, &greedy);
        let optimal = assign_min_cost(&problem).expect("valid problem");
        prop_assert!(optimal.total_cost <= greedy.total_cost + 1e-9 * greedy.total_cost.max(1.0));
    }

    #[test]
    fn pruning_keeps_at_most_k_distinct_cheapest_drivers_per_request(
        problem in small_problem(),
        k in 0usize..4,
    ) {
        let mut pruned = problem.clone();
        prune_candidates(&mut pruned, k);
        for request in 0..problem.requests {
            let kept: Vec<&Candidate> =
                pruned.candidates.iter().filter(|c| c.request == request).collect();
            prop_assert!(kept.len() <= k);
            let mut drivers: Vec<usize> = kept.iter().map(|c| c.driver).collect();
            drivers.sort_unstable();
            drivers.dedup();
            prop_assert_eq!(drivers.len(), kept.len(), "a pair survived twice");
            // Every dropped pair costs at least as much as every kept one, unless the pair itself was kept.
            let worst_kept = kept.iter().map(|c| c.cost).fold(f64::NEG_INFINITY, f64::max);
            for dropped in problem.candidates.iter().filter(|c| c.request == request) {
                let pair_kept = kept.iter().any(|c| c.driver == dropped.driver);
                prop_assert!(pair_kept || kept.len() == k);
                prop_assert!(pair_kept || dropped.cost >= worst_kept);
            }
        }
        // Pruning only removes options, so the optimum cannot improve.
        let before = assign_min_cost(&problem).expect("valid problem").total_cost;
        let after = assign_min_cost(&pruned).expect("valid problem").total_cost;
        prop_assert!(after >= before - 1e-9 * before.max(1.0));
    }
}

#[test]
fn min_cost_assignment_matches_a_dense_hungarian_oracle_on_mid_sized_problems() {
    let mut rng = Pcg64::seed_from_u64(99);
    for case in 0..150 {
        let requests: usize = rng.random_range(1..45);
        // Scarce, balanced and plentiful drivers, so both orientations of the solver get exercised.
        let drivers = match case % 3 {
            0 => rng.random_range(1..=requests.div_ceil(2)),
            1 => requests + rng.random_range(0..3) - 1,
            _ => rng.random_range(requests..3 * requests),
        }
        .max(1);
        let integer_costs = rng.random_bool(0.5);
        let mut candidates = Vec::new();
        for request in 0..requests {
            for _ in 0..rng.random_range(0..9) {
                let cost = if integer_costs {
                    f64::from(rng.random_range(0..15u32))
                } else {
                    rng.random_range(0.0..100.0)
                };
                candidates.push(Candidate {
                    request,
                    driver: rng.random_range(0..drivers),
                    cost,
                });
            }
        }
        let uniform = rng.random_bool(0.5);
        let unassigned_cost = (0..requests)
            .map(|_| {
                if uniform {
                    NEVER_UNASSIGN
                } else {
                    rng.random_range(0.0..120.0)
                }
            })
            .collect();
        let problem = AssignmentProblem {
            requests,
            drivers,
            candidates,
            unassigned_cost,
        };
        let assignment = assign_min_cost(&problem).expect("valid problem");
        assert_valid(&problem, &assignment);
        let optimum = dense_hungarian_optimum(&problem);
        assert!(
            close(assignment.total_cost, optimum),
            "case {case}: solver {} vs Hungarian {optimum}",
            assignment.total_cost
        );
    }
}

#[test]
fn greedy_is_strictly_worse_than_min_cost_when_the_first_request_takes_the_only_driver_of_the_second()
 {
    // Request 0 can use driver 0 (1 s) or driver 1 (2 s); request 1 can only use driver 0 (1 s).
    let problem = AssignmentProblem {
        requests: 2,
        drivers: 2,
        candidates: vec![
            Candidate {
                request: 0,
                driver: 0,
                cost: 1.0,
            },
            Candidate {
                request: 0,
                driver: 1,
                cost: 2.0,
            },
            Candidate {
                request: 1,
                driver: 0,
                cost: 1.0,
            },
        ],
        unassigned_cost: vec![NEVER_UNASSIGN; 2],
    };
    let greedy = assign_greedy(&problem, &[0, 1]).expect("valid problem");
    assert_eq!(greedy.driver_of, vec![Some(0), None]);
    assert_eq!(greedy.total_cost, 1.0 + NEVER_UNASSIGN);

    let optimal = assign_min_cost(&problem).expect("valid problem");
    assert_eq!(optimal.driver_of, vec![Some(1), Some(0)]);
    assert_eq!(optimal.total_cost, 3.0);
    assert_eq!(optimal.served(), 2);
    assert_eq!(optimal.request_of(2), vec![Some(1), Some(0)]);
}

#[test]
fn greedy_breaks_cost_ties_towards_the_lower_driver_index() {
    let problem = AssignmentProblem {
        requests: 1,
        drivers: 3,
        candidates: vec![
            Candidate {
                request: 0,
                driver: 2,
                cost: 5.0,
            },
            Candidate {
                request: 0,
                driver: 1,
                cost: 5.0,
            },
            Candidate {
                request: 0,
                driver: 0,
                cost: 6.0,
            },
        ],
        unassigned_cost: vec![NEVER_UNASSIGN],
    };
    let greedy = assign_greedy(&problem, &[0]).expect("valid problem");
    assert_eq!(greedy.driver_of, vec![Some(1)]);
}

#[test]
fn min_cost_leaves_a_request_unassigned_when_serving_it_costs_more_than_rejecting_it() {
    // Profit-aware: request 0 is cheap to reject, so its driver goes to request 1.
    let problem = AssignmentProblem {
        requests: 2,
        drivers: 1,
        candidates: vec![
            Candidate {
                request: 0,
                driver: 0,
                cost: 100.0,
            },
            Candidate {
                request: 1,
                driver: 0,
                cost: 300.0,
            },
        ],
        unassigned_cost: vec![50.0, 1000.0],
    };
    let optimal = assign_min_cost(&problem).expect("valid problem");
    assert_eq!(optimal.driver_of, vec![None, Some(0)]);
    assert_eq!(optimal.total_cost, 350.0);

    // With only request 0 and a rejection cost below its only candidate, nobody is served.
    let problem = AssignmentProblem {
        requests: 1,
        drivers: 1,
        candidates: vec![Candidate {
            request: 0,
            driver: 0,
            cost: 100.0,
        }],
        unassigned_cost: vec![50.0],
    };
    assert_eq!(
        assign_min_cost(&problem).expect("valid problem").driver_of,
        vec![None]
    );
}

#[test]
fn duplicate_candidates_count_with_their_cheapest_cost() {
    let problem = AssignmentProblem {
        requests: 1,
        drivers: 1,
        candidates: vec![
            Candidate {
                request: 0,
                driver: 0,
                cost: 9.0,
            },
            Candidate {
                request: 0,
                driver: 0,
                cost: 4.0,
            },
            Candidate {
                request: 0,
                driver: 0,
                cost: 7.0,
            },
        ],
        unassigned_cost: vec![NEVER_UNASSIGN],
    };
    let optimal = assign_min_cost(&problem).expect("valid problem");
    assert_eq!(optimal.total_cost, 4.0);
    assert_eq!(
        assign_greedy(&problem, &[0])
            .expect("valid problem")
            .total_cost,
        4.0
    );
    assert_eq!(problem.cost_of(&[Some(0)]), Ok(4.0));
}

#[test]
fn empty_problems_solve_to_empty_assignments() {
    let nothing = AssignmentProblem::default();
    let assignment = assign_min_cost(&nothing).expect("valid problem");
    assert!(assignment.driver_of.is_empty());
    assert_eq!(assignment.total_cost.to_bits(), 0.0f64.to_bits());

    let no_drivers = AssignmentProblem {
        requests: 2,
        drivers: 0,
        candidates: Vec::new(),
        unassigned_cost: vec![3.0, 4.0],
    };
    let assignment = assign_min_cost(&no_drivers).expect("valid problem");
    assert_eq!(assignment.driver_of, vec![None, None]);
    assert_eq!(assignment.total_cost, 7.0);
}

#[test]
fn solving_the_same_problem_twice_gives_identical_output() {
    let mut rng = Pcg64::seed_from_u64(42);
    // Integer costs make many equal-cost alternatives, so tie-breaking is exercised too.
    let mut problem = random_problem(&mut rng, 500, 400, 8, NEVER_UNASSIGN);
    for candidate in &mut problem.candidates {
        candidate.cost = candidate.cost.round().rem_euclid(20.0);
    }
    let first = assign_min_cost(&problem).expect("valid problem");
    let second = assign_min_cost(&problem.clone()).expect("valid problem");
    assert_eq!(first, second);
    assert_eq!(first.total_cost.to_bits(), second.total_cost.to_bits());

    let order: Vec<usize> = (0..problem.requests).rev().collect();
    let first = assign_greedy(&problem, &order).expect("valid problem");
    let second = assign_greedy(&problem, &order).expect("valid problem");
    assert_eq!(first, second);
}

#[test]
fn the_order_of_the_candidate_list_does_not_change_the_min_cost_assignment() {
    let mut rng = Pcg64::seed_from_u64(3);
    let mut problem = random_problem(&mut rng, 300, 300, 6, NEVER_UNASSIGN);
    for candidate in &mut problem.candidates {
        candidate.cost = candidate.cost.round().rem_euclid(10.0);
    }
    let reference = assign_min_cost(&problem).expect("valid problem");
    for _ in 0..3 {
        problem.candidates.shuffle(&mut rng);
        let shuffled = assign_min_cost(&problem).expect("valid problem");
        assert_eq!(shuffled, reference);
        assert_eq!(
            shuffled.total_cost.to_bits(),
            reference.total_cost.to_bits()
        );
    }
}

#[test]
fn invalid_problems_are_rejected_with_the_reason() {
    let valid = AssignmentProblem {
        requests: 2,
        drivers: 2,
        candidates: vec![
            Candidate {
                request: 0,
                driver: 0,
                cost: 1.0,
            },
            Candidate {
                request: 1,
                driver: 1,
                cost: 0.0,
            },
        ],
        unassigned_cost: vec![10.0, 10.0],
    };
    assert_eq!(valid.validate(), Ok(()));
    let rejected = |change: &dyn Fn(&mut AssignmentProblem)| {
        let mut problem = valid.clone();
        change(&mut problem);
        let error = assign_min_cost(&problem).expect_err("invalid problem");
        // Compared through `Debug` because a NaN cost is never equal to itself.
        let same = |other: InvalidProblem| format!("{other:?}") == format!("{error:?}");
        assert!(same(
            assign_greedy(&problem, &[0, 1]).expect_err("invalid problem")
        ));
        assert!(same(problem.validate().expect_err("invalid problem")));
        error
    };

    assert_eq!(
        rejected(&|p| p.candidates[1].request = 2),
        InvalidProblem::RequestOutOfRange {
            candidate: 1,
            request: 2,
            requests: 2
        }
    );
    assert_eq!(
        rejected(&|p| p.candidates[0].driver = 7),
        InvalidProblem::DriverOutOfRange {
            candidate: 0,
            driver: 7,
            drivers: 2
        }
    );
    for cost in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
        let error = rejected(&|p| p.candidates[1].cost = cost);
        assert!(
            matches!(
                error,
                InvalidProblem::InvalidCandidateCost { candidate: 1, .. }
            ),
            "{error:?}"
        );
        let error = rejected(&|p| p.unassigned_cost[0] = cost);
        assert!(
            matches!(
                error,
                InvalidProblem::InvalidUnassignedCost { request: 0, .. }
            ),
            "{error:?}"
        );
    }
    assert_eq!(
        rejected(&|p| p.unassigned_cost.push(1.0)),
        InvalidProblem::UnassignedCostLength {
            expected: 2,
            found: 3
        }
    );
    assert_eq!(
        rejected(&|p| p.unassigned_cost.clear()),
        InvalidProblem::UnassignedCostLength {
            expected: 2,
            found: 0
        }
    );
    assert_eq!(
        rejected(&|p| p.requests = 3),
        InvalidProblem::UnassignedCostLength {
            expected: 3,
            found: 2
        }
    );
    // Negative zero is zero, not a negative cost.
    let mut negative_zero = valid.clone();
    negative_zero.candidates[0].cost = -0.0;
    assert!(assign_min_cost(&negative_zero).is_ok());
}

#[test]
fn greedy_rejects_an_order_that_is_not_a_permutation_of_the_requests() {
    let problem = AssignmentProblem {
        requests: 3,
        drivers: 1,
        candidates: vec![Candidate {
            request: 0,
            driver: 0,
            cost: 1.0,
        }],
        unassigned_cost: vec![5.0; 3],
    };
    assert_eq!(
        assign_greedy(&problem, &[0, 1]),
        Err(InvalidProblem::OrderLength {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        assign_greedy(&problem, &[0, 3, 1]),
        Err(InvalidProblem::OrderRequestOutOfRange {
            position: 1,
            request: 3,
            requests: 3
        })
    );
    assert_eq!(
        assign_greedy(&problem, &[2, 0, 2]),
        Err(InvalidProblem::OrderRepeatsRequest { request: 2 })
    );
    assert!(assign_greedy(&problem, &[2, 0, 1]).is_ok());
}

#[test]
fn cost_of_rejects_matchings_that_break_the_rules() {
    let problem = AssignmentProblem {
        requests: 2,
        drivers: 2,
        candidates: vec![
            Candidate {
                request: 0,
                driver: 0,
                cost: 1.0,
            },
            Candidate {
                request: 1,
                driver: 0,
                cost: 2.0,
            },
        ],
        unassigned_cost: vec![10.0, 20.0],
    };
    assert_eq!(problem.cost_of(&[Some(0), None]), Ok(21.0));
    assert_eq!(
        problem.cost_of(&[None]),
        Err(InvalidMatching::Length {
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        problem.cost_of(&[Some(1), None]),
        Err(InvalidMatching::NotACandidate {
            request: 0,
            driver: 1
        })
    );
    assert_eq!(
        problem.cost_of(&[Some(5), None]),
        Err(InvalidMatching::NotACandidate {
            request: 0,
            driver: 5
        })
    );
    assert_eq!(
        problem.cost_of(&[Some(0), Some(0)]),
        Err(InvalidMatching::DriverUsedTwice { driver: 0 })
    );
}

#[test]
fn pruning_keeps_the_cheapest_ties_by_driver_index_and_never_hides_invalid_candidates() {
    let mut problem = AssignmentProblem {
        requests: 2,
        drivers: 4,
        candidates: vec![
            Candidate {
                request: 0,
                driver: 3,
                cost: 5.0,
            },
            Candidate {
                request: 0,
                driver: 2,
                cost: 5.0,
            },
            Candidate {
                request: 0,
                driver: 1,
                cost: 9.0,
            },
            Candidate {
                request: 0,
                driver: 2,
                cost: 1.0,
            },
            Candidate {
                request: 0,
                driver: 0,
                cost: 5.0,
            },
            Candidate {
                request: 1,
                driver: 9,
                cost: 1.0,
            },
            Candidate {
                request: 1,
                driver: 0,
                cost: f64::NAN,
            },
            Candidate {
                request: 1,
                driver: 1,
                cost: 3.0,
            },
            Candidate {
                request: 1,
                driver: 2,
                cost: 2.0,
            },
        ],
        unassigned_cost: vec![10.0, 10.0],
    };
    prune_candidates(&mut problem, 2);
    // Request 0: driver 2 at 1.0 (its 5.0 listing is a duplicate), then driver 0 beats driver 3 on the 5.0 tie.
    // Request 1: the two invalid candidates stay, and the two valid ones fit in k = 2. Original order is kept.
    let kept: Vec<(usize, usize)> = problem
        .candidates
        .iter()
        .map(|c| (c.request, c.driver))
        .collect();
    assert_eq!(kept, vec![(0, 2), (0, 0), (1, 9), (1, 0), (1, 1), (1, 2)]);
    assert_eq!(problem.candidates[0].cost, 1.0);
    assert!(matches!(
        assign_min_cost(&problem),
        Err(InvalidProblem::DriverOutOfRange {
            candidate: 2,
            driver: 9,
            drivers: 4
        })
    ));
}

#[test]
fn a_large_random_batch_solves_to_a_valid_matching_no_worse_than_greedy() {
    let mut rng = Pcg64::seed_from_u64(2026);
    let problem = random_problem(&mut rng, 3000, 3000, 30, NEVER_UNASSIGN);
    let optimal = assign_min_cost(&problem).expect("valid problem");
    assert_valid(&problem, &optimal);
    let order: Vec<usize> = (0..problem.requests).collect();
    let greedy = assign_greedy(&problem, &order).expect("valid problem");
    assert_valid(&problem, &greedy);
    assert!(optimal.served() >= greedy.served());
    assert!(optimal.total_cost <= greedy.total_cost);
}

#[test]
fn an_oversubscribed_batch_serves_as_many_requests_as_there_are_reachable_drivers() {
    // Three times more requests than drivers and a prohibitive unassigned cost: every driver with a candidate ends
    // up busy, and a profit-aware variant with cheap rejections serves fewer.
    let mut rng = Pcg64::seed_from_u64(11);
    let mut problem = random_problem(&mut rng, 1500, 500, 10, NEVER_UNASSIGN);
    let optimal = assign_min_cost(&problem).expect("valid problem");
    assert_valid(&problem, &optimal);
    assert_eq!(optimal.served(), 500);

    for (request, cost) in problem.unassigned_cost.iter_mut().enumerate() {
        *cost = if request % 2 == 0 { 200.0 } else { 2000.0 };
    }
    let profit_aware = assign_min_cost(&problem).expect("valid problem");
    assert_valid(&problem, &profit_aware);
    assert!(profit_aware.served() <= 500);
    let order: Vec<usize> = (0..problem.requests).collect();
    let greedy = assign_greedy(&problem, &order).expect("valid problem");
    assert!(profit_aware.total_cost <= greedy.total_cost);
}
