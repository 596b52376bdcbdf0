//! The process stage: apply a consumed batch of scored readings to the result store exactly once,
//! then refresh the latest-state cache and push live updates. The aggregation itself is pure
//! (`aggregate`, `latest_by_device`); result-store adapters call it inside their transaction.

mod isolate;
mod latest;
mod window;

pub use isolate::{process_isolating, PoisonSink};
pub use latest::{latest_by_device, latest_order, DeviceLatest, LatestValue};
pub use window::{aggregate, WindowAggregate, WindowKey, WINDOW_MS};

use crate::ports::{Anomaly, LatestCache, LiveFeed, ResultStore};
use crate::{DeviceId, MetricName, PortError, ScoredReading};
use std::collections::{BTreeMap, HashSet};

/// Where a message sits in the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    pub partition: i32,
    pub offset: i64,
}

/// A batch as one consumer read it: the events it could parse, and how far it read in each partition
/// (including messages it could not parse, which were dead-lettered and must not stall the partition).
#[derive(Debug, Clone, Default)]
pub struct ConsumedBatch {
    pub consumer: String,
    pub events: Vec<(LogPosition, ScoredReading)>,
    /// Next offset to read per partition once this batch is applied.
    pub next_offsets: BTreeMap<i32, i64>,
}

impl ConsumedBatch {
    pub fn new(consumer: impl Into<String>) -> Self {
        Self {
            consumer: consumer.into(),
            ..Self::default()
        }
    }

    pub fn push(&mut self, at: LogPosition, event: ScoredReading) {
        self.advance(at);
        self.events.push((at, event));
    }

    /// Records that `at` was read but holds nothing to apply.
    pub fn skip(&mut self, at: LogPosition) {
        self.advance(at);
    }

    fn advance(&mut self, at: LogPosition) {
        let next = self
            .next_offsets
            .entry(at.partition)
            .or_insert(at.offset + 1);
        *next = (*next).max(at.offset + 1);
    }

    pub fn is_empty(&self) -> bool {
        self.next_offsets.is_empty()
    }
}

impl ConsumedBatch {
    /// The events at or past their partition's stored next offset (`next_offset`), and how many were
    /// below it: a redelivery of what was already applied. Step one of every `ResultStore::apply`.
    pub fn undelivered(
        &self,
        next_offset: impl Fn(i32) -> Option<i64>,
    ) -> (Vec<&ScoredReading>, usize) {
        let mut redelivered = 0;
        let kept = self
            .events
            .iter()
            .filter(|(at, _)| {
                let seen = next_offset(at.partition).is_some_and(|next| at.offset < next);
                redelivered += usize::from(seen);
                !seen
            })
            .map(|(_, event)| event)
            .collect();
        (kept, redelivered)
    }
}

/// Step two of every `ResultStore::apply`: of the kept events, those whose `(deviceId, id)` the store
/// just claimed are fresh; the rest were counted before (a republish, or a second copy in the batch).
pub fn split_claimed(
    kept: Vec<&ScoredReading>,
    mut claimed: HashSet<(String, String)>,
) -> (Vec<ScoredReading>, usize) {
    let mut fresh = Vec::with_capacity(claimed.len());
    let mut republished = 0;
    for event in kept {
        // `remove`: only the first copy of an identity in the batch is fresh.
        if claimed.remove(&(event.device_id.to_string(), event.id.to_string())) {
            fresh.push(event.clone());
        } else {
            republished += 1;
        }
    }
    (fresh, republished)
}

/// The anomalies a batch of fresh readings contains.
pub fn anomalies_in<'a>(readings: impl IntoIterator<Item = &'a ScoredReading>) -> Vec<Anomaly> {
    readings
        .into_iter()
        .flat_map(|r| {
            r.metrics
                .iter()
                .filter(|(_, s)| s.anomaly)
                .map(move |(metric, s)| Anomaly {
                    device_id: r.device_id.clone(),
                    metric: metric.clone(),
                    ts: r.ts,
                    value: s.value,
                    score: s.score,
                    reading_id: r.id.clone(),
                    kind: s.kind,
                    expected: s.expected,
                    lower: s.lower,
                    upper: s.upper,
                })
        })
        .collect()
}

/// Of the windows a batch changed, the latest-starting one per device and metric.
pub fn current_windows(
    windows: &[(WindowKey, WindowAggregate)],
) -> Vec<(WindowKey, WindowAggregate)> {
    let mut latest: BTreeMap<(DeviceId, MetricName), (WindowKey, WindowAggregate)> =
        BTreeMap::new();
    for (key, window) in windows {
        let slot = (key.device_id.clone(), key.metric.clone());
        match latest.get(&slot) {
            Some((kept, _)) if kept.start > key.start => {}
            _ => {
                latest.insert(slot, (key.clone(), *window));
            }
        }
    }
    latest.into_values().collect()
}

/// What processing one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessReport {
    pub fresh: usize,
    pub redelivered: usize,
    pub republished: usize,
    /// Events the result store refused on their merits, set aside (`process_isolating`).
    pub set_aside: usize,
}

impl std::ops::AddAssign for ProcessReport {
    fn add_assign(&mut self, other: Self) {
        self.fresh += other.fresh;
        self.redelivered += other.redelivered;
        self.republished += other.republished;
        self.set_aside += other.set_aside;
    }
}

/// Applies the batch, then updates the cache and live feed with what was fresh. Only the result
/// store can fail the batch; the cache and the feed are best effort (they rebuild from new readings).
pub async fn process(
    batch: &ConsumedBatch,
    results: &dyn ResultStore,
    cache: &dyn LatestCache,
    live: &dyn LiveFeed,
) -> Result<ProcessReport, PortError> {
    if batch.is_empty() {
        return Ok(ProcessReport::default());
    }
    let applied = results.apply(batch).await?;
    if !applied.fresh.is_empty() {
        let latest: Vec<DeviceLatest> = latest_by_device(&applied.fresh).into_values().collect();
        if let Err(e) = cache.merge(&latest).await {
            tracing::warn!(error = %e, "latest cache not updated; it catches up with new readings");
        }
        if let Err(e) = cache
            .merge_windows(&current_windows(&applied.windows))
            .await
        {
            tracing::warn!(error = %e, "current windows not cached; they catch up with new readings");
        }
        if let Err(e) = live.publish(&applied.fresh).await {
            tracing::warn!(error = %e, "live updates not published");
        }
    }
    Ok(ProcessReport {
        fresh: applied.fresh.len(),
        redelivered: applied.redelivered,
        republished: applied.republished,
        set_aside: 0,
    })
}

#[cfg(test)]
mod tests;
