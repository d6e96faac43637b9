//! The operations console's audit log: every operator action (cancel, refund, reassign, waive a fee,
//! suspend, reinstate, approve, reject; create, approve, suspend and reinstate a merchant, change its
//! staff; create or replace a house-call service, approve, reject, suspend or reinstate a provider; acknowledge a provider's SOS alert;
//! create a device, bind it to a worker, unbind it, rotate its token) is recorded with who did it, when, to what and why. The store
//! writes the entry in the same transaction as the action, so the log never misses an action that
//! happened nor records one that did not.

use crate::ids::UserId;
use crate::text::{FORBIDDEN_IN_PARAGRAPH, TextError, TextRule};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The reason an operator gives for an action: required, 1 to 500 characters, trimmed.
pub const AUDIT_REASON: TextRule = TextRule {
    min_chars: 1,
    max_chars: 500,
    forbidden: &FORBIDDEN_IN_PARAGRAPH,
    needs_visible: true,
    trimmed: true,
};

/// Checks an operator's reason by [`AUDIT_REASON`] and returns it trimmed.
pub fn parse_reason(raw: &str) -> Result<String, TextError> {
    AUDIT_REASON.check(raw).map(str::to_owned)
}

/// What an operator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Cancelled a ride without a fee.
    CancelRide,
    /// Cancelled a ride and charged the cancellation fee.
    CancelRideWithFee,
    /// Gave money back to a rider.
    Refund,
    /// Gave a charged fee back to a rider.
    WaiveFee,
    /// Took a ride from its driver and gave it to another.
    ReassignRide,
    /// Took a ride from its driver and put it back into dispatch.
    ReleaseRide,
    /// Suspended an account.
    Suspend,
    /// Lifted a suspension.
    Reinstate,
    /// Approved a driver.
    ApproveDriver,
    /// Rejected a driver.
    RejectDriver,
    /// Created a merchant (with its staff).
    CreateMerchant,
    /// Approved a merchant: customers see it.
    ApproveMerchant,
    /// Suspended a merchant: customers no longer see it.
    SuspendMerchant,
    /// Lifted a merchant's suspension.
    ReinstateMerchant,
    /// Made an account one of a merchant's staff.
    AddMerchantStaff,
    /// Took an account off a merchant's staff.
    RemoveMerchantStaff,
    /// Created a promo code.
    CreatePromo,
    /// Gave a food order to a courier by hand.
    AssignOrder,
    /// Gave money back to an order's customer.
    RefundOrder,
    /// Refund (part of) a house call's price.
    RefundBooking,
    /// Added a service to the house-call catalogue.
    CreateHouseCallService,
    /// Replaced a service of the house-call catalogue (its fields, or retired it).
    ReplaceHouseCallService,
    /// Approved a house-call provider: customers can book them.
    ApproveProvider,
    /// Rejected a house-call provider.
    RejectProvider,
    /// Suspended an approved house-call provider: no new bookings.
    SuspendProvider,
    /// Lifted a house-call provider's suspension.
    ReinstateProvider,
    /// Acknowledged a provider's SOS alert (help is on its way).
    AcknowledgeSos,
    /// Registered a connected device (a vehicle tracker).
    CreateDevice,
    /// Bound a device to a worker: its positions move that worker.
    BindDevice,
    /// Unbound a device from its worker: its positions move nobody.
    UnbindDevice,
    /// Gave a device a new token (the old one stops working).
    RotateDeviceToken,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 31] = [
        AuditAction::CancelRide,
        AuditAction::CancelRideWithFee,
        AuditAction::Refund,
        AuditAction::WaiveFee,
        AuditAction::ReassignRide,
        AuditAction::ReleaseRide,
        AuditAction::Suspend,
        AuditAction::Reinstate,
        AuditAction::ApproveDriver,
        AuditAction::RejectDriver,
        AuditAction::CreateMerchant,
        AuditAction::ApproveMerchant,
        AuditAction::SuspendMerchant,
        AuditAction::ReinstateMerchant,
        AuditAction::AddMerchantStaff,
        AuditAction::RemoveMerchantStaff,
        AuditAction::CreatePromo,
        AuditAction::AssignOrder,
        AuditAction::RefundOrder,
        AuditAction::RefundBooking,
        AuditAction::CreateHouseCallService,
        AuditAction::ReplaceHouseCallService,
        AuditAction::ApproveProvider,
        AuditAction::RejectProvider,
        AuditAction::SuspendProvider,
        AuditAction::ReinstateProvider,
        AuditAction::AcknowledgeSos,
        AuditAction::CreateDevice,
        AuditAction::BindDevice,
        AuditAction::UnbindDevice,
        AuditAction::RotateDeviceToken,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::CancelRide => "cancel_ride",
            AuditAction::CancelRideWithFee => "cancel_ride_with_fee",
            AuditAction::Refund => "refund",
            AuditAction::WaiveFee => "waive_fee",
            AuditAction::ReassignRide => "reassign_ride",
            AuditAction::ReleaseRide => "release_ride",
            AuditAction::Suspend => "suspend",
            AuditAction::Reinstate => "reinstate",
            AuditAction::ApproveDriver => "approve_driver",
            AuditAction::RejectDriver => "reject_driver",
            AuditAction::CreateMerchant => "create_merchant",
            AuditAction::ApproveMerchant => "approve_merchant",
            AuditAction::SuspendMerchant => "suspend_merchant",
            AuditAction::ReinstateMerchant => "reinstate_merchant",
            AuditAction::AddMerchantStaff => "add_merchant_staff",
            AuditAction::RemoveMerchantStaff => "remove_merchant_staff",
            AuditAction::CreatePromo => "create_promo",
            AuditAction::AssignOrder => "assign_order",
            AuditAction::RefundOrder => "refund_order",
            AuditAction::RefundBooking => "refund_booking",
            AuditAction::CreateHouseCallService => "create_house_call_service",
            AuditAction::ReplaceHouseCallService => "replace_house_call_service",
            AuditAction::ApproveProvider => "approve_provider",
            AuditAction::RejectProvider => "reject_provider",
            AuditAction::SuspendProvider => "suspend_provider",
            AuditAction::ReinstateProvider => "reinstate_provider",
            AuditAction::AcknowledgeSos => "acknowledge_sos",
            AuditAction::CreateDevice => "create_device",
            AuditAction::BindDevice => "bind_device",
            AuditAction::UnbindDevice => "unbind_device",
            AuditAction::RotateDeviceToken => "rotate_device_token",
        }
    }

    /// Parses the name produced by [`AuditAction::as_str`].
    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The kind of thing the action is done to.
    pub const fn target_kind(self) -> TargetKind {
        match self {
            AuditAction::CancelRide
            | AuditAction::CancelRideWithFee
            | AuditAction::Refund
            | AuditAction::WaiveFee
            | AuditAction::ReassignRide
            | AuditAction::ReleaseRide => TargetKind::Ride,
            AuditAction::Suspend
            | AuditAction::Reinstate
            | AuditAction::ApproveDriver
            | AuditAction::RejectDriver
            | AuditAction::ApproveProvider
            | AuditAction::RejectProvider
            | AuditAction::SuspendProvider
            | AuditAction::ReinstateProvider => TargetKind::User,
            AuditAction::CreateMerchant
            | AuditAction::ApproveMerchant
            | AuditAction::SuspendMerchant
            | AuditAction::ReinstateMerchant
            | AuditAction::AddMerchantStaff
            | AuditAction::RemoveMerchantStaff => TargetKind::Merchant,
            AuditAction::CreatePromo => TargetKind::Promo,
            AuditAction::AssignOrder | AuditAction::RefundOrder => TargetKind::Order,
            AuditAction::RefundBooking => TargetKind::Booking,
            AuditAction::CreateHouseCallService | AuditAction::ReplaceHouseCallService => {
                TargetKind::Service
            }
            AuditAction::AcknowledgeSos => TargetKind::SosAlert,
            AuditAction::CreateDevice
            | AuditAction::BindDevice
            | AuditAction::UnbindDevice
            | AuditAction::RotateDeviceToken => TargetKind::Device,
        }
    }
}

/// What kind of thing an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A ride (its id is the ride's).
    Ride,
    /// An account.
    User,
    /// A merchant (its id is the merchant's).
    Merchant,
    /// A promo code (its id is the code's).
    Promo,
    /// A food order (its id is the order's).
    Order,
    /// A service of the house-call catalogue (its id is the service's).
    Service,
    /// A provider's SOS alert (its id is the alert's).
    SosAlert,
    /// A house-call booking (its id is the booking's).
    Booking,
    /// A connected device (its id is the device's).
    Device,
}

impl TargetKind {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetKind::Ride => "ride",
            TargetKind::User => "user",
            TargetKind::Merchant => "merchant",
            TargetKind::Promo => "promo",
            TargetKind::Order => "order",
            TargetKind::Service => "service",
            TargetKind::SosAlert => "sos_alert",
            TargetKind::Booking => "booking",
            TargetKind::Device => "device",
        }
    }

    /// Parses the name produced by [`TargetKind::as_str`].
    pub fn parse(s: &str) -> Option<TargetKind> {
        [
            TargetKind::Ride,
            TargetKind::User,
            TargetKind::Merchant,
            TargetKind::Promo,
            TargetKind::Order,
            TargetKind::Service,
            TargetKind::SosAlert,
            TargetKind::Booking,
            TargetKind::Device,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// An operator action to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// The operator.
    pub actor: UserId,
    /// What they did.
    pub action: AuditAction,
    /// The id of the ride or account acted on (its kind is the action's [`AuditAction::target_kind`]).
    pub target: uuid::Uuid,
    /// Why (checked by [`parse_reason`]).
    pub reason: String,
    /// Details of the action as a JSON object (an amount, the new driver), `{}` when none.
    pub detail: String,
    /// The request's idempotency key: a retry with the same operator and key is the same action.
    pub idempotency_key: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// A recorded operator action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its position in the log (grows with time): the cursor of the log's pages.
    pub id: i64,
    /// What was recorded.
    pub entry: NewAuditEntry,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_and_trimmed() {
        assert!(parse_reason("").is_err());
        assert!(parse_reason("   ").is_err());
        assert_eq!(
            parse_reason("  rider was charged twice ").ok().as_deref(),
            Some("rider was charged twice")
        );
        assert!(parse_reason(&"x".repeat(501)).is_err());
        assert!(parse_reason("a\u{202e}b").is_err());
    }

    #[test]
    fn action_names_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(AuditAction::parse("delete_everything"), None);
    }
}
