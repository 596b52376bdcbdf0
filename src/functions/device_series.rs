//! `GET /api/devices/{id}/series?metric=M&from=…&to=…&window=1m|5m|1h` (function DeviceSeries):
//! one metric's windows, rolled up from the stored one-minute windows.

use super::params;
use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tributary_core::query::{rollup, Resolution, SeriesPoint};
use tributary_core::{DeviceId, MetricName, Timestamp};

pub const ROUTE: &str = "/api/devices/{id}/series";
/// Most points one request may ask for.
pub const MAX_POINTS: i64 = 10_000;
const HOUR_MS: i64 = 60 * 60 * 1000;

pub fn router() -> Router<QueryState> {
    Router::new().route(ROUTE, get(handle))
}

#[derive(Deserialize)]
struct SeriesQuery {
    metric: Option<String>,
    from: Option<String>,
    to: Option<String>,
    window: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeriesBody {
    device_id: DeviceId,
    metric: MetricName,
    window: &'static str,
    from: Timestamp,
    to: Timestamp,
    points: Vec<SeriesPoint>,
}

async fn handle(
    State(state): State<QueryState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<SeriesQuery>, QueryRejection>,
) -> Result<Json<SeriesBody>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let id = params::path_device_id(id)?;
    let metric = MetricName::parse(q.metric.as_deref().ok_or_else(|| {
        ApiError::BadRequest("metric is required, e.g. ?metric=temperature".into())
    })?)
    .map_err(ApiError::BadRequest)?;
    let resolution =
        Resolution::parse(q.window.as_deref().unwrap_or("1m")).map_err(ApiError::BadRequest)?;
    let to = params::instant("to", q.to.as_deref(), (state.clock)())?;
    let an_hour_before = to.checked_add_ms(-HOUR_MS).unwrap_or(Timestamp::MIN);
    let from = params::instant("from", q.from.as_deref(), an_hour_before)?;
    if from >= to {
        return Err(ApiError::BadRequest(format!(
            "from ({from}) must be before to ({to})"
        )));
    }
    if (to.millis() - from.millis()) / resolution.width_ms() > MAX_POINTS {
        return Err(ApiError::BadRequest(format!(
            "the range holds more than {MAX_POINTS} {} windows; narrow it or use a coarser window",
            resolution.as_str()
        )));
    }
    if state.results.device(&id).await?.is_none() {
        return Err(ApiError::NotFound(format!("device {id} is unknown")));
    }
    // Align to whole windows so the first and last points are complete.
    let from = from.floor(resolution.width_ms());
    let windows = state.results.windows(&id, &metric, from, to).await?;
    Ok(Json(SeriesBody {
        device_id: id,
        metric,
        window: resolution.as_str(),
        from,
        to,
        points: rollup(&windows, resolution),
    }))
}
