//! Use cases of Doorstep and the live machinery behind them: accounts and sessions, quotes and rides,
//! offers, driver locations, the per-city dispatcher loop and the event bus.
//!
//! This crate knows the store and the bus but not HTTP or JSON: the `api` crate calls these functions with
//! domain types and maps [`AppError`] to responses. Every change of a ride's state goes through the domain
//! state machine and is saved together with its events in one store transaction; events are published to
//! the bus only after that transaction commits, so subscribers never see an event the record lacks.
//!
//! Hot state (online drivers and their positions, rides waiting for dispatch) lives in memory in
//! [`fleet::Fleet`]; the store is the record, and [`App::start`] rebuilds the hot state from it after a
//! restart.

pub mod auth;
pub mod bus;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod console;
pub mod console_food;
pub mod console_housecalls;
pub mod contact;
pub mod courier;
pub mod device_ingest;
pub mod devices;
pub mod dispatcher;
pub mod drivers;
pub mod earnings;
pub mod error;
pub mod fleet;
pub mod food_ratings;
pub mod house_ratings;
pub mod house_visits;
pub mod housecall_admin;
pub mod housecalls;
pub mod merchant_statement;
pub mod merchants;
pub mod ops;
pub mod order_payments;
pub mod orders;
pub mod payments;
pub mod reoptimise;
pub mod ride_counts;
pub mod rides;
pub mod saved_places;
pub mod visit_safety;

pub use bus::{
    BusMessage, Delivery, DriverPosition, EventBus, Interest, LocationUpdate, Subscription,
};
pub use clock::Clock;
pub use config::AppConfig;
pub use error::AppError;

use doorstep_domain::ride::RideState;
use doorstep_geo::City;
use doorstep_store::Store;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The application: cheap to clone, shared by every request handler and background task.
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<AppInner>,
    /// The dispatcher's store in cluster mode: fenced with the city's epoch (see [`cluster`]).
    fenced: Option<Store>,
}

#[derive(Debug)]
struct AppInner {
    store: Store,
    config: AppConfig,
    city: &'static City,
    bus: EventBus,
    fleet: Mutex<fleet::Fleet>,
    dispatch: mpsc::Sender<dispatcher::DispatchCommand>,
    clock: Clock,
    sessions: auth::SessionCache,
    ride_counts: ride_counts::RideCounts,
    /// Each zone's surge multiplier and when it last moved (see [`App::surge_at`]).
    surge: Mutex<SurgeBoard>,
    /// Where dispatch planned the stops of each delivery offer (see [`courier`]).
    offer_routes: Mutex<
        std::collections::HashMap<doorstep_domain::OfferId, Vec<(doorstep_domain::JobId, bool)>>,
    >,
    /// Each house-call provider's last reported position (see [`house_visits`]).
    provider_positions: Mutex<
        std::collections::HashMap<
            doorstep_domain::UserId,
            (doorstep_geo::LatLng, doorstep_domain::Timestamp),
        >,
    >,
    /// The link to the other nodes, in cluster mode.
    cluster: Option<Arc<cluster::Cluster>>,
    /// What the device ingest knows of each device (see [`devices`]).
    devices: devices::DeviceCache,
    /// What the device ingest accepted and dropped (see [`device_ingest`]).
    ingest_counts: device_ingest::IngestCounts,
}

/// Each zone's surge multiplier and when it last moved, by zone index.
type SurgeBoard = std::collections::HashMap<
    u8,
    (
        doorstep_domain::pricing::SurgeMillis,
        doorstep_domain::Timestamp,
    ),
>;

/// The background tasks of a running [`App`]; await [`Background::stopped`] after signalling shutdown.
#[derive(Debug)]
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Waits until every background task has finished.
    pub async fn stopped(self) {
        for t in self.tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "background task failed");
            }
        }
    }
}

impl App {
    /// Builds the app on a migrated store, rebuilds the hot state from the record, and spawns the dispatcher,
    /// the position flusher and the purge of expired tickets, sessions and unused quotes. They stop when `shutdown` becomes `true`.
    pub async fn start(
        store: Store,
        config: AppConfig,
        clock: Clock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(App, Background), AppError> {
        let (app, rx) = App::build(store, config, clock, None);
        // Parse the places data (streets, addresses, the road graph) now, off the request path.
        drop(tokio::task::spawn_blocking(|| {
            doorstep_places::Places::manhattan();
        }));
        let pending = app.rebuild_hot_state().await?;
        // The one count of the record; from here on the counts follow the committed changes.
        let counts = app.store().count_rides_by_state().await?;
        app.inner.ride_counts.load(&counts);
        let dispatcher = tokio::spawn(dispatcher::run(app.clone(), rx, pending, shutdown.clone()));
        let flusher = tokio::spawn(drivers::flush_positions(app.clone(), shutdown.clone()));
        let reoptimiser = tokio::spawn(reoptimise::run(app.clone(), shutdown.clone()));
        let mut tasks = vec![dispatcher, flusher, reoptimiser];
        if let Some(url) = app.config().mqtt_url.clone() {
            let options = device_ingest::BrokerOptions::parse(&url)?;
            tasks.push(tokio::spawn(device_ingest::run(
                app.clone(),
                options,
                shutdown.clone(),
            )));
        }
        tasks.push(tokio::spawn(auth::purge_expired(app.clone(), shutdown)));
        Ok((app, Background { tasks }))
    }

    /// [`App::start`] as one node of a cluster (see [`cluster`]): the node connects to NATS, serves
    /// the API at once, and runs the city's dispatcher only while it holds the city's lease (after
    /// taking the city's epoch and rebuilding the hot state from the record). The store must be
    /// PostgreSQL: SQLite is one machine's file.
    pub async fn start_cluster(
        store: Store,
        config: AppConfig,
        clock: Clock,
        shutdown: watch::Receiver<bool>,
        options: cluster::ClusterOptions,
    ) -> Result<(App, Background), AppError> {
        if store.backend() != doorstep_store::Backend::Postgres {
            return Err(AppError::Internal(
                "cluster mode needs PostgreSQL as the record: SQLite is one machine's file".into(),
            ));
        }
        let link = Arc::new(cluster::Cluster::connect(&options, "manhattan").await?);
        let (app, rx) = App::build(store, config, clock, Some(Arc::clone(&link)));
        app.bus().attach(link);
        drop(tokio::task::spawn_blocking(|| {
            doorstep_places::Places::manhattan();
        }));
        let counts = app.store().count_rides_by_state().await?;
        app.inner.ride_counts.load(&counts);
        let node = tokio::spawn(cluster::run(app.clone(), rx, shutdown.clone()));
        let flusher = tokio::spawn(drivers::flush_positions(app.clone(), shutdown.clone()));
        let reoptimiser = tokio::spawn(reoptimise::run(app.clone(), shutdown.clone()));
        let mut tasks = vec![node, flusher, reoptimiser];
        if let Some(url) = app.config().mqtt_url.clone() {
            let options = device_ingest::BrokerOptions::parse(&url)?;
            tasks.push(tokio::spawn(device_ingest::run(
                app.clone(),
                options,
                shutdown.clone(),
            )));
        }
        tasks.push(tokio::spawn(auth::purge_expired(app.clone(), shutdown)));
        Ok((app, Background { tasks }))
    }

    /// This app writing through `fence` (the dispatcher's, in cluster mode).
    pub(crate) fn fenced(&self, fence: doorstep_store::Fence) -> App {
        App {
            inner: Arc::clone(&self.inner),
            fenced: Some(self.inner.store.fenced(fence)),
        }
    }

    /// The app for managing accounts from the command line (`doorstep admin create`): no hot state, no
    /// dispatcher, no background task, so that it never acts on the rides of a live database that a
    /// running server owns. Only the account use cases (sign-up, admin creation, login) may be called on it.
    pub fn for_accounts(store: Store, config: AppConfig, clock: Clock) -> App {
        App::build(store, config, clock, None).0
    }

    /// The app with empty hot state, and the receiving end of its dispatcher's commands.
    fn build(
        store: Store,
        config: AppConfig,
        clock: Clock,
        cluster: Option<Arc<cluster::Cluster>>,
    ) -> (App, mpsc::Receiver<dispatcher::DispatchCommand>) {
        let (tx, rx) = mpsc::channel(dispatcher::COMMAND_QUEUE);
        let position_limits = config.position_limits;
        let app = App {
            inner: Arc::new(AppInner {
                store,
                config,
                city: City::manhattan(),
                bus: EventBus::new(),
                fleet: Mutex::new(
                    fleet::Fleet::new(City::manhattan())
                        .with_position_limits(City::manhattan(), position_limits),
                ),
                dispatch: tx,
                clock,
                sessions: auth::SessionCache::default(),
                ride_counts: ride_counts::RideCounts::default(),
                surge: Mutex::new(SurgeBoard::new()),
                offer_routes: Mutex::default(),
                provider_positions: Mutex::default(),
                cluster,
                devices: devices::DeviceCache::default(),
                ingest_counts: device_ingest::IngestCounts::default(),
            }),
            fenced: None,
        };
        (app, rx)
    }

    /// What the device ingest knows of each device.
    pub(crate) fn device_cache(&self) -> &devices::DeviceCache {
        &self.inner.devices
    }

    pub(crate) fn ingest_counts(&self) -> &device_ingest::IngestCounts {
        &self.inner.ingest_counts
    }

    /// The zones' surge multipliers.
    pub(crate) fn surge_board(&self) -> &Mutex<SurgeBoard> {
        &self.inner.surge
    }

    /// The system of record.
    pub fn store(&self) -> &Store {
        self.fenced.as_ref().unwrap_or(&self.inner.store)
    }

    /// The configuration the app runs with.
    pub fn config(&self) -> &AppConfig {
        &self.inner.config
    }

    /// The city this app serves.
    pub fn city(&self) -> &'static City {
        self.inner.city
    }

    /// The event bus.
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// How many rides are in each state (for `/metrics`): counted from the record once at start, then kept
    /// up to date by every committed change, so that reading them costs no query.
    pub fn ride_counts(&self) -> &ride_counts::RideCounts {
        &self.inner.ride_counts
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Runs `f` with the hot state locked. Keep `f` short: every request and the dispatcher share the lock.
    pub fn with_fleet<R>(&self, f: impl FnOnce(&mut fleet::Fleet) -> R) -> R {
        let mut guard = match self.inner.fleet.lock() {
            Ok(g) => g,
            // A panic while holding the lock leaves plain data behind; keep serving.
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Rebuilds the hot state from the record after a (re)start: online drivers and their last positions,
    /// drivers on rides, rides waiting for dispatch and their offers.
    async fn rebuild_hot_state(&self) -> Result<Vec<dispatcher::PendingRide>, AppError> {
        let record = self.read_hot_state().await?;
        let now = self.clock().now();
        let pending = self.with_fleet(|f| record.apply(f, now));
        self.apply_carried_orders(&record);
        Ok(pending)
    }

    /// What the hot state is rebuilt from: online workers and their last positions, rides not ended
    /// and their pending offers, and orders a courier carries.
    async fn read_hot_state(&self) -> Result<HotRecord, AppError> {
        Ok(HotRecord {
            online: self.store().online_drivers().await?,
            active: self
                .store()
                .rides_in_states(&RideState::OPEN, i64::MAX)
                .await?,
            offers: self.store().pending_offers().await?,
            carried: self.store().orders_with_courier().await?,
        })
    }

    /// Orders with a courier: their stops go back on the courier's route.
    fn apply_carried_orders(&self, record: &HotRecord) {
        for order in &record.carried {
            self.apply_order(order, Some(None));
        }
        tracing::info!(
            online = record.online.len(),
            active = record.active.len(),
            orders = record.carried.len(),
            "hot state rebuilt"
        );
    }

    /// Derives the hot state of `ride` from its committed state (at its new version) with `offer` the
    /// offer out, if any; refused if a newer change of the ride got there first
    /// ([`fleet::Fleet::apply_ride`]).
    pub(crate) fn apply_committed(
        &self,
        ride: &doorstep_domain::ride::Ride,
        offer: Option<(doorstep_domain::UserId, doorstep_domain::OfferId)>,
    ) {
        let now = self.clock().now();
        let snapshot = fleet::RideSnapshot::of(ride, offer);
        self.with_fleet(|f| f.apply_ride(&snapshot, now));
        self.tell_job_changed(ride.id().into());
    }

    /// Rebuilds the hot state from the record for a takeover of the city (cluster mode): what this
    /// node held is dropped, since it saw only its own requests. The new state replaces the old in one
    /// step, with the kept trip odometers, and then takes the newer positions this node heard meanwhile
    /// (a point reported while the record was read moves its driver and its trip's odometer on from
    /// the restored values instead of being lost with the old state).
    pub(crate) async fn rebuild_for_takeover(
        &self,
    ) -> Result<Vec<dispatcher::PendingRide>, AppError> {
        let record = self.read_hot_state().await?;
        let odometers = self.store().open_odometers().await?;
        let position_limits = self.config().position_limits;
        let interval = self.config().location_push_interval_ms;
        let now = self.clock().now();
        let pending = self.with_fleet(|f| {
            let heard: Vec<(
                doorstep_domain::UserId,
                doorstep_geo::LatLng,
                doorstep_domain::Timestamp,
            )> = f
                .drivers()
                .filter_map(|(id, d)| Some((id, d.position()?, d.last_seen()?)))
                .collect();
            *f = fleet::Fleet::new(City::manhattan())
                .with_position_limits(City::manhattan(), position_limits);
            let pending = record.apply(f, now);
            for o in &odometers {
                f.restore_odometer(o.job, o.metres);
            }
            for (driver, position, at) in heard {
                let newer = f
                    .driver(driver)
                    .is_some_and(|d| d.last_seen().is_none_or(|seen| at > seen));
                if newer {
                    f.report_positions(driver, &[(position, at)], interval);
                }
            }
            pending
        });
        self.apply_carried_orders(&record);
        Ok(pending)
    }

    /// Applies, as the record has them now, the jobs under way of `worker` and the jobs of its pending
    /// offers: the dispatcher's view of a worker the record refused an offer to
    /// ([`doorstep_store::StoreError::WorkerBusy`]) was behind.
    pub(crate) async fn refresh_worker(&self, worker: doorstep_domain::UserId) {
        let (jobs, offers) = match tokio::try_join!(
            self.store().jobs_under_way_of(worker),
            self.store().pending_offers_of_driver(worker)
        ) {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(%worker, error = %e, "could not read a worker's jobs again");
                return;
            }
        };
        let offered = offers
            .iter()
            .map(|o| doorstep_domain::JobId::from(o.ride_id));
        let mut all: Vec<doorstep_domain::JobId> = jobs.into_iter().chain(offered).collect();
        all.sort_unstable();
        all.dedup();
        for job in all {
            self.refresh_job(job).await;
        }
    }

    /// Applies a job's state as the record has it now (the owner, told by another node).
    pub(crate) async fn refresh_job(&self, job: doorstep_domain::JobId) {
        let kind = match self.store().job(job).await {
            Ok(Some(j)) => j.kind,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(job_id = %job, error = %e, "could not read a job another node changed");
                return;
            }
        };
        match kind {
            doorstep_domain::job::JobKind::Ride => {
                let id = doorstep_domain::RideId::from(job);
                let (ride, offers) = match tokio::try_join!(
                    self.store().ride(id),
                    self.store().offers_of_ride(id)
                ) {
                    Ok((Some(ride), offers)) => (ride, offers),
                    Ok((None, _)) => return,
                    Err(e) => {
                        tracing::warn!(job_id = %job, error = %e, "could not read a ride another node changed");
                        return;
                    }
                };
                let offer = (ride.state() == RideState::Requested)
                    .then(|| {
                        offers
                            .iter()
                            .find(|o| o.state == doorstep_domain::offer::OfferState::Pending)
                            .map(|o| (o.driver, o.id))
                    })
                    .flatten();
                let now = self.clock().now();
                let snapshot = fleet::RideSnapshot::of(&ride, offer);
                self.with_fleet(|f| f.apply_ride(&snapshot, now));
            }
            doorstep_domain::job::JobKind::Delivery => {
                let id = doorstep_domain::RideId::from(job);
                match tokio::try_join!(self.store().order(job), self.store().offers_of_ride(id)) {
                    Ok((Some(order), offers)) => {
                        let offer = offers
                            .iter()
                            .find(|o| o.state == doorstep_domain::offer::OfferState::Pending)
                            .map(|o| (o.driver, o.id));
                        self.apply_order_here(&order, Some(offer));
                    }
                    Ok((None, _)) => {}
                    Err(e) => {
                        tracing::warn!(job_id = %job, error = %e, "could not read an order another node changed");
                    }
                }
            }
            doorstep_domain::job::JobKind::HouseCall => {}
        }
    }

    /// Queues a command for this node's dispatcher.
    pub(crate) fn queue_dispatch_locally(&self, command: dispatcher::DispatchCommand) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.inner.dispatch.try_send(command) {
            metrics::counter!("dispatch_commands_dropped_total").increment(1);
            tracing::warn!("dispatcher queue full; the ride waits for the next reconciliation");
        }
    }

    pub(crate) fn dispatch(&self, command: dispatcher::DispatchCommand) {
        // In cluster mode the city's owner queues it (this node too, if it is the owner).
        if self.tell_dispatch(command) {
            return;
        }
        // The queue is bounded: a command that finds it full is dropped, and the dispatcher's
        // periodic reconciliation with the record picks the ride up. The receiver only goes away
        // at shutdown, when nothing needs dispatching any more.
        self.queue_dispatch_locally(command);
    }
}

/// The record's part of the hot state ([`App::read_hot_state`]).
struct HotRecord {
    online: Vec<(
        doorstep_domain::UserId,
        Option<(doorstep_geo::LatLng, doorstep_domain::Timestamp)>,
    )>,
    active: Vec<doorstep_domain::ride::Ride>,
    offers: Vec<doorstep_domain::offer::Offer>,
    carried: Vec<doorstep_domain::food::order::Order>,
}

impl HotRecord {
    /// Puts the online workers, their positions and the rides into `f`; the rides waiting for a driver,
    /// with their offer out if any, for the dispatcher.
    fn apply(
        &self,
        f: &mut fleet::Fleet,
        now: doorstep_domain::Timestamp,
    ) -> Vec<dispatcher::PendingRide> {
        let mut pending = Vec::new();
        for (driver, position) in &self.online {
            f.set_online(*driver, true);
            if let Some((p, at)) = position {
                f.restore_position(*driver, *p, *at);
            }
        }
        // The rides go through the one applier of committed changes, as their snapshots.
        for ride in &self.active {
            let offer = self.offers.iter().find(|o| o.ride_id == ride.id());
            let offered = (ride.state() == RideState::Requested)
                .then(|| offer.map(|o| (o.driver, o.id)))
                .flatten();
            f.apply_ride(&fleet::RideSnapshot::of(ride, offered), now);
            if ride.state() == RideState::Requested {
                pending.push(dispatcher::PendingRide {
                    ride_id: ride.id(),
                    pickup: ride.pickup(),
                    requested_at: ride.requested_at(),
                    excluded: ride.excluded_drivers().to_vec(),
                    offer: offer.map(|o| (o.id, o.driver, o.expires_at)),
                });
            }
        }
        pending
    }
}
