//! The one place the HTTP app is assembled: the functions of the stages this replica runs, plus
//! tracing, a request timeout (not on the live stream) and CORS for dashboards served elsewhere.

use crate::functions::{
    anomalies, dashboard, device_latest, device_series, devices, healthz, ingest, metrics, stream,
};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::Router;
use std::time::Duration;
use tower_http::cors::CorsLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Longest a request (other than the live stream) may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn app(state: AppState) -> Router {
    let mut bounded = Router::new()
        .merge(healthz::router())
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
    app.layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http())
}
