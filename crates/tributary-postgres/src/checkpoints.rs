//! `CheckpointStore` on PostgreSQL: analyze's continuation and per-device detector state, committed
//! together, so analyze replicas (or Functions-host invocations) share state a device at a time.

use crate::{error, BACKEND};
use async_trait::async_trait;
use sqlx::PgPool;
use tributary_core::analyze::DeviceState;
use tributary_core::ports::{CheckpointStore, Continuation};
use tributary_core::{DeviceId, PortError};

pub struct PgCheckpointStore {
    pool: PgPool,
}

impl PgCheckpointStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn corrupt(e: impl std::fmt::Display) -> PortError {
    PortError::failed(BACKEND, format!("stored detector state is unreadable: {e}"))
}

#[async_trait]
impl CheckpointStore for PgCheckpointStore {
    async fn continuation(&self, feed: &str) -> Result<Option<Continuation>, PortError> {
        let row = sqlx::query_scalar!("SELECT continuation FROM checkpoints WHERE feed = $1", feed)
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
        continuation: Option<&Continuation>,
        states: &[(DeviceId, DeviceState)],
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
        if let Some(continuation) = continuation {
            sqlx::query!(
                "INSERT INTO checkpoints (feed, continuation) VALUES ($1, $2)
                 ON CONFLICT (feed) DO UPDATE SET continuation = excluded.continuation",
                feed,
                continuation.0
            )
            .execute(&mut *tx)
            .await
            .map_err(error)?;
        }
        tx.commit().await.map_err(error)
    }
}
