//! Parsing of query-string and path values shared by the query functions, with 400s that say which
//! parameter is wrong.

use crate::http_error::ApiError;
use tributary_core::{DeviceId, Timestamp};

pub fn device_id(raw: &str) -> Result<DeviceId, ApiError> {
    DeviceId::parse(raw).map_err(ApiError::BadRequest)
}

/// An instant given as RFC 3339 or epoch milliseconds; `default` when absent.
pub fn instant(name: &str, raw: Option<&str>, default: Timestamp) -> Result<Timestamp, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(default);
    };
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(Timestamp::from_millis(ms));
    }
    Timestamp::parse_rfc3339(raw).map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))
}

pub fn limit(raw: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match raw {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "limit must be a whole number from 1 to {max}; got {text:?}"
            ))),
        },
    }
}
