//! The operations console's actions and people (admins), and the drivers' side of onboarding.
//!
//! Every action takes a reason and an `Idempotency-Key` header (a retry with the same key does not act
//! again and answers what the first did; the same key for another action is refused), goes through the
//! domain's state machines and the ledger's builders, and is recorded in the audit log in the same
//! transaction.

use crate::ApiState;
use crate::dto::{MoneyDto, RideView, VehicleDto, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use doorstep_app::console::{Act, Onboarding, PersonPage, RideLedger, effective_approval};
use doorstep_domain::audit::{AUDIT_REASON, AuditEntry};
use doorstep_domain::onboarding::{DOCUMENT_NUMBER_PATTERN, DocumentKind, PHONE_PATTERN};
use doorstep_domain::{RideId, User, UserId};
use doorstep_store::Person;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, path::Parameter, path::ParameterIn};
use utoipa::{IntoParams, ToSchema};

// ---- schemas

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String))
}

/// An operator's reason.
pub fn reason_schema() -> RefOr<Schema> {
    string()
        .min_length(Some(AUDIT_REASON.min_chars))
        .max_length(Some(AUDIT_REASON.max_chars))
        .pattern(AUDIT_REASON.pattern())
        .description(Some("Why (required, recorded in the audit log), trimmed"))
        .into()
}

fn phone_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(PHONE_PATTERN))
        .description(Some(
            "Phone number in E.164, e.g. +12125550100; null (or absent) removes it",
        ))
        .into()
}

fn document_number_schema() -> RefOr<Schema> {
    string()
        .pattern(Some(DOCUMENT_NUMBER_PATTERN))
        .description(Some("The document's number"))
        .into()
}

fn expiry_schema() -> RefOr<Schema> {
    string()
        .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
            utoipa::openapi::schema::KnownFormat::Date,
        )))
        .pattern(Some("^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"))
        .description(Some("The last day the document is valid, YYYY-MM-DD"))
        .into()
}

fn amount_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Integer))
        .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
            utoipa::openapi::schema::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .description(Some("Minor units (cents), at most what is left to refund"))
        .into()
}

/// The required `Idempotency-Key` header of an operator action.
pub(crate) struct ActionKey;

impl IntoParams for ActionKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![crate::schema::parameter(
            ParameterIn::Header,
            "Idempotency-Key",
            true,
            crate::schema::idempotency_key(),
            "Client-chosen key: a retry with the same key does not act again; the same key for another \
             action is refused",
        )]
    }
}

pub(crate) fn action_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    match headers.get("idempotency-key") {
        Some(v) => crate::schema::check_idempotency_key(v.as_bytes()),
        None => Err(ApiError::unprocessable(
            "idempotency_key_required",
            "send an Idempotency-Key header with every operator action",
        )),
    }
}

// ---- views

/// Someone, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonRef {
    /// The account.
    pub user_id: String,
    /// Their display name.
    pub name: String,
    /// `rider`, `driver`, `admin`, ...
    pub role: String,
}

/// An account as the console shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    /// The account.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Login address.
    pub email: String,
    /// Phone number (E.164), if given.
    pub phone: Option<String>,
    /// `rider`, `driver`, `admin`, ...
    pub role: String,
    /// When the account was made.
    pub created_at: String,
    /// When it was suspended, if it is.
    pub suspended_at: Option<String>,
    /// A driver's approval: `pending`, `approved`, `rejected` or `suspended`.
    pub approval: Option<String>,
    /// The operator's reason for the last approval decision.
    pub approval_reason: Option<String>,
}

impl From<&Person> for PersonView {
    fn from(p: &Person) -> Self {
        PersonView {
            user_id: p.user.id.to_string(),
            name: p.user.name.clone(),
            email: p.user.email.as_str().to_owned(),
            phone: p.phone.clone(),
            role: p.user.role.as_str().to_owned(),
            created_at: rfc3339(p.user.created_at),
            suspended_at: p.suspended_at.map(rfc3339),
            approval: effective_approval(p).map(|a| a.as_str().to_owned()),
            approval_reason: p.approval_reason.clone(),
        }
    }
}

/// A document a driver declared.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    /// `licence`, `insurance` or `vehicle_registration`.
    pub kind: String,
    /// Its number.
    pub number: String,
    /// The last day it is valid.
    pub expires_on: String,
    /// Whether it has expired.
    pub expired: bool,
}

/// A driver's onboarding.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnboardingView {
    /// `pending`, `approved`, `rejected` or `suspended`.
    pub approval: String,
    /// The operator's reason for the last decision.
    pub reason: Option<String>,
    /// The documents declared.
    pub documents: Vec<DocumentView>,
    /// The kinds not declared yet.
    pub missing: Vec<String>,
    /// The vehicle registered (null before the driver registers one; an operator cannot approve the
    /// driver until then).
    pub vehicle: Option<VehicleDto>,
    /// Whether the driver may go online now.
    pub may_go_online: bool,
}

impl From<&Onboarding> for OnboardingView {
    fn from(o: &Onboarding) -> Self {
        OnboardingView {
            approval: o.approval.as_str().to_owned(),
            reason: o.reason.clone(),
            documents: o
                .documents
                .iter()
                .map(|d| DocumentView {
                    kind: d.kind.as_str().to_owned(),
                    number: d.number.clone(),
                    expires_on: d.expires_on.to_string(),
                    expired: d.is_expired(o.today),
                })
                .collect(),
            missing: DocumentKind::DRIVER
                .iter()
                .filter(|k| !o.documents.iter().any(|d| d.kind == **k))
                .map(|k| k.as_str().to_owned())
                .collect(),
            vehicle: o.vehicle.as_ref().map(VehicleDto::from),
            may_go_online: doorstep_domain::onboarding::may_go_online(
                o.approval,
                &o.documents,
                o.today,
            )
            .is_ok(),
        }
    }
}

/// One line of a posting.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// The account key: `rider:<id>`, `driver:<id>`, `platform:commission`, `platform:fees`,
    /// `platform:refunds`, ...
    pub account: String,
    /// Signed amount: negative debits the account.
    pub amount: MoneyDto,
}

/// A balanced posting.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingView {
    /// `ride_fare`, `cancellation_fee`, `tip`, `refund`, ...
    pub kind: String,
    /// Its idempotency key within the ride (`waiver:cancellation_fee` for a fee waiver).
    pub key: String,
    /// Whether it is a fee waiver.
    pub waiver: bool,
    /// When.
    pub at: String,
    /// Its entries (they sum to zero).
    pub entries: Vec<EntryView>,
}

/// A ride's money.
#[derive(Debug, Serialize, ToSchema)]
pub struct RideLedgerView {
    /// The postings, oldest first.
    pub postings: Vec<PostingView>,
    /// The sum of every entry, minor units: zero when the ride's books balance.
    pub total: i64,
    /// What the rider paid less what came back.
    pub refundable: MoneyDto,
}

impl From<&RideLedger> for RideLedgerView {
    fn from(l: &RideLedger) -> Self {
        RideLedgerView {
            postings: l
                .postings
                .iter()
                .map(|p| PostingView {
                    kind: p.kind().as_str().to_owned(),
                    key: p.key().as_str().to_owned(),
                    waiver: doorstep_domain::ledger::is_fee_waiver(p),
                    at: rfc3339(p.at()),
                    entries: p
                        .entries()
                        .iter()
                        .map(|e| EntryView {
                            account: e.account.key(),
                            amount: e.amount.into(),
                        })
                        .collect(),
                })
                .collect(),
            total: l
                .postings
                .iter()
                .flat_map(|p| p.entries())
                .map(|e| e.amount.minor)
                .sum(),
            refundable: l.refundable.into(),
        }
    }
}

/// One recorded operator action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Its position in the log (the cursor of the next page is the last one's).
    pub id: i64,
    /// When.
    pub at: String,
    /// The operator.
    pub actor: PersonRef,
    /// `cancel_ride`, `cancel_ride_with_fee`, `refund`, `waive_fee`, `reassign_ride`, `release_ride`,
    /// `suspend`, `reinstate`, `approve_driver` or `reject_driver`.
    pub action: String,
    /// `ride` or `user`.
    pub target_kind: String,
    /// The ride's or account's id.
    pub target_id: String,
    /// The account's name, for an action on an account.
    pub target_name: Option<String>,
    /// Why.
    pub reason: String,
    /// Details (an amount in minor units, the new driver), as recorded.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntryView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

async fn audit_views(
    state: &ApiState,
    admin: &User,
    entries: &[AuditEntry],
) -> Result<Vec<AuditEntryView>, ApiError> {
    let mut ids: Vec<UserId> = entries.iter().map(|e| e.entry.actor).collect();
    ids.extend(
        entries
            .iter()
            .filter(|e| e.entry.action.target_kind() == doorstep_domain::audit::TargetKind::User)
            .map(|e| UserId::from_uuid(e.entry.target)),
    );
    let names = state.app.names_of(admin, &ids).await?;
    let name_of = |id: UserId| names.iter().find(|(u, _, _)| *u == id);
    Ok(entries
        .iter()
        .map(|e| {
            let actor = name_of(e.entry.actor);
            let kind = e.entry.action.target_kind();
            AuditEntryView {
                id: e.id,
                at: rfc3339(e.entry.at),
                actor: PersonRef {
                    user_id: e.entry.actor.to_string(),
                    name: actor.map_or_else(String::new, |a| a.1.clone()),
                    role: actor.map_or("admin", |a| a.2.as_str()).to_owned(),
                },
                action: e.entry.action.as_str().to_owned(),
                target_kind: kind.as_str().to_owned(),
                target_id: e.entry.target.to_string(),
                target_name: (kind == doorstep_domain::audit::TargetKind::User)
                    .then(|| name_of(UserId::from_uuid(e.entry.target)).map(|n| n.1.clone()))
                    .flatten(),
                reason: e.entry.reason.clone(),
                detail: serde_json::from_str(&e.entry.detail).unwrap_or(serde_json::Value::Null),
            }
        })
        .collect())
}

// ---- bodies

/// An action that needs only a reason.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonBody {
    /// Why.
    #[schema(schema_with = reason_schema)]
    pub reason: String,
}

/// `POST /v1/admin/rides/{ride_id}/cancel`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminCancelBody {
    /// Why.
    #[schema(schema_with = reason_schema)]
    pub reason: String,
    /// Charge the rider the city's cancellation fee (the driver on the way gets their share).
    #[serde(default)]
    pub charge_fee: bool,
}

/// `POST /v1/admin/rides/{ride_id}/refund`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundBody {
    /// Why.
    #[schema(schema_with = reason_schema)]
    pub reason: String,
    /// How much to give back.
    #[schema(schema_with = amount_schema)]
    pub amount: i64,
}

/// `POST /v1/admin/rides/{ride_id}/reassign`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReassignBody {
    /// Why.
    #[schema(schema_with = reason_schema)]
    pub reason: String,
    /// The driver to give the ride to; absent or null: back to dispatch (the current driver is not
    /// offered it again).
    #[serde(default)]
    #[schema(format = Uuid)]
    pub driver_id: Option<String>,
}

/// `PUT /v1/drivers/me/documents/{kind}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DocumentBody {
    /// The document's number.
    #[schema(schema_with = document_number_schema)]
    pub number: String,
    /// The last day it is valid.
    #[schema(schema_with = expiry_schema)]
    pub expires_on: String,
}

/// `PUT /v1/me/phone`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PhoneBody {
    /// The phone number; null removes it.
    #[schema(schema_with = phone_schema)]
    pub phone: Option<String>,
}

/// The caller's phone number.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneView {
    /// In E.164, or null.
    pub phone: Option<String>,
}

// ---- ride actions

fn act<'a>(user: &'a User, reason: &'a str, key: &'a str) -> Act<'a> {
    Act {
        admin: user,
        reason,
        key,
    }
}

fn ride_view(state: &ApiState, ride: &doorstep_domain::ride::Ride, user: &User) -> RideView {
    RideView::new(ride, user.id, None, state.app.config().pin_max_attempts)
}

/// Cancels a ride before its trip starts, with the city's cancellation fee (`charge_fee`) or without.
#[utoipa::path(post, path = "/v1/admin/rides/{ride_id}/cancel", operation_id = "admin_cancel_ride", tag = "console",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride"), ActionKey), request_body = AdminCancelBody,
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "invalid_ride_state, no_cancellation_fee, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn cancel_ride(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AdminCancelBody>,
) -> Result<Json<RideView>, ApiError> {
    let id: RideId = parse_id(&id, "ride")?;
    let key = action_key(&headers)?;
    let ride = state
        .app
        .admin_cancel_ride(act(&user, &body.reason, key), id, body.charge_fee)
        .await?;
    Ok(Json(ride_view(&state, &ride, &user)))
}

/// Gives money back to the ride's rider: at most what they paid for it less earlier refunds. Posted to
/// the ledger as a balanced refund.
#[utoipa::path(post, path = "/v1/admin/rides/{ride_id}/refund", operation_id = "admin_refund", tag = "console",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride"), ActionKey), request_body = RefundBody,
    responses((status = 200, body = RideLedgerView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "refund_too_large, nothing_to_refund"),
        (status = 422, description = "invalid_amount, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn refund(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefundBody>,
) -> Result<Json<RideLedgerView>, ApiError> {
    let id: RideId = parse_id(&id, "ride")?;
    let key = action_key(&headers)?;
    let ledger = state
        .app
        .admin_refund(act(&user, &body.reason, key), id, body.amount)
        .await?;
    Ok(Json(RideLedgerView::from(&ledger)))
}

/// Gives back the cancellation fee charged for the ride, posted as a waiver (a refund of the fee).
#[utoipa::path(post, path = "/v1/admin/rides/{ride_id}/waive-fee", operation_id = "admin_waive_fee", tag = "console",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = RideLedgerView), (status = 404, description = "ride_not_found"),
        (status = 409, description = "no_fee_to_waive, fee_already_waived, refund_too_large"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn waive_fee(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<RideLedgerView>, ApiError> {
    let id: RideId = parse_id(&id, "ride")?;
    let key = action_key(&headers)?;
    let ledger = state
        .app
        .admin_waive_fee(act(&user, &body.reason, key), id)
        .await?;
    Ok(Json(RideLedgerView::from(&ledger)))
}

/// Takes an assigned ride from its driver and gives it to another (online, free, approved) driver, or
/// puts it back into dispatch without that driver.
#[utoipa::path(post, path = "/v1/admin/rides/{ride_id}/reassign", operation_id = "admin_reassign_ride", tag = "console",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride"), ActionKey), request_body = ReassignBody,
    responses((status = 200, body = RideView), (status = 404, description = "ride_not_found, driver_not_found"),
        (status = 409, description = "invalid_ride_state, driver_unavailable, driver_not_approved, driver_excluded, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn reassign(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReassignBody>,
) -> Result<Json<RideView>, ApiError> {
    let id: RideId = parse_id(&id, "ride")?;
    let key = action_key(&headers)?;
    let to = body
        .driver_id
        .as_deref()
        .map(|d| parse_id::<UserId>(d, "driver"))
        .transpose()?;
    let ride = state
        .app
        .admin_reassign(act(&user, &body.reason, key), id, to)
        .await?;
    Ok(Json(ride_view(&state, &ride, &user)))
}

/// A ride's postings and what is left to refund.
#[utoipa::path(get, path = "/v1/admin/rides/{ride_id}/ledger", operation_id = "admin_ride_ledger", tag = "console",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = RideLedgerView), (status = 404, description = "ride_not_found")))]
pub async fn ride_ledger(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<RideLedgerView>, ApiError> {
    let id: RideId = parse_id(&id, "ride")?;
    let ledger = state.app.ride_ledger(&user, id).await?;
    Ok(Json(RideLedgerView::from(&ledger)))
}

// ---- account actions

/// Suspends a rider's or driver's account: it cannot log in, its tokens answer 403 `account_suspended`,
/// and a driver is taken offline.
#[utoipa::path(post, path = "/v1/admin/people/{user_id}/suspend", operation_id = "admin_suspend", tag = "console",
    params(("user_id" = uuid::Uuid, Path, description = "The account"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = PersonView), (status = 404, description = "user_not_found"),
        (status = 409, description = "cannot_suspend_admin, already_suspended"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn suspend(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<PersonView>, ApiError> {
    let id: UserId = parse_id(&id, "user")?;
    let key = action_key(&headers)?;
    let person = state
        .app
        .admin_set_suspended(act(&user, &body.reason, key), id, true)
        .await?;
    Ok(Json(PersonView::from(&person)))
}

/// Lifts a suspension.
#[utoipa::path(post, path = "/v1/admin/people/{user_id}/reinstate", operation_id = "admin_reinstate", tag = "console",
    params(("user_id" = uuid::Uuid, Path, description = "The account"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = PersonView), (status = 404, description = "user_not_found"),
        (status = 409, description = "cannot_suspend_admin, not_suspended"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn reinstate(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<PersonView>, ApiError> {
    let id: UserId = parse_id(&id, "user")?;
    let key = action_key(&headers)?;
    let person = state
        .app
        .admin_set_suspended(act(&user, &body.reason, key), id, false)
        .await?;
    Ok(Json(PersonView::from(&person)))
}

/// Approves a driver: they may go online (with no document expired). A driver who has not registered a
/// vehicle cannot be approved yet (409 `vehicle_missing`).
#[utoipa::path(post, path = "/v1/admin/drivers/{user_id}/approve", operation_id = "admin_approve_driver", tag = "console",
    params(("user_id" = uuid::Uuid, Path, description = "The driver"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = PersonView), (status = 404, description = "driver_not_found"),
        (status = 409, description = "already_approved, vehicle_missing"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn approve(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<PersonView>, ApiError> {
    let id: UserId = parse_id(&id, "driver")?;
    let key = action_key(&headers)?;
    let person = state
        .app
        .admin_decide_driver(act(&user, &body.reason, key), id, true)
        .await?;
    Ok(Json(PersonView::from(&person)))
}

/// Rejects a driver (the reason is shown to them); a rejected driver is taken offline.
#[utoipa::path(post, path = "/v1/admin/drivers/{user_id}/reject", operation_id = "admin_reject_driver", tag = "console",
    params(("user_id" = uuid::Uuid, Path, description = "The driver"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = PersonView), (status = 404, description = "driver_not_found"),
        (status = 409, description = "already_rejected"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn reject(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<PersonView>, ApiError> {
    let id: UserId = parse_id(&id, "driver")?;
    let key = action_key(&headers)?;
    let person = state
        .app
        .admin_decide_driver(act(&user, &body.reason, key), id, false)
        .await?;
    Ok(Json(PersonView::from(&person)))
}

// ---- reads

/// Audit log query.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// Only entries about this ride or account.
    pub target: Option<String>,
    /// Only entries by this operator.
    pub actor: Option<String>,
    /// Only entries older than this cursor (`next_cursor` of the previous page).
    pub cursor: Option<i64>,
    /// At most this many (1 to 200, default 50).
    pub limit: Option<i64>,
}

impl IntoParams for AuditQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let uuid = || -> RefOr<Schema> {
            string()
                .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                    utoipa::openapi::schema::KnownFormat::Uuid,
                )))
                .into()
        };
        let range = doorstep_app::console::AUDIT_PAGE_LIMIT;
        let integer = |min: i64, max: i64| -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Integer))
                .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                    utoipa::openapi::schema::KnownFormat::Int64,
                )))
                .minimum(Some(min))
                .maximum(Some(max))
                .into()
        };
        use crate::schema::parameter;
        vec![
            parameter(
                ParameterIn::Query,
                "target",
                false,
                uuid(),
                "Only entries about this ride or account",
            ),
            parameter(
                ParameterIn::Query,
                "actor",
                false,
                uuid(),
                "Only entries by this operator",
            ),
            parameter(
                ParameterIn::Query,
                "cursor",
                false,
                integer(1, i64::MAX),
                "The `next_cursor` of the previous page",
            ),
            parameter(
                ParameterIn::Query,
                "limit",
                false,
                integer(*range.start(), *range.end()),
                "At most this many (default 50)",
            ),
        ]
    }
}

/// The audit log of operator actions, newest first, by target and operator, a page at a time.
#[utoipa::path(get, path = "/v1/admin/audit", operation_id = "admin_audit", tag = "console", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 422, description = "invalid_target, invalid_actor, invalid_cursor, invalid_limit")))]
pub async fn audit(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let target = q
        .target
        .as_deref()
        .map(|t| {
            uuid::Uuid::parse_str(t).map_err(|_| {
                ApiError::unprocessable("invalid_target", "target is a ride's or account's id")
            })
        })
        .transpose()?;
    let actor = q
        .actor
        .as_deref()
        .map(|a| {
            a.parse::<UserId>()
                .map_err(|_| ApiError::unprocessable("invalid_actor", "actor is an operator's id"))
        })
        .transpose()?;
    if q.cursor.is_some_and(|c| c < 1) {
        return Err(ApiError::unprocessable(
            "invalid_cursor",
            "cursor is a next_cursor of an earlier page",
        ));
    }
    let range = doorstep_app::console::AUDIT_PAGE_LIMIT;
    let limit = q.limit.unwrap_or(50);
    if !range.contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_limit",
            format!("limit must be {} to {}", range.start(), range.end()),
        ));
    }
    let entries = state
        .app
        .audit_log(&user, target, actor, q.cursor, limit)
        .await?;
    let next_cursor = (entries.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        entries: audit_views(&state, &user, &entries).await?,
        next_cursor,
    }))
}

/// People search query.
#[derive(Debug, Deserialize)]
pub struct PeopleQuery {
    /// Text in the name, e-mail address or phone number.
    pub q: Option<String>,
    /// Or: these accounts, comma-separated ids (at most 100), to show people by name.
    pub ids: Option<String>,
}

impl IntoParams for PeopleQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::schema::parameter;
        vec![
            parameter(
                ParameterIn::Query,
                "q",
                false,
                string()
                    .max_length(Some(doorstep_app::console::PEOPLE_SEARCH_MAX_CHARS))
                    .into(),
                "Text in the name, e-mail address or phone number",
            ),
            parameter(
                ParameterIn::Query,
                "ids",
                false,
                string().pattern(Some(IDS_PATTERN)).into(),
                "Comma-separated account ids (at most 100)",
            ),
        ]
    }
}

/// One to a hundred comma-separated UUIDs.
const IDS_PATTERN: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\
    (,[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}){0,99}$";

/// Found people.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeopleList {
    /// By name.
    pub people: Vec<PersonView>,
}

/// Finds people by name, e-mail address or phone number (`q`), or by id (`ids`); at most 50 by search.
#[utoipa::path(get, path = "/v1/admin/people", operation_id = "admin_people", tag = "console", params(PeopleQuery),
    responses((status = 200, body = PeopleList), (status = 422, description = "invalid_query_text, invalid_ids")))]
pub async fn people(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<PeopleQuery>,
) -> Result<Json<PeopleList>, ApiError> {
    if let Some(ids) = q.ids.as_deref() {
        let parsed = ids
            .split(',')
            .map(|s| s.trim().parse::<UserId>())
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|v| v.len() <= 100)
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_ids",
                    "ids is up to 100 comma-separated account ids",
                )
            })?;
        let found = state.app.people_by_ids(&user, &parsed).await?;
        return Ok(Json(PeopleList {
            people: found.iter().map(PersonView::from).collect(),
        }));
    }
    let text = q.q.unwrap_or_default();
    if text.chars().count() > doorstep_app::console::PEOPLE_SEARCH_MAX_CHARS {
        return Err(ApiError::unprocessable(
            "invalid_query_text",
            format!(
                "q is at most {} characters",
                doorstep_app::console::PEOPLE_SEARCH_MAX_CHARS
            ),
        ));
    }
    let found = state.app.search_people(&user, &text).await?;
    Ok(Json(PeopleList {
        people: found.iter().map(PersonView::from).collect(),
    }))
}

/// Everything the console shows of one person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonPageView {
    /// The account.
    pub person: PersonView,
    /// Their rides (as rider or driver), newest first, at most 50.
    pub rides: Vec<RideView>,
    /// Their mean rating (0 with no ratings).
    pub rating: f64,
    /// How many ratings.
    pub ratings: i64,
    /// A driver's onboarding.
    pub onboarding: Option<OnboardingView>,
    /// Operator actions about them, newest first.
    pub audit: Vec<AuditEntryView>,
}

/// One person: profile, rides, rating, a driver's documents, and the operator actions about them.
#[utoipa::path(get, path = "/v1/admin/people/{user_id}", operation_id = "admin_person", tag = "console",
    params(("user_id" = uuid::Uuid, Path, description = "The account")),
    responses((status = 200, body = PersonPageView), (status = 404, description = "user_not_found")))]
pub async fn person(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<PersonPageView>, ApiError> {
    let id: UserId = parse_id(&id, "user")?;
    let page: PersonPage = state.app.person_page(&user, id).await?;
    Ok(Json(PersonPageView {
        person: PersonView::from(&page.person),
        rides: page
            .rides
            .iter()
            .map(|r| ride_view(&state, r, &user))
            .collect(),
        rating: page.rating.0,
        ratings: page.rating.1,
        onboarding: page.onboarding.as_ref().map(OnboardingView::from),
        audit: audit_views(&state, &user, &page.audit).await?,
    }))
}

// ---- the driver's side

/// The driver's approval and documents.
#[utoipa::path(get, path = "/v1/drivers/me/onboarding", operation_id = "driver_onboarding", tag = "driving",
    responses((status = 200, body = OnboardingView)))]
pub async fn onboarding(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<OnboardingView>, ApiError> {
    let o = state.app.onboarding(&user).await?;
    Ok(Json(OnboardingView::from(&o)))
}

/// A kind of document (the path parameter of `PUT /v1/drivers/me/documents/{kind}`).
#[derive(Debug, ToSchema)]
#[schema(as = DocumentKind)]
#[allow(
    dead_code,
    reason = "documents the path parameter; the handler parses the text itself"
)]
pub enum DocumentKindParam {
    /// The driving licence.
    #[schema(rename = "licence")]
    Licence,
    /// The vehicle's insurance.
    #[schema(rename = "insurance")]
    Insurance,
    /// The vehicle's registration.
    #[schema(rename = "vehicle_registration")]
    VehicleRegistration,
}

/// Declares (or replaces) one of the driver's documents: its number and expiry date. An operator checks
/// them before approving the driver; an expired document takes the driver offline.
#[utoipa::path(put, path = "/v1/drivers/me/documents/{kind}", operation_id = "put_driver_document", tag = "driving",
    params(("kind" = inline(DocumentKindParam), Path, description = "Which document")),
    request_body = DocumentBody,
    responses((status = 200, body = OnboardingView), (status = 409, description = "document_expired"),
        (status = 422, description = "invalid_document_kind, invalid_document_number, invalid_expiry_date")))]
pub async fn put_document(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(kind): Path<String>,
    ApiJson(body): ApiJson<DocumentBody>,
) -> Result<Json<OnboardingView>, ApiError> {
    let o = state
        .app
        .put_document(&user, &kind, &body.number, &body.expires_on)
        .await?;
    Ok(Json(OnboardingView::from(&o)))
}

/// Sets or removes the caller's phone number (E.164), by which operators can find the account.
#[utoipa::path(put, path = "/v1/me/phone", operation_id = "set_phone", tag = "auth", request_body = PhoneBody,
    responses((status = 200, body = PhoneView), (status = 422, description = "invalid_phone")))]
pub async fn set_phone(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<PhoneBody>,
) -> Result<Json<PhoneView>, ApiError> {
    let phone = state.app.set_phone(&user, body.phone.as_deref()).await?;
    Ok(Json(PhoneView { phone }))
}
