//! Wire types of the operations console's food reads: an order as the operators' list shows it and the
//! dashboard's food tile. Money is integer minor units; times are RFC 3339.

use crate::dto::{MoneyDto, rfc3339};
use doorstep_app::console_food::{FoodSummary, OperatorOrder};
use serde::Serialize;
use utoipa::ToSchema;

/// An order in the operators' list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminOrderView {
    /// The order (its delivery job's id).
    pub id: String,
    /// `placed`, `accepted`, `preparing`, `ready`, `picked_up`, `delivered`, `rejected`, `cancelled` or
    /// `undeliverable`.
    pub state: String,
    /// The merchant.
    pub merchant_id: String,
    /// The merchant's name.
    pub merchant_name: String,
    /// The customer.
    pub customer_id: String,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// The courier, once one took it.
    pub courier_id: Option<String>,
    /// The courier's name.
    pub courier_name: Option<String>,
    /// The delivery address.
    pub address: String,
    /// When it was placed.
    pub placed_at: String,
    /// The delivery time promised at checkout.
    pub promised_at: String,
    /// The live estimate of the delivery time.
    pub eta: String,
    /// When the food is (or should be) ready.
    pub ready_at: String,
    /// Whether it is late: not over, and its estimate or the clock is past the promise.
    pub late: bool,
    /// What the customer pays.
    pub total: MoneyDto,
    /// Its version: it grows with every change.
    pub version: i64,
}

impl From<&OperatorOrder> for AdminOrderView {
    fn from(o: &OperatorOrder) -> Self {
        let order = &o.order;
        let r = &order.record;
        AdminOrderView {
            id: order.id().to_string(),
            state: order.state().as_str().to_owned(),
            merchant_id: order.merchant().to_string(),
            merchant_name: o.merchant_name.clone(),
            customer_id: order.customer().to_string(),
            customer_name: o.customer_name.clone(),
            courier_id: order.courier().map(|c| c.to_string()),
            courier_name: o.courier_name.clone(),
            address: r.address.clone(),
            placed_at: rfc3339(r.placed_at),
            promised_at: rfc3339(r.promised_at),
            eta: rfc3339(r.eta),
            ready_at: rfc3339(r.ready_at.unwrap_or(order.ready_estimate())),
            late: o.late,
            total: r.quote.total.into(),
            version: order.version(),
        }
    }
}

/// The operators' list of orders, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminOrderList {
    /// The orders.
    pub orders: Vec<AdminOrderView>,
}

/// How many of today's orders are in one state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateCount {
    /// The state.
    pub state: String,
    /// How many.
    pub count: i64,
}

/// Merchants by what they do about new orders now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantCountsView {
    /// Approved and taking orders now.
    pub open: u32,
    /// Approved, closed by their hours now.
    pub closed: u32,
    /// Approved, paused now.
    pub paused: u32,
    /// Approved, in busy mode now (they may be open as well).
    pub busy: u32,
    /// Waiting for approval.
    pub pending: u32,
    /// Suspended.
    pub suspended: u32,
}

/// The dashboard's food tile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FoodSummaryView {
    /// The start of today in New York: `today` counts orders placed since.
    pub since: String,
    /// Today's orders by their state now (every state, zero included).
    pub today: Vec<StateCount>,
    /// Today's orders in all.
    pub today_total: i64,
    /// Orders not over yet whose estimate, or the clock, is past the delivery time promised.
    pub late: u32,
    /// Orders the kitchen accepted that still wait for a courier.
    pub waiting_for_courier: u32,
    /// Orders not over yet.
    pub unfinished: u32,
    /// Merchants by what they do now.
    pub merchants: MerchantCountsView,
    /// Couriers with an order not yet delivered.
    pub couriers_with_orders: u32,
    /// Couriers carrying food now.
    pub couriers_carrying: u32,
}

impl From<&FoodSummary> for FoodSummaryView {
    fn from(s: &FoodSummary) -> Self {
        let m = s.merchants;
        FoodSummaryView {
            since: rfc3339(s.since),
            today: s
                .today_by_state
                .iter()
                .map(|(state, count)| StateCount {
                    state: state.as_str().to_owned(),
                    count: *count,
                })
                .collect(),
            today_total: s.today_by_state.iter().map(|(_, n)| n).sum(),
            late: s.late,
            waiting_for_courier: s.waiting_for_courier,
            unfinished: s.unfinished,
            merchants: MerchantCountsView {
                open: m.open,
                closed: m.closed,
                paused: m.paused,
                busy: m.busy,
                pending: m.pending,
                suspended: m.suspended,
            },
            couriers_with_orders: s.couriers_with_orders,
            couriers_carrying: s.couriers_carrying,
        }
    }
}
