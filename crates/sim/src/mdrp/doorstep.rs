//! `doorstep`: the platform's dispatcher on the MDRP. The policy is a thin adapter, as
//! [`crate::live`] is for rides: orders become delivery jobs (a pickup at the restaurant whose
//! window opens when the food is ready, a drop-off at the customer), couriers become workers with
//! a place, the time they are free there and their shift, and each minute the very [`Dispatcher`]
//! the server runs is ticked with [`DeliveryRules`]. Its offers (one job, or a bundle of one
//! restaurant's orders) become instructions; couriers here accept every offer at once.
//!
//! The tuning is derived from the instance itself (its speed, service times and click-to-door
//! target), never from a particular instance.

use doorstep_dispatch::{
    Action, DeliveryRules, DispatchConfig, Dispatcher, Input, JobHistory, NoForecast, OpenJob,
    Planar, RouteStop, TravelTime, Window,
};

use super::engine::{Assignment, Policy, View};
use super::instance::{Instance, Loc};

/// A place of the instance as the core sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MdrpPlace {
    /// The point, metres.
    pub loc: Loc,
}

impl Planar for MdrpPlace {
    fn xy_km(&self) -> (f64, f64) {
        (self.loc.x / 1000.0, self.loc.y / 1000.0)
    }
}

/// The instance's travel times in seconds: whole minutes, rounded up.
#[derive(Debug, Clone, Copy)]
pub struct MdrpTravel {
    /// Metres per minute.
    pub metres_per_min: f64,
}

impl TravelTime for MdrpTravel {
    type Place = MdrpPlace;

    fn travel_secs(&self, from: &MdrpPlace, to: &MdrpPlace, _depart: f64) -> Option<f64> {
        Some((from.loc.metres(to.loc) / self.metres_per_min).ceil() * 60.0)
    }

    fn reach_km(&self, _to: &MdrpPlace, secs: f64, _at: f64) -> f64 {
        secs / 60.0 * self.metres_per_min / 1000.0
    }

    fn min_secs(&self, km: f64, _to: &MdrpPlace, _at: f64) -> f64 {
        km * 1000.0 / self.metres_per_min * 60.0
    }

    fn stable_until(&self, _at: f64) -> f64 {
        f64::INFINITY
    }
}

type Core = Dispatcher<u32, u32, MdrpPlace, MdrpTravel, NoForecast>;

/// Seconds between two decisions (the simulation's step).
const TICK_SECS: f64 = 60.0;

/// The core's configuration for an instance.
pub fn mdrp_config(inst: &Instance) -> DispatchConfig {
    let p = &inst.params;
    // A courier may be priced for a pickup up to the longest acceptable click-to-door away (busy
    // until then included): an order is better late than never.
    let horizon = p.max_ctd_min * 60.0;
    DispatchConfig {
        offer_timeout_secs: TICK_SECS,
        // Every known order is in the batch, so many compete for the couriers near them: 24 priced
        // couriers per order leave the matching room (16: 0.07 min more excess over the lower
        // bound; 8 gave 0.33 min more than 16 before bundles were judged against the plan).
        candidates_per_job: 24,
        max_reach_km: horizon / 60.0 * p.metres_per_min / 1000.0,
        max_first_stop_secs: horizon,
        stale_after_secs: f64::INFINITY,
        wait_secs_weight: 0.0,
        retry_secs: TICK_SECS,
        recheck_secs: TICK_SECS,
        reposition_interval_secs: f64::INFINITY,
        reposition_max_km: 0.0,
        // Only workers free now count as free when bundling decides whether workers are short.
        reposition_horizon_secs: 0.0,
        cell_km: 1.0,
        // Nobody on shift could reach it for an hour: it ends, never hangs.
        give_up_unreachable_secs: 3600.0,
    }
}

/// The delivery rules for an instance.
pub fn mdrp_rules(inst: &Instance) -> DeliveryRules {
    let p = &inst.params;
    DeliveryRules {
        // Leave so as to arrive when the window opens (half a pickup service before the food is
        // ready); a decision a minute later would be a minute late.
        commit_lead_secs: TICK_SECS,
        // Every known order is in every batch: the tentative matches of orders ready later keep
        // the couriers they will need from being taken by orders that can be served otherwise.
        plan_ahead_secs: f64::INFINITY,
        // A minute of a customer's wait at a late pickup weighs as twenty minutes of a courier's
        // driving: couriers are idle about half of their shift (the instances' utilisation), the
        // customer's click-to-door is the measure.
        late_secs_weight: 20.0,
        max_bundle_jobs: 3,
        // The MDRP bundles orders of one restaurant only.
        bundle_radius_km: 0.0,
        // A bundle may delay an order by at most one drop-off service and a short drive.
        bundle_max_delay_secs: (p.dropoff_service_min + p.pickup_service_min) * 60.0,
        bundle_delay_weight: 1.0,
        bundle_when_short: 1.0,
        wait_unreachable: false,
    }
}

/// The `doorstep` policy: see the module documentation.
#[derive(Debug, Default)]
pub struct DoorstepPolicy {
    core: Option<Core>,
    /// Per order: opened in the core and not yet gone.
    held: Vec<bool>,
    /// Per order: ended by the core as unfulfilled.
    ended: Vec<bool>,
    /// Per courier: the free time last told to the core (`NaN`: never), and whether it is gone.
    told: Vec<f64>,
    gone: Vec<bool>,
}

impl DoorstepPolicy {
    /// A fresh policy.
    pub fn new() -> DoorstepPolicy {
        DoorstepPolicy::default()
    }
}

fn job_of(inst: &Instance, o: usize) -> OpenJob<u32, u32, MdrpPlace> {
    let order = &inst.orders[o];
    let p = &inst.params;
    let id = u32::try_from(o).unwrap_or(u32::MAX);
    let ready = order.ready * 60.0;
    OpenJob {
        job: id,
        stops: vec![
            RouteStop {
                job: id,
                place: MdrpPlace {
                    loc: inst.pickup_loc(o),
                },
                // The pickup happens at max(ready, arrival + half the service): service starts
                // half a service before the ready time at the earliest.
                window: Window {
                    earliest: ready - p.pickup_service_min * 30.0,
                    latest: f64::INFINITY,
                },
                service_secs: p.pickup_service_min * 60.0,
                load: 1,
            },
            RouteStop {
                job: id,
                place: MdrpPlace { loc: order.loc },
                window: Window::ANY,
                service_secs: p.dropoff_service_min * 60.0,
                load: -1,
            },
        ],
        opened_at: order.placement * 60.0,
        give_up_at: f64::INFINITY,
        unassigned_cost: 1.0e7,
        excluded: Vec::new(),
        history: JobHistory::default(),
    }
}

impl Policy for DoorstepPolicy {
    fn name(&self) -> &'static str {
        "doorstep"
    }

    fn start(&mut self, inst: &Instance) {
        let mut core = Dispatcher::new(
            mdrp_config(inst),
            MdrpTravel {
                metres_per_min: inst.params.metres_per_min,
            },
            NoForecast,
        )
        .with_delivery_rules(mdrp_rules(inst))
        // A bundle is judged against the courier each order would really get (one busy for
        // another ten minutes, say), not one waiting at the restaurant as the food is ready.
        .with_planned_bundles(true);
        for (c, shift) in inst.couriers.iter().enumerate() {
            core.handle(
                Input::WorkerShift {
                    worker: u32::try_from(c).unwrap_or(u32::MAX),
                    pickups_until: (shift.off - inst.params.pickup_service_min / 2.0) * 60.0,
                },
                0.0,
            );
        }
        self.core = Some(core);
        self.held = vec![false; inst.orders.len()];
        self.ended = vec![false; inst.orders.len()];
        self.told = vec![f64::NAN; inst.couriers.len()];
        self.gone = vec![false; inst.couriers.len()];
    }

    fn decide(&mut self, view: &View<'_>, out: &mut Vec<Assignment>) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        let inst = view.instance;
        let now = view.now * 60.0;
        for &o in view.pending {
            if !self.held[o] && !self.ended[o] {
                self.held[o] = true;
                core.handle(Input::JobOpened(job_of(inst, o)), now);
            }
        }
        for (c, state) in view.couriers.iter().enumerate() {
            if self.gone[c] {
                continue;
            }
            let w = u32::try_from(c).unwrap_or(u32::MAX);
            let shift = &inst.couriers[c];
            if view.now > shift.off - inst.params.pickup_service_min / 2.0 {
                // Past its last possible pickup: it takes no more work.
                self.gone[c] = true;
                core.handle(Input::WorkerGone(w), now);
                continue;
            }
            if self.told[c].to_bits() != state.free_at.to_bits() {
                self.told[c] = state.free_at;
                core.handle(
                    Input::WorkerMoved {
                        worker: w,
                        place: MdrpPlace { loc: state.loc },
                        at: state.free_at * 60.0,
                        online: true,
                        capacity: 8,
                        stops: Vec::new(),
                    },
                    now,
                );
            }
        }
        let actions = core.handle(Input::Tick, now);
        let mut answered: Vec<doorstep_dispatch::OfferNo> = Vec::new();
        for action in actions {
            match action {
                Action::Offer { offer, worker, .. } => {
                    if answered.contains(&offer) {
                        continue; // another job of a bundle already carried out
                    }
                    answered.push(offer);
                    let orders: Vec<usize> = core
                        .offered_route(offer)
                        .unwrap_or(&[])
                        .iter()
                        .filter(|s| s.load < 0)
                        .map(|s| s.job as usize)
                        .collect();
                    let jobs = core.offer_jobs(offer).to_vec();
                    core.handle(
                        Input::OfferAnswered {
                            offer,
                            accepted: true,
                        },
                        now,
                    );
                    for j in jobs {
                        self.held[j as usize] = false;
                        core.handle(Input::JobGone(j), now);
                    }
                    out.push(Assignment {
                        courier: worker as usize,
                        orders,
                    });
                }
                Action::Unfulfilled { job, .. } => {
                    self.ended[job as usize] = true;
                    self.held[job as usize] = false;
                    core.handle(Input::JobGone(job), now);
                }
                // Couriers here answer at once and no forecast is given.
                Action::ExpireOffer { .. } | Action::Reposition { .. } => {}
            }
        }
    }
}
