//! Conversions between domain values and the column values the `Any` driver can carry on both backends:
//! `i64`, `f64` and `String`. Reading is strict: a value that does not convert back into its domain type
//! is reported as [`StoreError::Corrupt`] rather than papered over.

use crate::StoreError;
use doorstep_domain::{Currency, Money, Timestamp};
use doorstep_geo::LatLng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::str::FromStr;

/// Reads column `name` of `row` as `T`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    Ok(row.try_get::<T, _>(name)?)
}

/// Reads a text column holding an identifier (a UUID).
pub(crate) fn id<T: FromStr>(row: &AnyRow, name: &str) -> Result<T, StoreError> {
    let text: String = get(row, name)?;
    parse_id(&text, name)
}

/// Reads a nullable text column holding an identifier.
pub(crate) fn opt_id<T: FromStr>(row: &AnyRow, name: &str) -> Result<Option<T>, StoreError> {
    let text: Option<String> = get(row, name)?;
    text.map(|t| parse_id(&t, name)).transpose()
}

/// Parses an identifier read from column `name`.
pub(crate) fn parse_id<T: FromStr>(text: &str, name: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{name}: {text:?} is not an id")))
}

/// Reads a BIGINT column of milliseconds since the epoch.
pub(crate) fn timestamp(row: &AnyRow, name: &str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_millis(get(row, name)?))
}

/// Reads a nullable BIGINT column of milliseconds since the epoch.
pub(crate) fn opt_timestamp(row: &AnyRow, name: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(get::<Option<i64>>(row, name)?.map(Timestamp::from_millis))
}

/// The column value of an optional instant.
pub(crate) fn opt_millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::millis)
}

/// Reads a BIGINT column holding a `u32`.
pub(crate) fn u32_col(row: &AnyRow, name: &str) -> Result<u32, StoreError> {
    let v: i64 = get(row, name)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{name}: {v} is not a u32")))
}

/// Reads a nullable BIGINT column holding a `u32`.
pub(crate) fn opt_u32_col(row: &AnyRow, name: &str) -> Result<Option<u32>, StoreError> {
    let v: Option<i64> = get(row, name)?;
    v.map(|v| {
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{name}: {v} is not a u32")))
    })
    .transpose()
}

/// Reads two DOUBLE PRECISION columns as a position.
pub(crate) fn latlng(row: &AnyRow, lat: &str, lng: &str) -> Result<LatLng, StoreError> {
    let (la, lo): (f64, f64) = (get(row, lat)?, get(row, lng)?);
    LatLng::new(la, lo).map_err(|e| StoreError::Corrupt(format!("{lat}/{lng}: {e}")))
}

/// Reads an amount and a currency column as money.
pub(crate) fn money(row: &AnyRow, minor: &str, currency: &str) -> Result<Money, StoreError> {
    let amount: i64 = get(row, minor)?;
    let code: String = get(row, currency)?;
    Ok(Money::new(amount, parse_currency(&code)?))
}

/// Reads a nullable amount and currency pair; both must be null or neither.
pub(crate) fn opt_money(
    row: &AnyRow,
    minor: &str,
    currency: &str,
) -> Result<Option<Money>, StoreError> {
    let amount: Option<i64> = get(row, minor)?;
    let code: Option<String> = get(row, currency)?;
    match (amount, code) {
        (Some(amount), Some(code)) => Ok(Some(Money::new(amount, parse_currency(&code)?))),
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => Err(StoreError::Corrupt(format!(
            "{minor}/{currency}: only one of amount and currency is set"
        ))),
    }
}

/// Parses a stored currency code.
pub(crate) fn parse_currency(code: &str) -> Result<Currency, StoreError> {
    Currency::parse(code).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Encodes a value as a JSON text column.
pub(crate) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode {what}: {e}")))
}

/// Reads a JSON text column.
pub(crate) fn json<T: DeserializeOwned>(row: &AnyRow, name: &str) -> Result<T, StoreError> {
    let text: String = get(row, name)?;
    from_json(&text, name)
}

/// Reads a nullable JSON text column.
pub(crate) fn opt_json<T: DeserializeOwned>(
    row: &AnyRow,
    name: &str,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = get(row, name)?;
    text.map(|t| from_json(&t, name)).transpose()
}

fn from_json<T: DeserializeOwned>(text: &str, name: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

/// Reads a text column through a parser of stable names.
pub(crate) fn named<T>(
    row: &AnyRow,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let text: String = get(row, name)?;
    parse(&text).ok_or_else(|| StoreError::Corrupt(format!("{name}: unknown value {text:?}")))
}

/// Reads a nullable text column through a parser of stable names.
pub(crate) fn opt_named<T>(
    row: &AnyRow,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = get(row, name)?;
    text.map(|t| {
        parse(&t).ok_or_else(|| StoreError::Corrupt(format!("{name}: unknown value {t:?}")))
    })
    .transpose()
}

/// A row limit as the databases expect it: never negative (PostgreSQL refuses a negative `LIMIT`, SQLite
/// reads it as "no limit").
pub(crate) fn row_limit(n: i64) -> i64 {
    n.max(0)
}
