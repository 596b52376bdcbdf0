//! `GET /api/devices/{id}/latest` (function DeviceLatest): the latest value of each metric (from the
//! cache, else the result store) and, when the cache has them, each metric's current window.

use super::params;
use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::BTreeMap;
use tributary_core::process::DeviceLatest;
use tributary_core::query::SeriesPoint;
use tributary_core::MetricName;

pub const ROUTE: &str = "/api/devices/{id}/latest";

pub fn router() -> Router<QueryState> {
    Router::new().route(ROUTE, get(handle))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LatestBody {
    #[serde(flatten)]
    latest: DeviceLatest,
    /// The newest one-minute window per metric, as processed so far (absent if the cache is cold).
    current_windows: BTreeMap<MetricName, SeriesPoint>,
}

async fn handle(
    State(state): State<QueryState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<LatestBody>, ApiError> {
    let id = params::path_device_id(id)?;
    let cached = state.cache.get(&id).await.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "cache unavailable; reading the result store");
        None
    });
    let latest = match cached {
        Some(latest) => latest,
        None => state
            .results
            .device(&id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("device {id} is unknown")))?,
    };
    let windows = state.cache.current_windows(&id).await.unwrap_or_default();
    let current_windows = windows
        .iter()
        .map(|(metric, (start, window))| (metric.clone(), SeriesPoint::of(*start, window)))
        .collect();
    Ok(Json(LatestBody {
        latest,
        current_windows,
    }))
}
