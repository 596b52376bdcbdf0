//! Integration tests of the embedded adapters against their ports: each test opens fresh SQLite files in
//! a temporary directory and checks what the port documents (dedup, change feed, checkpoints,
//! exactly-once apply, event log). No test reaches into the adapters' tables.

use async_trait::async_trait;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tributary_core::analyze::{score, score_value, Analyzer, DetectorConfig, DeviceState};
use tributary_core::ports::{
    CheckpointStore, Continuation, EventLog, Inserted, LatestCache, LiveFeed, LiveUpdate, Progress,
    ReadingStore, SetAside,
};
use tributary_core::process::DeviceLatest;
use tributary_core::{DeviceId, PortError, Reading, ReadingId, ScoredReading};
use tributary_embedded::{
    BroadcastLiveFeed, EmbeddedStorage, MemoryLatestCache, SqliteCheckpointStore, PARTITION,
};
use tributary_testkit::{at, device, metric, rid, scored, TestResult, T0};

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
