//! Tests of the real binary (this crate's one integration test binary).
//!
//! Crash safety: SIGKILL `doorstep serve` in the middle of a busy city, restart it on the same SQLite file,
//! and check that every ride acknowledged with a 2xx is still there in a state at least as far along as
//! acknowledged, that completed rides were charged exactly once, and that the ledger balances.
//!
//! [`failover`]: three cluster nodes on PostgreSQL and NATS under load; the city's owner is killed, the next
//! one paused and resumed, and the record stays whole (needs PostgreSQL and NATS, skipped without them).
//!
//! [`secrets_in_logs`]: no bearer token, WebSocket ticket or password reaches the server's log at any level.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "cli/admin_create.rs"]
mod admin_create;
#[path = "cli/failover.rs"]
mod failover;
#[path = "cli/netns.rs"]
mod netns;
#[path = "cli/secrets_in_logs.rs"]
mod secrets_in_logs;

use doorstep_domain::RideId;
use doorstep_domain::ledger::PostingKind;
use doorstep_domain::ride::RideState;
use doorstep_store::Store;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_server(db: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--batch-window-ms",
            "100",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}?mode=rwc", db.display()))
        .env("RUST_LOG", "warn")
        // The drivers signed up below go online at once: no operator approves them here.
        .env("DOORSTEP_AUTO_APPROVE_DRIVERS", "true")
        .env("DOORSTEP_RATE_PER_IP", "1000")
        .env("DOORSTEP_RATE_PER_TOKEN", "1000")
        // The simulated drivers below jump to each pickup and drop-off in milliseconds (the test is about
        // crashes, not driving): the server must believe them.
        .env("DOORSTEP_MAX_SPEED_KMH", "100000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the doorstep binary starts")
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server at {base} did not become ready");
}

async fn signup(client: &reqwest::Client, base: &str, role: &str, n: usize) -> String {
    let body = json!({"email": format!("{role}{n}@crash.test"), "password": "password123", "name": format!("{role} {n}"), "role": role});
    let r: Value = client
        .post(format!("{base}/v1/auth/signup"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"].as_str().expect("token").to_owned()
}

fn now_rfc3339() -> String {
    // Milliseconds in UTC: the server judges a driver's speed between consecutive points by their times.
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let secs = u64::try_from(millis / 1000).unwrap();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = doorstep_geo::civil_from_days(i64::try_from(days).unwrap());
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis % 1000
    )
}

/// The furthest state each ride was acknowledged in.
type Acks = Arc<Mutex<HashMap<String, RideState>>>;

fn rank(s: RideState) -> u8 {
    match s {
        RideState::Requested => 0,
        RideState::DriverAssigned => 1,
        RideState::DriverArrived => 2,
        RideState::InProgress => 3,
        RideState::Completed | RideState::Cancelled | RideState::NoDriverAvailable => 4,
    }
}

fn ack(acks: &Acks, ride: &str, state: RideState) {
    let mut a = acks.lock().unwrap();
    let e = a.entry(ride.to_owned()).or_insert(state);
    if rank(state) > rank(*e) {
        *e = state;
    }
}

async fn rider_loop(
    client: reqwest::Client,
    base: String,
    token: String,
    acks: Acks,
    pins: Arc<Mutex<HashMap<String, String>>>,
) {
    let points = [
        (40.7484, -73.9857, 40.7794, -73.9632),
        (40.7580, -73.9855, 40.7306, -73.9866),
        (40.7411, -74.0018, 40.7736, -73.9566),
    ];
    for i in 0.. {
        let (a, b, c, d) = points[i % points.len()];
        let quote = client
            .post(format!("{base}/v1/rides/quotes"))
            .bearer_auth(&token)
            .json(&json!({"pickup": {"lat": a, "lng": b}, "dropoff": {"lat": c, "lng": d}}))
            .send()
            .await;
        let Ok(quote) = quote else { return };
        let Ok(quote) = quote.json::<Value>().await else {
            return;
        };
        let Some(qid) = quote["quote_id"].as_str() else {
            return;
        };
        let response = client
            .post(format!("{base}/v1/rides"))
            .bearer_auth(&token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"quote_id": qid}))
            .send()
            .await;
        let Ok(response) = response else { return };
        if response.status().is_success() {
            let Ok(ride) = response.json::<Value>().await else {
                return;
            };
            let id = ride["ride_id"].as_str().unwrap().to_owned();
            pins.lock()
                .unwrap()
                .insert(id.clone(), ride["pin"].as_str().unwrap().to_owned());
            ack(&acks, &id, RideState::Requested);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn post_ok(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Option<Value> {
    let mut request = client.post(url).bearer_auth(token);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.ok()?;
    if response.status().is_success() {
        response.json().await.ok()
    } else {
        None
    }
}

/// Reports `driver` at the `{lat, lng}` of `place` now.
async fn report_at(client: &reqwest::Client, base: &str, token: &str, place: &Value) -> Option<()> {
    let position = json!([{"lat": place["lat"], "lng": place["lng"], "at": now_rfc3339()}]);
    let response = client
        .post(format!("{base}/v1/drivers/me/locations"))
        .bearer_auth(token)
        .json(&position)
        .send()
        .await
        .ok()?;
    response.status().is_success().then_some(())
}

async fn driver_loop(
    client: reqwest::Client,
    base: String,
    token: String,
    acks: Acks,
    pins: Arc<Mutex<HashMap<String, String>>>,
) {
    loop {
        let position = json!([{"lat": 40.7500, "lng": -73.9900, "at": now_rfc3339()}]);
        if client
            .post(format!("{base}/v1/drivers/me/locations"))
            .bearer_auth(&token)
            .json(&position)
            .send()
            .await
            .is_err()
        {
            return;
        }
        let Ok(r) = client
            .get(format!("{base}/v1/offers"))
            .bearer_auth(&token)
            .send()
            .await
        else {
            return;
        };
        let offers: Value = r.json().await.unwrap_or(Value::Null);
        let Some(offer) = offers["offers"].as_array().and_then(|o| o.first()).cloned() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let ride = offer["ride_id"].as_str().unwrap().to_owned();
        let oid = offer["offer_id"].as_str().unwrap();
        if post_ok(
            &client,
            format!("{base}/v1/offers/{oid}/accept"),
            &token,
            None,
        )
        .await
        .is_none()
        {
            continue;
        }
        ack(&acks, &ride, RideState::DriverAssigned);
        // Arriving and completing are judged by the driver's position: be there first.
        if report_at(&client, &base, &token, &offer["pickup"])
            .await
            .is_none()
        {
            continue;
        }
        if post_ok(
            &client,
            format!("{base}/v1/rides/{ride}/arrive"),
            &token,
            None,
        )
        .await
        .is_none()
        {
            continue;
        }
        ack(&acks, &ride, RideState::DriverArrived);
        let pin = pins.lock().unwrap().get(&ride).cloned().unwrap_or_default();
        if post_ok(
            &client,
            format!("{base}/v1/rides/{ride}/start"),
            &token,
            Some(json!({"pin": pin})),
        )
        .await
        .is_none()
        {
            continue;
        }
        ack(&acks, &ride, RideState::InProgress);
        if report_at(&client, &base, &token, &offer["dropoff"])
            .await
            .is_none()
        {
            continue;
        }
        if post_ok(
            &client,
            format!("{base}/v1/rides/{ride}/complete"),
            &token,
            None,
        )
        .await
        .is_some()
        {
            ack(&acks, &ride, RideState::Completed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_with_every_acknowledged_ride_and_balanced_books() {
    let dir =
        std::env::temp_dir().join(format!("doorstep-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("crash.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let mut server = spawn_server(&db, port);
    wait_ready(&client, &base).await;
    let acks: Acks = Arc::default();
    let pins: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut tasks = Vec::new();
    for n in 0..6 {
        let token = signup(&client, &base, "driver", n).await;
        let r = client
            .post(format!("{base}/v1/drivers/me/online"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        tasks.push(tokio::spawn(driver_loop(
            client.clone(),
            base.clone(),
            token,
            acks.clone(),
            pins.clone(),
        )));
    }
    for n in 0..4 {
        let token = signup(&client, &base, "rider", n).await;
        tasks.push(tokio::spawn(rider_loop(
            client.clone(),
            base.clone(),
            token,
            acks.clone(),
            pins.clone(),
        )));
    }

    // Let the city run until some rides completed, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let completed = acks
            .lock()
            .unwrap()
            .values()
            .filter(|s| **s == RideState::Completed)
            .count();
        if completed >= 5 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    for t in tasks {
        t.abort();
    }
    let acknowledged = acks.lock().unwrap().clone();
    assert!(
        acknowledged
            .values()
            .filter(|s| **s == RideState::Completed)
            .count()
            >= 5,
        "the load ran: {acknowledged:?}"
    );

    // Restart on the same file: it serves again and every acknowledged ride is there.
    let mut server = spawn_server(&db, port);
    wait_ready(&client, &base).await;
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    for (id, acked) in &acknowledged {
        let ride_id: RideId = id.parse().unwrap();
        let ride = store
            .ride(ride_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("ride {id} acknowledged but lost"));
        assert!(
            rank(ride.state()) >= rank(*acked),
            "ride {id} was acknowledged {acked:?} but is {:?} after restart",
            ride.state()
        );
        let fares = store.postings_of_ride(ride_id).await.unwrap();
        let fare_postings = fares
            .iter()
            .filter(|p| p.kind() == PostingKind::RideFare)
            .count();
        assert_eq!(
            fare_postings,
            usize::from(ride.state() == RideState::Completed),
            "ride {id} charged {fare_postings} times"
        );
        if ride.state().has_driver() {
            assert!(
                ride.driver().is_some(),
                "ride {id} is {:?} without a driver",
                ride.state()
            );
        }
    }
    for total in store.trial_balance().await.unwrap() {
        assert_eq!(total.minor, 0, "the ledger does not balance: {total:?}");
    }
    store.close().await;
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
