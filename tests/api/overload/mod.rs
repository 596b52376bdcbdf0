//! Overload is answered, not absorbed: the ingest budget and lag gate (503 + Retry-After, nothing
//! acknowledged lost), connection timeouts and limit, `/api/devices` paging and `/api/stream` gaps.

mod connections;
mod ingest;
mod query;

use crate::helpers::{settings, TestApp};
use tokio_util::sync::CancellationToken;
use tributary::settings::Settings;
use tributary::startup::Application;

/// Starts the dev face on a fresh data directory with settings adjusted by `adjust`.
pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = settings(dir.path());
    adjust(&mut s);
    let shutdown = CancellationToken::new();
    let app = Application::build_dev(&s, shutdown.clone())
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        client: reqwest::Client::new(),
        shutdown,
        running,
        _dir: Some(dir),
    }
}
