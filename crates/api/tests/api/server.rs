//! A real Doorstep server per test: the app on a test database with a manual clock, served on a socket bound
//! to port 0, and an HTTP client that talks to it.

use crate::backend::{TestDb, TestResult};
use crate::places::Place;
use doorstep_api::open_sockets::SocketCaps;
use doorstep_api::rate_limit::RateLimits;
use doorstep_api::routes::events::StreamTimings;
use doorstep_app::{App, AppConfig, Background, Clock};
use doorstep_domain::Timestamp;
use doorstep_store::Store;
use reqwest::Method;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Wednesday 2026-11-25 14:00 in New York (19:00 UTC): a weekday afternoon, so that the travel model's
/// speeds, and therefore every ETA, are the same on every run.
pub const WEDNESDAY_2PM: Timestamp = Timestamp::from_millis(1_795_633_200_000);

/// How long a test waits for something the server does in the background before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// How often a test polls while it waits: ten requests a second per caller, well within the API's
/// default rate limits.
const POLL: Duration = Duration::from_millis(100);

/// The configuration tests run with: production defaults, but a 50 ms batch window so that dispatch
/// answers quickly, and positions flushed to the store often.
pub fn test_config() -> AppConfig {
    AppConfig {
        batch_window: Duration::from_millis(50),
        position_flush_interval: Duration::from_millis(200),
        ..AppConfig::default()
    }
}

/// Polls `probe` until it returns `Some`, for at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> TestResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = TestResult<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("timed out after {WAIT:?} waiting for {what}").into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Lets the dispatcher run several batches (for checks that something does *not* happen).
pub async fn let_dispatch_run() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

/// A signed-up user and its bearer token.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user id.
    pub id: String,
    /// The bearer token.
    pub token: String,
}

/// An HTTP answer: the status and the body as JSON (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The body, after checking the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Checks that this is an error answer with `status` and the machine code `code`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "unexpected answer: {}",
            self.body
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error carries a message: {}",
            self.body
        );
    }
}

/// A running server and everything a test needs to talk to it.
#[derive(Debug)]
pub struct TestServer {
    /// The app behind the server (for the store's trial balance and admin accounts).
    pub app: App,
    /// The manual clock the app reads.
    pub clock: Clock,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The HTTP client.
    pub http: reqwest::Client,
    shutdown: watch::Sender<bool>,
    serving: JoinHandle<std::io::Result<()>>,
    background: Background,
}

impl TestServer {
    /// Starts a server on `db` with the test configuration and a new manual clock at [`WEDNESDAY_2PM`].
    pub async fn start(db: &TestDb) -> TestResult<TestServer> {
        TestServer::start_with(db, test_config(), Clock::manual(WEDNESDAY_2PM)).await
    }

    /// Starts a server on `db` (migrating it if needed) with `config` and `clock`, and the default rate
    /// limits.
    pub async fn start_with(
        db: &TestDb,
        config: AppConfig,
        clock: Clock,
    ) -> TestResult<TestServer> {
        TestServer::launch(
            db,
            config,
            clock,
            RateLimits::default(),
            SocketCaps::default(),
        )
        .await
    }

    /// Starts a server on `db` with `config`, a new manual clock at [`WEDNESDAY_2PM`] and the rate limits
    /// `limits`.
    pub async fn start_configured(
        db: &TestDb,
        config: AppConfig,
        limits: RateLimits,
    ) -> TestResult<TestServer> {
        TestServer::launch(
            db,
            config,
            Clock::manual(WEDNESDAY_2PM),
            limits,
            SocketCaps::default(),
        )
        .await
    }

    /// Starts a server on `db` with the test configuration and the rate limits `limits`.
    pub async fn start_with_limits(db: &TestDb, limits: RateLimits) -> TestResult<TestServer> {
        TestServer::launch(
            db,
            test_config(),
            Clock::manual(WEDNESDAY_2PM),
            limits,
            SocketCaps::default(),
        )
        .await
    }

    /// Starts a server on `db` with the test configuration and the WebSocket caps `caps`.
    pub async fn start_with_caps(db: &TestDb, caps: SocketCaps) -> TestResult<TestServer> {
        TestServer::launch(
            db,
            test_config(),
            Clock::manual(WEDNESDAY_2PM),
            RateLimits::default(),
            caps,
        )
        .await
    }

    /// Starts a server on `db` with the test configuration and the event stream's timings `timings`.
    pub async fn start_with_timings(db: &TestDb, timings: StreamTimings) -> TestResult<TestServer> {
        TestServer::launch_with(
            db,
            test_config(),
            Clock::manual(WEDNESDAY_2PM),
            RateLimits::default(),
            SocketCaps::default(),
            timings,
        )
        .await
    }

    /// Starts a server on `db` (migrating it if needed) with `config`, `clock`, the rate limits `limits`
    /// and the WebSocket caps `caps`.
    pub async fn launch(
        db: &TestDb,
        config: AppConfig,
        clock: Clock,
        limits: RateLimits,
        caps: SocketCaps,
    ) -> TestResult<TestServer> {
        TestServer::launch_with(db, config, clock, limits, caps, StreamTimings::default()).await
    }

    /// Starts one node of a cluster on `db` (PostgreSQL) with `clock`, the test configuration and
    /// `limits`.
    pub async fn start_node(
        db: &TestDb,
        clock: Clock,
        options: doorstep_app::cluster::ClusterOptions,
        limits: RateLimits,
    ) -> TestResult<TestServer> {
        TestServer::launch_node(
            db,
            test_config(),
            clock,
            limits,
            SocketCaps::default(),
            StreamTimings::default(),
            Some(options),
        )
        .await
    }

    async fn launch_with(
        db: &TestDb,
        config: AppConfig,
        clock: Clock,
        limits: RateLimits,
        caps: SocketCaps,
        timings: StreamTimings,
    ) -> TestResult<TestServer> {
        TestServer::launch_node(db, config, clock, limits, caps, timings, None).await
    }

    async fn launch_node(
        db: &TestDb,
        config: AppConfig,
        clock: Clock,
        limits: RateLimits,
        caps: SocketCaps,
        timings: StreamTimings,
        cluster: Option<doorstep_app::cluster::ClusterOptions>,
    ) -> TestResult<TestServer> {
        let store = Store::connect(&db.url).await?;
        store.migrate().await?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (app, background) = match cluster {
            Some(options) => {
                App::start_cluster(store, config, clock.clone(), shutdown_rx, options).await?
            }
            None => App::start(store, config, clock.clone(), shutdown_rx).await?,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut stop = shutdown.subscribe();
        let serving = tokio::spawn(doorstep_api::serve(
            listener,
            doorstep_api::router_with_timings(app.clone(), limits, caps, timings),
            async move {
                // Also stops when the sender is dropped (a test that failed half-way).
                let _ = stop.wait_for(|stopped| *stopped).await;
            },
        ));
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(WAIT)
            .build()?;
        Ok(TestServer {
            app,
            clock,
            addr,
            http,
            shutdown,
            serving,
            background,
        })
    }

    /// Stops the server and the app's background tasks, then closes the database connections.
    pub async fn stop(self) -> TestResult {
        self.shutdown.send(true)?;
        tokio::time::timeout(WAIT, self.serving).await???;
        tokio::time::timeout(WAIT, self.background.stopped()).await?;
        self.app.store().close().await;
        Ok(())
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The current instant of the manual clock, RFC 3339.
    pub fn now_rfc3339(&self) -> String {
        doorstep_api::dto::rfc3339(self.clock.now())
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResult<Reply> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::reply(request.send().await?).await
    }

    /// Reads a response into a [`Reply`].
    pub async fn reply(response: reqwest::Response) -> TestResult<Reply> {
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, body })
    }

    /// `GET path` as `token`.
    pub async fn get(&self, path: &str, token: &str) -> TestResult<Reply> {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `GET path` as `token`, answered 200 with a text body (`/metrics`).
    pub async fn get_text(&self, path: &str, token: &str) -> TestResult<String> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        Ok(response.text().await?)
    }

    /// `POST path` with a JSON body as `token`.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> TestResult<Reply> {
        self.call(Method::POST, path, Some(token), Some(&body))
            .await
    }

    /// `POST path` without a body as `token`.
    pub async fn post_empty(&self, path: &str, token: &str) -> TestResult<Reply> {
        self.call(Method::POST, path, Some(token), None).await
    }

    /// Signs up a new user with `role` (`rider`, `driver`, ...). A driver is approved at once, as an
    /// operator would approve them in the console (`signup_unapproved` leaves them pending).
    pub async fn signup(&self, role: &str) -> TestResult<Account> {
        let account = self.signup_unapproved(role).await?;
        if role == "driver" {
            let id: doorstep_domain::UserId = account.id.parse().map_err(|_| "a driver id")?;
            self.app
                .store()
                .set_driver_approval(
                    id,
                    doorstep_domain::onboarding::Approval::Approved,
                    None,
                    None,
                    self.clock.now(),
                )
                .await?;
        }
        Ok(account)
    }

    /// Signs up a customer (a rider's account) with a test card that approves (4242 4242 4242 4242),
    /// as the rider app's payment form adds one: food orders are paid with the newest card by default.
    pub async fn customer_with_card(&self) -> TestResult<Account> {
        let customer = self.signup("rider").await?;
        self.add_card(&customer, "4242 4242 4242 4242")
            .await?
            .expect(201);
        Ok(customer)
    }

    /// Adds a test card with `number` to `user`'s payment methods (`POST /v1/me/payment-methods`).
    pub async fn add_card(&self, user: &Account, number: &str) -> TestResult<Reply> {
        self.post(
            "/v1/me/payment-methods",
            &user.token,
            json!({"kind": "test_card", "number": number}),
        )
        .await
    }

    /// Registers a car for `driver`, as the driver app's vehicle form does (an operator's approval
    /// needs one).
    pub async fn register_vehicle(&self, driver: &Account, plate: &str) -> TestResult<Value> {
        let body = json!({"make": "Toyota", "model": "Prius", "colour": "Blue", "plate": plate});
        Ok(self
            .call(
                Method::PUT,
                "/v1/drivers/me/vehicle",
                Some(&driver.token),
                Some(&body),
            )
            .await?
            .expect(200))
    }

    /// Signs up a new user with `role`; a driver waits for an operator's approval.
    pub async fn signup_unapproved(&self, role: &str) -> TestResult<Account> {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({"email": email, "password": "correct horse battery", "name": format!("A {role}"), "role": role});
        let reply = self
            .call(Method::POST, "/v1/auth/signup", None, Some(&body))
            .await?
            .expect(201);
        Ok(Account {
            id: field(&reply, "user_id")?,
            token: field(&reply, "token")?,
        })
    }

    /// Creates an admin account the way the command line does.
    pub async fn admin(&self) -> TestResult<Account> {
        let email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
        let signed = self
            .app
            .create_admin(&email, "correct horse battery", "An admin")
            .await?;
        Ok(Account {
            id: signed.user.id.to_string(),
            token: signed.token.expose().to_owned(),
        })
    }

    /// Reports one position of `driver` at the clock's current instant.
    pub async fn report_position(&self, driver: &Account, place: Place) -> TestResult {
        let points = json!([{"lat": place.lat, "lng": place.lng, "at": self.now_rfc3339()}]);
        let accepted = self
            .post("/v1/drivers/me/locations", &driver.token, points)
            .await?
            .expect(202);
        assert_eq!(
            accepted["accepted"], 1,
            "the position is recent: {accepted}"
        );
        Ok(())
    }

    /// `driver` drives to `place`: the clock moves on by the time a car at 100 km/h needs in a straight
    /// line from the driver's last position (the server refuses faster jumps), then the driver reports
    /// being there. Arriving and completing are judged by the driver's position.
    pub async fn drive_to(&self, driver: &Account, place: Place) -> TestResult {
        let id: doorstep_domain::UserId = driver.id.parse().map_err(|_| "a driver id")?;
        let from = self
            .app
            .with_fleet(|f| f.driver(id).and_then(|d| d.position()));
        if let Some(from) = from {
            let to = doorstep_geo::LatLng::new(place.lat, place.lng)?;
            let metres = doorstep_geo::haversine_km(from, to) * 1000.0;
            let secs = (metres / (100.0 / 3.6)).ceil() as i64;
            self.clock.advance_secs(secs.max(1));
        }
        self.report_position(driver, place).await
    }

    /// Signs up a driver who goes online at `place`.
    pub async fn driver_at(&self, place: Place) -> TestResult<Account> {
        let driver = self.signup("driver").await?;
        self.go_online_at(&driver, place).await?;
        Ok(driver)
    }

    /// `driver` goes online and reports being at `place` now.
    pub async fn go_online_at(&self, driver: &Account, place: Place) -> TestResult {
        let online = self
            .post_empty("/v1/drivers/me/online", &driver.token)
            .await?
            .expect(200);
        assert_eq!(online["online"], true);
        self.report_position(driver, place).await
    }

    /// The ledger's sum per currency (every sum must be zero).
    pub async fn trial_balance(&self) -> TestResult<Vec<i64>> {
        Ok(self
            .app
            .store()
            .trial_balance()
            .await?
            .iter()
            .map(|m| m.minor)
            .collect())
    }
}

/// A string field of a JSON object.
pub fn field(v: &Value, name: &str) -> TestResult<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no string field {name:?} in {v}").into())
}

/// The `amount` of a money object `{amount, currency}` in USD.
#[track_caller]
pub fn usd(money: &Value) -> i64 {
    assert_eq!(money["currency"], "USD", "money in USD: {money}");
    money["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("money has an integer amount: {money}"))
}
