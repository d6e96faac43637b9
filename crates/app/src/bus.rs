//! The in-process event bus. Durable ride events are published after their transaction commits; driver
//! locations are ephemeral and pushed as they come. Subscribers that fall behind lose messages on the bus
//! but never events: the WebSocket layer treats a durable event as a doorbell and reads the user's events
//! from the store, so it resumes from its last delivered id without gaps or duplicates.

use doorstep_domain::{RideId, Timestamp, UserId};
use doorstep_geo::LatLng;
use doorstep_store::StoredEvent;
use tokio::sync::broadcast;

/// A driver's position pushed to the rider of the ride they are on.
#[derive(Debug, Clone)]
pub struct LocationUpdate {
    /// The ride the driver is on.
    pub ride_id: RideId,
    /// The ride's rider.
    pub rider: UserId,
    /// The driver.
    pub driver: UserId,
    /// Where the driver is.
    pub position: LatLng,
    /// When the driver was there.
    pub at: Timestamp,
    /// Estimated seconds until pickup while driving to it.
    pub eta_s: Option<u32>,
}

/// A driver's position and status for the operations console.
#[derive(Debug, Clone)]
pub struct DriverPosition {
    /// The driver.
    pub driver: UserId,
    /// `available`, `offered`, `to_pickup`, `on_trip` or `offline`.
    pub status: &'static str,
    /// Where the driver is.
    pub position: LatLng,
    /// When the driver was there.
    pub at: Timestamp,
}

/// What travels on the bus.
#[derive(Debug, Clone)]
pub enum BusMessage {
    /// A ride event that is already in the store.
    Event(StoredEvent),
    /// A driver's position on a ride.
    Location(LocationUpdate),
}

/// Broadcast channels: [`BusMessage`]s for every subscriber, and every driver's position on a separate
/// channel that only the operations console subscribes to (so that thousands of driver sockets are not
/// woken for positions they would drop).
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<BusMessage>,
    fleet: broadcast::Sender<DriverPosition>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus that buffers up to 8192 messages per slow subscriber.
    pub fn new() -> EventBus {
        let (tx, _) = broadcast::channel(8192);
        let (fleet, _) = broadcast::channel(8192);
        EventBus { tx, fleet }
    }

    /// Publishes a driver's position to the operations console subscribers (none is fine).
    pub fn publish_position(&self, position: DriverPosition) {
        let _ = self.fleet.send(position);
    }

    /// A new subscription to every driver's position (admins only).
    pub fn subscribe_positions(&self) -> broadcast::Receiver<DriverPosition> {
        self.fleet.subscribe()
    }

    /// Publishes a message to every current subscriber (none is fine).
    pub fn publish(&self, message: BusMessage) {
        let _ = self.tx.send(message);
    }

    /// A new subscription that sees every message published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.tx.subscribe()
    }
}
