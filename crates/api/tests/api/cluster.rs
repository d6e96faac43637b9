//! Several nodes on one PostgreSQL record and NATS (issue 13): one node owns the city's dispatcher,
//! the others serve the API and sockets; events, positions and revocations cross nodes; another node
//! takes the city over when the owner goes. Needs NATS with JetStream at `DOORSTEP_TEST_NATS_URL`
//! (default `nats://127.0.0.1:4222`); without it the tests print `NATS_SKIPPED` and pass, unless
//! `DOORSTEP_REQUIRE_NATS` is set (CI sets it).

use crate::backend::{TestDb, TestResult};
use crate::event_stream::EventStream;
use crate::places::{BRYANT_PARK, FIFTH_AVE_34TH, TIMES_SQUARE, UNION_SQUARE};
use crate::ride_steps::types;
use crate::server::{TestServer, WEDNESDAY_2PM, eventually, field};
use doorstep_api::rate_limit::RateLimits;
use doorstep_app::Clock;
use doorstep_app::cluster::ClusterOptions;
use std::io::Write as _;
use std::time::Duration;

/// The NATS server to run on, or `None` (after saying so) when there is none and none is required.
async fn nats() -> TestResult<Option<String>> {
    let url = std::env::var("DOORSTEP_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let host = url.trim_start_matches("nats://").to_owned();
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(host.as_str()),
    )
    .await
    .is_ok_and(|c| c.is_ok());
    if reachable {
        return Ok(Some(url));
    }
    writeln!(
        std::io::stderr(),
        "NATS_SKIPPED: no NATS server at {url}, so the cluster tests did not run"
    )?;
    if std::env::var_os("DOORSTEP_REQUIRE_NATS").is_some_and(|v| !v.is_empty()) {
        return Err(
            format!("DOORSTEP_REQUIRE_NATS is set but NATS at {url} does not answer").into(),
        );
    }
    Ok(None)
}

/// Options of node `node` in a cluster of its own (a fresh name per test, so that tests and runs
/// sharing the machine's NATS never meet), with a short lease.
fn node(url: &str, cluster: &str, node: &str) -> ClusterOptions {
    let mut options = ClusterOptions::new(url, node);
    options.name = cluster.to_owned();
    options.lease_ttl = Duration::from_secs(2);
    options
}

/// Node `id` of cluster `cluster` on `db`, with the default rate limits.
async fn start(
    db: &TestDb,
    clock: &Clock,
    url: &str,
    cluster: &str,
    id: &str,
) -> TestResult<TestServer> {
    TestServer::start_node(
        db,
        clock.clone(),
        node(url, cluster, id),
        RateLimits::default(),
    )
    .await
}

/// Waits until `server` owns the city; returns the epoch.
async fn owns(server: &TestServer) -> TestResult<i64> {
    eventually("the node to own the city", || async {
        Ok(server.app.cluster().and_then(|c| c.owned_epoch()))
    })
    .await
}

pub async fn two_nodes_serve_one_city_with_one_dispatcher_and_the_second_takes_it_over(
    db: TestDb,
) -> TestResult {
    let Some(url) = nats().await? else {
        return Ok(());
    };
    let name = format!("t{}", uuid::Uuid::new_v4().simple());
    let clock = Clock::manual(WEDNESDAY_2PM);
    let a = start(&db, &clock, &url, &name, "a").await?;
    let first_epoch = owns(&a).await?;
    let b = start(&db, &clock, &url, &name, "b").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        b.app.cluster().is_some_and(|c| !c.owns_city()),
        "exactly one node owns the city"
    );
    let ready = b.get_text("/readyz", "").await?;
    assert!(
        ready.contains("node: b") && ready.contains("leases: none"),
        "{ready}"
    );
    let ready = a.get_text("/readyz", "").await?;
    assert!(
        ready.contains(&format!("lease: manhattan epoch {first_epoch}")),
        "{ready}"
    );

    // The rider and the driver use node B only; A runs the dispatcher.
    let rider = b.signup("rider").await?;
    let driver = b.driver_at(BRYANT_PARK).await?;
    let mut rider_events = EventStream::open(&b, &rider.token, None).await?;
    let mut driver_events = EventStream::open(&b, &driver.token, None).await?;
    let ride = b.request_ride(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let ride_id = field(&ride, "ride_id")?;
    // A's dispatcher heard of the driver and the ride from B, and the offer reaches B's socket.
    let offered = driver_events.next_event().await?;
    assert_eq!(offered["type"], "offered", "{offered}");
    assert_eq!(offered["ride_id"], ride_id.as_str());
    // The driver answers on node A.
    a.accept(&driver, &offered).await?;
    let assigned = b.ride(&rider, &ride_id).await?;
    assert_eq!(assigned["state"], "driver_assigned");
    assert!(assigned["pin"].is_string(), "{assigned}");

    // The trip starts with A still the owner: the driver's positions reach A through B, and A keeps
    // the trip's odometer in the record.
    let pin = field(&b.ride(&rider, &ride_id).await?, "pin")?;
    b.drive_to(&driver, TIMES_SQUARE).await?;
    b.post_empty(&format!("/v1/rides/{ride_id}/arrive"), &driver.token)
        .await?
        .expect(200);
    b.post(
        &format!("/v1/rides/{ride_id}/start"),
        &driver.token,
        serde_json::json!({ "pin": pin }),
    )
    .await?
    .expect(200);
    b.drive_to(&driver, FIFTH_AVE_34TH).await?;
    let job: doorstep_domain::JobId = ride_id.parse().map_err(|_| "a ride id")?;
    let kept = eventually("the owner to keep the trip's odometer", || async {
        Ok(b.app
            .store()
            .open_odometers()
            .await?
            .into_iter()
            .find(|o| o.job == job && o.metres > 1000.0)
            .map(|o| o.metres))
    })
    .await?;

    // A token revoked on one node fails on the other at once (B has it cached by now).
    let other = a.signup("rider").await?;
    b.get("/v1/me", &other.token).await?.expect(200);
    a.post_empty("/v1/auth/logout", &other.token)
        .await?
        .expect(204);
    eventually("the revocation to reach node B", || async {
        Ok((b.get("/v1/me", &other.token).await?.status == 401).then_some(()))
    })
    .await?;

    // A goes; B takes the city over with the next epoch and carries on with the ride. The driver
    // reaches the drop-off while nobody owns the city (B hears it, A is gone): B's takeover keeps that
    // point on top of what it restores from the record.
    a.stop().await?;
    b.drive_to(&driver, UNION_SQUARE).await?;
    let second_epoch = owns(&b).await?;
    assert!(second_epoch > first_epoch, "{second_epoch} > {first_epoch}");
    let fences = b.app.store().city_fence("manhattan").await?;
    assert_eq!(fences, Some((second_epoch, "b".to_owned())));
    let completed = b
        .post_empty(&format!("/v1/rides/{ride_id}/complete"), &driver.token)
        .await?
        .expect(200);
    assert_eq!(completed["state"], "completed");
    // The fare counts the whole trip: the part driven while A owned the city (kept in the record and
    // restored by B's takeover) and the rest.
    let straight = |from: crate::places::Place, to: crate::places::Place| -> TestResult<f64> {
        Ok(doorstep_geo::haversine_km(
            doorstep_geo::LatLng::new(from.lat, from.lng)?,
            doorstep_geo::LatLng::new(to.lat, to.lng)?,
        ) * 1000.0)
    };
    let first_leg = straight(TIMES_SQUARE, FIFTH_AVE_34TH)?;
    let whole = first_leg + straight(FIFTH_AVE_34TH, UNION_SQUARE)?;
    let charged = completed["trip_distance_m"]
        .as_f64()
        .ok_or("a trip distance")?;
    assert!(kept >= first_leg * 0.99, "kept {kept} of {first_leg}");
    assert!(
        (whole * 0.99..=whole * 1.01).contains(&charged),
        "charged for {charged} m of a {whole} m trip"
    );

    // The rider's socket on B saw each event of the ride once, in order, whichever node made it.
    let seen = rider_events.events_until("completed").await?;
    assert_eq!(
        types(&seen),
        [
            "requested",
            "driver_assigned",
            "driver_arrived",
            "started",
            "completed"
        ]
    );
    let timeline = crate::ride_steps::ids(&b.timeline(&rider, &ride_id).await?);
    assert_eq!(crate::ride_steps::ids(&seen), timeline);
    let extra = rider_events
        .next_message_within(Duration::from_millis(300))
        .await?;
    assert!(
        extra.as_ref().is_none_or(|m| m["type"] == "location"),
        "nothing is delivered twice: {extra:?}"
    );
    let balance = b.trial_balance().await?;
    assert!(balance.iter().all(|&s| s == 0), "{balance:?}");
    rider_events.close().await?;
    driver_events.close().await?;
    b.stop().await
}

pub async fn the_other_node_sees_the_owners_cars_and_providers_and_a_client_gets_its_rate_limit_once(
    db: TestDb,
) -> TestResult {
    let Some(url) = nats().await? else {
        return Ok(());
    };
    let name = format!("t{}", uuid::Uuid::new_v4().simple());
    let clock = Clock::manual(WEDNESDAY_2PM);
    let limits = RateLimits {
        per_token_per_sec: 1,
        per_token_burst: 20,
        ..RateLimits::default()
    };
    let a = TestServer::start_node(&db, clock.clone(), node(&url, &name, "a"), limits).await?;
    let b = TestServer::start_node(&db, clock.clone(), node(&url, &name, "b"), limits).await?;
    for server in [&a, &b] {
        eventually("both nodes to hear each other", || async {
            Ok(server
                .app
                .cluster()
                .is_some_and(|c| c.live_nodes() == 2)
                .then_some(()))
        })
        .await?;
    }
    // A car online on A (the owner) is seen from B, whose own hot state never heard of it: B asks
    // the owner for the nearby cars and a quote's supply.
    let owner = if a.app.cluster().is_some_and(|c| c.owns_city()) {
        &a
    } else {
        &b
    };
    let other = if std::ptr::eq(owner, &a) { &b } else { &a };
    owner.driver_at(BRYANT_PARK).await?;
    let looking = other.signup("rider").await?;
    let nearby = other
        .get(
            &format!(
                "/v1/drivers/nearby?lat={}&lng={}",
                TIMES_SQUARE.lat, TIMES_SQUARE.lng
            ),
            &looking.token,
        )
        .await?
        .expect(200);
    assert_eq!(
        nearby["drivers"].as_array().map(Vec::len),
        Some(1),
        "{nearby}"
    );
    let quote = other.quote(&looking, TIMES_SQUARE, UNION_SQUARE).await?;
    assert_eq!(quote["drivers_nearby"], 1, "{quote}");

    // A house-call provider's position reported on one node is known on the other, which may serve
    // the visit's next step (arrival is judged by it) or the customer's view.
    let provider = a.signup("provider").await?;
    a.post(
        "/v1/providers/me/location",
        &provider.token,
        serde_json::json!({"lat": TIMES_SQUARE.lat, "lng": TIMES_SQUARE.lng}),
    )
    .await?
    .expect(204);
    let provider_id: doorstep_domain::UserId = provider.id.parse().map_err(|_| "a user id")?;
    let heard = eventually("the provider's position on node B", || async {
        Ok(b.app.provider_position(provider_id))
    })
    .await?;
    assert!((heard.0.lat() - TIMES_SQUARE.lat).abs() < 1e-9, "{heard:?}");

    let rider = a.signup("rider").await?;
    // Alternating like a load balancer: one node alone would grant the burst of 20, each of two
    // independent nodes 20 more. Shared, the client gets about the burst once (a cell or two more
    // refill at 1 a second while the loop runs).
    let mut granted = 0;
    for i in 0..40 {
        let server = if i % 2 == 0 { &a } else { &b };
        let reply = server.get("/v1/me", &rider.token).await?;
        match reply.status {
            200 => granted += 1,
            429 => reply.expect_error(429, "rate_limited"),
            other => return Err(format!("unexpected status {other}: {}", reply.body).into()),
        }
    }
    assert!(
        (18..=24).contains(&granted),
        "the two nodes granted {granted} requests of a burst of 20"
    );
    a.stop().await?;
    b.stop().await
}

/// A cluster's record must be PostgreSQL: a node on SQLite is refused before it joins.
pub async fn a_cluster_node_on_sqlite_is_refused_with_a_clear_message(db: TestDb) -> TestResult {
    let store = doorstep_store::Store::connect(&db.url).await?;
    store.migrate().await?;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let refused = doorstep_app::App::start_cluster(
        store,
        crate::server::test_config(),
        Clock::manual(WEDNESDAY_2PM),
        stopped,
        ClusterOptions::new("nats://127.0.0.1:4222", "n1"),
    )
    .await;
    match refused {
        Err(e) => assert!(e.to_string().contains("PostgreSQL"), "{e}"),
        Ok(_) => return Err("a cluster node started on SQLite".into()),
    }
    Ok(())
}

/// A TCP forwarder to PostgreSQL that the test can cut silently, as a partition does: nothing passes
/// and nothing is closed (a query waits, a new connection is accepted and never answered) until it
/// heals, when every connection made through it is closed.
struct Partitionable {
    addr: std::net::SocketAddr,
    cut: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    accept: tokio::task::JoinHandle<()>,
}

/// Where `host:port` sits in a PostgreSQL URL (`postgres://user@host:port/db`).
fn host_span(url: &str) -> TestResult<std::ops::Range<usize>> {
    let at = url.find('@').ok_or("a user in the URL")? + 1;
    let slash = at + url[at..].find('/').ok_or("a database in the URL")?;
    Ok(at..slash)
}

impl Partitionable {
    /// A forwarder to `db`'s server, and the database as reached through it.
    async fn in_front_of(db: &TestDb) -> TestResult<(Partitionable, TestDb)> {
        let host = host_span(&db.url)?;
        let link = Partitionable::to(db.url[host.clone()].to_owned()).await?;
        let url = format!(
            "{}{}{}",
            &db.url[..host.start],
            link.addr,
            &db.url[host.end..]
        );
        Ok((link, TestDb { url }))
    }

    async fn to(target: String) -> TestResult<Partitionable> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let cut = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
        let watch = std::sync::Arc::clone(&cut);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = watch.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    if !*cut.borrow() {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
                            _ = cut.wait_for(|c| *c) => {}
                        }
                        // Cut: both ends stay open, silent, until the link heals.
                        let _ = cut.wait_for(|c| !*c).await;
                        return;
                    }
                    let _ = cut.wait_for(|c| !*c).await;
                    drop(inbound);
                });
            }
        });
        Ok(Partitionable { addr, cut, accept })
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

impl Drop for Partitionable {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut.send_replace(false);
    }
}

/// The owner cut off from PostgreSQL but not from NATS could renew its lease while none of its
/// writes landed, and the city would stand still: it lets the city go once the record has not
/// answered for a lease's life, the node that reaches the record takes it over and dispatches what
/// was requested meanwhile, and the cut node, healed, stays out.
pub async fn an_owner_cut_off_from_the_record_lets_the_city_go_to_a_node_that_reaches_it(
    db: TestDb,
) -> TestResult {
    let Some(url) = nats().await? else {
        return Ok(());
    };
    let (link, through_link) = Partitionable::in_front_of(&db).await?;
    let name = format!("t{}", uuid::Uuid::new_v4().simple());
    let clock = Clock::manual(WEDNESDAY_2PM);
    let a = start(&through_link, &clock, &url, &name, "a").await?;
    let first_epoch = owns(&a).await?;
    let b = start(&db, &clock, &url, &name, "b").await?;
    let rider = b.signup("rider").await?;
    let driver = b.driver_at(BRYANT_PARK).await?;
    let mut driver_events = EventStream::open(&b, &driver.token, None).await?;
    assert!(b.app.cluster().is_some_and(|c| !c.owns_city()));

    // A loses the record; NATS still reaches it, so its lease would live on. A ride is requested on B
    // meanwhile: recorded, but nobody dispatches it while A owns the city.
    link.set_cut(true);
    let cut_at = std::time::Instant::now();
    let ride = b.request_ride(&rider, TIMES_SQUARE, UNION_SQUARE).await?;
    let ride_id = field(&ride, "ride_id")?;
    let second_epoch = owns(&b).await?;
    let took = cut_at.elapsed();
    assert!(second_epoch > first_epoch, "{second_epoch} > {first_epoch}");
    assert!(
        took < Duration::from_secs(10),
        "B took the city {took:?} after A lost the record"
    );
    assert!(a.app.cluster().is_some_and(|c| !c.owns_city()));
    assert_eq!(
        b.app.store().city_fence("manhattan").await?,
        Some((second_epoch, "b".to_owned()))
    );
    // B's rebuild found the ride and the driver: the offer reaches the driver's socket.
    let offered = driver_events.next_event().await?;
    assert_eq!(offered["type"], "offered", "{offered}");
    assert_eq!(offered["ride_id"], ride_id.as_str());
    b.accept(&driver, &offered).await?;
    assert_eq!(b.ride(&rider, &ride_id).await?["state"], "driver_assigned");

    // Healed, A reaches the record again and stays out: B is still the only owner.
    link.set_cut(false);
    eventually("A to answer ready with no lease", || async {
        // 503 database_unavailable until its pool has connected again.
        let ready = reqwest::get(a.url("/readyz")).await?;
        let ok = ready.status() == 200;
        let text = ready.text().await?;
        Ok((ok && text.contains("leases: none")).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(a.app.cluster().is_some_and(|c| !c.owns_city()));
    assert_eq!(
        b.app.cluster().and_then(|c| c.owned_epoch()),
        Some(second_epoch)
    );
    driver_events.close().await?;
    a.stop().await?;
    b.stop().await
}
