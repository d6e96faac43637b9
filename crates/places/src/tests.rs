//! Tests on the real embedded data.

use super::*;
use crate::address::hit_point;

fn at(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).expect("valid test position")
}

fn metres(a: LatLng, b: LatLng) -> f64 {
    doorstep_geo::haversine_km(a, b) * 1000.0
}

fn places() -> &'static Places {
    Places::manhattan()
}

fn first(query: &str) -> PlaceHit {
    places()
        .search(query, None, 8)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no hit for {query:?}"))
}

#[test]
fn the_data_loads_into_one_connected_city() {
    let s = places().stats();
    println!("{s:?}");
    assert_eq!(s.streets, 662);
    assert!(s.addresses >= 21_000, "{s:?}");
    // What is cut off: the islands (Randall's, Roosevelt, Marble Hill: their bridges are not in the data)
    // and pieces of the unnamed 2012 highways.
    assert!(
        s.graph.named_in_largest * 100 >= s.graph.named_nodes * 90,
        "{s:?}"
    );
    assert!(
        s.graph.largest_component * 100 >= s.graph.nodes * 75,
        "{s:?}"
    );
    assert!(s.heap_bytes < 64 << 20, "{s:?}");
}

#[test]
fn a_house_number_finds_its_building() {
    let hit = first("350 5th Ave");
    assert_eq!(hit.label, "Empire State Building");
    assert_eq!(hit.kind, Kind::Address);
    assert_eq!(hit.precision, Precision::Exact);
    assert!(
        metres(hit_point(&hit), at(40.7484, -73.9857)) < 50.0,
        "{hit:?}"
    );
    assert!(hit.address.starts_with("350 5th Avenue"), "{hit:?}");
    // While typing, before the street type.
    let typing = first("350 5th");
    assert!(
        metres(hit_point(&typing), at(40.7484, -73.9857)) < 50.0,
        "{typing:?}"
    );
    // The Municipal Building.
    let centre = first("1 Centre Street");
    assert!(
        metres(hit_point(&centre), at(40.7131, -74.0041)) < 60.0,
        "{centre:?}"
    );
    assert_eq!(centre.precision, Precision::Exact);
}

#[test]
fn upper_manhattan_house_numbers_come_from_the_arithmetic() {
    let met = first("1000 5th Ave");
    assert_eq!(met.precision, Precision::Interpolated, "{met:?}");
    assert!(
        metres(hit_point(&met), at(40.7794, -73.9632)) < 200.0,
        "{met:?}"
    );
    let broadway = first("2000 Broadway");
    assert_eq!(broadway.precision, Precision::Interpolated, "{broadway:?}");
    // 2000 Broadway is at West 68th Street.
    assert!(
        metres(hit_point(&broadway), at(40.7760, -73.9825)) < 250.0,
        "{broadway:?}"
    );
    let street = first("200 West 86th Street");
    assert_eq!(street.precision, Precision::Interpolated, "{street:?}");
}

#[test]
fn landmarks_typos_and_neighbourhoods() {
    let times = first("Times Square");
    assert!(times.label.contains("Times Square"), "{times:?}");
    assert!(
        metres(hit_point(&times), at(40.7580, -73.9855)) < 300.0,
        "{times:?}"
    );
    let typo = first("Tims Sqare");
    assert!(typo.label.contains("Times Square"), "{typo:?}");
    let esb = first("empire state building");
    assert_eq!(esb.label, "Empire State Building");
    assert!(
        metres(hit_point(&esb), at(40.7484, -73.9857)) < 60.0,
        "{esb:?}"
    );
    let gct = first("Grand Central");
    assert!(gct.label.starts_with("Grand Central"), "{gct:?}");
    assert!(
        metres(hit_point(&gct), at(40.7527, -73.9772)) < 250.0,
        "{gct:?}"
    );
    let harlem = places().search("Harlem", None, 8);
    assert!(
        harlem.iter().any(|h| h.kind == Kind::Neighborhood),
        "{harlem:?}"
    );
    let prefix = first("empire sta");
    assert_eq!(prefix.label, "Empire State Building");
}

#[test]
fn intersections() {
    let hit = first("W 52 St & 11 Ave");
    assert_eq!(hit.kind, Kind::Intersection);
    assert_eq!(hit.label, "West 52nd Street & 11th Avenue");
    assert!(
        metres(hit_point(&hit), at(40.7672, -73.9937)) < 60.0,
        "{hit:?}"
    );
    let fifth = first("5th Ave and 42nd St");
    assert_eq!(fifth.kind, Kind::Intersection);
    assert!(
        metres(hit_point(&fifth), at(40.7535, -73.9809)) < 60.0,
        "{fifth:?}"
    );
}

#[test]
fn streets_by_their_abbreviations() {
    let hit = first("W 42 St");
    assert_eq!(hit.label, "West 42nd Street");
    assert_eq!(hit.precision, Precision::Street);
    assert_eq!(first("Fifth Avenue").label, "5th Avenue");
    assert_eq!(first("st nicholas ave").label, "Saint Nicholas Avenue");
}

#[test]
fn water_and_outside_are_refused() {
    // The Hudson, 300 m off Pier 84.
    assert_eq!(
        places().check_position(at(40.7640, -74.0040)),
        Err(PlaceError::InWater)
    );
    assert_eq!(
        places().reverse(at(40.7640, -74.0040)),
        Err(PlaceError::InWater)
    );
    // Prospect Park, Brooklyn.
    assert_eq!(
        places().check_position(at(40.6602, -73.9690)),
        Err(PlaceError::OutsideServiceArea)
    );
    assert_eq!(places().check_position(at(40.7580, -73.9855)), Ok(()));
}

#[test]
fn reverse_names_the_address_or_the_block() {
    let esb = places()
        .reverse(at(40.748442, -73.985659))
        .expect("on land");
    assert_eq!(esb.label, "Empire State Building");
    assert_eq!(esb.precision, Precision::Exact);
    assert!(
        !esb.zip.is_empty() && !esb.neighborhood.is_empty(),
        "{esb:?}"
    );
    // Upper West Side, mid-block on West 78th Street between Columbus and Amsterdam: no address points.
    let block = places().reverse(at(40.78186, -73.97709)).expect("on land");
    assert_eq!(block.street, "West 78th Street", "{block:?}");
    assert!(block.label.contains("between"), "{block:?}");
    assert_eq!(block.precision, Precision::Street);
    assert!(
        metres(block.snapped, at(40.78186, -73.97709)) < 30.0,
        "{block:?}"
    );
}

#[test]
fn routes_follow_the_streets() {
    let pairs = [
        (at(40.7580, -73.9855), at(40.7484, -73.9857)),
        (at(40.7527, -73.9772), at(40.7681, -73.9819)),
        (at(40.7359, -73.9911), at(40.7536, -73.9832)),
    ];
    for (a, b) in pairs {
        let route = places().route(a, b).expect("routable");
        let straight = metres(a, b);
        assert!(
            route.distance_m > straight,
            "{} vs {straight}",
            route.distance_m
        );
        assert!(
            route.distance_m < 1.6 * straight,
            "{} vs {straight}",
            route.distance_m
        );
        assert!(route.points.len() > 2);
        assert!(route.duration_s > 0.0);
    }
    assert_eq!(
        places().route(at(40.7580, -73.9855), at(40.7640, -74.0040)),
        Err(PlaceError::InWater)
    );
}

#[test]
fn a_star_agrees_with_dijkstra() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let mut checked = 0;
    while checked < 40 {
        let p = at(
            rng.random_range(40.70..40.87),
            rng.random_range(-74.02..-73.91),
        );
        let q = at(
            rng.random_range(40.70..40.87),
            rng.random_range(-74.02..-73.91),
        );
        let (Ok(a), Ok(d)) = (
            places().route_with(p, q, true),
            places().route_with(p, q, false),
        ) else {
            continue;
        };
        assert!((a.duration_s - d.duration_s).abs() < 1e-6, "{p:?} {q:?}");
        assert!(a.settled <= d.settled);
        checked += 1;
    }
}

#[test]
fn the_citys_lots_where_demo_trips_start_and_end_are_on_land() {
    let city = doorstep_geo::City::manhattan();
    let wet: Vec<_> = city
        .lots()
        .iter()
        .map(|l| doorstep_geo::to_latlng(l.pos))
        .filter(|&p| !places().on_land(p))
        .collect();
    assert!(wet.is_empty(), "{wet:?}");
}

/// `word` with `edits` random typos: a deletion, an insertion, a substitution or a swap of neighbours.
fn misspell(word: &str, edits: usize, rng: &mut impl rand::Rng) -> String {
    let mut b = word.as_bytes().to_vec();
    for _ in 0..edits {
        let i = rng.random_range(0..b.len());
        let letter = b"abcdefghijklmnopqrstuvwxyz"[rng.random_range(0..26)];
        match rng.random_range(0..4) {
            0 if b.len() > 1 => {
                b.remove(i);
            }
            1 => b.insert(i, letter),
            2 if i + 1 < b.len() => b.swap(i, i + 1),
            _ => b[i] = letter,
        }
    }
    String::from_utf8(b).unwrap_or_else(|_| word.to_owned())
}

#[test]
fn the_typo_index_finds_what_a_scan_of_every_spelling_finds() {
    use rand::{Rng, SeedableRng};
    let indexed = places();
    let mut scan = Places::parse().expect("embedded data parses");
    scan.index.fuzzy = index::Fuzzy::Scan;
    let names: Vec<&str> = indexed.names().map(|(label, _)| label).collect();
    let mut rng = rand_pcg::Pcg64::seed_from_u64(10);
    let (mut queries, mut by_typo, mut found) = (0, 0, 0);
    while queries < 300 {
        let words = text::words(names[rng.random_range(0..names.len())]);
        let long: Vec<usize> = (0..words.len())
            .filter(|&k| words[k].len() >= 4 && words[k].is_ascii())
            .collect();
        if long.is_empty() {
            continue;
        }
        let k = long[rng.random_range(0..long.len())];
        let typo = misspell(&words[k], rng.random_range(1..=2), &mut rng);
        // The word's own matches: the same spellings with the same weights.
        for prefix in [false, true] {
            assert_eq!(
                indexed.index.matches(&typo, prefix),
                scan.index.matches(&typo, prefix),
                "{typo:?} (prefix: {prefix})"
            );
        }
        let mut query: Vec<String> = words.clone();
        query[k] = typo.clone();
        // Half of the time the query stops inside the misspelt word, as while typing.
        if rng.random_bool(0.5) {
            query.truncate(k + 1);
            let cut = rng.random_range(typo.len().min(4)..=typo.len());
            query[k] = typo[..cut].to_owned();
        }
        let query = query.join(" ");
        let (a, b) = (
            indexed.search(&query, None, 8),
            scan.search(&query, None, 8),
        );
        assert_eq!(a.first(), b.first(), "{query:?}");
        assert_eq!(a, b, "{query:?}");
        queries += 1;
        let matched = indexed.index.matches(&typo, false);
        if !matched.is_empty() && matched.iter().all(|&(_, w)| w < 1.0) {
            by_typo += 1;
            found += usize::from(!a.is_empty());
        }
    }
    println!("{queries} queries, {by_typo} with the typo matched by typo, {found} of them found");
    // Most generated typos are matched through the typo path, not as another real word.
    assert!(by_typo >= 150, "{by_typo} of {queries}");
    assert!(found >= 150, "{found} of {queries}");
}
