//! The public operational routes: health, readiness, metrics, the OpenAPI document and the docs page.

use crate::backend::{TestDb, TestResult};
use crate::places::{TIMES_SQUARE, UNION_SQUARE};
use crate::server::{TestServer, eventually};
use doorstep_api::rate_limit::RateLimits;
use doorstep_domain::Role;
use serde_json::Value;

pub async fn health_and_readiness_answer_200_without_a_token(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    for path in ["/healthz", "/readyz"] {
        let response = server.http.get(server.url(path)).send().await?;
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    // An unknown route is a 404 in the API's error shape, not a 500.
    let missing = server.http.get(server.url("/v1/nowhere")).send().await?;
    TestServer::reply(missing)
        .await?
        .expect_error(404, "route_not_found");
    server.stop().await
}

pub async fn metrics_count_requests_rides_by_state_and_dispatch_batch_sizes(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let rider = server.signup("rider").await?;
    let admin = server.admin().await?;
    // Metrics are for operators: a token is needed, and an admin's.
    server
        .call(reqwest::Method::GET, "/metrics", None, None)
        .await?
        .expect_error(401, "unauthenticated");
    server
        .get("/metrics", &rider.token)
        .await?
        .expect_error(403, "forbidden");
    // A ride waiting for a driver makes the dispatcher solve non-empty batches.
    server
        .request_ride(&rider, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let srv = &server;
    let token = admin.token.clone();
    let text = eventually("a dispatch batch in the metrics", move || {
        let token = token.clone();
        async move {
            let response = srv
                .http
                .get(srv.url("/metrics"))
                .bearer_auth(&token)
                .send()
                .await?;
            assert_eq!(response.status().as_u16(), 200);
            let text = response.text().await?;
            Ok(text.contains("dispatch_batch_size").then_some(text))
        }
    })
    .await?;
    assert!(text.contains("http_requests_total{"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/v1/rides/quotes\"")
            && l.contains("status=\"201\"")),
        "{text}"
    );
    // The rides gauge is this server's database: exactly one ride, requested.
    let gauge = |state: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("rides{{state=\"{state}\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(gauge("requested"), Some(1.0), "{text}");
    assert_eq!(gauge("completed"), Some(0.0), "{text}");
    server.stop().await
}

pub async fn the_openapi_document_is_version_3_1_and_lists_the_ride_routes(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let response = server.http.get(server.url("/openapi.json")).send().await?;
    assert_eq!(response.status().as_u16(), 200);
    let document: Value = response.json().await?;
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "{version}");
    let paths = document["paths"].as_object().ok_or("paths")?;
    for path in [
        "/v1/rides/{ride_id}",
        "/v1/rides",
        "/v1/rides/quotes",
        "/v1/events",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    assert!(document["paths"]["/v1/rides/{ride_id}"]["get"].is_object());
    server.stop().await
}

/// Every `http://` or `https://` URL in `text` whose host is not `own_host`.
fn foreign_urls(text: &str, own_host: &str) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        for (at, _) in text.match_indices(scheme) {
            let rest = &text[at + scheme.len()..];
            let host: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
                .collect();
            if host != own_host {
                found.push(format!("{scheme}{host}"));
            }
        }
    }
    found
}

pub async fn the_docs_page_is_html_that_loads_nothing_from_other_hosts(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let own_host = server.addr.to_string();
    let response = server.http.get(server.url("/docs/")).send().await?;
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await?;
    assert!(page.to_ascii_lowercase().contains("<html"), "{page}");
    assert_eq!(
        foreign_urls(&page, &own_host),
        Vec::<String>::new(),
        "{page}"
    );

    // The scripts the page loads come from this server too, and the initializer points at our document.
    let initializer = server
        .http
        .get(server.url("/docs/swagger-initializer.js"))
        .send()
        .await?;
    assert_eq!(initializer.status().as_u16(), 200);
    let initializer = initializer.text().await?;
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    // Swagger UI's default online validator would load a badge from validator.swagger.io (sending it our
    // document's URL) whenever the docs are served from a host other than localhost: it must be off.
    let compact: String = initializer.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        compact.contains(r#""validatorUrl":"none""#),
        "{initializer}"
    );
    assert_eq!(
        foreign_urls(&initializer, &own_host),
        Vec::<String>::new(),
        "{initializer}"
    );
    server.stop().await
}

pub async fn a_caller_over_its_quota_gets_429_with_retry_after_and_other_callers_do_not(
    db: TestDb,
) -> TestResult {
    let limits = RateLimits {
        per_token_per_sec: 1,
        per_token_burst: 3,
        per_ip_per_sec: 1,
        per_ip_burst: 3,
    };
    let server = TestServer::start_with_limits(&db, limits).await?;
    // Accounts made without HTTP, so that signing up spends none of the quota.
    let mut tokens = Vec::new();
    for n in 0..2 {
        let signed = server
            .app
            .sign_up(
                &format!("quota-{n}@example.com"),
                "correct horse battery",
                "Quota",
                Role::Rider,
            )
            .await?;
        tokens.push(signed.token.expose().to_owned());
    }

    // Ten quick requests: the burst goes through, then the refill of one a second cannot keep up.
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..10 {
        let response = server
            .http
            .get(server.url("/v1/me"))
            .bearer_auth(&tokens[0])
            .send()
            .await?;
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 && refused.is_none() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            refused = Some((retry_after, TestServer::reply(response).await?));
        }
    }
    assert_eq!(statuses[..3], [200, 200, 200], "{statuses:?}");
    let (retry_after, reply) = refused.ok_or_else(|| format!("no 429 in {statuses:?}"))?;
    reply.expect_error(429, "rate_limited");
    assert!(retry_after.is_some_and(|secs| secs >= 1), "{retry_after:?}");

    // Another token has a quota of its own.
    server.get("/v1/me", &tokens[1]).await?.expect(200);

    // Callers without a token are limited by address (API routes; health and the web apps' files are not
    // metered).
    let mut anonymous = Vec::new();
    for _ in 0..10 {
        let response = server.http.get(server.url("/v1/me")).send().await?;
        anonymous.push(response.status().as_u16());
    }
    assert_eq!(anonymous[..3], [401, 401, 401], "{anonymous:?}");
    assert!(anonymous.contains(&429), "{anonymous:?}");
    let health = server.http.get(server.url("/healthz")).send().await?;
    assert_eq!(health.status().as_u16(), 200);

    // Made-up tokens buy no allowance of their own: they count against the address.
    let mut invented = Vec::new();
    for n in 0..5 {
        let response = server
            .http
            .get(server.url("/v1/me"))
            .bearer_auth(format!("made-up-{n}"))
            .send()
            .await?;
        invented.push(response.status().as_u16());
    }
    assert!(invented.iter().all(|s| *s == 429), "{invented:?}");
    server.stop().await
}
