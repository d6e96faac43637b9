//! `doorstep bench load`: one or three `doorstep serve` nodes on a fresh PostgreSQL database under
//! drivers, riders and idle sockets, spread round-robin over the nodes like a load balancer would.
//!
//! The benchmark starts the nodes itself (`--bin`, by default this executable) on loopback ports with
//! high rate limits and socket caps, a short dispatch batch window and drivers approved at sign-up,
//! waits for `/readyz` on each, then:
//!
//! - `--drivers` drivers sign up, go online, open their event stream and send a location batch every
//!   `--batch-interval-ms` (a random walk of about 10 m a second inside a Manhattan taxi zone). Each
//!   accepts every offer it reads on its socket; once accepted, the rider cancels the ride (free within
//!   the first two minutes), so the driver is available again and the fleet stays the size asked;
//! - riders quote and request rides at `--rides-per-sec` for `--seconds` (open loop: a request is sent
//!   on schedule whether or not earlier ones were answered), pickups and drop-offs at random points of
//!   random zones;
//! - `--idle-sockets` event streams of accounts that never ride are held open for the whole run.
//!
//! What each number measures:
//! - ride requests/s: `POST /v1/rides` answered 201 during the load window, divided by its length;
//! - offer latency: from the moment the client read the 201 of a ride request to the moment the first
//!   `offered` frame of that ride arrived on some driver's socket (matched by ride id, in this process,
//!   on one monotonic clock). A ride offered before its 201 was read counts as 0 (`offer_before_201`);
//! - request latency: from sending the quote to reading the ride request's 201, as the rider's client
//!   saw it (the two calls one after the other);
//! - location updates/s: points sent and not refused by an error frame, over the window; the server's
//!   own count is `location_updates_total` from `/metrics`;
//! - sockets held: event streams open at the end of the window (drivers' and idle ones);
//! - CPU: user + system time of each node process (`/proc/PID/stat`) over the window, per 1,000 HTTP
//!   requests the nodes counted (`http_requests_total`) and per 1,000 ride requests; it includes the
//!   location stream, which is no HTTP request; beside it, the CPU time of the machine's PostgreSQL and
//!   NATS processes over the same window;
//! - memory: each node's `VmHWM` (peak resident) and `VmRSS` before and after the idle sockets opened;
//! - the server's view: time in dispatch solving (`dispatch_solve_seconds`), batch sizes, the time the
//!   dispatcher task was busy (`dispatch_busy_seconds`: one task, so busy for the whole window means it
//!   is at its limit), and the handlers' time (`http_request_duration_seconds`).
//!
//! With `--profile`, `perf record` samples the first node during the window and the top symbols by
//! self time are printed.
//!
//! The load generator shares the machine with the nodes; its own CPU time is reported alongside.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstep_geo::{City, LatLng, ZoneIdx, to_latlng};
use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::LoadtestError;
use crate::ingest::{JsonBatchWriter, PASSWORD, server_error, sign_up, unix_ms_now, ws_request};
use crate::prometheus::metric_value;
use crate::stats::LatencySummary;

/// Arguments of `doorstep bench load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Nodes to start: 1, or 3 (needs a binary with cluster mode: `serve --nats`).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// The `doorstep` binary the nodes run (default: this executable).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Database of the nodes. Default: a fresh database on `--postgres`, created for the run and
    /// dropped after it.
    #[arg(long)]
    pub database_url: Option<String>,
    /// PostgreSQL server (any database on it) where the fresh database of a run is created.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres: String,
    /// NATS server of the nodes (with more than one node).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Simulated drivers, one account and one WebSocket each.
    #[arg(long, default_value_t = 300)]
    pub drivers: usize,
    /// Rider accounts the ride requests are spread over.
    #[arg(long, default_value_t = 50)]
    pub riders: usize,
    /// Ride requests per second (each preceded by its quote).
    #[arg(long, default_value_t = 20.0)]
    pub rides_per_sec: f64,
    /// Seconds of ride requests.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Extra event streams held open, of accounts that never ride (50 sockets per account).
    #[arg(long, default_value_t = 1000)]
    pub idle_sockets: usize,
    /// Points per location batch.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Milliseconds between two location batches of a driver.
    #[arg(long, default_value_t = 1000)]
    pub batch_interval_ms: u64,
    /// The nodes' dispatch batch window, ms.
    #[arg(long, default_value_t = 250)]
    pub batch_window_ms: u64,
    /// Seconds after the last request to wait for offers still due.
    #[arg(long, default_value_t = 10)]
    pub grace_seconds: u64,
    /// Sign-ups in flight at once; each costs an argon2 hash on a node.
    #[arg(long, default_value_t = 4)]
    pub signup_concurrency: usize,
    /// First loopback port of the nodes (0: free ports chosen by the system).
    #[arg(long, default_value_t = 0)]
    pub base_port: u16,
    /// Record the first node with `perf record -g` during the load and print its top symbols.
    #[arg(long)]
    pub profile: bool,
    /// Keep the nodes' logs here (default: a temporary directory, removed after the run).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// Seed of positions and ride requests.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The run's totals.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRow {
    /// Always `"load"`.
    pub bench: &'static str,
    /// Nodes started.
    pub nodes: usize,
    /// Drivers online.
    pub drivers: usize,
    /// Target ride requests per second.
    pub target_rides_per_s: f64,
    /// Length of the load window, s.
    pub seconds: f64,
    /// Ride requests answered 201.
    pub rides_requested: u64,
    /// Ride requests answered 201 per second of the window.
    pub rides_per_s: f64,
    /// Rides whose first offer was read on a driver's socket.
    pub rides_offered: u64,
    /// Rides with no offer by the end of the grace period.
    pub rides_not_offered: u64,
    /// Rides offered before the client had read their 201 (counted as 0 latency).
    pub offer_before_201: u64,
    /// From the ride request's 201 to its first offer on a driver's socket.
    pub offer_latency: LatencySummary,
    /// From sending the quote to reading the ride request's 201 (both calls), per ride answered 201.
    pub request_latency: LatencySummary,
    /// Location points sent.
    pub location_points_sent: u64,
    /// Points in batches answered with an error frame.
    pub location_points_refused: u64,
    /// Points accepted per second of the window.
    pub location_points_per_s: f64,
    /// The nodes' `location_updates_total` growth over the window, per second.
    pub server_location_updates_per_s: Option<f64>,
    /// Driver sockets open at the end of the window.
    pub driver_sockets_held: u64,
    /// Idle sockets open at the end of the window.
    pub idle_sockets_held: u64,
    /// HTTP requests the nodes counted in the window.
    pub http_requests: Option<f64>,
    /// CPU seconds of all nodes in the window.
    pub node_cpu_s: f64,
    /// Node CPU seconds per 1,000 HTTP requests.
    pub cpu_s_per_1000_http: Option<f64>,
    /// Node CPU seconds per 1,000 ride requests (each with its quote, offer, accept and cancel, and
    /// the location stream running alongside).
    pub cpu_s_per_1000_rides: Option<f64>,
    /// CPU seconds of this load generator over the window.
    pub loadgen_cpu_s: f64,
    /// CPU seconds of every PostgreSQL process on this machine (the server and its sessions) over the
    /// window: the record's cost beside the nodes' (a session that ended inside the window is not in it).
    pub database_cpu_s: f64,
    /// CPU seconds of the NATS server processes on this machine over the window.
    pub nats_cpu_s: f64,
    /// Seconds spent solving dispatch batches (all nodes), in the window.
    pub dispatch_solve_s: Option<f64>,
    /// Dispatch batches solved in the window.
    pub dispatch_solves: Option<f64>,
    /// Mean jobs per dispatch batch in the window.
    pub dispatch_batch_mean: Option<f64>,
    /// Seconds HTTP handlers took in total (all nodes, wall time, overlapping), in the window.
    pub http_handler_s: Option<f64>,
    /// Seconds the city's dispatcher task was busy (handling commands and ticks, store round trips
    /// included) in the window; one task, so near the window's length means it is at its limit.
    pub dispatch_busy_s: Option<f64>,
    /// Of [`LoadRow::dispatch_busy_s`], the seconds spent on commands (opening, requeueing and closing
    /// jobs: their reads from the record); the rest went to ticks (solving, offer writes, expiries).
    pub dispatch_busy_commands_s: Option<f64>,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
}

/// One node's figures.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    /// Always `"load_node"`.
    pub bench: &'static str,
    /// `n1`, `n2`, ...
    pub node: String,
    /// Process id.
    pub pid: u32,
    /// CPU seconds in the window.
    pub cpu_s: f64,
    /// Peak resident memory (`VmHWM`), MiB.
    pub peak_rss_mib: f64,
    /// Resident memory once the accounts were made, before any socket opened, MiB.
    pub rss_start_mib: f64,
    /// Drivers on this node.
    pub drivers: u64,
    /// Resident bytes per driver streaming (growth from `rss_start_mib` to `rss_before_idle_mib`
    /// over the drivers).
    pub bytes_per_driver: Option<f64>,
    /// Resident memory with the drivers streaming, before the idle sockets opened, MiB.
    pub rss_before_idle_mib: f64,
    /// Resident memory once the idle sockets were open, MiB.
    pub rss_with_idle_mib: f64,
    /// Idle sockets on this node.
    pub idle_sockets: u64,
    /// Resident bytes per idle socket (difference of the two above over the sockets).
    pub bytes_per_idle_socket: Option<f64>,
    /// HTTP requests it counted in the window.
    pub http_requests: Option<f64>,
    /// Location points it counted in the window.
    pub location_updates: Option<f64>,
    /// Dispatch solve seconds in the window (only the dispatcher's owner solves).
    pub dispatch_solve_s: Option<f64>,
}

fn usage(message: impl Into<String>) -> LoadtestError {
    LoadtestError::Usage(message.into())
}

// ---------------------------------------------------------------------------------------------
// Pure parts: /proc parsing, offer matching, perf report parsing.

/// User + system CPU time in clock ticks from the text of `/proc/PID/stat`. The command name (field 2)
/// is in parentheses and may hold spaces and parentheses, so fields are counted after the last `)`:
/// `utime` and `stime` are fields 14 and 15.
pub fn cpu_ticks_from_stat(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` line of `/proc/PID/status` (such as `VmHWM:` or `VmRSS:`), in bytes.
pub fn status_kib_line(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

/// Clock ticks per second of `/proc/PID/stat` (`sysconf(_SC_CLK_TCK)`): 100 on Linux.
const CLK_TCK: f64 = 100.0;

/// CPU seconds of every process on this machine whose command name is `comm` (`/proc/PID/comm`).
fn command_cpu_s(comm: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .map(|pid| process_cpu_s(&pid))
        .sum()
}

fn process_cpu_s(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| cpu_ticks_from_stat(&s))
        .map_or(0.0, |t| t as f64 / CLK_TCK)
}

fn process_status(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kib_line(&status, key)
}

/// Offer latencies: for each ride with both a 201 time and a first-offer time, the offer time minus
/// the 201 time in nanoseconds (0 when the offer came first). Returns the latencies, how many rides
/// had no offer, and how many were offered before their 201 was read.
pub fn match_offers(
    requested: &HashMap<String, Instant>,
    offered: &HashMap<String, Instant>,
) -> (Vec<u64>, u64, u64) {
    let (mut latencies, mut missing, mut early) = (Vec::with_capacity(requested.len()), 0, 0);
    for (ride, at) in requested {
        match offered.get(ride) {
            Some(offer) => {
                let ns = offer.checked_duration_since(*at).map_or_else(
                    || {
                        early += 1;
                        0
                    },
                    |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
                );
                latencies.push(ns);
            }
            None => missing += 1,
        }
    }
    (latencies, missing, early)
}

/// The first `n` symbols of `perf report --stdio --no-children --sort symbol`: (self %, symbol).
pub fn top_symbols(report: &str, n: usize) -> Vec<(f64, String)> {
    let mut top = Vec::new();
    for line in report.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some((percent, rest)) = line.split_once('%') else {
            continue;
        };
        let Ok(percent) = percent.trim().parse::<f64>() else {
            continue;
        };
        // `[.] symbol` (user) or `[k] symbol` (kernel).
        let symbol = rest.trim();
        if !(symbol.starts_with('[') && symbol.get(3..4) == Some(" ")) {
            continue;
        }
        // perf pads the symbol column and may append empty columns after it.
        let symbol = symbol.split("   ").next().unwrap_or(symbol).trim_end();
        top.push((percent, symbol.to_owned()));
        if top.len() == n {
            break;
        }
    }
    top
}

// ---------------------------------------------------------------------------------------------
// Nodes and their database.

/// A fresh database's name: only lowercase letters, digits and `_`, so it needs no quoting.
fn fresh_database_name() -> String {
    format!("doorstep_load_{}", uuid::Uuid::new_v4().simple())
}

/// `postgres://user@host:port/anything?params` with the path replaced by `/name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

async fn admin_sql(postgres: &str, sql: String) -> Result<(), LoadtestError> {
    use sqlx::Connection as _;
    let mut connection = sqlx::PgConnection::connect(postgres)
        .await
        .map_err(|e| usage(format!("connecting to {postgres}: {e}")))?;
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut connection)
        .await
        .map_err(|e| usage(format!("{sql}: {e}")));
    let _ = connection.close().await;
    result.map(drop)
}

/// A started node.
struct Node {
    name: String,
    base: String,
    child: Child,
}

impl Node {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn free_port() -> Result<u16, LoadtestError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| usage(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| usage(format!("finding a free port: {e}")))
}

/// Environment of every node: no rate limit or socket cap the benchmark could hit from one machine.
const NODE_ENV: [(&str, &str); 5] = [
    ("DOORSTEP_RATE_PER_TOKEN", "1000000"),
    ("DOORSTEP_RATE_PER_IP", "1000000"),
    ("DOORSTEP_WS_PER_IP", "1000000"),
    ("DOORSTEP_WS_PER_USER", "1000000"),
    ("DOORSTEP_LOG_FORMAT", "text"),
];

fn run_tool(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, LoadtestError> {
    let output = Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| usage(format!("running {} {}: {e}", bin.display(), args.join(" "))))?;
    if !output.status.success() {
        return Err(usage(format!(
            "{} {} failed: {}",
            bin.display(),
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether `serve --help` of `bin` lists the cluster flag `--nats`.
pub fn has_cluster_mode(serve_help: &str) -> bool {
    serve_help.contains("--nats")
}

fn start_nodes(
    args: &LoadArgs,
    bin: &Path,
    database_url: &str,
    log_dir: &Path,
    cluster: Option<&str>,
) -> Result<Vec<Node>, LoadtestError> {
    let mut nodes = Vec::with_capacity(args.nodes);
    for k in 0..args.nodes {
        let name = format!("n{}", k + 1);
        let port = if args.base_port == 0 {
            free_port()?
        } else {
            args.base_port.saturating_add(k as u16)
        };
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(log_dir.join(format!("{name}.log")))
            .map_err(|e| usage(format!("node log: {e}")))?;
        let log_err = log
            .try_clone()
            .map_err(|e| usage(format!("node log: {e}")))?;
        let mut command = Command::new(bin);
        command
            .args(["serve", "--addr", &addr, "--database-url", database_url])
            .args(["--auto-approve-drivers", "--batch-window-ms"])
            .arg(args.batch_window_ms.to_string())
            .envs(NODE_ENV)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if let Some(cluster) = cluster {
            command.args(["--nats", &args.nats, "--node-id", &name]);
            // A cluster name of the run's own: its NATS stream and lease bucket are not another run's.
            command.args(["--cluster-name", cluster]);
        }
        let child = command
            .spawn()
            .map_err(|e| usage(format!("starting {}: {e}", bin.display())))?;
        nodes.push(Node {
            name,
            base: format!("http://{addr}"),
            child,
        });
    }
    Ok(nodes)
}

async fn wait_ready(http: &reqwest::Client, nodes: &mut [Node]) -> Result<(), LoadtestError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    for node in nodes.iter_mut() {
        loop {
            if let Ok(Some(status)) = node.child.try_wait() {
                return Err(usage(format!(
                    "node {} exited with {status} before it was ready (see its log)",
                    node.name
                )));
            }
            let ready = http
                .get(format!("{}/readyz", node.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            if Instant::now() > deadline {
                return Err(usage(format!("node {} not ready after 120 s", node.name)));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

fn stop_nodes(nodes: &mut [Node]) {
    for node in nodes.iter() {
        let _ = Command::new("kill")
            .args(["-TERM", &node.pid().to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    for node in nodes.iter_mut() {
        loop {
            if !matches!(node.child.try_wait(), Ok(None)) {
                break;
            }
            if Instant::now() > deadline {
                let _ = node.child.kill();
                let _ = node.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server's view.

/// The figures read from one node's `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
struct Scrape {
    http_requests: f64,
    http_seconds: f64,
    solve_seconds: f64,
    solves: f64,
    batch_jobs: f64,
    location_updates: f64,
    busy_seconds: f64,
    busy_command_seconds: f64,
}

impl Scrape {
    fn minus(self, before: Scrape) -> Scrape {
        Scrape {
            http_requests: self.http_requests - before.http_requests,
            http_seconds: self.http_seconds - before.http_seconds,
            solve_seconds: self.solve_seconds - before.solve_seconds,
            solves: self.solves - before.solves,
            batch_jobs: self.batch_jobs - before.batch_jobs,
            location_updates: self.location_updates - before.location_updates,
            busy_seconds: self.busy_seconds - before.busy_seconds,
            busy_command_seconds: self.busy_command_seconds - before.busy_command_seconds,
        }
    }
}

async fn scrape(http: &reqwest::Client, base: &str, token: &str) -> Option<Scrape> {
    let answer = http
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    if !answer.status().is_success() {
        return None;
    }
    let text = answer.text().await.ok()?;
    let value = |name: &str| metric_value(&text, name).unwrap_or(0.0);
    Some(Scrape {
        http_requests: value("http_requests_total"),
        http_seconds: value("http_request_duration_seconds_sum"),
        solve_seconds: value("dispatch_solve_seconds_sum"),
        solves: value("dispatch_solve_seconds_count"),
        batch_jobs: value("dispatch_batch_size_sum"),
        location_updates: value("location_updates_total"),
        busy_seconds: value("dispatch_busy_seconds_sum"),
        busy_command_seconds: value("dispatch_busy_seconds_sum{what=\"command\"}"),
    })
}

async fn scrape_all(http: &reqwest::Client, nodes: &[Node], token: &str) -> Vec<Option<Scrape>> {
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        out.push(scrape(http, &node.base, token).await);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The workload.

/// A ride's rider token and the node it requested the ride on.
type RideOwner = (Arc<str>, Arc<str>);

/// What the workload's tasks share.
#[derive(Default)]
struct Shared {
    /// Ride id → when its 201 was read.
    requested: Mutex<HashMap<String, Instant>>,
    /// Ride id → when its first offer was read on a driver's socket.
    offered: Mutex<HashMap<String, Instant>>,
    /// Nanoseconds from sending each ride's quote to reading its 201.
    request_nanos: Mutex<Vec<u64>>,
    /// Ride id → (rider token, node base) for the cancellation after acceptance.
    ride_owner: Mutex<HashMap<String, RideOwner>>,
    errors: Mutex<BTreeMap<String, u64>>,
    points_sent: AtomicU64,
    points_refused: AtomicU64,
    driver_sockets_open: AtomicU64,
    idle_sockets_open: AtomicU64,
    /// Set when the run is over: sockets closing from then on are no error.
    finished: AtomicBool,
}

impl Shared {
    fn error(&self, kind: impl Into<String>) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(kind.into()).or_default() += 1;
        }
    }

    /// Counts an HTTP answer that is not a success by its status class, or a transport failure.
    fn http_error(&self, what: &str, answer: &Result<reqwest::Response, reqwest::Error>) -> bool {
        match answer {
            Ok(r) if r.status().is_success() => false,
            Ok(r) => {
                let status = r.status().as_u16();
                let class = match status {
                    409 => "409".to_owned(),
                    400..=499 => "4xx".to_owned(),
                    _ => format!("{}xx", status / 100),
                };
                self.error(format!("{what} {class}"));
                true
            }
            Err(e) if e.is_timeout() => {
                self.error(format!("{what} timeout"));
                true
            }
            Err(_) => {
                self.error(format!("{what} transport"));
                true
            }
        }
    }
}

/// A random point of a random taxi zone of Manhattan.
fn random_place(rng: &mut impl Rng) -> LatLng {
    let city = City::manhattan();
    let zone = ZoneIdx(rng.random_range(0..city.zones().len()) as u8);
    to_latlng(city.random_point_in_zone(zone, rng))
}

/// A driver's event stream: location batches on schedule, every offer accepted.
#[allow(
    clippy::too_many_arguments,
    reason = "one driver's whole state, spawned once"
)]
async fn drive(
    shared: Arc<Shared>,
    http: reqwest::Client,
    base: Arc<str>,
    token: Arc<str>,
    seed: u64,
    batch: usize,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let Ok(request) = ws_request(&base, &token) else {
        shared.error("driver socket request");
        return;
    };
    let socket =
        match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
            Ok((socket, _)) => socket,
            Err(_) => {
                shared.error("driver socket connect");
                return;
            }
        };
    shared.driver_sockets_open.fetch_add(1, Ordering::Relaxed);
    let mut rng = Pcg64::seed_from_u64(seed);
    let start = random_place(&mut rng);
    let (mut lat, mut lng) = (start.lat(), start.lng());
    let (mut sink, mut stream) = socket.split();
    let mut writer = JsonBatchWriter::new();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_ms = 0i64;
    let step_ms = (interval.as_millis() as i64 / batch.max(1) as i64).max(1);
    let mut closed_by_server = false;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticker.tick() => {
                let now = unix_ms_now().max(last_ms);
                let floor = last_ms;
                let mut points = (0..batch).map(|j| {
                    // About 10 m a second.
                    lat += rng.random_range(-0.00005..=0.00005);
                    lng += rng.random_range(-0.00005..=0.00005);
                    (lat, lng, (now - (batch - 1 - j) as i64 * step_ms).max(floor))
                });
                let text = writer.write(&mut points).to_owned();
                last_ms = now;
                if sink.send(Message::text(text)).await.is_err() {
                    closed_by_server = true;
                    break;
                }
                shared.points_sent.fetch_add(batch as u64, Ordering::Relaxed);
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        closed_by_server = true;
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let text = text.as_str();
                if text.contains("\"type\":\"offered\"") {
                    let read_at = Instant::now();
                    let Ok(frame) = serde_json::from_str::<serde_json::Value>(text) else {
                        shared.error("offer frame unreadable");
                        continue;
                    };
                    let (Some(ride), Some(offer)) = (frame["ride_id"].as_str(), frame["offer_id"].as_str()) else {
                        shared.error("offer frame unreadable");
                        continue;
                    };
                    if let Ok(mut offered) = shared.offered.lock() {
                        offered.entry(ride.to_owned()).or_insert(read_at);
                    }
                    tokio::spawn(take_offer(
                        shared.clone(),
                        http.clone(),
                        base.clone(),
                        token.clone(),
                        offer.to_owned(),
                        ride.to_owned(),
                    ));
                } else if text.contains("\"type\":\"error\"") {
                    shared.points_refused.fetch_add(batch as u64, Ordering::Relaxed);
                    shared.error("location batch refused");
                }
            }
        }
    }
    if closed_by_server && !shared.finished.load(Ordering::Relaxed) {
        shared.error("driver socket closed");
    }
    shared.driver_sockets_open.fetch_sub(1, Ordering::Relaxed);
    let _ = sink.send(Message::Close(None)).await;
}

/// Accepts an offer, then cancels the ride as its rider, so the driver is free again.
async fn take_offer(
    shared: Arc<Shared>,
    http: reqwest::Client,
    base: Arc<str>,
    token: Arc<str>,
    offer: String,
    ride: String,
) {
    let answer = http
        .post(format!("{base}/v1/offers/{offer}/accept"))
        .bearer_auth(&*token)
        .send()
        .await;
    if shared.http_error("accept", &answer) {
        return;
    }
    // The offer can be read before the rider's 201: wait for the ride's owner a little.
    let mut owner = None;
    for _ in 0..50 {
        owner = shared
            .ride_owner
            .lock()
            .ok()
            .and_then(|o| o.get(&ride).cloned());
        if owner.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some((rider, rider_base)) = owner else {
        shared.error("cancel: ride owner unknown");
        return;
    };
    let answer = http
        .post(format!("{rider_base}/v1/rides/{ride}/cancel"))
        .bearer_auth(&*rider)
        .send()
        .await;
    shared.http_error("cancel", &answer);
}

/// One ride request: a quote, then the request with an idempotency key.
async fn request_ride(
    shared: Arc<Shared>,
    http: reqwest::Client,
    base: Arc<str>,
    rider: Arc<str>,
    pickup: LatLng,
    dropoff: LatLng,
) {
    let body = serde_json::json!({
        "pickup": {"lat": pickup.lat(), "lng": pickup.lng()},
        "dropoff": {"lat": dropoff.lat(), "lng": dropoff.lng()},
    });
    let sent_at = Instant::now();
    let answer = http
        .post(format!("{base}/v1/rides/quotes"))
        .bearer_auth(&*rider)
        .json(&body)
        .send()
        .await;
    let answer = match answer {
        // A refused quote says why (`code`): the places of a seeded run that the server refuses.
        Ok(r) if r.status().is_client_error() => {
            let status = r.status().as_u16();
            let code = r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            shared.error(format!("quote {status} {code}"));
            return;
        }
        other => other,
    };
    if shared.http_error("quote", &answer) {
        return;
    }
    let Ok(quote) = answer else { return };
    let Ok(quote) = quote.json::<serde_json::Value>().await else {
        shared.error("quote unreadable");
        return;
    };
    let Some(quote_id) = quote["quote_id"].as_str() else {
        shared.error("quote unreadable");
        return;
    };
    let answer = http
        .post(format!("{base}/v1/rides"))
        .bearer_auth(&*rider)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({"quote_id": quote_id}))
        .send()
        .await;
    if shared.http_error("request", &answer) {
        return;
    }
    let Ok(answer) = answer else { return };
    let status = answer.status().as_u16();
    let Ok(ride) = answer.json::<serde_json::Value>().await else {
        shared.error("request unreadable");
        return;
    };
    let read_at = Instant::now();
    if status != 201 {
        shared.error(format!("request {status}"));
        return;
    }
    let Some(ride_id) = ride["ride_id"].as_str() else {
        shared.error("request unreadable");
        return;
    };
    if let Ok(mut owners) = shared.ride_owner.lock() {
        owners.insert(ride_id.to_owned(), (rider.clone(), base.clone()));
    }
    if let Ok(mut requested) = shared.requested.lock() {
        requested.insert(ride_id.to_owned(), read_at);
    }
    if let Ok(mut nanos) = shared.request_nanos.lock() {
        nanos.push(u64::try_from(read_at.duration_since(sent_at).as_nanos()).unwrap_or(u64::MAX));
    }
}

/// Holds an event stream open until `stop`.
async fn hold_idle(
    shared: Arc<Shared>,
    base: Arc<str>,
    token: Arc<str>,
    limit: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let Ok(request) = ws_request(&base, &token) else {
        shared.error("idle socket request");
        return;
    };
    let connected = {
        let _permit = limit.acquire().await;
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await
    };
    let Ok((mut socket, _)) = connected else {
        shared.error("idle socket connect");
        return;
    };
    shared.idle_sockets_open.fetch_add(1, Ordering::Relaxed);
    let mut closed_by_server = false;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            frame = socket.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    closed_by_server = true;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    if closed_by_server && !shared.finished.load(Ordering::Relaxed) {
        shared.error("idle socket closed");
    }
    shared.idle_sockets_open.fetch_sub(1, Ordering::Relaxed);
    let _ = socket.close(None).await;
}

/// Signs up `count` accounts of `role` round-robin over `bases`, `concurrency` at a time; drivers
/// then go online on the node that signed them up. Returns (token, node index) per account.
async fn make_accounts(
    http: &reqwest::Client,
    bases: &[Arc<str>],
    prefix: &str,
    role: &'static str,
    count: usize,
    concurrency: usize,
) -> Result<Vec<(Arc<str>, usize)>, LoadtestError> {
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let (http, limit) = (http.clone(), limit.clone());
        let node = i % bases.len();
        let base = bases[node].clone();
        let email = format!("load-{prefix}-{i}@loadtest.invalid");
        tasks.spawn(async move {
            let token = {
                let _permit = limit.acquire().await;
                sign_up(&http, &base, &email, role).await?
            };
            if role == "driver" {
                let online = http
                    .post(format!("{base}/v1/drivers/me/online"))
                    .bearer_auth(&token)
                    .send()
                    .await?;
                if !online.status().is_success() {
                    return Err(server_error("going online", online).await);
                }
            }
            Ok::<_, LoadtestError>((i, Arc::<str>::from(token), node))
        });
    }
    let mut out = vec![(Arc::<str>::from(""), 0); count];
    while let Some(joined) = tasks.join_next().await {
        let (i, token, node) = joined.map_err(|e| usage(format!("sign-up task: {e}")))??;
        out[i] = (token, node);
    }
    Ok(out)
}

async fn admin_token(
    http: &reqwest::Client,
    base: &str,
    email: &str,
) -> Result<String, LoadtestError> {
    #[derive(serde::Deserialize)]
    struct Token {
        token: String,
    }
    let login = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    if !login.status().is_success() {
        return Err(server_error("the admin's login", login).await);
    }
    Ok(login.json::<Token>().await?.token)
}

// ---------------------------------------------------------------------------------------------
// The run.

/// Runs `doorstep bench load` and prints its table (or JSON lines).
pub async fn run_load(args: &LoadArgs) -> Result<(LoadRow, Vec<NodeRow>), LoadtestError> {
    if args.nodes == 0 || args.drivers == 0 || args.riders == 0 || args.seconds == 0 {
        return Err(usage(
            "--nodes, --drivers, --riders and --seconds must be at least 1",
        ));
    }
    if !(args.rides_per_sec > 0.0 && args.rides_per_sec.is_finite()) {
        return Err(usage("--rides-per-sec must be above zero"));
    }
    if args.batch == 0 || args.batch > 100 {
        return Err(usage("--batch must be from 1 to 100"));
    }
    let bin = match &args.bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe().map_err(|e| usage(format!("own binary: {e}")))?,
    };
    if args.nodes > 1 {
        let help = run_tool(&bin, &["serve", "--help"], &[])?;
        if !has_cluster_mode(&help) {
            return Err(usage(format!(
                "--nodes {} needs cluster mode, but {} lacks it (`serve --help` has no --nats); \
                 build it from a main that has cluster mode, or run --nodes 1",
                args.nodes,
                bin.display()
            )));
        }
    }
    let say = |line: &str| {
        if !args.json {
            eprintln!("load: {line}");
        }
    };

    // The database: a fresh one unless given.
    let (database_url, fresh) = match &args.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let name = fresh_database_name();
            admin_sql(&args.postgres, format!("CREATE DATABASE {name}")).await?;
            say(&format!("created database {name}"));
            (with_database(&args.postgres, &name), Some(name))
        }
    };
    let temp_logs = args.log_dir.is_none();
    let log_dir = args.log_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("doorstep-load-{}", uuid::Uuid::new_v4().simple()))
    });
    let result = match std::fs::create_dir_all(&log_dir) {
        Ok(()) => run_with_database(args, &bin, &database_url, &log_dir, &say).await,
        Err(e) => Err(usage(format!("log dir: {e}"))),
    };
    if let Some(name) = fresh {
        match admin_sql(&args.postgres, format!("DROP DATABASE {name} WITH (FORCE)")).await {
            Ok(()) => say(&format!("dropped database {name}")),
            Err(e) => say(&format!("could not drop database {name}: {e}")),
        }
    }
    if result.is_ok() && temp_logs {
        let _ = std::fs::remove_dir_all(&log_dir);
    } else if result.is_err() {
        eprintln!("load: the nodes' logs are in {}", log_dir.display());
    }
    let (row, nodes, profile) = result?;
    print_report(&row, &nodes, &profile, args.json)?;
    Ok((row, nodes))
}

type RunResult = (LoadRow, Vec<NodeRow>, Vec<(f64, String)>);

async fn run_with_database(
    args: &LoadArgs,
    bin: &Path,
    database_url: &str,
    log_dir: &Path,
    say: &impl Fn(&str),
) -> Result<RunResult, LoadtestError> {
    // Migrations and the operator account, once, before any node starts.
    let admin_email = "load-admin@loadtest.invalid";
    run_tool(
        bin,
        &[
            "admin",
            "create",
            "--email",
            admin_email,
            "--database-url",
            database_url,
        ],
        &[("DOORSTEP_ADMIN_PASSWORD", PASSWORD), ("RUST_LOG", "warn")],
    )?;
    let cluster = (args.nodes > 1)
        .then(|| format!("load_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
    let mut nodes = start_nodes(args, bin, database_url, log_dir, cluster.as_deref())?;
    let result = run_on_nodes(args, &mut nodes, say).await;
    stop_nodes(&mut nodes);
    result
}

async fn run_on_nodes(
    args: &LoadArgs,
    nodes: &mut [Node],
    say: &impl Fn(&str),
) -> Result<RunResult, LoadtestError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()?;
    wait_ready(&http, nodes).await?;
    say(&format!(
        "{} node(s) ready: {}",
        nodes.len(),
        nodes
            .iter()
            .map(|n| format!("{} {} pid {}", n.name, n.base, n.pid()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let bases: Vec<Arc<str>> = nodes.iter().map(|n| Arc::from(n.base.as_str())).collect();
    let metrics_token = admin_token(&http, &bases[0], "load-admin@loadtest.invalid").await?;

    let idle_accounts = args.idle_sockets.div_ceil(50);
    say(&format!(
        "signing up {} drivers, {} riders and {idle_accounts} idle accounts (argon2 on the nodes)",
        args.drivers, args.riders
    ));
    let started = Instant::now();
    let drivers = make_accounts(
        &http,
        &bases,
        "driver",
        "driver",
        args.drivers,
        args.signup_concurrency,
    )
    .await?;
    let riders = make_accounts(
        &http,
        &bases,
        "rider",
        "rider",
        args.riders,
        args.signup_concurrency,
    )
    .await?;
    let idle = make_accounts(
        &http,
        &bases,
        "idle",
        "rider",
        idle_accounts,
        args.signup_concurrency,
    )
    .await?;
    say(&format!(
        "accounts ready after {:.0} s",
        started.elapsed().as_secs_f64()
    ));

    let pids: Vec<u32> = nodes.iter().map(Node::pid).collect();
    let rss_start: Vec<u64> = pids
        .iter()
        .map(|&p| process_status(p, "VmRSS:").unwrap_or(0))
        .collect();
    let shared = Arc::new(Shared::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sockets = JoinSet::new();
    let interval = Duration::from_millis(args.batch_interval_ms.max(1));
    for (i, (token, node)) in drivers.iter().enumerate() {
        sockets.spawn(drive(
            shared.clone(),
            http.clone(),
            bases[*node].clone(),
            token.clone(),
            args.seed.wrapping_mul(1_000_003) ^ i as u64,
            args.batch,
            interval,
            stop_rx.clone(),
        ));
        // Spread the drivers' batches over the interval.
        if i % 20 == 19 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // Let every driver report a position or two.
    tokio::time::sleep(interval * 2 + Duration::from_secs(1)).await;
    let rss_before: Vec<u64> = pids
        .iter()
        .map(|&p| process_status(p, "VmRSS:").unwrap_or(0))
        .collect();
    say(&format!(
        "{} driver sockets streaming; opening {} idle sockets",
        shared.driver_sockets_open.load(Ordering::Relaxed),
        args.idle_sockets
    ));
    let connect_limit = Arc::new(Semaphore::new(64));
    let mut idle_per_node = vec![0u64; nodes.len()];
    for j in 0..args.idle_sockets {
        let node = j % nodes.len();
        idle_per_node[node] += 1;
        // Accounts' sockets go to the same node as ... any node: socket j to node j % n.
        let token = idle[j / 50 % idle.len().max(1)].0.clone();
        sockets.spawn(hold_idle(
            shared.clone(),
            bases[node].clone(),
            token,
            connect_limit.clone(),
            stop_rx.clone(),
        ));
    }
    let open_deadline = Instant::now() + Duration::from_secs(120);
    while (shared.idle_sockets_open.load(Ordering::Relaxed) as usize) < args.idle_sockets
        && Instant::now() < open_deadline
    {
        let failed: u64 = shared
            .errors
            .lock()
            .map(|e| e.get("idle socket connect").copied().unwrap_or(0))
            .unwrap_or(0);
        if shared.idle_sockets_open.load(Ordering::Relaxed) + failed >= args.idle_sockets as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after: Vec<u64> = pids
        .iter()
        .map(|&p| process_status(p, "VmRSS:").unwrap_or(0))
        .collect();
    say(&format!(
        "{} idle sockets open; requesting {} rides/s for {} s",
        shared.idle_sockets_open.load(Ordering::Relaxed),
        args.rides_per_sec,
        args.seconds
    ));

    // The window.
    let scrape_before = scrape_all(&http, nodes, &metrics_token).await;
    let cpu_before: Vec<f64> = pids.iter().map(|p| process_cpu_s(&p.to_string())).collect();
    let self_before = process_cpu_s("self");
    let database_before = command_cpu_s("postgres");
    let nats_before = command_cpu_s("nats-server");
    let profile = if args.profile {
        Some(start_profile(pids[0], args.seconds)?)
    } else {
        None
    };
    // Points and refusals of the window only: the drivers stream from before it.
    let points_sent_before = shared.points_sent.load(Ordering::Relaxed);
    let points_refused_before = shared.points_refused.load(Ordering::Relaxed);
    let window_start = Instant::now();
    let mut rng = Pcg64::seed_from_u64(args.seed ^ 0x10ad);
    let mut requests = JoinSet::new();
    let total = (args.rides_per_sec * args.seconds as f64).round() as u64;
    let period = Duration::from_secs_f64(1.0 / args.rides_per_sec);
    for k in 0..total {
        tokio::time::sleep_until((window_start + period.mul_f64(k as f64)).into()).await;
        let (rider, _) = &riders[k as usize % riders.len()];
        let node = k as usize % nodes.len();
        let (pickup, dropoff) = (random_place(&mut rng), random_place(&mut rng));
        requests.spawn(request_ride(
            shared.clone(),
            http.clone(),
            bases[node].clone(),
            rider.clone(),
            pickup,
            dropoff,
        ));
        while requests.try_join_next().is_some() {}
    }
    tokio::time::sleep_until((window_start + Duration::from_secs(args.seconds)).into()).await;
    let window = window_start.elapsed().as_secs_f64();
    let cpu_after: Vec<f64> = pids.iter().map(|p| process_cpu_s(&p.to_string())).collect();
    let self_after = process_cpu_s("self");
    let database_after = command_cpu_s("postgres");
    let nats_after = command_cpu_s("nats-server");
    let scrape_after = scrape_all(&http, nodes, &metrics_token).await;
    let points_sent = shared.points_sent.load(Ordering::Relaxed) - points_sent_before;
    let points_refused = shared.points_refused.load(Ordering::Relaxed) - points_refused_before;
    let driver_held = shared.driver_sockets_open.load(Ordering::Relaxed);
    let idle_held = shared.idle_sockets_open.load(Ordering::Relaxed);

    // Requests still in flight, then offers still due.
    say("waiting for answers and offers still due");
    while requests.join_next().await.is_some() {}
    let grace_end = Instant::now() + Duration::from_secs(args.grace_seconds);
    loop {
        let pending = {
            let requested = shared
                .requested
                .lock()
                .map(|r| r.clone())
                .unwrap_or_default();
            let offered = shared.offered.lock().map(|o| o.clone()).unwrap_or_default();
            requested
                .keys()
                .filter(|r| !offered.contains_key(*r))
                .count()
        };
        if pending == 0 || Instant::now() > grace_end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shared.finished.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        while sockets.join_next().await.is_some() {}
    })
    .await;
    sockets.abort_all();

    let top = match profile {
        Some(child) => finish_profile(child)?,
        None => Vec::new(),
    };

    // Figures.
    let requested = shared
        .requested
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    let offered = shared.offered.lock().map(|o| o.clone()).unwrap_or_default();
    let (mut latencies, not_offered, early) = match_offers(&requested, &offered);
    let latency = LatencySummary::from_nanos(&mut latencies);
    let mut request_nanos = shared
        .request_nanos
        .lock()
        .map(|n| n.clone())
        .unwrap_or_default();
    let request_latency = LatencySummary::from_nanos(&mut request_nanos);
    let deltas: Vec<Option<Scrape>> = scrape_after
        .iter()
        .zip(&scrape_before)
        .map(|(a, b)| a.zip(*b).map(|(a, b)| a.minus(b)))
        .collect();
    let sum = |f: fn(&Scrape) -> f64| -> Option<f64> {
        deltas
            .iter()
            .map(|d| d.as_ref().map(f))
            .sum::<Option<f64>>()
    };
    let node_cpu: Vec<f64> = cpu_after
        .iter()
        .zip(&cpu_before)
        .map(|(a, b)| a - b)
        .collect();
    let node_cpu_s: f64 = node_cpu.iter().sum();
    let http_requests = sum(|s| s.http_requests);
    let solves = sum(|s| s.solves);
    let rides = requested.len() as u64;
    let row = LoadRow {
        bench: "load",
        nodes: nodes.len(),
        drivers: args.drivers,
        target_rides_per_s: args.rides_per_sec,
        seconds: window,
        rides_requested: rides,
        rides_per_s: rides as f64 / window,
        rides_offered: rides - not_offered,
        rides_not_offered: not_offered,
        offer_before_201: early,
        offer_latency: latency,
        request_latency,
        location_points_sent: points_sent,
        location_points_refused: points_refused,
        location_points_per_s: points_sent.saturating_sub(points_refused) as f64 / window,
        server_location_updates_per_s: sum(|s| s.location_updates).map(|u| u / window),
        driver_sockets_held: driver_held,
        idle_sockets_held: idle_held,
        http_requests,
        node_cpu_s,
        cpu_s_per_1000_http: http_requests
            .filter(|&r| r > 0.0)
            .map(|r| node_cpu_s / r * 1000.0),
        cpu_s_per_1000_rides: (rides > 0).then(|| node_cpu_s / rides as f64 * 1000.0),
        loadgen_cpu_s: self_after - self_before,
        database_cpu_s: (database_after - database_before).max(0.0),
        nats_cpu_s: (nats_after - nats_before).max(0.0),
        dispatch_solve_s: sum(|s| s.solve_seconds),
        dispatch_solves: solves,
        dispatch_batch_mean: sum(|s| s.batch_jobs)
            .zip(solves)
            .filter(|(_, n)| *n > 0.0)
            .map(|(jobs, n)| jobs / n),
        http_handler_s: sum(|s| s.http_seconds),
        dispatch_busy_s: sum(|s| s.busy_seconds),
        dispatch_busy_commands_s: sum(|s| s.busy_command_seconds),
        errors: shared.errors.lock().map(|e| e.clone()).unwrap_or_default(),
    };
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let node_rows = nodes
        .iter()
        .enumerate()
        .map(|(k, node)| {
            let delta = deltas[k];
            let grown = rss_after[k] as f64 - rss_before[k] as f64;
            let drivers_here = (k..args.drivers).step_by(nodes.len()).count() as u64;
            let driver_growth = rss_before[k] as f64 - rss_start[k] as f64;
            NodeRow {
                bench: "load_node",
                node: node.name.clone(),
                pid: node.pid(),
                cpu_s: node_cpu[k],
                peak_rss_mib: mib(process_status(node.pid(), "VmHWM:").unwrap_or(0)),
                rss_start_mib: mib(rss_start[k]),
                drivers: drivers_here,
                bytes_per_driver: (drivers_here > 0).then(|| driver_growth / drivers_here as f64),
                rss_before_idle_mib: mib(rss_before[k]),
                rss_with_idle_mib: mib(rss_after[k]),
                idle_sockets: idle_per_node[k],
                bytes_per_idle_socket: (idle_per_node[k] > 0)
                    .then(|| grown / idle_per_node[k] as f64),
                http_requests: delta.map(|d| d.http_requests),
                location_updates: delta.map(|d| d.location_updates),
                dispatch_solve_s: delta.map(|d| d.solve_seconds),
            }
        })
        .collect();
    Ok((row, node_rows, top))
}

// ---------------------------------------------------------------------------------------------
// Profiling.

struct Profile {
    child: Child,
    data: PathBuf,
}

fn start_profile(pid: u32, seconds: u64) -> Result<Profile, LoadtestError> {
    let data = std::env::temp_dir().join(format!("doorstep-load-{pid}.perf.data"));
    let child = Command::new("perf")
        .args([
            "record",
            "-F",
            "499",
            "-g",
            "-q",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(&data)
        .args(["--", "sleep", &seconds.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| usage(format!("perf record (is perf installed?): {e}")))?;
    Ok(Profile { child, data })
}

fn finish_profile(mut profile: Profile) -> Result<Vec<(f64, String)>, LoadtestError> {
    let _ = profile.child.wait();
    let output = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "symbol",
            "-g",
            "none",
            "-i",
        ])
        .arg(&profile.data)
        .stderr(Stdio::null())
        .output()
        .map_err(|e| usage(format!("perf report: {e}")))?;
    let _ = std::fs::remove_file(&profile.data);
    Ok(top_symbols(&String::from_utf8_lossy(&output.stdout), 25))
}

// ---------------------------------------------------------------------------------------------
// Output.

fn print_report(
    row: &LoadRow,
    nodes: &[NodeRow],
    top: &[(f64, String)],
    json: bool,
) -> Result<(), LoadtestError> {
    if json {
        println!("{}", serde_json::to_string(row)?);
        for node in nodes {
            println!("{}", serde_json::to_string(node)?);
        }
        for (percent, symbol) in top {
            println!(
                "{}",
                serde_json::json!({"bench": "load_profile", "self_percent": percent, "symbol": symbol})
            );
        }
        return Ok(());
    }
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    println!(
        "nodes {}  drivers {}  window {:.1} s  target {:.1} rides/s",
        row.nodes, row.drivers, row.seconds, row.target_rides_per_s
    );
    println!(
        "ride requests       {:>10} ({:.1}/s), offered {}, not offered {}, offered before 201 {}",
        row.rides_requested,
        row.rides_per_s,
        row.rides_offered,
        row.rides_not_offered,
        row.offer_before_201
    );
    for (label, latency) in [
        ("201 → first offer", &row.offer_latency),
        ("quote + request", &row.request_latency),
    ] {
        println!(
            "{label:<19} p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  mean {:.1} ms",
            latency.p50_us / 1000.0,
            latency.p99_us / 1000.0,
            latency.max_us / 1000.0,
            latency.mean_us / 1000.0
        );
    }
    println!(
        "location points     {:>10} sent, {} refused, {:.0}/s accepted (server counted {}/s)",
        row.location_points_sent,
        row.location_points_refused,
        row.location_points_per_s,
        opt(row.server_location_updates_per_s, 0)
    );
    println!(
        "sockets held        {:>10} drivers + {} idle",
        row.driver_sockets_held, row.idle_sockets_held
    );
    println!(
        "node CPU            {:>10.2} s, {} s per 1,000 HTTP requests ({} requests), {} s per 1,000 rides; load generator {:.2} s",
        row.node_cpu_s,
        opt(row.cpu_s_per_1000_http, 3),
        opt(row.http_requests, 0),
        opt(row.cpu_s_per_1000_rides, 3),
        row.loadgen_cpu_s
    );
    println!(
        "beside the nodes    PostgreSQL {:.2} CPU s, NATS {:.2} CPU s",
        row.database_cpu_s, row.nats_cpu_s
    );
    println!(
        "server's view       dispatch solving {} s in {} batches (mean {} jobs), dispatcher busy {} s of {:.1} s ({} s on commands); HTTP handlers {} s",
        opt(row.dispatch_solve_s, 3),
        opt(row.dispatch_solves, 0),
        opt(row.dispatch_batch_mean, 2),
        opt(row.dispatch_busy_s, 2),
        row.seconds,
        opt(row.dispatch_busy_commands_s, 2),
        opt(row.http_handler_s, 2)
    );
    if row.errors.is_empty() {
        println!("errors              none");
    } else {
        let list: Vec<String> = row
            .errors
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        println!("errors              {}", list.join(", "));
    }
    println!(
        "{:<5} {:>8} {:>8} {:>10} {:>10} {:>10} {:>12} {:>12} {:>10} {:>12} {:>10} {:>10}",
        "node",
        "pid",
        "CPU s",
        "peak MiB",
        "RSS start",
        "B/driver",
        "RSS drivers",
        "RSS w/ idle",
        "idle",
        "B/idle sock",
        "HTTP req",
        "solve s"
    );
    for n in nodes {
        println!(
            "{:<5} {:>8} {:>8.2} {:>10.1} {:>10.1} {:>10} {:>12.1} {:>12.1} {:>10} {:>12} {:>10} {:>10}",
            n.node,
            n.pid,
            n.cpu_s,
            n.peak_rss_mib,
            n.rss_start_mib,
            opt(n.bytes_per_driver, 0),
            n.rss_before_idle_mib,
            n.rss_with_idle_mib,
            n.idle_sockets,
            opt(n.bytes_per_idle_socket, 0),
            opt(n.http_requests, 0),
            opt(n.dispatch_solve_s, 3)
        );
    }
    if !top.is_empty() {
        println!("top symbols of {} by self time:", nodes[0].node);
        for (percent, symbol) in top {
            println!("  {percent:>6.2}%  {symbol}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_utime_plus_stime_even_with_spaces_and_parentheses_in_the_name() {
        // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 9 0 100 1000 200";
        assert_eq!(cpu_ticks_from_stat(stat), Some(1234 + 567));
    }

    #[test]
    fn cpu_ticks_of_a_truncated_stat_are_none() {
        assert_eq!(cpu_ticks_from_stat("4242 (x) S 1 2 3"), None);
        assert_eq!(cpu_ticks_from_stat("no parenthesis"), None);
    }

    #[test]
    fn this_process_has_a_stat_and_a_peak_memory() {
        let stat = std::fs::read_to_string("/proc/self/stat");
        if let Ok(stat) = stat {
            assert!(cpu_ticks_from_stat(&stat).is_some(), "{stat}");
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            assert!(status_kib_line(&status, "VmHWM:").is_some_and(|b| b > 0));
        }
    }

    #[test]
    fn status_lines_are_read_in_bytes() {
        let status = "Name:\tdoorstep\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(status_kib_line(status, "VmHWM:"), Some(204_800 * 1024));
        assert_eq!(status_kib_line(status, "VmRSS:"), Some(102_400 * 1024));
        assert_eq!(status_kib_line(status, "VmSwap:"), None);
    }

    #[test]
    fn offers_are_matched_to_requests_by_ride_id() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let requested: HashMap<String, Instant> = [
            ("a".to_owned(), at(100)),
            ("b".to_owned(), at(200)),
            ("c".to_owned(), at(300)),
            ("d".to_owned(), at(400)),
        ]
        .into();
        let offered: HashMap<String, Instant> = [
            ("a".to_owned(), at(350)),
            // Offered before the 201 was read: 0, and counted.
            ("b".to_owned(), at(150)),
            ("c".to_owned(), at(1300)),
            // An offer of a ride this run did not request is ignored.
            ("z".to_owned(), at(10)),
        ]
        .into();
        let (mut latencies, missing, early) = match_offers(&requested, &offered);
        latencies.sort_unstable();
        assert_eq!(latencies, vec![0, 250_000_000, 1_000_000_000]);
        assert_eq!((missing, early), (1, 1));
        let summary = LatencySummary::from_nanos(&mut latencies);
        assert_eq!(summary.count, 3);
        assert_eq!(summary.p50_us, 250_000.0);
        assert_eq!(summary.max_us, 1_000_000.0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        let summary = LatencySummary::from_nanos(&mut samples);
        assert_eq!(summary.p50_us, 50_000.0);
        assert_eq!(summary.p99_us, 99_000.0);
        assert_eq!(summary.max_us, 100_000.0);
    }

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "y"),
            "postgres://u:p@h/y?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "z"),
            "postgres://h:5432/z"
        );
        let name = fresh_database_name();
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
    }

    #[test]
    fn top_symbols_are_read_from_a_perf_report() {
        let report = "\
# Samples: 1K of event 'cpu-clock:pppH'
#
# Overhead  Symbol
# ........  ......
#
    12.50%  [k] finish_task_switch.isra.0
     8.25%  [.] tokio::runtime::scheduler::multi_thread::worker::Context::run
     0.50%  [.] memcpy                                          -      -


#
# (Cannot load tips.txt file, please install perf!)
#
";
        let top = top_symbols(report, 2);
        assert_eq!(
            top,
            vec![
                (12.5, "[k] finish_task_switch.isra.0".to_owned()),
                (
                    8.25,
                    "[.] tokio::runtime::scheduler::multi_thread::worker::Context::run".to_owned()
                ),
            ]
        );
        let all = top_symbols(report, 10);
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].1, "[.] memcpy");
    }

    #[test]
    fn cluster_mode_is_seen_in_serve_help() {
        assert!(has_cluster_mode(
            "Options:\n      --nats <NATS>  NATS server [env: DOORSTEP_NATS_URL=]\n"
        ));
        assert!(!has_cluster_mode(
            "Options:\n      --addr <ADDR>  Address to listen on\n"
        ));
    }
}
