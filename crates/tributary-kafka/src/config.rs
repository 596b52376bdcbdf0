//! Kafka settings, and the librdkafka client configurations built from them. Any librdkafka property
//! can be passed through `options` (security, SASL, timeouts), so new knobs need no code.

use rdkafka::ClientConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// `host:port[,host:port…]`; for Event Hubs `<namespace>.servicebus.windows.net:9093`.
    pub brokers: String,
    pub topic: String,
    pub dead_letter_topic: String,
    pub consumer_group: String,
    /// Partitions and replication factor when Tributary creates the topics.
    pub partitions: i32,
    pub replication: i32,
    pub create_topics: bool,
    /// Most messages process applies in one batch, and how long it waits to fill one.
    pub max_batch: usize,
    pub max_wait_ms: u64,
    /// Extra librdkafka properties for every client, e.g. `security.protocol = "SASL_SSL"`.
    pub options: BTreeMap<String, String>,
    /// `sasl.password`, kept out of `options` so it is never logged.
    pub sasl_password: Option<SecretString>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            topic: "tributary.scored-readings.v1".into(),
            dead_letter_topic: "tributary.scored-readings.v1.dead-letter".into(),
            consumer_group: "tributary-process".into(),
            partitions: 6,
            replication: 1,
            create_topics: true,
            max_batch: 1000,
            max_wait_ms: 100,
            options: BTreeMap::new(),
            sasl_password: None,
        }
    }
}

impl KafkaSettings {
    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.options {
            config.set(key, value);
        }
        if let Some(password) = &self.sasl_password {
            config.set("sasl.password", password.expose_secret());
        }
        config
    }

    /// Idempotent, lz4-compressed, acknowledged by all in-sync replicas, batched for throughput.
    pub(crate) fn producer(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("compression.type", "lz4"),
            ("linger.ms", "5"),
            ("batch.num.messages", "10000"),
            ("message.timeout.ms", "30000"),
        ] {
            config.set(key, value);
        }
        merge(config, self.base())
    }

    /// Offsets are committed by hand, after the result store has applied what they guard.
    pub(crate) fn consumer(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in [
            ("group.id", self.consumer_group.as_str()),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
            ("session.timeout.ms", "10000"),
        ] {
            config.set(key, value);
        }
        merge(config, self.base())
    }

    /// A property of the producer as it will be configured (defaults, then `options`), e.g.
    /// `compression.type`: what a deployment check compares with the broker's limits.
    pub fn producer_property(&self, key: &str) -> Option<String> {
        self.producer().get(key).map(str::to_owned)
    }

    pub(crate) fn admin(&self) -> ClientConfig {
        self.base()
    }
}

/// Settings from `options` override the defaults above.
fn merge(mut defaults: ClientConfig, overrides: ClientConfig) -> ClientConfig {
    for (key, value) in overrides.config_map() {
        defaults.set(key, value);
    }
    defaults
}
