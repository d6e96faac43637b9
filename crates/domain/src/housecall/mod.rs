//! House calls: a provider (a masseuse, a cleaner, a repairer) comes to the customer's home in a booked
//! slot. `catalogue` holds the services operators sell (length, price, preparation buffer), `provider` a
//! provider's profile (the services they offer, their area, home base, weekly hours, time off, daily cap)
//! and the working intervals of a day, and `booking` the booking's record and state machine on top of its
//! house-call [`crate::job::Job`] (one service stop whose window is the slot and whose service time is the
//! appointment's length), as an `Order` is on top of a delivery job.
//!
//! Which slots can be offered is a question of travel between visits, so it is answered where the route
//! model lives: the app builds each provider's day as a route from the home base through the booked visits
//! and back, and asks `doorstep_dispatch::best_insertion` whether the new visit fits (docs/house-calls.md).
//! Pure like the rest of the crate: `now` and generators are parameters.

pub mod booking;
pub mod catalogue;
pub mod provider;

pub use booking::{
    Booking, BookingEvent, BookingRecord, BookingState, CancellationPolicy, NewBooking,
    ProviderChoice,
};
pub use catalogue::{HcService, ServiceDraft, ServiceError};
pub use provider::{ProviderDraft, ProviderError, ProviderProfile, TimeOff};
