//! The server's JSON, as much of it as the agents read, parsed leniently: unknown fields are
//! ignored and unknown states or event types become `Unknown`, so a server that grows new ones
//! does not break the demo.

use doorstep_geo::{LatLng, Utm, to_latlng, to_utm};
use serde::{Deserialize, Serialize};

use crate::kpis::RidePhase;

/// A position on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct WirePoint {
    pub(crate) lat: f64,
    pub(crate) lng: f64,
}

impl WirePoint {
    pub(crate) fn from_utm(p: Utm) -> WirePoint {
        let ll = to_latlng(p);
        WirePoint {
            lat: ll.lat(),
            lng: ll.lng(),
        }
    }

    /// The position in the city's frame, or `None` if the server sent an impossible one.
    pub(crate) fn to_utm(self) -> Option<Utm> {
        LatLng::new(self.lat, self.lng).ok().map(to_utm)
    }
}

/// A timed position a driver reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LocationPoint {
    pub(crate) lat: f64,
    pub(crate) lng: f64,
    /// RFC 3339 UTC, real wall-clock time.
    pub(crate) at: String,
}

/// The WebSocket message carrying a driver's positions.
#[derive(Debug, Serialize)]
pub(crate) struct LocationsMessage<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) points: &'a [LocationPoint],
}

#[derive(Debug, Serialize)]
pub(crate) struct SignupBody<'a> {
    pub(crate) email: &'a str,
    pub(crate) password: &'a str,
    pub(crate) name: &'a str,
    pub(crate) role: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct LoginBody<'a> {
    pub(crate) email: &'a str,
    pub(crate) password: &'a str,
}

/// The answer to signup and login.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Session {
    pub(crate) user_id: String,
    pub(crate) token: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct QuoteBody {
    pub(crate) pickup: WirePoint,
    pub(crate) dropoff: WirePoint,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Quote {
    pub(crate) quote_id: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct RideRequestBody<'a> {
    pub(crate) quote_id: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct StartBody<'a> {
    pub(crate) pin: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct RatingBody<'a> {
    pub(crate) stars: u8,
    pub(crate) comment: &'a str,
}

/// A ride's state on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RideState {
    Requested,
    DriverAssigned,
    DriverArrived,
    InProgress,
    Completed,
    Cancelled,
    NoDriverAvailable,
    #[serde(other)]
    Unknown,
}

impl RideState {
    /// The phase the KPIs count, `None` for a state this demo does not know.
    pub(crate) fn phase(self) -> Option<RidePhase> {
        match self {
            RideState::Requested => Some(RidePhase::Requested),
            RideState::DriverAssigned => Some(RidePhase::Assigned),
            RideState::DriverArrived => Some(RidePhase::Arrived),
            RideState::InProgress => Some(RidePhase::InProgress),
            RideState::Completed => Some(RidePhase::Completed),
            RideState::Cancelled => Some(RidePhase::Cancelled),
            RideState::NoDriverAvailable => Some(RidePhase::NoDriver),
            RideState::Unknown => None,
        }
    }
}

/// The ride view, the fields the agents use.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RideView {
    pub(crate) ride_id: String,
    pub(crate) state: RideState,
    #[serde(default)]
    pub(crate) driver_id: Option<String>,
    pub(crate) pickup: WirePoint,
    pub(crate) dropoff: WirePoint,
    #[serde(default)]
    pub(crate) pin: Option<String>,
    #[serde(default)]
    pub(crate) pickup_eta_s: Option<f64>,
    /// When the ride was requested (RFC 3339 UTC, the server's fixed format, so it sorts as text).
    #[serde(default)]
    pub(crate) requested_at: String,
}

/// An offer as `GET /v1/offers` lists it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Offer {
    pub(crate) offer_id: String,
    pub(crate) ride_id: String,
    pub(crate) pickup: WirePoint,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Rides {
    pub(crate) rides: Vec<RideView>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Offers {
    pub(crate) offers: Vec<Offer>,
}

/// The type of a WebSocket event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EventKind {
    Requested,
    Offered,
    DriverAssigned,
    DriverArrived,
    Started,
    Completed,
    Cancelled,
    DriverCancelled,
    NoDriverAvailable,
    DriverLocation,
    /// A food order was placed (to its customer and its merchant's staff).
    OrderPlaced,
    /// The kitchen accepted an order.
    OrderAccepted,
    /// The kitchen started on an order.
    OrderPreparing,
    /// An order's food is ready.
    OrderReady,
    /// The kitchen refused an order.
    OrderRejected,
    /// An order was cancelled.
    OrderCancelled,
    /// A courier took an order.
    OrderCourierAssigned,
    /// The courier is at the restaurant.
    OrderCourierAtRestaurant,
    /// The courier has the food.
    OrderPickedUp,
    /// The order was handed over.
    OrderDelivered,
    /// No courier could deliver it.
    OrderUndeliverable,
    /// A courier is offered a delivery (one or more orders).
    OrderOffered,
    /// The server's greeting on a new connection, with the id events are delivered after.
    Hello,
    /// The server's answer to a client message it refused (such as a bad position batch).
    Error,
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// The ride phase an event of this type announces, if any.
    pub(crate) fn phase(self) -> Option<RidePhase> {
        match self {
            EventKind::Requested => Some(RidePhase::Requested),
            EventKind::DriverAssigned => Some(RidePhase::Assigned),
            EventKind::DriverArrived => Some(RidePhase::Arrived),
            EventKind::Started => Some(RidePhase::InProgress),
            EventKind::Completed => Some(RidePhase::Completed),
            EventKind::Cancelled => Some(RidePhase::Cancelled),
            EventKind::NoDriverAvailable => Some(RidePhase::NoDriver),
            // A driver's cancellation is a step back, which `RideTracker::driver_left` counts.
            EventKind::DriverCancelled
            | EventKind::Offered
            | EventKind::DriverLocation
            | EventKind::OrderPlaced
            | EventKind::OrderAccepted
            | EventKind::OrderPreparing
            | EventKind::OrderReady
            | EventKind::OrderRejected
            | EventKind::OrderCancelled
            | EventKind::OrderCourierAssigned
            | EventKind::OrderCourierAtRestaurant
            | EventKind::OrderPickedUp
            | EventKind::OrderDelivered
            | EventKind::OrderUndeliverable
            | EventKind::OrderOffered
            | EventKind::Hello
            | EventKind::Error
            | EventKind::Unknown => None,
        }
    }
}

/// A WebSocket event from the server, the fields the agents use.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServerEvent {
    /// The durable event id; absent for ephemeral events such as `driver_location`.
    #[serde(default)]
    pub(crate) id: Option<i64>,
    #[serde(rename = "type")]
    pub(crate) kind: EventKind,
    #[serde(default)]
    pub(crate) ride_id: Option<String>,
    /// The job an event is about (a ride's or an order's id).
    #[serde(default)]
    pub(crate) job_id: Option<String>,
    /// The order an order event is about, where the event names it so.
    #[serde(default)]
    pub(crate) order_id: Option<String>,
    #[serde(default)]
    pub(crate) offer_id: Option<String>,
    #[serde(default)]
    pub(crate) pickup_eta_s: Option<f64>,
    /// The code of an `error` message.
    #[serde(default)]
    pub(crate) code: Option<String>,
    /// In a `hello`: events after this id will be delivered.
    #[serde(default)]
    pub(crate) last_event_id: Option<i64>,
}

/// The server's error body.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
}

impl ServerEvent {
    /// The order an `order_*` event is about: its `order_id`, else its job's id.
    pub(crate) fn order(&self) -> Option<&str> {
        self.order_id.as_deref().or(self.job_id.as_deref())
    }
}

// ---- food

/// A merchant as the operator and its staff see it (`MerchantView`), the fields the demo reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MerchantView {
    pub(crate) merchant_id: String,
    #[serde(default)]
    pub(crate) status: String,
}

/// A merchant as customers browse it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MerchantListing {
    pub(crate) merchant_id: String,
    #[serde(default)]
    pub(crate) open_now: bool,
    #[serde(default)]
    pub(crate) paused: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MerchantListings {
    pub(crate) merchants: Vec<MerchantListing>,
}

/// An option of a menu item as customers see it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MenuOptionView {
    pub(crate) option_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OptionGroupView {
    pub(crate) min: u32,
    pub(crate) max: u32,
    pub(crate) options: Vec<MenuOptionView>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MenuItemView {
    pub(crate) item_id: String,
    #[serde(default)]
    pub(crate) sold_out: bool,
    #[serde(default)]
    pub(crate) available_now: bool,
    #[serde(default)]
    pub(crate) option_groups: Vec<OptionGroupView>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MenuCategoryView {
    pub(crate) items: Vec<MenuItemView>,
}

/// A merchant's menu as customers read it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MenuView {
    pub(crate) categories: Vec<MenuCategoryView>,
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CartLine {
    pub(crate) item_id: String,
    pub(crate) option_ids: Vec<String>,
    pub(crate) quantity: u32,
}

/// The body of checkout and placement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CartBody {
    pub(crate) merchant_id: String,
    pub(crate) dropoff: WirePoint,
    pub(crate) address: String,
    pub(crate) lines: Vec<CartLine>,
    pub(crate) tip: i64,
}

/// A food order's state on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OrderState {
    Placed,
    Accepted,
    Preparing,
    Ready,
    PickedUp,
    Delivered,
    Rejected,
    Cancelled,
    Undeliverable,
    #[serde(other)]
    Unknown,
}

impl OrderState {
    /// Whether the order has ended.
    pub(crate) fn is_final(self) -> bool {
        match self {
            OrderState::Delivered
            | OrderState::Rejected
            | OrderState::Cancelled
            | OrderState::Undeliverable => true,
            OrderState::Placed
            | OrderState::Accepted
            | OrderState::Preparing
            | OrderState::Ready
            | OrderState::PickedUp
            | OrderState::Unknown => false,
        }
    }
}

/// A food order, the fields the agents use.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OrderView {
    pub(crate) id: String,
    pub(crate) state: OrderState,
    #[serde(default)]
    pub(crate) courier_id: Option<String>,
    pub(crate) pickup: WirePoint,
    pub(crate) dropoff: WirePoint,
    /// When it was placed (RFC 3339).
    #[serde(default)]
    pub(crate) placed_at: String,
    /// The delivery time promised at checkout (RFC 3339).
    #[serde(default)]
    pub(crate) promised_at: String,
    /// The hand-over code, shown to the customer only.
    #[serde(default)]
    pub(crate) handover_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OrderList {
    pub(crate) orders: Vec<OrderView>,
}

/// A stop of a delivery offer's route.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OfferStop {
    pub(crate) order_id: String,
    pub(crate) kind: StopKind,
    pub(crate) lat: f64,
    pub(crate) lng: f64,
}

/// What a courier does at a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StopKind {
    Pickup,
    Dropoff,
    #[serde(other)]
    Unknown,
}

/// A delivery offer as `GET /v1/delivery-offers` lists it (its `orders` are not needed: the accepted
/// orders come back from the accept, the route from `stops`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DeliveryOffer {
    pub(crate) offer_id: String,
    #[serde(default)]
    pub(crate) stops: Vec<OfferStop>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DeliveryOffers {
    pub(crate) offers: Vec<DeliveryOffer>,
}
