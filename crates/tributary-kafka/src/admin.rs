//! Creating the event-log and dead-letter topics (if absent) with the configured partitions.

use crate::{error, KafkaSettings, BACKEND};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;
use tributary_core::PortError;

pub async fn ensure_topics(settings: &KafkaSettings) -> Result<(), PortError> {
    let admin: AdminClient<DefaultClientContext> = settings.admin().create().map_err(error)?;
    let topics = [
        NewTopic::new(
            &settings.topic,
            settings.partitions,
            TopicReplication::Fixed(settings.replication),
        ),
        NewTopic::new(
            &settings.dead_letter_topic,
            1,
            TopicReplication::Fixed(settings.replication),
        ),
    ];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin
        .create_topics(&topics, &options)
        .await
        .map_err(error)?
    {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(PortError::unavailable(
                    BACKEND,
                    format!("creating topic {topic}: {code}"),
                ));
            }
        }
    }
    Ok(())
}
