//! A spatial index of moving things (available drivers, couriers) for the live dispatcher,
//! bucketed by H3 cell, with exact k-nearest queries by great-circle distance.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash};

use h3o::{CellIndex, Resolution};

use crate::latlng::{HaversinePoint, haversine, haversine_to_km};
use crate::{EARTH_RADIUS_KM, LatLng};

/// The H3 resolution of [`MoverIndex::new`]: resolution 9 cells are about 0.1 km² (edges of
/// about 175 m), a few city blocks.
pub const DEFAULT_RESOLUTION: Resolution = Resolution::Nine;

/// Below this many movers a query scans them all: cheaper than walking rings.
const SCAN_ALL_BELOW: usize = 64;
/// A ring walk gives up and scans every mover once it would touch more than
/// `movers / SCAN_COST_RATIO` cells (bounding a cell costs about as much as this many distances).
const SCAN_COST_RATIO: usize = 32;
/// Slack subtracted from cell distance bounds, in km, against rounding in H3's geometry.
const BOUND_SLACK_KM: f64 = 1e-4;

/// A deterministic hasher: the index reads no random seed, so runs replay identically.
type Fixed = BuildHasherDefault<DefaultHasher>;

/// One mover, in the dense storage of the index.
struct Entry<K> {
    id: K,
    pos: LatLng,
    point: HaversinePoint,
    cell: CellIndex,
    /// Position of this entry in `cells[cell].members`.
    slot: usize,
}

/// A mover as seen from its cell's bucket: what a scan needs, stored contiguously.
struct Member {
    /// Position in `entries`.
    entry: usize,
    point: HaversinePoint,
}

/// The movers of one H3 cell, with the cell's outline for distance bounds.
struct Bucket {
    members: Vec<Member>,
    shape: CellShape,
}

/// Positions of moving things keyed by `K`, bucketed by H3 cell for nearest-neighbour queries.
///
/// Updates are O(1) amortised and a move within the same cell allocates nothing. Queries are
/// exact: [`MoverIndex::nearest`] returns the same distances as a scan of every mover would.
/// Hashing is deterministic (no random seed), so the same sequence of calls gives the same answers.
pub struct MoverIndex<K: Copy + Eq + Hash> {
    resolution: Resolution,
    /// Dense storage of all movers; `by_id` and the buckets hold positions in it.
    entries: Vec<Entry<K>>,
    by_id: HashMap<K, usize, Fixed>,
    cells: HashMap<CellIndex, Bucket, Fixed>,
}

impl<K: Copy + Eq + Hash> fmt::Debug for MoverIndex<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoverIndex")
            .field("resolution", &self.resolution)
            .field("movers", &self.entries.len())
            .field("cells", &self.cells.len())
            .finish()
    }
}

impl<K: Copy + Eq + Hash> Default for MoverIndex<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Copy + Eq + Hash> MoverIndex<K> {
    /// An empty index over resolution 9 cells ([`DEFAULT_RESOLUTION`]).
    pub fn new() -> Self {
        Self::with_resolution(DEFAULT_RESOLUTION)
    }

    /// An empty index over cells of the given resolution: finer cells suit dense fleets and
    /// short searches, coarser ones sparse fleets and long searches. Answers are the same.
    pub fn with_resolution(resolution: Resolution) -> Self {
        MoverIndex {
            resolution,
            entries: Vec::new(),
            by_id: HashMap::default(),
            cells: HashMap::default(),
        }
    }

    /// The H3 resolution of the buckets.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Inserts a mover or moves it to `p`.
    pub fn upsert(&mut self, id: K, p: LatLng) {
        let cell = self.cell_of(p);
        let point = HaversinePoint::new(p);
        if let Some(&i) = self.by_id.get(&id) {
            let entry = &mut self.entries[i];
            entry.pos = p;
            entry.point = point;
            if entry.cell == cell {
                if let Some(bucket) = self.cells.get_mut(&cell) {
                    bucket.members[entry.slot].point = point;
                }
                return;
            }
            let (old_cell, old_slot) = (entry.cell, entry.slot);
            let bucket = self.cells.entry(cell).or_insert_with(|| Bucket::new(cell));
            entry.cell = cell;
            entry.slot = bucket.members.len();
            bucket.members.push(Member { entry: i, point });
            self.unlink(old_cell, old_slot);
        } else {
            let i = self.entries.len();
            let bucket = self.cells.entry(cell).or_insert_with(|| Bucket::new(cell));
            self.entries.push(Entry {
                id,
                pos: p,
                point,
                cell,
                slot: bucket.members.len(),
            });
            bucket.members.push(Member { entry: i, point });
            self.by_id.insert(id, i);
        }
    }

    /// Removes a mover; `false` if it was not in the index.
    pub fn remove(&mut self, id: &K) -> bool {
        let Some(i) = self.by_id.remove(id) else {
            return false;
        };
        let (cell, slot) = (self.entries[i].cell, self.entries[i].slot);
        self.unlink(cell, slot);
        self.entries.swap_remove(i);
        // The former last entry now lives at `i`: repoint its references.
        if let Some(moved) = self.entries.get(i) {
            self.by_id.insert(moved.id, i);
            if let Some(bucket) = self.cells.get_mut(&moved.cell) {
                bucket.members[moved.slot].entry = i;
            }
        }
        true
    }

    /// Takes `slot` out of `cell`'s bucket, keeping the other members' slots right and dropping
    /// the bucket once empty.
    fn unlink(&mut self, cell: CellIndex, slot: usize) {
        let Some(bucket) = self.cells.get_mut(&cell) else {
            return;
        };
        bucket.members.swap_remove(slot);
        if let Some(moved) = bucket.members.get(slot) {
            self.entries[moved.entry].slot = slot;
        }
        if bucket.members.is_empty() {
            self.cells.remove(&cell);
        }
    }

    /// Where a mover is, if it is in the index.
    pub fn position(&self, id: &K) -> Option<LatLng> {
        self.by_id.get(id).map(|&i| self.entries[i].pos)
    }

    /// Number of movers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index holds no mover.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All movers and their positions, in an order that depends only on the calls made so far.
    pub fn iter(&self) -> impl Iterator<Item = (K, LatLng)> + '_ {
        self.entries.iter().map(|e| (e.id, e.pos))
    }

    /// Up to `k` movers nearest to `p` by great-circle distance ([`crate::haversine_km`]) and at
    /// most `max_km` away, closest first, with their distances in km.
    ///
    /// Exact: the distances returned are bit for bit those a scan of every mover with
    /// [`crate::haversine_km`] would return. Movers at exactly equal distances come in an order
    /// that depends only on the calls made so far.
    ///
    /// It scans `p`'s cell, then hexagonal rings of cells outward, and stops once the distance
    /// from `p` to the nearest unvisited cell exceeds the k-th best distance or `max_km`; cells
    /// farther than that are skipped. When a walk would touch many cells for few movers (a
    /// sparse fleet searched far), it scans all movers instead.
    pub fn nearest(&self, p: LatLng, k: usize, max_km: f64) -> Vec<(K, f64)> {
        if k == 0 || self.is_empty() || max_km.is_nan() || max_km < 0.0 {
            return Vec::new();
        }
        let mut search = Search::new(p, k, max_km);
        if self.len() < SCAN_ALL_BELOW {
            return self.scan_all(search);
        }
        let origin = self.cell_of(p);
        let origin_bucket = self.cells.get(&origin);
        let mut examined = 0;
        if let Some(bucket) = origin_bucket {
            search.scan(bucket);
            examined += bucket.members.len();
        }
        // Everything outside p's cell is at least as far as that cell's boundary.
        let mut bound = match origin_bucket {
            Some(bucket) => bucket.shape.distance_km(&search.unit),
            None => CellShape::new(origin).distance_km(&search.unit),
        };
        let mut cells_touched = 1;
        let mut ring_cells = Vec::new();
        for r in 1u32.. {
            if examined == self.len() || bound > search.limit_km() {
                break;
            }
            let ring: Vec<CellIndex> = origin.grid_ring(r);
            cells_touched += ring.len();
            if cells_touched * SCAN_COST_RATIO > self.len() {
                return self.scan_all(Search::new(p, k, max_km));
            }
            ring_cells.clear();
            bound = f64::INFINITY;
            for cell in ring {
                let bucket = self.cells.get(&cell);
                let d = match bucket {
                    Some(bucket) => bucket.shape.distance_km(&search.unit),
                    None => CellShape::new(cell).distance_km(&search.unit),
                };
                bound = bound.min(d);
                ring_cells.push((bucket, d));
            }
            // Any path from p to a cell beyond the disk of radius r - 1 enters it through a cell
            // of ring r, so `bound` is a lower bound on the distance to every unvisited mover.
            if bound > search.limit_km() {
                break;
            }
            for &(bucket, d) in &ring_cells {
                if let Some(bucket) = bucket {
                    examined += bucket.members.len();
                    if d <= search.limit_km() {
                        search.scan(bucket);
                    }
                }
            }
        }
        search.finish(&self.entries)
    }

    /// The exact answer by examining every mover.
    fn scan_all(&self, mut search: Search) -> Vec<(K, f64)> {
        for (i, entry) in self.entries.iter().enumerate() {
            search.offer(i, haversine(&search.point, &entry.point));
        }
        search.finish(&self.entries)
    }

    fn cell_of(&self, p: LatLng) -> CellIndex {
        to_h3(p).to_cell(self.resolution)
    }
}

/// The state of one k-nearest query: the best candidates so far, ranked by haversine value
/// (monotone in the distance, and cheaper than the distance itself).
struct Search {
    point: HaversinePoint,
    unit: [f64; 3],
    k: usize,
    max_km: f64,
    /// Haversine values above this are certainly farther than `max_km`.
    max_haversine: f64,
    /// (entry, haversine value), ascending, at most k.
    best: Vec<(usize, f64)>,
}

impl Search {
    fn new(p: LatLng, k: usize, max_km: f64) -> Search {
        let half_angle = max_km / (2.0 * EARTH_RADIUS_KM);
        let max_haversine = if half_angle < std::f64::consts::FRAC_PI_2 {
            half_angle.sin().powi(2) * (1.0 + 1e-9) + 1e-300
        } else {
            f64::INFINITY
        };
        Search {
            point: HaversinePoint::new(p),
            unit: unit_vector(p.lat(), p.lng()),
            k,
            max_km,
            max_haversine,
            best: Vec::with_capacity(k.min(1024) + 1),
        }
    }

    /// The distance beyond which nothing can enter the answer.
    fn limit_km(&self) -> f64 {
        match self.best.get(self.k - 1) {
            Some(&(_, h)) => haversine_to_km(h).min(self.max_km),
            None => self.max_km,
        }
    }

    fn scan(&mut self, bucket: &Bucket) {
        for member in &bucket.members {
            self.offer(member.entry, haversine(&self.point, &member.point));
        }
    }

    fn offer(&mut self, entry: usize, h: f64) {
        if h > self.max_haversine {
            return;
        }
        if let Some(&(_, worst)) = self.best.get(self.k - 1)
            && h >= worst
        {
            return;
        }
        let at = self.best.partition_point(|&(_, e)| e <= h);
        self.best.insert(at, (entry, h));
        self.best.truncate(self.k);
    }

    /// The answer: distances in km, without the candidates that the loose haversine cut-off let
    /// through but lie beyond `max_km` (always a tail, since the distance is monotone in `h`).
    fn finish<K: Copy>(self, entries: &[Entry<K>]) -> Vec<(K, f64)> {
        let max_km = self.max_km;
        self.best
            .into_iter()
            .map(|(i, h)| (entries[i].id, haversine_to_km(h)))
            .take_while(|&(_, d)| d <= max_km)
            .collect()
    }
}

/// The outline of an H3 cell as unit vectors, for distance bounds.
///
/// H3 cells are hexagons (or pentagons) with straight edges in the gnomonic projection of an
/// icosahedron face, so their edges are great-circle arcs between the boundary's vertices
/// (cells crossing a face edge get an extra vertex there).
struct CellShape {
    vertices: [[f64; 3]; 10],
    len: usize,
}

impl CellShape {
    fn new(cell: CellIndex) -> CellShape {
        let mut shape = CellShape {
            vertices: [[0.0; 3]; 10],
            len: 0,
        };
        for (slot, v) in shape.vertices.iter_mut().zip(cell.boundary().iter()) {
            *slot = unit_vector(v.lat(), v.lng());
            shape.len += 1;
        }
        shape
    }

    /// A lower bound in km on the distance from the point `p` (a unit vector) to the cell: the
    /// distance to its nearest edge, less a little slack. It is a bound on the distance to any
    /// point inside when `p` lies outside the cell, and the distance to the cell's boundary when
    /// `p` lies inside it.
    fn distance_km(&self, p: &[f64; 3]) -> f64 {
        let vertices = &self.vertices[..self.len];
        let mut angle = f64::INFINITY;
        for (i, a) in vertices.iter().enumerate() {
            let b = &vertices[(i + 1) % vertices.len()];
            angle = angle.min(arc_angle(p, a, b));
        }
        (angle * EARTH_RADIUS_KM * (1.0 - 1e-9) - BOUND_SLACK_KM).max(0.0)
    }
}

impl Bucket {
    fn new(cell: CellIndex) -> Bucket {
        Bucket {
            members: Vec::new(),
            shape: CellShape::new(cell),
        }
    }
}

/// The angle (radians) from `p` to the nearest point of the great-circle arc from `a` to `b`
/// (all unit vectors, the arc shorter than half a circle).
fn arc_angle(p: &[f64; 3], a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let n = cross(a, b);
    let n_len = dot(&n, &n).sqrt();
    // The foot of p on the arc's great circle lies between a and b.
    if n_len > 0.0 && dot(&cross(a, p), &n) >= 0.0 && dot(&cross(p, b), &n) >= 0.0 {
        return (dot(p, &n).abs() / n_len).min(1.0).asin();
    }
    angle_between(p, a).min(angle_between(p, b))
}

fn angle_between(u: &[f64; 3], v: &[f64; 3]) -> f64 {
    let c = cross(u, v);
    dot(&c, &c).sqrt().atan2(dot(u, v))
}

fn cross(u: &[f64; 3], v: &[f64; 3]) -> [f64; 3] {
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

fn dot(u: &[f64; 3], v: &[f64; 3]) -> f64 {
    u[0] * v[0] + u[1] * v[1] + u[2] * v[2]
}

fn unit_vector(lat_deg: f64, lng_deg: f64) -> [f64; 3] {
    let (lat, lng) = (lat_deg.to_radians(), lng_deg.to_radians());
    [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
}

/// Converts to h3o's coordinate type. A [`LatLng`] is always finite, so h3o's check cannot fail;
/// the fallback (0, 0) only keeps this function total.
fn to_h3(p: LatLng) -> h3o::LatLng {
    h3o::LatLng::new(p.lat(), p.lng()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lat: f64, lng: f64) -> LatLng {
        LatLng::new(lat, lng).expect("valid")
    }

    #[test]
    fn a_cell_bound_never_exceeds_the_distance_to_points_inside_the_cell() {
        let origin = ll(40.7580, -73.9855);
        let p = unit_vector(origin.lat(), origin.lng());
        let mut worst: f64 = f64::INFINITY;
        for i in 0..2000 {
            // Points on a spiral around Times Square, each checked against its own cell.
            let r = 0.0005 * f64::from(i);
            let a = f64::from(i) * 2.4;
            let q = ll(
                origin.lat() + r * a.sin() * 0.1,
                origin.lng() + r * a.cos() * 0.13,
            );
            let cell = to_h3(q).to_cell(Resolution::Nine);
            let bound = CellShape::new(cell).distance_km(&p);
            let d = crate::haversine_km(origin, q);
            if cell != to_h3(origin).to_cell(Resolution::Nine) {
                assert!(bound <= d, "bound {bound} > distance {d}");
                worst = worst.min(d - bound);
            }
        }
        assert!(
            worst < 0.01,
            "bounds are tight for points near cell edges: {worst}"
        );
    }

    #[test]
    fn moving_within_a_cell_keeps_the_bucket_in_place() {
        let mut index = MoverIndex::new();
        index.upsert(7u8, ll(40.7484, -73.9857));
        let cell = index.entries[0].cell;
        let capacity = index.cells[&cell].members.capacity();
        for i in 0..100 {
            index.upsert(7, ll(40.7484 + 1e-7 * f64::from(i), -73.9857));
        }
        assert_eq!(index.entries[0].cell, cell);
        assert_eq!(index.cells[&cell].members.capacity(), capacity);
        assert_eq!(index.cells.len(), 1);
    }
}
