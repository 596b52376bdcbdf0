//! The latest known value of each metric of a device, merged by event time.

use crate::{DeviceId, MetricName, ScoredReading, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A metric's most recent value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatestValue {
    pub value: f64,
    pub ts: Timestamp,
    pub score: f64,
    pub anomaly: bool,
    /// The detector's judgement of this value (see `ScoredValue`); absent before detector v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::AnomalyKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

/// A device's latest state: what `/api/devices` lists and `/api/devices/{id}/latest` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceLatest {
    pub device_id: DeviceId,
    /// Latest event time seen from the device.
    pub last_seen: Timestamp,
    pub metrics: BTreeMap<MetricName, LatestValue>,
}

impl DeviceLatest {
    pub fn from_reading(r: &ScoredReading) -> Self {
        Self {
            device_id: r.device_id.clone(),
            last_seen: r.ts,
            metrics: r
                .metrics
                .iter()
                .map(|(name, s)| {
                    let latest = LatestValue {
                        value: s.value,
                        ts: r.ts,
                        score: s.score,
                        anomaly: s.anomaly,
                        kind: s.kind,
                        expected: s.expected,
                        lower: s.lower,
                        upper: s.upper,
                    };
                    (name.clone(), latest)
                })
                .collect(),
        }
    }

    /// Keeps, per metric, the value with the later event time (ties: the larger value).
    pub fn merge(&mut self, other: &Self) {
        self.last_seen = self.last_seen.max(other.last_seen);
        for (name, theirs) in &other.metrics {
            self.metrics
                .entry(name.clone())
                .and_modify(|mine| {
                    let later =
                        (theirs.ts, theirs.value.to_bits()) > (mine.ts, mine.value.to_bits());
                    if theirs.ts > mine.ts || (theirs.ts == mine.ts && later) {
                        *mine = *theirs;
                    }
                })
                .or_insert(*theirs);
        }
    }
}

/// The latest state per device that a batch of readings implies.
pub fn latest_by_device<'a>(
    readings: impl IntoIterator<Item = &'a ScoredReading>,
) -> BTreeMap<DeviceId, DeviceLatest> {
    let mut out: BTreeMap<DeviceId, DeviceLatest> = BTreeMap::new();
    for r in readings {
        let one = DeviceLatest::from_reading(r);
        match out.get_mut(&r.device_id) {
            Some(existing) => existing.merge(&one),
            None => {
                out.insert(r.device_id.clone(), one);
            }
        }
    }
    out
}
