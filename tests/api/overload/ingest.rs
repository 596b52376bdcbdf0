//! Ingest under overload: past the body budget or the lag bound it answers 503 with Retry-After,
//! stores nothing for that request, and every reading it acknowledged is counted.

use super::spawn_with;
use crate::helpers::{eventually, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;
use tributary_core::Timestamp;

const SETTLE: Duration = Duration::from_secs(60);

/// `n` readings of `device` with distinct sequence numbers, all within the last minute.
fn body(device: &str, n: usize, first_seq: usize) -> String {
    let now = Timestamp::now().millis();
    let readings: Vec<Value> = (0..n)
        .map(|i| {
            json!({"deviceId": device, "ts": now - 1_000 - (i as i64 % 50_000), "seq": first_seq + i,
                   "metrics": {"t": i as f64, "padding": 123456.789}})
        })
        .collect();
    serde_json::to_string(&readings).expect("json")
}

async fn post_raw(app: &TestApp, body: Vec<u8>, gzip: bool) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/api/telemetry", app.base))
        .header("content-type", "application/json");
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    request
        .body(body)
        .send()
        .await
        .expect("POST reaches the app")
}

/// Readings of `device` counted by the pipeline (sum of its one-minute windows).
async fn counted(app: &TestApp, device: &str) -> u64 {
    let now = Timestamp::now().millis();
    let (status, body) = app
        .get(&format!(
            "/api/devices/{device}/series?metric=t&from={}&to={}",
            now - 3_600_000,
            now + 60_000
        ))
        .await;
    if status != StatusCode::OK {
        return 0;
    }
    body["points"]
        .as_array()
        .map(|p| p.iter().filter_map(|p| p["count"].as_u64()).sum())
        .unwrap_or(0)
}

fn assert_overloaded(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap) {
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let retry = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    assert_eq!(retry, Some(3), "Retry-After in seconds, as configured");
}

#[tokio::test]
async fn past_the_body_budget_ingest_answers_503_with_retry_after_and_loses_nothing() {
    let app = spawn_with(|s| {
        s.overload.ingest_budget_bytes = 64 * 1024;
        s.overload.retry_after_secs = 3;
    })
    .await;
    // A request that holds about 40 KB of the budget while its body is still arriving.
    let held = body("held-1", 430, 0).into_bytes();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let split = held.len() - 8;
    tx.send(Ok(held[..split].to_vec()))
        .await
        .expect("first part");
    let held_request = tokio::spawn(
        app.client
            .post(format!("{}/api/telemetry", app.base))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(
                tokio_stream::wrappers::ReceiverStream::new(rx),
            ))
            .send(),
    );

    // Meanwhile a 28 KB request does not fit: 503 (once the held part has arrived).
    let other = body("other-1", 300, 0).into_bytes();
    assert!(held.len() + other.len() > 64 * 1024, "the test's premise");
    let refused = eventually("a 503 while the budget is held", SETTLE, || async {
        let response = post_raw(&app, other.clone(), false).await;
        (response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    assert_overloaded(refused.status(), refused.headers());
    let error: Value = refused.json().await.expect("JSON error");
    assert!(
        error["error"].as_str().is_some_and(|e| e.contains("retry")),
        "{error}"
    );

    // A gzip body that is small on the wire but inflates past the budget is refused as it inflates.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(body("gzip-1", 1000, 0).as_bytes())
        .expect("gzip");
    let gz = gz.finish().expect("gzip");
    assert!(
        held.len() + gz.len() < 64 * 1024,
        "fits on the wire: {}",
        gz.len()
    );
    let response = post_raw(&app, gz.clone(), true).await;
    assert_overloaded(response.status(), response.headers());

    // The held request completes and is acknowledged; then the refused ones go through on retry.
    tx.send(Ok(held[split..].to_vec())).await.expect("rest");
    drop(tx);
    let held_response = held_request
        .await
        .expect("task")
        .expect("held request answered");
    assert_eq!(held_response.status(), reqwest::StatusCode::ACCEPTED);
    for (bytes, gzip) in [(other, false), (gz, true)] {
        let response = post_raw(&app, bytes, gzip).await;
        assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    }

    // Everything acknowledged is counted, once: the refusals stored nothing.
    for (device, n) in [("held-1", 430), ("other-1", 300), ("gzip-1", 1000)] {
        eventually(
            &format!("{n} readings of {device} counted"),
            SETTLE,
            || async { (counted(&app, device).await == n).then_some(()) },
        )
        .await;
    }
}

#[tokio::test]
async fn many_clients_over_a_small_budget_retry_until_every_reading_is_counted() {
    let app = std::sync::Arc::new(
        spawn_with(|s| {
            s.overload.ingest_budget_bytes = 64 * 1024;
            s.overload.retry_after_secs = 1;
        })
        .await,
    );
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..16 {
        let app = app.clone();
        clients.spawn(async move {
            let device = format!("crowd-{c}");
            for b in 0..4 {
                let bytes = body(&device, 250, b * 250).into_bytes();
                loop {
                    let response = post_raw(&app, bytes.clone(), false).await;
                    match response.status() {
                        reqwest::StatusCode::ACCEPTED => break,
                        reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                            assert!(response.headers().contains_key("retry-after"));
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        other => panic!("unexpected {other}"),
                    }
                }
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.expect("client");
    }
    for c in 0..16 {
        let device = format!("crowd-{c}");
        eventually(&format!("1000 readings of {device}"), SETTLE, || async {
            (counted(&app, &device).await == 1000).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn while_the_pipeline_lags_past_its_bound_ingest_answers_503_then_recovers() {
    let app = spawn_with(|s| {
        s.overload.max_lag = 100;
        s.overload.retry_after_secs = 3;
        s.analyze_batch = 10; // small pages: the lag is reported often, and drains slowly
    })
    .await;
    let response = post_raw(&app, body("burst-1", 10_000, 0).into_bytes(), false).await;
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    let small = body("small-1", 1, 0).into_bytes();
    let refused = eventually("a 503 while the change feed lags", SETTLE, || async {
        let response = post_raw(&app, small.clone(), false).await;
        (response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    assert_overloaded(refused.status(), refused.headers());
    let error: Value = refused.json().await.expect("JSON error");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("behind")),
        "{error}"
    );
    // Once analyze and process catch up, the same request is taken.
    eventually("ingest accepts again", SETTLE, || async {
        let response = post_raw(&app, small.clone(), false).await;
        (response.status() == reqwest::StatusCode::ACCEPTED).then_some(())
    })
    .await;
    for (device, n) in [("burst-1", 10_000), ("small-1", 1)] {
        eventually(&format!("{device} counted"), SETTLE, || async {
            (counted(&app, device).await == n).then_some(())
        })
        .await;
    }
}
