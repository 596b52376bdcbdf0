//! The in-process change-feed trigger: runs `Analyzer::step` until the feed is drained, then waits for
//! new readings (or a poll tick). Errors are retried after a pause that depends on their class
//! (`Backoff`); the checkpoint makes that safe.

use super::backoff::Backoff;
use super::IDLE_POLL;
use crate::health::StageHealth;
use crate::telemetry::Telemetry;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_core::analyze::Analyzer;
use tributary_core::ports::{CheckpointStore, EventLog, ReadingStore};

pub struct AnalyzeTrigger {
    pub analyzer: Analyzer,
    pub store: Arc<dyn ReadingStore>,
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub log: Arc<dyn EventLog>,
    pub telemetry: Arc<Telemetry>,
    /// Signalled when readings are stored.
    pub wake: Arc<Notify>,
    /// Signalled after events are published.
    pub published: Arc<Notify>,
    pub health: StageHealth,
}

impl AnalyzeTrigger {
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new("analyze", self.telemetry.clone());
        while !shutdown.is_cancelled() {
            let pause = match self
                .analyzer
                .step(
                    self.store.as_ref(),
                    self.checkpoints.as_ref(),
                    self.log.as_ref(),
                )
                .await
            {
                Ok(report) => {
                    backoff.succeeded();
                    self.telemetry.analyzed(&report);
                    match report.remaining {
                        Some(remaining) => {
                            self.telemetry.lag("change_feed", remaining);
                            self.health.lagging(remaining);
                        }
                        None => self.health.running(),
                    }
                    if report.scored > 0 {
                        self.published.notify_one();
                        continue;
                    }
                    IDLE_POLL
                }
                Err(e) => {
                    self.health.waiting(e.to_string());
                    backoff.failed(&e)
                }
            };
            if !super::wait(&shutdown, &self.wake, pause).await {
                break;
            }
        }
        tracing::debug!("analyze trigger stopped");
    }
}
