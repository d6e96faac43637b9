//! Tests of the demo's pure logic (schedule, motion, KPIs, formats) and of how `run` behaves
//! without a server. The demo against a live server is tested by the integrator.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use doorstep_demo::clock::rfc3339;
use doorstep_demo::kpis::{
    FoodKpis, HouseCallKpis, KpiBoard, Kpis, OrderEnd, OrderTracker, RidePhase, RideTracker,
};
use doorstep_demo::motion::{Leg, StreetGrid};
use doorstep_demo::schedule::{
    RiderSchedule, WEEKS_OF_DATA, WINDOW_SECS, arrival_rate_per_sec, demand_weekday,
};
use doorstep_demo::seed::{Stream, derive_seed};
use doorstep_demo::{DEFAULT_DEMAND_SCALE, DEFAULT_DRIVERS, DemoConfig, DemoError};
use doorstep_geo::{City, LocalTime, Utm, new_york_local, to_latlng};

/// Wednesday 2026-11-25 18:00 in New York (23:00 UTC, standard time).
const WEDNESDAY_6PM: f64 = 1_795_647_600.0;
/// Saturday 2026-11-28 12:00 in New York (17:00 UTC).
const SATURDAY_NOON: f64 = 1_795_885_200.0;

fn city() -> &'static City {
    City::manhattan()
}

#[test]
fn the_arrival_rate_is_one_weekday_window_of_2018_spread_over_its_fifteen_minutes() {
    let local = new_york_local(WEDNESDAY_6PM as i64);
    assert_eq!((local.weekday, local.window()), (2, 72));
    let trips = f64::from(city().demand().trips_in_window(2, 72));
    assert!(trips > 0.0);
    let rate = arrival_rate_per_sec(city().demand(), local, 0.025);
    let expected = trips / WEEKS_OF_DATA / WINDOW_SECS * 0.025;
    assert!((rate - expected).abs() < 1e-12, "{rate} vs {expected}");
    // At the default scale an evening peak brings a few requests a minute.
    assert!((0.05..0.5).contains(&rate), "{rate} requests per second");
}

#[test]
fn the_arrival_rate_is_proportional_to_the_demand_scale_and_zero_without_demand() {
    let local = new_york_local(WEDNESDAY_6PM as i64);
    let one = arrival_rate_per_sec(city().demand(), local, 1.0);
    let two = arrival_rate_per_sec(city().demand(), local, 2.0);
    assert!((two - 2.0 * one).abs() < 1e-12);
    assert_eq!(arrival_rate_per_sec(city().demand(), local, 0.0), 0.0);
    assert_eq!(arrival_rate_per_sec(city().demand(), local, -1.0), 0.0);
}

#[test]
fn saturday_takes_fridays_demand_and_sunday_takes_mondays() {
    assert_eq!(demand_weekday(5), 4);
    assert_eq!(demand_weekday(6), 0);
    for weekday in 0..=4 {
        assert_eq!(demand_weekday(weekday), weekday);
    }
    let saturday = new_york_local(SATURDAY_NOON as i64);
    assert_eq!(saturday.weekday, 5);
    let friday = LocalTime {
        weekday: 4,
        ..saturday
    };
    let sunday = LocalTime {
        weekday: 6,
        ..saturday
    };
    let monday = LocalTime {
        weekday: 0,
        ..saturday
    };
    let demand = city().demand();
    assert!(arrival_rate_per_sec(demand, saturday, 1.0) > 0.0);
    assert_eq!(
        arrival_rate_per_sec(demand, saturday, 1.0),
        arrival_rate_per_sec(demand, friday, 1.0)
    );
    assert_eq!(
        arrival_rate_per_sec(demand, sunday, 1.0),
        arrival_rate_per_sec(demand, monday, 1.0)
    );
}

#[test]
fn the_same_seed_gives_the_same_rider_schedule() {
    let a: Vec<_> = RiderSchedule::new(city(), WEDNESDAY_6PM, 0.025, 7)
        .take(300)
        .collect();
    let b: Vec<_> = RiderSchedule::new(city(), WEDNESDAY_6PM, 0.025, 7)
        .take(300)
        .collect();
    assert_eq!(a, b);
    let c: Vec<_> = RiderSchedule::new(city(), WEDNESDAY_6PM, 0.025, 8)
        .take(300)
        .collect();
    assert_ne!(a, c);
}

#[test]
fn scheduled_requests_are_ordered_indexed_and_inside_the_service_area() {
    let start = WEDNESDAY_6PM + 123.4;
    let requests: Vec<_> = RiderSchedule::new(city(), start, 0.05, 1)
        .take(500)
        .collect();
    assert_eq!(requests.len(), 500);
    let mut previous = start;
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(request.index, i as u64);
        assert!(request.at_unix >= previous, "requests go back in time");
        previous = request.at_unix;
        assert!(city().covers(to_latlng(request.pickup)));
        assert!(city().covers(to_latlng(request.dropoff)));
        // The pair was drawn from the trips of the request's own window.
        let local = new_york_local(request.at_unix.floor() as i64);
        let rows = city()
            .demand()
            .rows(demand_weekday(local.weekday), local.window());
        assert!(
            rows.iter()
                .any(|row| row.pickup == request.pickup_zone
                    && row.dropoff == request.dropoff_zone)
        );
    }
}

#[test]
fn the_schedule_brings_as_many_requests_as_the_demand_table_predicts() {
    // Two hours from Wednesday 18:00: the expected count is the sum of the eight windows' rates.
    let scale = 0.1;
    let hours = 2.0;
    let end = WEDNESDAY_6PM + hours * 3600.0;
    let expected: f64 = (0..8)
        .map(|w| {
            let local = new_york_local(WEDNESDAY_6PM as i64 + w * 900);
            arrival_rate_per_sec(city().demand(), local, scale) * WINDOW_SECS
        })
        .sum();
    let count = RiderSchedule::new(city(), WEDNESDAY_6PM, scale, 3)
        .take_while(|r| r.at_unix < end)
        .count() as f64;
    // A Poisson count: within four standard deviations.
    let tolerance = 4.0 * expected.sqrt();
    assert!(
        (count - expected).abs() < tolerance,
        "{count} requests, {expected:.0} expected"
    );
}

#[test]
fn the_schedule_follows_the_demand_curve_through_the_day() {
    // 04:00 is the quietest time of a Manhattan day, 18:00-19:00 among the busiest.
    let count_in_hour = |start: f64| {
        RiderSchedule::new(city(), start, 0.1, 5)
            .take_while(|r| r.at_unix < start + 3600.0)
            .count()
    };
    let four_am = WEDNESDAY_6PM - 14.0 * 3600.0;
    let night = count_in_hour(four_am);
    let evening = count_in_hour(WEDNESDAY_6PM);
    assert!(evening > 5 * night, "{night} at 4am, {evening} at 6pm");
}

#[test]
fn a_demand_scale_of_zero_schedules_nothing() {
    assert_eq!(
        RiderSchedule::new(city(), WEDNESDAY_6PM, 0.0, 1).next(),
        None
    );
}

#[test]
fn a_leg_starts_at_its_origin_and_ends_at_its_destination() {
    let grid = StreetGrid::of(city());
    let from = Utm {
        x: 585.5,
        y: 4511.0,
    };
    let to = Utm {
        x: 587.0,
        y: 4514.5,
    };
    let leg = Leg::new(&grid, from, to, 1000.0, 600.0);
    assert_eq!(leg.position_at(900.0), from);
    assert_eq!(leg.position_at(1000.0), from);
    assert_eq!(leg.position_at(1600.0), to);
    assert_eq!(leg.position_at(5000.0), to);
    assert_eq!(leg.arrives_at(), 1600.0);
    assert!(!leg.is_done(1599.0));
    assert!(leg.is_done(1600.0));
}

#[test]
fn a_leg_follows_the_street_grid_at_constant_speed() {
    let grid = StreetGrid::of(city());
    let from = Utm {
        x: 585.5,
        y: 4511.0,
    };
    let to = Utm {
        x: 587.0,
        y: 4514.5,
    };
    let leg = Leg::new(&grid, from, to, 0.0, 600.0);
    let l1 = city().l1_km(from, to);
    // Every step covers the same street-grid (L1) distance, also the one around the corner, and
    // the steps add up to the L1 distance of the city model.
    let steps = 600;
    let mut travelled = 0.0;
    let mut previous = from;
    for i in 1..=steps {
        let here = leg.position_at(f64::from(i));
        let step = city().l1_km(previous, here);
        assert!(
            (step - l1 / f64::from(steps)).abs() < 1e-9,
            "uneven step {step}"
        );
        travelled += step;
        previous = here;
    }
    assert!((travelled - l1).abs() < 1e-9, "{travelled} km vs {l1} km");
    // Halfway in time is halfway along the path.
    let half = leg.position_at(300.0);
    let so_far = city().l1_km(from, half);
    assert!((so_far - l1 / 2.0).abs() < 1e-9);
}

#[test]
fn a_planned_leg_lasts_the_city_mean_travel_time_at_that_time_of_day() {
    let grid = StreetGrid::of(city());
    let from = Utm {
        x: 585.5,
        y: 4511.0,
    };
    let to = Utm {
        x: 587.0,
        y: 4514.5,
    };
    let leg = Leg::plan(city(), &grid, from, to, WEDNESDAY_6PM);
    let seconds_of_day = new_york_local(WEDNESDAY_6PM as i64).seconds_of_day;
    let expected = city().mean_travel_secs(from, to, seconds_of_day);
    assert!((leg.duration_s() - expected).abs() < 1e-9);
    assert!(expected > 60.0);
    assert_eq!(leg.destination(), to);
}

#[test]
fn a_leg_without_distance_or_duration_is_already_there() {
    let grid = StreetGrid::of(city());
    let here = Utm {
        x: 586.0,
        y: 4512.0,
    };
    let there = Utm {
        x: 586.5,
        y: 4512.0,
    };
    let still = Leg::new(&grid, here, here, 0.0, 100.0);
    assert_eq!(still.position_at(50.0), here);
    let instant = Leg::new(&grid, here, there, 0.0, 0.0);
    assert_eq!(instant.position_at(0.0), there);
    let broken = Leg::new(&grid, here, there, 0.0, f64::NAN);
    assert_eq!(broken.position_at(0.0), there);
}

#[test]
fn a_ride_is_counted_once_however_often_its_states_are_observed() {
    let board = Arc::new(KpiBoard::default());
    let mut tracker = RideTracker::new(Arc::clone(&board));
    tracker.observe(RidePhase::Requested, None);
    tracker.observe(RidePhase::Requested, None);
    assert_eq!(board.snapshot().open_requests, 1);
    tracker.observe(RidePhase::Assigned, Some(240.0));
    tracker.observe(RidePhase::Assigned, Some(999.0));
    // A stale poll saying "requested" does not move it back.
    tracker.observe(RidePhase::Requested, None);
    tracker.observe(RidePhase::InProgress, None);
    tracker.observe(RidePhase::Completed, None);
    tracker.observe(RidePhase::Cancelled, None);
    assert_eq!(
        board.snapshot(),
        Kpis {
            open_requests: 0,
            assigned: 1,
            mean_pickup_eta_s: 240.0,
            completed: 1,
            cancelled: 0,
            no_driver: 0,
            food: Default::default(),
            house_calls: Default::default(),
        }
    );
}

#[test]
fn a_ride_whose_driver_cancels_is_open_again_and_counts_its_second_assignment() {
    let board = Arc::new(KpiBoard::default());
    let mut tracker = RideTracker::new(Arc::clone(&board));
    tracker.observe(RidePhase::Requested, None);
    tracker.observe(RidePhase::Assigned, Some(100.0));
    tracker.driver_left();
    assert_eq!(board.snapshot().open_requests, 1);
    tracker.observe(RidePhase::Assigned, Some(300.0));
    let kpis = board.snapshot();
    assert_eq!((kpis.open_requests, kpis.assigned), (0, 2));
    assert!((kpis.mean_pickup_eta_s - 200.0).abs() < 1e-9);
}

#[test]
fn a_ride_seen_only_after_it_ended_still_counts_its_assignment() {
    let board = Arc::new(KpiBoard::default());
    let mut tracker = RideTracker::new(Arc::clone(&board));
    tracker.observe(RidePhase::Requested, None);
    tracker.observe(RidePhase::Completed, None);
    let kpis = board.snapshot();
    assert_eq!(
        (kpis.assigned, kpis.completed, kpis.open_requests),
        (1, 1, 0)
    );
    assert_eq!(kpis.mean_pickup_eta_s, 0.0);
}

#[test]
fn cancelled_and_unserved_rides_leave_the_open_count() {
    let board = Arc::new(KpiBoard::default());
    let mut cancelled = RideTracker::new(Arc::clone(&board));
    let mut unserved = RideTracker::new(Arc::clone(&board));
    let abandoned = {
        let mut tracker = RideTracker::new(Arc::clone(&board));
        tracker.observe(RidePhase::Requested, None);
        tracker
    };
    cancelled.observe(RidePhase::Requested, None);
    unserved.observe(RidePhase::Requested, None);
    assert_eq!(board.snapshot().open_requests, 3);
    cancelled.observe(RidePhase::Cancelled, None);
    unserved.observe(RidePhase::NoDriver, None);
    // A rider that stops following its ride takes it off the open count.
    drop(abandoned);
    let kpis = board.snapshot();
    assert_eq!(
        (kpis.open_requests, kpis.cancelled, kpis.no_driver),
        (0, 1, 1)
    );
}

#[test]
fn kpis_display_as_one_compact_line() {
    let kpis = Kpis {
        open_requests: 3,
        assigned: 120,
        mean_pickup_eta_s: 214.4,
        completed: 98,
        cancelled: 6,
        no_driver: 2,
        food: FoodKpis {
            restaurants: 16,
            placed: 40,
            delivered: 30,
            cancelled: 2,
            rejected: 1,
            undeliverable: 0,
            mean_click_to_door_min: 31.26,
            on_time_share: 0.875,
        },
        house_calls: HouseCallKpis {
            providers: 12,
            booked: 9,
            rescheduled: 1,
            cancelled: 1,
            completed: 4,
            no_slot: 2,
        },
    };
    assert_eq!(
        kpis.to_string(),
        "open 3 | assigned 120 | mean pickup eta 214s | completed 98 | cancelled 6 | no driver 2 || restaurants 16 | food placed 40 | delivered 30 | cancelled 2 | rejected 1 | undeliverable 0 | click-to-door 31.3 min | on time 88% || providers 12 | house calls booked 9 | rescheduled 1 | cancelled 1 | done 4 | no slot 2"
    );
}

#[test]
fn timestamps_are_rfc3339_utc_with_milliseconds() {
    assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339(1_795_867_200.0), "2026-11-28T12:00:00.000Z");
    assert_eq!(rfc3339(1_795_867_200.123_4), "2026-11-28T12:00:00.123Z");
    assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00.000Z");
    assert_eq!(rfc3339(f64::NAN), "1970-01-01T00:00:00.000Z");
}

#[test]
fn every_agent_gets_its_own_seed() {
    let seeds = [
        derive_seed(1, Stream::Driver, 0),
        derive_seed(1, Stream::Driver, 1),
        derive_seed(1, Stream::Rider, 0),
        derive_seed(1, Stream::Schedule, 0),
        derive_seed(2, Stream::Driver, 0),
    ];
    for (i, a) in seeds.iter().enumerate() {
        for b in &seeds[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(
        derive_seed(1, Stream::Rider, 9),
        derive_seed(1, Stream::Rider, 9)
    );
}

#[test]
fn the_default_config_loads_two_hundred_drivers_at_the_documented_scale() {
    let config = DemoConfig::default();
    assert_eq!(config.drivers, DEFAULT_DRIVERS);
    assert_eq!(config.drivers, 200);
    assert_eq!(config.demand_scale, DEFAULT_DEMAND_SCALE);
    assert_eq!(config.speed, 1.0);
    assert!((DemoConfig::demand_scale_for(400) - 2.0 * DEFAULT_DEMAND_SCALE).abs() < 1e-12);
}

#[tokio::test]
async fn run_refuses_an_https_base_url_before_starting_anything() {
    let (kpis, _) = tokio::sync::watch::channel(Kpis::default());
    let config = DemoConfig {
        base_url: "https://example.invalid".to_owned(),
        ..DemoConfig::default()
    };
    let result = doorstep_demo::run(config, kpis, std::future::pending()).await;
    assert!(matches!(
        result,
        Err(DemoError::InvalidConfig {
            field: "base_url",
            ..
        })
    ));
}

#[tokio::test]
async fn run_refuses_a_speed_that_is_not_positive() {
    let (kpis, _) = tokio::sync::watch::channel(Kpis::default());
    let config = DemoConfig {
        speed: 0.0,
        ..DemoConfig::default()
    };
    let result = doorstep_demo::run(config, kpis, std::future::pending()).await;
    assert!(matches!(
        result,
        Err(DemoError::InvalidConfig { field: "speed", .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_without_a_server_keeps_retrying_and_stops_cleanly_on_shutdown() {
    // A port nothing listens on: every request is refused at once.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (kpis, mut seen) = tokio::sync::watch::channel(Kpis::default());
    let config = DemoConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        drivers: 5,
        speed: 60.0,
        seed: 1,
        demand_scale: 1.0,
        ..DemoConfig::default()
    };
    let started = std::time::Instant::now();
    let result = doorstep_demo::run(
        config,
        kpis,
        tokio::time::sleep(Duration::from_millis(1500)),
    )
    .await;
    assert!(result.is_ok());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // Nothing is counted as served without a server.
    let last = *seen.borrow_and_update();
    assert_eq!(
        (last.assigned, last.completed, last.open_requests),
        (0, 0, 0)
    );
}

#[test]
fn an_order_is_counted_once_placed_and_once_ended() {
    let board = Arc::new(KpiBoard::default());
    let mut on_time = OrderTracker::new(Arc::clone(&board));
    on_time.placed();
    on_time.placed();
    on_time.ended(OrderEnd::Delivered {
        click_to_door_s: 1800.0,
        on_time: true,
    });
    on_time.ended(OrderEnd::Cancelled);
    let mut late = OrderTracker::new(Arc::clone(&board));
    late.placed();
    late.ended(OrderEnd::Delivered {
        click_to_door_s: 3000.0,
        on_time: false,
    });
    let mut refused = OrderTracker::new(Arc::clone(&board));
    refused.placed();
    refused.ended(OrderEnd::Rejected);
    // An order never placed is not counted, however it ends.
    let mut never = OrderTracker::new(Arc::clone(&board));
    never.ended(OrderEnd::Cancelled);
    let food = board.snapshot().food;
    assert_eq!(
        (food.placed, food.delivered, food.rejected, food.cancelled),
        (3, 2, 1, 0)
    );
    assert!((food.mean_click_to_door_min - 40.0).abs() < 1e-9);
    assert!((food.on_time_share - 0.5).abs() < 1e-9);
}

#[test]
fn the_server_format_of_timestamps_reads_back() {
    use doorstep_demo::clock::parse_rfc3339;
    for t in [0.0, 1_795_867_200.0, 1_795_867_200.123, 951_782_400.0] {
        let back = parse_rfc3339(&rfc3339(t)).unwrap();
        assert!((back - t).abs() < 1e-6, "{t} read back as {back}");
    }
    assert_eq!(parse_rfc3339("2026-11-28T12:00:00Z"), Some(1_795_867_200.0));
    assert_eq!(parse_rfc3339("2026-11-28 12:00:00Z"), None);
    assert_eq!(parse_rfc3339("2026-13-28T12:00:00.000Z"), None);
    assert_eq!(parse_rfc3339("2026-11-28T12:00:00.000+01:00"), None);
}
