//! Routes: the ordered stops a worker has committed to, across jobs, and the cheapest way to insert
//! a new job's stops into one.
//!
//! A ride is two stops (pickup, drop-off), a delivery two (the restaurant, the customer), a house
//! call one (the customer's home, with a long service time). The model is the same for all three:
//! every stop has a place, a time window for the arrival, a service duration and a change of load.
//! [`best_insertion`] tries every position of the job's stops in the route (keeping the job's own
//! order), simulates the route with the caller's [`TravelTime`], and keeps the feasible insertion
//! that adds the least time.
//!
//! Times are seconds on the caller's clock (`f64`); the model reads no clock itself.

/// Travel times between places: the one thing the route model needs to know about a city.
pub trait TravelTime {
    /// A place as the caller knows it (projected coordinates, a zone and a point, ...).
    type Place: Copy;

    /// Seconds to drive from `from` to `to` when leaving at `depart`; `None` if `to` cannot be
    /// reached from `from`. Must be finite and `>= 0` when `Some`.
    fn travel_secs(&self, from: &Self::Place, to: &Self::Place, depart: f64) -> Option<f64>;

    /// A bound on how far away (straight line, km) a worker can be and still reach `to` within
    /// `secs` when leaving around `at`: candidates farther away are not priced. The default never
    /// prunes.
    fn reach_km(&self, _to: &Self::Place, _secs: f64, _at: f64) -> f64 {
        f64::INFINITY
    }

    /// A lower bound on the seconds to drive `km` (straight line) to `to` when leaving around
    /// `at` (within the next few minutes): it lets a scan stop before pricing workers too far to
    /// beat the ones it has. The default, 0, never stops a scan.
    fn min_secs(&self, _km: f64, _to: &Self::Place, _at: f64) -> f64 {
        0.0
    }

    /// The drive from `from` to `to` leaving at `depart`: its seconds and what the platform pays
    /// for it, in the units the dispatcher minimises (and `OpenJob::unassigned_cost` is in). The
    /// default: the cost is the seconds.
    fn drive(&self, from: &Self::Place, to: &Self::Place, depart: f64) -> Option<(f64, f64)> {
        self.travel_secs(from, to, depart).map(|secs| (secs, secs))
    }

    /// A lower bound on the cost of [`TravelTime::drive`] for a drive of `km` (straight line) to `to`
    /// leaving around `at`. The default: [`TravelTime::min_secs`].
    fn min_drive_cost(&self, km: f64, to: &Self::Place, at: f64) -> f64 {
        self.min_secs(km, to, at)
    }

    /// What `secs` of a worker's time (a detour, a wait) cost at `at`, in the same units. The
    /// default: the seconds themselves.
    fn secs_cost(&self, secs: f64, _at: f64) -> f64 {
        secs
    }

    /// Until when travel times stay as they are at `at` (the end of the current speed window):
    /// an answer that depends on them may be kept until then. The default: they may change at any
    /// moment.
    fn stable_until(&self, at: f64) -> f64 {
        at
    }
}

/// When a worker may arrive at a stop: service starts at `max(arrival, earliest)`, and arriving
/// after `latest` is infeasible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Service does not start before this time (the worker waits).
    pub earliest: f64,
    /// The worker must arrive by this time.
    pub latest: f64,
}

impl Window {
    /// A window that never binds.
    pub const ANY: Window = Window {
        earliest: f64::NEG_INFINITY,
        latest: f64::INFINITY,
    };
}

/// One stop of a route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteStop<J, P> {
    /// The job the stop belongs to.
    pub job: J,
    /// Where it is.
    pub place: P,
    /// When the worker may arrive.
    pub window: Window,
    /// How long the worker stays (boarding, handing over food, the massage itself), seconds.
    pub service_secs: f64,
    /// The change of load at the stop: `+1` for a passenger or a bag picked up, `-1` dropped off,
    /// `0` for a house call.
    pub load: i32,
}

/// A worker's committed route: where and when it becomes free to drive to its first stop, its load
/// then, its capacity, and the stops in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Route<J, P> {
    /// Where the worker starts (its position, or where its current leg ends).
    pub start: P,
    /// When it can leave `start` (now, or when its current leg ends).
    pub start_at: f64,
    /// Its load when leaving `start`.
    pub start_load: i32,
    /// The most it may carry at once.
    pub capacity: i32,
    /// The stops still to visit, in order.
    pub stops: Vec<RouteStop<J, P>>,
}

impl<J, P: Copy> Route<J, P> {
    /// An empty route of a worker free at `place` from `at`.
    pub fn empty(place: P, at: f64, capacity: i32) -> Route<J, P> {
        Route {
            start: place,
            start_at: at,
            start_load: 0,
            capacity,
            stops: Vec::new(),
        }
    }
}

/// The timing of a route as planned.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Per stop, when the worker arrives.
    pub arrivals: Vec<f64>,
    /// When the worker leaves its last stop (`start_at` for an empty route).
    pub end: f64,
}

/// Where and at what cost a job's stops go into a route.
#[derive(Debug, Clone, PartialEq)]
pub struct Insertion {
    /// Per stop of the job, the index in the route's current stops it goes before (`stops.len()`:
    /// at the end). Non-decreasing; equal positions mean the job's stops follow each other.
    pub positions: Vec<usize>,
    /// When the worker arrives at the job's first stop.
    pub first_arrival: f64,
    /// How much later the route ends with the job than without it, seconds.
    pub added_secs: f64,
    /// `added_secs` less the job's own time (its service times and the direct drives between its
    /// stops): the empty driving and waiting the job costs. On an empty route, the drive to the
    /// first stop plus any wait for its window; for a ride, today's pickup ETA.
    pub detour_secs: f64,
}

impl<J: Copy, P: Copy> Route<J, P> {
    /// The route's timing, or `None` if a stop cannot be reached, a window is missed or the load
    /// leaves `0..=capacity`.
    pub fn schedule<T: TravelTime<Place = P>>(&self, travel: &T) -> Option<Schedule> {
        let mut arrivals = Vec::with_capacity(self.stops.len());
        let mut sim = Walk::new(self);
        for stop in &self.stops {
            let arrival = sim.visit(stop, travel)?;
            if arrival > stop.window.latest || !sim.load_ok(self.capacity) {
                return None;
            }
            arrivals.push(arrival);
        }
        Some(Schedule {
            arrivals,
            end: sim.t,
        })
    }

    /// Inserts `job` at `positions` (as returned by [`best_insertion`]).
    ///
    /// # Panics
    /// Never for positions from [`best_insertion`] on this route; positions out of order or past
    /// the end are clamped into order.
    pub fn insert(&mut self, job: &[RouteStop<J, P>], positions: &[usize]) {
        // Insert from the last stop of the job backwards so earlier positions stay valid.
        for (i, stop) in job.iter().enumerate().rev() {
            let at = positions
                .get(i)
                .copied()
                .unwrap_or(self.stops.len())
                .min(self.stops.len());
            // Stops of the job at the same position keep the job's order: later ones were inserted
            // first, so this one goes right before them.
            self.stops.insert(at, *stop);
        }
    }
}

impl<J: Copy + PartialEq, P: Copy> Route<J, P> {
    /// Removes every stop of `job` (a cancelled job leaves the route).
    pub fn remove_job(&mut self, job: J) {
        self.stops.retain(|s| s.job != job);
    }
}

/// A walk along a route, stop by stop.
struct Walk<P> {
    at: P,
    t: f64,
    load: i32,
}

impl<P: Copy> Walk<P> {
    fn new<J>(route: &Route<J, P>) -> Walk<P> {
        Walk {
            at: route.start,
            t: route.start_at,
            load: route.start_load,
        }
    }

    /// Drives to `stop` and serves it; returns the arrival time.
    fn visit<J, T: TravelTime<Place = P>>(
        &mut self,
        stop: &RouteStop<J, P>,
        travel: &T,
    ) -> Option<f64> {
        let drive = travel.travel_secs(&self.at, &stop.place, self.t)?;
        let arrival = self.t + drive;
        self.t = arrival.max(stop.window.earliest) + stop.service_secs;
        self.at = stop.place;
        self.load += stop.load;
        Some(arrival)
    }

    fn load_ok(&self, capacity: i32) -> bool {
        (0..=capacity).contains(&self.load)
    }
}

/// The feasible insertion of `job`'s stops (in their order) into `route` that ends the route
/// earliest, or `None` if there is none.
///
/// Feasible means: every stop reachable, each new stop reached by its window's `latest`, the load
/// within `0..=capacity` after every stop, and no stop already on the route reached later than
/// both its `latest` and its arrival without the job (a route already running late may take a job
/// only if that makes no late stop later). Ties go to the earliest arrival at the job's first stop,
/// then to the lowest positions, so the answer is deterministic.
///
/// The work is `O(n^k · (n + k))` for `n` stops on the route and `k` stops of the job (`k` is 1 or 2
/// for every job kind Doorstep has).
pub fn best_insertion<J, P, T>(
    route: &Route<J, P>,
    job: &[RouteStop<J, P>],
    travel: &T,
) -> Option<Insertion>
where
    J: Copy,
    P: Copy,
    T: TravelTime<Place = P>,
{
    if job.is_empty() {
        return None;
    }
    // Without the job: each stop's arrival (the lateness allowance) and the end.
    let mut base_arrivals = Vec::with_capacity(route.stops.len());
    let mut walk = Walk::new(route);
    for stop in &route.stops {
        base_arrivals.push(walk.visit(stop, travel).unwrap_or(f64::INFINITY));
    }
    let base_end = walk.t;

    let mut best: Option<Insertion> = None;
    let mut positions = vec![0usize; job.len()];
    loop {
        if let Some((first_arrival, end)) =
            try_positions(route, &base_arrivals, job, &positions, travel)
        {
            let added = end - base_end;
            let better = match &best {
                None => true,
                Some(b) => {
                    added < b.added_secs
                        || (added == b.added_secs && first_arrival < b.first_arrival)
                }
            };
            if better {
                best = Some(Insertion {
                    positions: positions.clone(),
                    first_arrival,
                    added_secs: added,
                    detour_secs: 0.0,
                });
            }
        }
        if !next_positions(&mut positions, route.stops.len()) {
            break;
        }
    }
    let mut best = best?;
    let intrinsic = intrinsic_secs(job, best.first_arrival, travel)?;
    best.detour_secs = (best.added_secs - intrinsic).max(0.0);
    Some(best)
}

/// The job's own time: its service times and the direct drives between its stops (waits for
/// later stops' windows included), when its first stop is reached at `first_arrival`.
fn intrinsic_secs<J, P: Copy, T: TravelTime<Place = P>>(
    job: &[RouteStop<J, P>],
    first_arrival: f64,
    travel: &T,
) -> Option<f64> {
    let first = job.first()?;
    let start = first_arrival.max(first.window.earliest);
    let mut t = start + first.service_secs;
    for pair in job.windows(2) {
        let drive = travel.travel_secs(&pair[0].place, &pair[1].place, t)?;
        t = (t + drive).max(pair[1].window.earliest) + pair[1].service_secs;
    }
    Some(t - start)
}

/// The next non-decreasing vector of positions in `0..=n`, in lexicographic order.
fn next_positions(positions: &mut [usize], n: usize) -> bool {
    let k = positions.len();
    let mut i = k;
    while i > 0 {
        i -= 1;
        if positions[i] < n {
            positions[i] += 1;
            let v = positions[i];
            for p in &mut positions[i + 1..] {
                *p = v;
            }
            return true;
        }
    }
    false
}

/// Simulates the route with `job` at `positions`; `Some((arrival at the job's first stop, end))`
/// if feasible.
fn try_positions<J, P, T>(
    route: &Route<J, P>,
    base_arrivals: &[f64],
    job: &[RouteStop<J, P>],
    positions: &[usize],
    travel: &T,
) -> Option<(f64, f64)>
where
    J: Copy,
    P: Copy,
    T: TravelTime<Place = P>,
{
    let mut walk = Walk::new(route);
    let mut next_new = 0;
    let mut first_arrival = f64::NAN;
    // The route's stops, each with its arrival without the job, then an end marker.
    let olds = route
        .stops
        .iter()
        .zip(base_arrivals)
        .map(Some)
        .chain(std::iter::once(None));
    for (old, existing) in olds.enumerate() {
        while next_new < job.len() && positions[next_new] == old {
            let stop = &job[next_new];
            let arrival = walk.visit(stop, travel)?;
            if arrival > stop.window.latest || !walk.load_ok(route.capacity) {
                return None;
            }
            if next_new == 0 {
                first_arrival = arrival;
            }
            next_new += 1;
        }
        if let Some((stop, base_arrival)) = existing {
            let arrival = walk.visit(stop, travel)?;
            let allowed = stop.window.latest.max(*base_arrival);
            if arrival > allowed || !walk.load_ok(route.capacity) {
                return None;
            }
        }
    }
    Some((first_arrival, walk.t))
}
