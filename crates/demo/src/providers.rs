//! The demo's house-call providers: who they are ([`plan_providers`], pure and seeded) and the provider
//! app each runs ([`run_provider`]).
//!
//! Plan: homes at the city's lots (curb-side places on streets), spread from the Battery to Inwood by
//! cutting the lots, sorted along the avenues, into as many bands as there are providers; a trade each
//! (the catalogue's services of that trade), a service area, a daily cap and weekly hours. The provider in
//! the middle band is an emergency plumber who works around the clock, so a person trying house calls
//! by hand (`tools/house-call-curl.sh`) finds a slot at any hour.
//!
//! Agent: signs up (`provider{N}@demo.doorstep.dev`, role provider), writes its profile and its three
//! documents and tells the caller, whose operator approves it. Then it keeps its day: it reads its
//! visits (`GET /v1/house-calls/bookings`), and for the next one sets off when the drive (the city's mean
//! travel time on the demo's clock) plus a few minutes' slack would bring it to the door at the start:
//! `on-my-way` with the drive in the server's minutes, its position along the street grid
//! (`POST /v1/providers/me/location`), `arrive` at the door, waits for the start, `check-in` with the
//! code the client told it (the in-process board, or the [`crate::PinTeller`] for a person), stays the
//! appointment's length on the demo's clock and `check-out`. A visit whose start has passed on the
//! demo's clock is driven to at once (late). Refusals re-read the booking: a cancelled visit is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use doorstep_geo::{City, Utm, new_york_local};
use rand::Rng;
use rand::seq::SliceRandom;
use reqwest::Method;
use serde::de::IgnoredAny;
use tokio::sync::mpsc;

use crate::Ctx;
use crate::accounts::{Account, Role, sign_in};
use crate::api::{ApiError, with_retry};
use crate::clock::{parse_rfc3339, rfc3339, wall_clock_unix};
use crate::housecalls::{BookingList, BookingWire, VisitClock};
use crate::kpis::HouseCallCount;
use crate::motion::Leg;
use crate::seed::{Stream, agent_rng};
use crate::services_catalogue::{Trade, services_of};
use crate::shutdown::Shutdown;
use crate::wire::WirePoint;

/// Weekly hours of a provider: the ranges of each day, Monday first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderHours {
    /// What the pattern is called (for logs).
    pub name: &'static str,
    /// `(start, end)` ranges by weekday, Monday first.
    pub days: [&'static [(&'static str, &'static str)]; 7],
}

const NINE_TO_SIX: &[(&str, &str)] = &[("08:00", "18:00")];
const LATE: &[(&str, &str)] = &[("11:00", "21:00")];
const DAYTIME: &[(&str, &str)] = &[("09:00", "19:00")];
const SATURDAY: &[(&str, &str)] = &[("10:00", "16:00")];
const SPLIT: &[(&str, &str)] = &[("07:00", "12:00"), ("15:00", "20:00")];
const ALL_DAY: &[(&str, &str)] = &[("00:00", "24:00")];
const OFF: &[(&str, &str)] = &[];

/// The working weeks the demo's providers keep.
pub const PROVIDER_HOURS: &[ProviderHours] = &[
    ProviderHours {
        name: "weekdays and Saturday morning",
        days: [
            NINE_TO_SIX,
            NINE_TO_SIX,
            NINE_TO_SIX,
            NINE_TO_SIX,
            NINE_TO_SIX,
            SATURDAY,
            OFF,
        ],
    },
    ProviderHours {
        name: "late, Tuesday to Sunday",
        days: [OFF, LATE, LATE, LATE, LATE, LATE, LATE],
    },
    ProviderHours {
        name: "every day",
        days: [
            DAYTIME, DAYTIME, DAYTIME, DAYTIME, DAYTIME, DAYTIME, DAYTIME,
        ],
    },
    ProviderHours {
        name: "mornings and evenings",
        days: [SPLIT, SPLIT, SPLIT, SPLIT, SPLIT, SATURDAY, OFF],
    },
];

/// The emergency plumber's week: around the clock.
pub const ROUND_THE_CLOCK: ProviderHours = ProviderHours {
    name: "around the clock",
    days: [
        ALL_DAY, ALL_DAY, ALL_DAY, ALL_DAY, ALL_DAY, ALL_DAY, ALL_DAY,
    ],
};

/// Trades of the providers by index (the emergency plumber aside), so that every trade is spread
/// along the island.
const TRADES: [Trade; 11] = [
    Trade::Massage,
    Trade::Beauty,
    Trade::Cleaning,
    Trade::Massage,
    Trade::Beauty,
    Trade::Cleaning,
    Trade::Massage,
    Trade::Plumbing,
    Trade::Beauty,
    Trade::Cleaning,
    Trade::Massage,
];

const FIRST_NAMES: &[&str] = &[
    "Ana", "Bo", "Carmen", "Dmitri", "Esi", "Farah", "Gus", "Hana", "Ines", "Jae", "Kofi", "Lena",
    "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tova",
];

/// One planned provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderPlan {
    /// Its number, from 0: also its account's (`provider{N}@demo.doorstep.dev`).
    pub index: usize,
    /// What customers read.
    pub bio: String,
    /// Its trade.
    pub trade: Trade,
    /// Its home base: a lot of the city.
    pub home: Utm,
    /// Its service area's radius, metres.
    pub area_m: u32,
    /// The most visits a day.
    pub daily_cap: u32,
    /// Its week.
    pub hours: &'static ProviderHours,
}

/// The `count` providers of the demo seeded by `seed`.
pub fn plan_providers(city: &City, count: usize, seed: u64) -> Vec<ProviderPlan> {
    let lots: Vec<Utm> = city
        .lots()
        .iter()
        .map(|l| l.pos)
        .filter(|p| !crate::sandbox::contains(*p))
        .collect();
    if lots.is_empty() || count == 0 {
        return Vec::new();
    }
    // Equal slices of the island's length (by northing), not of its lots, which crowd below 60th Street.
    let south = lots.iter().map(|p| p.y).fold(f64::INFINITY, f64::min);
    let north = lots.iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
    let slice = (north - south) / count as f64;
    let mut taken: Vec<Utm> = Vec::with_capacity(count);
    let mut names: Vec<&str> = FIRST_NAMES.to_vec();
    names.shuffle(&mut agent_rng(seed, Stream::Provider, u64::MAX));
    let emergency = count / 2;
    (0..count)
        .map(|index| {
            let mut rng = agent_rng(seed, Stream::Provider, index as u64);
            let (lo, hi) = (
                south + slice * index as f64,
                south + slice * (index + 1) as f64,
            );
            let free = |p: &&Utm| !taken.contains(p);
            let inside: Vec<Utm> = lots
                .iter()
                .filter(|p| p.y >= lo && p.y <= hi)
                .filter(free)
                .copied()
                .collect();
            let home = if inside.is_empty() {
                // No lot in the slice: the free one nearest its middle.
                let middle = (lo + hi) / 2.0;
                lots.iter()
                    .filter(free)
                    .min_by(|a, b| (a.y - middle).abs().total_cmp(&(b.y - middle).abs()))
                    .copied()
                    .unwrap_or(lots[0])
            } else {
                inside[rng.random_range(0..inside.len())]
            };
            taken.push(home);
            let name = names[index % names.len()];
            if index == emergency {
                return ProviderPlan {
                    index,
                    bio: format!(
                        "{name}, emergency plumber: day and night, anywhere in Manhattan."
                    ),
                    trade: Trade::Plumbing,
                    home,
                    area_m: 12_000,
                    daily_cap: 16,
                    hours: &ROUND_THE_CLOCK,
                };
            }
            let trade = TRADES[(index - usize::from(index > emergency)) % TRADES.len()];
            let area_m = match trade {
                Trade::Plumbing => 8_000,
                _ => 4_000 + 500 * rng.random_range(0..=6_u32),
            };
            let daily_cap = match trade {
                Trade::Cleaning => 4,
                _ => rng.random_range(5..=8),
            };
            ProviderPlan {
                index,
                bio: format!("{name}, {} in Manhattan.", trade.title()),
                trade,
                home,
                area_m,
                daily_cap,
                hours: &PROVIDER_HOURS[rng.random_range(0..PROVIDER_HOURS.len())],
            }
        })
        .collect()
}

/// The body of `PUT /v1/providers/me` for `plan`, with the catalogue's ids by index in [`SERVICES`].
pub fn profile_body(plan: &ProviderPlan, service_ids: &[String]) -> serde_json::Value {
    let home = WirePoint::from_utm(plan.home);
    let ids: Vec<&String> = services_of(plan.trade)
        .into_iter()
        .filter_map(|i| service_ids.get(i))
        .collect();
    let day = |ranges: &[(&str, &str)]| -> Vec<serde_json::Value> {
        ranges
            .iter()
            .map(|(open, close)| serde_json::json!({"open": open, "close": close}))
            .collect()
    };
    let names = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let hours: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .zip(plan.hours.days.iter())
        .map(|(n, r)| ((*n).to_owned(), serde_json::Value::from(day(r))))
        .collect();
    serde_json::json!({
        "bio": plan.bio,
        "home": {"lat": home.lat, "lng": home.lng},
        "area_m": plan.area_m,
        "daily_cap": plan.daily_cap,
        "service_ids": ids,
        "hours": hours,
    })
}

/// The documents a provider declares, valid for years.
const DOCUMENTS: [(&str, &str); 3] = [
    ("id_card", "ID"),
    ("professional_licence", "LIC"),
    ("liability_insurance", "INS"),
];
const DOCUMENTS_EXPIRE_ON: &str = "2030-12-31";

/// Minutes of slack a provider plans to be at the door before the start.
const SLACK_SECS: f64 = 5.0 * 60.0;
/// How often a provider reads its day, simulated seconds, within [`MIN_POLL`] and [`MAX_POLL`] real.
const POLL_SECS: f64 = 300.0;
const MIN_POLL: Duration = Duration::from_secs(2);
const MAX_POLL: Duration = Duration::from_secs(30);
/// Positions on the way every this many simulated seconds, at least [`MIN_SAMPLE`] real apart.
const SAMPLE_SECS: f64 = 30.0;
const MIN_SAMPLE: Duration = Duration::from_millis(1000);
/// How long a provider waits at the door for the check-in code, simulated seconds.
const CODE_PATIENCE_SECS: f64 = 15.0 * 60.0;
/// Refused steps on one visit before the provider leaves it be.
const MAX_FAILURES: u32 = 4;
/// How far back, seconds, a provider's day is read: visits booked earlier and not yet done.
const LOOK_BACK_SECS: f64 = 6.0 * 3600.0;

/// Signs the provider up, writes its profile and documents, tells `ready` its index and user id, and
/// then keeps its day until the demo stops.
pub(crate) async fn run_provider(
    ctx: Arc<Ctx>,
    plan: ProviderPlan,
    service_ids: Arc<Vec<String>>,
    clock: VisitClock,
    ready: mpsc::Sender<(usize, String)>,
    shutdown: Shutdown,
) {
    let Some(account) = sign_in(&ctx.api, Role::Provider, plan.index as u64, &shutdown).await
    else {
        return;
    };
    let mut provider = ProviderAgent {
        pos: plan.home,
        ctx,
        plan,
        account,
        clock,
        failures: HashMap::new(),
        shutdown,
    };
    if !provider.set_up(&service_ids).await {
        return;
    }
    let _ = ready
        .send((provider.plan.index, provider.account.user_id.clone()))
        .await;
    provider.keep_the_day().await;
}

struct ProviderAgent {
    ctx: Arc<Ctx>,
    plan: ProviderPlan,
    account: Account,
    clock: VisitClock,
    /// Where it is.
    pos: Utm,
    /// Refused steps by booking id; a visit at [`MAX_FAILURES`] is left be.
    failures: HashMap<String, u32>,
    shutdown: Shutdown,
}

/// What became of a step.
enum Step {
    /// Done; the booking after it.
    Done(Box<BookingWire>),
    /// Refused or failed; the visit is read again.
    Failed,
}

impl ProviderAgent {
    /// Profile and documents; false if the provider could not be set up (logged).
    async fn set_up(&mut self, service_ids: &[String]) -> bool {
        let body = profile_body(&self.plan, service_ids);
        let token = self.account.token.clone();
        let put = with_retry(&self.shutdown, "provider profile", || {
            self.ctx.api.call::<IgnoredAny>(
                Method::PUT,
                "/v1/providers/me",
                &token,
                None,
                Some(&body),
            )
        })
        .await;
        if let Err(error) = put {
            tracing::warn!(provider = self.plan.index, %error, "a demo provider could not write its profile");
            return false;
        }
        for (kind, prefix) in DOCUMENTS {
            let body = serde_json::json!({
                "number": format!("{prefix}-HC-{:05}", self.plan.index),
                "expires_on": DOCUMENTS_EXPIRE_ON,
            });
            let path = format!("/v1/providers/me/documents/{kind}");
            let put = with_retry(&self.shutdown, "provider document", || {
                self.ctx
                    .api
                    .call::<IgnoredAny>(Method::PUT, &path, &token, None, Some(&body))
            })
            .await;
            if let Err(error) = put {
                tracing::warn!(provider = self.plan.index, kind, %error, "a demo provider could not declare a document");
                return false;
            }
        }
        true
    }

    fn poll_period(&self) -> Duration {
        self.ctx
            .clock
            .real_duration(POLL_SECS)
            .clamp(MIN_POLL, MAX_POLL)
    }

    /// Reads the day and serves the next visit, again and again.
    async fn keep_the_day(&mut self) {
        let mut shutdown = self.shutdown.clone();
        while !shutdown.is_stopping() {
            let Some(next) = self.next_visit().await else {
                if !shutdown.sleep(self.poll_period()).await {
                    return;
                }
                continue;
            };
            let Some(start) = parse_rfc3339(&next.start) else {
                self.failed(&next.id);
                continue;
            };
            let Some(place) = next.location.to_utm() else {
                self.failed(&next.id);
                continue;
            };
            if next.state == "confirmed" {
                let now = self.clock.now();
                let drive = self.drive_secs(place, now);
                let depart_at = start - drive - SLACK_SECS;
                if now < depart_at {
                    let wait = self.clock.real_until(depart_at).min(self.poll_period());
                    if !shutdown.sleep(wait).await {
                        return;
                    }
                    continue;
                }
            }
            self.serve(*next, start, place).await;
        }
    }

    fn drive_secs(&self, to: Utm, at: f64) -> f64 {
        let time_of_day = new_york_local(at.floor() as i64).seconds_of_day;
        self.ctx.city.mean_travel_secs(self.pos, to, time_of_day)
    }

    /// The visit to serve next: the earliest not ended nor given up.
    async fn next_visit(&mut self) -> Option<Box<BookingWire>> {
        let now = self.clock.now();
        let from = now.min(wall_clock_unix()) - LOOK_BACK_SECS;
        let days = (((now + 86_400.0 - from) / 86_400.0).ceil() as i64).clamp(1, 60);
        let path = format!(
            "/v1/house-calls/bookings?from={}&days={days}",
            rfc3339(from)
        );
        let token = self.account.token.clone();
        let list = with_retry(&self.shutdown, "provider's day", || {
            self.ctx
                .api
                .call::<BookingList>(Method::GET, &path, &token, None, None)
        })
        .await;
        match list {
            Ok(list) => list
                .bookings
                .into_iter()
                .filter(|b| b.is_open())
                .filter(|b| self.failures.get(&b.id).copied().unwrap_or(0) < MAX_FAILURES)
                .min_by(|a, b| a.start.cmp(&b.start))
                .map(Box::new),
            Err(error) => {
                self.refused("read the day", &error).await;
                None
            }
        }
    }

    fn failed(&mut self, booking: &str) {
        *self.failures.entry(booking.to_owned()).or_default() += 1;
    }

    async fn refused(&mut self, what: &'static str, error: &ApiError) {
        if error.status() == Some(401) {
            if let Some(account) = sign_in(
                &self.ctx.api,
                Role::Provider,
                self.plan.index as u64,
                &self.shutdown,
            )
            .await
            {
                self.account = account;
            }
        } else if !error.is_transient() && !self.shutdown.is_stopping() {
            tracing::debug!(provider = self.plan.index, what, %error, "provider step refused");
        }
    }

    async fn step(
        &mut self,
        booking: &str,
        step: &'static str,
        body: Option<serde_json::Value>,
    ) -> Step {
        let path = format!("/v1/house-calls/bookings/{booking}/{step}");
        let token = self.account.token.clone();
        let answer = with_retry(&self.shutdown, "visit step", || {
            self.ctx
                .api
                .call::<BookingWire>(Method::POST, &path, &token, None, body.as_ref())
        })
        .await;
        match answer {
            Ok(b) => Step::Done(Box::new(b)),
            Err(error) => {
                self.refused(step, &error).await;
                self.failed(booking);
                Step::Failed
            }
        }
    }

    async fn report_position(&mut self, at: Utm) {
        let p = WirePoint::from_utm(at);
        let body = serde_json::json!({"lat": p.lat, "lng": p.lng});
        let token = self.account.token.clone();
        let sent = self
            .ctx
            .api
            .call::<IgnoredAny>(
                Method::POST,
                "/v1/providers/me/location",
                &token,
                None,
                Some(&body),
            )
            .await;
        if let Err(error) = sent {
            self.refused("position", &error).await;
        }
        self.pos = at;
    }

    /// Serves one visit from its current state to check-out (or until a step is refused: the next
    /// read of the day tells what became of it).
    async fn serve(&mut self, mut booking: BookingWire, start: f64, place: Utm) {
        let id = booking.id.clone();
        let mut shutdown = self.shutdown.clone();
        if booking.state == "confirmed" {
            let drive = self.drive_secs(place, self.clock.now());
            let eta_min = (drive / 60.0 / self.ctx.clock.speed())
                .ceil()
                .clamp(0.0, 240.0) as u32;
            self.report_position(self.pos).await;
            match self
                .step(
                    &id,
                    "on-my-way",
                    Some(serde_json::json!({"eta_min": eta_min})),
                )
                .await
            {
                Step::Done(b) => booking = *b,
                Step::Failed => return,
            }
            tracing::debug!(provider = self.plan.index, booking_id = %id, eta_min, "provider on the way");
        }
        if booking.state == "on_the_way" {
            let leg = Leg::plan(
                self.ctx.city,
                &self.ctx.grid,
                self.pos,
                place,
                self.clock.now(),
            );
            let sample = self.ctx.clock.real_duration(SAMPLE_SECS).max(MIN_SAMPLE);
            while !leg.is_done(self.clock.now()) {
                let wait = self.clock.real_until(leg.arrives_at()).min(sample);
                if !shutdown.sleep(wait).await {
                    return;
                }
                self.report_position(leg.position_at(self.clock.now()))
                    .await;
            }
            self.report_position(place).await;
            match self.step(&id, "arrive", None).await {
                Step::Done(b) => booking = *b,
                Step::Failed => return,
            }
        }
        if booking.state == "arrived" {
            // At the door early: the client expects them at the start.
            if !shutdown.sleep(self.clock.real_until(start)).await {
                return;
            }
            let Some(code) = self.code_of(&id).await else {
                tracing::warn!(provider = self.plan.index, booking_id = %id, "nobody told the check-in code; leaving the visit be");
                self.failures.insert(id, MAX_FAILURES);
                return;
            };
            match self
                .step(&id, "check-in", Some(serde_json::json!({"code": code})))
                .await
            {
                Step::Done(b) => booking = *b,
                Step::Failed => return,
            }
            self.ctx.codes.remove(&id);
        }
        if booking.state == "in_progress" {
            let until = self.clock.now() + f64::from(booking.duration_min) * 60.0;
            if !shutdown.sleep(self.clock.real_until(until)).await {
                return;
            }
            // The position is checked at check-out as at arrival (at most two minutes old).
            self.report_position(place).await;
            match self.step(&id, "check-out", None).await {
                Step::Done(b) if b.state == "completed" => {
                    self.ctx.kpis.house_call(HouseCallCount::Completed);
                    tracing::debug!(provider = self.plan.index, booking_id = %id, "visit done");
                }
                Step::Done(_) | Step::Failed => {}
            }
        }
    }

    /// The check-in code of `booking`, as the client tells it: the in-process board (a demo client), or
    /// the [`crate::PinTeller`] (a person); waits a while for it.
    async fn code_of(&self, booking: &str) -> Option<String> {
        let mut shutdown = self.shutdown.clone();
        let give_up = self.clock.now() + CODE_PATIENCE_SECS;
        loop {
            if let Some(code) = self.ctx.codes.get(booking) {
                return Some(code);
            }
            if let Some(teller) = &self.ctx.pin_teller
                && let Some(code) = teller.tell(booking.to_owned()).await
            {
                return Some(code);
            }
            if self.clock.now() >= give_up {
                return None;
            }
            let pause = self.ctx.clock.real_duration(30.0).max(MIN_SAMPLE);
            if !shutdown.sleep(pause).await {
                return None;
            }
        }
    }
}
