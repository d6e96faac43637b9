//! The in-process event bus, routed by recipient. Durable events are published after their transaction
//! commits; driver locations are ephemeral and pushed as they come.
//!
//! Every open event stream holds a [`Subscription`]: a mailbox in a registry keyed by user id. Publishing
//! looks up the recipients of the message and wakes only their mailboxes, plus the operators' (admins
//! watching the console subscribe to everything with [`Interest::Everything`]). A rider's or driver's
//! stream therefore never wakes for somebody else's event: with 10,000 sockets open, one event wakes one
//! or two tasks, not 10,000 (`doorstep bench fanout`, docs/benchmarks.md).
//!
//! A durable event rings a doorbell ([`Delivery::Events`]), a [`Notify`] that keeps at most one permit:
//! the stream then reads the user's events after its last delivered one from the store, so a burst of
//! events costs one wake and one bounded read, and a slow subscriber loses nothing. Locations travel in
//! a bounded channel; a subscriber that lets it fill loses the oldest-undelivered positions (the next one
//! supersedes them), counted in `bus_locations_dropped_total`.

use doorstep_domain::{RideId, Timestamp, UserId};
use doorstep_geo::LatLng;
use doorstep_store::StoredEvent;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::{Notify, broadcast, mpsc};

/// A driver's position pushed to the rider of the ride they are on.
#[derive(Debug, Clone)]
pub struct LocationUpdate {
    /// The ride the driver is on.
    pub ride_id: RideId,
    /// The ride's rider.
    pub rider: UserId,
    /// The driver.
    pub driver: UserId,
    /// Where the driver is.
    pub position: LatLng,
    /// When the driver was there.
    pub at: Timestamp,
    /// Estimated seconds until pickup while driving to it.
    pub eta_s: Option<u32>,
}

/// A driver's position and status for the operations console.
#[derive(Debug, Clone)]
pub struct DriverPosition {
    /// The driver.
    pub driver: UserId,
    /// `available`, `offered`, `to_pickup`, `on_trip` or `offline`.
    pub status: &'static str,
    /// Where the driver is.
    pub position: LatLng,
    /// When the driver was there.
    pub at: Timestamp,
}

/// A suggestion to an idle driver to move towards where riders are expected (the dispatcher's
/// repositioning; the driver app shows it, the driver may ignore it).
#[derive(Debug, Clone)]
pub struct RepositionSuggestion {
    /// The driver.
    pub driver: UserId,
    /// Where to go.
    pub to: LatLng,
    /// The taxi zone of `to`, for the driver app.
    pub zone: String,
    /// When it was made.
    pub at: Timestamp,
}

/// What is published on the bus.
#[derive(Debug, Clone)]
pub enum BusMessage {
    /// A ride event that is already in the store; it reaches its recipients and the operators.
    Event(StoredEvent),
    /// A driver's position on a ride; it reaches the ride's rider and the operators.
    Location(LocationUpdate),
    /// A repositioning suggestion; it reaches its driver only.
    Suggestion(RepositionSuggestion),
}

/// What a subscription receives.
#[derive(Debug)]
pub enum Delivery {
    /// One or more durable events for the subscriber were committed: read them from the store.
    Events,
    /// A driver's position for the subscriber.
    Location(LocationUpdate),
    /// A repositioning suggestion for the subscriber (a driver).
    Suggestion(RepositionSuggestion),
}

/// An ephemeral message waiting in a mailbox.
#[derive(Debug)]
enum Push {
    Location(LocationUpdate),
    Suggestion(RepositionSuggestion),
}

/// What a subscriber wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// The events it is a recipient of, and the locations of the driver on its rides.
    Own,
    /// Every event and every location (operators).
    Everything,
}

/// Whose subject a node subscribes to in cluster mode: a user's, or the operators'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RouteKey {
    /// A user with a socket on this node.
    User(UserId),
    /// The operators (every event, every location).
    Ops,
}

impl RouteKey {
    /// The last token of the key's subjects (`doorstep.ev.<token>`, `doorstep.push.<token>`).
    pub(crate) fn subject_token(self) -> String {
        match self {
            RouteKey::User(u) => u.to_string(),
            RouteKey::Ops => "ops".to_owned(),
        }
    }
}

/// An ephemeral message that came from another node.
#[derive(Debug)]
pub(crate) enum RemotePush {
    Location(LocationUpdate),
    Suggestion(RepositionSuggestion),
}

/// The bus's link to the other nodes (cluster mode).
#[derive(Debug)]
struct Remote {
    cluster: Arc<crate::cluster::Cluster>,
    /// Keys whose first socket opened (`true`) or last closed (`false`) on this node.
    interest: tokio::sync::mpsc::UnboundedSender<(RouteKey, bool)>,
}

/// The console's names of a driver's status, for positions from another node.
pub(crate) fn status_name(status: &str) -> &'static str {
    match status {
        "available" => "available",
        "offered" => "offered",
        "to_pickup" => "to_pickup",
        "on_trip" => "on_trip",
        _ => "offline",
    }
}

/// Locations a subscriber may have waiting before newer ones are dropped.
const LOCATION_MAILBOX: usize = 64;

/// One subscriber's mailbox, shared by the registry (the sending side) and the [`Subscription`].
#[derive(Debug)]
struct Mailbox {
    id: u64,
    doorbell: Notify,
    locations: mpsc::Sender<Push>,
}

impl Mailbox {
    fn ring(&self) {
        self.doorbell.notify_one();
    }

    fn push(&self, location: &LocationUpdate) {
        if self
            .locations
            .try_send(Push::Location(location.clone()))
            .is_err()
        {
            metrics::counter!("bus_locations_dropped_total").increment(1);
        }
    }

    fn suggest(&self, suggestion: &RepositionSuggestion) {
        if self
            .locations
            .try_send(Push::Suggestion(suggestion.clone()))
            .is_err()
        {
            metrics::counter!("bus_suggestions_dropped_total").increment(1);
        }
    }
}

/// The registry of subscribers.
#[derive(Debug, Default)]
struct Routes {
    next_id: u64,
    /// Mailboxes of users' own streams, by user.
    by_user: HashMap<UserId, Vec<Arc<Mailbox>>>,
    /// Mailboxes of operators' streams.
    everything: Vec<Arc<Mailbox>>,
}

/// The routed bus (cheap to clone), and a broadcast channel of every driver's position that only the
/// operations console subscribes to.
#[derive(Debug, Clone)]
pub struct EventBus {
    routes: Arc<RwLock<Routes>>,
    fleet: broadcast::Sender<DriverPosition>,
    /// Set once in cluster mode: ephemeral messages then travel through NATS, and the node subscribes
    /// to the subjects of the users with a socket here.
    remote: Arc<OnceLock<Remote>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

/// A subscriber's place on the bus; dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    user: UserId,
    interest: Interest,
    mailbox: Arc<Mailbox>,
    locations: mpsc::Receiver<Push>,
    routes: Arc<RwLock<Routes>>,
    remote: Arc<OnceLock<Remote>>,
}

impl Subscription {
    /// The next delivery. Cancel-safe: a doorbell or location not returned stays for the next call.
    pub async fn recv(&mut self) -> Delivery {
        tokio::select! {
            biased;
            () = self.mailbox.doorbell.notified() => Delivery::Events,
            location = self.locations.recv() => match location {
                Some(Push::Location(l)) => Delivery::Location(l),
                Some(Push::Suggestion(r)) => Delivery::Suggestion(r),
                // The registry holds a sender as long as this subscription exists.
                None => std::future::pending().await,
            },
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut routes = write(&self.routes);
        let id = self.mailbox.id;
        let emptied = match self.interest {
            Interest::Own => {
                let mut emptied = false;
                if let Some(boxes) = routes.by_user.get_mut(&self.user) {
                    boxes.retain(|m| m.id != id);
                    if boxes.is_empty() {
                        routes.by_user.remove(&self.user);
                        emptied = true;
                    }
                }
                emptied.then_some(RouteKey::User(self.user))
            }
            Interest::Everything => {
                routes.everything.retain(|m| m.id != id);
                routes.everything.is_empty().then_some(RouteKey::Ops)
            }
        };
        // Told under the registry's lock, so that the node's subscriptions follow in order.
        if let (Some(key), Some(remote)) = (emptied, self.remote.get()) {
            let _ = remote.interest.send((key, false));
        }
    }
}

// The registry is plain data: a panic elsewhere leaves it usable.
fn read(routes: &RwLock<Routes>) -> RwLockReadGuard<'_, Routes> {
    routes
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write(routes: &RwLock<Routes>) -> RwLockWriteGuard<'_, Routes> {
    routes
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl EventBus {
    /// A bus with no subscriber.
    pub fn new() -> EventBus {
        let (fleet, _) = broadcast::channel(8192);
        EventBus {
            routes: Arc::new(RwLock::new(Routes::default())),
            fleet,
            remote: Arc::new(OnceLock::new()),
        }
    }

    /// Links the bus to the other nodes (cluster mode): from now on locations, suggestions and
    /// console positions travel through NATS, and the node follows the subjects of its sockets' users.
    pub(crate) fn attach(&self, cluster: Arc<crate::cluster::Cluster>) {
        let (interest, changes) = tokio::sync::mpsc::unbounded_channel();
        let client = cluster.client().clone();
        let name = cluster.name().to_owned();
        let connected = cluster.take_connected();
        let keys: Vec<RouteKey> = {
            let routes = read(&self.routes);
            routes
                .by_user
                .keys()
                .map(|u| RouteKey::User(*u))
                .chain((!routes.everything.is_empty()).then_some(RouteKey::Ops))
                .collect()
        };
        for key in keys {
            let _ = interest.send((key, true));
        }
        if self.remote.set(Remote { cluster, interest }).is_ok() {
            tokio::spawn(crate::cluster::keep_user_subscriptions(
                self.clone(),
                client,
                name,
                changes,
                connected,
            ));
        }
    }

    /// Publishes a driver's position to the operations console subscribers (none is fine); in
    /// cluster mode to every node's consoles.
    pub fn publish_position(&self, position: DriverPosition) {
        match self.remote.get() {
            Some(remote) => remote.cluster.publish_position(&position),
            None => self.deliver_position(position),
        }
    }

    /// Hands a driver's position to this node's console subscribers.
    pub(crate) fn deliver_position(&self, position: DriverPosition) {
        let _ = self.fleet.send(position);
    }

    /// Rings the doorbells of `key`'s sockets on this node.
    pub(crate) fn ring_local(&self, key: RouteKey) {
        let routes = read(&self.routes);
        match key {
            RouteKey::User(user) => {
                for mailbox in routes.by_user.get(&user).into_iter().flatten() {
                    mailbox.ring();
                }
            }
            RouteKey::Ops => {
                for mailbox in &routes.everything {
                    mailbox.ring();
                }
            }
        }
    }

    /// Puts a push from another node in `key`'s mailboxes on this node.
    pub(crate) fn push_local(&self, key: RouteKey, push: &RemotePush) {
        let routes = read(&self.routes);
        let boxes: Vec<&Arc<Mailbox>> = match key {
            RouteKey::User(user) => routes.by_user.get(&user).into_iter().flatten().collect(),
            RouteKey::Ops => routes.everything.iter().collect(),
        };
        for mailbox in boxes {
            match push {
                RemotePush::Location(l) => mailbox.push(l),
                RemotePush::Suggestion(r) => mailbox.suggest(r),
            }
        }
    }

    /// A new subscription to every driver's position (admins only).
    pub fn subscribe_positions(&self) -> broadcast::Receiver<DriverPosition> {
        self.fleet.subscribe()
    }

    /// Delivers a message to its recipients' subscriptions and to the operators' (none is fine); wakes
    /// no other subscriber.
    pub fn publish(&self, message: BusMessage) {
        // In cluster mode ephemeral messages go through NATS, which brings them back to this node's
        // subscribers too (durable events ring here at once, and reach the others by the relay).
        if let Some(remote) = self.remote.get() {
            match &message {
                BusMessage::Event(_) => {}
                BusMessage::Location(l) => return remote.cluster.push_location(l),
                BusMessage::Suggestion(r) => return remote.cluster.push_suggestion(r),
            }
        }
        let routes = read(&self.routes);
        match &message {
            BusMessage::Event(e) => {
                for user in e.recipient_users() {
                    for mailbox in routes.by_user.get(&user).into_iter().flatten() {
                        mailbox.ring();
                    }
                }
                for mailbox in &routes.everything {
                    mailbox.ring();
                }
            }
            BusMessage::Location(l) => {
                for mailbox in routes.by_user.get(&l.rider).into_iter().flatten() {
                    mailbox.push(l);
                }
                for mailbox in &routes.everything {
                    mailbox.push(l);
                }
            }
            BusMessage::Suggestion(r) => {
                for mailbox in routes.by_user.get(&r.driver).into_iter().flatten() {
                    mailbox.suggest(r);
                }
            }
        }
    }

    /// A new subscription of `user`'s stream to what `interest` names, from now on.
    pub fn subscribe(&self, user: UserId, interest: Interest) -> Subscription {
        let (tx, locations) = mpsc::channel(LOCATION_MAILBOX);
        let mut routes = write(&self.routes);
        let id = routes.next_id;
        routes.next_id += 1;
        let mailbox = Arc::new(Mailbox {
            id,
            doorbell: Notify::new(),
            locations: tx,
        });
        let first = match interest {
            Interest::Own => {
                let boxes = routes.by_user.entry(user).or_default();
                boxes.push(Arc::clone(&mailbox));
                (boxes.len() == 1).then_some(RouteKey::User(user))
            }
            Interest::Everything => {
                routes.everything.push(Arc::clone(&mailbox));
                (routes.everything.len() == 1).then_some(RouteKey::Ops)
            }
        };
        if let (Some(key), Some(remote)) = (first, self.remote.get()) {
            let _ = remote.interest.send((key, true));
        }
        drop(routes);
        Subscription {
            user,
            interest,
            mailbox,
            locations,
            routes: Arc::clone(&self.routes),
            remote: Arc::clone(&self.remote),
        }
    }

    /// How many subscriptions are open (for tests and metrics).
    pub fn subscribers(&self) -> usize {
        let routes = read(&self.routes);
        routes.by_user.values().map(Vec::len).sum::<usize>() + routes.everything.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_domain::ride::RideEvent;
    use doorstep_store::{Recipient, RecipientRole};
    use std::time::Duration;

    fn user() -> UserId {
        UserId::from_uuid(uuid::Uuid::now_v7())
    }

    /// Whether `subscription` gets something within a moment.
    async fn woken(subscription: &mut Subscription) -> Option<Delivery> {
        tokio::time::timeout(Duration::from_millis(50), subscription.recv())
            .await
            .ok()
    }

    fn event_for(recipients: &[(UserId, RecipientRole)]) -> StoredEvent {
        StoredEvent {
            id: 1,
            job_id: doorstep_domain::JobId::from_uuid(uuid::Uuid::now_v7()),
            at: Timestamp::from_millis(0),
            recipients: recipients
                .iter()
                .map(|&(user, role)| Recipient { user, role })
                .collect(),
            event: RideEvent::PinLocked.into(),
        }
    }

    #[tokio::test]
    async fn an_event_wakes_its_recipients_and_the_operators_and_no_other_socket() {
        let bus = EventBus::new();
        let (rider, driver, other_driver, admin) = (user(), user(), user(), user());
        let mut riders = bus.subscribe(rider, Interest::Own);
        let mut drivers = bus.subscribe(driver, Interest::Own);
        let mut others = bus.subscribe(other_driver, Interest::Own);
        let mut console = bus.subscribe(admin, Interest::Everything);
        bus.publish(BusMessage::Event(event_for(&[
            (rider, RecipientRole::Customer),
            (driver, RecipientRole::Worker),
        ])));
        assert!(matches!(woken(&mut riders).await, Some(Delivery::Events)));
        assert!(matches!(woken(&mut drivers).await, Some(Delivery::Events)));
        assert!(matches!(woken(&mut console).await, Some(Delivery::Events)));
        assert!(
            woken(&mut others).await.is_none(),
            "another driver's socket slept"
        );
        // A burst of events is one doorbell: the stream reads them all from the store at once.
        for _ in 0..3 {
            bus.publish(BusMessage::Event(event_for(&[(
                rider,
                RecipientRole::Customer,
            )])));
        }
        assert!(matches!(woken(&mut riders).await, Some(Delivery::Events)));
        assert!(woken(&mut riders).await.is_none());
    }

    #[tokio::test]
    async fn a_location_reaches_the_rides_rider_and_the_operators_only()
    -> Result<(), doorstep_geo::InvalidLatLng> {
        let bus = EventBus::new();
        let (rider, driver, admin) = (user(), user(), user());
        let mut riders = bus.subscribe(rider, Interest::Own);
        let mut drivers = bus.subscribe(driver, Interest::Own);
        let mut console = bus.subscribe(admin, Interest::Everything);
        let position = LatLng::new(40.75, -73.98)?;
        bus.publish(BusMessage::Location(LocationUpdate {
            ride_id: RideId::from_uuid(uuid::Uuid::now_v7()),
            rider,
            driver,
            position,
            at: Timestamp::from_millis(0),
            eta_s: None,
        }));
        assert!(
            matches!(woken(&mut riders).await, Some(Delivery::Location(l)) if l.rider == rider)
        );
        assert!(matches!(
            woken(&mut console).await,
            Some(Delivery::Location(_))
        ));
        assert!(
            woken(&mut drivers).await.is_none(),
            "the driver's own socket slept"
        );
        Ok(())
    }

    #[test]
    fn a_dropped_subscription_leaves_the_registry() {
        let bus = EventBus::new();
        let ann = user();
        let first = bus.subscribe(ann, Interest::Own);
        let second = bus.subscribe(ann, Interest::Own);
        let console = bus.subscribe(user(), Interest::Everything);
        assert_eq!(bus.subscribers(), 3);
        drop(first);
        assert_eq!(bus.subscribers(), 2);
        drop((second, console));
        assert_eq!(bus.subscribers(), 0);
    }
}
