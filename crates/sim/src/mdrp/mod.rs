//! The Meal Delivery Routing Problem (MDRP) on the Grubhub instances (`doorstep bench mdrp`): the
//! instance reader, the rules as a minute-by-minute simulation that checks every instruction, the
//! paper's metrics, solutions in the mdrplib format with a check of their feasibility, and two
//! policies side by side: `doorstep`, the platform's own [`doorstep_dispatch::Dispatcher`] with its
//! delivery rules (the code the server runs), and `reyes`, a port of the rolling-horizon policy of
//! Reyes et al. (2018).
//!
//! Architecture invariant: the simulation and both policies are pure and deterministic (no clock,
//! no random numbers, no IO); only [`bench`] reads files, the clock and writes output. The
//! instances are read from outside the repository and never copied into it.

pub mod bench;
mod doorstep;
mod engine;
mod instance;
mod metrics;
mod reyes;
mod solution;

pub use doorstep::{DoorstepPolicy, MdrpPlace, MdrpTravel, mdrp_config, mdrp_rules};
pub use engine::{
    Assignment, AssignmentRecord, CourierState, Delivery, Move, Outcome, Policy, RuleError, Stop,
    View, simulate,
};
pub use instance::{Courier, Instance, InstanceError, Loc, Order, Params, Restaurant};
pub use metrics::{DayFigures, OrderFigures, figures, p90};
pub use reyes::{ReyesPolicy, ReyesTuning};
pub use solution::{check, write};
