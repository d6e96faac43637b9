//! A uniform grid of moving points in projected kilometres: the index of available drivers that
//! the live fleet queries for dispatch, the riders' map and surge, and that `doorstep bench geo`
//! measures.
//!
//! Why a grid and not H3 cells (what the fleet used before): the cell of a point here is two
//! multiplications and two truncations, where H3's `LatLng -> cell` costs about half a
//! microsecond of trigonometry and face projection; and ids are dense `u32` slots looked up in a
//! `Vec`, so an update that stays in its cell is a few stores. `docs/benchmarks.md` has the
//! measurements (20-55 M updates/s against 0.4-1 M for the H3 index).

use crate::{EARTH_RADIUS_KM, LatLng};

/// Kilometres per degree of latitude on the sphere of [`EARTH_RADIUS_KM`].
const KM_PER_DEGREE: f64 = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;
/// The `cell` of a slot that holds no mover.
const ABSENT: u32 = u32::MAX;

/// A point in the grid's plane: kilometres east and north of the grid's south-west corner, by an
/// equirectangular projection at the grid's middle latitude.
///
/// Within a city-sized box (Manhattan: about 20 km north to south) the projection's scale error
/// is below 0.2 %, so rankings by this distance agree with great-circle rankings except between
/// movers whose distances differ by less than that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanePoint {
    /// Kilometres east of the grid's west edge.
    pub x: f32,
    /// Kilometres north of the grid's south edge.
    pub y: f32,
}

impl PlanePoint {
    /// Euclidean distance in kilometres, computed in `f64` from the stored `f32` coordinates
    /// (so that the index and a brute-force scan give bit-for-bit the same values).
    pub fn distance_km(self, other: PlanePoint) -> f64 {
        squared_km(self, other).sqrt()
    }
}

fn squared_km(a: PlanePoint, b: PlanePoint) -> f64 {
    let dx = f64::from(a.x) - f64::from(b.x);
    let dy = f64::from(a.y) - f64::from(b.y);
    dx * dx + dy * dy
}

/// One mover as stored in its cell: 12 bytes, so that a scan reads contiguous memory.
#[derive(Debug, Clone, Copy)]
struct Member {
    point: PlanePoint,
    id: u32,
}

/// Where a mover is stored: its cell and its position in that cell's bucket.
#[derive(Debug, Clone, Copy)]
struct Slot {
    cell: u32,
    slot: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        cell: ABSENT,
        slot: 0,
    };
}

/// Moving points keyed by dense `u32` ids (a driver's slot number, not a database id), bucketed
/// in a uniform grid of square cells over a fixed box, with exact k-nearest queries by the
/// projected distance ([`PlanePoint::distance_km`]).
///
/// Memory is `O(max id + cells + movers)`: keep ids dense. Points outside the box are kept in an
/// overflow bucket that every query scans, so they stay correct but cost time; queries from
/// outside the box scan every mover.
#[derive(Debug, Clone)]
pub struct GridIndex {
    south: f64,
    west: f64,
    km_per_degree_lng: f64,
    cell_km: f64,
    inv_cell_km: f64,
    cols: u32,
    rows: u32,
    /// `cols * rows` buckets row by row, then the overflow bucket.
    cells: Vec<Vec<Member>>,
    /// By id.
    slots: Vec<Slot>,
    len: usize,
}

impl GridIndex {
    /// An empty grid over the box from `south_west` to `north_east` with square cells of
    /// `cell_km` kilometres (clamped to at least 10 m; at most 2²⁴ cells).
    pub fn new(south_west: LatLng, north_east: LatLng, cell_km: f64) -> GridIndex {
        let mid_lat = (south_west.lat() + north_east.lat()) / 2.0;
        let km_per_degree_lng = KM_PER_DEGREE * mid_lat.to_radians().cos();
        let width = ((north_east.lng() - south_west.lng()) * km_per_degree_lng).max(0.0);
        let height = ((north_east.lat() - south_west.lat()) * KM_PER_DEGREE).max(0.0);
        let mut cell_km = if cell_km.is_finite() {
            cell_km.max(0.01)
        } else {
            1.0
        };
        while (width / cell_km).ceil() * (height / cell_km).ceil() > f64::from(1u32 << 24) {
            cell_km *= 2.0;
        }
        // Bounded above by the loop, so the casts cannot truncate.
        let cols = ((width / cell_km).ceil() as u32).max(1);
        let rows = ((height / cell_km).ceil() as u32).max(1);
        let buckets = cols as usize * rows as usize + 1;
        GridIndex {
            south: south_west.lat(),
            west: south_west.lng(),
            km_per_degree_lng,
            cell_km,
            inv_cell_km: 1.0 / cell_km,
            cols,
            rows,
            cells: vec![Vec::new(); buckets],
            slots: Vec::new(),
            len: 0,
        }
    }

    /// An empty grid over the box with cells sized for `movers` spread evenly: about four per
    /// cell, so that a 10-nearest query usually reads a 3 × 3 block of cells.
    pub fn for_fleet(south_west: LatLng, north_east: LatLng, movers: usize) -> GridIndex {
        let probe = GridIndex::new(south_west, north_east, 1.0);
        let area = f64::from(probe.cols) * f64::from(probe.rows);
        let per_cell = 4.0;
        let cell_km = (area * per_cell / (movers.max(1) as f64))
            .sqrt()
            .clamp(0.02, 2.0);
        GridIndex::new(south_west, north_east, cell_km)
    }

    /// The side of a cell in kilometres.
    pub fn cell_km(&self) -> f64 {
        self.cell_km
    }

    /// Number of cells (without the overflow bucket).
    pub fn cell_count(&self) -> usize {
        self.cells.len() - 1
    }

    /// Number of movers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index holds no mover.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The point of the grid's plane for `p`.
    pub fn project(&self, p: LatLng) -> PlanePoint {
        PlanePoint {
            x: ((p.lng() - self.west) * self.km_per_degree_lng) as f32,
            y: ((p.lat() - self.south) * KM_PER_DEGREE) as f32,
        }
    }

    /// The bucket of a plane point: a cell, or the overflow bucket outside the box.
    fn bucket_of(&self, p: PlanePoint) -> u32 {
        let (cx, cy) = (
            f64::from(p.x) * self.inv_cell_km,
            f64::from(p.y) * self.inv_cell_km,
        );
        if cx >= 0.0 && cy >= 0.0 && cx < f64::from(self.cols) && cy < f64::from(self.rows) {
            // In range, so the truncating casts are exact floors.
            cy as u32 * self.cols + cx as u32
        } else {
            self.cols * self.rows
        }
    }

    /// Inserts mover `id` or moves it to `p`.
    pub fn upsert(&mut self, id: u32, p: LatLng) {
        let point = self.project(p);
        let cell = self.bucket_of(point);
        let i = id as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Slot::EMPTY);
        }
        let old = self.slots[i];
        let member = Member { point, id };
        if old.cell == cell {
            self.cells[cell as usize][old.slot as usize] = member;
            return;
        }
        if old.cell == ABSENT {
            self.len += 1;
        } else {
            self.unlink(old);
        }
        let bucket = &mut self.cells[cell as usize];
        self.slots[i] = Slot {
            cell,
            slot: bucket.len() as u32,
        };
        bucket.push(member);
    }

    /// Removes mover `id`; `false` if it was not in the index.
    pub fn remove(&mut self, id: u32) -> bool {
        let Some(&old) = self.slots.get(id as usize) else {
            return false;
        };
        if old.cell == ABSENT {
            return false;
        }
        self.unlink(old);
        self.slots[id as usize] = Slot::EMPTY;
        self.len -= 1;
        true
    }

    fn unlink(&mut self, at: Slot) {
        let bucket = &mut self.cells[at.cell as usize];
        bucket.swap_remove(at.slot as usize);
        if let Some(moved) = bucket.get(at.slot as usize) {
            self.slots[moved.id as usize].slot = at.slot;
        }
    }

    /// Where mover `id` is, in the grid's plane.
    pub fn position(&self, id: u32) -> Option<PlanePoint> {
        let at = *self.slots.get(id as usize)?;
        if at.cell == ABSENT {
            return None;
        }
        Some(self.cells[at.cell as usize][at.slot as usize].point)
    }

    /// Up to `k` movers nearest to `p` by [`PlanePoint::distance_km`] and at most `max_km` away,
    /// closest first, with their distances in km. Exact: the distances are those a scan of every
    /// mover would give; movers at equal distances come in storage order.
    ///
    /// It scans `p`'s cell, then square rings of cells around it, skipping cells farther than the
    /// k-th best distance so far, and stops once the ring's distance exceeds it.
    pub fn nearest(&self, p: LatLng, k: usize, max_km: f64) -> Vec<(u32, f64)> {
        let q = self.project(p);
        let mut search = Search::new(q, k, max_km);
        if k == 0 || self.len == 0 || search.max2 < 0.0 {
            return Vec::new();
        }
        let overflow = self.cells.len() - 1;
        search.scan(&self.cells[overflow]);
        let origin = self.bucket_of(q);
        if origin as usize == overflow {
            for bucket in &self.cells[..overflow] {
                search.scan(bucket);
            }
            return search.finish();
        }
        let (cx, cy) = ((origin % self.cols) as i64, (origin / self.cols) as i64);
        let s = self.cell_km;
        let (fx, fy) = (
            f64::from(q.x) - cx as f64 * s,
            f64::from(q.y) - cy as f64 * s,
        );
        // Distance from q to the border of its own cell: every cell of ring r >= 1 is at least
        // this plus (r - 1) cells away.
        let edge = fx.min(s - fx).min(fy).min(s - fy).max(0.0);
        let max_ring = i64::from(self.cols.max(self.rows));
        for r in 0..=max_ring {
            if r > 0 {
                // Less a hair against rounding, as in `cell_distance2`.
                let bound = (edge + (r - 1) as f64 * s - 1e-6).max(0.0);
                if bound * bound > search.limit2 {
                    break;
                }
            }
            self.scan_ring(&mut search, cx, cy, r);
        }
        search.finish()
    }

    fn scan_ring(&self, search: &mut Search, cx: i64, cy: i64, r: i64) {
        let (cols, rows) = (i64::from(self.cols), i64::from(self.rows));
        let mut visit = |x: i64, y: i64| {
            if x < 0 || y < 0 || x >= cols || y >= rows {
                return;
            }
            let bucket = &self.cells[(y * cols + x) as usize];
            if bucket.is_empty() {
                return;
            }
            if self.cell_distance2(search.point, x, y) <= search.limit2 {
                search.scan(bucket);
            }
        };
        if r == 0 {
            visit(cx, cy);
            return;
        }
        for x in (cx - r)..=(cx + r) {
            visit(x, cy - r);
            visit(x, cy + r);
        }
        for y in (cy - r + 1)..=(cy + r - 1) {
            visit(cx - r, y);
            visit(cx + r, y);
        }
    }

    /// Squared distance from `q` to the rectangle of cell (x, y), shrunk by a hair so that `f32`
    /// rounding of stored points on a cell's border can never make the bound exceed a distance.
    fn cell_distance2(&self, q: PlanePoint, x: i64, y: i64) -> f64 {
        let s = self.cell_km;
        let (x0, y0) = (x as f64 * s, y as f64 * s);
        let (qx, qy) = (f64::from(q.x), f64::from(q.y));
        let dx = (x0 - qx).max(qx - (x0 + s)).max(0.0);
        let dy = (y0 - qy).max(qy - (y0 + s)).max(0.0);
        let d = ((dx * dx + dy * dy).sqrt() - 1e-6).max(0.0);
        d * d
    }

    /// How many movers are at most `max_km` from `p` by [`PlanePoint::distance_km`]. Reads only the
    /// cells that overlap the circle (every cell when `p` lies outside the box), without sorting.
    pub fn count_within(&self, p: LatLng, max_km: f64) -> usize {
        let q = self.project(p);
        if self.len == 0 || max_km.is_nan() || max_km < 0.0 {
            return 0;
        }
        let max2 = max_km * max_km;
        let count = |bucket: &[Member]| {
            bucket
                .iter()
                .filter(|m| squared_km(q, m.point) <= max2)
                .count()
        };
        let overflow = self.cells.len() - 1;
        let mut total = count(&self.cells[overflow]);
        let origin = self.bucket_of(q);
        if origin as usize == overflow {
            return total
                + self.cells[..overflow]
                    .iter()
                    .map(|b| count(b))
                    .sum::<usize>();
        }
        let (cx, cy) = (i64::from(origin % self.cols), i64::from(origin / self.cols));
        let (cols, rows) = (i64::from(self.cols), i64::from(self.rows));
        // Whole cells of reach, plus one for the position of `q` inside its own cell; capped by the
        // grid's size so that an infinite radius stays a finite loop.
        let reach = ((max_km / self.cell_km).ceil().min(cols.max(rows) as f64) as i64) + 1;
        for y in (cy - reach).max(0)..=(cy + reach).min(rows - 1) {
            for x in (cx - reach).max(0)..=(cx + reach).min(cols - 1) {
                let bucket = &self.cells[(y * cols + x) as usize];
                if !bucket.is_empty() && self.cell_distance2(q, x, y) <= max2 {
                    total += count(bucket);
                }
            }
        }
        total
    }

    /// Bytes this index holds on the heap, counted from its vectors' capacities (not from the
    /// allocator, whose own overhead comes on top).
    pub fn heap_bytes(&self) -> usize {
        let buckets: usize = self
            .cells
            .iter()
            .map(|b| b.capacity() * std::mem::size_of::<Member>())
            .sum();
        buckets
            + self.cells.capacity() * std::mem::size_of::<Vec<Member>>()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
    }

    /// Every mover and its plane point, in storage order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, PlanePoint)> + '_ {
        self.cells
            .iter()
            .flat_map(|bucket| bucket.iter().map(|m| (m.id, m.point)))
    }
}

/// The state of one k-nearest query: the best candidates by squared distance, ascending.
struct Search {
    point: PlanePoint,
    k: usize,
    max2: f64,
    /// Squared distances above this cannot enter the answer.
    limit2: f64,
    best: Vec<(f64, u32)>,
}

impl Search {
    fn new(point: PlanePoint, k: usize, max_km: f64) -> Search {
        let max2 = if max_km >= 0.0 { max_km * max_km } else { -1.0 };
        Search {
            point,
            k,
            max2,
            limit2: max2,
            best: Vec::with_capacity(k.min(1024) + 1),
        }
    }

    fn scan(&mut self, bucket: &[Member]) {
        for m in bucket {
            let d2 = squared_km(self.point, m.point);
            if d2 <= self.limit2 {
                self.offer(d2, m.id);
            }
        }
    }

    fn offer(&mut self, d2: f64, id: u32) {
        if self.best.len() == self.k {
            if let Some(&(worst, _)) = self.best.last()
                && d2 >= worst
            {
                return;
            }
            self.best.pop();
        }
        let at = self.best.partition_point(|&(e, _)| e <= d2);
        self.best.insert(at, (d2, id));
        if self.best.len() == self.k
            && let Some(&(worst, _)) = self.best.last()
        {
            self.limit2 = worst.min(self.max2);
        }
    }

    fn finish(self) -> Vec<(u32, f64)> {
        self.best
            .into_iter()
            .map(|(d2, id)| (id, d2.sqrt()))
            .collect()
    }
}
