//! The online dispatch policies. Each one builds an [`AssignmentProblem`] and solves it with the
//! `doorstep_dispatch` functions the live dispatcher calls.

use doorstep_dispatch::{
    AssignmentProblem, Candidate, assign_greedy, assign_min_cost, prune_candidates,
};
use doorstep_geo::ZoneIdx;

use crate::engine::{Actions, DecisionView, Feasible, Policy, ScanScratch};
use crate::grid::ZonePoints;
use crate::instance::{COST_PER_KM, Day, GridPoint, Model, PICKUP_LIMIT_SECS};

/// Which pending requests need their candidates looked up at a decision, shared by the policies.
///
/// A scan of a request ([`DecisionView::cheapest_feasible_vehicles`]) also says until when its answer
/// holds for the vehicles it saw that are infeasible now (as their wait shrinks). A request whose
/// last scan found no feasible vehicle keeps that answer ("quiet") until then, unless a vehicle
/// changes near it (looked up through an index of the quiet requests by origin, from the
/// [`DecisionView::wake_area`] of each changed vehicle) or the 15-minute speed window turns. So a
/// decision scans only the requests that are new, due, woken, or (for the batch policy) had
/// candidates last time, and finds exactly the candidates a scan of every pending request finds.
#[derive(Debug, Default)]
struct Scanner {
    /// Per request: until when its last scan's answer (no feasible vehicle) holds; `-inf` before
    /// its first scan.
    quiet_until: Vec<f64>,
    /// Per request: the speed window of its last scan.
    scanned_window: Vec<u32>,
    /// Per request: a changed vehicle may serve it now.
    woken: Vec<bool>,
    /// Per request: the last decision that saw it pending.
    seen: Vec<u64>,
    /// The quiet requests by origin, and a list of them (with, briefly, some that no longer are;
    /// `listed` says who is in the list).
    quiet: Option<ZonePoints>,
    quiet_ids: Vec<u32>,
    listed: Vec<bool>,
    decision: u64,
    window: u32,
    /// The requests to scan at this decision, oldest first.
    rows: Vec<u32>,
}

impl Scanner {
    fn start_day(&mut self, model: &Model, requests: usize) {
        self.quiet_until = vec![f64::NEG_INFINITY; requests];
        self.scanned_window = vec![u32::MAX; requests];
        self.woken = vec![false; requests];
        self.seen = vec![0; requests];
        self.listed = vec![false; requests];
        self.quiet = Some(ZonePoints::new(model.centroids.len(), requests));
        self.quiet_ids.clear();
        self.decision = 0;
    }

    /// Finds the requests to scan at this decision (in `rows`); `carried` are vehicles that
    /// changed at earlier decisions that did not call this.
    fn prepare(&mut self, view: &DecisionView<'_>, carried: &[u32]) {
        if self.quiet_until.len() != view.requests.len() || self.quiet.is_none() {
            self.start_day(view.model, view.requests.len());
        }
        let Some(quiet) = self.quiet.as_mut() else {
            return;
        };
        let now = view.now;
        self.decision += 1;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "simulated time is non-negative and within a few days"
        )]
        let window = ((now + crate::instance::SPEED_CLOCK_OFFSET_SECS) / 900.0) as u32 % 96;
        self.window = window;
        // Requests no longer pending leave the quiet index.
        for &r in view.pending {
            self.seen[r as usize] = self.decision;
        }
        let (seen, decision, listed) = (&self.seen, self.decision, &mut self.listed);
        self.quiet_ids.retain(|&r| {
            let keep = seen[r as usize] == decision && quiet.contains(r);
            if !keep {
                quiet.remove(r);
                listed[r as usize] = false;
            }
            keep
        });
        // Vehicles that changed wake the quiet requests they can serve (or will, as their wait
        // shrinks).
        let model = view.model;
        let (woken, quiet_until) = (&mut self.woken, &mut self.quiet_until);
        for &v in view.changed.iter().chain(carried) {
            let (p, zone, extra_km) = view.wake_area(v);
            quiet.for_each_near(
                p,
                |z| {
                    let to = ZoneIdx(u8::try_from(z).unwrap_or(u8::MAX));
                    let speed = match zone {
                        Some(from) => model.reach_speeds(to, now)[from.index()],
                        None => model.reach_speed_any(to, now),
                    };
                    PICKUP_LIMIT_SECS * speed + extra_km
                },
                |r| {
                    let i = r as usize;
                    if woken[i] || quiet_until[i] <= now {
                        return;
                    }
                    let (f, from) = view.check_vehicle(r, v);
                    if f.is_some() {
                        woken[i] = true;
                    } else {
                        quiet_until[i] = quiet_until[i].min(from);
                    }
                },
            );
        }
        self.rows.clear();
        for &r in view.pending {
            let i = r as usize;
            if self.woken[i] || self.quiet_until[i] <= now || self.scanned_window[i] != window {
                self.rows.push(r);
            }
            self.woken[i] = false;
        }
    }

    /// Records the scan of request `r` at this decision: its answer holds until `until`.
    fn scanned(&mut self, view: &DecisionView<'_>, r: u32, until: f64) {
        let i = r as usize;
        self.quiet_until[i] = until;
        self.scanned_window[i] = self.window;
        let Some(quiet) = self.quiet.as_mut() else {
            return;
        };
        if until > view.now {
            if !quiet.contains(r) {
                let req = &view.requests[i];
                quiet.insert(r, req.origin_zone.index(), req.origin, req.release);
                if !self.listed[i] {
                    self.listed[i] = true;
                    self.quiet_ids.push(r);
                }
            }
        } else {
            // Dropped from `quiet_ids` at the next decision.
            quiet.remove(r);
        }
    }
}

/// The greedy baseline: each pending request, oldest first, to the nearest (smallest expected
/// pickup time) feasible vehicle still free in this decision, through
/// [`doorstep_dispatch::assign_greedy`].
///
/// Every request greedy leaves pending has no feasible vehicle, so between decisions it rescans
/// only the requests a `Scanner` says may have some now. The assignment is the same as with a
/// full rescan at every decision.
#[derive(Debug, Default)]
pub struct Greedy {
    matching: Matching,
}

impl Policy for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }

    fn start_day(&mut self, model: &Model, day: &Day) {
        self.matching.start_day(model, day.requests.len());
    }

    fn decide(&mut self, view: &DecisionView<'_>, actions: &mut Actions) {
        let m = &mut self.matching;
        m.build(
            view,
            &[],
            // A request with as many candidates as there are rows is served whatever the older
            // ones take, so the nearest that many are enough.
            |rows| Search {
                k: rows,
                per_km: |speed: f64| 1.0 / speed,
                recheck_served: None,
            },
            |_, f| f.eta_secs(),
            |_| PICKUP_LIMIT_SECS * 10.0,
        );
        if !m.problem.candidates.is_empty() {
            let order: Vec<usize> = (0..m.problem.requests).collect();
            if let Ok(solution) = assign_greedy(&m.problem, &order) {
                m.push_assignments(&solution.driver_of, actions);
            }
        }
    }
}

/// How [`Matching::build`] looks for candidates.
struct Search<F> {
    /// Enough candidates per request (0: all of them).
    k: usize,
    /// A lower bound on a candidate's cost per km of distance at a mean speed (km/s).
    per_km: F,
    /// For a policy that may leave a request with candidates waiting: scan such a request again
    /// after at most this many seconds (0: at the next decision).
    recheck_served: Option<f64>,
}

/// The candidates and the assignment problem of one decision, with the buffers the policies reuse
/// between decisions.
#[derive(Debug, Default)]
struct Matching {
    scanner: Scanner,
    scratch: ScanScratch,
    feasible: Vec<Feasible>,
    problem: AssignmentProblem,
    /// The requests of the problem's rows, oldest first.
    rows: Vec<u32>,
    /// The vehicles of the problem's columns.
    vehicles: Vec<u32>,
    column_of: Vec<u32>,
}

impl Matching {
    fn start_day(&mut self, model: &Model, requests: usize) {
        self.scanner.start_day(model, requests);
    }

    /// Builds the problem of the requests the [`Scanner`] says to look at (`carried`: vehicles
    /// that changed at decisions that built nothing), whose columns are the vehicles seen by any of
    /// them (renumbered densely), calling `cost` for each feasible pair and `unassigned` for each
    /// request; `search` says, given the number of rows, how to look for candidates. Each scan is
    /// recorded in the scanner (a request with candidates is due again at the time given by
    /// `recheck_served`, since the batch policy may leave it waiting).
    fn build<F: Fn(f64) -> f64>(
        &mut self,
        view: &DecisionView<'_>,
        carried: &[u32],
        search: impl FnOnce(usize) -> Search<F>,
        cost: impl Fn(u32, &Feasible) -> f64,
        mut unassigned: impl FnMut(u32) -> f64,
    ) {
        self.scanner.prepare(view, carried);
        std::mem::swap(&mut self.rows, &mut self.scanner.rows);
        let search = search(self.rows.len());
        let Matching {
            scanner,
            scratch,
            feasible,
            problem,
            rows,
            vehicles,
            column_of,
        } = self;
        problem.requests = rows.len();
        problem.candidates.clear();
        problem.unassigned_cost.clear();
        vehicles.clear();
        if column_of.len() != view.vehicles.len() {
            *column_of = vec![u32::MAX; view.vehicles.len()];
        }
        for (row, &request) in rows.iter().enumerate() {
            feasible.clear();
            let mut until = view.cheapest_feasible_vehicles(
                request,
                search.k,
                &search.per_km,
                |f| cost(request, f),
                scratch,
                feasible,
            );
            if let Some(secs) = search.recheck_served
                && !feasible.is_empty()
            {
                until = until.min(view.now + secs);
            }
            scanner.scanned(view, request, until);
            for f in feasible.iter() {
                let c = cost(request, f);
                let col = &mut column_of[f.vehicle as usize];
                if *col == u32::MAX {
                    *col = u32::try_from(vehicles.len()).unwrap_or(u32::MAX);
                    vehicles.push(f.vehicle);
                }
                problem.candidates.push(Candidate {
                    request: row,
                    driver: *col as usize,
                    cost: c,
                });
            }
            problem.unassigned_cost.push(unassigned(request));
        }
        problem.drivers = vehicles.len();
        for &v in vehicles.iter() {
            column_of[v as usize] = u32::MAX;
        }
    }

    /// Appends the assignments of a solution of the problem (a column per row, if any).
    fn push_assignments(&self, driver_of: &[Option<usize>], actions: &mut Actions) {
        for (row, driver) in driver_of.iter().enumerate() {
            if let Some(col) = driver {
                actions.assign.push((self.rows[row], self.vehicles[*col]));
            }
        }
    }
}

/// Tuning of the batch policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchTuning {
    /// The value of a second of a vehicle's time at full demand pressure, dollars: the opportunity
    /// cost of driving to a pickup and of carrying a passenger, which makes the matching prefer
    /// short pickups and rides that pay well for the time they take.
    pub vehicle_secs_value: f64,
    /// Demand pressure (historical requests of the current 15-minute window × a typical service
    /// time of 900 s ÷ fleet size) below which a vehicle's time is worth nothing.
    pub pressure_low: f64,
    /// Demand pressure from which a vehicle's time is worth `vehicle_secs_value` (linear between).
    pub pressure_high: f64,
    /// A request younger than this many seconds waits for a better match unless serving it now is
    /// worth at least `patience_margin` dollars.
    pub patience_secs: f64,
    /// The margin of profit over the rejection option a young request needs to be served at once.
    pub patience_margin: f64,
    /// Candidates kept per request (by cost) before solving.
    pub candidates_per_request: usize,
    /// The cost, dollars per second, of the time a request would wait for a busy vehicle to become
    /// free (chaining) — a tie-breaker between a vehicle that is free now and one that is closer but
    /// busy.
    pub wait_secs_value: f64,
    /// When decisions come at least four times as often as this (seconds), the policy matches at
    /// most once per this window and lets requests gather in between, as the live dispatcher's
    /// batching window does; below that rate it matches at every decision.
    pub window_secs: f64,
    /// A request the matching leaves waiting although it has candidates is matched again when a
    /// vehicle near it changes, when the speed window turns, and at least this often (seconds).
    pub recheck_secs: f64,
    /// Seconds between two redistributions of idle vehicles.
    pub reposition_interval_secs: f64,
    /// How far (L1 km) an idle vehicle may be sent to a lot.
    pub reposition_max_km: f64,
    /// Idle vehicles are spread over zones in proportion to forecast demand raised to this power
    /// (above 1 concentrates them where demand is densest).
    pub reposition_exponent: f64,
}

impl Default for BatchTuning {
    fn default() -> Self {
        BatchTuning {
            vehicle_secs_value: 0.03,
            pressure_low: 1.0,
            pressure_high: 2.0,
            patience_secs: 0.0,
            patience_margin: 0.0,
            candidates_per_request: 16,
            wait_secs_value: 0.02,
            recheck_secs: 10.0,
            window_secs: 1.0,
            reposition_interval_secs: 60.0,
            reposition_max_km: 20.0,
            reposition_exponent: 1.0,
        }
    }
}

/// The batch policy: at every decision, one min-cost assignment
/// ([`doorstep_dispatch::assign_min_cost`]) of all pending requests to all eligible vehicles,
/// including vehicles carrying a passenger with nothing queued (chaining), with costs that make it
/// profit-aware:
///
/// - pairing request `r` with vehicle `v` costs the empty km (`$0.53`/km), plus the vehicle time the
///   drive takes valued at θ(t) per second, plus `wait_secs_value` per second the request waits
///   for a busy vehicle to become free (idle time now is perishable, a busy vehicle's future time is
///   not: without this term chaining crowds out idle vehicles and the policy loses to greedy);
/// - leaving `r` unassigned costs its net value: revenue − trip km cost − the vehicle time of its
///   ride at mean speed valued at θ(t), less a patience allowance while it is young.
///
/// θ(t) is the value of a vehicle-second: zero when the historical demand of the current window is
/// low for the fleet (pressure ≤ `pressure_low`), `vehicle_secs_value` at high pressure. So at the
/// peaks a request is served only if it earns more than the time it takes is worth, and at every
/// decision the matching minimises wasted driving. With `batch+reposition`, idle vehicles are also
/// sent to lots by a historical demand forecast (`Repositioner`), solved as a second assignment.
#[derive(Debug)]
pub struct Batch {
    tuning: BatchTuning,
    reposition: Option<Repositioner>,
    matching: Matching,
    /// Per simulated 15-minute window, the demand pressure from the historical table.
    pressure: Vec<f64>,
    /// When the last decision and the last matching were, the mean time between decisions, and
    /// the vehicles that changed at decisions without a matching since.
    last_decision: f64,
    last_solve: f64,
    mean_gap: f64,
    carried: Vec<u32>,
}

impl Batch {
    /// The batch policy without repositioning.
    pub fn new(tuning: BatchTuning) -> Batch {
        Batch {
            tuning,
            reposition: None,
            matching: Matching::default(),
            pressure: Vec::new(),
            last_decision: 0.0,
            last_solve: f64::NEG_INFINITY,
            mean_gap: f64::INFINITY,
            carried: Vec::new(),
        }
    }

    /// The value of a second of vehicle time at `now`.
    fn secs_value(&self, now: f64) -> f64 {
        secs_value(&self.tuning, &self.pressure, now)
    }

    /// The batch policy with repositioning of idle vehicles.
    pub fn with_reposition(tuning: BatchTuning) -> Batch {
        Batch {
            reposition: Some(Repositioner {
                max_km: tuning.reposition_max_km,
                interval: tuning.reposition_interval_secs,
                exponent: tuning.reposition_exponent,
                ..Repositioner::default()
            }),
            ..Batch::new(tuning)
        }
    }
}

impl Policy for Batch {
    fn name(&self) -> &'static str {
        if self.reposition.is_some() {
            "batch+reposition"
        } else {
            "batch"
        }
    }

    fn start_day(&mut self, model: &Model, day: &Day) {
        self.pressure = demand_pressure(model, day);
        if let Some(r) = &mut self.reposition {
            r.start_day(model, day);
        }
        self.matching.start_day(model, day.requests.len());
        self.last_decision = 0.0;
        self.last_solve = f64::NEG_INFINITY;
        self.mean_gap = f64::INFINITY;
        self.carried.clear();
    }

    fn decide(&mut self, view: &DecisionView<'_>, actions: &mut Actions) {
        let t = self.tuning;
        let now = view.now;
        // The batching window: when decisions come much faster than the window, requests gather
        // for up to a window before a matching (the changed vehicles are kept for it).
        let gap = now - self.last_decision;
        self.last_decision = now;
        self.mean_gap = if self.mean_gap.is_finite() {
            0.95 * self.mean_gap + 0.05 * gap
        } else {
            gap
        };
        if now - self.last_solve < t.window_secs && self.mean_gap * 4.0 < t.window_secs {
            self.carried.extend_from_slice(view.changed);
            if let Some(r) = &mut self.reposition {
                r.decide(view, &[], actions);
            }
            return;
        }
        self.last_solve = now;
        let theta = self.secs_value(now);
        let model = view.model;
        let m = &mut self.matching;
        m.build(
            view,
            &self.carried,
            // Only the cheapest `candidates_per_request` survive the pruning below.
            |_| Search {
                k: t.candidates_per_request,
                per_km: |speed: f64| COST_PER_KM + theta / speed,
                recheck_served: Some(t.recheck_secs),
            },
            |_, f| {
                COST_PER_KM * f.drive_km + theta * f.drive_secs + t.wait_secs_value * f.wait_secs
            },
            |request| {
                let r = &view.requests[request as usize];
                let ride_mean = model.mean_secs(r.trip_km, r.origin_zone, r.dest_zone, now);
                let mut value = r.revenue - COST_PER_KM * r.trip_km - theta * ride_mean;
                if now - r.release < t.patience_secs {
                    value -= t.patience_margin;
                }
                value.max(0.0)
            },
        );
        self.carried.clear();
        let mut assigned_vehicles = Vec::new();
        if !m.problem.candidates.is_empty() {
            prune_candidates(&mut m.problem, t.candidates_per_request);
            if let Ok(solution) = assign_min_cost(&m.problem) {
                m.push_assignments(&solution.driver_of, actions);
                assigned_vehicles
                    .extend(solution.driver_of.iter().flatten().map(|&c| m.vehicles[c]));
            }
        }
        if let Some(r) = &mut self.reposition {
            r.decide(view, &assigned_vehicles, actions);
        }
    }
}

/// Per simulated 15-minute window, the demand pressure of the day from the historical table:
/// expected requests in the window × a typical service time of 900 s ÷ fleet size.
pub(crate) fn demand_pressure(model: &Model, day: &Day) -> Vec<f64> {
    let demand = model.city.demand();
    let total: f64 = (0..5u8).map(|d| demand.weekday_total(d) as f64).sum();
    let fleet = day.class.vehicles().max(1) as f64;
    (0..96usize)
        .map(|sim_window| {
            let w =
                u8::try_from((sim_window + usize::from(crate::instance::DEMAND_WINDOW_SHIFT)) % 96)
                    .unwrap_or(0);
            let trips: f64 = (0..5u8)
                .map(|d| f64::from(demand.trips_in_window(d, w)))
                .sum();
            let per_sec = trips / total.max(1.0) * day.requests.len() as f64 / 900.0;
            per_sec * 900.0 / fleet
        })
        .collect()
}

/// θ(t): the value of a second of vehicle time at `now` (see [`Batch`]), from the tuning and the
/// day's [`demand_pressure`].
pub(crate) fn secs_value(t: &BatchTuning, pressure: &[f64], now: f64) -> f64 {
    if t.pressure_high <= t.pressure_low {
        return t.vehicle_secs_value;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "simulated time is within the day"
    )]
    let w = ((now.max(0.0) / 900.0) as usize).min(95);
    let p = pressure.get(w).copied().unwrap_or(0.0);
    t.vehicle_secs_value
        * ((p - t.pressure_low) / (t.pressure_high - t.pressure_low)).clamp(0.0, 1.0)
}

/// Per simulated 15-minute window × zone, the historical table's pickups summed over the five
/// weekdays, times `scale`.
pub(crate) fn pickups_by_window(model: &Model, scale: f64) -> Vec<f64> {
    let demand = model.city.demand();
    let zones = model.city.zones().len();
    let mut forecast = vec![0.0; 96 * zones];
    for dow in 0..5u8 {
        for w in 0..96u8 {
            let sim_window =
                (usize::from(w) + 96 - usize::from(crate::instance::DEMAND_WINDOW_SHIFT)) % 96;
            for row in demand.rows(dow, w) {
                forecast[sim_window * zones + row.pickup.index()] += f64::from(row.trips) * scale;
            }
        }
    }
    forecast
}

/// Per zone, the lot (index into [`Model::lots`]) of that zone nearest its centroid, if any.
pub(crate) fn zone_lots(model: &Model) -> Vec<Option<u32>> {
    (0..model.city.zones().len())
        .map(|z| {
            let c = model.centroids[z];
            model
                .lots
                .iter()
                .enumerate()
                .filter(|(_, l)| l.zone.index() == z)
                .min_by(|a, b| a.1.pos.l1(c).total_cmp(&b.1.pos.l1(c)))
                .and_then(|(i, _)| u32::try_from(i).ok())
        })
        .collect()
}

/// Sends idle vehicles towards the zones where the historical table expects pickups soon.
///
/// The forecast is the mean over the five weekdays of the table's pickups per zone in the coming
/// 15-minute windows, scaled to the day's number of requests. It never looks at the day's own
/// requests beyond those already pending. Every minute the whole fleet is wanted spread over the
/// zones in proportion to the forecast; vehicles that will be free within 300 s count in the zone
/// where they will be free, and the zones' remaining deficits become "slots" for the idle vehicles.
/// A min-cost assignment ([`doorstep_dispatch::assign_min_cost`]) of slots to idle vehicles by km
/// to the zone's lot (0 for a vehicle already in the zone) decides who moves. A vehicle driving to
/// a lot can be given a request on the way (the simulator diverts it from where it is).
#[derive(Debug, Default)]
pub struct Repositioner {
    /// Per simulated 15-minute window × zone, expected pickups (all weekdays averaged).
    forecast: Vec<f64>,
    /// Per zone, the lot nearest its centroid, if any lot is near.
    zone_lot: Vec<Option<u32>>,
    /// Per zone, the zones whose centroid is near its lot (where vehicles sent to it may come from).
    near_zones: Vec<Vec<usize>>,
    zones: usize,
    last: f64,
    max_km: f64,
    exponent: f64,
    interval: f64,
}

impl Repositioner {
    fn start_day(&mut self, model: &Model, day: &Day) {
        let city = model.city;
        let demand = city.demand();
        let zones = city.zones().len();
        self.zones = zones;
        self.last = f64::NEG_INFINITY;
        let total: f64 = (0..5u8).map(|d| demand.weekday_total(d) as f64).sum();
        let scale = day.requests.len() as f64 * 5.0 / total.max(1.0) / 5.0;
        self.forecast = pickups_by_window(model, scale);
        self.zone_lot = zone_lots(model);
        self.near_zones = (0..zones)
            .map(|z| match self.zone_lot[z] {
                Some(lot) => {
                    let p = model.lots[lot as usize].pos;
                    let mut near: Vec<usize> = (0..zones)
                        .filter(|&y| model.centroids[y].l1(p) < self.max_km + 1.5)
                        .collect();
                    near.sort_by(|&a, &b| {
                        model.centroids[a]
                            .l1(p)
                            .total_cmp(&model.centroids[b].l1(p))
                            .then(a.cmp(&b))
                    });
                    near
                }
                None => Vec::new(),
            })
            .collect();
    }

    fn decide(&mut self, view: &DecisionView<'_>, assigned: &[u32], actions: &mut Actions) {
        if view.now - self.last < self.interval {
            return;
        }
        self.last = view.now;
        let idle: Vec<u32> = view
            .vehicles
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_idle())
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .filter(|v| !assigned.contains(v))
            .collect();
        if idle.is_empty() {
            return;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "simulated time is within the day"
        )]
        let window = ((view.now / 900.0) as usize).min(95);
        let next = (window + 1) % 96;
        let zones = self.zones;
        let weight: Vec<f64> = (0..zones)
            .map(|z| {
                if self.zone_lot[z].is_none() {
                    0.0
                } else {
                    (self.forecast[window * zones + z] + self.forecast[next * zones + z])
                        .powf(self.exponent)
                }
            })
            .collect();
        let total: f64 = weight.iter().sum();
        if total <= 0.0 {
            return;
        }
        // Slots: the whole fleet is wanted spread over zones in proportion to the forecast; vehicles
        // that are busy but free within 300 s count where they will be free, and the idle ones fill
        // the largest remaining deficits.
        let fleet = view.vehicles.len() as f64;
        let mut deficit: Vec<f64> = weight.iter().map(|&w| fleet * w / total).collect();
        for v in view.vehicles {
            if !v.is_idle() && v.free_at <= view.now + crate::instance::PICKUP_LIMIT_SECS {
                deficit[v.free_zone.index()] -= 1.0;
            }
        }
        let mut slots: Vec<ZoneIdx> = Vec::new();
        let mut remainders: Vec<(f64, usize)> = Vec::new();
        for (z, &d) in deficit.iter().enumerate() {
            if d <= 0.0 {
                continue;
            }
            let whole = d.floor();
            for _ in 0..(whole as usize) {
                slots.push(ZoneIdx(u8::try_from(z).unwrap_or(0)));
            }
            remainders.push((d - whole, z));
        }
        if slots.len() > idle.len() * 2 {
            // Keep the zones with the largest deficits only.
            let mut per_zone: Vec<(f64, usize)> = deficit
                .iter()
                .enumerate()
                .filter(|(_, d)| **d > 0.0)
                .map(|(z, &d)| (d, z))
                .collect();
            per_zone.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            slots.clear();
            let mut left = idle.len() * 2;
            for &(d, z) in &per_zone {
                let k = (d.ceil() as usize).min(left);
                for _ in 0..k {
                    slots.push(ZoneIdx(u8::try_from(z).unwrap_or(0)));
                }
                left -= k;
                if left == 0 {
                    break;
                }
            }
        } else {
            remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, z) in remainders
                .iter()
                .take((idle.len() * 2).saturating_sub(slots.len()))
            {
                slots.push(ZoneIdx(u8::try_from(z).unwrap_or(0)));
            }
        }
        let mut problem = AssignmentProblem {
            requests: slots.len(),
            drivers: idle.len(),
            candidates: Vec::new(),
            unassigned_cost: vec![self.max_km; slots.len()],
        };
        let lot_pos = |z: ZoneIdx| -> Option<(u32, GridPoint)> {
            let lot = self.zone_lot[z.index()]?;
            Some((lot, view.model.lots[lot as usize].pos))
        };
        let mut slots_in_zone = vec![0usize; zones];
        for z in &slots {
            slots_in_zone[z.index()] += 1;
        }
        let mut idle_in_zone: Vec<Vec<usize>> = vec![Vec::new(); zones];
        for (col, &v) in idle.iter().enumerate() {
            idle_in_zone[view.vehicles[v as usize].free_zone.index()].push(col);
        }
        // Per zone, the idle vehicles of the nearest zones with their km to the zone's lot, enough
        // for every slot of the zone. A zone's slots are alike: with up to 8 slots each gets the
        // whole list; with more (large fleets), the k-th slot gets 24 of them from the k-th on,
        // which keeps the problem linear in the slots instead of quadratic.
        let mut lists: Vec<Option<Vec<(usize, f64)>>> = vec![None; zones];
        let mut slot_rank = vec![0usize; zones];
        for (row, &z) in slots.iter().enumerate() {
            let Some((_, target)) = lot_pos(z) else {
                continue;
            };
            let in_zone = slots_in_zone[z.index()];
            let list = lists[z.index()].get_or_insert_with(|| {
                let wanted = 2 * in_zone + 8;
                let mut list = Vec::new();
                for &y in &self.near_zones[z.index()] {
                    if list.len() >= wanted {
                        break;
                    }
                    for &col in &idle_in_zone[y] {
                        let vehicle = &view.vehicles[idle[col] as usize];
                        let km = if vehicle.free_zone == z {
                            0.0
                        } else {
                            vehicle.free_pos.l1(target)
                        };
                        if km < self.max_km {
                            list.push((col, km));
                        }
                    }
                }
                list
            });
            let rank = slot_rank[z.index()];
            slot_rank[z.index()] += 1;
            let window = if in_zone <= 8 {
                &list[..]
            } else {
                let start = rank.min(list.len().saturating_sub(24));
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
            let v = idle[col];
            let vehicle = &view.vehicles[v as usize];
            let z = slots[row];
            if vehicle.free_zone == z {
                continue;
            }
            if let Some((lot, target)) = lot_pos(z)
                && vehicle.free_pos.l1(target) > 0.3
            {
                actions.reposition.push((v, lot));
            }
        }
    }
}
