//! Identifier newtypes: device ids, metric names and reading identities.

use serde::{Deserialize, Serialize};
use std::fmt;

fn check_name(
    what: &str,
    value: &str,
    max: usize,
    allowed: fn(char) -> bool,
    allowed_text: &str,
) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    let len = value.chars().count();
    if len > max {
        return Err(format!(
            "{what} is {len} characters long; at most {max} are allowed"
        ));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{what} {value:?} contains {bad:?}; only {allowed_text} are allowed"
        ));
    }
    Ok(())
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A device's id: 1–128 characters of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DeviceId(String);
string_newtype!(DeviceId);

impl DeviceId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(value: &str) -> Result<Self, String> {
        check_name(
            "deviceId",
            value,
            Self::MAX_LEN,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'),
            "letters, digits and . _ : -",
        )?;
        Ok(Self(value.to_owned()))
    }
}

/// A metric's name: 1–64 characters of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MetricName(String);
string_newtype!(MetricName);

impl MetricName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(value: &str) -> Result<Self, String> {
        check_name(
            "metric name",
            value,
            Self::MAX_LEN,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
            "letters, digits and _ . -",
        )?;
        Ok(Self(value.to_owned()))
    }
}

/// A reading's identity within its device: the device's `id`, `seq:<n>`, or a content hash `h:<hex>`.
/// `(DeviceId, ReadingId)` is what makes a reading a duplicate, in every store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ReadingId(String);
string_newtype!(ReadingId);

impl ReadingId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() {
            return Err("id must not be empty".into());
        }
        let len = value.chars().count();
        if len > Self::MAX_LEN {
            return Err(format!(
                "id is {len} characters long; at most {} are allowed",
                Self::MAX_LEN
            ));
        }
        if value.chars().any(char::is_control) {
            return Err("id must not contain control characters".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub(crate) fn from_seq(seq: u64) -> Self {
        Self(format!("seq:{seq}"))
    }

    pub(crate) fn from_hash(hex: &str) -> Self {
        Self(format!("h:{hex}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_accepts_the_documented_alphabet() {
        assert!(DeviceId::parse("pump-0042.north_1:a").is_ok());
        assert!(DeviceId::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn device_id_rejects_empty_long_and_foreign_characters() {
        assert_eq!(
            DeviceId::parse("").unwrap_err(),
            "deviceId must not be empty"
        );
        assert!(DeviceId::parse(&"a".repeat(129))
            .unwrap_err()
            .contains("129 characters"));
        assert!(DeviceId::parse("pump 1").unwrap_err().contains("' '"));
        assert!(DeviceId::parse("pümp").is_err());
    }

    #[test]
    fn metric_name_rejects_colon_which_device_ids_allow() {
        assert!(MetricName::parse("temp.c_1-x").is_ok());
        assert!(MetricName::parse("a:b").is_err());
        assert!(MetricName::parse(&"m".repeat(65)).is_err());
    }
}
