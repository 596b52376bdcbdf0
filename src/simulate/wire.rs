//! The JSON a simulated device sends: a reading's wire form, and invalid copies of it, each breaking
//! one documented ingest rule. Pure.

use super::model::{SimReading, METRICS};
use serde_json::{json, Map, Value};
use tributary_core::Timestamp;

/// How an invalid copy is broken; each breaks one documented ingest rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKind {
    MissingTs,
    TextMetric,
    TooOld,
    FromTheFuture,
    BadDeviceId,
    NoMetrics,
    UnknownField,
}

impl InvalidKind {
    pub const ALL: [Self; 7] = [
        Self::MissingTs,
        Self::TextMetric,
        Self::TooOld,
        Self::FromTheFuture,
        Self::BadDeviceId,
        Self::NoMetrics,
        Self::UnknownField,
    ];

    /// A copy of `reading` broken this way. Its identity is the reading's, so a target that wrongly
    /// accepted it would turn the good reading into a "duplicate".
    pub fn corrupt(self, reading: &SimReading) -> Value {
        let mut v = wire(reading);
        let o = v.as_object_mut().expect("wire() builds an object");
        let shifted =
            |ms: i64| Value::from(Timestamp::from_millis(reading.ts_ms + ms).to_rfc3339());
        match self {
            Self::MissingTs => {
                o.remove("ts");
            }
            Self::TextMetric => {
                o.insert("metrics".into(), json!({"temperature": "hot"}));
            }
            Self::TooOld => {
                o.insert("ts".into(), shifted(-8 * 86_400_000));
            }
            Self::FromTheFuture => {
                o.insert("ts".into(), shifted(3_600_000));
            }
            Self::BadDeviceId => {
                o.insert("deviceId".into(), json!("bad device!"));
            }
            Self::NoMetrics => {
                o.insert("metrics".into(), json!({}));
            }
            Self::UnknownField => {
                o.insert("temp".into(), json!(1));
            }
        }
        v
    }
}

/// The JSON a device POSTs for `reading`.
pub fn wire(reading: &SimReading) -> Value {
    let metrics: Map<String, Value> = METRICS
        .iter()
        .zip(reading.values)
        .map(|(name, value)| ((*name).to_owned(), Value::from(value)))
        .collect();
    json!({
        "deviceId": &*reading.device_id,
        "ts": Timestamp::from_millis(reading.ts_ms).to_rfc3339(),
        "seq": reading.seq,
        "metrics": metrics,
    })
}
