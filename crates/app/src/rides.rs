//! Ride use cases: quote, request, read, cancel, the driver's arrive/start/complete, offers and ratings
//! (earnings are in `earnings`). Each loads the ride, applies one domain transition, and saves the ride with its events (and
//! any offer or ledger posting) in one store transaction before touching the hot state or the bus.
//!
//! Starting a trip and issuing a new PIN retry a lost race: a PIN guess is answered (right or wrong) only
//! after the attempt is durably counted under the ride's version, so concurrent guesses cannot evaluate
//! more wrong PINs than the limit, and a right PIN cannot win after a concurrent wrong one locked it.

use crate::dispatcher::DispatchCommand;
use crate::{App, AppError, BusMessage};
use doorstep_domain::ledger::{cancellation_fee_posting, ride_fare_posting};
use doorstep_domain::offer::{Offer, OfferState};
use doorstep_domain::pricing::{SurgeMillis, price_trip};
use doorstep_domain::quote::Quote;
use doorstep_domain::rating::{Rating, RatingError, Stars, parse_comment};
use doorstep_domain::ride::{NewRide, Pin, Ride, RideEvent, RideState, StartOutcome, TripEnd};
use doorstep_domain::{Money, OfferId, QuoteId, RideId, Role, Timestamp, User, UserId};
use doorstep_geo::{LatLng, new_york_local, to_utm};
use doorstep_store::{Audience, Created, RideChange, StoreError, StoredEvent};

/// The most rides a list returns.
pub const RIDE_LIST_LIMIT: i64 = 100;

/// How many times a PIN check or a new PIN re-reads the ride after losing a race to a concurrent change
/// before it gives up with 409 `concurrent_update`.
pub const RIDE_CHANGE_TRIES: usize = 8;

/// A pending offer with the ride it is for.
#[derive(Debug, Clone)]
pub struct OfferView {
    /// The offer.
    pub offer: Offer,
    /// The ride offered.
    pub ride: Ride,
}

/// Why an area's price is surging: its open requests and available cars when the quote was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurgeReason {
    /// The pickup's zone ("Midtown Center").
    pub zone: String,
    /// Open requests near the pickup.
    pub requests: u32,
    /// Available cars near the pickup.
    pub cars: u32,
}

pub(crate) fn require_role(user: &User, role: Role) -> Result<(), AppError> {
    if user.role == role {
        Ok(())
    } else {
        Err(AppError::Forbidden(match role {
            Role::Rider => "only riders can do this",
            Role::Driver => "only drivers can do this",
            Role::Admin => "only admins can do this",
            Role::Merchant => "only merchants can do this",
            Role::Provider => "only providers can do this",
        }))
    }
}

/// The ride an idempotency key created, if it was created from `quote_id`: a key reused for another
/// quote is refused with `idempotency_key_reused`.
fn same_request(existing: Ride, quote_id: QuoteId) -> Result<Ride, AppError> {
    if existing.quote_id == quote_id {
        Ok(existing)
    } else {
        Err(AppError::invalid(
            "idempotency_key_reused",
            "this idempotency key was used for a request with another quote",
        ))
    }
}

/// Who may see an event of `ride`.
pub(crate) fn audience_of(ride: &Ride, event: &RideEvent) -> Audience {
    match event {
        RideEvent::Offered { driver, .. } => Audience {
            rider: None,
            driver: Some(*driver),
        },
        RideEvent::DriverCancelled { driver } => Audience {
            rider: Some(ride.rider()),
            driver: Some(*driver),
        },
        RideEvent::Requested { .. } | RideEvent::NoDriverAvailable { .. } => Audience {
            rider: Some(ride.rider()),
            driver: None,
        },
        RideEvent::DriverAssigned { .. }
        | RideEvent::MessageSent { .. }
        | RideEvent::DriverArrived { .. }
        | RideEvent::Started { .. }
        | RideEvent::Completed { .. }
        | RideEvent::Cancelled { .. }
        | RideEvent::PinAttemptFailed { .. }
        | RideEvent::PinLocked
        | RideEvent::PinReissued => Audience {
            rider: Some(ride.rider()),
            driver: ride.driver(),
        },
    }
}

impl App {
    /// Saves a ride change in one transaction, then counts the change of state (`from`, the state the
    /// change was computed from, to the ride's state) and publishes its events.
    pub(crate) async fn commit(
        &self,
        ride: &Ride,
        from: RideState,
        expected_version: i64,
        offers: &[Offer],
        events: &[RideEvent],
        posting: Option<&doorstep_domain::ledger::Posting>,
    ) -> Result<Vec<StoredEvent>, AppError> {
        Ok(self
            .try_commit(ride, from, expected_version, offers, events, posting)
            .await?)
    }

    /// [`App::commit`], with the store's error as it is, so that a caller can retry a lost race
    /// ([`StoreError::Conflict`]).
    async fn try_commit(
        &self,
        ride: &Ride,
        from: RideState,
        expected_version: i64,
        offers: &[Offer],
        events: &[RideEvent],
        posting: Option<&doorstep_domain::ledger::Posting>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.commit_audited(ride, from, expected_version, offers, events, posting, None)
            .await
    }

    /// [`App::try_commit`] of an operator's action, recorded in the audit log in the same transaction
    /// ([`StoreError::AuditKeyUsed`] if the operator already used the entry's idempotency key).
    #[allow(
        clippy::too_many_arguments,
        reason = "one ride change, spelled out as the store takes it"
    )]
    pub(crate) async fn commit_audited(
        &self,
        ride: &Ride,
        from: RideState,
        expected_version: i64,
        offers: &[Offer],
        events: &[RideEvent],
        posting: Option<&doorstep_domain::ledger::Posting>,
        audit: Option<&doorstep_domain::audit::NewAuditEntry>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let events: Vec<_> = events
            .iter()
            .map(|e| (e.clone(), audience_of(ride, e)))
            .collect();
        let stored = self
            .store()
            .save_ride_change_audited(
                RideChange {
                    ride,
                    expected_version,
                    offers,
                    events: &events,
                    posting,
                    at: self.clock().now(),
                },
                audit,
            )
            .await?;
        self.ride_counts().changed(from, ride.state());
        self.hot_state_jitter().await;
        for e in &stored {
            metrics::counter!("ride_events_total", "type" => e.event.kind()).increment(1);
            self.bus().publish(BusMessage::Event(e.clone()));
        }
        Ok(stored)
    }

    /// Waits a random time up to [`AppConfig::hot_state_jitter`](crate::AppConfig) (tests: the
    /// hot-state update of a commit reaches the hot state late, in any order with other commits).
    async fn hot_state_jitter(&self) {
        let jitter = self.config().hot_state_jitter;
        if !jitter.is_zero() {
            let wait = rand::random_range(0..=jitter.as_millis().max(1));
            tokio::time::sleep(std::time::Duration::from_millis(
                u64::try_from(wait).unwrap_or(0),
            ))
            .await;
        }
    }

    /// Seconds since local midnight in the city, for the time-of-day travel model.
    pub fn seconds_of_day(&self, now: Timestamp) -> u32 {
        new_york_local(now.unix_secs()).seconds_of_day
    }

    /// Estimated driving time in seconds between two points at `now`.
    pub fn travel_secs(&self, from: LatLng, to: LatLng, now: Timestamp) -> f64 {
        self.city()
            .mean_travel_secs(to_utm(from), to_utm(to), self.seconds_of_day(now))
    }

    /// Estimated street distance in metres between two points (L1 along Manhattan's grid).
    pub fn street_distance_m(&self, from: LatLng, to: LatLng) -> f64 {
        self.city().l1_km(to_utm(from), to_utm(to)) * 1000.0
    }

    /// Prices a trip for a rider, with the surge of the pickup area, and keeps the quote for a few minutes.
    pub async fn quote(
        &self,
        rider: &User,
        pickup: LatLng,
        dropoff: LatLng,
    ) -> Result<Quote, AppError> {
        Ok(self.quote_explained(rider, pickup, dropoff).await?.0)
    }

    /// The surge of the zone of `pickup` after one update from its demand and supply now: the zone's
    /// multiplier moves by at most one [`SurgePolicy`](doorstep_domain::pricing::SurgePolicy) step per
    /// `step_interval_secs`, with hysteresis, under the cap. Returns it with its reason when above 1.0×.
    pub fn surge_at(&self, pickup: LatLng, now: Timestamp) -> (SurgeMillis, Option<SurgeReason>) {
        let (demand, supply) =
            self.with_fleet(|f| f.demand_supply_near(pickup, self.config().surge_radius_km));
        let zone = self.city().zone_of(to_utm(pickup));
        let policy = self.config().surge;
        let surge = {
            let mut board = self
                .surge_board()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = board
                .entry(zone.0)
                .or_insert((SurgeMillis::NONE, Timestamp::from_millis(i64::MIN / 2)));
            if now.secs_since(entry.1) >= policy.step_interval_secs {
                let next = policy.next(entry.0, demand, supply);
                *entry = (next, now);
            }
            entry.0
        };
        let reason = (surge > SurgeMillis::NONE).then(|| SurgeReason {
            zone: self.city().zones()[usize::from(zone.0)].name.clone(),
            requests: demand,
            cars: supply,
        });
        (surge, reason)
    }

    /// [`App::quote`], with why the surge is what it is.
    pub async fn quote_explained(
        &self,
        rider: &User,
        pickup: LatLng,
        dropoff: LatLng,
    ) -> Result<(Quote, Option<SurgeReason>), AppError> {
        require_role(rider, Role::Rider)?;
        for (what, p) in [("pickup", pickup), ("dropoff", dropoff)] {
            if !self.city().covers(p) {
                return Err(AppError::invalid(
                    "outside_service_area",
                    format!("the {what} is outside the service area (Manhattan)"),
                ));
            }
            if !doorstep_places::Places::manhattan().on_land(p) {
                return Err(AppError::invalid(
                    "in_water",
                    format!("the {what} is in the water"),
                ));
            }
        }
        let now = self.clock().now();
        let distance_m = self.street_distance_m(pickup, dropoff);
        let duration_s = self.travel_secs(pickup, dropoff, now);
        let (surge, reason) = self.surge_at(pickup, now);
        let fare = price_trip(
            &self.config().pricing,
            to_u32(distance_m),
            to_u32(duration_s),
            surge,
        )
        .map_err(|e| AppError::Internal(format!("pricing: {e}")))?;
        let quote = Quote {
            id: QuoteId::from_uuid(uuid::Uuid::now_v7()),
            rider: rider.id,
            pickup,
            dropoff,
            fare,
            created_at: now,
            expires_at: now.plus_secs(self.config().pricing.quote_ttl_secs),
        };
        self.store().insert_quote(&quote).await?;
        Ok((quote, reason))
    }

    /// Turns a quote into a ride paid with `payment_method_id` (default: cash). With an idempotency key,
    /// a retry returns the ride created the first time. The quoted fare is authorised on the method
    /// before the ride exists: a refusal (402 `insufficient_funds`, `card_declined`) creates nothing.
    pub async fn request_ride(
        &self,
        rider: &User,
        quote_id: QuoteId,
        idempotency_key: Option<&str>,
        payment_method_id: Option<&str>,
    ) -> Result<Ride, AppError> {
        require_role(rider, Role::Rider)?;
        // A retry returns the ride its key created, even after the quote expired; the same key with
        // another quote is a client bug that must not pass for a success.
        if let Some(key) = idempotency_key
            && let Some(existing) = self.store().ride_by_idempotency_key(rider.id, key).await?
        {
            return same_request(existing, quote_id);
        }
        let quote = self
            .store()
            .quote(quote_id)
            .await?
            .filter(|q| q.rider == rider.id)
            .ok_or(AppError::NotFound("quote"))?;
        let now = self.clock().now();
        let method = self
            .payment_method(
                rider.id,
                payment_method_id.unwrap_or(doorstep_domain::payment::CASH_METHOD_ID),
            )
            .await?;
        let pin = Pin::issue(&mut rand::rng());
        let (ride, event) = Ride::request(
            NewRide {
                id: RideId::from_uuid(uuid::Uuid::now_v7()),
                rider: rider.id,
                quote_id,
                pickup: quote.pickup,
                dropoff: quote.dropoff,
                quoted: quote.fare.clone(),
                pin,
            },
            now,
        );
        if !quote.is_valid_at(now) {
            return Err(AppError::conflict(
                "quote_expired",
                "the quote has expired; ask for a new one",
            ));
        }
        let auth = self
            .authorise_job(&method, ride.id().into(), quote.fare.total)
            .await?;
        let audience = audience_of(&ride, &event);
        let created = match self
            .store()
            .create_ride(&ride, idempotency_key, &event, &audience, now)
            .await
        {
            Ok(created) => created,
            Err(e) => {
                self.release_unused(&method, &auth).await;
                return Err(e.into());
            }
        };
        if !matches!(created, Created::New(..)) {
            self.release_unused(&method, &auth).await;
        }
        match created {
            Created::New(ride, stored) => {
                if let Err(e) = self.record_authorisation(&auth).await {
                    // The ride exists: it is paid in cash, as a ride without an authorisation is.
                    tracing::error!(error = %e, ride_id = %ride.id(), "recording the authorisation failed");
                    self.release_unused(&method, &auth).await;
                }
                self.ride_counts().created(ride.state());
                self.hot_state_jitter().await;
                metrics::counter!("rides_requested_total").increment(1);
                self.bus().publish(BusMessage::Event(stored));
                self.apply_committed(&ride, None);
                self.dispatch(DispatchCommand::Open(ride.id().into()));
                tracing::debug!(ride_id = %ride.id(), "ride requested");
                Ok(ride)
            }
            Created::Existing(ride) => same_request(ride, quote_id),
        }
    }

    /// A ride as `user` may see it: their own as rider or driver, any as admin.
    pub async fn ride_for(&self, user: &User, id: RideId) -> Result<Ride, AppError> {
        let ride = self
            .store()
            .ride(id)
            .await?
            .ok_or(AppError::NotFound("ride"))?;
        let offered = if user.role == Role::Driver && !ride.involves(user.id) {
            self.store()
                .pending_offers_of_driver(user.id)
                .await?
                .iter()
                .any(|o| o.ride_id == id)
        } else {
            false
        };
        if ride.involves(user.id) || user.role == Role::Admin || offered {
            Ok(ride)
        } else {
            Err(AppError::NotFound("ride"))
        }
    }

    /// The events of a ride, for its rider, driver or an admin.
    pub async fn ride_events_for(
        &self,
        user: &User,
        id: RideId,
    ) -> Result<Vec<StoredEvent>, AppError> {
        self.ride_for(user, id).await?;
        let events = self.store().events_of_ride(id).await?;
        Ok(events
            .into_iter()
            .filter(|e| user.role == Role::Admin || e.is_for(user.id))
            .collect())
    }

    /// The user's rides, newest first: as rider, as driver, or all for an admin.
    pub async fn rides_for(&self, user: &User) -> Result<Vec<Ride>, AppError> {
        Ok(match user.role {
            Role::Rider => {
                self.store()
                    .rides_of_rider(user.id, RIDE_LIST_LIMIT)
                    .await?
            }
            Role::Driver => {
                self.store()
                    .rides_of_driver(user.id, RIDE_LIST_LIMIT)
                    .await?
            }
            Role::Admin => self.store().recent_rides(RIDE_LIST_LIMIT).await?,
            Role::Merchant | Role::Provider => Vec::new(),
        })
    }

    /// Cancels a ride: the rider (free within the window, a fee after), the assigned driver (the ride goes
    /// back to dispatch), or an admin.
    pub async fn cancel_ride(&self, user: &User, id: RideId) -> Result<Ride, AppError> {
        let mut ride = self.ride_for(user, id).await?;
        let (from, expected) = (ride.state(), ride.version());
        let now = self.clock().now();
        let pricing = &self.config().pricing;
        if user.role == Role::Driver {
            if ride.driver() != Some(user.id) {
                return Err(AppError::NotFound("ride"));
            }
            let event = ride.cancel_by_driver(user.id, now)?;
            self.commit(&ride, from, expected, &[], &[event], None)
                .await?;
            self.apply_committed(&ride, None);
            self.dispatch(DispatchCommand::Open(ride.id().into()));
            return Ok(ride);
        }
        let event = match user.role {
            Role::Admin => ride.cancel_by_admin(None, now)?,
            _ => ride.cancel_by_rider(user.id, pricing, now)?,
        };
        let mut offers = self.store().offers_of_ride(ride.id()).await?;
        offers.retain_mut(Offer::withdraw);
        let posting = match ride.cancel_fee() {
            Some(_) => Some(
                cancellation_fee_posting(&ride, pricing.commission_bps, now)
                    .map_err(|e| AppError::Internal(format!("fee posting: {e}")))?,
            ),
            None => None,
        };
        self.commit(&ride, from, expected, &offers, &[event], posting.as_ref())
            .await?;
        self.apply_committed(&ride, None);
        self.dispatch(DispatchCommand::Gone(ride.id().into()));
        self.settle_ride(&ride).await;
        Ok(ride)
    }

    async fn drivers_ride(&self, driver: &User, id: RideId) -> Result<Ride, AppError> {
        require_role(driver, Role::Driver)?;
        let ride = self
            .store()
            .ride(id)
            .await?
            .ok_or(AppError::NotFound("ride"))?;
        if ride.driver() != Some(driver.id) {
            return Err(AppError::NotFound("ride"));
        }
        Ok(ride)
    }

    /// The driver is at the pickup: allowed only within [`AppConfig::stop_radii`](crate::AppConfig) of
    /// it, by the driver's last accepted position (409 `not_at_pickup` otherwise).
    pub async fn arrive(&self, driver: &User, id: RideId) -> Result<Ride, AppError> {
        let mut ride = self.drivers_ride(driver, id).await?;
        let (from, expected) = (ride.state(), ride.version());
        let position = self.believed(driver.id, None).await.0.map(|(p, _)| p);
        let event = ride.arrive(
            driver.id,
            position,
            self.config().stop_radii,
            self.clock().now(),
        )?;
        self.commit(&ride, from, expected, &[], &[event], None)
            .await?;
        Ok(ride)
    }

    /// The driver starts the trip with the rider's PIN.
    ///
    /// A wrong PIN is counted before it is answered: the ride (its count of wrong PINs, and the lock at
    /// [`AppConfig::pin_max_attempts`](crate::AppConfig)) and the `pin_attempt_failed`/`pin_locked` events
    /// are saved under the version the guess was checked against, and only then does the driver get 422
    /// `wrong_pin`. If a concurrent change won the race, the guess is checked again against the ride as it
    /// now is (which may be locked, or started); after [`RIDE_CHANGE_TRIES`] lost races the answer is 409
    /// `concurrent_update`, which says nothing about the PIN.
    #[tracing::instrument(skip_all, fields(ride_id = %id))]
    pub async fn start_trip(&self, driver: &User, id: RideId, pin: &Pin) -> Result<Ride, AppError> {
        let max = self.config().pin_max_attempts;
        for _ in 0..RIDE_CHANGE_TRIES {
            let mut ride = self.drivers_ride(driver, id).await?;
            let (from, expected) = (ride.state(), ride.version());
            let outcome = match ride.start(driver.id, pin, max, self.clock().now()) {
                Ok(outcome) => outcome,
                Err(refused) => {
                    if matches!(refused, doorstep_domain::ride::RideError::PinLocked) {
                        metrics::counter!("pin_checks_total", "result" => "locked").increment(1);
                    }
                    return Err(refused.into());
                }
            };
            match outcome {
                StartOutcome::Started(event) => {
                    match self
                        .try_commit(&ride, from, expected, &[], &[event], None)
                        .await
                    {
                        Ok(_) => {}
                        Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e.into()),
                    }
                    metrics::counter!("pin_checks_total", "result" => "right").increment(1);
                    self.apply_committed(&ride, None);
                    return Ok(ride);
                }
                StartOutcome::WrongPin {
                    attempts_left,
                    events,
                } => {
                    match self
                        .try_commit(&ride, from, expected, &[], &events, None)
                        .await
                    {
                        Ok(_) => {}
                        Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e.into()),
                    }
                    metrics::counter!("pin_checks_total", "result" => "wrong").increment(1);
                    tracing::info!(attempts_left, "wrong pin");
                    return Err(AppError::invalid(
                        "wrong_pin",
                        wrong_pin_message(attempts_left),
                    ));
                }
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The rider (or an admin) replaces the ride's PIN with a new random one, which also unlocks it after
    /// too many wrong PINs. The `pin_reissued` event does not carry the PIN; the rider reads it from the
    /// ride. Anyone else gets 404 (the ride's driver 403: they know the ride exists).
    #[tracing::instrument(skip_all, fields(ride_id = %id))]
    pub async fn reissue_pin(&self, user: &User, id: RideId) -> Result<Ride, AppError> {
        for _ in 0..RIDE_CHANGE_TRIES {
            let mut ride = self.ride_for(user, id).await?;
            let (from, expected) = (ride.state(), ride.version());
            let event = match user.role {
                Role::Admin => ride.reissue_pin_by_admin(&mut rand::rng())?,
                Role::Rider if ride.rider() == user.id => {
                    ride.reissue_pin_by_rider(user.id, &mut rand::rng())?
                }
                _ if ride.driver() == Some(user.id) => {
                    return Err(AppError::Forbidden(
                        "only the rider or an operator can issue a new pin",
                    ));
                }
                _ => return Err(AppError::NotFound("ride")),
            };
            match self
                .try_commit(&ride, from, expected, &[], &[event], None)
                .await
            {
                Ok(_) => return Ok(ride),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The driver ends the trip ([`Ride::complete`]). The final fare uses the distance driven (summed
    /// from the driver's accepted positions; for a trip that reached the drop-off with none on the way,
    /// the street distance between pickup and drop-off) and the time from start to now, at the quote's
    /// surge, brought into [`AppConfig::fare_band`](crate::AppConfig) around the quote. A completion
    /// farther than the drop-off radius from it is recorded as an early end and charged for what was
    /// driven. The fare is posted to the ledger in the same transaction.
    pub async fn complete_trip(&self, driver: &User, id: RideId) -> Result<Ride, AppError> {
        let mut ride = self.drivers_ride(driver, id).await?;
        let (from, expected) = (ride.state(), ride.version());
        let now = self.clock().now();
        let (position, odometer) = self.believed(driver.id, Some(id.into())).await;
        let position = position.map(|(p, _)| p);
        let duration_s = ride.started_at().map_or(0, |s| now.secs_since(s).max(0));
        let trip = TripEnd {
            position,
            driven_m: to_u32(odometer),
            street_m: to_u32(self.street_distance_m(ride.pickup(), ride.dropoff())),
            duration_s: u32::try_from(duration_s).unwrap_or(u32::MAX),
        };
        let config = self.config();
        let pricing = &config.pricing;
        let event = ride.complete(
            driver.id,
            &trip,
            pricing,
            config.stop_radii,
            config.fare_band,
            now,
        )?;
        let posting = ride_fare_posting(&ride, pricing.commission_bps, now)
            .map_err(|e| AppError::Internal(format!("fare posting: {e}")))?;
        self.commit(&ride, from, expected, &[], &[event], Some(&posting))
            .await?;
        self.apply_committed(&ride, None);
        self.settle_ride(&ride).await;
        metrics::counter!("rides_completed_total").increment(1);
        if let Some(reason) = ride.early_end() {
            metrics::counter!("rides_ended_early_total", "reason" => reason.as_str()).increment(1);
        }
        if let Some(adjustment) = ride.fare_adjustment {
            metrics::counter!("fares_adjusted_total", "adjustment" => adjustment.as_str())
                .increment(1);
        }
        Ok(ride)
    }

    /// The rider rates the driver, or the driver the rider, once the ride is completed.
    pub async fn rate(
        &self,
        user: &User,
        id: RideId,
        stars: u8,
        comment: &str,
    ) -> Result<Rating, AppError> {
        let stars =
            Stars::new(stars).map_err(|e| AppError::invalid("invalid_stars", e.to_string()))?;
        let comment = parse_comment(comment).map_err(|e| match e {
            RatingError::ForbiddenCharacter(_) => {
                AppError::invalid("invalid_characters", e.to_string())
            }
            RatingError::CommentTooLong | RatingError::StarsOutOfRange => {
                AppError::invalid("comment_too_long", e.to_string())
            }
        })?;
        let ride = self.ride_for(user, id).await?;
        // Only the ride's rider and its driver rate; for them an unfinished ride (even one that never
        // had a driver) is a state conflict, for anyone else the ride does not exist.
        if !ride.involves(user.id) {
            return Err(AppError::NotFound("ride"));
        }
        let to = match (ride.state(), ride.driver()) {
            (RideState::Completed, Some(driver)) if user.id == ride.rider() => driver,
            (RideState::Completed, Some(_)) => ride.rider(),
            _ => {
                return Err(AppError::conflict(
                    "ride_not_completed",
                    "only completed rides can be rated",
                ));
            }
        };
        let rating = Rating {
            ride_id: id,
            from: user.id,
            to,
            stars,
            comment,
            at: self.clock().now(),
        };
        self.store().insert_rating(&rating).await?;
        Ok(rating)
    }

    /// The driver's pending offers with their rides.
    pub async fn offers_for(&self, driver: &User) -> Result<Vec<OfferView>, AppError> {
        require_role(driver, Role::Driver)?;
        let now = self.clock().now();
        let mut views = Vec::new();
        for offer in self.store().pending_offers_of_driver(driver.id).await? {
            if offer.expires_at < now {
                continue;
            }
            if let Some(ride) = self.store().ride(offer.ride_id).await? {
                views.push(OfferView { offer, ride });
            }
        }
        Ok(views)
    }

    async fn drivers_offer(&self, driver: &User, id: OfferId) -> Result<(Offer, Ride), AppError> {
        require_role(driver, Role::Driver)?;
        let offer = self
            .store()
            .offer(id)
            .await?
            .filter(|o| o.driver == driver.id)
            .ok_or(AppError::NotFound("offer"))?;
        let ride = self
            .store()
            .ride(offer.ride_id)
            .await?
            .ok_or(AppError::NotFound("offer"))?;
        Ok((offer, ride))
    }

    /// The driver accepts an offer made to them: the ride is theirs.
    pub async fn accept_offer(&self, driver: &User, id: OfferId) -> Result<Ride, AppError> {
        let (mut offer, mut ride) = self.drivers_offer(driver, id).await?;
        let (from, expected) = (ride.state(), ride.version());
        let now = self.clock().now();
        offer.accept(driver.id, now)?;
        let mut event = ride.assign(driver.id, offer.pickup_eta_s, now)?;
        // Who is coming, as the rider sees it from now on.
        if let RideEvent::DriverAssigned { driver_card, .. } = &mut event {
            *driver_card = Some(Box::new(self.driver_card(driver.id).await?));
        }
        self.commit(&ride, from, expected, &[offer], &[event], None)
            .await?;
        self.apply_committed(&ride, None);
        self.dispatch(DispatchCommand::Gone(ride.id().into()));
        metrics::counter!("offers_answered_total", "answer" => "accepted").increment(1);
        Ok(ride)
    }

    /// The driver declines an offer: the ride goes to the next best driver.
    pub async fn decline_offer(&self, driver: &User, id: OfferId) -> Result<Offer, AppError> {
        let (mut offer, mut ride) = self.drivers_offer(driver, id).await?;
        let (from, expected) = (ride.state(), ride.version());
        offer.decline(driver.id, self.clock().now())?;
        ride.exclude_driver(driver.id);
        self.commit(
            &ride,
            from,
            expected,
            std::slice::from_ref(&offer),
            &[],
            None,
        )
        .await?;
        self.apply_committed(&ride, None);
        self.dispatch(DispatchCommand::Requeue(ride.id().into()));
        metrics::counter!("offers_answered_total", "answer" => "declined").increment(1);
        Ok(offer)
    }

    /// Ends a pending offer whose deadline passed (called by the dispatcher). Returns whether it expired.
    pub(crate) async fn expire_offer(&self, id: OfferId) -> Result<bool, AppError> {
        if let Some(expired) = self.expire_delivery_offer(id).await? {
            return Ok(expired);
        }
        let Some(mut offer) = self.store().offer(id).await? else {
            return Ok(false);
        };
        if offer.state != OfferState::Pending {
            return Ok(false);
        }
        let Some(mut ride) = self.store().ride(offer.ride_id).await? else {
            return Ok(false);
        };
        let (from, expected) = (ride.state(), ride.version());
        if !offer.expire_if_due(self.clock().now()) {
            return Ok(false);
        }
        ride.exclude_driver(offer.driver);
        self.commit(
            &ride,
            from,
            expected,
            std::slice::from_ref(&offer),
            &[],
            None,
        )
        .await?;
        self.apply_committed(&ride, None);
        metrics::counter!("offers_answered_total", "answer" => "expired").increment(1);
        Ok(true)
    }

    /// The fee the rider would pay to cancel now.
    pub fn cancel_fee_now(&self, ride: &Ride) -> Option<Money> {
        ride.cancel_fee_at(&self.config().pricing, self.clock().now())
    }

    /// Whether `user` is allowed to see driver `driver`'s ratings (anyone signed in).
    pub async fn rating_summary(&self, user: UserId) -> Result<(f64, i64), AppError> {
        Ok(self.store().rating_summary(user).await?)
    }
}

/// What the driver is told after a wrong PIN.
fn wrong_pin_message(attempts_left: u8) -> String {
    match attempts_left {
        0 => "wrong pin; no tries left: the pin is now locked, ask the rider for the new pin"
            .to_owned(),
        1 => "wrong pin; 1 try left before the pin is locked".to_owned(),
        n => format!("wrong pin; {n} tries left before the pin is locked"),
    }
}

/// Rounds a non-negative measure to `u32`, saturating.
pub(crate) fn to_u32(x: f64) -> u32 {
    if x.is_finite() && x > 0.0 {
        // Saturating conversion is the documented behaviour of `as` for floats.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "saturating by design"
        )]
        let v = x.round() as u32;
        v
    } else {
        0
    }
}
