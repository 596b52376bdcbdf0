//! The analyze stage: score each reading from the change feed, publish the scored readings to the
//! event log, then commit the continuation with the detector state. Publishing before committing
//! means a crash republishes (at least once); the result store's identity check makes that harmless,
//! and the committed state makes the replayed scores identical. A record the feed cannot read, or the
//! event log refuses on its merits, is set aside in the same commit: it never stalls the feed.

pub mod balance;
mod detector;

pub use detector::{
    DetectorConfig, DeviceState, MetricConfig, MetricOverride, MetricState, DEFAULT_THRESHOLD,
};

use crate::ports::{CheckpointStore, Continuation, EventLog, Progress, ReadingStore, SetAside};
use crate::{DeviceId, PortError, Reading, ScoredReading, ScoredValue, Timestamp};
use std::collections::{BTreeSet, HashMap};

/// Scores one value of one metric with (and updates) its state; a metric whose settings say `off`
/// gets score 0 and keeps no state. The one scoring path of `dev`, `run`, `serve` and `detect`.
pub fn score_value(
    state: &mut DeviceState,
    name: &crate::MetricName,
    value: f64,
    ts: crate::Timestamp,
    cfg: &MetricConfig,
) -> ScoredValue {
    if cfg.off {
        return ScoredValue::plain(value, 0.0, false);
    }
    // Looked up before inserting, so the common case clones no name.
    if let Some(metric) = state.metrics.get_mut(name) {
        return metric.observe(value, ts.millis(), cfg);
    }
    let mut metric = MetricState::new();
    let scored = metric.observe(value, ts.millis(), cfg);
    state.metrics.insert(name.clone(), metric);
    scored
}

/// Scores one reading with (and updates) its device's state.
pub fn score(reading: Reading, state: &mut DeviceState, cfg: &DetectorConfig) -> ScoredReading {
    let metrics = reading
        .metrics
        .into_iter()
        .map(|(name, value)| {
            let metric_cfg = cfg.for_metric(name.as_str());
            let scored = score_value(state, &name, value, reading.ts, &metric_cfg);
            (name, scored)
        })
        .collect();
    ScoredReading {
        device_id: reading.device_id,
        id: reading.id,
        ts: reading.ts,
        seq: reading.seq,
        metrics,
        tags: reading.tags,
        received_at: reading.received_at,
    }
}

/// What one pass over the change feed did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalyzeReport {
    pub scored: usize,
    pub anomalies: usize,
    /// Records set aside: unreadable in the feed, or refused by the event log.
    pub set_aside: usize,
    pub remaining: Option<u64>,
}

/// The `source` of records analyze sets aside.
pub const SET_ASIDE_SOURCE: &str = "change_feed";

/// One analyze worker's view of a feed: the continuation and the detector states it has loaded.
/// Holds no I/O; `step` drives the ports.
pub struct Analyzer {
    feed: String,
    cfg: DetectorConfig,
    max_batch: usize,
    continuation: Option<Continuation>,
    states: HashMap<DeviceId, DeviceState>,
}

impl Analyzer {
    pub fn new(feed: impl Into<String>, cfg: DetectorConfig, max_batch: usize) -> Self {
        Self {
            feed: feed.into(),
            cfg,
            max_batch,
            continuation: None,
            states: HashMap::new(),
        }
    }

    /// Reads one page of changes, scores, publishes and commits it. On any error, forgets what it
    /// holds in memory so the next step starts again from the last commit.
    pub async fn step(
        &mut self,
        store: &dyn ReadingStore,
        checkpoints: &dyn CheckpointStore,
        log: &dyn EventLog,
    ) -> Result<AnalyzeReport, PortError> {
        let result = self.try_step(store, checkpoints, log).await;
        if result.is_err() {
            self.continuation = None;
            self.states.clear();
        }
        result
    }

    async fn try_step(
        &mut self,
        store: &dyn ReadingStore,
        checkpoints: &dyn CheckpointStore,
        log: &dyn EventLog,
    ) -> Result<AnalyzeReport, PortError> {
        let from = match &self.continuation {
            Some(c) => c.clone(),
            None => checkpoints
                .continuation(&self.feed)
                .await?
                .unwrap_or_else(Continuation::start),
        };
        let page = store.changes(&from, self.max_batch).await?;
        if page.readings.is_empty() && page.unreadable.is_empty() {
            self.continuation = Some(page.continuation);
            return Ok(AnalyzeReport {
                remaining: page.remaining,
                ..Default::default()
            });
        }
        let feed = self.feed.clone();
        let progress = Progress {
            key: &feed,
            continuation: &page.continuation,
        };
        let report = self
            .score_and_publish(
                page.readings,
                page.unreadable,
                Some(progress),
                checkpoints,
                log,
            )
            .await?;
        self.continuation = Some(page.continuation);
        Ok(AnalyzeReport {
            remaining: page.remaining,
            ..report
        })
    }

    /// Scores readings handed over by a trigger that tracks the feed itself (the Functions host's
    /// change-feed trigger), publishes them and commits the detector state. Detector state is loaded
    /// from the checkpoint store afresh, since another instance may have scored these devices since.
    pub async fn analyze_delivered(
        &mut self,
        readings: Vec<Reading>,
        unreadable: Vec<SetAside>,
        checkpoints: &dyn CheckpointStore,
        log: &dyn EventLog,
    ) -> Result<AnalyzeReport, PortError> {
        self.states.clear();
        let result = self
            .score_and_publish(readings, unreadable, None, checkpoints, log)
            .await;
        self.states.clear();
        result
    }

    async fn score_and_publish(
        &mut self,
        readings: Vec<Reading>,
        mut set_aside: Vec<SetAside>,
        progress: Option<Progress<'_>>,
        checkpoints: &dyn CheckpointStore,
        log: &dyn EventLog,
    ) -> Result<AnalyzeReport, PortError> {
        let devices: BTreeSet<DeviceId> = readings.iter().map(|r| r.device_id.clone()).collect();
        let missing: Vec<DeviceId> = devices
            .iter()
            .filter(|d| !self.states.contains_key(*d))
            .cloned()
            .collect();
        if !missing.is_empty() {
            for (device, state) in checkpoints.detector_states(&self.feed, &missing).await? {
                self.states.insert(device, state);
            }
        }
        let scored: Vec<ScoredReading> = readings
            .into_iter()
            .map(|r| {
                let state = self.states.entry(r.device_id.clone()).or_default();
                score(r, state, &self.cfg)
            })
            .collect();
        let scored = publish_or_set_aside(log, scored, &mut set_aside).await?;
        let touched: Vec<(DeviceId, DeviceState)> = devices
            .into_iter()
            .filter_map(|d| self.states.get(&d).map(|s| (d, s.clone())))
            .collect();
        checkpoints
            .commit(&self.feed, progress, &touched, &set_aside)
            .await?;
        Ok(AnalyzeReport {
            scored: scored.len(),
            anomalies: scored.iter().filter(|s| s.has_anomaly()).count(),
            set_aside: set_aside.len(),
            remaining: None,
        })
    }
}

/// Publishes the scored readings. If the log refuses the batch on its merits, publishes them one by
/// one and sets aside those it refuses (a republish of the others is harmless downstream). Returns
/// what was published.
async fn publish_or_set_aside(
    log: &dyn EventLog,
    scored: Vec<ScoredReading>,
    set_aside: &mut Vec<SetAside>,
) -> Result<Vec<ScoredReading>, PortError> {
    match log.publish(&scored).await {
        Ok(()) => return Ok(scored),
        Err(e) if !e.is_poison() => return Err(e),
        Err(_) => {}
    }
    let mut published = Vec::with_capacity(scored.len());
    for event in scored {
        match log.publish(std::slice::from_ref(&event)).await {
            Ok(()) => published.push(event),
            Err(e) if e.is_poison() => set_aside.push(SetAside {
                source: SET_ASIDE_SOURCE.into(),
                key: format!("{}/{}", event.device_id, event.id),
                record: serde_json::to_string(&event).unwrap_or_default(),
                reason: e.to_string(),
                set_aside_at: Timestamp::now(),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(published)
}
