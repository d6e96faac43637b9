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
    Action, DispatchConfig, Dispatcher, Forecast, Input, JobHistory, OfferNo, OpenJob, Planar,
    RouteStop, TravelTime, Unfulfilled, Window,
};
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::ride::{NoDriverReason, Ride, RideState};
use doorstep_domain::worker;
use doorstep_domain::{OfferId, RideId, Timestamp, UserId};
use doorstep_geo::{City, LatLng, Utm, new_york_local, to_latlng, to_utm};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use tokio::sync::{mpsc, watch};

/// What request handlers tell the dispatcher.
#[derive(Debug, Clone, Copy)]
pub enum DispatchCommand {
    /// A ride waits for a driver (new, or back after its driver cancelled).
    NewRide(RideId),
    /// The ride's current offer ended without an assignment: find the next driver.
    Requeue(RideId),
    /// The ride no longer needs dispatch (assigned or cancelled).
    Gone(RideId),
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

type Core = Dispatcher<RideId, UserId, CityPlace, CityTravel, CityForecast>;

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
        // Drivers on a ride take no other ride here (no chaining): the wait never arises.
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

/// What the record says happened to a waiting ride's offers: declined, expired, and accepted ones (a
/// ride that waits again after an accepted offer was cancelled by that driver).
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

/// The core for `app`'s city.
pub fn new_core(app: &App) -> Core {
    Dispatcher::new(
        core_config(app),
        CityTravel { city: app.city() },
        CityForecast::new(app.city()),
    )
}

/// The job of a ride: its pickup (waiting from the request for the pickup limit) and drop-off, with
/// what the record says happened to its offers.
async fn open_job(app: &App, ride: &Ride) -> OpenJob<RideId, UserId, CityPlace> {
    let history = match app.store().offers_of_ride(ride.id()).await {
        Ok(offers) => history_of(&offers),
        // The core keeps the counts it saw itself; the reason may miss older ones.
        Err(e) => {
            tracing::warn!(ride_id = %ride.id(), error = %e, "dispatcher could not read a ride's offers");
            JobHistory::default()
        }
    };
    let requested = secs(ride.requested_at());
    #[allow(clippy::cast_precision_loss, reason = "seconds of configuration")]
    let limit = app.config().pickup_limit_secs as f64;
    OpenJob {
        job: ride.id(),
        stops: vec![
            RouteStop {
                job: ride.id(),
                place: CityPlace::of(ride.pickup()),
                window: Window {
                    earliest: f64::NEG_INFINITY,
                    latest: f64::INFINITY,
                },
                service_secs: 0.0,
                load: 1,
            },
            RouteStop {
                job: ride.id(),
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

/// What the core was last told about a driver: place, time, whether it takes work, and the stops of
/// its route.
type Told = (LatLng, Timestamp, bool, Vec<worker::RouteStop>);

/// The core's stops of a worker's route (a ride's job has the ride's id).
fn core_stops(route: &[worker::RouteStop]) -> Vec<RouteStop<RideId, CityPlace>> {
    route
        .iter()
        .map(|s| RouteStop {
            job: RideId::from(s.job),
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

/// What the shell keeps besides the core.
struct Shell {
    core: Core,
    /// The offers the core made that the store recorded.
    offers: HashMap<OfferNo, OfferId>,
    /// Offers out when the server started (made before the core existed): the shell expires
    /// them itself, and their rides join the core once they are answered or expired.
    inherited: HashMap<RideId, (OfferId, Timestamp)>,
    /// Rides to read again (a read failed).
    unread: BTreeSet<RideId>,
    /// Offers whose expiry the store could not record yet.
    unexpired: BTreeSet<OfferId>,
    /// What the core was last told about each driver: place, time, available, its route's stops.
    told: HashMap<UserId, Told>,
    ticks: u64,
}

/// Runs the dispatcher until `shutdown` becomes true.
pub async fn run(
    app: App,
    mut commands: mpsc::Receiver<DispatchCommand>,
    initial: Vec<PendingRide>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut shell = Shell {
        core: new_core(&app),
        offers: HashMap::new(),
        inherited: HashMap::new(),
        unread: BTreeSet::new(),
        unexpired: BTreeSet::new(),
        told: HashMap::new(),
        ticks: 0,
    };
    let pending = initial.len();
    for p in initial {
        match p.offer {
            Some((offer, _driver, deadline)) => {
                shell.inherited.insert(p.ride_id, (offer, deadline));
            }
            None => {
                shell.unread.insert(p.ride_id);
            }
        }
    }
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
                shell.command(&app, command).await;
            }
            _ = ticker.tick() => {
                shell.tick(&app).await;
            }
        }
    }
    tracing::info!("dispatcher stopped");
}

impl Shell {
    async fn command(&mut self, app: &App, command: DispatchCommand) {
        let now = secs(app.clock().now());
        match command {
            DispatchCommand::NewRide(id) | DispatchCommand::Requeue(id) => {
                self.inherited.remove(&id);
                self.read(app, id).await;
            }
            DispatchCommand::Gone(id) => {
                self.inherited.remove(&id);
                self.unread.remove(&id);
                self.core.handle(Input::JobGone(id), now);
            }
        }
        self.gauge();
    }

    /// Reads the ride and opens or closes its job; a failed read is retried at the next tick.
    async fn read(&mut self, app: &App, id: RideId) {
        let now = secs(app.clock().now());
        // Opening a job the core holds forgets its offer. If the record still has that offer
        // pending (the reconciliation opened the ride and the core offered it before the ride's
        // own command came), the core would offer the ride a second time while the first offer
        // stays pending: two pending offers of one ride, which no snapshot of the ride describes
        // ([`crate::fleet::RideSnapshot`]). So the offer is looked up first and the ride read
        // after it: a ride read after its offer ended carries what ended it (a decline's
        // exclusion), one read before could not.
        if !self.inherited.contains_key(&id)
            && let Some(worker) = self.core.offered_to(id)
        {
            match app.store().offers_of_ride(id).await {
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
                    tracing::warn!(ride_id = %id, error = %e, "dispatcher could not read a ride's offers; retrying");
                    metrics::counter!("dispatch_store_retries_total", "what" => "read")
                        .increment(1);
                    self.unread.insert(id);
                    return;
                }
            }
        }
        match app.store().ride(id).await {
            Ok(Some(ride)) if ride.state() == RideState::Requested => {
                self.unread.remove(&id);
                if !self.inherited.contains_key(&id) {
                    let job = open_job(app, &ride).await;
                    self.core.handle(Input::JobOpened(job), now);
                }
            }
            Ok(_) => {
                self.unread.remove(&id);
                self.core.handle(Input::JobGone(id), now);
            }
            Err(e) => {
                tracing::warn!(ride_id = %id, error = %e, "dispatcher could not read a ride; retrying");
                metrics::counter!("dispatch_store_retries_total", "what" => "read").increment(1);
                self.unread.insert(id);
            }
        }
    }

    async fn tick(&mut self, app: &App) {
        let now_ts = app.clock().now();
        let now = secs(now_ts);
        self.ticks += 1;

        // Rides whose read failed, offers whose expiry failed, inherited offers past due.
        for id in std::mem::take(&mut self.unread) {
            self.read(app, id).await;
        }
        for offer in std::mem::take(&mut self.unexpired) {
            self.expire(app, offer, None).await;
        }
        let due: Vec<(RideId, OfferId)> = self
            .inherited
            .iter()
            .filter(|(_, (_, deadline))| now_ts > *deadline)
            .map(|(&r, &(o, _))| (r, o))
            .collect();
        for (ride, offer) in due {
            self.inherited.remove(&ride);
            self.expire(app, offer, Some(ride)).await;
        }
        if self
            .ticks
            .is_multiple_of(app.config().reconcile_every_ticks.max(1))
        {
            self.reconcile(app).await;
        }

        // Drivers: what changed since the core last heard.
        self.sync_drivers(app, now);

        let started = Instant::now();
        let actions = self.core.handle(Input::Tick, now);
        metrics::histogram!("dispatch_solve_seconds").record(started.elapsed().as_secs_f64());
        let offers = actions
            .iter()
            .filter(|a| matches!(a, Action::Offer { .. }))
            .count();
        metrics::histogram!("dispatch_batch_size").record(offers as f64);
        for action in actions {
            self.execute(app, action, now_ts).await;
        }
        self.gauge();
    }

    fn gauge(&self) {
        let c = self.core.counts();
        metrics::gauge!("dispatch_pending_rides").set((c.waiting + c.offered + c.ending) as f64);
    }

    /// Tells the core every driver whose place, availability or route changed, and which drivers
    /// left.
    fn sync_drivers(&mut self, app: &App, now: f64) {
        let mut seen: Vec<(UserId, Told, i32)> = Vec::new();
        app.with_fleet(|f| {
            for (id, d) in f.drivers() {
                let (Some(p), Some(at)) = (d.position(), d.last_seen()) else {
                    continue;
                };
                // A driver with stops to do takes no other ride here (no chaining); an offered
                // driver stays "online" for the core, which holds the offer itself.
                let available = d.takes_work();
                let capacity = i32::try_from(d.worker().capabilities.capacity).unwrap_or(i32::MAX);
                seen.push((id, (p, at, available, d.route().stops().to_vec()), capacity));
            }
        });
        let mut present: BTreeSet<UserId> = BTreeSet::new();
        for (id, told, capacity) in seen {
            present.insert(id);
            if self.told.get(&id) == Some(&told) {
                continue;
            }
            let (p, at, available, _) = told;
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
    }

    /// Makes good what commands may have missed: rides waiting in the record that the core does
    /// not hold are opened.
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
            if !self.core.holds(ride.id()) && !self.inherited.contains_key(&ride.id()) {
                metrics::counter!("dispatch_reconciled_total").increment(1);
                let job = open_job(app, &ride).await;
                self.core.handle(Input::JobOpened(job), now);
            }
        }
    }

    async fn execute(
        &mut self,
        app: &App,
        action: Action<RideId, UserId, CityPlace>,
        now: Timestamp,
    ) {
        let now_s = secs(now);
        match action {
            Action::Offer {
                offer,
                job,
                worker,
                expires_at,
                insertion,
            } => {
                let position = self.told.get(&worker).map(|t| t.0);
                let eta = (insertion.first_arrival - now_s).max(0.0);
                match make_offer(app, job, worker, eta, position, now, timestamp(expires_at)).await
                {
                    Ok(Some(made)) => {
                        self.offers.insert(offer, made.id);
                    }
                    Ok(None) => {
                        self.core.handle(Input::JobGone(job), now_s);
                    }
                    Err(e) => {
                        tracing::warn!(ride_id = %job, error = %e, "offer not recorded; the ride waits for the next batch");
                        metrics::counter!("dispatch_store_retries_total", "what" => "offer")
                            .increment(1);
                        self.core.handle(Input::OfferFailed(offer), now_s);
                    }
                }
            }
            Action::ExpireOffer { offer, job, .. } => {
                if let Some(id) = self.offers.remove(&offer) {
                    self.expire(app, id, Some(job)).await;
                }
            }
            Action::Unfulfilled { job, reason } => {
                let reason = no_driver_reason(reason);
                match give_up(app, job, reason).await {
                    Ok(()) => {
                        self.core.handle(Input::JobGone(job), now_s);
                    }
                    // The core says it again after its retry interval.
                    Err(e) => {
                        tracing::warn!(ride_id = %job, error = %e, "could not end a ride without driver; retrying");
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

    /// Records the expiry of an offer; `ride` (if known) is read again afterwards so that the
    /// core sees its exclusions (or that it was taken meanwhile).
    async fn expire(&mut self, app: &App, offer: OfferId, ride: Option<RideId>) {
        match app.expire_offer(offer).await {
            Ok(_) => {}
            Err(e @ crate::AppError::Internal(_)) => {
                tracing::warn!(error = %e, "offer expiry not recorded; retrying");
                metrics::counter!("dispatch_store_retries_total", "what" => "expiry").increment(1);
                self.unexpired.insert(offer);
                return;
            }
            // Someone else changed the ride meanwhile (accepted, cancelled): read it again.
            Err(e) => tracing::debug!(error = %e, "offer expiry lost a race"),
        }
        if let Some(ride) = ride
            && self.inherited.remove(&ride).is_some()
        {
            self.read(app, ride).await;
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
