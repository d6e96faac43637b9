//! What the demo shows: counts of the rides the rider agents saw, as a rider app would.
//!
//! Every rider agent keeps a [`RideTracker`] for its ride and feeds it the states it observes
//! (WebSocket events and polled ride views). The tracker turns state changes into counter updates
//! on the shared [`KpiBoard`], exactly once per change, whichever way the change was observed.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The demo's key figures since it started.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Kpis {
    /// Rides requested and waiting for a driver now (requested, not yet assigned, not ended).
    pub open_requests: u64,
    /// Times a ride reached `driver_assigned` (a ride reassigned after its driver cancelled counts
    /// again).
    pub assigned: u64,
    /// Mean of the `pickup_eta_s` announced with those assignments, in seconds (0 before any).
    pub mean_pickup_eta_s: f64,
    /// Rides completed.
    pub completed: u64,
    /// Rides cancelled (by the rider, or by the server on the rider's behalf).
    pub cancelled: u64,
    /// Rides the server gave up on because no driver was available.
    pub no_driver: u64,
}

impl fmt::Display for Kpis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "open {} | assigned {} | mean pickup eta {:.0}s | completed {} | cancelled {} | no driver {}",
            self.open_requests,
            self.assigned,
            self.mean_pickup_eta_s,
            self.completed,
            self.cancelled,
            self.no_driver
        )
    }
}

/// The shared counters behind [`Kpis`], updated by [`RideTracker`]s from many tasks at once.
#[derive(Debug, Default)]
pub struct KpiBoard {
    open: AtomicI64,
    assigned: AtomicU64,
    eta_sum_ms: AtomicU64,
    eta_count: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    no_driver: AtomicU64,
}

impl KpiBoard {
    /// The figures now.
    pub fn snapshot(&self) -> Kpis {
        let eta_count = self.eta_count.load(Ordering::Relaxed);
        let eta_sum_ms = self.eta_sum_ms.load(Ordering::Relaxed);
        Kpis {
            open_requests: u64::try_from(self.open.load(Ordering::Relaxed)).unwrap_or(0),
            assigned: self.assigned.load(Ordering::Relaxed),
            mean_pickup_eta_s: if eta_count == 0 {
                0.0
            } else {
                eta_sum_ms as f64 / 1000.0 / eta_count as f64
            },
            completed: self.completed.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            no_driver: self.no_driver.load(Ordering::Relaxed),
        }
    }

    fn add_open(&self, delta: i64) {
        self.open.fetch_add(delta, Ordering::Relaxed);
    }

    fn record_assignment(&self, pickup_eta_s: Option<f64>) {
        self.assigned.fetch_add(1, Ordering::Relaxed);
        if let Some(eta) = pickup_eta_s.filter(|eta| eta.is_finite() && *eta >= 0.0) {
            // Saturating conversion; an ETA beyond u64 milliseconds is not a real one anyway.
            self.eta_sum_ms
                .fetch_add((eta * 1000.0).round() as u64, Ordering::Relaxed);
            self.eta_count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The state of a ride as its rider sees it, the part of the ride view's `state` the KPIs need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RidePhase {
    /// Waiting for a driver.
    Requested,
    /// A driver accepted and is on the way.
    Assigned,
    /// The driver is at the pickup.
    Arrived,
    /// The rider is on board.
    InProgress,
    /// The ride ended at the drop-off.
    Completed,
    /// The ride was cancelled.
    Cancelled,
    /// No driver could be found.
    NoDriver,
}

impl RidePhase {
    /// Order along a ride's life; the three endings share the last rank.
    fn rank(self) -> u8 {
        match self {
            RidePhase::Requested => 0,
            RidePhase::Assigned => 1,
            RidePhase::Arrived => 2,
            RidePhase::InProgress => 3,
            RidePhase::Completed | RidePhase::Cancelled | RidePhase::NoDriver => 4,
        }
    }

    /// Whether the ride is over.
    pub fn is_final(self) -> bool {
        self.rank() == 4
    }
}

/// Follows one ride and counts its state changes on a [`KpiBoard`] exactly once.
///
/// Observations may arrive twice, late or out of order (an event and a poll saying the same
/// thing): a tracker only moves forward, except through [`RideTracker::driver_left`]. Dropping a tracker whose ride is still
/// waiting for a driver takes it off the open count, so an agent that stops cannot leave a
/// phantom open request behind.
#[derive(Debug)]
pub struct RideTracker {
    board: Arc<KpiBoard>,
    phase: Option<RidePhase>,
}

impl RideTracker {
    /// A tracker for a ride not yet requested.
    pub fn new(board: Arc<KpiBoard>) -> RideTracker {
        RideTracker { board, phase: None }
    }

    /// The last state counted, `None` before the first observation.
    pub fn phase(&self) -> Option<RidePhase> {
        self.phase
    }

    /// Counts an observed state of the ride (from an event, a response or a poll). Observations
    /// may be late or repeated, so the tracker only moves forward: anything not ahead of what it
    /// has counted is ignored.
    pub fn observe(&mut self, to: RidePhase, pickup_eta_s: Option<f64>) {
        let from = self.phase;
        if from.is_some_and(|current| to.rank() <= current.rank()) {
            return;
        }
        match (from, to) {
            (None, RidePhase::Requested) => self.board.add_open(1),
            (Some(RidePhase::Requested), _) => self.board.add_open(-1),
            _ => {}
        }
        let had_driver = from.is_some_and(|p| p.rank() >= RidePhase::Assigned.rank());
        let gets_driver = matches!(
            to,
            RidePhase::Assigned | RidePhase::Arrived | RidePhase::InProgress | RidePhase::Completed
        );
        if gets_driver && !had_driver {
            self.board.record_assignment(pickup_eta_s);
        }
        match to {
            RidePhase::Completed => {
                self.board.completed.fetch_add(1, Ordering::Relaxed);
            }
            RidePhase::Cancelled => {
                self.board.cancelled.fetch_add(1, Ordering::Relaxed);
            }
            RidePhase::NoDriver => {
                self.board.no_driver.fetch_add(1, Ordering::Relaxed);
            }
            RidePhase::Requested
            | RidePhase::Assigned
            | RidePhase::Arrived
            | RidePhase::InProgress => {}
        }
        self.phase = Some(to);
    }

    /// Counts the one step back a ride can take: its driver cancelled before the pickup, so the
    /// ride waits for a driver again (the `driver_cancelled` event). Ignored in any other state.
    pub fn driver_left(&mut self) {
        if matches!(self.phase, Some(RidePhase::Assigned | RidePhase::Arrived)) {
            self.board.add_open(1);
            self.phase = Some(RidePhase::Requested);
        }
    }
}

impl Drop for RideTracker {
    fn drop(&mut self) {
        if self.phase == Some(RidePhase::Requested) {
            self.board.add_open(-1);
        }
    }
}
