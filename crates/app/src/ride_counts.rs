//! How many rides are in each state, kept in memory for `/metrics`: loaded once from the store when the
//! app starts, then moved by every committed change of a ride's state. A scrape reads these numbers and
//! never asks the database.

use doorstep_domain::ride::RideState;
use std::sync::atomic::{AtomicI64, Ordering};

/// Rides by state. Each change is a decrement of the state the ride left and an increment of the one it
/// entered, applied after the change committed; the two commute, so concurrent changes of one ride (which
/// the store serialises by version) add up right in any order.
#[derive(Debug, Default)]
pub struct RideCounts {
    by_state: [AtomicI64; RideState::ALL.len()],
}

fn slot(state: RideState) -> usize {
    match state {
        RideState::Requested => 0,
        RideState::DriverAssigned => 1,
        RideState::DriverArrived => 2,
        RideState::InProgress => 3,
        RideState::Completed => 4,
        RideState::Cancelled => 5,
        RideState::NoDriverAvailable => 6,
    }
}

impl RideCounts {
    /// Replaces the counts with `counts` (read from the store at start).
    pub fn load(&self, counts: &[(RideState, i64)]) {
        for c in &self.by_state {
            c.store(0, Ordering::Relaxed);
        }
        for &(state, n) in counts {
            self.by_state[slot(state)].store(n, Ordering::Relaxed);
        }
    }

    /// A new ride was stored in `state`.
    pub fn created(&self, state: RideState) {
        self.by_state[slot(state)].fetch_add(1, Ordering::Relaxed);
    }

    /// A stored ride went from `from` to `to` (nothing when they are the same).
    pub fn changed(&self, from: RideState, to: RideState) {
        if from != to {
            self.by_state[slot(from)].fetch_sub(1, Ordering::Relaxed);
            self.by_state[slot(to)].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The count of every state, in lifecycle order.
    pub fn snapshot(&self) -> [(RideState, i64); RideState::ALL.len()] {
        RideState::ALL.map(|s| (s, self.by_state[slot(s)].load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_creations_and_changes_in_any_order() {
        let counts = RideCounts::default();
        counts.load(&[(RideState::Completed, 3)]);
        counts.created(RideState::Requested);
        // Two changes of one ride, applied in the opposite order of their commits.
        counts.changed(RideState::DriverAssigned, RideState::Cancelled);
        counts.changed(RideState::Requested, RideState::DriverAssigned);
        counts.changed(RideState::Completed, RideState::Completed);
        let snapshot = counts.snapshot();
        let of = |s: RideState| snapshot.iter().find(|(x, _)| *x == s).map(|(_, n)| *n);
        assert_eq!(of(RideState::Requested), Some(0));
        assert_eq!(of(RideState::DriverAssigned), Some(0));
        assert_eq!(of(RideState::Cancelled), Some(1));
        assert_eq!(of(RideState::Completed), Some(3));
    }
}
