//! Trigger adapters that drive the stages inside this process (the dev face): poll the embedded
//! change feed into analyze, and the embedded event log into process. Each loop calls the same core
//! stage functions as the Functions-host and native triggers.

pub mod analyze;
pub mod backoff;
pub mod kafka_batch;
pub mod kafka_process;
pub mod leased_analyze;
pub mod process;

use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long an idle loop sleeps when nothing wakes it.
pub const IDLE_POLL: Duration = Duration::from_millis(250);
/// Pause after a failed step before trying again.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Waits for a wake-up, `pause`, or shutdown. Returns false when the loop should stop.
pub async fn wait(shutdown: &CancellationToken, wake: &Notify, pause: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = wake.notified() => true,
        _ = tokio::time::sleep(pause) => true,
    }
}
