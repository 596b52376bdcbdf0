//! `POST /Analyze` (function Analyze): the Functions host's Cosmos DB change-feed trigger delivers
//! documents (readings as ingest stored them); they are scored with the detector state from the
//! checkpoint store and published to the event log. Any failure answers 5xx, so the host retries the
//! batch (the function's retry policy never gives up, so no reading is skipped); a retried batch is
//! harmless downstream, where process counts each reading once by identity.

use super::invocation::{self, refuse};
use crate::host::InvocationResult;
use crate::startup::ANALYZE_FEED;
use crate::telemetry::Telemetry;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use tributary_core::analyze::{Analyzer, DetectorConfig};
use tributary_core::ports::{CheckpointStore, EventLog};

pub const ROUTE: &str = "/Analyze";
/// The trigger binding's name in `functions/Analyze/function.json`.
pub const BINDING: &str = "documents";

#[derive(Clone)]
pub struct AnalyzeHost {
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub log: Arc<dyn EventLog>,
    pub detector: DetectorConfig,
    pub telemetry: Arc<Telemetry>,
}

pub fn router() -> Router<AnalyzeHost> {
    Router::new().route(ROUTE, post(handle))
}

async fn handle(State(host): State<AnalyzeHost>, body: Bytes) -> Response {
    let items = match invocation::items(&body, BINDING) {
        Ok(items) => items,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let mut logs = Vec::new();
    let mut readings = Vec::with_capacity(items.len());
    let mut unreadable = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let record = item.to_string();
        match tributary_cosmos::reading_from_document(item) {
            Ok(reading) => readings.push(reading),
            Err(e) => {
                // Set aside with the checkpoint, never retried forever: the batch goes on.
                tracing::warn!(index, error = %e, "document is not a readable reading; setting it aside");
                logs.push(format!("document {index} was set aside: {e}"));
                unreadable.push(tributary_cosmos::unreadable_document(record, &e));
            }
        }
    }
    let mut analyzer = Analyzer::new(ANALYZE_FEED, host.detector.clone(), usize::MAX);
    match analyzer
        .analyze_delivered(
            readings,
            unreadable,
            host.checkpoints.as_ref(),
            host.log.as_ref(),
        )
        .await
    {
        Ok(report) => {
            host.telemetry.analyzed(&report);
            logs.push(format!(
                "scored {} readings, {} with anomalies, {} set aside",
                report.scored, report.anomalies, report.set_aside
            ));
            let result = json!({"scored": report.scored, "anomalies": report.anomalies, "setAside": report.set_aside});
            Json(InvocationResult::new(logs, result)).into_response()
        }
        Err(e) => {
            host.telemetry.stage_error("analyze", e.class());
            let status = if e.is_retryable() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            refuse(status, format!("analyze failed; the host will retry: {e}"))
        }
    }
}
