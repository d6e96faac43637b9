//! Offline places for Manhattan: address, place, intersection and neighbourhood search with autocomplete,
//! reverse geocoding, land and water, and a road graph with A* routing.
//!
//! Everything comes from the vendored files in `data/manhattan-streets` (OpenStreetMap under ODbL, NYC
//! Open Data; see that folder's README and LICENSE), embedded with `include_str!` and parsed once, on the
//! first call of [`Places::manhattan`]. The crate does no IO, reads no clock and is not async.
//!
//! - [`Places::search`]: a query as typed ("350 5th", "Tims Sqare", "W 52 St & 11 Ave") to ranked hits,
//!   each with how precise it is ([`Precision`]) and an error estimate in metres. House numbers come
//!   from the address points where they exist (about 40.701–40.759 N), else from interpolation between
//!   the points of the same street, else from the Manhattan address arithmetic (the avenue formulas and
//!   the 100-per-avenue-block rule of the numbered streets), else only the street is found.
//! - [`Places::reverse`]: a position to the nearest address or "street between A and B", its
//!   neighbourhood and ZIP, and the nearest point of a named street; a position in the water or outside
//!   the service area is refused ([`PlaceError`]).
//! - [`Places::route`]: the fastest route on the street graph ([`graph`]), A* checked against Dijkstra.

pub mod bench;
pub mod geom;
pub mod graph;
pub mod load;
pub mod text;

mod address;
mod index;

use doorstep_geo::LatLng;
use geom::{Grid, Polygon, Xy};
use graph::{Graph, Line, NO_STREET, Snap};
use index::{Entry, TokenIndex};
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A house number on a street.
    Address,
    /// A named place: a landmark, a business, a station, a park.
    Place,
    /// Where two streets cross.
    Intersection,
    /// A whole street.
    Street,
    /// A neighbourhood.
    Neighborhood,
}

impl Kind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Address => "address",
            Kind::Place => "place",
            Kind::Intersection => "intersection",
            Kind::Street => "street",
            Kind::Neighborhood => "neighborhood",
        }
    }
}

/// How a position was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// An address point or a place's own point.
    Exact,
    /// A house number placed between known addresses or by the Manhattan address arithmetic.
    Interpolated,
    /// Somewhere on the street.
    Street,
    /// Somewhere in an area (a neighbourhood, a park).
    Area,
}

impl Precision {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Exact => "exact",
            Precision::Interpolated => "interpolated",
            Precision::Street => "street",
            Precision::Area => "area",
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceHit {
    /// What to show first: a building or place name, "350 5th Avenue", "West 52nd Street & 11th Avenue".
    pub label: String,
    /// The address line under it.
    pub address: String,
    /// What it is.
    pub kind: Kind,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// How the position was found.
    pub precision: Precision,
    /// Estimated error of the position, metres.
    pub precision_m: f64,
    /// Rank score (higher is better); for ordering and tests.
    pub score: f64,
}

/// Why a position or a route is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceError {
    /// The position is on the water (outside Manhattan's land, inside the service area).
    InWater,
    /// The position is outside the service area (Manhattan).
    OutsideServiceArea,
    /// No routable street within reach of the position.
    NoRoadNearby,
    /// No route joins the two positions.
    Unroutable,
}

impl PlaceError {
    /// The machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            PlaceError::InWater => "in_water",
            PlaceError::OutsideServiceArea => "outside_service_area",
            PlaceError::NoRoadNearby => "no_road_nearby",
            PlaceError::Unroutable => "unroutable",
        }
    }
}

impl std::fmt::Display for PlaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PlaceError::InWater => "the position is in the water",
            PlaceError::OutsideServiceArea => {
                "the position is outside the service area (Manhattan)"
            }
            PlaceError::NoRoadNearby => "no street near the position",
            PlaceError::Unroutable => "no route joins the two positions",
        })
    }
}

impl std::error::Error for PlaceError {}

/// What is at a position.
#[derive(Debug, Clone, PartialEq)]
pub struct ReversePlace {
    /// "350 5th Avenue" or "Empire State Building" at an address, "near 350 5th Avenue" close to one,
    /// else "West 42nd Street between 8th Avenue and 9th Avenue".
    pub label: String,
    /// The address line.
    pub address: String,
    /// The nearest named street.
    pub street: String,
    /// The neighbourhood (2020 NTA name), "" if none.
    pub neighborhood: String,
    /// The ZIP code, "" if none.
    pub zip: String,
    /// The position the label names: the address point, else the snapped point.
    pub point: LatLng,
    /// The nearest point of a named street.
    pub snapped: LatLng,
    /// How precise the label is.
    pub precision: Precision,
    /// Its estimated error, metres.
    pub precision_m: f64,
}

/// A route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Length along the streets, metres.
    pub distance_m: f64,
    /// Estimated drive, seconds.
    pub duration_s: f64,
    /// The polyline from the snapped start to the snapped end.
    pub points: Vec<LatLng>,
    /// Nodes the search settled.
    pub settled: usize,
}

/// Sizes of what was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacesStats {
    /// Distinct street names.
    pub streets: usize,
    /// Address points.
    pub addresses: usize,
    /// Searchable names (streets, places, neighbourhoods).
    pub entries: usize,
    /// Distinct tokens of the index.
    pub tokens: usize,
    /// Strings filed in the typo (deletion) index.
    pub deletions: usize,
    /// The road graph.
    pub graph: graph::GraphStats,
    /// Approximate bytes held.
    pub heap_bytes: usize,
}

/// A street: every piece of OSM way with one name.
#[derive(Debug, Clone)]
struct Street {
    name: String,
    /// Graph nodes on it, sorted.
    nodes: Vec<u32>,
    /// Total length, metres.
    len_m: f64,
}

/// An address point.
#[derive(Debug, Clone)]
struct Address {
    /// The number as tagged ("350", "120 1/2").
    text: String,
    /// Its leading number.
    number: u32,
    street: u32,
    zip: String,
    p: Xy,
    name: String,
}

/// A polygon area with a name (neighbourhood, ZIP).
#[derive(Debug, Clone)]
struct Area {
    name: String,
    polygons: Vec<Polygon>,
}

impl Area {
    fn contains(&self, p: Xy) -> bool {
        self.polygons.iter().any(|poly| poly.contains(p))
    }
}

/// Positions outside the land polygon but this close to it count as land (piers, the data's rounding).
pub const SHORE_TOLERANCE_M: f64 = 25.0;

/// How far from a street a route's end may be, metres.
pub const ROUTE_SNAP_M: f64 = 300.0;

/// The loaded data and its indexes.
#[derive(Debug)]
pub struct Places {
    streets: Vec<Street>,
    street_ids: HashMap<String, u32>,
    addresses: Vec<Address>,
    /// Per street, the range of `addresses` (sorted by street, then number).
    address_ranges: Vec<(u32, u32)>,
    address_grid: Grid,
    index: TokenIndex,
    graph: Graph,
    land: Vec<Polygon>,
    neighborhoods: Vec<Area>,
    zips: Vec<Area>,
}

/// The vendored files.
mod files {
    pub const STREETS: &str = include_str!("../../../data/manhattan-streets/streets.geojson");
    pub const ADDRESSES: &str = include_str!("../../../data/manhattan-streets/addresses.csv");
    pub const PLACES: &str = include_str!("../../../data/manhattan-streets/places.csv");
    pub const PLACES_OSM: &str = include_str!("../../../data/manhattan-streets/places_osm.csv");
    pub const LAND: &str = include_str!("../../../data/manhattan-streets/land.geojson");
    pub const NEIGHBORHOODS: &str =
        include_str!("../../../data/manhattan-streets/neighborhoods.geojson");
    pub const ZIPS: &str = include_str!("../../../data/manhattan-streets/zipcodes.geojson");
}

fn lat_lng(p: Xy) -> LatLng {
    let (lat, lng) = p.lat_lng();
    // A projected point of the data is always a valid position; clamp in case of rounding.
    LatLng::new(lat.clamp(-90.0, 90.0), lng.clamp(-180.0, 180.0))
        .unwrap_or_else(|_| LatLng::new(0.0, 0.0).unwrap_or_else(|_| unreachable!()))
}

fn xy(p: LatLng) -> Xy {
    Xy::of(p.lat(), p.lng())
}

impl Places {
    /// The Manhattan data, parsed on first use and kept for the life of the process.
    pub fn manhattan() -> &'static Places {
        static PLACES: OnceLock<Places> = OnceLock::new();
        PLACES.get_or_init(|| {
            Places::parse().expect("embedded places data is valid (checked by the crate's tests)")
        })
    }

    /// Parses the embedded files and builds every index.
    pub fn parse() -> Result<Places, load::DataError> {
        // Streets and the graph.
        let mut street_ids: HashMap<String, u32> = HashMap::new();
        let mut streets: Vec<Street> = Vec::new();
        let mut lines = Vec::new();
        for f in load::features(files::STREETS)? {
            let name = load::prop(&f, "name");
            let street = if name.is_empty() {
                NO_STREET
            } else {
                *street_ids.entry(name.to_owned()).or_insert_with(|| {
                    streets.push(Street {
                        name: name.to_owned(),
                        nodes: Vec::new(),
                        len_m: 0.0,
                    });
                    (streets.len() - 1) as u32
                })
            };
            lines.push(Line {
                street,
                speed: graph::speed_mps(load::prop(&f, "class")),
                points: load::line(&f)?,
            });
        }
        let graph = Graph::build(&lines);
        for e in &graph.edges {
            if let Some(s) = streets.get_mut(e.street as usize) {
                s.nodes.push(e.a);
                s.nodes.push(e.b);
                s.len_m += e.len_m;
            }
        }
        for s in &mut streets {
            s.nodes.sort_unstable();
            s.nodes.dedup();
        }

        // Addresses (and OSM places that carry a house number).
        let mut addresses = Vec::new();
        for row in load::csv_rows(files::ADDRESSES) {
            let Some(&street) = row.get(1).and_then(|s| street_ids.get(s)) else {
                continue;
            };
            let text = row[0].clone();
            let Some(number) = leading_number(&text) else {
                continue;
            };
            addresses.push(Address {
                text,
                number,
                street,
                zip: row.get(2).cloned().unwrap_or_default(),
                p: Xy::of(load::num(&row, 3)?, load::num(&row, 4)?),
                name: row.get(5).cloned().unwrap_or_default(),
            });
        }
        let mut known: HashMap<(u32, String), Vec<Xy>> = HashMap::new();
        for a in &addresses {
            known
                .entry((a.street, a.text.clone()))
                .or_default()
                .push(a.p);
        }
        let osm_rows = load::csv_rows(files::PLACES_OSM);
        for row in &osm_rows {
            let (Some(number), Some(&street)) = (
                row.get(4).and_then(|n| leading_number(n)),
                row.get(5).and_then(|s| street_ids.get(s)),
            ) else {
                continue;
            };
            let p = Xy::of(load::num(row, 2)?, load::num(row, 3)?);
            let seen = known
                .get(&(street, row[4].clone()))
                .is_some_and(|ps| ps.iter().any(|q| q.dist(p) < 150.0));
            if !seen {
                addresses.push(Address {
                    text: row[4].clone(),
                    number,
                    street,
                    zip: String::new(),
                    p,
                    name: row[0].clone(),
                });
            }
        }
        addresses.sort_by_key(|a| (a.street, a.number));
        let mut address_ranges = vec![(0u32, 0u32); streets.len()];
        let mut i = 0;
        while i < addresses.len() {
            let s = addresses[i].street;
            let j = i + addresses[i..].iter().take_while(|a| a.street == s).count();
            address_ranges[s as usize] = (i as u32, j as u32);
            i = j;
        }
        let address_grid = Grid::build(
            &addresses
                .iter()
                .map(|a| [a.p.x, a.p.y, a.p.x, a.p.y])
                .collect::<Vec<_>>(),
            100.0,
        );

        // Areas.
        let land = load::features(files::LAND)?
            .iter()
            .map(load::polygons)
            .collect::<Result<Vec<_>, _>>()?
            .concat();
        let area = |f: &serde_json::Value, key: &str| -> Result<Area, load::DataError> {
            Ok(Area {
                name: load::prop(f, key).to_owned(),
                polygons: load::polygons(f)?,
            })
        };
        let neighborhoods = load::features(files::NEIGHBORHOODS)?
            .iter()
            .map(|f| area(f, "name"))
            .collect::<Result<Vec<_>, _>>()?;
        let zips = load::features(files::ZIPS)?
            .iter()
            .map(|f| area(f, "zip"))
            .collect::<Result<Vec<_>, _>>()?;

        // Searchable names.
        let mut entries = Vec::new();
        for (id, s) in streets.iter().enumerate() {
            let mid = s
                .nodes
                .get(s.nodes.len() / 2)
                .map(|&n| graph.nodes[n as usize])
                .unwrap_or(Xy { x: 0.0, y: 0.0 });
            entries.push(Entry::street(&s.name, id as u32, mid, s.len_m));
        }
        for (alias, name) in index::STREET_ALIASES {
            if let Some(&id) = street_ids.get(*name) {
                let e = &entries[id as usize];
                let mut alias_entry = Entry::street(alias, id, e.p, streets[id as usize].len_m);
                alias_entry.label = (*name).to_owned();
                entries.push(alias_entry);
            }
        }
        for row in load::csv_rows(files::PLACES) {
            let p = Xy::of(load::num(&row, 3)?, load::num(&row, 4)?);
            entries.push(Entry::city_place(&row[0], &row[1], &row[2], p));
        }
        for row in &osm_rows {
            let p = Xy::of(load::num(row, 2)?, load::num(row, 3)?);
            entries.push(Entry::osm_place(&row[0], &row[1], p));
        }
        for a in addresses.iter().filter(|a| !a.name.is_empty()) {
            let street = &streets[a.street as usize].name;
            entries.push(Entry::osm_place(&a.name, "building=address", a.p));
            if let Some(e) = entries.last_mut() {
                e.address = format!("{} {street}", a.text);
            }
        }
        let entries = index::dedup(entries);
        let index = TokenIndex::build(entries);

        let mut places = Places {
            streets,
            street_ids,
            addresses,
            address_ranges,
            address_grid,
            index,
            graph,
            land,
            neighborhoods,
            zips,
        };
        places.fill_address_lines();
        Ok(places)
    }

    /// Gives every place entry without an address line its ZIP area and neighbourhood.
    fn fill_address_lines(&mut self) {
        let mut entries = std::mem::take(&mut self.index.entries);
        for e in &mut entries {
            if e.address.is_empty() || e.kind == Kind::Place {
                e.address = self.address_line(&e.address, e.p);
            }
        }
        self.index.entries = entries;
    }

    /// "350 5th Avenue, New York, NY 10118" (or without the first part).
    fn address_line(&self, first: &str, p: Xy) -> String {
        let zip = self.zip_at(p);
        let neighborhood = self.neighborhood_at(p);
        let mut parts: Vec<&str> = Vec::new();
        if !first.is_empty() {
            parts.push(first);
        }
        if !neighborhood.is_empty() && first.is_empty() {
            parts.push(neighborhood);
        }
        let city = if zip.is_empty() {
            "New York, NY".to_owned()
        } else {
            format!("New York, NY {zip}")
        };
        let mut line = parts.join(", ");
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(&city);
        line
    }

    fn zip_at(&self, p: Xy) -> &str {
        self.zips
            .iter()
            .find(|z| z.contains(p))
            .map(|z| z.name.as_str())
            .unwrap_or_default()
    }

    fn neighborhood_at(&self, p: Xy) -> &str {
        self.neighborhoods
            .iter()
            .find(|n| n.contains(p))
            .map(|n| n.name.as_str())
            .unwrap_or_default()
    }

    /// Sizes and approximate memory.
    pub fn stats(&self) -> PlacesStats {
        let polys = |areas: &[Area]| -> usize {
            areas
                .iter()
                .flat_map(|a| &a.polygons)
                .flat_map(|p| &p.rings)
                .map(|r| r.len() * 16)
                .sum()
        };
        let land: usize = self
            .land
            .iter()
            .flat_map(|p| &p.rings)
            .map(|r| r.len() * 16)
            .sum();
        let addresses: usize = self
            .addresses
            .iter()
            .map(|a| std::mem::size_of::<Address>() + a.text.len() + a.zip.len() + a.name.len())
            .sum();
        let streets: usize = self
            .streets
            .iter()
            .map(|s| std::mem::size_of::<Street>() + s.name.len() + s.nodes.len() * 4)
            .sum();
        PlacesStats {
            streets: self.streets.len(),
            addresses: self.addresses.len(),
            entries: self.index.entries.len(),
            tokens: self.index.token_count(),
            deletions: self.index.deletion_count(),
            graph: self.graph.stats(),
            heap_bytes: self.graph.heap_bytes()
                + self.index.heap_bytes()
                + addresses
                + streets
                + self.address_grid.heap_bytes()
                + land
                + polys(&self.neighborhoods)
                + polys(&self.zips),
        }
    }

    /// Whether `p` is on Manhattan's land (within [`SHORE_TOLERANCE_M`] of it).
    pub fn on_land(&self, p: LatLng) -> bool {
        let q = xy(p);
        self.land.iter().any(|poly| poly.contains(q))
            || self
                .land
                .iter()
                .any(|poly| poly.boundary_distance(q) <= SHORE_TOLERANCE_M)
    }

    /// Refuses a position outside the service area (the city's zones and their margin, as the quote
    /// checks) or on the water.
    pub fn check_position(&self, p: LatLng) -> Result<(), PlaceError> {
        if !doorstep_geo::City::manhattan().covers(p) {
            return Err(PlaceError::OutsideServiceArea);
        }
        if !self.on_land(p) {
            return Err(PlaceError::InWater);
        }
        Ok(())
    }

    /// The nearest point of a named street within `max_m`, with the street's name.
    pub fn snap_to_street(&self, p: LatLng, max_m: f64) -> Option<(LatLng, &str, f64)> {
        let s = self.graph.snap(xy(p), max_m, false, true)?;
        let street = self.graph.edges[s.edge as usize].street;
        Some((
            lat_lng(s.point),
            self.streets[street as usize].name.as_str(),
            s.dist_m,
        ))
    }

    /// What is at `p`: see [`ReversePlace`].
    pub fn reverse(&self, p: LatLng) -> Result<ReversePlace, PlaceError> {
        self.check_position(p)?;
        let q = xy(p);
        let snap = self
            .graph
            .snap(q, 2_000.0, false, true)
            .ok_or(PlaceError::NoRoadNearby)?;
        let street_id = self.graph.edges[snap.edge as usize].street;
        let street = self.streets[street_id as usize].name.clone();
        let zip = self.zip_at(q).to_owned();
        let neighborhood = self.neighborhood_at(q).to_owned();
        let nearest_address = self
            .address_grid
            .nearest(q, 60.0, |i| Some(self.addresses[i as usize].p.dist(q)));
        let (label, first, point, precision, precision_m) = match nearest_address {
            Some((i, d)) => {
                let a = &self.addresses[i as usize];
                let number = format!("{} {}", a.text, self.streets[a.street as usize].name);
                let label = if d <= 20.0 {
                    if a.name.is_empty() {
                        number.clone()
                    } else {
                        a.name.clone()
                    }
                } else {
                    format!("near {number}")
                };
                (label, number, a.p, Precision::Exact, (d + 5.0).round())
            }
            None => {
                let between = self.between(&snap);
                let label = match between {
                    (Some(a), Some(b)) if a != b => format!("{street} between {a} and {b}"),
                    (Some(a), _) | (_, Some(a)) => format!("{street} near {a}"),
                    _ => street.clone(),
                };
                (
                    label,
                    street.clone(),
                    snap.point,
                    Precision::Street,
                    snap.dist_m.max(20.0).round(),
                )
            }
        };
        Ok(ReversePlace {
            address: self.address_line(&first, point),
            label,
            street,
            neighborhood,
            zip,
            point: lat_lng(point),
            snapped: lat_lng(snap.point),
            precision,
            precision_m,
        })
    }

    /// The cross streets on either side of a snapped point, along its street.
    fn between(&self, snap: &Snap) -> (Option<String>, Option<String>) {
        let edge = self.graph.edges[snap.edge as usize];
        let street = edge.street;
        let walk = |from: u32, away_from: u32| -> Option<String> {
            let (mut at, mut prev) = (from, away_from);
            for _ in 0..200 {
                let others: Vec<u32> = self
                    .graph
                    .streets_at(at)
                    .into_iter()
                    .filter(|&s| s != street)
                    .collect();
                if let Some(&s) = others.first() {
                    return Some(self.streets[s as usize].name.clone());
                }
                let next = self
                    .streets_next(at)
                    .into_iter()
                    .find(|&(v, s)| v != prev && s == street)?;
                prev = at;
                at = next.0;
            }
            None
        };
        (walk(edge.a, edge.b), walk(edge.b, edge.a))
    }

    fn streets_next(&self, u: u32) -> Vec<(u32, u32)> {
        self.graph
            .edges_at(u)
            .map(|e| {
                let edge = self.graph.edges[e as usize];
                (if edge.a == u { edge.b } else { edge.a }, edge.street)
            })
            .collect()
    }

    /// The fastest route between two positions along the streets (A*).
    pub fn route(&self, from: LatLng, to: LatLng) -> Result<Route, PlaceError> {
        self.route_with(from, to, true)
    }

    /// [`Places::route`] by A* (`astar`) or by plain Dijkstra (the benchmark's baseline).
    pub fn route_with(&self, from: LatLng, to: LatLng, astar: bool) -> Result<Route, PlaceError> {
        self.check_position(from)?;
        self.check_position(to)?;
        let s = self
            .graph
            .snap(xy(from), ROUTE_SNAP_M, true, false)
            .ok_or(PlaceError::NoRoadNearby)?;
        let t = self
            .graph
            .snap(xy(to), ROUTE_SNAP_M, true, false)
            .ok_or(PlaceError::NoRoadNearby)?;
        let path = self
            .graph
            .route(&s, &t, astar)
            .ok_or(PlaceError::Unroutable)?;
        Ok(Route {
            distance_m: path.distance_m,
            duration_s: path.duration_s,
            points: path.points.into_iter().map(lat_lng).collect(),
            settled: path.settled,
        })
    }

    /// The road graph (for the benchmark and tests).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Every searchable name's label (the benchmark's linear-scan baseline reads them).
    pub fn names(&self) -> impl Iterator<Item = (&str, LatLng)> {
        self.index
            .entries
            .iter()
            .map(|e| (e.label.as_str(), lat_lng(e.p)))
    }
}

/// The leading number of a house number ("120 1/2" → 120, "57-59" → 57).
fn leading_number(text: &str) -> Option<u32> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests;
