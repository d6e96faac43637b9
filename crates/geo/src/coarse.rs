//! Coarse sightings: what a rider may learn about the providers around a point. Exact positions of
//! available drivers, asked for often enough, let anyone follow them around the city; so a rider's map gets
//! positions snapped to a grid of [`COARSE_CELL_M`] cells, distances in steps of the cell and ETAs in
//! steps of [`COARSE_ETA_S`], sorted by coarse distance with ties in random order (so that the order of
//! two answers does not link the same car across them), and no identities at all.

use crate::LatLng;
use rand::Rng;
use rand::seq::SliceRandom;

/// Side of a cell of the coarse grid, metres: a snapped position is within about 36 m (half the cell's
/// diagonal) of the true one.
pub const COARSE_CELL_M: f64 = 50.0;
/// Step of coarse ETAs, seconds.
pub const COARSE_ETA_S: f64 = 30.0;
/// Metres in a degree of latitude (and of longitude at the equator), on the mean Earth radius.
const METRES_PER_DEGREE: f64 = crate::EARTH_RADIUS_KM * 1000.0 * std::f64::consts::PI / 180.0;
/// The smallest cosine of latitude used for the longitude step, so that cells stay finite near the poles.
const MIN_COS_LAT: f64 = 0.01;

/// `p` snapped to the nearest node of a grid whose cells are about `cell_m` metres on a side: latitude in
/// steps of `cell_m` metres, longitude in steps of `cell_m` metres at the snapped latitude. Snapping a
/// snapped position gives it back unchanged. A `cell_m` that is not a positive finite number leaves `p`
/// as it is.
pub fn snap_to_grid(p: LatLng, cell_m: f64) -> LatLng {
    if !(cell_m.is_finite() && cell_m > 0.0) {
        return p;
    }
    let lat_step = cell_m / METRES_PER_DEGREE;
    let mut lat_k = (p.lat() / lat_step).round();
    if lat_k * lat_step > 90.0 {
        lat_k -= 1.0;
    } else if lat_k * lat_step < -90.0 {
        lat_k += 1.0;
    }
    let lat = lat_k * lat_step;
    let lng_step = cell_m / (METRES_PER_DEGREE * lat.to_radians().cos().max(MIN_COS_LAT));
    let mut lng_k = (p.lng() / lng_step).round();
    if lng_k * lng_step > 180.0 {
        lng_k -= 1.0;
    } else if lng_k * lng_step < -180.0 {
        lng_k += 1.0;
    }
    // Both coordinates are in range by construction; the fallback is never taken.
    LatLng::new(lat, lng_k * lng_step).unwrap_or(p)
}

/// `x` rounded to the nearest multiple of `step` (negative and non-finite values count as 0).
pub fn round_to_step(x: f64, step: f64) -> f64 {
    if !(x.is_finite() && x > 0.0 && step.is_finite() && step > 0.0) {
        return 0.0;
    }
    (x / step).round() * step
}

/// An available provider seen from a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sighting {
    /// Where the provider is.
    pub position: LatLng,
    /// Straight-line distance to the point, metres.
    pub distance_m: f64,
    /// Estimated drive to the point, seconds.
    pub eta_s: f64,
}

/// The coarse version of `exact`: each position snapped to the [`COARSE_CELL_M`] grid, each distance
/// rounded to a multiple of [`COARSE_CELL_M`] and each ETA to a multiple of [`COARSE_ETA_S`], closest
/// (coarse) first, with equal coarse distances in an order drawn from `rng`.
pub fn coarsen_sightings(exact: &[Sighting], rng: &mut impl Rng) -> Vec<Sighting> {
    let mut coarse: Vec<Sighting> = exact
        .iter()
        .map(|s| Sighting {
            position: snap_to_grid(s.position, COARSE_CELL_M),
            distance_m: round_to_step(s.distance_m, COARSE_CELL_M),
            eta_s: round_to_step(s.eta_s, COARSE_ETA_S),
        })
        .collect();
    // Shuffle, then sort stably: ties keep the random order.
    coarse.shuffle(rng);
    coarse.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    coarse
}
