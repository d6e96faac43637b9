//! Data kept: a database made by an earlier release migrates forward, and today's server answers about it
//! what that release answered.
//!
//! A release fixture (`crates/api/tests/fixtures/release-<commit>/`, written by `release_fixture`) holds
//! the release's data as SQL and what its API said. The test builds the release's schema on a fresh
//! database (only the migrations that release had), loads the data, starts today's server on it at the
//! instant the fixture was recorded (which applies every later migration), and checks:
//! - every account still logs in with its password, and the tokens it held still work;
//! - every ride reads the same as its rider, its drivers, an admin and strangers: the same status, and
//!   every field the release returned is present with the same value (new fields are allowed); so does
//!   each timeline;
//! - every user's ride list, pending offers and earnings are the same, and their event stream replays
//!   the same events from the start and resumes after any of them;
//! - the ledger: each ride has the same postings (each rebuilt, so each re-checked for balance), every
//!   account the same balance, and the trial balance is zero;
//! - ratings and idempotency keys are still on record: rating again is refused, and retrying a ride
//!   request with its key returns the same ride.
//!
//! Every difference is collected and reported together, each with the ride, the reader and the JSON path.

use crate::backend::{TestDb, TestResult};
use crate::release_fixture::{fixtures_dir, stream_events, unlimited};
use crate::server::{Account, TestServer, field, let_dispatch_run, test_config};
use doorstep_api::open_sockets::SocketCaps;
use doorstep_app::Clock;
use doorstep_domain::{RideId, Timestamp};
use doorstep_store::{Backend, Store};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection as _, Row as _};
use std::collections::BTreeMap;

pub async fn a_database_of_release_9931377_migrates_forward_and_reads_the_same_with_the_ledger_balanced(
    db: TestDb,
) -> TestResult {
    migrates_forward(db, "release-9931377").await
}

/// The release before rides moved onto jobs (schema 0006: event recipients, trip checks): migrations
/// 0007 (jobs) and 0008 (workers) carry its rides, offers, events, ratings and postings.
pub async fn a_database_of_release_2ffc678_migrates_forward_and_reads_the_same_with_the_ledger_balanced(
    db: TestDb,
) -> TestResult {
    migrates_forward(db, "release-2ffc678").await
}

/// The differences found, each a readable line.
#[derive(Default)]
struct Differences(Vec<String>);

impl Differences {
    fn add(&mut self, line: String) {
        self.0.push(line);
    }

    /// Checks that every field of `recorded` is in `now` with an equal value (objects may have gained
    /// fields; arrays keep their length and order).
    fn compare(&mut self, path: &str, recorded: &Value, now: &Value) {
        match (recorded, now) {
            (Value::Object(was), Value::Object(is)) => {
                for (key, was_value) in was {
                    match is.get(key) {
                        Some(is_value) => {
                            self.compare(&format!("{path}.{key}"), was_value, is_value)
                        }
                        None => self.add(format!("{path}.{key}: missing, was {was_value}")),
                    }
                }
            }
            (Value::Array(was), Value::Array(is)) => {
                if was.len() != is.len() {
                    self.add(format!("{path}: {} items, was {}", is.len(), was.len()));
                }
                for (i, (was_item, is_item)) in was.iter().zip(is).enumerate() {
                    self.compare(&format!("{path}[{i}]"), was_item, is_item);
                }
            }
            (Value::Number(was), Value::Number(is)) => {
                let same = match (was.as_i64(), is.as_i64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => was.as_f64() == is.as_f64(),
                };
                if !same {
                    self.add(format!("{path}: {is}, was {was}"));
                }
            }
            _ => {
                if recorded != now {
                    self.add(format!("{path}: {now}, was {recorded}"));
                }
            }
        }
    }

    /// Checks the status of an answer and, for an error, its code.
    fn compare_reply(
        &mut self,
        path: &str,
        status: u16,
        body: &Value,
        was_status: &Value,
        was_body: &Value,
    ) {
        if was_status.as_u64() != Some(u64::from(status)) {
            self.add(format!(
                "{path}: status {status}, was {was_status}; body {body}"
            ));
        } else {
            self.compare(path, was_body, body);
        }
    }
}

fn text<'a>(v: &'a Value, name: &str) -> TestResult<&'a str> {
    v[name]
        .as_str()
        .ok_or_else(|| format!("the fixture has no string {name:?} in {v}").into())
}

fn list<'a>(v: &'a Value, name: &str) -> TestResult<&'a Vec<Value>> {
    v[name]
        .as_array()
        .ok_or_else(|| format!("the fixture has no list {name:?}").into())
}

/// Builds the release's database from `fixtures/<release>`, migrates it with today's server, and checks
/// that it answers as the release did.
async fn migrates_forward(db: TestDb, release: &str) -> TestResult {
    let dir = fixtures_dir().join(release);
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("rides.json"))?)?;
    let data = std::fs::read_to_string(dir.join("data.sql"))?;
    let schema_version = fixture["schema_version"]
        .as_i64()
        .ok_or("the fixture names its schema_version")?;

    // The release's schema, then its data.
    let store = Store::connect(&db.url).await?;
    store.migrate_through(schema_version).await?;
    store.close().await;
    assert_eq!(
        applied_version(&db.url).await?,
        schema_version,
        "the database has the release's schema, and no later migration, before its data is loaded"
    );
    load(&db.url, &data).await?;

    // Today's server on it, at the instant the fixture was recorded; starting migrates to the latest.
    let at = fixture["clock_ms"]
        .as_i64()
        .ok_or("the fixture has clock_ms")?;
    let clock = Clock::manual(Timestamp::from_millis(at));
    let server = TestServer::launch(
        &db,
        test_config(),
        clock,
        unlimited(),
        SocketCaps::default(),
    )
    .await?;
    // Whatever the dispatcher would do with the restored rides (nothing, if their records are intact)
    // happens before the reads.
    let_dispatch_run().await;
    let mut differences = Differences::default();

    let accounts = accounts(&server, &fixture, &mut differences).await?;
    let labels: BTreeMap<String, String> = list(&fixture, "users")?
        .iter()
        .enumerate()
        .map(|(i, u)| {
            Ok((
                text(u, "id")?.to_owned(),
                format!("{} #{i}", text(u, "role")?),
            ))
        })
        .collect::<TestResult<_>>()?;
    let account = |id: &str| -> TestResult<&Account> {
        accounts
            .get(id)
            .ok_or_else(|| format!("no account {id} in the fixture").into())
    };

    for (i, ride) in list(&fixture, "rides")?.iter().enumerate() {
        let ride_id = text(ride, "ride_id")?;
        let name = format!("ride {i} ({})", text(ride, "scenario")?);
        for read in list(ride, "reads")? {
            let who = text(read, "as")?;
            let path = format!("{name} as {}", labels[who]);
            let reader = account(who)?;
            let got = server
                .get(&format!("/v1/rides/{ride_id}"), &reader.token)
                .await?;
            differences.compare_reply(&path, got.status, &got.body, &read["status"], &read["ride"]);
            let got = server
                .get(&format!("/v1/rides/{ride_id}/events"), &reader.token)
                .await?;
            differences.compare_reply(
                &format!("{path}, timeline"),
                got.status,
                &got.body,
                &read["events_status"],
                &read["events"],
            );
        }
        match postings(&server, ride_id.parse()?).await {
            Ok(postings) => {
                differences.compare(
                    &format!("{name}, postings"),
                    &ride["postings"],
                    &json!(postings),
                );
                if let Value::Array(was) = &ride["postings"]
                    && was.len() < postings.len()
                {
                    // The comparison above sees the recorded ones only.
                    differences.add(format!(
                        "{name}: {} postings, was {}",
                        postings.len(),
                        was.len()
                    ));
                }
            }
            Err(e) => differences.add(format!("{name}: its postings cannot be read: {e}")),
        }
        for rating in list(ride, "ratings")? {
            let from = account(text(rating, "from")?)?;
            let again = server
                .post(
                    &format!("/v1/rides/{ride_id}/rating"),
                    &from.token,
                    json!({"stars": rating["stars"], "comment": rating["comment"]}),
                )
                .await?;
            if (again.status, again.body["code"].as_str()) != (409, Some("already_rated")) {
                differences.add(format!(
                    "{name}: the rating by {} is not on record: rating again answered {} {}",
                    labels[text(rating, "from")?],
                    again.status,
                    again.body
                ));
            }
        }
        let rider = account(text(ride, "rider_id")?)?;
        let retry = server
            .request_with_key(
                rider,
                text(ride, "quote_id")?,
                Some(text(ride, "idempotency_key")?),
            )
            .await?;
        if (retry.status, retry.body["ride_id"].as_str()) != (201, Some(ride_id)) {
            differences.add(format!(
                "{name}: retrying its request with its idempotency key answered {} {}",
                retry.status, retry.body
            ));
        }
    }

    for entry in list(&fixture, "per_user")? {
        let who = text(entry, "as")?;
        let path = labels[who].clone();
        let user = account(who)?;
        let rides = server.get("/v1/rides", &user.token).await?;
        if rides.status != 200 {
            differences.add(format!(
                "{path}: cannot list their rides: {} {}",
                rides.status, rides.body
            ));
            continue;
        }
        let ride_ids: Vec<Value> = rides.body["rides"]
            .as_array()
            .map(|rides| rides.iter().map(|r| r["ride_id"].clone()).collect())
            .unwrap_or_default();
        differences.compare(
            &format!("{path}, ride list"),
            &entry["ride_ids"],
            &json!(ride_ids),
        );
        if entry.get("offers").is_some() {
            let offers = server.get("/v1/offers", &user.token).await?;
            differences.compare_reply(
                &format!("{path}, offers"),
                offers.status,
                &offers.body,
                &json!(200),
                &entry["offers"],
            );
            let earnings = server
                .get(text(entry, "earnings_path")?, &user.token)
                .await?;
            differences.compare_reply(
                &format!("{path}, earnings"),
                earnings.status,
                &earnings.body,
                &json!(200),
                &entry["earnings"],
            );
        }
        let stream = list(entry, "stream")?;
        let Some(last) = stream.last() else {
            continue;
        };
        let last_id = last["id"].as_i64().ok_or("an event with an id")?;
        // Resuming after any event gives exactly the ones after it; the middle one stands for all.
        let middle = stream.len() / 2;
        let after = stream[middle]["id"].as_i64().ok_or("an event with an id")?;
        for (after, expected) in [(0, stream.as_slice()), (after, &stream[middle + 1..])] {
            if expected.is_empty() {
                continue;
            }
            let path = format!("{path}, event stream after {after}");
            match stream_events(&server, user, after, last_id).await {
                Ok(events) => differences.compare(&path, &json!(expected), &json!(events)),
                Err(e) => differences.add(format!("{path}: {e}")),
            }
        }
    }

    let store = server.app.store();
    let money =
        |m: &doorstep_domain::Money| json!({"amount": m.minor, "currency": m.currency.as_str()});
    let trial: Vec<Value> = store.trial_balance().await?.iter().map(money).collect();
    differences.compare("trial balance", &fixture["trial_balance"], &json!(trial));
    if trial.iter().any(|t| t["amount"] != 0) {
        differences.add(format!("the trial balance is not zero: {trial:?}"));
    }
    let balances: Vec<Value> = store
        .account_balances()
        .await?
        .iter()
        .map(|(account, balance)| json!({"account": account.key(), "balance": money(balance)}))
        .collect();
    differences.compare(
        "account balances",
        &fixture["account_balances"],
        &json!(balances),
    );
    server.stop().await?;

    let Differences(found) = differences;
    assert!(
        found.is_empty(),
        "after migrating the database of {release}, {} answers differ from what the release answered:\n{}",
        found.len(),
        found
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}

/// The fixture's accounts: each one's tokens must still work, and its password must still log in. Returns
/// the accounts by id, with a token from a fresh login.
async fn accounts(
    server: &TestServer,
    fixture: &Value,
    differences: &mut Differences,
) -> TestResult<BTreeMap<String, Account>> {
    let password = text(fixture, "password")?;
    let mut accounts = BTreeMap::new();
    for (i, user) in list(fixture, "users")?.iter().enumerate() {
        let id = text(user, "id")?;
        let path = format!("{} #{i}", text(user, "role")?);
        let me = server.get("/v1/me", text(user, "token")?).await?;
        differences.compare_reply(
            &format!("{path}, /v1/me with its old token"),
            me.status,
            &me.body,
            &json!(200),
            &user["me"],
        );
        let login = server
            .call(
                reqwest::Method::POST,
                "/v1/auth/login",
                None,
                Some(&json!({"email": text(user, "email")?, "password": password})),
            )
            .await?;
        if login.status != 200 || login.body["user_id"] != id {
            differences.add(format!(
                "{path}: cannot log in: {} {}",
                login.status, login.body
            ));
            accounts.insert(
                id.to_owned(),
                Account {
                    id: id.to_owned(),
                    token: text(user, "token")?.to_owned(),
                },
            );
            continue;
        }
        accounts.insert(
            id.to_owned(),
            Account {
                id: id.to_owned(),
                token: field(&login.body, "token")?,
            },
        );
    }
    Ok(accounts)
}

/// A ride's postings as the fixture records them. The store rebuilds each one, which fails unless it
/// balances.
async fn postings(server: &TestServer, ride: RideId) -> TestResult<Vec<Value>> {
    Ok(server
        .app
        .store()
        .postings_of_ride(ride)
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
        .collect())
}

/// The highest migration version applied to the database at `url`.
async fn applied_version(url: &str) -> TestResult<i64> {
    let mut conn = AnyConnection::connect(url).await?;
    let version: i64 = sqlx::query("SELECT MAX(version) AS version FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await?
        .try_get("version")?;
    conn.close().await?;
    Ok(version)
}

/// Loads a fixture's `data.sql` into a database migrated to the fixture's schema, in one transaction.
///
/// The file holds one `INSERT` per line. PostgreSQL refuses explicit values for `GENERATED ALWAYS`
/// identity columns unless told `OVERRIDING SYSTEM VALUE` (harmless on other tables), and its identity
/// sequences must then be moved past the loaded ids; SQLite's AUTOINCREMENT follows explicit ids by itself.
pub async fn load(url: &str, data: &str) -> TestResult {
    let backend = Backend::from_url(url)?;
    let mut conn = AnyConnection::connect(url).await?;
    if backend == Backend::Sqlite {
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut conn)
            .await?;
    }
    let mut tx = conn.begin().await?;
    for line in data.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("--") {
            continue;
        }
        let statement = match backend {
            Backend::Sqlite => line.to_owned(),
            Backend::Postgres => {
                line.replacen(") VALUES (", ") OVERRIDING SYSTEM VALUE VALUES (", 1)
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .persistent(false)
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("loading {line}: {e}"))?;
    }
    if backend == Backend::Postgres {
        let identities = sqlx::query(
            "SELECT table_name::text AS tbl, column_name::text AS col FROM information_schema.columns \
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &identities {
            let (table, column): (String, String) = (row.try_get("tbl")?, row.try_get("col")?);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                 COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
            )))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}
