//! Test support: an app on port 0 over a temporary data directory, readings, and polling.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tributary::settings::Settings;
use tributary::startup::Application;
use tributary_core::Timestamp;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    pub running: tokio::task::JoinHandle<anyhow::Result<()>>,
    // Kept alive for the app's lifetime.
    pub _dir: Option<TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn settings(dir: &Path) -> Settings {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        ..Settings::default()
    };
    settings.http.port = 0;
    settings
}

/// Starts the dev face (HTTP + analyze + process) on a fresh data directory.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = spawn_app_on(dir.path()).await;
    app._dir = Some(dir);
    app
}

/// Starts the dev face on an existing data directory (to test restarts).
pub async fn spawn_app_on(dir: &Path) -> TestApp {
    spawn_app_with(dir, settings(dir)).await
}

/// Starts the dev face with these settings on a fresh data directory.
pub async fn spawn_app_configured(change: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = settings(dir.path());
    change(&mut s);
    let mut app = spawn_app_with(dir.path(), s).await;
    app._dir = Some(dir);
    app
}

async fn spawn_app_with(_dir: &Path, settings: Settings) -> TestApp {
    let shutdown = CancellationToken::new();
    let app = Application::build_dev(&settings, shutdown.clone())
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        client: reqwest::Client::new(),
        shutdown,
        running,
        _dir: None,
    }
}

impl TestApp {
    pub async fn post(&self, readings: &Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}/api/telemetry", self.base))
            .json(readings)
            .send()
            .await
            .expect("POST reaches the app");
        let status = StatusCode::from_u16(resp.status().as_u16()).expect("status");
        (status, resp.json().await.expect("JSON body"))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET reaches the app");
        let status = StatusCode::from_u16(resp.status().as_u16()).expect("status");
        (status, resp.json().await.expect("JSON body"))
    }

    /// Stops the app and waits for it to drain.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let running = std::mem::replace(&mut self.running, tokio::spawn(async { Ok(()) }));
        running.await.expect("app task").expect("app ran cleanly");
    }
}

/// An app for `oneshot` tests: built but not serving, so nothing runs behind the router.
pub struct Router {
    pub router: axum::Router,
    _dir: TempDir,
}

pub async fn router() -> Router {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Application::build_dev(&settings(dir.path()), CancellationToken::new())
        .await
        .expect("app builds");
    Router {
        router: app.router(),
        _dir: dir,
    }
}

impl Router {
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let resp = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("JSON body, got {:?}", String::from_utf8_lossy(&bytes)));
        (status, body)
    }

    pub async fn post(&self, content_type: &str, body: impl Into<Body>) -> (StatusCode, Value) {
        let request = Request::post("/api/telemetry")
            .header("content-type", content_type)
            .body(body.into())
            .expect("request");
        self.send(request).await
    }

    pub async fn post_json(&self, readings: &Value) -> (StatusCode, Value) {
        self.post("application/json", readings.to_string()).await
    }
}

/// A valid reading `ago_ms` before now.
pub fn reading(device: &str, ago_ms: i64, metrics: Value) -> Value {
    json!({
        "deviceId": device,
        "ts": Timestamp::from_millis(Timestamp::now().millis() - ago_ms),
        "metrics": metrics,
    })
}

/// Polls `check` until it returns Some, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
