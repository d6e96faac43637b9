//! Verification codes: a short secret of decimal digits that one party holds and another must present
//! to go on. A ride's pickup PIN (the rider tells it to the driver at the car) is one today; a food
//! order's hand-over code and a house call's check-in code will be others.
//!
//! A short code is only safe if guessing is limited: four digits are found in at most 10,000 tries.
//! [`VerificationCode`] therefore keeps its count of failed attempts next to the secret and locks once
//! the count reaches the caller's limit. While locked, no guess is compared with the secret (not even the
//! right one); only [`VerificationCode::reissue`], which draws a new secret and resets the count, unlocks
//! it. Whoever owns the code decides who may reissue it (for a ride: the rider or an operator).
//!
//! The type is pure: it does no IO and reads no clock, and randomness comes in as a `&mut impl Rng`. It
//! is the caller's job to persist the changed count before it answers the guesser (see
//! `docs/abuse-limits.md`): the count only limits guessing if every answered guess was counted durably.

use std::fmt;

/// How many digits a code has: 4 to 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeLength(u8);

impl CodeLength {
    /// Four digits: a ride's PIN.
    pub const FOUR: CodeLength = CodeLength(4);
    /// Six digits: for codes that are read rather than remembered.
    pub const SIX: CodeLength = CodeLength(6);

    /// A length of `digits` digits, if it is within 4 to 9 (fewer is too easy to guess; more does not fit
    /// the `u32` the digits are drawn from).
    pub const fn new(digits: u8) -> Option<CodeLength> {
        if digits >= 4 && digits <= 9 {
            Some(CodeLength(digits))
        } else {
            None
        }
    }

    /// The number of digits.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// How many different codes of this length exist (10^digits).
    pub const fn possible_codes(self) -> u32 {
        10u32.pow(self.0 as u32)
    }
}

/// Why a guess was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The guess did not match. The failure was counted; `attempts_left` more are allowed before the code
    /// locks (0: this guess locked it).
    #[error("wrong code; {attempts_left} attempts left")]
    Wrong {
        /// How many more wrong guesses lock the code.
        attempts_left: u8,
    },
    /// The code is locked after too many wrong guesses; the guess was not compared. Only a reissue
    /// unlocks it.
    #[error("the code is locked after too many wrong guesses")]
    Locked,
    /// The guess is not a code of the right length (not only digits, or too short or long). It was not
    /// compared and not counted: it says nothing about the secret.
    #[error("a code is {expected} digits")]
    Malformed {
        /// The number of digits a guess must have.
        expected: u8,
    },
}

/// A stored code could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a code of 4 to 9 digits")]
pub struct InvalidCode(pub String);

/// A secret code of decimal digits and how many wrong guesses it has seen since it was issued.
///
/// Locked means `failed_attempts >= max_attempts`, with `max_attempts` passed by the caller on each
/// check: the limit is configuration, the count is state. (Raising the limit therefore gives a locked
/// code more tries; lowering it locks codes sooner.)
/// It is deliberately not `Serialize`: the secret leaves the domain only through [`VerificationCode::as_str`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerificationCode {
    /// The digits, exactly as many as the code's length.
    code: String,
    /// Wrong guesses since the code was issued.
    failed_attempts: u8,
}

impl fmt::Debug for VerificationCode {
    /// Shows the count but not the secret, so that the code never ends up in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationCode")
            .field("code", &"****")
            .field("failed_attempts", &self.failed_attempts)
            .finish()
    }
}

impl VerificationCode {
    /// A new code of `length` digits, uniformly random, with no failed attempts.
    pub fn random(length: CodeLength, rng: &mut impl rand::Rng) -> VerificationCode {
        VerificationCode {
            code: draw(length, rng),
            failed_attempts: 0,
        }
    }

    /// A code as it was stored: its digits and its count of failed attempts.
    pub fn restore(code: &str, failed_attempts: u8) -> Result<VerificationCode, InvalidCode> {
        let length = u8::try_from(code.len())
            .ok()
            .and_then(CodeLength::new)
            .ok_or_else(|| InvalidCode(code.to_owned()))?;
        if !is_code_of(code, length) {
            return Err(InvalidCode(code.to_owned()));
        }
        Ok(VerificationCode {
            code: code.to_owned(),
            failed_attempts,
        })
    }

    /// The digits, for the one who holds the code (never for the one who must present it).
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The code's length.
    pub fn length(&self) -> CodeLength {
        // `random` and `restore` only build codes of 4 to 9 digits.
        CodeLength(u8::try_from(self.code.len()).unwrap_or(u8::MAX))
    }

    /// Wrong guesses since the code was issued.
    pub fn failed_attempts(&self) -> u8 {
        self.failed_attempts
    }

    /// Whether the code refuses every guess under a limit of `max_attempts` wrong guesses.
    pub fn is_locked(&self, max_attempts: u8) -> bool {
        self.failed_attempts >= max_attempts
    }

    /// How many more wrong guesses the limit allows (0 when locked).
    pub fn attempts_left(&self, max_attempts: u8) -> u8 {
        max_attempts.saturating_sub(self.failed_attempts)
    }

    /// Checks a guess, allowing at most `max_attempts` wrong guesses since the code was issued (0 allows
    /// none: the code is locked from the start).
    ///
    /// - A malformed guess is refused without being compared or counted.
    /// - A locked code refuses every guess, the right one included, without comparing it.
    /// - A wrong guess is counted (the code changed: persist it before answering) and may lock the code.
    /// - The right guess changes nothing.
    ///
    /// So at most `max_attempts` wrong guesses are ever compared with one issued code.
    pub fn check(&mut self, guess: &str, max_attempts: u8) -> Result<(), CodeError> {
        if !is_code_of(guess, self.length()) {
            return Err(CodeError::Malformed {
                expected: self.length().get(),
            });
        }
        if self.is_locked(max_attempts) {
            return Err(CodeError::Locked);
        }
        if constant_time_eq(guess.as_bytes(), self.code.as_bytes()) {
            return Ok(());
        }
        self.failed_attempts = self.failed_attempts.saturating_add(1);
        Err(CodeError::Wrong {
            attempts_left: self.attempts_left(max_attempts),
        })
    }

    /// Draws a new secret of the same length and forgets the failed attempts: the code is unlocked.
    pub fn reissue(&mut self, rng: &mut impl rand::Rng) {
        self.code = draw(self.length(), rng);
        self.failed_attempts = 0;
    }
}

/// Whether `s` is exactly `length` ASCII digits.
fn is_code_of(s: &str, length: CodeLength) -> bool {
    s.len() == usize::from(length.get()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A uniformly random string of `length` digits, leading zeros included.
fn draw(length: CodeLength, rng: &mut impl rand::Rng) -> String {
    let n = rng.random_range(0..length.possible_codes());
    format!("{n:0width$}", width = usize::from(length.get()))
}

/// Compares two byte strings of equal length in time that does not depend on where they differ, so that
/// response times say nothing about how many leading digits of a guess were right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn code(digits: &str) -> VerificationCode {
        VerificationCode::restore(digits, 0).expect("a valid code")
    }

    #[test]
    fn the_right_guess_is_accepted_and_changes_nothing() {
        let mut c = code("0427");
        assert_eq!(c.check("0427", 5), Ok(()));
        assert_eq!(c.failed_attempts(), 0);
    }

    #[test]
    fn each_wrong_guess_is_counted_and_says_how_many_are_left() {
        let mut c = code("0427");
        assert_eq!(
            c.check("1111", 3),
            Err(CodeError::Wrong { attempts_left: 2 })
        );
        assert_eq!(
            c.check("2222", 3),
            Err(CodeError::Wrong { attempts_left: 1 })
        );
        assert_eq!(
            c.check("3333", 3),
            Err(CodeError::Wrong { attempts_left: 0 })
        );
        assert!(c.is_locked(3));
        assert_eq!(c.failed_attempts(), 3);
    }

    #[test]
    fn a_locked_code_refuses_the_right_guess_without_counting_it() {
        let mut c = VerificationCode::restore("0427", 5).expect("valid");
        assert_eq!(c.check("0427", 5), Err(CodeError::Locked));
        assert_eq!(c.check("9999", 5), Err(CodeError::Locked));
        assert_eq!(c.failed_attempts(), 5);
    }

    #[test]
    fn a_limit_of_zero_locks_the_code_from_the_start() {
        let mut c = code("0427");
        assert_eq!(c.check("0427", 0), Err(CodeError::Locked));
    }

    #[test]
    fn malformed_guesses_are_neither_compared_nor_counted() {
        let mut c = code("0427");
        for guess in ["", "042", "04270", "04a7", "０４２７", " 427", "-427"] {
            assert_eq!(
                c.check(guess, 1),
                Err(CodeError::Malformed { expected: 4 }),
                "{guess:?}"
            );
        }
        assert_eq!(c.failed_attempts(), 0);
    }

    #[test]
    fn reissuing_draws_a_code_of_the_same_length_and_unlocks() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut c = VerificationCode::restore("123456", 9).expect("valid");
        c.reissue(&mut rng);
        assert_eq!(c.length(), CodeLength::SIX);
        assert_eq!(c.failed_attempts(), 0);
        assert!(!c.is_locked(5));
        let right = c.as_str().to_owned();
        assert_eq!(c.check(&right, 5), Ok(()));
    }

    #[test]
    fn only_codes_of_four_to_nine_digits_are_restored() {
        for bad in ["", "123", "1234567890", "12a4", "12 4"] {
            assert!(VerificationCode::restore(bad, 0).is_err(), "{bad:?}");
        }
        for good in ["0000", "123456", "999999999"] {
            assert!(VerificationCode::restore(good, 0).is_ok(), "{good:?}");
        }
        assert_eq!(CodeLength::new(3), None);
        assert_eq!(CodeLength::new(10), None);
    }

    #[test]
    fn the_debug_form_never_shows_the_secret() {
        let c = code("0427");
        assert!(!format!("{c:?}").contains("0427"));
    }

    #[test]
    fn random_codes_keep_leading_zeros_and_cover_the_range() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut leading_zero = false;
        for _ in 0..2000 {
            let c = VerificationCode::random(CodeLength::FOUR, &mut rng);
            assert_eq!(c.as_str().len(), 4);
            leading_zero |= c.as_str().starts_with('0');
        }
        assert!(leading_zero);
    }

    /// What a guesser throws at a code.
    #[derive(Debug, Clone)]
    enum Step {
        /// Guess these digits (0..10_000, formatted with leading zeros).
        Guess(u32),
        /// Guess the right code.
        GuessRight,
        /// Issue a new code.
        Reissue,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (0u32..10_000).prop_map(Step::Guess),
            2 => Just(Step::GuessRight),
            1 => Just(Step::Reissue),
        ]
    }

    proptest! {
        /// Whatever guesses come, at most `max_attempts` wrong guesses are compared per issued code; after
        /// the last one every guess is refused as locked (the right one included) until a reissue; and
        /// the right guess is accepted exactly when fewer than `max_attempts` wrong ones came before it.
        #[test]
        fn no_more_than_max_attempts_wrong_guesses_are_compared_before_the_lock(
            steps in proptest::collection::vec(step(), 0..60),
            max_attempts in 0u8..8,
            seed in any::<u64>(),
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut c = VerificationCode::random(CodeLength::FOUR, &mut rng);
            let mut wrong_since_issue = 0u8;
            for s in steps {
                let guess = match s {
                    Step::Reissue => {
                        c.reissue(&mut rng);
                        wrong_since_issue = 0;
                        prop_assert!(max_attempts == 0 || !c.is_locked(max_attempts));
                        continue;
                    }
                    Step::GuessRight => c.as_str().to_owned(),
                    Step::Guess(n) => format!("{n:04}"),
                };
                let right = guess == c.as_str();
                let before = c.clone();
                match c.check(&guess, max_attempts) {
                    Ok(()) => {
                        prop_assert!(right);
                        prop_assert!(wrong_since_issue < max_attempts);
                        prop_assert_eq!(&c, &before);
                    }
                    Err(CodeError::Wrong { attempts_left }) => {
                        prop_assert!(!right);
                        wrong_since_issue += 1;
                        prop_assert!(wrong_since_issue <= max_attempts);
                        prop_assert_eq!(attempts_left, max_attempts - wrong_since_issue);
                        prop_assert_eq!(c.failed_attempts(), wrong_since_issue);
                    }
                    Err(CodeError::Locked) => {
                        prop_assert_eq!(wrong_since_issue, max_attempts);
                        prop_assert_eq!(&c, &before);
                    }
                    Err(CodeError::Malformed { .. }) => prop_assert!(false, "four digits are well formed"),
                }
            }
        }
    }
}
