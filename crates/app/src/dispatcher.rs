//! The live dispatcher of a city: a thin async shell around [`doorstep_dispatch::Dispatcher`], the
//! IO-free core that the simulator also drives (`doorstep bench ridehail --policy live`), so the
//! benchmark measures what the server runs.
//!
//! The shell turns what happens into the core's inputs (a ride waits: the job opens; a ride is
//! assigned, cancelled or ended: the job is gone; drivers' places and availability from the hot
//! state at each tick), ticks the core every batch window, and carries out its actions against the
//! store: offers, expiries, `no_driver_available` verdicts, and repositioning suggestions to idle
//! drivers (published on the bus for their apps). Store errors never drop a ride:
//!
//! - an offer the store could not record goes back to the core ([`Input::OfferFailed`]) and the
//!   ride waits for the next batch;
//! - a verdict the store could not record is repeated by the core after `retry_secs`;
//! - a ride the shell could not read is read again at every tick until it can;
//! - every `reconcile_every_ticks` ticks ([`crate::AppConfig`]) the shell compares the core's jobs
//!   with the rides the store says wait, so a command lost to a full queue (the queue is bounded)
//!   or a failed read is made good.

use crate::App;
use crate::bus::{BusMessage, RepositionSuggestion};
use doorstep_dispatch::{
    Action, DeliveryRules, DispatchConfig, Dispatcher, Forecast, Input, Insertion, JobHistory,
    OfferNo, OpenJob, Planar, RouteStop, TravelTime, Unfulfilled, Window,
};
use doorstep_domain::food::order::{DELIVERY_GRACE_S, Order};
use doorstep_domain::job::{JobKind, UnfulfilledReason};
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::ride::{NoDriverReason, Ride, RideState};
use doorstep_domain::worker;
use doorstep_domain::{JobId, OfferId, RideId, Timestamp, UserId};
use doorstep_geo::{City, LatLng, Utm, new_york_local, to_latlng, to_utm};
use futures_util::StreamExt;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use tokio::sync::{mpsc, watch};

/// What request handlers tell the dispatcher, of a job of any service (a ride's job has the ride's id,
/// an order's job the order's).
#[derive(Debug, Clone, Copy)]
pub enum DispatchCommand {
    /// The job may wait for a worker (a new ride; a ride back after its driver cancelled; an order the
    /// kitchen accepted, or whose ready time moved): the dispatcher reads it and opens it if it waits.
    Open(JobId),
    /// The job's current offer ended without an assignment: find the next worker.
    Requeue(JobId),
    /// The job no longer needs dispatch (assigned, cancelled or ended).
    Gone(JobId),
}

/// How many commands may wait for the dispatcher; past that, senders drop the command and the
/// periodic reconciliation with the store picks the ride up.
pub const COMMAND_QUEUE: usize = 4096;

/// A ride waiting for a driver when the server starts, as the record has it.
#[derive(Debug, Clone)]
pub struct PendingRide {
    /// The ride.
    pub ride_id: RideId,
    /// Where the rider waits.
    pub pickup: LatLng,
    /// When the ride was requested; the pickup limit counts from here.
    pub requested_at: Timestamp,
    /// Drivers who declined, let an offer expire, or cancelled.
    pub excluded: Vec<UserId>,
    /// The offer out at the restart, with its driver and deadline.
    pub offer: Option<(OfferId, UserId, Timestamp)>,
}

/// A place of the city for the core: the point and its UTM projection (km, for distances).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CityPlace {
    /// The point.
    pub point: LatLng,
    /// Its projection.
    pub utm: Utm,
}

impl CityPlace {
    /// The place of `point`.
    pub fn of(point: LatLng) -> CityPlace {
        CityPlace {
            point,
            utm: to_utm(point),
        }
    }
}

impl Planar for CityPlace {
    fn xy_km(&self) -> (f64, f64) {
        (self.utm.x, self.utm.y)
    }
}

/// Seconds on the core's clock (Unix seconds) of a timestamp, and back.
fn secs(t: Timestamp) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        reason = "milliseconds of this era fit in f64"
    )]
    let s = t.millis() as f64 / 1000.0;
    s
}

fn timestamp(s: f64) -> Timestamp {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "seconds of this era, in milliseconds, fit in i64"
    )]
    let ms = (s * 1000.0).round() as i64;
    Timestamp::from_millis(ms)
}

/// The city's mean zone-to-zone travel times at New York local time: what the quote's and the
/// offer's ETAs use. The cost the dispatcher minimises is the drive's seconds, so on an idle
/// driver a ride's cost is exactly its pickup ETA.
#[derive(Debug, Clone, Copy)]
pub struct CityTravel {
    city: &'static City,
}

impl CityTravel {
    /// The travel times of `city`.
    pub fn new(city: &'static City) -> CityTravel {
        CityTravel { city }
    }
}

impl TravelTime for CityTravel {
    type Place = CityPlace;

    fn travel_secs(&self, from: &CityPlace, to: &CityPlace, depart: f64) -> Option<f64> {
        #[allow(clippy::cast_possible_truncation, reason = "Unix seconds of this era")]
        let unix = depart.floor() as i64;
        let secs =
            self.city
                .mean_travel_secs(from.utm, to.utm, new_york_local(unix).seconds_of_day);
        (secs.is_finite() && secs >= 0.0).then_some(secs)
    }
}

/// Where riders are expected: the 2018 demand of the city's taxi zones in the current and the next
/// 15 minutes of the New York weekday, at each zone's lot (the lot nearest the zone's centroid).
#[derive(Debug, Clone)]
pub struct CityForecast {
    city: &'static City,
    /// Per zone, its lot as a place, if it has one.
    lots: Vec<Option<CityPlace>>,
    /// Per zone, its index among the targets.
    target_of_zone: Vec<Option<usize>>,
}

impl CityForecast {
    /// The forecast of `city`.
    pub fn new(city: &'static City) -> CityForecast {
        let lots: Vec<Option<CityPlace>> = city
            .zones()
            .iter()
            .enumerate()
            .map(|(z, zone)| {
                city.lots()
                    .iter()
                    .filter(|l| l.zone.index() == z)
                    .min_by(|a, b| {
                        let d =
                            |p: Utm| (p.x - zone.centroid.x).abs() + (p.y - zone.centroid.y).abs();
                        d(a.pos).total_cmp(&d(b.pos))
                    })
                    .map(|l| CityPlace {
                        point: to_latlng(l.pos),
                        utm: l.pos,
                    })
            })
            .collect();
        let mut next = 0;
        let target_of_zone = lots
            .iter()
            .map(|l| {
                l.map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        CityForecast {
            city,
            lots,
            target_of_zone,
        }
    }
}

impl Forecast<CityPlace> for CityForecast {
    fn targets(&self, now: f64) -> Vec<(CityPlace, f64)> {
        #[allow(clippy::cast_possible_truncation, reason = "Unix seconds of this era")]
        let local = new_york_local(now.floor() as i64);
        let demand = self.city.demand();
        let window = u8::try_from(local.seconds_of_day / 900).unwrap_or(0) % 96;
        let next = (window + 1) % 96;
        // The table is by weekday (Monday 0 .. Friday 4); weekends use Friday's.
        let dow = local.weekday.min(4);
        let mut weight = vec![0.0; self.lots.len()];
        for w in [window, next] {
            for row in demand.rows(dow, w) {
                if let Some(x) = weight.get_mut(row.pickup.index()) {
                    *x += f64::from(row.trips);
                }
            }
        }
        self.lots
            .iter()
            .zip(weight)
            .filter_map(|(lot, w)| lot.map(|l| (l, w)))
            .collect()
    }

    fn home(&self, place: &CityPlace, _targets: &[(CityPlace, f64)]) -> Option<usize> {
        let zone = self.city.zone_of(place.utm);
        self.target_of_zone.get(zone.index()).copied().flatten()
    }
}

type Core = Dispatcher<JobId, UserId, CityPlace, CityTravel, CityForecast>;

/// The core's tuning from the app's configuration.
pub fn core_config(app: &App) -> DispatchConfig {
    let c = app.config();
    #[allow(clippy::cast_precision_loss, reason = "seconds of configuration")]
    DispatchConfig {
        offer_timeout_secs: c.offer_timeout_secs as f64,
        candidates_per_job: c.candidates_per_request.max(1),
        max_reach_km: c.max_pickup_km,
        max_first_stop_secs: f64::INFINITY,
        stale_after_secs: c.driver_stale_secs as f64,
        // Workers with stops take no other job here (no chaining): the wait never arises.
        wait_secs_weight: 0.0,
        retry_secs: 10.0,
        recheck_secs: 10.0,
        reposition_interval_secs: 60.0,
        reposition_max_km: 3.0,
        reposition_horizon_secs: 300.0,
        cell_km: 0.5,
        give_up_unreachable_secs: c.no_driver_grace_secs as f64,
    }
}

/// The rules for deliveries in the live city: commit a courier late enough that it reaches the
/// restaurant about when the food is ready (the offer's answer time and a minute of slack ahead),
/// weigh a late pickup heavily (the food and its customer wait), and batch up to three orders of
/// restaurants a few hundred metres apart when couriers are short and no order is delayed by more
/// than ten minutes. Rides are untouched by these rules: a ride's pickup window is open from the
/// start.
pub fn delivery_rules(app: &App) -> DeliveryRules {
    #[allow(clippy::cast_precision_loss, reason = "seconds of configuration")]
    let answer_secs = app.config().offer_timeout_secs as f64;
    DeliveryRules {
        commit_lead_secs: answer_secs + 60.0,
        plan_ahead_secs: f64::INFINITY,
        late_secs_weight: 20.0,
        max_bundle_jobs: 3,
        bundle_radius_km: 0.3,
        bundle_max_delay_secs: 600.0,
        bundle_delay_weight: 1.0,
        bundle_when_short: 1.0,
        // Food waits for the next courier to come online, until its own deadline.
        wait_unreachable: true,
    }
}

/// The ride's reason for the core's verdict.
pub fn no_driver_reason(reason: Unfulfilled) -> NoDriverReason {
    match reason {
        Unfulfilled::NoWorkerNearby => NoDriverReason::NoDriversNearby,
        Unfulfilled::AllOffersDeclined => NoDriverReason::AllOffersDeclined,
        Unfulfilled::OffersExpired => NoDriverReason::OffersExpired,
        Unfulfilled::WorkerCancelled => NoDriverReason::DriverCancelledNoReplacement,
        Unfulfilled::TimedOut => NoDriverReason::TimedOut,
    }
}

/// What the record says happened to a waiting job's offers: declined, expired, and accepted ones (a
/// job that waits again after an accepted offer was cancelled by that worker).
pub fn history_of(offers: &[Offer]) -> JobHistory {
    let count = |state: OfferState| {
        u32::try_from(offers.iter().filter(|o| o.state == state).count()).unwrap_or(u32::MAX)
    };
    JobHistory {
        declined: count(OfferState::Declined),
        expired: count(OfferState::Expired),
        worker_cancelled: count(OfferState::Accepted),
    }
}

/// The core for `app`'s city, with the delivery rules.
pub fn new_core(app: &App) -> Core {
    Dispatcher::new(
        core_config(app),
        CityTravel { city: app.city() },
        CityForecast::new(app.city()),
    )
    .with_delivery_rules(delivery_rules(app))
}

/// What the record says happened to a job's offers (any kind: the offers are keyed by job).
async fn history(app: &App, job: JobId) -> JobHistory {
    match app.store().offers_of_ride(RideId::from(job)).await {
        Ok(offers) => history_of(&offers),
        // The core keeps the counts it saw itself; the reason may miss older ones.
        Err(e) => {
            tracing::warn!(job_id = %job, error = %e, "dispatcher could not read a job's offers");
            JobHistory::default()
        }
    }
}

/// The job of a ride: its pickup (waiting from the request for the pickup limit) and drop-off, with
/// what the record says happened to its offers.
async fn open_job(app: &App, ride: &Ride) -> OpenJob<JobId, UserId, CityPlace> {
    let job = JobId::from(ride.id());
    let history = history(app, job).await;
    let requested = secs(ride.requested_at());
    #[allow(clippy::cast_precision_loss, reason = "seconds of configuration")]
    let limit = app.config().pickup_limit_secs as f64;
    OpenJob {
        job,
        stops: vec![
            RouteStop {
                job,
                place: CityPlace::of(ride.pickup()),
                window: Window {
                    earliest: f64::NEG_INFINITY,
                    latest: f64::INFINITY,
                },
                service_secs: 0.0,
                load: 1,
            },
            RouteStop {
                job,
                place: CityPlace::of(ride.dropoff()),
                window: Window::ANY,
                service_secs: 0.0,
                load: -1,
            },
        ],
        opened_at: requested,
        give_up_at: requested + limit,
        // Far above any pickup ETA: serve as many rides as possible, then minimise their ETAs.
        unassigned_cost: 1.0e7,
        excluded: ride.excluded_drivers().to_vec(),
        history,
    }
}

/// The job of an order the kitchen accepted: the pickup at the restaurant, whose window opens when the
/// food should be ready, and the drop-off at the customer, each with its service time; it ends
/// undeliverable when no courier took it [`DELIVERY_GRACE_S`] after the food was
/// ready (or now, for food that is late).
async fn open_order_job(app: &App, order: &Order, now: f64) -> OpenJob<JobId, UserId, CityPlace> {
    let job = order.job();
    let history = history(app, job.id).await;
    let ready = secs(order.ready_estimate());
    let load = i32::try_from(job.load).unwrap_or(i32::MAX);
    #[allow(clippy::cast_precision_loss, reason = "seconds of a constant")]
    let grace = DELIVERY_GRACE_S as f64;
    let stops = job
        .stops
        .iter()
        .enumerate()
        .map(|(i, s)| RouteStop {
            job: job.id,
            place: CityPlace::of(s.place),
            window: if i == 0 {
                Window {
                    earliest: ready,
                    latest: f64::INFINITY,
                }
            } else {
                Window::ANY
            },
            service_secs: f64::from(s.service_s),
            load: if i == 0 { load } else { -load },
        })
        .collect();
    OpenJob {
        job: job.id,
        stops,
        opened_at: secs(job.opened_at),
        give_up_at: ready.max(now) + grace,
        unassigned_cost: 1.0e7,
        excluded: job.excluded_workers.clone(),
        history,
    }
}

/// What the core was last told about a driver: place, time, whether it takes work, and the stops of
/// its route.
type Told = (LatLng, Timestamp, bool, Vec<worker::RouteStop>);

/// The core's stops of a worker's route.
fn core_stops(route: &[worker::RouteStop]) -> Vec<RouteStop<JobId, CityPlace>> {
    route
        .iter()
        .map(|s| RouteStop {
            job: s.job,
            place: CityPlace::of(s.place),
            window: Window {
                earliest: secs(s.window.earliest()),
                latest: if s.window.is_open_ended() {
                    f64::INFINITY
                } else {
                    secs(s.window.latest())
                },
            },
            service_secs: f64::from(s.service_s),
            load: i32::try_from(s.load_change).unwrap_or(0),
        })
        .collect()
}

/// An offer the core asked for, gathered over a tick's actions (a batch of deliveries is one offer of
/// several jobs, one action each).
struct Asked {
    offer: OfferNo,
    jobs: Vec<JobId>,
    worker: UserId,
    expires_at: f64,
    insertion: Insertion,
}

/// What the store answered to an offer: its id, or the jobs that no longer wait (the offer was not
/// made), or the store's error.
type OfferWrite = Result<Result<OfferId, Vec<JobId>>, crate::AppError>;

/// An offer ready to be written: the ask, with what the shell knew of it.
struct PreparedOffer {
    asked: Asked,
    delivery: bool,
    position: Option<LatLng>,
    eta: f64,
    route: Option<Vec<(JobId, bool)>>,
}

impl PreparedOffer {
    /// Records the offer (a ride's or a batch of deliveries'); touches only the store and the hot state.
    async fn write(self, app: &App, now: Timestamp) -> (Asked, OfferWrite) {
        let PreparedOffer {
            asked,
            delivery,
            position,
            eta,
            route,
        } = self;
        let expires_at = timestamp(asked.expires_at);
        let first = asked.jobs[0];
        let made = if delivery {
            app.make_delivery_offer(
                &asked.jobs,
                asked.worker,
                eta,
                position,
                route,
                now,
                expires_at,
            )
            .await
        } else {
            make_offer(
                app,
                RideId::from(first),
                asked.worker,
                eta,
                position,
                now,
                expires_at,
            )
            .await
            .map(|made| match made {
                Some(offer) => Ok(offer.id),
                None => Err(vec![first]),
            })
        };
        if let Err(crate::AppError::Conflict {
            code: "worker_busy",
            ..
        }) = &made
        {
            // The record says the worker is busy where the hot state said free: read its jobs again
            // before the next batch prices it.
            metrics::counter!("dispatch_offers_refused_worker_busy_total").increment(1);
            tracing::warn!(worker = %asked.worker, job_id = %first, "the record refused an offer to a worker with work under way or an open offer; its jobs are read again");
            app.refresh_worker(asked.worker).await;
        }
        (asked, made)
    }
}

/// What the shell keeps besides the core.
struct Shell {
    core: Core,
    /// The offers the core made that the store recorded.
    offers: HashMap<OfferNo, OfferId>,
    /// Offers out when the server started (made before the core existed): the shell expires
    /// them itself, and their jobs join the core once they are answered or expired.
    inherited: HashMap<JobId, (OfferId, Timestamp, UserId)>,
    /// Jobs to read again (a read failed).
    unread: BTreeSet<JobId>,
    /// Offers whose expiry the store could not record yet.
    unexpired: BTreeSet<OfferId>,
    /// The kind of each job the core holds (a ride, a delivery).
    kinds: HashMap<JobId, JobKind>,
    /// What the core was last told about each driver: place, time, available, its route's stops.
    told: HashMap<UserId, Told>,
    ticks: u64,
}

/// Runs the dispatcher until `shutdown` becomes true.
pub async fn run(
    app: App,
    mut commands: mpsc::Receiver<DispatchCommand>,
    initial: Vec<PendingRide>,
    shutdown: watch::Receiver<bool>,
) {
    run_borrowed(app, &mut commands, initial, shutdown).await;
}

/// [`run`] on a command queue that outlives it: a cluster node runs the dispatcher once per time it
/// owns the city, on the node's one queue.
pub async fn run_borrowed(
    app: App,
    commands: &mut mpsc::Receiver<DispatchCommand>,
    initial: Vec<PendingRide>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut shell = Shell {
        core: new_core(&app),
        offers: HashMap::new(),
        inherited: HashMap::new(),
        unread: BTreeSet::new(),
        unexpired: BTreeSet::new(),
        kinds: HashMap::new(),
        told: HashMap::new(),
        ticks: 0,
    };
    let pending = initial.len();
    for p in initial {
        let job = JobId::from(p.ride_id);
        shell.kinds.insert(job, JobKind::Ride);
        match p.offer {
            Some((offer, driver, deadline)) => {
                shell.inherited.insert(job, (offer, deadline, driver));
            }
            None => {
                shell.unread.insert(job);
            }
        }
    }
    // Orders waiting for a courier (and their offers out) join at the first reconciliation.
    shell.reconcile_orders(&app).await;
    let mut ticker = tokio::time::interval(app.config().batch_window);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(
        pending,
        window_ms = app.config().batch_window.as_millis(),
        "dispatcher started"
    );
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            command = commands.recv() => {
                let Some(command) = command else { break };
                let started = Instant::now();
                shell.command(&app, command).await;
                // The dispatcher is one task: its busy time over wall time is how near it runs to its
                // limit (reads of opened jobs here, solving and offer writes in a tick).
                metrics::histogram!("dispatch_busy_seconds", "what" => "command")
                    .record(started.elapsed().as_secs_f64());
            }
            _ = ticker.tick() => {
                let started = Instant::now();
                shell.tick(&app).await;
                metrics::histogram!("dispatch_busy_seconds", "what" => "tick")
                    .record(started.elapsed().as_secs_f64());
            }
        }
    }
    tracing::info!("dispatcher stopped");
}

impl Shell {
    async fn command(&mut self, app: &App, command: DispatchCommand) {
        let now = secs(app.clock().now());
        match command {
            DispatchCommand::Open(id) | DispatchCommand::Requeue(id) => {
                self.inherited.remove(&id);
                self.read(app, id).await;
            }
            DispatchCommand::Gone(id) => {
                self.gone(id, now);
            }
        }
        self.gauge();
    }

    fn gone(&mut self, id: JobId, now: f64) {
        self.inherited.remove(&id);
        self.unread.remove(&id);
        self.kinds.remove(&id);
        self.core.handle(Input::JobGone(id), now);
    }

    /// Reads the job and opens or closes it; a failed read is retried at the next tick.
    async fn read(&mut self, app: &App, id: JobId) {
        let now = secs(app.clock().now());
        // Opening a job the core holds forgets its offer. If the record still has that offer
        // pending (the reconciliation opened the job and the core offered it before the job's
        // own command came, or the kitchen moved an offered order's ready time), the core would
        // offer the job a second time while the first offer stays pending. So the offer is looked
        // up first and the job read after it: a job read after its offer ended carries what ended
        // it (a decline's exclusion), one read before could not.
        if !self.inherited.contains_key(&id)
            && let Some(worker) = self.core.offered_to(id)
        {
            match app.store().offers_of_ride(RideId::from(id)).await {
                Ok(offers)
                    if offers
                        .iter()
                        .any(|o| o.driver == worker && o.state == OfferState::Pending) =>
                {
                    self.unread.remove(&id);
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(job_id = %id, error = %e, "dispatcher could not read a job's offers; retrying");
                    metrics::counter!("dispatch_store_retries_total", "what" => "read")
                        .increment(1);
                    self.unread.insert(id);
                    return;
                }
            }
        }
        let kind = match self.kinds.get(&id) {
            Some(k) => *k,
            None => match app.store().job(id).await {
                Ok(Some(job)) => job.kind,
                Ok(None) => {
                    self.gone(id, now);
                    return;
                }
                Err(e) => {
                    tracing::warn!(job_id = %id, error = %e, "dispatcher could not read a job; retrying");
                    metrics::counter!("dispatch_store_retries_total", "what" => "read")
                        .increment(1);
                    self.unread.insert(id);
                    return;
                }
            },
        };
        let opened = match kind {
            JobKind::Ride => match app.store().ride(RideId::from(id)).await {
                Ok(Some(ride)) if ride.state() == RideState::Requested => {
                    Ok(Some(open_job(app, &ride).await))
                }
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            },
            JobKind::Delivery => match app.store().order(id).await {
                Ok(Some(order)) if order.wants_courier() => {
                    Ok(Some(open_order_job(app, &order, now).await))
                }
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            },
            // House calls are booked with their provider, not dispatched here.
            JobKind::HouseCall => Ok(None),
        };
        match opened {
            Ok(Some(job)) => {
                self.unread.remove(&id);
                if !self.inherited.contains_key(&id) {
                    self.kinds.insert(id, kind);
                    self.core.handle(Input::JobOpened(job), now);
                }
            }
            Ok(None) => self.gone(id, now),
            Err(e) => {
                tracing::warn!(job_id = %id, error = %e, "dispatcher could not read a job; retrying");
                metrics::counter!("dispatch_store_retries_total", "what" => "read").increment(1);
                self.unread.insert(id);
            }
        }
    }

    async fn tick(&mut self, app: &App) {
        let now_ts = app.clock().now();
        self.ticks += 1;

        // Jobs whose read failed, offers whose expiry failed, inherited offers past due.
        for id in std::mem::take(&mut self.unread) {
            self.read(app, id).await;
        }
        for offer in std::mem::take(&mut self.unexpired) {
            self.expire(app, offer, None).await;
        }
        let due: Vec<(JobId, OfferId)> = self
            .inherited
            .iter()
            .filter(|(_, (_, deadline, _))| now_ts > *deadline)
            .map(|(&r, &(o, _, _))| (r, o))
            .collect();
        for (job, offer) in due {
            self.inherited.remove(&job);
            self.expire(app, offer, Some(job)).await;
        }
        if self
            .ticks
            .is_multiple_of(app.config().reconcile_every_ticks.max(1))
        {
            self.reconcile(app).await;
        }

        // Drivers: what changed since the core last heard. The batch's time is read with the fleet
        // (after the reads and writes above): an offer is never stamped before a change the batch saw,
        // such as the end of its worker's last job.
        let now_ts = self.sync_drivers(app);
        let now = secs(now_ts);

        let started = Instant::now();
        let actions = self.core.handle(Input::Tick, now);
        metrics::histogram!("dispatch_solve_seconds").record(started.elapsed().as_secs_f64());
        // The offers, gathered by offer (a batch is several actions of one offer).
        let mut asked: Vec<Asked> = Vec::new();
        for action in actions {
            match action {
                Action::Offer {
                    offer,
                    job,
                    worker,
                    expires_at,
                    insertion,
                } => match asked.iter_mut().find(|a| a.offer == offer) {
                    Some(a) => a.jobs.push(job),
                    None => asked.push(Asked {
                        offer,
                        jobs: vec![job],
                        worker,
                        expires_at,
                        insertion,
                    }),
                },
                other => self.execute(app, other, now_ts).await,
            }
        }
        metrics::histogram!("dispatch_batch_size").record(asked.len() as f64);
        // The offers of one batch are for different workers and different jobs: on PostgreSQL up to
        // `offer_writes_at_once` of their transactions run side by side (each is a few round trips;
        // a fenced one holds the city's fence row shared, so a takeover still waits for them all);
        // SQLite has one writer, so one at a time there. Their answers are applied in batch order.
        let at_once = match app.store().backend() {
            doorstep_store::Backend::Postgres => app.config().offer_writes_at_once.max(1),
            _ => 1,
        };
        let prepared: Vec<PreparedOffer> = asked
            .into_iter()
            .map(|a| self.prepare_offer(a, now_ts))
            .collect();
        let written: Vec<(Asked, OfferWrite)> = futures_util::stream::iter(prepared)
            .map(|p| p.write(app, now_ts))
            .buffered(at_once)
            .collect()
            .await;
        for (asked, made) in written {
            self.offer_written(&asked, made, now_ts);
        }
        self.gauge();
    }

    fn gauge(&self) {
        let c = self.core.counts();
        metrics::gauge!("dispatch_pending_rides").set((c.waiting + c.offered + c.ending) as f64);
    }

    /// Tells the core every driver whose place, availability or route changed, and which drivers
    /// left; returns the time at which the fleet was read (under its lock, so later than every change
    /// the read saw).
    fn sync_drivers(&mut self, app: &App) -> Timestamp {
        let mut seen: Vec<(UserId, Told, i32)> = Vec::new();
        let inherited_drivers: BTreeSet<UserId> = self
            .inherited
            .values()
            .map(|&(_, _, driver)| driver)
            .collect();
        let read_at = app.with_fleet(|f| {
            for (id, d) in f.drivers() {
                let (Some(p), Some(at)) = (d.position(), d.last_seen()) else {
                    continue;
                };
                // A driver with stops to do takes no other job here (no chaining); an offered
                // driver stays "online" for the core, which holds the offer itself. An offer made
                // before this dispatcher started (a restart, a takeover) is not the core's: its
                // driver takes nothing else until it is answered or expires.
                let available = d.takes_work() && !inherited_drivers.contains(&id);
                let capacity = i32::try_from(d.worker().capabilities.capacity).unwrap_or(i32::MAX);
                seen.push((id, (p, at, available, d.route().stops().to_vec()), capacity));
            }
            app.clock().now()
        });
        let now = secs(read_at);
        let mut present: BTreeSet<UserId> = BTreeSet::new();
        for (id, told, capacity) in seen {
            present.insert(id);
            if self.told.get(&id) == Some(&told) {
                continue;
            }
            let (p, at, available, _) = told;
            tracing::debug!(worker = %id, available, stops = told.3.len(), "dispatcher tells the core of a driver");
            let stops = core_stops(&told.3);
            self.told.insert(id, told);
            self.core.handle(
                Input::WorkerMoved {
                    worker: id,
                    place: CityPlace::of(p),
                    at: secs(at),
                    online: available,
                    capacity,
                    stops,
                },
                now,
            );
        }
        let gone: Vec<UserId> = self
            .told
            .keys()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.told.remove(&id);
            self.core.handle(Input::WorkerGone(id), now);
        }
        read_at
    }

    /// Makes good what commands may have missed: rides and orders waiting in the record that the
    /// core does not hold are opened.
    async fn reconcile(&mut self, app: &App) {
        let waiting = match app
            .store()
            .rides_in_states(&[RideState::Requested], i64::MAX)
            .await
        {
            Ok(rides) => rides,
            Err(e) => {
                tracing::warn!(error = %e, "dispatcher could not reconcile with the record");
                return;
            }
        };
        let now = secs(app.clock().now());
        for ride in waiting {
            let job = JobId::from(ride.id());
            if !self.core.holds(job) && !self.inherited.contains_key(&job) {
                metrics::counter!("dispatch_reconciled_total").increment(1);
                let open = open_job(app, &ride).await;
                self.kinds.insert(job, JobKind::Ride);
                self.core.handle(Input::JobOpened(open), now);
            }
        }
        self.reconcile_orders(app).await;
    }

    /// Opens the orders waiting for a courier that the core does not hold. An order with an offer
    /// still pending in the record (made before a restart) is inherited: the shell expires the
    /// offer at its deadline, and the order joins the core once it is answered or expired.
    async fn reconcile_orders(&mut self, app: &App) {
        let waiting = match app.store().orders_waiting_for_courier().await {
            Ok(orders) => orders,
            Err(e) => {
                tracing::warn!(error = %e, "dispatcher could not reconcile orders with the record");
                return;
            }
        };
        let now = secs(app.clock().now());
        for order in waiting {
            let job = order.id();
            if self.core.holds(job) || self.inherited.contains_key(&job) || !order.wants_courier() {
                continue;
            }
            match app.store().offers_of_ride(RideId::from(job)).await {
                Ok(offers) => {
                    if let Some(o) = offers.iter().find(|o| o.state == OfferState::Pending) {
                        self.inherited.insert(job, (o.id, o.expires_at, o.driver));
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(job_id = %job, error = %e, "dispatcher could not read an order's offers");
                    continue;
                }
            }
            metrics::counter!("dispatch_reconciled_total").increment(1);
            let open = open_order_job(app, &order, now).await;
            self.kinds.insert(job, JobKind::Delivery);
            self.core.handle(Input::JobOpened(open), now);
        }
    }

    /// What an offer the core asked for (a ride's to its driver, or a delivery's, one order or a batch,
    /// to its courier) needs from the shell, taken before the store is written (the
    /// writes of a tick run side by side and borrow nothing of the shell).
    fn prepare_offer(&self, asked: Asked, now: Timestamp) -> PreparedOffer {
        let position = self.told.get(&asked.worker).map(|t| t.0);
        let eta = (asked.insertion.first_arrival - secs(now)).max(0.0);
        let delivery = matches!(self.kinds.get(&asked.jobs[0]), Some(JobKind::Delivery));
        let route = delivery
            .then(|| {
                self.core.offered_route(asked.offer).map(|stops| {
                    // A job's first stop in the route is its pickup, the next its drop-off.
                    let mut seen: Vec<JobId> = Vec::new();
                    stops
                        .iter()
                        .map(|s| {
                            let pickup = !seen.contains(&s.job);
                            seen.push(s.job);
                            (s.job, pickup)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .flatten();
        PreparedOffer {
            asked,
            delivery,
            position,
            eta,
            route,
        }
    }

    /// What the store answered to an offer: the core and the shell learn it.
    fn offer_written(&mut self, asked: &Asked, made: OfferWrite, now: Timestamp) {
        let now_s = secs(now);
        match made {
            Ok(Ok(id)) => {
                tracing::debug!(worker = %asked.worker, jobs = ?asked.jobs, offer = %id, "offer recorded");
                self.offers.insert(asked.offer, id);
            }
            // Some jobs no longer wait: they go, the others wait for the next batch.
            Ok(Err(gone)) => {
                self.core.handle(Input::OfferFailed(asked.offer), now_s);
                for job in gone {
                    self.gone(job, now_s);
                }
            }
            Err(e) => {
                tracing::warn!(job_id = %asked.jobs[0], error = %e, "offer not recorded; the job waits for the next batch");
                metrics::counter!("dispatch_store_retries_total", "what" => "offer").increment(1);
                self.core.handle(Input::OfferFailed(asked.offer), now_s);
            }
        }
    }

    async fn execute(
        &mut self,
        app: &App,
        action: Action<JobId, UserId, CityPlace>,
        now: Timestamp,
    ) {
        let now_s = secs(now);
        match action {
            // Gathered by the tick.
            Action::Offer { .. } => {}
            Action::ExpireOffer { offer, job, .. } => {
                if let Some(id) = self.offers.remove(&offer) {
                    self.expire(app, id, Some(job)).await;
                }
            }
            Action::Unfulfilled { job, reason } => {
                let result = match self.kinds.get(&job) {
                    Some(JobKind::Delivery) => {
                        let reason = UnfulfilledReason::from(no_driver_reason(reason));
                        app.order_without_courier(job, reason).await
                    }
                    _ => give_up(app, RideId::from(job), no_driver_reason(reason)).await,
                };
                match result {
                    Ok(()) => self.gone(job, now_s),
                    // The core says it again after its retry interval.
                    Err(e) => {
                        tracing::warn!(job_id = %job, error = %e, "could not end a job without a worker; retrying");
                        metrics::counter!("dispatch_store_retries_total", "what" => "unfulfilled")
                            .increment(1);
                    }
                }
            }
            Action::Reposition { worker, to } => {
                metrics::counter!("reposition_suggestions_total").increment(1);
                let zone = app
                    .city()
                    .zones()
                    .get(app.city().zone_of(to.utm).index())
                    .map(|z| z.name.clone())
                    .unwrap_or_default();
                app.bus()
                    .publish(BusMessage::Suggestion(RepositionSuggestion {
                        driver: worker,
                        to: to.point,
                        zone,
                        at: now,
                    }));
            }
        }
    }

    /// Records the expiry of an offer (a ride's or a delivery's); `job` (if known) is read again
    /// afterwards so that the core sees its exclusions (or that it was taken meanwhile).
    async fn expire(&mut self, app: &App, offer: OfferId, job: Option<JobId>) {
        match app.expire_offer(offer).await {
            Ok(_) => {}
            Err(e @ crate::AppError::Internal(_)) => {
                tracing::warn!(error = %e, "offer expiry not recorded; retrying");
                metrics::counter!("dispatch_store_retries_total", "what" => "expiry").increment(1);
                self.unexpired.insert(offer);
                return;
            }
            // Someone else changed the job meanwhile (accepted, cancelled): read it again.
            Err(e) => tracing::debug!(error = %e, "offer expiry lost a race"),
        }
        if let Some(job) = job
            && self.inherited.remove(&job).is_some()
        {
            self.read(app, job).await;
        }
    }
}

/// Offers the ride to the driver; `None` if the ride no longer waits for a driver.
async fn make_offer(
    app: &App,
    ride_id: RideId,
    driver: UserId,
    eta_s: f64,
    driver_position: Option<LatLng>,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<Option<Offer>, crate::AppError> {
    let Some(mut ride) = app.store().ride(ride_id).await? else {
        return Ok(None);
    };
    if ride.state() != RideState::Requested {
        return Ok(None);
    }
    let expected = ride.version();
    let offer = Offer {
        id: OfferId::from_uuid(uuid::Uuid::now_v7()),
        ride_id,
        driver,
        state: OfferState::Pending,
        created_at: now,
        expires_at,
        pickup_eta_s: crate::rides::to_u32(eta_s),
        pickup_distance_m: crate::rides::to_u32(
            driver_position.map_or(0.0, |p| app.street_distance_m(p, ride.pickup())),
        ),
        fare: ride.quoted.total,
    };
    // Recording an offer is not a state change, but it must collide with any concurrent change: the
    // ride's job bumps its version.
    let event = ride.offer(offer.id, driver, offer.expires_at, offer.pickup_eta_s)?;
    // A ride has at most one pending offer, the one its snapshot names: an older one still
    // pending is withdrawn in the same commit (the version check makes the read of the offers
    // and the commit one step).
    let mut offers = app.store().offers_of_ride(ride_id).await?;
    offers.retain_mut(Offer::withdraw);
    if !offers.is_empty() {
        tracing::warn!(ride_id = %ride_id, withdrawn = offers.len(), "a ride offered again had a pending offer; withdrawn");
        metrics::counter!("offers_superseded_total").increment(offers.len() as u64);
    }
    offers.push(offer.clone());
    app.commit(
        &ride,
        RideState::Requested,
        expected,
        &offers,
        &[event],
        None,
    )
    .await?;
    app.apply_committed(&ride, Some((driver, offer.id)));
    metrics::counter!("offers_made_total").increment(1);
    Ok(Some(offer))
}

/// Ends the ride as `no_driver_available`; a ride that no longer waits is fine (gone).
async fn give_up(app: &App, id: RideId, reason: NoDriverReason) -> Result<(), crate::AppError> {
    let Some(mut ride) = app.store().ride(id).await? else {
        return Ok(());
    };
    if ride.state() != RideState::Requested {
        return Ok(());
    }
    let (from, expected) = (ride.state(), ride.version());
    let event = ride.no_driver_available(reason, app.clock().now())?;
    app.commit(&ride, from, expected, &[], &[event], None)
        .await?;
    app.apply_committed(&ride, None);
    app.settle_ride(&ride).await;
    tracing::debug!(ride_id = %id, reason = reason.as_str(), "no driver available");
    Ok(())
}
