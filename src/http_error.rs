//! The one HTTP error type: a status and a message as `{"error": "…"}`. Internal errors are logged
//! once here and never echoed; retryable port errors become 503 with Retry-After.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tributary_core::PortError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error(transparent)]
    Port(#[from] PortError),
    /// Overload: nothing was stored; the client should retry after the given seconds.
    #[error("{message}")]
    Overloaded {
        message: String,
        retry_after_secs: u64,
    },
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            Self::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            Self::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m.clone()),
            Self::Overloaded {
                message,
                retry_after_secs,
            } => {
                let body = Json(serde_json::json!({ "error": message }));
                let retry_after = retry_after_secs.to_string();
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, retry_after)],
                    body,
                )
                    .into_response();
            }
            Self::Port(e) if e.is_retryable() => {
                tracing::warn!(error = %e, "backend unavailable; asking the client to retry");
                let body =
                    Json(serde_json::json!({"error": "storage is temporarily unavailable; retry"}));
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "1")],
                    body,
                )
                    .into_response();
            }
            Self::Port(e) => {
                tracing::error!(error = %e, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}
