//! `POST /api/telemetry` (function Ingest): decode the body (JSON, NDJSON, gzip), hand the items to
//! the core's ingest stage, and answer 202 once the accepted readings are durably stored.

use crate::http_error::ApiError;
use crate::state::IngestState;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::time::Instant;
use tributary_core::ingest::{inflate, ingest, split_body, BodyError, BodyFormat, IngestLimits};

pub const ROUTE: &str = "/api/telemetry";

pub fn router() -> Router<IngestState> {
    // The body limit is enforced below, with a JSON error, for compressed and decompressed sizes.
    Router::new().route(ROUTE, post(handle).layer(DefaultBodyLimit::disable()))
}

async fn handle(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let format = body_format(&headers)?;
    let gzip = is_gzip(&headers)?;
    let raw = to_bytes(body, state.limits.max_body_bytes)
        .await
        .map_err(|e| unreadable(e, &state.limits))?;
    let bytes = if gzip {
        Bytes::from(inflate(&raw, &state.limits).map_err(body_error)?)
    } else {
        raw
    };
    let items = split_body(&bytes, format, &state.limits).map_err(body_error)?;
    let report = ingest(
        items,
        &state.limits,
        (state.clock)(),
        state.readings.as_ref(),
    )
    .await?;
    if report.accepted > 0 {
        state.stored.notify_one();
    }
    state.telemetry.ingested(
        report.accepted,
        report.duplicates,
        report.rejected.len(),
        started.elapsed().as_secs_f64(),
    );
    let status = if report.acknowledged_any() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, Json(report)).into_response())
}

fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let unsupported = |got: &str| {
        ApiError::UnsupportedMediaType(format!(
            "Content-Type {got} is not supported; send application/json or application/x-ndjson"
        ))
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("(none)"));
    };
    let text = value.to_str().map_err(|_| unsupported("(not text)"))?;
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyFormat::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
            Ok(BodyFormat::Ndjson)
        }
        _ => Err(unsupported(text)),
    }
}

fn is_gzip(headers: &HeaderMap) -> Result<bool, ApiError> {
    match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str()) {
        None => Ok(false),
        Some(Ok(v)) if v.eq_ignore_ascii_case("gzip") || v.eq_ignore_ascii_case("x-gzip") => {
            Ok(true)
        }
        Some(Ok(v)) if v.eq_ignore_ascii_case("identity") => Ok(false),
        Some(v) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding {} is not supported; send gzip or no encoding",
            v.unwrap_or("(not text)")
        ))),
    }
}

fn body_error(e: BodyError) -> ApiError {
    if e.is_too_large() {
        ApiError::PayloadTooLarge(e.to_string())
    } else {
        ApiError::BadRequest(e.to_string())
    }
}

/// 413 only when the body really passed the limit; a body the connection could not deliver (a bad
/// chunk size, a truncated upload) is the client's malformed request, not a size problem.
fn unreadable(e: axum::Error, limits: &IngestLimits) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge(format!(
                "the body is larger than {} bytes",
                limits.max_body_bytes
            ));
        }
        source = cause.source();
    }
    ApiError::BadRequest(format!("the request body could not be read: {e}"))
}
