//! Workers: drivers, couriers and providers in one model. A worker has capabilities (vehicle, capacity,
//! skills), an online flag, its last known position and a [`Route`]: the ordered stops it committed to,
//! across one or more jobs. A driver is a worker with a car and a capacity of one ride.
//!
//! A route always keeps three invariants, checked whenever it changes (a refused change leaves it as it
//! was):
//! - a job's stops appear in the job's order (by stop index), each at most once;
//! - a job's pickup is followed by its drop-off (a job never stays on board past the end of the route);
//! - the load on board (seats, bags) never goes below zero nor above the worker's capacity.
//!
//! The route holds only the stops still to do: completing a stop removes it ([`Route::advance`]), so a
//! job whose pickup is done is on board until its drop-off.

use crate::ids::{JobId, UserId};
use crate::job::{StopKind, TimeWindow};
use crate::time::Timestamp;
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How a worker moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleKind {
    /// A car: carries riders.
    Car,
    /// A motorbike or scooter.
    Motorbike,
    /// A bicycle.
    Bicycle,
}

impl VehicleKind {
    /// Every kind.
    pub const ALL: [VehicleKind; 3] = [
        VehicleKind::Car,
        VehicleKind::Motorbike,
        VehicleKind::Bicycle,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            VehicleKind::Car => "car",
            VehicleKind::Motorbike => "motorbike",
            VehicleKind::Bicycle => "bicycle",
        }
    }

    /// Parses the name produced by [`VehicleKind::as_str`].
    pub fn parse(s: &str) -> Option<VehicleKind> {
        VehicleKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A skill a provider has and a service needs (`plumbing`, `haircut`): 1 to 32 lower-case ASCII
/// letters, digits and underscores. Skills are configuration, not code, so they are an open set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Skill(String);

/// Not a skill name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a skill: 1 to 32 lower-case letters, digits or underscores")]
pub struct InvalidSkill(pub String);

impl Skill {
    /// The longest skill name, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Accepts 1 to [`Skill::MAX_CHARS`] of `a-z`, `0-9` and `_`.
    pub fn parse(s: &str) -> Result<Skill, InvalidSkill> {
        let ok = (1..=Skill::MAX_CHARS).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Skill(s.to_owned()))
        } else {
            Err(InvalidSkill(s.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Skill {
    type Error = InvalidSkill;

    fn try_from(s: String) -> Result<Skill, InvalidSkill> {
        Skill::parse(&s)
    }
}

impl From<Skill> for String {
    fn from(skill: Skill) -> String {
        skill.0
    }
}

/// What a worker can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// How it moves (`None`: on foot, or a provider who travels by any means).
    pub vehicle: Option<VehicleKind>,
    /// How much it can carry at once, in the unit jobs use for their load (seats, bags).
    pub capacity: u32,
    /// What services it can do.
    pub skills: BTreeSet<Skill>,
}

/// What a job needs of its worker.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Requirements {
    /// Vehicles that will do (empty: any vehicle, or none).
    pub vehicles: BTreeSet<VehicleKind>,
    /// Skills the worker must all have.
    pub skills: BTreeSet<Skill>,
}

/// Why a worker cannot take a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// The worker is offline.
    #[error("the worker is offline")]
    Offline,
    /// The job needs another vehicle.
    #[error("the job needs another vehicle")]
    Vehicle,
    /// The worker lacks a skill the job needs.
    #[error("the worker lacks the skill {0}")]
    Skill(String),
    /// The job's load is more than the worker can carry at all.
    #[error("a load of {load} is more than the capacity {capacity}")]
    Capacity {
        /// The job's load.
        load: u32,
        /// The worker's capacity.
        capacity: u32,
    },
}

impl Capabilities {
    /// A driver's: a car with room for one ride at a time.
    pub fn driver() -> Capabilities {
        Capabilities {
            vehicle: Some(VehicleKind::Car),
            capacity: 1,
            skills: BTreeSet::new(),
        }
    }

    /// Whether these capabilities meet `needs` for a job of `load`.
    pub fn meets(&self, needs: &Requirements, load: u32) -> Result<(), Ineligible> {
        if !needs.vehicles.is_empty() && !self.vehicle.is_some_and(|v| needs.vehicles.contains(&v))
        {
            return Err(Ineligible::Vehicle);
        }
        if let Some(missing) = needs.skills.difference(&self.skills).next() {
            return Err(Ineligible::Skill(missing.as_str().to_owned()));
        }
        if load > self.capacity {
            return Err(Ineligible::Capacity {
                load,
                capacity: self.capacity,
            });
        }
        Ok(())
    }
}

/// One stop of a worker's route: a stop of one of its jobs, with what the route model needs to plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RouteStop {
    /// The job.
    pub job: JobId,
    /// Which of the job's stops (its index in `Job::stops`).
    pub stop_index: usize,
    /// What happens there.
    pub kind: StopKind,
    /// Where.
    pub place: LatLng,
    /// When it may be served.
    pub window: TimeWindow,
    /// How long the work there takes, in seconds.
    pub service_s: u32,
    /// How the load on board changes there: + the job's load at a pickup, − at a drop-off, 0 otherwise.
    pub load_change: i64,
}

/// Why a route change was refused. The route is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A job's stops are not in the job's order, or one appears twice.
    #[error("the stops of job {job} are out of order")]
    OutOfOrder {
        /// The job.
        job: JobId,
    },
    /// A job's pickup is not followed by its drop-off in the route.
    #[error("job {job} is picked up and never dropped off")]
    PickupWithoutDropoff {
        /// The job.
        job: JobId,
    },
    /// A job's drop-off comes before its pickup.
    #[error("job {job} is dropped off before it is picked up")]
    DropoffBeforePickup {
        /// The job.
        job: JobId,
    },
    /// The load on board would exceed the capacity (or go below zero) at a stop.
    #[error("a load of {load} at stop {position} is outside 0 to {capacity}")]
    Load {
        /// The position in the route (0: on board before the first stop).
        position: usize,
        /// The load there.
        load: i64,
        /// The capacity.
        capacity: u32,
    },
    /// A stop's load change does not fit its kind (a pickup adds, a drop-off removes, a service neither).
    #[error("a stop of job {job} changes the load against its kind")]
    LoadChange {
        /// The job.
        job: JobId,
    },
    /// The positions given do not fit the stops inserted (not one per stop, not increasing, or past
    /// the end of the new route).
    #[error("bad insertion positions")]
    BadPositions,
    /// The job is already on the route.
    #[error("job {job} is already on the route")]
    AlreadyOnRoute {
        /// The job.
        job: JobId,
    },
    /// The stop is not the job's next stop on the route.
    #[error("stop {stop_index} of job {job} is not its next stop on the route")]
    NotNext {
        /// The job.
        job: JobId,
        /// The stop asked for.
        stop_index: usize,
    },
    /// The route changed since the plan (a route offer) was made from it.
    #[error("the route changed since revision {expected}")]
    Stale {
        /// The revision the plan was made from.
        expected: u64,
    },
}

/// The ordered stops a worker committed to, across jobs. Its fields are private and it is not
/// deserialisable, so that every route that exists keeps the invariants of the module (a stored route
/// comes back through [`Route::from_stops`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Route {
    stops: Vec<RouteStop>,
    revision: u64,
}

impl Route {
    /// An empty route at revision 0.
    pub fn new() -> Route {
        Route::default()
    }

    /// A route with these stops (restored, or planned by dispatch), if they keep the invariants for
    /// `capacity`; its revision is `revision`.
    pub fn from_stops(
        stops: Vec<RouteStop>,
        capacity: u32,
        revision: u64,
    ) -> Result<Route, RouteError> {
        check(&stops, capacity)?;
        Ok(Route { stops, revision })
    }

    /// The stops, in the order the worker serves them.
    pub fn stops(&self) -> &[RouteStop] {
        &self.stops
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.stops.is_empty()
    }

    /// Counts changes: bumped by every change of the route, so a plan made from one revision can tell
    /// whether the route moved under it.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The jobs on the route, in the order of their first stop.
    pub fn jobs(&self) -> Vec<JobId> {
        let mut seen = BTreeSet::new();
        self.stops
            .iter()
            .filter(|s| seen.insert(s.job))
            .map(|s| s.job)
            .collect()
    }

    /// The load on board before the first stop: jobs whose pickup is done and drop-off is not.
    pub fn load_on_board(&self) -> i64 {
        total_change(&self.stops).saturating_neg()
    }

    /// Inserts a job's stops (`stops`, in the job's order) so that `stops[i]` lands at `positions[i]` of
    /// the new route. `positions` must be strictly increasing and within the new route. Refused if the
    /// job is already on the route or the result breaks an invariant for `capacity`.
    pub fn insert(
        &mut self,
        stops: &[RouteStop],
        positions: &[usize],
        capacity: u32,
    ) -> Result<(), RouteError> {
        let new_len = self.stops.len() + stops.len();
        if stops.len() != positions.len()
            || positions.windows(2).any(|w| w[0] >= w[1])
            || positions.last().is_some_and(|&p| p >= new_len)
        {
            return Err(RouteError::BadPositions);
        }
        if let Some(s) = stops
            .iter()
            .find(|s| self.stops.iter().any(|r| r.job == s.job))
        {
            return Err(RouteError::AlreadyOnRoute { job: s.job });
        }
        let mut next = Vec::with_capacity(new_len);
        let mut old = self.stops.iter();
        let mut new = stops.iter().zip(positions).peekable();
        for at in 0..new_len {
            match new.peek() {
                Some((s, p)) if **p == at => {
                    next.push(**s);
                    new.next();
                }
                _ => next.extend(old.next().copied()),
            }
        }
        self.replace(next, capacity)
    }

    /// Removes every stop of `job` (the job was cancelled or given back); returns how many.
    pub fn remove_job(&mut self, job: JobId) -> usize {
        let before = self.stops.len();
        self.stops.retain(|s| s.job != job);
        let removed = before - self.stops.len();
        if removed > 0 {
            self.revision += 1;
        }
        removed
    }

    /// A stop was done: removes it. It must be its job's next stop on the route (it need not be the
    /// route's first: a worker may serve another job's stop first), and the rest must still keep the
    /// invariants for `capacity`. Removing the route's first stop always does; a stop served out of the
    /// planned order can overload the stops planned before it, and is then refused: the caller replans
    /// ([`Route::replan`]) with that stop first, then advances.
    pub fn advance(
        &mut self,
        job: JobId,
        stop_index: usize,
        capacity: u32,
    ) -> Result<RouteStop, RouteError> {
        let at = self
            .stops
            .iter()
            .position(|s| s.job == job)
            .filter(|&i| self.stops[i].stop_index == stop_index)
            .ok_or(RouteError::NotNext { job, stop_index })?;
        let mut next = self.stops.clone();
        let done = next.remove(at);
        self.replace(next, capacity)?;
        Ok(done)
    }

    /// Replaces the whole route with `planned` (a re-optimised order, an accepted route offer) if the
    /// route is still at revision `expected` and `planned` keeps the invariants for `capacity`.
    pub fn replan(
        &mut self,
        planned: Vec<RouteStop>,
        expected: u64,
        capacity: u32,
    ) -> Result<(), RouteError> {
        if self.revision != expected {
            return Err(RouteError::Stale { expected });
        }
        self.replace(planned, capacity)
    }

    /// The one place a route changes (besides removing a job, which keeps every invariant): checks the
    /// new stops, then takes them and bumps the revision.
    fn replace(&mut self, stops: Vec<RouteStop>, capacity: u32) -> Result<(), RouteError> {
        check(&stops, capacity)?;
        self.stops = stops;
        self.revision += 1;
        Ok(())
    }

    /// Checks the invariants for `capacity` (always true of a route built by this module; useful to
    /// re-check after the capacity changed).
    pub fn check(&self, capacity: u32) -> Result<(), RouteError> {
        check(&self.stops, capacity)
    }
}

/// The sum of the stops' load changes (saturating: the fields are public, the sum must not panic).
fn total_change(stops: &[RouteStop]) -> i64 {
    stops
        .iter()
        .fold(0i64, |sum, s| sum.saturating_add(s.load_change))
}

/// The route invariants: each job's stops in order and once, pickups followed by their drop-offs, load
/// within 0..=capacity before and after every stop.
fn check(stops: &[RouteStop], capacity: u32) -> Result<(), RouteError> {
    // Per job: the last stop index seen, whether a pickup is open, whether a drop-off was seen, and the
    // net load change.
    let mut jobs: BTreeMap<JobId, (Option<usize>, bool, bool, i64)> = BTreeMap::new();
    for s in stops {
        let (last, picked, dropped, net) = jobs.entry(s.job).or_default();
        if last.is_some_and(|l| s.stop_index <= l) {
            return Err(RouteError::OutOfOrder { job: s.job });
        }
        *last = Some(s.stop_index);
        let sign_fits = match s.kind {
            StopKind::Pickup => s.load_change >= 0,
            StopKind::Dropoff => s.load_change <= 0,
            StopKind::Service => s.load_change == 0,
        };
        if !sign_fits {
            return Err(RouteError::LoadChange { job: s.job });
        }
        match s.kind {
            StopKind::Pickup if *dropped => {
                return Err(RouteError::DropoffBeforePickup { job: s.job });
            }
            StopKind::Pickup => *picked = true,
            StopKind::Dropoff => {
                *picked = false;
                *dropped = true;
            }
            StopKind::Service => {}
        }
        *net = net.saturating_add(s.load_change);
    }
    for (job, (_, picked, _, net)) in &jobs {
        if *picked || *net > 0 {
            return Err(RouteError::PickupWithoutDropoff { job: *job });
        }
    }
    let capacity_i = i64::from(capacity);
    let mut load = total_change(stops).saturating_neg();
    let out_of_range = |load: i64| load < 0 || load > capacity_i;
    if out_of_range(load) {
        return Err(RouteError::Load {
            position: 0,
            load,
            capacity,
        });
    }
    for (i, s) in stops.iter().enumerate() {
        load = load.saturating_add(s.load_change);
        if out_of_range(load) {
            return Err(RouteError::Load {
                position: i + 1,
                load,
                capacity,
            });
        }
    }
    Ok(())
}

/// Where a worker was last seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The place.
    pub at: LatLng,
    /// When the worker's device measured it.
    pub seen_at: Timestamp,
}

/// A driver, courier or provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// The worker's user.
    pub id: UserId,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Whether it takes work now.
    pub online: bool,
    /// Where it was last seen, if ever.
    pub position: Option<Position>,
    /// The stops it committed to.
    pub route: Route,
}

impl Worker {
    /// An offline worker with an empty route, never seen.
    pub fn new(id: UserId, capabilities: Capabilities) -> Worker {
        Worker {
            id,
            capabilities,
            online: false,
            position: None,
            route: Route::new(),
        }
    }

    /// An offline driver: a car with room for one ride at a time.
    pub fn driver(id: UserId) -> Worker {
        Worker::new(id, Capabilities::driver())
    }

    /// Records a position measured at `seen_at`; an older one than the last is ignored (positions
    /// arrive out of order over the network). Returns whether it was taken.
    pub fn moved(&mut self, at: LatLng, seen_at: Timestamp) -> bool {
        if self.position.is_some_and(|p| p.seen_at > seen_at) {
            return false;
        }
        self.position = Some(Position { at, seen_at });
        true
    }

    /// Whether the worker can take a job with these needs and load now (online, right vehicle and
    /// skills, and the load fits its capacity at all; whether it fits the route is the route's check).
    pub fn can_take(&self, needs: &Requirements, load: u32) -> Result<(), Ineligible> {
        if !self.online {
            return Err(Ineligible::Offline);
        }
        self.capabilities.meets(needs, load)
    }

    /// Commits to a job's stops at the given positions of its route.
    pub fn commit(&mut self, stops: &[RouteStop], positions: &[usize]) -> Result<(), RouteError> {
        self.route
            .insert(stops, positions, self.capabilities.capacity)
    }

    /// A stop of its route was done.
    pub fn stop_done(&mut self, job: JobId, stop_index: usize) -> Result<RouteStop, RouteError> {
        self.route
            .advance(job, stop_index, self.capabilities.capacity)
    }

    /// Drops a job from its route (cancelled, given back); returns how many stops went.
    pub fn drop_job(&mut self, job: JobId) -> usize {
        self.route.remove_job(job)
    }
}
