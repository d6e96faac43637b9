//! The hot state of the fleet on its own, without a store or a server: the index of available drivers
//! (slots given and taken back, answers by great-circle distance, freshness), batches of positions, and
//! the positions the store has yet to record.

use doorstep_app::fleet::{Activity, Fleet, RideSnapshot};
use doorstep_domain::job::{StopKind, TimeWindow};
use doorstep_domain::ride::RideState;
use doorstep_domain::worker::RouteStop;
use doorstep_domain::{JobId, OfferId, RideId, Timestamp, UserId};
use doorstep_geo::{City, LatLng, haversine_km};
use proptest::prelude::*;
use uuid::Uuid;

fn ll(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).expect("valid coordinates")
}

fn user(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n + 1))
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_795_867_200_000 + secs * 1000)
}

const TIMES_SQUARE: (f64, f64) = (40.758, -73.9855);

fn online_at(fleet: &mut Fleet, driver: UserId, p: LatLng, when: Timestamp) {
    fleet.set_online(driver, true);
    fleet.report_positions(driver, &[(p, when)], 2000);
}

/// The stops of ride `ride`'s job still to do in `state`, as its job gives them: pickup and drop-off
/// until the rider is on board, then the drop-off, none once it ended.
fn stops(ride: RideId, state: RideState) -> Vec<RouteStop> {
    let stop = |stop_index: usize, kind: StopKind, place: LatLng, load_change: i64| RouteStop {
        job: JobId::from(ride),
        stop_index,
        kind,
        place,
        window: TimeWindow::open_from(at(0)),
        service_s: 0,
        load_change,
    };
    let pickup = stop(0, StopKind::Pickup, ll(TIMES_SQUARE.0, TIMES_SQUARE.1), 1);
    let dropoff = stop(1, StopKind::Dropoff, ll(40.78, -73.95), -1);
    match state {
        RideState::Requested | RideState::DriverAssigned | RideState::DriverArrived => {
            vec![pickup, dropoff]
        }
        RideState::InProgress => vec![dropoff],
        _ => Vec::new(),
    }
}

/// A committed change of ride `ride` as the hot state is handed it: at `version`, in `state`, with
/// its assigned driver and its offer out.
fn snapshot(
    ride: RideId,
    version: i64,
    state: RideState,
    driver: Option<UserId>,
    offer: Option<(UserId, OfferId)>,
) -> RideSnapshot {
    RideSnapshot {
        id: ride,
        version,
        state,
        rider: user(500),
        pickup: ll(TIMES_SQUARE.0, TIMES_SQUARE.1),
        stops: stops(ride, state),
        driver,
        offer,
    }
}

#[test]
fn candidates_come_closest_first_by_great_circle_distance_and_skip_stale_or_busy_drivers() {
    let mut fleet = Fleet::new(City::manhattan());
    let q = ll(TIMES_SQUARE.0, TIMES_SQUARE.1);
    for i in 0..20u32 {
        let p = ll(
            40.758 + f64::from(i) * 0.001,
            -73.9855 + f64::from(i % 3) * 0.001,
        );
        // Driver 0, the nearest, last reported long ago.
        online_at(
            &mut fleet,
            user(u128::from(i)),
            p,
            at(if i == 0 { 0 } else { 100 }),
        );
    }
    // Driver 1 holds an offer, driver 2 went offline.
    fleet.apply_ride(
        &snapshot(
            RideId::from_uuid(Uuid::from_u128(9)),
            2,
            RideState::Requested,
            None,
            Some((user(1), OfferId::from_uuid(Uuid::from_u128(9)))),
        ),
        at(100),
    );
    fleet.set_online(user(2), false);
    assert_eq!(fleet.available_count(), 18);

    let found = fleet.candidates(q, 5, 5.0, at(50));
    assert_eq!(found.len(), 5);
    let ids: Vec<UserId> = found.iter().map(|f| f.0).collect();
    assert!(
        !ids.contains(&user(0)) && !ids.contains(&user(1)) && !ids.contains(&user(2)),
        "{ids:?}"
    );
    for w in found.windows(2) {
        assert!(w[0].2 <= w[1].2, "closest first: {found:?}");
    }
    for (id, p, km) in &found {
        assert_eq!(
            *km,
            haversine_km(q, *p),
            "the great-circle distance of {id}"
        );
    }
    // A radius is a great-circle radius, even at its edge.
    let edge = found[2].2;
    let within = fleet.candidates(q, 50, edge, at(50));
    assert!(within.iter().all(|f| f.2 <= edge));
    assert_eq!(within.len(), 3, "{within:?}");
    assert!(fleet.candidates(q, 0, 5.0, at(50)).is_empty());
}

#[test]
fn a_batch_moves_the_driver_to_its_newest_point_and_ignores_older_ones() {
    let mut fleet = Fleet::new(City::manhattan());
    let d = user(1);
    fleet.set_online(d, true);
    let (a, b, c) = (ll(40.75, -73.99), ll(40.76, -73.98), ll(40.77, -73.97));
    fleet.report_positions(d, &[(a, at(1)), (b, at(2))], 2000);
    assert_eq!(fleet.driver(d).and_then(|s| s.position()), Some(b));
    // An empty batch (all points too old for the app) makes no driver known.
    fleet.report_positions(user(9), &[], 2000);
    assert!(fleet.driver(user(9)).is_none());
    // Points older than the last one recorded change nothing.
    fleet.report_positions(d, &[(c, at(1))], 2000);
    assert_eq!(fleet.driver(d).and_then(|s| s.position()), Some(b));
    assert_eq!(
        fleet.candidates(b, 1, 1.0, at(0)).first().map(|f| f.0),
        Some(d)
    );
}

#[test]
fn a_driver_on_a_trip_gets_pushes_at_most_every_interval_and_counts_its_odometer() {
    let mut fleet = Fleet::new(City::manhattan());
    let (d, rider, ride) = (user(1), user(500), RideId::from_uuid(Uuid::from_u128(7)));
    online_at(&mut fleet, d, ll(40.75, -73.99), at(0));
    fleet.apply_ride(
        &snapshot(ride, 4, RideState::InProgress, Some(d), None),
        at(0),
    );
    assert_eq!(
        fleet.available_count(),
        0,
        "a driver on a trip is not available"
    );
    let path = [
        (ll(40.751, -73.99), at(1)),
        (ll(40.752, -73.99), at(2)),
        (ll(40.753, -73.99), at(4)),
    ];
    let outcome = fleet.report_positions(d, &path, 2000);
    let pushed: Vec<Timestamp> = outcome.pushes.iter().map(|p| p.2).collect();
    assert_eq!(pushed, vec![at(1), at(4)], "one push per 2 s");
    assert!(
        outcome
            .pushes
            .iter()
            .all(|p| p.0.ride == ride && p.0.rider == rider && p.0.pickup.is_none())
    );
    assert!(
        outcome.console.is_some(),
        "the console gets the first position"
    );
    let odometer = fleet.trip_odometer_m(ride.into());
    fleet.apply_ride(
        &snapshot(ride, 5, RideState::Completed, Some(d), None),
        at(5),
    );
    let expected = haversine_km(ll(40.75, -73.99), ll(40.753, -73.99)) * 1000.0;
    assert!(
        (odometer - expected).abs() < 1.0,
        "{odometer} vs {expected}"
    );
    assert_eq!(fleet.driver(d).map(|s| s.activity()), Some(Activity::Idle));
    assert_eq!(fleet.available_count(), 1);
}

#[test]
fn unsaved_positions_are_handed_out_once_even_for_drivers_gone_offline() {
    let mut fleet = Fleet::new(City::manhattan());
    online_at(&mut fleet, user(1), ll(40.75, -73.99), at(1));
    online_at(&mut fleet, user(2), ll(40.76, -73.98), at(2));
    fleet.report_positions(user(1), &[(ll(40.751, -73.99), at(3))], 2000);
    fleet.set_online(user(2), false);
    assert!(
        fleet.driver(user(2)).is_none(),
        "an available driver going offline is forgotten"
    );
    let mut saved = fleet.take_unsaved_positions();
    saved.sort_by_key(|s| s.0);
    assert_eq!(
        saved,
        vec![
            (user(1), ll(40.751, -73.99), at(3)),
            (user(2), ll(40.76, -73.98), at(2))
        ]
    );
    assert!(fleet.take_unsaved_positions().is_empty());
    // Restored positions come from the store: nothing to save.
    fleet.set_online(user(3), true);
    fleet.restore_position(user(3), ll(40.77, -73.97), at(4));
    assert!(fleet.take_unsaved_positions().is_empty());
}

#[test]
fn supply_near_a_pickup_counts_every_available_driver_in_the_radius() {
    let mut fleet = Fleet::new(City::manhattan());
    let q = ll(TIMES_SQUARE.0, TIMES_SQUARE.1);
    for i in 0..300u32 {
        let p = ll(
            40.758 + f64::from(i % 20) * 0.0002,
            -73.9855 + f64::from(i / 20) * 0.0002,
        );
        online_at(&mut fleet, user(u128::from(i)), p, at(1));
    }
    online_at(&mut fleet, user(1000), ll(40.80, -73.95), at(1));
    fleet.apply_ride(
        &snapshot(
            RideId::from_uuid(Uuid::from_u128(1)),
            1,
            RideState::Requested,
            None,
            None,
        ),
        at(1),
    );
    assert_eq!(fleet.demand_supply_near(q, 1.5), (1, 300));
}

#[derive(Debug, Clone)]
enum Op {
    Online(u8, (f64, f64), i64),
    Offline(u8),
    Move(u8, (f64, f64), i64),
}

fn op() -> impl Strategy<Value = Op> {
    let point = (40.70f64..40.88, -74.02f64..-73.91);
    prop_oneof![
        2 => (0u8..40, point.clone(), 0i64..100).prop_map(|(d, p, t)| Op::Online(d, p, t)),
        1 => (0u8..40).prop_map(Op::Offline),
        4 => (0u8..40, point, 0i64..100).prop_map(|(d, p, t)| Op::Move(d, p, t)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Drivers come and go (their slots are reused) and move; the candidates are always the nearest
    /// online, fresh drivers by great-circle distance, as a scan of every driver finds them.
    #[test]
    fn candidates_equal_a_scan_of_every_driver(
        ops in prop::collection::vec(op(), 1..300),
        queries in prop::collection::vec(((40.70f64..40.88, -74.02f64..-73.91), 1usize..12, 0.1f64..6.0), 1..10),
    ) {
        let mut fleet = Fleet::new(City::manhattan());
        for op in ops {
            match op {
                Op::Online(d, (lat, lng), t) => online_at(&mut fleet, user(u128::from(d)), ll(lat, lng), at(t)),
                Op::Offline(d) => fleet.set_online(user(u128::from(d)), false),
                Op::Move(d, (lat, lng), t) => {
                    fleet.report_positions(user(u128::from(d)), &[(ll(lat, lng), at(t))], 2000);
                }
            }
        }
        for ((lat, lng), k, max_km) in queries {
            let q = ll(lat, lng);
            let fresh_since = at(50);
            let mut scan: Vec<f64> = fleet
                .drivers()
                .filter(|(_, s)| s.online() && s.activity() == Activity::Idle)
                .filter(|(_, s)| s.last_seen().is_some_and(|t| t >= fresh_since))
                .filter_map(|(_, s)| s.position())
                .map(|p| haversine_km(q, p))
                .filter(|&d| d <= max_km)
                .collect();
            scan.sort_by(f64::total_cmp);
            scan.truncate(k);
            let got: Vec<f64> = fleet.candidates(q, k, max_km, fresh_since).iter().map(|f| f.2).collect();
            // The index asks for 2k and drops stale drivers: with many stale drivers nearer than the
            // fresh ones it may find fewer, never different or farther ones.
            prop_assert!(got.len() <= scan.len());
            prop_assert_eq!(&got[..], &scan[..got.len()]);
        }
    }
}

#[test]
fn implausible_points_move_neither_the_driver_nor_the_odometer_and_are_counted_by_reason() {
    let limits = doorstep_domain::position::PositionLimits::default();
    let mut fleet = Fleet::new(City::manhattan()).with_position_limits(City::manhattan(), limits);
    let (d, ride) = (user(1), RideId::from_uuid(Uuid::from_u128(7)));
    let start = ll(40.75, -73.99);
    online_at(&mut fleet, d, start, at(0));
    fleet.apply_ride(
        &snapshot(ride, 4, RideState::InProgress, Some(d), None),
        at(0),
    );
    let path = [
        // About 111 m in 10 s: believed.
        (ll(40.751, -73.99), at(10)),
        // Harlem one second later: too fast.
        (ll(40.81, -73.95), at(11)),
        // Philadelphia an hour later (130 km: not too fast), outside the service area.
        (ll(39.9526, -75.1652), at(3600)),
        // Another 111 m from the last believed point, 10 s after it: judged against that point, believed.
        (ll(40.752, -73.99), at(20)),
    ];
    let outcome = fleet.report_positions(d, &path, 2000);
    assert_eq!(outcome.rejected.too_fast, 1);
    assert_eq!(outcome.rejected.outside_service_area, 1);
    assert_eq!(
        fleet.driver(d).and_then(|s| s.position()),
        Some(ll(40.752, -73.99))
    );
    let odometer = fleet.trip_odometer_m(ride.into());
    let expected = haversine_km(start, ll(40.752, -73.99)) * 1000.0;
    assert!(
        (odometer - expected).abs() < 1.0,
        "{odometer} vs {expected}"
    );
}

/// What a committed change of one ride binds: an offer to a driver, the ride assigned to or carried
/// by a driver (drivers 0..3), or nobody (waiting without an offer, cancelled, completed).
fn binding() -> impl Strategy<Value = (RideState, Option<u8>, bool)> {
    prop_oneof![
        Just((RideState::Requested, None, false)),
        (0u8..3).prop_map(|d| (RideState::Requested, Some(d), true)),
        (0u8..3).prop_map(|d| (RideState::DriverAssigned, Some(d), false)),
        (0u8..3).prop_map(|d| (RideState::InProgress, Some(d), false)),
        Just((RideState::Cancelled, None, false)),
        (0u8..3).prop_map(|d| (RideState::Completed, Some(d), false)),
    ]
}

/// The drivers' states (what they do, their routes and offers) and the pickups waiting, to compare
/// two fleets.
type Described = (Vec<Option<(Activity, Vec<RouteStop>)>>, usize, usize);

fn described(fleet: &Fleet) -> Described {
    (
        (0..3u8)
            .map(|d| {
                fleet
                    .driver(user(u128::from(d)))
                    .map(|s| (s.activity(), s.route().stops().to_vec()))
            })
            .collect(),
        fleet.pending_count(),
        fleet.available_count(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The committed changes of a ride reach the hot state in any order (their updates race after
    /// the commits); whatever the order, the hot state ends as the newest change alone says: older
    /// ones arriving late are refused by version, drivers bound before are freed.
    #[test]
    fn a_rides_changes_in_any_order_leave_the_hot_state_as_the_newest_says(
        (changes, order) in prop::collection::vec(binding(), 1..8).prop_flat_map(|v| {
            let n = v.len();
            (Just(v), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        }),
    ) {
        let ride = RideId::from_uuid(Uuid::from_u128(77));
        let snapshots: Vec<RideSnapshot> = changes
            .iter()
            .enumerate()
            .map(|(i, &(state, d, offered))| {
                let version = i64::try_from(i).unwrap_or(0) + 1;
                let d = d.map(|d| user(u128::from(d)));
                let offer = d.filter(|_| offered).map(|d| (d, OfferId::from_uuid(Uuid::from_u128(1000 + i as u128))));
                snapshot(ride, version, state, d.filter(|_| !offered), offer)
            })
            .collect();
        let start = |fleet: &mut Fleet| {
            for d in 0..3u8 {
                online_at(fleet, user(u128::from(d)), ll(40.75 + f64::from(d) * 0.001, -73.99), at(0));
            }
        };
        let mut raced = Fleet::new(City::manhattan());
        start(&mut raced);
        for &i in &order {
            raced.apply_ride(&snapshots[i], at(1));
        }
        let mut newest = Fleet::new(City::manhattan());
        start(&mut newest);
        if let Some(last) = snapshots.last() {
            prop_assert!(newest.apply_ride(last, at(1)));
        }
        prop_assert_eq!(described(&raced), described(&newest));
        for (_, d) in raced.drivers() {
            prop_assert_eq!(d.route().check(d.worker().capabilities.capacity), Ok(()));
        }
    }
}

/// A driver's hot state is a route across jobs: a ride assigned puts its pickup and drop-off on it, a
/// ride on board keeps its drop-off, and a second ride committed while the first is on board waits
/// behind it within the driver's capacity; what the driver is doing is derived from the route.
#[test]
fn a_drivers_route_holds_the_stops_of_its_rides_and_says_what_it_is_doing() {
    let mut fleet = Fleet::new(City::manhattan());
    let d = user(1);
    let (a, b) = (
        RideId::from_uuid(Uuid::from_u128(7)),
        RideId::from_uuid(Uuid::from_u128(8)),
    );
    online_at(&mut fleet, d, ll(40.75, -73.99), at(0));
    let offer = OfferId::from_uuid(Uuid::from_u128(70));
    fleet.apply_ride(
        &snapshot(a, 1, RideState::Requested, None, Some((d, offer))),
        at(0),
    );
    let state = |fleet: &Fleet| {
        fleet
            .driver(d)
            .map(|s| (s.activity(), s.route().stops().len()))
    };
    assert_eq!(
        state(&fleet),
        Some((
            Activity::Offered(doorstep_app::fleet::PendingOffer {
                job: a.into(),
                offer
            }),
            0
        )),
        "an offer waits beside the route"
    );
    assert_eq!(
        fleet.available_count(),
        0,
        "an offered driver is not available"
    );
    fleet.apply_ride(
        &snapshot(a, 2, RideState::DriverAssigned, Some(d), None),
        at(1),
    );
    assert_eq!(
        state(&fleet),
        Some((Activity::ToPickup { job: a.into() }, 2))
    );
    fleet.apply_ride(&snapshot(a, 3, RideState::InProgress, Some(d), None), at(2));
    assert_eq!(state(&fleet), Some((Activity::OnTrip { job: a.into() }, 1)));
    fleet.apply_ride(
        &snapshot(b, 1, RideState::DriverAssigned, Some(d), None),
        at(3),
    );
    assert_eq!(
        state(&fleet),
        Some((Activity::OnTrip { job: a.into() }, 3)),
        "the second ride waits behind the drop-off of the first"
    );
    let capacity = fleet.driver(d).map(|s| s.worker().capabilities.capacity);
    assert_eq!(
        capacity,
        Some(1),
        "a driver is a worker with a car for one ride"
    );
    assert_eq!(fleet.driver(d).map(|s| s.route().check(1)), Some(Ok(())));
    fleet.apply_ride(&snapshot(a, 4, RideState::Completed, Some(d), None), at(4));
    assert_eq!(
        state(&fleet),
        Some((Activity::ToPickup { job: b.into() }, 2))
    );
    fleet.apply_ride(&snapshot(b, 2, RideState::Cancelled, None, None), at(5));
    assert_eq!(state(&fleet), Some((Activity::Idle, 0)));
    assert_eq!(fleet.available_count(), 1);
}
