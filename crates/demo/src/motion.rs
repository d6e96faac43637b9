//! Where a simulated car is while it drives: along Manhattan's street grid, at the speed the city's
//! travel-time model predicts.
//!
//! The city model measures distances as L1 in a frame rotated about 29° (avenues and streets), and
//! travel time as that distance over the mean speed between the two zones. A [`Leg`] follows the
//! same geometry: first along the grid's x axis, then along its y axis, so the path it reports is
//! exactly as long as [`City::l1_km`] and the fare the server computes from the reported positions
//! matches the distance the quote was based on.

use doorstep_geo::{City, Utm, new_york_local};

/// No simulated drive lasts longer than this (seconds), whatever the speed table says.
const MAX_LEG_SECS: f64 = 3.0 * 3600.0;

/// The orientation of the city's street grid, read from [`City::to_street_grid`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreetGrid {
    /// Cosine of the grid's rotation.
    cos: f64,
    /// Sine of the grid's rotation.
    sin: f64,
}

impl StreetGrid {
    /// The grid of `city`: the image of a unit step east under its street-grid rotation gives the
    /// cosine and sine of the angle, so the angle is not duplicated here.
    pub fn of(city: &City) -> StreetGrid {
        let origin = Utm {
            x: 585.0,
            y: 4510.0,
        };
        let a = city.to_street_grid(origin);
        let b = city.to_street_grid(Utm {
            x: origin.x + 1.0,
            y: origin.y,
        });
        let (cos, sin) = (b.x - a.x, b.y - a.y);
        let norm = cos.hypot(sin);
        if norm.is_finite() && norm > 0.0 {
            StreetGrid {
                cos: cos / norm,
                sin: sin / norm,
            }
        } else {
            StreetGrid { cos: 1.0, sin: 0.0 }
        }
    }

    /// The turning point of the L-shaped grid path from `from` to `to`: the point reached after
    /// covering the whole grid-x part of the trip.
    pub fn corner(&self, from: Utm, to: Utm) -> Utm {
        let (dx, dy) = (to.x - from.x, to.y - from.y);
        // The grid-x component of the displacement, mapped back into UTM.
        let u = self.cos * dx - self.sin * dy;
        Utm {
            x: from.x + self.cos * u,
            y: from.y - self.sin * u,
        }
    }
}

/// One drive from `from` to `to`, departing at a simulated time and lasting a given duration at
/// constant speed along the grid path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    from: Utm,
    corner: Utm,
    to: Utm,
    depart_at: f64,
    duration_s: f64,
}

impl Leg {
    /// A drive from `from` to `to` departing at `depart_at` (simulated Unix seconds) and lasting
    /// `duration_s` seconds (negative or non-finite durations count as zero: the car is there).
    pub fn new(grid: &StreetGrid, from: Utm, to: Utm, depart_at: f64, duration_s: f64) -> Leg {
        let duration_s = if duration_s.is_finite() {
            duration_s.clamp(0.0, MAX_LEG_SECS)
        } else {
            0.0
        };
        Leg {
            from,
            corner: grid.corner(from, to),
            to,
            depart_at,
            duration_s,
        }
    }

    /// A drive lasting the city's mean travel time from `from` to `to` at the New York time of day
    /// of `depart_at`.
    pub fn plan(city: &City, grid: &StreetGrid, from: Utm, to: Utm, depart_at: f64) -> Leg {
        let time_of_day = new_york_local(depart_at.floor() as i64).seconds_of_day;
        let duration = city.mean_travel_secs(from, to, time_of_day);
        Leg::new(grid, from, to, depart_at, duration)
    }

    /// Where the drive ends.
    pub fn destination(&self) -> Utm {
        self.to
    }

    /// How long the drive takes, in simulated seconds.
    pub fn duration_s(&self) -> f64 {
        self.duration_s
    }

    /// When the car arrives, in simulated Unix seconds.
    pub fn arrives_at(&self) -> f64 {
        self.depart_at + self.duration_s
    }

    /// Whether the car has arrived at simulated time `t`.
    pub fn is_done(&self, t: f64) -> bool {
        t >= self.arrives_at()
    }

    /// Where the car is at simulated time `t`: `from` before departure, `to` after arrival, and in
    /// between on the grid path at the share of its length that the share of time elapsed gives.
    pub fn position_at(&self, t: f64) -> Utm {
        let progress = if self.duration_s > 0.0 {
            ((t - self.depart_at) / self.duration_s).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let first = distance(self.from, self.corner);
        let second = distance(self.corner, self.to);
        let total = first + second;
        if total <= 0.0 || progress >= 1.0 {
            return if progress >= 1.0 { self.to } else { self.from };
        }
        let covered = progress * total;
        if covered < first {
            lerp(self.from, self.corner, covered / first)
        } else if second > 0.0 {
            lerp(self.corner, self.to, (covered - first) / second)
        } else {
            self.to
        }
    }
}

fn distance(a: Utm, b: Utm) -> f64 {
    (b.x - a.x).hypot(b.y - a.y)
}

fn lerp(a: Utm, b: Utm, share: f64) -> Utm {
    Utm {
        x: a.x + (b.x - a.x) * share,
        y: a.y + (b.y - a.y) * share,
    }
}
