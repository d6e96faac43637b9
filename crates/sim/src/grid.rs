//! The index of the vehicles that may take a request, updated incrementally as vehicles change
//! state, so a decision never scans the whole fleet; and the index of points by zone it is built on,
//! which policies also use for pending requests.
//!
//! A vehicle that stands still until it is free (idle, or carrying a passenger) is kept under the
//! zone where it becomes free (the zone of its travel times) with its position ([`ZonePoints`]). A
//! request skips every zone whose box is out of reach at that zone's speed, and checks the L1
//! distance of each vehicle of the others before anything else.
//!
//! A vehicle driving to a lot moves continuously and changes zones on the way: it is kept with the
//! box of its whole drive, and a query visits it if that box comes within the reach at the fastest
//! speed — so a vehicle a query does not visit cannot come within reach before it changes again
//! (arrives, or is diverted), which policies that remember a request's answer rely on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::instance::{GridPoint, Model, PICKUP_LIMIT_SECS};

/// A point and its id.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    x: f64,
    y: f64,
    /// A number kept with the point (for vehicles, when they are free).
    key: f64,
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

    /// Puts `id` at `p` in zone `zone` (moving it if it is already in), with a number `key` that
    /// [`ZonePoints::for_each_in_zone`] passes on.
    pub fn insert(&mut self, id: u32, zone: usize, p: GridPoint, key: f64) {
        self.remove(id);
        if self.slot.len() <= id as usize {
            self.slot.resize(id as usize + 1, None);
        }
        let z = &mut self.zones[zone];
        z.entries.push(Entry {
            id,
            x: p.x,
            y: p.y,
            key,
        });
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

    /// Appends `(distance, zone)` for every non-empty zone whose box is within L1 distance
    /// `reach(zone)` of `p`, the distance being from `p` to the box.
    pub fn zones_near(
        &self,
        p: GridPoint,
        mut reach: impl FnMut(usize) -> f64,
        out: &mut Vec<(f64, u32)>,
    ) {
        for (z, zone) in self.zones.iter().enumerate() {
            if zone.entries.is_empty() {
                continue;
            }
            let dx = (zone.lo.x - p.x).max(p.x - zone.hi.x).max(0.0);
            let dy = (zone.lo.y - p.y).max(p.y - zone.hi.y).max(0.0);
            if dx + dy <= reach(z) {
                out.push((dx + dy, index_u32(z)));
            }
        }
    }

    /// Calls `f` with every id of zone `zone` within L1 distance `reach` of `p`, its distance and
    /// its key.
    pub fn for_each_in_zone(
        &self,
        zone: usize,
        p: GridPoint,
        reach: f64,
        mut f: impl FnMut(u32, f64, f64),
    ) {
        for e in &self.zones[zone].entries {
            let d = (e.x - p.x).abs() + (e.y - p.y).abs();
            if d <= reach {
                f(e.id, d, e.key);
            }
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

/// A vehicle driving to a lot and a box containing the rest of its drive.
#[derive(Debug, Clone, Copy)]
struct Moving {
    vehicle: u32,
    lo: GridPoint,
    hi: GridPoint,
}

/// A still vehicle that is not in reach of any pickup yet.
#[derive(Debug, Clone, Copy)]
struct Later {
    zone: u32,
    p: GridPoint,
    free_at: f64,
}

/// The eligible vehicles.
#[derive(Debug, Clone)]
pub struct VehicleIndex {
    /// Vehicles standing still until they are free and free within 300 s, per zone of where they
    /// become free.
    still: ZonePoints,
    /// Vehicles standing still that are busy for more than 300 s: no request can take them yet.
    later: Vec<Option<Later>>,
    /// When each later vehicle is due in `still` (its free time − 300 s), earliest first; entries
    /// of vehicles that changed since are skipped.
    due: BinaryHeap<Reverse<(u64, u32)>>,
    /// The time of the last [`VehicleIndex::promote_due`].
    promoted_at: f64,
    /// Vehicles driving to a lot.
    moving: Vec<Moving>,
    /// Per vehicle, its position in `moving`.
    moving_slot: Vec<Option<u32>>,
}

impl VehicleIndex {
    /// An empty index for `vehicles` vehicles of `model`'s city.
    pub fn new(model: &Model, vehicles: usize) -> VehicleIndex {
        VehicleIndex {
            still: ZonePoints::new(model.centroids.len(), vehicles),
            later: vec![None; vehicles],
            due: BinaryHeap::new(),
            promoted_at: f64::NEG_INFINITY,
            moving: Vec::new(),
            moving_slot: vec![None; vehicles],
        }
    }

    /// Whether a vehicle is in the index.
    #[cfg(test)]
    pub fn contains(&self, vehicle: u32) -> bool {
        self.still.contains(vehicle)
            || self.later[vehicle as usize].is_some()
            || self.moving_slot[vehicle as usize].is_some()
    }

    /// Puts a vehicle that stays at `p` in zone `zone` until it is free (at `free_at`) in the
    /// index (moving it if it is already indexed).
    ///
    /// It is visible to queries from the first [`VehicleIndex::promote_due`] at or after 300 s
    /// before it is free (until then it cannot reach any pickup within 300 s).
    pub fn insert(&mut self, vehicle: u32, zone: usize, p: GridPoint, free_at: f64) {
        self.remove(vehicle);
        let due = free_at - PICKUP_LIMIT_SECS;
        self.later[vehicle as usize] = Some(Later {
            zone: index_u32(zone),
            p,
            free_at,
        });
        self.due.push(Reverse((time_key(due), vehicle)));
    }

    /// Makes the still vehicles due by `now` visible to queries, and appends to `woken` those that
    /// became due since the previous call (those inserted since were reported when inserted).
    pub fn promote_due(&mut self, now: f64, woken: &mut Vec<u32>) {
        let limit = time_key(now);
        while let Some(&Reverse((key, v))) = self.due.peek() {
            if key > limit {
                break;
            }
            self.due.pop();
            let Some(later) = self.later[v as usize] else {
                continue;
            };
            if time_key(later.free_at - PICKUP_LIMIT_SECS) != key {
                continue; // re-inserted since, with another time
            }
            self.later[v as usize] = None;
            self.still
                .insert(v, later.zone as usize, later.p, later.free_at);
            if later.free_at - PICKUP_LIMIT_SECS > self.promoted_at {
                woken.push(v);
            }
        }
        self.promoted_at = now;
    }

    /// Puts a vehicle driving in a straight line from `from` to `to` in the index.
    pub fn insert_moving(&mut self, vehicle: u32, from: GridPoint, to: GridPoint) {
        self.remove(vehicle);
        self.moving.push(Moving {
            vehicle,
            lo: GridPoint {
                x: from.x.min(to.x),
                y: from.y.min(to.y),
            },
            hi: GridPoint {
                x: from.x.max(to.x),
                y: from.y.max(to.y),
            },
        });
        self.moving_slot[vehicle as usize] = Some(index_u32(self.moving.len() - 1));
    }

    /// Takes a vehicle out of the index (nothing happens if it is not in it).
    pub fn remove(&mut self, vehicle: u32) {
        self.still.remove(vehicle);
        self.later[vehicle as usize] = None;
        let Some(at) = self.moving_slot[vehicle as usize].take() else {
            return;
        };
        self.moving.swap_remove(at as usize);
        if let Some(moved) = self.moving.get(at as usize) {
            self.moving_slot[moved.vehicle as usize] = Some(at);
        }
    }

    /// Calls `f` with every moving vehicle whose drive comes within L1 distance `reach` of `p`.
    pub fn for_each_moving_near(&self, p: GridPoint, reach: f64, mut f: impl FnMut(u32)) {
        for m in &self.moving {
            let dx = (m.lo.x - p.x).max(p.x - m.hi.x).max(0.0);
            let dy = (m.lo.y - p.y).max(p.y - m.hi.y).max(0.0);
            if dx + dy <= reach {
                f(m.vehicle);
            }
        }
    }

    /// The zones with still vehicles whose box is within `secs` seconds of `p` at that zone's
    /// speed, with the distance to the box (see [`ZonePoints::zones_near`]).
    pub fn still_zones_near(
        &self,
        p: GridPoint,
        secs: f64,
        speeds: &[f64],
        max_speed: f64,
        out: &mut Vec<(f64, u32)>,
    ) {
        self.still.zones_near(
            p,
            |z| secs * speeds.get(z).copied().unwrap_or(max_speed),
            out,
        );
    }

    /// Calls `f` with every still vehicle of zone `zone` within L1 distance `reach` of `p`, its
    /// distance and when it is free.
    pub fn for_each_still_in_zone(
        &self,
        zone: usize,
        p: GridPoint,
        reach: f64,
        f: impl FnMut(u32, f64, f64),
    ) {
        self.still.for_each_in_zone(zone, p, reach, f);
    }

    /// Calls `f` with every vehicle that may be, now or until it changes, within `secs` seconds of
    /// `p` at the speeds `speeds` (km/s, per zone of departure; `max_speed` at least the highest of
    /// them): the still vehicles within the reach of their zone's speed, and the moving ones whose
    /// drive comes within the reach at `max_speed`. The visit order is deterministic.
    pub fn for_each_near(
        &self,
        p: GridPoint,
        secs: f64,
        speeds: &[f64],
        max_speed: f64,
        mut f: impl FnMut(u32),
    ) {
        let reach = secs * max_speed;
        for m in &self.moving {
            let dx = (m.lo.x - p.x).max(p.x - m.hi.x).max(0.0);
            let dy = (m.lo.y - p.y).max(p.y - m.hi.y).max(0.0);
            if dx + dy <= reach {
                f(m.vehicle);
            }
        }
        self.still
            .for_each_near(p, |z| secs * speeds.get(z).copied().unwrap_or(max_speed), f);
    }
}

/// A key of a simulated time that orders like the time (times are non-negative or slightly
/// negative; negatives order first).
fn time_key(t: f64) -> u64 {
    let bits = t.to_bits();
    if t.is_sign_negative() {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
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
        index.for_each_near(p, 100.0, &speeds, km / 100.0, |v| found.push(v));
        found.sort_unstable();
        found
    }

    #[test]
    fn removing_a_vehicle_keeps_the_others_findable() {
        let model = Model::manhattan();
        let mut index = VehicleIndex::new(&model, 3);
        let p = centre(&model);
        for v in 0..3 {
            index.insert(v, model.zone_of(p).index(), p, 0.0);
        }
        index.remove(0);
        index.promote_due(0.0, &mut Vec::new());
        assert_eq!(near(&index, &model, p, 0.1), vec![1, 2]);
        assert!(!index.contains(0));
    }

    #[test]
    fn a_vehicle_out_of_reach_is_not_visited() {
        let model = Model::manhattan();
        let mut index = VehicleIndex::new(&model, 3);
        let p = centre(&model);
        for (v, dx) in [(0, 4.0), (1, 0.5)] {
            let q = GridPoint { x: p.x + dx, ..p };
            index.insert(v, model.zone_of(q).index(), q, 0.0);
        }
        // A drive passing by within reach is visited even though it starts and ends out of it.
        let (a, b) = (
            GridPoint { x: p.x - 3.0, ..p },
            GridPoint { x: p.x + 3.0, ..p },
        );
        index.insert_moving(2, a, b);
        index.promote_due(0.0, &mut Vec::new());
        assert_eq!(near(&index, &model, p, 1.0), vec![1, 2]);
        index.insert_moving(2, a, GridPoint { x: p.x - 2.0, ..p });
        assert_eq!(near(&index, &model, p, 1.0), vec![1]);
    }

    /// A vehicle busy for more than 300 s is invisible until 300 s before it is free, and is
    /// reported woken then unless it was inserted since the previous promotion.
    #[test]
    fn a_busy_vehicle_shows_up_300_s_before_it_is_free() {
        let model = Model::manhattan();
        let mut index = VehicleIndex::new(&model, 3);
        let p = centre(&model);
        let zone = model.zone_of(p).index();
        index.insert(0, zone, p, 1000.0);
        index.insert(1, zone, p, 100.0);
        let mut woken = Vec::new();
        index.promote_due(0.0, &mut woken);
        assert_eq!(near(&index, &model, p, 0.1), vec![1]);
        assert_eq!(woken, vec![1]);
        woken.clear();
        // Re-inserted with a later free time: the first due time no longer counts.
        index.insert(0, zone, p, 1200.0);
        index.promote_due(750.0, &mut woken);
        assert_eq!(near(&index, &model, p, 0.1), vec![1]);
        assert!(woken.is_empty());
        index.promote_due(900.0, &mut woken);
        assert_eq!(near(&index, &model, p, 0.1), vec![0, 1]);
        assert_eq!(woken, vec![0]);
        // Inserted at 950, due at once: reported as inserted, not again.
        index.insert(2, zone, p, 1100.0);
        woken.clear();
        index.promote_due(960.0, &mut woken);
        assert_eq!(near(&index, &model, p, 0.1), vec![0, 1, 2]);
        assert!(woken.is_empty());
    }

    /// Every vehicle within reach at the speed of its zone is visited, inside and outside the
    /// city's rectangle, still or anywhere on its drive, and a vehicle is visited at most once:
    /// checked against a scan of all of them.
    #[test]
    fn every_vehicle_in_reach_is_visited_once() {
        let model = Model::manhattan();
        let mut rng = Pcg64::seed_from_u64(7);
        let n = 400u32;
        let mut index = VehicleIndex::new(&model, n as usize);
        // Per vehicle: still at a point, or driving between two points.
        let mut at: Vec<Option<(GridPoint, Option<GridPoint>)>> = vec![None; n as usize];
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
                        index.insert(v, model.zone_of(p).index(), p, 0.0);
                        at[v as usize] = Some((p, None));
                    }
                    1 => {
                        let to = point(&mut rng);
                        index.insert_moving(v, p, to);
                        at[v as usize] = Some((p, Some(to)));
                    }
                    _ => {
                        index.remove(v);
                        at[v as usize] = None;
                    }
                }
            }
            index.promote_due(0.0, &mut Vec::new());
            let q = point(&mut rng);
            let to = model.zone_of(q);
            let t = f64::from(round) * 400.0;
            let (speeds, max_speed) = (model.reach_speeds(to, t), model.reach_speed_any(to, t));
            let mut seen = vec![0u32; n as usize];
            index.for_each_near(q, 300.0, speeds, max_speed, |v| seen[v as usize] += 1);
            for v in 0..n as usize {
                assert!(seen[v] <= 1, "vehicle {v} visited twice");
                let must = match at[v] {
                    None => {
                        assert_eq!(seen[v], 0, "vehicle {v} is not indexed");
                        false
                    }
                    Some((p, None)) => p.l1(q) <= 300.0 * speeds[model.zone_of(p).index()],
                    // Some point of the drive within reach at the fastest speed.
                    Some((a, Some(b))) => (0..=100).any(|k| {
                        let f = f64::from(k) / 100.0;
                        let p = GridPoint {
                            x: a.x + f * (b.x - a.x),
                            y: a.y + f * (b.y - a.y),
                        };
                        p.l1(q) <= 300.0 * max_speed
                    }),
                };
                if must {
                    assert_eq!(seen[v], 1, "vehicle {v} at {:?} missed from {q:?}", at[v]);
                }
            }
        }
    }
}
