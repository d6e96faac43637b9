//! `doorstep policy --stdio`: a JSON-lines protocol through which an outside simulator (the
//! original pyhailing environment, for one) is driven by the same policy code as
//! `doorstep bench ridehail`. The protocol is documented in `docs/policy-protocol.md`.
//!
//! Every input line is one JSON object and gets exactly one output line: a header
//! `{"start": {...}}` is answered by `{"ready": {...}}`, an observation by an action, and a line
//! that cannot be used by `{"code": ..., "message": ...}`, after which the session goes on with
//! the next line (blank lines are skipped without an answer).
//!
//! From each observation a [`PolicySession`] rebuilds what the simulator would show a policy, a
//! [`DecisionView`]: the pending requests under ids that stay the same from line to line, the
//! vehicles with their committed legs, and the index of eligible vehicles. Observations, like
//! pyhailing's, carry positions but no end times, so the session estimates when each leg ends:
//! with the model's mean speed when it first sees a leg, and exactly once it has seen the leg
//! progress (an observed vehicle moves linearly from a job's origin to its destination, so two
//! observations of the same job, or one plus the known start of a job this session assigned, give
//! its end).
//!
//! The policy's decisions then pass three rules of the environment, none of which exists in the
//! simulator: an assignment pyhailing would refuse (its feasibility check uses the speed window of
//! the decision's rounded second) becomes "wait"; so does an assignment queued behind a ride whose
//! end is only estimated (it would be refused if the ride ended later); and a vehicle reported
//! without any job (it has just dropped a passenger and must be told where to go) that the policy
//! neither gives a request nor sends to a lot is sent to the nearest lot.
//!
//! The session does no IO itself: [`PolicySession::handle_line`] maps a line to a line, and
//! [`serve`] runs it over any reader and writer (the CLI passes stdin and stdout).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, Write};

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::bench::PolicyName;
use crate::engine::{Actions, DecisionView, Leg, LegKind, Policy, Vehicle};
use crate::grid::VehicleIndex;
use crate::instance::{
    BASE_FARE, Day, FARE_PER_KM, GridPoint, InstanceClass, Model, PICKUP_LIMIT_SECS, Request,
};

/// Arguments of `doorstep policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Read observations from stdin and write actions to stdout, one JSON object per line (the
    /// only mode; see docs/policy-protocol.md).
    #[arg(long, required = true)]
    pub stdio: bool,
    /// The instance class assumed until a `start` line names one: SUI, MUI, LUI, LTI or XL.
    #[arg(long, default_value = "SUI")]
    pub class: InstanceClass,
    /// The policy: greedy, batch or batch+reposition.
    #[arg(long, default_value = "batch+reposition")]
    pub policy: PolicyName,
}

/// The policy asked for is not an online policy (`offline` needs the whole day in advance).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {0:?} cannot decide online (expected greedy, batch or batch+reposition)")]
pub struct NotOnline(pub &'static str);

/// Why a line got an error answer instead of an action. Every variant is the sender's fault: the
/// session has no failure of its own to report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    /// The line is not a JSON object.
    #[error("the line is not a JSON object: {0}")]
    InvalidJson(String),
    /// The line is JSON but neither a `start` line nor an observation (a field is missing or has
    /// the wrong type).
    #[error("{0}")]
    InvalidLine(String),
    /// The observation is well-formed but impossible: a number that is not finite, a point far
    /// outside the city, a request released in the future, a vehicle count other than the
    /// configuration's, jobs in an order no vehicle can have.
    #[error("{0}")]
    InvalidObservation(String),
}

impl ProtocolError {
    /// The stable machine-readable code of the error line.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::InvalidJson(_) => "invalid_json",
            ProtocolError::InvalidLine(_) => "invalid_line",
            ProtocolError::InvalidObservation(_) => "invalid_observation",
        }
    }
}

/// The error line.
#[derive(Debug, Serialize)]
struct ErrorLine<'a> {
    code: &'static str,
    message: &'a str,
}

/// `{"start": {...}}`: a new day (episode) begins.
#[derive(Debug, Deserialize)]
struct StartLine {
    start: StartConfig,
}

/// The configuration of a day; every field is optional.
#[derive(Debug, Deserialize)]
struct StartConfig {
    /// Instance class name.
    #[serde(default)]
    class: Option<String>,
    /// Number of vehicles (every observation must list this many).
    #[serde(default)]
    vehicles: Option<usize>,
    /// Number of requests of the day.
    #[serde(default)]
    requests: Option<usize>,
}

/// The answer to a `start` line.
#[derive(Debug, Serialize)]
struct ReadyLine<'a> {
    ready: Ready<'a>,
}

#[derive(Debug, Serialize)]
struct Ready<'a> {
    class: &'static str,
    vehicles: Option<usize>,
    requests: usize,
    lots: usize,
    policy: &'a str,
}

/// One observation.
#[derive(Debug, Deserialize)]
struct Observation {
    /// Simulated seconds since the start of the day.
    time: f64,
    /// The requests that may be assigned now.
    requests: Vec<RequestObservation>,
    /// Every vehicle of the fleet, in a fixed order (the index is the vehicle's id).
    vehicles: Vec<VehicleObservation>,
}

#[derive(Debug, Deserialize)]
struct RequestObservation {
    /// An id of the sender's choosing, stable from line to line; without it, a request is known
    /// by its release time and origin.
    #[serde(default)]
    id: Option<u64>,
    origin: [f64; 2],
    destination: [f64; 2],
    release: f64,
}

#[derive(Debug, Deserialize)]
struct VehicleObservation {
    position: [f64; 2],
    jobs: Vec<JobObservation>,
}

#[derive(Debug, Deserialize)]
struct JobObservation {
    kind: JobKind,
    origin: [f64; 2],
    destination: [f64; 2],
}

/// What a vehicle's job is (pyhailing's names are accepted as aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JobKind {
    /// Waiting where it is (a lot); ends the list.
    Idle,
    /// Driving empty to a lot; only as the first job.
    Reposition,
    /// Driving empty to a pickup.
    #[serde(alias = "setup")]
    ToPickup,
    /// Carrying a passenger.
    #[serde(alias = "process")]
    Ride,
}

/// The answer to an observation.
#[derive(Debug, Serialize)]
struct ActionLine {
    /// The observation's time, echoed.
    time: f64,
    /// Per request of the observation, in its order: a vehicle index, "wait" or "reject".
    requests: Vec<RequestAction>,
    /// Per vehicle: the index of the lot to drive to, or null.
    vehicles: Vec<Option<u32>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
enum RequestAction {
    Vehicle(u32),
    Word(Word),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Word {
    Wait,
    Reject,
}

/// How a request is recognised from one line to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RequestKey {
    Given(u64),
    Derived([u64; 3]),
}

/// A job as the session recognises it from line to line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct JobKey {
    kind: JobKind,
    origin: GridPoint,
    destination: GridPoint,
}

impl JobKey {
    fn same(&self, other: &JobKey) -> bool {
        self.kind == other.kind
            && self.origin.l1(other.origin) < 1e-9
            && self.destination.l1(other.destination) < 1e-9
    }
}

/// A moment of a job's progress: at `at` seconds, fraction `done` of it was done.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Anchor {
    job: JobKey,
    at: f64,
    done: f64,
    /// Exact: seen in an observation, or the start of a drive this session assigned from where
    /// the vehicle was. Otherwise derived from an estimate of the previous job's end.
    observed: bool,
}

/// The configuration of the current day.
#[derive(Debug, Clone, Copy)]
struct DayConfig {
    class: InstanceClass,
    vehicles: Option<usize>,
    requests: usize,
}

/// What the session keeps of a day between lines.
#[derive(Debug)]
struct DayState {
    last_time: f64,
    /// The requests seen so far, by id (placeholders for ids not yet given out).
    requests: Vec<Request>,
    ids: HashMap<RequestKey, u32>,
    /// Per vehicle, the known moments of its jobs.
    anchors: Vec<Vec<Anchor>>,
}

/// What the session derives for a vehicle besides the [`Vehicle`] a policy sees.
#[derive(Debug, Clone, Copy)]
struct VehicleFacts {
    position: GridPoint,
    /// Reported without any job: pyhailing requires a request or a lot for it now.
    needs_instruction: bool,
    /// Whether `free_at` is exact (rather than estimated from mean speeds).
    free_exact: bool,
}

/// One adapter session: a policy, the model of the city and what it keeps between lines.
pub struct PolicySession {
    model: Model,
    policy_name: PolicyName,
    policy: Box<dyn Policy>,
    default_class: InstanceClass,
    config: DayConfig,
    day: Option<DayState>,
    actions: Actions,
}

impl fmt::Debug for PolicySession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySession")
            .field("policy", &self.policy_name.name())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How far outside the zones' bounding box a point may be, km (pyhailing's points are inside it;
/// a point much further away is in the wrong frame or unit).
const AREA_MARGIN_KM: f64 = 5.0;

/// How much below the 300 s limit an assignment's expected pickup must be for the session to pass
/// it on: covers the rounding of the speeds to `f32` in `data/manhattan` (below 1e-4 s at 300 s).
const FEASIBILITY_MARGIN_SECS: f64 = 1e-3;

impl PolicySession {
    /// A session of `policy` on Manhattan, assuming `class` until a `start` line says otherwise.
    pub fn new(class: InstanceClass, policy: PolicyName) -> Result<PolicySession, NotOnline> {
        let online = policy.online().ok_or(NotOnline(policy.name()))?;
        Ok(PolicySession {
            model: Model::manhattan(),
            policy_name: policy,
            policy: online,
            default_class: class,
            config: DayConfig {
                class,
                vehicles: None,
                requests: class.requests(),
            },
            day: None,
            actions: Actions::default(),
        })
    }

    /// Answers one input line (without its newline) with one output line (without a newline).
    pub fn handle_line(&mut self, line: &str) -> String {
        let answer = self.answer(line);
        match answer {
            Ok(out) => out,
            Err(e) => {
                let message = e.to_string();
                serde_json::to_string(&ErrorLine {
                    code: e.code(),
                    message: &message,
                })
                .unwrap_or_else(|_| String::from(r#"{"code":"invalid_line","message":""}"#))
            }
        }
    }

    fn answer(&mut self, line: &str) -> Result<String, ProtocolError> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| ProtocolError::InvalidJson(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(ProtocolError::InvalidJson(String::from(
                "expected an object, found another JSON value",
            )));
        };
        let serialized = if object.contains_key("start") {
            let start: StartLine = serde_json::from_value(value)
                .map_err(|e| ProtocolError::InvalidLine(format!("start line: {e}")))?;
            let ready = self.start(&start.start)?;
            serde_json::to_string(&ready)
        } else {
            let observation: Observation = serde_json::from_value(value)
                .map_err(|e| ProtocolError::InvalidLine(format!("observation: {e}")))?;
            let action = self.observe(&observation)?;
            serde_json::to_string(&action)
        };
        serialized.map_err(|e| ProtocolError::InvalidLine(e.to_string()))
    }

    fn start(&mut self, start: &StartConfig) -> Result<ReadyLine<'static>, ProtocolError> {
        let class = match &start.class {
            Some(name) => name
                .parse::<InstanceClass>()
                .map_err(|e| ProtocolError::InvalidLine(e.to_string()))?,
            None => [
                InstanceClass::Sui,
                InstanceClass::Mui,
                InstanceClass::Lui,
                InstanceClass::Xl,
            ]
            .into_iter()
            .find(|c| {
                Some(c.vehicles()) == start.vehicles
                    && start.requests.is_none_or(|r| r == c.requests())
            })
            .unwrap_or(self.default_class),
        };
        if start.vehicles == Some(0) {
            return Err(ProtocolError::InvalidLine(String::from(
                "start line: a fleet needs at least one vehicle",
            )));
        }
        self.config = DayConfig {
            class,
            vehicles: start.vehicles.or(Some(class.vehicles())),
            requests: start.requests.unwrap_or(class.requests()),
        };
        self.day = None;
        Ok(ReadyLine {
            ready: Ready {
                class: class.name(),
                vehicles: self.config.vehicles,
                requests: self.config.requests,
                lots: self.model.lots.len(),
                policy: self.policy_name.name(),
            },
        })
    }

    /// Starts a day under the current configuration: fresh policy state, fresh ids.
    fn start_day(&mut self, vehicles: usize) {
        let placeholder = Request {
            id: 0,
            release: f64::INFINITY,
            origin: GridPoint { x: 0.0, y: 0.0 },
            dest: GridPoint { x: 0.0, y: 0.0 },
            origin_zone: doorstep_geo::ZoneIdx(0),
            dest_zone: doorstep_geo::ZoneIdx(0),
            trip_km: 0.0,
            ride_secs: 0.0,
            revenue: 0.0,
        };
        let requests: Vec<Request> = (0..self.config.requests)
            .map(|i| Request {
                id: u32::try_from(i).unwrap_or(u32::MAX),
                ..placeholder
            })
            .collect();
        let day = Day {
            class: self.config.class,
            seed: 0,
            weekday: 0,
            requests: requests.clone(),
            start_lots: Vec::new(),
            run_seed: 0,
        };
        self.policy.start_day(&self.model, &day);
        self.day = Some(DayState {
            last_time: f64::NEG_INFINITY,
            requests,
            ids: HashMap::new(),
            anchors: vec![Vec::new(); vehicles],
        });
    }

    fn point(&self, what: &str, p: [f64; 2]) -> Result<GridPoint, ProtocolError> {
        let [x, y] = p;
        let m = &self.model;
        let inside = x.is_finite()
            && y.is_finite()
            && x >= m.min.x - AREA_MARGIN_KM
            && x <= m.max.x + AREA_MARGIN_KM
            && y >= m.min.y - AREA_MARGIN_KM
            && y <= m.max.y + AREA_MARGIN_KM;
        if inside {
            Ok(GridPoint { x, y })
        } else {
            Err(ProtocolError::InvalidObservation(format!(
                "{what} [{x}, {y}] is not a point of the city (km in the street-grid frame: x {:.1} to {:.1}, y {:.1} to {:.1})",
                m.min.x, m.max.x, m.min.y, m.max.y
            )))
        }
    }

    fn observe(&mut self, obs: &Observation) -> Result<ActionLine, ProtocolError> {
        let now = obs.time;
        if !now.is_finite() || now < 0.0 {
            return Err(ProtocolError::InvalidObservation(format!(
                "time {now} is not a non-negative number of seconds"
            )));
        }
        if let Some(n) = self.config.vehicles
            && obs.vehicles.len() != n
        {
            return Err(ProtocolError::InvalidObservation(format!(
                "{} vehicles listed, the day has {n}",
                obs.vehicles.len()
            )));
        }
        if obs.vehicles.is_empty() {
            return Err(ProtocolError::InvalidObservation(String::from(
                "no vehicles listed",
            )));
        }
        // Everything is checked before anything is kept, so a bad line changes nothing.
        let mut requests = Vec::with_capacity(obs.requests.len());
        for (i, r) in obs.requests.iter().enumerate() {
            let origin = self.point(&format!("requests[{i}].origin"), r.origin)?;
            let dest = self.point(&format!("requests[{i}].destination"), r.destination)?;
            if !r.release.is_finite() || r.release > now {
                return Err(ProtocolError::InvalidObservation(format!(
                    "requests[{i}].release {} is not a time at or before the observation's {now}",
                    r.release
                )));
            }
            let key = match r.id {
                Some(id) => RequestKey::Given(id),
                None => RequestKey::Derived([
                    r.release.to_bits(),
                    origin.x.to_bits(),
                    origin.y.to_bits(),
                ]),
            };
            requests.push((key, origin, dest, r.release));
        }
        let mut keys: Vec<RequestKey> = requests.iter().map(|r| r.0).collect();
        keys.sort_unstable_by_key(|k| match k {
            RequestKey::Given(id) => (0, [*id, 0, 0]),
            RequestKey::Derived(bits) => (1, *bits),
        });
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(ProtocolError::InvalidObservation(String::from(
                "a request is listed twice (same id, or same release time and origin)",
            )));
        }
        let mut vehicle_jobs = Vec::with_capacity(obs.vehicles.len());
        for (v, vehicle) in obs.vehicles.iter().enumerate() {
            let position = self.point(&format!("vehicles[{v}].position"), vehicle.position)?;
            let mut jobs = Vec::with_capacity(vehicle.jobs.len());
            for (j, job) in vehicle.jobs.iter().enumerate() {
                let origin = self.point(&format!("vehicles[{v}].jobs[{j}].origin"), job.origin)?;
                let destination = self.point(
                    &format!("vehicles[{v}].jobs[{j}].destination"),
                    job.destination,
                )?;
                let last = j + 1 == vehicle.jobs.len();
                let bad = match job.kind {
                    JobKind::Idle => (!last).then_some("an idle job must be the last"),
                    JobKind::Reposition => (j != 0
                        || !(last
                            || vehicle.jobs.len() == 2 && vehicle.jobs[1].kind == JobKind::Idle))
                        .then_some(
                            "a drive to a lot must be the vehicle's only job (before idling)",
                        ),
                    JobKind::ToPickup | JobKind::Ride => None,
                };
                if let Some(why) = bad {
                    return Err(ProtocolError::InvalidObservation(format!(
                        "vehicles[{v}].jobs[{j}]: {why}"
                    )));
                }
                jobs.push(JobKey {
                    kind: job.kind,
                    origin,
                    destination,
                });
            }
            vehicle_jobs.push((position, jobs));
        }

        // A new day when none has started or time went backwards (a new episode without a
        // `start` line).
        let restart = match &self.day {
            None => true,
            Some(day) => now < day.last_time || day.anchors.len() != obs.vehicles.len(),
        };
        if restart {
            self.start_day(obs.vehicles.len());
        }
        let Some(day) = self.day.as_mut() else {
            return Err(ProtocolError::InvalidLine(String::from("no day")));
        };
        day.last_time = now;
        let model = &self.model;

        // Requests: stable ids; the pending ones oldest first.
        let mut answers = vec![RequestAction::Word(Word::Wait); requests.len()];
        let mut pending: Vec<(f64, u32, usize)> = Vec::with_capacity(requests.len());
        for (i, &(key, origin, dest, release)) in requests.iter().enumerate() {
            let next = u32::try_from(day.ids.len()).unwrap_or(u32::MAX);
            let id = *day.ids.entry(key).or_insert(next);
            let trip_km = origin.l1(dest);
            let request = Request {
                id,
                release,
                origin,
                dest,
                origin_zone: model.zone_of(origin),
                dest_zone: model.zone_of(dest),
                trip_km,
                // Hidden from policies; the session does not know it either.
                ride_secs: 0.0,
                revenue: BASE_FARE + FARE_PER_KM * trip_km,
            };
            let slot = id as usize;
            if slot >= day.requests.len() {
                day.requests.resize(slot + 1, request);
            }
            day.requests[slot] = request;
            if now - release > PICKUP_LIMIT_SECS {
                answers[i] = RequestAction::Word(Word::Reject);
            } else {
                pending.push((release, id, i));
            }
        }
        pending.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let pending_ids: Vec<u32> = pending.iter().map(|p| p.1).collect();

        // Vehicles: legs with estimated ends.
        let mut vehicles = Vec::with_capacity(vehicle_jobs.len());
        let mut facts = Vec::with_capacity(vehicle_jobs.len());
        for (v, (position, jobs)) in vehicle_jobs.iter().enumerate() {
            let old = std::mem::take(&mut day.anchors[v]);
            let (vehicle, fact, anchors) = rebuild_vehicle(model, now, *position, jobs, &old);
            day.anchors[v] = anchors;
            vehicles.push(vehicle);
            facts.push(fact);
        }
        let mut grid = VehicleIndex::new(model, vehicles.len());
        let mut changed = Vec::new();
        for (v, vehicle) in vehicles.iter().enumerate() {
            if !vehicle.is_eligible() {
                continue;
            }
            let id = u32::try_from(v).unwrap_or(u32::MAX);
            changed.push(id);
            match vehicle.legs.first().map(|leg| leg.kind) {
                Some(LegKind::Reposition { from, .. }) if is_moving(vehicle) => {
                    grid.insert_moving(id, from, vehicle.free_pos);
                }
                _ => grid.insert(
                    id,
                    vehicle.free_zone.index(),
                    vehicle.free_pos,
                    vehicle.free_at,
                ),
            }
        }
        grid.promote_due(now, &mut Vec::new());

        self.actions.assign.clear();
        self.actions.reposition.clear();
        {
            let view = DecisionView::from_parts(
                now,
                model,
                vehicles.len(),
                &pending_ids,
                &day.requests,
                &vehicles,
                self.config.requests,
                &changed,
                &grid,
            );
            self.policy.decide(&view, &mut self.actions);
        }

        // The decisions, within the environment's rules.
        let row_of: HashMap<u32, usize> = pending.iter().map(|p| (p.1, p.2)).collect();
        let mut lots: Vec<Option<u32>> = vec![None; vehicles.len()];
        let mut busy = vec![false; vehicles.len()];
        for &(request, v) in &self.actions.assign {
            let Some(&row) = row_of.get(&request) else {
                continue;
            };
            let vi = v as usize;
            if vi >= vehicles.len() || busy[vi] || answers[row] != RequestAction::Word(Word::Wait) {
                continue;
            }
            let vehicle = &vehicles[vi];
            let r = &day.requests[request as usize];
            // Queued behind a ride whose end is only estimated, the assignment would be refused
            // if the ride ends later than estimated: it waits until the end is known.
            let chained = !vehicle.is_idle() && !is_moving(vehicle);
            if !vehicle.is_eligible()
                || (chained && !facts[vi].free_exact)
                || !pyhailing_feasible(model, now, vehicle, &facts[vi], r)
            {
                continue;
            }
            busy[vi] = true;
            answers[row] = RequestAction::Vehicle(v);
            // The drive to the pickup starts now from where the vehicle is, or from the drop-off
            // when the ride ends (known exactly, as checked above).
            let (origin, at) = if chained {
                (vehicle.free_pos, vehicle.free_at)
            } else {
                (facts[vi].position, now)
            };
            day.anchors[vi].push(Anchor {
                job: JobKey {
                    kind: JobKind::ToPickup,
                    origin,
                    destination: r.origin,
                },
                at,
                done: 0.0,
                observed: !chained,
            });
        }
        for &(v, lot) in &self.actions.reposition {
            let vi = v as usize;
            if vi < vehicles.len()
                && !busy[vi]
                && vehicles[vi].is_idle()
                && (lot as usize) < model.lots.len()
            {
                lots[vi] = Some(lot);
            }
        }
        for (v, fact) in facts.iter().enumerate() {
            if fact.needs_instruction && !busy[v] && lots[v].is_none() {
                lots[v] = Some(nearest_lot(model, fact.position));
            }
        }
        Ok(ActionLine {
            time: now,
            requests: answers,
            vehicles: lots,
        })
    }
}

/// Whether the vehicle's only leg is a drive to a lot (it can be diverted from where it is).
fn is_moving(vehicle: &Vehicle) -> bool {
    matches!(
        vehicle.legs.as_slice(),
        [Leg {
            kind: LegKind::Reposition { .. },
            ..
        }]
    )
}

/// The lot nearest to `p` (L1, the distance driven).
fn nearest_lot(model: &Model, p: GridPoint) -> u32 {
    let mut best = (f64::INFINITY, 0usize);
    for (i, lot) in model.lots.iter().enumerate() {
        let d = lot.pos.l1(p);
        if d < best.0 {
            best = (d, i);
        }
    }
    u32::try_from(best.1).unwrap_or(0)
}

/// Whether pyhailing accepts giving `r` to `vehicle` at `now`: (time until the vehicle is free) +
/// (L1 distance from where it will be free ÷ the mean speed of the decision's window) ≤ 300 s.
/// Unlike the simulator, pyhailing takes the speed window of the decision's rounded second even
/// for a drive that starts when a ride ends.
fn pyhailing_feasible(
    model: &Model,
    now: f64,
    vehicle: &Vehicle,
    facts: &VehicleFacts,
    r: &Request,
) -> bool {
    let (from, wait) = if is_moving(vehicle) || vehicle.is_idle() {
        (facts.position, 0.0)
    } else {
        (vehicle.free_pos, (vehicle.free_at - now).max(0.0))
    };
    let km = from.l1(r.origin);
    let drive = if km > 0.0 {
        let (mean, _) = model.speed(model.zone_of(from), r.origin_zone, now.round());
        km / mean
    } else {
        0.0
    };
    wait + drive <= PICKUP_LIMIT_SECS - FEASIBILITY_MARGIN_SECS
}

/// The vehicle a policy sees, from an observed position and job list, with the session's facts
/// about it and the anchors to keep for the next line.
///
/// The current job's end comes from the oldest observed anchor of the job (two exact positions on
/// a linear drive), else from a derived one (the job's start, taken from the previous job's end),
/// else from the mean speed; only the first is precise, since a derived start's error is magnified
/// by `(1 − done) / done` while little of the job is done. A queued job's end is its start plus the
/// mean duration.
fn rebuild_vehicle(
    model: &Model,
    now: f64,
    position: GridPoint,
    jobs: &[JobKey],
    old: &[Anchor],
) -> (Vehicle, VehicleFacts, Vec<Anchor>) {
    let mut legs = Vec::with_capacity(jobs.len());
    let mut anchors = Vec::new();
    let mut free_pos = position;
    let mut free_at = now;
    let mut precise = true;
    for (j, job) in jobs.iter().enumerate() {
        let kind = match job.kind {
            JobKind::Idle => break,
            JobKind::Reposition => LegKind::Reposition {
                lot: nearest_lot(model, job.destination),
                from: position,
                start: now,
                km: position.l1(job.destination),
            },
            // The session does not know which request a job serves, and no policy needs it.
            JobKind::ToPickup => LegKind::ToPickup(u32::MAX),
            JobKind::Ride => LegKind::Ride(u32::MAX),
        };
        let total_km = job.origin.l1(job.destination);
        let from_zone = model.zone_of(job.origin);
        let to_zone = model.zone_of(job.destination);
        let end = if j == 0 {
            let left_km = position.l1(job.destination);
            let done = if total_km > 0.0 {
                (1.0 - left_km / total_km).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let usable = |a: &&Anchor| a.job.same(job) && now > a.at && done > a.done + 1e-9;
            let observed = old
                .iter()
                .filter(|a| a.observed)
                .filter(usable)
                .min_by(|a, b| a.at.total_cmp(&b.at))
                .copied();
            let derived = old.iter().filter(|a| !a.observed).find(usable).copied();
            // Linear progress: the rate between an anchor and now gives the end.
            let by_rate = |a: Anchor| now + (1.0 - done) * (now - a.at) / (done - a.done);
            match (observed, derived) {
                (Some(a), _) => {
                    anchors.push(a);
                    by_rate(a)
                }
                (None, derived) => {
                    precise = false;
                    // Keep the earliest observation of the job (this one, unless one at this
                    // very second was kept before).
                    let kept = old
                        .iter()
                        .find(|a| a.observed && a.job.same(job))
                        .copied()
                        .unwrap_or(Anchor {
                            job: *job,
                            at: now,
                            done,
                            observed: true,
                        });
                    anchors.push(kept);
                    match derived {
                        Some(a) => by_rate(a),
                        None => now + model.mean_secs(left_km, from_zone, to_zone, now),
                    }
                }
            }
        } else {
            let start = free_at;
            if precise {
                anchors.push(Anchor {
                    job: *job,
                    at: start,
                    done: 0.0,
                    observed: false,
                });
            }
            precise = false;
            start + model.mean_secs(total_km, from_zone, to_zone, start)
        };
        let end = end.max(now);
        legs.push(Leg {
            end,
            kind,
            event: 0,
        });
        free_pos = job.destination;
        free_at = end;
    }
    let vehicle = Vehicle {
        legs,
        free_pos,
        free_zone: model.zone_of(free_pos),
        free_at,
    };
    let facts = VehicleFacts {
        position,
        needs_instruction: jobs.is_empty(),
        free_exact: precise,
    };
    (vehicle, facts, anchors)
}

/// Runs a session over `input` and `output`: one answer line per non-blank input line, flushed
/// after each, until the input ends. A line that is not UTF-8 gets an `invalid_json` answer.
pub fn serve(
    session: &mut PolicySession,
    mut input: impl BufRead,
    mut output: impl Write,
) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        let answer = match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => session.handle_line(line.trim_end_matches(['\r', '\n'])),
            Err(e) => {
                let message = format!("the line is not UTF-8: {e}");
                serde_json::to_string(&ErrorLine {
                    code: "invalid_json",
                    message: &message,
                })
                .unwrap_or_default()
            }
        };
        output.write_all(answer.as_bytes())?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
}
