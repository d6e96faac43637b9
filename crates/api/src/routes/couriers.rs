//! Couriers over HTTP: the delivery offers the live dispatcher makes them (one order, or a batch taken
//! or left whole), their answers, and the orders they carry. The steps of an order itself (arrived,
//! picked up, delivered with the customer's code) are in [`crate::routes::orders`].
//!
//! A delivery offer of someone else is 404 `offer_not_found`, as a ride's offer is.

use crate::ApiState;
use crate::dto::orders::{
    DeliveryOfferAnswer, DeliveryOfferDto, DeliveryOfferList, OrderList, OrderView,
};
use crate::error::ApiError;
use crate::extract::{Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use doorstep_domain::OfferId;

/// The calling courier's pending delivery offers.
#[utoipa::path(get, path = "/v1/delivery-offers", operation_id = "list_delivery_offers", tag = "orders",
    responses((status = 200, body = DeliveryOfferList)))]
pub async fn offers(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<DeliveryOfferList>, ApiError> {
    let offers = state.app.delivery_offers_for(&user).await?;
    Ok(Json(DeliveryOfferList {
        offers: offers.iter().map(DeliveryOfferDto::new).collect(),
    }))
}

/// Takes a delivery offer: every order of it is the caller's.
#[utoipa::path(post, path = "/v1/delivery-offers/{delivery_offer_id}/accept", operation_id = "accept_delivery_offer", tag = "orders",
    params(("delivery_offer_id" = uuid::Uuid, Path, description = "The offer")),
    responses((status = 200, body = OrderList), (status = 404, description = "offer_not_found"),
        (status = 409, description = "offer_expired, offer_not_pending, invalid_order_state, concurrent_update")))]
pub async fn accept(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderList>, ApiError> {
    let orders = state
        .app
        .accept_delivery_offer(&user, parse_id::<OfferId>(&id, "offer")?)
        .await?;
    Ok(Json(OrderList {
        orders: orders.iter().map(|o| OrderView::of(o, &user)).collect(),
    }))
}

/// Declines a delivery offer: its orders go to another courier.
#[utoipa::path(post, path = "/v1/delivery-offers/{delivery_offer_id}/decline", operation_id = "decline_delivery_offer", tag = "orders",
    params(("delivery_offer_id" = uuid::Uuid, Path, description = "The offer")),
    responses((status = 200, body = DeliveryOfferAnswer), (status = 404, description = "offer_not_found"),
        (status = 409, description = "offer_expired, offer_not_pending, concurrent_update")))]
pub async fn decline(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryOfferAnswer>, ApiError> {
    let offer = state
        .app
        .decline_delivery_offer(&user, parse_id::<OfferId>(&id, "offer")?)
        .await?;
    Ok(Json(DeliveryOfferAnswer {
        offer_id: offer.id.to_string(),
        state: offer.state.as_str().to_owned(),
    }))
}

/// The orders the calling courier carries or is on the way to collect.
#[utoipa::path(get, path = "/v1/couriers/me/orders", operation_id = "courier_orders", tag = "orders",
    responses((status = 200, body = OrderList)))]
pub async fn my_orders(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<OrderList>, ApiError> {
    let orders = state.app.courier_orders(&user).await?;
    Ok(Json(OrderList {
        orders: orders.iter().map(|o| OrderView::of(o, &user)).collect(),
    }))
}
