//! What every HTTP function gets: the ports as trait objects, limits, telemetry, the clock and the
//! shutdown token. Built once by start-up; nothing here reads configuration itself.

use crate::telemetry::Telemetry;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_core::ingest::IngestLimits;
use tributary_core::ports::{LatestCache, LiveFeed, ReadingStore, ResultStore};
use tributary_core::Timestamp;

/// The wall clock, injectable so tests can pin "now".
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Timestamp::now)
}

#[derive(Clone)]
pub struct AppState {
    pub readings: Arc<dyn ReadingStore>,
    pub results: Arc<dyn ResultStore>,
    pub cache: Arc<dyn LatestCache>,
    pub live: Arc<dyn LiveFeed>,
    pub limits: IngestLimits,
    pub telemetry: Arc<Telemetry>,
    pub clock: Clock,
    /// Signalled after readings are stored, so an in-process analyze wakes at once instead of polling.
    pub stored: Arc<Notify>,
    pub shutdown: CancellationToken,
}
