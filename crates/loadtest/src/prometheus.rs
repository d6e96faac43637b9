//! Reading one value out of the Prometheus text exposition format that `GET /metrics` serves.

/// The sum of every sample of metric `name` in a Prometheus text exposition (all label sets),
/// or `None` if no sample of it is present. Comment lines (`# HELP`, `# TYPE`) are skipped; a
/// sample line is `name value [timestamp]` or `name{labels} value [timestamp]`.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    let mut total = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let rest = if let Some(labels) = rest.strip_prefix('{') {
            match labels.rfind('}') {
                Some(end) => &labels[end + 1..],
                None => continue,
            }
        } else if rest.starts_with([' ', '\t']) {
            rest
        } else {
            // Another metric whose name starts with `name` (e.g. `name_bucket`).
            continue;
        };
        let Some(value) = rest.split_whitespace().next() else {
            continue;
        };
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => match v.parse::<f64>() {
                Ok(v) => v,
                Err(_) => continue,
            },
        };
        total = Some(total.unwrap_or(0.0) + value);
    }
    total
}
