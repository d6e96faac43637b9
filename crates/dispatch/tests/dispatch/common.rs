//! A flat city for the route and core tests: places on a plane in km, driven along the grid (L1)
//! at a constant speed.

use doorstep_dispatch::{Planar, RouteStop, TravelTime, Window};

/// A point on the plane, km.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pt(pub f64, pub f64);

impl Planar for Pt {
    fn xy_km(&self) -> (f64, f64) {
        (self.0, self.1)
    }
}

/// Grid driving at `kmh`.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub kmh: f64,
}

impl Grid {
    pub fn secs(&self, a: Pt, b: Pt) -> f64 {
        ((a.0 - b.0).abs() + (a.1 - b.1).abs()) / self.kmh * 3600.0
    }
}

impl TravelTime for Grid {
    type Place = Pt;
    fn travel_secs(&self, from: &Pt, to: &Pt, _depart: f64) -> Option<f64> {
        Some(self.secs(*from, *to))
    }
}

/// 18 km/h: one km is 200 s.
pub const CITY: Grid = Grid { kmh: 18.0 };

/// A ride's two stops: pickup within `window`, drop-off any time.
pub fn ride(job: u32, pickup: Pt, dropoff: Pt, window: Window) -> [RouteStop<u32, Pt>; 2] {
    [
        RouteStop {
            job,
            place: pickup,
            window,
            service_secs: 30.0,
            load: 1,
        },
        RouteStop {
            job,
            place: dropoff,
            window: Window::ANY,
            service_secs: 10.0,
            load: -1,
        },
    ]
}
