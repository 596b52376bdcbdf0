//! One-minute tumbling event-time windows per device and metric, and the merge that combines them.
//! `merge` is commutative and associative (property-tested), so late readings, replays in another
//! order and coarser roll-ups all give the same answer.

use crate::{DeviceId, MetricName, ScoredReading, Timestamp};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Width of the stored windows.
pub const WINDOW_MS: i64 = 60_000;

/// Which window a value belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowKey {
    pub device_id: DeviceId,
    pub metric: MetricName,
    pub start: Timestamp,
}

/// The aggregate of the values in one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowAggregate {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// The value with the latest event time, by the one rule for "latest" (`latest_order`).
    pub last: f64,
    pub last_ts: Timestamp,
    pub anomalies: u64,
}

impl WindowAggregate {
    pub fn of(value: f64, ts: Timestamp, anomaly: bool) -> Self {
        Self {
            count: 1,
            sum: value,
            min: value,
            max: value,
            last: value,
            last_ts: ts,
            anomalies: u64::from(anomaly),
        }
    }

    pub fn merge(&self, other: &Self) -> Self {
        let other_is_later =
            super::latest_order(other.last_ts, other.last, self.last_ts, self.last)
                == Ordering::Greater;
        let (last, last_ts) = if other_is_later {
            (other.last, other.last_ts)
        } else {
            (self.last, self.last_ts)
        };
        Self {
            count: self.count + other.count,
            sum: self.sum + other.sum,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            last,
            last_ts,
            anomalies: self.anomalies + other.anomalies,
        }
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

/// Folds readings into per-window aggregates.
pub fn aggregate<'a>(
    readings: impl IntoIterator<Item = &'a ScoredReading>,
) -> BTreeMap<WindowKey, WindowAggregate> {
    let mut windows: BTreeMap<WindowKey, WindowAggregate> = BTreeMap::new();
    for reading in readings {
        let start = reading.ts.floor(WINDOW_MS);
        for (metric, scored) in &reading.metrics {
            let one = WindowAggregate::of(scored.value, reading.ts, scored.anomaly);
            let key = WindowKey {
                device_id: reading.device_id.clone(),
                metric: metric.clone(),
                start,
            };
            windows
                .entry(key)
                .and_modify(|w| *w = w.merge(&one))
                .or_insert(one);
        }
    }
    windows
}
