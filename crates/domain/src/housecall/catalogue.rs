//! The catalogue of house-call services: what a customer can book, for how long and at what price.

use crate::ids::ServiceId;
use crate::money::Money;
use crate::text::{self, TextRule};
use serde::{Deserialize, Serialize};

/// The shortest appointment, minutes.
pub const MIN_DURATION_MIN: u32 = 15;
/// The longest appointment, minutes (eight hours).
pub const MAX_DURATION_MIN: u32 = 8 * 60;
/// Appointment lengths are whole multiples of this, minutes.
pub const DURATION_STEP_MIN: u32 = 5;
/// The longest preparation buffer after a visit (setting up, packing, cleaning), minutes.
pub const MAX_PREP_MIN: u32 = 60;
/// The highest price of a service, in minor units.
pub const MAX_PRICE_MINOR: i64 = 1_000_000;
/// The longest description of a service, in characters (after trimming).
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A service's name: one line of 1 to 100 characters.
pub const SERVICE_NAME: TextRule = text::DISPLAY_NAME;

/// A service as operators defined it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HcService {
    /// Its id.
    pub id: ServiceId,
    /// Its name ("Swedish massage, 60 minutes").
    pub name: String,
    /// What the customer gets.
    pub description: String,
    /// How long the appointment lasts, minutes.
    pub duration_min: u32,
    /// Time the provider needs after the visit before leaving (packing a table), minutes.
    pub prep_min: u32,
    /// What the customer pays.
    pub price: Money,
    /// Whether it can be booked (a retired service keeps its bookings).
    pub active: bool,
}

impl HcService {
    /// How long the provider is at the customer's place: the appointment and the buffer, seconds.
    pub fn on_site_secs(&self) -> u32 {
        (self.duration_min + self.prep_min) * 60
    }
}

/// A service as an operator writes it, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDraft {
    /// Its name.
    pub name: String,
    /// Its description (up to 500 characters).
    pub description: String,
    /// Minutes.
    pub duration_min: u32,
    /// Minutes.
    pub prep_min: u32,
    /// The price.
    pub price: Money,
    /// Bookable or retired.
    pub active: bool,
}

/// Why a service draft was refused; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The name breaks its rule.
    #[error("name: {0}")]
    Name(String),
    /// The description is longer than [`MAX_DESCRIPTION_CHARS`].
    #[error("description: at most {MAX_DESCRIPTION_CHARS} characters")]
    Description,
    /// The length is out of range or not a multiple of the step.
    #[error(
        "duration_min: {MIN_DURATION_MIN} to {MAX_DURATION_MIN}, a multiple of {DURATION_STEP_MIN}"
    )]
    Duration,
    /// The buffer is too long.
    #[error("prep_min: at most {MAX_PREP_MIN}")]
    Prep,
    /// The price is not positive or too high.
    #[error("price: more than zero and at most {MAX_PRICE_MINOR} minor units")]
    Price,
}

impl ServiceDraft {
    /// Checks the draft and makes the service `id`.
    pub fn into_service(self, id: ServiceId) -> Result<HcService, ServiceError> {
        let name = SERVICE_NAME
            .check(&self.name)
            .map_err(|e| ServiceError::Name(e.to_string()))?
            .to_owned();
        let description = self.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ServiceError::Description);
        }
        if !(MIN_DURATION_MIN..=MAX_DURATION_MIN).contains(&self.duration_min)
            || !self.duration_min.is_multiple_of(DURATION_STEP_MIN)
        {
            return Err(ServiceError::Duration);
        }
        if self.prep_min > MAX_PREP_MIN {
            return Err(ServiceError::Prep);
        }
        if self.price.minor <= 0 || self.price.minor > MAX_PRICE_MINOR {
            return Err(ServiceError::Price);
        }
        Ok(HcService {
            id,
            name,
            description,
            duration_min: self.duration_min,
            prep_min: self.prep_min,
            price: self.price,
            active: self.active,
        })
    }
}
