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
    /// The display name is empty, blank or too long.
    #[error("name must be 1 to 100 characters, not only spaces")]
    InvalidName,
    /// A control, bidirectional or zero-width character in a name or an address.
    #[error("{0}")]
    ForbiddenCharacter(crate::text::TextError),
}

impl Email {
    /// Parses an address as sent, exactly as [`crate::text::email_pattern`] describes it: a non-empty
    /// local part, one `@`, a domain that contains a dot and neither starts nor ends with one, at most
    /// [`crate::text::EMAIL_MAX_CHARS`] characters, no white space, control, bidirectional or zero-width
    /// characters. It is kept lower-cased.
    pub fn parse(raw: &str) -> Result<Email, UserFieldError> {
        if raw.chars().count() > crate::text::EMAIL_MAX_CHARS {
            return Err(UserFieldError::InvalidEmail);
        }
        if let Some(c) = raw.chars().find(|&c| crate::text::is_forbidden_in_line(c)) {
            return Err(UserFieldError::ForbiddenCharacter(
                crate::text::TextError::ForbiddenCharacter(u32::from(c)),
            ));
        }
        let ok = match raw.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.chars().all(crate::text::is_email_char)
                    && domain.chars().all(crate::text::is_email_char)
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
        if ok {
            Ok(Email(raw.to_lowercase()))
        } else {
            Err(UserFieldError::InvalidEmail)
        }
    }

    /// An address read back from the store, where only parsed addresses are written.
    pub fn from_stored(s: String) -> Email {
        Email(s)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password's length (characters, not bytes) by [`crate::text::PASSWORD`].
pub fn check_password_policy(password: &str) -> Result<(), UserFieldError> {
    crate::text::PASSWORD
        .check(password)
        .map(|_| ())
        .map_err(|_| UserFieldError::WeakPassword)
}

/// Checks a display name by [`crate::text::DISPLAY_NAME`] and trims it.
pub fn parse_display_name(raw: &str) -> Result<String, UserFieldError> {
    match crate::text::DISPLAY_NAME.check(raw) {
        Ok(s) => Ok(s.to_owned()),
        Err(e @ crate::text::TextError::ForbiddenCharacter(_)) => {
            Err(UserFieldError::ForbiddenCharacter(e))
        }
        Err(_) => Err(UserFieldError::InvalidName),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("Ann@Example.COM").map(|e| e.0),
            Ok("ann@example.com".to_owned())
        );
        assert!(matches!(
            Email::parse("ann\u{200b}@example.com"),
            Err(UserFieldError::ForbiddenCharacter(_))
        ));
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            " ann@example.com",
            "ann@.example.com",
            "ann@example.com.",
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
