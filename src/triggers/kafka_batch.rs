//! One Kafka batch, however it arrived (the native consumer group, or the Functions host's Kafka
//! trigger): parse it (dead-lettering what is not a scored reading), apply it once with the core's
//! `process`, dead-lettering only the events the result store refuses on their merits. Transient and
//! broken-backend failures come back as errors; the caller decides how to wait and retry (in place,
//! with backoff, or by failing the invocation so the host retries).

use super::RETRY_DELAY;
use crate::telemetry::Telemetry;
use async_trait::async_trait;
use std::sync::Arc;
use tributary_core::ports::{LatestCache, LiveFeed, ResultStore};
use tributary_core::process::{
    process_isolating, ConsumedBatch, LogPosition, PoisonSink, ProcessReport,
};
use tributary_core::{PortError, ScoredReading};
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

    /// Applies the batch once. Events the result store refuses on their merits are dead-lettered one
    /// by one (`process_isolating`) and the rest applied; a transient or broken store fails the whole
    /// batch untouched, for the caller to retry.
    pub async fn apply_once(
        &self,
        batch: &ConsumedBatch,
        messages: &[RawMessage],
    ) -> Result<ProcessReport, PortError> {
        let sink = ToDeadLetters {
            batches: self,
            messages,
        };
        let report = process_isolating(
            batch,
            self.results.as_ref(),
            self.cache.as_ref(),
            self.live.as_ref(),
            &sink,
        )
        .await?;
        self.telemetry.stage("process", "applied", report.fresh);
        self.telemetry
            .stage("process", "redelivered", report.redelivered);
        self.telemetry
            .stage("process", "republished", report.republished);
        Ok(report)
    }

    /// Sends to the dead-letter topic, retrying until it is accepted: a dead letter is never dropped.
    async fn dead_letter(&self, message: &RawMessage, reason: &str) {
        self.telemetry.set_aside("process", "dead_letter_topic", 1);
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

/// The dead-letter topic as the place `process_isolating` sets refused events aside.
struct ToDeadLetters<'a> {
    batches: &'a KafkaBatches,
    messages: &'a [RawMessage],
}

#[async_trait]
impl PoisonSink for ToDeadLetters<'_> {
    async fn set_aside(
        &self,
        at: LogPosition,
        _event: &ScoredReading,
        error: &PortError,
    ) -> Result<(), PortError> {
        let message = self
            .messages
            .iter()
            .find(|m| m.position() == at)
            .ok_or_else(|| PortError::broken("process", format!("no message at {at:?}")))?;
        let reason = format!("result store refused the event: {error}");
        self.batches.dead_letter(message, &reason).await;
        Ok(())
    }
}
