//! The money and ratings of food orders over HTTP: the parties of a delivered order rate each other and
//! the merchant (`/v1/orders/{order_id}/ratings`), and a merchant's staff and operators read its statement
//! (`/v1/merchants/{merchant_id}/statement`).
//!
//! Anyone not party to the order gets 404 `order_not_found`, and staff of another merchant 404
//! `merchant_not_found`, before their body or query is looked at.

use crate::ApiState;
use crate::dto::food_money::{
    MerchantStatementView, OrderRatingBody, OrderRatingList, OrderRatingView, StatementQuery,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use doorstep_app::food_ratings::OrderRatingInput;
use doorstep_domain::{JobId, MerchantId};

/// A party of a delivered order rates another: the customer rates the `merchant` (stars, a comment,
/// tags) and the `courier`, the courier rates the `customer`. Once per order, rater and ratee.
#[utoipa::path(post, path = "/v1/orders/{order_id}/ratings", operation_id = "rate_order", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")), request_body = OrderRatingBody,
    responses((status = 201, body = OrderRatingView), (status = 404, description = "order_not_found"),
        (status = 409, description = "order_not_delivered, already_rated"),
        (status = 422, description = "invalid_ratee, invalid_stars, comment_too_long, invalid_characters, invalid_tag, too_many_tags")))]
pub async fn rate(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OrderRatingBody>,
) -> Result<(StatusCode, Json<OrderRatingView>), ApiError> {
    let id: JobId = parse_id(&id, "order")?;
    let input = OrderRatingInput {
        whom: &body.whom,
        stars: i64::from(body.stars),
        comment: &body.comment,
        tags: &body.tags,
    };
    // The app finds the order for the caller before it reads the body.
    let rating = state.app.rate_order(&user, id, &input).await?;
    let order = state.app.order_for(&user, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrderRatingView::of(&rating, order.customer())),
    ))
}

/// The ratings of an order, oldest first, for its customer, its merchant's staff, its courier and
/// operators.
#[utoipa::path(get, path = "/v1/orders/{order_id}/ratings", operation_id = "order_ratings", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = OrderRatingList), (status = 404, description = "order_not_found")))]
pub async fn ratings(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderRatingList>, ApiError> {
    let (order, ratings) = state
        .app
        .order_ratings(&user, parse_id(&id, "order")?)
        .await?;
    Ok(Json(OrderRatingList {
        ratings: ratings
            .iter()
            .map(|r| OrderRatingView::of(r, order.customer()))
            .collect(),
    }))
}

/// A merchant's statement for New York calendar days `from` to `to` (both included; default the seven
/// days up to today): per day and in total the orders delivered, the food subtotal, the commission, what
/// is payable (subtotal − commission), cancellation fees received and refunds, read from the ledger's
/// postings on the merchant's payable account. For its staff and operators.
#[utoipa::path(get, path = "/v1/merchants/{merchant_id}/statement", operation_id = "merchant_statement", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant"), StatementQuery),
    responses((status = 200, body = MerchantStatementView), (status = 404, description = "merchant_not_found"),
        (status = 422, description = "invalid_date, invalid_period, period_too_long")))]
pub async fn statement(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<StatementQuery>,
) -> Result<Json<MerchantStatementView>, ApiError> {
    let merchant: MerchantId = parse_id(&id, "merchant")?;
    let statement = state
        .app
        .merchant_statement(&user, merchant, q.from.as_deref(), q.to.as_deref())
        .await?;
    Ok(Json((&statement).into()))
}
