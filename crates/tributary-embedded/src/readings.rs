//! The reading store and analyze's checkpoints on SQLite. The change feed is the `lsn` order; the
//! continuation is the last `lsn` handed out.

use crate::db::{corrupt, error, Db, CHUNK};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::HashSet;
use tributary_core::analyze::DeviceState;
use tributary_core::analyze::SET_ASIDE_SOURCE;
use tributary_core::ports::{
    ChangePage, CheckpointStore, Continuation, Inserted, Progress, ReadingStore, SetAside,
};
use tributary_core::{DeviceId, PortError, Reading, Timestamp};

pub struct SqliteReadingStore {
    db: Db,
}

impl SqliteReadingStore {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

fn lsn_of(c: &Continuation) -> Result<i64, PortError> {
    if c.0.is_empty() {
        return Ok(0);
    }
    c.0.parse()
        .map_err(|_| PortError::broken(crate::db::BACKEND, format!("bad continuation {:?}", c.0)))
}

#[async_trait]
impl ReadingStore for SqliteReadingStore {
    #[tracing::instrument(skip_all, fields(n = readings.len()), err)]
    async fn insert_new(&self, readings: &[Reading]) -> Result<Vec<Inserted>, PortError> {
        let bodies = readings
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt("reading", e))?;
        let mut new: HashSet<(String, String)> = HashSet::with_capacity(readings.len());
        let rows: Vec<(&Reading, &String)> = readings.iter().zip(&bodies).collect();
        let mut tx = self.db.write.begin().await.map_err(error)?;
        for chunk in rows.chunks(CHUNK) {
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO readings (device_id, reading_id, body) ");
            insert.push_values(chunk, |mut row, (reading, body)| {
                row.push_bind(reading.device_id.as_str())
                    .push_bind(reading.id.as_str())
                    .push_bind(body.as_str());
            });
            insert.push(
                " ON CONFLICT (device_id, reading_id) DO NOTHING RETURNING device_id, reading_id",
            );
            for row in insert.build().fetch_all(&mut *tx).await.map_err(error)? {
                new.insert((row.get(0), row.get(1)));
            }
        }
        tx.commit().await.map_err(error)?;
        // `remove` so that a second copy of the same reading in one call counts as a duplicate.
        Ok(readings
            .iter()
            .map(|r| {
                let key = (r.device_id.as_str().to_owned(), r.id.as_str().to_owned());
                if new.remove(&key) {
                    Inserted::New
                } else {
                    Inserted::Duplicate
                }
            })
            .collect())
    }

    #[tracing::instrument(skip_all, err)]
    async fn changes(&self, from: &Continuation, max: usize) -> Result<ChangePage, PortError> {
        let after = lsn_of(from)?;
        let rows = sqlx::query("SELECT lsn, body FROM readings WHERE lsn > ? ORDER BY lsn LIMIT ?")
            .bind(after)
            .bind(max as i64)
            .fetch_all(&self.db.read)
            .await
            .map_err(error)?;
        let mut last = after;
        let mut readings = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for row in rows {
            last = row.get::<i64, _>(0);
            let body: &str = row.get(1);
            match serde_json::from_str(body) {
                Ok(reading) => readings.push(reading),
                Err(e) => unreadable.push(SetAside {
                    source: SET_ASIDE_SOURCE.into(),
                    key: format!("lsn:{last}"),
                    record: body.to_owned(),
                    reason: format!("stored reading is unreadable: {e}"),
                    set_aside_at: Timestamp::now(),
                }),
            }
        }
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(lsn) FROM readings")
            .fetch_one(&self.db.read)
            .await
            .map_err(error)?;
        let continuation = if readings.is_empty() && unreadable.is_empty() {
            from.clone()
        } else {
            Continuation(last.to_string())
        };
        Ok(ChangePage {
            readings,
            unreadable,
            continuation,
            remaining: Some(head.unwrap_or(0).saturating_sub(last).max(0) as u64),
        })
    }
}

pub struct SqliteCheckpointStore {
    pub(crate) db: Db,
}

impl SqliteCheckpointStore {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl CheckpointStore for SqliteCheckpointStore {
    async fn continuation(&self, key: &str) -> Result<Option<Continuation>, PortError> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT continuation FROM checkpoints WHERE feed = ?")
                .bind(key)
                .fetch_optional(&self.db.read)
                .await
                .map_err(error)?;
        Ok(found.map(Continuation))
    }

    async fn detector_states(
        &self,
        feed: &str,
        devices: &[DeviceId],
    ) -> Result<Vec<(DeviceId, DeviceState)>, PortError> {
        let mut out = Vec::with_capacity(devices.len());
        for chunk in devices.chunks(CHUNK) {
            let mut select = QueryBuilder::<Sqlite>::new(
                "SELECT device_id, state FROM detector_states WHERE feed = ",
            );
            select.push_bind(feed).push(" AND device_id IN (");
            let mut list = select.separated(", ");
            for device in chunk {
                list.push_bind(device.as_str());
            }
            select.push(")");
            for row in select
                .build()
                .fetch_all(&self.db.read)
                .await
                .map_err(error)?
            {
                let device = DeviceId::parse(row.get(0))
                    .map_err(|e| PortError::broken(crate::db::BACKEND, e))?;
                let state =
                    serde_json::from_str(row.get(1)).map_err(|e| corrupt("detector state", e))?;
                out.push((device, state));
            }
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(devices = states.len()), err)]
    async fn commit(
        &self,
        feed: &str,
        progress: Option<Progress<'_>>,
        states: &[(DeviceId, DeviceState)],
        set_aside: &[SetAside],
    ) -> Result<(), PortError> {
        let encoded = states
            .iter()
            .map(|(device, state)| Ok((device.as_str(), serde_json::to_string(state)?)))
            .collect::<Result<Vec<_>, serde_json::Error>>()
            .map_err(|e| corrupt("detector state", e))?;
        let mut tx = self.db.write.begin().await.map_err(error)?;
        for chunk in encoded.chunks(CHUNK) {
            let mut upsert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO detector_states (feed, device_id, state) ",
            );
            upsert.push_values(chunk, |mut row, (device, state)| {
                row.push_bind(feed)
                    .push_bind(*device)
                    .push_bind(state.as_str());
            });
            upsert.push(" ON CONFLICT (feed, device_id) DO UPDATE SET state = excluded.state");
            upsert.build().execute(&mut *tx).await.map_err(error)?;
        }
        if let Some(progress) = progress {
            sqlx::query(
                "INSERT INTO checkpoints (feed, continuation) VALUES (?, ?) \
                 ON CONFLICT (feed) DO UPDATE SET continuation = excluded.continuation",
            )
            .bind(progress.key)
            .bind(&progress.continuation.0)
            .execute(&mut *tx)
            .await
            .map_err(error)?;
        }
        crate::set_aside::insert(&mut tx, set_aside).await?;
        tx.commit().await.map_err(error)
    }
}
