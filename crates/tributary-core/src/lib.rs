//! Tributary's pure core: domain types, the stage functions (ingest, analyze, process, query) and the
//! port traits that adapters implement. Nothing here opens a socket, a file or a runtime.

pub mod analyze;
pub mod auth;
pub mod domain;
pub mod error;
pub mod ingest;
pub mod ports;
pub mod process;
pub mod query;

pub use domain::{
    AnomalyKind, DeviceId, MetricName, Reading, ReadingId, ScoredReading, ScoredValue, Timestamp,
};
pub use error::{ErrorClass, PortError};
