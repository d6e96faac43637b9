//! A merchant (a restaurant): its profile (name, cuisine tags, address and point on the map, delivery
//! radius, usual preparation time), its standing with the operator (pending, approved, suspended: only
//! approved merchants are shown to customers), its opening hours, and what it does about its orders right
//! now: paused (no new orders), busy (every preparation takes longer) and a cap on open orders.
//!
//! Whether the point is on land in the service area is the caller's check (`doorstep_places`); every
//! other rule is here. Nothing reads a clock: `now` is a parameter.

use crate::Timestamp;
use crate::food::hours::OpeningHours;
use crate::ids::MerchantId;
use crate::text::{FORBIDDEN_IN_LINE, TextError, TextRule};
use doorstep_geo::LatLng;
use std::ops::RangeInclusive;

/// A merchant's name: 1 to 100 characters, one line.
pub const MERCHANT_NAME: TextRule = TextRule {
    min_chars: 1,
    max_chars: 100,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: true,
    trimmed: true,
};

/// A merchant's address line: 1 to 200 characters, one line.
pub const MERCHANT_ADDRESS: TextRule = TextRule {
    min_chars: 1,
    max_chars: 200,
    forbidden: &FORBIDDEN_IN_LINE,
    needs_visible: true,
    trimmed: true,
};

/// The shape of a cuisine tag: lower-case ASCII letters and digits in words joined by single hyphens
/// (`thai`, `dim-sum`), at most [`CUISINE_TAG_MAX_CHARS`]. Tags are keys that apps translate.
pub const CUISINE_TAG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";
/// The longest cuisine tag.
pub const CUISINE_TAG_MAX_CHARS: usize = 32;
/// How many cuisine tags a merchant may have.
pub const MAX_CUISINE_TAGS: usize = 8;
/// How far a merchant may deliver, in metres.
pub const DELIVERY_RADIUS_M: RangeInclusive<u32> = 200..=10_000;
/// A merchant's usual preparation time, in minutes.
pub const PREP_MINUTES: RangeInclusive<u32> = 1..=120;
/// What busy mode may add to every preparation time, in minutes.
pub const BUSY_EXTRA_MINUTES: RangeInclusive<u32> = 1..=120;
/// The cap on open orders a merchant may set.
pub const MAX_OPEN_ORDERS: RangeInclusive<u32> = 1..=500;

/// A cuisine tag, checked by [`CUISINE_TAG_PATTERN`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CuisineTag(String);

impl CuisineTag {
    /// Checks a tag as sent (no trimming, no case folding: the pattern is the rule).
    pub fn parse(raw: &str) -> Option<CuisineTag> {
        let ok = !raw.is_empty()
            && raw.len() <= CUISINE_TAG_MAX_CHARS
            && raw.split('-').all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        ok.then(|| CuisineTag(raw.to_owned()))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a merchant stands with the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MerchantStatus {
    /// Created by an operator, not yet approved: its staff set it up, customers do not see it.
    Pending,
    /// Approved: customers see it.
    Approved,
    /// Suspended by an operator: customers do not see it and it takes no order.
    Suspended,
}

impl MerchantStatus {
    /// Every status.
    pub const ALL: [MerchantStatus; 3] = [
        MerchantStatus::Pending,
        MerchantStatus::Approved,
        MerchantStatus::Suspended,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Pending => "pending",
            MerchantStatus::Approved => "approved",
            MerchantStatus::Suspended => "suspended",
        }
    }

    /// Parses the name produced by [`MerchantStatus::as_str`].
    pub fn parse(s: &str) -> Option<MerchantStatus> {
        MerchantStatus::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// An operator's action on a merchant's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusAction {
    /// Pending → approved.
    Approve,
    /// Pending or approved → suspended.
    Suspend,
    /// Suspended → approved.
    Reinstate,
}

/// Why a field of a profile was refused; each variant is one machine code at the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The name, by [`MERCHANT_NAME`].
    #[error("the name {0}")]
    Name(TextError),
    /// The address line, by [`MERCHANT_ADDRESS`].
    #[error("the address {0}")]
    Address(TextError),
    /// A tag not matching [`CUISINE_TAG_PATTERN`].
    #[error(
        "cuisine tag {0:?} must be lower-case letters and digits joined by hyphens, at most {CUISINE_TAG_MAX_CHARS} characters"
    )]
    Cuisine(String),
    /// More than [`MAX_CUISINE_TAGS`] tags.
    #[error("at most {MAX_CUISINE_TAGS} cuisine tags")]
    TooManyCuisines,
    /// A radius outside [`DELIVERY_RADIUS_M`].
    #[error("the delivery radius must be {} to {} metres", DELIVERY_RADIUS_M.start(), DELIVERY_RADIUS_M.end())]
    Radius(u32),
    /// A preparation time outside [`PREP_MINUTES`].
    #[error("the preparation time must be {} to {} minutes", PREP_MINUTES.start(), PREP_MINUTES.end())]
    PrepMinutes(u32),
}

impl ProfileError {
    /// Whether the refused text holds a control, bidirectional or zero-width character.
    pub fn is_forbidden_character(&self) -> bool {
        matches!(
            self,
            ProfileError::Name(TextError::ForbiddenCharacter(_))
                | ProfileError::Address(TextError::ForbiddenCharacter(_))
        )
    }
}

/// What a merchant shows of itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// Its cuisine tags, without repeats, in the order given.
    pub cuisines: Vec<CuisineTag>,
    /// Its address line.
    pub address: String,
    /// Where it is: where couriers pick up (checked to be on land in the service area).
    pub point: LatLng,
    /// How far from `point` it delivers, metres.
    pub delivery_radius_m: u32,
    /// Its usual preparation time, minutes (busy mode adds to it).
    pub prep_minutes: u32,
}

impl Profile {
    /// Checks every field and builds the profile (names trimmed, repeated tags dropped).
    pub fn new(
        name: &str,
        cuisines: &[String],
        address: &str,
        point: LatLng,
        delivery_radius_m: u32,
        prep_minutes: u32,
    ) -> Result<Profile, ProfileError> {
        let name = MERCHANT_NAME.check(name).map_err(ProfileError::Name)?;
        let address = MERCHANT_ADDRESS
            .check(address)
            .map_err(ProfileError::Address)?;
        if cuisines.len() > MAX_CUISINE_TAGS {
            return Err(ProfileError::TooManyCuisines);
        }
        let mut tags: Vec<CuisineTag> = Vec::new();
        for raw in cuisines {
            let tag = CuisineTag::parse(raw).ok_or_else(|| {
                ProfileError::Cuisine(raw.chars().take(CUISINE_TAG_MAX_CHARS + 1).collect())
            })?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if !DELIVERY_RADIUS_M.contains(&delivery_radius_m) {
            return Err(ProfileError::Radius(delivery_radius_m));
        }
        if !PREP_MINUTES.contains(&prep_minutes) {
            return Err(ProfileError::PrepMinutes(prep_minutes));
        }
        Ok(Profile {
            name: name.to_owned(),
            cuisines: tags,
            address: address.to_owned(),
            point,
            delivery_radius_m,
            prep_minutes,
        })
    }
}

/// A pause: no new orders until `until` (or until the staff resume, when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// When it ends by itself; `None`: when the staff resume.
    pub until: Option<Timestamp>,
}

/// Busy mode: every preparation takes `extra_minutes` longer until `until` (or until switched off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// Minutes added to every preparation time, within [`BUSY_EXTRA_MINUTES`].
    pub extra_minutes: u32,
    /// When it ends by itself; `None`: when the staff switch it off.
    pub until: Option<Timestamp>,
}

/// What a merchant does about new orders right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Intake {
    /// A pause, if one was set (it may have ended: see [`Merchant::pause_at`]).
    pub pause: Option<Pause>,
    /// Busy mode, if set (it may have ended: see [`Merchant::busy_minutes`]).
    pub busy: Option<Busy>,
    /// The most orders it takes at once, if capped.
    pub max_open_orders: Option<u32>,
}

/// Why an intake setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// A pause or busy mode that would end before `now`.
    #[error("the end must be in the future")]
    EndsInThePast,
    /// Busy minutes outside [`BUSY_EXTRA_MINUTES`].
    #[error("busy mode adds {} to {} minutes", BUSY_EXTRA_MINUTES.start(), BUSY_EXTRA_MINUTES.end())]
    BusyMinutes(u32),
    /// A cap outside [`MAX_OPEN_ORDERS`].
    #[error("the cap on open orders must be {} to {}", MAX_OPEN_ORDERS.start(), MAX_OPEN_ORDERS.end())]
    MaxOpenOrders(u32),
}

/// Why a merchant takes no new order now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAccepting {
    /// Not approved (pending or suspended).
    #[error("the merchant is {}", .0.as_str())]
    NotApproved(MerchantStatus),
    /// Paused by its staff, until then (or until they resume).
    #[error("the merchant has paused new orders")]
    Paused {
        /// When the pause ends by itself.
        until: Option<Timestamp>,
    },
    /// Outside its opening hours; it opens next then (if ever).
    #[error("the merchant is closed")]
    Closed {
        /// When it opens next.
        next_opening: Option<Timestamp>,
    },
    /// At its cap of open orders.
    #[error("the merchant has {open} open orders, its most at once")]
    Throttled {
        /// Its open orders.
        open: u32,
        /// Its cap.
        max: u32,
    },
}

/// A transition the merchant's standing does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} merchant cannot be {action:?}d", from.as_str())]
pub struct StatusError {
    /// The standing it has.
    pub from: MerchantStatus,
    /// What was asked.
    pub action: StatusAction,
}

/// A merchant: its identity, standing, profile, hours and intake.
#[derive(Debug, Clone, PartialEq)]
pub struct Merchant {
    /// Its id.
    pub id: MerchantId,
    status: MerchantStatus,
    /// What it shows of itself.
    pub profile: Profile,
    /// When it is open.
    pub hours: OpeningHours,
    intake: Intake,
    /// When an operator created it.
    pub created_at: Timestamp,
}

impl Merchant {
    /// A new merchant, pending the operator's approval, with no opening hours yet and taking orders
    /// without pause, busy mode or cap.
    pub fn new(id: MerchantId, profile: Profile, created_at: Timestamp) -> Merchant {
        Merchant {
            id,
            status: MerchantStatus::Pending,
            profile,
            hours: OpeningHours::default(),
            intake: Intake::default(),
            created_at,
        }
    }

    /// A merchant read back from the store.
    pub fn from_stored(
        id: MerchantId,
        status: MerchantStatus,
        profile: Profile,
        hours: OpeningHours,
        intake: Intake,
        created_at: Timestamp,
    ) -> Merchant {
        Merchant {
            id,
            status,
            profile,
            hours,
            intake,
            created_at,
        }
    }

    /// Its standing.
    pub fn status(&self) -> MerchantStatus {
        self.status
    }

    /// Its intake settings as set (a pause or busy mode may have ended since).
    pub fn intake(&self) -> Intake {
        self.intake
    }

    /// Changes its standing by an operator's `action`: approve a pending merchant, suspend a pending or
    /// approved one, reinstate a suspended one.
    pub fn apply(&mut self, action: StatusAction) -> Result<(), StatusError> {
        use MerchantStatus::{Approved, Pending, Suspended};
        let to = match (self.status, action) {
            (Pending, StatusAction::Approve) => Approved,
            (Pending | Approved, StatusAction::Suspend) => Suspended,
            (Suspended, StatusAction::Reinstate) => Approved,
            (from @ (Approved | Suspended), StatusAction::Approve)
            | (from @ Suspended, StatusAction::Suspend)
            | (from @ (Pending | Approved), StatusAction::Reinstate) => {
                return Err(StatusError { from, action });
            }
        };
        self.status = to;
        Ok(())
    }

    /// Whether customers see it (approved).
    pub fn is_listed(&self) -> bool {
        self.status == MerchantStatus::Approved
    }

    /// The pause in force at `now`, if any.
    pub fn pause_at(&self, now: Timestamp) -> Option<Pause> {
        self.intake
            .pause
            .filter(|p| p.until.is_none_or(|until| now < until))
    }

    /// Minutes busy mode adds at `now` (0 when not busy).
    pub fn busy_minutes(&self, now: Timestamp) -> u32 {
        self.intake
            .busy
            .filter(|b| b.until.is_none_or(|until| now < until))
            .map_or(0, |b| b.extra_minutes)
    }

    /// The preparation time of an order placed at `now`: the usual one plus busy mode's minutes.
    pub fn prep_minutes(&self, now: Timestamp) -> u32 {
        self.profile.prep_minutes + self.busy_minutes(now)
    }

    /// Stops new orders from `now` until `until` (or until resumed, when `None`).
    pub fn pause(&mut self, until: Option<Timestamp>, now: Timestamp) -> Result<(), IntakeError> {
        if until.is_some_and(|u| u <= now) {
            return Err(IntakeError::EndsInThePast);
        }
        self.intake.pause = Some(Pause { until });
        Ok(())
    }

    /// Takes new orders again.
    pub fn resume(&mut self) {
        self.intake.pause = None;
    }

    /// Switches busy mode on (`extra_minutes` added to every preparation until `until`, or until
    /// switched off).
    pub fn set_busy(
        &mut self,
        extra_minutes: u32,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), IntakeError> {
        if !BUSY_EXTRA_MINUTES.contains(&extra_minutes) {
            return Err(IntakeError::BusyMinutes(extra_minutes));
        }
        if until.is_some_and(|u| u <= now) {
            return Err(IntakeError::EndsInThePast);
        }
        self.intake.busy = Some(Busy {
            extra_minutes,
            until,
        });
        Ok(())
    }

    /// Switches busy mode off.
    pub fn clear_busy(&mut self) {
        self.intake.busy = None;
    }

    /// Caps open orders at `max` (none: no cap).
    pub fn set_max_open_orders(&mut self, max: Option<u32>) -> Result<(), IntakeError> {
        if let Some(m) = max
            && !MAX_OPEN_ORDERS.contains(&m)
        {
            return Err(IntakeError::MaxOpenOrders(m));
        }
        self.intake.max_open_orders = max;
        Ok(())
    }

    /// Whether it delivers to `point`: the distance in metres if within its radius.
    pub fn delivers_to(&self, point: LatLng) -> Option<f64> {
        let metres = doorstep_geo::haversine_km(self.profile.point, point) * 1000.0;
        (metres <= f64::from(self.profile.delivery_radius_m)).then_some(metres)
    }

    /// Whether it takes a new order at `now` with `open_orders` already open: approved, not paused,
    /// open by its hours, and under its cap. The order side counts the open orders.
    pub fn accepts_new_order(&self, open_orders: u32, now: Timestamp) -> Result<(), NotAccepting> {
        if self.status != MerchantStatus::Approved {
            return Err(NotAccepting::NotApproved(self.status));
        }
        if let Some(p) = self.pause_at(now) {
            return Err(NotAccepting::Paused { until: p.until });
        }
        if !self.hours.is_open(now) {
            return Err(NotAccepting::Closed {
                next_opening: self.hours.next_opening(now),
            });
        }
        if let Some(max) = self.intake.max_open_orders
            && open_orders >= max
        {
            return Err(NotAccepting::Throttled {
                open: open_orders,
                max,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::food::hours::{OpeningRange, WeeklyHours};

    /// Wednesday 2026-11-25 14:00 in New York.
    const WEDNESDAY_2PM: Timestamp = Timestamp::from_millis(1_795_633_200_000);

    fn point() -> LatLng {
        LatLng::new(40.7536, -73.9832).expect("Bryant Park")
    }

    fn profile() -> Profile {
        Profile::new(
            " Thai Garden ",
            &["thai".into(), "noodles".into(), "thai".into()],
            "41 W 42nd St",
            point(),
            2_000,
            15,
        )
        .expect("a valid profile")
    }

    /// Approved, open 11:00-23:00 every day.
    fn open_merchant() -> Merchant {
        let mut m = Merchant::new(
            MerchantId::from_uuid(uuid::Uuid::from_u128(1)),
            profile(),
            WEDNESDAY_2PM,
        );
        m.apply(StatusAction::Approve).expect("approve");
        m.hours.weekly =
            WeeklyHours::every_day(&[OpeningRange::parse("11:00", "23:00").expect("range")])
                .expect("week");
        m
    }

    #[test]
    fn a_profile_is_trimmed_deduplicated_and_bounded() {
        let p = profile();
        assert_eq!(p.name, "Thai Garden");
        let tags: Vec<&str> = p.cuisines.iter().map(CuisineTag::as_str).collect();
        assert_eq!(tags, ["thai", "noodles"]);
        let with = |name: &str, tags: &[&str], radius: u32, prep: u32| {
            let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
            Profile::new(name, &tags, "1 Main St", point(), radius, prep)
        };
        assert!(matches!(
            with("", &[], 1_000, 10),
            Err(ProfileError::Name(_))
        ));
        assert!(with("A\u{202e}B", &[], 1_000, 10).is_err_and(|e| e.is_forbidden_character()));
        for bad in ["Thai", "dim sum", "-thai", "thai-", "dim--sum", ""] {
            assert!(
                matches!(with("A", &[bad], 1_000, 10), Err(ProfileError::Cuisine(_))),
                "{bad}"
            );
        }
        assert!(with("A", &["dim-sum", "k2"], 1_000, 10).is_ok());
        let nine: Vec<String> = (0..9).map(|i| format!("tag{i}")).collect();
        let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
        assert_eq!(
            with("A", &nine, 1_000, 10),
            Err(ProfileError::TooManyCuisines)
        );
        assert_eq!(with("A", &[], 199, 10), Err(ProfileError::Radius(199)));
        assert_eq!(
            with("A", &[], 10_001, 10),
            Err(ProfileError::Radius(10_001))
        );
        assert_eq!(with("A", &[], 1_000, 0), Err(ProfileError::PrepMinutes(0)));
        assert_eq!(
            with("A", &[], 1_000, 121),
            Err(ProfileError::PrepMinutes(121))
        );
    }

    #[test]
    fn an_operator_approves_suspends_and_reinstates_in_order() {
        use MerchantStatus::{Approved, Pending, Suspended};
        use StatusAction::{Approve, Reinstate, Suspend};
        let cases = [
            (Pending, Approve, Ok(Approved)),
            (Pending, Suspend, Ok(Suspended)),
            (Pending, Reinstate, Err(Pending)),
            (Approved, Approve, Err(Approved)),
            (Approved, Suspend, Ok(Suspended)),
            (Approved, Reinstate, Err(Approved)),
            (Suspended, Approve, Err(Suspended)),
            (Suspended, Suspend, Err(Suspended)),
            (Suspended, Reinstate, Ok(Approved)),
        ];
        for (from, action, outcome) in cases {
            let mut m = Merchant::from_stored(
                MerchantId::from_uuid(uuid::Uuid::from_u128(1)),
                from,
                profile(),
                OpeningHours::default(),
                Intake::default(),
                WEDNESDAY_2PM,
            );
            match outcome {
                Ok(to) => {
                    assert_eq!(m.apply(action), Ok(()));
                    assert_eq!(m.status(), to);
                }
                Err(stays) => {
                    assert_eq!(m.apply(action), Err(StatusError { from, action }));
                    assert_eq!(m.status(), stays);
                }
            }
            assert_eq!(m.is_listed(), m.status() == Approved);
        }
    }

    #[test]
    fn a_new_order_needs_approval_no_pause_open_hours_and_room_under_the_cap() {
        let now = WEDNESDAY_2PM;
        let pending = Merchant::new(
            MerchantId::from_uuid(uuid::Uuid::from_u128(2)),
            profile(),
            now,
        );
        assert_eq!(
            pending.accepts_new_order(0, now),
            Err(NotAccepting::NotApproved(MerchantStatus::Pending))
        );
        let mut m = open_merchant();
        assert_eq!(m.accepts_new_order(40, now), Ok(()));
        // Paused for 20 minutes, then taking orders again by itself.
        m.pause(Some(now.plus_secs(1_200)), now).expect("pause");
        assert_eq!(
            m.accepts_new_order(0, now),
            Err(NotAccepting::Paused {
                until: Some(now.plus_secs(1_200))
            })
        );
        assert_eq!(m.accepts_new_order(0, now.plus_secs(1_200)), Ok(()));
        m.pause(None, now).expect("pause until resumed");
        assert!(m.accepts_new_order(0, now.plus_secs(86_400)).is_err());
        m.resume();
        assert_eq!(m.pause(Some(now), now), Err(IntakeError::EndsInThePast));
        // Closed at 23:30, opening at 11:00 the next day (16:00 UTC).
        let late = now.plus_secs(9 * 3_600 + 1_800);
        assert_eq!(
            m.accepts_new_order(0, late),
            Err(NotAccepting::Closed {
                next_opening: Some(now.plus_secs(21 * 3_600))
            })
        );
        m.set_max_open_orders(Some(3)).expect("cap");
        assert_eq!(m.accepts_new_order(2, now), Ok(()));
        assert_eq!(
            m.accepts_new_order(3, now),
            Err(NotAccepting::Throttled { open: 3, max: 3 })
        );
        assert_eq!(
            m.set_max_open_orders(Some(0)),
            Err(IntakeError::MaxOpenOrders(0))
        );
        m.set_max_open_orders(None).expect("no cap");
        assert_eq!(m.accepts_new_order(1_000, now), Ok(()));
    }

    #[test]
    fn busy_mode_adds_minutes_to_every_preparation_until_it_ends() {
        let now = WEDNESDAY_2PM;
        let mut m = open_merchant();
        assert_eq!(m.prep_minutes(now), 15);
        m.set_busy(20, Some(now.plus_secs(3_600)), now)
            .expect("busy");
        assert_eq!(m.prep_minutes(now), 35);
        assert_eq!(m.prep_minutes(now.plus_secs(3_599)), 35);
        assert_eq!(m.prep_minutes(now.plus_secs(3_600)), 15);
        assert_eq!(m.set_busy(0, None, now), Err(IntakeError::BusyMinutes(0)));
        assert_eq!(
            m.set_busy(121, None, now),
            Err(IntakeError::BusyMinutes(121))
        );
        m.set_busy(10, None, now).expect("busy until switched off");
        assert_eq!(m.busy_minutes(now.plus_secs(86_400)), 10);
        m.clear_busy();
        assert_eq!(m.busy_minutes(now), 0);
    }

    #[test]
    fn a_merchant_delivers_within_its_radius() {
        let m = open_merchant();
        let near = LatLng::new(40.7580, -73.9855).expect("Times Square");
        let far = LatLng::new(40.7359, -73.9911).expect("Union Square");
        assert!(m.delivers_to(near).is_some_and(|d| d > 400.0 && d < 700.0));
        assert_eq!(m.delivers_to(far), None);
    }
}
