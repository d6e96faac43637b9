//! The HTTP half of the public API, as the demo's phone apps call it: one shared client, a cap on
//! requests in flight, typed calls and a retry policy.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::de::{DeserializeOwned, IgnoredAny};
use tokio::sync::Semaphore;

use crate::DemoError;
use crate::shutdown::Shutdown;
use crate::wire::{
    CartBody, DeliveryOffers, ErrorBody, LocationPoint, LoginBody, MenuView, MerchantListings,
    MerchantView, Offers, OrderList, OrderView, Quote, QuoteBody, RatingBody, RideRequestBody,
    RideView, Rides, Session, SignupBody, StartBody, WirePoint,
};

/// Attempts of one call under [`with_retry`], the first included.
const MAX_ATTEMPTS: u32 = 6;
/// First pause between attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest pause between attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Time limit of one HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No answer: connection refused or reset, timeout.
    #[error("request failed: {0}")]
    Transport(reqwest::Error),
    /// The server answered with an error status.
    #[error("server answered {status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// The server answered success with a body this demo cannot read.
    #[error("unreadable response body: {0}")]
    Decode(serde_json::Error),
}

impl ApiError {
    /// Whether trying again later may succeed: no answer, a server error, or throttling.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            ApiError::Decode(_) => false,
        }
    }

    /// The HTTP status of a refusal.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Transport(_) | ApiError::Decode(_) => None,
        }
    }

    /// The machine-readable code of a refusal, such as `email_taken`.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            ApiError::Status { code, .. } => Some(code),
            ApiError::Transport(_) | ApiError::Decode(_) => None,
        }
    }
}

/// The server's HTTP API.
#[derive(Debug)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    permits: Arc<Semaphore>,
}

impl Api {
    /// A client of the server at `base_url` (`http://host:port`) with at most `max_in_flight`
    /// requests at once.
    pub(crate) fn new(base_url: &str, max_in_flight: usize) -> Result<Api, DemoError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(max_in_flight)
            .build()
            .map_err(DemoError::HttpClient)?;
        Ok(Api {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
        })
    }

    /// The URL of the event WebSocket (`ws://host:port/v1/events`).
    pub(crate) fn events_url(&self) -> String {
        let rest = self.base.strip_prefix("http://").unwrap_or(&self.base);
        format!("ws://{rest}/v1/events")
    }

    fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends one request (waiting for a free slot first) and reads the answer.
    async fn execute<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ApiError> {
        // The semaphore is never closed; if it were, going ahead unthrottled is the right fallback.
        let _permit = self.permits.acquire().await.ok();
        let response = builder.send().await.map_err(ApiError::Transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(ApiError::Transport)?;
        if status.is_success() {
            let body: &[u8] = if body.is_empty() { b"null" } else { &body };
            serde_json::from_slice(body).map_err(ApiError::Decode)
        } else {
            let error: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            Err(ApiError::Status {
                status: status.as_u16(),
                code: error.code,
                message: error.message,
            })
        }
    }

    pub(crate) async fn signup(
        &self,
        email: &str,
        name: &str,
        role: &str,
    ) -> Result<Session, ApiError> {
        let body = SignupBody {
            email,
            password: crate::DEMO_PASSWORD,
            name,
            role,
        };
        self.execute(
            self.request(Method::POST, "/v1/auth/signup", None)
                .json(&body),
        )
        .await
    }

    /// Adds a card of the server's test provider that always approves (food is paid by card or wallet).
    pub(crate) async fn add_test_card(&self, token: &str) -> Result<(), ApiError> {
        let body = serde_json::json!({"kind": "test_card", "number": "4242 4242 4242 4242"});
        self.execute::<IgnoredAny>(
            self.request(Method::POST, "/v1/me/payment-methods", Some(token))
                .json(&body),
        )
        .await
        .map(|_| ())
    }

    pub(crate) async fn login(&self, email: &str) -> Result<Session, ApiError> {
        let body = LoginBody {
            email,
            password: crate::DEMO_PASSWORD,
        };
        self.execute(
            self.request(Method::POST, "/v1/auth/login", None)
                .json(&body),
        )
        .await
    }

    pub(crate) async fn go_online(&self, token: &str) -> Result<(), ApiError> {
        self.execute::<IgnoredAny>(self.request(Method::POST, "/v1/drivers/me/online", Some(token)))
            .await
            .map(drop)
    }

    /// Registers the driver's car (what riders see from assignment on).
    pub(crate) async fn register_vehicle(
        &self,
        token: &str,
        vehicle: &serde_json::Value,
    ) -> Result<(), ApiError> {
        self.execute::<IgnoredAny>(
            self.request(Method::PUT, "/v1/drivers/me/vehicle", Some(token))
                .json(vehicle),
        )
        .await
        .map(drop)
    }

    /// Declares one of the driver's documents (`licence`, `insurance`, `vehicle_registration`).
    pub(crate) async fn put_document(
        &self,
        token: &str,
        kind: &str,
        number: &str,
        expires_on: &str,
    ) -> Result<(), ApiError> {
        self.execute::<IgnoredAny>(
            self.request(
                Method::PUT,
                &format!("/v1/drivers/me/documents/{kind}"),
                Some(token),
            )
            .json(&serde_json::json!({"number": number, "expires_on": expires_on})),
        )
        .await
        .map(drop)
    }

    pub(crate) async fn go_offline(&self, token: &str) -> Result<(), ApiError> {
        self.execute::<IgnoredAny>(self.request(
            Method::POST,
            "/v1/drivers/me/offline",
            Some(token),
        ))
        .await
        .map(drop)
    }

    pub(crate) async fn post_locations(
        &self,
        token: &str,
        points: &[LocationPoint],
    ) -> Result<(), ApiError> {
        self.execute::<IgnoredAny>(
            self.request(Method::POST, "/v1/drivers/me/locations", Some(token))
                .json(points),
        )
        .await
        .map(drop)
    }

    pub(crate) async fn offers(&self, token: &str) -> Result<Offers, ApiError> {
        self.execute(self.request(Method::GET, "/v1/offers", Some(token)))
            .await
    }

    pub(crate) async fn accept_offer(
        &self,
        token: &str,
        offer_id: &str,
    ) -> Result<RideView, ApiError> {
        let path = format!("/v1/offers/{offer_id}/accept");
        self.execute(self.request(Method::POST, &path, Some(token)))
            .await
    }

    pub(crate) async fn decline_offer(&self, token: &str, offer_id: &str) -> Result<(), ApiError> {
        let path = format!("/v1/offers/{offer_id}/decline");
        self.execute::<IgnoredAny>(self.request(Method::POST, &path, Some(token)))
            .await
            .map(drop)
    }

    pub(crate) async fn arrive(&self, token: &str, ride_id: &str) -> Result<RideView, ApiError> {
        let path = format!("/v1/rides/{ride_id}/arrive");
        self.execute(self.request(Method::POST, &path, Some(token)))
            .await
    }

    pub(crate) async fn start(
        &self,
        token: &str,
        ride_id: &str,
        pin: &str,
    ) -> Result<RideView, ApiError> {
        let path = format!("/v1/rides/{ride_id}/start");
        self.execute(
            self.request(Method::POST, &path, Some(token))
                .json(&StartBody { pin }),
        )
        .await
    }

    pub(crate) async fn complete(&self, token: &str, ride_id: &str) -> Result<RideView, ApiError> {
        let path = format!("/v1/rides/{ride_id}/complete");
        self.execute(self.request(Method::POST, &path, Some(token)))
            .await
    }

    pub(crate) async fn quote(&self, token: &str, body: &QuoteBody) -> Result<Quote, ApiError> {
        self.execute(
            self.request(Method::POST, "/v1/rides/quotes", Some(token))
                .json(body),
        )
        .await
    }

    pub(crate) async fn request_ride(
        &self,
        token: &str,
        quote_id: &str,
        idempotency_key: &str,
    ) -> Result<RideView, ApiError> {
        self.execute(
            self.request(Method::POST, "/v1/rides", Some(token))
                .header("Idempotency-Key", idempotency_key)
                .json(&RideRequestBody { quote_id }),
        )
        .await
    }

    pub(crate) async fn ride(&self, token: &str, ride_id: &str) -> Result<RideView, ApiError> {
        let path = format!("/v1/rides/{ride_id}");
        self.execute(self.request(Method::GET, &path, Some(token)))
            .await
    }

    pub(crate) async fn rides(&self, token: &str) -> Result<Rides, ApiError> {
        self.execute(self.request(Method::GET, "/v1/rides", Some(token)))
            .await
    }

    pub(crate) async fn cancel(&self, token: &str, ride_id: &str) -> Result<RideView, ApiError> {
        let path = format!("/v1/rides/{ride_id}/cancel");
        self.execute(self.request(Method::POST, &path, Some(token)))
            .await
    }

    pub(crate) async fn rate(
        &self,
        token: &str,
        ride_id: &str,
        stars: u8,
        comment: &str,
    ) -> Result<(), ApiError> {
        let path = format!("/v1/rides/{ride_id}/rating");
        self.execute::<IgnoredAny>(
            self.request(Method::POST, &path, Some(token))
                .json(&RatingBody { stars, comment }),
        )
        .await
        .map(drop)
    }
}

/// A step of a food order, `POST /v1/orders/{id}/{step}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderStep {
    /// The customer cancels.
    Cancel,
    /// The kitchen accepts (body: the prep time).
    Accept,
    /// The kitchen starts.
    Preparing,
    /// The food is ready.
    Ready,
    /// The kitchen refuses (body: the reason).
    Reject,
    /// The courier is at the restaurant.
    Arrived,
    /// The courier has the food.
    PickedUp,
    /// The courier hands it over (body: the code).
    Delivered,
    /// The courier cannot deliver (body: the reason).
    Undeliverable,
}

impl OrderStep {
    fn path(self) -> &'static str {
        match self {
            OrderStep::Cancel => "cancel",
            OrderStep::Accept => "accept",
            OrderStep::Preparing => "preparing",
            OrderStep::Ready => "ready",
            OrderStep::Reject => "reject",
            OrderStep::Arrived => "arrived",
            OrderStep::PickedUp => "picked-up",
            OrderStep::Delivered => "delivered",
            OrderStep::Undeliverable => "undeliverable",
        }
    }
}

/// What accepting a delivery offer answers.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct AcceptedDelivery {
    pub(crate) orders: Vec<OrderView>,
}

impl Api {
    /// A JSON call of the public API that the typed methods do not cover (house calls): `method` on
    /// `path` as the holder of `token`, with an `Idempotency-Key` and a JSON body if given.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: &str,
        idempotency_key: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let mut request = self.request(method, path, Some(token));
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.execute(request).await
    }

    /// Logs in with any password (the demo operator's).
    pub(crate) async fn login_with(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Session, ApiError> {
        self.execute(
            self.request(Method::POST, "/v1/auth/login", None)
                .json(&LoginBody { email, password }),
        )
        .await
    }

    /// An operator creates a merchant (`body`: profile, `new_staff`, reason) under `key`.
    pub(crate) async fn admin_create_merchant(
        &self,
        token: &str,
        key: &str,
        body: &serde_json::Value,
    ) -> Result<MerchantView, ApiError> {
        self.execute(
            self.request(Method::POST, "/v1/admin/merchants", Some(token))
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// An operator approves a merchant under `key`.
    pub(crate) async fn admin_approve_merchant(
        &self,
        token: &str,
        key: &str,
        merchant_id: &str,
        reason: &str,
    ) -> Result<MerchantView, ApiError> {
        let path = format!("/v1/admin/merchants/{merchant_id}/approve");
        self.execute(
            self.request(Method::POST, &path, Some(token))
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({ "reason": reason })),
        )
        .await
    }

    /// Replaces the merchant's opening hours.
    pub(crate) async fn set_hours(
        &self,
        token: &str,
        merchant_id: &str,
        hours: &impl serde::Serialize,
    ) -> Result<(), ApiError> {
        let path = format!("/v1/merchants/{merchant_id}/hours");
        self.execute::<IgnoredAny>(self.request(Method::PUT, &path, Some(token)).json(hours))
            .await
            .map(drop)
    }

    /// Replaces the merchant's menu.
    pub(crate) async fn import_menu(
        &self,
        token: &str,
        merchant_id: &str,
        menu: &impl serde::Serialize,
    ) -> Result<(), ApiError> {
        let path = format!("/v1/merchants/{merchant_id}/menu");
        self.execute::<IgnoredAny>(self.request(Method::PUT, &path, Some(token)).json(menu))
            .await
            .map(drop)
    }

    /// The approved merchants that deliver to `point`, those taking orders first.
    pub(crate) async fn browse_merchants(
        &self,
        token: &str,
        point: WirePoint,
    ) -> Result<MerchantListings, ApiError> {
        let path = format!("/v1/merchants?lat={}&lng={}", point.lat, point.lng);
        self.execute(self.request(Method::GET, &path, Some(token)))
            .await
    }

    /// A merchant's menu as customers see it.
    pub(crate) async fn menu(&self, token: &str, merchant_id: &str) -> Result<MenuView, ApiError> {
        let path = format!("/v1/merchants/{merchant_id}/menu");
        self.execute(self.request(Method::GET, &path, Some(token)))
            .await
    }

    /// Places a cart as an order under `idempotency_key`.
    pub(crate) async fn place_order(
        &self,
        token: &str,
        cart: &CartBody,
        idempotency_key: &str,
    ) -> Result<OrderView, ApiError> {
        self.execute(
            self.request(Method::POST, "/v1/orders", Some(token))
                .header("Idempotency-Key", idempotency_key)
                .json(cart),
        )
        .await
    }

    /// An order.
    pub(crate) async fn order(&self, token: &str, order_id: &str) -> Result<OrderView, ApiError> {
        let path = format!("/v1/orders/{order_id}");
        self.execute(self.request(Method::GET, &path, Some(token)))
            .await
    }

    /// A step of an order, with its body if it takes one.
    pub(crate) async fn order_step(
        &self,
        token: &str,
        order_id: &str,
        step: OrderStep,
        body: Option<&serde_json::Value>,
    ) -> Result<OrderView, ApiError> {
        let path = format!("/v1/orders/{order_id}/{}", step.path());
        let request = self.request(Method::POST, &path, Some(token));
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        self.execute(request).await
    }

    /// The orders of the caller's merchant of the last day, newest first.
    pub(crate) async fn merchant_orders(
        &self,
        token: &str,
        merchant_id: &str,
    ) -> Result<OrderList, ApiError> {
        let path = format!("/v1/merchants/{merchant_id}/orders");
        self.execute(self.request(Method::GET, &path, Some(token)))
            .await
    }

    /// The courier's pending delivery offers.
    pub(crate) async fn delivery_offers(&self, token: &str) -> Result<DeliveryOffers, ApiError> {
        self.execute(self.request(Method::GET, "/v1/delivery-offers", Some(token)))
            .await
    }

    /// Accepts a delivery offer: its orders are the courier's.
    pub(crate) async fn accept_delivery(
        &self,
        token: &str,
        offer_id: &str,
    ) -> Result<AcceptedDelivery, ApiError> {
        let path = format!("/v1/delivery-offers/{offer_id}/accept");
        self.execute(self.request(Method::POST, &path, Some(token)))
            .await
    }

    /// Declines a delivery offer.
    pub(crate) async fn decline_delivery(
        &self,
        token: &str,
        offer_id: &str,
    ) -> Result<(), ApiError> {
        let path = format!("/v1/delivery-offers/{offer_id}/decline");
        self.execute::<IgnoredAny>(self.request(Method::POST, &path, Some(token)))
            .await
            .map(drop)
    }

    /// The courier's orders not yet ended.
    pub(crate) async fn courier_orders(&self, token: &str) -> Result<OrderList, ApiError> {
        self.execute(self.request(Method::GET, "/v1/couriers/me/orders", Some(token)))
            .await
    }
}

/// Runs `attempt` until it succeeds, fails for good (a refusal), has been tried
/// [`MAX_ATTEMPTS`] times, or the demo stops; pauses between attempts double from 250 ms to 8 s.
/// Calls retried this way must be safe to repeat (reads, idempotent writes, or writes whose
/// repetition the caller reconciles).
pub(crate) async fn with_retry<T, F, Fut>(
    shutdown: &Shutdown,
    what: &'static str,
    mut attempt: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut shutdown = shutdown.clone();
    let mut pause = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_transient() && tries < MAX_ATTEMPTS => {
                tracing::debug!(what, tries, %error, "retrying");
                if !shutdown.sleep(pause).await {
                    return Err(error);
                }
                pause = (pause * 2).min(MAX_BACKOFF);
            }
            Err(error) => return Err(error),
        }
    }
}
