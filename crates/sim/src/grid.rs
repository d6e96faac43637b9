//! A uniform grid over the street-grid frame holding the vehicles that may take a request, keyed by
//! the point where each becomes free. Updated incrementally as vehicles change state, so a decision
//! never scans the whole fleet.

use crate::instance::GridPoint;

/// Side of a grid cell, km.
const CELL_KM: f64 = 0.5;

/// The grid of eligible vehicles.
#[derive(Debug, Clone)]
pub struct VehicleGrid {
    /// South-west corner of cell (0, 0).
    origin: GridPoint,
    /// Number of columns (x) and rows (y).
    cols: usize,
    rows: usize,
    /// Vehicles per cell, `cells[row * cols + col]`.
    cells: Vec<Vec<u32>>,
    /// Per vehicle, its cell and position in it, if it is in the grid.
    slot: Vec<Option<(u32, u32)>>,
}

impl VehicleGrid {
    /// An empty grid covering `min..max` (points outside are clamped to the border cells) for
    /// `vehicles` vehicles.
    pub fn new(min: GridPoint, max: GridPoint, vehicles: usize) -> VehicleGrid {
        let span = |a: f64, b: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "the city spans a few tens of km: a handful of cells"
            )]
            let n = ((b - a) / CELL_KM).ceil().max(1.0) as usize;
            n + 1
        };
        let cols = span(min.x, max.x);
        let rows = span(min.y, max.y);
        VehicleGrid {
            origin: min,
            cols,
            rows,
            cells: vec![Vec::new(); cols * rows],
            slot: vec![None; vehicles],
        }
    }

    /// The column or row of a coordinate, clamped to the grid.
    fn index(&self, v: f64, origin: f64, n: usize) -> usize {
        let i = ((v - origin) / CELL_KM).floor();
        if i <= 0.0 {
            0
        } else {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "positive and clamped below"
            )]
            let i = i as usize;
            i.min(n - 1)
        }
    }

    fn cell_of(&self, p: GridPoint) -> usize {
        let c = self.index(p.x, self.origin.x, self.cols);
        let r = self.index(p.y, self.origin.y, self.rows);
        r * self.cols + c
    }

    /// Whether a vehicle is in the grid.
    #[cfg(test)]
    pub fn contains(&self, vehicle: u32) -> bool {
        self.slot[vehicle as usize].is_some()
    }

    /// Puts a vehicle in the grid at `p` (moving it if it is already there).
    pub fn insert(&mut self, vehicle: u32, p: GridPoint) {
        self.remove(vehicle);
        let cell = self.cell_of(p);
        let list = &mut self.cells[cell];
        let pos = u32::try_from(list.len()).unwrap_or(u32::MAX);
        list.push(vehicle);
        self.slot[vehicle as usize] = Some((u32::try_from(cell).unwrap_or(u32::MAX), pos));
    }

    /// Takes a vehicle out of the grid (nothing happens if it is not in it).
    pub fn remove(&mut self, vehicle: u32) {
        let Some((cell, pos)) = self.slot[vehicle as usize].take() else {
            return;
        };
        let list = &mut self.cells[cell as usize];
        list.swap_remove(pos as usize);
        if let Some(&moved) = list.get(pos as usize) {
            self.slot[moved as usize] = Some((cell, pos));
        }
    }

    /// Calls `f` with every vehicle in a cell that comes within L1 distance `radius` of `p`. The
    /// vehicles are visited cell by cell in a fixed order, so the visit order is deterministic.
    pub fn for_each_near(&self, p: GridPoint, radius: f64, mut f: impl FnMut(u32)) {
        let c0 = self.index(p.x - radius, self.origin.x, self.cols);
        let c1 = self.index(p.x + radius, self.origin.x, self.cols);
        let r0 = self.index(p.y - radius, self.origin.y, self.rows);
        let r1 = self.index(p.y + radius, self.origin.y, self.rows);
        for r in r0..=r1 {
            let y0 = self.origin.y + r as f64 * CELL_KM;
            let dy = (y0 - p.y).max(p.y - (y0 + CELL_KM)).max(0.0);
            if dy > radius {
                continue;
            }
            for c in c0..=c1 {
                let x0 = self.origin.x + c as f64 * CELL_KM;
                let dx = (x0 - p.x).max(p.x - (x0 + CELL_KM)).max(0.0);
                // Border cells also hold the clamped points outside the grid: never skip them.
                let border = c == 0 || r == 0 || c == self.cols - 1 || r == self.rows - 1;
                if dx + dy > radius && !border {
                    continue;
                }
                for &v in &self.cells[r * self.cols + c] {
                    f(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_vehicle_keeps_the_others_findable() {
        let mut grid = VehicleGrid::new(
            GridPoint { x: 0.0, y: 0.0 },
            GridPoint { x: 10.0, y: 10.0 },
            3,
        );
        let p = GridPoint { x: 1.1, y: 1.1 };
        for v in 0..3 {
            grid.insert(v, p);
        }
        grid.remove(0);
        let mut found = Vec::new();
        grid.for_each_near(p, 0.1, |v| found.push(v));
        found.sort_unstable();
        assert_eq!(found, vec![1, 2]);
        assert!(!grid.contains(0));
    }

    #[test]
    fn a_far_vehicle_is_not_visited() {
        let mut grid = VehicleGrid::new(
            GridPoint { x: 0.0, y: 0.0 },
            GridPoint { x: 10.0, y: 10.0 },
            2,
        );
        grid.insert(0, GridPoint { x: 5.0, y: 5.0 });
        grid.insert(1, GridPoint { x: 5.2, y: 5.1 });
        let mut found = Vec::new();
        grid.for_each_near(GridPoint { x: 2.0, y: 2.0 }, 1.0, |v| found.push(v));
        assert!(found.is_empty());
        grid.for_each_near(GridPoint { x: 5.0, y: 5.0 }, 0.6, |v| found.push(v));
        found.sort_unstable();
        assert_eq!(found, vec![0, 1]);
    }
}
