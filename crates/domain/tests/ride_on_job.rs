//! Rides on jobs keep the behaviour of the ride state machine they replaced.
//!
//! `Old` below is the flat ride state machine as it was before a `Ride` sat on a `Job` (commit 2ffc678,
//! `crates/domain/src/ride.rs`), kept verbatim on the flat shape ([`FlatRide`]) as an oracle: for any
//! sequence of commands, the ride on its job gives the same events and the same errors, and its flat
//! shape is the old ride's, field by field. Two differences are deliberate and checked as such: the job
//! refuses to assign a driver the ride excludes ([`RideError::DriverExcluded`]; the old ride accepted,
//! though dispatch never offered such a ride), and a driver's cancellation bumps the version once (the
//! old ride bumped it twice, once more for excluding the driver).
//!
//! The file also checks how a ride is taken apart and put together again: [`Ride::from_parts`] refuses
//! a job that is not a ride's, and the flat shape and the parts round-trip.

use doorstep_domain::code::{CodeError, VerificationCode};
use doorstep_domain::job::{Job, JobKind, JobState, NewDeliveryJob, StopState, UnfulfilledReason};
use doorstep_domain::pricing::{FareBand, PricingConfig, SurgeMillis, bound_fare, price_trip};
use doorstep_domain::ride::{
    CancelledBy, EarlyEnd, FlatRide, NewRide, NoDriverReason, NotARideJob, Pin, Ride, RideError,
    RideEvent, RideState, StartOutcome, StopRadii, TripEnd,
};
use doorstep_domain::stop::{Presence, presence};
use doorstep_domain::{
    Currency, JobId, MerchantId, Money, OfferId, QuoteId, RideId, Timestamp, UserId,
};
use doorstep_geo::LatLng;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::ops::{Deref, DerefMut};
use uuid::Uuid;

fn user(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + secs * 1000)
}

fn place(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).expect("valid coordinates")
}

/// Empire State Building: the pickup.
fn a() -> LatLng {
    place(40.7484, -73.9857)
}

/// Times Square: the drop-off, about 1 km north.
fn b() -> LatLng {
    place(40.7580, -73.9855)
}

/// About 600 m north of the pickup: too far from either stop.
fn between() -> LatLng {
    place(40.7538, -73.9857)
}

const MAX: u8 = 3;

fn new_ride() -> NewRide {
    let quoted = price_trip(&PricingConfig::default(), 3000, 600, SurgeMillis::NONE).expect("fare");
    NewRide {
        id: RideId::from_uuid(Uuid::from_u128(99)),
        rider: user(1),
        quote_id: QuoteId::from_uuid(Uuid::from_u128(98)),
        pickup: a(),
        dropoff: b(),
        quoted,
        pin: VerificationCode::restore("1234", 0).expect("valid pin"),
    }
}

/// The flat ride state machine before rides sat on jobs (verbatim but for `request`, `Old` for `Ride`
/// and `Self` for the struct it builds).
#[derive(Debug, Clone, PartialEq)]
struct Old(FlatRide);

impl Deref for Old {
    type Target = FlatRide;

    fn deref(&self) -> &FlatRide {
        &self.0
    }
}

impl DerefMut for Old {
    fn deref_mut(&mut self) -> &mut FlatRide {
        &mut self.0
    }
}

impl Old {
    fn request(new: NewRide, now: Timestamp) -> (Old, RideEvent) {
        let event = RideEvent::Requested {
            fare: new.quoted.total,
            pickup: Some(new.pickup),
            dropoff: Some(new.dropoff),
        };
        let ride = Old(FlatRide {
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
        });
        (ride, event)
    }
}

impl Old {
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
            driver_card: None,
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

/// Where the driver's last believed position is.
#[derive(Debug, Clone, Copy)]
enum Where {
    /// At the stop.
    At,
    /// About 600 m from it.
    Far,
    /// No position known.
    Unknown,
}

impl Where {
    fn position(self, stop: LatLng) -> Option<LatLng> {
        match self {
            Where::At => Some(stop),
            Where::Far => Some(between()),
            Where::Unknown => None,
        }
    }
}

/// A command thrown at both rides. Users: 1 the rider, 2 and 3 drivers, 7 a stranger.
#[derive(Debug, Clone)]
enum Command {
    Offer(u128),
    Assign(u128),
    Arrive(u128, Where),
    Start(u128, bool),
    ReissueByRider(u128),
    ReissueByAdmin,
    Complete(u128, Where, u32),
    RiderCancel(u128),
    AdminCancel,
    DriverCancel(u128),
    NoDriver(bool),
    Exclude(u128),
}

fn who() -> impl Strategy<Value = u128> {
    prop_oneof![6 => Just(2u128), 2 => Just(3u128), 1 => Just(1u128), 1 => Just(7u128)]
}

fn place_of() -> impl Strategy<Value = Where> {
    prop_oneof![6 => Just(Where::At), 1 => Just(Where::Far), 1 => Just(Where::Unknown)]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        2 => who().prop_map(Command::Offer),
        4 => who().prop_map(Command::Assign),
        4 => (who(), place_of()).prop_map(|(d, w)| Command::Arrive(d, w)),
        4 => (who(), proptest::bool::weighted(0.6)).prop_map(|(d, ok)| Command::Start(d, ok)),
        1 => who().prop_map(Command::ReissueByRider),
        1 => Just(Command::ReissueByAdmin),
        4 => (who(), place_of(), prop_oneof![Just(0u32), 1u32..20_000]).prop_map(|(d, w, m)| Command::Complete(d, w, m)),
        1 => who().prop_map(Command::RiderCancel),
        1 => Just(Command::AdminCancel),
        1 => who().prop_map(Command::DriverCancel),
        1 => any::<bool>().prop_map(Command::NoDriver),
        1 => who().prop_map(Command::Exclude),
    ]
}

/// Both rides' answers to a command, as a list of events or the refusal; `None` where the oracle has
/// no such command and the new ride's answer was checked on its own.
type Answer = Result<Vec<RideEvent>, RideError>;

fn one(r: Result<RideEvent, RideError>) -> Answer {
    r.map(|e| vec![e])
}

fn started(r: Result<StartOutcome, RideError>) -> Answer {
    r.map(|o| match o {
        StartOutcome::Started(e) => vec![e],
        StartOutcome::WrongPin { events, .. } => events,
    })
}

proptest! {
    /// Whatever the commands, the ride on its job answers exactly as the flat ride did (events, errors,
    /// every field of its flat shape), bumps its version by exactly one per change, and comes apart into
    /// its job and record and back, and into its flat shape and back, unchanged.
    #[test]
    fn a_ride_on_its_job_behaves_as_the_flat_ride_did(
        commands in proptest::collection::vec(command(), 0..40),
        seed in any::<u64>(),
    ) {
        let pricing = PricingConfig::default();
        let (mut old, old_requested) = Old::request(new_ride(), t(0));
        let (mut ride, requested) = Ride::request(new_ride(), t(0));
        prop_assert_eq!(&requested, &old_requested);
        let mut old_rng = StdRng::seed_from_u64(seed);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut clock = 0;
        let mut offers = 0u128;
        for c in commands {
            clock += 37;
            let now = t(clock);
            let before = ride.clone();
            let (new_answer, old_answer): (Answer, Option<Answer>) = match c {
                Command::Offer(d) => {
                    offers += 1;
                    let offer = OfferId::from_uuid(Uuid::from_u128(1000 + offers));
                    let answer = one(ride.offer(offer, user(d), now.plus_secs(15), 120));
                    // The old ride had no offer command: the app bumped its version and wrote the event.
                    // Dispatch offers only a requested ride, to a driver it does not exclude, one at a time.
                    if old.state == RideState::Requested
                        && !old.excluded_drivers.contains(&user(d))
                        && before.job().pending_offer.is_none()
                    {
                        old.version += 1;
                        let event = RideEvent::Offered { offer_id: offer, driver: user(d), expires_at: now.plus_secs(15), pickup_eta_s: 120 };
                        (answer, Some(Ok(vec![event])))
                    } else {
                        prop_assert!(answer.is_err(), "{:?}", answer);
                        (answer, None)
                    }
                }
                Command::Assign(d) => {
                    let pending = before.job().pending_offer.map(|p| p.worker);
                    let answer = one(ride.assign(user(d), 100, now));
                    if old.state == RideState::Requested && old.excluded_drivers.contains(&user(d)) {
                        // The job refuses an excluded driver; the flat ride accepted one.
                        prop_assert_eq!(&answer, &Err(RideError::DriverExcluded));
                        (answer, None)
                    } else if old.state == RideState::Requested && pending.is_some_and(|w| w != user(d)) {
                        // Only the driver of a pending offer can accept it.
                        prop_assert!(answer.is_err());
                        (answer, None)
                    } else {
                        let old_answer = one(old.assign(user(d), 100, now));
                        (answer, Some(old_answer))
                    }
                }
                Command::Arrive(d, w) => (
                    one(ride.arrive(user(d), w.position(a()), StopRadii::default(), now)),
                    Some(one(old.arrive(user(d), w.position(a()), StopRadii::default(), now))),
                ),
                Command::Start(d, right) => {
                    let code = old.pin.as_str().to_owned();
                    let guess = if right { code } else { format!("{:04}", (code.parse::<u32>().unwrap_or(0) + 1) % 10_000) };
                    let pin = Pin::parse(&guess).expect("pin");
                    (
                        started(ride.start(user(d), &pin, MAX, now)),
                        Some(started(old.start(user(d), &pin, MAX, now))),
                    )
                }
                Command::ReissueByRider(who) => (
                    one(ride.reissue_pin_by_rider(user(who), &mut rng)),
                    Some(one(old.reissue_pin_by_rider(user(who), &mut old_rng))),
                ),
                Command::ReissueByAdmin => (
                    one(ride.reissue_pin_by_admin(&mut rng)),
                    Some(one(old.reissue_pin_by_admin(&mut old_rng))),
                ),
                Command::Complete(d, w, driven_m) => {
                    let trip = TripEnd { position: w.position(b()), driven_m, street_m: 1200, duration_s: 700 };
                    (
                        one(ride.complete(user(d), &trip, &pricing, StopRadii::default(), FareBand::default(), now)),
                        Some(one(old.complete(user(d), &trip, &pricing, StopRadii::default(), FareBand::default(), now))),
                    )
                }
                Command::RiderCancel(who) => (
                    one(ride.cancel_by_rider(user(who), &pricing, now)),
                    Some(one(old.cancel_by_rider(user(who), &pricing, now))),
                ),
                Command::AdminCancel => (
                    one(ride.cancel_by_admin(None, now)),
                    Some(one(old.cancel_by_admin(now))),
                ),
                Command::DriverCancel(d) => {
                    let newly_excluded = !old.excluded_drivers.contains(&user(d));
                    let answer = one(ride.cancel_by_driver(user(d), now));
                    let old_answer = one(old.cancel_by_driver(user(d), now));
                    if old_answer.is_ok() && newly_excluded {
                        // The flat ride bumped its version twice here (once for excluding the driver).
                        old.version -= 1;
                    }
                    (answer, Some(old_answer))
                }
                Command::NoDriver(declined) => {
                    let reason = if declined { NoDriverReason::AllDriversDeclined } else { NoDriverReason::NoDriversNearby };
                    (
                        one(ride.no_driver_available(reason, now)),
                        Some(one(old.no_driver_available(reason, now))),
                    )
                }
                Command::Exclude(d) => {
                    let changes = !old.excluded_drivers.contains(&user(d));
                    ride.exclude_driver(user(d));
                    old.exclude_driver(user(d));
                    let answer = Ok(vec![]);
                    prop_assert_eq!(ride.version(), before.version() + i64::from(changes));
                    (answer, Some(Ok(vec![])))
                }
            };
            if let Some(old_answer) = &old_answer {
                prop_assert_eq!(&new_answer, old_answer, "{:?}", c);
            }
            match &new_answer {
                Err(_) => prop_assert_eq!(&ride, &before, "a refused command changes nothing"),
                Ok(events) if !events.is_empty() => prop_assert_eq!(ride.version(), before.version() + 1),
                Ok(_) => {}
            }
            // The flat shape is the old ride's, field by field (the old version is kept in step above),
            // and so are the questions a ride answers.
            prop_assert_eq!(&ride.flat(), &old.0, "{:?}", c);
            prop_assert_eq!(ride.pin_locked(MAX), old.pin_locked(MAX));
            prop_assert_eq!(ride.cancel_fee_at(&pricing, now.plus_secs(200)), old.cancel_fee_at(&pricing, now.plus_secs(200)));
            for u in [1, 2, 3, 7] {
                prop_assert_eq!(ride.involves(user(u)), old.involves(user(u)));
            }
            // Apart and together again.
            let (job, record) = ride.clone().into_parts();
            prop_assert_eq!(Ride::from_parts(job, record), Ok(ride.clone()));
            let flat_again = Ride::from_flat(ride.flat());
            prop_assert_eq!(flat_again.flat(), ride.flat());
            if ride.job().pending_offer.is_none() {
                prop_assert_eq!(&flat_again, &ride);
            }
        }
    }
}

fn ride_job() -> Job {
    Ride::request(new_ride(), t(0)).0.job().clone()
}

fn record() -> doorstep_domain::ride::RideRecord {
    Ride::request(new_ride(), t(0)).0.record()
}

#[test]
fn a_ride_is_made_only_of_a_ride_shaped_job() {
    assert!(Ride::from_parts(ride_job(), record()).is_ok());

    let (delivery, _) = Job::delivery(
        NewDeliveryJob {
            id: JobId::from_uuid(Uuid::from_u128(5)),
            customer: user(1),
            merchant: MerchantId::from_uuid(Uuid::from_u128(6)),
            pickup: a(),
            dropoff: b(),
            ready_at: t(0),
            deliver_by: t(1800),
            pickup_service_s: 60,
            dropoff_service_s: 60,
            handover: None,
            bags: 1,
        },
        t(0),
    )
    .expect("a delivery");
    assert_eq!(
        Ride::from_parts(delivery.clone(), record()),
        Err(NotARideJob::Kind(JobKind::Delivery))
    );
    // A delivery's stops under the kind ride are still no ride: the pickup has no PIN.
    let mut disguised = delivery;
    disguised.kind = JobKind::Ride;
    assert_eq!(
        Ride::from_parts(disguised, record()),
        Err(NotARideJob::Stops)
    );

    let mut one_stop = ride_job();
    one_stop.stops.pop();
    assert_eq!(
        Ride::from_parts(one_stop, record()),
        Err(NotARideJob::Stops)
    );
    let mut swapped = ride_job();
    swapped.stops.reverse();
    assert_eq!(Ride::from_parts(swapped, record()), Err(NotARideJob::Stops));

    // A worker's failure is no ride state.
    let mut failed = ride_job();
    failed.assign(user(2), 60, t(1)).expect("assign");
    failed
        .fail(user(2), UnfulfilledReason::CustomerUnreachable, t(2))
        .expect("fail");
    assert_eq!(
        Ride::from_parts(failed, record()),
        Err(NotARideJob::State {
            state: JobState::Unfulfilled,
            stops: vec![StopState::Skipped, StopState::Skipped]
        })
    );
    // Nor is an open job whose pickup is arrived at.
    let mut odd = ride_job();
    odd.stops[0].state = StopState::Arrived;
    assert!(matches!(
        Ride::from_parts(odd, record()),
        Err(NotARideJob::State { .. })
    ));
}

#[test]
fn a_ride_job_opened_by_a_ride_has_no_pickup_deadline() {
    let job = ride_job();
    assert_eq!(job.kind, JobKind::Ride);
    assert_eq!(RideId::from(job.id), new_ride().id);
    assert!(job.stops.iter().all(|s| s.window.is_open_ended()));
    assert_eq!(job.stops[0].window.earliest(), t(0));
    // As dispatch plans it, the pickup window closes at the pickup limit.
    let ride = Ride::request(new_ride(), t(0)).0;
    assert_eq!(Job::from_ride(&ride, 600).stops[0].window.latest(), t(600));
}

#[test]
fn every_field_of_the_flat_shape_survives_the_job_in_every_state() {
    let eur = Currency::parse("EUR").expect("a currency");
    let fare = price_trip(&PricingConfig::default(), 4000, 800, SurgeMillis::NONE).expect("fare");
    let (final_fare, fare_adjustment) =
        bound_fare(&fare, fare.clone(), FareBand::default(), true).expect("bounded");
    let ends = [
        (Some(EarlyEnd::FarFromDropoff), Some(777)),
        (Some(EarlyEnd::PositionUnknown), None),
        (None, Some(12)),
        (None, None),
    ];
    for (state, (early_end, dropoff_distance_m)) in RideState::ALL
        .into_iter()
        .flat_map(|s| ends.map(|e| (s, e)))
    {
        // How the trip ended is the drop-off's completion, which only a completed ride has: the other
        // states never carry one (no transition sets it), so the flat shape keeps it only there.
        let (early_end, dropoff_distance_m) = if state == RideState::Completed {
            (early_end, dropoff_distance_m)
        } else {
            (None, None)
        };
        // Every other optional field set at once, whatever the state (the flat shape allows it).
        let flat = FlatRide {
            final_fare: Some(final_fare.clone()),
            state,
            driver: Some(user(2)),
            pickup_eta_s: Some(321),
            excluded_drivers: vec![user(3), user(4)],
            assigned_at: Some(t(1)),
            arrived_at: Some(t(2)),
            started_at: Some(t(3)),
            ended_at: Some(t(4)),
            cancelled_by: Some(CancelledBy::Admin),
            cancel_fee: Some(Money::new(1_234, eur)),
            no_driver_reason: Some(NoDriverReason::AllDriversDeclined),
            trip_distance_m: Some(4_000),
            fare_adjustment,
            early_end,
            dropoff_distance_m,
            pin: VerificationCode::restore("9031", 2).expect("a pin"),
            version: 42,
            ..Ride::request(new_ride(), t(0)).0.flat()
        };
        let ride = Ride::from_flat(flat.clone());
        assert_eq!(ride.flat(), flat, "{state}");
        assert_eq!(ride.state(), state);
        let (job, record) = ride.clone().into_parts();
        assert_eq!(Ride::from_parts(job, record), Ok(ride), "{state}");
    }
}
