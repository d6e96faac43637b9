//! Couriers and the live dispatcher, for food orders: the offer of one order or a batch to a courier
//! (made by the dispatcher's shell, [`crate::dispatcher`]), the courier's answer, an offer that
//! lapses, an order no courier took, and the courier's orders.
//!
//! A delivery offer is one row of the shared `offers` table with one `offer_jobs` row per order, so a
//! batch of three orders is one offer the courier takes or leaves whole. Each order records it
//! ([`Order::offer`], which bumps the order's version), and every order of the batch is written in one
//! transaction ([`doorstep_store::Store::save_order_changes`]): a batch is offered, accepted, declined
//! or expired whole, or not at all. The `order_offered` event reaches the courier asked, nobody else.
//!
//! The courier's pay shown on the offer is what the ledger will credit at delivery
//! ([`doorstep_domain::food::checkout::FeeSchedule::courier_pay`]), tips aside.

use crate::dispatcher::DispatchCommand;
use crate::fleet::JobSnapshot;
use crate::orders::{Step, order_error};
use crate::{App, AppError};
use doorstep_domain::food::order::Order;
use doorstep_domain::job::UnfulfilledReason;
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::{JobId, MerchantId, Money, OfferId, RideId, Role, Timestamp, User, UserId};
use doorstep_geo::LatLng;
use doorstep_store::{OrderChange, Recipient, RecipientRole};

/// A delivery offer as its courier sees it: the offer, its orders (in the order dispatch planned
/// their stops), the stops in visiting order, and the pay.
#[derive(Debug, Clone)]
pub struct DeliveryOfferView {
    /// The offer (its `fare` is the courier's pay for all of its orders).
    pub offer: Offer,
    /// The orders it covers.
    pub orders: Vec<Order>,
    /// The stops in visiting order: (order, whether it is the pickup).
    pub stops: Vec<(JobId, bool)>,
    /// The names of the orders' merchants.
    pub merchant_names: Vec<(MerchantId, String)>,
}

impl DeliveryOfferView {
    /// The name of one of its orders' merchants.
    pub fn merchant_name(&self, id: MerchantId) -> &str {
        self.merchant_names
            .iter()
            .find(|(m, _)| *m == id)
            .map_or("", |(_, n)| n.as_str())
    }
}

/// Who is coming with an order, as its parties see it.
#[derive(Debug, Clone)]
pub struct CourierOnTheWay {
    /// The courier's name.
    pub name: String,
    /// Their last believed position and when they were there.
    pub position: Option<(LatLng, Timestamp)>,
}

/// One order's change in a batch written together ([`App::save_batch`]).
struct BatchWrite {
    expected: i64,
    events: Vec<(doorstep_domain::food::order::OrderEvent, Vec<Recipient>)>,
    postings: Vec<doorstep_domain::ledger::Posting>,
    release_promo: bool,
    offers: Vec<Offer>,
}

/// The stops of a batch in a plain order: every pickup (in the order of the orders), then every
/// drop-off.
fn plain_stops(jobs: &[JobId]) -> Vec<(JobId, bool)> {
    jobs.iter()
        .map(|j| (*j, true))
        .chain(jobs.iter().map(|j| (*j, false)))
        .collect()
}

impl App {
    /// Applies an order's committed change to the hot state: its courier's route holds its stops
    /// once assigned; `offer` is the offer out (`None`: keep the one the hot state knows, if the
    /// order still waits).
    pub(crate) fn apply_order(&self, order: &Order, offer: Option<Option<(UserId, OfferId)>>) {
        self.apply_order_here(order, offer);
        self.tell_job_changed(order.id());
    }

    /// [`App::apply_order`] on this node's hot state only (the owner applying another node's change).
    pub(crate) fn apply_order_here(&self, order: &Order, offer: Option<Option<(UserId, OfferId)>>) {
        let now = self.clock().now();
        let job = order.id();
        self.with_fleet(|f| {
            let offer = offer.unwrap_or_else(|| f.offer_of(job));
            f.apply_job(&JobSnapshot::of_order(order, offer), now)
        });
    }

    /// After a change of an order by a person (customer, kitchen, courier, operator): the hot
    /// state follows, and the dispatcher reads the order again (it opens it when the kitchen
    /// accepted it, moves its window when the ready time moved, and lets it go once it has a
    /// courier or ended).
    pub(crate) fn order_changed(&self, order: &Order) {
        self.apply_order(order, None);
        self.dispatch(if order.wants_courier() {
            DispatchCommand::Open(order.id())
        } else {
            DispatchCommand::Gone(order.id())
        });
    }

    /// Records the dispatcher's offer of `jobs` (one order, or a batch) to `courier`: `Ok(Err(gone))`
    /// with the orders that no longer wait for a courier (then nothing is recorded). Offers of these
    /// orders still pending (made before a restart) are withdrawn in the same transaction.
    #[allow(clippy::too_many_arguments, reason = "the dispatcher's one call")]
    pub(crate) async fn make_delivery_offer(
        &self,
        jobs: &[JobId],
        courier: UserId,
        eta_s: f64,
        position: Option<LatLng>,
        route: Option<Vec<(JobId, bool)>>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Result<OfferId, Vec<JobId>>, AppError> {
        let mut orders = Vec::with_capacity(jobs.len());
        let mut gone = Vec::new();
        for &job in jobs {
            match self.store().order(job).await? {
                Some(order) if order.wants_courier() => orders.push(order),
                _ => gone.push(job),
            }
        }
        if !gone.is_empty() {
            return Ok(Err(gone));
        }
        let fees = self.config().food_fees;
        let mut pay = Money::zero(fees.currency);
        for o in &orders {
            pay = pay
                .checked_add(fees.courier_pay(o.record.quote.distance_m))
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        let first_pickup = orders[0].job().stops[0].place;
        let id = OfferId::from_uuid(uuid::Uuid::now_v7());
        let eta = crate::rides::to_u32(eta_s);
        let template = Offer {
            id,
            ride_id: RideId::from(orders[0].id()),
            driver: courier,
            state: OfferState::Pending,
            created_at: now,
            expires_at,
            pickup_eta_s: eta,
            pickup_distance_m: crate::rides::to_u32(
                position.map_or(0.0, |p| self.street_distance_m(p, first_pickup)),
            ),
            fare: pay,
        };
        let mut changes = Vec::with_capacity(orders.len());
        for order in &mut orders {
            let expected = order.version();
            let event = order
                .offer(id, courier, expires_at, eta)
                .map_err(order_error)?;
            let mut offers = self
                .store()
                .offers_of_ride(RideId::from(order.id()))
                .await?;
            offers.retain_mut(Offer::withdraw);
            if !offers.is_empty() {
                metrics::counter!("offers_superseded_total").increment(offers.len() as u64);
            }
            offers.push(Offer {
                ride_id: RideId::from(order.id()),
                ..template.clone()
            });
            let to = vec![Recipient {
                user: courier,
                role: RecipientRole::Worker,
            }];
            changes.push(BatchWrite {
                expected,
                events: vec![(event, to)],
                postings: Vec::new(),
                release_promo: false,
                offers,
            });
        }
        self.save_batch(&orders, &changes, now).await?;
        for order in &orders {
            self.apply_order(order, Some(Some((courier, id))));
        }
        self.remember_offer_route(id, route.unwrap_or_else(|| plain_stops(jobs)));
        metrics::counter!("delivery_offers_made_total").increment(1);
        metrics::histogram!("delivery_offer_orders").record(jobs.len() as f64);
        Ok(Ok(id))
    }

    /// Where dispatch planned a batch's stops, kept in memory for the courier's view of the offer
    /// (a restart forgets it: the view then lists pickups first).
    fn remember_offer_route(&self, offer: OfferId, stops: Vec<(JobId, bool)>) {
        let mut routes = self
            .inner
            .offer_routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if routes.len() >= 10_000 {
            routes.clear();
        }
        routes.insert(offer, stops);
    }

    fn offer_route(&self, offer: OfferId, jobs: &[JobId]) -> Vec<(JobId, bool)> {
        let routes = self
            .inner
            .offer_routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        routes
            .get(&offer)
            .filter(|r| r.iter().all(|(j, _)| jobs.contains(j)) && r.len() == 2 * jobs.len())
            .cloned()
            .unwrap_or_else(|| plain_stops(jobs))
    }

    /// The courier's pending delivery offers, with their orders.
    pub async fn delivery_offers_for(
        &self,
        courier: &User,
    ) -> Result<Vec<DeliveryOfferView>, AppError> {
        require_courier(courier)?;
        let now = self.clock().now();
        let mut views = Vec::new();
        for (offer, jobs) in self.store().pending_delivery_offers_of(courier.id).await? {
            if offer.expires_at < now {
                continue;
            }
            let mut orders = Vec::with_capacity(jobs.len());
            for job in &jobs {
                if let Some(order) = self.store().order(*job).await? {
                    orders.push(order);
                }
            }
            let stops = self.offer_route(offer.id, &jobs);
            let mut merchant_names: Vec<(MerchantId, String)> = Vec::new();
            for o in &orders {
                if merchant_names.iter().all(|(m, _)| *m != o.merchant())
                    && let Some(m) = self.store().merchant(o.merchant()).await?
                {
                    merchant_names.push((m.id, m.profile.name.clone()));
                }
            }
            views.push(DeliveryOfferView {
                offer,
                orders,
                stops,
                merchant_names,
            });
        }
        Ok(views)
    }

    /// The courier's delivery offer `id` with its orders; 404 `offer_not_found` for anyone else's.
    async fn couriers_offer(
        &self,
        courier: &User,
        id: OfferId,
    ) -> Result<(Offer, Vec<Order>), AppError> {
        require_courier(courier)?;
        let (offer, jobs) = self
            .store()
            .delivery_offer(id)
            .await?
            .filter(|(o, _)| o.driver == courier.id)
            .ok_or(AppError::NotFound("offer"))?;
        let mut orders = Vec::with_capacity(jobs.len());
        for job in jobs {
            orders.push(
                self.store()
                    .order(job)
                    .await?
                    .ok_or(AppError::NotFound("offer"))?,
            );
        }
        Ok((offer, orders))
    }

    /// Writes one answer (or expiry) to a delivery offer over all its orders: `offer` in its new
    /// state, each order changed by `step`; every order or none.
    async fn answer_delivery_offer(
        &self,
        offer: &Offer,
        orders: &mut [Order],
        mut step: impl FnMut(&mut Order) -> Result<Step, AppError>,
    ) -> Result<(), AppError> {
        let now = self.clock().now();
        let mut changes = Vec::with_capacity(orders.len());
        for order in orders.iter_mut() {
            let expected = order.version();
            let Step {
                events,
                postings,
                release_promo,
            } = step(order)?;
            let recipients = self.order_recipients(order).await?;
            let events: Vec<_> = events
                .into_iter()
                .map(|e| (e, recipients.clone()))
                .collect();
            let offers = vec![Offer {
                ride_id: RideId::from(order.id()),
                ..offer.clone()
            }];
            changes.push(BatchWrite {
                expected,
                events,
                postings,
                release_promo,
                offers,
            });
        }
        self.save_batch(orders, &changes, now).await
    }

    /// Writes the changes of a batch's orders (one per order, in order) in one transaction and
    /// publishes their events.
    async fn save_batch(
        &self,
        orders: &[Order],
        changes: &[BatchWrite],
        now: Timestamp,
    ) -> Result<(), AppError> {
        let writes: Vec<OrderChange<'_>> = orders
            .iter()
            .zip(changes)
            .map(|(order, c)| OrderChange {
                order,
                expected_version: c.expected,
                events: &c.events,
                postings: &c.postings,
                release_promo: c.release_promo,
                offers: &c.offers,
                audit: None,
                at: now,
            })
            .collect();
        let stored = self.store().save_order_changes(&writes).await?;
        self.publish_all(stored);
        Ok(())
    }

    /// The courier takes the offer: every order of it is theirs, with its stops on their route.
    pub async fn accept_delivery_offer(
        &self,
        courier: &User,
        id: OfferId,
    ) -> Result<Vec<Order>, AppError> {
        let (mut offer, mut orders) = self.couriers_offer(courier, id).await?;
        let now = self.clock().now();
        offer.accept(courier.id, now)?;
        let eta = offer.pickup_eta_s;
        self.answer_delivery_offer(&offer, &mut orders, |o| {
            Ok(Step::events(
                o.assign(courier.id, eta, now).map_err(order_error)?,
            ))
        })
        .await?;
        for order in &orders {
            self.apply_order(order, Some(None));
            self.dispatch(DispatchCommand::Gone(order.id()));
        }
        metrics::counter!("offers_answered_total", "answer" => "accepted").increment(1);
        Ok(orders)
    }

    /// The courier declines the offer: its orders go to the next best courier (not this one).
    pub async fn decline_delivery_offer(
        &self,
        courier: &User,
        id: OfferId,
    ) -> Result<Offer, AppError> {
        let (mut offer, mut orders) = self.couriers_offer(courier, id).await?;
        offer.decline(courier.id, self.clock().now())?;
        self.answer_delivery_offer(&offer, &mut orders, |o| {
            o.exclude_courier(courier.id);
            Ok(Step::events(Vec::new()))
        })
        .await?;
        for order in &orders {
            self.apply_order(order, Some(None));
            self.dispatch(DispatchCommand::Requeue(order.id()));
        }
        metrics::counter!("offers_answered_total", "answer" => "declined").increment(1);
        Ok(offer)
    }

    /// Ends a pending delivery offer whose deadline passed (called by the dispatcher). Returns
    /// whether it expired; `None` if `id` is not a delivery offer.
    pub(crate) async fn expire_delivery_offer(
        &self,
        id: OfferId,
    ) -> Result<Option<bool>, AppError> {
        let Some((mut offer, jobs)) = self.store().delivery_offer(id).await? else {
            return Ok(None);
        };
        if offer.state != OfferState::Pending || !offer.expire_if_due(self.clock().now()) {
            return Ok(Some(false));
        }
        let mut orders = Vec::with_capacity(jobs.len());
        for job in jobs {
            if let Some(order) = self.store().order(job).await? {
                orders.push(order);
            }
        }
        let courier = offer.driver;
        self.answer_delivery_offer(&offer, &mut orders, |o| {
            o.exclude_courier(courier);
            Ok(Step::events(Vec::new()))
        })
        .await?;
        for order in &orders {
            self.apply_order(order, Some(None));
        }
        metrics::counter!("offers_answered_total", "answer" => "expired").increment(1);
        Ok(Some(true))
    }

    /// Dispatch found no courier for the order: it ends undeliverable with `reason` (a dispatch
    /// reason), and the customer is not charged. An order that no longer waits is fine (gone).
    pub(crate) async fn order_without_courier(
        &self,
        id: JobId,
        reason: UnfulfilledReason,
    ) -> Result<(), AppError> {
        let Some(mut order) = self.store().order(id).await? else {
            return Ok(());
        };
        if !order.wants_courier() {
            return Ok(());
        }
        let now = self.clock().now();
        let expected = order.version();
        let events = order
            .undeliverable_no_courier(reason, now)
            .map_err(order_error)?;
        // A pending offer of it (one that lapsed as the verdict came) is withdrawn with it.
        let mut offers = self.store().offers_of_ride(RideId::from(id)).await?;
        offers.retain_mut(Offer::withdraw);
        let recipients = self.order_recipients(&order).await?;
        let events: Vec<_> = events
            .into_iter()
            .map(|e| (e, recipients.clone()))
            .collect();
        let stored = self
            .store()
            .save_order_change(OrderChange {
                order: &order,
                expected_version: expected,
                events: &events,
                postings: &[],
                release_promo: false,
                offers: &offers,
                audit: None,
                at: now,
            })
            .await?;
        self.publish_all(stored);
        self.apply_order(&order, Some(None));
        // The customer is not charged: the hold on their payment method is released.
        self.settle_order(&order).await;
        metrics::counter!("orders_without_courier_total", "reason" => reason.as_str()).increment(1);
        Ok(())
    }

    /// Who is coming with `order` and where they are, while a courier has it.
    pub async fn courier_on_the_way(
        &self,
        order: &Order,
    ) -> Result<Option<CourierOnTheWay>, AppError> {
        use doorstep_domain::job::JobState;
        let Some(courier) = order.courier() else {
            return Ok(None);
        };
        if !matches!(order.job().state, JobState::Assigned | JobState::InProgress) {
            return Ok(None);
        }
        let name = self
            .store()
            .user_by_id(courier)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let position = self.with_fleet(|f| {
            f.driver(courier)
                .and_then(|d| d.position().zip(d.last_seen()))
        });
        Ok(Some(CourierOnTheWay { name, position }))
    }

    /// The courier's orders not over yet (to the restaurant, or carrying them).
    pub async fn courier_orders(&self, courier: &User) -> Result<Vec<Order>, AppError> {
        require_courier(courier)?;
        Ok(self.store().active_orders_of_courier(courier.id).await?)
    }
}

/// Only workers (drivers' accounts) carry orders.
fn require_courier(user: &User) -> Result<(), AppError> {
    if user.role == Role::Driver {
        Ok(())
    } else {
        Err(AppError::Forbidden("only couriers do this"))
    }
}
