//! The device registry over HTTP (`/v1/admin/devices`, operators only): create a device (its token is
//! in that answer only), list and read devices, bind one to a worker, unbind it, rotate its token. Each
//! write is audited with a reason and an `Idempotency-Key` like every operator action. The devices then
//! publish positions over MQTT (`doorstep serve --mqtt`, docs/devices.md).

use crate::ApiState;
use crate::dto::devices::{BindDeviceBody, CreateDeviceBody, DeviceList, DeviceQuery, DeviceView};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, parse_id};
use crate::routes::console::{ActionKey, ReasonBody, action_key};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_app::console::Act;
use doorstep_app::devices::MAX_DEVICE_LIST;
use doorstep_domain::ids::DeviceId;
use doorstep_domain::{User, UserId};

fn device_id(raw: &str) -> Result<DeviceId, ApiError> {
    parse_id(raw, "device")
}

fn act<'a>(user: &'a User, reason: &'a str, key: &'a str) -> Act<'a> {
    Act {
        admin: user,
        reason,
        key,
    }
}

/// Registers a device (a vehicle tracker), unbound. The answer holds its token, once: give it to the
/// device, which sends it in every message. A retry with the same `Idempotency-Key` answers the device
/// without its token.
#[utoipa::path(post, path = "/v1/admin/devices", operation_id = "admin_create_device", tag = "operations",
    params(ActionKey), request_body = CreateDeviceBody,
    responses((status = 201, body = DeviceView),
        (status = 422, description = "invalid_label, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_create_device(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateDeviceBody>,
) -> Result<(StatusCode, Json<DeviceView>), ApiError> {
    let key = action_key(&headers)?;
    let issued = state
        .app
        .admin_create_device(act(&user, &body.reason, key), &body.label)
        .await?;
    Ok((StatusCode::CREATED, Json(DeviceView::from(&issued))))
}

/// The devices, by label; only those bound to `worker_id` when given.
#[utoipa::path(get, path = "/v1/admin/devices", operation_id = "admin_list_devices", tag = "operations",
    params(DeviceQuery),
    responses((status = 200, body = DeviceList), (status = 422, description = "invalid_worker, invalid_limit")))]
pub async fn admin_list_devices(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<DeviceQuery>,
) -> Result<Json<DeviceList>, ApiError> {
    let worker = q
        .worker_id
        .as_deref()
        .map(|w| {
            w.parse::<UserId>().map_err(|_| {
                ApiError::unprocessable("invalid_worker", "worker_id is a worker's account id")
            })
        })
        .transpose()?;
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_DEVICE_LIST).contains(n))
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_limit",
                    format!("limit must be 1 to {MAX_DEVICE_LIST}"),
                )
            })?,
    };
    let devices = state.app.admin_devices(&user, worker, limit).await?;
    Ok(Json(DeviceList {
        devices: devices.iter().map(DeviceView::from).collect(),
    }))
}

/// One device.
#[utoipa::path(get, path = "/v1/admin/devices/{device_id}", operation_id = "admin_get_device", tag = "operations",
    params(("device_id" = uuid::Uuid, Path, description = "The device")),
    responses((status = 200, body = DeviceView), (status = 404, description = "device_not_found")))]
pub async fn admin_get_device(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<DeviceView>, ApiError> {
    let device = state.app.admin_device(&user, device_id(&id)?).await?;
    Ok(Json(DeviceView::from(&device)))
}

/// Binds a device to a worker (a driver's account): its positions move that worker as the worker's
/// phone's do. Binding a bound device moves it to the new worker.
#[utoipa::path(post, path = "/v1/admin/devices/{device_id}/bind", operation_id = "admin_bind_device", tag = "operations",
    params(("device_id" = uuid::Uuid, Path, description = "The device"), ActionKey), request_body = BindDeviceBody,
    responses((status = 200, body = DeviceView), (status = 404, description = "device_not_found"),
        (status = 422, description = "worker_not_found, not_a_worker, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_bind_device(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BindDeviceBody>,
) -> Result<Json<DeviceView>, ApiError> {
    let id = device_id(&id)?;
    let key = action_key(&headers)?;
    let device = state
        .app
        .admin_bind_device(
            act(&user, &body.reason, key),
            id,
            UserId::from_uuid(body.worker_id),
        )
        .await?;
    Ok(Json(DeviceView::from(&device)))
}

/// Unbinds a device: its positions move nobody until it is bound again.
#[utoipa::path(post, path = "/v1/admin/devices/{device_id}/unbind", operation_id = "admin_unbind_device", tag = "operations",
    params(("device_id" = uuid::Uuid, Path, description = "The device"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = DeviceView), (status = 404, description = "device_not_found"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_unbind_device(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<DeviceView>, ApiError> {
    let id = device_id(&id)?;
    let key = action_key(&headers)?;
    let device = state
        .app
        .admin_unbind_device(act(&user, &body.reason, key), id)
        .await?;
    Ok(Json(DeviceView::from(&device)))
}

/// Gives a device a new token, in this answer only; the old token stops working. A retry with the same
/// `Idempotency-Key` answers the device without a token.
#[utoipa::path(post, path = "/v1/admin/devices/{device_id}/rotate-token", operation_id = "admin_rotate_device_token", tag = "operations",
    params(("device_id" = uuid::Uuid, Path, description = "The device"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = DeviceView), (status = 404, description = "device_not_found"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_rotate_device_token(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<DeviceView>, ApiError> {
    let id = device_id(&id)?;
    let key = action_key(&headers)?;
    let issued = state
        .app
        .admin_rotate_device_token(act(&user, &body.reason, key), id)
        .await?;
    Ok(Json(DeviceView::from(&issued)))
}
