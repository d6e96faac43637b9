//! The store's one test suite, run on SQLite and on PostgreSQL.
//!
//! Each test is an async function taking a fresh, migrated [`Store`]; `on_both_backends!` turns it into
//! `on_sqlite::<name>` (a new database file per test) and `on_postgres::<name>` (a new database named
//! `doorstep_test_<uuid>` per test, created through the server named by `DOORSTEP_TEST_POSTGRES_URL` and
//! dropped afterwards). Without that variable the PostgreSQL variants print `POSTGRES_SKIPPED` and pass
//! (or fail, when `DOORSTEP_REQUIRE_POSTGRES` is set); CI sets both and also fails on that line.

#[path = "store/cluster.rs"]
mod cluster;
#[path = "store/merchants.rs"]
mod merchants;
#[path = "store/orders.rs"]
mod orders;
#[path = "store/schema_agreement.rs"]
mod schema_agreement;

use cluster::*;
use merchants::*;
use orders::*;

use doorstep_domain::ledger::{Account, LedgerEntry, Posting, PostingKind, ride_fare_posting};
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::pricing::{FareBand, FareBreakdown, PricingConfig, SurgeMillis, price_trip};
use doorstep_domain::quote::Quote;
use doorstep_domain::rating::{Rating, Stars};
use doorstep_domain::ride::{
    CancelledBy, FlatRide, NewRide, NoDriverReason, Pin, Ride, RideError, RideEvent, RideState,
    StartOutcome, StopRadii, TripEnd,
};
use doorstep_domain::{
    Currency, Email, Money, OfferId, QuoteId, RideId, Role, Timestamp, User, UserId,
};
use doorstep_geo::LatLng;
use doorstep_store::{
    Audience, Backend, Created, Recipient, RecipientRole, RideChange, StatementLine, Store,
    StoreError, StoredEvent,
};
use std::collections::BTreeSet;
use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;
use uuid::Uuid;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The environment variable naming a PostgreSQL server (any database on it) the suite may create
/// databases on.
const POSTGRES_URL_VAR: &str = "DOORSTEP_TEST_POSTGRES_URL";

/// When set (CI sets it), a PostgreSQL variant fails instead of skipping if there is no server to run on.
const REQUIRE_POSTGRES_VAR: &str = "DOORSTEP_REQUIRE_POSTGRES";

#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

/// What to remove once a test is done.
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase(String),
}

/// Runs `test` on a fresh, migrated database of `engine`, then removes the database, whatever the
/// outcome.
async fn run_on<F, Fut>(engine: Engine, name: &str, test: F) -> TestResult
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = TestResult> + Send + 'static,
{
    run_on_database(engine, name, true, |store, _url| test(store)).await
}

/// Runs `test` on a fresh database of `engine` (migrated if `migrate`), with its URL, then removes the
/// database, whatever the outcome.
async fn run_on_database<F, Fut>(engine: Engine, name: &str, migrate: bool, test: F) -> TestResult
where
    F: FnOnce(Store, String) -> Fut,
    Fut: Future<Output = TestResult> + Send + 'static,
{
    let (url, cleanup) = match engine {
        Engine::Sqlite => {
            let path =
                std::env::temp_dir().join(format!("doorstep_test_{}.db", Uuid::new_v4().simple()));
            (
                format!("sqlite://{}?mode=rwc", path.display()),
                Cleanup::SqliteFile(path),
            )
        }
        Engine::Postgres => {
            let Ok(server) = std::env::var(POSTGRES_URL_VAR) else {
                // Written to the stderr handle rather than with `eprintln!`, which the test harness captures
                // and hides for passing tests: CI must be able to see this line.
                writeln!(
                    std::io::stderr(),
                    "POSTGRES_SKIPPED: {POSTGRES_URL_VAR} is not set, so {name} ran on SQLite only"
                )?;
                if std::env::var_os(REQUIRE_POSTGRES_VAR).is_some_and(|v| !v.is_empty()) {
                    return Err(format!(
                        "{REQUIRE_POSTGRES_VAR} is set but {POSTGRES_URL_VAR} is not"
                    )
                    .into());
                }
                return Ok(());
            };
            let url = with_database(
                &server,
                &format!("doorstep_test_{}", Uuid::new_v4().simple()),
            )?;
            sqlx::any::install_default_drivers();
            <sqlx::Any as sqlx::migrate::MigrateDatabase>::create_database(&url).await?;
            (url.clone(), Cleanup::PostgresDatabase(url))
        }
    };
    let store = Store::connect(&url).await;
    let outcome = match store {
        Ok(store) => {
            let migrated = if migrate {
                store.migrate().await
            } else {
                Ok(())
            };
            let outcome = match migrated {
                // A panicking assertion inside the spawned task comes back as a JoinError, so the database
                // is still removed before the panic is resumed below.
                Ok(()) => tokio::spawn(test(store.clone(), url.clone())).await,
                Err(e) => Ok(Err(e.into())),
            };
            store.close().await;
            outcome
        }
        Err(e) => Ok(Err(e.into())),
    };
    match cleanup {
        Cleanup::SqliteFile(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                // The WAL and shared-memory files may already be gone.
                let _ = std::fs::remove_file(file);
            }
        }
        Cleanup::PostgresDatabase(url) => {
            <sqlx::Any as sqlx::migrate::MigrateDatabase>::force_drop_database(&url).await?;
        }
    }
    match outcome {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(join.into()),
    }
}

/// `server` (a PostgreSQL URL) with its database name replaced by `database`.
fn with_database(server: &str, database: &str) -> Result<String, String> {
    let after_scheme = server
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| format!("{POSTGRES_URL_VAR} is not a URL"))?;
    let (base, query) = match server.find('?') {
        Some(q) => (&server[..q], &server[q..]),
        None => (server, ""),
    };
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    Ok(format!("{base}/{database}{query}"))
}

/// Instantiates each suite function as `on_sqlite::<name>` and `on_postgres::<name>` (CI looks for
/// `on_postgres` in the test output to know the PostgreSQL suite ran).
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> super::TestResult {
                    super::run_on(super::Engine::Sqlite, stringify!($name), super::$name).await
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> super::TestResult {
                    super::run_on(super::Engine::Postgres, stringify!($name), super::$name).await
                }
            )+
        }
    };
}

on_both_backends!(
    migrating_again_changes_nothing,
    an_order_is_rated_once_per_rater_and_ratee_and_a_merchant_can_be_the_ratee,
    saved_places_round_trip_per_user_and_concurrent_saves_keep_the_limit,
    an_early_end_and_a_capped_fare_are_stored_with_the_trip_distance,
    users_round_trip_and_a_taken_email_is_refused,
    sessions_last_until_they_expire_and_end_when_deleted,
    a_websocket_ticket_is_consumed_once_and_only_before_it_expires,
    expired_sessions_and_unused_expired_quotes_are_purged_and_nothing_else,
    a_quote_round_trips,
    a_ride_round_trip_preserves_every_field,
    retrying_a_ride_request_with_the_same_idempotency_key_returns_the_first_ride,
    a_quote_cannot_be_turned_into_two_rides,
    a_ride_change_with_a_stale_version_is_a_conflict_and_writes_nothing,
    a_ride_lifecycle_writes_ride_offers_events_and_posting_together,
    a_duplicate_posting_rolls_back_the_whole_ride_change,
    of_two_concurrent_changes_from_the_same_version_exactly_one_wins,
    events_for_a_user_are_theirs_only_ascending_and_after_the_given_id,
    a_reader_resuming_during_many_concurrent_writers_sees_each_of_its_events_once_in_order,
    a_user_named_twice_among_the_recipients_receives_the_event_once,
    postings_balance_to_zero_and_a_repeat_is_refused,
    a_driver_statement_lists_the_earnings_of_the_period_oldest_first,
    a_user_can_rate_a_ride_only_once,
    driver_positions_are_upserted_and_older_ones_are_ignored,
    rides_are_listed_by_rider_by_driver_and_by_state,
    pending_offers_are_listed_per_driver_and_overall,
    a_new_offer_is_refused_to_a_worker_with_work_under_way_or_an_open_offer,
    jobs_of_every_kind_round_trip_with_their_stops_and_versions,
    a_driver_is_a_worker_with_a_car_and_other_workers_keep_their_capabilities,
    a_merchant_round_trips_with_its_staff_hours_and_intake,
    a_merchants_standing_changes_only_from_the_standing_it_was_read_in,
    only_approved_merchants_around_a_point_are_listed_with_their_hours,
    a_menu_is_replaced_whole_under_its_version_and_its_items_are_indexed,
    an_order_round_trips_and_a_repeated_key_returns_it_with_its_request_hash,
    an_order_change_is_written_under_its_version_and_a_stale_one_is_refused,
    a_promo_codes_limits_hold_under_concurrent_orders_and_a_cancelled_order_gives_its_use_back,
    a_write_under_an_older_city_epoch_is_refused_and_writes_nothing,
    trip_odometers_are_kept_for_jobs_under_way_and_older_measures_do_not_win,
);

/// The two dialects' migrations describe one schema (needs both databases, so it runs once, not per
/// backend).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_agree_after_each_migration() -> TestResult {
    schema_agreement::sqlite_and_postgres_schemas_agree_after_each_migration().await
}

/// Tests of what only PostgreSQL does (several nodes run on it alone).
mod on_postgres_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fenced_writes_of_one_owner_run_side_by_side_and_a_takeover_waits_for_them()
    -> super::TestResult {
        super::run_on_database(
            super::Engine::Postgres,
            "fenced_writes_of_one_owner_run_side_by_side_and_a_takeover_waits_for_them",
            true,
            super::fenced_writes_of_one_owner_run_side_by_side_and_a_takeover_waits_for_them,
        )
        .await
    }
}

/// Tests of one migration: each starts from an empty database.
mod on_sqlite_from_an_older_schema {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn existing_events_keep_exactly_their_recipients_through_migration_0005()
    -> super::TestResult {
        super::run_on_database(
            super::Engine::Sqlite,
            "existing_events_keep_exactly_their_recipients_through_migration_0005",
            false,
            super::existing_events_keep_exactly_their_recipients_through_migration_0005,
        )
        .await
    }
}

/// Tests of one migration: each starts from an empty database.
mod on_postgres_from_an_older_schema {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn existing_events_keep_exactly_their_recipients_through_migration_0005()
    -> super::TestResult {
        super::run_on_database(
            super::Engine::Postgres,
            "existing_events_keep_exactly_their_recipients_through_migration_0005",
            false,
            super::existing_events_keep_exactly_their_recipients_through_migration_0005,
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------------------
// Fixtures

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + offset_ms)
}

fn place(lat: f64, lng: f64) -> Result<LatLng, Box<dyn std::error::Error + Send + Sync>> {
    Ok(LatLng::new(lat, lng)?)
}

fn fare(distance_m: u32) -> Result<FareBreakdown, Box<dyn std::error::Error + Send + Sync>> {
    Ok(price_trip(
        &PricingConfig::default(),
        distance_m,
        600,
        SurgeMillis(1500),
    )?)
}

async fn new_user(
    store: &Store,
    role: Role,
    name: &str,
) -> Result<User, Box<dyn std::error::Error + Send + Sync>> {
    let id = UserId::from_uuid(Uuid::now_v7());
    let user = User {
        id,
        email: Email::parse(&format!("{name}.{}@example.com", id.as_uuid().simple()))?,
        name: name.to_owned(),
        role,
        created_at: at(0),
    };
    store
        .insert_user(&user, "$argon2id$not-a-real-hash")
        .await?;
    Ok(user)
}

async fn new_quote(
    store: &Store,
    rider: UserId,
    now: Timestamp,
) -> Result<Quote, Box<dyn std::error::Error + Send + Sync>> {
    let quote = Quote {
        id: QuoteId::from_uuid(Uuid::now_v7()),
        rider,
        pickup: place(40.758_896, -73.985_130)?,
        dropoff: place(40.712_776, -74.005_974)?,
        fare: fare(6_200)?,
        created_at: now,
        expires_at: now.plus_secs(300),
    };
    store.insert_quote(&quote).await?;
    Ok(quote)
}

/// A ride built from a new quote, not yet stored.
async fn unsaved_ride(
    store: &Store,
    rider: UserId,
    now: Timestamp,
) -> Result<(Ride, RideEvent), Box<dyn std::error::Error + Send + Sync>> {
    let quote = new_quote(store, rider, now).await?;
    Ok(Ride::request(
        NewRide {
            id: RideId::from_uuid(Uuid::now_v7()),
            rider,
            quote_id: quote.id,
            pickup: quote.pickup,
            dropoff: quote.dropoff,
            quoted: quote.fare,
            pin: doorstep_domain::code::VerificationCode::restore("0427", 0)?,
        },
        now,
    ))
}

/// A ride requested and stored.
async fn requested_ride(
    store: &Store,
    rider: UserId,
    now: Timestamp,
) -> Result<Ride, Box<dyn std::error::Error + Send + Sync>> {
    let (ride, event) = unsaved_ride(store, rider, now).await?;
    let created = store
        .create_ride(&ride, None, &event, &Audience::of_ride(&ride), now)
        .await?;
    assert!(created.is_new());
    Ok(created.into_inner())
}

fn offer_of(ride: &Ride, driver: UserId, now: Timestamp) -> Offer {
    Offer {
        id: OfferId::from_uuid(Uuid::now_v7()),
        ride_id: ride.id(),
        driver,
        state: OfferState::Pending,
        created_at: now,
        expires_at: now.plus_secs(15),
        pickup_eta_s: 240,
        pickup_distance_m: 1_300,
        fare: ride.quoted.total,
    }
}

fn offered_event(offer: &Offer) -> RideEvent {
    RideEvent::Offered {
        offer_id: offer.id,
        driver: offer.driver,
        expires_at: offer.expires_at,
        pickup_eta_s: offer.pickup_eta_s,
    }
}

/// Offers `ride` to `driver` (a change that moves no state: the version stays).
async fn offer_ride(
    store: &Store,
    ride: &Ride,
    driver: UserId,
    now: Timestamp,
) -> Result<(Offer, Vec<StoredEvent>), Box<dyn std::error::Error + Send + Sync>> {
    let offer = offer_of(ride, driver, now);
    let audience = Audience {
        rider: None,
        driver: Some(driver),
    };
    let stored = store
        .save_ride_change(RideChange {
            ride,
            expected_version: ride.version(),
            offers: std::slice::from_ref(&offer),
            events: &[(offered_event(&offer), audience)],
            posting: None,
            at: now,
        })
        .await?;
    Ok((offer, stored))
}

/// Offers `ride` to `driver`, who accepts: returns the assigned ride and the accepted offer.
async fn assigned_ride(
    store: &Store,
    mut ride: Ride,
    driver: UserId,
    now: Timestamp,
) -> Result<(Ride, Offer), Box<dyn std::error::Error + Send + Sync>> {
    let (mut offer, _) = offer_ride(store, &ride, driver, now).await?;
    let before = ride.version();
    offer.accept(driver, now.plus_secs(5))?;
    let event = ride.assign(driver, offer.pickup_eta_s, now.plus_secs(5))?;
    store
        .save_ride_change(RideChange {
            ride: &ride,
            expected_version: before,
            offers: std::slice::from_ref(&offer),
            events: &[(event, Audience::of_ride(&ride))],
            posting: None,
            at: now.plus_secs(5),
        })
        .await?;
    Ok((ride, offer))
}

/// Applies a domain step to `ride` and saves it with its event.
async fn step(
    store: &Store,
    ride: &mut Ride,
    now: Timestamp,
    apply: impl FnOnce(&mut Ride) -> Result<RideEvent, doorstep_domain::ride::RideError>,
) -> Result<Vec<StoredEvent>, Box<dyn std::error::Error + Send + Sync>> {
    let before = ride.version();
    let event = apply(ride)?;
    Ok(store
        .save_ride_change(RideChange {
            ride,
            expected_version: before,
            offers: &[],
            events: &[(event, Audience::of_ride(ride))],
            posting: None,
            at: now,
        })
        .await?)
}

/// A completed ride of `rider` driven by `driver`, and its fare posting (not yet stored).
async fn completed_ride(
    store: &Store,
    rider: UserId,
    driver: UserId,
    now: Timestamp,
) -> Result<(Ride, Posting), Box<dyn std::error::Error + Send + Sync>> {
    let ride = requested_ride(store, rider, now).await?;
    let (mut ride, _) = assigned_ride(store, ride, driver, now.plus_secs(1)).await?;
    step(store, &mut ride, now.plus_secs(60), |r| {
        let at_pickup = Some(r.pickup());
        r.arrive(driver, at_pickup, StopRadii::default(), now.plus_secs(60))
    })
    .await?;
    step(store, &mut ride, now.plus_secs(90), |r| {
        let pin = Pin::parse("0427").ok_or(RideError::PinLocked)?;
        match r.start(driver, &pin, 5, now.plus_secs(90))? {
            StartOutcome::Started(event) => Ok(event),
            StartOutcome::WrongPin { .. } => Err(RideError::PinLocked),
        }
    })
    .await?;
    let before = ride.version();
    let end = now.plus_secs(900);
    // 6.5 km to the drop-off (within the fare band of the quote), so that the final fare is the tariff's.
    let trip = TripEnd {
        position: Some(ride.dropoff()),
        driven_m: 6_500,
        street_m: 6_500,
        duration_s: 600,
    };
    let event = ride.complete(
        driver,
        &trip,
        &PricingConfig::default(),
        StopRadii::default(),
        FareBand::default(),
        end,
    )?;
    let posting = ride_fare_posting(&ride, PricingConfig::default().commission_bps, end)?;
    store
        .save_ride_change(RideChange {
            ride: &ride,
            expected_version: before,
            offers: &[],
            events: &[(event, Audience::of_ride(&ride))],
            posting: Some(&posting),
            at: end,
        })
        .await?;
    Ok((ride, posting))
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

// ---------------------------------------------------------------------------------------------------
// The suite

async fn migrating_again_changes_nothing(store: Store) -> TestResult {
    let rider = new_user(&store, Role::Rider, "ann").await?;
    store.migrate().await?;
    store.ping().await?;
    assert_eq!(store.user_by_id(rider.id).await?, Some(rider));
    Ok(())
}

async fn users_round_trip_and_a_taken_email_is_refused(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    assert_eq!(store.user_by_id(ann.id).await?, Some(ann.clone()));
    assert_eq!(
        store.user_by_email(&ann.email).await?,
        Some((ann.clone(), "$argon2id$not-a-real-hash".to_owned()))
    );
    assert_eq!(
        store
            .user_by_email(&Email::parse("nobody@example.com")?)
            .await?,
        None
    );
    assert_eq!(
        store.user_by_id(UserId::from_uuid(Uuid::now_v7())).await?,
        None
    );

    let impostor = User {
        id: UserId::from_uuid(Uuid::now_v7()),
        name: "Ann Again".to_owned(),
        ..ann.clone()
    };
    let taken = store.insert_user(&impostor, "hash").await;
    assert!(matches!(taken, Err(StoreError::EmailTaken)), "{taken:?}");
    assert_eq!(store.user_by_id(impostor.id).await?, None);

    assert_eq!(store.count_users_with_role(Role::Rider).await?, 1);
    assert_eq!(store.count_users_with_role(Role::Driver).await?, 1);
    assert_eq!(store.count_users_with_role(Role::Admin).await?, 0);
    assert_eq!(
        store.user_by_email(&bob.email).await?.map(|(u, _)| u),
        Some(bob)
    );
    Ok(())
}

async fn sessions_last_until_they_expire_and_end_when_deleted(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    store
        .insert_session("aaaa", ann.id, at(0), at(1_000))
        .await?;
    store
        .insert_session("bbbb", ann.id, at(0), at(5_000))
        .await?;
    assert_eq!(
        store.session_user("aaaa", at(999)).await?,
        Some(ann.clone())
    );
    assert_eq!(
        store.session_user("aaaa", at(1_000)).await?,
        None,
        "a session ends at its expiry"
    );
    assert_eq!(store.session_user("cccc", at(0)).await?, None);

    assert_eq!(store.delete_expired_sessions(at(1_000)).await?, 1);
    assert_eq!(store.session_user("bbbb", at(1_000)).await?, Some(ann));
    store.delete_session("bbbb").await?;
    assert_eq!(store.session_user("bbbb", at(1_000)).await?, None);
    store.delete_session("bbbb").await?;
    Ok(())
}

async fn saved_places_round_trip_per_user_and_concurrent_saves_keep_the_limit(
    store: Store,
) -> TestResult {
    use doorstep_domain::saved_place::{PlaceLabel, SavedPlace};
    use doorstep_store::PutPlace;
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let saved =
        |label: &str, ms: i64| -> Result<SavedPlace, Box<dyn std::error::Error + Send + Sync>> {
            Ok(SavedPlace {
                label: PlaceLabel::parse(label)?,
                point: place(40.7580, -73.9855)?,
                name: "Flat".to_owned(),
                address: "1 Union Sq W".to_owned(),
                updated_at: at(ms),
            })
        };
    assert_eq!(
        store.put_saved_place(ann.id, &saved("Gym", 0)?, 2).await?,
        PutPlace::Created
    );
    assert_eq!(
        store.put_saved_place(ann.id, &saved("HOME", 1)?, 2).await?,
        PutPlace::Created
    );
    let mut moved = saved("gym", 2)?;
    moved.point = place(40.7359, -73.9911)?;
    assert_eq!(
        store.put_saved_place(ann.id, &moved, 2).await?,
        PutPlace::Replaced
    );
    let ann_places = store.saved_places(ann.id).await?;
    assert_eq!(ann_places.len(), 2);
    assert_eq!(ann_places[0], saved("home", 1)?);
    assert_eq!(ann_places[1], moved, "the label's new spelling and point");
    assert!(store.saved_places(bob.id).await?.is_empty());
    assert!(!store.delete_saved_place(bob.id, "gym").await?);
    // Ten concurrent new labels with room for one more of ann's own (home does not count).
    let saves: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let place = saved(&format!("race {i}"), 10 + i);
            tokio::spawn(async move {
                store
                    .put_saved_place(ann.id, &place?, 2)
                    .await
                    .map_err(Into::into)
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for save in saves {
        let outcome: Result<PutPlace, Box<dyn std::error::Error + Send + Sync>> = save.await?;
        outcomes.push(outcome?);
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == PutPlace::Created).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == PutPlace::Full).count(),
        9,
        "{outcomes:?}"
    );
    assert_eq!(store.saved_places(ann.id).await?.len(), 3);
    assert!(store.delete_saved_place(ann.id, "gym").await?);
    assert!(!store.delete_saved_place(ann.id, "gym").await?);
    assert_eq!(store.saved_places(ann.id).await?.len(), 2);
    Ok(())
}

async fn a_websocket_ticket_is_consumed_once_and_only_before_it_expires(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    store
        .insert_ws_ticket("t1", ann.id, at(0), at(30_000))
        .await?;
    store
        .insert_ws_ticket("t2", ann.id, at(0), at(30_000))
        .await?;
    store
        .insert_ws_ticket("t3", ann.id, at(0), at(30_000))
        .await?;
    assert_eq!(
        store.consume_ws_ticket("t1", at(29_999)).await?,
        Some(ann.clone())
    );
    assert_eq!(
        store.consume_ws_ticket("t1", at(29_999)).await?,
        None,
        "a ticket is good for one socket"
    );
    assert_eq!(
        store.consume_ws_ticket("t2", at(30_000)).await?,
        None,
        "a ticket ends at its expiry"
    );
    assert_eq!(store.consume_ws_ticket("nope", at(0)).await?, None);
    // Of two concurrent attempts with one ticket, exactly one wins.
    let (a, b) = tokio::join!(
        store.consume_ws_ticket("t3", at(1)),
        store.consume_ws_ticket("t3", at(1))
    );
    assert_eq!(
        [a?, b?].iter().filter(|u| u.is_some()).count(),
        1,
        "one winner"
    );
    assert_eq!(store.delete_expired_ws_tickets(at(30_000)).await?, 1);
    assert_eq!(store.delete_expired_ws_tickets(at(30_000)).await?, 0);
    Ok(())
}

async fn a_quote_round_trips(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let quote = new_quote(&store, ann.id, at(0)).await?;
    assert_eq!(store.quote(quote.id).await?, Some(quote));
    assert_eq!(store.quote(QuoteId::from_uuid(Uuid::now_v7())).await?, None);
    Ok(())
}

async fn a_ride_round_trip_preserves_every_field(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let (requested, event) = unsaved_ride(&store, ann.id, at(0)).await?;
    let created = store
        .create_ride(
            &requested,
            Some("key-1"),
            &event,
            &Audience::of_ride(&requested),
            at(0),
        )
        .await?;
    let Created::New(stored, stored_event) = created else {
        return Err("a first create must be new".into());
    };
    assert_eq!(stored, requested);
    assert_eq!(stored_event.event, event.clone().into());
    assert_eq!(
        stored_event.recipients,
        [Recipient {
            user: ann.id,
            role: RecipientRole::Customer
        }]
    );
    assert_eq!(store.ride(requested.id()).await?, Some(requested.clone()));

    // Every optional field set at once (no real ride gets here; the store must still keep them all).
    let eur = Currency::parse("EUR")?;
    let full = Ride::from_flat(FlatRide {
        final_fare: Some(fare(7_777)?),
        state: RideState::Cancelled,
        driver: Some(bob.id),
        pickup_eta_s: Some(321),
        excluded_drivers: vec![
            UserId::from_uuid(Uuid::now_v7()),
            UserId::from_uuid(Uuid::now_v7()),
        ],
        assigned_at: Some(at(1_001)),
        arrived_at: Some(at(2_002)),
        started_at: Some(at(3_003)),
        ended_at: Some(at(4_004)),
        cancelled_by: Some(CancelledBy::Admin),
        cancel_fee: Some(Money::new(-1_234, eur)),
        no_driver_reason: Some(NoDriverReason::AllDriversDeclined),
        // A reissued PIN with wrong attempts counted: both change after creation.
        pin: doorstep_domain::code::VerificationCode::restore("9031", 3)?,
        version: requested.version() + 7,
        ..requested.flat()
    });
    store
        .save_ride_change(RideChange {
            ride: &full,
            expected_version: requested.version(),
            offers: &[],
            events: &[],
            posting: None,
            at: at(5_000),
        })
        .await?;
    assert_eq!(store.ride(full.id()).await?, Some(full.clone()));

    // And back to all-empty.
    let cleared = Ride::from_flat(FlatRide {
        version: full.version() + 1,
        ..requested.flat()
    });
    store
        .save_ride_change(RideChange {
            ride: &cleared,
            expected_version: full.version(),
            offers: &[],
            events: &[],
            posting: None,
            at: at(6_000),
        })
        .await?;
    assert_eq!(store.ride(full.id()).await?, Some(cleared));
    assert_eq!(store.ride(RideId::from_uuid(Uuid::now_v7())).await?, None);
    Ok(())
}

async fn retrying_a_ride_request_with_the_same_idempotency_key_returns_the_first_ride(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let cat = new_user(&store, Role::Rider, "cat").await?;
    let (first, event) = unsaved_ride(&store, ann.id, at(0)).await?;
    let created = store
        .create_ride(
            &first,
            Some("tap-1"),
            &event,
            &Audience::of_ride(&first),
            at(0),
        )
        .await?;
    assert!(created.is_new());

    // The retry comes with a new ride id (and here even a new quote): the first ride is the answer.
    let (retry, retry_event) = unsaved_ride(&store, ann.id, at(2_000)).await?;
    let again = store
        .create_ride(
            &retry,
            Some("tap-1"),
            &retry_event,
            &Audience::of_ride(&retry),
            at(2_000),
        )
        .await?;
    assert_eq!(again, Created::Existing(first.clone()));
    assert_eq!(store.ride(retry.id()).await?, None);
    assert_eq!(store.events_of_ride(first.id()).await?.len(), 1);
    assert_eq!(store.rides_of_rider(ann.id, 10).await?, vec![first.clone()]);

    // Keys belong to one rider: another rider may use the same one.
    let (other, other_event) = unsaved_ride(&store, cat.id, at(3_000)).await?;
    let created = store
        .create_ride(
            &other,
            Some("tap-1"),
            &other_event,
            &Audience::of_ride(&other),
            at(3_000),
        )
        .await?;
    assert!(created.is_new());
    Ok(())
}

async fn a_quote_cannot_be_turned_into_two_rides(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let (first, event) = unsaved_ride(&store, ann.id, at(0)).await?;
    store
        .create_ride(&first, None, &event, &Audience::of_ride(&first), at(0))
        .await?;

    let second = Ride::from_flat(FlatRide {
        id: RideId::from_uuid(Uuid::now_v7()),
        ..first.flat()
    });
    let refused = store
        .create_ride(
            &second,
            Some("other-key"),
            &event,
            &Audience::of_ride(&second),
            at(1),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::QuoteAlreadyUsed)),
        "{refused:?}"
    );
    assert_eq!(store.ride(second.id()).await?, None);

    // Sending the very same ride again is a retry, not a second use of the quote.
    let retried = store
        .create_ride(&first, None, &event, &Audience::of_ride(&first), at(2))
        .await?;
    assert_eq!(retried, Created::Existing(first.clone()));
    assert_eq!(store.events_of_ride(first.id()).await?.len(), 1);
    Ok(())
}

async fn a_ride_change_with_a_stale_version_is_a_conflict_and_writes_nothing(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;
    let requested = requested_ride(&store, ann.id, at(0)).await?;
    let stale = requested.clone();
    let (assigned, accepted) = assigned_ride(&store, requested, bob.id, at(1_000)).await?;

    let ride_before = store.ride(assigned.id()).await?;
    let offers_before = store.offers_of_ride(assigned.id()).await?;
    let events_before = store.events_of_ride(assigned.id()).await?;
    let last_event_before = store.last_event_id().await?;

    // A writer still holding the requested ride tries to cancel it with a fee, withdraw the offer and
    // offer the ride to someone else, all from the stale version.
    let mut late = stale.clone();
    let cancelled = late.cancel_by_admin(None, at(9_000))?;
    let late = Ride::from_flat(FlatRide {
        cancel_fee: Some(usd(500)),
        ..late.flat()
    });
    let mut withdrawn = accepted.clone();
    withdrawn.state = OfferState::Withdrawn;
    let new_offer = offer_of(&late, dan.id, at(9_000));
    let fee = Posting::new(
        late.id(),
        PostingKind::CancellationFee,
        at(9_000),
        vec![
            LedgerEntry {
                account: Account::Rider(ann.id),
                amount: usd(-500),
            },
            LedgerEntry {
                account: Account::PlatformFees,
                amount: usd(500),
            },
        ],
    )?;
    let refused = store
        .save_ride_change(RideChange {
            ride: &late,
            expected_version: stale.version(),
            offers: &[withdrawn, new_offer.clone()],
            events: &[
                (cancelled, Audience::of_ride(&late)),
                (offered_event(&new_offer), Audience::default()),
            ],
            posting: Some(&fee),
            at: at(9_000),
        })
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");

    assert_eq!(store.ride(assigned.id()).await?, ride_before);
    assert_eq!(ride_before, Some(assigned.clone()));
    assert_eq!(store.offers_of_ride(assigned.id()).await?, offers_before);
    assert_eq!(offers_before, vec![accepted]);
    assert_eq!(store.offer(new_offer.id).await?, None);
    assert_eq!(store.events_of_ride(assigned.id()).await?, events_before);
    assert_eq!(store.last_event_id().await?, last_event_before);
    assert_eq!(store.postings_of_ride(assigned.id()).await?, vec![]);
    assert_eq!(store.trial_balance().await?, vec![]);

    // A ride that does not exist is a conflict too.
    let ghost = Ride::from_flat(FlatRide {
        id: RideId::from_uuid(Uuid::now_v7()),
        ..assigned.flat()
    });
    let refused = store
        .save_ride_change(RideChange {
            ride: &ghost,
            expected_version: ghost.version(),
            offers: &[],
            events: &[],
            posting: None,
            at: at(9_500),
        })
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    Ok(())
}

async fn an_early_end_and_a_capped_fare_are_stored_with_the_trip_distance(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let (ride, _) = completed_ride(&store, ann.id, bob.id, at(0)).await?;
    assert_eq!(ride.trip_distance_m, Some(6_500));
    assert_eq!(ride.early_end(), None);
    // The same columns with every field set, as a capped early end would leave them.
    let before = ride.version();
    let ride = Ride::from_flat(FlatRide {
        version: before + 1,
        trip_distance_m: Some(4_000_000),
        fare_adjustment: Some(doorstep_domain::pricing::FareAdjustment::CappedAtMaximum),
        early_end: Some(doorstep_domain::ride::EarlyEnd::FarFromDropoff),
        dropoff_distance_m: Some(1_234),
        ..ride.flat()
    });
    store
        .save_ride_change(RideChange {
            ride: &ride,
            expected_version: before,
            offers: &[],
            events: &[],
            posting: None,
            at: at(1_000),
        })
        .await?;
    assert_eq!(store.ride(ride.id()).await?, Some(ride));
    Ok(())
}

async fn a_ride_lifecycle_writes_ride_offers_events_and_posting_together(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let (ride, posting) = completed_ride(&store, ann.id, bob.id, at(0)).await?;

    assert_eq!(store.ride(ride.id()).await?, Some(ride.clone()));
    assert_eq!(ride.state(), RideState::Completed);
    let kinds: Vec<&str> = store
        .events_of_ride(ride.id())
        .await?
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert_eq!(
        kinds,
        [
            "requested",
            "offered",
            "driver_assigned",
            "driver_arrived",
            "started",
            "completed"
        ]
    );
    let offers = store.offers_of_ride(ride.id()).await?;
    assert_eq!(
        offers.iter().map(|o| o.state).collect::<Vec<_>>(),
        [OfferState::Accepted]
    );
    assert_eq!(
        store.postings_of_ride(ride.id()).await?,
        vec![posting.clone()]
    );
    assert_eq!(store.trial_balance().await?, vec![usd(0)]);

    let balances = store.account_balances().await?;
    let total = ride.final_fare.as_ref().ok_or("no final fare")?.total;
    assert!(
        balances.contains(&(Account::Rider(ann.id), total.negated())),
        "{balances:?}"
    );
    let driver_share = posting
        .entries()
        .iter()
        .find(|e| e.account == Account::DriverEarnings(bob.id))
        .ok_or("no driver entry")?
        .amount;
    assert!(
        balances.contains(&(Account::DriverEarnings(bob.id), driver_share)),
        "{balances:?}"
    );
    assert_eq!(balances.len(), 3);
    Ok(())
}

async fn a_duplicate_posting_rolls_back_the_whole_ride_change(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let (ride, posting) = completed_ride(&store, ann.id, bob.id, at(0)).await?;
    let events_before = store.events_of_ride(ride.id()).await?;
    let balances_before = store.account_balances().await?;

    let again = Ride::from_flat(FlatRide {
        version: ride.version() + 1,
        ..ride.flat()
    });
    let refused = store
        .save_ride_change(RideChange {
            ride: &again,
            expected_version: ride.version(),
            offers: &[],
            events: &[(
                RideEvent::Completed {
                    driver: bob.id,
                    fare: usd(1),
                    distance_m: None,
                    fare_adjustment: None,
                    early_end: None,
                },
                Audience::of_ride(&again),
            )],
            posting: Some(&posting),
            at: at(999_000),
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::DuplicatePosting)),
        "{refused:?}"
    );
    assert_eq!(
        store.ride(ride.id()).await?,
        Some(ride.clone()),
        "the version bump was rolled back"
    );
    assert_eq!(store.events_of_ride(ride.id()).await?, events_before);
    assert_eq!(store.account_balances().await?, balances_before);
    Ok(())
}

async fn of_two_concurrent_changes_from_the_same_version_exactly_one_wins(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;
    let ride = requested_ride(&store, ann.id, at(0)).await?;

    let mut tasks = Vec::new();
    let expected = ride.version();
    for driver in [bob.id, dan.id] {
        let store = store.clone();
        let mut mine = ride.clone();
        tasks.push(tokio::spawn(async move {
            let event = mine.assign(driver, 120, at(1_000))?;
            let result = store
                .save_ride_change(RideChange {
                    ride: &mine,
                    expected_version: expected,
                    offers: &[],
                    events: &[(event, Audience::of_ride(&mine))],
                    posting: None,
                    at: at(1_000),
                })
                .await;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((driver, result))
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (driver, result) = task.await??;
        match result {
            Ok(events) => {
                assert_eq!(events.len(), 1);
                winners.push(driver);
            }
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one assignment wins");
    let stored = store.ride(ride.id()).await?.ok_or("ride vanished")?;
    assert_eq!(stored.driver(), winners.first().copied());
    assert_eq!(store.events_of_ride(ride.id()).await?.len(), 2);
    Ok(())
}

async fn events_for_a_user_are_theirs_only_ascending_and_after_the_given_id(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let cat = new_user(&store, Role::Rider, "cat").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;
    assert_eq!(store.last_event_id().await?, 0);

    let anns = requested_ride(&store, ann.id, at(0)).await?;
    let cats = requested_ride(&store, cat.id, at(10)).await?;
    let (_, offered_to_dan) = offer_ride(&store, &cats, dan.id, at(20)).await?;
    let (mut anns, _) = assigned_ride(&store, anns, bob.id, at(30)).await?;
    // Ann cancels before Bob arrives, so Bob is free for Cat's ride (one job under way at a time).
    step(&store, &mut anns, at(6_000), |r| {
        r.cancel_by_rider(ann.id, &PricingConfig::default(), at(6_000))
    })
    .await?;
    let (cats, _) = assigned_ride(&store, cats, bob.id, at(7_000)).await?;

    let all = store.events_after(0, 100).await?;
    assert_eq!(all.len(), 2 + 1 + 2 + 1 + 2);
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "ids only grow: {all:?}"
    );
    assert_eq!(store.last_event_id().await?, all.last().map_or(0, |e| e.id));

    for user in [ann.id, cat.id, bob.id, dan.id] {
        let mine = store.events_for_user(user, 0, 100).await?;
        let expected: Vec<StoredEvent> = all.iter().filter(|e| e.is_for(user)).cloned().collect();
        assert_eq!(mine, expected);
    }
    assert_eq!(store.events_for_user(dan.id, 0, 100).await?, offered_to_dan);

    // Ann sees her request, her assignment and her cancellation; the offer went to Bob only.
    let anns_events = store.events_for_user(ann.id, 0, 100).await?;
    let kinds: Vec<&str> = anns_events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, ["requested", "driver_assigned", "cancelled"]);
    assert!(anns_events.iter().all(|e| e.job_id == anns.id().into()));

    // Bob: two offers, two assignments and a cancellation, across both rides; resuming after the second
    // one gives the rest.
    let bobs = store.events_for_user(bob.id, 0, 100).await?;
    assert_eq!(bobs.len(), 5);
    let rest = store.events_for_user(bob.id, bobs[1].id, 100).await?;
    assert_eq!(rest, bobs[2..].to_vec());
    assert_eq!(
        store.events_for_user(bob.id, 0, 1).await?,
        bobs[..1].to_vec()
    );
    assert_eq!(
        store.events_for_user(bob.id, bobs[4].id, 100).await?,
        vec![]
    );
    assert!(rest.iter().any(|e| e.job_id == cats.id().into()));

    let after_first = store.events_after(all[0].id, 2).await?;
    assert_eq!(after_first, all[1..3].to_vec());
    Ok(())
}

/// Many transactions append events for one shared recipient (and one of a few others each) at once,
/// while a reader resumes again and again from the last id it saw, a few events at a time, as a
/// reconnecting client does, and an operator reads the whole log the same way. Each must end up with
/// every event exactly once, in ascending id order. On PostgreSQL ids are drawn before commit: without the
/// per-recipient cursor (for the recipient) or the visibility horizon (for the operator), or the old
/// table lock, a later id commits first now and then, the reader moves past it, and the earlier one is
/// never read.
async fn a_reader_resuming_during_many_concurrent_writers_sees_each_of_its_events_once_in_order(
    store: Store,
) -> TestResult {
    const WRITERS: usize = 16;
    const RIDES_PER_WRITER: usize = 60;
    let watcher = new_user(&store, Role::Rider, "watcher").await?;
    let mut drivers = Vec::new();
    for i in 0..4 {
        drivers.push(
            new_user(&store, Role::Driver, &format!("driver{i}"))
                .await?
                .id,
        );
    }
    // Even writers write for the watcher (and one of the drivers); odd ones each for a rider of their
    // own, so their transactions share no recipient and commit in any order.
    let mut loners = Vec::new();
    for w in 0..WRITERS / 2 {
        loners.push(
            new_user(&store, Role::Rider, &format!("loner{w}"))
                .await?
                .id,
        );
    }
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let drivers = drivers.clone();
        let (watcher, loner) = (watcher.id, loners[w / 2]);
        writers.spawn(async move {
            for i in 0..RIDES_PER_WRITER {
                let (rider, audience) = if w % 2 == 0 {
                    let driver = drivers[(w / 2 + i) % drivers.len()];
                    (
                        watcher,
                        Audience {
                            rider: Some(watcher),
                            driver: Some(driver),
                        },
                    )
                } else {
                    (
                        loner,
                        Audience {
                            rider: Some(loner),
                            driver: None,
                        },
                    )
                };
                let (ride, event) = unsaved_ride(&store, rider, at(0)).await?;
                store
                    .create_ride(&ride, None, &event, &audience, at(0))
                    .await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
    }
    // The watcher resumes from its own events and an operator from the whole log, each in a loop of its
    // own, until the writers are done and a last read finds nothing new.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = |operator: bool| {
        let (store, writing, watcher) = (store.clone(), writing.clone(), watcher.id);
        tokio::spawn(async move {
            let (mut seen, mut last) = (Vec::<i64>::new(), 0);
            loop {
                let still_writing = writing.load(std::sync::atomic::Ordering::SeqCst);
                let page = if operator {
                    store.events_after(last, 100).await?
                } else {
                    store.events_for_user(watcher, last, 5).await?
                };
                if page.is_empty() && !still_writing {
                    return Ok::<_, StoreError>(seen);
                }
                for e in &page {
                    assert!(
                        e.id > last,
                        "delivered in ascending order: {} after {last}",
                        e.id
                    );
                    seen.push(e.id);
                    last = e.id;
                }
            }
        })
    };
    let (watching, operating) = (reader(false), reader(true));
    while let Some(done) = writers.join_next().await {
        done??;
    }
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    let seen = watching.await??;
    let operator_seen = operating.await??;
    let all: Vec<i64> = store
        .events_for_user(watcher.id, 0, 100_000)
        .await?
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all.len(), WRITERS / 2 * RIDES_PER_WRITER);
    let missed: Vec<i64> = all
        .iter()
        .copied()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missed.is_empty(),
        "the resuming reader never saw {missed:?}"
    );
    assert_eq!(seen, all, "each event once, in order");
    let everything: Vec<i64> = store
        .events_after(0, 100_000)
        .await?
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(everything.len(), WRITERS * RIDES_PER_WRITER);
    let operator_missed: Vec<i64> = everything
        .iter()
        .copied()
        .filter(|id| !operator_seen.contains(id))
        .collect();
    assert!(
        operator_missed.is_empty(),
        "the operator's feed never saw {operator_missed:?}"
    );
    assert_eq!(
        operator_seen, everything,
        "the operator's feed: each event once, in order"
    );
    // Each driver got its own share, in order too.
    for driver in drivers {
        let theirs = store.events_for_user(driver, 0, 100_000).await?;
        assert_eq!(theirs.len(), WRITERS / 2 * RIDES_PER_WRITER / 4);
        assert!(theirs.windows(2).all(|w| w[0].id < w[1].id));
    }
    Ok(())
}

async fn a_user_named_twice_among_the_recipients_receives_the_event_once(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let (ride, event) = unsaved_ride(&store, ann.id, at(0)).await?;
    let twice = Audience {
        rider: Some(ann.id),
        driver: Some(ann.id),
    };
    let Created::New(_, stored) = store
        .create_ride(&ride, None, &event, &twice, at(0))
        .await?
    else {
        return Err("a first create must be new".into());
    };
    let once = [Recipient {
        user: ann.id,
        role: RecipientRole::Customer,
    }];
    assert_eq!(stored.recipients, once);
    let read = store.events_for_user(ann.id, 0, 10).await?;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].recipients, once);
    Ok(())
}

/// A database with events written before the recipients table (rider_id / driver_id columns) keeps, for
/// every event, exactly its rider as customer and its driver as worker; each user's sequence continues
/// after the migrated events.
async fn existing_events_keep_exactly_their_recipients_through_migration_0005(
    store: Store,
    url: String,
) -> TestResult {
    store.migrate_through(4).await?;
    let pool = sqlx::AnyPool::connect(&url).await?;
    let (rider, driver, other) = (
        UserId::from_uuid(Uuid::now_v7()),
        UserId::from_uuid(Uuid::now_v7()),
        UserId::from_uuid(Uuid::now_v7()),
    );
    for (user, role) in [(rider, "rider"), (driver, "driver"), (other, "rider")] {
        sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) \
             VALUES ($1, $2, 'Old', $3, 'x', 0)",
        )
        .bind(user.to_string())
        .bind(format!("{user}@example.com"))
        .bind(role)
        .execute(&pool)
        .await?;
    }
    let ride = RideId::from_uuid(Uuid::now_v7());
    sqlx::query(
        "INSERT INTO rides (id, rider_id, quote_id, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng, \
         quoted_fare, state, driver_id, pin, excluded_drivers, requested_at, version, updated_at) \
         VALUES ($1, $2, $3, 40.75, -73.98, 40.71, -74.0, '{}', 'driver_assigned', $4, '0427', '[]', 0, 1, 0)",
    )
    .bind(ride.to_string())
    .bind(rider.to_string())
    .bind(Uuid::now_v7().to_string())
    .bind(driver.to_string())
    .execute(&pool)
    .await?;
    let payload = serde_json::to_string(&RideEvent::PinLocked)?;
    // Rider only, driver only, both, neither (operators only), and the other rider's.
    let audiences = [
        (Some(rider), None),
        (None, Some(driver)),
        (Some(rider), Some(driver)),
        (None, None),
        (Some(other), None),
    ];
    for (i, (r, d)) in audiences.iter().enumerate() {
        sqlx::query(
            "INSERT INTO events (ride_id, rider_id, driver_id, kind, payload, at) \
             VALUES ($1, $2, $3, 'pin_locked', $4, $5)",
        )
        .bind(ride.to_string())
        .bind(r.map(|u| u.to_string()))
        .bind(d.map(|u| u.to_string()))
        .bind(&payload)
        .bind(i64::try_from(i)?)
        .execute(&pool)
        .await?;
    }
    pool.close().await;
    store.migrate().await?;

    let customer = |user| Recipient {
        user,
        role: RecipientRole::Customer,
    };
    let worker = |user| Recipient {
        user,
        role: RecipientRole::Worker,
    };
    let all = store.events_after(0, 100).await?;
    let recipients: Vec<Vec<Recipient>> = all.iter().map(|e| e.recipients.clone()).collect();
    assert_eq!(
        recipients,
        [
            vec![customer(rider)],
            vec![worker(driver)],
            vec![customer(rider), worker(driver)],
            vec![],
            vec![customer(other)],
        ]
    );
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    let riders: Vec<i64> = store
        .events_for_user(rider, 0, 100)
        .await?
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(riders, [ids[0], ids[2]]);
    let drivers: Vec<i64> = store
        .events_for_user(driver, 0, 100)
        .await?
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(drivers, [ids[1], ids[2]]);
    assert_eq!(store.last_event_id_for(rider).await?, ids[2]);

    // The rider's sequence goes on after the migrated events.
    let (next, event) = unsaved_ride(&store, rider, at(10)).await?;
    store
        .create_ride(&next, None, &event, &Audience::of_ride(&next), at(10))
        .await?;
    let riders = store.events_for_user(rider, 0, 100).await?;
    assert_eq!(riders.len(), 3);
    assert_eq!(riders[2].event, event.clone().into());
    Ok(())
}

async fn postings_balance_to_zero_and_a_repeat_is_refused(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let ride = requested_ride(&store, ann.id, at(0)).await?;
    assert_eq!(store.trial_balance().await?, vec![]);

    let fee = Posting::new(
        ride.id(),
        PostingKind::CancellationFee,
        at(5_000),
        vec![
            LedgerEntry {
                account: Account::Rider(ann.id),
                amount: usd(-500),
            },
            LedgerEntry {
                account: Account::DriverEarnings(bob.id),
                amount: usd(400),
            },
            LedgerEntry {
                account: Account::PlatformFees,
                amount: usd(100),
            },
        ],
    )?;
    store.insert_posting(&fee).await?;
    assert_eq!(store.trial_balance().await?, vec![usd(0)]);
    let balances = store.account_balances().await?;
    let mut expected = vec![
        (Account::DriverEarnings(bob.id), usd(400)),
        (Account::PlatformFees, usd(100)),
        (Account::Rider(ann.id), usd(-500)),
    ];
    expected.sort_by_key(|(account, _)| account.key());
    assert_eq!(balances, expected);

    let repeated = store.insert_posting(&fee).await;
    assert!(
        matches!(repeated, Err(StoreError::DuplicatePosting)),
        "{repeated:?}"
    );
    assert_eq!(
        store.account_balances().await?,
        expected,
        "the repeat wrote no entries"
    );
    assert_eq!(store.postings_of_ride(ride.id()).await?, vec![fee]);

    // Another currency is summed apart.
    let eur = Currency::parse("EUR")?;
    let fare_in_eur = Posting::new(
        ride.id(),
        PostingKind::RideFare,
        at(6_000),
        vec![
            LedgerEntry {
                account: Account::Rider(ann.id),
                amount: Money::new(-900, eur),
            },
            LedgerEntry {
                account: Account::PlatformCommission,
                amount: Money::new(900, eur),
            },
        ],
    )?;
    store.insert_posting(&fare_in_eur).await?;
    assert_eq!(store.trial_balance().await?, vec![Money::zero(eur), usd(0)]);
    assert!(
        store
            .account_balances()
            .await?
            .contains(&(Account::Rider(ann.id), Money::new(-900, eur)))
    );
    Ok(())
}

async fn a_driver_statement_lists_the_earnings_of_the_period_oldest_first(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;
    let mut rides = Vec::new();
    // (driver, when, earning): Bob at 3 s, 1 s, 2 s (inserted out of order), 10 s (past the period); Dan at 1.5 s.
    for (driver, when, earning) in [
        (bob.id, 3_000, 300),
        (bob.id, 1_000, 100),
        (bob.id, 2_000, 200),
        (bob.id, 10_000, 1_000),
        (dan.id, 1_500, 150),
    ] {
        let ride = requested_ride(&store, ann.id, at(0)).await?;
        let posting = Posting::new(
            ride.id(),
            PostingKind::RideFare,
            at(when),
            vec![
                LedgerEntry {
                    account: Account::Rider(ann.id),
                    amount: usd(-earning - 10),
                },
                LedgerEntry {
                    account: Account::DriverEarnings(driver),
                    amount: usd(earning),
                },
                LedgerEntry {
                    account: Account::PlatformCommission,
                    amount: usd(10),
                },
            ],
        )?;
        store.insert_posting(&posting).await?;
        rides.push(ride.id());
    }
    let statement = store
        .driver_statement(bob.id, at(1_000), at(10_000))
        .await?;
    let line = |i: usize, when: i64, earning: i64| StatementLine {
        ride_id: rides[i],
        kind: PostingKind::RideFare,
        amount: usd(earning),
        at: at(when),
    };
    assert_eq!(
        statement,
        vec![
            line(1, 1_000, 100),
            line(2, 2_000, 200),
            line(0, 3_000, 300)
        ]
    );
    assert_eq!(
        store
            .driver_statement(bob.id, at(10_000), at(10_001))
            .await?,
        vec![line(3, 10_000, 1_000)]
    );
    assert_eq!(
        store.driver_statement(dan.id, at(0), at(100_000)).await?,
        vec![line(4, 1_500, 150)]
    );
    assert_eq!(
        store.driver_statement(ann.id, at(0), at(100_000)).await?,
        vec![]
    );
    Ok(())
}

async fn a_user_can_rate_a_ride_only_once(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    assert_eq!(store.rating_summary(bob.id).await?, (0.0, 0));

    let (first, _) = completed_ride(&store, ann.id, bob.id, at(0)).await?;
    let rating =
        |ride: RideId, from: UserId, to: UserId, stars: u8, when: i64| -> Result<Rating, _> {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Rating {
                ride_id: ride,
                from,
                to,
                stars: Stars::new(stars)?,
                comment: format!("{stars} stars, ünïcödé ok"),
                at: at(when),
            })
        };
    let ann_rates_bob = rating(first.id(), ann.id, bob.id, 5, 1_000_000)?;
    let bob_rates_ann = rating(first.id(), bob.id, ann.id, 4, 1_000_001)?;
    store.insert_rating(&ann_rates_bob).await?;
    store.insert_rating(&bob_rates_ann).await?;
    let again = store
        .insert_rating(&rating(first.id(), ann.id, bob.id, 1, 1_000_002)?)
        .await;
    assert!(matches!(again, Err(StoreError::AlreadyRated)), "{again:?}");
    assert_eq!(
        store.ratings_of_ride(first.id()).await?,
        vec![ann_rates_bob, bob_rates_ann]
    );
    assert_eq!(store.rating_summary(bob.id).await?, (5.0, 1));

    let (second, _) = completed_ride(&store, ann.id, bob.id, at(2_000_000)).await?;
    store
        .insert_rating(&rating(second.id(), ann.id, bob.id, 4, 3_000_000)?)
        .await?;
    assert_eq!(store.rating_summary(bob.id).await?, (4.5, 2));
    assert_eq!(store.rating_summary(ann.id).await?, (4.0, 1));
    Ok(())
}

async fn driver_positions_are_upserted_and_older_ones_are_ignored(store: Store) -> TestResult {
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;
    let eve = new_user(&store, Role::Driver, "eve").await?;
    assert_eq!(store.online_drivers().await?, vec![]);

    store.set_driver_online(bob.id, true, at(0)).await?;
    store.set_driver_online(dan.id, true, at(0)).await?;
    let sorted = |mut v: Vec<(UserId, Option<(LatLng, Timestamp)>)>| {
        v.sort_by_key(|(id, _)| *id);
        v
    };
    assert_eq!(
        store.online_drivers().await?,
        sorted(vec![(bob.id, None), (dan.id, None)])
    );

    let (p1, p2, p3) = (
        place(40.75, -73.99)?,
        place(40.76, -73.98)?,
        place(40.77, -73.97)?,
    );
    // Within one batch the newest position of a driver wins, wherever it comes in the batch.
    store
        .save_driver_positions(&[
            (bob.id, p2, at(2_000)),
            (dan.id, p1, at(1_000)),
            (bob.id, p1, at(1_000)),
        ])
        .await?;
    assert_eq!(
        store.online_drivers().await?,
        sorted(vec![
            (bob.id, Some((p2, at(2_000)))),
            (dan.id, Some((p1, at(1_000))))
        ])
    );
    // A later batch with an older position changes nothing; a newer one moves the driver.
    store
        .save_driver_positions(&[
            (bob.id, p3, at(1_500)),
            (dan.id, p3, at(3_000)),
            (eve.id, p3, at(3_000)),
        ])
        .await?;
    assert_eq!(
        store.online_drivers().await?,
        sorted(vec![
            (bob.id, Some((p2, at(2_000)))),
            (dan.id, Some((p3, at(3_000))))
        ])
    );
    // Going offline keeps the position for when the driver comes back.
    store.set_driver_online(dan.id, false, at(4_000)).await?;
    store.set_driver_online(eve.id, true, at(4_000)).await?;
    assert_eq!(
        store.online_drivers().await?,
        sorted(vec![
            (bob.id, Some((p2, at(2_000)))),
            (eve.id, Some((p3, at(3_000))))
        ])
    );
    store.save_driver_positions(&[]).await?;

    // A batch larger than one statement.
    let mut fleet = Vec::new();
    for i in 0..600 {
        let driver = new_user(&store, Role::Driver, &format!("driver{i}")).await?;
        store.set_driver_online(driver.id, true, at(5_000)).await?;
        let position = place(40.7 + f64::from(i) * 1e-4, -74.0)?;
        fleet.push((driver.id, position, at(6_000)));
    }
    store.save_driver_positions(&fleet).await?;
    let online = store.online_drivers().await?;
    assert_eq!(online.len(), 2 + 600);
    for (driver, position, when) in &fleet {
        assert!(online.contains(&(*driver, Some((*position, *when)))));
    }
    Ok(())
}

async fn rides_are_listed_by_rider_by_driver_and_by_state(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let cat = new_user(&store, Role::Rider, "cat").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;

    let first = requested_ride(&store, ann.id, at(0)).await?;
    let second = requested_ride(&store, ann.id, at(1_000)).await?;
    let third = requested_ride(&store, ann.id, at(2_000)).await?;
    let cats = requested_ride(&store, cat.id, at(3_000)).await?;

    let newest_first: Vec<RideId> = store
        .rides_of_rider(ann.id, 10)
        .await?
        .iter()
        .map(|r| r.id())
        .collect();
    assert_eq!(newest_first, [third.id(), second.id(), first.id()]);
    assert_eq!(store.rides_of_rider(ann.id, 2).await?.len(), 2);
    assert_eq!(store.rides_of_rider(cat.id, 10).await?, vec![cats.clone()]);

    // Bob takes the first ride and cancels it; Dan then takes it. Bob also drives the second.
    let (mut first, _) = assigned_ride(&store, first, bob.id, at(10_000)).await?;
    step(&store, &mut first, at(11_000), |r| {
        r.cancel_by_driver(bob.id, at(11_000))
    })
    .await?;
    assert_eq!(first.excluded_drivers(), vec![bob.id]);
    let (first, _) = assigned_ride(&store, first, dan.id, at(12_000)).await?;
    let (second, _) = assigned_ride(&store, second, bob.id, at(13_000)).await?;
    let mut third = third;
    step(&store, &mut third, at(14_000), |r| {
        r.no_driver_available(NoDriverReason::NoDriversNearby, at(14_000))
    })
    .await?;

    let bobs: Vec<RideId> = store
        .rides_of_driver(bob.id, 10)
        .await?
        .iter()
        .map(|r| r.id())
        .collect();
    assert_eq!(
        bobs,
        [second.id(), first.id()],
        "a cancelled assignment still counts"
    );
    assert_eq!(
        store.rides_of_driver(dan.id, 10).await?,
        vec![first.clone()]
    );
    assert_eq!(store.rides_of_driver(bob.id, 1).await?.len(), 1);

    let open = store
        .rides_in_states(&[RideState::Requested, RideState::DriverAssigned], 10)
        .await?;
    assert_eq!(
        open.iter().map(|r| r.id()).collect::<Vec<_>>(),
        [first.id(), second.id(), cats.id()],
        "oldest first"
    );
    assert_eq!(
        store
            .rides_in_states(&[RideState::NoDriverAvailable], 10)
            .await?,
        vec![third]
    );
    assert_eq!(store.rides_in_states(&[], 10).await?, vec![]);
    assert_eq!(store.rides_in_states(&RideState::ALL, 2).await?.len(), 2);

    let counts = store.count_rides_by_state().await?;
    assert_eq!(counts.len(), RideState::ALL.len());
    let count = |state| {
        counts
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(-1, |(_, n)| *n)
    };
    assert_eq!(count(RideState::Requested), 1);
    assert_eq!(count(RideState::DriverAssigned), 2);
    assert_eq!(count(RideState::NoDriverAvailable), 1);
    assert_eq!(count(RideState::Completed), 0);
    Ok(())
}

async fn a_new_offer_is_refused_to_a_worker_with_work_under_way_or_an_open_offer(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;
    let is_busy = |r: Result<_, Box<dyn std::error::Error + Send + Sync>>| {
        matches!(
            r.map_err(|e| e.downcast::<StoreError>().map(|e| *e)),
            Err(Ok(StoreError::WorkerBusy))
        )
    };
    let first = requested_ride(&store, ann.id, at(0)).await?;
    let second = requested_ride(&store, ann.id, at(1)).await?;
    // Bob holds an open offer (its deadline is 15 s on): a second one is refused and writes nothing.
    let (to_bob, _) = offer_ride(&store, &first, bob.id, at(1_000)).await?;
    assert!(is_busy(
        offer_ride(&store, &second, bob.id, at(2_000)).await
    ));
    assert_eq!(store.offers_of_ride(second.id()).await?, vec![]);
    assert_eq!(store.ride(second.id()).await?, Some(second.clone()));
    let kinds: Vec<&str> = store
        .events_of_ride(second.id())
        .await?
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert_eq!(kinds, ["requested"]);
    // Dan is free.
    let (to_dan, _) = offer_ride(&store, &second, dan.id, at(2_000)).await?;
    assert_eq!(store.offers_of_ride(second.id()).await?, vec![to_dan]);
    // Past its deadline Bob's offer can no longer be accepted, recorded expired or not: he is free.
    let third = requested_ride(&store, ann.id, at(2)).await?;
    assert!(to_bob.expires_at < at(20_000));
    let (mut third, _) = assigned_ride(&store, third, bob.id, at(20_000)).await?;
    assert_eq!(
        store.jobs_under_way_of(bob.id).await?,
        vec![third.id().into()]
    );
    // On his way to a pickup, then on the trip: no new offer.
    let fourth = requested_ride(&store, ann.id, at(3)).await?;
    assert!(is_busy(
        offer_ride(&store, &fourth, bob.id, at(30_000)).await
    ));
    step(&store, &mut third, at(60_000), |r| {
        let at_pickup = Some(r.pickup());
        r.arrive(bob.id, at_pickup, StopRadii::default(), at(60_000))
    })
    .await?;
    assert!(is_busy(
        offer_ride(&store, &fourth, bob.id, at(61_000)).await
    ));
    assert_eq!(store.offers_of_ride(fourth.id()).await?, vec![]);
    // Once the ride is over he is free again.
    step(&store, &mut third, at(70_000), |r| {
        r.cancel_by_rider(ann.id, &PricingConfig::default(), at(70_000))
    })
    .await?;
    assert_eq!(store.jobs_under_way_of(bob.id).await?, vec![]);
    let (again, _) = offer_ride(&store, &fourth, bob.id, at(71_000)).await?;
    assert_eq!(store.offers_of_ride(fourth.id()).await?, vec![again]);
    Ok(())
}

async fn pending_offers_are_listed_per_driver_and_overall(store: Store) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let bob = new_user(&store, Role::Driver, "bob").await?;
    let dan = new_user(&store, Role::Driver, "dan").await?;
    let first = requested_ride(&store, ann.id, at(0)).await?;
    let second = requested_ride(&store, ann.id, at(1)).await?;
    assert_eq!(store.pending_offers().await?, vec![]);

    let (to_bob, _) = offer_ride(&store, &first, bob.id, at(1_000)).await?;
    let (to_dan, _) = offer_ride(&store, &second, dan.id, at(2_000)).await?;
    assert_eq!(store.offer(to_bob.id).await?, Some(to_bob.clone()));
    assert_eq!(
        store.pending_offers_of_driver(bob.id).await?,
        vec![to_bob.clone()]
    );
    assert_eq!(
        store.pending_offers().await?,
        vec![to_bob.clone(), to_dan.clone()]
    );

    // Bob declines: the offer is answered and Bob is excluded from the ride.
    let mut declined = to_bob.clone();
    declined.decline(bob.id, at(3_000))?;
    let mut first = first;
    let before = first.version();
    first.exclude_driver(bob.id);
    store
        .save_ride_change(RideChange {
            ride: &first,
            expected_version: before,
            offers: std::slice::from_ref(&declined),
            events: &[],
            posting: None,
            at: at(3_000),
        })
        .await?;
    assert_eq!(store.pending_offers_of_driver(bob.id).await?, vec![]);
    assert_eq!(store.pending_offers().await?, vec![to_dan]);
    assert_eq!(
        store.offer(to_bob.id).await?.map(|o| o.state),
        Some(OfferState::Declined)
    );
    assert_eq!(
        store
            .ride(first.id())
            .await?
            .map(|r| r.excluded_drivers().to_vec()),
        Some(vec![bob.id])
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// SQLite only

#[tokio::test]
async fn an_in_memory_sqlite_store_keeps_its_data_on_its_one_connection() -> TestResult {
    let store = Store::connect("sqlite::memory:").await?;
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await?;
    let ann = new_user(&store, Role::Rider, "ann").await?;
    let ride = requested_ride(&store, ann.id, at(0)).await?;
    // Sequential calls reuse the one connection, so they see the same database.
    assert_eq!(store.ride(ride.id()).await?, Some(ride));
    assert_eq!(store.last_event_id().await?, 1);
    store.close().await;
    Ok(())
}

#[tokio::test]
async fn a_url_of_another_database_is_refused() -> TestResult {
    let refused = Store::connect("mysql://root:secret@localhost/doorstep").await;
    match refused {
        Err(StoreError::UnsupportedUrl { scheme }) => assert_eq!(scheme, "mysql"),
        other => return Err(format!("expected UnsupportedUrl, got {other:?}").into()),
    }
    assert_eq!(Backend::from_url("postgresql://x@y/z")?, Backend::Postgres);
    Ok(())
}

#[test]
fn a_postgres_url_gets_its_database_name_replaced() -> TestResult {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1")?,
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "t2")?,
        "postgres://u:p@h/t2?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "t3")?,
        "postgres://h:5432/t3"
    );
    Ok(())
}

#[tokio::test]
async fn a_sqlite_file_is_switched_to_write_ahead_logging() -> TestResult {
    use sqlx::Connection as _;
    let path = std::env::temp_dir().join(format!("doorstep_test_{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    store.close().await;
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    assert_eq!(mode, "wal");
    Ok(())
}

async fn expired_sessions_and_unused_expired_quotes_are_purged_and_nothing_else(
    store: Store,
) -> TestResult {
    let ann = new_user(&store, Role::Rider, "ann").await?;
    store
        .insert_session("expired", ann.id, at(0), at(1_000))
        .await?;
    store
        .insert_session("current", ann.id, at(0), at(1_000_000))
        .await?;
    // Quotes expire 300 s after they are made: one unused, one that became a ride, one still valid.
    let unused = new_quote(&store, ann.id, at(0)).await?;
    let (ride, event) = unsaved_ride(&store, ann.id, at(0)).await?;
    store
        .create_ride(&ride, None, &event, &Audience::of_ride(&ride), at(0))
        .await?;
    let fresh = new_quote(&store, ann.id, at(600_000)).await?;

    let now = at(400_000);
    assert_eq!(store.delete_expired_sessions(now).await?, 1);
    assert_eq!(store.delete_expired_unused_quotes(now).await?, 1);
    assert_eq!(store.session_user("expired", at(0)).await?, None);
    assert_eq!(store.session_user("current", now).await?, Some(ann.clone()));
    assert_eq!(store.quote(unused.id).await?, None);
    assert!(
        store.quote(ride.quote_id).await?.is_some(),
        "a ride keeps its quote"
    );
    assert!(store.quote(fresh.id).await?.is_some());
    assert_eq!(store.ride(ride.id()).await?, Some(ride));
    Ok(())
}

/// A delivery and a house call (the job kinds that have no service table yet) are stored and read back
/// whole: merchant, requirements, load, windows, service times, proofs with their wrong attempts, stop
/// states and completions, worker history; a stale version is refused.
async fn jobs_of_every_kind_round_trip_with_their_stops_and_versions(store: Store) -> TestResult {
    use doorstep_domain::code::VerificationCode;
    use doorstep_domain::job::{Job, NewDeliveryJob, NewHouseCallJob, StopOutcome, TimeWindow};
    use doorstep_domain::worker::Skill;
    use doorstep_domain::{JobId, MerchantId};

    let ann = new_user(&store, Role::Rider, "ann").await?;
    let cat = new_user(&store, Role::Driver, "cat").await?;
    let merchant = MerchantId::from_uuid(Uuid::now_v7());
    let kitchen = place(40.7420, -73.9890)?;
    let door = place(40.7480, -73.9850)?;
    let (mut delivery, _) = Job::delivery(
        NewDeliveryJob {
            id: JobId::from_uuid(Uuid::now_v7()),
            customer: ann.id,
            merchant,
            pickup: kitchen,
            dropoff: door,
            ready_at: at(600_000),
            deliver_by: at(2_400_000),
            pickup_service_s: 120,
            dropoff_service_s: 60,
            handover: Some(VerificationCode::restore("5821", 0)?),
            bags: 2,
        },
        at(0),
    )?;
    store.create_job(&delivery, Some("order-1"), at(0)).await?;
    assert_eq!(store.job(delivery.id).await?, Some(delivery.clone()));

    let before = delivery.version;
    delivery.assign(cat.id, 300, at(1_000))?;
    delivery.arrive(cat.id, 0, kitchen, 100, at(600_000))?;
    delivery.complete_stop(cat.id, 0, None, 5, kitchen, 100, at(700_000))?;
    delivery.arrive(cat.id, 1, door, 100, at(1_200_000))?;
    // A wrong hand-over code is counted on the stop, and the count is stored.
    let outcome = delivery.complete_stop(cat.id, 1, Some("0000"), 5, door, 100, at(1_210_000))?;
    assert!(matches!(
        outcome,
        StopOutcome::WrongProof {
            attempts_left: 4,
            ..
        }
    ));
    store.save_job(&delivery, before, at(1_210_000)).await?;
    let stored = store
        .job(delivery.id)
        .await?
        .ok_or("the delivery is stored")?;
    assert_eq!(stored, delivery);
    assert_eq!(
        stored.stops[1]
            .proof
            .as_ref()
            .map(VerificationCode::failed_attempts),
        Some(1)
    );
    assert!(stored.stops[0].completion.is_some());
    assert_eq!(store.workers_of_job(delivery.id).await?, vec![cat.id]);
    assert!(matches!(
        store.save_job(&delivery, before, at(1_220_000)).await,
        Err(StoreError::Conflict)
    ));

    let (house_call, _) = Job::house_call(
        NewHouseCallJob {
            id: JobId::from_uuid(Uuid::now_v7()),
            customer: ann.id,
            merchant: None,
            place: door,
            slot: TimeWindow::new(at(3_600_000), at(5_400_000))?,
            service_s: 3_600,
            proof: None,
            skills: [Skill::parse("massage")?].into_iter().collect(),
        },
        at(0),
    );
    store.create_job(&house_call, None, at(0)).await?;
    assert_eq!(store.job(house_call.id).await?, Some(house_call));
    assert_eq!(store.job(JobId::from_uuid(Uuid::now_v7())).await?, None);
    Ok(())
}

/// Drivers become workers with the domain's driver capabilities the first time they go online or send a
/// position; a courier's and a provider's capabilities are stored and read back as given.
async fn a_driver_is_a_worker_with_a_car_and_other_workers_keep_their_capabilities(
    store: Store,
) -> TestResult {
    use doorstep_domain::worker::{Capabilities, Skill, VehicleKind};

    let dan = new_user(&store, Role::Driver, "dan").await?;
    let eve = new_user(&store, Role::Driver, "eve").await?;
    assert_eq!(store.worker_capabilities(dan.id).await?, None);
    store.set_driver_online(dan.id, true, at(0)).await?;
    store
        .save_driver_positions(&[(eve.id, place(40.75, -73.98)?, at(1_000))])
        .await?;
    for driver in [dan.id, eve.id] {
        assert_eq!(
            store.worker_capabilities(driver).await?,
            Some(Capabilities::driver())
        );
    }

    let courier = Capabilities {
        vehicle: Some(VehicleKind::Bicycle),
        capacity: 3,
        skills: BTreeSet::new(),
    };
    let provider = Capabilities {
        vehicle: None,
        capacity: 0,
        skills: [Skill::parse("massage")?, Skill::parse("physio")?]
            .into_iter()
            .collect(),
    };
    let (cy, pat) = (
        new_user(&store, Role::Driver, "cy").await?,
        new_user(&store, Role::Driver, "pat").await?,
    );
    store
        .set_worker_capabilities(cy.id, &courier, at(0))
        .await?;
    store
        .set_worker_capabilities(pat.id, &provider, at(0))
        .await?;
    // Going online later keeps what the worker can do.
    store.set_driver_online(cy.id, true, at(2_000)).await?;
    assert_eq!(store.worker_capabilities(cy.id).await?, Some(courier));
    assert_eq!(store.worker_capabilities(pat.id).await?, Some(provider));
    let online: Vec<UserId> = store
        .online_drivers()
        .await?
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert!(online.contains(&dan.id) && online.contains(&cy.id) && !online.contains(&pat.id));
    Ok(())
}
