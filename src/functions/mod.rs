//! HTTP functions. Each module matches a folder under `functions/` at the repository root and exposes
//! `router()`; `app::app` merges them. Handlers parse, call one core function, map the result.

pub mod analyze;
pub mod anomalies;
pub mod dashboard;
pub mod device_latest;
pub mod device_series;
pub mod devices;
pub mod healthz;
pub mod ingest;
pub mod invocation;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod process;
pub mod readyz;
pub mod stream;
