//! WGS84 latitude/longitude and great-circle distance.

use serde::{Deserialize, Serialize};

/// Mean radius of the Earth in kilometres (IUGG), used by [`haversine_km`].
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A WGS84 position in degrees; always finite, latitude in [-90, 90], longitude in [-180, 180].
///
/// The fields are private so that an invalid position cannot be built: use [`LatLng::new`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLatLng")]
pub struct LatLng {
    lat: f64,
    lng: f64,
}

/// The unchecked shape of a [`LatLng`], only used to validate deserialised values.
#[derive(Deserialize)]
struct RawLatLng {
    lat: f64,
    lng: f64,
}

impl TryFrom<RawLatLng> for LatLng {
    type Error = InvalidLatLng;

    fn try_from(raw: RawLatLng) -> Result<Self, Self::Error> {
        LatLng::new(raw.lat, raw.lng)
    }
}

/// Why a latitude/longitude pair was rejected.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum InvalidLatLng {
    /// The latitude is NaN, infinite or outside [-90, 90] degrees.
    #[error("latitude {0} is not a number in [-90, 90]")]
    Latitude(f64),
    /// The longitude is NaN, infinite or outside [-180, 180] degrees.
    #[error("longitude {0} is not a number in [-180, 180]")]
    Longitude(f64),
}

impl LatLng {
    /// Builds a position from degrees, rejecting NaN, infinities and out-of-range values.
    pub fn new(lat: f64, lng: f64) -> Result<LatLng, InvalidLatLng> {
        // `contains` is false for NaN, and the bounds exclude infinities.
        if !(-90.0..=90.0).contains(&lat) {
            return Err(InvalidLatLng::Latitude(lat));
        }
        if !(-180.0..=180.0).contains(&lng) {
            return Err(InvalidLatLng::Longitude(lng));
        }
        Ok(LatLng { lat, lng })
    }

    /// Builds a position from values computed in this crate: the latitude is clamped to
    /// [-90, 90], the longitude wrapped into [-180, 180], and NaN or infinities become 0.
    pub(crate) fn saturating(lat: f64, lng: f64) -> LatLng {
        let lat = if lat.is_finite() {
            lat.clamp(-90.0, 90.0)
        } else {
            0.0
        };
        let lng = if lng.is_finite() {
            ((lng + 180.0).rem_euclid(360.0) - 180.0).clamp(-180.0, 180.0)
        } else {
            0.0
        };
        LatLng { lat, lng }
    }

    /// Latitude in degrees, positive north.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, positive east.
    pub fn lng(&self) -> f64 {
        self.lng
    }
}

/// Great-circle distance in kilometres on a sphere of radius [`EARTH_RADIUS_KM`].
///
/// Good to about 0.5% against the ellipsoid, which is plenty for dispatch; it is the distance
/// [`crate::MoverIndex::nearest`] ranks by.
pub fn haversine_km(a: LatLng, b: LatLng) -> f64 {
    haversine_to_km(haversine(&HaversinePoint::new(a), &HaversinePoint::new(b)))
}

/// A position with the trigonometry [`haversine`] needs computed once, for scanning many
/// distances from one point. Using it gives bit-for-bit the same results as [`haversine_km`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HaversinePoint {
    lat_rad: f64,
    cos_lat: f64,
    lng_deg: f64,
}

impl HaversinePoint {
    pub(crate) fn new(p: LatLng) -> Self {
        let lat_rad = p.lat.to_radians();
        HaversinePoint {
            lat_rad,
            cos_lat: lat_rad.cos(),
            lng_deg: p.lng,
        }
    }
}

/// The haversine of the central angle between two points, in [0, 1]; monotone in the distance.
pub(crate) fn haversine(a: &HaversinePoint, b: &HaversinePoint) -> f64 {
    let dlat = b.lat_rad - a.lat_rad;
    let dlng = (b.lng_deg - a.lng_deg).to_radians();
    (dlat / 2.0).sin().powi(2) + a.cos_lat * b.cos_lat * (dlng / 2.0).sin().powi(2)
}

/// Converts a [`haversine`] value to kilometres.
pub(crate) fn haversine_to_km(h: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}
