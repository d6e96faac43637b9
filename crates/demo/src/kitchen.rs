//! A restaurant of the demo: opened by the demo's operator, then run by its staff account as a
//! kitchen tablet would.
//!
//! Opening: the operator creates the merchant from its [`RestaurantPlan`] (`POST /v1/admin/merchants`
//! with a new staff account `merchant{N}@demo.doorstep.dev`) and approves it, each under an
//! idempotency key of its own that a resumed demo repeats (so it finds the same merchant); the staff
//! account signs in, sets the opening hours ([`hours_doc`]) and imports a menu drawn from the catalogue.
//!
//! Running: the kitchen watches its queue (`GET /v1/merchants/{id}/orders`, at once on an `order_placed`
//! event, else every few simulated seconds). A new order is looked at after a short while; about
//! [`REJECT_PROBABILITY`] are refused as sold out, the rest accepted with a preparation time drawn from
//! the cuisine's range plus [`BUSY_MINUTES_PER_ORDER`] for each order already in the kitchen beyond
//! [`CALM_ORDERS`]. The kitchen starts at once (`preparing`) and says `ready` when that time has passed
//! on the demo's clock. The server keeps real time, so the preparation time sent is the simulated one
//! divided by the demo's speed (at least a minute): the server's estimate of when the food is ready is
//! then about when the demo says it is.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand_pcg::Pcg64;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::Ctx;
use crate::api::{ApiError, MAX_BACKOFF, OrderStep, with_retry};
use crate::catalogue::menu_for;
use crate::events::{EventLink, Inbound};
use crate::restaurants::{RestaurantPlan, hours_doc};
use crate::seed::{Stream, agent_rng};
use crate::shutdown::Shutdown;
use crate::wire::{EventKind, OrderState, OrderView, WirePoint};

/// Share of orders a kitchen refuses (an item sold out).
pub const REJECT_PROBABILITY: f64 = 0.04;
/// How long a kitchen takes to look at a new order, simulated seconds.
const NOTICE_SECS: Range<f64> = 20.0..90.0;
/// ... but never longer than this in real time, so that fast demos keep their customers' patience.
const MAX_NOTICE_REAL_SECS: f64 = 5.0;
/// Orders a kitchen handles at its usual pace.
pub const CALM_ORDERS: usize = 3;
/// Minutes added to the preparation time for each order in the kitchen beyond [`CALM_ORDERS`].
pub const BUSY_MINUTES_PER_ORDER: u32 = 2;
/// How often the kitchen checks its clock, simulated seconds (at least [`MIN_TICK`] real).
const TICK_SECS: f64 = 5.0;
const MIN_TICK: Duration = Duration::from_millis(250);
/// How often the kitchen reads its queue without being told of an order, simulated seconds (at
/// least [`MIN_POLL`] real).
const POLL_SECS: f64 = 30.0;
const MIN_POLL: Duration = Duration::from_secs(1);
/// Calls refused on one order before the kitchen stops trying it.
const MAX_FAILURES: u32 = 4;

/// The preparation time the server is told, real minutes: `sim_minutes` of the demo's clock at
/// `speed`, rounded up, within the server's 1 to 120.
pub fn server_prep_minutes(sim_minutes: u32, speed: f64) -> u32 {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let real = (f64::from(sim_minutes) / speed).ceil();
    (real as u32).clamp(1, 120)
}

/// The preparation time of an order, simulated minutes: drawn from `range`, plus the busy minutes
/// of `in_kitchen` orders already being made.
pub fn prep_minutes(range: &Range<u32>, in_kitchen: usize, rng: &mut impl Rng) -> u32 {
    let base = if range.is_empty() {
        range.start.max(1)
    } else {
        rng.random_range(range.clone())
    };
    let busy = u32::try_from(in_kitchen.saturating_sub(CALM_ORDERS)).unwrap_or(u32::MAX);
    base.saturating_add(busy.saturating_mul(BUSY_MINUTES_PER_ORDER))
}

/// What the kitchen is doing about one order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ticket {
    /// Seen; to be accepted (or refused) at the simulated time.
    New { decide_at: f64, reject: bool },
    /// Being prepared; ready at the simulated time.
    Cooking { ready_at: f64 },
    /// Said ready (or refused): nothing more to do.
    Done,
}

/// Opens restaurant `plan` and runs its kitchen until the demo stops. `opened` hears once whether it
/// opened (with its pickup point's merchant id).
pub(crate) async fn run_kitchen(
    ctx: Arc<Ctx>,
    plan: RestaurantPlan,
    operator_token: String,
    opened: mpsc::Sender<Option<String>>,
    shutdown: Shutdown,
) {
    let opening = open_restaurant(&ctx, &plan, &operator_token, &shutdown).await;
    let Some((merchant_id, token)) = opening else {
        let _ = opened.send(None).await;
        return;
    };
    let _ = opened.send(Some(merchant_id.clone())).await;
    let mut kitchen = Kitchen {
        rng: agent_rng(ctx.config.seed, Stream::Kitchen, plan.index as u64),
        link: EventLink::open(ctx.api.events_url(), token.clone(), 0, shutdown.clone()),
        ctx,
        plan,
        merchant_id,
        token,
        tickets: HashMap::new(),
        failures: HashMap::new(),
        shutdown,
    };
    kitchen.work().await;
}

/// The staff account's e-mail address of restaurant `index`.
pub(crate) fn staff_email(index: usize) -> String {
    format!("merchant{index}@demo.doorstep.dev")
}

/// Creates, approves and sets up the restaurant; its merchant id and its staff's token, or `None` if
/// it could not be opened (logged).
async fn open_restaurant(
    ctx: &Ctx,
    plan: &RestaurantPlan,
    operator: &str,
    shutdown: &Shutdown,
) -> Option<(String, String)> {
    let site = WirePoint::from_utm(plan.site);
    let zone = ctx
        .city
        .zones()
        .get(plan.zone.index())
        .map_or("Manhattan", |z| z.name.as_str());
    let email = staff_email(plan.index);
    let body = serde_json::json!({
        "name": plan.name,
        "cuisines": plan.cuisine.tags,
        "address": format!("{zone}, Manhattan, NY"),
        "lat": site.lat,
        "lng": site.lng,
        "delivery_radius_m": plan.delivery_radius_m,
        "prep_minutes": plan.prep_minutes,
        "new_staff": {"email": email, "name": format!("{} staff", plan.name), "password": crate::DEMO_PASSWORD},
        "reason": "demo restaurant",
    });
    let seed = ctx.config.seed;
    let key = format!("demo-{seed}-merchant-{}", plan.index);
    let created = with_retry(shutdown, "create merchant", || {
        ctx.api.admin_create_merchant(operator, &key, &body)
    })
    .await;
    let merchant = match created {
        Ok(m) => m,
        Err(error) => {
            tracing::warn!(restaurant = %plan.name, %error, "creating a demo restaurant failed");
            return None;
        }
    };
    if merchant.status != "approved" {
        let key = format!("demo-{seed}-approve-{}", plan.index);
        let approved = with_retry(shutdown, "approve merchant", || {
            ctx.api
                .admin_approve_merchant(operator, &key, &merchant.merchant_id, "demo restaurant")
        })
        .await;
        if let Err(error) = approved {
            tracing::warn!(restaurant = %plan.name, %error, "approving a demo restaurant failed");
        }
    }
    let session = with_retry(shutdown, "staff login", || {
        ctx.api.login_with(&email, crate::DEMO_PASSWORD)
    })
    .await;
    let token = match session {
        Ok(s) => s.token,
        Err(error) => {
            tracing::warn!(restaurant = %plan.name, %error, "the staff of a demo restaurant could not sign in");
            return None;
        }
    };
    let hours = hours_doc(plan.hours, crate::clock::wall_clock_unix());
    let id = merchant.merchant_id.clone();
    if let Err(error) = with_retry(shutdown, "set hours", || {
        ctx.api.set_hours(&token, &id, &hours)
    })
    .await
    {
        tracing::warn!(restaurant = %plan.name, %error, "setting the hours of a demo restaurant failed");
        return None;
    }
    let menu = menu_for(
        plan.cuisine,
        &mut agent_rng(seed ^ 0x6d65_6e75, Stream::Restaurant, plan.index as u64),
    );
    if let Err(error) = with_retry(shutdown, "import menu", || {
        ctx.api.import_menu(&token, &id, &menu)
    })
    .await
    {
        tracing::warn!(restaurant = %plan.name, %error, "importing the menu of a demo restaurant failed");
        return None;
    }
    tracing::info!(restaurant = %plan.name, merchant_id = %id, cuisine = plan.cuisine.tags[0], hours = plan.hours.name, "demo restaurant open");
    Some((id, token))
}

struct Kitchen {
    ctx: Arc<Ctx>,
    rng: Pcg64,
    link: EventLink,
    plan: RestaurantPlan,
    merchant_id: String,
    token: String,
    tickets: HashMap<String, Ticket>,
    failures: HashMap<String, u32>,
    shutdown: Shutdown,
}

impl Kitchen {
    async fn work(&mut self) {
        let clock = self.ctx.clock;
        let mut tick = tokio::time::interval(clock.real_duration(TICK_SECS).max(MIN_TICK));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(clock.real_duration(POLL_SECS).max(MIN_POLL));
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut shutdown = self.shutdown.clone();
        let mut link_open = true;
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                _ = tick.tick() => self.advance().await,
                _ = poll.tick() => self.read_queue().await,
                inbound = self.link.inbound.recv(), if link_open => match inbound {
                    Some(Inbound::Connected) => self.read_queue().await,
                    Some(Inbound::Event(event)) => {
                        if event.kind == EventKind::OrderPlaced {
                            self.read_queue().await;
                        } else if matches!(event.kind, EventKind::OrderCancelled | EventKind::OrderPickedUp)
                            && let Some(order) = event.order()
                        {
                            self.tickets.insert(order.to_owned(), Ticket::Done);
                        }
                    }
                    None => link_open = false,
                },
            }
        }
    }

    /// Reads the queue: new orders get a ticket, ended ones are forgotten.
    async fn read_queue(&mut self) {
        let listed = self
            .ctx
            .api
            .merchant_orders(&self.token, &self.merchant_id)
            .await;
        let orders = match listed {
            Ok(list) => list.orders,
            Err(error) => {
                tracing::debug!(restaurant = %self.plan.name, %error, "reading the queue failed");
                self.reauthenticate_if(&error).await;
                return;
            }
        };
        let now = self.ctx.clock.now();
        let speed = self.ctx.clock.speed();
        let mut live = std::collections::HashSet::new();
        for order in orders {
            live.insert(order.id.clone());
            let known = self.tickets.get(&order.id).copied();
            match (order.state, known) {
                (OrderState::Placed, None) => {
                    let notice = self
                        .rng
                        .random_range(NOTICE_SECS)
                        .min(MAX_NOTICE_REAL_SECS * speed);
                    let reject = self.rng.random_bool(REJECT_PROBABILITY);
                    self.tickets.insert(
                        order.id,
                        Ticket::New {
                            decide_at: now + notice,
                            reject,
                        },
                    );
                }
                (state, Some(Ticket::New { .. } | Ticket::Cooking { .. })) if state.is_final() => {
                    self.tickets.insert(order.id, Ticket::Done);
                }
                // An order accepted by an earlier run of the demo: say it is ready now.
                (OrderState::Accepted | OrderState::Preparing, None) => {
                    self.tickets
                        .insert(order.id, Ticket::Cooking { ready_at: now });
                }
                _ => {}
            }
        }
        // Orders older than the queue's day are gone from it: forget them.
        self.tickets.retain(|id, _| live.contains(id));
        self.failures.retain(|id, _| live.contains(id));
    }

    /// Does what is due on the demo's clock.
    async fn advance(&mut self) {
        let now = self.ctx.clock.now();
        let due: Vec<(String, Ticket)> = self
            .tickets
            .iter()
            .filter(|(_, t)| match t {
                Ticket::New { decide_at, .. } => *decide_at <= now,
                Ticket::Cooking { ready_at } => *ready_at <= now,
                Ticket::Done => false,
            })
            .map(|(id, t)| (id.clone(), *t))
            .collect();
        for (id, ticket) in due {
            let next = match ticket {
                Ticket::New { reject: true, .. } => self.reject(&id).await,
                Ticket::New { reject: false, .. } => self.accept(&id, now).await,
                Ticket::Cooking { .. } => self.ready(&id).await,
                Ticket::Done => None,
            };
            if let Some(next) = next {
                self.tickets.insert(id, next);
            }
        }
    }

    fn in_kitchen(&self) -> usize {
        self.tickets
            .values()
            .filter(|t| matches!(t, Ticket::Cooking { .. }))
            .count()
    }

    async fn accept(&mut self, id: &str, now: f64) -> Option<Ticket> {
        let sim_minutes = prep_minutes(
            &self.plan.cuisine.prep_minutes,
            self.in_kitchen(),
            &mut self.rng,
        );
        let server_minutes = server_prep_minutes(sim_minutes, self.ctx.clock.speed());
        let body = serde_json::json!({ "prep_minutes": server_minutes });
        let accepted = with_retry(&self.shutdown, "accept order", || {
            self.ctx
                .api
                .order_step(&self.token, id, OrderStep::Accept, Some(&body))
        })
        .await;
        match accepted {
            Ok(_) => {
                tracing::debug!(restaurant = %self.plan.name, order_id = id, sim_minutes, "order accepted");
                if let Err(error) = with_retry(&self.shutdown, "order preparing", || {
                    self.ctx
                        .api
                        .order_step(&self.token, id, OrderStep::Preparing, None)
                })
                .await
                {
                    tracing::debug!(order_id = id, %error, "marking an order preparing failed");
                }
                Some(Ticket::Cooking {
                    ready_at: now + f64::from(sim_minutes) * 60.0,
                })
            }
            Err(error) => self.refused(id, "accept", &error).await,
        }
    }

    async fn reject(&mut self, id: &str) -> Option<Ticket> {
        let body = serde_json::json!({ "reason": "item_unavailable" });
        let rejected = with_retry(&self.shutdown, "reject order", || {
            self.ctx
                .api
                .order_step(&self.token, id, OrderStep::Reject, Some(&body))
        })
        .await;
        match rejected {
            Ok(_) => {
                tracing::debug!(restaurant = %self.plan.name, order_id = id, "order refused: sold out");
                Some(Ticket::Done)
            }
            Err(error) => self.refused(id, "reject", &error).await,
        }
    }

    async fn ready(&mut self, id: &str) -> Option<Ticket> {
        let ready = with_retry(&self.shutdown, "order ready", || {
            self.ctx
                .api
                .order_step(&self.token, id, OrderStep::Ready, None)
        })
        .await;
        match ready {
            Ok(_) => Some(Ticket::Done),
            Err(error) => self.refused(id, "ready", &error).await,
        }
    }

    /// After a failed step: the order moved on (the customer cancelled) or the call failed; the
    /// ticket stays for another try unless the order has ended or failed too often.
    async fn refused(&mut self, id: &str, step: &'static str, error: &ApiError) -> Option<Ticket> {
        tracing::debug!(restaurant = %self.plan.name, order_id = id, step, %error, "kitchen step refused");
        self.reauthenticate_if(error).await;
        let failures = self.failures.entry(id.to_owned()).or_insert(0);
        *failures += 1;
        if *failures >= MAX_FAILURES {
            return Some(Ticket::Done);
        }
        match self.ctx.api.order(&self.token, id).await {
            Ok(OrderView { state, .. }) if state.is_final() => Some(Ticket::Done),
            Ok(OrderView {
                state: OrderState::Ready | OrderState::PickedUp,
                ..
            }) => Some(Ticket::Done),
            _ => None,
        }
    }

    async fn reauthenticate_if(&mut self, error: &ApiError) {
        if error.status() != Some(401) {
            return;
        }
        let email = staff_email(self.plan.index);
        let mut pause = Duration::from_millis(500);
        loop {
            match self.ctx.api.login_with(&email, crate::DEMO_PASSWORD).await {
                Ok(session) => {
                    self.token = session.token;
                    self.link = EventLink::open(
                        self.ctx.api.events_url(),
                        self.token.clone(),
                        self.link.last_event_id(),
                        self.shutdown.clone(),
                    );
                    return;
                }
                Err(error) => {
                    tracing::debug!(restaurant = %self.plan.name, %error, "staff sign-in failed");
                }
            }
            if !self.shutdown.clone().sleep(pause).await {
                return;
            }
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }
}
