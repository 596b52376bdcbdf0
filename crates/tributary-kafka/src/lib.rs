//! Kafka adapters: the event log producer (idempotent, lz4, keyed by device), the consumer-group
//! source that process reads from, the dead-letter topic, and topic creation. Messages are the JSON of
//! `schemas/scored-reading.v1.json`. No Kafka transactions: exactly-once comes from the result store.

mod admin;
mod check;
mod config;
mod consumer;
mod dead_letter_topic;
mod producer;

pub use admin::ensure_topics;
pub use check::topic_partitions;
pub use config::KafkaSettings;
pub use consumer::{KafkaSource, RawMessage};
pub use dead_letter_topic::DeadLetterTopic;
pub use producer::{DeadLetters, KafkaEventLog};

use tributary_core::{PortError, ScoredReading};

const BACKEND: &str = "Kafka";

/// Header naming the payload's schema on every message Tributary produces.
pub const SCHEMA_HEADER: &str = "tributary-schema";
pub const SCHEMA: &str = "scored-reading.v1";

/// Parses a message value; the error says why (it goes into the dead letter's reason).
pub fn decode(payload: &[u8]) -> Result<ScoredReading, String> {
    serde_json::from_slice(payload).map_err(|e| format!("not a scored reading: {e}"))
}

/// Maps a Kafka error: a message the broker refuses on its merits is the record's fault; refused
/// authorization or configuration means the client or cluster is broken; the rest (timeouts, a full
/// queue, leader changes) is transient.
pub(crate) fn error(e: rdkafka::error::KafkaError) -> PortError {
    use rdkafka::error::KafkaError as K;
    use rdkafka::types::RDKafkaErrorCode as C;
    match e.rdkafka_error_code() {
        Some(C::MessageSizeTooLarge | C::InvalidMessage | C::InvalidRecord) => {
            PortError::rejected(BACKEND, e)
        }
        Some(
            C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::SaslAuthenticationFailed
            | C::Authentication
            | C::InvalidConfig
            | C::UnsupportedCompressionType
            | C::UnknownTopicOrPartition,
        ) => PortError::broken(BACKEND, e),
        _ if matches!(e, K::ClientCreation(_) | K::ClientConfig(..)) => {
            PortError::broken(BACKEND, e)
        }
        _ => PortError::unavailable(BACKEND, e),
    }
}
