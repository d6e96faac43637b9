//! No secret reaches a log line: the real `doorstep serve` at `RUST_LOG=trace` (text and JSON logs) goes
//! through a session of sign-ups, logins, WebSocket tickets, sockets opened both ways, a refused
//! `?token=`, a ride request, nearby queries and a logout, and then no line of its stderr or stdout may
//! hold a bearer token, a ticket or a password.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Starts `doorstep serve` on `db` with every log at trace level, its output into `log`.
fn spawn_traced_server(db: &Path, port: u16, log: &Path, json_logs: bool) -> Child {
    let err = std::fs::File::create(log).expect("the log file");
    let out = err.try_clone().expect("the log file again");
    let mut command = Command::new(env!("CARGO_BIN_EXE_doorstep"));
    if json_logs {
        command.args(["--log-format", "json"]);
    }
    command
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--auto-approve-drivers",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}?mode=rwc", db.display()))
        .env("RUST_LOG", "trace")
        .env_remove("DOORSTEP_LOG_FORMAT")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("the doorstep binary starts")
}

/// Stops the server with SIGTERM (a graceful stop logs the most), or kills it after 10 s.
fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..100 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.post(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Goes through a session with every kind of secret; returns the secrets used.
async fn session(base: &str, ws: &str) -> Vec<String> {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    super::wait_ready(&client, base).await;
    let rider_password = format!("rider-pw-{}", uuid::Uuid::new_v4().simple());
    let driver_password = format!("driver-pw-{}", uuid::Uuid::new_v4().simple());
    let wrong_password = format!("wrong-pw-{}", uuid::Uuid::new_v4().simple());
    let mut secrets = vec![
        rider_password.clone(),
        driver_password.clone(),
        wrong_password.clone(),
    ];

    let (status, rider) = post(&client, format!("{base}/v1/auth/signup"), None, Some(json!({"email": "rae@logs.test", "password": rider_password, "name": "Rae", "role": "rider"}))).await;
    assert_eq!(status, 201, "{rider}");
    let (status, driver) = post(&client, format!("{base}/v1/auth/signup"), None, Some(json!({"email": "dan@logs.test", "password": driver_password, "name": "Dan", "role": "driver"}))).await;
    assert_eq!(status, 201, "{driver}");
    let (status, _) = post(
        &client,
        format!("{base}/v1/auth/login"),
        None,
        Some(json!({"email": "rae@logs.test", "password": wrong_password})),
    )
    .await;
    assert_eq!(status, 401);
    let (status, login) = post(
        &client,
        format!("{base}/v1/auth/login"),
        None,
        Some(json!({"email": "rae@logs.test", "password": rider_password})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let rider_token = rider["token"].as_str().unwrap().to_owned();
    let driver_token = driver["token"].as_str().unwrap().to_owned();
    let token = login["token"].as_str().unwrap().to_owned();
    secrets.extend([rider_token.clone(), driver_token.clone(), token.clone()]);

    // The driver goes online and streams positions over a socket authenticated by header.
    let (status, _) = post(
        &client,
        format!("{base}/v1/drivers/me/online"),
        Some(&driver_token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut request = format!("{ws}/v1/events").into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {driver_token}")).unwrap(),
    );
    let (mut driver_socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let hello = driver_socket.next().await;
    assert!(matches!(hello, Some(Ok(Message::Text(_)))), "{hello:?}");
    let batch = json!({"type": "locations", "points": [{"lat": 40.7505, "lng": -73.9934, "at": super::now_rfc3339()}]});
    driver_socket
        .send(Message::text(batch.to_string()))
        .await
        .unwrap();
    driver_socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();

    // A bearer token in the URL is refused, and must not be logged on the way.
    match tokio_tungstenite::connect_async(format!("{ws}/v1/events?token={token}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 400);
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    // The rider's socket opens with a ticket; a second use of it is refused.
    let (status, answer) = post(
        &client,
        format!("{base}/v1/events/tickets"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let ticket = answer["ticket"].as_str().unwrap().to_owned();
    secrets.push(ticket.clone());
    let (mut rider_socket, _) =
        tokio_tungstenite::connect_async(format!("{ws}/v1/events?ticket={ticket}&after=0"))
            .await
            .unwrap();
    let hello = rider_socket.next().await;
    assert!(matches!(hello, Some(Ok(Message::Text(_)))), "{hello:?}");
    assert!(
        tokio_tungstenite::connect_async(format!("{ws}/v1/events?ticket={ticket}"))
            .await
            .is_err()
    );
    let (_, unused) = post(
        &client,
        format!("{base}/v1/events/tickets"),
        Some(&token),
        None,
    )
    .await;
    secrets.push(unused["ticket"].as_str().unwrap().to_owned());
    rider_socket
        .send(Message::text(
            r#"{"type":"nearby","lat":40.7484,"lng":-73.9857,"id":1}"#,
        ))
        .await
        .unwrap();

    // A ride: quote, request, a look at the map.
    let (status, quote) = post(&client, format!("{base}/v1/rides/quotes"), Some(&token), Some(json!({"pickup": {"lat": 40.7484, "lng": -73.9857}, "dropoff": {"lat": 40.7794, "lng": -73.9632}}))).await;
    assert_eq!(status, 201, "{quote}");
    let response = client
        .post(format!("{base}/v1/rides"))
        .bearer_auth(&token)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"quote_id": quote["quote_id"]}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let nearby = client
        .get(format!("{base}/v1/drivers/nearby?lat=40.7484&lng=-73.9857"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(nearby.status().as_u16(), 200);
    // Let the dispatcher offer the ride on the driver's socket.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let _ = rider_socket.close(None).await;
    let _ = driver_socket.close(None).await;
    let (status, _) = post(
        &client,
        format!("{base}/v1/auth/logout"),
        Some(&rider_token),
        None,
    )
    .await;
    assert!((200..300).contains(&status), "{status}");
    secrets
}

/// Runs the session against a server logging as `json_logs` says and checks its log.
async fn no_secret_in_the_log(json_logs: bool) {
    let dir = std::env::temp_dir().join(format!("doorstep-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (db, log) = (dir.join("logs.db"), dir.join("server.log"));
    let port = super::free_port();
    let server = spawn_traced_server(&db, port, &log, json_logs);
    let secrets = session(
        &format!("http://127.0.0.1:{port}"),
        &format!("ws://127.0.0.1:{port}"),
    )
    .await;
    stop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let trace_marker = if json_logs {
        "\"level\":\"TRACE\""
    } else {
        "TRACE"
    };
    assert!(
        text.contains(trace_marker),
        "the server logged at trace level"
    );
    assert!(text.contains("/v1/events/tickets"), "requests were logged");
    for secret in &secrets {
        let leaks: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(
            leaks.is_empty(),
            "a secret is in {} log lines, the first: {}",
            leaks.len(),
            leaks[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_ticket_or_password_reaches_the_trace_log_in_text() {
    no_secret_in_the_log(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_ticket_or_password_reaches_the_trace_log_in_json() {
    no_secret_in_the_log(true).await;
}
