//! The simulator's contract: determinism, the rules of the environment, the offline bound above
//! every online policy, and a sanity check against the reference figures of the data README.

use doorstep_sim::{
    Actions, Batch, BatchTuning, Day, DecisionView, Greedy, InstanceClass, LegKind, Model,
    NoStopwatch, Outcome, PICKUP_LIMIT_SECS, Policy, chain_bound, loose_bound, simulate,
};

#[path = "sim/housecalls.rs"]
mod housecalls;
#[path = "sim/protocol.rs"]
mod protocol;
#[path = "sim/vrptw.rs"]
mod vrptw;

fn run(model: &Model, day: &Day, policy: &mut dyn Policy) -> Outcome {
    simulate(model, day, policy, &mut NoStopwatch).outcome
}

fn online_policies() -> Vec<Box<dyn Policy>> {
    vec![
        Box::new(Greedy::default()),
        Box::new(Batch::new(BatchTuning::default())),
        Box::new(Batch::with_reposition(BatchTuning::default())),
        Box::new(doorstep_sim::live::Live::new()),
    ]
}

/// `live` runs the server's dispatcher core (`doorstep_dispatch::Dispatcher`) through the
/// simulator. It must earn what the best benchmarked policy earns: here, on four SUI days, at
/// least 97% of batch+reposition's mean profit (a day's spread is about 1.5%), with no action the
/// simulator refuses. (`docs/benchmarks.md` has the 10-seed tables for SUI, MUI and LUI.)
#[test]
fn live_earns_what_batch_with_repositioning_earns() {
    let model = Model::manhattan();
    let (mut live, mut best) = (0.0, 0.0);
    for seed in 40..44 {
        let day = Day::generate(&model, InstanceClass::Sui, seed);
        let l = run(&model, &day, &mut doorstep_sim::live::Live::new());
        let b = run(
            &model,
            &day,
            &mut Batch::with_reposition(BatchTuning::default()),
        );
        assert_eq!(l.refused, Default::default(), "seed {seed}");
        live += l.profit;
        best += b.profit;
    }
    assert!(
        live >= 0.97 * best,
        "live earned {live:.0}, batch+reposition {best:.0}"
    );
}

#[test]
fn the_same_seed_gives_the_identical_day_and_outcome() {
    let model = Model::manhattan();
    for mut policy in online_policies() {
        let a = run(
            &model,
            &Day::generate(&model, InstanceClass::Sui, 11),
            policy.as_mut(),
        );
        let b = run(
            &model,
            &Day::generate(&model, InstanceClass::Sui, 11),
            policy.as_mut(),
        );
        assert_eq!(a, b, "policy {}", policy.name());
    }
}

#[test]
fn different_seeds_give_different_days() {
    let model = Model::manhattan();
    let a = Day::generate(&model, InstanceClass::Sui, 1);
    let b = Day::generate(&model, InstanceClass::Sui, 2);
    assert_ne!(a.requests[0], b.requests[0]);
}

#[test]
fn a_small_sui_report_is_pinned() {
    let model = Model::manhattan();
    let day = Day::generate(&model, InstanceClass::Sui, 3);
    let mut report = format!(
        "weekday {} requests {} request value {:.2} start lots {:?}\n",
        day.weekday,
        day.requests.len(),
        day.request_value(),
        &day.start_lots
    );
    for mut policy in online_policies() {
        let o = run(&model, &day, policy.as_mut());
        report.push_str(&format!(
            "{}: served {} lost {} revenue {:.2} cost {:.2} profit {:.2} empty km {:.1} loaded km {:.1} mean wait {:.1} p95 wait {:.1} decisions {} refused {:?}\n",
            policy.name(),
            o.served,
            o.lost,
            o.revenue,
            o.cost,
            o.profit,
            o.empty_km,
            o.loaded_km,
            o.mean_wait_s,
            o.p95_wait_s,
            o.decisions,
            o.refused
        ));
    }
    let bound = loose_bound(&model, &day);
    report.push_str(&format!("offline ({}): {:.2}\n", bound.kind, bound.profit));
    insta::assert_snapshot!(report);
}

#[test]
fn the_offline_bounds_are_at_least_every_online_policy_on_the_same_day() {
    let model = Model::manhattan();
    for seed in 0..3 {
        let day = Day::generate(&model, InstanceClass::Sui, seed);
        let loose = loose_bound(&model, &day);
        // Every iterate of the chain bound is a valid bound: a few suffice for the test.
        let chain = chain_bound(&model, &day, 3).expect("SUI days have no ride under a second");
        for mut policy in online_policies() {
            let o = run(&model, &day, policy.as_mut());
            for bound in [&loose, &chain] {
                assert!(
                    o.profit <= bound.profit,
                    "seed {seed}: {} earned {} above the {} bound {}",
                    policy.name(),
                    o.profit,
                    bound.kind,
                    bound.profit
                );
            }
        }
    }
}

/// Wraps a policy and checks the fleet's state at every decision.
struct Inspector<P> {
    inner: P,
    max_legs: usize,
    queued_behind_pickup: usize,
}

impl<P: Policy> Policy for Inspector<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn decide(&mut self, view: &DecisionView<'_>, actions: &mut Actions) {
        for v in view.vehicles {
            self.max_legs = self.max_legs.max(v.legs.len());
            // A job queued behind a drive to a pickup would break "a vehicle driving to a pickup
            // takes nothing more": the only three-leg plan is ride (or reposition), pickup, ride.
            if v.legs.len() == 4
                || (v.legs.len() == 3 && matches!(v.legs[0].kind, LegKind::ToPickup(_)))
            {
                self.queued_behind_pickup += 1;
            }
        }
        self.inner.decide(view, actions);
    }
}

#[test]
fn every_served_request_was_assigned_within_the_pickup_limit() {
    let model = Model::manhattan();
    let day = Day::generate(&model, InstanceClass::Sui, 5);
    for mut policy in online_policies() {
        let o = run(&model, &day, policy.as_mut());
        assert!(o.served > 0);
        assert_eq!(o.served + o.lost, o.requests);
        for s in &o.services {
            let r = &day.requests[s.request as usize];
            assert!(s.assigned_at >= r.release, "assigned before release");
            assert!(
                s.assigned_at - r.release <= PICKUP_LIMIT_SECS,
                "assigned too late"
            );
            assert!(
                s.eta_secs <= PICKUP_LIMIT_SECS,
                "pickup too far: {}",
                s.eta_secs
            );
            assert!(s.pickup_at >= s.assigned_at);
        }
    }
}

#[test]
fn a_vehicle_holds_at_most_its_current_ride_and_one_queued_job() {
    let model = Model::manhattan();
    let day = Day::generate(&model, InstanceClass::Sui, 6);
    let mut policy = Inspector {
        inner: Greedy::default(),
        max_legs: 0,
        queued_behind_pickup: 0,
    };
    let o = run(&model, &day, &mut policy);
    assert!(o.services.iter().any(|s| s.queued), "greedy queues jobs");
    assert!(policy.max_legs <= 3);
    assert_eq!(policy.queued_behind_pickup, 0);
}

/// Tries to break every rule: gives every pending request to every vehicle, remembers requests
/// and assigns them after they expired, and repositions busy vehicles.
#[derive(Default)]
struct RuleBreaker {
    seen: Vec<u32>,
}

impl Policy for RuleBreaker {
    fn name(&self) -> &'static str {
        "rule-breaker"
    }

    fn decide(&mut self, view: &DecisionView<'_>, actions: &mut Actions) {
        for &r in view.pending {
            for v in 0..view.vehicles.len() {
                actions.assign.push((r, u32::try_from(v).unwrap_or(0)));
            }
        }
        for &r in &self.seen {
            actions.assign.push((r, 0));
        }
        self.seen.extend(view.pending.iter().copied());
        for (v, vehicle) in view.vehicles.iter().enumerate() {
            if !vehicle.is_idle() {
                actions.reposition.push((u32::try_from(v).unwrap_or(0), 0));
            }
        }
    }
}

#[test]
fn the_simulator_refuses_actions_that_break_the_rules() {
    let model = Model::manhattan();
    let day = Day::generate(&model, InstanceClass::Sui, 8);
    let mut inspector = Inspector {
        inner: RuleBreaker::default(),
        max_legs: 0,
        queued_behind_pickup: 0,
    };
    let o = run(&model, &day, &mut inspector);
    assert!(
        o.refused.not_pending > 0,
        "expired and served requests are refused"
    );
    assert!(
        o.refused.vehicle_not_eligible > 0,
        "busy vehicles are refused"
    );
    assert!(o.refused.too_far > 0, "far vehicles are refused");
    assert!(
        o.refused.bad_reposition > 0,
        "busy vehicles are not repositioned"
    );
    assert!(inspector.max_legs <= 3);
    assert_eq!(inspector.queued_behind_pickup, 0);
    let mut served: Vec<u32> = o.services.iter().map(|s| s.request).collect();
    served.sort_unstable();
    served.dedup();
    assert_eq!(served.len(), o.served, "no request is served twice");
    for s in &o.services {
        let r = &day.requests[s.request as usize];
        assert!(s.assigned_at - r.release <= PICKUP_LIMIT_SECS);
        assert!(s.eta_secs <= PICKUP_LIMIT_SECS);
    }
}

struct DoNothing;

impl Policy for DoNothing {
    fn name(&self) -> &'static str {
        "nothing"
    }

    fn decide(&mut self, view: &DecisionView<'_>, _actions: &mut Actions) {
        for &r in view.pending {
            assert!(
                view.now - view.requests[r as usize].release <= PICKUP_LIMIT_SECS,
                "a request older than 300 s is still pending"
            );
        }
    }
}

#[test]
fn doing_nothing_loses_every_request_and_earns_nothing() {
    let model = Model::manhattan();
    let day = Day::generate(&model, InstanceClass::Sui, 9);
    let o = run(&model, &day, &mut DoNothing);
    assert_eq!(o.served, 0);
    assert_eq!(o.lost, day.requests.len());
    assert_eq!(o.profit, 0.0);
    assert!(o.decisions >= 1_440, "a decision at least every 60 s");
}

/// The data README's reference (the original Python simulator, official SUI seed): greedy earns
/// about $15,400 a day (sd ≈ 1,500 over days) of about $33,400 of request value. Our seeds are not
/// its seeds, so only a broad band is asserted: the mean of five seeded days within ±$4,000 (more
/// than five standard deviations of such a mean). The days are seeded, so this cannot flake.
#[test]
fn greedy_on_sui_earns_about_what_the_reference_simulator_reports() {
    let model = Model::manhattan();
    let (mut profit, mut value) = (0.0, 0.0);
    for seed in 0..5 {
        let day = Day::generate(&model, InstanceClass::Sui, seed);
        profit += run(&model, &day, &mut Greedy::default()).profit / 5.0;
        value += day.request_value() / 5.0;
    }
    assert!(
        (11_400.0..19_400.0).contains(&profit),
        "greedy mean profit {profit}"
    );
    assert!(
        (30_400.0..36_400.0).contains(&value),
        "mean request value {value}"
    );
}

/// Greedy as first written: rescans every pending request at every decision.
#[derive(Default)]
struct RescanningGreedy {
    feasible: Vec<doorstep_sim::Feasible>,
}

impl Policy for RescanningGreedy {
    fn name(&self) -> &'static str {
        "greedy (full rescan)"
    }

    fn decide(&mut self, view: &DecisionView<'_>, actions: &mut Actions) {
        use doorstep_dispatch::{AssignmentProblem, Candidate, assign_greedy};
        // Columns are numbered in order of discovery, as the policy does, so that ties between
        // equally near vehicles (say, two at the same lot) break the same way.
        let mut columns: Vec<u32> = Vec::new();
        let mut problem = AssignmentProblem {
            requests: view.pending.len(),
            drivers: view.vehicles.len(),
            candidates: Vec::new(),
            unassigned_cost: vec![3_000.0; view.pending.len()],
        };
        for (row, &r) in view.pending.iter().enumerate() {
            self.feasible.clear();
            view.feasible_vehicles(r, &mut self.feasible);
            for f in &self.feasible {
                let col = match columns.iter().position(|&v| v == f.vehicle) {
                    Some(col) => col,
                    None => {
                        columns.push(f.vehicle);
                        columns.len() - 1
                    }
                };
                problem.candidates.push(Candidate {
                    request: row,
                    driver: col,
                    cost: f.eta_secs(),
                });
            }
        }
        let order: Vec<usize> = (0..view.pending.len()).collect();
        let solution = assign_greedy(&problem, &order).expect("a valid problem");
        for (row, driver) in solution.driver_of.iter().enumerate() {
            if let Some(col) = driver {
                actions.assign.push((view.pending[row], columns[*col]));
            }
        }
    }
}

#[test]
fn incremental_greedy_serves_exactly_what_a_full_rescan_serves() {
    let model = Model::manhattan();
    for (class, seed) in [
        (InstanceClass::Sui, 21),
        (InstanceClass::Sui, 22),
        (InstanceClass::Mui, 23),
    ] {
        let day = Day::generate(&model, class, seed);
        let fast = run(&model, &day, &mut Greedy::default());
        let full = run(&model, &day, &mut RescanningGreedy::default());
        assert_eq!(fast.served, full.served, "{class} seed {seed}");
        assert_eq!(fast.profit, full.profit, "{class} seed {seed}");
        let pairs = |o: &Outcome| {
            o.services
                .iter()
                .map(|s| (s.request, s.vehicle))
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(&fast), pairs(&full), "{class} seed {seed}");
    }
}

#[test]
fn the_zone_lookup_finds_the_nearest_centroid() {
    use rand::{Rng, SeedableRng};
    let model = Model::manhattan();
    let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
    let (lo, hi) = (model.min, model.max);
    for _ in 0..20_000 {
        // Inside the city's rectangle and up to 1 km beyond it.
        let p = doorstep_sim::GridPoint {
            x: rng.random_range(lo.x - 1.0..hi.x + 1.0),
            y: rng.random_range(lo.y - 1.0..hi.y + 1.0),
        };
        let d = |i: usize| {
            let c = model.centroids[i];
            (c.x - p.x).powi(2) + (c.y - p.y).powi(2)
        };
        let brute = (0..model.centroids.len())
            .min_by(|&a, &b| d(a).total_cmp(&d(b)).then(a.cmp(&b)))
            .expect("zones");
        assert_eq!(model.zone_of(p).index(), brute, "{p:?}");
    }
}
