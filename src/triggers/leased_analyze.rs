//! The native change-feed trigger for a feed that instances share through leases (Cosmos DB). Every
//! few seconds this instance reads the leases and takes its share (`analyze::balance`); each held
//! range gets a worker running `Analyzer::step`, whose continuation lives in the lease and is written
//! with every commit, conditional on the lease being unchanged. A worker whose lease another instance
//! took stops at its next write; on shutdown, workers release their leases so others go on at once.

use super::backoff::Backoff;
use super::IDLE_POLL;
use crate::health::StageHealth;
use crate::telemetry::Telemetry;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tributary_core::analyze::balance::leases_to_take;
use tributary_core::analyze::{Analyzer, DetectorConfig, DeviceState};
use tributary_core::ports::{
    CheckpointStore, Continuation, EventLog, FeedLeases, Lease, Progress, ReadingStore, SetAside,
};
use tributary_core::{DeviceId, PortError, Timestamp};

/// Everything a range worker needs, shared by all of them.
pub struct LeasedAnalyze {
    /// This instance's name in the leases (unique per process).
    pub instance: String,
    pub leases: Arc<dyn FeedLeases>,
    pub store: Arc<dyn ReadingStore>,
    /// Detector state (PostgreSQL or embedded); continuations are in the leases.
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub log: Arc<dyn EventLog>,
    pub telemetry: Arc<Telemetry>,
    pub feed: &'static str,
    pub detector: DetectorConfig,
    pub max_batch: usize,
    pub lease_expiry: Duration,
    /// Signalled after events are published.
    pub published: Arc<Notify>,
    pub health: StageHealth,
}

type Workers = HashMap<String, (CancellationToken, JoinHandle<()>)>;

impl LeasedAnalyze {
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let lag: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let mut workers: Workers = HashMap::new();
        let every = (this.lease_expiry / 5).max(Duration::from_millis(100));
        loop {
            workers.retain(|_, (_, handle)| !handle.is_finished());
            let balanced = this.balance(&mut workers, &lag).await;
            let total = lag.lock().map(|l| l.values().sum()).unwrap_or(0);
            this.telemetry.lag("change_feed", total);
            match balanced {
                Ok(()) => this.health.lagging(total),
                Err(e) => {
                    tracing::warn!(error = %e, "reading the change-feed leases failed; retrying");
                    this.health
                        .waiting(format!("reading the change-feed leases: {e}"));
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
        for (stop, _) in workers.values() {
            stop.cancel();
        }
        for (_, (_, handle)) in workers {
            let _ = handle.await;
        }
        tracing::debug!("leased analyze trigger stopped");
    }

    /// Takes this instance's share of the leases and starts a worker for each lease it holds.
    async fn balance(
        self: &Arc<Self>,
        workers: &mut Workers,
        lag: &Arc<Mutex<BTreeMap<String, u64>>>,
    ) -> Result<(), PortError> {
        let all = self.leases.leases().await?;
        let now = Timestamp::now();
        let mut held: Vec<Lease> = all
            .iter()
            .filter(|l| l.held_by(&self.instance, now) && !workers.contains_key(&l.range))
            .cloned()
            .collect();
        for take in leases_to_take(&all, &self.instance, now) {
            // A worker whose lease lapsed (its backend was away) renews it itself, or learns it lost it.
            if workers.contains_key(&take.range) {
                continue;
            }
            let Some(lease) = all.iter().find(|l| l.range == take.range) else {
                continue;
            };
            let next = Lease {
                owner: Some(self.instance.clone()),
                expires_at: now.saturating_add_ms(self.expiry_ms()),
                ..lease.clone()
            };
            match self.leases.replace(lease, next).await? {
                Some(taken) => {
                    tracing::info!(range = %taken.range, steal = take.steal, "took a change-feed lease");
                    held.push(taken);
                }
                None => {
                    tracing::debug!(range = %lease.range, "another instance took the lease first")
                }
            }
        }
        for lease in held {
            let stop = CancellationToken::new();
            let range = lease.range.clone();
            let worker = tokio::spawn(self.clone().work(lease, stop.clone(), lag.clone()));
            workers.insert(range, (stop, worker));
        }
        Ok(())
    }

    fn expiry_ms(&self) -> i64 {
        i64::try_from(self.lease_expiry.as_millis()).unwrap_or(i64::MAX)
    }

    /// Analyses one range while this instance holds its lease.
    async fn work(
        self: Arc<Self>,
        lease: Lease,
        stop: CancellationToken,
        lag: Arc<Mutex<BTreeMap<String, u64>>>,
    ) {
        let range = lease.range.clone();
        let checkpoints = RangeCheckpoints {
            lease: Mutex::new(lease),
            written: Mutex::new(Instant::now()),
            leases: self.leases.clone(),
            inner: self.checkpoints.clone(),
            expiry_ms: self.expiry_ms(),
            lost: AtomicBool::new(false),
        };
        let mut analyzer = Analyzer::new(self.feed, self.detector.clone(), self.max_batch);
        let renew_every = self.lease_expiry / 3;
        let mut backoff = Backoff::new("analyze", self.telemetry.clone());
        while !stop.is_cancelled() {
            let pause = match analyzer
                .step(self.store.as_ref(), &checkpoints, self.log.as_ref())
                .await
            {
                Ok(report) => {
                    backoff.succeeded();
                    self.telemetry.analyzed(&report);
                    if let (Some(remaining), Ok(mut lag)) = (report.remaining, lag.lock()) {
                        lag.insert(range.clone(), remaining);
                    }
                    if report.scored > 0 {
                        self.published.notify_one();
                        Duration::ZERO
                    } else {
                        IDLE_POLL
                    }
                }
                Err(_) if checkpoints.lost() => break,
                Err(e) => backoff.failed(&e),
            };
            if checkpoints.since_written() >= renew_every {
                if let Err(e) = checkpoints.write(|_| {}).await {
                    if checkpoints.lost() {
                        break;
                    }
                    tracing::warn!(error = %e, range = %range, "renewing a change-feed lease failed");
                }
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
        if let Ok(mut lag) = lag.lock() {
            lag.remove(&range);
        }
        if checkpoints.lost() {
            tracing::info!(range = %range, "another instance took this change-feed lease");
        } else if let Err(e) = checkpoints
            .write(|l| {
                l.owner = None;
                l.expires_at = Timestamp::from_millis(0);
            })
            .await
        {
            tracing::warn!(error = %e, range = %range, "releasing a change-feed lease failed; it frees itself on expiry");
        }
    }
}

/// Analyze's checkpoints for one leased range. The continuation commits in the shared checkpoint
/// store under the range's own key, in the same transaction as the detector state, so a crash
/// between the two cannot fold a page into the state twice; the lease is written after it (so a lost
/// lease replays, never skips) and only serves as the start for a range the store has never seen.
struct RangeCheckpoints {
    lease: Mutex<Lease>,
    written: Mutex<Instant>,
    leases: Arc<dyn FeedLeases>,
    inner: Arc<dyn CheckpointStore>,
    expiry_ms: i64,
    lost: AtomicBool,
}

impl RangeCheckpoints {
    fn current(&self) -> Lease {
        self.lease
            .lock()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    fn since_written(&self) -> Duration {
        self.written.lock().map(|w| w.elapsed()).unwrap_or_default()
    }

    /// Writes the lease, renewed and changed by `change`, if it is still ours as we last saw it.
    async fn write(&self, change: impl FnOnce(&mut Lease)) -> Result<(), PortError> {
        let current = self.current();
        let mut next = current.clone();
        next.expires_at = Timestamp::now().saturating_add_ms(self.expiry_ms);
        change(&mut next);
        match self.leases.replace(&current, next).await? {
            Some(written) => {
                if let Ok(mut lease) = self.lease.lock() {
                    *lease = written;
                }
                if let Ok(mut at) = self.written.lock() {
                    *at = Instant::now();
                }
                Ok(())
            }
            None => {
                self.lost.store(true, Ordering::Relaxed);
                Err(PortError::broken(
                    "lease",
                    format!(
                        "the lease on {} was taken by another instance",
                        current.range
                    ),
                ))
            }
        }
    }
}

impl RangeCheckpoints {
    /// The key this range's continuation is committed under in the checkpoint store.
    fn progress_key(&self, feed: &str) -> String {
        format!("{feed}@{}", self.current().range)
    }
}

#[async_trait]
impl CheckpointStore for RangeCheckpoints {
    async fn continuation(&self, feed: &str) -> Result<Option<Continuation>, PortError> {
        match self.inner.continuation(&self.progress_key(feed)).await? {
            Some(committed) => Ok(Some(committed)),
            None => Ok(Some(self.current().continuation)),
        }
    }

    async fn detector_states(
        &self,
        feed: &str,
        devices: &[DeviceId],
    ) -> Result<Vec<(DeviceId, DeviceState)>, PortError> {
        self.inner.detector_states(feed, devices).await
    }

    async fn commit(
        &self,
        feed: &str,
        progress: Option<Progress<'_>>,
        states: &[(DeviceId, DeviceState)],
        set_aside: &[SetAside],
    ) -> Result<(), PortError> {
        let key = self.progress_key(feed);
        let ranged = progress.map(|p| Progress {
            key: &key,
            continuation: p.continuation,
        });
        self.inner.commit(feed, ranged, states, set_aside).await?;
        match progress {
            Some(p) => {
                self.write(|l| l.continuation = p.continuation.clone())
                    .await
            }
            None => Ok(()),
        }
    }
}
