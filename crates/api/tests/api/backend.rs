//! The databases the suite runs on: a fresh SQLite file or a fresh PostgreSQL database per test, removed
//! afterwards whatever the outcome, and the macro that instantiates every test on both.

use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;
use uuid::Uuid;

/// What a test returns; a failed assertion panics instead.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The environment variable naming a PostgreSQL server (any database on it) the suite may create
/// databases on.
const POSTGRES_URL_VAR: &str = "DOORSTEP_TEST_POSTGRES_URL";

/// When set (CI sets it), a PostgreSQL variant fails instead of skipping if there is no server to run on.
const REQUIRE_POSTGRES_VAR: &str = "DOORSTEP_REQUIRE_POSTGRES";

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database created for one test. Servers started on it (and restarted on it) share its records.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// The connection URL handed to `Store::connect`.
    pub url: String,
}

/// What to remove once a test is done.
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase(String),
}

/// Runs `test` on a fresh database of `engine`, then removes the database, whatever the outcome.
pub async fn run_on<F, Fut>(engine: Engine, name: &str, test: F) -> TestResult
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = TestResult> + Send + 'static,
{
    let (url, cleanup) = match engine {
        Engine::Sqlite => {
            let path = std::env::temp_dir()
                .join(format!("doorstep_api_test_{}.db", Uuid::new_v4().simple()));
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
                &format!("doorstep_api_test_{}", Uuid::new_v4().simple()),
            )?;
            sqlx::any::install_default_drivers();
            <sqlx::Any as sqlx::migrate::MigrateDatabase>::create_database(&url).await?;
            (url.clone(), Cleanup::PostgresDatabase(url))
        }
    };
    // A panicking assertion inside the spawned task comes back as a JoinError, so the database is still
    // removed before the panic is resumed below.
    let outcome = tokio::spawn(test(TestDb { url })).await;
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
            // Forcefully: a server left running by a failed test may still hold connections.
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
