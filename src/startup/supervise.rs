//! Supervision and the bounded drain. Triggers run as tasks; one that ends or panics before shutdown
//! marks its stage dead (liveness fails) and starts the drain, and the process then exits with an
//! error. The drain, HTTP and triggers together, ends at one deadline: past it, open connections and
//! unfinished triggers are dropped rather than waited for.

use crate::health::{Health, StageHealth};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A stage's own loop and the health handle it is supervised under.
pub struct Trigger {
    health: StageHealth,
    run: BoxFuture<'static, ()>,
}

impl Trigger {
    pub fn new(health: StageHealth, run: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            health,
            run: Box::pin(run),
        }
    }
}

/// Runs `server` and `triggers` until `shutdown` is cancelled, the server fails or a trigger dies;
/// then drains both by `drain` from that moment.
pub(super) async fn run(
    server: impl Future<Output = std::io::Result<()>>,
    triggers: Vec<Trigger>,
    health: &Health,
    shutdown: &CancellationToken,
    drain: Duration,
) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    let mut stages = HashMap::new();
    for trigger in triggers {
        let handle = tasks.spawn(trigger.run);
        stages.insert(handle.id(), trigger.health);
    }
    let mut server = std::pin::pin!(server);
    let mut served = None;
    let mut died = None;
    tokio::select! {
        // Shutdown first: a trigger that ends because shutdown was asked for has not died.
        biased;
        _ = shutdown.cancelled() => {}
        result = &mut server => served = Some(result),
        Some(ended) = tasks.join_next_with_id(), if !shutdown.is_cancelled() => {
            let (id, reason) = match ended {
                Ok((id, ())) => (id, "ended on its own".to_owned()),
                Err(e) => (e.id(), describe(e)),
            };
            let stage = stages.get(&id).map_or("a trigger", |h| h.stage());
            if let Some(h) = stages.get(&id) {
                h.dead(reason.clone());
            }
            tracing::error!(stage, %reason, "a stage's trigger died; draining, then exiting with an error");
            died = Some(anyhow::anyhow!("the {stage} trigger {reason}"));
        }
    }
    shutdown.cancel();
    health.draining();
    let deadline = Instant::now() + drain;
    if served.is_none() {
        match tokio::time::timeout_at(deadline, &mut server).await {
            Ok(result) => served = Some(result),
            Err(_) => {
                tracing::warn!(
                    "HTTP requests still open after {drain:?}; closing their connections"
                )
            }
        }
    }
    let finished = tokio::time::timeout_at(deadline, async {
        while let Some(ended) = tasks.join_next_with_id().await {
            if let Err(e) = ended {
                let id = e.id();
                let reason = describe(e);
                if let Some(h) = stages.get(&id) {
                    tracing::error!(stage = h.stage(), %reason, "trigger failed while draining");
                    h.dead(reason);
                }
            }
        }
    })
    .await;
    if finished.is_err() {
        tracing::warn!("triggers did not stop within {drain:?}; exiting anyway");
    }
    if let Some(died) = died {
        return Err(died);
    }
    served
        .transpose()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("serving HTTP: {e}"))
}

fn describe(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            format!("panicked: {message}")
        }
        Err(e) => format!("was cancelled: {e}"),
    }
}
