//! The availability query of each policy: for one day and a list of providers, every quarter-hour start
//! with the providers who can take the visit, best first.

use doorstep_dispatch::TravelTime;
use doorstep_dispatch::calendar::fits;

use super::plan::Plan;
use super::travel::Spot;
use super::week::{SLOT_STEP_S, Week};

/// The fixed gap the naive calendar keeps between visits, and between a visit and the start or end of the
/// working day (its only allowance for travel).
pub const NAIVE_BUFFER_S: f64 = 30.0 * 60.0;

/// An availability query: a visit of one service at one place on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Query<'a> {
    /// The providers asked (all who offer the service, or the one the customer chose).
    pub candidates: &'a [u32],
    /// The day of the week.
    pub day: u32,
    /// Where the visit is.
    pub place: Spot,
    /// Its time on site, seconds.
    pub on_site: f64,
    /// The earliest start offered (an hour after the request), Unix seconds.
    pub earliest: f64,
}

/// One bookable start and who can take it, best first (by the key, then the provider's index).
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// The start, Unix seconds.
    pub start: f64,
    /// `(key, provider)`: the seconds the visit adds to the provider's day (travel-aware), or the visits the
    /// provider already has that day (naive).
    pub providers: Vec<(f64, u32)>,
}

/// The quarter-hour starts of a working day `[from, to)` at or after `earliest` at which a visit of
/// `on_site` seconds ends by `to`, as the server enumerates them.
fn starts(from: f64, to: f64, earliest: f64, on_site: f64) -> impl Iterator<Item = f64> {
    let first = if earliest <= from {
        from
    } else {
        from + ((earliest - from) / SLOT_STEP_S).ceil() * SLOT_STEP_S
    };
    (0..)
        .map(move |k| first + f64::from(k) * SLOT_STEP_S)
        .take_while(move |&s| s + on_site <= to)
}

/// The server's availability query (`doorstep_app::housecalls::slots_on`) on the plan: each provider's day
/// is built from the calendar, and each quarter-hour start from `earliest` is offered with a provider if
/// `calendar::fits` — the very check the server runs — takes a visit at `place` there. Slots in order of
/// start, providers by the seconds they add, then index.
pub fn travel_aware<T: TravelTime<Place = Spot>>(
    week: &Week,
    plan: &Plan,
    travel: &T,
    query: &Query<'_>,
) -> Vec<Slot> {
    let &Query {
        candidates,
        day,
        place,
        on_site,
        earliest,
    } = query;
    let (from, to) = week.hours(day);
    let mut slots: Vec<Slot> = starts(from, to, earliest, on_site)
        .map(|start| Slot {
            start,
            providers: Vec::new(),
        })
        .collect();
    for &p in candidates {
        let work = plan.work_day(week, day, p);
        for slot in &mut slots {
            if let Some(added) = fits(&work, travel, place, slot.start, on_site) {
                slot.providers.push((added, p));
            }
        }
    }
    finish(slots)
}

/// The naive calendar: a provider is free for a visit `[s, s + on_site]` under the daily cap if it keeps
/// [`NAIVE_BUFFER_S`] from every other visit of the day and from the start and end of the working day.
/// No travel model. Providers by the visits they have that day (the fewest first), then index.
pub fn naive(week: &Week, plan: &Plan, query: &Query<'_>) -> Vec<Slot> {
    let &Query {
        candidates,
        day,
        on_site,
        earliest,
        ..
    } = query;
    let (from, to) = week.hours(day);
    let mut slots: Vec<Slot> = starts(from, to, earliest, on_site)
        .map(|start| Slot {
            start,
            providers: Vec::new(),
        })
        .collect();
    for &p in candidates {
        let mine = plan.day(day, p);
        if mine.len() >= week.config.daily_cap as usize {
            continue;
        }
        #[allow(clippy::cast_precision_loss, reason = "a handful of visits")]
        let load = mine.len() as f64;
        for slot in &mut slots {
            let (s, e) = (slot.start, slot.start + on_site);
            let inside = s - NAIVE_BUFFER_S >= from && e + NAIVE_BUFFER_S <= to;
            let clear = mine.iter().all(|&b| {
                let b = &plan.bookings[b];
                e + NAIVE_BUFFER_S <= b.start || b.start + b.on_site + NAIVE_BUFFER_S <= s
            });
            if inside && clear {
                slot.providers.push((load, p));
            }
        }
    }
    finish(slots)
}

fn finish(mut slots: Vec<Slot>) -> Vec<Slot> {
    slots.retain(|s| !s.providers.is_empty());
    for s in &mut slots {
        s.providers
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    slots
}

/// What the customer takes: the offered start nearest `wished` within `tolerance` (the earlier of two
/// equally near), with its best provider.
pub fn choose(slots: &[Slot], wished: f64, tolerance: f64) -> Option<(f64, u32)> {
    slots
        .iter()
        .filter(|s| (s.start - wished).abs() <= tolerance)
        .min_by(|a, b| {
            (a.start - wished)
                .abs()
                .total_cmp(&(b.start - wished).abs())
                .then(a.start.total_cmp(&b.start))
        })
        .and_then(|s| s.providers.first().map(|&(_, p)| (s.start, p)))
}
