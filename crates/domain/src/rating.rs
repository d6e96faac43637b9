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

/// Whom a rating of a job is of: a person (a worker or a customer) or a merchant (the restaurant of a food
/// order, which is no user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ratee {
    /// A user: the job's worker or its customer.
    User(crate::UserId),
    /// A merchant: the seller of an order.
    Merchant(crate::MerchantId),
}

/// The most tags one rating may carry.
pub const MAX_TAGS: usize = 5;

/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 24;

/// The rule of a tag as a regular expression (for the API document): lower-case words joined by `-` or `_`.
pub const TAG_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,23}$";

/// Why a rating's tags were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// More than [`MAX_TAGS`] tags.
    #[error("at most 5 tags")]
    TooMany,
    /// A tag that is not 1 to 24 of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit.
    #[error("{0:?} is not a tag: 1 to 24 of a-z, 0-9, - and _, starting with a letter or digit")]
    Malformed(String),
    /// The same tag twice.
    #[error("the tag {0:?} is given twice")]
    Repeated(String),
}

/// Checks a rating's tags (`hot`, `well-packed`, `late`): at most [`MAX_TAGS`], each 1 to
/// [`MAX_TAG_CHARS`] of `a-z`, `0-9`, `-` and `_` starting with a letter or digit, none twice. The order
/// given is kept.
pub fn parse_tags(raw: &[String]) -> Result<Vec<String>, TagError> {
    if raw.len() > MAX_TAGS {
        return Err(TagError::TooMany);
    }
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for tag in raw {
        let well_formed = (1..=MAX_TAG_CHARS).contains(&tag.len())
            && tag
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && tag
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'));
        if !well_formed {
            return Err(TagError::Malformed(tag.clone()));
        }
        if tags.contains(tag) {
            return Err(TagError::Repeated(tag.clone()));
        }
        tags.push(tag.clone());
    }
    Ok(tags)
}

/// A rating one party of a job gives another party, or the job's merchant. One per job, rater and ratee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRating {
    /// The job rated (an order's id is its job's).
    pub job: crate::JobId,
    /// Who rates.
    pub from: crate::UserId,
    /// Who or what is rated.
    pub to: Ratee,
    /// How many stars.
    pub stars: Stars,
    /// Free text, possibly empty.
    pub comment: String,
    /// Tags checked by [`parse_tags`], possibly none.
    pub tags: Vec<String>,
    /// When.
    pub at: crate::Timestamp,
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    fn tags(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tags_are_short_lower_case_words_at_most_five_and_none_twice() {
        assert_eq!(
            parse_tags(&tags(&["hot", "well-packed", "on_time"])),
            Ok(tags(&["hot", "well-packed", "on_time"]))
        );
        assert_eq!(parse_tags(&[]), Ok(Vec::new()));
        assert_eq!(
            parse_tags(&tags(&["a", "b", "c", "d", "e", "f"])),
            Err(TagError::TooMany)
        );
        for bad in ["", "Hot", "-late", "cold food", "ñam", &"x".repeat(25)] {
            assert_eq!(
                parse_tags(&tags(&[bad])),
                Err(TagError::Malformed(bad.to_owned()))
            );
        }
        assert_eq!(
            parse_tags(&tags(&["hot", "hot"])),
            Err(TagError::Repeated("hot".to_owned()))
        );
    }
}
