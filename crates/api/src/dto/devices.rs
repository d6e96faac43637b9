//! Wire types of the device registry (`/v1/admin/devices`): connected devices that report their
//! worker's positions over MQTT (docs/devices.md). The label's schema is the rule the app checks with
//! ([`doorstep_app::devices::DEVICE_LABEL`]).

use crate::dto::rfc3339;
use crate::schema::{integer_in, text};
use doorstep_app::device_ingest::position_topic;
use doorstep_app::devices::{DEVICE_LABEL, IssuedDevice, MAX_DEVICE_LIST};
use doorstep_store::Device;
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat};
use utoipa::{IntoParams, ToSchema};

fn label_schema() -> RefOr<Schema> {
    text(
        &DEVICE_LABEL,
        "The operator's name for the device, trimmed; one line",
    )
}

/// `POST /v1/admin/devices`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateDeviceBody {
    /// The operator's name for it ("cab 42 tracker").
    #[schema(schema_with = label_schema)]
    pub label: String,
    /// Why (the audit log's reason).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
}

/// `POST /v1/admin/devices/{device_id}/bind`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BindDeviceBody {
    /// The worker whose positions the device reports (a driver's account).
    pub worker_id: uuid::Uuid,
    /// Why (the audit log's reason).
    #[schema(schema_with = crate::routes::console::reason_schema)]
    pub reason: String,
}

/// A device as operators see it; `token` only in the answer that issued it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceView {
    /// The device: its broker username and the `{device_id}` of its topic.
    pub device_id: String,
    /// The city it publishes for.
    pub city: String,
    /// The operator's name for it.
    pub label: String,
    /// The topic it publishes its positions to.
    pub topic: String,
    /// The worker whose positions it reports; null while unbound.
    pub worker_id: Option<String>,
    /// When it was bound to that worker; null while unbound.
    pub bound_at: Option<String>,
    /// When it was registered.
    pub created_at: String,
    /// When its current token was issued.
    pub token_rotated_at: String,
    /// The device's token (`dsd_` and 64 hex digits), shown once: only in the answer of the creation
    /// or rotation that issued it, never again (a retry of that request answers without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<&Device> for DeviceView {
    fn from(d: &Device) -> DeviceView {
        DeviceView {
            device_id: d.id.to_string(),
            city: d.city.clone(),
            label: d.label.clone(),
            topic: position_topic(&d.city, d.id),
            worker_id: d.worker.map(|w| w.to_string()),
            bound_at: d.bound_at.map(rfc3339),
            created_at: rfc3339(d.created_at),
            token_rotated_at: rfc3339(d.token_rotated_at),
            token: None,
        }
    }
}

impl From<&IssuedDevice> for DeviceView {
    fn from(issued: &IssuedDevice) -> DeviceView {
        DeviceView {
            token: issued.token.as_ref().map(|t| t.expose().to_owned()),
            ..DeviceView::from(&issued.device)
        }
    }
}

/// `GET /v1/admin/devices`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    /// The devices, by label.
    pub devices: Vec<DeviceView>,
}

/// The query of `GET /v1/admin/devices`. Both are read as text and checked by the handler, so that an
/// empty value is a 422 like any other bad one.
#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    /// Only the devices bound to this worker.
    pub worker_id: Option<String>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<String>,
}

impl IntoParams for DeviceQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            crate::schema::parameter(
                ParameterIn::Query,
                "worker_id",
                false,
                crate::schema::string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into(),
                "Only the devices bound to this worker",
            ),
            crate::schema::parameter(
                ParameterIn::Query,
                "limit",
                false,
                integer_in(1, MAX_DEVICE_LIST, "At most this many (default 100)"),
                "At most this many (default 100)",
            ),
        ]
    }
}
