//! A food order: the service record on top of a delivery [`Job`], as a `Ride` is on top of a ride's job.
//!
//! The order owns what is specific to food: the priced lines, the checkout quote, the kitchen's progress,
//! the promise made at checkout and the live estimate. The job owns the rest: the pickup stop at the
//! restaurant (its window opens when the kitchen says the food is ready), the drop-off at the customer with
//! the hand-over code, the courier, the offers and the job's one state machine. Every change of an order
//! is a method here, and each changes the job (a window, a stop, a cancellation, or
//! [`Job::service_changed`] for kitchen-only steps), so an order's version is its job's version and two
//! concurrent changes always collide.
//!
//! The order's state is derived, never stored apart: the kitchen's state until the courier picks the food
//! up, then the job's.
//!
//! ```text
//! placed ─accept(prep)→ accepted ─start→ preparing ─ready→ ready ─pickup→ picked_up ─deliver→ delivered
//!    │                     └──────────────┴──────────────────┴─→ cancelled (a fee: the kitchen started)
//!    ├─reject→ rejected (nothing charged)
//!    └─cancel→ cancelled (free)
//! any state before delivered ─(no courier, or the courier could not deliver)→ undeliverable
//! ```

use crate::code::VerificationCode;
use crate::food::checkout::{CheckoutQuote, FeeSchedule};
use crate::food::menu::PricedLine;
use crate::ids::{JobId, MenuItemId, MenuOptionId, MerchantId, OfferId, UserId};
use crate::job::{
    Canceller, Job, JobError, JobKind, JobState, NewDeliveryJob, StopKind, StopOutcome, TimeWindow,
    UnfulfilledReason,
};
use crate::money::Money;
use crate::time::Timestamp;
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The pickup stop of an order's job.
pub const PICKUP: usize = 0;
/// The drop-off stop of an order's job.
pub const DROPOFF: usize = 1;

/// The longest prep time a merchant may promise, seconds (two hours).
pub const MAX_PREP_S: u32 = 2 * 3600;

/// How long after the promise a delivery may still be made before the job's windows close, seconds.
pub const DELIVERY_GRACE_S: i64 = 45 * 60;

/// Where the kitchen is with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KitchenState {
    /// Waiting for the merchant to accept it.
    Placed,
    /// Accepted with a prep time.
    Accepted,
    /// Being prepared.
    Preparing,
    /// Ready for the courier.
    Ready,
    /// The merchant refused it.
    Rejected,
}

impl KitchenState {
    /// Every state.
    pub const ALL: [KitchenState; 5] = [
        KitchenState::Placed,
        KitchenState::Accepted,
        KitchenState::Preparing,
        KitchenState::Ready,
        KitchenState::Rejected,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            KitchenState::Placed => "placed",
            KitchenState::Accepted => "accepted",
            KitchenState::Preparing => "preparing",
            KitchenState::Ready => "ready",
            KitchenState::Rejected => "rejected",
        }
    }

    /// Parses [`KitchenState::as_str`].
    pub fn parse(s: &str) -> Option<KitchenState> {
        KitchenState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An order's state, as customers, merchants and couriers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Placed, waiting for the merchant.
    Placed,
    /// Accepted by the merchant with a prep time.
    Accepted,
    /// Being prepared.
    Preparing,
    /// Ready for the courier.
    Ready,
    /// The courier has it.
    PickedUp,
    /// Handed over to the customer.
    Delivered,
    /// Refused by the merchant (nothing charged).
    Rejected,
    /// Cancelled by the customer, the merchant or an operator.
    Cancelled,
    /// No courier could deliver it (the reason is on the job).
    Undeliverable,
}

impl OrderState {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderState::Placed => "placed",
            OrderState::Accepted => "accepted",
            OrderState::Preparing => "preparing",
            OrderState::Ready => "ready",
            OrderState::PickedUp => "picked_up",
            OrderState::Delivered => "delivered",
            OrderState::Rejected => "rejected",
            OrderState::Cancelled => "cancelled",
            OrderState::Undeliverable => "undeliverable",
        }
    }

    /// Whether the order has ended.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderState::Delivered
                | OrderState::Rejected
                | OrderState::Cancelled
                | OrderState::Undeliverable
        )
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a merchant refused an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Something in it is not available.
    ItemUnavailable,
    /// The kitchen is too busy.
    TooBusy,
    /// Closing or closed.
    Closing,
    /// Another reason.
    Other,
}

impl RejectReason {
    /// Every reason.
    pub const ALL: [RejectReason; 4] = [
        RejectReason::ItemUnavailable,
        RejectReason::TooBusy,
        RejectReason::Closing,
        RejectReason::Other,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::ItemUnavailable => "item_unavailable",
            RejectReason::TooBusy => "too_busy",
            RejectReason::Closing => "closing",
            RejectReason::Other => "other",
        }
    }

    /// Parses [`RejectReason::as_str`].
    pub fn parse(s: &str) -> Option<RejectReason> {
        RejectReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Something that happened to an order: recorded with the change in one transaction and sent to its
/// customer, its merchant's staff and its courier. Every kind is named `order_*`, so an order's stored
/// event never reads as a ride's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderEvent {
    /// The customer placed it.
    OrderPlaced {
        /// The merchant.
        merchant: MerchantId,
        /// What the customer pays.
        total: Money,
        /// The delivery time promised.
        promised_at: Timestamp,
    },
    /// The merchant accepted it.
    OrderAccepted {
        /// When the food should be ready.
        ready_at: Timestamp,
        /// The delivery estimate.
        eta: Timestamp,
    },
    /// The kitchen started on it.
    OrderPreparing,
    /// The food is ready.
    OrderReady {
        /// The delivery estimate.
        eta: Timestamp,
    },
    /// The merchant refused it.
    OrderRejected {
        /// Why.
        reason: RejectReason,
    },
    /// It was cancelled.
    OrderCancelled {
        /// Who cancelled.
        by: Canceller,
        /// The fee charged, if any.
        fee: Option<Money>,
    },
    /// Dispatch offered it to a courier (sent to that courier only; a batch is one offer of several
    /// orders, each with this event).
    OrderOffered {
        /// The offer.
        offer: OfferId,
        /// The courier asked.
        courier: UserId,
        /// The last instant the courier can accept.
        expires_at: Timestamp,
        /// Seconds to the restaurant.
        eta_s: u32,
    },
    /// A courier took it.
    OrderCourierAssigned {
        /// The courier.
        courier: UserId,
        /// Seconds to the restaurant.
        eta_s: u32,
    },
    /// The courier is at the restaurant.
    OrderCourierAtRestaurant {
        /// The courier.
        courier: UserId,
    },
    /// The courier has the food.
    OrderPickedUp {
        /// The courier.
        courier: UserId,
        /// The delivery estimate.
        eta: Timestamp,
    },
    /// A wrong hand-over code was tried.
    OrderHandoverAttemptFailed {
        /// Wrong codes left before it locks.
        attempts_left: u8,
    },
    /// Handed over.
    OrderDelivered {
        /// The courier.
        courier: UserId,
    },
    /// It could not be delivered.
    OrderUndeliverable {
        /// Why.
        reason: UnfulfilledReason,
    },
}

impl OrderEvent {
    /// The stable snake_case name (the `type` field).
    pub const fn kind(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced { .. } => "order_placed",
            OrderEvent::OrderAccepted { .. } => "order_accepted",
            OrderEvent::OrderPreparing => "order_preparing",
            OrderEvent::OrderReady { .. } => "order_ready",
            OrderEvent::OrderRejected { .. } => "order_rejected",
            OrderEvent::OrderCancelled { .. } => "order_cancelled",
            OrderEvent::OrderOffered { .. } => "order_offered",
            OrderEvent::OrderCourierAssigned { .. } => "order_courier_assigned",
            OrderEvent::OrderCourierAtRestaurant { .. } => "order_courier_at_restaurant",
            OrderEvent::OrderPickedUp { .. } => "order_picked_up",
            OrderEvent::OrderHandoverAttemptFailed { .. } => "order_handover_attempt_failed",
            OrderEvent::OrderDelivered { .. } => "order_delivered",
            OrderEvent::OrderUndeliverable { .. } => "order_undeliverable",
        }
    }
}

/// What a courier's hand-over attempt did.
#[derive(Debug, Clone, PartialEq)]
pub enum Handover {
    /// Delivered.
    Delivered(Vec<OrderEvent>),
    /// The code was wrong; the attempt is counted (the order changed).
    WrongCode {
        /// Wrong codes left before it locks.
        attempts_left: u8,
        /// What to record.
        events: Vec<OrderEvent>,
    },
}

/// One option chosen on a line, as priced at order time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenOption {
    /// The option's id in the menu.
    pub id: MenuOptionId,
    /// Its name then.
    pub name: String,
    /// What it added to the unit price.
    pub price_delta: Money,
}

/// One line of an order: a menu item with its options, priced when the order was placed (later menu
/// changes do not change it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The item's id in the menu.
    pub item: MenuItemId,
    /// Its name then.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// One item with its options, as priced then.
    pub unit_price: Money,
    /// The options chosen.
    pub options: Vec<ChosenOption>,
    /// The customer's note for the kitchen.
    pub note: Option<String>,
    /// `unit_price × quantity`.
    pub total: Money,
}

impl OrderLine {
    /// The line the order keeps of a cart line priced against the menu, with the customer's note.
    pub fn from_priced(line: PricedLine, note: Option<String>) -> OrderLine {
        OrderLine {
            item: line.item,
            name: line.name,
            quantity: line.quantity,
            unit_price: line.unit_price,
            options: line
                .options
                .into_iter()
                .map(|o| ChosenOption {
                    id: o.id,
                    name: o.name,
                    price_delta: o.price_delta,
                })
                .collect(),
            note,
            total: line.total,
        }
    }
}

/// The times an order's promise is made of, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryEstimate {
    /// The kitchen's prep time (the merchant's default, or what it accepted with), busy minutes included.
    pub prep_s: u32,
    /// From the nearest free courier to the restaurant.
    pub to_pickup_s: u32,
    /// From the restaurant to the customer.
    pub drive_s: u32,
    /// At the restaurant.
    pub pickup_service_s: u32,
    /// At the door.
    pub dropoff_service_s: u32,
}

impl DeliveryEstimate {
    /// When the food would be at the door if the kitchen started at `start`: the later of food ready and
    /// courier there, then pickup, the drive and the hand-over.
    pub fn delivered_at(&self, start: Timestamp, now: Timestamp) -> Timestamp {
        let ready = start.plus_secs(i64::from(self.prep_s));
        let courier_there = now.plus_secs(i64::from(self.to_pickup_s));
        ready.max(courier_there).plus_secs(self.after_pickup_s())
    }

    /// From the courier's arrival at the restaurant to the hand-over, seconds.
    pub fn after_pickup_s(&self) -> i64 {
        i64::from(self.pickup_service_s)
            + i64::from(self.drive_s)
            + i64::from(self.dropoff_service_s)
    }
}

/// What a placed order is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// The order's id (its job's id).
    pub id: JobId,
    /// Who orders.
    pub customer: UserId,
    /// From whom.
    pub merchant: MerchantId,
    /// The restaurant's place.
    pub pickup: LatLng,
    /// The customer's place.
    pub dropoff: LatLng,
    /// The customer's address as they gave it.
    pub address: String,
    /// The priced lines.
    pub lines: Vec<OrderLine>,
    /// The checkout quote (recomputed by the server, never the client's).
    pub quote: CheckoutQuote,
    /// The hand-over code the customer tells the courier.
    pub handover: VerificationCode,
    /// The estimate the promise is made from.
    pub estimate: DeliveryEstimate,
    /// A later delivery slot the customer chose (`None`: as soon as possible).
    pub scheduled_for: Option<Timestamp>,
    /// The courier capacity it takes (bags).
    pub bags: u32,
}

/// The food order's own fields (the order less its job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The priced lines.
    pub lines: Vec<OrderLine>,
    /// The checkout quote: what the customer pays.
    pub quote: CheckoutQuote,
    /// The customer's address as they gave it.
    pub address: String,
    /// The kitchen's progress.
    pub kitchen: KitchenState,
    /// The estimate at checkout and its later changes (the prep time is the merchant's once accepted).
    pub estimate: DeliveryEstimate,
    /// A later delivery slot, if one was chosen.
    pub scheduled_for: Option<Timestamp>,
    /// When it was placed.
    pub placed_at: Timestamp,
    /// When the merchant accepted it.
    pub accepted_at: Option<Timestamp>,
    /// When the kitchen marked it ready (or the courier picked it up, if the kitchen did not).
    pub ready_at: Option<Timestamp>,
    /// The delivery time promised at checkout.
    pub promised_at: Timestamp,
    /// The live estimate of the delivery time.
    pub eta: Timestamp,
    /// Why the merchant refused it.
    pub reject_reason: Option<RejectReason>,
}

/// Why a command on an order was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The command is not allowed in the order's state.
    #[error("cannot {command} an order that is {state}")]
    Transition {
        /// The order's state.
        state: OrderState,
        /// The command.
        command: &'static str,
    },
    /// A prep time outside 1 second to [`MAX_PREP_S`].
    #[error("a prep time is 1 to {MAX_PREP_S} seconds")]
    PrepTime,
    /// The job refused (a courier's command: wrong stop, wrong code, too far, ...).
    #[error(transparent)]
    Job(#[from] JobError),
}

/// Why a job and a record do not make an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnOrderJob {
    /// The job is not a delivery.
    #[error("an order's job is a delivery, not {}", .0.as_str())]
    Kind(JobKind),
    /// The job has no merchant, or its stops are not a pickup and a drop-off with a code.
    #[error("an order's job has a merchant, a pickup, then a drop-off with a hand-over code")]
    Shape,
}

/// A food order: its delivery job and its record.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    job: Job,
    /// The order's own fields.
    pub record: OrderRecord,
}

impl Order {
    /// Places an order: the job opens with its windows from the estimate (the pickup window opens when
    /// the food should be ready, both close [`DELIVERY_GRACE_S`] after the promise).
    pub fn place(new: NewOrder, now: Timestamp) -> Result<(Order, Vec<OrderEvent>), OrderError> {
        let promised_at = match new.scheduled_for {
            Some(slot) if slot > new.estimate.delivered_at(now, now) => slot,
            _ => new.estimate.delivered_at(now, now),
        };
        let ready_at = ready_for(promised_at, &new.estimate, now);
        let (job, _) = Job::delivery(
            NewDeliveryJob {
                id: new.id,
                customer: new.customer,
                merchant: new.merchant,
                pickup: new.pickup,
                dropoff: new.dropoff,
                ready_at,
                deliver_by: promised_at.plus_secs(DELIVERY_GRACE_S),
                pickup_service_s: new.estimate.pickup_service_s,
                dropoff_service_s: new.estimate.dropoff_service_s,
                handover: Some(new.handover),
                bags: new.bags,
            },
            now,
        )
        .map_err(|_| OrderError::PrepTime)?;
        let event = OrderEvent::OrderPlaced {
            merchant: new.merchant,
            total: new.quote.total,
            promised_at,
        };
        let record = OrderRecord {
            lines: new.lines,
            quote: new.quote,
            address: new.address,
            kitchen: KitchenState::Placed,
            estimate: new.estimate,
            scheduled_for: new.scheduled_for,
            placed_at: now,
            accepted_at: None,
            ready_at: None,
            promised_at,
            eta: promised_at,
            reject_reason: None,
        };
        Ok((Order { job, record }, vec![event]))
    }

    /// Rebuilds an order from its stored job and record.
    pub fn from_parts(job: Job, record: OrderRecord) -> Result<Order, NotAnOrderJob> {
        if job.kind != JobKind::Delivery {
            return Err(NotAnOrderJob::Kind(job.kind));
        }
        match job.stops.as_slice() {
            [p, d]
                if p.kind == StopKind::Pickup
                    && d.kind == StopKind::Dropoff
                    && d.proof.is_some()
                    && job.merchant.is_some() => {}
            _ => return Err(NotAnOrderJob::Shape),
        }
        Ok(Order { job, record })
    }

    /// The order's id.
    pub fn id(&self) -> JobId {
        self.job.id
    }

    /// Its job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Its version (its job's).
    pub fn version(&self) -> i64 {
        self.job.version
    }

    /// The customer.
    pub fn customer(&self) -> UserId {
        self.job.customer
    }

    /// The merchant.
    pub fn merchant(&self) -> MerchantId {
        // Checked by `place` and `from_parts`.
        self.job
            .merchant
            .unwrap_or(MerchantId::from_uuid(uuid::Uuid::nil()))
    }

    /// The courier, once one took it.
    pub fn courier(&self) -> Option<UserId> {
        self.job.worker
    }

    /// The hand-over code (the customer's to tell).
    pub fn handover_code(&self) -> Option<&str> {
        self.job.stops[DROPOFF].proof.as_ref().map(|c| c.as_str())
    }

    /// The state, derived from the kitchen and the job.
    pub fn state(&self) -> OrderState {
        match self.job.state {
            JobState::Completed => OrderState::Delivered,
            JobState::Unfulfilled => OrderState::Undeliverable,
            JobState::Cancelled if self.record.kitchen == KitchenState::Rejected => {
                OrderState::Rejected
            }
            JobState::Cancelled => OrderState::Cancelled,
            JobState::InProgress => OrderState::PickedUp,
            JobState::Open | JobState::Assigned => match self.record.kitchen {
                KitchenState::Placed => OrderState::Placed,
                KitchenState::Accepted => OrderState::Accepted,
                KitchenState::Preparing => OrderState::Preparing,
                KitchenState::Ready => OrderState::Ready,
                KitchenState::Rejected => OrderState::Rejected,
            },
        }
    }

    /// Whether dispatch may look for a courier: the merchant accepted it and it is still open.
    pub fn wants_courier(&self) -> bool {
        self.job.state == JobState::Open
            && matches!(
                self.record.kitchen,
                KitchenState::Accepted | KitchenState::Preparing | KitchenState::Ready
            )
    }

    /// When the food is (or should be) ready: the pickup window's opening.
    pub fn ready_estimate(&self) -> Timestamp {
        self.job.stops[PICKUP].window.earliest()
    }

    fn refuse<T>(&self, command: &'static str) -> Result<T, OrderError> {
        Err(OrderError::Transition {
            state: self.state(),
            command,
        })
    }

    /// Applies a change to a copy and keeps it only if every step succeeded.
    fn change<T>(
        &mut self,
        f: impl FnOnce(&mut Order) -> Result<T, OrderError>,
    ) -> Result<T, OrderError> {
        let mut next = self.clone();
        let out = f(&mut next)?;
        *self = next;
        Ok(out)
    }

    /// Moves the pickup window's opening to `ready` (both windows keep their close).
    fn set_ready(&mut self, ready: Timestamp) -> Result<(), OrderError> {
        let latest = self.job.stops[PICKUP].window.latest().max(ready);
        let window = TimeWindow::new(ready, latest).map_err(|_| OrderError::PrepTime)?;
        self.job.set_window(PICKUP, window)?;
        Ok(())
    }

    /// The merchant accepts with a prep time (`busy_s` of busy mode included by the caller): the food
    /// should be ready `prep_s` from now (or for a scheduled order, in time for its slot, whichever is
    /// later), and the promise's estimate follows.
    pub fn accept(&mut self, prep_s: u32, now: Timestamp) -> Result<Vec<OrderEvent>, OrderError> {
        if prep_s == 0 || prep_s > MAX_PREP_S {
            return Err(OrderError::PrepTime);
        }
        if self.state() != OrderState::Placed {
            return self.refuse("accept");
        }
        self.change(|o| {
            o.record.estimate.prep_s = prep_s;
            let cooked = now.plus_secs(i64::from(prep_s));
            let ready = match o.record.scheduled_for {
                Some(_) => cooked.max(ready_for(o.record.promised_at, &o.record.estimate, now)),
                None => cooked,
            };
            o.set_ready(ready)?;
            o.record.kitchen = KitchenState::Accepted;
            o.record.accepted_at = Some(now);
            o.refresh_eta(now);
            Ok(vec![OrderEvent::OrderAccepted {
                ready_at: ready,
                eta: o.record.eta,
            }])
        })
    }

    /// The kitchen starts on it.
    pub fn start_preparing(&mut self) -> Result<Vec<OrderEvent>, OrderError> {
        if self.state() != OrderState::Accepted {
            return self.refuse("start preparing");
        }
        self.change(|o| {
            o.job.service_changed()?;
            o.record.kitchen = KitchenState::Preparing;
            Ok(vec![OrderEvent::OrderPreparing])
        })
    }

    /// The kitchen says it is ready: the pickup window opens now.
    pub fn mark_ready(&mut self, now: Timestamp) -> Result<Vec<OrderEvent>, OrderError> {
        if !matches!(self.state(), OrderState::Accepted | OrderState::Preparing) {
            return self.refuse("mark ready");
        }
        self.change(|o| {
            o.set_ready(now)?;
            o.record.kitchen = KitchenState::Ready;
            o.record.ready_at = Some(now);
            o.refresh_eta(now);
            Ok(vec![OrderEvent::OrderReady { eta: o.record.eta }])
        })
    }

    /// The merchant refuses the order (before accepting it): the job is cancelled by the merchant and
    /// nothing is charged.
    pub fn reject(
        &mut self,
        reason: RejectReason,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        if self.state() != OrderState::Placed {
            return self.refuse("reject");
        }
        self.change(|o| {
            o.job.cancel(Canceller::Merchant, None, now)?;
            o.record.kitchen = KitchenState::Rejected;
            o.record.reject_reason = Some(reason);
            Ok(vec![OrderEvent::OrderRejected { reason }])
        })
    }

    /// What the customer would pay to cancel now: nothing before the merchant accepted, then the
    /// schedule's share of the food (the kitchen started). `None` once it cannot be cancelled.
    pub fn cancel_fee(&self, schedule: &FeeSchedule) -> Option<Option<Money>> {
        match self.state() {
            OrderState::Placed => Some(None),
            OrderState::Accepted | OrderState::Preparing | OrderState::Ready => {
                let fee = schedule.late_cancel_fee(self.record.quote.food);
                Some((fee.minor > 0).then_some(fee))
            }
            _ => None,
        }
    }

    /// The customer cancels: free before acceptance, the late fee after; refused once picked up.
    pub fn cancel_by_customer(
        &mut self,
        by: UserId,
        schedule: &FeeSchedule,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        let Some(fee) = self.cancel_fee(schedule) else {
            return self.refuse("cancel");
        };
        self.change(|o| {
            o.job.cancel_by_customer(by, fee, now)?;
            Ok(vec![OrderEvent::OrderCancelled {
                by: Canceller::Customer,
                fee,
            }])
        })
    }

    /// An operator cancels, with or without a fee; refused once picked up.
    pub fn cancel_by_operator(
        &mut self,
        fee: Option<Money>,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        if self.state().is_terminal() || self.state() == OrderState::PickedUp {
            return self.refuse("cancel");
        }
        self.change(|o| {
            o.job.cancel(Canceller::Operator, fee, now)?;
            Ok(vec![OrderEvent::OrderCancelled {
                by: Canceller::Operator,
                fee,
            }])
        })
    }

    /// Dispatch offers the order to `courier` (alone or in a batch under one offer id). Not a state
    /// change, but it bumps the version so that it collides with any concurrent change. Refused unless
    /// the order waits for a courier and the courier was not excluded.
    pub fn offer(
        &mut self,
        offer: OfferId,
        courier: UserId,
        expires_at: Timestamp,
        eta_s: u32,
    ) -> Result<OrderEvent, OrderError> {
        if !self.wants_courier() {
            return self.refuse("offer");
        }
        self.change(|o| {
            o.job.offer(offer, courier, expires_at, eta_s)?;
            Ok(OrderEvent::OrderOffered {
                offer,
                courier,
                expires_at,
                eta_s,
            })
        })
    }

    /// The courier declined an offer of the order, or let it expire: dispatch does not offer it to them
    /// again. Returns whether that changed anything (a courier already excluded changes nothing).
    pub fn exclude_courier(&mut self, courier: UserId) -> bool {
        self.job.exclude_worker(courier)
    }

    /// A courier takes the order (accepted an offer).
    pub fn assign(
        &mut self,
        courier: UserId,
        eta_s: u32,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        if !self.wants_courier() {
            return self.refuse("assign a courier to");
        }
        self.change(|o| {
            o.job.assign(courier, eta_s, now)?;
            o.record.estimate.to_pickup_s = eta_s;
            o.refresh_eta(now);
            Ok(vec![OrderEvent::OrderCourierAssigned { courier, eta_s }])
        })
    }

    /// The courier is at the restaurant (`position` its last believed one, within `radius_m`).
    pub fn arrive_at_restaurant(
        &mut self,
        by: UserId,
        position: Option<LatLng>,
        radius_m: u32,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        self.change(|o| {
            o.job.arrive(by, PICKUP, position, radius_m, now)?;
            Ok(vec![OrderEvent::OrderCourierAtRestaurant { courier: by }])
        })
    }

    /// The courier has the food. A kitchen that did not mark it ready is taken to have had it ready now.
    pub fn pick_up(
        &mut self,
        by: UserId,
        position: Option<LatLng>,
        radius_m: u32,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        if !matches!(
            self.state(),
            OrderState::Accepted | OrderState::Preparing | OrderState::Ready
        ) {
            return self.refuse("pick up");
        }
        self.change(|o| {
            // A pickup has no code: it is done or refused.
            o.job
                .complete_stop(by, PICKUP, None, 0, position, radius_m, now)?;
            if o.record.kitchen != KitchenState::Ready {
                o.record.kitchen = KitchenState::Ready;
                o.record.ready_at = Some(now);
            }
            o.record.estimate.to_pickup_s = 0;
            o.record.eta = now.plus_secs(
                i64::from(o.record.estimate.drive_s)
                    + i64::from(o.record.estimate.dropoff_service_s),
            );
            Ok(vec![OrderEvent::OrderPickedUp {
                courier: by,
                eta: o.record.eta,
            }])
        })
    }

    /// The courier hands the food over with the customer's code, allowing `max_attempts` wrong codes. A
    /// wrong code is counted (the order changes) and answered with [`Handover::WrongCode`].
    pub fn deliver(
        &mut self,
        by: UserId,
        code: Option<&str>,
        max_attempts: u8,
        position: Option<LatLng>,
        radius_m: u32,
        now: Timestamp,
    ) -> Result<Handover, OrderError> {
        if self.state() != OrderState::PickedUp {
            return self.refuse("deliver");
        }
        self.change(|o| {
            match o
                .job
                .complete_stop(by, DROPOFF, code, max_attempts, position, radius_m, now)?
            {
                StopOutcome::Done(_) => {
                    o.record.eta = now;
                    Ok(Handover::Delivered(vec![OrderEvent::OrderDelivered {
                        courier: by,
                    }]))
                }
                StopOutcome::WrongProof { attempts_left, .. } => Ok(Handover::WrongCode {
                    attempts_left,
                    events: vec![OrderEvent::OrderHandoverAttemptFailed { attempts_left }],
                }),
            }
        })
    }

    /// The courier cannot deliver (the customer cannot be reached; the restaurant had nothing to hand
    /// over).
    pub fn undeliverable_by_courier(
        &mut self,
        by: UserId,
        reason: UnfulfilledReason,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        self.change(|o| {
            o.job.fail(by, reason, now)?;
            Ok(vec![OrderEvent::OrderUndeliverable { reason }])
        })
    }

    /// Dispatch found no courier (`reason` a dispatch reason).
    pub fn undeliverable_no_courier(
        &mut self,
        reason: UnfulfilledReason,
        now: Timestamp,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        self.change(|o| {
            o.job.give_up(reason, now)?;
            Ok(vec![OrderEvent::OrderUndeliverable { reason }])
        })
    }

    /// A courier's new estimate to the restaurant (`to_pickup_s`, seconds from now): the live estimate of
    /// the delivery follows. The estimate is shown, not a state: it changes no version.
    pub fn courier_progress(&mut self, to_pickup_s: u32, now: Timestamp) {
        if self.state() == OrderState::PickedUp || self.state().is_terminal() {
            return;
        }
        self.record.estimate.to_pickup_s = to_pickup_s;
        self.refresh_eta(now);
    }

    fn refresh_eta(&mut self, now: Timestamp) {
        let ready = self.ready_estimate().max(now);
        self.record.eta = ready
            .max(now.plus_secs(i64::from(self.record.estimate.to_pickup_s)))
            .plus_secs(self.record.estimate.after_pickup_s());
    }

    /// Minutes late against the promise (0 when on time or early), once delivered.
    pub fn minutes_late(&self) -> Option<i64> {
        (self.state() == OrderState::Delivered)
            .then(|| (self.record.eta.secs_since(self.record.promised_at) / 60).max(0))
    }
}

/// When the food must be ready to be at the door by `promised_at`, but never before `now`.
fn ready_for(promised_at: Timestamp, e: &DeliveryEstimate, now: Timestamp) -> Timestamp {
    promised_at.plus_secs(-e.after_pickup_s()).max(now)
}
