//! The load-test crate's own correctness: the metrics scraper, latency summaries and argument
//! parsing (the grid index it measures is tested in `doorstep-geo`). No timings are asserted here.

use clap::Parser;
use doorstep_loadtest::{GeoArgs, IngestArgs, LatencySummary, metric_value};

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
fn geo_arguments_default_to_the_three_fleet_sizes_and_a_sized_grid() {
    let cli = GeoCli::try_parse_from(["geo"]).expect("defaults parse");
    assert_eq!(cli.args.drivers, vec![10_000, 100_000, 1_000_000]);
    assert_eq!(cli.args.grid_cell_km, None);
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
        "--grid-cell-km",
        "0.2",
        "--json",
    ])
    .expect("parses");
    assert_eq!(cli.args.drivers, vec![500, 2000]);
    assert_eq!(cli.args.queries, 7);
    assert_eq!(cli.args.grid_cell_km, Some(0.2));
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
