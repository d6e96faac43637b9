//! Food orders (`orders` over `jobs`/`job_stops`) and promo codes (`promos`, `promo_customer_uses`).
//!
//! An order is written with its job in one transaction under the job's version, with its events and any
//! posting, as a ride is ([`Store::save_ride_change`]). Reads take the job, its stops and the order's
//! record in one statement, so they are one committed state.
//!
//! A promo code's uses are taken by conditional updates inside the placement's transaction
//! (`used < total_limit`, per customer `used < per_user_limit`): two orders racing for the last use
//! cannot both get it, on either backend. A use is given back when an order that took one is rejected
//! or cancelled before the kitchen accepted it.

use crate::columns::{get, json, timestamp, to_json};
use crate::console::insert_audit_in;
use crate::events::{Recipient, StoredEvent, append_events};
use crate::jobs::{insert_job, job_columns, job_from_row, stop_columns, stop_from_row, update_job};
use crate::ledger::insert_posting_in;
use crate::rides::{offer_from_row, select_offers, upsert_offer};
use crate::{Store, StoreError};
use doorstep_domain::audit::NewAuditEntry;
use doorstep_domain::food::order::{Order, OrderEvent, OrderRecord, OrderState};
use doorstep_domain::food::promo::{Promo, PromoCode};
use doorstep_domain::ledger::Posting;
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::{JobId, MerchantId, OfferId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

/// `SELECT`s an order's job `j`, its stops `s` (one row each, in order) and its record `o`, followed by
/// the rest of the statement.
macro_rules! select_orders {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            job_columns!(),
            ", ",
            stop_columns!(s),
            ", o.record, o.request_hash FROM jobs j JOIN job_stops s ON s.job_id = j.id \
             JOIN orders o ON o.id = j.id ",
            $rest
        )
    };
}

/// Orders from rows of [`select_orders`], grouped by job in the order they first appear.
fn orders_from_rows(rows: &[AnyRow]) -> Result<Vec<(Order, String)>, StoreError> {
    let mut out: Vec<(Order, String)> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let job_id: String = get(&rows[i], "id")?;
        let mut j = i;
        let mut stops = Vec::new();
        while j < rows.len() && get::<String>(&rows[j], "id")? == job_id {
            stops.push(stop_from_row(&rows[j], "s_")?);
            j += 1;
        }
        let job = job_from_row(&rows[i], stops)?;
        let record: OrderRecord = json(&rows[i], "record")?;
        let hash: String = get(&rows[i], "request_hash")?;
        let order = Order::from_parts(job, record)
            .map_err(|e| StoreError::Corrupt(format!("order {job_id}: {e}")))?;
        out.push((order, hash));
        i = j;
    }
    Ok(out)
}

/// A promo code as stored, with its uses so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPromo {
    /// Its id (what the audit log names).
    pub id: uuid::Uuid,
    /// Its rules.
    pub promo: Promo,
    /// Orders that used it in all.
    pub used: u32,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What placing an order did.
#[derive(Debug, Clone)]
pub enum Placed {
    /// Stored now, with its events.
    New(Order, Vec<StoredEvent>),
    /// The customer already placed an order with this idempotency key: that order and the hash of the
    /// request that placed it (the caller compares it with the new request's); nothing was written.
    Existing(Order, String),
}

/// A change of an order to write.
#[derive(Debug, Clone, Copy)]
pub struct OrderChange<'a> {
    /// The order after the change (its job carries the new version).
    pub order: &'a Order,
    /// The version the change was computed from.
    pub expected_version: i64,
    /// Events to append, with their recipients.
    pub events: &'a [(OrderEvent, Vec<Recipient>)],
    /// Money moved by the change.
    pub postings: &'a [Posting],
    /// Whether the order gives its promo code's use back (rejected or cancelled before acceptance).
    pub release_promo: bool,
    /// Offers of the order to write (made, answered, expired or withdrawn). An offer of a batch covers
    /// several orders: each order's change carries it with `ride_id` naming that order's job, and the
    /// offer's row is written once with one `offer_jobs` row per order.
    pub offers: &'a [Offer],
    /// The operator's audit entry, when an operator acts ([`StoreError::AuditKeyUsed`] if its key was
    /// used: nothing written).
    pub audit: Option<&'a NewAuditEntry>,
    /// When.
    pub at: Timestamp,
}

/// Takes one use of `code` for `customer` (limits from the stored code), or refuses with
/// [`StoreError::PromoExhausted`] / [`StoreError::PromoUsedUp`].
async fn take_promo_use(
    conn: &mut AnyConnection,
    code: &PromoCode,
    customer: UserId,
) -> Result<(), StoreError> {
    let taken: Option<i64> = sqlx::query_scalar(
        "UPDATE promos SET used = used + 1 WHERE code = $1 AND used < total_limit RETURNING used",
    )
    .bind(code.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if taken.is_none() {
        return Err(StoreError::PromoExhausted);
    }
    let mine: Option<i64> = sqlx::query_scalar(
        "INSERT INTO promo_customer_uses (code, customer_id, used) \
         SELECT code, $2, 1 FROM promos WHERE code = $1 \
         ON CONFLICT (code, customer_id) DO UPDATE SET used = promo_customer_uses.used + 1 \
         WHERE promo_customer_uses.used < (SELECT per_user_limit FROM promos WHERE code = $1) \
         RETURNING used",
    )
    .bind(code.as_str())
    .bind(customer.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    if mine.is_none() {
        return Err(StoreError::PromoUsedUp);
    }
    Ok(())
}

/// Gives one use of `code` by `customer` back.
async fn release_promo_use(
    conn: &mut AnyConnection,
    code: &PromoCode,
    customer: UserId,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE promos SET used = used - 1 WHERE code = $1 AND used > 0")
        .bind(code.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE promo_customer_uses SET used = used - 1 WHERE code = $1 AND customer_id = $2 AND used > 0",
    )
    .bind(code.as_str())
    .bind(customer.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn promo_from_row(row: &AnyRow) -> Result<StoredPromo, StoreError> {
    let used: i64 = get(row, "used")?;
    Ok(StoredPromo {
        id: crate::columns::id(row, "id")?,
        promo: json(row, "rules")?,
        used: u32::try_from(used.max(0)).unwrap_or(u32::MAX),
        created_at: timestamp(row, "created_at")?,
    })
}

impl Store {
    /// Stores a new order: its job and stops, its record, its promo code's use and its events, in one
    /// transaction. Idempotent by `idempotency_key` per customer: a repeated key returns the stored order
    /// and its request hash ([`Placed::Existing`]) and writes nothing.
    #[tracing::instrument(skip_all, fields(order_id = %order.id()))]
    pub async fn place_order(
        &self,
        order: &Order,
        idempotency_key: Option<&str>,
        request_hash: &str,
        events: &[(OrderEvent, Vec<Recipient>)],
        now: Timestamp,
    ) -> Result<Placed, StoreError> {
        if let Some(key) = idempotency_key
            && let Some((existing, hash)) =
                self.order_by_idempotency_key(order.customer(), key).await?
        {
            return Ok(Placed::Existing(existing, hash));
        }
        let mut tx = self.begin_write().await?;
        match insert_job(&mut tx, order.job(), idempotency_key, now).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                tx.rollback().await?;
                if let Some(key) = idempotency_key
                    && let Some((existing, hash)) =
                        self.order_by_idempotency_key(order.customer(), key).await?
                {
                    return Ok(Placed::Existing(existing, hash));
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        if let Some(code) = &order.record.quote.promo {
            take_promo_use(&mut tx, code, order.customer()).await?;
        }
        sqlx::query(
            "INSERT INTO orders (id, merchant_id, customer_id, kitchen, record, promo_code, request_hash, placed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(order.id().to_string())
        .bind(order.merchant().to_string())
        .bind(order.customer().to_string())
        .bind(order.record.kitchen.as_str())
        .bind(to_json(&order.record, "order record")?)
        .bind(order.record.quote.promo.as_ref().map(|c| c.as_str().to_owned()))
        .bind(request_hash)
        .bind(order.record.placed_at.millis())
        .execute(&mut *tx)
        .await?;
        let events: Vec<_> = events
            .iter()
            .map(|(e, r)| (e.clone().into(), r.clone()))
            .collect();
        let stored = append_events(&mut tx, self.backend, order.id(), &events, now).await?;
        tx.commit().await?;
        Ok(Placed::New(order.clone(), stored))
    }

    /// Writes a change of an order where the stored version is `change.expected_version`
    /// ([`StoreError::Conflict`] and nothing written otherwise), with its events, postings and offers.
    pub async fn save_order_change(
        &self,
        change: OrderChange<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.save_order_changes(&[change]).await
    }

    /// Writes changes of several orders in one transaction (a batch offered to one courier, accepted,
    /// declined or expired together): every one applies, or none ([`StoreError::Conflict`] if any order's
    /// stored version is not its `expected_version`). Returns the stored events of all of them, in order.
    pub async fn save_order_changes(
        &self,
        changes: &[OrderChange<'_>],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut stored = Vec::new();
        for change in changes {
            let order = change.order;
            if let Some(entry) = change.audit {
                insert_audit_in(&mut tx, entry).await?;
            }
            if !update_job(&mut tx, order.job(), change.expected_version, change.at).await? {
                tx.rollback().await?;
                return Err(StoreError::Conflict);
            }
            sqlx::query("UPDATE orders SET kitchen = $2, record = $3 WHERE id = $1")
                .bind(order.id().to_string())
                .bind(order.record.kitchen.as_str())
                .bind(to_json(&order.record, "order record")?)
                .execute(&mut *tx)
                .await?;
            if change.release_promo
                && let Some(code) = &order.record.quote.promo
            {
                release_promo_use(&mut tx, code, order.customer()).await?;
            }
            for posting in change.postings {
                insert_posting_in(&mut tx, posting).await?;
            }
            for offer in change.offers {
                upsert_offer(&mut tx, offer, change.at).await?;
            }
            let events: Vec<_> = change
                .events
                .iter()
                .map(|(e, r)| (e.clone().into(), r.clone()))
                .collect();
            stored.extend(
                append_events(&mut tx, self.backend, order.id(), &events, change.at).await?,
            );
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// A delivery offer with the orders it covers (in the order they were offered), if `id` is an offer
    /// of delivery jobs.
    pub async fn delivery_offer(
        &self,
        id: OfferId,
    ) -> Result<Option<(Offer, Vec<JobId>)>, StoreError> {
        let rows = sqlx::query(select_offers!(
            "JOIN jobs dj ON dj.id = oj.job_id WHERE o.id = $1 AND dj.kind = 'delivery' ORDER BY dj.opened_at, dj.id"
        ))
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(group_offers(&rows)?.into_iter().next())
    }

    /// A courier's pending delivery offers with their orders, oldest first (pending in the store: the
    /// caller decides whether one has passed its deadline).
    pub async fn pending_delivery_offers_of(
        &self,
        courier: UserId,
    ) -> Result<Vec<(Offer, Vec<JobId>)>, StoreError> {
        let rows = sqlx::query(select_offers!(
            "JOIN jobs dj ON dj.id = oj.job_id WHERE o.worker_id = $1 AND o.state = $2 \
             AND dj.kind = 'delivery' ORDER BY o.created_at, o.id, dj.opened_at, dj.id"
        ))
        .bind(courier.to_string())
        .bind(OfferState::Pending.as_str())
        .fetch_all(&self.pool)
        .await?;
        group_offers(&rows)
    }

    /// Orders with a courier that are not over yet (the hot state rebuilds couriers' routes from them).
    pub async fn orders_with_courier(&self) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(sqlx::query(select_orders!(
            "WHERE j.state IN ('assigned', 'in_progress') ORDER BY o.placed_at, j.id, s.stop_index"
        )))
        .await
    }

    /// Orders assigned to `courier` that are not over yet (to the restaurant, or carrying them), oldest
    /// first.
    pub async fn active_orders_of_courier(
        &self,
        courier: UserId,
    ) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(
            sqlx::query(select_orders!(
                "WHERE j.worker_id = $1 AND j.state IN ('assigned', 'in_progress') \
                 ORDER BY o.placed_at, j.id, s.stop_index"
            ))
            .bind(courier.to_string()),
        )
        .await
    }

    /// The order with this id.
    pub async fn order(&self, id: JobId) -> Result<Option<Order>, StoreError> {
        let rows = sqlx::query(select_orders!("WHERE j.id = $1 ORDER BY s.stop_index"))
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(orders_from_rows(&rows)?.into_iter().next().map(|(o, _)| o))
    }

    /// The order `customer` placed with idempotency key `key`, with its request hash.
    pub async fn order_by_idempotency_key(
        &self,
        customer: UserId,
        key: &str,
    ) -> Result<Option<(Order, String)>, StoreError> {
        let rows = sqlx::query(select_orders!(
            "WHERE j.customer_id = $1 AND j.idempotency_key = $2 ORDER BY s.stop_index"
        ))
        .bind(customer.to_string())
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        Ok(orders_from_rows(&rows)?.into_iter().next())
    }

    /// The orders of rows of [`select_orders`], without their request hashes.
    async fn fetch_orders(
        &self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<Order>, StoreError> {
        let rows = query.fetch_all(&self.pool).await?;
        Ok(orders_from_rows(&rows)?
            .into_iter()
            .map(|(o, _)| o)
            .collect())
    }

    /// The customer's latest orders, newest first.
    pub async fn orders_of_customer(
        &self,
        customer: UserId,
        limit: i64,
    ) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(
            sqlx::query(select_orders!(
                "WHERE j.id IN (SELECT id FROM orders WHERE customer_id = $1 ORDER BY placed_at DESC, id DESC LIMIT $2) \
                 ORDER BY o.placed_at DESC, j.id DESC, s.stop_index"
            ))
            .bind(customer.to_string())
            .bind(limit.clamp(1, 500)),
        )
        .await
    }

    /// The merchant's orders placed since `since`, newest first.
    pub async fn orders_of_merchant(
        &self,
        merchant: MerchantId,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(
            sqlx::query(select_orders!(
                "WHERE j.id IN (SELECT id FROM orders WHERE merchant_id = $1 AND placed_at >= $2 \
                 ORDER BY placed_at DESC, id DESC LIMIT $3) \
                 ORDER BY o.placed_at DESC, j.id DESC, s.stop_index"
            ))
            .bind(merchant.to_string())
            .bind(since.millis())
            .bind(limit.clamp(1, 1000)),
        )
        .await
    }

    /// The latest orders of every merchant, newest first (the operators' view).
    pub async fn recent_orders(&self, limit: i64) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(
            sqlx::query(select_orders!(
                "WHERE j.id IN (SELECT id FROM orders ORDER BY placed_at DESC, id DESC LIMIT $1) \
                 ORDER BY o.placed_at DESC, j.id DESC, s.stop_index"
            ))
            .bind(limit.clamp(1, 1000)),
        )
        .await
    }

    /// Orders the merchant's kitchen still has to hand over: placed, accepted, preparing or ready, and
    /// not yet picked up, cancelled or undeliverable (what its open-order cap counts).
    pub async fn open_orders_of_merchant(&self, merchant: MerchantId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders o JOIN jobs j ON j.id = o.id \
             WHERE o.merchant_id = $1 AND o.kitchen <> 'rejected' AND j.state IN ('open', 'assigned')",
        )
        .bind(merchant.to_string())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Orders still open that the merchant accepted (they wait for a courier, or have one): what the
    /// dispatcher rebuilds at start.
    pub async fn orders_waiting_for_courier(&self) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(sqlx::query(select_orders!(
            "WHERE j.state = 'open' AND o.kitchen IN ('accepted', 'preparing', 'ready') \
             ORDER BY o.placed_at, j.id, s.stop_index"
        )))
        .await
    }

    /// Stores a new promo code with the operator's audit entry, in one transaction;
    /// [`StoreError::PromoTaken`] if the code exists, [`StoreError::AuditKeyUsed`] if the operator used
    /// the entry's key already (nothing written either way).
    pub async fn create_promo(
        &self,
        id: uuid::Uuid,
        promo: &Promo,
        audit: &NewAuditEntry,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        let result = sqlx::query(
            "INSERT INTO promos (code, id, rules, total_limit, per_user_limit, used, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(promo.code.as_str())
        .bind(id.to_string())
        .bind(to_json(promo, "promo")?)
        .bind(i64::from(promo.total_limit))
        .bind(i64::from(promo.per_user_limit))
        .bind(now.millis())
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {
                tx.commit().await?;
                Ok(())
            }
            Err(e) => {
                let e = StoreError::from(e);
                if e.is_unique_violation() {
                    Err(StoreError::PromoTaken)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The promo code, with its uses so far.
    pub async fn promo(&self, code: &PromoCode) -> Result<Option<StoredPromo>, StoreError> {
        let row = sqlx::query("SELECT id, rules, used, created_at FROM promos WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(promo_from_row).transpose()
    }

    /// Every promo code, newest first.
    pub async fn promos(&self) -> Result<Vec<StoredPromo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, rules, used, created_at FROM promos ORDER BY created_at DESC, code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(promo_from_row).collect()
    }

    /// How many orders of `customer` used `code`.
    pub async fn promo_uses_of(
        &self,
        code: &PromoCode,
        customer: UserId,
    ) -> Result<u32, StoreError> {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT used FROM promo_customer_uses WHERE code = $1 AND customer_id = $2",
        )
        .bind(code.as_str())
        .bind(customer.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(u32::try_from(used.unwrap_or(0).max(0)).unwrap_or(u32::MAX))
    }
}

/// Offers from rows of [`select_offers`] (one row per offer and job), grouped by offer in the order
/// they first appear, each with its jobs.
fn group_offers(rows: &[AnyRow]) -> Result<Vec<(Offer, Vec<JobId>)>, StoreError> {
    let mut out: Vec<(Offer, Vec<JobId>)> = Vec::new();
    for row in rows {
        let offer = offer_from_row(row)?;
        let job = JobId::from(offer.ride_id);
        match out.last_mut() {
            Some((last, jobs)) if last.id == offer.id => jobs.push(job),
            _ => out.push((offer, vec![job])),
        }
    }
    Ok(out)
}

/// The orders an operator asks for: in one state, of one merchant, at most `limit`, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFilter {
    /// Only orders in this state.
    pub state: Option<OrderState>,
    /// Only orders of this merchant.
    pub merchant: Option<MerchantId>,
    /// At most this many (clamped to 1..=500).
    pub limit: i64,
}

/// The SQL expression, over an order `fo` and its job `fj`, of the order's state's name: the same rule
/// as [`Order::state`] (the kitchen until pickup, then the job), which the API tests check by filtering.
macro_rules! order_state_sql {
    () => {
        "(CASE WHEN fj.state = 'completed' THEN 'delivered' \
          WHEN fj.state = 'unfulfilled' THEN 'undeliverable' \
          WHEN fo.kitchen = 'rejected' THEN 'rejected' \
          WHEN fj.state = 'cancelled' THEN 'cancelled' \
          WHEN fj.state = 'in_progress' THEN 'picked_up' \
          ELSE fo.kitchen END)"
    };
}

/// Every order state, in the order of a delivery.
pub const ORDER_STATES: [OrderState; 9] = [
    OrderState::Placed,
    OrderState::Accepted,
    OrderState::Preparing,
    OrderState::Ready,
    OrderState::PickedUp,
    OrderState::Delivered,
    OrderState::Rejected,
    OrderState::Cancelled,
    OrderState::Undeliverable,
];

// The operations console's reads of food orders.
impl Store {
    /// Orders matching `filter`, newest first (the operators' list).
    pub async fn orders_for_operators(
        &self,
        filter: OrderFilter,
    ) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(
            sqlx::query(concat!(
                "SELECT ",
                job_columns!(),
                ", ",
                stop_columns!(s),
                ", o.record, o.request_hash FROM jobs j JOIN job_stops s ON s.job_id = j.id \
                 JOIN orders o ON o.id = j.id \
                 WHERE j.id IN (SELECT fo.id FROM orders fo JOIN jobs fj ON fj.id = fo.id \
                 WHERE ($1 = '' OR fo.merchant_id = $1) AND ($2 = '' OR ",
                order_state_sql!(),
                " = $2) ORDER BY fo.placed_at DESC, fo.id DESC LIMIT $3) \
                 ORDER BY o.placed_at DESC, j.id DESC, s.stop_index"
            ))
            .bind(filter.merchant.map(|m| m.to_string()).unwrap_or_default())
            .bind(filter.state.map_or("", OrderState::as_str))
            .bind(filter.limit.clamp(1, 500)),
        )
        .await
    }

    /// How many orders placed since `since` are in each state now, in the order of [`ORDER_STATES`]
    /// (every state, zero included).
    pub async fn order_state_counts(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(OrderState, i64)>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_state_sql!(),
            " AS state, COUNT(*) AS n FROM orders fo JOIN jobs fj ON fj.id = fo.id \
             WHERE fo.placed_at >= $1 GROUP BY 1"
        ))
        .bind(since.millis())
        .fetch_all(&self.pool)
        .await?;
        let mut counts: Vec<(OrderState, i64)> = ORDER_STATES.iter().map(|s| (*s, 0)).collect();
        for row in &rows {
            let name: String = get(row, "state")?;
            let n: i64 = get(row, "n")?;
            let slot = counts
                .iter_mut()
                .find(|(s, _)| s.as_str() == name)
                .ok_or_else(|| StoreError::Corrupt(format!("an order in state {name:?}")))?;
            slot.1 += n;
        }
        Ok(counts)
    }

    /// Orders not over yet (placed, in the kitchen, waiting for or with a courier), oldest first, at
    /// most `limit`.
    pub async fn unfinished_orders(&self, limit: i64) -> Result<Vec<Order>, StoreError> {
        self.fetch_orders(
            sqlx::query(select_orders!(
                "WHERE j.id IN (SELECT fo.id FROM orders fo JOIN jobs fj ON fj.id = fo.id \
                 WHERE fj.state IN ('open', 'assigned', 'in_progress') AND fo.kitchen <> 'rejected' \
                 ORDER BY fo.placed_at, fo.id LIMIT $1) \
                 ORDER BY o.placed_at, j.id, s.stop_index"
            ))
            .bind(limit.clamp(1, 10_000)),
        )
        .await
    }
}
