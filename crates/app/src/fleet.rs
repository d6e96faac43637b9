//! The hot state of a city: online drivers, where they are and what they are doing, and the pickups
//! waiting for dispatch. It lives in memory behind one short lock ([`crate::App::with_fleet`]); the store is
//! the record and [`crate::App::start`] rebuilds this from it after a restart.

use doorstep_domain::{OfferId, RideId, Timestamp, UserId};
use doorstep_geo::{LatLng, MoverIndex, haversine_km};
use std::collections::HashMap;

/// What a driver is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DriverStatus {
    /// Free for offers (when online and recently seen).
    Available,
    /// Holding an offer; gets no other offer until it is answered or expires.
    Offered {
        /// The ride offered.
        ride: RideId,
        /// The offer.
        offer: OfferId,
    },
    /// Driving to a pickup.
    ToPickup {
        /// The ride.
        ride: RideId,
        /// Its rider.
        rider: UserId,
        /// Where the rider waits.
        pickup: LatLng,
    },
    /// Carrying a rider.
    OnTrip {
        /// The ride.
        ride: RideId,
        /// Its rider.
        rider: UserId,
    },
}

/// One driver's hot state.
#[derive(Debug, Clone)]
pub struct DriverState {
    /// Whether the driver wants offers.
    pub online: bool,
    /// What the driver is doing.
    pub status: DriverStatus,
    /// Last reported position.
    pub position: Option<LatLng>,
    /// When that position was taken.
    pub last_seen: Option<Timestamp>,
    /// Metres driven since the current trip started (from reported positions).
    pub trip_odometer_m: f64,
    /// When a location of this driver was last pushed to a rider.
    pub last_push: Option<Timestamp>,
    /// When a position of this driver was last pushed to the operations console.
    pub last_console_push: Option<Timestamp>,
}

impl DriverState {
    fn new() -> Self {
        DriverState {
            online: false,
            status: DriverStatus::Available,
            position: None,
            last_seen: None,
            trip_odometer_m: 0.0,
            last_push: None,
            last_console_push: None,
        }
    }
}

/// A location that should be pushed to a rider.
#[derive(Debug, Clone, Copy)]
pub struct RidePosition {
    /// The ride.
    pub ride: RideId,
    /// Its rider.
    pub rider: UserId,
    /// The pickup, while the driver is on the way to it.
    pub pickup: Option<LatLng>,
}

/// Hot state of all drivers and waiting pickups of the city.
#[derive(Debug, Default)]
pub struct Fleet {
    drivers: HashMap<UserId, DriverState>,
    available: MoverIndex<UserId>,
    pending: HashMap<RideId, LatLng>,
}

impl Fleet {
    /// The state of `driver`, if known.
    pub fn driver(&self, driver: UserId) -> Option<&DriverState> {
        self.drivers.get(&driver)
    }

    /// Number of drivers online.
    pub fn online_count(&self) -> usize {
        self.drivers.values().filter(|d| d.online).count()
    }

    /// Number of drivers in the available index.
    pub fn available_count(&self) -> usize {
        self.available.len()
    }

    /// Number of pickups waiting for dispatch.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Every known driver (online, or offline but still on a ride) with its state.
    pub fn drivers(&self) -> impl Iterator<Item = (UserId, &DriverState)> {
        self.drivers.iter().map(|(k, v)| (*k, v))
    }

    fn reindex(&mut self, driver: UserId) {
        let Some(d) = self.drivers.get(&driver) else {
            self.available.remove(&driver);
            return;
        };
        match (d.online, d.status, d.position) {
            (true, DriverStatus::Available, Some(p)) => self.available.upsert(driver, p),
            _ => {
                self.available.remove(&driver);
            }
        }
    }

    /// The driver goes online (keeps any ride in progress).
    pub fn set_online(&mut self, driver: UserId, online: bool) {
        self.drivers
            .entry(driver)
            .or_insert_with(DriverState::new)
            .online = online;
        self.reindex(driver);
        if !online
            && let Some(d) = self.drivers.get(&driver)
            && d.status == DriverStatus::Available
        {
            self.drivers.remove(&driver);
        }
    }

    /// Restores a driver's last known position after a restart, without counting it as fresh.
    pub fn restore_position(&mut self, driver: UserId, p: LatLng, at: Timestamp) {
        if let Some(d) = self.drivers.get_mut(&driver) {
            d.position = Some(p);
            d.last_seen = Some(at);
        }
        self.reindex(driver);
    }

    /// Records a reported position. Returns the ride to push it to, if the driver is on one and the last
    /// push is at least `push_interval_ms` old. Positions older than the last one are ignored.
    pub fn report_position(
        &mut self,
        driver: UserId,
        p: LatLng,
        at: Timestamp,
        push_interval_ms: i64,
    ) -> Option<RidePosition> {
        let d = self.drivers.entry(driver).or_insert_with(DriverState::new);
        if d.last_seen.is_some_and(|seen| at < seen) {
            return None;
        }
        if let (DriverStatus::OnTrip { .. }, Some(prev)) = (d.status, d.position) {
            d.trip_odometer_m += haversine_km(prev, p) * 1000.0;
        }
        d.position = Some(p);
        d.last_seen = Some(at);
        let push = match d.status {
            DriverStatus::ToPickup {
                ride,
                rider,
                pickup,
            } => Some(RidePosition {
                ride,
                rider,
                pickup: Some(pickup),
            }),
            DriverStatus::OnTrip { ride, rider } => Some(RidePosition {
                ride,
                rider,
                pickup: None,
            }),
            DriverStatus::Available | DriverStatus::Offered { .. } => None,
        };
        let due = d
            .last_push
            .is_none_or(|last| at.millis_since(last) >= push_interval_ms);
        let result = if due { push } else { None };
        if result.is_some() {
            d.last_push = Some(at);
        }
        self.reindex(driver);
        result
    }

    /// Whether the driver's position at `at` should go to the operations console (at most one push per
    /// `interval_ms`); returns the driver's status name when it should.
    pub fn console_push_due(
        &mut self,
        driver: UserId,
        at: Timestamp,
        interval_ms: i64,
    ) -> Option<&'static str> {
        let d = self.drivers.get_mut(&driver)?;
        if d.last_console_push
            .is_some_and(|last| at.millis_since(last) < interval_ms)
        {
            return None;
        }
        d.last_console_push = Some(at);
        Some(crate::ops::status_name(d.online, d.status))
    }

    /// Up to `k` available drivers nearest to `p` within `max_km` whose position is no older than
    /// `fresh_since`, closest first, with their positions.
    pub fn candidates(
        &self,
        p: LatLng,
        k: usize,
        max_km: f64,
        fresh_since: Timestamp,
    ) -> Vec<(UserId, LatLng, f64)> {
        // Ask for more than k so that stale drivers filtered out below do not shrink the list much.
        self.available
            .nearest(p, k.saturating_mul(2), max_km)
            .into_iter()
            .filter_map(|(id, km)| {
                let d = self.drivers.get(&id)?;
                let fresh = d.last_seen.is_some_and(|t| t >= fresh_since);
                Some((id, d.position?, km)).filter(|_| fresh)
            })
            .take(k)
            .collect()
    }

    /// Available drivers and waiting pickups within `radius_km` of `p`: the demand and supply that set
    /// the surge of a pickup area.
    pub fn demand_supply_near(&self, p: LatLng, radius_km: f64) -> (u32, u32) {
        let supply = self.available.nearest(p, 200, radius_km).len();
        let demand = self
            .pending
            .values()
            .filter(|q| haversine_km(p, **q) <= radius_km)
            .count();
        (
            u32::try_from(demand).unwrap_or(u32::MAX),
            u32::try_from(supply).unwrap_or(u32::MAX),
        )
    }

    /// A pickup starts waiting for dispatch.
    pub fn add_pending(&mut self, ride: RideId, pickup: LatLng) {
        self.pending.insert(ride, pickup);
    }

    /// A pickup no longer waits (assigned, cancelled or given up).
    pub fn remove_pending(&mut self, ride: RideId) {
        self.pending.remove(&ride);
    }

    /// The driver holds an offer and leaves the available index.
    pub fn reserve(&mut self, driver: UserId, ride: RideId, offer: OfferId) {
        self.drivers
            .entry(driver)
            .or_insert_with(DriverState::new)
            .status = DriverStatus::Offered { ride, offer };
        self.reindex(driver);
    }

    /// The driver's offer for `ride` ended without a ride (declined, expired, withdrawn): available again.
    pub fn release(&mut self, driver: UserId, ride: RideId) {
        if let Some(d) = self.drivers.get_mut(&driver)
            && matches!(d.status, DriverStatus::Offered { ride: r, .. } if r == ride)
        {
            d.status = DriverStatus::Available;
        }
        self.reindex(driver);
    }

    /// The driver accepted `ride` and drives to its pickup.
    pub fn to_pickup(&mut self, driver: UserId, ride: RideId, rider: UserId, pickup: LatLng) {
        let d = self.drivers.entry(driver).or_insert_with(DriverState::new);
        d.status = DriverStatus::ToPickup {
            ride,
            rider,
            pickup,
        };
        d.last_push = None;
        self.pending.remove(&ride);
        self.reindex(driver);
    }

    /// The rider is on board: the odometer starts from zero.
    pub fn trip_started(&mut self, driver: UserId, ride: RideId, rider: UserId) {
        let d = self.drivers.entry(driver).or_insert_with(DriverState::new);
        d.status = DriverStatus::OnTrip { ride, rider };
        d.trip_odometer_m = 0.0;
        self.reindex(driver);
    }

    /// The driver's ride ended (completed or cancelled): returns the trip odometer in metres and makes the
    /// driver available again.
    pub fn ride_ended(&mut self, driver: UserId, ride: RideId) -> f64 {
        let Some(d) = self.drivers.get_mut(&driver) else {
            return 0.0;
        };
        let on_this_ride = match d.status {
            DriverStatus::ToPickup { ride: r, .. } | DriverStatus::OnTrip { ride: r, .. } => {
                r == ride
            }
            DriverStatus::Offered { ride: r, .. } => r == ride,
            DriverStatus::Available => false,
        };
        if !on_this_ride {
            return 0.0;
        }
        let odometer = d.trip_odometer_m;
        d.status = DriverStatus::Available;
        d.trip_odometer_m = 0.0;
        if !d.online {
            self.drivers.remove(&driver);
        }
        self.reindex(driver);
        odometer
    }
}
