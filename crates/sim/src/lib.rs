//! A seeded discrete-event re-implementation of the DIMACS ride-hailing environment (`pyhailing`
//! 0.0.9) on the Manhattan data, the online dispatch policies measured in it, the clairvoyant
//! offline bound, and the benchmark runner behind `doorstep bench ridehail`.
//!
//! The rules are those of `data/manhattan` (see `docs/benchmarks.md` for the list as implemented):
//! requests drawn from the 2018 demand table, rotated L1 distances, stochastic zone-to-zone speeds,
//! a 300 s pickup limit, at most one job queued behind a vehicle's current ride, revenue credited at
//! assignment and driving cost charged as driven.
//!
//! Architecture invariant: the simulation is pure and deterministic. It does no IO, reads no clock
//! and draws every random number from a `rand_pcg::Pcg64` seeded from the day's seed, so the same
//! seed gives the same [`Outcome`]. Only [`bench`] (the runner) reads the wall clock, the process's
//! memory and writes files; decision times reach the simulation through the [`Stopwatch`] trait.
//! [`stdio`] (the adapter behind `doorstep policy --stdio`) reads and writes only the streams its
//! caller passes.
//!
//! Architecture invariant: every policy solves its matchings with the `doorstep_dispatch` functions
//! that the live dispatcher calls (`assign_min_cost`, `assign_greedy`, `prune_candidates`): a
//! benchmark of a copy would be worthless.

/// The benchmark runner behind `doorstep bench ridehail` (clock, memory, files, terminal).
pub mod bench;
mod engine;
mod grid;
/// `housecalls`: a seeded week of house-call bookings under three policies (a naive calendar, the server's
/// travel-aware insertion, and insertion with nightly VRPTW re-optimisation), behind `doorstep bench housecalls`.
pub mod housecalls;
mod instance;
/// `live`: the server's IO-free dispatcher driven through the simulator.
pub mod live;
/// `mdrp`: meal delivery on the Grubhub instances with the platform's dispatcher and the Reyes et al.
/// policy, behind `doorstep bench mdrp`.
pub mod mdrp;
mod offline;
mod policy;
/// `doorstep policy --stdio`: the JSON-lines adapter through which an outside simulator (such as
/// pyhailing) is driven by the same policies.
pub mod stdio;
/// `vrptw`: the house-call scheduler's VRPTW solver on the Solomon and Gehring–Homberger instances, behind
/// `doorstep bench vrptw`.
pub mod vrptw;

pub use engine::{
    Actions, DECISION_INTERVAL_SECS, DecisionView, Feasible, Leg, LegKind, NoStopwatch, Outcome,
    Policy, Refusals, RunResult, ScanScratch, Service, Stopwatch, Vehicle, percentile, simulate,
};
pub use instance::{
    BASE_FARE, COST_PER_KM, DAY_SECS, Day, FARE_PER_KM, GridPoint, InstanceClass, LotPoint, Model,
    PICKUP_LIMIT_SECS, Request, UnknownClass,
};
pub use offline::{
    CHAIN_BOUND, LOOSE_BOUND, OfflineBound, chain_bound, loose_bound, offline_bound,
};
pub use policy::{Batch, BatchTuning, Greedy};
