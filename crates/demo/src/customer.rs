//! Customer agents: the food app of each simulated order.
//!
//! [`run_customers`] walks the [`FoodSchedule`] on the demo's clock and spawns one task per order. Each
//! takes a customer account (`customer{N}@demo.doorstep.dev`, role rider) from a pool, browses the
//! restaurants that deliver to its drop-off point, picks one of the nearest open ones, reads its menu and
//! fills a cart of 1 to 4 lines with valid options ([`build_cart`]), tips sometimes, and places the order
//! with an `Idempotency-Key`. It tells its courier the hand-over code through the in-process board (as
//! a customer says it at the door), follows the order on the event stream with a slow poll as a safety
//! net, cancels before the kitchen accepts about [`CANCEL_PROBABILITY`] of the time, and counts what it
//! saw into the KPIs: click-to-door on the demo's clock and whether the food came by the promise.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::Ctx;
use crate::accounts::{Account, RiderPool, Role};
use crate::api::{ApiError, OrderStep, with_retry};
use crate::clock::parse_rfc3339;
use crate::events::{EventLink, Inbound};
use crate::food_schedule::{FoodSchedule, Reach, ScheduledOrder};
use crate::kpis::{OrderEnd, OrderTracker};
use crate::seed::{Stream, agent_rng};
use crate::shutdown::Shutdown;
use crate::wire::{CartBody, CartLine, EventKind, MenuView, OrderState, OrderView, WirePoint};

/// Share of customers who cancel before the kitchen accepts.
pub const CANCEL_PROBABILITY: f64 = 0.05;
/// When such a customer cancels, simulated seconds after placing.
const CANCEL_AFTER_SECS: Range<f64> = 10.0..60.0;
/// Share of customers who tip the courier.
pub const TIP_PROBABILITY: f64 = 0.7;
/// A tip, cents, in steps of 50.
const TIP_CENTS: (i64, i64) = (200, 800);
/// A customer picks among this many of the open restaurants listed first (nearest first).
const CHOICES: usize = 5;
/// A customer stops following an order this long after placing it, simulated seconds.
const MAX_FOLLOW_SECS: f64 = 3.0 * 3600.0;
/// How often a customer reads its order in case an event was missed, simulated seconds (at least
/// [`MIN_POLL`] real).
const POLL_SECS: f64 = 60.0;
const MIN_POLL: Duration = Duration::from_secs(2);
/// How long a customer waits for its event stream before ordering anyway (real time).
const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// At most this many customer tasks at once; orders beyond are skipped.
const MAX_ACTIVE_CUSTOMERS: usize = 2000;

/// A cart of 1 to 4 lines from the items of `menu` that can be ordered now: distinct items, mostly one
/// of each, every option group given between its `min` and `max` distinct options. Empty if nothing
/// can be ordered.
pub(crate) fn build_cart(menu: &MenuView, rng: &mut impl Rng) -> Vec<CartLine> {
    let orderable: Vec<_> = menu
        .categories
        .iter()
        .flat_map(|c| c.items.iter())
        .filter(|i| i.available_now && !i.sold_out)
        .collect();
    if orderable.is_empty() {
        return Vec::new();
    }
    let lines = rng.random_range(1..=4_usize).min(orderable.len());
    let mut picked: Vec<usize> = (0..orderable.len()).collect();
    picked.shuffle(rng);
    picked.truncate(lines);
    picked.sort_unstable();
    picked
        .into_iter()
        .map(|i| {
            let item = orderable[i];
            let mut option_ids = Vec::new();
            for group in &item.option_groups {
                let n = group.options.len();
                let max = (group.max as usize).min(n);
                let min = (group.min as usize).min(max);
                let count = rng.random_range(min..=max);
                let mut options: Vec<usize> = (0..n).collect();
                options.shuffle(rng);
                let mut chosen: Vec<usize> = options.into_iter().take(count).collect();
                chosen.sort_unstable();
                option_ids.extend(
                    chosen
                        .into_iter()
                        .map(|o| group.options[o].option_id.clone()),
                );
            }
            let quantity = if rng.random_bool(0.2) { 2 } else { 1 };
            CartLine {
                item_id: item.item_id.clone(),
                option_ids,
                quantity,
            }
        })
        .collect()
}

/// A tip, cents: none, or between 2 and 8 dollars in steps of 50 cents.
pub(crate) fn draw_tip(rng: &mut impl Rng) -> i64 {
    if rng.random_bool(TIP_PROBABILITY) {
        let steps = (TIP_CENTS.1 - TIP_CENTS.0) / 50;
        TIP_CENTS.0 + 50 * rng.random_range(0..=steps)
    } else {
        0
    }
}

/// Spawns a customer for each order of the schedule, on time, until the demo stops.
pub(crate) async fn run_customers(ctx: Arc<Ctx>, reach: Vec<Reach>, mut shutdown: Shutdown) {
    let pool = Arc::new(RiderPool::of(Role::Customer));
    let schedule = FoodSchedule::new(
        ctx.city,
        reach,
        ctx.clock.now(),
        ctx.config.food_orders_per_hour,
        ctx.config.seed,
    );
    let mut customers = JoinSet::new();
    for order in schedule {
        if !shutdown.sleep(ctx.clock.real_until(order.at_unix)).await {
            break;
        }
        while let Some(finished) = customers.try_join_next() {
            if let Err(error) = finished {
                tracing::error!(%error, "a customer agent panicked");
            }
        }
        if customers.len() >= MAX_ACTIVE_CUSTOMERS {
            tracing::debug!("too many customers waiting; skipping an order");
            continue;
        }
        customers.spawn(run_customer(
            Arc::clone(&ctx),
            Arc::clone(&pool),
            order,
            shutdown.clone(),
        ));
    }
    shutdown.wait().await;
    while customers.join_next().await.is_some() {}
}

struct Customer {
    ctx: Arc<Ctx>,
    rng: rand_pcg::Pcg64,
    account: Account,
    order: ScheduledOrder,
    tracker: OrderTracker,
    shutdown: Shutdown,
}

async fn run_customer(
    ctx: Arc<Ctx>,
    pool: Arc<RiderPool>,
    order: ScheduledOrder,
    shutdown: Shutdown,
) {
    let Some(account) = pool.acquire(&ctx.api, &shutdown).await else {
        return;
    };
    let mut customer = Customer {
        rng: agent_rng(ctx.config.seed, Stream::Customer, order.index),
        tracker: OrderTracker::new(Arc::clone(&ctx.kpis)),
        ctx,
        account,
        order,
        shutdown,
    };
    let keep = customer.order_food().await;
    if keep {
        pool.release(customer.account);
    }
}

impl Customer {
    /// The whole order; false if the account's token was refused (the account is then dropped).
    async fn order_food(&mut self) -> bool {
        let mut link = EventLink::open(
            self.ctx.api.events_url(),
            self.account.token.clone(),
            self.account.last_event_id,
            self.shutdown.clone(),
        );
        if !link.connected(CONNECT_WAIT).await {
            tracing::debug!(
                customer = self.account.index,
                "event stream not connected yet; ordering anyway"
            );
        }
        let placed = match self.place().await {
            Ok(Some(order)) => order,
            Ok(None) => {
                self.account.last_event_id = link.last_event_id();
                return true;
            }
            Err(error) => {
                self.account.last_event_id = link.last_event_id();
                return error.status() != Some(401);
            }
        };
        self.tracker.placed();
        if let Some(code) = &placed.handover_code {
            self.ctx.codes.post(&placed.id, code);
        }
        self.follow(&placed, &mut link).await;
        self.ctx.codes.remove(&placed.id);
        self.account.last_event_id = link.last_event_id();
        true
    }

    /// Browses, fills a cart and places it; `Ok(None)` if there is nothing to order from.
    async fn place(&mut self) -> Result<Option<OrderView>, ApiError> {
        let point = WirePoint::from_utm(self.order.dropoff);
        let token = self.account.token.clone();
        let listings = with_retry(&self.shutdown, "browse merchants", || {
            self.ctx.api.browse_merchants(&token, point)
        })
        .await
        .inspect_err(|error| self.report("browse", error))?;
        let open: Vec<_> = listings
            .merchants
            .into_iter()
            .filter(|m| m.open_now && !m.paused)
            .take(CHOICES)
            .collect();
        if open.is_empty() {
            tracing::debug!(
                customer = self.account.index,
                "no open restaurant delivers here"
            );
            return Ok(None);
        }
        let merchant = open[self.rng.random_range(0..open.len())]
            .merchant_id
            .clone();
        let menu = with_retry(&self.shutdown, "read menu", || {
            self.ctx.api.menu(&token, &merchant)
        })
        .await
        .inspect_err(|error| self.report("menu", error))?;
        let lines = build_cart(&menu, &mut self.rng);
        if lines.is_empty() {
            return Ok(None);
        }
        let zone = self
            .ctx
            .city
            .zones()
            .get(self.order.dropoff_zone.index())
            .map_or("Manhattan", |z| z.name.as_str());
        let cart = CartBody {
            merchant_id: merchant,
            dropoff: point,
            address: format!("Demo customer {}, {zone}", self.account.index),
            lines,
            tip: draw_tip(&mut self.rng),
        };
        // Seeded, so a run replays; prefixed with the run's start so that a resumed run never reuses one.
        let key = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
        let key = format!("{}/{key}", self.ctx.run_started);
        let placed = with_retry(&self.shutdown, "place order", || {
            self.ctx.api.place_order(&token, &cart, &key)
        })
        .await
        .inspect_err(|error| self.report("place", error))?;
        tracing::debug!(customer = self.account.index, order_id = %placed.id, "order placed");
        Ok(Some(placed))
    }

    fn report(&self, step: &'static str, error: &ApiError) {
        if self.shutdown.is_stopping() || error.is_transient() {
            tracing::debug!(customer = self.account.index, step, %error, "order abandoned");
        } else {
            tracing::warn!(customer = self.account.index, step, %error, "order refused");
        }
    }

    /// Follows the order until it ends (or the demo stops), cancelling if this customer is one who does.
    async fn follow(&mut self, placed: &OrderView, link: &mut EventLink) {
        let clock = self.ctx.clock;
        let placed_sim = clock.now();
        let promise_s = match (
            parse_rfc3339(&placed.placed_at),
            parse_rfc3339(&placed.promised_at),
        ) {
            (Some(at), Some(promised)) => promised - at,
            _ => f64::INFINITY,
        };
        let mut cancel_at = self
            .rng
            .random_bool(CANCEL_PROBABILITY)
            .then(|| placed_sim + self.rng.random_range(CANCEL_AFTER_SECS));
        let stop_at = placed_sim + MAX_FOLLOW_SECS;
        let mut state = placed.state;
        let mut poll = tokio::time::interval(clock.real_duration(POLL_SECS).max(MIN_POLL));
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        poll.reset();
        let mut shutdown = self.shutdown.clone();
        let mut link_open = true;
        while !state.is_final() {
            let deadline = cancel_at
                .filter(|_| state == OrderState::Placed)
                .unwrap_or(stop_at)
                .min(stop_at);
            let mut refresh = false;
            tokio::select! {
                () = shutdown.wait() => return,
                inbound = link.inbound.recv(), if link_open => match inbound {
                    Some(Inbound::Event(event)) if event.order() == Some(placed.id.as_str()) => {
                        match event.kind {
                            EventKind::OrderDelivered => state = OrderState::Delivered,
                            EventKind::OrderRejected
                            | EventKind::OrderCancelled
                            | EventKind::OrderUndeliverable
                            | EventKind::OrderAccepted => refresh = true,
                            _ => {}
                        }
                    }
                    Some(_) => {}
                    None => link_open = false,
                },
                _ = poll.tick() => refresh = true,
                () = tokio::time::sleep(clock.real_until(deadline)) => {
                    let now = clock.now();
                    if now >= stop_at {
                        tracing::warn!(customer = self.account.index, order_id = %placed.id, "order did not end in time; no longer followed");
                        return;
                    }
                    cancel_at = None;
                    if state == OrderState::Placed {
                        state = self.cancel(&placed.id).await.unwrap_or(state);
                    }
                }
            }
            if refresh {
                let token = self.account.token.clone();
                match self.ctx.api.order(&token, &placed.id).await {
                    Ok(order) => state = order.state,
                    Err(error) => {
                        tracing::debug!(order_id = %placed.id, %error, "reading the order failed")
                    }
                }
            }
        }
        let end = match state {
            OrderState::Delivered => {
                let click_to_door_s = clock.now() - placed_sim;
                OrderEnd::Delivered {
                    click_to_door_s,
                    on_time: click_to_door_s <= promise_s,
                }
            }
            OrderState::Rejected => OrderEnd::Rejected,
            OrderState::Undeliverable => OrderEnd::Undeliverable,
            OrderState::Cancelled
            | OrderState::Placed
            | OrderState::Accepted
            | OrderState::Preparing
            | OrderState::Ready
            | OrderState::PickedUp
            | OrderState::Unknown => OrderEnd::Cancelled,
        };
        self.tracker.ended(end);
    }

    async fn cancel(&mut self, order_id: &str) -> Option<OrderState> {
        tracing::debug!(customer = self.account.index, order_id, "customer cancels");
        let token = self.account.token.clone();
        let cancelled = with_retry(&self.shutdown, "cancel order", || {
            self.ctx
                .api
                .order_step(&token, order_id, OrderStep::Cancel, None)
        })
        .await;
        match cancelled {
            Ok(order) => Some(order.state),
            Err(error) => {
                tracing::debug!(order_id, %error, "cancelling failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::seed::agent_rng;

    fn menu() -> MenuView {
        serde_json::from_value(serde_json::json!({
            "categories": [
                {"items": [
                    {"item_id": "a", "sold_out": false, "available_now": true, "option_groups": [
                        {"min": 1, "max": 1, "options": [{"option_id": "a-s"}, {"option_id": "a-l"}]},
                        {"min": 0, "max": 2, "options": [{"option_id": "a-x"}, {"option_id": "a-y"}, {"option_id": "a-z"}]}
                    ]},
                    {"item_id": "sold", "sold_out": true, "available_now": true, "option_groups": []},
                    {"item_id": "later", "sold_out": false, "available_now": false, "option_groups": []}
                ]},
                {"items": [
                    {"item_id": "b", "sold_out": false, "available_now": true, "option_groups": [
                        {"min": 2, "max": 3, "options": [{"option_id": "b-1"}, {"option_id": "b-2"}, {"option_id": "b-3"}]}
                    ]},
                    {"item_id": "c", "sold_out": false, "available_now": true}
                ]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_cart_has_one_to_four_orderable_lines_with_options_within_every_groups_bounds() {
        let menu = menu();
        let mut sizes = std::collections::BTreeSet::new();
        for i in 0..300 {
            let cart = build_cart(&menu, &mut agent_rng(1, Stream::Customer, i));
            assert!((1..=3).contains(&cart.len()), "{cart:?}");
            sizes.insert(cart.len());
            let mut items: Vec<_> = cart.iter().map(|l| l.item_id.as_str()).collect();
            items.dedup();
            assert_eq!(items.len(), cart.len(), "an item twice: {cart:?}");
            for line in &cart {
                assert!(["a", "b", "c"].contains(&line.item_id.as_str()), "{line:?}");
                assert!((1..=2).contains(&line.quantity));
                let mut options = line.option_ids.clone();
                options.sort();
                options.dedup();
                assert_eq!(options.len(), line.option_ids.len(), "an option twice");
                match line.item_id.as_str() {
                    "a" => {
                        let sizes = options
                            .iter()
                            .filter(|o| *o == "a-s" || *o == "a-l")
                            .count();
                        let extras = options
                            .iter()
                            .filter(|o| o.starts_with("a-") && *o != "a-s" && *o != "a-l")
                            .count();
                        assert_eq!(sizes, 1);
                        assert!(extras <= 2);
                    }
                    "b" => assert!((2..=3).contains(&options.len())),
                    _ => assert!(options.is_empty()),
                }
            }
        }
        // Only three items can be ordered, and every cart size from one to three occurs.
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    }

    #[test]
    fn a_menu_with_nothing_orderable_gives_an_empty_cart() {
        let menu: MenuView = serde_json::from_value(serde_json::json!({"categories": [{"items": [
            {"item_id": "sold", "sold_out": true, "available_now": true}
        ]}]}))
        .unwrap();
        assert!(build_cart(&menu, &mut agent_rng(1, Stream::Customer, 0)).is_empty());
    }

    #[test]
    fn the_same_customer_stream_fills_the_same_cart_and_tip() {
        let menu = menu();
        let draw = |i| {
            let mut rng = agent_rng(9, Stream::Customer, i);
            (build_cart(&menu, &mut rng), draw_tip(&mut rng))
        };
        assert_eq!(draw(4), draw(4));
        let tips: Vec<i64> = (0..200).map(|i| draw(i).1).collect();
        assert!(
            tips.iter()
                .all(|t| *t == 0 || ((200..=800).contains(t) && t % 50 == 0))
        );
        let tipped = tips.iter().filter(|t| **t > 0).count();
        assert!((100..180).contains(&tipped), "{tipped} of 200 tipped");
    }
}
