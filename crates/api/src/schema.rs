//! The OpenAPI schemas of constrained inputs, each written from the constant or rule the server checks
//! the input with, so that the document and the validation cannot drift apart: coordinates from
//! `doorstep_geo::LATITUDE_DEGREES`, names and e-mail addresses from `doorstep_domain::text`, stars from
//! `doorstep_domain::rating::STARS`, batch sizes from `doorstep_app::drivers::MAX_BATCH`, and so on.
//! Used with `#[schema(schema_with = ...)]` and `#[param(schema_with = ...)]`.
//!
//! The Idempotency-Key header's rule lives here, because only the HTTP edge knows headers.

use crate::error::ApiError;
use doorstep_domain::text::{self, TextRule};
use std::ops::RangeInclusive;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Required};
use utoipa::{PartialSchema, ToSchema};

/// How many characters an `Idempotency-Key` has.
pub const IDEMPOTENCY_KEY_CHARS: RangeInclusive<usize> = 1..=100;

/// The characters of an `Idempotency-Key`: printable ASCII without spaces.
const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]+$";

/// Checks an `Idempotency-Key` header value by [`IDEMPOTENCY_KEY_CHARS`] and its pattern.
pub fn check_idempotency_key(raw: &[u8]) -> Result<&str, ApiError> {
    let refused = || {
        ApiError::unprocessable(
            "invalid_idempotency_key",
            format!(
                "the key must be {} to {} printable ASCII characters without spaces",
                IDEMPOTENCY_KEY_CHARS.start(),
                IDEMPOTENCY_KEY_CHARS.end()
            ),
        )
    };
    let key = std::str::from_utf8(raw).map_err(|_| refused())?;
    if IDEMPOTENCY_KEY_CHARS.contains(&key.len()) && key.bytes().all(|b| (b'!'..=b'~').contains(&b))
    {
        Ok(key)
    } else {
        Err(refused())
    }
}

pub(crate) fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String))
}

fn number_in(range: &RangeInclusive<f64>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Number))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
        .minimum(Some(*range.start()))
        .maximum(Some(*range.end()))
        .description(Some(description))
        .into()
}

pub(crate) fn integer_in(min: i64, max: i64, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(Some(max))
        .description(Some(description))
        .into()
}

pub(crate) fn text(rule: &TextRule, description: &str) -> RefOr<Schema> {
    string()
        .min_length(Some(rule.min_chars))
        .max_length(Some(rule.max_chars))
        .pattern(rule.pattern())
        .description(Some(description))
        .into()
}

/// Latitude in degrees.
pub fn latitude() -> RefOr<Schema> {
    number_in(&doorstep_geo::LATITUDE_DEGREES, "Latitude, degrees (WGS84)")
}

/// Longitude in degrees.
pub fn longitude() -> RefOr<Schema> {
    number_in(
        &doorstep_geo::LONGITUDE_DEGREES,
        "Longitude, degrees (WGS84)",
    )
}

/// A point that must be in the service area: a position whose latitude and longitude lie within the city's
/// bounding box (the exact area, a polygon, answers 422 `outside_service_area`).
pub fn service_point() -> RefOr<Schema> {
    let (south_west, north_east) = doorstep_geo::City::manhattan().bounding_box();
    let coordinate = |lo: f64, hi: f64, what: &str| {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Number))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
            .minimum(Some(lo))
            .maximum(Some(hi))
            .description(Some(what))
    };
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .property(
            "lat",
            coordinate(south_west.lat(), north_east.lat(), "Latitude, degrees (WGS84)"),
        )
        .required("lat")
        .property(
            "lng",
            coordinate(south_west.lng(), north_east.lng(), "Longitude, degrees (WGS84)"),
        )
        .required("lng")
        .description(Some(
            "A point in the service area (Manhattan): within these bounds, and inside the area itself",
        ))
        .into()
}

/// An e-mail address to sign up with.
pub fn email() -> RefOr<Schema> {
    string()
        .max_length(Some(text::EMAIL_MAX_CHARS))
        .pattern(Some(text::email_pattern()))
        .description(Some(
            "Login address; no spaces, control, bidirectional or zero-width characters; kept lower-cased",
        ))
        .into()
}

/// A new password.
pub fn password() -> RefOr<Schema> {
    text(&text::PASSWORD, "Password (characters, not bytes)")
}

/// A display name.
pub fn display_name() -> RefOr<Schema> {
    text(
        &text::DISPLAY_NAME,
        "Display name, trimmed; no control, bidirectional or zero-width characters",
    )
}

/// The comment of a rating.
pub fn rating_comment() -> RefOr<Schema> {
    text(
        &text::RATING_COMMENT,
        "Optional comment, trimmed; line breaks allowed, other control and bidirectional characters not",
    )
}

/// A vehicle's make, model or colour.
pub fn vehicle_text() -> RefOr<Schema> {
    text(
        &doorstep_domain::contact::VEHICLE_TEXT,
        "Trimmed; no control, bidirectional or zero-width characters",
    )
}

/// A number plate.
pub fn plate() -> RefOr<Schema> {
    string()
        .min_length(Some(1))
        .max_length(Some(doorstep_domain::contact::PLATE_MAX_CHARS))
        .pattern(Some(doorstep_domain::contact::PLATE_PATTERN))
        .description(Some(
            "Letters and digits, with spaces or hyphens after the first; kept upper-cased",
        ))
        .into()
}

/// A message's text.
pub fn message_text() -> RefOr<Schema> {
    text(
        &doorstep_domain::contact::MESSAGE_TEXT,
        "Trimmed, not blank; line breaks allowed, other control and bidirectional characters not",
    )
}

/// The stars of a rating.
pub fn stars() -> RefOr<Schema> {
    let stars = doorstep_domain::rating::STARS;
    integer_in(
        i64::from(*stars.start()),
        i64::from(*stars.end()),
        "Stars given",
    )
}

/// A ride's PIN.
pub fn pin() -> RefOr<Schema> {
    string()
        .pattern(Some(format!(
            "^[0-9]{{{}}}$",
            doorstep_domain::ride::PIN_DIGITS
        )))
        .description(Some("The rider's PIN"))
        .into()
}

/// An RFC 3339 instant.
pub fn date_time() -> RefOr<Schema> {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339 instant, e.g. 2026-11-28T12:00:00.000Z"))
        .into()
}

/// The `limit` of a nearby-drivers query.
pub fn nearby_limit() -> RefOr<Schema> {
    let limit = doorstep_app::drivers::NEARBY_LIMIT;
    integer_in(
        i64::try_from(*limit.start()).unwrap_or(1),
        i64::try_from(*limit.end()).unwrap_or(50),
        "How many drivers (default 10)",
    )
}

/// The `limit` of a ride search.
pub fn ride_search_limit() -> RefOr<Schema> {
    let limit = doorstep_app::ops::RIDE_SEARCH_LIMIT;
    integer_in(
        *limit.start(),
        *limit.end(),
        "At most this many (default 100)",
    )
}

/// A latitude in the service area's bounding box (the area itself, a polygon, answers 422
/// `outside_service_area`; the water inside it, `in_water`).
pub fn service_latitude() -> RefOr<Schema> {
    let (south_west, north_east) = doorstep_geo::City::manhattan().bounding_box();
    number_in(
        &(south_west.lat()..=north_east.lat()),
        "Latitude, degrees (WGS84), in the service area",
    )
}

/// A longitude in the service area's bounding box (see [`service_latitude`]).
pub fn service_longitude() -> RefOr<Schema> {
    let (south_west, north_east) = doorstep_geo::City::manhattan().bounding_box();
    number_in(
        &(south_west.lng()..=north_east.lng()),
        "Longitude, degrees (WGS84), in the service area",
    )
}

/// The label of a saved place.
pub fn place_label() -> RefOr<Schema> {
    text(
        &doorstep_domain::saved_place::PLACE_LABEL,
        "`home`, `work` or a label of your own; trimmed, compared without case; no control, bidirectional or zero-width characters",
    )
}

/// The name of a saved place.
pub fn place_name() -> RefOr<Schema> {
    text(
        &doorstep_domain::saved_place::PLACE_NAME,
        "Optional name, trimmed; no control, bidirectional or zero-width characters",
    )
}

/// The address line of a saved place.
pub fn place_address() -> RefOr<Schema> {
    text(
        &doorstep_domain::saved_place::PLACE_ADDRESS,
        "Optional address line, trimmed; no control, bidirectional or zero-width characters",
    )
}

/// The text of a place search.
pub fn place_query() -> RefOr<Schema> {
    string()
        .min_length(Some(1))
        .max_length(Some(crate::routes::places::MAX_QUERY_CHARS))
        .pattern(Some(r".*\S.*"))
        .description(Some("The text as typed (not only spaces)"))
        .into()
}

/// The `limit` of a place search.
pub fn place_search_limit() -> RefOr<Schema> {
    let limit = crate::routes::places::SEARCH_LIMIT;
    integer_in(*limit.start(), *limit.end(), "How many results (default 8)")
}

/// The text of a ride search.
pub fn ride_search_text() -> RefOr<Schema> {
    string()
        .max_length(Some(doorstep_app::ops::RIDE_SEARCH_TEXT_MAX_CHARS))
        .description(Some("Text contained in the ride, rider or driver id"))
        .into()
}

/// A ride state to filter by.
pub fn ride_state() -> RefOr<Schema> {
    string()
        .enum_values(Some(
            doorstep_domain::ride::RideState::ALL
                .iter()
                .map(|s| s.as_str()),
        ))
        .description(Some("Only rides in this state"))
        .into()
}

/// The `Idempotency-Key` header.
pub fn idempotency_key() -> RefOr<Schema> {
    string()
        .min_length(Some(*IDEMPOTENCY_KEY_CHARS.start()))
        .max_length(Some(*IDEMPOTENCY_KEY_CHARS.end()))
        .pattern(Some(IDEMPOTENCY_KEY_PATTERN))
        .into()
}

/// A parameter of `place` with `schema` (for the `IntoParams` of query and header types, whose derive
/// loses `required` and the description when the schema is written by hand).
pub fn parameter(
    place: ParameterIn,
    name: &str,
    required: bool,
    schema: RefOr<Schema>,
    description: &str,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// The body of `POST /v1/drivers/me/locations`: 1 to [`doorstep_app::drivers::MAX_BATCH`] points.
#[derive(Debug)]
pub struct LocationBatch;

impl PartialSchema for LocationBatch {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                <crate::dto::LocationPoint as ToSchema>::name(),
            )))
            .min_items(Some(1))
            .max_items(Some(doorstep_app::drivers::MAX_BATCH))
            .description(Some("Positions, oldest first"))
            .into()
    }
}

impl ToSchema for LocationBatch {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            <crate::dto::LocationPoint as ToSchema>::name().into_owned(),
            <crate::dto::LocationPoint as PartialSchema>::schema(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_one_to_a_hundred_printable_ascii_characters() {
        assert!(check_idempotency_key(b"a").is_ok());
        assert!(check_idempotency_key("k".repeat(100).as_bytes()).is_ok());
        for bad in [
            &b""[..],
            b" ",
            b"a b",
            "k".repeat(101).as_bytes(),
            b"\xff",
            b"caf\xc3\xa9",
        ] {
            assert!(check_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }
}
