//! The operations console's food reads over HTTP: the operators' list of orders
//! (`GET /v1/admin/orders?state=&merchant_id=&limit=`), one order's timeline
//! (`GET /v1/admin/orders/{order_id}/events`) and the dashboard's food tile
//! (`GET /v1/admin/food/summary`). Operators only (the access table answers 403 to anyone else before
//! these handlers run). The console acts on orders through the audited endpoints of `routes/orders.rs`
//! and on merchants through `routes/merchants.rs`.

use crate::ApiState;
use crate::dto::console_food::{AdminOrderList, AdminOrderView, FoodSummaryView};
use crate::dto::{EventList, EventV1};
use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use doorstep_app::console_food::{ADMIN_ORDER_DEFAULT_LIMIT, ADMIN_ORDER_LIMIT, parse_order_state};
use doorstep_domain::{JobId, MerchantId};
use doorstep_store::{ORDER_STATES, OrderFilter};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};

/// `?state=&merchant_id=&limit=` of the operators' list of orders (read as text, so that a bad value
/// answers its own 422 code).
#[derive(Debug, Deserialize)]
pub struct AdminOrderQuery {
    /// Only orders in this state.
    pub state: Option<String>,
    /// Only orders of this merchant.
    pub merchant_id: Option<String>,
    /// At most this many.
    pub limit: Option<String>,
}

impl utoipa::IntoParams for AdminOrderQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use crate::schema::{integer_in, parameter, string};
        vec![
            parameter(
                ParameterIn::Query,
                "state",
                false,
                string()
                    .enum_values(Some(ORDER_STATES.iter().map(|s| s.as_str())))
                    .into(),
                "Only orders in this state",
            ),
            parameter(
                ParameterIn::Query,
                "merchant_id",
                false,
                string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into(),
                "Only orders of this merchant",
            ),
            parameter(
                ParameterIn::Query,
                "limit",
                false,
                integer_in(
                    *ADMIN_ORDER_LIMIT.start(),
                    *ADMIN_ORDER_LIMIT.end(),
                    "At most this many (default 100)",
                ),
                "At most this many (default 100)",
            ),
        ]
    }
}

impl AdminOrderQuery {
    /// The filter, or the 422 of the first bad value.
    fn filter(&self) -> Result<OrderFilter, ApiError> {
        let state = self
            .state
            .as_deref()
            .map(|s| {
                parse_order_state(s).ok_or_else(|| {
                    ApiError::unprocessable("invalid_state", format!("unknown order state {s:?}"))
                })
            })
            .transpose()?;
        let merchant = self
            .merchant_id
            .as_deref()
            .map(|s| {
                s.parse::<uuid::Uuid>()
                    .map(MerchantId::from_uuid)
                    .map_err(|_| {
                        ApiError::unprocessable("invalid_merchant_id", "merchant_id is a UUID")
                    })
            })
            .transpose()?;
        let limit = match self.limit.as_deref() {
            None => ADMIN_ORDER_DEFAULT_LIMIT,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| ADMIN_ORDER_LIMIT.contains(n))
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "invalid_limit",
                        format!(
                            "limit must be {} to {}",
                            ADMIN_ORDER_LIMIT.start(),
                            ADMIN_ORDER_LIMIT.end()
                        ),
                    )
                })?,
        };
        Ok(OrderFilter {
            state,
            merchant,
            limit,
        })
    }
}

/// The latest food orders of every merchant, newest first, filtered by state and merchant, with the
/// merchant's, customer's and courier's names, the times and the total. Keep it current with the
/// `order_*` events of `/v1/events`.
#[utoipa::path(get, path = "/v1/admin/orders", operation_id = "admin_list_orders", tag = "operations",
    params(AdminOrderQuery),
    responses((status = 200, body = AdminOrderList),
        (status = 422, description = "invalid_state, invalid_merchant_id, invalid_limit")))]
pub async fn admin_orders(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<AdminOrderQuery>,
) -> Result<Json<AdminOrderList>, ApiError> {
    let filter = q.filter()?;
    let orders = state.app.admin_orders(&user, filter).await?;
    Ok(Json(AdminOrderList {
        orders: orders.iter().map(AdminOrderView::from).collect(),
    }))
}

/// Every event of an order, oldest first: its timeline, in the event stream's wire format.
#[utoipa::path(get, path = "/v1/admin/orders/{order_id}/events", operation_id = "admin_order_events", tag = "operations",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = EventList), (status = 404, description = "order_not_found")))]
pub async fn admin_order_events(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<EventList>, ApiError> {
    let id: JobId = parse_id(&id, "order")?;
    let events = state.app.admin_order_events(&user, id).await?;
    Ok(Json(EventList {
        events: events.iter().map(EventV1::from).collect(),
    }))
}

/// The dashboard's food tile: today's orders by state, late orders, orders waiting for a courier,
/// merchants open, closed, paused and busy, couriers with orders and carrying food.
#[utoipa::path(get, path = "/v1/admin/food/summary", operation_id = "admin_food_summary", tag = "operations",
    responses((status = 200, body = FoodSummaryView)))]
pub async fn food_summary(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<FoodSummaryView>, ApiError> {
    let summary = state.app.food_summary(&user).await?;
    Ok(Json(FoodSummaryView::from(&summary)))
}
