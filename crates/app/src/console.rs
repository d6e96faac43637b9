//! What the operations console does, beyond watching: operator actions on rides (cancel with or without a
//! fee, refund fully or partly, waive a fee, reassign or put back into dispatch) and on accounts (suspend,
//! reinstate, approve or reject a driver), each recorded in the audit log in the transaction of the action
//! and idempotent under the request's key; people search and pages; and the drivers' side of onboarding
//! (documents, the approval that going online needs, the sweep that takes drivers with expired documents
//! offline).
//!
//! Every ride action goes through the ride's state machine and every money movement through the ledger's
//! builders ([`refund_posting`], [`fee_waiver_posting`], [`job_cancellation_fee_posting`]), so the books
//! stay balanced whatever the console does.

use crate::dispatcher::DispatchCommand;
use crate::{App, AppError};
use doorstep_domain::audit::{AuditAction, AuditEntry, NewAuditEntry, parse_reason};
use doorstep_domain::contact::Vehicle;
use doorstep_domain::ledger::{
    LedgerError, Posting, PostingKey, fee_waiver_posting, job_cancellation_fee_posting,
    refund_posting,
};
use doorstep_domain::offer::Offer;
use doorstep_domain::onboarding::{
    Approval, CalendarDate, Document, DocumentKind, NotAllowedOnline, may_go_online,
    parse_document_number, parse_phone,
};
use doorstep_domain::ride::{Ride, RideState};
use doorstep_domain::{Money, RideId, Role, User, UserId};
use doorstep_store::{Person, Store, StoreError};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::future::Future;

/// How many audit entries one page may hold.
pub const AUDIT_PAGE_LIMIT: std::ops::RangeInclusive<i64> = 1..=200;
/// How many people a search answers.
pub const PEOPLE_LIMIT: i64 = 50;
/// The longest people search text, in characters.
pub const PEOPLE_SEARCH_MAX_CHARS: usize = 100;
/// How many rides a person's page lists.
const PERSON_RIDES: i64 = 50;
/// How many audit entries a person's page lists.
const PERSON_AUDIT: i64 = 50;

/// Who acts, why, and under which idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct Act<'a> {
    /// The operator.
    pub admin: &'a User,
    /// Why (required: 1 to 500 characters).
    pub reason: &'a str,
    /// The request's `Idempotency-Key`: a retry with the same key does not act again.
    pub key: &'a str,
}

/// A driver's onboarding as the driver and the console see it.
#[derive(Debug, Clone)]
pub struct Onboarding {
    /// Approval (suspended when the account is).
    pub approval: Approval,
    /// The operator's reason for the last decision.
    pub reason: Option<String>,
    /// The documents declared, by kind.
    pub documents: Vec<Document>,
    /// The vehicle registered, which approval needs.
    pub vehicle: Option<Vehicle>,
    /// The day it is in the city, by which documents expire.
    pub today: CalendarDate,
}

/// Everything the console shows of one person.
#[derive(Debug, Clone)]
pub struct PersonPage {
    /// The account.
    pub person: Person,
    /// Their rides (as rider or driver), newest first.
    pub rides: Vec<Ride>,
    /// Their mean rating and how many ratings.
    pub rating: (f64, i64),
    /// A driver's onboarding.
    pub onboarding: Option<Onboarding>,
    /// Operator actions about them, newest first.
    pub audit: Vec<AuditEntry>,
}

/// A ride's money: its postings, what is left to refund, and whether a fee was charged and waived.
#[derive(Debug, Clone)]
pub struct RideLedger {
    /// The postings, oldest first.
    pub postings: Vec<Posting>,
    /// What the rider paid less what came back, minor units.
    pub refundable: Money,
}

/// The effective approval of a driver: suspended if the account is, else the decision.
pub fn effective_approval(person: &Person) -> Option<Approval> {
    person.approval.map(|a| {
        if person.suspended_at.is_some() {
            Approval::Suspended
        } else {
            a
        }
    })
}

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins can do this"))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The posting key of a refund made under an operator's idempotency key: the same request posts the
/// same key, and the ledger keeps one posting per job and key.
fn refund_key(admin: UserId, key: &str) -> Result<PostingKey, AppError> {
    let digest = Sha256::digest(format!("{admin}\n{key}").as_bytes());
    PostingKey::parse(&format!("refund:{}", hex(&digest[..16])))
        .map_err(|e| AppError::Internal(format!("refund key: {e}")))
}

fn ledger_refusal(e: &LedgerError, nothing: &'static str) -> AppError {
    match e {
        LedgerError::RefundTooLarge { refundable } => AppError::conflict(
            "refund_too_large",
            format!("at most {refundable} minor units can still be refunded on this ride"),
        ),
        LedgerError::NoCustomer => AppError::conflict(
            nothing,
            match nothing {
                "no_fee_to_waive" => "no cancellation fee was charged for this ride",
                _ => "the rider paid nothing for this ride",
            },
        ),
        LedgerError::NotPositive(_) => {
            AppError::invalid("invalid_amount", "the amount must be more than zero")
        }
        other => AppError::Internal(format!("posting: {other}")),
    }
}

fn ride_target(id: RideId) -> uuid::Uuid {
    id.as_uuid()
}

/// What an operator acts on, read fresh from the record: what an action answers, also to its retry
/// and to a request that lost the race to another under the same key.
trait Subject: Sized {
    /// Its id.
    type Id: Copy;
    /// What its 404 calls it (`ride_not_found`, `user_not_found`).
    const WHAT: &'static str;
    /// Reads it from the record (`None`: there is none).
    fn read(
        store: &Store,
        id: Self::Id,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send;
}

impl Subject for Ride {
    type Id = RideId;
    const WHAT: &'static str = "ride";
    fn read(
        store: &Store,
        id: RideId,
    ) -> impl Future<Output = Result<Option<Ride>, StoreError>> + Send {
        store.ride(id)
    }
}

impl Subject for Person {
    type Id = UserId;
    const WHAT: &'static str = "user";
    fn read(
        store: &Store,
        id: UserId,
    ) -> impl Future<Output = Result<Option<Person>, StoreError>> + Send {
        store.person(id)
    }
}

/// Whether an audited write happened now (`Some`), or another request under the same key made it
/// first (`None`: its outcome is the answer, and this request has nothing more to do).
pub(crate) fn written<T>(result: Result<T, StoreError>) -> Result<Option<T>, AppError> {
    match result {
        Ok(done) => Ok(Some(done)),
        Err(StoreError::AuditKeyUsed) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A decision about an account: suspending, reinstating, approving and rejecting share one path
/// ([`App::admin_set_suspended`], [`App::admin_decide_driver`]) and differ only in what this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountChange {
    /// Suspend (`true`) or reinstate (`false`) a rider's or driver's account.
    Suspension(bool),
    /// Approve (`true`) or reject (`false`) a driver.
    Approval(bool),
}

impl AccountChange {
    fn action(self) -> AuditAction {
        match self {
            AccountChange::Suspension(true) => AuditAction::Suspend,
            AccountChange::Suspension(false) => AuditAction::Reinstate,
            AccountChange::Approval(true) => AuditAction::ApproveDriver,
            AccountChange::Approval(false) => AuditAction::RejectDriver,
        }
    }
}

impl App {
    /// The day it is in the city now (documents expire by it).
    pub fn today(&self) -> CalendarDate {
        let secs = self.clock().now().unix_secs();
        let local = doorstep_geo::new_york_local(secs);
        // The offset from UTC, from the local seconds of the day (a whole number of minutes).
        let mut offset =
            (i64::from(local.seconds_of_day) - secs.rem_euclid(86_400)).rem_euclid(86_400);
        if offset > 43_200 {
            offset -= 86_400;
        }
        CalendarDate::from_days((secs + offset).div_euclid(86_400)).unwrap_or(CalendarDate::MIN)
    }

    /// The approval of a driver who signs up: pending, or approved when the server approves new drivers
    /// itself ([`AppConfig::require_driver_approval`](crate::AppConfig)).
    pub(crate) fn new_driver_approval(&self) -> Approval {
        if self.config().require_driver_approval {
            Approval::Pending
        } else {
            Approval::Approved
        }
    }

    /// Refuses a driver who may not go online: not approved (409 `driver_not_approved`), suspended
    /// (403 `account_suspended`), or holding an expired document (409 `document_expired`).
    pub(crate) async fn check_may_go_online(&self, driver: UserId) -> Result<(), AppError> {
        let onboarding = self.onboarding_of(driver).await?;
        match may_go_online(onboarding.approval, &onboarding.documents, onboarding.today) {
            Ok(()) => Ok(()),
            Err(NotAllowedOnline::NotApproved(Approval::Suspended)) => Err(AppError::Suspended),
            Err(NotAllowedOnline::NotApproved(state)) => Err(AppError::conflict(
                "driver_not_approved",
                format!(
                    "your account is {}: an operator must approve it before you can go online",
                    state.as_str()
                ),
            )),
            Err(NotAllowedOnline::DocumentExpired(kind)) => Err(AppError::conflict(
                "document_expired",
                format!(
                    "your {} has expired: upload the new one to go online",
                    kind.as_str().replace('_', " ")
                ),
            )),
        }
    }

    async fn onboarding_of(&self, driver: UserId) -> Result<Onboarding, AppError> {
        let person = self
            .store()
            .person(driver)
            .await?
            .ok_or(AppError::NotFound("driver"))?;
        let approval = effective_approval(&person).ok_or(AppError::NotFound("driver"))?;
        Ok(Onboarding {
            approval,
            reason: person.approval_reason,
            documents: self.store().driver_documents(driver).await?,
            vehicle: self.store().vehicle(driver).await?,
            today: self.today(),
        })
    }

    /// The driver's own onboarding: approval and documents.
    pub async fn onboarding(&self, driver: &User) -> Result<Onboarding, AppError> {
        if driver.role != Role::Driver {
            return Err(AppError::Forbidden("only drivers can do this"));
        }
        self.onboarding_of(driver.id).await
    }

    /// The driver declares a document (replacing the one of its kind): its number and its expiry date,
    /// which must not have passed (422 `invalid_document_kind`, `invalid_document_number`,
    /// `invalid_expiry_date`; 409 `document_expired`: a matter of today's date, not of the input's form).
    pub async fn put_document(
        &self,
        driver: &User,
        kind: &str,
        number: &str,
        expires_on: &str,
    ) -> Result<Onboarding, AppError> {
        if driver.role != Role::Driver {
            return Err(AppError::Forbidden("only drivers can do this"));
        }
        let document = check_document(
            &DocumentKind::DRIVER,
            kind,
            number,
            expires_on,
            self.today(),
        )?;
        self.store()
            .put_driver_document(driver.id, &document, self.clock().now())
            .await?;
        self.onboarding_of(driver.id).await
    }

    /// Takes a driver offline in the record and the hot state (a ride under way continues).
    async fn take_offline(&self, driver: UserId) -> Result<(), AppError> {
        self.store()
            .set_driver_online(driver, false, self.clock().now())
            .await?;
        self.offline_in_fleet(driver);
        Ok(())
    }

    /// Takes a driver offline in the hot state only (the record already says so, or says why).
    fn offline_in_fleet(&self, driver: UserId) {
        self.with_fleet(|f| {
            if f.driver(driver).is_some() {
                f.set_online(driver, false);
            }
        });
        self.tell_online(driver, false);
    }

    /// Takes offline every online driver holding a document that expired (run every minute); returns
    /// how many.
    pub async fn sweep_expired_documents(&self) -> Result<usize, AppError> {
        let drivers = self
            .store()
            .online_drivers_with_expired_documents(self.today())
            .await?;
        for &driver in &drivers {
            self.take_offline(driver).await?;
            tracing::info!(driver_id = %driver, "driver taken offline: a document expired");
        }
        Ok(drivers.len())
    }

    /// Sets or clears the caller's phone number (E.164; 422 `invalid_phone`).
    pub async fn set_phone(
        &self,
        user: &User,
        phone: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        let phone = phone.map(check_phone).transpose()?;
        self.store().set_phone(user.id, phone.as_deref()).await?;
        Ok(phone)
    }

    // ---- operator actions

    /// The earlier action recorded under the request's key: `Some` if this request is a retry of it
    /// (same action and target), an error if the key was used for something else, `None` if it is new.
    pub(crate) async fn earlier(
        &self,
        act: &Act<'_>,
        actions: &[AuditAction],
        target: uuid::Uuid,
    ) -> Result<Option<AuditEntry>, AppError> {
        match self.store().audit_by_key(act.admin.id, act.key).await? {
            Some(e) if actions.contains(&e.entry.action) && e.entry.target == target => Ok(Some(e)),
            Some(_) => Err(AppError::invalid(
                "idempotency_key_reused",
                "this idempotency key was used for another action",
            )),
            None => Ok(None),
        }
    }

    /// Checks the caller and the reason, and builds the audit entry of `action` on `target`.
    pub(crate) fn audit_entry(
        &self,
        act: &Act<'_>,
        action: AuditAction,
        target: uuid::Uuid,
        detail: serde_json::Value,
    ) -> Result<NewAuditEntry, AppError> {
        require_admin(act.admin)?;
        let reason = parse_reason(act.reason).map_err(|e| {
            AppError::invalid("invalid_reason", format!("a reason is required: it {e}"))
        })?;
        Ok(NewAuditEntry {
            actor: act.admin.id,
            action,
            target,
            reason,
            detail: detail.to_string(),
            idempotency_key: Some(act.key.to_owned()),
            at: self.clock().now(),
        })
    }

    /// Begins an operator action: the checked audit entry of `action` on `target`, or `None` when this
    /// request retries an earlier one (same key, action and target), which the subject as it is now
    /// then answers.
    pub(crate) async fn begin(
        &self,
        act: &Act<'_>,
        action: AuditAction,
        target: uuid::Uuid,
        detail: serde_json::Value,
    ) -> Result<Option<NewAuditEntry>, AppError> {
        let entry = self.audit_entry(act, action, target, detail)?;
        Ok(self
            .earlier(act, &[action], target)
            .await?
            .is_none()
            .then_some(entry))
    }

    /// What an operator acts on, read fresh (404 `ride_not_found`, `user_not_found`).
    async fn subject<S: Subject>(&self, id: S::Id) -> Result<S, AppError> {
        S::read(self.store(), id)
            .await?
            .ok_or(AppError::NotFound(S::WHAT))
    }

    /// A driver's account (404 `driver_not_found` for anyone else).
    async fn driver_account(&self, id: UserId) -> Result<Person, AppError> {
        self.store()
            .person(id)
            .await?
            .filter(|p| p.user.role == Role::Driver)
            .ok_or(AppError::NotFound("driver"))
    }

    /// Cancels a ride before its trip starts, charging the configured cancellation fee when `with_fee`
    /// (posted in the same transaction: the driver on the way gets their share, with no driver the
    /// platform keeps it), else free.
    pub async fn admin_cancel_ride(
        &self,
        act: Act<'_>,
        id: RideId,
        with_fee: bool,
    ) -> Result<Ride, AppError> {
        let action = if with_fee {
            AuditAction::CancelRideWithFee
        } else {
            AuditAction::CancelRide
        };
        let pricing = &self.config().pricing;
        let fee = with_fee.then(|| Money::new(pricing.cancel_fee_minor, pricing.currency));
        let Some(entry) = self
            .begin(
                &act,
                action,
                ride_target(id),
                serde_json::json!({ "fee": fee.map(|f| f.minor) }),
            )
            .await?
        else {
            return self.subject(id).await;
        };
        if fee.is_some_and(|f| f.minor <= 0) {
            return Err(AppError::conflict(
                "no_cancellation_fee",
                "this city charges no cancellation fee",
            ));
        }
        let mut ride: Ride = self.subject(id).await?;
        let (from, expected) = (ride.state(), ride.version());
        let now = self.clock().now();
        let event = ride.cancel_by_admin(fee, now)?;
        let mut offers = self.store().offers_of_ride(ride.id()).await?;
        offers.retain_mut(Offer::withdraw);
        let posting = match fee {
            Some(fee) => Some(
                job_cancellation_fee_posting(
                    id.into(),
                    ride.rider(),
                    ride.driver(),
                    fee,
                    pricing.commission_bps,
                    now,
                )
                .map_err(|e| AppError::Internal(format!("fee posting: {e}")))?,
            ),
            None => None,
        };
        let committed = self
            .commit_audited(
                &ride,
                from,
                expected,
                &offers,
                &[event],
                posting.as_ref(),
                Some(&entry),
            )
            .await;
        if written(committed)?.is_none() {
            return self.subject(id).await;
        }
        self.apply_committed(&ride, None);
        self.dispatch(DispatchCommand::Gone(ride.id().into()));
        Ok(ride)
    }

    /// The ride's postings and what is left to refund.
    pub async fn ride_ledger(&self, admin: &User, id: RideId) -> Result<RideLedger, AppError> {
        require_admin(admin)?;
        let ride: Ride = self.subject(id).await?;
        let postings = self.store().postings_of_ride(id).await?;
        let currency = self.config().pricing.currency;
        let mut net = 0i64;
        for e in postings.iter().flat_map(|p| p.entries()) {
            if e.account.customer_of() == Some(ride.rider()) {
                net = net.saturating_add(e.amount.minor);
            }
        }
        Ok(RideLedger {
            postings,
            refundable: Money::new((-net).max(0), currency),
        })
    }

    /// Gives `amount_minor` back to the ride's rider: at most what they paid for it less earlier
    /// refunds (409 `refund_too_large`, `nothing_to_refund`), posted through the ledger's refund builder.
    pub async fn admin_refund(
        &self,
        act: Act<'_>,
        id: RideId,
        amount_minor: i64,
    ) -> Result<RideLedger, AppError> {
        let entry = self.audit_entry(
            &act,
            AuditAction::Refund,
            ride_target(id),
            serde_json::json!({ "amount": amount_minor }),
        )?;
        if amount_minor <= 0 {
            return Err(AppError::invalid(
                "invalid_amount",
                "the amount must be more than zero (minor units)",
            ));
        }
        if self
            .earlier(&act, &[AuditAction::Refund], ride_target(id))
            .await?
            .is_some()
        {
            return self.ride_ledger(act.admin, id).await;
        }
        self.subject::<Ride>(id).await?;
        let amount = Money::new(amount_minor, self.config().pricing.currency);
        // A concurrent refund may win between the read and the write: the store refuses the one that
        // would give back more than was paid, and the next read of the balance says how much is left.
        for _ in 0..crate::rides::RIDE_CHANGE_TRIES {
            let postings = self.store().postings_of_ride(id).await?;
            let posting = refund_posting(
                id.into(),
                &postings,
                amount,
                refund_key(act.admin.id, act.key)?,
                self.clock().now(),
            )
            .map_err(|e| ledger_refusal(&e, "nothing_to_refund"))?;
            match self.store().insert_posting_audited(&posting, &entry).await {
                Ok(()) | Err(StoreError::AuditKeyUsed) => {
                    return self.ride_ledger(act.admin, id).await;
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Gives back the cancellation fee charged for the ride, as a waiver (409 `no_fee_to_waive`,
    /// `fee_already_waived`, `refund_too_large` when earlier refunds left less than the fee).
    pub async fn admin_waive_fee(&self, act: Act<'_>, id: RideId) -> Result<RideLedger, AppError> {
        let Some(entry) = self
            .begin(
                &act,
                AuditAction::WaiveFee,
                ride_target(id),
                serde_json::json!({}),
            )
            .await?
        else {
            return self.ride_ledger(act.admin, id).await;
        };
        self.subject::<Ride>(id).await?;
        let postings = self.store().postings_of_ride(id).await?;
        if postings.iter().any(doorstep_domain::ledger::is_fee_waiver) {
            return Err(AppError::conflict(
                "fee_already_waived",
                "the cancellation fee of this ride was already waived",
            ));
        }
        let posting = fee_waiver_posting(id.into(), &postings, self.clock().now())
            .map_err(|e| ledger_refusal(&e, "no_fee_to_waive"))?;
        match self.store().insert_posting_audited(&posting, &entry).await {
            Ok(()) | Err(StoreError::AuditKeyUsed) => {}
            // A refund made meanwhile left less than the fee to give back.
            Err(StoreError::Conflict) => {
                let left = self.ride_ledger(act.admin, id).await?.refundable;
                return Err(ledger_refusal(
                    &LedgerError::RefundTooLarge {
                        refundable: left.minor,
                    },
                    "no_fee_to_waive",
                ));
            }
            Err(StoreError::DuplicatePosting) => {
                return Err(AppError::conflict(
                    "fee_already_waived",
                    "the cancellation fee of this ride was already waived",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.ride_ledger(act.admin, id).await
    }

    /// Takes an assigned ride from its driver: to `to` (an approved, online, idle driver with a known
    /// position; 409 `driver_unavailable`, `driver_not_approved`, `driver_excluded`), or back into
    /// dispatch (`None`), where its driver is not offered it again.
    pub async fn admin_reassign(
        &self,
        act: Act<'_>,
        id: RideId,
        to: Option<UserId>,
    ) -> Result<Ride, AppError> {
        let action = if to.is_some() {
            AuditAction::ReassignRide
        } else {
            AuditAction::ReleaseRide
        };
        let Some(entry) = self
            .begin(
                &act,
                action,
                ride_target(id),
                serde_json::json!({ "to": to.map(|d| d.to_string()) }),
            )
            .await?
        else {
            return self.subject(id).await;
        };
        let mut ride: Ride = self.subject(id).await?;
        let (from, expected) = (ride.state(), ride.version());
        let now = self.clock().now();
        let previous = ride.driver();
        let events = match to {
            None => vec![ride.release_by_admin()?],
            Some(driver) => {
                let person = self.driver_account(driver).await?;
                if effective_approval(&person) != Some(Approval::Approved) {
                    return Err(AppError::conflict(
                        "driver_not_approved",
                        "that driver is not approved to drive",
                    ));
                }
                if !matches!(from, RideState::DriverAssigned | RideState::DriverArrived) {
                    return Err(AppError::conflict(
                        "invalid_ride_state",
                        format!("cannot reassign a ride that is {from}"),
                    ));
                }
                let fresh_since = self.drivers_fresh_since();
                let position = self.with_fleet(|f| {
                    f.driver(driver)
                        .filter(|d| d.online() && d.is_idle() && !d.is_stale(fresh_since))
                        .and_then(|d| d.position())
                });
                let position = position.ok_or_else(|| {
                    AppError::conflict(
                        "driver_unavailable",
                        "that driver is not online and free, or has not reported a position lately",
                    )
                })?;
                let eta = crate::rides::to_u32(self.travel_secs(position, ride.pickup(), now));
                ride.reassign_by_admin(driver, eta, now)?.to_vec()
            }
        };
        let committed = self
            .commit_audited(&ride, from, expected, &[], &events, None, Some(&entry))
            .await;
        if written(committed)?.is_none() {
            return self.subject(id).await;
        }
        self.apply_committed(&ride, None);
        if to.is_none() {
            self.dispatch(DispatchCommand::Open(ride.id().into()));
        }
        tracing::info!(ride_id = %id, from = ?previous, to = ?to, "ride reassigned by an operator");
        Ok(ride)
    }

    /// Suspends (`true`) or reinstates (`false`) a rider's or driver's account (409
    /// `cannot_suspend_admin`, `already_suspended`, `not_suspended`). A suspended account cannot log in
    /// and its tokens answer 403 `account_suspended`; a suspended driver is taken offline.
    pub async fn admin_set_suspended(
        &self,
        act: Act<'_>,
        id: UserId,
        suspend: bool,
    ) -> Result<Person, AppError> {
        self.change_account(act, id, AccountChange::Suspension(suspend))
            .await
    }

    /// Approves (`true`) or rejects (`false`) a driver (404 for anyone else; 409 `already_approved`,
    /// `already_rejected`, and `vehicle_missing` for an approval before the driver registered a
    /// vehicle). A rejected driver is taken offline.
    pub async fn admin_decide_driver(
        &self,
        act: Act<'_>,
        id: UserId,
        approve: bool,
    ) -> Result<Person, AppError> {
        self.change_account(act, id, AccountChange::Approval(approve))
            .await
    }

    /// The one path of the decisions about an account: audited and idempotent like every action,
    /// answering the account as it is after.
    async fn change_account(
        &self,
        act: Act<'_>,
        id: UserId,
        change: AccountChange,
    ) -> Result<Person, AppError> {
        let target = id.as_uuid();
        let Some(entry) = self
            .begin(&act, change.action(), target, serde_json::json!({}))
            .await?
        else {
            return self.subject(id).await;
        };
        let now = self.clock().now();
        let (person, write) = match change {
            AccountChange::Suspension(suspend) => {
                let person: Person = self.subject(id).await?;
                check_suspension(&person, suspend)?;
                let write = self
                    .store()
                    .set_suspended(id, suspend.then_some(now), &entry)
                    .await;
                (person, write)
            }
            AccountChange::Approval(approve) => {
                let person = self.driver_account(id).await?;
                let state = self.check_approval(&person, approve).await?;
                let write = self
                    .store()
                    .set_driver_approval(id, state, Some(&entry.reason), Some(&entry), now)
                    .await;
                (person, write)
            }
        };
        if written(write)?.is_none() {
            return self.subject(id).await;
        }
        match change {
            AccountChange::Suspension(suspend) => {
                self.forget_sessions_of(id);
                if suspend && person.user.role == Role::Driver {
                    self.offline_in_fleet(id);
                }
            }
            AccountChange::Approval(approve) => {
                if !approve {
                    self.offline_in_fleet(id);
                }
            }
        }
        self.subject(id).await
    }

    /// The approval or rejection `approve` asks of `driver`, if it changes something and, for an
    /// approval, the driver has registered a vehicle.
    async fn check_approval(&self, driver: &Person, approve: bool) -> Result<Approval, AppError> {
        let state = if approve {
            Approval::Approved
        } else {
            Approval::Rejected
        };
        if driver.approval == Some(state) {
            return Err(if approve {
                AppError::conflict("already_approved", "this driver is already approved")
            } else {
                AppError::conflict("already_rejected", "this driver is already rejected")
            });
        }
        if approve && self.store().vehicle(driver.user.id).await?.is_none() {
            return Err(AppError::conflict(
                "vehicle_missing",
                "this driver has not registered a vehicle yet: they register one in the driver app before approval",
            ));
        }
        Ok(state)
    }

    // ---- reads

    /// The audit log, newest first: about `target`, by `actor`, below the cursor `before`.
    pub async fn audit_log(
        &self,
        admin: &User,
        target: Option<uuid::Uuid>,
        actor: Option<UserId>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, AppError> {
        require_admin(admin)?;
        Ok(self
            .store()
            .audit_log(
                target,
                actor,
                before,
                limit.clamp(1, *AUDIT_PAGE_LIMIT.end()),
            )
            .await?)
    }

    /// People whose name, e-mail address or phone number contains `text`.
    pub async fn search_people(&self, admin: &User, text: &str) -> Result<Vec<Person>, AppError> {
        require_admin(admin)?;
        Ok(self.store().search_people(text, PEOPLE_LIMIT).await?)
    }

    /// Everything the console shows of one person.
    pub async fn person_page(&self, admin: &User, id: UserId) -> Result<PersonPage, AppError> {
        require_admin(admin)?;
        let person: Person = self.subject(id).await?;
        let rides = match person.user.role {
            Role::Rider => self.store().rides_of_rider(id, PERSON_RIDES).await?,
            Role::Driver => self.store().rides_of_driver(id, PERSON_RIDES).await?,
            _ => Vec::new(),
        };
        let onboarding = if person.user.role == Role::Driver {
            Some(self.onboarding_of(id).await?)
        } else {
            None
        };
        Ok(PersonPage {
            rating: self.store().rating_summary(id).await?,
            audit: self
                .store()
                .audit_log(Some(id.as_uuid()), None, None, PERSON_AUDIT)
                .await?,
            rides,
            onboarding,
            person,
        })
    }

    /// These accounts (unknown ids are left out), in the order asked.
    pub async fn people_by_ids(
        &self,
        admin: &User,
        ids: &[UserId],
    ) -> Result<Vec<Person>, AppError> {
        require_admin(admin)?;
        let mut out: Vec<Person> = Vec::new();
        for &id in ids {
            if out.iter().any(|p| p.user.id == id) {
                continue;
            }
            if let Some(p) = self.store().person(id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The names of these accounts (unknown ids are left out), for showing people by name.
    pub async fn names_of(
        &self,
        admin: &User,
        ids: &[UserId],
    ) -> Result<Vec<(UserId, String, Role)>, AppError> {
        require_admin(admin)?;
        let mut out = Vec::new();
        for &id in ids {
            if out.iter().any(|(seen, _, _)| *seen == id) {
                continue;
            }
            if let Some(p) = self.store().person(id).await? {
                out.push((id, p.user.name, p.user.role));
            }
        }
        Ok(out)
    }
}

/// Whether `person`'s account may be suspended (`suspend`) or reinstated: a rider's or driver's that
/// is not so already.
fn check_suspension(person: &Person, suspend: bool) -> Result<(), AppError> {
    if !matches!(person.user.role, Role::Rider | Role::Driver) {
        return Err(AppError::conflict(
            "cannot_suspend_admin",
            "only riders' and drivers' accounts can be suspended here",
        ));
    }
    match (suspend, person.suspended_at.is_some()) {
        (true, true) => Err(AppError::conflict(
            "already_suspended",
            "this account is already suspended",
        )),
        (false, false) => Err(AppError::conflict(
            "not_suspended",
            "this account is not suspended",
        )),
        _ => Ok(()),
    }
}

/// Checks a declared document of one of `kinds` (422 `invalid_document_kind`, `invalid_document_number`,
/// `invalid_expiry_date`; 409 `document_expired` when it expired before `today`).
pub(crate) fn check_document(
    kinds: &[DocumentKind],
    kind: &str,
    number: &str,
    expires_on: &str,
    today: CalendarDate,
) -> Result<Document, AppError> {
    let kind = DocumentKind::parse(kind)
        .filter(|k| kinds.contains(k))
        .ok_or_else(|| {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            AppError::invalid(
                "invalid_document_kind",
                format!("a document is one of: {}", names.join(", ")),
            )
        })?;
    let number = parse_document_number(number).ok_or_else(|| {
        AppError::invalid(
            "invalid_document_number",
            "a document number is 1 to 40 letters, digits, spaces and hyphens",
        )
    })?;
    let expires_on = CalendarDate::parse(expires_on).ok_or_else(|| {
        AppError::invalid(
            "invalid_expiry_date",
            "the expiry date is a day written YYYY-MM-DD, in the years 2000 to 2999",
        )
    })?;
    let document = Document {
        kind,
        number,
        expires_on,
    };
    if document.is_expired(today) {
        return Err(AppError::conflict(
            "document_expired",
            "this document has already expired",
        ));
    }
    Ok(document)
}

/// Checks a phone number (422 `invalid_phone`).
pub fn check_phone(raw: &str) -> Result<String, AppError> {
    parse_phone(raw).ok_or_else(|| {
        AppError::invalid(
            "invalid_phone",
            "a phone number is + and 7 to 15 digits with the country code (E.164), e.g. +12125550100",
        )
    })
}
