//! The `ResultStore` conformance suite: what every result store (embedded SQLite, PostgreSQL) must
//! do, written once against the port. Each adapter's tests call these on a fresh store.

mod batching;
mod latest;
mod paging;
pub use batching::*;
pub use latest::*;
pub use paging::*;

use crate::*;
use std::collections::BTreeMap;
use tributary_core::ports::{Anomaly, Applied, ResultStore};
use tributary_core::process::{aggregate, ConsumedBatch, LogPosition, WINDOW_MS};
use tributary_core::{AnomalyKind, DeviceId, MetricName, ScoredReading, Timestamp};

/// 3 devices, 2 metrics, readings spread over 5 one-minute windows; values keep sums exact.
fn spread_readings() -> Vec<ScoredReading> {
    (0..30i64)
        .map(|i| {
            let dev = format!("dev-{}", i % 3);
            let ts = T0 + i * 9_000 + (i % 3) * 1_000;
            scored(
                &dev,
                &format!("r{i}"),
                ts,
                &[
                    ("temp", 20.0 + (i % 7) as f64 * 0.5, i % 7 == 3),
                    ("hum", 40.0 - (i % 5) as f64, false),
                ],
            )
        })
        .collect()
}

/// Device `dev-k` lives in partition `k % 2`, as Kafka keys by device.
fn partitioned_batch(first_offsets: [i64; 2], events: &[ScoredReading]) -> ConsumedBatch {
    let mut batch = ConsumedBatch::new(CONSUMER);
    let mut next = first_offsets;
    for event in events {
        let k: i32 = event.device_id.as_str()["dev-".len()..]
            .parse()
            .expect("dev-<k>");
        let partition = k % 2;
        let slot = &mut next[partition as usize];
        batch.push(
            LogPosition {
                partition,
                offset: *slot,
            },
            event.clone(),
        );
        *slot += 1;
    }
    batch
}

/// Every window the store holds for these devices and metrics.
async fn stored_windows(
    results: &dyn ResultStore,
) -> Result<
    BTreeMap<(DeviceId, MetricName, Timestamp), tributary_core::process::WindowAggregate>,
    PortError,
> {
    let mut out = BTreeMap::new();
    for k in 0..3 {
        for m in ["temp", "hum"] {
            let (dev, m) = (device(&format!("dev-{k}")), metric(m));
            for (start, w) in all_windows(results, &dev, &m).await? {
                out.insert((dev.clone(), m.clone(), start), w);
            }
        }
    }
    Ok(out)
}

pub async fn applies_each_reading_exactly_once(results: &dyn ResultStore) -> TestResult {
    let readings = spread_readings();
    let n = readings.len();
    assert!(results.positions(CONSUMER).await?.is_empty());

    let first = partitioned_batch([0, 0], &readings);
    let applied = results.apply(&first).await?;
    assert_eq!(
        applied,
        Applied {
            fresh: readings.clone(),
            redelivered: 0,
            republished: 0,
            windows: applied.windows.clone(),
        }
    );

    let expected: BTreeMap<_, _> = aggregate(&readings)
        .into_iter()
        .map(|(k, w)| ((k.device_id, k.metric, k.start), w))
        .collect();
    assert_eq!(
        expected.len(),
        3 * 2 * 5,
        "3 devices × 2 metrics × 5 windows"
    );
    let windows = stored_windows(results).await?;
    assert_eq!(windows, expected);
    assert!(windows.values().any(|w| w.anomalies > 0));
    // apply reports the merged state of every window it touched.
    let reported: BTreeMap<_, _> = applied
        .windows
        .iter()
        .map(|(k, w)| ((k.device_id.clone(), k.metric.clone(), k.start), *w))
        .collect();
    assert_eq!(reported, expected);

    // windows() honours [from, to) on window starts, ascending.
    let (d0, temp) = (device("dev-0"), metric("temp"));
    let middle = results
        .windows(&d0, &temp, at(T0 + WINDOW_MS), at(T0 + 3 * WINDOW_MS))
        .await?;
    let starts: Vec<Timestamp> = middle.iter().map(|(s, _)| *s).collect();
    assert_eq!(starts, [at(T0 + WINDOW_MS), at(T0 + 2 * WINDOW_MS)]);

    // The same batch again is a redelivery: nothing counted twice.
    let again = results.apply(&first).await?;
    assert_eq!(
        again,
        Applied {
            fresh: vec![],
            redelivered: n,
            republished: 0,
            windows: vec![],
        }
    );
    assert_eq!(stored_windows(results).await?, expected);

    // The same readings under new offsets are a republish: still nothing counted twice.
    let positions = results.positions(CONSUMER).await?;
    assert_eq!(positions, first.next_offsets);
    let republish = partitioned_batch([positions[&0], positions[&1]], &readings);
    let re = results.apply(&republish).await?;
    assert_eq!(
        re,
        Applied {
            fresh: vec![],
            redelivered: 0,
            republished: n,
            windows: vec![],
        }
    );
    assert_eq!(stored_windows(results).await?, expected);
    let positions = results.positions(CONSUMER).await?;
    assert_eq!(positions, republish.next_offsets);
    assert_eq!(positions.len(), 2);

    // A batch that read only an unparseable message still moves its partition on.
    let mut skip = ConsumedBatch::new(CONSUMER);
    skip.skip(LogPosition {
        partition: 1,
        offset: positions[&1],
    });
    assert_eq!(results.apply(&skip).await?, Applied::default());
    let after_skip = results.positions(CONSUMER).await?;
    assert_eq!(after_skip[&0], positions[&0]);
    assert_eq!(after_skip[&1], positions[&1] + 1);
    assert_eq!(stored_windows(results).await?, expected);

    // Positions belong to their consumer.
    assert!(results.positions("another-consumer").await?.is_empty());
    Ok(())
}

pub async fn late_readings_merge_into_their_old_window(results: &dyn ResultStore) -> TestResult {
    let (dev, temp) = (device("pump-1"), metric("temp"));
    let mut offset = 0;
    let mut apply_one = |r: ScoredReading| {
        let batch = batch_at(0, offset, &[r]);
        offset += 1;
        async move { results.apply(&batch).await }
    };

    apply_one(scored(
        "pump-1",
        "on-time",
        T0 + 10_000,
        &[("temp", 1.0, false)],
    ))
    .await?;
    for k in 1..=10i64 {
        let id = format!("later-{k}");
        let r = scored(
            "pump-1",
            &id,
            T0 + k * WINDOW_MS + 5_000,
            &[("temp", k as f64, false)],
        );
        apply_one(r).await?;
    }
    let late = apply_one(scored(
        "pump-1",
        "late",
        T0 + 50_000,
        &[("temp", 7.0, true)],
    ))
    .await?;
    assert_eq!(late.fresh.len(), 1);
    // The reported window is the merged one, not the late reading's delta.
    assert_eq!(late.windows.len(), 1);
    assert_eq!((late.windows[0].1.count, late.windows[0].1.sum), (2, 8.0));

    let w = results
        .windows(&dev, &temp, at(T0), at(T0 + WINDOW_MS))
        .await?;
    assert_eq!(w.len(), 1);
    let (start, w) = w[0];
    assert_eq!(start, at(T0));
    assert_eq!((w.count, w.sum, w.min, w.max), (2, 8.0, 1.0, 7.0));
    assert_eq!((w.last, w.last_ts), (7.0, at(T0 + 50_000)));
    assert_eq!(w.anomalies, 1);

    // An even later arrival with an earlier event time counts, but is not the window's last value.
    apply_one(scored(
        "pump-1",
        "later-still",
        T0 + 1_000,
        &[("temp", 0.5, false)],
    ))
    .await?;
    let (_, w) = results
        .windows(&dev, &temp, at(T0), at(T0 + WINDOW_MS))
        .await?[0];
    assert_eq!((w.count, w.sum, w.min, w.max), (3, 8.5, 0.5, 7.0));
    assert_eq!((w.last, w.last_ts), (7.0, at(T0 + 50_000)));

    // The later windows are untouched.
    let later = results
        .windows(&dev, &temp, at(T0 + WINDOW_MS), at(T0 + 11 * WINDOW_MS))
        .await?;
    assert_eq!(later.len(), 10);
    for (k, (start, w)) in (1..=10i64).zip(later) {
        assert_eq!(start, at(T0 + k * WINDOW_MS));
        assert_eq!((w.count, w.sum, w.last), (1, k as f64, k as f64));
    }
    Ok(())
}

pub async fn devices_and_anomalies_reflect_fresh_readings(results: &dyn ResultStore) -> TestResult {
    let events = [
        // pump-b first, so that listing order is not arrival order.
        scored(
            "pump-b",
            "b1",
            T0 + 60_000,
            &[("temp", 20.0, false), ("hum", 40.0, false)],
        ),
        scored("pump-a", "a1", T0, &[("temp", 10.0, false)]),
        scored(
            "pump-a",
            "a2",
            T0 + 120_000,
            &[("temp", 11.0, true), ("hum", 50.0, false)],
        ),
        scored(
            "pump-b",
            "b2",
            T0 + 180_000,
            &[("temp", 21.0, false), ("hum", 90.0, true)],
        ),
    ];
    results.apply(&batch_at(0, 0, &events)).await?;
    // An older reading of pump-a that arrives last: counted, but not pump-a's latest.
    let old = scored(
        "pump-a",
        "a0",
        T0 + 30_000,
        &[("temp", 99.0, true), ("hum", 1.0, false)],
    );
    results.apply(&batch_at(0, 4, &[old])).await?;

    let devices = results.devices(None, 100).await?;
    let ids: Vec<&str> = devices.iter().map(|d| d.device_id.as_str()).collect();
    assert_eq!(ids, ["pump-a", "pump-b"]);

    let a = &devices[0];
    assert_eq!(a.last_seen, at(T0 + 120_000));
    let a_temp = a.metrics[&metric("temp")];
    assert_eq!((a_temp.value, a_temp.ts), (11.0, at(T0 + 120_000)));
    assert!(a_temp.anomaly);
    assert_eq!(a_temp.score, 0.9);
    assert_eq!(
        (a_temp.kind, a_temp.expected, a_temp.upper),
        (
            Some(AnomalyKind::Spike),
            Some(a_temp.value / 2.0),
            Some(a_temp.value / 2.0 + 1.0)
        )
    );
    let a_hum = a.metrics[&metric("hum")];
    assert_eq!((a_hum.value, a_hum.ts), (50.0, at(T0 + 120_000)));
    assert_eq!(a.metrics.len(), 2);

    let b = &devices[1];
    assert_eq!(b.last_seen, at(T0 + 180_000));
    assert_eq!(b.metrics[&metric("temp")].value, 21.0);
    assert_eq!(b.metrics[&metric("hum")].value, 90.0);

    assert_eq!(results.device(&device("pump-a")).await?.as_ref(), Some(a));
    assert_eq!(results.device(&device("pump-z")).await?, None);

    let anomaly = |dev: &str, id: &str, m: &str, ts: i64, value: f64| Anomaly {
        device_id: device(dev),
        metric: metric(m),
        ts: at(ts),
        value,
        score: 0.9,
        reading_id: rid(id),
        kind: Some(AnomalyKind::Spike),
        expected: Some(value / 2.0),
        lower: Some(value / 2.0 - 1.0),
        upper: Some(value / 2.0 + 1.0),
    };
    let all = vec![
        anomaly("pump-b", "b2", "hum", T0 + 180_000, 90.0),
        anomaly("pump-a", "a2", "temp", T0 + 120_000, 11.0),
        anomaly("pump-a", "a0", "temp", T0 + 30_000, 99.0),
    ];
    assert_eq!(results.anomalies(at(T0), 10).await?, all);
    assert_eq!(results.anomalies(at(T0), 2).await?, all[..2].to_vec());
    assert_eq!(
        results.anomalies(at(T0 + 120_000), 10).await?,
        all[..2].to_vec()
    );
    assert!(results.anomalies(at(T0 + 180_001), 10).await?.is_empty());
    Ok(())
}
