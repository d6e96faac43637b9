//! The provider's safety tools over HTTP: a share link for a trusted contact
//! (`POST`/`DELETE /v1/house-calls/bookings/{booking_id}/share`), what the link shows to whoever holds
//! it (`GET /v1/shared-visits/{token}`, public: the token is the capability), the SOS button
//! (`POST /v1/house-calls/bookings/{booking_id}/sos`), and the operators' side of SOS
//! (`GET /v1/admin/sos-alerts`, `POST /v1/admin/sos-alerts/{alert_id}/acknowledge`, audited with a
//! reason and an `Idempotency-Key`).
//!
//! A share token travels in a URL path, so the request span never logs it: [`loggable_path`] puts the
//! route's template in place of the token (the span is made before routing, when the matched route is
//! not known yet).

use crate::ApiState;
use crate::dto::console_housecalls::{
    ShareBody, ShareLinkView, SharedVisitView, SosAlertList, SosAlertView, SosBody,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, parse_id};
use crate::routes::console::{ActionKey, ReasonBody, action_key};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_app::console::Act;
use doorstep_app::visit_safety::{OperatorSosAlert, SHARE_TOKEN_PATTERN};
use doorstep_domain::JobId;
use doorstep_domain::ids::SosAlertId;
use std::borrow::Cow;
use utoipa::openapi::path::{Parameter, ParameterIn};

/// Paths whose last segment is a secret, with the template logged instead.
const SECRET_PATHS: [(&str, &str); 2] = [
    ("/v1/shared-visits/", "/v1/shared-visits/{token}"),
    ("/share/visit/", "/share/visit/{token}"),
];

/// The path as the request span may log it: a path that carries a share token is logged as its route
/// template; any other path as it is.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    for (prefix, template) in SECRET_PATHS {
        if path.starts_with(prefix) {
            return Cow::Borrowed(template);
        }
    }
    Cow::Borrowed(path)
}

fn booking_id(raw: &str) -> Result<JobId, ApiError> {
    parse_id(raw, "booking")
}

/// The share token path parameter.
struct TokenParam;

impl utoipa::IntoParams for TokenParam {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![crate::schema::parameter(
            ParameterIn::Path,
            "token",
            true,
            crate::schema::string()
                .pattern(Some(SHARE_TOKEN_PATTERN))
                .into(),
            "The share link's token",
        )]
    }
}

/// The booking's provider makes a link to share the visit with a trusted contact: it shows the visit's
/// state, times, the provider's first name, the neighbourhood and the provider's position while on the
/// way or at the visit, until it expires (4 hours by default, at most 24). The token is shown once.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/share", operation_id = "share_house_call", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")), request_body = ShareBody,
    responses((status = 201, body = ShareLinkView), (status = 404, description = "booking_not_found"),
        (status = 409, description = "invalid_booking_state"),
        (status = 422, description = "invalid_expiry")))]
pub async fn share(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ShareBody>,
) -> Result<(StatusCode, Json<ShareLinkView>), ApiError> {
    let link = state
        .app
        .share_visit(&user, booking_id(&id)?, body.expires_in_min)
        .await?;
    Ok((StatusCode::CREATED, Json(ShareLinkView::from(&link))))
}

/// The booking's provider revokes every share link of the visit still working (none is fine).
#[utoipa::path(delete, path = "/v1/house-calls/bookings/{booking_id}/share", operation_id = "revoke_house_call_share", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")),
    responses((status = 204), (status = 404, description = "booking_not_found")))]
pub async fn revoke_share(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_visit_shares(&user, booking_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a share link shows, without an account: the token is the capability. No address, no customer;
/// the provider's position only while on the way, at the door or in the visit. An unknown, expired or
/// revoked token is 404 `share_not_found`.
#[utoipa::path(get, path = "/v1/shared-visits/{token}", operation_id = "shared_visit", tag = "house_calls",
    params(TokenParam),
    responses((status = 200, body = SharedVisitView), (status = 404, description = "share_not_found")))]
pub async fn shared_visit(
    State(state): State<ApiState>,
    Path(token): Path<String>,
) -> Result<Json<SharedVisitView>, ApiError> {
    let visit = state.app.shared_visit(&token).await?;
    Ok(Json(SharedVisitView::from(&visit)))
}

/// The booking's provider raises an SOS alert, with a note if there is time: operators see it at once
/// with the provider's last position. Never refused for the visit's state.
#[utoipa::path(post, path = "/v1/house-calls/bookings/{booking_id}/sos", operation_id = "house_call_sos", tag = "house_calls",
    params(("booking_id" = uuid::Uuid, Path, description = "The booking")), request_body = SosBody,
    responses((status = 201, body = SosAlertView), (status = 404, description = "booking_not_found"),
        (status = 422, description = "invalid_note")))]
pub async fn sos(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SosBody>,
) -> Result<(StatusCode, Json<SosAlertView>), ApiError> {
    let alert = state
        .app
        .raise_sos(&user, booking_id(&id)?, body.note.as_deref())
        .await?;
    let view = OperatorSosAlert {
        alert,
        booking: None,
        provider_name: None,
        customer_name: None,
        acknowledged_by_name: None,
    };
    Ok((StatusCode::CREATED, Json(SosAlertView::from(&view))))
}

/// SOS alerts: every open one, oldest first, then the latest acknowledged ones; with the visit, the
/// provider's and customer's names, the address and the provider's position. Keep it current with the
/// `booking_sos_*` events of `/v1/events`.
#[utoipa::path(get, path = "/v1/admin/sos-alerts", operation_id = "admin_sos_alerts", tag = "operations",
    responses((status = 200, body = SosAlertList)))]
pub async fn admin_sos_alerts(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<SosAlertList>, ApiError> {
    let alerts = state.app.admin_sos_alerts(&user).await?;
    Ok(Json(SosAlertList {
        open: alerts
            .iter()
            .filter(|a| a.alert.acknowledged_at.is_none())
            .count(),
        alerts: alerts.iter().map(SosAlertView::from).collect(),
    }))
}

/// An operator acknowledges an open SOS alert (help is on its way; the provider is told). Audited with
/// the reason; a retry with the same `Idempotency-Key` answers the alert and writes nothing.
#[utoipa::path(post, path = "/v1/admin/sos-alerts/{alert_id}/acknowledge", operation_id = "admin_acknowledge_sos", tag = "operations",
    params(("alert_id" = uuid::Uuid, Path, description = "The alert"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = SosAlertView), (status = 404, description = "sos_alert_not_found"),
        (status = 409, description = "sos_already_acknowledged"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_acknowledge_sos(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<SosAlertView>, ApiError> {
    let id: SosAlertId = parse_id(&id, "sos_alert")?;
    let key = action_key(&headers)?;
    let alert = state
        .app
        .admin_acknowledge_sos(
            Act {
                admin: &user,
                reason: &body.reason,
                key,
            },
            id,
        )
        .await?;
    Ok(Json(SosAlertView::from(&alert)))
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_path_with_a_share_token_is_logged_as_its_template() {
        let token = format!("vsh_{}", "ab".repeat(32));
        assert_eq!(
            loggable_path(&format!("/v1/shared-visits/{token}")),
            "/v1/shared-visits/{token}"
        );
        assert_eq!(
            loggable_path(&format!("/share/visit/{token}")),
            "/share/visit/{token}"
        );
        assert_eq!(loggable_path("/v1/rides/abc"), "/v1/rides/abc");
    }
}
