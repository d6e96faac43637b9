//! The rules for free text that people type: names, e-mail addresses, passwords and comments.
//!
//! Each rule is one value ([`DISPLAY_NAME`], [`PASSWORD`], [`RATING_COMMENT`], and [`email_pattern`] with
//! [`EMAIL_MAX_CHARS`] for addresses). The server validates with it and the API's OpenAPI document is
//! written from it ([`TextRule::pattern`], `min_chars`, `max_chars`), so what the document promises and
//! what the server enforces cannot drift apart. Lengths count Unicode scalar values, as JSON Schema's
//! `minLength`/`maxLength` do, and always of the text as sent (before trimming), for the same reason.
//!
//! Characters that render invisibly or reorder text are refused in names and addresses: C0 and C1 control
//! characters, the bidirectional controls that let `gpj.exe` display as `exe.jpg`, and zero-width
//! characters that make two different names look the same.

use std::ops::RangeInclusive;

/// Everything refused in one-line text (names, e-mail addresses): C0 and C1 control characters (NUL,
/// CR, LF, ESC, DEL, NEL ...); the bidirectional formatting characters (the Arabic letter mark, the
/// left-to-right and right-to-left marks, embeddings and overrides, the isolates); zero-width and
/// invisible characters (the Mongolian vowel separator, zero-width space, non-joiner and joiner, word
/// joiner and invisible operators, the byte-order mark); and the line and paragraph separators, which
/// break a one-line field like a newline does.
pub const FORBIDDEN_IN_LINE: [RangeInclusive<char>; 11] = [
    '\u{0}'..='\u{1f}',
    '\u{7f}'..='\u{9f}',
    '\u{61c}'..='\u{61c}',
    '\u{200e}'..='\u{200f}',
    '\u{202a}'..='\u{202e}',
    '\u{2066}'..='\u{2069}',
    '\u{180e}'..='\u{180e}',
    '\u{200b}'..='\u{200d}',
    '\u{2060}'..='\u{2064}',
    '\u{feff}'..='\u{feff}',
    '\u{2028}'..='\u{2029}',
];

/// Everything refused in several-line text (comments): controls other than tab and line feed, and the
/// bidirectional controls. Zero-width joiners stay allowed there: emoji sequences need them.
pub const FORBIDDEN_IN_PARAGRAPH: [RangeInclusive<char>; 8] = [
    '\u{0}'..='\u{8}',
    '\u{b}'..='\u{1f}',
    '\u{7f}'..='\u{9f}',
    '\u{61c}'..='\u{61c}',
    '\u{200e}'..='\u{200f}',
    '\u{202a}'..='\u{202e}',
    '\u{2066}'..='\u{2069}',
    '\u{feff}'..='\u{feff}',
];

/// Unicode white space (the `White_Space` property): what is trimmed from names and comments, and what
/// a name must contain something besides.
pub const WHITESPACE: [RangeInclusive<char>; 10] = [
    '\u{9}'..='\u{d}',
    '\u{20}'..='\u{20}',
    '\u{85}'..='\u{85}',
    '\u{a0}'..='\u{a0}',
    '\u{1680}'..='\u{1680}',
    '\u{2000}'..='\u{200a}',
    '\u{2028}'..='\u{2029}',
    '\u{202f}'..='\u{202f}',
    '\u{205f}'..='\u{205f}',
    '\u{3000}'..='\u{3000}',
];

fn in_any(c: char, set: &[RangeInclusive<char>]) -> bool {
    set.iter().any(|r| r.contains(&c))
}

/// Whether `c` is refused in one-line text by [`FORBIDDEN_IN_LINE`].
pub fn is_forbidden_in_line(c: char) -> bool {
    in_any(c, &FORBIDDEN_IN_LINE)
}

/// Whether `c` is white space by [`WHITESPACE`].
pub fn is_whitespace(c: char) -> bool {
    in_any(c, &WHITESPACE)
}

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Fewer or more characters than the rule allows.
    #[error("must be {min} to {max} characters")]
    Length {
        /// The fewest characters.
        min: usize,
        /// The most characters.
        max: usize,
    },
    /// Only white space.
    #[error("must contain something besides spaces")]
    Blank,
    /// A control, bidirectional or zero-width character.
    #[error("contains a control, bidirectional or zero-width character (U+{0:04X})")]
    ForbiddenCharacter(u32),
}

/// A rule for one kind of text.
#[derive(Debug, Clone, Copy)]
pub struct TextRule {
    /// The fewest characters, counted as sent.
    pub min_chars: usize,
    /// The most characters, counted as sent.
    pub max_chars: usize,
    /// Characters refused anywhere in the text.
    pub forbidden: &'static [RangeInclusive<char>],
    /// Whether the text needs a character that is not white space.
    pub needs_visible: bool,
    /// Whether white space around the text is removed before it is kept.
    pub trimmed: bool,
}

/// A person's display name.
pub const DISPLAY_NAME: TextRule = TextRule {
    min_chars: 1,
    max_chars: 100,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: true,
    trimmed: true,
};

/// A password: any characters, 8 to 128 of them.
pub const PASSWORD: TextRule = TextRule {
    min_chars: 8,
    max_chars: 128,
    forbidden: &[],
    needs_visible: false,
    trimmed: false,
};

/// The comment of a rating (may be empty).
pub const RATING_COMMENT: TextRule = TextRule {
    min_chars: 0,
    max_chars: 500,
    forbidden: &FORBIDDEN_IN_PARAGRAPH,
    needs_visible: false,
    trimmed: true,
};

/// The longest e-mail address accepted, in characters.
pub const EMAIL_MAX_CHARS: usize = 254;

impl TextRule {
    /// Checks `raw` and returns the text to keep (trimmed when the rule says so).
    pub fn check<'a>(&self, raw: &'a str) -> Result<&'a str, TextError> {
        let n = raw.chars().count();
        if n < self.min_chars || n > self.max_chars {
            return Err(TextError::Length {
                min: self.min_chars,
                max: self.max_chars,
            });
        }
        if let Some(c) = raw.chars().find(|&c| in_any(c, self.forbidden)) {
            return Err(TextError::ForbiddenCharacter(u32::from(c)));
        }
        if self.needs_visible && raw.chars().all(is_whitespace) {
            return Err(TextError::Blank);
        }
        Ok(if self.trimmed {
            raw.trim_matches(is_whitespace)
        } else {
            raw
        })
    }

    /// The rule's characters as an ECMA-262 / Python / Rust regular expression (`None` when the rule
    /// restricts no characters). Lengths are not in it: they are `minLength`/`maxLength`.
    pub fn pattern(&self) -> Option<String> {
        let allowed = negated_class(self.forbidden, &[]);
        if self.needs_visible {
            let visible = negated_class(self.forbidden, &WHITESPACE);
            Some(format!("^{allowed}*{visible}{allowed}*$"))
        } else if self.forbidden.is_empty() {
            None
        } else {
            Some(format!("^{allowed}*$"))
        }
    }
}

/// `[^...]` of the given ranges, written with `\uXXXX` escapes that ECMA-262, Python and Rust regular
/// expressions all read the same way.
fn negated_class(a: &[RangeInclusive<char>], b: &[RangeInclusive<char>]) -> String {
    let mut class = String::from("[^");
    for r in a.iter().chain(b) {
        let (lo, hi) = (u32::from(*r.start()), u32::from(*r.end()));
        if lo == hi {
            class.push_str(&format!("\\u{lo:04x}"));
        } else {
            class.push_str(&format!("\\u{lo:04x}-\\u{hi:04x}"));
        }
    }
    class.push(']');
    class
}

/// The characters of an e-mail address besides `@` and `.` where they matter: anything but white
/// space, `@` and the characters refused in one-line text.
fn email_char_class(also: &[RangeInclusive<char>]) -> String {
    let mut refused: Vec<RangeInclusive<char>> = FORBIDDEN_IN_LINE.to_vec();
    refused.extend(WHITESPACE.iter().cloned());
    refused.push('@'..='@');
    refused.extend(also.iter().cloned());
    negated_class(&refused, &[])
}

/// The shape of an e-mail address [`crate::Email::parse`] accepts, as a regular expression: a non-empty
/// local part, one `@`, and a domain that contains a dot and neither starts nor ends with one; no white
/// space, control, bidirectional or zero-width characters anywhere.
pub fn email_pattern() -> String {
    let any = email_char_class(&[]);
    let no_dot = email_char_class(&['.'..='.']);
    format!("^{any}+@{no_dot}{any}*\\.{any}*{no_dot}$")
}

/// Whether `c` may appear in an e-mail address besides as its `@`.
pub(crate) fn is_email_char(c: char) -> bool {
    c != '@' && !is_whitespace(c) && !in_any(c, &FORBIDDEN_IN_LINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_refuse_invisible_or_reordering_characters() {
        assert_eq!(DISPLAY_NAME.check("  Ann  "), Ok("Ann"));
        assert_eq!(DISPLAY_NAME.check("   "), Err(TextError::Blank));
        assert!(matches!(
            DISPLAY_NAME.check(""),
            Err(TextError::Length { .. })
        ));
        for bad in [
            "A\u{0}nn",
            "An\nn",
            "A\rn",
            "\u{202e}nnA",
            "An\u{200b}n",
            "Ann\u{feff}",
            "A\u{2066}n",
            "A\u{85}n",
        ] {
            assert!(
                matches!(
                    DISPLAY_NAME.check(bad),
                    Err(TextError::ForbiddenCharacter(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(DISPLAY_NAME.check("Zoë Ørsted 李"), Ok("Zoë Ørsted 李"));
    }

    #[test]
    fn lengths_count_characters_as_sent() {
        let hundred = "é".repeat(100);
        assert_eq!(DISPLAY_NAME.check(&hundred), Ok(hundred.as_str()));
        assert!(DISPLAY_NAME.check(&format!("{hundred} ")).is_err());
        assert!(PASSWORD.check("1234567").is_err());
        assert!(PASSWORD.check("12345678").is_ok());
    }

    #[test]
    fn comments_keep_line_breaks_and_emoji_joiners_but_not_controls() {
        assert_eq!(
            RATING_COMMENT.check(" great\nride 👨\u{200d}👩 "),
            Ok("great\nride 👨\u{200d}👩")
        );
        assert_eq!(RATING_COMMENT.check(""), Ok(""));
        assert!(RATING_COMMENT.check("a\u{1b}[31m").is_err());
        assert!(RATING_COMMENT.check("a\u{202e}b").is_err());
    }

    #[test]
    fn patterns_are_written_with_four_digit_escapes() {
        let p = DISPLAY_NAME.pattern().unwrap_or_default();
        assert!(p.starts_with("^[^\\u0000-\\u001f"), "{p}");
        assert_eq!(PASSWORD.pattern(), None);
        assert!(email_pattern().contains("@"));
    }

    /// Characters where the rules have their edges: letters, `@`, `.`, spaces of several kinds, and the
    /// refused ones.
    fn edgy_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let chars = prop::sample::select(vec![
            'a', 'Z', '7', 'é', '李', '@', '.', ' ', '\t', '\n', '\u{a0}', '\u{3000}', '\u{0}',
            '\u{7f}', '\u{85}', '\u{200b}', '\u{200d}', '\u{202e}', '\u{2066}', '\u{feff}',
            '\u{2028}', '-',
        ]);
        prop::collection::vec(chars, 0..14).prop_map(|v| v.into_iter().collect())
    }

    fn matches(pattern: &str, s: &str) -> bool {
        regex::Regex::new(pattern).is_ok_and(|re| re.is_match(s))
    }

    proptest::proptest! {
        /// The document's pattern and lengths accept exactly what the server accepts.
        #[test]
        fn the_name_pattern_and_lengths_accept_exactly_what_the_check_accepts(s in edgy_text()) {
            let n = s.chars().count();
            let by_schema = (DISPLAY_NAME.min_chars..=DISPLAY_NAME.max_chars).contains(&n)
                && matches(&DISPLAY_NAME.pattern().unwrap_or_default(), &s);
            proptest::prop_assert_eq!(by_schema, DISPLAY_NAME.check(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn the_comment_pattern_and_lengths_accept_exactly_what_the_check_accepts(s in edgy_text()) {
            let by_schema = s.chars().count() <= RATING_COMMENT.max_chars
                && matches(&RATING_COMMENT.pattern().unwrap_or_default(), &s);
            proptest::prop_assert_eq!(by_schema, RATING_COMMENT.check(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn the_email_pattern_accepts_exactly_what_email_parse_accepts(s in edgy_text()) {
            let by_schema = s.chars().count() <= EMAIL_MAX_CHARS && matches(&email_pattern(), &s);
            proptest::prop_assert_eq!(by_schema, crate::Email::parse(&s).is_ok(), "{:?}", s);
        }
    }
}
