//! Per-stage health, shared by the stages and the probes. Each stage holds a [`StageHealth`] and says
//! what it is doing (`running`, `waiting(reason)`, `lagging(n)`, `dead(reason)`); `/healthz` fails once
//! a stage is dead and `/readyz` reports every stage and fails while one cannot work. No I/O here.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tributary_core::Timestamp;

/// The registry: one entry per stage of this process. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stages: Mutex<BTreeMap<&'static str, Entry>>,
    lag_threshold: u64,
    draining: AtomicBool,
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
    behind: Option<u64>,
    since: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Running,
    Waiting(String),
    Lagging,
    Dead(String),
}

/// A stage's handle on the registry. Call it as often as you like (every step): the state is stored
/// and logged only when it changes kind. `dead` is final: nothing revives a dead stage.
#[derive(Clone)]
pub struct StageHealth {
    stage: &'static str,
    health: Health,
}

impl StageHealth {
    /// The stage is doing its work.
    pub fn running(&self) {
        self.set(State::Running, None);
    }

    /// The stage cannot work until something outside it recovers (a backend is away or
    /// misconfigured); `reason` says what, for the operator. Fails readiness.
    pub fn waiting(&self, reason: impl Into<String>) {
        self.set(State::Waiting(reason.into()), None);
    }

    /// The stage works and is `behind` records behind its source. Shown as `lagging` from
    /// `health.lag_threshold` on, else as `running` with `behind`; readiness holds either way.
    pub fn lagging(&self, behind: u64) {
        let state = match behind >= self.health.inner.lag_threshold {
            true => State::Lagging,
            false => State::Running,
        };
        self.set(state, Some(behind));
    }

    /// The stage has stopped for good (its task ended or panicked). Fails liveness.
    pub fn dead(&self, reason: impl Into<String>) {
        self.set(State::Dead(reason.into()), None);
    }

    pub fn stage(&self) -> &'static str {
        self.stage
    }

    fn set(&self, state: State, behind: Option<u64>) {
        let mut stages = self.health.lock();
        let Some(entry) = stages.get_mut(self.stage) else {
            return;
        };
        if matches!(entry.state, State::Dead(_)) {
            return;
        }
        entry.behind = behind;
        if std::mem::discriminant(&entry.state) == std::mem::discriminant(&state) {
            entry.state = state;
            return;
        }
        let stage = self.stage;
        match &state {
            State::Running => tracing::info!(stage, "stage running"),
            State::Lagging => tracing::info!(stage, behind, "stage lagging"),
            State::Waiting(reason) => tracing::warn!(stage, %reason, "stage waiting"),
            State::Dead(reason) => tracing::error!(stage, %reason, "stage died"),
        }
        entry.state = state;
        entry.since = Timestamp::now();
    }
}

/// What the probes answer: every stage's state, and whether the process is live and ready.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub live: bool,
    pub ready: bool,
    /// True once shutdown has begun: the replica is finishing, not taking work.
    pub draining: bool,
    pub stages: BTreeMap<&'static str, StageReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    /// `running`, `waiting`, `lagging` or `dead`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Records behind the source, where the stage knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind: Option<u64>,
    /// When the state last changed.
    pub since: Timestamp,
}

impl Health {
    /// A registry in which `lagging(n)` shows as lagging from `lag_threshold` on.
    pub fn new(lag_threshold: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                lag_threshold,
                ..Inner::default()
            }),
        }
    }

    /// Registers `stage` as running (or returns its existing handle).
    pub fn stage(&self, stage: &'static str) -> StageHealth {
        self.lock().entry(stage).or_insert_with(|| Entry {
            state: State::Running,
            behind: None,
            since: Timestamp::now(),
        });
        StageHealth {
            stage,
            health: self.clone(),
        }
    }

    /// Shutdown has begun: readiness fails from now on so no new work is routed here.
    pub fn draining(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
    }

    pub fn report(&self) -> HealthReport {
        let stages: BTreeMap<_, _> = self
            .lock()
            .iter()
            .map(|(name, e)| {
                let (state, reason) = match &e.state {
                    State::Running => ("running", None),
                    State::Lagging => ("lagging", None),
                    State::Waiting(r) => ("waiting", Some(r.clone())),
                    State::Dead(r) => ("dead", Some(r.clone())),
                };
                let report = StageReport {
                    state,
                    reason,
                    behind: e.behind,
                    since: e.since,
                };
                (*name, report)
            })
            .collect();
        let live = stages.values().all(|s| s.state != "dead");
        let draining = self.inner.draining.load(Ordering::Relaxed);
        let working = stages
            .values()
            .all(|s| s.state == "running" || s.state == "lagging");
        HealthReport {
            live,
            ready: live && working && !draining,
            draining,
            stages,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<&'static str, Entry>> {
        // A panic while holding this lock cannot leave an entry half-written; keep serving.
        self.inner
            .stages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
