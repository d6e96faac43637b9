//! The VRPTW solver: feasibility and exact cost on random instances, optimality against brute force on tiny
//! ones, pins, home bases and shifts, warm starts, infeasibility, determinism; and (ignored, needs the benchmark
//! data) the gaps to the best known solutions on Solomon and Gehring–Homberger instances.

use doorstep_dispatch::vrptw::{
    Problem, Solution, SolveParams, Vehicle, VrptwError, solve, solve_with,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// A stop callback that says "stop" from its `calls`-th call on.
fn stop_after(calls: usize) -> impl FnMut() -> bool {
    let mut count = 0;
    move || {
        count += 1;
        count > calls
    }
}

/// A random instance on a 100 × 100 grid: depot at node 0, `customers` customers with windows of random width,
/// `vehicles` identical vehicles.
fn random_problem(rng: &mut Pcg64, customers: usize, vehicles: usize, capacity: i64) -> Problem {
    let n = customers + 1;
    let xy: Vec<(f64, f64)> = (0..n)
        .map(|_| (rng.random_range(0.0..100.0), rng.random_range(0.0..100.0)))
        .collect();
    let mut cost = vec![0; n * n];
    for i in 0..n {
        for j in 0..n {
            let d = ((xy[i].0 - xy[j].0).powi(2) + (xy[i].1 - xy[j].1).powi(2)).sqrt();
            cost[i * n + j] = (10.0 * d) as i64;
        }
    }
    let horizon = 10_000;
    let mut ready = vec![0; n];
    let mut due = vec![horizon; n];
    let mut service = vec![0; n];
    let mut demand = vec![0; n];
    for c in 1..n {
        let earliest = cost[c];
        let latest = horizon - cost[c * n] - 100;
        let width = rng.random_range(300..3000);
        let start = rng.random_range(earliest..=latest.max(earliest));
        ready[c] = start;
        due[c] = (start + width).min(latest.max(earliest));
        service[c] = 100;
        demand[c] = rng.random_range(1..=10);
    }
    Problem {
        nodes: n,
        time: cost.clone(),
        cost,
        demand,
        ready,
        due,
        service,
        customers: (1..n).collect(),
        vehicles: vec![
            Vehicle {
                start: 0,
                end: 0,
                shift_start: 0,
                shift_end: horizon,
                capacity,
            };
            vehicles
        ],
        allowed: vec![None; n],
    }
}

/// Asserts `solution` is feasible for `problem` and reports its true cost.
fn assert_sound(problem: &Problem, solution: &Solution) {
    assert!(
        problem.is_feasible(&solution.routes),
        "infeasible: {solution:?}"
    );
    assert_eq!(solution.cost, problem.routes_cost(&solution.routes));
}

/// The optimum by enumeration: every assignment of customers to vehicles and every order of each route.
fn brute_force(problem: &Problem) -> Option<i64> {
    fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
        if items.is_empty() {
            return vec![Vec::new()];
        }
        let mut out = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, first);
                out.push(tail);
            }
        }
        out
    }
    let m = problem.vehicles.len();
    let k = problem.customers.len();
    let mut best: Option<i64> = None;
    for code in 0..m.pow(k as u32) {
        let mut groups = vec![Vec::new(); m];
        let mut rest = code;
        for &c in &problem.customers {
            groups[rest % m].push(c);
            rest /= m;
        }
        // The cheapest feasible order of each group, independently.
        let mut total = 0;
        for (v, group) in groups.iter().enumerate() {
            let mut best_route: Option<i64> = None;
            for order in permutations(group) {
                let mut routes = vec![Vec::new(); m];
                routes[v] = order;
                let mut single = problem.clone();
                single.customers.clone_from(&routes[v]);
                if single.is_feasible(&routes) {
                    let cost = problem.routes_cost(&routes);
                    best_route = Some(best_route.map_or(cost, |b: i64| b.min(cost)));
                }
            }
            match best_route {
                Some(cost) => total += cost,
                None => {
                    total = -1;
                    break;
                }
            }
        }
        if total >= 0 {
            best = Some(best.map_or(total, |b| b.min(total)));
        }
    }
    best
}

#[test]
fn solutions_of_random_instances_are_feasible_and_report_their_true_cost() {
    let mut rng = Pcg64::seed_from_u64(7);
    for case in 0..6 {
        let problem = random_problem(&mut rng, 10 + 8 * case, 8, 40);
        let solution = solve(&problem, None, &mut rng, &mut stop_after(30)).expect("feasible");
        assert_sound(&problem, &solution);
    }
}

#[test]
fn tiny_instances_are_solved_to_optimality() {
    let mut rng = Pcg64::seed_from_u64(11);
    for case in 0..12 {
        let problem = random_problem(&mut rng, 3 + case % 4, 2, 20);
        let optimum = brute_force(&problem);
        let solution = solve(&problem, None, &mut rng, &mut stop_after(40));
        match optimum {
            Some(optimum) => {
                let solution = solution.expect("a feasible solution exists");
                assert_sound(&problem, &solution);
                assert_eq!(solution.cost, optimum, "case {case}");
            }
            None => assert_eq!(solution, Err(VrptwError::NoFeasibleSolution)),
        }
    }
}

#[test]
fn pinned_visits_are_served_by_their_vehicle() {
    let mut rng = Pcg64::seed_from_u64(5);
    let mut problem = random_problem(&mut rng, 30, 4, 60);
    for c in (1..problem.nodes).step_by(3) {
        problem.allowed[c] = Some(vec![c % 4]);
    }
    problem.allowed[2] = Some(vec![1, 3]);
    let solution = solve(&problem, None, &mut rng, &mut stop_after(50)).expect("feasible");
    assert_sound(&problem, &solution);
    for (v, route) in solution.routes.iter().enumerate() {
        for &c in route {
            if let Some(allowed) = &problem.allowed[c] {
                assert!(allowed.contains(&v), "customer {c} on vehicle {v}");
            }
        }
    }
}

#[test]
fn vehicles_start_and_end_at_their_own_home_bases_within_their_shifts() {
    let mut rng = Pcg64::seed_from_u64(9);
    // Nodes 0..3 become home bases (no demand, no service); customers are 3..; shifts differ.
    let mut problem = random_problem(&mut rng, 25, 3, 100);
    problem.customers = (3..problem.nodes).collect();
    for base in 0..3 {
        problem.demand[base] = 0;
        problem.service[base] = 0;
        problem.ready[base] = 0;
        problem.due[base] = 10_000;
    }
    problem.vehicles = vec![
        Vehicle {
            start: 0,
            end: 1,
            shift_start: 0,
            shift_end: 6_000,
            capacity: 100,
        },
        Vehicle {
            start: 1,
            end: 1,
            shift_start: 2_000,
            shift_end: 10_000,
            capacity: 100,
        },
        Vehicle {
            start: 2,
            end: 0,
            shift_start: 0,
            shift_end: 10_000,
            capacity: 100,
        },
    ];
    for c in 3..problem.nodes {
        problem.ready[c] = problem.ready[c].min(7_000);
        problem.due[c] = problem.due[c].max(problem.ready[c] + 1_500).min(8_500);
    }
    let solution = solve(&problem, None, &mut rng, &mut stop_after(60)).expect("feasible");
    assert_sound(&problem, &solution);
}

#[test]
fn a_feasible_warm_start_is_never_worsened() {
    let mut rng = Pcg64::seed_from_u64(21);
    let problem = random_problem(&mut rng, 40, 10, 50);
    let first = solve(&problem, None, &mut rng, &mut stop_after(100)).expect("feasible");
    for calls in [0, 1, 5, 40] {
        let again = solve(&problem, Some(&first), &mut rng, &mut stop_after(calls))
            .expect("the warm start is feasible");
        assert_sound(&problem, &again);
        assert!(again.cost <= first.cost);
    }
}

#[test]
fn an_incomplete_warm_start_seeds_the_search_for_a_plan_with_every_visit() {
    let mut rng = Pcg64::seed_from_u64(22);
    let mut problem = random_problem(&mut rng, 30, 6, 60);
    let first = solve(&problem, None, &mut rng, &mut stop_after(100)).expect("feasible");
    // A new booking (the last customer leaves the old plan) and a visit now pinned to vehicle 5.
    let booked = problem.nodes - 1;
    let mut plan = first.clone();
    for route in &mut plan.routes {
        route.retain(|&c| c != booked);
    }
    let pinned = plan
        .routes
        .iter()
        .flatten()
        .copied()
        .find(|&c| c != booked)
        .expect("a visit");
    problem.allowed[pinned] = Some(vec![5]);
    plan.routes[0].push(pinned);
    let again = solve(&problem, Some(&plan), &mut rng, &mut stop_after(5)).expect("feasible");
    assert_sound(&problem, &again);
    assert!(again.routes[5].contains(&pinned));
}

#[test]
fn a_window_no_vehicle_can_meet_makes_the_problem_infeasible() {
    let mut rng = Pcg64::seed_from_u64(3);
    let mut problem = random_problem(&mut rng, 8, 3, 50);
    problem.ready[4] = 0;
    problem.due[4] = problem.cost(0, 4) - 1;
    assert_eq!(
        solve(&problem, None, &mut rng, &mut stop_after(20)),
        Err(VrptwError::NoFeasibleSolution)
    );
    // A visit pinned to no vehicle cannot be served either.
    let mut problem = random_problem(&mut rng, 8, 3, 50);
    problem.allowed[2] = Some(Vec::new());
    assert_eq!(
        solve(&problem, None, &mut rng, &mut stop_after(20)),
        Err(VrptwError::NoFeasibleSolution)
    );
    // Nor a customer listed twice.
    let mut problem = random_problem(&mut rng, 8, 3, 50);
    problem.customers.push(3);
    assert_eq!(
        solve(&problem, None, &mut rng, &mut stop_after(20)),
        Err(VrptwError::NoFeasibleSolution)
    );
}

#[test]
fn the_same_seed_and_stop_answers_give_the_same_solution() {
    let problem = random_problem(&mut Pcg64::seed_from_u64(1), 50, 10, 50);
    let run = || {
        solve(
            &problem,
            None,
            &mut Pcg64::seed_from_u64(99),
            &mut stop_after(60),
        )
        .expect("feasible")
    };
    assert_eq!(run(), run());
}

#[test]
fn a_problem_without_customers_is_solved_by_empty_routes() {
    let mut problem = random_problem(&mut Pcg64::seed_from_u64(2), 4, 3, 10);
    problem.customers.clear();
    let solution = solve(
        &problem,
        None,
        &mut Pcg64::seed_from_u64(2),
        &mut stop_after(0),
    )
    .expect("trivially feasible");
    assert_eq!(solution.routes, vec![Vec::<usize>::new(); 3]);
    assert_eq!(solution.cost, 0);
}

/// Reading the benchmark's VRPLIB files with the DIMACS conventions (tenths, truncated).
mod benchmark {
    use super::*;
    use std::path::Path;
    use std::time::Instant;

    const DATA: &str = "/work/shared/data/vrptw";

    /// CPU time of this thread so far (Linux, 10 ms resolution), so that budgets hold on a busy machine.
    fn thread_cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux /proc");
        // The fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
        let after = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 =
            fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
        ticks / 100.0
    }

    /// Parses a VRPLIB CVRPTW file into a problem in tenths.
    fn read(path: &Path) -> Problem {
        let text = std::fs::read_to_string(path).expect("readable instance");
        let mut lines = text.lines();
        let (mut dimension, mut vehicles, mut capacity, mut service_time) = (0, 0, 0, 0);
        let (mut xy, mut demand, mut windows, mut service) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut section = "";
        for line in lines.by_ref() {
            let line = line.trim();
            if let Some((key, value)) = line.split_once(':') {
                let value = value.trim();
                match key.trim() {
                    "DIMENSION" => dimension = value.parse().expect("dimension"),
                    "VEHICLES" => vehicles = value.parse().expect("vehicles"),
                    "CAPACITY" => capacity = value.parse().expect("capacity"),
                    "SERVICE_TIME" => service_time = value.parse().expect("service"),
                    _ => {}
                }
                continue;
            }
            if line.ends_with("SECTION") || line == "EOF" {
                section = if line == "EOF" { "" } else { line };
                continue;
            }
            let numbers: Vec<i64> = line
                .split_whitespace()
                .map(|t| t.parse::<f64>().expect("number") as i64)
                .collect();
            match section {
                "NODE_COORD_SECTION" => xy.push((numbers[1], numbers[2])),
                "DEMAND_SECTION" => demand.push(numbers[1]),
                "TIME_WINDOW_SECTION" => windows.push((numbers[1], numbers[2])),
                "SERVICE_TIME_SECTION" => service.push(numbers[1]),
                _ => {}
            }
        }
        let n: usize = dimension;
        let mut cost = vec![0; n * n];
        for i in 0..n {
            for j in 0..n {
                let (dx, dy) = ((xy[i].0 - xy[j].0) as f64, (xy[i].1 - xy[j].1) as f64);
                cost[i * n + j] = (10.0 * (dx * dx + dy * dy).sqrt()) as i64;
            }
        }
        let service: Vec<i64> = (0..n)
            .map(|i| {
                if i == 0 {
                    0
                } else {
                    10 * service.get(i).copied().unwrap_or(service_time)
                }
            })
            .collect();
        Problem {
            nodes: n,
            time: cost.clone(),
            cost,
            demand,
            ready: windows.iter().map(|w| 10 * w.0).collect(),
            due: windows.iter().map(|w| 10 * w.1).collect(),
            service,
            customers: (1..n).collect(),
            vehicles: vec![
                Vehicle {
                    start: 0,
                    end: 0,
                    shift_start: 10 * windows[0].0,
                    shift_end: 10 * windows[0].1,
                    capacity,
                };
                vehicles
            ],
            allowed: vec![None; n],
        }
    }

    /// Solves the instances named by `VRPTW_INSTANCES` (comma-separated, e.g. `C101,R1_2_1`; default a spread
    /// of families) for `VRPTW_SECONDS` of this thread's CPU time each (default 5 for Solomon, 10 for GH200) and prints the
    /// gap to the best known distance.
    #[test]
    #[ignore = "needs the benchmark data and minutes of CPU; run with --ignored --nocapture"]
    fn gaps_to_the_best_known_solutions() {
        let bks_path = Path::new(DATA).join("bks_dimacs_distance.tsv");
        let Ok(bks) = std::fs::read_to_string(&bks_path) else {
            println!("no benchmark data at {DATA}; skipped");
            return;
        };
        let names = std::env::var("VRPTW_INSTANCES")
            .unwrap_or_else(|_| "C101,C201,R101,R201,RC101,RC201,R1_2_1,RC2_2_5".to_owned());
        let seconds: Option<f64> = std::env::var("VRPTW_SECONDS")
            .ok()
            .map(|s| s.parse().expect("seconds"));
        // `VRPTW_PARAMS="granularity=30,generation=40"` overrides the defaults, for tuning.
        let mut params = SolveParams::default();
        for setting in std::env::var("VRPTW_PARAMS").unwrap_or_default().split(',') {
            let Some((key, value)) = setting.split_once('=') else {
                continue;
            };
            let int = || value.parse::<usize>().expect("an integer");
            let real = || value.parse::<f64>().expect("a number");
            match key {
                "granularity" => params.granularity = int(),
                "min_population" => params.min_population = int(),
                "generation" => params.generation = int(),
                "elite" => params.elite = int(),
                "close" => params.close = int(),
                "target_feasible" => params.target_feasible = real(),
                "repair_probability" => params.repair_probability = real(),
                "restart_after" => params.restart_after = int() as u64,
                _ => panic!("unknown parameter {key}"),
            }
        }
        println!("{params:?}");
        let mut gaps: Vec<(String, f64)> = Vec::new();
        for name in names.split(',') {
            let row = bks
                .lines()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .find(|r| r.get(1) == Some(&name))
                .expect("instance in the BKS table");
            let (set, best): (&str, f64) = (row[0], row[6].parse().expect("bks"));
            let problem = read(&Path::new(DATA).join(set).join(format!("{name}.vrp")));
            let budget = seconds.unwrap_or(if set == "Solomon" { 5.0 } else { 10.0 });
            let start = Instant::now();
            let cpu_start = thread_cpu_seconds();
            let seed = std::env::var("VRPTW_SEED").map_or(1, |s| s.parse().expect("a seed"));
            let mut rng = Pcg64::seed_from_u64(seed);
            let solution = solve_with(
                &problem,
                None,
                &mut rng,
                &mut || thread_cpu_seconds() - cpu_start >= budget,
                &params,
            );
            match solution {
                Ok((s, stats)) => {
                    assert_sound(&problem, &s);
                    let gap = 100.0 * (s.cost as f64 / 10.0 - best) / best;
                    let routes = s.routes.iter().filter(|r| !r.is_empty()).count();
                    println!(
                        "{name:10} {:9.1} bks {best:9.1} gap {gap:6.2}% routes {routes} in {:.1}s CPU ({:.1}s wall), {} iterations",
                        s.cost as f64 / 10.0,
                        thread_cpu_seconds() - cpu_start,
                        start.elapsed().as_secs_f64(),
                        stats.iterations
                    );
                    gaps.push((name.to_owned(), gap));
                }
                Err(e) => println!("{name:10} {e}"),
            }
        }
        let mut families: Vec<(String, Vec<f64>)> = Vec::new();
        for (name, gap) in &gaps {
            let family: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect::<String>()
                + &name[name.find(|c: char| c.is_ascii_digit()).unwrap_or(0)..][..1]
                + if name.contains('_') { "_200" } else { "" };
            match families.iter_mut().find(|(f, _)| *f == family) {
                Some((_, v)) => v.push(*gap),
                None => families.push((family, vec![*gap])),
            }
        }
        for (family, v) in &families {
            println!(
                "family {family:4} n={:2} mean gap {:6.2}%",
                v.len(),
                v.iter().sum::<f64>() / v.len() as f64
            );
        }
        let all: Vec<f64> = gaps.iter().map(|g| g.1).collect();
        if !all.is_empty() {
            println!(
                "all n={} mean gap {:.2}%",
                all.len(),
                all.iter().sum::<f64>() / all.len() as f64
            );
        }
    }
}
