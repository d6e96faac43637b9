//! The rules of the MDRP as a minute-by-minute simulation: orders become known at their
//! placement, a policy decides at every minute with what is known then, and the engine checks
//! each instruction against the rules before carrying it out.
//!
//! The rules (Reyes et al., "Meal Delivery Routing: The Grubhub Instances"):
//! - an instruction sends an idle, on-duty courier from where it waits to one restaurant to pick
//!   up one or more of its orders (a bundle) and deliver them in the given order; a courier takes
//!   no other instruction until the last drop-off is done (no diversion, no prepositioning);
//! - the pickup happens at `max(latest ready time of the bundle, arrival + half the restaurant's
//!   service time)`, the courier leaves half a service time later;
//! - a drop-off happens at the arrival plus half the customer's service time, the courier leaves
//!   half a service time later and waits there for its next instruction;
//! - no pickup after the courier's off-time (drop-offs may end later);
//! - travel times are the instance's ([`Instance::travel_min`]).

use super::instance::{Instance, Loc};

/// An instruction: courier `courier` picks up `orders` (all of one restaurant) and delivers them
/// in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The courier (an index into [`Instance::couriers`]).
    pub courier: usize,
    /// The orders (indices into [`Instance::orders`]), in drop-off order.
    pub orders: Vec<usize>,
}

/// Why the engine refused an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The courier does not exist.
    #[error("unknown courier")]
    UnknownCourier,
    /// The courier's shift has not started or its last possible pickup has passed.
    #[error("courier not on duty")]
    NotOnDuty,
    /// The courier is still carrying out an earlier instruction.
    #[error("courier busy")]
    CourierBusy,
    /// The instruction has no order.
    #[error("no order")]
    NoOrder,
    /// An order does not exist.
    #[error("unknown order")]
    UnknownOrder,
    /// An order is not placed yet (the policy cannot know it).
    #[error("order not placed yet")]
    NotPlaced,
    /// An order was already assigned (or appears twice).
    #[error("order already assigned")]
    AlreadyAssigned,
    /// The orders are from more than one restaurant.
    #[error("orders of several restaurants")]
    MixedRestaurants,
    /// The pickup would be after the courier's off-time.
    #[error("pickup after the courier's off-time")]
    PickupAfterOff,
}

/// Where a courier is or goes, as the solution files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Where its shift started (`0` in the files).
    Start,
    /// A restaurant.
    Restaurant(usize),
    /// An order's customer.
    Customer(usize),
}

/// One drive of a courier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    /// When it leaves, minutes.
    pub depart: f64,
    /// From.
    pub from: Stop,
    /// To.
    pub to: Stop,
    /// The drive's minutes.
    pub minutes: f64,
}

/// A carried-out instruction.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentRecord {
    /// When it was given, minutes.
    pub at: f64,
    /// When the bundle was picked up, minutes.
    pub pickup: f64,
    /// The courier.
    pub courier: usize,
    /// The orders in drop-off order.
    pub orders: Vec<usize>,
}

/// What happened to a delivered order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivery {
    /// Its courier.
    pub courier: usize,
    /// When it was assigned, minutes.
    pub assigned: f64,
    /// When it was picked up, minutes.
    pub pickup: f64,
    /// When it was dropped off, minutes.
    pub dropoff: f64,
}

/// A courier as the policies see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CourierState {
    /// Where it waits, or will wait once its current instruction is done.
    pub loc: Loc,
    /// Where that is, as the files name it.
    pub stop: Stop,
    /// When it can leave `loc` (its shift start, or the end of its last drop-off's service).
    pub free_at: f64,
    /// Orders it has been given so far.
    pub orders: u32,
}

/// What a policy sees at a decision.
#[derive(Debug)]
pub struct View<'a> {
    /// Now, minutes.
    pub now: f64,
    /// The instance (a policy reads an order only once it is in `pending` or was assigned, and a
    /// courier's shift, which is planned in advance).
    pub instance: &'a Instance,
    /// Orders placed and not yet assigned, in order of placement.
    pub pending: &'a [usize],
    /// Every courier (including those whose shift has not started or has ended).
    pub couriers: &'a [CourierState],
}

impl View<'_> {
    /// Whether courier `c` can take an instruction now (on duty, idle).
    pub fn idle(&self, c: usize) -> bool {
        let shift = &self.instance.couriers[c];
        shift.on <= self.now && self.now <= shift.off && self.couriers[c].free_at <= self.now
    }

    /// When courier `c`, leaving at `depart` from where it waits, would pick up orders of
    /// restaurant `r` ready by `ready`.
    pub fn pickup_time(&self, c: usize, depart: f64, r: usize, ready: f64) -> f64 {
        let inst = self.instance;
        let drive = inst.travel_min(self.couriers[c].loc, inst.restaurants[r].loc);
        ready.max(depart + drive + inst.params.pickup_service_min / 2.0)
    }
}

/// A dispatch policy for the MDRP.
pub trait Policy {
    /// Its name in reports.
    fn name(&self) -> &'static str;
    /// Called once before the first decision.
    fn start(&mut self, instance: &Instance);
    /// Decides at `view.now`: the instructions to carry out now.
    fn decide(&mut self, view: &View<'_>, out: &mut Vec<Assignment>);
}

/// The result of a simulated day.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The instructions carried out, in order.
    pub assignments: Vec<AssignmentRecord>,
    /// Per order, its delivery (`None`: never assigned).
    pub deliveries: Vec<Option<Delivery>>,
    /// Per courier, its drives in order.
    pub moves: Vec<Vec<Move>>,
    /// Instructions refused by the rules (a correct policy has none).
    pub refused: Vec<(Assignment, RuleError)>,
    /// Decisions asked of the policy.
    pub decisions: u64,
}

/// Runs `policy` on `instance` from the first placement or shift start to the last off-time (or
/// until every order is assigned and none is to come).
pub fn simulate(instance: &Instance, policy: &mut dyn Policy) -> Outcome {
    policy.start(instance);
    let mut order_ids: Vec<usize> = (0..instance.orders.len()).collect();
    order_ids.sort_by(|&a, &b| {
        instance.orders[a]
            .placement
            .total_cmp(&instance.orders[b].placement)
            .then(a.cmp(&b))
    });
    let mut couriers: Vec<CourierState> = instance
        .couriers
        .iter()
        .map(|c| CourierState {
            loc: c.loc,
            stop: Stop::Start,
            free_at: c.on,
            orders: 0,
        })
        .collect();
    let mut out = Outcome {
        deliveries: vec![None; instance.orders.len()],
        moves: vec![Vec::new(); instance.couriers.len()],
        ..Outcome::default()
    };
    let first = instance
        .orders
        .iter()
        .map(|o| o.placement)
        .chain(instance.couriers.iter().map(|c| c.on))
        .fold(f64::INFINITY, f64::min);
    let last_off = instance
        .couriers
        .iter()
        .map(|c| c.off)
        .fold(f64::NEG_INFINITY, f64::max);
    if !first.is_finite() || !last_off.is_finite() {
        return out;
    }
    let mut now = first.floor();
    let mut next = 0; // next order to be placed, in order_ids
    let mut pending: Vec<usize> = Vec::new();
    let mut given: Vec<Assignment> = Vec::new();
    while now <= last_off {
        while next < order_ids.len() && instance.orders[order_ids[next]].placement <= now {
            pending.push(order_ids[next]);
            next += 1;
        }
        if pending.is_empty() && next >= order_ids.len() {
            break;
        }
        if !pending.is_empty() {
            let view = View {
                now,
                instance,
                pending: &pending,
                couriers: &couriers,
            };
            given.clear();
            policy.decide(&view, &mut given);
            out.decisions += 1;
            for a in given.drain(..) {
                match carry_out(instance, &mut couriers, &mut out, &a, now) {
                    Ok(()) => {}
                    Err(e) => out.refused.push((a, e)),
                }
            }
            pending.retain(|&o| out.deliveries[o].is_none());
        }
        now += 1.0;
    }
    out
}

/// Checks `a` against the rules at `now` and carries it out.
fn carry_out(
    inst: &Instance,
    couriers: &mut [CourierState],
    out: &mut Outcome,
    a: &Assignment,
    now: f64,
) -> Result<(), RuleError> {
    let shift = inst
        .couriers
        .get(a.courier)
        .ok_or(RuleError::UnknownCourier)?;
    let state = couriers[a.courier];
    if now < shift.on || now > shift.off {
        return Err(RuleError::NotOnDuty);
    }
    if state.free_at > now {
        return Err(RuleError::CourierBusy);
    }
    let first = *a.orders.first().ok_or(RuleError::NoOrder)?;
    let r = inst
        .orders
        .get(first)
        .ok_or(RuleError::UnknownOrder)?
        .restaurant;
    let mut ready = f64::NEG_INFINITY;
    for (i, &o) in a.orders.iter().enumerate() {
        let order = inst.orders.get(o).ok_or(RuleError::UnknownOrder)?;
        if order.placement > now {
            return Err(RuleError::NotPlaced);
        }
        if out.deliveries[o].is_some() || a.orders[..i].contains(&o) {
            return Err(RuleError::AlreadyAssigned);
        }
        if order.restaurant != r {
            return Err(RuleError::MixedRestaurants);
        }
        ready = ready.max(order.ready);
    }
    let p = &inst.params;
    let rloc = inst.restaurants[r].loc;
    let to_r = inst.travel_min(state.loc, rloc);
    let pickup = ready.max(now + to_r + p.pickup_service_min / 2.0);
    if pickup > shift.off {
        return Err(RuleError::PickupAfterOff);
    }
    let moves = &mut out.moves[a.courier];
    moves.push(Move {
        depart: now,
        from: state.stop,
        to: Stop::Restaurant(r),
        minutes: to_r,
    });
    let mut t = pickup + p.pickup_service_min / 2.0;
    let (mut at, mut stop) = (rloc, Stop::Restaurant(r));
    for &o in &a.orders {
        let order = &inst.orders[o];
        let drive = inst.travel_min(at, order.loc);
        moves.push(Move {
            depart: t,
            from: stop,
            to: Stop::Customer(o),
            minutes: drive,
        });
        let dropoff = t + drive + p.dropoff_service_min / 2.0;
        out.deliveries[o] = Some(Delivery {
            courier: a.courier,
            assigned: now,
            pickup,
            dropoff,
        });
        t = dropoff + p.dropoff_service_min / 2.0;
        at = order.loc;
        stop = Stop::Customer(o);
    }
    let c = &mut couriers[a.courier];
    c.loc = at;
    c.stop = stop;
    c.free_at = t;
    c.orders += u32::try_from(a.orders.len()).unwrap_or(u32::MAX);
    out.assignments.push(AssignmentRecord {
        at: now,
        pickup,
        courier: a.courier,
        orders: a.orders.clone(),
    });
    Ok(())
}
