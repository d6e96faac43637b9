//! Selective route exchange (SREX, Nagata and Kobayashi 2010; the crossover of PyVRP): the child takes a group of
//! routes from one parent in place of the routes of the other parent that overlap them most.
//!
//! The problem has no coordinates, so routes are grouped by the granular neighbourhoods instead of polar angles:
//! the first parent's group grows from a random route by adding the route with most neighbour links to it. Of the
//! two children (duplicates removed from the second parent's kept routes, or from the moved routes), the one with
//! the lower penalised cost after inserting the missing customers is kept. Routes stay on their vehicle when it
//! is free, else move to a free vehicle of the same type, else to any free vehicle (dropping visits it may not
//! serve, which are then reinserted).

use rand::Rng;
use rand::seq::SliceRandom;

use super::individual::Individual;
use super::instance::{Instance, Penalties};
use super::local_search::LocalSearch;

/// How many of each customer's nearest neighbours count as links between routes.
const LINKS: usize = 10;

/// A child of `a` and `b`, complete (every customer placed) but not yet educated.
pub(crate) fn srex<R: Rng>(
    instance: &Instance<'_>,
    a: &Individual,
    b: &Individual,
    search: &mut LocalSearch<'_, '_>,
    pen: Penalties,
    rng: &mut R,
) -> Individual {
    let used = |ind: &Individual| -> Vec<usize> {
        (0..ind.routes.len())
            .filter(|&v| !ind.routes[v].is_empty())
            .collect()
    };
    let (routes_a, routes_b) = (used(a), used(b));
    if routes_a.is_empty() || routes_b.is_empty() {
        return search.repair(&b.routes, pen, rng);
    }
    let moved = rng.random_range(1..=routes_a.len().min(routes_b.len()));
    let n = instance.problem.nodes;
    let m = a.routes.len();

    // The group of routes of `a`: a random seed route, grown by neighbour links.
    let mut route_of_a = vec![usize::MAX; n];
    for &v in &routes_a {
        for &c in &a.routes[v] {
            route_of_a[c] = v;
        }
    }
    let mut chosen_a = vec![false; m];
    let mut links = vec![0usize; m];
    let mut group_a = Vec::with_capacity(moved);
    let mut next = routes_a[rng.random_range(0..routes_a.len())];
    loop {
        chosen_a[next] = true;
        group_a.push(next);
        if group_a.len() == moved {
            break;
        }
        for &c in &a.routes[next] {
            for &d in instance.neighbours[c].iter().take(LINKS) {
                if route_of_a[d] != usize::MAX {
                    links[route_of_a[d]] += 1;
                }
            }
        }
        let best = routes_a
            .iter()
            .copied()
            .filter(|&v| !chosen_a[v])
            .max_by_key(|&v| (links[v], std::cmp::Reverse(v)));
        let Some(best) = best else { break };
        next = if links[best] > 0 {
            best
        } else {
            let rest: Vec<usize> = routes_a.iter().copied().filter(|&v| !chosen_a[v]).collect();
            rest[rng.random_range(0..rest.len())]
        };
    }
    let mut in_a = vec![false; n];
    for &v in &group_a {
        for &c in &a.routes[v] {
            in_a[c] = true;
        }
    }

    // The routes of `b` that overlap the group most.
    let mut order_b = routes_b.clone();
    order_b.shuffle(rng);
    let overlap = |v: usize| b.routes[v].iter().filter(|&&c| in_a[c]).count();
    order_b.sort_by_key(|&v| std::cmp::Reverse(overlap(v)));
    let group_b = &order_b[..group_a.len()];
    let mut in_b = vec![false; n];
    let mut replaced = vec![false; m];
    for &v in group_b {
        replaced[v] = true;
        for &c in &b.routes[v] {
            in_b[c] = true;
        }
    }

    let child = |keep_b_duplicates: bool| -> Vec<Vec<usize>> {
        let mut routes: Vec<Vec<usize>> = (0..m)
            .map(|v| {
                if replaced[v] {
                    Vec::new()
                } else if keep_b_duplicates {
                    b.routes[v].clone()
                } else {
                    b.routes[v].iter().copied().filter(|&c| !in_a[c]).collect()
                }
            })
            .collect();
        let mut free: Vec<bool> = routes.iter().map(Vec::is_empty).collect();
        for &va in &group_a {
            let target = if free[va] {
                Some(va)
            } else {
                let t = instance.vehicle_type[va];
                (0..m)
                    .find(|&v| free[v] && instance.vehicle_type[v] == t)
                    .or_else(|| (0..m).find(|&v| free[v]))
            };
            let Some(target) = target else { continue };
            free[target] = false;
            routes[target] = a.routes[va]
                .iter()
                .copied()
                .filter(|&c| (!keep_b_duplicates || in_b[c]) && instance.can_serve(c, target))
                .collect();
        }
        routes
    };
    let first = search.repair(&child(false), pen, rng);
    let second = search.repair(&child(true), pen, rng);
    if second.penalised(pen) < first.penalised(pen) {
        second
    } else {
        first
    }
}
