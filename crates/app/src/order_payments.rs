//! Paying for food orders through the payment layer rides use (`crate::payments`): the order's total is
//! authorised on the customer's method at placement (a refusal places nothing), captured at delivery,
//! captured for the late fee only after a late cancellation, and released when the order ends without a
//! charge (rejected by the merchant, cancelled for free, undeliverable); operators refund a delivered
//! order fully or partly, borne by the platform or charged back to the merchant.
//!
//! The ledger stays the record of who owes whom: placement and settlement move money at the provider
//! and in `payment_authorisations`, and the order's postings (`delivery_order_posting`, the tip, the
//! cancellation fee, refunds) are written by the order's own steps and by [`App::admin_refund_order`].
//! Settlement runs after the order's change is committed, like a ride's: a failure is logged and the
//! step can be retried ([`App::settle_order`] is idempotent).

use crate::console::{Act, RideLedger};
use crate::{App, AppError};
use doorstep_domain::audit::AuditAction;
use doorstep_domain::food::order::{Order, OrderState};
use doorstep_domain::ledger::{LedgerError, PostingKey, RefundBearer, order_refund_posting};
use doorstep_domain::payment::{Authorisation, CASH_METHOD_ID, PaymentMethod, PaymentMethodKind};
use doorstep_domain::{JobId, Money, Role, User};
use doorstep_store::StoreError;
use sha2::{Digest, Sha256};

/// What an order that ended charges its customer: `Some(Some(total))` once delivered, the late fee of a
/// cancellation after the kitchen accepted it, `Some(None)` when it ended without a charge (rejected,
/// cancelled for free, undeliverable), `None` while it is not over.
fn charge_at_end(order: &Order) -> Option<Option<Money>> {
    match order.state() {
        OrderState::Delivered => Some(Some(order.record.quote.total)),
        OrderState::Cancelled => Some(order.job().cancel_fee),
        OrderState::Rejected | OrderState::Undeliverable => Some(None),
        OrderState::Placed
        | OrderState::Accepted
        | OrderState::Preparing
        | OrderState::Ready
        | OrderState::PickedUp => None,
    }
}

/// The posting key of an order refund made under an operator's idempotency key: the same request posts
/// the same key, and the ledger keeps one posting per job and key.
fn order_refund_key(act: &Act<'_>) -> Result<PostingKey, AppError> {
    let digest = Sha256::digest(format!("{}\n{}", act.admin.id, act.key).as_bytes());
    PostingKey::parse(&format!("refund:{}", crate::console::hex(&digest[..16])))
        .map_err(|e| AppError::Internal(format!("refund key: {e}")))
}

fn refund_refusal(e: &LedgerError) -> AppError {
    match e {
        LedgerError::RefundTooLarge { refundable } => AppError::conflict(
            "refund_too_large",
            format!("at most {refundable} minor units can still be refunded on this order"),
        ),
        LedgerError::ChargebackTooLarge { chargeable } => AppError::conflict(
            "chargeback_too_large",
            format!("at most {chargeable} minor units can be charged back to the merchant"),
        ),
        LedgerError::NoCustomer => AppError::conflict(
            "nothing_to_refund",
            "the customer paid nothing for this order",
        ),
        LedgerError::NotPositive(_) => {
            AppError::invalid("invalid_amount", "the amount must be more than zero")
        }
        other => AppError::Internal(format!("posting: {other}")),
    }
}

impl App {
    /// The method an order is paid with: the one `named` (the wallet or a stored card; 404
    /// `payment_method_not_found`), else the customer's newest stored card. Food is not paid in cash: a
    /// customer without a card who names none, or who names cash, is refused with 422
    /// `payment_method_required` (the code a ride's cash tip gets).
    pub(crate) async fn order_payment_method(
        &self,
        customer: &User,
        named: Option<&str>,
    ) -> Result<PaymentMethod, AppError> {
        let method = match named {
            Some(id) => Some(self.payment_method(customer.id, id).await?),
            None => self.store().payment_methods_of(customer.id).await?.pop(),
        };
        match method {
            Some(m) if m.kind != PaymentMethodKind::Cash => Ok(m),
            _ => Err(AppError::invalid(
                "payment_method_required",
                "food orders and house calls are paid with the wallet or a card: add a card or name one in payment_method_id",
            )),
        }
    }

    /// Settles the payment of an order that ended: captures its total once delivered, only the fee after
    /// a late cancellation (the rest of the hold is released), and releases the hold when it ended
    /// without a charge (rejected, cancelled for free, undeliverable for want of a courier or by the
    /// courier). Does nothing while the order is not over, or for an order placed before orders were
    /// paid through a method. Failures are logged (the order's end stands); every call is idempotent.
    ///
    /// Call it after committing the change that ended the order: the order's own steps do
    /// (`App::change_order`), and so must dispatch when no courier took the order
    /// (`courier.rs`, `order_without_courier`).
    pub(crate) async fn settle_order(&self, order: &Order) {
        if let Err(e) = self.try_settle_order(order).await {
            tracing::error!(error = %e, order_id = %order.id(), "settling the order's payment failed");
            metrics::counter!("payment_settlement_failures_total").increment(1);
        }
    }

    async fn try_settle_order(&self, order: &Order) -> Result<(), AppError> {
        let Some(charge) = charge_at_end(order) else {
            return Ok(());
        };
        let Some(auth) = self.store().authorisation(order.id()).await? else {
            return Ok(());
        };
        self.settle_authorisation(auth, charge).await?;
        Ok(())
    }

    /// Authorises the total of the order about to be placed on `method`; a refusal is 402
    /// (`card_declined`, `insufficient_funds`).
    pub(crate) async fn authorise_order(
        &self,
        method: &PaymentMethod,
        order: &Order,
    ) -> Result<Authorisation, AppError> {
        self.authorise_job(method, order.id(), order.record.quote.total)
            .await
    }

    /// An order's postings and what is left to refund (operators; 404 `order_not_found`).
    pub async fn order_ledger(&self, admin: &User, id: JobId) -> Result<RideLedger, AppError> {
        if admin.role != Role::Admin {
            return Err(AppError::Forbidden("only admins can do this"));
        }
        let order = self.order_for(admin, id).await?;
        self.job_ledger(id, order.customer(), order.record.quote.total.currency)
            .await
    }

    /// A job's postings and what its customer paid less what came back (any job kind).
    pub(crate) async fn job_ledger(
        &self,
        id: JobId,
        customer: doorstep_domain::UserId,
        currency: doorstep_domain::Currency,
    ) -> Result<RideLedger, AppError> {
        let postings = self.store().postings_of_job(id).await?;
        let mut net = 0i64;
        for e in postings.iter().flat_map(|p| p.entries()) {
            if e.account.customer_of() == Some(customer) {
                net = net.saturating_add(e.amount.minor);
            }
        }
        Ok(RideLedger {
            postings,
            refundable: Money::new((-net).max(0), currency),
        })
    }

    /// An operator gives `amount_minor` back to an order's customer: at most what they paid for it less
    /// earlier refunds (409 `refund_too_large`, `nothing_to_refund`), borne by the platform or, with
    /// `charge_merchant`, charged back to the merchant (at most what it was owed: 409
    /// `chargeback_too_large`). Posted through the ledger's order refund builder with the audit entry in
    /// one transaction; two refunds racing never give back more than was paid. Idempotent under the
    /// operator's key. The money goes back through the order's payment method afterwards.
    pub async fn admin_refund_order(
        &self,
        act: Act<'_>,
        id: JobId,
        amount_minor: i64,
        charge_merchant: bool,
    ) -> Result<RideLedger, AppError> {
        let entry = self.audit_entry(
            &act,
            AuditAction::RefundOrder,
            id.as_uuid(),
            serde_json::json!({ "amount": amount_minor, "charge_merchant": charge_merchant }),
        )?;
        let order = self.order_for(act.admin, id).await?;
        if amount_minor <= 0 {
            return Err(AppError::invalid(
                "invalid_amount",
                "the amount must be more than zero (minor units)",
            ));
        }
        if self
            .earlier(&act, &[AuditAction::RefundOrder], id.as_uuid())
            .await?
            .is_some()
        {
            return self.order_ledger(act.admin, id).await;
        }
        let amount = Money::new(amount_minor, order.record.quote.total.currency);
        let bearer = if charge_merchant {
            RefundBearer::Merchant(order.merchant())
        } else {
            RefundBearer::Platform
        };
        self.post_refund(&act, &entry, id, amount, bearer).await?;
        self.order_ledger(act.admin, id).await
    }

    /// Posts a refund of `amount` on job `id` under the operator's key with its audit entry, then pays it
    /// back through the job's method; a retry under the same key (`AuditKeyUsed`) posts nothing. A
    /// concurrent refund may win between the read and the write: the store refuses the one that would
    /// give back more than was paid, and the next read of the balance says how much is left.
    pub(crate) async fn post_refund(
        &self,
        act: &Act<'_>,
        entry: &doorstep_domain::audit::NewAuditEntry,
        id: JobId,
        amount: Money,
        bearer: RefundBearer,
    ) -> Result<(), AppError> {
        let key = order_refund_key(act)?;
        for _ in 0..crate::rides::RIDE_CHANGE_TRIES {
            let postings = self.store().postings_of_job(id).await?;
            let posting = order_refund_posting(
                id,
                &postings,
                amount,
                bearer,
                key.clone(),
                self.clock().now(),
            )
            .map_err(|e| refund_refusal(&e))?;
            match self.store().insert_posting_audited(&posting, entry).await {
                Ok(()) => {
                    self.refund_to_method(id, amount, &key).await;
                    return Ok(());
                }
                Err(StoreError::AuditKeyUsed) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Gives `amount` back through the method the order was paid with (the wallet's balance grows; a
    /// card's gateway refunds), once under the refund's key. A failure is logged: the refund stands in
    /// the ledger, owed to the customer.
    async fn refund_to_method(&self, job: JobId, amount: Money, key: &PostingKey) {
        let result = async {
            let Some(auth) = self.store().authorisation(job).await? else {
                return Ok(());
            };
            if auth.method_id == CASH_METHOD_ID {
                return Ok(());
            }
            let method = self.payment_method(auth.user, &auth.method_id).await?;
            self.payment_provider(method.kind)
                .refund(&method, job, amount, key.as_str(), self.clock().now())
                .await?;
            Ok::<(), AppError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, job_id = %job, "refunding to the payment method failed");
            metrics::counter!("payment_refund_failures_total").increment(1);
        }
    }
}
