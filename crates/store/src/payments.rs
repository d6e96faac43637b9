//! Payments: stored payment methods, each paid job's authorisation, wallets (changed only by one
//! conditional `UPDATE`, so concurrent holds and spends can never take a wallet below zero on either
//! backend), the wallet's movements, and the one tip of a job.

use crate::columns::{get, id, money, named, parse_currency, timestamp};
use crate::ledger::insert_posting_in;
use crate::{Store, StoreError};
use doorstep_domain::ledger::Posting;
use doorstep_domain::payment::{
    Authorisation, AuthorisationState, PaymentMethod, PaymentMethodKind, Wallet,
};
use doorstep_domain::{Currency, JobId, Money, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// A change of a wallet: what it does to the balance and to the held part, and the movement it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletChange<'a> {
    /// Whose wallet.
    pub user: UserId,
    /// The wallet's currency.
    pub currency: Currency,
    /// Added to the balance (negative: spent).
    pub balance_delta: i64,
    /// Added to the held part (negative: released).
    pub held_delta: i64,
    /// The movement's kind (`top_up`, `fare`, `tip`, `cancellation_fee`, `hold`, `release`).
    pub kind: &'a str,
    /// The job it is for, if any.
    pub job: Option<JobId>,
    /// Unique per wallet: a retried change with the same key changes nothing.
    pub idempotency_key: &'a str,
    /// When.
    pub at: Timestamp,
}

/// What became of a wallet change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletOutcome {
    /// Done: the wallet as it is now.
    Applied(Wallet),
    /// A change with this idempotency key was made before; nothing changed. The wallet as it is.
    Duplicate(Wallet),
    /// It would take the balance below zero or hold more than the balance; nothing changed.
    Refused(Wallet),
}

/// The one tip of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    /// The job tipped.
    pub job: JobId,
    /// Who tipped.
    pub user: UserId,
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// How much.
    pub amount: Money,
    /// The payment method charged.
    pub method_id: String,
    /// When.
    pub at: Timestamp,
}

/// What became of a tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TipOutcome {
    /// Recorded with its posting (and its wallet movement, if any).
    Recorded,
    /// The job already has a tip: this one.
    Existing(Tip),
}

fn wallet_of(row: &AnyRow) -> Result<Wallet, StoreError> {
    let code: String = get(row, "currency")?;
    Ok(Wallet {
        currency: parse_currency(&code)?,
        balance: get(row, "balance")?,
        held: get(row, "held")?,
    })
}

async fn wallet_in(conn: &mut AnyConnection, user: UserId) -> Result<Option<Wallet>, StoreError> {
    let row = sqlx::query("SELECT currency, balance, held FROM wallets WHERE user_id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(wallet_of).transpose()
}

/// Applies `change` inside the caller's transaction: records the movement (a repeated key is
/// [`WalletOutcome::Duplicate`]), then updates the wallet only where the result keeps
/// `0 <= held <= balance` ([`WalletOutcome::Refused`] otherwise). On anything but `Applied` the caller
/// must drop the transaction.
async fn change_wallet_in(
    conn: &mut AnyConnection,
    change: &WalletChange<'_>,
) -> Result<WalletOutcome, StoreError> {
    let user = change.user.to_string();
    sqlx::query(
        "INSERT INTO wallets (user_id, currency, balance, held, updated_at) VALUES ($1, $2, 0, 0, $3) \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(&user)
    .bind(change.currency.as_str())
    .bind(change.at.millis())
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO wallet_entries (user_id, kind, amount, currency, job_id, idempotency_key, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, idempotency_key) DO NOTHING",
    )
    .bind(&user)
    .bind(change.kind)
    .bind(change.balance_delta)
    .bind(change.currency.as_str())
    .bind(change.job.map(|j| j.to_string()))
    .bind(change.idempotency_key)
    .bind(change.at.millis())
    .execute(&mut *conn)
    .await?;
    let current = |w: Option<Wallet>| w.unwrap_or(Wallet::empty(change.currency));
    // Nothing inserted: a movement with this key exists (no error, so PostgreSQL's transaction stays usable).
    if inserted.rows_affected() == 0 {
        return Ok(WalletOutcome::Duplicate(current(
            wallet_in(conn, change.user).await?,
        )));
    }
    let updated = sqlx::query(
        "UPDATE wallets SET balance = balance + $2, held = held + $3, updated_at = $4 \
         WHERE user_id = $1 AND currency = $5 AND balance + $2 >= 0 AND held + $3 >= 0 \
         AND held + $3 <= balance + $2",
    )
    .bind(&user)
    .bind(change.balance_delta)
    .bind(change.held_delta)
    .bind(change.at.millis())
    .bind(change.currency.as_str())
    .execute(&mut *conn)
    .await?;
    let now = current(wallet_in(conn, change.user).await?);
    if updated.rows_affected() == 1 {
        Ok(WalletOutcome::Applied(now))
    } else {
        Ok(WalletOutcome::Refused(now))
    }
}

fn method_of(row: &AnyRow) -> Result<PaymentMethod, StoreError> {
    Ok(PaymentMethod {
        id: get(row, "id")?,
        user: id(row, "user_id")?,
        kind: named(row, "kind", PaymentMethodKind::parse)?,
        last4: get(row, "last4")?,
        provider_token: get(row, "provider_token")?,
        created_at: timestamp(row, "created_at")?,
    })
}

fn authorisation_of(row: &AnyRow) -> Result<Authorisation, StoreError> {
    Ok(Authorisation {
        job: id(row, "job_id")?,
        user: id(row, "user_id")?,
        method_id: get(row, "method_id")?,
        kind: named(row, "kind", PaymentMethodKind::parse)?,
        authorised: money(row, "authorised", "currency")?,
        captured: get::<Option<i64>>(row, "captured")?
            .map(|m| money(row, "authorised", "currency").map(|a| Money::new(m, a.currency)))
            .transpose()?,
        uncollected: money(row, "uncollected", "currency")?,
        state: named(row, "state", AuthorisationState::parse)?,
        provider_ref: get(row, "provider_ref")?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

fn tip_of(row: &AnyRow) -> Result<Tip, StoreError> {
    Ok(Tip {
        job: id(row, "job_id")?,
        user: id(row, "user_id")?,
        idempotency_key: get(row, "idempotency_key")?,
        amount: money(row, "amount", "currency")?,
        method_id: get(row, "method_id")?,
        at: timestamp(row, "at")?,
    })
}

impl Store {
    /// Stores a payment method (a card).
    pub async fn insert_payment_method(&self, method: &PaymentMethod) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO payment_methods (id, user_id, kind, last4, provider_token, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&method.id)
        .bind(method.user.to_string())
        .bind(method.kind.as_str())
        .bind(method.last4.as_deref())
        .bind(method.provider_token.as_deref())
        .bind(method.created_at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A user's stored payment methods, oldest first.
    pub async fn payment_methods_of(&self, user: UserId) -> Result<Vec<PaymentMethod>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, kind, last4, provider_token, created_at FROM payment_methods \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(method_of).collect()
    }

    /// How many payment methods a user has stored.
    pub async fn count_payment_methods(&self, user: UserId) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM payment_methods WHERE user_id = $1")
                .bind(user.to_string())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// A user's stored payment method by id.
    pub async fn payment_method(
        &self,
        user: UserId,
        method_id: &str,
    ) -> Result<Option<PaymentMethod>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, kind, last4, provider_token, created_at FROM payment_methods \
             WHERE user_id = $1 AND id = $2",
        )
        .bind(user.to_string())
        .bind(method_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(method_of).transpose()
    }

    /// A user's wallet (`None` before its first top-up).
    pub async fn wallet(&self, user: UserId) -> Result<Option<Wallet>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        wallet_in(&mut conn, user).await
    }

    /// Changes a wallet, in its own transaction (see [`WalletOutcome`]).
    pub async fn change_wallet(
        &self,
        change: &WalletChange<'_>,
    ) -> Result<WalletOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let outcome = change_wallet_in(&mut tx, change).await?;
        if matches!(outcome, WalletOutcome::Applied(_)) {
            tx.commit().await?;
        }
        Ok(outcome)
    }

    /// Records a job's authorisation (one per job).
    pub async fn insert_authorisation(&self, a: &Authorisation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO payment_authorisations (job_id, user_id, method_id, kind, state, authorised, \
             captured, uncollected, currency, provider_ref, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(a.job.to_string())
        .bind(a.user.to_string())
        .bind(&a.method_id)
        .bind(a.kind.as_str())
        .bind(a.state.as_str())
        .bind(a.authorised.minor)
        .bind(a.captured.map(|m| m.minor))
        .bind(a.uncollected.minor)
        .bind(a.authorised.currency.as_str())
        .bind(a.provider_ref.as_deref())
        .bind(a.created_at.millis())
        .bind(a.updated_at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A job's authorisation, if it has one.
    pub async fn authorisation(&self, job: JobId) -> Result<Option<Authorisation>, StoreError> {
        let row = sqlx::query(
            "SELECT job_id, user_id, method_id, kind, state, authorised, captured, uncollected, currency, \
             provider_ref, created_at, updated_at FROM payment_authorisations WHERE job_id = $1",
        )
        .bind(job.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(authorisation_of).transpose()
    }

    /// Saves an authorisation that ended (captured or voided), only if it was still held: `Ok(false)`
    /// when another call ended it first (then nothing is written).
    pub async fn end_authorisation(&self, a: &Authorisation) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE payment_authorisations SET state = $2, captured = $3, uncollected = $4, updated_at = $5 \
             WHERE job_id = $1 AND state = 'authorised'",
        )
        .bind(a.job.to_string())
        .bind(a.state.as_str())
        .bind(a.captured.map(|m| m.minor))
        .bind(a.uncollected.minor)
        .bind(a.updated_at.millis())
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// The tip of a job, if it has one.
    pub async fn tip(&self, job: JobId) -> Result<Option<Tip>, StoreError> {
        let row = sqlx::query(
            "SELECT job_id, user_id, idempotency_key, amount, currency, method_id, at FROM job_tips WHERE job_id = $1",
        )
        .bind(job.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(tip_of).transpose()
    }

    /// Records a job's one tip with its ledger posting in one transaction (the provider charged it
    /// before, under a key of the job, so a retry charges nothing more).
    pub async fn record_tip(&self, tip: &Tip, posting: &Posting) -> Result<TipOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO job_tips (job_id, user_id, idempotency_key, amount, currency, method_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tip.job.to_string())
        .bind(tip.user.to_string())
        .bind(&tip.idempotency_key)
        .bind(tip.amount.minor)
        .bind(tip.amount.currency.as_str())
        .bind(&tip.method_id)
        .bind(tip.at.millis())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from);
        match inserted {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => {
                drop(tx);
                return match self.tip(tip.job).await? {
                    Some(existing) => Ok(TipOutcome::Existing(existing)),
                    None => Err(StoreError::Conflict),
                };
            }
            Err(e) => return Err(e),
        }
        match insert_posting_in(&mut tx, posting).await {
            Ok(()) => {}
            Err(StoreError::DuplicatePosting) => {
                drop(tx);
                return match self.tip(tip.job).await? {
                    Some(existing) => Ok(TipOutcome::Existing(existing)),
                    None => Err(StoreError::DuplicatePosting),
                };
            }
            Err(e) => return Err(e),
        }
        tx.commit().await?;
        Ok(TipOutcome::Recorded)
    }

    /// The postings in `[from, to)` that moved any of a worker's accounts (earnings, tips, cash
    /// collected), in the order they were made.
    pub async fn postings_of_worker(
        &self,
        worker: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Posting>, StoreError> {
        use doorstep_domain::ledger::Account;
        let ids: Vec<String> = sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT p.job_id FROM postings p JOIN ledger_entries e ON e.posting_id = p.id \
             WHERE e.account IN ($1, $2, $3) AND p.at >= $4 AND p.at < $5",
        )
        .bind(Account::worker_earnings(worker).key())
        .bind(Account::Tips(worker).key())
        .bind(Account::CashCollected(worker).key())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for job in ids {
            let job: JobId = crate::columns::parse_id(&job, "job_id")?;
            for p in self.postings_of_job(job).await? {
                let touches = p.entries().iter().any(|e| {
                    matches!(e.account, Account::DriverEarnings(u) | Account::Tips(u) | Account::CashCollected(u) if u == worker)
                });
                if touches && p.at() >= from && p.at() < to {
                    out.push(p);
                }
            }
        }
        out.sort_by_key(|p| p.at());
        Ok(out)
    }
}
