//! `GET /healthz` (function Healthz): liveness. 200 while every stage of this process is alive; 503
//! once a stage's task has died (the process is then draining to exit, and Kubernetes restarts it).

use crate::health::Health;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const ROUTE: &str = "/healthz";

pub fn router() -> Router<Health> {
    Router::new().route(ROUTE, get(healthz))
}

async fn healthz(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let report = health.report();
    if report.live {
        return (StatusCode::OK, Json(json!({"status": "ok"})));
    }
    let dead: serde_json::Map<String, Value> = report
        .stages
        .iter()
        .filter(|(_, s)| s.state == "dead")
        .map(|(name, s)| (name.to_string(), json!(s)))
        .collect();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "dead", "stages": dead})),
    )
}
