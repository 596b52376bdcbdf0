//! Laws of window aggregation: any order and any grouping of the same readings give the same windows.

use super::*;
use crate::{DeviceId, MetricName, ReadingId, ScoredValue, Timestamp};
use proptest::prelude::*;

fn reading(device: u8, ts: i64, value: i32, anomaly: bool, n: usize) -> ScoredReading {
    ScoredReading {
        device_id: DeviceId::parse(&format!("d{device}")).unwrap(),
        id: ReadingId::parse(&format!("r{n}")).unwrap(),
        ts: Timestamp::from_millis(ts),
        seq: None,
        // Integer-valued floats keep sums exact, so equality is exact whatever the order.
        metrics: [(
            MetricName::parse("m").unwrap(),
            ScoredValue::plain(f64::from(value), 0.0, anomaly),
        )]
        .into(),
        tags: Default::default(),
        received_at: Timestamp::from_millis(0),
    }
}

fn readings() -> impl Strategy<Value = Vec<ScoredReading>> {
    prop::collection::vec(
        (0u8..3, 0i64..600_000, -1000i32..1000, any::<bool>()),
        0..60,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(n, (d, ts, x, a))| reading(d, ts, x, a, n))
            .collect()
    })
}

fn merge_all(
    parts: &[BTreeMap<WindowKey, WindowAggregate>],
) -> BTreeMap<WindowKey, WindowAggregate> {
    let mut out: BTreeMap<WindowKey, WindowAggregate> = BTreeMap::new();
    for part in parts {
        for (k, v) in part {
            out.entry(k.clone())
                .and_modify(|w| *w = w.merge(v))
                .or_insert(*v);
        }
    }
    out
}

fn agg() -> impl Strategy<Value = WindowAggregate> {
    (-1000i32..1000, 0i64..10, any::<bool>())
        .prop_map(|(x, ts, a)| WindowAggregate::of(f64::from(x), Timestamp::from_millis(ts), a))
}

proptest! {
    #[test]
    fn aggregation_does_not_depend_on_reading_order(rs in readings(), seed in any::<u64>()) {
        let mut shuffled = rs.clone();
        // A seeded Fisher–Yates shuffle.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(aggregate(&rs), aggregate(&shuffled));
    }

    #[test]
    fn aggregating_in_batches_equals_aggregating_at_once(rs in readings(), cut in 0usize..60) {
        let cut = cut.min(rs.len());
        let (a, b) = rs.split_at(cut);
        prop_assert_eq!(merge_all(&[aggregate(a), aggregate(b)]), aggregate(&rs));
    }

    #[test]
    fn merge_is_associative_and_commutative(a in agg(), b in agg(), c in agg()) {
        prop_assert_eq!(a.merge(&b).merge(&c), a.merge(&b.merge(&c)));
        prop_assert_eq!(a.merge(&b), b.merge(&a));
    }
}

#[test]
fn a_window_holds_count_sum_min_max_last_and_anomalies() {
    let rs = vec![
        reading(1, 1_000, 5, false, 0),
        reading(1, 59_999, 9, true, 1),
        reading(1, 30_000, -2, false, 2),
        reading(1, 60_000, 100, false, 3),
    ];
    let windows = aggregate(&rs);
    let first = windows.values().next().unwrap();
    assert_eq!(
        (
            first.count,
            first.sum,
            first.min,
            first.max,
            first.last,
            first.anomalies
        ),
        (3, 12.0, -2.0, 9.0, 9.0, 1)
    );
    assert_eq!(first.last_ts.millis(), 59_999);
    assert_eq!(windows.len(), 2);
}

#[test]
fn consumed_batch_tracks_the_next_offset_per_partition() {
    let mut batch = ConsumedBatch::new("c");
    batch.push(
        LogPosition {
            partition: 0,
            offset: 4,
        },
        reading(1, 0, 1, false, 0),
    );
    batch.skip(LogPosition {
        partition: 0,
        offset: 7,
    });
    batch.push(
        LogPosition {
            partition: 1,
            offset: 2,
        },
        reading(1, 0, 1, false, 1),
    );
    assert_eq!(batch.next_offsets, BTreeMap::from([(0, 8), (1, 3)]));
}
