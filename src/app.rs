//! The one place the HTTP app is assembled: the functions of the stages this replica runs, plus
//! tracing, a request timeout (not on the live stream) and CORS for dashboards served elsewhere.

use crate::functions::{
    analyze, anomalies, dashboard, device_latest, device_series, devices, healthz, ingest, metrics,
    openapi, process, readyz, stream,
};
use crate::http_error::ApiError;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::Router;
use std::time::Duration;
use tower_http::cors::CorsLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// A route the app serves, and the function (folder under `functions/`) it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub function: &'static str,
    pub method: &'static str,
    pub path: &'static str,
}

const fn route(function: &'static str, method: &'static str, path: &'static str) -> Route {
    Route {
        function,
        method,
        path,
    }
}

/// Every route of the app; `functions/*/function.json` must describe exactly these (tested).
pub const ROUTES: &[Route] = &[
    route("Ingest", "POST", ingest::ROUTE),
    route("Devices", "GET", devices::ROUTE),
    route("DeviceLatest", "GET", device_latest::ROUTE),
    route("DeviceSeries", "GET", device_series::ROUTE),
    route("Anomalies", "GET", anomalies::ROUTE),
    route("Stream", "GET", stream::ROUTE),
    route("Dashboard", "GET", dashboard::ROUTE),
    route("Healthz", "GET", healthz::ROUTE),
    route("Readyz", "GET", readyz::ROUTE),
    route("Metrics", "GET", metrics::ROUTE),
    route("OpenApi", "GET", openapi::ROUTE),
    route("Analyze", "POST", analyze::ROUTE),
    route("Process", "POST", process::ROUTE),
];

/// Longest a request (other than the live stream) may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn app(state: AppState) -> Router {
    let mut bounded = Router::new()
        .merge(healthz::router().with_state(state.health.clone()))
        .merge(readyz::router().with_state(state.health.clone()))
        .merge(openapi::router())
        .merge(metrics::router().with_state(state.telemetry));
    if let Some(ingest) = state.ingest {
        bounded = bounded.merge(ingest::router().with_state(ingest));
    }
    if let Some(query) = &state.query {
        bounded = bounded
            .merge(devices::router().with_state(query.clone()))
            .merge(device_latest::router().with_state(query.clone()))
            .merge(device_series::router().with_state(query.clone()))
            .merge(anomalies::router().with_state(query.clone()))
            .merge(dashboard::router());
    }
    let mut app = Router::new().merge(bounded.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        REQUEST_TIMEOUT,
    )));
    if let Some(query) = state.query {
        app = app.merge(stream::router().with_state(query));
    }
    // Invocations run as long as their batch takes; the host's function timeout bounds them.
    if let Some(analyze) = state.analyze {
        app = app.merge(analyze::router().with_state(analyze));
    }
    if let Some(process) = state.process {
        app = app.merge(process::router().with_state(process));
    }
    // Unknown paths get the same JSON error body as every other error (the OpenAPI description's).
    app.fallback(|| async { ApiError::NotFound("no such route; see /openapi.json".into()) })
        .layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http())
}
