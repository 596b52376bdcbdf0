//! Ingest accepts only what every stage can carry (issue 11): the hostile timestamp that once halted
//! analysis is a clear 400 and the pipeline keeps going, repeated names and out-of-range values are
//! rejected by name, query instants at the extremes do not wrap, and a broken chunked body is a 400.

use crate::helpers::{eventually, reading, router, spawn_app};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tributary_core::Timestamp;

#[tokio::test]
async fn ingest_rejects_the_i64_min_timestamp_and_the_pipeline_keeps_going() {
    let app = spawn_app().await;
    let hostile = json!({"deviceId": "x", "ts": i64::MIN, "metrics": {"t": 1}});
    let (status, body) = app.post(&hostile).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let error = body["rejected"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("ts: -9223372036854775808 is outside the epoch milliseconds"),
        "{body}"
    );
    // Every stage still runs for everyone: a valid reading reaches the query API.
    let (status, body) = app.post(&reading("x", 0, json!({"t": 2.5}))).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (StatusCode::ACCEPTED, Some(1))
    );
    eventually(
        "the valid reading is processed",
        Duration::from_secs(20),
        || async {
            let (status, body) = app.get("/api/devices/x/latest").await;
            (status == StatusCode::OK && body["metrics"]["t"]["value"] == 2.5).then_some(())
        },
    )
    .await;
    app.stop().await;
}

async fn one_rejection(reading: Value) -> String {
    let (status, body) = router().await.post_json(&reading).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    body["rejected"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn ingest_rejects_a_metric_name_given_twice_instead_of_keeping_the_last() {
    let (status, body) = router()
        .await
        .post(
            "application/json",
            format!(
                r#"{{"deviceId":"d","ts":{},"metrics":{{"t":1,"t":2}}}}"#,
                Timestamp::now().millis()
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["rejected"][0]["error"],
        r#"metrics: "t" appears more than once; each name may appear once"#
    );
}

#[tokio::test]
async fn ingest_rejects_a_tag_name_given_twice() {
    let (status, body) = router()
        .await
        .post(
            "application/x-ndjson",
            format!(
                r#"{{"deviceId":"d","ts":{},"metrics":{{"t":1}},"tags":{{"site":"a","site":"b"}}}}"#,
                Timestamp::now().millis()
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["rejected"][0]["error"],
        r#"line 1: tags: "site" appears more than once; each name may appear once"#
    );
}

#[tokio::test]
async fn ingest_rejects_metric_values_beyond_plus_or_minus_1e150() {
    let error = one_rejection(reading("d", 0, json!({"t": -2e150}))).await;
    assert_eq!(
        error,
        "metrics.t: -2e150 is out of range; values from -1e150 to 1e150 are accepted"
    );
    let (status, _) = router()
        .await
        .post_json(&reading("d", 0, json!({"lo": -1e150, "hi": 1e150})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn series_instants_at_the_extremes_are_refused_or_answered_never_wrapped() {
    let app = spawn_app().await;
    let (status, _) = app.post(&reading("edge", 0, json!({"t": 1}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    eventually("the device exists", Duration::from_secs(20), || async {
        (app.get("/api/devices/edge/latest").await.0 == StatusCode::OK).then_some(())
    })
    .await;
    let series = |q: String| format!("/api/devices/edge/series?metric=t&{q}");
    let (status, body) = app
        .get(&series(format!("from={}&to={}", i64::MIN, i64::MAX)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("to: 9223372036854775807 is outside"),
        "{body}"
    );
    // The earliest hour there is: answered, with `from` exactly where it was asked.
    let (from, to) = (Timestamp::MIN.millis(), Timestamp::MIN.millis() + 3_600_000);
    let (status, body) = app.get(&series(format!("from={from}&to={to}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["from"], "0000-01-01T00:00:00.000Z", "{body}");
    assert_eq!(body["points"], json!([]));
    // `to` at the start of time with the default `from` (an hour before it) is a clear 400.
    let (status, body) = app.get(&series(format!("to={from}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("must be before"),
        "{body}"
    );
    // The whole range is too many windows, and says so.
    let (status, body) = app
        .get(&series(format!(
            "from={from}&to={}&window=1h",
            Timestamp::MAX.millis()
        )))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("more than 10000"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_body_with_a_bad_chunk_size_is_a_400_not_a_413() {
    let app = spawn_app().await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!(
        "POST /api/telemetry HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{{\"a\":\r\nzz\r\n1}}\r\n0\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("the request body could not be read"),
        "{answer}"
    );
    app.stop().await;
}
