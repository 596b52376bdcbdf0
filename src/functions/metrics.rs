//! `GET /metrics` (function Metrics): Prometheus/OpenMetrics text exposition.

use crate::telemetry::Telemetry;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub const ROUTE: &str = "/metrics";
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router() -> Router<Arc<Telemetry>> {
    Router::new().route(ROUTE, get(handle))
}

async fn handle(State(telemetry): State<Arc<Telemetry>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], telemetry.render())
}
