//! `GET /readyz` (function Readyz): readiness. Every stage's state as JSON (`running`, `waiting` with
//! its reason, `lagging` with how far behind, `dead`); 503 while a stage cannot do its work, a stage
//! has died, or the process is draining. Lagging alone stays ready.

use crate::health::Health;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const ROUTE: &str = "/readyz";

pub fn router() -> Router<Health> {
    Router::new().route(ROUTE, get(readyz))
}

async fn readyz(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let report = health.report();
    let (code, status) = match (report.ready, report.draining, report.live) {
        (true, _, _) => (StatusCode::OK, "ready"),
        (false, true, _) => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
        (false, false, false) => (StatusCode::SERVICE_UNAVAILABLE, "dead"),
        (false, false, true) => (StatusCode::SERVICE_UNAVAILABLE, "waiting"),
    };
    (
        code,
        Json(json!({"status": status, "stages": report.stages})),
    )
}
