//! The ride PIN cannot be guessed: wrong PINs are counted and lock the PIN at the configured limit (also
//! against the right PIN, across a restart, and under concurrent guesses), the rider sees the attempts,
//! and only the rider (or an operator) issues a new PIN, which lets the driver start.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::EventStream;
use crate::places::{BRYANT_PARK, TIMES_SQUARE, UNION_SQUARE};
use crate::ride_steps::types;
use crate::server::{Account, TestServer, WEDNESDAY_2PM, field, test_config};
use doorstep_api::rate_limit::RateLimits;
use doorstep_app::{AppConfig, Clock};
use serde_json::{Value, json};

/// The limit of wrong PINs these tests configure (not the default, so that the setting is seen to work).
const MAX: u8 = 3;

fn config_with_limit(max: u8) -> AppConfig {
    AppConfig {
        pin_max_attempts: max,
        ..test_config()
    }
}

/// A rider, the driver at the pickup of the rider's ride, the ride's id and its PIN.
struct AtPickup {
    rider: Account,
    driver: Account,
    ride_id: String,
    pin: String,
}

/// Requests a ride that a new driver accepts and reaches the pickup of.
async fn at_the_pickup(server: &TestServer) -> TestResult<AtPickup> {
    let rider = server.signup("rider").await?;
    let driver = server.driver_at(BRYANT_PARK).await?;
    let assigned = server
        .assigned_ride(&rider, &driver, TIMES_SQUARE, UNION_SQUARE)
        .await?;
    let ride_id = field(&assigned, "ride_id")?;
    server.drive_to(&driver, TIMES_SQUARE).await?;
    let arrived = server
        .post_empty(&format!("/v1/rides/{ride_id}/arrive"), &driver.token)
        .await?
        .expect(200);
    assert_eq!(arrived["state"], "driver_arrived");
    Ok(AtPickup {
        rider,
        driver,
        ride_id,
        pin: field(&assigned, "pin")?,
    })
}

/// `n` distinct four-digit PINs that are not `pin`.
fn wrong_pins(pin: &str, n: u32) -> TestResult<Vec<String>> {
    let right: u32 = pin.parse()?;
    Ok((1..=n)
        .map(|k| format!("{:04}", (right + k) % 10_000))
        .collect())
}

impl TestServer {
    /// The driver tries to start `ride_id` with `pin`.
    async fn try_start(
        &self,
        driver: &Account,
        ride_id: &str,
        pin: &str,
    ) -> TestResult<crate::server::Reply> {
        self.post(
            &format!("/v1/rides/{ride_id}/start"),
            &driver.token,
            json!({ "pin": pin }),
        )
        .await
    }
}

/// The events of `types` in a timeline.
fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

pub async fn a_driver_guessing_pins_is_locked_out_after_the_configured_tries_even_with_the_right_pin(
    db: TestDb,
) -> TestResult {
    let server =
        TestServer::start_with(&db, config_with_limit(MAX), Clock::manual(WEDNESDAY_2PM)).await?;
    let AtPickup {
        rider,
        driver,
        ride_id,
        pin,
    } = at_the_pickup(&server).await?;
    let fresh = server.ride(&rider, &ride_id).await?;
    assert_eq!(
        (&fresh["pin_locked"], &fresh["pin_attempts_left"]),
        (&json!(false), &json!(MAX)),
        "{fresh}"
    );

    // Malformed PINs are refused at the edge and cost no try.
    for bad in ["", "123", "12345", "12a4", " 123", "١٢٣٤"] {
        server
            .try_start(&driver, &ride_id, bad)
            .await?
            .expect_error(422, "invalid_pin");
    }
    server
        .post(
            &format!("/v1/rides/{ride_id}/start"),
            &driver.token,
            json!({ "pin": 1234 }),
        )
        .await?
        .expect_error(422, "invalid_body");
    assert_eq!(
        server.ride(&rider, &ride_id).await?["pin_attempts_left"],
        MAX
    );

    // Each wrong PIN is answered 422 with the tries left, and the last one locks.
    for (i, guess) in wrong_pins(&pin, u32::from(MAX))?.iter().enumerate() {
        let reply = server.try_start(&driver, &ride_id, guess).await?;
        reply.expect_error(422, "wrong_pin");
        let left = MAX - 1 - u8::try_from(i)?;
        let message = reply.body["message"].as_str().unwrap_or_default();
        if left == 0 {
            assert!(message.contains("locked"), "{message}");
        } else {
            assert!(message.contains(&format!("{left} tr")), "{message}");
        }
        let seen = server.ride(&driver, &ride_id).await?;
        assert_eq!(seen["pin_attempts_left"], left, "{seen}");
    }

    // Locked: every guess, the right PIN included, is refused without being tried.
    for guess in wrong_pins(&pin, 5)?.iter().chain([&pin]) {
        server
            .try_start(&driver, &ride_id, guess)
            .await?
            .expect_error(409, "pin_locked");
    }
    let locked = server.ride(&rider, &ride_id).await?;
    assert_eq!(locked["state"], "driver_arrived");
    assert_eq!(locked["pin_locked"], true);
    assert_eq!(locked["pin_attempts_left"], 0);
    assert_eq!(locked["pin_failed_attempts"], MAX);
    assert!(locked["started_at"].is_null());

    // The count is in the record: a restart does not unlock the PIN.
    let clock = server.clock.clone();
    server.stop().await?;
    let server = TestServer::start_with(&db, config_with_limit(MAX), clock).await?;
    server
        .try_start(&driver, &ride_id, &pin)
        .await?
        .expect_error(409, "pin_locked");
    let after_restart = server.ride(&rider, &ride_id).await?;
    assert_eq!(after_restart["state"], "driver_arrived");
    assert_eq!(after_restart["pin_locked"], true);

    // The rider and the driver see each counted try, then the lock, in the timeline.
    for who in [&rider, &driver] {
        let timeline = server.timeline(who, &ride_id).await?;
        let failed = of_type(&timeline, "pin_attempt_failed");
        let left: Vec<_> = failed.iter().map(|e| e["attempts_left"].clone()).collect();
        assert_eq!(left, [json!(2), json!(1), json!(0)], "{timeline:?}");
        assert_eq!(of_type(&timeline, "pin_locked").len(), 1);
        assert_eq!(
            types(&timeline).last().map(String::as_str),
            Some("pin_locked")
        );
        assert!(of_type(&timeline, "started").is_empty());
    }
    server.stop().await
}

pub async fn the_rider_sees_wrong_pins_and_the_lock_live_and_a_new_pin_lets_the_driver_start(
    db: TestDb,
) -> TestResult {
    let server = TestServer::start(&db).await?;
    let max = AppConfig::default().pin_max_attempts;
    assert_eq!(max, 5, "the default limit");
    let AtPickup {
        rider,
        driver,
        ride_id,
        pin,
    } = at_the_pickup(&server).await?;
    let mut rider_stream = EventStream::open(&server, &rider.token, None).await?;
    // Both streams start now: the next events are the ones the wrong tries cause.
    let mut driver_stream = EventStream::open(&server, &driver.token, None).await?;

    for guess in wrong_pins(&pin, u32::from(max))? {
        server
            .try_start(&driver, &ride_id, &guess)
            .await?
            .expect_error(422, "wrong_pin");
    }
    let live = rider_stream.events_until("pin_locked").await?;
    assert_eq!(
        types(&live),
        [
            "pin_attempt_failed",
            "pin_attempt_failed",
            "pin_attempt_failed",
            "pin_attempt_failed",
            "pin_attempt_failed",
            "pin_locked"
        ]
    );
    assert_eq!(live[0]["attempts_left"], 4);
    assert_eq!(live[4]["attempts_left"], 0);
    assert!(live.iter().all(|e| e["ride_id"] == ride_id.as_str()));
    server
        .try_start(&driver, &ride_id, &pin)
        .await?
        .expect_error(409, "pin_locked");

    // The rider issues a new PIN: the answer carries it, the event does not.
    let renewed = server
        .post_empty(&format!("/v1/rides/{ride_id}/pin"), &rider.token)
        .await?
        .expect(200);
    let new_pin = field(&renewed, "pin")?;
    assert!(
        new_pin.len() == 4 && new_pin.bytes().all(|b| b.is_ascii_digit()),
        "{renewed}"
    );
    assert_eq!(renewed["pin_locked"], false);
    assert_eq!(renewed["pin_attempts_left"], max);
    assert_eq!(renewed["state"], "driver_arrived");
    let reissued = rider_stream.events_until("pin_reissued").await?;
    let heard_by_driver = driver_stream.events_until("pin_reissued").await?;
    for event in [reissued.last(), heard_by_driver.last()]
        .into_iter()
        .flatten()
    {
        assert!(event.get("pin").is_none(), "{event}");
        assert!(
            !event.to_string().contains(&format!("\"{new_pin}\"")),
            "{event}"
        );
    }
    let drivers_view = server.ride(&driver, &ride_id).await?;
    assert!(drivers_view.get("pin").is_none(), "{drivers_view}");
    assert_eq!(drivers_view["pin_locked"], false);

    // The old PIN is now just a wrong one (unless the draw repeated it); the new one starts the trip.
    if new_pin != pin {
        let reply = server.try_start(&driver, &ride_id, &pin).await?;
        reply.expect_error(422, "wrong_pin");
    }
    let started = server
        .try_start(&driver, &ride_id, &new_pin)
        .await?
        .expect(200);
    assert_eq!(started["state"], "in_progress");
    assert_eq!(
        rider_stream
            .events_until("started")
            .await?
            .last()
            .map(|e| e["type"].clone()),
        Some(json!("started"))
    );
    // Once the trip started there is no PIN to replace.
    server
        .post_empty(&format!("/v1/rides/{ride_id}/pin"), &rider.token)
        .await?
        .expect_error(409, "invalid_ride_state");
    rider_stream.close().await?;
    driver_stream.close().await?;
    server.stop().await
}

pub async fn only_the_rider_or_an_admin_can_issue_a_new_pin(db: TestDb) -> TestResult {
    let server = TestServer::start(&db).await?;
    let AtPickup {
        rider,
        driver,
        ride_id,
        pin,
    } = at_the_pickup(&server).await?;
    let path = format!("/v1/rides/{ride_id}/pin");
    let another_rider = server.signup("rider").await?;
    let another_driver = server.signup("driver").await?;
    server
        .post_empty(&path, &another_rider.token)
        .await?
        .expect_error(404, "ride_not_found");
    // Drivers may not issue PINs at all, their own ride's or another's.
    for a_driver in [&another_driver, &driver] {
        server
            .post_empty(&path, &a_driver.token)
            .await?
            .expect_error(403, "forbidden");
    }
    server
        .post_empty(
            "/v1/rides/00000000-0000-0000-0000-000000000000/pin",
            &rider.token,
        )
        .await?
        .expect_error(404, "ride_not_found");
    // Nothing changed for the refused callers.
    let unchanged = server.ride(&rider, &ride_id).await?;
    assert_eq!(field(&unchanged, "pin")?, pin);
    assert!(!types(&server.timeline(&rider, &ride_id).await?).contains(&"pin_reissued".to_owned()));

    // An operator may; the admin's answer shows no PIN, the rider's view has the new one.
    let admin = server.admin().await?;
    let by_admin = server.post_empty(&path, &admin.token).await?.expect(200);
    assert!(by_admin.get("pin").is_none(), "{by_admin}");
    let renewed = server.ride(&rider, &ride_id).await?;
    assert_eq!(
        of_type(&server.timeline(&rider, &ride_id).await?, "pin_reissued").len(),
        1
    );
    server
        .try_start(&driver, &ride_id, &field(&renewed, "pin")?)
        .await?
        .expect(200);
    server.stop().await
}

pub async fn concurrent_guesses_never_get_more_wrong_answers_than_the_limit_nor_start_after_the_lock(
    db: TestDb,
) -> TestResult {
    // Generous rate limits, so that every guess reaches the PIN check rather than the limiter.
    let limits = RateLimits {
        per_token_per_sec: 1000,
        per_token_burst: 1000,
        ..RateLimits::default()
    };
    let max = AppConfig::default().pin_max_attempts;
    let server = TestServer::start_configured(&db, config_with_limit(max), limits).await?;
    for round in 0..3 {
        let AtPickup {
            rider,
            driver,
            ride_id,
            pin,
        } = at_the_pickup(&server).await?;
        // 30 guesses at once, the right one among them (early, in the middle, late).
        let mut guesses = wrong_pins(&pin, 29)?;
        guesses.insert([2, 15, 28][round], pin.clone());
        let mut tasks = tokio::task::JoinSet::new();
        for guess in guesses {
            let request = server
                .http
                .post(server.url(&format!("/v1/rides/{ride_id}/start")))
                .bearer_auth(&driver.token)
                .json(&json!({ "pin": guess }));
            tasks.spawn(async move {
                let reply = TestServer::reply(request.send().await?).await?;
                TestResult::Ok((guess, reply))
            });
        }
        let mut wrong = 0;
        let mut right_answer = None;
        while let Some(joined) = tasks.join_next().await {
            let (guess, reply) = joined??;
            let code = reply.body["code"].as_str().map(str::to_owned);
            match (reply.status, code.as_deref()) {
                (200, None) => {
                    assert_eq!(guess, pin, "only the right PIN starts the ride");
                    assert_eq!(reply.body["state"], "in_progress");
                }
                (422, Some("wrong_pin")) => {
                    assert_ne!(guess, pin);
                    wrong += 1;
                }
                // Locked, started by the right guess meanwhile, or too many lost races: none of these
                // says anything about the PIN tried.
                (409, Some("pin_locked" | "invalid_ride_state" | "concurrent_update")) => {}
                other => panic!(
                    "unexpected answer to a concurrent guess: {other:?} {}",
                    reply.body
                ),
            }
            if guess == pin {
                right_answer = Some((reply.status, code));
            }
        }
        assert!(
            wrong <= usize::from(max),
            "{wrong} wrong PINs were answered"
        );

        let ride = server.ride(&rider, &ride_id).await?;
        let timeline = server.timeline(&rider, &ride_id).await?;
        let kinds = types(&timeline);
        // Every answered wrong PIN was counted, and nothing else was.
        assert_eq!(of_type(&timeline, "pin_attempt_failed").len(), wrong);
        assert_eq!(ride["pin_failed_attempts"], wrong);
        let started = right_answer
            .as_ref()
            .is_some_and(|(status, _)| *status == 200);
        if started {
            // The right PIN won before the lock: fewer than `max` wrong PINs were counted before it.
            assert_eq!(ride["state"], "in_progress");
            let at = kinds.iter().position(|k| k == "started");
            let failed_before = kinds[..at.unwrap_or(0)]
                .iter()
                .filter(|k| *k == "pin_attempt_failed")
                .count();
            assert!(failed_before < usize::from(max), "{kinds:?}");
            assert!(!kinds[..at.unwrap_or(0)].contains(&"pin_locked".to_owned()));
        } else {
            assert_eq!(ride["state"], "driver_arrived", "{right_answer:?}");
            assert!(ride["started_at"].is_null());
            assert!(!kinds.contains(&"started".to_owned()));
            if ride["pin_locked"] == true {
                assert_eq!(wrong, usize::from(max));
                // Locked now: the right PIN cannot start the ride any more.
                server
                    .try_start(&driver, &ride_id, &pin)
                    .await?
                    .expect_error(409, "pin_locked");
            }
        }
    }
    server.stop().await
}
