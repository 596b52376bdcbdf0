//! The OpenAPI description (`schemas/openapi.json`): served at `/openapi.json`, covering every public
//! route of `app::ROUTES`, and describing what the app really answers (bodies checked against its
//! schemas here; `scripts/test.sh` also runs schemathesis against a running `tributary dev`).

use crate::helpers::{eventually, reading, spawn_app};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use tributary::app::ROUTES;
use tributary::functions::openapi::DESCRIPTION;

/// Routes that are the Functions host's trigger protocol (`tributary serve` only), not an HTTP API.
const HOST_TRIGGERS: [&str; 2] = ["Analyze", "Process"];

fn description() -> Value {
    serde_json::from_str(DESCRIPTION).expect("the description is JSON")
}

/// A validator for `#/components/schemas/<name>` of the description.
fn schema(name: &str) -> jsonschema::Validator {
    let text = DESCRIPTION.replace("#/components/schemas/", "#/$defs/");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let root = json!({"$defs": doc["components"]["schemas"], "$ref": format!("#/$defs/{name}")});
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .expect("a valid schema")
}

fn conforms(name: &str, body: &Value) {
    let errors: Vec<String> = schema(name)
        .iter_errors(body)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{body} is not a {name}: {errors:?}");
}

#[test]
fn the_description_covers_exactly_the_public_routes() {
    let doc = description();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            described.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|r| !HOST_TRIGGERS.contains(&r.function))
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(described, served);
}

#[tokio::test]
async fn the_served_description_is_the_committed_one_and_answers_conform_to_it() {
    let app = spawn_app().await;
    let (status, served) = app.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, description());

    let (status, body) = app.post(&reading("oa-1", 0, json!({"t": 1.5}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    conforms("IngestReport", &body);
    let (status, body) = app.post(&json!({"deviceId": "oa-1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    conforms("IngestReport", &body);
    let (status, body) = app.get("/api/devices/%FF/latest").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    conforms("Error", &body);

    let latest = eventually(
        "the reading is processed",
        Duration::from_secs(20),
        || async {
            let (status, body) = app.get("/api/devices/oa-1/latest").await;
            (status == StatusCode::OK && !body["currentWindows"].as_object()?.is_empty())
                .then_some(body)
        },
    )
    .await;
    conforms("DeviceLatestWithWindows", &latest);
    let (_, body) = app.get("/api/devices").await;
    conforms("DeviceLatest", &body["devices"][0]);
    let (status, body) = app.get("/api/devices/oa-1/series?metric=t").await;
    assert_eq!(status, StatusCode::OK);
    conforms("Series", &body);
    conforms("SeriesPoint", &body["points"][0]);
    let (status, body) = app.get("/api/devices/oa-1/series?metric=t&window=2m").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    conforms("Error", &body);
    let (status, body) = app.get("/api/devices/nobody/latest").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    conforms("Error", &body);
    app.stop().await;
}
