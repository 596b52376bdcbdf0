//! Redis adapters: the latest-state cache (a hash per device, merged by event time in one Lua call per
//! device, pipelined) and the live feed across processes (pub/sub, fanned out locally). Losing Redis
//! loses nothing: the cache refills from new readings and reads fall back to the result store.

mod cache;
mod keys;
mod live;

pub use cache::RedisLatestCache;
pub use keys::Keys;
pub use live::RedisLiveFeed;

use secrecy::SecretString;
use serde::Deserialize;
use tributary_core::PortError;

const BACKEND: &str = "Redis";

/// How to reach Redis and how long cached state lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port/db` or `rediss://…` for TLS. Never logged.
    pub url: SecretString,
    /// Prefix of every key and channel, so several deployments can share one Redis.
    pub prefix: String,
    /// Cached device state expires after this long without readings.
    pub ttl_secs: u64,
    /// Recent anomalies kept in the list.
    pub recent_anomalies: usize,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("redis://127.0.0.1:6379/0"),
            prefix: "tributary".into(),
            ttl_secs: 7 * 24 * 3600,
            recent_anomalies: 1000,
        }
    }
}

pub(crate) fn error(e: redis::RedisError) -> PortError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        PortError::unavailable(BACKEND, e)
    } else {
        PortError::failed(BACKEND, e)
    }
}

pub(crate) fn client(settings: &RedisSettings) -> Result<redis::Client, PortError> {
    use secrecy::ExposeSecret;
    redis::Client::open(settings.url.expose_secret())
        .map_err(|e| PortError::failed(BACKEND, format!("bad Redis URL: {}", e.kind_description())))
}

trait KindDescription {
    fn kind_description(&self) -> String;
}

impl KindDescription for redis::RedisError {
    /// The error without the URL it may quote.
    fn kind_description(&self) -> String {
        format!("{:?}", self.kind())
    }
}
