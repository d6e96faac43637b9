//! The index of the vehicles that may take a request, updated incrementally as vehicles change
//! state, so a decision never scans the whole fleet; and the index of points by zone it is built on,
//! which policies also use for pending requests.
//!
//! A vehicle that stands still until it is free (idle, or carrying a passenger) is kept under the
//! zone where it becomes free (the zone of its travel times) with its position ([`ZonePoints`]). A
//! request skips every zone whose box is out of reach at that zone's speed, and checks the L1
//! distance of each vehicle of the others before anything else.
//!
//! A vehicle driving to a lot moves continuously and changes zones on the way: it is kept in one
//! grid over the city at where it was when that grid was last rebuilt
//! ([`VehicleIndex::refresh_moving`]), and a query visits the cells within the reach at the fastest
//! speed widened by the farthest any vehicle can have driven since.

use doorstep_geo::MAX_SPEED_KMPS;

use crate::instance::{GridPoint, Model};

/// Side of a cell of the moving vehicles' grid, km: a 300 s reach at the fastest speed into a zone
/// is 2–6 km, so a query visits a few dozen cells.
pub const CELL_KM: f64 = 1.0;

/// How often (simulated seconds) the moving vehicles are put back in the cells of where they are.
pub const MOVING_REFRESH_SECS: f64 = 15.0;

/// A uniform grid of cells over a rectangle; the border cells extend to infinity, so every point
/// belongs to a cell.
#[derive(Debug, Clone)]
struct Cells {
    origin: GridPoint,
    cols: usize,
    rows: usize,
}

impl Cells {
    /// Cells over the rectangle `min`–`max` (at least one).
    fn new(min: GridPoint, max: GridPoint) -> Cells {
        let span = |lo: f64, hi: f64| {
            let n = ((hi - lo) / CELL_KM).ceil();
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a city spans at most a few hundred cells per axis"
            )]
            let n = if n.is_finite() && n >= 1.0 {
                (n as usize).min(4096)
            } else {
                1
            };
            n
        };
        Cells {
            origin: min,
            cols: span(min.x, max.x),
            rows: span(min.y, max.y),
        }
    }

    fn len(&self) -> usize {
        self.cols * self.rows
    }

    fn col(&self, x: f64) -> usize {
        axis_cell(x - self.origin.x, self.cols)
    }

    fn row(&self, y: f64) -> usize {
        axis_cell(y - self.origin.y, self.rows)
    }

    fn of(&self, p: GridPoint) -> usize {
        self.row(p.y) * self.cols + self.col(p.x)
    }

    /// The cells that meet the L1 ball of radius `reach` around `p`, row by row.
    fn for_each_in_reach(&self, p: GridPoint, reach: f64, mut f: impl FnMut(usize)) {
        if reach.is_nan() || reach < 0.0 {
            return;
        }
        let (r0, r1) = (self.row(p.y - reach), self.row(p.y + reach));
        for row in r0..=r1 {
            // The distance along y from p to the row's band (border rows extend to infinity).
            let lo = if row == 0 {
                f64::NEG_INFINITY
            } else {
                self.origin.y + row as f64 * CELL_KM
            };
            let hi = if row + 1 == self.rows {
                f64::INFINITY
            } else {
                self.origin.y + (row + 1) as f64 * CELL_KM
            };
            let left = reach - (lo - p.y).max(p.y - hi).max(0.0);
            if left < 0.0 {
                continue;
            }
            let (c0, c1) = (self.col(p.x - left), self.col(p.x + left));
            for col in c0..=c1 {
                f(row * self.cols + col);
            }
        }
    }
}

/// The cell along one axis of an offset from the grid's origin, clamped to `0..n`.
fn axis_cell(offset: f64, n: usize) -> usize {
    // Truncation is the floor of a non-negative quotient (and `floor` is a libm call here).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "non-negative (NaN and negatives go to 0), saturating, clamped below"
    )]
    let i = if offset > 0.0 {
        (offset / CELL_KM) as usize
    } else {
        0
    };
    i.min(n - 1)
}

/// A point and its id.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    x: f64,
    y: f64,
}

/// The points of one zone.
#[derive(Debug, Clone)]
struct ZoneBucket {
    entries: Vec<Entry>,
    /// A box containing every point ever inserted (it only grows, so it always contains the
    /// current points).
    lo: GridPoint,
    hi: GridPoint,
}

/// Points with ids `0..n`, bucketed by zone with a box per zone: a query by distance skips the
/// zones whose box is out of reach and checks the distance of each point of the others.
#[derive(Debug, Clone)]
pub struct ZonePoints {
    zones: Vec<ZoneBucket>,
    /// Per id, its zone and position in the zone's entries.
    slot: Vec<Option<(u32, u32)>>,
}

impl ZonePoints {
    /// An empty index of `zones` zones for ids `0..ids`.
    pub fn new(zones: usize, ids: usize) -> ZonePoints {
        let bucket = ZoneBucket {
            entries: Vec::new(),
            lo: GridPoint {
                x: f64::INFINITY,
                y: f64::INFINITY,
            },
            hi: GridPoint {
                x: f64::NEG_INFINITY,
                y: f64::NEG_INFINITY,
            },
        };
        ZonePoints {
            zones: vec![bucket; zones],
            slot: vec![None; ids],
        }
    }

    /// Whether `id` is in the index.
    pub fn contains(&self, id: u32) -> bool {
        self.slot.get(id as usize).is_some_and(Option::is_some)
    }

    /// Puts `id` at `p` in zone `zone` (moving it if it is already in).
    pub fn insert(&mut self, id: u32, zone: usize, p: GridPoint) {
        self.remove(id);
        if self.slot.len() <= id as usize {
            self.slot.resize(id as usize + 1, None);
        }
        let z = &mut self.zones[zone];
        z.entries.push(Entry { id, x: p.x, y: p.y });
        z.lo = GridPoint {
            x: z.lo.x.min(p.x),
            y: z.lo.y.min(p.y),
        };
        z.hi = GridPoint {
            x: z.hi.x.max(p.x),
            y: z.hi.y.max(p.y),
        };
        self.slot[id as usize] = Some((index_u32(zone), index_u32(z.entries.len() - 1)));
    }

    /// Takes `id` out (nothing happens if it is not in).
    pub fn remove(&mut self, id: u32) {
        let Some((zone, pos)) = self.slot.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        let entries = &mut self.zones[zone as usize].entries;
        entries.swap_remove(pos as usize);
        if let Some(moved) = entries.get(pos as usize) {
            self.slot[moved.id as usize] = Some((zone, pos));
        }
    }

    /// Calls `f` with every id within L1 distance `reach(zone)` of `p`. Zones are visited in order
    /// and each zone's points in their stored order, so the visit order is deterministic.
    pub fn for_each_near(
        &self,
        p: GridPoint,
        mut reach: impl FnMut(usize) -> f64,
        mut f: impl FnMut(u32),
    ) {
        for (z, zone) in self.zones.iter().enumerate() {
            if zone.entries.is_empty() {
                continue;
            }
            let reach = reach(z);
            let dx = (zone.lo.x - p.x).max(p.x - zone.hi.x).max(0.0);
            let dy = (zone.lo.y - p.y).max(p.y - zone.hi.y).max(0.0);
            if dx + dy > reach {
                continue;
            }
            let far_x = (p.x - zone.lo.x).max(zone.hi.x - p.x);
            let far_y = (p.y - zone.lo.y).max(zone.hi.y - p.y);
            if far_x + far_y <= reach {
                // The whole box is in reach.
                for e in &zone.entries {
                    f(e.id);
                }
            } else {
                for e in &zone.entries {
                    if (e.x - p.x).abs() + (e.y - p.y).abs() <= reach {
                        f(e.id);
                    }
                }
            }
        }
    }
}

/// Where a moving vehicle is in the index: in `moving_cells[cell]` at `pos`, and in `moving` at
/// `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MovingSlot {
    cell: u32,
    pos: u32,
    at: u32,
}

/// The eligible vehicles.
#[derive(Debug, Clone)]
pub struct VehicleIndex {
    /// Vehicles standing still until they are free, per zone of where they become free.
    still: ZonePoints,
    /// The cells of the city for the moving vehicles.
    cells: Cells,
    /// Vehicles driving to a lot, per cell of where they were at `moved_at` (or, if they started
    /// after it, where they started).
    moving_cells: Vec<Vec<u32>>,
    /// Every vehicle driving to a lot.
    moving: Vec<u32>,
    /// When the moving vehicles were last put in the cells of where they are.
    moved_at: f64,
    moving_slot: Vec<Option<MovingSlot>>,
}

impl VehicleIndex {
    /// An empty index for `vehicles` vehicles of `model`'s city.
    pub fn new(model: &Model, vehicles: usize) -> VehicleIndex {
        let cells = Cells::new(model.min, model.max);
        VehicleIndex {
            still: ZonePoints::new(model.centroids.len(), vehicles),
            moving_cells: vec![Vec::new(); cells.len()],
            cells,
            moving: Vec::new(),
            moved_at: 0.0,
            moving_slot: vec![None; vehicles],
        }
    }

    /// Whether a vehicle is in the index.
    #[cfg(test)]
    pub fn contains(&self, vehicle: u32) -> bool {
        self.still.contains(vehicle) || self.moving_slot[vehicle as usize].is_some()
    }

    /// Puts a vehicle that stays at `p` in zone `zone` until it is free in the index (moving it if
    /// it is already indexed).
    pub fn insert(&mut self, vehicle: u32, zone: usize, p: GridPoint) {
        self.remove(vehicle);
        self.still.insert(vehicle, zone, p);
    }

    /// Puts a vehicle driving to a lot, now at `p`, in the index.
    pub fn insert_moving(&mut self, vehicle: u32, p: GridPoint) {
        self.remove(vehicle);
        let cell = self.cells.of(p);
        let pos = push(&mut self.moving_cells[cell], vehicle);
        let at = push(&mut self.moving, vehicle);
        self.moving_slot[vehicle as usize] = Some(MovingSlot {
            cell: index_u32(cell),
            pos,
            at,
        });
    }

    /// Takes a vehicle out of the index (nothing happens if it is not in it).
    pub fn remove(&mut self, vehicle: u32) {
        self.still.remove(vehicle);
        let Some(MovingSlot { cell, pos, at }) = self.moving_slot[vehicle as usize].take() else {
            return;
        };
        if let Some(moved) = swap_remove(&mut self.moving_cells[cell as usize], pos)
            && let Some(slot) = &mut self.moving_slot[moved as usize]
        {
            slot.pos = pos;
        }
        if let Some(moved) = swap_remove(&mut self.moving, at)
            && let Some(slot) = &mut self.moving_slot[moved as usize]
        {
            slot.at = at;
        }
    }

    /// Puts every moving vehicle in the cell of where it is at `now` (`position_of`), if the last
    /// time is [`MOVING_REFRESH_SECS`] ago or more; queries widen their reach for the moving
    /// vehicles by what they can have driven since.
    pub fn refresh_moving(&mut self, now: f64, mut position_of: impl FnMut(u32) -> GridPoint) {
        if now - self.moved_at < MOVING_REFRESH_SECS {
            return;
        }
        self.moved_at = now;
        for i in 0..self.moving.len() {
            let v = self.moving[i];
            let cell = self.cells.of(position_of(v));
            let Some(MovingSlot { cell: old, pos, at }) = self.moving_slot[v as usize] else {
                continue;
            };
            if old as usize == cell {
                continue;
            }
            if let Some(moved) = swap_remove(&mut self.moving_cells[old as usize], pos)
                && let Some(slot) = &mut self.moving_slot[moved as usize]
            {
                slot.pos = pos;
            }
            let pos = push(&mut self.moving_cells[cell], v);
            self.moving_slot[v as usize] = Some(MovingSlot {
                cell: index_u32(cell),
                pos,
                at,
            });
        }
    }

    /// Calls `f` with every vehicle that may be at `now` within `secs` seconds of `p` at the
    /// speeds `speeds` (km/s, per zone of departure; `max_speed` at least the highest of them):
    /// the still vehicles within the reach of their zone's speed, and the moving ones of the cells
    /// that meet the reach at `max_speed` widened by their drive since the last refresh. The visit
    /// order is deterministic.
    pub fn for_each_near(
        &self,
        p: GridPoint,
        secs: f64,
        speeds: &[f64],
        max_speed: f64,
        now: f64,
        mut f: impl FnMut(u32),
    ) {
        if !self.moving.is_empty() {
            let slack = MAX_SPEED_KMPS * (now - self.moved_at).max(0.0);
            self.cells
                .for_each_in_reach(p, secs * max_speed + slack, |cell| {
                    for &v in &self.moving_cells[cell] {
                        f(v);
                    }
                });
        }
        self.still
            .for_each_near(p, |z| secs * speeds.get(z).copied().unwrap_or(max_speed), f);
    }
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Pushes `v` and returns its position.
fn push(list: &mut Vec<u32>, v: u32) -> u32 {
    list.push(v);
    index_u32(list.len() - 1)
}

/// Removes position `pos` by swapping the last element into it; returns that element if it moved.
fn swap_remove(list: &mut Vec<u32>, pos: u32) -> Option<u32> {
    list.swap_remove(pos as usize);
    list.get(pos as usize).copied()
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    use super::*;

    fn centre(model: &Model) -> GridPoint {
        GridPoint {
            x: (model.min.x + model.max.x) / 2.0,
            y: (model.min.y + model.max.y) / 2.0,
        }
    }

    /// Visits around `p` with a uniform speed.
    fn near(index: &VehicleIndex, model: &Model, p: GridPoint, km: f64) -> Vec<u32> {
        let speeds = vec![km / 100.0; model.centroids.len()];
        let mut found = Vec::new();
        index.for_each_near(p, 100.0, &speeds, km / 100.0, 0.0, |v| found.push(v));
        found.sort_unstable();
        found
    }

    #[test]
    fn removing_a_vehicle_keeps_the_others_findable() {
        let model = Model::manhattan();
        let mut index = VehicleIndex::new(&model, 3);
        let p = centre(&model);
        for v in 0..3 {
            index.insert(v, model.zone_of(p).index(), p);
        }
        index.remove(0);
        assert_eq!(near(&index, &model, p, 0.1), vec![1, 2]);
        assert!(!index.contains(0));
    }

    #[test]
    fn a_cell_out_of_reach_is_not_visited() {
        let model = Model::manhattan();
        let mut index = VehicleIndex::new(&model, 2);
        let p = centre(&model);
        for (v, dx) in [(0, 4.0), (1, 0.5)] {
            let q = GridPoint { x: p.x + dx, ..p };
            index.insert(v, model.zone_of(q).index(), q);
        }
        assert_eq!(near(&index, &model, p, 1.0), vec![1]);
    }

    /// Every vehicle within reach at the speed of its zone is visited, inside and outside the
    /// city's rectangle, still or moving, and a vehicle is visited at most once: checked against a
    /// scan of all of them.
    #[test]
    fn every_vehicle_in_reach_is_visited_once() {
        let model = Model::manhattan();
        let mut rng = Pcg64::seed_from_u64(7);
        let n = 400u32;
        let mut index = VehicleIndex::new(&model, n as usize);
        let mut at: Vec<Option<GridPoint>> = vec![None; n as usize];
        let (lo, hi) = (model.min, model.max);
        let point = |rng: &mut Pcg64| GridPoint {
            x: rng.random_range(lo.x - 1.0..hi.x + 1.0),
            y: rng.random_range(lo.y - 1.0..hi.y + 1.0),
        };
        for round in 0..200 {
            for _ in 0..40 {
                let v = rng.random_range(0..n);
                let p = point(&mut rng);
                match rng.random_range(0..3) {
                    0 => {
                        index.insert(v, model.zone_of(p).index(), p);
                        at[v as usize] = Some(p);
                    }
                    1 => {
                        index.insert_moving(v, p);
                        at[v as usize] = Some(p);
                    }
                    _ => {
                        index.remove(v);
                        at[v as usize] = None;
                    }
                }
            }
            let now = f64::from(round) * 7.0;
            index.refresh_moving(now, |v| at[v as usize].unwrap_or(lo));
            let q = point(&mut rng);
            let to = model.zone_of(q);
            let (speeds, max_speed) = (
                model.reach_speeds(to, now * 60.0),
                model.reach_speed_any(to, now * 60.0),
            );
            let mut seen = vec![0u32; n as usize];
            index.for_each_near(q, 300.0, speeds, max_speed, now, |v| seen[v as usize] += 1);
            for v in 0..n as usize {
                assert!(seen[v] <= 1, "vehicle {v} visited twice");
                match at[v] {
                    None => assert_eq!(seen[v], 0, "vehicle {v} is not indexed"),
                    Some(p) if p.l1(q) <= 300.0 * speeds[model.zone_of(p).index()] => {
                        assert_eq!(seen[v], 1, "vehicle {v} at {p:?} missed from {q:?}");
                    }
                    Some(_) => {}
                }
            }
        }
    }
}
