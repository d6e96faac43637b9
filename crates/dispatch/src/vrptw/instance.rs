//! What the search precomputes once per problem: each node's segment, each vehicle's depot segments and type,
//! who may serve whom, and the granular neighbourhoods.

use super::Problem;
use super::segment::Segment;

/// Fixed-point scale of penalised costs: one unit of cost is `SCALE` units of penalised cost, so that penalty
/// weights can be fractional while every sum stays an exact integer.
pub(crate) const SCALE: i64 = 1000;

/// Penalty weights per unit of excess load and of time warp, in `1 / SCALE` units of cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Penalties {
    /// Weight of one unit of load above a vehicle's capacity.
    pub load: i64,
    /// Weight of one unit of time warp.
    pub time_warp: i64,
}

/// The problem seen by the search.
#[derive(Debug)]
pub(crate) struct Instance<'p> {
    /// The problem itself (matrices, windows, fleet).
    pub problem: &'p Problem,
    /// The customers, in the problem's order.
    pub clients: Vec<usize>,
    /// Per node: its single-node segment.
    pub node_segment: Vec<Segment>,
    /// Per vehicle: the segment of its start (departure within the shift).
    pub start_segment: Vec<Segment>,
    /// Per vehicle: the segment of its end (return before the shift ends).
    pub end_segment: Vec<Segment>,
    /// Per vehicle: its type; vehicles of one type are interchangeable.
    pub vehicle_type: Vec<usize>,
    /// Number of distinct vehicle types.
    pub types: usize,
    /// `nodes × vehicles` table of who may serve whom, or `None` when anyone may serve anyone.
    allowed: Option<Vec<bool>>,
    /// Per node: the customers nearest to it by the time-window-aware proximity, nearest first.
    pub neighbours: Vec<Vec<usize>>,
}

impl<'p> Instance<'p> {
    /// Precomputes the view of `problem` (already validated) with `granularity` neighbours per customer.
    pub fn new(problem: &'p Problem, granularity: usize) -> Self {
        let n = problem.nodes;
        let mut is_client = vec![false; n];
        for &c in &problem.customers {
            is_client[c] = true;
        }
        let node_segment = (0..n)
            .map(|i| {
                let demand = if is_client[i] { problem.demand[i] } else { 0 };
                Segment::node(
                    i,
                    problem.ready[i],
                    problem.due[i],
                    problem.service[i],
                    demand,
                )
            })
            .collect();
        let start_segment = problem
            .vehicles
            .iter()
            .map(|v| Segment::node(v.start, v.shift_start, v.shift_end, 0, 0))
            .collect();
        let end_segment = problem
            .vehicles
            .iter()
            .map(|v| Segment::node(v.end, v.shift_start, v.shift_end, 0, 0))
            .collect();
        let mut keys: Vec<(usize, usize, i64, i64, i64)> = Vec::new();
        let vehicle_type = problem
            .vehicles
            .iter()
            .map(|v| {
                let key = (v.start, v.end, v.shift_start, v.shift_end, v.capacity);
                keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    keys.push(key);
                    keys.len() - 1
                })
            })
            .collect();
        let m = problem.vehicles.len();
        let allowed = problem.allowed.iter().any(Option::is_some).then(|| {
            let mut table = vec![true; n * m];
            for (node, list) in problem.allowed.iter().enumerate() {
                if let Some(list) = list {
                    table[node * m..(node + 1) * m].fill(false);
                    for &v in list {
                        table[node * m + v] = true;
                    }
                }
            }
            table
        });
        let mut instance = Self {
            problem,
            clients: problem.customers.clone(),
            node_segment,
            start_segment,
            end_segment,
            vehicle_type,
            types: keys.len(),
            allowed,
            neighbours: vec![Vec::new(); n],
        };
        instance.neighbours = instance.granular_neighbours(granularity);
        instance
    }

    /// Whether vehicle `vehicle` may serve `node`.
    #[inline]
    pub fn can_serve(&self, node: usize, vehicle: usize) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|t| t[node * self.problem.vehicles.len() + vehicle])
    }

    /// Whether some visit is pinned to some vehicles.
    pub fn has_restrictions(&self) -> bool {
        self.allowed.is_some()
    }

    /// The penalised cost of a route summarised by `segment` on `vehicle`, or 0 for an empty route.
    #[inline]
    pub fn route_cost(
        &self,
        segment: &Segment,
        vehicle: usize,
        empty: bool,
        pen: Penalties,
    ) -> i64 {
        if empty {
            return 0;
        }
        let excess = (segment.load - self.problem.vehicles[vehicle].capacity).max(0);
        segment.distance * SCALE + excess * pen.load + segment.time_warp * pen.time_warp
    }

    /// The proximity of Vidal et al. (2013) as in PyVRP: distance, plus a fifth of the least waiting and all of
    /// the least time warp when `j` is served right after `i`; symmetric (the smaller of both directions).
    fn granular_neighbours(&self, granularity: usize) -> Vec<Vec<usize>> {
        let p = self.problem;
        let one_way = |i: usize, j: usize| -> i64 {
            let travel = p.time(i, j);
            let wait = (p.ready[j] - p.service[i] - travel - p.due[i]).max(0);
            let warp = (p.ready[i] + p.service[i] + travel - p.due[j]).max(0);
            5 * p.cost(i, j) + wait + 5 * warp
        };
        let mut neighbours = vec![Vec::new(); p.nodes];
        for &i in &self.clients {
            let mut near: Vec<(i64, usize)> = self
                .clients
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| (one_way(i, j).min(one_way(j, i)), j))
                .collect();
            near.sort_unstable();
            near.truncate(granularity);
            neighbours[i] = near.into_iter().map(|(_, j)| j).collect();
        }
        neighbours
    }
}
