//! The native process trigger on Kafka: consume a batch from the consumer group, hand it to
//! `KafkaBatches` (parse, dead-letter, apply), then commit offsets. A retryable failure (the result
//! store is away) retries the same batch in place, so the partition pauses rather than skips. On
//! shutdown the batch in hand is finished and committed first, within a deadline.

use super::kafka_batch::KafkaBatches;
use super::RETRY_DELAY;
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
        let mut behind = 0;
        loop {
            let messages = tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = self.source.next_batch() => batch,
            };
            let messages = match messages {
                Ok(messages) => messages,
                Err(e) => {
                    telemetry.stage_error("process");
                    self.health.waiting(format!("consuming from Kafka: {e}"));
                    tracing::warn!(error = %e, "consuming failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
            };
            let mut batch = self.batches.parse(&consumer, &messages).await;
            let mut stopping_since: Option<Instant> = None;
            let applied = loop {
                match self.batches.apply_once(&mut batch, &messages).await {
                    Ok(_) => break true,
                    Err(e) => {
                        tracing::warn!(error = %e, "result store unavailable; retrying the batch");
                        self.health.waiting(e.to_string());
                        if shutdown.is_cancelled()
                            && stopping_since.get_or_insert_with(Instant::now).elapsed()
                                > FINISH_DEADLINE
                        {
                            tracing::warn!(
                                "stopping with the batch unapplied; it will be redelivered"
                            );
                            break false;
                        }
                        tokio::time::sleep(RETRY_DELAY).await;
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
