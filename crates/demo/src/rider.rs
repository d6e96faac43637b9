//! Rider agents: the rider app of each simulated ride request.
//!
//! [`run_riders`] walks the [`RiderSchedule`] on the simulated clock and spawns one task per
//! request. Each task takes an account from the [`RiderPool`], quotes, requests the ride with an
//! `Idempotency-Key` (so retries cannot order two rides), reads its PIN from `GET /v1/rides/{id}`
//! and pins it up for the driver, follows the ride's events on the WebSocket (with a slow poll as
//! a safety net), cancels about 5% of the time, and rates the driver after completion. What it
//! observes goes into the KPIs through a [`RideTracker`].

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand_pcg::Pcg64;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::Ctx;
use crate::accounts::{Account, RiderPool};
use crate::api::{ApiError, with_retry};
use crate::events::{EventLink, Inbound};
use crate::kpis::{RidePhase, RideTracker};
use crate::rating;
use crate::schedule::{RiderSchedule, ScheduledRequest};
use crate::seed::{Stream, agent_rng};
use crate::shutdown::Shutdown;
use crate::wire::{EventKind, QuoteBody, RideState, RideView, WirePoint};

/// Share of riders who cancel before the ride starts.
const CANCEL_PROBABILITY: f64 = 0.05;
/// When such a rider cancels, in simulated seconds after requesting.
const CANCEL_AFTER_SECS: Range<f64> = 5.0..120.0;
/// A rider still waiting for a driver after this long (simulated seconds) gives up and cancels;
/// the server normally reports `no_driver_available` long before.
const GIVE_UP_WAITING_SECS: f64 = 1200.0;
/// A rider stops following a ride this long after requesting it (simulated seconds), whatever its
/// state: a safety net against rides stuck on the server.
const MAX_FOLLOW_SECS: f64 = 4.0 * 3600.0;
/// How often a rider polls its ride in case an event was missed (real time).
const POLL_PERIOD: Duration = Duration::from_secs(20);
/// How long a rider waits for its event stream before requesting anyway (real time).
const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// At most this many rider tasks at once; requests beyond are skipped (the server is far
/// behind, or down).
const MAX_ACTIVE_RIDERS: usize = 3000;

/// Spawns a rider for each request of the schedule, on time, until the demo stops.
pub(crate) async fn run_riders(ctx: Arc<Ctx>, mut shutdown: Shutdown) {
    let pool = Arc::new(RiderPool::of(crate::accounts::Role::Rider));
    let schedule = RiderSchedule::new(
        ctx.city,
        ctx.clock.now(),
        ctx.config.demand_scale,
        ctx.config.seed,
    );
    let mut riders = JoinSet::new();
    let mut skipped: u64 = 0;
    for request in schedule {
        if !shutdown.sleep(ctx.clock.real_until(request.at_unix)).await {
            break;
        }
        while let Some(finished) = riders.try_join_next() {
            if let Err(error) = finished {
                tracing::error!(%error, "a rider agent panicked");
            }
        }
        if riders.len() >= MAX_ACTIVE_RIDERS {
            skipped += 1;
            if skipped.is_power_of_two() {
                tracing::warn!(
                    skipped,
                    active = riders.len(),
                    "too many riders waiting on the server; skipping requests"
                );
            }
            continue;
        }
        riders.spawn(run_rider(
            Arc::clone(&ctx),
            Arc::clone(&pool),
            request,
            shutdown.clone(),
        ));
    }
    // The schedule only ends early at a demand scale of zero: wait for the stop, then for the
    // riders, which stop on the same signal.
    shutdown.wait().await;
    while riders.join_next().await.is_some() {}
}

/// One rider's ride, from account to rating.
async fn run_rider(
    ctx: Arc<Ctx>,
    pool: Arc<RiderPool>,
    request: ScheduledRequest,
    shutdown: Shutdown,
) {
    let Some(account) = pool.acquire(&ctx.api, &shutdown).await else {
        return;
    };
    let mut rider = Rider {
        rng: agent_rng(ctx.config.seed, Stream::Rider, request.index),
        tracker: RideTracker::new(Arc::clone(&ctx.kpis)),
        ctx,
        account,
        request,
        shutdown,
        token_refused: false,
    };
    rider.tidy_previous_rides().await;
    rider.ride().await;
    if !rider.token_refused {
        pool.release(rider.account);
    }
}

struct Rider {
    ctx: Arc<Ctx>,
    rng: Pcg64,
    account: Account,
    request: ScheduledRequest,
    tracker: RideTracker,
    shutdown: Shutdown,
    /// The server refused the account's token: the account is not returned to the pool.
    token_refused: bool,
}

impl Rider {
    /// Once per account and run: cancels rides an earlier demo run left waiting, so that they do
    /// not keep drivers busy with a rider who is gone.
    async fn tidy_previous_rides(&mut self) {
        if self.account.tidied {
            return;
        }
        self.account.tidied = true;
        let rides = match self.ctx.api.rides(&self.account.token).await {
            Ok(rides) => rides.rides,
            Err(error) => {
                self.note(&error);
                tracing::debug!(rider = self.account.index, %error, "listing own rides failed");
                return;
            }
        };
        for ride in rides {
            // Only rides of an earlier run: another agent of this run may be using the account too.
            let earlier_run =
                !ride.requested_at.is_empty() && ride.requested_at < self.ctx.run_started;
            if earlier_run
                && matches!(
                    ride.state,
                    RideState::Requested | RideState::DriverAssigned | RideState::DriverArrived
                )
            {
                tracing::info!(rider = self.account.index, ride_id = %ride.ride_id, "cancelling a ride left open by an earlier run");
                if let Err(error) = self
                    .ctx
                    .api
                    .cancel(&self.account.token, &ride.ride_id)
                    .await
                {
                    tracing::debug!(ride_id = %ride.ride_id, %error, "cancelling a leftover ride failed");
                }
            }
        }
    }

    /// Remembers a refused token, so that the account is dropped rather than reused.
    fn note(&mut self, error: &ApiError) {
        if error.status() == Some(401) {
            self.token_refused = true;
        }
    }

    async fn ride(&mut self) {
        let mut link = EventLink::open(
            self.ctx.api.events_url(),
            self.account.token.clone(),
            self.account.last_event_id,
            self.shutdown.clone(),
        );
        // Listen before asking, so that a quick assignment is not missed (the slow poll would
        // still catch it, but without its event).
        if !link.connected(CONNECT_WAIT).await {
            tracing::debug!(
                rider = self.account.index,
                "event stream not connected yet; requesting anyway"
            );
        }
        let Some(ride) = self.request_ride().await else {
            self.account.last_event_id = link.last_event_id();
            return;
        };
        let ride_id = ride.ride_id.clone();
        self.observe(&ride);
        tracing::debug!(rider = self.account.index, %ride_id, "ride requested");
        self.follow(&ride_id, link).await;
        self.ctx.pins.remove(&ride_id);
    }

    /// Quotes and requests the ride; `None` if the server refuses or cannot be reached.
    async fn request_ride(&mut self) -> Option<RideView> {
        let body = QuoteBody {
            pickup: WirePoint::from_utm(self.request.pickup),
            dropoff: WirePoint::from_utm(self.request.dropoff),
        };
        // A quote can expire between quoting and requesting (slow server): quote once more.
        for attempt in 0..2 {
            let quote = with_retry(&self.shutdown, "quote", || {
                self.ctx.api.quote(&self.account.token, &body)
            })
            .await;
            let quote = match quote {
                Ok(quote) => quote,
                Err(error) => {
                    self.note(&error);
                    self.report_failure("quote", &error);
                    return None;
                }
            };
            // Seeded, so a run replays exactly; prefixed with the run's start so that a resumed run on
            // the same database never collides with the keys of an earlier one.
            let key = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
            let key = format!("{}/{key}", self.ctx.run_started);
            let requested = with_retry(&self.shutdown, "request ride", || {
                self.ctx
                    .api
                    .request_ride(&self.account.token, &quote.quote_id, &key)
            })
            .await;
            match requested {
                Ok(ride) => return Some(ride),
                Err(error)
                    if attempt == 0
                        && error.code().is_some_and(|code| {
                            code.contains("quote") || code.contains("expired")
                        }) =>
                {
                    tracing::debug!(rider = self.account.index, %error, "quote unusable; quoting again");
                }
                Err(error) => {
                    self.note(&error);
                    self.report_failure("request ride", &error);
                    return None;
                }
            }
        }
        None
    }

    /// Logs a request that could not be made: loudly if the server refused it (the demo and the
    /// server disagree), quietly if the demo is stopping.
    fn report_failure(&self, step: &'static str, error: &ApiError) {
        if self.shutdown.is_stopping() {
            tracing::debug!(rider = self.account.index, step, %error, "request abandoned");
        } else {
            tracing::warn!(rider = self.account.index, step, %error, "request failed");
        }
    }

    /// Counts a ride view and pins up its PIN for the driver.
    fn observe(&mut self, ride: &RideView) {
        if let Some(phase) = ride.state.phase() {
            self.tracker.observe(phase, ride.pickup_eta_s);
        }
        if let Some(pin) = &ride.pin {
            self.ctx.pins.post(&ride.ride_id, pin);
        }
    }

    /// Reads the ride (for its PIN and state); failures are logged and left to the next poll.
    async fn refresh(&mut self, ride_id: &str) {
        let ride = with_retry(&self.shutdown, "get ride", || {
            self.ctx.api.ride(&self.account.token, ride_id)
        })
        .await;
        match ride {
            Ok(ride) => self.observe(&ride),
            Err(error) => {
                self.note(&error);
                tracing::debug!(rider = self.account.index, ride_id, %error, "reading the ride failed");
            }
        }
    }

    /// Follows the ride until it ends (or the demo stops), cancelling if this rider is one who
    /// does, and rates the driver after completion.
    async fn follow(&mut self, ride_id: &str, mut link: EventLink) {
        // The PIN comes from reading the ride, as the rider app shows it.
        self.refresh(ride_id).await;
        let clock = self.ctx.clock;
        let requested_at = clock.now();
        let mut cancel_at = self
            .rng
            .random_bool(CANCEL_PROBABILITY)
            .then(|| requested_at + self.rng.random_range(CANCEL_AFTER_SECS));
        let mut give_up_at = Some(requested_at + GIVE_UP_WAITING_SECS);
        let stop_following_at = requested_at + MAX_FOLLOW_SECS;
        let mut poll = tokio::time::interval(POLL_PERIOD);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        poll.reset();
        let mut shutdown = self.shutdown.clone();
        let mut link_open = true;
        loop {
            let phase = self.tracker.phase();
            if phase.is_some_and(RidePhase::is_final) {
                break;
            }
            let before_start = matches!(
                phase,
                None | Some(RidePhase::Requested | RidePhase::Assigned | RidePhase::Arrived)
            );
            let waiting = matches!(phase, None | Some(RidePhase::Requested));
            let deadline = [
                cancel_at.filter(|_| before_start),
                give_up_at.filter(|_| waiting),
                Some(stop_following_at),
            ]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min);
            tokio::select! {
                () = shutdown.wait() => break,
                inbound = link.inbound.recv(), if link_open => match inbound {
                    Some(Inbound::Event(event)) if event.ride_id.as_deref() == Some(ride_id) => {
                        self.on_event(ride_id, event.kind, event.pickup_eta_s).await;
                    }
                    Some(_) => {}
                    None => link_open = false,
                },
                _ = poll.tick() => self.refresh(ride_id).await,
                () = tokio::time::sleep(clock.real_until(deadline)) => {
                    let now = clock.now();
                    if now >= stop_following_at {
                        tracing::warn!(rider = self.account.index, ride_id, "ride did not end in time; no longer followed");
                        break;
                    }
                    if cancel_at.is_some_and(|at| now >= at) && before_start {
                        cancel_at = None;
                        self.cancel(ride_id, "changed their mind").await;
                    } else if give_up_at.is_some_and(|at| now >= at) && waiting {
                        give_up_at = None;
                        self.cancel(ride_id, "waited too long").await;
                    }
                }
            }
        }
        self.account.last_event_id = link.last_event_id();
        if self.tracker.phase() == Some(RidePhase::Completed) {
            self.rate_driver(ride_id).await;
        }
    }

    async fn on_event(&mut self, ride_id: &str, kind: EventKind, pickup_eta_s: Option<f64>) {
        if kind == EventKind::DriverCancelled {
            self.tracker.driver_left();
            return;
        }
        if let Some(phase) = kind.phase() {
            self.tracker.observe(phase, pickup_eta_s);
        }
        if kind == EventKind::DriverAssigned && self.ctx.pins.get(ride_id).is_none() {
            self.refresh(ride_id).await;
        }
    }

    async fn cancel(&mut self, ride_id: &str, why: &'static str) {
        tracing::debug!(rider = self.account.index, ride_id, why, "rider cancels");
        let cancelled = with_retry(&self.shutdown, "cancel", || {
            self.ctx.api.cancel(&self.account.token, ride_id)
        })
        .await;
        match cancelled {
            Ok(ride) => self.observe(&ride),
            Err(error) => {
                // Most likely the ride moved on meanwhile (started, or ended): read where it is.
                self.note(&error);
                tracing::debug!(rider = self.account.index, ride_id, %error, "cancelling failed");
                self.refresh(ride_id).await;
            }
        }
    }

    async fn rate_driver(&mut self, ride_id: &str) {
        let (stars, comment) = rating::draw(&mut self.rng, rating::ABOUT_DRIVERS);
        let rated = with_retry(&self.shutdown, "rate driver", || {
            self.ctx
                .api
                .rate(&self.account.token, ride_id, stars, comment)
        })
        .await;
        if let Err(error) = rated {
            self.note(&error);
            tracing::debug!(rider = self.account.index, ride_id, %error, "rating the driver failed");
        }
    }
}
