//! Whether a reported position is believable. A worker's positions move the worker on the map, decide who
//! is at a stop, and their sum is the distance a fare is charged for: a phone that jumps across the city or
//! reports from another continent must not move anything. [`check_position`] judges one point against the
//! worker's previous accepted one.

use crate::time::Timestamp;
use doorstep_geo::{City, LatLng, haversine_km};
use serde::{Deserialize, Serialize};

/// The limits a reported position must respect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PositionLimits {
    /// The highest speed, km/h, implied by two consecutive accepted points that is still believed.
    pub max_speed_kmh: f64,
    /// How far outside the service area, km, a position is still believed.
    pub service_area_margin_km: f64,
}

impl Default for PositionLimits {
    /// 150 km/h: above any legal speed on a city street or a nearby highway, with room for GPS noise
    /// between two fixes a second apart; 5 km around the service area: drivers come in from New Jersey,
    /// Brooklyn and Queens, and farther than that a driver cannot be offered a pickup anyway.
    fn default() -> Self {
        Self {
            max_speed_kmh: 150.0,
            service_area_margin_km: 5.0,
        }
    }
}

/// Why a position was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Implausible {
    /// Reaching it from the previous accepted point would take more than the speed limit.
    TooFast,
    /// It is outside the service area and its margin.
    OutsideServiceArea,
}

impl Implausible {
    /// Every reason.
    pub const ALL: [Implausible; 2] = [Implausible::TooFast, Implausible::OutsideServiceArea];

    /// The stable snake_case name (a metric label and an API field).
    pub const fn as_str(self) -> &'static str {
        match self {
            Implausible::TooFast => "too_fast",
            Implausible::OutsideServiceArea => "outside_service_area",
        }
    }
}

/// Judges `next` against the previous accepted point of the same worker (`None` for the first one).
///
/// A point outside the service area plus the margin is [`Implausible::OutsideServiceArea`] (whatever its
/// speed). A point farther from the previous one than the speed limit allows in the time between them is
/// [`Implausible::TooFast`]; two points taken at the same instant must be at the same place. Time is
/// the time the phone stamped on the points: a phone can stretch it by at most what the server allows
/// (points no more than a minute in the future and never older than the previous accepted one), so the
/// distance a phone can claim stays bounded by the limit times the real duration, plus a minute.
pub fn check_position(
    limits: &PositionLimits,
    city: &City,
    previous: Option<(LatLng, Timestamp)>,
    next: (LatLng, Timestamp),
) -> Result<(), Implausible> {
    let (p, at) = next;
    if !city.within_km(p, limits.service_area_margin_km) {
        return Err(Implausible::OutsideServiceArea);
    }
    if let Some((q, then)) = previous {
        let km = haversine_km(q, p);
        // Milliseconds between the points as a float; a point older than the previous one is not
        // judged here (the caller skips it), but counts as no time at all if it comes.
        let hours = (at.millis_since(then).max(0) as f64) / 3_600_000.0;
        if km > limits.max_speed_kmh * hours {
            return Err(Implausible::TooFast);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lat: f64, lng: f64) -> LatLng {
        LatLng::new(lat, lng).unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + secs * 1000)
    }

    #[test]
    fn a_car_moving_at_city_speed_is_believed_and_a_jump_across_town_is_not() {
        let limits = PositionLimits::default();
        let city = City::manhattan();
        let a = ll(40.7484, -73.9857);
        // About 111 m in 10 s: 40 km/h.
        let b = ll(40.7494, -73.9857);
        assert_eq!(
            check_position(&limits, city, Some((a, at(0))), (b, at(10))),
            Ok(())
        );
        // About 3.4 km in 10 s: 1,200 km/h.
        let c = ll(40.7790, -73.9632);
        assert_eq!(
            check_position(&limits, city, Some((a, at(0))), (c, at(10))),
            Err(Implausible::TooFast)
        );
        // The same instant at another place is infinitely fast; at the same place it is fine.
        assert_eq!(
            check_position(&limits, city, Some((a, at(5))), (b, at(5))),
            Err(Implausible::TooFast)
        );
        assert_eq!(
            check_position(&limits, city, Some((a, at(5))), (a, at(5))),
            Ok(())
        );
        assert_eq!(check_position(&limits, city, None, (c, at(0))), Ok(()));
    }

    #[test]
    fn a_point_far_outside_the_service_area_is_not_believed() {
        let limits = PositionLimits::default();
        let city = City::manhattan();
        // Jersey City, across the Hudson: within the margin.
        assert_eq!(
            check_position(&limits, city, None, (ll(40.7178, -74.0431), at(0))),
            Ok(())
        );
        // Philadelphia.
        assert_eq!(
            check_position(&limits, city, None, (ll(39.9526, -75.1652), at(0))),
            Err(Implausible::OutsideServiceArea)
        );
    }
}
