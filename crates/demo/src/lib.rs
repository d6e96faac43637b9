//! The simulated city behind `doorstep demo`: a crowd of client agents (drivers and riders) that
//! use a running Doorstep server exactly as phone apps would.
//!
//! Architecture invariant: this crate is a *client*. It speaks only the public HTTP API (`/v1/...`)
//! and the event WebSocket (`/v1/events`); it never touches the server's crates, store or
//! dispatcher. Whatever the demo can do, a third-party app can do. The one thing the agents share
//! outside the API is the ride PIN (and a food order's hand-over code, a house call's check-in code), which
//! the rider (customer, client) agent hands to its driver (courier, provider) agent in process, as people
//! tell it in real life.
//!
//! The shape:
//! - [`run`] signs up (or logs in) [`DemoConfig::drivers`] driver accounts, parks each at a random
//!   lot of Manhattan, puts them online and lets each run as its own task: it streams positions over
//!   the WebSocket, considers `offered` events, accepts about 90% of them, drives to the pickup,
//!   arrives, starts with the rider's PIN, drives to the drop-off, completes and rates the rider.
//! - A rider spawner follows a [`schedule::RiderSchedule`]: a Poisson stream whose rate follows
//!   the real 2018 Manhattan taxi demand of the current New York weekday and 15-minute window,
//!   scaled by [`DemoConfig::demand_scale`]. Each request becomes a rider task that quotes,
//!   requests, follows its ride on the WebSocket, cancels about 5% of the time and rates its driver.
//! - Time runs on a [`clock::SimClock`]: simulated New York time starts at the real current time
//!   and runs [`DemoConfig::speed`] times faster. Travel times come from the city's speed model at
//!   the simulated time of day; timestamps sent to the server are real wall-clock times, since the
//!   server judges them against its own clock.
//! - Food ([`restaurants`], [`catalogue`], [`food_schedule`], [`kitchen`]): the demo's operator opens
//!   [`DemoConfig::restaurants`] restaurants where Manhattan goes out in the evening, their kitchens
//!   accept and prepare orders on the simulated clock, customers order by meal time, and the drivers
//!   double as couriers (delivery offers, restaurant, door, hand-over code told in process like the PIN).
//! - House calls ([`services_catalogue`], [`providers`], [`housecalls`]): the operator puts six services in
//!   the catalogue and approves [`DemoConfig::providers`] providers living across Manhattan; clients book
//!   them for later today or tomorrow (a few cancel or reschedule), and the providers drive to each visit,
//!   arrive, check in with the client's code (told in process like the PIN) and check out, on the demo's
//!   clock.
//! - Rider and customer agents count what they observe into [`Kpis`], published once a second.
//!
//! Randomness is seeded: every agent has its own [`rand_pcg::Pcg64`] derived from
//! [`DemoConfig::seed`] (see [`seed`]), so the rider schedule (times, zones, points) is reproducible.
//! What the server answers, and so the run as a whole, is not.
//!
//! Failure policy: one failed request never stops the demo. Transient failures (network, 5xx,
//! 429) are retried with backoff; refusals (4xx) are logged and the agent reconciles with the ride's
//! actual state or moves on.

mod accounts;
mod api;
pub mod catalogue;
pub mod clock;
mod customer;
mod driver;
mod events;
mod food;
pub mod food_schedule;
pub mod housecalls;
pub mod kitchen;
pub mod kpis;
pub mod motion;
mod pin_board;
pub mod providers;
mod rating;
pub mod restaurants;
mod rider;
pub mod sandbox;
pub mod schedule;
pub mod seed;
pub mod services_catalogue;
mod shutdown;
mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub use kpis::Kpis;

use crate::api::Api;
use crate::clock::SimClock;
use crate::kpis::KpiBoard;
use crate::motion::StreetGrid;
use crate::pin_board::PinBoard;
use crate::shutdown::Shutdown;

/// The password of every demo account, drivers and riders alike. Driver emails are
/// `driver{N}@demo.doorstep.dev` and rider emails `rider{N}@demo.doorstep.dev`, `N` from 0.
pub const DEMO_PASSWORD: &str = "doorstep-demo";

/// How many drivers the demo runs unless told otherwise.
pub const DEFAULT_DRIVERS: usize = 200;

/// How many restaurants the demo opens unless told otherwise.
pub const DEFAULT_RESTAURANTS: usize = 16;

/// The demo's food orders an hour at the dinner peak (19:00-20:00 on the demo's clock) unless told
/// otherwise; other hours follow [`food_schedule::MEAL_CURVE`]. At about 25 minutes of a courier's time
/// each, the peak keeps some 25 of the default 200 drivers delivering.
pub const DEFAULT_FOOD_ORDERS_PER_HOUR: f64 = 60.0;

/// How many house-call providers the demo sets up unless told otherwise.
pub const DEFAULT_PROVIDERS: usize = 12;

/// House calls the demo's clients try to book a day unless told otherwise (most in the morning and the
/// evening, [`housecalls::BOOKING_CURVE`]). The default providers take about 80 visits a day.
pub const DEFAULT_HOUSE_CALLS_PER_DAY: f64 = 60.0;

/// The demo operator's login, which `doorstep demo` creates: it opens the demo's restaurants.
pub const DEMO_OPERATOR_EMAIL: &str = "admin@demo.doorstep.dev";

/// The default share of real Manhattan taxi demand to generate: 2.5%, one trip in forty.
///
/// Chosen so that [`DEFAULT_DRIVERS`] drivers are about 70% busy over the waking day. From the city
/// data (2018, business days): a mid-week day has about 438,000 trips, and one trip keeps a driver
/// busy for about 850 s on average (a ride of ~3.3 km L1 at the observed zone-to-zone speeds,
/// ~600 s, plus a ~1 km drive to the pickup, ~190 s, plus boarding and think time). Between 08:00
/// and 22:00 on a Wednesday that is about 5,700 busy drivers at full demand, so 2.5% keeps about
/// 143 of 200 drivers (72%) busy: about 60% at midday, 80-90% in the morning and evening peaks
/// (where some requests find no driver, as in real life), Fridays about 10% more, Mondays about 20%
/// less, and the small hours nearly idle. Measured against the server (2026-11, 200 drivers,
/// speed 30, a Saturday morning, which takes Friday's demand): 135-148 drivers (68-74%) assigned,
/// at the pickup or on a trip between 08:00 and 09:30. Scale it with the number of drivers:
/// [`DemoConfig::demand_scale_for`].
pub const DEFAULT_DEMAND_SCALE: f64 = 0.025;

/// At most this many HTTP requests of the whole demo are in flight at once.
const MAX_CONCURRENT_REQUESTS: usize = 48;

/// How long agents get to finish (drivers go offline) after shutdown before they are aborted.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the demo should do and against which server.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Base URL of the server, such as `http://127.0.0.1:8080` (plain HTTP only: the crate is built
    /// without TLS). The WebSocket URL is derived from it (`ws://.../v1/events`).
    pub base_url: String,
    /// Number of driver agents (accounts `driver0` .. `driver{drivers-1}`).
    pub drivers: usize,
    /// Simulated seconds per real second: 1.0 is real time, 10.0 makes a 15-minute ride take 90 s.
    /// Demand is sped up by the same factor, so the load on the drivers stays the same.
    pub speed: f64,
    /// Seed of all the agents' random generators.
    pub seed: u64,
    /// Share of the real Manhattan taxi demand to generate (see [`DEFAULT_DEMAND_SCALE`]).
    pub demand_scale: f64,
    /// Restaurants to open (0: no food delivery).
    pub restaurants: usize,
    /// Food orders an hour at the dinner peak (see [`DEFAULT_FOOD_ORDERS_PER_HOUR`]; 0: none).
    pub food_orders_per_hour: f64,
    /// House-call providers to set up (0: no house calls).
    pub providers: usize,
    /// House calls clients try to book a day (0: none; the providers still serve people's bookings).
    pub house_calls_per_day: f64,
    /// The operator account that opens the restaurants, puts up the house-call catalogue and approves
    /// the providers.
    pub operator_email: String,
    /// Its password.
    pub operator_password: String,
    /// Where the simulated clock starts, Unix seconds (`None`: the real time now). Tests start it at a
    /// known hour so that demand does not depend on when they run.
    pub clock_start_unix: Option<f64>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            base_url: "http://127.0.0.1:8080".to_owned(),
            drivers: DEFAULT_DRIVERS,
            speed: 1.0,
            seed: 42,
            demand_scale: DEFAULT_DEMAND_SCALE,
            restaurants: DEFAULT_RESTAURANTS,
            food_orders_per_hour: DEFAULT_FOOD_ORDERS_PER_HOUR,
            providers: DEFAULT_PROVIDERS,
            house_calls_per_day: DEFAULT_HOUSE_CALLS_PER_DAY,
            operator_email: DEMO_OPERATOR_EMAIL.to_owned(),
            operator_password: DEMO_PASSWORD.to_owned(),
            clock_start_unix: None,
        }
    }
}

impl DemoConfig {
    /// The demand scale that loads `drivers` drivers as [`DEFAULT_DEMAND_SCALE`] loads
    /// [`DEFAULT_DRIVERS`]: proportional to the number of drivers.
    pub fn demand_scale_for(drivers: usize) -> f64 {
        DEFAULT_DEMAND_SCALE * drivers as f64 / DEFAULT_DRIVERS as f64
    }

    /// Checks the values [`run`] cannot work with.
    fn validate(&self) -> Result<(), DemoError> {
        let invalid = |field, reason: &str| {
            Err(DemoError::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if !self.base_url.starts_with("http://") {
            return invalid(
                "base_url",
                "must start with http:// (the demo is built without TLS)",
            );
        }
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return invalid("speed", "must be a positive finite number");
        }
        if !(self.demand_scale.is_finite() && self.demand_scale >= 0.0) {
            return invalid("demand_scale", "must be a finite number, zero or more");
        }
        if !(self.food_orders_per_hour.is_finite() && self.food_orders_per_hour >= 0.0) {
            return invalid(
                "food_orders_per_hour",
                "must be a finite number, zero or more",
            );
        }
        if !(self.house_calls_per_day.is_finite() && self.house_calls_per_day >= 0.0) {
            return invalid(
                "house_calls_per_day",
                "must be a finite number, zero or more",
            );
        }
        Ok(())
    }
}

/// Why the demo could not run. Failures of single requests are not errors: agents log them and
/// retry or move on.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A value of [`DemoConfig`] is unusable (the caller's fault).
    #[error("invalid demo config: {field} {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (ours).
    #[error("could not build the http client")]
    HttpClient(#[source] reqwest::Error),
}

/// What every agent shares: the server, the city, the clock, the counters and the PIN hand-over.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) api: Api,
    pub(crate) city: &'static doorstep_geo::City,
    pub(crate) grid: StreetGrid,
    pub(crate) clock: SimClock,
    pub(crate) kpis: Arc<KpiBoard>,
    pub(crate) pins: PinBoard,
    /// Hand-over codes by order id and check-in codes by booking id: how a customer tells its courier
    /// or its house-call provider at the door.
    pub(crate) codes: PinBoard,
    pub(crate) config: DemoConfig,
    /// When this run started (RFC 3339 UTC): rides requested before it belong to an earlier run.
    pub(crate) run_started: String,
    /// How riders who are people (not agents of this demo) tell a demo driver their PIN.
    pub(crate) pin_teller: Option<PinTeller>,
}

/// How a customer who is a person, not an agent of this demo (someone trying the rider app or curl, say),
/// tells a demo driver the ride's PIN at the car, a demo courier the order's hand-over code or a demo
/// house-call provider the booking's check-in code at the door.
/// `doorstep demo` answers from the server's record: a stand-in for the customer reading it out. It is
/// asked only once the driver has arrived, and only for jobs whose code no demo agent has posted.
#[derive(Clone)]
pub struct PinTeller(TellPin);

/// The function behind a [`PinTeller`]: a job's id in (a ride's, an order's or a booking's), its code out
/// (if known).
type TellPin = std::sync::Arc<
    dyn Fn(String) -> futures_util::future::BoxFuture<'static, Option<String>> + Send + Sync,
>;

impl PinTeller {
    /// A teller answering with `tell`.
    pub fn new(
        tell: impl Fn(String) -> futures_util::future::BoxFuture<'static, Option<String>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        PinTeller(std::sync::Arc::new(tell))
    }

    /// The PIN of `ride_id`, if the rider tells it.
    pub(crate) async fn tell(&self, ride_id: String) -> Option<String> {
        (self.0)(ride_id).await
    }
}

impl std::fmt::Debug for PinTeller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinTeller")
    }
}

/// Runs the simulated city against the server at `config.base_url` until `shutdown` resolves.
///
/// Spawns its agents on the caller's tokio runtime, publishes [`Kpis`] to `kpis` once a second
/// (and once more at the end), and returns after the agents have stopped: drivers get a few
/// seconds to go offline, then whatever is left is aborted. The server must already be listening;
/// agents that cannot reach it keep retrying with backoff, so starting the demo early is harmless.
///
/// # Errors
///
/// Only before anything starts: an invalid [`DemoConfig`] or an HTTP client that cannot be built.
pub async fn run(
    config: DemoConfig,
    kpis: watch::Sender<Kpis>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DemoError> {
    run_with_pin_teller(config, kpis, shutdown, None).await
}

/// [`run`], with a way for riders who are people to tell demo drivers their PIN ([`PinTeller`]).
pub async fn run_with_pin_teller(
    config: DemoConfig,
    kpis: watch::Sender<Kpis>,
    shutdown: impl Future<Output = ()> + Send,
    pin_teller: Option<PinTeller>,
) -> Result<(), DemoError> {
    config.validate()?;
    let api = Api::new(&config.base_url, MAX_CONCURRENT_REQUESTS)?;
    let city = doorstep_geo::City::manhattan();
    let ctx = Arc::new(Ctx {
        api,
        city,
        grid: StreetGrid::of(city),
        clock: SimClock::start(
            config
                .clock_start_unix
                .filter(|t| t.is_finite())
                .unwrap_or_else(clock::wall_clock_unix),
            config.speed,
        ),
        run_started: clock::rfc3339(clock::wall_clock_unix()),
        pin_teller,
        kpis: Arc::new(KpiBoard::default()),
        pins: PinBoard::default(),
        codes: PinBoard::default(),
        config,
    });
    tracing::info!(
        drivers = ctx.config.drivers,
        speed = ctx.config.speed,
        demand_scale = ctx.config.demand_scale,
        restaurants = ctx.config.restaurants,
        food_orders_per_hour = ctx.config.food_orders_per_hour,
        providers = ctx.config.providers,
        house_calls_per_day = ctx.config.house_calls_per_day,
        seed = ctx.config.seed,
        base_url = %ctx.config.base_url,
        "demo starting"
    );

    let (stop, stop_rx) = watch::channel(false);
    let mut agents = JoinSet::new();
    for index in 0..ctx.config.drivers {
        agents.spawn(driver::run_driver(
            Arc::clone(&ctx),
            index,
            Shutdown::new(stop_rx.clone()),
        ));
    }
    agents.spawn(rider::run_riders(
        Arc::clone(&ctx),
        Shutdown::new(stop_rx.clone()),
    ));
    agents.spawn(food::run_food(
        Arc::clone(&ctx),
        Shutdown::new(stop_rx.clone()),
    ));
    agents.spawn(housecalls::run_house_calls(
        Arc::clone(&ctx),
        Shutdown::new(stop_rx.clone()),
    ));

    let mut publish = tokio::time::interval(Duration::from_secs(1));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = publish.tick() => {
                kpis.send_replace(ctx.kpis.snapshot());
            }
            Some(joined) = agents.join_next() => {
                // Agents only end early on shutdown; anything else is a bug worth reporting.
                if let Err(error) = joined {
                    tracing::error!(%error, "a demo agent panicked");
                }
            }
        }
    }

    tracing::info!("demo stopping");
    stop.send_replace(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while agents.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = agents.len(),
            "demo agents did not stop in time; aborting them"
        );
        agents.shutdown().await;
    }
    kpis.send_replace(ctx.kpis.snapshot());
    Ok(())
}
