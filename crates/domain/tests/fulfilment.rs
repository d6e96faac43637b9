//! Behaviour of the fulfilment core: jobs of every kind, workers' routes, route offers, and the ledger
//! postings of every kind.

use doorstep_domain::code::VerificationCode;
use doorstep_domain::job::{
    Canceller, Job, JobError, JobEvent, JobKind, JobState, NewDeliveryJob, NewHouseCallJob,
    NewRideJob, StopKind, StopOutcome, StopState, TimeWindow, UnfulfilledReason, job_state_of_ride,
    ride_event_of, ride_state_of_job,
};
use doorstep_domain::ledger::{
    Account, DeliveryCharge, HouseCallCharge, LedgerError, Posting, PostingKey, PostingKind,
    RefundBearer, TrialBalance, delivery_order_posting, fare_posting, house_call_posting,
    job_cancellation_fee_posting, order_cancellation_fee_posting, order_refund_posting,
    refund_posting, ride_fare_posting, tip_posting,
};
use doorstep_domain::offer::{OfferError, OfferState};
use doorstep_domain::pricing::{PricingConfig, SurgeMillis, price_trip};
use doorstep_domain::ride::{
    NewRide, NoDriverReason, Pin, Ride, RideError, RideEvent, RideState, StartOutcome,
};
use doorstep_domain::route_offer::RouteOffer;
use doorstep_domain::worker::{
    Capabilities, Ineligible, Requirements, Route, RouteError, RouteStop, Skill, VehicleKind,
    Worker,
};
use doorstep_domain::{
    Currency, JobId, MerchantId, Money, OfferId, QuoteId, RideId, Timestamp, UserId,
};
use doorstep_geo::LatLng;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

fn user(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

fn job_id(n: u128) -> JobId {
    JobId::from_uuid(Uuid::from_u128(1000 + n))
}

fn offer_id(n: u128) -> OfferId {
    OfferId::from_uuid(Uuid::from_u128(2000 + n))
}

fn merchant() -> MerchantId {
    MerchantId::from_uuid(Uuid::from_u128(3000))
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + secs * 1000)
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn place(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).expect("valid coordinates")
}

/// Empire State Building.
fn a() -> LatLng {
    place(40.7484, -73.9857)
}

/// Times Square, about 1 km north of `a`.
fn b() -> LatLng {
    place(40.7580, -73.9855)
}

/// About 600 m north of `a`: the README tour's "arrival".
fn six_hundred_metres_from_a() -> LatLng {
    place(40.7538, -73.9857)
}

fn code(digits: &str) -> VerificationCode {
    VerificationCode::restore(digits, 0).expect("valid code")
}

const RADIUS: u32 = 100;
const MAX: u8 = 5;

fn ride_job() -> Job {
    Job::ride(NewRideJob {
        id: RideId::from_uuid(Uuid::from_u128(99)),
        customer: user(1),
        pickup: a(),
        dropoff: b(),
        requested_at: t(0),
        pickup_limit_secs: 600,
        pin: code("1234"),
    })
    .0
}

fn delivery_job() -> Job {
    Job::delivery(
        NewDeliveryJob {
            id: job_id(1),
            customer: user(1),
            merchant: merchant(),
            pickup: a(),
            dropoff: b(),
            ready_at: t(900),
            deliver_by: t(2700),
            pickup_service_s: 120,
            dropoff_service_s: 60,
            handover: Some(code("482913")),
            bags: 2,
        },
        t(0),
    )
    .expect("ready before the deadline")
    .0
}

fn plumbing() -> Skill {
    Skill::parse("plumbing").expect("a skill")
}

fn house_call_job() -> Job {
    Job::house_call(
        NewHouseCallJob {
            id: job_id(2),
            customer: user(1),
            merchant: None,
            place: a(),
            slot: TimeWindow::new(t(3600), t(5400)).expect("a slot"),
            service_s: 3600,
            proof: Some(code("7777")),
            skills: BTreeSet::from([plumbing()]),
        },
        t(0),
    )
    .0
}

fn done(outcome: Result<StopOutcome, JobError>) -> Vec<JobEvent> {
    match outcome {
        Ok(StopOutcome::Done(events)) => events,
        other => panic!("expected the stop done, got {other:?}"),
    }
}

#[test]
fn a_ride_job_runs_from_open_to_completed_with_one_version_per_transition() {
    let mut job = ride_job();
    let driver = user(2);
    assert_eq!(job.id, JobId::from(RideId::from_uuid(Uuid::from_u128(99))));
    assert_eq!(job.stops.len(), 2);
    assert_eq!(job.stops[0].window.latest(), t(600));
    assert!(job.stops[1].window.is_open_ended());
    assert_eq!(job.version, 1);
    job.offer(offer_id(1), driver, t(15), 240).expect("offer");
    assert_eq!(job.state, JobState::Open);
    assert_eq!(
        job.assign(driver, 240, t(10)),
        Ok(JobEvent::Assigned {
            worker: driver,
            eta_s: 240
        })
    );
    assert_eq!(job.pending_offer, None);
    assert!(matches!(
        job.arrive(driver, 0, a(), RADIUS, t(250)),
        Ok(JobEvent::Arrived { distance_m: 0, .. })
    ));
    assert_eq!(job.state, JobState::Assigned);
    let events = done(job.complete_stop(driver, 0, Some("1234"), MAX, a(), RADIUS, t(300)));
    assert_eq!(events.len(), 1);
    assert_eq!(job.state, JobState::InProgress);
    let events = done(job.complete_stop(driver, 1, None, MAX, b(), RADIUS, t(900)));
    assert_eq!(
        events,
        vec![
            JobEvent::StopDone {
                worker: driver,
                stop: 1,
                distance_m: Some(0),
                early_end: false
            },
            JobEvent::Completed { worker: driver }
        ]
    );
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.ended_at, Some(t(900)));
    assert_eq!(job.version, 6);
}

#[test]
fn arriving_farther_than_the_radius_is_refused_for_every_kind_of_stop() {
    for mut job in [ride_job(), delivery_job(), house_call_job()] {
        let worker = user(2);
        job.assign(worker, 60, t(1)).expect("assign");
        let before = job.clone();
        let refused = job.arrive(worker, 0, six_hundred_metres_from_a(), RADIUS, t(8));
        assert!(
            matches!(refused, Err(JobError::TooFarFromStop { distance_m, radius_m: RADIUS }) if (550..650).contains(&distance_m)),
            "{:?}: {refused:?}",
            job.kind
        );
        assert_eq!(refused.map_err(|e| e.code()), Err("too_far_from_stop"));
        assert_eq!(job, before);
        // Within the radius it is allowed.
        assert!(job.arrive(worker, 0, a(), RADIUS, t(9)).is_ok());
    }
}

#[test]
fn stops_are_served_in_order_and_only_by_the_assigned_worker() {
    let mut job = ride_job();
    job.assign(user(2), 60, t(1)).expect("assign");
    assert_eq!(
        job.arrive(user(2), 1, b(), RADIUS, t(5)),
        Err(JobError::NotTheNextStop { stop: 1, next: 0 })
    );
    assert_eq!(
        job.arrive(user(3), 0, a(), RADIUS, t(5)),
        Err(JobError::NotYourJob)
    );
    assert_eq!(
        job.arrive(user(2), 7, a(), RADIUS, t(5)),
        Err(JobError::NoSuchStop { stop: 7 })
    );
    // A pickup cannot be completed before arriving.
    assert!(matches!(
        job.complete_stop(user(2), 0, Some("1234"), MAX, a(), RADIUS, t(6)),
        Err(JobError::StopTransition {
            state: StopState::Pending,
            ..
        })
    ));
}

#[test]
fn completing_a_dropoff_far_from_its_place_is_recorded_as_an_early_end() {
    let mut job = ride_job();
    let driver = user(2);
    job.assign(driver, 60, t(1)).expect("assign");
    job.arrive(driver, 0, a(), RADIUS, t(60)).expect("arrive");
    done(job.complete_stop(driver, 0, Some("1234"), MAX, a(), RADIUS, t(70)));
    let events = done(job.complete_stop(
        driver,
        1,
        None,
        MAX,
        six_hundred_metres_from_a(),
        RADIUS,
        t(200),
    ));
    assert!(matches!(
        events[0],
        JobEvent::StopDone {
            early_end: true,
            ..
        }
    ));
    let completion = job.stops[1].completion.expect("completed");
    assert!(completion.early_end);
    assert!(completion.distance_m.is_some_and(|d| d > RADIUS));
    assert_eq!(job.state, JobState::Completed);
}

#[test]
fn a_wrong_code_is_counted_and_the_limit_locks_the_stop_until_a_reissue() {
    let mut job = ride_job();
    let driver = user(2);
    job.assign(driver, 60, t(1)).expect("assign");
    job.arrive(driver, 0, a(), RADIUS, t(60)).expect("arrive");
    assert_eq!(
        job.complete_stop(driver, 0, None, MAX, a(), RADIUS, t(61)),
        Err(JobError::ProofRequired)
    );
    for left in (0..MAX).rev() {
        let version = job.version;
        let outcome = job.complete_stop(driver, 0, Some("0000"), MAX, a(), RADIUS, t(62));
        assert!(
            matches!(&outcome, Ok(StopOutcome::WrongProof { attempts_left, .. }) if *attempts_left == left)
        );
        assert_eq!(job.version, version + 1);
    }
    let locked = job.clone();
    assert_eq!(
        job.complete_stop(driver, 0, Some("1234"), MAX, a(), RADIUS, t(63)),
        Err(JobError::ProofLocked)
    );
    assert_eq!(job, locked);
    let mut rng = StdRng::seed_from_u64(4);
    assert_eq!(
        job.reissue_proof(0, &mut rng),
        Ok(JobEvent::ProofReissued { stop: 0 })
    );
    let pin = job.stops[0]
        .proof
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .expect("a pin");
    done(job.complete_stop(driver, 0, Some(&pin), MAX, a(), RADIUS, t(64)));
    assert_eq!(job.state, JobState::InProgress);
    assert_eq!(job.reissue_proof(1, &mut rng), Err(JobError::NoProof));
}

#[test]
fn a_worker_cancellation_reopens_the_job_without_that_worker() {
    let mut job = ride_job();
    job.assign(user(2), 60, t(1)).expect("assign");
    job.arrive(user(2), 0, a(), RADIUS, t(30)).expect("arrive");
    assert_eq!(
        job.cancel_by_worker(user(2)),
        Ok(JobEvent::WorkerCancelled { worker: user(2) })
    );
    assert_eq!(job.state, JobState::Open);
    assert_eq!(job.worker, None);
    assert_eq!(job.stops[0].state, StopState::Pending);
    assert_eq!(job.excluded_workers, vec![user(2)]);
    assert_eq!(job.assign(user(2), 1, t(40)), Err(JobError::WorkerExcluded));
    assert_eq!(
        job.offer(offer_id(1), user(2), t(60), 60),
        Err(JobError::WorkerExcluded)
    );
    assert!(job.assign(user(3), 90, t(40)).is_ok());
}

#[test]
fn a_declined_or_expired_offer_excludes_its_worker_and_a_pending_one_blocks_others() {
    let mut job = delivery_job();
    job.offer(offer_id(1), user(2), t(15), 60).expect("offer");
    assert_eq!(
        job.offer(offer_id(2), user(3), t(15), 60),
        Err(JobError::OfferPending)
    );
    assert_eq!(job.assign(user(3), 1, t(2)), Err(JobError::OfferPending));
    assert_eq!(job.offer_declined(offer_id(9)), Err(JobError::NoSuchOffer));
    assert_eq!(
        job.offer_declined(offer_id(1)),
        Ok(JobEvent::OfferDeclined {
            offer: offer_id(1),
            worker: user(2)
        })
    );
    job.offer(offer_id(2), user(3), t(30), 60).expect("offer");
    assert_eq!(
        job.offer_expired(offer_id(2)),
        Ok(JobEvent::OfferExpired {
            offer: offer_id(2),
            worker: user(3)
        })
    );
    assert_eq!(job.excluded_workers, vec![user(2), user(3)]);
    assert_eq!(job.state, JobState::Open);
}

#[test]
fn a_delivery_opens_its_pickup_when_the_food_is_ready_and_hands_over_with_a_code() {
    let mut job = delivery_job();
    assert_eq!(job.kind, JobKind::Delivery);
    assert_eq!(job.merchant, Some(merchant()));
    assert_eq!(job.load, 2);
    assert_eq!(job.stops[0].window.earliest(), t(900));
    assert_eq!(job.stops[0].service_s, 120);
    // The kitchen is late: the pickup window moves.
    let later = TimeWindow::new(t(1200), t(2700)).expect("window");
    assert_eq!(
        job.set_window(0, later),
        Ok(JobEvent::WindowChanged {
            stop: 0,
            window: later
        })
    );
    let courier = user(5);
    job.assign(courier, 300, t(100)).expect("assign");
    job.arrive(courier, 0, a(), RADIUS, t(1150))
        .expect("arrive");
    done(job.complete_stop(courier, 0, None, MAX, a(), RADIUS, t(1250)));
    assert_eq!(job.state, JobState::InProgress);
    // The customer cannot cancel food that is on its way.
    assert!(matches!(
        job.cancel_by_customer(user(1), None, t(1300)),
        Err(JobError::Transition {
            from: JobState::InProgress,
            ..
        })
    ));
    job.arrive(courier, 1, b(), RADIUS, t(1800))
        .expect("arrive");
    assert!(matches!(
        job.complete_stop(courier, 1, Some("000000"), MAX, b(), RADIUS, t(1810)),
        Ok(StopOutcome::WrongProof { .. })
    ));
    let events = done(job.complete_stop(courier, 1, Some("482913"), MAX, b(), RADIUS, t(1820)));
    assert_eq!(
        events.last(),
        Some(&JobEvent::Completed { worker: courier })
    );
    assert!(
        Job::delivery(
            NewDeliveryJob {
                deliver_by: t(100),
                ..match_delivery()
            },
            t(0)
        )
        .is_err()
    );
}

fn match_delivery() -> NewDeliveryJob {
    NewDeliveryJob {
        id: job_id(1),
        customer: user(1),
        merchant: merchant(),
        pickup: a(),
        dropoff: b(),
        ready_at: t(900),
        deliver_by: t(2700),
        pickup_service_s: 120,
        dropoff_service_s: 60,
        handover: None,
        bags: 1,
    }
}

#[test]
fn a_house_call_is_one_stop_in_the_booked_slot_and_completes_from_assigned() {
    let mut job = house_call_job();
    assert_eq!(job.stops.len(), 1);
    assert_eq!(job.stops[0].kind, StopKind::Service);
    assert_eq!(job.stops[0].window.earliest(), t(3600));
    assert_eq!(job.stops[0].service_s, 3600);
    assert_eq!(job.load, 0);
    let mut provider = Worker::new(
        user(6),
        Capabilities {
            vehicle: None,
            capacity: 0,
            skills: BTreeSet::from([plumbing()]),
        },
    );
    assert_eq!(
        provider.can_take(&job.requirements, job.load),
        Err(Ineligible::Offline)
    );
    provider.online = true;
    assert_eq!(provider.can_take(&job.requirements, job.load), Ok(()));
    let mut driver = Worker::driver(user(7));
    driver.online = true;
    assert!(matches!(
        driver.can_take(&job.requirements, job.load),
        Err(Ineligible::Skill(_))
    ));
    job.assign(provider.id, 900, t(2000)).expect("assign");
    job.arrive(provider.id, 0, a(), RADIUS, t(3650))
        .expect("arrive");
    let events = done(job.complete_stop(provider.id, 0, Some("7777"), MAX, a(), RADIUS, t(7300)));
    assert_eq!(events.len(), 2);
    assert_eq!(job.state, JobState::Completed);
}

#[test]
fn cancelling_ends_the_job_and_skips_its_stops() {
    let mut job = ride_job();
    assert_eq!(
        job.cancel_by_customer(user(9), None, t(1)),
        Err(JobError::NotYourJob)
    );
    job.assign(user(2), 60, t(1)).expect("assign");
    assert_eq!(
        job.cancel_by_customer(user(1), Some(usd(500)), t(200)),
        Ok(JobEvent::Cancelled {
            by: Canceller::Customer,
            worker: Some(user(2)),
            fee: Some(usd(500))
        })
    );
    assert!(job.stops.iter().all(|s| s.state == StopState::Skipped));
    assert!(job.cancel(Canceller::Operator, None, t(201)).is_err());
}

#[test]
fn dispatch_gives_up_only_on_open_jobs_and_workers_fail_only_with_their_reasons() {
    let mut job = ride_job();
    assert!(
        job.give_up(UnfulfilledReason::CustomerUnreachable, t(5))
            .is_err()
    );
    job.assign(user(2), 60, t(1)).expect("assign");
    assert!(
        job.give_up(UnfulfilledReason::NoWorkersNearby, t(5))
            .is_err()
    );
    assert_eq!(
        job.fail(user(2), UnfulfilledReason::NoWorkersNearby, t(5)),
        Err(JobError::WrongReason {
            reason: UnfulfilledReason::NoWorkersNearby
        })
    );
    assert_eq!(
        job.fail(user(2), UnfulfilledReason::CustomerUnreachable, t(500)),
        Ok(JobEvent::Unfulfilled {
            reason: UnfulfilledReason::CustomerUnreachable,
            worker: Some(user(2))
        })
    );
    assert_eq!(job.state, JobState::Unfulfilled);
    // A worker's failure is no ride state.
    let stops: Vec<StopState> = job.stops.iter().map(|s| s.state).collect();
    assert_eq!(
        ride_state_of_job(job.state, &stops, job.unfulfilled_reason),
        None
    );
}

#[test]
fn job_events_serialise_with_a_type_tag_and_read_back() {
    let mut job = delivery_job();
    let opened = match Job::delivery(match_delivery(), t(0)) {
        Ok((_, event)) => event,
        Err(e) => panic!("{e}"),
    };
    let mut events = vec![opened];
    events.push(job.offer(offer_id(1), user(2), t(15), 60).expect("offer"));
    events.push(job.assign(user(2), 60, t(3)).expect("assign"));
    events.push(job.cancel(Canceller::Merchant, None, t(4)).expect("cancel"));
    for event in events {
        let json = serde_json::to_string(&event).expect("serialise");
        assert!(
            json.contains(&format!("\"type\":\"{}\"", event.kind())),
            "{json}"
        );
        let back: JobEvent = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, event);
    }
}

#[test]
fn a_stored_window_that_ends_before_it_starts_is_refused() {
    let window = TimeWindow::new(t(1), t(2)).expect("window");
    let json = serde_json::to_string(&window).expect("serialise");
    assert_eq!(serde_json::from_str::<TimeWindow>(&json).ok(), Some(window));
    let backwards = json.replace(&t(2).millis().to_string(), "0");
    assert!(
        serde_json::from_str::<TimeWindow>(&backwards).is_err(),
        "{backwards}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Rides onto jobs.

fn new_ride() -> Ride {
    let quoted = price_trip(&PricingConfig::default(), 3000, 600, SurgeMillis::NONE).expect("fare");
    Ride::request(
        NewRide {
            id: RideId::from_uuid(Uuid::from_u128(99)),
            rider: user(1),
            quote_id: QuoteId::from_uuid(Uuid::from_u128(98)),
            pickup: a(),
            dropoff: b(),
            quoted,
            pin: code("1234"),
        },
        t(0),
    )
    .0
}

/// A ride brought to `state` through its own transitions.
fn ride_in(state: RideState) -> Ride {
    let mut ride = new_ride();
    let driver = user(2);
    let pin = Pin::parse("1234").expect("pin");
    let fare = price_trip(&PricingConfig::default(), 3500, 700, SurgeMillis::NONE).expect("fare");
    let path: &[RideState] = match state {
        RideState::Requested => &[],
        RideState::DriverAssigned => &[RideState::DriverAssigned],
        RideState::DriverArrived => &[RideState::DriverAssigned, RideState::DriverArrived],
        RideState::InProgress => &[
            RideState::DriverAssigned,
            RideState::DriverArrived,
            RideState::InProgress,
        ],
        RideState::Completed => &[
            RideState::DriverAssigned,
            RideState::DriverArrived,
            RideState::InProgress,
            RideState::Completed,
        ],
        RideState::Cancelled => &[RideState::DriverAssigned, RideState::Cancelled],
        RideState::NoDriverAvailable => &[RideState::NoDriverAvailable],
    };
    for step in path {
        let ok = match step {
            RideState::DriverAssigned => ride.assign(driver, 120, t(10)).is_ok(),
            RideState::DriverArrived => ride
                .arrive(
                    driver,
                    Some(ride.pickup()),
                    doorstep_domain::ride::StopRadii::default(),
                    t(100),
                )
                .is_ok(),
            RideState::InProgress => matches!(
                ride.start(driver, &pin, MAX, t(130)),
                Ok(StartOutcome::Started(_))
            ),
            RideState::Completed => {
                let _ = &fare;
                ride.complete(
                    driver,
                    &doorstep_domain::ride::TripEnd {
                        position: Some(ride.dropoff()),
                        driven_m: 3500,
                        street_m: 3500,
                        duration_s: 700,
                    },
                    &PricingConfig::default(),
                    doorstep_domain::ride::StopRadii::default(),
                    doorstep_domain::pricing::FareBand {
                        min_pct: 0,
                        max_pct: u32::MAX,
                    },
                    t(900),
                )
                .is_ok()
            }
            RideState::Cancelled => ride
                .cancel_by_rider(user(1), &PricingConfig::default(), t(300))
                .is_ok(),
            RideState::NoDriverAvailable => ride
                .no_driver_available(NoDriverReason::AllDriversDeclined, t(600))
                .is_ok(),
            RideState::Requested => true,
        };
        assert!(ok, "{step} on the way to {state}");
    }
    assert_eq!(ride.state(), state);
    ride
}

#[test]
fn every_ride_state_maps_to_a_job_and_stop_states_and_back() {
    for state in RideState::ALL {
        let ride = ride_in(state);
        let (job_state, stop_states) = job_state_of_ride(state);
        assert_eq!(
            ride_state_of_job(job_state, &stop_states, None),
            Some(state),
            "{state}"
        );
        let job = Job::from_ride(&ride, 600);
        assert_eq!(job.id, JobId::from(ride.id()), "{state}");
        assert_eq!(RideId::from(job.id), ride.id());
        assert_eq!(job.kind, JobKind::Ride);
        assert_eq!(job.state, job_state, "{state}");
        assert_eq!(job.state.has_worker(), state.has_driver(), "{state}");
        assert_eq!(job.state.is_terminal(), state.is_terminal(), "{state}");
        assert_eq!(job.worker, ride.driver(), "{state}");
        assert_eq!(job.version, ride.version());
        assert_eq!(
            job.stops[0].proof.as_ref().map(VerificationCode::as_str),
            Some(ride.pin().as_str())
        );
        let stops: Vec<StopState> = job.stops.iter().map(|s| s.state).collect();
        assert_eq!(stops, stop_states.to_vec(), "{state}");
        assert_eq!(
            ride_state_of_job(job.state, &stops, job.unfulfilled_reason),
            Some(state),
            "{state}"
        );
    }
}

#[test]
fn job_states_that_no_ride_can_be_in_map_to_no_ride_state_and_a_dropoff_arrival_is_still_in_progress()
 {
    use StopState::{Arrived, Done, Pending};
    assert_eq!(ride_state_of_job(JobState::Open, &[Pending], None), None);
    assert_eq!(
        ride_state_of_job(JobState::InProgress, &[Done, Arrived], None),
        Some(RideState::InProgress)
    );
    assert_eq!(
        ride_state_of_job(JobState::Assigned, &[Pending, Arrived], None),
        None
    );
    assert_eq!(
        ride_state_of_job(JobState::Assigned, &[Done, Pending], None),
        None
    );
}

#[test]
fn a_ride_fare_posting_is_the_fare_posting_of_its_job() {
    let ride = ride_in(RideState::Completed);
    let from_ride = ride_fare_posting(&ride, 2000, t(901)).expect("posting");
    let fare = ride.final_fare.as_ref().map(|f| f.total).expect("fare");
    let from_job = fare_posting(
        JobId::from(ride.id()),
        ride.rider(),
        user(2),
        fare,
        2000,
        t(901),
    )
    .expect("posting");
    assert_eq!(from_ride, from_job);
    assert_eq!(from_ride.key().as_str(), "ride_fare");
    assert_eq!(from_ride.ride_id(), ride.id());
}

#[test]
fn a_ride_jobs_opening_and_offer_stand_for_the_rides_request_and_offer() {
    let ride = new_ride();
    let (mut job, opened) = Job::ride(NewRideJob {
        id: ride.id(),
        customer: ride.rider(),
        pickup: ride.pickup(),
        dropoff: ride.dropoff(),
        requested_at: ride.requested_at(),
        pickup_limit_secs: 600,
        pin: ride.pin().clone(),
    });
    assert_eq!(
        ride_event_of(&opened, &ride),
        Some(RideEvent::Requested {
            fare: ride.quoted.total,
            pickup: Some(a()),
            dropoff: Some(b())
        })
    );
    let offered = job.offer(offer_id(1), user(2), t(15), 240).expect("offer");
    assert_eq!(
        ride_event_of(&offered, &ride),
        Some(RideEvent::Offered {
            offer_id: offer_id(1),
            driver: user(2),
            expires_at: t(15),
            pickup_eta_s: 240
        })
    );
    let declined = job.offer_declined(offer_id(1)).expect("decline");
    assert_eq!(ride_event_of(&declined, &ride), None);
}

/// A command thrown at a ride and, translated, at its job.
#[derive(Debug, Clone)]
enum RideCommand {
    Assign(u128),
    Arrive(u128),
    Start(u128, bool),
    Reissue,
    Complete(u128),
    RiderCancel,
    DriverCancel(u128),
    NoDriver,
}

/// Mostly driver 2, sometimes driver 3: commands from the assigned driver are the common case.
fn driver() -> impl Strategy<Value = u128> {
    prop_oneof![4 => Just(2u128), 1 => Just(3u128)]
}

/// Weighted toward the path that moves a ride forward, so that every state is reached often.
fn ride_command() -> impl Strategy<Value = RideCommand> {
    prop_oneof![
        3 => driver().prop_map(RideCommand::Assign),
        3 => driver().prop_map(RideCommand::Arrive),
        3 => (driver(), proptest::bool::weighted(0.7)).prop_map(|(d, ok)| RideCommand::Start(d, ok)),
        1 => Just(RideCommand::Reissue),
        3 => driver().prop_map(RideCommand::Complete),
        1 => Just(RideCommand::RiderCancel),
        1 => driver().prop_map(RideCommand::DriverCancel),
        1 => Just(RideCommand::NoDriver),
    ]
}

proptest! {
    /// The job model reproduces the ride state machine: the same commands, translated, are accepted and
    /// refused alike, the job's events stand for exactly the ride's events, and after each command the
    /// job's states map to the ride's state. (Dispatch never
    /// offers a ride to a driver it excluded; jobs refuse such an assignment outright, so the test does
    /// not send it.)
    #[test]
    fn a_ride_job_follows_the_ride_state_machine(commands in proptest::collection::vec(ride_command(), 0..30), seed in any::<u64>()) {
        let pricing = PricingConfig::default();
        let mut ride = new_ride();
        let mut job = Job::from_ride(&ride, 600);
        let mut ride_rng = StdRng::seed_from_u64(seed);
        let mut job_rng = StdRng::seed_from_u64(seed);
        let fare = price_trip(&pricing, 3500, 700, SurgeMillis::NONE).expect("fare");
        let mut clock = 0;
        for c in commands {
            clock += 37;
            let now = t(clock);
            // Each side's events, or the refusal.
            let (ride_events, job_events): (Result<Vec<RideEvent>, RideError>, Result<Vec<JobEvent>, JobError>) = match c {
                RideCommand::Assign(d) => {
                    if ride.excluded_drivers().contains(&user(d)) {
                        continue;
                    }
                    (ride.assign(user(d), 100, now).map(|e| vec![e]), job.assign(user(d), 100, now).map(|e| vec![e]))
                }
                RideCommand::Arrive(d) => (
                    ride.arrive(user(d), Some(a()), doorstep_domain::ride::StopRadii { pickup_m: RADIUS, dropoff_m: RADIUS }, now).map(|e| vec![e]),
                    job.arrive(user(d), 0, a(), RADIUS, now).map(|e| vec![e]),
                ),
                RideCommand::Start(d, right) => {
                    let guess = if right { ride.pin().as_str().to_owned() } else { format!("{:04}", (ride.pin().as_str().parse::<u32>().unwrap_or(0) + 1) % 10_000) };
                    let pin = Pin::parse(&guess).expect("pin");
                    (
                        ride.start(user(d), &pin, MAX, now).map(|o| match o {
                            StartOutcome::Started(e) => vec![e],
                            StartOutcome::WrongPin { events, .. } => events,
                        }),
                        job.complete_stop(user(d), 0, Some(&guess), MAX, a(), RADIUS, now).map(|o| o.events().to_vec()),
                    )
                }
                RideCommand::Reissue => (
                    ride.reissue_pin_by_rider(user(1), &mut ride_rng).map(|e| vec![e]),
                    job.reissue_proof(0, &mut job_rng).map(|e| vec![e]),
                ),
                RideCommand::Complete(d) => (
                    { let _ = &fare; ride.complete(user(d), &doorstep_domain::ride::TripEnd { position: Some(b()), driven_m: 3500, street_m: 3500, duration_s: 700 }, &pricing, doorstep_domain::ride::StopRadii { pickup_m: RADIUS, dropoff_m: RADIUS }, doorstep_domain::pricing::FareBand { min_pct: 0, max_pct: u32::MAX }, now).map(|e| vec![e]) },
                    job.complete_stop(user(d), 1, None, MAX, b(), RADIUS, now).map(|o| o.events().to_vec()),
                ),
                RideCommand::RiderCancel => {
                    let fee = ride.cancel_fee_at(&pricing, now);
                    (
                        ride.cancel_by_rider(user(1), &pricing, now).map(|e| vec![e]),
                        job.cancel_by_customer(user(1), fee, now).map(|e| vec![e]),
                    )
                }
                RideCommand::DriverCancel(d) => (
                    ride.cancel_by_driver(user(d), now).map(|e| vec![e]),
                    job.cancel_by_worker(user(d)).map(|e| vec![e]),
                ),
                RideCommand::NoDriver => (
                    ride.no_driver_available(NoDriverReason::AllDriversDeclined, now).map(|e| vec![e]),
                    job.give_up(UnfulfilledReason::AllWorkersDeclined, now).map(|e| vec![e]),
                ),
            };
            let (ride_ok, job_ok) = (ride_events.is_ok(), job_events.is_ok());
            if let (Ok(ride_events), Ok(job_events)) = (&ride_events, &job_events) {
                let mapped: Vec<RideEvent> = job_events.iter().filter_map(|e| ride_event_of(e, &ride)).collect();
                prop_assert_eq!(&mapped, ride_events);
            }
            prop_assert_eq!(ride_ok, job_ok, "{:?}", c);
            let stops: Vec<StopState> = job.stops.iter().map(|s| s.state).collect();
            prop_assert_eq!(ride_state_of_job(job.state, &stops, job.unfulfilled_reason), Some(ride.state()));
            prop_assert_eq!(job.worker, ride.driver());
            prop_assert_eq!(job.cancel_fee, ride.cancel_fee());
            prop_assert_eq!(job.stops[0].proof.as_ref(), Some(ride.pin()));
            prop_assert_eq!(&job.excluded_workers, &ride.excluded_drivers());
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Any job, any commands.

#[derive(Debug, Clone)]
enum JobCommand {
    Offer(u128, u128),
    Decline(u128),
    Expire(u128),
    Assign(u128),
    /// Arrive at a stop (`None`: the job's next stop), near its place or far from it.
    Arrive(u128, Option<usize>, bool),
    /// Complete a stop (`None`: the next), near or far, with the right code or a wrong one.
    Complete(u128, Option<usize>, bool, bool),
    Reissue(usize),
    Window(usize),
    CustomerCancel,
    OperatorCancel,
    WorkerCancel(u128),
    GiveUp,
    Fail(u128),
}

/// Weighted toward the path that moves a job forward, so that every state of every kind is reached.
fn job_command() -> impl Strategy<Value = JobCommand> {
    let stop = || proptest::option::weighted(0.2, 0usize..3);
    let likely = || proptest::bool::weighted(0.8);
    prop_oneof![
        1 => (0u128..3, driver()).prop_map(|(o, w)| JobCommand::Offer(o, w)),
        1 => (0u128..3).prop_map(JobCommand::Decline),
        1 => (0u128..3).prop_map(JobCommand::Expire),
        4 => driver().prop_map(JobCommand::Assign),
        6 => (driver(), stop(), likely()).prop_map(|(w, s, near)| JobCommand::Arrive(w, s, near)),
        6 => (driver(), stop(), likely(), likely()).prop_map(|(w, s, near, right)| JobCommand::Complete(w, s, near, right)),
        1 => (0usize..3).prop_map(JobCommand::Reissue),
        1 => (0usize..3).prop_map(JobCommand::Window),
        1 => Just(JobCommand::CustomerCancel),
        1 => Just(JobCommand::OperatorCancel),
        1 => driver().prop_map(JobCommand::WorkerCancel),
        1 => Just(JobCommand::GiveUp),
        1 => driver().prop_map(JobCommand::Fail),
    ]
}

/// The stop states a job's state allows.
fn stops_agree_with_state(job: &Job) -> bool {
    let states: Vec<StopState> = job.stops.iter().map(|s| s.state).collect();
    let done = states.iter().filter(|s| **s == StopState::Done).count();
    let arrived = states.iter().filter(|s| **s == StopState::Arrived).count();
    let skipped = states.iter().filter(|s| **s == StopState::Skipped).count();
    // Done stops are always a prefix: stops are served in order.
    let prefix = states.iter().take_while(|s| **s == StopState::Done).count() == done;
    prefix
        && match job.state {
            JobState::Open => states.iter().all(|s| *s == StopState::Pending),
            JobState::Assigned => done == 0 && skipped == 0 && arrived <= 1,
            JobState::InProgress => done > 0 && done < states.len() && skipped == 0 && arrived <= 1,
            JobState::Completed => done == states.len(),
            JobState::Cancelled | JobState::Unfulfilled => done + skipped == states.len(),
        }
}

proptest! {
    /// Whatever commands arrive, for every kind of job: a refused command changes nothing, an accepted
    /// one bumps the version by exactly one, a terminal job never changes again, a worker is attached in
    /// the states that have one and never to an open job, and the stops agree with the job's state.
    #[test]
    fn any_command_sequence_keeps_every_kind_of_job_consistent(
        kind in 0usize..3,
        commands in proptest::collection::vec(job_command(), 0..40),
        seed in any::<u64>(),
    ) {
        let mut job = match kind { 0 => ride_job(), 1 => delivery_job(), _ => house_call_job() };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut clock = 0;
        for c in commands {
            clock += 41;
            let now = t(clock);
            let before = job.clone();
            let far = six_hundred_metres_from_a();
            let place_of = |job: &Job, stop: usize, near: bool| if near { job.stops.get(stop).map_or(a(), |s| s.place) } else { far };
            let result: Result<Vec<JobEvent>, JobError> = match c {
                JobCommand::Offer(o, w) => job.offer(offer_id(o), user(w), now.plus_secs(15), 60).map(|e| vec![e]),
                JobCommand::Decline(o) => job.offer_declined(offer_id(o)).map(|e| vec![e]),
                JobCommand::Expire(o) => job.offer_expired(offer_id(o)).map(|e| vec![e]),
                JobCommand::Assign(w) => job.assign(user(w), 60, now).map(|e| vec![e]),
                JobCommand::Arrive(w, s, near) => {
                    let s = s.or(job.next_stop()).unwrap_or(0);
                    let p = place_of(&job, s, near);
                    job.arrive(user(w), s, p, RADIUS, now).map(|e| vec![e])
                }
                JobCommand::Complete(w, s, near, right) => {
                    let s = s.or(job.next_stop()).unwrap_or(0);
                    let p = place_of(&job, s, near);
                    let proof = job.stops.get(s).and_then(|st| st.proof.as_ref()).map(|code| {
                        let wrong = if code.as_str().starts_with('9') { "8" } else { "9" };
                        if right { code.as_str().to_owned() } else { wrong.repeat(code.as_str().len()) }
                    });
                    job.complete_stop(user(w), s, proof.as_deref(), MAX, p, RADIUS, now).map(|o| o.events().to_vec())
                }
                JobCommand::Reissue(s) => job.reissue_proof(s, &mut rng).map(|e| vec![e]),
                JobCommand::Window(s) => job.set_window(s, TimeWindow::new(now, now.plus_secs(600)).expect("window")).map(|e| vec![e]),
                JobCommand::CustomerCancel => job.cancel_by_customer(user(1), None, now).map(|e| vec![e]),
                JobCommand::OperatorCancel => job.cancel(Canceller::Operator, None, now).map(|e| vec![e]),
                JobCommand::WorkerCancel(w) => job.cancel_by_worker(user(w)).map(|e| vec![e]),
                JobCommand::GiveUp => job.give_up(UnfulfilledReason::NoWorkersNearby, now).map(|e| vec![e]),
                JobCommand::Fail(w) => job.fail(user(w), UnfulfilledReason::CustomerUnreachable, now).map(|e| vec![e]),
            };
            match result {
                Ok(events) => {
                    prop_assert!(!events.is_empty());
                    prop_assert_eq!(job.version, before.version + 1);
                    prop_assert!(!before.state.is_terminal());
                    for e in &events {
                        let json = serde_json::to_string(e).expect("serialise");
                        let back: JobEvent = serde_json::from_str(&json).expect("read back");
                        prop_assert_eq!(&back, e);
                    }
                }
                Err(_) => prop_assert_eq!(&job, &before),
            }
            if job.state.has_worker() {
                prop_assert!(job.worker.is_some());
            }
            if job.state == JobState::Open {
                prop_assert!(job.worker.is_none());
            }
            prop_assert!(stops_agree_with_state(&job), "{:?}", job);
            if let Some(w) = job.worker {
                prop_assert!(!job.excluded_workers.contains(&w));
            }
            prop_assert!(job.pending_offer.is_none() || job.state == JobState::Open);
            for s in &job.stops {
                if let Some(code) = &s.proof {
                    prop_assert!(code.failed_attempts() <= MAX);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Workers and routes.

fn route_stops_of(job: &Job) -> Vec<RouteStop> {
    job.route_stops()
}

/// A two-stop job with `load` (a ride or a delivery), or a one-stop house call when `load` is None.
fn job_with(n: u128, load: Option<u32>) -> Job {
    match load {
        Some(load) => {
            let (mut job, _) = Job::delivery(
                NewDeliveryJob {
                    id: job_id(100 + n),
                    bags: load,
                    ..match_delivery()
                },
                t(0),
            )
            .expect("job");
            job.load = load;
            job
        }
        None => {
            let mut job = house_call_job();
            job.id = job_id(100 + n);
            job
        }
    }
}

#[test]
fn a_driver_is_a_worker_with_a_car_for_one_ride_at_a_time() {
    let mut driver = Worker::driver(user(2));
    assert_eq!(driver.capabilities.vehicle, Some(VehicleKind::Car));
    assert_eq!(driver.capabilities.capacity, 1);
    let first = ride_job();
    let mut second = ride_job();
    second.id = job_id(7);
    driver
        .commit(&route_stops_of(&first), &[0, 1])
        .expect("first ride");
    // Two riders on board at once do not fit.
    assert!(matches!(
        driver.commit(&route_stops_of(&second), &[1, 2]),
        Err(RouteError::Load { .. })
    ));
    // The next ride after the first drop-off does.
    driver
        .commit(&route_stops_of(&second), &[2, 3])
        .expect("chained ride");
    assert_eq!(driver.route.jobs(), vec![first.id, second.id]);
    // The first pickup done: the first rider is on board.
    let revision = driver.route.revision();
    driver.stop_done(first.id, 0).expect("pickup done");
    assert_eq!(driver.route.revision(), revision + 1);
    assert_eq!(driver.route.load_on_board(), 1);
    assert!(matches!(
        driver.stop_done(second.id, 1),
        Err(RouteError::NotNext { .. })
    ));
    assert_eq!(driver.drop_job(second.id), 2);
    assert_eq!(driver.route.stops().len(), 1);
}

#[test]
fn a_drop_off_before_its_pickup_is_refused() {
    let job = delivery_job();
    let mut stops = route_stops_of(&job);
    stops.reverse();
    assert!(matches!(
        Route::from_stops(stops, 4, 0),
        Err(RouteError::OutOfOrder { .. })
    ));
    let only_pickup = vec![route_stops_of(&job)[0]];
    assert!(matches!(
        Route::from_stops(only_pickup, 4, 0),
        Err(RouteError::PickupWithoutDropoff { .. })
    ));
}

#[test]
fn a_stop_whose_load_change_does_not_fit_its_kind_is_refused() {
    let mut stops = route_stops_of(&delivery_job());
    stops[0].load_change = -2;
    stops[1].load_change = 2;
    assert!(matches!(
        Route::from_stops(stops, 4, 0),
        Err(RouteError::LoadChange { .. })
    ));
    let mut service = route_stops_of(&house_call_job());
    service[0].load_change = i64::MAX;
    assert!(Route::from_stops(service, 4, 0).is_err());
}

#[test]
fn positions_for_an_insertion_must_fit_the_new_route() {
    let mut route = Route::new();
    let stops = route_stops_of(&delivery_job());
    for bad in [&[0usize][..], &[1, 0], &[0, 0], &[0, 2]] {
        assert_eq!(
            route.insert(&stops, bad, 4),
            Err(RouteError::BadPositions),
            "{bad:?}"
        );
    }
    route.insert(&stops, &[0, 1], 4).expect("insert");
    assert!(matches!(
        route.insert(&stops, &[0, 1], 4),
        Err(RouteError::AlreadyOnRoute { .. })
    ));
}

#[test]
fn a_route_offer_is_applied_only_to_the_route_it_was_planned_from() {
    let mut courier = Worker::new(
        user(5),
        Capabilities {
            vehicle: Some(VehicleKind::Bicycle),
            capacity: 4,
            skills: BTreeSet::new(),
        },
    );
    let first = job_with(1, Some(2));
    let second = job_with(2, Some(2));
    let mut planned = Route::new();
    planned
        .insert(&route_stops_of(&first), &[0, 1], 4)
        .expect("plan");
    planned
        .insert(&route_stops_of(&second), &[1, 2], 4)
        .expect("plan");
    let mut offer = RouteOffer {
        id: offer_id(1),
        worker: courier.id,
        jobs: vec![first.id, second.id],
        route: planned.stops().to_vec(),
        based_on: courier.route.revision(),
        eta_s: 300,
        state: OfferState::Pending,
        created_at: t(0),
        expires_at: t(15),
    };
    assert_eq!(offer.accept(user(9), t(1)), Err(OfferError::NotYours));
    assert_eq!(offer.accept(courier.id, t(16)), Err(OfferError::Expired));
    assert_eq!(offer.accept(courier.id, t(5)), Ok(()));
    assert!(!offer.withdraw());
    assert!(offer.covers(second.id));
    // The route moved meanwhile (another job was dropped): the stale plan is refused.
    let mut moved = courier.clone();
    moved
        .commit(&route_stops_of(&job_with(3, None)), &[0])
        .expect("commit");
    assert_eq!(
        moved.route.replan(offer.route.clone(), offer.based_on, 4),
        Err(RouteError::Stale {
            expected: offer.based_on
        })
    );
    courier
        .route
        .replan(
            offer.route.clone(),
            offer.based_on,
            courier.capabilities.capacity,
        )
        .expect("applied");
    assert_eq!(courier.route.load_on_board(), 0);
    assert_eq!(courier.route.stops().len(), 4);
}

#[test]
fn a_worker_ignores_positions_older_than_the_last() {
    let mut w = Worker::driver(user(2));
    assert!(w.moved(a(), t(10)));
    assert!(!w.moved(b(), t(9)));
    assert_eq!(w.position.map(|p| p.at), Some(a()));
    assert!(w.moved(b(), t(11)));
}

#[test]
fn skills_are_lower_case_slugs() {
    assert!(Skill::parse("hair_cut2").is_ok());
    for bad in ["", "Plumbing", "hair cut", "x".repeat(33).as_str()] {
        assert!(Skill::parse(bad).is_err(), "{bad:?}");
    }
    let needs = Requirements {
        vehicles: BTreeSet::from([VehicleKind::Car]),
        skills: BTreeSet::new(),
    };
    assert_eq!(
        Capabilities {
            vehicle: Some(VehicleKind::Bicycle),
            capacity: 1,
            skills: BTreeSet::new()
        }
        .meets(&needs, 1),
        Err(Ineligible::Vehicle)
    );
}

/// What a test does to a route.
#[derive(Debug, Clone)]
enum RouteOp {
    /// Insert job `n` (load, or a house call) at positions drawn from the two seeds.
    Insert(u128, Option<u32>, usize, usize),
    /// Remove job `n`.
    Remove(u128),
    /// Mark the `n`th stop of the route done.
    Advance(usize),
}

fn route_op() -> impl Strategy<Value = RouteOp> {
    prop_oneof![
        4 => (0u128..6, proptest::option::weighted(0.8, 0u32..4), 0usize..20, 0usize..20)
            .prop_map(|(n, load, p, q)| RouteOp::Insert(n, load, p, q)),
        1 => (0u128..6).prop_map(RouteOp::Remove),
        2 => (0usize..10).prop_map(RouteOp::Advance),
    ]
}

/// The route invariants, written independently of the route's own check.
fn oracle(stops: &[RouteStop], capacity: u32) -> bool {
    let mut last: BTreeMap<JobId, usize> = BTreeMap::new();
    let mut seen_dropoff: BTreeSet<JobId> = BTreeSet::new();
    for s in stops {
        if last.get(&s.job).is_some_and(|&l| l >= s.stop_index) {
            return false;
        }
        last.insert(s.job, s.stop_index);
        if s.kind == StopKind::Pickup && seen_dropoff.contains(&s.job) {
            return false;
        }
        if s.kind == StopKind::Dropoff {
            seen_dropoff.insert(s.job);
        }
    }
    // Every pickup has a drop-off after it.
    for (i, s) in stops.iter().enumerate() {
        if s.kind == StopKind::Pickup
            && !stops[i + 1..]
                .iter()
                .any(|d| d.job == s.job && d.kind == StopKind::Dropoff)
        {
            return false;
        }
    }
    let mut load: i64 = stops
        .iter()
        .filter(|s| s.kind == StopKind::Dropoff)
        .filter(|d| {
            !stops
                .iter()
                .any(|p| p.job == d.job && p.kind == StopKind::Pickup)
        })
        .map(|d| -d.load_change)
        .sum();
    if load > i64::from(capacity) {
        return false;
    }
    for s in stops {
        load += s.load_change;
        if load < 0 || load > i64::from(capacity) {
            return false;
        }
    }
    true
}

proptest! {
    /// Whatever insertions, removals and completed stops come, a route always keeps its invariants (by
    /// an independent check), an insertion is refused exactly when its result would break them, a
    /// refused change leaves the route as it was, and every change bumps the revision.
    #[test]
    fn a_route_keeps_its_invariants_under_any_changes(ops in proptest::collection::vec(route_op(), 0..40), capacity in 1u32..5) {
        let mut route = Route::new();
        for op in ops {
            let before = route.clone();
            match op {
                RouteOp::Insert(n, load, p, q) => {
                    let job = job_with(n, load);
                    let stops = job.route_stops();
                    let new_len = route.stops().len() + stops.len();
                    let mut positions = vec![p % new_len];
                    if stops.len() == 2 {
                        let first = positions[0].min(new_len - 2);
                        positions = vec![first, first + 1 + q % (new_len - first - 1)];
                    }
                    let on_route = route.jobs().contains(&job.id);
                    // The result the insertion asks for, built independently.
                    let mut expected: Vec<RouteStop> = route.stops().to_vec();
                    for (s, &at) in stops.iter().zip(&positions) {
                        expected.insert(at, *s);
                    }
                    let result = route.insert(&stops, &positions, capacity);
                    prop_assert_eq!(result.is_ok(), !on_route && oracle(&expected, capacity), "{:?}", result);
                    if result.is_ok() {
                        prop_assert_eq!(route.stops(), expected.as_slice());
                    } else {
                        prop_assert_eq!(&route, &before);
                    }
                }
                RouteOp::Remove(n) => {
                    let job = job_id(100 + n);
                    let had = before.stops().iter().filter(|s| s.job == job).count();
                    prop_assert_eq!(route.remove_job(job), had);
                }
                RouteOp::Advance(i) => {
                    if let Some(s) = before.stops().get(i).copied() {
                        let is_next = before.stops().iter().find(|r| r.job == s.job).map(|r| r.stop_index) == Some(s.stop_index);
                        let mut rest = before.stops().to_vec();
                        rest.remove(i);
                        let result = route.advance(s.job, s.stop_index, capacity);
                        prop_assert_eq!(result.is_ok(), is_next && oracle(&rest, capacity));
                        if i == 0 {
                            // The route's first stop can always be done.
                            prop_assert!(result.is_ok());
                        }
                    }
                }
            }
            if route == before {
                prop_assert_eq!(route.revision(), before.revision());
            } else {
                prop_assert_eq!(route.revision(), before.revision() + 1);
            }
            prop_assert!(oracle(route.stops(), capacity), "{:?}", route);
            prop_assert!(route.check(capacity).is_ok());
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The ledger.

#[test]
fn account_keys_of_every_account_round_trip() {
    for acc in [
        Account::customer(user(1)),
        Account::worker_earnings(user(2)),
        Account::PlatformCommission,
        Account::PlatformFees,
        Account::MerchantPayable(merchant()),
        Account::Tips(user(2)),
        Account::Refunds,
        Account::CashCollected(user(2)),
    ] {
        assert_eq!(Account::parse_key(&acc.key()), Some(acc), "{acc}");
    }
    assert_eq!(
        Account::customer(user(1)).key(),
        format!("rider:{}", user(1))
    );
    for kind in PostingKind::ALL {
        assert_eq!(PostingKind::parse(kind.as_str()), Some(kind));
    }
}

#[test]
fn posting_keys_are_short_slugs() {
    assert_eq!(PostingKey::nth(PostingKind::Tip, 2).as_str(), "tip:2");
    assert!(PostingKey::parse("refund:0190a1b2-aaaa-7bbb-8ccc-0123456789ab").is_ok());
    for bad in ["", "Tip", "tip 2", &"x".repeat(65)] {
        assert!(PostingKey::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_delivery_order_pays_merchant_courier_and_platform_exactly_what_the_customer_pays() {
    let charge = DeliveryCharge {
        food: usd(2599),
        delivery_fee: usd(399),
        service_fee: usd(150),
        small_order_fee: usd(0),
        busy_fee: usd(100),
        discount: usd(500),
        merchant_commission_bps: 1500,
        courier_pay: usd(612),
    };
    let p = delivery_order_posting(job_id(1), user(1), merchant(), user(5), &charge, t(0))
        .expect("posting");
    let mut tb = TrialBalance::new();
    tb.post(&p);
    // 25.99 + 3.99 + 1.50 + 1.00 - 5.00
    assert_eq!(tb.balance(Account::customer(user(1)), Currency::USD), -2748);
    // 15 % of 25.99 is 3.8985, rounded to 3.90.
    assert_eq!(tb.balance(Account::PlatformCommission, Currency::USD), 390);
    assert_eq!(
        tb.balance(Account::MerchantPayable(merchant()), Currency::USD),
        2209
    );
    assert_eq!(
        tb.balance(Account::worker_earnings(user(5)), Currency::USD),
        612
    );
    assert_eq!(tb.balance(Account::WorkerPay, Currency::USD), -612);
    assert_eq!(tb.balance(Account::Promotions, Currency::USD), -500);
    assert_eq!(
        tb.balance(Account::PlatformFees, Currency::USD),
        399 + 150 + 100
    );
    assert!(tb.is_balanced());
    // A discount larger than what the order costs is refused.
    let too_much = DeliveryCharge {
        discount: usd(10_000),
        ..charge
    };
    assert!(
        delivery_order_posting(job_id(1), user(1), merchant(), user(5), &too_much, t(0)).is_err()
    );
}

#[test]
fn refunds_are_limited_to_what_the_customer_paid_for_the_job() {
    let fare = fare_posting(job_id(1), user(1), user(2), usd(1000), 2000, t(0)).expect("fare");
    let tip = tip_posting(
        job_id(1),
        user(1),
        user(2),
        usd(200),
        PostingKey::nth(PostingKind::Tip, 1),
        t(1),
    )
    .expect("tip");
    let mut postings = vec![fare, tip];
    let key = |n| PostingKey::nth(PostingKind::Refund, n);
    let first = refund_posting(job_id(1), &postings, usd(700), key(1), t(2)).expect("refund");
    postings.push(first);
    assert_eq!(
        refund_posting(job_id(1), &postings, usd(501), key(2), t(3)),
        Err(LedgerError::RefundTooLarge { refundable: 500 })
    );
    assert!(refund_posting(job_id(1), &postings, usd(500), key(2), t(3)).is_ok());
    assert_eq!(
        refund_posting(job_id(2), &postings, usd(1), key(1), t(3)),
        Err(LedgerError::NoCustomer)
    );
    assert_eq!(
        refund_posting(job_id(1), &postings, usd(0), key(3), t(3)).map_err(|e| e.code()),
        Err("amount_not_positive")
    );
}

#[test]
fn commission_rates_outside_zero_to_one_hundred_percent_are_refused() {
    for bps in [-1, 10_001] {
        assert_eq!(
            fare_posting(job_id(1), user(1), user(2), usd(1000), bps, t(0)),
            Err(LedgerError::RateOutOfRange(bps))
        );
    }
}

/// Every kind of posting, with its amounts.
#[derive(Debug, Clone)]
enum PostingCase {
    Fare(i64, i64),
    CancellationFee(i64, i64, bool),
    /// Food, delivery fee, service fee, small-order fee, busy fee, discount, commission, courier pay.
    Delivery(i64, i64, i64, i64, i64, i64, i64, i64),
    /// An order's late cancellation fee and the commission on it.
    OrderCancellation(i64, i64),
    HouseCall(i64, i64, i64),
    Tip(i64),
    Refund(i64),
    /// A refund of an order, full or partial, borne by the merchant (`true`) or the platform.
    OrderRefund(i64, bool),
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..10, 0i64..100_000, 0i64..1_000_000_000_000]
}

fn rate() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), Just(10_000i64), 0i64..=10_000]
}

fn posting_case() -> impl Strategy<Value = PostingCase> {
    prop_oneof![
        (amount(), rate()).prop_map(|(a, r)| PostingCase::Fare(a, r)),
        (amount(), rate(), any::<bool>())
            .prop_map(|(a, r, w)| PostingCase::CancellationFee(a, r, w)),
        (
            amount(),
            amount(),
            amount(),
            amount(),
            amount(),
            amount(),
            rate(),
            amount()
        )
            .prop_map(|(f, d, s, small, busy, off, r, pay)| PostingCase::Delivery(
                f, d, s, small, busy, off, r, pay
            )),
        (amount(), rate()).prop_map(|(a, r)| PostingCase::OrderCancellation(a, r)),
        (amount(), amount(), rate()).prop_map(|(p, b, r)| PostingCase::HouseCall(p, b, r)),
        amount().prop_map(PostingCase::Tip),
        amount().prop_map(PostingCase::Refund),
        (amount(), any::<bool>()).prop_map(|(a, m)| PostingCase::OrderRefund(a, m)),
    ]
}

/// What the customer pays in a case (before any refund), for the split check.
fn customer_total(case: &PostingCase) -> i64 {
    match *case {
        PostingCase::Fare(a, _)
        | PostingCase::CancellationFee(a, _, _)
        | PostingCase::OrderCancellation(a, _)
        | PostingCase::Tip(a) => a,
        PostingCase::Delivery(f, d, s, small, busy, off, _, _) => f + d + s + small + busy - off,
        PostingCase::HouseCall(p, b, _) => p + b,
        PostingCase::Refund(a) | PostingCase::OrderRefund(a, _) => -a,
    }
}

proptest! {
    /// For every kind of posting and any amounts and rates: each posting balances in integer minor
    /// units, the customer's line is exactly what they pay (the shares sum to it: no rounding leak),
    /// no one but the customer and the refunds account is ever debited, and the trial balance over the
    /// whole sequence is zero.
    #[test]
    fn every_posting_of_every_kind_balances_and_so_do_the_books(cases in proptest::collection::vec(posting_case(), 1..30)) {
        let mut tb = TrialBalance::new();
        let mut postings: Vec<Posting> = Vec::new();
        let job = job_id(1);
        let customer = user(1);
        for (n, case) in cases.iter().enumerate() {
            let key = |kind| PostingKey::nth(kind, u32::try_from(n).unwrap_or(u32::MAX));
            let result = match *case {
                PostingCase::Fare(a, r) => fare_posting(job, customer, user(2), usd(a), r, t(0)),
                PostingCase::CancellationFee(a, r, w) => job_cancellation_fee_posting(job, customer, w.then_some(user(2)), usd(a), r, t(0)),
                PostingCase::Delivery(f, d, s, small, busy, off, r, pay) => delivery_order_posting(job, customer, merchant(), user(5), &DeliveryCharge {
                    food: usd(f), delivery_fee: usd(d), service_fee: usd(s), small_order_fee: usd(small), busy_fee: usd(busy),
                    discount: usd(off), merchant_commission_bps: r, courier_pay: usd(pay),
                }, t(0)),
                PostingCase::OrderCancellation(a, r) => order_cancellation_fee_posting(job, customer, merchant(), usd(a), r, t(0)),
                PostingCase::HouseCall(p, b, r) => house_call_posting(job, customer, user(6), &HouseCallCharge { price: usd(p), booking_fee: usd(b), commission_bps: r }, t(0)),
                PostingCase::Tip(a) => tip_posting(job, customer, user(2), usd(a), key(PostingKind::Tip), t(0)),
                PostingCase::Refund(a) => refund_posting(job, &postings, usd(a), key(PostingKind::Refund), t(0)),
                PostingCase::OrderRefund(a, by_merchant) => {
                    let bearer = if by_merchant { RefundBearer::Merchant(merchant()) } else { RefundBearer::Platform };
                    order_refund_posting(job, &postings, usd(a), bearer, key(PostingKind::Refund), t(0))
                }
            };
            let posting = match result {
                Ok(p) => p,
                Err(LedgerError::NotPositive(_) | LedgerError::RefundTooLarge { .. } | LedgerError::NoCustomer | LedgerError::MerchantRefundTooLarge { .. }) => continue,
                Err(e) => return Err(TestCaseError::fail(format!("{case:?}: {e}"))),
            };
            let sum: i128 = posting.entries().iter().map(|e| i128::from(e.amount.minor)).sum();
            prop_assert_eq!(sum, 0);
            let customer_line: i64 = posting.entries().iter().filter(|e| e.account == Account::customer(customer)).map(|e| e.amount.minor).sum();
            prop_assert_eq!(customer_line, -customer_total(case), "{:?}", case);
            for e in posting.entries() {
                match (e.account, case) {
                    (Account::Rider(_) | Account::Refunds | Account::Promotions | Account::WorkerPay, _)
                    | (Account::MerchantPayable(_), PostingCase::OrderRefund(_, true)) => {}
                    _ => prop_assert!(e.amount.minor >= 0, "{:?} debits {:?}", case, e.account),
                }
            }
            prop_assert_eq!(posting.job_id(), job);
            tb.post(&posting);
            postings.push(posting);
            // A merchant bears a refund only out of what it was credited: its account never goes negative.
            prop_assert!(tb.balance(Account::MerchantPayable(merchant()), Currency::USD) >= 0);
        }
        prop_assert!(tb.is_balanced());
        prop_assert_eq!(tb.total(Currency::USD), 0);
        // Refunds never exceed charges: the customer's account never ends in credit.
        prop_assert!(tb.balance(Account::customer(customer), Currency::USD) <= 0);
    }
}

#[test]
fn an_order_refund_is_borne_by_the_platform_or_by_the_merchant_up_to_what_it_was_owed() {
    let job = job_id(1);
    let charge = DeliveryCharge {
        food: usd(2900),
        delivery_fee: usd(300),
        service_fee: usd(290),
        small_order_fee: usd(0),
        busy_fee: usd(0),
        discount: usd(0),
        merchant_commission_bps: 1500,
        courier_pay: usd(450),
    };
    let order =
        delivery_order_posting(job, user(1), merchant(), user(5), &charge, t(0)).expect("an order");
    let owed = 2900 - 435;
    let mut postings = vec![order];
    // A missing item: the merchant bears part of it.
    let partial = order_refund_posting(
        job,
        &postings,
        usd(1450),
        RefundBearer::Merchant(merchant()),
        PostingKey::nth(PostingKind::Refund, 1),
        t(1),
    )
    .expect("a partial refund");
    assert!(
        partial
            .entries()
            .contains(&doorstep_domain::ledger::LedgerEntry {
                account: Account::MerchantPayable(merchant()),
                amount: usd(-1450),
            })
    );
    postings.push(partial);
    // The merchant cannot bear more than it is still owed for the order.
    assert_eq!(
        order_refund_posting(
            job,
            &postings,
            usd(owed - 1450 + 1),
            RefundBearer::Merchant(merchant()),
            PostingKey::nth(PostingKind::Refund, 2),
            t(2),
        ),
        Err(LedgerError::MerchantRefundTooLarge {
            bearable: owed - 1450
        })
    );
    // The rest of what the customer paid, the platform refunds in full; nothing is left after it.
    let rest = 2900 + 300 + 290 - 1450;
    let full = order_refund_posting(
        job,
        &postings,
        usd(rest),
        RefundBearer::Platform,
        PostingKey::nth(PostingKind::Refund, 2),
        t(2),
    )
    .expect("the rest");
    postings.push(full);
    assert_eq!(
        order_refund_posting(
            job,
            &postings,
            usd(1),
            RefundBearer::Platform,
            PostingKey::nth(PostingKind::Refund, 3),
            t(3),
        ),
        Err(LedgerError::RefundTooLarge { refundable: 0 })
    );
    let mut books = TrialBalance::new();
    for p in &postings {
        books.post(p);
    }
    assert!(books.is_balanced());
    assert_eq!(books.balance(Account::customer(user(1)), Currency::USD), 0);
    assert_eq!(
        books.balance(Account::MerchantPayable(merchant()), Currency::USD),
        owed - 1450
    );
    assert_eq!(books.balance(Account::Refunds, Currency::USD), -rest);
}
