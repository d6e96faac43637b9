//! UTM zone 18N (EPSG:32618) in kilometres, by the transverse Mercator projection of the WGS84
//! ellipsoid.
//!
//! The series are Krüger's to order n⁶ as given by Karney, "Transverse Mercator with an accuracy
//! of a few nanometers" (J. Geodesy 85, 2011), equations (7)–(11) and (35)–(36): accurate to far
//! better than a millimetre within the zone. `tools/derive_manhattan.py` carries the same
//! algorithm for the WGS84 copy of the zones.

use serde::{Deserialize, Serialize};

use crate::LatLng;

/// A position in UTM zone 18N, in kilometres (EPSG:32618 divided by 1000), the frame of the city
/// data: `x` is the easting (500 on the central meridian, 75° W), `y` the northing from the
/// equator.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Utm {
    /// Easting in kilometres (false easting 500 km).
    pub x: f64,
    /// Northing in kilometres.
    pub y: f64,
}

const A_KM: f64 = 6378.137;
const FLATTENING: f64 = 1.0 / 298.257_223_563;
const K0: f64 = 0.9996;
const FALSE_EASTING_KM: f64 = 500.0;
const CENTRAL_MERIDIAN_DEG: f64 = -75.0;

/// Constants of the series, computed once from the ellipsoid.
struct Series {
    /// Eccentricity.
    e: f64,
    /// Eccentricity squared.
    e2: f64,
    /// k0 times the rectifying radius, km.
    k0_a: f64,
    /// Forward coefficients α1..α6.
    alpha: [f64; 6],
    /// Inverse coefficients β1..β6.
    beta: [f64; 6],
}

fn series() -> &'static Series {
    static SERIES: std::sync::OnceLock<Series> = std::sync::OnceLock::new();
    SERIES.get_or_init(|| {
        let n = FLATTENING / (2.0 - FLATTENING);
        let (n2, n3) = (n * n, n * n * n);
        let (n4, n5, n6) = (n2 * n2, n2 * n3, n3 * n3);
        let e2 = FLATTENING * (2.0 - FLATTENING);
        let rectifying = A_KM / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0 + n6 / 256.0);
        Series {
            e: e2.sqrt(),
            e2,
            k0_a: K0 * rectifying,
            alpha: [
                n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0 - 127.0 * n5 / 288.0
                    + 7891.0 * n6 / 37800.0,
                13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0 + 281.0 * n5 / 630.0
                    - 1_983_433.0 * n6 / 1_935_360.0,
                61.0 * n3 / 240.0 - 103.0 * n4 / 140.0
                    + 15061.0 * n5 / 26880.0
                    + 167_603.0 * n6 / 181_440.0,
                49561.0 * n4 / 161_280.0 - 179.0 * n5 / 168.0 + 6_601_661.0 * n6 / 7_257_600.0,
                34729.0 * n5 / 80640.0 - 3_418_889.0 * n6 / 1_995_840.0,
                212_378_941.0 * n6 / 319_334_400.0,
            ],
            beta: [
                n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0 - 81.0 * n5 / 512.0
                    + 96199.0 * n6 / 604_800.0,
                n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0 + 46.0 * n5 / 105.0
                    - 1_118_711.0 * n6 / 3_870_720.0,
                17.0 * n3 / 480.0 - 37.0 * n4 / 840.0 - 209.0 * n5 / 4480.0 + 5569.0 * n6 / 90720.0,
                4397.0 * n4 / 161_280.0 - 11.0 * n5 / 504.0 - 830_251.0 * n6 / 7_257_600.0,
                4583.0 * n5 / 161_280.0 - 108_847.0 * n6 / 3_991_680.0,
                20_648_693.0 * n6 / 638_668_800.0,
            ],
        }
    })
}

/// τ′ = tan of the conformal latitude, from τ = tan of the geographic latitude.
fn tau_prime(s: &Series, tau: f64) -> f64 {
    let sigma = (s.e * (s.e * tau / tau.hypot(1.0)).atanh()).sinh();
    tau * sigma.hypot(1.0) - sigma * tau.hypot(1.0)
}

/// Projects a WGS84 position to UTM zone 18N kilometres.
///
/// The zone is fixed (Doorstep's city data lives in zone 18): points far from 75° W are still
/// projected on that central meridian, with growing scale error. Southern latitudes give
/// negative northings (no false northing is applied).
pub fn to_utm(p: LatLng) -> Utm {
    let s = series();
    let tau = p.lat().to_radians().tan();
    let dlng = (p.lng() - CENTRAL_MERIDIAN_DEG).to_radians();
    let tp = tau_prime(s, tau);
    let xi_p = tp.atan2(dlng.cos());
    let eta_p = (dlng.sin() / tp.hypot(dlng.cos())).asinh();
    let (mut xi, mut eta) = (xi_p, eta_p);
    for (j, a) in s.alpha.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi += a * (k * xi_p).sin() * (k * eta_p).cosh();
        eta += a * (k * xi_p).cos() * (k * eta_p).sinh();
    }
    Utm {
        x: FALSE_EASTING_KM + s.k0_a * eta,
        y: s.k0_a * xi,
    }
}

/// Unprojects UTM zone 18N kilometres to a WGS84 position.
///
/// Exact inverse of [`to_utm`] to well under a centimetre. A position that is not finite or lies
/// absurdly far outside the zone is clamped onto the valid latitude/longitude range.
pub fn to_latlng(p: Utm) -> LatLng {
    let s = series();
    let xi = p.y / s.k0_a;
    let eta = (p.x - FALSE_EASTING_KM) / s.k0_a;
    let (mut xi_p, mut eta_p) = (xi, eta);
    for (j, b) in s.beta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi_p -= b * (k * xi).sin() * (k * eta).cosh();
        eta_p -= b * (k * xi).cos() * (k * eta).sinh();
    }
    let target = xi_p.sin() / eta_p.sinh().hypot(xi_p.cos());
    let dlng = eta_p.sinh().atan2(xi_p.cos());
    // Newton's method for τ given τ′ (Karney 2011, eqs. 19–21); converges in 2–3 steps.
    let mut tau = target;
    for _ in 0..10 {
        let tp = tau_prime(s, tau);
        let step = (target - tp) / tp.hypot(1.0) * (1.0 + (1.0 - s.e2) * tau * tau)
            / ((1.0 - s.e2) * tau.hypot(1.0));
        tau += step;
        if step.is_nan() || step.abs() < 1e-14 {
            break;
        }
    }
    LatLng::saturating(
        tau.atan().to_degrees(),
        CENTRAL_MERIDIAN_DEG + dlng.to_degrees(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_central_meridian_on_the_equator_is_the_false_easting() {
        let p = to_utm(LatLng::new(0.0, -75.0).expect("valid"));
        assert!((p.x - 500.0).abs() < 1e-9 && p.y.abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn non_finite_utm_unprojects_to_a_valid_position() {
        let p = to_latlng(Utm {
            x: f64::NAN,
            y: f64::INFINITY,
        });
        assert!(p.lat().is_finite() && p.lng().is_finite());
    }
}
