//! A worker's earnings statement: what the ledger credited to their earnings, tips and cash accounts in a
//! period, in all and by New York day and week, with rides and deliveries apart: a ride's fare share and
//! tips; a delivery's pay (per order and per km, from the platform's worker pay account, in the order's
//! posting) and tips. Which is which is read from the kind of the posting's job.

use crate::{App, AppError};
use doorstep_domain::job::JobKind;
use doorstep_domain::{Money, Role, Timestamp, User, UserId};
use doorstep_store::StatementLine;

/// A driver's earnings between two instants.
#[derive(Debug, Clone)]
pub struct EarningsStatement {
    /// Credits and debits on the driver's earnings account for fares and fees, oldest first (cash the
    /// driver collected is in the summary, not here).
    pub lines: Vec<StatementLine>,
    /// Their sum: the net earnings.
    pub total: Money,
    /// Gross, commission, net and tips, in all and by New York day and week.
    pub summary: EarningsSummary,
}

/// Gross fares, the platform's commission, the driver's net and tips over a period, with rides and
/// deliveries apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarningsTotals {
    /// What riders paid for the driver's rides and cancellation fees.
    pub gross: Money,
    /// The platform's share of it.
    pub commission: Money,
    /// Everything credited to the worker's earnings: the rides' share (gross less commission), the
    /// deliveries' pay, and any other job's.
    pub net: Money,
    /// Tips, all the worker's: the rides' and the deliveries'.
    pub tips: Money,
    /// Cash the driver collected from riders (the driver holds it; the commission in it is owed).
    pub cash_collected: Money,
    /// Completed rides.
    pub rides: u32,
    /// The rides' share: gross less commission.
    pub ride_net: Money,
    /// Tips for rides.
    pub ride_tips: Money,
    /// Orders delivered.
    pub deliveries: u32,
    /// The pay for deliveries (per order and per km), credited by the platform.
    pub delivery_pay: Money,
    /// Tips for deliveries.
    pub delivery_tips: Money,
}

impl EarningsTotals {
    fn zero(c: doorstep_domain::Currency) -> EarningsTotals {
        let z = Money::zero(c);
        EarningsTotals {
            gross: z,
            commission: z,
            net: z,
            tips: z,
            cash_collected: z,
            rides: 0,
            ride_net: z,
            ride_tips: z,
            deliveries: 0,
            delivery_pay: z,
            delivery_tips: z,
        }
    }

    fn add(&mut self, other: &EarningsTotals) -> Result<(), doorstep_domain::MoneyError> {
        self.gross = self.gross.checked_add(other.gross)?;
        self.commission = self.commission.checked_add(other.commission)?;
        self.net = self.net.checked_add(other.net)?;
        self.tips = self.tips.checked_add(other.tips)?;
        self.cash_collected = self.cash_collected.checked_add(other.cash_collected)?;
        self.rides += other.rides;
        self.ride_net = self.ride_net.checked_add(other.ride_net)?;
        self.ride_tips = self.ride_tips.checked_add(other.ride_tips)?;
        self.deliveries += other.deliveries;
        self.delivery_pay = self.delivery_pay.checked_add(other.delivery_pay)?;
        self.delivery_tips = self.delivery_tips.checked_add(other.delivery_tips)?;
        Ok(())
    }
}

/// Earnings in all and by period.
#[derive(Debug, Clone)]
pub struct EarningsSummary {
    /// The whole period.
    pub totals: EarningsTotals,
    /// By New York calendar day (`YYYY-MM-DD`), oldest first.
    pub days: Vec<(String, EarningsTotals)>,
    /// By week starting on Monday in New York (the Monday's date), oldest first.
    pub weeks: Vec<(String, EarningsTotals)>,
}

/// The New York calendar day of `at` and the Monday of its week, as `YYYY-MM-DD`.
fn local_day_and_week(at: Timestamp) -> (String, String) {
    let secs = at.unix_secs();
    let local = secs + i64::from(doorstep_geo::new_york_utc_offset_secs(secs));
    let days = local.div_euclid(86_400);
    let monday = days - (days + 3).rem_euclid(7);
    let date = |d: i64| {
        let (y, m, dd) = doorstep_geo::civil_from_days(d);
        format!("{y:04}-{m:02}-{dd:02}")
    };
    (date(days), date(monday))
}

/// What one posting of a job of kind `job` did for `driver`'s earnings.
fn totals_of(
    posting: &doorstep_domain::ledger::Posting,
    driver: UserId,
    job: JobKind,
) -> Result<EarningsTotals, doorstep_domain::MoneyError> {
    use doorstep_domain::ledger::{Account, PostingKind};
    let c = posting
        .entries()
        .first()
        .map_or(doorstep_domain::Currency::USD, |e| e.amount.currency);
    let mut t = EarningsTotals::zero(c);
    let on = |wanted: Account| -> Result<Money, doorstep_domain::MoneyError> {
        posting
            .entries()
            .iter()
            .filter(|e| e.account == wanted)
            .try_fold(Money::zero(c), |acc, e| acc.checked_add(e.amount))
    };
    let delivery = job == JobKind::Delivery;
    match posting.kind() {
        PostingKind::RideFare | PostingKind::CancellationFee if !delivery => {
            let net = on(Account::worker_earnings(driver))?;
            let customers = posting
                .entries()
                .iter()
                .filter(|e| e.account.customer_of().is_some())
                .try_fold(Money::zero(c), |acc, e| acc.checked_add(e.amount))?;
            t.gross = customers.negated();
            t.net = net;
            t.ride_net = net;
            t.commission = t.gross.checked_sub(net)?;
            t.rides = u32::from(posting.kind() == PostingKind::RideFare);
        }
        PostingKind::HouseCallBooking => {
            let net = on(Account::worker_earnings(driver))?;
            let customers = posting
                .entries()
                .iter()
                .filter(|e| e.account.customer_of().is_some())
                .try_fold(Money::zero(c), |acc, e| acc.checked_add(e.amount))?;
            t.gross = customers.negated();
            t.net = net;
            t.commission = t.gross.checked_sub(net)?;
        }
        PostingKind::Tip => {
            t.tips = on(Account::Tips(driver))?;
            if delivery {
                t.delivery_tips = t.tips;
            } else {
                t.ride_tips = t.tips;
            }
        }
        PostingKind::CashCollected => t.cash_collected = on(Account::CashCollected(driver))?,
        PostingKind::DeliveryOrder => {
            t.net = on(Account::worker_earnings(driver))?;
            t.delivery_pay = t.net;
            t.deliveries = 1;
        }
        PostingKind::RideFare | PostingKind::CancellationFee | PostingKind::Refund => {
            t.net = on(Account::worker_earnings(driver))?;
            if delivery {
                t.delivery_pay = t.net;
            }
        }
    }
    Ok(t)
}

impl App {
    /// A worker's earnings statement between two instants: a driver's (rides and deliveries) or a
    /// house-call provider's (visits, their cancellation and no-show fees, tips).
    pub async fn earnings(
        &self,
        driver: &User,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<EarningsStatement, AppError> {
        if !matches!(driver.role, Role::Driver | Role::Provider) {
            return Err(AppError::Forbidden(
                "only drivers, couriers and providers have earnings",
            ));
        }
        let currency = self.config().pricing.currency;
        let internal =
            |e: doorstep_domain::MoneyError| AppError::Internal(format!("statement: {e}"));
        let lines: Vec<StatementLine> = self
            .store()
            .driver_statement(driver.id, from, to)
            .await?
            .into_iter()
            .filter(|l| l.kind != doorstep_domain::ledger::PostingKind::CashCollected)
            .collect();
        let mut total = Money::zero(currency);
        for l in &lines {
            total = total.checked_add(l.amount).map_err(internal)?;
        }
        let mut totals = EarningsTotals::zero(currency);
        let mut days: Vec<(String, EarningsTotals)> = Vec::new();
        let mut weeks: Vec<(String, EarningsTotals)> = Vec::new();
        let postings = self.store().postings_of_worker(driver.id, from, to).await?;
        let jobs: Vec<doorstep_domain::JobId> = postings.iter().map(|p| p.job_id()).collect();
        let kinds = self.store().job_kinds(&jobs).await?;
        for posting in postings {
            let kind = kinds
                .get(&posting.job_id())
                .copied()
                .unwrap_or(JobKind::Ride);
            let t = totals_of(&posting, driver.id, kind).map_err(internal)?;
            totals.add(&t).map_err(internal)?;
            let (day, week) = local_day_and_week(posting.at());
            for (list, key) in [(&mut days, day), (&mut weeks, week)] {
                match list.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, sum)) => sum.add(&t).map_err(internal)?,
                    None => {
                        let mut sum = EarningsTotals::zero(currency);
                        sum.add(&t).map_err(internal)?;
                        list.push((key, sum));
                    }
                }
            }
        }
        days.sort_by(|a, b| a.0.cmp(&b.0));
        weeks.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(EarningsStatement {
            lines,
            total,
            summary: EarningsSummary {
                totals,
                days,
                weeks,
            },
        })
    }
}
