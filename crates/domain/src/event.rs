//! The one event stream's stored payload: what happened to a job, of any service. A ride's events are
//! [`RideEvent`]s (stored as they always were), a food order's [`OrderEvent`]s, each named by its `type`;
//! no order event has a ride event's name (they all start with `order_`), so a stored payload reads back
//! as the kind it was written as.

use crate::food::order::OrderEvent;
use crate::housecall::BookingEvent;
use crate::ride::RideEvent;
use serde::{Deserialize, Serialize};

/// What happened to a job, as stored in the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Event {
    /// Something that happened to a ride.
    Ride(RideEvent),
    /// Something that happened to a food order.
    Order(OrderEvent),
    /// Something that happened to a house-call booking.
    Booking(BookingEvent),
}

impl Event {
    /// The stable snake_case name of the event's kind (its `type`).
    pub const fn kind(&self) -> &'static str {
        match self {
            Event::Ride(e) => e.kind(),
            Event::Order(e) => e.kind(),
            Event::Booking(e) => e.kind(),
        }
    }

    /// The ride event, if it is one.
    pub const fn as_ride(&self) -> Option<&RideEvent> {
        match self {
            Event::Ride(e) => Some(e),
            Event::Order(_) | Event::Booking(_) => None,
        }
    }
}

impl From<RideEvent> for Event {
    fn from(e: RideEvent) -> Event {
        Event::Ride(e)
    }
}

impl From<BookingEvent> for Event {
    fn from(e: BookingEvent) -> Event {
        Event::Booking(e)
    }
}

impl From<OrderEvent> for Event {
    fn from(e: OrderEvent) -> Event {
        Event::Order(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::food::order::RejectReason;
    use crate::job::Canceller;

    #[test]
    fn stored_payloads_read_back_as_the_kind_they_were_written_as() {
        let events = [
            Event::Ride(RideEvent::PinLocked),
            Event::Ride(RideEvent::Cancelled {
                by: crate::ride::CancelledBy::Rider,
                fee: None,
            }),
            Event::Order(OrderEvent::OrderPreparing),
            Event::Order(OrderEvent::OrderCancelled {
                by: Canceller::Customer,
                fee: None,
            }),
            Event::Order(OrderEvent::OrderRejected {
                reason: RejectReason::TooBusy,
            }),
        ];
        for e in events {
            let json = serde_json::to_string(&e).expect("json");
            let back: Event = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back, e, "{json}");
            // The stored form of a ride event is unchanged: the ride event's own JSON.
            if let Event::Ride(r) = &e {
                assert_eq!(json, serde_json::to_string(r).expect("json"));
            }
        }
    }
}
