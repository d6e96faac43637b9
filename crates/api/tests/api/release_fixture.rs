//! The generator of a release fixture: a database holding every ride state the API can reach, frozen as
//! portable SQL, and what the API answered about it, for `release_data` to check after migrating forward.
//!
//! Run it at the commit of the release, on SQLite (docs/migrations.md):
//!
//! ```text
//! DOORSTEP_FIXTURE_RELEASE=9931377 cargo test -p doorstep-api --test api -- --ignored generate_release_fixture
//! ```
//!
//! It drives a real server through the public API with a manual clock, exactly as the phone apps would,
//! and writes `crates/api/tests/fixtures/release-<release>/`:
//! - `data.sql`: every row of every table (the migrations' own bookkeeping aside) as one `INSERT` with an
//!   explicit column list per line, tables in foreign-key order. The same text loads into SQLite and
//!   PostgreSQL databases migrated to the release's last migration (`release_data::load` adds what
//!   PostgreSQL needs for identity columns).
//! - `rides.json`: the clock, the accounts (with the password they log in with and the tokens they held),
//!   and everything the API answered: each ride as its rider, every driver it was offered to, an admin
//!   and two strangers, with its timeline; each user's ride list, pending offers, earnings and event
//!   stream; each ride's ledger postings; the trial balance and the balance of every account.
//!
//! The ids, PINs and password hashes are random, so two runs give different files: a fixture is generated
//! once per release and then never regenerated.

use crate::backend::{TestDb, TestResult};
use crate::event_stream::EventStream;
use crate::places::{
    BRYANT_PARK, COLUMBUS_CIRCLE, FIFTH_AVE_34TH, FIFTH_AVE_59TH, GRAND_CENTRAL, MET_MUSEUM, Place,
    TIMES_SQUARE, UNION_SQUARE, WASHINGTON_SQUARE,
};
use crate::server::{
    Account, Reply, TestServer, WEDNESDAY_2PM, eventually, field, let_dispatch_run, test_config,
};
use doorstep_api::open_sockets::SocketCaps;
use doorstep_api::rate_limit::RateLimits;
use doorstep_app::Clock;
use doorstep_domain::RideId;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection as _, Row as _};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The environment variable naming the release a generated fixture belongs to (a short commit id).
const RELEASE_VAR: &str = "DOORSTEP_FIXTURE_RELEASE";

/// The password of every account in a fixture.
pub const PASSWORD: &str = "correct horse battery";

/// Where release fixtures live.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// Rate limits no fixture run comes near: the generator and the check read every ride as many users.
pub fn unlimited() -> RateLimits {
    RateLimits {
        per_token_per_sec: 10_000,
        per_token_burst: 10_000,
        per_ip_per_sec: 10_000,
        per_ip_burst: 10_000,
    }
}

/// A user of the fixture.
struct User {
    account: Account,
    role: &'static str,
}

/// A ride of the fixture and who had a part in it.
struct Booked {
    /// What the ride went through, for a reader of the fixture.
    scenario: &'static str,
    ride_id: String,
    rider: Account,
    /// The drivers the ride was offered or assigned to.
    drivers: Vec<Account>,
    quote_id: String,
    idempotency_key: String,
    /// The ratings given (from, stars, comment).
    ratings: Vec<(Account, u8, &'static str)>,
}

/// Everything the generator made, in the order it made it.
#[derive(Default)]
struct Book {
    users: Vec<User>,
    rides: Vec<Booked>,
}

impl Book {
    async fn signup(&mut self, server: &TestServer, role: &'static str) -> TestResult<Account> {
        let account = server.signup(role).await?;
        self.users.push(User {
            account: account.clone(),
            role,
        });
        Ok(account)
    }

    fn ride(
        &mut self,
        scenario: &'static str,
        requested: Requested,
        drivers: &[&Account],
    ) -> usize {
        self.rides.push(Booked {
            scenario,
            ride_id: requested.ride_id,
            rider: requested.rider,
            drivers: drivers.iter().map(|&d| d.clone()).collect(),
            quote_id: requested.quote_id,
            idempotency_key: requested.key,
            ratings: Vec::new(),
        });
        self.rides.len() - 1
    }
}

/// A ride just requested.
struct Requested {
    ride_id: String,
    rider: Account,
    quote_id: String,
    key: String,
    pin: String,
}

async fn request(
    server: &TestServer,
    rider: &Account,
    from: Place,
    to: Place,
) -> TestResult<Requested> {
    let quote = server.quote(rider, from, to).await?;
    let quote_id = field(&quote, "quote_id")?;
    let key = uuid::Uuid::new_v4().to_string();
    let ride = server
        .request_with_key(rider, &quote_id, Some(&key))
        .await?
        .expect(201);
    assert_eq!(ride["state"], "requested");
    Ok(Requested {
        ride_id: field(&ride, "ride_id")?,
        rider: rider.clone(),
        quote_id,
        key,
        pin: field(&ride, "pin")?,
    })
}

async fn post(server: &TestServer, path: String, who: &Account, status: u16) -> TestResult<Value> {
    Ok(server.post_empty(&path, &who.token).await?.expect(status))
}

async fn offline(server: &TestServer, driver: &Account) -> TestResult {
    post(server, "/v1/drivers/me/offline".into(), driver, 200).await?;
    Ok(())
}

async fn decline(server: &TestServer, driver: &Account, offer: &Value) -> TestResult {
    let path = format!("/v1/offers/{}/decline", field(offer, "offer_id")?);
    post(server, path, driver, 200).await?;
    Ok(())
}

async fn cancel(server: &TestServer, who: &Account, ride_id: &str) -> TestResult<Value> {
    post(server, format!("/v1/rides/{ride_id}/cancel"), who, 200).await
}

async fn arrive(server: &TestServer, driver: &Account, ride_id: &str) -> TestResult {
    // A driver arrives only near the pickup (since 0006): drive there first.
    let ride = server
        .get(&format!("/v1/rides/{ride_id}"), &driver.token)
        .await?
        .expect(200);
    let pickup = Place {
        lat: ride["pickup"]["lat"].as_f64().ok_or("the ride's pickup")?,
        lng: ride["pickup"]["lng"].as_f64().ok_or("the ride's pickup")?,
    };
    server.drive_to(driver, pickup).await?;
    let arrived = post(server, format!("/v1/rides/{ride_id}/arrive"), driver, 200).await?;
    assert_eq!(arrived["state"], "driver_arrived");
    Ok(())
}

async fn try_start(
    server: &TestServer,
    driver: &Account,
    ride_id: &str,
    pin: &str,
) -> TestResult<Reply> {
    server
        .post(
            &format!("/v1/rides/{ride_id}/start"),
            &driver.token,
            json!({ "pin": pin }),
        )
        .await
}

async fn start(server: &TestServer, driver: &Account, ride_id: &str, pin: &str) -> TestResult {
    let started = try_start(server, driver, ride_id, pin).await?.expect(200);
    assert_eq!(started["state"], "in_progress");
    Ok(())
}

/// `n` wrong guesses of `pin`; the last one of the limit locks it.
async fn guess_wrong(
    server: &TestServer,
    driver: &Account,
    ride_id: &str,
    pin: &str,
    n: u32,
) -> TestResult {
    let right: u32 = pin.parse()?;
    for k in 1..=n {
        let guess = format!("{:04}", (right + k) % 10_000);
        try_start(server, driver, ride_id, &guess)
            .await?
            .expect_error(422, "wrong_pin");
    }
    Ok(())
}

/// A new PIN issued by `who` (the rider or an admin); the rider's view carries it.
async fn reissue_pin(server: &TestServer, who: &Account, ride: &Requested) -> TestResult<String> {
    post(server, format!("/v1/rides/{}/pin", ride.ride_id), who, 200).await?;
    let seen = server.ride(&ride.rider, &ride.ride_id).await?;
    assert_eq!(seen["pin_locked"], false, "{seen}");
    field(&seen, "pin")
}

async fn complete(server: &TestServer, driver: &Account, ride_id: &str, secs: i64) -> TestResult {
    server.clock.advance_secs(secs);
    let done = post(server, format!("/v1/rides/{ride_id}/complete"), driver, 200).await?;
    assert_eq!(done["state"], "completed");
    Ok(())
}

async fn rate(
    server: &TestServer,
    book: &mut Book,
    index: usize,
    from: &Account,
    stars: u8,
    comment: &'static str,
) -> TestResult {
    let ride_id = book.rides[index].ride_id.clone();
    server
        .post(
            &format!("/v1/rides/{ride_id}/rating"),
            &from.token,
            json!({"stars": stars, "comment": comment}),
        )
        .await?
        .expect(201);
    book.rides[index]
        .ratings
        .push((from.clone(), stars, comment));
    Ok(())
}

/// Waits until `driver` has no pending offer.
async fn no_offers(server: &TestServer, driver: &Account) -> TestResult {
    eventually("the driver's offers to end", || async {
        Ok(server.offers(driver).await?.is_empty().then_some(()))
    })
    .await
}

/// Writes the fixture of the release named by `DOORSTEP_FIXTURE_RELEASE` (run on SQLite only).
pub async fn generate_release_fixture(db: TestDb) -> TestResult {
    let release = std::env::var(RELEASE_VAR)
        .map_err(|_| format!("set {RELEASE_VAR} to the release's short commit id"))?;
    let dir = fixtures_dir().join(format!("release-{release}"));
    let server = TestServer::launch(
        &db,
        test_config(),
        Clock::manual(WEDNESDAY_2PM),
        unlimited(),
        SocketCaps::default(),
    )
    .await?;
    let book = play(&server).await?;
    let schema_version = server_schema_version(&db).await?;
    let recorded = record(&server, &book, &release, schema_version).await?;
    server.stop().await?;
    let sql = dump_sqlite(&db.url, &release, schema_version).await?;
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("data.sql"), sql)?;
    std::fs::write(
        dir.join("rides.json"),
        serde_json::to_string_pretty(&recorded)? + "\n",
    )?;
    Ok(())
}

/// Plays every scenario through the API; at the end, nothing the dispatcher could do changes anything
/// while the clock stands still (so that a server started later on the same data at the same instant
/// answers the same).
async fn play(server: &TestServer) -> TestResult<Book> {
    let mut book = Book::default();
    let admin_account = server.admin().await?;
    book.users.push(User {
        account: admin_account.clone(),
        role: "admin",
    });
    let admin = &admin_account;
    let mut riders = Vec::new();
    for _ in 0..8 {
        riders.push(book.signup(server, "rider").await?);
    }
    let mut drivers = Vec::new();
    for _ in 0..6 {
        drivers.push(book.signup(server, "driver").await?);
    }
    // Two users with no ride, who must keep getting 404 for every ride.
    book.signup(server, "rider").await?;
    book.signup(server, "driver").await?;
    let (r, d) = (&riders, &drivers);
    let fee_window = server.app.config().pricing.free_cancel_secs;
    let offer_timeout = server.app.config().offer_timeout_secs;
    let pickup_limit = server.app.config().pickup_limit_secs;
    let pin_limit = u32::from(server.app.config().pin_max_attempts);

    // 1. Declined by one driver, completed by another; both rate.
    server.go_online_at(&d[1], BRYANT_PARK).await?;
    let ride = request(server, &r[0], TIMES_SQUARE, UNION_SQUARE).await?;
    let offer = server.wait_for_offer(&d[1], &ride.ride_id).await?;
    decline(server, &d[1], &offer).await?;
    offline(server, &d[1]).await?;
    server.go_online_at(&d[0], BRYANT_PARK).await?;
    let offer = server.wait_for_offer(&d[0], &ride.ride_id).await?;
    server.accept(&d[0], &offer).await?;
    arrive(server, &d[0], &ride.ride_id).await?;
    start(server, &d[0], &ride.ride_id, &ride.pin).await?;
    complete(server, &d[0], &ride.ride_id, 600).await?;
    let one = book.ride(
        "declined by one driver, completed by another, rated both ways",
        ride,
        &[&d[1], &d[0]],
    );
    rate(server, &mut book, one, &r[0], 5, "Smooth ride").await?;
    rate(server, &mut book, one, &d[0], 4, "On time").await?;
    offline(server, &d[0]).await?;

    // 2. An offer left to expire, then completed by another driver; only the rider rates.
    server.go_online_at(&d[2], GRAND_CENTRAL).await?;
    let ride = request(server, &r[1], GRAND_CENTRAL, WASHINGTON_SQUARE).await?;
    server.wait_for_offer(&d[2], &ride.ride_id).await?;
    server.clock.advance_secs(offer_timeout + 1);
    no_offers(server, &d[2]).await?;
    offline(server, &d[2]).await?;
    server.go_online_at(&d[0], GRAND_CENTRAL).await?;
    let offer = server.wait_for_offer(&d[0], &ride.ride_id).await?;
    server.accept(&d[0], &offer).await?;
    arrive(server, &d[0], &ride.ride_id).await?;
    start(server, &d[0], &ride.ride_id, &ride.pin).await?;
    complete(server, &d[0], &ride.ride_id, 900).await?;
    let two = book.ride(
        "offer expired, completed by another driver, rated by the rider",
        ride,
        &[&d[2], &d[0]],
    );
    rate(server, &mut book, two, &r[1], 3, "Took the long way").await?;
    offline(server, &d[0]).await?;

    // 3. Cancelled by the rider while waiting, before any offer.
    let ride = request(server, &r[2], MET_MUSEUM, COLUMBUS_CIRCLE).await?;
    cancel(server, &r[2], &ride.ride_id).await?;
    book.ride("cancelled by the rider before any offer", ride, &[]);

    // 4. Cancelled by the rider while offered: the offer is withdrawn.
    server.go_online_at(&d[3], COLUMBUS_CIRCLE).await?;
    let ride = request(server, &r[2], COLUMBUS_CIRCLE, TIMES_SQUARE).await?;
    server.wait_for_offer(&d[3], &ride.ride_id).await?;
    cancel(server, &r[2], &ride.ride_id).await?;
    no_offers(server, &d[3]).await?;
    offline(server, &d[3]).await?;
    book.ride(
        "cancelled by the rider while offered (offer withdrawn)",
        ride,
        &[&d[3]],
    );

    // 5. Cancelled by the rider after assignment, inside the free window.
    server.go_online_at(&d[0], TIMES_SQUARE).await?;
    let ride = request(server, &r[3], TIMES_SQUARE, MET_MUSEUM).await?;
    let offer = server.wait_for_offer(&d[0], &ride.ride_id).await?;
    server.accept(&d[0], &offer).await?;
    server.clock.advance_secs(30);
    let cancelled = cancel(server, &r[3], &ride.ride_id).await?;
    assert!(cancelled["cancel_fee"].is_null(), "{cancelled}");
    offline(server, &d[0]).await?;
    book.ride(
        "cancelled by the rider after assignment, inside the free window",
        ride,
        &[&d[0]],
    );

    // 6. Cancelled by the rider past the free window: a cancellation fee is posted.
    server.go_online_at(&d[4], UNION_SQUARE).await?;
    let ride = request(server, &r[3], UNION_SQUARE, GRAND_CENTRAL).await?;
    let offer = server.wait_for_offer(&d[4], &ride.ride_id).await?;
    server.accept(&d[4], &offer).await?;
    server.clock.advance_secs(fee_window + 30);
    let cancelled = cancel(server, &r[3], &ride.ride_id).await?;
    assert!(cancelled["cancel_fee"].is_object(), "{cancelled}");
    offline(server, &d[4]).await?;
    book.ride(
        "cancelled by the rider past the free window (fee posted)",
        ride,
        &[&d[4]],
    );

    // 7. Cancelled by its driver, then completed by another; both rate.
    server.go_online_at(&d[3], BRYANT_PARK).await?;
    let ride = request(server, &r[4], BRYANT_PARK, FIFTH_AVE_59TH).await?;
    let offer = server.wait_for_offer(&d[3], &ride.ride_id).await?;
    server.accept(&d[3], &offer).await?;
    let back = cancel(server, &d[3], &ride.ride_id).await?;
    assert_eq!(back["state"], "requested");
    offline(server, &d[3]).await?;
    server.go_online_at(&d[5], BRYANT_PARK).await?;
    let offer = server.wait_for_offer(&d[5], &ride.ride_id).await?;
    server.accept(&d[5], &offer).await?;
    arrive(server, &d[5], &ride.ride_id).await?;
    start(server, &d[5], &ride.ride_id, &ride.pin).await?;
    complete(server, &d[5], &ride.ride_id, 420).await?;
    let seven = book.ride(
        "cancelled by its driver, completed by another, rated both ways",
        ride,
        &[&d[3], &d[5]],
    );
    rate(server, &mut book, seven, &r[4], 4, "Friendly").await?;
    rate(server, &mut book, seven, &d[5], 5, "").await?;
    offline(server, &d[5]).await?;

    // 8. Cancelled by an admin while waiting.
    let ride = request(server, &r[5], FIFTH_AVE_34TH, UNION_SQUARE).await?;
    cancel(server, admin, &ride.ride_id).await?;
    book.ride("cancelled by an admin while waiting", ride, &[]);

    // 9 and 10. No driver available: one declined by its only driver, one with nobody near.
    server.go_online_at(&d[1], TIMES_SQUARE).await?;
    let declined = request(server, &r[6], TIMES_SQUARE, COLUMBUS_CIRCLE).await?;
    let offer = server.wait_for_offer(&d[1], &declined.ride_id).await?;
    decline(server, &d[1], &offer).await?;
    offline(server, &d[1]).await?;
    let nobody = request(server, &r[5], MET_MUSEUM, TIMES_SQUARE).await?;
    server.clock.advance_secs(pickup_limit + 1);
    for ride in [&declined, &nobody] {
        server
            .wait_for_state(&ride.rider, &ride.ride_id, "no_driver_available")
            .await?;
    }
    book.ride(
        "no driver available: every driver declined",
        declined,
        &[&d[1]],
    );
    book.ride("no driver available: nobody nearby", nobody, &[]);

    // 11. The PIN locked by wrong guesses, a new one issued by the rider, then completed; the driver rates.
    server.go_online_at(&d[2], WASHINGTON_SQUARE).await?;
    let ride = request(server, &r[6], WASHINGTON_SQUARE, UNION_SQUARE).await?;
    let offer = server.wait_for_offer(&d[2], &ride.ride_id).await?;
    server.accept(&d[2], &offer).await?;
    arrive(server, &d[2], &ride.ride_id).await?;
    guess_wrong(server, &d[2], &ride.ride_id, &ride.pin, pin_limit).await?;
    assert_eq!(server.ride(&r[6], &ride.ride_id).await?["pin_locked"], true);
    let pin = reissue_pin(server, &r[6], &ride).await?;
    start(server, &d[2], &ride.ride_id, &pin).await?;
    complete(server, &d[2], &ride.ride_id, 240).await?;
    let eleven = book.ride(
        "PIN locked, reissued by the rider, completed, rated by the driver",
        ride,
        &[&d[2]],
    );
    rate(server, &mut book, eleven, &d[2], 2, "Kept me waiting").await?;
    offline(server, &d[2]).await?;

    // Rides left open. The clock moves once more below, so these are past the free window when recorded.
    // 12. Assigned.
    server.go_online_at(&d[0], TIMES_SQUARE).await?;
    let ride = request(server, &r[7], TIMES_SQUARE, WASHINGTON_SQUARE).await?;
    let offer = server.wait_for_offer(&d[0], &ride.ride_id).await?;
    server.accept(&d[0], &offer).await?;
    book.ride("driver assigned, past the free window", ride, &[&d[0]]);

    // 13. Arrived, with the PIN locked.
    server.go_online_at(&d[1], GRAND_CENTRAL).await?;
    let ride = request(server, &r[0], GRAND_CENTRAL, MET_MUSEUM).await?;
    let offer = server.wait_for_offer(&d[1], &ride.ride_id).await?;
    server.accept(&d[1], &offer).await?;
    arrive(server, &d[1], &ride.ride_id).await?;
    guess_wrong(server, &d[1], &ride.ride_id, &ride.pin, pin_limit).await?;
    book.ride("driver arrived, PIN locked", ride, &[&d[1]]);

    // 14. In progress, after a wrong PIN and a new one issued by an admin.
    server.go_online_at(&d[3], COLUMBUS_CIRCLE).await?;
    let ride = request(server, &r[1], COLUMBUS_CIRCLE, FIFTH_AVE_34TH).await?;
    let offer = server.wait_for_offer(&d[3], &ride.ride_id).await?;
    server.accept(&d[3], &offer).await?;
    arrive(server, &d[3], &ride.ride_id).await?;
    guess_wrong(server, &d[3], &ride.ride_id, &ride.pin, 1).await?;
    let pin = reissue_pin(server, admin, &ride).await?;
    start(server, &d[3], &ride.ride_id, &pin).await?;
    book.ride(
        "in progress, after a wrong PIN and a new one from an admin",
        ride,
        &[&d[3]],
    );

    // 15. Arrived, with one wrong PIN.
    server.go_online_at(&d[5], FIFTH_AVE_34TH).await?;
    let ride = request(server, &r[2], FIFTH_AVE_34TH, BRYANT_PARK).await?;
    let offer = server.wait_for_offer(&d[5], &ride.ride_id).await?;
    server.accept(&d[5], &offer).await?;
    arrive(server, &d[5], &ride.ride_id).await?;
    guess_wrong(server, &d[5], &ride.ride_id, &ride.pin, 1).await?;
    book.ride("driver arrived, one wrong PIN", ride, &[&d[5]]);

    server.clock.advance_secs(fee_window + 10);

    // 16. Offered: a pending offer to the only free driver.
    server.go_online_at(&d[4], UNION_SQUARE).await?;
    let ride = request(server, &r[3], UNION_SQUARE, BRYANT_PARK).await?;
    server.wait_for_offer(&d[4], &ride.ride_id).await?;
    book.ride("requested, offered to a driver (pending)", ride, &[&d[4]]);

    // 17. Waiting: declined by the one driver still free, who stays online and idle. Only the ride's
    // record of who declined keeps it from being offered to them again, so losing that record shows.
    server.go_online_at(&d[2], MET_MUSEUM).await?;
    let ride = request(server, &r[4], MET_MUSEUM, GRAND_CENTRAL).await?;
    let offer = server.wait_for_offer(&d[2], &ride.ride_id).await?;
    decline(server, &d[2], &offer).await?;
    book.ride(
        "requested, declined by the only free driver, waiting",
        ride,
        &[&d[2]],
    );

    // A quote never used.
    server.quote(&r[5], WASHINGTON_SQUARE, MET_MUSEUM).await?;

    // Nothing more happens while the clock stands still.
    let_dispatch_run().await;
    let waiting = book.rides.last().ok_or("a ride")?;
    assert_eq!(
        server.ride(&waiting.rider, &waiting.ride_id).await?["state"],
        "requested"
    );
    assert_eq!(server.offers(&d[4]).await?.len(), 1);
    assert!(server.offers(&d[2]).await?.is_empty());
    Ok(book)
}

/// The reads of one ride as `who`: the ride and its timeline, or the error codes.
async fn read_ride(server: &TestServer, who: &Account, ride_id: &str) -> TestResult<Value> {
    let ride = server
        .get(&format!("/v1/rides/{ride_id}"), &who.token)
        .await?;
    let events = server
        .get(&format!("/v1/rides/{ride_id}/events"), &who.token)
        .await?;
    // Of an error, only its code is part of the contract (messages may be reworded).
    let body = |reply: Reply| {
        if reply.status == 200 {
            reply.body
        } else {
            json!({"code": reply.body["code"]})
        }
    };
    Ok(json!({
        "as": who.id,
        "status": ride.status,
        "ride": body(ride),
        "events_status": events.status,
        "events": body(events),
    }))
}

/// How long the event stream may pause in the middle of sending the backlog.
const BACKLOG_PAUSE: std::time::Duration = std::time::Duration::from_secs(3);

/// The durable events `who` reads on the event stream after the id `after`, up to and including
/// `last_id` (fewer if the stream stops sending before).
pub async fn stream_events(
    server: &TestServer,
    who: &Account,
    after: i64,
    last_id: i64,
) -> TestResult<Vec<Value>> {
    let mut stream = EventStream::open(server, &who.token, Some(after)).await?;
    let mut events = Vec::new();
    while events
        .last()
        .and_then(|e: &Value| e["id"].as_i64())
        .is_none_or(|id| id < last_id)
    {
        // The backlog comes at once: a pause means an event is missing, which the caller's comparison
        // reports better than a time-out would.
        let Some(message) = stream.next_message_within(BACKLOG_PAUSE).await? else {
            break;
        };
        // Driver positions and answers carry no id: they are not part of the record.
        if message.get("id").is_some() {
            events.push(message);
        }
    }
    stream.close().await?;
    Ok(events)
}

/// What the API (and, for the postings, the store) says about everything in `book`.
async fn record(
    server: &TestServer,
    book: &Book,
    release: &str,
    schema_version: i64,
) -> TestResult<Value> {
    let store = server.app.store();
    let admin = &book
        .users
        .iter()
        .find(|u| u.role == "admin")
        .ok_or("an admin")?
        .account;
    let stranger_rider = book
        .users
        .iter()
        .rev()
        .find(|u| u.role == "rider")
        .ok_or("a rider")?;
    let stranger_driver = book
        .users
        .iter()
        .rev()
        .find(|u| u.role == "driver")
        .ok_or("a driver")?;

    let mut users = Vec::new();
    for user in &book.users {
        let me = server.get("/v1/me", &user.account.token).await?.expect(200);
        users.push(json!({
            "id": user.account.id,
            "role": user.role,
            "email": field(&me, "email")?,
            "token": user.account.token,
            "me": me,
        }));
    }

    let mut rides = Vec::new();
    for booked in &book.rides {
        let mut readers = vec![&booked.rider, admin];
        readers.extend(booked.drivers.iter());
        readers.push(&stranger_rider.account);
        readers.push(&stranger_driver.account);
        let mut reads = Vec::new();
        for who in readers {
            reads.push(read_ride(server, who, &booked.ride_id).await?);
        }
        let ride_id: RideId = booked.ride_id.parse()?;
        let postings: Vec<Value> = store
            .postings_of_ride(ride_id)
            .await?
            .iter()
            .map(|p| {
                json!({
                    "kind": p.kind().as_str(),
                    "at_ms": p.at().millis(),
                    "entries": p.entries().iter().map(|e| json!({
                        "account": e.account.key(),
                        "amount": e.amount.minor,
                        "currency": e.amount.currency.as_str(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        // Rating again is refused: the ratings are on record.
        let mut ratings = Vec::new();
        for (from, stars, comment) in &booked.ratings {
            let again = server
                .post(
                    &format!("/v1/rides/{}/rating", booked.ride_id),
                    &from.token,
                    json!({"stars": stars, "comment": comment}),
                )
                .await?;
            again.expect_error(409, "already_rated");
            ratings.push(json!({"from": from.id, "stars": stars, "comment": comment}));
        }
        rides.push(json!({
            "scenario": booked.scenario,
            "ride_id": booked.ride_id,
            "rider_id": booked.rider.id,
            "quote_id": booked.quote_id,
            "idempotency_key": booked.idempotency_key,
            "reads": reads,
            "postings": postings,
            "ratings": ratings,
        }));
    }

    let now = server.now_rfc3339();
    let from = doorstep_api::dto::rfc3339(WEDNESDAY_2PM);
    let mut per_user = Vec::new();
    for user in &book.users {
        let who = &user.account;
        let list = server.get("/v1/rides", &who.token).await?.expect(200);
        let ride_ids: Vec<Value> = list["rides"]
            .as_array()
            .map(|rides| rides.iter().map(|r| r["ride_id"].clone()).collect())
            .unwrap_or_default();
        let last_id = if user.role == "admin" {
            store.last_event_id().await?
        } else {
            let id: doorstep_domain::UserId = who.id.parse()?;
            store
                .events_for_user(id, 0, i64::MAX)
                .await?
                .last()
                .map_or(0, |e| e.id)
        };
        let events = if last_id > 0 {
            stream_events(server, who, 0, last_id).await?
        } else {
            Vec::new()
        };
        let mut entry = json!({
            "as": who.id,
            "ride_ids": ride_ids,
            "stream": events,
        });
        if user.role == "driver" {
            entry["offers"] = server.get("/v1/offers", &who.token).await?.expect(200);
            let query = format!(
                "/v1/drivers/me/earnings?from={}&to={}",
                from.replace('+', "%2B"),
                now.replace('+', "%2B")
            );
            entry["earnings_path"] = json!(query);
            entry["earnings"] = server.get(&query, &who.token).await?.expect(200);
        }
        per_user.push(entry);
    }

    let money =
        |m: &doorstep_domain::Money| json!({"amount": m.minor, "currency": m.currency.as_str()});
    Ok(json!({
        "release": release,
        "generated_by": format!("{RELEASE_VAR}={release} cargo test -p doorstep-api --test api -- --ignored generate_release_fixture"),
        "schema_version": schema_version,
        "clock_ms": server.clock.now().millis(),
        "password": PASSWORD,
        "last_event_id": store.last_event_id().await?,
        "users": users,
        "rides": rides,
        "per_user": per_user,
        "trial_balance": store.trial_balance().await?.iter().map(money).collect::<Vec<_>>(),
        "account_balances": store.account_balances().await?.iter().map(|(account, balance)| {
            json!({"account": account.key(), "balance": money(balance)})
        }).collect::<Vec<_>>(),
    }))
}

/// The highest migration version applied to the database.
async fn server_schema_version(db: &TestDb) -> TestResult<i64> {
    let mut conn = AnyConnection::connect(&db.url).await?;
    let row = sqlx::query("SELECT MAX(version) AS version FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await?;
    let version: i64 = row.try_get("version")?;
    conn.close().await?;
    Ok(version)
}

/// The text of one SQLite value as a literal both dialects read back exactly.
fn literal(row: &AnyRow, i: usize) -> TestResult<String> {
    let kind: String = row.try_get(2 * i)?;
    Ok(match kind.as_str() {
        "null" => "NULL".to_owned(),
        "integer" => row.try_get::<i64, _>(2 * i + 1)?.to_string(),
        // The shortest text that parses back to the same double.
        "real" => format!("{:?}", row.try_get::<f64, _>(2 * i + 1)?),
        "text" => {
            let text: String = row.try_get(2 * i + 1)?;
            if text.contains(['\n', '\r']) {
                return Err(format!("a text value spans lines: {text:?}").into());
            }
            format!("'{}'", text.replace('\'', "''"))
        }
        other => return Err(format!("no literal for SQLite values of type {other}").into()),
    })
}

/// Every row of every table of a SQLite database as `INSERT` statements, one per line, parents before
/// children, rows in insertion order.
async fn dump_sqlite(url: &str, release: &str, schema_version: i64) -> TestResult<String> {
    let mut conn = AnyConnection::connect(url).await?;
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>("name"))
    .collect::<Result<_, _>>()?;
    // Parents before children: a table comes once every table it references is out.
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in &names {
        let rows = sqlx::query("SELECT \"table\" AS target FROM pragma_foreign_key_list($1)")
            .bind(name)
            .fetch_all(&mut conn)
            .await?;
        let mut set = BTreeSet::new();
        for row in &rows {
            let target: String = row.try_get("target")?;
            if target != *name {
                set.insert(target);
            }
        }
        parents.insert(name.clone(), set);
    }
    let mut order: Vec<String> = Vec::new();
    while order.len() < names.len() {
        let next = names
            .iter()
            .find(|n| !order.contains(n) && parents[*n].iter().all(|p| order.contains(p)))
            .ok_or("the foreign keys form a cycle")?;
        order.push(next.clone());
    }

    let mut out = format!(
        "-- The data of a Doorstep database made by release {release} (schema: migrations up to {schema_version:04}).\n\
         -- Generated by crates/api/tests/api/release_fixture.rs; never edit or regenerate it (docs/migrations.md).\n\
         -- One INSERT per line, parents before children; the same text loads into SQLite and PostgreSQL.\n"
    );
    for table in &order {
        let columns: Vec<String> =
            sqlx::query("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(&mut conn)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("name"))
                .collect::<Result<_, _>>()?;
        let select = columns
            .iter()
            .map(|c| format!("typeof({c}), {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {select} FROM {table} ORDER BY rowid"
        )))
        .fetch_all(&mut conn)
        .await?;
        out.push_str(&format!("\n-- {table}: {} rows\n", rows.len()));
        for row in &rows {
            let values = (0..columns.len())
                .map(|i| literal(row, i))
                .collect::<TestResult<Vec<_>>>()?;
            out.push_str(&format!(
                "INSERT INTO {table} ({}) VALUES ({});\n",
                columns.join(", "),
                values.join(", ")
            ));
        }
    }
    conn.close().await?;
    Ok(out)
}
