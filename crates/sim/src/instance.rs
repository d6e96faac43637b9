//! Instance classes and the generation of one simulated day: the requests and where the fleet starts,
//! drawn from the Manhattan demand table exactly as the pyhailing environment describes it.

use std::fmt;
use std::str::FromStr;

use doorstep_geo::{City, MAX_SPEED_KMPS, MIN_SPEED_KMPS, Utm, ZoneIdx};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::Serialize;

/// Seconds in a simulated day.
pub const DAY_SECS: f64 = 86_400.0;
/// The pickup limit: a request must be assigned within this many seconds of its release, and the
/// assigned vehicle must be able to reach the pickup within this many seconds of the decision.
pub const PICKUP_LIMIT_SECS: f64 = 300.0;
/// The speed clock runs this far ahead of simulated time (pyhailing's speed clock is simulated time
/// plus 3 h, one hour off its demand clock).
pub const SPEED_CLOCK_OFFSET_SECS: f64 = 10_800.0;
/// The demand clock is shifted by this many 15-minute windows: simulated time 0 is 02:00.
pub const DEMAND_WINDOW_SHIFT: u8 = 8;
/// Fixed revenue of a served request, dollars.
pub const BASE_FARE: f64 = 10.75;
/// Revenue per km of a served request's L1 trip distance, dollars.
pub const FARE_PER_KM: f64 = 4.02;
/// Cost of every km driven, dollars.
pub const COST_PER_KM: f64 = 0.53;

/// The instance classes of the DIMACS ride-hailing track, plus `XL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum InstanceClass {
    /// 14 vehicles, 1,400 requests a day.
    Sui,
    /// 100 vehicles, 10,000 requests a day.
    Mui,
    /// 500 vehicles, 50,000 requests a day.
    Lui,
    /// As `Lui`, with a 10-second limit per decision (which every policy here meets by far).
    Lti,
    /// 10,000 vehicles, 1,000,000 requests a day.
    Xl,
}

impl InstanceClass {
    /// Number of vehicles.
    pub fn vehicles(self) -> usize {
        match self {
            InstanceClass::Sui => 14,
            InstanceClass::Mui => 100,
            InstanceClass::Lui | InstanceClass::Lti => 500,
            InstanceClass::Xl => 10_000,
        }
    }

    /// Number of requests in a day.
    pub fn requests(self) -> usize {
        match self {
            InstanceClass::Sui => 1_400,
            InstanceClass::Mui => 10_000,
            InstanceClass::Lui | InstanceClass::Lti => 50_000,
            InstanceClass::Xl => 1_000_000,
        }
    }

    /// The limit on one decision's computing time, if the class has one.
    pub fn decision_limit_secs(self) -> Option<f64> {
        match self {
            InstanceClass::Lti => Some(10.0),
            InstanceClass::Sui | InstanceClass::Mui | InstanceClass::Lui | InstanceClass::Xl => {
                None
            }
        }
    }

    /// The class's name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            InstanceClass::Sui => "SUI",
            InstanceClass::Mui => "MUI",
            InstanceClass::Lui => "LUI",
            InstanceClass::Lti => "LTI",
            InstanceClass::Xl => "XL",
        }
    }
}

impl fmt::Display for InstanceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An instance class name that is not one of `SUI`, `MUI`, `LUI`, `LTI`, `XL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown instance class {0:?} (expected SUI, MUI, LUI, LTI or XL)")]
pub struct UnknownClass(pub String);

impl FromStr for InstanceClass {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "SUI" => Ok(InstanceClass::Sui),
            "MUI" => Ok(InstanceClass::Mui),
            "LUI" => Ok(InstanceClass::Lui),
            "LTI" => Ok(InstanceClass::Lti),
            "XL" => Ok(InstanceClass::Xl),
            _ => Err(UnknownClass(s.to_owned())),
        }
    }
}

/// A point in the street-grid frame (UTM 18N km rotated 29° about the centre of the zones), where the
/// L1 distance is the travel distance of the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GridPoint {
    /// Along the rotated x axis, km.
    pub x: f64,
    /// Along the rotated y axis, km.
    pub y: f64,
}

impl GridPoint {
    /// The L1 distance to another point, km.
    pub fn l1(self, other: GridPoint) -> f64 {
        (self.x - other.x).abs() + (self.y - other.y).abs()
    }
}

/// One ride request of a simulated day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Request {
    /// Index in the day's requests (which are ordered by release time).
    pub id: u32,
    /// Simulated second at which the request appears.
    pub release: f64,
    /// Pickup point.
    pub origin: GridPoint,
    /// Drop-off point.
    pub dest: GridPoint,
    /// Zone of the pickup point for the travel-time model (nearest centroid).
    pub origin_zone: ZoneIdx,
    /// Zone of the drop-off point for the travel-time model (nearest centroid).
    pub dest_zone: ZoneIdx,
    /// L1 trip distance, km.
    pub trip_km: f64,
    /// The actual ride time in seconds, drawn when the request is generated. Policies must not
    /// read it (the environment does not reveal it); they estimate it from the mean speed.
    pub ride_secs: f64,
    /// Revenue if served: `BASE_FARE + FARE_PER_KM * trip_km`.
    pub revenue: f64,
}

/// A parking lot in the street-grid frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LotPoint {
    /// Where it is.
    pub pos: GridPoint,
    /// Its zone for the travel-time model (nearest centroid).
    pub zone: ZoneIdx,
}

/// The model of the city as the simulator and the policies see it: the city data plus precomputed
/// rotated geometry and speed bounds.
#[derive(Debug, Clone)]
pub struct Model {
    /// The city (zones, speeds, lots, demand).
    pub city: &'static City,
    /// Zone centroids in the street-grid frame, for nearest-centroid lookups.
    pub centroids: Vec<GridPoint>,
    /// Lots in the street-grid frame, in the order of [`City::lots`].
    pub lots: Vec<LotPoint>,
    /// South-west corner of the area the grid index covers (street-grid frame).
    pub min: GridPoint,
    /// North-east corner of the area the grid index covers (street-grid frame).
    pub max: GridPoint,
    /// Per destination zone, the highest mean speed from any zone in any window, km/s.
    vmax_to_any: Vec<f64>,
    /// The highest mean speed of the data, km/s.
    vmax: f64,
    /// Mean speeds, km/s, by `(from * zones + to) * 96 + window` (the speed clock's window).
    mean: Vec<f64>,
    /// Per `(to * 96 + window) * zones + from`, the highest mean speed from `from` to `to` in that
    /// window and the next two.
    reach_speed: Vec<f64>,
    /// Per `to * 96 + window`, the highest of those over all `from`.
    reach_any: Vec<f64>,
    /// The zone lookup: per cell of a [`ZONE_CELL_KM`] grid over `min`–`max`, the zones whose
    /// centroid may be the nearest to a point of the cell, in zone order.
    zone_cells: Vec<Vec<u8>>,
    zone_cols: usize,
    zone_rows: usize,
}

/// Side of a cell of the zone lookup, km.
const ZONE_CELL_KM: f64 = 0.25;

impl Model {
    /// The model of Manhattan.
    pub fn manhattan() -> Model {
        Model::new(City::manhattan())
    }

    /// The model of a city.
    pub fn new(city: &'static City) -> Model {
        let zones = city.zones();
        let grid = |p: Utm| {
            let q = city.to_street_grid(p);
            GridPoint { x: q.x, y: q.y }
        };
        let centroids: Vec<GridPoint> = zones.iter().map(|z| grid(z.centroid)).collect();
        let mut min = GridPoint {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut max = GridPoint {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        for p in zones.iter().flat_map(|z| z.polygon.iter()) {
            let q = grid(*p);
            min = GridPoint {
                x: min.x.min(q.x),
                y: min.y.min(q.y),
            };
            max = GridPoint {
                x: max.x.max(q.x),
                y: max.y.max(q.y),
            };
        }
        let n = zones.len();
        let mut vmax_to_any = vec![0.0f64; n];
        let mut mean = vec![0.0f64; n * n * 96];
        let mut reach_speed = vec![0.0f64; n * n * 96];
        let mut reach_any = vec![0.0f64; n * 96];
        for to in 0..n {
            for from in 0..n {
                for w in 0..96u32 {
                    let s = city.speed(zone(from), zone(to), w * 900).mean_kmps;
                    let next = city
                        .speed(zone(from), zone(to), ((w + 1) % 96) * 900)
                        .mean_kmps
                        .max(
                            city.speed(zone(from), zone(to), ((w + 2) % 96) * 900)
                                .mean_kmps,
                        );
                    mean[(from * n + to) * 96 + w as usize] = s;
                    reach_speed[(to * 96 + w as usize) * n + from] = s.max(next);
                    let any = &mut reach_any[to * 96 + w as usize];
                    *any = any.max(s.max(next));
                    vmax_to_any[to] = vmax_to_any[to].max(s);
                }
            }
        }
        let mut model = Model {
            city,
            centroids,
            lots: Vec::new(),
            min,
            max,
            vmax: vmax_to_any.iter().copied().fold(0.0, f64::max),
            vmax_to_any,
            mean,
            reach_speed,
            reach_any,
            zone_cells: Vec::new(),
            zone_cols: 0,
            zone_rows: 0,
        };
        model.index_zones();
        model.lots = city
            .lots()
            .iter()
            .map(|lot| {
                let pos = grid(lot.pos);
                LotPoint {
                    pos,
                    zone: model.zone_of(pos),
                }
            })
            .collect();
        model
    }

    /// Builds the zone lookup: for each cell, the centroids that can be nearest to one of its
    /// points ([`Model::zones_near`]).
    fn index_zones(&mut self) {
        let span = |lo: f64, hi: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a city spans a few hundred cells per axis"
            )]
            let n = ((hi - lo) / ZONE_CELL_KM).ceil().clamp(1.0, 4096.0) as usize;
            n
        };
        self.zone_cols = span(self.min.x, self.max.x);
        self.zone_rows = span(self.min.y, self.max.y);
        let half_diagonal = ZONE_CELL_KM * std::f64::consts::FRAC_1_SQRT_2;
        let mut cells = Vec::with_capacity(self.zone_cols * self.zone_rows);
        for row in 0..self.zone_rows {
            for col in 0..self.zone_cols {
                let centre = GridPoint {
                    x: self.min.x + (col as f64 + 0.5) * ZONE_CELL_KM,
                    y: self.min.y + (row as f64 + 0.5) * ZONE_CELL_KM,
                };
                cells.push(self.zones_near(centre, half_diagonal));
            }
        }
        self.zone_cells = cells;
    }

    /// The zone with the nearest centroid (Euclidean distance is unchanged by the rotation; ties
    /// go to the first zone).
    pub fn zone_of(&self, p: GridPoint) -> ZoneIdx {
        let cell = |offset: f64, n: usize| {
            let i = (offset / ZONE_CELL_KM).floor();
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked to be within 0..n"
            )]
            let i = (i >= 0.0 && i < n as f64).then_some(i as usize);
            i
        };
        let candidates = match (
            cell(p.x - self.min.x, self.zone_cols),
            cell(p.y - self.min.y, self.zone_rows),
        ) {
            (Some(col), Some(row)) => self.zone_cells.get(row * self.zone_cols + col),
            _ => None,
        };
        let mut best = (f64::INFINITY, 0usize);
        let mut consider = |i: usize, c: &GridPoint| {
            let d = (c.x - p.x).powi(2) + (c.y - p.y).powi(2);
            if d < best.0 {
                best = (d, i);
            }
        };
        match candidates {
            Some(zones) if !zones.is_empty() => {
                for &i in zones {
                    consider(usize::from(i), &self.centroids[usize::from(i)]);
                }
            }
            _ => {
                for (i, c) in self.centroids.iter().enumerate() {
                    consider(i, c);
                }
            }
        }
        zone(best.1)
    }

    /// Mean and standard deviation of the speed (km/s) from one zone to another for a drive that
    /// starts at simulated time `sim_secs` (the speed clock is simulated time + 3 h).
    pub fn speed(&self, from: ZoneIdx, to: ZoneIdx, sim_secs: f64) -> (f64, f64) {
        let s = self.city.speed(from, to, speed_clock(sim_secs));
        (s.mean_kmps, s.stddev_kmps)
    }

    /// Mean travel time in seconds of `km` from zone `from` to zone `to` starting at `sim_secs`:
    /// what feasibility checks use.
    pub fn mean_secs(&self, km: f64, from: ZoneIdx, to: ZoneIdx, sim_secs: f64) -> f64 {
        if km <= 0.0 {
            return 0.0;
        }
        let n = self.centroids.len();
        let w = speed_clock(sim_secs) as usize / 900;
        km / self.mean[(from.index() * n + to.index()) * 96 + w]
    }

    /// An upper bound on the mean speed (km/s) from any zone to zone `to` of a drive starting
    /// between `sim_secs` and `sim_secs + 600` (the windows involved): 300 s × this bounds the reach
    /// of every vehicle that is or may become (as its wait shrinks) feasible for a pickup in `to`
    /// during a request's remaining life.
    pub fn reach_speed_any(&self, to: ZoneIdx, sim_secs: f64) -> f64 {
        let w = speed_clock(sim_secs) as usize / 900;
        self.reach_any[to.index() * 96 + w]
    }

    /// As [`Model::reach_speed_any`], per zone of departure (indexed by zone).
    pub fn reach_speeds(&self, to: ZoneIdx, sim_secs: f64) -> &[f64] {
        let n = self.centroids.len();
        let w = speed_clock(sim_secs) as usize / 900;
        let start = (to.index() * 96 + w) * n;
        &self.reach_speed[start..start + n]
    }

    /// The zones (in zone order) whose centroid may be the nearest to some point of the square of
    /// centre `centre` and half-diagonal `half_diagonal`: those within (distance from the centre to
    /// its nearest centroid) + 2 × `half_diagonal` of the centre, by the triangle inequality.
    pub fn zones_near(&self, centre: GridPoint, half_diagonal: f64) -> Vec<u8> {
        let dist = |c: &GridPoint| ((c.x - centre.x).powi(2) + (c.y - centre.y).powi(2)).sqrt();
        let nearest = self
            .centroids
            .iter()
            .map(dist)
            .fold(f64::INFINITY, f64::min);
        let limit = nearest + 2.0 * half_diagonal + 1e-9;
        self.centroids
            .iter()
            .enumerate()
            .filter(|(_, c)| dist(c) <= limit)
            .filter_map(|(i, _)| u8::try_from(i).ok())
            .collect()
    }

    /// An actual travel time in seconds: the speed drawn from Normal(mean, stddev) clipped to
    /// 1–60 mph. Always consumes two uniforms of `rng`, even for a zero distance.
    pub fn sample_secs(
        &self,
        km: f64,
        from: ZoneIdx,
        to: ZoneIdx,
        sim_secs: f64,
        rng: &mut impl Rng,
    ) -> f64 {
        let (mean, sd) = self.speed(from, to, sim_secs);
        let drawn = (mean + sd * standard_normal(rng)).clamp(MIN_SPEED_KMPS, MAX_SPEED_KMPS);
        if km <= 0.0 { 0.0 } else { km / drawn }
    }

    /// The highest mean speed (km/s) of the data, between any zones in any window.
    pub fn max_mean_speed(&self) -> f64 {
        self.vmax
    }

    /// The highest mean speed (km/s) into zone `to` from any zone in any window.
    pub fn max_speed_into_any_time(&self, to: ZoneIdx) -> f64 {
        self.vmax_to_any[to.index()]
    }
}

/// The second of the speed clock's day at simulated time `sim_secs`.
fn speed_clock(sim_secs: f64) -> u32 {
    // Truncation to whole seconds is what picks the 15-minute window; times are non-negative.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "simulated times are finite, non-negative and far below u32::MAX"
    )]
    let secs = (sim_secs.max(0.0) + SPEED_CLOCK_OFFSET_SECS) as u64 % 86_400;
    u32::try_from(secs).unwrap_or(0)
}

/// A zone index from a position in the zone order (callers pass `< 256`).
fn zone(i: usize) -> ZoneIdx {
    ZoneIdx(u8::try_from(i).unwrap_or(u8::MAX))
}

/// A standard normal variate by the Box–Muller transform (two uniforms per call).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// One simulated day: its weekday, its requests in release order, and the fleet's starting lots.
#[derive(Debug, Clone)]
pub struct Day {
    /// The instance class.
    pub class: InstanceClass,
    /// The seed the day was drawn from.
    pub seed: u64,
    /// The weekday drawn (0 = Monday … 4 = Friday).
    pub weekday: u8,
    /// The requests, ordered by release time (ties by generation order); `requests[i].id == i`.
    pub requests: Vec<Request>,
    /// Per vehicle, the index in [`Model::lots`] of the lot where it starts.
    pub start_lots: Vec<usize>,
    /// The seed of the random stream used while the day runs (actual drive times).
    pub run_seed: u64,
}

impl Day {
    /// Draws a day of `class` from `seed`, with its own random stream (the same seed always gives
    /// the same day):
    ///
    /// 1. a weekday with probability proportional to its trips;
    /// 2. `R` (window, pickup zone, drop-off zone) rows with replacement, proportional to their trips;
    ///    the release time is uniform in window `(window − 8) mod 96` of the simulated day;
    /// 3. origin and destination uniform in the zones (by area over the convex hull's triangles), the
    ///    actual ride time from a speed drawn for the release time;
    /// 4. each vehicle's starting lot: a zone with probability proportional to the drop-offs of the
    ///    drawn weekday in the two hours before simulated time 0 (00:00–02:00, windows 0–7), then a lot
    ///    of that zone uniformly (zones without a lot are skipped).
    pub fn generate(model: &Model, class: InstanceClass, seed: u64) -> Day {
        let mut rng = Pcg64::seed_from_u64(seed);
        let city = model.city;
        let demand = city.demand();
        let weekday = demand.sample_weekday(&mut rng);
        let mut cumulative = Vec::with_capacity(96);
        let mut sum = 0u64;
        for w in 0..96u8 {
            sum += u64::from(demand.trips_in_window(weekday, w));
            cumulative.push(sum);
        }
        let grid = |p: Utm| {
            let q = city.to_street_grid(p);
            GridPoint { x: q.x, y: q.y }
        };
        let mut requests = Vec::with_capacity(class.requests());
        for _ in 0..class.requests() {
            let ticket = rng.random_range(0..sum.max(1));
            let w = cumulative.partition_point(|&c| c <= ticket).min(95);
            let window = u8::try_from(w).unwrap_or(0);
            let (pickup, dropoff) = demand.sample_pair(weekday, window, &mut rng);
            let shifted = (u32::from(window) + 96 - u32::from(DEMAND_WINDOW_SHIFT)) % 96;
            let release = f64::from(shifted) * 900.0 + rng.random::<f64>() * 900.0;
            let origin = grid(city.random_point_in_zone(pickup, &mut rng));
            let dest = grid(city.random_point_in_zone(dropoff, &mut rng));
            let origin_zone = model.zone_of(origin);
            let dest_zone = model.zone_of(dest);
            let trip_km = origin.l1(dest);
            let ride_secs = model.sample_secs(trip_km, origin_zone, dest_zone, release, &mut rng);
            requests.push(Request {
                id: 0,
                release,
                origin,
                dest,
                origin_zone,
                dest_zone,
                trip_km,
                ride_secs,
                revenue: BASE_FARE + FARE_PER_KM * trip_km,
            });
        }
        requests.sort_by(|a, b| a.release.total_cmp(&b.release));
        for (i, r) in requests.iter_mut().enumerate() {
            r.id = u32::try_from(i).unwrap_or(u32::MAX);
        }

        // Starting lots by early-morning drop-off share.
        let n = city.zones().len();
        let mut dropoffs = vec![0u64; n];
        for w in 0..DEMAND_WINDOW_SHIFT {
            for row in demand.rows(weekday, w) {
                dropoffs[row.dropoff.index()] += u64::from(row.trips);
            }
        }
        let mut lots_of_zone: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, lot) in city.lots().iter().enumerate() {
            lots_of_zone[lot.zone.index()].push(i);
        }
        let weights: Vec<u64> = (0..n)
            .map(|z| {
                if lots_of_zone[z].is_empty() {
                    0
                } else {
                    dropoffs[z]
                }
            })
            .collect();
        let total: u64 = weights.iter().sum();
        let start_lots = (0..class.vehicles())
            .map(|_| {
                let mut ticket = rng.random_range(0..total.max(1));
                let mut z = 0;
                for (i, &wt) in weights.iter().enumerate() {
                    if ticket < wt {
                        z = i;
                        break;
                    }
                    ticket -= wt;
                }
                let lots = &lots_of_zone[z];
                if lots.is_empty() {
                    0
                } else {
                    lots[rng.random_range(0..lots.len())]
                }
            })
            .collect();
        let run_seed = rng.random();
        Day {
            class,
            seed,
            weekday,
            requests,
            start_lots,
            run_seed,
        }
    }

    /// The total revenue of all requests (what serving every one would earn).
    pub fn request_value(&self) -> f64 {
        self.requests.iter().map(|r| r.revenue).sum()
    }
}
