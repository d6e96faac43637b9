//! The checkout quote of a food order, itemised: food subtotal, delivery fee by distance, service fee,
//! small-order fee, busy-time surcharge (capped), promo discount and tip. [`quote_checkout`] is the one
//! computation: the customer's checkout screen shows it, and placement recomputes it from the same inputs
//! and keeps it on the order, so what is charged at delivery is what was shown. Also here: what the
//! courier earns for an order ([`FeeSchedule::courier_pay`]) and what a late cancellation costs.

use crate::food::promo::{Promo, PromoCode, PromoError};
use crate::ledger::DeliveryCharge;
use crate::money::{Currency, Money};
use crate::pricing::SurgeMillis;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The platform's fees and pay for food orders, in minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    /// The currency of every amount.
    pub currency: Currency,
    /// The delivery fee's base.
    pub delivery_base: i64,
    /// The delivery fee per km from the restaurant to the customer (charged per started 100 m).
    pub delivery_per_km: i64,
    /// The largest delivery fee.
    pub delivery_max: i64,
    /// The service fee, basis points of the food.
    pub service_fee_bps: i64,
    /// The smallest service fee.
    pub service_fee_min: i64,
    /// The largest service fee.
    pub service_fee_max: i64,
    /// Orders whose food is below this pay [`FeeSchedule::small_order_fee`].
    pub small_order_below: i64,
    /// The small-order fee.
    pub small_order_fee: i64,
    /// The largest busy-time surcharge (the delivery fee times the surge above ×1).
    pub busy_fee_cap: i64,
    /// The largest tip.
    pub max_tip: i64,
    /// What a courier earns per order.
    pub courier_per_order: i64,
    /// What a courier earns per km from the restaurant to the customer (per started 100 m).
    pub courier_per_km: i64,
    /// The platform's commission on the food, basis points.
    pub merchant_commission_bps: i64,
    /// What a cancellation after the merchant accepted costs, basis points of the food (the kitchen has
    /// started); before acceptance it is free.
    pub late_cancel_bps: i64,
}

impl Default for FeeSchedule {
    /// US dollars: $1.99 + $0.60/km up to $7.99 delivery; 10 % service fee between $0.99 and $4.99;
    /// $2.00 under $10.00; busy surcharge at most $3.00; tips up to $100; couriers earn $3.00 + $0.75/km;
    /// 15 % commission; half the food after acceptance.
    fn default() -> FeeSchedule {
        FeeSchedule {
            currency: Currency::USD,
            delivery_base: 199,
            delivery_per_km: 60,
            delivery_max: 799,
            service_fee_bps: 1000,
            service_fee_min: 99,
            service_fee_max: 499,
            small_order_below: 1000,
            small_order_fee: 200,
            busy_fee_cap: 300,
            max_tip: 10_000,
            courier_per_order: 300,
            courier_per_km: 75,
            merchant_commission_bps: 1500,
            late_cancel_bps: 5000,
        }
    }
}

/// Hundreds of metres, rounded up (what distance-based amounts are charged per).
fn started_hectometres(distance_m: u32) -> i64 {
    i64::from(distance_m.div_ceil(100))
}

/// `per_km` for `distance_m`, charged per started 100 m, rounded half up to a minor unit.
fn per_distance(per_km: i64, distance_m: u32) -> i64 {
    (per_km.saturating_mul(started_hectometres(distance_m)) + 5) / 10
}

impl FeeSchedule {
    fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.currency)
    }

    /// The delivery fee for `distance_m` from the restaurant to the customer.
    pub fn delivery_fee(&self, distance_m: u32) -> Money {
        let fee = self
            .delivery_base
            .saturating_add(per_distance(self.delivery_per_km, distance_m));
        self.money(fee.min(self.delivery_max))
    }

    /// What a courier earns for delivering an order `distance_m` from the restaurant (tips apart).
    pub fn courier_pay(&self, distance_m: u32) -> Money {
        self.money(
            self.courier_per_order
                .saturating_add(per_distance(self.courier_per_km, distance_m)),
        )
    }

    /// What cancelling after acceptance costs for `food`.
    pub fn late_cancel_fee(&self, food: Money) -> Money {
        food.scaled(self.late_cancel_bps, 10_000)
            .unwrap_or(Money::zero(food.currency))
    }
}

/// A promo code an order uses, with the counts of its uses so far.
#[derive(Debug, Clone, Copy)]
pub struct PromoUse<'a> {
    /// The code's rules.
    pub promo: &'a Promo,
    /// Orders of this customer that used it.
    pub used_by_customer: u32,
    /// Orders that used it in all.
    pub used_in_all: u32,
}

/// What a checkout is computed from.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutInput<'a> {
    /// The food: the sum of the cart's priced lines.
    pub food: Money,
    /// From the restaurant to the customer, metres.
    pub distance_m: u32,
    /// Delivery demand against couriers now (×1 when calm).
    pub surge: SurgeMillis,
    /// The tip the customer chose.
    pub tip: Money,
    /// The promo code, if one was entered.
    pub promo: Option<PromoUse<'a>>,
    /// When.
    pub now: Timestamp,
}

/// Why a checkout cannot be quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    /// The cart is empty or its food is not positive.
    #[error("the cart is empty")]
    EmptyCart,
    /// An amount is not in the schedule's currency.
    #[error("amounts must be in the order's currency")]
    WrongCurrency,
    /// The tip is negative.
    #[error("a tip cannot be negative")]
    NegativeTip,
    /// The tip is above the limit.
    #[error("a tip is at most {max_minor} (minor units)")]
    TipTooLarge {
        /// The limit, minor units.
        max_minor: i64,
    },
    /// The promo code does not apply.
    #[error(transparent)]
    Promo(#[from] PromoError),
    /// An amount overflowed.
    #[error("the amounts are too large")]
    Overflow,
}

impl CheckoutError {
    /// The machine-readable code.
    pub const fn code(self) -> &'static str {
        match self {
            CheckoutError::EmptyCart => "cart_empty",
            CheckoutError::WrongCurrency => "wrong_currency",
            CheckoutError::NegativeTip => "tip_negative",
            CheckoutError::TipTooLarge { .. } => "tip_too_large",
            CheckoutError::Promo(e) => e.code(),
            CheckoutError::Overflow => "amount_too_large",
        }
    }
}

/// A food order's price, itemised; `total` is what the customer pays, tip included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutQuote {
    /// The food (the merchant's prices).
    pub food: Money,
    /// The delivery fee by distance.
    pub delivery_fee: Money,
    /// The service fee.
    pub service_fee: Money,
    /// The small-order fee (zero at or above the minimum).
    pub small_order_fee: Money,
    /// The busy-time surcharge (zero when calm), capped.
    pub busy_fee: Money,
    /// The promo code's discount (zero without one), a positive amount taken off.
    pub discount: Money,
    /// The code the discount is for.
    pub promo: Option<PromoCode>,
    /// The tip.
    pub tip: Money,
    /// What the customer pays: food + fees − discount + tip.
    pub total: Money,
    /// The surge the busy fee was computed at, per mille.
    pub surge_millis: u32,
    /// The distance the delivery fee was computed for, metres.
    pub distance_m: u32,
}

impl CheckoutQuote {
    /// What the order charges at delivery, tip apart (the tip is its own posting, all the courier's).
    pub fn charge(&self, schedule: &FeeSchedule, courier_pay: Money) -> DeliveryCharge {
        DeliveryCharge {
            food: self.food,
            delivery_fee: self.delivery_fee,
            service_fee: self.service_fee,
            small_order_fee: self.small_order_fee,
            busy_fee: self.busy_fee,
            discount: self.discount,
            merchant_commission_bps: schedule.merchant_commission_bps,
            courier_pay,
        }
    }

    /// What is charged before the tip.
    pub fn before_tip(&self) -> Money {
        Money::new(self.total.minor - self.tip.minor, self.total.currency)
    }
}

/// The checkout quote of `input` under `schedule`.
pub fn quote_checkout(
    schedule: &FeeSchedule,
    input: &CheckoutInput<'_>,
) -> Result<CheckoutQuote, CheckoutError> {
    let c = schedule.currency;
    if input.food.currency != c || input.tip.currency != c {
        return Err(CheckoutError::WrongCurrency);
    }
    if input.food.minor <= 0 {
        return Err(CheckoutError::EmptyCart);
    }
    if input.tip.minor < 0 {
        return Err(CheckoutError::NegativeTip);
    }
    if input.tip.minor > schedule.max_tip {
        return Err(CheckoutError::TipTooLarge {
            max_minor: schedule.max_tip,
        });
    }
    let delivery_fee = schedule.delivery_fee(input.distance_m);
    let service_fee = input
        .food
        .scaled(schedule.service_fee_bps, 10_000)
        .map_err(|_| CheckoutError::Overflow)?
        .minor
        .clamp(schedule.service_fee_min, schedule.service_fee_max);
    let small_order_fee = if input.food.minor < schedule.small_order_below {
        schedule.small_order_fee
    } else {
        0
    };
    let above = i64::from(input.surge.0.saturating_sub(SurgeMillis::NONE.0));
    let busy_fee = delivery_fee
        .scaled(above, 1000)
        .map_err(|_| CheckoutError::Overflow)?
        .minor
        .clamp(0, schedule.busy_fee_cap);
    let (discount, promo) = match input.promo {
        Some(u) => (
            u.promo
                .discount(input.food, u.used_by_customer, u.used_in_all, input.now)?,
            Some(u.promo.code.clone()),
        ),
        None => (Money::zero(c), None),
    };
    let total = [
        input.food.minor,
        delivery_fee.minor,
        service_fee,
        small_order_fee,
        busy_fee,
        -discount.minor,
        input.tip.minor,
    ]
    .into_iter()
    .try_fold(0i64, i64::checked_add)
    .ok_or(CheckoutError::Overflow)?;
    Ok(CheckoutQuote {
        food: input.food,
        delivery_fee,
        service_fee: Money::new(service_fee, c),
        small_order_fee: Money::new(small_order_fee, c),
        busy_fee: Money::new(busy_fee, c),
        discount,
        promo,
        tip: input.tip,
        total: Money::new(total, c),
        surge_millis: input.surge.0,
        distance_m: input.distance_m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::food::promo::PromoValue;
    use crate::ledger::{TrialBalance, delivery_order_posting};
    use crate::{JobId, MerchantId, UserId};
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    fn input(food: i64, distance_m: u32) -> CheckoutInput<'static> {
        CheckoutInput {
            food: usd(food),
            distance_m,
            surge: SurgeMillis::NONE,
            tip: usd(0),
            promo: None,
            now: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn a_calm_order_pays_food_delivery_by_distance_and_service() {
        let s = FeeSchedule::default();
        let q = quote_checkout(&s, &input(2500, 2050)).expect("quote");
        // 1.99 + 0.60 × 2.1 km (21 started hectometres) = 1.99 + 1.26
        assert_eq!(q.delivery_fee, usd(325));
        assert_eq!(q.service_fee, usd(250));
        assert_eq!(q.small_order_fee, usd(0));
        assert_eq!(q.busy_fee, usd(0));
        assert_eq!(q.total, usd(2500 + 325 + 250));
    }

    #[test]
    fn small_orders_busy_times_and_far_deliveries_are_charged_within_caps() {
        let s = FeeSchedule::default();
        let mut i = input(800, 40_000);
        i.surge = SurgeMillis(3000);
        let q = quote_checkout(&s, &i).expect("quote");
        assert_eq!(q.delivery_fee, usd(799), "capped");
        assert_eq!(q.small_order_fee, usd(200));
        assert_eq!(q.service_fee, usd(99), "the minimum");
        assert_eq!(q.busy_fee, usd(300), "capped");
    }

    #[test]
    fn bad_tips_are_refused_with_their_reasons() {
        let s = FeeSchedule::default();
        let mut i = input(2500, 1000);
        i.tip = usd(-1);
        assert_eq!(quote_checkout(&s, &i), Err(CheckoutError::NegativeTip));
        i.tip = usd(10_001);
        assert_eq!(
            quote_checkout(&s, &i),
            Err(CheckoutError::TipTooLarge { max_minor: 10_000 })
        );
        assert_eq!(
            quote_checkout(&s, &input(0, 1000)),
            Err(CheckoutError::EmptyCart)
        );
    }

    #[test]
    fn a_promo_is_applied_or_refused_with_its_code() {
        let s = FeeSchedule::default();
        let promo = Promo {
            code: PromoCode::parse("FIVEOFF").expect("code"),
            value: PromoValue::Amount { off: usd(500) },
            min_order: usd(2000),
            per_user_limit: 1,
            total_limit: 10,
            expires_at: Timestamp::from_millis(10),
        };
        let mut i = input(2500, 1000);
        i.promo = Some(PromoUse {
            promo: &promo,
            used_by_customer: 0,
            used_in_all: 3,
        });
        let q = quote_checkout(&s, &i).expect("quote");
        assert_eq!(q.discount, usd(500));
        assert_eq!(
            q.total.minor,
            2500 + q.delivery_fee.minor + q.service_fee.minor - 500
        );
        i.promo = Some(PromoUse {
            promo: &promo,
            used_by_customer: 1,
            used_in_all: 3,
        });
        let err = quote_checkout(&s, &i).expect_err("used");
        assert_eq!(err.code(), "promo_used_up");
        i.now = Timestamp::from_millis(10);
        assert_eq!(
            quote_checkout(&s, &i).map_err(CheckoutError::code),
            Err("promo_expired")
        );
    }

    proptest! {
        /// For any cart, distance, surge, tip and promo: the total is the sum of its lines, every fee is
        /// within its bounds, and the order's posting at delivery balances and charges the customer the
        /// total less the tip.
        #[test]
        fn the_total_adds_up_and_the_posting_balances(
            food in 1i64..1_000_000, distance_m in 0u32..60_000, surge in 1000u32..5000,
            tip in 0i64..=10_000, bps in 1i64..=10_000, off in 1i64..100_000, pct in any::<bool>(),
        ) {
            let s = FeeSchedule::default();
            let promo = Promo {
                code: PromoCode::parse("ANY").expect("code"),
                value: if pct { PromoValue::Percent { bps, max_off: None } } else { PromoValue::Amount { off: usd(off) } },
                min_order: usd(0),
                per_user_limit: 1,
                total_limit: 1,
                expires_at: Timestamp::from_millis(1),
            };
            let i = CheckoutInput {
                food: usd(food), distance_m, surge: SurgeMillis(surge), tip: usd(tip),
                promo: Some(PromoUse { promo: &promo, used_by_customer: 0, used_in_all: 0 }),
                now: Timestamp::from_millis(0),
            };
            let q = quote_checkout(&s, &i).expect("quote");
            let sum = q.food.minor + q.delivery_fee.minor + q.service_fee.minor + q.small_order_fee.minor
                + q.busy_fee.minor - q.discount.minor + q.tip.minor;
            prop_assert_eq!(q.total.minor, sum);
            prop_assert!(q.delivery_fee.minor <= s.delivery_max && q.busy_fee.minor <= s.busy_fee_cap);
            prop_assert!((s.service_fee_min..=s.service_fee_max).contains(&q.service_fee.minor));
            prop_assert!(q.discount.minor <= food);
            let u = |n: u128| UserId::from_uuid(uuid::Uuid::from_u128(n));
            let charge = q.charge(&s, s.courier_pay(distance_m));
            let p = delivery_order_posting(JobId::from_uuid(uuid::Uuid::from_u128(9)), u(1),
                MerchantId::from_uuid(uuid::Uuid::from_u128(2)), u(3), &charge, Timestamp::from_millis(0))
                .expect("posting");
            let mut tb = TrialBalance::new();
            tb.post(&p);
            prop_assert!(tb.is_balanced());
            prop_assert_eq!(tb.balance(crate::ledger::Account::customer(u(1)), Currency::USD), -q.before_tip().minor);
        }
    }
}
