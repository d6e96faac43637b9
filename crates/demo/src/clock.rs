//! Simulated time and the timestamps the server wants.
//!
//! The demo has two clocks. Simulated New York time drives the city (demand windows, travel
//! speeds, how long a drive lasts) and runs [`SimClock::speed`] times faster than real time.
//! Timestamps sent to the server are real wall-clock times, because the server judges them against
//! its own clock: at a speed above 1 the drivers therefore seem, to the server, to move faster than
//! cars do.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Simulated time: `start_unix` at the moment the clock was started, then `speed` simulated
/// seconds per real second (measured with tokio's clock, so `tokio::time::pause` controls it).
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    started: tokio::time::Instant,
    start_unix: f64,
    speed: f64,
}

impl SimClock {
    /// A clock reading `start_unix` (Unix seconds) now and running `speed` times faster than real
    /// time. A non-positive or non-finite speed is treated as 1.
    pub fn start(start_unix: f64, speed: f64) -> SimClock {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        SimClock {
            started: tokio::time::Instant::now(),
            start_unix,
            speed,
        }
    }

    /// Simulated seconds per real second.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The simulated time now, in Unix seconds.
    pub fn now(&self) -> f64 {
        self.start_unix + self.started.elapsed().as_secs_f64() * self.speed
    }

    /// The real duration that `sim_secs` simulated seconds take (zero for negative values).
    pub fn real_duration(&self, sim_secs: f64) -> Duration {
        Duration::try_from_secs_f64((sim_secs / self.speed).max(0.0)).unwrap_or(Duration::MAX)
    }

    /// The real duration until the simulated clock reads `sim_unix` (zero if it already has).
    pub fn real_until(&self, sim_unix: f64) -> Duration {
        self.real_duration(sim_unix - self.now())
    }
}

/// The real wall-clock time in Unix seconds (0 if the system clock is before 1970).
pub fn wall_clock_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Formats Unix seconds as an RFC 3339 UTC timestamp with milliseconds, the server's format:
/// `2026-11-28T12:00:00.000Z`. Values before 1970 or not finite print as the epoch.
pub fn rfc3339(unix_secs: f64) -> String {
    let millis_total = if unix_secs.is_finite() && unix_secs > 0.0 {
        // Saturating float-to-int conversion; far-future values are nonsense but harmless.
        (unix_secs * 1000.0).round() as i64
    } else {
        0
    };
    let (secs, millis) = (millis_total.div_euclid(1000), millis_total.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = doorstep_geo::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Reads an RFC 3339 UTC timestamp as the server writes it (`2026-11-28T12:00:00.000Z`, fraction
/// optional) into Unix seconds; `None` for anything else.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let rest = text.strip_suffix('Z')?;
    let (date, time) = rest.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let (hms, fraction) = match time.split_once('.') {
        Some((hms, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            (hms, format!("0.{f}").parse::<f64>().ok()?)
        }
        Some(_) => return None,
        None => (time, 0.0),
    };
    let mut t = hms.splitn(3, ':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let second: i64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..61).contains(&second)
    {
        return None;
    }
    let days = doorstep_geo::days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second) as f64 + fraction)
}
