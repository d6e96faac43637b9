//! An offer of a route change to one worker: take one or more jobs, with their stops placed in the
//! worker's route as planned. Dispatch makes it from the worker's route at some revision; the worker
//! accepts, declines or lets it expire, or dispatch withdraws it (a job went away).
//!
//! ```text
//! pending ──accept──▶ accepted
//!    ├──decline──▶ declined
//!    ├──deadline passes──▶ expired
//!    └──withdraw──▶ withdrawn
//! ```
//!
//! Accepting the offer does not change the route by itself: the caller assigns each job
//! (`Job::assign`) and replaces the route with [`RouteOffer::route`] through `Route::replan`, which
//! refuses it if the route moved since [`RouteOffer::based_on`] (a stale plan is never applied).

use crate::ids::{JobId, OfferId, UserId};
use crate::offer::{OfferError, OfferState};
use crate::time::Timestamp;
use crate::worker::RouteStop;
use serde::{Deserialize, Serialize};

/// One offer of a route change of one or more jobs to one worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteOffer {
    /// Identity of the offer.
    pub id: OfferId,
    /// The worker it is offered to.
    pub worker: UserId,
    /// The jobs it adds to the worker's route (one for a ride; several for a batch of deliveries).
    pub jobs: Vec<JobId>,
    /// The whole route the worker would follow if it accepts.
    pub route: Vec<RouteStop>,
    /// The revision of the worker's route the plan was made from.
    pub based_on: u64,
    /// Estimated time to the first new stop, in seconds.
    pub eta_s: u32,
    /// Where the offer stands.
    pub state: OfferState,
    /// When it was made.
    pub created_at: Timestamp,
    /// The last instant the worker can accept.
    pub expires_at: Timestamp,
}

impl RouteOffer {
    /// The worker accepts. Refused if the offer is someone else's, no longer pending, or past its deadline.
    pub fn accept(&mut self, by: UserId, now: Timestamp) -> Result<(), OfferError> {
        self.state
            .answer(OfferState::Accepted, by, self.worker, self.expires_at, now)
    }

    /// The worker declines.
    pub fn decline(&mut self, by: UserId, now: Timestamp) -> Result<(), OfferError> {
        self.state
            .answer(OfferState::Declined, by, self.worker, self.expires_at, now)
    }

    /// Marks a pending offer expired once its deadline has passed; returns whether it changed.
    pub fn expire_if_due(&mut self, now: Timestamp) -> bool {
        self.state.expire_if_due(self.expires_at, now)
    }

    /// Withdraws a pending offer (one of its jobs went away); returns whether it changed.
    pub fn withdraw(&mut self) -> bool {
        self.state.withdraw()
    }

    /// Whether the offer covers `job`.
    pub fn covers(&self, job: JobId) -> bool {
        self.jobs.contains(&job)
    }
}
