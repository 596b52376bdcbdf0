//! `ResultStore::apply` on PostgreSQL. One transaction per batch:
//! 1. lock the consumer's position rows for the batch's partitions (concurrent applies of the same
//!    partition, e.g. during a rebalance, serialize here) and skip deliveries below them;
//! 2. claim reading identities (`ON CONFLICT DO NOTHING RETURNING`): only new ones count;
//! 3. merge window deltas, anomalies and latest values with upserts whose merge rules mirror
//!    `WindowAggregate::merge` and `DeviceLatest::merge` (tested against them);
//! 4. advance the positions. Every statement takes whole columns as arrays.

use crate::{error, PgResultStore};
use std::collections::HashSet;
use tributary_core::ports::Applied;
use tributary_core::process::{
    aggregate, anomalies_in, latest_by_device, split_claimed, ConsumedBatch, WindowAggregate,
    WindowKey,
};
use tributary_core::{DeviceId, MetricName, PortError, ScoredReading, Timestamp};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

impl PgResultStore {
    pub(crate) async fn apply_batch(&self, batch: &ConsumedBatch) -> Result<Applied, PortError> {
        let mut tx = self.pool.begin().await.map_err(error)?;
        let partitions: Vec<i32> = batch.next_offsets.keys().copied().collect();
        sqlx::query!(
            "INSERT INTO consumer_positions (consumer, partition, next_offset)
             SELECT $1, p, 0 FROM UNNEST($2::int4[]) AS p
             ON CONFLICT DO NOTHING",
            batch.consumer,
            &partitions
        )
        .execute(&mut *tx)
        .await
        .map_err(error)?;
        let positions: std::collections::HashMap<i32, i64> = sqlx::query!(
            "SELECT partition, next_offset FROM consumer_positions
             WHERE consumer = $1 AND partition = ANY($2)
             ORDER BY partition FOR UPDATE",
            batch.consumer,
            &partitions
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(error)?
        .into_iter()
        .map(|r| (r.partition, r.next_offset))
        .collect();

        let (kept, redelivered) = batch.undelivered(|partition| positions.get(&partition).copied());
        let claimed = claim(&mut tx, &kept).await?;
        let (fresh, republished) = split_claimed(kept, claimed);
        let mut applied = Applied {
            fresh,
            redelivered,
            republished,
            windows: Vec::new(),
        };
        applied.windows = merge_windows(&mut tx, &applied.fresh).await?;
        insert_anomalies(&mut tx, &applied.fresh).await?;
        merge_latest(&mut tx, &applied.fresh).await?;

        let (parts, nexts): (Vec<i32>, Vec<i64>) =
            batch.next_offsets.iter().map(|(p, n)| (*p, *n)).unzip();
        sqlx::query!(
            "UPDATE consumer_positions AS c SET next_offset = GREATEST(c.next_offset, v.next)
             FROM UNNEST($2::int4[], $3::int8[]) AS v(partition, next)
             WHERE c.consumer = $1 AND c.partition = v.partition",
            batch.consumer,
            &parts,
            &nexts
        )
        .execute(&mut *tx)
        .await
        .map_err(error)?;
        tx.commit().await.map_err(error)?;
        Ok(applied)
    }
}

/// Claims identities; returns those that were not counted before.
async fn claim(
    tx: &mut Tx<'_>,
    events: &[&ScoredReading],
) -> Result<HashSet<(String, String)>, PortError> {
    if events.is_empty() {
        return Ok(HashSet::new());
    }
    let devices: Vec<&str> = events.iter().map(|e| e.device_id.as_str()).collect();
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let rows = sqlx::query!(
        "INSERT INTO applied_readings (device_id, reading_id)
         SELECT * FROM UNNEST($1::text[], $2::text[])
         ON CONFLICT DO NOTHING
         RETURNING device_id, reading_id",
        &devices as &[&str],
        &ids as &[&str]
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(error)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.device_id, r.reading_id))
        .collect())
}

/// Merges the fresh readings' window deltas; returns the merged state of each window touched.
async fn merge_windows(
    tx: &mut Tx<'_>,
    fresh: &[ScoredReading],
) -> Result<Vec<(WindowKey, WindowAggregate)>, PortError> {
    let windows = aggregate(fresh);
    if windows.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = WindowColumns::default();
    for (key, w) in &windows {
        c.device.push(key.device_id.as_str());
        c.metric.push(key.metric.as_str());
        c.start.push(key.start.millis());
        c.count.push(w.count as i64);
        c.sum.push(w.sum);
        c.min.push(w.min);
        c.max.push(w.max);
        c.last.push(w.last);
        c.last_ts.push(w.last_ts.millis());
        c.anomalies.push(w.anomalies as i64);
    }
    let rows = sqlx::query!(
        "INSERT INTO windows AS w (device_id, metric, start_ms, count, sum, min, max, last, last_ts, anomalies)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::float8[], $6::float8[],
                              $7::float8[], $8::float8[], $9::int8[], $10::int8[])
         ON CONFLICT (device_id, metric, start_ms) DO UPDATE SET
             count = w.count + excluded.count,
             sum = w.sum + excluded.sum,
             min = LEAST(w.min, excluded.min),
             max = GREATEST(w.max, excluded.max),
             last = CASE WHEN (excluded.last_ts, excluded.last, excluded.last::text <> '-0')
                            > (w.last_ts, w.last, w.last::text <> '-0')
                         THEN excluded.last ELSE w.last END,
             last_ts = GREATEST(w.last_ts, excluded.last_ts),
             anomalies = w.anomalies + excluded.anomalies
         RETURNING device_id, metric, start_ms, count, sum, min, max, last, last_ts, anomalies",
        &c.device as &[&str],
        &c.metric as &[&str],
        &c.start,
        &c.count,
        &c.sum,
        &c.min,
        &c.max,
        &c.last,
        &c.last_ts,
        &c.anomalies
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(error)?;
    let bad =
        |e: String| PortError::broken(crate::BACKEND, format!("stored window is invalid: {e}"));
    rows.into_iter()
        .map(|r| {
            let key = WindowKey {
                device_id: DeviceId::parse(&r.device_id).map_err(bad)?,
                metric: MetricName::parse(&r.metric).map_err(bad)?,
                start: Timestamp::from_millis(r.start_ms),
            };
            let window =
                crate::window_of(r.count, r.sum, r.min, r.max, r.last, r.last_ts, r.anomalies);
            Ok((key, window))
        })
        .collect()
}

#[derive(Default)]
struct WindowColumns<'a> {
    device: Vec<&'a str>,
    metric: Vec<&'a str>,
    start: Vec<i64>,
    count: Vec<i64>,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    last: Vec<f64>,
    last_ts: Vec<i64>,
    anomalies: Vec<i64>,
}

async fn insert_anomalies(tx: &mut Tx<'_>, fresh: &[ScoredReading]) -> Result<(), PortError> {
    let anomalies = anomalies_in(fresh);
    if anomalies.is_empty() {
        return Ok(());
    }
    let device: Vec<&str> = anomalies.iter().map(|a| a.device_id.as_str()).collect();
    let reading: Vec<&str> = anomalies.iter().map(|a| a.reading_id.as_str()).collect();
    let metric: Vec<&str> = anomalies.iter().map(|a| a.metric.as_str()).collect();
    let ts: Vec<i64> = anomalies.iter().map(|a| a.ts.millis()).collect();
    let value: Vec<f64> = anomalies.iter().map(|a| a.value).collect();
    let score: Vec<f64> = anomalies.iter().map(|a| a.score).collect();
    let kind: Vec<Option<&str>> = anomalies
        .iter()
        .map(|a| a.kind.map(|k| k.as_str()))
        .collect();
    let expected: Vec<Option<f64>> = anomalies.iter().map(|a| a.expected).collect();
    let lower: Vec<Option<f64>> = anomalies.iter().map(|a| a.lower).collect();
    let upper: Vec<Option<f64>> = anomalies.iter().map(|a| a.upper).collect();
    sqlx::query!(
        "INSERT INTO anomalies (device_id, reading_id, metric, ts, value, score, kind, expected, lower, upper)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[],
                              $7::text[], $8::float8[], $9::float8[], $10::float8[])
         ON CONFLICT DO NOTHING",
        &device as &[&str],
        &reading as &[&str],
        &metric as &[&str],
        &ts,
        &value,
        &score,
        &kind as &[Option<&str>],
        &expected as &[Option<f64>],
        &lower as &[Option<f64>],
        &upper as &[Option<f64>]
    )
    .execute(&mut **tx)
    .await
    .map_err(error)?;
    Ok(())
}

/// Latest per device and metric: a later event time wins (ties: the larger value), as in the core.
async fn merge_latest(tx: &mut Tx<'_>, fresh: &[ScoredReading]) -> Result<(), PortError> {
    let latest = latest_by_device(fresh);
    if latest.is_empty() {
        return Ok(());
    }
    let devices: Vec<&str> = latest.keys().map(|d| d.as_str()).collect();
    let seen: Vec<i64> = latest.values().map(|l| l.last_seen.millis()).collect();
    sqlx::query!(
        "INSERT INTO devices AS d (device_id, last_seen)
         SELECT * FROM UNNEST($1::text[], $2::int8[])
         ON CONFLICT (device_id) DO UPDATE SET last_seen = GREATEST(d.last_seen, excluded.last_seen)",
        &devices as &[&str],
        &seen
    )
    .execute(&mut **tx)
    .await
    .map_err(error)?;
    let rows: Vec<_> = latest
        .values()
        .flat_map(|l| {
            l.metrics
                .iter()
                .map(move |(m, v)| (l.device_id.as_str(), m.as_str(), v))
        })
        .collect();
    let device: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let metric: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let value: Vec<f64> = rows.iter().map(|r| r.2.value).collect();
    let ts: Vec<i64> = rows.iter().map(|r| r.2.ts.millis()).collect();
    let score: Vec<f64> = rows.iter().map(|r| r.2.score).collect();
    let anomaly: Vec<bool> = rows.iter().map(|r| r.2.anomaly).collect();
    let kind: Vec<Option<&str>> = rows.iter().map(|r| r.2.kind.map(|k| k.as_str())).collect();
    let expected: Vec<Option<f64>> = rows.iter().map(|r| r.2.expected).collect();
    let lower: Vec<Option<f64>> = rows.iter().map(|r| r.2.lower).collect();
    let upper: Vec<Option<f64>> = rows.iter().map(|r| r.2.upper).collect();
    sqlx::query!(
        "INSERT INTO device_metrics AS m (device_id, metric, value, ts, score, anomaly, kind, expected, lower, upper)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::float8[], $4::int8[], $5::float8[], $6::bool[],
                              $7::text[], $8::float8[], $9::float8[], $10::float8[])
         ON CONFLICT (device_id, metric) DO UPDATE SET
             value = excluded.value, ts = excluded.ts, score = excluded.score, anomaly = excluded.anomaly,
             kind = excluded.kind, expected = excluded.expected, lower = excluded.lower, upper = excluded.upper
         WHERE (excluded.ts, excluded.value, excluded.value::text <> '-0',
                excluded.score, excluded.score::text <> '-0', excluded.anomaly)
             > (m.ts, m.value, m.value::text <> '-0', m.score, m.score::text <> '-0', m.anomaly)",
        &device as &[&str],
        &metric as &[&str],
        &value,
        &ts,
        &score,
        &anomaly,
        &kind as &[Option<&str>],
        &expected as &[Option<f64>],
        &lower as &[Option<f64>],
        &upper as &[Option<f64>]
    )
    .execute(&mut **tx)
    .await
    .map_err(error)?;
    Ok(())
}
