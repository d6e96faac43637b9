//! A merchant's statement: what the ledger owes the merchant for a period of New York calendar days, per
//! day and in all, read from the postings on its payable account (never recomputed from orders), so it
//! reconciles with the books by construction: `payable + cancellation_fees − refunds + adjustments` is
//! the sum of the merchant account's entries in the period.
//!
//! Staff of the merchant read their own merchant's (any other is 404 `merchant_not_found`), operators
//! any merchant's.

use crate::{App, AppError};
use doorstep_domain::ledger::{Account, Posting, PostingKind};
use doorstep_domain::{Currency, MerchantId, Money, MoneyError, Role, Timestamp, User};

/// The longest period a statement covers, days.
pub const MAX_STATEMENT_DAYS: i64 = 92;

/// A New York calendar day, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalDate(i64);

impl LocalDate {
    /// Parses `YYYY-MM-DD` (a real date of years 2000 to 2999).
    pub fn parse(s: &str) -> Option<LocalDate> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(2000..=2999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
            return None;
        }
        let days = doorstep_geo::days_from_civil(i64::from(y), m, d);
        // A day past the month's end (2026-02-30) comes back as another date.
        (LocalDate(days).to_string() == s).then_some(LocalDate(days))
    }

    /// The New York day `at` falls on.
    pub fn of(at: Timestamp) -> LocalDate {
        let secs = at.unix_secs();
        let local = secs + i64::from(doorstep_geo::new_york_utc_offset_secs(secs));
        LocalDate(local.div_euclid(86_400))
    }

    /// The instant the day starts in New York (midnight, never inside a daylight-saving jump, which
    /// happens at 02:00).
    pub fn start(self) -> Timestamp {
        let local_midnight = self.0 * 86_400;
        let guess =
            local_midnight - i64::from(doorstep_geo::new_york_utc_offset_secs(local_midnight));
        let utc = local_midnight - i64::from(doorstep_geo::new_york_utc_offset_secs(guess));
        Timestamp::from_millis(utc * 1000)
    }

    /// The next day.
    pub fn next(self) -> LocalDate {
        LocalDate(self.0 + 1)
    }

    /// Days from `self` to `later`.
    pub fn days_until(self, later: LocalDate) -> i64 {
        later.0 - self.0
    }
}

impl std::fmt::Display for LocalDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = doorstep_geo::civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// What the ledger says about a merchant over a day or a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerchantTotals {
    /// Orders delivered (their order postings).
    pub orders_delivered: u32,
    /// The food sold: the merchant's share plus the platform's commission in each order posting.
    pub subtotal: Money,
    /// The platform's commission on the food.
    pub commission: Money,
    /// What the merchant is owed for the food: subtotal − commission (its credits from order postings).
    pub payable: Money,
    /// The merchant's share of late cancellation fees (its credits from fee postings).
    pub cancellation_fees: Money,
    /// What refunds took back from the merchant (its debits from refund postings), a positive amount.
    pub refunds: Money,
    /// Any other entry on the merchant's account (none of the builders makes one today).
    pub adjustments: Money,
    /// The sum of the merchant account's entries: payable + cancellation fees − refunds + adjustments.
    pub net: Money,
}

impl MerchantTotals {
    fn zero(c: Currency) -> MerchantTotals {
        let z = Money::zero(c);
        MerchantTotals {
            orders_delivered: 0,
            subtotal: z,
            commission: z,
            payable: z,
            cancellation_fees: z,
            refunds: z,
            adjustments: z,
            net: z,
        }
    }

    fn add(&mut self, o: &MerchantTotals) -> Result<(), MoneyError> {
        self.orders_delivered += o.orders_delivered;
        self.subtotal = self.subtotal.checked_add(o.subtotal)?;
        self.commission = self.commission.checked_add(o.commission)?;
        self.payable = self.payable.checked_add(o.payable)?;
        self.cancellation_fees = self.cancellation_fees.checked_add(o.cancellation_fees)?;
        self.refunds = self.refunds.checked_add(o.refunds)?;
        self.adjustments = self.adjustments.checked_add(o.adjustments)?;
        self.net = self.net.checked_add(o.net)?;
        Ok(())
    }
}

/// What one posting did for `merchant`.
fn merchant_totals_of(
    posting: &Posting,
    merchant: MerchantId,
    c: Currency,
) -> Result<MerchantTotals, MoneyError> {
    let on = |wanted: Account| -> Result<Money, MoneyError> {
        posting
            .entries()
            .iter()
            .filter(|e| e.account == wanted)
            .try_fold(Money::zero(c), |acc, e| acc.checked_add(e.amount))
    };
    let mine = on(Account::MerchantPayable(merchant))?;
    let mut t = MerchantTotals::zero(c);
    t.net = mine;
    match posting.kind() {
        PostingKind::DeliveryOrder => {
            t.orders_delivered = 1;
            t.payable = mine;
            t.commission = on(Account::PlatformCommission)?;
            t.subtotal = mine.checked_add(t.commission)?;
        }
        PostingKind::CancellationFee => t.cancellation_fees = mine,
        PostingKind::Refund => t.refunds = mine.negated(),
        PostingKind::RideFare
        | PostingKind::HouseCallBooking
        | PostingKind::Tip
        | PostingKind::CashCollected => t.adjustments = mine,
    }
    Ok(t)
}

/// A merchant's statement over `[from, to]` (New York days, both included).
#[derive(Debug, Clone)]
pub struct MerchantStatement {
    /// The merchant.
    pub merchant: MerchantId,
    /// The first day.
    pub from: LocalDate,
    /// The last day.
    pub to: LocalDate,
    /// The whole period.
    pub totals: MerchantTotals,
    /// Each day with postings, oldest first.
    pub days: Vec<(LocalDate, MerchantTotals)>,
}

impl App {
    /// The statement of `merchant` for the New York days `from` to `to` (`YYYY-MM-DD`, both included; by
    /// default the seven days up to today). Staff of another merchant get 404 before the dates are read;
    /// a date that is not one is 422 `invalid_date`, `from` after `to` 422 `invalid_period`, a period
    /// over [`MAX_STATEMENT_DAYS`] 422 `period_too_long`.
    pub async fn merchant_statement(
        &self,
        user: &User,
        merchant: MerchantId,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<MerchantStatement, AppError> {
        match user.role {
            Role::Admin => {
                self.merchant_or_404(merchant).await?;
            }
            Role::Merchant => {
                self.own_merchant(user, merchant).await?;
            }
            Role::Rider | Role::Driver | Role::Provider => {
                return Err(AppError::Forbidden("only merchants can do this"));
            }
        }
        let date = |raw: Option<&str>| -> Result<Option<LocalDate>, AppError> {
            raw.map(|s| {
                LocalDate::parse(s).ok_or_else(|| {
                    AppError::invalid(
                        "invalid_date",
                        format!("{s:?} is not a date: YYYY-MM-DD, years 2000 to 2999"),
                    )
                })
            })
            .transpose()
        };
        let (from, to) = (date(from)?, date(to)?);
        let to = to.unwrap_or_else(|| LocalDate::of(self.clock().now()));
        let from = from.unwrap_or(LocalDate(to.0 - 6));
        if from > to {
            return Err(AppError::invalid(
                "invalid_period",
                "from must not be after to",
            ));
        }
        if from.days_until(to) >= MAX_STATEMENT_DAYS {
            return Err(AppError::invalid(
                "period_too_long",
                format!("a statement covers at most {MAX_STATEMENT_DAYS} days"),
            ));
        }
        let currency = self.config().food_fees.currency;
        let internal = |e: MoneyError| AppError::Internal(format!("merchant statement: {e}"));
        let postings = self
            .store()
            .postings_on_account(
                Account::MerchantPayable(merchant),
                from.start(),
                to.next().start(),
            )
            .await?;
        let mut totals = MerchantTotals::zero(currency);
        let mut days: Vec<(LocalDate, MerchantTotals)> = Vec::new();
        for posting in &postings {
            let t = merchant_totals_of(posting, merchant, currency).map_err(internal)?;
            totals.add(&t).map_err(internal)?;
            let day = LocalDate::of(posting.at());
            match days.iter_mut().find(|(d, _)| *d == day) {
                Some((_, sum)) => sum.add(&t).map_err(internal)?,
                None => {
                    let mut sum = MerchantTotals::zero(currency);
                    sum.add(&t).map_err(internal)?;
                    days.push((day, sum));
                }
            }
        }
        days.sort_by_key(|(d, _)| *d);
        Ok(MerchantStatement {
            merchant,
            from,
            to,
            totals,
            days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_only_when_real_and_days_start_at_new_york_midnight() {
        let d = LocalDate::parse("2026-11-25").expect("a date");
        assert_eq!(d.to_string(), "2026-11-25");
        // 2026-11-25 00:00 EST is 05:00 UTC; 2026-07-04 00:00 EDT is 04:00 UTC.
        assert_eq!(d.start().millis(), 1_795_582_800_000);
        let july = LocalDate::parse("2026-07-04").expect("a date");
        assert_eq!(july.start().millis() % 86_400_000, 4 * 3_600_000);
        assert_eq!(LocalDate::of(d.start()), d);
        assert_eq!(
            LocalDate::of(Timestamp::from_millis(d.start().millis() - 1)),
            LocalDate(d.0 - 1)
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-11-25",
            "2026-1-25",
            "2026-11-25T00",
            "+026-11-25",
            "",
        ] {
            assert_eq!(LocalDate::parse(bad), None, "{bad}");
        }
        // The spring and autumn days: midnight is before the jump either way.
        for s in ["2026-03-08", "2026-03-09", "2026-11-01", "2026-11-02"] {
            let day = LocalDate::parse(s).expect("a date");
            assert_eq!(LocalDate::of(day.start()), day, "{s}");
            assert_eq!(
                LocalDate::of(Timestamp::from_millis(day.start().millis() - 1)).next(),
                day,
                "{s}"
            );
        }
    }
}
