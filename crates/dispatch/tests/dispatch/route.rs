//! The route model: `best_insertion` against an independent brute force, the empty route against
//! the pickup ETA, capacity and time windows.

use super::common::{CITY, Pt, ride};
use doorstep_dispatch::{Route, RouteStop, TravelTime, Window, best_insertion};
use proptest::prelude::*;

fn pt() -> impl Strategy<Value = Pt> {
    (0.0..6.0f64, 0.0..6.0f64).prop_map(|(x, y)| Pt(x, y))
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::ANY),
        (0.0..3000.0f64, 0.0..3000.0f64).prop_map(|(a, len)| Window {
            earliest: a,
            latest: a + len
        }),
    ]
}

fn stop(job: u32, load: i32) -> impl Strategy<Value = RouteStop<u32, Pt>> {
    (pt(), window(), 0.0..300.0f64).prop_map(move |(place, window, service_secs)| RouteStop {
        job,
        place,
        window,
        service_secs,
        load,
    })
}

/// A route of up to three existing jobs' remaining stops (pickups and drop-offs in order).
fn route() -> impl Strategy<Value = Route<u32, Pt>> {
    (
        pt(),
        0.0..600.0f64,
        1..4i32,
        prop::collection::vec((stop(1, 1), stop(1, -1), any::<bool>()), 0..3),
    )
        .prop_map(|(start, start_at, capacity, jobs)| {
            let mut stops = Vec::new();
            let mut start_load = 0;
            for (i, (mut p, mut d, on_board)) in jobs.into_iter().enumerate() {
                let job = 10 + u32::try_from(i).expect("a few jobs");
                d.job = job;
                p.job = job;
                if on_board && start_load < capacity {
                    // Already picked up: only its drop-off remains.
                    start_load += 1;
                    stops.push(d);
                } else {
                    stops.push(p);
                    stops.push(d);
                }
            }
            Route {
                start,
                start_at,
                start_load,
                capacity,
                stops,
            }
        })
}

/// The brute force: every way to interleave the job's stops (in order) with the route's, simulated
/// here from scratch; the least end time among feasible ones, with the arrival at the job's first
/// stop.
fn brute_force(route: &Route<u32, Pt>, job: &[RouteStop<u32, Pt>]) -> Option<(f64, f64)> {
    let n = route.stops.len();
    let simulate = |seq: &[(bool, usize)]| -> Option<(f64, Vec<f64>, f64)> {
        let (mut at, mut t, mut load) = (route.start, route.start_at, route.start_load);
        let mut old_arrivals = Vec::new();
        let mut first = f64::NAN;
        for &(new, i) in seq {
            let s = if new { job[i] } else { route.stops[i] };
            let arrival = t + CITY.travel_secs(&at, &s.place, t)?;
            if new && arrival > s.window.latest {
                return None;
            }
            if new && i == 0 {
                first = arrival;
            }
            if !new {
                old_arrivals.push(arrival);
            }
            t = arrival.max(s.window.earliest) + s.service_secs;
            at = s.place;
            load += s.load;
            if load < 0 || load > route.capacity {
                return None;
            }
        }
        Some((t, old_arrivals, first))
    };
    let base: Vec<(bool, usize)> = (0..n).map(|i| (false, i)).collect();
    let (base_end, base_arrivals, _) = {
        // The base route as it is: its own lateness and load are given.
        let (mut at, mut t) = (route.start, route.start_at);
        let mut arrivals = Vec::new();
        for &(_, i) in &base {
            let s = route.stops[i];
            let arrival = t + CITY.secs(at, s.place);
            arrivals.push(arrival);
            t = arrival.max(s.window.earliest) + s.service_secs;
            at = s.place;
        }
        (t, arrivals, 0.0)
    };
    let mut best: Option<(f64, f64)> = None;
    // Choose positions for the job's stops among n + k slots, preserving both orders.
    let k = job.len();
    let total = n + k;
    for mask in 0u32..(1 << total) {
        if mask.count_ones() as usize != k {
            continue;
        }
        let mut seq = Vec::new();
        let (mut ni, mut oi) = (0, 0);
        for bit in 0..total {
            if mask & (1 << bit) != 0 {
                seq.push((true, ni));
                ni += 1;
            } else {
                seq.push((false, oi));
                oi += 1;
            }
        }
        let Some((end, arrivals, first)) = simulate(&seq) else {
            continue;
        };
        let late = arrivals
            .iter()
            .zip(&base_arrivals)
            .zip(&route.stops)
            .any(|((a, b), s)| *a > s.window.latest.max(*b) + 1e-9);
        if late {
            continue;
        }
        let added = end - base_end;
        if best.is_none_or(|(b, _)| added < b - 1e-9) {
            best = Some((added, first));
        }
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// On an empty route a job's detour is the drive to its first stop: today's pickup ETA.
    #[test]
    fn on_an_empty_route_the_detour_is_the_pickup_eta(
        start in pt(), pickup in pt(), dropoff in pt(), at in 0.0..1000.0f64,
    ) {
        let route: Route<u32, Pt> = Route::empty(start, at, 1);
        let job = ride(1, pickup, dropoff, Window::ANY);
        let ins = best_insertion(&route, &job, &CITY).expect("an empty route takes a ride");
        prop_assert_eq!(ins.positions, vec![0, 0]);
        let eta = CITY.secs(start, pickup);
        prop_assert!((ins.detour_secs - eta).abs() < 1e-6, "{} vs {}", ins.detour_secs, eta);
        prop_assert!((ins.first_arrival - (at + eta)).abs() < 1e-6);
    }

    /// The best insertion ends the route as early as any feasible interleaving, and inserting it
    /// gives a route whose new stops keep their windows and whose load stays in bounds.
    #[test]
    fn best_insertion_is_as_good_as_every_interleaving(
        route in route(), pickup in stop(1, 1), dropoff in stop(1, -1), one_stop in any::<bool>(),
    ) {
        let job: Vec<RouteStop<u32, Pt>> = if one_stop {
            vec![RouteStop { load: 0, ..pickup }]
        } else {
            vec![pickup, dropoff]
        };
        let found = best_insertion(&route, &job, &CITY);
        let oracle = brute_force(&route, &job);
        match (&found, oracle) {
            (None, None) => {}
            (Some(ins), Some((added, _))) => {
                prop_assert!((ins.added_secs - added).abs() < 1e-6, "{} vs oracle {}", ins.added_secs, added);
                let mut with = route.clone();
                with.insert(&job, &ins.positions);
                prop_assert_eq!(with.stops.len(), route.stops.len() + job.len());
                let kept: Vec<_> = with.stops.iter().filter(|s| s.job == 1).map(|s| s.load).collect();
                let wanted: Vec<_> = job.iter().map(|s| s.load).collect();
                prop_assert_eq!(kept, wanted, "the job's stops keep their order");
            }
            (f, o) => prop_assert!(false, "found {:?}, oracle {:?}", f, o),
        }
    }
}

#[test]
fn a_full_car_drops_its_passenger_before_the_next_pickup() {
    let mut route: Route<u32, Pt> = Route::empty(Pt(0.0, 0.0), 0.0, 1);
    route.start_load = 1;
    route
        .stops
        .push(ride(7, Pt(0.0, 0.0), Pt(3.0, 0.0), Window::ANY)[1]);
    // The new pickup is on the way, but the car is full until the drop-off.
    let job = ride(8, Pt(1.0, 0.0), Pt(4.0, 0.0), Window::ANY);
    let ins = best_insertion(&route, &job, &CITY).expect("after the drop-off");
    assert_eq!(ins.positions, vec![1, 1]);
    // With two seats it pools on the way.
    route.capacity = 2;
    let ins = best_insertion(&route, &job, &CITY).expect("pooled");
    assert_eq!(ins.positions, vec![0, 1]);
}

#[test]
fn a_pickup_window_out_of_reach_has_no_insertion_and_a_later_one_waits() {
    let route: Route<u32, Pt> = Route::empty(Pt(0.0, 0.0), 0.0, 1);
    // 2 km away is 400 s; the window closes at 300 s.
    let late = ride(
        1,
        Pt(2.0, 0.0),
        Pt(3.0, 0.0),
        Window {
            earliest: 0.0,
            latest: 300.0,
        },
    );
    assert_eq!(best_insertion(&route, &late, &CITY), None);
    // A house call booked at 1000 s: the worker arrives at 400 s and waits; the wait is detour.
    let call = [RouteStop {
        job: 2,
        place: Pt(2.0, 0.0),
        window: Window {
            earliest: 1000.0,
            latest: 1200.0,
        },
        service_secs: 3600.0,
        load: 0,
    }];
    let ins = best_insertion(&route, &call, &CITY).expect("reachable before the slot");
    assert!((ins.first_arrival - 400.0).abs() < 1e-9);
    assert!(
        (ins.detour_secs - 1000.0).abs() < 1e-9,
        "{}",
        ins.detour_secs
    );
    assert!((ins.added_secs - 4600.0).abs() < 1e-9);
}

#[test]
fn a_route_running_late_takes_a_job_only_if_no_late_stop_gets_later() {
    let mut route: Route<u32, Pt> = Route::empty(Pt(0.0, 0.0), 0.0, 2);
    // A drop-off due by 100 s that is 400 s away: already late.
    route.start_load = 1;
    route.stops.push(RouteStop {
        job: 5,
        place: Pt(2.0, 0.0),
        window: Window {
            earliest: 0.0,
            latest: 100.0,
        },
        service_secs: 0.0,
        load: -1,
    });
    let job = ride(6, Pt(1.0, 1.0), Pt(1.0, 2.0), Window::ANY);
    let ins = best_insertion(&route, &job, &CITY).expect("after the late drop-off");
    assert_eq!(ins.positions, vec![1, 1]);
    assert!(
        route.schedule(&CITY).is_none(),
        "the route itself misses a window"
    );
}
