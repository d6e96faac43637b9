//! `bench vrptw`: the VRPLIB reader, the DIMACS convention, the independent feasibility check (against the
//! vendored C101 best known solution too), the `.sol` files, the BKS table and one run through the runner.

use std::time::Duration;

use doorstep_dispatch::vrptw::{Solution, VrptwError};
use doorstep_sim::vrptw::bench::{family, gap_pct, run_one, run_one_with, select, summarise};
use doorstep_sim::vrptw::{
    BksTable, Instance, Violation, VrplibError, check, read_sol, truncate_tenths, write_sol,
};

/// A C101-like instance: the depot (node 0) at (40, 50) open from 0 to 1236, five customers, two vehicles
/// of capacity 30, service time 90 (unscaled, as in the files).
const TINY: &str = "NAME : TINY1
COMMENT : five customers around a depot
TYPE : CVRPTW
DIMENSION : 6
VEHICLES : 2
CAPACITY : 30
SERVICE_TIME : 90
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 40 50
2 45 68
3 45 70
4 42 66
5 25 85
6 22 75
DEMAND_SECTION
1 0
2 10
3 10
4 10
5 10
6 20
TIME_WINDOW_SECTION
1 0 1236
2 0 1100
3 0 1100
4 0 1100
5 0 1100
6 0 1100
DEPOT_SECTION
1
-1
EOF
";

fn tiny() -> Instance {
    Instance::parse("tiny.vrp", TINY).expect("the tiny instance parses")
}

/// The route `1 2 3` and `4 5` of [`TINY`]: every customer once, loads 30 and 30.
fn tiny_routes() -> Vec<Vec<usize>> {
    vec![vec![3, 1, 2], vec![4, 5]]
}

fn syntax_line(e: &VrplibError) -> Option<usize> {
    match e {
        VrplibError::Syntax { line, .. } => Some(*line),
        VrplibError::Io { .. } => None,
    }
}

#[test]
fn the_reader_reads_a_small_instance_in_dimacs_units() {
    let i = tiny();
    assert_eq!(i.name(), "TINY1");
    assert_eq!((i.nodes(), i.customers(), i.vehicles()), (6, 5, 2));
    assert_eq!((i.capacity(), i.depot()), (30, 0));
    assert_eq!(i.demand(5), 20);
    // Windows and service times × 10; the depot serves nothing.
    assert_eq!((i.ready(0), i.due(0)), (0, 12360));
    assert_eq!((i.due(1), i.service(1), i.service(0)), (11000, 900, 0));
    // (40, 50) to (45, 68): √349 = 18.681..., 186 tenths.
    assert_eq!(i.distance(0, 1), 186);
    assert_eq!(i.distance(1, 0), 186);
    let p = i.problem();
    assert_eq!(p.customers, vec![1, 2, 3, 4, 5]);
    assert_eq!(p.vehicles.len(), 2);
    assert_eq!(p.vehicles[0].shift_end, 12360);
    assert_eq!(p.cost(0, 1), 186);
    assert_eq!(p.time, p.cost);
    assert!(p.validate().is_ok());
}

#[test]
fn the_reader_reads_service_times_from_their_section() {
    let text = TINY.replace("SERVICE_TIME : 90\n", "").replace(
        "DEPOT_SECTION",
        "SERVICE_TIME_SECTION\n1 0\n2 10\n3 20\n4 30\n5 40\n6 50\nDEPOT_SECTION",
    );
    let i = Instance::parse("s.vrp", &text).expect("parses");
    assert_eq!((i.service(1), i.service(5)), (100, 500));
}

#[test]
fn a_malformed_file_is_refused_naming_the_file_and_line() {
    // Line 13 of TINY is `4 42 66`; make it `4 42 sixty`.
    let bad = TINY.replace("4 42 66", "4 42 sixty");
    let e = Instance::parse("bad.vrp", &bad).expect_err("refused");
    assert_eq!(syntax_line(&e), Some(13), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with("bad.vrp:13:"), "{msg}");
    assert!(msg.contains("sixty"), "{msg}");

    let unknown = TINY.replace("EDGE_WEIGHT_TYPE : EUC_2D", "EDGE_WEIGHT_TYPE : GEO");
    let e = Instance::parse("geo.vrp", &unknown).expect_err("refused");
    assert_eq!(syntax_line(&e), Some(8), "{e}");

    let twice = TINY.replace("3 10\n4 10", "3 10\n3 10");
    let e = Instance::parse("twice.vrp", &twice).expect_err("refused");
    assert!(e.to_string().contains("node 3 appears twice"), "{e}");

    let no_windows = TINY.replace("TIME_WINDOW_SECTION", "COMMENT : none");
    assert!(Instance::parse("w.vrp", &no_windows).is_err());
}

#[test]
fn dimacs_distances_are_truncated_to_tenths() {
    // √2 = 1.41421... → 14 tenths; √(0.5² + 0) → 5; 3-4-5 exactly 50.
    assert_eq!(truncate_tenths(2_f64.sqrt()), 14);
    assert_eq!(truncate_tenths(0.5), 5);
    assert_eq!(truncate_tenths(5.0), 50);
    assert_eq!(truncate_tenths(0.3), 3);
    assert_eq!(truncate_tenths(18.699_999), 186);
    // From whole coordinates, exactly: (0,0)-(3,4) is 50 and (0,0)-(1,1) is 14.
    let text = TINY
        .replace("1 40 50", "1 0 0")
        .replace("2 45 68", "2 3 4")
        .replace("3 45 70", "3 1 1");
    let i = Instance::parse("d.vrp", &text).expect("parses");
    assert_eq!((i.distance(0, 1), i.distance(0, 2)), (50, 14));
}

#[test]
fn the_check_accepts_a_correct_solution_and_recomputes_its_distance() {
    let i = tiny();
    let routes = tiny_routes();
    let v = check(&i, &routes, None);
    assert!(v.feasible(), "{:?}", v.violations);
    assert_eq!(v.routes, 2);
    let expected: i64 = [0, 3, 1, 2, 0]
        .windows(2)
        .chain([0, 4, 5, 0].windows(2))
        .map(|w| i.distance(w[0], w[1]))
        .sum();
    assert_eq!(v.distance, expected);
    assert!(check(&i, &routes, Some(expected)).feasible());
    assert_eq!(
        check(&i, &routes, Some(expected + 1)).violations,
        vec![Violation::WrongDistance {
            reported: expected + 1,
            actual: expected
        }]
    );
}

#[test]
fn the_check_refuses_a_customer_visited_twice() {
    let v = check(&tiny(), &[vec![3, 1, 2], vec![4, 5, 1]], None);
    assert!(
        v.violations
            .contains(&Violation::VisitedTwice { customer: 1 }),
        "{:?}",
        v.violations
    );
}

#[test]
fn the_check_refuses_a_missed_customer() {
    let v = check(&tiny(), &[vec![3, 1, 2], vec![5]], None);
    assert_eq!(v.violations, vec![Violation::Missed { customer: 4 }]);
}

#[test]
fn the_check_refuses_a_broken_window() {
    // Customer 4 due at 20 (200 tenths): (40,50)→(25,85) is 380 tenths away.
    let text = TINY.replace("5 0 1100", "5 0 20");
    let i = Instance::parse("w.vrp", &text).expect("parses");
    let v = check(&i, &tiny_routes(), None);
    assert!(
        matches!(
            v.violations.as_slice(),
            [Violation::Late {
                route: 2,
                customer: 4,
                due: 200,
                ..
            }]
        ),
        "{:?}",
        v.violations
    );
    // Waiting for a window's start is allowed: customer 4 ready at 100 is still fine.
    let text = TINY.replace("5 0 1100", "5 100 1100");
    let i = Instance::parse("w.vrp", &text).expect("parses");
    assert!(check(&i, &tiny_routes(), None).feasible());
    // Back at the depot too late.
    let text = TINY.replace("1 0 1236", "1 0 150");
    let i = Instance::parse("w.vrp", &text).expect("parses");
    let v = check(&i, &tiny_routes(), None);
    assert!(
        v.violations
            .iter()
            .any(|x| matches!(x, Violation::LateReturn { .. })),
        "{:?}",
        v.violations
    );
}

#[test]
fn the_check_refuses_a_route_over_capacity() {
    let v = check(&tiny(), &[vec![3, 1, 2, 4], vec![5]], None);
    assert_eq!(
        v.violations,
        vec![Violation::OverCapacity {
            route: 1,
            load: 40,
            capacity: 30
        }]
    );
}

#[test]
fn the_check_refuses_too_many_routes() {
    let v = check(&tiny(), &[vec![3, 1], vec![2], vec![4, 5]], None);
    assert_eq!(
        v.violations,
        vec![Violation::TooManyRoutes {
            routes: 3,
            vehicles: 2
        }]
    );
    // Empty routes are unused vehicles, not routes.
    assert!(check(&tiny(), &[vec![3, 1, 2], vec![], vec![4, 5]], None).feasible());
}

#[test]
fn the_check_refuses_the_depot_in_a_route() {
    let v = check(&tiny(), &[vec![3, 1, 0, 2], vec![4, 5]], None);
    assert_eq!(
        v.violations,
        vec![Violation::NotACustomer { route: 1, node: 0 }]
    );
}

#[test]
fn the_vendored_c101_best_known_solution_checks_at_827_3() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/vrptw/Solomon");
    let instance = Instance::read(format!("{root}/C101.vrp").as_ref()).expect("C101 reads");
    let text = std::fs::read_to_string(format!("{root}/C101.sol")).expect("C101.sol reads");
    let sol = read_sol(&text).expect("C101.sol parses");
    assert_eq!(sol.cost, Some(8273));
    let v = check(&instance, &sol.routes, sol.cost);
    assert!(v.feasible(), "{:?}", v.violations);
    assert_eq!((v.distance, v.routes), (8273, 10));
    // The BKS table agrees.
    let table =
        BksTable::read(format!("{root}/../bks_dimacs_distance.tsv").as_ref()).expect("reads");
    assert_eq!(
        table.get("C101").map(|b| (b.distance, b.routes)),
        Some((8273, Some(10)))
    );
    assert_eq!(table.0.len(), 116);
}

#[test]
fn a_sol_file_reads_back_as_written() {
    let routes = vec![vec![5, 3, 7], vec![], vec![1, 2]];
    let text = write_sol(&routes, 8273);
    assert_eq!(text, "Route #1: 5 3 7\nRoute #2: 1 2\nCost 827.3\n");
    let sol = read_sol(&text).expect("parses");
    assert_eq!(sol.routes, vec![vec![5, 3, 7], vec![1, 2]]);
    assert_eq!(sol.cost, Some(8273));
    let e = read_sol("Route #1: 1 2\nRoute #2: 3 x\n").expect_err("refused");
    assert_eq!(e.line, 2);
}

#[test]
fn the_bks_table_is_read_by_its_header() {
    let text = "set\tinstance\tcustomers\tmax_vehicles\tcapacity\tbks_routes\tbks_distance_dimacs\n\
                Solomon\tC101\t100\t25\t200\t10\t827.3\n\
                GH200\tC1_2_1\t200\t50\t200\t20\t2698.6\n";
    let t = BksTable::parse("bks.tsv", text).expect("parses");
    let c = t.get("C1_2_1").expect("listed");
    assert_eq!(
        (c.distance, c.routes, c.set.as_deref()),
        (26986, Some(20), Some("GH200"))
    );
    assert!(t.get("R101").is_none());
    // Only the two needed columns.
    let t =
        BksTable::parse("b.tsv", "bks_distance_dimacs\tinstance\n589.1\tC201\n").expect("parses");
    assert_eq!(
        t.get("C201").map(|b| (b.distance, b.routes)),
        Some((5891, None))
    );
    let e = BksTable::parse("b.tsv", "instance\tbks_distance_dimacs\nC201\tfast\n")
        .expect_err("refused");
    assert!(e.to_string().starts_with("b.tsv:2:"), "{e}");
}

#[test]
fn families_and_gaps() {
    assert_eq!(family("C101"), "C1");
    assert_eq!(family("RC208"), "RC2");
    assert_eq!(family("R1_2_10"), "R1_2");
    assert_eq!(family("RC2_2_1"), "RC2_2");
    assert!((gap_pct(8356, 8273) - 1.003_263).abs() < 1e-5);
}

#[test]
fn a_tiny_run_through_the_runner_is_feasible_and_reported() {
    let i = tiny();
    let table = BksTable::parse(
        "b.tsv",
        "instance\tbks_routes\tbks_distance_dimacs\nTINY1\t2\t100.0\n",
    )
    .expect("parses");
    let run = run_one(
        &i,
        "Tiny",
        table.get("TINY1"),
        Duration::from_millis(200),
        7,
    )
    .expect("runs");
    assert!(run.row.feasible, "{:?} {:?}", run.violations, run.failure);
    assert_eq!(run.row.customers, 5);
    assert_eq!(run.family, "TINY1");
    let distance = run.distance.expect("a solution");
    assert_eq!(run.row.distance, Some(distance as f64 / 10.0));
    assert_eq!(run.row.bks, Some(100.0));
    assert!(run.row.gap_pct.is_some_and(|g| g >= 0.0));
    assert!(run.row.cpu_s >= 0.0);
    let json = serde_json::to_value(&run.row).expect("serialises");
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bks",
            "cpu_s",
            "customers",
            "distance",
            "feasible",
            "gap_pct",
            "instance",
            "routes"
        ]
    );
    // The written solution checks out on its own.
    let sol = read_sol(&write_sol(&run.routes, distance)).expect("parses");
    assert!(check(&i, &sol.routes, sol.cost).feasible());
    let summary = summarise(std::slice::from_ref(&run));
    assert_eq!(summary.len(), 2);
    assert_eq!(
        (summary[1].family.as_str(), summary[1].feasible),
        ("all", 1)
    );
}

#[test]
fn too_few_vehicles_is_reported_as_no_solution_not_a_crash() {
    // One vehicle of capacity 30 cannot carry 60.
    let text = TINY.replace("VEHICLES : 2", "VEHICLES : 1");
    let i = Instance::parse("one.vrp", &text).expect("parses");
    let run = run_one(&i, "Tiny", None, Duration::from_millis(100), 1).expect("runs");
    assert!(!run.row.feasible);
    assert_eq!(run.row.gap_pct, None);
}

#[test]
fn the_vendored_sets_are_selected_in_natural_order() {
    let root = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/vrptw"));
    let all = select(&[root.join("Solomon"), root.join("GH200")], &[]).expect("selects");
    assert_eq!(all.len(), 116);
    let gh: Vec<String> = select(std::slice::from_ref(&root), &["R1_2_".to_owned()])
        .expect("selects")
        .iter()
        .map(|s| {
            s.path
                .file_stem()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(gh.first().map(String::as_str), Some("R1_2_1"));
    assert_eq!(gh.get(1).map(String::as_str), Some("R1_2_2"));
    assert_eq!(gh.last().map(String::as_str), Some("R1_2_10"));
    assert!(select(&[root.join("nowhere")], &[]).is_err());
}

/// Every vendored best known solution is feasible under the check, within the vehicle limit, and costs
/// what its `Cost` line and the BKS table say: the check's convention is the table's on all 116 instances.
#[test]
fn every_vendored_best_known_solution_checks_at_its_table_distance() {
    let root = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/vrptw"));
    let table = BksTable::read(&root.join("bks_dimacs_distance.tsv")).expect("reads");
    let all = select(&[root.join("Solomon"), root.join("GH200")], &[]).expect("selects");
    for s in &all {
        let instance = Instance::read(&s.path).expect("reads");
        let text = std::fs::read_to_string(s.path.with_extension("sol")).expect("has a .sol");
        let sol = read_sol(&text).expect("parses");
        let v = check(&instance, &sol.routes, sol.cost);
        let bks = table.get(instance.name()).expect("in the table");
        assert!(v.feasible(), "{}: {:?}", instance.name(), v.violations);
        assert_eq!(
            (v.distance, Some(v.routes)),
            (bks.distance, bks.routes),
            "{}",
            instance.name()
        );
        assert_eq!(bks.set.as_deref(), Some(s.set.as_str()));
    }
}

/// The correct solution of [`TINY`] as a solver returns it: one route per vehicle, with its cost.
fn tiny_solution(i: &Instance) -> Solution {
    let routes = tiny_routes();
    let cost = check(i, &routes, None).distance;
    Solution { routes, cost }
}

#[test]
fn the_stop_callback_says_stop_once_the_thread_has_used_its_cpu_budget() {
    let i = tiny();
    let budget = Duration::from_millis(150);
    let mut asked = 0_u64;
    let run = run_one_with(&i, "Tiny", None, budget, 1, |_, _, stop| {
        // Busy work, asking between steps as a search does.
        let mut x = 0_u64;
        while !stop() {
            asked += 1;
            for k in 0..1_000 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(k);
            }
        }
        std::hint::black_box(x);
        Ok(tiny_solution(&i))
    })
    .expect("runs");
    assert!(asked > 0);
    assert!(run.row.feasible, "{:?}", run.violations);
    assert!(
        (0.15..1.0).contains(&run.row.cpu_s),
        "used {} CPU s of a 0.15 s budget",
        run.row.cpu_s
    );
}

#[test]
fn a_wrong_reported_distance_or_a_panic_is_reported_not_a_crash() {
    let i = tiny();
    let budget = Duration::from_millis(50);
    let run = run_one_with(&i, "Tiny", None, budget, 1, |_, _, _| {
        let mut s = tiny_solution(&i);
        s.cost -= 1;
        Ok(s)
    })
    .expect("runs");
    assert!(!run.row.feasible);
    assert!(matches!(
        run.violations.as_slice(),
        [Violation::WrongDistance { .. }]
    ));
    assert_eq!(run.row.distance, run.distance.map(|d| d as f64 / 10.0));

    let run =
        run_one_with(&i, "Tiny", None, budget, 1, |_, _, _| panic!("solver bug")).expect("runs");
    assert!(!run.row.feasible);
    assert_eq!(run.row.routes, None);
    assert!(run.failure.is_some_and(|f| f.contains("solver bug")));

    let run = run_one_with(&i, "Tiny", None, budget, 1, |_, _, _| {
        Err(VrptwError::NoFeasibleSolution)
    })
    .expect("runs");
    assert_eq!((run.row.feasible, run.row.distance), (false, None));
}
