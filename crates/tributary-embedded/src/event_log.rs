//! The event log on SQLite: one partition, offsets are `seq`. Messages are the documented JSON of a
//! scored reading, exactly as they go to Kafka, so consumers parse the same bytes in every face.

use crate::db::{corrupt, error, Db, CHUNK};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite};
use tributary_core::ports::EventLog;
use tributary_core::process::LogPosition;
use tributary_core::{PortError, ScoredReading};

/// The only partition of the embedded log.
pub const PARTITION: i32 = 0;

pub struct SqliteEventLog {
    db: Db,
}

/// A message as read from the log: its position and payload, parsed or not.
pub type LogMessage = (LogPosition, Result<ScoredReading, Unreadable>);

/// A message that is not a scored reading: the payload as stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub record: String,
    pub reason: String,
}

impl SqliteEventLog {
    pub(crate) fn new(db: Db) -> Self {
        Self { db }
    }

    /// Up to `max` messages from offset `from` on.
    pub async fn read(&self, from: i64, max: usize) -> Result<Vec<LogMessage>, PortError> {
        let rows =
            sqlx::query("SELECT seq, payload FROM events WHERE seq >= ? ORDER BY seq LIMIT ?")
                .bind(from)
                .bind(max as i64)
                .fetch_all(&self.db.read)
                .await
                .map_err(error)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let at = LogPosition {
                    partition: PARTITION,
                    offset: row.get(0),
                };
                let payload: &str = row.get(1);
                let parsed = serde_json::from_str(payload).map_err(|e| Unreadable {
                    record: payload.to_owned(),
                    reason: format!("not a scored reading: {e}"),
                });
                (at, parsed)
            })
            .collect())
    }

    /// The offset the next published message will get (the log's end). AUTOINCREMENT never reuses an
    /// offset, so this comes from SQLite's sequence, not from the rows left after truncation.
    pub async fn end(&self) -> Result<i64, PortError> {
        let head: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
                .fetch_optional(&self.db.read)
                .await
                .map_err(error)?;
        Ok(head.unwrap_or(0) + 1)
    }

    /// Drops messages below `offset`, which every consumer has applied (the log's retention).
    pub async fn truncate_before(&self, offset: i64) -> Result<u64, PortError> {
        let done = sqlx::query("DELETE FROM events WHERE seq < ?")
            .bind(offset)
            .execute(&self.db.write)
            .await
            .map_err(error)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl EventLog for SqliteEventLog {
    #[tracing::instrument(skip_all, fields(n = events.len()), err)]
    async fn publish(&self, events: &[ScoredReading]) -> Result<(), PortError> {
        let payloads = events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt("event", e))?;
        let rows: Vec<(&ScoredReading, String)> = events.iter().zip(payloads).collect();
        let mut tx = self.db.write.begin().await.map_err(error)?;
        for chunk in rows.chunks(CHUNK) {
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO events (device_id, payload) ");
            insert.push_values(chunk, |mut row, (event, payload)| {
                row.push_bind(event.device_id.as_str())
                    .push_bind(payload.as_str());
            });
            insert.build().execute(&mut *tx).await.map_err(error)?;
        }
        tx.commit().await.map_err(error)
    }
}
