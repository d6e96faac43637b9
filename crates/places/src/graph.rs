//! The road graph: an undirected graph of the named streets, A* over travel time, and a plain Dijkstra
//! to check it against.
//!
//! Nodes are the streets' points; two pieces of street meet where they share a point (the data is rounded
//! to 5 decimals, about 1 m, so shared points are equal). Where a street ends within [`JOIN_M`] of another
//! street's point, or within [`JOIN_M`] of the inside of another street's segment (a T-junction drawn
//! without a shared point), the two are joined: the segment is split there. The data has no one-way or
//! turn information, so the graph is undirected and a route is what a car could drive if every street
//! went both ways. Only the largest connected piece is routable: endpoints snap to its edges.
//!
//! A*'s lower bound of the time left is the larger of the straight line at the top speed and the ALT
//! bound of [`LANDMARKS`] landmarks (travel times from a few far-apart nodes, computed once, and the
//! triangle inequality): both consistent, so A* settles fewer nodes than Dijkstra and finds the same
//! time, which the tests check on random pairs.

use crate::geom::{Grid, Xy, project};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Dead ends within this many metres of another street are joined to it.
pub const JOIN_M: f64 = 5.0;

/// The fastest speed of any road class, metres per second: the A* heuristic's speed.
pub const MAX_SPEED_MPS: f64 = 20.0;

/// No street (the id of an edge that joins two streets).
pub const NO_STREET: u32 = u32::MAX;

/// The assumed speed of a road class (OSM `highway`), metres per second: New York's 25 mph limit on
/// city streets less their lights and traffic, more on the highways.
pub fn speed_mps(class: &str) -> f64 {
    match class {
        "motorway" => MAX_SPEED_MPS,
        "trunk" | "motorway_link" => 15.0,
        "primary" | "trunk_link" => 9.0,
        "secondary" | "primary_link" => 8.5,
        "tertiary" | "secondary_link" => 8.0,
        "residential" | "unclassified" | "tertiary_link" => 7.0,
        "living_street" => 4.0,
        _ => 6.0,
    }
}

/// One undirected edge: a straight piece of one street.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// One end.
    pub a: u32,
    /// The other end.
    pub b: u32,
    /// Length in metres.
    pub len_m: f64,
    /// Travel time in seconds.
    pub secs: f64,
    /// The street (index into the street list), or [`NO_STREET`].
    pub street: u32,
}

/// A point on an edge: where a position lands on the road network.
#[derive(Debug, Clone, Copy)]
pub struct Snap {
    /// The edge.
    pub edge: u32,
    /// Fraction of the way from the edge's `a` to its `b`.
    pub t: f64,
    /// The point.
    pub point: Xy,
    /// Its distance from the position, metres.
    pub dist_m: f64,
}

/// A route on the graph.
#[derive(Debug, Clone)]
pub struct Path {
    /// Length in metres.
    pub distance_m: f64,
    /// Travel time in seconds.
    pub duration_s: f64,
    /// The polyline from the first snap point to the last.
    pub points: Vec<Xy>,
    /// Nodes the search settled (its work).
    pub settled: usize,
}

/// What the graph looks like: for the benchmark and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphStats {
    /// Nodes.
    pub nodes: usize,
    /// Undirected edges.
    pub edges: usize,
    /// Dead ends joined to a nearby street.
    pub joined: usize,
    /// Connected components.
    pub components: usize,
    /// Nodes in the largest component.
    pub largest_component: usize,
    /// Nodes on a named street (the rest are the unnamed 2012 highway pieces).
    pub named_nodes: usize,
    /// Of those, the nodes in the largest component.
    pub named_in_largest: usize,
}

/// The road graph.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Node positions.
    pub nodes: Vec<Xy>,
    /// Edges.
    pub edges: Vec<Edge>,
    adj_start: Vec<u32>,
    adj: Vec<(u32, u32)>,
    component: Vec<u32>,
    largest: u32,
    stats: GraphStats,
    grid: Grid,
    /// Travel times from each landmark to every node (the ALT lower bounds of A*).
    landmarks: Vec<Vec<f64>>,
}

/// How many landmarks A* takes its lower bounds from.
pub const LANDMARKS: usize = 8;

/// One street's line: its street id, speed, points.
#[derive(Debug, Clone)]
pub struct Line {
    /// Street id or [`NO_STREET`].
    pub street: u32,
    /// Speed of its class, m/s.
    pub speed: f64,
    /// Its points.
    pub points: Vec<(f64, f64)>,
}

impl Graph {
    /// The graph of `lines`.
    pub fn build(lines: &[Line]) -> Graph {
        let mut index: HashMap<(i64, i64), u32> = HashMap::new();
        let mut nodes: Vec<Xy> = Vec::new();
        // (a, b, street, speed)
        let mut raw: Vec<(u32, u32, u32, f64)> = Vec::new();
        for line in lines {
            let mut last: Option<u32> = None;
            for &(lat, lng) in &line.points {
                let key = ((lat * 1e5).round() as i64, (lng * 1e5).round() as i64);
                let id = *index.entry(key).or_insert_with(|| {
                    nodes.push(Xy::of(lat, lng));
                    (nodes.len() - 1) as u32
                });
                if let Some(prev) = last
                    && prev != id
                {
                    raw.push((prev, id, line.street, line.speed));
                }
                last = Some(id);
            }
        }
        let joined = join_dead_ends(&nodes, &mut raw);
        let edges: Vec<Edge> = raw
            .iter()
            .map(|&(a, b, street, speed)| {
                let len_m = nodes[a as usize].dist(nodes[b as usize]);
                Edge {
                    a,
                    b,
                    len_m,
                    secs: len_m / speed,
                    street,
                }
            })
            .collect();
        let (adj_start, adj) = adjacency(nodes.len(), &edges);
        let mut graph = Graph {
            grid: edge_grid(&nodes, &edges),
            nodes,
            edges,
            adj_start,
            adj,
            component: Vec::new(),
            largest: 0,
            landmarks: Vec::new(),
            stats: GraphStats {
                nodes: 0,
                edges: 0,
                joined,
                components: 0,
                largest_component: 0,
                named_nodes: 0,
                named_in_largest: 0,
            },
        };
        graph.label_components();
        graph.place_landmarks();
        graph
    }

    /// Picks [`LANDMARKS`] nodes of the largest component spread apart (each the farthest in a straight
    /// line from those already picked, starting from the southernmost) and stores their travel times to
    /// every node.
    fn place_landmarks(&mut self) {
        let in_largest: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&u| self.component[u as usize] == self.largest)
            .collect();
        let Some(&first) = in_largest.iter().min_by(|a, b| {
            self.nodes[**a as usize]
                .y
                .total_cmp(&self.nodes[**b as usize].y)
        }) else {
            return;
        };
        let mut picked = vec![first];
        let mut gap: Vec<f64> = in_largest
            .iter()
            .map(|&u| self.nodes[u as usize].dist(self.nodes[first as usize]))
            .collect();
        while picked.len() < LANDMARKS {
            let Some((i, _)) = gap.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else {
                break;
            };
            let next = in_largest[i];
            picked.push(next);
            for (k, &u) in in_largest.iter().enumerate() {
                gap[k] = gap[k].min(self.nodes[u as usize].dist(self.nodes[next as usize]));
            }
        }
        self.landmarks = picked.iter().map(|&l| self.travel_times_from(l)).collect();
    }

    /// Travel times from `source` to every node (plain Dijkstra over the whole graph).
    fn travel_times_from(&self, source: u32) -> Vec<f64> {
        let mut dist = vec![f64::INFINITY; self.nodes.len()];
        let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
        dist[source as usize] = 0.0;
        heap.push(Reverse((0f64.to_bits(), source)));
        while let Some(Reverse((d, u))) = heap.pop() {
            let d = f64::from_bits(d);
            if d > dist[u as usize] {
                continue;
            }
            for &(v, e) in self.neighbours(u) {
                let nd = d + self.edges[e as usize].secs;
                if nd < dist[v as usize] {
                    dist[v as usize] = nd;
                    heap.push(Reverse((nd.to_bits(), v)));
                }
            }
        }
        dist
    }

    fn label_components(&mut self) {
        let n = self.nodes.len();
        let mut component = vec![u32::MAX; n];
        let mut sizes: Vec<usize> = Vec::new();
        let mut stack = Vec::new();
        for start in 0..n {
            if component[start] != u32::MAX {
                continue;
            }
            let c = sizes.len() as u32;
            component[start] = c;
            stack.push(start as u32);
            let mut size = 0;
            while let Some(u) = stack.pop() {
                size += 1;
                for &(v, _) in self.neighbours(u) {
                    if component[v as usize] == u32::MAX {
                        component[v as usize] = c;
                        stack.push(v);
                    }
                }
            }
            sizes.push(size);
        }
        let (largest, size) = sizes
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| **s)
            .map(|(c, s)| (c as u32, *s))
            .unwrap_or((0, 0));
        let named: Vec<bool> = (0..n as u32)
            .map(|u| {
                self.edges_at(u)
                    .any(|e| self.edges[e as usize].street != NO_STREET)
            })
            .collect();
        let named_nodes = named.iter().filter(|x| **x).count();
        let named_in_largest = (0..n)
            .filter(|&u| named[u] && component[u] == largest)
            .count();
        self.component = component;
        self.largest = largest;
        self.stats = GraphStats {
            nodes: n,
            edges: self.edges.len(),
            joined: self.stats.joined,
            components: sizes.len(),
            largest_component: size,
            named_nodes,
            named_in_largest,
        };
    }

    /// Sizes and connectivity.
    pub fn stats(&self) -> GraphStats {
        self.stats
    }

    fn neighbours(&self, u: u32) -> &[(u32, u32)] {
        &self.adj[self.adj_start[u as usize] as usize..self.adj_start[u as usize + 1] as usize]
    }

    /// The edges at node `u`.
    pub fn edges_at(&self, u: u32) -> impl Iterator<Item = u32> + '_ {
        self.neighbours(u).iter().map(|&(_, e)| e)
    }

    /// The streets meeting at node `u` (without repeats).
    pub fn streets_at(&self, u: u32) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .neighbours(u)
            .iter()
            .map(|&(_, e)| self.edges[e as usize].street)
            .filter(|&s| s != NO_STREET)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether edge `e` is in the largest component (routable).
    pub fn routable(&self, e: u32) -> bool {
        self.component[self.edges[e as usize].a as usize] == self.largest
    }

    /// The nearest point of an edge within `max_m` of `p` (of the routable ones only, if asked), and
    /// of an edge of a named street only, if asked.
    pub fn snap(&self, p: Xy, max_m: f64, routable_only: bool, named_only: bool) -> Option<Snap> {
        let mut best: Option<Snap> = None;
        self.grid.nearest(p, max_m, |e| {
            let edge = &self.edges[e as usize];
            if (routable_only && !self.routable(e)) || (named_only && edge.street == NO_STREET) {
                return None;
            }
            let (t, q, d) = project(p, self.nodes[edge.a as usize], self.nodes[edge.b as usize]);
            if best.is_none_or(|b| d < b.dist_m) {
                best = Some(Snap {
                    edge: e,
                    t,
                    point: q,
                    dist_m: d,
                });
            }
            Some(d)
        });
        best
    }

    /// The nearest point within `max_m` of `p` on an edge of street `street`.
    pub fn snap_to(&self, p: Xy, max_m: f64, street: u32) -> Option<Snap> {
        let mut best: Option<Snap> = None;
        self.grid.nearest(p, max_m, |e| {
            let edge = &self.edges[e as usize];
            if edge.street != street {
                return None;
            }
            let (t, q, d) = project(p, self.nodes[edge.a as usize], self.nodes[edge.b as usize]);
            if best.is_none_or(|b| d < b.dist_m) {
                best = Some(Snap {
                    edge: e,
                    t,
                    point: q,
                    dist_m: d,
                });
            }
            Some(d)
        });
        best
    }

    /// The fastest route between two snapped points: A* with the straight line at
    /// [`MAX_SPEED_MPS`] as its (admissible and consistent) heuristic, or plain Dijkstra when `astar` is
    /// false. `None` when the points are in different components.
    pub fn route(&self, from: &Snap, to: &Snap, astar: bool) -> Option<Path> {
        let n = self.nodes.len();
        let goal = n;
        let start = u32::MAX;
        let mut dist = vec![f64::INFINITY; n + 1];
        let mut prev = vec![u32::MAX - 1; n + 1];
        let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
        let et = self.edges[to.edge as usize];
        // The goal's travel time from each landmark: through one end of its edge or the other.
        let goal_times: Vec<f64> = self
            .landmarks
            .iter()
            .map(|d| {
                (d[et.a as usize] + to.t * et.secs).min(d[et.b as usize] + (1.0 - to.t) * et.secs)
            })
            .collect();
        // The larger of two lower bounds of the time left: the straight line at the top speed, and the
        // landmarks' triangle inequality (ALT). Both are consistent, so their maximum is too.
        let h = |u: usize| {
            if !astar || u == goal {
                return 0.0;
            }
            let mut best = self.nodes[u].dist(to.point) / MAX_SPEED_MPS;
            for (d, g) in self.landmarks.iter().zip(&goal_times) {
                let bound = (g - d[u]).abs();
                if bound.is_finite() && bound > best {
                    best = bound;
                }
            }
            best
        };
        let relax = |heap: &mut BinaryHeap<Reverse<(u64, u32)>>,
                     dist: &mut Vec<f64>,
                     prev: &mut Vec<u32>,
                     v: usize,
                     d: f64,
                     from: u32| {
            if d < dist[v] {
                dist[v] = d;
                prev[v] = from;
                heap.push(Reverse(((d + h(v)).to_bits(), v as u32)));
            }
        };
        let es = self.edges[from.edge as usize];
        relax(
            &mut heap,
            &mut dist,
            &mut prev,
            es.a as usize,
            from.t * es.secs,
            start,
        );
        relax(
            &mut heap,
            &mut dist,
            &mut prev,
            es.b as usize,
            (1.0 - from.t) * es.secs,
            start,
        );
        if from.edge == to.edge {
            relax(
                &mut heap,
                &mut dist,
                &mut prev,
                goal,
                (from.t - to.t).abs() * es.secs,
                start,
            );
        }
        let mut settled = 0;
        while let Some(Reverse((f, u))) = heap.pop() {
            let u = u as usize;
            let d = dist[u];
            if f64::from_bits(f) > d + h(u) + 1e-9 {
                continue;
            }
            settled += 1;
            if u == goal {
                break;
            }
            if u == et.a as usize {
                relax(
                    &mut heap,
                    &mut dist,
                    &mut prev,
                    goal,
                    d + to.t * et.secs,
                    u as u32,
                );
            }
            if u == et.b as usize {
                relax(
                    &mut heap,
                    &mut dist,
                    &mut prev,
                    goal,
                    d + (1.0 - to.t) * et.secs,
                    u as u32,
                );
            }
            for &(v, e) in self.neighbours(u as u32) {
                let secs = self.edges[e as usize].secs;
                relax(
                    &mut heap,
                    &mut dist,
                    &mut prev,
                    v as usize,
                    d + secs,
                    u as u32,
                );
            }
        }
        if !dist[goal].is_finite() {
            return None;
        }
        let mut chain = Vec::new();
        let mut at = prev[goal];
        while at != start {
            chain.push(self.nodes[at as usize]);
            at = prev[at as usize];
        }
        chain.reverse();
        let mut points = Vec::with_capacity(chain.len() + 2);
        points.push(from.point);
        points.extend(chain);
        points.push(to.point);
        points.dedup_by(|a, b| a.dist(*b) < 0.01);
        let distance_m = points.windows(2).map(|w| w[0].dist(w[1])).sum();
        Some(Path {
            distance_m,
            duration_s: dist[goal],
            points,
            settled,
        })
    }

    /// Bytes held (approximately).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Xy>()
            + self.edges.capacity() * std::mem::size_of::<Edge>()
            + self.adj_start.capacity() * 4
            + self.adj.capacity() * 8
            + self.component.capacity() * 4
            + self
                .landmarks
                .iter()
                .map(|d| d.capacity() * 8)
                .sum::<usize>()
            + self.grid.heap_bytes()
    }
}

fn adjacency(n: usize, edges: &[Edge]) -> (Vec<u32>, Vec<(u32, u32)>) {
    let mut start = vec![0u32; n + 1];
    for e in edges {
        start[e.a as usize + 1] += 1;
        start[e.b as usize + 1] += 1;
    }
    for i in 1..=n {
        start[i] += start[i - 1];
    }
    let mut fill = start.clone();
    let mut adj = vec![(0u32, 0u32); start[n] as usize];
    for (i, e) in edges.iter().enumerate() {
        adj[fill[e.a as usize] as usize] = (e.b, i as u32);
        fill[e.a as usize] += 1;
        adj[fill[e.b as usize] as usize] = (e.a, i as u32);
        fill[e.b as usize] += 1;
    }
    (start, adj)
}

fn edge_grid(nodes: &[Xy], edges: &[Edge]) -> Grid {
    let boxes: Vec<[f64; 4]> = edges
        .iter()
        .map(|e| {
            let (a, b) = (nodes[e.a as usize], nodes[e.b as usize]);
            [a.x.min(b.x), a.y.min(b.y), a.x.max(b.x), a.y.max(b.y)]
        })
        .collect();
    Grid::build(&boxes, 100.0)
}

/// Joins every dead end within [`JOIN_M`] of another street: to that street's nearest point if it is a
/// node, else by splitting the nearest segment there. Returns how many were joined.
fn join_dead_ends(nodes: &[Xy], raw: &mut Vec<(u32, u32, u32, f64)>) -> usize {
    let mut degree = vec![0u32; nodes.len()];
    let mut first = vec![u32::MAX; nodes.len()];
    for (i, &(a, b, _, _)) in raw.iter().enumerate() {
        degree[a as usize] += 1;
        degree[b as usize] += 1;
        first[a as usize] = first[a as usize].min(i as u32);
        first[b as usize] = first[b as usize].min(i as u32);
    }
    let boxes: Vec<[f64; 4]> = raw
        .iter()
        .map(|&(a, b, _, _)| {
            let (a, b) = (nodes[a as usize], nodes[b as usize]);
            [a.x.min(b.x), a.y.min(b.y), a.x.max(b.x), a.y.max(b.y)]
        })
        .collect();
    let grid = Grid::build(&boxes, 50.0);
    // Per segment, the dead ends to splice into it: (fraction, node).
    let mut splits: HashMap<u32, Vec<(f64, u32)>> = HashMap::new();
    let mut links: Vec<(u32, u32, u32, f64)> = Vec::new();
    let mut joined = 0;
    for (u, p) in nodes.iter().enumerate() {
        if degree[u] != 1 {
            continue;
        }
        let u = u as u32;
        let Some(&own) = raw.get(first[u as usize] as usize) else {
            continue;
        };
        let found = grid.nearest(*p, JOIN_M, |s| {
            let (a, b, _, _) = raw[s as usize];
            if a == u || b == u {
                return None;
            }
            Some(project(*p, nodes[a as usize], nodes[b as usize]).2)
        });
        let Some((s, _)) = found else { continue };
        let (a, b, _, _) = raw[s as usize];
        let (t, q, _) = project(*p, nodes[a as usize], nodes[b as usize]);
        joined += 1;
        let near_a = q.dist(nodes[a as usize]) < 1.0;
        let near_b = q.dist(nodes[b as usize]) < 1.0;
        if near_a || near_b {
            let v = if near_a { a } else { b };
            links.push((u, v, own.2, own.3));
        } else {
            splits.entry(s).or_default().push((t, u));
        }
    }
    let mut out = Vec::with_capacity(raw.len() + links.len() + splits.len());
    for (i, &(a, b, street, speed)) in raw.iter().enumerate() {
        match splits.get_mut(&(i as u32)) {
            None => out.push((a, b, street, speed)),
            Some(cuts) => {
                cuts.sort_by(|x, y| x.0.total_cmp(&y.0));
                let mut last = a;
                for &(_, v) in cuts.iter() {
                    out.push((last, v, street, speed));
                    last = v;
                }
                out.push((last, b, street, speed));
            }
        }
    }
    out.extend(links.into_iter().filter(|l| l.0 != l.1));
    *raw = out;
    joined
}
