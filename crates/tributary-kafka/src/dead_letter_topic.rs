//! The dead-letter topic read back as a quarantine, for `tributary dead-letters`: every message from
//! the start of each partition to its end as it is now, with the reason and origin `DeadLetters::send`
//! wrote in its headers. It commits nothing, and releasing is a no-op (a topic keeps what it holds
//! until its retention drops it; replaying a letter twice is harmless downstream).

use crate::producer::headers;
use crate::{error, KafkaSettings, BACKEND};
use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};
use tributary_core::ports::{Quarantine, SetAside};
use tributary_core::{PortError, Timestamp};

/// The `source` of records read from the dead-letter topic.
pub const SOURCE: &str = "dead_letter_topic";
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct DeadLetterTopic {
    settings: KafkaSettings,
}

impl DeadLetterTopic {
    pub fn new(settings: &KafkaSettings) -> Self {
        Self {
            settings: settings.clone(),
        }
    }

    fn read(&self, limit: usize) -> Result<Vec<SetAside>, PortError> {
        let topic = self.settings.dead_letter_topic.as_str();
        let mut config = self.settings.consumer();
        config.set("group.id", "tributary-dead-letters-reader");
        let consumer: BaseConsumer = config.create().map_err(error)?;
        let metadata = consumer
            .fetch_metadata(Some(topic), TIMEOUT)
            .map_err(error)?;
        let mut assignment = TopicPartitionList::new();
        let mut remaining = 0i64;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition.id(), TIMEOUT)
                .map_err(error)?;
            if high > low {
                remaining += high - low;
                assignment
                    .add_partition_offset(topic, partition.id(), Offset::Offset(low))
                    .map_err(error)?;
            }
        }
        let mut out = Vec::new();
        if remaining == 0 {
            return Ok(out);
        }
        consumer.assign(&assignment).map_err(error)?;
        let deadline = Instant::now() + TIMEOUT;
        while remaining > 0 && out.len() < limit {
            if Instant::now() > deadline {
                return Err(PortError::unavailable(
                    BACKEND,
                    "reading the dead-letter topic timed out",
                ));
            }
            let Some(message) = consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let message = message.map_err(error)?;
            remaining -= 1;
            let header = |name: &str| {
                message.headers().and_then(|h| {
                    h.iter()
                        .find(|x| x.key == name)
                        .and_then(|x| x.value.map(|v| String::from_utf8_lossy(v).into_owned()))
                })
            };
            let origin = format!(
                "{}[{}]@{}",
                header(headers::TOPIC).unwrap_or_default(),
                header(headers::PARTITION).unwrap_or_default(),
                header(headers::OFFSET).unwrap_or_default()
            );
            out.push(SetAside {
                source: SOURCE.into(),
                key: format!("{}:{}", message.partition(), message.offset()),
                record: String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
                reason: format!(
                    "{} (from {origin})",
                    header(headers::REASON).unwrap_or_default()
                ),
                set_aside_at: Timestamp::from_millis(message.timestamp().to_millis().unwrap_or(0)),
            });
        }
        Ok(out)
    }
}

#[async_trait]
impl Quarantine for DeadLetterTopic {
    async fn set_aside(&self, _records: &[SetAside]) -> Result<(), PortError> {
        Err(PortError::broken(
            BACKEND,
            "the dead-letter topic is written by process, not through the quarantine",
        ))
    }

    async fn list(&self, limit: usize) -> Result<Vec<SetAside>, PortError> {
        let this = Self::new(&self.settings);
        tokio::task::spawn_blocking(move || this.read(limit))
            .await
            .map_err(|e| PortError::broken(BACKEND, e))?
    }

    /// Kafka cannot delete a message; the letter stays until the topic's retention drops it.
    async fn release(&self, _records: &[SetAside]) -> Result<(), PortError> {
        Ok(())
    }
}
