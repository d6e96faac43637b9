//! Readers of the vendored files (`data/manhattan-streets`): CSV with quoted fields, GeoJSON features.

use crate::geom::{Polygon, Xy};
use serde_json::Value;

/// A fault in the embedded data (the crate's tests parse it, so this never happens in a build).
#[derive(Debug, Clone, PartialEq)]
pub struct DataError(pub String);

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad embedded places data: {}", self.0)
    }
}

impl std::error::Error for DataError {}

/// The rows of a CSV text after its header, as fields (RFC 4180 quoting).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    if !rows.is_empty() {
        rows.remove(0);
    }
    rows
}

/// A field parsed as a number.
pub fn num(row: &[String], i: usize) -> Result<f64, DataError> {
    row.get(i)
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| DataError(format!("not a number in column {i}: {row:?}")))
}

/// The features of a GeoJSON FeatureCollection.
pub fn features(text: &str) -> Result<Vec<Value>, DataError> {
    let mut doc: Value = serde_json::from_str(text).map_err(|e| DataError(e.to_string()))?;
    match doc.get_mut("features").map(Value::take) {
        Some(Value::Array(f)) => Ok(f),
        _ => Err(DataError("no features".into())),
    }
}

/// A string property of a feature ("" when absent).
pub fn prop<'a>(feature: &'a Value, key: &str) -> &'a str {
    feature["properties"][key].as_str().unwrap_or_default()
}

fn position(v: &Value) -> Result<(f64, f64), DataError> {
    match (v[0].as_f64(), v[1].as_f64()) {
        (Some(lng), Some(lat)) => Ok((lat, lng)),
        _ => Err(DataError(format!("bad position {v}"))),
    }
}

/// The `(lat, lng)` points of a LineString feature.
pub fn line(feature: &Value) -> Result<Vec<(f64, f64)>, DataError> {
    let coords = feature["geometry"]["coordinates"]
        .as_array()
        .ok_or_else(|| DataError("line without coordinates".into()))?;
    coords.iter().map(position).collect()
}

/// The polygons of a Polygon or MultiPolygon feature.
pub fn polygons(feature: &Value) -> Result<Vec<Polygon>, DataError> {
    let geometry = &feature["geometry"];
    let ring = |r: &Value| -> Result<Vec<Xy>, DataError> {
        r.as_array()
            .ok_or_else(|| DataError("bad ring".into()))?
            .iter()
            .map(|p| position(p).map(|(lat, lng)| Xy::of(lat, lng)))
            .collect()
    };
    let polygon = |p: &Value| -> Result<Polygon, DataError> {
        let rings = p
            .as_array()
            .ok_or_else(|| DataError("bad polygon".into()))?
            .iter()
            .map(ring)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Polygon::new(rings))
    };
    let coords = &geometry["coordinates"];
    match geometry["type"].as_str() {
        Some("Polygon") => Ok(vec![polygon(coords)?]),
        Some("MultiPolygon") => coords
            .as_array()
            .ok_or_else(|| DataError("bad multipolygon".into()))?
            .iter()
            .map(polygon)
            .collect(),
        other => Err(DataError(format!("unexpected geometry {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_reads_quoted_fields() {
        let rows = csv_rows("a,b\n\"x, \"\"y\"\"\",2\nz,\n");
        assert_eq!(rows, vec![vec!["x, \"y\"", "2"], vec!["z", ""]]);
    }
}
