//! The truth file `tributary simulate --truth FILE` writes and `tributary verify` reads: NDJSON, one
//! JSON object per line, each tagged by `type`. Only types and (de)serialisation live here.
//!
//! - `reading`: a reading the target acknowledged (a 2xx in which it was not rejected, as new or as a
//!   duplicate of what it had), exactly once per identity (`deviceId`, `seq`), written when it was
//!   first acknowledged:
//!   `{"type":"reading","deviceId":"sim-k3x-00003","seq":17,"ts":1764176400123,
//!     "metrics":{"temperature":71.5,"vibration":0.021,"pressure":101.2},
//!     "labels":{"temperature":"spike"},"late":true,"ackedAtMs":1764176400150}`
//!   `ts` and `ackedAtMs` are epoch milliseconds (`ackedAtMs`: when the 202 arrived at the simulator);
//!   `labels` (metric → `spike` | `levelShift` | `drift` | `stuck`) and `late` are left out when empty
//!   or false. Resends, retries and invalid readings never add a line.
//! - `unacknowledged`: the same fields without `ackedAtMs`, for a reading whose every request failed
//!   after all retries. The target may or may not hold it; verify does not fail a window for it.
//! - `freshness`: one sample of time from the 202 to the reading being visible in
//!   `/api/devices/{id}/latest`:
//!   `{"type":"freshness","deviceId":"…","seq":17,"ts":…,"ackedAtMs":…,"visibleAtMs":…,"freshnessMs":38}`
//! - `summary`: the run's settings and counts, written last (absent if the simulator was killed).

use super::model::AnomalyKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One line of the truth file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum TruthLine {
    Reading(TruthReading),
    Unacknowledged(TruthReading),
    Freshness(FreshnessSample),
    Summary(RunSummary),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthReading {
    pub device_id: String,
    pub seq: u64,
    pub ts: i64,
    pub metrics: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, AnomalyKind>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreshnessSample {
    pub device_id: String,
    pub seq: u64,
    pub ts: i64,
    pub acked_at_ms: i64,
    pub visible_at_ms: i64,
    pub freshness_ms: i64,
}

/// What the simulator did, as counts; also its printed summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub target: String,
    pub seed: u64,
    pub tag: String,
    pub devices: u32,
    pub rate: f64,
    pub started_at_ms: i64,
    /// From the start until the last request holding a first send was answered, and until the end.
    pub sent_in_ms: i64,
    pub elapsed_ms: i64,
    /// Distinct readings sent (first sends).
    pub readings_sent: u64,
    /// Resends of already-sent readings.
    pub resent: u64,
    /// Invalid copies sent.
    pub invalid_sent: u64,
    /// Requests (first attempts) and retried attempts.
    pub requests: u64,
    pub retries: u64,
    /// Requests that never got a 2xx (or a 400 report) after all retries.
    pub failed_requests: u64,
    /// The target's own counts, summed over its responses.
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Distinct readings acknowledged (truth `reading` lines) and never acknowledged.
    pub acknowledged: u64,
    pub unacknowledged: u64,
    /// Disagreements with the ingest contract: invalid copies not rejected, valid readings rejected.
    pub invalid_accepted: u64,
    pub valid_rejected: u64,
    pub freshness_samples: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_line_round_trips_and_leaves_out_empty_labels_and_late() {
        let reading = TruthReading {
            device_id: "sim-t-00001".into(),
            seq: 3,
            ts: 1_764_176_400_123,
            metrics: [("temperature".to_owned(), 71.5)].into(),
            labels: BTreeMap::new(),
            late: false,
            acked_at_ms: Some(1_764_176_400_150),
        };
        let line = serde_json::to_string(&TruthLine::Reading(reading.clone())).unwrap();
        assert_eq!(
            line,
            r#"{"type":"reading","deviceId":"sim-t-00001","seq":3,"ts":1764176400123,"metrics":{"temperature":71.5},"ackedAtMs":1764176400150}"#
        );
        let back: TruthLine = serde_json::from_str(&line).unwrap();
        assert_eq!(back, TruthLine::Reading(reading));
    }

    #[test]
    fn labels_and_freshness_lines_have_the_documented_shape() {
        let line = r#"{"type":"freshness","deviceId":"d","seq":1,"ts":5,"ackedAtMs":6,"visibleAtMs":9,"freshnessMs":3}"#;
        let parsed: TruthLine = serde_json::from_str(line).unwrap();
        assert!(matches!(parsed, TruthLine::Freshness(_)));
        let labelled = r#"{"type":"reading","deviceId":"d","seq":1,"ts":5,"metrics":{"t":1.0},"labels":{"t":"levelShift"},"late":true,"ackedAtMs":6}"#;
        let TruthLine::Reading(r) = serde_json::from_str(labelled).unwrap() else {
            panic!("a reading line")
        };
        assert_eq!(r.labels["t"], AnomalyKind::LevelShift);
        assert!(r.late);
    }
}
