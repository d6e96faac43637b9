//! Reading values out of the Prometheus text exposition format that `GET /metrics` serves.

/// The sum of every sample of metric `name` in a Prometheus text exposition (all label sets),
/// or `None` if no sample of it is present.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    let samples = metric_samples(text, name);
    (!samples.is_empty()).then(|| samples.iter().map(|(_, v)| v).sum())
}

/// Every sample of metric `name` as `(labels, value)`, where `labels` is the text between the braces
/// (empty for a sample without labels). Comment lines (`# HELP`, `# TYPE`) are skipped; a sample line
/// is `name value [timestamp]` or `name{labels} value [timestamp]`.
pub fn metric_samples<'t>(text: &'t str, name: &str) -> Vec<(&'t str, f64)> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, rest) = if let Some(labels) = rest.strip_prefix('{') {
            match labels.rfind('}') {
                Some(end) => (&labels[..end], &labels[end + 1..]),
                None => continue,
            }
        } else if rest.starts_with([' ', '\t']) {
            ("", rest)
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
        samples.push((labels, value));
    }
    samples
}

/// The value of label `label` in a sample's label text (`a="x",b="y"`), if it has it.
pub fn label_value<'t>(labels: &'t str, label: &str) -> Option<&'t str> {
    labels.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == label).then(|| value.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP mqtt_messages_dropped_total Messages dropped.\n\
        # TYPE mqtt_messages_dropped_total counter\n\
        mqtt_messages_dropped_total{reason=\"refused\"} 7\n\
        mqtt_messages_dropped_total{reason=\"malformed\"} 2\n\
        mqtt_messages_dropped_total_other 100\n\
        location_updates_total 41 1700000000000\n";

    #[test]
    fn samples_are_read_with_their_labels_and_summed_by_metric_value() {
        let samples = metric_samples(TEXT, "mqtt_messages_dropped_total");
        assert_eq!(
            samples,
            vec![("reason=\"refused\"", 7.0), ("reason=\"malformed\"", 2.0)]
        );
        assert_eq!(label_value(samples[0].0, "reason"), Some("refused"));
        assert_eq!(label_value(samples[0].0, "code"), None);
        assert_eq!(metric_value(TEXT, "mqtt_messages_dropped_total"), Some(9.0));
        assert_eq!(metric_value(TEXT, "location_updates_total"), Some(41.0));
        assert_eq!(metric_value(TEXT, "absent_total"), None);
    }
}
