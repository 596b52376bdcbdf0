//! The latest known value of each metric of a device, and the one rule for "latest" that `/latest`,
//! a window's `last`, PostgreSQL's upserts and Redis's merge script all follow.

use crate::{DeviceId, MetricName, ScoredReading, Timestamp};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The rule for "latest": the later event time wins; at equal event times the larger value, in IEEE
/// total order (so −0.0 < 0.0, and −2 < −1); then the larger score; then an anomaly over none. It is
/// a total order on finite values, so merging in any order, in any grouping, keeps the same value.
/// PostgreSQL mirrors it as `(ts, value, value::text <> '-0', score, score::text <> '-0', anomaly)`;
/// Redis compares [`LatestValue::order_key`]. The `ResultStore` conformance suite checks both.
pub fn latest_order(ts: Timestamp, value: f64, other_ts: Timestamp, other_value: f64) -> Ordering {
    ts.cmp(&other_ts)
        .then_with(|| value.total_cmp(&other_value))
}

/// A float's bits mapped so that unsigned order is IEEE total order.
fn total_order_bits(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

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

impl LatestValue {
    /// [`latest_order`], extended to the score and the flag so that no two different values tie.
    pub fn cmp_latest(&self, other: &Self) -> Ordering {
        latest_order(self.ts, self.value, other.ts, other.value)
            .then_with(|| self.score.total_cmp(&other.score))
            .then_with(|| self.anomaly.cmp(&other.anomaly))
    }

    /// The same order as a fixed-width hex string, for stores that compare strings (Redis's merge
    /// script): `a.order_key() > b.order_key()` exactly when `a.cmp_latest(b)` is `Greater`.
    pub fn order_key(&self) -> String {
        let ts = (self.ts.millis() as u64) ^ (1 << 63);
        format!(
            "{ts:016x}{:016x}{:016x}{}",
            total_order_bits(self.value),
            total_order_bits(self.score),
            u8::from(self.anomaly)
        )
    }
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

    /// Keeps, per metric, the latest value by [`LatestValue::cmp_latest`].
    pub fn merge(&mut self, other: &Self) {
        self.last_seen = self.last_seen.max(other.last_seen);
        for (name, theirs) in &other.metrics {
            self.metrics
                .entry(name.clone())
                .and_modify(|mine| {
                    if theirs.cmp_latest(mine) == Ordering::Greater {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value(ts: i64, value: f64, score: f64, anomaly: bool) -> LatestValue {
        LatestValue {
            value,
            ts: Timestamp::from_millis(ts),
            score,
            anomaly,
            kind: None,
            expected: None,
            lower: None,
            upper: None,
        }
    }

    #[test]
    fn at_equal_times_the_larger_value_wins_and_negative_zero_is_below_zero() {
        let cases = [
            (value(5, -1.0, 0.0, false), value(5, -2.0, 0.0, false)),
            (value(5, 0.0, 0.0, false), value(5, -0.0, 0.0, false)),
            (value(5, 1.0, 0.0, false), value(5, -3.0, 0.0, false)),
            (value(6, -9.0, 0.0, false), value(5, 9.0, 0.0, false)),
            (value(5, 1.0, 0.5, false), value(5, 1.0, 0.25, false)),
            (value(5, 1.0, 0.5, true), value(5, 1.0, 0.5, false)),
        ];
        for (later, earlier) in cases {
            assert_eq!(
                later.cmp_latest(&earlier),
                Ordering::Greater,
                "{later:?} {earlier:?}"
            );
            assert!(
                later.order_key() > earlier.order_key(),
                "{later:?} {earlier:?}"
            );
        }
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f64::MAX),
            Just(f64::MIN),
            Just(f64::MIN_POSITIVE),
            -1e6f64..1e6,
            any::<f64>().prop_filter("finite", |x| x.is_finite()),
        ]
    }

    proptest! {
        #[test]
        fn the_order_key_orders_exactly_as_the_rule(
            a in (-5i64..5, finite(), finite(), any::<bool>()),
            b in (-5i64..5, finite(), finite(), any::<bool>()),
        ) {
            let (a, b) = (value(a.0, a.1, a.2, a.3), value(b.0, b.1, b.2, b.3));
            prop_assert_eq!(a.cmp_latest(&b), a.order_key().cmp(&b.order_key()));
        }
    }
}
