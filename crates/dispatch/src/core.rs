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

use std::collections::{BTreeMap, BTreeSet};

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

/// Why a job found no worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfulfilled {
    /// No worker could reach it in time.
    NoWorkerNearby,
    /// Workers were offered the job and every one declined or let the offer expire.
    AllWorkersDeclined,
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
    /// detour (0: chaining costs only its detour).
    pub wait_secs_weight: f64,
    /// How long the shell has to record an unfulfilled verdict before the core repeats it, seconds.
    pub retry_secs: f64,
    /// Seconds between two rounds of repositioning suggestions.
    pub reposition_interval_secs: f64,
    /// The farthest an idle worker is sent, km (straight line).
    pub reposition_max_km: f64,
    /// The grid cell of the worker index, km.
    pub cell_km: f64,
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
            reposition_interval_secs: 60.0,
            reposition_max_km: 3.0,
            cell_km: 0.5,
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
}

#[derive(Debug, Clone)]
struct WorkerEntry<J, P> {
    place: P,
    at: f64,
    online: bool,
    capacity: i32,
    stops: Vec<RouteStop<J, P>>,
    cell: (i64, i64),
    /// The offer out to this worker, if any (one at a time).
    offer: Option<OfferNo>,
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
    workers: BTreeMap<W, WorkerEntry<J, P>>,
    cells: BTreeMap<(i64, i64), BTreeSet<W>>,
    offers: BTreeMap<OfferNo, J>,
    next_offer: u64,
    last_reposition: f64,
}

impl<J, W, P, T, F> Dispatcher<J, W, P, T, F>
where
    J: Copy + Ord,
    W: Copy + Ord,
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
            workers: BTreeMap::new(),
            cells: BTreeMap::new(),
            offers: BTreeMap::new(),
            next_offer: 0,
            last_reposition: f64::NEG_INFINITY,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DispatchConfig {
        &self.config
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

    /// Takes one input at `now` and returns what to do, in order.
    pub fn handle(&mut self, input: Input<J, W, P>, now: f64) -> Vec<Action<J, W, P>> {
        let mut actions = Vec::new();
        match input {
            Input::JobOpened(open) => {
                if let Some(old) = self.jobs.remove(&open.job) {
                    self.release(old.phase);
                }
                self.jobs.insert(
                    open.job,
                    JobEntry {
                        open,
                        phase: Phase::Waiting,
                    },
                );
            }
            Input::JobGone(job) => {
                if let Some(old) = self.jobs.remove(&job) {
                    self.release(old.phase);
                }
            }
            Input::OfferAnswered { offer, accepted } => {
                if let Some(job) = self.offers.get(&offer).copied() {
                    if accepted {
                        // The job waits until the shell confirms the assignment with JobGone, but
                        // is offered to no one else meanwhile: keep it as offered, with no deadline.
                        if let Some(entry) = self.jobs.get_mut(&job)
                            && let Phase::Offered { expires_at, .. } = &mut entry.phase
                        {
                            *expires_at = f64::INFINITY;
                        }
                    } else {
                        self.end_offer(job, true);
                    }
                }
            }
            Input::OfferFailed(offer) => {
                if let Some(job) = self.offers.get(&offer).copied() {
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
            } => self.move_worker(worker, place, at, online, capacity, stops),
            Input::WorkerGone(worker) => {
                if let Some(w) = self.workers.remove(&worker) {
                    self.unindex(worker, w.cell);
                    if let Some(offer) = w.offer
                        && let Some(job) = self.offers.get(&offer).copied()
                    {
                        // An offer to a worker who left is as good as declined.
                        self.end_offer(job, true);
                    }
                }
            }
            Input::Tick => self.tick(now, &mut actions),
        }
        actions
    }

    fn release(&mut self, phase: Phase<W>) {
        if let Phase::Offered { offer, worker, .. } = phase {
            self.offers.remove(&offer);
            if let Some(w) = self.workers.get_mut(&worker)
                && w.offer == Some(offer)
            {
                w.offer = None;
            }
        }
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

    fn unindex(&mut self, worker: W, cell: (i64, i64)) {
        if let Some(set) = self.cells.get_mut(&cell) {
            set.remove(&worker);
            if set.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    fn move_worker(
        &mut self,
        worker: W,
        place: P,
        at: f64,
        online: bool,
        capacity: i32,
        stops: Vec<RouteStop<J, P>>,
    ) {
        let cell = self.cell_of(&place);
        let old = self.workers.get(&worker).map(|w| (w.cell, w.offer));
        if let Some((old_cell, _)) = old
            && old_cell != cell
        {
            self.unindex(worker, old_cell);
        }
        self.cells.entry(cell).or_default().insert(worker);
        self.workers.insert(
            worker,
            WorkerEntry {
                place,
                at,
                online,
                capacity,
                stops,
                cell,
                offer: old.and_then(|(_, o)| o),
            },
        );
        if !online
            && let Some(offer) = old.and_then(|(_, o)| o)
            && let Some(job) = self.offers.get(&offer).copied()
        {
            // A worker who went offline will not answer.
            self.end_offer(job, true);
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
            self.end_offer(job, true);
            actions.push(Action::ExpireOffer { offer, job, worker });
        }

        // 2. Jobs past their deadline without an offer out end unfulfilled (again, if the shell
        //    has not confirmed it after `retry_secs`).
        let retry = self.config.retry_secs;
        for (&job, e) in &mut self.jobs {
            match e.phase {
                Phase::Waiting if now >= e.open.give_up_at => {
                    let reason = if e.open.excluded.is_empty() {
                        Unfulfilled::NoWorkerNearby
                    } else {
                        Unfulfilled::AllWorkersDeclined
                    };
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

        // 3. One batch: every waiting job against the free workers near it.
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

    /// Free workers within `reach_km` of `place`, nearest first (ties by id), at most `limit`.
    fn nearby(&self, place: &P, reach_km: f64, limit: usize, now: f64) -> Vec<(W, f64)> {
        let (x, y) = place.xy_km();
        let size = self.config.cell_km.max(0.01);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a reach of a few km is a few cells"
        )]
        let r = (reach_km / size).ceil() as i64;
        let (cx, cy) = self.cell_of(place);
        let mut found: Vec<(W, f64)> = Vec::new();
        for gx in cx - r..=cx + r {
            for gy in cy - r..=cy + r {
                let Some(set) = self.cells.get(&(gx, gy)) else {
                    continue;
                };
                for &id in set {
                    let Some(w) = self.workers.get(&id) else {
                        continue;
                    };
                    if !self.free(w, now) {
                        continue;
                    }
                    let (wx, wy) = w.place.xy_km();
                    let d = ((wx - x).powi(2) + (wy - y).powi(2)).sqrt();
                    if d <= reach_km {
                        found.push((id, d));
                    }
                }
            }
        }
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.truncate(limit);
        found
    }

    /// Solves one batch and emits its offers; returns the workers offered a job.
    fn match_batch(&mut self, now: f64, actions: &mut Vec<Action<J, W, P>>) -> Vec<W> {
        let mut rows: Vec<J> = self
            .jobs
            .iter()
            .filter(|(_, e)| e.phase == Phase::Waiting && !e.open.stops.is_empty())
            .map(|(&j, _)| j)
            .collect();
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
        let k = self.config.candidates_per_job.max(1);
        let mut columns: Vec<W> = Vec::new();
        let mut column_of: BTreeMap<W, usize> = BTreeMap::new();
        let mut problem = AssignmentProblem {
            requests: rows.len(),
            drivers: 0,
            candidates: Vec::new(),
            unassigned_cost: Vec::with_capacity(rows.len()),
        };
        let mut insertions: BTreeMap<(usize, usize), Insertion> = BTreeMap::new();
        for (row, job) in rows.iter().enumerate() {
            let entry = &self.jobs[job];
            let first = entry.open.stops[0].place;
            let mut priced: Vec<(f64, W, Insertion)> = Vec::new();
            for (worker, _km) in self.nearby(&first, self.config.max_reach_km, 2 * k, now) {
                if entry.open.excluded.contains(&worker) {
                    continue;
                }
                let w = &self.workers[&worker];
                let route = Self::route_of(w, now);
                let Some(ins) = best_insertion(&route, &entry.open.stops, &self.travel) else {
                    continue;
                };
                if ins.first_arrival - now > self.config.max_first_stop_secs {
                    continue;
                }
                let wait = (route.start_at - now).max(0.0);
                let cost = ins.detour_secs + self.config.wait_secs_weight * wait;
                if cost.is_finite() && cost >= 0.0 {
                    priced.push((cost, worker, ins));
                }
            }
            priced.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            priced.truncate(k);
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
                insertions.insert((row, col), ins);
            }
            let u = entry.open.unassigned_cost;
            problem
                .unassigned_cost
                .push(if u.is_finite() && u >= 0.0 { u } else { 1.0e7 });
        }
        problem.drivers = columns.len();
        if problem.candidates.is_empty() {
            return Vec::new();
        }
        let Ok(solution) = assign_min_cost(&problem) else {
            return Vec::new();
        };
        let mut offered = Vec::new();
        for (row, col) in solution.driver_of.iter().enumerate() {
            let Some(col) = *col else { continue };
            let (job, worker) = (rows[row], columns[col]);
            let Some(insertion) = insertions.remove(&(row, col)) else {
                continue;
            };
            let offer = OfferNo(self.next_offer);
            self.next_offer += 1;
            let expires_at = now + self.config.offer_timeout_secs;
            if let Some(e) = self.jobs.get_mut(&job) {
                e.phase = Phase::Offered {
                    offer,
                    worker,
                    expires_at,
                };
            }
            if let Some(w) = self.workers.get_mut(&worker) {
                w.offer = Some(offer);
            }
            self.offers.insert(offer, job);
            offered.push(worker);
            actions.push(Action::Offer {
                offer,
                job,
                worker,
                expires_at,
                insertion,
            });
        }
        offered
    }

    /// Spreads idle workers over the forecast's targets: each target wants a share of the idle
    /// workers in proportion to its weight; a min-cost assignment by distance decides who moves.
    fn reposition(&self, now: f64, assigned: &[W], actions: &mut Vec<Action<J, W, P>>) {
        let targets = self.forecast.targets(now);
        let total: f64 = targets.iter().map(|t| t.1.max(0.0)).sum();
        if targets.is_empty() || total <= 0.0 {
            return;
        }
        let idle: Vec<(W, P)> = self
            .workers
            .iter()
            .filter(|(id, w)| self.free(w, now) && w.stops.is_empty() && !assigned.contains(id))
            .map(|(&id, w)| (id, w.place))
            .collect();
        if idle.is_empty() {
            return;
        }
        // Per target, how many idle workers it wants (largest remainders round), less those
        // already near it.
        let n = idle.len() as f64;
        let near = self.config.cell_km.max(0.3);
        let mut slots: Vec<usize> = Vec::new();
        let mut remainders: Vec<(f64, usize)> = Vec::new();
        let mut wanted = 0.0;
        for (t, (place, weight)) in targets.iter().enumerate() {
            let (tx, ty) = place.xy_km();
            let already = idle
                .iter()
                .filter(|(_, p)| {
                    let (x, y) = p.xy_km();
                    (x - tx).abs() + (y - ty).abs() <= near
                })
                .count() as f64;
            let want = n * weight.max(0.0) / total - already;
            if want <= 0.0 {
                continue;
            }
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "want is positive and at most the number of idle workers"
            )]
            let whole = want.floor() as usize;
            slots.extend(std::iter::repeat_n(t, whole));
            wanted += want;
            if want > want.floor() {
                remainders.push((want - want.floor(), t));
            }
        }
        // Largest remainders fill up to the rounded total want (and never past the idle count).
        remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "wanted is non-negative and at most a few times the idle count"
        )]
        let extra = (wanted.round() as usize)
            .min(idle.len())
            .saturating_sub(slots.len());
        for &(_, t) in remainders.iter().take(extra) {
            slots.push(t);
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
        for (row, &t) in slots.iter().enumerate() {
            let (tx, ty) = targets[t].0.xy_km();
            for (col, (_, p)) in idle.iter().enumerate() {
                let (x, y) = p.xy_km();
                let km = (x - tx).abs() + (y - ty).abs();
                if km < max_km {
                    problem.candidates.push(Candidate {
                        request: row,
                        driver: col,
                        cost: km,
                    });
                }
            }
        }
        let Ok(solution) = assign_min_cost(&problem) else {
            return;
        };
        for (row, col) in solution.driver_of.iter().enumerate() {
            let Some(col) = *col else { continue };
            let (worker, place) = idle[col];
            let to = targets[slots[row]].0;
            let ((x, y), (tx, ty)) = (place.xy_km(), to.xy_km());
            if (x - tx).abs() + (y - ty).abs() > near {
                actions.push(Action::Reposition { worker, to });
            }
        }
    }
}
