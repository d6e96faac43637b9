//! The hot state of a city: online drivers as workers (a driver's capabilities, online state,
//! position, and a route of the stops it committed to across jobs, with a pending offer beside the
//! route), what the fleet keeps per job on a route (its customer, its odometer), and the pickups waiting
//! for dispatch. What a driver is doing ([`Activity`]) is derived from its route, never stored. It
//! lives in memory behind one short lock ([`crate::App::with_fleet`]); the store is the record and
//! [`crate::App::start`] rebuilds this from it after a restart.
//!
//! Available drivers are kept in a [`GridIndex`] under dense slot numbers: a driver gets a slot when the
//! fleet first hears of it and gives it back when the fleet forgets it, so the index's id table stays as
//! small as the number of drivers known at once. The grid ranks by a projected plane distance; the
//! answers given out here are re-ranked by great-circle distance ([`haversine_km`]), as before.

use doorstep_domain::job::StopKind;
use doorstep_domain::position::{Implausible, PositionLimits, check_position};
use doorstep_domain::ride::RideState;
use doorstep_domain::worker::{Position, Route, RouteStop, Worker};
use doorstep_domain::{JobId, OfferId, RideId, Timestamp, UserId};
use doorstep_geo::{City, GridIndex, LatLng, haversine_km};
use std::collections::HashMap;

/// Side of the index's cells, km: about 0.2 km measured fastest for 100k drivers over Manhattan
/// (`doorstep bench geo --grid-cell-km 0.2`) and stays cheap for small fleets (empty cells cost a
/// length check each).
pub const INDEX_CELL_KM: f64 = 0.2;
/// How far beyond the city's bounding box the index's cells reach, degrees (about 5 km); positions
/// beyond that are still indexed, in an overflow bucket every query reads.
const INDEX_MARGIN_DEG: f64 = 0.05;
/// Widening of a query's radius in the grid's plane so that every driver within the radius by
/// great-circle distance is among the grid's answers (the two distances differ by < 0.2 % in a city).
const PLANE_SLACK: f64 = 1.01;

/// An offer a driver holds: beside its route, not on it (an offer commits nobody). A driver holding
/// one gets no other offer until it is answered or expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingOffer {
    /// The job offered (a ride's job has the ride's id).
    pub job: JobId,
    /// The offer.
    pub offer: OfferId,
}

/// What a driver is doing, as the console and the dispatcher summarise it: derived from its route and
/// its pending offer ([`DriverState::activity`]), never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// No stops and no offer: free for offers (when online and recently seen).
    Idle,
    /// No stops, an offer pending.
    Offered(PendingOffer),
    /// Stops to do and nothing on board: on the way to the pickup of `job`, the route's first job.
    ToPickup {
        /// The job whose stop is next.
        job: JobId,
    },
    /// Something on board: carrying `job` (the first job on board).
    OnTrip {
        /// The job on board.
        job: JobId,
    },
}

impl Activity {
    /// The job the summary names, if any.
    pub fn job(&self) -> Option<JobId> {
        match *self {
            Activity::Idle => None,
            Activity::Offered(o) => Some(o.job),
            Activity::ToPickup { job } | Activity::OnTrip { job } => Some(job),
        }
    }
}

/// What the fleet keeps of a job bound to a driver's route, keyed by job.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BoundJob {
    /// Its customer (a ride's rider): who gets the worker's positions.
    customer: UserId,
    /// Metres driven (from reported positions) since the job went on board.
    odometer_m: f64,
}

/// What the hot state needs of a ride after a committed change: its version, state, people, pickup,
/// the stops of its job still to do, and the offer out (only while it waits for a driver).
#[derive(Debug, Clone, PartialEq)]
pub struct RideSnapshot {
    /// The ride.
    pub id: RideId,
    /// Its version after the change.
    pub version: i64,
    /// Its state.
    pub state: RideState,
    /// Its rider.
    pub rider: UserId,
    /// Where the rider waits.
    pub pickup: LatLng,
    /// The stops of its job not done yet, as a worker's route holds them ([`Job::route_stops`]):
    /// pickup and drop-off until the rider is on board, then the drop-off.
    ///
    /// [`Job::route_stops`]: doorstep_domain::job::Job::route_stops
    pub stops: Vec<RouteStop>,
    /// The assigned driver, if any.
    pub driver: Option<UserId>,
    /// The offer out (driver, offer), if any.
    pub offer: Option<(UserId, OfferId)>,
}

impl RideSnapshot {
    /// The snapshot of `ride` with the offer out `offer`.
    pub fn of(ride: &doorstep_domain::ride::Ride, offer: Option<(UserId, OfferId)>) -> Self {
        RideSnapshot {
            id: ride.id(),
            version: ride.version(),
            state: ride.state(),
            rider: ride.rider(),
            pickup: ride.pickup(),
            stops: ride.job().route_stops(),
            driver: ride.driver(),
            offer,
        }
    }
}

/// What the hot state needs of any job after a committed change (a ride's, an order's): its version,
/// its customer, the stops still to do, and how it binds a worker: an offer beside the worker's route
/// while it waits, or its stops on the worker's route once assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSnapshot {
    /// The job.
    pub id: JobId,
    /// Its version after the change.
    pub version: i64,
    /// Its customer: who sees the worker's positions.
    pub customer: UserId,
    /// A ride waiting for a driver: where the rider waits (the demand near a point counts it).
    pub waiting_pickup: Option<LatLng>,
    /// The stops of the job not done yet, as a worker's route holds them.
    pub stops: Vec<RouteStop>,
    /// How it binds a worker now.
    pub bound: Option<Binding>,
}

/// How a job binds a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// An offer beside the worker's route (worker, offer).
    Offered(UserId, OfferId),
    /// Its stops on the worker's route.
    Assigned(UserId),
}

impl JobSnapshot {
    /// The snapshot of an order with the offer out `offer` (only while it waits for a courier).
    pub fn of_order(
        order: &doorstep_domain::food::order::Order,
        offer: Option<(UserId, OfferId)>,
    ) -> Self {
        use doorstep_domain::job::JobState;
        let job = order.job();
        let bound = match (job.state, job.worker, offer) {
            (JobState::Open, _, Some((w, o))) => Some(Binding::Offered(w, o)),
            (JobState::Assigned | JobState::InProgress, Some(w), _) => Some(Binding::Assigned(w)),
            _ => None,
        };
        JobSnapshot {
            id: order.id(),
            version: order.version(),
            customer: order.customer(),
            waiting_pickup: None,
            stops: job.route_stops(),
            bound,
        }
    }
}

impl From<&RideSnapshot> for JobSnapshot {
    fn from(ride: &RideSnapshot) -> Self {
        let bound = match (ride.state, ride.driver, ride.offer) {
            (RideState::Requested, _, Some((driver, offer))) => {
                Some(Binding::Offered(driver, offer))
            }
            (
                RideState::DriverAssigned | RideState::DriverArrived | RideState::InProgress,
                Some(driver),
                _,
            ) => Some(Binding::Assigned(driver)),
            _ => None,
        };
        JobSnapshot {
            id: JobId::from(ride.id),
            version: ride.version,
            customer: ride.rider,
            waiting_pickup: (ride.state == RideState::Requested).then_some(ride.pickup),
            stops: ride.stops.clone(),
            bound,
        }
    }
}

/// One driver's hot state: the worker (a driver's capabilities, online state, position, and its route
/// of stops across jobs), the offer it holds beside the route, and when it was last pushed.
#[derive(Debug, Clone)]
pub struct DriverState {
    worker: Worker,
    /// The offer it holds, if any.
    offer: Option<PendingOffer>,
    /// When a location of this driver was last pushed to a rider.
    pub last_push: Option<Timestamp>,
    /// When a position of this driver was last pushed to the operations console.
    pub last_console_push: Option<Timestamp>,
    /// The driver's slot in the index of available drivers.
    slot: u32,
    /// Whether the latest position has yet to be written to the store.
    unsaved: bool,
}

impl DriverState {
    fn new(driver: UserId, slot: u32) -> Self {
        DriverState {
            worker: Worker::driver(driver),
            offer: None,
            slot,
            unsaved: false,
            last_push: None,
            last_console_push: None,
        }
    }

    /// The worker: capabilities, online state, position and route.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Whether the driver wants offers.
    pub fn online(&self) -> bool {
        self.worker.online
    }

    /// Last reported position.
    pub fn position(&self) -> Option<LatLng> {
        self.worker.position.map(|p| p.at)
    }

    /// When that position was taken.
    pub fn last_seen(&self) -> Option<Timestamp> {
        self.worker.position.map(|p| p.seen_at)
    }

    /// The stops the driver committed to, across jobs.
    pub fn route(&self) -> &Route {
        &self.worker.route
    }

    /// The offer it holds, if any.
    pub fn offer(&self) -> Option<PendingOffer> {
        self.offer
    }

    /// Bound to nothing: no stops and no offer.
    pub fn is_idle(&self) -> bool {
        self.worker.route.is_empty() && self.offer.is_none()
    }

    /// Whether it is online and idle but has sent no position since `fresh_since` (a closed browser, a
    /// phone out of coverage): dispatch offers it nothing ([`Fleet::candidates`] has the same rule), so
    /// the console shows it as stale and does not count it online.
    pub fn is_stale(&self, fresh_since: Timestamp) -> bool {
        self.worker.online && self.is_idle() && self.last_seen().is_none_or(|t| t < fresh_since)
    }

    /// Whether the dispatcher may count on it: online with no stops to do (an offer it holds is the
    /// dispatcher's own business).
    pub fn takes_work(&self) -> bool {
        self.worker.online && self.worker.route.is_empty()
    }

    /// What it is doing, derived from the route (something on board: on a trip; stops to do: on the
    /// way to a pickup) and then the offer.
    pub fn activity(&self) -> Activity {
        let route = &self.worker.route;
        if let Some(job) = on_board(route).next() {
            return Activity::OnTrip { job };
        }
        if let Some(first) = route.stops().first() {
            return Activity::ToPickup { job: first.job };
        }
        self.offer.map_or(Activity::Idle, Activity::Offered)
    }
}

/// The jobs on board of `route` (their first stop still to do is a drop-off), in route order.
fn on_board(route: &Route) -> impl Iterator<Item = JobId> + '_ {
    route.jobs().into_iter().filter(|job| {
        route
            .stops()
            .iter()
            .find(|s| s.job == *job)
            .is_some_and(|s| s.kind == StopKind::Dropoff)
    })
}

/// Where `job`'s pickup on `route` is, while it is still to do.
fn pickup_on(route: &Route, job: JobId) -> Option<LatLng> {
    route
        .stops()
        .iter()
        .find(|s| s.job == job && s.kind == StopKind::Pickup)
        .map(|s| s.place)
}

/// A location that should be pushed to a rider.
#[derive(Debug, Clone, Copy)]
pub struct RidePosition {
    /// The ride.
    pub ride: RideId,
    /// Its rider.
    pub rider: UserId,
    /// The pickup, while the driver is on the way to it.
    pub pickup: Option<LatLng>,
}

/// How many points of a batch were not believed, by reason ([`check_position`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// Implausibly far from the previous accepted point for the time between them.
    pub too_fast: usize,
    /// Outside the service area and its margin.
    pub outside_service_area: usize,
}

impl Rejected {
    /// Every rejected point.
    pub const fn total(&self) -> usize {
        self.too_fast + self.outside_service_area
    }

    /// The points rejected for `reason`.
    pub const fn of(&self, reason: Implausible) -> usize {
        match reason {
            Implausible::TooFast => self.too_fast,
            Implausible::OutsideServiceArea => self.outside_service_area,
        }
    }

    fn count(&mut self, reason: Implausible) {
        match reason {
            Implausible::TooFast => self.too_fast += 1,
            Implausible::OutsideServiceArea => self.outside_service_area += 1,
        }
    }
}

/// What a batch of positions did ([`Fleet::report_positions`]).
#[derive(Debug, Default)]
pub struct ReportOutcome {
    /// Points not believed: they moved nothing.
    pub rejected: Rejected,
    /// Positions to push to riders: the ride, and the point with its time.
    pub pushes: Vec<(RidePosition, LatLng, Timestamp)>,
    /// The status name and the position to push to the operations console, when one is due.
    pub console: Option<(&'static str, LatLng, Timestamp)>,
}

/// What a query needs of the driver in a slot.
#[derive(Debug, Clone, Copy)]
struct SlotEntry {
    owner: Option<UserId>,
    position: Option<LatLng>,
    last_seen: Option<Timestamp>,
}

impl SlotEntry {
    const FREE: SlotEntry = SlotEntry {
        owner: None,
        position: None,
        last_seen: None,
    };
}

/// Hot state of all drivers and waiting pickups of the city.
#[derive(Debug)]
pub struct Fleet {
    drivers: HashMap<UserId, DriverState>,
    /// Online, available drivers with a position, by slot.
    available: GridIndex,
    /// By slot: the driver holding it and a copy of its position and when it was taken, so that a
    /// query reads one dense array instead of looking each answer up in `drivers`.
    slots: Vec<SlotEntry>,
    /// Slots given back, for reuse.
    free_slots: Vec<u32>,
    pending: HashMap<RideId, LatLng>,
    /// The jobs on drivers' routes, with what the fleet keeps of each (its customer, its odometer).
    jobs: HashMap<JobId, BoundJob>,
    /// Drivers whose `unsaved` flag was set since the last [`Fleet::take_unsaved_positions`].
    unsaved: Vec<UserId>,
    /// Latest unsaved positions of drivers the fleet forgot before they were saved.
    unsaved_forgotten: Vec<(UserId, LatLng, Timestamp)>,
    /// Per ride, the version of the last committed change applied to this hot state and when: a
    /// change of an older version arrives late and is refused ([`Fleet::apply`]).
    applied: HashMap<JobId, (i64, Timestamp)>,
    /// The city and the limits reported positions are judged by; `None` believes every point.
    limits: Option<(&'static City, PositionLimits)>,
}

impl Fleet {
    /// An empty fleet whose index covers `city` (and a margin around it).
    pub fn new(city: &City) -> Fleet {
        let (sw, ne) = city.bounding_box();
        let corner = |lat: f64, lng: f64, fallback: LatLng| {
            LatLng::new(lat.clamp(-90.0, 90.0), lng.clamp(-180.0, 180.0)).unwrap_or(fallback)
        };
        let sw = corner(sw.lat() - INDEX_MARGIN_DEG, sw.lng() - INDEX_MARGIN_DEG, sw);
        let ne = corner(ne.lat() + INDEX_MARGIN_DEG, ne.lng() + INDEX_MARGIN_DEG, ne);
        Fleet {
            drivers: HashMap::new(),
            available: GridIndex::new(sw, ne, INDEX_CELL_KM),
            slots: Vec::new(),
            free_slots: Vec::new(),
            pending: HashMap::new(),
            jobs: HashMap::new(),
            unsaved: Vec::new(),
            unsaved_forgotten: Vec::new(),
            applied: HashMap::new(),
            limits: None,
        }
    }

    /// The fleet judging every reported position by `limits` in `city` ([`check_position`]): a point
    /// that is not believed moves neither the driver nor a trip's odometer. The app's fleet is built so; a
    /// fleet from [`Fleet::new`] alone believes every point (benchmarks of the index).
    pub fn with_position_limits(mut self, city: &'static City, limits: PositionLimits) -> Fleet {
        self.limits = Some((city, limits));
        self
    }

    /// The state of `driver`, created (with a fresh slot) if the fleet does not know it yet.
    fn state_mut(&mut self, driver: UserId) -> &mut DriverState {
        let Fleet {
            drivers,
            slots,
            free_slots,
            ..
        } = self;
        drivers.entry(driver).or_insert_with(|| {
            let entry = SlotEntry {
                owner: Some(driver),
                ..SlotEntry::FREE
            };
            let slot = match free_slots.pop() {
                Some(slot) => {
                    slots[slot as usize] = entry;
                    slot
                }
                None => {
                    slots.push(entry);
                    // Slots are bounded by the drivers known at once, far below 2^32.
                    u32::try_from(slots.len() - 1).unwrap_or(u32::MAX)
                }
            };
            DriverState::new(driver, slot)
        })
    }

    /// Forgets `driver` (offline and bound to nothing): its slot goes back, an unsaved position is kept
    /// for the next flush.
    fn forget(&mut self, driver: UserId) {
        let Some(d) = self.drivers.remove(&driver) else {
            return;
        };
        self.available.remove(d.slot);
        if let Some(entry) = self.slots.get_mut(d.slot as usize) {
            *entry = SlotEntry::FREE;
            self.free_slots.push(d.slot);
        }
        if d.unsaved
            && let (Some(p), Some(at)) = (d.position(), d.last_seen())
        {
            self.unsaved_forgotten.push((driver, p, at));
        }
    }

    /// The state of `driver`, if known.
    pub fn driver(&self, driver: UserId) -> Option<&DriverState> {
        self.drivers.get(&driver)
    }

    /// Number of drivers online and heard from since `fresh_since` (a driver on a ride counts even when
    /// quiet; an idle one that went silent is stale, see [`DriverState::is_stale`]).
    pub fn online_count(&self, fresh_since: Timestamp) -> usize {
        self.drivers
            .values()
            .filter(|d| d.online() && !d.is_stale(fresh_since))
            .count()
    }

    /// The driver holding an offer of `job`, with the offer, if any.
    pub fn offer_of(&self, job: JobId) -> Option<(UserId, OfferId)> {
        self.drivers
            .iter()
            .find_map(|(id, d)| d.offer.filter(|o| o.job == job).map(|o| (*id, o.offer)))
    }

    /// Number of drivers in the available index.
    pub fn available_count(&self) -> usize {
        self.available.len()
    }

    /// Number of pickups waiting for dispatch.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Every known driver (online, or offline but still on a ride) with its state.
    pub fn drivers(&self) -> impl Iterator<Item = (UserId, &DriverState)> {
        self.drivers.iter().map(|(k, v)| (*k, v))
    }

    fn reindex(&mut self, driver: UserId) {
        let Some(d) = self.drivers.get(&driver) else {
            return;
        };
        match (d.online(), d.is_idle(), d.position()) {
            (true, true, Some(p)) => self.available.upsert(d.slot, p),
            _ => {
                self.available.remove(d.slot);
            }
        }
    }

    /// The driver goes online or offline (keeps its route and any offer it holds).
    pub fn set_online(&mut self, driver: UserId, online: bool) {
        self.state_mut(driver).worker.online = online;
        self.reindex(driver);
        if !online
            && let Some(d) = self.drivers.get(&driver)
            && d.is_idle()
        {
            self.forget(driver);
        }
    }

    /// Restores a driver's last known position after a restart, without counting it as fresh.
    pub fn restore_position(&mut self, driver: UserId, p: LatLng, at: Timestamp) {
        if let Some(d) = self.drivers.get_mut(&driver) {
            d.worker.position = Some(Position { at: p, seen_at: at });
            if let Some(entry) = self.slots.get_mut(d.slot as usize) {
                entry.position = Some(p);
                entry.last_seen = Some(at);
            }
        }
        self.reindex(driver);
    }

    /// Records a batch of reported positions of one driver, oldest first, with one lookup of the driver
    /// and one index update for the whole batch. Positions older than the last one recorded are ignored;
    /// positions the fleet's limits do not believe are counted in [`ReportOutcome::rejected`] and change
    /// nothing, and the next point is judged against the last accepted one.
    /// Returns the positions to push to the driver's rider (at most one per `push_interval_ms`) and, with
    /// the batch's last point, whether the operations console is due one (at most one per
    /// `push_interval_ms` too).
    pub fn report_positions(
        &mut self,
        driver: UserId,
        points: &[(LatLng, Timestamp)],
        push_interval_ms: i64,
    ) -> ReportOutcome {
        let mut outcome = ReportOutcome::default();
        if points.is_empty() {
            // Nothing to record: the fleet does not start tracking a driver for an empty batch.
            return outcome;
        }
        let limits = self.limits;
        self.state_mut(driver);
        let Fleet {
            drivers,
            jobs,
            slots,
            unsaved,
            available,
            ..
        } = self;
        let Some(d) = drivers.get_mut(&driver) else {
            return outcome;
        };
        let mut moved = false;
        for &(p, at) in points {
            if d.last_seen().is_some_and(|seen| at < seen) {
                continue;
            }
            let previous = d.worker.position.map(|q| (q.at, q.seen_at));
            if let Some((city, limits)) = &limits
                && let Err(reason) = check_position(limits, city, previous, (p, at))
            {
                outcome.rejected.count(reason);
                continue;
            }
            if let Some((prev, _)) = previous {
                let metres = haversine_km(prev, p) * 1000.0;
                for job in on_board(&d.worker.route) {
                    if let Some(bound) = jobs.get_mut(&job) {
                        bound.odometer_m += metres;
                    }
                }
            }
            d.worker.position = Some(Position { at: p, seen_at: at });
            moved = true;
            let due = d
                .last_push
                .is_none_or(|last| at.millis_since(last) >= push_interval_ms);
            if !due {
                continue;
            }
            // Every customer of a job on the route sees where the driver is.
            let route = &d.worker.route;
            let before = outcome.pushes.len();
            for job in route.jobs() {
                if let Some(bound) = jobs.get(&job) {
                    let push = RidePosition {
                        ride: RideId::from(job),
                        rider: bound.customer,
                        pickup: pickup_on(route, job),
                    };
                    outcome.pushes.push((push, p, at));
                }
            }
            if outcome.pushes.len() > before {
                d.last_push = Some(at);
            }
        }
        if let (true, Some(p), Some(at)) = (moved, d.position(), d.last_seen()) {
            let console_due = d
                .last_console_push
                .is_none_or(|last| at.millis_since(last) >= push_interval_ms);
            if console_due {
                d.last_console_push = Some(at);
                // A driver that just reported a position is not stale.
                outcome.console = Some((crate::ops::status_name(d, at), p, at));
            }
        }
        let newly_unsaved = moved && !d.unsaved;
        d.unsaved |= moved;
        let index_at = match (moved, d.online(), d.is_idle(), d.position()) {
            (true, true, true, Some(p)) => Some((d.slot, p)),
            _ => None,
        };
        let (slot, position, last_seen) = (d.slot, d.position(), d.last_seen());
        if moved && let Some(entry) = slots.get_mut(slot as usize) {
            entry.position = position;
            entry.last_seen = last_seen;
        }
        if newly_unsaved {
            unsaved.push(driver);
        }
        if let Some((slot, p)) = index_at {
            available.upsert(slot, p);
        }
        outcome
    }

    /// The latest position of every driver that reported one since the last call: what the store has yet
    /// to record.
    pub fn take_unsaved_positions(&mut self) -> Vec<(UserId, LatLng, Timestamp)> {
        let mut batch = std::mem::take(&mut self.unsaved_forgotten);
        for driver in std::mem::take(&mut self.unsaved) {
            if let Some(d) = self.drivers.get_mut(&driver)
                && d.unsaved
            {
                d.unsaved = false;
                if let (Some(p), Some(at)) = (d.position(), d.last_seen()) {
                    batch.push((driver, p, at));
                }
            }
        }
        batch
    }

    /// Up to `k` available drivers nearest to `p` within `max_km` whose position is no older than
    /// `fresh_since`, closest first, with their positions.
    pub fn candidates(
        &self,
        p: LatLng,
        k: usize,
        max_km: f64,
        fresh_since: Timestamp,
    ) -> Vec<(UserId, LatLng, f64)> {
        // Ask for more than k so that stale drivers filtered out below do not shrink the list much.
        let mut found: Vec<(UserId, LatLng, f64)> = self
            .available
            .nearest(p, k.saturating_mul(2), max_km * PLANE_SLACK)
            .into_iter()
            .filter_map(|(slot, _)| {
                let entry = self.slots.get(slot as usize)?;
                let (id, position) = (entry.owner?, entry.position?);
                let fresh = entry.last_seen.is_some_and(|t| t >= fresh_since);
                let km = haversine_km(p, position);
                (fresh && km <= max_km).then_some((id, position, km))
            })
            .collect();
        found.sort_by(|a, b| a.2.total_cmp(&b.2));
        found.truncate(k);
        found
    }

    /// Available drivers and waiting pickups within `radius_km` of `p`: the demand and supply that set
    /// the surge of a pickup area.
    pub fn demand_supply_near(&self, p: LatLng, radius_km: f64) -> (u32, u32) {
        let supply = self.available.count_within(p, radius_km);
        let demand = self
            .pending
            .values()
            .filter(|q| haversine_km(p, **q) <= radius_km)
            .count();
        (
            u32::try_from(demand).unwrap_or(u32::MAX),
            u32::try_from(supply).unwrap_or(u32::MAX),
        )
    }

    /// Derives the hot state of `ride` from its committed state: who is bound to it (offered it, or
    /// with its stops on their route: its pickup and drop-off once assigned, its drop-off once on
    /// board) and whether it waits for dispatch. Drivers the hot state had bound to the ride who are no
    /// longer are freed of it. A snapshot older (by version) than one already applied arrived out of
    /// commit order and is refused (`false`): the newer one says everything about the ride, so the order
    /// in which concurrent commits reach the hot state does not matter.
    pub fn apply_ride(&mut self, ride: &RideSnapshot, at: Timestamp) -> bool {
        self.apply_job(&JobSnapshot::from(ride), at)
    }

    /// [`Fleet::apply_ride`] for a job of any service: its worker's route holds its stops once assigned,
    /// a worker holds its offer beside the route while it waits; workers no longer bound to it are freed;
    /// a snapshot older than one applied is refused (`false`).
    pub fn apply_job(&mut self, snapshot: &JobSnapshot, at: Timestamp) -> bool {
        let job = snapshot.id;
        if let Some(&(last, _)) = self.applied.get(&job)
            && snapshot.version < last
        {
            metrics::counter!("hot_state_stale_changes_total").increment(1);
            tracing::debug!(%job, version = snapshot.version, applied = last, "hot state refuses an older change of a job");
            return false;
        }
        tracing::debug!(%job, version = snapshot.version, bound = ?snapshot.bound, stops = snapshot.stops.len(), "hot state applies a job");
        self.applied.insert(job, (snapshot.version, at));
        match snapshot.waiting_pickup {
            Some(p) => {
                self.pending.insert(RideId::from(job), p);
            }
            None => {
                self.pending.remove(&RideId::from(job));
            }
        }
        let bound_worker = snapshot.bound.map(|b| match b {
            Binding::Offered(w, _) | Binding::Assigned(w) => w,
        });
        // Free every driver the hot state had on this job who is not bound to it any more.
        let stale: Vec<UserId> = self
            .drivers
            .iter()
            .filter(|(id, d)| {
                let holds = d.offer.is_some_and(|o| o.job == job)
                    || d.worker.route.stops().iter().any(|s| s.job == job);
                holds && bound_worker != Some(**id)
            })
            .map(|(id, _)| *id)
            .collect();
        for driver in stale {
            self.free(driver, job);
        }
        match snapshot.bound {
            Some(Binding::Offered(driver, offer)) => {
                let d = self.state_mut(driver);
                d.worker.drop_job(job);
                d.offer = Some(PendingOffer { job, offer });
                self.jobs.remove(&job);
                self.reindex(driver);
            }
            Some(Binding::Assigned(driver)) => {
                self.bind_route(driver, snapshot);
                self.reindex(driver);
            }
            None => {
                self.jobs.remove(&job);
            }
        }
        true
    }

    /// Puts the stops of `ride` (its job `job`) on `driver`'s route in place of those it had there,
    /// after the stops of its other jobs, and clears an offer of the job it held. A driver newly on
    /// the way to the pickup gets its next position pushed at once; a job newly on board starts its
    /// odometer. Should the route not hold the job beside the others within the driver's capacity
    /// ([`Route::check`]), the committed ride wins and the others go (they are bound in no newer
    /// commit the hot state has seen).
    fn bind_route(&mut self, driver: UserId, ride: &JobSnapshot) {
        let job = ride.id;
        let d = self.state_mut(driver);
        if d.offer.is_some_and(|o| o.job == job) {
            d.offer = None;
        }
        let had_pickup = pickup_on(&d.worker.route, job).is_some();
        let was_on_board = on_board(&d.worker.route).any(|j| j == job);
        d.worker.drop_job(job);
        let start = d.worker.route.stops().len();
        let positions: Vec<usize> = (start..start + ride.stops.len()).collect();
        if let Err(e) = d.worker.commit(&ride.stops, &positions) {
            let others = d.worker.route.jobs();
            tracing::warn!(%driver, %job, error = %e, dropped = others.len(),
                "a committed ride does not fit beside the driver's other jobs: they go");
            for other in &others {
                d.worker.drop_job(*other);
            }
            if let Err(e) = d
                .worker
                .commit(&ride.stops, &(0..ride.stops.len()).collect::<Vec<_>>())
            {
                tracing::error!(%driver, %job, error = %e, "a committed ride's stops make no route");
            }
            for other in others {
                self.unbind_if_on_no_route(other);
            }
        }
        let Some(d) = self.drivers.get_mut(&driver) else {
            return;
        };
        if !d.worker.route.stops().iter().any(|s| s.job == job) {
            self.jobs.remove(&job);
            return;
        }
        let has_pickup = pickup_on(&d.worker.route, job).is_some();
        let is_on_board = on_board(&d.worker.route).any(|j| j == job);
        if has_pickup && !had_pickup {
            d.last_push = None;
        }
        let entry = self.jobs.entry(job).or_insert(BoundJob {
            customer: ride.customer,
            odometer_m: 0.0,
        });
        entry.customer = ride.customer;
        if is_on_board && !was_on_board {
            entry.odometer_m = 0.0;
        }
    }

    /// The driver is bound to `job` no more: its stops leave the route and an offer of it goes. A
    /// driver bound to nothing then is available again (or forgotten, if offline).
    fn free(&mut self, driver: UserId, job: JobId) {
        let Some(d) = self.drivers.get_mut(&driver) else {
            return;
        };
        d.worker.drop_job(job);
        if d.offer.is_some_and(|o| o.job == job) {
            d.offer = None;
        }
        let (online, idle) = (d.online(), d.is_idle());
        self.unbind_if_on_no_route(job);
        if online || !idle {
            self.reindex(driver);
        } else {
            self.forget(driver);
        }
    }

    /// Forgets what the fleet kept of `job` once no driver's route holds it.
    fn unbind_if_on_no_route(&mut self, job: JobId) {
        let held = self
            .drivers
            .values()
            .any(|d| d.worker.route.stops().iter().any(|s| s.job == job));
        if !held {
            self.jobs.remove(&job);
        }
    }

    /// Metres driven with `job` on board (from reported positions); 0 for a job on no route.
    pub fn trip_odometer_m(&self, job: JobId) -> f64 {
        self.jobs.get(&job).map_or(0.0, |j| j.odometer_m)
    }

    /// The odometers of jobs on board (metres above zero), with the point and time of their driver's
    /// last believed position: what a node taking the city over continues from (cluster mode).
    pub fn odometers(&self) -> Vec<(JobId, f64, LatLng, Timestamp)> {
        let mut out = Vec::new();
        for d in self.drivers.values() {
            let (Some(p), Some(at)) = (d.position(), d.last_seen()) else {
                continue;
            };
            for job in on_board(&d.worker.route) {
                if let Some(b) = self.jobs.get(&job)
                    && b.odometer_m > 0.0
                {
                    out.push((job, b.odometer_m, p, at));
                }
            }
        }
        out
    }

    /// Restores a job's odometer kept in the record after a takeover (never lowers it).
    pub fn restore_odometer(&mut self, job: JobId, metres: f64) {
        if let Some(b) = self.jobs.get_mut(&job)
            && metres > b.odometer_m
        {
            b.odometer_m = metres;
        }
    }

    /// Forgets the applied versions of rides not changed since `before` (their late changes would
    /// be minutes late).
    pub fn forget_applied_before(&mut self, before: Timestamp) {
        self.applied.retain(|_, (_, at)| *at >= before);
    }
}
