//! Pure dispatch algorithms for Doorstep: who serves which request.
//!
//! This crate holds the matching at the heart of the platform: given a batch of open requests, the drivers (or
//! couriers, or house-call providers) that could serve them and what each pairing costs, choose the pairing. The
//! live dispatcher and the benchmarks call the very same functions.
//!
//! - [`assign_min_cost`]: the exact minimum-cost assignment (successive shortest paths with potentials over the
//!   sparse candidate graph), see [`AssignmentProblem`] for the semantics.
//! - [`assign_greedy`]: the "nearest free driver, first come first served" baseline it is measured against.
//! - [`prune_candidates`]: keep each request's `k` cheapest candidates to bound the problem size.
//! - [`route`]: a worker's route of stops across jobs (time windows, service times, load) and
//!   [`best_insertion`] of a new job's stops into it, at the cost the batch minimises.
//! - [`core`]: the [`Dispatcher`], an IO-free state machine (`handle(input, now) -> actions`) that
//!   the server's async shell and the simulator both drive, for rides and, with [`DeliveryRules`],
//!   for deliveries: commit late to a pickup whose window opens later, bundles as one offer.
//! - [`calendar`]: whether a house call fits a provider's working day (availability), on [`best_insertion`].
//! - [`vrptw`]: routing with time windows (the house-call scheduler, measured by `doorstep bench vrptw`).
//!
//! Architecture invariant: this crate is pure. It does no IO, is not async, reads no clock and no global random
//! generator (time and randomness, when an algorithm needs them, are parameters), and keeps no global state. Given
//! the same input it returns the same output, bit for bit, including how ties between equally good answers are
//! broken; this is what lets the simulator replay a day exactly.
//!
//! Costs are `f64` (typically seconds of pickup ETA) and must be finite and `>= 0`; invalid input is rejected with
//! [`InvalidProblem`] before any work is done, never by a panic.

pub mod calendar;
pub mod core;
mod delivery;
mod greedy;
mod min_cost;
mod problem;
mod pruning;
mod radix_heap;
pub mod route;
pub mod vrptw;

pub use greedy::assign_greedy;
pub use min_cost::assign_min_cost;
pub use problem::{Assignment, AssignmentProblem, Candidate, InvalidMatching, InvalidProblem};
pub use pruning::prune_candidates;
pub use route::{Insertion, Route, RouteStop, Schedule, TravelTime, Window, best_insertion};

pub use delivery::DeliveryRules;

pub use crate::core::{
    Action, DispatchConfig, DispatchCounts, Dispatcher, Forecast, Input, JobHistory, NoForecast,
    OfferNo, OpenJob, Planar, Unfulfilled,
};
