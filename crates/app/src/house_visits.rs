//! The day of a house call: the provider sets off ("on my way", with their position for the customer),
//! arrives, checks in with the customer's code, checks out; either side can report the other did not
//! come. And the booking's money: the price is authorised at booking, captured at check-out with the
//! posting that shares it between provider and platform, the fee only after a late cancellation or a
//! customer's no-show, released otherwise.
//!
//! Every step is a transition of the booking (so of its job), written with its events and postings in
//! one transaction under the job's version; a lost race re-reads and tries again. Settlement runs after
//! the commit and is idempotent.

use crate::{App, AppError};
use doorstep_domain::housecall::booking::{BookingError, CheckIn};
use doorstep_domain::housecall::{Booking, BookingEvent, BookingState};
use doorstep_domain::ledger::{
    HouseCallCharge, Posting, house_call_posting, job_cancellation_fee_posting,
};
use doorstep_domain::{JobId, Money, Role, Timestamp, User, UserId};
use doorstep_geo::LatLng;
use doorstep_store::{BookingChange, Recipient, StoreError};

/// The platform's commission on a house call's price, basis points.
pub const COMMISSION_BPS: i64 = 2_000;
/// How close to the customer's place the provider must be to arrive, metres.
pub const ARRIVE_RADIUS_M: u32 = 150;
/// How old a provider's position may be to count, seconds.
pub const POSITION_FRESH_S: i64 = 120;

/// What a visit step asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitStep<'a> {
    /// Setting off, expecting to arrive in `eta_min` minutes.
    OnMyWay {
        /// Minutes to the door.
        eta_min: u32,
    },
    /// At the door.
    Arrive,
    /// Checking in with the customer's code.
    CheckIn {
        /// The code.
        code: &'a str,
    },
    /// Done.
    CheckOut,
    /// The customer was not there.
    CustomerNoShow,
    /// The provider did not come (the customer reports it).
    ProviderNoShow,
}

fn step_error(e: BookingError) -> AppError {
    use doorstep_domain::job::JobError;
    match e {
        BookingError::NotYourBooking => AppError::NotFound("booking"),
        BookingError::TooEarly(from) => AppError::conflict(
            "too_early",
            format!("a no-show can be reported from {} (Unix ms)", from.millis()),
        ),
        BookingError::Job(JobError::TooFarFromStop {
            distance_m,
            radius_m,
        }) => AppError::conflict(
            "not_at_the_door",
            format!("you are {distance_m} m from the customer's place; arrive within {radius_m} m"),
        ),
        BookingError::Job(JobError::PositionUnknown { .. }) => AppError::conflict(
            "position_unknown",
            "send your position first (POST /v1/providers/me/location)",
        ),
        BookingError::Job(JobError::ProofLocked) => AppError::conflict(
            "code_locked",
            "too many wrong codes: the check-in code is locked; contact support",
        ),
        BookingError::Job(JobError::MalformedProof { .. }) => {
            AppError::invalid("invalid_code", "a check-in code is 4 digits")
        }
        other => AppError::conflict("invalid_booking_state", other.to_string()),
    }
}

impl App {
    /// Records a provider's position (what the customer sees while they are on the way, and what
    /// arrival is checked against).
    pub fn set_provider_position(&self, provider: &User, at: LatLng) -> Result<(), AppError> {
        if provider.role != Role::Provider {
            return Err(AppError::Forbidden("only providers report a position here"));
        }
        let now = self.clock().now();
        let mut positions = self
            .inner
            .provider_positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if positions.len() >= 100_000 {
            positions.retain(|_, (_, seen)| now.secs_since(*seen) < POSITION_FRESH_S);
        }
        positions.insert(provider.id, (at, now));
        drop(positions);
        // Every node answers the provider's and the customer's requests: in a cluster, all hear it.
        self.tell_provider_position(provider.id, at, now);
        Ok(())
    }

    /// A provider's position heard from another node (cluster mode).
    pub(crate) fn provider_position_heard(&self, provider: UserId, at: LatLng, seen: Timestamp) {
        let mut positions = self
            .inner
            .provider_positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let newer = positions.get(&provider).is_none_or(|(_, s)| *s <= seen);
        if newer {
            positions.insert(provider, (at, seen));
        }
    }

    /// A provider's last position if it is fresh, with when it was reported.
    pub fn provider_position(&self, provider: UserId) -> Option<(LatLng, Timestamp)> {
        let now = self.clock().now();
        self.inner
            .provider_positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&provider)
            .copied()
            .filter(|(_, seen)| now.secs_since(*seen) <= POSITION_FRESH_S)
    }

    /// Where the provider is, for the customer while they are on the way or at the door.
    pub fn provider_on_the_way(&self, booking: &Booking) -> Option<(LatLng, Timestamp)> {
        matches!(
            booking.state(),
            BookingState::OnTheWay | BookingState::Arrived
        )
        .then(|| self.provider_position(booking.provider()))
        .flatten()
    }

    /// A step of the visit by its provider (or, for [`VisitStep::ProviderNoShow`], its customer).
    /// Returns the booking after it; a wrong check-in code is 422 `wrong_code` with the attempts left
    /// (counted: the booking changed).
    pub async fn visit_step(
        &self,
        caller: &User,
        id: JobId,
        step: VisitStep<'_>,
    ) -> Result<Booking, AppError> {
        for _ in 0..4 {
            let mut booking = self.booking_for(caller, id).await?;
            let by_customer = matches!(step, VisitStep::ProviderNoShow);
            let party = if by_customer {
                booking.customer()
            } else {
                booking.provider()
            };
            if party != caller.id {
                return Err(AppError::NotFound("booking"));
            }
            let expected = booking.version();
            let now = self.clock().now();
            let position = self.provider_position(caller.id).map(|(p, _)| p);
            let mut wrong = None;
            let events: Vec<BookingEvent> = match step {
                VisitStep::OnMyWay { eta_min } => booking
                    .on_my_way(caller.id, now.plus_secs(i64::from(eta_min) * 60), now)
                    .map_err(step_error)?,
                VisitStep::Arrive => booking
                    .arrive(caller.id, position, ARRIVE_RADIUS_M, now)
                    .map_err(step_error)?,
                VisitStep::CheckIn { code } => {
                    match booking.check_in(caller.id, code, now).map_err(step_error)? {
                        CheckIn::Started(events) => events,
                        CheckIn::WrongCode {
                            attempts_left,
                            events,
                        } => {
                            wrong = Some(attempts_left);
                            events
                        }
                    }
                }
                VisitStep::CheckOut => booking
                    .check_out(caller.id, position, ARRIVE_RADIUS_M, now)
                    .map_err(step_error)?,
                VisitStep::CustomerNoShow => {
                    booking
                        .customer_no_show(caller.id, &self.cancellation_policy(), now)
                        .map_err(step_error)?
                        .1
                }
                VisitStep::ProviderNoShow => booking
                    .provider_no_show(caller.id, now)
                    .map_err(step_error)?,
            };
            let postings = self.booking_postings(&booking, now)?;
            let to = crate::housecalls::recipients(&booking, None);
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
                    if let Some(attempts_left) = wrong {
                        return Err(AppError::invalid(
                            "wrong_code",
                            format!("wrong check-in code; {attempts_left} attempts left"),
                        ));
                    }
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

    /// The postings a booking's change makes: the price shared at completion, the fee of a late
    /// cancellation or a customer's no-show.
    pub(crate) fn booking_postings(
        &self,
        booking: &Booking,
        now: Timestamp,
    ) -> Result<Vec<Posting>, AppError> {
        let ledger = |e: doorstep_domain::ledger::LedgerError| AppError::Internal(e.to_string());
        Ok(match (booking.state(), booking.job().cancel_fee) {
            (BookingState::Completed, _) => vec![
                house_call_posting(
                    booking.id(),
                    booking.customer(),
                    booking.provider(),
                    &HouseCallCharge {
                        price: booking.record().price,
                        booking_fee: Money::zero(booking.record().price.currency),
                        commission_bps: COMMISSION_BPS,
                    },
                    now,
                )
                .map_err(ledger)?,
            ],
            (BookingState::Cancelled | BookingState::Missed, Some(fee)) if fee.minor > 0 => vec![
                job_cancellation_fee_posting(
                    booking.id(),
                    booking.customer(),
                    Some(booking.provider()),
                    fee,
                    COMMISSION_BPS,
                    now,
                )
                .map_err(ledger)?,
            ],
            _ => Vec::new(),
        })
    }

    /// Settles the payment of a booking that ended: the price at completion, the fee after a late
    /// cancellation or a no-show, nothing otherwise (the hold is released). Idempotent; failures are
    /// logged (the booking's end stands).
    pub(crate) async fn settle_booking(&self, booking: &Booking) {
        let charge = match booking.state() {
            BookingState::Completed => Some(booking.record().price),
            BookingState::Cancelled | BookingState::Missed => booking.job().cancel_fee,
            _ => return,
        };
        let result = async {
            if let Some(auth) = self.store().authorisation(booking.id()).await? {
                self.settle_authorisation(auth, charge).await?;
            }
            Ok::<(), AppError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, booking_id = %booking.id(), "settling the booking's payment failed");
            metrics::counter!("payment_settlement_failures_total").increment(1);
        }
    }
}

impl App {
    /// A booking's postings and what is left to refund (operators; 404 `booking_not_found`).
    pub async fn booking_ledger(
        &self,
        admin: &User,
        id: JobId,
    ) -> Result<crate::console::RideLedger, AppError> {
        if admin.role != Role::Admin {
            return Err(AppError::Forbidden("only admins can do this"));
        }
        let booking = self.booking_for(admin, id).await?;
        self.job_ledger(id, booking.customer(), booking.record().price.currency)
            .await
    }

    /// An operator gives `amount_minor` back to a booking's customer, borne by the platform: at most what
    /// they paid for it less earlier refunds (409 `refund_too_large`, `nothing_to_refund`). Posted with the
    /// audit entry in one transaction, then paid back through the booking's method; idempotent under the
    /// operator's key, and two refunds racing never give back more than was paid.
    pub async fn admin_refund_booking(
        &self,
        act: crate::console::Act<'_>,
        id: JobId,
        amount_minor: i64,
    ) -> Result<crate::console::RideLedger, AppError> {
        use doorstep_domain::audit::AuditAction;
        use doorstep_domain::ledger::RefundBearer;
        let entry = self.audit_entry(
            &act,
            AuditAction::RefundBooking,
            id.as_uuid(),
            serde_json::json!({ "amount": amount_minor }),
        )?;
        let booking = self.booking_for(act.admin, id).await?;
        if amount_minor <= 0 {
            return Err(AppError::invalid(
                "invalid_amount",
                "the amount must be more than zero (minor units)",
            ));
        }
        if self
            .earlier(&act, &[AuditAction::RefundBooking], id.as_uuid())
            .await?
            .is_some()
        {
            return self.booking_ledger(act.admin, id).await;
        }
        let amount = Money::new(amount_minor, booking.record().price.currency);
        self.post_refund(&act, &entry, id, amount, RefundBearer::Platform)
            .await?;
        self.booking_ledger(act.admin, id).await
    }
}
