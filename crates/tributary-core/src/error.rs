//! The one error type every port returns, and the single place that decides whether it is retryable.
//! Adapters map their technology's errors into it; they never decide retry policy themselves.

/// A port (store, log, cache) failed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The backend could not be reached or asked us to back off; the same call may succeed later.
    #[error("{backend} is unavailable: {message}")]
    Unavailable {
        backend: &'static str,
        message: String,
    },
    /// The backend refused the call for a reason that retrying will not change (corrupt data, schema).
    #[error("{backend} failed: {message}")]
    Failed {
        backend: &'static str,
        message: String,
    },
}

impl PortError {
    pub fn unavailable(backend: &'static str, message: impl ToString) -> Self {
        Self::Unavailable {
            backend,
            message: message.to_string(),
        }
    }

    pub fn failed(backend: &'static str, message: impl ToString) -> Self {
        Self::Failed {
            backend,
            message: message.to_string(),
        }
    }

    /// Whether the caller should fail the invocation so that it is retried (host, consumer, client),
    /// rather than dead-letter the input. This is the only place that decision is made.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
