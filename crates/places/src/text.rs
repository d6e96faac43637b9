//! Text rules of the search: how names and queries become comparable tokens.
//!
//! Both sides go through [`tokens`]: lower case, apostrophes dropped, other punctuation a separator,
//! then each word in its canonical form, so that "W 52 St", "West 52nd Street" and "west fifty-second"
//! ... meet as `w 52 st`. The canonical form of a word that has long and short spellings is the short
//! one ("street", "str", "st" and "saint" are all `st`; "avenue", "ave", "av" are `ave`), ordinals and
//! their words are digits ("fifth", "5th" and "5" are `5`). [`SURFACES`] keeps the long spellings, so
//! that a word being typed ("aven") or mistyped ("sqare") still finds its canonical token.

/// Long spellings and their canonical token: what prefix and typo matching compare a query word with,
/// besides the data's own tokens.
pub const SURFACES: &[(&str, &str)] = &[
    ("street", "st"),
    ("saint", "st"),
    ("avenue", "ave"),
    ("west", "w"),
    ("east", "e"),
    ("north", "n"),
    ("south", "s"),
    ("boulevard", "blvd"),
    ("place", "pl"),
    ("square", "sq"),
    ("drive", "dr"),
    ("road", "rd"),
    ("lane", "ln"),
    ("parkway", "pkwy"),
    ("highway", "hwy"),
    ("terrace", "ter"),
    ("plaza", "plz"),
    ("court", "ct"),
    ("center", "ctr"),
    ("centre", "ctr"),
    ("mount", "mt"),
    ("fort", "ft"),
    ("junior", "jr"),
    ("first", "1"),
    ("second", "2"),
    ("third", "3"),
    ("fourth", "4"),
    ("fifth", "5"),
    ("sixth", "6"),
    ("seventh", "7"),
    ("eighth", "8"),
    ("ninth", "9"),
    ("tenth", "10"),
    ("eleventh", "11"),
    ("twelfth", "12"),
];

/// The canonical token of one lower-case word.
pub fn canonical(word: &str) -> String {
    let short = match word {
        "street" | "str" | "st" | "saint" => "st",
        "avenue" | "ave" | "av" | "avn" => "ave",
        "west" | "w" => "w",
        "east" | "e" => "e",
        "north" | "n" => "n",
        "south" | "s" => "s",
        "boulevard" | "blvd" | "bvd" => "blvd",
        "place" | "pl" => "pl",
        "square" | "sq" => "sq",
        "drive" | "dr" => "dr",
        "road" | "rd" => "rd",
        "lane" | "ln" => "ln",
        "parkway" | "pkwy" => "pkwy",
        "highway" | "hwy" => "hwy",
        "terrace" | "ter" => "ter",
        "plaza" | "plz" => "plz",
        "court" | "ct" => "ct",
        "center" | "centre" | "ctr" => "ctr",
        "mount" | "mt" => "mt",
        "fort" | "ft" => "ft",
        "junior" | "jr" => "jr",
        "&" | "and" => "and",
        _ => "",
    };
    if !short.is_empty() {
        return short.to_owned();
    }
    if let Some((_, n)) = SURFACES.iter().find(|(w, _)| *w == word) {
        return (*n).to_owned();
    }
    ordinal_digits(word).unwrap_or_else(|| word.to_owned())
}

/// "52nd" → "52", "1st" → "1"; `None` for anything else.
fn ordinal_digits(word: &str) -> Option<String> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    matches!(suffix, "st" | "nd" | "rd" | "th" | "d").then(|| digits.to_owned())
}

/// The lower-case words of `text`: letters and digits; apostrophes vanish ("Macy's" is `macys`), `&` is
/// a word of its own, anything else separates.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if c == '\'' || c == '’' || c == '.' {
            // "Jr." and "St." keep their word; "O'Neil" is one word.
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if c == '&' {
                out.push("&".to_owned());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The canonical tokens of `text` (see the module documentation).
pub fn tokens(text: &str) -> Vec<String> {
    words(text).iter().map(|w| canonical(w)).collect()
}

/// Whether a word is a house number: digits, optionally a letter or a range ("350", "12a", "57-59" is
/// split by [`words`], so only its first part reaches here).
pub fn is_house_number(word: &str) -> bool {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    !digits.is_empty()
        && digits.len() <= 5
        && digits.bytes().all(|b| b.is_ascii_digit())
        && word.len() - digits.len() <= 1
}

/// The edit distance (insertions, deletions, substitutions and swaps of neighbours) between `a` and `b`
/// if it is at most `max`, else `None`. Works on bytes: the data's names are ASCII but for a few accents.
pub fn edit_distance_within(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let n = b.len();
    let mut prev2: Vec<usize> = vec![0; n + 1];
    let mut prev: Vec<usize> = (0..=n).collect();
    let mut cur: Vec<usize> = vec![0; n + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[n] <= max).then_some(prev[n])
}

/// How many typos a word of `len` bytes may carry: none up to 3 letters, one up to 6, two beyond.
pub fn typos_allowed(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

/// "1" → "1st", "52" → "52nd", "13" → "13th".
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "EMPIRE STATE BUILDING" → "Empire State Building": the city's upper-case names in title case (short
/// joining words stay lower case inside a name).
pub fn title_case(name: &str) -> String {
    if name.chars().any(|c| c.is_lowercase()) {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len());
    for (i, word) in name.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let lower = word.to_lowercase();
        if i > 0
            && matches!(
                lower.as_str(),
                "of" | "the" | "and" | "at" | "in" | "on" | "for"
            )
        {
            out.push_str(&lower);
            continue;
        }
        let mut upper_next = true;
        for c in lower.chars() {
            if upper_next {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper_next = !c.is_alphanumeric() && c != '\'';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_street_meet() {
        assert_eq!(tokens("W 52 St"), tokens("West 52nd Street"));
        assert_eq!(tokens("fifth avenue"), tokens("5th Ave"));
        assert_eq!(tokens("St. Nicholas Av"), tokens("Saint Nicholas Avenue"));
        assert_eq!(tokens("Macy's"), ["macys"]);
        assert_eq!(tokens("A & B"), ["a", "and", "b"]);
    }

    #[test]
    fn edit_distance_is_bounded() {
        assert_eq!(edit_distance_within(b"tims", b"times", 1), Some(1));
        assert_eq!(edit_distance_within(b"sqare", b"square", 1), Some(1));
        assert_eq!(edit_distance_within(b"teh", b"the", 1), Some(1));
        assert_eq!(edit_distance_within(b"broadway", b"brodway", 2), Some(1));
        assert_eq!(edit_distance_within(b"abc", b"xyz", 2), None);
        assert_eq!(edit_distance_within(b"a", b"abcd", 2), None);
    }

    #[test]
    fn ordinals_and_title_case() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(52), "52nd");
        assert_eq!(ordinal(113), "113th");
        assert_eq!(ordinal(23), "23rd");
        assert_eq!(title_case("EMPIRE STATE BUILDING"), "Empire State Building");
        assert_eq!(title_case("MUSEUM OF THE CITY"), "Museum of the City");
        assert_eq!(title_case("Times Square"), "Times Square");
        assert!(is_house_number("350"));
        assert!(is_house_number("12a"));
        assert!(!is_house_number("5th"));
        assert!(!is_house_number("times"));
    }
}
