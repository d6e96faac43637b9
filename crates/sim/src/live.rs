//! `live`: the server's dispatcher in the simulator. The policy is a thin adapter that turns each
//! decision epoch into [`doorstep_dispatch::Input`]s for the very [`Dispatcher`] value type the
//! server runs (requests become ride jobs, vehicles become workers with a place and a time they
//! are free there), ticks it, and turns its [`Action`]s back into assignments and moves to lots.
//! Vehicles in the simulator accept every offer, so each offer is answered at once.
//!
//! What the adapter supplies is what the server supplies from its own data: a [`TravelTime`] (the
//! simulator's mean zone-to-zone speeds) and a [`Forecast`] (the historical demand per zone, the
//! same table the server's city has). The decisions are the core's.

use doorstep_dispatch::{
    Action, DispatchConfig, Dispatcher, Forecast, Input, JobHistory, OpenJob, Planar, RouteStop,
    TravelTime, Window,
};
use doorstep_geo::ZoneIdx;

use crate::engine::{Actions, DecisionView, LegKind, Policy, Vehicle};
use crate::instance::{
    COST_PER_KM, Day, GridPoint, Model, PICKUP_LIMIT_SECS, SPEED_CLOCK_OFFSET_SECS,
};
use crate::policy::{BatchTuning, demand_pressure, pickups_by_window, secs_value, zone_lots};

/// A place as the core sees it in the simulator: a point of the street grid, its zone for the
/// speed model, and the lot it is (for repositioning targets).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimPlace {
    /// The point, km.
    pub pos: GridPoint,
    /// Its zone.
    pub zone: ZoneIdx,
    /// The lot this place is, if it is one.
    pub lot: Option<u32>,
}

impl Planar for SimPlace {
    fn xy_km(&self) -> (f64, f64) {
        (self.pos.x, self.pos.y)
    }
}

/// Mean travel times of the simulator's speed model, and what driving costs the fleet: $0.53 a
/// km plus θ(t) a second of vehicle time (the [`crate::Batch`] policy's economics: a vehicle's
/// time is worth more when demand is high for the fleet).
#[derive(Debug)]
pub struct SimTravel {
    model: Model,
    /// θ per simulated 15-minute window.
    theta: Vec<f64>,
}

impl SimTravel {
    fn new(model: &Model, day: &Day) -> SimTravel {
        let tuning = BatchTuning::default();
        let pressure = demand_pressure(model, day);
        let theta = (0..96u32)
            .map(|w| secs_value(&tuning, &pressure, f64::from(w) * 900.0))
            .collect();
        SimTravel {
            model: model.clone(),
            theta,
        }
    }

    fn secs_value(&self, at: f64) -> f64 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "simulated time is within the day"
        )]
        let w = ((at.max(0.0) / 900.0) as usize).min(95);
        self.theta[w]
    }
}

impl TravelTime for SimTravel {
    type Place = SimPlace;

    fn travel_secs(&self, from: &SimPlace, to: &SimPlace, depart: f64) -> Option<f64> {
        let km = from.pos.l1(to.pos);
        let secs = self.model.mean_secs(km, from.zone, to.zone, depart);
        secs.is_finite().then_some(secs.max(0.0))
    }

    fn drive(&self, from: &SimPlace, to: &SimPlace, depart: f64) -> Option<(f64, f64)> {
        let km = from.pos.l1(to.pos);
        let secs = self.travel_secs(from, to, depart)?;
        Some((secs, COST_PER_KM * km + self.secs_value(depart) * secs))
    }

    fn min_drive_cost(&self, km: f64, to: &SimPlace, at: f64) -> f64 {
        // Straight-line km bound the grid km; θ is at least zero.
        COST_PER_KM * km + self.secs_value(at) * self.min_secs(km, to, at)
    }

    fn secs_cost(&self, secs: f64, at: f64) -> f64 {
        self.secs_value(at) * secs
    }

    fn stable_until(&self, at: f64) -> f64 {
        // Speeds change with the speed clock's 15-minute window.
        let clock = at + SPEED_CLOCK_OFFSET_SECS;
        (clock / 900.0).floor() * 900.0 + 900.0 - SPEED_CLOCK_OFFSET_SECS
    }

    fn min_secs(&self, km: f64, to: &SimPlace, at: f64) -> f64 {
        let speed = self.model.reach_speed_any(to.zone, at);
        if speed > 0.0 { km / speed } else { 0.0 }
    }

    fn reach_km(&self, to: &SimPlace, secs: f64, at: f64) -> f64 {
        // The fastest mean speed into the zone from anywhere (this window and the next two), as
        // the simulator's own feasibility scan bounds it; L1 km bound straight-line km.
        secs * self.model.reach_speed_any(to.zone, at)
    }
}

/// The historical demand per zone, at each zone's lot: the mean over the five weekdays of the
/// table's pickups in the current and the next 15-minute window, scaled to the day's requests.
#[derive(Debug, Default)]
pub struct ZoneForecast {
    /// Per simulated 15-minute window × zone, expected pickups.
    per_window: Vec<f64>,
    /// Per zone, the lot nearest its centroid, as a place.
    lots: Vec<Option<SimPlace>>,
    /// Per zone, the index of its lot among the targets (zones without a lot have none).
    target_of_zone: Vec<Option<usize>>,
}

impl ZoneForecast {
    fn new(model: &Model, day: &Day) -> ZoneForecast {
        let demand = model.city.demand();
        let total: f64 = (0..5u8).map(|d| demand.weekday_total(d) as f64).sum();
        let per_window = pickups_by_window(model, day.requests.len() as f64 / total.max(1.0));
        let lots: Vec<Option<SimPlace>> = zone_lots(model)
            .into_iter()
            .map(|lot| {
                let i = lot?;
                let l = model.lots.get(i as usize)?;
                Some(SimPlace {
                    pos: l.pos,
                    zone: l.zone,
                    lot: Some(i),
                })
            })
            .collect();
        let mut next = 0;
        let target_of_zone = lots
            .iter()
            .map(|l: &Option<SimPlace>| {
                l.map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        ZoneForecast {
            per_window,
            lots,
            target_of_zone,
        }
    }
}

impl Forecast<SimPlace> for ZoneForecast {
    fn targets(&self, now: f64) -> Vec<(SimPlace, f64)> {
        let zones = self.lots.len();
        if zones == 0 {
            return Vec::new();
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "simulated time is within the day"
        )]
        let window = ((now.max(0.0) / 900.0) as usize).min(95);
        let next = (window + 1) % 96;
        self.lots
            .iter()
            .enumerate()
            .filter_map(|(z, lot)| {
                let weight =
                    self.per_window[window * zones + z] + self.per_window[next * zones + z];
                lot.map(|l| (l, weight))
            })
            .collect()
    }

    fn home(&self, place: &SimPlace, _targets: &[(SimPlace, f64)]) -> Option<usize> {
        // A vehicle is in its zone (nearest centroid), as the speed model says.
        self.target_of_zone
            .get(place.zone.index())
            .copied()
            .flatten()
    }
}

/// The tuning the server and the simulator share (see [`DispatchConfig`]).
pub fn live_config(model: &Model) -> DispatchConfig {
    DispatchConfig {
        offer_timeout_secs: 15.0,
        candidates_per_job: 8,
        // The pickup limit at the fastest mean speed, along the grid (straight lines are shorter).
        max_reach_km: PICKUP_LIMIT_SECS * model.max_mean_speed(),
        max_first_stop_secs: PICKUP_LIMIT_SECS,
        // Positions in the simulator are exact; a vehicle idle for an hour is still there.
        stale_after_secs: f64::INFINITY,
        // Dollars per second a request waits for a busy vehicle (see `BatchTuning`).
        wait_secs_weight: BatchTuning::default().wait_secs_value,
        retry_secs: 10.0,
        recheck_secs: BatchTuning::default().recheck_secs,
        reposition_interval_secs: BatchTuning::default().reposition_interval_secs,
        reposition_max_km: BatchTuning::default().reposition_max_km,
        reposition_horizon_secs: PICKUP_LIMIT_SECS,
        cell_km: 1.0,
        // The simulator's requests wait out their pickup limit (the benchmark's rules).
        give_up_unreachable_secs: f64::INFINITY,
    }
}

/// How often the places of vehicles driving to a lot are sent to the core, simulated seconds (an
/// offer the vehicle can no longer make from where it has got to is checked and handed back).
const MOVING_REFRESH_SECS: f64 = 5.0;

type Core = Dispatcher<u32, u32, SimPlace, SimTravel, ZoneForecast>;

/// The `live` policy: see the module documentation.
#[derive(Debug, Default)]
pub struct Live {
    core: Option<Core>,
    /// Per request: opened in the core and not yet gone.
    held: Vec<bool>,
    held_ids: Vec<u32>,
    /// Per request: the decision that last saw it pending.
    seen: Vec<u64>,
    decision: u64,
    /// Vehicles to tell the core about at the next decision (assigned or sent to a lot by the
    /// last one; all of them at the first).
    dirty: Vec<u32>,
    /// Vehicles driving to a lot (their place changes as they drive).
    moving: Vec<u32>,
    /// When the places of the vehicles driving to a lot were last sent.
    moving_sent: f64,
}

impl Live {
    /// A fresh policy.
    pub fn new() -> Live {
        Live::default()
    }
}

fn worker_input(model: &Model, now: f64, v: u32, vehicle: &Vehicle) -> Input<u32, u32, SimPlace> {
    let moving = match vehicle.legs.as_slice() {
        [leg] => match leg.kind {
            LegKind::Reposition { from, start, .. } => {
                let secs = leg.end - start;
                let f = if secs > 0.0 {
                    ((now - start) / secs).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let to = vehicle.free_pos;
                Some(GridPoint {
                    x: from.x + f * (to.x - from.x),
                    y: from.y + f * (to.y - from.y),
                })
            }
            _ => None,
        },
        _ => None,
    };
    let (place, at) = match moving {
        Some(pos) => (
            SimPlace {
                pos,
                zone: model.zone_of(pos),
                lot: None,
            },
            now,
        ),
        None => (
            SimPlace {
                pos: vehicle.free_pos,
                zone: vehicle.free_zone,
                lot: None,
            },
            vehicle.free_at,
        ),
    };
    Input::WorkerMoved {
        worker: v,
        place,
        at,
        online: vehicle.is_eligible(),
        capacity: 1,
        stops: Vec::new(),
    }
}

/// What leaving a request unserved costs: its net value (revenue less the ride's km cost and the
/// vehicle time it takes at mean speed, valued at θ(now)), as the [`crate::Batch`] policy has it.
fn unassigned_cost(travel: &SimTravel, req: &crate::instance::Request, now: f64) -> f64 {
    let ride_mean = travel
        .model
        .mean_secs(req.trip_km, req.origin_zone, req.dest_zone, now);
    (req.revenue - COST_PER_KM * req.trip_km - travel.secs_value(now) * ride_mean).max(0.0)
}

impl Policy for Live {
    fn name(&self) -> &'static str {
        "live"
    }

    fn start_day(&mut self, model: &Model, day: &Day) {
        let travel = SimTravel::new(model, day);
        self.core = Some(Dispatcher::new(
            live_config(model),
            travel,
            ZoneForecast::new(model, day),
        ));
        self.held = vec![false; day.requests.len()];
        self.held_ids.clear();
        self.seen = vec![0; day.requests.len()];
        self.decision = 0;
        self.moving.clear();
        self.moving_sent = f64::NEG_INFINITY;
        self.dirty = (0..u32::try_from(day.class.vehicles()).unwrap_or(u32::MAX)).collect();
    }

    fn decide(&mut self, view: &DecisionView<'_>, actions: &mut Actions) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        let now = view.now;
        let model = view.model;
        self.decision += 1;
        // Requests: new ones open, ones no longer pending (served or lost) are gone.
        for &r in view.pending {
            let i = r as usize;
            self.seen[i] = self.decision;
            if !self.held[i] {
                self.held[i] = true;
                self.held_ids.push(r);
                let req = &view.requests[i];
                let pickup = SimPlace {
                    pos: req.origin,
                    zone: req.origin_zone,
                    lot: None,
                };
                let dropoff = SimPlace {
                    pos: req.dest,
                    zone: req.dest_zone,
                    lot: None,
                };
                core.handle(
                    Input::JobOpened(OpenJob {
                        job: r,
                        stops: vec![
                            RouteStop {
                                job: r,
                                place: pickup,
                                window: Window::ANY,
                                service_secs: 0.0,
                                load: 1,
                            },
                            RouteStop {
                                job: r,
                                place: dropoff,
                                window: Window::ANY,
                                service_secs: 0.0,
                                load: -1,
                            },
                        ],
                        opened_at: req.release,
                        give_up_at: req.release + PICKUP_LIMIT_SECS,
                        // A request is worth serving if it earns more than its ride costs.
                        unassigned_cost: unassigned_cost(core.travel(), req, now),
                        excluded: Vec::new(),
                        history: JobHistory::default(),
                    }),
                    now,
                );
            }
        }
        let (seen, decision, held) = (&self.seen, self.decision, &mut self.held);
        self.held_ids.retain(|&r| {
            if seen[r as usize] == decision {
                return true;
            }
            held[r as usize] = false;
            core.handle(Input::JobGone(r), now);
            false
        });
        // Vehicles: those the simulator says changed, those the last decision assigned or moved,
        // and those driving to a lot (their place moves).
        self.moving.sort_unstable();
        self.moving.dedup();
        self.moving.retain(|&v| {
            view.vehicles.get(v as usize).is_some_and(|vehicle| {
                matches!(vehicle.legs.as_slice(), [leg] if matches!(leg.kind, LegKind::Reposition { .. }))
            })
        });
        let refresh_moving = now - self.moving_sent >= MOVING_REFRESH_SECS;
        if refresh_moving {
            self.moving_sent = now;
        }
        let moving: &[u32] = if refresh_moving { &self.moving } else { &[] };
        for &v in view.changed.iter().chain(&self.dirty).chain(moving) {
            if let Some(vehicle) = view.vehicles.get(v as usize) {
                core.handle(worker_input(model, now, v, vehicle), now);
            }
        }
        self.dirty.clear();
        for action in core.handle(Input::Tick, now) {
            match action {
                Action::Offer {
                    offer, job, worker, ..
                } if view.check_vehicle(job, worker).0.is_none() => {
                    // The core priced a vehicle driving to a lot from where it was at the last
                    // refresh; it has moved on and cannot make the pickup in time from here.
                    core.handle(Input::OfferFailed(offer), now);
                    self.dirty.push(worker);
                }
                Action::Offer {
                    offer, job, worker, ..
                } => {
                    actions.assign.push((job, worker));
                    core.handle(
                        Input::OfferAnswered {
                            offer,
                            accepted: true,
                        },
                        now,
                    );
                    self.dirty.push(worker);
                }
                Action::Reposition { worker, to } => {
                    // The simulator moves only idle vehicles (a vehicle still driving to a lot
                    // it was sent to is not idle), as a driver ignores a suggestion mid-drive.
                    let idle = view
                        .vehicles
                        .get(worker as usize)
                        .is_some_and(Vehicle::is_idle);
                    if let Some(lot) = to.lot
                        && idle
                    {
                        actions.reposition.push((worker, lot));
                        self.dirty.push(worker);
                        self.moving.push(worker);
                    }
                }
                // Vehicles here answer every offer at once, and the simulator itself drops a
                // request past the pickup limit (it leaves `pending`, and the core hears JobGone).
                Action::ExpireOffer { .. } | Action::Unfulfilled { .. } => {}
            }
        }
    }
}
