//! Promo codes: a discount on an order's food, a percentage or an amount, with a minimum order, a limit
//! of uses per customer and in all, and an expiry. [`Promo::discount`] is the one rule that says whether
//! a code applies and how much it takes off; checkout calls it, and placement calls it again under the
//! store's count of uses, so two orders racing for the last use cannot both get it.

use crate::money::Money;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest promo code, in characters.
pub const MAX_CODE_CHARS: usize = 32;

/// A promo code as customers type it: 3 to 32 letters, digits, `-` or `_`, compared without case
/// (stored upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PromoCode(String);

impl PromoCode {
    /// Parses a typed code (surrounding spaces ignored, case folded to upper).
    pub fn parse(text: &str) -> Result<PromoCode, PromoError> {
        let t = text.trim();
        let ok = (3..=MAX_CODE_CHARS).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(PromoCode(t.to_ascii_uppercase()))
        } else {
            Err(PromoError::Malformed)
        }
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PromoCode {
    type Error = PromoError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PromoCode::parse(&s)
    }
}

impl From<PromoCode> for String {
    fn from(c: PromoCode) -> String {
        c.0
    }
}

impl fmt::Display for PromoCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a promo takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PromoValue {
    /// A share of the food, in basis points (1 to 10,000), at most `max_off` if set.
    Percent {
        /// The share, basis points.
        bps: i64,
        /// The largest discount, if capped.
        max_off: Option<Money>,
    },
    /// A fixed amount off the food (never more than the food).
    Amount {
        /// The amount.
        off: Money,
    },
}

/// A promo code's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promo {
    /// The code.
    pub code: PromoCode,
    /// What it takes off.
    pub value: PromoValue,
    /// The smallest food subtotal it applies to.
    pub min_order: Money,
    /// How many orders one customer may use it on.
    pub per_user_limit: u32,
    /// How many orders may use it in all.
    pub total_limit: u32,
    /// When it stops applying (exclusive).
    pub expires_at: Timestamp,
}

/// Why a promo code does not apply (each a machine-readable code on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PromoError {
    /// The text is not a code.
    #[error("a promo code is 3 to 32 letters, digits, '-' or '_'")]
    Malformed,
    /// No such code.
    #[error("no such promo code")]
    Unknown,
    /// The code has expired.
    #[error("this promo code has expired")]
    Expired,
    /// The order is below the code's minimum.
    #[error("this promo code needs an order of at least {min_minor} (minor units)")]
    BelowMinimum {
        /// The minimum, minor units.
        min_minor: i64,
    },
    /// The customer has used it as often as allowed.
    #[error("you have already used this promo code")]
    UsedUp,
    /// Everyone together has used it as often as allowed.
    #[error("this promo code has run out")]
    Exhausted,
    /// The code's currency is not the order's.
    #[error("this promo code is not valid for this currency")]
    WrongCurrency,
    /// The rules themselves are invalid (an operator's input).
    #[error("invalid promo: {0}")]
    Invalid(&'static str),
}

impl PromoError {
    /// The machine-readable code.
    pub const fn code(self) -> &'static str {
        match self {
            PromoError::Malformed => "promo_malformed",
            PromoError::Unknown => "promo_unknown",
            PromoError::Expired => "promo_expired",
            PromoError::BelowMinimum { .. } => "promo_below_minimum",
            PromoError::UsedUp => "promo_used_up",
            PromoError::Exhausted => "promo_exhausted",
            PromoError::WrongCurrency => "promo_wrong_currency",
            PromoError::Invalid(_) => "promo_invalid",
        }
    }
}

impl Promo {
    /// Checks an operator's rules: a percentage of 1 to 10,000 basis points, amounts positive and in the
    /// minimum's currency, limits at least 1 and the per-user limit at most the total.
    pub fn validate(&self) -> Result<(), PromoError> {
        let currency = self.min_order.currency;
        if self.min_order.minor < 0 {
            return Err(PromoError::Invalid("the minimum order is negative"));
        }
        match self.value {
            PromoValue::Percent { bps, max_off } => {
                if !(1..=10_000).contains(&bps) {
                    return Err(PromoError::Invalid(
                        "a percentage is 1 to 10000 basis points",
                    ));
                }
                if let Some(cap) = max_off
                    && (cap.minor <= 0 || cap.currency != currency)
                {
                    return Err(PromoError::Invalid("the cap is not a positive amount"));
                }
            }
            PromoValue::Amount { off } => {
                if off.minor <= 0 || off.currency != currency {
                    return Err(PromoError::Invalid("the amount off is not positive"));
                }
            }
        }
        if self.per_user_limit == 0 || self.total_limit == 0 {
            return Err(PromoError::Invalid("a limit is zero"));
        }
        if self.per_user_limit > self.total_limit {
            return Err(PromoError::Invalid(
                "the per-customer limit is above the total",
            ));
        }
        Ok(())
    }

    /// The discount on `food` at `now` for a customer who used the code `used_by_customer` times, when
    /// it was used `used_in_all` times in all; never more than the food.
    pub fn discount(
        &self,
        food: Money,
        used_by_customer: u32,
        used_in_all: u32,
        now: Timestamp,
    ) -> Result<Money, PromoError> {
        if food.currency != self.min_order.currency {
            return Err(PromoError::WrongCurrency);
        }
        if now >= self.expires_at {
            return Err(PromoError::Expired);
        }
        if used_in_all >= self.total_limit {
            return Err(PromoError::Exhausted);
        }
        if used_by_customer >= self.per_user_limit {
            return Err(PromoError::UsedUp);
        }
        if food.minor < self.min_order.minor {
            return Err(PromoError::BelowMinimum {
                min_minor: self.min_order.minor,
            });
        }
        let off = match self.value {
            PromoValue::Percent { bps, max_off } => {
                let off = food
                    .scaled(bps, 10_000)
                    .map_err(|_| PromoError::Invalid("overflow"))?;
                match max_off {
                    Some(cap) if cap.minor < off.minor => cap,
                    _ => off,
                }
            }
            PromoValue::Amount { off } => off,
        };
        Ok(Money::new(off.minor.clamp(0, food.minor), food.currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    fn promo(value: PromoValue) -> Promo {
        Promo {
            code: PromoCode::parse("welcome10").expect("code"),
            value,
            min_order: usd(1500),
            per_user_limit: 1,
            total_limit: 100,
            expires_at: Timestamp::from_millis(1_000_000),
        }
    }

    #[test]
    fn codes_are_compared_without_case_and_must_look_like_codes() {
        assert_eq!(
            PromoCode::parse(" Welcome10 ").map(|c| c.as_str().to_owned()),
            Ok("WELCOME10".to_owned())
        );
        for bad in ["", "ab", "with space", "émoji", &"x".repeat(33)] {
            assert_eq!(PromoCode::parse(bad), Err(PromoError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn a_percentage_promo_takes_its_share_up_to_its_cap() {
        let p = promo(PromoValue::Percent {
            bps: 2000,
            max_off: Some(usd(500)),
        });
        assert_eq!(p.validate(), Ok(()));
        let now = Timestamp::from_millis(0);
        assert_eq!(p.discount(usd(2000), 0, 0, now), Ok(usd(400)));
        assert_eq!(p.discount(usd(4000), 0, 0, now), Ok(usd(500)));
    }

    #[test]
    fn each_limit_refuses_with_its_own_reason() {
        let p = promo(PromoValue::Amount { off: usd(700) });
        let now = Timestamp::from_millis(0);
        assert_eq!(p.discount(usd(2000), 0, 0, now), Ok(usd(700)));
        assert_eq!(
            p.discount(usd(1499), 0, 0, now),
            Err(PromoError::BelowMinimum { min_minor: 1500 })
        );
        assert_eq!(p.discount(usd(2000), 1, 1, now), Err(PromoError::UsedUp));
        assert_eq!(
            p.discount(usd(2000), 0, 100, now),
            Err(PromoError::Exhausted)
        );
        assert_eq!(
            p.discount(usd(2000), 0, 0, Timestamp::from_millis(1_000_000)),
            Err(PromoError::Expired)
        );
        assert_eq!(
            p.discount(
                Money::new(2000, Currency::parse("EUR").expect("eur")),
                0,
                0,
                now
            ),
            Err(PromoError::WrongCurrency)
        );
    }

    #[test]
    fn invalid_rules_are_refused() {
        let mut p = promo(PromoValue::Percent {
            bps: 0,
            max_off: None,
        });
        assert!(p.validate().is_err());
        p.value = PromoValue::Amount { off: usd(-1) };
        assert!(p.validate().is_err());
        p.value = PromoValue::Amount { off: usd(100) };
        p.per_user_limit = 5;
        p.total_limit = 2;
        assert!(p.validate().is_err());
    }

    proptest! {
        /// A discount is never negative and never more than the food.
        #[test]
        fn a_discount_never_exceeds_the_food(food in 0i64..10_000_000, bps in 1i64..=10_000, off in 1i64..10_000_000) {
            let now = Timestamp::from_millis(0);
            for value in [PromoValue::Percent { bps, max_off: None }, PromoValue::Amount { off: usd(off) }] {
                let mut p = promo(value);
                p.min_order = usd(0);
                let d = p.discount(usd(food), 0, 0, now).expect("applies");
                prop_assert!(d.minor >= 0 && d.minor <= food);
            }
        }
    }
}
