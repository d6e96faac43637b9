//! Tests of the demo's house-call logic that needs no server: the catalogue, where the providers live
//! and when they work, the clients' schedule, wished times and the slot they pick.
#![allow(clippy::unwrap_used, reason = "tests")]

use doorstep_demo::housecalls::{
    BOOKING_CURVE, HouseCallSchedule, booking_rate_per_sec, draw_wish, local_date, pick_slot,
};
use doorstep_demo::providers::{ROUND_THE_CLOCK, plan_providers, profile_body};
use doorstep_demo::seed::{Stream, agent_rng};
use doorstep_demo::services_catalogue::{SERVICES, Trade, draw_service, services_of};
use doorstep_geo::{City, LatLng, haversine_km, new_york_local, to_latlng};

/// Wednesday 2026-11-25 18:00 in New York (23:00 UTC, standard time).
const WEDNESDAY_6PM: f64 = 1_795_647_600.0;
/// The Empire State Building, where `tools/house-call-curl.sh` asks for a plumber.
const EMPIRE_STATE: (f64, f64) = (40.7484, -73.9857);

fn city() -> &'static City {
    City::manhattan()
}

#[test]
fn the_catalogue_is_within_the_servers_rules_and_every_trade_has_a_service() {
    let mut names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SERVICES.len(), "a name twice");
    assert_eq!(SERVICES.len(), 6);
    for s in SERVICES {
        assert!(
            (15..=480).contains(&s.duration_min) && s.duration_min % 5 == 0,
            "{s:?}"
        );
        assert!(s.prep_min <= 60, "{s:?}");
        assert!(s.price_cents > 0 && s.popularity > 0, "{s:?}");
    }
    for trade in [
        Trade::Massage,
        Trade::Beauty,
        Trade::Cleaning,
        Trade::Plumbing,
    ] {
        assert!(!services_of(trade).is_empty(), "{trade:?}");
    }
    // Clients ask for every service, the popular ones more.
    let mut counts = vec![0_u32; SERVICES.len()];
    let mut rng = agent_rng(3, Stream::Client, 0);
    for _ in 0..10_000 {
        counts[draw_service(&mut rng)] += 1;
    }
    assert!(counts.iter().all(|c| *c > 500), "{counts:?}");
    assert!(counts[0] > counts[1] * 2, "{counts:?}");
}

#[test]
fn providers_live_on_served_land_along_the_whole_island_with_one_plumber_around_the_clock() {
    let plans = plan_providers(city(), 12, 7);
    assert_eq!(plans.len(), 12);
    assert_eq!(plans, plan_providers(city(), 12, 7), "seeded");
    let homes: Vec<LatLng> = plans.iter().map(|p| to_latlng(p.home)).collect();
    for (plan, home) in plans.iter().zip(&homes) {
        assert!(city().covers(*home), "{plan:?}");
        assert!(
            city().lots().iter().any(|l| l.pos == plan.home),
            "a home is a lot"
        );
        assert!(!doorstep_demo::sandbox::contains(plan.home));
        assert!((500..=30_000).contains(&plan.area_m));
        assert!((1..=16).contains(&plan.daily_cap));
    }
    let mut distinct = plans
        .iter()
        .map(|p| (p.home.x.to_bits(), p.home.y.to_bits()))
        .collect::<Vec<_>>();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 12, "two providers at one lot");
    // From downtown to uptown: the homes span more than 12 km.
    let south = homes.iter().map(|h| h.lat()).fold(f64::INFINITY, f64::min);
    let north = homes
        .iter()
        .map(|h| h.lat())
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(north - south > 0.11, "{south}..{north}");
    for trade in [
        Trade::Massage,
        Trade::Beauty,
        Trade::Cleaning,
        Trade::Plumbing,
    ] {
        assert!(plans.iter().any(|p| p.trade == trade), "{trade:?}");
    }
    let around: Vec<_> = plans
        .iter()
        .filter(|p| *p.hours == ROUND_THE_CLOCK)
        .collect();
    assert_eq!(around.len(), 1);
    assert_eq!(around[0].trade, Trade::Plumbing);
    let esb = LatLng::new(EMPIRE_STATE.0, EMPIRE_STATE.1).unwrap();
    assert!(
        haversine_km(to_latlng(around[0].home), esb) * 1000.0 <= f64::from(around[0].area_m),
        "the curl tour's address is outside the emergency plumber's area"
    );
    assert!(plan_providers(city(), 0, 7).is_empty());
    assert_eq!(plan_providers(city(), 1, 7)[0].trade, Trade::Plumbing);
}

#[test]
fn a_profile_offers_the_trades_services_and_a_week_of_ranges_within_a_day() {
    let ids: Vec<String> = (0..SERVICES.len()).map(|i| format!("svc-{i}")).collect();
    for plan in plan_providers(city(), 12, 7) {
        let body = profile_body(&plan, &ids);
        let offered: Vec<&str> = body["service_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected: Vec<String> = services_of(plan.trade)
            .into_iter()
            .map(|i| format!("svc-{i}"))
            .collect();
        assert_eq!(offered, expected);
        let hours = body["hours"].as_object().unwrap();
        assert_eq!(hours.len(), 7);
        let mut working_days = 0;
        for ranges in hours.values() {
            let ranges = ranges.as_array().unwrap();
            working_days += usize::from(!ranges.is_empty());
            for r in ranges {
                let (open, close) = (r["open"].as_str().unwrap(), r["close"].as_str().unwrap());
                assert!(open < close, "{open}-{close}: a range within one day");
            }
        }
        assert!(working_days >= 5, "{plan:?}");
        assert!(body["home"]["lat"].as_f64().is_some());
    }
}

#[test]
fn clients_book_by_the_curve_seeded_and_at_the_rate_asked() {
    let per_day = 60.0;
    let a: Vec<_> = HouseCallSchedule::new(city(), WEDNESDAY_6PM, per_day, 5)
        .take(50)
        .collect();
    let b: Vec<_> = HouseCallSchedule::new(city(), WEDNESDAY_6PM, per_day, 5)
        .take(50)
        .collect();
    assert_eq!(a, b);
    let week_end = WEDNESDAY_6PM + 7.0 * 86_400.0;
    let calls: Vec<_> = HouseCallSchedule::new(city(), WEDNESDAY_6PM, per_day, 5)
        .take_while(|c| c.at_unix < week_end)
        .collect();
    let expected = per_day * 7.0;
    assert!(
        (calls.len() as f64 - expected).abs() < 4.0 * expected.sqrt(),
        "{} calls in a week, expected about {expected}",
        calls.len()
    );
    let in_hour = |h: u32| {
        calls
            .iter()
            .filter(|c| new_york_local(c.at_unix as i64).seconds_of_day / 3600 == h)
            .count()
    };
    assert!(
        in_hour(10) > 4 * in_hour(3).max(1),
        "{} at 10, {} at 3",
        in_hour(10),
        in_hour(3)
    );
    assert!(
        calls
            .iter()
            .all(|c| !doorstep_demo::sandbox::contains(c.place))
    );
    assert!(
        calls
            .windows(2)
            .all(|w| w[0].at_unix <= w[1].at_unix && w[1].index == w[0].index + 1)
    );
    let day: f64 = (0..24)
        .map(|h| booking_rate_per_sec(per_day, h * 3600) * 3600.0)
        .sum();
    assert!((day - per_day).abs() < 1e-9);
    assert_eq!(BOOKING_CURVE.len(), 24);
    assert!(
        HouseCallSchedule::new(city(), WEDNESDAY_6PM, 0.0, 5)
            .next()
            .is_none()
    );
}

#[test]
fn a_wish_is_two_hours_to_two_days_ahead_in_the_waking_day() {
    let mut rng = agent_rng(1, Stream::Client, 9);
    for step in 0..(7 * 24 * 4) {
        let now = WEDNESDAY_6PM + f64::from(step) * 900.0;
        let wish = draw_wish(now, &mut rng);
        assert!(wish >= now + 2.0 * 3600.0 - 1e-6, "{now} {wish}");
        assert!(wish <= now + 2.0 * 86_400.0, "{now} {wish}");
        let hour = new_york_local(wish as i64).seconds_of_day / 3600;
        assert!((8..21).contains(&hour), "a wish at {hour}h");
    }
}

#[test]
fn the_slot_taken_is_the_nearest_the_wish_not_too_soon_and_not_the_one_left() {
    let starts = [1000.0, 2000.0, 3000.0, 4000.0];
    assert_eq!(pick_slot(&starts, 2900.0, 0.0, None), Some(2));
    assert_eq!(
        pick_slot(&starts, 2500.0, 0.0, None),
        Some(1),
        "a tie: the earlier"
    );
    assert_eq!(
        pick_slot(&starts, 1000.0, 2500.0, None),
        Some(2),
        "not before the earliest"
    );
    assert_eq!(pick_slot(&starts, 3000.0, 0.0, Some(3000.0)), Some(1));
    assert_eq!(pick_slot(&starts, 3000.0, 5000.0, None), None);
    assert_eq!(pick_slot(&[], 3000.0, 0.0, None), None);
}

#[test]
fn dates_are_new_york_dates() {
    // 18:00 in New York on the 25th; six and a half hours later it is the 26th there, five and a half the 25th.
    assert_eq!(local_date(WEDNESDAY_6PM), "2026-11-25");
    assert_eq!(local_date(WEDNESDAY_6PM + 6.5 * 3600.0), "2026-11-26");
    assert_eq!(local_date(WEDNESDAY_6PM + 5.5 * 3600.0), "2026-11-25");
}
