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
    /// What the customer agents saw of food orders.
    pub food: FoodKpis,
    /// What the house-call clients and providers did.
    pub house_calls: HouseCallKpis,
}

/// The house calls' key figures since the demo started.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HouseCallKpis {
    /// Providers set up and approved by the operator.
    pub providers: u64,
    /// Bookings the demo's clients made.
    pub booked: u64,
    /// Bookings they moved to another start.
    pub rescheduled: u64,
    /// Bookings they cancelled.
    pub cancelled: u64,
    /// Visits the demo's providers checked out of (anyone's booking, a person's too).
    pub completed: u64,
    /// Clients who found no free slot for their service at their address that day.
    pub no_slot: u64,
}

impl fmt::Display for HouseCallKpis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "providers {} | house calls booked {} | rescheduled {} | cancelled {} | done {} | no slot {}",
            self.providers,
            self.booked,
            self.rescheduled,
            self.cancelled,
            self.completed,
            self.no_slot
        )
    }
}

/// The food orders' key figures since the demo started, as customers saw them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FoodKpis {
    /// Restaurants open (created, approved, with hours and a menu).
    pub restaurants: u64,
    /// Orders placed.
    pub placed: u64,
    /// Orders handed over.
    pub delivered: u64,
    /// Orders cancelled (by the customer, or by the server on their behalf).
    pub cancelled: u64,
    /// Orders the kitchen refused.
    pub rejected: u64,
    /// Orders no courier could deliver.
    pub undeliverable: u64,
    /// Mean minutes from placing to the door of the delivered orders, on the demo's clock (0 before
    /// any).
    pub mean_click_to_door_min: f64,
    /// Share of the delivered orders at the door by the promised time (0 before any).
    pub on_time_share: f64,
}

impl fmt::Display for FoodKpis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "restaurants {} | food placed {} | delivered {} | cancelled {} | rejected {} | undeliverable {} | click-to-door {:.1} min | on time {:.0}%",
            self.restaurants,
            self.placed,
            self.delivered,
            self.cancelled,
            self.rejected,
            self.undeliverable,
            self.mean_click_to_door_min,
            self.on_time_share * 100.0
        )
    }
}

impl fmt::Display for Kpis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "open {} | assigned {} | mean pickup eta {:.0}s | completed {} | cancelled {} | no driver {} || {} || {}",
            self.open_requests,
            self.assigned,
            self.mean_pickup_eta_s,
            self.completed,
            self.cancelled,
            self.no_driver,
            self.food,
            self.house_calls
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
    restaurants: AtomicU64,
    food_placed: AtomicU64,
    food_delivered: AtomicU64,
    food_cancelled: AtomicU64,
    food_rejected: AtomicU64,
    food_undeliverable: AtomicU64,
    /// Click-to-door of the delivered orders, simulated milliseconds summed.
    food_door_ms: AtomicU64,
    food_on_time: AtomicU64,
    providers: AtomicU64,
    hc_booked: AtomicU64,
    hc_rescheduled: AtomicU64,
    hc_cancelled: AtomicU64,
    hc_completed: AtomicU64,
    hc_no_slot: AtomicU64,
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
            food: self.food_snapshot(),
            house_calls: HouseCallKpis {
                providers: self.providers.load(Ordering::Relaxed),
                booked: self.hc_booked.load(Ordering::Relaxed),
                rescheduled: self.hc_rescheduled.load(Ordering::Relaxed),
                cancelled: self.hc_cancelled.load(Ordering::Relaxed),
                completed: self.hc_completed.load(Ordering::Relaxed),
                no_slot: self.hc_no_slot.load(Ordering::Relaxed),
            },
        }
    }

    /// Counts a house-call event.
    pub(crate) fn house_call(&self, what: HouseCallCount) {
        let counter = match what {
            HouseCallCount::ProviderReady => &self.providers,
            HouseCallCount::Booked => &self.hc_booked,
            HouseCallCount::Rescheduled => &self.hc_rescheduled,
            HouseCallCount::Cancelled => &self.hc_cancelled,
            HouseCallCount::Completed => &self.hc_completed,
            HouseCallCount::NoSlot => &self.hc_no_slot,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn food_snapshot(&self) -> FoodKpis {
        let delivered = self.food_delivered.load(Ordering::Relaxed);
        let (mean_click_to_door_min, on_time_share) = if delivered == 0 {
            (0.0, 0.0)
        } else {
            (
                self.food_door_ms.load(Ordering::Relaxed) as f64 / 60_000.0 / delivered as f64,
                self.food_on_time.load(Ordering::Relaxed) as f64 / delivered as f64,
            )
        };
        FoodKpis {
            restaurants: self.restaurants.load(Ordering::Relaxed),
            placed: self.food_placed.load(Ordering::Relaxed),
            delivered,
            cancelled: self.food_cancelled.load(Ordering::Relaxed),
            rejected: self.food_rejected.load(Ordering::Relaxed),
            undeliverable: self.food_undeliverable.load(Ordering::Relaxed),
            mean_click_to_door_min,
            on_time_share,
        }
    }

    /// Counts a restaurant that opened.
    pub(crate) fn restaurant_opened(&self) {
        self.restaurants.fetch_add(1, Ordering::Relaxed);
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

/// What a house-call agent counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HouseCallCount {
    /// A provider was approved.
    ProviderReady,
    /// A client booked.
    Booked,
    /// A client rescheduled.
    Rescheduled,
    /// A client cancelled.
    Cancelled,
    /// A provider checked out.
    Completed,
    /// A client found no slot.
    NoSlot,
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

/// How a food order ended, as its customer saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderEnd {
    /// Handed over after `click_to_door_s` simulated seconds; `on_time` if by the promised time.
    Delivered {
        /// Simulated seconds from placing to the door.
        click_to_door_s: f64,
        /// Whether it was at the door by the promise.
        on_time: bool,
    },
    /// Cancelled.
    Cancelled,
    /// Refused by the kitchen.
    Rejected,
    /// No courier could deliver it.
    Undeliverable,
}

/// Counts one food order on a [`KpiBoard`]: its placing once and its end once, however often either
/// is observed.
#[derive(Debug)]
pub struct OrderTracker {
    board: Arc<KpiBoard>,
    placed: bool,
    ended: bool,
}

impl OrderTracker {
    /// A tracker for an order not yet placed.
    pub fn new(board: Arc<KpiBoard>) -> OrderTracker {
        OrderTracker {
            board,
            placed: false,
            ended: false,
        }
    }

    /// Counts the order as placed (once).
    pub fn placed(&mut self) {
        if !self.placed {
            self.placed = true;
            self.board.food_placed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether the order's end has been counted.
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// Counts how the order ended (once; an order never placed is not counted).
    pub fn ended(&mut self, end: OrderEnd) {
        if self.ended || !self.placed {
            return;
        }
        self.ended = true;
        let b = &self.board;
        match end {
            OrderEnd::Delivered {
                click_to_door_s,
                on_time,
            } => {
                b.food_delivered.fetch_add(1, Ordering::Relaxed);
                let ms = if click_to_door_s.is_finite() && click_to_door_s > 0.0 {
                    (click_to_door_s * 1000.0).round() as u64
                } else {
                    0
                };
                b.food_door_ms.fetch_add(ms, Ordering::Relaxed);
                if on_time {
                    b.food_on_time.fetch_add(1, Ordering::Relaxed);
                }
            }
            OrderEnd::Cancelled => {
                b.food_cancelled.fetch_add(1, Ordering::Relaxed);
            }
            OrderEnd::Rejected => {
                b.food_rejected.fetch_add(1, Ordering::Relaxed);
            }
            OrderEnd::Undeliverable => {
                b.food_undeliverable.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
