//! `process_isolating` against an in-memory result store that refuses poison values as PostgreSQL
//! refuses an out-of-range number: only the poison events are set aside, everything else is applied
//! once and in order, and a broken store sets nothing aside.

use super::*;
use crate::ports::{
    Anomaly, Applied, CurrentWindows, LatestCache, LiveFeed, LiveUpdate, ResultStore,
};
use crate::process::{DeviceLatest, WindowAggregate, WindowKey};
use crate::{DeviceId, MetricName, ReadingId, ScoredValue, Timestamp};
use futures::executor::block_on;
use futures::stream::BoxStream;
use std::collections::BTreeMap;
use std::sync::Mutex;

const POISON: f64 = 666.0;

#[derive(Default)]
struct Store {
    broken: bool,
    applied: Mutex<Vec<String>>,
    positions: Mutex<BTreeMap<i32, i64>>,
    transactions: Mutex<usize>,
}

#[async_trait]
impl ResultStore for Store {
    async fn apply(&self, batch: &ConsumedBatch) -> Result<Applied, PortError> {
        *self.transactions.lock().unwrap() += 1;
        if self.broken {
            return Err(PortError::broken(
                "fake",
                "relation \"windows\" does not exist",
            ));
        }
        let positions = self.positions.lock().unwrap().clone();
        let (kept, redelivered) = batch.undelivered(|p| positions.get(&p).copied());
        if kept
            .iter()
            .any(|e| e.metrics.values().any(|v| v.value == POISON))
        {
            return Err(PortError::rejected("fake", "value out of range: overflow"));
        }
        let fresh: Vec<ScoredReading> = kept.into_iter().cloned().collect();
        let mut applied = self.applied.lock().unwrap();
        applied.extend(fresh.iter().map(|e| e.id.to_string()));
        let mut stored = self.positions.lock().unwrap();
        for (p, next) in &batch.next_offsets {
            let slot = stored.entry(*p).or_insert(0);
            *slot = (*slot).max(*next);
        }
        Ok(Applied {
            fresh,
            redelivered,
            ..Applied::default()
        })
    }
    async fn positions(&self, _: &str) -> Result<BTreeMap<i32, i64>, PortError> {
        Ok(self.positions.lock().unwrap().clone())
    }
    async fn devices(
        &self,
        _: Option<&DeviceId>,
        _: usize,
    ) -> Result<Vec<DeviceLatest>, PortError> {
        Ok(vec![])
    }
    async fn device(&self, _: &DeviceId) -> Result<Option<DeviceLatest>, PortError> {
        Ok(None)
    }
    async fn windows(
        &self,
        _: &DeviceId,
        _: &MetricName,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<(Timestamp, WindowAggregate)>, PortError> {
        Ok(vec![])
    }
    async fn anomalies(&self, _: Timestamp, _: usize) -> Result<Vec<Anomaly>, PortError> {
        Ok(vec![])
    }
}

struct Nowhere;

#[async_trait]
impl LatestCache for Nowhere {
    async fn merge(&self, _: &[DeviceLatest]) -> Result<(), PortError> {
        Ok(())
    }
    async fn get(&self, _: &DeviceId) -> Result<Option<DeviceLatest>, PortError> {
        Ok(None)
    }
    async fn merge_windows(&self, _: &[(WindowKey, WindowAggregate)]) -> Result<(), PortError> {
        Ok(())
    }
    async fn current_windows(&self, _: &DeviceId) -> Result<CurrentWindows, PortError> {
        Ok(CurrentWindows::new())
    }
}

#[async_trait]
impl LiveFeed for Nowhere {
    async fn publish(&self, _: &[ScoredReading]) -> Result<(), PortError> {
        Ok(())
    }
    fn subscribe(&self, _: Option<u64>) -> BoxStream<'static, LiveUpdate> {
        Box::pin(futures::stream::empty())
    }
}

#[derive(Default)]
struct Aside(Mutex<Vec<(LogPosition, String)>>);

#[async_trait]
impl PoisonSink for Aside {
    async fn set_aside(
        &self,
        at: LogPosition,
        event: &ScoredReading,
        error: &PortError,
    ) -> Result<(), PortError> {
        assert!(error.is_poison());
        self.0.lock().unwrap().push((at, event.id.to_string()));
        Ok(())
    }
}

fn event(n: usize, value: f64) -> ScoredReading {
    ScoredReading {
        device_id: DeviceId::parse("d").unwrap(),
        id: ReadingId::parse(&format!("r{n}")).unwrap(),
        ts: Timestamp::from_millis(n as i64),
        seq: None,
        metrics: [(
            MetricName::parse("m").unwrap(),
            ScoredValue::plain(value, 0.0, false),
        )]
        .into(),
        tags: Default::default(),
        received_at: Timestamp::from_millis(0),
    }
}

/// Twenty events over two partitions, poison at the given indexes, then a skipped message.
fn batch(poison_at: &[usize]) -> ConsumedBatch {
    let mut batch = ConsumedBatch::new("c");
    for n in 0..20 {
        let value = if poison_at.contains(&n) { POISON } else { 1.0 };
        let at = LogPosition {
            partition: (n % 2) as i32,
            offset: (n / 2) as i64,
        };
        batch.push(at, event(n, value));
    }
    batch.skip(LogPosition {
        partition: 0,
        offset: 10,
    });
    batch
}

#[test]
fn only_the_poison_events_are_set_aside_and_the_rest_is_applied_once_in_order() {
    let store = Store::default();
    let aside = Aside::default();
    let report = block_on(process_isolating(
        &batch(&[3, 4, 17]),
        &store,
        &Nowhere,
        &Nowhere,
        &aside,
    ))
    .unwrap();
    let set_aside: Vec<String> = aside
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.1.clone())
        .collect();
    assert_eq!(set_aside, ["r3", "r4", "r17"]);
    let expected: Vec<String> = (0..20)
        .filter(|n| ![3, 4, 17].contains(n))
        .map(|n| format!("r{n}"))
        .collect();
    assert_eq!(*store.applied.lock().unwrap(), expected);
    assert_eq!((report.fresh, report.set_aside), (17, 3));
    assert_eq!(
        *store.positions.lock().unwrap(),
        BTreeMap::from([(0, 11), (1, 10)])
    );
    // Applying the same batch again (a redelivery) counts nothing and sets nothing aside.
    let again = block_on(process_isolating(
        &batch(&[3, 4, 17]),
        &store,
        &Nowhere,
        &Nowhere,
        &aside,
    ))
    .unwrap();
    assert_eq!(
        (again.fresh, again.redelivered, again.set_aside),
        (0, 20, 0)
    );
}

#[test]
fn a_clean_batch_costs_one_transaction() {
    let store = Store::default();
    let report = block_on(process_isolating(
        &batch(&[]),
        &store,
        &Nowhere,
        &Nowhere,
        &Aside::default(),
    ))
    .unwrap();
    assert_eq!(report.fresh, 20);
    assert_eq!(*store.transactions.lock().unwrap(), 1);
}

#[test]
fn a_broken_store_sets_nothing_aside_and_reports_the_error() {
    let store = Store {
        broken: true,
        ..Store::default()
    };
    let aside = Aside::default();
    let err = block_on(process_isolating(
        &batch(&[3]),
        &store,
        &Nowhere,
        &Nowhere,
        &aside,
    ))
    .unwrap_err();
    assert_eq!(err.class(), crate::ErrorClass::Broken);
    assert!(aside.0.lock().unwrap().is_empty());
    assert!(store.positions.lock().unwrap().is_empty());
}
