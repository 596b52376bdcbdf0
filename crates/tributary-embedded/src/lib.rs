//! Embedded adapters for every port: SQLite files under one data directory (durable across crashes)
//! plus an in-memory cache and live feed. `tributary dev` runs the whole pipeline on these.

mod db;
mod event_log;
mod live;
mod readings;
mod results;
mod set_aside;

pub use event_log::{LogMessage, SqliteEventLog, Unreadable, PARTITION};
pub use live::{BroadcastLiveFeed, MemoryLatestCache};
pub use readings::{SqliteCheckpointStore, SqliteReadingStore};
pub use results::SqliteResultStore;

use std::path::Path;
use tributary_core::PortError;

/// Every embedded adapter, opened on one data directory.
pub struct EmbeddedStorage {
    pub readings: SqliteReadingStore,
    pub checkpoints: SqliteCheckpointStore,
    pub events: SqliteEventLog,
    pub results: SqliteResultStore,
}

impl EmbeddedStorage {
    /// Creates the directory and databases if needed and brings their schemas up to date.
    pub async fn open(dir: &Path) -> Result<Self, PortError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            PortError::broken(
                "embedded storage",
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
        let readings = db::Db::open(
            &dir.join("readings.sqlite"),
            &sqlx::migrate!("./migrations/readings"),
        )
        .await?;
        let events = db::Db::open(
            &dir.join("events.sqlite"),
            &sqlx::migrate!("./migrations/events"),
        )
        .await?;
        let results = db::Db::open(
            &dir.join("results.sqlite"),
            &sqlx::migrate!("./migrations/results"),
        )
        .await?;
        Ok(Self {
            readings: SqliteReadingStore::new(readings.clone()),
            checkpoints: SqliteCheckpointStore::new(readings),
            events: SqliteEventLog::new(events),
            results: SqliteResultStore::new(results),
        })
    }
}
