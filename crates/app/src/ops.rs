//! What the operations console reads: a snapshot of the fleet and open rides, KPIs with time series, and
//! demand and supply by zone. Admins only.

use crate::fleet::{Activity, DriverState};
use crate::{App, AppError};
use doorstep_domain::ride::{Ride, RideState};
use doorstep_domain::{Money, RideId, Role, Timestamp, User, UserId};
use doorstep_geo::{LatLng, to_utm};

/// The most rides a KPI computation reads.
const KPI_RIDE_LIMIT: i64 = 50_000;
/// Width of one KPI series bucket.
const BUCKET_SECS: i64 = 300;
/// Length of the KPI series.
const SERIES_SECS: i64 = 2 * 3600;

/// One driver as the console draws it.
#[derive(Debug, Clone)]
pub struct DriverSnapshot {
    /// The driver.
    pub driver: UserId,
    /// `available`, `stale` (online, idle and silent for longer than the dispatcher waits), `offered`,
    /// `to_pickup`, `on_trip` or `offline` (offline but finishing a ride).
    pub status: &'static str,
    /// Last reported position.
    pub position: Option<LatLng>,
    /// When it was reported.
    pub last_seen: Option<Timestamp>,
    /// The ride the driver is busy with.
    pub ride: Option<RideId>,
}

/// The live picture of the city.
#[derive(Debug, Clone)]
pub struct FleetSnapshot {
    /// Online drivers (and offline ones still on a ride).
    pub drivers: Vec<DriverSnapshot>,
    /// Rides not yet ended, oldest first.
    pub open_rides: Vec<Ride>,
}

/// One bucket of the KPI series.
#[derive(Debug, Clone, Copy)]
pub struct KpiBucket {
    /// Start of the bucket.
    pub start: Timestamp,
    /// Rides requested in it.
    pub requested: u32,
    /// Rides completed in it.
    pub completed: u32,
    /// Rides cancelled in it.
    pub cancelled: u32,
    /// Fares of the rides completed in it, minor units.
    pub gross_minor: i64,
}

/// Key figures of the last hour and a two-hour series in five-minute buckets.
#[derive(Debug, Clone)]
pub struct Kpis {
    /// When computed.
    pub at: Timestamp,
    /// Rides waiting for a driver now.
    pub open_requests: u32,
    /// Rides in the record waiting for a driver now (requested).
    pub waiting_for_driver: u32,
    /// Rides in the record under way now: a driver on the way, at the pickup, or on the trip. With
    /// [`Kpis::waiting_for_driver`], every ride not yet ended.
    pub rides_under_way: u32,
    /// Drivers online now (stale ones, silent for longer than dispatch waits, are not counted).
    pub drivers_online: u32,
    /// Drivers available now.
    pub drivers_available: u32,
    /// Of the rides requested in the last hour (and at least a minute old), the share assigned within a minute.
    pub assigned_within_1min: f64,
    /// Mean pickup ETA at assignment of the rides assigned in the last hour, seconds.
    pub mean_pickup_eta_s: f64,
    /// Rides completed in the last hour.
    pub completed_last_hour: u32,
    /// Rides cancelled in the last hour.
    pub cancelled_last_hour: u32,
    /// Rides that found no driver in the last hour.
    pub no_driver_last_hour: u32,
    /// Fares of the rides completed in the last hour.
    pub gross_last_hour: Money,
    /// The platform's commission on those fares.
    pub revenue_last_hour: Money,
    /// The two-hour series, oldest bucket first.
    pub series: Vec<KpiBucket>,
}

/// Demand and supply in one taxi zone.
#[derive(Debug, Clone)]
pub struct ZoneStat {
    /// TLC zone id.
    pub zone_id: u16,
    /// Zone name.
    pub name: String,
    /// Rides waiting for a driver with their pickup in the zone.
    pub open_requests: u32,
    /// Available drivers in the zone.
    pub available_drivers: u32,
    /// Rides requested in the last hour from the zone.
    pub requests_last_hour: u32,
}

/// How many rides one search may return.
pub const RIDE_SEARCH_LIMIT: std::ops::RangeInclusive<i64> = 1..=500;

/// The longest search text, in characters.
pub const RIDE_SEARCH_TEXT_MAX_CHARS: usize = 100;

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins can do this"))
    }
}

/// The console's name of what a driver is doing, derived from its route and offer
/// ([`DriverState::activity`]); an idle online driver not heard from since `fresh_since` is `stale`.
pub fn status_name(driver: &DriverState, fresh_since: Timestamp) -> &'static str {
    match driver.activity() {
        Activity::Idle if driver.is_stale(fresh_since) => "stale",
        Activity::Idle if driver.online() => "available",
        Activity::Idle => "offline",
        Activity::Offered(_) => "offered",
        Activity::ToPickup { .. } => "to_pickup",
        Activity::OnTrip { .. } => "on_trip",
    }
}

impl App {
    /// The oldest last position an idle online driver may have and still be offered rides (and be
    /// counted online): `driver_stale_secs` ago.
    pub fn drivers_fresh_since(&self) -> Timestamp {
        self.clock()
            .now()
            .plus_secs(-self.config().driver_stale_secs)
    }

    /// Every online driver and every open ride.
    pub async fn fleet_snapshot(&self, admin: &User) -> Result<FleetSnapshot, AppError> {
        require_admin(admin)?;
        let fresh_since = self.drivers_fresh_since();
        let drivers = self.with_fleet(|f| {
            f.drivers()
                .map(|(id, d)| DriverSnapshot {
                    driver: id,
                    status: status_name(d, fresh_since),
                    position: d.position(),
                    last_seen: d.last_seen(),
                    ride: d.activity().job().map(RideId::from),
                })
                .collect()
        });
        let open_rides = self.store().rides_in_states(&RideState::OPEN, 5000).await?;
        Ok(FleetSnapshot {
            drivers,
            open_rides,
        })
    }

    /// Rides for the console's table, newest first, filtered by state and by a text that matches the
    /// ride, rider or driver id.
    pub async fn search_rides(
        &self,
        admin: &User,
        state: Option<RideState>,
        text: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Ride>, AppError> {
        require_admin(admin)?;
        let limit = limit.clamp(*RIDE_SEARCH_LIMIT.start(), *RIDE_SEARCH_LIMIT.end());
        let needle = text
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        let candidates = if needle.is_none() && state.is_none() {
            self.store().recent_rides(limit).await?
        } else {
            self.store().recent_rides(5000).await?
        };
        Ok(candidates
            .into_iter()
            .filter(|r| state.is_none_or(|s| r.state() == s))
            .filter(|r| {
                needle.as_deref().is_none_or(|n| {
                    r.id().to_string().contains(n)
                        || r.rider().to_string().contains(n)
                        || r.driver().is_some_and(|d| d.to_string().contains(n))
                })
            })
            .take(usize::try_from(limit).unwrap_or(500))
            .collect())
    }

    /// Key figures of the last hour and the two-hour series.
    pub async fn kpis(&self, admin: &User) -> Result<Kpis, AppError> {
        require_admin(admin)?;
        let now = self.clock().now();
        let hour_ago = now.plus_secs(-3600);
        // The last bucket ends just after `now`, so that what happened this instant is counted.
        let series_start = now.plus_millis(1).plus_secs(-SERIES_SECS);
        // Rides that ended in the window may have been requested a little before it.
        let rides = self
            .store()
            .rides_requested_since(series_start.plus_secs(-3600), KPI_RIDE_LIMIT)
            .await?;
        let currency = self.config().pricing.currency;
        let buckets = usize::try_from(SERIES_SECS / BUCKET_SECS).unwrap_or(24);
        let mut series: Vec<KpiBucket> = (0..buckets)
            .map(|i| KpiBucket {
                start: series_start.plus_secs(i64::try_from(i).unwrap_or(0) * BUCKET_SECS),
                requested: 0,
                completed: 0,
                cancelled: 0,
                gross_minor: 0,
            })
            .collect();
        let bucket_of = |t: Timestamp| -> Option<usize> {
            let offset = t.secs_since(series_start);
            (offset >= 0)
                .then(|| usize::try_from(offset / BUCKET_SECS).ok())
                .flatten()
                .filter(|b| *b < buckets)
        };
        let (mut eligible, mut quick, mut eta_sum, mut eta_n) = (0u32, 0u32, 0f64, 0u32);
        let (mut completed, mut cancelled, mut no_driver, mut gross) = (0u32, 0u32, 0u32, 0i64);
        for r in &rides {
            if let Some(b) = bucket_of(r.requested_at()) {
                series[b].requested += 1;
            }
            if r.requested_at() >= hour_ago && now.secs_since(r.requested_at()) >= 60 {
                eligible += 1;
                if r.assigned_at()
                    .is_some_and(|a| a.secs_since(r.requested_at()) <= 60)
                {
                    quick += 1;
                }
            }
            if let (Some(at), Some(eta)) = (r.assigned_at(), r.pickup_eta_s())
                && at >= hour_ago
            {
                eta_sum += f64::from(eta);
                eta_n += 1;
            }
            let Some(ended) = r.ended_at() else { continue };
            let in_hour = ended >= hour_ago;
            match r.state() {
                RideState::Completed => {
                    let fare = r.final_fare.as_ref().map_or(0, |f| f.total.minor);
                    if let Some(b) = bucket_of(ended) {
                        series[b].completed += 1;
                        series[b].gross_minor += fare;
                    }
                    if in_hour {
                        completed += 1;
                        gross += fare;
                    }
                }
                RideState::Cancelled => {
                    if let Some(b) = bucket_of(ended) {
                        series[b].cancelled += 1;
                    }
                    if in_hour {
                        cancelled += 1;
                    }
                }
                RideState::NoDriverAvailable if in_hour => no_driver += 1,
                _ => {}
            }
        }
        let gross_last_hour = Money::new(gross, currency);
        let revenue_last_hour = doorstep_domain::pricing::commission(
            gross_last_hour,
            self.config().pricing.commission_bps,
        )
        .map_err(|e| AppError::Internal(format!("kpis: {e}")))?;
        let fresh_since = self.drivers_fresh_since();
        let (online, available, pending) = self.with_fleet(|f| {
            (
                f.online_count(fresh_since),
                f.available_count(),
                f.pending_count(),
            )
        });
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let in_record = |states: &[RideState]| -> u32 {
            let n: i64 = self
                .ride_counts()
                .snapshot()
                .iter()
                .filter(|(s, _)| states.contains(s))
                .map(|(_, n)| (*n).max(0))
                .sum();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        Ok(Kpis {
            at: now,
            open_requests: count(pending),
            waiting_for_driver: in_record(&[RideState::Requested]),
            rides_under_way: in_record(&[
                RideState::DriverAssigned,
                RideState::DriverArrived,
                RideState::InProgress,
            ]),
            drivers_online: count(online),
            drivers_available: count(available),
            assigned_within_1min: if eligible == 0 {
                0.0
            } else {
                f64::from(quick) / f64::from(eligible)
            },
            mean_pickup_eta_s: if eta_n == 0 {
                0.0
            } else {
                eta_sum / f64::from(eta_n)
            },
            completed_last_hour: completed,
            cancelled_last_hour: cancelled,
            no_driver_last_hour: no_driver,
            gross_last_hour,
            revenue_last_hour,
            series,
        })
    }

    /// Demand and supply per taxi zone.
    pub async fn zone_stats(&self, admin: &User) -> Result<Vec<ZoneStat>, AppError> {
        require_admin(admin)?;
        let city = self.city();
        let now = self.clock().now();
        let mut stats: Vec<ZoneStat> = city
            .zones()
            .iter()
            .map(|z| ZoneStat {
                zone_id: z.id,
                name: z.name.clone(),
                open_requests: 0,
                available_drivers: 0,
                requests_last_hour: 0,
            })
            .collect();
        let zone_index = |p: LatLng| city.zone_of(to_utm(p)).index();
        let available: Vec<LatLng> = self.with_fleet(|f| {
            f.drivers()
                .filter(|(_, d)| d.online() && d.is_idle())
                .filter_map(|(_, d)| d.position())
                .collect()
        });
        for p in available {
            if let Some(s) = stats.get_mut(zone_index(p)) {
                s.available_drivers += 1;
            }
        }
        for r in self
            .store()
            .rides_requested_since(now.plus_secs(-3600), KPI_RIDE_LIMIT)
            .await?
        {
            if let Some(s) = stats.get_mut(zone_index(r.pickup())) {
                s.requests_last_hour += 1;
                if r.state() == RideState::Requested {
                    s.open_requests += 1;
                }
            }
        }
        Ok(stats)
    }
}
