//! The web apps (rider, driver, merchant, operations console) and the city map data, served from files
//! embedded in the binary at build time (`web/`, `data/manhattan/zones.wgs84.geojson` and the street map
//! built from `data/manhattan-streets`). Debug builds read `web/` from disk so that editing a page needs
//! no rebuild. Nothing here is loaded from another host.
//!
//! The street map (basemap) comes in two layers, built once from the vendored GeoJSON on first use:
//! - `/assets/basemap/base.json`: land (water is everything outside it), parks with names, and the major
//!   roads (motorway, trunk, primary, secondary and their links): what a phone draws at first.
//! - `/assets/basemap/detail.json`: every other named street (tertiary, residential, ...), which the map
//!   loads once it is zoomed in far enough to draw them.
//!
//! The format is compact JSON: coordinates are integers in units of 1e-5 degree (about 1 m) from the
//! origin `x0`,`y0` (lng, lat), each line or ring a flat array `[x, y, dx, dy, dx, dy, ...]` of its first
//! point and then the steps between points. Consecutive segments of one street (same name and class) are
//! joined into one line, so that a name is placed along a long line. Streets are `[name index, class
//! index, coords]` into the `names` and `classes` tables. Sizes (data of 2026-04): base 172 KB (60 KB
//! gzipped), detail 64 KB (25 KB gzipped), against 1.8 MB for the three GeoJSON files. The server does not
//! compress; a reverse proxy in front may.
//!
//! The derived street data is © OpenStreetMap contributors under the ODbL (see
//! `data/manhattan-streets/LICENSE`): every map drawn from it shows that attribution.

use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

#[derive(RustEmbed)]
#[folder = "../../web"]
struct WebAssets;

/// The Manhattan taxi zones in WGS84, for the apps' maps.
const ZONES_GEOJSON: &str = include_str!("../../../data/manhattan/zones.wgs84.geojson");

/// Serves an embedded file for a GET that matched no API route; `None` if there is no such file.
pub fn asset(uri: &Uri) -> Option<Response> {
    let path = uri.path().trim_start_matches('/');
    let layer = match path {
        "assets/basemap/base.json" => Some(true),
        "assets/basemap/detail.json" => Some(false),
        _ => None,
    };
    if let Some(base) = layer {
        let Some(map) = basemap() else {
            return Some(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let (body, etag) = if base {
            (&map.base, &map.base_etag)
        } else {
            (&map.detail, &map.detail_etag)
        };
        return Some(
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "public, max-age=86400"),
                    (header::ETAG, etag.as_str()),
                ],
                body.clone(),
            )
                .into_response(),
        );
    }
    if path == "assets/zones.wgs84.geojson" {
        return Some(
            (
                [
                    (header::CONTENT_TYPE, "application/geo+json"),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                ZONES_GEOJSON,
            )
                .into_response(),
        );
    }
    // A share link's page: one page for every token (the token is read by the page, never by a file).
    let path = if path.starts_with("share/visit/") {
        "share/index.html"
    } else {
        path
    };
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    if path.split('/').any(|segment| segment == "..") {
        return None;
    }
    match WebAssets::get(&path) {
        Some(f) => {
            let mime = f.metadata.mimetype().to_owned();
            Some(
                Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, mime)
                    .header(header::CACHE_CONTROL, "no-cache")
                    .body(Body::from(f.data.into_owned()))
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
            )
        }
        // `/rider` without the slash: redirect so that the page's relative links resolve.
        None if WebAssets::get(&format!("{path}/index.html")).is_some() => Some(
            Response::builder()
                .status(StatusCode::PERMANENT_REDIRECT)
                .header(header::LOCATION, format!("/{path}/"))
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        ),
        None => None,
    }
}

const STREETS_GEOJSON: &str = include_str!("../../../data/manhattan-streets/streets.geojson");
const PARKS_GEOJSON: &str = include_str!("../../../data/manhattan-streets/parks.geojson");
const LAND_GEOJSON: &str = include_str!("../../../data/manhattan-streets/land.geojson");

/// The origin of the integer coordinates (lng, lat) and their unit (1e-5 degree).
const X0: f64 = -74.1;
const Y0: f64 = 40.6;
const Q: f64 = 100_000.0;

/// Road classes in the base layer (drawn at every zoom); the rest are in the detail layer.
const MAJOR: &[&str] = &[
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
];

/// The two layers of the street map, as served.
#[derive(Debug)]
pub struct Basemap {
    pub base: String,
    pub detail: String,
    base_etag: String,
    detail_etag: String,
}

/// The street map, built once from the embedded GeoJSON; `None` only if that data does not parse (a test
/// checks it does).
pub fn basemap() -> Option<&'static Basemap> {
    static MAP: OnceLock<Option<Basemap>> = OnceLock::new();
    MAP.get_or_init(build_basemap).as_ref()
}

type Pt = (i32, i32);
/// A street's name and road class.
type StreetKey = (String, String);

fn quantize(c: &Value) -> Option<Pt> {
    let lng = c.get(0)?.as_f64()?;
    let lat = c.get(1)?.as_f64()?;
    // Coordinates are a few degrees from the origin: far inside i32 at 1e-5 degree.
    #[allow(clippy::cast_possible_truncation)]
    Some((
        ((lng - X0) * Q).round() as i32,
        ((lat - Y0) * Q).round() as i32,
    ))
}

fn line(coords: &Value) -> Option<Vec<Pt>> {
    let mut out: Vec<Pt> = Vec::new();
    for c in coords.as_array()? {
        let p = quantize(c)?;
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    Some(out)
}

/// Writes a line as `[x, y, dx, dy, ...]`.
fn write_coords(out: &mut String, pts: &[Pt]) {
    out.push('[');
    let mut prev = (0, 0);
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{},{}", p.0 - prev.0, p.1 - prev.1);
        prev = *p;
    }
    out.push(']');
}

/// Polygons (Polygon or MultiPolygon geometry) as lists of rings.
fn polygons(geometry: &Value) -> Option<Vec<Vec<Vec<Pt>>>> {
    let coords = geometry.get("coordinates")?;
    let polys: Vec<&Value> = match geometry.get("type")?.as_str()? {
        "Polygon" => vec![coords],
        "MultiPolygon" => coords.as_array()?.iter().collect(),
        _ => return None,
    };
    polys
        .into_iter()
        .map(|p| p.as_array()?.iter().map(line).collect::<Option<Vec<_>>>())
        .collect()
}

/// Joins the segments of one street end to end where they meet, so that a long street is one line.
fn join_segments(mut segs: Vec<Vec<Pt>>) -> Vec<Vec<Pt>> {
    let mut ends: HashMap<Pt, Vec<usize>> = HashMap::new();
    for (i, s) in segs.iter().enumerate() {
        if let (Some(a), Some(b)) = (s.first(), s.last()) {
            ends.entry(*a).or_default().push(i);
            ends.entry(*b).or_default().push(i);
        }
    }
    let mut used = vec![false; segs.len()];
    let mut out = Vec::new();
    for start in 0..segs.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut cur = std::mem::take(&mut segs[start]);
        // Grow at the tail, then turn round and grow at the (old) head.
        for _ in 0..2 {
            while let Some(&tail) = cur.last() {
                let next = ends
                    .get(&tail)
                    .and_then(|c| c.iter().copied().find(|&j| !used[j]));
                let Some(j) = next else { break };
                used[j] = true;
                let mut s = std::mem::take(&mut segs[j]);
                if s.first() != Some(&tail) {
                    s.reverse();
                }
                cur.extend(s.into_iter().skip(1));
            }
            cur.reverse();
        }
        if cur.len() >= 2 {
            out.push(cur);
        }
    }
    out
}

fn build_basemap() -> Option<Basemap> {
    let streets: Value = serde_json::from_str(STREETS_GEOJSON).ok()?;
    let parks: Value = serde_json::from_str(PARKS_GEOJSON).ok()?;
    let land: Value = serde_json::from_str(LAND_GEOJSON).ok()?;

    // Streets grouped by (name, class), in the order first seen, each group's segments joined.
    let mut groups: Vec<(StreetKey, Vec<Vec<Pt>>)> = Vec::new();
    let mut index: HashMap<StreetKey, usize> = HashMap::new();
    for f in streets.get("features")?.as_array()? {
        let props = f.get("properties")?;
        let name = props
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let class = props
            .get("class")
            .and_then(Value::as_str)
            .unwrap_or("road")
            .to_owned();
        let geom = f.get("geometry")?;
        let lines = match geom.get("type")?.as_str()? {
            "LineString" => vec![line(geom.get("coordinates")?)?],
            "MultiLineString" => geom
                .get("coordinates")?
                .as_array()?
                .iter()
                .map(line)
                .collect::<Option<_>>()?,
            _ => continue,
        };
        let key = (name, class);
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[i]
            .1
            .extend(lines.into_iter().filter(|l| l.len() >= 2));
    }

    let header = |out: &mut String, layer: &str| {
        let _ = write!(
            out,
            "{{\"v\":1,\"layer\":\"{layer}\",\"x0\":{X0},\"y0\":{Y0},\"q\":{Q}"
        );
    };
    let mut base = String::new();
    header(&mut base, "base");
    base.push_str(",\"land\":[");
    let mut first = true;
    for f in land.get("features")?.as_array()? {
        for poly in polygons(f.get("geometry")?)? {
            for ring in poly {
                if !first {
                    base.push(',');
                }
                first = false;
                write_coords(&mut base, &ring);
            }
        }
    }
    base.push_str("],\"parks\":[");
    let mut first = true;
    for f in parks.get("features")?.as_array()? {
        let props = f.get("properties")?;
        let name = props.get("name").and_then(Value::as_str).unwrap_or("");
        let kind = props.get("kind").and_then(Value::as_str).unwrap_or("park");
        for poly in polygons(f.get("geometry")?)? {
            if !first {
                base.push(',');
            }
            first = false;
            let _ = write!(base, "[{},{},[", Value::from(name), Value::from(kind));
            for (i, ring) in poly.iter().enumerate() {
                if i > 0 {
                    base.push(',');
                }
                write_coords(&mut base, ring);
            }
            base.push_str("]]");
        }
    }
    base.push(']');
    let mut detail = String::new();
    header(&mut detail, "detail");

    for (out, major) in [(&mut base, true), (&mut detail, false)] {
        let mut names: Vec<&str> = Vec::new();
        let mut name_ix: HashMap<&str, usize> = HashMap::new();
        let mut classes: Vec<&str> = Vec::new();
        let mut lines = String::new();
        for ((name, class), segs) in &groups {
            if MAJOR.contains(&class.as_str()) != major {
                continue;
            }
            let n = *name_ix.entry(name.as_str()).or_insert_with(|| {
                names.push(name);
                names.len() - 1
            });
            let c = match classes.iter().position(|c| c == class) {
                Some(c) => c,
                None => {
                    classes.push(class);
                    classes.len() - 1
                }
            };
            for l in join_segments(segs.clone()) {
                if !lines.is_empty() {
                    lines.push(',');
                }
                let _ = write!(lines, "[{n},{c},");
                write_coords(&mut lines, &l);
                lines.push(']');
            }
        }
        let _ = write!(
            out,
            ",\"names\":{},\"classes\":{},\"streets\":[{lines}]}}",
            Value::from(names),
            Value::from(classes)
        );
    }
    let base_etag = etag(&base);
    let detail_etag = etag(&detail);
    Some(Basemap {
        base,
        detail,
        base_etag,
        detail_etag,
    })
}

/// A strong entity tag: FNV-1a 64 of the body.
fn etag(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(coords: &Value) -> Vec<(f64, f64)> {
        let v: Vec<i64> = coords
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        let (mut x, mut y) = (0i64, 0i64);
        v.chunks(2)
            .map(|c| {
                x += c[0];
                y += c[1];
                #[allow(clippy::cast_precision_loss)]
                (X0 + x as f64 / Q, Y0 + y as f64 / Q)
            })
            .collect()
    }

    #[test]
    fn the_basemap_layers_hold_land_parks_and_every_named_street_in_manhattan() {
        let map = basemap().expect("the embedded street data parses");
        let base: Value = serde_json::from_str(&map.base).expect("base is JSON");
        let detail: Value = serde_json::from_str(&map.detail).expect("detail is JSON");
        assert!(
            map.base.len() < 400_000,
            "base layer is {} bytes",
            map.base.len()
        );
        assert!(
            map.detail.len() < 200_000,
            "detail layer is {} bytes",
            map.detail.len()
        );
        assert!(!base["land"].as_array().expect("land").is_empty());
        let parks = base["parks"].as_array().expect("parks");
        assert!(
            parks.iter().any(|p| p[0] == "Central Park"),
            "Central Park is a named park"
        );
        let names = |layer: &Value| -> Vec<String> {
            let names = layer["names"].as_array().expect("names");
            layer["streets"]
                .as_array()
                .expect("streets")
                .iter()
                .map(|s| {
                    names[usize::try_from(s[0].as_u64().expect("index")).expect("usize")]
                        .as_str()
                        .expect("name")
                        .to_owned()
                })
                .collect()
        };
        let (major, minor) = (names(&base), names(&detail));
        assert!(
            major.iter().any(|n| n == "5th Avenue"),
            "5th Avenue is a major road"
        );
        assert!(
            minor.iter().any(|n| n == "West 106th Street")
                || major.iter().any(|n| n == "West 106th Street")
        );
        let classes = |layer: &Value| -> Vec<String> {
            layer["classes"]
                .as_array()
                .expect("classes")
                .iter()
                .map(|c| c.as_str().expect("class").to_owned())
                .collect()
        };
        assert!(classes(&base).iter().all(|c| MAJOR.contains(&c.as_str())));
        assert!(
            classes(&detail)
                .iter()
                .all(|c| !MAJOR.contains(&c.as_str()))
        );
        assert!(classes(&detail).iter().any(|c| c == "residential"));
        // Every point decodes back into Manhattan, and joined streets are longer than the raw segments.
        let streets = base["streets"].as_array().expect("streets");
        let mut points = 0;
        for s in streets
            .iter()
            .chain(detail["streets"].as_array().expect("streets"))
        {
            let pts = decode(&s[2]);
            assert!(pts.len() >= 2);
            points += pts.len();
            for (lng, lat) in pts {
                assert!(
                    (-74.1..-73.85).contains(&lng) && (40.67..40.9).contains(&lat),
                    "{lng},{lat}"
                );
            }
        }
        let raw: Value = serde_json::from_str(STREETS_GEOJSON).expect("streets");
        let raw_lines = raw["features"].as_array().expect("features").len();
        let lines = streets.len() + detail["streets"].as_array().expect("streets").len();
        assert!(
            lines < raw_lines,
            "{lines} joined lines from {raw_lines} segments"
        );
        assert!(points > 10_000, "{points} points");
    }

    #[test]
    fn joined_segments_keep_their_points_in_order() {
        let segs = vec![
            vec![(2, 0), (3, 0)],
            vec![(0, 0), (1, 0)],
            vec![(2, 0), (1, 0)],
            vec![(9, 9), (8, 8)],
        ];
        let mut out = join_segments(segs);
        out.sort();
        assert_eq!(out.len(), 2);
        let long = out.iter().find(|l| l.len() == 4).expect("one line of 4");
        let mut fwd = long.clone();
        if fwd[0] != (0, 0) {
            fwd.reverse();
        }
        assert_eq!(fwd, vec![(0, 0), (1, 0), (2, 0), (3, 0)]);
    }

    #[test]
    fn the_basemap_is_served_as_json_with_a_long_cache_and_an_etag() {
        for path in ["/assets/basemap/base.json", "/assets/basemap/detail.json"] {
            let uri: Uri = path.parse().expect("uri");
            let r = asset(&uri).expect("served");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
            assert!(r.headers().contains_key(header::ETAG));
        }
        assert!(asset(&"/assets/basemap/nope.json".parse().expect("uri")).is_none());
    }
}
