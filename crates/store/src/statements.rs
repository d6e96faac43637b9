//! What statements are read from: the postings that touched an account in a period, each whole (every
//! entry, so a statement can read the commission beside a merchant's credit), and the kind of each job
//! (a worker's statement shows rides and deliveries apart).

use crate::columns::named;
use crate::ledger::postings_from_rows;
use crate::{Store, StoreError};
use doorstep_domain::JobId;
use doorstep_domain::Timestamp;
use doorstep_domain::job::JobKind;
use doorstep_domain::ledger::{Account, Posting};
use std::collections::BTreeMap;

impl Store {
    /// Every posting with an entry on `account` made in `[from, to)`, whole (all its entries), in the
    /// order they were made.
    pub async fn postings_on_account(
        &self,
        account: Account,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Posting>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id AS posting_id, p.job_id, p.kind, p.idempotency_key, p.at, e.account, e.amount, e.currency \
             FROM postings p JOIN ledger_entries e ON e.posting_id = p.id \
             WHERE p.id IN (SELECT posting_id FROM ledger_entries WHERE account = $1 AND at >= $2 AND at < $3) \
             ORDER BY p.at, p.id, e.id",
        )
        .bind(account.key())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await?;
        postings_from_rows(&rows)
    }

    /// The kind of each of `jobs` that exists.
    pub async fn job_kinds(&self, jobs: &[JobId]) -> Result<BTreeMap<JobId, JobKind>, StoreError> {
        let mut kinds = BTreeMap::new();
        for job in jobs {
            if kinds.contains_key(job) {
                continue;
            }
            let row = sqlx::query("SELECT kind FROM jobs WHERE id = $1")
                .bind(job.to_string())
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                kinds.insert(*job, named(&row, "kind", JobKind::parse)?);
            }
        }
        Ok(kinds)
    }
}
