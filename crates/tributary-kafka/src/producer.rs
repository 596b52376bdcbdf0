//! The event log on Kafka (analyze publishes here) and the dead-letter topic (process parks what it
//! cannot parse or apply there, with the reason in headers, so one message never stalls a partition).

use crate::consumer::RawMessage;
use crate::{error, KafkaSettings, SCHEMA, SCHEMA_HEADER};
use async_trait::async_trait;
use futures::future::try_join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use std::time::Duration;
use tributary_core::ports::EventLog;
use tributary_core::{PortError, ScoredReading};

/// Longest a publish waits for the broker before it fails (and is retried by the caller).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct KafkaEventLog {
    producer: FutureProducer,
    topic: String,
}

impl KafkaEventLog {
    pub fn new(settings: &KafkaSettings) -> Result<Self, PortError> {
        Ok(Self {
            producer: settings.producer().create().map_err(error)?,
            topic: settings.topic.clone(),
        })
    }
}

#[async_trait]
impl EventLog for KafkaEventLog {
    #[tracing::instrument(skip_all, fields(n = events.len()), err)]
    async fn publish(&self, events: &[ScoredReading]) -> Result<(), PortError> {
        let payloads = events
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::broken(crate::BACKEND, e))?;
        let sends = events.iter().zip(&payloads).map(|(event, payload)| {
            let headers = OwnedHeaders::new().insert(Header {
                key: SCHEMA_HEADER,
                value: Some(SCHEMA),
            });
            let record = FutureRecord::to(&self.topic)
                .key(event.device_id.as_str())
                .payload(payload.as_slice())
                .headers(headers);
            async move {
                self.producer
                    .send(record, Timeout::After(DELIVERY_TIMEOUT))
                    .await
                    .map_err(|(e, _)| error(e))
            }
        });
        try_join_all(sends).await.map(|_| ())
    }
}

/// Header names on dead letters.
pub mod headers {
    pub const REASON: &str = "tributary-dead-letter-reason";
    pub const TOPIC: &str = "tributary-original-topic";
    pub const PARTITION: &str = "tributary-original-partition";
    pub const OFFSET: &str = "tributary-original-offset";
}

pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    source_topic: String,
}

impl DeadLetters {
    pub fn new(settings: &KafkaSettings) -> Result<Self, PortError> {
        Ok(Self {
            producer: settings.producer().create().map_err(error)?,
            topic: settings.dead_letter_topic.clone(),
            source_topic: settings.topic.clone(),
        })
    }

    /// Copies the message, key and payload unchanged, with why and where from in headers.
    pub async fn send(&self, message: &RawMessage, reason: &str) -> Result<(), PortError> {
        let (partition, offset) = (message.partition.to_string(), message.offset.to_string());
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: headers::REASON,
                value: Some(reason),
            })
            .insert(Header {
                key: headers::TOPIC,
                value: Some(&self.source_topic),
            })
            .insert(Header {
                key: headers::PARTITION,
                value: Some(&partition),
            })
            .insert(Header {
                key: headers::OFFSET,
                value: Some(&offset),
            });
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
        if let Some(key) = &message.key {
            record = record.key(key.as_slice());
        }
        if let Some(payload) = &message.payload {
            record = record.payload(payload.as_slice());
        }
        self.producer
            .send(record, Timeout::After(DELIVERY_TIMEOUT))
            .await
            .map(|_| ())
            .map_err(|(e, _)| error(e))
    }
}
