//! Conformance at scale and under any batching: many devices and windows in one batch, random
//! batch boundaries and orders, redeliveries, republishes and concurrent applies all give exactly the
//! core's aggregate of the distinct readings.

use crate::*;
use std::collections::BTreeMap;
use tributary_core::ports::{Applied, ResultStore};
use tributary_core::process::{aggregate, ConsumedBatch, LogPosition, WindowAggregate, WINDOW_MS};
use tributary_core::{DeviceId, MetricName, ScoredReading, Timestamp};

/// Windows by device, metric and start.
pub type Windows = BTreeMap<(DeviceId, MetricName, Timestamp), WindowAggregate>;

/// The windows the core aggregates from `readings`: what any result store must end up holding.
pub fn expected(readings: &[ScoredReading]) -> Windows {
    aggregate(readings)
        .into_iter()
        .map(|(k, w)| ((k.device_id, k.metric, k.start), w))
        .collect()
}

/// The windows `results` holds for the devices and metrics of `readings`.
pub async fn observed(
    results: &dyn ResultStore,
    readings: &[ScoredReading],
) -> Result<Windows, PortError> {
    let mut keys: Vec<(DeviceId, MetricName)> = readings
        .iter()
        .flat_map(|r| r.metrics.keys().map(|m| (r.device_id.clone(), m.clone())))
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Windows::new();
    for (d, m) in keys {
        for (start, w) in all_windows(results, &d, &m).await? {
            out.insert((d.clone(), m.clone(), start), w);
        }
    }
    Ok(out)
}

/// Integer-valued readings (exact sums in any order) for `devices` devices over `windows` minutes.
fn fleet(prefix: &str, devices: usize, windows: i64, per_window: i64) -> Vec<ScoredReading> {
    let mut out = Vec::new();
    for d in 0..devices {
        for w in 0..windows {
            for k in 0..per_window {
                let i = (d as i64) * 1_000_000 + w * 100 + k;
                let ts = T0 + w * WINDOW_MS + k * 7_000;
                let metrics = [
                    ("temp", (i % 97) as f64, i % 13 == 0),
                    ("hum", (i % 31) as f64, false),
                ];
                out.push(scored(
                    &format!("{prefix}-{d}"),
                    &format!("r{i}"),
                    ts,
                    &metrics,
                ));
            }
        }
    }
    out
}

pub async fn an_empty_batch_changes_nothing(results: &dyn ResultStore) -> TestResult {
    assert_eq!(
        results.apply(&ConsumedBatch::new(CONSUMER)).await?,
        Applied::default()
    );
    assert!(results.positions(CONSUMER).await?.is_empty());
    assert!(results.devices(None, 1000).await?.is_empty());
    Ok(())
}

pub async fn one_batch_spanning_many_devices_and_windows_is_applied_whole(
    results: &dyn ResultStore,
) -> TestResult {
    let readings = fleet("wide", 40, 30, 2);
    let applied = results.apply(&batch_at(0, 0, &readings)).await?;
    assert_eq!(applied.fresh.len(), readings.len());
    let expected = expected(&readings);
    assert_eq!(expected.len(), 40 * 30 * 2);
    assert_eq!(observed(results, &readings).await?, expected);
    assert_eq!(results.devices(None, 1000).await?.len(), 40);
    Ok(())
}

/// Random batch boundaries, with every batch sometimes redelivered and some readings republished
/// under new offsets: the result is the aggregate of the distinct readings, for several seeds.
pub async fn any_batching_with_redeliveries_and_republishes_gives_the_core_aggregate(
    results: &dyn ResultStore,
) -> TestResult {
    for seed in 1..=4u64 {
        let mut rng = Rng::new(seed);
        let mut readings = fleet(&format!("seed{seed}"), 5, 6, 3);
        for i in (1..readings.len()).rev() {
            readings.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let consumer = format!("{CONSUMER}-{seed}");
        let partition_of = |r: &ScoredReading| (r.device_id.as_str().len() % 3) as i32;
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        let mut delivered: Vec<ScoredReading> = Vec::new();
        let mut rest = readings.as_slice();
        while !rest.is_empty() {
            let size = (1 + rng.below(25) as usize).min(rest.len());
            let (now, later) = rest.split_at(size);
            rest = later;
            let mut events: Vec<ScoredReading> = now.to_vec();
            // Republish a few already delivered readings under new offsets.
            for _ in 0..rng.below(3) {
                if !delivered.is_empty() {
                    events.push(delivered[rng.below(delivered.len() as u64) as usize].clone());
                }
            }
            let mut batch = ConsumedBatch::new(consumer.clone());
            for event in &events {
                let slot = next.entry(partition_of(event)).or_insert(0);
                batch.push(
                    LogPosition {
                        partition: partition_of(event),
                        offset: *slot,
                    },
                    event.clone(),
                );
                *slot += 1;
            }
            results.apply(&batch).await?;
            if rng.below(3) == 0 {
                let again = results.apply(&batch).await?;
                assert!(
                    again.fresh.is_empty(),
                    "a redelivered batch counted again (seed {seed})"
                );
            }
            delivered.extend(now.iter().cloned());
        }
        assert_eq!(
            observed(results, &readings).await?,
            expected(&readings),
            "seed {seed}"
        );
        assert_eq!(results.positions(&consumer).await?, next, "seed {seed}");
    }
    Ok(())
}

/// Two workers applying the same batch at once (a rebalance overlap) count it once.
pub async fn concurrent_applies_of_the_same_batch_count_it_once(
    results: &dyn ResultStore,
) -> TestResult {
    let readings = fleet("race", 4, 3, 5);
    let batch = batch_at(0, 0, &readings);
    let (a, b) = futures::join!(results.apply(&batch), results.apply(&batch));
    let (a, b) = (a?, b?);
    assert_eq!(a.fresh.len() + b.fresh.len(), readings.len());
    assert_eq!(observed(results, &readings).await?, expected(&readings));
    Ok(())
}
