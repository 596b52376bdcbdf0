//! One test per rejection reason of `POST /api/telemetry`, each checking the message a device
//! developer gets. Every case sends one otherwise valid reading with one thing wrong.

use crate::helpers::router;
use axum::http::StatusCode;
use serde_json::{json, Value};
use tributary_core::Timestamp;

fn valid() -> Value {
    json!({"deviceId": "pump-1", "ts": Timestamp::now(), "metrics": {"t": 1.0}})
}

/// Sends `valid()` changed by `edit`; expects 400 with exactly one rejection at index 0.
async fn rejection(edit: impl FnOnce(&mut Value)) -> String {
    let mut reading = valid();
    edit(&mut reading);
    let app = router().await;
    let (status, body) = app.post_json(&reading).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(0)),
        "{body}"
    );
    assert_eq!(body["rejected"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["rejected"][0]["index"], 0, "{body}");
    body["rejected"][0]["error"]
        .as_str()
        .expect("error text")
        .to_owned()
}

fn minutes(n: i64) -> i64 {
    n * 60 * 1000
}

macro_rules! rejects {
    ($($name:ident: $edit:expr => $check:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let message = rejection($edit).await;
            let check: &dyn Fn(&str) -> bool = &$check;
            assert!(check(&message), "unexpected message: {message}");
        }
    )*};
}

rejects! {
    ingest_rejects_a_reading_without_device_id:
        |r: &mut Value| { r.as_object_mut().map(|o| o.remove("deviceId")); }
        => |m| m == "deviceId is required";
    ingest_rejects_an_empty_device_id:
        |r: &mut Value| r["deviceId"] = json!("")
        => |m| m == "deviceId must not be empty";
    ingest_rejects_a_device_id_over_128_characters:
        |r: &mut Value| r["deviceId"] = json!("d".repeat(129))
        => |m| m == "deviceId is 129 characters long; at most 128 are allowed";
    ingest_rejects_a_device_id_with_characters_outside_the_alphabet:
        |r: &mut Value| r["deviceId"] = json!("pump 1")
        => |m| m == r#"deviceId "pump 1" contains ' '; only letters, digits and . _ : - are allowed"#;
    ingest_rejects_a_device_id_that_is_not_a_string:
        |r: &mut Value| r["deviceId"] = json!(42)
        => |m| m == "deviceId: invalid type: integer `42`, expected a string";
    ingest_rejects_a_reading_without_ts:
        |r: &mut Value| { r.as_object_mut().map(|o| o.remove("ts")); }
        => |m| m == "ts is required";
    ingest_rejects_a_ts_that_is_not_rfc_3339:
        |r: &mut Value| r["ts"] = json!("yesterday")
        => |m| m.starts_with(r#"ts: "yesterday" is not an RFC 3339 timestamp"#);
    ingest_rejects_a_ts_that_is_neither_text_nor_whole_milliseconds:
        |r: &mut Value| r["ts"] = json!(1.5)
        => |m| m == "ts: expected an RFC 3339 string or whole epoch milliseconds, got 1.5";
    ingest_rejects_readings_from_the_future:
        |r: &mut Value| r["ts"] = json!(Timestamp::now().millis() + minutes(10))
        => |m| m.starts_with("ts ") && m.ends_with("s ahead of the server clock; at most 300 s ahead is allowed");
    ingest_rejects_readings_older_than_seven_days:
        |r: &mut Value| r["ts"] = json!(Timestamp::now().millis() - minutes(8 * 24 * 60))
        => |m| m.starts_with("ts ") && m.ends_with("s old; readings at most 604800 s old are accepted");
    ingest_rejects_a_negative_seq:
        |r: &mut Value| r["seq"] = json!(-1)
        => |m| m == "seq: invalid value: integer `-1`, expected u64";
    ingest_rejects_an_empty_id:
        |r: &mut Value| r["id"] = json!("")
        => |m| m == "id must not be empty";
    ingest_rejects_an_id_over_128_characters:
        |r: &mut Value| r["id"] = json!("i".repeat(129))
        => |m| m == "id is 129 characters long; at most 128 are allowed";
    ingest_rejects_a_reading_without_metrics:
        |r: &mut Value| { r.as_object_mut().map(|o| o.remove("metrics")); }
        => |m| m == "metrics is required";
    ingest_rejects_empty_metrics:
        |r: &mut Value| r["metrics"] = json!({})
        => |m| m == "metrics must have at least one entry";
    ingest_rejects_metrics_that_are_not_an_object:
        |r: &mut Value| r["metrics"] = json!([1, 2])
        => |m| m == "metrics: invalid type: sequence, expected a map";
    ingest_rejects_more_than_64_metrics:
        |r: &mut Value| r["metrics"] = (0..65).map(|i| (format!("m{i}"), json!(1))).collect()
        => |m| m == "metrics has 65 entries; at most 64 are allowed";
    ingest_rejects_a_metric_name_outside_the_alphabet:
        |r: &mut Value| r["metrics"] = json!({"temp c": 1})
        => |m| m == r#"metrics: metric name "temp c" contains ' '; only letters, digits and _ . - are allowed"#;
    ingest_rejects_a_metric_name_over_64_characters:
        |r: &mut Value| r["metrics"] = json!({ "m".repeat(65): 1 })
        => |m| m == "metrics: metric name is 65 characters long; at most 64 are allowed";
    ingest_rejects_a_metric_value_that_is_not_a_number:
        |r: &mut Value| r["metrics"] = json!({"t": "hot"})
        => |m| m == r#"metrics.t: expected a finite number, got "hot""#;
    ingest_rejects_more_than_16_tags:
        |r: &mut Value| r["tags"] = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect()
        => |m| m == "tags has 17 entries; at most 16 are allowed";
    ingest_rejects_a_tag_value_that_is_not_a_string:
        |r: &mut Value| r["tags"] = json!({"site": 5})
        => |m| m == "tags.site: expected a string, got 5";
    ingest_rejects_a_tag_value_over_256_characters:
        |r: &mut Value| r["tags"] = json!({"site": "s".repeat(257)})
        => |m| m == "tags.site: value is longer than 256 characters";
    ingest_rejects_unknown_fields_naming_them:
        |r: &mut Value| r["temperature"] = json!(70)
        => |m| m == "unknown field `temperature`, expected one of `deviceId`, `ts`, `seq`, `id`, `metrics`, `tags`";
}

#[tokio::test]
async fn ingest_rejects_a_metric_value_beyond_the_f64_range() {
    // JSON has no NaN or infinity; the only way to send a non-finite number is an overflow.
    let app = router().await;
    let body = format!(
        r#"{{"deviceId":"d","ts":{},"metrics":{{"t":1e999}}}}"#,
        Timestamp::now().millis()
    );
    let (status, body) = app.post("application/json", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["rejected"][0]["error"], "metrics: number out of range",
        "{body}"
    );
}
