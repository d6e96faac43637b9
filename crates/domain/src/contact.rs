//! Who is coming and what they say: a driver's vehicle, the card a rider sees of the assigned driver,
//! and the messages the parties of a job send each other. The rules for the typed text are declared
//! once here ([`VEHICLE_TEXT`], [`PLATE_MAX_CHARS`], [`PLATE_PATTERN`], [`MESSAGE_TEXT`]); the server
//! validates with them and the API document is written from them.

use crate::ids::{JobId, MessageId, UserId};
use crate::text::{FORBIDDEN_IN_LINE, FORBIDDEN_IN_PARAGRAPH, TextError, TextRule};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A vehicle's make, model or colour.
pub const VEHICLE_TEXT: TextRule = TextRule {
    min_chars: 1,
    max_chars: 40,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: true,
    trimmed: true,
};

/// The most characters of a number plate, as sent.
pub const PLATE_MAX_CHARS: usize = 10;

/// What a number plate is made of: ASCII letters and digits, with spaces and hyphens after the first.
pub const PLATE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9 -]*$";

/// A message's text.
pub const MESSAGE_TEXT: TextRule = TextRule {
    min_chars: 1,
    max_chars: 500,
    forbidden: &FORBIDDEN_IN_PARAGRAPH,
    needs_visible: true,
    trimmed: true,
};

/// Which field of a vehicle was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VehicleError {
    /// The make, model or colour.
    #[error("{field}: {error}")]
    Text {
        /// `make`, `model` or `colour`.
        field: &'static str,
        /// Why.
        error: TextError,
    },
    /// The plate.
    #[error(
        "plate: 1 to 10 letters (A-Z) and digits, with spaces or hyphens after the first character"
    )]
    Plate,
}

/// A driver's car as riders see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    /// Make ("Toyota").
    pub make: String,
    /// Model ("Prius").
    pub model: String,
    /// Colour ("Blue").
    pub colour: String,
    /// Number plate, upper case, single spaces ("T123 4567C").
    pub plate: String,
}

impl Vehicle {
    /// Checks and normalises what a driver typed: text trimmed, the plate upper-cased with runs of
    /// spaces made one.
    pub fn parse(
        make: &str,
        model: &str,
        colour: &str,
        plate: &str,
    ) -> Result<Vehicle, VehicleError> {
        let text = |field: &'static str, raw: &str| {
            VEHICLE_TEXT
                .check(raw)
                .map(str::to_owned)
                .map_err(|error| VehicleError::Text { field, error })
        };
        Ok(Vehicle {
            make: text("make", make)?,
            model: text("model", model)?,
            colour: text("colour", colour)?,
            plate: parse_plate(plate)?,
        })
    }
}

fn parse_plate(raw: &str) -> Result<String, VehicleError> {
    let n = raw.chars().count();
    let mut chars = raw.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
    if !(1..=PLATE_MAX_CHARS).contains(&n) || !first_ok || !rest_ok {
        return Err(VehicleError::Plate);
    }
    Ok(raw
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase())
}

/// The initials of a display name: the first letter of its first and last words, upper-cased ("Ada
/// Lovelace" → "AL", "Ada" → "A").
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let first = |w: &&str| w.chars().next();
    let mut out = String::new();
    if let Some(c) = words.first().and_then(first) {
        out.extend(c.to_uppercase());
    }
    if words.len() > 1
        && let Some(c) = words.last().and_then(first)
    {
        out.extend(c.to_uppercase());
    }
    out
}

/// The average of the ratings a user received, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatingSummary {
    /// Mean stars.
    pub average: f64,
    /// How many ratings.
    pub count: u32,
}

/// Who is coming: the assigned driver as the ride's rider sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverCard {
    /// The driver.
    pub driver: UserId,
    /// Display name.
    pub name: String,
    /// Initials of the name, for an avatar.
    pub initials: String,
    /// The car (`None` for a driver who registered none).
    pub vehicle: Option<Vehicle>,
    /// Ratings received (`None` before the first).
    pub rating: Option<RatingSummary>,
}

/// Who sent a message, as a party of the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// The customer (a ride's rider).
    Customer,
    /// The worker (a ride's driver).
    Worker,
}

impl Sender {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Worker => "worker",
        }
    }

    /// Parses [`Sender::as_str`].
    pub fn parse(s: &str) -> Option<Sender> {
        [Sender::Customer, Sender::Worker]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A message between the parties of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    /// Identity.
    pub id: MessageId,
    /// The job (a ride's job has the ride's id).
    pub job: JobId,
    /// Who sent it.
    pub from: UserId,
    /// What the sender is to the job.
    pub sender: Sender,
    /// The text, trimmed ([`MESSAGE_TEXT`]).
    pub text: String,
    /// When it was sent.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plates_are_normalised_and_bad_ones_refused() {
        let v = Vehicle::parse(" Toyota ", "Prius", "Blue", "t12  3-ab");
        assert_eq!(
            v.map(|v| (v.make, v.plate)),
            Ok(("Toyota".to_owned(), "T12 3-AB".to_owned()))
        );
        for bad in ["", " AB", "-AB", "ABCDEFGHIJK", "AB_1", "ÄB"] {
            assert_eq!(
                Vehicle::parse("a", "b", "c", bad),
                Err(VehicleError::Plate),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Vehicle::parse("   ", "b", "c", "X1"),
            Err(VehicleError::Text { field: "make", .. })
        ));
        assert!(matches!(
            Vehicle::parse("a", &"m".repeat(41), "c", "X1"),
            Err(VehicleError::Text { field: "model", .. })
        ));
    }

    #[test]
    fn initials_take_the_first_and_last_words() {
        assert_eq!(initials("ada lovelace"), "AL");
        assert_eq!(initials("Ada"), "A");
        assert_eq!(initials("Jean Claude Van Damme"), "JD");
        assert_eq!(initials(""), "");
    }
}
