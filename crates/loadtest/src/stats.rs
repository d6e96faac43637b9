//! Latency summaries and the process's resident memory.

use serde::Serialize;

/// Count, mean and percentiles of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// How many were measured.
    pub count: usize,
    /// Arithmetic mean, µs.
    pub mean_us: f64,
    /// Median, µs.
    pub p50_us: f64,
    /// 99th percentile (nearest rank), µs.
    pub p99_us: f64,
    /// Largest, µs.
    pub max_us: f64,
}

impl LatencySummary {
    /// Summarises latencies given in nanoseconds (sorts them in place).
    pub fn from_nanos(samples: &mut [u64]) -> LatencySummary {
        if samples.is_empty() {
            return LatencySummary::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |q: f64| {
            let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
            samples[i] as f64 / 1000.0
        };
        let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
        LatencySummary {
            count: n,
            mean_us: sum as f64 / n as f64 / 1000.0,
            p50_us: rank(0.50),
            p99_us: rank(0.99),
            max_us: samples[n - 1] as f64 / 1000.0,
        }
    }
}

/// The resident set size of this process (`VmRSS` in `/proc/self/status`), in bytes; `None`
/// where that file does not exist (not Linux) or has no such line.
pub fn vm_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
