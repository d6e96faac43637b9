//! `doorstep bench ingest`: a running server under simulated drivers, and Redis under the same
//! workload in the same run.
//!
//! What each number measures:
//! - server ingest: location points sent as WebSocket batches (`--format json`: text
//!   `{"type":"locations",...}`; `binary`: the compact 16-bytes-a-point frames) by `--drivers`
//!   connections (one per driver account) and not refused, divided by the time until the server had
//!   answered a ping sent after each connection's last batch. It includes parsing, validation of each
//!   point, the hot fleet state (grid index upsert) and the bus, through one process's sockets.
//! - server queries: `GET /v1/drivers/nearby?limit=10` by one rider, one request at a time, during
//!   the load: HTTP, authentication, rate limiting, the 10-nearest query within 3 km and JSON.
//! - server ingest over MQTT (`--mqtt URL`): one device per driver, created and bound to it through
//!   the admin API (`--metrics-token`, an admin's), each publishing its batches (JSON or binary per
//!   `--format`) to its topic on the broker with QoS 1; the server's `mqtt_positions_accepted_total`
//!   over the run divided by the time until it stopped growing. It includes the broker, the server's
//!   one subscription, the device check (cached) and the same path as a phone's batch — where points
//!   not believed (too fast) are not accepted, so start the server with a high `--max-speed-kmh`.
//!   A device never stamps a point later than its clock's now (at most 1,000 points a second each).
//!   The phase also prints the messages the server handled and those it dropped, by reason
//!   (`mqtt_messages_dropped_total`). `--skip-websocket` runs it on a server that did nothing else.
//! - Redis ingest: the same drivers, each sending `GEOADD` commands pipelined `--batch` at a time
//!   over `--redis-connections` multiplexed connections.
//! - Redis queries: `GEOSEARCH FROMLONLAT .. BYRADIUS 1 km ASC COUNT 10`, one at a time, during its
//!   load, and again at rest with the key grown to `--redis-query-drivers` members.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use doorstep_geo::{City, LatLng};
use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::LoadtestError;
use crate::prometheus::{label_value, metric_samples, metric_value};
use crate::stats::LatencySummary;

/// Arguments of `doorstep bench ingest`.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Base URL of a running `doorstep serve` (start it with high rate limits and a per-IP socket cap
    /// above `--drivers`, since every simulated driver connects from this machine:
    /// `DOORSTEP_RATE_PER_TOKEN=100000 DOORSTEP_RATE_PER_IP=100000 DOORSTEP_WS_PER_IP=100000`).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Simulated drivers, one account and one WebSocket each.
    #[arg(long, default_value_t = 1000)]
    pub drivers: usize,
    /// Seconds of load, for the server and again for Redis.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Points per batch (1 to 100, the server's limit).
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// How drivers send their batches to the server: JSON text or the compact binary frames.
    #[arg(long, value_enum, default_value_t = BatchFormat::Json)]
    pub format: BatchFormat,
    /// How the rider asks the server for the nearest drivers: `GET /v1/drivers/nearby`, or
    /// `{"type":"nearby",...}` messages on its event stream (one connection, like Redis's).
    #[arg(long, value_enum, default_value_t = QueryVia::Http)]
    pub query_via: QueryVia,
    /// Pause of each driver between two batches, ms (0: send as fast as the socket takes them).
    #[arg(long, default_value_t = 0)]
    pub interval_ms: u64,
    /// Also run the workload against Redis at this URL, e.g. `redis://127.0.0.1:6379`.
    #[arg(long)]
    pub redis: Option<String>,
    /// Multiplexed Redis connections the simulated drivers share.
    #[arg(long, default_value_t = 16)]
    pub redis_connections: usize,
    /// Members of the Redis key for the at-rest GEOSEARCH measurement.
    #[arg(long, default_value_t = 100_000)]
    pub redis_query_drivers: usize,
    /// Redis key used (deleted before and after).
    #[arg(long, default_value = "doorstep:loadtest:drivers")]
    pub redis_key: String,
    /// Sign-ups (and logins) in flight at once; each costs an argon2 hash on the server.
    #[arg(long, default_value_t = 4)]
    pub signup_concurrency: usize,
    /// Where accounts and tokens are kept between runs, so that later runs skip the sign-ups.
    #[arg(long, default_value = "/tmp/doorstep-loadtest-accounts.json")]
    pub accounts_file: PathBuf,
    /// Seed of the simulated movements and query points.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// An admin's bearer token, to read the server's own count of location updates from `/metrics`
    /// (which only admins may read); without it that column stays empty. `--mqtt` needs it.
    #[arg(long, env = "DOORSTEP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Also run the workload over MQTT through this broker (`mqtt://host:port`), which the server
    /// must read (`doorstep serve --mqtt` with the same broker): one device per driver, created and
    /// bound with `--metrics-token`, publishing its batches to its topic.
    #[arg(long)]
    pub mqtt: Option<String>,
    /// Skip the WebSocket phase: with `--mqtt`, measure the MQTT ingest on a server that has done
    /// nothing else since it started (what the WebSocket phase leaves behind does not weigh on it).
    #[arg(long)]
    pub skip_websocket: bool,
}

/// How the simulated drivers encode a batch of points on the WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchFormat {
    /// `{"type":"locations","points":[{"lat":..,"lng":..,"at":"RFC 3339"}]}` text frames.
    Json,
    /// Binary frames: a version byte `1`, then per point `lat·10⁷: i32`, `lng·10⁷: i32`,
    /// `at: i64` Unix ms, little-endian.
    Binary,
}

/// How the load test's rider asks the server for the nearest drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryVia {
    /// `GET /v1/drivers/nearby?lat=..&lng=..&limit=10`, one request at a time on a kept-alive
    /// connection.
    Http,
    /// `{"type":"nearby","lat":..,"lng":..,"limit":10,"id":n}` on the rider's WebSocket, one at a
    /// time.
    Websocket,
}

/// The password of every load-test account.
pub(crate) const PASSWORD: &str = "loadtest-password-1";
/// How far a driver moves between two points at most, degrees per axis (about 11 m).
const STEP_DEG: f64 = 0.0001;

/// Accounts made by earlier runs, per server URL.
#[derive(Debug, Default, Serialize, Deserialize)]
struct AccountCache {
    servers: HashMap<String, ServerAccounts>,
}

/// The accounts on one server: the token of driver `i` is `drivers[i]`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ServerAccounts {
    rider: Option<String>,
    drivers: Vec<String>,
}

fn driver_email(i: usize) -> String {
    format!("loadtest-driver-{i}@loadtest.invalid")
}

const RIDER_EMAIL: &str = "loadtest-rider@loadtest.invalid";

fn load_cache(path: &PathBuf) -> Result<AccountCache, LoadtestError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(serde_json::from_str(&text).unwrap_or_default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AccountCache::default()),
        Err(source) => Err(LoadtestError::AccountCache {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn save_cache(path: &PathBuf, cache: &AccountCache) -> Result<(), LoadtestError> {
    let text = serde_json::to_string(cache)?;
    std::fs::write(path, text).map_err(|source| LoadtestError::AccountCache {
        path: path.display().to_string(),
        source,
    })
}

pub(crate) async fn server_error(what: &str, response: reqwest::Response) -> LoadtestError {
    let status = response.status().as_u16();
    let mut body = response.text().await.unwrap_or_default();
    body.truncate(300);
    LoadtestError::Server {
        what: what.into(),
        status,
        body,
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: String,
}

/// Logs in, or signs up if there is no such account yet; returns a token.
async fn account_token(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    role: &str,
) -> Result<String, LoadtestError> {
    let login = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    if login.status().is_success() {
        return Ok(login.json::<TokenAnswer>().await?.token);
    }
    sign_up(http, base, email, role).await
}

/// Signs up a new account with the load-test password; returns its token.
pub(crate) async fn sign_up(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    role: &str,
) -> Result<String, LoadtestError> {
    let signup = http
        .post(format!("{base}/v1/auth/signup"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD, "name": "Load Test", "role": role}))
        .send()
        .await?;
    if signup.status().is_success() {
        return Ok(signup.json::<TokenAnswer>().await?.token);
    }
    Err(server_error(&format!("sign-up of {email}"), signup).await)
}

/// Whether `token` still authenticates: going online for drivers, a nearby query for the rider.
async fn token_works(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    driver: bool,
) -> Result<bool, LoadtestError> {
    let request = if driver {
        http.post(format!("{base}/v1/drivers/me/online"))
    } else {
        http.get(format!(
            "{base}/v1/drivers/nearby?lat=40.75&lng=-73.98&limit=1"
        ))
    };
    let answer = request.bearer_auth(token).send().await?;
    match answer.status().as_u16() {
        200..=299 => Ok(true),
        401 => Ok(false),
        _ => Err(server_error("checking a token", answer).await),
    }
}

/// Tokens of `n` online drivers and a rider: from the cache where they still work, else by
/// login or sign-up with at most `concurrency` in flight. Saves the cache as it goes.
async fn ensure_accounts(
    http: &reqwest::Client,
    args: &IngestArgs,
    say: &impl Fn(&str),
) -> Result<(Vec<String>, String), LoadtestError> {
    let base = args.url.trim_end_matches('/').to_string();
    let mut cache = load_cache(&args.accounts_file)?;
    let mut accounts = cache.servers.get(&base).cloned().unwrap_or_default();
    let rider = match &accounts.rider {
        Some(t) if token_works(http, &base, t, false).await? => t.clone(),
        _ => account_token(http, &base, RIDER_EMAIL, "rider").await?,
    };
    accounts.rider = Some(rider.clone());

    let have = accounts.drivers.len().min(args.drivers);
    say(&format!(
        "accounts: {have} cached driver tokens, {} to create (argon2 on the server: slow); checking and going online",
        args.drivers - have
    ));
    let limit = Arc::new(Semaphore::new(args.signup_concurrency.max(1)));
    let online_limit = Arc::new(Semaphore::new(32));
    let mut tasks = JoinSet::new();
    for i in 0..args.drivers {
        let cached = accounts.drivers.get(i).cloned();
        let (http, base, limit, online_limit) = (
            http.clone(),
            base.clone(),
            limit.clone(),
            online_limit.clone(),
        );
        tasks.spawn(async move {
            if let Some(token) = cached {
                let _permit = online_limit.acquire().await;
                if token_works(&http, &base, &token, true).await? {
                    return Ok::<_, LoadtestError>((i, token));
                }
            }
            let token = {
                let _permit = limit.acquire().await;
                account_token(&http, &base, &driver_email(i), "driver").await?
            };
            if !token_works(&http, &base, &token, true).await? {
                return Err(LoadtestError::Usage(format!(
                    "a fresh token of {} does not authenticate",
                    driver_email(i)
                )));
            }
            Ok((i, token))
        });
    }
    let mut tokens = vec![String::new(); args.drivers];
    let mut done = 0usize;
    let started = Instant::now();
    while let Some(joined) = tasks.join_next().await {
        let (i, token) = match joined {
            Ok(result) => result?,
            Err(e) => return Err(LoadtestError::Usage(format!("account task failed: {e}"))),
        };
        if accounts.drivers.len() <= i {
            accounts.drivers.resize(i + 1, String::new());
        }
        accounts.drivers[i] = token.clone();
        tokens[i] = token;
        done += 1;
        if done.is_multiple_of(500) {
            say(&format!(
                "accounts: {done}/{} ready after {:.0} s",
                args.drivers,
                started.elapsed().as_secs_f64()
            ));
            cache.servers.insert(base.clone(), accounts.clone());
            save_cache(&args.accounts_file, &cache)?;
        }
    }
    cache.servers.insert(base, accounts);
    save_cache(&args.accounts_file, &cache)?;
    Ok((tokens, rider))
}

/// A driver's simulated position: a random walk inside the box.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walker {
    pub(crate) lat: f64,
    pub(crate) lng: f64,
}

impl Walker {
    pub(crate) fn step(&mut self, rng: &mut impl Rng, sw: LatLng, ne: LatLng) -> (f64, f64) {
        self.lat = (self.lat + rng.random_range(-STEP_DEG..=STEP_DEG)).clamp(sw.lat(), ne.lat());
        self.lng = (self.lng + rng.random_range(-STEP_DEG..=STEP_DEG)).clamp(sw.lng(), ne.lng());
        (self.lat, self.lng)
    }
}

/// The box drivers move in and queries are asked in: Manhattan's bounding box (about 190 km²,
/// water and New Jersey included), the box `bench geo` uses.
pub(crate) fn load_box() -> (LatLng, LatLng) {
    City::manhattan().bounding_box()
}

/// RFC 3339 in UTC with milliseconds, from Unix milliseconds.
fn rfc3339_ms(unix_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let (h, mi, s, ms) = (t.hour(), t.minute(), t.second(), t.millisecond());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// Writes `{"type":"locations","points":[...]}` batches without an allocation per point: the
/// load generator must not cost more than the server it drives (it shares the machine's cores).
/// The date and time up to the second are formatted once per second, coordinates as integers.
#[derive(Debug)]
pub(crate) struct JsonBatchWriter {
    body: String,
    /// The second (Unix) that `prefix` spells.
    second: i64,
    /// `YYYY-MM-DDTHH:MM:SS.` of `second`.
    prefix: String,
}

impl JsonBatchWriter {
    pub(crate) fn new() -> JsonBatchWriter {
        JsonBatchWriter {
            body: String::with_capacity(64 + 100 * 80),
            second: i64::MIN,
            prefix: String::new(),
        }
    }

    /// The batch of `(lat, lng, unix ms)` points.
    pub(crate) fn write(&mut self, points: &mut impl Iterator<Item = (f64, f64, i64)>) -> &str {
        use std::fmt::Write as _;
        self.body.clear();
        self.body.push_str("{\"type\":\"locations\",\"points\":[");
        for (j, (lat, lng, at)) in points.enumerate() {
            if j > 0 {
                self.body.push(',');
            }
            let second = at.div_euclid(1000);
            if second != self.second {
                self.second = second;
                self.prefix = rfc3339_ms(second * 1000);
                self.prefix.truncate("YYYY-MM-DDTHH:MM:SS.".len());
            }
            self.body.push_str("{\"lat\":");
            push_fixed6(&mut self.body, lat);
            self.body.push_str(",\"lng\":");
            push_fixed6(&mut self.body, lng);
            self.body.push_str(",\"at\":\"");
            self.body.push_str(&self.prefix);
            let _ = write!(self.body, "{:03}Z\"}}", at.rem_euclid(1000));
        }
        self.body.push_str("]}");
        &self.body
    }
}

/// Appends `x` with six decimals, formatted as integers (what `{x:.6}` gives for coordinates).
fn push_fixed6(body: &mut String, x: f64) {
    use std::fmt::Write as _;
    let micro = (x * 1e6).round() as i64;
    let sign = if micro < 0 { "-" } else { "" };
    let abs = micro.unsigned_abs();
    let _ = write!(body, "{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000);
}

/// The binary frame of `(lat, lng, unix ms)` points: version byte `1`, then 16 bytes a point.
pub fn binary_batch(points: &mut impl Iterator<Item = (f64, f64, i64)>) -> Vec<u8> {
    let mut frame = Vec::with_capacity(1 + 16 * 100);
    frame.push(1u8);
    for (lat, lng, at) in points {
        // Coordinates are inside Manhattan's box, so the rounded values fit an i32.
        frame.extend_from_slice(&((lat * 1e7).round() as i32).to_le_bytes());
        frame.extend_from_slice(&((lng * 1e7).round() as i32).to_le_bytes());
        frame.extend_from_slice(&at.to_le_bytes());
    }
    frame
}

pub(crate) fn unix_ms_now() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Counts of one side's load.
#[derive(Debug, Default)]
struct LoadCounters {
    sent_points: AtomicU64,
    sent_batches: AtomicU64,
    refused_batches: AtomicU64,
    shed_batches: AtomicU64,
    /// Sockets the server closed because its per-IP (or per-user) socket cap was reached.
    closed_by_cap: AtomicU64,
}

/// What a run measured, for one system.
#[derive(Debug, Clone, Serialize)]
pub struct IngestRow {
    /// Always `"ingest"`.
    pub bench: &'static str,
    /// `"server"` and `"redis"` (under load), `"server_at_rest"` and `"redis_at_rest"` (queries only),
    /// `"server_mqtt"` (the same drivers' devices over MQTT; no queries).
    pub system: &'static str,
    /// Drivers in the workload (members of the key, at rest).
    pub drivers: usize,
    /// Points per batch.
    pub batch: usize,
    /// How the server's batches were encoded (`None` for Redis).
    pub format: Option<BatchFormat>,
    /// Seconds from the first batch until the last was answered.
    pub seconds: f64,
    /// Points sent.
    pub sent_points: u64,
    /// Points in batches the system refused (server: answered with an error; Redis: the pipeline
    /// failed).
    pub refused_points: u64,
    /// Points in batches the server shed because it was behind (answered `overloaded`; part of
    /// `refused_points`).
    pub shed_points: u64,
    /// Accepted points per second.
    pub accepted_per_s: f64,
    /// For the server: the growth of its `location_updates_total` over the run.
    pub server_counted: Option<f64>,
    /// Nearest queries answered per second (one client, one at a time).
    pub queries_per_s: f64,
    /// Latency of one nearest query, as the client saw it.
    pub query: LatencySummary,
    /// Mean neighbours per query.
    pub mean_found: f64,
    /// Queries that failed (non-2xx or a Redis error).
    pub query_errors: u64,
}

/// Runs `doorstep bench ingest`: the server, then (with `--redis`) Redis, then the ratios.
pub async fn run_ingest(args: &IngestArgs) -> Result<(), LoadtestError> {
    if args.drivers == 0 || args.batch == 0 || args.batch > 100 || args.seconds == 0 {
        return Err(LoadtestError::Usage(
            "--drivers and --seconds must be at least 1 and --batch from 1 to 100".into(),
        ));
    }
    let json = args.json;
    let say = move |line: &str| {
        if !json {
            eprintln!("{line}");
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()?;
    let base = args.url.trim_end_matches('/').to_string();
    let (tokens, rider) = ensure_accounts(&http, args, &say).await?;
    say(&format!(
        "server: {} drivers online; opening WebSockets; batches as {:?}, nearest queries via {:?}",
        tokens.len(),
        args.format,
        args.query_via
    ));
    let mqtt_tokens = args.mqtt.as_ref().map(|_| tokens.clone());
    let server = if args.skip_websocket {
        say("server: WebSocket phase skipped (--skip-websocket)");
        Vec::new()
    } else {
        run_server_load(&http, &base, args, tokens, &rider).await?
    };
    for row in &server {
        print_row(row, json)?;
    }
    if let (Some(broker), Some(tokens)) = (&args.mqtt, mqtt_tokens) {
        let Some(admin) = args.metrics_token.as_deref() else {
            return Err(LoadtestError::Usage(
                "--mqtt needs --metrics-token (an admin's token: it creates and binds the devices \
                 and reads the server's count from /metrics)"
                    .into(),
            ));
        };
        say(&format!(
            "mqtt: one device per driver ({}), created and bound through the admin API; batches as {:?}",
            tokens.len(),
            args.format
        ));
        let row = run_mqtt_load(&http, &base, broker, admin, args, &tokens).await?;
        print_row(&row, json)?;
    }
    if let Some(url) = &args.redis {
        say("redis: same workload");
        let redis_rows = run_redis(url, args).await?;
        for row in &redis_rows {
            print_row(row, json)?;
        }
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        let pick = |rows: &[IngestRow], system: &'static str, drivers: usize| {
            rows.iter()
                .find(|r| r.system == system && r.drivers == drivers)
                .cloned()
                .unwrap_or_else(|| empty_row(system))
        };
        let (s_load, s_rest) = (
            pick(&server, "server", args.drivers),
            pick(&server, "server_at_rest", args.drivers),
        );
        let (r_load, r_rest) = (
            pick(&redis_rows, "redis", args.drivers),
            pick(&redis_rows, "redis_at_rest", args.drivers),
        );
        let r_big = pick(&redis_rows, "redis_at_rest", args.redis_query_drivers);
        let ratios = serde_json::json!({
            "bench": "ingest_ratio",
            "drivers": args.drivers,
            "batch": args.batch,
            "ingest_server_over_redis": ratio(s_load.accepted_per_s, r_load.accepted_per_s),
            "queries_per_s_server_over_redis_under_load": ratio(s_load.queries_per_s, r_load.queries_per_s),
            "queries_per_s_server_over_redis_at_rest": ratio(s_rest.queries_per_s, r_rest.queries_per_s),
            "query_p50_redis_over_server_at_rest": ratio(r_rest.query.p50_us, s_rest.query.p50_us),
            "queries_per_s_server_over_redis_at_rest_big": ratio(s_rest.queries_per_s, r_big.queries_per_s),
            "redis_big_drivers": args.redis_query_drivers,
        });
        if json {
            println!("{ratios}");
        } else {
            println!(
                "ratios, server ÷ redis: ingest {:.2}× (target ≥ 3); nearest queries/s {:.2}× under load, \
                 {:.2}× at rest with {} drivers each, {:.2}× against redis at rest with {} members \
                 (target ≥ 10 at 100k); p50 latency at rest redis ÷ server {:.2}",
                ratio(s_load.accepted_per_s, r_load.accepted_per_s),
                ratio(s_load.queries_per_s, r_load.queries_per_s),
                ratio(s_rest.queries_per_s, r_rest.queries_per_s),
                args.drivers,
                ratio(s_rest.queries_per_s, r_big.queries_per_s),
                args.redis_query_drivers,
                ratio(r_rest.query.p50_us, s_rest.query.p50_us),
            );
        }
    }
    Ok(())
}

fn empty_row(system: &'static str) -> IngestRow {
    IngestRow {
        bench: "ingest",
        system,
        drivers: 0,
        batch: 0,
        format: None,
        seconds: 0.0,
        sent_points: 0,
        refused_points: 0,
        shed_points: 0,
        accepted_per_s: 0.0,
        server_counted: None,
        queries_per_s: 0.0,
        query: LatencySummary::default(),
        mean_found: 0.0,
        query_errors: 0,
    }
}

async fn scrape_updates(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
) -> Result<Option<f64>, LoadtestError> {
    scrape_metric(http, base, token, "location_updates_total").await
}

/// The server's value of `metric` on `/metrics` (0 if it has no sample yet), read with the admin
/// `token`; `None` without a token.
pub(crate) async fn scrape_metric(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    metric: &str,
) -> Result<Option<f64>, LoadtestError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let text = metrics_text(http, base, token).await?;
    Ok(Some(metric_value(&text, metric).unwrap_or(0.0)))
}

/// The server's `GET /metrics` (Prometheus text), read as the admin holding `token`.
async fn metrics_text(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> Result<String, LoadtestError> {
    let answer = http
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await?;
    if !answer.status().is_success() {
        return Err(server_error("GET /metrics", answer).await);
    }
    Ok(answer.text().await?)
}

/// The upgrade request of the event stream as the holder of `token`: the token goes in the
/// `Authorization` header (the server refuses one in the URL).
pub(crate) fn ws_request(
    base: &str,
    token: &str,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, LoadtestError> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::{HeaderValue, header::AUTHORIZATION};
    let rest = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .unwrap_or_else(|| base.to_string());
    let mut request = format!("{rest}/v1/events")
        .into_client_request()
        .map_err(Box::new)?;
    let value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| LoadtestError::Usage("a token that is not a header value".to_owned()))?;
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(request)
}

async fn run_server_load(
    http: &reqwest::Client,
    base: &str,
    args: &IngestArgs,
    tokens: Vec<String>,
    rider: &str,
) -> Result<Vec<IngestRow>, LoadtestError> {
    let (sw, ne) = load_box();
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    // Open every socket first, at most 64 handshakes at once.
    let connect_limit = Arc::new(Semaphore::new(64));
    let mut connecting = JoinSet::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let request = ws_request(base, &token)?;
        let limit = connect_limit.clone();
        connecting.spawn(async move {
            let _permit = limit.acquire().await;
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(request, Some(config), true)
                    .await
                    .map_err(Box::new)?;
            // The hello message.
            let _ = socket.next().await;
            Ok::<_, LoadtestError>((i, socket))
        });
    }
    let mut sockets = Vec::with_capacity(args.drivers);
    while let Some(joined) = connecting.join_next().await {
        match joined {
            Ok(result) => sockets.push(result?),
            Err(e) => return Err(LoadtestError::Usage(format!("connect task failed: {e}"))),
        }
    }

    let before = scrape_updates(http, base, args.metrics_token.as_deref()).await?;
    let counters = Arc::new(LoadCounters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut drivers = JoinSet::new();
    for (i, socket) in sockets {
        let counters = counters.clone();
        let stop = stop.clone();
        let (batch, interval, format) = (args.batch, args.interval_ms, args.format);
        let seed = args.seed;
        drivers.spawn(async move {
            let mut rng = Pcg64::seed_from_u64(seed.wrapping_mul(1_000_003) ^ i as u64);
            let mut walker = Walker {
                lat: rng.random_range(sw.lat()..=ne.lat()),
                lng: rng.random_range(sw.lng()..=ne.lng()),
            };
            let (mut sink, mut stream) = socket.split();
            let refused = AtomicU64::new(0);
            let shed = AtomicU64::new(0);
            let reader = async {
                // Until the pong that answers the final ping: every batch before it is processed.
                while let Some(message) = stream.next().await {
                    let Ok(Message::Text(text)) = message else {
                        if let Ok(Message::Close(Some(frame))) = &message
                            && frame.reason.as_str() == "too_many_connections"
                        {
                            counters.closed_by_cap.fetch_add(1, Ordering::Relaxed);
                        }
                        if matches!(message, Ok(Message::Close(_)) | Err(_)) {
                            break;
                        }
                        continue;
                    };
                    if text.as_str().contains("\"type\":\"error\"") {
                        refused.fetch_add(1, Ordering::Relaxed);
                        if text.as_str().contains("\"code\":\"overloaded\"") {
                            shed.fetch_add(1, Ordering::Relaxed);
                        }
                    } else if text.as_str().contains("\"type\":\"pong\"") {
                        break;
                    }
                }
            };
            let writer = async {
                let mut last_ms = 0i64;
                let mut json = JsonBatchWriter::new();
                while !stop.load(Ordering::Relaxed) {
                    // Non-decreasing timestamps per driver, one millisecond apart where the clock
                    // allows, never ahead of it: the server applies a point unless it is older
                    // than the driver's last one, and refuses points more than a minute ahead.
                    let now = unix_ms_now().max(last_ms);
                    let floor = last_ms;
                    let mut points = (0..batch).map(|j| {
                        let (lat, lng) = walker.step(&mut rng, sw, ne);
                        (lat, lng, (now - (batch - 1 - j) as i64).max(floor))
                    });
                    let message = match format {
                        BatchFormat::Json => Message::text(json.write(&mut points).to_owned()),
                        BatchFormat::Binary => Message::binary(binary_batch(&mut points)),
                    };
                    last_ms = now;
                    if sink.send(message).await.is_err() {
                        return;
                    }
                    counters
                        .sent_points
                        .fetch_add(batch as u64, Ordering::Relaxed);
                    counters.sent_batches.fetch_add(1, Ordering::Relaxed);
                    if interval > 0 {
                        tokio::time::sleep(Duration::from_millis(interval)).await;
                    }
                }
                let _ = sink.send(Message::text("{\"type\":\"ping\"}")).await;
            };
            tokio::join!(reader, writer);
            counters
                .refused_batches
                .fetch_add(refused.load(Ordering::Relaxed), Ordering::Relaxed);
            counters
                .shed_batches
                .fetch_add(shed.load(Ordering::Relaxed), Ordering::Relaxed);
            let _ = sink_close(sink).await;
        });
    }

    let queries = on_own_thread(query_server_loop(
        base.to_string(),
        rider.to_string(),
        args.seed,
        args.query_via,
        QueryUntil::Stop(stop.clone()),
    ));
    let (seconds, (mut nanos, found, errors)) =
        run_for(args.seconds, &stop, &mut drivers, started, queries).await?;
    let after = scrape_updates(http, base, args.metrics_token.as_deref()).await?;
    let closed_by_cap = counters.closed_by_cap.load(Ordering::Relaxed);
    if closed_by_cap > 0 {
        return Err(LoadtestError::Usage(format!(
            "the server closed {closed_by_cap} sockets (1008 too_many_connections): every simulated \
             driver connects from this machine, so start it with a per-IP socket cap above --drivers \
             (DOORSTEP_WS_PER_IP=100000)"
        )));
    }
    let sent = counters.sent_points.load(Ordering::Relaxed);
    let refused = counters.refused_batches.load(Ordering::Relaxed) * args.batch as u64;
    let shed = counters.shed_batches.load(Ordering::Relaxed) * args.batch as u64;
    let summary = LatencySummary::from_nanos(&mut nanos);
    let loaded = IngestRow {
        bench: "ingest",
        system: "server",
        drivers: args.drivers,
        batch: args.batch,
        format: Some(args.format),
        seconds,
        sent_points: sent,
        refused_points: refused,
        shed_points: shed,
        accepted_per_s: sent.saturating_sub(refused) as f64 / seconds,
        server_counted: before.zip(after).map(|(b, a)| a - b),
        queries_per_s: summary.count as f64 / args.seconds as f64,
        query: summary,
        mean_found: mean_found(found, summary.count),
        query_errors: errors,
    };
    // The drivers stay fresh for the server's stale window (60 s by default): query them at rest.
    let rest = Duration::from_secs(args.seconds.min(5));
    let at_rest_row = at_rest(
        "server_at_rest",
        args.drivers,
        rest,
        query_server_loop(
            base.to_string(),
            rider.to_string(),
            args.seed,
            args.query_via,
            deadline(rest),
        ),
    )
    .await?;
    Ok(vec![loaded, at_rest_row])
}

async fn sink_close<S>(mut sink: S) -> Result<(), S::Error>
where
    S: futures_util::Sink<Message> + Unpin,
{
    sink.send(Message::Close(None)).await
}

#[derive(Deserialize)]
struct NearbyAnswer {
    drivers: Vec<serde_json::Value>,
}

/// One rider asking for the 10 nearest drivers at random points, one request at a time, until
/// `stop`. Returns the latencies (ns), the drivers found in total, and the failures.
async fn query_server_loop(
    base: String,
    rider: String,
    seed: u64,
    via: QueryVia,
    until: QueryUntil,
) -> (Vec<u64>, usize, u64) {
    if via == QueryVia::Websocket {
        return query_server_socket_loop(base, rider, seed, until).await;
    }
    let (sw, ne) = load_box();
    let mut rng = Pcg64::seed_from_u64(seed ^ 0x5151);
    let (mut nanos, mut found, mut errors) = (Vec::new(), 0usize, 0u64);
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
    {
        Ok(c) => c,
        Err(_) => return (nanos, found, 1),
    };
    if matches!(until, QueryUntil::Stop(_)) {
        // Let every driver send a first batch.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    while !until.done() {
        let lat = rng.random_range(sw.lat()..=ne.lat());
        let lng = rng.random_range(sw.lng()..=ne.lng());
        let url = format!("{base}/v1/drivers/nearby?lat={lat:.6}&lng={lng:.6}&limit=10");
        let t = Instant::now();
        let answer = http.get(url).bearer_auth(&rider).send().await;
        let ok = match answer {
            Ok(a) if a.status().is_success() => match a.json::<NearbyAnswer>().await {
                Ok(body) => {
                    found += body.drivers.len();
                    true
                }
                Err(_) => false,
            },
            _ => false,
        };
        if ok {
            nanos.push(t.elapsed().as_nanos() as u64);
        } else {
            errors += 1;
        }
    }
    (nanos, found, errors)
}

/// The query loop of [`query_server_loop`] on the rider's event stream:
/// `{"type":"nearby",...}` messages, one at a time, each answered before the next is sent.
async fn query_server_socket_loop(
    base: String,
    rider: String,
    seed: u64,
    until: QueryUntil,
) -> QueryResult {
    let (sw, ne) = load_box();
    let mut rng = Pcg64::seed_from_u64(seed ^ 0x5151);
    let (mut nanos, mut found, mut errors) = (Vec::new(), 0usize, 0u64);
    let Ok(request) = ws_request(&base, &rider) else {
        return (nanos, found, 1);
    };
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
        return (nanos, found, 1);
    };
    // The hello message.
    let _ = socket.next().await;
    if matches!(until, QueryUntil::Stop(_)) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut id = 0u64;
    while !until.done() {
        id += 1;
        let lat = rng.random_range(sw.lat()..=ne.lat());
        let lng = rng.random_range(sw.lng()..=ne.lng());
        let query = format!(
            "{{\"type\":\"nearby\",\"lat\":{lat:.6},\"lng\":{lng:.6},\"limit\":10,\"id\":{id}}}"
        );
        let t = Instant::now();
        if socket.send(Message::text(query)).await.is_err() {
            errors += 1;
            break;
        }
        let answer = loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let Ok(value) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
                        continue;
                    };
                    if value["id"].as_u64() == Some(id) {
                        break Some(value);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break None,
            }
        };
        match answer {
            Some(value) if value["type"] == "nearby" => {
                nanos.push(t.elapsed().as_nanos() as u64);
                found += value["drivers"].as_array().map_or(0, Vec::len);
            }
            Some(_) => errors += 1,
            None => {
                errors += 1;
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    (nanos, found, errors)
}

/// The same workload on Redis: load with concurrent queries, then queries at rest on a key
/// grown to `--redis-query-drivers` members.
async fn run_redis(url: &str, args: &IngestArgs) -> Result<Vec<IngestRow>, LoadtestError> {
    let (sw, ne) = load_box();
    let client = redis::Client::open(url)?;
    // No response timeout: with thousands of drivers queued on a few connections, replies take
    // longer than the client's default 500 ms, and a timed-out pipeline may still have been applied.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut connections = Vec::new();
    for _ in 0..args.redis_connections.max(1) {
        connections.push(
            client
                .get_multiplexed_async_connection_with_config(&config)
                .await?,
        );
    }
    let key = args.redis_key.clone();
    let mut admin = client.get_multiplexed_async_connection().await?;
    redis::cmd("DEL")
        .arg(&key)
        .query_async::<()>(&mut admin)
        .await?;

    let counters = Arc::new(LoadCounters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut drivers = JoinSet::new();
    for i in 0..args.drivers {
        let mut con = connections[i % connections.len()].clone();
        let (counters, stop, key) = (counters.clone(), stop.clone(), key.clone());
        let (batch, interval, seed) = (args.batch, args.interval_ms, args.seed);
        drivers.spawn(async move {
            let mut rng = Pcg64::seed_from_u64(seed.wrapping_mul(1_000_003) ^ i as u64);
            let mut walker = Walker {
                lat: rng.random_range(sw.lat()..=ne.lat()),
                lng: rng.random_range(sw.lng()..=ne.lng()),
            };
            let member = format!("driver:{i}");
            while !stop.load(Ordering::Relaxed) {
                let mut pipe = redis::pipe();
                for _ in 0..batch {
                    let (lat, lng) = walker.step(&mut rng, sw, ne);
                    pipe.cmd("GEOADD")
                        .arg(&key)
                        .arg(lng)
                        .arg(lat)
                        .arg(&member)
                        .ignore();
                }
                counters
                    .sent_points
                    .fetch_add(batch as u64, Ordering::Relaxed);
                if pipe.query_async::<()>(&mut con).await.is_err() {
                    counters.refused_batches.fetch_add(1, Ordering::Relaxed);
                }
                if interval > 0 {
                    tokio::time::sleep(Duration::from_millis(interval)).await;
                }
            }
        });
    }
    let queries = on_own_thread(query_redis_loop(
        url.to_string(),
        key.clone(),
        args.seed,
        QueryUntil::Stop(stop.clone()),
    ));
    let (seconds, (mut nanos, found, errors)) =
        run_for(args.seconds, &stop, &mut drivers, started, queries).await?;
    let sent = counters.sent_points.load(Ordering::Relaxed);
    let refused = counters.refused_batches.load(Ordering::Relaxed) * args.batch as u64;
    let summary = LatencySummary::from_nanos(&mut nanos);
    let loaded = IngestRow {
        bench: "ingest",
        system: "redis",
        drivers: args.drivers,
        batch: args.batch,
        format: None,
        seconds,
        sent_points: sent,
        refused_points: refused,
        shed_points: 0,
        accepted_per_s: sent.saturating_sub(refused) as f64 / seconds,
        server_counted: None,
        queries_per_s: summary.count as f64 / args.seconds as f64,
        query: summary,
        mean_found: mean_found(found, summary.count),
        query_errors: errors,
    };
    let rest = Duration::from_secs(args.seconds.min(5));
    let mut rows = vec![loaded];
    rows.push(
        at_rest(
            "redis_at_rest",
            args.drivers,
            rest,
            query_redis_loop(url.to_string(), key.clone(), args.seed, deadline(rest)),
        )
        .await?,
    );

    // Grow the key to the query fleet size (pipelined, 1,000 members per GEOADD), then again.
    let target = args.redis_query_drivers;
    if target > args.drivers {
        let mut rng = Pcg64::seed_from_u64(args.seed ^ 0xa11);
        let mut i = args.drivers;
        while i < target {
            let mut pipe = redis::pipe();
            for _ in 0..10 {
                if i >= target {
                    break;
                }
                let cmd = pipe.cmd("GEOADD").arg(&key);
                for _ in 0..1000 {
                    if i >= target {
                        break;
                    }
                    cmd.arg(rng.random_range(sw.lng()..=ne.lng()))
                        .arg(rng.random_range(sw.lat()..=ne.lat()))
                        .arg(format!("driver:{i}"));
                    i += 1;
                }
                cmd.ignore();
            }
            pipe.query_async::<()>(&mut admin).await?;
        }
        rows.push(
            at_rest(
                "redis_at_rest",
                target,
                rest,
                query_redis_loop(url.to_string(), key.clone(), args.seed, deadline(rest)),
            )
            .await?,
        );
    }
    redis::cmd("DEL")
        .arg(&key)
        .query_async::<()>(&mut admin)
        .await?;
    Ok(rows)
}

fn deadline(after: Duration) -> QueryUntil {
    QueryUntil::Deadline(Instant::now() + after)
}

fn mean_found(found: usize, count: usize) -> f64 {
    if count > 0 {
        found as f64 / count as f64
    } else {
        0.0
    }
}

/// Queries alone for `rest`, on their own thread: the row of a system at rest.
async fn at_rest<F>(
    system: &'static str,
    drivers: usize,
    rest: Duration,
    queries: F,
) -> Result<IngestRow, LoadtestError>
where
    F: std::future::Future<Output = QueryResult> + Send + 'static,
{
    let started = Instant::now();
    let (mut nanos, found, errors) = join_thread(on_own_thread(queries)).await?;
    let seconds = started.elapsed().as_secs_f64().max(rest.as_secs_f64());
    let summary = LatencySummary::from_nanos(&mut nanos);
    Ok(IngestRow {
        bench: "ingest",
        system,
        drivers,
        batch: 0,
        format: None,
        seconds,
        sent_points: 0,
        refused_points: 0,
        shed_points: 0,
        accepted_per_s: 0.0,
        server_counted: None,
        queries_per_s: summary.count as f64 / seconds,
        query: summary,
        mean_found: mean_found(found, summary.count),
        query_errors: errors,
    })
}

/// When a query loop ends.
enum QueryUntil {
    /// When the load stops.
    Stop(Arc<AtomicBool>),
    /// At a fixed time.
    Deadline(Instant),
}

impl QueryUntil {
    fn done(&self) -> bool {
        match self {
            QueryUntil::Stop(stop) => stop.load(Ordering::Relaxed),
            QueryUntil::Deadline(d) => Instant::now() >= *d,
        }
    }
}

type QueryResult = (Vec<u64>, usize, u64);

/// Runs a query loop on its own thread and single-threaded runtime, so that the load's tasks in
/// this process cannot delay the query client (it still shares the machine's cores).
fn on_own_thread<F>(future: F) -> std::thread::JoinHandle<Option<QueryResult>>
where
    F: std::future::Future<Output = QueryResult> + Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        Some(runtime.block_on(future))
    })
}

/// Lets the flood run for `secs`, stops the drivers and waits for them, then collects the query
/// thread: the flood's duration (from `started`) and the queries' results.
async fn run_for<T: 'static>(
    secs: u64,
    stop: &AtomicBool,
    drivers: &mut JoinSet<T>,
    started: Instant,
    queries: std::thread::JoinHandle<Option<QueryResult>>,
) -> Result<(f64, QueryResult), LoadtestError> {
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    while drivers.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    Ok((seconds, join_thread(queries).await?))
}

async fn join_thread(
    handle: std::thread::JoinHandle<Option<QueryResult>>,
) -> Result<QueryResult, LoadtestError> {
    tokio::task::spawn_blocking(move || handle.join())
        .await
        .ok()
        .and_then(|joined| joined.ok())
        .flatten()
        .ok_or_else(|| LoadtestError::Usage("the query thread failed".into()))
}

async fn query_redis_loop(url: String, key: String, seed: u64, until: QueryUntil) -> QueryResult {
    let (sw, ne) = load_box();
    let mut rng = Pcg64::seed_from_u64(seed ^ 0x5151);
    let (mut nanos, mut found, mut errors) = (Vec::new(), 0usize, 0u64);
    let connection = match redis::Client::open(url.as_str()) {
        Ok(client) => client.get_multiplexed_async_connection().await,
        Err(e) => Err(e),
    };
    let Ok(mut con) = connection else {
        return (nanos, found, 1);
    };
    if matches!(until, QueryUntil::Stop(_)) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    while !until.done() {
        let lat = rng.random_range(sw.lat()..=ne.lat());
        let lng = rng.random_range(sw.lng()..=ne.lng());
        let t = Instant::now();
        let answer = redis::cmd("GEOSEARCH")
            .arg(&key)
            .arg("FROMLONLAT")
            .arg(lng)
            .arg(lat)
            .arg("BYRADIUS")
            .arg(1)
            .arg("km")
            .arg("ASC")
            .arg("COUNT")
            .arg(10)
            .query_async::<Vec<String>>(&mut con)
            .await;
        match answer {
            Ok(members) => {
                nanos.push(t.elapsed().as_nanos() as u64);
                found += members.len();
            }
            Err(_) => errors += 1,
        }
    }
    (nanos, found, errors)
}

fn print_row(row: &IngestRow, json: bool) -> Result<(), LoadtestError> {
    if json {
        println!("{}", serde_json::to_string(row)?);
        return Ok(());
    }
    println!(
        "{:<14} drivers {:>7}  batch {:>3}{}  {:>6.1} s  sent {:>10}  refused {:>8} (shed {})  accepted/s {:>11.0}{}",
        row.system,
        row.drivers,
        row.batch,
        match row.format {
            Some(BatchFormat::Json) => " json",
            Some(BatchFormat::Binary) => " binary",
            None => "",
        },
        row.seconds,
        row.sent_points,
        row.refused_points,
        row.shed_points,
        row.accepted_per_s,
        match row.server_counted {
            Some(c) => format!("  (server counted {c:.0})"),
            None => String::new(),
        }
    );
    if row.system == "server_mqtt" {
        // No nearest queries in this phase.
        return Ok(());
    }
    println!(
        "{:<14} nearest: {:>8.0} q/s  p50 {:>8.1} µs  p99 {:>8.1} µs  mean {:>8.1} µs  found {:>4.1}  errors {}",
        "",
        row.queries_per_s,
        row.query.p50_us,
        row.query.p99_us,
        row.query.mean_us,
        row.mean_found,
        row.query_errors
    );
    Ok(())
}

// ---- over MQTT (`--mqtt`)

/// A device made for one simulated driver: its id and token.
struct BenchDevice {
    id: String,
    token: String,
}

#[derive(Deserialize)]
struct MeAnswer {
    user_id: String,
}

#[derive(Deserialize)]
struct DeviceAnswer {
    device_id: String,
    token: Option<String>,
}

/// Creates a device for the driver holding `driver_token` and binds it to them, as the operator
/// holding `admin` (two audited actions).
async fn make_device(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    driver_token: &str,
    i: usize,
) -> Result<BenchDevice, LoadtestError> {
    let me = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(driver_token)
        .send()
        .await?;
    if !me.status().is_success() {
        return Err(server_error("GET /v1/me", me).await);
    }
    let me: MeAnswer = me.json().await?;
    let created = http
        .post(format!("{base}/v1/admin/devices"))
        .bearer_auth(admin)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({"label": format!("loadtest device {i}"), "reason": "bench ingest --mqtt"}))
        .send()
        .await?;
    if !created.status().is_success() {
        return Err(server_error("POST /v1/admin/devices", created).await);
    }
    let created: DeviceAnswer = created.json().await?;
    let token = created
        .token
        .ok_or_else(|| LoadtestError::Usage("a new device came without its token".into()))?;
    let bound = http
        .post(format!(
            "{base}/v1/admin/devices/{}/bind",
            created.device_id
        ))
        .bearer_auth(admin)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&serde_json::json!({"worker_id": me.user_id, "reason": "bench ingest --mqtt"}))
        .send()
        .await?;
    if !bound.status().is_success() {
        return Err(server_error("binding a device", bound).await);
    }
    Ok(BenchDevice {
        id: created.device_id,
        token,
    })
}

/// The server's `mqtt_messages_dropped_total` by `reason`.
async fn scrape_drops(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
) -> Result<BTreeMap<String, f64>, LoadtestError> {
    let text = metrics_text(http, base, admin).await?;
    let mut drops = BTreeMap::new();
    for (labels, value) in metric_samples(&text, "mqtt_messages_dropped_total") {
        let reason = label_value(labels, "reason").unwrap_or("").to_owned();
        *drops.entry(reason).or_insert(0.0) += value;
    }
    Ok(drops)
}

/// Runs the MQTT phase: a device per driver publishing batches for `--seconds`, then reads how many
/// points the server accepted (`mqtt_positions_accepted_total`) until that count stops growing.
async fn run_mqtt_load(
    http: &reqwest::Client,
    base: &str,
    broker: &str,
    admin: &str,
    args: &IngestArgs,
    tokens: &[String],
) -> Result<IngestRow, LoadtestError> {
    let broker = doorstep_app::device_ingest::BrokerOptions::parse(broker)
        .map_err(|e| LoadtestError::Usage(e.to_string()))?;
    let limit = Arc::new(Semaphore::new(16));
    let mut making = JoinSet::new();
    for (i, token) in tokens.iter().enumerate() {
        let (http, base, admin, token, limit) = (
            http.clone(),
            base.to_string(),
            admin.to_string(),
            token.clone(),
            limit.clone(),
        );
        making.spawn(async move {
            let _permit = limit.acquire().await;
            make_device(&http, &base, &admin, &token, i)
                .await
                .map(|d| (i, d))
        });
    }
    let mut devices = Vec::with_capacity(tokens.len());
    while let Some(joined) = making.join_next().await {
        match joined {
            Ok(result) => devices.push(result?),
            Err(e) => return Err(LoadtestError::Usage(format!("device task failed: {e}"))),
        }
    }
    devices.sort_by_key(|(i, _)| *i);

    // Connect every device, then start them together.
    let mut clients = Vec::with_capacity(devices.len());
    let mut pollers = JoinSet::new();
    let stop = Arc::new(AtomicBool::new(false));
    for (i, _) in &devices {
        let mut options = rumqttc::MqttOptions::new(
            format!("doorstep-loadtest-{i}-{}", uuid::Uuid::new_v4().simple()),
            broker.host.clone(),
            broker.port,
        );
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(1024 * 1024, 1024 * 1024);
        if let Some((user, password)) = &broker.credentials {
            options.set_credentials(user.clone(), password.clone());
        }
        let (client, mut events) = rumqttc::AsyncClient::new(options, 16);
        let (up_tx, up) = tokio::sync::oneshot::channel::<()>();
        let stop = stop.clone();
        pollers.spawn(async move {
            let mut up_tx = Some(up_tx);
            loop {
                match events.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        if let Some(tx) = up_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    Err(_) if stop.load(Ordering::Relaxed) => break,
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), up)
            .await
            .map_err(|_| LoadtestError::Mqtt("a device could not connect to the broker".into()))?
            .map_err(|_| LoadtestError::Mqtt("a device's connection ended".into()))?;
        clients.push(client);
    }

    let before = scrape_metric(http, base, Some(admin), "mqtt_positions_accepted_total")
        .await?
        .unwrap_or(0.0);
    let received_before = scrape_metric(http, base, Some(admin), "mqtt_messages_received_total")
        .await?
        .unwrap_or(0.0);
    let dropped_before = scrape_drops(http, base, admin).await?;
    let counters = Arc::new(LoadCounters::default());
    let (sw, ne) = load_box();
    let started = Instant::now();
    let mut publishers = JoinSet::new();
    for ((i, device), client) in devices.into_iter().zip(clients) {
        let counters = counters.clone();
        let stop = stop.clone();
        let (batch, interval, format, seed) =
            (args.batch, args.interval_ms, args.format, args.seed);
        let topic = format!("doorstep/manhattan/devices/{}/position", device.id);
        publishers.spawn(async move {
            let mut rng = Pcg64::seed_from_u64(seed.wrapping_mul(1_000_003) ^ i as u64);
            let mut walker = Walker {
                lat: rng.random_range(sw.lat()..=ne.lat()),
                lng: rng.random_range(sw.lng()..=ne.lng()),
            };
            let raw = doorstep_app::devices::parse_token(&device.token).unwrap_or([0; 32]);
            let mut json = JsonBatchWriter::new();
            let mut last_ms = 0i64;
            while !stop.load(Ordering::Relaxed) {
                // Strictly increasing timestamps, a millisecond apart at least, the batch's last one
                // no later than now: a step of the walk (≤ 15 m) a millisecond after the previous
                // point is believed by a server started with a high `--max-speed-kmh`, so that the
                // server's count of accepted points measures the ingest, not the walk. A device
                // never stamps a point ahead of its clock, as a real one does not: it waits instead,
                // so one device publishes at most 1,000 points a second. (Devices that ran ahead had
                // most of their batches refused as "in the future", which the count then mixed in.)
                let first = (unix_ms_now() - (batch as i64 - 1)).max(last_ms + 1);
                last_ms = first + batch as i64 - 1;
                let ahead = last_ms - unix_ms_now();
                if ahead > 0 {
                    tokio::time::sleep(Duration::from_millis(ahead.unsigned_abs())).await;
                }
                let mut points = (0..batch).map(|j| {
                    let (lat, lng) = walker.step(&mut rng, sw, ne);
                    (lat, lng, first + j as i64)
                });
                let payload = match format {
                    BatchFormat::Json => {
                        // `{"type":"locations","points":[..]}` with the token in place of the type.
                        let body = json.write(&mut points);
                        let rest = body
                            .strip_prefix("{\"type\":\"locations\",")
                            .unwrap_or(body);
                        format!("{{\"token\":\"{}\",{rest}", device.token).into_bytes()
                    }
                    BatchFormat::Binary => {
                        let frame = binary_batch(&mut points);
                        let mut payload = Vec::with_capacity(frame.len() + 32);
                        payload.push(1u8);
                        payload.extend_from_slice(&raw);
                        payload.extend_from_slice(&frame[1..]);
                        payload
                    }
                };
                if client
                    .publish(&topic, rumqttc::QoS::AtLeastOnce, false, payload)
                    .await
                    .is_err()
                {
                    break;
                }
                counters
                    .sent_points
                    .fetch_add(batch as u64, Ordering::Relaxed);
                counters.sent_batches.fetch_add(1, Ordering::Relaxed);
                if interval > 0 {
                    tokio::time::sleep(Duration::from_millis(interval)).await;
                }
            }
            let _ = client.disconnect().await;
        });
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    while publishers.join_next().await.is_some() {}
    // The server may still be reading what the broker holds: wait until its count stops growing.
    let mut counted = before;
    let mut last_growth = started.elapsed();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = scrape_metric(http, base, Some(admin), "mqtt_positions_accepted_total")
            .await?
            .unwrap_or(0.0);
        if now > counted {
            counted = now;
            last_growth = started.elapsed();
            quiet_since = Instant::now();
        }
    }
    pollers.abort_all();
    let received = scrape_metric(http, base, Some(admin), "mqtt_messages_received_total")
        .await?
        .unwrap_or(0.0)
        - received_before;
    let sent_batches = counters.sent_batches.load(Ordering::Relaxed);
    let mut dropped = scrape_drops(http, base, admin).await?;
    for (reason, n) in &mut dropped {
        *n -= dropped_before.get(reason).copied().unwrap_or(0.0);
    }
    dropped.retain(|_, n| *n > 0.0);
    let seconds = last_growth.as_secs_f64().max(f64::EPSILON);
    let handled_per_s = received / seconds;
    if args.json {
        let line = serde_json::json!({
            "bench": "ingest_mqtt_messages",
            "format": args.format,
            "published": sent_batches,
            "handled": received,
            "handled_per_s": handled_per_s,
            "dropped_by_reason": dropped,
        });
        println!("{line}");
    } else {
        let dropped = if dropped.is_empty() {
            "none".to_owned()
        } else {
            dropped
                .iter()
                .map(|(reason, n)| format!("{reason} {n:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!(
            "mqtt: {sent_batches} messages published (QoS 1), {received:.0} handled by the server \
             ({handled_per_s:.0}/s; the broker drops what a slower subscriber's queue cannot hold); \
             of those the server dropped: {dropped}"
        );
    }
    let accepted = counted - before;
    let sent = counters.sent_points.load(Ordering::Relaxed);
    Ok(IngestRow {
        bench: "ingest",
        system: "server_mqtt",
        drivers: args.drivers,
        batch: args.batch,
        format: Some(args.format),
        seconds,
        sent_points: sent,
        refused_points: sent.saturating_sub(accepted as u64),
        shed_points: 0,
        accepted_per_s: accepted / seconds,
        server_counted: Some(accepted),
        queries_per_s: 0.0,
        query: LatencySummary::default(),
        mean_found: 0.0,
        query_errors: 0,
    })
}
