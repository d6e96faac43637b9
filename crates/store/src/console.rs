//! What the operations console acts on: the audit log of operator actions (each written in the
//! transaction of its action), suspended accounts, phone numbers, people search, and driver onboarding
//! (approvals and documents).

use crate::columns::{get, id, opt_named, opt_timestamp, row_limit, timestamp};
use crate::ledger::insert_posting_in;
use crate::users::user_from_row;
use crate::{Store, StoreError};
use doorstep_domain::audit::{AuditAction, AuditEntry, NewAuditEntry};
use doorstep_domain::ledger::Posting;
use doorstep_domain::onboarding::{Approval, CalendarDate, Document, DocumentKind};
use doorstep_domain::{Role, Timestamp, User, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// An account as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The account.
    pub user: User,
    /// Its phone number (E.164), if given.
    pub phone: Option<String>,
    /// When it was suspended, if it is.
    pub suspended_at: Option<Timestamp>,
    /// A driver's approval as decided (drivers only: one without a decision made before onboarding is
    /// approved); never [`Approval::Suspended`], which is [`Person::suspended_at`].
    pub approval: Option<Approval>,
    /// The operator's reason for the last approval decision.
    pub approval_reason: Option<String>,
}

/// The select of [`person_from_row`]'s columns (a macro, so that statements can `concat!` it).
macro_rules! select_people {
    () => {
        "SELECT u.id, u.email, u.name, u.role, u.created_at, u.phone, u.suspended_at, a.state AS approval, \
         a.reason AS approval_reason FROM users u LEFT JOIN driver_approvals a ON a.driver_id = u.id"
    };
}

fn person_from_row(row: &AnyRow) -> Result<Person, StoreError> {
    let user = user_from_row(row)?;
    let decided = opt_named(row, "approval", Approval::parse)?;
    let approval = (user.role == Role::Driver).then(|| decided.unwrap_or(Approval::Approved));
    Ok(Person {
        phone: get(row, "phone")?,
        suspended_at: opt_timestamp(row, "suspended_at")?,
        approval,
        approval_reason: get(row, "approval_reason")?,
        user,
    })
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let target: String = get(row, "target_id")?;
    Ok(AuditEntry {
        id: get(row, "id")?,
        entry: NewAuditEntry {
            actor: id(row, "actor_id")?,
            action: crate::columns::named(row, "action", AuditAction::parse)?,
            target: target
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("target_id: {target:?}")))?,
            reason: get(row, "reason")?,
            detail: get(row, "detail")?,
            idempotency_key: get(row, "idempotency_key")?,
            at: timestamp(row, "at")?,
        },
    })
}

/// Appends `entry` to the audit log inside the caller's transaction; returns its id.
/// [`StoreError::AuditKeyUsed`] if its actor already used its idempotency key: the caller must then drop
/// the transaction.
pub(crate) async fn insert_audit_in(
    conn: &mut AnyConnection,
    entry: &NewAuditEntry,
) -> Result<i64, StoreError> {
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO audit_log (at, actor_id, action, target_kind, target_id, reason, detail, idempotency_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(entry.at.millis())
    .bind(entry.actor.to_string())
    .bind(entry.action.as_str())
    .bind(entry.action.target_kind().as_str())
    .bind(entry.target.to_string())
    .bind(entry.reason.as_str())
    .bind(entry.detail.as_str())
    .bind(entry.idempotency_key.as_deref())
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from);
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if e.is_unique_violation() => Err(StoreError::AuditKeyUsed),
        Err(e) => Err(e),
    }
}

/// A document from a row of `driver_documents` (which holds every account's documents: a driver's and
/// a house-call provider's).
pub(crate) fn document_from_row(row: &AnyRow) -> Result<Document, StoreError> {
    let expires: String = get(row, "expires_on")?;
    Ok(Document {
        kind: crate::columns::named(row, "kind", DocumentKind::parse)?,
        number: get(row, "number")?,
        expires_on: CalendarDate::parse(&expires)
            .ok_or_else(|| StoreError::Corrupt(format!("expires_on: {expires:?}")))?,
    })
}

/// `%text%` for LIKE, with `\` escaping LIKE's wildcards in `text`.
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// The audit entry `actor` recorded under idempotency key `key`, if any.
    pub async fn audit_by_key(
        &self,
        actor: UserId,
        key: &str,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT id, at, actor_id, action, target_id, reason, detail, idempotency_key FROM audit_log \
             WHERE actor_id = $1 AND idempotency_key = $2",
        )
        .bind(actor.to_string())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(audit_from_row).transpose()
    }

    /// Audit entries, newest first, about `target` and by `actor` (each if given), with ids below
    /// `before` (the cursor of the next page), at most `limit`.
    pub async fn audit_log(
        &self,
        target: Option<uuid::Uuid>,
        actor: Option<UserId>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor_id, action, target_id, reason, detail, idempotency_key FROM audit_log \
             WHERE ($1 = '' OR target_id = $1) AND ($2 = '' OR actor_id = $2) AND id < $3 \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(target.map(|t| t.to_string()).unwrap_or_default())
        .bind(actor.map(|a| a.to_string()).unwrap_or_default())
        .bind(before.unwrap_or(i64::MAX))
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Records an operator action that changes nothing else in the store.
    pub async fn insert_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = insert_audit_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a posting (a refund, a waiver) and the operator action that made it, in one transaction
    /// ([`StoreError::DuplicatePosting`] or [`StoreError::AuditKeyUsed`]: nothing is written). The job is
    /// locked first (SQLite's writer lock; PostgreSQL's row lock on the job), and the posting is refused
    /// with [`StoreError::Conflict`] if afterwards a customer of it would have got back more than they
    /// paid for the job: two refunds computed from the same balance cannot both pass.
    pub async fn insert_posting_audited(
        &self,
        posting: &Posting,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT id FROM jobs WHERE id = $1 FOR UPDATE")
                .bind(posting.job_id().to_string())
                .fetch_optional(&mut *tx)
                .await?;
        }
        insert_audit_in(&mut tx, audit).await?;
        insert_posting_in(&mut tx, posting).await?;
        for entry in posting.entries() {
            if entry.account.customer_of().is_none() {
                continue;
            }
            let balance: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entries e \
                 JOIN postings p ON p.id = e.posting_id WHERE p.job_id = $1 AND e.account = $2 AND e.currency = $3",
            )
            .bind(posting.job_id().to_string())
            .bind(entry.account.key())
            .bind(entry.amount.currency.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if balance > 0 {
                tx.rollback().await?;
                return Err(StoreError::Conflict);
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The account with this id, as the console shows it.
    pub async fn person(&self, user: UserId) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(concat!(select_people!(), " WHERE u.id = $1"))
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// Accounts whose name or e-mail address contains `text` (case-insensitive for ASCII), or whose
    /// phone number contains the digits of `text` (when it has at least three), by name, at most `limit`.
    pub async fn search_people(&self, text: &str, limit: i64) -> Result<Vec<Person>, StoreError> {
        let needle = text.trim().to_lowercase();
        let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
        // No phone is empty, so an empty pattern matches none.
        let phone = if digits.len() >= 3 {
            like_pattern(&digits)
        } else {
            String::new()
        };
        let rows = sqlx::query(concat!(
            select_people!(),
            " WHERE lower(u.name) LIKE $1 ESCAPE '\\' OR lower(u.email) LIKE $1 ESCAPE '\\' \
             OR u.phone LIKE $2 ESCAPE '\\' ORDER BY u.name, u.id LIMIT $3"
        ))
        .bind(like_pattern(&needle))
        .bind(phone)
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(person_from_row).collect()
    }

    /// Adds a driver's account with its approval state, in one transaction, so that no driver exists
    /// without a decision ([`Store::insert_user`] for the rest: [`StoreError::EmailTaken`]).
    pub async fn insert_driver(
        &self,
        user: &User,
        password_hash: &str,
        approval: Approval,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(user.role.as_str())
        .bind(password_hash)
        .bind(user.created_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from);
        if let Err(e) = inserted {
            drop(tx);
            return Err(
                if e.is_unique_violation() && self.user_by_email(&user.email).await?.is_some() {
                    StoreError::EmailTaken
                } else {
                    e
                },
            );
        }
        sqlx::query(
            "INSERT INTO driver_approvals (driver_id, state, reason, decided_by, updated_at) VALUES ($1, $2, NULL, NULL, $3)",
        )
        .bind(user.id.to_string())
        .bind(approval.as_str())
        .bind(user.created_at.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drivers waiting for an operator's approval, oldest first, at most `limit`.
    pub async fn pending_drivers(&self, limit: i64) -> Result<Vec<Person>, StoreError> {
        let rows = sqlx::query(concat!(
            select_people!(),
            " WHERE a.state = 'pending' AND u.suspended_at IS NULL ORDER BY a.updated_at, u.id LIMIT $1"
        ))
        .bind(row_limit(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(person_from_row).collect()
    }

    /// Sets (or clears) an account's phone number.
    pub async fn set_phone(&self, user: UserId, phone: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET phone = $2 WHERE id = $1")
            .bind(user.to_string())
            .bind(phone)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user of a live session (as [`Store::session_user`]) and whether the account is suspended.
    pub async fn session_user_status(
        &self,
        token_sha256_hex: &str,
        now: Timestamp,
    ) -> Result<Option<(User, bool)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, u.created_at, u.suspended_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = $1 AND s.expires_at > $2",
        )
        .bind(token_sha256_hex)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|r| {
                Ok((
                    user_from_row(r)?,
                    opt_timestamp(r, "suspended_at")?.is_some(),
                ))
            })
            .transpose()
    }

    /// Whether the account is suspended.
    pub async fn is_suspended(&self, user: UserId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT suspended_at FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => opt_timestamp(&r, "suspended_at")?.is_some(),
            None => false,
        })
    }

    /// Suspends (`Some(at)`) or reinstates (`None`) an account with the operator's action, in one
    /// transaction; a suspended driver is also taken offline.
    pub async fn set_suspended(
        &self,
        user: UserId,
        suspended_at: Option<Timestamp>,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        sqlx::query("UPDATE users SET suspended_at = $2 WHERE id = $1")
            .bind(user.to_string())
            .bind(suspended_at.map(Timestamp::millis))
            .execute(&mut *tx)
            .await?;
        if let Some(at) = suspended_at {
            take_offline_in(&mut tx, user, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a driver's approval state (with the operator's reason and action, if an operator decided
    /// it), in one transaction; a driver not approved is also taken offline.
    pub async fn set_driver_approval(
        &self,
        driver: UserId,
        approval: Approval,
        reason: Option<&str>,
        audit: Option<&NewAuditEntry>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(entry) = audit {
            insert_audit_in(&mut tx, entry).await?;
        }
        sqlx::query(
            "INSERT INTO driver_approvals (driver_id, state, reason, decided_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (driver_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, \
             decided_by = excluded.decided_by, updated_at = excluded.updated_at",
        )
        .bind(driver.to_string())
        .bind(approval.as_str())
        .bind(reason)
        .bind(audit.map(|a| a.actor.to_string()))
        .bind(at.millis())
        .execute(&mut *tx)
        .await?;
        if approval != Approval::Approved {
            take_offline_in(&mut tx, driver, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records (or replaces) a driver's document of its kind.
    pub async fn put_driver_document(
        &self,
        driver: UserId,
        document: &Document,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO driver_documents (driver_id, kind, number, expires_on, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (driver_id, kind) DO UPDATE SET number = excluded.number, \
             expires_on = excluded.expires_on, updated_at = excluded.updated_at",
        )
        .bind(driver.to_string())
        .bind(document.kind.as_str())
        .bind(document.number.as_str())
        .bind(document.expires_on.to_string())
        .bind(at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A driver's documents, by kind.
    pub async fn driver_documents(&self, driver: UserId) -> Result<Vec<Document>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, number, expires_on FROM driver_documents WHERE driver_id = $1 ORDER BY kind",
        )
        .bind(driver.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from_row).collect()
    }

    /// The online drivers holding a document that expired before `today`.
    pub async fn online_drivers_with_expired_documents(
        &self,
        today: CalendarDate,
    ) -> Result<Vec<UserId>, StoreError> {
        // `YYYY-MM-DD` texts sort as the dates do.
        let rows = sqlx::query(
            "SELECT DISTINCT d.driver_id FROM driver_documents d JOIN workers w ON w.user_id = d.driver_id \
             WHERE w.online = 1 AND d.expires_on < $1",
        )
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| id(r, "driver_id")).collect()
    }
}

/// Marks a worker offline inside the caller's transaction (nothing if it has no worker row).
async fn take_offline_in(
    conn: &mut AnyConnection,
    worker: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE workers SET online = 0, updated_at = $2 WHERE user_id = $1")
        .bind(worker.to_string())
        .bind(at.millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
