//! The education of offspring: a granular local search with O(1) move evaluation on route segments.
//!
//! Moves (as in HGS and PyVRP): relocate one or two consecutive customers, swap 1–1, 2–1 and 2–2 runs, 2-opt*
//! (exchange the tails of two routes), inserting a customer into an empty vehicle, and SWAP* between routes that
//! are neighbours. Only pairs `(u, v)` where `v` is among `u`'s granular neighbours are tried, and only when one
//! of their routes changed since `u` was last tested. The first improving move is applied. Every inter-route
//! move respects who may serve whom.

use rand::Rng;
use rand::seq::SliceRandom;

use super::individual::Individual;
use super::instance::{Instance, Penalties, SCALE};
use super::segment::Segment;

/// Marks an unplanned customer (or a depot) in the route and position tables.
const NONE: usize = usize::MAX;

/// A run of positions `first..=last` of a route (empty when `first > last`).
type Piece = (usize, usize, usize);

/// One vehicle's route with its prefix and suffix summaries.
#[derive(Debug, Clone)]
struct Route {
    /// `[start depot, customers..., end depot]`.
    nodes: Vec<usize>,
    /// `forward[i]` summarises `nodes[..=i]`.
    forward: Vec<Segment>,
    /// `backward[i]` summarises `nodes[i..]`.
    backward: Vec<Segment>,
    /// Penalised cost of the route.
    cost: i64,
}

impl Route {
    /// Number of customers.
    fn customers(&self) -> usize {
        self.nodes.len() - 2
    }
}

/// The local search and its working state; reused from one offspring to the next.
#[derive(Debug)]
pub(crate) struct LocalSearch<'a, 'p> {
    /// The problem.
    instance: &'a Instance<'p>,
    /// Route `r` is vehicle `r`'s.
    routes: Vec<Route>,
    /// Per node: its route (`NONE` if unplanned or a depot).
    route_of: Vec<usize>,
    /// Per node: its position in its route.
    position: Vec<usize>,
    /// Per route: the update count when it last changed.
    modified: Vec<i64>,
    /// Per node: the update count when it was last tested.
    tested: Vec<i64>,
    /// Per route: the update count when SWAP* last tested it.
    swap_star_tested: Vec<i64>,
    /// Number of moves applied so far.
    updates: i64,
    /// The customers in the order they are tried (shuffled per run).
    order: Vec<usize>,
    /// The current penalty weights.
    pen: Penalties,
}

impl<'a, 'p> LocalSearch<'a, 'p> {
    /// A search over `instance`.
    pub fn new(instance: &'a Instance<'p>) -> Self {
        let m = instance.problem.vehicles.len();
        let n = instance.problem.nodes;
        Self {
            instance,
            routes: (0..m)
                .map(|v| Route {
                    nodes: vec![
                        instance.problem.vehicles[v].start,
                        instance.problem.vehicles[v].end,
                    ],
                    forward: Vec::new(),
                    backward: Vec::new(),
                    cost: 0,
                })
                .collect(),
            route_of: vec![NONE; n],
            position: vec![0; n],
            modified: vec![0; m],
            tested: vec![-1; n],
            swap_star_tested: vec![-1; m],
            updates: 0,
            order: instance.clients.clone(),
            pen: Penalties {
                load: 0,
                time_warp: 0,
            },
        }
    }

    /// Improves `routes` (one per vehicle; customers missing from them are inserted first) under `pen` until no
    /// move improves or `stop()` says so, and returns the result.
    pub fn run<R: Rng>(
        &mut self,
        routes: &[Vec<usize>],
        pen: Penalties,
        rng: &mut R,
        stop: &mut dyn FnMut() -> bool,
    ) -> Individual {
        self.load(routes, pen);
        self.insert_missing(rng);
        self.order.shuffle(rng);
        self.search(stop);
        Individual::new(self.instance, self.export())
    }

    /// Builds a complete individual from partial `routes` by inserting the missing customers where they cost
    /// least under `pen`, without further search.
    pub fn repair<R: Rng>(
        &mut self,
        routes: &[Vec<usize>],
        pen: Penalties,
        rng: &mut R,
    ) -> Individual {
        self.load(routes, pen);
        self.insert_missing(rng);
        Individual::new(self.instance, self.export())
    }

    /// Loads `routes` and resets the bookkeeping.
    fn load(&mut self, routes: &[Vec<usize>], pen: Penalties) {
        self.pen = pen;
        self.route_of.fill(NONE);
        for (r, clients) in routes.iter().enumerate() {
            let vehicle = &self.instance.problem.vehicles[r];
            let nodes = &mut self.routes[r].nodes;
            nodes.clear();
            nodes.push(vehicle.start);
            nodes.extend_from_slice(clients);
            nodes.push(vehicle.end);
            self.refresh(r);
        }
        self.updates = 0;
        self.modified.fill(0);
        self.tested.fill(-1);
        self.swap_star_tested.fill(-1);
    }

    /// The routes as lists of customers.
    fn export(&self) -> Vec<Vec<usize>> {
        self.routes
            .iter()
            .map(|r| r.nodes[1..r.nodes.len() - 1].to_vec())
            .collect()
    }

    /// Recomputes route `r`'s summaries and its customers' positions.
    fn refresh(&mut self, r: usize) {
        let inst = self.instance;
        let p = inst.problem;
        let route = &mut self.routes[r];
        let len = route.nodes.len();
        route.forward.clear();
        route.backward.clear();
        let mut acc = inst.start_segment[r];
        route.forward.push(acc);
        for k in 1..len {
            let next = if k == len - 1 {
                inst.end_segment[r]
            } else {
                inst.node_segment[route.nodes[k]]
            };
            acc = acc.then(&next, p);
            route.forward.push(acc);
        }
        route.backward.resize(len, inst.end_segment[r]);
        for k in (0..len - 1).rev() {
            let here = if k == 0 {
                inst.start_segment[r]
            } else {
                inst.node_segment[route.nodes[k]]
            };
            route.backward[k] = here.then(&route.backward[k + 1], p);
        }
        route.cost = inst.route_cost(&route.forward[len - 1], r, len == 2, self.pen);
        for k in 1..len - 1 {
            self.route_of[route.nodes[k]] = r;
            self.position[route.nodes[k]] = k;
        }
    }

    /// The penalised cost of vehicle `v` driving the customers of `pieces` (positions of current routes), in
    /// order. Prefixes and suffixes of routes with the same depots and shift are O(1); other runs cost their
    /// length.
    fn cost_of(&self, v: usize, pieces: &[Piece]) -> i64 {
        let inst = self.instance;
        let p = inst.problem;
        let last_piece = pieces.iter().rposition(|&(_, i, j)| i <= j);
        let Some(last_piece) = last_piece else {
            return 0;
        };
        let mut acc = inst.start_segment[v];
        let mut first = true;
        for (idx, &(r, i, j)) in pieces.iter().enumerate() {
            if i > j {
                continue;
            }
            let route = &self.routes[r];
            let same_type = r == v || inst.vehicle_type[r] == inst.vehicle_type[v];
            if first && i == 1 && same_type {
                acc = route.forward[j];
            } else if idx == last_piece && j == route.nodes.len() - 2 && same_type {
                acc = acc.then(&route.backward[i], p);
                return inst.route_cost(&acc, v, false, self.pen);
            } else {
                for k in i..=j {
                    acc = acc.then(&inst.node_segment[route.nodes[k]], p);
                }
            }
            first = false;
        }
        acc = acc.then(&inst.end_segment[v], p);
        inst.route_cost(&acc, v, false, self.pen)
    }

    /// A lower bound of [`Self::cost_of`] in O(pieces): the distance and the excess-load penalty, without the
    /// time warp.
    fn lower_bound(&self, v: usize, pieces: &[Piece]) -> i64 {
        let p = self.instance.problem;
        let (mut distance, mut load) = (0, 0);
        let mut prev = usize::MAX;
        for &(r, i, j) in pieces {
            if i > j {
                continue;
            }
            let route = &self.routes[r];
            let from = if prev == usize::MAX {
                p.vehicles[v].start
            } else {
                prev
            };
            distance += p.cost(from, route.nodes[i]) + route.forward[j].distance
                - route.forward[i].distance;
            load += route.forward[j].load - route.forward[i - 1].load;
            prev = route.nodes[j];
        }
        if prev == usize::MAX {
            return 0;
        }
        distance += p.cost(prev, p.vehicles[v].end);
        let excess = (load - p.vehicles[v].capacity).max(0);
        distance * SCALE + excess * self.pen.load
    }

    /// The customers of `pieces`, in order.
    fn collect(&self, pieces: &[Piece]) -> Vec<usize> {
        let mut out = Vec::new();
        for &(r, i, j) in pieces {
            if i <= j {
                out.extend_from_slice(&self.routes[r].nodes[i..=j]);
            }
        }
        out
    }

    /// Replaces the routes of `changes` (route, customers) at once and records the update.
    fn apply(&mut self, changes: &[(usize, Vec<usize>)]) {
        self.updates += 1;
        for (r, clients) in changes {
            let r = *r;
            let vehicle = &self.instance.problem.vehicles[r];
            let mut nodes = Vec::with_capacity(clients.len() + 2);
            nodes.push(vehicle.start);
            nodes.extend_from_slice(clients);
            nodes.push(vehicle.end);
            self.routes[r].nodes = nodes;
            self.refresh(r);
            self.modified[r] = self.updates;
        }
    }

    /// Whether vehicle `v` may serve every customer of positions `i..=j` of route `r`.
    #[inline]
    fn all_allowed(&self, v: usize, r: usize, i: usize, j: usize) -> bool {
        !self.instance.has_restrictions()
            || (i..=j).all(|k| self.instance.can_serve(self.routes[r].nodes[k], v))
    }

    /// Inserts every unplanned customer at its cheapest place (in a random order).
    fn insert_missing<R: Rng>(&mut self, rng: &mut R) {
        let mut missing: Vec<usize> = self
            .instance
            .clients
            .iter()
            .copied()
            .filter(|&c| self.route_of[c] == NONE)
            .collect();
        missing.shuffle(rng);
        for c in missing {
            let node = self.instance.node_segment[c];
            let p = self.instance.problem;
            let mut best: Option<(i64, usize, usize)> = None;
            let mut empty_type_seen = vec![false; self.instance.types];
            for r in 0..self.routes.len() {
                if !self.instance.can_serve(c, r) {
                    continue;
                }
                let route = &self.routes[r];
                if route.customers() == 0 {
                    let t = self.instance.vehicle_type[r];
                    if std::mem::replace(&mut empty_type_seen[t], true) {
                        continue;
                    }
                }
                for k in 0..route.nodes.len() - 1 {
                    let seg = route.forward[k]
                        .then(&node, p)
                        .then(&route.backward[k + 1], p);
                    let delta = self.instance.route_cost(&seg, r, false, self.pen) - route.cost;
                    if best.is_none_or(|(b, _, _)| delta < b) {
                        best = Some((delta, r, k));
                    }
                }
            }
            // A customer no vehicle may serve stays out; the caller finds the solution incomplete.
            if let Some((_, r, k)) = best {
                let mut clients = self.routes[r].nodes[1..self.routes[r].nodes.len() - 1].to_vec();
                clients.insert(k, c);
                self.apply(&[(r, clients)]);
            }
        }
    }

    /// The local search proper: node moves then SWAP*, until a full pass finds nothing.
    fn search(&mut self, stop: &mut dyn FnMut() -> bool) {
        let inst = self.instance;
        loop {
            let mut improved = false;
            for idx in 0..self.order.len() {
                let u = self.order[idx];
                if self.route_of[u] == NONE {
                    continue;
                }
                let last = self.tested[u];
                self.tested[u] = self.updates;
                for &v in &inst.neighbours[u] {
                    let (ru, rv) = (self.route_of[u], self.route_of[v]);
                    if rv == NONE || (self.modified[ru] <= last && self.modified[rv] <= last) {
                        continue;
                    }
                    if self.node_moves(u, rv, self.position[v]) {
                        improved = true;
                        continue;
                    }
                    let (rv, pv) = (self.route_of[v], self.position[v]);
                    if pv == 1 && self.node_moves(u, rv, 0) {
                        improved = true;
                    }
                }
                if self.modified[self.route_of[u]] > last && self.empty_route_moves(u) {
                    improved = true;
                }
            }
            if self.swap_star_pass() {
                improved = true;
            }
            if !improved || stop() {
                break;
            }
        }
    }

    /// Tries the node moves of `u` against position `pv` of route `rv`; applies the first that improves.
    fn node_moves(&mut self, u: usize, rv: usize, pv: usize) -> bool {
        for (nu, mv) in [(1, 0), (2, 0), (1, 1), (2, 1), (2, 2)] {
            if self.exchange(u, nu, rv, pv, mv) {
                return true;
            }
        }
        self.route_of[u] != rv && self.swap_tails(u, rv, pv)
    }

    /// Moves `u` into an empty vehicle of each type that may serve it, if that improves.
    fn empty_route_moves(&mut self, u: usize) -> bool {
        let mut seen = vec![false; self.instance.types];
        for r in 0..self.routes.len() {
            if self.routes[r].customers() > 0 || !self.instance.can_serve(u, r) {
                continue;
            }
            let t = self.instance.vehicle_type[r];
            if std::mem::replace(&mut seen[t], true) {
                continue;
            }
            if self.exchange(u, 1, r, 0, 0) {
                return true;
            }
        }
        false
    }

    /// Exchanges the run of `nu` customers starting at `u` with the run of `mv` customers starting at position
    /// `pv` of route `rv` (with `mv == 0`: moves `u`'s run to just after position `pv`), if that improves.
    fn exchange(&mut self, u: usize, nu: usize, rv: usize, pv: usize, mv: usize) -> bool {
        let ru = self.route_of[u];
        let pu = self.position[u];
        let (len_u, len_v) = (self.routes[ru].nodes.len(), self.routes[rv].nodes.len());
        if pu + nu > len_u - 1 {
            return false;
        }
        if mv > 0 && (pv == 0 || pv + mv > len_v - 1) {
            return false;
        }
        if mv == 0 && pv > len_v - 2 {
            return false;
        }
        let (u_last, v_last) = (pu + nu - 1, pv + mv.max(1) - 1);
        let (a, b): ([Piece; 5], [Piece; 5]);
        let delta;
        if ru == rv {
            let r = ru;
            let end = len_u - 2;
            if mv == 0 {
                if pv + 1 >= pu && pv <= u_last {
                    return false;
                }
                a = if pu < pv {
                    [
                        (r, 1, pu - 1),
                        (r, u_last + 1, pv),
                        (r, pu, u_last),
                        (r, pv + 1, end),
                        (r, 1, 0),
                    ]
                } else {
                    [
                        (r, 1, pv),
                        (r, pu, u_last),
                        (r, pv + 1, pu - 1),
                        (r, u_last + 1, end),
                        (r, 1, 0),
                    ]
                };
            } else {
                if !(u_last < pv || v_last < pu) {
                    return false;
                }
                a = if pu < pv {
                    [
                        (r, 1, pu - 1),
                        (r, pv, v_last),
                        (r, u_last + 1, pv - 1),
                        (r, pu, u_last),
                        (r, v_last + 1, end),
                    ]
                } else {
                    [
                        (r, 1, pv - 1),
                        (r, pu, u_last),
                        (r, v_last + 1, pu - 1),
                        (r, pv, v_last),
                        (r, u_last + 1, end),
                    ]
                };
            }
            if self.lower_bound(r, &a) >= self.routes[r].cost {
                return false;
            }
            delta = self.cost_of(r, &a) - self.routes[r].cost;
            if delta < 0 {
                let clients = self.collect(&a);
                self.apply(&[(r, clients)]);
                return true;
            }
            return false;
        }
        if !self.all_allowed(rv, ru, pu, u_last)
            || (mv > 0 && !self.all_allowed(ru, rv, pv, v_last))
        {
            return false;
        }
        if mv == 0 {
            a = [
                (ru, 1, pu - 1),
                (ru, u_last + 1, len_u - 2),
                (ru, 1, 0),
                (ru, 1, 0),
                (ru, 1, 0),
            ];
            b = [
                (rv, 1, pv),
                (ru, pu, u_last),
                (rv, pv + 1, len_v - 2),
                (rv, 1, 0),
                (rv, 1, 0),
            ];
        } else {
            a = [
                (ru, 1, pu - 1),
                (rv, pv, v_last),
                (ru, u_last + 1, len_u - 2),
                (ru, 1, 0),
                (ru, 1, 0),
            ];
            b = [
                (rv, 1, pv - 1),
                (ru, pu, u_last),
                (rv, v_last + 1, len_v - 2),
                (rv, 1, 0),
                (rv, 1, 0),
            ];
        }
        let old = self.routes[ru].cost + self.routes[rv].cost;
        let bound = self.exchange_bound(ru, pu, u_last, rv, pv, mv);
        if bound >= old {
            return false;
        }
        delta = self.cost_of(ru, &a) + self.cost_of(rv, &b) - old;
        debug_assert!(
            bound <= delta + old,
            "the bound {bound} exceeds the cost {}",
            delta + old
        );
        debug_assert_eq!(bound, self.lower_bound(ru, &a) + self.lower_bound(rv, &b));
        if delta < 0 {
            let (cu, cv) = (self.collect(&a), self.collect(&b));
            self.apply(&[(ru, cu), (rv, cv)]);
            return true;
        }
        false
    }

    /// The lower bound of [`Self::lower_bound`] for an exchange between two routes, in O(1): positions
    /// `pu..=u_last` of route `ru` go to route `rv` after position `pv` (`mv == 0`) or in place of its positions
    /// `pv..pv + mv`.
    fn exchange_bound(
        &self,
        ru: usize,
        pu: usize,
        u_last: usize,
        rv: usize,
        pv: usize,
        mv: usize,
    ) -> i64 {
        let p = self.instance.problem;
        let (route_u, route_v) = (&self.routes[ru], &self.routes[rv]);
        let (nodes_u, nodes_v) = (&route_u.nodes, &route_v.nodes);
        let (whole_u, whole_v) = (
            route_u.forward[nodes_u.len() - 1],
            route_v.forward[nodes_v.len() - 1],
        );
        let (first_u, last_u) = (nodes_u[pu], nodes_u[u_last]);
        let (pre_u, post_u) = (nodes_u[pu - 1], nodes_u[u_last + 1]);
        let inner_u = route_u.forward[u_last].distance - route_u.forward[pu].distance;
        let load_u = route_u.forward[u_last].load - route_u.forward[pu - 1].load;
        let removed_u = p.cost(pre_u, first_u) + inner_u + p.cost(last_u, post_u);
        let (distance_u, distance_v, moved_load) = if mv == 0 {
            let (at, next) = (nodes_v[pv], nodes_v[pv + 1]);
            let distance_u = if u_last - pu + 3 == nodes_u.len() {
                0
            } else {
                whole_u.distance - removed_u + p.cost(pre_u, post_u)
            };
            let distance_v = whole_v.distance - p.cost(at, next)
                + p.cost(at, first_u)
                + inner_u
                + p.cost(last_u, next);
            (distance_u, distance_v, load_u)
        } else {
            let v_last = pv + mv - 1;
            let (first_v, last_v) = (nodes_v[pv], nodes_v[v_last]);
            let (pre_v, post_v) = (nodes_v[pv - 1], nodes_v[v_last + 1]);
            let inner_v = route_v.forward[v_last].distance - route_v.forward[pv].distance;
            let load_v = route_v.forward[v_last].load - route_v.forward[pv - 1].load;
            let distance_u = whole_u.distance - removed_u
                + p.cost(pre_u, first_v)
                + inner_v
                + p.cost(last_v, post_u);
            let distance_v =
                whole_v.distance - p.cost(pre_v, first_v) - inner_v - p.cost(last_v, post_v)
                    + p.cost(pre_v, first_u)
                    + inner_u
                    + p.cost(last_u, post_v);
            (distance_u, distance_v, load_u - load_v)
        };
        let excess = |load: i64, v: usize| (load - p.vehicles[v].capacity).max(0);
        (distance_u + distance_v) * SCALE
            + self.pen.load
                * (excess(whole_u.load - moved_load, ru) + excess(whole_v.load + moved_load, rv))
    }

    /// 2-opt*: `u`'s route keeps its head up to `u` and takes route `rv`'s tail after position `pv`, and the other
    /// way round, if that improves.
    fn swap_tails(&mut self, u: usize, rv: usize, pv: usize) -> bool {
        let ru = self.route_of[u];
        let pu = self.position[u];
        let (len_u, len_v) = (self.routes[ru].nodes.len(), self.routes[rv].nodes.len());
        if pv > len_v - 2 || (pu == len_u - 2 && pv == len_v - 2) {
            return false;
        }
        if !self.all_allowed(ru, rv, pv + 1, len_v - 2)
            || !self.all_allowed(rv, ru, pu + 1, len_u - 2)
        {
            return false;
        }
        let a = [(ru, 1, pu), (rv, pv + 1, len_v - 2)];
        let b = [(rv, 1, pv), (ru, pu + 1, len_u - 2)];
        let old = self.routes[ru].cost + self.routes[rv].cost;
        if self.lower_bound(ru, &a) + self.lower_bound(rv, &b) >= old {
            return false;
        }
        let delta = self.cost_of(ru, &a) + self.cost_of(rv, &b) - old;
        if delta < 0 {
            let (cu, cv) = (self.collect(&a), self.collect(&b));
            self.apply(&[(ru, cu), (rv, cv)]);
            return true;
        }
        false
    }

    /// SWAP* over every pair of close routes (some customer of one has a granular neighbour in the other) of
    /// which one changed since the first was last tested.
    fn swap_star_pass(&mut self) -> bool {
        let m = self.routes.len();
        let mut close = vec![false; m * m];
        for &c in &self.instance.clients {
            let rc = self.route_of[c];
            if rc == NONE {
                continue;
            }
            for &d in &self.instance.neighbours[c] {
                let rd = self.route_of[d];
                if rd != NONE {
                    close[rc * m + rd] = true;
                    close[rd * m + rc] = true;
                }
            }
        }
        let mut improved = false;
        for r1 in 0..m {
            let last = self.swap_star_tested[r1];
            self.swap_star_tested[r1] = self.updates;
            for r2 in r1 + 1..m {
                if self.modified[r1] <= last && self.modified[r2] <= last {
                    continue;
                }
                if self.instance.vehicle_type[r1] != self.instance.vehicle_type[r2]
                    && self.exchange_routes(r1, r2)
                {
                    improved = true;
                    continue;
                }
                if !close[r1 * m + r2]
                    || self.routes[r1].customers() == 0
                    || self.routes[r2].customers() == 0
                    || (self.modified[r1] <= last && self.modified[r2] <= last)
                {
                    continue;
                }
                if self.swap_star(r1, r2) {
                    improved = true;
                }
            }
        }
        improved
    }

    /// Gives route `r1`'s customers to vehicle `r2` and the other way round (vehicles of different types: other
    /// home bases, shifts or capacities), if that improves.
    fn exchange_routes(&mut self, r1: usize, r2: usize) -> bool {
        let (n1, n2) = (self.routes[r1].customers(), self.routes[r2].customers());
        if n1 + n2 == 0 || !self.all_allowed(r2, r1, 1, n1) || !self.all_allowed(r1, r2, 1, n2) {
            return false;
        }
        let a = [(r2, 1, n2)];
        let b = [(r1, 1, n1)];
        let old = self.routes[r1].cost + self.routes[r2].cost;
        if self.cost_of(r1, &a) + self.cost_of(r2, &b) < old {
            let (c1, c2) = (self.collect(&a), self.collect(&b));
            self.apply(&[(r1, c1), (r2, c2)]);
            return true;
        }
        false
    }

    /// The three cheapest places (cost delta, position after which) to insert `c` into route `r`, as is.
    fn top_insertions(&self, c: usize, r: usize) -> [(i64, usize); 3] {
        let p = self.instance.problem;
        let node = self.instance.node_segment[c];
        let route = &self.routes[r];
        let mut top = [(i64::MAX, usize::MAX); 3];
        for k in 0..route.nodes.len() - 1 {
            let seg = route.forward[k]
                .then(&node, p)
                .then(&route.backward[k + 1], p);
            let delta = self.instance.route_cost(&seg, r, false, self.pen) - route.cost;
            if delta < top[2].0 {
                top[2] = (delta, k);
                if top[2].0 < top[1].0 {
                    top.swap(1, 2);
                    if top[1].0 < top[0].0 {
                        top.swap(0, 1);
                    }
                }
            }
        }
        top
    }

    /// The change in route `r`'s cost when its customer at position `k` is replaced by `c` (or removed, with
    /// `None`).
    fn replace_cost(&self, r: usize, k: usize, c: Option<usize>) -> i64 {
        let p = self.instance.problem;
        let route = &self.routes[r];
        let mut seg = route.forward[k - 1];
        if let Some(c) = c {
            seg = seg.then(&self.instance.node_segment[c], p);
        }
        let seg = seg.then(&route.backward[k + 1], p);
        let empty = c.is_none() && route.customers() == 1;
        self.instance.route_cost(&seg, r, empty, self.pen) - route.cost
    }

    /// SWAP* (Vidal 2022) between routes `r1` and `r2`: exchange a customer of each, each inserted at its best
    /// place in the other route rather than in the other's place. Candidates are ranked by removal costs plus the
    /// cheapest insertions into the routes as they are; the best is then evaluated exactly.
    fn swap_star(&mut self, r1: usize, r2: usize) -> bool {
        let (len1, len2) = (self.routes[r1].nodes.len(), self.routes[r2].nodes.len());
        let restricted = self.instance.has_restrictions();
        let remove1: Vec<i64> = (1..len1 - 1)
            .map(|k| self.replace_cost(r1, k, None))
            .collect();
        let remove2: Vec<i64> = (1..len2 - 1)
            .map(|k| self.replace_cost(r2, k, None))
            .collect();
        let top1: Vec<[(i64, usize); 3]> = (1..len1 - 1)
            .map(|k| self.top_insertions(self.routes[r1].nodes[k], r2))
            .collect();
        let top2: Vec<[(i64, usize); 3]> = (1..len2 - 1)
            .map(|k| self.top_insertions(self.routes[r2].nodes[k], r1))
            .collect();
        // Best insertion avoiding the two places next to position `skip`, or in `skip`'s place.
        let best_place = |top: &[(i64, usize); 3], skip: usize, in_place: i64, removal: i64| {
            let mut best = (in_place, skip);
            for &(delta, k) in top {
                if k != usize::MAX && k + 1 != skip && k != skip && delta + removal < best.0 {
                    best = (delta + removal, k);
                }
            }
            best
        };
        let mut best: Option<(i64, usize, usize, usize, usize)> = None;
        for pu in 1..len1 - 1 {
            let u = self.routes[r1].nodes[pu];
            if restricted && !self.instance.can_serve(u, r2) {
                continue;
            }
            for pv in 1..len2 - 1 {
                let v = self.routes[r2].nodes[pv];
                if restricted && !self.instance.can_serve(v, r1) {
                    continue;
                }
                let (gain_u, place_u) = best_place(
                    &top1[pu - 1],
                    pv,
                    self.replace_cost(r2, pv, Some(u)),
                    remove2[pv - 1],
                );
                let (gain_v, place_v) = best_place(
                    &top2[pv - 1],
                    pu,
                    self.replace_cost(r1, pu, Some(v)),
                    remove1[pu - 1],
                );
                let estimate = gain_u + gain_v;
                if best.is_none_or(|b| estimate < b.0) {
                    best = Some((estimate, pu, pv, place_u, place_v));
                }
            }
        }
        let Some((estimate, pu, pv, place_u, place_v)) = best else {
            return false;
        };
        if estimate >= 0 {
            return false;
        }
        // Route `r` with its customer at `pos` removed and the customer at `(from, at)` inserted after `place`
        // (or at `pos` itself when `place == pos`).
        let rebuild = |r: usize,
                       len: usize,
                       pos: usize,
                       from: usize,
                       at: usize,
                       place: usize|
         -> [Piece; 4] {
            let end = len - 2;
            if place == pos {
                [
                    (r, 1, pos - 1),
                    (from, at, at),
                    (r, pos + 1, end),
                    (r, 1, 0),
                ]
            } else if place < pos {
                [
                    (r, 1, place),
                    (from, at, at),
                    (r, place + 1, pos - 1),
                    (r, pos + 1, end),
                ]
            } else {
                [
                    (r, 1, pos - 1),
                    (r, pos + 1, place),
                    (from, at, at),
                    (r, place + 1, end),
                ]
            }
        };
        let a = rebuild(r1, len1, pu, r2, pv, place_v);
        let b = rebuild(r2, len2, pv, r1, pu, place_u);
        let old = self.routes[r1].cost + self.routes[r2].cost;
        let delta = self.cost_of(r1, &a) + self.cost_of(r2, &b) - old;
        if delta < 0 {
            let (c1, c2) = (self.collect(&a), self.collect(&b));
            self.apply(&[(r1, c1), (r2, c2)]);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrptw::individual::tests::random_problem;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    #[test]
    fn the_search_keeps_every_customer_once_and_ends_in_a_local_optimum() {
        let mut rng = Pcg64::seed_from_u64(4);
        for case in 0..200 {
            let mut problem = random_problem(&mut rng, 4 + case % 12);
            if case % 3 == 0 {
                problem.allowed[2] = Some(vec![1]);
            }
            let instance = Instance::new(&problem, 6);
            let mut search = LocalSearch::new(&instance);
            let pen = Penalties {
                load: rng.random_range(1..20_000),
                time_warp: rng.random_range(1..20_000),
            };
            let start = vec![Vec::new(), problem.customers.clone()];
            let first = search.run(&start, pen, &mut rng, &mut || false);
            let mut served: Vec<usize> = first.routes.concat();
            served.sort_unstable();
            assert_eq!(served, problem.customers);
            if case % 3 == 0 {
                assert!(first.routes[1].contains(&2));
            }
            let again = search.run(&first.routes, pen, &mut rng, &mut || false);
            assert_eq!(again.penalised(pen), first.penalised(pen), "case {case}");
        }
    }
}
