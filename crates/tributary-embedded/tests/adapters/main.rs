//! Integration tests of the embedded adapters against their ports: each test opens fresh SQLite files in
//! a temporary directory and checks what the port documents (dedup, change feed, checkpoints,
//! exactly-once apply, event log). No test reaches into the adapters' tables.

use async_trait::async_trait;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tributary_core::analyze::{score, Analyzer, DetectorConfig, DeviceState, MetricStats};
use tributary_core::ports::{
    Anomaly, Applied, CheckpointStore, Continuation, EventLog, Inserted, LatestCache, LiveFeed,
    ReadingStore, ResultStore,
};
use tributary_core::process::{aggregate, ConsumedBatch, DeviceLatest, LogPosition, WINDOW_MS};
use tributary_core::{
    DeviceId, MetricName, PortError, Reading, ReadingId, ScoredReading, ScoredValue, Timestamp,
};
use tributary_embedded::{
    BroadcastLiveFeed, EmbeddedStorage, MemoryLatestCache, SqliteCheckpointStore, PARTITION,
};

type TestResult = Result<(), PortError>;

/// A whole minute, so `T0 + k * WINDOW_MS` starts window `k`.
const T0: i64 = 1_764_000_000_000;
const CONSUMER: &str = "process";

fn device(id: &str) -> DeviceId {
    DeviceId::parse(id).expect("valid device id")
}

fn metric(name: &str) -> MetricName {
    MetricName::parse(name).expect("valid metric name")
}

fn rid(id: &str) -> ReadingId {
    ReadingId::parse(id).expect("valid reading id")
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn reading(dev: &str, id: &str, ts: i64, metrics: &[(&str, f64)]) -> Reading {
    Reading {
        device_id: device(dev),
        id: rid(id),
        ts: at(ts),
        seq: None,
        metrics: metrics.iter().map(|(m, v)| (metric(m), *v)).collect(),
        tags: Default::default(),
        received_at: at(ts + 500),
    }
}

/// A scored reading; anomalous metrics score 6, the others 0.5.
fn scored(dev: &str, id: &str, ts: i64, metrics: &[(&str, f64, bool)]) -> ScoredReading {
    ScoredReading {
        device_id: device(dev),
        id: rid(id),
        ts: at(ts),
        seq: None,
        metrics: metrics
            .iter()
            .map(|(m, value, anomaly)| {
                let score = if *anomaly { 6.0 } else { 0.5 };
                let v = ScoredValue {
                    value: *value,
                    score,
                    anomaly: *anomaly,
                };
                (metric(m), v)
            })
            .collect(),
        tags: Default::default(),
        received_at: at(ts + 500),
    }
}

/// Deterministic noise in [-0.5, 0.5), so tests need no RNG crate.
fn noise(i: u64) -> f64 {
    let x = i
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((x >> 33) as f64 / (1u64 << 31) as f64) - 0.5
}

async fn open(dir: &Path) -> Result<EmbeddedStorage, PortError> {
    EmbeddedStorage::open(dir).await
}

/// The events as one consumer would read them: `first_offset`, `first_offset + 1`, … in one partition.
fn batch_at(partition: i32, first_offset: i64, events: &[ScoredReading]) -> ConsumedBatch {
    let mut batch = ConsumedBatch::new(CONSUMER);
    for (offset, event) in (first_offset..).zip(events) {
        batch.push(LogPosition { partition, offset }, event.clone());
    }
    batch
}

/// Every message of the log, parsed.
async fn logged(storage: &EmbeddedStorage) -> Result<Vec<(i64, ScoredReading)>, PortError> {
    Ok(storage
        .events
        .read(0, 10_000)
        .await?
        .into_iter()
        .map(|(pos, event)| {
            assert_eq!(pos.partition, PARTITION);
            (pos.offset, event.expect("the log holds parseable events"))
        })
        .collect())
}

/// Every stored window of a device's metric.
async fn all_windows(
    storage: &EmbeddedStorage,
    dev: &DeviceId,
    m: &MetricName,
) -> Result<Vec<(Timestamp, tributary_core::process::WindowAggregate)>, PortError> {
    storage
        .results
        .windows(dev, m, at(i64::MIN / 2), at(i64::MAX / 2))
        .await
}

/// Five scored readings over two devices; the fourth is an anomaly.
fn five_events() -> Vec<ScoredReading> {
    (0..5i64)
        .map(|i| {
            let dev = format!("pump-{}", i % 2);
            scored(
                &dev,
                &format!("r{i}"),
                T0 + i * 1_000,
                &[("temp", 20.0 + i as f64, i == 3)],
            )
        })
        .collect()
}

mod checkpoints;
mod event_log;
mod live;
mod readings;
mod results;
