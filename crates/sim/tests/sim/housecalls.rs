//! `bench housecalls`: the week is reproducible, the travel-aware policies keep every promise, the naive
//! calendar does not when visits are far apart, re-optimisation never moves a promised start or a chosen
//! provider (checked here with a walk of our own, whatever the solver returns), and the counts add up.

use doorstep_dispatch::TravelTime;
use doorstep_dispatch::vrptw::{Problem, Solution, VrptwError};
use doorstep_geo::{City, LatLng, to_utm};
use doorstep_sim::NoStopwatch;
use doorstep_sim::housecalls::bench::row;
use doorstep_sim::housecalls::latency::{LatencyConfig, full_week, measure};
use doorstep_sim::housecalls::plan::Plan;
use doorstep_sim::housecalls::reopt::{Reoptimiser, SolveWithCalls};
use doorstep_sim::housecalls::travel::{ServerTravel, Spot, ZonedTravel};
use doorstep_sim::housecalls::week::{
    MIN_LEAD_S, Provider, Request, SERVICES, SLOT_STEP_S, TOLERANCE_S, local_midnight,
};
use doorstep_sim::housecalls::{Outcome, PolicyName, RunResult, Week, WeekConfig, simulate};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

fn small_config(seed: u64) -> WeekConfig {
    WeekConfig {
        providers: 6,
        days: 2,
        requests_per_provider_day: 5.0,
        any_share: 0.8,
        daily_cap: 8,
        seed,
    }
}

fn run(week: &Week, policy: PolicyName, reoptimiser: &mut dyn Reoptimiser) -> RunResult {
    simulate(
        City::manhattan(),
        week,
        policy,
        reoptimiser,
        &mut NoStopwatch,
    )
}

fn solver() -> SolveWithCalls {
    SolveWithCalls { calls: 200 }
}

fn spot(lat: f64, lng: f64) -> Spot {
    let point = LatLng::new(lat, lng).expect("a point of Manhattan");
    Spot::new(City::manhattan(), to_utm(point))
}

/// Our own walk of the final plan, with the server's travel adapter: each provider's day in order of start,
/// leaving home when the day starts and each visit when it ends. Panics at the first broken promise: a visit
/// reached after its start, a provider home after the working day or over the cap, a booking moved in time,
/// a chosen provider changed, a request booked twice, a provider who does not offer the service.
fn check_promises(week: &Week, outcome: &Outcome) {
    let plan = &outcome.plan;
    assert_eq!(plan.bookings.len(), outcome.promises.len());
    let mut booked = vec![false; week.requests.len()];
    for (b, promise) in plan.bookings.iter().zip(&outcome.promises) {
        assert_eq!(b.request, promise.request);
        assert_eq!(b.start, promise.start, "a promised start moved");
        assert!(!std::mem::replace(&mut booked[b.request as usize], true));
        let request = &week.requests[b.request as usize];
        if let Some(chosen) = request.chosen {
            assert_eq!(b.provider, chosen, "a chosen provider changed");
        }
        assert!(week.providers[b.provider as usize].offers[b.service]);
        assert_eq!(b.on_site, SERVICES[request.service].on_site_secs());
    }
    check_walk(week, plan);
}

/// The walk of [`check_promises`]: every provider's day on time, within its hours and its cap.
fn check_walk(week: &Week, plan: &Plan) {
    let travel = ServerTravel::new(City::manhattan());
    for day in 0..week.config.days {
        let (from, to) = week.hours(day);
        for (p, provider) in week.providers.iter().enumerate() {
            let mut mine: Vec<_> = plan
                .bookings
                .iter()
                .filter(|b| b.day == day && b.provider as usize == p)
                .collect();
            assert!(mine.len() <= week.config.daily_cap as usize);
            mine.sort_by(|a, b| a.start.total_cmp(&b.start));
            let (mut at, mut t) = (provider.home, from);
            for b in &mine {
                assert!(b.start >= from && b.start + b.on_site <= to);
                let arrival = t + travel.travel_secs(&at, &b.place, t).expect("a drive");
                assert!(
                    arrival <= b.start,
                    "provider {p} day {day}: arrives {arrival} for a visit at {}",
                    b.start
                );
                t = b.start + b.on_site;
                at = b.place;
            }
            if !mine.is_empty() {
                let home = t + travel.travel_secs(&at, &provider.home, t).expect("a drive");
                assert!(home <= to, "provider {p} day {day}: home at {home}");
            }
        }
    }
}

#[test]
fn the_zoned_adapter_gives_the_servers_travel_times_to_the_bit() {
    let city = City::manhattan();
    let (server, zoned) = (ServerTravel::new(city), ZonedTravel::new(city));
    let mut rng = Pcg64::seed_from_u64(3);
    for _ in 0..2_000 {
        let a = doorstep_sim::housecalls::week::random_spot(city, &mut rng);
        let b = doorstep_sim::housecalls::week::random_spot(city, &mut rng);
        let at = local_midnight(0) + rng.random_range(0.0..7.0 * 86_400.0);
        assert_eq!(
            server.travel_secs(&a, &b, at),
            zoned.travel_secs(&a, &b, at)
        );
    }
}

#[test]
fn the_same_seed_gives_the_identical_week_and_outcomes() {
    let city = City::manhattan();
    let a = Week::generate(city, small_config(7));
    let b = Week::generate(city, small_config(7));
    assert_eq!(a, b);
    assert_ne!(a, Week::generate(city, small_config(8)));
    for policy in PolicyName::ALL {
        let x = run(&a, policy, &mut solver());
        let y = run(&b, policy, &mut solver());
        assert_eq!(x, y, "{}", policy.name());
        assert_eq!(row(&x), row(&y));
    }
}

#[test]
fn requests_arrive_before_their_wish_within_the_week_and_its_hours() {
    let week = Week::generate(City::manhattan(), small_config(2));
    assert!(week.requests.len() > 20, "{} requests", week.requests.len());
    let first_day = local_midnight(0);
    assert!(
        week.requests.iter().any(|r| r.arrives < first_day),
        "some requests come in the week before"
    );
    for pair in week.requests.windows(2) {
        assert!(pair[0].arrives <= pair[1].arrives);
    }
    for r in &week.requests {
        let (from, to) = week.hours(r.day);
        assert!(r.wished >= from && r.wished < to);
        assert!(r.arrives <= r.wished - MIN_LEAD_S);
        if let Some(p) = r.chosen {
            assert!(week.providers[p as usize].offers[r.service]);
        }
    }
}

#[test]
fn the_travel_aware_policies_keep_every_promise() {
    for seed in [1, 2] {
        let week = Week::generate(City::manhattan(), small_config(seed));
        for policy in [PolicyName::Insertion, PolicyName::Reopt] {
            let o = run(&week, policy, &mut solver()).outcome;
            assert!(o.accepted > 0);
            assert_eq!(o.late_arrivals, 0, "{} seed {seed}", policy.name());
            assert_eq!(o.late_secs, 0.0);
            assert_eq!(o.overtime_secs, 0.0);
            check_promises(&week, &o);
        }
    }
}

/// One provider in Washington Heights; a customer in Inwood wishes 10:00, another at the Battery 11:30, both an hour.
/// The naive calendar books both (30 minutes apart), and the drive from Inwood to the Battery takes far
/// longer; insertion offers the Battery only after the drive.
fn far_apart_week() -> Week {
    let config = WeekConfig {
        providers: 1,
        days: 1,
        ..WeekConfig::default()
    };
    let provider = Provider {
        home: spot(40.8500, -73.9350),
        offers: [true, true],
    };
    let day0 = local_midnight(0);
    let request = |wished_h: f64, place: Spot| Request {
        id: 0,
        arrives: day0 - 86_400.0 + wished_h,
        day: 0,
        wished: day0 + wished_h * 3600.0,
        place,
        service: 0,
        chosen: None,
    };
    Week::from_parts(
        config,
        vec![provider],
        vec![
            request(10.0, spot(40.8677, -73.9212)),
            request(11.5, spot(40.7033, -74.0140)),
        ],
    )
}

#[test]
fn the_naive_calendar_is_late_when_consecutive_visits_are_far_apart() {
    let week = far_apart_week();
    let naive = run(&week, PolicyName::Naive, &mut solver()).outcome;
    assert_eq!(naive.accepted, 2);
    let starts: Vec<f64> = naive.plan.bookings.iter().map(|b| b.start).collect();
    assert_eq!(starts, [week.requests[0].wished, week.requests[1].wished]);
    assert_eq!(
        naive.late_arrivals, 1,
        "the visit after the drive across town"
    );
    assert!(naive.late_secs > 15.0 * 60.0, "{} s late", naive.late_secs);
    let insertion = run(&week, PolicyName::Insertion, &mut solver()).outcome;
    assert_eq!(insertion.accepted, 2);
    assert_eq!(insertion.late_arrivals, 0);
    assert!(insertion.plan.bookings[1].start > week.requests[1].wished);
    check_promises(&week, &insertion);
}

/// A test-only improver: moves one visit at a time to another provider while the problem (its own check)
/// says the plan stays feasible and gets cheaper.
struct Relocate;

impl Reoptimiser for Relocate {
    fn reoptimise(
        &mut self,
        problem: &Problem,
        initial: &Solution,
        _rng: &mut Pcg64,
    ) -> Result<Solution, VrptwError> {
        let mut routes = initial.routes.clone();
        if !problem.is_feasible(&routes) {
            return Ok(initial.clone());
        }
        let mut cost = problem.routes_cost(&routes);
        'search: loop {
            for v in 0..routes.len() {
                for i in 0..routes[v].len() {
                    for w in (0..routes.len()).filter(|&w| w != v) {
                        let mut trial = routes.clone();
                        let c = trial[v].remove(i);
                        let at = trial[w].partition_point(|&x| problem.ready[x] < problem.ready[c]);
                        trial[w].insert(at, c);
                        let trial_cost = problem.routes_cost(&trial);
                        if trial_cost < cost && problem.is_feasible(&trial) {
                            routes = trial;
                            cost = trial_cost;
                            continue 'search;
                        }
                    }
                }
            }
            return Ok(Solution { routes, cost });
        }
    }
}

/// A test-only solver that breaks things: every other day it loses a visit, otherwise it hands each
/// provider's route to the next provider (chosen providers, homes and starts be damned).
struct Vandal {
    calls: u32,
}

impl Reoptimiser for Vandal {
    fn reoptimise(
        &mut self,
        _problem: &Problem,
        initial: &Solution,
        _rng: &mut Pcg64,
    ) -> Result<Solution, VrptwError> {
        self.calls += 1;
        let mut routes = initial.routes.clone();
        if self.calls.is_multiple_of(2) {
            if let Some(r) = routes.iter_mut().find(|r| !r.is_empty()) {
                r.pop();
            }
        } else {
            routes.rotate_right(1);
        }
        Ok(Solution {
            routes,
            cost: initial.cost,
        })
    }
}

#[test]
fn reoptimisation_never_breaks_a_promised_start_or_a_chosen_provider() {
    let week = Week::generate(City::manhattan(), small_config(4));
    let pinned = week.requests.iter().filter(|r| r.chosen.is_some()).count();
    assert!(pinned > 0, "the week has chosen providers");

    let with_solver = run(&week, PolicyName::Reopt, &mut solver()).outcome;
    assert!(with_solver.reopt.solved > 0);
    assert_eq!(
        with_solver.reopt.refused, 0,
        "the solver's plans pass the check"
    );
    check_promises(&week, &with_solver);

    let relocated = run(&week, PolicyName::Reopt, &mut Relocate).outcome;
    assert!(relocated.reopt.taken > 0 && relocated.reopt.moved > 0);
    assert!(relocated.reopt.saved_secs > 0.0);
    assert_eq!(relocated.reopt.refused, 0);
    assert_eq!(relocated.late_arrivals, 0);
    check_promises(&week, &relocated);
    let moved = relocated
        .plan
        .bookings
        .iter()
        .zip(&relocated.promises)
        .filter(|(b, p)| b.provider != p.provider)
        .count();
    assert!(moved > 0, "some visits changed provider");

    let mut vandal = Vandal { calls: 0 };
    let vandalised = run(&week, PolicyName::Reopt, &mut vandal).outcome;
    assert!(vandalised.reopt.refused > 0);
    assert_eq!(vandalised.late_arrivals, 0);
    check_promises(&week, &vandalised);
}

#[test]
fn the_counts_add_up_and_every_booking_is_an_offered_slot() {
    let week = Week::generate(City::manhattan(), small_config(5));
    for policy in PolicyName::ALL {
        let result = run(&week, policy, &mut solver());
        let o = &result.outcome;
        let r = row(&result);
        assert_eq!(o.requests as usize, week.requests.len());
        assert_eq!(o.accepted as usize, o.plan.bookings.len());
        assert_eq!(o.accepted as usize, o.promises.len());
        assert!(o.accepted <= o.requests && o.pinned_accepted <= o.pinned_requests);
        assert!(o.within_hour <= o.accepted);
        assert_eq!(
            o.pinned_accepted as usize,
            o.plan.bookings.iter().filter(|b| b.pinned).count()
        );
        assert_eq!(
            result.query_ns.len(),
            week.requests.iter().filter(|r| r.chosen.is_none()).count()
        );
        assert!(result.query_ns.iter().all(|&ns| ns == 0), "no stopwatch");
        for b in &o.plan.bookings {
            let request = &week.requests[b.request as usize];
            let (from, to) = week.hours(request.day);
            assert_eq!(b.day, request.day);
            assert!((b.start - request.wished).abs() <= TOLERANCE_S);
            assert!(b.start >= request.arrives + MIN_LEAD_S);
            assert!(b.start >= from && b.start + b.on_site <= to);
            assert_eq!(((b.start - from) % SLOT_STEP_S), 0.0, "on a quarter hour");
        }
        if policy != PolicyName::Reopt {
            assert_eq!(o.reopt, Default::default());
        }
        assert_eq!(r.accepted, o.accepted);
        assert!(r.utilisation_pct > 0.0 && r.utilisation_pct < 100.0);
        let json = serde_json::to_value(&r).expect("json");
        let keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "policy",
            "requests",
            "accepted",
            "within_hour_pct",
            "travel_min_per_visit",
            "utilisation_pct",
            "late_arrivals",
            "query_p50_us",
            "query_p99_us",
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
    }
}

#[test]
fn a_full_week_for_the_latency_measurement_keeps_its_promises_and_is_full() {
    let config = LatencyConfig {
        providers: 5,
        days: 1,
        queries: 3,
        seed: 9,
    };
    let (week, plan): (Week, Plan) = full_week(City::manhattan(), &config);
    assert!(
        plan.bookings.len() >= 5 * 3,
        "{} visits",
        plan.bookings.len()
    );
    check_walk(&week, &plan);
    let report = measure(City::manhattan(), &config, &mut NoStopwatch);
    assert_eq!(report.visits, plan.bookings.len());
    assert_eq!(report.queries, 3);
    assert_eq!(report.full_p50_us, 0.0, "no stopwatch, no time");
}
