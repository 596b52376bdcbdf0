//! Cosmos DB as the reading store (the test server `scripts/test.sh` starts on 127.0.0.1:8081, four
//! partition key ranges), with Kafka, PostgreSQL and Redis behind it: the whole pipeline passes
//! `verify` and the Python SDK reads back what ingest wrote; native analyze instances share the change
//! feed through leases, take over a killed one's ranges, and resume from the persisted continuation.

use super::*;
use crate::helpers::eventually;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Stdio;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;
use tributary::settings::{CacheBackend, ReadingStoreBackend};
use tributary::simulate::{self, FleetConfig, SimulateConfig};
use tributary::startup::{Application, Stages};
use tributary::verify::{self, VerifyConfig};
use tributary_core::ports::FeedLeases;
use tributary_cosmos::{CosmosDb, CosmosFeedLeases};

const SETTLE: Duration = Duration::from_secs(90);
/// The Cosmos DB emulator's published key, which the test server is started with.
pub(super) const COSMOS_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

pub(super) fn cosmos_endpoint() -> String {
    std::env::var("TRIBUTARY_TEST_COSMOS").unwrap_or_else(|_| "http://127.0.0.1:8081/".into())
}

/// The real backends with Cosmos DB (a database of its own) as the reading store.
fn cosmos_settings(db: &Database, name: &str, cache: CacheBackend) -> Settings {
    let mut s = real_settings(db, name, cache);
    s.backends.reading_store = ReadingStoreBackend::Cosmos;
    s.cosmos.endpoint = cosmos_endpoint();
    s.cosmos.key = Some(COSMOS_KEY.to_owned().into());
    s.cosmos.database = name.into();
    s.cosmos.create_if_absent = true;
    s.cosmos.http2 = false;
    s.cosmos.binary_encoding = false;
    s.cosmos.lease_expiry_ms = 2_000;
    s
}

#[tokio::test]
async fn the_pipeline_on_cosmos_passes_verify_and_python_reads_back_what_ingest_wrote() {
    let db = Database::create().await;
    let name = unique("cosmos_pipeline");
    let settings = cosmos_settings(&db, &name, CacheBackend::Redis);
    let shutdown = CancellationToken::new();
    let app = Application::build(&settings, Stages::all(), shutdown.clone())
        .await
        .expect("builds on Cosmos DB, Kafka, PostgreSQL and Redis");
    let base = format!("http://127.0.0.1:{}", app.port());
    let running = tokio::spawn(app.run_until_stopped());

    let dir = tempfile::tempdir().expect("temp dir");
    let truth = dir.path().join("truth.ndjson");
    let fleet = FleetConfig {
        devices: 12,
        rate: 60.0,
        duration_ms: 15_000,
        duplicates: 0.03,
        anomalies: 0.003,
        invalid: 0.01,
        late: 0.02,
        seed: 7,
        tag: "cosmos".into(),
    };
    let simulated = simulate::run(
        SimulateConfig {
            truth: Some(truth.clone()),
            ..SimulateConfig::new(&base, fleet)
        },
        CancellationToken::new(),
    )
    .await
    .expect("simulate runs");
    let s = &simulated.summary;
    assert_eq!((s.readings_sent, s.acknowledged), (900, 900), "{simulated}");
    assert!(s.resent > 0 && s.duplicates >= s.resent, "{simulated}");

    let report = verify::run(VerifyConfig {
        quiet: Duration::from_secs(2),
        poll: Duration::from_millis(250),
        ..VerifyConfig::new(&base, &truth, SETTLE)
    })
    .await
    .expect("verify runs");
    let w = &report.windows;
    assert!(report.passed(), "{report}");
    assert_eq!(
        (w.lost.len(), w.double_counted.len(), w.wrong.len()),
        (0, 0, 0)
    );
    assert_eq!(w.expected_readings, w.observed_readings);

    // A second client: the Python SDK reads the documents back.
    let python = std::env::var("TRIBUTARY_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/python/read_readings.py"
        ))
        .args([
            &cosmos_endpoint(),
            COSMOS_KEY,
            &name,
            "readings",
            "sim-cosmos-00003",
        ])
        .output()
        .expect("python runs (scripts/test.sh installs azure-cosmos in a venv)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        read["count"],
        json!(s.acknowledged),
        "one document per accepted reading"
    );
    let docs = read["device"].as_array().expect("documents");
    assert!(docs.len() > 10, "{read}");
    let first = &docs[0];
    assert_eq!(first["deviceId"], "sim-cosmos-00003");
    assert!(
        first["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("seq:")),
        "{first}"
    );
    assert!(
        Timestamp::parse_rfc3339(first["ts"].as_str().unwrap_or_default()).is_ok(),
        "{first}"
    );
    assert!(
        first["metrics"].as_object().is_some_and(|m| !m.is_empty()),
        "{first}"
    );

    shutdown.cancel();
    running.await.expect("joins").expect("stops cleanly");
}

/// `tributary run --stages analyze` on Cosmos DB, Kafka and PostgreSQL, configured through the
/// environment as a container is.
fn analyzer(settings: &Settings) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "--log-format",
            "json",
            "run",
            "--stages",
            "analyze",
            "--port",
            "0",
        ])
        .env("RUST_LOG", "warn")
        .env("TRIBUTARY_BACKENDS__READING_STORE", "cosmos")
        .env("TRIBUTARY_BACKENDS__EVENT_LOG", "kafka")
        .env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgres")
        .env("TRIBUTARY_COSMOS__ENDPOINT", &settings.cosmos.endpoint)
        .env("TRIBUTARY_COSMOS__KEY", COSMOS_KEY)
        .env("TRIBUTARY_COSMOS__DATABASE", &settings.cosmos.database)
        .env("TRIBUTARY_COSMOS__CREATE_IF_ABSENT", "true")
        .env("TRIBUTARY_COSMOS__HTTP2", "false")
        .env("TRIBUTARY_COSMOS__BINARY_ENCODING", "false")
        .env(
            "TRIBUTARY_COSMOS__LEASE_EXPIRY_MS",
            settings.cosmos.lease_expiry_ms.to_string(),
        )
        .env("TRIBUTARY_KAFKA__BROKERS", KAFKA)
        .env("TRIBUTARY_KAFKA__TOPIC", &settings.kafka.topic)
        .env(
            "TRIBUTARY_POSTGRES__URL",
            secrecy::ExposeSecret::expose_secret(&settings.postgres.url),
        )
        .env("TRIBUTARY_ANALYZE_BATCH", "25")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("analyzer starts")
}

/// Readings of `devices` devices, `per_device` each, as JSON for ingest and as the scored readings
/// whose aggregates they must produce.
fn batch(
    devices: usize,
    per_device: i64,
    first_seq: i64,
    start: i64,
) -> (Vec<Value>, Vec<ScoredReading>) {
    let mut json = Vec::new();
    let mut scored = Vec::new();
    for k in 0..per_device {
        for d in 0..devices {
            let seq = first_seq + k;
            let ts = start + seq * 2_000;
            let value = ((seq * 7 + d as i64) % 31) as f64;
            json.push(json!({"deviceId": format!("dev-{d}"), "seq": seq, "ts": ts, "metrics": {"t": value}}));
            scored.push(tributary_testkit::scored(
                &format!("dev-{d}"),
                &format!("seq:{seq}"),
                ts,
                &[("t", value, false)],
            ));
        }
    }
    (json, scored)
}

async fn ingest(client: &reqwest::Client, base: &str, readings: &[Value]) {
    for chunk in readings.chunks(100) {
        let resp = client
            .post(format!("{base}/api/telemetry"))
            .json(chunk)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 202);
    }
}

/// Messages on the topic so far (the sum of its partitions' high watermarks).
fn published(topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", unique("watermarks"))
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .sum()
}

/// Owners of the unexpired leases, with how many each holds.
async fn owners(leases: &CosmosFeedLeases) -> BTreeMap<String, usize> {
    let now = Timestamp::now();
    let mut owners = BTreeMap::new();
    for lease in leases.leases().await.unwrap_or_default() {
        if let Some(owner) = lease.owner.filter(|_| lease.expires_at > now) {
            *owners.entry(owner).or_default() += 1;
        }
    }
    owners
}

#[tokio::test]
async fn analyze_instances_share_the_feed_take_over_a_killed_one_and_resume_where_they_left_off() {
    let db = Database::create().await;
    let name = unique("cosmos_leases");
    let settings = cosmos_settings(&db, &name, CacheBackend::Memory);
    tributary_kafka::ensure_topics(&settings.kafka)
        .await
        .expect("topic");
    let shutdown = CancellationToken::new();
    let stages = Stages::parse("ingest,process,query").expect("stages");
    let app = Application::build(&settings, stages, shutdown.clone())
        .await
        .expect("builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let running = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let leases = CosmosFeedLeases::new(
        CosmosDb::connect(&settings.cosmos, None)
            .await
            .expect("Cosmos DB"),
    );
    let store = db.store().await;
    let start = now_minus_minutes(40);

    // Two instances split the four ranges between them.
    let mut first = analyzer(&settings);
    let mut second = analyzer(&settings);
    let (json1, mut expected) = batch(16, 10, 0, start);
    ingest(&client, &base, &json1).await;
    eventually("two instances to hold two leases each", SETTLE, || async {
        let owners = owners(&leases).await;
        (owners.len() == 2 && owners.values().all(|n| *n == 2)).then_some(())
    })
    .await;
    settles_to_truth(&store, &expected, SETTLE).await;

    // One is killed; readings written while it is down, in its ranges too, are analysed after takeover.
    first.start_kill().expect("SIGKILL");
    first.wait().await.expect("killed");
    let (json2, scored2) = batch(16, 10, 10, start);
    ingest(&client, &base, &json2).await;
    expected.extend(scored2);
    settles_to_truth(&store, &expected, SETTLE).await;
    let survivor = owners(&leases).await;
    assert_eq!(
        survivor.values().copied().collect::<Vec<_>>(),
        [4],
        "{survivor:?}"
    );

    // Stopped cleanly and replaced: the new instance resumes from the leases' continuations, so it
    // publishes only what is new (a restart from the beginning would republish all of it).
    let pid = second.id().expect("running").to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let exit = tokio::time::timeout(Duration::from_secs(15), second.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(exit.success(), "{exit}");
    let before = published(&settings.kafka.topic);
    let _third = analyzer(&settings);
    let (json3, scored3) = batch(16, 5, 20, start);
    ingest(&client, &base, &json3).await;
    expected.extend(scored3);
    settles_to_truth(&store, &expected, SETTLE).await;
    assert_eq!(
        published(&settings.kafka.topic) - before,
        json3.len() as i64,
        "only the new readings were published"
    );

    shutdown.cancel();
    running.await.expect("joins").expect("stops cleanly");
}
