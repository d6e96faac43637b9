//! Tests of the demo's food logic that needs no server: where restaurants go, their menus and hours,
//! the food order schedule, and the kitchens' preparation times.
#![allow(clippy::unwrap_used, reason = "tests")]

use doorstep_demo::catalogue::{CUISINES, menu_for};
use doorstep_demo::food_schedule::{FoodSchedule, MEAL_CURVE, Reach, order_rate_per_sec};
use doorstep_demo::kitchen::{
    BUSY_MINUTES_PER_ORDER, CALM_ORDERS, prep_minutes, server_prep_minutes,
};
use doorstep_demo::restaurants::{RADIUS_M, evening_zones, hours_doc, plan_restaurants};
use doorstep_demo::seed::{Stream, agent_rng};
use doorstep_geo::{City, new_york_local, to_latlng};

/// Wednesday 2026-11-25 18:00 in New York (23:00 UTC, standard time).
const WEDNESDAY_6PM: f64 = 1_795_647_600.0;

fn city() -> &'static City {
    City::manhattan()
}

fn reach_of(plans: &[doorstep_demo::restaurants::RestaurantPlan]) -> Vec<Reach> {
    plans
        .iter()
        .map(|p| Reach {
            site: p.site,
            radius_km: f64::from(p.delivery_radius_m) / 1000.0,
        })
        .collect()
}

#[test]
fn evening_zones_are_ranked_by_their_six_to_nine_pm_trips() {
    let zones = evening_zones(city());
    assert!(zones.len() > 30, "{} zones with lots", zones.len());
    assert!(zones.windows(2).all(|w| w[0].trips >= w[1].trips));
    // Recount the busiest zone by hand: drop-offs plus pickups, weekdays, windows 72..84.
    let top = zones[0];
    let mut trips = 0_u64;
    for weekday in 0..5 {
        for window in 72..84 {
            for row in city().demand().rows(weekday, window) {
                trips += u64::from(row.pickup == top.zone) * u64::from(row.trips);
                trips += u64::from(row.dropoff == top.zone) * u64::from(row.trips);
            }
        }
    }
    assert_eq!(top.trips, trips);
    assert!(zones.last().unwrap().trips < top.trips / 4);
}

#[test]
fn restaurants_are_placed_at_lots_of_the_busiest_evening_zones_deterministically() {
    let plans = plan_restaurants(city(), 16, 7);
    assert_eq!(plans, plan_restaurants(city(), 16, 7));
    assert_ne!(plans, plan_restaurants(city(), 16, 8));
    assert_eq!(plans.len(), 16);
    let zones = evening_zones(city());
    for (i, plan) in plans.iter().enumerate() {
        assert_eq!(plan.index, i);
        assert_eq!(
            plan.zone, zones[i].zone,
            "restaurant {i} not in the {i}th busiest zone"
        );
        assert!(
            city()
                .lots()
                .iter()
                .any(|l| l.pos == plan.site && l.zone == plan.zone),
            "restaurant {i} is not at a lot of its zone"
        );
        assert!(city().covers(to_latlng(plan.site)));
        assert!((RADIUS_M.0..=RADIUS_M.1).contains(&plan.delivery_radius_m));
        assert!(plan.cuisine.prep_minutes.contains(&plan.prep_minutes));
        assert!(!plan.name.is_empty() && plan.name.chars().count() <= 100);
    }
    let mut names: Vec<_> = plans.iter().map(|p| &p.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 16, "names repeat");
    // Sixteen restaurants serve every cuisine of the catalogue.
    for cuisine in CUISINES {
        assert!(
            plans.iter().any(|p| p.cuisine == cuisine),
            "no {:?}",
            cuisine.tags
        );
    }
    // More restaurants than zones go round again.
    let many = plan_restaurants(city(), zones.len() + 3, 7);
    assert_eq!(many[zones.len()].zone, zones[0].zone);
}

#[test]
fn every_menu_the_catalogue_can_draw_is_within_the_servers_limits() {
    for (c, cuisine) in CUISINES.iter().enumerate() {
        assert!(!cuisine.tags.is_empty() && !cuisine.names.is_empty());
        assert!(cuisine.tags.iter().all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }));
        assert!(cuisine.prep_minutes.start >= 8 && cuisine.prep_minutes.end <= 25);
        for i in 0..50 {
            let menu = menu_for(
                cuisine,
                &mut agent_rng(3, Stream::Restaurant, (c * 100 + i) as u64),
            );
            assert_eq!(menu.currency, "USD");
            assert_eq!(menu.categories.len(), cuisine.categories.len());
            let items: usize = menu.categories.iter().map(|c| c.items.len()).sum();
            assert!((1..=500).contains(&items));
            for (category, spec) in menu.categories.iter().zip(cuisine.categories) {
                assert!(!category.items.is_empty());
                assert!(category.items.len() as f64 >= (spec.items.len() as f64 * 0.6).floor());
                for item in &category.items {
                    let spec = spec.items.iter().find(|s| s.name == item.name).unwrap();
                    assert!((spec.price.0..=spec.price.1).contains(&item.price));
                    assert_eq!(item.price % 25, 0);
                    assert!((1..=100).contains(&item.name.chars().count()));
                    assert!(item.option_groups.len() <= 10);
                    for group in &item.option_groups {
                        assert!(group.min <= group.max);
                        assert!(group.max as usize <= group.options.len());
                        assert!(group.options.len() <= 30);
                        assert!(
                            group
                                .options
                                .iter()
                                .all(|o| (0..=100_000).contains(&o.price_delta))
                        );
                        let mut names: Vec<_> = group.options.iter().map(|o| o.name).collect();
                        names.sort_unstable();
                        names.dedup();
                        assert_eq!(names.len(), group.options.len(), "options repeat");
                    }
                }
            }
        }
    }
}

#[test]
fn the_same_seed_draws_the_same_menu_and_another_seed_a_different_one() {
    let cuisine = &CUISINES[0];
    let a = menu_for(cuisine, &mut agent_rng(1, Stream::Restaurant, 0));
    assert_eq!(
        a,
        menu_for(cuisine, &mut agent_rng(1, Stream::Restaurant, 0))
    );
    let differs = (1..20).any(|i| menu_for(cuisine, &mut agent_rng(1, Stream::Restaurant, i)) != a);
    assert!(differs);
}

#[test]
fn hours_keep_the_regular_week_and_open_the_demos_days_around_the_clock() {
    let plans = plan_restaurants(city(), 3, 7);
    let doc = serde_json::to_value(hours_doc(plans[0].hours, WEDNESDAY_6PM)).unwrap();
    for day in [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ] {
        assert!(
            !doc["weekly"][day].as_array().unwrap().is_empty(),
            "{day} closed"
        );
    }
    // Wednesday 18:00 in New York: that Wednesday and the Thursday after.
    let exceptions = doc["exceptions"].as_array().unwrap();
    let dates: Vec<_> = exceptions
        .iter()
        .map(|e| e["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-11-25", "2026-11-26"]);
    for e in exceptions {
        assert_eq!(
            e["ranges"],
            serde_json::json!([{"open": "00:00", "close": "24:00"}])
        );
    }
    // 23:30 New York is the next UTC day: the New York date counts.
    let late =
        serde_json::to_value(hours_doc(plans[0].hours, WEDNESDAY_6PM + 5.5 * 3600.0)).unwrap();
    assert_eq!(late["exceptions"][0]["date"], "2026-11-25");
}

#[test]
fn the_order_rate_peaks_at_dinner_with_a_lunch_peak_and_quiet_small_hours() {
    let peak = MEAL_CURVE.iter().copied().fold(0.0, f64::max);
    assert_eq!(peak, 1.0);
    let at = |hour: u32| order_rate_per_sec(100.0, hour * 3600 + 1800);
    assert!((0..24).all(|h| at(h) <= at(19)), "dinner is not the peak");
    assert!(at(12) > at(10) && at(12) > at(15), "no lunch peak");
    assert!(at(4) < 0.05 * at(19), "the small hours are busy");
    assert!((order_rate_per_sec(60.0, 19 * 3600 + 10) - 60.0 / 3600.0).abs() < 1e-12);
    assert_eq!(order_rate_per_sec(-5.0, 19 * 3600), 0.0);
}

#[test]
fn the_food_schedule_is_seeded_and_brings_orders_within_reach_of_a_restaurant() {
    let plans = plan_restaurants(city(), 16, 7);
    let reach = reach_of(&plans);
    let a: Vec<_> = FoodSchedule::new(city(), reach.clone(), WEDNESDAY_6PM, 60.0, 5)
        .take(200)
        .collect();
    let b: Vec<_> = FoodSchedule::new(city(), reach.clone(), WEDNESDAY_6PM, 60.0, 5)
        .take(200)
        .collect();
    assert_eq!(a, b);
    let c: Vec<_> = FoodSchedule::new(city(), reach.clone(), WEDNESDAY_6PM, 60.0, 6)
        .take(200)
        .collect();
    assert_ne!(a, c);
    let mut previous = WEDNESDAY_6PM;
    for (i, order) in a.iter().enumerate() {
        assert_eq!(order.index, i as u64);
        assert!(order.at_unix >= previous);
        previous = order.at_unix;
        assert!(city().covers(to_latlng(order.dropoff)));
        assert!(!doorstep_demo::sandbox::contains(order.dropoff));
        assert!(reach.iter().any(|r| {
            (order.dropoff.x - r.site.x).hypot(order.dropoff.y - r.site.y) <= r.radius_km
        }));
        // The drop-off zone is one taxi trips of that window end in.
        let local = new_york_local(order.at_unix.floor() as i64);
        let rows = city().demand().rows(
            doorstep_demo::schedule::demand_weekday(local.weekday),
            local.window(),
        );
        assert!(rows.iter().any(|r| r.dropoff == order.dropoff_zone));
    }
}

#[test]
fn the_food_schedule_follows_the_meal_curve() {
    let reach = reach_of(&plan_restaurants(city(), 16, 7));
    let count_in_hour = |start: f64| {
        FoodSchedule::new(city(), reach.clone(), start, 120.0, 2)
            .take_while(|o| o.at_unix < start + 3600.0)
            .count() as f64
    };
    // 19:00-20:00: 120 expected (within four standard deviations); 04:00-05:00: a handful.
    let dinner = count_in_hour(WEDNESDAY_6PM + 3600.0);
    assert!(
        (dinner - 120.0).abs() < 4.0 * 120.0_f64.sqrt(),
        "{dinner} at dinner"
    );
    let night = count_in_hour(WEDNESDAY_6PM - 14.0 * 3600.0);
    assert!(night < 15.0, "{night} at 4am");
    assert_eq!(
        FoodSchedule::new(city(), reach.clone(), WEDNESDAY_6PM, 0.0, 1).next(),
        None
    );
    assert_eq!(
        FoodSchedule::new(city(), Vec::new(), WEDNESDAY_6PM, 60.0, 1).next(),
        None
    );
}

#[test]
fn a_kitchen_takes_its_cuisines_time_plus_busy_minutes_and_tells_the_server_real_minutes() {
    let range = 10..18;
    let mut rng = agent_rng(1, Stream::Kitchen, 0);
    for _ in 0..100 {
        assert!(range.contains(&prep_minutes(&range, CALM_ORDERS, &mut rng)));
    }
    let busy = prep_minutes(&(12..13), CALM_ORDERS + 3, &mut rng);
    assert_eq!(busy, 12 + 3 * BUSY_MINUTES_PER_ORDER);
    assert_eq!(server_prep_minutes(15, 1.0), 15);
    assert_eq!(server_prep_minutes(15, 10.0), 2);
    assert_eq!(server_prep_minutes(15, 60.0), 1);
    assert_eq!(server_prep_minutes(500, 1.0), 120);
    assert_eq!(server_prep_minutes(15, f64::NAN), 15);
}
