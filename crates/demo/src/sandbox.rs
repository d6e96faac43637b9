//! The demo's sandbox: a small area in Inwood that the simulated city keeps clear of, so that a person
//! trying the API by hand (the README's curl tour) or driving in the browser gets the rides requested
//! there. Simulated riders never request a ride from or to it, simulated drivers never wait in it, and a
//! simulated driver offered a ride from it declines at once (it may be passing through).

use doorstep_geo::{LatLng, Utm, to_utm};

/// Centre of the sandbox: Broadway at Isham Street, Inwood.
pub const SANDBOX_CENTER: (f64, f64) = (40.8682, -73.9198);
/// Radius of the sandbox, metres.
pub const SANDBOX_RADIUS_M: f64 = 700.0;

/// Whether a point (UTM 18N, km) is inside the sandbox.
pub fn contains(p: Utm) -> bool {
    let Ok(center) = LatLng::new(SANDBOX_CENTER.0, SANDBOX_CENTER.1) else {
        return false;
    };
    let c = to_utm(center);
    let (dx, dy) = (p.x - c.x, p.y - c.y);
    (dx * dx + dy * dy).sqrt() * 1000.0 <= SANDBOX_RADIUS_M
}

/// Whether a point (latitude, longitude) is inside the sandbox.
pub fn contains_latlng(lat: f64, lng: f64) -> bool {
    LatLng::new(lat, lng).is_ok_and(|p| contains(to_utm(p)))
}

/// How far (km) a point is from the sandbox's centre.
pub fn distance_km(p: Utm) -> f64 {
    let Ok(center) = LatLng::new(SANDBOX_CENTER.0, SANDBOX_CENTER.1) else {
        return f64::INFINITY;
    };
    let c = to_utm(center);
    ((p.x - c.x).powi(2) + (p.y - c.y).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_geo::City;

    #[test]
    fn the_sandbox_is_served_land_and_the_readme_tour_points_are_in_it() {
        let city = City::manhattan();
        // The README's curl tour: the driver goes online here, the pickup and the drop-off.
        let driver = (40.8672, -73.9207);
        let pickup = (40.8682, -73.9198);
        let dropoff = (40.8649, -73.9243);
        for (lat, lng) in [driver, pickup, dropoff] {
            let p = LatLng::new(lat, lng).expect("a valid point");
            assert!(city.covers(p), "{lat},{lng} is not served");
            assert!(
                contains_latlng(lat, lng),
                "{lat},{lng} is outside the sandbox"
            );
        }
        assert!(
            !contains_latlng(40.7484, -73.9857),
            "Midtown is not in the sandbox"
        );
        // Simulated drivers wait at lots: some lot lies outside the sandbox, and the nearest one to
        // the sandbox's centre that is outside it is where they go instead.
        assert!(city.lots().iter().any(|l| !contains(l.pos)));
    }
}
