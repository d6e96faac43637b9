//! An offer of one ride to one driver. The dispatcher offers a ride to one driver at a time; the driver
//! accepts, declines, or lets it expire, and then the next best driver gets an offer.

use crate::ids::{OfferId, RideId, UserId};
use crate::money::Money;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    /// Waiting for the driver's answer.
    Pending,
    /// The driver took the ride.
    Accepted,
    /// The driver said no.
    Declined,
    /// The driver did not answer in time.
    Expired,
    /// The ride went away (cancelled) before the driver answered.
    Withdrawn,
}

impl OfferState {
    /// The stable snake_case name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            OfferState::Pending => "pending",
            OfferState::Accepted => "accepted",
            OfferState::Declined => "declined",
            OfferState::Expired => "expired",
            OfferState::Withdrawn => "withdrawn",
        }
    }

    /// Parses the name produced by [`OfferState::as_str`].
    pub fn parse(s: &str) -> Option<OfferState> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Declined,
            Self::Expired,
            Self::Withdrawn,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// The offer's worker answers it (`to`: accepted or declined) at `now`. Refused if `by` is not
    /// `worker`, the offer is no longer pending, or `now` is past `expires_at`; the one rule for every
    /// kind of offer.
    pub fn answer(
        &mut self,
        to: OfferState,
        by: UserId,
        worker: UserId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), OfferError> {
        if by != worker {
            return Err(OfferError::NotYours);
        }
        if *self != OfferState::Pending {
            return Err(OfferError::NotPending(*self));
        }
        if now > expires_at {
            return Err(OfferError::Expired);
        }
        *self = to;
        Ok(())
    }

    /// A pending offer past `expires_at` becomes expired; returns whether it changed.
    pub fn expire_if_due(&mut self, expires_at: Timestamp, now: Timestamp) -> bool {
        self.leave_pending(OfferState::Expired, now > expires_at)
    }

    /// A pending offer is withdrawn; returns whether it changed.
    pub fn withdraw(&mut self) -> bool {
        self.leave_pending(OfferState::Withdrawn, true)
    }

    fn leave_pending(&mut self, to: OfferState, when: bool) -> bool {
        let changes = *self == OfferState::Pending && when;
        if changes {
            *self = to;
        }
        changes
    }
}

/// Why an answer to an offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// The offer was made to another driver.
    #[error("this offer was not made to you")]
    NotYours,
    /// The answer came after the deadline.
    #[error("the offer has expired")]
    Expired,
    /// The offer was already answered, expired or withdrawn.
    #[error("the offer is {0:?}, not pending")]
    NotPending(OfferState),
}

/// One offer of a ride to one driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Identity of the offer.
    pub id: OfferId,
    /// The ride offered.
    pub ride_id: RideId,
    /// The driver it is offered to.
    pub driver: UserId,
    /// Where the offer stands.
    pub state: OfferState,
    /// When it was made.
    pub created_at: Timestamp,
    /// The last instant the driver can accept.
    pub expires_at: Timestamp,
    /// Estimated drive to the pickup, in seconds.
    pub pickup_eta_s: u32,
    /// Estimated distance to the pickup, in metres.
    pub pickup_distance_m: u32,
    /// The quoted fare of the ride.
    pub fare: Money,
}

impl Offer {
    /// The driver accepts. Refused if the offer is someone else's, no longer pending, or past its deadline.
    pub fn accept(&mut self, by: UserId, now: Timestamp) -> Result<(), OfferError> {
        self.state
            .answer(OfferState::Accepted, by, self.driver, self.expires_at, now)
    }

    /// The driver declines.
    pub fn decline(&mut self, by: UserId, now: Timestamp) -> Result<(), OfferError> {
        self.state
            .answer(OfferState::Declined, by, self.driver, self.expires_at, now)
    }

    /// Marks a pending offer expired once its deadline has passed; returns whether it changed.
    pub fn expire_if_due(&mut self, now: Timestamp) -> bool {
        self.state.expire_if_due(self.expires_at, now)
    }

    /// Withdraws a pending offer (the ride was cancelled); returns whether it changed.
    pub fn withdraw(&mut self) -> bool {
        self.state.withdraw()
    }
}
