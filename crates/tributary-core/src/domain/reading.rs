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
    /// How unusual the value is for this device and metric (a z-score; 0 during warm-up).
    pub score: f64,
    pub anomaly: bool,
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
