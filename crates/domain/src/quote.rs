//! Fare quotes: a price promised to a rider for a trip, valid for a few minutes.

use crate::ids::{QuoteId, UserId};
use crate::pricing::FareBreakdown;
use crate::time::Timestamp;
use doorstep_geo::LatLng;

/// A priced trip a rider may turn into a ride before `expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Identity.
    pub id: QuoteId,
    /// The rider it was given to; nobody else can use it.
    pub rider: UserId,
    /// Pickup point.
    pub pickup: LatLng,
    /// Drop-off point.
    pub dropoff: LatLng,
    /// The itemised fare.
    pub fare: FareBreakdown,
    /// When it was given.
    pub created_at: Timestamp,
    /// The last instant it can be used.
    pub expires_at: Timestamp,
}

impl Quote {
    /// Whether the quote can still be used at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        now <= self.expires_at
    }
}
