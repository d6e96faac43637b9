//! House calls in the demo: the operator's catalogue, the providers, and clients who book them.
//!
//! [`run_house_calls`] signs in as the demo's operator, puts the [`SERVICES`] in the catalogue (or finds
//! them by name in a resumed demo), starts a provider agent for each of [`crate::DemoConfig::providers`]
//! planned providers ([`crate::providers`]) and approves each once it has written its profile and
//! documents. Then clients book: a Poisson stream over the day whose rate follows [`BOOKING_CURVE`]
//! (people book in the morning and the evening), scaled to [`crate::DemoConfig::house_calls_per_day`].
//! Each client (`client{N}@demo.doorstep.dev`, role rider, with a test card) lives at one of the city's
//! lots, wants a service ([`crate::services_catalogue::draw_service`]) at a wished time (later today or
//! tomorrow, [`draw_wish`]), asks the availability of that day and takes the free start nearest the wish
//! ([`pick_slot`]); mostly with any provider, sometimes a provider it chose among those offered. It holds
//! the slot, books it with an `Idempotency-Key` and tells the check-in code to its provider through the
//! in-process board. A few cancel ([`CANCEL_PROBABILITY`]) or move the visit
//! ([`RESCHEDULE_PROBABILITY`]) some time before it.
//!
//! Time: the server judges a booking's start by its own clock (at least an hour ahead, quarter hours),
//! while the demo's clients and providers live on the demo's clock, which runs `--speed` times faster.
//! The demo reads a booking's start on its own clock ([`VisitClock`]): a visit booked for two hours ahead
//! happens when the demo's clock gets there, twelve real minutes later at speed 10. The server does not
//! hold arrival, check-in or check-out to the start (only the no-shows, which the demo therefore does not
//! play), so to the server the demo's providers come early and work fast, as its drivers drive fast.

use std::sync::Arc;
use std::time::Duration;

use doorstep_geo::{City, Utm, ZoneIdx, new_york_local};
use rand::Rng;
use rand_pcg::Pcg64;
use reqwest::Method;
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::Ctx;
use crate::accounts::{Account, RiderPool, Role};
use crate::api::{ApiError, with_retry};
use crate::clock::{SimClock, parse_rfc3339, wall_clock_unix};
use crate::kpis::HouseCallCount;
use crate::providers::{plan_providers, run_provider};
use crate::seed::{Stream, agent_rng};
use crate::services_catalogue::{SERVICES, draw_service, service_body};
use crate::shutdown::Shutdown;
use crate::wire::WirePoint;

/// Relative booking activity by hour of the New York day (when clients book, not when they are visited).
pub const BOOKING_CURVE: [f64; 24] = [
    0.10, 0.05, 0.03, 0.03, 0.03, 0.10, 0.30, 0.60, 0.90, 1.00, 1.00, 0.90, 0.90, 0.80, 0.80, 0.80,
    0.80, 0.90, 1.00, 1.00, 0.90, 0.70, 0.40, 0.20,
];
/// Share of clients who want the visit later the same day (the others: the next day).
pub const SAME_DAY_SHARE: f64 = 0.55;
/// Share of clients who choose their provider (the others take any provider).
pub const CHOSEN_PROVIDER_SHARE: f64 = 0.25;
/// Share of clients who cancel before the visit.
pub const CANCEL_PROBABILITY: f64 = 0.06;
/// Share of clients who move the visit to another start.
pub const RESCHEDULE_PROBABILITY: f64 = 0.07;
/// A client books a start at least this long after now on the demo's clock, seconds: the provider's drive.
pub const MIN_LEAD_SECS: f64 = 3600.0;
/// How long customers wait for the providers to be approved before booking anyway (real time).
const PROVIDERS_TIMEOUT: Duration = Duration::from_secs(120);
/// At most this many client tasks at once; bookings beyond are skipped.
const MAX_ACTIVE_CLIENTS: usize = 1000;
/// Holds tried before a client gives up (a slot taken meanwhile is asked again).
const HOLD_ATTEMPTS: u32 = 3;

/// The clock house calls run on: the demo's simulated clock, anchored at the real time when the demo's
/// clock starts elsewhere (tests start it at a fixed hour; the server's bookings are in real time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct VisitClock {
    sim: SimClock,
    offset: f64,
}

impl VisitClock {
    pub(crate) fn of(ctx: &Ctx) -> VisitClock {
        let offset = if ctx.config.clock_start_unix.is_some() {
            wall_clock_unix() - ctx.clock.now()
        } else {
            0.0
        };
        VisitClock {
            sim: ctx.clock,
            offset,
        }
    }

    /// Now, Unix seconds.
    pub(crate) fn now(&self) -> f64 {
        self.sim.now() + self.offset
    }

    /// The real time until this clock reads `unix`.
    pub(crate) fn real_until(&self, unix: f64) -> Duration {
        self.sim.real_until(unix - self.offset)
    }
}

// ---- the wire

/// A booking (`BookingView`), the fields the demo reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BookingWire {
    pub(crate) id: String,
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) duration_min: u32,
    pub(crate) location: WirePoint,
    pub(crate) start: String,
    #[serde(default)]
    pub(crate) provider_id: String,
    /// `chosen` or `any`.
    #[serde(default)]
    pub(crate) provider_choice: String,
    #[serde(default)]
    pub(crate) checkin_code: Option<String>,
}

impl BookingWire {
    /// Whether the visit is still to happen or under way.
    pub(crate) fn is_open(&self) -> bool {
        matches!(
            self.state.as_str(),
            "confirmed" | "on_the_way" | "arrived" | "in_progress"
        )
    }
}

/// `GET /v1/house-calls/bookings`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BookingList {
    pub(crate) bookings: Vec<BookingWire>,
}

#[derive(Debug, Clone, Deserialize)]
struct ServiceWire {
    id: String,
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ServiceListWire {
    services: Vec<ServiceWire>,
}

#[derive(Debug, Clone, Deserialize)]
struct SlotWire {
    start: String,
    #[serde(default)]
    provider_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct AvailabilityWire {
    slots: Vec<SlotWire>,
}

#[derive(Debug, Clone, Deserialize)]
struct HoldWire {
    hold_id: String,
}

// ---- pure parts

/// Bookings a second at New York second of day `seconds_of_day` for `per_day` a day.
pub fn booking_rate_per_sec(per_day: f64, seconds_of_day: u32) -> f64 {
    let total: f64 = BOOKING_CURVE.iter().sum();
    let hour = (seconds_of_day / 3600).min(23) as usize;
    per_day.max(0.0) * BOOKING_CURVE[hour] / total / 3600.0
}

/// When a client asking at `now` (Unix seconds) wants the visit: two to six hours later the same day
/// (if that is between 08:00 and 20:30), else between 09:00 and 19:00 of the next day (of the same day
/// when asking before 06:00).
pub fn draw_wish(now: f64, rng: &mut impl Rng) -> f64 {
    let sod = f64::from(new_york_local(now.floor() as i64).seconds_of_day);
    let midnight = now - sod;
    if rng.random_bool(SAME_DAY_SHARE) {
        let t = now + rng.random_range(2.0 * 3600.0..6.0 * 3600.0);
        if (8.0 * 3600.0..=20.5 * 3600.0).contains(&(t - midnight)) {
            return t;
        }
    }
    let day = if sod < 6.0 * 3600.0 { 0.0 } else { 86_400.0 };
    midnight + day + rng.random_range(9.0 * 3600.0..19.0 * 3600.0)
}

/// The start among `starts` (Unix seconds) nearest `wish`, not before `earliest` and not `except`: its
/// index (ties: the earlier).
pub fn pick_slot(starts: &[f64], wish: f64, earliest: f64, except: Option<f64>) -> Option<usize> {
    starts
        .iter()
        .enumerate()
        .filter(|(_, s)| **s >= earliest && except.is_none_or(|e| (**s - e).abs() > 1.0))
        .min_by(|(_, a), (_, b)| {
            (**a - wish)
                .abs()
                .total_cmp(&(**b - wish).abs())
                .then(a.total_cmp(b))
        })
        .map(|(i, _)| i)
}

/// The New York date of `unix`, `YYYY-MM-DD`.
pub fn local_date(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let local = secs + i64::from(doorstep_geo::new_york_utc_offset_secs(secs));
    let (y, m, d) = doorstep_geo::civil_from_days(local.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// One client's booking in the schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledCall {
    /// Its number, from 0: the client's random stream.
    pub index: u64,
    /// When the client asks, Unix seconds on the demo's clock.
    pub at_unix: f64,
    /// Where the client lives: a lot of the city.
    pub place: Utm,
    /// The zone of the place.
    pub zone: ZoneIdx,
}

/// The clients' bookings from a start time on, seeded: a Poisson stream following [`BOOKING_CURVE`].
#[derive(Debug)]
pub struct HouseCallSchedule {
    rng: Pcg64,
    places: Vec<(Utm, ZoneIdx)>,
    now: f64,
    per_day: f64,
    peak: f64,
    index: u64,
}

impl HouseCallSchedule {
    /// The schedule of `per_day` bookings a day from `start_unix` on, seeded by `seed`.
    pub fn new(city: &City, start_unix: f64, per_day: f64, seed: u64) -> HouseCallSchedule {
        let places = city
            .lots()
            .iter()
            .filter(|l| !crate::sandbox::contains(l.pos))
            .map(|l| (l.pos, l.zone))
            .collect();
        let max = BOOKING_CURVE.iter().copied().fold(0.0, f64::max);
        let total: f64 = BOOKING_CURVE.iter().sum();
        HouseCallSchedule {
            rng: agent_rng(seed, Stream::HouseCallSchedule, 0),
            places,
            now: start_unix,
            per_day: per_day.max(0.0),
            peak: per_day.max(0.0) * max / total / 3600.0,
            index: 0,
        }
    }
}

impl Iterator for HouseCallSchedule {
    type Item = ScheduledCall;

    fn next(&mut self) -> Option<ScheduledCall> {
        if !self.peak.is_finite() || self.peak <= 0.0 || self.places.is_empty() {
            return None;
        }
        loop {
            let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
            self.now += -u.ln() / self.peak;
            let sod = new_york_local(self.now.floor() as i64).seconds_of_day;
            let rate = booking_rate_per_sec(self.per_day, sod);
            if self.rng.random_bool((rate / self.peak).clamp(0.0, 1.0)) {
                let (place, zone) = self.places[self.rng.random_range(0..self.places.len())];
                let call = ScheduledCall {
                    index: self.index,
                    at_unix: self.now,
                    place,
                    zone,
                };
                self.index += 1;
                return Some(call);
            }
        }
    }
}

// ---- the agents

/// Puts up the catalogue, starts and approves the providers, then runs the clients until the demo stops.
pub(crate) async fn run_house_calls(ctx: Arc<Ctx>, mut shutdown: Shutdown) {
    let plans = plan_providers(ctx.city, ctx.config.providers, ctx.config.seed);
    if plans.is_empty() {
        return;
    }
    let Some(operator) = crate::food::operator_token(&ctx, &shutdown).await else {
        return;
    };
    let Some(service_ids) = catalogue(&ctx, &operator, &shutdown).await else {
        return;
    };
    let service_ids = Arc::new(service_ids);
    let clock = VisitClock::of(&ctx);
    let (ready_tx, mut ready_rx) = mpsc::channel(plans.len());
    let mut agents = JoinSet::new();
    for plan in plans.iter().cloned() {
        agents.spawn(run_provider(
            Arc::clone(&ctx),
            plan,
            Arc::clone(&service_ids),
            clock,
            ready_tx.clone(),
            shutdown.clone(),
        ));
    }
    drop(ready_tx);
    let timeout = tokio::time::sleep(PROVIDERS_TIMEOUT);
    let mut timeout = std::pin::pin!(timeout);
    let mut clients = false;
    let mut approved = 0_usize;
    loop {
        let start_clients = tokio::select! {
            () = shutdown.wait() => break,
            Some((index, user_id)) = ready_rx.recv() => {
                if approve(&ctx, &operator, index, &user_id, &shutdown).await {
                    approved += 1;
                    ctx.kpis.house_call(HouseCallCount::ProviderReady);
                }
                approved == plans.len()
            }
            () = &mut timeout, if !clients => {
                tracing::warn!(approved, of = plans.len(), "not every demo provider was approved in time; clients book anyway");
                true
            }
        };
        if start_clients && !clients {
            clients = true;
            tracing::info!(approved, of = plans.len(), "demo providers approved");
            agents.spawn(run_clients(
                Arc::clone(&ctx),
                Arc::clone(&service_ids),
                clock,
                shutdown.clone(),
            ));
        }
    }
    while agents.join_next().await.is_some() {}
}

/// The catalogue's ids by index in [`SERVICES`]: found by name, or created by the operator.
async fn catalogue(ctx: &Ctx, operator: &str, shutdown: &Shutdown) -> Option<Vec<String>> {
    let listed = with_retry(shutdown, "list services", || {
        ctx.api.call::<ServiceListWire>(
            Method::GET,
            "/v1/house-calls/services",
            operator,
            None,
            None,
        )
    })
    .await;
    let listed = match listed {
        Ok(l) => l.services,
        Err(error) => {
            tracing::warn!(%error, "the house-call catalogue could not be read: no house calls");
            return None;
        }
    };
    let mut ids = Vec::with_capacity(SERVICES.len());
    for (i, spec) in SERVICES.iter().enumerate() {
        if let Some(found) = listed.iter().find(|s| s.name == spec.name) {
            ids.push(found.id.clone());
            continue;
        }
        let key = format!("demo-{}-service-{i}", ctx.config.seed);
        let body = service_body(spec);
        let created = with_retry(shutdown, "create service", || {
            ctx.api.call::<ServiceWire>(
                Method::POST,
                "/v1/admin/house-calls/services",
                operator,
                Some(&key),
                Some(&body),
            )
        })
        .await;
        match created {
            Ok(s) => ids.push(s.id),
            Err(error) => {
                tracing::warn!(service = spec.name, %error, "a demo service could not be created: no house calls");
                return None;
            }
        }
    }
    Some(ids)
}

/// The operator approves provider `index` (`user_id`); true if it is approved (now or before).
async fn approve(
    ctx: &Ctx,
    operator: &str,
    index: usize,
    user_id: &str,
    shutdown: &Shutdown,
) -> bool {
    let key = format!("demo-{}-approve-provider-{index}", ctx.config.seed);
    let path = format!("/v1/admin/providers/{user_id}/approve");
    let body = serde_json::json!({"reason": "demo provider: documents checked"});
    let approved = with_retry(shutdown, "approve provider", || {
        ctx.api
            .call::<IgnoredAny>(Method::POST, &path, operator, Some(&key), Some(&body))
    })
    .await;
    match approved {
        Ok(_) => true,
        // A resumed demo's provider is approved already.
        Err(error) if error.code() == Some("invalid_provider_state") => true,
        Err(error) => {
            tracing::warn!(provider = index, %error, "a demo provider could not be approved");
            false
        }
    }
}

/// Spawns a client for each booking of the schedule, on time, until the demo stops.
async fn run_clients(
    ctx: Arc<Ctx>,
    service_ids: Arc<Vec<String>>,
    clock: VisitClock,
    mut shutdown: Shutdown,
) {
    let pool = Arc::new(RiderPool::of(Role::Client));
    let schedule = HouseCallSchedule::new(
        ctx.city,
        clock.now(),
        ctx.config.house_calls_per_day,
        ctx.config.seed,
    );
    let mut clients = JoinSet::new();
    for call in schedule {
        if !shutdown.sleep(clock.real_until(call.at_unix)).await {
            break;
        }
        while let Some(finished) = clients.try_join_next() {
            if let Err(error) = finished {
                tracing::error!(%error, "a house-call client panicked");
            }
        }
        if clients.len() >= MAX_ACTIVE_CLIENTS {
            tracing::debug!("too many house-call clients waiting; skipping one");
            continue;
        }
        clients.spawn(run_client(
            Arc::clone(&ctx),
            Arc::clone(&pool),
            Arc::clone(&service_ids),
            clock,
            call,
            shutdown.clone(),
        ));
    }
    shutdown.wait().await;
    while clients.join_next().await.is_some() {}
}

struct Client {
    ctx: Arc<Ctx>,
    rng: Pcg64,
    account: Account,
    call: ScheduledCall,
    service_id: String,
    clock: VisitClock,
    shutdown: Shutdown,
}

async fn run_client(
    ctx: Arc<Ctx>,
    pool: Arc<RiderPool>,
    service_ids: Arc<Vec<String>>,
    clock: VisitClock,
    call: ScheduledCall,
    shutdown: Shutdown,
) {
    let mut rng = agent_rng(ctx.config.seed, Stream::Client, call.index);
    let Some(service_id) = service_ids.get(draw_service(&mut rng)).cloned() else {
        return;
    };
    let Some(account) = pool.acquire(&ctx.api, &shutdown).await else {
        return;
    };
    let mut client = Client {
        ctx,
        rng,
        account,
        call,
        service_id,
        clock,
        shutdown,
    };
    let keep = client.book_and_keep().await;
    if keep {
        pool.release(client.account);
    }
}

impl Client {
    fn point(&self) -> WirePoint {
        WirePoint::from_utm(self.call.place)
    }

    /// The free starts of the wished day (with a chosen provider, theirs): `(start, providers)`.
    async fn availability(
        &self,
        wish: f64,
        provider: Option<&str>,
    ) -> Result<Vec<(f64, Vec<String>)>, ApiError> {
        let p = self.point();
        let date = local_date(wish);
        let mut path = format!(
            "/v1/house-calls/availability?service_id={}&lat={}&lng={}&from={date}&to={date}",
            self.service_id, p.lat, p.lng
        );
        if let Some(provider) = provider {
            path.push_str(&format!("&provider_id={provider}"));
        }
        let token = self.account.token.clone();
        let found = with_retry(&self.shutdown, "availability", || {
            self.ctx
                .api
                .call::<AvailabilityWire>(Method::GET, &path, &token, None, None)
        })
        .await?;
        Ok(found
            .slots
            .into_iter()
            .filter_map(|s| parse_rfc3339(&s.start).map(|t| (t, s.provider_ids)))
            .collect())
    }

    /// The slot nearest `wish`: its start and providers.
    fn nearest(
        &self,
        slots: &[(f64, Vec<String>)],
        wish: f64,
        except: Option<f64>,
    ) -> Option<(f64, Vec<String>)> {
        let starts: Vec<f64> = slots.iter().map(|s| s.0).collect();
        let earliest = self.clock.now() + MIN_LEAD_SECS;
        pick_slot(&starts, wish, earliest, except).map(|i| slots[i].clone())
    }

    fn report(&self, step: &'static str, error: &ApiError) {
        if self.shutdown.is_stopping() || error.is_transient() {
            tracing::debug!(client = self.account.index, step, %error, "house call abandoned");
        } else {
            tracing::info!(client = self.account.index, step, %error, "house call refused");
        }
    }

    /// Books, tells the code, and cancels or reschedules if this client is one who does; false if the
    /// account's token was refused (the account is then dropped).
    async fn book_and_keep(&mut self) -> bool {
        let booking = match self.book().await {
            Ok(Some(b)) => b,
            Ok(None) => {
                self.ctx.kpis.house_call(HouseCallCount::NoSlot);
                return true;
            }
            Err(error) => {
                if error.code() == Some("outside_service_area")
                    || error.code() == Some("slot_unavailable")
                {
                    self.ctx.kpis.house_call(HouseCallCount::NoSlot);
                }
                self.report("book", &error);
                return error.status() != Some(401);
            }
        };
        self.ctx.kpis.house_call(HouseCallCount::Booked);
        if let Some(code) = &booking.checkin_code {
            self.ctx.codes.post(&booking.id, code);
        }
        tracing::debug!(client = self.account.index, booking_id = %booking.id, start = %booking.start, "house call booked");
        let Some(start) = parse_rfc3339(&booking.start) else {
            return true;
        };
        let draw: f64 = self.rng.random();
        let change = if draw < CANCEL_PROBABILITY {
            Some(true)
        } else if draw < CANCEL_PROBABILITY + RESCHEDULE_PROBABILITY {
            Some(false)
        } else {
            None
        };
        let Some(cancel) = change else {
            return true;
        };
        let now = self.clock.now();
        let latest = start - 45.0 * 60.0;
        if latest <= now {
            return true;
        }
        let at = now + self.rng.random_range(0.1..0.9) * (latest - now);
        let mut shutdown = self.shutdown.clone();
        if !shutdown.sleep(self.clock.real_until(at)).await {
            return true;
        }
        if cancel {
            self.cancel(&booking.id).await;
        } else {
            self.reschedule(&booking, start).await;
        }
        true
    }

    /// Asks, picks, holds and books; `Ok(None)` if no slot suits.
    async fn book(&mut self) -> Result<Option<BookingWire>, ApiError> {
        let wish = draw_wish(self.clock.now(), &mut self.rng);
        let slots = self.availability(wish, None).await?;
        let Some(mut slot) = self.nearest(&slots, wish, None) else {
            return Ok(None);
        };
        let mut chosen = None;
        if self.rng.random_bool(CHOSEN_PROVIDER_SHARE) && !slot.1.is_empty() {
            let provider = slot.1[self.rng.random_range(0..slot.1.len())].clone();
            let theirs = self.availability(wish, Some(&provider)).await?;
            match self.nearest(&theirs, wish, None) {
                Some(s) => slot = s,
                None => return Ok(None),
            }
            chosen = Some(provider);
        }
        let p = self.point();
        let location = serde_json::json!({"lat": p.lat, "lng": p.lng});
        let token = self.account.token.clone();
        let mut hold = None;
        for attempt in 1..=HOLD_ATTEMPTS {
            let start = crate::clock::rfc3339(slot.0);
            let mut body = serde_json::json!({
                "service_id": self.service_id,
                "location": location,
                "start": start,
            });
            if let Some(provider) = &chosen {
                body["provider_id"] = provider.clone().into();
            }
            let held = self
                .ctx
                .api
                .call::<HoldWire>(
                    Method::POST,
                    "/v1/house-calls/holds",
                    &token,
                    None,
                    Some(&body),
                )
                .await;
            match held {
                Ok(h) => {
                    hold = Some((h.hold_id, start));
                    break;
                }
                Err(error)
                    if error.code() == Some("slot_unavailable") && attempt < HOLD_ATTEMPTS =>
                {
                    let again = self.availability(wish, chosen.as_deref()).await?;
                    match self.nearest(&again, wish, None) {
                        Some(s) => slot = s,
                        None => return Ok(None),
                    }
                }
                Err(error) => return Err(error),
            }
        }
        let Some((hold_id, start)) = hold else {
            return Ok(None);
        };
        let zone = self
            .ctx
            .city
            .zones()
            .get(self.call.zone.index())
            .map_or("Manhattan", |z| z.name.as_str());
        let mut body = serde_json::json!({
            "service_id": self.service_id,
            "location": location,
            "address": format!("Demo client {}, {zone}, Manhattan", self.account.index),
            "start": start,
            "hold_id": hold_id,
        });
        if let Some(provider) = &chosen {
            body["provider_id"] = provider.clone().into();
        }
        // Seeded, so a run replays; prefixed with the run's start so that a resumed run never reuses one.
        let key = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
        let key = format!("{}/{key}", self.ctx.run_started);
        let booked = with_retry(&self.shutdown, "book house call", || {
            self.ctx.api.call::<BookingWire>(
                Method::POST,
                "/v1/house-calls/bookings",
                &token,
                Some(&key),
                Some(&body),
            )
        })
        .await?;
        Ok(Some(booked))
    }

    async fn cancel(&mut self, booking_id: &str) {
        let path = format!("/v1/house-calls/bookings/{booking_id}/cancel");
        let token = self.account.token.clone();
        let cancelled = with_retry(&self.shutdown, "cancel house call", || {
            self.ctx
                .api
                .call::<BookingWire>(Method::POST, &path, &token, None, None)
        })
        .await;
        match cancelled {
            Ok(b) if b.state == "cancelled" => {
                self.ctx.codes.remove(booking_id);
                self.ctx.kpis.house_call(HouseCallCount::Cancelled);
                tracing::debug!(
                    client = self.account.index,
                    booking_id,
                    "house call cancelled"
                );
            }
            Ok(_) => {}
            Err(error) => self.report("cancel", &error),
        }
    }

    async fn reschedule(&mut self, booking: &BookingWire, start: f64) {
        let hours = self.rng.random_range(1.0..3.0) * 3600.0;
        let wish = if self.rng.random_bool(0.5) {
            start + hours
        } else {
            start - hours
        };
        // A provider the client chose stays; "any provider" may become another.
        let chosen = (booking.provider_choice == "chosen").then(|| booking.provider_id.clone());
        let slots = match self.availability(wish, chosen.as_deref()).await {
            Ok(s) => s,
            Err(error) => return self.report("reschedule", &error),
        };
        let Some((new_start, _)) = self.nearest(&slots, wish, Some(start)) else {
            return;
        };
        let path = format!("/v1/house-calls/bookings/{}/reschedule", booking.id);
        let body = serde_json::json!({"start": crate::clock::rfc3339(new_start)});
        let token = self.account.token.clone();
        let moved = self
            .ctx
            .api
            .call::<BookingWire>(Method::POST, &path, &token, None, Some(&body))
            .await;
        match moved {
            Ok(b) => {
                if let Some(code) = &b.checkin_code {
                    self.ctx.codes.post(&b.id, code);
                }
                self.ctx.kpis.house_call(HouseCallCount::Rescheduled);
                tracing::debug!(client = self.account.index, booking_id = %b.id, start = %b.start, "house call moved");
            }
            Err(error) => self.report("reschedule", &error),
        }
    }
}
