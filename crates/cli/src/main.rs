//! `doorstep`: the one binary. `serve` runs the platform, `demo` runs it with a simulated Manhattan,
//! `migrate` applies database migrations, `admin create` makes the first operator account.
//!
//! This is the only crate that uses `anyhow`: errors from the libraries get context here and are printed.

mod bench_places;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use doorstep_app::{App, AppConfig, Clock};
use doorstep_store::Store;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;

/// mimalloc instead of glibc's allocator: glibc keeps the 19 MiB blocks of every argon2 password hash in
/// its per-thread arenas (its mmap threshold grows after the first free), which left a demo of 200
/// drivers at about 900 MB resident; with mimalloc it stays near 160 MB (debug build, measured 2026-11-28).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Doorstep: rides, food delivery and house calls on one open platform.
#[derive(Debug, Parser)]
#[command(name = "doorstep", version, about)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, env = "DOORSTEP_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the HTTP API, the dispatcher and the event stream.
    Serve(ServeArgs),
    /// Runs the server on a fresh SQLite database with a simulated city of drivers and riders.
    Demo(DemoArgs),
    /// Applies the database migrations and exits.
    Migrate(DatabaseArgs),
    /// Runs benchmarks: the DIMACS ride-hailing day, the live index in process, ingest through a server.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Lets an outside simulator drive a dispatch policy: observations in, actions out, one JSON
    /// object per line (docs/policy-protocol.md).
    Policy(doorstep_sim::stdio::PolicyArgs),
    /// Manages operator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// The DIMACS ride-hailing benchmark on Manhattan demand (a re-implementation of pyhailing).
    Ridehail(doorstep_sim::bench::RidehailArgs),
    /// Meal delivery on the Grubhub MDRP instances: the platform's dispatcher against the Reyes et al.
    /// (2018) rolling-horizon policy.
    Mdrp(doorstep_sim::mdrp::bench::MdrpArgs),
    /// The house-call scheduler (VRPTW) on the Solomon and Gehring–Homberger 200 instances: gap to the best
    /// known solutions under the DIMACS convention, an equal CPU budget per instance.
    Vrptw(doorstep_sim::vrptw::bench::VrptwArgs),
    /// A seeded week of house-call bookings in Manhattan: a naive 30-minute-buffer calendar, travel-aware
    /// insertion and insertion with nightly VRPTW re-optimisation side by side, and the availability query's
    /// latency on 200 providers with a full week booked.
    Housecalls(doorstep_sim::housecalls::bench::HousecallsArgs),
    /// Offline places in process: parse time and memory, search p50/p99 against a linear scan, A* routes
    /// against Dijkstra.
    Places(bench_places::PlacesArgs),
    #[cfg(feature = "loadtest")]
    /// In-process location updates and nearest-driver queries on the live index, at several fleet sizes.
    Geo(doorstep_loadtest::GeoArgs),
    #[cfg(feature = "loadtest")]
    /// Drives a running server with simulated drivers over WebSockets (and Redis side by side).
    Ingest(doorstep_loadtest::IngestArgs),
    #[cfg(feature = "loadtest")]
    /// Starts a server in process, connects thousands of event streams, and measures how many socket
    /// tasks one event to one user wakes and its delivery latency.
    Fanout(doorstep_loadtest::FanoutArgs),
    #[cfg(feature = "loadtest")]
    /// Starts one or three server nodes on a fresh PostgreSQL database and drives them with drivers,
    /// ride requests and idle sockets: rides/s, location updates/s, sockets, request-to-offer latency,
    /// CPU and memory per node.
    Load(doorstep_loadtest::LoadArgs),
    #[cfg(feature = "loadtest")]
    /// The client sockets of `bench fanout`, in a process of their own (started by it).
    #[command(hide = true)]
    FanoutClients(doorstep_loadtest::FanoutClientArgs),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates an admin account. The password is read from DOORSTEP_ADMIN_PASSWORD or the first line of stdin.
    Create {
        /// Login address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long, default_value = "Operator")]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// `sqlite://FILE?mode=rwc` (embedded default) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "DOORSTEP_DATABASE_URL",
        default_value = "sqlite://doorstep.db?mode=rwc"
    )]
    database_url: String,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DOORSTEP_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Approve new drivers at sign-up instead of waiting for an operator (for trials and tests; in
    /// production an operator approves each driver in the console).
    #[arg(long, env = "DOORSTEP_AUTO_APPROVE_DRIVERS")]
    auto_approve_drivers: bool,
    /// MQTT broker that connected devices publish their positions to,
    /// `mqtt://[user[:password]@]host[:port]` (docs/devices.md); without it, no device ingest.
    #[arg(long = "mqtt", env = "DOORSTEP_MQTT_URL", hide_env_values = true)]
    mqtt: Option<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    tuning: TuningArgs,
}

/// Several nodes on one PostgreSQL record (docs/deploy.md).
#[derive(Debug, Args)]
struct ClusterArgs {
    /// Run as one node of a cluster, with this NATS server (JetStream on) between the nodes:
    /// `nats://127.0.0.1:4222`. Needs `--database-url postgres://...`. Without it the server is one
    /// node on its own, as always.
    #[arg(long, env = "DOORSTEP_NATS_URL")]
    nats: Option<String>,
    /// This node's name in the cluster: letters, digits, `-` and `_`, at most 64 (default: the
    /// listening address).
    #[arg(long, env = "DOORSTEP_NODE_ID")]
    node_id: Option<String>,
    /// The cluster's name: the prefix of its NATS subjects, stream and lease bucket, so that several
    /// deployments can share one NATS. Letters, digits, `-` and `_`.
    #[arg(long, env = "DOORSTEP_CLUSTER_NAME", default_value = "doorstep")]
    cluster_name: String,
    /// Seconds a city's lease lives without renewal: how long a dead node can hold its city.
    #[arg(long, env = "DOORSTEP_LEASE_TTL_S", default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=60))]
    lease_ttl_s: u64,
}

impl ClusterArgs {
    /// The cluster options, or `None` for one node; refuses SQLite with NATS.
    fn options(
        &self,
        database_url: &str,
        addr: SocketAddr,
    ) -> Result<Option<doorstep_app::cluster::ClusterOptions>> {
        let Some(nats) = &self.nats else {
            return Ok(None);
        };
        if doorstep_store::Backend::from_url(database_url).ok()
            != Some(doorstep_store::Backend::Postgres)
        {
            anyhow::bail!(
                "--nats runs several nodes on one record, which must be PostgreSQL \
                 (--database-url postgres://...): a SQLite file belongs to one machine. \
                 Run one node without --nats, or point every node at the same PostgreSQL."
            );
        }
        let node = self
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", addr).replace([':', '.'], "-"));
        if node.is_empty()
            || node.len() > 64
            || !node
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            anyhow::bail!("--node-id must be 1 to 64 letters, digits, '-' or '_'");
        }
        let name = &self.cluster_name;
        if name.is_empty()
            || name.len() > 32
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            anyhow::bail!("--cluster-name must be 1 to 32 letters, digits, '-' or '_'");
        }
        let mut options = doorstep_app::cluster::ClusterOptions::new(nats.clone(), node);
        options.name.clone_from(name);
        options.lease_ttl = Duration::from_secs(self.lease_ttl_s);
        Ok(Some(options))
    }
}

#[derive(Debug, Args)]
struct TuningArgs {
    /// Dispatch batching window in milliseconds.
    #[arg(long, env = "DOORSTEP_BATCH_WINDOW_MS", default_value_t = 2000)]
    batch_window_ms: u64,
    /// Offer transactions of one dispatch batch written at once on PostgreSQL (SQLite: one at a time).
    #[arg(long, env = "DOORSTEP_OFFER_WRITES_AT_ONCE", default_value_t = 4)]
    offer_writes_at_once: usize,
    /// Seconds a driver has to answer an offer.
    #[arg(long, env = "DOORSTEP_OFFER_TIMEOUT_S", default_value_t = 15)]
    offer_timeout_s: i64,
    /// Seconds a ride may wait for a driver before it ends as no_driver_available.
    #[arg(long, env = "DOORSTEP_PICKUP_LIMIT_S", default_value_t = 300)]
    pickup_limit_s: i64,
    /// Seconds a ride that no online driver can reach waits before it ends early as
    /// no_driver_available (no_drivers_nearby) instead of waiting out the pickup limit.
    #[arg(long, env = "DOORSTEP_NO_DRIVER_GRACE_S", default_value_t = 6)]
    no_driver_grace_s: i64,
    /// Seconds of silence after which a driver gets no offers.
    #[arg(long, env = "DOORSTEP_DRIVER_STALE_S", default_value_t = 60)]
    driver_stale_s: i64,
    /// Seconds after assignment during which a rider cancels for free.
    #[arg(long, env = "DOORSTEP_FREE_CANCEL_S", default_value_t = 120)]
    free_cancel_s: i64,
    /// Late cancellation fee in minor units (cents).
    #[arg(long, env = "DOORSTEP_CANCEL_FEE", default_value_t = 500)]
    cancel_fee: i64,
    /// Sustained requests per second allowed per bearer token (bursts of three times that).
    #[arg(long, env = "DOORSTEP_RATE_PER_TOKEN", default_value_t = 20)]
    rate_per_token: u32,
    /// Sustained requests per second allowed per client IP without a token (bursts of three times that).
    #[arg(long, env = "DOORSTEP_RATE_PER_IP", default_value_t = 10)]
    rate_per_ip: u32,
    /// WebSockets one user may hold open at once; a newer one closes the oldest (close code 1008,
    /// reason `too_many_connections`).
    #[arg(long, env = "DOORSTEP_WS_PER_USER", default_value_t = 5)]
    ws_per_user: usize,
    /// WebSockets one client IP may hold open at once; a newer one closes the oldest (close code 1008).
    #[arg(long, env = "DOORSTEP_WS_PER_IP", default_value_t = 50)]
    ws_per_ip: usize,
    /// Worker threads of the runtime drivers' WebSockets (location ingest) run on, apart from the
    /// threads serving HTTP (0: share the HTTP runtime, never shed).
    #[arg(long, env = "DOORSTEP_INGEST_THREADS", default_value_t = 1)]
    ingest_threads: usize,
    /// Lag of the drivers' socket runtime, in milliseconds, above which location batches are
    /// dropped and answered with an `overloaded` error frame.
    #[arg(long, env = "DOORSTEP_SHED_LAG_MS", default_value_t = 1000)]
    shed_lag_ms: u64,
    /// Wrong PINs a ride accepts before its PIN locks until the rider issues a new one (1 to 20).
    #[arg(long, env = "DOORSTEP_PIN_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=20))]
    pin_max_attempts: u8,
    /// Highest speed, km/h, between a driver's consecutive positions that the server believes; a point
    /// implying more is rejected and moves nothing (`demo` multiplies it by `--speed`).
    #[arg(long, env = "DOORSTEP_MAX_SPEED_KMH", default_value_t = 150.0, value_parser = positive_f64)]
    max_speed_kmh: f64,
    /// How far outside the service area, km, a driver's position is still believed.
    #[arg(long, env = "DOORSTEP_SERVICE_AREA_MARGIN_KM", default_value_t = 5.0, value_parser = positive_f64)]
    service_area_margin_km: f64,
    /// A driver may arrive only within this many metres of the pickup (by the last accepted position).
    #[arg(long, env = "DOORSTEP_ARRIVE_RADIUS_M", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=5000))]
    arrive_radius_m: u32,
    /// A completion farther than this many metres from the drop-off is recorded as an early end.
    #[arg(long, env = "DOORSTEP_DROPOFF_RADIUS_M", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=5000))]
    dropoff_radius_m: u32,
    /// Highest final fare, per cent of the quote (100 to 1000).
    #[arg(long, env = "DOORSTEP_FARE_MAX_PCT", default_value_t = 200, value_parser = clap::value_parser!(u32).range(100..=1000))]
    fare_max_pct: u32,
    /// Lowest final fare of a trip that reached its drop-off, per cent of the quote (0 to 100).
    #[arg(long, env = "DOORSTEP_FARE_MIN_PCT", default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    fare_min_pct: u32,
    /// Highest surge multiplier, 1.0 (no surge) to 3.0; surge moves toward it in 0.1x steps.
    #[arg(long, env = "DOORSTEP_SURGE_CAP", default_value_t = 2.0, value_parser = surge_cap)]
    surge_cap: f64,
}

/// A surge cap: a multiplier from 1.0 to 3.0.
fn surge_cap(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (1.0..=3.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a multiplier from 1.0 to 3.0")),
    }
}

/// A finite number above zero.
fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("{s:?} is not a number above zero")),
    }
}

impl TuningArgs {
    fn limits(&self) -> doorstep_api::rate_limit::RateLimits {
        doorstep_api::rate_limit::RateLimits {
            per_token_per_sec: self.rate_per_token,
            per_token_burst: self.rate_per_token.saturating_mul(3),
            per_ip_per_sec: self.rate_per_ip,
            per_ip_burst: self.rate_per_ip.saturating_mul(3),
        }
    }

    fn sockets(&self) -> doorstep_api::open_sockets::SocketCaps {
        doorstep_api::open_sockets::SocketCaps {
            per_user: self.ws_per_user.max(1),
            per_ip: self.ws_per_ip.max(1),
        }
    }

    fn ingest(&self) -> doorstep_api::driver_sockets::IngestOptions {
        doorstep_api::driver_sockets::IngestOptions {
            threads: self.ingest_threads,
            shed_lag_ms: self.shed_lag_ms,
        }
    }

    fn config(&self) -> AppConfig {
        let mut c = AppConfig {
            batch_window: Duration::from_millis(self.batch_window_ms.max(50)),
            offer_writes_at_once: self.offer_writes_at_once.clamp(1, 64),
            offer_timeout_secs: self.offer_timeout_s.max(1),
            pickup_limit_secs: self.pickup_limit_s.max(1),
            no_driver_grace_secs: self.no_driver_grace_s.max(0),
            driver_stale_secs: self.driver_stale_s.max(1),
            pin_max_attempts: self.pin_max_attempts,
            position_limits: doorstep_domain::position::PositionLimits {
                max_speed_kmh: self.max_speed_kmh,
                service_area_margin_km: self.service_area_margin_km,
            },
            stop_radii: doorstep_domain::ride::StopRadii {
                pickup_m: self.arrive_radius_m,
                dropoff_m: self.dropoff_radius_m,
            },
            fare_band: doorstep_domain::pricing::FareBand {
                min_pct: self.fare_min_pct,
                max_pct: self.fare_max_pct,
            },
            ..AppConfig::default()
        };
        // In 1.0..=3.0 by the parser, so the per mille value is 1000..=3000.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "1000 to 3000 by the parser"
        )]
        let cap = (self.surge_cap * 1000.0).round() as u32;
        c.surge.cap = doorstep_domain::pricing::SurgeMillis(cap);
        c.pricing.free_cancel_secs = self.free_cancel_s.max(0);
        c.pricing.cancel_fee_minor = self.cancel_fee.max(0);
        c
    }
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "DOORSTEP_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Simulated seconds per real second for the simulated drivers and riders.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Number of simulated drivers.
    #[arg(long, default_value_t = 200)]
    drivers: usize,
    /// Seed of the simulated city.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Restaurants the demo opens in the busiest evening zones (0: no food delivery).
    #[arg(long, default_value_t = doorstep_demo::DEFAULT_RESTAURANTS)]
    restaurants: usize,
    /// Food orders an hour at the dinner peak of the demo's clock (lunch and the rest of the day follow
    /// the meal curve; 0: none).
    #[arg(long, default_value_t = doorstep_demo::DEFAULT_FOOD_ORDERS_PER_HOUR)]
    food_orders_per_hour: f64,
    /// House-call providers the demo sets up across Manhattan (0: no house calls).
    #[arg(long, default_value_t = doorstep_demo::DEFAULT_PROVIDERS)]
    providers: usize,
    /// House calls the demo's clients try to book a day (0: none; the providers still serve yours).
    #[arg(long, default_value_t = doorstep_demo::DEFAULT_HOUSE_CALLS_PER_DAY)]
    house_calls_per_day: f64,
    /// SQLite file of the demo; deleted and recreated at start unless `--keep-database`.
    #[arg(long, default_value = "doorstep-demo.db")]
    database_file: String,
    /// Reuse the demo database of an earlier run (for example after a crash) instead of starting fresh.
    #[arg(long)]
    keep_database: bool,
    /// Approve drivers who sign up in the browser at once (`--auto-approve-drivers false`: they wait
    /// for the demo operator to approve them in the console; the simulated fleet is approved anyway).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    auto_approve_drivers: bool,
    #[command(flatten)]
    tuning: TuningArgs,
}

fn init_logging(format: &str, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    // The demo prints a KPI line; keep its terminal free of per-request logs unless RUST_LOG asks.
    let default_filter = match cli.command {
        Command::Demo(_) | Command::Policy(_) => "warn",
        _ => "info,sqlx=warn,tower_http=warn",
    };
    init_logging(&cli.log_format, default_filter);
    raise_open_file_limit();
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Bench { command } => match command {
            BenchCommand::Ridehail(args) => Ok(doorstep_sim::bench::run(
                doorstep_sim::bench::BenchCommand::Ridehail(args),
            )?),
            BenchCommand::Mdrp(args) => Ok(doorstep_sim::mdrp::bench::run(&args)?),
            BenchCommand::Vrptw(args) => Ok(doorstep_sim::vrptw::bench::run(&args)?),
            BenchCommand::Housecalls(args) => Ok(doorstep_sim::housecalls::bench::run(&args)?),
            BenchCommand::Places(args) => bench_places::run(&args),
            #[cfg(feature = "loadtest")]
            BenchCommand::Geo(args) => Ok(doorstep_loadtest::run_geo(&args)?),
            #[cfg(feature = "loadtest")]
            BenchCommand::Ingest(args) => Ok(doorstep_loadtest::run_ingest(&args).await?),
            #[cfg(feature = "loadtest")]
            BenchCommand::Fanout(args) => {
                doorstep_loadtest::run_fanout(&args).await?;
                Ok(())
            }
            #[cfg(feature = "loadtest")]
            BenchCommand::Load(args) => {
                doorstep_loadtest::run_load(&args).await?;
                Ok(())
            }
            #[cfg(feature = "loadtest")]
            BenchCommand::FanoutClients(args) => {
                Ok(doorstep_loadtest::run_fanout_clients(&args).await?)
            }
        },
        Command::Policy(args) => {
            let mut session = doorstep_sim::stdio::PolicySession::new(args.class, args.policy)?;
            doorstep_sim::stdio::serve(
                &mut session,
                std::io::stdin().lock(),
                std::io::stdout().lock(),
            )
            .context("reading observations from stdin or writing actions to stdout")
        }
        Command::Migrate(db) => {
            let store = open_store(&db.database_url).await?;
            println!("migrations applied to {}", redact_url(&db.database_url));
            store.close().await;
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    name,
                    database,
                },
        } => {
            let password = match std::env::var("DOORSTEP_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from stdin")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let store = open_store(&database.database_url).await?;
            // Only `serve` and `demo` run a dispatcher: an account tool must not act on live rides.
            let app = App::for_accounts(store.clone(), AppConfig::default(), Clock::System);
            let admin = app.create_admin(&email, &password, &name).await?;
            store.close().await;
            println!(
                "admin {} created with id {}",
                admin.user.email.as_str(),
                admin.user.id
            );
            Ok(())
        }
    }
}

/// Raises the soft limit of open files to the hard limit: every WebSocket is a file descriptor, and the
/// usual soft limit (1024) is far below what a busy server (or `bench ingest`) holds. The per-user and
/// per-IP socket caps keep any one caller from using them up.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn open_store(url: &str) -> Result<Store> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// A running server: the app, its background tasks and the HTTP task.
struct Running {
    app: App,
    stop: watch::Sender<bool>,
    background: doorstep_app::Background,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    addr: SocketAddr,
}

async fn start_server(
    addr: SocketAddr,
    database_url: &str,
    config: AppConfig,
    limits: doorstep_api::rate_limit::RateLimits,
    sockets: doorstep_api::open_sockets::SocketCaps,
    cluster: Option<doorstep_app::cluster::ClusterOptions>,
) -> Result<Running> {
    let store = open_store(database_url).await?;
    let (stop, stopped) = watch::channel(false);
    let (app, background) = match cluster {
        Some(options) => {
            let node = options.node_id.clone();
            let started =
                App::start_cluster(store, config, Clock::System, stopped.clone(), options).await?;
            tracing::info!(node = %node, "joined the cluster");
            started
        }
        None => App::start(store, config, Clock::System, stopped.clone()).await?,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let router = doorstep_api::router_with(app.clone(), limits, sockets);
    let mut http_stop = stopped;
    let http = tokio::spawn(doorstep_api::serve(listener, router, async move {
        let _ = http_stop.wait_for(|s| *s).await;
    }));
    tracing::info!(%addr, database = %redact_url(database_url), "serving");
    Ok(Running {
        app,
        stop,
        background,
        http,
        addr,
    })
}

impl Running {
    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.http
            .await
            .context("joining the HTTP server")?
            .context("serving HTTP")?;
        self.background.stopped().await;
        self.app.store().close().await;
        Ok(())
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    doorstep_api::driver_sockets::configure(args.tuning.ingest());
    let config = AppConfig {
        require_driver_approval: !args.auto_approve_drivers,
        mqtt_url: args.mqtt.clone(),
        ..args.tuning.config()
    };
    let cluster = args
        .cluster
        .options(&args.database.database_url, args.addr)?;
    let running = start_server(
        args.addr,
        &args.database.database_url,
        config,
        args.tuning.limits(),
        args.tuning.sockets(),
        cluster,
    )
    .await?;
    println!("Doorstep listening on http://{}", running.addr);
    shutdown_signal().await;
    running.stop().await
}

/// Approves the demo's simulated drivers (`driverN@demo.doorstep.dev`) as they sign up, as the demo
/// operator, when browser drivers wait for approval (`doorstep demo --auto-approve-drivers false`).
async fn approve_demo_fleet(app: doorstep_app::App, operator: doorstep_domain::User) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let pending = match app.store().pending_drivers(500).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "could not list pending drivers");
                continue;
            }
        };
        for person in pending
            .iter()
            .filter(|p| p.user.email.as_str().ends_with("@demo.doorstep.dev"))
        {
            let key = format!("demo-fleet-{}", person.user.id);
            let act = doorstep_app::console::Act {
                admin: &operator,
                reason: "simulated demo driver",
                key: &key,
            };
            if let Err(e) = app.admin_decide_driver(act, person.user.id, true).await {
                tracing::debug!(error = %e, "could not approve a demo driver");
            }
        }
    }
}

/// The per-IP WebSocket cap of the demo, whose simulated phones all connect from 127.0.0.1: room for
/// a fleet of tens of thousands.
const DEMO_SOCKETS_PER_IP: usize = 100_000;

async fn demo(args: DemoArgs) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        if args.keep_database {
            break;
        }
        let path = format!("{}{suffix}", args.database_file);
        if std::path::Path::new(&path).exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing old demo database {path}"))?;
        }
    }
    let url = format!("sqlite://{}?mode=rwc", args.database_file);
    // Every simulated phone connects from 127.0.0.1, so the per-IP quota must cover the whole city.
    let limits = doorstep_api::rate_limit::RateLimits {
        per_ip_per_sec: 10_000,
        per_ip_burst: 10_000,
        ..args.tuning.limits()
    };
    // ... and the per-IP socket cap too: hundreds of simulated phones hold one socket each.
    let sockets = doorstep_api::open_sockets::SocketCaps {
        per_ip: args.tuning.sockets().per_ip.max(DEMO_SOCKETS_PER_IP),
        ..args.tuning.sockets()
    };
    doorstep_api::driver_sockets::configure(args.tuning.ingest());
    // The simulated cars run on a clock `--speed` times faster than the wall clock their positions are
    // stamped with: to the server they move that much faster than cars do.
    let mut config = args.tuning.config();
    config.position_limits.max_speed_kmh *= args.speed.max(1.0);
    config.require_driver_approval = !args.auto_approve_drivers;
    let running = start_server(args.addr, &url, config, limits, sockets, None).await?;
    let password = doorstep_demo::DEMO_PASSWORD;
    let operator = match running
        .app
        .create_admin(
            doorstep_demo::DEMO_OPERATOR_EMAIL,
            password,
            "Demo operator",
        )
        .await
    {
        Ok(signed) => signed.user,
        // A resumed demo already has its operator.
        Err(doorstep_app::AppError::Conflict {
            code: "email_taken",
            ..
        }) if args.keep_database => {
            let email = doorstep_domain::Email::parse("admin@demo.doorstep.dev")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            running
                .app
                .store()
                .user_by_email(&email)
                .await?
                .context("the demo operator")?
                .0
        }
        Err(e) => return Err(e).context("creating the demo operator"),
    };
    let approver = (!args.auto_approve_drivers)
        .then(|| tokio::spawn(approve_demo_fleet(running.app.clone(), operator)));
    let base_url = format!("http://{}", running.addr);
    println!("Doorstep demo running on {base_url}  (API docs: {base_url}/docs/)");
    println!("  operator login: admin@demo.doorstep.dev / {password}");
    println!(
        "  simulated accounts: driverN@demo.doorstep.dev, riderN@demo.doorstep.dev / {password}"
    );
    println!(
        "  {} drivers, speed ×{}, stop with Ctrl-C",
        args.drivers, args.speed
    );
    if args.restaurants > 0 {
        println!(
            "  food: {} restaurants (staff merchantN@demo.doorstep.dev), customers customerN@demo.doorstep.dev, {} orders an hour at the dinner peak",
            args.restaurants, args.food_orders_per_hour
        );
    }
    if args.providers > 0 {
        println!(
            "  house calls: {} providers (providerN@demo.doorstep.dev), clients clientN@demo.doorstep.dev, {} bookings a day",
            args.providers, args.house_calls_per_day
        );
    }
    let (lat, lng) = doorstep_demo::sandbox::SANDBOX_CENTER;
    println!(
        "  sandbox: the simulated fleet keeps clear of {:.0} m around {lat},{lng} (Inwood): drive there yourself (README: A ride with curl)",
        doorstep_demo::sandbox::SANDBOX_RADIUS_M
    );
    if args.auto_approve_drivers {
        println!(
            "  drivers who sign up are approved at once (`--auto-approve-drivers false`: they wait for the operator's approval in the console)"
        );
    } else {
        println!(
            "  drivers who sign up wait for the operator's approval in the console (People); the simulated fleet is approved by the demo"
        );
    }
    if args.speed <= 1.0 {
        // At real speed a trip takes a quarter of an hour: a newcomer would see nothing complete.
        println!(
            "  tip: `doorstep demo --speed 10` drives ten times faster, so whole rides complete within a minute or two"
        );
    }

    let (kpi_tx, mut kpi_rx) = watch::channel(doorstep_demo::Kpis::default());
    let (sim_stop_tx, mut sim_stop_rx) = watch::channel(false);
    let config = doorstep_demo::DemoConfig {
        base_url,
        drivers: args.drivers,
        speed: args.speed,
        seed: args.seed,
        demand_scale: doorstep_demo::DemoConfig::demand_scale_for(args.drivers),
        restaurants: args.restaurants,
        food_orders_per_hour: args.food_orders_per_hour,
        providers: args.providers,
        house_calls_per_day: args.house_calls_per_day,
        operator_email: doorstep_demo::DEMO_OPERATOR_EMAIL.to_owned(),
        operator_password: password.to_owned(),
        clock_start_unix: None,
    };
    // Someone trying the rider app (or curl) is not a demo agent: when a demo driver arrives for them, the
    // demo reads the ride's PIN, the order's hand-over code or the house call's check-in code from the
    // record, standing in for the customer reading it out at the car or the door.
    let record = running.app.clone();
    let pin_teller = doorstep_demo::PinTeller::new(move |job_id: String| {
        let record = record.clone();
        Box::pin(async move {
            if let Ok(id) = job_id.parse()
                && let Ok(Some(ride)) = record.store().ride(id).await
            {
                return Some(ride.pin().as_str().to_owned());
            }
            let id = job_id.parse().ok()?;
            if let Ok(Some(order)) = record.store().order(id).await {
                return order.handover_code().map(str::to_owned);
            }
            let booking = record.store().booking(id).await.ok()??;
            booking.checkin_code().map(|c| c.as_str().to_owned())
        })
    });
    let simulation = tokio::spawn(doorstep_demo::run_with_pin_teller(
        config,
        kpi_tx,
        async move {
            let _ = sim_stop_rx.wait_for(|s| *s).await;
        },
        Some(pin_teller),
    ));
    let printer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            println!("{}", *kpi_rx.borrow_and_update());
        }
    });
    shutdown_signal().await;
    printer.abort();
    if let Some(approver) = approver {
        approver.abort();
    }
    let _ = sim_stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(10), simulation).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "simulation ended with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "simulation task failed"),
        Err(_) => tracing::warn!("simulation did not stop within 10 s"),
        Ok(Ok(Ok(()))) => {}
    }
    running.stop().await
}
