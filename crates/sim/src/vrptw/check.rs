//! The benchmark's own feasibility check: recomputed from the instance's figures, never from the solver's
//! [`doorstep_dispatch::vrptw::Problem`] or its `is_feasible`, so a bug in building the problem or in the solver's
//! check cannot pass unseen.

use std::fmt;

use super::instance::{Instance, units};

/// One broken rule of a solution. Routes are numbered from 1 among the non-empty ones, as in a `.sol` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A route visits a node that is not a customer (the depot or an index out of range).
    NotACustomer {
        /// The route.
        route: usize,
        /// The node.
        node: usize,
    },
    /// A customer is visited more than once.
    VisitedTwice {
        /// The customer's node.
        customer: usize,
    },
    /// A customer is not visited.
    Missed {
        /// The customer's node.
        customer: usize,
    },
    /// Service at a customer would start after its window closes.
    Late {
        /// The route.
        route: usize,
        /// The customer's node.
        customer: usize,
        /// When service could start at the earliest (tenths).
        start: i64,
        /// The window's end (tenths).
        due: i64,
    },
    /// A route carries more than a vehicle's capacity.
    OverCapacity {
        /// The route.
        route: usize,
        /// Its load.
        load: i64,
        /// The capacity.
        capacity: i64,
    },
    /// A route is back at the depot after the depot's window closes.
    LateReturn {
        /// The route.
        route: usize,
        /// When it is back (tenths).
        back: i64,
        /// The depot's due time (tenths).
        due: i64,
    },
    /// More routes than the instance has vehicles.
    TooManyRoutes {
        /// Non-empty routes.
        routes: usize,
        /// Vehicles of the instance.
        vehicles: usize,
    },
    /// The distance the solver reported is not the routes' distance.
    WrongDistance {
        /// What the solver said (tenths).
        reported: i64,
        /// What the routes cost (tenths).
        actual: i64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::NotACustomer { route, node } => {
                write!(
                    f,
                    "route #{route} visits node {node}, which is not a customer"
                )
            }
            Violation::VisitedTwice { customer } => {
                write!(f, "customer {customer} is visited more than once")
            }
            Violation::Missed { customer } => write!(f, "customer {customer} is not visited"),
            Violation::Late {
                route,
                customer,
                start,
                due,
            } => write!(
                f,
                "route #{route} starts service at customer {customer} at {} after its due time {}",
                units(start),
                units(due)
            ),
            Violation::OverCapacity {
                route,
                load,
                capacity,
            } => write!(
                f,
                "route #{route} carries {load} over the capacity {capacity}"
            ),
            Violation::LateReturn { route, back, due } => write!(
                f,
                "route #{route} is back at the depot at {} after its due time {}",
                units(back),
                units(due)
            ),
            Violation::TooManyRoutes { routes, vehicles } => {
                write!(f, "{routes} routes for {vehicles} vehicles")
            }
            Violation::WrongDistance { reported, actual } => write!(
                f,
                "the solver reported a distance of {} but the routes cost {}",
                units(reported),
                units(actual)
            ),
        }
    }
}

/// What the check found: the routes' distance and count, and every broken rule (none: feasible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Total DIMACS distance of the routes (tenths), recomputed from the coordinates.
    pub distance: i64,
    /// Non-empty routes.
    pub routes: usize,
    /// Broken rules, in the order found.
    pub violations: Vec<Violation>,
}

impl Verdict {
    /// Whether no rule is broken.
    pub fn feasible(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks `routes` (customer node indices, the depot left out; empty routes are unused vehicles) against
/// `instance` under the DIMACS convention: every customer exactly once, each route within the capacity,
/// service started within each window (waiting for its start is allowed), back at the depot by its due time,
/// at most `VEHICLES` routes; with `reported`, the solver's distance must be the recomputed one.
pub fn check(instance: &Instance, routes: &[Vec<usize>], reported: Option<i64>) -> Verdict {
    let mut violations = Vec::new();
    let mut visits = vec![0_usize; instance.nodes()];
    let depot = instance.depot();
    let mut distance = 0;
    let mut used = 0;
    for route in routes.iter().filter(|r| !r.is_empty()) {
        used += 1;
        let (mut at, mut clock, mut load) = (depot, instance.ready(depot), 0);
        for &node in route {
            if node >= instance.nodes() || node == depot {
                violations.push(Violation::NotACustomer { route: used, node });
                continue;
            }
            visits[node] += 1;
            let travel = instance.distance(at, node);
            distance += travel;
            clock = (clock + travel).max(instance.ready(node));
            if clock > instance.due(node) {
                violations.push(Violation::Late {
                    route: used,
                    customer: node,
                    start: clock,
                    due: instance.due(node),
                });
            }
            clock += instance.service(node);
            load += instance.demand(node);
            at = node;
        }
        let back = instance.distance(at, depot);
        distance += back;
        clock += back;
        if clock > instance.due(depot) {
            violations.push(Violation::LateReturn {
                route: used,
                back: clock,
                due: instance.due(depot),
            });
        }
        if load > instance.capacity() {
            violations.push(Violation::OverCapacity {
                route: used,
                load,
                capacity: instance.capacity(),
            });
        }
    }
    for customer in instance.customer_nodes() {
        match visits[customer] {
            0 => violations.push(Violation::Missed { customer }),
            1 => {}
            _ => violations.push(Violation::VisitedTwice { customer }),
        }
    }
    if used > instance.vehicles() {
        violations.push(Violation::TooManyRoutes {
            routes: used,
            vehicles: instance.vehicles(),
        });
    }
    if let Some(reported) = reported.filter(|&r| r != distance) {
        violations.push(Violation::WrongDistance {
            reported,
            actual: distance,
        });
    }
    Verdict {
        distance,
        routes: used,
        violations,
    }
}
