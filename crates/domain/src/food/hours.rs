//! A merchant's opening hours: ranges per weekday in the city's local time (New York, with daylight saving
//! time), and exceptions by date (a closed day, short hours).
//!
//! The rules, all on the local wall clock:
//! - A range opens at `open` and closes at `close` on the day it belongs to; a `close` at or before `open`
//!   is on the next day (Friday 18:00–02:00 is open until Saturday 02:00). `24:00` closes at midnight and
//!   `00:00`–`24:00` is the whole day. A range is shorter than a day otherwise.
//! - A day's ranges are listed in order of opening and do not overlap one another. Ranges of neighbouring
//!   days may meet or overlap past midnight: the merchant is open when any range says so.
//! - An exception replaces the regular ranges of its date; an exception without ranges closes the day. A
//!   range belongs to the date it opens on, so the small hours of a closed date still belong to the night
//!   before it (Wednesday 18:00–02:00 stays open until 02:00 on a closed Thursday).
//! - Daylight saving time moves the wall clock, and the ranges follow the wall clock: on the spring day
//!   02:00–03:00 does not happen (a range opening at 02:30 opens at 03:00; one ending at 02:30 ends at the
//!   jump), and on the autumn day 01:00–02:00 happens twice (a range covering it is open both times).
//!
//! Nothing here reads a clock: [`is_open`] and [`next_opening`] take `now`.

use crate::Timestamp;
use crate::onboarding::CalendarDate;
use std::collections::BTreeMap;
use std::fmt;

/// Minutes in a day.
pub const MINUTES_PER_DAY: u16 = 1_440;

/// How many ranges one day (or one exception) may have.
pub const MAX_RANGES_PER_DAY: usize = 4;

/// How many dated exceptions a merchant may keep.
pub const MAX_EXCEPTIONS: usize = 100;

/// How far ahead [`next_opening`] looks, in days: past the last exception a week always shows whether
/// the merchant ever opens, and exceptions are kept for the coming year.
pub const NEXT_OPENING_HORIZON_DAYS: i64 = 800;

const SECS_PER_DAY: i64 = 86_400;

/// Why opening hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// Not a time of day written `HH:MM` (00:00 to 23:59, or 24:00 as a closing time).
    #[error("{0:?} is not a time of day written HH:MM")]
    BadTime(String),
    /// `24:00` is only a closing time.
    #[error("a range cannot open at 24:00")]
    OpensAtMidnightEnd,
    /// Opening and closing at the same time (write 00:00–24:00 for the whole day).
    #[error("a range must close at another time than it opens (00:00-24:00 is the whole day)")]
    Empty,
    /// More ranges on one day than [`MAX_RANGES_PER_DAY`].
    #[error("at most {MAX_RANGES_PER_DAY} ranges a day")]
    TooManyRanges,
    /// A day's ranges are not in order of opening, or one overlaps the next.
    #[error("a day's ranges must be in order of opening and must not overlap")]
    Overlap,
    /// More exceptions than [`MAX_EXCEPTIONS`].
    #[error("at most {MAX_EXCEPTIONS} exceptions")]
    TooManyExceptions,
    /// Two exceptions for one date.
    #[error("two exceptions for {0}")]
    DuplicateDate(CalendarDate),
}

/// A time of day on the local wall clock, in minutes since midnight: `00:00` to `24:00` (the latter only
/// as a closing time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    /// Midnight at the start of the day.
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    /// Midnight at the end of the day (a closing time).
    pub const END_OF_DAY: ClockTime = ClockTime(MINUTES_PER_DAY);

    /// The time `minutes` after midnight, if at most 24:00.
    pub const fn from_minutes(minutes: u16) -> Option<ClockTime> {
        if minutes <= MINUTES_PER_DAY {
            Some(ClockTime(minutes))
        } else {
            None
        }
    }

    /// Parses `HH:MM` (two digits each): `00:00` to `23:59`, and `24:00`.
    pub fn parse(s: &str) -> Result<ClockTime, HoursError> {
        let bad = || HoursError::BadTime(s.chars().take(16).collect());
        let b = s.as_bytes();
        if b.len() != 5
            || b[2] != b':'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let two = |i: usize| u16::from(b[i] - b'0') * 10 + u16::from(b[i + 1] - b'0');
        let (h, m) = (two(0), two(3));
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(ClockTime(h * 60 + m))
    }

    /// Minutes since midnight, 0 to 1440.
    pub const fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// One range of opening: from `open` to `close` on the local wall clock, past midnight when `close` is at
/// or before `open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpeningRange {
    open: ClockTime,
    close: ClockTime,
}

impl OpeningRange {
    /// A range from `open` to `close`. A `close` of `00:00` is midnight at the end of the day (as
    /// `24:00`); a `close` before `open` is on the next day. Refused: opening at 24:00, and closing when
    /// it opens (but `00:00`–`24:00`, the whole day).
    pub fn new(open: ClockTime, close: ClockTime) -> Result<OpeningRange, HoursError> {
        if open == ClockTime::END_OF_DAY {
            return Err(HoursError::OpensAtMidnightEnd);
        }
        let close = if close == ClockTime::MIDNIGHT {
            ClockTime::END_OF_DAY
        } else {
            close
        };
        if close == open {
            return Err(HoursError::Empty);
        }
        Ok(OpeningRange { open, close })
    }

    /// Parses `HH:MM` times and builds the range (see [`OpeningRange::new`]).
    pub fn parse(open: &str, close: &str) -> Result<OpeningRange, HoursError> {
        OpeningRange::new(ClockTime::parse(open)?, ClockTime::parse(close)?)
    }

    /// When it opens.
    pub const fn open(self) -> ClockTime {
        self.open
    }

    /// When it closes (on the next day if not after [`OpeningRange::open`]).
    pub const fn close(self) -> ClockTime {
        self.close
    }

    /// The closing minute counted from the midnight that starts the opening day: after the opening minute
    /// and at most a day later (beyond 1440 when it closes on the next day).
    pub const fn end_minute(self) -> u16 {
        if self.close.0 > self.open.0 {
            self.close.0
        } else {
            self.close.0 + MINUTES_PER_DAY
        }
    }

    /// Whether it closes on the next day.
    pub const fn spans_midnight(self) -> bool {
        self.end_minute() > MINUTES_PER_DAY
    }

    /// Whether second `sec` of its own day (0..86 400) is inside it.
    fn covers_same_day(self, sec: i64) -> bool {
        i64::from(self.open.0) * 60 <= sec && sec < i64::from(self.end_minute()) * 60
    }

    /// Whether second `sec` of the day after its own is inside it.
    fn covers_next_day(self, sec: i64) -> bool {
        self.spans_midnight()
            && sec < (i64::from(self.end_minute()) - i64::from(MINUTES_PER_DAY)) * 60
    }
}

/// Whether a local second of the day (0..86 400) falls in one of `ranges` of a daily schedule: the same
/// ranges every day, so the small hours are also covered by the ranges that spill past midnight. This is
/// how a menu item's availability hours read.
pub fn daily_covers(ranges: &[OpeningRange], sec_of_day: u32) -> bool {
    let sec = i64::from(sec_of_day);
    ranges
        .iter()
        .any(|r| r.covers_same_day(sec) || r.covers_next_day(sec))
}

/// Checks one day's ranges: at most [`MAX_RANGES_PER_DAY`], in order of opening, none overlapping the
/// next.
pub fn check_day(ranges: &[OpeningRange]) -> Result<(), HoursError> {
    if ranges.len() > MAX_RANGES_PER_DAY {
        return Err(HoursError::TooManyRanges);
    }
    for pair in ranges.windows(2) {
        if pair[0].end_minute() > pair[1].open.0 {
            return Err(HoursError::Overlap);
        }
    }
    Ok(())
}

/// The regular ranges of each weekday, Monday (0) to Sunday (6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WeeklyHours {
    days: [Vec<OpeningRange>; 7],
}

impl WeeklyHours {
    /// The week from each weekday's ranges (Monday first), each checked by [`check_day`]; the error
    /// comes with the index of the refused day.
    pub fn new(days: [Vec<OpeningRange>; 7]) -> Result<WeeklyHours, (usize, HoursError)> {
        for (i, day) in days.iter().enumerate() {
            check_day(day).map_err(|e| (i, e))?;
        }
        Ok(WeeklyHours { days })
    }

    /// Never open.
    pub fn closed() -> WeeklyHours {
        WeeklyHours::default()
    }

    /// The same ranges every day of the week.
    pub fn every_day(ranges: &[OpeningRange]) -> Result<WeeklyHours, HoursError> {
        check_day(ranges)?;
        Ok(WeeklyHours {
            days: std::array::from_fn(|_| ranges.to_vec()),
        })
    }

    /// The ranges of `weekday` (0 = Monday .. 6 = Sunday; anything larger reads as Sunday).
    pub fn day(&self, weekday: u8) -> &[OpeningRange] {
        &self.days[usize::from(weekday.min(6))]
    }

    /// Every weekday's ranges, Monday first.
    pub fn days(&self) -> &[Vec<OpeningRange>; 7] {
        &self.days
    }
}

/// Dated exceptions to the weekly hours: each date's ranges replace its weekday's (none: closed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exceptions {
    by_date: BTreeMap<CalendarDate, Vec<OpeningRange>>,
}

impl Exceptions {
    /// No exception.
    pub fn none() -> Exceptions {
        Exceptions::default()
    }

    /// The exceptions, at most [`MAX_EXCEPTIONS`], one per date, each date's ranges checked by
    /// [`check_day`]; the error comes with the index of the refused exception.
    pub fn new(
        list: Vec<(CalendarDate, Vec<OpeningRange>)>,
    ) -> Result<Exceptions, (usize, HoursError)> {
        if list.len() > MAX_EXCEPTIONS {
            return Err((MAX_EXCEPTIONS, HoursError::TooManyExceptions));
        }
        let mut by_date = BTreeMap::new();
        for (i, (date, ranges)) in list.into_iter().enumerate() {
            check_day(&ranges).map_err(|e| (i, e))?;
            if by_date.insert(date, ranges).is_some() {
                return Err((i, HoursError::DuplicateDate(date)));
            }
        }
        Ok(Exceptions { by_date })
    }

    /// The exception of `date`, if any.
    pub fn on(&self, date: CalendarDate) -> Option<&[OpeningRange]> {
        self.by_date.get(&date).map(Vec::as_slice)
    }

    /// Every exception, by date.
    pub fn iter(&self) -> impl Iterator<Item = (CalendarDate, &[OpeningRange])> {
        self.by_date.iter().map(|(d, r)| (*d, r.as_slice()))
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.by_date.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_date.is_empty()
    }

    /// The exceptions without those of dates before `today` (they can no longer matter, but for the
    /// small hours of yesterday's ranges, which the day before `today` keeps).
    pub fn without_past(&self, today: CalendarDate) -> Exceptions {
        let keep_from = CalendarDate::from_days(today.days() - 1).unwrap_or(today);
        Exceptions {
            by_date: self
                .by_date
                .range(keep_from..)
                .map(|(d, r)| (*d, r.clone()))
                .collect(),
        }
    }
}

/// The weekly hours with their exceptions: everything that says when a merchant is open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpeningHours {
    /// The regular ranges of each weekday.
    pub weekly: WeeklyHours,
    /// Dated exceptions.
    pub exceptions: Exceptions,
}

impl OpeningHours {
    /// Whether the merchant is open at `now` ([`is_open`]).
    pub fn is_open(&self, now: Timestamp) -> bool {
        is_open(&self.weekly, &self.exceptions, now)
    }

    /// The first instant at or after `now` when the merchant is open ([`next_opening`]).
    pub fn next_opening(&self, now: Timestamp) -> Option<Timestamp> {
        next_opening(&self.weekly, &self.exceptions, now)
    }
}

/// The local wall clock at `unix_secs`: days since 1970-01-01 of the local date, and the second of the day.
fn local_wall(unix_secs: i64) -> (i64, i64) {
    let local = unix_secs + i64::from(doorstep_geo::new_york_utc_offset_secs(unix_secs));
    (
        local.div_euclid(SECS_PER_DAY),
        local.rem_euclid(SECS_PER_DAY),
    )
}

/// The calendar date `days` after 1970-01-01 in the city (the date its local wall clock shows).
pub fn local_date(now: Timestamp) -> Option<CalendarDate> {
    CalendarDate::from_days(local_wall(now.unix_secs()).0)
}

/// The ranges of the local day `days` after 1970-01-01: its exception's, else its weekday's.
fn ranges_on<'a>(
    weekly: &'a WeeklyHours,
    exceptions: &'a Exceptions,
    days: i64,
) -> &'a [OpeningRange] {
    if let Some(ranges) = CalendarDate::from_days(days).and_then(|d| exceptions.on(d)) {
        return ranges;
    }
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    let weekday = u8::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
    weekly.day(weekday)
}

/// Whether the local wall time `(days, sec)` is inside a range.
fn open_at_wall(weekly: &WeeklyHours, exceptions: &Exceptions, days: i64, sec: i64) -> bool {
    ranges_on(weekly, exceptions, days)
        .iter()
        .any(|r| r.covers_same_day(sec))
        || ranges_on(weekly, exceptions, days - 1)
            .iter()
            .any(|r| r.covers_next_day(sec))
}

/// Whether a merchant with these hours is open at `now`, by the city's wall clock.
pub fn is_open(weekly: &WeeklyHours, exceptions: &Exceptions, now: Timestamp) -> bool {
    let (days, sec) = local_wall(now.unix_secs());
    open_at_wall(weekly, exceptions, days, sec)
}

/// The instant the city's wall clock first shows `minute` minutes after the midnight that starts
/// `date` (the earlier of the two in the repeated autumn hour; in the spring gap, the moment the clock
/// jumps over it). `minute` may exceed a day (the next day's wall time).
pub fn local_instant(date: CalendarDate, minute: u32) -> Timestamp {
    let wall = date.days() * SECS_PER_DAY + i64::from(minute) * 60;
    let secs = instants_of_wall(wall)
        .min()
        .or_else(|| offset_change(wall - OFFSETS[0], wall - OFFSETS[1]))
        .unwrap_or(wall - OFFSETS[1]);
    Timestamp::from_millis(secs * 1000)
}

/// The weekday of `date`, Monday = 0 (as [`WeeklyHours::day`] counts).
pub fn weekday(date: CalendarDate) -> u8 {
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    u8::try_from((date.days() + 3).rem_euclid(7)).unwrap_or(0)
}

/// The offsets New York uses, daylight first.
const OFFSETS: [i64; 2] = [-4 * 3_600, -5 * 3_600];

/// The instants (Unix seconds) at which the wall clock shows `local` (local seconds since the epoch):
/// none in the spring gap, two in the repeated autumn hour, else one.
fn instants_of_wall(local: i64) -> impl Iterator<Item = i64> {
    OFFSETS.into_iter().filter_map(move |offset| {
        let t = local - offset;
        (i64::from(doorstep_geo::new_york_utc_offset_secs(t)) == offset).then_some(t)
    })
}

/// The first instant (Unix seconds) in `(from, to]` whose UTC offset differs from `from`'s, if the
/// offset at `to` differs (a bisection: the offset changes at most once in a day).
fn offset_change(from: i64, to: i64) -> Option<i64> {
    let at = |t: i64| doorstep_geo::new_york_utc_offset_secs(t);
    let before = at(from);
    if at(to) == before {
        return None;
    }
    let (mut lo, mut hi) = (from, to);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at(mid) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// The first instant at or after `now` when a merchant with these hours is open: `now` itself when open,
/// else a range's opening (or, when daylight saving time moves the clock into a range, the moment it
/// does). `None` when no range opens before a week after the last exception (looking at most
/// [`NEXT_OPENING_HORIZON_DAYS`] ahead).
pub fn next_opening(
    weekly: &WeeklyHours,
    exceptions: &Exceptions,
    now: Timestamp,
) -> Option<Timestamp> {
    if is_open(weekly, exceptions, now) {
        return Some(now);
    }
    let now_secs = now.unix_secs();
    let (today, _) = local_wall(now_secs);
    // Every closed day is an exception or a weekday without ranges: past the last exception, a week
    // shows every weekday.
    let last_exception = exceptions
        .by_date
        .keys()
        .next_back()
        .map_or(today, |d| d.days());
    let horizon_end = (last_exception.max(today) + 8).min(today + NEXT_OPENING_HORIZON_DAYS);
    let mut best: Option<i64> = None;
    let consider = |best: &mut Option<i64>, t: i64| {
        // `now` may be mid-second; `t` is a whole second.
        if t * 1000 >= now.millis()
            && best.is_none_or(|b| t < b)
            && is_open(weekly, exceptions, Timestamp::from_millis(t * 1000))
        {
            *best = Some(t);
        }
    };
    for days in today - 1..=horizon_end {
        let midnight = days * SECS_PER_DAY;
        // Every instant of this local day or later is after `midnight + 4 h` (UTC): nothing later can
        // beat a candidate found before it.
        if best.is_some_and(|b| b < midnight + 4 * 3_600) {
            break;
        }
        for range in ranges_on(weekly, exceptions, days) {
            let wall = midnight + i64::from(range.open.0) * 60;
            let mut any = false;
            for t in instants_of_wall(wall) {
                any = true;
                consider(&mut best, t);
            }
            if !any {
                // The opening falls in the spring gap: the range opens when the clock jumps over it.
                if let Some(t) = offset_change(wall - OFFSETS[0], wall - OFFSETS[1]) {
                    consider(&mut best, t);
                }
            }
        }
        // In autumn the clock goes back into the hour it has just shown: a range may open again then.
        if let Some(t) = offset_change(midnight - OFFSETS[0], midnight + SECS_PER_DAY - OFFSETS[1])
        {
            consider(&mut best, t);
        }
    }
    best.map(|t| Timestamp::from_millis(t * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The instant of a UTC wall time.
    fn utc(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> Timestamp {
        Timestamp::from_millis(
            (doorstep_geo::days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3_600 + mi * 60) * 1000,
        )
    }

    fn range(open: &str, close: &str) -> OpeningRange {
        OpeningRange::parse(open, close).expect("a valid range")
    }

    fn date(s: &str) -> CalendarDate {
        CalendarDate::parse(s).expect("a valid date")
    }

    /// Only `weekday` (0 = Monday) has `ranges`.
    fn only(weekday: usize, ranges: Vec<OpeningRange>) -> WeeklyHours {
        let mut days: [Vec<OpeningRange>; 7] = Default::default();
        days[weekday] = ranges;
        WeeklyHours::new(days).expect("valid week")
    }

    #[test]
    fn times_are_hh_mm_and_24_00_only_closes() {
        assert_eq!(ClockTime::parse("07:30").map(ClockTime::minutes), Ok(450));
        assert_eq!(ClockTime::parse("24:00"), Ok(ClockTime::END_OF_DAY));
        for bad in [
            "7:30",
            "24:01",
            "25:00",
            "12:60",
            "12-30",
            "",
            "12:3a",
            "１２:００",
        ] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            OpeningRange::parse("24:00", "02:00"),
            Err(HoursError::OpensAtMidnightEnd)
        );
        assert_eq!(
            OpeningRange::parse("10:00", "10:00"),
            Err(HoursError::Empty)
        );
        // Closing at 00:00 is midnight at the end of the day; 00:00-24:00 is the whole day.
        assert_eq!(range("18:00", "00:00").end_minute(), 1_440);
        assert!(!range("18:00", "00:00").spans_midnight());
        assert_eq!(range("00:00", "24:00").end_minute(), 1_440);
        assert_eq!(range("00:00", "00:00").end_minute(), 1_440);
        assert_eq!(range("18:00", "02:00").end_minute(), 1_560);
        assert_eq!(range("18:00", "02:00").close().to_string(), "02:00");
    }

    #[test]
    fn a_days_ranges_are_ordered_and_do_not_overlap() {
        assert!(check_day(&[range("08:00", "11:00"), range("11:00", "15:00")]).is_ok());
        assert_eq!(
            check_day(&[range("08:00", "12:00"), range("11:00", "15:00")]),
            Err(HoursError::Overlap)
        );
        assert_eq!(
            check_day(&[range("18:00", "22:00"), range("08:00", "11:00")]),
            Err(HoursError::Overlap)
        );
        let five = vec![
            range("01:00", "02:00"),
            range("03:00", "04:00"),
            range("05:00", "06:00"),
            range("07:00", "08:00"),
            range("09:00", "10:00"),
        ];
        assert_eq!(check_day(&five), Err(HoursError::TooManyRanges));
        assert_eq!(
            WeeklyHours::new([vec![], vec![], five, vec![], vec![], vec![], vec![]]),
            Err((2, HoursError::TooManyRanges))
        );
        let dup = Exceptions::new(vec![
            (date("2026-12-25"), vec![]),
            (date("2026-12-25"), vec![range("10:00", "12:00")]),
        ]);
        assert_eq!(dup, Err((1, HoursError::DuplicateDate(date("2026-12-25")))));
    }

    #[test]
    fn a_range_past_midnight_is_open_into_the_next_morning() {
        // Friday 18:00-02:00; 2026-11-27 is a Friday, New York is on UTC-5.
        let week = only(4, vec![range("18:00", "02:00")]);
        let none = Exceptions::none();
        assert!(!is_open(&week, &none, utc(2026, 11, 27, 22, 59))); // Fri 17:59
        assert!(is_open(&week, &none, utc(2026, 11, 27, 23, 0))); // Fri 18:00
        assert!(is_open(&week, &none, utc(2026, 11, 28, 6, 59))); // Sat 01:59
        assert!(!is_open(&week, &none, utc(2026, 11, 28, 7, 0))); // Sat 02:00
        assert_eq!(
            next_opening(&week, &none, utc(2026, 11, 27, 17, 0)),
            Some(utc(2026, 11, 27, 23, 0))
        );
        // From Saturday morning the next opening is a week later.
        assert_eq!(
            next_opening(&week, &none, utc(2026, 11, 28, 7, 0)),
            Some(utc(2026, 12, 4, 23, 0))
        );
        let open = utc(2026, 11, 28, 5, 0);
        assert_eq!(next_opening(&week, &none, open), Some(open));
    }

    #[test]
    fn an_exception_closes_a_day_or_shortens_it_and_keeps_the_night_before() {
        // Every day 11:00-15:00 and 18:00-02:00.
        let week = WeeklyHours::every_day(&[range("11:00", "15:00"), range("18:00", "02:00")])
            .expect("week");
        let closed_thanksgiving = Exceptions::new(vec![
            (date("2026-11-26"), vec![]),
            (date("2026-11-27"), vec![range("12:00", "14:00")]),
        ])
        .expect("exceptions");
        // Thanksgiving (Thursday 26th): the small hours still belong to Wednesday night.
        assert!(is_open(
            &week,
            &closed_thanksgiving,
            utc(2026, 11, 26, 6, 30)
        )); // Thu 01:30
        assert!(!is_open(
            &week,
            &closed_thanksgiving,
            utc(2026, 11, 26, 17, 0)
        )); // Thu 12:00
        assert!(!is_open(
            &week,
            &closed_thanksgiving,
            utc(2026, 11, 27, 0, 0)
        )); // Thu 19:00
        assert!(!is_open(
            &week,
            &closed_thanksgiving,
            utc(2026, 11, 27, 6, 30)
        )); // Fri 01:30
        // Friday has short hours: 12:00-14:00 only.
        assert!(!is_open(
            &week,
            &closed_thanksgiving,
            utc(2026, 11, 27, 16, 30)
        )); // Fri 11:30
        assert!(is_open(
            &week,
            &closed_thanksgiving,
            utc(2026, 11, 27, 17, 30)
        )); // Fri 12:30
        assert!(!is_open(
            &week,
            &closed_thanksgiving,
            utc(2026, 11, 27, 23, 30)
        )); // Fri 18:30
        assert_eq!(
            next_opening(&week, &closed_thanksgiving, utc(2026, 11, 26, 8, 0)),
            Some(utc(2026, 11, 27, 17, 0))
        );
        assert_eq!(
            next_opening(&week, &closed_thanksgiving, utc(2026, 11, 27, 19, 0)),
            Some(utc(2026, 11, 28, 16, 0))
        );
    }

    #[test]
    fn the_spring_gap_skips_the_hour_between_two_and_three() {
        // 2026-03-08 (Sunday): 02:00 EST (07:00 UTC) becomes 03:00 EDT.
        let none = Exceptions::none();
        // Saturday 22:00-02:30 ends at the jump.
        let late = only(5, vec![range("22:00", "02:30")]);
        assert!(is_open(&late, &none, utc(2026, 3, 8, 6, 59))); // Sun 01:59 EST
        assert!(!is_open(&late, &none, utc(2026, 3, 8, 7, 0))); // Sun 03:00 EDT
        // Sunday 02:00-04:00 opens at the jump, at 03:00 EDT.
        let early = only(6, vec![range("02:00", "04:00")]);
        assert!(!is_open(&early, &none, utc(2026, 3, 8, 6, 59)));
        assert!(is_open(&early, &none, utc(2026, 3, 8, 7, 0)));
        assert_eq!(
            next_opening(&early, &none, utc(2026, 3, 8, 6, 30)),
            Some(utc(2026, 3, 8, 7, 0))
        );
        assert!(!is_open(&early, &none, utc(2026, 3, 8, 8, 0))); // 04:00 EDT
        // A range entirely inside the gap does not happen that day: the next is a week later, in EDT.
        let lost = only(6, vec![range("02:15", "02:45")]);
        assert_eq!(
            next_opening(&lost, &none, utc(2026, 3, 8, 5, 0)),
            Some(utc(2026, 3, 15, 6, 15))
        );
    }

    #[test]
    fn the_autumn_repeat_opens_a_range_twice() {
        // 2026-11-01 (Sunday): 02:00 EDT (06:00 UTC) becomes 01:00 EST.
        let none = Exceptions::none();
        let week = only(6, vec![range("00:00", "01:30")]);
        assert!(is_open(&week, &none, utc(2026, 11, 1, 5, 15))); // 01:15 EDT
        assert!(!is_open(&week, &none, utc(2026, 11, 1, 5, 45))); // 01:45 EDT
        assert!(is_open(&week, &none, utc(2026, 11, 1, 6, 15))); // 01:15 EST
        assert!(!is_open(&week, &none, utc(2026, 11, 1, 6, 30))); // 01:30 EST
        // Closed at 01:45 EDT, it is open again when the clock goes back to 01:00.
        assert_eq!(
            next_opening(&week, &none, utc(2026, 11, 1, 5, 45)),
            Some(utc(2026, 11, 1, 6, 0))
        );
        // A range opening at 01:30 opens at its first 01:30.
        let week = only(6, vec![range("01:30", "03:00")]);
        assert_eq!(
            next_opening(&week, &none, utc(2026, 11, 1, 4, 0)),
            Some(utc(2026, 11, 1, 5, 30))
        );
    }

    #[test]
    fn a_merchant_without_hours_never_opens_and_one_open_all_day_always_is() {
        let none = Exceptions::none();
        let now = utc(2026, 11, 25, 19, 0);
        assert_eq!(next_opening(&WeeklyHours::closed(), &none, now), None);
        let always = WeeklyHours::every_day(&[range("00:00", "24:00")]).expect("week");
        for h in 0..48 {
            assert!(is_open(&always, &none, now.plus_secs(h * 1_800)));
        }
        // Closed for the next ten days by exceptions, it opens after them.
        let closed: Vec<_> = (0..10)
            .map(|i| {
                let d = CalendarDate::from_days(date("2026-11-25").days() + i).expect("date");
                (d, vec![])
            })
            .collect();
        let exceptions = Exceptions::new(closed).expect("exceptions");
        assert_eq!(
            next_opening(&always, &exceptions, now),
            Some(utc(2026, 12, 5, 5, 0))
        );
    }

    #[test]
    fn daily_ranges_cover_the_small_hours_of_every_day() {
        let late = [range("22:00", "02:00")];
        assert!(daily_covers(&late, 23 * 3_600));
        assert!(daily_covers(&late, 3_600));
        assert!(!daily_covers(&late, 2 * 3_600));
        assert!(!daily_covers(&[range("07:00", "11:00")], 12 * 3_600));
        assert!(daily_covers(&[range("07:00", "11:00")], 7 * 3_600));
    }

    /// One day's ranges: up to three, ordered, not overlapping, the last possibly past midnight.
    fn day_ranges() -> impl Strategy<Value = Vec<OpeningRange>> {
        prop::collection::vec((0u16..1_440, 1u16..1_440), 0..4).prop_map(|mut raw| {
            raw.sort_unstable();
            let mut kept: Vec<OpeningRange> = Vec::new();
            for (open, len) in raw {
                if kept.last().is_some_and(|r| r.end_minute() > open) {
                    continue;
                }
                let end = open + len;
                let close = if end >= MINUTES_PER_DAY {
                    end - MINUTES_PER_DAY
                } else {
                    end
                };
                let (Some(o), Some(c)) = (
                    ClockTime::from_minutes(open),
                    ClockTime::from_minutes(close),
                ) else {
                    continue;
                };
                if let Ok(r) = OpeningRange::new(o, c) {
                    kept.push(r);
                }
            }
            kept
        })
    }

    fn week() -> impl Strategy<Value = WeeklyHours> {
        prop::collection::vec(day_ranges(), 7).prop_map(|days| {
            let days: [Vec<OpeningRange>; 7] = std::array::from_fn(|i| days[i].clone());
            WeeklyHours::new(days).unwrap_or_default()
        })
    }

    /// Instants around the daylight saving days of 2026 and ordinary days.
    fn instant() -> impl Strategy<Value = Timestamp> {
        let anchors = [
            utc(2026, 3, 7, 0, 0),
            utc(2026, 10, 31, 0, 0),
            utc(2026, 6, 10, 0, 0),
        ];
        (0usize..3, 0i64..(3 * SECS_PER_DAY * 1000))
            .prop_map(move |(a, ms)| anchors[a].plus_millis(ms))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// `next_opening` is the first instant at or after `now` when `is_open` says open: nothing
        /// between them is open (checked minute by minute, where the answer can change).
        #[test]
        fn next_opening_is_the_first_open_instant(
            week in week(),
            closed_days in prop::collection::vec((0i64..12, day_ranges()), 0..6),
            now in instant(),
        ) {
            let today = local_wall(now.unix_secs()).0;
            let mut list = Vec::new();
            for (offset, ranges) in closed_days {
                let Some(d) = CalendarDate::from_days(today + offset - 1) else { continue };
                if list.iter().all(|(x, _)| *x != d) {
                    list.push((d, ranges));
                }
            }
            let exceptions = Exceptions::new(list).expect("valid exceptions");
            let next = next_opening(&week, &exceptions, now);
            let first_minute = now.unix_secs().div_euclid(60) * 60 + 60;
            let limit = match next {
                Some(t) => {
                    prop_assert!(t >= now);
                    prop_assert!(is_open(&week, &exceptions, t));
                    prop_assert_eq!(t == now, is_open(&week, &exceptions, now));
                    t.unix_secs()
                }
                None => first_minute + 21 * SECS_PER_DAY,
            };
            if next != Some(now) {
                prop_assert!(!is_open(&week, &exceptions, now));
            }
            let mut s = first_minute;
            while s < limit {
                prop_assert!(!is_open(&week, &exceptions, Timestamp::from_millis(s * 1000)), "open at {} before {:?}", s, next);
                s += 60;
            }
        }
    }
}
