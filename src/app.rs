//! The one place the HTTP app is assembled: every function's router, plus tracing, a request
//! timeout (not on the live stream) and CORS for dashboards served elsewhere.

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
    let bounded = Router::new()
        .merge(ingest::router())
        .merge(devices::router())
        .merge(device_latest::router())
        .merge(device_series::router())
        .merge(anomalies::router())
        .merge(dashboard::router())
        .merge(healthz::router())
        .merge(metrics::router())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    Router::new()
        .merge(bounded)
        .merge(stream::router())
        .layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
