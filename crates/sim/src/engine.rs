//! The discrete-event simulation of one day: vehicles, their committed legs, the decision epochs,
//! the enforcement of the rules and the accounting of revenue and cost.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use doorstep_geo::ZoneIdx;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::Serialize;

use crate::grid::VehicleIndex;
use crate::instance::{COST_PER_KM, DAY_SECS, Day, GridPoint, Model, PICKUP_LIMIT_SECS, Request};

/// Decisions happen at least this often (seconds).
pub const DECISION_INTERVAL_SECS: f64 = 60.0;

/// What a leg of a vehicle's plan is for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LegKind {
    /// Driving empty to the pickup of a request.
    ToPickup(u32),
    /// Carrying the passenger of a request.
    Ride(u32),
    /// Driving empty to a lot; the vehicle may be diverted to a pickup on the way.
    Reposition {
        /// The lot (index into [`Model::lots`]).
        lot: u32,
        /// Where the drive started.
        from: GridPoint,
        /// When it started.
        start: f64,
        /// Its L1 length, km.
        km: f64,
    },
}

/// One leg of a vehicle's plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    /// When the leg ends (simulated seconds).
    pub end: f64,
    /// What it is.
    pub kind: LegKind,
    /// The sequence number of the event that ends it (an interrupted leg's event is ignored).
    pub event: u64,
}

/// A vehicle as the policies see it.
#[derive(Debug, Clone)]
pub struct Vehicle {
    /// The committed legs still to finish, current first: empty when idle, at most a current ride
    /// or reposition plus one queued job (`ToPickup`, `Ride`).
    pub legs: Vec<Leg>,
    /// Where the vehicle is once its legs are done (its position when idle).
    pub free_pos: GridPoint,
    /// The zone of `free_pos` for the travel-time model.
    pub free_zone: ZoneIdx,
    /// When its legs are done (for an idle vehicle, when it became idle).
    pub free_at: f64,
}

impl Vehicle {
    /// Whether the vehicle may be given a request: it is idle, or carrying a passenger (or driving to
    /// a lot) with nothing queued. A vehicle driving to a pickup takes nothing more.
    pub fn is_eligible(&self) -> bool {
        match self.legs.as_slice() {
            [] => true,
            [only] => !matches!(only.kind, LegKind::ToPickup(_)),
            _ => false,
        }
    }

    /// Whether the vehicle has nothing to do.
    pub fn is_idle(&self) -> bool {
        self.legs.is_empty()
    }
}

/// A feasible pairing of a pending request with an eligible vehicle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feasible {
    /// The vehicle.
    pub vehicle: u32,
    /// Seconds until the vehicle is free (0 for an idle vehicle).
    pub wait_secs: f64,
    /// Mean seconds of the drive from where the vehicle becomes free to the pickup.
    pub drive_secs: f64,
    /// L1 km of that drive.
    pub drive_km: f64,
}

impl Feasible {
    /// The expected pickup time counted from the decision: what the 300 s rule limits.
    pub fn eta_secs(&self) -> f64 {
        self.wait_secs + self.drive_secs
    }
}

/// What a policy sees at a decision.
#[derive(Debug)]
pub struct DecisionView<'a> {
    /// The simulated second of the decision.
    pub now: f64,
    /// The model of the city.
    pub model: &'a Model,
    /// The number of vehicles and requests of the day's class.
    pub fleet_size: usize,
    /// Requests released and neither assigned nor lost, oldest first (ids into `requests`).
    pub pending: &'a [u32],
    /// All of the day's requests; policies may read only those in `pending` (and, for the offline
    /// bound, all of them). `ride_secs` is hidden information.
    pub requests: &'a [Request],
    /// The fleet.
    pub vehicles: &'a [Vehicle],
    /// The day's number of requests (known to a pyhailing agent through its configuration).
    pub day_requests: usize,
    /// Vehicles that became eligible (or moved within the eligible set) since the previous
    /// decision, for policies that keep candidate lists between decisions.
    pub changed: &'a [u32],
    grid: &'a VehicleIndex,
}

impl<'a> DecisionView<'a> {
    /// A view of a state the simulator did not produce: the `doorstep policy --stdio` adapter
    /// rebuilds one from each observation of an outside simulator. `grid` must hold exactly the
    /// eligible vehicles (vehicles driving to a lot with `insert_moving`), as the simulator's does.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per field of the view, named at the one call site"
    )]
    pub(crate) fn from_parts(
        now: f64,
        model: &'a Model,
        fleet_size: usize,
        pending: &'a [u32],
        requests: &'a [Request],
        vehicles: &'a [Vehicle],
        day_requests: usize,
        changed: &'a [u32],
        grid: &'a VehicleIndex,
    ) -> DecisionView<'a> {
        DecisionView {
            now,
            model,
            fleet_size,
            pending,
            requests,
            vehicles,
            day_requests,
            changed,
            grid,
        }
    }
}

impl DecisionView<'_> {
    /// Appends to `out` every eligible vehicle that can reach request `request`'s pickup within
    /// 300 s of now (time until free + mean drive time), visiting only nearby grid cells.
    pub fn feasible_vehicles(&self, request: u32, out: &mut Vec<Feasible>) {
        let r = &self.requests[request as usize];
        let (speeds, max_speed) = (
            self.model.reach_speeds(r.origin_zone, self.now),
            self.model.reach_speed_any(r.origin_zone, self.now),
        );
        self.grid
            .for_each_near(r.origin, PICKUP_LIMIT_SECS, speeds, max_speed, |v| {
                let vehicle = &self.vehicles[v as usize];
                if let Some(f) = feasibility(self.model, self.now, v, vehicle, r) {
                    out.push(f);
                }
            });
    }

    /// Where vehicle `v` (changed since the previous decision) may serve requests from: the point
    /// it starts a drive to a pickup from, the zone of its travel times there (`None` for a vehicle
    /// driving to a lot, whose zone changes on the way), and how far beyond that point it may still
    /// get (the rest of its drive to the lot, km). A request out of the 300 s reach of every point
    /// that far from it cannot be served by `v` before `v` changes again.
    pub fn wake_area(&self, v: u32) -> (GridPoint, Option<ZoneIdx>, f64) {
        let vehicle = &self.vehicles[v as usize];
        match reposition_progress(vehicle, self.now) {
            Some((pos, _)) => (pos, None, pos.l1(vehicle.free_pos)),
            None => (vehicle.free_pos, Some(vehicle.free_zone), 0.0),
        }
    }

    /// Appends to `out` the eligible vehicles that can reach request `request`'s pickup within
    /// 300 s of now, cheapest first by zone, and returns the earliest time at which one of the
    /// vehicles it looked at, infeasible now, becomes feasible as its wait shrinks (infinity if
    /// none). Until then, and unless a vehicle changes (see [`DecisionView::changed`]) or the
    /// 15-minute speed window does, the request's candidates stay the same.
    ///
    /// It may stop once it holds `k` feasible vehicles (`k > 0`) that all cost less (by `cost`)
    /// than any vehicle it has not looked at can: it visits the zones by a lower bound on their
    /// vehicles' cost, `d × per_km(s)` for a zone whose box is `d` km from the pickup and whose mean
    /// speed to it is at most `s` km/s. It then returns `now`.
    pub fn cheapest_feasible_vehicles(
        &self,
        request: u32,
        k: usize,
        per_km: impl Fn(f64) -> f64,
        cost: impl Fn(&Feasible) -> f64,
        scratch: &mut ScanScratch,
        out: &mut Vec<Feasible>,
    ) -> f64 {
        let r = &self.requests[request as usize];
        let (speeds, max_speed) = (
            self.model.reach_speeds(r.origin_zone, self.now),
            self.model.reach_speed_any(r.origin_zone, self.now),
        );
        let ScanScratch { zones, best } = scratch;
        best.clear();
        let mut until = f64::INFINITY;
        let visit =
            |v: u32, best: &mut BinaryHeap<Cost>, until: &mut f64, out: &mut Vec<Feasible>| {
                let (f, from) = self.check(v, r);
                if let Some(f) = f {
                    if k > 0 {
                        best.push(Cost(cost(&f)));
                        if best.len() > k {
                            best.pop();
                        }
                    }
                    out.push(f);
                }
                *until = until.min(from);
            };
        self.grid
            .for_each_moving_near(r.origin, PICKUP_LIMIT_SECS * max_speed, |v| {
                visit(v, best, &mut until, out);
            });
        zones.clear();
        self.grid
            .still_zones_near(r.origin, PICKUP_LIMIT_SECS, speeds, max_speed, zones);
        let speed_of = |z: u32| speeds.get(z as usize).copied().unwrap_or(max_speed);
        for entry in zones.iter_mut() {
            entry.0 *= per_km(speed_of(entry.1));
        }
        zones.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(bound, z) in zones.iter() {
            if k > 0 && best.len() >= k && best.peek().is_some_and(|c| bound > c.0) {
                return self.now;
            }
            let speed = speed_of(z);
            let reach = PICKUP_LIMIT_SECS * speed;
            let (now, model) = (self.now, self.model);
            let zone_idx = ZoneIdx(u8::try_from(z).unwrap_or(u8::MAX));
            self.grid
                .for_each_still_in_zone(z as usize, r.origin, reach, |v, km, free_at| {
                    // A vehicle busy for longer than the drive leaves it is not feasible yet (its
                    // expected pickup is at least its wait + km at the reach speed, which bounds
                    // drives starting within 600 s); it becomes feasible when its wait + mean
                    // drive from where it is free, then, is 300 s — what `check` says, without it.
                    let wait = free_at - now;
                    if wait + km / speed > PICKUP_LIMIT_SECS {
                        let drive = model.mean_secs(km, zone_idx, r.origin_zone, free_at);
                        until = until.min(free_at + drive - PICKUP_LIMIT_SECS);
                        return;
                    }
                    visit(v, best, &mut until, out);
                });
        }
        until
    }

    /// Whether vehicle `v` is feasible for request `request` now, and from when it becomes feasible
    /// if it is not (as in [`DecisionView::cheapest_feasible_vehicles`]).
    pub fn check_vehicle(&self, request: u32, v: u32) -> (Option<Feasible>, f64) {
        self.check(v, &self.requests[request as usize])
    }

    fn check(&self, v: u32, r: &Request) -> (Option<Feasible>, f64) {
        let vehicle = &self.vehicles[v as usize];
        let moving = reposition_progress(vehicle, self.now);
        // A vehicle driving to a lot that is out of reach at the fastest speed into the pickup's
        // zone is infeasible without the zone lookup of where it is.
        let out_of_reach = moving.is_some_and(|(pos, _)| {
            pos.l1(r.origin)
                > PICKUP_LIMIT_SECS * self.model.reach_speed_any(r.origin_zone, self.now)
        });
        if !out_of_reach && let Some(f) = feasibility(self.model, self.now, v, vehicle, r) {
            return (Some(f), f64::INFINITY);
        }
        if let Some((pos, _)) = moving {
            // Driving to a lot: it cannot come within the 300 s reach sooner than its speed along
            // the drive allows, and it changes (is indexed again) when it arrives.
            let [leg] = vehicle.legs.as_slice() else {
                return (None, self.now);
            };
            let LegKind::Reposition { start, km, .. } = leg.kind else {
                return (None, self.now);
            };
            let speed = if leg.end > start {
                km / (leg.end - start)
            } else {
                0.0
            };
            let reach = PICKUP_LIMIT_SECS * self.model.reach_speed_any(r.origin_zone, self.now);
            let beyond = pos.l1(r.origin) - reach;
            if beyond <= 0.0 || speed <= 0.0 {
                return (None, self.now);
            }
            return (None, (self.now + beyond / speed).min(leg.end));
        }
        if vehicle.free_at <= self.now {
            return (None, f64::INFINITY);
        }
        let km = vehicle.free_pos.l1(r.origin);
        let drive = self
            .model
            .mean_secs(km, vehicle.free_zone, r.origin_zone, vehicle.free_at);
        (None, vehicle.free_at + drive - PICKUP_LIMIT_SECS)
    }
}

/// A cost ordered by `total_cmp`, for the heap of [`ScanScratch`].
#[derive(Debug, Clone, Copy)]
struct Cost(f64);

impl PartialEq for Cost {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}

impl Eq for Cost {}

impl PartialOrd for Cost {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cost {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Reusable buffers of [`DecisionView::cheapest_feasible_vehicles`].
#[derive(Debug, Default)]
pub struct ScanScratch {
    zones: Vec<(f64, u32)>,
    best: BinaryHeap<Cost>,
}

/// Where a vehicle driving to a lot is at `now` (straight-line progress along its drive) and the
/// fraction of the drive done, if its only leg is a reposition.
fn reposition_progress(vehicle: &Vehicle, now: f64) -> Option<(GridPoint, f64)> {
    let [leg] = vehicle.legs.as_slice() else {
        return None;
    };
    let LegKind::Reposition { from, start, .. } = leg.kind else {
        return None;
    };
    let secs = leg.end - start;
    let f = if secs > 0.0 {
        ((now - start) / secs).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let to = vehicle.free_pos;
    Some((
        GridPoint {
            x: from.x + f * (to.x - from.x),
            y: from.y + f * (to.y - from.y),
        },
        f,
    ))
}

/// Where and when vehicle `vehicle` can start a drive to a new pickup decided at `now`: where its
/// legs end (or, driving to a lot, where it is now), in which zone, and when.
fn start_point(model: &Model, now: f64, vehicle: &Vehicle) -> (GridPoint, ZoneIdx, f64) {
    match reposition_progress(vehicle, now) {
        Some((pos, _)) => (pos, model.zone_of(pos), now),
        None => (
            vehicle.free_pos,
            vehicle.free_zone,
            vehicle.free_at.max(now),
        ),
    }
}

/// The feasibility of giving request `r` to vehicle `v` at `now`, if it is feasible.
fn feasibility(
    model: &Model,
    now: f64,
    v: u32,
    vehicle: &Vehicle,
    r: &Request,
) -> Option<Feasible> {
    if let Some((pos, _)) = reposition_progress(vehicle, now) {
        // Skip the zone lookup of a moving vehicle that is out of reach at any speed.
        if pos.l1(r.origin) > PICKUP_LIMIT_SECS * model.max_mean_speed() {
            return None;
        }
    }
    let (pos, zone, start) = start_point(model, now, vehicle);
    let wait_secs = start - now;
    if wait_secs > PICKUP_LIMIT_SECS {
        return None;
    }
    let drive_km = pos.l1(r.origin);
    let drive_secs = model.mean_secs(drive_km, zone, r.origin_zone, start);
    (wait_secs + drive_secs <= PICKUP_LIMIT_SECS).then_some(Feasible {
        vehicle: v,
        wait_secs,
        drive_secs,
        drive_km,
    })
}

/// What a policy decides.
#[derive(Debug, Default, Clone)]
pub struct Actions {
    /// `(request, vehicle)` assignments, applied in order; infeasible ones are refused.
    pub assign: Vec<(u32, u32)>,
    /// `(vehicle, lot)` moves of idle vehicles to lots (indices into [`Model::lots`]).
    pub reposition: Vec<(u32, u32)>,
}

impl Actions {
    fn clear(&mut self) {
        self.assign.clear();
        self.reposition.clear();
    }
}

/// A dispatch policy: called at every decision epoch.
pub trait Policy {
    /// The policy's name in reports.
    fn name(&self) -> &'static str;

    /// Called once before the day starts.
    fn start_day(&mut self, _model: &Model, _day: &Day) {}

    /// Decides at one epoch: fills `actions` (which arrives empty).
    fn decide(&mut self, view: &DecisionView<'_>, actions: &mut Actions);
}

/// Measures the computing time of decisions. The simulation itself reads no clock; the benchmark
/// runner passes a wall clock, tests pass [`NoStopwatch`].
pub trait Stopwatch {
    /// A monotonic reading in nanoseconds.
    fn now_ns(&mut self) -> u64;
}

/// A stopwatch that always reads zero, for pure runs.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStopwatch;

impl Stopwatch for NoStopwatch {
    fn now_ns(&mut self) -> u64 {
        0
    }
}

/// Why an action was refused (counted in [`Outcome::refused`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Refusals {
    /// The request was not pending (unknown, not yet released, already assigned or lost).
    pub not_pending: u64,
    /// The vehicle may take nothing more (driving to a pickup, or already holding a queued job).
    pub vehicle_not_eligible: u64,
    /// The vehicle cannot reach the pickup within 300 s of the decision.
    pub too_far: u64,
    /// A reposition of a vehicle that is not idle, or to an unknown lot.
    pub bad_reposition: u64,
}

/// One served request, for tests and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Service {
    /// The request.
    pub request: u32,
    /// The vehicle.
    pub vehicle: u32,
    /// When it was assigned.
    pub assigned_at: f64,
    /// The expected pickup time (seconds after the assignment) the feasibility check saw.
    pub eta_secs: f64,
    /// When the passenger was picked up.
    pub pickup_at: f64,
    /// Whether the job was queued behind another leg.
    pub queued: bool,
}

/// The deterministic outcome of a simulated day: the same day and policy always give the same value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Number of requests of the day.
    pub requests: usize,
    /// Requests served.
    pub served: usize,
    /// Requests lost (not assigned within 300 s of release).
    pub lost: usize,
    /// Revenue credited, dollars.
    pub revenue: f64,
    /// Driving cost charged up to the end of the day, dollars.
    pub cost: f64,
    /// `revenue − cost`.
    pub profit: f64,
    /// The revenue of all requests.
    pub request_value: f64,
    /// Km driven with a passenger (charged part).
    pub loaded_km: f64,
    /// Km driven empty, to pickups and to lots (charged part).
    pub empty_km: f64,
    /// Mean seconds from release to pickup over served requests.
    pub mean_wait_s: f64,
    /// 95th percentile of those seconds.
    pub p95_wait_s: f64,
    /// Number of decision epochs.
    pub decisions: u64,
    /// Actions refused by the rules.
    pub refused: Refusals,
    /// Every served request.
    #[serde(skip)]
    pub services: Vec<Service>,
}

/// The outcome plus the measured decision times.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The deterministic outcome.
    pub outcome: Outcome,
    /// Nanoseconds of each decision as measured by the stopwatch (all zero with [`NoStopwatch`]).
    pub decision_ns: Vec<u64>,
}

/// A vehicle's leg end, ordered by time then by a sequence number (FIFO among equal times).
type Event = Reverse<(u64, u64, u32)>;

/// The state of a running day.
struct World<'a> {
    model: &'a Model,
    day: &'a Day,
    vehicles: Vec<Vehicle>,
    grid: VehicleIndex,
    events: BinaryHeap<Event>,
    seq: u64,
    rng: Pcg64,
    /// Per request: 0 = not yet pending or pending, 1 = served, 2 = lost.
    status: Vec<u8>,
    pending: Vec<u32>,
    /// Vehicles put into the index since the last decision.
    touched: Vec<u32>,
    outcome: Outcome,
    waits: Vec<f64>,
}

/// The part of `km` driven over `secs` from `start` that falls before the end of the day.
fn charged_km(km: f64, start: f64, secs: f64) -> f64 {
    if start >= DAY_SECS {
        0.0
    } else if start + secs <= DAY_SECS || secs <= 0.0 {
        km
    } else {
        km * (DAY_SECS - start) / secs
    }
}

impl World<'_> {
    /// Schedules the end of a leg; returns the event's sequence number for the leg.
    fn push_event(&mut self, end: f64, vehicle: u32) -> u64 {
        self.seq += 1;
        self.events
            .push(Reverse((end.max(0.0).to_bits(), self.seq, vehicle)));
        self.seq
    }

    /// Charges the driven part of a drive to a lot that ends (`f = 1`) or is interrupted after
    /// fraction `f`.
    fn charge_reposition(&mut self, leg: Leg, f: f64) {
        if let LegKind::Reposition { start, km, .. } = leg.kind {
            let secs = (leg.end - start) * f;
            let charged = charged_km(km * f, start, secs);
            self.outcome.empty_km += charged;
            self.outcome.cost += COST_PER_KM * charged;
        }
    }

    /// Puts the vehicle in the grid if it is eligible, takes it out otherwise.
    fn refresh(&mut self, v: u32) {
        let vehicle = &self.vehicles[v as usize];
        if vehicle.is_eligible() {
            self.touched.push(v);
            // A drive to a lot is indexed by where it starts (its progress at time 0) and ends.
            if let Some((from, _)) = reposition_progress(vehicle, 0.0) {
                self.grid.insert_moving(v, from, vehicle.free_pos);
            } else {
                self.grid.insert(
                    v,
                    vehicle.free_zone.index(),
                    vehicle.free_pos,
                    vehicle.free_at,
                );
            }
        } else {
            self.grid.remove(v);
        }
    }

    /// Ends the current leg of vehicle `v`. Returns whether it was a ride that left the vehicle
    /// with nothing to do (a decision epoch).
    fn finish_leg(&mut self, v: u32, event: u64) -> bool {
        let vehicle = &mut self.vehicles[v as usize];
        if vehicle.legs.first().is_none_or(|leg| leg.event != event) {
            return false; // the event of an interrupted leg
        }
        let leg = vehicle.legs.remove(0);
        let trigger = vehicle.legs.is_empty() && matches!(leg.kind, LegKind::Ride(_));
        self.charge_reposition(leg, 1.0);
        self.refresh(v);
        trigger
    }

    fn assign(&mut self, now: f64, request: u32, v: u32) {
        let Some(r) = self.day.requests.get(request as usize).copied() else {
            self.outcome.refused.not_pending += 1;
            return;
        };
        if self.status[request as usize] != 0 || r.release > now {
            self.outcome.refused.not_pending += 1;
            return;
        }
        if now - r.release > PICKUP_LIMIT_SECS {
            self.outcome.refused.not_pending += 1;
            return;
        }
        let Some(vehicle) = self.vehicles.get(v as usize) else {
            self.outcome.refused.vehicle_not_eligible += 1;
            return;
        };
        if !vehicle.is_eligible() {
            self.outcome.refused.vehicle_not_eligible += 1;
            return;
        }
        let Some(f) = feasibility(self.model, now, v, vehicle, &r) else {
            self.outcome.refused.too_far += 1;
            return;
        };
        if let Some((pos, done)) = reposition_progress(vehicle, now) {
            // Diverted on the way to a lot: it stops there and is charged for what it drove.
            let zone = self.model.zone_of(pos);
            let vehicle = &mut self.vehicles[v as usize];
            let leg = vehicle.legs.remove(0);
            vehicle.free_pos = pos;
            vehicle.free_zone = zone;
            vehicle.free_at = now;
            self.charge_reposition(leg, done);
        }
        let vehicle = &self.vehicles[v as usize];
        let start = vehicle.free_at.max(now);
        let queued = !vehicle.legs.is_empty();
        let (from_zone, drive_km) = (vehicle.free_zone, f.drive_km);
        let drive =
            self.model
                .sample_secs(drive_km, from_zone, r.origin_zone, start, &mut self.rng);
        let pickup = start + drive;
        let drop = pickup + r.ride_secs;
        let empty = charged_km(drive_km, start, drive);
        let loaded = charged_km(r.trip_km, pickup, r.ride_secs);
        let pickup_event = self.push_event(pickup, v);
        let drop_event = self.push_event(drop, v);
        let vehicle = &mut self.vehicles[v as usize];
        vehicle.legs.push(Leg {
            end: pickup,
            kind: LegKind::ToPickup(request),
            event: pickup_event,
        });
        vehicle.legs.push(Leg {
            end: drop,
            kind: LegKind::Ride(request),
            event: drop_event,
        });
        vehicle.free_pos = r.dest;
        vehicle.free_zone = r.dest_zone;
        vehicle.free_at = drop;
        self.refresh(v);
        self.status[request as usize] = 1;
        self.outcome.served += 1;
        self.outcome.revenue += r.revenue;
        self.outcome.empty_km += empty;
        self.outcome.loaded_km += loaded;
        self.outcome.cost += COST_PER_KM * (empty + loaded);
        self.waits.push(pickup - r.release);
        self.outcome.services.push(Service {
            request,
            vehicle: v,
            assigned_at: now,
            eta_secs: f.eta_secs(),
            pickup_at: pickup,
            queued,
        });
    }

    fn reposition(&mut self, now: f64, v: u32, lot: u32) {
        let (Some(vehicle), Some(target)) = (
            self.vehicles.get(v as usize),
            self.model.lots.get(lot as usize).copied(),
        ) else {
            self.outcome.refused.bad_reposition += 1;
            return;
        };
        if !vehicle.is_idle() {
            self.outcome.refused.bad_reposition += 1;
            return;
        }
        let km = vehicle.free_pos.l1(target.pos);
        let secs = self
            .model
            .sample_secs(km, vehicle.free_zone, target.zone, now, &mut self.rng);
        let end = now + secs;
        let from = vehicle.free_pos;
        let event = self.push_event(end, v);
        let vehicle = &mut self.vehicles[v as usize];
        vehicle.legs.push(Leg {
            end,
            kind: LegKind::Reposition {
                lot,
                from,
                start: now,
                km,
            },
            event,
        });
        vehicle.free_pos = target.pos;
        vehicle.free_zone = target.zone;
        vehicle.free_at = end;
        self.refresh(v);
    }
}

/// Simulates `day` under `policy`. Deterministic: the outcome depends only on the day and the
/// policy's decisions; `stopwatch` only measures decision times.
pub fn simulate(
    model: &Model,
    day: &Day,
    policy: &mut dyn Policy,
    stopwatch: &mut dyn Stopwatch,
) -> RunResult {
    let n = day.class.vehicles().min(day.start_lots.len());
    let vehicles: Vec<Vehicle> = day.start_lots[..n]
        .iter()
        .map(|&lot| {
            let l = model.lots[lot];
            Vehicle {
                legs: Vec::with_capacity(3),
                free_pos: l.pos,
                free_zone: l.zone,
                free_at: 0.0,
            }
        })
        .collect();
    let mut world = World {
        model,
        day,
        grid: VehicleIndex::new(model, vehicles.len()),
        vehicles,
        events: BinaryHeap::new(),
        seq: 0,
        rng: Pcg64::seed_from_u64(day.run_seed),
        status: vec![0; day.requests.len()],
        pending: Vec::new(),
        touched: Vec::new(),
        outcome: Outcome {
            requests: day.requests.len(),
            served: 0,
            lost: 0,
            revenue: 0.0,
            cost: 0.0,
            profit: 0.0,
            request_value: day.request_value(),
            loaded_km: 0.0,
            empty_km: 0.0,
            mean_wait_s: 0.0,
            p95_wait_s: 0.0,
            decisions: 0,
            refused: Refusals::default(),
            services: Vec::new(),
        },
        waits: Vec::new(),
    };
    for v in 0..world.vehicles.len() {
        world.refresh(u32::try_from(v).unwrap_or(u32::MAX));
    }
    policy.start_day(model, day);
    let mut decision_ns = Vec::new();
    let mut actions = Actions::default();
    let mut next_release = 0usize;
    let mut now = 0.0f64;
    let mut first = true;
    loop {
        // The next epoch: a release, the 60 s tick, or a completion with nothing queued.
        let mut target = if first {
            0.0
        } else {
            let release = day
                .requests
                .get(next_release)
                .map_or(f64::INFINITY, |r| r.release);
            release.min(now + DECISION_INTERVAL_SECS)
        };
        first = false;
        while let Some(&Reverse((bits, event, v))) = world.events.peek() {
            let t = f64::from_bits(bits);
            if t > target {
                break;
            }
            world.events.pop();
            if world.finish_leg(v, event) {
                target = t;
            }
        }
        if target >= DAY_SECS {
            break;
        }
        now = target;
        // Newly released requests join; expired ones are lost; served ones leave.
        while let Some(r) = day.requests.get(next_release) {
            if r.release > now {
                break;
            }
            world.pending.push(r.id);
            next_release += 1;
        }
        let status = &mut world.status;
        let requests = &day.requests;
        let mut lost = 0;
        world.pending.retain(|&id| {
            if status[id as usize] != 0 {
                return false;
            }
            if now - requests[id as usize].release > PICKUP_LIMIT_SECS {
                status[id as usize] = 2;
                lost += 1;
                return false;
            }
            true
        });
        world.outcome.lost += lost;
        actions.clear();
        world.grid.promote_due(now, &mut world.touched);
        let t0 = stopwatch.now_ns();
        {
            let view = DecisionView {
                now,
                model,
                fleet_size: world.vehicles.len(),
                pending: &world.pending,
                requests: &day.requests,
                vehicles: &world.vehicles,
                day_requests: day.requests.len(),
                changed: &world.touched,
                grid: &world.grid,
            };
            policy.decide(&view, &mut actions);
        }
        decision_ns.push(stopwatch.now_ns().saturating_sub(t0));
        world.touched.clear();
        world.outcome.decisions += 1;
        for &(request, v) in &actions.assign {
            world.assign(now, request, v);
        }
        for &(v, lot) in &actions.reposition {
            world.reposition(now, v, lot);
        }
    }
    // Drives to lots still under way at the end of the day are charged pro rata.
    for v in 0..world.vehicles.len() {
        if let [leg] = world.vehicles[v].legs.as_slice() {
            let leg = *leg;
            world.charge_reposition(leg, 1.0);
        }
    }
    // Whatever is still pending at the end of the day is lost.
    let unserved = world.status.iter().filter(|&&s| s != 1).count();
    world.outcome.lost = unserved;
    let mut outcome = world.outcome;
    outcome.profit = outcome.revenue - outcome.cost;
    let mut waits = world.waits;
    if !waits.is_empty() {
        outcome.mean_wait_s = waits.iter().sum::<f64>() / waits.len() as f64;
        waits.sort_by(f64::total_cmp);
        outcome.p95_wait_s = percentile(&waits, 0.95);
    }
    RunResult {
        outcome,
        decision_ns,
    }
}

/// The `q` quantile (nearest rank) of sorted values; 0 for none.
pub fn percentile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "q is in 0..=1, the rank is within the slice"
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driving_is_charged_only_up_to_the_end_of_the_day() {
        assert_eq!(charged_km(10.0, 0.0, 100.0), 10.0);
        assert_eq!(charged_km(10.0, DAY_SECS - 50.0, 100.0), 5.0);
        assert_eq!(charged_km(10.0, DAY_SECS, 100.0), 0.0);
        assert_eq!(charged_km(0.0, 10.0, 0.0), 0.0);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted = [1u64, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&sorted, 0.5), 5);
        assert_eq!(percentile(&sorted, 0.95), 10);
        assert_eq!(percentile(&sorted, 1.0), 10);
        assert_eq!(percentile::<u64>(&[], 0.5), 0);
    }
}
