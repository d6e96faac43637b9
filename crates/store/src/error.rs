//! The one error type of the store.

/// Why a store operation failed.
///
/// The first variants are outcomes the caller is expected to handle (a taken e-mail, a lost race, a
/// repeated request); `Corrupt`, `Database`, `Migrate` and `UnsupportedUrl` are faults of the system
/// and should be logged and answered as internal errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another user already has this e-mail address.
    #[error("email address is already taken")]
    EmailTaken,
    /// The ride changed since it was read (its stored version is not the expected one), or it does not
    /// exist: reload and retry.
    #[error("the ride was changed concurrently")]
    Conflict,
    /// The quote was already turned into another ride.
    #[error("the quote was already used")]
    QuoteAlreadyUsed,
    /// This user already rated this ride.
    #[error("the ride was already rated by this user")]
    AlreadyRated,
    /// The ride already has a posting of this kind.
    #[error("the ride already has a posting of this kind")]
    DuplicatePosting,
    /// The operator already recorded an action with this idempotency key: the action is not done again.
    #[error("this idempotency key was already used for an operator action")]
    AuditKeyUsed,
    /// The account is on a merchant's staff already (an account works for one merchant at most).
    #[error("the account is on a merchant's staff already")]
    StaffTaken,
    /// Every use of the promo code is taken.
    #[error("the promo code has run out")]
    PromoExhausted,
    /// The customer has used the promo code as often as it allows.
    #[error("the customer has used the promo code as often as allowed")]
    PromoUsedUp,
    /// A promo code with this code exists already.
    #[error("the promo code exists already")]
    PromoTaken,
    /// A provider's calendar changed since the availability check read it (another booking or hold took
    /// time): check again.
    #[error("the provider's calendar changed")]
    CalendarChanged,
    /// The write was made under a city epoch that is no longer the city's: another node took the city's
    /// dispatcher over (see `cluster.rs`). Nothing was written.
    #[error("the city {city:?} was taken over: epoch {epoch} is fenced off")]
    Fenced {
        /// The city.
        city: String,
        /// The stale epoch the write carried.
        epoch: i64,
    },
    /// A new offer names a worker that, in the record, has a ride or delivery under way or another
    /// offer still open: a worker holds one offer at a time and takes no other job while it has one
    /// (the dispatcher's view of the worker was behind the record). Nothing was written.
    #[error("the worker has a job under way or an open offer")]
    WorkerBusy,
    /// A stored value does not convert into its domain type (or a domain value could not be encoded).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The connection URL names a database the store does not support.
    #[error("unsupported database url scheme {scheme:?}: expected sqlite or postgres")]
    UnsupportedUrl {
        /// The scheme found (never the whole URL, which may hold a password).
        scheme: String,
    },
    /// The database failed or refused a statement.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the error is a unique-constraint violation reported by the database.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}
