//! Accounts and sessions: sign-up and login with argon2id password hashes, and opaque bearer tokens of
//! which the store keeps only a SHA-256 digest. Resolved tokens are cached briefly so that a driver
//! streaming locations does not cost a database read per request.
//!
//! WebSocket tickets: a browser cannot set headers on a WebSocket, and a bearer token in a URL ends up in
//! proxy and debug logs. So a client trades its token for a ticket ([`App::issue_ws_ticket`]): random,
//! single-use, valid for [`crate::AppConfig::ws_ticket_ttl_secs`], stored (as a digest) in the database so
//! that any server node can redeem it ([`App::redeem_ws_ticket`]); expired ones are purged by
//! [`purge_expired`], with expired sessions and unused quotes.

use crate::{App, AppError};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use doorstep_domain::user::{UserFieldError, check_password_policy, parse_display_name};
use doorstep_domain::{Email, Role, Timestamp, User, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// How long a resolved token stays in the in-memory cache.
const CACHE_MILLIS: i64 = 30_000;
/// The cache is cleared when it grows past this many tokens.
const CACHE_CAP: usize = 100_000;

/// A bearer token as handed to a client. Its `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// The token text to send to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A single-use WebSocket ticket as handed to a client. Its `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket(String);

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket(<redacted>)")
    }
}

impl Ticket {
    /// The ticket text to send to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A newly created account and its first token.
#[derive(Debug)]
pub struct SignedUp {
    /// The account.
    pub user: User,
    /// Its bearer token.
    pub token: Token,
}

/// Short-lived cache of token digest → user.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (User, Timestamp)>>,
}

fn digest_hex(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The prefix of every token this server issues, followed by 64 lower-case hex digits.
const TOKEN_PREFIX: &str = "dst_";

/// Whether `token` has the shape of a token this server issues (`dst_` and 64 lower-case hex digits).
pub fn is_token_shaped(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// 32 random bytes in hex after `prefix`.
fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut s = String::from(prefix);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn new_token() -> Token {
    Token(new_secret(TOKEN_PREFIX))
}

/// Password hashing is deliberately expensive: argon2id takes 19 MiB and tens of milliseconds per hash.
/// At most this many run at once, so that a burst of sign-ups or logins cannot exhaust memory.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores.clamp(1, 4))
    })
}

pub(crate) async fn hash_password(password: String) -> Result<String, AppError> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("hashing permits: {e}")))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing password: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
}

async fn verify_password(password: String, hash: String) -> Result<bool, AppError> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("hashing permits: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| AppError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AppError::Internal(format!("verify task: {e}")))?
}

/// The error of a refused account field: `code`, or `invalid_characters` for invisible or reordering
/// characters.
pub(crate) fn field_error(code: &'static str, e: UserFieldError) -> AppError {
    match e {
        UserFieldError::ForbiddenCharacter(_) => {
            AppError::invalid("invalid_characters", e.to_string())
        }
        UserFieldError::InvalidEmail
        | UserFieldError::WeakPassword
        | UserFieldError::InvalidName => AppError::invalid(code, e.to_string()),
    }
}

impl App {
    /// Deletes what can never be used again: expired WebSocket tickets, expired sessions (login tokens)
    /// and quotes that expired without becoming a ride. Failures are logged and retried at the next run.
    pub async fn purge_expired_records(&self) {
        let now = self.clock().now();
        self.with_fleet(|f| f.forget_applied_before(now.plus_secs(-600)));
        let store = self.store();
        let purged = [
            (
                "websocket tickets",
                store.delete_expired_ws_tickets(now).await,
            ),
            ("sessions", store.delete_expired_sessions(now).await),
            ("quotes", store.delete_expired_unused_quotes(now).await),
            ("house-call holds", store.delete_expired_holds(now).await),
        ];
        for (what, result) in purged {
            match result {
                Ok(0) => {}
                Ok(n) => tracing::debug!(what, purged = n, "expired records purged"),
                Err(e) => tracing::warn!(what, error = %e, "could not purge expired records"),
            }
        }
    }

    /// Creates an account. Anyone may sign up as rider, driver, merchant or provider; admins are created
    /// from the command line only ([`App::create_admin`]).
    pub async fn sign_up(
        &self,
        email: &str,
        password: &str,
        name: &str,
        role: Role,
    ) -> Result<SignedUp, AppError> {
        if role == Role::Admin {
            return Err(AppError::Forbidden(
                "admin accounts are created from the command line",
            ));
        }
        self.create_user(email, password, name, role).await
    }

    /// Creates an admin account (command line, or the demo).
    pub async fn create_admin(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<SignedUp, AppError> {
        self.create_user(email, password, name, Role::Admin).await
    }

    async fn create_user(
        &self,
        email: &str,
        password: &str,
        name: &str,
        role: Role,
    ) -> Result<SignedUp, AppError> {
        // Every check of the input comes before the database and the (deliberately slow) hash.
        let email = Email::parse(email).map_err(|e| field_error("invalid_email", e))?;
        check_password_policy(password).map_err(|e| field_error("weak_password", e))?;
        let name = parse_display_name(name).map_err(|e| field_error("invalid_name", e))?;
        let now = self.clock().now();
        let user = User {
            id: UserId::from_uuid(uuid::Uuid::now_v7()),
            email,
            name,
            role,
            created_at: now,
        };
        // A taken address is refused before the hash (the insert below still decides a race).
        if self.store().user_by_email(&user.email).await?.is_some() {
            return Err(AppError::conflict(
                "email_taken",
                "an account with this email exists",
            ));
        }
        let hash = hash_password(password.to_owned()).await?;
        if role == Role::Driver {
            // A driver is written with its approval in one transaction: none exists undecided.
            self.store()
                .insert_driver(&user, &hash, self.new_driver_approval())
                .await?;
        } else {
            self.store().insert_user(&user, &hash).await?;
        }
        tracing::debug!(user_id = %user.id, role = %role, "account created");
        let token = self.issue_token(user.id).await?;
        Ok(SignedUp { user, token })
    }

    /// Checks an e-mail and password and returns the account with a fresh token.
    pub async fn log_in(&self, email: &str, password: &str) -> Result<(User, Token), AppError> {
        // A malformed address or a password no account can have is refused before the database and
        // the hash: neither reveals whether an account exists.
        let email = Email::parse(email).map_err(|_| AppError::InvalidCredentials)?;
        check_password_policy(password).map_err(|_| AppError::InvalidCredentials)?;
        let Some((user, hash)) = self.store().user_by_email(&email).await? else {
            // Spend the same effort as a real check so that response time does not reveal accounts.
            let _ = hash_password(password.to_owned()).await;
            return Err(AppError::InvalidCredentials);
        };
        if !verify_password(password.to_owned(), hash).await? {
            return Err(AppError::InvalidCredentials);
        }
        // Only someone who knows the password learns that the account is suspended.
        if self.store().is_suspended(user.id).await? {
            return Err(AppError::Suspended);
        }
        let token = self.issue_token(user.id).await?;
        Ok((user, token))
    }

    /// A new login token for an existing account, without a password: for accounts a benchmark or a test
    /// made directly in the store (a password hash costs tens of milliseconds each).
    pub async fn issue_token(&self, user: UserId) -> Result<Token, AppError> {
        let token = new_token();
        let now = self.clock().now();
        let expires = now.plus_secs(self.config().session_ttl_secs);
        self.store()
            .insert_session(&digest_hex(token.expose()), user, now, expires)
            .await?;
        Ok(token)
    }

    /// Resolves a bearer token to its user, or [`AppError::Unauthenticated`].
    pub async fn authenticate(&self, token: &str) -> Result<User, AppError> {
        // Only the shape this server issues is looked up: anything else costs no hash and no query.
        if !is_token_shaped(token) {
            return Err(AppError::Unauthenticated);
        }
        let digest = digest_hex(token);
        let now = self.clock().now();
        if let Ok(cache) = self.inner.sessions.entries.lock()
            && let Some((user, cached_at)) = cache.get(&digest)
            && now.millis_since(*cached_at) < CACHE_MILLIS
        {
            return Ok(user.clone());
        }
        let (user, suspended) = self
            .store()
            .session_user_status(&digest, now)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        // A suspended account's tokens are not cached: each use asks the store again, so a
        // reinstatement takes effect at once.
        if suspended {
            return Err(AppError::Suspended);
        }
        if let Ok(mut cache) = self.inner.sessions.entries.lock() {
            if cache.len() >= CACHE_CAP {
                cache.clear();
            }
            cache.insert(digest, (user.clone(), now));
        }
        Ok(user)
    }

    /// Forgets the cached sessions of `user`, so that its next request reads the account again (after
    /// a suspension).
    pub(crate) fn forget_sessions_of(&self, user: UserId) {
        self.forget_sessions_locally(user);
        self.tell_user_revoked(user);
    }

    /// [`App::forget_sessions_of`] on this node only (told by another node).
    pub(crate) fn forget_sessions_locally(&self, user: UserId) {
        if let Ok(mut cache) = self.inner.sessions.entries.lock() {
            cache.retain(|_, (u, _)| u.id != user);
        }
    }

    /// Forgets one cached session by its token's digest (told by another node).
    pub(crate) fn forget_session_digest(&self, digest: &str) {
        if let Ok(mut cache) = self.inner.sessions.entries.lock() {
            cache.remove(digest);
        }
    }

    /// A fresh single-use ticket for `user`'s next WebSocket, and when it expires.
    pub async fn issue_ws_ticket(&self, user: &User) -> Result<(Ticket, Timestamp), AppError> {
        let ticket = Ticket(new_secret("dwt_"));
        let now = self.clock().now();
        let expires = now.plus_secs(self.config().ws_ticket_ttl_secs);
        self.store()
            .insert_ws_ticket(&digest_hex(ticket.expose()), user.id, now, expires)
            .await?;
        Ok((ticket, expires))
    }

    /// Consumes a WebSocket ticket and returns its user, or [`AppError::Unauthenticated`] if the ticket is
    /// unknown, already used or expired.
    pub async fn redeem_ws_ticket(&self, ticket: &str) -> Result<User, AppError> {
        if ticket.len() > 200 {
            return Err(AppError::Unauthenticated);
        }
        self.store()
            .consume_ws_ticket(&digest_hex(ticket), self.clock().now())
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// Ends the session of `token`.
    pub async fn log_out(&self, token: &str) -> Result<(), AppError> {
        let digest = digest_hex(token);
        if let Ok(mut cache) = self.inner.sessions.entries.lock() {
            cache.remove(&digest);
        }
        self.store().delete_session(&digest).await?;
        // Every other node forgets it too: a token revoked on one node fails on all.
        self.tell_token_revoked(&digest);
        Ok(())
    }
}

/// How often expired tickets, sessions and unused quotes are deleted.
const TICKET_PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Deletes expired WebSocket tickets every minute until shutdown, and takes drivers whose documents
/// expired offline ([`App::sweep_expired_documents`]).
pub async fn purge_expired(app: App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(TICKET_PURGE_INTERVAL);
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            _ = ticker.tick() => {
                app.purge_expired_records().await;
                if let Err(e) = app.sweep_expired_documents().await {
                    tracing::warn!(error = %e, "could not take drivers with expired documents offline");
                }
            }
        }
    }
}
