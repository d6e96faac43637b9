//! Double-entry bookkeeping. Money moves only as a [`Posting`]: a set of entries on accounts whose amounts
//! sum to zero in one currency. A rider's charge is a negative entry on their account; what the driver and
//! the platform receive are positive entries.

use crate::ids::{RideId, UserId};
use crate::money::{Money, MoneyError};
use crate::pricing::commission;
use crate::ride::{Ride, RideState};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An account of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "user", rename_all = "snake_case")]
pub enum Account {
    /// What a rider has been charged (a running debit).
    Rider(UserId),
    /// What a driver has earned.
    DriverEarnings(UserId),
    /// The platform's commission on fares.
    PlatformCommission,
    /// The platform's share of cancellation fees.
    PlatformFees,
}

impl Account {
    /// A stable text key for storage: `rider:<uuid>`, `driver:<uuid>`, `platform:commission`, `platform:fees`.
    pub fn key(&self) -> String {
        match self {
            Account::Rider(u) => format!("rider:{u}"),
            Account::DriverEarnings(u) => format!("driver:{u}"),
            Account::PlatformCommission => "platform:commission".to_owned(),
            Account::PlatformFees => "platform:fees".to_owned(),
        }
    }

    /// Parses a key produced by [`Account::key`].
    pub fn parse_key(key: &str) -> Option<Account> {
        match key.split_once(':')? {
            ("rider", u) => u.parse().ok().map(Account::Rider),
            ("driver", u) => u.parse().ok().map(Account::DriverEarnings),
            ("platform", "commission") => Some(Account::PlatformCommission),
            ("platform", "fees") => Some(Account::PlatformFees),
            _ => None,
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// What a posting is for. A ride has at most one posting of each kind (the store enforces it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingKind {
    /// The fare of a completed ride.
    RideFare,
    /// The fee of a late cancellation.
    CancellationFee,
}

impl PostingKind {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PostingKind::RideFare => "ride_fare",
            PostingKind::CancellationFee => "cancellation_fee",
        }
    }

    /// Parses the name produced by [`PostingKind::as_str`].
    pub fn parse(s: &str) -> Option<PostingKind> {
        [PostingKind::RideFare, PostingKind::CancellationFee]
            .into_iter()
            .find(|k| k.as_str() == s)
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
}

/// A balanced set of ledger entries for one ride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    ride_id: RideId,
    kind: PostingKind,
    at: Timestamp,
    entries: Vec<LedgerEntry>,
}

impl Posting {
    /// Builds a posting; refused unless the entries are non-empty, in one currency, and sum to zero.
    pub fn new(
        ride_id: RideId,
        kind: PostingKind,
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
            ride_id,
            kind,
            at,
            entries,
        })
    }

    /// The ride the posting belongs to.
    pub fn ride_id(&self) -> RideId {
        self.ride_id
    }

    /// What it is for.
    pub fn kind(&self) -> PostingKind {
        self.kind
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
        ride.id,
        kind,
        at,
        vec![
            LedgerEntry {
                account: Account::Rider(ride.rider),
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
    match (ride.state, &ride.final_fare, ride.driver) {
        (RideState::Completed, Some(fare), Some(driver)) => split(
            ride,
            PostingKind::RideFare,
            fare.total,
            driver,
            Account::PlatformCommission,
            commission_bps,
            at,
        ),
        _ => Err(LedgerError::NothingToPost(ride.state)),
    }
}

/// The posting of a late cancellation's fee: the rider pays, the driver who was on the way gets it less the
/// platform's share.
pub fn cancellation_fee_posting(
    ride: &Ride,
    commission_bps: i64,
    at: Timestamp,
) -> Result<Posting, LedgerError> {
    match (ride.state, ride.cancel_fee, ride.driver) {
        (RideState::Cancelled, Some(fee), Some(driver)) => split(
            ride,
            PostingKind::CancellationFee,
            fee,
            driver,
            Account::PlatformFees,
            commission_bps,
            at,
        ),
        _ => Err(LedgerError::NothingToPost(ride.state)),
    }
}
