//! `GET /healthz` (function Healthz): liveness for probes; answers while the process serves HTTP.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub const ROUTE: &str = "/healthz";

pub fn router() -> Router {
    Router::new().route(ROUTE, get(|| async { Json(json!({"status": "ok"})) }))
}
