//! The live dispatcher of a city: one task that gathers rides waiting for a driver over a short batch
//! window, then assigns them all at once by minimum total pickup ETA with
//! [`doorstep_dispatch::assign_min_cost`] — the same solver the simulator and benchmarks call — and offers
//! each ride to its driver. A ride is offered to one driver at a time; when that driver declines or lets
//! the offer expire, the ride joins the next batch without them. A ride that finds no driver within the
//! pickup limit ends as `no_driver_available` with the reason.

use crate::App;
use doorstep_dispatch::{AssignmentProblem, Candidate, assign_min_cost};
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::ride::{NoDriverReason, RideEvent, RideState};
use doorstep_domain::{OfferId, RideId, Timestamp, UserId};
use doorstep_geo::LatLng;
use std::collections::BTreeMap;
use std::time::Instant;
use tokio::sync::{mpsc, watch};

/// What request handlers tell the dispatcher.
#[derive(Debug, Clone, Copy)]
pub enum DispatchCommand {
    /// A ride waits for a driver (new, or back after its driver cancelled).
    NewRide(RideId),
    /// The ride's current offer ended without an assignment: find the next driver.
    Requeue(RideId),
    /// The ride no longer needs dispatch (assigned or cancelled).
    Gone(RideId),
}

/// A ride waiting for a driver, as the dispatcher tracks it.
#[derive(Debug, Clone)]
pub struct PendingRide {
    /// The ride.
    pub ride_id: RideId,
    /// Where the rider waits.
    pub pickup: LatLng,
    /// When the ride was requested; the pickup limit counts from here.
    pub requested_at: Timestamp,
    /// Drivers who declined, let an offer expire, or cancelled.
    pub excluded: Vec<UserId>,
    /// The offer out now, with its driver and deadline.
    pub offer: Option<(OfferId, UserId, Timestamp)>,
}

/// Penalty for leaving a ride unassigned in a batch; far above any pickup ETA so that the solver first
/// serves as many rides as possible, then minimises their total ETA.
const UNASSIGNED_COST: f64 = 1.0e7;

/// Runs the dispatcher until `shutdown` becomes true.
pub async fn run(
    app: App,
    mut commands: mpsc::UnboundedReceiver<DispatchCommand>,
    initial: Vec<PendingRide>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut pending: BTreeMap<RideId, PendingRide> =
        initial.into_iter().map(|p| (p.ride_id, p)).collect();
    let mut ticker = tokio::time::interval(app.config().batch_window);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(
        pending = pending.len(),
        window_ms = app.config().batch_window.as_millis(),
        "dispatcher started"
    );
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            command = commands.recv() => {
                let Some(command) = command else { break };
                apply(&app, &mut pending, command).await;
            }
            _ = ticker.tick() => {
                if let Err(e) = tick(&app, &mut pending).await {
                    tracing::error!(error = %e, "dispatch tick failed");
                }
            }
        }
    }
    tracing::info!("dispatcher stopped");
}

async fn apply(app: &App, pending: &mut BTreeMap<RideId, PendingRide>, command: DispatchCommand) {
    match command {
        DispatchCommand::NewRide(id) | DispatchCommand::Requeue(id) => {
            match app.store().ride(id).await {
                Ok(Some(ride)) if ride.state == RideState::Requested => {
                    let entry = pending.entry(id).or_insert_with(|| PendingRide {
                        ride_id: id,
                        pickup: ride.pickup,
                        requested_at: ride.requested_at,
                        excluded: Vec::new(),
                        offer: None,
                    });
                    entry.excluded = ride.excluded_drivers.clone();
                    entry.offer = None;
                }
                Ok(_) => {
                    pending.remove(&id);
                }
                Err(e) => {
                    tracing::error!(ride_id = %id, error = %e, "dispatcher could not read ride")
                }
            }
        }
        DispatchCommand::Gone(id) => {
            pending.remove(&id);
        }
    }
    metrics::gauge!("dispatch_pending_rides").set(pending.len() as f64);
}

async fn tick(
    app: &App,
    pending: &mut BTreeMap<RideId, PendingRide>,
) -> Result<(), crate::AppError> {
    let now = app.clock().now();

    // 1. Offers past their deadline end; their drivers are excluded from the ride.
    let expired: Vec<(RideId, OfferId, UserId)> = pending
        .values()
        .filter_map(|p| {
            p.offer
                .filter(|(_, _, deadline)| now > *deadline)
                .map(|(o, d, _)| (p.ride_id, o, d))
        })
        .collect();
    for (ride_id, offer_id, driver) in expired {
        match app.expire_offer(offer_id).await {
            Ok(_) => {
                if let Some(p) = pending.get_mut(&ride_id) {
                    p.offer = None;
                    if !p.excluded.contains(&driver) {
                        p.excluded.push(driver);
                    }
                }
            }
            // Someone else changed the ride meanwhile (accepted, cancelled): re-read it.
            Err(e) => {
                tracing::debug!(ride_id = %ride_id, error = %e, "offer expiry lost a race");
                apply(app, pending, DispatchCommand::Requeue(ride_id)).await;
            }
        }
    }

    // 2. Rides past the pickup limit without an offer out end as no_driver_available.
    let limit = app.config().pickup_limit_secs;
    let overdue: Vec<RideId> = pending
        .values()
        .filter(|p| p.offer.is_none() && now.secs_since(p.requested_at) >= limit)
        .map(|p| p.ride_id)
        .collect();
    for id in overdue {
        let reason = match pending.get(&id) {
            Some(p) if !p.excluded.is_empty() => NoDriverReason::AllDriversDeclined,
            _ => NoDriverReason::NoDriversNearby,
        };
        if let Err(e) = give_up(app, id, reason).await {
            tracing::warn!(ride_id = %id, error = %e, "could not end ride without driver");
        }
        pending.remove(&id);
    }

    // 3. One batch: every ride without an offer out, against every fresh available driver near it.
    let batch: Vec<&PendingRide> = pending.values().filter(|p| p.offer.is_none()).collect();
    if batch.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let config = app.config();
    let fresh_since = now.plus_secs(-config.driver_stale_secs);
    let seconds_of_day = app.seconds_of_day(now);
    let mut drivers: Vec<(UserId, LatLng)> = Vec::new();
    let mut column: std::collections::HashMap<UserId, usize> = std::collections::HashMap::new();
    let mut candidates = Vec::new();
    app.with_fleet(|fleet| {
        for (row, p) in batch.iter().enumerate() {
            for (driver, position, _km) in fleet.candidates(
                p.pickup,
                config.candidates_per_request,
                config.max_pickup_km,
                fresh_since,
            ) {
                if p.excluded.contains(&driver) {
                    continue;
                }
                let col = *column.entry(driver).or_insert_with(|| {
                    drivers.push((driver, position));
                    drivers.len() - 1
                });
                let eta = app.city().mean_travel_secs(
                    doorstep_geo::to_utm(position),
                    doorstep_geo::to_utm(p.pickup),
                    seconds_of_day,
                );
                if eta.is_finite() {
                    candidates.push(Candidate {
                        request: row,
                        driver: col,
                        cost: eta.max(0.0),
                    });
                }
            }
        }
    });
    let problem = AssignmentProblem {
        requests: batch.len(),
        drivers: drivers.len(),
        candidates,
        unassigned_cost: vec![UNASSIGNED_COST; batch.len()],
    };
    let assignment = assign_min_cost(&problem)
        .map_err(|e| crate::AppError::Internal(format!("assignment: {e}")))?;
    let solve = started.elapsed().as_secs_f64();
    metrics::histogram!("dispatch_batch_size").record(batch.len() as f64);
    metrics::histogram!("dispatch_solve_seconds").record(solve);
    let cost_of: std::collections::HashMap<(usize, usize), f64> = problem
        .candidates
        .iter()
        .map(|c| ((c.request, c.driver), c.cost))
        .collect();
    let offers: Vec<(RideId, UserId, f64, LatLng)> = assignment
        .driver_of
        .iter()
        .enumerate()
        .filter_map(|(row, col)| {
            let col = (*col)?;
            let (driver, position) = drivers[col];
            let eta = cost_of.get(&(row, col)).copied().unwrap_or(0.0);
            Some((batch[row].ride_id, driver, eta, position))
        })
        .collect();
    tracing::debug!(
        batch = batch.len(),
        drivers = drivers.len(),
        offers = offers.len(),
        solve_ms = solve * 1e3,
        "batch solved"
    );
    for (ride_id, driver, eta, position) in offers {
        match make_offer(app, ride_id, driver, eta, position, now).await {
            Ok(Some(offer)) => {
                if let Some(p) = pending.get_mut(&ride_id) {
                    p.offer = Some((offer.id, driver, offer.expires_at));
                }
            }
            Ok(None) => {
                pending.remove(&ride_id);
            }
            Err(e) => tracing::warn!(ride_id = %ride_id, error = %e, "offer failed"),
        }
    }
    metrics::gauge!("dispatch_pending_rides").set(pending.len() as f64);
    Ok(())
}

/// Offers the ride to the driver; `None` if the ride no longer waits for a driver.
async fn make_offer(
    app: &App,
    ride_id: RideId,
    driver: UserId,
    eta_s: f64,
    driver_position: LatLng,
    now: Timestamp,
) -> Result<Option<Offer>, crate::AppError> {
    let Some(mut ride) = app.store().ride(ride_id).await? else {
        return Ok(None);
    };
    if ride.state != RideState::Requested {
        return Ok(None);
    }
    let expected = ride.version;
    // Recording an offer is not a state change, but it must collide with any concurrent change.
    ride.version += 1;
    let offer = Offer {
        id: OfferId::from_uuid(uuid::Uuid::now_v7()),
        ride_id,
        driver,
        state: OfferState::Pending,
        created_at: now,
        expires_at: now.plus_secs(app.config().offer_timeout_secs),
        pickup_eta_s: crate::rides::to_u32(eta_s),
        pickup_distance_m: crate::rides::to_u32(
            app.street_distance_m(driver_position, ride.pickup),
        ),
        fare: ride.quoted.total,
    };
    let event = RideEvent::Offered {
        offer_id: offer.id,
        driver,
        expires_at: offer.expires_at,
        pickup_eta_s: offer.pickup_eta_s,
    };
    app.commit(
        &ride,
        RideState::Requested,
        expected,
        std::slice::from_ref(&offer),
        &[event],
        None,
    )
    .await?;
    app.with_fleet(|f| f.reserve(driver, ride_id, offer.id));
    metrics::counter!("offers_made_total").increment(1);
    Ok(Some(offer))
}

async fn give_up(app: &App, id: RideId, reason: NoDriverReason) -> Result<(), crate::AppError> {
    let Some(mut ride) = app.store().ride(id).await? else {
        return Ok(());
    };
    let (from, expected) = (ride.state, ride.version);
    let event = ride.no_driver_available(reason, app.clock().now())?;
    app.commit(&ride, from, expected, &[], &[event], None)
        .await?;
    app.with_fleet(|f| f.remove_pending(id));
    tracing::debug!(ride_id = %id, reason = reason.as_str(), "no driver available");
    Ok(())
}
