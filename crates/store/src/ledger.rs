//! The ledger: balanced postings and their entries, and the sums read from them.

use crate::columns::{get, id, money, named, parse_currency, timestamp};
use crate::{Store, StoreError};
use doorstep_domain::ledger::{Account, LedgerEntry, Posting, PostingKey, PostingKind};
use doorstep_domain::{JobId, Money, RideId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// One line of a driver's statement: an entry on their earnings account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementLine {
    /// The ride the money is for.
    pub ride_id: RideId,
    /// Fare or cancellation fee.
    pub kind: PostingKind,
    /// What the driver earned (negative for a correction).
    pub amount: Money,
    /// When it was posted.
    pub at: Timestamp,
}

/// Writes a posting and its entries inside the caller's transaction. [`StoreError::DuplicatePosting`] if
/// the job already has a posting with this idempotency key; the caller must then drop the transaction.
pub(crate) async fn insert_posting_in(
    conn: &mut AnyConnection,
    posting: &Posting,
) -> Result<(), StoreError> {
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO postings (job_id, kind, idempotency_key, at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(posting.job_id().to_string())
    .bind(posting.kind().as_str())
    .bind(posting.key().as_str())
    .bind(posting.at().millis())
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from);
    let posting_id = match inserted {
        Ok(id) => id,
        // (job_id, idempotency_key) is the only unique key a caller can repeat.
        Err(e) if e.is_unique_violation() => return Err(StoreError::DuplicatePosting),
        Err(e) => return Err(e),
    };
    for LedgerEntry { account, amount } in posting.entries() {
        sqlx::query("INSERT INTO ledger_entries (posting_id, account, amount, currency, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(posting_id)
            .bind(account.key())
            .bind(amount.minor)
            .bind(amount.currency.as_str())
            .bind(posting.at().millis())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Records a posting on its own (outside a ride change). [`StoreError::DuplicatePosting`] if the ride
    /// already has a posting of this kind; then nothing is written.
    pub async fn insert_posting(&self, posting: &Posting) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_posting_in(&mut tx, posting).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The postings of a ride (its job's), in the order they were made, each rebuilt (and so re-checked
    /// for balance).
    pub async fn postings_of_ride(&self, ride: RideId) -> Result<Vec<Posting>, StoreError> {
        self.postings_of_job(JobId::from(ride)).await
    }

    /// The postings of a job of any kind, in the order they were made, each rebuilt (and so re-checked
    /// for balance).
    pub async fn postings_of_job(&self, job: JobId) -> Result<Vec<Posting>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id AS posting_id, p.job_id, p.kind, p.idempotency_key, p.at, e.account, e.amount, e.currency \
             FROM postings p JOIN ledger_entries e ON e.posting_id = p.id WHERE p.job_id = $1 ORDER BY p.id, e.id",
        )
        .bind(job.to_string())
        .fetch_all(&self.pool)
        .await?;
        postings_from_rows(&rows)
    }

    /// The balance of every account that has entries, per currency, ordered by account key.
    pub async fn account_balances(&self) -> Result<Vec<(Account, Money)>, StoreError> {
        // SUM over BIGINT is NUMERIC in PostgreSQL, which `Any` cannot read: cast it back.
        let rows = sqlx::query(
            "SELECT account, currency, CAST(SUM(amount) AS BIGINT) AS balance FROM ledger_entries \
             GROUP BY account, currency ORDER BY account, currency",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    named(row, "account", Account::parse_key)?,
                    money(row, "balance", "currency")?,
                ))
            })
            .collect()
    }

    /// The sum of all entries per currency. Every posting balances, so each sum must be zero; an empty
    /// ledger gives an empty list.
    pub async fn trial_balance(&self) -> Result<Vec<Money>, StoreError> {
        let rows = sqlx::query(
            "SELECT currency, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entries GROUP BY currency ORDER BY currency",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let code: String = get(row, "currency")?;
                Ok(Money::new(get(row, "total")?, parse_currency(&code)?))
            })
            .collect()
    }

    /// The entries on `driver`'s earnings account posted in `[from, to)`, oldest first.
    pub async fn driver_statement(
        &self,
        driver: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<StatementLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.job_id, p.kind, e.amount, e.currency, e.at FROM ledger_entries e \
             JOIN postings p ON p.id = e.posting_id \
             WHERE e.account = $1 AND e.at >= $2 AND e.at < $3 ORDER BY e.at, e.id",
        )
        .bind(Account::DriverEarnings(driver).key())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StatementLine {
                    ride_id: id(row, "job_id")?,
                    kind: named(row, "kind", PostingKind::parse)?,
                    amount: money(row, "amount", "currency")?,
                    at: timestamp(row, "at")?,
                })
            })
            .collect()
    }
}

/// Postings rebuilt (and so re-checked for balance) from rows of `posting_id, job_id, kind,
/// idempotency_key, at, account, amount, currency` ordered by posting and then entry.
pub(crate) fn postings_from_rows(rows: &[AnyRow]) -> Result<Vec<Posting>, StoreError> {
    // Rows come grouped by posting: fold runs of one posting id into a posting.
    let mut postings = Vec::new();
    let mut current: Option<PostingRows> = None;
    for row in rows {
        let posting_id: i64 = get(row, "posting_id")?;
        let entry = LedgerEntry {
            account: named(row, "account", Account::parse_key)?,
            amount: money(row, "amount", "currency")?,
        };
        match &mut current {
            Some((pid, .., entries)) if *pid == posting_id => entries.push(entry),
            _ => {
                if let Some(done) = current.take() {
                    postings.push(rebuild_posting(done)?);
                }
                let key: String = get(row, "idempotency_key")?;
                current = Some((
                    posting_id,
                    id(row, "job_id")?,
                    named(row, "kind", PostingKind::parse)?,
                    PostingKey::parse(&key)
                        .map_err(|e| StoreError::Corrupt(format!("posting key: {e}")))?,
                    timestamp(row, "at")?,
                    vec![entry],
                ));
            }
        }
    }
    if let Some(done) = current {
        postings.push(rebuild_posting(done)?);
    }
    Ok(postings)
}

/// A posting's id, job, kind, key and time, and the entries read so far.
type PostingRows = (
    i64,
    JobId,
    PostingKind,
    PostingKey,
    Timestamp,
    Vec<LedgerEntry>,
);

fn rebuild_posting((_, job, kind, key, at, entries): PostingRows) -> Result<Posting, StoreError> {
    Posting::for_job(job, kind, key, at, entries)
        .map_err(|e| StoreError::Corrupt(format!("posting of job {job}: {e}")))
}
