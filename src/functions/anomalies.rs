//! `GET /api/anomalies?since=…&limit=…` (function Anomalies): flagged readings, newest first.

use super::params;
use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub const ROUTE: &str = "/api/anomalies";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Most anomalies one request may ask for (`tributary verify` asks for this many).
pub const MAX_LIMIT: usize = 10_000;

pub fn router() -> Router<QueryState> {
    Router::new().route(ROUTE, get(handle))
}

#[derive(Deserialize)]
struct AnomaliesQuery {
    since: Option<String>,
    limit: Option<String>,
}

async fn handle(
    State(state): State<QueryState>,
    query: Result<Query<AnomaliesQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let since = params::instant(
        "since",
        q.since.as_deref(),
        (state.clock)().saturating_add_ms(-DAY_MS),
    )?;
    let limit = params::limit(q.limit.as_deref(), 100, MAX_LIMIT)?;
    let anomalies = state.results.anomalies(since, limit).await?;
    Ok(Json(json!({ "anomalies": anomalies })))
}
