//! `doorstep bench fanout`: how many WebSocket tasks one event wakes, and how fast it arrives.
//!
//! The benchmark starts a server in this process on a fresh SQLite database in a temporary directory,
//! makes `--sockets` accounts (half riders, half drivers, plus `--admins` operators watching the console)
//! directly in the store, and connects one authenticated event stream per account from a child process
//! (`doorstep bench fanout-clients`: each socket costs a file descriptor at both ends, and one process
//! may hold only `ulimit -Hn` of them). Then, one message at a time:
//!
//! - **event**: a ride is requested for one random rider (the ride and its `requested` event committed
//!   in one transaction, as the use case does), then the event is published on the bus;
//! - **location**: a driver position is pushed to one random rider (ephemeral, never stored).
//!
//! What each number measures:
//! - `wakes/msg`: how many times a socket's task woke for a bus message (the server's
//!   `websocket_bus_wakeups_total`), divided by the messages published, counted once every task has
//!   settled. A routed bus wakes only the recipient's sockets (and the operators'); a broadcast wakes all.
//! - latency: from the commit of the event (or the publication of the location) to the moment the
//!   client task read the frame, by the wall clock both processes share; p50, p99 and max over the
//!   messages. It includes the server's store read (catch-up) and the client's own scheduling.
//!
//! The workload is seeded (which rider gets which message); the timings are not reproducible.

use std::collections::HashSet;
use std::io::{BufRead, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use doorstep_api::open_sockets::SocketCaps;
use doorstep_api::rate_limit::RateLimits;
use doorstep_app::{App, AppConfig, BusMessage, Clock, LocationUpdate};
use doorstep_domain::pricing::{PricingConfig, SurgeMillis, price_trip};
use doorstep_domain::ride::{NewRide, Pin, Ride};
use doorstep_domain::{Email, QuoteId, RideId, Role, User, UserId};
use doorstep_geo::LatLng;
use doorstep_store::{Audience, Created, Store};
use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::LoadtestError;
use crate::stats::LatencySummary;

/// Arguments of `doorstep bench fanout`.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// Connected riders and drivers, one account and one WebSocket each (half riders, half drivers).
    #[arg(long, default_value_t = 10_000)]
    pub sockets: usize,
    /// Operators (admins) watching the console, one WebSocket each, on top of `--sockets`.
    #[arg(long, default_value_t = 1)]
    pub admins: usize,
    /// Durable events published, one at a time, each to one rider.
    #[arg(long, default_value_t = 200)]
    pub events: usize,
    /// Driver locations pushed, one at a time, each to one rider.
    #[arg(long, default_value_t = 200)]
    pub locations: usize,
    /// WebSocket handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seed of the choice of recipients.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `doorstep bench fanout-clients`, the child process that holds the client sockets. It
/// reads the bearer tokens as one JSON array of `[token, report]` pairs on the first line of stdin,
/// connects one event stream per token, prints `ready`, then `<ride_id> <unix nanoseconds>` for every `requested` or
/// `driver_location` frame a reporting socket reads, and exits when stdin closes.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutClientArgs {
    /// Base URL of the server.
    #[arg(long)]
    pub url: String,
    /// WebSocket handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutRow {
    /// `event` (durable, committed then published) or `location` (ephemeral push).
    pub message: &'static str,
    /// Rider and driver sockets connected.
    pub sockets: usize,
    /// Operator sockets connected.
    pub admins: usize,
    /// Messages published (each to one rider).
    pub messages: usize,
    /// Socket tasks woken per message.
    pub wakes_per_message: f64,
    /// Commit (or publication) to frame read by the client.
    pub latency: LatencySummary,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn usage(message: impl Into<String>) -> LoadtestError {
    LoadtestError::Usage(message.into())
}

/// Runs the benchmark and prints its table (or JSON lines).
pub async fn run_fanout(args: &FanoutArgs) -> Result<Vec<FanoutRow>, LoadtestError> {
    if args.sockets < 2 {
        return Err(usage("--sockets must be at least 2"));
    }
    let dir = std::env::temp_dir().join(format!("doorstep-fanout-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|e| usage(format!("temp dir: {e}")))?;
    let result = run_in(args, &dir).await;
    // The database is the benchmark's own.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(args: &FanoutArgs, dir: &std::path::Path) -> Result<Vec<FanoutRow>, LoadtestError> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("fanout.db").display());
    let store = Store::connect(&url)
        .await
        .map_err(|e| usage(format!("store: {e}")))?;
    store
        .migrate()
        .await
        .map_err(|e| usage(format!("migrations: {e}")))?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (app, background) = App::start(store, AppConfig::default(), Clock::System, shutdown_rx)
        .await
        .map_err(|e| usage(format!("app: {e}")))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| usage(format!("bind: {e}")))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| usage(format!("bind: {e}")))?;
    let limits = RateLimits {
        per_token_per_sec: 1_000_000,
        per_token_burst: 1_000_000,
        per_ip_per_sec: 1_000_000,
        per_ip_burst: 1_000_000,
    };
    let caps = SocketCaps {
        per_user: 5,
        per_ip: 1_000_000,
    };
    let mut stop = shutdown.subscribe();
    let serving = tokio::spawn(doorstep_api::serve(
        listener,
        doorstep_api::router_with(app.clone(), limits, caps),
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        },
    ));

    eprintln!("fanout: making {} accounts ...", args.sockets + args.admins);
    let riders = args.sockets / 2;
    let mut rider_ids = Vec::with_capacity(riders);
    let mut driver_ids = Vec::with_capacity(args.sockets - riders);
    // Each client socket's token, and whether the client reports its frames (operators' sockets see
    // every message too, but the latency measured is the recipient's).
    let mut tokens: Vec<(String, bool)> = Vec::with_capacity(args.sockets + args.admins);
    for i in 0..args.sockets + args.admins {
        let role = if i < riders {
            Role::Rider
        } else if i < args.sockets {
            Role::Driver
        } else {
            Role::Admin
        };
        let user = User {
            id: UserId::from_uuid(uuid::Uuid::now_v7()),
            email: Email::parse(&format!("fanout-{i}@loadtest.invalid"))
                .map_err(|e| usage(format!("email: {e}")))?,
            name: "Fan Out".to_owned(),
            role,
            created_at: app.clock().now(),
        };
        app.store()
            .insert_user(&user, "$argon2id$not-a-real-hash")
            .await
            .map_err(|e| usage(format!("user: {e}")))?;
        let token = app
            .issue_token(user.id)
            .await
            .map_err(|e| usage(format!("token: {e}")))?;
        tokens.push((token.expose().to_owned(), role != Role::Admin));
        match role {
            Role::Rider => rider_ids.push(user.id),
            Role::Driver => driver_ids.push(user.id),
            _ => {}
        }
    }

    eprintln!("fanout: connecting {} sockets ...", tokens.len());
    let mut clients = Clients::spawn(&format!("http://{addr}"), args.connect_concurrency, &tokens)?;
    clients.wait_for("ready", Duration::from_secs(900)).await?;
    eprintln!("fanout: connected; measuring");

    let mut rng = Pcg64::seed_from_u64(args.seed);
    let mut rows = Vec::new();

    // Durable events, one at a time, each to one rider.
    let base = settled_wakeups().await;
    let mut samples = Vec::with_capacity(args.events);
    let pickup = LatLng::new(40.758_896, -73.985_130).map_err(|e| usage(e.to_string()))?;
    let dropoff = LatLng::new(40.712_776, -74.005_974).map_err(|e| usage(e.to_string()))?;
    let fare = price_trip(&PricingConfig::default(), 6_200, 900, SurgeMillis(1000))
        .map_err(|e| usage(format!("pricing: {e}")))?;
    for _ in 0..args.events {
        let rider = rider_ids[rng.random_range(0..rider_ids.len())];
        let now = app.clock().now();
        let (ride, event) = Ride::request(
            NewRide {
                id: RideId::from_uuid(uuid::Uuid::now_v7()),
                rider,
                quote_id: QuoteId::from_uuid(uuid::Uuid::now_v7()),
                pickup,
                dropoff,
                quoted: fare.clone(),
                pin: Pin::issue(&mut rng),
            },
            now,
        );
        let created = app
            .store()
            .create_ride(&ride, None, &event, &Audience::of_ride(&ride), now)
            .await
            .map_err(|e| usage(format!("create ride: {e}")))?;
        let committed = now_ns();
        let Created::New(_, stored) = created else {
            return Err(usage("the ride existed already"));
        };
        app.bus().publish(BusMessage::Event(stored));
        let received = clients
            .wait_for(&ride.id().to_string(), Duration::from_secs(30))
            .await?;
        samples.push(u64::try_from(received.saturating_sub(committed)).unwrap_or(u64::MAX));
    }
    let woken = settled_wakeups().await - base;
    rows.push(FanoutRow {
        message: "event",
        sockets: args.sockets,
        admins: args.admins,
        messages: args.events,
        wakes_per_message: woken as f64 / args.events.max(1) as f64,
        latency: LatencySummary::from_nanos(&mut samples),
    });

    // Driver locations, one at a time, each to one rider.
    let base = settled_wakeups().await;
    let mut samples = Vec::with_capacity(args.locations);
    for _ in 0..args.locations {
        let rider = rider_ids[rng.random_range(0..rider_ids.len())];
        let driver = driver_ids[rng.random_range(0..driver_ids.len())];
        let ride_id = RideId::from_uuid(uuid::Uuid::now_v7());
        let published = now_ns();
        app.bus().publish(BusMessage::Location(LocationUpdate {
            ride_id,
            rider,
            driver,
            position: pickup,
            at: app.clock().now(),
            eta_s: Some(120),
        }));
        let received = clients
            .wait_for(&ride_id.to_string(), Duration::from_secs(30))
            .await?;
        samples.push(u64::try_from(received.saturating_sub(published)).unwrap_or(u64::MAX));
    }
    let woken = settled_wakeups().await - base;
    rows.push(FanoutRow {
        message: "location",
        sockets: args.sockets,
        admins: args.admins,
        messages: args.locations,
        wakes_per_message: woken as f64 / args.locations.max(1) as f64,
        latency: LatencySummary::from_nanos(&mut samples),
    });

    clients.stop();
    let _ = shutdown.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), serving).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), background.stopped()).await;
    app.store().close().await;
    print_rows(&rows, args.json)?;
    Ok(rows)
}

/// The wake-up count once no socket task has woken for 300 ms (every task has handled what was
/// published).
async fn settled_wakeups() -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = doorstep_api::routes::events::bus_wakeups();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = doorstep_api::routes::events::bus_wakeups();
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

fn print_rows(rows: &[FanoutRow], json: bool) -> Result<(), LoadtestError> {
    if json {
        for row in rows {
            println!("{}", serde_json::to_string(row)?);
        }
        return Ok(());
    }
    println!(
        "{:<9} {:>8} {:>7} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "message", "sockets", "admins", "messages", "wakes/msg", "p50 ms", "p99 ms", "max ms"
    );
    for r in rows {
        println!(
            "{:<9} {:>8} {:>7} {:>9} {:>10.1} {:>10.2} {:>10.2} {:>10.2}",
            r.message,
            r.sockets,
            r.admins,
            r.messages,
            r.wakes_per_message,
            r.latency.p50_us / 1000.0,
            r.latency.p99_us / 1000.0,
            r.latency.max_us / 1000.0
        );
    }
    Ok(())
}

/// The child process holding the client sockets, and the lines it prints.
struct Clients {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Clients {
    fn spawn(
        url: &str,
        concurrency: usize,
        tokens: &[(String, bool)],
    ) -> Result<Clients, LoadtestError> {
        let exe = std::env::current_exe().map_err(|e| usage(format!("own binary: {e}")))?;
        let mut child = Command::new(exe)
            .args(["bench", "fanout-clients", "--url", url])
            .args(["--connect-concurrency", &concurrency.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| usage(format!("starting the client process: {e}")))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| usage("no stdin of the client process"))?;
        writeln!(stdin, "{}", serde_json::to_string(tokens)?)
            .map_err(|e| usage(format!("client stdin: {e}")))?;
        // Kept open: the child exits when it closes.
        child.stdin = Some(stdin);
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| usage("no stdout of the client process"))?;
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Clients { child, lines })
    }

    /// Waits for the line that starts with `marker`; returns the time it carries (0 for `ready`).
    async fn wait_for(&mut self, marker: &str, within: Duration) -> Result<u128, LoadtestError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .map_err(|_| usage(format!("timed out waiting for {marker}")))?
                .ok_or_else(|| usage("the client process ended"))?;
            let mut parts = line.split_whitespace();
            if parts.next() == Some(marker) {
                return Ok(parts.next().and_then(|t| t.parse().ok()).unwrap_or(0));
            }
        }
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The client process: connects one event stream per token read from stdin and reports the frames
/// the benchmark waits for.
pub async fn run_fanout_clients(args: &FanoutClientArgs) -> Result<(), LoadtestError> {
    let mut first = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut first)
        .map_err(|e| usage(format!("stdin: {e}")))?;
    let tokens: Vec<(String, bool)> = serde_json::from_str(&first)?;
    let (tx, mut lines) = mpsc::unbounded_channel::<String>();
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let limit = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let mut connecting = JoinSet::new();
    for (token, report) in tokens {
        let request = crate::ingest::ws_request(&args.url, &token)?;
        let limit = limit.clone();
        connecting.spawn(async move {
            let _permit = limit.acquire().await;
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(request, Some(config), true)
                    .await
                    .map_err(Box::new)?;
            // The hello message.
            let _ = socket.next().await;
            Ok::<_, LoadtestError>((socket, report))
        });
    }
    let mut sockets = Vec::new();
    while let Some(joined) = connecting.join_next().await {
        match joined {
            Ok(result) => sockets.push(result?),
            Err(e) => return Err(usage(format!("connect task failed: {e}"))),
        }
    }
    let mut readers = JoinSet::new();
    for (mut socket, report) in sockets {
        let tx = tx.clone();
        readers.spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                if !report {
                    continue;
                }
                let received = now_ns();
                let Ok(frame) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
                    continue;
                };
                if matches!(
                    frame["type"].as_str(),
                    Some("requested" | "driver_location")
                ) && let Some(ride) = frame["ride_id"].as_str()
                {
                    let _ = tx.send(format!("{ride} {received}"));
                }
            }
        });
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    // Stdin closing (the benchmark is done) ends this process.
    let (done_tx, mut done) = mpsc::channel::<()>(1);
    std::thread::spawn(move || {
        let mut rest = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut rest)
            .is_ok_and(|n| n > 0)
        {
            rest.clear();
        }
        let _ = done_tx.blocking_send(());
    });
    let mut seen = HashSet::new();
    loop {
        tokio::select! {
            line = lines.recv() => {
                let Some(line) = line else { break };
                // The first frame of a ride counts.
                let ride = line.split_whitespace().next().unwrap_or_default().to_owned();
                if seen.insert(ride) {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
            }
            _ = done.recv() => break,
        }
    }
    readers.abort_all();
    Ok(())
}
