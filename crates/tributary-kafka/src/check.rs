//! What `tributary check-config` asks of Kafka: are the brokers reachable with these settings, and
//! which of the named topics exist with how many partitions. Read-only: creates nothing.

use crate::{error, KafkaSettings, BACKEND};
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::BTreeMap;
use std::time::Duration;
use tributary_core::PortError;

/// For each of `topics`: its partition count, or `None` if the cluster does not have it. Fails if
/// the brokers cannot be reached (or refuse us) within `timeout`.
pub async fn topic_partitions(
    settings: &KafkaSettings,
    topics: &[&str],
    timeout: Duration,
) -> Result<BTreeMap<String, Option<usize>>, PortError> {
    let consumer: BaseConsumer = settings.consumer().create().map_err(error)?;
    let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(None, timeout).map_err(error)?;
        let found: BTreeMap<&str, usize> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name(), t.partitions().len()))
            .collect();
        Ok(topics
            .iter()
            .map(|t| (t.clone(), found.get(t.as_str()).copied()))
            .collect())
    })
    .await
    .map_err(|e| PortError::broken(BACKEND, e))?
}
