//! What `tributary check-config` asks of PostgreSQL: is it reachable with these credentials, is the
//! schema migrated to what this build expects, and may we read and write its tables. Read-only.

use crate::{error, PgResultStore, MIGRATOR};
use tributary_core::PortError;

/// Which migrations this build expects and which the database has applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Versions this build's `migrations/` hold, in order.
    pub expected: Vec<i64>,
    /// Versions the database records as applied successfully.
    pub applied: Vec<i64>,
}

impl SchemaStatus {
    /// Expected versions the database has not applied.
    pub fn missing(&self) -> Vec<i64> {
        self.expected
            .iter()
            .copied()
            .filter(|v| !self.applied.contains(v))
            .collect()
    }

    /// Applied versions this build does not know (the database is ahead of this build).
    pub fn unknown(&self) -> Vec<i64> {
        self.applied
            .iter()
            .copied()
            .filter(|v| !self.expected.contains(v))
            .collect()
    }
}

impl PgResultStore {
    /// The server's version string; fails if PostgreSQL cannot be reached or refuses us.
    pub async fn server_version(&self) -> Result<String, PortError> {
        sqlx::query_scalar::<_, String>("SELECT version()")
            .fetch_one(self.pool())
            .await
            .map_err(error)
    }

    /// Applied versus expected migrations (none applied if the migrations table does not exist).
    pub async fn schema_status(&self) -> Result<SchemaStatus, PortError> {
        let expected = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .collect();
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(self.pool())
            .await
            .map_err(error)?;
        let applied = match exists {
            false => Vec::new(),
            true => sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
            )
            .fetch_all(self.pool())
            .await
            .map_err(error)?,
        };
        Ok(SchemaStatus { expected, applied })
    }

    /// Tables of the current schema on which this user lacks SELECT, INSERT, UPDATE or DELETE.
    pub async fn tables_without_access(&self) -> Result<Vec<String>, PortError> {
        sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
               AND c.relname <> '_sqlx_migrations' \
               AND NOT (has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT') \
                    AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE')) \
             ORDER BY 1",
        )
        .fetch_all(self.pool())
        .await
        .map_err(error)
    }
}
