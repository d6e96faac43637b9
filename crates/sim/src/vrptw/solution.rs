//! Solutions in the VRPLIB `.sol` format: one `Route #k: c1 c2 ...` line per non-empty route (customers by
//! node index, the depot being 0 in these instances), then `Cost 827.3` (the DIMACS distance in units).

use std::fmt::Write as _;

use super::instance::units;

/// A solution as a `.sol` file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolFile {
    /// The routes in order (customer node indices).
    pub routes: Vec<Vec<usize>>,
    /// The `Cost` line in tenths, if the file has one.
    pub cost: Option<i64>,
}

/// A line of a `.sol` file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct SolError {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

/// The text of a `.sol` file: the non-empty routes numbered from 1, then the cost (tenths, printed in units).
pub fn write_sol(routes: &[Vec<usize>], cost: i64) -> String {
    let mut out = String::new();
    for (k, route) in routes.iter().filter(|r| !r.is_empty()).enumerate() {
        let _ = write!(out, "Route #{}:", k + 1);
        for c in route {
            let _ = write!(out, " {c}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Cost {:.1}", units(cost));
    out
}

/// Parses a `.sol` file: `Route #k: ...` lines and an optional `Cost x` line; other lines are refused.
pub fn read_sol(text: &str) -> Result<SolFile, SolError> {
    let mut routes = Vec::new();
    let mut cost = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |what: String| SolError { line: i + 1, what };
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Route #") {
            let (_, customers) = rest
                .split_once(':')
                .ok_or_else(|| err("expected `Route #k: customers`".to_owned()))?;
            let route = customers
                .split_whitespace()
                .map(|c| {
                    c.parse::<usize>()
                        .map_err(|_| err(format!("{c:?} is not a customer number")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            routes.push(route);
        } else if let Some(rest) = line.strip_prefix("Cost") {
            let value = rest.trim();
            let x: f64 = value
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| err(format!("cost {value:?} is not a number")))?;
            cost = Some((10.0 * x).round() as i64);
        } else {
            return Err(err(format!("expected a route or the cost, found {line:?}")));
        }
    }
    Ok(SolFile { routes, cost })
}
