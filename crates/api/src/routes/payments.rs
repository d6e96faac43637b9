//! Payments: a rider's payment methods and wallet, tips after a ride, and an operator's read of a ride's
//! ledger postings.

use crate::ApiState;
use crate::dto::{MoneyDto, RideView, rfc3339};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, parse_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_app::payments::{TIP_MAX_MINOR, TOP_UP_LIMITS};
use doorstep_domain::payment::{PaymentMethod, Wallet};
use doorstep_domain::{JobId, RideId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A way to pay.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodDto {
    /// `cash`, `wallet`, or a stored card's id: send it as `payment_method_id` with a ride request.
    pub id: String,
    /// `cash`, `wallet` or `test_card`.
    pub kind: String,
    /// A card's last four digits.
    pub last4: Option<String>,
}

impl From<&PaymentMethod> for PaymentMethodDto {
    fn from(m: &PaymentMethod) -> Self {
        PaymentMethodDto {
            id: m.id.clone(),
            kind: m.kind.as_str().to_owned(),
            last4: m.last4.clone(),
        }
    }
}

/// A wallet.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletDto {
    /// Everything in it.
    pub balance: MoneyDto,
    /// Held by open rides' authorisations.
    pub held: MoneyDto,
    /// What can be spent or held now.
    pub available: MoneyDto,
}

impl From<Wallet> for WalletDto {
    fn from(w: Wallet) -> Self {
        let m = |minor| MoneyDto::from(doorstep_domain::Money::new(minor, w.currency));
        WalletDto {
            balance: m(w.balance),
            held: m(w.held),
            available: m(w.available()),
        }
    }
}

/// The caller's ways to pay.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodList {
    /// Cash, the wallet, then stored cards.
    pub methods: Vec<PaymentMethodDto>,
    /// The method a ride request uses without `payment_method_id`: `cash`.
    pub default_method_id: String,
    /// The wallet's balance.
    pub wallet: WalletDto,
}

/// What kind of method to add.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewMethodKind {
    /// A card of the built-in test provider.
    TestCard,
}

/// `POST /v1/me/payment-methods`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPaymentMethod {
    /// `test_card`.
    pub kind: NewMethodKind,
    /// The card number (spaces and dashes allowed). Test numbers: 4242 4242 4242 4242 approves,
    /// 4000 0000 0000 0002 is declined, 4000 0000 0000 9995 has insufficient funds; any other number
    /// passing the Luhn check approves. Only the last four digits are kept.
    #[schema(min_length = 13, max_length = 23)]
    pub number: String,
}

/// `POST /v1/me/wallet/top-ups`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TopUpBody {
    /// Minor units, 100 to 50,000 (the test provider always approves).
    #[schema(minimum = 100, maximum = 50000)]
    pub amount: i64,
}

/// `POST /v1/rides/{ride_id}/tip`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TipBody {
    /// Minor units of the ride's currency, 1 to 10,000.
    #[schema(minimum = 1, maximum = 10000)]
    pub amount: i64,
    /// The method to charge instead of the ride's: needed for a cash ride (`wallet` or a card).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub method_id: Option<String>,
}

/// A tip as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct TipResponse {
    /// The ride.
    pub ride_id: String,
    /// The tip.
    pub amount: MoneyDto,
    /// The method charged.
    pub method_id: String,
    /// When.
    pub at: String,
    /// The ride, with its payment.
    pub ride: RideView,
}

/// The header that makes a request safe to retry.
struct IdempotencyHeader;

impl utoipa::IntoParams for IdempotencyHeader {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![crate::schema::parameter(
            utoipa::openapi::path::ParameterIn::Header,
            "Idempotency-Key",
            false,
            crate::schema::idempotency_key(),
            "Client-chosen key: a retry with the same key changes nothing more",
        )]
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    headers
        .get("idempotency-key")
        .map(|v| crate::schema::check_idempotency_key(v.as_bytes()))
        .transpose()
}

/// The caller's payment methods (cash and the wallet are built in) and wallet.
#[utoipa::path(get, path = "/v1/me/payment-methods", operation_id = "list_payment_methods", tag = "payments",
    responses((status = 200, body = PaymentMethodList)))]
pub async fn list(
    State(state): State<ApiState>,
    Caller(user): Caller,
) -> Result<Json<PaymentMethodList>, ApiError> {
    let m = state.app.payment_methods(&user).await?;
    Ok(Json(PaymentMethodList {
        methods: m.methods.iter().map(PaymentMethodDto::from).collect(),
        default_method_id: doorstep_domain::payment::CASH_METHOD_ID.to_owned(),
        wallet: m.wallet.into(),
    }))
}

/// Adds a card of the test provider (at most 10 cards).
#[utoipa::path(post, path = "/v1/me/payment-methods", operation_id = "add_payment_method", tag = "payments",
    request_body = NewPaymentMethod,
    responses((status = 201, body = PaymentMethodDto), (status = 409, description = "too_many_payment_methods"),
        (status = 422, description = "invalid_card_number")))]
pub async fn add(
    State(state): State<ApiState>,
    Caller(user): Caller,
    ApiJson(body): ApiJson<NewPaymentMethod>,
) -> Result<(StatusCode, Json<PaymentMethodDto>), ApiError> {
    let NewMethodKind::TestCard = body.kind;
    let method = state.app.add_test_card(&user, &body.number).await?;
    Ok((StatusCode::CREATED, Json(PaymentMethodDto::from(&method))))
}

/// Tops up the caller's wallet through the test provider, 100 to 50,000 minor units (a wallet holds at
/// most 1,000,000). Send an `Idempotency-Key`: a retry with it adds nothing more.
#[utoipa::path(post, path = "/v1/me/wallet/top-ups", operation_id = "top_up_wallet", tag = "payments",
    request_body = TopUpBody, params(IdempotencyHeader),
    responses((status = 201, body = WalletDto),
        (status = 422, description = "invalid_amount, wallet_full, invalid_idempotency_key")))]
pub async fn top_up(
    State(state): State<ApiState>,
    Caller(user): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TopUpBody>,
) -> Result<(StatusCode, Json<WalletDto>), ApiError> {
    let generated;
    let key = match idempotency_key(&headers)? {
        Some(k) => k,
        None => {
            generated = uuid::Uuid::now_v7().to_string();
            &generated
        }
    };
    let (min, max) = TOP_UP_LIMITS;
    if !(min..=max).contains(&body.amount) {
        return Err(ApiError::unprocessable(
            "invalid_amount",
            format!("a top-up is {min} to {max} minor units"),
        ));
    }
    let wallet = state.app.top_up_wallet(&user, body.amount, key).await?;
    Ok((StatusCode::CREATED, Json(wallet.into())))
}

/// The rider tips the driver of their completed ride: once, up to 72 hours after it ended, 1 to 10,000
/// minor units, charged through the ride's payment method (a cash ride's tip names `method_id`: the
/// wallet or a card). All of it goes to the driver. Send an `Idempotency-Key`: a retry with the same key
/// and amount returns the tip; any other second tip is 409 `already_tipped`.
#[utoipa::path(post, path = "/v1/rides/{ride_id}/tip", operation_id = "tip_ride", tag = "rides",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride"), IdempotencyHeader), request_body = TipBody,
    responses((status = 201, body = TipResponse),
        (status = 402, description = "insufficient_funds, card_declined"),
        (status = 404, description = "ride_not_found, payment_method_not_found"),
        (status = 409, description = "already_tipped, ride_not_completed, tip_window_closed"),
        (status = 422, description = "invalid_amount, payment_method_required, invalid_idempotency_key")))]
pub async fn tip(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TipBody>,
) -> Result<(StatusCode, Json<TipResponse>), ApiError> {
    let id = parse_id::<RideId>(&id, "ride")?;
    let generated;
    let key = match idempotency_key(&headers)? {
        Some(k) => k,
        None => {
            generated = uuid::Uuid::now_v7().to_string();
            &generated
        }
    };
    if !(1..=TIP_MAX_MINOR).contains(&body.amount) {
        return Err(ApiError::unprocessable(
            "invalid_amount",
            format!("a tip is 1 to {TIP_MAX_MINOR} minor units"),
        ));
    }
    let (ride, tip) = state
        .app
        .tip(&user, id, body.amount, key, body.method_id.as_deref())
        .await?;
    let ride = crate::routes::rides::view_with_payment(&state, &ride, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(TipResponse {
            ride_id: tip.job.to_string(),
            amount: tip.amount.into(),
            method_id: tip.method_id,
            at: rfc3339(tip.at),
            ride,
        }),
    ))
}

/// One line of a posting.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingEntryDto {
    /// The account: `rider:<id>`, `driver:<id>`, `tips:<id>`, `cash:<id>`, `platform:commission`,
    /// `platform:fees`, `platform:refunds`, `merchant:<id>`.
    pub account: String,
    /// Signed: negative debits, positive credits.
    pub amount: MoneyDto,
}

/// A balanced posting.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingDto {
    /// `ride_fare`, `cancellation_fee`, `tip`, `refund`, `cash_collected`, ...
    pub kind: String,
    /// Its idempotency key within the job.
    pub key: String,
    /// When.
    pub at: String,
    /// Entries summing to zero.
    pub entries: Vec<PostingEntryDto>,
}

/// A ride's ledger postings.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingList {
    /// The ride.
    pub ride_id: String,
    /// Oldest first.
    pub postings: Vec<PostingDto>,
    /// Whether the entries of all of them sum to zero per currency.
    pub balanced: bool,
}

/// The ledger postings of a ride (operators only; read-only).
#[utoipa::path(get, path = "/v1/admin/rides/{ride_id}/postings", operation_id = "admin_ride_postings", tag = "operations",
    params(("ride_id" = uuid::Uuid, Path, description = "The ride")),
    responses((status = 200, body = PostingList), (status = 404, description = "ride_not_found")))]
pub async fn postings(
    State(state): State<ApiState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Json<PostingList>, ApiError> {
    let id = parse_id::<RideId>(&id, "ride")?;
    state.app.ride_for(&user, id).await?;
    let postings = state
        .app
        .store()
        .postings_of_job(JobId::from(id))
        .await
        .map_err(doorstep_app::AppError::from)?;
    let mut balance = doorstep_domain::ledger::TrialBalance::new();
    for p in &postings {
        balance.post(p);
    }
    Ok(Json(PostingList {
        ride_id: id.to_string(),
        balanced: balance.is_balanced(),
        postings: postings
            .iter()
            .map(|p| PostingDto {
                kind: p.kind().as_str().to_owned(),
                key: p.key().as_str().to_owned(),
                at: rfc3339(p.at()),
                entries: p
                    .entries()
                    .iter()
                    .map(|e| PostingEntryDto {
                        account: e.account.key(),
                        amount: e.amount.into(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}
