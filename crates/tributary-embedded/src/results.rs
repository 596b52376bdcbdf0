//! The result store on SQLite. `apply` is the exactly-once step: in one transaction it skips
//! deliveries below the consumer's stored position (redelivery), skips readings already counted
//! (republish under a new offset), merges the rest into windows with the core's pure `merge`, and
//! stores the new positions.

use crate::db::{corrupt, error, Db};
use async_trait::async_trait;
use sqlx::{Row, Sqlite, Transaction};
use std::collections::BTreeMap;
use tributary_core::ports::{Anomaly, Applied, ResultStore};
use tributary_core::process::{
    aggregate, anomalies_in, latest_by_device, ConsumedBatch, DeviceLatest, WindowAggregate,
    WindowKey,
};
use tributary_core::{DeviceId, MetricName, PortError, ReadingId, Timestamp};

pub struct SqliteResultStore {
    db: Db,
}

impl SqliteResultStore {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

type Tx<'a> = Transaction<'a, Sqlite>;

async fn stored_positions(
    tx: &mut Tx<'_>,
    consumer: &str,
) -> Result<BTreeMap<i32, i64>, PortError> {
    let rows =
        sqlx::query("SELECT partition, next_offset FROM consumer_positions WHERE consumer = ?")
            .bind(consumer)
            .fetch_all(&mut **tx)
            .await
            .map_err(error)?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

async fn merge_window(
    tx: &mut Tx<'_>,
    key: &WindowKey,
    delta: &WindowAggregate,
) -> Result<(), PortError> {
    let existing = sqlx::query(
        "SELECT count, sum, min, max, last, last_ts, anomalies FROM windows \
         WHERE device_id = ? AND metric = ? AND start_ms = ?",
    )
    .bind(key.device_id.as_str())
    .bind(key.metric.as_str())
    .bind(key.start.millis())
    .fetch_optional(&mut **tx)
    .await
    .map_err(error)?;
    let merged = match existing {
        Some(row) => window_from_row(&row, 0).merge(delta),
        None => *delta,
    };
    sqlx::query(
        "INSERT OR REPLACE INTO windows \
         (device_id, metric, start_ms, count, sum, min, max, last, last_ts, anomalies) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(key.device_id.as_str())
    .bind(key.metric.as_str())
    .bind(key.start.millis())
    .bind(merged.count as i64)
    .bind(merged.sum)
    .bind(merged.min)
    .bind(merged.max)
    .bind(merged.last)
    .bind(merged.last_ts.millis())
    .bind(merged.anomalies as i64)
    .execute(&mut **tx)
    .await
    .map_err(error)?;
    Ok(())
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

async fn merge_device(tx: &mut Tx<'_>, latest: &DeviceLatest) -> Result<(), PortError> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT latest FROM devices WHERE device_id = ?")
            .bind(latest.device_id.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(error)?;
    let merged = match existing {
        Some(json) => {
            let mut stored: DeviceLatest =
                serde_json::from_str(&json).map_err(|e| corrupt("device", e))?;
            stored.merge(latest);
            stored
        }
        None => latest.clone(),
    };
    let json = serde_json::to_string(&merged).map_err(|e| corrupt("device", e))?;
    sqlx::query("INSERT OR REPLACE INTO devices (device_id, last_seen, latest) VALUES (?, ?, ?)")
        .bind(merged.device_id.as_str())
        .bind(merged.last_seen.millis())
        .bind(json)
        .execute(&mut **tx)
        .await
        .map_err(error)?;
    Ok(())
}

#[async_trait]
impl ResultStore for SqliteResultStore {
    #[tracing::instrument(skip_all, fields(consumer = %batch.consumer, n = batch.events.len()), err)]
    async fn apply(&self, batch: &ConsumedBatch) -> Result<Applied, PortError> {
        let mut tx = self.db.write.begin().await.map_err(error)?;
        let positions = stored_positions(&mut tx, &batch.consumer).await?;
        let mut applied = Applied::default();
        let now = Timestamp::now().millis();
        for (at, event) in &batch.events {
            if positions
                .get(&at.partition)
                .is_some_and(|next| at.offset < *next)
            {
                applied.redelivered += 1;
                continue;
            }
            let done = sqlx::query(
                "INSERT INTO applied_readings (device_id, reading_id, applied_at) VALUES (?, ?, ?) \
                 ON CONFLICT (device_id, reading_id) DO NOTHING",
            )
            .bind(event.device_id.as_str())
            .bind(event.id.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(error)?;
            if done.rows_affected() == 1 {
                applied.fresh.push(event.clone());
            } else {
                applied.republished += 1;
            }
        }
        for (key, delta) in aggregate(&applied.fresh) {
            merge_window(&mut tx, &key, &delta).await?;
        }
        for a in anomalies_in(&applied.fresh) {
            sqlx::query(
                "INSERT INTO anomalies (device_id, reading_id, metric, ts, value, score) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(a.device_id.as_str())
            .bind(a.reading_id.as_str())
            .bind(a.metric.as_str())
            .bind(a.ts.millis())
            .bind(a.value)
            .bind(a.score)
            .execute(&mut *tx)
            .await
            .map_err(error)?;
        }
        for latest in latest_by_device(&applied.fresh).values() {
            merge_device(&mut tx, latest).await?;
        }
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
        let rows =
            sqlx::query("SELECT partition, next_offset FROM consumer_positions WHERE consumer = ?")
                .bind(consumer)
                .fetch_all(&self.db.read)
                .await
                .map_err(error)?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn devices(&self) -> Result<Vec<DeviceLatest>, PortError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT latest FROM devices ORDER BY device_id")
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
            "SELECT device_id, metric, ts, value, score, reading_id FROM anomalies \
             WHERE ts >= ? ORDER BY ts DESC, device_id, metric LIMIT ?",
        )
        .bind(since.millis())
        .bind(limit as i64)
        .fetch_all(&self.db.read)
        .await
        .map_err(error)?;
        rows.iter()
            .map(|row| {
                let bad = |e: String| PortError::failed(crate::db::BACKEND, e);
                Ok(Anomaly {
                    device_id: DeviceId::parse(row.get(0)).map_err(bad)?,
                    metric: MetricName::parse(row.get(1)).map_err(bad)?,
                    ts: Timestamp::from_millis(row.get(2)),
                    value: row.get(3),
                    score: row.get(4),
                    reading_id: ReadingId::parse(row.get(5)).map_err(bad)?,
                })
            })
            .collect()
    }
}
