//! `POST /api/telemetry` (function Ingest): decode the body (JSON, NDJSON, gzip), hand the items to
//! the core's ingest stage, and answer 202 once the accepted readings are durably stored. Bodies are
//! read and inflated under the overload budget; while it is spent or the pipeline lags, 503.

use crate::http_error::ApiError;
use crate::overload::{read_body, BodyRead, Refusal};
use crate::state::IngestState;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::time::Instant;
use tributary_core::ingest::{
    inflate_within, ingest, split_body, BodyError, BodyFormat, IngestLimits,
};

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
    let admission = &state.admission;
    admission.check_lag().map_err(|r| admission.refuse(r))?;
    // Held until the answer is sent: the body, what it inflates to and what is parsed from it.
    let mut reservation = admission.budget.reserve();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let raw = read_body(
        body,
        declared,
        state.limits.max_body_bytes,
        &mut reservation,
    )
    .await
    .map_err(|e| match e {
        BodyRead::TooLarge => too_large(&state.limits),
        BodyRead::Exhausted => admission.refuse(Refusal::Busy),
        BodyRead::Unreadable(e) => {
            ApiError::BadRequest(format!("the request body could not be read: {e}"))
        }
    })?;
    let bytes = if gzip {
        let base = reservation.held();
        let inflated = inflate_within(&raw, &state.limits, |len| {
            reservation.grow_to(base + len).is_ok()
        })
        .map_err(body_error)?;
        Bytes::from(inflated.ok_or_else(|| admission.refuse(Refusal::Busy))?)
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

fn too_large(limits: &IngestLimits) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the body is larger than {} bytes",
        limits.max_body_bytes
    ))
}
