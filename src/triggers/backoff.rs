//! How a trigger loop waits after a failed step: soon for a transient failure, with capped exponential
//! backoff while a backend is broken. It logs once per change of state, not once per attempt, and
//! shows the state in `/metrics` (`tributary_stage_waiting`), so a broken backend is one alert, not a
//! flood of log lines and a spinning core.

use crate::telemetry::Telemetry;
use std::sync::Arc;
use std::time::Duration;
use tributary_core::{ErrorClass, PortError};

/// First pause after a transient failure, and the longest.
const TRANSIENT: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));
/// First pause while a backend is broken, and the longest.
const BROKEN: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// The pause before attempt `failures + 1`: doubling from the class's first pause up to its cap.
pub fn delay(class: ErrorClass, failures: u32) -> Duration {
    let (first, cap) = match class {
        ErrorClass::Transient => TRANSIENT,
        // Poison that reaches a loop (nothing to set aside, e.g. a refused checkpoint) is waited on
        // like a broken backend: an operator must look.
        ErrorClass::Broken | ErrorClass::Poison => BROKEN,
    };
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    first.saturating_mul(factor).min(cap)
}

/// One loop's failure state.
pub struct Backoff {
    stage: &'static str,
    telemetry: Arc<Telemetry>,
    failures: u32,
    waiting: Option<ErrorClass>,
}

impl Backoff {
    pub fn new(stage: &'static str, telemetry: Arc<Telemetry>) -> Self {
        Self {
            stage,
            telemetry,
            failures: 0,
            waiting: None,
        }
    }

    /// Records a failed step and returns how long to wait before the next attempt.
    pub fn failed(&mut self, error: &PortError) -> Duration {
        let class = error.class();
        self.failures += 1;
        self.telemetry.stage_error(self.stage, class);
        if self.waiting != Some(class) {
            let stage = self.stage;
            match class {
                ErrorClass::Transient => tracing::warn!(stage, error = %error,
                    "backend unavailable; retrying with backoff"),
                _ => tracing::error!(stage, error = %error,
                    "backend or its configuration is broken; nothing is set aside, waiting for it to be fixed (retrying with backoff up to {:?})", BROKEN.1),
            }
            if let Some(previous) = self.waiting {
                self.telemetry.waiting(self.stage, previous, false);
            }
            self.telemetry.waiting(self.stage, class, true);
            self.waiting = Some(class);
        }
        delay(class, self.failures)
    }

    /// Records a successful step; logs the recovery if the loop was waiting.
    pub fn succeeded(&mut self) {
        if let Some(class) = self.waiting.take() {
            tracing::info!(
                stage = self.stage,
                failed_attempts = self.failures,
                "backend recovered; resuming"
            );
            self.telemetry.waiting(self.stage, class, false);
        }
        self.failures = 0;
    }

    /// What the loop is waiting on, if anything.
    pub fn waiting(&self) -> Option<ErrorClass> {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_retry_soon_and_broken_backends_back_off_to_a_minute() {
        let transient: Vec<u128> = (1..=7)
            .map(|n| delay(ErrorClass::Transient, n).as_millis())
            .collect();
        assert_eq!(transient, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        let broken: Vec<u64> = (1..=8)
            .map(|n| delay(ErrorClass::Broken, n).as_secs())
            .collect();
        assert_eq!(broken, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(delay(ErrorClass::Broken, u32::MAX), BROKEN.1);
    }

    #[test]
    fn the_waiting_state_changes_once_per_change_of_class_and_clears_on_success() {
        let telemetry = Arc::new(Telemetry::default());
        let mut backoff = Backoff::new("process", telemetry.clone());
        let broken = PortError::broken("PostgreSQL", "relation \"windows\" does not exist");
        for _ in 0..5 {
            backoff.failed(&broken);
        }
        assert_eq!(backoff.waiting(), Some(ErrorClass::Broken));
        let metrics = telemetry.render();
        assert!(
            metrics.contains(r#"tributary_stage_waiting{stage="process",class="broken"} 1"#),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#"tributary_stage_errors_total{stage="process",class="broken"} 5"#),
            "{metrics}"
        );
        backoff.succeeded();
        assert_eq!(backoff.waiting(), None);
        assert!(telemetry
            .render()
            .contains(r#"tributary_stage_waiting{stage="process",class="broken"} 0"#));
    }
}
