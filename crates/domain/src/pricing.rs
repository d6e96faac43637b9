//! Fares: base + per kilometre + per minute, times the surge multiplier of the pickup area, plus a booking
//! fee, never below a minimum. All arithmetic is in integer minor units; the multiplier is in per mille.

use crate::money::{Currency, Money, MoneyError};
use serde::{Deserialize, Serialize};

/// A surge multiplier in per mille: 1000 is 1.0×, 1500 is 1.5×.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SurgeMillis(pub u32);

impl SurgeMillis {
    /// No surge (1.0×).
    pub const NONE: SurgeMillis = SurgeMillis(1000);
    /// The highest multiplier any [`SurgePolicy`] may allow (3.0×).
    pub const CAP: SurgeMillis = SurgeMillis(3000);

    /// The target of an area's surge from its open requests (`demand`) and available drivers (`supply`),
    /// before stepping and hysteresis: 1.0× while supply covers demand, then +0.5× per unit of excess
    /// demand ratio, rounded down to 0.1×, capped at [`SurgeMillis::CAP`]. [`SurgePolicy::next`] moves a
    /// live multiplier toward it one step at a time.
    pub fn from_demand_supply(demand: u32, supply: u32) -> SurgeMillis {
        if demand <= supply || demand < 3 {
            return SurgeMillis::NONE;
        }
        if supply == 0 {
            return SurgeMillis::CAP;
        }
        // 1000 + 500 × (demand/supply − 1), computed in integers and rounded down to 100.
        let excess = (u64::from(demand) - u64::from(supply)) * 500 / u64::from(supply);
        let raw = 1000 + excess;
        let stepped = raw - raw % 100;
        SurgeMillis(u32::try_from(stepped.min(u64::from(Self::CAP.0))).unwrap_or(Self::CAP.0))
    }
}

/// How an area's surge moves: in small steps, with hysteresis, under a cap.
///
/// Demand and supply are sampled at each update (the app updates an area at most once per
/// `step_interval`). The multiplier rises one step only while the ratio of demand to supply is at or
/// above `rise_ratio_pm` and the target ([`SurgeMillis::from_demand_supply`]) is higher, falls one step
/// only while the ratio is at or below `fall_ratio_pm`, and otherwise stays: between the two thresholds
/// nothing moves, so a ratio that wobbles around one threshold does not make prices flicker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurgePolicy {
    /// One step, in per mille (100 = 0.1×).
    pub step_millis: u32,
    /// The highest multiplier charged (at most [`SurgeMillis::CAP`]).
    pub cap: SurgeMillis,
    /// Demand per supply, per mille, at or above which the multiplier may rise (1500 = 1.5 requests per car).
    pub rise_ratio_pm: u32,
    /// Demand per supply, per mille, at or below which the multiplier falls (1000 = a car per request).
    pub fall_ratio_pm: u32,
    /// The fewest open requests that can raise the multiplier (a lone request is no rush).
    pub min_demand: u32,
    /// Seconds between two steps of one area.
    pub step_interval_secs: i64,
}

impl Default for SurgePolicy {
    /// 0.1× steps at most every 30 s, rising at 1.5 requests per car, falling at 1 or fewer, capped at 2.0×.
    fn default() -> Self {
        Self {
            step_millis: 100,
            cap: SurgeMillis(2000),
            rise_ratio_pm: 1500,
            fall_ratio_pm: 1000,
            min_demand: 3,
            step_interval_secs: 30,
        }
    }
}

impl SurgePolicy {
    /// Demand per supply in per mille (no supply: as high as it gets).
    fn ratio_pm(demand: u32, supply: u32) -> u64 {
        if supply == 0 {
            if demand == 0 { 0 } else { u64::MAX }
        } else {
            u64::from(demand) * 1000 / u64::from(supply)
        }
    }

    /// The multiplier after one update of an area whose multiplier is `current`, given its `demand`
    /// and `supply` now: one step up, one step down, or unchanged (see [`SurgePolicy`]). The answer is
    /// always within 1.0× and the cap, whatever `current` was.
    pub fn next(&self, current: SurgeMillis, demand: u32, supply: u32) -> SurgeMillis {
        let cap = self.cap.min(SurgeMillis::CAP).max(SurgeMillis::NONE);
        let current = current.clamp(SurgeMillis::NONE, cap);
        let step = self.step_millis.max(1);
        let ratio = Self::ratio_pm(demand, supply);
        let target = SurgeMillis::from_demand_supply(demand, supply).min(cap);
        if demand >= self.min_demand && ratio >= u64::from(self.rise_ratio_pm) && target > current {
            SurgeMillis((current.0 + step).min(target.0))
        } else if ratio <= u64::from(self.fall_ratio_pm) && current > SurgeMillis::NONE {
            SurgeMillis(current.0.saturating_sub(step).max(SurgeMillis::NONE.0))
        } else {
            current
        }
    }
}

/// The tariff of a city. Amounts are in `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingConfig {
    /// Currency of every amount below.
    pub currency: Currency,
    /// Flag-fall, in minor units.
    pub base_minor: i64,
    /// Per kilometre of trip distance, in minor units.
    pub per_km_minor: i64,
    /// Per minute of trip time, in minor units.
    pub per_minute_minor: i64,
    /// Flat booking fee added after surge, in minor units.
    pub booking_fee_minor: i64,
    /// Minimum total fare, in minor units.
    pub minimum_fare_minor: i64,
    /// Platform commission on a fare, in basis points (2000 = 20 %).
    pub commission_bps: i64,
    /// Seconds after assignment during which a rider cancels for free.
    pub free_cancel_secs: i64,
    /// Fee a rider pays when cancelling after the free window, in minor units.
    pub cancel_fee_minor: i64,
    /// How long a quote can be turned into a ride, in seconds.
    pub quote_ttl_secs: i64,
}

impl Default for PricingConfig {
    /// A Manhattan-like tariff in USD.
    fn default() -> Self {
        Self {
            currency: Currency::USD,
            base_minor: 300,
            per_km_minor: 175,
            per_minute_minor: 50,
            booking_fee_minor: 250,
            minimum_fare_minor: 800,
            commission_bps: 2000,
            free_cancel_secs: 120,
            cancel_fee_minor: 500,
            quote_ttl_secs: 300,
        }
    }
}

/// What one line of a fare is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FareLineKind {
    /// Flag-fall.
    Base,
    /// Distance charge.
    Distance,
    /// Time charge.
    Time,
    /// Surge on base + distance + time.
    Surge,
    /// Flat booking fee.
    BookingFee,
    /// Top-up to the minimum fare.
    MinimumFare,
    /// The change that brought a final fare into its band around the quote ([`bound_fare`]): negative
    /// when capped, positive when raised.
    BandAdjustment,
}

/// One itemised line of a fare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FareLine {
    /// What the line is for.
    pub kind: FareLineKind,
    /// Its amount.
    pub amount: Money,
}

/// An itemised fare: the lines sum to `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FareBreakdown {
    /// Itemised lines, in a stable order; zero lines are omitted except base.
    pub lines: Vec<FareLine>,
    /// The fare the rider pays.
    pub total: Money,
    /// The surge multiplier applied.
    pub surge: SurgeMillis,
    /// Trip distance the fare is based on, in metres.
    pub distance_m: u32,
    /// Trip time the fare is based on, in seconds.
    pub duration_s: u32,
}

/// Prices a trip of `distance_m` metres and `duration_s` seconds at `surge`.
pub fn price_trip(
    config: &PricingConfig,
    distance_m: u32,
    duration_s: u32,
    surge: SurgeMillis,
) -> Result<FareBreakdown, MoneyError> {
    let c = config.currency;
    let base = Money::new(config.base_minor, c);
    let distance = Money::new(config.per_km_minor, c).scaled(i64::from(distance_m), 1000)?;
    let time = Money::new(config.per_minute_minor, c).scaled(i64::from(duration_s), 60)?;
    let subtotal = base.checked_add(distance)?.checked_add(time)?;
    let surge_amount = subtotal.scaled(i64::from(surge.0) - 1000, 1000)?;
    let booking = Money::new(config.booking_fee_minor, c);
    let before_minimum = subtotal.checked_add(surge_amount)?.checked_add(booking)?;
    let top_up = Money::new((config.minimum_fare_minor - before_minimum.minor).max(0), c);
    let total = before_minimum.checked_add(top_up)?;

    let mut lines = vec![FareLine {
        kind: FareLineKind::Base,
        amount: base,
    }];
    for (kind, amount) in [
        (FareLineKind::Distance, distance),
        (FareLineKind::Time, time),
        (FareLineKind::Surge, surge_amount),
        (FareLineKind::BookingFee, booking),
        (FareLineKind::MinimumFare, top_up),
    ] {
        if amount.minor != 0 {
            lines.push(FareLine { kind, amount });
        }
    }
    Ok(FareBreakdown {
        lines,
        total,
        surge,
        distance_m,
        duration_s,
    })
}

/// How far a final fare may stray from its quote, in per cent of the quoted total.
///
/// The final fare is priced from the positions the driver's phone reported, which the rider cannot check;
/// the band bounds what a faulty or dishonest phone can do to the rider (the maximum) and to the driver
/// (the minimum) while leaving room for real detours and traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FareBand {
    /// The lowest final fare of a trip that ended at its drop-off, per cent of the quote.
    pub min_pct: u32,
    /// The highest final fare, per cent of the quote.
    pub max_pct: u32,
}

impl Default for FareBand {
    /// 50 % to 200 % of the quote. A trip priced at twice its quote took twice the quoted distance and
    /// time at the quote's surge: beyond that a fault is likelier than a detour, and a rider is never
    /// charged more than twice what they agreed to. A trip that really reached its drop-off but is priced
    /// at less than half its quote lost its positions on the way (a phone without signal), not distance.
    fn default() -> Self {
        Self {
            min_pct: 50,
            max_pct: 200,
        }
    }
}

/// Why a final fare was changed to fit its band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FareAdjustment {
    /// The fare from the reported trip was above the band: it was capped at the maximum.
    CappedAtMaximum,
    /// The fare from the reported trip of a ride that ended at its drop-off was below the band: it was
    /// raised to the minimum.
    RaisedToMinimum,
}

impl FareAdjustment {
    /// Every reason.
    pub const ALL: [FareAdjustment; 2] = [
        FareAdjustment::CappedAtMaximum,
        FareAdjustment::RaisedToMinimum,
    ];

    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FareAdjustment::CappedAtMaximum => "capped_at_maximum",
            FareAdjustment::RaisedToMinimum => "raised_to_minimum",
        }
    }

    /// Parses the name produced by [`FareAdjustment::as_str`].
    pub fn parse(s: &str) -> Option<FareAdjustment> {
        FareAdjustment::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Brings `fare` into `band` around `quoted`: above the maximum it is capped; below the minimum it is
/// raised, but only when `raise_to_minimum` (a trip that ended early pays for what was driven). The change
/// is a [`FareLineKind::BandAdjustment`] line, so the lines still sum to the total; the distance and time
/// the fare was computed from are kept. Returns the fare and why it changed, if it did.
pub fn bound_fare(
    quoted: &FareBreakdown,
    mut fare: FareBreakdown,
    band: FareBand,
    raise_to_minimum: bool,
) -> Result<(FareBreakdown, Option<FareAdjustment>), MoneyError> {
    let max = quoted.total.scaled(i64::from(band.max_pct), 100)?;
    let min = quoted.total.scaled(i64::from(band.min_pct), 100)?;
    let (target, why) = if fare.total.minor > max.minor {
        (max, FareAdjustment::CappedAtMaximum)
    } else if raise_to_minimum && fare.total.minor < min.minor {
        (min, FareAdjustment::RaisedToMinimum)
    } else {
        return Ok((fare, None));
    };
    let change = target.checked_sub(fare.total)?;
    fare.lines.push(FareLine {
        kind: FareLineKind::BandAdjustment,
        amount: change,
    });
    fare.total = target;
    Ok((fare, Some(why)))
}

/// Why a final fare differs from its quote, one reason of a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FareDifference {
    /// What differed.
    pub reason: FareDifferenceReason,
    /// The quote's value (metres or seconds; none for a band adjustment or the minimum fare).
    pub quoted: Option<u32>,
    /// The trip's value.
    pub actual: Option<u32>,
}

/// What made a final fare differ from its quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FareDifferenceReason {
    /// The trip was longer than the quoted route (metres).
    LongerRoute,
    /// The trip was shorter than the quoted route (metres).
    ShorterRoute,
    /// The trip took longer than quoted: traffic, waiting, stops (seconds).
    LongerTime,
    /// The trip took less time than quoted (seconds).
    ShorterTime,
    /// The fare was topped up to the minimum fare.
    MinimumFare,
    /// The fare was capped at the top of the band around the quote.
    CappedAtMaximum,
    /// The fare was raised to the bottom of the band around the quote.
    RaisedToMinimum,
}

impl FareDifferenceReason {
    /// The stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FareDifferenceReason::LongerRoute => "longer_route",
            FareDifferenceReason::ShorterRoute => "shorter_route",
            FareDifferenceReason::LongerTime => "longer_time",
            FareDifferenceReason::ShorterTime => "shorter_time",
            FareDifferenceReason::MinimumFare => "minimum_fare",
            FareDifferenceReason::CappedAtMaximum => "capped_at_maximum",
            FareDifferenceReason::RaisedToMinimum => "raised_to_minimum",
        }
    }
}

/// Why `final_fare` differs from `quoted`: distance and time that differ by more than 10 % (and more
/// than 200 m or 60 s), the minimum fare when only the final fare needed it, and the band adjustment.
/// Empty when the totals are equal.
pub fn explain_final_fare(
    quoted: &FareBreakdown,
    final_fare: &FareBreakdown,
    adjustment: Option<FareAdjustment>,
) -> Vec<FareDifference> {
    let mut out = Vec::new();
    if quoted.total == final_fare.total {
        return out;
    }
    let differs = |q: u32, a: u32, floor: u32| q.abs_diff(a) > floor.max(q / 10);
    let (qd, ad) = (quoted.distance_m, final_fare.distance_m);
    if differs(qd, ad, 200) {
        out.push(FareDifference {
            reason: if ad > qd {
                FareDifferenceReason::LongerRoute
            } else {
                FareDifferenceReason::ShorterRoute
            },
            quoted: Some(qd),
            actual: Some(ad),
        });
    }
    let (qt, at) = (quoted.duration_s, final_fare.duration_s);
    if differs(qt, at, 60) {
        out.push(FareDifference {
            reason: if at > qt {
                FareDifferenceReason::LongerTime
            } else {
                FareDifferenceReason::ShorterTime
            },
            quoted: Some(qt),
            actual: Some(at),
        });
    }
    let has_minimum =
        |f: &FareBreakdown| f.lines.iter().any(|l| l.kind == FareLineKind::MinimumFare);
    if has_minimum(final_fare) && !has_minimum(quoted) {
        out.push(FareDifference {
            reason: FareDifferenceReason::MinimumFare,
            quoted: None,
            actual: None,
        });
    }
    if let Some(a) = adjustment {
        out.push(FareDifference {
            reason: match a {
                FareAdjustment::CappedAtMaximum => FareDifferenceReason::CappedAtMaximum,
                FareAdjustment::RaisedToMinimum => FareDifferenceReason::RaisedToMinimum,
            },
            quoted: None,
            actual: None,
        });
    }
    out
}

/// The platform's commission on `fare` at `commission_bps`, rounded half away from zero.
pub fn commission(fare: Money, commission_bps: i64) -> Result<Money, MoneyError> {
    fare.scaled(commission_bps, 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_three_km_ten_minute_trip_is_itemised() {
        let fare = price_trip(&PricingConfig::default(), 3000, 600, SurgeMillis::NONE);
        let fare = fare.unwrap_or_else(|e| panic!("{e}"));
        // 300 base + 525 distance + 500 time + 250 booking.
        assert_eq!(fare.total.minor, 1575);
        assert_eq!(fare.lines.len(), 4);
    }

    #[test]
    fn a_short_trip_is_topped_up_to_the_minimum_fare() {
        let fare = price_trip(&PricingConfig::default(), 100, 30, SurgeMillis::NONE);
        let fare = fare.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fare.total.minor, 800);
        assert!(
            fare.lines
                .iter()
                .any(|l| l.kind == FareLineKind::MinimumFare)
        );
    }

    #[test]
    fn surge_is_one_while_supply_covers_demand_and_capped_above() {
        assert_eq!(SurgeMillis::from_demand_supply(5, 10), SurgeMillis::NONE);
        assert_eq!(SurgeMillis::from_demand_supply(20, 10), SurgeMillis(1500));
        assert_eq!(SurgeMillis::from_demand_supply(50, 0), SurgeMillis::CAP);
        assert_eq!(SurgeMillis::from_demand_supply(1000, 1), SurgeMillis::CAP);
    }

    #[test]
    fn a_receipt_says_why_the_final_fare_differs_from_the_quote() {
        let c = PricingConfig::default();
        let price =
            |d, t| price_trip(&c, d, t, SurgeMillis::NONE).unwrap_or_else(|e| panic!("{e}"));
        let quoted = price(2400, 600);
        assert!(explain_final_fare(&quoted, &quoted.clone(), None).is_empty());
        let longer = price(3100, 620);
        assert_eq!(
            explain_final_fare(&quoted, &longer, None),
            vec![FareDifference {
                reason: FareDifferenceReason::LongerRoute,
                quoted: Some(2400),
                actual: Some(3100)
            }]
        );
        let slow = price(2450, 1200);
        let reasons: Vec<_> = explain_final_fare(&quoted, &slow, None)
            .iter()
            .map(|d| d.reason.as_str())
            .collect();
        assert_eq!(reasons, ["longer_time"]);
        let huge = price(9000, 2000);
        let (capped, why) =
            bound_fare(&quoted, huge, FareBand::default(), true).unwrap_or_else(|e| panic!("{e}"));
        let reasons: Vec<_> = explain_final_fare(&quoted, &capped, why)
            .iter()
            .map(|d| d.reason.as_str())
            .collect();
        assert_eq!(
            reasons,
            ["longer_route", "longer_time", "capped_at_maximum"]
        );
    }

    #[test]
    fn surge_rises_one_small_step_per_update_toward_its_target() {
        let p = SurgePolicy::default();
        // 12 requests, 4 cars: the target is 2.0×, reached in ten steps of 0.1×, never in one jump.
        let mut s = SurgeMillis::NONE;
        let mut seen = Vec::new();
        for _ in 0..12 {
            s = p.next(s, 12, 4);
            seen.push(s.0);
        }
        assert_eq!(
            seen,
            [
                1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000, 2000, 2000
            ]
        );
    }

    #[test]
    fn surge_has_hysteresis_between_its_thresholds() {
        let p = SurgePolicy::default();
        let s = SurgeMillis(1500);
        // 6 requests, 5 cars: 1.2 per car, between the fall (1.0) and rise (1.5) thresholds: it stays.
        assert_eq!(p.next(s, 6, 5), s);
        // 7 requests, 5 cars: 1.4 per car, still below the rise threshold, although demand exceeds supply.
        assert_eq!(p.next(SurgeMillis::NONE, 7, 5), SurgeMillis::NONE);
        // 5 requests, 5 cars: at the fall threshold it comes down one step at a time.
        assert_eq!(p.next(s, 5, 5), SurgeMillis(1400));
        assert_eq!(p.next(SurgeMillis(1400), 0, 9), SurgeMillis(1300));
        // A ratio wobbling across the rise threshold (2.5, then 1.4 per car) moves it one step up, then holds.
        let up = p.next(s, 10, 4);
        assert_eq!(up, SurgeMillis(1600));
        assert_eq!(p.next(up, 7, 5), up);
        // Above the threshold but already at its target (8 requests, 5 cars: 1.3×), it holds too.
        assert_eq!(p.next(s, 8, 5), s);
        // Never below 1.0×.
        assert_eq!(p.next(SurgeMillis::NONE, 0, 10), SurgeMillis::NONE);
        // Two requests are no rush, whatever the supply.
        assert_eq!(p.next(SurgeMillis::NONE, 2, 0), SurgeMillis::NONE);
    }

    #[test]
    fn surge_never_passes_its_cap() {
        let p = SurgePolicy {
            cap: SurgeMillis(1300),
            ..SurgePolicy::default()
        };
        let mut s = SurgeMillis::NONE;
        for _ in 0..50 {
            s = p.next(s, 100, 0);
            assert!(s <= SurgeMillis(1300));
        }
        assert_eq!(s, SurgeMillis(1300));
        // A multiplier above a lowered cap is brought under it at once.
        assert_eq!(p.next(SurgeMillis(2500), 100, 0), SurgeMillis(1300));
        // A cap set above the platform's ceiling is held to it.
        let wild = SurgePolicy {
            cap: SurgeMillis(9000),
            ..SurgePolicy::default()
        };
        let mut s = SurgeMillis::NONE;
        for _ in 0..100 {
            s = wild.next(s, 1000, 0);
        }
        assert_eq!(s, SurgeMillis::CAP);
    }

    #[test]
    fn a_fare_above_the_band_is_capped_and_one_below_is_raised_only_at_the_drop_off() {
        let c = PricingConfig::default();
        let quoted = price_trip(&c, 3000, 600, SurgeMillis::NONE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(quoted.total.minor, 1575);
        let band = FareBand::default();
        // A phone that claims 5,000 km.
        let huge =
            price_trip(&c, 5_000_000, 900, SurgeMillis::NONE).unwrap_or_else(|e| panic!("{e}"));
        let (capped, why) =
            bound_fare(&quoted, huge.clone(), band, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(capped.total.minor, 3150);
        assert_eq!(why, Some(FareAdjustment::CappedAtMaximum));
        assert_eq!(capped.distance_m, huge.distance_m);
        let sum: i64 = capped.lines.iter().map(|l| l.amount.minor).sum();
        assert_eq!(sum, capped.total.minor);
        // A tiny trip: raised at the drop-off, kept as it is after an early end.
        let tiny = price_trip(&c, 10, 10, SurgeMillis::NONE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tiny.total.minor, 800);
        let (raised, why) = bound_fare(
            &quoted,
            tiny.clone(),
            FareBand {
                min_pct: 80,
                max_pct: 200,
            },
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (raised.total.minor, why),
            (1260, Some(FareAdjustment::RaisedToMinimum))
        );
        let (kept, why) = bound_fare(
            &quoted,
            tiny.clone(),
            FareBand {
                min_pct: 80,
                max_pct: 200,
            },
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((kept, why), (tiny, None));
    }

    proptest! {
        #[test]
        fn bounded_fares_stay_in_the_band_and_their_lines_sum_to_the_total(d in 0u32..10_000_000, t in 0u32..100_000, qd in 0u32..50_000) {
            let c = PricingConfig::default();
            let quoted = price_trip(&c, qd, qd / 8, SurgeMillis::NONE).unwrap_or_else(|e| panic!("{e}"));
            let fare = price_trip(&c, d, t, SurgeMillis::NONE).unwrap_or_else(|e| panic!("{e}"));
            let (bounded, _) = bound_fare(&quoted, fare, FareBand::default(), true).unwrap_or_else(|e| panic!("{e}"));
            let sum: i64 = bounded.lines.iter().map(|l| l.amount.minor).sum();
            prop_assert_eq!(sum, bounded.total.minor);
            prop_assert!(bounded.total.minor <= quoted.total.minor * 2);
            prop_assert!(2 * bounded.total.minor >= quoted.total.minor);
        }

        #[test]
        fn surge_stays_within_one_and_the_cap_and_moves_at_most_one_step(c in 900u32..4000, d in 0u32..200, s in 0u32..200) {
            let p = SurgePolicy::default();
            let before = SurgeMillis(c).clamp(SurgeMillis::NONE, p.cap);
            let next = p.next(SurgeMillis(c), d, s);
            prop_assert!(next >= SurgeMillis::NONE && next <= p.cap);
            prop_assert!(next.0.abs_diff(before.0) <= p.step_millis);
        }

        #[test]
        fn fare_lines_always_sum_to_the_total(d in 0u32..200_000, t in 0u32..20_000, s in 1000u32..=3000) {
            let fare = price_trip(&PricingConfig::default(), d, t, SurgeMillis(s)).unwrap_or_else(|e| panic!("{e}"));
            let sum: i64 = fare.lines.iter().map(|l| l.amount.minor).sum();
            prop_assert_eq!(sum, fare.total.minor);
            prop_assert!(fare.total.minor >= PricingConfig::default().minimum_fare_minor);
        }

        #[test]
        fn fares_never_decrease_with_distance_time_or_surge(d in 0u32..100_000, t in 0u32..10_000, s in 1000u32..3000) {
            let c = PricingConfig::default();
            let f = |d, t, s| price_trip(&c, d, t, SurgeMillis(s)).map(|f| f.total.minor).unwrap_or(0);
            prop_assert!(f(d + 1000, t, s) >= f(d, t, s));
            prop_assert!(f(d, t + 60, s) >= f(d, t, s));
            prop_assert!(f(d, t, s + 100) >= f(d, t, s));
        }
    }
}
