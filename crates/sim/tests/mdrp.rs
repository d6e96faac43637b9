//! The MDRP rules, metrics, solution files and both policies on small instances written here (the
//! Grubhub instances carry no licence and stay outside the repository).

use doorstep_sim::mdrp::{
    Assignment, DoorstepPolicy, Instance, InstanceError, Policy, ReyesPolicy, RuleError, View,
    check, figures, simulate, write,
};

/// An instance from its rows: restaurants `(x, y)`, orders `(x, y, placement, restaurant, ready)`,
/// couriers `(x, y, on, off)`; 100 m a minute, 4-minute services, target 40, max 90, $10 an order,
/// $15 an hour.
fn instance(
    restaurants: &[(f64, f64)],
    orders: &[(f64, f64, f64, usize, f64)],
    couriers: &[(f64, f64, f64, f64)],
) -> Instance {
    let mut r = String::from("restaurant\tx\ty\n");
    for (i, (x, y)) in restaurants.iter().enumerate() {
        r += &format!("r{}\t{x}\t{y}\n", i + 1);
    }
    let mut o = String::from("order\tx\ty\tplacement_time\trestaurant\tready_time\n");
    for (i, (x, y, p, rest, ready)) in orders.iter().enumerate() {
        o += &format!("o{}\t{x}\t{y}\t{p}\tr{}\t{ready}\n", i + 1, rest + 1);
    }
    let mut c = String::from("courier\tx\ty\ton_time\toff_time\n");
    for (i, (x, y, on, off)) in couriers.iter().enumerate() {
        c += &format!("c{}\t{x}\t{y}\t{on}\t{off}\n", i + 1);
    }
    let params = "meters_per_minute\tpickup service minutes\tdropoff service minutes\ttarget click-to-door\tmaximum click-to-door\tpay per order\tguaranteed pay per hour\n100\t4\t4\t40\t90\t10\t15\n";
    Instance::parse("test", &r, &o, &c, params).expect("a valid instance")
}

/// A policy that gives fixed instructions at fixed minutes.
struct Script(Vec<(f64, Assignment)>);

impl Policy for Script {
    fn name(&self) -> &'static str {
        "script"
    }
    fn start(&mut self, _instance: &Instance) {}
    fn decide(&mut self, view: &View<'_>, out: &mut Vec<Assignment>) {
        for (t, a) in &self.0 {
            if *t == view.now {
                out.push(a.clone());
            }
        }
    }
}

fn give(t: f64, courier: usize, orders: &[usize]) -> (f64, Assignment) {
    (
        t,
        Assignment {
            courier,
            orders: orders.to_vec(),
        },
    )
}

#[test]
fn travel_time_is_the_distance_over_the_speed_rounded_up_to_a_minute() {
    let inst = instance(&[(0.0, 0.0)], &[], &[]);
    let a = doorstep_sim::mdrp::Loc { x: 0.0, y: 0.0 };
    assert_eq!(
        inst.travel_min(a, doorstep_sim::mdrp::Loc { x: 300.0, y: 400.0 }),
        5.0
    );
    assert_eq!(
        inst.travel_min(a, doorstep_sim::mdrp::Loc { x: 300.0, y: 401.0 }),
        6.0
    );
    assert_eq!(inst.travel_min(a, a), 0.0);
}

#[test]
fn a_lone_order_is_picked_up_when_ready_and_dropped_off_half_a_service_after_arriving() {
    // Courier 5 minutes from the restaurant, customer 10 minutes from it.
    let inst = instance(
        &[(0.0, 0.0)],
        &[(1000.0, 0.0, 0.0, 0, 20.0)],
        &[(500.0, 0.0, 0.0, 120.0)],
    );
    let out = simulate(&inst, &mut Script(vec![give(0.0, 0, &[0])]));
    assert!(out.refused.is_empty());
    let d = out.deliveries[0].expect("delivered");
    assert_eq!((d.assigned, d.pickup, d.dropoff), (0.0, 20.0, 34.0));
    // Arriving late: the pickup is half a service after the arrival.
    let out = simulate(&inst, &mut Script(vec![give(15.0, 0, &[0])]));
    let d = out.deliveries[0].expect("delivered");
    assert_eq!((d.pickup, d.dropoff), (22.0, 36.0));
    let f = figures(&inst, &out);
    assert_eq!(f.ctd_mean, 36.0);
    assert_eq!(f.r2p_mean, 2.0);
    // The lower bound: preparation 20 + half service 2 + drive 10 + half service 2.
    assert_eq!(f.lower_bound_mean, 34.0);
    assert_eq!(f.excess_mean, 2.0);
}

#[test]
fn a_bundle_is_picked_up_once_at_its_latest_ready_time_and_dropped_off_in_order() {
    let inst = instance(
        &[(0.0, 0.0)],
        &[(1000.0, 0.0, 0.0, 0, 10.0), (1000.0, 500.0, 1.0, 0, 15.0)],
        &[(0.0, 0.0, 0.0, 120.0)],
    );
    let out = simulate(&inst, &mut Script(vec![give(1.0, 0, &[1, 0])]));
    assert!(out.refused.is_empty());
    let (a, b) = (
        out.deliveries[0].expect("o1"),
        out.deliveries[1].expect("o2"),
    );
    assert_eq!(a.pickup, 15.0);
    assert_eq!(b.pickup, 15.0);
    // Leave at 17, o2 at 17 + 12 (ceil 11.18) + 2 = 31, leave 33, o1 at 33 + 5 + 2 = 40.
    assert_eq!(b.dropoff, 31.0);
    assert_eq!(a.dropoff, 40.0);
    let f = figures(&inst, &out);
    assert_eq!(f.bundle_mean, 2.0);
    assert_eq!(out.assignments.len(), 1);
}

#[test]
fn the_engine_refuses_instructions_that_break_the_rules() {
    let inst = instance(
        &[(0.0, 0.0), (5000.0, 0.0)],
        &[
            (100.0, 0.0, 0.0, 0, 5.0),
            (100.0, 0.0, 0.0, 1, 5.0),
            (100.0, 0.0, 30.0, 0, 40.0),
            (100.0, 0.0, 0.0, 0, 200.0),
        ],
        &[(0.0, 0.0, 0.0, 100.0), (0.0, 0.0, 50.0, 100.0)],
    );
    let cases: Vec<((f64, Assignment), RuleError)> = vec![
        (give(0.0, 5, &[0]), RuleError::UnknownCourier),
        (give(0.0, 1, &[0]), RuleError::NotOnDuty),
        (give(0.0, 0, &[]), RuleError::NoOrder),
        (give(0.0, 0, &[9]), RuleError::UnknownOrder),
        (give(0.0, 0, &[2]), RuleError::NotPlaced),
        (give(0.0, 0, &[0, 0]), RuleError::AlreadyAssigned),
        (give(0.0, 0, &[0, 1]), RuleError::MixedRestaurants),
        (give(0.0, 0, &[3]), RuleError::PickupAfterOff),
    ];
    for ((t, a), want) in cases {
        let out = simulate(&inst, &mut Script(vec![(t, a.clone())]));
        assert_eq!(out.refused, vec![(a, want)]);
        assert!(out.assignments.is_empty());
    }
    // A courier on its way is busy until its last drop-off is done.
    let out = simulate(
        &inst,
        &mut Script(vec![give(0.0, 0, &[0]), give(1.0, 0, &[1])]),
    );
    assert_eq!(out.refused.len(), 1);
    assert_eq!(out.refused[0].1, RuleError::CourierBusy);
}

#[test]
fn pay_is_the_larger_of_pay_per_order_and_the_guaranteed_hourly_pay() {
    // Courier 1: 2 hours, 1 order -> $30 guaranteed. Courier 2: 1 hour, 2 orders -> $20.
    let inst = instance(
        &[(0.0, 0.0)],
        &[
            (100.0, 0.0, 0.0, 0, 1.0),
            (100.0, 0.0, 0.0, 0, 1.0),
            (100.0, 0.0, 0.0, 0, 1.0),
        ],
        &[(0.0, 0.0, 0.0, 120.0), (0.0, 0.0, 0.0, 60.0)],
    );
    let out = simulate(
        &inst,
        &mut Script(vec![give(0.0, 0, &[0]), give(0.0, 1, &[1, 2])]),
    );
    let f = figures(&inst, &out);
    assert_eq!(f.pay_total, 50.0);
    assert!((f.pay_per_order - 50.0 / 3.0).abs() < 1e-9);
    assert_eq!(f.delivered, 3);
}

#[test]
fn an_order_no_shift_can_reach_in_time_is_not_serveable() {
    let inst = instance(
        &[(0.0, 0.0)],
        &[(0.0, 0.0, 0.0, 0, 5.0), (0.0, 0.0, 100.0, 0, 110.0)],
        &[(0.0, 0.0, 0.0, 60.0)],
    );
    assert!(inst.serveable(0));
    assert!(!inst.serveable(1));
    let f = figures(&inst, &simulate(&inst, &mut DoorstepPolicy::new()));
    assert_eq!((f.serveable, f.delivered, f.missed_serveable), (1, 1, 0));
}

#[test]
fn bad_instance_files_are_typed_errors() {
    let params = "h\n100\t4\t4\t40\t90\t10\t15\n";
    let r = "restaurant\tx\ty\nr1\t0\t0\n";
    let c = "courier\tx\ty\ton\toff\nc1\t0\t0\t0\t60\n";
    let parse = |o: &str, c: &str, p: &str| Instance::parse("t", r, o, c, p);
    assert!(matches!(
        parse("h\no1\t0\t0\t0\tr9\t5\n", c, params),
        Err(InstanceError::Parse {
            file: "orders.txt",
            line: 2,
            ..
        })
    ));
    assert!(matches!(
        parse("h\no1\t0\tx\t0\tr1\t5\n", c, params),
        Err(InstanceError::Parse { .. })
    ));
    assert!(matches!(
        parse("h\no1\t0\t0\t9\tr1\t5\n", c, params),
        Err(InstanceError::Invalid(_))
    ));
    assert!(matches!(
        parse("h\n", "h\nc1\t0\t0\t60\t0\n", params),
        Err(InstanceError::Invalid(_))
    ));
    assert!(matches!(
        parse("h\n", c, "h\n0\t4\t4\t40\t90\t10\t15\n"),
        Err(InstanceError::Invalid(_))
    ));
    assert!(matches!(
        parse("h\no1\t0\t0\n", c, params),
        Err(InstanceError::Parse { .. })
    ));
    assert!(parse("h\n\no1\t0\t0\t0\tr1\t5\n", c, params).is_ok());
}

/// A small synthetic day: 6 restaurants on a 2 km square, 40 orders over three hours with 10 to
/// 25 minutes of preparation, 8 couriers in two shifts (enough for every order). Deterministic (a fixed linear
/// congruential sequence).
fn small_day() -> Instance {
    let mut state: u64 = 12345;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let restaurants: Vec<(f64, f64)> = (0..6)
        .map(|_| (next(2000) as f64, next(2000) as f64))
        .collect();
    let orders: Vec<(f64, f64, f64, usize, f64)> = (0..40)
        .map(|_| {
            let placement = next(180) as f64;
            let r = next(6) as usize;
            (
                next(2000) as f64,
                next(2000) as f64,
                placement,
                r,
                placement + 10.0 + next(16) as f64,
            )
        })
        .collect();
    let couriers: Vec<(f64, f64, f64, f64)> = (0..8)
        .map(|i| {
            let on = if i < 5 { 0.0 } else { 90.0 };
            (next(2000) as f64, next(2000) as f64, on, on + 150.0)
        })
        .collect();
    instance(&restaurants, &orders, &couriers)
}

#[test]
fn both_policies_keep_the_rules_on_a_small_day_and_doorstep_delivers_every_serveable_order() {
    let inst = small_day();
    let policies: Vec<Box<dyn Policy>> = vec![
        Box::new(DoorstepPolicy::new()),
        Box::new(ReyesPolicy::new()),
    ];
    for mut p in policies {
        let out = simulate(&inst, p.as_mut());
        assert!(out.refused.is_empty(), "{}: {:?}", p.name(), out.refused);
        let f = figures(&inst, &out);
        if p.name() == "doorstep" {
            assert_eq!(f.missed_serveable, 0);
        }
        assert!(f.delivered + 2 >= f.serveable, "{}: {f:?}", p.name());
        let (a, o, c) = write(&inst, &out);
        assert_eq!(
            check(&inst, &a, &o, &c),
            Vec::<String>::new(),
            "{}",
            p.name()
        );
        // Every order's click-to-door is at least its lower bound.
        for (ctd, lb) in f.per_order.ctd.iter().zip(&f.per_order.lower_bound) {
            assert!(ctd >= lb, "{}: {ctd} < {lb}", p.name());
        }
        // The same day gives the same result.
        let again = simulate(&inst, p.as_mut());
        assert_eq!(again.assignments, out.assignments, "{}", p.name());
    }
}

#[test]
fn a_tampered_solution_fails_the_check() {
    let inst = small_day();
    let out = simulate(&inst, &mut DoorstepPolicy::new());
    let (a, o, c) = write(&inst, &out);
    // An assignment before its order's placement.
    let mut lines: Vec<String> = a.lines().map(str::to_owned).collect();
    let f: Vec<String> = lines[1].split(' ').map(str::to_owned).collect();
    lines[1] = format!("-5 {}", f[1..].join(" "));
    assert!(!check(&inst, &lines.join("\n"), &o, &c).is_empty());
    // A drop-off a minute early: the courier is still driving.
    let mut lines: Vec<String> = o.lines().map(str::to_owned).collect();
    let mut f: Vec<String> = lines[1].split(' ').map(str::to_owned).collect();
    let early: f64 = f[4].parse::<f64>().expect("a time") - 3.0;
    f[4] = format!("{early}");
    lines[1] = f.join(" ");
    assert!(!check(&inst, &a, &lines.join("\n"), &c).is_empty());
    // The same order twice.
    let twice = format!("{a}{}\n", a.lines().nth(1).expect("a line"));
    assert!(!check(&inst, &twice, &o, &c).is_empty());
}

#[test]
fn doorstep_commits_late_so_the_courier_arrives_as_the_food_is_ready() {
    // The courier is 5 minutes from the restaurant; the food is ready 30 minutes after the order.
    let inst = instance(
        &[(0.0, 0.0)],
        &[(1000.0, 0.0, 0.0, 0, 30.0)],
        &[(500.0, 0.0, 0.0, 120.0)],
    );
    let out = simulate(&inst, &mut DoorstepPolicy::new());
    let d = out.deliveries[0].expect("delivered");
    // Told at 22: arrives at 27, within a minute (the decision step) of half a service before
    // the ready time, and picks up at 30.
    assert_eq!((d.assigned, d.pickup, d.dropoff), (22.0, 30.0, 44.0));
}

#[test]
fn doorstep_bundles_orders_of_one_restaurant_when_couriers_are_short() {
    let inst = instance(
        &[(0.0, 0.0)],
        &[(1000.0, 0.0, 0.0, 0, 10.0), (1000.0, 200.0, 0.0, 0, 10.0)],
        &[(300.0, 0.0, 0.0, 120.0)],
    );
    let out = simulate(&inst, &mut DoorstepPolicy::new());
    assert_eq!(out.assignments.len(), 1);
    assert_eq!(out.assignments[0].orders.len(), 2);
    // With a courier for each, each goes alone.
    let inst = instance(
        &[(0.0, 0.0)],
        &[(1000.0, 0.0, 0.0, 0, 10.0), (1000.0, 200.0, 0.0, 0, 10.0)],
        &[(300.0, 0.0, 0.0, 120.0), (0.0, 300.0, 0.0, 120.0)],
    );
    let out = simulate(&inst, &mut DoorstepPolicy::new());
    assert_eq!(out.assignments.len(), 2);
}

#[test]
fn seed_sets_parse_ranges_and_lists_and_reject_nonsense() {
    use doorstep_sim::mdrp::bench::{SeedSet, seed_of};
    assert_eq!("0-3".parse::<SeedSet>(), Ok(SeedSet(vec![0, 1, 2, 3])));
    assert_eq!("5".parse::<SeedSet>(), Ok(SeedSet(vec![5])));
    assert_eq!("0,2-3".parse::<SeedSet>(), Ok(SeedSet(vec![0, 2, 3])));
    assert!("6-1".parse::<SeedSet>().is_err());
    assert!("x".parse::<SeedSet>().is_err());
    assert_eq!(seed_of("12o50t75s1p100"), Some(12));
    assert_eq!(seed_of("o50"), None);
}

/// A fresh folder under the system's temporary folder.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("doorstep-mdrp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

#[test]
fn a_missing_instance_folder_or_an_empty_selection_is_a_clear_error() {
    use doorstep_sim::mdrp::bench::{MdrpBenchError, select};
    let dir = scratch_dir("missing");
    let missing = dir.join("nope");
    assert!(matches!(
        select(&missing, &[], None),
        Err(MdrpBenchError::NoInstances(_))
    ));
    assert!(matches!(
        select(&dir, &[], None),
        Err(MdrpBenchError::NothingSelected(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_runner_reads_a_folder_and_writes_solution_files_that_check_out() {
    use doorstep_sim::mdrp::bench::{MdrpPolicyName, run_one, select};
    let root = scratch_dir("runner");
    let folder = root.join("instances").join("0x1");
    std::fs::create_dir_all(&folder).expect("an instance folder");
    let files = [
        ("restaurants.txt", "restaurant\tx\ty\nr1\t0\t0\n"),
        (
            "orders.txt",
            "order\tx\ty\tplacement_time\trestaurant\tready_time\no1\t800\t0\t0\tr1\t15\no2\t0\t900\t5\tr1\t20\n",
        ),
        (
            "couriers.txt",
            "courier\tx\ty\ton_time\toff_time\nc1\t300\t0\t0\t120\n",
        ),
        (
            "instance_parameters.txt",
            "meters_per_minute\tpickup service minutes\tdropoff service minutes\ttarget click-to-door\tmaximum click-to-door\tpay per order\tguaranteed pay per hour\n100\t4\t4\t40\t90\t10\t15\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(folder.join(name), text).expect("an instance file");
    }
    let dirs = select(&root.join("instances"), &["0x".to_owned()], None).expect("one instance");
    assert_eq!(dirs, vec![folder.clone()]);
    let inst = Instance::read_dir(&folder).expect("a valid instance");
    assert_eq!(inst.name, "0x1");
    let out = root.join("solutions");
    for policy in [MdrpPolicyName::Doorstep, MdrpPolicyName::Reyes] {
        let run = run_one(&inst, policy, Some(&out)).expect("a run");
        assert_eq!(run.row.delivered, 2, "{}", policy.name());
        assert!(run.violations.is_empty(), "{:?}", run.violations);
        let dir = out.join(policy.name()).join("0x1");
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("a solution file");
        let (a, o, c) = (
            read("solution_info_assignments.txt"),
            read("solution_info_orders.txt"),
            read("solution_info_couriers.txt"),
        );
        assert_eq!(check(&inst, &a, &o, &c), Vec::<String>::new());
        assert_eq!(o.lines().count(), 3, "a header and two orders");
        assert!(
            c.lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("c1 ") && l.contains(" 0 r1"))
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
