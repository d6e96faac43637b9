//! Places in and around Manhattan the tests put riders and drivers at.

use serde_json::{Value, json};

/// A WGS84 position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub lat: f64,
    pub lng: f64,
}

impl Place {
    /// The place as the API's `{lat, lng}`.
    pub fn json(self) -> Value {
        json!({"lat": self.lat, "lng": self.lng})
    }

    /// The point a fraction `t` of the way from `self` to `to`.
    pub fn toward(self, to: Place, t: f64) -> Place {
        Place {
            lat: self.lat + (to.lat - self.lat) * t,
            lng: self.lng + (to.lng - self.lng) * t,
        }
    }

    /// The place of an API `{lat, lng}`.
    pub fn of(v: &Value) -> Option<Place> {
        Some(Place {
            lat: v["lat"].as_f64()?,
            lng: v["lng"].as_f64()?,
        })
    }

    /// Whether `other` is (numerically) this place.
    pub fn is(self, other: &Value) -> bool {
        let close = |a: f64, b: Option<f64>| b.is_some_and(|b| (a - b).abs() < 1e-9);
        close(self.lat, other["lat"].as_f64()) && close(self.lng, other["lng"].as_f64())
    }

    /// Whether the `lat`/`lng` of `other` are within `metres` of this place (great-circle).
    pub fn within_m(self, other: &Value, metres: f64) -> bool {
        let (Some(lat), Some(lng)) = (other["lat"].as_f64(), other["lng"].as_f64()) else {
            return false;
        };
        match (
            doorstep_geo::LatLng::new(self.lat, self.lng),
            doorstep_geo::LatLng::new(lat, lng),
        ) {
            (Ok(a), Ok(b)) => doorstep_geo::haversine_km(a, b) * 1000.0 <= metres,
            _ => false,
        }
    }
}

pub const TIMES_SQUARE: Place = Place {
    lat: 40.7580,
    lng: -73.9855,
};
pub const BRYANT_PARK: Place = Place {
    lat: 40.7536,
    lng: -73.9832,
};
pub const GRAND_CENTRAL: Place = Place {
    lat: 40.7527,
    lng: -73.9772,
};
pub const COLUMBUS_CIRCLE: Place = Place {
    lat: 40.7681,
    lng: -73.9819,
};
pub const UNION_SQUARE: Place = Place {
    lat: 40.7359,
    lng: -73.9911,
};
pub const WASHINGTON_SQUARE: Place = Place {
    lat: 40.7308,
    lng: -73.9973,
};
pub const MET_MUSEUM: Place = Place {
    lat: 40.7794,
    lng: -73.9632,
};
/// Fifth Avenue at 34th Street.
pub const FIFTH_AVE_34TH: Place = Place {
    lat: 40.7486,
    lng: -73.9847,
};
/// Fifth Avenue at 59th Street.
pub const FIFTH_AVE_59TH: Place = Place {
    lat: 40.7644,
    lng: -73.9730,
};
/// Prospect Park, Brooklyn: outside the service area.
pub const PROSPECT_PARK: Place = Place {
    lat: 40.6602,
    lng: -73.9690,
};
