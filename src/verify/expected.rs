//! Reading a truth file into what verify expects: window aggregates of the acknowledged readings,
//! counts of unacknowledged ones per window, the time range to query per device and metric, the
//! anomaly labels and the freshness samples. Pure over any `BufRead`.

use super::compare::{Agg, WindowKey, Windows};
use super::detection::Labelled;
use crate::simulate::truth::{RunSummary, TruthLine, TruthReading};
use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use tributary_core::process::WINDOW_MS;
use tributary_core::Timestamp;

#[derive(Debug, Default)]
pub struct Expected {
    pub windows: Windows,
    pub unacknowledged: BTreeMap<WindowKey, u64>,
    /// First and last window start per (device, metric): what to ask the target for.
    pub ranges: BTreeMap<(String, String), (i64, i64)>,
    pub labelled: Vec<Labelled>,
    /// (device, seq) of the acknowledged readings sent late.
    pub late: HashSet<(String, u64)>,
    pub freshness_ms: Vec<i64>,
    pub summary: Option<RunSummary>,
    pub readings: u64,
    /// Earliest `ts` of any reading: where to start looking for anomalies.
    pub first_ts: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    #[error("cannot read the truth file: {0}")]
    Io(#[from] std::io::Error),
    #[error("truth file line {line}: {message}")]
    Format { line: usize, message: String },
    #[error("the truth file holds no readings")]
    Empty,
}

impl Expected {
    pub fn load(reader: impl BufRead) -> Result<Self, TruthError> {
        let mut out = Self::default();
        let mut seen = HashSet::new();
        for (index, line) in reader.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let format = |message: String| TruthError::Format {
                line: index + 1,
                message,
            };
            let parsed: TruthLine =
                serde_json::from_str(&line).map_err(|e| format(e.to_string()))?;
            match parsed {
                TruthLine::Reading(r) | TruthLine::Unacknowledged(r)
                    if !seen.insert((r.device_id.clone(), r.seq)) =>
                {
                    return Err(format(format!(
                        "reading {} seq {} appears twice",
                        r.device_id, r.seq
                    )));
                }
                TruthLine::Reading(r) => out.add(r, true),
                TruthLine::Unacknowledged(r) => out.add(r, false),
                TruthLine::Freshness(s) => out.freshness_ms.push(s.freshness_ms),
                TruthLine::Summary(s) => out.summary = Some(s),
            }
        }
        if out.readings == 0 {
            return Err(TruthError::Empty);
        }
        Ok(out)
    }

    fn add(&mut self, r: TruthReading, acknowledged: bool) {
        let start_ms = Timestamp::from_millis(r.ts).floor(WINDOW_MS).millis();
        for (metric, value) in &r.metrics {
            let key = WindowKey {
                device_id: r.device_id.clone(),
                metric: metric.clone(),
                start_ms,
            };
            let range = self
                .ranges
                .entry((r.device_id.clone(), metric.clone()))
                .or_insert((start_ms, start_ms));
            *range = (range.0.min(start_ms), range.1.max(start_ms));
            if !acknowledged {
                *self.unacknowledged.entry(key).or_default() += 1;
                continue;
            }
            self.windows
                .entry(key)
                .and_modify(|a| a.add(*value))
                .or_insert_with(|| Agg::of(*value));
        }
        if acknowledged {
            self.readings += 1;
            if r.late {
                self.late.insert((r.device_id.clone(), r.seq));
            }
            self.first_ts = Some(self.first_ts.map_or(r.ts, |t| t.min(r.ts)));
            for (metric, kind) in r.labels {
                self.labelled.push(Labelled {
                    device_id: r.device_id.clone(),
                    metric,
                    seq: r.seq,
                    kind,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUTH: &str = r#"{"type":"reading","deviceId":"d","seq":1,"ts":60000,"metrics":{"t":1.0,"v":5.0},"labels":{"t":"spike"},"ackedAtMs":1}
{"type":"reading","deviceId":"d","seq":2,"ts":119999,"metrics":{"t":3.0,"v":5.0},"ackedAtMs":2}
{"type":"unacknowledged","deviceId":"d","seq":3,"ts":180000,"metrics":{"t":4.0,"v":5.0}}
{"type":"freshness","deviceId":"d","seq":2,"ts":119999,"ackedAtMs":2,"visibleAtMs":40,"freshnessMs":38}
{"type":"summary","target":"x","seed":1,"tag":"t","devices":1,"rate":1.0,"startedAtMs":0,"sentInMs":1,"elapsedMs":1,"readingsSent":3,"resent":0,"invalidSent":0,"requests":1,"retries":0,"failedRequests":1,"accepted":2,"duplicates":0,"rejected":0,"acknowledged":2,"unacknowledged":1,"invalidAccepted":0,"validRejected":0,"freshnessSamples":1}
"#;

    #[test]
    fn acknowledged_readings_make_windows_and_unacknowledged_ones_only_widen_the_range() {
        let e = Expected::load(TRUTH.as_bytes()).unwrap();
        let t = |start_ms| WindowKey {
            device_id: "d".into(),
            metric: "t".into(),
            start_ms,
        };
        assert_eq!(
            e.windows[&t(60_000)],
            Agg {
                count: 2,
                sum: 4.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(e.windows.len(), 2, "t and v, one minute each");
        assert_eq!(e.unacknowledged[&t(180_000)], 1);
        assert_eq!(e.ranges[&("d".into(), "t".into())], (60_000, 180_000));
        assert_eq!((e.readings, e.first_ts), (2, Some(60_000)));
        assert_eq!(e.labelled.len(), 1);
        assert_eq!(e.freshness_ms, vec![38]);
        assert_eq!(e.summary.unwrap().unacknowledged, 1);
    }

    #[test]
    fn a_reading_twice_or_a_broken_line_is_refused_with_its_line_number() {
        let twice = TRUTH
            .lines()
            .take(1)
            .chain(TRUTH.lines().take(1))
            .collect::<Vec<_>>()
            .join("\n");
        let err = Expected::load(twice.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("appears twice"),
            "{err}"
        );
        let err = Expected::load("{\"type\":\"nope\"}".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("truth file line 1:"), "{err}");
        assert!(matches!(
            Expected::load("".as_bytes()),
            Err(TruthError::Empty)
        ));
    }
}
