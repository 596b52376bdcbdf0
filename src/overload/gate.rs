//! Admission for ingest: refuse with 503 and `Retry-After` while the body budget is spent or the
//! pipeline lags past its bound, so devices back off instead of the reading store filling up.

use super::budget::{BodyBudget, Exhausted};
use crate::http_error::ApiError;
use crate::telemetry::Telemetry;
use std::sync::Arc;

/// Lag sources `/metrics` exports that the gate watches.
const LAG_SOURCES: [&str; 2] = ["change_feed", "event_log"];

#[derive(Clone)]
pub struct Admission {
    pub budget: BodyBudget,
    /// 0 disables the lag gate.
    pub max_lag: u64,
    pub retry_after_secs: u64,
    pub telemetry: Arc<Telemetry>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Busy,
    Lagging { source: &'static str, lag: u64 },
}

impl From<Exhausted> for Refusal {
    fn from(_: Exhausted) -> Self {
        Self::Busy
    }
}

impl Admission {
    /// Refuses while a stage this process runs lags more readings than `max_lag`. The lag is what
    /// the stages last reported to `/metrics`; a replica that runs neither analyze nor process sees none.
    pub fn check_lag(&self) -> Result<(), Refusal> {
        if self.max_lag == 0 {
            return Ok(());
        }
        for source in LAG_SOURCES {
            let lag = self.telemetry.lag_of(source);
            if lag > self.max_lag {
                return Err(Refusal::Lagging { source, lag });
            }
        }
        Ok(())
    }

    /// The 503 for `refusal`, counted in `/metrics`.
    pub fn refuse(&self, refusal: Refusal) -> ApiError {
        let (reason, message) = match refusal {
            Refusal::Busy => (
                "busy",
                "the server is busy with other requests; nothing was stored, retry later".to_owned(),
            ),
            Refusal::Lagging { source, lag } => (
                "lagging",
                format!(
                    "the pipeline is behind ({lag} readings in the {}); nothing was stored, retry later",
                    source.replace('_', " ")
                ),
            ),
        };
        self.telemetry.refused(reason);
        ApiError::Overloaded {
            message,
            retry_after_secs: self.retry_after_secs,
        }
    }
}
