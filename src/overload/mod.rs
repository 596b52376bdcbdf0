//! Bounds that make overload answered rather than absorbed: the budget of ingest bodies in flight,
//! the pipeline-lag gate, HTTP connection limits and timeouts, the in-memory cache's size, paging and
//! the live stream's buffer. Settings section `[overload]`; every bound has a default sized for `dev`.

mod body;
mod budget;
mod gate;

pub use body::{read_body, BodyRead};
pub use budget::{BodyBudget, Exhausted, Reservation};
pub use gate::{Admission, Refusal};

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OverloadSettings {
    /// Bytes of ingest request bodies in flight, counted after decompression; past it, 503.
    pub ingest_budget_bytes: usize,
    /// Ingest answers 503 while the change-feed or event-log lag (readings) exceeds this; 0: never.
    pub max_lag: u64,
    /// The `Retry-After` (seconds) sent with those 503s.
    pub retry_after_secs: u64,
    /// A connection that has not sent a whole request head within this is closed.
    pub header_read_timeout_ms: u64,
    /// A connection with no traffic for this long (no request in progress) is closed.
    pub idle_timeout_ms: u64,
    /// Connections served at once; 0: the open-file limit less `reserved_files`.
    pub max_connections: usize,
    /// File descriptors kept free for the stores, logs and outgoing connections.
    pub reserved_files: u64,
    /// Devices the in-memory latest cache keeps; the least recently updated are evicted past it.
    pub cache_max_devices: usize,
    /// `/api/devices` page size when the request names none, and the largest it may name.
    pub devices_page: usize,
    pub devices_page_max: usize,
    /// Live updates a `/api/stream` client may fall behind (and that a reconnect can resume).
    pub stream_buffer: usize,
}

impl Default for OverloadSettings {
    fn default() -> Self {
        Self {
            ingest_budget_bytes: 16 * 1024 * 1024,
            max_lag: 500_000,
            retry_after_secs: 2,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 0,
            reserved_files: 256,
            cache_max_devices: 20_000,
            devices_page: 1000,
            devices_page_max: 10_000,
            stream_buffer: 4096,
        }
    }
}

impl OverloadSettings {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms.max(1))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms.max(1))
    }
}
