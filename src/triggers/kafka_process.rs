//! The native process trigger on Kafka: consume a batch from the consumer group, dead-letter what
//! cannot be parsed, apply the rest with the core's `process`, then commit offsets. A retryable failure
//! (the result store is away) retries the same batch in place, so the partition pauses rather than skips;
//! a batch the store refuses on its merits is dead-lettered whole, so one poison message never stalls
//! a partition. On shutdown the batch in hand is finished and committed first.

use super::RETRY_DELAY;
use crate::telemetry::Telemetry;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tributary_core::ports::{LatestCache, LiveFeed, ResultStore};
use tributary_core::process::{process, ConsumedBatch};
use tributary_core::PortError;
use tributary_kafka::{decode, DeadLetters, KafkaSource, RawMessage};

/// How often consumer lag is measured for `/metrics`.
const LAG_INTERVAL: Duration = Duration::from_secs(5);
/// Longest the batch in hand is retried after shutdown was asked for.
const FINISH_DEADLINE: Duration = Duration::from_secs(8);

pub struct KafkaProcessTrigger {
    pub source: KafkaSource,
    pub dead_letters: DeadLetters,
    pub results: Arc<dyn ResultStore>,
    pub cache: Arc<dyn LatestCache>,
    pub live: Arc<dyn LiveFeed>,
    pub telemetry: Arc<Telemetry>,
}

impl KafkaProcessTrigger {
    pub async fn run(self, shutdown: CancellationToken) {
        let consumer = self.source.consumer_name();
        let mut last_lag = Instant::now() - LAG_INTERVAL;
        loop {
            let messages = tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = self.source.next_batch() => batch,
            };
            let messages = match messages {
                Ok(messages) => messages,
                Err(e) => {
                    self.telemetry.stage_error("process");
                    tracing::warn!(error = %e, "consuming failed; retrying");
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
            };
            let batch = self.batch(&consumer, &messages).await;
            if self.apply(batch, &messages, &shutdown).await {
                if last_lag.elapsed() >= LAG_INTERVAL {
                    last_lag = Instant::now();
                    match self.source.lag().await {
                        Ok(lag) => self.telemetry.lag("event_log", lag),
                        Err(e) => tracing::debug!(error = %e, "consumer lag unknown"),
                    }
                }
            } else {
                break;
            }
        }
        tracing::debug!("process trigger stopped");
    }

    /// Parses the messages; unparseable ones go to the dead-letter topic and only advance the position.
    async fn batch(&self, consumer: &str, messages: &[RawMessage]) -> ConsumedBatch {
        let mut batch = ConsumedBatch::new(consumer);
        for message in messages {
            match message.payload.as_deref().map(decode) {
                Some(Ok(event)) => batch.push(message.position(), event),
                Some(Err(reason)) => {
                    self.dead_letter(message, &reason).await;
                    batch.skip(message.position());
                }
                None => {
                    self.dead_letter(message, "empty message").await;
                    batch.skip(message.position());
                }
            }
        }
        batch
    }

    /// Applies and commits the batch; false if shutdown came before it could be applied.
    async fn apply(
        &self,
        mut batch: ConsumedBatch,
        messages: &[RawMessage],
        shutdown: &CancellationToken,
    ) -> bool {
        let mut stopping_since: Option<Instant> = None;
        loop {
            match process(
                &batch,
                self.results.as_ref(),
                self.cache.as_ref(),
                self.live.as_ref(),
            )
            .await
            {
                Ok(report) => {
                    self.telemetry.stage("process", "applied", report.fresh);
                    self.telemetry
                        .stage("process", "redelivered", report.redelivered);
                    self.telemetry
                        .stage("process", "republished", report.republished);
                    if let Err(e) = self.source.commit(&batch.next_offsets) {
                        // Harmless: the result store holds the positions; a redelivery is skipped.
                        tracing::warn!(error = %e, "offset commit failed");
                    }
                    return true;
                }
                Err(e) if e.is_retryable() => {
                    self.telemetry.stage_error("process");
                    tracing::warn!(error = %e, "result store unavailable; retrying the batch");
                    if shutdown.is_cancelled() {
                        let since = *stopping_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > FINISH_DEADLINE {
                            tracing::warn!(
                                "stopping with the batch unapplied; it will be redelivered"
                            );
                            return false;
                        }
                    }
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                Err(e) => {
                    self.telemetry.stage_error("process");
                    tracing::error!(error = %e, n = batch.events.len(), "batch refused; dead-lettering it");
                    self.dead_letter_batch(&mut batch, messages, &e).await;
                }
            }
        }
    }

    /// Moves every event of the batch to the dead-letter topic; the batch keeps only its positions.
    async fn dead_letter_batch(
        &self,
        batch: &mut ConsumedBatch,
        messages: &[RawMessage],
        e: &PortError,
    ) {
        let reason = format!("result store refused the batch: {e}");
        for (at, _) in std::mem::take(&mut batch.events) {
            if let Some(message) = messages.iter().find(|m| m.position() == at) {
                self.dead_letter(message, &reason).await;
            }
        }
    }

    /// Sends to the dead-letter topic, retrying until it is accepted: a dead letter is never dropped.
    async fn dead_letter(&self, message: &RawMessage, reason: &str) {
        self.telemetry.stage("process", "dead_lettered", 1);
        while let Err(e) = self.dead_letters.send(message, reason).await {
            tracing::error!(error = %e, "dead-letter topic unavailable; retrying");
            tokio::time::sleep(RETRY_DELAY).await;
        }
        tracing::warn!(
            partition = message.partition,
            offset = message.offset,
            reason,
            "message dead-lettered"
        );
    }
}
