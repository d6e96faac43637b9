//! Money in integer minor units with its currency. There is no floating point anywhere near an amount.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code: three ASCII upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// United States dollar, the currency of the Manhattan demo city.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a three-letter upper-case code such as `USD`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let bytes = code.as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Currency([*a, *b, *c])),
            _ => Err(MoneyError::InvalidCurrency(code.to_owned())),
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // The constructor only admits ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Errors of money arithmetic and parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The two amounts are in different currencies.
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    /// The result does not fit in 64 bits of minor units.
    #[error("amount overflow")]
    Overflow,
    /// Not a three-letter upper-case currency code.
    #[error("invalid currency code {0:?}")]
    InvalidCurrency(String),
}

/// An amount of money: a signed count of minor units (cents for USD) and its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in minor units (cents); negative for a debit.
    #[serde(rename = "amount")]
    pub minor: i64,
    /// The currency the amount is in.
    pub currency: Currency,
}

impl Money {
    /// `minor` minor units of `currency`.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Zero of `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// The sum, or an error on a currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// The difference, or an error on a currency mismatch or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(Money::new(
            other.minor.checked_neg().ok_or(MoneyError::Overflow)?,
            other.currency,
        ))
    }

    /// The negated amount (saturating at the extremes).
    pub const fn negated(self) -> Money {
        Money::new(self.minor.saturating_neg(), self.currency)
    }

    /// `self × numerator / denominator`, rounded half away from zero, computed in 128 bits.
    /// Used for per-mille multipliers and basis-point shares.
    pub fn scaled(self, numerator: i64, denominator: i64) -> Result<Money, MoneyError> {
        if denominator == 0 {
            return Err(MoneyError::Overflow);
        }
        let product = i128::from(self.minor) * i128::from(numerator);
        let d = i128::from(denominator);
        let half = d.abs() / 2;
        let rounded = if (product >= 0) == (d > 0) {
            (product.abs() + half) / d.abs()
        } else {
            -((product.abs() + half) / d.abs())
        };
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_rounds_half_away_from_zero() {
        let m = Money::new(250, Currency::USD);
        assert_eq!(m.scaled(1, 100).map(|m| m.minor), Ok(3));
        assert_eq!(m.negated().scaled(1, 100).map(|m| m.minor), Ok(-3));
        assert_eq!(m.scaled(1500, 1000).map(|m| m.minor), Ok(375));
    }

    #[test]
    fn adding_different_currencies_is_an_error() {
        let eur = Currency::parse("EUR").map(|c| Money::new(1, c));
        assert!(matches!(
            Money::new(1, Currency::USD).checked_add(eur.unwrap_or(Money::zero(Currency::USD))),
            Err(MoneyError::CurrencyMismatch(_, _))
        ));
    }

    #[test]
    fn currency_codes_must_be_three_upper_case_letters() {
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("USDX").is_err());
        assert_eq!(Currency::parse("USD"), Ok(Currency::USD));
    }
}
