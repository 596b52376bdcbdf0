//! The custom-handler face (`tributary serve`), tested the only way possible without the Functions
//! host: by POSTing what the host sends (fixtures in tests/fixtures/host, one per documented encoding)
//! and checking responses and side effects against real Kafka and PostgreSQL. Also: every
//! function.json matches the router and every route is served.

use crate::real::{unique, Database, KAFKA};
use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary::app::ROUTES;
use tributary::settings::CacheBackend;
use tributary::startup::Application;
use tributary_core::ports::ResultStore;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).expect("fixture")
}

struct Host {
    base: String,
    client: reqwest::Client,
    settings: tributary::settings::Settings,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn host(db: &Database, pg_url: Option<String>) -> Host {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = crate::real::real_settings(db, &unique("host"), CacheBackend::Memory);
    settings.data_dir = dir.path().to_path_buf();
    if let Some(url) = pg_url {
        settings.postgres.url = url.into();
        settings.postgres.acquire_timeout_secs = 1;
    }
    let shutdown = CancellationToken::new();
    let app = Application::build_host(&settings, shutdown.clone())
        .await
        .expect("serve builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Host {
        base,
        client: reqwest::Client::new(),
        settings,
        shutdown,
        _dir: dir,
    }
}

impl Host {
    async fn invoke(&self, function: &str, body: String) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/{function}", self.base))
            .header("content-type", "application/json")
            .header(
                "x-azure-functions-invocationid",
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            )
            .body(body)
            .send()
            .await
            .expect("invocation reaches the handler");
        (
            resp.status().as_u16(),
            resp.json().await.expect("JSON response"),
        )
    }
}

fn consumer(topic: &str) -> StreamConsumer {
    let c: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", unique("inspect"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    c
}

/// The answer has the custom-handler response shape.
fn assert_invocation_result(body: &Value) {
    assert!(body["Outputs"].is_object(), "{body}");
    assert!(body["Logs"].is_array(), "{body}");
    assert!(body.get("ReturnValue").is_some(), "{body}");
}

#[test]
fn every_function_json_describes_a_served_route_and_every_route_has_its_function() {
    let mut described = BTreeSet::new();
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/functions")).expect("functions/")
    {
        let dir = entry.expect("entry").path();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let text = std::fs::read_to_string(dir.join("function.json")).expect("function.json");
        let definition: Value = serde_json::from_str(&text).expect("valid JSON");
        let trigger = definition["bindings"]
            .as_array()
            .and_then(|b| {
                b.iter()
                    .find(|b| b["type"].as_str().is_some_and(|t| t.ends_with("Trigger")))
            })
            .unwrap_or_else(|| panic!("{name} has no trigger binding"));
        if trigger["type"] == "httpTrigger" {
            let route = trigger["route"].as_str().expect("route");
            // An always-empty optional parameter is how a function serves the root.
            let path = if route.starts_with("{ignored") {
                "/".to_owned()
            } else {
                format!("/{route}")
            };
            for method in trigger["methods"].as_array().expect("methods") {
                let method = method.as_str().expect("method").to_ascii_uppercase();
                described.insert((name.clone(), method, path.clone()));
            }
        } else {
            described.insert((name.clone(), "POST".to_owned(), format!("/{name}")));
        }
    }
    let served: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.to_owned(),
                r.method.to_owned(),
                r.path.to_owned(),
            )
        })
        .collect();
    assert_eq!(
        described, served,
        "functions/*/function.json and app::ROUTES differ"
    );
}

#[tokio::test]
async fn every_route_is_served_by_the_custom_handler() {
    let db = Database::create().await;
    let host = host(&db, None).await;
    for route in ROUTES {
        let path = route.path.replace("{id}", "pump-1");
        let request = match route.method {
            "POST" => host
                .client
                .post(format!("{}{path}", host.base))
                .header("content-type", "application/json")
                .body("{}"),
            _ => host.client.get(format!("{}{path}?metric=t", host.base)),
        };
        let response = request.send().await.expect("answered");
        let status = response.status().as_u16();
        // The live stream never ends: that it answered is enough, its body is not awaited.
        let body = tokio::time::timeout(Duration::from_secs(2), response.bytes())
            .await
            .map(|b| b.unwrap_or_default())
            .unwrap_or_else(|_| "(streaming)".into());
        // The router's own 404/405 have empty bodies; the functions' errors are JSON.
        assert!(
            !(matches!(status, 404 | 405) && body.is_empty()),
            "{} {} is not served ({status})",
            route.method,
            route.path
        );
    }
}

#[tokio::test]
async fn analyze_accepts_every_documented_documents_encoding_and_publishes_scored_readings() {
    let db = Database::create().await;
    let host = host(&db, None).await;
    let fixtures = [
        "analyze.documents-double-encoded.json",
        "analyze.documents-string.json",
        "analyze.documents-array.json",
    ];
    for name in fixtures {
        let (status, body) = host.invoke("Analyze", fixture(name)).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_invocation_result(&body);
        assert_eq!(body["ReturnValue"]["scored"], 2, "{name}: {body}");
    }
    let inspect = consumer(&host.settings.kafka.topic);
    let mut stream = inspect.stream();
    let mut ids = Vec::new();
    while ids.len() < 2 * fixtures.len() {
        let m = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("published")
            .expect("stream")
            .expect("message");
        let event =
            tributary_kafka::decode(m.payload().expect("payload")).expect("a scored reading");
        assert_eq!(m.key(), Some(event.device_id.as_str().as_bytes()));
        ids.push(format!("{}/{}", event.device_id, event.id));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids,
        ["pump-1/seq:1", "pump-2/h:5f0c8e0d6a3b4c1d2e3f405162738495"]
    );
}

#[tokio::test]
async fn process_accepts_every_documented_events_encoding_and_counts_a_redelivered_batch_once() {
    let db = Database::create().await;
    let host = host(&db, None).await;
    let fixtures = [
        "process.events-string-of-strings.json",
        "process.events-array-of-strings.json",
        "process.events-objects.json",
    ];
    for (i, name) in fixtures.iter().enumerate() {
        let (status, body) = host.invoke("Process", fixture(name)).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_invocation_result(&body);
        // The first delivery counts the four events; the same batch again (another encoding) is a redelivery.
        let expected = if i == 0 {
            json!({"fresh": 4, "redelivered": 0, "republished": 0})
        } else {
            json!({"fresh": 0, "redelivered": 4, "republished": 0})
        };
        assert_eq!(body["ReturnValue"], expected, "{name}");
    }
    let store = db.store().await;
    let pump1 = store
        .windows(
            &tributary_testkit::device("pump-1"),
            &tributary_testkit::metric("temperature"),
            tributary_core::Timestamp::from_millis(0),
            tributary_core::Timestamp::from_millis(i64::MAX / 2),
        )
        .await
        .expect("windows");
    assert_eq!(pump1.len(), 1);
    assert_eq!(
        (pump1[0].1.count, pump1[0].1.sum, pump1[0].1.max),
        (2, 144.0, 73.0)
    );
    let positions = store
        .positions(&format!(
            "{}/tributary.scored-readings.v1",
            host.settings.kafka.consumer_group
        ))
        .await
        .expect("positions");
    assert_eq!(positions, [(0, 2), (3, 9)].into());
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_and_the_invocation_succeeds() {
    let db = Database::create().await;
    let host = host(&db, None).await;
    let (status, body) = host
        .invoke("Process", fixture("process.events-with-poison.json"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ReturnValue"]["fresh"], 1);
    let dead = consumer(&host.settings.kafka.dead_letter_topic);
    let m = tokio::time::timeout(Duration::from_secs(30), dead.recv())
        .await
        .expect("a dead letter")
        .expect("message");
    assert_eq!(m.payload(), Some(&b"{\"deviceId\": 42, oops"[..]));
    let reason = m.headers().and_then(|h| {
        h.iter()
            .find(|x| x.key == "tributary-dead-letter-reason")
            .and_then(|x| x.value)
    });
    assert!(reason.is_some_and(|r| r.starts_with(b"not a scored reading")));
}

#[tokio::test]
async fn an_unavailable_result_store_fails_the_invocation_so_the_host_retries() {
    let db = Database::create().await;
    // Nothing listens on port 9: every connection is refused.
    let host = host(&db, Some("postgres://postgres@127.0.0.1:9/none".into())).await;
    let (status, body) = host
        .invoke("Process", fixture("process.events-objects.json"))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_invocation_result(&body);
    assert!(
        body["Logs"][0]
            .as_str()
            .is_some_and(|l| l.contains("the host will retry")),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_invocations_are_refused_with_a_reason() {
    let db = Database::create().await;
    let host = host(&db, None).await;
    let (status, body) = host
        .invoke(
            "Process",
            json!({"Data": {"events": {"Offset": 1}}}).to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["Logs"][0],
        "binding \"events\" is not a list: an object"
    );
    let (status, body) = host.invoke("Analyze", "not json".into()).await;
    assert_eq!(status, 400);
    assert!(
        body["Logs"][0]
            .as_str()
            .is_some_and(|l| l.starts_with("not a host invocation")),
        "{body}"
    );
}
