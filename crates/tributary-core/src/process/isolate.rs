//! Applying a batch that the result store refuses for some of its records: halve the refused part
//! until each poison event stands alone, set it aside (before its position moves past it), and apply
//! everything else in order, exactly once. Transient and broken-backend failures are not the data's
//! fault: they come back to the caller, which waits and retries the batch; nothing is set aside.

use super::{process, ConsumedBatch, LogPosition, ProcessReport};
use crate::ports::{LatestCache, LiveFeed, ResultStore};
use crate::{PortError, ScoredReading};
use async_trait::async_trait;

/// Where process sets aside an event the result store refused on its merits (the dead-letter topic
/// for Kafka, the quarantine for the embedded log). Must be durable when it returns.
#[async_trait]
pub trait PoisonSink: Send + Sync {
    async fn set_aside(
        &self,
        at: LogPosition,
        event: &ScoredReading,
        error: &PortError,
    ) -> Result<(), PortError>;
}

impl ConsumedBatch {
    /// Splits the events at their middle. The first part advances each partition only past its own
    /// events; the second keeps the whole batch's positions (including skipped messages), so applying
    /// the two in order is applying the batch.
    fn halves(&self) -> (Self, Self) {
        let mid = self.events.len() / 2;
        let mut first = Self::new(self.consumer.clone());
        for (at, event) in &self.events[..mid] {
            first.push(*at, event.clone());
        }
        let second = Self {
            consumer: self.consumer.clone(),
            events: self.events[mid..].to_vec(),
            next_offsets: self.next_offsets.clone(),
        };
        (first, second)
    }

    /// The same positions with no events: applying it only moves past what was set aside.
    fn positions_only(&self) -> Self {
        Self {
            consumer: self.consumer.clone(),
            events: Vec::new(),
            next_offsets: self.next_offsets.clone(),
        }
    }
}

/// `process`, except that a batch refused as poison is narrowed down to the offending events, which
/// go to `poison`; the rest is applied. Costs about log2(n) extra transactions per poison event.
pub async fn process_isolating(
    batch: &ConsumedBatch,
    results: &dyn ResultStore,
    cache: &dyn LatestCache,
    live: &dyn LiveFeed,
    poison: &dyn PoisonSink,
) -> Result<ProcessReport, PortError> {
    let mut total = ProcessReport::default();
    // A stack: the next part to apply is last, so parts are applied in batch order.
    let mut pending = vec![batch.clone()];
    while let Some(part) = pending.pop() {
        match process(&part, results, cache, live).await {
            Ok(report) => total += report,
            Err(e) if !e.is_poison() => return Err(e),
            Err(e) => match part.events.as_slice() {
                [] => {
                    // Positions alone cannot be poison: the store itself is at fault.
                    return Err(PortError::broken(
                        e.backend(),
                        format!("refused to record positions only: {e}"),
                    ));
                }
                [(at, event)] => {
                    tracing::warn!(partition = at.partition, offset = at.offset, error = %e,
                        "event refused by the result store; setting it aside");
                    poison.set_aside(*at, event, &e).await?;
                    total.set_aside += 1;
                    pending.push(part.positions_only());
                }
                _ => {
                    let (first, second) = part.halves();
                    pending.push(second);
                    pending.push(first);
                }
            },
        }
    }
    Ok(total)
}

#[cfg(test)]
#[path = "isolate_tests.rs"]
mod tests;
