//! Food orders: the checkout quote, placement (idempotent), the kitchen's steps, cancellation, the
//! courier's pickup and hand-over, and who may see an order.
//!
//! Every change is a transition of [`Order`] (its delivery job underneath), saved with its events and
//! postings under the job's version; events go to the order's customer, every staff member of its
//! merchant and its courier (operators read every event), and are published after the commit. A lost race
//! answers 409 `concurrent_update`.
//!
//! Who may see an order: its customer, its merchant's staff, its courier and operators; anyone else gets
//! 404 `order_not_found`, as for rides.

use crate::{App, AppError, BusMessage};
use doorstep_domain::code::{CodeLength, VerificationCode};
use doorstep_domain::food::checkout::quote_checkout;
use doorstep_domain::food::checkout::{CheckoutError, CheckoutInput, CheckoutQuote, PromoUse};
use doorstep_domain::food::menu::CartError;
use doorstep_domain::food::merchant::{Merchant, NotAccepting};
use doorstep_domain::food::order::{
    DeliveryEstimate, Handover, NewOrder, Order, OrderError, OrderEvent, OrderLine, OrderState,
    RejectReason,
};
use doorstep_domain::food::promo::{PromoCode, PromoError};
use doorstep_domain::job::UnfulfilledReason;
use doorstep_domain::ledger::{
    PostingKey, PostingKind, delivery_order_posting, order_cancellation_fee_posting, tip_posting,
};
use doorstep_domain::pricing::SurgeMillis;
use doorstep_domain::{JobId, MenuItemId, MenuOptionId, MerchantId, Money, Role, Timestamp, User};
use doorstep_geo::LatLng;
use doorstep_store::{OrderChange, Placed, Recipient, RecipientRole, StoreError, StoredEvent};

/// The most lines a cart may have.
pub const MAX_CART_LINES: usize = 50;
/// The longest note on a line, characters.
pub const MAX_NOTE_CHARS: usize = 200;
/// The longest delivery address, characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// How far ahead an order may be scheduled, seconds (7 days).
pub const MAX_SCHEDULE_AHEAD_S: i64 = 7 * 24 * 3600;
/// A courier's speed in the city for estimates, metres per second (a bicycle in traffic).
pub const COURIER_SPEED_M_S: f64 = 4.2;
/// Seconds to collect an order at the restaurant, and to hand it over at the door.
pub const SERVICE_S: u32 = 120;
/// Until couriers are dispatched live, the estimate of a courier's way to the restaurant, seconds.
pub const TO_PICKUP_ESTIMATE_S: u32 = 300;

/// One line of a cart as the customer sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    /// The menu item.
    pub item: MenuItemId,
    /// The options chosen.
    pub options: Vec<MenuOptionId>,
    /// How many.
    pub quantity: u32,
    /// A note for the kitchen.
    pub note: Option<String>,
}

/// What a checkout or a placement is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct CartRequest {
    /// The merchant.
    pub merchant: MerchantId,
    /// Where to deliver.
    pub dropoff: LatLng,
    /// The address as the customer gave it.
    pub address: String,
    /// The lines.
    pub lines: Vec<CartLine>,
    /// The tip for the courier.
    pub tip: Money,
    /// A promo code, as typed.
    pub promo: Option<String>,
    /// A later delivery slot (`None`: as soon as possible).
    pub scheduled_for: Option<Timestamp>,
    /// The payment method to authorise the total on (`None`: the customer's newest card); checkout
    /// ignores it.
    pub payment_method: Option<String>,
}

/// A priced cart: what checkout shows and placement keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkout {
    /// The priced lines.
    pub lines: Vec<OrderLine>,
    /// The itemised price.
    pub quote: CheckoutQuote,
    /// The estimate the promise is made of.
    pub estimate: DeliveryEstimate,
    /// The delivery time promised if placed now.
    pub promised_at: Timestamp,
}

fn cart_error(e: &CartError) -> AppError {
    let code = match e {
        CartError::UnknownItem(_) => "item_not_found",
        CartError::ItemOfAnotherMerchant { .. } => "item_of_another_merchant",
        CartError::SoldOut { .. } => "item_sold_out",
        CartError::NotAvailableNow { .. } => "item_not_available_now",
        CartError::Quantity(_) => "invalid_quantity",
        _ => "invalid_options",
    };
    AppError::invalid(code, e.to_string())
}

fn checkout_error(e: CheckoutError) -> AppError {
    AppError::invalid(e.code(), e.to_string())
}

fn not_accepting(e: NotAccepting) -> AppError {
    let code = match e {
        NotAccepting::NotApproved(_) => return AppError::NotFound("merchant"),
        NotAccepting::Paused { .. } => "merchant_paused",
        NotAccepting::Closed { .. } => "merchant_closed",
        NotAccepting::Throttled { .. } => "merchant_busy",
    };
    AppError::conflict(code, e.to_string())
}

pub(crate) fn order_error(e: OrderError) -> AppError {
    use doorstep_domain::job::JobError;
    match e {
        OrderError::Transition { .. } => AppError::conflict("invalid_order_state", e.to_string()),
        OrderError::PrepTime => AppError::invalid("invalid_prep_time", e.to_string()),
        OrderError::Job(JobError::ProofLocked) => AppError::conflict(
            "handover_code_locked",
            "too many wrong codes: the hand-over code is locked",
        ),
        OrderError::Job(JobError::MalformedProof { .. } | JobError::ProofRequired) => {
            AppError::invalid("invalid_handover_code", e.to_string())
        }
        OrderError::Job(JobError::NotYourJob) => AppError::NotFound("order"),
        OrderError::Job(JobError::TooFarFromStop { .. } | JobError::PositionUnknown { .. }) => {
            AppError::conflict("not_at_stop", e.to_string())
        }
        OrderError::Job(other) => AppError::conflict("invalid_order_state", other.to_string()),
    }
}

fn promo_store_error(e: StoreError) -> AppError {
    match e {
        StoreError::PromoExhausted => AppError::invalid(
            PromoError::Exhausted.code(),
            PromoError::Exhausted.to_string(),
        ),
        StoreError::PromoUsedUp => {
            AppError::invalid(PromoError::UsedUp.code(), PromoError::UsedUp.to_string())
        }
        other => other.into(),
    }
}

/// A SHA-256 of what a placement request asks, to tell a retry from a reuse of its idempotency key.
pub fn request_hash(req: &CartRequest) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(req.merchant.to_string());
    h.update(format!("{:.7},{:.7}", req.dropoff.lat(), req.dropoff.lng()));
    h.update(&req.address);
    for l in &req.lines {
        h.update(l.item.to_string());
        for o in &l.options {
            h.update(o.to_string());
        }
        h.update(l.quantity.to_le_bytes());
        h.update(l.note.as_deref().unwrap_or(""));
        h.update([0]);
    }
    h.update(req.tip.minor.to_le_bytes());
    h.update(req.promo.as_deref().unwrap_or("").to_ascii_uppercase());
    h.update(
        req.scheduled_for
            .map_or(-1, Timestamp::millis)
            .to_le_bytes(),
    );
    // Only when named, so that requests from before orders were paid keep their hash.
    if let Some(method) = &req.payment_method {
        h.update(b"\0payment_method\0");
        h.update(method);
    }
    crate::console::hex(&h.finalize())
}

impl App {
    /// Who receives an order's events: its customer, every staff member of its merchant, its courier.
    pub(crate) async fn order_recipients(&self, order: &Order) -> Result<Vec<Recipient>, AppError> {
        let mut out = vec![Recipient {
            user: order.customer(),
            role: RecipientRole::Customer,
        }];
        for staff in self.store().merchant_staff(order.merchant()).await? {
            out.push(Recipient {
                user: staff.id,
                role: RecipientRole::MerchantStaff,
            });
        }
        if let Some(courier) = order.courier() {
            out.push(Recipient {
                user: courier,
                role: RecipientRole::Worker,
            });
        }
        Ok(out)
    }

    pub(crate) fn publish_all(&self, stored: Vec<StoredEvent>) {
        for e in stored {
            metrics::counter!("order_events_total", "type" => e.event.kind()).increment(1);
            self.bus().publish(BusMessage::Event(e));
        }
    }

    /// Prices `req` for `customer`: the merchant must take orders (at the slot, for a scheduled order),
    /// deliver to the point, and every line must be on its menu now; the promo code must apply.
    pub async fn checkout(&self, customer: &User, req: &CartRequest) -> Result<Checkout, AppError> {
        Ok(self.priced(customer, req).await?.0)
    }

    /// [`App::checkout`], with the merchant it read (placement needs its point).
    async fn priced(
        &self,
        customer: &User,
        req: &CartRequest,
    ) -> Result<(Checkout, Merchant), AppError> {
        if customer.role != Role::Rider {
            return Err(AppError::Forbidden("only customers order food"));
        }
        let now = self.clock().now();
        let merchant = self.merchant_or_404(req.merchant).await?;
        self.check_cart_shape(req, now)?;
        doorstep_places::Places::manhattan()
            .check_position(req.dropoff)
            .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        let at = req.scheduled_for.unwrap_or(now);
        let open = u32::try_from(self.store().open_orders_of_merchant(merchant.id).await?)
            .unwrap_or(u32::MAX);
        merchant
            .accepts_new_order(if req.scheduled_for.is_some() { 0 } else { open }, at)
            .map_err(not_accepting)?;
        if merchant.delivers_to(req.dropoff).is_none() {
            return Err(AppError::invalid(
                "outside_delivery_radius",
                "this merchant does not deliver to this address",
            ));
        }
        let menu = self.menu_of(merchant.id).await?.menu;
        let local = doorstep_geo::new_york_local(at.unix_secs());
        let mut lines = Vec::with_capacity(req.lines.len());
        let mut food = Money::zero(self.config().food_fees.currency);
        for l in &req.lines {
            let priced = match menu.price_line(l.item, &l.options, l.quantity, local) {
                Ok(p) => p,
                Err(CartError::UnknownItem(item)) => {
                    let owner = self.store().menu_item_merchant(item).await?;
                    return Err(cart_error(&menu.missing_item(item, owner)));
                }
                Err(e) => return Err(cart_error(&e)),
            };
            food = food
                .checked_add(priced.total)
                .map_err(|_| checkout_error(CheckoutError::Overflow))?;
            lines.push(OrderLine::from_priced(priced, l.note.clone()));
        }
        let promo = match &req.promo {
            Some(text) => {
                let code = PromoCode::parse(text)
                    .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
                let stored = self.store().promo(&code).await?.ok_or_else(|| {
                    AppError::invalid(PromoError::Unknown.code(), PromoError::Unknown.to_string())
                })?;
                let mine = self.store().promo_uses_of(&code, customer.id).await?;
                Some((stored, mine))
            }
            None => None,
        };
        let distance_m = self.street_distance_m(merchant.profile.point, req.dropoff);
        let quote = quote_checkout(
            &self.config().food_fees,
            &CheckoutInput {
                food,
                distance_m: crate::rides::to_u32(distance_m),
                surge: SurgeMillis::NONE,
                tip: req.tip,
                promo: promo.as_ref().map(|(p, mine)| PromoUse {
                    promo: &p.promo,
                    used_by_customer: *mine,
                    used_in_all: p.used,
                }),
                now,
            },
        )
        .map_err(checkout_error)?;
        let estimate = estimate(&merchant, distance_m, now);
        let delivered = estimate.delivered_at(now, now);
        let promised_at = match req.scheduled_for {
            Some(slot) if slot > delivered => slot,
            _ => delivered,
        };
        Ok((
            Checkout {
                lines,
                quote,
                estimate,
                promised_at,
            },
            merchant,
        ))
    }

    fn check_cart_shape(&self, req: &CartRequest, now: Timestamp) -> Result<(), AppError> {
        if req.lines.is_empty() || req.lines.len() > MAX_CART_LINES {
            return Err(AppError::invalid(
                "cart_empty",
                format!("a cart has 1 to {MAX_CART_LINES} lines"),
            ));
        }
        if req.lines.iter().any(|l| {
            l.note
                .as_ref()
                .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
        }) {
            return Err(AppError::invalid(
                "invalid_note",
                format!("a note is at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        let address = req.address.trim();
        if address.is_empty() || address.chars().count() > MAX_ADDRESS_CHARS {
            return Err(AppError::invalid(
                "invalid_address",
                format!("an address is 1 to {MAX_ADDRESS_CHARS} characters"),
            ));
        }
        if let Some(slot) = req.scheduled_for
            && (slot <= now || slot.secs_since(now) > MAX_SCHEDULE_AHEAD_S)
        {
            return Err(AppError::invalid(
                "invalid_schedule",
                "a scheduled delivery is later today or within 7 days",
            ));
        }
        Ok(())
    }

    /// Places `req` for `customer`, priced again on the server, with its total authorised on the
    /// customer's payment method first (`crate::order_payments`): no method is 422
    /// `payment_method_required`, a refusal 402 `card_declined` or `insufficient_funds`, and either places
    /// nothing (a retry with the same key tries again). Idempotent by `idempotency_key`: a retry returns
    /// the first order (`false`: not new); the same key with another request is refused (422
    /// `idempotency_key_reused`).
    pub async fn place_order(
        &self,
        customer: &User,
        req: &CartRequest,
        idempotency_key: Option<&str>,
    ) -> Result<(Order, bool), AppError> {
        let hash = request_hash(req);
        if let Some(key) = idempotency_key
            && let Some((existing, stored_hash)) = self
                .store()
                .order_by_idempotency_key(customer.id, key)
                .await?
        {
            return same_request(existing, &stored_hash, &hash);
        }
        let (checkout, merchant) = self.priced(customer, req).await?;
        let method = self
            .order_payment_method(customer, req.payment_method.as_deref())
            .await?;
        let now = self.clock().now();
        let (order, events) = Order::place(
            NewOrder {
                id: JobId::from_uuid(uuid::Uuid::now_v7()),
                customer: customer.id,
                merchant: merchant.id,
                pickup: merchant.profile.point,
                dropoff: req.dropoff,
                address: req.address.trim().to_owned(),
                lines: checkout.lines,
                quote: checkout.quote,
                handover: VerificationCode::random(CodeLength::FOUR, &mut rand::rng()),
                estimate: checkout.estimate,
                scheduled_for: req.scheduled_for,
                // Couriers are drivers' accounts whose capacity counts passenger seats; food takes
                // none, so a batch of orders fits any car (the dispatcher's bundle limit caps it).
                bags: 0,
            },
            now,
        )
        .map_err(order_error)?;
        let recipients = self.order_recipients(&order).await?;
        let events: Vec<_> = events
            .into_iter()
            .map(|e| (e, recipients.clone()))
            .collect();
        let auth = self.authorise_order(&method, &order).await?;
        let placed = match self
            .store()
            .place_order(&order, idempotency_key, &hash, &events, now)
            .await
            .map_err(promo_store_error)
        {
            Ok(placed) => placed,
            Err(e) => {
                self.release_unused(&method, &auth).await;
                return Err(e);
            }
        };
        match placed {
            Placed::New(order, stored) => {
                if let Err(e) = self.record_authorisation(&auth).await {
                    // The order stands; its hold is released and it is posted at delivery unpaid.
                    tracing::error!(error = %e, order_id = %order.id(), "recording the authorisation failed");
                    self.release_unused(&method, &auth).await;
                }
                self.publish_all(stored);
                Ok((order, true))
            }
            Placed::Existing(existing, stored_hash) => {
                self.release_unused(&method, &auth).await;
                same_request(existing, &stored_hash, &hash)
            }
        }
    }

    /// The order as `user` may see it (404 otherwise).
    pub async fn order_for(&self, user: &User, id: JobId) -> Result<Order, AppError> {
        let order = self
            .store()
            .order(id)
            .await?
            .ok_or(AppError::NotFound("order"))?;
        let allowed = match user.role {
            Role::Admin => true,
            Role::Rider => order.customer() == user.id,
            Role::Merchant => self.store().staff_merchant(user.id).await? == Some(order.merchant()),
            Role::Driver | Role::Provider => order.courier() == Some(user.id),
        };
        if allowed {
            Ok(order)
        } else {
            Err(AppError::NotFound("order"))
        }
    }

    /// The customer's latest orders.
    pub async fn my_orders(&self, customer: &User) -> Result<Vec<Order>, AppError> {
        Ok(self.store().orders_of_customer(customer.id, 50).await?)
    }

    /// The orders of the caller's merchant placed in the last 24 hours (its queue and today's sales).
    pub async fn merchant_orders(
        &self,
        staff: &User,
        merchant: MerchantId,
    ) -> Result<Vec<Order>, AppError> {
        self.own_merchant(staff, merchant).await?;
        let since = self.clock().now().plus_secs(-24 * 3600);
        Ok(self
            .store()
            .orders_of_merchant(merchant, since, 500)
            .await?)
    }

    /// Applies `step` to the order and saves it with its events and postings; `release_promo` when the
    /// step gives the promo code's use back.
    async fn change_order(
        &self,
        order: Order,
        step: impl FnMut(&mut Order) -> Result<Step, AppError>,
    ) -> Result<Order, AppError> {
        self.change_order_audited(order, None, step).await
    }

    /// [`App::change_order`] with an operator's audit entry written in the same transaction. A change
    /// that lost a race (the live dispatcher recorded an offer of the order meanwhile, which bumps its
    /// version) is made again on the order as it is then, a few times, before 409 `concurrent_update`.
    async fn change_order_audited(
        &self,
        mut order: Order,
        audit: Option<&doorstep_domain::audit::NewAuditEntry>,
        mut step: impl FnMut(&mut Order) -> Result<Step, AppError>,
    ) -> Result<Order, AppError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let id = order.id();
            let expected = order.version();
            let Step {
                events,
                postings,
                release_promo,
            } = step(&mut order)?;
            let recipients = self.order_recipients(&order).await?;
            let events: Vec<_> = events
                .into_iter()
                .map(|e| (e, recipients.clone()))
                .collect();
            let saved = self
                .store()
                .save_order_change(OrderChange {
                    order: &order,
                    expected_version: expected,
                    events: &events,
                    postings: &postings,
                    release_promo,
                    offers: &[],
                    audit,
                    at: self.clock().now(),
                })
                .await;
            match saved {
                Ok(stored) => {
                    self.publish_all(stored);
                    self.order_changed(&order);
                    self.settle_order(&order).await;
                    return Ok(order);
                }
                Err(StoreError::Conflict) if attempts < 4 => {
                    metrics::counter!("order_change_retries_total").increment(1);
                    order = self
                        .store()
                        .order(id)
                        .await?
                        .ok_or(AppError::NotFound("order"))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn staff_order(&self, staff: &User, id: JobId) -> Result<Order, AppError> {
        if staff.role != Role::Merchant {
            return Err(AppError::Forbidden("only the merchant's staff do this"));
        }
        self.order_for(staff, id).await
    }

    /// The merchant accepts with a prep time in minutes (busy mode's minutes are added).
    pub async fn accept_order(
        &self,
        staff: &User,
        id: JobId,
        prep_minutes: u32,
    ) -> Result<Order, AppError> {
        let order = self.staff_order(staff, id).await?;
        let merchant = self.merchant_or_404(order.merchant()).await?;
        let now = self.clock().now();
        let prep_s = prep_minutes
            .saturating_add(merchant.busy_minutes(now))
            .saturating_mul(60);
        self.change_order(order, |o| {
            Ok(Step::events(o.accept(prep_s, now).map_err(order_error)?))
        })
        .await
    }

    /// The kitchen starts on the order.
    pub async fn order_preparing(&self, staff: &User, id: JobId) -> Result<Order, AppError> {
        let order = self.staff_order(staff, id).await?;
        self.change_order(order, |o| {
            Ok(Step::events(o.start_preparing().map_err(order_error)?))
        })
        .await
    }

    /// The food is ready for the courier.
    pub async fn order_ready(&self, staff: &User, id: JobId) -> Result<Order, AppError> {
        let order = self.staff_order(staff, id).await?;
        let now = self.clock().now();
        self.change_order(order, |o| {
            Ok(Step::events(o.mark_ready(now).map_err(order_error)?))
        })
        .await
    }

    /// The merchant refuses the order: nothing is charged, a promo use comes back.
    pub async fn reject_order(
        &self,
        staff: &User,
        id: JobId,
        reason: RejectReason,
    ) -> Result<Order, AppError> {
        let order = self.staff_order(staff, id).await?;
        let now = self.clock().now();
        self.change_order(order, |o| {
            Ok(Step {
                events: o.reject(reason, now).map_err(order_error)?,
                postings: Vec::new(),
                release_promo: true,
            })
        })
        .await
    }

    /// The customer cancels: free before the merchant accepts (a promo use comes back), then the late
    /// fee, paid to the merchant; refused once the courier has the food (409 `invalid_order_state`).
    pub async fn cancel_order(&self, customer: &User, id: JobId) -> Result<Order, AppError> {
        let order = self.order_for(customer, id).await?;
        if order.customer() != customer.id {
            return Err(AppError::NotFound("order"));
        }
        let fees = self.config().food_fees;
        let now = self.clock().now();
        self.change_order(order, |o| {
            let early = o.state() == OrderState::Placed;
            let events = o
                .cancel_by_customer(customer.id, &fees, now)
                .map_err(order_error)?;
            let postings = match o.job().cancel_fee {
                Some(fee) => vec![
                    order_cancellation_fee_posting(
                        o.id(),
                        o.customer(),
                        o.merchant(),
                        fee,
                        fees.merchant_commission_bps,
                        now,
                    )
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                ],
                None => Vec::new(),
            };
            Ok(Step {
                events,
                postings,
                release_promo: early,
            })
        })
        .await
    }

    /// An operator gives an accepted order that waits for a courier to `courier` (a driver account,
    /// approved, not suspended). Audited and idempotent under the operator's key.
    pub async fn admin_assign_order(
        &self,
        act: crate::console::Act<'_>,
        id: JobId,
        courier: doorstep_domain::UserId,
    ) -> Result<Order, AppError> {
        use doorstep_domain::audit::AuditAction;
        let entry = self.audit_entry(
            &act,
            AuditAction::AssignOrder,
            id.as_uuid(),
            serde_json::json!({"courier": courier.to_string()}),
        )?;
        if let Some(done) = self.store().audit_by_key(act.admin.id, act.key).await? {
            if done.entry.action != AuditAction::AssignOrder || done.entry.target != id.as_uuid() {
                return Err(AppError::invalid(
                    "idempotency_key_reused",
                    "this idempotency key was used for another action",
                ));
            }
            return self.order_for(act.admin, id).await;
        }
        let order = self.order_for(act.admin, id).await?;
        match self.store().user_by_id(courier).await? {
            Some(u) if u.role == Role::Driver => {}
            _ => {
                return Err(AppError::invalid(
                    "invalid_courier",
                    "the courier is not a driver's account",
                ));
            }
        }
        // Only a courier who may work now: approved, not suspended, documents in date.
        match self.check_may_go_online(courier).await {
            Ok(()) => {}
            Err(AppError::Suspended) => {
                return Err(AppError::conflict(
                    "courier_suspended",
                    "the courier's account is suspended",
                ));
            }
            Err(AppError::Conflict {
                code: "driver_not_approved",
                ..
            }) => {
                return Err(AppError::conflict(
                    "courier_not_approved",
                    "the courier is not approved to work",
                ));
            }
            Err(e) => return Err(e),
        }
        let now = self.clock().now();
        let position = self.believed_position(courier);
        let to_pickup_s = position.map_or(TO_PICKUP_ESTIMATE_S, |p| {
            let m = self.street_distance_m(p, order.job().stops[0].place);
            crate::rides::to_u32(m / COURIER_SPEED_M_S)
        });
        let result = self
            .change_order_audited(order, Some(&entry), |o| {
                Ok(Step::events(
                    o.assign(courier, to_pickup_s, now).map_err(order_error)?,
                ))
            })
            .await;
        match result {
            // A concurrent retry of the same request got there first (its key is now used).
            Err(AppError::Internal(_))
                if self
                    .store()
                    .audit_by_key(act.admin.id, act.key)
                    .await?
                    .is_some() =>
            {
                self.order_for(act.admin, id).await
            }
            other => other,
        }
    }

    /// The order's courier is at the restaurant.
    pub async fn courier_at_restaurant(
        &self,
        courier: &User,
        id: JobId,
    ) -> Result<Order, AppError> {
        let order = self.order_for(courier, id).await?;
        let (position, now) = (self.believed_position(courier.id), self.clock().now());
        let radius = self.config().stop_radii.pickup_m;
        self.change_order(order, |o| {
            Ok(Step::events(
                o.arrive_at_restaurant(courier.id, position, radius, now)
                    .map_err(order_error)?,
            ))
        })
        .await
    }

    /// The order's courier has the food.
    pub async fn courier_picked_up(&self, courier: &User, id: JobId) -> Result<Order, AppError> {
        let order = self.order_for(courier, id).await?;
        let (position, now) = (self.believed_position(courier.id), self.clock().now());
        let radius = self.config().stop_radii.pickup_m;
        self.change_order(order, |o| {
            Ok(Step::events(
                o.pick_up(courier.id, position, radius, now)
                    .map_err(order_error)?,
            ))
        })
        .await
    }

    /// The courier hands the order over with the customer's code. A wrong code is counted and answered
    /// 422 `wrong_handover_code` (with the attempts left); the right one delivers it and posts the order
    /// (the customer pays the checkout total; merchant, courier and platform get their shares) and the
    /// tip, in the same transaction.
    pub async fn courier_delivered(
        &self,
        courier: &User,
        id: JobId,
        code: &str,
    ) -> Result<Result<Order, u8>, AppError> {
        let order = self.order_for(courier, id).await?;
        let (position, now) = (self.believed_position(courier.id), self.clock().now());
        let radius = self.config().stop_radii.dropoff_m;
        let max = self.config().pin_max_attempts;
        let fees = self.config().food_fees;
        let mut wrong: Option<u8> = None;
        let order = self
            .change_order(order, |o| {
                match o
                    .deliver(courier.id, Some(code), max, position, radius, now)
                    .map_err(order_error)?
                {
                    Handover::Delivered(events) => {
                        let pay = fees.courier_pay(o.record.quote.distance_m);
                        let charge = o.record.quote.charge(&fees, pay);
                        let mut postings = vec![
                            delivery_order_posting(
                                o.id(),
                                o.customer(),
                                o.merchant(),
                                courier.id,
                                &charge,
                                now,
                            )
                            .map_err(|e| AppError::Internal(e.to_string()))?,
                        ];
                        if o.record.quote.tip.minor > 0 {
                            postings.push(
                                tip_posting(
                                    o.id(),
                                    o.customer(),
                                    courier.id,
                                    o.record.quote.tip,
                                    PostingKey::once(PostingKind::Tip),
                                    now,
                                )
                                .map_err(|e| AppError::Internal(e.to_string()))?,
                            );
                        }
                        Ok(Step {
                            events,
                            postings,
                            release_promo: false,
                        })
                    }
                    Handover::WrongCode {
                        attempts_left,
                        events,
                    } => {
                        wrong = Some(attempts_left);
                        Ok(Step::events(events))
                    }
                }
            })
            .await?;
        Ok(match wrong {
            Some(left) => Err(left),
            None => Ok(order),
        })
    }

    /// The courier cannot deliver (the customer cannot be reached, or the restaurant had nothing).
    pub async fn courier_cannot_deliver(
        &self,
        courier: &User,
        id: JobId,
        reason: UnfulfilledReason,
    ) -> Result<Order, AppError> {
        if reason.is_dispatch_reason() {
            return Err(AppError::invalid(
                "invalid_reason",
                "a courier's reason is customer_unreachable or pickup_unavailable",
            ));
        }
        let order = self.order_for(courier, id).await?;
        let now = self.clock().now();
        self.change_order(order, |o| {
            Ok(Step::events(
                o.undeliverable_by_courier(courier.id, reason, now)
                    .map_err(order_error)?,
            ))
        })
        .await
    }

    /// The courier's last believed position, if any.
    fn believed_position(&self, courier: doorstep_domain::UserId) -> Option<LatLng> {
        self.with_fleet(|f| f.driver(courier).and_then(|d| d.position()))
    }
}

/// What one step of an order records.
pub(crate) struct Step {
    pub(crate) events: Vec<OrderEvent>,
    pub(crate) postings: Vec<doorstep_domain::ledger::Posting>,
    pub(crate) release_promo: bool,
}

impl Step {
    pub(crate) fn events(events: Vec<OrderEvent>) -> Step {
        Step {
            events,
            postings: Vec::new(),
            release_promo: false,
        }
    }
}

/// The stored order of a repeated idempotency key, if the request is the same one.
fn same_request(existing: Order, stored: &str, new: &str) -> Result<(Order, bool), AppError> {
    if stored == new {
        Ok((existing, false))
    } else {
        Err(AppError::invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was used for another order",
        ))
    }
}

/// The estimate of an order from `merchant` over `distance_m` placed at `now`.
fn estimate(merchant: &Merchant, distance_m: f64, now: Timestamp) -> DeliveryEstimate {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "seconds of a drive within the city"
    )]
    let drive_s = (distance_m / COURIER_SPEED_M_S).ceil().clamp(0.0, 86_400.0) as u32;
    DeliveryEstimate {
        prep_s: merchant.prep_minutes(now).saturating_mul(60),
        to_pickup_s: TO_PICKUP_ESTIMATE_S,
        drive_s,
        pickup_service_s: SERVICE_S,
        dropoff_service_s: SERVICE_S,
    }
}

/// What a customer browsing sees of an order from a merchant before building a cart: the delivery fee
/// and how long delivery takes, by the same street distance and estimate that checkout uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryOutlook {
    /// The delivery fee to the point.
    pub delivery_fee: Money,
    /// Seconds from placing an order now to its delivery, by the checkout's estimate.
    pub estimate_s: i64,
}

impl App {
    /// The delivery fee and the delivery time of an order from `merchant` to `to` placed at `now` (what
    /// the listing shows; the checkout's itemised quote is the one that counts).
    pub fn delivery_outlook(
        &self,
        merchant: &Merchant,
        to: LatLng,
        now: Timestamp,
    ) -> DeliveryOutlook {
        let distance_m = self.street_distance_m(merchant.profile.point, to);
        DeliveryOutlook {
            delivery_fee: self
                .config()
                .food_fees
                .delivery_fee(crate::rides::to_u32(distance_m)),
            estimate_s: estimate(merchant, distance_m, now)
                .delivered_at(now, now)
                .secs_since(now),
        }
    }
}

/// What an operator asks for a new promo code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoInput {
    /// The code as typed.
    pub code: String,
    /// A percentage in basis points (with an optional cap) or an amount off.
    pub value: doorstep_domain::food::promo::PromoValue,
    /// The smallest food subtotal it applies to.
    pub min_order: Money,
    /// Orders one customer may use it on.
    pub per_user_limit: u32,
    /// Orders that may use it in all.
    pub total_limit: u32,
    /// When it stops applying.
    pub expires_at: Timestamp,
}

impl App {
    /// An operator creates a promo code (audited, idempotent under the operator's key). Refused: a
    /// malformed code or invalid rules (422 `promo_malformed`, `promo_invalid`), an expiry in the past
    /// (422 `promo_expired`), a code that exists (409 `promo_taken`).
    pub async fn admin_create_promo(
        &self,
        act: crate::console::Act<'_>,
        input: &PromoInput,
    ) -> Result<doorstep_store::StoredPromo, AppError> {
        use doorstep_domain::audit::AuditAction;
        use doorstep_domain::food::promo::Promo;
        let id = uuid::Uuid::now_v7();
        let entry = self.audit_entry(
            &act,
            AuditAction::CreatePromo,
            id,
            serde_json::json!({"code": input.code}),
        )?;
        if let Some(done) = self.store().audit_by_key(act.admin.id, act.key).await? {
            if done.entry.action != AuditAction::CreatePromo {
                return Err(AppError::invalid(
                    "idempotency_key_reused",
                    "this idempotency key was used for another action",
                ));
            }
            let code = PromoCode::parse(&input.code)
                .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
            return self
                .store()
                .promo(&code)
                .await?
                .ok_or_else(|| AppError::Internal("an audited promo is missing".into()));
        }
        let promo = Promo {
            code: PromoCode::parse(&input.code)
                .map_err(|e| AppError::invalid(e.code(), e.to_string()))?,
            value: input.value,
            min_order: input.min_order,
            per_user_limit: input.per_user_limit,
            total_limit: input.total_limit,
            expires_at: input.expires_at,
        };
        promo
            .validate()
            .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        let now = self.clock().now();
        if promo.expires_at <= now {
            return Err(AppError::invalid(
                PromoError::Expired.code(),
                "the expiry is in the past",
            ));
        }
        match self.store().create_promo(id, &promo, &entry, now).await {
            Ok(()) => {}
            // A concurrent retry of the same request got there first.
            Err(StoreError::AuditKeyUsed) => {
                return self.store().promo(&promo.code).await?.ok_or_else(|| {
                    AppError::invalid(
                        "idempotency_key_reused",
                        "this idempotency key was used for another action",
                    )
                });
            }
            Err(StoreError::PromoTaken) => {
                return Err(AppError::conflict(
                    "promo_taken",
                    "a promo code with this code exists",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.store()
            .promo(&promo.code)
            .await?
            .ok_or_else(|| AppError::Internal("a promo just created is missing".into()))
    }

    /// Every promo code with its uses (operators).
    pub async fn admin_promos(
        &self,
        admin: &User,
    ) -> Result<Vec<doorstep_store::StoredPromo>, AppError> {
        if admin.role != Role::Admin {
            return Err(AppError::Forbidden("only admins can do this"));
        }
        Ok(self.store().promos().await?)
    }
}
