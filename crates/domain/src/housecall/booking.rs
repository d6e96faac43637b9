//! A house-call booking: the service record on top of a house-call [`Job`], as an `Order` is on top of a
//! delivery's.
//!
//! The booking owns what is specific to house calls: the service booked with its length and price, whether
//! the customer chose the provider or let the platform choose ("any provider"), the address, the series of
//! a weekly recurring booking. The job owns the rest: the one service stop at the customer's place whose
//! window is the booked start and whose service time is the appointment plus the provider's buffer, the
//! provider as the job's worker, and the one state machine. A booking is made assigned: it is only ever
//! offered in a slot the provider can reach (the app checks the route first), so there is no offer to
//! answer. Every change is a job transition, so a booking's version is its job's.
//!
//! ```text
//! confirmed ──reschedule / move (same or another provider, before arrival)──→ confirmed
//!     ├─cancel (customer: free up to the notice, a fee after; operator: free)──→ cancelled
//!     └─ ... the visit: on my way, arrived, checked in, completed (docs/house-calls.md)
//! ```

use crate::code::VerificationCode;
use crate::housecall::catalogue::HcService;
use crate::ids::{JobId, SeriesId, ServiceId, SosAlertId, UserId};
use crate::job::{
    Canceller, Job, JobError, JobKind, JobState, NewHouseCallJob, StopKind, TimeWindow,
};
use crate::money::Money;
use crate::time::Timestamp;
use doorstep_geo::LatLng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The service stop of a booking's job.
pub const VISIT: usize = 0;

/// Whether the customer chose the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderChoice {
    /// The customer booked this provider: the visit never moves to another.
    Chosen,
    /// The customer took any provider: the scheduler may move the visit to another before it starts.
    Any,
}

impl ProviderChoice {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderChoice::Chosen => "chosen",
            ProviderChoice::Any => "any",
        }
    }
}

/// A booking's state, as customers, providers and operators see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    /// Booked with a provider.
    Confirmed,
    /// The provider is on the way.
    OnTheWay,
    /// The provider is at the door.
    Arrived,
    /// The visit is under way.
    InProgress,
    /// Done.
    Completed,
    /// Cancelled by the customer, the provider or an operator.
    Cancelled,
    /// It did not happen (a no-show).
    Missed,
}

impl BookingState {
    /// Every state.
    pub const ALL: [BookingState; 7] = [
        BookingState::Confirmed,
        BookingState::OnTheWay,
        BookingState::Arrived,
        BookingState::InProgress,
        BookingState::Completed,
        BookingState::Cancelled,
        BookingState::Missed,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            BookingState::Confirmed => "confirmed",
            BookingState::OnTheWay => "on_the_way",
            BookingState::Arrived => "arrived",
            BookingState::InProgress => "in_progress",
            BookingState::Completed => "completed",
            BookingState::Cancelled => "cancelled",
            BookingState::Missed => "missed",
        }
    }

    /// Parses [`BookingState::as_str`].
    pub fn parse(s: &str) -> Option<BookingState> {
        BookingState::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// Whether the booking has ended.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            BookingState::Completed | BookingState::Cancelled | BookingState::Missed
        )
    }
}

/// What a customer pays for cancelling late or not being there, as shares of the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancellationPolicy {
    /// Cancelling at least this long before the start is free, seconds.
    pub free_notice_s: i64,
    /// The share of the price charged for a later cancellation, basis points.
    pub late_fee_bps: u32,
    /// The share of the price charged when the customer is not there, basis points.
    pub no_show_fee_bps: u32,
}

impl Default for CancellationPolicy {
    /// Free up to 24 hours before; half the price after; the whole price for a no-show.
    fn default() -> Self {
        CancellationPolicy {
            free_notice_s: 24 * 3600,
            late_fee_bps: 5_000,
            no_show_fee_bps: 10_000,
        }
    }
}

impl CancellationPolicy {
    /// The fee for a customer cancelling at `now` a visit of `price` starting at `start`: none with at
    /// least the free notice, else the late share (rounded down to a minor unit).
    pub fn customer_fee(&self, price: Money, start: Timestamp, now: Timestamp) -> Option<Money> {
        if start.secs_since(now) >= self.free_notice_s {
            return None;
        }
        let fee = price
            .scaled(i64::from(self.late_fee_bps), 10_000)
            .unwrap_or(price);
        (fee.minor > 0).then_some(fee)
    }
}

/// The booking's own record, stored beside its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRecord {
    /// The service booked.
    pub service: ServiceId,
    /// Its name then.
    pub service_name: String,
    /// The appointment's length, minutes.
    pub duration_min: u32,
    /// The provider's buffer after it, minutes.
    pub prep_min: u32,
    /// What the customer pays.
    pub price: Money,
    /// Whether the customer chose the provider.
    pub choice: ProviderChoice,
    /// The address as the customer gave it.
    pub address: String,
    /// The weekly series it belongs to, if recurring.
    pub series: Option<SeriesId>,
    /// When it was booked.
    pub booked_at: Timestamp,
    /// How many times it was rescheduled or moved.
    pub reschedules: u32,
    /// When the provider set off, if they have.
    #[serde(default)]
    pub on_my_way_at: Option<Timestamp>,
    /// The provider's estimate of their arrival when they set off.
    #[serde(default)]
    pub eta: Option<Timestamp>,
    /// When the provider checked in with the customer's code.
    #[serde(default)]
    pub checked_in_at: Option<Timestamp>,
}

/// What a new booking is made of.
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    /// The booking's id (its job's).
    pub id: JobId,
    /// Who books.
    pub customer: UserId,
    /// Who comes.
    pub provider: UserId,
    /// The service.
    pub service: &'a HcService,
    /// The customer's place.
    pub place: LatLng,
    /// The address as given.
    pub address: String,
    /// When the visit starts.
    pub start: Timestamp,
    /// Whether the customer chose the provider.
    pub choice: ProviderChoice,
    /// The weekly series, if recurring.
    pub series: Option<SeriesId>,
    /// The code the customer gives the provider at check-in.
    pub checkin: VerificationCode,
}

/// Something that happened to a booking: recorded with the change in one transaction and sent to the
/// customer and the provider(s) concerned. Every kind is named `booking_*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BookingEvent {
    /// Booked.
    BookingConfirmed {
        /// Who comes.
        provider: UserId,
        /// The service.
        service: ServiceId,
        /// When the visit starts.
        starts_at: Timestamp,
        /// The price.
        price: Money,
    },
    /// Moved to another time, another provider, or both.
    BookingRescheduled {
        /// The start before.
        from: Timestamp,
        /// The start now.
        to: Timestamp,
        /// The provider before.
        from_provider: UserId,
        /// The provider now.
        provider: UserId,
    },
    /// Cancelled.
    BookingCancelled {
        /// Who cancelled.
        by: Canceller,
        /// The fee charged, if any.
        fee: Option<Money>,
    },
    /// The provider set off.
    BookingProviderOnTheWay {
        /// The provider.
        provider: UserId,
        /// Their estimate of the arrival.
        eta: Timestamp,
    },
    /// The provider will be late: their estimate is past the start and its grace.
    BookingProviderLate {
        /// The provider.
        provider: UserId,
        /// Their estimate of the arrival.
        eta: Timestamp,
    },
    /// The provider is at the door.
    BookingProviderArrived {
        /// The provider.
        provider: UserId,
    },
    /// A wrong check-in code was given.
    BookingCheckinAttemptFailed {
        /// Wrong codes left before it locks.
        attempts_left: u8,
    },
    /// The provider checked in with the customer's code: the visit started.
    BookingStarted {
        /// The provider.
        provider: UserId,
    },
    /// The provider checked out: the visit is done.
    BookingCompleted {
        /// The provider.
        provider: UserId,
        /// What the customer paid.
        price: Money,
    },
    /// The customer was not there: the no-show fee.
    BookingCustomerNoShow {
        /// The fee charged, if any.
        fee: Option<Money>,
    },
    /// The provider did not come: nothing is charged.
    BookingProviderNoShow {
        /// The provider.
        provider: UserId,
    },
    /// The provider raised an SOS alert. Sent to the provider only (never to the customer); operators
    /// see every event.
    BookingSosRaised {
        /// The provider.
        provider: UserId,
        /// The alert (its position and note are on the alert).
        alert: SosAlertId,
    },
    /// An operator acknowledged an SOS alert: help is on its way. Sent to the provider only.
    BookingSosAcknowledged {
        /// The alert.
        alert: SosAlertId,
        /// The operator.
        by: UserId,
    },
}

impl BookingEvent {
    /// The stable snake_case name (the `type` field).
    pub const fn kind(&self) -> &'static str {
        match self {
            BookingEvent::BookingConfirmed { .. } => "booking_confirmed",
            BookingEvent::BookingRescheduled { .. } => "booking_rescheduled",
            BookingEvent::BookingCancelled { .. } => "booking_cancelled",
            BookingEvent::BookingProviderOnTheWay { .. } => "booking_provider_on_the_way",
            BookingEvent::BookingProviderLate { .. } => "booking_provider_late",
            BookingEvent::BookingProviderArrived { .. } => "booking_provider_arrived",
            BookingEvent::BookingCheckinAttemptFailed { .. } => "booking_checkin_attempt_failed",
            BookingEvent::BookingStarted { .. } => "booking_started",
            BookingEvent::BookingCompleted { .. } => "booking_completed",
            BookingEvent::BookingCustomerNoShow { .. } => "booking_customer_no_show",
            BookingEvent::BookingProviderNoShow { .. } => "booking_provider_no_show",
            BookingEvent::BookingSosRaised { .. } => "booking_sos_raised",
            BookingEvent::BookingSosAcknowledged { .. } => "booking_sos_acknowledged",
        }
    }
}

/// Why a booking's change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    /// The job refused the transition.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The visit would move to another provider although the customer chose this one.
    #[error("the customer chose this provider")]
    ProviderChosen,
    /// Only a confirmed booking can be rescheduled or moved.
    #[error("a booking that is {0:?} cannot be rescheduled")]
    NotReschedulable(BookingState),
    /// Only the customer may do this.
    #[error("not the booking's customer")]
    NotYourBooking,
    /// Too early for a no-show: the other side still has time.
    #[error("too early: a no-show can be reported from {0:?}")]
    TooEarly(Timestamp),
    /// The step does not fit the booking's state.
    #[error("a booking that is {state:?} cannot {command}")]
    State {
        /// The booking's state.
        state: BookingState,
        /// What was asked.
        command: &'static str,
    },
}

/// How long after the start the provider waits before reporting a customer not there, seconds.
pub const CUSTOMER_NO_SHOW_AFTER_S: i64 = 15 * 60;
/// How long after the start a customer may report that the provider did not come, seconds.
pub const PROVIDER_NO_SHOW_AFTER_S: i64 = 30 * 60;
/// How far past the start an arrival estimate is late, seconds.
pub const LATE_GRACE_S: i64 = 5 * 60;
/// Wrong check-in codes allowed before the code locks.
pub const CHECKIN_MAX_ATTEMPTS: u8 = 5;

/// What a check-in did.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckIn {
    /// The visit started.
    Started(Vec<BookingEvent>),
    /// The code was wrong; the attempt is counted (the booking changed).
    WrongCode {
        /// Wrong codes left.
        attempts_left: u8,
        /// What to record.
        events: Vec<BookingEvent>,
    },
}

/// A job that is not a booking's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a house call's job: {0}")]
pub struct NotABookingJob(pub String);

/// A booking: its record on its job.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    job: Job,
    record: BookingRecord,
}

impl Booking {
    /// A new booking, confirmed with its provider.
    pub fn book(new: NewBooking<'_>, now: Timestamp) -> (Booking, Vec<BookingEvent>) {
        let window = TimeWindow::at(new.start);
        let (mut job, _) = Job::house_call(
            NewHouseCallJob {
                id: new.id,
                customer: new.customer,
                merchant: None,
                place: new.place,
                slot: window,
                service_s: new.service.on_site_secs(),
                proof: Some(new.checkin),
                skills: BTreeSet::new(),
            },
            now,
        );
        // A job just opened accepts any worker: this cannot fail.
        let assigned = job.assign(new.provider, 0, now).is_ok();
        debug_assert!(assigned, "a new job takes its first worker");
        let record = BookingRecord {
            service: new.service.id,
            service_name: new.service.name.clone(),
            duration_min: new.service.duration_min,
            prep_min: new.service.prep_min,
            price: new.service.price,
            choice: new.choice,
            address: new.address,
            series: new.series,
            booked_at: now,
            reschedules: 0,
            on_my_way_at: None,
            eta: None,
            checked_in_at: None,
        };
        let event = BookingEvent::BookingConfirmed {
            provider: new.provider,
            service: new.service.id,
            starts_at: new.start,
            price: new.service.price,
        };
        (Booking { job, record }, vec![event])
    }

    /// A booking from its stored job and record.
    pub fn from_parts(job: Job, record: BookingRecord) -> Result<Booking, NotABookingJob> {
        if job.kind != JobKind::HouseCall {
            return Err(NotABookingJob(format!("kind {}", job.kind.as_str())));
        }
        match job.stops.as_slice() {
            [s] if s.kind == StopKind::Service => {}
            _ => return Err(NotABookingJob("not one service stop".into())),
        }
        if job.worker.is_none() {
            return Err(NotABookingJob("no provider".into()));
        }
        Ok(Booking { job, record })
    }

    /// Its id.
    pub fn id(&self) -> JobId {
        self.job.id
    }

    /// Its job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Its record.
    pub fn record(&self) -> &BookingRecord {
        &self.record
    }

    /// Its version (its job's).
    pub fn version(&self) -> i64 {
        self.job.version
    }

    /// The customer.
    pub fn customer(&self) -> UserId {
        self.job.customer
    }

    /// The provider (the job's worker; a booking always has one).
    pub fn provider(&self) -> UserId {
        self.job.worker.unwrap_or(self.job.customer)
    }

    /// The customer's place.
    pub fn place(&self) -> LatLng {
        self.job.stops[VISIT].place
    }

    /// When the visit starts.
    pub fn starts_at(&self) -> Timestamp {
        self.job.stops[VISIT].window.earliest()
    }

    /// When the provider is free to leave: the start, the appointment and the buffer.
    pub fn ends_at(&self) -> Timestamp {
        self.starts_at()
            .plus_secs(i64::from(self.job.stops[VISIT].service_s))
    }

    /// The check-in code, for the customer.
    pub fn checkin_code(&self) -> Option<&VerificationCode> {
        self.job.stops[VISIT].proof.as_ref()
    }

    /// Its state, derived from its job.
    pub fn state(&self) -> BookingState {
        match self.job.state {
            JobState::Open | JobState::Assigned => {
                if self.job.stops[VISIT].arrived_at.is_some() {
                    BookingState::Arrived
                } else if self.record.on_my_way_at.is_some() {
                    BookingState::OnTheWay
                } else {
                    BookingState::Confirmed
                }
            }
            JobState::InProgress => BookingState::InProgress,
            JobState::Completed => BookingState::Completed,
            JobState::Cancelled => BookingState::Cancelled,
            JobState::Unfulfilled => BookingState::Missed,
        }
    }

    /// Whether it still holds its provider's time (not ended).
    pub fn holds_time(&self) -> bool {
        !self.state().is_terminal()
    }

    /// The customer cancels; the fee is the policy's.
    pub fn cancel_by_customer(
        &mut self,
        by: UserId,
        policy: &CancellationPolicy,
        now: Timestamp,
    ) -> Result<(Option<Money>, Vec<BookingEvent>), BookingError> {
        if by != self.job.customer {
            return Err(BookingError::NotYourBooking);
        }
        let fee = policy.customer_fee(self.record.price, self.starts_at(), now);
        self.job.cancel_by_customer(by, fee, now)?;
        Ok((
            fee,
            vec![BookingEvent::BookingCancelled {
                by: Canceller::Customer,
                fee,
            }],
        ))
    }

    /// An operator cancels, free of charge.
    pub fn cancel_by_operator(
        &mut self,
        now: Timestamp,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        self.job.cancel(Canceller::Operator, None, now)?;
        Ok(vec![BookingEvent::BookingCancelled {
            by: Canceller::Operator,
            fee: None,
        }])
    }

    /// Moves the visit to `start` with `provider` (the same one, or another when the customer took any
    /// provider). Only before the provider arrives.
    pub fn reschedule(
        &mut self,
        start: Timestamp,
        provider: UserId,
        now: Timestamp,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        let state = self.state();
        if state != BookingState::Confirmed {
            return Err(BookingError::NotReschedulable(state));
        }
        let from_provider = self.provider();
        if provider != from_provider && self.record.choice == ProviderChoice::Chosen {
            return Err(BookingError::ProviderChosen);
        }
        let from = self.starts_at();
        let mut job = self.job.clone();
        job.set_window(VISIT, TimeWindow::at(start))?;
        if provider != from_provider {
            job.move_to_worker(provider, now)?;
        }
        self.job = job;
        self.record.reschedules += 1;
        Ok(vec![BookingEvent::BookingRescheduled {
            from,
            to: start,
            from_provider,
            provider,
        }])
    }

    fn expect(&self, allowed: &[BookingState], command: &'static str) -> Result<(), BookingError> {
        let state = self.state();
        if allowed.contains(&state) {
            Ok(())
        } else {
            Err(BookingError::State { state, command })
        }
    }

    /// The provider sets off, expecting to arrive at `eta`; past the start and its grace, the customer
    /// is told they will be late.
    pub fn on_my_way(
        &mut self,
        by: UserId,
        eta: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        if self.job.worker != Some(by) {
            return Err(BookingError::NotYourBooking);
        }
        self.expect(
            &[BookingState::Confirmed, BookingState::OnTheWay],
            "set off for",
        )?;
        self.job.service_changed()?;
        self.record.on_my_way_at = Some(now);
        self.record.eta = Some(eta);
        let mut events = vec![BookingEvent::BookingProviderOnTheWay { provider: by, eta }];
        if eta > self.starts_at().plus_secs(LATE_GRACE_S) {
            events.push(BookingEvent::BookingProviderLate { provider: by, eta });
        }
        Ok(events)
    }

    /// The provider is at the door (within `radius_m` of the place by their last believed position).
    pub fn arrive(
        &mut self,
        by: UserId,
        position: Option<LatLng>,
        radius_m: u32,
        now: Timestamp,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        self.expect(
            &[BookingState::Confirmed, BookingState::OnTheWay],
            "arrive for",
        )?;
        self.job.arrive(by, VISIT, position, radius_m, now)?;
        Ok(vec![BookingEvent::BookingProviderArrived { provider: by }])
    }

    /// The provider checks in with the code the customer tells them.
    pub fn check_in(
        &mut self,
        by: UserId,
        code: &str,
        now: Timestamp,
    ) -> Result<CheckIn, BookingError> {
        self.expect(&[BookingState::Arrived], "check in to")?;
        match self.job.check_in(by, VISIT, code, CHECKIN_MAX_ATTEMPTS)? {
            crate::job::StopOutcome::Done(_) => {
                self.record.checked_in_at = Some(now);
                Ok(CheckIn::Started(vec![BookingEvent::BookingStarted {
                    provider: by,
                }]))
            }
            crate::job::StopOutcome::WrongProof { attempts_left, .. } => Ok(CheckIn::WrongCode {
                attempts_left,
                events: vec![BookingEvent::BookingCheckinAttemptFailed { attempts_left }],
            }),
        }
    }

    /// The provider checks out: the visit is done.
    pub fn check_out(
        &mut self,
        by: UserId,
        position: Option<LatLng>,
        radius_m: u32,
        now: Timestamp,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        self.expect(&[BookingState::InProgress], "check out of")?;
        self.job.complete_stop(
            by,
            VISIT,
            None,
            CHECKIN_MAX_ATTEMPTS,
            position,
            radius_m,
            now,
        )?;
        Ok(vec![BookingEvent::BookingCompleted {
            provider: by,
            price: self.record.price,
        }])
    }

    /// The provider, at the door, reports that the customer is not there (from
    /// [`CUSTOMER_NO_SHOW_AFTER_S`] after the start): the visit ends missed, with the no-show fee.
    pub fn customer_no_show(
        &mut self,
        by: UserId,
        policy: &CancellationPolicy,
        now: Timestamp,
    ) -> Result<(Option<Money>, Vec<BookingEvent>), BookingError> {
        self.expect(&[BookingState::Arrived], "report a no-show of")?;
        let from = self.starts_at().plus_secs(CUSTOMER_NO_SHOW_AFTER_S);
        if now < from {
            return Err(BookingError::TooEarly(from));
        }
        self.job
            .fail(by, crate::job::UnfulfilledReason::CustomerUnreachable, now)?;
        let fee = self
            .record
            .price
            .scaled(i64::from(policy.no_show_fee_bps), 10_000)
            .ok()
            .filter(|f| f.minor > 0);
        self.job.cancel_fee = fee;
        Ok((fee, vec![BookingEvent::BookingCustomerNoShow { fee }]))
    }

    /// The customer reports that the provider did not come (from [`PROVIDER_NO_SHOW_AFTER_S`] after the
    /// start, before they arrived): the booking is cancelled without a charge.
    pub fn provider_no_show(
        &mut self,
        by: UserId,
        now: Timestamp,
    ) -> Result<Vec<BookingEvent>, BookingError> {
        if by != self.job.customer {
            return Err(BookingError::NotYourBooking);
        }
        self.expect(
            &[BookingState::Confirmed, BookingState::OnTheWay],
            "report a no-show of",
        )?;
        let from = self.starts_at().plus_secs(PROVIDER_NO_SHOW_AFTER_S);
        if now < from {
            return Err(BookingError::TooEarly(from));
        }
        let provider = self.provider();
        self.job.cancel_by_customer(by, None, now)?;
        Ok(vec![BookingEvent::BookingProviderNoShow { provider }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::CodeLength;
    use crate::money::Currency;
    use rand::SeedableRng;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("usd"))
    }

    fn service() -> HcService {
        HcService {
            id: ServiceId::from_uuid(uuid::Uuid::nil()),
            name: "Massage".into(),
            description: String::new(),
            duration_min: 60,
            prep_min: 15,
            price: usd(8000),
            active: true,
        }
    }

    fn user(n: u128) -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn booking(choice: ProviderChoice) -> Booking {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let s = service();
        Booking::book(
            NewBooking {
                id: JobId::from_uuid(uuid::Uuid::from_u128(9)),
                customer: user(1),
                provider: user(2),
                service: &s,
                place: LatLng::new(40.758, -73.9855).expect("point"),
                address: "1 Times Sq".into(),
                start: Timestamp::from_millis(100 * 3_600_000),
                choice,
                series: None,
                checkin: VerificationCode::random(CodeLength::FOUR, &mut rng),
            },
            Timestamp::from_millis(0),
        )
        .0
    }

    #[test]
    fn a_booking_is_confirmed_with_its_provider_for_its_length_and_buffer() {
        let b = booking(ProviderChoice::Any);
        assert_eq!(b.state(), BookingState::Confirmed);
        assert_eq!(b.provider(), user(2));
        assert_eq!(b.ends_at().secs_since(b.starts_at()), 75 * 60);
        let again = Booking::from_parts(b.job().clone(), b.record().clone()).expect("parts");
        assert_eq!(again, b);
    }

    #[test]
    fn cancelling_is_free_a_day_ahead_and_half_price_later_and_only_for_its_customer() {
        let policy = CancellationPolicy::default();
        let start = Timestamp::from_millis(100 * 3_600_000);
        assert_eq!(
            policy.customer_fee(usd(8000), start, start.plus_secs(-24 * 3600)),
            None
        );
        assert_eq!(
            policy.customer_fee(usd(8000), start, start.plus_secs(-24 * 3600 + 1)),
            Some(usd(4000))
        );
        let mut b = booking(ProviderChoice::Any);
        assert_eq!(
            b.cancel_by_customer(user(3), &policy, Timestamp::from_millis(0)),
            Err(BookingError::NotYourBooking)
        );
        let (fee, _) = b
            .cancel_by_customer(user(1), &policy, start.plus_secs(-3600))
            .expect("cancelled");
        assert_eq!(fee, Some(usd(4000)));
        assert_eq!(b.state(), BookingState::Cancelled);
        assert!(b.reschedule(start, user(2), start).is_err());
    }

    #[test]
    fn a_chosen_provider_never_changes_and_any_provider_may_move() {
        let start = Timestamp::from_millis(120 * 3_600_000);
        let mut chosen = booking(ProviderChoice::Chosen);
        assert_eq!(
            chosen.reschedule(start, user(5), Timestamp::from_millis(0)),
            Err(BookingError::ProviderChosen)
        );
        chosen
            .reschedule(start, user(2), Timestamp::from_millis(0))
            .expect("same provider");
        assert_eq!(chosen.starts_at(), start);
        let mut any = booking(ProviderChoice::Any);
        let before = any.version();
        any.reschedule(start, user(5), Timestamp::from_millis(0))
            .expect("moved");
        assert_eq!(any.provider(), user(5));
        assert!(any.version() > before);
        assert!(any.job().excluded_workers.is_empty());
        assert_eq!(any.record().reschedules, 1);
    }
}
