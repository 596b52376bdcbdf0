//! The wire form of a reading and its validation into a [`Reading`]. Every error message names the
//! field (and the metric or tag) at fault, so a device developer can fix the payload from it alone.

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
named_field!(metrics_map, BTreeMap<String, Value>, "metrics");
named_field!(tags_map, BTreeMap<String, Value>, "tags");

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

fn check_time(ts: Timestamp, limits: &IngestLimits, now: Timestamp) -> Result<(), String> {
    let ahead = ts.millis().saturating_sub(now.millis());
    if ahead > limits.max_future_ms {
        return Err(format!(
            "ts {ts} is {} s ahead of the server clock; at most {} s ahead is allowed",
            ahead / 1000,
            limits.max_future_ms / 1000
        ));
    }
    let age = -ahead;
    if age > limits.max_age_ms {
        return Err(format!(
            "ts {ts} is {} s old; readings at most {} s old are accepted",
            age / 1000,
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

    #[test]
    fn type_errors_name_the_field() {
        let err = check(r#"{"deviceId":5,"ts":1764176400000,"metrics":{"t":1}}"#).unwrap_err();
        assert!(
            err.starts_with("deviceId: invalid type: integer `5`"),
            "{err}"
        );
    }
}
