//! Integration tests of doorstep-geo: projection, city data, travel times, demand sampling,
//! local time and the grid index of movers.

use doorstep_geo::{
    City, CityDataError, GridIndex, LatLng, LocalTime, MAX_SPEED_KMPS, PlanePoint, Utm, ZoneIdx,
    haversine_km, new_york_local, new_york_utc_offset_secs, to_latlng, to_utm,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use std::collections::HashMap;

fn ll(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).expect("valid test coordinate")
}

fn rng(seed: u64) -> Pcg64 {
    Pcg64::seed_from_u64(seed)
}

// ---------------------------------------------------------------------------------------------
// Coordinates and projection
// ---------------------------------------------------------------------------------------------

#[test]
fn latlng_rejects_nan_infinity_and_out_of_range_values() {
    assert!(LatLng::new(f64::NAN, 0.0).is_err());
    assert!(LatLng::new(0.0, f64::NAN).is_err());
    assert!(LatLng::new(f64::INFINITY, 0.0).is_err());
    assert!(LatLng::new(0.0, f64::NEG_INFINITY).is_err());
    assert!(LatLng::new(90.5, 0.0).is_err());
    assert!(LatLng::new(-90.5, 0.0).is_err());
    assert!(LatLng::new(0.0, 180.5).is_err());
    assert!(LatLng::new(0.0, -181.0).is_err());
    let p = ll(-90.0, 180.0);
    assert_eq!((p.lat(), p.lng()), (-90.0, 180.0));
}

#[test]
fn latlng_deserialisation_validates_like_the_constructor() {
    let ok: LatLng = serde_json::from_str(r#"{"lat":40.75,"lng":-73.99}"#).expect("valid");
    assert_eq!(ok, ll(40.75, -73.99));
    assert!(serde_json::from_str::<LatLng>(r#"{"lat":95,"lng":0}"#).is_err());
}

#[test]
fn the_empire_state_building_projects_to_its_utm_coordinates() {
    // Reference values from PROJ (EPSG:4326 -> EPSG:32618), in metres / 1000.
    let cases = [
        (
            (40.7484, -73.9857),
            (585.628_409_087_783_2, 4_511.322_447_496_134),
        ),
        (
            (40.7829, -73.9654),
            (587.297_026_156_810_3, 4_515.172_215_558_679),
        ),
        (
            (40.758, -73.9855),
            (585.632_974_474_592, 4_512.388_312_994_388),
        ),
    ];
    for ((lat, lng), (x, y)) in cases {
        let p = to_utm(ll(lat, lng));
        assert!(
            (p.x - x).abs() < 1e-6 && (p.y - y).abs() < 1e-6,
            "{lat},{lng} -> {p:?}, expected ({x}, {y})"
        );
        let back = to_latlng(Utm { x, y });
        assert!((back.lat() - lat).abs() < 1e-9 && (back.lng() - lng).abs() < 1e-9);
    }
}

proptest! {
    #[test]
    fn projection_round_trips_within_a_centimetre(lat in 0.0f64..80.0, lng in -81.0f64..-69.0) {
        let p = ll(lat, lng);
        let u = to_utm(p);
        let back = to_latlng(u);
        prop_assert!(haversine_km(p, back) < 1e-5, "{p:?} -> {u:?} -> {back:?}");
        let again = to_utm(back);
        prop_assert!((again.x - u.x).hypot(again.y - u.y) < 1e-5);
    }
}

#[test]
fn haversine_gives_a_degree_of_latitude_as_about_111_km() {
    let d = haversine_km(ll(40.0, -74.0), ll(41.0, -74.0));
    assert!((d - 111.195).abs() < 0.01, "{d}");
    assert_eq!(haversine_km(ll(40.0, -74.0), ll(40.0, -74.0)), 0.0);
    // Empire State Building to Central Park's Bethesda Fountain: about 3.1 km as the crow flies.
    let d = haversine_km(ll(40.7484, -73.9857), ll(40.7741, -73.9708));
    assert!((d - 3.12).abs() < 0.01, "{d}");
}

// ---------------------------------------------------------------------------------------------
// City data
// ---------------------------------------------------------------------------------------------

#[test]
fn manhattan_has_61_zones_ordered_by_tlc_id() {
    let city = City::manhattan();
    let zones = city.zones();
    assert_eq!(zones.len(), 61);
    assert!(zones.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(city.zone_by_id(4), Some(ZoneIdx(0)));
    assert_eq!(zones[0].name, "Alphabet City");
    assert_eq!(city.zone_by_id(263), Some(ZoneIdx(60)));
    assert_eq!(
        city.zone_by_id(1),
        None,
        "Newark airport is not in Manhattan"
    );
    for (i, zone) in zones.iter().enumerate() {
        assert_eq!(city.zone_by_id(zone.id), Some(ZoneIdx(i as u8)));
        assert!(zone.polygon.len() >= 4);
        assert_eq!(
            zone.polygon.first(),
            zone.polygon.last(),
            "rings are closed"
        );
    }
}

#[test]
fn landmarks_in_manhattan_are_covered_and_neighbours_are_not() {
    let city = City::manhattan();
    let inside = [
        ("Central Park", 40.7829, -73.9654),
        ("Times Square", 40.7580, -73.9855),
        ("Empire State Building", 40.7484, -73.9857),
        ("Wall Street", 40.7060, -74.0088),
        ("Inwood Hill Park", 40.8722, -73.9256),
    ];
    for (name, lat, lng) in inside {
        assert!(city.covers(ll(lat, lng)), "{name} should be covered");
    }
    let outside = [
        ("Prospect Park, Brooklyn", 40.6602, -73.9690),
        ("Williamsburg, Brooklyn", 40.7081, -73.9571),
        ("Hoboken, New Jersey", 40.7440, -74.0324),
        ("Jersey City, New Jersey", 40.7178, -74.0431),
        ("Long Island City, Queens", 40.7447, -73.9485),
        ("Null island", 0.0, 0.0),
    ];
    for (name, lat, lng) in outside {
        assert!(!city.covers(ll(lat, lng)), "{name} should not be covered");
    }
}

#[test]
fn coverage_extends_200_metres_beyond_the_zones() {
    let city = City::manhattan();
    // The westernmost vertex of all zones: nothing lies further west.
    let west = city
        .zones()
        .iter()
        .flat_map(|z| z.polygon.iter().copied())
        .min_by(|a, b| a.x.total_cmp(&b.x))
        .expect("zones have vertices");
    let off = |km: f64| {
        to_latlng(Utm {
            x: west.x - km,
            y: west.y,
        })
    };
    assert!(city.covers(off(0.0)));
    assert!(city.covers(off(0.15)));
    assert!(!city.covers(off(0.25)));
}

#[test]
fn most_zone_centroids_lie_in_their_own_polygon() {
    let city = City::manhattan();
    let own = city
        .zones()
        .iter()
        .enumerate()
        .filter(|(i, z)| city.zone_containing(z.centroid) == Some(ZoneIdx(*i as u8)))
        .count();
    // All 61 do today; a strongly non-convex zone may have its hull centroid outside.
    assert!(
        own >= 58,
        "only {own} of 61 centroids are inside their zone"
    );
    for (i, z) in city.zones().iter().enumerate() {
        assert_eq!(city.zone_of(z.centroid), ZoneIdx(i as u8));
    }
}

#[test]
fn zone_of_mostly_agrees_with_polygon_containment() {
    let city = City::manhattan();
    let mut rng = rng(11);
    let (mut agree, mut total) = (0, 0);
    for (i, _) in city.zones().iter().enumerate() {
        let z = ZoneIdx(i as u8);
        for _ in 0..200 {
            let p = city.random_point_in_zone(z, &mut rng);
            if city.zone_containing(p) == Some(z) {
                total += 1;
                if city.zone_of(p) == z {
                    agree += 1;
                }
            }
        }
    }
    let share = f64::from(agree) / f64::from(total);
    assert!(
        share > 0.75,
        "nearest-centroid zone agrees with containment for {share:.3}"
    );
}

#[test]
fn random_points_in_a_zone_are_uniform_over_its_convex_hull() {
    let city = City::manhattan();
    let mut rng = rng(5);
    for i in [0u8, 17, 42, 60] {
        let z = ZoneIdx(i);
        let zone = &city.zones()[z.index()];
        let n = 20_000;
        let (mut sx, mut sy, mut contained) = (0.0, 0.0, 0);
        for _ in 0..n {
            let p = city.random_point_in_zone(z, &mut rng);
            sx += p.x;
            sy += p.y;
            if city.zone_containing(p) == Some(z) {
                contained += 1;
            }
        }
        let mean = Utm {
            x: sx / f64::from(n),
            y: sy / f64::from(n),
        };
        let off = (mean.x - zone.centroid.x).hypot(mean.y - zone.centroid.y);
        assert!(
            off < 0.02,
            "zone {}: sample mean {off} km from centroid",
            zone.id
        );
        assert!(
            f64::from(contained) / f64::from(n) > 0.7,
            "zone {}: too few points inside the polygon",
            zone.id
        );
    }
}

#[test]
fn lots_are_copied_with_their_zones() {
    let city = City::manhattan();
    let lots = city.lots();
    assert_eq!(lots.len(), 302);
    assert_eq!(lots[0].id, 0);
    assert_eq!(lots[0].pos.x, 584.753_435_441_005_8);
    assert_eq!(lots[0].pos.y, 4_512.001_899_403_935);
    assert_eq!(lots[0].zone, city.zone_by_id(68).expect("zone 68"));
    assert!(lots.iter().enumerate().all(|(i, l)| l.id as usize == i));
}

#[test]
fn the_bounding_box_frames_manhattan() {
    let city = City::manhattan();
    let (sw, ne) = city.bounding_box();
    assert!((40.68..40.71).contains(&sw.lat()), "{sw:?}");
    assert!((-74.03..-74.00).contains(&sw.lng()), "{sw:?}");
    assert!((40.87..40.89).contains(&ne.lat()), "{ne:?}");
    assert!((-73.92..-73.90).contains(&ne.lng()), "{ne:?}");
}

/// The files of a one-zone city: a 1 km square, no lots, 10 m/s everywhere, one trip a window.
fn tiny_city_files() -> (String, String, Vec<u8>, Vec<u8>) {
    let zones = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"zone_id":7,"zone_name":"Square"},
        "geometry":{"type":"Polygon","coordinates":[[[586,4512],[587,4512],[587,4513],[586,4513],[586,4512]]]}}]}"#;
    let lots = "id,x,y,zone\n0,586.5,4512.5,7\n".to_string();
    let speeds: Vec<u8> = (0..96)
        .flat_map(|_| [0.01f32.to_le_bytes(), 0.001f32.to_le_bytes()])
        .flatten()
        .collect();
    let trips = vec![1u8; 5 * 96];
    (zones.to_string(), lots, speeds, trips)
}

#[test]
fn a_city_in_the_documented_format_parses() {
    let (zones, lots, speeds, trips) = tiny_city_files();
    let city = City::parse(&zones, &lots, &speeds, &trips).expect("valid city");
    assert_eq!(city.zones().len(), 1);
    assert_eq!(city.zone_by_id(7), Some(ZoneIdx(0)));
    let centroid = city.zones()[0].centroid;
    assert!((centroid.x - 586.5).abs() < 1e-9 && (centroid.y - 4512.5).abs() < 1e-9);
    assert_eq!(city.lots()[0].zone, ZoneIdx(0));
    assert_eq!(city.demand().total(), 480);
    let a = Utm {
        x: 586.1,
        y: 4512.1,
    };
    let b = Utm {
        x: 586.9,
        y: 4512.9,
    };
    let secs = city.mean_travel_secs(a, b, 0);
    assert!((secs - city.l1_km(a, b) / f64::from(0.01f32)).abs() < 1e-9);
}

#[test]
fn malformed_city_files_are_rejected_with_a_reason() {
    let (zones, lots, speeds, trips) = tiny_city_files();
    let err = |r: Result<City, CityDataError>| r.expect_err("must be rejected").to_string();
    assert!(err(City::parse(&zones, &lots, &speeds[1..], &trips)).starts_with("speeds:"));
    assert!(err(City::parse(&zones, &lots, &speeds, &trips[1..])).starts_with("trips:"));
    assert!(err(City::parse("{}", &lots, &speeds, &trips)).starts_with("zones"));
    let bad_lots = "id,x,y,zone\n0,586.5,4512.5,8\n";
    assert_eq!(
        err(City::parse(&zones, bad_lots, &speeds, &trips)),
        "lots line 2: unknown zone"
    );
    let mut zero_speed = speeds.clone();
    zero_speed[..4].copy_from_slice(&0f32.to_le_bytes());
    assert!(err(City::parse(&zones, &lots, &zero_speed, &trips)).starts_with("speeds:"));
}

// ---------------------------------------------------------------------------------------------
// Distances and travel times
// ---------------------------------------------------------------------------------------------

#[test]
fn l1_distance_follows_the_street_grid_rotated_29_degrees() {
    let city = City::manhattan();
    let a = Utm {
        x: 586.0,
        y: 4512.0,
    };
    let angle = 29f64.to_radians();
    // One km up an avenue (29° east of north) is one km of L1 distance.
    let up_avenue = Utm {
        x: a.x + angle.sin(),
        y: a.y + angle.cos(),
    };
    assert!((city.l1_km(a, up_avenue) - 1.0).abs() < 1e-12);
    // One km due north crosses the grid diagonally.
    let north = Utm {
        x: a.x,
        y: a.y + 1.0,
    };
    let expected = angle.cos() + angle.sin();
    assert!((city.l1_km(a, north) - expected).abs() < 1e-12);
    assert_eq!(city.l1_km(a, a), 0.0);
    let g = city.to_street_grid(up_avenue);
    let h = city.to_street_grid(a);
    assert!((g.x - h.x).abs() < 1e-12 && (g.y - h.y - 1.0).abs() < 1e-12);
}

#[test]
fn speeds_come_from_the_data_by_fifteen_minute_window() {
    let city = City::manhattan();
    let z4 = city.zone_by_id(4).expect("zone 4");
    // speeds.csv: 4,4,0,0.004769425 ... and 4,4,15,0.00474800125
    let s = city.speed(z4, z4, 0);
    assert!((s.mean_kmps - 0.004_769_425).abs() < 1e-9);
    assert!((s.stddev_kmps - 0.001_255_449_165_554_3).abs() < 1e-9);
    assert_eq!(city.speed(z4, z4, 899), s);
    let s15 = city.speed(z4, z4, 900);
    assert!((s15.mean_kmps - 0.004_748_001_25).abs() < 1e-9);
    assert_eq!(
        city.speed(z4, z4, 86_400),
        s,
        "the window wraps at midnight"
    );
}

#[test]
fn travel_times_are_positive_and_finite_for_every_zone_pair_and_window() {
    let city = City::manhattan();
    let mut rng = rng(3);
    let zones = city.zones();
    for (i, from) in zones.iter().enumerate() {
        for (j, to) in zones.iter().enumerate() {
            let a = from.centroid;
            let b = if i == j {
                Utm {
                    x: to.centroid.x + 0.05,
                    y: to.centroid.y + 0.05,
                }
            } else {
                to.centroid
            };
            assert_eq!(city.zone_of(b), ZoneIdx(j as u8));
            let l1 = city.l1_km(a, b);
            for window in 0..96u32 {
                let t = window * 900 + 450;
                let mean = city.mean_travel_secs(a, b, t);
                assert!(
                    mean.is_finite() && mean > 0.0,
                    "{i}->{j} window {window}: {mean}"
                );
                let sampled = city.sample_travel_secs(a, b, t, &mut rng);
                assert!(sampled.is_finite() && sampled > 0.0);
                assert!(sampled >= l1 / MAX_SPEED_KMPS - 1e-9);
            }
        }
    }
}

#[test]
fn sampled_travel_times_scatter_around_the_mean_speed() {
    let city = City::manhattan();
    let a = to_utm(ll(40.7484, -73.9857));
    let b = to_utm(ll(40.7829, -73.9654));
    let t = 9 * 3600;
    let speed = city.speed(city.zone_of(a), city.zone_of(b), t);
    let l1 = city.l1_km(a, b);
    let mut rng = rng(9);
    let n = 20_000;
    let mean_speed: f64 = (0..n)
        .map(|_| l1 / city.sample_travel_secs(a, b, t, &mut rng))
        .sum::<f64>()
        / f64::from(n);
    // Clipping at 1 mph barely matters for these zones; the mean speed is recovered.
    let tolerance = 5.0 * speed.stddev_kmps / f64::from(n).sqrt() + 1e-5;
    assert!(
        (mean_speed - speed.mean_kmps).abs() < tolerance,
        "{mean_speed} vs {}",
        speed.mean_kmps
    );
    let expected = l1 / speed.mean_kmps;
    assert!((city.mean_travel_secs(a, b, t) - expected).abs() < 1e-9);
}

// ---------------------------------------------------------------------------------------------
// Demand
// ---------------------------------------------------------------------------------------------

#[test]
fn the_demand_table_round_trips_the_csv_totals() {
    let demand = City::manhattan().demand();
    assert_eq!(demand.row_count(), 1_600_497);
    assert_eq!(demand.total(), 110_932_862);
    let by_day = [17_759_102, 21_894_508, 22_767_240, 23_446_334, 25_065_678];
    for (dow, total) in by_day.into_iter().enumerate() {
        assert_eq!(demand.weekday_total(dow as u8), total);
    }
    assert_eq!(demand.weekday_total(5), 0, "weekends have no data");
    let windows: u64 = (0..5)
        .flat_map(|d| (0..96).map(move |w| (d, w)))
        .map(|(d, w)| u64::from(demand.trips_in_window(d, w)))
        .sum();
    assert_eq!(windows, 110_932_862);
    assert_eq!(demand.trips_in_window(0, 36), 274_499);
    assert_eq!(demand.trips_in_window(6, 36), 0);
    assert_eq!(demand.trips_in_window(0, 96), 0);
    assert!(demand.rows(5, 0).is_empty());
}

#[test]
fn demand_rows_keep_the_csv_order_and_values() {
    let city = City::manhattan();
    let demand = city.demand();
    let z = |id| city.zone_by_id(id).expect("known zone");
    // First two and last two lines of trips.csv.
    let first = demand.rows(0, 0);
    assert_eq!(
        (first[0].pickup, first[0].dropoff, first[0].trips),
        (z(4), z(4), 15)
    );
    assert_eq!(
        (first[1].pickup, first[1].dropoff, first[1].trips),
        (z(4), z(13), 5)
    );
    let last = demand.rows(4, 95);
    let n = last.len();
    assert_eq!(
        (last[n - 2].pickup, last[n - 2].dropoff, last[n - 2].trips),
        (z(263), z(261), 10)
    );
    assert_eq!(
        (last[n - 1].pickup, last[n - 1].dropoff, last[n - 1].trips),
        (z(263), z(263), 242)
    );
    for dow in 0..5 {
        for window in 0..96 {
            let rows = demand.rows(dow, window);
            assert!(!rows.is_empty());
            assert!(
                rows.windows(2)
                    .all(|r| (r[0].pickup, r[0].dropoff) < (r[1].pickup, r[1].dropoff))
            );
            let sum: u32 = rows.iter().map(|r| r.trips).sum();
            assert_eq!(sum, demand.trips_in_window(dow, window));
        }
    }
}

#[test]
fn sampled_pairs_follow_the_trip_counts() {
    let city = City::manhattan();
    let demand = city.demand();
    let mut rng = rng(42);
    let (dow, window) = (0, 36);
    let total = f64::from(demand.trips_in_window(dow, window));
    let draws = 200_000;
    let mut counts = std::collections::HashMap::new();
    for _ in 0..draws {
        *counts
            .entry(demand.sample_pair(dow, window, &mut rng))
            .or_insert(0u32) += 1;
    }
    let rows = demand.rows(dow, window);
    // Every drawn pair is a row of the window.
    assert!(
        counts
            .keys()
            .all(|&(p, d)| rows.iter().any(|r| (r.pickup, r.dropoff) == (p, d)))
    );
    // The busiest rows are drawn in proportion to their trips (within 5 standard deviations).
    let mut busiest: Vec<_> = rows.to_vec();
    busiest.sort_by_key(|r| std::cmp::Reverse(r.trips));
    for row in &busiest[..20] {
        let p = f64::from(row.trips) / total;
        let expected = p * f64::from(draws);
        let sd = (f64::from(draws) * p * (1.0 - p)).sqrt();
        let got = f64::from(counts.get(&(row.pickup, row.dropoff)).copied().unwrap_or(0));
        assert!(
            (got - expected).abs() < 5.0 * sd,
            "{row:?}: {got} vs {expected}"
        );
    }
}

#[test]
fn sampled_weekdays_follow_the_weekday_totals() {
    let demand = City::manhattan().demand();
    let mut rng = rng(1);
    let draws = 100_000;
    let mut counts = [0u32; 5];
    for _ in 0..draws {
        counts[usize::from(demand.sample_weekday(&mut rng))] += 1;
    }
    for (dow, &got) in counts.iter().enumerate() {
        let p = demand.weekday_total(dow as u8) as f64 / demand.total() as f64;
        let expected = p * f64::from(draws);
        let sd = (f64::from(draws) * p * (1.0 - p)).sqrt();
        assert!(
            (f64::from(got) - expected).abs() < 5.0 * sd,
            "dow {dow}: {got} vs {expected}"
        );
    }
}

#[test]
fn the_same_seed_draws_the_same_pairs() {
    let demand = City::manhattan().demand();
    let draw = |seed| {
        let mut r = rng(seed);
        (0..100)
            .map(|_| demand.sample_pair(2, 70, &mut r))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

// ---------------------------------------------------------------------------------------------
// New York local time
// ---------------------------------------------------------------------------------------------

#[test]
fn the_unix_epoch_was_a_wednesday_evening_in_new_york() {
    let t = new_york_local(0);
    assert_eq!(
        t,
        LocalTime {
            weekday: 2,
            seconds_of_day: 19 * 3600
        }
    );
    assert_eq!(new_york_utc_offset_secs(0), -5 * 3600);
}

#[test]
fn clocks_spring_forward_at_2am_on_the_second_sunday_of_march() {
    // 2024-03-10 06:59:59 UTC is 01:59:59 EST; one second later it is 03:00:00 EDT.
    let before = new_york_local(1_710_053_999);
    assert_eq!(
        before,
        LocalTime {
            weekday: 6,
            seconds_of_day: 3600 + 59 * 60 + 59
        }
    );
    let after = new_york_local(1_710_054_000);
    assert_eq!(
        after,
        LocalTime {
            weekday: 6,
            seconds_of_day: 3 * 3600
        }
    );
    assert_eq!(new_york_utc_offset_secs(1_710_053_999), -5 * 3600);
    assert_eq!(new_york_utc_offset_secs(1_710_054_000), -4 * 3600);
}

#[test]
fn clocks_fall_back_at_2am_on_the_first_sunday_of_november() {
    // 2024-11-03 05:59:59 UTC is 01:59:59 EDT; one second later it is 01:00:00 EST again.
    let before = new_york_local(1_730_613_599);
    assert_eq!(
        before,
        LocalTime {
            weekday: 6,
            seconds_of_day: 3600 + 59 * 60 + 59
        }
    );
    let after = new_york_local(1_730_613_600);
    assert_eq!(
        after,
        LocalTime {
            weekday: 6,
            seconds_of_day: 3600
        }
    );
    assert_eq!(new_york_utc_offset_secs(1_730_613_600), -5 * 3600);
}

#[test]
fn a_summer_afternoon_is_on_daylight_time() {
    // 2018-07-04 16:00 UTC, a Wednesday, is noon in New York.
    let t = new_york_local(1_530_720_000);
    assert_eq!(
        t,
        LocalTime {
            weekday: 2,
            seconds_of_day: 12 * 3600
        }
    );
    assert_eq!(t.window(), 48);
    assert_eq!(t.nearest_weekday(), 2);
    let saturday = LocalTime {
        weekday: 5,
        seconds_of_day: 0,
    };
    let sunday = LocalTime {
        weekday: 6,
        seconds_of_day: 0,
    };
    assert_eq!(
        (saturday.nearest_weekday(), sunday.nearest_weekday()),
        (4, 0)
    );
}

#[test]
fn extreme_timestamps_do_not_panic() {
    for t in [i64::MIN, i64::MIN + 1, -1, i64::MAX] {
        let local = new_york_local(t);
        assert!(local.weekday < 7 && local.seconds_of_day < 86_400);
    }
}

// ---------------------------------------------------------------------------------------------
// Grid index of movers
// ---------------------------------------------------------------------------------------------

/// A box of about 4 km × 4 km in Midtown.
fn small_box() -> (LatLng, LatLng) {
    (ll(40.74, -74.00), ll(40.776, -73.953))
}

/// The k nearest distances by scanning every mover, computed as the index computes them.
fn brute_force(
    index: &GridIndex,
    movers: &HashMap<u32, LatLng>,
    q: LatLng,
    k: usize,
    max_km: f64,
) -> Vec<f64> {
    let origin = index.project(q);
    let mut d: Vec<f64> = movers
        .values()
        .map(|&p| origin.distance_km(index.project(p)))
        .filter(|&d| d <= max_km)
        .collect();
    d.sort_by(f64::total_cmp);
    d.truncate(k);
    d
}

/// Coordinates mostly inside the small box, some around it (the overflow bucket).
fn grid_point() -> impl Strategy<Value = (f64, f64)> {
    (40.72f64..40.80, -74.02f64..-73.93)
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u32, (f64, f64)),
    Remove(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..300, grid_point()).prop_map(|(id, p)| Op::Upsert(id, p)),
        1 => (0u32..300).prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_grid_finds_the_same_nearest_distances_and_counts_as_brute_force(
        ops in prop::collection::vec(op(), 1..600),
        queries in prop::collection::vec((grid_point(), 1usize..15, 0.0f64..3.0), 1..20),
        cell_km in 0.05f64..1.5,
    ) {
        let (sw, ne) = small_box();
        let mut index = GridIndex::new(sw, ne, cell_km);
        let mut movers = HashMap::new();
        for op in ops {
            match op {
                Op::Upsert(id, (lat, lng)) => {
                    index.upsert(id, ll(lat, lng));
                    movers.insert(id, ll(lat, lng));
                }
                Op::Remove(id) => {
                    prop_assert_eq!(index.remove(id), movers.remove(&id).is_some());
                }
            }
        }
        prop_assert_eq!(index.len(), movers.len());
        for ((lat, lng), k, max_km) in queries {
            let q = ll(lat, lng);
            let found = index.nearest(q, k, max_km);
            let distances: Vec<f64> = found.iter().map(|&(_, d)| d).collect();
            prop_assert_eq!(&distances, &brute_force(&index, &movers, q, k, max_km));
            for (id, d) in found {
                let p = movers.get(&id).copied();
                prop_assert!(p.is_some(), "found a removed mover {}", id);
                if let Some(p) = p {
                    prop_assert_eq!(index.project(q).distance_km(index.project(p)), d);
                }
            }
            let within = brute_force(&index, &movers, q, usize::MAX, max_km).len();
            prop_assert_eq!(index.count_within(q, max_km), within);
        }
    }
}

#[test]
fn a_grid_mover_can_be_moved_removed_and_found_again() {
    let (sw, ne) = small_box();
    let mut index = GridIndex::new(sw, ne, 0.2);
    assert!(index.is_empty());
    index.upsert(3, ll(40.75, -73.99));
    index.upsert(9, ll(40.76, -73.98));
    assert_eq!(index.len(), 2);
    index.upsert(3, ll(40.7601, -73.9801));
    assert_eq!(index.len(), 2);
    let near = index.nearest(ll(40.76, -73.98), 1, 1.0);
    assert_eq!(near.first().map(|&(id, _)| id), Some(9));
    assert!(index.remove(9));
    assert!(!index.remove(9));
    assert!(!index.remove(1000));
    let near = index.nearest(ll(40.76, -73.98), 5, 1.0);
    assert_eq!(near.iter().map(|&(id, _)| id).collect::<Vec<_>>(), vec![3]);
    assert!(index.position(9).is_none());
    assert_eq!(index.iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![3]);
    assert!(index.heap_bytes() > 0);
}

#[test]
fn movers_outside_the_grid_are_still_found_and_counted() {
    let (sw, ne) = small_box();
    let mut index = GridIndex::new(sw, ne, 0.5);
    index.upsert(1, ll(40.70, -74.05));
    let from_inside = index.nearest(ll(40.741, -73.999), 1, 100.0);
    assert_eq!(from_inside.len(), 1);
    let from_outside = index.nearest(ll(40.69, -74.06), 1, 100.0);
    assert_eq!(from_outside.first().map(|&(id, _)| id), Some(1));
    assert_eq!(index.count_within(ll(40.741, -73.999), 100.0), 1);
    assert_eq!(index.count_within(ll(40.69, -74.06), f64::INFINITY), 1);
    assert_eq!(index.count_within(ll(40.741, -73.999), 1.0), 0);
}

#[test]
fn grid_queries_with_odd_limits_answer_empty_or_everything_never_panic() {
    let (sw, ne) = small_box();
    let mut index = GridIndex::new(sw, ne, f64::NAN);
    let q = ll(40.75, -73.98);
    assert!(index.nearest(q, 10, 1.0).is_empty());
    index.upsert(0, ll(40.75, -73.98));
    index.upsert(1, ll(40.751, -73.981));
    assert!(index.nearest(q, 0, 1.0).is_empty());
    assert!(index.nearest(q, 10, -1.0).is_empty());
    assert!(index.nearest(q, 10, f64::NAN).is_empty());
    assert_eq!(index.nearest(q, usize::MAX, f64::INFINITY).len(), 2);
    assert_eq!(index.count_within(q, f64::NAN), 0);
    assert_eq!(index.count_within(q, -1.0), 0);
    assert_eq!(index.count_within(q, f64::INFINITY), 2);
    // A degenerate box still holds movers (all in one cell or the overflow bucket).
    let mut point_box = GridIndex::new(q, q, 0.1);
    point_box.upsert(4, ll(40.76, -73.97));
    assert_eq!(point_box.nearest(q, 1, 5.0).len(), 1);
}

#[test]
fn plane_distance_is_close_to_the_great_circle_distance_in_manhattan() {
    let (sw, ne) = City::manhattan().bounding_box();
    let index = GridIndex::new(sw, ne, 0.1);
    let (a, b) = (ll(40.7069, -74.0113), ll(40.8682, -73.9205));
    let plane = index.project(a).distance_km(index.project(b));
    let sphere = haversine_km(a, b);
    assert!(
        (plane - sphere).abs() / sphere < 0.003,
        "{plane} vs {sphere}"
    );
    let origin = PlanePoint { x: 0.0, y: 0.0 };
    assert_eq!(origin.distance_km(PlanePoint { x: 3.0, y: 4.0 }), 5.0);
}

#[test]
fn a_grid_sized_for_a_fleet_has_a_few_movers_per_cell() {
    let (sw, ne) = City::manhattan().bounding_box();
    let small = GridIndex::for_fleet(sw, ne, 10_000);
    let big = GridIndex::for_fleet(sw, ne, 1_000_000);
    assert!(big.cell_km() < small.cell_km());
    let per_cell = 1_000_000.0 / big.cell_count() as f64;
    assert!((2.0..=8.0).contains(&per_cell), "{per_cell}");
}

// ---------------------------------------------------------------------------------------------
// Coarse sightings
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn a_snapped_position_is_near_the_true_one_and_snapping_it_again_changes_nothing(
        lat in 40.68f64..40.88, lng in -74.03f64..-73.90,
    ) {
        let p = ll(lat, lng);
        let snapped = doorstep_geo::snap_to_grid(p, doorstep_geo::COARSE_CELL_M);
        // Half the diagonal of a 50 m cell, with a little slack for the spherical model.
        prop_assert!(haversine_km(p, snapped) * 1000.0 <= 36.0, "{p:?} -> {snapped:?}");
        prop_assert_eq!(doorstep_geo::snap_to_grid(snapped, doorstep_geo::COARSE_CELL_M), snapped);
    }
}

#[test]
fn positions_in_one_cell_snap_to_the_same_node_and_far_ones_do_not() {
    use doorstep_geo::{COARSE_CELL_M, snap_to_grid};
    let a = snap_to_grid(ll(40.758_000, -73.985_500), COARSE_CELL_M);
    let b = snap_to_grid(ll(40.758_010, -73.985_510), COARSE_CELL_M);
    let far = snap_to_grid(ll(40.759_000, -73.985_500), COARSE_CELL_M);
    assert_eq!(a, b, "a metre apart");
    assert_ne!(a, far, "110 m apart");
    // A cell that is not positive leaves the position as it is.
    assert_eq!(snap_to_grid(ll(40.7, -73.9), 0.0), ll(40.7, -73.9));
    // The grid stays inside the valid range at the edges of the world.
    for (lat, lng) in [(90.0, 180.0), (-90.0, -180.0), (89.9999, 179.9999)] {
        let s = snap_to_grid(ll(lat, lng), COARSE_CELL_M);
        assert!(s.lat().abs() <= 90.0 && s.lng().abs() <= 180.0, "{s:?}");
    }
}

#[test]
fn coarse_sightings_round_distances_and_etas_and_sort_by_the_coarse_distance() {
    use doorstep_geo::{COARSE_CELL_M, COARSE_ETA_S, Sighting, coarsen_sightings, snap_to_grid};
    let exact = [
        Sighting {
            position: ll(40.7600, -73.9800),
            distance_m: 612.4,
            eta_s: 151.0,
        },
        Sighting {
            position: ll(40.7500, -73.9900),
            distance_m: 37.0,
            eta_s: 14.0,
        },
        Sighting {
            position: ll(40.7550, -73.9850),
            distance_m: 290.0,
            eta_s: 95.0,
        },
        Sighting {
            position: ll(40.7551, -73.9851),
            distance_m: -3.0,
            eta_s: f64::NAN,
        },
    ];
    let coarse = coarsen_sightings(&exact, &mut rng(1));
    assert_eq!(coarse.len(), exact.len());
    let distances: Vec<f64> = coarse.iter().map(|s| s.distance_m).collect();
    assert_eq!(distances, [0.0, 50.0, 300.0, 600.0]);
    let etas: Vec<f64> = coarse.iter().map(|s| s.eta_s).collect();
    assert_eq!(etas, [0.0, 0.0, 90.0, 150.0]);
    for s in &coarse {
        assert_eq!(
            snap_to_grid(s.position, COARSE_CELL_M),
            s.position,
            "on the grid"
        );
        assert_eq!(s.distance_m % COARSE_CELL_M, 0.0);
        assert_eq!(s.eta_s % COARSE_ETA_S, 0.0);
    }
}

#[test]
fn sightings_at_the_same_coarse_distance_come_in_a_random_order() {
    use doorstep_geo::{Sighting, coarsen_sightings};
    let exact: Vec<Sighting> = (0..6)
        .map(|i| Sighting {
            position: ll(40.75 + f64::from(i) * 0.001, -73.98),
            distance_m: 400.0 + f64::from(i),
            eta_s: 120.0,
        })
        .collect();
    let orders: std::collections::HashSet<Vec<u64>> = (0..20)
        .map(|seed| {
            coarsen_sightings(&exact, &mut rng(seed))
                .iter()
                .map(|s| s.position.lat().to_bits())
                .collect()
        })
        .collect();
    assert!(
        orders.len() > 1,
        "ties are shuffled, not kept in the exact order"
    );
    // The same seed gives the same order.
    assert_eq!(
        coarsen_sightings(&exact, &mut rng(3)),
        coarsen_sightings(&exact, &mut rng(3))
    );
}
