//! The clairvoyant offline bound: an upper bound on the profit any policy can earn on a day.
//!
//! # Which bound
//!
//! The bound computed here is the *loose* one: every request served, with no empty driving and
//! with its ride charged only when it certainly ends before the end of the day. It knows all of
//! the day's requests (and their drawn ride times) in advance.
//!
//! # Why it bounds every online policy
//!
//! Any policy's profit is the revenue of the requests it serves minus the cost of the km it drives
//! before the end of the day. Revenue is earned once per served request, at most once each. The km
//! driven include, for every served request `i` whose ride ends before 86,400 s, its whole trip
//! distance. A ride of `i` ends at `pickup_i + ride_i`, `ride_i` being drawn when `i` was generated.
//! Its pickup is at most `rel_i + 300` (the latest assignment) `+ 300` (the longest wait for the
//! assigned vehicle to become free) `+` the drive to the pickup, whose L1 length `d` satisfies
//! `d / v_mean ≤ 300`, so `d ≤ 300 · v̂` with `v̂` the highest mean speed into `i`'s zone at any time,
//! and whose drawn speed is at least 1 mph (`MIN_SPEED_KMPS`): the drive takes at most
//! `300 · v̂ / MIN_SPEED_KMPS` seconds. Whenever `rel_i + 600 + 300 · v̂ / MIN_SPEED_KMPS + ride_i ≤
//! 86,400` the trip is therefore certainly charged in full. Dropping every other (non-negative)
//! cost and serving every request can only raise the profit, so
//! `Σ_i (revenue_i − 0.53 · trip_km_i · [ride certainly ends in the day])` is an upper bound for
//! every policy, online or not, on every draw of the drive times.
//!
//! It is loose, like the chain-flow bound with 600 s of slack per arc that the data README
//! describes (about $30k on SUI days): it ignores that a vehicle can be in one place at a time. A
//! bound worth comparing against carries pickup times along vehicle chains (a time-expanded network
//! or a MIP relaxation); that is future work, and every ratio printed against this bound says so.

use doorstep_geo::MIN_SPEED_KMPS;
use serde::Serialize;

use crate::instance::{COST_PER_KM, DAY_SECS, Day, Model, PICKUP_LIMIT_SECS};

/// An upper bound on the profit of a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfflineBound {
    /// Which bound this is, in words.
    pub kind: &'static str,
    /// The bound on profit, dollars.
    pub profit: f64,
    /// Requests the bound counts as served.
    pub served: usize,
}

/// The name of the bound [`offline_bound`] computes.
pub const LOOSE_BOUND: &str = "loose: all requests served, no empty km";

/// The loose clairvoyant bound of `day` (see the module documentation for the proof).
pub fn offline_bound(model: &Model, day: &Day) -> OfflineBound {
    let mut profit = 0.0;
    let mut served = 0;
    for r in &day.requests {
        let v_hat = model.max_speed_into_any_time(r.origin_zone);
        let latest_pickup =
            r.release + 2.0 * PICKUP_LIMIT_SECS + PICKUP_LIMIT_SECS * v_hat / MIN_SPEED_KMPS;
        let trip_cost = if latest_pickup + r.ride_secs <= DAY_SECS {
            COST_PER_KM * r.trip_km
        } else {
            0.0
        };
        let value = r.revenue - trip_cost;
        if value > 0.0 {
            profit += value;
            served += 1;
        }
    }
    OfflineBound {
        kind: LOOSE_BOUND,
        profit,
        served,
    }
}
