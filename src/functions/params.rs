//! Parsing of query-string and path values shared by the query functions, with 400s that say which
//! parameter is wrong.

use crate::http_error::ApiError;
use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use tributary_core::{DeviceId, Timestamp};

pub fn device_id(raw: &str) -> Result<DeviceId, ApiError> {
    DeviceId::parse(raw).map_err(ApiError::BadRequest)
}

/// The `{id}` path segment as a device id; a segment that is not even text (`%FF`) is the same JSON
/// 400 as a bad id, not axum's plain-text rejection.
pub fn path_device_id(id: Result<Path<String>, PathRejection>) -> Result<DeviceId, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::BadRequest(format!("device id: {}", e.body_text())))?;
    device_id(&id)
}

/// An instant given as RFC 3339 or epoch milliseconds (years 0000–9999, so window arithmetic on
/// it cannot wrap); `default` when absent.
pub fn instant(name: &str, raw: Option<&str>, default: Timestamp) -> Result<Timestamp, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(default);
    };
    if let Ok(ms) = raw.parse::<i64>() {
        return Timestamp::try_from_millis(ms)
            .map_err(|e| ApiError::BadRequest(format!("{name}: {e}")));
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
