//! Merchants for food delivery over HTTP: operators create and approve them (`/v1/admin/merchants`,
//! audited, with a reason and an `Idempotency-Key` like every operator action), a merchant's staff run
//! their own (`/v1/merchants/mine`, profile, hours, pause, busy mode, the cap on open orders, the menu's
//! import, export and sold-out toggles), and anyone signed in browses approved merchants that deliver to
//! a point, one merchant, and its menu.
//!
//! A merchant's staff naming another merchant get 404 `merchant_not_found`, never 403: they learn
//! nothing of it. Customers see approved merchants only.

use crate::ApiState;
use crate::dto::LatLngDto;
use crate::dto::merchants::{
    AddStaffBody, BusyBody, CreateMerchantBody, HoursBody, MaxOpenOrdersBody, MenuDocument,
    MenuView, MerchantList, MerchantListing, MerchantListings, MerchantView, PauseBody,
    ProfileBody, SoldOutBody, SoldOutView,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Caller, parse_id};
use crate::routes::console::{ActionKey, ReasonBody, action_key};
use crate::routes::places::PointQuery;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use doorstep_app::console::Act;
use doorstep_app::merchants::{NewStaffAccount, ProfileInput};
use doorstep_domain::food::merchant::{MerchantStatus, StatusAction};
use doorstep_domain::{MenuItemId, MerchantId, User, UserId};
use doorstep_geo::LatLng;
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};

/// The path of the menu import, whose body may be larger than other requests'.
pub const MENU_IMPORT_PATH: &str = "/v1/merchants/{merchant_id}/menu";

/// The largest menu import accepted, in bytes: a catalogue of hundreds of items with their
/// descriptions and options.
pub const MENU_IMPORT_MAX_BYTES: usize = 1024 * 1024;

fn merchant_id(raw: &str) -> Result<MerchantId, ApiError> {
    parse_id(raw, "merchant")
}

fn profile_input(body: &ProfileBody) -> Result<ProfileInput<'_>, ApiError> {
    let point = LatLng::try_from(LatLngDto {
        lat: body.lat,
        lng: body.lng,
    })?;
    Ok(ProfileInput {
        name: &body.name,
        cuisines: &body.cuisines,
        address: &body.address,
        point,
        delivery_radius_m: body.delivery_radius_m,
        prep_minutes: body.prep_minutes,
    })
}

fn act<'a>(user: &'a User, reason: &'a str, key: &'a str) -> Act<'a> {
    Act {
        admin: user,
        reason,
        key,
    }
}

fn view(state: &ApiState, merchant: &doorstep_domain::food::Merchant) -> Json<MerchantView> {
    Json(MerchantView::of(merchant, None, state.app.clock().now()))
}

// ---- operators

/// `?status=` of the operators' list.
#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    /// Only merchants in this standing.
    pub status: Option<String>,
}

impl utoipa::IntoParams for StatusQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![crate::schema::parameter(
            ParameterIn::Query,
            "status",
            false,
            crate::schema::string()
                .enum_values(Some(MerchantStatus::ALL.iter().map(|s| s.as_str())))
                .into(),
            "Only merchants in this standing",
        )]
    }
}

/// Creates a merchant, pending approval, with its staff: existing accounts of role merchant and, if
/// asked, a new account made for it. The point must be on land in the service area.
#[utoipa::path(post, path = "/v1/admin/merchants", operation_id = "admin_create_merchant", tag = "merchants",
    params(ActionKey), request_body = CreateMerchantBody,
    responses((status = 201, body = MerchantView),
        (status = 409, description = "email_taken, staff_taken"),
        (status = 422, description = "invalid_name, invalid_address, invalid_characters, invalid_cuisine, too_many_cuisines, invalid_radius, invalid_prep_time, invalid_coordinates, in_water, outside_service_area, invalid_staff, too_many_staff, invalid_email, weak_password, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_create(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateMerchantBody>,
) -> Result<(StatusCode, Json<MerchantView>), ApiError> {
    let key = action_key(&headers)?;
    let input = profile_input(&body.profile)?;
    let staff: Vec<UserId> = body.staff.iter().map(|u| UserId::from_uuid(*u)).collect();
    let new_account = body.new_staff.as_ref().map(|a| NewStaffAccount {
        email: &a.email,
        name: &a.name,
        password: &a.password,
    });
    let page = state
        .app
        .admin_create_merchant(act(&user, &body.reason, key), &input, &staff, new_account)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MerchantView::of_page(&page, state.app.clock().now())),
    ))
}

/// Every merchant (or those in one standing), oldest first.
#[utoipa::path(get, path = "/v1/admin/merchants", operation_id = "admin_list_merchants", tag = "merchants",
    params(StatusQuery),
    responses((status = 200, body = MerchantList), (status = 422, description = "invalid_status")))]
pub async fn admin_list(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Json<MerchantList>, ApiError> {
    let status = q
        .status
        .map(|s| {
            MerchantStatus::parse(&s).ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_status",
                    "status is pending, approved or suspended",
                )
            })
        })
        .transpose()?;
    let merchants = state.app.admin_merchants(&user, status).await?;
    let now = state.app.clock().now();
    Ok(Json(MerchantList {
        merchants: merchants
            .iter()
            .map(|m| MerchantView::of(m, None, now))
            .collect(),
    }))
}

/// A merchant with its staff.
#[utoipa::path(get, path = "/v1/admin/merchants/{merchant_id}", operation_id = "admin_get_merchant", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant")),
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found")))]
pub async fn admin_get(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<MerchantView>, ApiError> {
    let page = state.app.admin_merchant(&user, merchant_id(&id)?).await?;
    Ok(Json(MerchantView::of_page(&page, state.app.clock().now())))
}

async fn admin_action(
    state: &ApiState,
    user: &User,
    id: &str,
    headers: &HeaderMap,
    reason: &str,
    action: StatusAction,
) -> Result<Json<MerchantView>, ApiError> {
    let id = merchant_id(id)?;
    let key = action_key(headers)?;
    let page = state
        .app
        .admin_merchant_action(act(user, reason, key), id, action)
        .await?;
    Ok(Json(MerchantView::of_page(&page, state.app.clock().now())))
}

/// Approves a pending merchant: customers see it from now on.
#[utoipa::path(post, path = "/v1/admin/merchants/{merchant_id}/approve", operation_id = "admin_approve_merchant", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 409, description = "invalid_merchant_state, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_approve(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<MerchantView>, ApiError> {
    admin_action(
        &state,
        &user,
        &id,
        &headers,
        &body.reason,
        StatusAction::Approve,
    )
    .await
}

/// Suspends a pending or approved merchant: customers no longer see it and it takes no order.
#[utoipa::path(post, path = "/v1/admin/merchants/{merchant_id}/suspend", operation_id = "admin_suspend_merchant", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 409, description = "invalid_merchant_state, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_suspend(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<MerchantView>, ApiError> {
    admin_action(
        &state,
        &user,
        &id,
        &headers,
        &body.reason,
        StatusAction::Suspend,
    )
    .await
}

/// Lifts a merchant's suspension: it is approved again.
#[utoipa::path(post, path = "/v1/admin/merchants/{merchant_id}/reinstate", operation_id = "admin_reinstate_merchant", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant"), ActionKey), request_body = ReasonBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 409, description = "invalid_merchant_state, concurrent_update"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_reinstate(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<MerchantView>, ApiError> {
    admin_action(
        &state,
        &user,
        &id,
        &headers,
        &body.reason,
        StatusAction::Reinstate,
    )
    .await
}

/// Puts an account of role merchant on the merchant's staff (an account works for one merchant).
#[utoipa::path(post, path = "/v1/admin/merchants/{merchant_id}/staff", operation_id = "admin_add_merchant_staff", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant"), ActionKey), request_body = AddStaffBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 409, description = "staff_taken"),
        (status = 422, description = "invalid_staff, invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_add_staff(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddStaffBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let id = merchant_id(&id)?;
    let key = action_key(&headers)?;
    let page = state
        .app
        .admin_add_merchant_staff(
            act(&user, &body.reason, key),
            id,
            UserId::from_uuid(body.user_id),
        )
        .await?;
    Ok(Json(MerchantView::of_page(&page, state.app.clock().now())))
}

/// Takes an account off the merchant's staff.
#[utoipa::path(post, path = "/v1/admin/merchants/{merchant_id}/staff/{user_id}/remove", operation_id = "admin_remove_merchant_staff", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant"),
        ("user_id" = uuid::Uuid, Path, description = "The staff member's account"), ActionKey),
    request_body = ReasonBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found, user_not_found"),
        (status = 409, description = "not_on_staff"),
        (status = 422, description = "invalid_reason, invalid_idempotency_key, idempotency_key_required, idempotency_key_reused")))]
pub async fn admin_remove_staff(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path((id, staff)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let id = merchant_id(&id)?;
    let staff: UserId = parse_id(&staff, "user")?;
    let key = action_key(&headers)?;
    let page = state
        .app
        .admin_remove_merchant_staff(act(&user, &body.reason, key), id, staff)
        .await?;
    Ok(Json(MerchantView::of_page(&page, state.app.clock().now())))
}

// ---- a merchant's staff

/// The merchant the caller is on the staff of, with its staff.
#[utoipa::path(get, path = "/v1/merchants/mine", operation_id = "my_merchant", tag = "merchants",
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found")))]
pub async fn mine(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<MerchantView>, ApiError> {
    let page = state.app.my_merchant(&user).await?;
    Ok(Json(MerchantView::of_page(&page, state.app.clock().now())))
}

/// Replaces the merchant's profile (the same rules as at creation).
#[utoipa::path(put, path = "/v1/merchants/{merchant_id}/profile", operation_id = "update_merchant_profile", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")), request_body = ProfileBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 422, description = "invalid_name, invalid_address, invalid_characters, invalid_cuisine, too_many_cuisines, invalid_radius, invalid_prep_time, invalid_coordinates, in_water, outside_service_area")))]
pub async fn update_profile(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let id = merchant_id(&id)?;
    state.app.own_merchant(&user, id).await?;
    let input = profile_input(&body)?;
    let merchant = state.app.update_merchant_profile(&user, id, &input).await?;
    Ok(view(&state, &merchant))
}

/// Replaces the merchant's opening hours: the regular week and dated exceptions, in New York local time.
#[utoipa::path(put, path = "/v1/merchants/{merchant_id}/hours", operation_id = "set_merchant_hours", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")), request_body = HoursBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 422, description = "invalid_hours, invalid_exception_date")))]
pub async fn set_hours(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HoursBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let id = merchant_id(&id)?;
    state.app.own_merchant(&user, id).await?;
    let (weekly, exceptions) = body.into_domain()?;
    let merchant = state
        .app
        .set_merchant_hours(&user, id, weekly, exceptions)
        .await?;
    Ok(view(&state, &merchant))
}

/// Stops taking new orders, for some minutes or until resumed.
#[utoipa::path(post, path = "/v1/merchants/{merchant_id}/pause", operation_id = "pause_merchant", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")), request_body = PauseBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 422, description = "invalid_pause_minutes")))]
pub async fn pause(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PauseBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = state
        .app
        .pause_merchant(&user, merchant_id(&id)?, body.minutes)
        .await?;
    Ok(view(&state, &merchant))
}

/// Takes new orders again.
#[utoipa::path(post, path = "/v1/merchants/{merchant_id}/resume", operation_id = "resume_merchant", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")),
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found")))]
pub async fn resume(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = state.app.resume_merchant(&user, merchant_id(&id)?).await?;
    Ok(view(&state, &merchant))
}

/// Switches busy mode on: every preparation takes some minutes longer, for a while or until switched off.
#[utoipa::path(put, path = "/v1/merchants/{merchant_id}/busy", operation_id = "set_merchant_busy", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")), request_body = BusyBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 422, description = "invalid_busy_minutes")))]
pub async fn set_busy(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BusyBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = state
        .app
        .set_merchant_busy(
            &user,
            merchant_id(&id)?,
            body.extra_minutes,
            body.for_minutes,
        )
        .await?;
    Ok(view(&state, &merchant))
}

/// Switches busy mode off.
#[utoipa::path(delete, path = "/v1/merchants/{merchant_id}/busy", operation_id = "clear_merchant_busy", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")),
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found")))]
pub async fn clear_busy(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = state
        .app
        .clear_merchant_busy(&user, merchant_id(&id)?)
        .await?;
    Ok(view(&state, &merchant))
}

/// Caps the merchant's open orders (null: no cap); the order side refuses new orders at the cap.
#[utoipa::path(put, path = "/v1/merchants/{merchant_id}/max-open-orders", operation_id = "set_merchant_max_open_orders", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")), request_body = MaxOpenOrdersBody,
    responses((status = 200, body = MerchantView), (status = 404, description = "merchant_not_found"),
        (status = 422, description = "invalid_max_open_orders")))]
pub async fn set_max_open_orders(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MaxOpenOrdersBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = state
        .app
        .set_merchant_max_open_orders(&user, merchant_id(&id)?, body.max_open_orders)
        .await?;
    Ok(view(&state, &merchant))
}

/// The merchant's whole menu with every id and its version: the document an import takes back.
#[utoipa::path(get, path = "/v1/merchants/{merchant_id}/menu/export", operation_id = "export_menu", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")),
    responses((status = 200, body = MenuDocument), (status = 404, description = "merchant_not_found")))]
pub async fn export_menu(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<MenuDocument>, ApiError> {
    let stored = state.app.export_menu(&user, merchant_id(&id)?).await?;
    Ok(Json(MenuDocument::of(&stored)))
}

/// Whether `headers` declare a JSON body, as `axum::Json` accepts it (`application/json` or
/// `application/*+json`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// Replaces the merchant's whole menu with the document after checking all of it: every bad field is
/// named by its path (`categories[0].items[2].price`) and nothing is written. Ids of the current menu
/// are kept, anything else gets a new id. With `version`, only if the menu is still at it. Bodies up to
/// 1 MiB.
#[utoipa::path(put, path = "/v1/merchants/{merchant_id}/menu", operation_id = "import_menu", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant")), request_body = MenuDocument,
    responses((status = 200, body = MenuDocument), (status = 404, description = "merchant_not_found"),
        (status = 409, description = "menu_changed"),
        (status = 422, description = "invalid_menu")))]
pub async fn import_menu(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<MenuDocument>, ApiError> {
    let id = merchant_id(&id)?;
    state.app.own_merchant(&user, id).await?;
    if !is_json(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, MENU_IMPORT_MAX_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a menu is at most {MENU_IMPORT_MAX_BYTES} bytes"),
            )
        })?;
    let Json(document) = Json::<MenuDocument>::from_bytes(&bytes)?;
    let expected = document.version;
    let draft = document.into_draft()?;
    let stored = state.app.import_menu(&user, id, &draft, expected).await?;
    Ok(Json(MenuDocument::of(&stored)))
}

/// Marks an item sold out, or back in stock.
#[utoipa::path(put, path = "/v1/merchants/{merchant_id}/menu/items/{item_id}/sold-out", operation_id = "set_item_sold_out", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The caller's merchant"),
        ("item_id" = uuid::Uuid, Path, description = "An item of its menu")),
    request_body = SoldOutBody,
    responses((status = 200, body = SoldOutView), (status = 404, description = "merchant_not_found, item_not_found"),
        (status = 409, description = "menu_changed")))]
pub async fn set_sold_out(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path((id, item)): Path<(String, String)>,
    ApiJson(body): ApiJson<SoldOutBody>,
) -> Result<Json<SoldOutView>, ApiError> {
    let id = merchant_id(&id)?;
    let item: MenuItemId = parse_id(&item, "item")?;
    let stored = state
        .app
        .set_item_sold_out(&user, id, item, body.sold_out)
        .await?;
    Ok(Json(SoldOutView {
        item_id: item.to_string(),
        sold_out: body.sold_out,
        version: stored.version,
    }))
}

// ---- browsing

/// Approved merchants that deliver to a point (within their radius), those taking orders now first, then
/// by distance; each with whether it is open now, when it opens next, and busy mode's minutes.
#[utoipa::path(get, path = "/v1/merchants", operation_id = "browse_merchants", tag = "merchants", params(PointQuery),
    responses((status = 200, body = MerchantListings),
        (status = 422, description = "invalid_coordinates, in_water, outside_service_area")))]
pub async fn browse(
    State(state): State<ApiState>,
    Caller(_user): Caller,
    ApiQuery(q): ApiQuery<PointQuery>,
) -> Result<Json<MerchantListings>, ApiError> {
    let point = LatLng::try_from(LatLngDto {
        lat: q.lat,
        lng: q.lng,
    })?;
    let listings = state.app.browse_merchants(point).await?;
    let now = state.app.clock().now();
    Ok(Json(MerchantListings {
        merchants: listings
            .iter()
            .map(|l| {
                let outlook = state.app.delivery_outlook(&l.merchant, point, now);
                MerchantListing {
                    delivery_fee: Some(outlook.delivery_fee.into()),
                    // Seconds to whole minutes, rounded up: a promise is not shortened by rounding.
                    delivery_minutes: Some(
                        u32::try_from((outlook.estimate_s.max(0) + 59) / 60).unwrap_or(u32::MAX),
                    ),
                    ..MerchantListing::from(l)
                }
            })
            .collect(),
    }))
}

/// An approved merchant (its own staff and operators also see it before approval).
#[utoipa::path(get, path = "/v1/merchants/{merchant_id}", operation_id = "get_merchant", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant")),
    responses((status = 200, body = MerchantListing), (status = 404, description = "merchant_not_found")))]
pub async fn get(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<MerchantListing>, ApiError> {
    let listing = state.app.merchant_listing(&user, merchant_id(&id)?).await?;
    let (mean, count) = state.app.merchant_rating(listing.merchant.id).await?;
    let mut view = MerchantListing::from(&listing);
    view.rating = Some(crate::dto::merchants::MerchantRatingView { mean, count });
    Ok(Json(view))
}

/// An approved merchant's menu as customers see it: prices as money, what can be ordered now.
#[utoipa::path(get, path = "/v1/merchants/{merchant_id}/menu", operation_id = "get_menu", tag = "merchants",
    params(("merchant_id" = uuid::Uuid, Path, description = "The merchant")),
    responses((status = 200, body = MenuView), (status = 404, description = "merchant_not_found")))]
pub async fn menu(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<MenuView>, ApiError> {
    let (listing, stored) = state.app.merchant_menu(&user, merchant_id(&id)?).await?;
    let local = doorstep_geo::new_york_local(state.app.clock().now().unix_secs());
    Ok(Json(MenuView::of(&listing, &stored, local)))
}
