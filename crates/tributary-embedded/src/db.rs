//! Opening a SQLite database for durable use: WAL with full fsync on commit (a 202 survives power
//! loss), one writer connection (SQLite allows one writer; queueing here beats SQLITE_BUSY), and a
//! small pool of readers.

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;
use tributary_core::PortError;

pub(crate) const BACKEND: &str = "embedded SQLite";

/// Rows per multi-row statement. Each statement costs a hand-off to sqlx's SQLite worker thread, so
/// writes go in chunks rather than a statement per row; 500 rows × ≤ 10 columns stays far below
/// SQLite's 32,766 bound parameters.
pub(crate) const CHUNK: usize = 500;

#[derive(Clone)]
pub(crate) struct Db {
    pub write: SqlitePool,
    pub read: SqlitePool,
}

impl Db {
    pub async fn open(path: &Path, migrator: &Migrator) -> Result<Self, PortError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(error)?;
        migrator.run(&write).await.map_err(|e| {
            PortError::broken(BACKEND, format!("migrating {}: {e}", path.display()))
        })?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(error)?;
        Ok(Self { write, read })
    }
}

/// Maps a SQLite error onto the port error by result code (sqlite.org/rescode.html): busy and locked
/// are transient; too big (18), constraint (19) and mismatch (20) are the record's fault; the rest —
/// I/O errors, a full disk (13), a read-only or corrupt file, a missing table — mean the store is
/// broken, so the caller waits and alerts instead of setting good data aside.
pub(crate) fn error(e: sqlx::Error) -> PortError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => PortError::unavailable(BACKEND, e),
        sqlx::Error::Database(db) => {
            // The primary result code is the low byte of the extended one.
            let primary = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            match primary {
                Some(5 | 6) => PortError::unavailable(BACKEND, e),
                Some(18..=20) => PortError::rejected(BACKEND, e),
                _ => PortError::broken(BACKEND, e),
            }
        }
        _ => PortError::broken(BACKEND, e),
    }
}

/// Maps a (de)serialisation failure of stored JSON: the data is not what this version wrote.
pub(crate) fn corrupt(what: &str, e: serde_json::Error) -> PortError {
    PortError::broken(BACKEND, format!("stored {what} is unreadable: {e}"))
}
