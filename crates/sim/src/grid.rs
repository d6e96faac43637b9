//! The index of the vehicles that may take a request, bucketed by the zone where each becomes free
//! (the travel-time model's zone), with a bounding box per bucket. Updated incrementally as vehicles
//! change state, so a decision never scans the whole fleet: a request looks only into the zones
//! whose bucket lies within the distance a vehicle of that zone can cover in 300 s.

use crate::instance::GridPoint;

/// The zone buckets of eligible vehicles.
#[derive(Debug, Clone)]
pub struct VehicleIndex {
    /// Vehicles per zone.
    buckets: Vec<Vec<u32>>,
    /// Per zone, a box containing every point ever inserted into its bucket (it only grows, so it
    /// always contains the current vehicles).
    boxes: Vec<(GridPoint, GridPoint)>,
    /// Vehicles driving to a lot (they may be anywhere between two points): visited by every
    /// query. Stored as the bucket after the zones' buckets.
    /// Per vehicle, its bucket (a zone, or `buckets.len() - 1` for the moving ones) and position
    /// in it, if it is in the index.
    slot: Vec<Option<(u32, u32)>>,
}

impl VehicleIndex {
    /// An empty index of `zones` zones for `vehicles` vehicles.
    pub fn new(zones: usize, vehicles: usize) -> VehicleIndex {
        let empty = (
            GridPoint {
                x: f64::INFINITY,
                y: f64::INFINITY,
            },
            GridPoint {
                x: f64::NEG_INFINITY,
                y: f64::NEG_INFINITY,
            },
        );
        VehicleIndex {
            buckets: vec![Vec::new(); zones + 1],
            boxes: vec![empty; zones],
            slot: vec![None; vehicles],
        }
    }

    /// Whether a vehicle is in the index.
    #[cfg(test)]
    pub fn contains(&self, vehicle: u32) -> bool {
        self.slot[vehicle as usize].is_some()
    }

    /// Puts a vehicle in zone `zone`'s bucket at `p` (moving it if it is already indexed).
    pub fn insert(&mut self, vehicle: u32, zone: usize, p: GridPoint) {
        self.remove(vehicle);
        let list = &mut self.buckets[zone];
        let pos = u32::try_from(list.len()).unwrap_or(u32::MAX);
        list.push(vehicle);
        self.grow(zone, p);
        self.slot[vehicle as usize] = Some((u32::try_from(zone).unwrap_or(u32::MAX), pos));
    }

    /// Puts a vehicle that is on the move (driving to a lot) in the index: every query visits it.
    pub fn insert_moving(&mut self, vehicle: u32) {
        self.remove(vehicle);
        let moving = self.buckets.len() - 1;
        let list = &mut self.buckets[moving];
        let pos = u32::try_from(list.len()).unwrap_or(u32::MAX);
        list.push(vehicle);
        self.slot[vehicle as usize] = Some((u32::try_from(moving).unwrap_or(u32::MAX), pos));
    }

    /// Grows zone `zone`'s box to contain `p`.
    fn grow(&mut self, zone: usize, p: GridPoint) {
        let b = &mut self.boxes[zone];
        b.0.x = b.0.x.min(p.x);
        b.0.y = b.0.y.min(p.y);
        b.1.x = b.1.x.max(p.x);
        b.1.y = b.1.y.max(p.y);
    }

    /// Takes a vehicle out of the index (nothing happens if it is not in it).
    pub fn remove(&mut self, vehicle: u32) {
        let Some((zone, pos)) = self.slot[vehicle as usize].take() else {
            return;
        };
        let list = &mut self.buckets[zone as usize];
        list.swap_remove(pos as usize);
        if let Some(&moved) = list.get(pos as usize) {
            self.slot[moved as usize] = Some((zone, pos));
        }
    }

    /// Calls `f` with every vehicle of every zone `z` whose bucket's box comes within L1 distance
    /// `reach(z)` of `p`, and with every moving vehicle. Zones are visited in order and buckets in
    /// their stored order, so the visit order is deterministic.
    pub fn for_each_near(
        &self,
        p: GridPoint,
        mut reach: impl FnMut(usize) -> f64,
        mut f: impl FnMut(u32),
    ) {
        let (zones, moving) = self.buckets.split_at(self.buckets.len() - 1);
        for &v in moving.iter().flatten() {
            f(v);
        }
        for (z, list) in zones.iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let (lo, hi) = self.boxes[z];
            let dx = (lo.x - p.x).max(p.x - hi.x).max(0.0);
            let dy = (lo.y - p.y).max(p.y - hi.y).max(0.0);
            if dx + dy > reach(z) {
                continue;
            }
            for &v in list {
                f(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_vehicle_keeps_the_others_findable() {
        let mut index = VehicleIndex::new(2, 3);
        let p = GridPoint { x: 1.1, y: 1.1 };
        for v in 0..3 {
            index.insert(v, 1, p);
        }
        index.remove(0);
        let mut found = Vec::new();
        index.for_each_near(p, |_| 0.1, |v| found.push(v));
        found.sort_unstable();
        assert_eq!(found, vec![1, 2]);
        assert!(!index.contains(0));
    }

    #[test]
    fn a_zone_out_of_reach_is_not_visited() {
        let mut index = VehicleIndex::new(2, 2);
        index.insert(0, 0, GridPoint { x: 5.0, y: 5.0 });
        index.insert(1, 1, GridPoint { x: 1.0, y: 1.0 });
        let mut found = Vec::new();
        index.for_each_near(GridPoint { x: 1.5, y: 1.0 }, |_| 1.0, |v| found.push(v));
        assert_eq!(found, vec![1]);
    }
}
