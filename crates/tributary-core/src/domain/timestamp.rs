//! Event time as whole milliseconds since the Unix epoch, written as RFC 3339 UTC with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z. Sub-millisecond precision is truncated on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The wall clock. Only edges call this; stage functions take `now` as an argument.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| Self(t.timestamp_millis()))
            .map_err(|e| format!("{text:?} is not an RFC 3339 timestamp ({e})"))
    }

    /// Start of the `width_ms` window holding this instant (floor, also before 1970).
    pub fn floor(self, width_ms: i64) -> Self {
        Self(self.0 - self.0.rem_euclid(width_ms))
    }

    pub fn saturating_add_ms(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    pub fn to_rfc3339(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => self.0.to_string(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// Accepts an RFC 3339 string or whole epoch milliseconds.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Millis(i64),
            Text(String),
            Other(serde_json::Value),
        }
        match Raw::deserialize(d)? {
            Raw::Millis(ms) => Ok(Self(ms)),
            Raw::Text(text) => Self::parse_rfc3339(&text).map_err(serde::de::Error::custom),
            Raw::Other(v) => Err(serde::de::Error::custom(format!(
                "expected an RFC 3339 string or whole epoch milliseconds, got {v}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_with_offset_to_utc_millis() {
        let t = Timestamp::parse_rfc3339("2026-11-26T18:00:00.123+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-26T17:00:00.123Z");
    }

    #[test]
    fn deserializes_epoch_millis_and_rejects_fractions() {
        let t: Timestamp = serde_json::from_str("1764176400123").unwrap();
        assert_eq!(t.millis(), 1_764_176_400_123);
        let err = serde_json::from_str::<Timestamp>("1.5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole epoch milliseconds"), "{err}");
    }

    #[test]
    fn floor_handles_instants_before_the_epoch() {
        assert_eq!(Timestamp::from_millis(-1).floor(60_000).millis(), -60_000);
        assert_eq!(
            Timestamp::from_millis(119_999).floor(60_000).millis(),
            60_000
        );
    }
}
