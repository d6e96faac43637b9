//! Users and their roles.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a user account is for. One account has exactly one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Requests rides.
    Rider,
    /// Drives rides.
    Driver,
    /// Runs a restaurant or shop (food delivery).
    Merchant,
    /// Performs house calls.
    Provider,
    /// Operates the platform.
    Admin,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 5] = [
        Role::Rider,
        Role::Driver,
        Role::Merchant,
        Role::Provider,
        Role::Admin,
    ];

    /// The stable lower-case name used on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Rider => "rider",
            Role::Driver => "driver",
            Role::Merchant => "merchant",
            Role::Provider => "provider",
            Role::Admin => "admin",
        }
    }

    /// Parses the name produced by [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A syntactically plausible e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

/// Why a user field was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserFieldError {
    /// Not an e-mail address.
    #[error("invalid email address")]
    InvalidEmail,
    /// The password is too short or too long.
    #[error("password must be 8 to 128 characters")]
    WeakPassword,
    /// The display name is empty or too long.
    #[error("name must be 1 to 100 characters")]
    InvalidName,
}

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a domain with a dot, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Email, UserFieldError> {
        let s = raw.trim().to_lowercase();
        let ok = s.len() <= 254
            && !s.chars().any(char::is_whitespace)
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if ok {
            Ok(Email(s))
        } else {
            Err(UserFieldError::InvalidEmail)
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password's length (characters, not bytes).
pub fn check_password_policy(password: &str) -> Result<(), UserFieldError> {
    let n = password.chars().count();
    if (8..=128).contains(&n) {
        Ok(())
    } else {
        Err(UserFieldError::WeakPassword)
    }
}

/// Trims a display name and checks its length.
pub fn parse_display_name(raw: &str) -> Result<String, UserFieldError> {
    let s = raw.trim();
    let n = s.chars().count();
    if (1..=100).contains(&n) {
        Ok(s.to_owned())
    } else {
        Err(UserFieldError::InvalidName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").map(|e| e.0),
            Ok("ann@example.com".to_owned())
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(UserFieldError::InvalidEmail),
                "{bad}"
            );
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("pilot"), None);
    }
}

/// A user account (without its credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identity.
    pub id: crate::UserId,
    /// Login address.
    pub email: Email,
    /// Display name.
    pub name: String,
    /// What the account is for.
    pub role: Role,
    /// When it was created.
    pub created_at: crate::Timestamp,
}
