//! The ratings agents give each other after a ride.

use rand::Rng;

/// Comments drivers leave about riders (empty: no comment).
pub(crate) const ABOUT_RIDERS: &[&str] = &["", "", "polite rider", "on time", "thanks!"];

/// Comments riders leave about drivers (empty: no comment).
pub(crate) const ABOUT_DRIVERS: &[&str] = &["", "", "smooth ride", "friendly driver", "clean car"];

/// A rating as people give them: five stars 80% of the time, four 15%, three 5%, with one of
/// `comments`.
pub(crate) fn draw(rng: &mut impl Rng, comments: &'static [&'static str]) -> (u8, &'static str) {
    let roll: f64 = rng.random();
    let stars = if roll < 0.8 {
        5
    } else if roll < 0.95 {
        4
    } else {
        3
    };
    let comment = if comments.is_empty() {
        ""
    } else {
        comments[rng.random_range(0..comments.len())]
    };
    (stars, comment)
}
