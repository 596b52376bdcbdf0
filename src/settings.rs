//! Typed settings, loaded once in `main`: built-in defaults, then an optional TOML file, then
//! environment variables `TRIBUTARY_<SECTION>__<KEY>` (Azure app settings and Kubernetes secrets arrive
//! as environment), then command-line flags. Secrets are `SecretString`s: `Debug` prints them redacted.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use tributary_core::analyze::DetectorConfig;
use tributary_core::ingest::IngestLimits;
use tributary_cosmos::CosmosSettings;
use tributary_kafka::KafkaSettings;
use tributary_postgres::PgSettings;
use tributary_redis::RedisSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
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
    /// Feed this many simulated devices into the running pipeline (dev only).
    #[serde(skip)]
    pub simulate: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
}

/// Which adapter serves each port. `tributary dev` defaults to the embedded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
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
            simulate: None,
        }
    }
}

/// Environment variable prefix; `__` separates a section from its key.
pub const ENV_PREFIX: &str = "TRIBUTARY_";

impl Settings {
    /// Defaults, then `file` (TOML) if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        crate::settings_env::refuse_misread_escapes(vars.iter().map(|(k, v)| (&**k, &**v)))?;
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed(ENV_PREFIX).split("__"))
            .extract()
            .map_err(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
    fn environment_overrides_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "t.toml",
                "data_dir = \"/from/file\"\n[kafka]\nbrokers = \"file:9092\"\npartitions = 3\n",
            )?;
            jail.set_env("TRIBUTARY_KAFKA__BROKERS", "env:9092");
            jail.set_env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgres");
            jail.set_env("TRIBUTARY_POSTGRES__URL", "postgres://u:hunter2@db/x");
            let s = Settings::load(Some(Path::new("t.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.data_dir, PathBuf::from("/from/file"));
            assert_eq!(
                (s.kafka.brokers.as_str(), s.kafka.partitions),
                ("env:9092", 3)
            );
            assert_eq!(s.backends.result_store, ResultStoreBackend::Postgres);
            assert_eq!(s.http.port, 7071);
            assert!(
                !format!("{s:?}").contains("hunter2"),
                "secrets never show in Debug"
            );
            Ok(())
        });
    }

    /// Regression (settings fuzz target, crash-7fbee607): figment panicked on this environment value
    /// ("byte index is not a char boundary"); now start-up fails naming the variable.
    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
    fn a_quoted_environment_value_figment_would_misread_fails_naming_the_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TRIBUTARY_KAFKA__BROKERS", "\"ÞÌÅ\\T\"");
            let err = Settings::load(None).expect_err("refused").to_string();
            assert!(err.contains("TRIBUTARY_KAFKA__BROKERS"), "{err}");
            Ok(())
        });
    }
}
