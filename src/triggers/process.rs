//! The in-process event-log trigger: reads the embedded log from the position stored in the result
//! store, hands each batch to the core's `process`, and truncates what every consumer has applied.

use super::{IDLE_POLL, RETRY_DELAY};
use crate::health::StageHealth;
use crate::telemetry::Telemetry;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_core::ports::{LatestCache, LiveFeed, ResultStore};
use tributary_core::process::{process, ConsumedBatch};
use tributary_core::PortError;
use tributary_embedded::SqliteEventLog;

/// Consumer name under which positions are stored.
pub const CONSUMER: &str = "process";

pub struct ProcessTrigger {
    pub log: Arc<SqliteEventLog>,
    pub results: Arc<dyn ResultStore>,
    pub cache: Arc<dyn LatestCache>,
    pub live: Arc<dyn LiveFeed>,
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
        while !shutdown.is_cancelled() {
            let pause = match self.step(&mut next).await {
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
                    self.telemetry.stage_error("process");
                    self.health.waiting(e.to_string());
                    tracing::warn!(error = %e, "process step failed; retrying from the stored position");
                    RETRY_DELAY
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
        for (at, event) in messages {
            match event {
                Ok(event) => batch.push(at, event),
                Err(reason) => {
                    // Cannot happen with messages this version wrote; never stall the log on one.
                    tracing::error!(offset = at.offset, %reason, "unreadable event skipped");
                    self.telemetry.stage("process", "unreadable", 1);
                    batch.skip(at);
                }
            }
        }
        let report = process(
            &batch,
            self.results.as_ref(),
            self.cache.as_ref(),
            self.live.as_ref(),
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
