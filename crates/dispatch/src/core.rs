//! The dispatcher as a state machine with time as an input: [`Dispatcher::handle`] takes what
//! happened ([`Input`]) and the time, and returns what to do ([`Action`]s). It does no IO, reads
//! no clock, spawns nothing and never fails; the server's async shell and the simulator both drive
//! this one value, so the benchmark measures what the server runs.
//!
//! The core keeps the jobs waiting for a worker and the workers it may offer them to (their place,
//! when they are there, whether they are online, and the stops they have committed to). At each
//! [`Input::Tick`] it:
//!
//! 1. expires offers past their deadline (the worker is excluded from that job);
//! 2. ends jobs past their deadline without an offer out as unfulfilled, with a reason;
//! 3. matches every waiting job to at most one worker at the least total cost: for each job, the
//!    nearest free workers within reach are priced by the [`best_insertion`] of the job's stops
//!    into their route, and [`assign_min_cost`] solves the batch;
//! 4. suggests idle workers move towards where demand is expected ([`Forecast`]).
//!
//! **No job is ever dropped.** A job leaves the core only through [`Input::JobGone`], which the
//! shell sends once the store says the job no longer waits (assigned, cancelled, ended). An
//! unfulfilled verdict the shell could not record is repeated after `retry_secs`; an offer the
//! shell could not record comes back as [`Input::OfferFailed`] and the job waits again.

use std::collections::{BTreeMap, HashMap};

use crate::delivery::{DeliveryRules, plan_bundle};
use crate::route::{Insertion, Route, RouteStop, TravelTime, best_insertion};
use crate::{AssignmentProblem, Candidate, assign_min_cost};

/// A place on a plane in kilometres (UTM, or the simulator's grid), for finding nearby workers.
pub trait Planar {
    /// East and north, km.
    fn xy_km(&self) -> (f64, f64);
}

/// Where demand is expected, for repositioning idle workers.
pub trait Forecast<P> {
    /// Places idle workers should spread over at `now`, each with the share of demand expected
    /// near it soon (any non-negative scale). Empty: no suggestion.
    fn targets(&self, now: f64) -> Vec<(P, f64)>;

    /// The target (an index into `targets`) whose area `place` is in, where a worker there
    /// counts and stays without moving; `None` if it is in no target's area. The default: the
    /// nearest target along the grid.
    fn home(&self, place: &P, targets: &[(P, f64)]) -> Option<usize>
    where
        P: Planar,
    {
        let (x, y) = place.xy_km();
        let mut best: Option<(usize, f64)> = None;
        for (t, (p, _)) in targets.iter().enumerate() {
            let (tx, ty) = p.xy_km();
            let km = (x - tx).abs() + (y - ty).abs();
            if best.is_none_or(|b| km < b.1) {
                best = Some((t, km));
            }
        }
        best.map(|b| b.0)
    }
}

/// A forecast that never suggests a move.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoForecast;

impl<P> Forecast<P> for NoForecast {
    fn targets(&self, _now: f64) -> Vec<(P, f64)> {
        Vec::new()
    }
}

/// The number of an offer made by a [`Dispatcher`]: unique and increasing within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OfferNo(pub u64);

/// Why a job found no worker: what really happened, from the job's [`JobHistory`] (first match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfulfilled {
    /// A worker accepted the job, then cancelled, and no other worker took it.
    WorkerCancelled,
    /// Offers were made and at least one lapsed unanswered (or its worker left); nobody else was left.
    OffersExpired,
    /// Offers were made and every one was declined; nobody else was left.
    AllOffersDeclined,
    /// No offer was ever made, and no free worker was ever within reach (ended as soon as
    /// [`DispatchConfig::give_up_unreachable_secs`] passed with nobody in reach).
    NoWorkerNearby,
    /// No offer was ever made, although workers were within reach at some time: none became free to
    /// take it before its deadline.
    TimedOut,
}

impl Unfulfilled {
    /// The reason for a job with `history` that `seen_worker` (a free worker was within reach at
    /// some scan) or not.
    pub fn of(history: JobHistory, seen_worker: bool) -> Unfulfilled {
        if history.worker_cancelled > 0 {
            Unfulfilled::WorkerCancelled
        } else if history.expired > 0 {
            Unfulfilled::OffersExpired
        } else if history.declined > 0 {
            Unfulfilled::AllOffersDeclined
        } else if seen_worker {
            Unfulfilled::TimedOut
        } else {
            Unfulfilled::NoWorkerNearby
        }
    }
}

/// What happened to a job's offers so far. The shell gives what the record says when it opens the
/// job; the core counts what it sees after that, and keeps the larger count of each when a job is
/// opened again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobHistory {
    /// Offers the worker declined.
    pub declined: u32,
    /// Offers that lapsed unanswered (or whose worker left or went offline).
    pub expired: u32,
    /// Workers who accepted the job and then cancelled.
    pub worker_cancelled: u32,
}

impl JobHistory {
    /// Each count the larger of the two.
    #[must_use]
    pub fn max(self, other: JobHistory) -> JobHistory {
        JobHistory {
            declined: self.declined.max(other.declined),
            expired: self.expired.max(other.expired),
            worker_cancelled: self.worker_cancelled.max(other.worker_cancelled),
        }
    }

    /// Offers made that ended without an assignment.
    pub fn offers_ended(self) -> u32 {
        self.declined.saturating_add(self.expired)
    }
}

/// A job that needs a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenJob<J, W, P> {
    /// The job.
    pub job: J,
    /// Its stops in order (for a ride: pickup, then drop-off).
    pub stops: Vec<RouteStop<J, P>>,
    /// When it started to wait (ties in the batch go to the older job).
    pub opened_at: f64,
    /// When it ends as unfulfilled if no offer is out.
    pub give_up_at: f64,
    /// What leaving it unserved for one more batch costs, in the units of the insertion cost
    /// (seconds): above every insertion cost to serve as many jobs as possible.
    pub unassigned_cost: f64,
    /// Workers who may not be offered it (they declined, let an offer expire, or cancelled).
    pub excluded: Vec<W>,
    /// What happened to its offers before (as the record has it).
    pub history: JobHistory,
}

/// What happened, as the shell or the simulator tells the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<J, W, P> {
    /// A job waits for a worker (new, back after its worker cancelled, or rebuilt at start-up).
    /// Opening a job the core already holds replaces it (its offer, if any, is forgotten).
    JobOpened(OpenJob<J, W, P>),
    /// The job no longer waits: assigned, cancelled or ended, as recorded.
    JobGone(J),
    /// The worker answered an offer (`accepted: false` for a decline).
    OfferAnswered {
        /// The offer.
        offer: OfferNo,
        /// Whether the worker took it.
        accepted: bool,
    },
    /// The shell could not record an offer the core asked for: the job waits again, the worker
    /// is free again and not excluded.
    OfferFailed(OfferNo),
    /// A worker's place and state: `at` is when it is at `place` (now, when its last position was
    /// reported, or when its current leg ends), `stops` the stops it has committed to, in order.
    WorkerMoved {
        /// The worker.
        worker: W,
        /// Where it is (or will be free).
        place: P,
        /// When it is there.
        at: f64,
        /// Whether it takes work.
        online: bool,
        /// The most it carries at once (seats, bags).
        capacity: i32,
        /// The stops it has committed to.
        stops: Vec<RouteStop<J, P>>,
    },
    /// The worker logged off or was removed.
    WorkerGone(W),
    /// The worker's shift: service at a stop that picks something up (positive load) must start
    /// by `pickups_until` (a courier takes no food after its shift ends; it may still deliver).
    /// Infinite: no limit (the default for a worker the core was never told about).
    WorkerShift {
        /// The worker.
        worker: W,
        /// The latest start of service at a pickup.
        pickups_until: f64,
    },
    /// Time passed: decide.
    Tick,
}

/// What the core asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<J, W, P> {
    /// Offer the job to the worker until `expires_at`, with where its stops go in the route.
    Offer {
        /// The offer's number (answers refer to it).
        offer: OfferNo,
        /// The job.
        job: J,
        /// The worker.
        worker: W,
        /// When the offer lapses.
        expires_at: f64,
        /// Where the job's stops go and what they cost.
        insertion: Insertion,
    },
    /// The offer lapsed unanswered: record it (the worker is excluded from the job).
    ExpireOffer {
        /// The offer.
        offer: OfferNo,
        /// Its job.
        job: J,
        /// Its worker.
        worker: W,
    },
    /// End the job without a worker.
    Unfulfilled {
        /// The job.
        job: J,
        /// Why.
        reason: Unfulfilled,
    },
    /// Suggest that an idle worker move to `to`, where demand is expected.
    Reposition {
        /// The worker.
        worker: W,
        /// Where to.
        to: P,
    },
}

/// How the core decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DispatchConfig {
    /// How long a worker has to answer an offer, seconds.
    pub offer_timeout_secs: f64,
    /// Workers priced per job (the nearest free ones first).
    pub candidates_per_job: usize,
    /// Only workers within this straight-line distance of a job's first stop are considered, km.
    pub max_reach_km: f64,
    /// A worker must reach the job's first stop within this many seconds from now.
    pub max_first_stop_secs: f64,
    /// A worker whose place is older than this is not offered work, seconds.
    pub stale_after_secs: f64,
    /// The cost of a second a job waits for a busy worker to become free, on top of the insertion's
    /// detour (0: chaining costs only its detour), in the units of [`TravelTime::drive_cost`].
    pub wait_secs_weight: f64,
    /// How long the shell has to record an unfulfilled verdict before the core repeats it, seconds.
    pub retry_secs: f64,
    /// A job the batch left waiting although a worker could serve it is priced again when a
    /// worker near it changes, and at least this often, seconds.
    pub recheck_secs: f64,
    /// Seconds between two rounds of repositioning suggestions.
    pub reposition_interval_secs: f64,
    /// The farthest an idle worker is sent, km (along the grid).
    pub reposition_max_km: f64,
    /// Workers busy until at most this many seconds from now count where they will be free.
    pub reposition_horizon_secs: f64,
    /// The grid cell of the worker index, km.
    pub cell_km: f64,
    /// A waiting job whose scans have found no free worker within reach (none online, fresh and not
    /// excluded) for this long ends unfulfilled at once, instead of waiting for its `give_up_at`;
    /// infinite: never early.
    pub give_up_unreachable_secs: f64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            offer_timeout_secs: 15.0,
            candidates_per_job: 8,
            max_reach_km: 5.0,
            max_first_stop_secs: f64::INFINITY,
            stale_after_secs: 60.0,
            wait_secs_weight: 0.0,
            retry_secs: 10.0,
            recheck_secs: 10.0,
            reposition_interval_secs: 60.0,
            reposition_max_km: 3.0,
            reposition_horizon_secs: 300.0,
            cell_km: 0.5,
            give_up_unreachable_secs: f64::INFINITY,
        }
    }
}

/// Where a job is in the core.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase<W> {
    /// In the next batch.
    Waiting,
    /// Offered to `worker` until `expires_at`.
    Offered {
        offer: OfferNo,
        worker: W,
        expires_at: f64,
    },
    /// Declared unfulfilled at `since`; repeated until the shell says it is gone.
    Ending { reason: Unfulfilled, since: f64 },
}

#[derive(Debug, Clone)]
struct JobEntry<J, W, P> {
    open: OpenJob<J, W, P>,
    phase: Phase<W>,
    /// The last scan found no worker; until this time (when a busy worker in reach may become
    /// able to make it, or travel times change) only a worker changing near the job can alter
    /// that, so it is not scanned again unless woken.
    quiet_until: f64,
    /// The straight-line reach of that scan, km: workers changing farther away do not wake it.
    quiet_reach_km: f64,
    /// Since when every scan found no free worker within reach (`None`: the last scan found one, or
    /// none was made yet).
    unreachable_since: Option<f64>,
    /// Whether any scan found a free worker within reach.
    seen_worker: bool,
    /// When the worker the last batch matched it to reaches its first stop (infinite: it was
    /// left unmatched; `NaN`: not in a batch yet), kept only under
    /// [`Dispatcher::with_planned_bundles`].
    planned_arrival: f64,
}

#[derive(Debug, Clone)]
struct WorkerEntry<J, P> {
    place: P,
    at: f64,
    online: bool,
    capacity: i32,
    stops: Vec<RouteStop<J, P>>,
    /// The grid cell it is indexed in; `None` while it is busy for longer than any job may wait
    /// (it is indexed again, by a timer, once it could make a first stop in time).
    cell: Option<(i64, i64)>,
    /// The offer out to this worker, if any (one at a time).
    offer: Option<OfferNo>,
    /// The target this worker was last sent to and until when it is expected to be driving there.
    heading: Option<(usize, f64)>,
    /// The latest start of service at a pickup (its shift, [`Input::WorkerShift`]; infinite: none).
    pickups_until: f64,
}

/// A hasher for grid cells: two integers mixed by multiplication (the cells of a city are few and
/// not chosen by an adversary), much cheaper than the default SipHash on the scan's hot path.
#[derive(Debug, Clone, Copy, Default)]
struct CellHasher;

impl std::hash::BuildHasher for CellHasher {
    type Hasher = CellHash;
    fn build_hasher(&self) -> CellHash {
        CellHash(0)
    }
}

#[derive(Debug, Clone, Copy)]
struct CellHash(u64);

impl std::hash::Hasher for CellHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i64(&mut self, i: i64) {
        self.0 = (self.0.rotate_left(29) ^ i.cast_unsigned()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A quiet job in the index of quiet jobs: where its first stop is and the reach of its scan.
#[derive(Debug, Clone, Copy)]
struct QuietEntry<J> {
    job: J,
    x: f64,
    y: f64,
    reach_km: f64,
}

/// A parked worker's time to be indexed again.
#[derive(Debug, Clone, Copy)]
struct Due {
    key: f64,
    slot: usize,
    /// Its `at` when parked: a worker that moved since is not unparked by this entry.
    at_bits: u64,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    /// Reversed: the earliest is the greatest, for a min-heap out of `BinaryHeap`.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .key
            .total_cmp(&self.key)
            .then(other.slot.cmp(&self.slot))
            .then(other.at_bits.cmp(&self.at_bits))
    }
}

/// Workers by id, each in a stable slot (the grid index holds slots, so a scan of nearby workers
/// hashes nothing).
#[derive(Debug)]
struct Table<W, E> {
    slot_of: HashMap<W, usize>,
    entries: Vec<Option<(W, E)>>,
    vacant: Vec<usize>,
}

impl<W: Copy + Eq + std::hash::Hash, E> Table<W, E> {
    fn new() -> Self {
        Table {
            slot_of: HashMap::new(),
            entries: Vec::new(),
            vacant: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.slot_of.len()
    }

    fn get(&self, id: &W) -> Option<&E> {
        let slot = *self.slot_of.get(id)?;
        self.entries.get(slot)?.as_ref().map(|(_, e)| e)
    }

    fn get_mut(&mut self, id: &W) -> Option<&mut E> {
        let slot = *self.slot_of.get(id)?;
        self.entries.get_mut(slot)?.as_mut().map(|(_, e)| e)
    }

    fn slot(&self, id: &W) -> Option<usize> {
        self.slot_of.get(id).copied()
    }

    fn at(&self, slot: usize) -> Option<(W, &E)> {
        self.entries.get(slot)?.as_ref().map(|(w, e)| (*w, e))
    }

    fn at_mut(&mut self, slot: usize) -> Option<&mut E> {
        self.entries.get_mut(slot)?.as_mut().map(|(_, e)| e)
    }

    /// Inserts or replaces; returns the slot.
    fn insert(&mut self, id: W, entry: E) -> usize {
        if let Some(&slot) = self.slot_of.get(&id) {
            self.entries[slot] = Some((id, entry));
            return slot;
        }
        let slot = match self.vacant.pop() {
            Some(slot) => {
                self.entries[slot] = Some((id, entry));
                slot
            }
            None => {
                self.entries.push(Some((id, entry)));
                self.entries.len() - 1
            }
        };
        self.slot_of.insert(id, slot);
        slot
    }

    fn remove(&mut self, id: &W) -> Option<(usize, E)> {
        let slot = self.slot_of.remove(id)?;
        let (_, e) = self.entries.get_mut(slot)?.take()?;
        self.vacant.push(slot);
        Some((slot, e))
    }

    fn iter(&self) -> impl Iterator<Item = (W, &E)> {
        self.entries
            .iter()
            .filter_map(|e| e.as_ref().map(|(w, e)| (*w, e)))
    }
}

impl<W: Copy + Eq + std::hash::Hash, E> std::ops::Index<&W> for Table<W, E> {
    type Output = E;
    fn index(&self, id: &W) -> &E {
        match self.get(id) {
            Some(e) => e,
            None => panic!("a worker the core holds"),
        }
    }
}

/// One row of a batch: a job alone (its own stops), or a bundle of jobs with its stops in order.
#[derive(Debug, Clone)]
struct Group<J, P> {
    /// The jobs, the first being the row's representative.
    jobs: Vec<J>,
    /// A bundle's stops in visiting order; `None` for a job alone.
    stops: Option<Vec<RouteStop<J, P>>>,
}

/// What the core holds, for the shell's metrics and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DispatchCounts {
    /// Jobs in the next batch.
    pub waiting: usize,
    /// Jobs with an offer out.
    pub offered: usize,
    /// Jobs declared unfulfilled, not yet confirmed gone.
    pub ending: usize,
    /// Workers known.
    pub workers: usize,
}

/// The IO-free dispatcher of one city. See the module documentation.
#[derive(Debug)]
pub struct Dispatcher<J, W, P, T, F = NoForecast> {
    config: DispatchConfig,
    travel: T,
    forecast: F,
    jobs: BTreeMap<J, JobEntry<J, W, P>>,
    workers: Table<W, WorkerEntry<J, P>>,
    /// Workers out of the grid index until they could make a first stop in time.
    parked: std::collections::BinaryHeap<Due>,
    /// The grid index: per cell, the slots of the workers in it.
    cells: HashMap<(i64, i64), Vec<usize>, CellHasher>,
    /// The jobs of each offer out (several for a bundle).
    offers: BTreeMap<OfferNo, Vec<J>>,
    /// The route each offer out proposes to its worker (its stops with the offer's jobs in place).
    offer_routes: BTreeMap<OfferNo, Vec<RouteStop<J, P>>>,
    /// The rules for jobs whose first stop opens later, and bundles.
    delivery: DeliveryRules,
    /// Bundles judged against the workers the last batch planned ([`Self::with_planned_bundles`]).
    planned_bundles: bool,
    /// Per worker, the latest start of service at a pickup ([`Input::WorkerShift`]).
    shifts: HashMap<W, f64>,
    /// How many jobs may be quiet (an upper bound; 0 skips waking).
    quiet: usize,
    /// The quiet jobs by the cell of their first stop (with, until the next tidy, some that no
    /// longer are), and the largest reach of their scans.
    quiet_cells: HashMap<(i64, i64), Vec<QuietEntry<J>>, CellHasher>,
    /// Entries in `quiet_cells` (tidied when far above `quiet`).
    quiet_listed: usize,
    max_quiet_reach_km: f64,
    /// Workers that changed since the last tick (they may wake quiet jobs).
    woken_workers: Vec<W>,
    next_offer: u64,
    last_reposition: f64,
}

impl<J, W, P, T, F> Dispatcher<J, W, P, T, F>
where
    J: Copy + Ord,
    W: Copy + Ord + std::hash::Hash,
    P: Copy + Planar,
    T: TravelTime<Place = P>,
    F: Forecast<P>,
{
    /// A dispatcher with no jobs and no workers.
    pub fn new(config: DispatchConfig, travel: T, forecast: F) -> Self {
        Dispatcher {
            config,
            travel,
            forecast,
            jobs: BTreeMap::new(),
            workers: Table::new(),
            parked: std::collections::BinaryHeap::new(),
            cells: HashMap::default(),
            offers: BTreeMap::new(),
            offer_routes: BTreeMap::new(),
            delivery: DeliveryRules::default(),
            planned_bundles: false,
            shifts: HashMap::new(),
            quiet: 0,
            quiet_cells: HashMap::default(),
            quiet_listed: 0,
            max_quiet_reach_km: 0.0,
            woken_workers: Vec::new(),
            next_offer: 0,
            last_reposition: f64::NEG_INFINITY,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DispatchConfig {
        &self.config
    }

    /// The same dispatcher with `rules` for jobs whose first stop opens later (deliveries) and
    /// for bundles. Without them (the default) a job is offered as soon as it is matched, alone.
    #[must_use]
    pub fn with_delivery_rules(mut self, rules: DeliveryRules) -> Self {
        self.delivery = rules;
        self
    }

    /// The same dispatcher judging bundles ([`DeliveryRules`]) against the workers actually
    /// planned: each job alone starts when the worker the last batch matched it to (tentatively or
    /// not) reaches its first stop (never, if it was left unmatched), the bundle when the earliest
    /// of its jobs' workers does, and the delay a bundle adds is the net change of its jobs' last
    /// stops against that. Off (the default): both start when the windows open, as if a worker
    /// were always there in time.
    #[must_use]
    pub fn with_planned_bundles(mut self, on: bool) -> Self {
        self.planned_bundles = on;
        self
    }

    /// The delivery rules in force.
    pub fn delivery_rules(&self) -> &DeliveryRules {
        &self.delivery
    }

    /// The jobs an offer out carries (one, or several for a bundle); empty once it ended.
    pub fn offer_jobs(&self, offer: OfferNo) -> &[J] {
        self.offers.get(&offer).map_or(&[], Vec::as_slice)
    }

    /// The route an offer out proposes: the worker's stops with every stop of the offer's jobs in
    /// place, in visiting order (for a bundle, the only complete description of where its stops
    /// go: each of its [`Action::Offer`]s carries the bundle's insertion). `None` once it ended.
    pub fn offered_route(&self, offer: OfferNo) -> Option<&[RouteStop<J, P>]> {
        self.offer_routes.get(&offer).map(Vec::as_slice)
    }

    /// The travel model.
    pub fn travel(&self) -> &T {
        &self.travel
    }

    /// How many jobs wait, are offered or are ending, and how many workers are known.
    pub fn counts(&self) -> DispatchCounts {
        let mut c = DispatchCounts {
            workers: self.workers.len(),
            ..DispatchCounts::default()
        };
        for j in self.jobs.values() {
            match j.phase {
                Phase::Waiting => c.waiting += 1,
                Phase::Offered { .. } => c.offered += 1,
                Phase::Ending { .. } => c.ending += 1,
            }
        }
        c
    }

    /// Whether the core holds `job` (waiting, offered or ending).
    pub fn holds(&self, job: J) -> bool {
        self.jobs.contains_key(&job)
    }

    /// The worker `job` is offered to now, if any.
    pub fn offered_to(&self, job: J) -> Option<W> {
        match self.jobs.get(&job)?.phase {
            Phase::Offered { worker, .. } => Some(worker),
            _ => None,
        }
    }

    /// Workers the job may not be offered to.
    pub fn excluded(&self, job: J) -> &[W] {
        self.jobs.get(&job).map_or(&[], |j| &j.open.excluded)
    }

    /// What happened to the job's offers so far, as the core counts them.
    pub fn history(&self, job: J) -> Option<JobHistory> {
        self.jobs.get(&job).map(|j| j.open.history)
    }

    /// Takes one input at `now` and returns what to do, in order.
    pub fn handle(&mut self, input: Input<J, W, P>, now: f64) -> Vec<Action<J, W, P>> {
        let mut actions = Vec::new();
        match input {
            Input::JobOpened(mut open) => {
                let mut seen_worker = false;
                if let Some(old) = self.jobs.remove(&open.job) {
                    if old.quiet_until != f64::NEG_INFINITY {
                        self.quiet = self.quiet.saturating_sub(1);
                    }
                    self.release(old.phase);
                    // The record may not have caught up with what the core saw, nor the other way.
                    open.history = open.history.max(old.open.history);
                    seen_worker = old.seen_worker;
                }
                self.jobs.insert(
                    open.job,
                    JobEntry {
                        open,
                        phase: Phase::Waiting,
                        quiet_until: f64::NEG_INFINITY,
                        quiet_reach_km: 0.0,
                        unreachable_since: None,
                        seen_worker,
                        planned_arrival: f64::NAN,
                    },
                );
            }
            Input::JobGone(job) => {
                if let Some(old) = self.jobs.remove(&job) {
                    if old.quiet_until != f64::NEG_INFINITY {
                        self.quiet = self.quiet.saturating_sub(1);
                    }
                    self.release(old.phase);
                }
            }
            Input::OfferAnswered { offer, accepted } => {
                let jobs = self.offers.get(&offer).cloned().unwrap_or_default();
                for job in jobs {
                    if accepted {
                        // The job waits until the shell confirms the assignment with JobGone, but
                        // is offered to no one else meanwhile: keep it as offered, with no deadline.
                        if let Some(entry) = self.jobs.get_mut(&job)
                            && let Phase::Offered { expires_at, .. } = &mut entry.phase
                        {
                            *expires_at = f64::INFINITY;
                        }
                    } else {
                        self.count(job, |h| h.declined += 1);
                        self.end_offer(job, true);
                    }
                }
            }
            Input::OfferFailed(offer) => {
                let jobs = self.offers.get(&offer).cloned().unwrap_or_default();
                for job in jobs {
                    self.end_offer(job, false);
                }
            }
            Input::WorkerMoved {
                worker,
                place,
                at,
                online,
                capacity,
                stops,
            } => self.move_worker(worker, place, at, online, capacity, stops, now),
            Input::WorkerGone(worker) => {
                if let Some((slot, w)) = self.workers.remove(&worker) {
                    if let Some(cell) = w.cell {
                        self.unindex(slot, cell);
                    }
                    if let Some(offer) = w.offer {
                        // An offer to a worker who left is as good as lapsed.
                        let jobs = self.offers.get(&offer).cloned().unwrap_or_default();
                        for job in jobs {
                            self.count(job, |h| h.expired += 1);
                            self.end_offer(job, true);
                        }
                    }
                }
            }
            Input::WorkerShift {
                worker,
                pickups_until,
            } => {
                self.shifts.insert(worker, pickups_until);
                if let Some(w) = self.workers.get_mut(&worker) {
                    w.pickups_until = pickups_until;
                }
            }
            Input::Tick => self.tick(now, &mut actions),
        }
        actions
    }

    /// Counts something that happened to `job`'s offers.
    fn count(&mut self, job: J, f: impl FnOnce(&mut JobHistory)) {
        if let Some(e) = self.jobs.get_mut(&job) {
            f(&mut e.open.history);
        }
    }

    fn release(&mut self, phase: Phase<W>) {
        if let Phase::Offered { offer, worker, .. } = phase {
            self.offers.remove(&offer);
            self.offer_routes.remove(&offer);
            if let Some(w) = self.workers.get_mut(&worker)
                && w.offer == Some(offer)
            {
                w.offer = None;
                self.woken_workers.push(worker);
            }
        }
    }

    /// Worker `worker` changed: each quiet job it can now serve is scanned again at the next
    /// tick; for one it could serve only once its current work is done, the job stays quiet
    /// until then at most.
    fn wake_by(&mut self, worker: W, now: f64) {
        if self.quiet == 0 {
            return;
        }
        let Some(w) = self.workers.get(&worker) else {
            return;
        };
        if !self.free(w, now) {
            return;
        }
        let route = Self::route_of(w, now);
        let (x, y) = w.place.xy_km();
        let max_first = self.config.max_first_stop_secs;
        if w.cell.is_none() {
            return; // parked: it can serve nothing yet, and wakes when it is indexed
        }
        // The quiet jobs whose cells are within the largest quiet reach of the worker.
        let size = self.config.cell_km.max(0.01);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a reach of a few km is a few cells"
        )]
        let r = (self.max_quiet_reach_km.min(1.0e6) / size).ceil() as i64;
        let (cx, cy) = self.cell_of(&w.place);
        let mut near: Vec<J> = Vec::new();
        let close =
            |q: &QuietEntry<J>| ((q.x - x).powi(2) + (q.y - y).powi(2)).sqrt() <= q.reach_km;
        let side = 2 * r + 1;
        if usize::try_from(side.saturating_mul(side)).unwrap_or(usize::MAX) > self.quiet_cells.len()
        {
            for (&(gx, gy), jobs) in &self.quiet_cells {
                if (gx - cx).abs() <= r && (gy - cy).abs() <= r {
                    near.extend(jobs.iter().filter(|q| close(q)).map(|q| q.job));
                }
            }
        } else {
            for gx in cx - r..=cx + r {
                for gy in cy - r..=cy + r {
                    if let Some(jobs) = self.quiet_cells.get(&(gx, gy)) {
                        near.extend(jobs.iter().filter(|q| close(q)).map(|q| q.job));
                    }
                }
            }
        }
        let mut woke = 0;
        for job in near {
            let Some(e) = self.jobs.get_mut(&job) else {
                continue;
            };
            if e.quiet_until == f64::NEG_INFINITY {
                continue;
            }
            let first = e.open.stops[0].place;
            let (jx, jy) = first.xy_km();
            if ((jx - x).powi(2) + (jy - y).powi(2)).sqrt() > e.quiet_reach_km
                || e.open.excluded.contains(&worker)
            {
                continue;
            }
            if route.stops.is_empty() {
                // The drive to the first stop settles most workers without the full insertion.
                match self
                    .travel
                    .travel_secs(&route.start, &first, route.start_at)
                {
                    Some(drive) if route.start_at + drive - now > max_first => {
                        if route.start_at > now {
                            e.quiet_until = e.quiet_until.min(route.start_at + drive - max_first);
                        }
                        continue;
                    }
                    None => continue,
                    Some(_) => {}
                }
            }
            match best_insertion(&route, &e.open.stops, &self.travel) {
                Some(ins) if ins.first_arrival - now <= max_first => {
                    e.quiet_until = f64::NEG_INFINITY;
                    woke += 1;
                }
                Some(ins) if route.start_at > now => {
                    e.quiet_until = e.quiet_until.min(ins.first_arrival - max_first);
                }
                _ => {}
            }
        }
        self.quiet = self.quiet.saturating_sub(woke);
    }

    /// Records `job` as quiet until `until` with its scan's reach, in the index of quiet jobs.
    fn make_quiet(&mut self, job: J, until: f64, reach: f64) {
        let Some(e) = self.jobs.get_mut(&job) else {
            return;
        };
        let was_quiet = e.quiet_until != f64::NEG_INFINITY;
        e.quiet_until = until;
        e.quiet_reach_km = reach;
        self.max_quiet_reach_km = self.max_quiet_reach_km.max(reach);
        if !was_quiet {
            let place = e.open.stops[0].place;
            let (x, y) = place.xy_km();
            let cell = self.cell_of(&place);
            self.quiet_cells.entry(cell).or_default().push(QuietEntry {
                job,
                x,
                y,
                reach_km: reach,
            });
            self.quiet += 1;
            self.quiet_listed += 1;
        } else {
            // Its entry keeps the reach of an earlier scan: keep the larger one.
            let place = e.open.stops[0].place;
            let cell = self.cell_of(&place);
            if let Some(list) = self.quiet_cells.get_mut(&cell)
                && let Some(q) = list.iter_mut().find(|q| q.job == job)
            {
                q.reach_km = q.reach_km.max(reach);
            }
        }
    }

    /// Drops from the index of quiet jobs those that are no longer quiet (woken, scanned, gone).
    fn tidy_quiet(&mut self) {
        if self.quiet_listed <= 2 * self.quiet + 64 {
            return;
        }
        let jobs = &self.jobs;
        let mut count = 0;
        let mut reach: f64 = 0.0;
        self.quiet_cells.retain(|_, list| {
            list.sort_unstable_by_key(|q| q.job);
            list.dedup_by(|a, b| a.job == b.job);
            list.retain(|q| {
                jobs.get(&q.job)
                    .is_some_and(|e| e.quiet_until != f64::NEG_INFINITY)
            });
            count += list.len();
            for q in list.iter() {
                reach = reach.max(q.reach_km);
            }
            !list.is_empty()
        });
        self.quiet = count;
        self.quiet_listed = count;
        self.max_quiet_reach_km = reach;
    }

    /// The job's offer ended without an assignment; the worker is excluded if `exclude`.
    fn end_offer(&mut self, job: J, exclude: bool) {
        let Some(entry) = self.jobs.get_mut(&job) else {
            return;
        };
        let phase = entry.phase;
        if let Phase::Offered { worker, .. } = phase {
            entry.phase = Phase::Waiting;
            if exclude && !entry.open.excluded.contains(&worker) {
                entry.open.excluded.push(worker);
            }
        }
        self.release(phase);
    }

    fn cell_of(&self, place: &P) -> (i64, i64) {
        let (x, y) = place.xy_km();
        let size = self.config.cell_km.max(0.01);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "cells of a city's plane fit in i64 by far"
        )]
        let cell = ((x / size).floor() as i64, (y / size).floor() as i64);
        cell
    }

    fn unindex(&mut self, slot: usize, cell: (i64, i64)) {
        if let Some(set) = self.cells.get_mut(&cell) {
            if let Some(i) = set.iter().position(|&s| s == slot) {
                set.swap_remove(i);
            }
            if set.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the fields of Input::WorkerMoved, and the time"
    )]
    fn move_worker(
        &mut self,
        worker: W,
        place: P,
        at: f64,
        online: bool,
        capacity: i32,
        stops: Vec<RouteStop<J, P>>,
        now: f64,
    ) {
        // Busy for longer than any job may wait for its first stop: parked out of the index
        // until it could make one in time.
        let due = at - self.config.max_first_stop_secs;
        let cell = (due <= now).then(|| self.cell_of(&place));
        let old = self.workers.get(&worker).map(|w| (w.cell, w.offer));
        // A worker heading to a target keeps heading there while it stays free and online.
        let heading = self
            .workers
            .get(&worker)
            .and_then(|w| w.heading)
            .filter(|_| online && stops.is_empty());
        if let Some((Some(old_cell), _)) = old
            && Some(old_cell) != cell
            && let Some(slot) = self.workers.slot(&worker)
        {
            self.unindex(slot, old_cell);
        }
        if online && cell.is_some() {
            self.woken_workers.push(worker);
        }
        let slot = self.workers.insert(
            worker,
            WorkerEntry {
                place,
                at,
                online,
                capacity,
                stops,
                cell,
                offer: old.and_then(|(_, o)| o),
                heading,
                pickups_until: self.shifts.get(&worker).copied().unwrap_or(f64::INFINITY),
            },
        );
        match cell {
            Some(c) if old.is_none_or(|(old_cell, _)| old_cell != Some(c)) => {
                self.cells.entry(c).or_default().push(slot);
            }
            Some(_) => {}
            None => self.parked.push(Due {
                key: due,
                slot,
                at_bits: at.to_bits(),
            }),
        }
        if !online && let Some(offer) = old.and_then(|(_, o)| o) {
            // A worker who went offline will not answer.
            let jobs = self.offers.get(&offer).cloned().unwrap_or_default();
            for job in jobs {
                self.count(job, |h| h.expired += 1);
                self.end_offer(job, true);
            }
        }
    }

    /// Indexes the parked workers whose time has come (they may wake quiet jobs).
    fn unpark(&mut self, now: f64) {
        while self.parked.peek().is_some_and(|d| d.key <= now) {
            let Some(due) = self.parked.pop() else {
                break;
            };
            let Some((id, w)) = self.workers.at(due.slot) else {
                continue;
            };
            if w.at.to_bits() != due.at_bits || w.cell.is_some() {
                continue; // moved since it was parked
            }
            let cell = self.cell_of(&w.place);
            if let Some(w) = self.workers.at_mut(due.slot) {
                w.cell = Some(cell);
            }
            self.cells.entry(cell).or_default().push(due.slot);
            self.woken_workers.push(id);
        }
    }

    fn tick(&mut self, now: f64, actions: &mut Vec<Action<J, W, P>>) {
        // 1. Offers past their deadline lapse; their workers are excluded.
        let lapsed: Vec<(J, OfferNo, W)> = self
            .jobs
            .iter()
            .filter_map(|(&job, e)| match e.phase {
                Phase::Offered {
                    offer,
                    worker,
                    expires_at,
                } if now >= expires_at => Some((job, offer, worker)),
                _ => None,
            })
            .collect();
        for (job, offer, worker) in lapsed {
            self.count(job, |h| h.expired += 1);
            self.end_offer(job, true);
            actions.push(Action::ExpireOffer { offer, job, worker });
        }

        // 2. Jobs past their deadline without an offer out end unfulfilled (again, if the shell
        //    has not confirmed it after `retry_secs`). A job no free worker could reach for
        //    `give_up_unreachable_secs` ends now rather than at its deadline (unless the delivery
        //    rules say deliveries wait for one).
        let retry = self.config.retry_secs;
        let grace = self.config.give_up_unreachable_secs;
        let wait_unreachable = self.delivery.wait_unreachable;
        for (&job, e) in &mut self.jobs {
            // Under `wait_unreachable`, a job that opens later (a delivery) waits for its deadline.
            let patient = wait_unreachable
                && e.open
                    .stops
                    .first()
                    .is_some_and(|s| s.window.earliest.is_finite());
            match e.phase {
                Phase::Waiting
                    if now >= e.open.give_up_at
                        || (!patient && e.unreachable_since.is_some_and(|t| now - t >= grace)) =>
                {
                    let reason = Unfulfilled::of(e.open.history, e.seen_worker);
                    e.phase = Phase::Ending { reason, since: now };
                    actions.push(Action::Unfulfilled { job, reason });
                }
                Phase::Ending { reason, since } if now - since >= retry => {
                    e.phase = Phase::Ending { reason, since: now };
                    actions.push(Action::Unfulfilled { job, reason });
                }
                _ => {}
            }
        }

        // 3. One batch: every waiting job against the free workers near it (a quiet job only if
        //    a worker that changed since the last tick can serve it now).
        self.unpark(now);
        let mut changed = std::mem::take(&mut self.woken_workers);
        changed.sort_unstable();
        changed.dedup();
        self.tidy_quiet();
        for &w in &changed {
            self.wake_by(w, now);
        }
        changed.clear();
        self.woken_workers = changed;
        let assigned = self.match_batch(now, actions);

        // 4. Idle workers towards expected demand.
        if now - self.last_reposition >= self.config.reposition_interval_secs {
            self.last_reposition = now;
            self.reposition(now, &assigned, actions);
        }
    }

    /// Whether the worker may be offered a job at `now`.
    fn free(&self, w: &WorkerEntry<J, P>, now: f64) -> bool {
        w.online && w.offer.is_none() && now - w.at <= self.config.stale_after_secs
    }

    /// The route of a worker as of `now`.
    fn route_of(w: &WorkerEntry<J, P>, now: f64) -> Route<J, P> {
        Route {
            start: w.place,
            start_at: w.at.max(now),
            start_load: 0,
            capacity: w.capacity,
            stops: w.stops.clone(),
        }
    }

    /// The free workers in the cells on Chebyshev ring `ring` around `place`'s cell that are
    /// within `reach_km` of it, into `out` (slot, km, id), in no particular order (pricing keeps
    /// every worker that can be among the best, whatever the order within a ring). Sets `seen` if
    /// any online, fresh worker not in `excluded` is within reach, free or not.
    #[allow(
        clippy::too_many_arguments,
        reason = "the scan's place, ring, reach and time, and its two outputs"
    )]
    fn ring_slots(
        &self,
        place: &P,
        ring: i64,
        reach_km: f64,
        now: f64,
        out: &mut Vec<(usize, f64, W)>,
        excluded: &[W],
        seen: &mut bool,
    ) {
        out.clear();
        let (x, y) = place.xy_km();
        let (cx, cy) = self.cell_of(place);
        let mut visit = |cell: (i64, i64)| {
            let Some(set) = self.cells.get(&cell) else {
                return;
            };
            for &slot in set {
                let Some((id, w)) = self.workers.at(slot) else {
                    continue;
                };
                let (wx, wy) = w.place.xy_km();
                let d = ((wx - x).powi(2) + (wy - y).powi(2)).sqrt();
                if d <= reach_km && self.free(w, now) {
                    out.push((slot, d, id));
                }
                // In reach, online and fresh (an offer out to it ends soon): not "nobody nearby".
                if d <= reach_km
                    && w.online
                    && now - w.at <= self.config.stale_after_secs
                    && !excluded.contains(&id)
                {
                    *seen = true;
                }
            }
        };
        if ring == 0 {
            visit((cx, cy));
        } else {
            for gx in cx - ring..=cx + ring {
                visit((gx, cy - ring));
                visit((gx, cy + ring));
            }
            for gy in cy - ring + 1..cy + ring {
                visit((cx - ring, gy));
                visit((cx + ring, gy));
            }
        }
    }

    /// Solves one batch and emits its offers; returns the workers offered a job.
    fn match_batch(&mut self, now: f64, actions: &mut Vec<Action<J, W, P>>) -> Vec<W> {
        let mut rows: Vec<J> = self
            .jobs
            .iter()
            .filter(|(_, e)| {
                e.phase == Phase::Waiting
                    && !e.open.stops.is_empty()
                    && e.quiet_until <= now
                    && e.open.stops[0].window.earliest - now <= self.delivery.plan_ahead_secs
            })
            .map(|(&j, _)| j)
            .collect();
        // Rows scanned now are not quiet any more (a scan may make them quiet again).
        for j in &rows {
            if let Some(e) = self.jobs.get_mut(j)
                && e.quiet_until != f64::NEG_INFINITY
            {
                e.quiet_until = f64::NEG_INFINITY;
                self.quiet = self.quiet.saturating_sub(1);
            }
        }
        if rows.is_empty() {
            return Vec::new();
        }
        rows.sort_by(|a, b| {
            let (ea, eb) = (&self.jobs[a], &self.jobs[b]);
            ea.open
                .opened_at
                .total_cmp(&eb.open.opened_at)
                .then(a.cmp(b))
        });
        // Each row of the batch is one job, or a bundle of jobs offered together.
        let groups = self.bundle_rows(&rows, now);
        let rows: Vec<J> = groups.iter().map(|g| g.jobs[0]).collect();
        let delivery = self.delivery;
        let k = self.config.candidates_per_job.max(1);
        let mut columns: Vec<W> = Vec::new();
        let mut column_of: HashMap<W, usize> = HashMap::new();
        let mut problem = AssignmentProblem {
            requests: rows.len(),
            drivers: 0,
            candidates: Vec::new(),
            unassigned_cost: Vec::with_capacity(rows.len()),
        };
        // Per candidate of the problem, its insertion; per row, its candidates' range.
        let mut insertions: Vec<Option<Insertion>> = Vec::new();
        let mut row_candidates: Vec<std::ops::Range<usize>> = Vec::with_capacity(rows.len());
        let mut quiet: Vec<(J, f64, f64)> = Vec::new();
        let mut row_reach: Vec<f64> = Vec::with_capacity(rows.len());
        let mut reachable: Vec<(J, bool)> = Vec::with_capacity(rows.len());
        // Whether any worker that is priced (online, so in the grid) has stops: their detour does
        // not grow with their distance, so a scan cannot stop at a distance bound. Busy workers the
        // shell reports offline with their committed stops are parked and do not count.
        let routed = self
            .workers
            .iter()
            .any(|(_, w)| w.online && !w.stops.is_empty());
        for (row, job) in rows.iter().enumerate() {
            let entry = &self.jobs[job];
            let group = &groups[row];
            let row_stops: &[RouteStop<J, P>] = group.stops.as_deref().unwrap_or(&entry.open.stops);
            let bundle_excluded: Vec<W>;
            let excluded: &[W] = if group.jobs.len() > 1 {
                bundle_excluded = group
                    .jobs
                    .iter()
                    .flat_map(|j| self.jobs[j].open.excluded.iter().copied())
                    .collect();
                &bundle_excluded
            } else {
                &entry.open.excluded
            };
            let first = row_stops[0].place;
            let opens = row_stops[0].window.earliest;
            #[allow(clippy::cast_precision_loss, reason = "a bundle has a few jobs")]
            let jobs_here = group.jobs.len() as f64;
            let reach = self.config.max_reach_km.min(self.travel.reach_km(
                &first,
                self.config.max_first_stop_secs,
                now,
            ));
            let mut priced: Vec<(f64, W, Insertion)> = Vec::new();
            // Until when "nobody can serve it" holds if nobody near it changes.
            let mut quiet_until = self.travel.stable_until(now);
            // Workers are priced nearest first; once the k-th best cost is below what any
            // farther worker with an empty route could cost, only workers with stops are left
            // to price (their detour does not grow with their distance).
            let mut kth = vec![f64::INFINITY; k];
            let size = self.config.cell_km.max(0.01);
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a reach of a few km is a few cells"
            )]
            let rings = (reach.min(1.0e6) / size).ceil() as i64;
            let mut ring_slots: Vec<(usize, f64, W)> = Vec::new();
            let mut seen = false;
            // A lower bound on the lateness cost of a worker at least `km` away (0 for a first
            // stop that is open from the start, such as a ride's pickup).
            let travel = &self.travel;
            let late_bound = |km: f64| {
                if opens.is_finite() && delivery.late_secs_weight > 0.0 {
                    delivery.late_secs_weight
                        * jobs_here
                        * (now + travel.min_secs(km, &first, now) - opens).max(0.0)
                } else {
                    0.0
                }
            };
            for ring in 0..=rings {
                if ring >= 2 && !routed {
                    // Every worker on this ring or farther is at least this far away.
                    #[allow(clippy::cast_precision_loss, reason = "a few rings")]
                    let inner_km = (ring - 1) as f64 * size;
                    if self.travel.min_drive_cost(inner_km, &first, now) + late_bound(inner_km)
                        > kth[k - 1]
                    {
                        break;
                    }
                }
                self.ring_slots(
                    &first,
                    ring,
                    reach,
                    now,
                    &mut ring_slots,
                    excluded,
                    &mut seen,
                );
                for &(slot, km, _) in &ring_slots {
                    let Some((worker, w)) = self.workers.at(slot) else {
                        continue;
                    };
                    if excluded.contains(&worker) {
                        continue;
                    }
                    // A bundle goes only to a worker with nothing else to do first.
                    if group.jobs.len() > 1 && !w.stops.is_empty() {
                        continue;
                    }
                    if w.stops.is_empty()
                        && self.travel.min_drive_cost(km, &first, now) + late_bound(km) > kth[k - 1]
                    {
                        continue;
                    }
                    let route = Self::route_of(w, now);
                    let mut first_leg = None;
                    if route.stops.is_empty() {
                        // An empty route: the drive to the first stop bounds both the arrival and
                        // the detour, so most workers are settled without the full insertion.
                        let Some((drive, drive_cost)) =
                            self.travel.drive(&w.place, &first, route.start_at)
                        else {
                            continue;
                        };
                        first_leg = Some((drive, drive_cost));
                        let arrival = route.start_at + drive;
                        let wait = route.start_at - now;
                        if arrival - now > self.config.max_first_stop_secs {
                            if route.start_at > now {
                                quiet_until =
                                    quiet_until.min(arrival - self.config.max_first_stop_secs);
                            }
                            continue;
                        }
                        if drive_cost + self.config.wait_secs_weight * wait.max(0.0) > kth[k - 1] {
                            continue;
                        }
                    }
                    let Some(ins) = best_insertion(&route, row_stops, &self.travel) else {
                        continue;
                    };
                    if w.pickups_until.is_finite()
                        && !self.pickups_in_shift(&route, row_stops, &ins, w.pickups_until)
                    {
                        continue;
                    }
                    if ins.first_arrival - now > self.config.max_first_stop_secs {
                        if route.start_at > now {
                            // Busy until then: its first arrival stays put as now moves on.
                            quiet_until = quiet_until
                                .min(ins.first_arrival - self.config.max_first_stop_secs);
                        }
                        continue;
                    }
                    let wait = (route.start_at - now).max(0.0);
                    // An empty route's detour is the drive to the first stop (and any wait for its
                    // window); a longer route's detour is a mix of legs, priced as time.
                    let detour = match first_leg {
                        Some((drive, drive_cost)) => {
                            drive_cost
                                + self
                                    .travel
                                    .secs_cost((ins.detour_secs - drive).max(0.0), now)
                        }
                        None => self.travel.secs_cost(ins.detour_secs, now),
                    };
                    let mut cost = detour + self.config.wait_secs_weight * wait;
                    if opens.is_finite() {
                        // A window that opens later: waiting for it costs nothing (the worker is
                        // committed late and leaves in time), arriving after it costs per job.
                        let early = (opens - ins.first_arrival).max(0.0);
                        let late = (ins.first_arrival - opens).max(0.0);
                        cost = (cost - self.travel.secs_cost(early, now)).max(0.0)
                            + delivery.late_secs_weight * late * jobs_here;
                    }
                    if cost.is_finite() && cost >= 0.0 {
                        if cost < kth[k - 1] {
                            // Keep the k cheapest, sorted: the new cost in its place, the largest out.
                            let at = kth.partition_point(|x| x.total_cmp(&cost).is_le());
                            kth.insert(at, cost);
                            kth.pop();
                        }
                        priced.push((cost, worker, ins));
                    }
                }
            }
            row_reach.push(reach);
            for &j in &group.jobs {
                reachable.push((j, seen));
                if priced.is_empty() {
                    quiet.push((j, quiet_until.max(now + 1e-9), reach));
                }
            }
            priced.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            priced.truncate(k);
            let start = problem.candidates.len();
            for (cost, worker, ins) in priced {
                let col = *column_of.entry(worker).or_insert_with(|| {
                    columns.push(worker);
                    columns.len() - 1
                });
                problem.candidates.push(Candidate {
                    request: row,
                    driver: col,
                    cost,
                });
                insertions.push(Some(ins));
            }
            row_candidates.push(start..problem.candidates.len());
            let mut u_row = 0.0;
            for j in &group.jobs {
                let open = &self.jobs[j].open;
                let u = open.unassigned_cost;
                let mut u = if u.is_finite() && u >= 0.0 { u } else { 1.0e7 };
                let opens_j = open.stops[0].window.earliest;
                if opens_j.is_finite() && delivery.late_secs_weight > 0.0 {
                    // Leaving a job for later costs what it is late by then: a job whose window
                    // opens soon (or opened) goes before one that can wait.
                    u = (u + delivery.late_secs_weight * (now - opens_j)).max(1.0);
                }
                u_row += u;
            }
            problem.unassigned_cost.push(u_row);
        }
        problem.drivers = columns.len();
        for (job, seen) in reachable {
            if let Some(e) = self.jobs.get_mut(&job) {
                if seen {
                    e.unreachable_since = None;
                    e.seen_worker = true;
                } else {
                    e.unreachable_since.get_or_insert(now);
                }
            }
        }
        for (job, until, reach) in quiet {
            self.make_quiet(job, until, reach);
        }
        if problem.candidates.is_empty() {
            return Vec::new();
        }
        let Ok(solution) = assign_min_cost(&problem) else {
            return Vec::new();
        };
        if self.planned_bundles {
            for (row, col) in solution.driver_of.iter().enumerate() {
                let arrival = col
                    .and_then(|col| {
                        row_candidates[row]
                            .clone()
                            .find(|&i| problem.candidates[i].driver == col)
                    })
                    .and_then(|i| insertions[i].as_ref())
                    .map_or(f64::INFINITY, |ins| ins.first_arrival);
                for j in &groups[row].jobs {
                    if let Some(e) = self.jobs.get_mut(j) {
                        e.planned_arrival = arrival;
                    }
                }
            }
        }
        let mut offered = Vec::new();
        let recheck = (now + self.config.recheck_secs).min(self.travel.stable_until(now));
        for (row, col) in solution.driver_of.iter().enumerate() {
            let Some(col) = *col else {
                // Left waiting although someone could serve it (it is not worth it yet): it is
                // priced again when a worker near it changes, or after `recheck_secs`.
                if recheck > now {
                    for &j in &groups[row].jobs {
                        self.make_quiet(j, recheck, row_reach[row]);
                    }
                }
                continue;
            };
            let worker = columns[col];
            let Some(insertion) = row_candidates[row]
                .clone()
                .find(|&i| problem.candidates[i].driver == col)
                .and_then(|i| insertions[i].take())
            else {
                continue;
            };
            let group = &groups[row];
            let first = self.jobs[&rows[row]].open.stops[0];
            let row_first = group.stops.as_ref().map_or(first, |s| s[0]);
            if delivery.commit_lead_secs.is_finite() && row_first.window.earliest.is_finite() {
                // Commit late: only a worker free now that would not be early by more than the
                // lead; otherwise the match is held and made again at the next tick.
                let free_now = self.workers.get(&worker).is_some_and(|w| w.at <= now);
                if !free_now
                    || insertion.first_arrival
                        < row_first.window.earliest - delivery.commit_lead_secs
                {
                    continue;
                }
            }
            let offer = OfferNo(self.next_offer);
            self.next_offer += 1;
            let expires_at = now + self.config.offer_timeout_secs;
            let mut route = self
                .workers
                .get(&worker)
                .map_or_else(Vec::new, |w| w.stops.clone());
            match &group.stops {
                Some(stops) => route.extend_from_slice(stops),
                None => {
                    let mut r = Route {
                        start: first.place,
                        start_at: now,
                        start_load: 0,
                        capacity: i32::MAX,
                        stops: route,
                    };
                    r.insert(&self.jobs[&rows[row]].open.stops, &insertion.positions);
                    route = r.stops;
                }
            }
            self.offer_routes.insert(offer, route);
            for &job in &group.jobs {
                if let Some(e) = self.jobs.get_mut(&job) {
                    e.phase = Phase::Offered {
                        offer,
                        worker,
                        expires_at,
                    };
                }
                actions.push(Action::Offer {
                    offer,
                    job,
                    worker,
                    expires_at,
                    insertion: insertion.clone(),
                });
            }
            if let Some(w) = self.workers.get_mut(&worker) {
                w.offer = Some(offer);
            }
            self.offers.insert(offer, group.jobs.clone());
            offered.push(worker);
        }
        offered
    }

    /// Whether every pickup (a stop with positive load) of `job` inserted into `route` at `ins`
    /// starts its service by `until`.
    fn pickups_in_shift(
        &self,
        route: &Route<J, P>,
        job: &[RouteStop<J, P>],
        ins: &Insertion,
        until: f64,
    ) -> bool {
        if !job.iter().any(|s| s.load > 0) {
            return true;
        }
        // The common case: the job's only pickup is its first stop, whose arrival the insertion
        // knows.
        if job[0].load > 0 && job[1..].iter().all(|s| s.load <= 0) {
            return ins.first_arrival.max(job[0].window.earliest) <= until;
        }
        let mut r = route.clone();
        r.capacity = i32::MAX;
        r.insert(job, &ins.positions);
        let Some(schedule) = r.schedule(&self.travel) else {
            return false;
        };
        // The job's stops are where the insertion put them: check each pickup of the new route
        // that belongs to the job (a bundle's stops are all new).
        let mut next = 0;
        for (stop, arrival) in r.stops.iter().zip(&schedule.arrivals) {
            if next < job.len() && stop.job == job[next].job {
                if stop.load > 0 && arrival.max(stop.window.earliest) > until {
                    return false;
                }
                next += 1;
            }
        }
        true
    }

    /// The rows of the batch: each waiting job alone, or, under [`DeliveryRules`] with bundles,
    /// bundles of jobs whose first stops are close and whose windows open close together, where
    /// one worker serving them in one go saves more than the delay it adds
    /// ([`DeliveryRules::bundle_delay_weight`]). Greedy: jobs in the order their windows open,
    /// each with the partner (then the third) that scores best.
    fn bundle_rows(&self, rows: &[J], now: f64) -> Vec<Group<J, P>> {
        let rules = &self.delivery;
        let single = |j: J| Group {
            jobs: vec![j],
            stops: None,
        };
        if rules.max_bundle_jobs < 2 || rows.len() < 2 {
            return rows.iter().map(|&j| single(j)).collect();
        }
        if rules.bundle_when_short > 0.0 {
            let horizon = now + self.config.reposition_horizon_secs;
            let free = self
                .workers
                .iter()
                .filter(|(_, w)| self.free(w, now) && w.stops.is_empty() && w.at <= horizon)
                .count();
            #[allow(clippy::cast_precision_loss, reason = "counts of a city's workers")]
            if (rows.len() as f64) <= rules.bundle_when_short * free as f64 {
                return rows.iter().map(|&j| single(j)).collect();
            }
        }
        // Jobs that may bundle: two stops, a first window that opens at a known time.
        let mut order: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                let s = &self.jobs[&rows[i]].open.stops;
                s.len() == 2 && s[0].window.earliest.is_finite()
            })
            .collect();
        order.sort_by(|&a, &b| {
            let (ea, eb) = (
                self.jobs[&rows[a]].open.stops[0].window.earliest,
                self.jobs[&rows[b]].open.stops[0].window.earliest,
            );
            ea.total_cmp(&eb).then(a.cmp(&b))
        });
        let mut taken = vec![false; rows.len()];
        let mut out: Vec<Group<J, P>> = Vec::new();
        let near = |a: &RouteStop<J, P>, b: &RouteStop<J, P>| {
            let (ax, ay) = a.place.xy_km();
            let (bx, by) = b.place.xy_km();
            ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt() <= rules.bundle_radius_km + 1e-3
        };
        for (pos, &i) in order.iter().enumerate() {
            if taken[i] {
                continue;
            }
            let si = &self.jobs[&rows[i]].open.stops;
            let mut members = vec![i];
            let mut best: Option<(f64, Vec<RouteStop<J, P>>)> = None;
            while members.len() < rules.max_bundle_jobs {
                // The best partner so far: (its row, the bundle's score, its stops).
                type Pick<J, P> = (usize, f64, Vec<RouteStop<J, P>>);
                let mut pick: Option<Pick<J, P>> = None;
                for &j in &order[pos + 1..] {
                    if taken[j] || members.contains(&j) {
                        continue;
                    }
                    let sj = &self.jobs[&rows[j]].open.stops;
                    if !near(&si[0], &sj[0]) {
                        continue;
                    }
                    let stops: Vec<&[RouteStop<J, P>]> = members
                        .iter()
                        .chain(std::iter::once(&j))
                        .map(|&m| self.jobs[&rows[m]].open.stops.as_slice())
                        .collect();
                    let starts: Option<Vec<f64>> = self.planned_bundles.then(|| {
                        members
                            .iter()
                            .chain(std::iter::once(&j))
                            .map(|&m| {
                                let e = &self.jobs[&rows[m]];
                                let opens = e.open.stops[0].window.earliest;
                                // Not in a batch yet: as if a worker came when it opens.
                                if e.planned_arrival.is_nan() {
                                    opens
                                } else {
                                    e.planned_arrival.max(opens)
                                }
                            })
                            .collect()
                    });
                    if let Some(plan) = plan_bundle(&stops, &self.travel, rules, starts.as_deref())
                        && plan.score > best.as_ref().map_or(0.0, |b| b.0)
                        && pick.as_ref().is_none_or(|p| plan.score > p.1)
                    {
                        pick = Some((j, plan.score, plan.stops));
                    }
                }
                let Some((j, score, stops)) = pick else {
                    break;
                };
                members.push(j);
                best = Some((score, stops));
            }
            if let Some((_, stops)) = best {
                for &m in &members {
                    taken[m] = true;
                }
                out.push(Group {
                    jobs: members.iter().map(|&m| rows[m]).collect(),
                    stops: Some(stops),
                });
            }
        }
        // Everything not in a bundle goes alone, in the batch's order.
        for (i, &j) in rows.iter().enumerate() {
            if !taken[i] {
                out.push(single(j));
            }
        }
        out
    }

    /// Spreads the fleet over the forecast's targets. Every online worker belongs to its nearest
    /// target. The whole fleet is wanted spread over the targets in proportion to their weights;
    /// workers busy until at most `reposition_horizon_secs` from now, and workers already heading
    /// to a target, count where they will be; the idle ones fill the largest remaining deficits
    /// ("slots", at most twice as many as idle workers). A min-cost assignment
    /// ([`assign_min_cost`]) of slots to idle workers by km to the target (0 for a worker already
    /// at home there) decides who moves.
    fn reposition(&mut self, now: f64, assigned: &[W], actions: &mut Vec<Action<J, W, P>>) {
        let targets = self.forecast.targets(now);
        let weights: Vec<f64> = targets.iter().map(|t| t.1.max(0.0)).collect();
        let total: f64 = weights.iter().sum();
        if targets.is_empty() || total <= 0.0 {
            return;
        }
        let txy: Vec<(f64, f64)> = targets.iter().map(|t| t.0.xy_km()).collect();
        let forecast = &self.forecast;
        let home = |p: &P| forecast.home(p, &targets);
        let horizon = now + self.config.reposition_horizon_secs;
        let mut deficit: Vec<f64> = Vec::new();
        let mut idle: Vec<(W, Option<usize>, f64, f64)> = Vec::new(); // worker, home, x, y
        let mut fleet = 0.0;
        for (id, w) in self.workers.iter() {
            let heading = w.heading.filter(|h| h.1 > now);
            let free_now = self.free(w, now) && w.stops.is_empty() && w.at <= now;
            if !(w.online || w.at > now) {
                continue;
            }
            fleet += 1.0;
            // A worker offered a job in this batch is neither idle nor where it will be free.
            if assigned.contains(&id) {
                continue;
            }
            if let Some((t, _)) = heading
                && t < targets.len()
                && !assigned.contains(&id)
            {
                deficit.resize(targets.len(), 0.0);
                deficit[t] -= 1.0;
                continue;
            }
            if free_now && !assigned.contains(&id) {
                let (x, y) = w.place.xy_km();
                idle.push((id, home(&w.place), x, y));
            } else if w.at <= horizon
                && let Some(h) = home(&w.place)
            {
                deficit.resize(targets.len(), 0.0);
                deficit[h] -= 1.0;
            }
        }
        if idle.is_empty() {
            return;
        }
        // The workers were visited in hash order: fix the order for a deterministic answer.
        idle.sort_by_key(|a| a.0);
        deficit.resize(targets.len(), 0.0);
        for (d, w) in deficit.iter_mut().zip(&weights) {
            *d += fleet * w / total;
        }
        let cap = idle.len() * 2;
        let mut slots: Vec<usize> = Vec::new();
        let whole: f64 = deficit
            .iter()
            .filter(|d| **d > 0.0)
            .map(|d| d.floor())
            .sum();
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "deficits are positive here and at most the fleet size"
        )]
        if whole > cap as f64 {
            // Keep the targets with the largest deficits only.
            let mut order: Vec<usize> = (0..targets.len()).filter(|&t| deficit[t] > 0.0).collect();
            order.sort_by(|&a, &b| deficit[b].total_cmp(&deficit[a]).then(a.cmp(&b)));
            for t in order {
                let k = (deficit[t].ceil() as usize).min(cap - slots.len());
                slots.extend(std::iter::repeat_n(t, k));
                if slots.len() >= cap {
                    break;
                }
            }
        } else {
            let mut remainders: Vec<(f64, usize)> = Vec::new();
            for (t, &d) in deficit.iter().enumerate() {
                if d <= 0.0 {
                    continue;
                }
                slots.extend(std::iter::repeat_n(t, d.floor() as usize));
                if d > d.floor() {
                    remainders.push((d - d.floor(), t));
                }
            }
            remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let room = cap.saturating_sub(slots.len());
            slots.extend(remainders.iter().take(room).map(|r| r.1));
        }
        if slots.is_empty() {
            return;
        }
        let max_km = self.config.reposition_max_km;
        let mut problem = AssignmentProblem {
            requests: slots.len(),
            drivers: idle.len(),
            candidates: Vec::new(),
            unassigned_cost: vec![max_km; slots.len()],
        };
        // Per target, its idle workers nearest first; the k-th slot of a target sees a window of
        // that list (all of it for up to 8 slots), which keeps the problem linear in the slots.
        let mut slots_at = vec![0usize; targets.len()];
        for &t in &slots {
            slots_at[t] += 1;
        }
        let mut lists: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
        let mut rank = vec![0usize; targets.len()];
        for (row, &t) in slots.iter().enumerate() {
            let (tx, ty) = txy[t];
            let list = lists.entry(t).or_insert_with(|| {
                let mut list: Vec<(usize, f64)> = idle
                    .iter()
                    .enumerate()
                    .filter_map(|(col, &(_, h, x, y))| {
                        let km = if h == Some(t) {
                            0.0
                        } else {
                            (x - tx).abs() + (y - ty).abs()
                        };
                        (km < max_km).then_some((col, km))
                    })
                    .collect();
                list.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                list.truncate(2 * slots_at[t] + 8);
                list
            });
            let r = rank[t];
            rank[t] += 1;
            let window = if slots_at[t] <= 8 {
                &list[..]
            } else {
                let start = r.min(list.len().saturating_sub(24));
                &list[start..(start + 24).min(list.len())]
            };
            for &(col, km) in window {
                problem.candidates.push(Candidate {
                    request: row,
                    driver: col,
                    cost: km,
                });
            }
        }
        let Ok(solution) = assign_min_cost(&problem) else {
            return;
        };
        for (row, col) in solution.driver_of.iter().enumerate() {
            let Some(col) = *col else { continue };
            let (worker, h, x, y) = idle[col];
            let t = slots[row];
            let (tx, ty) = txy[t];
            if h == Some(t) || (x - tx).abs() + (y - ty).abs() <= 0.3 {
                continue;
            }
            let to = targets[t].0;
            let place = self.workers[&worker].place;
            let eta = self
                .travel
                .travel_secs(&place, &to, now)
                .unwrap_or(self.config.reposition_interval_secs);
            if let Some(w) = self.workers.get_mut(&worker) {
                // Expected there by `eta`; kept for twice that (drives take longer than the mean)
                // unless it arrives, takes work or goes offline first.
                w.heading = Some((t, now + 2.0 * eta + self.config.reposition_interval_secs));
            }
            actions.push(Action::Reposition { worker, to });
        }
    }
}
