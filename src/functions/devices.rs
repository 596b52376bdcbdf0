//! `GET /api/devices` (function Devices): every device with its last-seen time and latest metrics.

use crate::http_error::ApiError;
use crate::state::QueryState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tributary_core::process::DeviceLatest;

pub const ROUTE: &str = "/api/devices";

pub fn router() -> Router<QueryState> {
    Router::new().route(ROUTE, get(handle))
}

#[derive(Serialize)]
struct DevicesBody {
    devices: Vec<DeviceLatest>,
}

async fn handle(State(state): State<QueryState>) -> Result<Json<DevicesBody>, ApiError> {
    let devices = state.results.devices().await?;
    Ok(Json(DevicesBody { devices }))
}
