//! The request-level contract of `POST /api/telemetry`: exact responses for mixed batches, framing
//! (JSON, NDJSON, gzip) and the 400 / 413 / 415 errors.

use crate::helpers::{reading, router};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use std::io::Write;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn gzip_request(content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/api/telemetry")
        .header("content-type", content_type)
        .header("content-encoding", "gzip")
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test]
async fn a_batch_of_valid_invalid_and_duplicate_readings_gets_the_exact_response() {
    let app = router().await;
    let first = json!([
        reading("a", 0, json!({"t": 1})),
        reading("b", 0, json!({"t": 2}))
    ]);
    let mut seen_before = first[0].clone();
    seen_before["seq"] = json!(1);
    let (status, _) = app.post_json(&json!([seen_before.clone()])).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let batch = json!([
        reading("c", 0, json!({"t": 3})),   // 0: new
        {"deviceId": "c", "metrics": {}},    // 1: invalid
        seen_before,                         // 2: duplicate of an earlier request
        reading("d", 0, json!({"t": 4})),   // 3: new
        {"deviceId": "c", "ts": "soon", "metrics": {"t": 1}}, // 4: invalid
    ]);
    let mut batch = batch;
    let again = batch[3].clone();
    batch.as_array_mut().expect("array").push(again); // 5: duplicate within the request
    let (status, body) = app.post_json(&batch).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        json!({
            "accepted": 2,
            "duplicates": 2,
            "rejected": [
                {"index": 1, "error": "ts is required"},
                {"index": 4, "error": "ts: \"soon\" is not an RFC 3339 timestamp (premature end of input)"},
            ]
        })
    );
}

#[tokio::test]
async fn a_request_with_only_duplicates_is_acknowledged() {
    let app = router().await;
    let mut r = reading("a", 0, json!({"t": 1}));
    r["id"] = json!("msg-1");
    assert_eq!(app.post_json(&r).await.0, StatusCode::ACCEPTED);
    let (status, body) = app.post_json(&r).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        body,
        json!({"accepted": 0, "duplicates": 1, "rejected": []})
    );
}

#[tokio::test]
async fn readings_without_id_or_seq_are_deduplicated_by_content() {
    let app = router().await;
    let r = reading("a", 1000, json!({"t": 1.5, "u": 2}));
    assert_eq!(app.post_json(&r).await.1["accepted"], 1);
    assert_eq!(app.post_json(&r).await.1["duplicates"], 1);
}

#[tokio::test]
async fn ndjson_is_accepted_and_a_bad_line_is_rejected_by_index() {
    let app = router().await;
    let body = format!(
        "{}\nnot json\n{}\n",
        reading("a", 0, json!({"t": 1})),
        reading("b", 0, json!({"t": 1}))
    );
    let (status, body) = app.post("application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["rejected"][0]["index"], 1);
    assert_eq!(body["rejected"][0]["error"], "line 2: expected ident");
}

#[tokio::test]
async fn malformed_json_is_a_400_that_says_where() {
    let app = router().await;
    let (status, body) = app
        .post("application/json", "[{\"deviceId\": \"a\",\n \"ts\": }]")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "malformed JSON at line 2, column 8: expected value"
    );
}

#[tokio::test]
async fn an_empty_array_is_a_400() {
    let app = router().await;
    let (status, body) = app.post("application/json", "[]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "the body holds no readings");
}

#[tokio::test]
async fn another_content_type_is_a_415() {
    let app = router().await;
    let (status, body) = app.post("text/plain", "hello").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body["error"],
        "Content-Type text/plain is not supported; send application/json or application/x-ndjson"
    );
}

#[tokio::test]
async fn an_unknown_content_encoding_is_a_415() {
    let app = router().await;
    let request = Request::post("/api/telemetry")
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body(Body::from("{}"))
        .expect("request");
    let (status, body) = app.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body["error"],
        "Content-Encoding br is not supported; send gzip or no encoding"
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let app = router().await;
    let big = format!(
        "[{}]",
        vec![reading("a", 0, json!({"t": 1})).to_string(); 20_000].join(",")
    );
    assert!(big.len() > 1024 * 1024);
    let (status, body) = app.post("application/json", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "the body is larger than 1048576 bytes");
}

#[tokio::test]
async fn more_than_ten_thousand_readings_is_a_413() {
    let app = router().await;
    let tiny = r#"{"deviceId":"a","ts":1,"metrics":{"t":1}}"#;
    let body = format!("[{}]", vec![tiny; 10_001].join(","));
    assert!(body.len() < 1024 * 1024);
    let (status, body) = app.post("application/json", body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["error"],
        "the body holds 10001 readings; at most 10000 are allowed per request"
    );
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let app = router().await;
    let batch: Value = (0..50)
        .map(|i| reading(&format!("d{i}"), 0, json!({"t": i})))
        .collect();
    let (status, body) = app
        .send(gzip_request(
            "application/json",
            gzip(batch.to_string().as_bytes()),
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["accepted"], 50);
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_by_its_ratio_before_inflating() {
    let app = router().await;
    // 900 KiB of spaces compress to about 1 KiB: under the size limit, far over the ratio limit.
    let bomb = gzip(&vec![b' '; 900 * 1024]);
    let (status, body) = app.send(gzip_request("application/json", bomb)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["error"],
        "the body inflates more than 200:1; refused as a possible decompression bomb"
    );
}

#[tokio::test]
async fn a_gzip_body_over_the_limit_after_decompression_is_a_413() {
    let app = router().await;
    // Varied readings compress only a few times, so the size limit trips before the ratio.
    let batch: Value = (0..6_000)
        .map(|i| {
            let mut r = reading(&format!("device-{i}"), i, json!({"t": i, "u": i * 7919 % 10007}));
            r["tags"] = json!({"note": format!("{:x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).repeat(6)});
            r
        })
        .collect();
    assert!(batch.to_string().len() > 1024 * 1024);
    let (status, body) = app
        .send(gzip_request(
            "application/json",
            gzip(batch.to_string().as_bytes()),
        ))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["error"],
        "the body is larger than 1048576 bytes after decompression"
    );
}

#[tokio::test]
async fn a_corrupt_gzip_body_is_a_400() {
    let app = router().await;
    let (status, body) = app
        .send(gzip_request(
            "application/json",
            b"not gzip at all".to_vec(),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.starts_with("the body is not valid gzip")),
        "{body}"
    );
}
