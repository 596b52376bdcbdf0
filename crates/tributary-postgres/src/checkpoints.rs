//! `CheckpointStore` on PostgreSQL: analyze's continuation, per-device detector state and the records
//! it set aside, committed together, so analyze replicas (or Functions-host invocations) share state
//! a device at a time; and the `Quarantine` of set-aside records for operators.

use crate::{error, BACKEND};
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::{Postgres, Transaction};
use tributary_core::analyze::DeviceState;
use tributary_core::ports::{CheckpointStore, Continuation, Progress, Quarantine, SetAside};
use tributary_core::{DeviceId, PortError, Timestamp};

pub struct PgCheckpointStore {
    pool: PgPool,
}

impl PgCheckpointStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn corrupt(e: impl std::fmt::Display) -> PortError {
    PortError::broken(BACKEND, format!("stored detector state is unreadable: {e}"))
}

#[async_trait]
impl CheckpointStore for PgCheckpointStore {
    async fn continuation(&self, key: &str) -> Result<Option<Continuation>, PortError> {
        let row = sqlx::query_scalar!("SELECT continuation FROM checkpoints WHERE feed = $1", key)
            .fetch_optional(&self.pool)
            .await
            .map_err(error)?;
        Ok(row.map(Continuation))
    }

    async fn detector_states(
        &self,
        feed: &str,
        devices: &[DeviceId],
    ) -> Result<Vec<(DeviceId, DeviceState)>, PortError> {
        let ids: Vec<&str> = devices.iter().map(DeviceId::as_str).collect();
        let rows = sqlx::query!(
            "SELECT device_id, state FROM detector_states WHERE feed = $1 AND device_id = ANY($2)",
            feed,
            &ids as &[&str]
        )
        .fetch_all(&self.pool)
        .await
        .map_err(error)?;
        rows.into_iter()
            .map(|r| {
                let device = DeviceId::parse(&r.device_id).map_err(corrupt)?;
                Ok((device, serde_json::from_value(r.state).map_err(corrupt)?))
            })
            .collect()
    }

    async fn commit(
        &self,
        feed: &str,
        progress: Option<Progress<'_>>,
        states: &[(DeviceId, DeviceState)],
        set_aside: &[SetAside],
    ) -> Result<(), PortError> {
        let ids: Vec<&str> = states.iter().map(|(d, _)| d.as_str()).collect();
        let values = states
            .iter()
            .map(|(_, s)| serde_json::to_value(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        let mut tx = self.pool.begin().await.map_err(error)?;
        sqlx::query!(
            "INSERT INTO detector_states (feed, device_id, state)
             SELECT $1, * FROM UNNEST($2::text[], $3::jsonb[])
             ON CONFLICT (feed, device_id) DO UPDATE SET state = excluded.state",
            feed,
            &ids as &[&str],
            &values
        )
        .execute(&mut *tx)
        .await
        .map_err(error)?;
        if let Some(progress) = progress {
            sqlx::query!(
                "INSERT INTO checkpoints (feed, continuation) VALUES ($1, $2)
                 ON CONFLICT (feed) DO UPDATE SET continuation = excluded.continuation",
                progress.key,
                progress.continuation.0
            )
            .execute(&mut *tx)
            .await
            .map_err(error)?;
        }
        insert_set_aside(&mut tx, set_aside).await?;
        tx.commit().await.map_err(error)
    }
}

/// PostgreSQL text cannot hold NUL; a set-aside record must never be refused for its content.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

async fn insert_set_aside(
    tx: &mut Transaction<'_, Postgres>,
    records: &[SetAside],
) -> Result<(), PortError> {
    if records.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&SetAside) -> &str| records.iter().map(|r| storable(f(r))).collect();
    let (sources, keys, bodies, reasons): (Vec<String>, Vec<String>, Vec<String>, Vec<String>) = (
        column(|r| &r.source),
        column(|r| &r.key),
        column(|r| &r.record),
        column(|r| &r.reason),
    );
    let at: Vec<i64> = records.iter().map(|r| r.set_aside_at.millis()).collect();
    sqlx::query!(
        "INSERT INTO set_aside (source, key, record, reason, set_aside_at)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
         ON CONFLICT (source, key) DO NOTHING",
        &sources,
        &keys,
        &bodies,
        &reasons,
        &at
    )
    .execute(&mut **tx)
    .await
    .map_err(error)?;
    Ok(())
}

#[async_trait]
impl Quarantine for PgCheckpointStore {
    async fn set_aside(&self, records: &[SetAside]) -> Result<(), PortError> {
        let mut tx = self.pool.begin().await.map_err(error)?;
        insert_set_aside(&mut tx, records).await?;
        tx.commit().await.map_err(error)
    }

    async fn list(&self, limit: usize) -> Result<Vec<SetAside>, PortError> {
        let rows = sqlx::query!(
            "SELECT source, key, record, reason, set_aside_at FROM set_aside
             ORDER BY set_aside_at, source, key LIMIT $1",
            i64::try_from(limit).unwrap_or(i64::MAX)
        )
        .fetch_all(&self.pool)
        .await
        .map_err(error)?;
        Ok(rows
            .into_iter()
            .map(|r| SetAside {
                source: r.source,
                key: r.key,
                record: r.record,
                reason: r.reason,
                set_aside_at: Timestamp::from_millis(r.set_aside_at),
            })
            .collect())
    }

    async fn release(&self, records: &[SetAside]) -> Result<(), PortError> {
        let sources: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
        let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        sqlx::query!(
            "DELETE FROM set_aside WHERE (source, key) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))",
            &sources as &[&str],
            &keys as &[&str]
        )
        .execute(&self.pool)
        .await
        .map_err(error)?;
        Ok(())
    }
}
