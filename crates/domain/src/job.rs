//! Jobs: the unit of work every service hands to dispatch. A ride, a food delivery and a house call are
//! each one [`Job`] with ordered [`Stop`]s; the service record on top (a `Ride`, later an `Order` or a
//! `Booking`) owns what is specific to it (quote, fare, items, slot choice) and creates and reacts to jobs.
//!
//! One state machine serves every kind; what differs between kinds lives in the stops (how many, their
//! kinds, windows, service times and proofs), never in new job states:
//!
//! ```text
//!   offer made / declined / expired: stays open (a decline or an expiry excludes that worker)
//!    ┌──┐
//!    ▼  │
//!   open ──assign──▶ assigned ──complete a stop, not the last──▶ in_progress
//!    │ ▲                │   │                                       │
//!    │ └─worker cancels─┘   └──complete the last stop──▶ completed ◀─┘ complete the last stop
//!    ├──dispatch gives up──▶ unfulfilled ◀──worker fails (from assigned or in_progress)
//!    └──customer, merchant or operator cancels (also from assigned)──▶ cancelled
//! ```
//!
//! Stop-level progress lives on the stops: `pending ──arrive──▶ arrived ──complete──▶ done`; a job that
//! ends early marks its stops that were not done `skipped`. Only the job's next stop (the first one not
//! done) can be arrived at or completed, so a pickup is always done before its drop-off.
//!
//! Arrival is refused farther than a caller-given radius from the stop's place
//! ([`JobError::TooFarFromStop`]) or with no position of the worker known ([`JobError::PositionUnknown`]);
//! completion is never refused for distance, but a completion farther than the radius, or with no
//! position known at a stop the worker never arrived at, is recorded as an early end
//! ([`StopCompletion::early_end`]) so the service can price what was really done. Both rules read the
//! worker's last believed position through [`presence`], the one rule for every kind of stop.
//!
//! Every transition is a method that checks who acts and from which state, and then changes the job
//! through one private function, which also bumps `version` (the only place that does) and leaves the
//! job untouched when the transition is refused. Each returns the events to record with the change.
//!
//! How a service drives a job, with the worker's route (`crate::worker`) and a route offer
//! (`crate::route_offer`):
//! 1. create it with [`Job::ride`], [`Job::delivery`] or [`Job::house_call`] and save it with its
//!    [`JobEvent::Opened`];
//! 2. dispatch plans a `RouteOffer` for a worker and records it on each of its jobs ([`Job::offer`]);
//!    a decline or an expiry is [`Job::offer_declined`] / [`Job::offer_expired`];
//! 3. on accept: `RouteOffer::accept`, [`Job::assign`] for each job, then `Route::replan` of the
//!    worker's route with the offer's route (refused if the route moved since the plan);
//! 4. on the road: [`Job::arrive`] and [`Job::complete_stop`], and `Worker::stop_done` for the route;
//! 5. early ends: [`Job::cancel_by_customer`], [`Job::cancel`], [`Job::cancel_by_worker`],
//!    [`Job::give_up`], [`Job::fail`], and `Worker::drop_job` for the route.
//!
//! A new kind of job plugs in as a constructor that builds its stops (kinds, windows, service times,
//! proofs), its requirements and its load; the state machine, the route and the ledger stay as they are.
//!
//! Rides run on jobs with their ids: a [`Ride`] is its job and a ride record on top, and each of its
//! transitions is a transition of its job. [`job_state_of_ride`] and [`ride_state_of_job`] map states
//! both ways, [`ride_event_of`] maps a ride's job events to the ride's own events, and
//! [`Job::from_flat_ride`] builds the job of a ride stored in the flat shape rides had before.

use crate::code::{CodeError, VerificationCode};
use crate::ids::{JobId, MerchantId, OfferId, RideId, UserId};
use crate::money::Money;
use crate::ride::{CancelledBy, FlatRide, NoDriverReason, Ride, RideEvent, RideState};
use crate::stop::{Presence, presence};
use crate::time::Timestamp;
use crate::worker::{Requirements, RouteStop, Skill, VehicleKind};
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// What kind of service a job fulfils.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Carry a customer from a pickup to a drop-off.
    Ride,
    /// Carry goods from a merchant to a customer.
    Delivery,
    /// Do a service at the customer's place during a booked slot.
    HouseCall,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 3] = [JobKind::Ride, JobKind::Delivery, JobKind::HouseCall];

    /// The stable snake_case name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Ride => "ride",
            JobKind::Delivery => "delivery",
            JobKind::HouseCall => "house_call",
        }
    }

    /// Parses the name produced by [`JobKind::as_str`].
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The states of a job (of every kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for dispatch to find a worker (offers may be pending).
    Open,
    /// A worker committed to the job; no stop is done yet (the first may be arrived at).
    Assigned,
    /// At least one stop is done and at least one is not (a rider on board, food picked up).
    InProgress,
    /// Every stop is done.
    Completed,
    /// The customer, the merchant or an operator cancelled before any stop was done.
    Cancelled,
    /// The job ended without being done: no worker was found, or the worker could not finish.
    Unfulfilled,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 6] = [
        JobState::Open,
        JobState::Assigned,
        JobState::InProgress,
        JobState::Completed,
        JobState::Cancelled,
        JobState::Unfulfilled,
    ];

    /// The stable snake_case name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Open => "open",
            JobState::Assigned => "assigned",
            JobState::InProgress => "in_progress",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
            JobState::Unfulfilled => "unfulfilled",
        }
    }

    /// Parses the name produced by [`JobState::as_str`].
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the job can change no more.
    pub const fn is_terminal(self) -> bool {
        match self {
            JobState::Completed | JobState::Cancelled | JobState::Unfulfilled => true,
            JobState::Open | JobState::Assigned | JobState::InProgress => false,
        }
    }

    /// Whether a worker is attached to the job in this state (kept after completion).
    pub const fn has_worker(self) -> bool {
        match self {
            JobState::Assigned | JobState::InProgress | JobState::Completed => true,
            JobState::Open | JobState::Cancelled | JobState::Unfulfilled => false,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens at a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// The worker takes someone or something on board (the job's load is added).
    Pickup,
    /// The worker hands over what it carries (the job's load is removed).
    Dropoff,
    /// The worker does a service on site (no load).
    Service,
}

impl StopKind {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            StopKind::Pickup => "pickup",
            StopKind::Dropoff => "dropoff",
            StopKind::Service => "service",
        }
    }
}

/// The states of one stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopState {
    /// Not reached yet.
    Pending,
    /// The worker is at the stop.
    Arrived,
    /// The stop's work is done.
    Done,
    /// The job ended (cancelled, unfulfilled) before this stop was done.
    Skipped,
}

impl StopState {
    /// Every state.
    pub const ALL: [StopState; 4] = [
        StopState::Pending,
        StopState::Arrived,
        StopState::Done,
        StopState::Skipped,
    ];

    /// The stable snake_case name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            StopState::Pending => "pending",
            StopState::Arrived => "arrived",
            StopState::Done => "done",
            StopState::Skipped => "skipped",
        }
    }

    /// Parses the name produced by [`StopState::as_str`].
    pub fn parse(s: &str) -> Option<StopState> {
        StopState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// When a stop may be served: not before `earliest`, not after `latest`. A stored window that ends
/// before it starts is refused when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct TimeWindow {
    earliest: Timestamp,
    latest: Timestamp,
}

/// A window as stored, before its check.
#[derive(Deserialize)]
struct RawWindow {
    earliest: Timestamp,
    latest: Timestamp,
}

impl TryFrom<RawWindow> for TimeWindow {
    type Error = InvalidWindow;

    fn try_from(raw: RawWindow) -> Result<TimeWindow, InvalidWindow> {
        TimeWindow::new(raw.earliest, raw.latest)
    }
}

/// A window that ends before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a time window cannot end before it starts")]
pub struct InvalidWindow;

impl TimeWindow {
    /// The window from `earliest` to `latest`, both included; refused if `latest` is before `earliest`.
    pub fn new(earliest: Timestamp, latest: Timestamp) -> Result<TimeWindow, InvalidWindow> {
        if latest < earliest {
            Err(InvalidWindow)
        } else {
            Ok(TimeWindow { earliest, latest })
        }
    }

    /// The window of one instant (a booked start).
    pub const fn at(instant: Timestamp) -> TimeWindow {
        TimeWindow {
            earliest: instant,
            latest: instant,
        }
    }

    /// A window that opens at `earliest` and never closes (a ride's drop-off).
    pub const fn open_from(earliest: Timestamp) -> TimeWindow {
        TimeWindow {
            earliest,
            latest: Timestamp::from_millis(i64::MAX),
        }
    }

    /// The first instant the stop may be served.
    pub const fn earliest(self) -> Timestamp {
        self.earliest
    }

    /// The last instant the stop may be served.
    pub const fn latest(self) -> Timestamp {
        self.latest
    }

    /// Whether the window never closes.
    pub const fn is_open_ended(self) -> bool {
        self.latest.millis() == i64::MAX
    }

    /// Whether `at` lies in the window.
    pub fn contains(self, at: Timestamp) -> bool {
        self.earliest <= at && at <= self.latest
    }
}

/// How and where a stop was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopCompletion {
    /// When the worker marked the stop done.
    pub at: Timestamp,
    /// How far the worker's last believed position was from the stop's place, in whole metres (rounded
    /// up, as [`presence`] measures), when one was known.
    pub distance_m: Option<u32>,
    /// The job ended early, elsewhere (the service prices what was really done): the worker was farther
    /// than the radius from the stop's place, or no position was known at a stop it never arrived at.
    pub early_end: bool,
}

/// One place a worker must go for a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    /// What happens there.
    pub kind: StopKind,
    /// Where.
    pub place: LatLng,
    /// When it may be served.
    pub window: TimeWindow,
    /// How long the work there takes, in seconds (boarding, hand-over, the service itself).
    pub service_s: u32,
    /// A code the worker must be told to complete the stop (the ride PIN; a hand-over or check-in
    /// code), with its count of wrong guesses.
    pub proof: Option<VerificationCode>,
    /// Where the stop stands.
    pub state: StopState,
    /// When the worker arrived.
    pub arrived_at: Option<Timestamp>,
    /// When and where the stop was completed.
    pub completion: Option<StopCompletion>,
}

impl Stop {
    /// A pending stop.
    pub fn new(
        kind: StopKind,
        place: LatLng,
        window: TimeWindow,
        service_s: u32,
        proof: Option<VerificationCode>,
    ) -> Stop {
        Stop {
            kind,
            place,
            window,
            service_s,
            proof,
            state: StopState::Pending,
            arrived_at: None,
            completion: None,
        }
    }
}

/// The plan of a stop as its job's first event records it (no proof: events reach workers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StopPlan {
    /// What happens there.
    pub kind: StopKind,
    /// Where.
    pub place: LatLng,
    /// When it may be served.
    pub window: TimeWindow,
    /// How long the work there takes, in seconds.
    pub service_s: u32,
    /// Whether completing it needs a code.
    pub needs_proof: bool,
}

/// An offer of the job that waits for its worker's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOffer {
    /// The offer (a route offer may cover several jobs).
    pub offer: OfferId,
    /// The worker asked.
    pub worker: UserId,
    /// The last instant the worker can accept.
    pub expires_at: Timestamp,
}

/// Who cancelled a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Canceller {
    /// The customer.
    Customer,
    /// The merchant (a kitchen that cannot make the order).
    Merchant,
    /// An operator.
    Operator,
}

impl Canceller {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Canceller::Customer => "customer",
            Canceller::Merchant => "merchant",
            Canceller::Operator => "operator",
        }
    }
}

/// Why a job ended without being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnfulfilledReason {
    /// No eligible worker was within reach of the first stop, and none was ever offered the job.
    NoWorkersNearby,
    /// Workers were offered the job and every one declined; no other worker was left.
    AllOffersDeclined,
    /// Workers were offered the job and at least one let the offer lapse; no other worker was left.
    OffersExpired,
    /// A worker accepted the job, then cancelled, and no other worker took it.
    WorkerCancelledNoReplacement,
    /// Workers were within reach but none became free to take the job in time.
    TimedOut,
    /// Old records: offers declined or expired, undistinguished.
    AllWorkersDeclined,
    /// The worker could not reach or find the customer.
    CustomerUnreachable,
    /// The worker could not collect what was to be picked up (the merchant had nothing to hand over).
    PickupUnavailable,
}

impl UnfulfilledReason {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            UnfulfilledReason::NoWorkersNearby => "no_workers_nearby",
            UnfulfilledReason::AllOffersDeclined => "all_offers_declined",
            UnfulfilledReason::OffersExpired => "offers_expired",
            UnfulfilledReason::WorkerCancelledNoReplacement => "worker_cancelled_no_replacement",
            UnfulfilledReason::TimedOut => "timed_out",
            UnfulfilledReason::AllWorkersDeclined => "all_workers_declined",
            UnfulfilledReason::CustomerUnreachable => "customer_unreachable",
            UnfulfilledReason::PickupUnavailable => "pickup_unavailable",
        }
    }

    /// Whether dispatch gives this reason (the job never had a worker), rather than a worker.
    pub const fn is_dispatch_reason(self) -> bool {
        self.no_driver_reason().is_some()
    }

    /// Every reason (to parse stored names).
    pub const ALL: [UnfulfilledReason; 8] = [
        UnfulfilledReason::NoWorkersNearby,
        UnfulfilledReason::AllOffersDeclined,
        UnfulfilledReason::OffersExpired,
        UnfulfilledReason::WorkerCancelledNoReplacement,
        UnfulfilledReason::TimedOut,
        UnfulfilledReason::AllWorkersDeclined,
        UnfulfilledReason::CustomerUnreachable,
        UnfulfilledReason::PickupUnavailable,
    ];

    /// The ride's reason for a dispatch reason (`None` for a worker's failure): the one mapping,
    /// inverse of `From<NoDriverReason>`.
    pub const fn no_driver_reason(self) -> Option<NoDriverReason> {
        match self {
            UnfulfilledReason::NoWorkersNearby => Some(NoDriverReason::NoDriversNearby),
            UnfulfilledReason::AllOffersDeclined => Some(NoDriverReason::AllOffersDeclined),
            UnfulfilledReason::OffersExpired => Some(NoDriverReason::OffersExpired),
            UnfulfilledReason::WorkerCancelledNoReplacement => {
                Some(NoDriverReason::DriverCancelledNoReplacement)
            }
            UnfulfilledReason::TimedOut => Some(NoDriverReason::TimedOut),
            UnfulfilledReason::AllWorkersDeclined => Some(NoDriverReason::AllDriversDeclined),
            UnfulfilledReason::CustomerUnreachable | UnfulfilledReason::PickupUnavailable => None,
        }
    }
}

/// Something that happened to a job: recorded with the change in one transaction (the stored format;
/// the public wire format is a separate, versioned DTO in `api`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    /// The job was created and is open for dispatch.
    Opened {
        /// Its kind.
        kind: JobKind,
        /// The customer it is for.
        customer: UserId,
        /// The merchant involved, if any.
        merchant: Option<MerchantId>,
        /// Its stops, in order.
        stops: Vec<StopPlan>,
    },
    /// The job was offered to a worker.
    Offered {
        /// The offer.
        offer: OfferId,
        /// The worker asked.
        worker: UserId,
        /// Deadline to answer.
        expires_at: Timestamp,
        /// Estimated time to the job's first stop, in seconds.
        eta_s: u32,
    },
    /// The worker declined; dispatch does not offer the job to it again.
    OfferDeclined {
        /// The offer.
        offer: OfferId,
        /// The worker who declined.
        worker: UserId,
    },
    /// The worker did not answer in time; dispatch does not offer the job to it again.
    OfferExpired {
        /// The offer.
        offer: OfferId,
        /// The worker who did not answer.
        worker: UserId,
    },
    /// A worker committed to the job.
    Assigned {
        /// The worker.
        worker: UserId,
        /// Estimated time to the first stop, in seconds.
        eta_s: u32,
    },
    /// A stop's window moved (the kitchen says the food is ready later).
    WindowChanged {
        /// The stop.
        stop: usize,
        /// Its new window.
        window: TimeWindow,
    },
    /// The worker is at a stop.
    Arrived {
        /// The worker.
        worker: UserId,
        /// The stop.
        stop: usize,
        /// How far from the stop's place the worker said it arrived, in metres.
        distance_m: u32,
    },
    /// A wrong code was given for a stop's proof.
    ProofAttemptFailed {
        /// The stop.
        stop: usize,
        /// How many more wrong codes lock it.
        attempts_left: u8,
    },
    /// Too many wrong codes: the stop cannot be completed until the code is reissued.
    ProofLocked {
        /// The stop.
        stop: usize,
    },
    /// A stop's code was replaced (and unlocked). Never carries the code.
    ProofReissued {
        /// The stop.
        stop: usize,
    },
    /// A stop's work is done.
    StopDone {
        /// The worker.
        worker: UserId,
        /// The stop.
        stop: usize,
        /// How far from the stop's place, in metres, when the worker's position was known.
        distance_m: Option<u32>,
        /// Completed away from the stop's place ([`StopCompletion::early_end`]).
        early_end: bool,
    },
    /// The worker checked in at a stop with its code: the work there has started.
    CheckedIn {
        /// The worker.
        worker: UserId,
        /// The stop.
        stop: usize,
    },
    /// Every stop is done.
    Completed {
        /// The worker.
        worker: UserId,
    },
    /// The job was cancelled.
    Cancelled {
        /// Who cancelled.
        by: Canceller,
        /// The worker that was on the way, if any.
        worker: Option<UserId>,
        /// The fee the service charges for it, if any.
        fee: Option<Money>,
    },
    /// The assigned worker gave the job back; it is open again without that worker.
    WorkerCancelled {
        /// The worker.
        worker: UserId,
    },
    /// The job ended without being done.
    Unfulfilled {
        /// Why.
        reason: UnfulfilledReason,
        /// The worker that gave up, if one was assigned.
        worker: Option<UserId>,
    },
}

impl JobEvent {
    /// The stable snake_case name of the event's kind (the `type` field).
    pub const fn kind(&self) -> &'static str {
        match self {
            JobEvent::Opened { .. } => "opened",
            JobEvent::Offered { .. } => "offered",
            JobEvent::OfferDeclined { .. } => "offer_declined",
            JobEvent::OfferExpired { .. } => "offer_expired",
            JobEvent::Assigned { .. } => "assigned",
            JobEvent::WindowChanged { .. } => "window_changed",
            JobEvent::Arrived { .. } => "arrived",
            JobEvent::ProofAttemptFailed { .. } => "proof_attempt_failed",
            JobEvent::ProofLocked { .. } => "proof_locked",
            JobEvent::ProofReissued { .. } => "proof_reissued",
            JobEvent::StopDone { .. } => "stop_done",
            JobEvent::CheckedIn { .. } => "checked_in",
            JobEvent::Completed { .. } => "completed",
            JobEvent::Cancelled { .. } => "cancelled",
            JobEvent::WorkerCancelled { .. } => "worker_cancelled",
            JobEvent::Unfulfilled { .. } => "unfulfilled",
        }
    }
}

/// Why a job command was refused. A refused command leaves the job untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The command is not allowed in the job's current state.
    #[error("cannot {command} a job that is {from}")]
    Transition {
        /// The state the job is in.
        from: JobState,
        /// The command that was refused.
        command: &'static str,
    },
    /// The actor is not the job's customer or assigned worker.
    #[error("not your job")]
    NotYourJob,
    /// The worker declined, let an offer expire or cancelled: it is not given this job again.
    #[error("this worker gave up this job before")]
    WorkerExcluded,
    /// An offer of the job to another worker is waiting for an answer.
    #[error("the job is offered to another worker")]
    OfferPending,
    /// The job has no pending offer with that id.
    #[error("no such pending offer of this job")]
    NoSuchOffer,
    /// The job has no stop with that index.
    #[error("the job has no stop {stop}")]
    NoSuchStop {
        /// The index asked for.
        stop: usize,
    },
    /// Stops are served in order: this is not the job's next stop.
    #[error("stop {stop} is not the next stop (that is {next})")]
    NotTheNextStop {
        /// The stop asked for.
        stop: usize,
        /// The job's next stop.
        next: usize,
    },
    /// The stop is not in a state that allows the command.
    #[error("cannot {command} a stop that is {state:?}")]
    StopTransition {
        /// The stop's state.
        state: StopState,
        /// The command that was refused.
        command: &'static str,
    },
    /// The worker is farther from the stop than the radius allows.
    #[error("{distance_m} m from the stop, farther than {radius_m} m")]
    TooFarFromStop {
        /// How far the worker is.
        distance_m: u32,
        /// The radius allowed.
        radius_m: u32,
    },
    /// No position of the worker is known, so it cannot be at the stop.
    #[error("no position of the worker is known; it must be within {radius_m} m of the stop")]
    PositionUnknown {
        /// The radius allowed.
        radius_m: u32,
    },
    /// The stop needs a code and none was given.
    #[error("this stop needs a code")]
    ProofRequired,
    /// The stop's code is locked after too many wrong guesses; the code given was not compared.
    #[error("the code is locked after too many wrong tries; it must be reissued")]
    ProofLocked,
    /// The code given is not a code of the right length (not compared, not counted).
    #[error("a code is {expected} digits")]
    MalformedProof {
        /// The number of digits expected.
        expected: u8,
    },
    /// The stop has no code to reissue.
    #[error("this stop has no code")]
    NoProof,
    /// The reason is not one this actor gives: dispatch gives up for want of workers; a worker fails
    /// for what it found on site.
    #[error("{reason:?} is not a reason this actor gives")]
    WrongReason {
        /// The reason given.
        reason: UnfulfilledReason,
    },
}

impl JobError {
    /// A stable machine-readable code for the error (what the API answers as `code`).
    pub const fn code(&self) -> &'static str {
        match self {
            JobError::Transition { .. } => "invalid_job_transition",
            JobError::NotYourJob => "job_not_found",
            JobError::WorkerExcluded => "worker_excluded",
            JobError::OfferPending => "offer_pending",
            JobError::NoSuchOffer => "offer_not_found",
            JobError::NoSuchStop { .. } => "stop_not_found",
            JobError::NotTheNextStop { .. } => "not_the_next_stop",
            JobError::StopTransition { .. } => "invalid_stop_transition",
            JobError::TooFarFromStop { .. } => "too_far_from_stop",
            JobError::PositionUnknown { .. } => "position_unknown",
            JobError::ProofRequired => "code_required",
            JobError::ProofLocked => "code_locked",
            JobError::MalformedProof { .. } => "malformed_code",
            JobError::NoProof => "no_code",
            JobError::WrongReason { .. } => "wrong_reason",
        }
    }
}

/// What completing a stop did. Both outcomes change the job; save it with the events before answering.
#[derive(Debug, Clone, PartialEq)]
pub enum StopOutcome {
    /// The stop is done ([`JobEvent::StopDone`], and [`JobEvent::Completed`] after the last stop).
    Done(Vec<JobEvent>),
    /// The code did not match; the attempt was counted ([`JobEvent::ProofAttemptFailed`] and, when this
    /// attempt reached the limit, [`JobEvent::ProofLocked`]).
    WrongProof {
        /// How many more wrong codes lock the stop's code (0: this one locked it).
        attempts_left: u8,
        /// The events to record, in order.
        events: Vec<JobEvent>,
    },
}

impl StopOutcome {
    /// The events to record.
    pub fn events(&self) -> &[JobEvent] {
        match self {
            StopOutcome::Done(events) | StopOutcome::WrongProof { events, .. } => events,
        }
    }
}

/// A ride's job: pickup (with the PIN as its proof) and drop-off.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRideJob {
    /// The ride's id (a ride's job has its ride's id).
    pub id: RideId,
    /// The rider.
    pub customer: UserId,
    /// Where the rider is picked up.
    pub pickup: LatLng,
    /// Where the rider is dropped off.
    pub dropoff: LatLng,
    /// When the ride was requested: the pickup window opens.
    pub requested_at: Timestamp,
    /// How long dispatch may look for a driver: the pickup window closes this many seconds after the
    /// request.
    pub pickup_limit_secs: i64,
    /// The rider's PIN, told to the driver at the car.
    pub pin: VerificationCode,
}

/// A delivery's job: pickup at the merchant (window opens when the goods are ready) and drop-off at
/// the customer's.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeliveryJob {
    /// The job's id.
    pub id: JobId,
    /// The customer.
    pub customer: UserId,
    /// The merchant the goods come from.
    pub merchant: MerchantId,
    /// The merchant's place.
    pub pickup: LatLng,
    /// The customer's place.
    pub dropoff: LatLng,
    /// When the goods are ready (the kitchen's estimate): the pickup window opens.
    pub ready_at: Timestamp,
    /// The latest acceptable hand-over to the customer; both windows close then.
    pub deliver_by: Timestamp,
    /// Seconds to collect the goods at the merchant.
    pub pickup_service_s: u32,
    /// Seconds to hand them over at the door.
    pub dropoff_service_s: u32,
    /// The code the customer tells the courier at the door, if the order needs one.
    pub handover: Option<VerificationCode>,
    /// How much of a courier's capacity the order takes (bags).
    pub bags: u32,
}

/// A house call's job: one service stop at the customer's place during the booked slot.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHouseCallJob {
    /// The job's id.
    pub id: JobId,
    /// The customer.
    pub customer: UserId,
    /// The business that sells the service, if any.
    pub merchant: Option<MerchantId>,
    /// The customer's place.
    pub place: LatLng,
    /// The booked slot: the provider must start within it.
    pub slot: TimeWindow,
    /// How long the service takes, in seconds.
    pub service_s: u32,
    /// The code the customer tells the provider when the work is done, if any.
    pub proof: Option<VerificationCode>,
    /// The skills the service needs.
    pub skills: BTreeSet<Skill>,
}

/// A job of any kind: its stops, its state and its worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Identity (a ride's job has its ride's id).
    pub id: JobId,
    /// What kind of service it fulfils.
    pub kind: JobKind,
    /// The customer it is for.
    pub customer: UserId,
    /// The merchant involved (the restaurant of a delivery), if any.
    pub merchant: Option<MerchantId>,
    /// Its stops, in the order they must be served.
    pub stops: Vec<Stop>,
    /// Current state.
    pub state: JobState,
    /// The assigned worker while one is attached; kept after completion, and after a cancellation or
    /// failure (the worker who was on the way, who may earn a cancellation fee). `None` while open.
    pub worker: Option<UserId>,
    /// What a worker must have to take the job.
    pub requirements: Requirements,
    /// How much of a worker's capacity the job takes between its pickup and its drop-off (seats, bags).
    pub load: u32,
    /// The offer waiting for an answer, if any.
    pub pending_offer: Option<PendingOffer>,
    /// Workers who declined, let an offer expire or cancelled: not offered this job again.
    pub excluded_workers: Vec<UserId>,
    /// Estimated time to the first stop given at assignment, in seconds.
    pub eta_s: Option<u32>,
    /// When the job was opened.
    pub opened_at: Timestamp,
    /// When the current (or last) worker was assigned.
    pub assigned_at: Option<Timestamp>,
    /// When it reached a terminal state.
    pub ended_at: Option<Timestamp>,
    /// Who cancelled, when cancelled.
    pub cancelled_by: Option<Canceller>,
    /// The cancellation fee the service charged, if any.
    pub cancel_fee: Option<Money>,
    /// Why it ended undone, when unfulfilled.
    pub unfulfilled_reason: Option<UnfulfilledReason>,
    /// Incremented by every transition (and only by [`Job`]'s transitions); the store uses it for
    /// optimistic concurrency and the hot-state applier to refuse stale changes.
    pub version: i64,
}

impl Job {
    /// A ride's job in `open`: pickup window from the request to the pickup limit, drop-off window open
    /// from the request; the PIN is the pickup's proof; one seat.
    pub fn ride(new: NewRideJob) -> (Job, JobEvent) {
        let pickup_window = TimeWindow {
            earliest: new.requested_at,
            latest: new.requested_at.plus_secs(new.pickup_limit_secs.max(0)),
        };
        let stops = vec![
            Stop::new(
                StopKind::Pickup,
                new.pickup,
                pickup_window,
                0,
                Some(new.pin),
            ),
            Stop::new(
                StopKind::Dropoff,
                new.dropoff,
                TimeWindow::open_from(new.requested_at),
                0,
                None,
            ),
        ];
        let requirements = Requirements {
            vehicles: BTreeSet::from([VehicleKind::Car]),
            skills: BTreeSet::new(),
        };
        Job::open(
            JobId::from(new.id),
            JobKind::Ride,
            new.customer,
            None,
            stops,
            requirements,
            1,
            new.requested_at,
        )
    }

    /// A delivery's job in `open`: both windows from `ready_at` to `deliver_by` (a `deliver_by` before
    /// `ready_at` is refused).
    pub fn delivery(new: NewDeliveryJob, now: Timestamp) -> Result<(Job, JobEvent), InvalidWindow> {
        let window = TimeWindow::new(new.ready_at, new.deliver_by)?;
        let stops = vec![
            Stop::new(
                StopKind::Pickup,
                new.pickup,
                window,
                new.pickup_service_s,
                None,
            ),
            Stop::new(
                StopKind::Dropoff,
                new.dropoff,
                window,
                new.dropoff_service_s,
                new.handover,
            ),
        ];
        Ok(Job::open(
            new.id,
            JobKind::Delivery,
            new.customer,
            Some(new.merchant),
            stops,
            Requirements::default(),
            new.bags,
            now,
        ))
    }

    /// A house call's job in `open`: one service stop whose window is the booked slot and whose service
    /// time is the service's length. It takes no capacity.
    pub fn house_call(new: NewHouseCallJob, now: Timestamp) -> (Job, JobEvent) {
        let stops = vec![Stop::new(
            StopKind::Service,
            new.place,
            new.slot,
            new.service_s,
            new.proof,
        )];
        let requirements = Requirements {
            vehicles: BTreeSet::new(),
            skills: new.skills,
        };
        Job::open(
            new.id,
            JobKind::HouseCall,
            new.customer,
            new.merchant,
            stops,
            requirements,
            0,
            now,
        )
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the private constructor the three public ones share"
    )]
    fn open(
        id: JobId,
        kind: JobKind,
        customer: UserId,
        merchant: Option<MerchantId>,
        stops: Vec<Stop>,
        requirements: Requirements,
        load: u32,
        now: Timestamp,
    ) -> (Job, JobEvent) {
        let event = JobEvent::Opened {
            kind,
            customer,
            merchant,
            stops: stops
                .iter()
                .map(|s| StopPlan {
                    kind: s.kind,
                    place: s.place,
                    window: s.window,
                    service_s: s.service_s,
                    needs_proof: s.proof.is_some(),
                })
                .collect(),
        };
        let job = Job {
            id,
            kind,
            customer,
            merchant,
            stops,
            state: JobState::Open,
            worker: None,
            requirements,
            load,
            pending_offer: None,
            excluded_workers: Vec::new(),
            eta_s: None,
            opened_at: now,
            assigned_at: None,
            ended_at: None,
            cancelled_by: None,
            cancel_fee: None,
            unfulfilled_reason: None,
            version: 1,
        };
        (job, event)
    }

    /// Whether `user` is this job's customer or its assigned worker.
    pub fn involves(&self, user: UserId) -> bool {
        self.customer == user || self.worker == Some(user)
    }

    /// The index of the first stop not done yet (the one the worker goes to next), if any.
    pub fn next_stop(&self) -> Option<usize> {
        self.stops.iter().position(|s| s.state != StopState::Done)
    }

    /// The job's stops that are not done, as a worker's route holds them (for inserting the job into a
    /// route, or rebuilding a route after a restart). A pickup adds the job's load, a drop-off removes it.
    pub fn route_stops(&self) -> Vec<RouteStop> {
        let load = i64::from(self.load);
        self.stops
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, StopState::Pending | StopState::Arrived))
            .map(|(i, s)| RouteStop {
                job: self.id,
                stop_index: i,
                kind: s.kind,
                place: s.place,
                window: s.window,
                service_s: s.service_s,
                load_change: match s.kind {
                    StopKind::Pickup => load,
                    StopKind::Dropoff => -load,
                    StopKind::Service => 0,
                },
            })
            .collect()
    }

    /// Records that the job was offered to `worker` (a route offer may cover several jobs). Not a state
    /// change, but it must collide with any concurrent change, so it bumps the version. Refused unless
    /// the job is open, the worker was not excluded and no other offer is pending.
    pub fn offer(
        &mut self,
        offer: OfferId,
        worker: UserId,
        expires_at: Timestamp,
        eta_s: u32,
    ) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_state(JobState::Open, "offer")?;
            if job.excluded_workers.contains(&worker) {
                return Err(JobError::WorkerExcluded);
            }
            if job.pending_offer.is_some() {
                return Err(JobError::OfferPending);
            }
            job.pending_offer = Some(PendingOffer {
                offer,
                worker,
                expires_at,
            });
            Ok(JobEvent::Offered {
                offer,
                worker,
                expires_at,
                eta_s,
            })
        })
    }

    /// The worker declined the pending offer `offer`: the job stays open and that worker is excluded.
    pub fn offer_declined(&mut self, offer: OfferId) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            let worker = job.end_offer(offer)?;
            Ok(JobEvent::OfferDeclined { offer, worker })
        })
    }

    /// The pending offer `offer` expired unanswered: the job stays open and that worker is excluded.
    pub fn offer_expired(&mut self, offer: OfferId) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            let worker = job.end_offer(offer)?;
            Ok(JobEvent::OfferExpired { offer, worker })
        })
    }

    /// A worker commits to the job (it accepted an offer, or an operator assigned it). Refused unless the
    /// job is open, the worker was not excluded, and any pending offer is that worker's (it is cleared).
    pub fn assign(
        &mut self,
        worker: UserId,
        eta_s: u32,
        now: Timestamp,
    ) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_state(JobState::Open, "assign")?;
            if job.excluded_workers.contains(&worker) {
                return Err(JobError::WorkerExcluded);
            }
            if job.pending_offer.is_some_and(|p| p.worker != worker) {
                return Err(JobError::OfferPending);
            }
            job.pending_offer = None;
            job.state = JobState::Assigned;
            job.worker = Some(worker);
            job.eta_s = Some(eta_s);
            job.assigned_at = Some(now);
            Ok(JobEvent::Assigned { worker, eta_s })
        })
    }

    /// Moves a stop's window (the kitchen's new estimate). Allowed until the stop is done.
    pub fn set_window(&mut self, stop: usize, window: TimeWindow) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_live("change a window of")?;
            let s = job.stop_mut(stop)?;
            match s.state {
                StopState::Pending | StopState::Arrived => {}
                state @ (StopState::Done | StopState::Skipped) => {
                    return Err(JobError::StopTransition {
                        state,
                        command: "change the window of",
                    });
                }
            }
            s.window = window;
            Ok(JobEvent::WindowChanged { stop, window })
        })
    }

    /// Records a change of the service record on top of the job that changes nothing of the job itself
    /// (a kitchen starting or finishing an order): it bumps the version, so that it collides with any
    /// concurrent change of the job. Refused once the job has ended.
    pub fn service_changed(&mut self) -> Result<(), JobError> {
        self.transition(|job| job.expect_live("change the service of"))
    }

    /// The assigned worker is at the job's next stop. `position` is the worker's last believed
    /// position, if one is known; by [`presence`] (the same rule for every kind), arrival is refused with
    /// [`JobError::TooFarFromStop`] when it is farther than `radius_m` metres from the stop's place, and
    /// with [`JobError::PositionUnknown`] when none is known.
    pub fn arrive(
        &mut self,
        by: UserId,
        stop: usize,
        position: impl Into<Option<LatLng>>,
        radius_m: u32,
        now: Timestamp,
    ) -> Result<JobEvent, JobError> {
        let position = position.into();
        self.transition(|job| {
            job.expect_worker(by)?;
            job.expect_working("arrive at")?;
            job.expect_next_stop(stop)?;
            let s = job.stop_mut(stop)?;
            if s.state != StopState::Pending {
                return Err(JobError::StopTransition {
                    state: s.state,
                    command: "arrive at",
                });
            }
            let distance_m = match presence(s.place, radius_m, position) {
                Presence::At { distance_m } => distance_m,
                Presence::Away { distance_m } => {
                    return Err(JobError::TooFarFromStop {
                        distance_m,
                        radius_m,
                    });
                }
                Presence::Unknown => return Err(JobError::PositionUnknown { radius_m }),
            };
            s.state = StopState::Arrived;
            s.arrived_at = Some(now);
            Ok(JobEvent::Arrived {
                worker: by,
                stop,
                distance_m,
            })
        })
    }

    /// The assigned worker completes the job's next stop, with the code the stop needs (if any), allowing
    /// at most `max_attempts` wrong codes since it was issued.
    ///
    /// A pickup or service stop must be arrived at first; a drop-off may be completed from anywhere (the
    /// trip ended elsewhere). `position` is the worker's last believed position, if one is known. By
    /// [`presence`], a completion farther than `radius_m` from the stop's place is recorded as an early
    /// end, and so is one with no position known at a stop the worker never arrived at; at a stop it
    /// arrived at (its presence checked then) a completion with no position known is not early. A wrong
    /// code is counted (the job changes) and answered with [`StopOutcome::WrongProof`]; a locked code
    /// refuses every code, the right one included.
    #[allow(
        clippy::too_many_arguments,
        reason = "who, which stop, the code and its limit, where, the radius and when are all inputs"
    )]
    pub fn complete_stop(
        &mut self,
        by: UserId,
        stop: usize,
        proof: Option<&str>,
        max_attempts: u8,
        position: impl Into<Option<LatLng>>,
        radius_m: u32,
        now: Timestamp,
    ) -> Result<StopOutcome, JobError> {
        let position = position.into();
        self.transition(|job| {
            job.expect_worker(by)?;
            job.expect_working("complete a stop of")?;
            job.expect_next_stop(stop)?;
            let last = stop + 1 == job.stops.len();
            let s = job.stop_mut(stop)?;
            match (s.state, s.kind) {
                (StopState::Arrived, _) | (StopState::Pending, StopKind::Dropoff) => {}
                (state, _) => {
                    return Err(JobError::StopTransition {
                        state,
                        command: "complete",
                    });
                }
            }
            if let Some(code) = s.proof.as_mut() {
                let guess = proof.ok_or(JobError::ProofRequired)?;
                if let Some(wrong) = check_proof(code, stop, guess, max_attempts)? {
                    return Ok(wrong);
                }
            }
            let here = presence(s.place, radius_m, position);
            let early_end = match here {
                Presence::At { .. } => false,
                Presence::Away { .. } => true,
                Presence::Unknown => s.state != StopState::Arrived,
            };
            let distance_m = here.distance_m();
            s.state = StopState::Done;
            s.completion = Some(StopCompletion {
                at: now,
                distance_m,
                early_end,
            });
            let mut events = vec![JobEvent::StopDone {
                worker: by,
                stop,
                distance_m,
                early_end,
            }];
            if last {
                job.state = JobState::Completed;
                job.ended_at = Some(now);
                events.push(JobEvent::Completed { worker: by });
            } else {
                job.state = JobState::InProgress;
            }
            Ok(StopOutcome::Done(events))
        })
    }

    /// The worker, at a stop it arrived at, shows the stop's code was given (a house call's check-in):
    /// the job is in progress and the stop stays arrived until it is completed, with no code asked again
    /// (the code is spent). A wrong code is counted as at [`Job::complete_stop`]; a locked code refuses
    /// every code.
    pub fn check_in(
        &mut self,
        by: UserId,
        stop: usize,
        proof: &str,
        max_attempts: u8,
    ) -> Result<StopOutcome, JobError> {
        self.transition(|job| {
            job.expect_worker(by)?;
            job.expect_state(JobState::Assigned, "check in to")?;
            job.expect_next_stop(stop)?;
            let s = job.stop_mut(stop)?;
            if s.state != StopState::Arrived {
                return Err(JobError::StopTransition {
                    state: s.state,
                    command: "check in at",
                });
            }
            let code = s.proof.as_mut().ok_or(JobError::NoProof)?;
            if let Some(wrong) = check_proof(code, stop, proof, max_attempts)? {
                return Ok(wrong);
            }
            s.proof = None;
            job.state = JobState::InProgress;
            Ok(StopOutcome::Done(vec![JobEvent::CheckedIn {
                worker: by,
                stop,
            }]))
        })
    }

    /// Replaces a stop's code with a new random one (which unlocks it). Allowed until the stop is done;
    /// who may ask is the service's rule (for a ride: the rider or an operator).
    pub fn reissue_proof(
        &mut self,
        stop: usize,
        rng: &mut impl rand::Rng,
    ) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_live("issue a new code for")?;
            let s = job.stop_mut(stop)?;
            match s.state {
                StopState::Pending | StopState::Arrived => {}
                state @ (StopState::Done | StopState::Skipped) => {
                    return Err(JobError::StopTransition {
                        state,
                        command: "issue a new code for",
                    });
                }
            }
            s.proof.as_mut().ok_or(JobError::NoProof)?.reissue(rng);
            Ok(JobEvent::ProofReissued { stop })
        })
    }

    /// The customer cancels before any stop is done; `fee` is what the service charges for it (the
    /// service's rule: a ride's free window).
    pub fn cancel_by_customer(
        &mut self,
        by: UserId,
        fee: Option<Money>,
        now: Timestamp,
    ) -> Result<JobEvent, JobError> {
        if by != self.customer {
            return Err(JobError::NotYourJob);
        }
        self.cancel(Canceller::Customer, fee, now)
    }

    /// The merchant or an operator cancels before any stop is done.
    pub fn cancel(
        &mut self,
        by: Canceller,
        fee: Option<Money>,
        now: Timestamp,
    ) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            match job.state {
                JobState::Open | JobState::Assigned => {}
                from @ (JobState::InProgress
                | JobState::Completed
                | JobState::Cancelled
                | JobState::Unfulfilled) => {
                    return Err(JobError::Transition {
                        from,
                        command: "cancel",
                    });
                }
            }
            job.end(JobState::Cancelled, now);
            job.cancelled_by = Some(by);
            job.cancel_fee = fee;
            Ok(JobEvent::Cancelled {
                by,
                worker: job.worker,
                fee,
            })
        })
    }

    /// The assigned worker gives the job back before any stop is done: the job is open again, and that
    /// worker is excluded from it. Stops it arrived at are pending again.
    pub fn cancel_by_worker(&mut self, by: UserId) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_worker(by)?;
            job.expect_state(JobState::Assigned, "cancel as worker")?;
            job.state = JobState::Open;
            job.worker = None;
            job.eta_s = None;
            job.assigned_at = None;
            for s in &mut job.stops {
                s.state = StopState::Pending;
                s.arrived_at = None;
            }
            if !job.excluded_workers.contains(&by) {
                job.excluded_workers.push(by);
            }
            Ok(JobEvent::WorkerCancelled { worker: by })
        })
    }

    /// An operator takes the job from its assigned worker before any stop is done: the job is open
    /// again and that worker is excluded from it, as if the worker had given it back
    /// ([`Job::cancel_by_worker`], whose event it records).
    pub fn release(&mut self) -> Result<JobEvent, JobError> {
        let worker = match (self.state, self.worker) {
            (JobState::Assigned, Some(worker)) => worker,
            (from, _) => {
                return Err(JobError::Transition {
                    from,
                    command: "release",
                });
            }
        };
        self.cancel_by_worker(worker)
    }

    /// Scheduled work not yet started changes hands (a house call moved to another provider by a
    /// reschedule or by re-optimisation): the job stays assigned, now to `worker`, and nobody is
    /// excluded. Refused once the worker has arrived at a stop.
    pub fn move_to_worker(&mut self, worker: UserId, now: Timestamp) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_state(JobState::Assigned, "move")?;
            if let Some(s) = job.stops.iter().find(|s| s.state != StopState::Pending) {
                return Err(JobError::StopTransition {
                    state: s.state,
                    command: "move the worker of",
                });
            }
            job.worker = Some(worker);
            job.assigned_at = Some(now);
            Ok(JobEvent::Assigned { worker, eta_s: 0 })
        })
    }

    /// Records that `worker` gave up this job outside the job's own offer methods (it declined or let
    /// expire an offer the service keeps, as rides keep theirs), so dispatch does not offer it the job
    /// again; a pending offer to it is dropped. Returns whether the job changed: excluding a worker
    /// already excluded changes nothing. It is not a state change and is allowed in every state, but it
    /// changes the job, so it bumps the version.
    pub fn exclude_worker(&mut self, worker: UserId) -> bool {
        if self.excluded_workers.contains(&worker) {
            return false;
        }
        self.transition(|job| {
            job.excluded_workers.push(worker);
            if job.pending_offer.is_some_and(|p| p.worker == worker) {
                job.pending_offer = None;
            }
            Ok(())
        })
        .is_ok()
    }

    /// Dispatch gives up on an open job (`reason` must be a dispatch reason: no workers, all declined).
    pub fn give_up(
        &mut self,
        reason: UnfulfilledReason,
        now: Timestamp,
    ) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_state(JobState::Open, "give up on")?;
            if !reason.is_dispatch_reason() {
                return Err(JobError::WrongReason { reason });
            }
            job.end(JobState::Unfulfilled, now);
            job.unfulfilled_reason = Some(reason);
            Ok(JobEvent::Unfulfilled {
                reason,
                worker: None,
            })
        })
    }

    /// The assigned worker cannot finish the job (`reason` must be a worker's reason: customer
    /// unreachable, nothing to pick up). The stops not done are skipped.
    pub fn fail(
        &mut self,
        by: UserId,
        reason: UnfulfilledReason,
        now: Timestamp,
    ) -> Result<JobEvent, JobError> {
        self.transition(|job| {
            job.expect_worker(by)?;
            job.expect_working("fail")?;
            if reason.is_dispatch_reason() {
                return Err(JobError::WrongReason { reason });
            }
            job.end(JobState::Unfulfilled, now);
            job.unfulfilled_reason = Some(reason);
            Ok(JobEvent::Unfulfilled {
                reason,
                worker: Some(by),
            })
        })
    }

    /// The one place a job changes: runs `change` on a copy, and only if it succeeds bumps the copy's
    /// version and keeps it. A refused command therefore leaves the job exactly as it was.
    fn transition<T>(
        &mut self,
        change: impl FnOnce(&mut Job) -> Result<T, JobError>,
    ) -> Result<T, JobError> {
        let mut next = self.clone();
        let out = change(&mut next)?;
        next.version += 1;
        *self = next;
        Ok(out)
    }

    /// Ends the job in `state`: stops not done are skipped, a pending offer is dropped (the caller
    /// withdraws the offer itself).
    fn end(&mut self, state: JobState, now: Timestamp) {
        self.state = state;
        self.ended_at = Some(now);
        self.pending_offer = None;
        for s in &mut self.stops {
            if s.state != StopState::Done {
                s.state = StopState::Skipped;
            }
        }
    }

    fn end_offer(&mut self, offer: OfferId) -> Result<UserId, JobError> {
        let pending = self
            .pending_offer
            .filter(|p| p.offer == offer)
            .ok_or(JobError::NoSuchOffer)?;
        self.pending_offer = None;
        if !self.excluded_workers.contains(&pending.worker) {
            self.excluded_workers.push(pending.worker);
        }
        Ok(pending.worker)
    }

    fn expect_state(&self, expected: JobState, command: &'static str) -> Result<(), JobError> {
        if self.state == expected {
            Ok(())
        } else {
            Err(JobError::Transition {
                from: self.state,
                command,
            })
        }
    }

    /// Refuses unless a worker is on the job (assigned or in progress).
    fn expect_working(&self, command: &'static str) -> Result<(), JobError> {
        match self.state {
            JobState::Assigned | JobState::InProgress => Ok(()),
            from @ (JobState::Open
            | JobState::Completed
            | JobState::Cancelled
            | JobState::Unfulfilled) => Err(JobError::Transition { from, command }),
        }
    }

    /// Refuses a terminal job.
    fn expect_live(&self, command: &'static str) -> Result<(), JobError> {
        if self.state.is_terminal() {
            Err(JobError::Transition {
                from: self.state,
                command,
            })
        } else {
            Ok(())
        }
    }

    fn expect_worker(&self, by: UserId) -> Result<(), JobError> {
        if self.worker == Some(by) {
            Ok(())
        } else {
            Err(JobError::NotYourJob)
        }
    }

    fn expect_next_stop(&self, stop: usize) -> Result<(), JobError> {
        if stop >= self.stops.len() {
            return Err(JobError::NoSuchStop { stop });
        }
        match self.next_stop() {
            Some(next) if next == stop => Ok(()),
            Some(next) => Err(JobError::NotTheNextStop { stop, next }),
            None => Err(JobError::StopTransition {
                state: StopState::Done,
                command: "serve",
            }),
        }
    }

    fn stop_mut(&mut self, stop: usize) -> Result<&mut Stop, JobError> {
        self.stops
            .get_mut(stop)
            .ok_or(JobError::NoSuchStop { stop })
    }
}

/// The job state and the pickup and drop-off states that stand for a ride in `state`.
///
/// `driver_arrived` is an assigned job whose pickup is arrived at; `in_progress` one whose pickup is
/// done. The stops of a ride that ended early (cancelled, no driver) are skipped.
pub const fn job_state_of_ride(state: RideState) -> (JobState, [StopState; 2]) {
    use StopState::{Arrived, Done, Pending, Skipped};
    match state {
        RideState::Requested => (JobState::Open, [Pending, Pending]),
        RideState::DriverAssigned => (JobState::Assigned, [Pending, Pending]),
        RideState::DriverArrived => (JobState::Assigned, [Arrived, Pending]),
        RideState::InProgress => (JobState::InProgress, [Done, Pending]),
        RideState::Completed => (JobState::Completed, [Done, Done]),
        RideState::Cancelled => (JobState::Cancelled, [Skipped, Skipped]),
        RideState::NoDriverAvailable => (JobState::Unfulfilled, [Skipped, Skipped]),
    }
}

/// The ride state a ride's job stands for, or `None` for a combination no ride can be in (a job of
/// another shape, a worker's failure). A drop-off arrived at is still `in_progress`.
pub fn ride_state_of_job(
    state: JobState,
    stops: &[StopState],
    reason: Option<UnfulfilledReason>,
) -> Option<RideState> {
    use StopState::{Arrived, Done, Pending, Skipped};
    let [pickup, dropoff] = stops else {
        return None;
    };
    match (state, pickup, dropoff) {
        (JobState::Open, Pending, Pending) => Some(RideState::Requested),
        (JobState::Assigned, Pending, Pending) => Some(RideState::DriverAssigned),
        (JobState::Assigned, Arrived, Pending) => Some(RideState::DriverArrived),
        // A ride has no state for "at the drop-off": the trip is in progress until it completes.
        (JobState::InProgress, Done, Pending | Arrived) => Some(RideState::InProgress),
        (JobState::Completed, Done, Done) => Some(RideState::Completed),
        (JobState::Cancelled, Skipped, Skipped) => Some(RideState::Cancelled),
        (JobState::Unfulfilled, Skipped, Skipped)
            if reason.is_none_or(UnfulfilledReason::is_dispatch_reason) =>
        {
            Some(RideState::NoDriverAvailable)
        }
        _ => None,
    }
}

impl From<NoDriverReason> for UnfulfilledReason {
    fn from(reason: NoDriverReason) -> UnfulfilledReason {
        match reason {
            NoDriverReason::NoDriversNearby => UnfulfilledReason::NoWorkersNearby,
            NoDriverReason::AllOffersDeclined => UnfulfilledReason::AllOffersDeclined,
            NoDriverReason::OffersExpired => UnfulfilledReason::OffersExpired,
            NoDriverReason::DriverCancelledNoReplacement => {
                UnfulfilledReason::WorkerCancelledNoReplacement
            }
            NoDriverReason::TimedOut => UnfulfilledReason::TimedOut,
            NoDriverReason::AllDriversDeclined => UnfulfilledReason::AllWorkersDeclined,
        }
    }
}

impl From<CancelledBy> for Canceller {
    fn from(by: CancelledBy) -> Canceller {
        match by {
            CancelledBy::Rider => Canceller::Customer,
            CancelledBy::Admin => Canceller::Operator,
        }
    }
}

impl Job {
    /// The job `ride` is, with its pickup window closing `pickup_limit_secs` after the request (as
    /// dispatch plans a ride that waits at most that long; the ride's own job keeps the window open, see
    /// [`crate::ride::RIDE_PICKUP_WINDOW_SECS`]). The id, the PIN, the states and the version are the ride's.
    pub fn from_ride(ride: &Ride, pickup_limit_secs: i64) -> Job {
        let mut job = ride.job().clone();
        if let Some(pickup) = job.stops.first_mut() {
            pickup.window = TimeWindow {
                earliest: pickup.window.earliest,
                latest: pickup.window.earliest.plus_secs(pickup_limit_secs.max(0)),
            };
        }
        job
    }

    /// The job of a ride stored in the flat shape rides had before they sat on jobs: the ride's id, PIN,
    /// driver, times and excluded drivers, in the states [`job_state_of_ride`] gives, with the pickup
    /// window of a new ride ([`crate::ride::RIDE_PICKUP_WINDOW_SECS`]). The trip's start is the pickup's
    /// completion (where it was arrived at: no distance, not early), kept as stored even where the state
    /// would not have it, so that no stored time is lost; a completed ride's end is the drop-off's
    /// completion (at the recorded distance, early if the ride ended early). The version is the ride's.
    pub fn from_flat_ride(ride: &FlatRide) -> Job {
        let (mut job, _) = Job::ride(NewRideJob {
            id: ride.id,
            customer: ride.rider,
            pickup: ride.pickup,
            dropoff: ride.dropoff,
            requested_at: ride.requested_at,
            pickup_limit_secs: crate::ride::RIDE_PICKUP_WINDOW_SECS,
            pin: ride.pin.clone(),
        });
        let (state, [pickup, dropoff]) = job_state_of_ride(ride.state);
        job.state = state;
        job.worker = ride.driver;
        job.eta_s = ride.pickup_eta_s;
        job.assigned_at = ride.assigned_at;
        job.ended_at = ride.ended_at;
        job.excluded_workers = ride.excluded_drivers.clone();
        job.cancelled_by = ride.cancelled_by.map(Canceller::from);
        job.cancel_fee = ride.cancel_fee;
        job.unfulfilled_reason = ride.no_driver_reason.map(UnfulfilledReason::from);
        job.version = ride.version;
        if let [p, d] = job.stops.as_mut_slice() {
            p.state = pickup;
            p.arrived_at = ride.arrived_at;
            p.completion = ride.started_at.map(|at| StopCompletion {
                at,
                distance_m: None,
                early_end: false,
            });
            d.state = dropoff;
            d.completion = ride
                .ended_at
                .filter(|_| dropoff == StopState::Done)
                .map(|at| StopCompletion {
                    at,
                    distance_m: ride.dropoff_distance_m,
                    early_end: ride.early_end.is_some(),
                });
        }
        job
    }
}

/// Checks a guess at a stop's code, allowing `max_attempts` wrong ones: `None` when it is right, the
/// counted [`StopOutcome::WrongProof`] when it is wrong, and an error for a locked code or a malformed
/// guess (the one rule of a stop's proof, for a completion and a check-in alike).
fn check_proof(
    code: &mut VerificationCode,
    stop: usize,
    guess: &str,
    max_attempts: u8,
) -> Result<Option<StopOutcome>, JobError> {
    match code.check(guess, max_attempts) {
        Ok(()) => Ok(None),
        Err(CodeError::Wrong { attempts_left }) => {
            let mut events = vec![JobEvent::ProofAttemptFailed {
                stop,
                attempts_left,
            }];
            if attempts_left == 0 {
                events.push(JobEvent::ProofLocked { stop });
            }
            Ok(Some(StopOutcome::WrongProof {
                attempts_left,
                events,
            }))
        }
        Err(CodeError::Locked) => Err(JobError::ProofLocked),
        Err(CodeError::Malformed { expected }) => Err(JobError::MalformedProof { expected }),
    }
}

/// The ride event a ride's job event stands for, so that rides run on jobs keep their events (stored
/// and on the wire) unchanged. `ride` is the ride after the change (its quote gives the requested fare,
/// its final fare the completed one). Job events rides never had (offer declined or expired, a window
/// changed, the drop-off arrived at or done before the completion) stand for none.
pub fn ride_event_of(event: &JobEvent, ride: &Ride) -> Option<RideEvent> {
    const PICKUP: usize = 0;
    match *event {
        JobEvent::Opened { .. } => Some(RideEvent::Requested {
            fare: ride.quoted.total,
            pickup: Some(ride.pickup()),
            dropoff: Some(ride.dropoff()),
        }),
        JobEvent::Offered {
            offer,
            worker,
            expires_at,
            eta_s,
        } => Some(RideEvent::Offered {
            offer_id: offer,
            driver: worker,
            expires_at,
            pickup_eta_s: eta_s,
        }),
        JobEvent::Assigned { worker, eta_s } => Some(RideEvent::DriverAssigned {
            driver: worker,
            pickup_eta_s: eta_s,
            driver_card: None,
        }),
        JobEvent::Arrived { worker, stop, .. } => {
            (stop == PICKUP).then_some(RideEvent::DriverArrived { driver: worker })
        }
        JobEvent::StopDone { worker, stop, .. } => {
            (stop == PICKUP).then_some(RideEvent::Started { driver: worker })
        }
        JobEvent::Completed { worker } => ride.final_fare.as_ref().map(|f| RideEvent::Completed {
            driver: worker,
            fare: f.total,
            distance_m: ride.trip_distance_m,
            fare_adjustment: ride.fare_adjustment,
            early_end: ride.early_end(),
        }),
        JobEvent::Cancelled { by, fee, .. } => Some(RideEvent::Cancelled {
            by: match by {
                Canceller::Customer => CancelledBy::Rider,
                Canceller::Merchant | Canceller::Operator => CancelledBy::Admin,
            },
            fee,
        }),
        JobEvent::WorkerCancelled { worker } => Some(RideEvent::DriverCancelled { driver: worker }),
        JobEvent::Unfulfilled { reason, .. } => reason
            .no_driver_reason()
            .map(|reason| RideEvent::NoDriverAvailable { reason }),
        JobEvent::ProofAttemptFailed {
            stop: PICKUP,
            attempts_left,
        } => Some(RideEvent::PinAttemptFailed { attempts_left }),
        JobEvent::ProofLocked { stop: PICKUP } => Some(RideEvent::PinLocked),
        JobEvent::ProofReissued { stop: PICKUP } => Some(RideEvent::PinReissued),
        JobEvent::ProofAttemptFailed { .. }
        | JobEvent::ProofLocked { .. }
        | JobEvent::ProofReissued { .. }
        | JobEvent::OfferDeclined { .. }
        | JobEvent::OfferExpired { .. }
        | JobEvent::WindowChanged { .. }
        | JobEvent::CheckedIn { .. } => None,
    }
}
