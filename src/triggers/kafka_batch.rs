//! One Kafka batch, however it arrived (the native consumer group, or the Functions host's Kafka
//! trigger): parse it (dead-lettering what is not a scored reading), apply it once with the core's
//! `process`, and dead-letter a batch the result store refuses on its merits. Only retryable failures
//! come back as errors; the caller decides how to retry (in place, or by failing the invocation).

use super::RETRY_DELAY;
use crate::telemetry::Telemetry;
use std::sync::Arc;
use tributary_core::ports::{LatestCache, LiveFeed, ResultStore};
use tributary_core::process::{process, ConsumedBatch, ProcessReport};
use tributary_core::PortError;
use tributary_kafka::{decode, DeadLetters, RawMessage};

pub struct KafkaBatches {
    pub dead_letters: DeadLetters,
    pub results: Arc<dyn ResultStore>,
    pub cache: Arc<dyn LatestCache>,
    pub live: Arc<dyn LiveFeed>,
    pub telemetry: Arc<Telemetry>,
}

impl KafkaBatches {
    /// Parses the messages; unparseable ones go to the dead-letter topic and only advance the position.
    pub async fn parse(&self, consumer: &str, messages: &[RawMessage]) -> ConsumedBatch {
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

    /// Applies the batch once. A refused batch is dead-lettered whole and its positions applied.
    pub async fn apply_once(
        &self,
        batch: &mut ConsumedBatch,
        messages: &[RawMessage],
    ) -> Result<ProcessReport, PortError> {
        loop {
            match process(
                batch,
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
                    return Ok(report);
                }
                Err(e) if e.is_retryable() => {
                    self.telemetry.stage_error("process");
                    return Err(e);
                }
                Err(e) => {
                    self.telemetry.stage_error("process");
                    tracing::error!(error = %e, n = batch.events.len(), "batch refused; dead-lettering it");
                    let reason = format!("result store refused the batch: {e}");
                    for (at, _) in std::mem::take(&mut batch.events) {
                        if let Some(message) = messages.iter().find(|m| m.position() == at) {
                            self.dead_letter(message, &reason).await;
                        }
                    }
                }
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
