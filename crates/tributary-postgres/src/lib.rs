//! The PostgreSQL result store: exactly-once application of consumed batches (positions, reading
//! identities and aggregates in one transaction, every write a batched `UNNEST` statement), and the
//! reads behind the query API. SQL lives only in this crate; schema in the repository's `migrations/`.

mod apply;
mod check;
mod checkpoints;
mod connect;
mod read;

pub use check::SchemaStatus;
pub use checkpoints::PgCheckpointStore;
pub use connect::{PgSettings, ENTRA_SCOPE};

use sqlx::PgPool;
use tributary_core::PortError;

const BACKEND: &str = "PostgreSQL";

/// The schema migrations (`migrations/` at the repository root), run by `tributary migrate`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

pub struct PgResultStore {
    pool: PgPool,
}

impl PgResultStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Brings the schema up to date (idempotent; safe to run from several replicas at once).
    pub async fn migrate(&self) -> Result<(), PortError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| PortError::broken(BACKEND, format!("migrating: {e}")))
    }
}

/// Maps a sqlx error onto the port error by SQLSTATE class (PostgreSQL manual, appendix A "Error
/// Codes"): connection trouble and serialization conflicts are transient; data exceptions (22) and
/// integrity violations (23) are the record's fault; everything else — authentication (28), missing
/// schema (42P01, 42703, 3D000), privileges (42501), disk full (53100), read-only (25006) — means the
/// database or its configuration is broken, so the caller waits instead of dead-lettering good data.
pub(crate) fn error(e: sqlx::Error) -> PortError {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => PortError::unavailable(BACKEND, e),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // serialization_failure, deadlock_detected, admin/crash shutdown, cannot_connect_now,
            // too_many_connections, lock_not_available, query_canceled, and the connection-exception
            // class (08xxx).
            Some("40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" | "55P03" | "57014") => {
                PortError::unavailable(BACKEND, e)
            }
            Some(code) if code.starts_with("08") => PortError::unavailable(BACKEND, e),
            Some(code) if code.starts_with("22") || code.starts_with("23") => {
                PortError::rejected(BACKEND, e)
            }
            _ => PortError::broken(BACKEND, e),
        },
        _ => PortError::broken(BACKEND, e),
    }
}

/// A window as its row stores it (count and anomalies are BIGINT, times epoch milliseconds).
pub(crate) fn window_of(
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
    last_ts: i64,
    anomalies: i64,
) -> tributary_core::process::WindowAggregate {
    tributary_core::process::WindowAggregate {
        count: count as u64,
        sum,
        min,
        max,
        last,
        last_ts: tributary_core::Timestamp::from_millis(last_ts),
        anomalies: anomalies as u64,
    }
}
