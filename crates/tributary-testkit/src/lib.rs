//! Test support shared by the adapters' tests: value builders, and conformance suites written once
//! against the ports so every adapter is held to the same behaviour. Test code only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod result_store;

use tributary_core::ports::ResultStore;
use tributary_core::process::{ConsumedBatch, LogPosition, WindowAggregate};
use tributary_core::{
    AnomalyKind, DeviceId, MetricName, PortError, ReadingId, ScoredReading, ScoredValue, Timestamp,
};

pub type TestResult = Result<(), PortError>;

/// A whole minute, so `T0 + k * WINDOW_MS` starts window `k`.
pub const T0: i64 = 1_764_000_000_000;
pub const CONSUMER: &str = "process";

pub fn device(id: &str) -> DeviceId {
    DeviceId::parse(id).expect("valid device id")
}

pub fn metric(name: &str) -> MetricName {
    MetricName::parse(name).expect("valid metric name")
}

pub fn rid(id: &str) -> ReadingId {
    ReadingId::parse(id).expect("valid reading id")
}

pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// How the builders score a value: anomalous ones 0.9 as a spike against half their value, the
/// others 0.1 against themselves; the band is ±1 around the expected value.
pub fn judged(value: f64, anomaly: bool) -> ScoredValue {
    let expected = if anomaly { value / 2.0 } else { value };
    ScoredValue {
        value,
        score: if anomaly { 0.9 } else { 0.1 },
        anomaly,
        kind: anomaly.then_some(AnomalyKind::Spike),
        expected: Some(expected),
        lower: Some(expected - 1.0),
        upper: Some(expected + 1.0),
    }
}

/// A scored reading, each metric scored by `judged`.
pub fn scored(dev: &str, id: &str, ts: i64, metrics: &[(&str, f64, bool)]) -> ScoredReading {
    ScoredReading {
        device_id: device(dev),
        id: rid(id),
        ts: at(ts),
        seq: None,
        metrics: metrics
            .iter()
            .map(|(m, value, anomaly)| (metric(m), judged(*value, *anomaly)))
            .collect(),
        tags: Default::default(),
        received_at: at(ts + 500),
    }
}

/// The events as one consumer would read them: `first_offset`, `first_offset + 1`, … in one partition.
pub fn batch_at(partition: i32, first_offset: i64, events: &[ScoredReading]) -> ConsumedBatch {
    let mut batch = ConsumedBatch::new(CONSUMER);
    for (offset, event) in (first_offset..).zip(events) {
        batch.push(LogPosition { partition, offset }, event.clone());
    }
    batch
}

/// Every stored window of a device's metric.
pub async fn all_windows(
    results: &dyn ResultStore,
    dev: &DeviceId,
    m: &MetricName,
) -> Result<Vec<(Timestamp, WindowAggregate)>, PortError> {
    results
        .windows(dev, m, at(i64::MIN / 2), at(i64::MAX / 2))
        .await
}

/// A small deterministic generator (SplitMix64), so suites need no RNG crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
