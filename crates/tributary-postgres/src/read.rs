//! The `ResultStore` port on PostgreSQL: `apply` (in `apply.rs`) and the reads behind the query API.

use crate::{error, PgResultStore, BACKEND};
use async_trait::async_trait;
use std::collections::BTreeMap;
use tributary_core::ports::{Anomaly, Applied, ResultStore};
use tributary_core::process::{ConsumedBatch, DeviceLatest, LatestValue, WindowAggregate};
use tributary_core::{AnomalyKind, DeviceId, MetricName, PortError, ReadingId, Timestamp};

fn parse<T>(parsed: Result<T, String>) -> Result<T, PortError> {
    parsed.map_err(|e| PortError::broken(BACKEND, format!("stored value is invalid: {e}")))
}

#[async_trait]
impl ResultStore for PgResultStore {
    #[tracing::instrument(skip_all, fields(consumer = %batch.consumer, n = batch.events.len()), err)]
    async fn apply(&self, batch: &ConsumedBatch) -> Result<Applied, PortError> {
        self.apply_batch(batch).await
    }

    async fn positions(&self, consumer: &str) -> Result<BTreeMap<i32, i64>, PortError> {
        let rows = sqlx::query!(
            "SELECT partition, next_offset FROM consumer_positions WHERE consumer = $1",
            consumer
        )
        .fetch_all(&self.pool)
        .await
        .map_err(error)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.partition, r.next_offset))
            .collect())
    }

    async fn devices(
        &self,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> Result<Vec<DeviceLatest>, PortError> {
        // The page is chosen on `devices` alone (its primary key index), then joined to its
        // metrics; the cursor compares in the same collation as the order, so pages never overlap.
        let rows = sqlx::query!(
            "SELECT d.device_id, d.last_seen, m.metric, m.value, m.ts, m.score, m.anomaly,
                    m.kind, m.expected, m.lower, m.upper
             FROM devices d JOIN device_metrics m USING (device_id)
             WHERE d.device_id IN
                 (SELECT device_id FROM devices WHERE device_id > $1 ORDER BY device_id LIMIT $2)
             ORDER BY d.device_id, m.metric",
            after.map_or("", |d| d.as_str()),
            i64::try_from(limit).unwrap_or(i64::MAX)
        )
        .fetch_all(&self.pool)
        .await
        .map_err(error)?;
        let mut out: Vec<DeviceLatest> = Vec::new();
        for r in rows {
            let value = LatestValue {
                value: r.value,
                ts: Timestamp::from_millis(r.ts),
                score: r.score,
                anomaly: r.anomaly,
                kind: r.kind.as_deref().and_then(AnomalyKind::parse),
                expected: r.expected,
                lower: r.lower,
                upper: r.upper,
            };
            let metric = parse(MetricName::parse(&r.metric))?;
            match out.last_mut() {
                Some(d) if d.device_id.as_str() == r.device_id => {
                    d.metrics.insert(metric, value);
                }
                _ => out.push(DeviceLatest {
                    device_id: parse(DeviceId::parse(&r.device_id))?,
                    last_seen: Timestamp::from_millis(r.last_seen),
                    metrics: BTreeMap::from([(metric, value)]),
                }),
            }
        }
        Ok(out)
    }

    async fn device(&self, id: &DeviceId) -> Result<Option<DeviceLatest>, PortError> {
        let rows = sqlx::query!(
            "SELECT d.last_seen, m.metric, m.value, m.ts, m.score, m.anomaly,
                    m.kind, m.expected, m.lower, m.upper
             FROM devices d JOIN device_metrics m USING (device_id)
             WHERE d.device_id = $1",
            id.as_str()
        )
        .fetch_all(&self.pool)
        .await
        .map_err(error)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut device = DeviceLatest {
            device_id: id.clone(),
            last_seen: Timestamp::from_millis(first.last_seen),
            metrics: BTreeMap::new(),
        };
        for r in rows {
            let value = LatestValue {
                value: r.value,
                ts: Timestamp::from_millis(r.ts),
                score: r.score,
                anomaly: r.anomaly,
                kind: r.kind.as_deref().and_then(AnomalyKind::parse),
                expected: r.expected,
                lower: r.lower,
                upper: r.upper,
            };
            device
                .metrics
                .insert(parse(MetricName::parse(&r.metric))?, value);
        }
        Ok(Some(device))
    }

    async fn windows(
        &self,
        device: &DeviceId,
        metric: &MetricName,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, WindowAggregate)>, PortError> {
        let rows = sqlx::query!(
            "SELECT start_ms, count, sum, min, max, last, last_ts, anomalies FROM windows
             WHERE device_id = $1 AND metric = $2 AND start_ms >= $3 AND start_ms < $4
             ORDER BY start_ms",
            device.as_str(),
            metric.as_str(),
            from.millis(),
            to.millis()
        )
        .fetch_all(&self.pool)
        .await
        .map_err(error)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let w =
                    crate::window_of(r.count, r.sum, r.min, r.max, r.last, r.last_ts, r.anomalies);
                (Timestamp::from_millis(r.start_ms), w)
            })
            .collect())
    }

    async fn anomalies(&self, since: Timestamp, limit: usize) -> Result<Vec<Anomaly>, PortError> {
        let rows = sqlx::query!(
            "SELECT device_id, metric, ts, value, score, reading_id, kind, expected, lower, upper
             FROM anomalies
             WHERE ts >= $1 ORDER BY ts DESC, device_id, metric LIMIT $2",
            since.millis(),
            limit as i64
        )
        .fetch_all(&self.pool)
        .await
        .map_err(error)?;
        rows.into_iter()
            .map(|r| {
                Ok(Anomaly {
                    device_id: parse(DeviceId::parse(&r.device_id))?,
                    metric: parse(MetricName::parse(&r.metric))?,
                    ts: Timestamp::from_millis(r.ts),
                    value: r.value,
                    score: r.score,
                    reading_id: parse(ReadingId::parse(&r.reading_id))?,
                    kind: r.kind.as_deref().and_then(AnomalyKind::parse),
                    expected: r.expected,
                    lower: r.lower,
                    upper: r.upper,
                })
            })
            .collect()
    }
}
