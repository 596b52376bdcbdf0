//! Reading a detect input CSV: the header (a `timestamp` column, numeric metric columns, optionally a
//! `label` column), each row's time in any of the accepted formats, and errors that name the line
//! and column. Writing the scored output row.

use anyhow::{anyhow, bail};
use chrono::NaiveDateTime;
use tributary_core::{MetricName, ScoredValue};

pub const TIMESTAMP: &str = "timestamp";
pub const LABEL: &str = "label";
/// Output fields added per metric, in order.
pub const FIELDS: [&str; 6] = ["score", "anomaly", "kind", "expected", "lower", "upper"];

/// Which column is what.
#[derive(Debug, Clone)]
pub struct Layout {
    pub timestamp: usize,
    /// The truth column, read only when labels are asked for.
    pub label: Option<usize>,
    /// (column index, metric name) of every metric.
    pub metrics: Vec<(usize, MetricName)>,
}

impl Layout {
    /// Reads the header. With `labels`, a `label` column is the truth, not a metric.
    pub fn parse(header: &csv::StringRecord, labels: bool) -> anyhow::Result<Self> {
        let mut timestamp = None;
        let mut label = None;
        let mut metrics = Vec::new();
        for (i, name) in header.iter().enumerate() {
            let name = name.trim();
            if name == TIMESTAMP {
                if timestamp.replace(i).is_some() {
                    bail!("line 1, column {}: a second `timestamp` column", i + 1);
                }
            } else if labels && name == LABEL {
                label = Some(i);
            } else {
                let metric = MetricName::parse(name).map_err(|e| {
                    anyhow!(
                        "line 1, column {}: {name:?} is not a metric name ({e})",
                        i + 1
                    )
                })?;
                metrics.push((i, metric));
            }
        }
        let timestamp = timestamp.ok_or_else(|| anyhow!("line 1: no `timestamp` column"))?;
        if metrics.is_empty() {
            bail!("line 1: no metric column besides `timestamp`");
        }
        if labels && label.is_none() {
            bail!("line 1: --labels needs a `label` column");
        }
        Ok(Self {
            timestamp,
            label,
            metrics,
        })
    }

    /// The output header: the input's, then the scores (bare names with one metric).
    pub fn output_header(&self, input: &csv::StringRecord) -> Vec<String> {
        let mut out: Vec<String> = input.iter().map(str::to_owned).collect();
        for (_, metric) in &self.metrics {
            for field in FIELDS {
                out.push(if self.metrics.len() == 1 {
                    field.to_owned()
                } else {
                    format!("{metric}.{field}")
                });
            }
        }
        out
    }
}

/// Epoch milliseconds from RFC 3339, whole epoch milliseconds, or `YYYY-MM-DD HH:MM:SS[.fff]` (UTC).
pub fn parse_time(text: &[u8]) -> Result<i64, String> {
    let text = std::str::from_utf8(text)
        .map_err(|_| "not UTF-8".to_owned())?
        .trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| {
            format!("{text:?} is not a time (RFC 3339, epoch milliseconds, or YYYY-MM-DD HH:MM:SS)")
        })
}

/// A metric cell: empty means no value in this row; otherwise a finite number.
pub fn parse_value(text: &[u8]) -> Result<Option<f64>, String> {
    let text = std::str::from_utf8(text)
        .map_err(|_| "not UTF-8".to_owned())?
        .trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!("{text:?} is not a finite number")),
    }
}

/// Appends one metric's scores to `row` (empty fields when the row had no value).
pub fn push_scores(row: &mut csv::ByteRecord, scored: Option<&ScoredValue>, buf: &mut ryu::Buffer) {
    let Some(s) = scored else {
        for _ in FIELDS {
            row.push_field(b"");
        }
        return;
    };
    row.push_field(buf.format(s.score).as_bytes());
    row.push_field(if s.anomaly { b"1" } else { b"0" });
    row.push_field(s.kind.map_or("", |k| k.as_str()).as_bytes());
    for v in [s.expected, s.lower, s.upper] {
        match v {
            Some(v) => row.push_field(buf.format(v).as_bytes()),
            None => row.push_field(b""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_all_three_formats_and_bad_ones_say_what_is_accepted() {
        let t = 1_793_577_600_000;
        assert_eq!(parse_time(b"1793577600000"), Ok(t));
        assert_eq!(parse_time(b"2026-11-02T00:00:00Z"), Ok(t));
        assert_eq!(parse_time(b"2026-11-02T01:00:00+01:00"), Ok(t));
        assert_eq!(parse_time(b"2026-11-02 00:00:00"), Ok(t));
        assert_eq!(parse_time(b"2026-11-02 00:00:00.250"), Ok(t + 250));
        assert!(parse_time(b"yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn a_header_needs_a_timestamp_and_valid_metric_names() {
        let h = |cols: &[&str]| csv::StringRecord::from(cols.to_vec());
        let layout = Layout::parse(&h(&["timestamp", "temp", "rpm"]), false).unwrap();
        assert_eq!(layout.metrics.len(), 2);
        assert_eq!(
            layout.output_header(&h(&["timestamp", "temp", "rpm"]))[3],
            "temp.score"
        );
        let one = Layout::parse(&h(&["value", "timestamp"]), false).unwrap();
        assert_eq!(one.output_header(&h(&["value", "timestamp"]))[2], "score");
        let err = Layout::parse(&h(&["time", "v"]), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `timestamp` column"), "{err}");
        let err = Layout::parse(&h(&["timestamp", "a b"]), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("column 2"), "{err}");
        assert!(Layout::parse(&h(&["timestamp", "v"]), true).is_err());
    }
}
