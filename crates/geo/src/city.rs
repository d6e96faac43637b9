//! The city model: taxi zones, parking lots, zone-to-zone travel speeds by time of day and the
//! demand table, with the geometry conventions of the pyhailing simulator (DIMACS challenge).

use std::fmt;
use std::sync::OnceLock;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::polygon;
use crate::{DemandTable, LatLng, Utm, to_latlng, to_utm};

/// Manhattan's street grid is about 29° off north; distances are L1 in the frame rotated by this
/// angle (counter-clockwise, as pyhailing's `rotate_points`).
const GRID_ROTATION_DEG: f64 = 29.0;
/// 15-minute windows in a day.
const WINDOWS: usize = 96;
/// A point within this distance of a zone polygon is still in the service area.
const COVER_MARGIN_KM: f64 = 0.2;

/// Lowest speed a sampled travel time may use: 1 mph in km/s.
pub const MIN_SPEED_KMPS: f64 = 0.000_447_04;
/// Highest speed a sampled travel time may use: 60 mph in km/s.
pub const MAX_SPEED_KMPS: f64 = 0.026_822_4;

/// Index of a zone in [`City::zones`]; zones are ordered by ascending TLC zone id.
///
/// Only meaningful for the city that produced it: an index past the city's zone count makes the
/// functions that take one panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ZoneIdx(pub u8);

impl ZoneIdx {
    /// The index as a `usize`, for indexing slices.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A taxi zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The NYC TLC zone id (`LocationID` of the trip records).
    pub id: u16,
    /// The TLC zone name, such as "Alphabet City".
    pub name: String,
    /// The zone's boundary, a closed ring (first point repeated last) in UTM 18N km.
    pub polygon: Vec<Utm>,
    /// The centroid of the zone's convex hull, as pyhailing computes it from its Delaunay
    /// triangulation of the polygon's vertices. [`City::zone_of`] assigns points to the nearest
    /// one. It may lie outside a strongly non-convex zone.
    pub centroid: Utm,
}

/// Observed travel speed between two zones in one 15-minute window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpeedStats {
    /// Mean speed in km/s (always positive and finite).
    pub mean_kmps: f64,
    /// Standard deviation of the speed in km/s (non-negative).
    pub stddev_kmps: f64,
}

/// A place where idle vehicles may wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lot {
    /// The lot's id in `lots.csv` (0..302 for Manhattan).
    pub id: u32,
    /// Where it is.
    pub pos: Utm,
    /// The zone `lots.csv` puts it in (this is the data's zone, which may differ from
    /// [`City::zone_of`] for lots near a zone border).
    pub zone: ZoneIdx,
}

/// Why city data could not be loaded. These are faults of the data files, not of a user.
#[derive(Debug, thiserror::Error)]
pub enum CityDataError {
    /// The zones file has no zone.
    #[error("zones file has no zone")]
    NoZones,
    /// The zones file is not the expected GeoJSON.
    #[error("zones file is not valid GeoJSON of the expected shape")]
    ZonesJson(#[source] serde_json::Error),
    /// A zone is unusable (duplicate id, degenerate polygon, too many zones).
    #[error("zone {zone_id}: {reason}")]
    Zone {
        /// The TLC id of the offending zone.
        zone_id: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A line of the lots file could not be parsed.
    #[error("lots line {line}: {reason}")]
    Lot {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The speeds file has the wrong size or an unusable value.
    #[error("speeds: {reason}")]
    Speeds {
        /// What is wrong with it.
        reason: String,
    },
    /// The trips file could not be decoded.
    #[error("trips: {reason} at byte {offset}")]
    Trips {
        /// What is wrong with it.
        reason: &'static str,
        /// Byte offset where decoding stopped.
        offset: usize,
    },
}

/// Precomputed geometry of one zone, private to the city.
struct ZoneShape {
    /// Bounding box of the polygon, lower-left and upper-right corners.
    min: Utm,
    max: Utm,
    /// Triangle fan over the convex hull.
    triangles: Vec<[Utm; 3]>,
    /// Running sum of the triangles' areas (km²), for drawing one by area.
    cumulative_area: Vec<f64>,
}

/// A city: its zones, parking lots, travel speeds and demand.
///
/// Load Manhattan with [`City::manhattan`] (parsed once from the data compiled into the crate), or
/// any city in the same format with [`City::parse`].
pub struct City {
    zones: Vec<Zone>,
    shapes: Vec<ZoneShape>,
    /// Mean and standard deviation (km/s) by `(from * n + to) * 96 + window`.
    speeds: Vec<[f32; 2]>,
    lots: Vec<Lot>,
    demand: DemandTable,
    /// Centre of the zones' bounding box: the pivot of the street-grid rotation.
    rotation_origin: Utm,
    /// Cosine and sine of the street-grid rotation.
    rotation: (f64, f64),
    /// South-west and north-east corners of the zones in WGS84.
    bounds: (LatLng, LatLng),
}

impl fmt::Debug for City {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("City")
            .field("zones", &self.zones.len())
            .field("lots", &self.lots.len())
            .field("demand", &self.demand)
            .finish_non_exhaustive()
    }
}

/// The GeoJSON shapes read from the zones file.
#[derive(Deserialize)]
struct FeatureCollection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Properties {
    zone_id: u16,
    zone_name: String,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: String,
    coordinates: Vec<Vec<[f64; 2]>>,
}

impl City {
    /// Manhattan's 61 taxi zones, 302 lots, speeds and 2018 demand, parsed on first use from the
    /// data in `data/manhattan/` compiled into the crate.
    pub fn manhattan() -> &'static City {
        static MANHATTAN: OnceLock<City> = OnceLock::new();
        MANHATTAN.get_or_init(|| {
            City::parse(
                include_str!("../../../data/manhattan/zones.utm.geojson"),
                include_str!("../../../data/manhattan/lots.csv"),
                include_bytes!("../../../data/manhattan/speeds.bin"),
                include_bytes!("../../../data/manhattan/trips.bin"),
            )
            .expect("embedded Manhattan data is valid (checked by the crate's tests)")
        })
    }

    /// Builds a city from its four data files, in the formats of `data/manhattan/README.md`:
    /// the zones as GeoJSON in UTM 18N km, the lots CSV, `speeds.bin` and `trips.bin`.
    pub fn parse(
        zones_geojson: &str,
        lots_csv: &str,
        speeds: &[u8],
        trips: &[u8],
    ) -> Result<City, CityDataError> {
        let (zones, shapes) = parse_zones(zones_geojson)?;
        let n = zones.len();
        let speeds = parse_speeds(speeds, n)?;
        let demand = DemandTable::decode(trips, n)?;

        let mut min = Utm {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut max = Utm {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        for shape in &shapes {
            min = Utm {
                x: min.x.min(shape.min.x),
                y: min.y.min(shape.min.y),
            };
            max = Utm {
                x: max.x.max(shape.max.x),
                y: max.y.max(shape.max.y),
            };
        }
        let rotation_origin = Utm {
            x: (min.x + max.x) / 2.0,
            y: (min.y + max.y) / 2.0,
        };
        let angle = GRID_ROTATION_DEG.to_radians();

        let (mut south, mut west, mut north, mut east) = (90.0f64, 180.0f64, -90.0f64, -180.0f64);
        for p in zones.iter().flat_map(|z| z.polygon.iter()) {
            let ll = to_latlng(*p);
            south = south.min(ll.lat());
            north = north.max(ll.lat());
            west = west.min(ll.lng());
            east = east.max(ll.lng());
        }
        let bounds = (
            LatLng::saturating(south, west),
            LatLng::saturating(north, east),
        );

        let mut city = City {
            zones,
            shapes,
            speeds,
            lots: Vec::new(),
            demand,
            rotation_origin,
            rotation: (angle.cos(), angle.sin()),
            bounds,
        };
        city.lots = parse_lots(lots_csv, &city)?;
        Ok(city)
    }

    /// The zones, ordered by ascending TLC id; [`ZoneIdx`] indexes this slice.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The index of the zone with TLC id `tlc_id`, if the city has it.
    pub fn zone_by_id(&self, tlc_id: u16) -> Option<ZoneIdx> {
        self.zones
            .binary_search_by_key(&tlc_id, |z| z.id)
            .ok()
            .and_then(|i| u8::try_from(i).ok())
            .map(ZoneIdx)
    }

    /// The zone of a point as the travel-time model sees it: the zone with the nearest centroid
    /// (Euclidean), as pyhailing does, not the polygon containing the point.
    pub fn zone_of(&self, p: Utm) -> ZoneIdx {
        let mut best = (f64::INFINITY, 0usize);
        for (i, z) in self.zones.iter().enumerate() {
            let d = (z.centroid.x - p.x).powi(2) + (z.centroid.y - p.y).powi(2);
            if d < best.0 {
                best = (d, i);
            }
        }
        ZoneIdx(u8::try_from(best.1).unwrap_or(0))
    }

    /// The zone whose polygon contains `p`, if any (point-in-polygon, unlike [`City::zone_of`]).
    pub fn zone_containing(&self, p: Utm) -> Option<ZoneIdx> {
        self.zones
            .iter()
            .zip(&self.shapes)
            .position(|(zone, shape)| in_box(shape, p, 0.0) && polygon::contains(&zone.polygon, p))
            .and_then(|i| u8::try_from(i).ok())
            .map(ZoneIdx)
    }

    /// Whether `p` is in the service area: inside some zone polygon or within 200 m of one.
    pub fn covers(&self, p: LatLng) -> bool {
        self.within_km(p, COVER_MARGIN_KM)
    }

    /// Whether `p` is inside some zone polygon or within `margin_km` of one (an infinite margin takes
    /// every point; a negative one or NaN counts as zero).
    pub fn within_km(&self, p: LatLng, margin_km: f64) -> bool {
        if margin_km == f64::INFINITY {
            return true;
        }
        let margin = if margin_km.is_finite() {
            margin_km.max(0.0)
        } else {
            0.0
        };
        let u = to_utm(p);
        self.zones.iter().zip(&self.shapes).any(|(zone, shape)| {
            in_box(shape, u, margin)
                && (polygon::contains(&zone.polygon, u)
                    || polygon::distance_to_boundary(&zone.polygon, u) <= margin)
        })
    }

    /// A point in the frame rotated 29° counter-clockwise about the centre of the zones'
    /// bounding box, where Manhattan's avenues and streets run along the axes (pyhailing's
    /// internal coordinates).
    pub fn to_street_grid(&self, p: Utm) -> Utm {
        let (c, s) = self.rotation;
        let (dx, dy) = (p.x - self.rotation_origin.x, p.y - self.rotation_origin.y);
        Utm {
            x: self.rotation_origin.x + c * dx - s * dy,
            y: self.rotation_origin.y + s * dx + c * dy,
        }
    }

    /// The L1 (Manhattan) distance in km between two points, measured in the street-grid frame
    /// of [`City::to_street_grid`].
    pub fn l1_km(&self, a: Utm, b: Utm) -> f64 {
        let (c, s) = self.rotation;
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        (c * dx - s * dy).abs() + (s * dx + c * dy).abs()
    }

    /// Observed speed from one zone to another in the 15-minute window containing
    /// `seconds_of_day` (window = `(seconds_of_day / 900) % 96`; the data's `min` column is
    /// `window * 15`).
    ///
    /// # Panics
    ///
    /// If a [`ZoneIdx`] is not one of this city's.
    pub fn speed(&self, from: ZoneIdx, to: ZoneIdx, seconds_of_day: u32) -> SpeedStats {
        let n = self.zones.len();
        assert!(
            from.index() < n && to.index() < n,
            "zone index out of range"
        );
        let window = (seconds_of_day / 900) as usize % WINDOWS;
        let [mean, stddev] = self.speeds[(from.index() * n + to.index()) * WINDOWS + window];
        SpeedStats {
            mean_kmps: f64::from(mean),
            stddev_kmps: f64::from(stddev),
        }
    }

    /// Expected travel time in seconds from `a` to `b` starting at `seconds_of_day`: the L1
    /// distance divided by the mean speed of (zone of `a`, zone of `b`, window). This is what
    /// pyhailing uses for feasibility checks. Zero when `a == b`.
    pub fn mean_travel_secs(&self, a: Utm, b: Utm, seconds_of_day: u32) -> f64 {
        let speed = self.speed(self.zone_of(a), self.zone_of(b), seconds_of_day);
        self.l1_km(a, b) / speed.mean_kmps
    }

    /// A random travel time in seconds from `a` to `b`: the speed is drawn from
    /// Normal(mean, stddev) of (zone of `a`, zone of `b`, window) and clipped to 1..=60 mph, as
    /// pyhailing draws actual ride times.
    pub fn sample_travel_secs(
        &self,
        a: Utm,
        b: Utm,
        seconds_of_day: u32,
        rng: &mut impl Rng,
    ) -> f64 {
        let speed = self.speed(self.zone_of(a), self.zone_of(b), seconds_of_day);
        let drawn = speed.mean_kmps + speed.stddev_kmps * standard_normal(rng);
        self.l1_km(a, b) / drawn.clamp(MIN_SPEED_KMPS, MAX_SPEED_KMPS)
    }

    /// The parking lots where idle vehicles may wait.
    pub fn lots(&self) -> &[Lot] {
        &self.lots
    }

    /// The demand table.
    pub fn demand(&self) -> &DemandTable {
        &self.demand
    }

    /// A uniform random point in the convex hull of a zone: a triangle of the hull's
    /// triangulation is drawn by area, then a uniform point in it (pyhailing's semantics, so a
    /// point may fall slightly outside a non-convex zone).
    ///
    /// # Panics
    ///
    /// If `z` is not one of this city's zones.
    pub fn random_point_in_zone(&self, z: ZoneIdx, rng: &mut impl Rng) -> Utm {
        let shape = &self.shapes[z.index()];
        let total = shape.cumulative_area.last().copied().unwrap_or(0.0);
        let ticket = rng.random::<f64>() * total;
        let i = shape
            .cumulative_area
            .partition_point(|&c| c <= ticket)
            .min(shape.triangles.len().saturating_sub(1));
        let Some(&[a, b, c]) = shape.triangles.get(i) else {
            return self.zones[z.index()].centroid;
        };
        let r1 = rng.random::<f64>().sqrt();
        let r2 = rng.random::<f64>();
        let (wa, wb, wc) = (1.0 - r1, r1 * (1.0 - r2), r1 * r2);
        Utm {
            x: wa * a.x + wb * b.x + wc * c.x,
            y: wa * a.y + wb * b.y + wc * c.y,
        }
    }

    /// The south-west and north-east corners of the zones' bounding box in WGS84, for framing a
    /// map.
    pub fn bounding_box(&self) -> (LatLng, LatLng) {
        self.bounds
    }
}

/// Whether `p` is inside the zone's bounding box grown by `margin` km.
fn in_box(shape: &ZoneShape, p: Utm, margin: f64) -> bool {
    p.x >= shape.min.x - margin
        && p.x <= shape.max.x + margin
        && p.y >= shape.min.y - margin
        && p.y <= shape.max.y + margin
}

/// A standard normal variate by the Box–Muller transform (one of the pair is discarded so that
/// each call consumes exactly two uniforms).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // in (0, 1], so the logarithm is finite
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn parse_zones(geojson: &str) -> Result<(Vec<Zone>, Vec<ZoneShape>), CityDataError> {
    let collection: FeatureCollection =
        serde_json::from_str(geojson).map_err(CityDataError::ZonesJson)?;
    let mut features = collection.features;
    if features.is_empty() {
        return Err(CityDataError::NoZones);
    }
    features.sort_by_key(|f| f.properties.zone_id);
    if features.len() > 256 {
        return Err(CityDataError::Zone {
            zone_id: features[256].properties.zone_id,
            reason: "more than 256 zones",
        });
    }
    let mut zones = Vec::with_capacity(features.len());
    let mut shapes = Vec::with_capacity(features.len());
    for feature in features {
        let zone_id = feature.properties.zone_id;
        let bad = |reason| CityDataError::Zone { zone_id, reason };
        if zones.last().is_some_and(|z: &Zone| z.id == zone_id) {
            return Err(bad("duplicate zone id"));
        }
        let mut rings = feature.geometry.coordinates;
        if feature.geometry.kind != "Polygon" || rings.len() != 1 {
            return Err(bad("not a polygon with exactly one ring"));
        }
        let mut polygon: Vec<Utm> = rings
            .swap_remove(0)
            .into_iter()
            .map(|[x, y]| Utm { x, y })
            .collect();
        if polygon.iter().any(|p| !p.x.is_finite() || !p.y.is_finite()) {
            return Err(bad("non-finite coordinate"));
        }
        if let (Some(&first), Some(&last)) = (polygon.first(), polygon.last())
            && first != last
        {
            polygon.push(first);
        }
        let hull = polygon::convex_hull(&polygon);
        let fan = polygon::fan_triangles(&hull);
        let centroid = polygon::centroid(&fan).ok_or_else(|| bad("polygon has no area"))?;
        let mut sum = 0.0;
        let cumulative_area = fan
            .iter()
            .map(|(_, area)| {
                sum += area;
                sum
            })
            .collect();
        let min = Utm {
            x: polygon.iter().map(|p| p.x).fold(f64::INFINITY, f64::min),
            y: polygon.iter().map(|p| p.y).fold(f64::INFINITY, f64::min),
        };
        let max = Utm {
            x: polygon
                .iter()
                .map(|p| p.x)
                .fold(f64::NEG_INFINITY, f64::max),
            y: polygon
                .iter()
                .map(|p| p.y)
                .fold(f64::NEG_INFINITY, f64::max),
        };
        shapes.push(ZoneShape {
            min,
            max,
            triangles: fan.into_iter().map(|(tri, _)| tri).collect(),
            cumulative_area,
        });
        zones.push(Zone {
            id: zone_id,
            name: feature.properties.zone_name,
            polygon,
            centroid,
        });
    }
    Ok((zones, shapes))
}

fn parse_speeds(bytes: &[u8], zones: usize) -> Result<Vec<[f32; 2]>, CityDataError> {
    let expected = zones * zones * WINDOWS * 8;
    if bytes.len() != expected {
        return Err(CityDataError::Speeds {
            reason: format!("expected {expected} bytes, found {}", bytes.len()),
        });
    }
    let mut speeds = Vec::with_capacity(zones * zones * WINDOWS);
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let mean = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let stddev = f32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        if !(mean.is_finite() && mean > 0.0 && stddev.is_finite() && stddev >= 0.0) {
            return Err(CityDataError::Speeds {
                reason: format!("entry {i}: mean {mean} or stddev {stddev} unusable"),
            });
        }
        speeds.push([mean, stddev]);
    }
    Ok(speeds)
}

fn parse_lots(csv: &str, city: &City) -> Result<Vec<Lot>, CityDataError> {
    let mut lines = csv.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == "id,x,y,zone" => {}
        _ => {
            return Err(CityDataError::Lot {
                line: 1,
                reason: "header is not id,x,y,zone",
            });
        }
    }
    let mut lots = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason| CityDataError::Lot {
            line: line_no,
            reason,
        };
        let fields: Vec<&str> = line.trim().split(',').collect();
        let [id, x, y, zone] = fields[..] else {
            return Err(bad("expected 4 fields"));
        };
        let id = id.parse().map_err(|_| bad("bad id"))?;
        let x: f64 = x.parse().map_err(|_| bad("bad x"))?;
        let y: f64 = y.parse().map_err(|_| bad("bad y"))?;
        if !x.is_finite() || !y.is_finite() {
            return Err(bad("non-finite coordinate"));
        }
        let zone = zone
            .parse()
            .ok()
            .and_then(|id| city.zone_by_id(id))
            .ok_or_else(|| bad("unknown zone"))?;
        lots.push(Lot {
            id,
            pos: Utm { x, y },
            zone,
        });
    }
    Ok(lots)
}
