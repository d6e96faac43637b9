//! The web apps (rider, driver, operations console) and the city map data, served from files embedded in
//! the binary at build time (`web/` and `data/manhattan/zones.wgs84.geojson`). Debug builds read them from
//! disk so that editing a page needs no rebuild. Nothing here is loaded from another host.

use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web"]
struct WebAssets;

/// The Manhattan taxi zones in WGS84, for the apps' maps.
const ZONES_GEOJSON: &str = include_str!("../../../data/manhattan/zones.wgs84.geojson");

/// Serves an embedded file for a GET that matched no API route; `None` if there is no such file.
pub fn asset(uri: &Uri) -> Option<Response> {
    let path = uri.path().trim_start_matches('/');
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
