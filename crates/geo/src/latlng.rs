//! WGS84 latitude/longitude and great-circle distance.

use serde::{Deserialize, Serialize};

/// Mean radius of the Earth in kilometres (IUGG), used by [`haversine_km`].
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The latitudes of a [`LatLng`], in degrees.
pub const LATITUDE_DEGREES: std::ops::RangeInclusive<f64> = -90.0..=90.0;

/// The longitudes of a [`LatLng`], in degrees.
pub const LONGITUDE_DEGREES: std::ops::RangeInclusive<f64> = -180.0..=180.0;

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
        if !LATITUDE_DEGREES.contains(&lat) {
            return Err(InvalidLatLng::Latitude(lat));
        }
        if !LONGITUDE_DEGREES.contains(&lng) {
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
/// Good to about 0.5% against the ellipsoid, which is plenty for dispatch. [`crate::GridIndex`]
/// ranks by a projected plane distance that agrees with this one within 0.2% over a city.
pub fn haversine_km(a: LatLng, b: LatLng) -> f64 {
    let (lat_a, lat_b) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat_b - lat_a;
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat_a.cos() * lat_b.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}
