//! Several nodes on one record: PostgreSQL is the record, NATS (core subjects, JetStream, KV) is the
//! bus between nodes. Started by [`App::start_cluster`]; without it (one node) nothing here runs and
//! the app works as it always did.
//!
//! - **One dispatcher per city.** The city's lease is a key in the JetStream KV bucket
//!   [`LEASE_BUCKET`], whose messages live [`ClusterOptions::lease_ttl`]: a node creates the key (only
//!   possible while nobody holds it) and renews it by compare-and-set on its revision. The winner takes
//!   the city's next epoch in the record ([`Store::take_city`](doorstep_store::Store::take_city)),
//!   rebuilds the hot state from the record, and runs the dispatcher on a store fenced with that epoch:
//!   a paused or partitioned old owner's writes are refused by the record. A node that cannot renew in
//!   time stops its dispatcher; another takes the city once the key expires.
//! - **Hot state reaches the owner.** Every node applies what its own requests change to its own
//!   fleet, and tells the owner on the city's subject ([`Hot`]): a job changed (the owner reads it from
//!   the record and applies that), a worker went on or offline, a worker's positions (the owner judges
//!   them with the same checks, keeps trip odometers, and pushes positions to the customer's node), a
//!   dispatch command. The owner answers questions about a worker's believed position and a trip's
//!   odometer ([`App::believed`]) on the city's ask subject.
//! - **Events cross nodes.** The owner relays the outbox (the `events` table) to the JetStream stream
//!   [`EVENT_STREAM`], one message per event and recipient on `<name>.ev.<user>` (operators:
//!   `<name>.ev.ops`; the cluster's name is `doorstep` unless set) with the message id `<event>.<user>`: JetStream drops a message id it has seen
//!   within its duplicate window, and the relay resumes from the event id of the stream's last message,
//!   so each event reaches the stream exactly once even across crashes. A node subscribes to
//!   `<name>.*.<user>` only while that user has a socket on it, and rings the socket's doorbell: the
//!   socket then reads its events from the record after its last id, so a client that reconnects to
//!   another node resumes without gaps or duplicates. Locations go on `<name>.push.<user>`.
//! - **Shared state.** Login tokens revoked on one node are forgotten by all (`<name>.revoke`);
//!   idempotency keys are in the record already; nodes hear each other's heartbeats (`<name>.nodes`)
//!   and each grants a client `1 / live nodes` of a rate limit ([`Cluster::live_nodes`]); trip
//!   odometers are saved by the owner every 2 s (`job_odometers`) and restored by a takeover.

use crate::bus::{DriverPosition, LocationUpdate, RepositionSuggestion};
use crate::dispatcher::DispatchCommand;
use crate::{App, AppError};
use async_nats::jetstream::{self, kv, stream};
use doorstep_domain::{JobId, RideId, Timestamp, UserId};
use doorstep_geo::LatLng;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The KV bucket of city leases, after the cluster's name: `<name>-leases`.
pub const LEASE_BUCKET: &str = "leases";
/// The JetStream stream the outbox is relayed to, after the cluster's name: `<name>-events`.
pub const EVENT_STREAM: &str = "events";
/// The header carrying a relayed message's event id.
const EVENT_ID_HEADER: &str = "Doorstep-Event-Id";
/// How long the stream remembers message ids to drop duplicates.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);
/// How often the relay looks for new events in the record.
const RELAY_POLL: Duration = Duration::from_millis(50);
/// Events relayed per read.
const RELAY_BATCH: i64 = 500;
/// How long a node waits for the owner's answer about a worker.
const ASK_TIMEOUT: Duration = Duration::from_millis(700);

/// How a node joins the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The cluster's name: the prefix of its subjects, stream and bucket, so that several
    /// deployments (or test runs) can share one NATS. Letters, digits, `-` and `_`.
    pub name: String,
    /// `nats://host:port`.
    pub nats_url: String,
    /// This node's name (unique in the cluster; shown in leases and `/readyz`).
    pub node_id: String,
    /// How long a lease lives without renewal: the longest a dead owner holds its city.
    pub lease_ttl: Duration,
}

impl ClusterOptions {
    /// Options with the default lease time to live (5 s: a dead owner's city is taken over within
    /// about 6 s, well inside the 10 s the platform promises).
    pub fn new(nats_url: impl Into<String>, node_id: impl Into<String>) -> ClusterOptions {
        ClusterOptions {
            name: "doorstep".to_owned(),
            nats_url: nats_url.into(),
            node_id: node_id.into(),
            lease_ttl: Duration::from_secs(5),
        }
    }
}

/// This node's link to the others.
#[derive(Debug)]
pub struct Cluster {
    name: String,
    node: String,
    city: &'static str,
    client: async_nats::Client,
    js: jetstream::Context,
    leases: kv::Store,
    lease_ttl: Duration,
    /// The epoch of the city while this node owns it.
    owning: watch::Sender<Option<i64>>,
    /// Messages to publish, in order (one task sends them).
    outbound: mpsc::UnboundedSender<(String, Vec<u8>)>,
    /// The nodes heard from lately (heartbeats on `<name>.nodes`), at least 1: this node.
    live_nodes: std::sync::atomic::AtomicU32,
    /// One message per connection to NATS (the first and each reconnection), until taken by
    /// [`Cluster::take_connected`].
    connected: std::sync::Mutex<Option<mpsc::UnboundedReceiver<()>>>,
}

/// What a node tells the city's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Hot {
    /// A job's committed state changed: read it from the record and apply it.
    Job { job: String },
    /// A worker went online or offline.
    Online { worker: String, online: bool },
    /// A worker's positions, oldest first: `[lat, lng, millis]`.
    Positions {
        worker: String,
        points: Vec<(f64, f64, i64)>,
    },
    /// A command for the dispatcher.
    Dispatch { op: String, job: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct HotEnvelope {
    from: String,
    #[serde(flatten)]
    hot: Hot,
}

/// A question to the owner about the city's hot state.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "q", rename_all = "snake_case")]
enum Ask {
    /// A worker's believed position, and the odometer of a job on its route.
    Worker { worker: String, job: Option<String> },
    /// The surge at a pickup, after one update of its zone.
    Surge { lat: f64, lng: f64 },
    /// The idle cars in reach of a pickup.
    Supply { lat: f64, lng: f64 },
    /// The exact sightings of the idle cars nearest a point.
    Nearby { lat: f64, lng: f64, limit: usize },
}

/// The owner's answer about a worker.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    position: Option<(f64, f64, i64)>,
    odometer_m: f64,
}

/// The owner's answer about the surge at a pickup.
#[derive(Debug, Serialize, Deserialize)]
struct SurgeAnswer {
    millis: u32,
    reason: Option<(String, u32, u32)>,
}

/// The owner's answer about the cars in reach of a pickup.
#[derive(Debug, Serialize, Deserialize)]
struct SupplyAnswer {
    drivers_nearby: u32,
    pickup_eta_s: Option<u32>,
}

/// An ephemeral message for a user's node (or the operators').
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum WirePush {
    Location {
        ride: String,
        rider: String,
        driver: String,
        lat: f64,
        lng: f64,
        at: i64,
        eta_s: Option<u32>,
    },
    Suggestion {
        driver: String,
        lat: f64,
        lng: f64,
        zone: String,
        at: i64,
    },
}

/// A driver's position for the operations console, between nodes.
#[derive(Debug, Serialize, Deserialize)]
struct WirePosition {
    driver: String,
    status: String,
    lat: f64,
    lng: f64,
    at: i64,
}

/// What a token revocation names.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Revoke {
    Token { digest: String },
    User { user: String },
}

/// The state of this node in the cluster, for `/readyz`.
#[derive(Debug, Clone)]
pub struct ClusterStatus {
    /// This node's name.
    pub node: String,
    /// Whether the NATS connection is up.
    pub nats_connected: bool,
    /// The cities this node owns, with their epochs.
    pub leases: Vec<(String, i64)>,
}

fn nats_error(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("nats: {what}: {e}"))
}

impl Cluster {
    /// Connects to NATS and makes sure the lease bucket and the event stream exist.
    pub async fn connect(
        options: &ClusterOptions,
        city: &'static str,
    ) -> Result<Cluster, AppError> {
        // Connections (the first and every reconnection) are told to whoever follows the sockets'
        // users ([`keep_user_subscriptions`]): doorbells rung while this node was cut off were lost.
        let (connected_tx, connected) = mpsc::unbounded_channel();
        let client = async_nats::ConnectOptions::new()
            .name(format!("doorstep-{}", options.node_id))
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            // The client gives a connection up after two unanswered pings: a node cut off from NATS
            // (its lease already given up after 80% of the lease's life) says so in `/readyz`, and
            // leaves a load balancer's rotation, within two to three lease lives, not minutes.
            .ping_interval(options.lease_ttl)
            .event_callback(move |event| {
                let connected_tx = connected_tx.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            let _ = connected_tx.send(());
                        }
                        async_nats::Event::Disconnected => {
                            metrics::counter!("cluster_nats_disconnects_total").increment(1);
                            tracing::warn!("the connection to NATS was lost; reconnecting");
                        }
                        _ => {}
                    }
                }
            })
            .connect(options.nats_url.as_str());
        let client = tokio::time::timeout(Duration::from_secs(15), client)
            .await
            .map_err(|_| nats_error("connect", "timed out after 15 s"))?
            .map_err(|e| nats_error("connect", e))?;
        let js = jetstream::new(client.clone());
        // The bucket's stream is made here as a KV bucket's is (one message per key, roll-ups, no
        // deletes but purges, direct reads), with a time to live on every message: the lease's. This
        // also works with NATS 2.9, whose answer to the client's own bucket creation it cannot read.
        let bucket = format!("{}-{LEASE_BUCKET}", options.name);
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_age: options.lease_ttl,
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            discard: stream::DiscardPolicy::New,
            allow_direct: true,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| nats_error("lease bucket", e))?;
        let leases = js
            .get_key_value(bucket.as_str())
            .await
            .map_err(|e| nats_error("lease bucket", e))?;
        js.get_or_create_stream(stream::Config {
            name: format!("{}-{EVENT_STREAM}", options.name),
            subjects: vec![format!("{}.ev.>", options.name)],
            max_age: Duration::from_secs(3600),
            duplicate_window: DUPLICATE_WINDOW,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| nats_error("event stream", e))?;
        let (outbound, rx) = mpsc::unbounded_channel();
        tokio::spawn(send_outbound(client.clone(), rx));
        Ok(Cluster {
            name: options.name.clone(),
            node: options.node_id.clone(),
            city,
            client,
            js,
            leases,
            lease_ttl: options.lease_ttl,
            owning: watch::channel(None).0,
            outbound,
            live_nodes: std::sync::atomic::AtomicU32::new(1),
            connected: std::sync::Mutex::new(Some(connected)),
        })
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The city's epoch while this node owns the city.
    pub fn owned_epoch(&self) -> Option<i64> {
        *self.owning.borrow()
    }

    /// Whether this node runs the city's dispatcher now.
    pub fn owns_city(&self) -> bool {
        self.owned_epoch().is_some()
    }

    /// The connections to NATS as they happen (once: the bus's subscriptions keeper takes them).
    pub(crate) fn take_connected(&self) -> Option<mpsc::UnboundedReceiver<()>> {
        self.connected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Where the node stands, for `/readyz`.
    pub fn status(&self) -> ClusterStatus {
        ClusterStatus {
            node: self.node.clone(),
            nats_connected: matches!(
                self.client.connection_state(),
                async_nats::connection::State::Connected
            ),
            leases: self
                .owned_epoch()
                .map(|e| vec![(self.city.to_owned(), e)])
                .unwrap_or_default(),
        }
    }

    fn hot_subject(&self) -> String {
        format!("{}.{}.hot", self.name, self.city)
    }

    fn ask_subject(&self) -> String {
        format!("{}.{}.ask", self.name, self.city)
    }

    fn positions_subject(&self) -> String {
        format!("{}.{}.positions", self.name, self.city)
    }

    fn publish(&self, subject: String, payload: Vec<u8>) {
        // The sender lives as long as the app; a closed channel means shutdown.
        let _ = self.outbound.send((subject, payload));
    }

    fn publish_json<T: Serialize>(&self, subject: String, value: &T) {
        match serde_json::to_vec(value) {
            Ok(payload) => self.publish(subject, payload),
            Err(e) => tracing::error!(error = %e, "could not encode a cluster message"),
        }
    }

    fn tell_owner(&self, hot: Hot) {
        self.publish_json(
            self.hot_subject(),
            &HotEnvelope {
                from: self.node.clone(),
                hot,
            },
        );
    }

    /// Pushes a location to the rider's node and the operators' nodes.
    pub(crate) fn push_location(&self, l: &LocationUpdate) {
        let wire = WirePush::Location {
            ride: l.ride_id.to_string(),
            rider: l.rider.to_string(),
            driver: l.driver.to_string(),
            lat: l.position.lat(),
            lng: l.position.lng(),
            at: l.at.millis(),
            eta_s: l.eta_s,
        };
        self.publish_json(format!("{}.push.{}", self.name, l.rider), &wire);
        self.publish_json(format!("{}.push.ops", self.name), &wire);
    }

    /// Pushes a repositioning suggestion to its driver's node.
    pub(crate) fn push_suggestion(&self, r: &RepositionSuggestion) {
        let wire = WirePush::Suggestion {
            driver: r.driver.to_string(),
            lat: r.to.lat(),
            lng: r.to.lng(),
            zone: r.zone.clone(),
            at: r.at.millis(),
        };
        self.publish_json(format!("{}.push.{}", self.name, r.driver), &wire);
    }

    /// Sends a driver's position to every node's operations consoles.
    pub(crate) fn publish_position(&self, p: &DriverPosition) {
        self.publish_json(
            self.positions_subject(),
            &WirePosition {
                driver: p.driver.to_string(),
                status: p.status.to_owned(),
                lat: p.position.lat(),
                lng: p.position.lng(),
                at: p.at.millis(),
            },
        );
    }

    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// How many nodes share the load (heard from in the last few seconds, this one included): each
    /// node grants a client `1 / live_nodes` of a rate limit, so that spreading requests over the
    /// nodes buys no extra allowance.
    pub fn live_nodes(&self) -> u32 {
        self.live_nodes
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1)
    }
}

/// How often a node says it is alive, and how long a silent node still counts.
const HEARTBEAT: Duration = Duration::from_secs(1);
const HEARD_FOR: Duration = Duration::from_secs(4);

/// Publishes this node's heartbeat and counts the nodes heard from.
async fn heartbeats(cluster: Arc<Cluster>) {
    let subject = format!("{}.nodes", cluster.name);
    let Ok(mut sub) = cluster.client.subscribe(subject.clone()).await else {
        tracing::error!("could not subscribe to heartbeats");
        return;
    };
    let mut heard: HashMap<String, Instant> = HashMap::new();
    let mut beat = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = beat.tick() => {
                cluster.publish(subject.clone(), cluster.node.clone().into_bytes());
                heard.retain(|_, at| at.elapsed() < HEARD_FOR);
                let live = u32::try_from(heard.len()).unwrap_or(u32::MAX).max(1);
                cluster.live_nodes.store(live, std::sync::atomic::Ordering::Relaxed);
                metrics::gauge!("cluster_live_nodes").set(f64::from(live));
            }
            message = sub.next() => {
                let Some(message) = message else { return };
                if let Ok(node) = std::str::from_utf8(&message.payload) {
                    heard.insert(node.to_owned(), Instant::now());
                }
            }
        }
    }
}

/// Sends queued messages in order; reconnection is the client's.
async fn send_outbound(
    client: async_nats::Client,
    mut rx: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    while let Some((subject, payload)) = rx.recv().await {
        if let Err(e) = client.publish(subject, payload.into()).await {
            metrics::counter!("cluster_publish_failed_total").increment(1);
            tracing::warn!(error = %e, "could not publish to the cluster");
        }
    }
}

impl App {
    /// This node's cluster link, in cluster mode.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.inner.cluster.as_ref()
    }

    /// Whether hot-state changes should be applied here as the city's owner would: one node, or the
    /// owner of a cluster.
    pub(crate) fn is_dispatch_node(&self) -> bool {
        self.cluster().is_none_or(|c| c.owns_city())
    }

    /// Tells the owner that a job's committed state changed (cluster mode; nothing on one node).
    pub(crate) fn tell_job_changed(&self, job: JobId) {
        if let Some(c) = self.cluster() {
            c.tell_owner(Hot::Job {
                job: job.to_string(),
            });
        }
    }

    /// Tells the owner that a worker went online or offline.
    pub(crate) fn tell_online(&self, worker: UserId, online: bool) {
        if let Some(c) = self.cluster() {
            c.tell_owner(Hot::Online {
                worker: worker.to_string(),
                online,
            });
        }
    }

    /// Sends a worker's positions to the owner.
    pub(crate) fn tell_positions(&self, worker: UserId, points: &[(LatLng, Timestamp)]) {
        if let Some(c) = self.cluster() {
            c.tell_owner(Hot::Positions {
                worker: worker.to_string(),
                points: points
                    .iter()
                    .map(|(p, at)| (p.lat(), p.lng(), at.millis()))
                    .collect(),
            });
        }
    }

    /// Sends a dispatch command to the owner; `false` on one node (the caller queues it locally).
    pub(crate) fn tell_dispatch(&self, command: DispatchCommand) -> bool {
        let Some(c) = self.cluster() else {
            return false;
        };
        let (op, job) = match command {
            DispatchCommand::Open(j) => ("open", j),
            DispatchCommand::Requeue(j) => ("requeue", j),
            DispatchCommand::Gone(j) => ("gone", j),
        };
        c.tell_owner(Hot::Dispatch {
            op: op.to_owned(),
            job: job.to_string(),
        });
        true
    }

    /// Tells every node to forget a login token (its SHA-256, hex).
    pub(crate) fn tell_token_revoked(&self, digest: &str) {
        if let Some(c) = self.cluster() {
            c.publish_json(
                format!("{}.revoke", c.name),
                &Revoke::Token {
                    digest: digest.to_owned(),
                },
            );
        }
    }

    /// Tells every node where a house-call provider is (providers are few and report seldom; any
    /// node may serve their visit's next step or their customer's view).
    pub(crate) fn tell_provider_position(&self, provider: UserId, at: LatLng, seen: Timestamp) {
        if let Some(c) = self.cluster() {
            c.publish_json(
                format!("{}.providers", c.name),
                &WirePosition {
                    driver: provider.to_string(),
                    status: String::new(),
                    lat: at.lat(),
                    lng: at.lng(),
                    at: seen.millis(),
                },
            );
        }
    }

    /// Tells every node to forget the cached sessions of `user`.
    pub(crate) fn tell_user_revoked(&self, user: UserId) {
        if let Some(c) = self.cluster() {
            c.publish_json(
                format!("{}.revoke", c.name),
                &Revoke::User {
                    user: user.to_string(),
                },
            );
        }
    }

    /// A worker's believed position and when, and the odometer of `job` on its route: from this
    /// node's hot state on one node or on the owner; from the owner otherwise (this node's own view
    /// if the owner does not answer in time, e.g. during a takeover).
    pub(crate) async fn believed(
        &self,
        worker: UserId,
        job: Option<JobId>,
    ) -> (Option<(LatLng, Timestamp)>, f64) {
        let local = || {
            self.with_fleet(|f| {
                (
                    f.driver(worker)
                        .and_then(|d| d.position().zip(d.last_seen())),
                    job.map_or(0.0, |j| f.trip_odometer_m(j)),
                )
            })
        };
        let Some(c) = self.cluster() else {
            return local();
        };
        if c.owns_city() {
            return local();
        }
        let parsed: Option<Answer> = self
            .ask_owner(&Ask::Worker {
                worker: worker.to_string(),
                job: job.map(|j| j.to_string()),
            })
            .await;
        match parsed {
            Some(a) => {
                let owners = a.position.and_then(|(lat, lng, at)| {
                    LatLng::new(lat, lng)
                        .ok()
                        .map(|p| (p, Timestamp::from_millis(at)))
                });
                // This node may have believed a newer point of the worker (one its socket or request
                // just brought, on its way to the owner): the newer of the two wins. Both odometers
                // count only believed points, so the larger is the more complete.
                let (mine, my_odometer) = local();
                let position = match (owners, mine) {
                    (Some(o), Some(m)) => Some(if m.1 > o.1 { m } else { o }),
                    (o, m) => o.or(m),
                };
                (position, a.odometer_m.max(my_odometer))
            }
            None => {
                let (position, odometer) = local();
                // The record keeps the odometer the owner last saved.
                let kept = match job {
                    Some(j) => self
                        .store()
                        .odometer(j)
                        .await
                        .ok()
                        .flatten()
                        .map_or(0.0, |o| o.metres),
                    None => 0.0,
                };
                (position, odometer.max(kept))
            }
        }
    }
}

impl App {
    /// Asks the city's owner (cluster mode, this node not the owner); `None` when there is no answer
    /// in time (no owner during a takeover), and the caller reads its own view.
    async fn ask_owner<T: serde::de::DeserializeOwned>(&self, ask: &Ask) -> Option<T> {
        let c = self.cluster()?;
        if c.owns_city() {
            return None;
        }
        let payload = serde_json::to_vec(ask).ok()?;
        let answer = tokio::time::timeout(
            ASK_TIMEOUT,
            c.client.request(c.ask_subject(), payload.into()),
        )
        .await;
        let parsed = match answer {
            Ok(Ok(message)) => serde_json::from_slice::<T>(&message.payload).ok(),
            _ => None,
        };
        if parsed.is_none() {
            metrics::counter!("cluster_ask_fallbacks_total").increment(1);
        }
        parsed
    }

    /// [`App::surge_at`] as the city's owner sees it: on one node or the owner, here; on another
    /// node, asked of the owner (whose fleet hears every car and request), so that every node quotes
    /// one surge.
    pub async fn surge_anywhere(
        &self,
        pickup: LatLng,
        now: Timestamp,
    ) -> (
        doorstep_domain::pricing::SurgeMillis,
        Option<crate::rides::SurgeReason>,
    ) {
        let ask = Ask::Surge {
            lat: pickup.lat(),
            lng: pickup.lng(),
        };
        match self.ask_owner::<SurgeAnswer>(&ask).await {
            Some(a) => (
                doorstep_domain::pricing::SurgeMillis(a.millis),
                a.reason
                    .map(|(zone, requests, cars)| crate::rides::SurgeReason {
                        zone,
                        requests,
                        cars,
                    }),
            ),
            None => self.surge_at(pickup, now),
        }
    }

    /// [`App::pickup_supply`] as the city's owner sees it (see [`App::surge_anywhere`]).
    pub async fn pickup_supply_anywhere(&self, pickup: LatLng) -> crate::contact::PickupSupply {
        let ask = Ask::Supply {
            lat: pickup.lat(),
            lng: pickup.lng(),
        };
        match self.ask_owner::<SupplyAnswer>(&ask).await {
            Some(a) => crate::contact::PickupSupply {
                drivers_nearby: a.drivers_nearby,
                pickup_eta_s: a.pickup_eta_s,
            },
            None => self.pickup_supply(pickup),
        }
    }

    /// [`App::nearby_drivers`] as the city's owner sees it (see [`App::surge_anywhere`]); riders'
    /// answers are made coarse here, from the owner's exact ones.
    pub async fn nearby_drivers_anywhere(
        &self,
        user: &doorstep_domain::User,
        p: LatLng,
        limit: usize,
    ) -> Result<Vec<doorstep_geo::Sighting>, AppError> {
        crate::drivers::require_nearby_role(user)?;
        let ask = Ask::Nearby {
            lat: p.lat(),
            lng: p.lng(),
            limit,
        };
        let Some(found) = self.ask_owner::<Vec<(f64, f64, f64, f64)>>(&ask).await else {
            return self.nearby_drivers(user, p, limit);
        };
        let exact: Vec<doorstep_geo::Sighting> = found
            .into_iter()
            .filter_map(|(lat, lng, distance_m, eta_s)| {
                Some(doorstep_geo::Sighting {
                    position: LatLng::new(lat, lng).ok()?,
                    distance_m,
                    eta_s,
                })
            })
            .collect();
        Ok(crate::drivers::shown_to(user, exact))
    }
}

/// Runs this node's part of the cluster until `shutdown`: the subscriptions every node keeps
/// (revocations, console positions, users' subjects) and the contest for the city's lease.
pub(crate) async fn run(
    app: App,
    mut commands: mpsc::Receiver<DispatchCommand>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(cluster) = app.cluster().cloned() else {
        return;
    };
    let revocations = tokio::spawn(listen_revocations(app.clone()));
    let beats = tokio::spawn(heartbeats(Arc::clone(&cluster)));
    let providers = tokio::spawn(listen_providers(app.clone()));
    let positions = tokio::spawn(listen_positions(app.clone()));
    let key = format!("city.{}", cluster.city);
    loop {
        if *shutdown.borrow() {
            break;
        }
        match cluster
            .leases
            .create(&key, cluster.node.clone().into_bytes().into())
            .await
        {
            Ok(revision) => {
                let ended =
                    own_city(&app, &cluster, &key, revision, &mut commands, &mut shutdown).await;
                if ended == Some(Ended::RecordUnreachable) {
                    tokio::select! {
                        () = tokio::time::sleep(cluster.lease_ttl) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
            Err(e) => {
                tracing::trace!(error = %e, "the city's lease is held elsewhere");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    revocations.abort();
    positions.abort();
    beats.abort();
    providers.abort();
}

/// Why an ownership ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Shutdown,
    Lost,
    /// The record did not answer for a lease's life while NATS did: the node lets the city go at once
    /// to a node that reaches the record, and stays out of the contest for a lease's life.
    RecordUnreachable,
}

/// Runs the city while the lease holds: epoch, rebuild, dispatcher, relay, the owner's subscriptions.
/// Returns why it ended (`None`: the city was never taken).
///
/// Every renewal also reads the city's fence from the record: the lease is given up when the record
/// names another owner, or has not answered for a lease's life (the owner cut off from PostgreSQL but
/// not from NATS would otherwise renew its lease while none of its writes lands, and the city would
/// stand still).
async fn own_city(
    app: &App,
    cluster: &Arc<Cluster>,
    key: &str,
    revision: u64,
    commands: &mut mpsc::Receiver<DispatchCommand>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Ended> {
    let started = Instant::now();
    let mut revision = revision;
    // The last time the lease was known to be ours from here on (a renewal's request time).
    let mut held_since = started;
    let epoch = match app
        .store()
        .take_city(cluster.city, &cluster.node, app.clock().now())
        .await
    {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "won the city's lease but could not take its epoch; letting it go");
            let _ = cluster.leases.delete(key).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            return None;
        }
    };
    let lease_value = format!("{}:{epoch}", cluster.node).into_bytes();
    if let Ok(r) = cluster
        .leases
        .update(key, lease_value.clone().into(), revision)
        .await
    {
        revision = r;
        held_since = Instant::now();
    }
    // The owner's subscriptions come first, so nothing told during the rebuild is lost. The node acts
    // as the owner (answers for the city, keeps positions in the record) only once its hot state is
    // rebuilt: until then its own view is the partial one of any node.
    let hot = match cluster.client.subscribe(cluster.hot_subject()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "could not subscribe to the city's subject");
            cluster.owning.send_replace(None);
            let _ = cluster.leases.delete(key).await;
            return None;
        }
    };
    let asks = cluster.client.subscribe(cluster.ask_subject()).await.ok();
    // Stale commands from before are harmless (each re-reads its job), but the rebuild covers them.
    while commands.try_recv().is_ok() {}
    let pending = match app.rebuild_for_takeover().await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "could not rebuild the hot state; letting the city go");
            cluster.owning.send_replace(None);
            let _ = cluster.leases.delete(key).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            return None;
        }
    };
    cluster.owning.send_replace(Some(epoch));
    metrics::counter!("cluster_takeovers_total").increment(1);
    tracing::info!(
        node = %cluster.node,
        city = cluster.city,
        epoch,
        took_ms = started.elapsed().as_millis(),
        "this node owns the city's dispatcher; hot state rebuilt for the takeover"
    );
    let fenced = app.fenced(doorstep_store::Fence {
        city: cluster.city.to_owned(),
        epoch,
    });
    let (stop, stopped) = watch::channel(false);
    let hot_task = tokio::spawn(apply_hot(app.clone(), hot));
    let ask_task = asks.map(|a| tokio::spawn(answer_asks(app.clone(), a)));
    let relay_task = tokio::spawn(relay(fenced.clone(), Arc::clone(cluster), stopped.clone()));
    let odometer_task = tokio::spawn(save_odometers(fenced.clone(), stopped.clone()));
    let dispatcher = crate::dispatcher::run_borrowed(fenced, commands, pending, stopped);
    tokio::pin!(dispatcher);
    let renew_every = cluster.lease_ttl / 5;
    let mut renew = tokio::time::interval(renew_every);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The last time the record answered that the city is ours (a fence read's request time).
    let mut record_since = Instant::now();
    let ended = loop {
        tokio::select! {
            () = &mut dispatcher => break Ended::Lost,
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break Ended::Shutdown; }
            }
            _ = renew.tick() => {
                let asked = Instant::now();
                let (renewed, fence) = tokio::join!(
                    tokio::time::timeout(
                        renew_every,
                        cluster.leases.update(key, lease_value.clone().into(), revision),
                    ),
                    tokio::time::timeout(renew_every, app.store().city_fence(cluster.city)),
                );
                // The lease first: a node that lost it (paused past its life, say) just stops.
                match renewed {
                    Ok(Ok(r)) => {
                        revision = r;
                        held_since = asked;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "the city's lease was lost");
                        break Ended::Lost;
                    }
                    Err(_) => tracing::warn!("renewing the city's lease timed out"),
                }
                // Keep a margin below the lease's life: past it, another node may own the city.
                if held_since.elapsed() > cluster.lease_ttl.mul_f64(0.8) {
                    tracing::warn!("the city's lease could not be renewed in time");
                    break Ended::Lost;
                }
                match fence {
                    Ok(Ok(Some((e, owner)))) if e == epoch && owner == cluster.node => {
                        record_since = asked;
                    }
                    Ok(Ok(other)) => {
                        tracing::warn!(?other, epoch, "the record names another owner of the city");
                        break Ended::Lost;
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "the record did not answer the city's fence"),
                    Err(_) => tracing::warn!("reading the city's fence from the record timed out"),
                }
                if record_since.elapsed() > cluster.lease_ttl {
                    tracing::warn!(
                        silent_ms = record_since.elapsed().as_millis(),
                        "the record has not answered for a lease's life; letting the city go"
                    );
                    break Ended::RecordUnreachable;
                }
            }
        }
    };
    cluster.owning.send_replace(None);
    if ended == Ended::RecordUnreachable {
        // Another node that reaches the record takes the city now rather than when the key expires;
        // what this node's dispatcher may still write is refused by the fence once it does.
        release_lease(cluster, key, revision, "the record does not answer").await;
    }
    let _ = stop.send(true);
    if tokio::time::timeout(Duration::from_secs(5), &mut dispatcher)
        .await
        .is_err()
    {
        tracing::warn!("the dispatcher did not stop in time");
    }
    hot_task.abort();
    if let Some(t) = ask_task {
        t.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), relay_task).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), odometer_task).await;
    metrics::counter!("cluster_leases_ended_total", "why" => match ended {
        Ended::Shutdown => "shutdown",
        Ended::Lost => "lost",
        Ended::RecordUnreachable => "record_unreachable",
    })
    .increment(1);
    if ended == Ended::Shutdown {
        // Hand the city over at once instead of after the lease's life.
        release_lease(cluster, key, revision, "shutdown").await;
    } else {
        tracing::warn!(epoch, "this node no longer owns the city");
    }
    Some(ended)
}

/// Deletes the city's key as this node last renewed it (`revision`), never a newer owner's, so that
/// another node takes the city at its next try instead of when the key expires.
async fn release_lease(cluster: &Cluster, key: &str, revision: u64, why: &str) {
    match tokio::time::timeout(
        cluster.lease_ttl / 5,
        cluster.leases.delete_expect_revision(key, Some(revision)),
    )
    .await
    {
        Ok(Ok(())) => tracing::info!(why, "city released"),
        Ok(Err(e)) => tracing::warn!(why, error = %e, "the city's lease was not released"),
        Err(_) => tracing::warn!(why, "releasing the city's lease timed out"),
    }
}

/// Applies what other nodes tell the owner, in the order they told it.
async fn apply_hot(app: App, mut hot: async_nats::Subscriber) {
    let node = app.cluster().map(|c| c.node.clone()).unwrap_or_default();
    while let Some(message) = hot.next().await {
        let Ok(envelope) = serde_json::from_slice::<HotEnvelope>(&message.payload) else {
            metrics::counter!("cluster_messages_malformed_total").increment(1);
            continue;
        };
        if envelope.from == node {
            // Applied here already, by the request that told it.
            if let Hot::Dispatch { op, job } = &envelope.hot {
                queue_dispatch(&app, op, job);
            }
            continue;
        }
        match envelope.hot {
            Hot::Job { job } => {
                if let Ok(job) = job.parse::<JobId>() {
                    app.refresh_job(job).await;
                }
            }
            Hot::Online { worker, online } => {
                if let Ok(worker) = worker.parse::<UserId>() {
                    app.with_fleet(|f| f.set_online(worker, online));
                }
            }
            Hot::Positions { worker, points } => {
                let Ok(worker) = worker.parse::<UserId>() else {
                    continue;
                };
                let points: Vec<(LatLng, Timestamp)> = points
                    .into_iter()
                    .filter_map(|(lat, lng, at)| {
                        LatLng::new(lat, lng)
                            .ok()
                            .map(|p| (p, Timestamp::from_millis(at)))
                    })
                    .collect();
                app.apply_positions(worker, &points);
            }
            Hot::Dispatch { op, job } => queue_dispatch(&app, &op, &job),
        }
    }
}

fn queue_dispatch(app: &App, op: &str, job: &str) {
    let Ok(job) = job.parse::<JobId>() else {
        return;
    };
    let command = match op {
        "open" => DispatchCommand::Open(job),
        "requeue" => DispatchCommand::Requeue(job),
        _ => DispatchCommand::Gone(job),
    };
    app.queue_dispatch_locally(command);
}

/// Answers other nodes' questions about workers from the owner's hot state.
async fn answer_asks(app: App, mut asks: async_nats::Subscriber) {
    let Some(cluster) = app.cluster().cloned() else {
        return;
    };
    while let Some(message) = asks.next().await {
        let Some(reply) = message.reply else {
            continue;
        };
        let Ok(ask) = serde_json::from_slice::<Ask>(&message.payload) else {
            continue;
        };
        let payload = match ask {
            Ask::Worker { worker, job } => {
                let Ok(worker) = worker.parse::<UserId>() else {
                    continue;
                };
                let job = job.and_then(|j| j.parse::<JobId>().ok());
                let (position, odometer_m) = app.with_fleet(|f| {
                    (
                        f.driver(worker)
                            .and_then(|d| d.position().zip(d.last_seen())),
                        job.map_or(0.0, |j| f.trip_odometer_m(j)),
                    )
                });
                serde_json::to_vec(&Answer {
                    position: position.map(|(p, at)| (p.lat(), p.lng(), at.millis())),
                    odometer_m,
                })
            }
            Ask::Surge { lat, lng } => {
                let Ok(p) = LatLng::new(lat, lng) else {
                    continue;
                };
                let (surge, reason) = app.surge_at(p, app.clock().now());
                serde_json::to_vec(&SurgeAnswer {
                    millis: surge.0,
                    reason: reason.map(|r| (r.zone, r.requests, r.cars)),
                })
            }
            Ask::Supply { lat, lng } => {
                let Ok(p) = LatLng::new(lat, lng) else {
                    continue;
                };
                let supply = app.pickup_supply(p);
                serde_json::to_vec(&SupplyAnswer {
                    drivers_nearby: supply.drivers_nearby,
                    pickup_eta_s: supply.pickup_eta_s,
                })
            }
            Ask::Nearby { lat, lng, limit } => {
                let Ok(p) = LatLng::new(lat, lng) else {
                    continue;
                };
                let exact: Vec<(f64, f64, f64, f64)> = app
                    .exact_nearby(p, limit)
                    .into_iter()
                    .map(|s| (s.position.lat(), s.position.lng(), s.distance_m, s.eta_s))
                    .collect();
                serde_json::to_vec(&exact)
            }
        };
        if let Ok(payload) = payload {
            cluster.publish(reply.to_string(), payload);
        }
    }
}

/// Relays the outbox to the event stream while this node owns the city (see the module).
async fn relay(app: App, cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let mut cursor: Option<i64> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if cursor.is_none() {
            cursor = match resume_point(&app, &cluster).await {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "the relay could not find where to resume");
                    None
                }
            };
        }
        if let Some(after) = cursor {
            match relay_once(&app, &cluster, after).await {
                Ok(Some(last)) => {
                    cursor = Some(last);
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    metrics::counter!("cluster_relay_failures_total").increment(1);
                    tracing::warn!(error = %e, "relaying events failed; resuming from the stream");
                    cursor = None;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RELAY_POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Where the relay resumes: the event id of the stream's last message, re-published whole (its
/// other recipients' messages may not have been sent; the stream drops the ones that were); the
/// record's newest event when the stream is empty (no socket waits for older doorbells).
async fn resume_point(app: &App, cluster: &Cluster) -> Result<i64, AppError> {
    let mut stream = cluster
        .js
        .get_stream(format!("{}-{EVENT_STREAM}", cluster.name))
        .await
        .map_err(|e| nats_error("event stream", e))?;
    let info = stream
        .info()
        .await
        .map_err(|e| nats_error("event stream info", e))?;
    let last = info.state.last_sequence;
    if info.state.messages == 0 || last == 0 {
        return Ok(app.store().last_event_id().await?);
    }
    let message = stream
        .get_raw_message(last)
        .await
        .map_err(|e| nats_error("last relayed message", e))?;
    let id = message
        .headers
        .get(EVENT_ID_HEADER)
        .and_then(|v| v.as_str().parse::<i64>().ok())
        .unwrap_or(0);
    if id == 0 {
        return Ok(app.store().last_event_id().await?);
    }
    Ok(id - 1)
}

/// Relays the events after `after`; the last id relayed, if any.
async fn relay_once(app: &App, cluster: &Cluster, after: i64) -> Result<Option<i64>, AppError> {
    let events = app.store().events_after(after, RELAY_BATCH).await?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(None);
    };
    let mut acks = Vec::new();
    for event in &events {
        let mut targets: Vec<String> = event.recipient_users().map(|u| u.to_string()).collect();
        targets.push("ops".to_owned());
        for target in targets {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("{}.{target}", event.id).as_str());
            headers.insert(EVENT_ID_HEADER, event.id.to_string().as_str());
            let ack = cluster
                .js
                .publish_with_headers(
                    format!("{}.ev.{target}", cluster.name),
                    headers,
                    Vec::new().into(),
                )
                .await
                .map_err(|e| nats_error("relay publish", e))?;
            acks.push(ack);
        }
    }
    let mut duplicates = 0u64;
    for ack in acks {
        let ack = ack.await.map_err(|e| nats_error("relay ack", e))?;
        if ack.duplicate {
            duplicates += 1;
        }
    }
    metrics::counter!("cluster_events_relayed_total").increment(events.len() as u64);
    if duplicates > 0 {
        metrics::counter!("cluster_relay_duplicates_dropped_total").increment(duplicates);
    }
    Ok(Some(last))
}

/// Saves trip odometers every few seconds while this node owns the city, so that a takeover
/// continues them.
async fn save_odometers(app: App, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.changed() => {}
        }
        let odometers: Vec<doorstep_store::Odometer> = app
            .with_fleet(|f| f.odometers())
            .into_iter()
            .map(|(job, metres, at_point, at)| doorstep_store::Odometer {
                job,
                metres,
                at_point,
                at,
            })
            .collect();
        if let Err(e) = app
            .store()
            .save_odometers(&odometers, app.clock().now())
            .await
        {
            tracing::debug!(error = %e, "could not save trip odometers");
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// A subscription to the cluster's subject `<name>.<suffix>`, which every node shares; `None` on one node,
/// or when NATS refuses it (logged, naming `what` the subject carries).
async fn subscribe_shared(app: &App, suffix: &str, what: &str) -> Option<async_nats::Subscriber> {
    let cluster = app.cluster()?;
    match cluster
        .client
        .subscribe(format!("{}.{suffix}", cluster.name))
        .await
    {
        Ok(sub) => Some(sub),
        Err(e) => {
            tracing::error!(error = %e, "could not subscribe to {what}");
            None
        }
    }
}

/// Forgets revoked tokens and suspended users' sessions told by any node.
async fn listen_revocations(app: App) {
    let Some(mut sub) = subscribe_shared(&app, "revoke", "token revocations").await else {
        return;
    };
    while let Some(message) = sub.next().await {
        match serde_json::from_slice::<Revoke>(&message.payload) {
            Ok(Revoke::Token { digest }) => app.forget_session_digest(&digest),
            Ok(Revoke::User { user }) => {
                if let Ok(user) = user.parse::<UserId>() {
                    app.forget_sessions_locally(user);
                }
            }
            Err(_) => metrics::counter!("cluster_messages_malformed_total").increment(1),
        }
    }
}

/// Keeps the providers' positions other nodes heard.
async fn listen_providers(app: App) {
    let Some(mut sub) = subscribe_shared(&app, "providers", "providers' positions").await else {
        return;
    };
    while let Some(message) = sub.next().await {
        let Ok(p) = serde_json::from_slice::<WirePosition>(&message.payload) else {
            continue;
        };
        let (Ok(provider), Ok(position)) = (p.driver.parse::<UserId>(), LatLng::new(p.lat, p.lng))
        else {
            continue;
        };
        app.provider_position_heard(provider, position, Timestamp::from_millis(p.at));
    }
}

/// Feeds the console positions the owner publishes to this node's operations consoles.
async fn listen_positions(app: App) {
    let Some(cluster) = app.cluster().cloned() else {
        return;
    };
    let Ok(mut sub) = cluster.client.subscribe(cluster.positions_subject()).await else {
        tracing::error!("could not subscribe to console positions");
        return;
    };
    while let Some(message) = sub.next().await {
        let Ok(p) = serde_json::from_slice::<WirePosition>(&message.payload) else {
            continue;
        };
        let (Ok(driver), Ok(position)) = (p.driver.parse::<UserId>(), LatLng::new(p.lat, p.lng))
        else {
            continue;
        };
        app.bus().deliver_position(DriverPosition {
            driver,
            status: crate::bus::status_name(&p.status),
            position,
            at: Timestamp::from_millis(p.at),
        });
    }
}

/// Decodes a push from another node.
pub(crate) fn decode_push(payload: &[u8]) -> Option<crate::bus::RemotePush> {
    match serde_json::from_slice::<WirePush>(payload).ok()? {
        WirePush::Location {
            ride,
            rider,
            driver,
            lat,
            lng,
            at,
            eta_s,
        } => Some(crate::bus::RemotePush::Location(LocationUpdate {
            ride_id: ride.parse::<RideId>().ok()?,
            rider: rider.parse().ok()?,
            driver: driver.parse().ok()?,
            position: LatLng::new(lat, lng).ok()?,
            at: Timestamp::from_millis(at),
            eta_s,
        })),
        WirePush::Suggestion {
            driver,
            lat,
            lng,
            zone,
            at,
        } => Some(crate::bus::RemotePush::Suggestion(RepositionSuggestion {
            driver: driver.parse().ok()?,
            to: LatLng::new(lat, lng).ok()?,
            zone,
            at: Timestamp::from_millis(at),
        })),
    }
}

/// Keeps this node subscribed to the subjects of the users (and operators) with a socket here: the
/// bus tells it when the first socket of a key opens and when the last closes.
///
/// Core NATS keeps nothing for a connection that is down: a doorbell rung while this node was cut
/// off from NATS never arrives. So after every reconnection (`connected`), once the server has the
/// client's subscriptions again (a flush), every socket here is rung and reads the record after its
/// last event: a partition delays a socket's events, it does not lose them.
pub(crate) async fn keep_user_subscriptions(
    bus: crate::bus::EventBus,
    client: async_nats::Client,
    name: String,
    mut changes: mpsc::UnboundedReceiver<(crate::bus::RouteKey, bool)>,
    mut connected: Option<mpsc::UnboundedReceiver<()>>,
) {
    let mut subscribed: HashMap<crate::bus::RouteKey, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        let change = tokio::select! {
            c = changes.recv() => c,
            c = async {
                match connected.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if c.is_none() {
                    connected = None;
                    continue;
                }
                // The subscriptions are sent again before anything queued after the reconnection.
                let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
                for key in subscribed.keys() {
                    bus.ring_local(*key);
                }
                metrics::counter!("cluster_nats_connections_total").increment(1);
                tracing::info!(
                    rung = subscribed.len(),
                    "connected to NATS; every socket here reads what it may have missed"
                );
                continue;
            }
        };
        let Some((key, wanted)) = change else { break };
        if wanted {
            if subscribed.contains_key(&key) {
                continue;
            }
            let subject = format!("{name}.*.{}", key.subject_token());
            match client.subscribe(subject).await {
                Ok(sub) => {
                    let bus = bus.clone();
                    let client = client.clone();
                    subscribed.insert(key, tokio::spawn(forward_user(bus, client, key, sub)));
                }
                Err(e) => tracing::warn!(error = %e, "could not subscribe to a user's subject"),
            }
        } else if let Some(task) = subscribed.remove(&key) {
            task.abort();
        }
    }
}

async fn forward_user(
    bus: crate::bus::EventBus,
    client: async_nats::Client,
    key: crate::bus::RouteKey,
    mut sub: async_nats::Subscriber,
) {
    // Once the server has the subscription, ring once: an event committed between the socket's
    // first read of the record and now would otherwise wait for the next doorbell.
    let _ = client.flush().await;
    bus.ring_local(key);
    while let Some(message) = sub.next().await {
        let kind = message.subject.split('.').nth(1).unwrap_or_default();
        match kind {
            "ev" => bus.ring_local(key),
            "push" => match decode_push(&message.payload) {
                Some(push) => bus.push_local(key, &push),
                None => metrics::counter!("cluster_messages_malformed_total").increment(1),
            },
            _ => {}
        }
    }
}
