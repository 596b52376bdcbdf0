//! Event time as whole milliseconds since the Unix epoch, written as RFC 3339 UTC with milliseconds.
//! Every timestamp parsed from outside lies in years 0000–9999, the range RFC 3339 can write, so it
//! survives every store's round trip and window arithmetic on it cannot overflow.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z. Sub-millisecond precision is truncated on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 0000-01-01T00:00:00.000Z, the earliest instant RFC 3339 can write.
    pub const MIN: Self = Self(-62_167_219_200_000);
    /// 9999-12-31T23:59:59.999Z, the latest instant RFC 3339 can write.
    pub const MAX: Self = Self(253_402_300_799_999);

    /// An instant the caller knows is in range (constants, clocks, arithmetic on valid timestamps).
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Epoch milliseconds from outside: refused unless between [`Self::MIN`] and [`Self::MAX`].
    pub fn try_from_millis(ms: i64) -> Result<Self, String> {
        if (Self::MIN.0..=Self::MAX.0).contains(&ms) {
            Ok(Self(ms))
        } else {
            Err(format!(
                "{ms} is outside the epoch milliseconds RFC 3339 can write ({} to {}, years 0000 to 9999)",
                Self::MIN.0,
                Self::MAX.0
            ))
        }
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The wall clock. Only edges call this; stage functions take `now` as an argument.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// An RFC 3339 instant; an offset that moves it out of years 0000–9999 in UTC is refused.
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        let t = DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("{text:?} is not an RFC 3339 timestamp ({e})"))?;
        Self::try_from_millis(t.timestamp_millis())
            .map_err(|_| format!("{text:?} is outside years 0000 to 9999 in UTC"))
    }

    /// `self + ms`, or `None` if that leaves [`Self::MIN`]..=[`Self::MAX`].
    pub fn checked_add_ms(self, ms: i64) -> Option<Self> {
        self.0
            .checked_add(ms)
            .filter(|t| (Self::MIN.0..=Self::MAX.0).contains(t))
            .map(Self)
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
            Raw::Millis(ms) => Self::try_from_millis(ms).map_err(serde::de::Error::custom),
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
    fn the_range_ends_are_exactly_what_rfc3339_can_write() {
        assert_eq!(Timestamp::MIN.to_rfc3339(), "0000-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_rfc3339(), "9999-12-31T23:59:59.999Z");
        for t in [Timestamp::MIN, Timestamp::MAX] {
            assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t));
        }
    }

    #[test]
    fn millis_outside_the_range_are_refused_not_wrapped() {
        for ms in [
            i64::MIN,
            i64::MAX,
            Timestamp::MIN.millis() - 1,
            Timestamp::MAX.millis() + 1,
        ] {
            let err = serde_json::from_str::<Timestamp>(&ms.to_string())
                .unwrap_err()
                .to_string();
            assert!(err.contains("years 0000 to 9999"), "{err}");
        }
        assert_eq!(Timestamp::MAX.checked_add_ms(1), None);
        assert_eq!(Timestamp::MIN.checked_add_ms(-1), None);
        assert_eq!(Timestamp::MIN.checked_add_ms(i64::MIN), None);
    }

    /// A valid RFC 3339 text whose offset moves it before year 0000 in UTC would be written back as
    /// "-0001-…", which no RFC 3339 parser reads: the stored reading could never be read again.
    #[test]
    fn an_offset_that_leaves_the_range_is_refused() {
        let err = Timestamp::parse_rfc3339("0000-01-01T00:00:00+01:00").unwrap_err();
        assert!(err.contains("outside years 0000 to 9999"), "{err}");
        assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-00:01").is_err());
        assert!(Timestamp::parse_rfc3339("0000-01-01T00:00:00-01:00").is_ok());
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
