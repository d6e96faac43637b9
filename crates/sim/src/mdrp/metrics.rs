//! The figures of a simulated day: what the paper reports (orders delivered, click-to-door,
//! ready-to-pickup, overage, courier pay, utilisation, bundle size) and the distance to the
//! per-order lower bound.

use super::engine::{Move, Outcome};
use super::instance::Instance;
use crate::engine::percentile;

/// The per-order figures of one day, kept to pool several days.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFigures {
    /// Click-to-door of each delivered order, minutes.
    pub ctd: Vec<f64>,
    /// Ready-to-pickup of each delivered order, minutes.
    pub r2p: Vec<f64>,
    /// The lower bound of each delivered order, minutes.
    pub lower_bound: Vec<f64>,
}

/// The figures of one day under one policy.
#[derive(Debug, Clone, PartialEq)]
pub struct DayFigures {
    /// Orders of the instance.
    pub orders: usize,
    /// Orders some courier could serve ([`Instance::serveable`]).
    pub serveable: usize,
    /// Orders delivered.
    pub delivered: usize,
    /// Serveable orders not delivered.
    pub missed_serveable: usize,
    /// Mean click-to-door, minutes.
    pub ctd_mean: f64,
    /// 90th percentile of click-to-door, minutes.
    pub ctd_p90: f64,
    /// Mean ready-to-pickup, minutes.
    pub r2p_mean: f64,
    /// 90th percentile of ready-to-pickup, minutes.
    pub r2p_p90: f64,
    /// Mean of `max(0, click-to-door - target)`, minutes.
    pub overage_mean: f64,
    /// Total courier pay: per courier `max(pay per order x orders, pay per hour x shift hours)`.
    pub pay_total: f64,
    /// `pay_total / delivered`.
    pub pay_per_order: f64,
    /// Mean orders per instruction.
    pub bundle_mean: f64,
    /// Mean over couriers of (driving + pickup and drop-off service) / shift length.
    pub utilisation_mean: f64,
    /// Delivered orders per courier-hour on shift.
    pub orders_per_courier_hour: f64,
    /// Mean lower bound of the delivered orders, minutes.
    pub lower_bound_mean: f64,
    /// Mean of click-to-door less the lower bound over the delivered orders, minutes.
    pub excess_mean: f64,
    /// Instructions refused by the rules.
    pub refused: usize,
    /// The per-order figures.
    pub per_order: OrderFigures,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The 90th percentile (nearest rank) of `v`.
pub fn p90(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    percentile(&s, 0.9)
}

/// Computes the figures of `outcome` on `inst`.
pub fn figures(inst: &Instance, outcome: &Outcome) -> DayFigures {
    let p = &inst.params;
    let mut per = OrderFigures::default();
    let mut overage = Vec::new();
    let mut serveable = 0;
    let mut missed = 0;
    for (o, d) in outcome.deliveries.iter().enumerate() {
        let order = &inst.orders[o];
        let can = inst.serveable(o);
        serveable += usize::from(can);
        let Some(d) = d else {
            missed += usize::from(can);
            continue;
        };
        let ctd = d.dropoff - order.placement;
        per.ctd.push(ctd);
        per.r2p.push(d.pickup - order.ready);
        per.lower_bound.push(inst.lower_bound_min(o));
        overage.push((ctd - p.target_ctd_min).max(0.0));
    }
    let delivered = per.ctd.len();
    let mut orders_of = vec![0usize; inst.couriers.len()];
    let mut bundles_of = vec![0usize; inst.couriers.len()];
    for a in &outcome.assignments {
        orders_of[a.courier] += a.orders.len();
        bundles_of[a.courier] += 1;
    }
    let mut pay_total = 0.0;
    let mut utilisation = Vec::with_capacity(inst.couriers.len());
    for (c, shift) in inst.couriers.iter().enumerate() {
        let hours = (shift.off - shift.on) / 60.0;
        pay_total += (p.pay_per_order * orders_of[c] as f64).max(p.pay_per_hour * hours);
        let driving: f64 = outcome.moves[c].iter().map(|m: &Move| m.minutes).sum();
        let busy = driving
            + p.pickup_service_min * bundles_of[c] as f64
            + p.dropoff_service_min * orders_of[c] as f64;
        let minutes = shift.off - shift.on;
        utilisation.push(if minutes > 0.0 { busy / minutes } else { 0.0 });
    }
    let excess: Vec<f64> = per
        .ctd
        .iter()
        .zip(&per.lower_bound)
        .map(|(c, l)| c - l)
        .collect();
    let hours = inst.courier_hours();
    DayFigures {
        orders: inst.orders.len(),
        serveable,
        delivered,
        missed_serveable: missed,
        ctd_mean: mean(&per.ctd),
        ctd_p90: p90(&per.ctd),
        r2p_mean: mean(&per.r2p),
        r2p_p90: p90(&per.r2p),
        overage_mean: mean(&overage),
        pay_total,
        pay_per_order: if delivered > 0 {
            pay_total / delivered as f64
        } else {
            0.0
        },
        bundle_mean: if outcome.assignments.is_empty() {
            0.0
        } else {
            delivered as f64 / outcome.assignments.len() as f64
        },
        utilisation_mean: mean(&utilisation),
        orders_per_courier_hour: if hours > 0.0 {
            delivered as f64 / hours
        } else {
            0.0
        },
        lower_bound_mean: mean(&per.lower_bound),
        excess_mean: mean(&excess),
        refused: outcome.refused.len(),
        per_order: per,
    }
}
