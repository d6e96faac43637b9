//! Food orders over HTTP: a customer prices a cart (`/v1/orders/checkout`), places it
//! (`POST /v1/orders`, idempotent by `Idempotency-Key`), follows and cancels it; the merchant's staff see
//! their queue (`/v1/merchants/{merchant_id}/orders`) and accept, prepare, mark ready or reject.
//!
//! Anyone who is not the order's customer, on its merchant's staff, its courier or an operator gets 404
//! `order_not_found`, never 403.

use crate::ApiState;
use crate::dto::MoneyDto;
use crate::dto::orders::{
    AcceptOrderBody, AssignOrderBody, CartBody, CheckoutView, CreatePromoBody, HandoverBody,
    OrderList, OrderView, PromoList, PromoView, RefundOrderBody, RejectOrderBody,
    UndeliverableBody,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_app::orders::PromoInput;
use doorstep_domain::food::order::RejectReason;
use doorstep_domain::{JobId, MerchantId};

fn order_id(raw: &str) -> Result<JobId, ApiError> {
    parse_id(raw, "order")
}

/// Prices a cart without placing it: every line against the merchant's menu now (or at the slot),
/// the fees, the promo code and the tip, and the delivery time it would be promised.
#[utoipa::path(post, path = "/v1/orders/checkout", operation_id = "checkout_order", tag = "orders",
    request_body = CartBody,
    responses((status = 200, body = CheckoutView),
        (status = 404, description = "merchant_not_found"),
        (status = 409, description = "merchant_closed, merchant_paused, merchant_busy"),
        (status = 422, description = "cart_empty, invalid_note, invalid_address, invalid_schedule, invalid_timestamp, invalid_coordinates, in_water, outside_service_area, outside_delivery_radius, item_not_found, item_of_another_merchant, item_sold_out, item_not_available_now, invalid_quantity, invalid_options, tip_negative, tip_too_large, amount_too_large, wrong_currency, promo_malformed, promo_unknown, promo_expired, promo_below_minimum, promo_used_up, promo_exhausted, promo_wrong_currency")))]
pub async fn checkout(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<CartBody>,
) -> Result<Json<CheckoutView>, ApiError> {
    let req = body.into_request(state.app.config().food_fees.currency)?;
    let checkout = state.app.checkout(&user, &req).await?;
    Ok(Json(CheckoutView::from(&checkout)))
}

/// Places a cart as an order, priced again on the server. Its total is authorised first on
/// `payment_method_id` (default: the customer's newest card): without a method it is 422
/// `payment_method_required`, a declined card or an empty wallet 402 `card_declined` or
/// `insufficient_funds`, and nothing is placed. Send an `Idempotency-Key`: a retry with the same key and
/// body returns the first order (200) and never places a second (after a refusal, it tries again); the
/// same key with another body is 422 `idempotency_key_reused`.
#[utoipa::path(post, path = "/v1/orders", operation_id = "place_order", tag = "orders",
    request_body = CartBody, params(crate::routes::rides::IdempotencyHeader),
    responses((status = 201, body = OrderView), (status = 200, body = OrderView, description = "A retry: the order placed first"),
        (status = 402, description = "card_declined, insufficient_funds"),
        (status = 404, description = "merchant_not_found, payment_method_not_found"),
        (status = 409, description = "merchant_closed, merchant_paused, merchant_busy"),
        (status = 422, description = "cart_empty, invalid_note, invalid_address, invalid_schedule, invalid_timestamp, invalid_coordinates, in_water, outside_service_area, outside_delivery_radius, item_not_found, item_of_another_merchant, item_sold_out, item_not_available_now, invalid_quantity, invalid_options, tip_negative, tip_too_large, amount_too_large, wrong_currency, promo_malformed, promo_unknown, promo_expired, promo_below_minimum, promo_used_up, promo_exhausted, promo_wrong_currency, invalid_idempotency_key, idempotency_key_reused, payment_method_required")))]
pub async fn place(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CartBody>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| crate::schema::check_idempotency_key(v.as_bytes()))
        .transpose()?;
    let req = body.into_request(state.app.config().food_fees.currency)?;
    let (order, new) = state.app.place_order(&user, &req, key).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(OrderView::of(&order, &user))))
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/v1/orders", operation_id = "list_orders", tag = "orders",
    responses((status = 200, body = OrderList)))]
pub async fn list(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<OrderList>, ApiError> {
    let orders = state.app.my_orders(&user).await?;
    Ok(Json(OrderList {
        orders: orders.iter().map(|o| OrderView::of(o, &user)).collect(),
    }))
}

/// An order, for its customer, its merchant's staff, its courier and operators (404 for anyone else).
#[utoipa::path(get, path = "/v1/orders/{order_id}", operation_id = "get_order", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found")))]
pub async fn get(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.app.order_for(&user, order_id(&id)?).await?;
    let courier = state.app.courier_on_the_way(&order).await?;
    let mut view = OrderView::of(&order, &user).with_courier(courier);
    if order.customer() == user.id || user.role == doorstep_domain::Role::Admin {
        let payment = state.app.job_payment(order.id()).await?;
        view.payment = crate::dto::RidePaymentDto::new(&payment);
    }
    if order.customer() == user.id {
        let fees = state.app.config().food_fees;
        view.cancel_fee_now = order
            .cancel_fee(&fees)
            .map(|fee| MoneyDto::from(fee.unwrap_or(doorstep_domain::Money::zero(fees.currency))));
    }
    Ok(Json(view))
}

/// The customer cancels: free until the merchant accepts, then the late-cancellation fee (paid to the
/// merchant); refused once the courier has the food.
#[utoipa::path(post, path = "/v1/orders/{order_id}/cancel", operation_id = "cancel_order", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, concurrent_update")))]
pub async fn cancel(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.app.cancel_order(&user, order_id(&id)?).await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// The orders of the caller's merchant placed in the last 24 hours, newest first.
#[utoipa::path(get, path = "/v1/merchants/{merchant_id}/orders", operation_id = "merchant_orders", tag = "orders",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")),
    responses((status = 200, body = OrderList), (status = 404, description = "merchant_not_found")))]
pub async fn merchant_orders(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderList>, ApiError> {
    let merchant: MerchantId = parse_id(&id, "merchant")?;
    let orders = state.app.merchant_orders(&user, merchant).await?;
    Ok(Json(OrderList {
        orders: orders.iter().map(|o| OrderView::of(o, &user)).collect(),
    }))
}

/// The merchant accepts an order with a prep time; busy mode's minutes are added.
#[utoipa::path(post, path = "/v1/orders/{order_id}/accept", operation_id = "accept_order", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")), request_body = AcceptOrderBody,
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, concurrent_update"),
        (status = 422, description = "invalid_prep_time")))]
pub async fn accept(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AcceptOrderBody>,
) -> Result<Json<OrderView>, ApiError> {
    // The order first: a stranger learns nothing from the answer to a bad body.
    state.app.order_for(&user, order_id(&id)?).await?;
    if !(1..=120).contains(&body.prep_minutes) {
        return Err(ApiError::unprocessable(
            "invalid_prep_time",
            "a prep time is 1 to 120 minutes",
        ));
    }
    let order = state
        .app
        .accept_order(&user, order_id(&id)?, body.prep_minutes)
        .await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// The kitchen starts on an accepted order.
#[utoipa::path(post, path = "/v1/orders/{order_id}/preparing", operation_id = "order_preparing", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, concurrent_update")))]
pub async fn preparing(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.app.order_preparing(&user, order_id(&id)?).await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// The food is ready for the courier.
#[utoipa::path(post, path = "/v1/orders/{order_id}/ready", operation_id = "order_ready", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, concurrent_update")))]
pub async fn ready(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.app.order_ready(&user, order_id(&id)?).await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// The merchant refuses an order it has not accepted: nothing is charged.
#[utoipa::path(post, path = "/v1/orders/{order_id}/reject", operation_id = "reject_order", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")), request_body = RejectOrderBody,
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, concurrent_update"),
        (status = 422, description = "invalid_reason")))]
pub async fn reject(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectOrderBody>,
) -> Result<Json<OrderView>, ApiError> {
    state.app.order_for(&user, order_id(&id)?).await?;
    let reason = RejectReason::parse(&body.reason).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_reason",
            "a reason is item_unavailable, too_busy, closing or other",
        )
    })?;
    let order = state
        .app
        .reject_order(&user, order_id(&id)?, reason)
        .await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// An operator creates a promo code: a percentage (optionally capped) or an amount off the food, with a
/// minimum order, limits per customer and in all, and an expiry. Audited, with a reason and an
/// `Idempotency-Key` like every operator action.
#[utoipa::path(post, path = "/v1/admin/promos", operation_id = "admin_create_promo", tag = "orders",
    params(crate::routes::console::ActionKey), request_body = CreatePromoBody,
    responses((status = 201, body = PromoView), (status = 409, description = "promo_taken"),
        (status = 422, description = "promo_malformed, promo_invalid, promo_expired, invalid_timestamp, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_create_promo(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePromoBody>,
) -> Result<(StatusCode, Json<PromoView>), ApiError> {
    use doorstep_domain::Money;
    use doorstep_domain::food::promo::PromoValue;
    let key = crate::routes::console::action_key(&headers)?;
    let currency = state.app.config().food_fees.currency;
    let value = match (body.percent_bps, body.amount_off) {
        (Some(bps), None) => PromoValue::Percent {
            bps,
            max_off: body.max_off.map(|m| Money::new(m, currency)),
        },
        (None, Some(off)) if body.max_off.is_none() => PromoValue::Amount {
            off: Money::new(off, currency),
        },
        _ => {
            return Err(ApiError::unprocessable(
                "promo_invalid",
                "give either percent_bps (with an optional max_off) or amount_off",
            ));
        }
    };
    let input = PromoInput {
        code: body.code,
        value,
        min_order: Money::new(body.min_order, currency),
        per_user_limit: body.per_user_limit,
        total_limit: body.total_limit,
        expires_at: crate::dto::parse_rfc3339(&body.expires_at)?,
    };
    let act = doorstep_app::console::Act {
        admin: &user,
        reason: &body.reason,
        key,
    };
    let promo = state.app.admin_create_promo(act, &input).await?;
    Ok((StatusCode::CREATED, Json(PromoView::from(&promo))))
}

/// Every promo code with its uses, newest first.
#[utoipa::path(get, path = "/v1/admin/promos", operation_id = "admin_list_promos", tag = "orders",
    responses((status = 200, body = PromoList)))]
pub async fn admin_promos(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<PromoList>, ApiError> {
    let promos = state.app.admin_promos(&user).await?;
    Ok(Json(PromoList {
        promos: promos.iter().map(PromoView::from).collect(),
    }))
}

/// An operator gives an accepted order that waits for a courier to a courier by hand (a driver's
/// account). Audited, with a reason and an `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/admin/orders/{order_id}/assign", operation_id = "admin_assign_order", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order"), crate::routes::console::ActionKey),
    request_body = AssignOrderBody,
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, courier_not_approved, courier_suspended, document_expired, concurrent_update"),
        (status = 422, description = "invalid_courier, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_assign(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AssignOrderBody>,
) -> Result<Json<OrderView>, ApiError> {
    let key = crate::routes::console::action_key(&headers)?;
    let act = doorstep_app::console::Act {
        admin: &user,
        reason: &body.reason,
        key,
    };
    let order = state
        .app
        .admin_assign_order(
            act,
            order_id(&id)?,
            doorstep_domain::UserId::from_uuid(body.courier_id),
        )
        .await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// An order's postings (what the customer paid, the merchant's, the courier's and the platform's shares,
/// refunds) with their sum, zero when its books balance, and what is left to refund.
#[utoipa::path(get, path = "/v1/admin/orders/{order_id}/ledger", operation_id = "admin_order_ledger", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = crate::routes::console::RideLedgerView), (status = 404, description = "order_not_found")))]
pub async fn admin_ledger(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<crate::routes::console::RideLedgerView>, ApiError> {
    let ledger = state.app.order_ledger(&user, order_id(&id)?).await?;
    Ok(Json(crate::routes::console::RideLedgerView::from(&ledger)))
}

/// An operator gives money back to an order's customer: at most what they paid for it less earlier
/// refunds, borne by the platform or, with `charge_merchant`, charged back to the merchant (at most what
/// it was owed for the order). Posted to the ledger as a balanced refund with the audit entry, then paid
/// back through the order's method. Audited, with a reason and an `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/admin/orders/{order_id}/refund", operation_id = "admin_refund_order", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order"), crate::routes::console::ActionKey),
    request_body = RefundOrderBody,
    responses((status = 200, body = crate::routes::console::RideLedgerView, description = "The order's postings and what is left to refund"),
        (status = 404, description = "order_not_found"),
        (status = 409, description = "refund_too_large, nothing_to_refund, chargeback_too_large"),
        (status = 422, description = "invalid_amount, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_refund(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefundOrderBody>,
) -> Result<Json<crate::routes::console::RideLedgerView>, ApiError> {
    let key = crate::routes::console::action_key(&headers)?;
    let act = doorstep_app::console::Act {
        admin: &user,
        reason: &body.reason,
        key,
    };
    let ledger = state
        .app
        .admin_refund_order(act, order_id(&id)?, body.amount, body.charge_merchant)
        .await?;
    Ok(Json(crate::routes::console::RideLedgerView::from(&ledger)))
}

/// The order's courier is at the restaurant (their last reported position must be near it).
#[utoipa::path(post, path = "/v1/orders/{order_id}/arrived", operation_id = "courier_arrived", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, not_at_stop, concurrent_update")))]
pub async fn arrived(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state
        .app
        .courier_at_restaurant(&user, order_id(&id)?)
        .await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// The order's courier has the food.
#[utoipa::path(post, path = "/v1/orders/{order_id}/picked-up", operation_id = "courier_picked_up", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")),
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, not_at_stop, concurrent_update")))]
pub async fn picked_up(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.app.courier_picked_up(&user, order_id(&id)?).await?;
    Ok(Json(OrderView::of(&order, &user)))
}

/// The courier hands the order over with the customer's code. A wrong code is counted and answered 422
/// `wrong_handover_code` (the message says how many tries are left; the code locks after the limit);
/// the right one delivers it and posts what the customer pays and the tip.
#[utoipa::path(post, path = "/v1/orders/{order_id}/delivered", operation_id = "courier_delivered", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")), request_body = HandoverBody,
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, handover_code_locked, not_at_stop, concurrent_update"),
        (status = 422, description = "wrong_handover_code, invalid_handover_code")))]
pub async fn delivered(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HandoverBody>,
) -> Result<Json<OrderView>, ApiError> {
    match state
        .app
        .courier_delivered(&user, order_id(&id)?, body.code.trim())
        .await?
    {
        Ok(order) => Ok(Json(OrderView::of(&order, &user))),
        Err(left) => Err(ApiError::unprocessable(
            "wrong_handover_code",
            format!("wrong hand-over code: {left} tries left"),
        )),
    }
}

/// The courier cannot deliver: the customer cannot be reached, or the restaurant had nothing to hand over.
#[utoipa::path(post, path = "/v1/orders/{order_id}/undeliverable", operation_id = "courier_undeliverable", tag = "orders",
    params(("order_id" = uuid::Uuid, Path, description = "The order")), request_body = UndeliverableBody,
    responses((status = 200, body = OrderView), (status = 404, description = "order_not_found"),
        (status = 409, description = "invalid_order_state, concurrent_update"),
        (status = 422, description = "invalid_reason")))]
pub async fn undeliverable(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UndeliverableBody>,
) -> Result<Json<OrderView>, ApiError> {
    use doorstep_domain::job::UnfulfilledReason;
    state.app.order_for(&user, order_id(&id)?).await?;
    let reason = match body.reason.as_str() {
        "customer_unreachable" => UnfulfilledReason::CustomerUnreachable,
        "pickup_unavailable" => UnfulfilledReason::PickupUnavailable,
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_reason",
                "a reason is customer_unreachable or pickup_unavailable",
            ));
        }
    };
    let order = state
        .app
        .courier_cannot_deliver(&user, order_id(&id)?, reason)
        .await?;
    Ok(Json(OrderView::of(&order, &user)))
}
