//! The city's travel model for the house-call benchmark: the same adapter the server writes
//! (`doorstep_app::dispatcher::CityTravel`: `City::mean_travel_secs` at New York local time), and one
//! that looks each place's zone up once instead of at every drive.

use doorstep_dispatch::TravelTime;
use doorstep_geo::{City, Utm, ZoneIdx, new_york_local};

/// A place of the city: its projection and the zone the travel model puts it in
/// ([`City::zone_of`], the nearest centroid).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spot {
    /// The point in UTM 18N km.
    pub utm: Utm,
    /// `city.zone_of(utm)`, looked up once.
    pub zone: ZoneIdx,
}

impl Spot {
    /// The spot at `utm` in `city`.
    pub fn new(city: &City, utm: Utm) -> Spot {
        Spot {
            utm,
            zone: city.zone_of(utm),
        }
    }
}

/// The New York seconds of the day of Unix seconds `depart` (as the server reads them).
fn seconds_of_day(depart: f64) -> u32 {
    #[allow(clippy::cast_possible_truncation, reason = "Unix seconds of this era")]
    let unix = depart.floor() as i64;
    new_york_local(unix).seconds_of_day
}

/// The server's adapter, line for line: `City::mean_travel_secs` (which finds both zones by scanning the
/// 61 centroids) at the New York time of the departure. The dedicated latency measurement times the
/// availability query with it.
#[derive(Debug, Clone, Copy)]
pub struct ServerTravel {
    city: &'static City,
}

impl ServerTravel {
    /// The travel times of `city`.
    pub fn new(city: &'static City) -> ServerTravel {
        ServerTravel { city }
    }
}

impl TravelTime for ServerTravel {
    type Place = Spot;

    fn travel_secs(&self, from: &Spot, to: &Spot, depart: f64) -> Option<f64> {
        let secs = self
            .city
            .mean_travel_secs(from.utm, to.utm, seconds_of_day(depart));
        (secs.is_finite() && secs >= 0.0).then_some(secs)
    }
}

/// The same travel times as [`ServerTravel`], to the bit (`l1_km / mean speed` of the spots' zones in the
/// departure's 15-minute window), with the zones read from the spots: what the simulation runs on.
#[derive(Debug, Clone, Copy)]
pub struct ZonedTravel {
    city: &'static City,
}

impl ZonedTravel {
    /// The travel times of `city`.
    pub fn new(city: &'static City) -> ZonedTravel {
        ZonedTravel { city }
    }
}

impl TravelTime for ZonedTravel {
    type Place = Spot;

    fn travel_secs(&self, from: &Spot, to: &Spot, depart: f64) -> Option<f64> {
        let speed = self.city.speed(from.zone, to.zone, seconds_of_day(depart));
        let secs = self.city.l1_km(from.utm, to.utm) / speed.mean_kmps;
        (secs.is_finite() && secs >= 0.0).then_some(secs)
    }
}
