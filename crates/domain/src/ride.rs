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
//! Each method checks who acts and from which state, changes the ride, bumps its version and returns the
//! event to record; an illegal transition returns an error and leaves the ride untouched.
//!
//! The PIN is a [`VerificationCode`]: a wrong PIN is not an illegal transition but a counted attempt, so
//! [`Ride::start`] changes the ride (attempts + 1, version + 1) and returns [`StartOutcome::WrongPin`]
//! with the events to record; the caller saves them before telling the driver. At the limit the PIN
//! locks and every start is refused ([`RideError::PinLocked`]) until the rider (or an operator) issues a
//! new one ([`Ride::reissue_pin_by_rider`], [`Ride::reissue_pin_by_admin`]).

use crate::code::{CodeError, CodeLength, VerificationCode};
use crate::ids::{OfferId, QuoteId, RideId, UserId};
use crate::money::Money;
use crate::pricing::{
    FareAdjustment, FareBand, FareBreakdown, PricingConfig, bound_fare, price_trip,
};
use crate::stop::{Presence, presence};
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
    /// No available driver was within reach of the pickup for the whole pickup limit.
    NoDriversNearby,
    /// Drivers were offered the ride but every one declined or let the offer expire.
    AllDriversDeclined,
}

impl NoDriverReason {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            NoDriverReason::NoDriversNearby => "no_drivers_nearby",
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

/// How far from a stop a driver may act there, in metres: the rule of [`presence`] for a ride's stops.
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

/// A ride and its history in timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Ride {
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
    /// Incremented by every transition; the store uses it for optimistic concurrency.
    pub version: i64,
}

impl Ride {
    /// A new ride in `requested`, and its first event.
    pub fn request(new: NewRide, now: Timestamp) -> (Ride, RideEvent) {
        let event = RideEvent::Requested {
            fare: new.quoted.total,
            pickup: Some(new.pickup),
            dropoff: Some(new.dropoff),
        };
        let ride = Ride {
            id: new.id,
            rider: new.rider,
            quote_id: new.quote_id,
            pickup: new.pickup,
            dropoff: new.dropoff,
            quoted: new.quoted,
            final_fare: None,
            state: RideState::Requested,
            driver: None,
            pin: new.pin,
            pickup_eta_s: None,
            excluded_drivers: Vec::new(),
            requested_at: now,
            assigned_at: None,
            arrived_at: None,
            started_at: None,
            ended_at: None,
            cancelled_by: None,
            cancel_fee: None,
            no_driver_reason: None,
            trip_distance_m: None,
            fare_adjustment: None,
            early_end: None,
            dropoff_distance_m: None,
            version: 1,
        };
        (ride, event)
    }

    /// Whether `user` is this ride's rider or its assigned driver.
    pub fn involves(&self, user: UserId) -> bool {
        self.rider == user || self.driver == Some(user)
    }

    /// A driver accepted an offer for this ride.
    pub fn assign(
        &mut self,
        driver: UserId,
        pickup_eta_s: u32,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.expect_state(RideState::Requested, "assign")?;
        self.state = RideState::DriverAssigned;
        self.driver = Some(driver);
        self.pickup_eta_s = Some(pickup_eta_s);
        self.assigned_at = Some(now);
        self.version += 1;
        Ok(RideEvent::DriverAssigned {
            driver,
            pickup_eta_s,
        })
    }

    /// The assigned driver reached the pickup: their last accepted `position` must be within
    /// `radii.pickup_m` of it ([`presence`]), else [`RideError::NotAtPickup`] and nothing changes.
    pub fn arrive(
        &mut self,
        by: UserId,
        position: Option<LatLng>,
        radii: StopRadii,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.expect_driver(by)?;
        self.expect_state(RideState::DriverAssigned, "arrive at")?;
        let here = presence(self.pickup, radii.pickup_m, position);
        if !here.is_at() {
            return Err(RideError::NotAtPickup {
                distance_m: here.distance_m(),
                radius_m: radii.pickup_m,
            });
        }
        self.state = RideState::DriverArrived;
        self.arrived_at = Some(now);
        self.version += 1;
        Ok(RideEvent::DriverArrived { driver: by })
    }

    /// The assigned driver starts the trip with the rider's PIN, allowing at most `max_pin_attempts` wrong
    /// PINs since the PIN was issued.
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
        self.expect_driver(by)?;
        self.expect_state(RideState::DriverArrived, "start")?;
        match self.pin.check(pin.as_str(), max_pin_attempts) {
            Ok(()) => {
                self.state = RideState::InProgress;
                self.started_at = Some(now);
                self.version += 1;
                Ok(StartOutcome::Started(RideEvent::Started { driver: by }))
            }
            Err(CodeError::Wrong { attempts_left }) => {
                self.version += 1;
                let mut events = vec![RideEvent::PinAttemptFailed { attempts_left }];
                if attempts_left == 0 {
                    events.push(RideEvent::PinLocked);
                }
                Ok(StartOutcome::WrongPin {
                    attempts_left,
                    events,
                })
            }
            Err(CodeError::Locked) => Err(RideError::PinLocked),
            Err(CodeError::Malformed { expected }) => Err(RideError::MalformedPin { expected }),
        }
    }

    /// Whether the PIN is locked under a limit of `max_pin_attempts` wrong PINs.
    pub fn pin_locked(&self, max_pin_attempts: u8) -> bool {
        self.pin.is_locked(max_pin_attempts)
    }

    /// The rider replaces the PIN with a new random one, which also unlocks it. Allowed until the trip
    /// starts.
    pub fn reissue_pin_by_rider(
        &mut self,
        by: UserId,
        rng: &mut impl rand::Rng,
    ) -> Result<RideEvent, RideError> {
        if by != self.rider {
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
        match self.state {
            RideState::Requested | RideState::DriverAssigned | RideState::DriverArrived => {}
            from @ (RideState::InProgress
            | RideState::Completed
            | RideState::Cancelled
            | RideState::NoDriverAvailable) => {
                return Err(RideError::Transition {
                    from,
                    command: "issue a new pin for",
                });
            }
        }
        self.pin.reissue(rng);
        self.version += 1;
        Ok(RideEvent::PinReissued)
    }

    /// The assigned driver ends the trip.
    ///
    /// Where the driver is decides how: within `radii.dropoff_m` of the drop-off ([`presence`]) the trip
    /// reached it; farther, or with no position known, it ended early ([`EarlyEnd`]). The fare is the
    /// tariff for the distance driven (`trip.driven_m`; for a trip that reached the drop-off with no
    /// position on the way, the street distance) and the time taken, at the quote's surge, then bounded by
    /// `band` around the quote ([`bound_fare`]): capped above in every case, raised below only for a trip
    /// that reached the drop-off, since an early end pays for what was driven.
    pub fn complete(
        &mut self,
        by: UserId,
        trip: &TripEnd,
        pricing: &PricingConfig,
        radii: StopRadii,
        band: FareBand,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.expect_driver(by)?;
        self.expect_state(RideState::InProgress, "complete")?;
        let here = presence(self.dropoff, radii.dropoff_m, trip.position);
        let early_end = match here {
            Presence::At { .. } => None,
            Presence::Away { .. } => Some(EarlyEnd::FarFromDropoff),
            Presence::Unknown => Some(EarlyEnd::PositionUnknown),
        };
        let distance_m = if early_end.is_none() && trip.driven_m == 0 {
            trip.street_m
        } else {
            trip.driven_m
        };
        let priced = price_trip(pricing, distance_m, trip.duration_s, self.quoted.surge)
            .map_err(RideError::Fare)?;
        let (final_fare, fare_adjustment) =
            bound_fare(&self.quoted, priced, band, early_end.is_none()).map_err(RideError::Fare)?;
        let fare = final_fare.total;
        self.state = RideState::Completed;
        self.final_fare = Some(final_fare);
        self.trip_distance_m = Some(distance_m);
        self.fare_adjustment = fare_adjustment;
        self.early_end = early_end;
        self.dropoff_distance_m = here.distance_m();
        self.ended_at = Some(now);
        self.version += 1;
        Ok(RideEvent::Completed {
            driver: by,
            fare,
            distance_m: Some(distance_m),
            fare_adjustment,
            early_end,
        })
    }

    /// The fee the rider would pay to cancel at `now`: none before a driver is assigned or within the free
    /// window after assignment, the configured fee after it.
    pub fn cancel_fee_at(&self, pricing: &PricingConfig, now: Timestamp) -> Option<Money> {
        match (self.state, self.assigned_at) {
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
        if by != self.rider {
            return Err(RideError::NotYourRide);
        }
        self.cancel(CancelledBy::Rider, pricing, now)
    }

    /// An operator cancels (never a fee).
    pub fn cancel_by_admin(&mut self, now: Timestamp) -> Result<RideEvent, RideError> {
        let free = PricingConfig {
            cancel_fee_minor: 0,
            ..PricingConfig::default()
        };
        self.cancel(CancelledBy::Admin, &free, now)
    }

    fn cancel(
        &mut self,
        by: CancelledBy,
        pricing: &PricingConfig,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        match self.state {
            RideState::Requested | RideState::DriverAssigned | RideState::DriverArrived => {}
            from @ (RideState::InProgress
            | RideState::Completed
            | RideState::Cancelled
            | RideState::NoDriverAvailable) => {
                return Err(RideError::Transition {
                    from,
                    command: "cancel",
                });
            }
        }
        let fee = self.cancel_fee_at(pricing, now);
        self.state = RideState::Cancelled;
        self.cancelled_by = Some(by);
        self.cancel_fee = fee;
        self.ended_at = Some(now);
        self.version += 1;
        Ok(RideEvent::Cancelled { by, fee })
    }

    /// The assigned driver cancels before the trip starts: the ride goes back to dispatch and this driver
    /// is not offered it again.
    pub fn cancel_by_driver(
        &mut self,
        by: UserId,
        _now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.expect_driver(by)?;
        match self.state {
            RideState::DriverAssigned | RideState::DriverArrived => {}
            from @ (RideState::Requested
            | RideState::InProgress
            | RideState::Completed
            | RideState::Cancelled
            | RideState::NoDriverAvailable) => {
                return Err(RideError::Transition {
                    from,
                    command: "cancel as driver",
                });
            }
        }
        self.state = RideState::Requested;
        self.driver = None;
        self.pickup_eta_s = None;
        self.assigned_at = None;
        self.arrived_at = None;
        self.exclude_driver(by);
        self.version += 1;
        Ok(RideEvent::DriverCancelled { driver: by })
    }

    /// Dispatch gives up: no driver within the pickup limit.
    pub fn no_driver_available(
        &mut self,
        reason: NoDriverReason,
        now: Timestamp,
    ) -> Result<RideEvent, RideError> {
        self.expect_state(RideState::Requested, "give up on")?;
        self.state = RideState::NoDriverAvailable;
        self.no_driver_reason = Some(reason);
        self.ended_at = Some(now);
        self.version += 1;
        Ok(RideEvent::NoDriverAvailable { reason })
    }

    /// Records that `driver` declined or let an offer of this ride expire, so dispatch skips them. This is
    /// not a state change, but it bumps the version when the stored ride changes.
    pub fn exclude_driver(&mut self, driver: UserId) {
        if !self.excluded_drivers.contains(&driver) {
            self.excluded_drivers.push(driver);
            self.version += 1;
        }
    }

    fn expect_state(&self, expected: RideState, command: &'static str) -> Result<(), RideError> {
        if self.state == expected {
            Ok(())
        } else {
            Err(RideError::Transition {
                from: self.state,
                command,
            })
        }
    }

    fn expect_driver(&self, by: UserId) -> Result<(), RideError> {
        if self.driver == Some(by) {
            Ok(())
        } else {
            Err(RideError::NotYourRide)
        }
    }
}
