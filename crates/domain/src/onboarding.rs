//! Onboarding: a driver's or house-call provider's approval by an operator and the documents they hold
//! (a driver's licence, insurance and vehicle registration; a provider's identity card, professional
//! licence and liability insurance), each with a number and an expiry date. A driver goes online only
//! when approved and with no document expired ([`may_go_online`]); a provider's approval moves by an
//! operator's [`Decision`] ([`Approval::decide`]); an account's phone number ([`parse_phone`]).
//!
//! Dates are calendar days ([`CalendarDate`]); which day it is "today" (in the city's time zone) is a
//! parameter, like every instant in this crate.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a driver stands with the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Signed up, waiting for an operator.
    Pending,
    /// May drive.
    Approved,
    /// Refused by an operator (with a reason).
    Rejected,
    /// The account is suspended (whatever its approval was).
    Suspended,
}

impl Approval {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Approval::Pending => "pending",
            Approval::Approved => "approved",
            Approval::Rejected => "rejected",
            Approval::Suspended => "suspended",
        }
    }

    /// Parses the name produced by [`Approval::as_str`].
    pub fn parse(s: &str) -> Option<Approval> {
        [
            Approval::Pending,
            Approval::Approved,
            Approval::Rejected,
            Approval::Suspended,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }

    /// The approval after an operator's `decision`, or why the decision does not apply to this one:
    /// approve a pending or rejected provider; reject one not rejected yet; suspend an approved one;
    /// reinstate a suspended one (approved again).
    pub fn decide(self, decision: Decision) -> Result<Approval, DecisionRefused> {
        let refused = Err(DecisionRefused {
            from: self,
            decision,
        });
        match (decision, self) {
            (Decision::Approve, Approval::Pending | Approval::Rejected) => Ok(Approval::Approved),
            (Decision::Approve, Approval::Approved | Approval::Suspended) => refused,
            (Decision::Reject, Approval::Pending | Approval::Approved | Approval::Suspended) => {
                Ok(Approval::Rejected)
            }
            (Decision::Reject, Approval::Rejected) => refused,
            (Decision::Suspend, Approval::Approved) => Ok(Approval::Suspended),
            (Decision::Suspend, Approval::Pending | Approval::Rejected | Approval::Suspended) => {
                refused
            }
            (Decision::Reinstate, Approval::Suspended) => Ok(Approval::Approved),
            (Decision::Reinstate, Approval::Pending | Approval::Approved | Approval::Rejected) => {
                refused
            }
        }
    }
}

/// An operator's decision about a provider's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// May work (from pending or rejected).
    Approve,
    /// May not work (with a reason).
    Reject,
    /// Stops working for now (an approved one).
    Suspend,
    /// Works again (a suspended one).
    Reinstate,
}

impl Decision {
    /// Every decision.
    pub const ALL: [Decision; 4] = [
        Decision::Approve,
        Decision::Reject,
        Decision::Suspend,
        Decision::Reinstate,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Suspend => "suspend",
            Decision::Reinstate => "reinstate",
        }
    }
}

/// A decision that does not apply to the approval it was asked of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} one who is {}", decision.as_str(), from.as_str())]
pub struct DecisionRefused {
    /// The approval it was asked of.
    pub from: Approval,
    /// The decision.
    pub decision: Decision,
}

/// A kind of document a driver or a provider holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The driving licence.
    Licence,
    /// The vehicle's insurance.
    Insurance,
    /// The vehicle's registration.
    VehicleRegistration,
    /// A provider's identity card (or passport).
    IdCard,
    /// A provider's licence to practise their trade (a massage therapist's, a cosmetologist's).
    ProfessionalLicence,
    /// A provider's liability insurance for work in customers' homes.
    LiabilityInsurance,
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::Licence,
        DocumentKind::Insurance,
        DocumentKind::VehicleRegistration,
        DocumentKind::IdCard,
        DocumentKind::ProfessionalLicence,
        DocumentKind::LiabilityInsurance,
    ];

    /// The kinds a driver declares.
    pub const DRIVER: [DocumentKind; 3] = [
        DocumentKind::Licence,
        DocumentKind::Insurance,
        DocumentKind::VehicleRegistration,
    ];

    /// The kinds a house-call provider declares.
    pub const PROVIDER: [DocumentKind; 3] = [
        DocumentKind::IdCard,
        DocumentKind::ProfessionalLicence,
        DocumentKind::LiabilityInsurance,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Licence => "licence",
            DocumentKind::Insurance => "insurance",
            DocumentKind::VehicleRegistration => "vehicle_registration",
            DocumentKind::IdCard => "id_card",
            DocumentKind::ProfessionalLicence => "professional_licence",
            DocumentKind::LiabilityInsurance => "liability_insurance",
        }
    }

    /// Parses the name produced by [`DocumentKind::as_str`].
    pub fn parse(s: &str) -> Option<DocumentKind> {
        DocumentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A day of the proleptic Gregorian calendar, years 2000 to 2999 (what a document's expiry can be).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CalendarDate {
    year: u16,
    month: u8,
    day: u8,
}

/// Days from 1970-01-01 to the date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl CalendarDate {
    /// The first day a date may be.
    pub const MIN: CalendarDate = CalendarDate {
        year: 2000,
        month: 1,
        day: 1,
    };

    /// The years a date may have.
    pub const YEARS: std::ops::RangeInclusive<u16> = 2000..=2999;

    /// Parses `YYYY-MM-DD` (a real day within [`CalendarDate::YEARS`]).
    pub fn parse(s: &str) -> Option<CalendarDate> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let date = CalendarDate {
            year,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
        };
        // A real day is one that survives the round trip through a day count.
        let valid = CalendarDate::YEARS.contains(&year)
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && CalendarDate::from_days(date.days()) == Some(date);
        valid.then_some(date)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        )
    }

    /// The date `days` after 1970-01-01, if its year fits.
    pub fn from_days(days: i64) -> Option<CalendarDate> {
        let (y, m, d) = civil_from_days(days);
        Some(CalendarDate {
            year: u16::try_from(y).ok()?,
            month: u8::try_from(m).ok()?,
            day: u8::try_from(d).ok()?,
        })
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The characters of a document number.
pub const DOCUMENT_NUMBER_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9 -]{0,39}$";

/// Checks a document number: 1 to 40 letters, digits, spaces and hyphens, starting with a letter or
/// digit ([`DOCUMENT_NUMBER_PATTERN`]); returns it trimmed of trailing spaces.
pub fn parse_document_number(raw: &str) -> Option<String> {
    let trimmed = raw.trim_end_matches(' ');
    let first_ok = trimmed
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    let ok = first_ok
        && raw.len() <= 40
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
    ok.then(|| trimmed.to_owned())
}

/// A document a driver or a provider holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// What it is.
    pub kind: DocumentKind,
    /// Its number.
    pub number: String,
    /// The last day it is valid.
    pub expires_on: CalendarDate,
}

impl Document {
    /// Whether it is no longer valid on `today` (it is valid through its expiry day).
    pub fn is_expired(&self, today: CalendarDate) -> bool {
        self.expires_on < today
    }
}

/// Why a driver may not go online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAllowedOnline {
    /// Not approved (pending, rejected or suspended).
    NotApproved(Approval),
    /// A document expired.
    DocumentExpired(DocumentKind),
}

/// Whether a driver with `approval` and `documents` may go online on `today`.
pub fn may_go_online(
    approval: Approval,
    documents: &[Document],
    today: CalendarDate,
) -> Result<(), NotAllowedOnline> {
    if approval != Approval::Approved {
        return Err(NotAllowedOnline::NotApproved(approval));
    }
    match documents.iter().find(|d| d.is_expired(today)) {
        Some(d) => Err(NotAllowedOnline::DocumentExpired(d.kind)),
        None => Ok(()),
    }
}

/// The pattern of a phone number: E.164, a `+`, a country code that does not start with 0, and 7 to 15
/// digits in all.
pub const PHONE_PATTERN: &str = "^\\+[1-9][0-9]{6,14}$";

/// Checks a phone number in E.164 form; spaces, hyphens, dots and parentheses between the digits are
/// dropped first (`+1 (212) 555-0100` is `+12125550100`). Returns the number in E.164.
pub fn parse_phone(raw: &str) -> Option<String> {
    if raw.chars().count() > 30 {
        return None;
    }
    let rest = raw.trim().strip_prefix('+')?;
    let mut digits = String::from("+");
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let n = digits.len() - 1;
    let ok = (7..=15).contains(&n) && !digits[1..].starts_with('0');
    ok.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> CalendarDate {
        CalendarDate::parse(s).unwrap_or_else(|| panic!("{s} is a date"))
    }

    #[test]
    fn dates_parse_only_real_days() {
        assert_eq!(date("2027-02-28").to_string(), "2027-02-28");
        assert_eq!(date("2028-02-29").to_string(), "2028-02-29");
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-00-10",
            "2027-1-01",
            "27-01-01",
            "1999-12-31",
            "2027-01-32",
            "2027-01-0a",
            "+027-01-01",
        ] {
            assert_eq!(CalendarDate::parse(bad), None, "{bad}");
        }
        assert_eq!(date("2000-03-01").days(), 11_017);
        assert_eq!(date("2026-12-06").days(), 20_793);
        assert_eq!(CalendarDate::from_days(20_793), Some(date("2026-12-06")));
    }

    #[test]
    fn a_document_is_valid_through_its_expiry_day() {
        let doc = Document {
            kind: DocumentKind::Insurance,
            number: "INS-1".into(),
            expires_on: date("2026-12-06"),
        };
        assert!(!doc.is_expired(date("2026-12-06")));
        assert!(doc.is_expired(date("2026-12-07")));
        assert_eq!(
            may_go_online(
                Approval::Approved,
                std::slice::from_ref(&doc),
                date("2026-12-07")
            ),
            Err(NotAllowedOnline::DocumentExpired(DocumentKind::Insurance))
        );
        assert_eq!(
            may_go_online(Approval::Approved, &[doc], date("2026-12-06")),
            Ok(())
        );
        assert_eq!(
            may_go_online(Approval::Pending, &[], date("2026-12-06")),
            Err(NotAllowedOnline::NotApproved(Approval::Pending))
        );
    }

    #[test]
    fn driver_and_provider_kinds_split_every_kind_and_round_trip() {
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.as_str()), Some(kind));
            assert_ne!(
                DocumentKind::DRIVER.contains(&kind),
                DocumentKind::PROVIDER.contains(&kind),
                "{kind:?} is a driver's or a provider's"
            );
        }
    }

    #[test]
    fn decisions_move_an_approval_only_where_they_apply() {
        use Approval::{Approved, Pending, Rejected, Suspended};
        let table = [
            (Decision::Approve, Pending, Some(Approved)),
            (Decision::Approve, Rejected, Some(Approved)),
            (Decision::Approve, Approved, None),
            (Decision::Approve, Suspended, None),
            (Decision::Reject, Pending, Some(Rejected)),
            (Decision::Reject, Approved, Some(Rejected)),
            (Decision::Reject, Suspended, Some(Rejected)),
            (Decision::Reject, Rejected, None),
            (Decision::Suspend, Approved, Some(Suspended)),
            (Decision::Suspend, Pending, None),
            (Decision::Suspend, Rejected, None),
            (Decision::Suspend, Suspended, None),
            (Decision::Reinstate, Suspended, Some(Approved)),
            (Decision::Reinstate, Pending, None),
            (Decision::Reinstate, Approved, None),
            (Decision::Reinstate, Rejected, None),
        ];
        for (decision, from, to) in table {
            assert_eq!(
                from.decide(decision).ok(),
                to,
                "{} from {}",
                decision.as_str(),
                from.as_str()
            );
        }
        assert_eq!(
            Pending.decide(Decision::Suspend).map_err(|e| e.to_string()),
            Err("cannot suspend one who is pending".to_owned())
        );
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(
            parse_phone("+1 (212) 555-0100").as_deref(),
            Some("+12125550100")
        );
        assert_eq!(
            parse_phone("+8613800138000").as_deref(),
            Some("+8613800138000")
        );
        for bad in [
            "2125550100",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+1 212 555 01OO",
            "",
        ] {
            assert_eq!(parse_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn document_numbers() {
        assert_eq!(
            parse_document_number("NY-123 456").as_deref(),
            Some("NY-123 456")
        );
        for bad in ["", " A1", "-A1", "A1_2", &"A".repeat(41)] {
            assert_eq!(parse_document_number(bad), None, "{bad}");
        }
    }
}
