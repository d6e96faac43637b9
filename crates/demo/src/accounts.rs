//! Demo accounts: signing up (or logging in when the account already exists, as after a restart
//! against the same database) and a pool of rider accounts reused from ride to ride.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::api::{Api, MAX_BACKOFF};
use crate::shutdown::Shutdown;
use crate::wire::Session;

/// Who an account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Driver,
    Rider,
    /// A food customer: an account of role rider, named `customer{N}`.
    Customer,
    /// A house-call provider, named `provider{N}`.
    Provider,
    /// A house-call customer: an account of role rider, named `client{N}`.
    Client,
}

impl Role {
    /// The role the account signs up with.
    fn wire(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Rider | Role::Customer | Role::Client => "rider",
            Role::Provider => "provider",
        }
    }

    /// The first part of the account's e-mail address.
    fn prefix(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Rider => "rider",
            Role::Customer => "customer",
            Role::Provider => "provider",
            Role::Client => "client",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Role::Driver => "Driver",
            Role::Rider => "Rider",
            Role::Customer => "Customer",
            Role::Provider => "Provider",
            Role::Client => "Client",
        }
    }
}

/// A signed-in demo account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// The `N` of `driver{N}@demo.doorstep.dev` / `rider{N}@demo.doorstep.dev`.
    pub(crate) index: u64,
    pub(crate) user_id: String,
    pub(crate) token: String,
    /// The last durable event this account's event stream delivered, to resume from.
    pub(crate) last_event_id: i64,
    /// Whether this run has already cleaned up rides a previous run left open.
    pub(crate) tidied: bool,
}

impl Account {
    pub(crate) fn email(role: Role, index: u64) -> String {
        format!("{}{index}@demo.doorstep.dev", role.prefix())
    }
}

/// Signs up account `index` of `role`, or logs in if it exists; retries with backoff until it
/// works. `None` only if the demo stops first.
pub(crate) async fn sign_in(
    api: &Api,
    role: Role,
    index: u64,
    shutdown: &Shutdown,
) -> Option<Account> {
    let mut shutdown = shutdown.clone();
    let email = Account::email(role, index);
    let name = format!("Demo {} {index}", role.title());
    let mut pause = Duration::from_millis(500);
    let mut complained = false;
    loop {
        if shutdown.is_stopping() {
            return None;
        }
        let attempt = match api.signup(&email, &name, role.wire()).await {
            Err(error) if error.code() == Some("email_taken") || error.status() == Some(409) => {
                api.login(&email).await
            }
            other => other,
        };
        match attempt {
            Ok(Session { user_id, token }) => {
                return Some(Account {
                    index,
                    user_id,
                    token,
                    last_event_id: 0,
                    tidied: false,
                });
            }
            Err(error) if error.is_transient() || complained => {
                tracing::debug!(%email, %error, "sign-in failed; retrying");
            }
            Err(error) => {
                // A refusal other than "email taken" is a contract problem: say it once, loudly.
                tracing::warn!(%email, %error, "sign-in refused; retrying");
                complained = true;
            }
        }
        if !shutdown.sleep(pause).await {
            return None;
        }
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}

/// Rider (or customer) accounts not in use, handed out again before new ones are made.
#[derive(Debug)]
pub(crate) struct RiderPool {
    role: Role,
    free: Mutex<Vec<Account>>,
    next_index: AtomicU64,
}

impl RiderPool {
    /// An empty pool of accounts of `role`.
    pub(crate) fn of(role: Role) -> RiderPool {
        RiderPool {
            role,
            free: Mutex::new(Vec::new()),
            next_index: AtomicU64::new(0),
        }
    }

    /// A free rider account, signing up a new one if none is free. `None` if the demo stops first.
    pub(crate) async fn acquire(&self, api: &Api, shutdown: &Shutdown) -> Option<Account> {
        let reused = self.lock().pop();
        if reused.is_some() {
            return reused;
        }
        let index = self.next_index.fetch_add(1, Ordering::Relaxed);
        let account = sign_in(api, self.role, index, shutdown).await?;
        if matches!(self.role, Role::Customer | Role::Client) {
            // A customer pays for food (a client for a house call) by card: one of the test provider's, added once per account
            // (a resumed run's account may hold one already; a second changes nothing that matters).
            if let Err(error) = api.add_test_card(&account.token).await {
                tracing::warn!(customer = index, %error, "could not add a payment card");
            }
        }
        Some(account)
    }

    /// Returns an account to the pool.
    pub(crate) fn release(&self, account: Account) {
        self.lock().push(account);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Account>> {
        // A panic while holding the lock cannot leave a vector of accounts inconsistent.
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
