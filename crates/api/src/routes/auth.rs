//! Sign-up, login, logout and the caller's own account.

use crate::ApiState;
use crate::dto::{LoginRequest, LoginResponse, MeResponse, SignupRequest, SignupResponse};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, bearer_token};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;

/// Creates an account and returns its first token.
#[utoipa::path(post, path = "/v1/auth/signup", operation_id = "sign_up", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = SignupResponse), (status = 409, description = "email_taken"),
        (status = 422, description = "invalid_email, weak_password, invalid_name, invalid_characters")))]
pub async fn signup(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    let signed = state
        .app
        .sign_up(&body.email, &body.password, &body.name, body.role.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            user_id: signed.user.id.to_string(),
            token: signed.token.expose().to_owned(),
        }),
    ))
}

/// Exchanges an e-mail and password for a token.
#[utoipa::path(post, path = "/v1/auth/login", operation_id = "log_in", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "invalid_credentials"),
        (status = 403, description = "account_suspended")))]
pub async fn login(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let (user, token) = state.app.log_in(&body.email, &body.password).await?;
    Ok(Json(LoginResponse {
        user_id: user.id.to_string(),
        token: token.expose().to_owned(),
        role: user.role.as_str().to_owned(),
        name: user.name,
    }))
}

/// Ends the session of the token used.
#[utoipa::path(post, path = "/v1/auth/logout", operation_id = "log_out", tag = "auth", responses((status = 204, description = "The token no longer works")))]
pub async fn logout(
    State(state): State<ApiState>,
    _caller: Caller,
    parts: Parts,
) -> Result<StatusCode, ApiError> {
    if let Some(token) = bearer_token(&parts) {
        state.app.log_out(token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account and rating.
#[utoipa::path(get, path = "/v1/me", operation_id = "get_me", tag = "auth", responses((status = 200, body = MeResponse)))]
pub async fn me(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<MeResponse>, ApiError> {
    let (rating, ratings) = state.app.rating_summary(user.id).await?;
    let online = (user.role == doorstep_domain::Role::Driver).then(|| {
        state
            .app
            .with_fleet(|f| f.driver(user.id).is_some_and(|d| d.online()))
    });
    Ok(Json(MeResponse {
        user_id: user.id.to_string(),
        email: user.email.as_str().to_owned(),
        name: user.name,
        role: user.role.as_str().to_owned(),
        rating,
        ratings,
        online,
    }))
}
