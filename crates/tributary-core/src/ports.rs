//! Port traits, named by role. Adapters (embedded, Cosmos, Kafka, PostgreSQL, Redis) implement them;
//! stages and edges hold them as `Arc<dyn Port>`.

use crate::process::{ConsumedBatch, DeviceLatest, WindowAggregate, WindowKey};
use crate::{DeviceId, MetricName, PortError, Reading, ReadingId, ScoredReading, Timestamp};
use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a reading was new to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    Duplicate,
}

/// Opaque position in a reading store's change feed. `Continuation::start()` is the beginning.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Continuation(pub String);

impl Continuation {
    pub fn start() -> Self {
        Self::default()
    }
}

/// One page of the change feed, in write order.
#[derive(Debug, Clone)]
pub struct ChangePage {
    pub readings: Vec<Reading>,
    /// Records in this page that are not readings this version can read: analyze sets them aside
    /// (with the continuation that moves past them) instead of stalling the feed for everyone.
    pub unreadable: Vec<SetAside>,
    /// Where the next page starts; equal to the request's when nothing was new.
    pub continuation: Continuation,
    /// Readings written after this page (the change-feed lag), if the store can tell.
    pub remaining: Option<u64>,
}

/// Where accepted readings live (Cosmos DB in production), and the change feed over them.
#[async_trait]
pub trait ReadingStore: Send + Sync {
    /// Stores each reading unless `(deviceId, id)` is already stored. Durable when it returns.
    /// Outcomes are in the order of `readings`.
    async fn insert_new(&self, readings: &[Reading]) -> Result<Vec<Inserted>, PortError>;

    /// Up to `max` readings written after `from`, in write order.
    async fn changes(&self, from: &Continuation, max: usize) -> Result<ChangePage, PortError>;
}

/// A record a stage could not read or apply, kept verbatim with why, so that the stage moves on for
/// everyone else and an operator can list it and replay it after a fix (`tributary dead-letters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetAside {
    /// Where it came from (`change_feed`, `event_log`).
    pub source: String,
    /// Its identity or position there; setting the same record aside twice keeps one copy.
    pub key: String,
    /// The record as stored.
    pub record: String,
    pub reason: String,
    pub set_aside_at: Timestamp,
}

/// How far a feed's reader has got, kept under `key` (the feed, or one leased range of it).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub key: &'a str,
    pub continuation: &'a Continuation,
}

/// Analyze's durable progress: the change-feed continuation, the detector state of each device and
/// the records set aside, committed together so that a replay after a crash scores exactly as the
/// first run did and never sets a record aside without moving past it (or the reverse).
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The continuation committed under `key`.
    async fn continuation(&self, key: &str) -> Result<Option<Continuation>, PortError>;

    /// Saved detector state for the devices asked for (absent ones are new devices).
    async fn detector_states(
        &self,
        feed: &str,
        devices: &[DeviceId],
    ) -> Result<Vec<(DeviceId, crate::analyze::DeviceState)>, PortError>;

    /// Saves the states, the records set aside and, when the caller tracks the feed itself, its
    /// progress, atomically.
    async fn commit(
        &self,
        feed: &str,
        progress: Option<Progress<'_>>,
        states: &[(DeviceId, crate::analyze::DeviceState)],
        set_aside: &[SetAside],
    ) -> Result<(), PortError>;
}

/// The records set aside, for operators: listed oldest first, and forgotten once replayed.
#[async_trait]
pub trait Quarantine: Send + Sync {
    /// Keeps these (one copy per source and key). Durable when it returns.
    async fn set_aside(&self, records: &[SetAside]) -> Result<(), PortError>;
    /// Up to `limit` records, oldest first.
    async fn list(&self, limit: usize) -> Result<Vec<SetAside>, PortError>;
    /// Forgets these records (after a successful replay).
    async fn release(&self, records: &[SetAside]) -> Result<(), PortError>;
}

/// The stream of scored readings between analyze and process (Kafka in production), keyed by device.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends the events; returns once the log has acknowledged them all.
    async fn publish(&self, events: &[ScoredReading]) -> Result<(), PortError>;
}

/// A reading that was flagged, as the anomaly list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anomaly {
    pub device_id: DeviceId,
    pub metric: MetricName,
    pub ts: Timestamp,
    pub value: f64,
    pub score: f64,
    pub reading_id: ReadingId,
    /// What the detector judged (absent on anomalies stored before detector v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::AnomalyKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
}

/// What applying one consumed batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Readings counted for the first time, in batch order.
    pub fresh: Vec<ScoredReading>,
    /// Deliveries at or below the stored position of their partition (a redelivery).
    pub redelivered: usize,
    /// Readings already counted under another position (a republish by analyze).
    pub republished: usize,
    /// The merged state of every window the fresh readings changed.
    pub windows: Vec<(WindowKey, WindowAggregate)>,
}

/// Where aggregates live (PostgreSQL in production) and where the query API reads from.
#[async_trait]
pub trait ResultStore: Send + Sync {
    /// Applies a consumed batch exactly once, atomically: the readings not counted before, the window
    /// aggregates, anomalies and device summaries they change, and the consumer's new positions.
    async fn apply(&self, batch: &ConsumedBatch) -> Result<Applied, PortError>;

    /// The next offset to read for each partition of `consumer` (empty: start from the beginning).
    async fn positions(&self, consumer: &str) -> Result<BTreeMap<i32, i64>, PortError>;

    /// Up to `limit` devices whose id sorts after `after` (from the first when `None`), in id order.
    async fn devices(
        &self,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> Result<Vec<DeviceLatest>, PortError>;

    async fn device(&self, id: &DeviceId) -> Result<Option<DeviceLatest>, PortError>;

    /// One-minute windows of a device's metric whose start lies in `[from, to)`, ascending.
    async fn windows(
        &self,
        device: &DeviceId,
        metric: &MetricName,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, WindowAggregate)>, PortError>;

    /// Anomalies with `ts >= since`, newest first.
    async fn anomalies(&self, since: Timestamp, limit: usize) -> Result<Vec<Anomaly>, PortError>;
}

/// Latest state per device, for fast reads (Redis in production). Losing it loses nothing.
#[async_trait]
pub trait LatestCache: Send + Sync {
    /// Merges these into what is cached (newer metric values win).
    async fn merge(&self, latest: &[DeviceLatest]) -> Result<(), PortError>;
    async fn get(&self, id: &DeviceId) -> Result<Option<DeviceLatest>, PortError>;

    /// Keeps each device's current (latest-starting) window per metric, as the result store merged it.
    async fn merge_windows(
        &self,
        windows: &[(WindowKey, WindowAggregate)],
    ) -> Result<(), PortError>;

    /// A device's current window per metric: its start and aggregate.
    async fn current_windows(&self, id: &DeviceId) -> Result<CurrentWindows, PortError>;
}

/// A device's current window per metric.
pub type CurrentWindows = BTreeMap<MetricName, (Timestamp, WindowAggregate)>;

/// Live updates for `/api/stream` (Redis pub/sub across processes in production).
#[async_trait]
pub trait LiveFeed: Send + Sync {
    async fn publish(&self, readings: &[ScoredReading]) -> Result<(), PortError>;
    /// Updates published from now on, or, with `resume_after`, those after the update of that id
    /// that the feed still holds. A slow subscriber may miss some (it is told how many); it never
    /// blocks publishers.
    fn subscribe(&self, resume_after: Option<u64>) -> BoxStream<'static, LiveUpdate>;
}

/// What a live subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveUpdate {
    /// A processed reading, with its position in the feed when the feed numbers its updates.
    Reading {
        id: Option<u64>,
        reading: Box<ScoredReading>,
    },
    /// Updates this subscriber will never see: it fell behind, or they were published while it was
    /// away. `None` when the feed cannot tell how many (a resume it cannot serve).
    Missed(Option<u64>),
}

/// One range of a change feed that analyze instances share: who holds it, until when, and how far it
/// has been analysed. The Cosmos DB lease container holds one per feed range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The feed range this lease covers (opaque to the core).
    pub range: String,
    /// The instance holding it; `None` when released or never taken.
    pub owner: Option<String>,
    /// Until when the owner holds it unless it renews; afterwards any instance may take it.
    pub expires_at: Timestamp,
    /// Where analysis of this range resumes.
    pub continuation: Continuation,
    /// The store's version of this lease (an etag): a write succeeds only if it is unchanged.
    pub version: String,
}

impl Lease {
    /// Held by someone other than `me` and not yet expired.
    pub fn held_by_other(&self, me: &str, now: Timestamp) -> bool {
        matches!(&self.owner, Some(o) if o != me) && self.expires_at > now
    }

    /// Held by `me` and not yet expired.
    pub fn held_by(&self, me: &str, now: Timestamp) -> bool {
        self.owner.as_deref() == Some(me) && self.expires_at > now
    }
}

/// The leases over a reading store's change feed (Cosmos DB's lease container in production).
#[async_trait]
pub trait FeedLeases: Send + Sync {
    /// Every range's lease, creating a free one (from the start of its range) for any range that has
    /// none yet.
    async fn leases(&self) -> Result<Vec<Lease>, PortError>;

    /// Replaces `current` with `next` if the stored lease is still `current` (same version); `None`
    /// when another instance changed it first. The returned lease carries the new version.
    async fn replace(&self, current: &Lease, next: Lease) -> Result<Option<Lease>, PortError>;
}
