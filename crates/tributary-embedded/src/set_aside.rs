//! Records set aside on SQLite: written in analyze's checkpoint transaction (or on their own by the
//! embedded process loop), listed and released by `tributary dead-letters`.

use crate::db::{error, CHUNK};
use crate::readings::SqliteCheckpointStore;
use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tributary_core::ports::{Quarantine, SetAside};
use tributary_core::{PortError, Timestamp};

/// Inserts the records, keeping the first copy of each source and key.
pub(crate) async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    records: &[SetAside],
) -> Result<(), PortError> {
    for chunk in records.chunks(CHUNK) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO set_aside (source, key, record, reason, set_aside_at) ",
        );
        insert.push_values(chunk, |mut row, r| {
            row.push_bind(r.source.as_str())
                .push_bind(r.key.as_str())
                .push_bind(r.record.as_str())
                .push_bind(r.reason.as_str())
                .push_bind(r.set_aside_at.millis());
        });
        insert.push(" ON CONFLICT (source, key) DO NOTHING");
        insert.build().execute(&mut **tx).await.map_err(error)?;
    }
    Ok(())
}

#[async_trait]
impl Quarantine for SqliteCheckpointStore {
    async fn set_aside(&self, records: &[SetAside]) -> Result<(), PortError> {
        let mut tx = self.db.write.begin().await.map_err(error)?;
        insert(&mut tx, records).await?;
        tx.commit().await.map_err(error)
    }

    async fn list(&self, limit: usize) -> Result<Vec<SetAside>, PortError> {
        let rows = sqlx::query(
            "SELECT source, key, record, reason, set_aside_at FROM set_aside \
             ORDER BY set_aside_at, source, key LIMIT ?",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.db.read)
        .await
        .map_err(error)?;
        Ok(rows
            .into_iter()
            .map(|row| SetAside {
                source: row.get(0),
                key: row.get(1),
                record: row.get(2),
                reason: row.get(3),
                set_aside_at: Timestamp::from_millis(row.get(4)),
            })
            .collect())
    }

    async fn release(&self, records: &[SetAside]) -> Result<(), PortError> {
        let mut tx = self.db.write.begin().await.map_err(error)?;
        for r in records {
            sqlx::query("DELETE FROM set_aside WHERE source = ? AND key = ?")
                .bind(&r.source)
                .bind(&r.key)
                .execute(&mut *tx)
                .await
                .map_err(error)?;
        }
        tx.commit().await.map_err(error)
    }
}
