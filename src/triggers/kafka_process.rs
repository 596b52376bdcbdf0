//! The native process trigger on Kafka: consume a batch from the consumer group, hand it to
//! `KafkaBatches` (parse, dead-letter, apply), then commit offsets. A transient or broken result
//! store retries the same batch in place with backoff (`Backoff`), so the partition pauses rather
//! than skips and a broken database logs once instead of spinning. On
//! shutdown the batch in hand is finished and committed first, within a deadline.

use super::backoff::Backoff;
use super::kafka_batch::KafkaBatches;
use crate::health::StageHealth;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tributary_kafka::KafkaSource;

/// How often consumer lag is measured for `/metrics`.
const LAG_INTERVAL: Duration = Duration::from_secs(5);
/// Longest the batch in hand is retried after shutdown was asked for.
const FINISH_DEADLINE: Duration = Duration::from_secs(8);

pub struct KafkaProcessTrigger {
    pub source: KafkaSource,
    pub batches: KafkaBatches,
    pub health: StageHealth,
}

impl KafkaProcessTrigger {
    pub async fn run(self, shutdown: CancellationToken) {
        let consumer = self.source.consumer_name();
        let telemetry = self.batches.telemetry.clone();
        let mut last_lag = Instant::now() - LAG_INTERVAL;
        let mut consuming = Backoff::new("process", telemetry.clone());
        let mut applying = Backoff::new("process", telemetry.clone());
        let mut behind = 0;
        loop {
            let messages = tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = self.source.next_batch() => batch,
            };
            let messages = match messages {
                Ok(messages) => {
                    consuming.succeeded();
                    messages
                }
                Err(e) => {
                    self.health.waiting(format!("consuming from Kafka: {e}"));
                    let pause = consuming.failed(&e);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(pause) => continue,
                    }
                }
            };
            let batch = self.batches.parse(&consumer, &messages).await;
            let mut stopping_since: Option<Instant> = None;
            let applied = loop {
                match self.batches.apply_once(&batch, &messages).await {
                    Ok(_) => {
                        applying.succeeded();
                        break true;
                    }
                    Err(e) => {
                        self.health.waiting(e.to_string());
                        let pause = applying.failed(&e);
                        if shutdown.is_cancelled()
                            && stopping_since.get_or_insert_with(Instant::now).elapsed()
                                > FINISH_DEADLINE
                        {
                            tracing::warn!(
                                "stopping with the batch unapplied; it will be redelivered"
                            );
                            break false;
                        }
                        tokio::select! {
                            _ = shutdown.cancelled() => {}
                            _ = tokio::time::sleep(pause) => {}
                        }
                    }
                }
            };
            if !applied {
                break;
            }
            if let Err(e) = self.source.commit(&batch.next_offsets) {
                // Harmless: the result store holds the positions; a redelivery is skipped.
                tracing::warn!(error = %e, "offset commit failed");
            }
            self.health.lagging(behind);
            if last_lag.elapsed() >= LAG_INTERVAL {
                last_lag = Instant::now();
                match self.source.lag().await {
                    Ok(lag) => {
                        telemetry.lag("event_log", lag);
                        behind = lag;
                    }
                    Err(e) => tracing::debug!(error = %e, "consumer lag unknown"),
                }
            }
        }
        tracing::debug!("process trigger stopped");
    }
}
