//! `GET /api/devices[?limit=N&cursor=C]` (function Devices): devices in id order with their last-seen
//! time and latest metrics, one page at a time; `nextCursor` in the answer fetches the next page.

use super::params;
use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tributary_core::process::DeviceLatest;

pub const ROUTE: &str = "/api/devices";

pub fn router() -> Router<QueryState> {
    Router::new().route(ROUTE, get(handle))
}

#[derive(Deserialize)]
struct DevicesQuery {
    limit: Option<String>,
    /// The `nextCursor` of the previous page (the last device id it held).
    cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DevicesBody {
    devices: Vec<DeviceLatest>,
    /// Present when there are more devices: pass it as `cursor` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

async fn handle(
    State(state): State<QueryState>,
    query: Result<Query<DevicesQuery>, QueryRejection>,
) -> Result<Json<DevicesBody>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (default, max) = state.devices_page;
    let limit = params::limit(q.limit.as_deref(), default, max)?;
    let after =
        match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(params::device_id(c).map_err(|_| {
                ApiError::BadRequest(format!("cursor {c:?} is not a device cursor"))
            })?),
            None => None,
        };
    // One more than asked tells whether another page follows.
    let mut devices = state.results.devices(after.as_ref(), limit + 1).await?;
    let next_cursor = match devices.len() > limit {
        true => {
            devices.truncate(limit);
            devices.last().map(|d| d.device_id.to_string())
        }
        false => None,
    };
    Ok(Json(DevicesBody {
        devices,
        next_cursor,
    }))
}
