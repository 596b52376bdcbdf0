//! Redis adapters: the latest-state cache (a hash per device, merged by event time in one Lua call per
//! device, pipelined) and the live feed across processes (pub/sub, fanned out locally). Losing Redis
//! loses nothing: the cache refills from new readings and reads fall back to the result store.

mod cache;
mod check;
mod connection;
mod keys;
mod live;

pub use cache::RedisLatestCache;
pub use check::check_access;
pub use connection::RedisConnection;
pub use keys::Keys;
pub use live::RedisLiveFeed;

use secrecy::SecretString;
use serde::Deserialize;
use tributary_core::PortError;

pub(crate) const BACKEND: &str = "Redis";

/// How to reach Redis and how long cached state lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port/db` or `rediss://…` for TLS (verified against the public
    /// roots, or `ca_file`). Never logged.
    pub url: SecretString,
    /// Prefix of every key and channel, so several deployments can share one Redis.
    pub prefix: String,
    /// Cached device state expires after this long without readings.
    pub ttl_secs: u64,
    /// Recent anomalies kept in the list.
    pub recent_anomalies: usize,
    /// `password` (in the URL, or none) or `entra`: a Microsoft Entra token as the password, for the
    /// identity named as the URL's user (Azure Managed Redis).
    pub auth: tributary_core::auth::Auth,
    /// PEM file of the CAs to trust for `rediss://` instead of the public roots built into the binary
    /// (a private CA; the tests' TLS Redis). Unset on Azure.
    pub ca_file: Option<std::path::PathBuf>,
}

/// The token scope for Azure Managed Redis and Azure Cache for Redis.
pub const ENTRA_SCOPE: &str = "https://redis.azure.com/.default";

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("redis://127.0.0.1:6379/0"),
            prefix: "tributary".into(),
            ttl_secs: 7 * 24 * 3600,
            recent_anomalies: 1000,
            auth: tributary_core::auth::Auth::Password,
            ca_file: None,
        }
    }
}

pub(crate) fn error(e: redis::RedisError) -> PortError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        PortError::unavailable(BACKEND, e)
    } else {
        PortError::broken(BACKEND, e)
    }
}
