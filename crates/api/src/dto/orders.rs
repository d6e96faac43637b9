//! Wire types of food orders: the cart a customer sends (checkout and placement take the same body), the
//! itemised checkout, and an order as its customer, its merchant's staff, its courier and operators see it.
//! Money is integer minor units; times are RFC 3339.

use crate::dto::{LatLngDto, MoneyDto, parse_rfc3339, rfc3339};
use crate::error::ApiError;
use doorstep_app::orders::{CartLine, CartRequest, Checkout, MAX_CART_LINES};
use doorstep_domain::food::checkout::CheckoutQuote;
use doorstep_domain::food::order::{Order, OrderLine};
use doorstep_domain::{Currency, MenuItemId, MenuOptionId, MerchantId, Money, Role, User};
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One line of a cart.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CartLineBody {
    /// The menu item.
    pub item_id: uuid::Uuid,
    /// The options chosen (each group's minimum and maximum are checked).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub option_ids: Vec<uuid::Uuid>,
    /// How many, 1 to 99.
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: u32,
    /// A note for the kitchen, at most 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// A cart: what checkout prices and placement orders.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CartBody {
    /// The merchant.
    pub merchant_id: uuid::Uuid,
    /// Where to deliver (on land in the service area, within the merchant's radius).
    pub dropoff: LatLngDto,
    /// The address as the customer gives it, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    /// The lines, 1 to 50.
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<CartLineBody>,
    /// The tip for the courier, minor units, 0 to 10,000 (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub tip: i64,
    /// A promo code.
    #[serde(default)]
    #[schema(max_length = 32)]
    pub promo_code: Option<String>,
    /// A later delivery slot (RFC 3339), within 7 days; absent: as soon as possible.
    #[serde(default)]
    pub scheduled_for: Option<String>,
    /// How the order is paid (placement only; checkout ignores it): `wallet` or the id of a stored card
    /// from `GET /v1/me/payment-methods`; absent: the customer's newest card. Food is not paid in cash.
    /// The total is authorised on it when the order is placed.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub payment_method_id: Option<String>,
}

impl CartBody {
    /// The request in the domain's types, in `currency`.
    pub fn into_request(self, currency: Currency) -> Result<CartRequest, ApiError> {
        if self.lines.len() > MAX_CART_LINES {
            return Err(ApiError::unprocessable(
                "cart_empty",
                format!("a cart has 1 to {MAX_CART_LINES} lines"),
            ));
        }
        let scheduled_for = self
            .scheduled_for
            .as_deref()
            .map(parse_rfc3339)
            .transpose()?;
        Ok(CartRequest {
            merchant: MerchantId::from_uuid(self.merchant_id),
            dropoff: LatLng::try_from(self.dropoff)?,
            address: self.address,
            lines: self
                .lines
                .into_iter()
                .map(|l| CartLine {
                    item: MenuItemId::from_uuid(l.item_id),
                    options: l
                        .option_ids
                        .into_iter()
                        .map(MenuOptionId::from_uuid)
                        .collect(),
                    quantity: l.quantity,
                    note: l
                        .note
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty()),
                })
                .collect(),
            tip: Money::new(self.tip, currency),
            promo: self.promo_code,
            scheduled_for,
            payment_method: self.payment_method_id,
        })
    }
}

/// An option chosen on a line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChosenOptionView {
    /// The option.
    pub option_id: String,
    /// Its name when ordered.
    pub name: String,
    /// What it added to the unit price.
    pub price_delta: MoneyDto,
}

/// A priced line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderLineView {
    /// The menu item.
    pub item_id: String,
    /// Its name when ordered.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// One item with its options.
    pub unit_price: MoneyDto,
    /// The options chosen.
    pub options: Vec<ChosenOptionView>,
    /// The note for the kitchen.
    pub note: Option<String>,
    /// `unit_price × quantity`.
    pub total: MoneyDto,
}

impl From<&OrderLine> for OrderLineView {
    fn from(l: &OrderLine) -> Self {
        OrderLineView {
            item_id: l.item.to_string(),
            name: l.name.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price.into(),
            options: l
                .options
                .iter()
                .map(|o| ChosenOptionView {
                    option_id: o.id.to_string(),
                    name: o.name.clone(),
                    price_delta: o.price_delta.into(),
                })
                .collect(),
            note: l.note.clone(),
            total: l.total.into(),
        }
    }
}

/// The price of an order, itemised.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriceView {
    /// The food: the sum of the lines.
    pub subtotal: MoneyDto,
    /// The delivery fee, by distance.
    pub delivery_fee: MoneyDto,
    /// The service fee.
    pub service_fee: MoneyDto,
    /// The fee on an order under the minimum (zero otherwise).
    pub small_order_fee: MoneyDto,
    /// The busy-time surcharge (zero when calm), capped.
    pub busy_fee: MoneyDto,
    /// The promo code's discount (a positive amount taken off; zero without a code).
    pub discount: MoneyDto,
    /// The promo code applied.
    pub promo_code: Option<String>,
    /// The tip for the courier.
    pub tip: MoneyDto,
    /// What the customer pays: subtotal + fees − discount + tip.
    pub total: MoneyDto,
    /// The distance the delivery fee is for, metres.
    pub distance_m: u32,
}

impl From<&CheckoutQuote> for PriceView {
    fn from(q: &CheckoutQuote) -> Self {
        PriceView {
            subtotal: q.food.into(),
            delivery_fee: q.delivery_fee.into(),
            service_fee: q.service_fee.into(),
            small_order_fee: q.small_order_fee.into(),
            busy_fee: q.busy_fee.into(),
            discount: q.discount.into(),
            promo_code: q.promo.as_ref().map(|c| c.as_str().to_owned()),
            tip: q.tip.into(),
            total: q.total.into(),
            distance_m: q.distance_m,
        }
    }
}

/// A priced cart, before placing it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckoutView {
    /// The priced lines.
    pub lines: Vec<OrderLineView>,
    /// The price, itemised.
    pub price: PriceView,
    /// The delivery time promised if placed now (RFC 3339).
    pub promised_at: String,
}

impl From<&Checkout> for CheckoutView {
    fn from(c: &Checkout) -> Self {
        CheckoutView {
            lines: c.lines.iter().map(OrderLineView::from).collect(),
            price: PriceView::from(&c.quote),
            promised_at: rfc3339(c.promised_at),
        }
    }
}

/// A food order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    /// The order (its delivery job's id).
    pub id: String,
    /// `placed`, `accepted`, `preparing`, `ready`, `picked_up`, `delivered`, `rejected`, `cancelled` or
    /// `undeliverable`.
    pub state: String,
    /// The merchant.
    pub merchant_id: String,
    /// The customer.
    pub customer_id: String,
    /// The courier, once one took it.
    pub courier_id: Option<String>,
    /// The delivery address.
    pub address: String,
    /// Where it goes.
    pub dropoff: LatLngDto,
    /// Where it is collected.
    pub pickup: LatLngDto,
    /// The lines.
    pub lines: Vec<OrderLineView>,
    /// The price, itemised.
    pub price: PriceView,
    /// When it was placed (RFC 3339).
    pub placed_at: String,
    /// The slot chosen, for a scheduled order (RFC 3339).
    pub scheduled_for: Option<String>,
    /// When the kitchen accepted it.
    pub accepted_at: Option<String>,
    /// When the food was ready (or should be, before that).
    pub ready_at: String,
    /// The delivery time promised at checkout.
    pub promised_at: String,
    /// The live estimate of the delivery time.
    pub eta: String,
    /// Why the merchant refused it.
    pub reject_reason: Option<String>,
    /// Why it could not be delivered.
    pub undeliverable_reason: Option<String>,
    /// The cancellation fee charged, if any.
    pub cancel_fee: Option<MoneyDto>,
    /// What its customer would pay to cancel it now: zero before the kitchen accepted it, then the late
    /// fee; null once it cannot be cancelled. Only in `GET /v1/orders/{order_id}` to its customer.
    pub cancel_fee_now: Option<MoneyDto>,
    /// The hand-over code the customer tells the courier at the door (only to the customer).
    pub handover_code: Option<String>,
    /// Who is coming and where they are, while a courier has it (on `GET /v1/orders/{order_id}`).
    pub courier: Option<CourierCard>,
    /// How it is paid: the method, what was authorised at placement and what was captured (on
    /// `GET /v1/orders/{order_id}`, to its customer and operators; absent elsewhere and for orders
    /// placed before orders were paid through a method).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<crate::dto::RidePaymentDto>,
    /// Its version: it grows with every change.
    pub version: i64,
}

/// The courier of an order as the order's parties see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourierCard {
    /// The courier's name.
    pub name: String,
    /// Their last reported position, if known.
    pub position: Option<LatLngDto>,
    /// When they were there (RFC 3339).
    pub seen_at: Option<String>,
}

impl OrderView {
    /// The order as `viewer` sees it (only its customer sees the hand-over code).
    pub fn of(order: &Order, viewer: &User) -> OrderView {
        let r = &order.record;
        let job = order.job();
        let point = |p: LatLng| LatLngDto {
            lat: p.lat(),
            lng: p.lng(),
        };
        OrderView {
            id: order.id().to_string(),
            state: order.state().as_str().to_owned(),
            merchant_id: order.merchant().to_string(),
            customer_id: order.customer().to_string(),
            courier_id: order.courier().map(|c| c.to_string()),
            address: r.address.clone(),
            dropoff: point(job.stops[1].place),
            pickup: point(job.stops[0].place),
            lines: r.lines.iter().map(OrderLineView::from).collect(),
            price: PriceView::from(&r.quote),
            placed_at: rfc3339(r.placed_at),
            scheduled_for: r.scheduled_for.map(rfc3339),
            accepted_at: r.accepted_at.map(rfc3339),
            ready_at: rfc3339(r.ready_at.unwrap_or(order.ready_estimate())),
            promised_at: rfc3339(r.promised_at),
            eta: rfc3339(r.eta),
            reject_reason: r.reject_reason.map(|x| x.as_str().to_owned()),
            undeliverable_reason: job.unfulfilled_reason.map(|x| x.as_str().to_owned()),
            cancel_fee: job.cancel_fee.map(MoneyDto::from),
            cancel_fee_now: None,
            handover_code: (viewer.role == Role::Rider && viewer.id == order.customer())
                .then(|| order.handover_code().map(str::to_owned))
                .flatten(),
            courier: None,
            payment: None,
            version: order.version(),
        }
    }

    /// The view with who is coming and where they are.
    pub fn with_courier(
        mut self,
        card: Option<doorstep_app::courier::CourierOnTheWay>,
    ) -> OrderView {
        self.courier = card.map(|c| CourierCard {
            name: c.name,
            position: c.position.map(|(p, _)| LatLngDto {
                lat: p.lat(),
                lng: p.lng(),
            }),
            seen_at: c.position.map(|(_, at)| rfc3339(at)),
        });
        self
    }
}

/// Orders, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderList {
    /// The orders.
    pub orders: Vec<OrderView>,
}

/// `POST /v1/orders/{order_id}/accept`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AcceptOrderBody {
    /// Minutes until the food is ready, 1 to 120 (busy mode's minutes are added).
    #[schema(minimum = 1, maximum = 120)]
    pub prep_minutes: u32,
}

/// `POST /v1/orders/{order_id}/reject`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RejectOrderBody {
    /// Why: `item_unavailable`, `too_busy`, `closing` or `other`.
    #[schema(pattern = "^(item_unavailable|too_busy|closing|other)$")]
    pub reason: String,
}

/// `POST /v1/admin/promos`: a new promo code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreatePromoBody {
    /// The code: 3 to 32 letters, digits, `-` or `_` (kept upper case).
    #[schema(pattern = "^[A-Za-z0-9_-]{3,32}$")]
    pub code: String,
    /// A share of the food in basis points, 1 to 10,000 (give this or `amount_off`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000)]
    pub percent_bps: Option<i64>,
    /// The largest discount of a percentage, minor units.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_off: Option<i64>,
    /// An amount off the food, minor units (give this or `percent_bps`).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub amount_off: Option<i64>,
    /// The smallest food subtotal it applies to, minor units.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub min_order: i64,
    /// Orders one customer may use it on (at least 1, at most `total_limit`).
    #[schema(minimum = 1)]
    pub per_user_limit: u32,
    /// Orders that may use it in all.
    #[schema(minimum = 1)]
    pub total_limit: u32,
    /// When it stops applying (RFC 3339, in the future).
    pub expires_at: String,
    /// Why (the audit log's reason).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
}

/// A promo code with its uses.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromoView {
    /// Its id (what the audit log names).
    pub id: String,
    /// The code.
    pub code: String,
    /// `percent` or `amount`.
    pub kind: String,
    /// The share, basis points (percent codes).
    pub percent_bps: Option<i64>,
    /// The cap of a percentage, if any.
    pub max_off: Option<MoneyDto>,
    /// The amount off (amount codes).
    pub amount_off: Option<MoneyDto>,
    /// The smallest food subtotal it applies to.
    pub min_order: MoneyDto,
    /// Orders one customer may use it on.
    pub per_user_limit: u32,
    /// Orders that may use it in all.
    pub total_limit: u32,
    /// Orders that used it.
    pub used: u32,
    /// When it stops applying (RFC 3339).
    pub expires_at: String,
}

impl From<&doorstep_store::StoredPromo> for PromoView {
    fn from(p: &doorstep_store::StoredPromo) -> Self {
        use doorstep_domain::food::promo::PromoValue;
        let (kind, percent_bps, max_off, amount_off) = match p.promo.value {
            PromoValue::Percent { bps, max_off } => {
                ("percent", Some(bps), max_off.map(MoneyDto::from), None)
            }
            PromoValue::Amount { off } => ("amount", None, None, Some(MoneyDto::from(off))),
        };
        PromoView {
            id: p.id.to_string(),
            code: p.promo.code.as_str().to_owned(),
            kind: kind.to_owned(),
            percent_bps,
            max_off,
            amount_off,
            min_order: p.promo.min_order.into(),
            per_user_limit: p.promo.per_user_limit,
            total_limit: p.promo.total_limit,
            used: p.used,
            expires_at: rfc3339(p.promo.expires_at),
        }
    }
}

/// Promo codes, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromoList {
    /// The codes.
    pub promos: Vec<PromoView>,
}

/// `POST /v1/admin/orders/{order_id}/assign`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AssignOrderBody {
    /// The courier (a driver's account).
    pub courier_id: uuid::Uuid,
    /// Why (the audit log's reason).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
}

/// `POST /v1/admin/orders/{order_id}/refund`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RefundOrderBody {
    /// Why (the audit log's reason).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
    /// How much to give back, minor units (cents): at most what the customer paid less earlier refunds.
    #[schema(minimum = 1)]
    pub amount: i64,
    /// Charge the refund back to the merchant (debited from what the platform owes it, at most what it
    /// was owed for the order); absent or false: the platform bears it.
    #[serde(default)]
    pub charge_merchant: bool,
}

/// `POST /v1/orders/{order_id}/delivered`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct HandoverBody {
    /// The hand-over code the customer tells the courier (4 digits).
    #[schema(pattern = "^[0-9]{4}$")]
    pub code: String,
}

/// `POST /v1/orders/{order_id}/undeliverable`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct UndeliverableBody {
    /// Why: `customer_unreachable` or `pickup_unavailable`.
    #[schema(pattern = "^(customer_unreachable|pickup_unavailable)$")]
    pub reason: String,
}

/// One order of a delivery offer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferedOrder {
    /// The order.
    pub order_id: String,
    /// Its merchant.
    pub merchant_id: String,
    /// The merchant's name.
    pub merchant_name: String,
    /// Where to collect it.
    pub pickup: LatLngDto,
    /// Where to take it.
    pub dropoff: LatLngDto,
    /// When the food should be ready (RFC 3339).
    pub ready_at: String,
}

/// One stop of a delivery offer, in visiting order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferStop {
    /// The order it serves.
    pub order_id: String,
    /// `pickup` or `dropoff`.
    pub kind: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
}

/// An offer of one order, or a batch of orders, to a courier: take it or leave it whole.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryOfferDto {
    /// Identity; accept or decline with it.
    pub offer_id: String,
    /// Answer before this instant (RFC 3339).
    pub expires_at: String,
    /// Estimated seconds to the first restaurant.
    pub eta_s: u32,
    /// Estimated distance to the first restaurant, metres.
    pub distance_m: u32,
    /// What the courier earns for all of its orders (tips come on top).
    pub pay: MoneyDto,
    /// The orders.
    pub orders: Vec<OfferedOrder>,
    /// The stops in visiting order.
    pub stops: Vec<OfferStop>,
}

impl DeliveryOfferDto {
    /// The view of `v` with the names of its merchants.
    pub fn new(v: &doorstep_app::courier::DeliveryOfferView) -> DeliveryOfferDto {
        let point = |p: LatLng| LatLngDto {
            lat: p.lat(),
            lng: p.lng(),
        };
        DeliveryOfferDto {
            offer_id: v.offer.id.to_string(),
            expires_at: rfc3339(v.offer.expires_at),
            eta_s: v.offer.pickup_eta_s,
            distance_m: v.offer.pickup_distance_m,
            pay: v.offer.fare.into(),
            orders: v
                .orders
                .iter()
                .map(|o| OfferedOrder {
                    order_id: o.id().to_string(),
                    merchant_id: o.merchant().to_string(),
                    merchant_name: v.merchant_name(o.merchant()).to_owned(),
                    pickup: point(o.job().stops[0].place),
                    dropoff: point(o.job().stops[1].place),
                    ready_at: rfc3339(o.ready_estimate()),
                })
                .collect(),
            stops: v
                .stops
                .iter()
                .filter_map(|(job, pickup)| {
                    let o = v.orders.iter().find(|o| o.id() == *job)?;
                    let p = o.job().stops[if *pickup { 0 } else { 1 }].place;
                    Some(OfferStop {
                        order_id: job.to_string(),
                        kind: if *pickup { "pickup" } else { "dropoff" }.to_owned(),
                        lat: p.lat(),
                        lng: p.lng(),
                    })
                })
                .collect(),
        }
    }
}

/// A courier's pending delivery offers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryOfferList {
    /// The offers, oldest first.
    pub offers: Vec<DeliveryOfferDto>,
}

/// The answer to a declined delivery offer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryOfferAnswer {
    /// The offer.
    pub offer_id: String,
    /// Its state now: `declined`.
    pub state: String,
}
