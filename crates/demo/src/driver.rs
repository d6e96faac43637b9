//! A driver agent: the driver app of one simulated car.
//!
//! It parks at a random lot, goes online and streams its position over the WebSocket every few
//! simulated seconds. An `offered` event (or, as a fallback, `GET /v1/offers`) makes it think for a
//! few seconds, then accept (about 90%) or decline. An accepted ride is driven as [`Leg`]s at the
//! city's mean travel times: to the pickup, `arrive`, wait for the rider to board and say the PIN,
//! `start`, to the drop-off, `complete`, rate the rider, then drift back to the nearest lot.
//!
//! The same driver is a courier too (module [`courier`]): it takes delivery offers when available and
//! carries the orders stop by stop.
//!
//! When a call is refused, the driver asks the server for the ride's actual state and carries on
//! from there (the rider may have cancelled meanwhile). After [`MAX_FAILURES`] failures on one ride
//! it hands the ride back to dispatch by cancelling it.

mod courier;

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use doorstep_geo::Utm;
use rand::Rng;
use rand_pcg::Pcg64;
use tokio::time::MissedTickBehavior;

use crate::Ctx;
use crate::accounts::{Account, Role, sign_in};
use crate::api::{ApiError, with_retry};
use crate::clock::{rfc3339, wall_clock_unix};
use crate::events::{EventLink, Inbound};
use crate::motion::Leg;
use crate::rating;
use crate::sandbox;
use crate::seed::{Stream, agent_rng};
use crate::shutdown::Shutdown;
use crate::wire::{EventKind, LocationPoint, LocationsMessage, RideState, RideView, ServerEvent};

/// Share of offers a driver accepts.
const ACCEPT_PROBABILITY: f64 = 0.9;
/// A driver this close (km) to the sandbox checks an offer's pickup before considering it: a ride from
/// the sandbox is declined at once, since the simulated fleet leaves those to people.
const SANDBOX_REACH_KM: f64 = 6.0;
/// How long a driver looks at an offer before answering, in simulated seconds.
const THINK_SECS: Range<f64> = 2.0..8.0;
/// The think time never exceeds this in real time, so that slow demos do not let offers expire.
const MAX_THINK_REAL_SECS: f64 = 5.0;
/// How long the rider takes to get in after the driver arrives, in simulated seconds.
const BOARDING_SECS: Range<f64> = 20.0..90.0;
/// How long a driver waits at the pickup for a PIN before handing the ride back, simulated seconds.
const PIN_PATIENCE_SECS: f64 = 600.0;
/// Positions are sampled every this many simulated seconds...
const SAMPLE_EVERY_SECS: f64 = 3.0;
/// ...but not more often than this in real time, so that fast demos do not flood the server.
const MIN_SAMPLE_PERIOD: Duration = Duration::from_millis(250);
/// Positions sent per WebSocket message.
const POINTS_PER_BATCH: usize = 3;
/// How often an idle driver polls `GET /v1/offers` in case an `offered` event was missed.
const OFFER_POLL_PERIOD: Duration = Duration::from_secs(60);
/// Failed calls on one ride before the driver hands it back.
const MAX_FAILURES: u32 = 5;
/// Offer ids remembered so that one offer is never considered twice.
const REMEMBERED_OFFERS: usize = 32;
/// Start-up is spread over time so that hundreds of sign-ups do not arrive at once.
const STAGGER: Duration = Duration::from_millis(25);
/// Time a driver gets to go offline when the demo stops.
const OFFLINE_TIMEOUT: Duration = Duration::from_secs(2);

/// A ride this driver is serving.
#[derive(Debug, Clone)]
struct Job {
    ride_id: String,
    pickup: Utm,
    dropoff: Utm,
    /// Failed calls on this ride so far.
    failures: u32,
}

/// What the driver is doing.
#[derive(Debug, Clone)]
enum Duty {
    /// Available; possibly drifting toward a lot.
    Idle { drift: Option<Leg> },
    /// Looking at an offer; answers at `decide_at` (simulated).
    Considering {
        offer_id: String,
        ride_id: Option<String>,
        decide_at: f64,
        accept: bool,
    },
    /// Driving to the pickup.
    ToPickup { job: Job, leg: Leg },
    /// At the pickup since `arrived_at`, starting the ride at `board_at` if the PIN is known.
    AtPickup {
        job: Job,
        arrived_at: f64,
        board_at: f64,
    },
    /// Driving the rider to the drop-off.
    OnTrip { job: Job, leg: Leg },
    /// Looking at a delivery offer; answers at `decide_at` (simulated).
    ConsideringDelivery {
        offer: crate::wire::DeliveryOffer,
        decide_at: f64,
        accept: bool,
    },
    /// Carrying food orders, stop by stop.
    Delivering { run: courier::DeliveryRun },
}

impl Duty {
    fn idle() -> Duty {
        Duty::Idle { drift: None }
    }

    /// The ride this duty is about, if any.
    fn ride_id(&self) -> Option<&str> {
        match self {
            Duty::Idle { .. } | Duty::ConsideringDelivery { .. } | Duty::Delivering { .. } => None,
            Duty::Considering { ride_id, .. } => ride_id.as_deref(),
            Duty::ToPickup { job, .. } | Duty::AtPickup { job, .. } | Duty::OnTrip { job, .. } => {
                Some(&job.ride_id)
            }
        }
    }
}

/// One driver agent's state.
struct Driver {
    ctx: Arc<Ctx>,
    rng: Pcg64,
    account: Account,
    link: EventLink,
    /// Where the car was at the last sample.
    position: Utm,
    duty: Duty,
    /// Positions sampled but not yet sent.
    batch: Vec<LocationPoint>,
    /// Offers already considered, newest last.
    seen_offers: VecDeque<String>,
    shutdown: Shutdown,
}

/// A car a New York ride-hailing driver might drive: make, model, colour and a TLC-style plate.
fn plausible_vehicle(rng: &mut impl Rng) -> serde_json::Value {
    const CARS: [(&str, &str); 8] = [
        ("Toyota", "Camry"),
        ("Toyota", "Prius"),
        ("Honda", "Accord"),
        ("Nissan", "Rogue"),
        ("Hyundai", "Sonata"),
        ("Ford", "Escape"),
        ("Kia", "Niro"),
        ("Toyota", "RAV4"),
    ];
    const COLOURS: [&str; 6] = ["Black", "White", "Silver", "Grey", "Blue", "Red"];
    let (make, model) = CARS[rng.random_range(0..CARS.len())];
    let colour = COLOURS[rng.random_range(0..COLOURS.len())];
    let plate = format!("T{:06}C", rng.random_range(0..1_000_000));
    serde_json::json!({"make": make, "model": model, "colour": colour, "plate": plate})
}

/// Runs driver number `index` until the demo stops, then takes it offline.
pub(crate) async fn run_driver(ctx: Arc<Ctx>, index: usize, mut shutdown: Shutdown) {
    let mut rng = agent_rng(ctx.config.seed, Stream::Driver, index as u64);
    let lots = ctx.city.lots();
    let position = if lots.is_empty() {
        ctx.city
            .zones()
            .first()
            .map(|z| z.centroid)
            .unwrap_or_default()
    } else {
        // Any lot but those in the sandbox, which the simulated fleet keeps clear of.
        let open: Vec<_> = lots.iter().filter(|l| !sandbox::contains(l.pos)).collect();
        match open.len() {
            0 => lots[rng.random_range(0..lots.len())].pos,
            n => open[rng.random_range(0..n)].pos,
        }
    };
    if !shutdown.sleep(STAGGER * (index % 400) as u32).await {
        return;
    }
    let Some(account) = sign_in(&ctx.api, Role::Driver, index as u64, &shutdown).await else {
        return;
    };
    let link = EventLink::open(
        ctx.api.events_url(),
        account.token.clone(),
        0,
        shutdown.clone(),
    );
    let mut driver = Driver {
        ctx,
        rng,
        account,
        link,
        position,
        duty: Duty::idle(),
        batch: Vec::with_capacity(POINTS_PER_BATCH),
        seen_offers: VecDeque::with_capacity(REMEMBERED_OFFERS),
        shutdown,
    };
    // A stream of its own, so that the car does not change what the driver's other draws are.
    let vehicle = plausible_vehicle(&mut agent_rng(
        driver.ctx.config.seed ^ 0x00c0_ffee,
        Stream::Driver,
        index as u64,
    ));
    let registered = with_retry(&driver.shutdown, "register vehicle", || {
        driver
            .ctx
            .api
            .register_vehicle(&driver.account.token, &vehicle)
    })
    .await;
    if let Err(error) = registered {
        tracing::warn!(driver = index, %error, "registering the vehicle failed; driving without one");
    }
    driver.declare_documents().await;
    if driver.go_online().await {
        driver.resume_open_ride().await;
        driver.resume_deliveries().await;
        driver.work().await;
    }
    let offline = tokio::time::timeout(
        OFFLINE_TIMEOUT,
        driver.ctx.api.go_offline(&driver.account.token),
    );
    if let Ok(Err(error)) = offline.await {
        tracing::debug!(driver = index, %error, "going offline failed");
    }
}

/// When the demo drivers' documents expire: far beyond any demo run.
const DEMO_DOCUMENTS_EXPIRE_ON: &str = "2030-12-31";

impl Driver {
    /// Declares the driver's licence, insurance and vehicle registration, as a new driver's app does
    /// before an operator approves them; a failure is logged and does not keep the driver off the road.
    async fn declare_documents(&self) {
        for (kind, prefix) in [
            ("licence", "DL"),
            ("insurance", "INS"),
            ("vehicle_registration", "REG"),
        ] {
            let number = format!("{prefix}-DEMO-{:05}", self.account.index);
            let sent = with_retry(&self.shutdown, "declare a document", || {
                self.ctx.api.put_document(
                    &self.account.token,
                    kind,
                    &number,
                    DEMO_DOCUMENTS_EXPIRE_ON,
                )
            })
            .await;
            if let Err(error) = sent {
                tracing::debug!(driver = self.account.index, %error, "declaring a document failed");
            }
        }
    }

    /// Goes online (and reports where the car is), retrying until it works; false if the demo
    /// stopped first.
    async fn go_online(&mut self) -> bool {
        let mut pause = Duration::from_millis(500);
        loop {
            let attempt = with_retry(&self.shutdown, "go online", || {
                self.ctx.api.go_online(&self.account.token)
            })
            .await;
            match attempt {
                Ok(()) => break,
                Err(error) if error.status() == Some(401) => self.reauthenticate().await,
                Err(error) if error.is_transient() => {
                    tracing::debug!(driver = self.account.index, %error, "going online failed; retrying");
                }
                Err(error) => {
                    tracing::warn!(driver = self.account.index, %error, "going online refused; retrying");
                }
            }
            if !self.shutdown.clone().sleep(pause).await {
                return false;
            }
            pause = (pause * 2).min(crate::api::MAX_BACKOFF);
        }
        self.sample(self.ctx.clock.now());
        self.flush_http().await;
        !self.shutdown.is_stopping()
    }

    /// Picks up a ride this account was serving when a previous demo stopped, so that it does
    /// not stay stuck on the server.
    async fn resume_open_ride(&mut self) {
        let rides = match self.ctx.api.rides(&self.account.token).await {
            Ok(rides) => rides.rides,
            Err(error) => {
                tracing::debug!(driver = self.account.index, %error, "listing own rides failed");
                return;
            }
        };
        let open = rides.into_iter().find(|ride| {
            self.is_mine(ride)
                && matches!(
                    ride.state,
                    RideState::DriverAssigned | RideState::DriverArrived | RideState::InProgress
                )
        });
        if let Some(ride) = open {
            tracing::info!(driver = self.account.index, ride_id = %ride.ride_id, "resuming a ride left open by an earlier run");
            self.duty = self.duty_for(&ride, 0);
        }
    }

    /// The agent's main loop: samples and streams positions, reacts to events, advances the ride.
    async fn work(&mut self) {
        let period = self
            .ctx
            .clock
            .real_duration(SAMPLE_EVERY_SECS)
            .max(MIN_SAMPLE_PERIOD);
        let mut sampler = tokio::time::interval(period);
        sampler.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut offer_poll = tokio::time::interval(OFFER_POLL_PERIOD);
        offer_poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut shutdown = self.shutdown.clone();
        let mut link_open = true;
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                _ = sampler.tick() => self.on_tick().await,
                _ = offer_poll.tick() => {
                    self.poll_offers().await;
                    self.poll_delivery_offers().await;
                }
                inbound = self.link.inbound.recv(), if link_open => match inbound {
                    Some(Inbound::Connected) => {
                        self.poll_offers().await;
                        self.poll_delivery_offers().await;
                    }
                    Some(Inbound::Event(event)) => self.on_event(event).await,
                    None => link_open = false,
                },
            }
        }
    }

    /// Where the car is at simulated time `now`.
    fn position_at(&self, now: f64) -> Utm {
        match &self.duty {
            Duty::Idle { drift: Some(leg) }
            | Duty::ToPickup { leg, .. }
            | Duty::OnTrip { leg, .. } => leg.position_at(now),
            Duty::Delivering { run } => run.leg.position_at(now),
            Duty::Idle { drift: None }
            | Duty::Considering { .. }
            | Duty::ConsideringDelivery { .. }
            | Duty::AtPickup { .. } => self.position,
        }
    }

    /// Records the car's position at `now` for the next batch.
    fn sample(&mut self, now: f64) {
        self.position = self.position_at(now);
        let point = crate::wire::WirePoint::from_utm(self.position);
        self.batch.push(LocationPoint {
            lat: point.lat,
            lng: point.lng,
            at: rfc3339(wall_clock_unix()),
        });
    }

    /// Sends the sampled positions over the WebSocket. If the connection is down they are
    /// dropped: stale positions are worth little, and the next batch follows shortly.
    fn flush_ws(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let message = LocationsMessage {
            kind: "locations",
            points: &self.batch,
        };
        match serde_json::to_string(&message) {
            Ok(text) => {
                if !self.link.try_send(text) {
                    tracing::trace!(
                        driver = self.account.index,
                        "positions dropped: event connection busy"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "positions could not be encoded"),
        }
        self.batch.clear();
    }

    /// Sends the sampled positions over HTTP and waits for the server to take them: used before
    /// `arrive` and `complete`, which the server judges by the positions it has.
    async fn flush_http(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let points = std::mem::take(&mut self.batch);
        let sent = with_retry(&self.shutdown, "post locations", || {
            self.ctx.api.post_locations(&self.account.token, &points)
        })
        .await;
        if let Err(error) = sent {
            tracing::debug!(driver = self.account.index, %error, "posting positions failed");
        }
    }

    async fn on_tick(&mut self) {
        let now = self.ctx.clock.now();
        self.sample(now);
        let due = match &self.duty {
            Duty::Idle { drift } => {
                if drift.as_ref().is_some_and(|leg| leg.is_done(now)) {
                    self.duty = Duty::idle();
                }
                false
            }
            Duty::Considering { decide_at, .. } | Duty::ConsideringDelivery { decide_at, .. } => {
                now >= *decide_at
            }
            Duty::Delivering { run } => run.leg.is_done(now) && now >= run.next_try_at,
            Duty::ToPickup { leg, .. } | Duty::OnTrip { leg, .. } => leg.is_done(now),
            Duty::AtPickup { board_at, .. } => now >= *board_at,
        };
        if due {
            let duty = std::mem::replace(&mut self.duty, Duty::idle());
            self.duty = self.advance(duty, now).await;
        }
        if self.batch.len() >= POINTS_PER_BATCH {
            self.flush_ws();
        }
    }

    /// Takes the step `duty` is waiting for and returns the duty that follows.
    async fn advance(&mut self, duty: Duty, now: f64) -> Duty {
        match duty {
            Duty::Considering {
                offer_id,
                ride_id,
                accept,
                ..
            } => self.answer_offer(&offer_id, ride_id, accept).await,
            Duty::ToPickup { job, .. } => self.arrive(job).await,
            Duty::AtPickup {
                job, arrived_at, ..
            } => self.start(job, arrived_at, now).await,
            Duty::OnTrip { job, .. } => self.complete(job).await,
            Duty::ConsideringDelivery { offer, accept, .. } => {
                self.answer_delivery(offer, accept).await
            }
            Duty::Delivering { run } => self.serve_stop(run, now).await,
            idle @ Duty::Idle { .. } => idle,
        }
    }

    async fn answer_offer(
        &mut self,
        offer_id: &str,
        ride_id: Option<String>,
        accept: bool,
    ) -> Duty {
        if !accept {
            let declined = with_retry(&self.shutdown, "decline offer", || {
                self.ctx.api.decline_offer(&self.account.token, offer_id)
            })
            .await;
            if let Err(error) = declined {
                tracing::debug!(driver = self.account.index, offer_id, %error, "declining failed");
            }
            return Duty::idle();
        }
        let accepted = with_retry(&self.shutdown, "accept offer", || {
            self.ctx.api.accept_offer(&self.account.token, offer_id)
        })
        .await;
        match accepted {
            Ok(ride) => {
                tracing::debug!(driver = self.account.index, ride_id = %ride.ride_id, "offer accepted");
                self.duty_for(&ride, 0)
            }
            Err(error) => {
                // The offer expired or the ride was cancelled meanwhile; or an earlier attempt
                // did go through: the ride itself says whether it is ours.
                tracing::debug!(driver = self.account.index, offer_id, %error, "accepting failed");
                if error.status() == Some(401) {
                    self.reauthenticate().await;
                }
                match ride_id {
                    Some(ride_id) => self.reconcile(&ride_id, 0).await.unwrap_or(Duty::idle()),
                    None => Duty::idle(),
                }
            }
        }
    }

    async fn arrive(&mut self, job: Job) -> Duty {
        self.flush_http().await;
        let arrived = with_retry(&self.shutdown, "arrive", || {
            self.ctx.api.arrive(&self.account.token, &job.ride_id)
        })
        .await;
        match arrived {
            Ok(ride) => self.duty_for(&ride, job.failures),
            Err(error) => {
                let retry_leg = Leg::new(
                    &self.ctx.grid,
                    self.position,
                    self.position,
                    self.ctx.clock.now(),
                    0.0,
                );
                self.recover(job, "arrive", error, move |job| Duty::ToPickup {
                    job,
                    leg: retry_leg,
                })
                .await
            }
        }
    }

    async fn start(&mut self, job: Job, arrived_at: f64, now: f64) -> Duty {
        let mut told = self.ctx.pins.get(&job.ride_id);
        if told.is_none()
            && let Some(teller) = &self.ctx.pin_teller
        {
            told = teller.tell(job.ride_id.clone()).await;
        }
        let Some(pin) = told else {
            if now - arrived_at > PIN_PATIENCE_SECS {
                tracing::warn!(driver = self.account.index, ride_id = %job.ride_id, "no PIN from the rider; handing the ride back");
                return self.give_up(job).await;
            }
            // The rider has not said the PIN yet: ask again in a few seconds.
            return Duty::AtPickup {
                job,
                arrived_at,
                board_at: now + SAMPLE_EVERY_SECS,
            };
        };
        self.flush_http().await;
        let started = with_retry(&self.shutdown, "start", || {
            self.ctx.api.start(&self.account.token, &job.ride_id, &pin)
        })
        .await;
        match started {
            Ok(ride) => self.duty_for(&ride, job.failures),
            Err(error) => {
                let board_at = self.ctx.clock.now() + SAMPLE_EVERY_SECS;
                self.recover(job, "start", error, move |job| Duty::AtPickup {
                    job,
                    arrived_at,
                    board_at,
                })
                .await
            }
        }
    }

    async fn complete(&mut self, job: Job) -> Duty {
        self.flush_http().await;
        let completed = with_retry(&self.shutdown, "complete", || {
            self.ctx.api.complete(&self.account.token, &job.ride_id)
        })
        .await;
        match completed {
            Ok(ride) => {
                if ride.state == RideState::Completed {
                    self.rate_rider(&job.ride_id).await;
                }
                self.duty_for(&ride, job.failures)
            }
            Err(error) => {
                let retry_leg = Leg::new(
                    &self.ctx.grid,
                    self.position,
                    self.position,
                    self.ctx.clock.now(),
                    0.0,
                );
                self.recover(job, "complete", error, move |job| Duty::OnTrip {
                    job,
                    leg: retry_leg,
                })
                .await
            }
        }
    }

    async fn rate_rider(&mut self, ride_id: &str) {
        let (stars, comment) = rating::draw(&mut self.rng, rating::ABOUT_RIDERS);
        let rated = with_retry(&self.shutdown, "rate rider", || {
            self.ctx
                .api
                .rate(&self.account.token, ride_id, stars, comment)
        })
        .await;
        if let Err(error) = rated {
            tracing::debug!(driver = self.account.index, ride_id, %error, "rating the rider failed");
        }
    }

    /// After a failed call on `job`: asks the server where the ride stands and continues from
    /// there; if even that fails, tries the same step again later (`retry`), and after
    /// [`MAX_FAILURES`] hands the ride back.
    async fn recover(
        &mut self,
        mut job: Job,
        step: &'static str,
        error: ApiError,
        retry: impl FnOnce(Job) -> Duty,
    ) -> Duty {
        job.failures += 1;
        if error.is_transient() {
            tracing::warn!(driver = self.account.index, ride_id = %job.ride_id, step, %error, "call failed");
        } else {
            tracing::debug!(driver = self.account.index, ride_id = %job.ride_id, step, %error, "call refused; checking the ride");
        }
        if error.status() == Some(401) {
            self.reauthenticate().await;
        }
        if job.failures >= MAX_FAILURES {
            tracing::warn!(driver = self.account.index, ride_id = %job.ride_id, step, "too many failures; handing the ride back");
            return self.give_up(job).await;
        }
        match self.reconcile(&job.ride_id, job.failures).await {
            Some(duty) => {
                // The same step again means the server still waits for it: wait a little.
                match (&duty, step) {
                    (Duty::ToPickup { .. }, "arrive")
                    | (Duty::AtPickup { .. }, "start")
                    | (Duty::OnTrip { .. }, "complete") => retry(job),
                    _ => duty,
                }
            }
            None => retry(job),
        }
    }

    /// The duty that fits the ride's current state on the server; `None` if it cannot be read.
    async fn reconcile(&mut self, ride_id: &str, failures: u32) -> Option<Duty> {
        let ride = with_retry(&self.shutdown, "get ride", || {
            self.ctx.api.ride(&self.account.token, ride_id)
        })
        .await;
        match ride {
            Ok(ride) => Some(self.duty_for(&ride, failures)),
            Err(error) => {
                tracing::debug!(driver = self.account.index, ride_id, %error, "reading the ride failed");
                None
            }
        }
    }

    /// Hands a ride back to dispatch (a driver's cancel) and becomes available again.
    async fn give_up(&mut self, job: Job) -> Duty {
        if let Err(error) = self.ctx.api.cancel(&self.account.token, &job.ride_id).await {
            tracing::debug!(driver = self.account.index, ride_id = %job.ride_id, %error, "handing the ride back failed");
        }
        Duty::idle()
    }

    fn is_mine(&self, ride: &RideView) -> bool {
        ride.driver_id.as_deref() == Some(self.account.user_id.as_str())
    }

    /// The duty that follows from a ride view: drive to the pickup, wait there, drive to the
    /// drop-off, or be available again (the ride ended or is someone else's).
    fn duty_for(&mut self, ride: &RideView, failures: u32) -> Duty {
        let now = self.ctx.clock.now();
        let (Some(pickup), Some(dropoff)) = (ride.pickup.to_utm(), ride.dropoff.to_utm()) else {
            tracing::warn!(ride_id = %ride.ride_id, "ride has an impossible position; ignoring it");
            return Duty::idle();
        };
        let job = Job {
            ride_id: ride.ride_id.clone(),
            pickup,
            dropoff,
            failures,
        };
        if !self.is_mine(ride) {
            return self.after_ride(now);
        }
        match ride.state {
            RideState::DriverAssigned => Duty::ToPickup {
                leg: Leg::plan(
                    self.ctx.city,
                    &self.ctx.grid,
                    self.position,
                    job.pickup,
                    now,
                ),
                job,
            },
            RideState::DriverArrived => {
                self.position = job.pickup;
                Duty::AtPickup {
                    job,
                    arrived_at: now,
                    board_at: now + self.rng.random_range(BOARDING_SECS),
                }
            }
            RideState::InProgress => Duty::OnTrip {
                leg: Leg::plan(
                    self.ctx.city,
                    &self.ctx.grid,
                    self.position,
                    job.dropoff,
                    now,
                ),
                job,
            },
            RideState::Requested
            | RideState::Completed
            | RideState::Cancelled
            | RideState::NoDriverAvailable
            | RideState::Unknown => self.after_ride(now),
        }
    }

    /// Available again: drift toward the nearest lot outside the sandbox, where idle cars wait.
    fn after_ride(&self, now: f64) -> Duty {
        let city = self.ctx.city;
        let nearest = city
            .lots()
            .iter()
            .filter(|l| !sandbox::contains(l.pos))
            .min_by(|a, b| {
                city.l1_km(self.position, a.pos)
                    .total_cmp(&city.l1_km(self.position, b.pos))
            });
        let drift = nearest
            .filter(|lot| city.l1_km(self.position, lot.pos) > 0.01)
            .map(|lot| Leg::plan(city, &self.ctx.grid, self.position, lot.pos, now));
        Duty::Idle { drift }
    }

    async fn on_event(&mut self, event: ServerEvent) {
        match event.kind {
            EventKind::Offered => {
                let Some(offer_id) = event.offer_id else {
                    return;
                };
                self.consider(offer_id, event.ride_id).await;
            }
            EventKind::Cancelled | EventKind::DriverCancelled | EventKind::NoDriverAvailable => {
                let about_current =
                    event.ride_id.is_some() && event.ride_id.as_deref() == self.duty.ride_id();
                if about_current {
                    tracing::debug!(driver = self.account.index, ride_id = ?event.ride_id, kind = ?event.kind, "ride ended under us");
                    let now = self.ctx.clock.now();
                    self.position = self.position_at(now);
                    self.duty = match self.duty {
                        // An offer of a cancelled ride is simply dropped.
                        Duty::Considering { .. } => Duty::idle(),
                        _ => self.after_ride(now),
                    };
                }
            }
            EventKind::OrderOffered => {
                if let Some(offer_id) = event.offer_id {
                    self.consider_delivery(offer_id).await;
                }
            }
            EventKind::OrderCancelled | EventKind::OrderUndeliverable => {
                let now = self.ctx.clock.now();
                if let (Some(order_id), Duty::Delivering { run }) = (event.order(), &self.duty)
                    && run.stops.iter().any(|s| s.order_id == order_id)
                {
                    tracing::debug!(driver = self.account.index, order_id, kind = ?event.kind, "order ended under us");
                    self.position = self.position_at(now);
                    let duty = std::mem::replace(&mut self.duty, Duty::idle());
                    if let Duty::Delivering { run } = duty {
                        let order_id = order_id.to_owned();
                        self.duty = self.drop_order(run, &order_id, now);
                    }
                }
            }
            EventKind::Requested
            | EventKind::DriverAssigned
            | EventKind::DriverArrived
            | EventKind::Started
            | EventKind::Completed
            | EventKind::OrderPlaced
            | EventKind::OrderAccepted
            | EventKind::OrderPreparing
            | EventKind::OrderReady
            | EventKind::OrderRejected
            | EventKind::OrderCourierAssigned
            | EventKind::OrderCourierAtRestaurant
            | EventKind::OrderPickedUp
            | EventKind::OrderDelivered
            | EventKind::DriverLocation
            | EventKind::Hello
            | EventKind::Error
            | EventKind::Unknown => {}
        }
    }

    /// Looks at an offer: an available driver thinks about it, a busy one declines at once.
    async fn consider(&mut self, offer_id: String, ride_id: Option<String>) {
        if self.seen_offers.contains(&offer_id) {
            return;
        }
        self.remember_offer(offer_id.clone());
        if !matches!(self.duty, Duty::Idle { .. }) {
            if let Err(error) = self
                .ctx
                .api
                .decline_offer(&self.account.token, &offer_id)
                .await
            {
                tracing::debug!(driver = self.account.index, offer_id, %error, "declining while busy failed");
            }
            return;
        }
        let now = self.ctx.clock.now();
        self.position = self.position_at(now);
        if sandbox::distance_km(self.position) < SANDBOX_REACH_KM
            && self.offer_is_in_sandbox(&offer_id).await
        {
            if let Err(error) = self
                .ctx
                .api
                .decline_offer(&self.account.token, &offer_id)
                .await
            {
                tracing::debug!(driver = self.account.index, offer_id, %error, "declining a sandbox ride failed");
            }
            return;
        }
        let think = self
            .rng
            .random_range(THINK_SECS)
            .min(MAX_THINK_REAL_SECS * self.ctx.clock.speed());
        let accept = self.rng.random_bool(ACCEPT_PROBABILITY);
        self.duty = Duty::Considering {
            offer_id,
            ride_id,
            decide_at: now + think,
            accept,
        };
    }

    /// Remembers an offer as considered, forgetting the oldest beyond [`REMEMBERED_OFFERS`].
    fn remember_offer(&mut self, offer_id: String) {
        if self.seen_offers.len() >= REMEMBERED_OFFERS {
            self.seen_offers.pop_front();
        }
        self.seen_offers.push_back(offer_id);
    }

    /// Whether the offer's pickup is in the sandbox, which simulated drivers leave to people.
    async fn offer_is_in_sandbox(&self, offer_id: &str) -> bool {
        match self.ctx.api.offers(&self.account.token).await {
            Ok(offers) => offers.offers.iter().any(|o| {
                o.offer_id == offer_id && o.pickup.to_utm().is_some_and(sandbox::contains)
            }),
            Err(_) => false,
        }
    }

    /// Polls the pending offers, in case an `offered` event was missed (only when available).
    async fn poll_offers(&mut self) {
        if !matches!(self.duty, Duty::Idle { .. }) {
            return;
        }
        match self.ctx.api.offers(&self.account.token).await {
            Ok(offers) => {
                let fresh = offers
                    .offers
                    .into_iter()
                    .find(|offer| !self.seen_offers.contains(&offer.offer_id));
                if let Some(offer) = fresh {
                    self.consider(offer.offer_id, Some(offer.ride_id)).await;
                }
            }
            Err(error) => {
                tracing::debug!(driver = self.account.index, %error, "polling offers failed");
                if error.status() == Some(401) {
                    self.reauthenticate().await;
                }
            }
        }
    }

    /// Logs in again (the token expired or the server forgot it) and reopens the event stream
    /// with the new token, resuming where the old one stopped.
    async fn reauthenticate(&mut self) {
        tracing::info!(
            driver = self.account.index,
            "token refused; signing in again"
        );
        let Some(account) = sign_in(
            &self.ctx.api,
            Role::Driver,
            self.account.index,
            &self.shutdown,
        )
        .await
        else {
            return;
        };
        let after = self.link.last_event_id();
        self.account = account;
        self.link = EventLink::open(
            self.ctx.api.events_url(),
            self.account.token.clone(),
            after,
            self.shutdown.clone(),
        );
    }
}
