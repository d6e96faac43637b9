//! Being at a stop. A job's stops (a ride's pickup and drop-off today; a restaurant, a customer's door or
//! a patient's home later) are places, and a worker is "at" one when the last position the server accepted
//! from the worker's phone is within the stop's radius. Every job kind asks the same question through
//! [`presence`], so that the rule for arriving and finishing is one rule.

use doorstep_geo::{LatLng, haversine_km};
use serde::{Deserialize, Serialize};

/// Where a worker is relative to a stop, by the worker's last accepted position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Presence {
    /// Within the radius.
    At {
        /// Great-circle distance to the stop, whole metres (rounded up).
        distance_m: u32,
    },
    /// Farther than the radius.
    Away {
        /// Great-circle distance to the stop, whole metres (rounded up).
        distance_m: u32,
    },
    /// The server has no position of the worker.
    Unknown,
}

impl Presence {
    /// Whether the worker is at the stop.
    pub const fn is_at(self) -> bool {
        match self {
            Presence::At { .. } => true,
            Presence::Away { .. } | Presence::Unknown => false,
        }
    }

    /// The distance to the stop, when a position is known.
    pub const fn distance_m(self) -> Option<u32> {
        match self {
            Presence::At { distance_m } | Presence::Away { distance_m } => Some(distance_m),
            Presence::Unknown => None,
        }
    }
}

/// Whether a worker last seen at `position` is within `radius_m` metres of the stop at `place`. The
/// distance is rounded up to whole metres before it is compared, so a worker exactly on the radius is
/// at the stop and one a centimetre beyond it is not.
pub fn presence(place: LatLng, radius_m: u32, position: Option<LatLng>) -> Presence {
    let Some(position) = position else {
        return Presence::Unknown;
    };
    let metres = haversine_km(place, position) * 1000.0;
    // A great-circle distance on Earth is below 20,040 km: it always fits a u32 of metres.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a distance on Earth in metres is non-negative and below u32::MAX"
    )]
    let distance_m = metres.ceil().clamp(0.0, f64::from(u32::MAX)) as u32;
    if distance_m <= radius_m {
        Presence::At { distance_m }
    } else {
        Presence::Away { distance_m }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lat: f64, lng: f64) -> LatLng {
        LatLng::new(lat, lng).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_worker_within_the_radius_is_at_the_stop_and_one_beyond_it_is_not() {
        let stop = ll(40.7484, -73.9857);
        assert_eq!(
            presence(stop, 200, Some(stop)),
            Presence::At { distance_m: 0 }
        );
        // 0.001° of latitude is about 111 m.
        assert!(presence(stop, 200, Some(ll(40.7494, -73.9857))).is_at());
        let far = presence(stop, 200, Some(ll(40.7584, -73.9857)));
        assert!(!far.is_at());
        assert!(far.distance_m().is_some_and(|d| (1100..1120).contains(&d)));
        assert_eq!(presence(stop, 200, None), Presence::Unknown);
    }
}
