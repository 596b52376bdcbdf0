//! What the HTTP functions get, split by role so a replica builds only what its stages need: ingest
//! functions get `IngestState`, query functions `QueryState`; `/metrics` the telemetry. Built once by
//! start-up; nothing here reads configuration itself.

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
pub struct IngestState {
    pub readings: Arc<dyn ReadingStore>,
    pub limits: IngestLimits,
    pub telemetry: Arc<Telemetry>,
    pub clock: Clock,
    /// Signalled after readings are stored, so an in-process analyze wakes at once instead of polling.
    pub stored: Arc<Notify>,
    /// The body budget and lag gate: when to answer 503 instead of taking more.
    pub admission: crate::overload::Admission,
}

#[derive(Clone)]
pub struct QueryState {
    pub results: Arc<dyn ResultStore>,
    pub cache: Arc<dyn LatestCache>,
    pub live: Arc<dyn LiveFeed>,
    pub clock: Clock,
    /// Ends live streams on shutdown so draining never waits on a listener.
    pub shutdown: CancellationToken,
    /// `/api/devices` page sizes: the default and the largest a request may ask for.
    pub devices_page: (usize, usize),
}

/// Everything the HTTP app serves; absent parts are stages this replica does not run. `analyze` and
/// `process` are the Functions host's invocation endpoints (the `serve` face only).
#[derive(Clone)]
pub struct AppState {
    pub ingest: Option<IngestState>,
    pub query: Option<QueryState>,
    pub analyze: Option<crate::functions::analyze::AnalyzeHost>,
    pub process: Option<crate::functions::process::ProcessHost>,
    pub telemetry: Arc<Telemetry>,
    /// Per-stage health for `/healthz` and `/readyz`.
    pub health: crate::health::Health,
}
