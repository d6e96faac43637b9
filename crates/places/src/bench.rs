//! `doorstep bench places`: the offline places in process. Parses the data (time, memory), runs realistic
//! searches (addresses, prefixes while typing, typos, intersections, landmarks) against the index and, as
//! a baseline in the same run, a linear scan of every name with the same matching rules; the typo queries
//! alone, with typo candidates from the deletion index and, as their baseline, from a scan of every
//! spelling of a similar length; then random routes by A* and, as the baseline, plain Dijkstra on the
//! same graph.

//!
//! The one module of the crate that reads a clock (`Instant`), for its timings; the places themselves
//! never do.

use crate::index::Fuzzy;
use crate::{Places, text};
use doorstep_geo::LatLng;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const QUERIES: &[&str] = &[
    "350 5th Ave",
    "1 Centre Street",
    "11 Wall St",
    "1000 5th Ave",
    "2000 Broadway",
    "200 W 86th St",
    "120 E 23rd St",
    "89 E 42nd St",
    "W 52 St & 11 Ave",
    "5th Ave and 42nd St",
    "Broadway & W 72nd St",
    "Park Ave at E 86 St",
    "Times Square",
    "Empire State Building",
    "Grand Central",
    "Central Park",
    "Metropolitan Museum of Art",
    "Union Square",
    "Tims Sqare",
    "Emprie State Bulding",
    "Grnad Central",
    "Brodway",
    "Lexingtn Ave",
    "harlem",
    "upper west side",
    "chelsea market",
    "W 42 St",
    "Fifth Avenue",
    "st nicholas ave",
    "starbucks",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The queries of [`QUERIES`] with typos.
const TYPO_QUERIES: &[&str] = &[
    "Tims Sqare",
    "Emprie State Bulding",
    "Grnad Central",
    "Brodway",
    "Lexingtn Ave",
];

/// The queries as typed: each query's prefixes from 3 characters, then the whole query.
fn typed_queries() -> Vec<String> {
    as_typed(QUERIES)
}

/// `queries` as typed: each one's prefixes from 3 characters, then the whole query.
fn as_typed(queries: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for q in queries {
        let chars: Vec<char> = q.chars().collect();
        for n in 3..chars.len() {
            out.push(chars[..n].iter().collect());
        }
        out.push((*q).to_owned());
    }
    out
}

/// The baseline: every name scanned, each query word matched against its words exactly, as a prefix
/// (the last word) or within the same typo allowance; the best 8 kept.
fn linear_scan(names: &[(Vec<String>, LatLng)], query: &str) -> usize {
    let words = text::tokens(query);
    let mut found: Vec<(usize, usize)> = Vec::new();
    for (i, (name, _)) in names.iter().enumerate() {
        let mut score = 0;
        for (k, w) in words.iter().enumerate() {
            let last = k + 1 == words.len();
            let max = text::typos_allowed(w.len());
            let hit = name.iter().any(|t| {
                t == w
                    || (last && t.starts_with(w.as_str()))
                    || (max > 0
                        && text::edit_distance_within(w.as_bytes(), t.as_bytes(), max).is_some())
            });
            if hit {
                score += 1;
            }
        }
        if score == words.len() && score > 0 {
            found.push((score, i));
        }
    }
    found.sort_unstable_by(|a, b| b.cmp(a));
    found.truncate(8);
    found.len()
}

struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct BenchConfig {
    /// Searches (cycling through the query list as typed).
    pub queries: usize,
    /// Random routes.
    pub routes: usize,
    /// Seed of the route ends.
    pub seed: u64,
}

/// Runs the benchmark and returns its report (lines of text).
pub fn run(args: &BenchConfig) -> Result<String, String> {
    let mut out = String::new();
    let started = Instant::now();
    let mut places = Places::parse().map_err(|e| e.to_string())?;
    let parse = started.elapsed();
    let stats = places.stats();
    let _ = writeln!(
        out,
        "parse: {:.0} ms; {} streets, {} address points, {} names, {} tokens, {} typo-index strings; ~{:.1} MiB held",
        parse.as_secs_f64() * 1e3,
        stats.streets,
        stats.addresses,
        stats.entries,
        stats.tokens,
        stats.deletions,
        stats.heap_bytes as f64 / (1 << 20) as f64
    );
    let g = stats.graph;
    let _ = writeln!(
        out,
        "graph: {} nodes, {} edges, {} dead ends joined, {} components, largest {} nodes ({:.1} %), {:.1} % of named-street nodes",
        g.nodes,
        g.edges,
        g.joined,
        g.components,
        g.largest_component,
        100.0 * g.largest_component as f64 / g.nodes.max(1) as f64,
        100.0 * g.named_in_largest as f64 / g.named_nodes.max(1) as f64
    );

    let typed = typed_queries();
    let mut index_times = Vec::with_capacity(args.queries);
    let mut hits = 0;
    let mut by_query: Vec<Vec<Duration>> = vec![Vec::new(); typed.len()];
    for i in 0..args.queries {
        let q = &typed[i % typed.len()];
        let t = Instant::now();
        hits += places.search(q, None, 8).len();
        let took = t.elapsed();
        index_times.push(took);
        by_query[i % typed.len()].push(took);
    }
    // The slowest queries by their median: what the tail is made of when it is not the machine.
    let mut slowest: Vec<(Duration, &str)> = by_query
        .iter_mut()
        .zip(&typed)
        .map(|(times, q)| {
            times.sort();
            (percentile(times, 0.5), q.as_str())
        })
        .collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    let names: Vec<(Vec<String>, LatLng)> = places
        .names()
        .map(|(label, p)| (text::tokens(label), p))
        .collect();
    let scans = args.queries.min(typed.len() * 2).max(1);
    let mut scan_times = Vec::with_capacity(scans);
    for i in 0..scans {
        let q = &typed[i % typed.len()];
        let t = Instant::now();
        std::hint::black_box(linear_scan(&names, q));
        scan_times.push(t.elapsed());
    }
    index_times.sort();
    scan_times.sort();
    let mean = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64() / v.len().max(1) as f64;
    let _ = writeln!(
        out,
        "search: {} queries ({} distinct, as typed), {:.1} hits each; index p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        args.queries,
        typed.len(),
        hits as f64 / args.queries.max(1) as f64,
        micros(percentile(&index_times, 0.5)),
        micros(percentile(&index_times, 0.99)),
        micros(index_times.last().copied().unwrap_or_default()),
    );
    let _ = writeln!(
        out,
        "slowest queries by median: {}",
        slowest
            .iter()
            .take(3)
            .map(|(d, q)| format!("{q:?} {:.0} us", micros(*d)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "search baseline (linear scan of {} names, {} queries): p50 {:.0} us, p99 {:.0} us; speedup of the index: {:.1}x at p50, {:.1}x in mean",
        names.len(),
        scans,
        micros(percentile(&scan_times, 0.5)),
        micros(percentile(&scan_times, 0.99)),
        percentile(&scan_times, 0.5).as_secs_f64()
            / percentile(&index_times, 0.5).as_secs_f64().max(1e-9),
        mean(&scan_times) / mean(&index_times).max(1e-9),
    );

    // The typo queries alone (as typed), by the deletion index and by the scan it replaced, interleaved
    // so that both see the same load.
    let typos = as_typed(TYPO_QUERIES);
    let (mut by_index, mut by_scan) = (Vec::new(), Vec::new());
    for i in 0..(args.queries / 2).max(typos.len()) {
        let q = &typos[i % typos.len()];
        for (fuzzy, times) in [(Fuzzy::Index, &mut by_index), (Fuzzy::Scan, &mut by_scan)] {
            places.index.fuzzy = fuzzy;
            let t = Instant::now();
            std::hint::black_box(places.search(q, None, 8));
            times.push(t.elapsed());
        }
    }
    places.index.fuzzy = Fuzzy::Index;
    by_index.sort();
    by_scan.sort();
    let _ = writeln!(
        out,
        "typos: {} searches ({} distinct, as typed); deletion index p50 {:.0} us, p99 {:.0} us, max {:.0} us; scan of similar-length spellings p50 {:.0} us, p99 {:.0} us; speedup {:.1}x at p50, {:.1}x at p99",
        by_index.len(),
        typos.len(),
        micros(percentile(&by_index, 0.5)),
        micros(percentile(&by_index, 0.99)),
        micros(by_index.last().copied().unwrap_or_default()),
        micros(percentile(&by_scan, 0.5)),
        micros(percentile(&by_scan, 0.99)),
        percentile(&by_scan, 0.5).as_secs_f64()
            / percentile(&by_index, 0.5).as_secs_f64().max(1e-9),
        percentile(&by_scan, 0.99).as_secs_f64()
            / percentile(&by_index, 0.99).as_secs_f64().max(1e-9),
    );

    let mut rng = Rng(args.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut point = || loop {
        let lat = 40.70 + rng.next_f64() * 0.17;
        let lng = -74.02 + rng.next_f64() * 0.11;
        if let Ok(p) = LatLng::new(lat, lng)
            && places.check_position(p).is_ok()
        {
            return p;
        }
    };
    let (mut astar, mut dijkstra) = (Vec::new(), Vec::new());
    let (mut settled_a, mut settled_d, mut tries) = (0usize, 0usize, 0usize);
    while astar.len() < args.routes && tries < args.routes * 20 {
        tries += 1;
        let (p, q) = (point(), point());
        let t = Instant::now();
        let Ok(a) = places.route_with(p, q, true) else {
            continue;
        };
        astar.push(t.elapsed());
        let t = Instant::now();
        let d = places.route_with(p, q, false).map_err(|e| e.to_string())?;
        dijkstra.push(t.elapsed());
        if (a.duration_s - d.duration_s).abs() >= 1e-6 {
            return Err(format!("A* and Dijkstra disagree between {p:?} and {q:?}"));
        }
        settled_a += a.settled;
        settled_d += d.settled;
    }
    astar.sort();
    dijkstra.sort();
    let n = astar.len().max(1);
    let _ = writeln!(
        out,
        "routes: {} random pairs on land; A* p50 {:.0} us, p99 {:.0} us, {:.0} nodes settled; Dijkstra p50 {:.0} us, p99 {:.0} us, {:.0} settled; same durations; A* speedup {:.1}x at p50, {:.1}x in mean",
        astar.len(),
        micros(percentile(&astar, 0.5)),
        micros(percentile(&astar, 0.99)),
        settled_a as f64 / n as f64,
        micros(percentile(&dijkstra, 0.5)),
        micros(percentile(&dijkstra, 0.99)),
        settled_d as f64 / n as f64,
        percentile(&dijkstra, 0.5).as_secs_f64() / percentile(&astar, 0.5).as_secs_f64().max(1e-9),
        mean(&dijkstra) / mean(&astar).max(1e-9),
    );
    Ok(out)
}
