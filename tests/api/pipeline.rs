//! The whole dev pipeline over the network: POSTed readings flow through analyze and process into
//! series, latest, devices, anomalies and the live stream; a restart keeps everything exactly once.

use crate::helpers::{eventually, reading, spawn_app, spawn_app_configured, spawn_app_on, TestApp};
use axum::http::StatusCode;
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use tributary_core::Timestamp;

const SETTLE: Duration = Duration::from_secs(20);
const MINUTE: i64 = 60_000;

fn at(device: &str, ts: i64, metrics: Value) -> Value {
    json!({"deviceId": device, "ts": ts, "metrics": metrics})
}

/// A minute-aligned instant `minutes_ago` back, also aligned to 5 minutes so roll-ups are predictable.
fn aligned(minutes_ago: i64) -> i64 {
    Timestamp::from_millis(Timestamp::now().millis() - minutes_ago * MINUTE)
        .floor(5 * MINUTE)
        .millis()
}

async fn series(app: &TestApp, device: &str, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/devices/{device}/series?{query}"))
        .await;
    if status == StatusCode::NOT_FOUND {
        return vec![];
    }
    assert_eq!(status, StatusCode::OK, "{body}");
    body["points"].as_array().cloned().unwrap_or_default()
}

fn total(points: &[Value]) -> u64 {
    points.iter().filter_map(|p| p["count"].as_u64()).sum()
}

#[tokio::test]
async fn posted_readings_are_aggregated_into_windows_and_show_in_latest_and_devices() {
    let app = spawn_app().await;
    let w = aligned(20);
    let batch = json!([
        at("pump-1", w + 1_000, json!({"t": 1.0})),
        at("pump-1", w + 30_000, json!({"t": 3.0})),
        at("pump-1", w + MINUTE + 1_000, json!({"t": 10.0})),
        at("pump-2", w + 2_000, json!({"t": 5.0})),
    ]);
    assert_eq!(app.post(&batch).await.0, StatusCode::ACCEPTED);
    let range = format!("metric=t&from={w}&to={}", w + 10 * MINUTE);
    let points = eventually("two windows", SETTLE, || async {
        let p = series(&app, "pump-1", &range).await;
        (total(&p) == 3).then_some(p)
    })
    .await;
    assert_eq!(points.len(), 2);
    let first = &points[0];
    assert_eq!(first["start"], json!(Timestamp::from_millis(w)));
    assert_eq!(
        (
            &first["count"],
            &first["sum"],
            &first["min"],
            &first["max"],
            &first["mean"]
        ),
        (
            &json!(2),
            &json!(4.0),
            &json!(1.0),
            &json!(3.0),
            &json!(2.0)
        )
    );
    assert_eq!(
        (&points[1]["count"], &points[1]["last"]),
        (&json!(1), &json!(10.0))
    );

    let five = series(&app, "pump-1", &format!("{range}&window=5m")).await;
    assert_eq!(five.len(), 1);
    assert_eq!(
        (&five[0]["count"], &five[0]["sum"], &five[0]["max"]),
        (&json!(3), &json!(14.0), &json!(10.0))
    );

    let (status, latest) = app.get("/api/devices/pump-1/latest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(latest["metrics"]["t"]["value"], 10.0);
    // The current window of each metric comes along: the newest minute, as processed.
    assert_eq!(
        latest["currentWindows"]["t"]["start"],
        json!(Timestamp::from_millis(w + MINUTE))
    );
    assert_eq!(
        (
            &latest["currentWindows"]["t"]["count"],
            &latest["currentWindows"]["t"]["last"]
        ),
        (&json!(1), &json!(10.0))
    );
    assert_eq!(
        latest["lastSeen"],
        json!(Timestamp::from_millis(w + MINUTE + 1_000))
    );

    let devices = eventually("both devices", SETTLE, || async {
        let (_, body) = app.get("/api/devices").await;
        let ids: Vec<String> = body["devices"]
            .as_array()?
            .iter()
            .filter_map(|d| d["deviceId"].as_str().map(str::to_owned))
            .collect();
        (ids.len() == 2).then_some(ids)
    })
    .await;
    assert_eq!(devices, ["pump-1", "pump-2"]);
}

#[tokio::test]
async fn an_unknown_device_is_a_404_with_a_json_error() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/devices/nobody/latest").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "device nobody is unknown");
    let (status, body) = app.get("/api/devices/nobody/series?metric=t").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "device nobody is unknown");
}

#[tokio::test]
async fn series_parameters_are_checked() {
    let app = spawn_app().await;
    let (status, body) = app.get("/api/devices/d/series").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("metric is required, e.g. ?metric=temperature")
        )
    );
    let (status, body) = app.get("/api/devices/d/series?metric=t&window=2m").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("window must be one of 1m, 5m, 1h; got \"2m\"")
        )
    );
    let (status, body) = app
        .get("/api/devices/d/series?metric=t&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("must be before")),
        "{body}"
    );
}

#[tokio::test]
async fn an_injected_spike_is_flagged_and_listed_in_anomalies() {
    // No daily season, so the metric is judged after its 50-reading probation and the 200 values
    // its score's tail learns from, not after a day.
    let app = spawn_app_configured(|s| s.detector.season_secs = 0).await;
    let start = Timestamp::now().millis() - 10 * MINUTE;
    let mut batch: Vec<Value> = (0..300)
        .map(|i| {
            at(
                "boiler-7",
                start + i * 1_000,
                json!({"temperature": 70.0 + f64::from((i % 5) as i32) * 0.1}),
            )
        })
        .collect();
    batch.push(at(
        "boiler-7",
        start + 301_000,
        json!({"temperature": 200.0}),
    ));
    assert_eq!(app.post(&Value::Array(batch)).await.0, StatusCode::ACCEPTED);
    let anomalies = eventually("the spike in /api/anomalies", SETTLE, || async {
        let (_, body) = app.get(&format!("/api/anomalies?since={start}")).await;
        let list = body["anomalies"].as_array()?.clone();
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(
        anomalies.len(),
        1,
        "only the spike is flagged: {anomalies:?}"
    );
    assert_eq!(anomalies[0]["deviceId"], "boiler-7");
    assert_eq!(anomalies[0]["metric"], "temperature");
    assert_eq!(anomalies[0]["value"], 200.0);
    assert_eq!(anomalies[0]["score"], 1.0);
    assert_eq!(anomalies[0]["kind"], "out_of_range");
    let expected = anomalies[0]["expected"].as_f64().expect("expected value");
    assert!((69.9..70.5).contains(&expected), "{anomalies:?}");
    assert!(anomalies[0]["upper"].as_f64().is_some_and(|u| u < 200.0));
    let (_, latest) = app.get("/api/devices/boiler-7/latest").await;
    assert_eq!(latest["metrics"]["temperature"]["anomaly"], true);
}

#[tokio::test]
async fn the_stream_pushes_each_processed_reading() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/api/stream?device=fan-3", app.base))
        .send()
        .await
        .expect("stream opens");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut chunks = response.bytes_stream();
    // Another device's reading must not reach this filtered stream.
    app.post(&json!([
        reading("fan-2", 0, json!({"rpm": 1.0})),
        reading("fan-3", 0, json!({"rpm": 1234.5}))
    ]))
    .await;
    let received = tokio::time::timeout(SETTLE, async {
        let mut text = String::new();
        while let Some(chunk) = chunks.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
            if text.contains("1234.5") {
                return text;
            }
        }
        text
    })
    .await
    .expect("a live update within the deadline");
    assert!(received.contains("event: reading"), "{received}");
    assert!(received.contains(r#""deviceId":"fan-3""#), "{received}");
    assert!(!received.contains("fan-2"), "{received}");
}

#[tokio::test]
async fn late_readings_merge_into_their_old_window() {
    let app = spawn_app().await;
    let w = aligned(3 * 24 * 60);
    let range = format!("metric=t&from={w}&to={}", w + MINUTE);
    app.post(&at("old-1", w + 5_000, json!({"t": 2.0}))).await;
    eventually("the first reading", SETTLE, || async {
        (total(&series(&app, "old-1", &range).await) == 1).then_some(())
    })
    .await;
    // Newer readings arrive, then one more for the old window.
    app.post(&at("old-1", Timestamp::now().millis(), json!({"t": 9.0})))
        .await;
    app.post(&at("old-1", w + 50_000, json!({"t": 4.0}))).await;
    let points = eventually("the late reading", SETTLE, || async {
        let p = series(&app, "old-1", &range).await;
        (total(&p) == 2).then_some(p)
    })
    .await;
    assert_eq!(
        (&points[0]["sum"], &points[0]["last"]),
        (&json!(6.0), &json!(4.0))
    );
}

#[tokio::test]
async fn a_restart_keeps_every_reading_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let w = aligned(30);
    let batch: Value = (0..20)
        .map(|i| at("keep-1", w + i * 1_000, json!({"t": i})))
        .collect();
    let range = format!("metric=t&from={w}&to={}", w + 5 * MINUTE);

    let app = spawn_app_on(dir.path()).await;
    assert_eq!(app.post(&batch).await.1["accepted"], 20);
    eventually("20 counted", SETTLE, || async {
        (total(&series(&app, "keep-1", &range).await) == 20).then_some(())
    })
    .await;
    app.stop().await;

    let app = spawn_app_on(dir.path()).await;
    let (_, body) = app.post(&batch).await;
    assert_eq!(
        (&body["accepted"], &body["duplicates"]),
        (&json!(0), &json!(20))
    );
    // A new reading flows through: once it is counted, the pipeline has passed everything before it.
    app.post(&at("keep-1", w + 30_000, json!({"t": 100}))).await;
    let points = eventually("21 counted", SETTLE, || async {
        let p = series(&app, "keep-1", &range).await;
        (total(&p) == 21).then_some(p)
    })
    .await;
    assert_eq!(points[0]["sum"], json!(190.0 + 100.0));
}

#[tokio::test]
async fn metrics_are_exported_in_prometheus_text() {
    let app = spawn_app().await;
    app.post(&json!([reading("m-1", 0, json!({"t": 1})), {"deviceId": "m-1"}]))
        .await;
    let text = eventually("process counted the reading", SETTLE, || async {
        let text = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains(r#"tributary_stage_readings_total{stage="process",outcome="applied"} 1"#)
            .then_some(text)
    })
    .await;
    assert!(
        text.contains(r#"tributary_ingest_readings_total{outcome="accepted"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"tributary_ingest_readings_total{outcome="rejected"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("tributary_ingest_request_duration_seconds_count 1"),
        "{text}"
    );
    assert!(
        text.contains(r#"tributary_lag{source="event_log"}"#),
        "{text}"
    );
    let (status, health) = app.get("/healthz").await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));
}
