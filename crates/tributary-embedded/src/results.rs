//! The result store on SQLite. `apply` is the exactly-once step: in one transaction it skips
//! deliveries below the consumer's stored position (redelivery), skips readings already counted
//! (republish under a new offset), merges the rest into windows with the core's pure `merge`, and
//! stores the new positions.

use crate::db::{corrupt, error, Db, CHUNK};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};
use tributary_core::ports::{Anomaly, Applied, ResultStore};
use tributary_core::process::{
    aggregate, anomalies_in, latest_by_device, split_claimed, ConsumedBatch, DeviceLatest,
    WindowAggregate, WindowKey,
};
use tributary_core::AnomalyKind;
use tributary_core::{DeviceId, MetricName, PortError, ReadingId, ScoredReading, Timestamp};

pub struct SqliteResultStore {
    db: Db,
}

impl SqliteResultStore {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

type Tx<'a> = Transaction<'a, Sqlite>;

async fn stored_positions<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    consumer: &str,
) -> Result<BTreeMap<i32, i64>, PortError> {
    let rows =
        sqlx::query("SELECT partition, next_offset FROM consumer_positions WHERE consumer = ?")
            .bind(consumer)
            .fetch_all(executor)
            .await
            .map_err(error)?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Claims each kept event's identity in `applied_readings`; returns the identities that were new.
async fn claim_new(
    tx: &mut Tx<'_>,
    events: &[&ScoredReading],
    now: i64,
) -> Result<HashSet<(String, String)>, PortError> {
    let mut new = HashSet::with_capacity(events.len());
    for chunk in events.chunks(CHUNK) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO applied_readings (device_id, reading_id, applied_at) ",
        );
        insert.push_values(chunk, |mut row, event| {
            row.push_bind(event.device_id.as_str())
                .push_bind(event.id.as_str())
                .push_bind(now);
        });
        insert.push(
            " ON CONFLICT (device_id, reading_id) DO NOTHING RETURNING device_id, reading_id",
        );
        for row in insert.build().fetch_all(&mut **tx).await.map_err(error)? {
            new.insert((row.get(0), row.get(1)));
        }
    }
    Ok(new)
}

/// Merges window deltas into the stored windows: one read and one write per chunk of windows.
async fn merge_windows(
    tx: &mut Tx<'_>,
    deltas: BTreeMap<WindowKey, WindowAggregate>,
) -> Result<Vec<(WindowKey, WindowAggregate)>, PortError> {
    let mut out = Vec::with_capacity(deltas.len());
    let deltas: Vec<(WindowKey, WindowAggregate)> = deltas.into_iter().collect();
    for chunk in deltas.chunks(CHUNK) {
        let mut select = QueryBuilder::<Sqlite>::new(
            "SELECT device_id, metric, start_ms, count, sum, min, max, last, last_ts, anomalies FROM windows \
             WHERE (device_id, metric, start_ms) IN (",
        );
        select.push_values(chunk, |mut row, (key, _)| {
            row.push_bind(key.device_id.as_str())
                .push_bind(key.metric.as_str())
                .push_bind(key.start.millis());
        });
        select.push(")");
        let mut stored: HashMap<(String, String, i64), WindowAggregate> = HashMap::new();
        for row in select.build().fetch_all(&mut **tx).await.map_err(error)? {
            stored.insert(
                (row.get(0), row.get(1), row.get(2)),
                window_from_row(&row, 3),
            );
        }
        let merged: Vec<(&WindowKey, WindowAggregate)> = chunk
            .iter()
            .map(|(key, delta)| {
                let id = (
                    key.device_id.to_string(),
                    key.metric.to_string(),
                    key.start.millis(),
                );
                (key, stored.get(&id).map_or(*delta, |old| old.merge(delta)))
            })
            .collect();
        let mut write = QueryBuilder::<Sqlite>::new(
            "INSERT OR REPLACE INTO windows \
             (device_id, metric, start_ms, count, sum, min, max, last, last_ts, anomalies) ",
        );
        write.push_values(&merged, |mut row, (key, w)| {
            row.push_bind(key.device_id.as_str())
                .push_bind(key.metric.as_str())
                .push_bind(key.start.millis())
                .push_bind(w.count as i64)
                .push_bind(w.sum)
                .push_bind(w.min)
                .push_bind(w.max)
                .push_bind(w.last)
                .push_bind(w.last_ts.millis())
                .push_bind(w.anomalies as i64);
        });
        write.build().execute(&mut **tx).await.map_err(error)?;
        out.extend(merged.into_iter().map(|(key, w)| (key.clone(), w)));
    }
    Ok(out)
}

fn window_from_row(row: &sqlx::sqlite::SqliteRow, at: usize) -> WindowAggregate {
    WindowAggregate {
        count: row.get::<i64, _>(at) as u64,
        sum: row.get(at + 1),
        min: row.get(at + 2),
        max: row.get(at + 3),
        last: row.get(at + 4),
        last_ts: Timestamp::from_millis(row.get(at + 5)),
        anomalies: row.get::<i64, _>(at + 6) as u64,
    }
}

async fn insert_anomalies(tx: &mut Tx<'_>, anomalies: &[Anomaly]) -> Result<(), PortError> {
    for chunk in anomalies.chunks(CHUNK) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO anomalies (device_id, reading_id, metric, ts, value, score, kind, expected, lower, upper) ",
        );
        insert.push_values(chunk, |mut row, a| {
            row.push_bind(a.device_id.as_str())
                .push_bind(a.reading_id.as_str())
                .push_bind(a.metric.as_str())
                .push_bind(a.ts.millis())
                .push_bind(a.value)
                .push_bind(a.score)
                .push_bind(a.kind.map(AnomalyKind::as_str))
                .push_bind(a.expected)
                .push_bind(a.lower)
                .push_bind(a.upper);
        });
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build().execute(&mut **tx).await.map_err(error)?;
    }
    Ok(())
}

/// Merges each device's latest state into the stored one.
async fn merge_devices(
    tx: &mut Tx<'_>,
    latest: BTreeMap<DeviceId, DeviceLatest>,
) -> Result<(), PortError> {
    let latest: Vec<DeviceLatest> = latest.into_values().collect();
    for chunk in latest.chunks(CHUNK) {
        let mut select =
            QueryBuilder::<Sqlite>::new("SELECT latest FROM devices WHERE device_id IN (");
        let mut list = select.separated(", ");
        for device in chunk {
            list.push_bind(device.device_id.as_str());
        }
        select.push(")");
        let mut stored: HashMap<DeviceId, DeviceLatest> = HashMap::new();
        for row in select.build().fetch_all(&mut **tx).await.map_err(error)? {
            let device: DeviceLatest =
                serde_json::from_str(row.get(0)).map_err(|e| corrupt("device", e))?;
            stored.insert(device.device_id.clone(), device);
        }
        let merged = chunk
            .iter()
            .map(|fresh| {
                let mut device = stored
                    .remove(&fresh.device_id)
                    .unwrap_or_else(|| fresh.clone());
                device.merge(fresh);
                let json = serde_json::to_string(&device).map_err(|e| corrupt("device", e))?;
                Ok((device, json))
            })
            .collect::<Result<Vec<_>, PortError>>()?;
        let mut write = QueryBuilder::<Sqlite>::new(
            "INSERT OR REPLACE INTO devices (device_id, last_seen, latest) ",
        );
        write.push_values(&merged, |mut row, (device, json)| {
            row.push_bind(device.device_id.as_str())
                .push_bind(device.last_seen.millis())
                .push_bind(json.as_str());
        });
        write.build().execute(&mut **tx).await.map_err(error)?;
    }
    Ok(())
}

#[async_trait]
impl ResultStore for SqliteResultStore {
    #[tracing::instrument(skip_all, fields(consumer = %batch.consumer, n = batch.events.len()), err)]
    async fn apply(&self, batch: &ConsumedBatch) -> Result<Applied, PortError> {
        let mut tx = self.db.write.begin().await.map_err(error)?;
        let positions = stored_positions(&mut *tx, &batch.consumer).await?;
        let (kept, redelivered) = batch.undelivered(|partition| positions.get(&partition).copied());
        let claimed = claim_new(&mut tx, &kept, Timestamp::now().millis()).await?;
        let (fresh, republished) = split_claimed(kept, claimed);
        let mut applied = Applied {
            fresh,
            redelivered,
            republished,
            windows: Vec::new(),
        };
        applied.windows = merge_windows(&mut tx, aggregate(&applied.fresh)).await?;
        insert_anomalies(&mut tx, &anomalies_in(&applied.fresh)).await?;
        merge_devices(&mut tx, latest_by_device(&applied.fresh)).await?;
        for (partition, next) in &batch.next_offsets {
            sqlx::query(
                "INSERT INTO consumer_positions (consumer, partition, next_offset) VALUES (?, ?, ?) \
                 ON CONFLICT (consumer, partition) DO UPDATE \
                 SET next_offset = MAX(next_offset, excluded.next_offset)",
            )
            .bind(&batch.consumer)
            .bind(partition)
            .bind(next)
            .execute(&mut *tx)
            .await
            .map_err(error)?;
        }
        tx.commit().await.map_err(error)?;
        Ok(applied)
    }

    async fn positions(&self, consumer: &str) -> Result<BTreeMap<i32, i64>, PortError> {
        stored_positions(&self.db.read, consumer).await
    }

    async fn devices(
        &self,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> Result<Vec<DeviceLatest>, PortError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT latest FROM devices WHERE device_id > ? ORDER BY device_id LIMIT ?",
        )
        .bind(after.map_or("", |d| d.as_str()))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.db.read)
        .await
        .map_err(error)?;
        rows.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| corrupt("device", e)))
            .collect()
    }

    async fn device(&self, id: &DeviceId) -> Result<Option<DeviceLatest>, PortError> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT latest FROM devices WHERE device_id = ?")
                .bind(id.as_str())
                .fetch_optional(&self.db.read)
                .await
                .map_err(error)?;
        row.map(|json| serde_json::from_str(&json).map_err(|e| corrupt("device", e)))
            .transpose()
    }

    async fn windows(
        &self,
        device: &DeviceId,
        metric: &MetricName,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, WindowAggregate)>, PortError> {
        let rows = sqlx::query(
            "SELECT start_ms, count, sum, min, max, last, last_ts, anomalies FROM windows \
             WHERE device_id = ? AND metric = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms",
        )
        .bind(device.as_str())
        .bind(metric.as_str())
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.db.read)
        .await
        .map_err(error)?;
        Ok(rows
            .iter()
            .map(|row| (Timestamp::from_millis(row.get(0)), window_from_row(row, 1)))
            .collect())
    }

    async fn anomalies(&self, since: Timestamp, limit: usize) -> Result<Vec<Anomaly>, PortError> {
        let rows = sqlx::query(
            "SELECT device_id, metric, ts, value, score, reading_id, kind, expected, lower, upper \
             FROM anomalies \
             WHERE ts >= ? ORDER BY ts DESC, device_id, metric LIMIT ?",
        )
        .bind(since.millis())
        .bind(limit as i64)
        .fetch_all(&self.db.read)
        .await
        .map_err(error)?;
        rows.iter()
            .map(|row| {
                let bad = |e: String| PortError::broken(crate::db::BACKEND, e);
                Ok(Anomaly {
                    device_id: DeviceId::parse(row.get(0)).map_err(bad)?,
                    metric: MetricName::parse(row.get(1)).map_err(bad)?,
                    ts: Timestamp::from_millis(row.get(2)),
                    value: row.get(3),
                    score: row.get(4),
                    reading_id: ReadingId::parse(row.get(5)).map_err(bad)?,
                    kind: row.get::<Option<&str>, _>(6).and_then(AnomalyKind::parse),
                    expected: row.get(7),
                    lower: row.get(8),
                    upper: row.get(9),
                })
            })
            .collect()
    }
}
