//! The wire form of a reading and its validation into a [`Reading`]. Every error message names the
//! field (and the metric or tag) at fault, so a device developer can fix the payload from it alone.

use super::unique_map::unique_map;
use super::{identity_of, IngestLimits};
use crate::{DeviceId, MetricName, Reading, ReadingId, Timestamp};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// Most tags a reading may carry, and the longest tag value.
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG_VALUE_LEN: usize = 256;
pub const MAX_METRICS: usize = 64;
/// Largest magnitude of a metric value. Every stage stays finite below it: the detector squares
/// differences of two values (at most (2e150)² = 4e300), and sums of up to 1e158 values fit an f64,
/// so no window sum, mean or score can reach infinity (which JSON cannot carry).
pub const MAX_ABS_VALUE: f64 = 1e150;

/// A reading as a device sends it. Required fields are optional here so that their absence gets a
/// message of ours; unknown fields are refused by serde with their name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WireReading {
    #[serde(default, deserialize_with = "device_id")]
    device_id: Option<String>,
    #[serde(default, deserialize_with = "ts")]
    ts: Option<Timestamp>,
    #[serde(default, deserialize_with = "seq")]
    seq: Option<u64>,
    #[serde(default, deserialize_with = "id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "metrics_map")]
    metrics: Option<BTreeMap<String, Value>>,
    #[serde(default, deserialize_with = "tags_map")]
    tags: Option<BTreeMap<String, Value>>,
}

macro_rules! named_field {
    ($fn:ident, $ty:ty, $name:literal) => {
        fn $fn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            <$ty>::deserialize(d)
                .map(Some)
                .map_err(|e| D::Error::custom(format!(concat!($name, ": {}"), e)))
        }
    };
}
named_field!(device_id, String, "deviceId");
named_field!(ts, Timestamp, "ts");
named_field!(seq, u64, "seq");
named_field!(id, String, "id");

macro_rules! unique_field {
    ($fn:ident, $name:literal) => {
        fn $fn<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<BTreeMap<String, Value>>, D::Error> {
            unique_map(d)
                .map(Some)
                .map_err(|e| D::Error::custom(format!(concat!($name, ": {}"), e)))
        }
    };
}
unique_field!(metrics_map, "metrics");
unique_field!(tags_map, "tags");

/// Validates one wire reading against the limits at `now` and gives it its identity.
pub fn validate(
    wire: WireReading,
    limits: &IngestLimits,
    now: Timestamp,
) -> Result<Reading, String> {
    let device_id = DeviceId::parse(&wire.device_id.ok_or("deviceId is required")?)?;
    let ts = wire.ts.ok_or("ts is required")?;
    check_time(ts, limits, now)?;
    let id = wire.id.as_deref().map(ReadingId::parse).transpose()?;
    let metrics = metrics(wire.metrics.ok_or("metrics is required")?)?;
    let tags = tags(wire.tags.unwrap_or_default())?;
    let id = identity_of(&device_id, id, wire.seq, ts, &metrics);
    Ok(Reading {
        device_id,
        id,
        ts,
        seq: wire.seq,
        metrics,
        tags,
        received_at: now,
    })
}

/// `ts` must lie in `[now − max_age, now + max_future]`. The bounds and distances are computed in
/// i128, where no clock, limit or timestamp can overflow into acceptance (a negative limit accepts
/// nothing on its side); parsing already keeps `ts` in years 0000–9999.
fn check_time(ts: Timestamp, limits: &IngestLimits, now: Timestamp) -> Result<(), String> {
    let ahead = i128::from(ts.millis()) - i128::from(now.millis());
    if ahead > i128::from(limits.max_future_ms) {
        return Err(format!(
            "ts {ts} is {} s ahead of the server clock; at most {} s ahead is allowed",
            ahead / 1000,
            limits.max_future_ms / 1000
        ));
    }
    if -ahead > i128::from(limits.max_age_ms) {
        return Err(format!(
            "ts {ts} is {} s old; readings at most {} s old are accepted",
            -ahead / 1000,
            limits.max_age_ms / 1000
        ));
    }
    Ok(())
}

fn metrics(raw: BTreeMap<String, Value>) -> Result<BTreeMap<MetricName, f64>, String> {
    if raw.is_empty() {
        return Err("metrics must have at least one entry".into());
    }
    if raw.len() > MAX_METRICS {
        return Err(format!(
            "metrics has {} entries; at most {MAX_METRICS} are allowed",
            raw.len()
        ));
    }
    raw.into_iter()
        .map(|(name, value)| {
            let metric = MetricName::parse(&name).map_err(|e| format!("metrics: {e}"))?;
            let number = value
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("metrics.{name}: expected a finite number, got {value}"))?;
            if number.abs() > MAX_ABS_VALUE {
                return Err(format!(
                    "metrics.{name}: {number:e} is out of range; values from -1e150 to 1e150 are accepted"
                ));
            }
            Ok((metric, number))
        })
        .collect()
}

fn tags(raw: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, String> {
    if raw.len() > MAX_TAGS {
        return Err(format!(
            "tags has {} entries; at most {MAX_TAGS} are allowed",
            raw.len()
        ));
    }
    raw.into_iter()
        .map(|(key, value)| {
            // Tag keys follow the metric-name alphabet; the message says "tag name".
            MetricName::parse(&key)
                .map_err(|e| format!("tags: {}", e.replace("metric name", "tag name")))?;
            match value {
                Value::String(text) if text.chars().count() <= MAX_TAG_VALUE_LEN => Ok((key, text)),
                Value::String(_) => Err(format!(
                    "tags.{key}: value is longer than {MAX_TAG_VALUE_LEN} characters"
                )),
                other => Err(format!("tags.{key}: expected a string, got {other}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_764_176_400_000);

    fn check(json: &str) -> Result<Reading, String> {
        let wire: WireReading = serde_json::from_str(json).map_err(|e| e.to_string())?;
        validate(wire, &IngestLimits::default(), NOW)
    }

    #[test]
    fn a_full_reading_validates_and_keeps_its_fields() {
        let r = check(
            r#"{"deviceId":"pump-1","ts":1764176400000,"seq":7,"metrics":{"t":1.5,"v":2},"tags":{"site":"n"}}"#,
        )
        .unwrap();
        assert_eq!(r.id.as_str(), "seq:7");
        assert_eq!(r.metrics.len(), 2);
        assert_eq!(r.tags["site"], "n");
        assert_eq!(r.received_at, NOW);
    }

    /// The issue's hostile reading: `now - i64::MIN` overflowed and it was accepted, then no stage
    /// could read it back.
    #[test]
    fn timestamps_at_the_ends_of_i64_are_rejected_not_wrapped() {
        for ts in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 0] {
            let err = check(&format!(
                r#"{{"deviceId":"x","ts":{ts},"metrics":{{"t":1}}}}"#
            ))
            .unwrap_err();
            assert!(err.starts_with("ts"), "{ts}: {err}");
        }
    }

    #[test]
    fn limits_near_the_ends_of_i64_cannot_overflow_into_acceptance() {
        let wide = IngestLimits {
            max_future_ms: i64::MAX,
            max_age_ms: i64::MAX,
            ..IngestLimits::default()
        };
        for (ts, ok) in [(Timestamp::MIN, true), (Timestamp::MAX, true)] {
            assert_eq!(check_time(ts, &wide, NOW).is_ok(), ok, "{ts}");
        }
        let negative = IngestLimits {
            max_future_ms: i64::MIN,
            max_age_ms: i64::MIN,
            ..IngestLimits::default()
        };
        assert!(check_time(NOW, &negative, NOW).is_err());
    }

    /// Regression (timestamp fuzz target, crash-f7c38c40): with a negative `max_age_ms` whose
    /// `now − max_age` overflowed, the earliest bound fell back to year 0000 and a reading from 1970
    /// was accepted.
    #[test]
    fn a_negative_age_limit_whose_bound_overflows_accepts_nothing_old() {
        let limits = IngestLimits {
            max_future_ms: 7_957_419_012_188_434_030,
            max_age_ms: -3_444_569_344_406_819_218,
            ..IngestLimits::default()
        };
        let now = Timestamp::from_millis(7_983_418_469_472_418_093);
        let err = check_time(Timestamp::from_millis(5808), &limits, now).unwrap_err();
        assert!(err.contains("s old"), "{err}");
    }

    #[test]
    fn values_beyond_the_documented_bound_are_rejected_by_name() {
        assert!(check(r#"{"deviceId":"x","ts":1764176400000,"metrics":{"t":-1e150}}"#).is_ok());
        let err = check(r#"{"deviceId":"x","ts":1764176400000,"metrics":{"t":1.0000001e150}}"#)
            .unwrap_err();
        assert!(
            err.starts_with("metrics.t: 1.0000001e150 is out of range"),
            "{err}"
        );
        let err =
            check(r#"{"deviceId":"x","ts":1764176400000,"metrics":{"t":1e309}}"#).unwrap_err();
        assert!(err.starts_with("metrics"), "{err}");
    }

    #[test]
    fn a_repeated_metric_or_tag_name_is_rejected_by_name() {
        let err = check(r#"{"deviceId":"x","ts":1764176400000,"metrics":{"t":1,"\u0074":2}}"#)
            .unwrap_err();
        assert!(
            err.starts_with(r#"metrics: "t" appears more than once"#),
            "{err}"
        );
        let err = check(
            r#"{"deviceId":"x","ts":1764176400000,"metrics":{"t":1},"tags":{"a":"1","a":"1"}}"#,
        )
        .unwrap_err();
        assert!(
            err.starts_with(r#"tags: "a" appears more than once"#),
            "{err}"
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = check(r#"{"deviceId":5,"ts":1764176400000,"metrics":{"t":1}}"#).unwrap_err();
        assert!(
            err.starts_with("deviceId: invalid type: integer `5`"),
            "{err}"
        );
    }
}
