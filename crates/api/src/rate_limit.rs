//! Request rate limits (GCRA, the `governor` crate): per user for callers whose `Authorization: Bearer`
//! token authenticates, per client IP for everyone else (sign-up, login, health, a WebSocket opened with a
//! `?ticket=`, and any request with a made-up token, so that inventing tokens buys no extra allowance).
//! Tokens are read from the header only, never from the URL. A caller over its quota gets 429
//! `rate_limited` with `Retry-After`, and nothing of the request is processed. The same per-user quota
//! also meters `nearby` queries on the event stream ([`Limiter::check_user`]), which cost what
//! `GET /v1/drivers/nearby` costs.
//!
//! In cluster mode every request costs as many cells as there are live nodes (`check_key_n`), so each
//! node grants a client its share of the quota: a client spreading its requests over the nodes (as a
//! load balancer does) gets the quota once, not once per node.

use crate::ApiState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Quotas of the API.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Sustained requests per second per bearer token.
    pub per_token_per_sec: u32,
    /// Burst allowance per bearer token.
    pub per_token_burst: u32,
    /// Sustained requests per second per client IP without a token.
    pub per_ip_per_sec: u32,
    /// Burst allowance per client IP without a token.
    pub per_ip_burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_token_per_sec: 20,
            per_token_burst: 60,
            per_ip_per_sec: 10,
            per_ip_burst: 30,
        }
    }
}

/// The keyed limiters, shared by all requests.
#[derive(Debug, Clone)]
pub struct Limiter {
    app: doorstep_app::App,
    by_token: Arc<DefaultKeyedRateLimiter<doorstep_domain::UserId>>,
    by_ip: Arc<DefaultKeyedRateLimiter<std::net::IpAddr>>,
    /// Chat messages per sender, on top of the request quota.
    messages: Arc<DefaultKeyedRateLimiter<doorstep_domain::UserId>>,
    seen: Arc<AtomicU64>,
}

/// Chat messages a sender may send at once, and per second after that.
pub const MESSAGE_BURST: u32 = 10;

fn quota(per_sec: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl Limiter {
    /// Limiters with the given quotas.
    pub fn new(app: doorstep_app::App, limits: RateLimits) -> Limiter {
        Limiter {
            app,
            by_token: Arc::new(RateLimiter::keyed(quota(
                limits.per_token_per_sec,
                limits.per_token_burst,
            ))),
            by_ip: Arc::new(RateLimiter::keyed(quota(
                limits.per_ip_per_sec,
                limits.per_ip_burst,
            ))),
            messages: Arc::new(RateLimiter::keyed(quota(1, MESSAGE_BURST))),
            seen: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Takes one chat message from `user`'s allowance: `Err` with the seconds to wait when it is used up.
    pub fn check_message(&self, user: doorstep_domain::UserId) -> Result<(), u64> {
        self.take(&self.messages, &user)
    }

    /// Takes one request from `user`'s allowance: `Err` with the seconds to wait when it is used up.
    pub fn check_user(&self, user: doorstep_domain::UserId) -> Result<(), u64> {
        self.take(&self.by_token, &user)
    }

    /// Takes one request of `key` from `limiter`: one cell on one node, one per live node in a
    /// cluster (see the module).
    fn take<K: Clone + Eq + std::hash::Hash>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), u64> {
        let wait = |not_until: governor::NotUntil<_>| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
        };
        let nodes = self.app.cluster().map_or(1, |c| c.live_nodes());
        match NonZeroU32::new(nodes) {
            Some(n) if n.get() > 1 => match limiter.check_key_n(key, n) {
                Ok(verdict) => verdict.map_err(wait),
                // The burst is smaller than the node count: this node cannot grant even one request.
                Err(_) => Err(1),
            },
            _ => limiter.check_key(key).map_err(wait),
        }
    }
}

/// The error of a caller over its quota.
pub fn rate_limited() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many requests; slow down",
    )
}

/// 429 `rate_limited` with `Retry-After`.
pub(crate) fn too_many(wait_secs: u64) -> Response {
    let mut response = rate_limited().into_response();
    if let Ok(v) = HeaderValue::from_str(&wait_secs.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The middleware.
pub async fn limit(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let limiter = &state.limiter;
    // Forget idle keys now and then so that memory stays bounded.
    if limiter.seen.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
        limiter.by_token.retain_recent();
        limiter.by_ip.retain_recent();
        limiter.messages.retain_recent();
    }
    // Pages, scripts and map data of the web apps are not metered: one app load is a dozen requests.
    if request.method() == axum::http::Method::GET && !request.uri().path().starts_with("/v1/") {
        return next.run(request).await;
    }
    // Only a token that authenticates earns its own allowance. The caller found here travels on with the
    // request, so that the access guard does not authenticate the same token again.
    let user = match crate::extract::bearer_token_of(request.headers()) {
        Some(token) => limiter.app.authenticate(token).await.ok(),
        None => None,
    };
    if let Some(u) = &user {
        request
            .extensions_mut()
            .insert(crate::extract::Caller(u.clone()));
    }
    let verdict = match user {
        Some(u) => limiter.take(&limiter.by_token, &u.id),
        None => match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => limiter.take(&limiter.by_ip, &addr.ip()),
            None => Ok(()),
        },
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(wait_secs) => too_many(wait_secs),
    }
}
