//! Geography for Doorstep: coordinates, the UTM projection, the city model (zones, travel
//! speeds, demand, parking lots) of Manhattan, New York local time, and [`GridIndex`], the spatial
//! index of moving providers that the live fleet and the benchmarks share.
//!
//! Architecture invariant: this crate is pure. It does no IO (city data is compiled in with
//! `include_bytes!`), is not async, reads no clock and no global random generator: the time and a
//! `&mut impl rand::Rng` are parameters, so the same inputs always give the same outputs. That is
//! what lets the simulator replay a day exactly and the live server run the same code.
//!
//! Coordinates come in two kinds: [`LatLng`] (WGS84 degrees, what phones and maps speak) and
//! [`Utm`] (UTM zone 18N in kilometres, what the city model and the travel-time model use).
//! [`to_utm`] and [`to_latlng`] convert between them.

mod city;
mod coarse;
mod demand;
mod grid_index;
mod latlng;
mod local_time;
mod polygon;
mod projection;

pub use city::{
    City, CityDataError, Lot, MAX_SPEED_KMPS, MIN_SPEED_KMPS, SpeedStats, Zone, ZoneIdx,
};
pub use coarse::{
    COARSE_CELL_M, COARSE_ETA_S, Sighting, coarsen_sightings, round_to_step, snap_to_grid,
};
pub use demand::{DemandTable, TripRow};
pub use grid_index::{GridIndex, PlanePoint};
pub use latlng::{
    EARTH_RADIUS_KM, InvalidLatLng, LATITUDE_DEGREES, LONGITUDE_DEGREES, LatLng, haversine_km,
};
pub use local_time::{
    LocalTime, civil_from_days, days_from_civil, new_york_local, new_york_utc_offset_secs,
};
pub use projection::{Utm, to_latlng, to_utm};
