//! Ratings that riders and drivers give each other after a ride.

use serde::{Deserialize, Serialize};

/// One to five stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Stars(u8);

/// Why a rating was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    /// Stars outside 1..=5.
    #[error("stars must be between 1 and 5")]
    StarsOutOfRange,
    /// The comment is longer than [`MAX_COMMENT_CHARS`].
    #[error("comment is longer than 500 characters")]
    CommentTooLong,
    /// The comment holds a control or bidirectional character.
    #[error("{0}")]
    ForbiddenCharacter(crate::text::TextError),
}

/// The longest comment accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = crate::text::RATING_COMMENT.max_chars;

/// The fewest and most stars.
pub const STARS: std::ops::RangeInclusive<u8> = 1..=5;

impl Stars {
    /// Accepts 1 to 5.
    pub fn new(stars: u8) -> Result<Stars, RatingError> {
        if STARS.contains(&stars) {
            Ok(Stars(stars))
        } else {
            Err(RatingError::StarsOutOfRange)
        }
    }

    /// The number of stars.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Stars {
    type Error = RatingError;

    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Stars::new(v)
    }
}

impl From<Stars> for u8 {
    fn from(s: Stars) -> u8 {
        s.0
    }
}

/// Checks a comment by [`crate::text::RATING_COMMENT`] and trims it.
pub fn parse_comment(raw: &str) -> Result<String, RatingError> {
    match crate::text::RATING_COMMENT.check(raw) {
        Ok(s) => Ok(s.to_owned()),
        Err(e @ crate::text::TextError::ForbiddenCharacter(_)) => {
            Err(RatingError::ForbiddenCharacter(e))
        }
        Err(_) => Err(RatingError::CommentTooLong),
    }
}

/// A rating one party of a ride gives the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// The ride rated.
    pub ride_id: crate::RideId,
    /// Who rates.
    pub from: crate::UserId,
    /// Who is rated.
    pub to: crate::UserId,
    /// How many stars.
    pub stars: Stars,
    /// Free text, possibly empty.
    pub comment: String,
    /// When.
    pub at: crate::Timestamp,
}
