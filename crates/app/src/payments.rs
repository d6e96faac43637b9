//! Payments: one [`PaymentProvider`] trait with the built-in providers (cash, wallet, test card), and the
//! use cases around them — a rider's payment methods, wallet top-ups, the authorisation of a ride at
//! request, its capture at completion, its void when the ride ends without a trip, and tips.
//!
//! A provider is the gateway side: it authorises, captures, voids, charges and refunds, each under an
//! idempotency key derived from the job (`hold:<job>`, `capture:<job>`, ...), so a retried call never
//! moves money twice. The app keeps the record (`payment_authorisations`) and the ledger; the pure rules
//! (wallet arithmetic, test card numbers, authorisation states) are in `doorstep_domain::payment`.
//! docs/payments.md explains how a real gateway (Stripe, Adyen) plugs in.

use crate::{App, AppError};
use doorstep_domain::ledger::{PostingKey, PostingKind, cash_collected_posting, tip_posting};
use doorstep_domain::payment::{
    Authorisation, AuthorisationState, CASH_METHOD_ID, PaymentError, PaymentMethod,
    PaymentMethodKind, TestCardBehaviour, WALLET_METHOD_ID, Wallet, parse_test_card,
};
use doorstep_domain::ride::{Ride, RideState};
use doorstep_domain::{JobId, Money, RideId, Role, Timestamp, User, UserId};
use doorstep_store::{StoreError, Tip, TipOutcome, WalletChange, WalletOutcome};
use std::future::Future;
use std::pin::Pin;

/// What a provider call returns.
pub type PaymentFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PaymentError>> + Send + 'a>>;

/// A successful authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorised {
    /// What is held (zero for cash).
    pub amount: Money,
    /// The provider's reference.
    pub provider_ref: Option<String>,
}

/// What a capture took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Captured {
    /// Taken (for cash: collected by the driver).
    pub taken: Money,
    /// Asked for but not taken: a re-authorisation for more than was held failed.
    pub uncollected: Money,
}

/// A payment gateway: the one interface behind cash, the wallet, the test card and a real gateway.
/// Every call is keyed by its job; a retried call with the same job does not move money twice.
pub trait PaymentProvider: Send + Sync {
    /// The kind of method it serves.
    fn kind(&self) -> PaymentMethodKind;
    /// Holds `amount` on `method` for `job` (at request).
    fn authorise<'a>(
        &'a self,
        method: &'a PaymentMethod,
        job: JobId,
        amount: Money,
        at: Timestamp,
    ) -> PaymentFuture<'a, Authorised>;
    /// Takes `amount` for a held authorisation (at completion, or a late cancellation's fee). More than
    /// was authorised is re-authorised first; what cannot be taken is returned as uncollected.
    fn capture<'a>(
        &'a self,
        method: &'a PaymentMethod,
        auth: &'a Authorisation,
        amount: Money,
        at: Timestamp,
    ) -> PaymentFuture<'a, Captured>;
    /// Releases a held authorisation (cancelled, no driver).
    fn void<'a>(
        &'a self,
        method: &'a PaymentMethod,
        auth: &'a Authorisation,
        at: Timestamp,
    ) -> PaymentFuture<'a, ()>;
    /// Charges `amount` once for `job` under `key` without an authorisation (a tip).
    fn charge<'a>(
        &'a self,
        method: &'a PaymentMethod,
        job: JobId,
        amount: Money,
        key: &'a str,
        at: Timestamp,
    ) -> PaymentFuture<'a, ()>;
    /// Gives back `amount` of what was taken for `job`, under `key`.
    fn refund<'a>(
        &'a self,
        method: &'a PaymentMethod,
        job: JobId,
        amount: Money,
        key: &'a str,
        at: Timestamp,
    ) -> PaymentFuture<'a, ()>;
}

/// Cash: nothing is authorised; the driver collects the fare at the end, and the ledger records it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CashProvider;

impl PaymentProvider for CashProvider {
    fn kind(&self) -> PaymentMethodKind {
        PaymentMethodKind::Cash
    }

    fn authorise<'a>(
        &'a self,
        _: &'a PaymentMethod,
        _: JobId,
        amount: Money,
        _: Timestamp,
    ) -> PaymentFuture<'a, Authorised> {
        Box::pin(async move {
            Ok(Authorised {
                amount: Money::zero(amount.currency),
                provider_ref: None,
            })
        })
    }

    fn capture<'a>(
        &'a self,
        _: &'a PaymentMethod,
        _: &'a Authorisation,
        amount: Money,
        _: Timestamp,
    ) -> PaymentFuture<'a, Captured> {
        Box::pin(async move {
            Ok(Captured {
                taken: amount,
                uncollected: Money::zero(amount.currency),
            })
        })
    }

    fn void<'a>(
        &'a self,
        _: &'a PaymentMethod,
        _: &'a Authorisation,
        _: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn charge<'a>(
        &'a self,
        _: &'a PaymentMethod,
        _: JobId,
        _: Money,
        _: &'a str,
        _: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(async { Err(PaymentError::CashNotChargeable) })
    }

    fn refund<'a>(
        &'a self,
        _: &'a PaymentMethod,
        _: JobId,
        _: Money,
        _: &'a str,
        _: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(async { Err(PaymentError::CashNotChargeable) })
    }
}

/// The wallet: a balance per user in the store; an authorisation holds part of it.
#[derive(Debug, Clone)]
pub struct WalletProvider {
    store: doorstep_store::Store,
}

/// A movement of a wallet for a job: what it does to the balance and to the held part.
struct Movement<'a> {
    user: UserId,
    currency: doorstep_domain::Currency,
    balance: i64,
    held: i64,
    kind: &'a str,
    job: JobId,
    key: &'a str,
    at: Timestamp,
}

impl WalletProvider {
    async fn change(&self, m: Movement<'_>) -> Result<WalletOutcome, PaymentError> {
        self.store
            .change_wallet(&WalletChange {
                user: m.user,
                currency: m.currency,
                balance_delta: m.balance,
                held_delta: m.held,
                kind: m.kind,
                job: Some(m.job),
                idempotency_key: m.key,
                at: m.at,
            })
            .await
            .map_err(|e| PaymentError::Provider(format!("{e:?}")))
    }
}

fn refused(w: Wallet, needed: i64) -> PaymentError {
    PaymentError::InsufficientFunds {
        available: w.available().max(0),
        needed,
    }
}

impl PaymentProvider for WalletProvider {
    fn kind(&self) -> PaymentMethodKind {
        PaymentMethodKind::Wallet
    }

    fn authorise<'a>(
        &'a self,
        method: &'a PaymentMethod,
        job: JobId,
        amount: Money,
        at: Timestamp,
    ) -> PaymentFuture<'a, Authorised> {
        Box::pin(async move {
            if amount.minor <= 0 {
                return Err(PaymentError::InvalidAmount);
            }
            let key = format!("hold:{job}");
            match self
                .change(Movement {
                    user: method.user,
                    currency: amount.currency,
                    balance: 0,
                    held: amount.minor,
                    kind: "hold",
                    job,
                    key: &key,
                    at,
                })
                .await?
            {
                WalletOutcome::Applied(_) | WalletOutcome::Duplicate(_) => Ok(Authorised {
                    amount,
                    provider_ref: Some(key),
                }),
                WalletOutcome::Refused(w) => Err(refused(w, amount.minor)),
            }
        })
    }

    fn capture<'a>(
        &'a self,
        method: &'a PaymentMethod,
        auth: &'a Authorisation,
        amount: Money,
        at: Timestamp,
    ) -> PaymentFuture<'a, Captured> {
        Box::pin(async move {
            let key = format!("capture:{}", auth.job);
            let held = auth.authorised.minor;
            let zero = Money::zero(amount.currency);
            let mut take = amount.minor;
            for _ in 0..2 {
                if take <= 0 {
                    // Nothing can be taken: just release the hold.
                    self.void(method, auth, at).await?;
                    return Ok(Captured {
                        taken: zero,
                        uncollected: amount,
                    });
                }
                match self
                    .change(Movement {
                        user: method.user,
                        currency: amount.currency,
                        balance: -take,
                        held: -held,
                        kind: "fare",
                        job: auth.job,
                        key: &key,
                        at,
                    })
                    .await?
                {
                    WalletOutcome::Applied(_) | WalletOutcome::Duplicate(_) => {
                        return Ok(Captured {
                            taken: Money::new(take, amount.currency),
                            uncollected: Money::new(amount.minor - take, amount.currency),
                        });
                    }
                    // The re-authorisation of more than was held failed: take what there is.
                    WalletOutcome::Refused(w) => take = take.min(w.available() + held),
                }
            }
            Err(PaymentError::Provider(
                "the wallet changed during capture".to_owned(),
            ))
        })
    }

    fn void<'a>(
        &'a self,
        method: &'a PaymentMethod,
        auth: &'a Authorisation,
        at: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(async move {
            let key = format!("release:{}", auth.job);
            let held = auth.authorised.minor;
            if held <= 0 {
                return Ok(());
            }
            match self
                .change(Movement {
                    user: method.user,
                    currency: auth.authorised.currency,
                    balance: 0,
                    held: -held,
                    kind: "release",
                    job: auth.job,
                    key: &key,
                    at,
                })
                .await?
            {
                WalletOutcome::Applied(_) | WalletOutcome::Duplicate(_) => Ok(()),
                WalletOutcome::Refused(_) => Err(PaymentError::Provider(
                    "the wallet no longer holds this authorisation".to_owned(),
                )),
            }
        })
    }

    fn charge<'a>(
        &'a self,
        method: &'a PaymentMethod,
        job: JobId,
        amount: Money,
        key: &'a str,
        at: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(self.settle(Settlement::Charge, method, job, amount, key, at))
    }

    fn refund<'a>(
        &'a self,
        method: &'a PaymentMethod,
        job: JobId,
        amount: Money,
        key: &'a str,
        at: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(self.settle(Settlement::Refund, method, job, amount, key, at))
    }
}

/// Money moved on a wallet outside an authorisation: a charge and a refund are one movement of the
/// balance and differ only in what this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settlement {
    /// Out of the wallet (a tip); refused when it holds too little.
    Charge,
    /// Back into the wallet; refused when it would pass [`Wallet::MAX_BALANCE`].
    Refund,
}

impl Settlement {
    /// What it does to the balance for `amount` minor units.
    fn balance_delta(self, amount: i64) -> i64 {
        match self {
            Settlement::Charge => -amount,
            Settlement::Refund => amount,
        }
    }

    /// The kind of the wallet's entry.
    fn kind(self) -> &'static str {
        match self {
            Settlement::Charge => "tip",
            Settlement::Refund => "refund",
        }
    }

    /// Why the wallet `w` refused it for `amount` minor units.
    fn refusal(self, w: Wallet, amount: i64) -> PaymentError {
        match self {
            Settlement::Charge => refused(w, amount),
            Settlement::Refund => PaymentError::WalletFull(Wallet::MAX_BALANCE),
        }
    }
}

impl WalletProvider {
    /// Moves `amount` into or out of the wallet for `job`, once under `key`.
    async fn settle(
        &self,
        how: Settlement,
        method: &PaymentMethod,
        job: JobId,
        amount: Money,
        key: &str,
        at: Timestamp,
    ) -> Result<(), PaymentError> {
        if amount.minor <= 0 {
            return Err(PaymentError::InvalidAmount);
        }
        match self
            .change(Movement {
                user: method.user,
                currency: amount.currency,
                balance: how.balance_delta(amount.minor),
                held: 0,
                kind: how.kind(),
                job,
                key,
                at,
            })
            .await?
        {
            WalletOutcome::Applied(_) | WalletOutcome::Duplicate(_) => Ok(()),
            WalletOutcome::Refused(w) => Err(how.refusal(w, amount.minor)),
        }
    }
}

/// The fake card gateway: what it answers depends only on the card's test number
/// ([`TestCardBehaviour`]); it moves no money anywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestCardProvider;

fn behaviour(method: &PaymentMethod) -> TestCardBehaviour {
    method
        .provider_token
        .as_deref()
        .and_then(TestCardBehaviour::parse)
        .unwrap_or(TestCardBehaviour::Decline)
}

impl PaymentProvider for TestCardProvider {
    fn kind(&self) -> PaymentMethodKind {
        PaymentMethodKind::TestCard
    }

    fn authorise<'a>(
        &'a self,
        method: &'a PaymentMethod,
        job: JobId,
        amount: Money,
        _: Timestamp,
    ) -> PaymentFuture<'a, Authorised> {
        Box::pin(async move {
            behaviour(method).authorise(amount)?;
            Ok(Authorised {
                amount,
                provider_ref: Some(format!("test_auth_{}", job.to_string().replace('-', ""))),
            })
        })
    }

    fn capture<'a>(
        &'a self,
        method: &'a PaymentMethod,
        auth: &'a Authorisation,
        amount: Money,
        _: Timestamp,
    ) -> PaymentFuture<'a, Captured> {
        Box::pin(async move {
            let extra = amount.minor - auth.authorised.minor;
            let reauthorised = extra <= 0
                || behaviour(method)
                    .authorise(Money::new(extra, amount.currency))
                    .is_ok();
            let taken = if reauthorised {
                amount.minor
            } else {
                auth.authorised.minor
            };
            Ok(Captured {
                taken: Money::new(taken, amount.currency),
                uncollected: Money::new(amount.minor - taken, amount.currency),
            })
        })
    }

    fn void<'a>(
        &'a self,
        _: &'a PaymentMethod,
        _: &'a Authorisation,
        _: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn charge<'a>(
        &'a self,
        method: &'a PaymentMethod,
        _: JobId,
        amount: Money,
        _: &'a str,
        _: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(async move { behaviour(method).authorise(amount) })
    }

    fn refund<'a>(
        &'a self,
        _: &'a PaymentMethod,
        _: JobId,
        _: Money,
        _: &'a str,
        _: Timestamp,
    ) -> PaymentFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// The smallest and largest wallet top-up, in minor units.
pub const TOP_UP_LIMITS: (i64, i64) = (100, 50_000);
/// The largest tip, in minor units (the smallest is 1).
pub const TIP_MAX_MINOR: i64 = 10_000;
/// How long after a ride ends its rider may tip, in seconds.
pub const TIP_WINDOW_SECS: i64 = 72 * 3600;
/// The most cards a user may store.
pub const MAX_CARDS: i64 = 10;

/// A rider's ways to pay: the built-in cash and wallet, then stored cards; with the wallet's balance.
#[derive(Debug, Clone)]
pub struct PaymentMethods {
    /// Every method, cash first.
    pub methods: Vec<PaymentMethod>,
    /// The wallet.
    pub wallet: Wallet,
}

/// How a job (a ride, an order) is paid and tipped, for its receipt.
#[derive(Debug, Clone)]
pub struct RidePayment {
    /// The job's authorisation (none for rides requested before payments existed: cash; none for
    /// orders placed before orders were paid through a method).
    pub authorisation: Option<Authorisation>,
    /// The method's card digits, if a card.
    pub last4: Option<String>,
    /// The tip, if any.
    pub tip: Option<Tip>,
}

fn built_in(user: UserId, kind: PaymentMethodKind) -> PaymentMethod {
    PaymentMethod {
        id: match kind {
            PaymentMethodKind::Wallet => WALLET_METHOD_ID,
            _ => CASH_METHOD_ID,
        }
        .to_owned(),
        user,
        kind,
        last4: None,
        provider_token: None,
        created_at: Timestamp::from_millis(0),
    }
}

impl From<PaymentError> for AppError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::InsufficientFunds { .. } | PaymentError::CardDeclined => {
                AppError::PaymentRequired {
                    code: e.code(),
                    message: e.to_string(),
                }
            }
            PaymentError::InvalidCardNumber
            | PaymentError::InvalidAmount
            | PaymentError::WalletFull(_)
            | PaymentError::CashNotChargeable => AppError::invalid(e.code(), e.to_string()),
            PaymentError::NotAuthorised(_) => AppError::conflict(e.code(), e.to_string()),
            PaymentError::Provider(m) => AppError::Internal(format!("payment provider: {m}")),
        }
    }
}

fn require_rider(user: &User) -> Result<(), AppError> {
    if user.role == Role::Rider {
        Ok(())
    } else {
        Err(AppError::Forbidden("only riders can do this"))
    }
}

impl App {
    /// What a driver earns from `fare`: the fare less the platform's commission.
    pub fn driver_take(&self, fare: Money) -> Money {
        doorstep_domain::pricing::commission(fare, self.config().pricing.commission_bps)
            .and_then(|c| fare.checked_sub(c))
            .unwrap_or(fare)
    }

    /// The provider of a kind of method.
    pub fn payment_provider(&self, kind: PaymentMethodKind) -> Box<dyn PaymentProvider> {
        match kind {
            PaymentMethodKind::Cash => Box::new(CashProvider),
            PaymentMethodKind::Wallet => Box::new(WalletProvider {
                store: self.store().clone(),
            }),
            PaymentMethodKind::TestCard => Box::new(TestCardProvider),
        }
    }

    /// A user's payment method by id: `cash`, `wallet` or a stored card (404 `payment_method_not_found`).
    pub async fn payment_method(&self, user: UserId, id: &str) -> Result<PaymentMethod, AppError> {
        match id {
            CASH_METHOD_ID => Ok(built_in(user, PaymentMethodKind::Cash)),
            WALLET_METHOD_ID => Ok(built_in(user, PaymentMethodKind::Wallet)),
            _ => self
                .store()
                .payment_method(user, id)
                .await?
                .ok_or(AppError::NotFound("payment_method")),
        }
    }

    async fn wallet_of(&self, user: UserId) -> Result<Wallet, AppError> {
        Ok(self
            .store()
            .wallet(user)
            .await?
            .unwrap_or(Wallet::empty(self.config().pricing.currency)))
    }

    /// The rider's payment methods and wallet.
    pub async fn payment_methods(&self, user: &User) -> Result<PaymentMethods, AppError> {
        require_rider(user)?;
        let mut methods = vec![
            built_in(user.id, PaymentMethodKind::Cash),
            built_in(user.id, PaymentMethodKind::Wallet),
        ];
        methods.extend(self.store().payment_methods_of(user.id).await?);
        Ok(PaymentMethods {
            methods,
            wallet: self.wallet_of(user.id).await?,
        })
    }

    /// Adds a test card by its number (only its last four digits and the test behaviour are kept).
    pub async fn add_test_card(
        &self,
        user: &User,
        number: &str,
    ) -> Result<PaymentMethod, AppError> {
        require_rider(user)?;
        let (behaviour, last4) = parse_test_card(number)?;
        if self.store().count_payment_methods(user.id).await? >= MAX_CARDS {
            return Err(AppError::conflict(
                "too_many_payment_methods",
                format!("at most {MAX_CARDS} cards can be stored"),
            ));
        }
        let method = PaymentMethod {
            id: uuid::Uuid::now_v7().to_string(),
            user: user.id,
            kind: PaymentMethodKind::TestCard,
            last4: Some(last4),
            provider_token: Some(behaviour.as_str().to_owned()),
            created_at: self.clock().now(),
        };
        self.store().insert_payment_method(&method).await?;
        Ok(method)
    }

    /// Tops up the rider's wallet through the test provider (always approves) within
    /// [`TOP_UP_LIMITS`]; a retry with the same key adds nothing. Returns the wallet.
    pub async fn top_up_wallet(
        &self,
        user: &User,
        amount_minor: i64,
        key: &str,
    ) -> Result<Wallet, AppError> {
        require_rider(user)?;
        let (min, max) = TOP_UP_LIMITS;
        if !(min..=max).contains(&amount_minor) {
            return Err(AppError::invalid(
                "invalid_amount",
                format!("a top-up is {min} to {max} minor units"),
            ));
        }
        let currency = self.config().pricing.currency;
        let key = format!("topup:{key}");
        match self
            .store()
            .change_wallet(&WalletChange {
                user: user.id,
                currency,
                balance_delta: amount_minor,
                held_delta: 0,
                kind: "top_up",
                job: None,
                idempotency_key: &key,
                at: self.clock().now(),
            })
            .await?
        {
            WalletOutcome::Applied(w) | WalletOutcome::Duplicate(w)
                if w.balance <= Wallet::MAX_BALANCE =>
            {
                Ok(w)
            }
            _ => Err(PaymentError::WalletFull(Wallet::MAX_BALANCE).into()),
        }
    }

    /// Authorises `amount` for the job about to be created (`job`: a ride's quoted fare, an order's
    /// total) on the customer's method. Nothing is recorded yet: [`App::record_authorisation`] does once
    /// the job exists.
    pub(crate) async fn authorise_job(
        &self,
        method: &PaymentMethod,
        job: JobId,
        amount: Money,
    ) -> Result<Authorisation, AppError> {
        let now = self.clock().now();
        let provider = self.payment_provider(method.kind);
        let authorised = provider.authorise(method, job, amount, now).await?;
        metrics::counter!("payments_authorised_total", "kind" => method.kind.as_str()).increment(1);
        Ok(Authorisation {
            job,
            user: method.user,
            method_id: method.id.clone(),
            kind: method.kind,
            authorised: authorised.amount,
            captured: None,
            uncollected: Money::zero(amount.currency),
            state: AuthorisationState::Authorised,
            provider_ref: authorised.provider_ref,
            created_at: now,
            updated_at: now,
        })
    }

    /// Releases an authorisation made for a job that was not created after all.
    pub(crate) async fn release_unused(&self, method: &PaymentMethod, auth: &Authorisation) {
        let provider = self.payment_provider(method.kind);
        if let Err(e) = provider.void(method, auth, self.clock().now()).await {
            tracing::error!(error = %e, job = %auth.job, "releasing an unused authorisation failed");
        }
    }

    /// Records the authorisation of a created job.
    pub(crate) async fn record_authorisation(&self, auth: &Authorisation) -> Result<(), AppError> {
        Ok(self.store().insert_authorisation(auth).await?)
    }

    /// Settles a ride that just ended: captures the final fare of a completed ride (for cash, records
    /// what the driver collected), captures a late cancellation's fee, or voids the hold. Failures are
    /// logged (the ride's end stands) and the step can be retried: every call is idempotent.
    pub(crate) async fn settle_ride(&self, ride: &Ride) {
        if let Err(e) = self.try_settle_ride(ride).await {
            tracing::error!(error = %e, ride_id = %ride.id(), "settling the ride's payment failed");
            metrics::counter!("payment_settlement_failures_total").increment(1);
        }
    }

    async fn try_settle_ride(&self, ride: &Ride) -> Result<(), AppError> {
        let job = JobId::from(ride.id());
        let now = self.clock().now();
        let currency = ride.quoted.total.currency;
        let auth = match self.store().authorisation(job).await? {
            Some(a) => a,
            // Requested before payments existed: cash, as the default is.
            None => Authorisation {
                job,
                user: ride.rider(),
                method_id: CASH_METHOD_ID.to_owned(),
                kind: PaymentMethodKind::Cash,
                authorised: Money::zero(currency),
                captured: None,
                uncollected: Money::zero(currency),
                state: AuthorisationState::Authorised,
                provider_ref: None,
                created_at: now,
                updated_at: now,
            },
        };
        let charge = match (ride.state(), &ride.final_fare) {
            (RideState::Completed, Some(fare)) => Some(fare.total),
            // A cash rider is not there to pay a cancellation fee: it stays owed (posted, uncollected).
            (RideState::Cancelled, _) if auth.kind != PaymentMethodKind::Cash => ride.cancel_fee(),
            _ => None,
        };
        let Some(ended) = self.settle_authorisation(auth, charge).await? else {
            return Ok(());
        };
        // Cash collected by the driver: the ledger shows the commission owed by the driver.
        if ended.kind == PaymentMethodKind::Cash
            && ride.state() == RideState::Completed
            && let (Some(driver), Some(collected)) = (ride.driver(), ended.captured)
            && collected.minor > 0
        {
            let posting = cash_collected_posting(job, driver, collected, now)
                .map_err(|e| AppError::Internal(format!("cash posting: {e}")))?;
            match self.store().insert_posting(&posting).await {
                Ok(()) | Err(StoreError::DuplicatePosting) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Ends the job's authorisation `auth` (a job that just ended): captures `charge` when it is more
    /// than zero (a completed ride's fare, a delivered order's total, a late cancellation's fee; for
    /// cash, records what was collected), else voids the hold. Returns the authorisation as it ended;
    /// `None` when it had ended already (a retried settlement). Every provider call is idempotent, so a
    /// failed settlement can be retried.
    pub(crate) async fn settle_authorisation(
        &self,
        auth: Authorisation,
        charge: Option<Money>,
    ) -> Result<Option<Authorisation>, AppError> {
        if auth.state != AuthorisationState::Authorised {
            return Ok(None);
        }
        let now = self.clock().now();
        let method = self.payment_method(auth.user, &auth.method_id).await?;
        let provider = self.payment_provider(method.kind);
        let mut ended = auth.clone();
        match charge {
            Some(amount) if amount.minor > 0 => {
                let captured = provider.capture(&method, &auth, amount, now).await?;
                ended.capture(captured.taken, captured.uncollected, now)?;
                metrics::counter!("payments_captured_total", "kind" => method.kind.as_str())
                    .increment(1);
            }
            _ => {
                provider.void(&method, &auth, now).await?;
                ended.void(now)?;
                metrics::counter!("payments_voided_total", "kind" => method.kind.as_str())
                    .increment(1);
            }
        }
        if self.store().authorisation(auth.job).await?.is_some() {
            self.store().end_authorisation(&ended).await?;
        }
        Ok(Some(ended))
    }

    /// How a ride was paid and tipped, for its rider, driver or an admin.
    pub async fn ride_payment(&self, ride: &Ride) -> Result<RidePayment, AppError> {
        self.job_payment(JobId::from(ride.id())).await
    }

    /// How a job (a ride, an order) was paid and tipped: its authorisation, the card's digits, the tip.
    pub async fn job_payment(&self, job: JobId) -> Result<RidePayment, AppError> {
        let authorisation = self.store().authorisation(job).await?;
        let last4 = match &authorisation {
            Some(a) if a.kind == PaymentMethodKind::TestCard => self
                .store()
                .payment_method(a.user, &a.method_id)
                .await?
                .and_then(|m| m.last4),
            _ => None,
        };
        Ok(RidePayment {
            authorisation,
            last4,
            tip: self.store().tip(job).await?,
        })
    }

    /// The rider tips the driver of their completed ride, once, within [`TIP_WINDOW_SECS`] of its end,
    /// 1 to [`TIP_MAX_MINOR`] minor units, charged through the ride's payment method (a cash ride's
    /// tip needs `method_id`, a wallet or card). The tip is posted to the ledger, all of it to the
    /// driver's tips. A retry with the same key returns the tip; another tip is 409 `already_tipped`.
    pub async fn tip(
        &self,
        user: &User,
        id: RideId,
        amount_minor: i64,
        key: &str,
        method_id: Option<&str>,
    ) -> Result<(Ride, Tip), AppError> {
        require_rider(user)?;
        let ride = self.ride_for(user, id).await?;
        if ride.rider() != user.id {
            return Err(AppError::NotFound("ride"));
        }
        let job = JobId::from(id);
        if let Some(existing) = self.store().tip(job).await? {
            return if existing.idempotency_key == key && existing.amount.minor == amount_minor {
                Ok((ride, existing))
            } else {
                Err(AppError::conflict(
                    "already_tipped",
                    "this ride was already tipped",
                ))
            };
        }
        let (RideState::Completed, Some(driver), Some(ended)) =
            (ride.state(), ride.driver(), ride.ended_at())
        else {
            return Err(AppError::conflict(
                "ride_not_completed",
                "only completed rides can be tipped",
            ));
        };
        if !(1..=TIP_MAX_MINOR).contains(&amount_minor) {
            return Err(AppError::invalid(
                "invalid_amount",
                format!("a tip is 1 to {TIP_MAX_MINOR} minor units"),
            ));
        }
        let now = self.clock().now();
        if now.secs_since(ended) > TIP_WINDOW_SECS {
            return Err(AppError::conflict(
                "tip_window_closed",
                "a ride can be tipped up to 72 hours after it ended",
            ));
        }
        let ride_method = self
            .store()
            .authorisation(job)
            .await?
            .map_or_else(|| CASH_METHOD_ID.to_owned(), |a| a.method_id);
        let method_id = match method_id {
            Some(m) => m.to_owned(),
            None => ride_method,
        };
        let method = self.payment_method(user.id, &method_id).await?;
        if method.kind == PaymentMethodKind::Cash {
            return Err(AppError::invalid(
                "payment_method_required",
                "a cash ride's tip is paid with the wallet or a card: name it in method_id",
            ));
        }
        let amount = Money::new(amount_minor, ride.quoted.total.currency);
        let posting_key = PostingKey::once(PostingKind::Tip);
        let posting = tip_posting(job, user.id, driver, amount, posting_key.clone(), now)
            .map_err(|e| AppError::Internal(format!("tip posting: {e}")))?;
        let provider = self.payment_provider(method.kind);
        let wallet_key = format!("tip:{job}");
        provider
            .charge(&method, job, amount, &wallet_key, now)
            .await?;
        let tip = Tip {
            job,
            user: user.id,
            idempotency_key: key.to_owned(),
            amount,
            method_id: method.id.clone(),
            at: now,
        };
        match self.store().record_tip(&tip, &posting).await? {
            TipOutcome::Recorded => {
                metrics::counter!("tips_total", "kind" => method.kind.as_str()).increment(1);
                Ok((ride, tip))
            }
            TipOutcome::Existing(existing)
                if existing.idempotency_key == key && existing.amount == amount =>
            {
                Ok((ride, existing))
            }
            TipOutcome::Existing(_) => Err(AppError::conflict(
                "already_tipped",
                "this ride was already tipped",
            )),
        }
    }
}
