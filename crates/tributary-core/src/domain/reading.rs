//! A validated reading, and the scored reading that analyze publishes (the event-log schema,
//! documented in `schemas/scored-reading.v1.json`).

use super::{DeviceId, MetricName, ReadingId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type Tags = BTreeMap<String, String>;

/// A reading that passed validation and has its identity. This is what the reading store holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reading {
    pub device_id: DeviceId,
    pub id: ReadingId,
    pub ts: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub metrics: BTreeMap<MetricName, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    /// When ingest accepted it (the 202), for freshness measurements.
    pub received_at: Timestamp,
}

/// One metric of a scored reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredValue {
    pub value: f64,
    /// How surely the value is anomalous, in [0, 1]: −log10 of the chance that normal behaviour
    /// looks at least this unusual, divided by 10 (0.4, the default threshold, ≈ one in 10,000), capped at 1.
    pub score: f64,
    pub anomaly: bool,
    /// What kind of anomaly, when `anomaly` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AnomalyKind>,
    /// The value the detector expected, once it has a baseline (absent when the metric is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    /// The band inside which a value would not have been flagged as a spike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

impl ScoredValue {
    /// A value with a score and flag and nothing else (no baseline, no kind).
    pub fn plain(value: f64, score: f64, anomaly: bool) -> Self {
        Self {
            value,
            score,
            anomaly,
            kind: None,
            expected: None,
            lower: None,
            upper: None,
        }
    }
}

/// Why a value was flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// One value far from the expected value, within the range seen so far.
    Spike,
    /// The values moved to a new level and stayed there.
    LevelShift,
    /// The values moved away from the expected value gradually.
    Drift,
    /// A normally varying metric repeating one value.
    Stuck,
    /// A value far outside the range seen so far.
    OutOfRange,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 5] = [
        Self::Spike,
        Self::LevelShift,
        Self::Drift,
        Self::Stuck,
        Self::OutOfRange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spike => "spike",
            Self::LevelShift => "level_shift",
            Self::Drift => "drift",
            Self::Stuck => "stuck",
            Self::OutOfRange => "out_of_range",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A reading with an anomaly score per metric: the message analyze publishes, keyed by device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoredReading {
    pub device_id: DeviceId,
    pub id: ReadingId,
    pub ts: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub metrics: BTreeMap<MetricName, ScoredValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    pub received_at: Timestamp,
}

impl ScoredReading {
    pub fn has_anomaly(&self) -> bool {
        self.metrics.values().any(|m| m.anomaly)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const SCHEMA: &str = include_str!("../../../../schemas/scored-reading.v1.json");

    fn scored() -> ScoredReading {
        ScoredReading {
            device_id: DeviceId::parse("pump-1").unwrap(),
            id: ReadingId::parse("m-1").unwrap(),
            ts: Timestamp::from_millis(1_764_176_400_123),
            seq: Some(7),
            metrics: [(
                MetricName::parse("t").unwrap(),
                ScoredValue {
                    value: 1.5,
                    score: 0.25,
                    anomaly: true,
                    kind: Some(AnomalyKind::LevelShift),
                    expected: Some(1.0),
                    lower: Some(0.5),
                    upper: Some(1.25),
                },
            )]
            .into(),
            tags: [("site".to_owned(), "north".to_owned())].into(),
            received_at: Timestamp::from_millis(1_764_176_400_200),
        }
    }

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    /// The published message has exactly the fields the consumer schema documents, and all required ones.
    #[test]
    fn the_event_message_matches_the_documented_schema_fields() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let message = serde_json::to_value(scored()).unwrap();
        assert_eq!(keys(&message), keys(&schema["properties"]));
        for required in schema["required"].as_array().unwrap() {
            assert!(
                message.get(required.as_str().unwrap()).is_some(),
                "{required} missing"
            );
        }
        let metric_schema = &schema["properties"]["metrics"]["additionalProperties"];
        assert_eq!(
            keys(&message["metrics"]["t"]),
            keys(&metric_schema["properties"])
        );
        assert_eq!(message["ts"], "2025-11-26T17:00:00.123Z");
        let back: ScoredReading = serde_json::from_value(message).unwrap();
        assert_eq!(back, scored());
    }
}
