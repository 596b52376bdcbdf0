//! Query bounds over the network: `/api/devices` pages through many devices by cursor, and a
//! `/api/stream` client that comes back after falling behind is told how many updates it missed.

use super::spawn_with;
use crate::helpers::{eventually, TestApp};
use axum::http::StatusCode;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use tributary_core::Timestamp;

const SETTLE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn devices_pages_list_every_device_exactly_once() {
    let app = spawn_with(|s| {
        s.overload.devices_page = 100;
        s.overload.devices_page_max = 500;
    })
    .await;
    let now = Timestamp::now().millis();
    let readings: Vec<Value> = (0..1234)
        .map(|i| json!({"deviceId": format!("dev-{i}"), "ts": now - 1000, "metrics": {"t": i}}))
        .collect();
    assert_eq!(app.post(&json!(readings)).await.0, StatusCode::ACCEPTED);
    eventually("all devices processed", SETTLE, || async {
        (list(&app, "limit=500&", 500).await.len() == 1234).then_some(())
    })
    .await;

    for (query, page) in [("", 100), ("limit=500&", 500), ("limit=7&", 7)] {
        let seen = list(&app, query, page).await;
        let distinct: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(
            (seen.len(), distinct.len()),
            (1234, 1234),
            "pages of {page}"
        );
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "in id order");
    }
    for bad in ["limit=0", "limit=501", "limit=x", "cursor=no%20spaces"] {
        let (status, body) = app.get(&format!("/api/devices?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

/// Every device id, following `nextCursor` from page to page of at most `page`.
async fn list(app: &TestApp, query: &str, page: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/devices?{query}cursor={c}"),
            None => format!("/api/devices?{query}"),
        };
        let (status, body) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let devices = body["devices"].as_array().expect("devices");
        assert!(devices.len() <= page);
        for d in devices {
            assert!(d["metrics"]["t"]["value"].is_number(), "{d}");
            seen.push(d["deviceId"].as_str().expect("id").to_owned());
        }
        match body["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(devices.len(), page, "only a full page has a next one");
                cursor = Some(next.to_owned());
            }
            None => return seen,
        }
    }
}

/// Reads server-sent events from `response` until `n` have arrived: (event, id, data).
async fn events(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    buffer: &mut String,
    n: usize,
) -> Vec<(String, Option<String>, Value)> {
    let mut out = Vec::new();
    while out.len() < n {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            };
            if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                let data = serde_json::from_str(&data).expect("JSON data");
                out.push((event, field("id:"), data));
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("an event within 20 s")
            .expect("the stream goes on")
            .expect("readable");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
    out
}

async fn open_stream(app: &TestApp, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/api/stream", app.base));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.expect("stream opens");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response
}

#[tokio::test]
async fn a_stream_client_that_comes_back_late_gets_a_gap_with_the_missed_count_then_the_rest() {
    let app = spawn_with(|s| s.overload.stream_buffer = 16).await;
    let now = Timestamp::now().millis();
    let reading = |seq: i64| json!({"deviceId": "live-1", "ts": now - 60_000 + seq, "seq": seq, "metrics": {"t": seq}});

    let mut first = open_stream(&app, None).await.bytes_stream();
    let mut buffer = String::new();
    assert_eq!(app.post(&json!([reading(0)])).await.0, StatusCode::ACCEPTED);
    let seen = events(&mut first, &mut buffer, 1).await;
    let (event, id, data) = &seen[0];
    assert_eq!((event.as_str(), data["seq"].as_i64()), ("reading", Some(0)));
    let id = id.clone().expect("readings carry an id");
    drop(first);

    // 40 more while away; the feed holds the last 16.
    let more: Vec<Value> = (1..=40).map(reading).collect();
    assert_eq!(app.post(&json!(more)).await.0, StatusCode::ACCEPTED);
    eventually("the 40 are processed", SETTLE, || async {
        let (_, body) = app.get("/api/devices/live-1/latest").await;
        (body["metrics"]["t"]["value"].as_f64() == Some(40.0)).then_some(())
    })
    .await;

    let mut resumed = open_stream(&app, Some(&id)).await.bytes_stream();
    let mut buffer = String::new();
    let got = events(&mut resumed, &mut buffer, 17).await;
    assert_eq!(
        (got[0].0.as_str(), &got[0].2),
        ("gap", &json!({"missed": 24}))
    );
    let seqs: Vec<i64> = got[1..]
        .iter()
        .map(|(event, _, data)| {
            assert_eq!(event, "reading");
            data["seq"].as_i64().expect("seq")
        })
        .collect();
    assert_eq!(seqs, (25..=40).collect::<Vec<_>>());
}
