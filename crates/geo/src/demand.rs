//! Ride demand: how many trips went from each zone to each zone in each 15-minute window of each
//! weekday (NYC TLC, business days of 2018), and sampling from it.

use std::fmt;

use rand::Rng;

use crate::{CityDataError, ZoneIdx};

/// Weekdays with data: 0 = Monday .. 4 = Friday.
const WEEKDAYS: usize = 5;
/// 15-minute windows in a day.
const WINDOWS: usize = 96;

/// One row of the demand table: trips from one zone to another within one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TripRow {
    /// Zone where the trips started.
    pub pickup: ZoneIdx,
    /// Zone where the trips ended.
    pub dropoff: ZoneIdx,
    /// Number of trips observed (over all such weekdays of 2018), at least 1.
    pub trips: u32,
}

/// The demand table: trip counts by (weekday, window, pickup zone, drop-off zone).
///
/// Weekend days have no data: [`DemandTable::trips_in_window`], [`DemandTable::rows`] and
/// [`DemandTable::weekday_total`] report nothing for `dow` 5 and 6, and
/// [`DemandTable::sample_pair`] refuses them. Callers map Saturday and Sunday to a weekday as they
/// choose (for example with [`crate::LocalTime::nearest_weekday`]). Windows are in New York local
/// time: window `w` covers minutes `15 w .. 15 w + 15` after midnight.
pub struct DemandTable {
    /// All rows, grouped by (weekday, window), each group ordered by (pickup, drop-off).
    rows: Vec<TripRow>,
    /// Rows of group `g = dow * 96 + window` are `rows[group_start[g]..group_start[g + 1]]`.
    group_start: Vec<usize>,
    /// For each row, the sum of `trips` of its group up to and including it.
    cumulative: Vec<u32>,
    /// Total trips per weekday.
    weekday_totals: [u64; WEEKDAYS],
}

impl fmt::Debug for DemandTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemandTable")
            .field("rows", &self.rows.len())
            .field("weekday_totals", &self.weekday_totals)
            .finish_non_exhaustive()
    }
}

impl DemandTable {
    /// Decodes `trips.bin` (format in `data/manhattan/README.md`) for a city of `zones` zones.
    pub(crate) fn decode(bytes: &[u8], zones: usize) -> Result<DemandTable, CityDataError> {
        let groups = WEEKDAYS * WINDOWS;
        let mut rows = Vec::new();
        let mut cumulative = Vec::new();
        let mut group_start = Vec::with_capacity(groups + 1);
        let mut weekday_totals = [0u64; WEEKDAYS];
        let mut pos = 0;
        for group in 0..groups {
            group_start.push(rows.len());
            let mut sum: u32 = 0;
            for pair in 0..zones * zones {
                let trips = read_varint(bytes, &mut pos).ok_or(CityDataError::Trips {
                    reason: "truncated or overlong varint",
                    offset: pos,
                })?;
                if trips == 0 {
                    continue;
                }
                sum = sum.checked_add(trips).ok_or(CityDataError::Trips {
                    reason: "window total overflows u32",
                    offset: pos,
                })?;
                weekday_totals[group / WINDOWS] += u64::from(trips);
                rows.push(TripRow {
                    pickup: zone_idx(pair / zones),
                    dropoff: zone_idx(pair % zones),
                    trips,
                });
                cumulative.push(sum);
            }
        }
        group_start.push(rows.len());
        if pos != bytes.len() {
            return Err(CityDataError::Trips {
                reason: "trailing bytes",
                offset: pos,
            });
        }
        Ok(DemandTable {
            rows,
            group_start,
            cumulative,
            weekday_totals,
        })
    }

    /// The index range in `rows` of a (weekday, window) group, `None` outside Monday–Friday and
    /// windows 0..96.
    fn group(&self, dow: u8, window: u8) -> Option<std::ops::Range<usize>> {
        let (dow, window) = (usize::from(dow), usize::from(window));
        if dow >= WEEKDAYS || window >= WINDOWS {
            return None;
        }
        let g = dow * WINDOWS + window;
        Some(self.group_start[g]..self.group_start[g + 1])
    }

    /// Total trips in one window of one weekday (`dow` 0 = Monday .. 4 = Friday, `window`
    /// 0..96 in local time); 0 for weekend days and out-of-range windows.
    pub fn trips_in_window(&self, dow: u8, window: u8) -> u32 {
        match self.group(dow, window) {
            Some(range) if !range.is_empty() => self.cumulative[range.end - 1],
            _ => 0,
        }
    }

    /// Total trips of one weekday over all windows; 0 for weekend days.
    pub fn weekday_total(&self, dow: u8) -> u64 {
        self.weekday_totals
            .get(usize::from(dow))
            .copied()
            .unwrap_or(0)
    }

    /// Total trips in the whole table.
    pub fn total(&self) -> u64 {
        self.weekday_totals.iter().sum()
    }

    /// Number of (weekday, window, pickup, drop-off) rows with at least one trip.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// The rows of one window of one weekday, ordered by (pickup, drop-off); empty for weekend
    /// days and out-of-range windows.
    pub fn rows(&self, dow: u8, window: u8) -> &[TripRow] {
        match self.group(dow, window) {
            Some(range) => &self.rows[range],
            None => &[],
        }
    }

    /// Draws a (pickup, drop-off) pair of one window with probability proportional to its trips.
    ///
    /// # Panics
    ///
    /// If `dow` is not a weekday with data (0..=4) or `window` is not in 0..96: there is nothing
    /// to draw from. Map weekend days first.
    pub fn sample_pair(&self, dow: u8, window: u8, rng: &mut impl Rng) -> (ZoneIdx, ZoneIdx) {
        let range = self.group(dow, window).unwrap_or_default();
        assert!(
            !range.is_empty(),
            "no demand data for weekday {dow} window {window} (weekends have none)"
        );
        let cumulative = &self.cumulative[range.clone()];
        let total = cumulative[cumulative.len() - 1];
        let ticket = rng.random_range(0..total);
        // The first row whose cumulative count exceeds the ticket.
        let i = cumulative.partition_point(|&c| c <= ticket);
        let row = self.rows[range.start + i.min(cumulative.len() - 1)];
        (row.pickup, row.dropoff)
    }

    /// Draws a weekday (0 = Monday .. 4 = Friday) with probability proportional to its total
    /// trips, as pyhailing picks the day of an episode.
    pub fn sample_weekday(&self, rng: &mut impl Rng) -> u8 {
        let total = self.total();
        if total == 0 {
            return 0;
        }
        let mut ticket = rng.random_range(0..total);
        for (dow, &n) in (0u8..).zip(self.weekday_totals.iter()) {
            if ticket < n {
                return dow;
            }
            ticket -= n;
        }
        4
    }
}

/// A zone index from a position in the zone order; callers guarantee `< 256`.
fn zone_idx(i: usize) -> ZoneIdx {
    ZoneIdx(u8::try_from(i).unwrap_or(u8::MAX))
}

/// Reads one unsigned LEB128 value of at most 32 bits, advancing `pos`.
fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok();
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_and_reject_truncation() {
        let bytes = [0x00, 0x7f, 0x80, 0x01, 0xb8, 0x16, 0x80];
        let mut pos = 0;
        assert_eq!(read_varint(&bytes, &mut pos), Some(0));
        assert_eq!(read_varint(&bytes, &mut pos), Some(127));
        assert_eq!(read_varint(&bytes, &mut pos), Some(128));
        assert_eq!(read_varint(&bytes, &mut pos), Some(2872));
        assert_eq!(read_varint(&bytes, &mut pos), None);
    }

    #[test]
    fn a_table_with_trailing_bytes_is_rejected() {
        let mut bytes = vec![1u8; WEEKDAYS * WINDOWS];
        assert!(DemandTable::decode(&bytes, 1).is_ok());
        bytes.push(0);
        assert!(DemandTable::decode(&bytes, 1).is_err());
    }
}
