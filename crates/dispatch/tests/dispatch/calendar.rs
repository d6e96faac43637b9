//! The availability check of house calls: a visit fits a provider's day only with time to drive to it from
//! the visit before (or home) and on to the next (or home) within the working interval.

use doorstep_dispatch::TravelTime;
use doorstep_dispatch::calendar::{Interval, Visit, WorkDay, fits, within_hours};

/// Points on a line, one second of driving per unit.
struct Line;

impl TravelTime for Line {
    type Place = f64;

    fn travel_secs(&self, from: &f64, to: &f64, _depart: f64) -> Option<f64> {
        Some((from - to).abs())
    }
}

fn day(visits: Vec<Visit<f64>>) -> WorkDay<f64> {
    WorkDay {
        home: 0.0,
        intervals: vec![Interval {
            from: 0.0,
            to: 1000.0,
            visits,
        }],
        cap: 3,
        visits: 0,
    }
}

#[test]
fn a_visit_fits_only_with_time_to_drive_from_home_and_to_the_next_visit() {
    let empty = day(vec![]);
    // Home is at 0: a visit 50 away cannot start before 50, and must be back home by 1000.
    assert_eq!(fits(&empty, &Line, 50.0, 49.0, 10.0), None);
    assert_eq!(fits(&empty, &Line, 50.0, 50.0, 10.0), Some(110.0));
    assert_eq!(fits(&empty, &Line, 50.0, 940.0, 10.0), Some(1000.0));
    assert_eq!(
        fits(&empty, &Line, 50.0, 941.0, 10.0),
        None,
        "no time to drive home"
    );
    // A booked visit at 100..200 at place 100.
    let booked = day(vec![Visit {
        place: 100.0,
        start: 100.0,
        end: 200.0,
    }]);
    // At place 300: after the booked one, not before 200 + 200 of driving.
    assert_eq!(fits(&booked, &Line, 300.0, 399.0, 10.0), None);
    assert!(fits(&booked, &Line, 300.0, 400.0, 10.0).is_some());
    // Before it, from home: 300 away at 0..10 leaves no time to reach place 100 by 100 (needs 200).
    assert_eq!(fits(&booked, &Line, 300.0, 300.0, 10.0), None);
    // At the same place right after: no drive needed.
    assert!(fits(&booked, &Line, 100.0, 200.0, 10.0).is_some());
    // Overlapping the booked visit: never.
    assert_eq!(fits(&booked, &Line, 100.0, 150.0, 10.0), None);
}

#[test]
fn the_cap_and_the_working_intervals_bound_the_day() {
    let mut full = day(vec![]);
    full.visits = 3;
    assert_eq!(fits(&full, &Line, 10.0, 100.0, 10.0), None);
    let split = WorkDay {
        home: 0.0,
        intervals: vec![
            Interval {
                from: 0.0,
                to: 100.0,
                visits: vec![],
            },
            Interval {
                from: 200.0,
                to: 300.0,
                visits: vec![],
            },
        ],
        cap: 3,
        visits: 0,
    };
    assert!(within_hours(&split, 10.0, 50.0));
    assert!(!within_hours(&split, 90.0, 50.0), "across the break");
    assert_eq!(fits(&split, &Line, 10.0, 90.0, 20.0), None);
    assert!(fits(&split, &Line, 10.0, 220.0, 20.0).is_some());
}
