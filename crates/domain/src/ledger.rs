//! Double-entry bookkeeping. Money moves only as a [`Posting`]: a set of entries on accounts whose amounts
//! sum to zero in one currency. A customer's charge is a negative entry on their account; what the worker,
//! the merchant and the platform receive are positive entries.
//!
//! Postings are keyed by job, several per job (a fare, then a tip, then a partial refund), each with its
//! own idempotency key ([`PostingKey`]): the store keeps one posting per job and key, so a retried
//! completion or tip never moves money twice. A ride's job has the ride's id, so a ride's postings are
//! its job's postings.
//!
//! The builders ([`fare_posting`], [`job_cancellation_fee_posting`], [`delivery_order_posting`],
//! [`house_call_posting`], [`tip_posting`], [`refund_posting`], [`order_refund_posting`]) split amounts in integer minor units:
//! every share but one is rounded, and the last is the total minus the others, so splits always sum
//! exactly to what the customer pays. [`TrialBalance`] sums any set of postings per account.

use crate::ids::{JobId, MerchantId, RideId, UserId};
use crate::money::{Currency, Money, MoneyError};
use crate::pricing::commission;
use crate::ride::{Ride, RideState};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// An account of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "user", rename_all = "snake_case")]
pub enum Account {
    /// What a customer has been charged (a running debit), for every kind of job. Named for rides, the
    /// first customers; its key stays `rider:<uuid>` so stored entries keep their meaning. Prefer
    /// [`Account::customer`] in new code.
    Rider(UserId),
    /// What a worker (driver, courier, provider) has earned, for every kind of job. Named for drivers;
    /// its key stays `driver:<uuid>`. Prefer [`Account::worker_earnings`] in new code.
    DriverEarnings(UserId),
    /// The platform's commission on fares and sales.
    PlatformCommission,
    /// The platform's fees: its share of cancellation fees, delivery and booking fees.
    PlatformFees,
    /// What the platform owes a merchant for what it sold (the food of an order, less commission).
    MerchantPayable(MerchantId),
    /// A worker's tips: kept apart from earnings, since tips are the worker's in full.
    Tips(UserId),
    /// Refunds the platform gave customers (a running debit: the cost of refunds).
    Refunds,
    /// Cash a worker collected from customers for the platform (a running credit). Its counterpart is a
    /// debit on the worker's earnings: a cash fare leaves the worker owing the platform its commission.
    CashCollected(UserId),
    /// Discounts the platform gave through promo codes (a running debit: the cost of promotions).
    Promotions,
    /// What the platform pays workers itself rather than as a share of a fare (a courier's pay per
    /// order and per km): a running debit, the cost of delivery.
    WorkerPay,
}

impl Account {
    /// The customer account of `user` (the same account whatever the job kind).
    pub const fn customer(user: UserId) -> Account {
        Account::Rider(user)
    }

    /// The earnings account of the worker `user` (the same account whatever the job kind).
    pub const fn worker_earnings(user: UserId) -> Account {
        Account::DriverEarnings(user)
    }

    /// A stable text key for storage: `rider:<uuid>`, `driver:<uuid>`, `merchant:<uuid>`, `tips:<uuid>`,
    /// `platform:commission`, `platform:fees`, `platform:refunds`, `platform:promotions`,
    /// `platform:worker_pay`.
    pub fn key(&self) -> String {
        match self {
            Account::Rider(u) => format!("rider:{u}"),
            Account::DriverEarnings(u) => format!("driver:{u}"),
            Account::PlatformCommission => "platform:commission".to_owned(),
            Account::PlatformFees => "platform:fees".to_owned(),
            Account::MerchantPayable(m) => format!("merchant:{m}"),
            Account::Tips(u) => format!("tips:{u}"),
            Account::Refunds => "platform:refunds".to_owned(),
            Account::CashCollected(u) => format!("cash:{u}"),
            Account::Promotions => "platform:promotions".to_owned(),
            Account::WorkerPay => "platform:worker_pay".to_owned(),
        }
    }

    /// Parses a key produced by [`Account::key`].
    pub fn parse_key(key: &str) -> Option<Account> {
        match key.split_once(':')? {
            ("rider", u) => u.parse().ok().map(Account::Rider),
            ("driver", u) => u.parse().ok().map(Account::DriverEarnings),
            ("merchant", m) => m.parse().ok().map(Account::MerchantPayable),
            ("tips", u) => u.parse().ok().map(Account::Tips),
            ("cash", u) => u.parse().ok().map(Account::CashCollected),
            ("platform", "commission") => Some(Account::PlatformCommission),
            ("platform", "fees") => Some(Account::PlatformFees),
            ("platform", "refunds") => Some(Account::Refunds),
            ("platform", "promotions") => Some(Account::Promotions),
            ("platform", "worker_pay") => Some(Account::WorkerPay),
            _ => None,
        }
    }

    /// The customer whose account this is, if it is a customer account.
    pub const fn customer_of(&self) -> Option<UserId> {
        match self {
            Account::Rider(u) => Some(*u),
            Account::DriverEarnings(_)
            | Account::PlatformCommission
            | Account::PlatformFees
            | Account::MerchantPayable(_)
            | Account::Tips(_)
            | Account::Refunds
            | Account::CashCollected(_)
            | Account::Promotions
            | Account::WorkerPay => None,
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// What a posting is for. A job has at most one posting per [`PostingKey`] (the store enforces it); the
/// kinds that happen once per job use [`PostingKey::once`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingKind {
    /// The fare of a completed ride.
    RideFare,
    /// The fee of a late cancellation.
    CancellationFee,
    /// A delivered order: the food, the delivery fee and the service fee.
    DeliveryOrder,
    /// A house call's price and booking fee.
    HouseCallBooking,
    /// A tip from the customer to the worker.
    Tip,
    /// Money given back to the customer.
    Refund,
    /// Cash the worker collected from the customer for the job.
    CashCollected,
}

impl PostingKind {
    /// Every kind.
    pub const ALL: [PostingKind; 7] = [
        PostingKind::RideFare,
        PostingKind::CancellationFee,
        PostingKind::DeliveryOrder,
        PostingKind::HouseCallBooking,
        PostingKind::Tip,
        PostingKind::Refund,
        PostingKind::CashCollected,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PostingKind::RideFare => "ride_fare",
            PostingKind::CancellationFee => "cancellation_fee",
            PostingKind::DeliveryOrder => "delivery_order",
            PostingKind::HouseCallBooking => "house_call_booking",
            PostingKind::Tip => "tip",
            PostingKind::Refund => "refund",
            PostingKind::CashCollected => "cash_collected",
        }
    }

    /// Parses the name produced by [`PostingKind::as_str`].
    pub fn parse(s: &str) -> Option<PostingKind> {
        PostingKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One line of a posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The account moved.
    pub account: Account,
    /// Signed amount: negative debits the account, positive credits it.
    pub amount: Money,
}

/// The idempotency key of a posting within its job: the store keeps at most one posting per job and key,
/// so retrying the command that posts never moves money twice. 1 to 64 characters of `a-z`, `0-9`, `_`,
/// `-` and `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PostingKey(String);

impl PostingKey {
    /// The longest key, in characters.
    pub const MAX_CHARS: usize = 64;

    /// The key of a kind that is posted at most once per job (a fare, a cancellation fee, an order, a
    /// booking): the kind's name, so a ride's postings keep their historical uniqueness by kind.
    pub fn once(kind: PostingKind) -> PostingKey {
        PostingKey(kind.as_str().to_owned())
    }

    /// The `n`th posting of `kind` in a job (`tip:2`), for kinds posted several times when the caller
    /// numbers them.
    pub fn nth(kind: PostingKind, n: u32) -> PostingKey {
        PostingKey(format!("{}:{n}", kind.as_str()))
    }

    /// A key the caller built, for example from a request's idempotency key (`refund:<uuid>`).
    pub fn parse(s: &str) -> Result<PostingKey, LedgerError> {
        let ok = (1..=PostingKey::MAX_CHARS).contains(&s.len())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b':')
            });
        if ok {
            Ok(PostingKey(s.to_owned()))
        } else {
            Err(LedgerError::InvalidKey(s.to_owned()))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PostingKey {
    type Error = LedgerError;

    fn try_from(s: String) -> Result<PostingKey, LedgerError> {
        PostingKey::parse(&s)
    }
}

impl From<PostingKey> for String {
    fn from(key: PostingKey) -> String {
        key.0
    }
}

impl fmt::Display for PostingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a posting could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The entries do not sum to zero.
    #[error("entries do not balance: they sum to {0}")]
    Unbalanced(i64),
    /// No entries.
    #[error("a posting needs entries")]
    Empty,
    /// Amount arithmetic failed (overflow or mixed currencies).
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The ride is not in a state that posts this kind.
    #[error("ride is {0}, nothing to post")]
    NothingToPost(RideState),
    /// An amount that must be positive (a tip, a refund, what a customer pays) is not.
    #[error("the {0} must be more than zero")]
    NotPositive(&'static str),
    /// An amount that must not be negative (a fee) is.
    #[error("the {0} must not be negative")]
    Negative(&'static str),
    /// A commission rate outside 0 to 10,000 basis points.
    #[error("a rate of {0} basis points is outside 0 to 10000")]
    RateOutOfRange(i64),
    /// The refund is more than what the customer paid for the job and was not refunded yet.
    #[error("at most {refundable} minor units can be refunded")]
    RefundTooLarge {
        /// What can still be refunded, in minor units.
        refundable: i64,
    },
    /// The job's postings charge no customer, or more than one.
    #[error("no single customer was charged for this job")]
    NoCustomer,
    /// A refund the merchant bears is more than the merchant was credited for the job and has not
    /// borne yet.
    #[error("the merchant can bear at most {bearable} minor units of refunds on this order")]
    MerchantRefundTooLarge {
        /// What the merchant's account still holds for the job, in minor units.
        bearable: i64,
    },
    /// Not a posting key.
    #[error("{0:?} is not a posting key: 1 to 64 of a-z, 0-9, _, - and :")]
    InvalidKey(String),
}

impl LedgerError {
    /// A stable machine-readable code for the error.
    pub const fn code(&self) -> &'static str {
        match self {
            LedgerError::Unbalanced(_) => "posting_unbalanced",
            LedgerError::Empty => "posting_empty",
            LedgerError::Money(_) => "money_error",
            LedgerError::NothingToPost(_) => "nothing_to_post",
            LedgerError::NotPositive(_) => "amount_not_positive",
            LedgerError::Negative(_) => "amount_negative",
            LedgerError::RateOutOfRange(_) => "rate_out_of_range",
            LedgerError::RefundTooLarge { .. } => "refund_too_large",
            LedgerError::NoCustomer => "no_customer",
            LedgerError::MerchantRefundTooLarge { .. } => "merchant_refund_too_large",
            LedgerError::InvalidKey(_) => "invalid_posting_key",
        }
    }
}

/// A balanced set of ledger entries for one job (a ride's job has the ride's id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    job: JobId,
    kind: PostingKind,
    key: PostingKey,
    at: Timestamp,
    entries: Vec<LedgerEntry>,
}

impl Posting {
    /// Builds a posting of a ride keyed [`PostingKey::once`] by its kind; refused unless the entries are
    /// non-empty, in one currency, and sum to zero.
    pub fn new(
        ride_id: RideId,
        kind: PostingKind,
        at: Timestamp,
        entries: Vec<LedgerEntry>,
    ) -> Result<Posting, LedgerError> {
        Posting::for_job(
            JobId::from(ride_id),
            kind,
            PostingKey::once(kind),
            at,
            entries,
        )
    }

    /// Builds a posting of a job under its idempotency key; refused unless the entries are non-empty, in
    /// one currency, and sum to zero.
    pub fn for_job(
        job: JobId,
        kind: PostingKind,
        key: PostingKey,
        at: Timestamp,
        entries: Vec<LedgerEntry>,
    ) -> Result<Posting, LedgerError> {
        let first = entries.first().ok_or(LedgerError::Empty)?;
        let mut sum = Money::zero(first.amount.currency);
        for e in &entries {
            sum = sum.checked_add(e.amount)?;
        }
        if sum.minor != 0 {
            return Err(LedgerError::Unbalanced(sum.minor));
        }
        Ok(Posting {
            job,
            kind,
            key,
            at,
            entries,
        })
    }

    /// The ride the posting belongs to (the job's id read as a ride id: meaningful for rides' jobs).
    pub fn ride_id(&self) -> RideId {
        RideId::from(self.job)
    }

    /// The job the posting belongs to.
    pub fn job_id(&self) -> JobId {
        self.job
    }

    /// What it is for.
    pub fn kind(&self) -> PostingKind {
        self.kind
    }

    /// Its idempotency key within the job.
    pub fn key(&self) -> &PostingKey {
        &self.key
    }

    /// When it was posted.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// Its balanced entries.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }
}

/// Splits `amount` charged to `rider` between `driver` and the platform account `platform`.
fn split(
    ride: &Ride,
    kind: PostingKind,
    amount: Money,
    driver: UserId,
    platform: Account,
    commission_bps: i64,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    let platform_share = commission(amount, commission_bps)?;
    let driver_share = amount.checked_sub(platform_share)?;
    Posting::new(
        ride.id(),
        kind,
        at,
        vec![
            LedgerEntry {
                account: Account::Rider(ride.rider()),
                amount: amount.negated(),
            },
            LedgerEntry {
                account: Account::DriverEarnings(driver),
                amount: driver_share,
            },
            LedgerEntry {
                account: platform,
                amount: platform_share,
            },
        ],
    )
}

/// The posting of a completed ride's final fare: the rider pays, the driver earns the fare less the
/// platform's commission.
pub fn ride_fare_posting(
    ride: &Ride,
    commission_bps: i64,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    match (ride.state(), &ride.final_fare, ride.driver()) {
        (RideState::Completed, Some(fare), Some(driver)) => split(
            ride,
            PostingKind::RideFare,
            fare.total,
            driver,
            Account::PlatformCommission,
            commission_bps,
            at,
        ),
        _ => Err(LedgerError::NothingToPost(ride.state())),
    }
}

/// The posting of a late cancellation's fee: the rider pays, the driver who was on the way gets it less the
/// platform's share.
pub fn cancellation_fee_posting(
    ride: &Ride,
    commission_bps: i64,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    match (ride.state(), ride.cancel_fee(), ride.driver()) {
        (RideState::Cancelled, Some(fee), Some(driver)) => split(
            ride,
            PostingKind::CancellationFee,
            fee,
            driver,
            Account::PlatformFees,
            commission_bps,
            at,
        ),
        _ => Err(LedgerError::NothingToPost(ride.state())),
    }
}

/// Entries being gathered for a posting: one line per account, in the order accounts first appear.
struct Lines(Vec<LedgerEntry>);

impl Lines {
    fn new() -> Lines {
        Lines(Vec::new())
    }

    /// Adds `amount` to `account`'s line (a new line if the account has none yet).
    fn add(&mut self, account: Account, amount: Money) -> Result<(), LedgerError> {
        match self.0.iter_mut().find(|e| e.account == account) {
            Some(e) => e.amount = e.amount.checked_add(amount)?,
            None => self.0.push(LedgerEntry { account, amount }),
        }
        Ok(())
    }

    /// The lines, without those that came to zero (but never none: a posting needs entries).
    fn into_entries(self) -> Vec<LedgerEntry> {
        let all = self.0.clone();
        let nonzero: Vec<LedgerEntry> =
            self.0.into_iter().filter(|e| e.amount.minor != 0).collect();
        if nonzero.is_empty() { all } else { nonzero }
    }
}

fn check_rate(bps: i64) -> Result<(), LedgerError> {
    if (0..=10_000).contains(&bps) {
        Ok(())
    } else {
        Err(LedgerError::RateOutOfRange(bps))
    }
}

fn check_positive(amount: Money, what: &'static str) -> Result<(), LedgerError> {
    if amount.minor > 0 {
        Ok(())
    } else {
        Err(LedgerError::NotPositive(what))
    }
}

fn check_not_negative(amount: Money, what: &'static str) -> Result<(), LedgerError> {
    if amount.minor >= 0 {
        Ok(())
    } else {
        Err(LedgerError::Negative(what))
    }
}

/// `amount` split into the platform's `bps` share (rounded) and the rest, which sum to `amount` exactly.
fn split_off(amount: Money, bps: i64) -> Result<(Money, Money), LedgerError> {
    check_rate(bps)?;
    let platform = commission(amount, bps)?;
    Ok((amount.checked_sub(platform)?, platform))
}

/// The fare of a completed job (a ride's): the customer pays `fare`, the worker earns it less the
/// platform's commission of `commission_bps`. Keyed [`PostingKey::once`]; for a ride the same posting as
/// [`ride_fare_posting`].
pub fn fare_posting(
    job: JobId,
    customer: UserId,
    worker: UserId,
    fare: Money,
    commission_bps: i64,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_not_negative(fare, "fare")?;
    let (worker_share, platform) = split_off(fare, commission_bps)?;
    Posting::for_job(
        job,
        PostingKind::RideFare,
        PostingKey::once(PostingKind::RideFare),
        at,
        vec![
            LedgerEntry {
                account: Account::customer(customer),
                amount: fare.negated(),
            },
            LedgerEntry {
                account: Account::worker_earnings(worker),
                amount: worker_share,
            },
            LedgerEntry {
                account: Account::PlatformCommission,
                amount: platform,
            },
        ],
    )
}

/// The fee of a job's late cancellation: the customer pays `fee`; the worker who was on the way gets it
/// less the platform's `commission_bps` share, and with no worker the platform keeps it all.
pub fn job_cancellation_fee_posting(
    job: JobId,
    customer: UserId,
    worker: Option<UserId>,
    fee: Money,
    commission_bps: i64,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_positive(fee, "cancellation fee")?;
    let (worker_share, platform) = match worker {
        Some(_) => split_off(fee, commission_bps)?,
        None => (Money::zero(fee.currency), fee),
    };
    let mut lines = Lines::new();
    lines.add(Account::customer(customer), fee.negated())?;
    if let Some(worker) = worker {
        lines.add(Account::worker_earnings(worker), worker_share)?;
    }
    lines.add(Account::PlatformFees, platform)?;
    Posting::for_job(
        job,
        PostingKind::CancellationFee,
        PostingKey::once(PostingKind::CancellationFee),
        at,
        lines.into_entries(),
    )
}

/// What a customer pays for a delivered order, and how it is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCharge {
    /// The food (the merchant's prices: the order's subtotal).
    pub food: Money,
    /// The delivery fee, the platform's.
    pub delivery_fee: Money,
    /// The platform's service fee.
    pub service_fee: Money,
    /// The fee on an order under the minimum, the platform's.
    pub small_order_fee: Money,
    /// The busy-time surcharge, the platform's.
    pub busy_fee: Money,
    /// The promo code's discount, borne by the platform (its promotions account).
    pub discount: Money,
    /// The platform's commission on the food, in basis points; the merchant gets the rest.
    pub merchant_commission_bps: i64,
    /// What the courier earns for the order (pay per order plus pay per km; tips are posted apart),
    /// paid by the platform (its worker pay account).
    pub courier_pay: Money,
}

impl DeliveryCharge {
    /// The platform's fees on the order (delivery, service, small order, busy time).
    pub fn fees(&self) -> Result<Money, LedgerError> {
        Ok(self
            .delivery_fee
            .checked_add(self.service_fee)?
            .checked_add(self.small_order_fee)?
            .checked_add(self.busy_fee)?)
    }

    /// What the customer pays in all (before any tip): food + fees − discount.
    pub fn total(&self) -> Result<Money, LedgerError> {
        Ok(self
            .food
            .checked_add(self.fees()?)?
            .checked_sub(self.discount)?)
    }
}

/// A delivered order: the customer pays food + fees − discount; the merchant is owed the food less the
/// platform's commission; the platform keeps the commission (commission account) and the fees (fees
/// account), and bears the discount (promotions account) and the courier's pay (worker pay account),
/// which the courier earns. Refused if the discount is more than the food and fees.
pub fn delivery_order_posting(
    job: JobId,
    customer: UserId,
    merchant: MerchantId,
    courier: UserId,
    charge: &DeliveryCharge,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_not_negative(charge.food, "food")?;
    check_not_negative(charge.delivery_fee, "delivery fee")?;
    check_not_negative(charge.service_fee, "service fee")?;
    check_not_negative(charge.small_order_fee, "small order fee")?;
    check_not_negative(charge.busy_fee, "busy fee")?;
    check_not_negative(charge.discount, "discount")?;
    check_not_negative(charge.courier_pay, "courier pay")?;
    let total = charge.total()?;
    check_positive(total, "order total")?;
    let (merchant_share, commission) = split_off(charge.food, charge.merchant_commission_bps)?;
    let mut lines = Lines::new();
    lines.add(Account::customer(customer), total.negated())?;
    lines.add(Account::MerchantPayable(merchant), merchant_share)?;
    lines.add(Account::PlatformCommission, commission)?;
    lines.add(Account::PlatformFees, charge.fees()?)?;
    lines.add(Account::Promotions, charge.discount.negated())?;
    lines.add(Account::worker_earnings(courier), charge.courier_pay)?;
    lines.add(Account::WorkerPay, charge.courier_pay.negated())?;
    Posting::for_job(
        job,
        PostingKind::DeliveryOrder,
        PostingKey::once(PostingKind::DeliveryOrder),
        at,
        lines.into_entries(),
    )
}

/// The fee of an order cancelled after the merchant accepted it (the kitchen had started): the customer
/// pays `fee`; the merchant is owed it less the platform's `commission_bps`. Keyed like every
/// cancellation fee ([`PostingKey::once`] of [`PostingKind::CancellationFee`]), so an operator can waive
/// it with [`fee_waiver_posting`].
pub fn order_cancellation_fee_posting(
    job: JobId,
    customer: UserId,
    merchant: MerchantId,
    fee: Money,
    commission_bps: i64,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_positive(fee, "cancellation fee")?;
    let (merchant_share, commission) = split_off(fee, commission_bps)?;
    let mut lines = Lines::new();
    lines.add(Account::customer(customer), fee.negated())?;
    lines.add(Account::MerchantPayable(merchant), merchant_share)?;
    lines.add(Account::PlatformCommission, commission)?;
    Posting::for_job(
        job,
        PostingKind::CancellationFee,
        PostingKey::once(PostingKind::CancellationFee),
        at,
        lines.into_entries(),
    )
}

/// What a customer pays for a house call, and how it is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseCallCharge {
    /// The service's price, shared between provider and platform.
    pub price: Money,
    /// The booking fee, all the platform's.
    pub booking_fee: Money,
    /// The platform's commission on the price, in basis points; the provider earns the rest.
    pub commission_bps: i64,
}

/// A house call's booking: the customer pays price + booking fee; the provider earns the price less the
/// commission; the platform keeps the commission and the booking fee.
pub fn house_call_posting(
    job: JobId,
    customer: UserId,
    provider: UserId,
    charge: &HouseCallCharge,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_not_negative(charge.price, "price")?;
    check_not_negative(charge.booking_fee, "booking fee")?;
    let total = charge.price.checked_add(charge.booking_fee)?;
    check_positive(total, "booking total")?;
    let (provider_share, commission) = split_off(charge.price, charge.commission_bps)?;
    let mut lines = Lines::new();
    lines.add(Account::customer(customer), total.negated())?;
    lines.add(Account::worker_earnings(provider), provider_share)?;
    lines.add(Account::PlatformCommission, commission)?;
    lines.add(Account::PlatformFees, charge.booking_fee)?;
    Posting::for_job(
        job,
        PostingKind::HouseCallBooking,
        PostingKey::once(PostingKind::HouseCallBooking),
        at,
        lines.into_entries(),
    )
}

/// A tip: the customer pays `amount`, all of it to the worker's tips account. `key` tells tips of one job
/// apart (for example [`PostingKey::nth`] or the request's idempotency key).
pub fn tip_posting(
    job: JobId,
    customer: UserId,
    worker: UserId,
    amount: Money,
    key: PostingKey,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_positive(amount, "tip")?;
    Posting::for_job(
        job,
        PostingKind::Tip,
        key,
        at,
        vec![
            LedgerEntry {
                account: Account::customer(customer),
                amount: amount.negated(),
            },
            LedgerEntry {
                account: Account::Tips(worker),
                amount,
            },
        ],
    )
}

/// Cash the worker collected from the customer for a job (a cash fare): the worker's earnings account is
/// debited by `amount` (they hold the money already) against their cash-collected account. Their
/// earnings balance then shows what they owe the platform (its commission) or are owed. The customer's
/// account is untouched: what they were charged stays on it. Keyed [`PostingKey::once`].
pub fn cash_collected_posting(
    job: JobId,
    worker: UserId,
    amount: Money,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_positive(amount, "cash collected")?;
    Posting::for_job(
        job,
        PostingKind::CashCollected,
        PostingKey::once(PostingKind::CashCollected),
        at,
        vec![
            LedgerEntry {
                account: Account::worker_earnings(worker),
                amount: amount.negated(),
            },
            LedgerEntry {
                account: Account::CashCollected(worker),
                amount,
            },
        ],
    )
}

/// Gives `amount` back to the customer of a job, out of the refunds account, given the job's postings so
/// far (`job_postings`: its charges and earlier refunds). Refused if the job charged no single customer,
/// or if `amount` is more than the customer paid for the job less what was refunded already. Who bears
/// the cost (the platform, a merchant, a worker) is a separate adjustment, not this posting.
pub fn refund_posting(
    job: JobId,
    job_postings: &[Posting],
    amount: Money,
    key: PostingKey,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    check_positive(amount, "refund")?;
    let mut customer = None;
    let mut net = Money::zero(amount.currency);
    for e in job_postings
        .iter()
        .filter(|p| p.job == job)
        .flat_map(|p| p.entries.iter())
    {
        if let Some(c) = e.account.customer_of() {
            if customer.is_some_and(|seen| seen != c) {
                return Err(LedgerError::NoCustomer);
            }
            customer = Some(c);
            net = net.checked_add(e.amount)?;
        }
    }
    let customer = customer.ok_or(LedgerError::NoCustomer)?;
    // The customer's net balance on the job is what they paid less what came back, negated.
    let refundable = net.negated();
    if amount.minor > refundable.minor {
        return Err(LedgerError::RefundTooLarge {
            refundable: refundable.minor.max(0),
        });
    }
    Posting::for_job(
        job,
        PostingKind::Refund,
        key,
        at,
        vec![
            LedgerEntry {
                account: Account::customer(customer),
                amount,
            },
            LedgerEntry {
                account: Account::Refunds,
                amount: amount.negated(),
            },
        ],
    )
}

/// Who bears the cost of a food order's refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundBearer {
    /// The platform, out of its refunds account, as for rides (a late order, a courier's mistake, a
    /// goodwill gesture).
    Platform,
    /// The merchant, out of what it is owed for the order (missing or wrong items: the kitchen's
    /// mistake).
    Merchant(MerchantId),
}

/// Gives `amount` of an order (all of it or part) back to its customer, given the job's postings so far:
/// the customer's account is credited as by [`refund_posting`] (never more than they paid for the job
/// less earlier refunds), and the cost is debited to the platform's refunds account or, when the
/// merchant bears it, to the merchant's payable account. A merchant never bears more than it was credited
/// on the job less the refunds it already bore ([`LedgerError::MerchantRefundTooLarge`]), so its account
/// never goes negative because of one order.
pub fn order_refund_posting(
    job: JobId,
    job_postings: &[Posting],
    amount: Money,
    bearer: RefundBearer,
    key: PostingKey,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    let refund = refund_posting(job, job_postings, amount, key, at)?;
    match bearer {
        RefundBearer::Platform => Ok(refund),
        RefundBearer::Merchant(merchant) => {
            let mut held = Money::zero(amount.currency);
            for e in job_postings
                .iter()
                .filter(|p| p.job == job)
                .flat_map(|p| p.entries.iter())
                .filter(|e| e.account == Account::MerchantPayable(merchant))
            {
                held = held.checked_add(e.amount)?;
            }
            if amount.minor > held.minor {
                return Err(LedgerError::MerchantRefundTooLarge {
                    bearable: held.minor.max(0),
                });
            }
            let entries = refund
                .entries
                .iter()
                .map(|e| LedgerEntry {
                    account: if e.account == Account::Refunds {
                        Account::MerchantPayable(merchant)
                    } else {
                        e.account
                    },
                    amount: e.amount,
                })
                .collect();
            Posting::for_job(job, PostingKind::Refund, refund.key, at, entries)
        }
    }
}

/// The idempotency key of a job's fee waiver: a fee is waived at most once.
pub const FEE_WAIVER_KEY: &str = "waiver:cancellation_fee";

/// Waives the cancellation fee charged for a job: a refund ([`refund_posting`]) of what the fee charged
/// the customer, keyed [`FEE_WAIVER_KEY`] so that it is posted at most once. Refused with
/// [`LedgerError::NoCustomer`] if no fee was charged, and with
/// [`LedgerError::RefundTooLarge`] if earlier refunds left less than the fee to give back.
pub fn fee_waiver_posting(
    job: JobId,
    job_postings: &[Posting],
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    let fee = job_postings
        .iter()
        .filter(|p| p.job == job && p.kind == PostingKind::CancellationFee)
        .flat_map(|p| p.entries.iter())
        .find(|e| e.account.customer_of().is_some())
        .map(|e| e.amount.negated())
        .ok_or(LedgerError::NoCustomer)?;
    refund_posting(
        job,
        job_postings,
        fee,
        PostingKey(FEE_WAIVER_KEY.to_owned()),
        at,
    )
}

/// Whether `posting` is a fee waiver ([`fee_waiver_posting`]) rather than a refund of another kind.
pub fn is_fee_waiver(posting: &Posting) -> bool {
    posting.kind == PostingKind::Refund && posting.key.as_str() == FEE_WAIVER_KEY
}

/// The balance of every account over a set of postings, per currency. Over any set of balanced postings
/// the balances of each currency sum to zero.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrialBalance {
    balances: BTreeMap<(Account, Currency), i64>,
}

impl TrialBalance {
    /// No postings yet.
    pub fn new() -> TrialBalance {
        TrialBalance::default()
    }

    /// Adds a posting's entries (saturating: a real ledger is far from 2^63 minor units).
    pub fn post(&mut self, posting: &Posting) {
        for e in posting.entries() {
            let b = self
                .balances
                .entry((e.account, e.amount.currency))
                .or_default();
            *b = b.saturating_add(e.amount.minor);
        }
    }

    /// The balance of `account` in `currency`, in minor units.
    pub fn balance(&self, account: Account, currency: Currency) -> i64 {
        self.balances
            .get(&(account, currency))
            .copied()
            .unwrap_or(0)
    }

    /// The sum of every account's balance in `currency` (zero when the books balance).
    pub fn total(&self, currency: Currency) -> i128 {
        self.balances
            .iter()
            .filter(|((_, c), _)| *c == currency)
            .map(|(_, b)| i128::from(*b))
            .sum()
    }

    /// Every account's balance.
    pub fn balances(&self) -> impl Iterator<Item = (Account, Currency, i64)> + '_ {
        self.balances.iter().map(|((a, c), b)| (*a, *c, *b))
    }

    /// Whether every currency's balances sum to zero.
    pub fn is_balanced(&self) -> bool {
        let mut per_currency: BTreeMap<Currency, i128> = BTreeMap::new();
        for ((_, c), b) in &self.balances {
            *per_currency.entry(*c).or_default() += i128::from(*b);
        }
        per_currency.values().all(|&t| t == 0)
    }
}

#[cfg(test)]
mod waiver_tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn a_waiver_refunds_the_fee_once_and_balances() -> Result<(), LedgerError> {
        let job = JobId::from_uuid(uuid::Uuid::from_u128(1));
        let (rider, driver) = (
            UserId::from_uuid(uuid::Uuid::from_u128(2)),
            UserId::from_uuid(uuid::Uuid::from_u128(3)),
        );
        let at = Timestamp::from_millis(0);
        let fee = Money::new(500, Currency::USD);
        let charged = job_cancellation_fee_posting(job, rider, Some(driver), fee, 2500, at)?;
        assert_eq!(
            fee_waiver_posting(job, &[], at),
            Err(LedgerError::NoCustomer)
        );
        let waiver = fee_waiver_posting(job, std::slice::from_ref(&charged), at)?;
        assert!(is_fee_waiver(&waiver));
        let mut books = TrialBalance::new();
        books.post(&charged);
        books.post(&waiver);
        assert!(books.is_balanced());
        assert_eq!(books.balance(Account::customer(rider), Currency::USD), 0);
        assert_eq!(books.balance(Account::Refunds, Currency::USD), -500);
        // After a partial refund less than the fee is left to give back.
        let partial = refund_posting(
            job,
            std::slice::from_ref(&charged),
            Money::new(100, Currency::USD),
            PostingKey::nth(PostingKind::Refund, 1),
            at,
        )?;
        assert_eq!(
            fee_waiver_posting(job, &[charged, partial], at),
            Err(LedgerError::RefundTooLarge { refundable: 400 })
        );
        Ok(())
    }
}
