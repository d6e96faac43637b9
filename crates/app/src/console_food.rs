//! What the operations console reads of food delivery: the operators' list of orders (filtered by state
//! and merchant, with the names an operator reads), one order's timeline, and the dashboard's food tile
//! (today's orders by state, late ones, those waiting for a courier, merchants open, paused and busy,
//! couriers with orders). Operators only; the console acts through the audited endpoints that exist
//! (manual assignment, merchants' standing, promo codes).

use crate::{App, AppError};
use doorstep_domain::food::merchant::MerchantStatus;
use doorstep_domain::food::order::{Order, OrderState};
use doorstep_domain::{JobId, MerchantId, RideId, Role, Timestamp, User, UserId};
use doorstep_store::{OrderFilter, StoredEvent};
use std::collections::{HashMap, HashSet};

/// The most orders one page of the operators' list holds, and the default.
pub const ADMIN_ORDER_LIMIT: std::ops::RangeInclusive<i64> = 1..=500;
/// How many orders the operators' list gives when no limit is asked for.
pub const ADMIN_ORDER_DEFAULT_LIMIT: i64 = 100;
/// The most unfinished orders the food tile looks at (a city's evening peak is far below it).
const SUMMARY_OPEN_ORDERS: i64 = 5000;
/// The most merchants the food tile counts.
const SUMMARY_MERCHANTS: i64 = 5000;

/// An order as the operators' list shows it: the order with the names an operator reads.
#[derive(Debug, Clone)]
pub struct OperatorOrder {
    /// The order.
    pub order: Order,
    /// Its merchant's name (empty if the merchant is gone).
    pub merchant_name: String,
    /// Its customer's name, if the account exists.
    pub customer_name: Option<String>,
    /// Its courier's name, once it has one.
    pub courier_name: Option<String>,
    /// Whether it is late now ([`is_late`]).
    pub late: bool,
}

/// Merchants by what they do about new orders now (approved ones), and by standing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MerchantCounts {
    /// Approved, taking orders now (open by their hours, not paused, not at their cap).
    pub open: u32,
    /// Approved, closed by their hours now (and not paused).
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoodSummary {
    /// The start of today in New York: the orders counted by state were placed since.
    pub since: Timestamp,
    /// Today's orders by their state now, every state (zero included).
    pub today_by_state: Vec<(OrderState, i64)>,
    /// Orders not over yet whose live estimate, or the clock, is past the delivery time promised.
    pub late: u32,
    /// Orders the kitchen accepted that still wait for a courier.
    pub waiting_for_courier: u32,
    /// Orders not over yet (any day).
    pub unfinished: u32,
    /// Merchants by what they do now.
    pub merchants: MerchantCounts,
    /// Couriers with an order they have not delivered yet (on the way to a restaurant or carrying).
    pub couriers_with_orders: u32,
    /// Couriers carrying food now (picked up, not yet handed over).
    pub couriers_carrying: u32,
}

/// Whether `order` is late at `now`: not over, and its live estimate or the clock is past its promise.
pub fn is_late(order: &Order, now: Timestamp) -> bool {
    let promised = order.record.promised_at;
    !order.state().is_terminal() && (order.record.eta > promised || now > promised)
}

/// The order state named `name` (`placed`, `accepted`, ... `undeliverable`).
pub fn parse_order_state(name: &str) -> Option<OrderState> {
    doorstep_store::ORDER_STATES
        .into_iter()
        .find(|s| s.as_str() == name)
}

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins can do this"))
    }
}

impl App {
    /// The latest orders matching `filter`, newest first, with their names (operators).
    pub async fn admin_orders(
        &self,
        admin: &User,
        filter: OrderFilter,
    ) -> Result<Vec<OperatorOrder>, AppError> {
        require_admin(admin)?;
        let orders = self.store().orders_for_operators(filter).await?;
        let merchants: HashMap<MerchantId, String> = self
            .store()
            .merchants(None, SUMMARY_MERCHANTS)
            .await?
            .into_iter()
            .map(|m| (m.id, m.profile.name))
            .collect();
        let mut names: HashMap<UserId, Option<String>> = HashMap::new();
        let now = self.clock().now();
        let mut out = Vec::with_capacity(orders.len());
        for order in orders {
            let customer_name = self.user_name(&mut names, order.customer()).await?;
            let courier_name = match order.courier() {
                Some(c) => self.user_name(&mut names, c).await?,
                None => None,
            };
            out.push(OperatorOrder {
                merchant_name: merchants
                    .get(&order.merchant())
                    .cloned()
                    .unwrap_or_default(),
                customer_name,
                courier_name,
                late: is_late(&order, now),
                order,
            });
        }
        Ok(out)
    }

    async fn user_name(
        &self,
        names: &mut HashMap<UserId, Option<String>>,
        id: UserId,
    ) -> Result<Option<String>, AppError> {
        if let Some(known) = names.get(&id) {
            return Ok(known.clone());
        }
        let name = self.store().user_by_id(id).await?.map(|u| u.name);
        names.insert(id, name.clone());
        Ok(name)
    }

    /// Every event of an order, oldest first (operators; 404 `order_not_found` for no such order).
    pub async fn admin_order_events(
        &self,
        admin: &User,
        id: JobId,
    ) -> Result<Vec<StoredEvent>, AppError> {
        require_admin(admin)?;
        self.store()
            .order(id)
            .await?
            .ok_or(AppError::NotFound("order"))?;
        // Events are keyed by job: a ride's id is its job's, and so is an order's.
        Ok(self.store().events_of_ride(RideId::from(id)).await?)
    }

    /// The dashboard's food tile (operators).
    pub async fn food_summary(&self, admin: &User) -> Result<FoodSummary, AppError> {
        require_admin(admin)?;
        let now = self.clock().now();
        let local = doorstep_geo::new_york_local(now.unix_secs());
        let since = now.plus_secs(-i64::from(local.seconds_of_day));
        let today_by_state = self.store().order_state_counts(since).await?;
        let unfinished = self.store().unfinished_orders(SUMMARY_OPEN_ORDERS).await?;
        let mut late = 0;
        let mut waiting = 0;
        let mut with_orders = HashSet::new();
        let mut carrying = HashSet::new();
        for order in &unfinished {
            late += u32::from(is_late(order, now));
            waiting += u32::from(order.wants_courier());
            if let Some(courier) = order.courier() {
                with_orders.insert(courier);
                if order.state() == OrderState::PickedUp {
                    carrying.insert(courier);
                }
            }
        }
        let mut merchants = MerchantCounts::default();
        for m in self.store().merchants(None, SUMMARY_MERCHANTS).await? {
            match m.status() {
                MerchantStatus::Pending => merchants.pending += 1,
                MerchantStatus::Suspended => merchants.suspended += 1,
                MerchantStatus::Approved => {
                    if m.pause_at(now).is_some() {
                        merchants.paused += 1;
                    } else if m.accepts_new_order(0, now).is_ok() {
                        merchants.open += 1;
                    } else {
                        merchants.closed += 1;
                    }
                    merchants.busy += u32::from(m.busy_minutes(now) > 0);
                }
            }
        }
        Ok(FoodSummary {
            since,
            today_by_state,
            late,
            waiting_for_courier: waiting,
            unfinished: u32::try_from(unfinished.len()).unwrap_or(u32::MAX),
            merchants,
            couriers_with_orders: u32::try_from(with_orders.len()).unwrap_or(u32::MAX),
            couriers_carrying: u32::try_from(carrying.len()).unwrap_or(u32::MAX),
        })
    }
}
