//! House calls, the operators' side over HTTP: the catalogue (`/v1/admin/house-calls/services`, create and
//! replace, audited with a reason and an `Idempotency-Key` like every operator action), what anyone signed
//! in reads of it (`/v1/house-calls/services`), the vetting of providers (`/v1/admin/providers`: the list
//! with documents and standing, approve, reject, suspend, reinstate, each audited), and a provider's own
//! documents (`/v1/providers/me/documents`).

use crate::ApiState;
use crate::dto::housecall_admin::{
    ProviderAdminView, ProviderDocumentsView, ProviderList, ServiceBody, ServiceList, ServiceView,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, parse_id};
use crate::routes::console::{ActionKey, DocumentBody, ReasonBody, action_key};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_app::console::Act;
use doorstep_domain::onboarding::Decision;
use doorstep_domain::{ServiceId, User, UserId};
use utoipa::ToSchema;

fn service_id(raw: &str) -> Result<ServiceId, ApiError> {
    parse_id(raw, "service")
}

fn act<'a>(user: &'a User, reason: &'a str, key: &'a str) -> Act<'a> {
    Act {
        admin: user,
        reason,
        key,
    }
}

// ---- the catalogue

/// Adds a service to the house-call catalogue.
#[utoipa::path(post, path = "/v1/admin/house-calls/services", operation_id = "admin_create_house_call_service", tag = "house_calls",
    params(ActionKey), request_body = ServiceBody,
    responses((status = 201, body = ServiceView),
        (status = 422, description = "invalid_service, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_create_service(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ServiceBody>,
) -> Result<(StatusCode, Json<ServiceView>), ApiError> {
    let key = action_key(&headers)?;
    let draft = body.draft()?;
    let service = state
        .app
        .admin_create_hc_service(act(&user, &body.reason, key), draft)
        .await?;
    Ok((StatusCode::CREATED, Json(ServiceView::from(&service))))
}

/// Replaces a service of the catalogue whole; `active: false` retires it (its bookings stay).
#[utoipa::path(put, path = "/v1/admin/house-calls/services/{service_id}", operation_id = "admin_replace_house_call_service", tag = "house_calls",
    params(("service_id" = uuid::Uuid, Path, description = "The service"), ActionKey), request_body = ServiceBody,
    responses((status = 200, body = ServiceView), (status = 404, description = "service_not_found"),
        (status = 422, description = "invalid_service, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_replace_service(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ServiceBody>,
) -> Result<Json<ServiceView>, ApiError> {
    let id = service_id(&id)?;
    let key = action_key(&headers)?;
    let draft = body.draft()?;
    let service = state
        .app
        .admin_replace_hc_service(act(&user, &body.reason, key), id, draft)
        .await?;
    Ok(Json(ServiceView::from(&service)))
}

/// The catalogue, by name: the bookable services (operators see the retired ones too).
#[utoipa::path(get, path = "/v1/house-calls/services", operation_id = "list_house_call_services", tag = "house_calls",
    responses((status = 200, body = ServiceList)))]
pub async fn list_services(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<ServiceList>, ApiError> {
    let services = state.app.hc_catalogue(&user).await?;
    Ok(Json(ServiceList {
        services: services.iter().map(ServiceView::from).collect(),
    }))
}

/// One service of the catalogue, bookable or retired.
#[utoipa::path(get, path = "/v1/house-calls/services/{service_id}", operation_id = "get_house_call_service", tag = "house_calls",
    params(("service_id" = uuid::Uuid, Path, description = "The service")),
    responses((status = 200, body = ServiceView), (status = 404, description = "service_not_found")))]
pub async fn get_service(
    State(state): State<ApiState>,
    Caller(_user): Caller,
    Path(id): Path<String>,
) -> Result<Json<ServiceView>, ApiError> {
    let service = state.app.hc_service(service_id(&id)?).await?;
    Ok(Json(ServiceView::from(&service)))
}

// ---- vetting providers

/// Every provider account, by name: approval, profile, services, area, documents, and whether customers
/// can book them today.
#[utoipa::path(get, path = "/v1/admin/providers", operation_id = "admin_list_providers", tag = "house_calls",
    responses((status = 200, body = ProviderList)))]
pub async fn admin_list_providers(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<ProviderList>, ApiError> {
    let providers = state.app.admin_providers(&user).await?;
    Ok(Json(ProviderList {
        providers: providers.iter().map(ProviderAdminView::from).collect(),
    }))
}

async fn decide(
    state: &ApiState,
    user: &User,
    id: &str,
    headers: &HeaderMap,
    reason: &str,
    decision: Decision,
) -> Result<Json<ProviderAdminView>, ApiError> {
    let id: UserId = parse_id(id, "provider")?;
    let key = action_key(headers)?;
    let record = state
        .app
        .admin_decide_provider(act(user, reason, key), id, decision)
        .await?;
    Ok(Json(ProviderAdminView::from(&record)))
}

/// Approves a pending or rejected provider who wrote a profile and holds no expired document: customers
/// can book them from now on.
#[utoipa::path(post, path = "/v1/admin/providers/{provider_id}/approve", operation_id = "admin_approve_provider", tag = "house_calls",
    params(("provider_id" = uuid::Uuid, Path, description = "The provider's account"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = ProviderAdminView), (status = 404, description = "provider_not_found"),
        (status = 409, description = "provider_profile_missing, invalid_provider_state, document_expired, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_approve_provider(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<ProviderAdminView>, ApiError> {
    decide(
        &state,
        &user,
        &id,
        &headers,
        &body.reason,
        Decision::Approve,
    )
    .await
}

/// Rejects a provider (pending, approved or suspended): no new bookings.
#[utoipa::path(post, path = "/v1/admin/providers/{provider_id}/reject", operation_id = "admin_reject_provider", tag = "house_calls",
    params(("provider_id" = uuid::Uuid, Path, description = "The provider's account"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = ProviderAdminView), (status = 404, description = "provider_not_found"),
        (status = 409, description = "provider_profile_missing, invalid_provider_state, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_reject_provider(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<ProviderAdminView>, ApiError> {
    decide(&state, &user, &id, &headers, &body.reason, Decision::Reject).await
}

/// Suspends an approved provider: no new bookings until reinstated (booked visits stay).
#[utoipa::path(post, path = "/v1/admin/providers/{provider_id}/suspend", operation_id = "admin_suspend_provider", tag = "house_calls",
    params(("provider_id" = uuid::Uuid, Path, description = "The provider's account"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = ProviderAdminView), (status = 404, description = "provider_not_found"),
        (status = 409, description = "provider_profile_missing, invalid_provider_state, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_suspend_provider(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<ProviderAdminView>, ApiError> {
    decide(
        &state,
        &user,
        &id,
        &headers,
        &body.reason,
        Decision::Suspend,
    )
    .await
}

/// Lifts a provider's suspension: approved again (not while a document is expired).
#[utoipa::path(post, path = "/v1/admin/providers/{provider_id}/reinstate", operation_id = "admin_reinstate_provider", tag = "house_calls",
    params(("provider_id" = uuid::Uuid, Path, description = "The provider's account"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = ProviderAdminView), (status = 404, description = "provider_not_found"),
        (status = 409, description = "provider_profile_missing, invalid_provider_state, document_expired, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_reinstate_provider(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<ProviderAdminView>, ApiError> {
    decide(
        &state,
        &user,
        &id,
        &headers,
        &body.reason,
        Decision::Reinstate,
    )
    .await
}

// ---- the provider's documents

/// The provider's documents and the kinds not declared yet.
#[utoipa::path(get, path = "/v1/providers/me/documents", operation_id = "provider_documents", tag = "house_calls",
    responses((status = 200, body = ProviderDocumentsView)))]
pub async fn my_documents(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<ProviderDocumentsView>, ApiError> {
    let documents = state.app.my_provider_documents(&user).await?;
    Ok(Json(ProviderDocumentsView::from(&documents)))
}

/// A kind of provider document (the path parameter of `PUT /v1/providers/me/documents/{kind}`).
#[derive(Debug, ToSchema)]
#[schema(as = ProviderDocumentKind)]
#[allow(
    dead_code,
    reason = "documents the path parameter; the handler parses the text itself"
)]
pub enum ProviderDocumentKindParam {
    /// An identity card or passport.
    #[schema(rename = "id_card")]
    IdCard,
    /// The licence to practise the trade.
    #[schema(rename = "professional_licence")]
    ProfessionalLicence,
    /// Liability insurance for work in customers' homes.
    #[schema(rename = "liability_insurance")]
    LiabilityInsurance,
}

/// Declares (or replaces) one of the provider's documents: its number and expiry date. Operators see
/// them before approving; an expired one stops new bookings.
#[utoipa::path(put, path = "/v1/providers/me/documents/{kind}", operation_id = "put_provider_document", tag = "house_calls",
    params(("kind" = inline(ProviderDocumentKindParam), Path, description = "Which document")),
    request_body = DocumentBody,
    responses((status = 200, body = ProviderDocumentsView), (status = 409, description = "document_expired"),
        (status = 422, description = "invalid_document_kind, invalid_document_number, invalid_expiry_date")))]
pub async fn put_document(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(kind): Path<String>,
    ApiJson(body): ApiJson<DocumentBody>,
) -> Result<Json<ProviderDocumentsView>, ApiError> {
    let documents = state
        .app
        .put_provider_document(&user, &kind, &body.number, &body.expires_on)
        .await?;
    Ok(Json(ProviderDocumentsView::from(&documents)))
}
