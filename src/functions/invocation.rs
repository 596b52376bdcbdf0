//! What the two trigger functions (Analyze, Process) share: reading the host's invocation envelope
//! and refusing an invocation with a reason the host logs.

use crate::host::{Invocation, InvocationResult};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The items of trigger binding `binding`, or why the invocation is malformed (answer it 400).
pub fn items(body: &[u8], binding: &str) -> Result<Vec<Value>, String> {
    let invocation: Invocation =
        serde_json::from_slice(body).map_err(|e| format!("not a host invocation: {e}"))?;
    invocation.items(binding)
}

/// Answers `status` (non-2xx: the invocation fails and the host's retry policy applies) with the
/// reason in the logs the host records.
pub fn refuse(status: StatusCode, message: String) -> Response {
    tracing::error!(%status, %message, "invocation refused");
    let body = InvocationResult::new(vec![message.clone()], json!({ "error": message }));
    (status, Json(body)).into_response()
}
