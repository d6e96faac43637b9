//! The house-call scheduler's benchmark (`doorstep bench vrptw`): the VRPTW solver of
//! [`doorstep_dispatch::vrptw`] on the Solomon and Gehring–Homberger 200-customer instances (vendored in
//! `data/vrptw`) under the DIMACS convention, each for an equal CPU-time budget on one thread, with the gap
//! to the best known solutions.
//!
//! The parts: [`Instance`] (the VRPLIB reader and the DIMACS convention: distances `floor(10 × euclid)`
//! tenths, travel time = distance, windows and service times × 10), [`check`] (an independent feasibility
//! check that recomputes everything from the instance, never from the solver's `Problem`), the `.sol` files
//! ([`write_sol`], [`read_sol`]), the BKS table ([`BksTable`]) and [`bench`] (the runner).
//!
//! Architecture invariant: only [`bench`] reads files and clocks, writes output and runs threads; the
//! reader, the convention and the check are pure functions of their inputs. The solver is called as the
//! live scheduler will call it (`solve` with a stop callback), never a copy of it.

pub mod bench;
mod bks;
mod check;
mod instance;
mod solution;

pub use bks::{Bks, BksError, BksTable};
pub use check::{Verdict, Violation, check};
pub use instance::{Instance, VrplibError, truncate_tenths, units};
pub use solution::{SolError, SolFile, read_sol, write_sol};
