//! Behaviour of the ride state machine, offers and the ledger.

use doorstep_domain::code::VerificationCode;
use doorstep_domain::ledger::{
    Account, LedgerEntry, Posting, PostingKind, cancellation_fee_posting, ride_fare_posting,
};
use doorstep_domain::offer::{Offer, OfferError, OfferState};
use doorstep_domain::pricing::{FareAdjustment, FareBand, PricingConfig, SurgeMillis, price_trip};
use doorstep_domain::ride::{
    CancelledBy, EarlyEnd, NewRide, NoDriverReason, Pin, Ride, RideError, RideEvent, RideState,
    StartOutcome, StopRadii, TripEnd,
};
use doorstep_domain::{Currency, Money, OfferId, QuoteId, RideId, Timestamp, UserId};
use doorstep_geo::LatLng;
use proptest::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

fn user(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + secs * 1000)
}

fn new_ride() -> Ride {
    let pricing = PricingConfig::default();
    let quoted = price_trip(&pricing, 3000, 600, SurgeMillis::NONE).expect("valid fare");
    let new = NewRide {
        id: RideId::from_uuid(Uuid::from_u128(99)),
        rider: user(1),
        quote_id: QuoteId::from_uuid(Uuid::from_u128(98)),
        pickup: LatLng::new(40.7484, -73.9857).expect("valid"),
        dropoff: LatLng::new(40.7580, -73.9855).expect("valid"),
        quoted,
        pin: VerificationCode::restore("1234", 0).expect("valid pin"),
    };
    Ride::request(new, t(0)).0
}

/// The default limit of wrong PINs.
const MAX: u8 = 5;

fn pin(s: &str) -> Pin {
    Pin::parse(s).expect("four digits")
}

/// Starts `ride` as `driver` with `digits`, keeping only the started event (a wrong PIN is an error here).
fn start(
    ride: &mut Ride,
    driver: UserId,
    digits: &str,
    now: Timestamp,
) -> Result<RideEvent, RideError> {
    match ride.start(driver, &pin(digits), MAX, now)? {
        StartOutcome::Started(event) => Ok(event),
        StartOutcome::WrongPin { .. } => Err(RideError::PinLocked),
    }
}

/// The driver's position at the pickup of [`new_ride`].
fn pickup() -> Option<LatLng> {
    Some(LatLng::new(40.7484, -73.9857).expect("valid"))
}

/// A trip of [`new_ride`] that reached its drop-off after 3.5 km and 700 s.
fn trip_to_dropoff() -> TripEnd {
    TripEnd {
        position: Some(LatLng::new(40.7580, -73.9855).expect("valid")),
        driven_m: 3500,
        street_m: 1200,
        duration_s: 700,
    }
}

#[test]
fn a_ride_runs_from_request_to_completion() {
    let mut ride = new_ride();
    let driver = user(2);
    assert_eq!(
        ride.assign(driver, 240, t(10)),
        Ok(RideEvent::DriverAssigned {
            driver,
            pickup_eta_s: 240,
            driver_card: None,
        })
    );
    assert!(
        ride.arrive(driver, pickup(), StopRadii::default(), t(250))
            .is_ok()
    );
    assert!(start(&mut ride, driver, "1234", t(300)).is_ok());
    let event = ride.complete(
        driver,
        &trip_to_dropoff(),
        &PricingConfig::default(),
        StopRadii::default(),
        FareBand::default(),
        t(1000),
    );
    assert!(matches!(event, Ok(RideEvent::Completed { .. })));
    assert_eq!(ride.state(), RideState::Completed);
    assert_eq!(ride.ended_at(), Some(t(1000)));
    assert_eq!(ride.version(), 5);
}

#[test]
fn a_wrong_pin_is_counted_and_does_not_start_the_ride() {
    let mut ride = new_ride();
    let driver = user(2);
    ride.assign(driver, 60, t(1)).expect("assign");
    ride.arrive(driver, pickup(), StopRadii::default(), t(60))
        .expect("arrive");
    let before = ride.clone();
    assert_eq!(
        ride.start(driver, &pin("9999"), MAX, t(70)),
        Ok(StartOutcome::WrongPin {
            attempts_left: 4,
            events: vec![RideEvent::PinAttemptFailed { attempts_left: 4 }]
        })
    );
    assert_eq!(ride.state(), RideState::DriverArrived);
    assert_eq!(ride.started_at(), None);
    assert_eq!(ride.pin().failed_attempts(), 1);
    assert_eq!(ride.version(), before.version() + 1);
}

#[test]
fn the_last_allowed_wrong_pin_locks_and_then_even_the_right_pin_is_refused() {
    let mut ride = new_ride();
    let driver = user(2);
    ride.assign(driver, 60, t(1)).expect("assign");
    ride.arrive(driver, pickup(), StopRadii::default(), t(60))
        .expect("arrive");
    for left in (1..MAX).rev() {
        assert!(matches!(
            ride.start(driver, &pin("0000"), MAX, t(70)),
            Ok(StartOutcome::WrongPin { attempts_left, .. }) if attempts_left == left
        ));
    }
    assert_eq!(
        ride.start(driver, &pin("0000"), MAX, t(71)),
        Ok(StartOutcome::WrongPin {
            attempts_left: 0,
            events: vec![
                RideEvent::PinAttemptFailed { attempts_left: 0 },
                RideEvent::PinLocked
            ]
        })
    );
    assert!(ride.pin_locked(MAX));
    let locked = ride.clone();
    assert_eq!(
        ride.start(driver, &pin("1234"), MAX, t(72)),
        Err(RideError::PinLocked)
    );
    assert_eq!(ride, locked);
}

#[test]
fn a_new_pin_from_the_rider_unlocks_and_the_driver_starts_with_it() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut ride = new_ride();
    let driver = user(2);
    ride.assign(driver, 60, t(1)).expect("assign");
    ride.arrive(driver, pickup(), StopRadii::default(), t(60))
        .expect("arrive");
    for _ in 0..MAX {
        ride.start(driver, &pin("0000"), MAX, t(70))
            .expect("counted");
    }
    assert!(ride.pin_locked(MAX));
    // Neither the driver nor a stranger may issue a new PIN.
    for who in [driver, user(7)] {
        assert_eq!(
            ride.reissue_pin_by_rider(who, &mut rng),
            Err(RideError::NotYourRide)
        );
    }
    let version = ride.version();
    assert_eq!(
        ride.reissue_pin_by_rider(user(1), &mut rng),
        Ok(RideEvent::PinReissued)
    );
    assert_eq!(ride.version(), version + 1);
    assert!(!ride.pin_locked(MAX));
    let new_pin = ride.pin().as_str().to_owned();
    assert!(start(&mut ride, driver, &new_pin, t(80)).is_ok());
    assert_eq!(ride.state(), RideState::InProgress);
    // Once the trip started there is no PIN to replace.
    assert!(matches!(
        ride.reissue_pin_by_admin(&mut rng),
        Err(RideError::Transition { .. })
    ));
}

#[test]
fn only_the_assigned_driver_moves_the_ride() {
    let mut ride = new_ride();
    ride.assign(user(2), 60, t(1)).expect("assign");
    assert_eq!(
        ride.arrive(user(3), pickup(), StopRadii::default(), t(60)),
        Err(RideError::NotYourRide)
    );
    assert_eq!(
        ride.arrive(user(1), pickup(), StopRadii::default(), t(60)),
        Err(RideError::NotYourRide)
    );
}

#[test]
fn a_completed_ride_cannot_be_cancelled() {
    let mut ride = new_ride();
    let driver = user(2);
    ride.assign(driver, 60, t(1)).expect("assign");
    ride.arrive(driver, pickup(), StopRadii::default(), t(60))
        .expect("arrive");
    start(&mut ride, driver, "1234", t(70)).expect("start");
    ride.complete(
        driver,
        &trip_to_dropoff(),
        &PricingConfig::default(),
        StopRadii::default(),
        FareBand::default(),
        t(500),
    )
    .expect("complete");
    assert_eq!(
        ride.cancel_by_rider(user(1), &PricingConfig::default(), t(600)),
        Err(RideError::Transition {
            from: RideState::Completed,
            command: "cancel"
        })
    );
}

#[test]
fn cancelling_within_two_minutes_of_assignment_is_free_and_later_costs_the_fee() {
    let pricing = PricingConfig::default();
    let mut early = new_ride();
    early.assign(user(2), 300, t(0)).expect("assign");
    assert_eq!(early.cancel_fee_at(&pricing, t(119)), None);
    assert_eq!(
        early.cancel_by_rider(user(1), &pricing, t(119)),
        Ok(RideEvent::Cancelled {
            by: CancelledBy::Rider,
            fee: None
        })
    );

    let mut late = new_ride();
    late.assign(user(2), 300, t(0)).expect("assign");
    let fee = Money::new(pricing.cancel_fee_minor, Currency::USD);
    assert_eq!(late.cancel_fee_at(&pricing, t(121)), Some(fee));
    assert_eq!(
        late.cancel_by_rider(user(1), &pricing, t(121)),
        Ok(RideEvent::Cancelled {
            by: CancelledBy::Rider,
            fee: Some(fee)
        })
    );
    assert_eq!(late.cancel_fee(), Some(fee));
}

#[test]
fn cancelling_before_assignment_is_always_free() {
    let pricing = PricingConfig::default();
    let mut ride = new_ride();
    assert_eq!(ride.cancel_fee_at(&pricing, t(10_000)), None);
    assert!(ride.cancel_by_rider(user(1), &pricing, t(10_000)).is_ok());
}

#[test]
fn another_rider_cannot_cancel_the_ride() {
    let mut ride = new_ride();
    assert_eq!(
        ride.cancel_by_rider(user(7), &PricingConfig::default(), t(5)),
        Err(RideError::NotYourRide)
    );
    assert_eq!(ride.state(), RideState::Requested);
}

#[test]
fn a_driver_cancellation_returns_the_ride_to_dispatch_without_that_driver() {
    let mut ride = new_ride();
    ride.assign(user(2), 60, t(1)).expect("assign");
    assert_eq!(
        ride.cancel_by_driver(user(2), t(30)),
        Ok(RideEvent::DriverCancelled { driver: user(2) })
    );
    assert_eq!(ride.state(), RideState::Requested);
    assert_eq!(ride.driver(), None);
    assert_eq!(ride.excluded_drivers(), vec![user(2)]);
    assert!(ride.assign(user(3), 90, t(40)).is_ok());
}

#[test]
fn the_open_states_are_the_states_not_ended_in_lifecycle_order() {
    let open: Vec<RideState> = RideState::ALL
        .into_iter()
        .filter(|s| !s.is_terminal())
        .collect();
    assert_eq!(open, RideState::OPEN);
}

#[test]
fn a_ride_without_drivers_ends_with_its_reason() {
    let mut ride = new_ride();
    let event = ride.no_driver_available(NoDriverReason::NoDriversNearby, t(300));
    assert_eq!(
        event,
        Ok(RideEvent::NoDriverAvailable {
            reason: NoDriverReason::NoDriversNearby
        })
    );
    assert!(ride.state().is_terminal());
    assert!(ride.assign(user(2), 1, t(301)).is_err());
}

fn offer(driver: UserId) -> Offer {
    Offer {
        id: OfferId::from_uuid(Uuid::from_u128(5)),
        ride_id: RideId::from_uuid(Uuid::from_u128(99)),
        driver,
        state: OfferState::Pending,
        created_at: t(0),
        expires_at: t(15),
        pickup_eta_s: 120,
        pickup_distance_m: 800,
        fare: Money::new(1500, Currency::USD),
    }
}

#[test]
fn a_driver_cannot_accept_an_offer_made_to_another_driver() {
    let mut o = offer(user(2));
    assert_eq!(o.accept(user(3), t(1)), Err(OfferError::NotYours));
    assert_eq!(o.state, OfferState::Pending);
}

#[test]
fn an_offer_cannot_be_accepted_after_its_deadline_or_twice() {
    let mut late = offer(user(2));
    assert_eq!(late.accept(user(2), t(16)), Err(OfferError::Expired));
    assert!(late.expire_if_due(t(16)));
    assert_eq!(late.state, OfferState::Expired);

    let mut o = offer(user(2));
    assert_eq!(o.accept(user(2), t(5)), Ok(()));
    assert_eq!(
        o.decline(user(2), t(6)),
        Err(OfferError::NotPending(OfferState::Accepted))
    );
}

#[test]
fn an_unbalanced_posting_is_refused() {
    let entries = vec![
        LedgerEntry {
            account: Account::Rider(user(1)),
            amount: Money::new(-100, Currency::USD),
        },
        LedgerEntry {
            account: Account::PlatformFees,
            amount: Money::new(99, Currency::USD),
        },
    ];
    let refused = Posting::new(
        RideId::from_uuid(Uuid::from_u128(1)),
        PostingKind::RideFare,
        t(0),
        entries,
    );
    assert!(refused.is_err());
}

#[test]
fn account_keys_round_trip() {
    for a in [
        Account::Rider(user(1)),
        Account::DriverEarnings(user(2)),
        Account::PlatformCommission,
        Account::PlatformFees,
    ] {
        assert_eq!(Account::parse_key(&a.key()), Some(a));
    }
    assert_eq!(Account::parse_key("bank:1"), None);
}

/// A command a test may throw at a ride.
#[derive(Debug, Clone)]
enum Command {
    Assign(u128),
    Arrive(u128),
    Start(u128, bool),
    Reissue(u128),
    Complete(u128),
    RiderCancel,
    DriverCancel(u128),
    NoDriver,
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (2u128..4).prop_map(Command::Assign),
        (2u128..4).prop_map(Command::Arrive),
        ((2u128..4), any::<bool>()).prop_map(|(d, ok)| Command::Start(d, ok)),
        (1u128..3).prop_map(Command::Reissue),
        (2u128..4).prop_map(Command::Complete),
        Just(Command::RiderCancel),
        (2u128..4).prop_map(Command::DriverCancel),
        Just(Command::NoDriver),
    ]
}

proptest! {
    /// Whatever commands arrive, a refused command changes nothing, an accepted one bumps the version, a
    /// terminal ride never changes again, and the ledger postings of the outcome always balance.
    #[test]
    fn any_command_sequence_keeps_the_ride_and_books_consistent(commands in proptest::collection::vec(command(), 0..25), commission in 0i64..5000) {
        let pricing = PricingConfig::default();
        let mut ride = new_ride();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(commission as u64);
        let mut clock = 0i64;
        for c in commands {
            clock += 37;
            let before = ride.clone();
            let result = match c {
                Command::Assign(d) => ride.assign(user(d), 100, t(clock)),
                Command::Arrive(d) => ride.arrive(user(d), pickup(), StopRadii::default(), t(clock)),
                Command::Start(d, ok) => {
                    let right = ride.pin().as_str().to_owned();
                    let guess = if ok { right } else { format!("{:04}", (right.parse::<u32>().unwrap_or(0) + 1) % 10_000) };
                    ride.start(user(d), &pin(&guess), MAX, t(clock)).map(|outcome| match outcome {
                        StartOutcome::Started(event) => event,
                        StartOutcome::WrongPin { events, .. } => events[0].clone(),
                    })
                }
                Command::Reissue(who) => ride.reissue_pin_by_rider(user(who), &mut rng),
                Command::Complete(d) => ride.complete(user(d), &trip_to_dropoff(), &PricingConfig::default(), StopRadii::default(), FareBand::default(), t(clock)),
                Command::RiderCancel => ride.cancel_by_rider(user(1), &pricing, t(clock)),
                Command::DriverCancel(d) => ride.cancel_by_driver(user(d), t(clock)),
                Command::NoDriver => ride.no_driver_available(NoDriverReason::AllDriversDeclined, t(clock)),
            };
            match result {
                Ok(_) => {
                    prop_assert!(ride.version() > before.version());
                    prop_assert!(!before.state().is_terminal());
                }
                Err(_) => prop_assert_eq!(&ride, &before),
            }
            if ride.state().has_driver() {
                prop_assert!(ride.driver().is_some());
            }
            if ride.state() == RideState::Requested {
                prop_assert!(ride.driver().is_none());
            }
            prop_assert!(ride.pin().failed_attempts() <= MAX);
            if before.pin_locked(MAX) && before.pin() == ride.pin() {
                prop_assert!(ride.state() != RideState::InProgress || before.state() == RideState::InProgress);
            }
        }
        let mut balance: HashMap<Account, i64> = HashMap::new();
        let postings = [ride_fare_posting(&ride, commission, t(clock)), cancellation_fee_posting(&ride, commission, t(clock))];
        for p in postings.iter().flatten() {
            for e in p.entries() {
                *balance.entry(e.account).or_default() += e.amount.minor;
            }
        }
        prop_assert_eq!(balance.values().sum::<i64>(), 0);
        if ride.state() == RideState::Completed {
            prop_assert_eq!(balance.get(&Account::Rider(user(1))).copied(), Some(-ride.final_fare.as_ref().map_or(0, |f| f.total.minor)));
        }
    }

    #[test]
    fn fare_postings_split_the_fare_between_driver_and_platform_exactly(distance in 0u32..100_000, secs in 0u32..10_000, commission in 0i64..=10_000) {
        let mut ride = new_ride();
        ride.assign(user(2), 1, t(1)).expect("assign");
        ride.arrive(user(2), pickup(), StopRadii::default(), t(2)).expect("arrive");
        start(&mut ride, user(2), "1234", t(3)).expect("start");
        let trip = TripEnd { driven_m: distance, duration_s: secs, ..trip_to_dropoff() };
        let any_fare = FareBand { min_pct: 0, max_pct: u32::MAX };
        ride.complete(user(2), &trip, &PricingConfig::default(), StopRadii::default(), any_fare, t(4)).expect("complete");
        let total = ride.final_fare.as_ref().expect("a final fare").total.minor;
        let posting = ride_fare_posting(&ride, commission, t(5)).expect("posting");
        let sum: i64 = posting.entries().iter().map(|e| e.amount.minor).sum();
        prop_assert_eq!(sum, 0);
        let driver: i64 = posting.entries().iter().filter(|e| e.account == Account::DriverEarnings(user(2))).map(|e| e.amount.minor).sum();
        prop_assert!(driver >= 0 && driver <= total);
    }
}

/// A ride of [`new_ride`] on its trip with driver `user(2)`.
fn ride_on_trip() -> Ride {
    let mut ride = new_ride();
    ride.assign(user(2), 60, t(1)).expect("assign");
    ride.arrive(user(2), pickup(), StopRadii::default(), t(60))
        .expect("arrive");
    start(&mut ride, user(2), "1234", t(70)).expect("start");
    ride
}

#[test]
fn a_driver_arrives_only_within_the_radius_of_the_pickup() {
    let mut ride = new_ride();
    ride.assign(user(2), 60, t(1)).expect("assign");
    let before = ride.clone();
    // Herald Square, about 700 m from the pickup at the Empire State Building.
    let herald_square = Some(LatLng::new(40.7505, -73.9934).expect("valid"));
    let refused = ride.arrive(user(2), herald_square, StopRadii::default(), t(60));
    assert!(
        matches!(refused, Err(RideError::NotAtPickup { distance_m: Some(d), radius_m: 200 }) if (600..800).contains(&d)),
        "{refused:?}"
    );
    assert_eq!(
        ride.arrive(user(2), None, StopRadii::default(), t(60)),
        Err(RideError::NotAtPickup {
            distance_m: None,
            radius_m: 200
        })
    );
    assert_eq!(ride, before, "a refused arrival changes nothing");
    // About 110 m away: within the radius.
    let near = Some(LatLng::new(40.7494, -73.9857).expect("valid"));
    assert!(
        ride.arrive(user(2), near, StopRadii::default(), t(61))
            .is_ok()
    );
    assert_eq!(ride.state(), RideState::DriverArrived);
}

#[test]
fn a_completion_far_from_the_drop_off_is_an_early_end_charged_for_what_was_driven() {
    let mut ride = ride_on_trip();
    let halfway = TripEnd {
        position: Some(LatLng::new(40.7532, -73.9856).expect("valid")),
        driven_m: 600,
        ..trip_to_dropoff()
    };
    let event = ride
        .complete(
            user(2),
            &halfway,
            &PricingConfig::default(),
            StopRadii::default(),
            FareBand::default(),
            t(400),
        )
        .expect("complete");
    assert_eq!(ride.early_end(), Some(EarlyEnd::FarFromDropoff));
    assert_eq!(ride.trip_distance_m, Some(600));
    assert!(ride.dropoff_distance_m().is_some_and(|d| d > 200));
    // Charged for 600 m and 700 s, not raised to the band's minimum.
    let tariff = price_trip(&PricingConfig::default(), 600, 700, SurgeMillis::NONE).expect("fare");
    assert_eq!(
        ride.final_fare.as_ref().map(|f| f.total),
        Some(tariff.total)
    );
    assert_eq!(ride.fare_adjustment, None);
    assert!(matches!(
        event,
        RideEvent::Completed {
            early_end: Some(EarlyEnd::FarFromDropoff),
            distance_m: Some(600),
            fare_adjustment: None,
            ..
        }
    ));
    // With no position known at all, the end is early too.
    let mut unknown = ride_on_trip();
    let nowhere = TripEnd {
        position: None,
        ..trip_to_dropoff()
    };
    unknown
        .complete(
            user(2),
            &nowhere,
            &PricingConfig::default(),
            StopRadii::default(),
            FareBand::default(),
            t(400),
        )
        .expect("complete");
    assert_eq!(unknown.early_end(), Some(EarlyEnd::PositionUnknown));
}

#[test]
fn a_phone_claiming_a_huge_trip_is_charged_at_most_the_top_of_the_band() {
    let mut ride = ride_on_trip();
    let quoted = ride.quoted.total.minor;
    let claimed = TripEnd {
        driven_m: 2_000_000_000,
        ..trip_to_dropoff()
    };
    let event = ride
        .complete(
            user(2),
            &claimed,
            &PricingConfig::default(),
            StopRadii::default(),
            FareBand::default(),
            t(400),
        )
        .expect("complete");
    let total = ride.final_fare.as_ref().map(|f| f.total.minor);
    assert_eq!(total, Some(quoted * 2));
    assert_eq!(ride.fare_adjustment, Some(FareAdjustment::CappedAtMaximum));
    assert_eq!(ride.early_end(), None);
    assert!(matches!(
        event,
        RideEvent::Completed {
            fare_adjustment: Some(FareAdjustment::CappedAtMaximum),
            ..
        }
    ));
}

#[test]
fn an_operator_reassigns_an_assigned_ride_or_puts_it_back_into_dispatch() {
    let mut ride = new_ride();
    let (first, second) = (user(2), user(3));
    // Nothing to take from a ride without a driver.
    assert!(matches!(
        ride.release_by_admin(),
        Err(RideError::Transition {
            from: RideState::Requested,
            ..
        })
    ));
    ride.assign(first, 120, t(10)).expect("assign");
    let version = ride.version();
    // Not to its own driver; a refusal changes nothing.
    assert!(ride.reassign_by_admin(first, 60, t(20)).is_err());
    assert_eq!(ride.version(), version);
    let events = ride.reassign_by_admin(second, 60, t(20)).expect("reassign");
    assert_eq!(events[0], RideEvent::DriverCancelled { driver: first });
    assert_eq!(
        events[1],
        RideEvent::DriverAssigned {
            driver: second,
            pickup_eta_s: 60,
            driver_card: None,
        }
    );
    assert_eq!(ride.driver(), Some(second));
    assert_eq!(ride.state(), RideState::DriverAssigned);
    assert!(ride.excluded_drivers().contains(&first));
    // Back to dispatch: open again, without the second driver either; the first cannot be given it back.
    assert_eq!(
        ride.release_by_admin().expect("release"),
        RideEvent::DriverCancelled { driver: second }
    );
    assert_eq!(ride.state(), RideState::Requested);
    assert_eq!(ride.driver(), None);
    assert!(ride.excluded_drivers().contains(&second));
    ride.assign(user(4), 30, t(30)).expect("a third driver");
    assert_eq!(
        ride.reassign_by_admin(first, 10, t(40)),
        Err(RideError::DriverExcluded)
    );
    assert_eq!(ride.driver(), Some(user(4)));
}

#[test]
fn an_operator_cancels_with_the_fee_they_choose() {
    let mut ride = new_ride();
    ride.assign(user(2), 120, t(10)).expect("assign");
    let fee = Money::new(500, Currency::USD);
    assert_eq!(
        ride.cancel_by_admin(Some(fee), t(11)).expect("cancel"),
        RideEvent::Cancelled {
            by: CancelledBy::Admin,
            fee: Some(fee)
        }
    );
    assert_eq!(ride.cancel_fee(), Some(fee));
    assert!(ride.cancel_by_admin(None, t(12)).is_err());
}
