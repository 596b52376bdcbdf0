//! The one error type every port returns, and the single place that decides what a caller does about
//! it. Adapters map their technology's errors into a class; they never decide retry policy themselves.

/// What the caller of a port should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Retry soon: the backend is briefly away or asked us to back off (timeouts, throttling,
    /// connection resets, serialization conflicts).
    Transient,
    /// Wait and alert: the backend or its configuration is broken (authentication, missing schema,
    /// permissions, disk full). Retrying will not help until someone fixes it, and the data is not at
    /// fault: nothing is set aside, the stage waits with backoff and resumes when the backend recovers.
    Broken,
    /// Set this record aside: the input itself cannot be read or stored (poison). Only the offending
    /// records go to the dead-letter topic or the quarantine; the rest of the batch goes on.
    Poison,
}

impl ErrorClass {
    /// The label used in logs and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Broken => "broken",
            Self::Poison => "poison",
        }
    }
}

/// A port (store, log, cache) failed.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The backend could not be reached or asked us to back off; the same call may succeed later.
    #[error("{backend} is unavailable: {message}")]
    Unavailable {
        backend: &'static str,
        message: String,
    },
    /// The backend or its configuration is broken; the call cannot succeed until an operator acts.
    #[error("{backend} is not usable: {message}")]
    Broken {
        backend: &'static str,
        message: String,
    },
    /// The backend refused this input on its merits (a value out of range, a record too large).
    #[error("{backend} refused the record: {message}")]
    Rejected {
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

    /// The backend or its configuration is broken (the default for a refusal that is not known to be
    /// the data's fault: waiting loses nothing, dead-lettering healthy data would).
    pub fn broken(backend: &'static str, message: impl ToString) -> Self {
        Self::Broken {
            backend,
            message: message.to_string(),
        }
    }

    /// The input itself is at fault (poison).
    pub fn rejected(backend: &'static str, message: impl ToString) -> Self {
        Self::Rejected {
            backend,
            message: message.to_string(),
        }
    }

    /// What the caller should do. This is the only place that decision is made.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Unavailable { .. } => ErrorClass::Transient,
            Self::Broken { .. } => ErrorClass::Broken,
            Self::Rejected { .. } => ErrorClass::Poison,
        }
    }

    /// Whether the input is at fault, so that it (and only it) is set aside.
    pub fn is_poison(&self) -> bool {
        self.class() == ErrorClass::Poison
    }

    /// Whether the caller should fail the invocation so that it is retried later (host, consumer,
    /// client) rather than set the input aside: true for transient and broken backends alike.
    pub fn is_retryable(&self) -> bool {
        !self.is_poison()
    }

    /// The backend that failed.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Unavailable { backend, .. }
            | Self::Broken { backend, .. }
            | Self::Rejected { backend, .. } => backend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_poison_is_set_aside_and_everything_else_is_retried() {
        let cases = [
            (PortError::unavailable("db", "reset"), ErrorClass::Transient),
            (PortError::broken("db", "no such table"), ErrorClass::Broken),
            (
                PortError::rejected("db", "out of range"),
                ErrorClass::Poison,
            ),
        ];
        for (error, class) in cases {
            assert_eq!(error.class(), class, "{error}");
            assert_eq!(error.is_retryable(), class != ErrorClass::Poison, "{error}");
            assert_eq!(error.backend(), "db");
        }
    }
}
