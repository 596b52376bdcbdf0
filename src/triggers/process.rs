//! The in-process event-log trigger: reads the embedded log from the position stored in the result
//! store, hands each batch to the core's `process_isolating` (an event the result store refuses on its
//! merits, or one that cannot be read, is set aside in the quarantine), and truncates what every
//! consumer has applied.

use super::backoff::Backoff;
use super::IDLE_POLL;
use crate::health::StageHealth;
use crate::telemetry::Telemetry;
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_core::ports::{LatestCache, LiveFeed, Quarantine, ResultStore, SetAside};
use tributary_core::process::{process_isolating, ConsumedBatch, LogPosition, PoisonSink};
use tributary_core::{PortError, ScoredReading, Timestamp};
use tributary_embedded::SqliteEventLog;

/// Consumer name under which positions are stored.
pub const CONSUMER: &str = "process";

pub struct ProcessTrigger {
    pub log: Arc<SqliteEventLog>,
    pub results: Arc<dyn ResultStore>,
    pub cache: Arc<dyn LatestCache>,
    pub live: Arc<dyn LiveFeed>,
    /// Where events that cannot be read or applied are set aside.
    pub quarantine: Arc<dyn Quarantine>,
    pub telemetry: Arc<Telemetry>,
    pub max_batch: usize,
    /// Signalled when analyze has published.
    pub wake: Arc<Notify>,
    pub health: StageHealth,
}

impl ProcessTrigger {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut next: Option<i64> = None;
        let mut since_truncate = 0usize;
        let mut backoff = Backoff::new("process", self.telemetry.clone());
        while !shutdown.is_cancelled() {
            let step = self.step(&mut next).await;
            if step.is_ok() {
                backoff.succeeded();
            }
            let pause = match step {
                Ok(0) => IDLE_POLL,
                Ok(n) => {
                    since_truncate += n;
                    if since_truncate >= 10_000 {
                        since_truncate = 0;
                        if let Some(upto) = next {
                            if let Err(e) = self.log.truncate_before(upto).await {
                                tracing::warn!(error = %e, "event log not truncated");
                            }
                        }
                    }
                    continue;
                }
                Err(e) => {
                    next = None;
                    self.health.waiting(e.to_string());
                    backoff.failed(&e)
                }
            };
            if !super::wait(&shutdown, &self.wake, pause).await {
                break;
            }
        }
        tracing::debug!("process trigger stopped");
    }

    /// Applies one batch; returns how many messages it consumed.
    async fn step(&self, next: &mut Option<i64>) -> Result<usize, PortError> {
        let from = match *next {
            Some(n) => n,
            None => {
                let stored = self.results.positions(CONSUMER).await?;
                stored
                    .get(&tributary_embedded::PARTITION)
                    .copied()
                    .unwrap_or(0)
            }
        };
        let messages = self.log.read(from, self.max_batch).await?;
        let consumed = messages.len();
        let mut batch = ConsumedBatch::new(CONSUMER);
        let mut unreadable = Vec::new();
        for (at, event) in messages {
            match event {
                Ok(event) => batch.push(at, event),
                Err(reason) => {
                    // Never stall the log on one message: set it aside before moving past it.
                    unreadable.push(set_aside(at, reason.record, reason.reason));
                    batch.skip(at);
                }
            }
        }
        if !unreadable.is_empty() {
            self.quarantine.set_aside(&unreadable).await?;
            self.telemetry
                .set_aside("process", "quarantine", unreadable.len());
        }
        let report = process_isolating(
            &batch,
            self.results.as_ref(),
            self.cache.as_ref(),
            self.live.as_ref(),
            self,
        )
        .await?;
        self.telemetry.stage("process", "applied", report.fresh);
        self.telemetry
            .stage("process", "redelivered", report.redelivered);
        self.telemetry
            .stage("process", "republished", report.republished);
        let position = batch
            .next_offsets
            .get(&tributary_embedded::PARTITION)
            .copied()
            .unwrap_or(from);
        *next = Some(position);
        let behind = (self.log.end().await? - position).max(0) as u64;
        self.telemetry.lag("event_log", behind);
        self.health.lagging(behind);
        Ok(consumed)
    }
}

/// An event-log message set aside by process.
fn set_aside(at: LogPosition, record: String, reason: String) -> SetAside {
    SetAside {
        source: SOURCE.into(),
        key: format!("offset:{}", at.offset),
        record,
        reason,
        set_aside_at: Timestamp::now(),
    }
}

/// The `source` of events process sets aside.
pub const SOURCE: &str = "event_log";

#[async_trait]
impl PoisonSink for ProcessTrigger {
    async fn set_aside(
        &self,
        at: LogPosition,
        event: &ScoredReading,
        error: &PortError,
    ) -> Result<(), PortError> {
        let record = serde_json::to_string(event).unwrap_or_default();
        let record = set_aside(
            at,
            record,
            format!("result store refused the event: {error}"),
        );
        self.quarantine.set_aside(&[record]).await?;
        self.telemetry.set_aside("process", "quarantine", 1);
        Ok(())
    }
}
