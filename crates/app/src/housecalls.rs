//! House calls (issue 12): a provider's own profile and time off, availability, holds and bookings.
//!
//! **Availability is a routing question.** A provider's working interval (weekly hours minus time off,
//! on the city's wall clock) is a route: it leaves the home base when the interval starts, visits the
//! booked customers — each a stop whose window is its booked start and whose service time is the
//! appointment and its buffer — and is back home by the interval's end. A candidate start `s` is offered
//! only if `doorstep_dispatch::best_insertion` finds a place for a visit with window `[s, s]` in that route
//! with the city's travel times at that time of day, keeping every booked visit on time and the way home
//! within the interval. The last stop is the home base as a place nothing can be driven from, so a visit
//! can never be put after the provider went home. Holds (a slot kept for a customer during checkout)
//! count as visits.
//!
//! **Booking races.** The check reads each provider's calendar version before its visits; the booking is
//! written with a conditional bump of that version (`StoreError::CalendarChanged` when another booking or
//! hold got in between), and the check runs again on fresh data, up to a few times. Two customers racing for
//! the last slot: one commits, the other's check finds no room and gets 409 `slot_unavailable` with the
//! slots still free that day.

use crate::dispatcher::{CityPlace, CityTravel};
use crate::{App, AppError};
use doorstep_dispatch::calendar::{Interval, Visit, WorkDay, fits, within_hours};
use doorstep_domain::code::{CodeLength, VerificationCode};
use doorstep_domain::food::hours::{local_date, local_instant};
use doorstep_domain::housecall::booking::{BookingError, BookingState};
use doorstep_domain::housecall::provider::NotBookable;
use doorstep_domain::housecall::{
    Booking, BookingEvent, CancellationPolicy, HcService, NewBooking, ProviderChoice,
    ProviderDraft, ProviderError, ProviderProfile, TimeOff,
};
use doorstep_domain::onboarding::CalendarDate;
use doorstep_domain::{HoldId, JobId, Role, SeriesId, ServiceId, Timestamp, User, UserId};
use doorstep_geo::LatLng;
use doorstep_store::{
    Booked, BookingChange, CalendarEntry, Hold, Recipient, RecipientRole, StoreError,
};
use std::collections::BTreeMap;

/// Candidate starts are this far apart, seconds (on the quarter hour).
pub const SLOT_STEP_S: i64 = 15 * 60;
/// How long a hold keeps a slot, seconds.
pub const HOLD_S: i64 = 5 * 60;
/// The longest range one availability query covers, days.
pub const MAX_RANGE_DAYS: i64 = 14;
/// How far ahead bookings are taken, days.
pub const MAX_AHEAD_DAYS: i64 = 60;
/// The earliest start of a scheduled booking from now, seconds.
pub const MIN_LEAD_S: i64 = 60 * 60;
/// An "as soon as possible" visit starts at least this far from now, seconds.
pub const ASAP_LEAD_S: i64 = 15 * 60;
/// Its candidate starts are this far apart, seconds.
pub const ASAP_STEP_S: i64 = 5 * 60;
/// How far ahead an "as soon as possible" visit is looked for, seconds.
pub const ASAP_HORIZON_S: i64 = 6 * 3600;
/// How many times a booking checks again after another write changed the calendar.
const CALENDAR_RETRIES: usize = 4;

/// One bookable start with the providers who can take it, best first (the least added travel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// When the visit would start.
    pub start: Timestamp,
    /// When the appointment would end (without the provider's buffer).
    pub end: Timestamp,
    /// Who can come.
    pub providers: Vec<UserId>,
}

/// What an availability or booking request names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisitRequest {
    /// The service.
    pub service: ServiceId,
    /// The customer's place.
    pub place: LatLng,
    /// A chosen provider, or `None` for any.
    pub provider: Option<UserId>,
}

/// A booking as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct BookRequest {
    /// The service, place and provider.
    pub visit: VisitRequest,
    /// The address as the customer gave it.
    pub address: String,
    /// When the visit starts; `None`: as soon as possible (the earliest start any provider can make).
    pub start: Option<Timestamp>,
    /// The hold it converts, if any.
    pub hold: Option<HoldId>,
    /// The payment method's id (the wallet or a stored card); `None`: the newest card.
    pub payment_method: Option<String>,
    /// The weekly series the booking belongs to, if any.
    pub series: Option<SeriesId>,
    /// The provider to prefer among those who fit (a series keeps its provider when it can).
    pub prefer: Option<UserId>,
}

/// Why a booking was not made.
#[derive(Debug)]
pub enum BookError {
    /// The slot is no longer free: the slots still free that day.
    SlotUnavailable(Vec<Slot>),
    /// Anything else.
    App(AppError),
}

impl From<AppError> for BookError {
    fn from(e: AppError) -> Self {
        BookError::App(e)
    }
}

impl From<StoreError> for BookError {
    fn from(e: StoreError) -> Self {
        BookError::App(e.into())
    }
}

#[allow(
    clippy::cast_precision_loss,
    reason = "Unix seconds of this era are exact in f64"
)]
fn secs(t: Timestamp) -> f64 {
    t.millis() as f64 / 1000.0
}

/// A provider's day for the check, with whose it is.
#[derive(Debug, Clone)]
struct Day {
    provider: UserId,
    plan: WorkDay<CityPlace>,
}

/// The local date of `t` (the city's wall clock).
fn date_of(t: Timestamp) -> Result<CalendarDate, AppError> {
    local_date(t).ok_or_else(|| AppError::invalid("invalid_date", "the date is out of range"))
}

fn provider_error(e: ProviderError) -> AppError {
    match e {
        ProviderError::TooMuchTimeOff => AppError::conflict("too_much_time_off", e.to_string()),
        ProviderError::TimeOff => AppError::invalid("invalid_time_off", e.to_string()),
        _ => AppError::invalid("invalid_profile", e.to_string()),
    }
}

fn booking_error(e: BookingError) -> AppError {
    match e {
        BookingError::NotYourBooking => AppError::NotFound("booking"),
        BookingError::ProviderChosen => AppError::conflict("provider_chosen", e.to_string()),
        BookingError::NotReschedulable(_)
        | BookingError::Job(_)
        | BookingError::TooEarly(_)
        | BookingError::State { .. } => AppError::conflict("invalid_booking_state", e.to_string()),
    }
}

/// The recipients of a booking's events: its customer and its provider(s).
pub(crate) fn recipients(booking: &Booking, also: Option<UserId>) -> Vec<Recipient> {
    let mut out = vec![
        Recipient {
            user: booking.customer(),
            role: RecipientRole::Customer,
        },
        Recipient {
            user: booking.provider(),
            role: RecipientRole::Worker,
        },
    ];
    if let Some(other) = also.filter(|o| *o != booking.provider()) {
        out.push(Recipient {
            user: other,
            role: RecipientRole::Worker,
        });
    }
    out
}

/// The SHA-256 of a booking request, so a reused Idempotency-Key with another body is told apart.
pub fn book_request_hash(req: &BookRequest) -> String {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{}|{:.6}|{:.6}|{}|{}|{}|{}|{}",
        req.visit.service,
        req.visit.place.lat(),
        req.visit.place.lng(),
        req.visit
            .provider
            .map(|p| p.to_string())
            .unwrap_or_default(),
        req.address,
        req.start.map_or(-1, Timestamp::millis),
        req.hold.map(|h| h.to_string()).unwrap_or_default(),
        req.payment_method.as_deref().unwrap_or_default(),
    );
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who may be booked for a service at a place, with each one's calendar version.
struct Candidates {
    service: HcService,
    providers: Vec<(ProviderProfile, i64)>,
}

impl App {
    /// The services' cancellation policy.
    pub fn cancellation_policy(&self) -> CancellationPolicy {
        CancellationPolicy::default()
    }

    /// The caller's provider profile (404 `provider_not_found` before they wrote one).
    pub async fn my_provider_profile(
        &self,
        caller: &User,
    ) -> Result<(ProviderProfile, i64), AppError> {
        if caller.role != Role::Provider {
            return Err(AppError::Forbidden(
                "only providers have a provider profile",
            ));
        }
        self.store()
            .provider(caller.id)
            .await?
            .ok_or(AppError::NotFound("provider"))
    }

    /// Writes the caller's provider profile (a new provider waits for an operator's approval). Every
    /// service named must be in the catalogue.
    pub async fn put_my_provider_profile(
        &self,
        caller: &User,
        draft: ProviderDraft,
    ) -> Result<ProviderProfile, AppError> {
        if caller.role != Role::Provider {
            return Err(AppError::Forbidden(
                "only providers have a provider profile",
            ));
        }
        for service in &draft.services {
            if self.store().hc_service(*service).await?.is_none() {
                return Err(AppError::invalid(
                    "unknown_service",
                    format!("no service {service} in the catalogue"),
                ));
            }
        }
        let current = self.store().provider(caller.id).await?;
        let profile = draft
            .into_profile(caller.id, current.as_ref().map(|(p, _)| p))
            .map_err(provider_error)?;
        self.store()
            .put_provider(&profile, self.clock().now())
            .await?;
        Ok(profile)
    }

    /// Adds time off to the caller's profile. Visits already booked in it stay booked.
    pub async fn add_my_time_off(
        &self,
        caller: &User,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ProviderProfile, AppError> {
        let (mut profile, _) = self.my_provider_profile(caller).await?;
        let now = self.clock().now();
        let off = TimeOff::new(from, to).map_err(provider_error)?;
        if off.to <= now {
            return Err(AppError::invalid(
                "invalid_time_off",
                "the time off is over already",
            ));
        }
        profile.add_time_off(off, now).map_err(provider_error)?;
        self.store().put_provider(&profile, now).await?;
        Ok(profile)
    }

    /// Removes the caller's time off starting at `from` (404 `time_off_not_found` if none).
    pub async fn remove_my_time_off(
        &self,
        caller: &User,
        from: Timestamp,
    ) -> Result<ProviderProfile, AppError> {
        let (mut profile, _) = self.my_provider_profile(caller).await?;
        let before = profile.time_off.len();
        profile.time_off.retain(|t| t.from != from);
        if profile.time_off.len() == before {
            return Err(AppError::NotFound("time_off"));
        }
        self.store()
            .put_provider(&profile, self.clock().now())
            .await?;
        Ok(profile)
    }

    /// The service and the providers who may be booked for it at the place, or the reason none may:
    /// 404 `service_not_found`; for a chosen provider 404 `provider_not_found`, 422 `service_not_offered`,
    /// 422 `outside_service_area`, 409 `provider_not_bookable`; for any provider 422
    /// `outside_service_area` when no bookable provider of the service covers the place.
    async fn candidates(
        &self,
        customer: UserId,
        visit: &VisitRequest,
        today: CalendarDate,
    ) -> Result<Candidates, AppError> {
        // A block in either direction keeps a customer and a provider apart.
        let blocked = self.store().blocked_with(customer).await?;
        let service = self
            .store()
            .hc_service(visit.service)
            .await?
            .filter(|s| s.active)
            .ok_or(AppError::NotFound("service"))?;
        let mut providers = Vec::new();
        if let Some(chosen) = visit.provider {
            let (profile, version) = self
                .store()
                .provider(chosen)
                .await?
                .filter(|(p, _)| !blocked.contains(&p.user))
                .ok_or(AppError::NotFound("provider"))?;
            let documents = self.store().provider_documents(chosen).await?;
            match profile.bookable(&documents, today) {
                Ok(()) => {}
                Err(NotBookable::NotApproved(_)) => return Err(AppError::NotFound("provider")),
                Err(NotBookable::DocumentExpired(kind)) => {
                    return Err(AppError::conflict(
                        "provider_not_bookable",
                        format!(
                            "this provider cannot take bookings now (their {} expired)",
                            kind.as_str()
                        ),
                    ));
                }
            }
            if !profile.offers(service.id) {
                return Err(AppError::invalid(
                    "service_not_offered",
                    "this provider does not offer this service",
                ));
            }
            if !profile.covers(visit.place) {
                return Err(AppError::invalid(
                    "outside_service_area",
                    "the address is outside this provider's service area",
                ));
            }
            providers.push((profile, version));
        } else {
            for (profile, version) in self.store().providers_offering(service.id).await? {
                if !profile.covers(visit.place) || blocked.contains(&profile.user) {
                    continue;
                }
                let documents = self.store().provider_documents(profile.user).await?;
                if profile.bookable(&documents, today).is_ok() {
                    providers.push((profile, version));
                }
            }
            if providers.is_empty() {
                return Err(AppError::invalid(
                    "outside_service_area",
                    "no provider of this service serves this address",
                ));
            }
        }
        Ok(Candidates { service, providers })
    }

    /// The providers' days on `dates`, from their calendars (bookings not ended and live holds), leaving
    /// out `skip` (the booking being moved, or the caller's own hold).
    async fn days(
        &self,
        providers: &[(ProviderProfile, i64)],
        dates: &[CalendarDate],
        skip: (Option<JobId>, Option<HoldId>),
        now: Timestamp,
    ) -> Result<BTreeMap<(CalendarDate, UserId), Day>, AppError> {
        let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
            return Ok(BTreeMap::new());
        };
        let from = local_instant(*first, 0).plus_secs(-86_400);
        let to = local_instant(*last, 24 * 60).plus_secs(86_400);
        let ids: Vec<UserId> = providers.iter().map(|(p, _)| p.user).collect();
        let entries = self.store().calendar_entries(&ids, from, to, now).await?;
        let mut by_provider: BTreeMap<UserId, Vec<CalendarEntry>> = BTreeMap::new();
        for e in entries {
            if (e.booking.is_some() && e.booking == skip.0)
                || (e.hold.is_some() && e.hold == skip.1)
            {
                continue;
            }
            by_provider.entry(e.provider).or_default().push(e);
        }
        let mut out = BTreeMap::new();
        for date in dates {
            for (profile, _) in providers {
                let mine = by_provider
                    .get(&profile.user)
                    .map_or(&[][..], Vec::as_slice);
                let visits_today = u32::try_from(
                    mine.iter()
                        .filter(|e| local_date(e.starts_at) == Some(*date))
                        .count(),
                )
                .unwrap_or(u32::MAX);
                let intervals = profile
                    .working_intervals(*date)
                    .into_iter()
                    .map(|(a, b)| Interval {
                        from: secs(a),
                        to: secs(b),
                        visits: mine
                            .iter()
                            .filter(|e| e.starts_at < b && e.ends_at > a)
                            .map(|e| Visit {
                                place: CityPlace::of(e.place),
                                start: secs(e.starts_at),
                                end: secs(e.ends_at),
                            })
                            .collect(),
                    })
                    .collect();
                out.insert(
                    (*date, profile.user),
                    Day {
                        provider: profile.user,
                        plan: WorkDay {
                            home: CityPlace::of(profile.home),
                            intervals,
                            cap: profile.daily_cap,
                            visits: visits_today,
                        },
                    },
                );
            }
        }
        Ok(out)
    }

    /// The free slots on `dates` for the visit: every quarter-hour start at least [`MIN_LEAD_S`] from
    /// now that some provider's day takes, with those providers, best first.
    async fn slots_on(
        &self,
        candidates: &Candidates,
        place: LatLng,
        dates: &[CalendarDate],
        skip: (Option<JobId>, Option<HoldId>),
        now: Timestamp,
    ) -> Result<Vec<Slot>, AppError> {
        let days = self.days(&candidates.providers, dates, skip, now).await?;
        let travel = CityTravel::new(self.city());
        let on_site = candidates.service.on_site_secs();
        let earliest = now.plus_secs(MIN_LEAD_S);
        let target = CityPlace::of(place);
        let mut by_start: BTreeMap<Timestamp, Vec<(f64, UserId)>> = BTreeMap::new();
        let step_ms = SLOT_STEP_S * 1000;
        for day in days.values() {
            for interval in &day.plan.intervals {
                #[allow(clippy::cast_possible_truncation, reason = "whole seconds of this era")]
                let (from, to) = (
                    Timestamp::from_millis((interval.from * 1000.0) as i64),
                    Timestamp::from_millis((interval.to * 1000.0) as i64),
                );
                let first = from.max(earliest).millis();
                let mut start = Timestamp::from_millis(first.div_euclid(step_ms) * step_ms);
                if start < from.max(earliest) {
                    start = start.plus_secs(SLOT_STEP_S);
                }
                while start.plus_secs(i64::from(on_site)) <= to {
                    if let Some(added) =
                        fits(&day.plan, &travel, target, secs(start), f64::from(on_site))
                    {
                        by_start
                            .entry(start)
                            .or_default()
                            .push((added, day.provider));
                    }
                    start = start.plus_secs(SLOT_STEP_S);
                }
            }
        }
        let appointment = i64::from(candidates.service.duration_min) * 60;
        Ok(by_start
            .into_iter()
            .map(|(start, mut who)| {
                who.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                Slot {
                    start,
                    end: start.plus_secs(appointment),
                    providers: who.into_iter().map(|(_, p)| p).collect(),
                }
            })
            .collect())
    }

    /// The free slots for a visit from `from` to `to` (local dates, inclusive, at most
    /// [`MAX_RANGE_DAYS`]). 422 `invalid_date_range` for a range backwards, too long, in the past or too
    /// far ahead; the candidates' refusals as [`App::candidates`] gives them.
    pub async fn availability(
        &self,
        caller: &User,
        visit: VisitRequest,
        from: CalendarDate,
        to: CalendarDate,
    ) -> Result<(HcService, Vec<Slot>), AppError> {
        let _ = caller;
        let now = self.clock().now();
        let today = date_of(now)?;
        if to < from
            || to.days() - from.days() >= MAX_RANGE_DAYS
            || from < today
            || to.days() - today.days() > MAX_AHEAD_DAYS
        {
            return Err(AppError::invalid(
                "invalid_date_range",
                format!(
                    "from must be today or later, to on or after from, at most {MAX_RANGE_DAYS} days and within {MAX_AHEAD_DAYS} days from today"
                ),
            ));
        }
        let candidates = self.candidates(caller.id, &visit, today).await?;
        let dates: Vec<CalendarDate> = (from.days()..=to.days())
            .filter_map(CalendarDate::from_days)
            .collect();
        let slots = self
            .slots_on(&candidates, visit.place, &dates, (None, None), now)
            .await?;
        Ok((candidates.service, slots))
    }

    /// Checks a start for booking: on a quarter hour, at least the lead time ahead, within the horizon.
    fn check_start(&self, start: Timestamp, now: Timestamp) -> Result<CalendarDate, AppError> {
        if start.millis() % (SLOT_STEP_S * 1000) != 0 {
            return Err(AppError::invalid(
                "invalid_start",
                "a visit starts on a quarter hour (:00, :15, :30, :45)",
            ));
        }
        if start < now.plus_secs(MIN_LEAD_S) || start > now.plus_secs(MAX_AHEAD_DAYS * 86_400) {
            return Err(AppError::invalid(
                "invalid_start",
                format!(
                    "a visit starts at least an hour from now and within {MAX_AHEAD_DAYS} days"
                ),
            ));
        }
        date_of(start)
    }

    /// The free slots of the start's day, for a 409.
    async fn fresh_slots(
        &self,
        candidates: &Candidates,
        place: LatLng,
        date: CalendarDate,
        skip: (Option<JobId>, Option<HoldId>),
    ) -> Result<Vec<Slot>, AppError> {
        self.slots_on(candidates, place, &[date], skip, self.clock().now())
            .await
    }

    /// Who takes a visit at `start` (the best of the candidates whose day fits it) with their calendar
    /// version, or the slots still free that day.
    async fn pick_provider(
        &self,
        candidates: &Candidates,
        place: LatLng,
        start: Timestamp,
        skip: (Option<JobId>, Option<HoldId>),
        prefer: Option<UserId>,
    ) -> Result<Result<(UserId, i64), Vec<Slot>>, AppError> {
        let now = self.clock().now();
        let date = date_of(start)?;
        let days = self.days(&candidates.providers, &[date], skip, now).await?;
        let travel = CityTravel::new(self.city());
        let on_site = candidates.service.on_site_secs();
        let works = days
            .values()
            .any(|d| within_hours(&d.plan, secs(start), f64::from(on_site)));
        if !works {
            return Err(AppError::invalid(
                "outside_working_hours",
                "no provider works then: the visit must start and end within working hours",
            ));
        }
        let mut best: Option<(bool, f64, UserId, i64)> = None;
        for (profile, version) in &candidates.providers {
            let Some(day) = days.get(&(date, profile.user)) else {
                continue;
            };
            if let Some(added) = fits(
                &day.plan,
                &travel,
                CityPlace::of(place),
                secs(start),
                f64::from(on_site),
            ) {
                let preferred = prefer != Some(profile.user);
                let key = (preferred, added, profile.user, *version);
                if best
                    .as_ref()
                    .is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2))
                {
                    best = Some(key);
                }
            }
        }
        match best {
            Some((_, _, provider, version)) => Ok(Ok((provider, version))),
            None => Ok(Err(self.fresh_slots(candidates, place, date, skip).await?)),
        }
    }

    /// The earliest start of an "as soon as possible" visit: on the next five minutes at least
    /// [`ASAP_LEAD_S`] from now, the first start within the next [`ASAP_HORIZON_S`] that some
    /// provider's day takes (the provider with the earliest feasible gap, as a ride goes to the nearest
    /// driver). 409 `no_provider_available` when none can come that soon.
    async fn earliest_start(
        &self,
        customer: UserId,
        visit: &VisitRequest,
        now: Timestamp,
    ) -> Result<Timestamp, BookError> {
        let today = date_of(now)?;
        let candidates = self.candidates(customer, visit, today).await?;
        let step_ms = ASAP_STEP_S * 1000;
        let first = now.plus_secs(ASAP_LEAD_S).millis();
        let first = Timestamp::from_millis(first.div_euclid(step_ms) * step_ms + step_ms);
        let last = now.plus_secs(ASAP_HORIZON_S);
        let mut dates = vec![today];
        if let Ok(end) = date_of(last)
            && end != today
        {
            dates.push(end);
        }
        let days = self
            .days(&candidates.providers, &dates, (None, None), now)
            .await?;
        let travel = CityTravel::new(self.city());
        let on_site = f64::from(candidates.service.on_site_secs());
        let target = CityPlace::of(visit.place);
        let mut start = first;
        while start <= last {
            if days
                .values()
                .any(|d| fits(&d.plan, &travel, target, secs(start), on_site).is_some())
            {
                return Ok(start);
            }
            start = start.plus_secs(ASAP_STEP_S);
        }
        Err(AppError::conflict(
            "no_provider_available",
            "no provider can come in the next few hours; book a slot instead",
        )
        .into())
    }

    /// Holds a slot for the caller for [`HOLD_S`] (their earlier hold is released). 409
    /// `slot_unavailable` with the day's free slots when it is taken.
    pub async fn hold_slot(
        &self,
        caller: &User,
        visit: VisitRequest,
        start: Timestamp,
    ) -> Result<Hold, BookError> {
        let now = self.clock().now();
        let date = self.check_start(start, now)?;
        let _ = date;
        for _ in 0..CALENDAR_RETRIES {
            let today = date_of(self.clock().now())?;
            let candidates = self.candidates(caller.id, &visit, today).await?;
            let (provider, version) = match self
                .pick_provider(&candidates, visit.place, start, (None, None), None)
                .await?
            {
                Ok(p) => p,
                Err(slots) => return Err(BookError::SlotUnavailable(slots)),
            };
            let now = self.clock().now();
            let hold = Hold {
                id: HoldId::from_uuid(uuid::Uuid::now_v7()),
                customer: caller.id,
                provider,
                service: candidates.service.id,
                place: visit.place,
                starts_at: start,
                ends_at: start.plus_secs(i64::from(candidates.service.on_site_secs())),
                expires_at: now.plus_secs(HOLD_S),
            };
            match self.store().create_hold(&hold, version, now).await {
                Ok(()) => return Ok(hold),
                Err(StoreError::CalendarChanged) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BookError::App(AppError::conflict(
            "calendar_busy",
            "the calendar changed too often; try again",
        )))
    }

    /// Books a visit, idempotently by `idempotency_key` (a retry answers the booking made, `false`). A
    /// hold of the caller's for the same service, place and start keeps its provider; without one, the
    /// chosen provider or the best provider whose day takes it. 409 `slot_unavailable` with the day's
    /// free slots when no one can take it any more.
    pub async fn book(
        &self,
        caller: &User,
        req: BookRequest,
        idempotency_key: Option<&str>,
    ) -> Result<(Booking, bool), BookError> {
        if !matches!(caller.role, Role::Rider) {
            return Err(AppError::Forbidden("only customers book house calls").into());
        }
        let hash = book_request_hash(&req);
        if let Some(key) = idempotency_key
            && let Some((existing, stored)) = self
                .store()
                .booking_by_idempotency_key(caller.id, key)
                .await?
        {
            return same_request(existing, &stored, &hash).map_err(BookError::App);
        }
        let now = self.clock().now();
        let start = match req.start {
            Some(start) => {
                self.check_start(start, now)?;
                start
            }
            None => self.earliest_start(caller.id, &req.visit, now).await?,
        };
        let mut visit = req.visit;
        let mut skip_hold = None;
        if let Some(hold_id) = req.hold {
            let hold = self
                .store()
                .hold(hold_id)
                .await?
                .filter(|h| h.customer == caller.id)
                .ok_or(AppError::NotFound("hold"))?;
            if hold.expires_at <= now {
                return Err(AppError::conflict(
                    "hold_expired",
                    "the hold has expired; hold the slot again",
                )
                .into());
            }
            if hold.service != visit.service || hold.starts_at != start || hold.place != visit.place
            {
                return Err(AppError::invalid(
                    "hold_mismatch",
                    "the hold is for another service, start or place",
                )
                .into());
            }
            if visit.provider.is_some_and(|p| p != hold.provider) {
                return Err(AppError::invalid(
                    "hold_mismatch",
                    "the hold is with another provider",
                )
                .into());
            }
            skip_hold = Some(hold.id);
            // The held provider, checked again without the hold itself.
            visit.provider = Some(hold.provider);
        }
        let method = self
            .order_payment_method(caller, req.payment_method.as_deref())
            .await?;
        let choice = if req.visit.provider.is_some() {
            ProviderChoice::Chosen
        } else {
            ProviderChoice::Any
        };
        for _ in 0..CALENDAR_RETRIES {
            let today = date_of(self.clock().now())?;
            let candidates = self.candidates(caller.id, &visit, today).await?;
            let (provider, version) = match self
                .pick_provider(
                    &candidates,
                    visit.place,
                    start,
                    (None, skip_hold),
                    req.prefer,
                )
                .await?
            {
                Ok(p) => p,
                Err(slots) => return Err(BookError::SlotUnavailable(slots)),
            };
            let now = self.clock().now();
            let (booking, events) = Booking::book(
                NewBooking {
                    id: JobId::from_uuid(uuid::Uuid::now_v7()),
                    customer: caller.id,
                    provider,
                    service: &candidates.service,
                    place: visit.place,
                    address: req.address.clone(),
                    start,
                    choice,
                    series: req.series,
                    checkin: VerificationCode::random(CodeLength::FOUR, &mut rand::rng()),
                },
                now,
            );
            let to = recipients(&booking, None);
            let events: Vec<_> = events.into_iter().map(|e| (e, to.clone())).collect();
            let auth = self
                .authorise_job(&method, booking.id(), booking.record().price)
                .await?;
            let written = self
                .store()
                .book(
                    &booking,
                    &[(provider, version)],
                    skip_hold,
                    idempotency_key,
                    &hash,
                    &events,
                    now,
                )
                .await;
            match written {
                Ok(Booked::New(booking, stored)) => {
                    if let Err(e) = self.record_authorisation(&auth).await {
                        // The booking stands; its hold is released and it is charged nothing.
                        tracing::error!(error = %e, booking_id = %booking.id(), "recording the authorisation failed");
                        self.release_unused(&method, &auth).await;
                    }
                    self.publish_all(stored);
                    return Ok((booking, true));
                }
                Ok(Booked::Existing(existing, stored)) => {
                    self.release_unused(&method, &auth).await;
                    return same_request(existing, &stored, &hash).map_err(BookError::App);
                }
                Err(StoreError::CalendarChanged) => {
                    self.release_unused(&method, &auth).await;
                    continue;
                }
                Err(e) => {
                    self.release_unused(&method, &auth).await;
                    return Err(e.into());
                }
            }
        }
        Err(BookError::App(AppError::conflict(
            "calendar_busy",
            "the calendar changed too often; try again",
        )))
    }

    /// A booking as the caller may see it: its customer, its provider, or an operator (404 otherwise).
    pub async fn booking_for(&self, caller: &User, id: JobId) -> Result<Booking, AppError> {
        let booking = self
            .store()
            .booking(id)
            .await?
            .ok_or(AppError::NotFound("booking"))?;
        let mine = booking.customer() == caller.id
            || booking.provider() == caller.id
            || caller.role == Role::Admin;
        if mine {
            Ok(booking)
        } else {
            Err(AppError::NotFound("booking"))
        }
    }

    /// The caller's bookings (a customer's, or a provider's visits) starting from `from` for `days`.
    pub async fn my_bookings(
        &self,
        caller: &User,
        from: Timestamp,
        days: i64,
    ) -> Result<Vec<Booking>, AppError> {
        let to = from.plus_secs(days.clamp(1, MAX_AHEAD_DAYS) * 86_400);
        match caller.role {
            Role::Provider => Ok(self
                .store()
                .bookings_of_provider(caller.id, from, to)
                .await?),
            _ => Ok(self
                .store()
                .bookings_of_customer(caller.id, from, to)
                .await?),
        }
    }

    /// The customer cancels their booking: free up to the policy's notice, the late fee after.
    pub async fn cancel_booking(&self, caller: &User, id: JobId) -> Result<Booking, AppError> {
        for _ in 0..CALENDAR_RETRIES {
            let mut booking = self.booking_for(caller, id).await?;
            if booking.customer() != caller.id {
                return Err(AppError::NotFound("booking"));
            }
            let expected = booking.version();
            let now = self.clock().now();
            let policy = self.cancellation_policy();
            let (_fee, events) = booking
                .cancel_by_customer(caller.id, &policy, now)
                .map_err(booking_error)?;
            let postings = self.booking_postings(&booking, now)?;
            let to = recipients(&booking, None);
            let events: Vec<(BookingEvent, Vec<Recipient>)> =
                events.into_iter().map(|e| (e, to.clone())).collect();
            match self
                .store()
                .save_booking_change(BookingChange {
                    booking: &booking,
                    expected_version: expected,
                    calendars: &[],
                    events: &events,
                    postings: &postings,
                    at: now,
                })
                .await
            {
                Ok(stored) => {
                    self.publish_all(stored);
                    self.settle_booking(&booking).await;
                    return Ok(booking);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::conflict(
            "concurrent_update",
            "the booking changed meanwhile; read it again",
        ))
    }

    /// The customer moves their booking to `start`: the same provider if their day takes it, else (for
    /// "any provider") the best other one. 409 `slot_unavailable` with that day's free slots if none.
    pub async fn reschedule_booking(
        &self,
        caller: &User,
        id: JobId,
        start: Timestamp,
    ) -> Result<Booking, BookError> {
        let now = self.clock().now();
        self.check_start(start, now)?;
        for _ in 0..CALENDAR_RETRIES {
            let mut booking = self.booking_for(caller, id).await?;
            if booking.customer() != caller.id {
                return Err(AppError::NotFound("booking").into());
            }
            if booking.state() != BookingState::Confirmed {
                return Err(AppError::conflict(
                    "invalid_booking_state",
                    format!(
                        "a booking that is {} cannot be rescheduled",
                        booking.state().as_str()
                    ),
                )
                .into());
            }
            let visit = VisitRequest {
                service: booking.record().service,
                place: booking.place(),
                provider: (booking.record().choice == ProviderChoice::Chosen)
                    .then(|| booking.provider()),
            };
            let today = date_of(self.clock().now())?;
            let candidates = self.candidates(caller.id, &visit, today).await?;
            let (provider, version) = match self
                .pick_provider(
                    &candidates,
                    visit.place,
                    start,
                    (Some(id), None),
                    Some(booking.provider()),
                )
                .await?
            {
                Ok(p) => p,
                Err(slots) => return Err(BookError::SlotUnavailable(slots)),
            };
            let expected = booking.version();
            let before = booking.provider();
            let now = self.clock().now();
            let events = booking
                .reschedule(start, provider, now)
                .map_err(booking_error)?;
            let to = recipients(&booking, Some(before));
            let events: Vec<(BookingEvent, Vec<Recipient>)> =
                events.into_iter().map(|e| (e, to.clone())).collect();
            match self
                .store()
                .save_booking_change(BookingChange {
                    booking: &booking,
                    expected_version: expected,
                    calendars: &[(provider, version)],
                    events: &events,
                    postings: &[],
                    at: now,
                })
                .await
            {
                Ok(stored) => {
                    self.publish_all(stored);
                    return Ok(booking);
                }
                Err(StoreError::Conflict | StoreError::CalendarChanged) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(BookError::App(AppError::conflict(
            "calendar_busy",
            "the calendar changed too often; try again",
        )))
    }
}

fn same_request(existing: Booking, stored: &str, new: &str) -> Result<(Booking, bool), AppError> {
    if stored == new {
        Ok((existing, false))
    } else {
        Err(AppError::invalid(
            "idempotency_key_reused",
            "this Idempotency-Key was used for another booking",
        ))
    }
}

/// The most weeks a recurring booking covers.
pub const MAX_SERIES_WEEKS: u32 = 12;

/// What booking a weekly series did.
#[derive(Debug, Clone)]
pub struct Series {
    /// The series.
    pub id: SeriesId,
    /// The weeks booked, in order (the first always).
    pub bookings: Vec<Booking>,
    /// The weeks whose slot no provider could take, by the start asked for.
    pub skipped: Vec<Timestamp>,
}

impl App {
    /// Books the same slot every week for `weeks` weeks (2 to [`MAX_SERIES_WEEKS`]) at the same wall-clock
    /// time: the first week must succeed (else its refusal is the answer); later weeks keep the first
    /// week's provider when their day takes it, else (for "any provider") the best one free, and a week
    /// no one can take is skipped and listed. Each week is a booking of its own, paid on its own, with the
    /// idempotency key `<key>:w<n>`, so a retry of the whole series books nothing twice.
    pub async fn book_weekly(
        &self,
        caller: &User,
        mut req: BookRequest,
        weeks: u32,
        idempotency_key: Option<&str>,
    ) -> Result<Series, BookError> {
        if !(2..=MAX_SERIES_WEEKS).contains(&weeks) {
            return Err(AppError::invalid(
                "invalid_weeks",
                format!("a weekly series is 2 to {MAX_SERIES_WEEKS} weeks"),
            )
            .into());
        }
        let Some(first_start) = req.start else {
            return Err(AppError::invalid("start_or_asap", "a weekly series needs a start").into());
        };
        let date = date_of(first_start)?;
        let minute = first_start.secs_since(local_instant(date, 0)) / 60;
        let minute = u32::try_from(minute).unwrap_or(0);
        let id = SeriesId::from_uuid(uuid::Uuid::now_v7());
        req.series = Some(id);
        let key_of = |week: u32| idempotency_key.map(|k| format!("{k}:w{week}"));
        let first_key = key_of(0);
        let (first, _) = self.book(caller, req.clone(), first_key.as_deref()).await?;
        // A retried series answers with the series its first week was booked in.
        let id = first.record().series.unwrap_or(id);
        req.series = Some(id);
        req.hold = None;
        req.prefer = Some(first.provider());
        let mut out = Series {
            id,
            bookings: vec![first],
            skipped: Vec::new(),
        };
        for week in 1..weeks {
            let Some(day) = CalendarDate::from_days(date.days() + 7 * i64::from(week)) else {
                break;
            };
            let start = local_instant(day, minute);
            let key = key_of(week);
            let mut this = req.clone();
            this.start = Some(start);
            match self.book(caller, this, key.as_deref()).await {
                Ok((booking, _)) => out.bookings.push(booking),
                Err(BookError::SlotUnavailable(_)) => out.skipped.push(start),
                Err(BookError::App(AppError::Invalid { code, .. }))
                    if code == "outside_working_hours" || code == "invalid_start" =>
                {
                    out.skipped.push(start);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
