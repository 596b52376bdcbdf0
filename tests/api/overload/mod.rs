//! Overload is answered, not absorbed: the ingest budget and lag gate (503 + Retry-After, nothing
//! acknowledged lost), connection timeouts and limit, `/api/devices` paging and `/api/stream` gaps.

mod connections;
mod ingest;
mod query;

pub use crate::helpers::spawn_app_configured as spawn_with;
