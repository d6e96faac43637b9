//! Re-optimisation of house calls booked with "any provider" (issue 12, item 4).
//!
//! Bookings are taken one at a time, each with the provider whose day it fits best then. Later bookings
//! change what is best: a visit downtown went to the only provider free when it was booked, who lives
//! uptown, and now a provider living downtown is free at that hour. In the background the scheduler
//! takes each coming day's visits and asks the VRPTW solver (`doorstep_dispatch::vrptw`, the code `bench
//! vrptw` measures) for the assignment of visits to providers that drives least:
//!
//! - a vehicle per working interval of each bookable provider: it starts and ends at the home base
//!   within the interval, and carries at most the provider's daily cap;
//! - a customer per visit with its booked start as the window (`[start, start]`: a promise never moves)
//!   and its length as the service time; travel times are the city model's at the departure time from
//!   the origin (the end of the visit before, or the interval's start), as the availability check uses;
//! - a visit the customer booked with a chosen provider, one already under way, and every hold may only
//!   stay where it is; an "any provider" visit may go to any provider who offers its service, covers its
//!   place and works then;
//! - the current assignment is the warm start, so the solver only returns something that drives less.
//!
//! Every visit that changes hands is a reschedule to the same start with another provider
//! (`Booking::reschedule`, `Job::move_to_worker`), written with a conditional bump of both providers'
//! calendars: a booking made meanwhile makes the move fail and the next run starts again. The customer
//! and both providers get a `booking_rescheduled` event.

use crate::dispatcher::{CityPlace, CityTravel};
use crate::{App, AppError};
use doorstep_dispatch::TravelTime;
use doorstep_dispatch::vrptw::{Problem, Solution, Vehicle, solve};
use doorstep_domain::food::hours::{local_date, local_instant};
use doorstep_domain::housecall::{
    Booking, BookingEvent, BookingState, ProviderChoice, ProviderProfile,
};
use doorstep_domain::onboarding::CalendarDate;
use doorstep_domain::{JobId, Timestamp, UserId};
use doorstep_store::{BookingChange, Recipient, StoreError};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What one day's re-optimisation did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reoptimised {
    /// The visits considered.
    pub visits: usize,
    /// Visits moved to another provider: the booking, from, to.
    pub moved: Vec<(JobId, UserId, UserId)>,
    /// Driving seconds of the day before and after.
    pub travel_before_s: i64,
    /// After.
    pub travel_after_s: i64,
}

fn whole_secs(t: Timestamp) -> i64 {
    t.millis().div_euclid(1000)
}

#[allow(
    clippy::cast_precision_loss,
    reason = "Unix seconds of this era are exact in f64"
)]
fn f(t: i64) -> f64 {
    t as f64
}

/// One vehicle of the problem: a provider's working interval.
struct Shift {
    provider: UserId,
    from: i64,
    to: i64,
}

impl App {
    /// Re-optimises the "any provider" visits of `date` with at most `budget` of solver time.
    pub async fn reoptimise_day(
        &self,
        date: CalendarDate,
        budget: Duration,
    ) -> Result<Reoptimised, AppError> {
        let now = self.clock().now();
        let today = local_date(now).ok_or_else(|| AppError::Internal("the date".into()))?;
        let from = local_instant(date, 0);
        let to = local_instant(date, 24 * 60);
        let bookings: Vec<Booking> = self
            .store()
            .live_bookings_between(from, to)
            .await?
            .into_iter()
            .filter(|b| b.starts_at() > now)
            .collect();
        if bookings.len() < 2 {
            return Ok(Reoptimised::default());
        }
        let mut providers: Vec<(ProviderProfile, i64)> = Vec::new();
        for (profile, version) in self.store().all_providers().await? {
            let documents = self.store().provider_documents(profile.user).await?;
            if profile.bookable(&documents, today).is_ok() {
                providers.push((profile, version));
            }
        }
        let mut versions: BTreeMap<UserId, i64> =
            providers.iter().map(|(p, v)| (p.user, *v)).collect();
        // Every visit's provider must be one of them, or the day is left as it is.
        if bookings
            .iter()
            .any(|b| !versions.contains_key(&b.provider()))
        {
            return Ok(Reoptimised::default());
        }
        let holds = self
            .store()
            .calendar_entries(&versions.keys().copied().collect::<Vec<_>>(), from, to, now)
            .await?
            .into_iter()
            .filter(|e| e.hold.is_some())
            .collect::<Vec<_>>();
        if !holds.is_empty() {
            // A customer is checking out: leave the day until the hold is booked or gone.
            return Ok(Reoptimised::default());
        }

        // Nodes: each provider's home, then each visit.
        let mut places = Vec::new();
        let mut home_node = BTreeMap::new();
        for (p, _) in &providers {
            home_node.insert(p.user, places.len());
            places.push(CityPlace::of(p.home));
        }
        let first_visit = places.len();
        for b in &bookings {
            places.push(CityPlace::of(b.place()));
        }
        let n = places.len();
        let mut shifts = Vec::new();
        for (p, _) in &providers {
            for (a, z) in p.working_intervals(date) {
                shifts.push(Shift {
                    provider: p.user,
                    from: whole_secs(a),
                    to: whole_secs(z),
                });
            }
        }
        let day0 = whole_secs(from);
        let mut ready = vec![0; n];
        let mut due = vec![i64::MAX / 4; n];
        let mut service = vec![0; n];
        let mut demand = vec![0; n];
        for (i, b) in bookings.iter().enumerate() {
            let node = first_visit + i;
            ready[node] = whole_secs(b.starts_at()) - day0;
            due[node] = ready[node];
            service[node] = whole_secs(b.ends_at()) - whole_secs(b.starts_at());
            demand[node] = 1;
        }
        // Travel from each node at its departure: a visit's end, else (a home) the start of the day's
        // first interval.
        let travel = CityTravel::new(self.city());
        let mut time = vec![0i64; n * n];
        for a in 0..n {
            let depart = if a >= first_visit {
                day0 + ready[a] + service[a]
            } else {
                shifts
                    .iter()
                    .filter(|s| home_node.get(&s.provider) == Some(&a))
                    .map(|s| s.from)
                    .min()
                    .unwrap_or(day0 + 9 * 3600)
            };
            for b in 0..n {
                if a != b {
                    #[allow(clippy::cast_possible_truncation, reason = "seconds of a drive")]
                    let secs = travel
                        .travel_secs(&places[a], &places[b], f(depart))
                        .map_or(i64::MAX / 1024, |s| s.ceil() as i64);
                    time[a * n + b] = secs;
                }
            }
        }
        let vehicles: Vec<Vehicle> = shifts
            .iter()
            .map(|s| Vehicle {
                start: home_node[&s.provider],
                end: home_node[&s.provider],
                shift_start: s.from - day0,
                shift_end: s.to - day0,
                capacity: providers
                    .iter()
                    .find(|(p, _)| p.user == s.provider)
                    .map_or(0, |(p, _)| i64::from(p.daily_cap)),
            })
            .collect();
        let mut blocked: BTreeMap<UserId, Vec<UserId>> = BTreeMap::new();
        for b in &bookings {
            if let std::collections::btree_map::Entry::Vacant(e) = blocked.entry(b.customer()) {
                e.insert(self.store().blocked_with(b.customer()).await?);
            }
        }
        let fits_shift = |s: &Shift, b: &Booking| {
            s.from <= whole_secs(b.starts_at()) && whole_secs(b.ends_at()) <= s.to
        };
        let mut allowed = vec![None; n];
        let mut initial = vec![Vec::new(); vehicles.len()];
        for (i, b) in bookings.iter().enumerate() {
            let own: Vec<usize> = (0..shifts.len())
                .filter(|&v| shifts[v].provider == b.provider() && fits_shift(&shifts[v], b))
                .collect();
            let Some(&current) = own.first() else {
                // The visit is outside its provider's hours now: leave the day as it is.
                return Ok(Reoptimised::default());
            };
            initial[current].push(first_visit + i);
            let movable =
                b.record().choice == ProviderChoice::Any && b.state() == BookingState::Confirmed;
            allowed[first_visit + i] = Some(if movable {
                (0..shifts.len())
                    .filter(|&v| {
                        let p = providers.iter().find(|(p, _)| p.user == shifts[v].provider);
                        fits_shift(&shifts[v], b)
                            && !blocked
                                .get(&b.customer())
                                .is_some_and(|list| list.contains(&shifts[v].provider))
                            && p.is_some_and(|(p, _)| {
                                p.offers(b.record().service) && p.covers(b.place())
                            })
                    })
                    .collect()
            } else {
                own
            });
        }
        for route in &mut initial {
            route.sort_by_key(|&c| ready[c]);
        }
        let problem = Problem {
            nodes: n,
            cost: time.clone(),
            time,
            demand,
            ready,
            due,
            service,
            customers: (first_visit..n).collect(),
            vehicles,
            allowed,
        };
        let before = problem.routes_cost(&initial);
        let warm = Solution {
            routes: initial.clone(),
            cost: before,
        };
        if !problem.is_feasible(&initial) {
            return Ok(Reoptimised {
                visits: bookings.len(),
                travel_before_s: before,
                travel_after_s: before,
                ..Reoptimised::default()
            });
        }
        let started = Instant::now();
        let seed = u64::try_from(date.days()).unwrap_or(0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let solution = tokio::task::block_in_place(|| {
            solve(&problem, Some(&warm), &mut rng, &mut || {
                started.elapsed() >= budget
            })
        })
        .map_err(|e| AppError::Internal(format!("re-optimisation: {e}")))?;
        let mut report = Reoptimised {
            visits: bookings.len(),
            travel_before_s: before,
            travel_after_s: before,
            moved: Vec::new(),
        };
        if !problem.is_feasible(&solution.routes) || solution.cost >= before {
            return Ok(report);
        }
        // Daily caps hold per provider across their intervals.
        let mut per_provider: BTreeMap<UserId, u32> = BTreeMap::new();
        for (v, route) in solution.routes.iter().enumerate() {
            *per_provider.entry(shifts[v].provider).or_default() +=
                u32::try_from(route.len()).unwrap_or(u32::MAX);
        }
        if providers
            .iter()
            .any(|(p, _)| per_provider.get(&p.user).copied().unwrap_or(0) > p.daily_cap)
        {
            return Ok(report);
        }
        for (v, route) in solution.routes.iter().enumerate() {
            for &node in route {
                let booking = &bookings[node - first_visit];
                let to = shifts[v].provider;
                if to != booking.provider() {
                    match self.move_visit(booking.id(), to, &mut versions).await {
                        Ok(()) => report.moved.push((booking.id(), booking.provider(), to)),
                        Err(AppError::Conflict { .. }) => return Ok(report),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        report.travel_after_s = if report.moved.is_empty() {
            before
        } else {
            solution.cost
        };
        Ok(report)
    }

    /// Moves one "any provider" visit to `to` at the same start, if both calendars are as read.
    async fn move_visit(
        &self,
        id: JobId,
        to: UserId,
        versions: &mut BTreeMap<UserId, i64>,
    ) -> Result<(), AppError> {
        let mut booking = self
            .store()
            .booking(id)
            .await?
            .ok_or(AppError::NotFound("booking"))?;
        let from = booking.provider();
        let expected = booking.version();
        let now = self.clock().now();
        let events = booking
            .reschedule(booking.starts_at(), to, now)
            .map_err(|e| AppError::conflict("invalid_booking_state", e.to_string()))?;
        let to_whom = crate::housecalls::recipients(&booking, Some(from));
        let events: Vec<(BookingEvent, Vec<Recipient>)> =
            events.into_iter().map(|e| (e, to_whom.clone())).collect();
        let calendars: Vec<(UserId, i64)> = [from, to]
            .iter()
            .filter_map(|p| versions.get(p).map(|v| (*p, *v)))
            .collect();
        match self
            .store()
            .save_booking_change(BookingChange {
                booking: &booking,
                expected_version: expected,
                calendars: &calendars,
                events: &events,
                postings: &[],
                at: now,
            })
            .await
        {
            Ok(stored) => {
                for (p, _) in &calendars {
                    if let Some(v) = versions.get_mut(p) {
                        *v += 1;
                    }
                }
                self.publish_all(stored);
                Ok(())
            }
            Err(StoreError::Conflict | StoreError::CalendarChanged) => Err(AppError::conflict(
                "calendar_changed",
                "a calendar changed during re-optimisation",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// The days re-optimised on each run: today and the next six.
pub const DAYS_AHEAD: i64 = 7;

/// Re-optimises the coming week every `config().reoptimise` interval until `shutdown`.
pub async fn run(app: App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let Some((every, budget)) = app.config().reoptimise else {
        return;
    };
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            _ = ticker.tick() => {
                // In a cluster, the node that owns the city re-optimises it; the others leave it.
                if !app.is_dispatch_node() {
                    continue;
                }
                let Some(today) = local_date(app.clock().now()) else { continue };
                for day in 0..DAYS_AHEAD {
                    let Some(date) = CalendarDate::from_days(today.days() + day) else { continue };
                    match app.reoptimise_day(date, budget).await {
                        Ok(r) if !r.moved.is_empty() => tracing::info!(
                            date = %date, moved = r.moved.len(), before_s = r.travel_before_s,
                            after_s = r.travel_after_s, "house calls re-optimised"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, date = %date, "re-optimising house calls failed"),
                    }
                }
            }
        }
    }
}
