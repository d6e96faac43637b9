//! Places a person keeps under a label: `home`, `work`, and up to [`MAX_CUSTOM_PLACES`] labels of their
//! own ("gym", "Mum's"). Each person's places are theirs alone; a label names at most one place per
//! person, compared without regard to case ("Gym" and "gym" are one label).

use crate::Timestamp;
use crate::text::{FORBIDDEN_IN_LINE, TextError, TextRule};
use doorstep_geo::LatLng;

/// A label: 1 to 32 characters, trimmed, on one line.
pub const PLACE_LABEL: TextRule = TextRule {
    min_chars: 1,
    max_chars: 32,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: true,
    trimmed: true,
};

/// The optional name of a saved place ("Flatiron office"), up to 100 characters.
pub const PLACE_NAME: TextRule = TextRule {
    min_chars: 0,
    max_chars: 100,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: false,
    trimmed: true,
};

/// The optional address line of a saved place, up to 200 characters.
pub const PLACE_ADDRESS: TextRule = TextRule {
    min_chars: 0,
    max_chars: 200,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: false,
    trimmed: true,
};

/// How many places besides home and work one person may keep.
pub const MAX_CUSTOM_PLACES: usize = 20;

/// What a label is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelKind {
    /// `home`.
    Home,
    /// `work`.
    Work,
    /// Any other label; these count against [`MAX_CUSTOM_PLACES`].
    Custom,
}

impl LabelKind {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            LabelKind::Home => "home",
            LabelKind::Work => "work",
            LabelKind::Custom => "custom",
        }
    }
}

/// A checked label: its text as kept (trimmed; `home` and `work` in lower case whatever their case, so
/// apps can translate them) and its key (lower case), which is what makes two labels the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlaceLabel {
    text: String,
    key: String,
}

impl PlaceLabel {
    /// Checks `raw` by [`PLACE_LABEL`].
    pub fn parse(raw: &str) -> Result<PlaceLabel, TextError> {
        let text = PLACE_LABEL.check(raw)?;
        let key = text.to_lowercase();
        let text = if matches!(key.as_str(), "home" | "work") {
            key.clone()
        } else {
            text.to_owned()
        };
        Ok(PlaceLabel { text, key })
    }

    /// The label as kept.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The lower-case key: one place per key and person.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Home, work, or a label of the person's own.
    pub fn kind(&self) -> LabelKind {
        match self.key.as_str() {
            "home" => LabelKind::Home,
            "work" => LabelKind::Work,
            _ => LabelKind::Custom,
        }
    }

    /// Whether a search query as typed asks for this label: the query, in lower case with its white
    /// space collapsed, begins the label ("h", "Hom", "home" for `home`; "mums" does not begin "mum's").
    pub fn answers(&self, query: &str) -> bool {
        let collapse = |s: &str| -> String {
            s.split(crate::text::is_whitespace)
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let query = collapse(&query.to_lowercase());
        !query.is_empty() && collapse(&self.key).starts_with(&query)
    }
}

/// One saved place.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlace {
    /// Its label.
    pub label: PlaceLabel,
    /// Where it is (checked to be on land in the service area when saved).
    pub point: LatLng,
    /// Its name, "" if none.
    pub name: String,
    /// Its address line, "" if none.
    pub address: String,
    /// When it was last saved.
    pub updated_at: Timestamp,
}

/// Orders a person's places for showing: home, work, then their own labels by key.
pub fn sort_places(places: &mut [SavedPlace]) {
    let rank = |p: &SavedPlace| match p.label.kind() {
        LabelKind::Home => 0,
        LabelKind::Work => 1,
        LabelKind::Custom => 2,
    };
    places.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.label.key().cmp(b.label.key()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(s: &str) -> PlaceLabel {
        PlaceLabel::parse(s).expect("valid label")
    }

    #[test]
    fn home_and_work_are_lower_case_and_other_labels_keep_their_spelling() {
        assert_eq!(label(" Home ").as_str(), "home");
        assert_eq!(label("WORK").kind(), LabelKind::Work);
        let gym = label("My Gym");
        assert_eq!(
            (gym.as_str(), gym.key(), gym.kind()),
            ("My Gym", "my gym", LabelKind::Custom)
        );
        assert_eq!(label("Gym").key(), label("gym").key());
    }

    #[test]
    fn bad_labels_are_refused() {
        assert_eq!(
            PlaceLabel::parse(""),
            Err(TextError::Length { min: 1, max: 32 })
        );
        assert_eq!(PlaceLabel::parse("   "), Err(TextError::Blank));
        assert!(PlaceLabel::parse(&"x".repeat(33)).is_err());
        assert!(PlaceLabel::parse(&"é".repeat(32)).is_ok());
        assert_eq!(
            PlaceLabel::parse("a\u{202e}b"),
            Err(TextError::ForbiddenCharacter(0x202e))
        );
    }

    #[test]
    fn a_query_asks_for_a_label_it_begins() {
        assert!(label("home").answers("h"));
        assert!(label("home").answers("  HOM"));
        assert!(label("home").answers("home "));
        assert!(!label("home").answers("homes"));
        assert!(!label("home").answers(" "));
        assert!(label("Mum's place").answers("mum's  pl"));
        assert!(!label("work").answers("home"));
    }

    #[test]
    fn home_and_work_come_first() {
        let at = |s: &str| SavedPlace {
            label: label(s),
            point: LatLng::new(40.75, -73.98).expect("valid"),
            name: String::new(),
            address: String::new(),
            updated_at: Timestamp::from_millis(0),
        };
        let mut places = vec![at("zoo"), at("work"), at("Gym"), at("home")];
        sort_places(&mut places);
        let order: Vec<&str> = places.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(order, ["home", "work", "Gym", "zoo"]);
    }
}
