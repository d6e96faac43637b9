//! Saved places: the caller's own home, work and labels (see `doorstep_domain::saved_place`). Every use
//! case acts on the caller's places only; nobody reads another account's.

use crate::{App, AppError};
use doorstep_domain::User;
use doorstep_domain::saved_place::{
    MAX_CUSTOM_PLACES, PLACE_ADDRESS, PLACE_NAME, PlaceLabel, SavedPlace,
};
use doorstep_domain::text::{TextError, TextRule};
use doorstep_geo::LatLng;
use doorstep_store::PutPlace;

/// What [`App::save_place`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedOutcome {
    /// The place as saved.
    pub place: SavedPlace,
    /// Whether the label is new (else its place was replaced).
    pub created: bool,
}

/// A text error as the API's codes: forbidden characters are `invalid_characters`, anything else `code`.
fn text_error(code: &'static str, what: &str, e: TextError) -> AppError {
    match e {
        TextError::ForbiddenCharacter(_) => {
            AppError::invalid("invalid_characters", format!("the {what} {e}"))
        }
        TextError::Length { .. } | TextError::Blank => {
            AppError::invalid(code, format!("the {what} {e}"))
        }
    }
}

/// Checks a label.
pub fn parse_label(raw: &str) -> Result<PlaceLabel, AppError> {
    PlaceLabel::parse(raw).map_err(|e| text_error("invalid_label", "label", e))
}

fn optional_text(
    rule: &TextRule,
    raw: Option<&str>,
    code: &'static str,
    what: &str,
) -> Result<String, AppError> {
    match raw {
        None => Ok(String::new()),
        Some(raw) => rule
            .check(raw)
            .map(str::to_owned)
            .map_err(|e| text_error(code, what, e)),
    }
}

impl App {
    /// The caller's saved places: home, work, then their own labels.
    pub async fn saved_places(&self, user: &User) -> Result<Vec<SavedPlace>, AppError> {
        Ok(self.store().saved_places(user.id).await?)
    }

    /// Saves `point` under `label` for the caller, replacing what the label held. The point must be on
    /// land in the service area (422 `outside_service_area`, `in_water`: the geocoder's own checks); a
    /// new label beyond home, work and [`MAX_CUSTOM_PLACES`] of the caller's own is a conflict
    /// (`too_many_saved_places`).
    pub async fn save_place(
        &self,
        user: &User,
        label: &str,
        point: LatLng,
        name: Option<&str>,
        address: Option<&str>,
    ) -> Result<SavedOutcome, AppError> {
        let label = parse_label(label)?;
        let name = optional_text(&PLACE_NAME, name, "invalid_name", "name")?;
        let address = optional_text(&PLACE_ADDRESS, address, "invalid_address", "address")?;
        doorstep_places::Places::manhattan()
            .check_position(point)
            .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        let place = SavedPlace {
            label,
            point,
            name,
            address,
            updated_at: self.clock().now(),
        };
        let created = match self
            .store()
            .put_saved_place(user.id, &place, MAX_CUSTOM_PLACES)
            .await?
        {
            PutPlace::Created => true,
            PutPlace::Replaced => false,
            PutPlace::Full => {
                return Err(AppError::conflict(
                    "too_many_saved_places",
                    format!(
                        "you keep {MAX_CUSTOM_PLACES} places besides home and work: delete one first"
                    ),
                ));
            }
        };
        Ok(SavedOutcome { place, created })
    }

    /// Deletes the caller's place under `label` (404 `place_not_found` if there is none).
    pub async fn delete_saved_place(&self, user: &User, label: &str) -> Result<(), AppError> {
        let label = parse_label(label)?;
        if self
            .store()
            .delete_saved_place(user.id, label.key())
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound("place"))
        }
    }
}
