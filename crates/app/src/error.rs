//! Errors of the use cases: the caller's faults, each with a stable machine code, and ours.

use doorstep_domain::offer::OfferError;
use doorstep_domain::ride::RideError;
use doorstep_store::StoreError;

/// What went wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No bearer token, or an unknown or expired one.
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong e-mail or password.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The account is suspended by an operator: it cannot log in, and its tokens are refused.
    #[error("this account is suspended")]
    Suspended,
    /// The thing does not exist or is not the caller's (the two are indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that parses but is not acceptable; `code` is the machine-readable reason.
    #[error("{message}")]
    Invalid {
        /// Stable snake_case code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// The request conflicts with the current state; `code` is the machine-readable reason.
    #[error("{message}")]
    Conflict {
        /// Stable snake_case code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// A payment was refused (insufficient funds, a declined card); `code` is the machine-readable reason.
    #[error("{message}")]
    PaymentRequired {
        /// Stable snake_case code.
        code: &'static str,
        /// Human-readable detail.
        message: String,
    },
    /// A fault of ours: logged, answered with a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A validation failure with `code`.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A state conflict with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => {
                AppError::conflict("email_taken", "an account with this email exists")
            }
            StoreError::Conflict => AppError::conflict(
                "concurrent_update",
                "the ride changed meanwhile; read it again and retry",
            ),
            StoreError::QuoteAlreadyUsed => {
                AppError::conflict("quote_already_used", "this quote was already used")
            }
            StoreError::AlreadyRated => {
                AppError::conflict("already_rated", "you already rated this ride")
            }
            StoreError::WorkerBusy => AppError::conflict(
                "worker_busy",
                "the worker has a job under way or an open offer",
            ),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<RideError> for AppError {
    fn from(e: RideError) -> Self {
        match e {
            RideError::Transition { .. } => AppError::conflict("invalid_ride_state", e.to_string()),
            RideError::NotYourRide => AppError::NotFound("ride"),
            RideError::PinLocked => AppError::conflict(
                "pin_locked",
                "too many wrong pins: the pin is locked; ask the rider for the new pin",
            ),
            RideError::MalformedPin { .. } => AppError::invalid("invalid_pin", e.to_string()),
            RideError::NotAtPickup { .. } => AppError::conflict("not_at_pickup", e.to_string()),
            RideError::DriverExcluded => AppError::conflict("driver_excluded", e.to_string()),
            RideError::Fare(_) | RideError::Job(_) | RideError::NoRideEvent { .. } => {
                AppError::Internal(e.to_string())
            }
        }
    }
}

impl From<OfferError> for AppError {
    fn from(e: OfferError) -> Self {
        match e {
            OfferError::NotYours => AppError::NotFound("offer"),
            OfferError::Expired => AppError::conflict("offer_expired", e.to_string()),
            OfferError::NotPending(_) => AppError::conflict("offer_not_pending", e.to_string()),
        }
    }
}
