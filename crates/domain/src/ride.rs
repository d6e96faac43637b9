//! The ride state machine.
//!
//! ```text
//! requested ──assign──▶ driver_assigned ──arrive──▶ driver_arrived ──start(pin)──▶ in_progress ──complete──▶ completed
//!     │  ▲                   │                          │  ▲ │ wrong pin: attempts+1 (locks at the limit)
//!     │  └──driver cancels───┴──────────────────────────┘  └─┘ new pin (rider, admin): unlocks
//!     ├──no driver──▶ no_driver_available
//!     └──rider cancels (also from driver_assigned, driver_arrived)──▶ cancelled
//! ```
//!
//! A [`Ride`] is the service record on top of a [`Job`] of kind ride (pickup, then drop-off; the PIN is
//! the pickup's proof): the job holds the state, the driver, the PIN, the times and the one version, the
//! ride its quote and fare. Each method is a transition of the job (which checks who acts and from which
//! state, changes the job and bumps its version, in one place) with the ride's own rules around it (who
//! may reissue a PIN, the cancellation fee, the fare), and returns the ride events the job's events stand
//! for ([`ride_event_of`]); a refused command returns a [`RideError`] and leaves the ride untouched.
//!
//! How the ride states sit on the job: `requested` is an open job; `driver_assigned` an assigned job
//! whose pickup is pending, `driver_arrived` one whose pickup is arrived at; `in_progress` a job whose
//! pickup is done (the PIN was right); `completed`, `cancelled` and `no_driver_available` are a completed,
//! cancelled and unfulfilled job ([`job_state_of_ride`](crate::job::job_state_of_ride), [`ride_state_of_job`]).
//!
//! The PIN is a [`VerificationCode`]: a wrong PIN is not an illegal transition but a counted attempt, so
//! [`Ride::start`] changes the ride (attempts + 1, version + 1) and returns [`StartOutcome::WrongPin`]
//! with the events to record; the caller saves them before telling the driver. At the limit the PIN
//! locks and every start is refused ([`RideError::PinLocked`]) until the rider (or an operator) issues a
//! new one ([`Ride::reissue_pin_by_rider`], [`Ride::reissue_pin_by_admin`]).

use crate::code::{CodeLength, VerificationCode};
use crate::ids::{OfferId, QuoteId, RideId, UserId};
use crate::job::{
    Canceller, Job, JobError, JobEvent, JobKind, JobState, NewRideJob, Stop, StopCompletion,
    StopKind, StopOutcome, StopState, UnfulfilledReason, ride_event_of, ride_state_of_job,
};
use crate::money::Money;
use crate::pricing::{
    FareAdjustment, FareBand, FareBreakdown, PricingConfig, bound_fare, price_trip,
};
use crate::time::Timestamp;
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The states of a ride.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RideState {
    /// Waiting for dispatch to find a driver.
    Requested,
    /// A driver accepted and is driving to the pickup.
    DriverAssigned,
    /// The driver is at the pickup.
    DriverArrived,
    /// The rider is on board.
    InProgress,
    /// The rider was dropped off and charged.
    Completed,
    /// The rider cancelled.
    Cancelled,
    /// Dispatch found no driver within the pickup limit.
    NoDriverAvailable,
}

impl RideState {
    /// Every state, in lifecycle order.
    pub const ALL: [RideState; 7] = [
        RideState::Requested,
        RideState::DriverAssigned,
        RideState::DriverArrived,
        RideState::InProgress,
        RideState::Completed,
        RideState::Cancelled,
        RideState::NoDriverAvailable,
    ];

    /// The states of a ride not ended yet ([`RideState::is_terminal`] is false), in lifecycle order.
    pub const OPEN: [RideState; 4] = [
        RideState::Requested,
        RideState::DriverAssigned,
        RideState::DriverArrived,
        RideState::InProgress,
    ];

    /// The stable snake_case name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            RideState::Requested => "requested",
            RideState::DriverAssigned => "driver_assigned",
            RideState::DriverArrived => "driver_arrived",
            RideState::InProgress => "in_progress",
            RideState::Completed => "completed",
            RideState::Cancelled => "cancelled",
            RideState::NoDriverAvailable => "no_driver_available",
        }
    }

    /// Parses the name produced by [`RideState::as_str`].
    pub fn parse(s: &str) -> Option<RideState> {
        RideState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the ride can change no more.
    pub const fn is_terminal(self) -> bool {
        match self {
            RideState::Completed | RideState::Cancelled | RideState::NoDriverAvailable => true,
            RideState::Requested
            | RideState::DriverAssigned
            | RideState::DriverArrived
            | RideState::InProgress => false,
        }
    }

    /// Whether a driver is attached to the ride in this state.
    pub const fn has_driver(self) -> bool {
        match self {
            RideState::DriverAssigned
            | RideState::DriverArrived
            | RideState::InProgress
            | RideState::Completed => true,
            RideState::Requested | RideState::Cancelled | RideState::NoDriverAvailable => false,
        }
    }
}

impl fmt::Display for RideState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many digits a ride's PIN has.
pub const PIN_DIGITS: usize = Pin::LENGTH.get() as usize;

/// A PIN as the driver types it: exactly four ASCII digits. The ride's own PIN, the secret with its count
/// of wrong attempts, is a [`VerificationCode`] of [`Pin::LENGTH`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pin(String);

impl Pin {
    /// How many digits a ride's PIN has.
    pub const LENGTH: CodeLength = CodeLength::FOUR;

    /// A new ride PIN, uniformly random from `0000` to `9999`, with no failed attempts.
    pub fn issue(rng: &mut impl rand::Rng) -> VerificationCode {
        VerificationCode::random(Pin::LENGTH, rng)
    }

    /// Accepts exactly [`PIN_DIGITS`] ASCII digits.
    pub fn parse(s: &str) -> Option<Pin> {
        (s.len() == usize::from(Pin::LENGTH.get()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Pin(s.to_owned()))
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a start attempt with a well-formed PIN did. Both outcomes change the ride; save it with the
/// events before answering the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum StartOutcome {
    /// The PIN matched: the trip started.
    Started(RideEvent),
    /// The PIN did not match. The attempt was counted; the events are
    /// [`RideEvent::PinAttemptFailed`] and, when this attempt reached the limit, [`RideEvent::PinLocked`].
    WrongPin {
        /// How many more wrong PINs lock the ride's PIN (0: this one locked it).
        attempts_left: u8,
        /// The events to record, in order.
        events: Vec<RideEvent>,
    },
}

/// Who ended a ride early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    /// The rider cancelled.
    Rider,
    /// An operator cancelled.
    Admin,
}

/// Why dispatch gave up on a ride.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDriverReason {
    /// No online driver (free, with a fresh position, not excluded) was within the dispatcher's reach
    /// of the pickup, and no driver was ever offered the ride: ended early, after a short grace.
    NoDriversNearby,
    /// Drivers were offered the ride and every one of them declined; no other driver was left.
    AllOffersDeclined,
    /// Drivers were offered the ride and at least one let the offer lapse unanswered (or went
    /// offline with it); no other driver was left.
    OffersExpired,
    /// A driver accepted the ride and then cancelled it, and no other driver took it.
    DriverCancelledNoReplacement,
    /// Drivers were within reach but none became free to take the ride before the pickup limit.
    TimedOut,
    /// Recorded before the reasons above existed: offers were declined or expired (or a driver
    /// cancelled), undistinguished. Only old records carry it.
    AllDriversDeclined,
}

impl NoDriverReason {
    /// Every reason, in documentation order.
    pub const ALL: [NoDriverReason; 6] = [
        NoDriverReason::NoDriversNearby,
        NoDriverReason::AllOffersDeclined,
        NoDriverReason::OffersExpired,
        NoDriverReason::DriverCancelledNoReplacement,
        NoDriverReason::TimedOut,
        NoDriverReason::AllDriversDeclined,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            NoDriverReason::NoDriversNearby => "no_drivers_nearby",
            NoDriverReason::AllOffersDeclined => "all_offers_declined",
            NoDriverReason::OffersExpired => "offers_expired",
            NoDriverReason::DriverCancelledNoReplacement => "driver_cancelled_no_replacement",
            NoDriverReason::TimedOut => "timed_out",
            NoDriverReason::AllDriversDeclined => "all_drivers_declined",
        }
    }
}

/// Why a completed trip counts as ended early: the driver completed it away from the drop-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarlyEnd {
    /// The driver's last accepted position was farther from the drop-off than the radius.
    FarFromDropoff,
    /// The server had no position of the driver.
    PositionUnknown,
}

impl EarlyEnd {
    /// Every reason.
    pub const ALL: [EarlyEnd; 2] = [EarlyEnd::FarFromDropoff, EarlyEnd::PositionUnknown];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EarlyEnd::FarFromDropoff => "far_from_dropoff",
            EarlyEnd::PositionUnknown => "position_unknown",
        }
    }

    /// Parses the name produced by [`EarlyEnd::as_str`].
    pub fn parse(s: &str) -> Option<EarlyEnd> {
        EarlyEnd::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// How far from a stop a driver may act there, in metres: the rule of [`presence`](crate::stop::presence) for a ride's stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRadii {
    /// A driver arrives only within this distance of the pickup.
    pub pickup_m: u32,
    /// A completion farther than this from the drop-off is an early end.
    pub dropoff_m: u32,
}

impl Default for StopRadii {
    /// 200 m: a block and a half of Manhattan, more than a phone's GPS error between tall buildings
    /// (typically 20–100 m), less than the distance a rider would walk to a car that stopped elsewhere.
    fn default() -> Self {
        Self {
            pickup_m: 200,
            dropoff_m: 200,
        }
    }
}

/// What the server knows of a trip when the driver completes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripEnd {
    /// The driver's last accepted position.
    pub position: Option<LatLng>,
    /// Metres driven since the start, summed from the driver's accepted positions.
    pub driven_m: u32,
    /// The street distance from the pickup to the drop-off, metres: what a trip that reached the
    /// drop-off is charged for when no position was reported on the way.
    pub street_m: u32,
    /// Seconds from the start to now.
    pub duration_s: u32,
}

/// Something that happened to a ride. Recorded with the state change in one transaction and pushed to the
/// ride's rider and driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RideEvent {
    /// The rider requested the ride.
    Requested {
        /// Quoted fare.
        fare: Money,
        /// Pickup point (absent in events recorded before it was added).
        #[serde(default)]
        pickup: Option<LatLng>,
        /// Drop-off point (absent in events recorded before it was added).
        #[serde(default)]
        dropoff: Option<LatLng>,
    },
    /// The ride was offered to a driver.
    Offered {
        /// The offer.
        offer_id: OfferId,
        /// The driver.
        driver: UserId,
        /// Deadline to answer.
        expires_at: Timestamp,
        /// Estimated drive to the pickup in seconds.
        pickup_eta_s: u32,
    },
    /// A driver accepted.
    DriverAssigned {
        /// The driver.
        driver: UserId,
        /// Estimated drive to the pickup in seconds.
        pickup_eta_s: u32,
        /// Who is coming: name, car and rating at assignment (absent in events recorded before it
        /// was added, and from transitions that do not know it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        driver_card: Option<Box<crate::contact::DriverCard>>,
    },
    /// The driver is at the pickup.
    DriverArrived {
        /// The driver.
        driver: UserId,
    },
    /// The trip started.
    Started {
        /// The driver.
        driver: UserId,
    },
    /// The trip ended and the rider was charged.
    Completed {
        /// The driver.
        driver: UserId,
        /// The final fare.
        fare: Money,
        /// Metres the fare is charged for (absent in events recorded before it was added).
        #[serde(default)]
        distance_m: Option<u32>,
        /// Why the fare was changed to fit its band around the quote, if it was.
        #[serde(default)]
        fare_adjustment: Option<FareAdjustment>,
        /// Why the trip counts as ended early (away from the drop-off), if it does.
        #[serde(default)]
        early_end: Option<EarlyEnd>,
    },
    /// The rider (or an operator) cancelled.
    Cancelled {
        /// Who cancelled.
        by: CancelledBy,
        /// The cancellation fee, if any.
        fee: Option<Money>,
    },
    /// The assigned driver cancelled; the ride is back in dispatch.
    DriverCancelled {
        /// The driver who cancelled.
        driver: UserId,
    },
    /// Dispatch found no driver.
    NoDriverAvailable {
        /// Why.
        reason: NoDriverReason,
    },
    /// The rider or the driver sent the other a message ([`crate::contact::JobMessage`]).
    MessageSent {
        /// The message.
        message_id: crate::MessageId,
        /// Who sent it.
        from: UserId,
        /// What the sender is to the ride.
        sender: crate::contact::Sender,
        /// What it says.
        text: String,
    },
    /// The driver tried a wrong PIN; the rider sees that someone is trying.
    PinAttemptFailed {
        /// How many more wrong PINs lock it.
        attempts_left: u8,
    },
    /// Too many wrong PINs: the ride cannot start until the rider issues a new PIN.
    PinLocked,
    /// A new PIN replaced the old one (and unlocked it). The event never carries the PIN: drivers receive
    /// events too; the rider reads the new PIN from the ride.
    PinReissued,
}

impl RideEvent {
    /// The stable snake_case name of the event's kind (the `type` field on the wire).
    pub const fn kind(&self) -> &'static str {
        match self {
            RideEvent::Requested { .. } => "requested",
            RideEvent::Offered { .. } => "offered",
            RideEvent::DriverAssigned { .. } => "driver_assigned",
            RideEvent::DriverArrived { .. } => "driver_arrived",
            RideEvent::Started { .. } => "started",
            RideEvent::Completed { .. } => "completed",
            RideEvent::Cancelled { .. } => "cancelled",
            RideEvent::DriverCancelled { .. } => "driver_cancelled",
            RideEvent::NoDriverAvailable { .. } => "no_driver_available",
            RideEvent::MessageSent { .. } => "message_sent",
            RideEvent::PinAttemptFailed { .. } => "pin_attempt_failed",
            RideEvent::PinLocked => "pin_locked",
            RideEvent::PinReissued => "pin_reissued",
        }
    }
}

/// Why a ride command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RideError {
    /// The command is not allowed in the ride's current state.
    #[error("cannot {command} a ride that is {from}")]
    Transition {
        /// The state the ride is in.
        from: RideState,
        /// The command that was refused.
        command: &'static str,
    },
    /// The actor is not the ride's rider or assigned driver.
    #[error("not your ride")]
    NotYourRide,
    /// Too many wrong PINs were tried: the PIN is locked until the rider issues a new one. The PIN given
    /// was not compared.
    #[error("the pin is locked after too many wrong tries; the rider must issue a new pin")]
    PinLocked,
    /// The driver is not at the pickup: farther than the radius, or with no position known.
    #[error("{}", not_at_pickup_message(.distance_m, .radius_m))]
    NotAtPickup {
        /// How far from the pickup the driver's last accepted position is, if one is known.
        distance_m: Option<u32>,
        /// How close the driver must be.
        radius_m: u32,
    },
    /// The final fare could not be computed (an amount overflowed).
    #[error("the fare cannot be computed: {0}")]
    Fare(crate::money::MoneyError),
    /// The PIN given is not a PIN of the ride's length (never the case for a parsed [`Pin`] and a ride
    /// PIN from [`Pin::issue`]).
    #[error("a pin is {expected} digits")]
    MalformedPin {
        /// The number of digits expected.
        expected: u8,
    },
    /// The driver declined, let an offer expire or cancelled this ride before: they cannot be assigned
    /// to it (dispatch does not offer it to them again).
    #[error("this driver gave up this ride before")]
    DriverExcluded,
    /// The ride's job refused the command for a reason no ride command meets (a bug, not the user's
    /// fault).
    #[error("the ride's job refused the command: {0}")]
    Job(JobError),
    /// The ride's job changed with an event no ride event stands for (a bug, not the user's fault); the
    /// ride did not change.
    #[error("the ride's job did {event}, which no ride event stands for")]
    NoRideEvent {
        /// The kind of the job event (or `none`).
        event: &'static str,
    },
}

fn not_at_pickup_message(distance_m: &Option<u32>, radius_m: &u32) -> String {
    match distance_m {
        Some(d) => format!(
            "you are {d} m from the pickup; arrive within {radius_m} m (send your position first)"
        ),
        None => format!(
            "no position of yours is known; send your position within {radius_m} m of the pickup first"
        ),
    }
}

/// Everything needed to create a ride from an accepted quote.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRide {
    /// Identity of the new ride.
    pub id: RideId,
    /// The rider.
    pub rider: UserId,
    /// The quote the ride was requested from.
    pub quote_id: QuoteId,
    /// Where the rider is picked up.
    pub pickup: LatLng,
    /// Where the rider is dropped off.
    pub dropoff: LatLng,
    /// The quoted fare.
    pub quoted: FareBreakdown,
    /// The rider's PIN for this ride (from [`Pin::issue`]).
    pub pin: VerificationCode,
}

/// How long after the request the pickup window of a ride's job stays open: forever. A ride has no
/// pickup deadline of its own; the dispatcher's pickup limit ends a ride that waits too long, with
/// [`Ride::no_driver_available`]. (The window's end saturates at the last instant, an open-ended window.)
pub const RIDE_PICKUP_WINDOW_SECS: i64 = i64::MAX;

/// The index of a ride's pickup among its job's stops.
const PICKUP: usize = 0;
/// The index of a ride's drop-off among its job's stops.
const DROPOFF: usize = 1;

/// What a ride keeps beside its job: the quote it came from and how the trip was charged. The store
/// keeps it in the `rides` table; the job in the job tables.
#[derive(Debug, Clone, PartialEq)]
pub struct RideRecord {
    /// The quote the ride came from.
    pub quote_id: QuoteId,
    /// The quoted fare.
    pub quoted: FareBreakdown,
    /// The final fare, once completed.
    pub final_fare: Option<FareBreakdown>,
    /// Metres the final fare is charged for, once completed.
    pub trip_distance_m: Option<u32>,
    /// Why the final fare was changed to fit its band around the quote, if it was.
    pub fare_adjustment: Option<FareAdjustment>,
}

/// A ride: the service record on top of its [`Job`] (kind ride; a pickup whose proof is the rider's PIN,
/// then a drop-off; the job has the ride's id).
///
/// The job holds the state, the driver, the PIN, the times, the excluded drivers and the version; the
/// ride reads them through its accessors ([`Ride::state`], [`Ride::driver`], ...) and owns only what is
/// a ride's own: the quote and the fare. Every transition of the ride is a transition of its job (which
/// bumps the version, the only version), and its events are the job's events as the ride's
/// ([`ride_event_of`]). The job is private, so a ride's job always has a ride's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Ride {
    /// The job the ride is (state, driver, PIN, times, excluded drivers, version).
    job: Job,
    /// The quote it came from.
    pub quote_id: QuoteId,
    /// The quoted fare.
    pub quoted: FareBreakdown,
    /// The final fare, once completed.
    pub final_fare: Option<FareBreakdown>,
    /// Metres the final fare is charged for, once completed.
    pub trip_distance_m: Option<u32>,
    /// Why the final fare was changed to fit its band around the quote, if it was.
    pub fare_adjustment: Option<FareAdjustment>,
}

/// Why a job and a ride record do not make a ride.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotARideJob {
    /// The job is of another kind.
    #[error("a ride's job is of kind ride, not {}", .0.as_str())]
    Kind(JobKind),
    /// The job's stops are not a pickup with the rider's PIN and then a drop-off.
    #[error("a ride's job has two stops: a pickup with the rider's pin, then a drop-off")]
    Stops,
    /// No ride state stands for the job's state and its stops' states (a worker's failure, a pickup
    /// arrived at while the job is open, ...).
    #[error("no ride state stands for a job that is {state} with stops {stops:?}")]
    State {
        /// The job's state.
        state: JobState,
        /// Its stops' states.
        stops: Vec<StopState>,
    },
}

/// A ride in the flat shape it had before it sat on a job: the state, the driver, the PIN and the times
/// beside the quote and the fare, in one record (the columns of the `rides` table). [`Ride::from_flat`]
/// reads a ride stored that way and [`Ride::flat`] gives any ride in that shape; the two are inverse.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatRide {
    /// Identity.
    pub id: RideId,
    /// The rider who requested it.
    pub rider: UserId,
    /// The quote it came from.
    pub quote_id: QuoteId,
    /// Pickup point.
    pub pickup: LatLng,
    /// Drop-off point.
    pub dropoff: LatLng,
    /// The quoted fare.
    pub quoted: FareBreakdown,
    /// The final fare, once completed.
    pub final_fare: Option<FareBreakdown>,
    /// Current state.
    pub state: RideState,
    /// The assigned driver while one is attached (kept after completion).
    pub driver: Option<UserId>,
    /// The rider's PIN and its count of wrong attempts.
    pub pin: VerificationCode,
    /// Estimated pickup time given at assignment, in seconds.
    pub pickup_eta_s: Option<u32>,
    /// Drivers who declined, let an offer expire, or cancelled: dispatch does not offer them this ride again.
    pub excluded_drivers: Vec<UserId>,
    /// When requested.
    pub requested_at: Timestamp,
    /// When the current (or last) driver was assigned.
    pub assigned_at: Option<Timestamp>,
    /// When the driver arrived.
    pub arrived_at: Option<Timestamp>,
    /// When the trip started.
    pub started_at: Option<Timestamp>,
    /// When it reached a terminal state.
    pub ended_at: Option<Timestamp>,
    /// Who cancelled, when cancelled.
    pub cancelled_by: Option<CancelledBy>,
    /// Fee charged for a late cancellation.
    pub cancel_fee: Option<Money>,
    /// Why no driver was found, when that is how it ended.
    pub no_driver_reason: Option<NoDriverReason>,
    /// Metres the final fare is charged for, once completed.
    pub trip_distance_m: Option<u32>,
    /// Why the final fare was changed to fit its band around the quote, if it was.
    pub fare_adjustment: Option<FareAdjustment>,
    /// Why the trip counts as ended early (completed away from the drop-off), if it does.
    pub early_end: Option<EarlyEnd>,
    /// How far from the drop-off the driver was at completion, metres, when a position was known.
    pub dropoff_distance_m: Option<u32>,
    /// The version: incremented by every transition.
    pub version: i64,
}

/// The ride state a job of a ride's shape stands for: the job's state, with `assigned` split by its
/// pickup (arrived at: `driver_arrived`). Total; on every job [`Ride::from_parts`] accepts it agrees with
/// [`ride_state_of_job`], which [`Ride::from_parts`] checks.
fn ride_state_in(job: &Job) -> RideState {
    match job.state {
        JobState::Open => RideState::Requested,
        JobState::Assigned => match job.stops.get(PICKUP).map(|s| s.state) {
            Some(StopState::Arrived) => RideState::DriverArrived,
            Some(StopState::Pending | StopState::Done | StopState::Skipped) | None => {
                RideState::DriverAssigned
            }
        },
        JobState::InProgress => RideState::InProgress,
        JobState::Completed => RideState::Completed,
        JobState::Cancelled => RideState::Cancelled,
        JobState::Unfulfilled => RideState::NoDriverAvailable,
    }
}

impl Ride {
    /// A new ride in `requested`, and its first event. Its job opens with the pickup window open from the
    /// request on ([`RIDE_PICKUP_WINDOW_SECS`]) and the rider's PIN as the pickup's proof.
    pub fn request(new: NewRide, now: Timestamp) -> (Ride, RideEvent) {
        let (job, _opened) = Job::ride(NewRideJob {
            id: new.id,
            customer: new.rider,
            pickup: new.pickup,
            dropoff: new.dropoff,
            requested_at: now,
            pickup_limit_secs: RIDE_PICKUP_WINDOW_SECS,
            pin: new.pin,
        });
        // What `ride_event_of` gives for the job's opening.
        let event = RideEvent::Requested {
            fare: new.quoted.total,
            pickup: Some(new.pickup),
            dropoff: Some(new.dropoff),
        };
        let ride = Ride {
            job,
            quote_id: new.quote_id,
            quoted: new.quoted,
            final_fare: None,
            trip_distance_m: None,
            fare_adjustment: None,
        };
        (ride, event)
    }

    /// The ride made of a stored job and ride record. Refused unless the job has a ride's shape: kind
    /// ride, a pickup with the rider's PIN then a drop-off, in states some ride state stands for
    /// ([`ride_state_of_job`]).
    pub fn from_parts(job: Job, record: RideRecord) -> Result<Ride, NotARideJob> {
        if job.kind != JobKind::Ride {
            return Err(NotARideJob::Kind(job.kind));
        }
        match job.stops.as_slice() {
            [pickup, dropoff]
                if pickup.kind == StopKind::Pickup
                    && pickup.proof.is_some()
                    && dropoff.kind == StopKind::Dropoff => {}
            _ => return Err(NotARideJob::Stops),
        }
        let stops: Vec<StopState> = job.stops.iter().map(|s| s.state).collect();
        if ride_state_of_job(job.state, &stops, job.unfulfilled_reason) != Some(ride_state_in(&job))
        {
            return Err(NotARideJob::State {
                state: job.state,
                stops,
            });
        }
        let RideRecord {
            quote_id,
            quoted,
            final_fare,
            trip_distance_m,
            fare_adjustment,
        } = record;
        Ok(Ride {
            job,
            quote_id,
            quoted,
            final_fare,
            trip_distance_m,
            fare_adjustment,
        })
    }

    /// The ride stored in the flat shape rides had before they sat on jobs ([`Job::from_flat_ride`]).
    pub fn from_flat(flat: FlatRide) -> Ride {
        let job = Job::from_flat_ride(&flat);
        Ride {
            job,
            quote_id: flat.quote_id,
            quoted: flat.quoted,
            final_fare: flat.final_fare,
            trip_distance_m: flat.trip_distance_m,
            fare_adjustment: flat.fare_adjustment,
        }
    }

    /// The ride in the flat shape (the inverse of [`Ride::from_flat`]).
    pub fn flat(&self) -> FlatRide {
        FlatRide {
            id: self.id(),
            rider: self.rider(),
            quote_id: self.quote_id,
            pickup: self.pickup(),
            dropoff: self.dropoff(),
            quoted: self.quoted.clone(),
            final_fare: self.final_fare.clone(),
            state: self.state(),
            driver: self.driver(),
            pin: self.pin().clone(),
            pickup_eta_s: self.pickup_eta_s(),
            excluded_drivers: self.excluded_drivers().to_vec(),
            requested_at: self.requested_at(),
            assigned_at: self.assigned_at(),
            arrived_at: self.arrived_at(),
            started_at: self.started_at(),
            ended_at: self.ended_at(),
            cancelled_by: self.cancelled_by(),
            cancel_fee: self.cancel_fee(),
            no_driver_reason: self.no_driver_reason(),
            trip_distance_m: self.trip_distance_m,
            fare_adjustment: self.fare_adjustment,
            early_end: self.early_end(),
            dropoff_distance_m: self.dropoff_distance_m(),
            version: self.version(),
        }
    }

    /// The job the ride is.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The ride's own record (what it keeps beside its job).
    pub fn record(&self) -> RideRecord {
        RideRecord {
            quote_id: self.quote_id,
            quoted: self.quoted.clone(),
            final_fare: self.final_fare.clone(),
            trip_distance_m: self.trip_distance_m,
            fare_adjustment: self.fare_adjustment,
        }
    }

    /// Why the trip counts as ended early, if it does: the job's drop-off completion in the ride's terms
    /// (completed farther than the radius from the drop-off, or with no known position).
    pub fn early_end(&self) -> Option<EarlyEnd> {
        match self.dropoff_stop().completion {
            Some(StopCompletion {
                early_end: false, ..
            })
            | None => None,
            Some(StopCompletion {
                early_end: true,
                distance_m: Some(_),
                ..
            }) => Some(EarlyEnd::FarFromDropoff),
            Some(StopCompletion {
                early_end: true,
                distance_m: None,
                ..
            }) => Some(EarlyEnd::PositionUnknown),
        }
    }

    /// How far from the drop-off the driver was at completion, metres, when a position was known (the
    /// job's drop-off completion).
    pub fn dropoff_distance_m(&self) -> Option<u32> {
        self.dropoff_stop().completion.and_then(|c| c.distance_m)
    }

    /// The job and the ride record, for the store (the inverse of [`Ride::from_parts`]).
    pub fn into_parts(self) -> (Job, RideRecord) {
        let record = self.record();
        (self.job, record)
    }

    /// Identity (the job's, which is the ride's).
    pub fn id(&self) -> RideId {
        RideId::from(self.job.id)
    }

    /// The rider who requested it (the job's customer).
    pub fn rider(&self) -> UserId {
        self.job.customer
    }

    fn pickup_stop(&self) -> &Stop {
        &self.job.stops[PICKUP]
    }

    fn dropoff_stop(&self) -> &Stop {
        &self.job.stops[DROPOFF]
    }

    /// Pickup point.
    pub fn pickup(&self) -> LatLng {
        self.pickup_stop().place
    }

    /// Drop-off point.
    pub fn dropoff(&self) -> LatLng {
        self.dropoff_stop().place
    }

    /// Current state: the job's state, with `assigned` split by the pickup (arrived at: `driver_arrived`).
    pub fn state(&self) -> RideState {
        ride_state_in(&self.job)
    }

    /// The assigned driver while one is attached (kept after completion and cancellation).
    pub fn driver(&self) -> Option<UserId> {
        self.job.worker
    }

    /// The rider's PIN and its count of wrong attempts (the pickup's proof).
    pub fn pin(&self) -> &VerificationCode {
        // A ride's pickup always has the PIN: `request`, `from_parts` and `from_flat` make sure of it,
        // the job is private, and no transition of a job removes a proof.
        self.pickup_stop()
            .proof
            .as_ref()
            .expect("a ride's pickup has its pin")
    }

    /// Estimated pickup time given at assignment, in seconds.
    pub fn pickup_eta_s(&self) -> Option<u32> {
        self.job.eta_s
    }

    /// Drivers who declined, let an offer expire, or cancelled: dispatch does not offer them this ride
    /// again, and they cannot be assigned to it.
    pub fn excluded_drivers(&self) -> &[UserId] {
        &self.job.excluded_workers
    }

    /// When requested (the job opened).
    pub fn requested_at(&self) -> Timestamp {
        self.job.opened_at
    }

    /// When the current (or last) driver was assigned.
    pub fn assigned_at(&self) -> Option<Timestamp> {
        self.job.assigned_at
    }

    /// When the driver arrived at the pickup.
    pub fn arrived_at(&self) -> Option<Timestamp> {
        self.pickup_stop().arrived_at
    }

    /// When the trip started (the pickup was done).
    pub fn started_at(&self) -> Option<Timestamp> {
        self.pickup_stop().completion.map(|c| c.at)
    }

    /// When it reached a terminal state.
    pub fn ended_at(&self) -> Option<Timestamp> {
        self.job.ended_at
    }

    /// Who cancelled, when cancelled.
    pub fn cancelled_by(&self) -> Option<CancelledBy> {
        self.job.cancelled_by.map(|by| match by {
            Canceller::Customer => CancelledBy::Rider,
            Canceller::Merchant | Canceller::Operator => CancelledBy::Admin,
        })
    }

    /// Fee charged for a late cancellation.
    pub fn cancel_fee(&self) -> Option<Money> {
        self.job.cancel_fee
    }

    /// Why no driver was found, when that is how it ended.
    pub fn no_driver_reason(&self) -> Option<NoDriverReason> {
        self.job
            .unfulfilled_reason
            .and_then(UnfulfilledReason::no_driver_reason)
    }

    /// The job's version: incremented by every transition of the job (and only there); the store uses
    /// it for optimistic concurrency.
    pub fn version(&self) -> i64 {
        self.job.version
    }

    /// Whether `user` is this ride's rider or its assigned driver.
    pub fn involves(&self, user: UserId) -> bool {
        self.job.involves(user)
    }

    /// Records that dispatch offered the ride to `driver` until `expires_at` (the offer itself, an
    /// [`Offer`](crate::offer::Offer), is kept beside the ride). Not a state change, but it must collide
    /// with any concurrent change, so the job's transition bumps the version. Refused unless the ride is
    /// requested and the driver not excluded ([`Job::offer`]).
    pub fn offer(
        &mut self,
        offer: OfferId,
        driver: UserId,
        expires_at: Timestamp,
        pickup_eta_s: u32,
    ) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .offer(offer, driver, expires_at, pickup_eta_s)
                .map_err(|e| ride.refusal(e, "offer"))?;
            ride.ride_event(&event)
        })
    }

    /// A driver accepted an offer for this ride. A driver the ride excludes is refused
    /// ([`RideError::DriverExcluded`]).
    pub fn assign(
        &mut self,
        driver: UserId,
        pickup_eta_s: u32,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .assign(driver, pickup_eta_s, now)
                .map_err(|e| ride.refusal(e, "assign"))?;
            ride.ride_event(&event)
        })
    }

    /// The assigned driver reached the pickup: their last accepted `position` must be within
    /// `radii.pickup_m` of it ([`presence`](crate::stop::presence)), else [`RideError::NotAtPickup`] and nothing changes.
    pub fn arrive(
        &mut self,
        by: UserId,
        position: Option<LatLng>,
        radii: StopRadii,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .arrive(by, PICKUP, position, radii.pickup_m, now)
                .map_err(|e| ride.refusal(e, "arrive at"))?;
            ride.ride_event(&event)
        })
    }

    /// The assigned driver starts the trip with the rider's PIN, allowing at most `max_pin_attempts` wrong
    /// PINs since the PIN was issued: the job's pickup is done with the PIN as its proof.
    ///
    /// A wrong PIN changes the ride (its count of failed attempts and its version) and returns
    /// [`StartOutcome::WrongPin`]; at the limit the PIN locks, and from then on every start is refused
    /// with [`RideError::PinLocked`] without comparing the PIN, the right one included.
    pub fn start(
        &mut self,
        by: UserId,
        pin: &Pin,
        max_pin_attempts: u8,
        now: Timestamp,
    ) -> Result<StartOutcome, RideError> {
        self.transition(|ride| {
            // The driver's presence at the pickup was checked on arrival: the pickup is done where it was
            // arrived at, with no position of its own.
            let outcome = ride
                .job
                .complete_stop(
                    by,
                    PICKUP,
                    Some(pin.as_str()),
                    max_pin_attempts,
                    None,
                    0,
                    now,
                )
                .map_err(|e| ride.refusal(e, "start"))?;
            match outcome {
                StopOutcome::Done(events) => {
                    let mut events = ride.ride_events(&events);
                    match (events.pop(), events.is_empty()) {
                        (Some(started @ RideEvent::Started { .. }), true) => {
                            Ok(StartOutcome::Started(started))
                        }
                        (other, _) => Err(RideError::NoRideEvent {
                            event: other.map_or("none", |e| e.kind()),
                        }),
                    }
                }
                StopOutcome::WrongProof {
                    attempts_left,
                    events,
                } => Ok(StartOutcome::WrongPin {
                    attempts_left,
                    events: ride.ride_events(&events),
                }),
            }
        })
    }

    /// Whether the PIN is locked under a limit of `max_pin_attempts` wrong PINs.
    pub fn pin_locked(&self, max_pin_attempts: u8) -> bool {
        self.pin().is_locked(max_pin_attempts)
    }

    /// The rider replaces the PIN with a new random one, which also unlocks it. Allowed until the trip
    /// starts.
    pub fn reissue_pin_by_rider(
        &mut self,
        by: UserId,
        rng: &mut impl rand::Rng,
    ) -> Result<RideEvent, RideError> {
        if by != self.rider() {
            return Err(RideError::NotYourRide);
        }
        self.reissue_pin(rng)
    }

    /// An operator replaces the PIN with a new random one (the rider reads it in their app).
    pub fn reissue_pin_by_admin(
        &mut self,
        rng: &mut impl rand::Rng,
    ) -> Result<RideEvent, RideError> {
        self.reissue_pin(rng)
    }

    fn reissue_pin(&mut self, rng: &mut impl rand::Rng) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .reissue_proof(PICKUP, rng)
                .map_err(|e| ride.refusal(e, "issue a new pin for"))?;
            ride.ride_event(&event)
        })
    }

    /// The assigned driver ends the trip: the job's drop-off is done.
    ///
    /// Where the driver is decides how: within `radii.dropoff_m` of the drop-off ([`presence`](crate::stop::presence)) the trip
    /// reached it; farther, or with no position known, it ended early ([`EarlyEnd`]). The fare is the
    /// tariff for the distance driven (`trip.driven_m`; for a trip that reached the drop-off with no
    /// position on the way, the street distance) and the time taken, at the quote's surge, then bounded by
    /// `band` around the quote ([`bound_fare`]): capped above in every case, raised below only for a trip
    /// that reached the drop-off, since an early end pays for what was driven. A fare that cannot be
    /// computed refuses the completion and changes nothing.
    pub fn complete(
        &mut self,
        by: UserId,
        trip: &TripEnd,
        pricing: &PricingConfig,
        radii: StopRadii,
        band: FareBand,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let outcome = ride
                .job
                .complete_stop(by, DROPOFF, None, 0, trip.position, radii.dropoff_m, now)
                .map_err(|e| ride.refusal(e, "complete"))?;
            let early_end = ride.early_end();
            let distance_m = if early_end.is_none() && trip.driven_m == 0 {
                trip.street_m
            } else {
                trip.driven_m
            };
            let priced = price_trip(pricing, distance_m, trip.duration_s, ride.quoted.surge)
                .map_err(RideError::Fare)?;
            let (final_fare, fare_adjustment) =
                bound_fare(&ride.quoted, priced, band, early_end.is_none())
                    .map_err(RideError::Fare)?;
            ride.final_fare = Some(final_fare);
            ride.trip_distance_m = Some(distance_m);
            ride.fare_adjustment = fare_adjustment;
            let mut events = ride.ride_events(outcome.events());
            match (events.pop(), events.is_empty()) {
                (Some(completed @ RideEvent::Completed { .. }), true) => Ok(completed),
                (other, _) => Err(RideError::NoRideEvent {
                    event: other.map_or("none", |e| e.kind()),
                }),
            }
        })
    }

    /// The fee the rider would pay to cancel at `now`: none before a driver is assigned or within the free
    /// window after assignment, the configured fee after it.
    pub fn cancel_fee_at(&self, pricing: &PricingConfig, now: Timestamp) -> Option<Money> {
        match (self.state(), self.assigned_at()) {
            (RideState::DriverAssigned | RideState::DriverArrived, Some(assigned_at))
                if now.secs_since(assigned_at) >= pricing.free_cancel_secs
                    && pricing.cancel_fee_minor > 0 =>
            {
                Some(Money::new(pricing.cancel_fee_minor, pricing.currency))
            }
            _ => None,
        }
    }

    /// The rider cancels before the trip starts; a fee applies after the free window.
    pub fn cancel_by_rider(
        &mut self,
        by: UserId,
        pricing: &PricingConfig,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        let fee = self.cancel_fee_at(pricing, now);
        self.transition(|ride| {
            let event = ride
                .job
                .cancel_by_customer(by, fee, now)
                .map_err(|e| ride.refusal(e, "cancel"))?;
            ride.ride_event(&event)
        })
    }

    /// An operator cancels before the trip starts, charging `fee` (the console's choice) or nothing.
    pub fn cancel_by_admin(
        &mut self,
        fee: Option<Money>,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .cancel(Canceller::Operator, fee, now)
                .map_err(|e| ride.refusal(e, "cancel"))?;
            ride.ride_event(&event)
        })
    }

    /// An operator takes an assigned ride (driver on the way or at the pickup) from its driver: the ride
    /// is back in dispatch and that driver is not offered it again. The event is the one a driver's own
    /// cancellation records ([`RideEvent::DriverCancelled`]): for rider and driver the ride changes the
    /// same way; the audit log says who did it.
    pub fn release_by_admin(&mut self) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .release()
                .map_err(|e| ride.refusal(e, "reassign"))?;
            ride.ride_event(&event)
        })
    }

    /// An operator gives an assigned ride to `driver` instead of its driver: released
    /// ([`Ride::release_by_admin`]), then assigned to `driver` with `pickup_eta_s`, in one transition, so
    /// a refusal (the new driver was excluded, the ride is not assigned) changes nothing.
    pub fn reassign_by_admin(
        &mut self,
        driver: UserId,
        pickup_eta_s: u32,
        now: Timestamp,
    ) -> Result<[RideEvent; 2], RideError> {
        self.transition(|ride| {
            if ride.driver() == Some(driver) {
                return Err(RideError::Transition {
                    from: ride.state(),
                    command: "reassign to its own driver",
                });
            }
            let released = ride.release_by_admin()?;
            let assigned = ride.assign(driver, pickup_eta_s, now)?;
            Ok([released, assigned])
        })
    }

    /// The assigned driver cancels before the trip starts: the ride goes back to dispatch and this driver
    /// is not offered it again.
    pub fn cancel_by_driver(
        &mut self,
        by: UserId,
        _now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .cancel_by_worker(by)
                .map_err(|e| ride.refusal(e, "cancel as driver"))?;
            ride.ride_event(&event)
        })
    }

    /// Dispatch gives up: no driver within the pickup limit.
    pub fn no_driver_available(
        &mut self,
        reason: NoDriverReason,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.transition(|ride| {
            let event = ride
                .job
                .give_up(UnfulfilledReason::from(reason), now)
                .map_err(|e| ride.refusal(e, "give up on"))?;
            ride.ride_event(&event)
        })
    }

    /// Records that `driver` declined or let an offer of this ride expire, so dispatch skips them. This is
    /// not a state change, but it bumps the version when the ride changes ([`Job::exclude_worker`]).
    pub fn exclude_driver(&mut self, driver: UserId) {
        self.job.exclude_worker(driver);
    }

    /// Runs `change` on a copy of the ride and keeps the copy only if it succeeds, so a command refused
    /// by the job, or by the ride after the job changed (a fare that cannot be computed), leaves the ride
    /// untouched. The version is bumped by the job's transition, never here.
    fn transition<T>(
        &mut self,
        change: impl FnOnce(&mut Ride) -> Result<T, RideError>,
    ) -> Result<T, RideError> {
        let mut next = self.clone();
        let out = change(&mut next)?;
        *self = next;
        Ok(out)
    }

    /// The ride's refusal of `command` for its job's refusal `error`. Errors about the job's or a stop's
    /// state are the ride's [`RideError::Transition`] from its current state.
    fn refusal(&self, error: JobError, command: &'static str) -> RideError {
        match error {
            JobError::Transition { .. }
            | JobError::NoSuchStop { .. }
            | JobError::NotTheNextStop { .. }
            | JobError::StopTransition { .. } => RideError::Transition {
                from: self.state(),
                command,
            },
            JobError::NotYourJob => RideError::NotYourRide,
            JobError::WorkerExcluded => RideError::DriverExcluded,
            JobError::TooFarFromStop {
                distance_m,
                radius_m,
            } => RideError::NotAtPickup {
                distance_m: Some(distance_m),
                radius_m,
            },
            JobError::PositionUnknown { radius_m } => RideError::NotAtPickup {
                distance_m: None,
                radius_m,
            },
            JobError::ProofLocked => RideError::PinLocked,
            JobError::MalformedProof { expected } => RideError::MalformedPin { expected },
            e @ (JobError::OfferPending
            | JobError::NoSuchOffer
            | JobError::ProofRequired
            | JobError::NoProof
            | JobError::WrongReason { .. }) => RideError::Job(e),
        }
    }

    /// The ride event a job event of this ride stands for.
    fn ride_event(&self, event: &JobEvent) -> Result<RideEvent, RideError> {
        ride_event_of(event, self).ok_or(RideError::NoRideEvent {
            event: event.kind(),
        })
    }

    /// The ride events the job events of this ride stand for (job events rides never had stand for none).
    fn ride_events(&self, events: &[JobEvent]) -> Vec<RideEvent> {
        events
            .iter()
            .filter_map(|e| ride_event_of(e, self))
            .collect()
    }
}
