//! The operators' side of house calls: the catalogue's services written with their audit entry, a
//! provider's approval decided with its audit entry, and providers' documents.
//!
//! Every operator action's audit entry is written in the transaction of the action
//! ([`crate::console::insert_audit_in`]), so a retried request under the same key finds its entry and
//! writes nothing ([`StoreError::AuditKeyUsed`]). A provider's documents live in `driver_documents`
//! (one row per account and kind, whatever the account's role; migration 0011), with the provider's
//! own kinds (`id_card`, `professional_licence`, `liability_insurance`).

use crate::console::{document_from_row, insert_audit_in};
use crate::users::user_from_row;
use crate::{Store, StoreError};
use doorstep_domain::audit::NewAuditEntry;
use doorstep_domain::housecall::HcService;
use doorstep_domain::onboarding::{Approval, Document, DocumentKind};
use doorstep_domain::{Role, Timestamp, User, UserId};
use std::collections::HashMap;

impl Store {
    /// Creates or replaces a service of the catalogue with the operator's action, in one transaction
    /// ([`StoreError::AuditKeyUsed`]: nothing is written). A replaced service keeps its creation time.
    pub async fn put_hc_service_audited(
        &self,
        service: &HcService,
        audit: &NewAuditEntry,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        sqlx::query(
            "INSERT INTO hc_services (id, record, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (id) DO UPDATE SET record = $2, active = $3, updated_at = $4",
        )
        .bind(service.id.to_string())
        .bind(crate::columns::to_json(service, "service")?)
        .bind(i64::from(service.active))
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a provider's approval from `from` to `to` with the operator's action, in one transaction,
    /// and bumps their calendar's version (a booking checked against the old approval is then refused by
    /// its calendar check). [`StoreError::Conflict`] if the stored approval is no longer `from` (nothing
    /// is written), [`StoreError::AuditKeyUsed`] for a retry.
    pub async fn decide_provider_audited(
        &self,
        provider: UserId,
        from: Approval,
        to: Approval,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_audit_in(&mut tx, audit).await?;
        let done = sqlx::query(
            "UPDATE providers SET approval = $3, updated_at = $4, calendar_version = calendar_version + 1 \
             WHERE user_id = $1 AND approval = $2",
        )
        .bind(provider.to_string())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(audit.at.millis())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records (or replaces) a provider's document of its kind.
    pub async fn put_provider_document(
        &self,
        provider: UserId,
        document: &Document,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.put_driver_document(provider, document, at).await
    }

    /// A provider's documents (of the provider's kinds), by kind: what
    /// `ProviderProfile::bookable` takes.
    pub async fn provider_documents(&self, provider: UserId) -> Result<Vec<Document>, StoreError> {
        let mut documents = self.driver_documents(provider).await?;
        documents.retain(|d| DocumentKind::PROVIDER.contains(&d.kind));
        Ok(documents)
    }

    /// Every account of role provider, by name, with its documents (of the provider's kinds) by kind:
    /// the operators' list, with or without a profile.
    pub async fn provider_accounts(&self) -> Result<Vec<(User, Vec<Document>)>, StoreError> {
        let users = sqlx::query(
            "SELECT id, email, name, role, created_at FROM users WHERE role = $1 ORDER BY name, id",
        )
        .bind(Role::Provider.as_str())
        .fetch_all(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT d.driver_id, d.kind, d.number, d.expires_on FROM driver_documents d \
             JOIN users u ON u.id = d.driver_id WHERE u.role = $1 ORDER BY d.driver_id, d.kind",
        )
        .bind(Role::Provider.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut documents: HashMap<UserId, Vec<Document>> = HashMap::new();
        for row in &rows {
            let document = document_from_row(row)?;
            if DocumentKind::PROVIDER.contains(&document.kind) {
                documents
                    .entry(crate::columns::id(row, "driver_id")?)
                    .or_default()
                    .push(document);
            }
        }
        users
            .iter()
            .map(|row| {
                let user = user_from_row(row)?;
                let docs = documents.remove(&user.id).unwrap_or_default();
                Ok((user, docs))
            })
            .collect()
    }
}
