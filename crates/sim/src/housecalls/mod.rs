//! `doorstep bench housecalls`: a seeded week of house-call bookings in Manhattan with the city's travel
//! times, under three policies side by side — a naive calendar (a fixed 30-minute buffer between visits, no
//! travel model), travel-aware insertion (the server's `calendar::fits`), and insertion with nightly
//! re-optimisation by the VRPTW solver — and the latency of the availability query.
//!
//! The parts: [`week`] (the seeded week: providers, requests arriving over the week before and during it,
//! each with a wished start), [`travel`] (the server's travel adapter and the same with zones looked up
//! once), [`plan`] (the booked visits, and the walk of a provider's day with the real travel times that
//! finds late arrivals), [`availability`] (each policy's query and the customer's choice), [`reopt`] (a day
//! as a VRPTW problem, the solver's answer checked again before it is taken), [`engine`] (the week),
//! [`latency`] (the query on a full calendar of 200 providers) and [`bench`] (the runner).
//!
//! Architecture invariant: the travel-aware policies call `doorstep_dispatch::calendar::fits` and
//! `doorstep_dispatch::vrptw::solve` — the server's availability check and the scheduler's solver — never a
//! copy. Everything but [`bench`] is a pure function of its inputs (the seed, the week, the re-optimiser);
//! clocks reach it only through [`crate::Stopwatch`] and the [`reopt::Reoptimiser`] the runner passes.

pub mod availability;
pub mod bench;
pub mod engine;
pub mod latency;
pub mod plan;
pub mod reopt;
pub mod travel;
pub mod week;

pub use engine::{Outcome, PolicyName, Promise, RunResult, simulate};
pub use week::{Week, WeekConfig};
