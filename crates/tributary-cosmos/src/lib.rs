//! Azure Cosmos DB (NoSQL API) adapters on the official SDK: the reading store (one document per
//! accepted reading, partitioned by `/deviceId`, created only if its identity is new) with its change
//! feed, and the leases through which analyze instances share that feed. No stage logic lives here.

mod connect;
mod document;
mod leases;
mod store;

pub use connect::CosmosDb;
pub use document::{cosmos_id, reading_from_document, reading_id_from_cosmos, unreadable_document};
pub use leases::CosmosFeedLeases;
pub use store::CosmosReadingStore;

use azure_data_cosmos::CosmosError;
use secrecy::SecretString;
use serde::Deserialize;
use tributary_core::PortError;

pub(crate) const BACKEND: &str = "Cosmos DB";

/// The token scope for Cosmos DB data-plane access with Microsoft Entra ID.
pub const ENTRA_SCOPE: &str = "https://cosmos.azure.com/.default";

/// How the account authenticates us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CosmosAuth {
    /// The account's primary or secondary key (`key`).
    #[default]
    Key,
    /// Microsoft Entra ID (workload identity, managed identity or developer credentials), with the
    /// Cosmos DB Built-in Data Contributor role on the account.
    Entra,
}

/// Where the readings and leases live, and how hard to try before giving up on a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CosmosSettings {
    /// The account endpoint, `https://<account>.documents.azure.com:443/`. Plain `http` is accepted
    /// for localhost only (emulators and the test server).
    pub endpoint: String,
    pub auth: CosmosAuth,
    /// The account key, for `auth = "key"`. Never logged.
    pub key: Option<SecretString>,
    pub database: String,
    /// Readings, partitioned by `/deviceId`.
    pub readings_container: String,
    /// Change-feed leases, partitioned by `/id`.
    pub leases_container: String,
    /// Create the database and containers if they do not exist (off in production, where Bicep
    /// creates them with their throughput).
    pub create_if_absent: bool,
    /// Default time to live of readings, applied when the container is created (`None`: forever).
    pub ttl_secs: Option<u32>,
    /// How long one store call may take, retries of throttled (429) and transient failures included;
    /// past it ingest answers 503 with `Retry-After`.
    pub deadline_ms: u64,
    /// Partition-key groups written concurrently for one ingest request.
    pub write_concurrency: usize,
    /// Name of this processor in the lease container: lease ids start with it, so several pipelines
    /// can share one lease container.
    pub lease_prefix: String,
    /// A lease not renewed for this long is free for any instance to take.
    pub lease_expiry_ms: u64,
    /// HTTP/2 to the gateway (off for servers that only speak HTTP/1.1).
    pub http2: bool,
    /// Cosmos binary encoding of documents on the wire (off for servers that only speak JSON).
    pub binary_encoding: bool,
}

impl Default for CosmosSettings {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:8081/".into(),
            auth: CosmosAuth::Key,
            key: None,
            database: "tributary".into(),
            readings_container: "readings".into(),
            leases_container: "leases".into(),
            create_if_absent: false,
            ttl_secs: None,
            deadline_ms: 5_000,
            write_concurrency: 32,
            lease_prefix: "analyze".into(),
            lease_expiry_ms: 15_000,
            http2: true,
            binary_encoding: true,
        }
    }
}

/// Throttling (429), timeouts and unavailability are worth retrying soon; a request refused for its
/// content (400 bad request, 413 too large) is the record's fault; anything else (401/403 refused
/// credentials, 404 missing database or container) means the account or its configuration is broken.
pub(crate) fn error(context: &str, e: CosmosError) -> PortError {
    let status = e.status();
    let message = format!("{context}: {e}");
    if status.is_throttled()
        || status.is_timeout()
        || status.is_service_unavailable()
        || status.is_transient()
        || status.is_gone()
        || !e.is_from_wire()
    {
        PortError::unavailable(BACKEND, message)
    } else if status.is_bad_request() || u16::from(status.status_code()) == 413 {
        PortError::rejected(BACKEND, message)
    } else {
        PortError::broken(BACKEND, message)
    }
}
