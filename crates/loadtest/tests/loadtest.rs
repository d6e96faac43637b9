//! The load-test crate's own correctness: the grid index against brute force, the metrics
//! scraper, latency summaries and argument parsing. No timings are asserted here.

use clap::Parser;
use doorstep_geo::LatLng;
use doorstep_loadtest::{
    GeoArgs, GridIndex, IndexKind, IngestArgs, LatencySummary, PlanePoint, metric_value,
};
use proptest::prelude::*;
use std::collections::HashMap;

fn ll(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).expect("valid coordinates")
}

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
fn point() -> impl Strategy<Value = (f64, f64)> {
    (40.72f64..40.80, -74.02f64..-73.93)
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(u32, (f64, f64)),
    Remove(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..300, point()).prop_map(|(id, p)| Op::Upsert(id, p)),
        1 => (0u32..300).prop_map(Op::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_grid_finds_the_same_nearest_distances_as_brute_force(
        ops in prop::collection::vec(op(), 1..600),
        queries in prop::collection::vec((point(), 1usize..15, 0.0f64..3.0), 1..20),
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
        }
    }
}

#[test]
fn a_grid_mover_can_be_moved_removed_and_found_again() {
    let (sw, ne) = small_box();
    let mut index = GridIndex::new(sw, ne, 0.2);
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
    assert!(index.heap_bytes() > 0);
}

#[test]
fn movers_outside_the_grid_are_still_found() {
    let (sw, ne) = small_box();
    let mut index = GridIndex::new(sw, ne, 0.5);
    index.upsert(1, ll(40.70, -74.05));
    let from_inside = index.nearest(ll(40.741, -73.999), 1, 100.0);
    assert_eq!(from_inside.len(), 1);
    let from_outside = index.nearest(ll(40.69, -74.06), 1, 100.0);
    assert_eq!(from_outside.first().map(|&(id, _)| id), Some(1));
}

#[test]
fn plane_distance_is_close_to_the_great_circle_distance_in_manhattan() {
    let (sw, ne) = doorstep_geo::City::manhattan().bounding_box();
    let index = GridIndex::new(sw, ne, 0.1);
    let (a, b) = (ll(40.7069, -74.0113), ll(40.8682, -73.9205));
    let plane = index.project(a).distance_km(index.project(b));
    let sphere = doorstep_geo::haversine_km(a, b);
    assert!(
        (plane - sphere).abs() / sphere < 0.003,
        "{plane} vs {sphere}"
    );
    let origin = PlanePoint { x: 0.0, y: 0.0 };
    assert_eq!(origin.distance_km(PlanePoint { x: 3.0, y: 4.0 }), 5.0);
}

#[test]
fn the_scraper_reads_a_counter_without_labels() {
    let text = "# HELP location_updates_total Location points accepted\n\
                # TYPE location_updates_total counter\n\
                location_updates_total 12345\n\
                location_updates_total_created 1700000000\n\
                http_requests_total{route=\"/v1/x\",status=\"200\"} 7\n";
    assert_eq!(metric_value(text, "location_updates_total"), Some(12345.0));
}

#[test]
fn the_scraper_sums_label_sets_and_reads_exponents_and_timestamps() {
    let text = "http_requests_total{route=\"/a b\",status=\"200\"} 7 1700000000000\n\
                http_requests_total{route=\"/c\",status=\"500\"} 1.5e3\n";
    assert_eq!(metric_value(text, "http_requests_total"), Some(1507.0));
}

#[test]
fn the_scraper_says_none_for_a_missing_metric() {
    assert_eq!(
        metric_value("other_total 3\n", "location_updates_total"),
        None
    );
    assert_eq!(metric_value("", "location_updates_total"), None);
}

#[test]
fn latency_summaries_use_nearest_ranks() {
    let mut nanos: Vec<u64> = (1..=100).rev().map(|i| i * 1000).collect();
    let s = LatencySummary::from_nanos(&mut nanos);
    assert_eq!(s.count, 100);
    assert_eq!(s.p50_us, 50.0);
    assert_eq!(s.p99_us, 99.0);
    assert_eq!(s.max_us, 100.0);
    assert_eq!(s.mean_us, 50.5);
    assert_eq!(
        LatencySummary::from_nanos(&mut []),
        LatencySummary::default()
    );
}

#[derive(Debug, Parser)]
struct GeoCli {
    #[command(flatten)]
    args: GeoArgs,
}

#[derive(Debug, Parser)]
struct IngestCli {
    #[command(flatten)]
    args: IngestArgs,
}

#[test]
fn geo_arguments_default_to_the_three_fleet_sizes_and_both_indexes() {
    let cli = GeoCli::try_parse_from(["geo"]).expect("defaults parse");
    assert_eq!(cli.args.drivers, vec![10_000, 100_000, 1_000_000]);
    assert_eq!(cli.args.index, vec![IndexKind::H3, IndexKind::Grid]);
    assert_eq!(cli.args.k, 10);
    assert!(!cli.args.json);
}

#[test]
fn geo_arguments_take_a_list_of_fleet_sizes() {
    let cli = GeoCli::try_parse_from([
        "geo",
        "--drivers",
        "500,2000",
        "--queries",
        "7",
        "--index",
        "grid",
        "--json",
    ])
    .expect("parses");
    assert_eq!(cli.args.drivers, vec![500, 2000]);
    assert_eq!(cli.args.queries, 7);
    assert_eq!(cli.args.index, vec![IndexKind::Grid]);
    assert!(cli.args.json);
    assert!(GeoCli::try_parse_from(["geo", "--drivers", "many"]).is_err());
}

#[test]
fn ingest_arguments_have_the_documented_defaults_and_take_redis() {
    let cli = IngestCli::try_parse_from(["ingest"]).expect("defaults parse");
    assert_eq!(cli.args.url, "http://127.0.0.1:8080");
    assert_eq!(cli.args.batch, 10);
    assert_eq!(cli.args.redis, None);
    let cli = IngestCli::try_parse_from([
        "ingest",
        "--url",
        "http://127.0.0.1:18700",
        "--drivers",
        "50",
        "--seconds",
        "3",
        "--batch",
        "20",
        "--redis",
        "redis://127.0.0.1:6379",
        "--json",
    ])
    .expect("parses");
    assert_eq!(cli.args.drivers, 50);
    assert_eq!(cli.args.seconds, 3);
    assert_eq!(cli.args.batch, 20);
    assert_eq!(cli.args.redis.as_deref(), Some("redis://127.0.0.1:6379"));
    assert!(cli.args.json);
}

#[test]
fn geo_refuses_an_empty_fleet() {
    let cli = GeoCli::try_parse_from(["geo", "--drivers", "0"]).expect("parses");
    assert!(doorstep_loadtest::run_geo(&cli.args).is_err());
}
