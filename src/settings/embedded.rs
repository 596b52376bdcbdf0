//! The rule that keeps production off embedded storage by accident: for `tributary run`, every port the
//! chosen stages use must be named in the settings (`"embedded"`/`"memory"` included, on purpose);
//! only `dev` falls back to embedded defaults. Pure: no I/O here.

use super::Settings;
use crate::startup::Stages;
use std::fmt;

/// A port the stages need that the settings left to its embedded default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImplicitEmbedded {
    /// The key under `backends`, such as `result_store`.
    pub key: &'static str,
    /// What the default would have used.
    pub default: &'static str,
    /// The production choice.
    pub real: &'static str,
}

impl fmt::Display for ImplicitEmbedded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "backends.{key} is not set (TRIBUTARY_BACKENDS__{upper}): set it to \"{real}\", or to \
             \"{default}\" to keep this port on this node on purpose",
            key = self.key,
            upper = self.key.to_ascii_uppercase(),
            real = self.real,
            default = self.default,
        )
    }
}

/// The ports `stages` use (natively) that the settings did not name, in a stable order.
/// Ingest writes the reading store; analyze reads it, publishes to the event log and keeps detector
/// state beside the results; process reads the log and writes results and the cache; query reads
/// results and the cache.
pub fn implicit_embedded(settings: &Settings, stages: Stages) -> Vec<ImplicitEmbedded> {
    let named = settings.named_backends;
    let ports = [
        (
            stages.ingest || stages.analyze,
            named.reading_store,
            "reading_store",
            "embedded",
            "cosmos",
        ),
        (
            stages.analyze || stages.process,
            named.event_log,
            "event_log",
            "embedded",
            "kafka",
        ),
        (
            stages.analyze || stages.process || stages.query,
            named.result_store,
            "result_store",
            "embedded",
            "postgres",
        ),
        (
            stages.process || stages.query,
            named.cache,
            "cache",
            "memory",
            "redis",
        ),
    ];
    ports
        .into_iter()
        .filter(|(used, named, ..)| *used && !*named)
        .map(|(_, _, key, default, real)| ImplicitEmbedded { key, default, real })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::NamedBackends;

    fn keys(settings: &Settings, stages: &str) -> Vec<&'static str> {
        let stages = Stages::parse(stages).expect("stages");
        implicit_embedded(settings, stages)
            .into_iter()
            .map(|i| i.key)
            .collect()
    }

    #[test]
    fn every_port_a_stage_uses_must_be_named() {
        let settings = Settings::default();
        assert_eq!(keys(&settings, "ingest"), ["reading_store"]);
        assert_eq!(
            keys(&settings, "process"),
            ["event_log", "result_store", "cache"]
        );
        assert_eq!(keys(&settings, "query"), ["result_store", "cache"]);
        assert_eq!(
            keys(&settings, "analyze"),
            ["reading_store", "event_log", "result_store"]
        );
    }

    #[test]
    fn a_named_embedded_backend_is_accepted() {
        let settings = Settings {
            named_backends: NamedBackends {
                reading_store: true,
                event_log: true,
                result_store: true,
                cache: true,
            },
            ..Settings::default()
        };
        assert!(keys(&settings, "ingest,analyze,process,query").is_empty());
        let message = ImplicitEmbedded {
            key: "result_store",
            default: "embedded",
            real: "postgres",
        }
        .to_string();
        assert!(
            message.contains("TRIBUTARY_BACKENDS__RESULT_STORE"),
            "{message}"
        );
    }
}
