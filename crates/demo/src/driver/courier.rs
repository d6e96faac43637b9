//! The driver as a courier: delivery offers (the `order_offered` event, `GET /v1/delivery-offers` as a
//! fallback), then each stop of the accepted route: at a restaurant `arrived`, then `picked-up` once the
//! kitchen says the food is ready; at a customer's door `delivered` with the hand-over code the customer
//! told (the in-process board, as a customer says it at the door). Positions keep streaming as on a ride.

use std::collections::VecDeque;

use doorstep_geo::Utm;
use rand::Rng;

use super::{ACCEPT_PROBABILITY, Driver, Duty, MAX_THINK_REAL_SECS, THINK_SECS};
use crate::api::{ApiError, OrderStep, with_retry};
use crate::motion::Leg;
use crate::wire::{DeliveryOffer, OrderState, OrderView, StopKind};

/// How long a courier waits at a restaurant for the food before giving the order up, simulated seconds.
const PICKUP_PATIENCE_SECS: f64 = 3600.0;
/// How long a courier waits at the door for the code before giving the order up, simulated seconds.
const DOOR_PATIENCE_SECS: f64 = 600.0;
/// Between two tries of the same step (the food not ready yet, the code not told), simulated seconds.
const RETRY_SECS: f64 = 15.0;
/// Failed calls on one order before the courier gives it up.
const MAX_FAILURES: u32 = 5;

/// A stop of a courier's route.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stop {
    pub(super) order_id: String,
    pub(super) kind: StopKind,
    pub(super) place: Utm,
}

/// The orders a courier carries: its remaining stops in order and how the current one goes.
#[derive(Debug, Clone)]
pub(super) struct DeliveryRun {
    pub(super) stops: VecDeque<Stop>,
    /// The drive to the current stop.
    pub(super) leg: Leg,
    /// At the current restaurant, `arrived` was accepted.
    arrived: bool,
    /// When the courier got to the current stop (simulated), once it has.
    at_stop_since: Option<f64>,
    /// Not before this simulated time is the current stop tried again.
    pub(super) next_try_at: f64,
    /// Failed calls on the current stop.
    failures: u32,
}

/// The stops of an offer, in the offer's order, of the orders accepted; the orders' own pickup and
/// drop-off if the offer lists no usable stop.
pub(super) fn stops_of(offer: &DeliveryOffer, accepted: &[OrderView]) -> VecDeque<Stop> {
    let ours = |id: &str| accepted.iter().any(|o| o.id == id);
    let mut stops: VecDeque<Stop> = offer
        .stops
        .iter()
        .filter(|s| ours(&s.order_id) && s.kind != StopKind::Unknown)
        .filter_map(|s| {
            let place = crate::wire::WirePoint {
                lat: s.lat,
                lng: s.lng,
            }
            .to_utm()?;
            Some(Stop {
                order_id: s.order_id.clone(),
                kind: s.kind,
                place,
            })
        })
        .collect();
    for order in accepted {
        let listed = |kind| {
            stops
                .iter()
                .any(|s: &Stop| s.order_id == order.id && s.kind == kind)
        };
        let (Some(pickup), Some(dropoff)) = (order.pickup.to_utm(), order.dropoff.to_utm()) else {
            continue;
        };
        let needs_pickup =
            !matches!(order.state, OrderState::PickedUp) && !listed(StopKind::Pickup);
        let needs_dropoff = !listed(StopKind::Dropoff);
        if needs_pickup {
            // Before its drop-off, wherever that is.
            let at = stops
                .iter()
                .position(|s| s.order_id == order.id)
                .unwrap_or(stops.len());
            stops.insert(
                at,
                Stop {
                    order_id: order.id.clone(),
                    kind: StopKind::Pickup,
                    place: pickup,
                },
            );
        }
        if needs_dropoff {
            stops.push_back(Stop {
                order_id: order.id.clone(),
                kind: StopKind::Dropoff,
                place: dropoff,
            });
        }
    }
    stops
}

impl Driver {
    /// A run along `stops` from where the car is, or idle if there is none.
    pub(super) fn delivering(&self, stops: VecDeque<Stop>, now: f64) -> Duty {
        let Some(first) = stops.front() else {
            return self.after_ride(now);
        };
        let leg = Leg::plan(
            self.ctx.city,
            &self.ctx.grid,
            self.position,
            first.place,
            now,
        );
        Duty::Delivering {
            run: DeliveryRun {
                stops,
                leg,
                arrived: false,
                at_stop_since: None,
                next_try_at: now,
                failures: 0,
            },
        }
    }

    /// Picks up deliveries this account was carrying when a previous demo stopped.
    pub(super) async fn resume_deliveries(&mut self) {
        if !matches!(self.duty, Duty::Idle { .. }) {
            return;
        }
        let orders = match self.ctx.api.courier_orders(&self.account.token).await {
            Ok(list) => list.orders,
            Err(error) => {
                tracing::debug!(driver = self.account.index, %error, "listing own deliveries failed");
                return;
            }
        };
        let open: Vec<OrderView> = orders.into_iter().filter(|o| !o.state.is_final()).collect();
        if open.is_empty() {
            return;
        }
        let offer = DeliveryOffer {
            offer_id: String::new(),
            stops: Vec::new(),
        };
        let stops = stops_of(&offer, &open);
        tracing::info!(
            driver = self.account.index,
            orders = open.len(),
            "resuming deliveries left open by an earlier run"
        );
        self.duty = self.delivering(stops, self.ctx.clock.now());
    }

    /// Looks at a delivery offer: an available driver thinks about it, a busy one declines at once.
    pub(super) async fn consider_delivery(&mut self, offer_id: String) {
        if self.seen_offers.contains(&offer_id) {
            return;
        }
        self.remember_offer(offer_id.clone());
        if !matches!(self.duty, Duty::Idle { .. }) {
            if let Err(error) = self
                .ctx
                .api
                .decline_delivery(&self.account.token, &offer_id)
                .await
            {
                tracing::debug!(driver = self.account.index, offer_id, %error, "declining a delivery while busy failed");
            }
            return;
        }
        let offer = match self.ctx.api.delivery_offers(&self.account.token).await {
            Ok(offers) => offers.offers.into_iter().find(|o| o.offer_id == offer_id),
            Err(error) => {
                tracing::debug!(driver = self.account.index, %error, "reading delivery offers failed");
                None
            }
        };
        let Some(offer) = offer else {
            return;
        };
        self.think_about_delivery(offer);
    }

    fn think_about_delivery(&mut self, offer: DeliveryOffer) {
        let now = self.ctx.clock.now();
        self.position = self.position_at(now);
        let think = self
            .rng
            .random_range(THINK_SECS)
            .min(MAX_THINK_REAL_SECS * self.ctx.clock.speed());
        let accept = self.rng.random_bool(ACCEPT_PROBABILITY);
        self.duty = Duty::ConsideringDelivery {
            offer,
            decide_at: now + think,
            accept,
        };
    }

    /// Polls the pending delivery offers, in case an `order_offered` event was missed (only when
    /// available).
    pub(super) async fn poll_delivery_offers(&mut self) {
        if !matches!(self.duty, Duty::Idle { .. }) {
            return;
        }
        match self.ctx.api.delivery_offers(&self.account.token).await {
            Ok(offers) => {
                let fresh = offers
                    .offers
                    .into_iter()
                    .find(|offer| !self.seen_offers.contains(&offer.offer_id));
                if let Some(offer) = fresh {
                    self.remember_offer(offer.offer_id.clone());
                    self.think_about_delivery(offer);
                }
            }
            // A server without courier dispatch answers 404: nothing to deliver.
            Err(error) => {
                tracing::trace!(driver = self.account.index, %error, "polling delivery offers failed");
                if error.status() == Some(401) {
                    self.reauthenticate().await;
                }
            }
        }
    }

    pub(super) async fn answer_delivery(&mut self, offer: DeliveryOffer, accept: bool) -> Duty {
        let offer_id = offer.offer_id.clone();
        if !accept {
            let declined = with_retry(&self.shutdown, "decline delivery", || {
                self.ctx
                    .api
                    .decline_delivery(&self.account.token, &offer_id)
            })
            .await;
            if let Err(error) = declined {
                tracing::debug!(driver = self.account.index, offer_id, %error, "declining a delivery failed");
            }
            return Duty::idle();
        }
        let accepted = with_retry(&self.shutdown, "accept delivery", || {
            self.ctx.api.accept_delivery(&self.account.token, &offer_id)
        })
        .await;
        match accepted {
            Ok(accepted) => {
                tracing::debug!(
                    driver = self.account.index,
                    offer_id,
                    orders = accepted.orders.len(),
                    "delivery accepted"
                );
                let stops = stops_of(&offer, &accepted.orders);
                self.delivering(stops, self.ctx.clock.now())
            }
            Err(error) => {
                tracing::debug!(driver = self.account.index, offer_id, %error, "accepting a delivery failed");
                if error.status() == Some(401) {
                    self.reauthenticate().await;
                }
                Duty::idle()
            }
        }
    }

    /// At the current stop: the step it waits for; the duty that follows.
    pub(super) async fn serve_stop(&mut self, mut run: DeliveryRun, now: f64) -> Duty {
        let Some(stop) = run.stops.front().cloned() else {
            return self.after_ride(now);
        };
        self.position = stop.place;
        let since = *run.at_stop_since.get_or_insert(now);
        let token = self.account.token.clone();
        match stop.kind {
            StopKind::Pickup => {
                if !run.arrived {
                    self.flush_http().await;
                    let arrived = with_retry(&self.shutdown, "courier arrived", || {
                        self.ctx
                            .api
                            .order_step(&token, &stop.order_id, OrderStep::Arrived, None)
                    })
                    .await;
                    match arrived {
                        Ok(_) => run.arrived = true,
                        Err(error) => return self.stop_refused(run, &stop, error, now).await,
                    }
                }
                let picked = self
                    .ctx
                    .api
                    .order_step(&token, &stop.order_id, OrderStep::PickedUp, None)
                    .await;
                match picked {
                    Ok(order) if order.state == OrderState::PickedUp => self.next_stop(run, now),
                    Ok(order) if order.state.is_final() => {
                        self.drop_order(run, &stop.order_id, now)
                    }
                    Ok(_) => self.wait_for_food(run, &stop, since, now).await,
                    // The food is not ready yet (409), or the call failed: try again shortly.
                    Err(error)
                        if error.status() == Some(409)
                            && error.code() == Some("invalid_order_state") =>
                    {
                        self.wait_for_food(run, &stop, since, now).await
                    }
                    Err(error) => self.stop_refused(run, &stop, error, now).await,
                }
            }
            StopKind::Dropoff => {
                let mut told = self.ctx.codes.get(&stop.order_id);
                // A customer who is a person (not a demo agent) tells the code at the door.
                if told.is_none()
                    && let Some(teller) = &self.ctx.pin_teller
                {
                    told = teller.tell(stop.order_id.clone()).await;
                }
                let Some(code) = told else {
                    if now - since > DOOR_PATIENCE_SECS {
                        tracing::warn!(driver = self.account.index, order_id = %stop.order_id, "no hand-over code from the customer; order undeliverable");
                        return self
                            .undeliverable(run, &stop, "customer_unreachable", now)
                            .await;
                    }
                    run.next_try_at = now + RETRY_SECS;
                    return Duty::Delivering { run };
                };
                self.flush_http().await;
                let body = serde_json::json!({ "code": code });
                let delivered = with_retry(&self.shutdown, "courier delivered", || {
                    self.ctx.api.order_step(
                        &token,
                        &stop.order_id,
                        OrderStep::Delivered,
                        Some(&body),
                    )
                })
                .await;
                match delivered {
                    Ok(_) => {
                        tracing::debug!(driver = self.account.index, order_id = %stop.order_id, "order delivered");
                        self.next_stop(run, now)
                    }
                    Err(error) => self.stop_refused(run, &stop, error, now).await,
                }
            }
            StopKind::Unknown => self.next_stop(run, now),
        }
    }

    async fn wait_for_food(
        &mut self,
        mut run: DeliveryRun,
        stop: &Stop,
        since: f64,
        now: f64,
    ) -> Duty {
        if now - since > PICKUP_PATIENCE_SECS {
            tracing::warn!(driver = self.account.index, order_id = %stop.order_id, "the food never came; order undeliverable");
            return self
                .undeliverable(run, stop, "pickup_unavailable", now)
                .await;
        }
        run.next_try_at = now + RETRY_SECS;
        Duty::Delivering { run }
    }

    async fn undeliverable(
        &mut self,
        run: DeliveryRun,
        stop: &Stop,
        reason: &str,
        now: f64,
    ) -> Duty {
        let body = serde_json::json!({ "reason": reason });
        if let Err(error) = self
            .ctx
            .api
            .order_step(
                &self.account.token,
                &stop.order_id,
                OrderStep::Undeliverable,
                Some(&body),
            )
            .await
        {
            tracing::debug!(driver = self.account.index, order_id = %stop.order_id, %error, "reporting an undeliverable order failed");
        }
        self.drop_order(run, &stop.order_id, now)
    }

    /// After a refused step: the order itself says what is left to do.
    async fn stop_refused(
        &mut self,
        mut run: DeliveryRun,
        stop: &Stop,
        error: ApiError,
        now: f64,
    ) -> Duty {
        tracing::debug!(driver = self.account.index, order_id = %stop.order_id, kind = ?stop.kind, %error, "delivery step refused; checking the order");
        if error.status() == Some(401) {
            self.reauthenticate().await;
        }
        run.failures += 1;
        if run.failures >= MAX_FAILURES {
            tracing::warn!(driver = self.account.index, order_id = %stop.order_id, "too many failures; leaving the order");
            return self.drop_order(run, &stop.order_id, now);
        }
        match self
            .ctx
            .api
            .order(&self.account.token, &stop.order_id)
            .await
        {
            Ok(order)
                if order.state.is_final()
                    || order.courier_id.as_deref() != Some(self.account.user_id.as_str()) =>
            {
                self.drop_order(run, &stop.order_id, now)
            }
            Ok(order) if order.state == OrderState::PickedUp && stop.kind == StopKind::Pickup => {
                self.next_stop(run, now)
            }
            _ => {
                run.next_try_at = now + RETRY_SECS;
                Duty::Delivering { run }
            }
        }
    }

    /// The current stop is done: on to the next one, or available again.
    fn next_stop(&self, mut run: DeliveryRun, now: f64) -> Duty {
        run.stops.pop_front();
        self.delivering(run.stops, now)
    }

    /// An order that ended under the courier (cancelled, given up): its stops are left out.
    pub(super) fn drop_order(&self, mut run: DeliveryRun, order_id: &str, now: f64) -> Duty {
        let current_kept = run.stops.front().is_some_and(|s| s.order_id != order_id);
        run.stops.retain(|s| s.order_id != order_id);
        if current_kept {
            Duty::Delivering { run }
        } else {
            self.delivering(run.stops, now)
        }
    }
}
