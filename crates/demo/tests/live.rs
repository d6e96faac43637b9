//! The demo against a real server in process: restaurants opened with menus, customers ordering, kitchens
//! accepting and readying, and (with the server's courier dispatch) couriers delivering with the ledger
//! balanced. The simulated clock starts on a Wednesday evening at 60 times real speed, so that demand
//! does not depend on when the test runs and a kitchen's quarter of an hour takes a quarter of a minute.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use doorstep_demo::{DEMO_OPERATOR_EMAIL, DEMO_PASSWORD, DemoConfig, Kpis};
use tokio::sync::watch;

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Wednesday 2026-11-25 18:00 in New York.
const WEDNESDAY_6PM: f64 = 1_795_647_600.0;
const SPEED: f64 = 60.0;
const RESTAURANTS: usize = 3;

struct Server {
    app: doorstep_app::App,
    base_url: String,
    stop: watch::Sender<bool>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    background: doorstep_app::Background,
    db: std::path::PathBuf,
}

async fn start_server() -> TestResult<Server> {
    let db = std::env::temp_dir().join(format!("doorstep-demo-live-{}.db", uuid::Uuid::new_v4()));
    let store =
        doorstep_store::Store::connect(&format!("sqlite://{}?mode=rwc", db.display())).await?;
    store.migrate().await?;
    let mut config = doorstep_app::AppConfig {
        require_driver_approval: false,
        ..Default::default()
    };
    config.position_limits.max_speed_kmh *= SPEED;
    let (stop, stopped) = watch::channel(false);
    let (app, background) =
        doorstep_app::App::start(store, config, doorstep_app::Clock::System, stopped.clone())
            .await?;
    app.create_admin(DEMO_OPERATOR_EMAIL, DEMO_PASSWORD, "Demo operator")
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let limits = doorstep_api::rate_limit::RateLimits {
        per_token_per_sec: 10_000,
        per_token_burst: 10_000,
        per_ip_per_sec: 10_000,
        per_ip_burst: 10_000,
    };
    let sockets = doorstep_api::open_sockets::SocketCaps {
        per_user: 10,
        per_ip: 10_000,
    };
    let router = doorstep_api::router_with(app.clone(), limits, sockets);
    let mut http_stop = stopped;
    let http = tokio::spawn(doorstep_api::serve(listener, router, async move {
        let _ = http_stop.wait_for(|s| *s).await;
    }));
    Ok(Server {
        app,
        base_url: format!("http://{addr}"),
        stop,
        http,
        background,
        db,
    })
}

impl Server {
    async fn shut(self) -> TestResult {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.http).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.background.stopped()).await;
        self.app.store().close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.db.display()));
        }
        Ok(())
    }
}

/// The orders of the demo's restaurants, read by their staff over HTTP: (merchant id, menu items, order states).
async fn restaurants_and_orders(base: &str) -> TestResult<Vec<(String, usize, Vec<String>)>> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for i in 0..RESTAURANTS {
        let session: serde_json::Value = http
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({"email": format!("merchant{i}@demo.doorstep.dev"), "password": DEMO_PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        let Some(token) = session["token"].as_str() else {
            continue;
        };
        let mine: serde_json::Value = http
            .get(format!("{base}/v1/merchants/mine"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let id = mine["merchant_id"].as_str().unwrap_or_default().to_owned();
        let menu: serde_json::Value = http
            .get(format!("{base}/v1/merchants/{id}/menu"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let items = menu["categories"].as_array().map_or(0, |c| {
            c.iter()
                .map(|c| c["items"].as_array().map_or(0, Vec::len))
                .sum()
        });
        let orders: serde_json::Value = http
            .get(format!("{base}/v1/merchants/{id}/orders"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let states = orders["orders"]
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|o| o["state"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        out.push((id, items, states));
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restaurants_open_kitchens_ready_what_customers_order_and_couriers_deliver_it_with_the_books_balanced()
-> TestResult {
    let server = start_server().await?;
    let (kpis, seen) = watch::channel(Kpis::default());
    let config = DemoConfig {
        base_url: server.base_url.clone(),
        drivers: 24,
        speed: SPEED,
        seed: 11,
        demand_scale: 0.0,
        restaurants: RESTAURANTS,
        food_orders_per_hour: 240.0,
        clock_start_unix: Some(WEDNESDAY_6PM),
        ..DemoConfig::default()
    };
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let demo = tokio::spawn(doorstep_demo::run(config, kpis, async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    // Wait (at most two minutes of real time, two hours of the demo's) for an order readied by its
    // kitchen (accepted, prepared for a quarter of an hour of the demo's clock, marked ready) and for
    // one delivered by a courier with its customer's code.
    let mut readied = false;
    let mut delivered = false;
    let mut last = Vec::new();
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        last = restaurants_and_orders(&server.base_url).await?;
        let states = || last.iter().flat_map(|r| r.2.iter());
        readied |= states().any(|s| ["ready", "picked_up", "delivered"].contains(&s.as_str()));
        delivered |= states().any(|s| s == "delivered") && seen.borrow().food.delivered > 0;
        if readied && delivered {
            break;
        }
    }
    let _ = stop_tx.send(true);
    demo.await??;
    let kpis = *seen.borrow();
    assert_eq!(
        last.len(),
        RESTAURANTS,
        "restaurants' staff could not sign in: {last:?}"
    );
    for (id, items, _) in &last {
        assert!(!id.is_empty());
        assert!(*items >= 5, "restaurant {id} has {items} items");
    }
    assert_eq!(kpis.food.restaurants, RESTAURANTS as u64);
    assert!(kpis.food.placed >= 1, "{kpis}");
    assert!(readied, "no order readied: {last:?}; {kpis}");
    let known = [
        "placed",
        "accepted",
        "preparing",
        "ready",
        "picked_up",
        "delivered",
        "rejected",
        "cancelled",
        "undeliverable",
    ];
    assert!(
        last.iter()
            .flat_map(|r| r.2.iter())
            .all(|s| known.contains(&s.as_str()))
    );
    assert!(delivered, "no order delivered: {last:?}; {kpis}");
    assert!(kpis.food.mean_click_to_door_min > 0.0, "{kpis}");
    assert!((0.0..=1.0).contains(&kpis.food.on_time_share));
    // Every posting of the run balances: the trial balance is zero in every currency.
    let balance = server.app.store().trial_balance().await?;
    assert!(!balance.is_empty(), "nothing was posted");
    assert!(
        balance.iter().all(|m| m.minor == 0),
        "unbalanced: {balance:?}"
    );
    server.shut().await
}
