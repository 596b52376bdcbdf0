//! Health that tells the truth: `/readyz` reports each stage, a trigger that panics or ends fails
//! liveness and stops the app with an error within the drain bound, and SIGTERM with a client that
//! never finishes its request still exits within `shutdown.drain_secs`.

use crate::helpers::{eventually, settings};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tributary::startup::Application;

async fn get(router: &axum::Router, path: &str) -> (StatusCode, Value) {
    let resp = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

#[tokio::test]
async fn readyz_reports_every_stage_of_the_dev_face_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let shutdown = CancellationToken::new();
    let app = Application::build_dev(&settings(dir.path()), shutdown.clone())
        .await
        .expect("app builds");
    let router = app.router();
    let running = tokio::spawn(app.run_until_stopped());
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    for stage in ["ingest", "analyze", "process", "query"] {
        assert_eq!(body["stages"][stage]["state"], "running", "{body}");
    }
    assert_eq!(get(&router, "/healthz").await.0, StatusCode::OK);
    shutdown.cancel();
    running.await.expect("joins").expect("a clean stop is Ok");
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "draining");
}

/// Starts the dev face with one more supervised task, `chaos`, and returns its router and run.
async fn with_chaos(
    chaos: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    axum::Router,
    tokio::task::JoinHandle<anyhow::Result<()>>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = settings(dir.path());
    s.shutdown.drain_secs = 3;
    let mut app = Application::build_dev(&s, CancellationToken::new())
        .await
        .expect("app builds");
    app.add_trigger("chaos", chaos);
    let router = app.router();
    (router, tokio::spawn(app.run_until_stopped()), dir)
}

#[tokio::test]
async fn a_panicking_trigger_fails_liveness_and_stops_the_app_with_an_error() {
    let (router, running, _dir) = with_chaos(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        panic!("chaos monkey");
    })
    .await;
    let started = Instant::now();
    let (status, body) = eventually("liveness to fail", Duration::from_secs(10), || {
        let router = router.clone();
        async move {
            let (status, body) = get(&router, "/healthz").await;
            (status != StatusCode::OK).then_some((status, body))
        }
    })
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["stages"]["chaos"]["state"], "dead", "{body}");
    let reason = body["stages"]["chaos"]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("panicked: chaos monkey"), "{body}");
    let error = running
        .await
        .expect("joins")
        .expect_err("a dead trigger stops the app with an error");
    assert!(error.to_string().contains("chaos"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(3 + 2),
        "drained in bound"
    );
    let (status, body) = get(&router, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["stages"]["chaos"]["state"], "dead");
    assert_eq!(body["stages"]["process"]["state"], "running");
}

#[tokio::test]
async fn a_trigger_that_ends_on_its_own_is_dead_too() {
    let (router, running, _dir) = with_chaos(async {}).await;
    let error = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stops within the bound")
        .expect("joins")
        .expect_err("an ended trigger stops the app with an error");
    assert!(error.to_string().contains("ended on its own"), "{error}");
    let (status, body) = get(&router, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

#[tokio::test]
async fn sigterm_with_a_hanging_client_still_exits_within_the_drain_bound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["dev", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .env("TRIBUTARY_SHUTDOWN__DRAIN_SECS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("tributary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next_line().await.expect("stdout").expect("banner");
        if let Some(rest) = line.split("dashboard at http://").nth(1) {
            break rest.split('/').next().expect("address").to_owned();
        }
    };
    // A request whose body never arrives: the server waits for it until the request timeout (30 s).
    let mut hanging = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    hanging
        .write_all(
            b"POST /api/telemetry HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n\
              content-length: 1000\r\n\r\n[{\"deviceId\":",
        )
        .await
        .expect("writes");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().expect("pid").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let stopped = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("exits at all")
        .expect("waits");
    let took = stopped.elapsed();
    assert!(status.success(), "a SIGTERM drain exits 0: {status:?}");
    assert!(
        took < Duration::from_secs(2 + 2),
        "exited {took:?} after SIGTERM, bound 2 s drain"
    );
    assert!(
        took >= Duration::from_millis(1_900),
        "it did wait for the client: {took:?}"
    );
    drop(hanging);
}
