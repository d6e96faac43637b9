//! Payments, the pure part: how a rider pays (cash, a wallet, a card), what an authorisation holds and
//! how it ends, a wallet's arithmetic (never below zero), and the rules of the built-in test card
//! provider. The providers themselves (their calls, and a real gateway's IO) live in `doorstep_app::payments`
//! behind one trait; docs/payments.md explains how a real gateway plugs in.
//!
//! An authorisation belongs to one job (a ride's job has the ride's id): made when the ride is
//! requested, captured at completion (the final fare, at most what was authorised unless a
//! re-authorisation for the difference succeeds), voided when the ride ends without a trip (cancelled, no
//! driver), or captured for the cancellation fee after a late cancellation. Cash authorises nothing: the
//! driver collects the fare, and the ledger records what they collected so that the platform's commission
//! shows as owed by the driver.

use crate::ids::{JobId, UserId};
use crate::money::{Currency, Money};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How a rider pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodKind {
    /// The driver collects the fare in cash; nothing is authorised.
    Cash,
    /// A stored balance in minor units, topped up beforehand; an authorisation holds funds.
    Wallet,
    /// The built-in fake card provider: authorise at request, capture at completion, void on cancel.
    TestCard,
}

impl PaymentMethodKind {
    /// Every kind.
    pub const ALL: [PaymentMethodKind; 3] = [
        PaymentMethodKind::Cash,
        PaymentMethodKind::Wallet,
        PaymentMethodKind::TestCard,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentMethodKind::Cash => "cash",
            PaymentMethodKind::Wallet => "wallet",
            PaymentMethodKind::TestCard => "test_card",
        }
    }

    /// Parses the name produced by [`PaymentMethodKind::as_str`].
    pub fn parse(s: &str) -> Option<PaymentMethodKind> {
        PaymentMethodKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The id of the built-in cash method every rider has.
pub const CASH_METHOD_ID: &str = "cash";
/// The id of the built-in wallet every rider has.
pub const WALLET_METHOD_ID: &str = "wallet";

/// A stored payment method of a user (a card; cash and the wallet are built in and not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethod {
    /// `cash`, `wallet`, or the UUID of a stored card.
    pub id: String,
    /// Whose it is.
    pub user: UserId,
    /// How it pays.
    pub kind: PaymentMethodKind,
    /// The last four digits of a card.
    pub last4: Option<String>,
    /// What the provider does with it: for a test card, the behaviour its number selects. A real
    /// gateway keeps its own token here (never a card number).
    pub provider_token: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
}

/// Where an authorisation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorisationState {
    /// Funds are held (nothing, for cash) until the ride ends.
    Authorised,
    /// The final amount was taken (or, for cash, collected by the driver).
    Captured,
    /// The hold was released: the ride ended without a trip or a fee.
    Voided,
}

impl AuthorisationState {
    /// Every state.
    pub const ALL: [AuthorisationState; 3] = [
        AuthorisationState::Authorised,
        AuthorisationState::Captured,
        AuthorisationState::Voided,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthorisationState::Authorised => "authorised",
            AuthorisationState::Captured => "captured",
            AuthorisationState::Voided => "voided",
        }
    }

    /// Parses the name produced by [`AuthorisationState::as_str`].
    pub fn parse(s: &str) -> Option<AuthorisationState> {
        AuthorisationState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The payment of one job: what was authorised with which method, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorisation {
    /// The job paid for (a ride's job has the ride's id).
    pub job: JobId,
    /// Who pays.
    pub user: UserId,
    /// The method's id (`cash`, `wallet` or a card's UUID).
    pub method_id: String,
    /// The method's kind.
    pub kind: PaymentMethodKind,
    /// What is held (zero for cash).
    pub authorised: Money,
    /// What was taken at capture (for cash: what the driver collected).
    pub captured: Option<Money>,
    /// What the capture could not take (a re-authorisation for more than was held failed); owed by the
    /// rider, and still posted as charged in the ledger.
    pub uncollected: Money,
    /// Where it stands.
    pub state: AuthorisationState,
    /// The provider's reference of the authorisation (a test card's `test_auth_<job>`).
    pub provider_ref: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Authorisation {
    /// Ends a held authorisation by capturing `amount` of which `uncollected` could not be taken.
    /// Refused unless it is [`AuthorisationState::Authorised`].
    pub fn capture(
        &mut self,
        amount: Money,
        uncollected: Money,
        at: Timestamp,
    ) -> Result<(), PaymentError> {
        if self.state != AuthorisationState::Authorised {
            return Err(PaymentError::NotAuthorised(self.state));
        }
        self.state = AuthorisationState::Captured;
        self.captured = Some(amount);
        self.uncollected = uncollected;
        self.updated_at = at;
        Ok(())
    }

    /// Releases a held authorisation. Refused unless it is [`AuthorisationState::Authorised`].
    pub fn void(&mut self, at: Timestamp) -> Result<(), PaymentError> {
        if self.state != AuthorisationState::Authorised {
            return Err(PaymentError::NotAuthorised(self.state));
        }
        self.state = AuthorisationState::Voided;
        self.updated_at = at;
        Ok(())
    }
}

/// Why a payment step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The wallet's available balance (balance less holds) is less than the amount.
    #[error("insufficient funds: {available} available, {needed} needed (minor units)")]
    InsufficientFunds {
        /// What the wallet can spend, in minor units.
        available: i64,
        /// What was asked for, in minor units.
        needed: i64,
    },
    /// The card provider declined.
    #[error("the card was declined")]
    CardDeclined,
    /// Not a card number (13 to 19 digits passing the Luhn check).
    #[error("not a valid card number")]
    InvalidCardNumber,
    /// An amount that must be more than zero is not, or amounts of different currencies were mixed.
    #[error("the amount must be more than zero, in the wallet's currency")]
    InvalidAmount,
    /// The authorisation is no longer held.
    #[error("the authorisation is {0:?}, not held")]
    NotAuthorised(AuthorisationState),
    /// The wallet would pass its most.
    #[error("a wallet holds at most {0} minor units")]
    WalletFull(i64),
    /// Cash cannot be charged from afar (a tip of a cash ride needs the wallet or a card).
    #[error("cash cannot be charged in the app: use the wallet or a card")]
    CashNotChargeable,
    /// The provider failed (its service, or our record of it); retrying the same call is safe.
    #[error("the payment provider failed: {0}")]
    Provider(String),
}

impl PaymentError {
    /// A stable machine-readable code for the error.
    pub const fn code(&self) -> &'static str {
        match self {
            PaymentError::InsufficientFunds { .. } => "insufficient_funds",
            PaymentError::CardDeclined => "card_declined",
            PaymentError::InvalidCardNumber => "invalid_card_number",
            PaymentError::InvalidAmount => "invalid_amount",
            PaymentError::NotAuthorised(_) => "not_authorised",
            PaymentError::WalletFull(_) => "wallet_full",
            PaymentError::CashNotChargeable => "payment_method_required",
            PaymentError::Provider(_) => "payment_provider_failed",
        }
    }
}

/// A wallet's balance and the part of it held by open authorisations, in minor units of one currency.
/// Every operation keeps `0 <= held <= balance`: a wallet is never negative and never holds or spends
/// more than it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wallet {
    /// The currency.
    pub currency: Currency,
    /// Everything in it.
    pub balance: i64,
    /// The part held by open authorisations.
    pub held: i64,
}

impl Wallet {
    /// The most a wallet holds, in minor units (10,000.00 in a two-decimal currency).
    pub const MAX_BALANCE: i64 = 1_000_000;

    /// An empty wallet.
    pub const fn empty(currency: Currency) -> Wallet {
        Wallet {
            currency,
            balance: 0,
            held: 0,
        }
    }

    /// What can be held or spent now.
    pub const fn available(&self) -> i64 {
        self.balance - self.held
    }

    fn amount(&self, amount: Money) -> Result<i64, PaymentError> {
        if amount.currency != self.currency || amount.minor <= 0 {
            return Err(PaymentError::InvalidAmount);
        }
        Ok(amount.minor)
    }

    fn covers(&self, needed: i64) -> Result<(), PaymentError> {
        if self.available() < needed {
            return Err(PaymentError::InsufficientFunds {
                available: self.available().max(0),
                needed,
            });
        }
        Ok(())
    }

    /// Adds money (a top-up, a refund to the wallet).
    pub fn top_up(self, amount: Money) -> Result<Wallet, PaymentError> {
        let a = self.amount(amount)?;
        let balance = self
            .balance
            .checked_add(a)
            .filter(|b| *b <= Wallet::MAX_BALANCE)
            .ok_or(PaymentError::WalletFull(Wallet::MAX_BALANCE))?;
        Ok(Wallet { balance, ..self })
    }

    /// Holds `amount` for an authorisation; refused with [`PaymentError::InsufficientFunds`] beyond
    /// what is available.
    pub fn hold(self, amount: Money) -> Result<Wallet, PaymentError> {
        let a = self.amount(amount)?;
        self.covers(a)?;
        Ok(Wallet {
            held: self.held + a,
            ..self
        })
    }

    /// Releases a hold of `held` (a void).
    pub fn release(self, held: i64) -> Wallet {
        Wallet {
            held: self.held - held.clamp(0, self.held),
            ..self
        }
    }

    /// Ends a hold of `held` by taking `amount` (which may be more than the hold when the rest is
    /// available): the hold is released, then `amount` is spent. Refused (and nothing changes) if the
    /// wallet cannot cover it.
    pub fn capture(self, held: i64, amount: Money) -> Result<Wallet, PaymentError> {
        let released = self.release(held);
        released.spend(amount)
    }

    /// Spends `amount` of what is available (a tip).
    pub fn spend(self, amount: Money) -> Result<Wallet, PaymentError> {
        let a = self.amount(amount)?;
        self.covers(a)?;
        Ok(Wallet {
            balance: self.balance - a,
            ..self
        })
    }
}

/// What the test card provider does with a card, chosen by its number as with real gateways' test cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestCardBehaviour {
    /// Approves everything (4242 4242 4242 4242, and any other valid number).
    Approve,
    /// Declines every authorisation (4000 0000 0000 0002): `card_declined`.
    Decline,
    /// Declines for lack of funds (4000 0000 0000 9995): `insufficient_funds`.
    InsufficientFunds,
}

impl TestCardBehaviour {
    /// The stable name kept as the card's provider token.
    pub const fn as_str(self) -> &'static str {
        match self {
            TestCardBehaviour::Approve => "approve",
            TestCardBehaviour::Decline => "decline",
            TestCardBehaviour::InsufficientFunds => "insufficient_funds",
        }
    }

    /// Parses the name produced by [`TestCardBehaviour::as_str`].
    pub fn parse(s: &str) -> Option<TestCardBehaviour> {
        [
            TestCardBehaviour::Approve,
            TestCardBehaviour::Decline,
            TestCardBehaviour::InsufficientFunds,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }

    /// What an authorisation of `amount` on such a card answers.
    pub fn authorise(self, amount: Money) -> Result<(), PaymentError> {
        match self {
            TestCardBehaviour::Approve => Ok(()),
            TestCardBehaviour::Decline => Err(PaymentError::CardDeclined),
            TestCardBehaviour::InsufficientFunds => Err(PaymentError::InsufficientFunds {
                available: 0,
                needed: amount.minor,
            }),
        }
    }
}

/// A card number as typed (spaces and dashes allowed): its digits, if it is 13 to 19 digits that pass
/// the Luhn check, with the test provider's behaviour for it and its last four digits.
pub fn parse_test_card(number: &str) -> Result<(TestCardBehaviour, String), PaymentError> {
    let mut digits = String::new();
    for c in number.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' => {}
            _ => return Err(PaymentError::InvalidCardNumber),
        }
    }
    if !(13..=19).contains(&digits.len()) || !luhn(&digits) {
        return Err(PaymentError::InvalidCardNumber);
    }
    let behaviour = match digits.as_str() {
        "4000000000000002" => TestCardBehaviour::Decline,
        "4000000000009995" => TestCardBehaviour::InsufficientFunds,
        _ => TestCardBehaviour::Approve,
    };
    let last4 = digits[digits.len() - 4..].to_owned();
    Ok((behaviour, last4))
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if !i.is_multiple_of(2) {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::USD)
    }

    #[test]
    fn test_card_numbers_choose_what_the_provider_does() {
        assert_eq!(
            parse_test_card("4242 4242 4242 4242"),
            Ok((TestCardBehaviour::Approve, "4242".to_owned()))
        );
        assert_eq!(
            parse_test_card("4000-0000-0000-0002").map(|c| c.0),
            Ok(TestCardBehaviour::Decline)
        );
        assert_eq!(
            parse_test_card("4000000000009995").map(|c| c.0),
            Ok(TestCardBehaviour::InsufficientFunds)
        );
        for bad in ["4242 4242 4242 4241", "1234", "4242x4242x4242x4242", ""] {
            assert_eq!(
                parse_test_card(bad),
                Err(PaymentError::InvalidCardNumber),
                "{bad}"
            );
        }
        assert_eq!(
            TestCardBehaviour::Decline
                .authorise(usd(100))
                .map_err(|e| e.code()),
            Err("card_declined")
        );
        assert!(TestCardBehaviour::Approve.authorise(usd(100)).is_ok());
    }

    #[test]
    fn a_wallet_holds_captures_and_releases_without_going_below_zero() {
        let w = Wallet::empty(Currency::USD)
            .top_up(usd(2000))
            .unwrap_or_else(|e| panic!("{e}"));
        let held = w.hold(usd(1500)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (held.balance, held.held, held.available()),
            (2000, 1500, 500)
        );
        // A second ride cannot hold what the first holds.
        assert_eq!(
            held.hold(usd(600)).map_err(|e| e.code()),
            Err("insufficient_funds")
        );
        // The final fare is more than the hold: the rest comes from what is available.
        let paid = held
            .capture(1500, usd(1800))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((paid.balance, paid.held), (200, 0));
        // More than the wallet has is refused and changes nothing.
        assert!(held.capture(1500, usd(2100)).is_err());
        assert_eq!(held.release(1500), w);
        assert_eq!(w.spend(usd(0)), Err(PaymentError::InvalidAmount));
        assert_eq!(
            w.spend(Money::new(
                5,
                Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"))
            )),
            Err(PaymentError::InvalidAmount)
        );
        assert_eq!(
            w.top_up(usd(Wallet::MAX_BALANCE)).map_err(|e| e.code()),
            Err("wallet_full")
        );
    }

    #[test]
    fn an_authorisation_ends_once() {
        let t = Timestamp::from_millis(0);
        let mut a = Authorisation {
            job: JobId::from_uuid(uuid::Uuid::nil()),
            user: UserId::from_uuid(uuid::Uuid::nil()),
            method_id: WALLET_METHOD_ID.to_owned(),
            kind: PaymentMethodKind::Wallet,
            authorised: usd(1000),
            captured: None,
            uncollected: usd(0),
            state: AuthorisationState::Authorised,
            provider_ref: None,
            created_at: t,
            updated_at: t,
        };
        let mut voided = a.clone();
        assert!(voided.void(t).is_ok());
        assert!(voided.capture(usd(1), usd(0), t).is_err());
        assert!(a.capture(usd(900), usd(0), t).is_ok());
        assert_eq!(
            a.void(t),
            Err(PaymentError::NotAuthorised(AuthorisationState::Captured))
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        TopUp(i64),
        Hold(i64),
        Release(i64),
        Capture(i64, i64),
        Spend(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (-100i64..5000).prop_map(Op::TopUp),
            (-100i64..5000).prop_map(Op::Hold),
            (-100i64..5000).prop_map(Op::Release),
            ((-100i64..5000), (-100i64..5000)).prop_map(|(h, a)| Op::Capture(h, a)),
            (-100i64..5000).prop_map(Op::Spend),
        ]
    }

    proptest! {
        #[test]
        fn a_wallet_is_never_negative_and_never_holds_more_than_it_has(ops in proptest::collection::vec(op(), 0..60)) {
            let mut w = Wallet::empty(Currency::USD);
            for op in ops {
                let next = match op {
                    Op::TopUp(a) => w.top_up(usd(a)),
                    Op::Hold(a) => w.hold(usd(a)),
                    Op::Release(h) => Ok(w.release(h)),
                    Op::Capture(h, a) => w.capture(h, usd(a)),
                    Op::Spend(a) => w.spend(usd(a)),
                };
                if let Ok(n) = next {
                    w = n;
                }
                prop_assert!(w.balance >= 0 && w.held >= 0 && w.held <= w.balance, "{w:?}");
                prop_assert!(w.balance <= Wallet::MAX_BALANCE);
            }
        }
    }
}
