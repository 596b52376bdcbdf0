//! `GET /api/devices/{id}/latest` (function DeviceLatest): from the cache, else the result store.

use super::params;
use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use tributary_core::process::DeviceLatest;

pub const ROUTE: &str = "/api/devices/{id}/latest";

pub fn router() -> Router<QueryState> {
    Router::new().route(ROUTE, get(handle))
}

async fn handle(
    State(state): State<QueryState>,
    Path(id): Path<String>,
) -> Result<Json<DeviceLatest>, ApiError> {
    let id = params::device_id(&id)?;
    let cached = state.cache.get(&id).await.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "cache unavailable; reading the result store");
        None
    });
    let latest = match cached {
        Some(latest) => Some(latest),
        None => state.results.device(&id).await?,
    };
    latest
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("device {id} is unknown")))
}
