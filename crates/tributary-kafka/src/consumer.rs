//! The consumer-group source process reads from. Offsets are committed only after the result store has
//! applied the batch (which stores its own positions in the same transaction); on a rebalance, anything
//! between the committed offset and the stored position is redelivered and skipped by the store.

use crate::{error, KafkaSettings};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tributary_core::process::LogPosition;
use tributary_core::PortError;

/// A message as consumed: where it sits, and its raw key and value.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
}

impl RawMessage {
    pub fn position(&self) -> LogPosition {
        LogPosition {
            partition: self.partition,
            offset: self.offset,
        }
    }
}

pub struct KafkaSource {
    consumer: Arc<StreamConsumer>,
    topic: String,
    group: String,
    max_batch: usize,
    max_wait: Duration,
}

impl KafkaSource {
    pub fn subscribe(settings: &KafkaSettings) -> Result<Self, PortError> {
        let consumer: StreamConsumer = settings.consumer().create().map_err(error)?;
        consumer.subscribe(&[&settings.topic]).map_err(error)?;
        Ok(Self {
            consumer: Arc::new(consumer),
            topic: settings.topic.clone(),
            group: settings.consumer_group.clone(),
            max_batch: settings.max_batch.max(1),
            max_wait: Duration::from_millis(settings.max_wait_ms),
        })
    }

    /// The name positions are stored under in the result store: group and topic.
    pub fn consumer_name(&self) -> String {
        format!("{}/{}", self.group, self.topic)
    }

    /// Waits for a message, then takes what else arrives within the batch wait, up to the batch size.
    pub async fn next_batch(&self) -> Result<Vec<RawMessage>, PortError> {
        let first = self.consumer.recv().await.map_err(error)?;
        let mut batch = vec![raw(&first)];
        drop(first);
        let deadline = tokio::time::Instant::now() + self.max_wait;
        while batch.len() < self.max_batch {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(raw(&message)),
                Ok(Err(e)) => return Err(error(e)),
                Err(_) => break,
            }
        }
        Ok(batch)
    }

    /// Commits `next offset` per partition (asynchronously; the result store is the source of truth).
    pub fn commit(&self, next_offsets: &BTreeMap<i32, i64>) -> Result<(), PortError> {
        if next_offsets.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for (partition, next) in next_offsets {
            list.add_partition_offset(&self.topic, *partition, Offset::Offset(*next))
                .map_err(error)?;
        }
        self.consumer
            .commit(&list, CommitMode::Async)
            .map_err(error)
    }

    /// Messages in the assigned partitions not yet consumed (high watermark − position).
    pub async fn lag(&self) -> Result<u64, PortError> {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            let positions = consumer.position().map_err(error)?;
            let mut lag = 0u64;
            for element in positions.elements_for_topic(&topic) {
                let (low, high) = consumer
                    .fetch_watermarks(&topic, element.partition(), Duration::from_secs(5))
                    .map_err(error)?;
                let at = match element.offset() {
                    Offset::Offset(o) => o,
                    _ => low,
                };
                lag += (high - at).max(0) as u64;
            }
            Ok(lag)
        })
        .await
        .map_err(|e| PortError::broken(crate::BACKEND, e))?
    }
}

fn raw<M: Message>(m: &M) -> RawMessage {
    RawMessage {
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
    }
}
