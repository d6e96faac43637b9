//! Drivers going online and offline and reporting where they are. Positions go straight into the hot state
//! and, for a driver on a ride, to the rider over the bus; the store gets the latest position of each
//! driver in one batched write every few seconds, never one transaction per ping.

use crate::bus::LocationUpdate;
use crate::fleet::Rejected;
use crate::{App, AppError, BusMessage};
use doorstep_domain::position::Implausible;
use doorstep_domain::{Role, Timestamp, User, UserId};
use doorstep_geo::LatLng;
use std::borrow::Cow;
use std::sync::OnceLock;
use tokio::sync::watch;

/// The most points one batch may carry.
pub const MAX_BATCH: usize = 100;

/// How many drivers a nearby query may ask for.
pub const NEARBY_LIMIT: std::ops::RangeInclusive<usize> = 1..=50;
/// Points older than this are ignored (a phone replaying a long offline buffer).
const MAX_AGE_SECS: i64 = 600;
/// Points further in the future than this are refused (a wrong phone clock).
const MAX_FUTURE_SECS: i64 = 60;

/// The counter of accepted location points, registered once (with the recorder installed by then: the
/// first location arrives after the server is up) instead of looked up by name for every batch.
fn location_updates() -> &'static metrics::Counter {
    static COUNTER: OnceLock<metrics::Counter> = OnceLock::new();
    COUNTER.get_or_init(|| metrics::counter!("location_updates_total"))
}

/// The counter of rejected location points for `reason`, registered once per reason.
fn location_points_rejected(reason: Implausible) -> &'static metrics::Counter {
    static COUNTERS: OnceLock<[metrics::Counter; 2]> = OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        Implausible::ALL
            .map(|r| metrics::counter!("location_points_rejected_total", "reason" => r.as_str()))
    });
    match reason {
        Implausible::TooFast => &counters[0],
        Implausible::OutsideServiceArea => &counters[1],
    }
}

/// What the server did with a batch of positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocationReport {
    /// Points taken: fresh (at most ten minutes old) and believed. A point older than the driver's last
    /// recorded one is counted here but changes nothing, as before.
    pub accepted: usize,
    /// Points not believed ([`doorstep_domain::position::check_position`]), by reason: they moved nothing.
    pub rejected: Rejected,
}

impl App {
    /// The driver starts taking offers.
    pub async fn go_online(&self, driver: &User) -> Result<(), AppError> {
        require_driver(driver)?;
        self.check_may_go_online(driver.id).await?;
        self.store()
            .set_driver_online(driver.id, true, self.clock().now())
            .await?;
        self.with_fleet(|f| f.set_online(driver.id, true));
        self.tell_online(driver.id, true);
        Ok(())
    }

    /// The driver stops taking offers (a ride in progress continues).
    pub async fn go_offline(&self, driver: &User) -> Result<(), AppError> {
        require_driver(driver)?;
        self.store()
            .set_driver_online(driver.id, false, self.clock().now())
            .await?;
        self.with_fleet(|f| f.set_online(driver.id, false));
        self.tell_online(driver.id, false);
        Ok(())
    }

    /// Takes a batch of positions, oldest first or in any order. Returns how many were accepted and how
    /// many were not believed (too fast from the previous accepted point, or outside the service area and
    /// its margin: [`AppConfig::position_limits`](crate::AppConfig)); points older than ten minutes are
    /// skipped, points more than a minute in the future are refused.
    pub async fn report_locations(
        &self,
        driver: &User,
        points: &[(LatLng, Timestamp)],
    ) -> Result<LocationReport, AppError> {
        require_driver(driver)?;
        if points.is_empty() || points.len() > MAX_BATCH {
            return Err(AppError::invalid(
                "invalid_batch",
                format!("send 1 to {MAX_BATCH} points per batch"),
            ));
        }
        let now = self.clock().now();
        if points
            .iter()
            .any(|(_, at)| at.secs_since(now) > MAX_FUTURE_SECS)
        {
            return Err(AppError::invalid(
                "location_in_future",
                "a point is more than a minute in the future",
            ));
        }
        let fresh = |at: Timestamp| now.secs_since(at) <= MAX_AGE_SECS;
        // Phones send their points oldest first and fresh: then the batch is used as it is.
        let in_order = points.windows(2).all(|w| w[0].1 <= w[1].1);
        let sorted: Cow<'_, [(LatLng, Timestamp)]> =
            if in_order && points.iter().all(|p| fresh(p.1)) {
                Cow::Borrowed(points)
            } else {
                let mut kept: Vec<(LatLng, Timestamp)> =
                    points.iter().copied().filter(|p| fresh(p.1)).collect();
                kept.sort_by_key(|(_, at)| *at);
                Cow::Owned(kept)
            };
        let rejected = self.apply_positions(driver.id, &sorted);
        // In cluster mode the city's owner judges them too (the same checks), keeps the trip's
        // odometer and pushes them to the customer's node.
        self.tell_positions(driver.id, &sorted);
        let accepted = sorted.len().saturating_sub(rejected.total());
        location_updates().increment(accepted as u64);
        if rejected.total() > 0 {
            for reason in Implausible::ALL {
                location_points_rejected(reason).increment(rejected.of(reason) as u64);
            }
            tracing::debug!(
                driver_id = %driver.id,
                too_fast = rejected.too_fast,
                outside_service_area = rejected.outside_service_area,
                "implausible positions rejected"
            );
        }
        Ok(LocationReport { accepted, rejected })
    }

    /// Up to `limit` (at most 50) available drivers nearest to `p` within 3 km, as positions with the
    /// straight-line distance in metres and the estimated drive to `p` in seconds. No driver identities:
    /// this is what a rider's map shows before requesting. Riders get coarse sightings
    /// ([`doorstep_geo::coarsen_sightings`]: positions on a 50 m grid, distances in 50 m and ETAs in 30 s
    /// steps, closest first by coarse distance with ties in random order), so that repeated queries
    /// cannot track a car; admins (the operations console) get exact ones, closest first.
    pub fn nearby_drivers(
        &self,
        user: &User,
        p: LatLng,
        limit: usize,
    ) -> Result<Vec<doorstep_geo::Sighting>, AppError> {
        if !matches!(user.role, Role::Rider | Role::Admin) {
            return Err(AppError::Forbidden("only riders and admins can do this"));
        }
        let now = self.clock().now();
        let fresh_since = now.plus_secs(-self.config().driver_stale_secs);
        let found = self.with_fleet(|f| {
            f.candidates(
                p,
                limit.clamp(*NEARBY_LIMIT.start(), *NEARBY_LIMIT.end()),
                NEARBY_RADIUS_KM,
                fresh_since,
            )
        });
        // The query point's projection and the time of day are the same for every answer: computed once,
        // they are a good part of a query's cost (trigonometry and the New York calendar).
        let (to, seconds_of_day) = (doorstep_geo::to_utm(p), self.seconds_of_day(now));
        let exact: Vec<doorstep_geo::Sighting> = found
            .into_iter()
            .map(|(_, pos, km)| doorstep_geo::Sighting {
                position: pos,
                distance_m: km * 1000.0,
                eta_s: self
                    .city()
                    .mean_travel_secs(doorstep_geo::to_utm(pos), to, seconds_of_day),
            })
            .collect();
        Ok(if user.role == Role::Admin {
            exact
        } else {
            doorstep_geo::coarsen_sightings(&exact, &mut rand::rng())
        })
    }

    /// Applies a worker's believed positions (oldest first) to the hot state; on the node that runs
    /// the dispatcher (one node, or the city's owner) it also pushes them to the customers of the
    /// worker's jobs and to the console. Returns what was not believed.
    pub(crate) fn apply_positions(
        &self,
        worker: UserId,
        sorted: &[(LatLng, Timestamp)],
    ) -> crate::fleet::Rejected {
        let now = self.clock().now();
        let interval = self.config().location_push_interval_ms;
        let outcome = self.with_fleet(|f| f.report_positions(worker, sorted, interval));
        if !self.is_dispatch_node() {
            // Another node's view: the owner pushes what it believes.
            return outcome.rejected;
        }
        if let Some((status, position, at)) = outcome.console {
            self.bus().publish_position(crate::bus::DriverPosition {
                driver: worker,
                status,
                position,
                at,
            });
        }
        for (push, p, at) in outcome.pushes {
            let eta_s = push
                .pickup
                .map(|pickup| crate::rides::to_u32(self.travel_secs(p, pickup, now)));
            self.bus().publish(BusMessage::Location(LocationUpdate {
                ride_id: push.ride,
                rider: push.rider,
                driver: worker,
                position: p,
                at,
                eta_s,
            }));
        }
        outcome.rejected
    }

    async fn flush_positions_once(&self) {
        let batch = self.with_fleet(|f| f.take_unsaved_positions());
        // In cluster mode only the owner, which hears every worker, keeps positions in the record.
        if !self.is_dispatch_node() {
            return;
        }
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store().save_driver_positions(&batch).await {
            tracing::warn!(error = %e, drivers = batch.len(), "could not save driver positions");
        }
    }
}

/// The most drivers a nearby query answers.
pub const MAX_NEARBY: usize = *NEARBY_LIMIT.end();
/// How far from the point a nearby query looks, km.
pub const NEARBY_RADIUS_KM: f64 = 3.0;

fn require_driver(user: &User) -> Result<(), AppError> {
    if user.role == Role::Driver {
        Ok(())
    } else {
        Err(AppError::Forbidden("only drivers can do this"))
    }
}

/// Writes the latest driver positions to the store every flush interval until shutdown, then once more.
pub async fn flush_positions(app: App, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(app.config().position_flush_interval);
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            _ = ticker.tick() => app.flush_positions_once().await,
        }
    }
    app.flush_positions_once().await;
}
