//! House calls, the operators' side: the catalogue of services (create, replace — retiring one is a
//! replacement with `active: false`) and the vetting of providers (approve, reject, suspend, reinstate),
//! each audited and idempotent under the operator's key like every console action
//! ([`crate::console`]'s `begin`/`written` path); what anyone signed in reads of the catalogue; and a
//! provider's own documents (identity card, professional licence, liability insurance), each with its
//! expiry, which operators see in the providers' list and which [`ProviderProfile::bookable`] reads.
//!
//! Every rule is the domain's: a service's fields ([`ServiceDraft::into_service`]), the approval's moves
//! ([`Approval::decide`]), a document's expiry. This module checks who asks, reads and writes.

use crate::console::{Act, check_document, written};
use crate::{App, AppError};
use doorstep_domain::audit::{AuditAction, AuditEntry};
use doorstep_domain::housecall::provider::NotBookable;
use doorstep_domain::housecall::{HcService, ProviderProfile, ServiceDraft};
use doorstep_domain::onboarding::{Approval, CalendarDate, Decision, Document, DocumentKind};
use doorstep_domain::{Role, ServiceId, User, UserId};
use doorstep_store::StoreError;

/// A provider as operators see them: the account, the profile (none until the provider writes one),
/// the documents declared, and the day by which they expire.
#[derive(Debug, Clone)]
pub struct ProviderRecord {
    /// The account.
    pub user: User,
    /// The profile with its approval, if the provider wrote one.
    pub profile: Option<ProviderProfile>,
    /// The documents declared, by kind.
    pub documents: Vec<Document>,
    /// The day it is in the city.
    pub today: CalendarDate,
}

/// Why a provider cannot be booked today, as operators read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Customers can book them.
    Bookable,
    /// They wrote no profile yet.
    ProfileMissing,
    /// Not approved, or holding an expired document.
    NotBookable(NotBookable),
}

impl ProviderRecord {
    /// Their approval: the profile's, pending without one.
    pub fn approval(&self) -> Approval {
        self.profile
            .as_ref()
            .map_or(Approval::Pending, |p| p.approval)
    }

    /// Whether customers can book them today.
    pub fn standing(&self) -> Standing {
        match &self.profile {
            None => Standing::ProfileMissing,
            Some(p) => match p.bookable(&self.documents, self.today) {
                Ok(()) => Standing::Bookable,
                Err(why) => Standing::NotBookable(why),
            },
        }
    }
}

/// A provider's documents as the provider sees them.
#[derive(Debug, Clone)]
pub struct ProviderDocuments {
    /// The documents declared, by kind.
    pub documents: Vec<Document>,
    /// The day it is in the city.
    pub today: CalendarDate,
}

fn require_role(user: &User, role: Role) -> Result<(), AppError> {
    if user.role == role {
        Ok(())
    } else {
        Err(AppError::Forbidden("this account's role may not do this"))
    }
}

fn decision_action(decision: Decision) -> AuditAction {
    match decision {
        Decision::Approve => AuditAction::ApproveProvider,
        Decision::Reject => AuditAction::RejectProvider,
        Decision::Suspend => AuditAction::SuspendProvider,
        Decision::Reinstate => AuditAction::ReinstateProvider,
    }
}

fn provider_changed() -> AppError {
    AppError::conflict(
        "concurrent_update",
        "the provider changed meanwhile; read it again and retry",
    )
}

impl App {
    // ---- the catalogue

    /// The catalogue: every service for operators, the bookable ones for everyone else, by name.
    pub async fn hc_catalogue(&self, user: &User) -> Result<Vec<HcService>, AppError> {
        let active_only = user.role != Role::Admin;
        Ok(self.store().hc_services(active_only).await?)
    }

    /// A service of the catalogue, retired or not (a booking names it after it is retired; 404
    /// `service_not_found`).
    pub async fn hc_service(&self, id: ServiceId) -> Result<HcService, AppError> {
        self.store()
            .hc_service(id)
            .await?
            .ok_or(AppError::NotFound("service"))
    }

    /// Checks a draft of the service `id` (422 `invalid_service`, naming the field): the domain's rules,
    /// and a price in the city's currency.
    fn check_service(&self, draft: ServiceDraft, id: ServiceId) -> Result<HcService, AppError> {
        let currency = self.config().pricing.currency;
        if draft.price.currency != currency {
            return Err(AppError::invalid(
                "invalid_service",
                format!("price: the currency must be the city's ({currency})"),
            ));
        }
        draft
            .into_service(id)
            .map_err(|e| AppError::invalid("invalid_service", e.to_string()))
    }

    /// Adds a service to the catalogue (422 `invalid_service`). Audited and idempotent under the
    /// operator's key: a retry answers the service the first request created.
    pub async fn admin_create_hc_service(
        &self,
        act: Act<'_>,
        draft: ServiceDraft,
    ) -> Result<HcService, AppError> {
        let id = ServiceId::from_uuid(uuid::Uuid::now_v7());
        let detail = serde_json::json!({ "name": draft.name });
        let entry = self.audit_entry(
            &act,
            AuditAction::CreateHouseCallService,
            id.as_uuid(),
            detail,
        )?;
        if let Some(done) = self.earlier_service_creation(&act).await? {
            return self.hc_service(done).await;
        }
        let service = self.check_service(draft, id)?;
        let write = self
            .store()
            .put_hc_service_audited(&service, &entry, entry.at)
            .await;
        if written(write)?.is_none() {
            // A concurrent request under the same key got there first.
            return match self.earlier_service_creation(&act).await? {
                Some(done) => self.hc_service(done).await,
                None => Err(AppError::Internal("audit key used but not found".into())),
            };
        }
        tracing::info!(service_id = %id, "house-call service created");
        Ok(service)
    }

    /// The service an earlier request under the operator's key created, if it was such a creation;
    /// the key used for another action is refused (422 `idempotency_key_reused`).
    async fn earlier_service_creation(&self, act: &Act<'_>) -> Result<Option<ServiceId>, AppError> {
        match self.store().audit_by_key(act.admin.id, act.key).await? {
            Some(AuditEntry { entry, .. })
                if entry.action == AuditAction::CreateHouseCallService =>
            {
                Ok(Some(ServiceId::from_uuid(entry.target)))
            }
            Some(_) => Err(AppError::invalid(
                "idempotency_key_reused",
                "this idempotency key was used for another action",
            )),
            None => Ok(None),
        }
    }

    /// Replaces a service of the catalogue whole (404 `service_not_found`, 422 `invalid_service`); a
    /// retired service (`active: false`) keeps its bookings and is no longer offered. Audited and
    /// idempotent under the operator's key.
    pub async fn admin_replace_hc_service(
        &self,
        act: Act<'_>,
        id: ServiceId,
        draft: ServiceDraft,
    ) -> Result<HcService, AppError> {
        let detail = serde_json::json!({ "name": draft.name, "active": draft.active });
        let Some(entry) = self
            .begin(
                &act,
                AuditAction::ReplaceHouseCallService,
                id.as_uuid(),
                detail,
            )
            .await?
        else {
            return self.hc_service(id).await;
        };
        self.hc_service(id).await?;
        let service = self.check_service(draft, id)?;
        let write = self
            .store()
            .put_hc_service_audited(&service, &entry, entry.at)
            .await;
        if written(write)?.is_none() {
            return self.hc_service(id).await;
        }
        tracing::info!(service_id = %id, active = service.active, "house-call service replaced");
        Ok(service)
    }

    // ---- vetting providers

    /// Every provider account, by name, with profile, documents and standing (operators only).
    pub async fn admin_providers(&self, admin: &User) -> Result<Vec<ProviderRecord>, AppError> {
        require_role(admin, Role::Admin)?;
        let today = self.today();
        let mut profiles: std::collections::HashMap<UserId, ProviderProfile> = self
            .store()
            .all_providers()
            .await?
            .into_iter()
            .map(|(p, _)| (p.user, p))
            .collect();
        Ok(self
            .store()
            .provider_accounts()
            .await?
            .into_iter()
            .map(|(user, documents)| ProviderRecord {
                profile: profiles.remove(&user.id),
                user,
                documents,
                today,
            })
            .collect())
    }

    /// A provider's record (404 `provider_not_found` for an account that is not a provider's).
    async fn provider_record(&self, id: UserId) -> Result<ProviderRecord, AppError> {
        let user = self
            .store()
            .user_by_id(id)
            .await?
            .filter(|u| u.role == Role::Provider)
            .ok_or(AppError::NotFound("provider"))?;
        Ok(ProviderRecord {
            profile: self.store().provider(id).await?.map(|(p, _)| p),
            documents: self.store().provider_documents(id).await?,
            today: self.today(),
            user,
        })
    }

    /// Approves, rejects, suspends or reinstates a provider (404 `provider_not_found`; 409
    /// `provider_profile_missing` before they wrote a profile, `invalid_provider_state` when the decision
    /// does not apply to their approval, `document_expired` when approving or reinstating one holding
    /// an expired document, `concurrent_update`). Audited and idempotent under the operator's key; the
    /// answer is the provider as they are after.
    pub async fn admin_decide_provider(
        &self,
        act: Act<'_>,
        id: UserId,
        decision: Decision,
    ) -> Result<ProviderRecord, AppError> {
        let action = decision_action(decision);
        let Some(entry) = self
            .begin(&act, action, id.as_uuid(), serde_json::json!({}))
            .await?
        else {
            return self.provider_record(id).await;
        };
        let record = self.provider_record(id).await?;
        let Some(profile) = &record.profile else {
            return Err(AppError::conflict(
                "provider_profile_missing",
                "this provider has not written a profile yet: they write one in the provider app before an operator decides",
            ));
        };
        let from = profile.approval;
        let to = from
            .decide(decision)
            .map_err(|e| AppError::conflict("invalid_provider_state", e.to_string()))?;
        if to == Approval::Approved
            && let Some(expired) = record.documents.iter().find(|d| d.is_expired(record.today))
        {
            return Err(AppError::conflict(
                "document_expired",
                format!(
                    "this provider's {} has expired: they upload the new one first",
                    expired.kind.as_str().replace('_', " ")
                ),
            ));
        }
        match self
            .store()
            .decide_provider_audited(id, from, to, &entry)
            .await
        {
            Ok(()) | Err(StoreError::AuditKeyUsed) => {}
            Err(StoreError::Conflict) => return Err(provider_changed()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(provider_id = %id, action = action.as_str(), "provider approval changed");
        self.provider_record(id).await
    }

    // ---- the provider's documents

    /// The provider's own documents.
    pub async fn my_provider_documents(&self, user: &User) -> Result<ProviderDocuments, AppError> {
        require_role(user, Role::Provider)?;
        Ok(ProviderDocuments {
            documents: self.store().provider_documents(user.id).await?,
            today: self.today(),
        })
    }

    /// The provider declares a document (replacing the one of its kind): its number and expiry date,
    /// which must not have passed (422 `invalid_document_kind`, `invalid_document_number`,
    /// `invalid_expiry_date`; 409 `document_expired`).
    pub async fn put_provider_document(
        &self,
        user: &User,
        kind: &str,
        number: &str,
        expires_on: &str,
    ) -> Result<ProviderDocuments, AppError> {
        require_role(user, Role::Provider)?;
        let document = check_document(
            &DocumentKind::PROVIDER,
            kind,
            number,
            expires_on,
            self.today(),
        )?;
        self.store()
            .put_provider_document(user.id, &document, self.clock().now())
            .await?;
        self.my_provider_documents(user).await
    }
}
