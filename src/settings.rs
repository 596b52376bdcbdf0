//! Typed settings, loaded once in `main`: built-in defaults, then an optional TOML file, then
//! environment variables `TRIBUTARY_<SECTION>__<KEY>` (Azure app settings and Kubernetes secrets arrive
//! as environment), then command-line flags. Secrets are `SecretString`s: `Debug` prints them redacted.
//! Unknown keys are errors (`load`), so a typo never silently falls back to a default.

mod embedded;
mod load;

pub use embedded::{implicit_embedded, ImplicitEmbedded};
pub use load::{SettingsError, ENV_NOT_SETTINGS, ENV_PREFIX};

use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use tributary_core::analyze::DetectorConfig;
use tributary_core::ingest::IngestLimits;
use tributary_cosmos::CosmosSettings;
use tributary_kafka::KafkaSettings;
use tributary_postgres::PgSettings;
use tributary_redis::RedisSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub http: HttpSettings,
    /// Where the embedded stores keep their files.
    pub data_dir: PathBuf,
    pub backends: Backends,
    pub ingest: IngestLimits,
    pub detector: DetectorConfig,
    /// Change-feed page size for analyze.
    pub analyze_batch: usize,
    /// Event-log batch size for process on the embedded log (Kafka: `kafka.max_batch`).
    pub process_batch: usize,
    pub kafka: KafkaSettings,
    pub postgres: PgSettings,
    pub redis: RedisSettings,
    pub cosmos: CosmosSettings,
    /// Bounds under load: ingest budget and lag gate, connections, cache size, paging, live stream.
    pub overload: crate::overload::OverloadSettings,
    pub health: HealthSettings,
    pub shutdown: ShutdownSettings,
    /// Which `backends` keys the file or environment named (filled by `load`): `run` refuses to fall
    /// back to an embedded backend that nobody asked for.
    #[serde(skip)]
    pub named_backends: NamedBackends,
    /// Feed this many simulated devices into the running pipeline (dev only).
    #[serde(skip)]
    pub simulate: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
}

/// Which adapter serves each port. `tributary dev` defaults to the embedded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Backends {
    pub reading_store: ReadingStoreBackend,
    pub event_log: EventLogBackend,
    pub result_store: ResultStoreBackend,
    pub cache: CacheBackend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadingStoreBackend {
    #[default]
    Embedded,
    Cosmos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventLogBackend {
    #[default]
    Embedded,
    Kafka,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStoreBackend {
    #[default]
    Embedded,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheBackend {
    #[default]
    Memory,
    Redis,
}

/// Which backends the settings named explicitly (rather than left to the embedded default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NamedBackends {
    pub reading_store: bool,
    pub event_log: bool,
    pub result_store: bool,
    pub cache: bool,
}

/// What `/readyz` counts as lagging.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// A stage this many records (or more) behind its source shows as `lagging` in `/readyz`. Lagging
    /// does not fail readiness: taking a busy replica out of service would only make it worse.
    pub lag_threshold: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            lag_threshold: 10_000,
        }
    }
}

/// How long a stopping process may take.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownSettings {
    /// From SIGTERM (or a dead trigger) to exit: HTTP and triggers drain within this many seconds,
    /// then open connections are dropped and the process exits anyway. Keep it below the pods'
    /// `terminationGracePeriodSeconds` less the preStop pause.
    pub drain_secs: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self { drain_secs: 10 }
    }
}

impl ShutdownSettings {
    pub fn drain(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.drain_secs)
    }
}

impl Default for Backends {
    fn default() -> Self {
        Self {
            reading_store: ReadingStoreBackend::Embedded,
            event_log: EventLogBackend::Embedded,
            result_store: ResultStoreBackend::Embedded,
            cache: CacheBackend::Memory,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        // The Functions host's default port, so URLs match `func start`.
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 7071,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            data_dir: PathBuf::from("./.tributary"),
            backends: Backends::default(),
            ingest: IngestLimits::default(),
            detector: DetectorConfig::default(),
            analyze_batch: 1000,
            process_batch: 1000,
            kafka: KafkaSettings::default(),
            postgres: PgSettings::default(),
            redis: RedisSettings::default(),
            cosmos: CosmosSettings::default(),
            overload: crate::overload::OverloadSettings::default(),
            health: HealthSettings::default(),
            shutdown: ShutdownSettings::default(),
            named_backends: NamedBackends::default(),
            simulate: None,
        }
    }
}
