//! The rules the [`crate::Dispatcher`] adds for jobs whose first stop opens later, such as a
//! delivery whose pickup window opens when the kitchen says the food is ready: when to commit a
//! worker (late, so it arrives about when the window opens), what a late arrival costs, and which
//! waiting jobs travel together as one offer (a bundle).
//!
//! A ride's pickup window is open from the start, so none of this changes a ride: with the default
//! [`DeliveryRules`] (none) the core behaves exactly as before.

use crate::core::Planar;
use crate::route::{RouteStop, TravelTime, Window};

/// How the core dispatches jobs whose first stop's window opens later, and bundles them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryRules {
    /// Commit late: a match of a job to a worker becomes an offer only once the worker is free and,
    /// leaving now, would reach the first stop no more than this many seconds before its window
    /// opens; until then the match is held and made again at the next tick with what is known
    /// then. Infinite: commit at once (a ride's behaviour).
    pub commit_lead_secs: f64,
    /// A job whose first window opens more than this many seconds from now is not in the batch
    /// yet (no worker could be committed to it now); infinite: every waiting job is.
    pub plan_ahead_secs: f64,
    /// The cost of each second a worker reaches a first stop after its window opened, per job
    /// served there (the food and its customer wait), in the units of the insertion cost.
    pub late_secs_weight: f64,
    /// The most jobs one offer may carry (1: no bundles).
    pub max_bundle_jobs: usize,
    /// Jobs whose first stops are at most this far apart may share an offer, km (0: the same
    /// place only, such as one restaurant).
    pub bundle_radius_km: f64,
    /// The most a bundle may delay any of its jobs' last stops against serving it alone from its
    /// window's opening, seconds.
    pub bundle_max_delay_secs: f64,
    /// The worker seconds a bundle must save per second of delay it adds to its jobs' last stops
    /// (0: any saving bundles).
    pub bundle_delay_weight: f64,
    /// Bundles form only while the waiting jobs outnumber this factor times the workers that are
    /// free, or will be within `reposition_horizon_secs` (0: always).
    pub bundle_when_short: f64,
    /// A job whose first window opens at a known time waits for a worker until its own `give_up_at`
    /// even while no worker can reach it (food waits for the next courier to come online); `false`:
    /// it ends after `give_up_unreachable_secs` with nobody in reach, as a ride does.
    pub wait_unreachable: bool,
}

impl Default for DeliveryRules {
    /// No delivery rules: commit at once, no lateness cost, no bundles.
    fn default() -> Self {
        DeliveryRules {
            commit_lead_secs: f64::INFINITY,
            plan_ahead_secs: f64::INFINITY,
            late_secs_weight: 0.0,
            max_bundle_jobs: 1,
            bundle_radius_km: 0.0,
            bundle_max_delay_secs: 0.0,
            bundle_delay_weight: 0.0,
            bundle_when_short: 0.0,
            wait_unreachable: false,
        }
    }
}

/// A bundle as planned: the stops in visiting order and how much the worker saves by it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BundlePlan<J, P> {
    /// The stops of every job, in the order the worker visits them.
    pub stops: Vec<RouteStop<J, P>>,
    /// The worker seconds saved against serving each job alone, less the weighted delay.
    pub score: f64,
}

/// Whether two places are the same place (within a metre).
fn same_place<P: Planar>(a: &P, b: &P) -> bool {
    let (ax, ay) = a.xy_km();
    let (bx, by) = b.xy_km();
    (ax - bx).abs() < 1e-3 && (ay - by).abs() < 1e-3
}

/// Walks `stops` from the first one's place, arriving at its window's opening; returns per stop
/// its arrival and the end (leaving the last stop), or `None` if a stop cannot be reached or a
/// window's `latest` is missed.
fn walk<J, P: Copy, T: TravelTime<Place = P>>(
    stops: &[RouteStop<J, P>],
    travel: &T,
) -> Option<(Vec<f64>, f64)> {
    let first = stops.first()?;
    let mut at = first.place;
    let mut t = first.window.earliest;
    let mut arrivals = Vec::with_capacity(stops.len());
    for s in stops {
        let arrival = t + travel.travel_secs(&at, &s.place, t)?;
        if arrival > s.window.latest {
            return None;
        }
        arrivals.push(arrival);
        t = arrival.max(s.window.earliest) + s.service_secs;
        at = s.place;
    }
    Some((arrivals, t))
}

/// Plans a bundle of `jobs` (each its stops, a first stop and a last one, first stops
/// close together): the first stops in the order their windows open, one service for first stops
/// at the same place (at the latest opening), then the last stops in the order that reaches them
/// soonest in total. `None` if a job is not two stops, a window is missed, or the bundle breaks
/// [`DeliveryRules::bundle_max_delay_secs`] or saves nothing worth its delay.
///
/// `starts`, per job, when the worker that would serve it alone reaches its first stop (at or
/// after its window opens; infinite: no worker is in sight), as
/// [`crate::Dispatcher::with_planned_bundles`] has it; `None`: every job alone, and the bundle, start when
/// the windows open.
pub(crate) fn plan_bundle<J, P, T>(
    jobs: &[&[RouteStop<J, P>]],
    travel: &T,
    rules: &DeliveryRules,
    starts: Option<&[f64]>,
) -> Option<BundlePlan<J, P>>
where
    J: Copy,
    P: Copy + Planar,
    T: TravelTime<Place = P>,
{
    if jobs.len() < 2 || jobs.iter().any(|j| j.len() != 2) {
        return None;
    }
    // Alone: each job from its window's opening.
    let mut alone_last = Vec::with_capacity(jobs.len());
    let mut alone_secs = 0.0;
    for j in jobs {
        let (arrivals, end) = walk(j, travel)?;
        alone_last.push(arrivals[1]);
        alone_secs += end - j[0].window.earliest.max(arrivals[0]);
    }
    // First stops by opening; one service at a shared place.
    let mut firsts: Vec<usize> = (0..jobs.len()).collect();
    firsts.sort_by(|&a, &b| {
        jobs[a][0]
            .window
            .earliest
            .total_cmp(&jobs[b][0].window.earliest)
    });
    let mut head: Vec<RouteStop<J, P>> = Vec::with_capacity(2 * jobs.len());
    // The stop that carries the service of the run of first stops at the current place.
    let mut carrier: Option<usize> = None;
    for &i in &firsts {
        let mut s = jobs[i][0];
        match carrier {
            Some(c) if same_place(&head[c].place, &s.place) => {
                // The worker is already there: one service, once the last window of the run opens.
                head[c].window.earliest = head[c].window.earliest.max(s.window.earliest);
                head[c].window.latest = head[c].window.latest.min(s.window.latest);
                head[c].service_secs = head[c].service_secs.max(s.service_secs);
                s.window = Window::ANY;
                s.service_secs = 0.0;
            }
            _ => carrier = Some(head.len()),
        }
        head.push(s);
    }
    // Last stops: every order (at most 3! for three jobs), the smallest total arrival.
    // (total arrival at the last stops, the stops, per job its last stop's arrival, the bundle's
    // seconds from its first arrival to its end).
    type Plan<J, P> = (f64, Vec<RouteStop<J, P>>, Vec<f64>, f64);
    let mut best: Option<Plan<J, P>> = None;
    let mut perm: Vec<usize> = (0..jobs.len()).collect();
    loop {
        let mut stops = head.clone();
        stops.extend(perm.iter().map(|&i| jobs[i][1]));
        if let Some((arrivals, end)) = walk(&stops, travel) {
            let lasts: Vec<f64> = arrivals[jobs.len()..].to_vec();
            let total: f64 = lasts.iter().sum();
            if best.as_ref().is_none_or(|b| total < b.0) {
                // Per job (in `jobs` order), its last stop's arrival.
                let mut per_job = vec![0.0; jobs.len()];
                for (k, &i) in perm.iter().enumerate() {
                    per_job[i] = lasts[k];
                }
                best = Some((
                    total,
                    stops,
                    per_job,
                    end - arrivals[0].max(head[0].window.earliest),
                ));
            }
        }
        if !next_permutation(&mut perm) {
            break;
        }
    }
    let (_, stops, mut last, bundle_secs) = best?;
    if let Some(starts) = starts {
        // Alone, each job's last stop moves with its worker's arrival; the bundle's with the
        // earliest of those workers, if it comes after the bundle's first window opens.
        let bundle_start = starts.iter().copied().fold(f64::INFINITY, f64::min);
        if !bundle_start.is_finite() {
            // Nobody is in sight for any of them: only the courier time saved counts.
            last.clone_from(&alone_last);
        } else {
            let shift = (bundle_start - stops[0].window.earliest).max(0.0);
            for b in &mut last {
                *b += shift;
            }
            for ((a, j), &s) in alone_last.iter_mut().zip(jobs).zip(starts) {
                // A job no worker is planned for: the bundle delays it by nothing.
                *a = if s.is_finite() {
                    *a + (s - j[0].window.earliest).max(0.0)
                } else {
                    f64::INFINITY
                };
            }
        }
    }
    let mut delay = 0.0;
    for (b, a) in last.iter().zip(&alone_last) {
        if a.is_infinite() {
            continue;
        }
        let d = b - a;
        if d > rules.bundle_max_delay_secs {
            return None;
        }
        // Net: a job the bundle delivers sooner than its own worker would offsets another's delay
        // (never the case when both start as the windows open).
        delay += if starts.is_some() { d } else { d.max(0.0) };
    }
    let score = alone_secs - bundle_secs - rules.bundle_delay_weight * delay;
    (score > 0.0).then_some(BundlePlan { stops, score })
}

/// The next permutation in lexicographic order; `false` after the last.
fn next_permutation(p: &mut [usize]) -> bool {
    let n = p.len();
    if n < 2 {
        return false;
    }
    let mut i = n - 1;
    while i > 0 && p[i - 1] >= p[i] {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let mut j = n - 1;
    while p[j] <= p[i - 1] {
        j -= 1;
    }
    p.swap(i - 1, j);
    p[i..].reverse();
    true
}
