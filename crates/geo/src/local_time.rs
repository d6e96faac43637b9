//! New York local time (US Eastern), computed by hand from a Unix timestamp.
//!
//! The city data is indexed by local weekday and 15-minute window, so the live server needs the
//! local time of "now"; the caller passes the timestamp, this module never reads a clock. It
//! knows only the US rule in force since 2007: daylight time (UTC−4) from the second Sunday of
//! March at 02:00 local standard time to the first Sunday of November at 02:00 local daylight
//! time, standard time (UTC−5) otherwise. Earlier years get the same rule, which is wrong for
//! them and irrelevant to a dispatcher.

use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// A local weekday and time of day.
///
/// The demand data covers Monday to Friday only (`weekday` 0..=4). Weekend days (5 = Saturday,
/// 6 = Sunday) have no data of their own: callers map them to a weekday as they choose, for
/// example with [`LocalTime::nearest_weekday`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalTime {
    /// Day of the week, 0 = Monday .. 6 = Sunday.
    pub weekday: u8,
    /// Seconds since local midnight, 0..86_400 (a 23- or 25-hour day still maps into this range).
    pub seconds_of_day: u32,
}

impl LocalTime {
    /// The 15-minute window of the day, 0..96, as used by the speed and demand tables.
    pub fn window(&self) -> u8 {
        // seconds_of_day < 86_400, so the window is < 96 and fits a u8.
        u8::try_from(self.seconds_of_day / 900).unwrap_or(95)
    }

    /// The weekday whose demand stands in for this day: Monday to Friday are themselves,
    /// Saturday maps to Friday (4) and Sunday to Monday (0).
    pub fn nearest_weekday(&self) -> u8 {
        match self.weekday {
            0..=4 => self.weekday,
            5 => 4,
            _ => 0,
        }
    }
}

/// The local time in New York (US Eastern, with daylight saving time) at `unix_secs` seconds
/// after 1970-01-01T00:00:00Z.
pub fn new_york_local(unix_secs: i64) -> LocalTime {
    let local = unix_secs.saturating_add(i64::from(new_york_utc_offset_secs(unix_secs)));
    let days = local.div_euclid(DAY);
    // rem_euclid is in 0..86_400 and 1970-01-01 was a Thursday (3 with Monday = 0).
    LocalTime {
        weekday: u8::try_from((days + 3).rem_euclid(7)).unwrap_or(0),
        seconds_of_day: u32::try_from(local.rem_euclid(DAY)).unwrap_or(0),
    }
}

/// The offset of New York local time from UTC at `unix_secs`, in seconds: −14 400 during
/// daylight time, −18 000 otherwise.
pub fn new_york_utc_offset_secs(unix_secs: i64) -> i32 {
    // Daylight time never spans a new year, so the UTC year of the instant is the right one.
    let (year, _, _) = civil_from_days(unix_secs.div_euclid(DAY));
    // 02:00 EST is 07:00 UTC; 02:00 EDT is 06:00 UTC.
    let start = nth_sunday(year, 3, 2) * DAY + 7 * HOUR;
    let end = nth_sunday(year, 11, 1) * DAY + 6 * HOUR;
    if (start..end).contains(&unix_secs) {
        -4 * 3_600
    } else {
        -5 * 3_600
    }
}

/// Days since 1970-01-01 of the `n`th Sunday (1-based) of `month` in `year`.
fn nth_sunday(year: i64, month: u32, n: i64) -> i64 {
    let first = days_from_civil(year, month, 1);
    let weekday = (first + 3).rem_euclid(7); // 0 = Monday .. 6 = Sunday
    first + (6 - weekday).rem_euclid(7) + 7 * (n - 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm); the inverse of
/// [`civil_from_days`]. The date is not checked: callers pass a month in 1..=12 and a day of it.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's
/// algorithm); used wherever a Unix time is printed as a calendar date.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // month is in 1..=12 and day in 1..=31 by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_over_four_centuries() {
        for days in (-146_097..2 * 146_097).step_by(13) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn nth_sunday_finds_known_transition_dates() {
        // 2024: DST from 10 March to 3 November; 2018: 11 March to 4 November.
        assert_eq!(civil_from_days(nth_sunday(2024, 3, 2)), (2024, 3, 10));
        assert_eq!(civil_from_days(nth_sunday(2024, 11, 1)), (2024, 11, 3));
        assert_eq!(civil_from_days(nth_sunday(2018, 3, 2)), (2018, 3, 11));
        assert_eq!(civil_from_days(nth_sunday(2018, 11, 1)), (2018, 11, 4));
    }
}
