//! Who is coming and what they say: drivers register their vehicle, the rider of a ride sees the
//! assigned driver's card from assignment on, the rider and driver of an open ride message each other
//! (stored, and a durable event to both), and a quote says how far the nearest car is.

use crate::{App, AppError, BusMessage};
use doorstep_domain::contact::{
    DriverCard, JobMessage, RatingSummary, Sender, Vehicle, VehicleError, initials,
};
use doorstep_domain::ride::{Ride, RideState};
use doorstep_domain::{JobId, MessageId, RideId, Role, User, UserId};
use doorstep_geo::LatLng;
use doorstep_store::{Audience, Sent};

/// How far the nearest car is, from current supply, before a rider requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PickupSupply {
    /// Idle online drivers with a fresh position within the dispatcher's reach of the pickup.
    pub drivers_nearby: u32,
    /// The fastest of them to the pickup by the dispatcher's travel model, seconds (`None`: nobody in
    /// reach).
    pub pickup_eta_s: Option<u32>,
}

/// A message sent, and whether it was sent now (or returned for a retried idempotency key).
#[derive(Debug, Clone)]
pub struct MessageSent {
    /// The message.
    pub message: JobMessage,
    /// Whether this request stored it.
    pub new: bool,
}

fn vehicle_error(e: &VehicleError) -> AppError {
    let code = match e {
        VehicleError::Text { field: "make", .. } => "invalid_make",
        VehicleError::Text { field: "model", .. } => "invalid_model",
        VehicleError::Text { .. } => "invalid_colour",
        VehicleError::Plate => "invalid_plate",
    };
    AppError::invalid(code, e.to_string())
}

impl App {
    /// The driver registers (or replaces) their vehicle.
    pub async fn register_vehicle(
        &self,
        driver: &User,
        make: &str,
        model: &str,
        colour: &str,
        plate: &str,
    ) -> Result<Vehicle, AppError> {
        if driver.role != Role::Driver {
            return Err(AppError::Forbidden("only drivers can do this"));
        }
        let vehicle = Vehicle::parse(make, model, colour, plate).map_err(|e| vehicle_error(&e))?;
        self.store()
            .set_vehicle(driver.id, &vehicle, self.clock().now())
            .await?;
        Ok(vehicle)
    }

    /// The driver's registered vehicle (404 `vehicle_not_found` before they register one).
    pub async fn vehicle_of(&self, driver: &User) -> Result<Vehicle, AppError> {
        if driver.role != Role::Driver {
            return Err(AppError::Forbidden("only drivers can do this"));
        }
        self.store()
            .vehicle(driver.id)
            .await?
            .ok_or(AppError::NotFound("vehicle"))
    }

    /// The card of `driver`: name, initials, vehicle, and the ratings received.
    pub async fn driver_card(&self, driver: UserId) -> Result<DriverCard, AppError> {
        let name = self
            .store()
            .user_by_id(driver)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let vehicle = self.store().vehicle(driver).await?;
        let (average, count) = self.store().rating_summary(driver).await?;
        Ok(DriverCard {
            driver,
            initials: initials(&name),
            name,
            vehicle,
            rating: (count > 0).then(|| RatingSummary {
                average,
                count: u32::try_from(count).unwrap_or(u32::MAX),
            }),
        })
    }

    /// Who is coming, as `viewer` may see it: for the ride's rider, its driver and admins, from
    /// assignment until the trip ends; after a completed trip, what a receipt needs (no rating); never
    /// for a ride without a driver or one that ended otherwise.
    pub async fn driver_card_for(
        &self,
        viewer: &User,
        ride: &Ride,
    ) -> Result<Option<DriverCard>, AppError> {
        let Some(driver) = ride.driver() else {
            return Ok(None);
        };
        let party = viewer.id == ride.rider() || viewer.id == driver || viewer.role == Role::Admin;
        if !party {
            return Ok(None);
        }
        match ride.state() {
            RideState::DriverAssigned | RideState::DriverArrived | RideState::InProgress => {
                Ok(Some(self.driver_card(driver).await?))
            }
            RideState::Completed => {
                let mut card = self.driver_card(driver).await?;
                card.rating = None;
                Ok(Some(card))
            }
            RideState::Requested | RideState::Cancelled | RideState::NoDriverAvailable => Ok(None),
        }
    }

    /// How far the nearest idle car is from `pickup`, and how many are within reach.
    pub fn pickup_supply(&self, pickup: LatLng) -> PickupSupply {
        let now = self.clock().now();
        let fresh_since = now.plus_secs(-self.config().driver_stale_secs);
        let found =
            self.with_fleet(|f| f.candidates(pickup, 50, self.config().max_pickup_km, fresh_since));
        // The nearest few by distance; the fastest of them by the travel model.
        let eta = found
            .iter()
            .take(8)
            .map(|(_, p, _)| self.travel_secs(*p, pickup, now))
            .filter(|s| s.is_finite())
            .min_by(f64::total_cmp);
        PickupSupply {
            drivers_nearby: u32::try_from(found.len()).unwrap_or(u32::MAX),
            pickup_eta_s: eta.map(crate::rides::to_u32),
        }
    }

    /// The ride's messages, oldest first: for its rider, its driver and admins (404 for anyone else).
    pub async fn messages_for(&self, user: &User, id: RideId) -> Result<Vec<JobMessage>, AppError> {
        let ride = self.ride_for(user, id).await?;
        if !(ride.involves(user.id) || user.role == Role::Admin) {
            return Err(AppError::NotFound("ride"));
        }
        Ok(self.store().messages_of_job(JobId::from(id)).await?)
    }

    /// The rider or the driver of a ride with a driver sends the other a message: stored, and a
    /// durable `message_sent` event to both. Refused with 409 `no_driver_yet` before a driver is
    /// assigned and `ride_closed` once the ride is over.
    pub async fn send_message(
        &self,
        user: &User,
        id: RideId,
        text: &str,
        idempotency_key: Option<&str>,
    ) -> Result<MessageSent, AppError> {
        let text = doorstep_domain::contact::MESSAGE_TEXT
            .check(text)
            .map_err(|e| AppError::invalid("invalid_text", format!("text: {e}")))?
            .to_owned();
        let ride = self.ride_for(user, id).await?;
        let sender = if user.id == ride.rider() {
            Sender::Customer
        } else if ride.driver() == Some(user.id) {
            Sender::Worker
        } else {
            // An admin reads messages but is not a party; anyone else does not see the ride.
            return Err(if user.role == Role::Admin {
                AppError::Forbidden("only the ride's rider and driver can send messages")
            } else {
                AppError::NotFound("ride")
            });
        };
        match ride.state() {
            RideState::DriverAssigned | RideState::DriverArrived | RideState::InProgress => {}
            RideState::Requested => {
                return Err(AppError::conflict(
                    "no_driver_yet",
                    "messages can be sent once a driver is assigned",
                ));
            }
            RideState::Completed | RideState::Cancelled | RideState::NoDriverAvailable => {
                return Err(AppError::conflict(
                    "ride_closed",
                    "the ride is over: messages can no longer be sent",
                ));
            }
        }
        let message = JobMessage {
            id: MessageId::from_uuid(uuid::Uuid::now_v7()),
            job: JobId::from(id),
            from: user.id,
            sender,
            text,
            at: self.clock().now(),
        };
        let recipients = Audience::of_ride(&ride).recipients();
        match self
            .store()
            .insert_job_message(&message, idempotency_key, &recipients)
            .await?
        {
            Sent::New(message, stored) => {
                metrics::counter!("ride_events_total", "type" => stored.event.kind()).increment(1);
                self.bus().publish(BusMessage::Event(stored));
                Ok(MessageSent { message, new: true })
            }
            Sent::Existing(message) => Ok(MessageSent {
                message,
                new: false,
            }),
        }
    }
}
