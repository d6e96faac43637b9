//! Solutions in the mdrplib format (`solution_info_assignments.txt`, `solution_info_orders.txt`,
//! `solution_info_couriers.txt`, space-separated, a header line each), and a check of a solution
//! written in it against the evaluator's eight conditions, read back from the text alone.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::engine::{Outcome, Stop};
use super::instance::{Instance, Loc};

/// A time as the files write it: a whole minute without decimals, otherwise two decimals.
fn time(t: f64) -> String {
    if t.fract() == 0.0 && t.abs() < 1e15 {
        format!("{t:.0}")
    } else {
        format!("{t:.2}")
    }
}

fn stop_id(inst: &Instance, s: Stop) -> &str {
    match s {
        Stop::Start => "0",
        Stop::Restaurant(r) => &inst.restaurants[r].id,
        Stop::Customer(o) => &inst.orders[o].id,
    }
}

/// The three files of a solution: (assignments, orders, couriers).
pub fn write(inst: &Instance, outcome: &Outcome) -> (String, String, String) {
    let mut assignments = String::from("assignment_time pickup_time courier orders\n");
    for a in &outcome.assignments {
        let _ = write!(
            assignments,
            "{} {} {}",
            time(a.at),
            time(a.pickup),
            inst.couriers[a.courier].id
        );
        for &o in &a.orders {
            let _ = write!(assignments, " {}", inst.orders[o].id);
        }
        assignments.push('\n');
    }
    let mut orders =
        String::from("order placement_time ready_time pickup_time dropoff_time courier\n");
    for (o, d) in outcome.deliveries.iter().enumerate() {
        if let Some(d) = d {
            let order = &inst.orders[o];
            let _ = writeln!(
                orders,
                "{} {} {} {} {} {}",
                order.id,
                time(order.placement),
                time(order.ready),
                time(d.pickup),
                time(d.dropoff),
                inst.couriers[d.courier].id
            );
        }
    }
    let mut couriers = String::from("courier departure_time origin destination\n");
    for (c, moves) in outcome.moves.iter().enumerate() {
        for m in moves {
            let _ = writeln!(
                couriers,
                "{} {} {} {}",
                inst.couriers[c].id,
                time(m.depart),
                stop_id(inst, m.from),
                stop_id(inst, m.to)
            );
        }
    }
    (assignments, orders, couriers)
}

/// Checks a written solution against the evaluator's conditions: each order in at most one
/// assignment; no assignment before its orders are placed; every pickup by the courier's
/// off-time; every pickup at or after the ready times of its orders; drop-offs in the bundle's
/// order, a service time apart; courier moves continuous and consistent in time; the courier at
/// the restaurant at each pickup and at the customer at each drop-off. Returns the violations
/// found (empty: feasible).
pub fn check(inst: &Instance, assignments: &str, orders: &str, couriers: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let order_ix: HashMap<&str, usize> = inst
        .orders
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.as_str(), i))
        .collect();
    let courier_ix: HashMap<&str, usize> = inst
        .couriers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let restaurant_ix: HashMap<&str, usize> = inst
        .restaurants
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    let p = &inst.params;

    // Per courier: a timeline of (time, place id or "" while driving), as the evaluator builds it.
    let mut timeline: HashMap<&str, (Vec<f64>, Vec<String>)> = HashMap::new();
    for line in couriers.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            bad.push(format!("courier line {line:?}: too few fields"));
            continue;
        }
        let Some(&c) = courier_ix.get(f[0]) else {
            bad.push(format!("unknown courier {}", f[0]));
            continue;
        };
        let entry = timeline
            .entry(f[0])
            .or_insert_with(|| (vec![inst.couriers[c].on], vec![f[0].to_owned()]));
        let origin = if f[2] == "0" { f[0] } else { f[2] };
        if entry.1.last().map(String::as_str) != Some(origin) {
            bad.push(format!(
                "{}: leaves {} but is at {:?}",
                f[0],
                origin,
                entry.1.last()
            ));
        }
        let loc_of = |id: &str| -> Option<Loc> {
            if id == f[0] {
                Some(inst.couriers[c].loc)
            } else if let Some(&o) = order_ix.get(id) {
                Some(inst.orders[o].loc)
            } else {
                restaurant_ix.get(id).map(|&r| inst.restaurants[r].loc)
            }
        };
        let (Some(a), Some(b)) = (loc_of(origin), loc_of(f[3])) else {
            bad.push(format!("{}: unknown place in {line:?}", f[0]));
            continue;
        };
        let depart = num(f[1]);
        if entry.0.last().is_some_and(|&t| depart < t) {
            bad.push(format!("{}: departs at {depart} before it arrives", f[0]));
        }
        entry.0.push(depart);
        entry.1.push(String::new());
        entry.0.push(depart + inst.travel_min(a, b));
        entry.1.push(f[3].to_owned());
    }
    // Where the courier is at `t`: the place of the last timeline entry strictly before `t`.
    let place_at = |courier: &str, t: f64| -> Option<String> {
        let (times, places) = timeline.get(courier)?;
        let i = times.partition_point(|&x| x < t);
        i.checked_sub(1).map(|i| places[i].clone())
    };

    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut bundles: Vec<(f64, Vec<usize>)> = Vec::new();
    for line in assignments.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            bad.push(format!("assignment line {line:?}: too few fields"));
            continue;
        }
        let (at, pickup) = (num(f[0]), num(f[1]));
        let Some(&c) = courier_ix.get(f[2]) else {
            bad.push(format!("unknown courier {}", f[2]));
            continue;
        };
        if pickup > inst.couriers[c].off {
            bad.push(format!("{}: pickup at {pickup} after its off-time", f[2]));
        }
        let mut bundle = Vec::new();
        for id in &f[3..] {
            let Some(&o) = order_ix.get(id) else {
                bad.push(format!("unknown order {id}"));
                continue;
            };
            *seen.entry(o).or_default() += 1;
            let order = &inst.orders[o];
            if at < order.placement {
                bad.push(format!("{id} assigned at {at} before its placement"));
            }
            if pickup < order.ready {
                bad.push(format!("{id} picked up at {pickup} before it is ready"));
            }
            bundle.push(o);
        }
        if let Some(&o) = bundle.first() {
            let r = &inst.restaurants[inst.orders[o].restaurant].id;
            if place_at(f[2], pickup).as_deref() != Some(r.as_str()) {
                bad.push(format!("{}: not at {r} at pickup {pickup}", f[2]));
            }
        }
        bundles.push((pickup, bundle));
    }
    for (o, n) in &seen {
        if *n > 1 {
            bad.push(format!("{} in {n} assignments", inst.orders[*o].id));
        }
    }

    let mut dropoff: HashMap<usize, f64> = HashMap::new();
    for line in orders.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            bad.push(format!("order line {line:?}: too few fields"));
            continue;
        }
        let Some(&o) = order_ix.get(f[0]) else {
            bad.push(format!("unknown order {}", f[0]));
            continue;
        };
        let drop = num(f[4]);
        dropoff.insert(o, drop);
        if place_at(f[5], drop).as_deref() != Some(f[0]) {
            bad.push(format!(
                "{}: courier {} not there at drop-off {drop}",
                f[0], f[5]
            ));
        }
    }
    for (_, bundle) in &bundles {
        let mut last: Option<f64> = None;
        for o in bundle {
            let Some(&d) = dropoff.get(o) else {
                bad.push(format!(
                    "{} assigned but not dropped off",
                    inst.orders[*o].id
                ));
                continue;
            };
            if last.is_some_and(|l| d < l + p.dropoff_service_min) {
                bad.push(format!(
                    "{} dropped off out of sequence",
                    inst.orders[*o].id
                ));
            }
            last = Some(d);
        }
    }
    bad
}
