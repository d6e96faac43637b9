//! Pure order logic of Doorstep: identifiers, money, roles, the job state machine every service shares
//! (rides, deliveries, house calls), workers and their routes, the ride state machine, pricing, ledger
//! postings and the events jobs and rides emit.
//!
//! Architecture invariant: this crate does no IO, is not async, reads no clock and no random generator.
//! Callers pass `now` and, where randomness is needed (a ride's PIN), a `&mut impl Rng`. Given the same
//! inputs every function returns the same outputs, so the simulator can replay a day exactly and the live
//! server and the benchmarks run the same code.
//!
//! Every change of a ride's state goes through [`ride::Ride`]'s methods, each a transition of the ride's
//! [`job::Job`]; an illegal transition returns [`ride::RideError::Transition`] and leaves the ride
//! untouched.
//!
//! Every change of a job goes through [`job::Job`]'s methods, which bump its version in one place and
//! return the events to record; a worker's committed stops are a [`worker::Route`] that keeps its
//! invariants (each job's stops in order, pickups before drop-offs, load within capacity) on every change.
//!
//! Secrets one party presents to another (a ride's PIN; later a delivery's hand-over code and a house
//! call's check-in code) are [`code::VerificationCode`]s: they count wrong guesses and lock at a limit.

pub mod audit;
pub mod code;
pub mod contact;
pub mod event;
pub mod food;
pub mod housecall;
pub mod ids;
pub mod job;
pub mod ledger;
pub mod money;
pub mod offer;
pub mod onboarding;
pub mod payment;
pub mod position;
pub mod pricing;
pub mod quote;
pub mod rating;
pub mod ride;
pub mod route_offer;
pub mod saved_place;
pub mod stop;
pub mod text;
pub mod time;
pub mod user;
pub mod worker;

pub use ids::{
    DeviceId, HoldId, JobId, MenuCategoryId, MenuItemId, MenuOptionId, MerchantId, MessageId,
    OfferId, OptionGroupId, QuoteId, RideId, SeriesId, ServiceId, UserId,
};
pub use money::{Currency, Money, MoneyError};
pub use time::Timestamp;
pub use user::{Email, Role, User};
