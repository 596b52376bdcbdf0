//! `tributary check-config` against the real servers: every check passes on a migrated database, an
//! existing topic, Redis and a Cosmos DB database with its containers; on a broken set-up each
//! failure is its own FAIL line saying what to do, and the command exits non-zero.

use super::cosmos::{cosmos_endpoint, COSMOS_KEY};
use super::*;
use std::process::Output;
use tokio::process::Command;
use tributary_cosmos::CosmosDb;

/// `tributary check-config` with every backend real, configured through the environment.
async fn check_config(env: &[(&str, String)]) -> (Output, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TRIBUTARY_") {
            command.env_remove(name);
        }
    }
    command
        .arg("check-config")
        .env("RUST_LOG", "error")
        .env("COSMOS_DISABLE_IMDS", "1")
        .env("TRIBUTARY_BACKENDS__READING_STORE", "cosmos")
        .env("TRIBUTARY_BACKENDS__EVENT_LOG", "kafka")
        .env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgres")
        .env("TRIBUTARY_BACKENDS__CACHE", "redis")
        .env("TRIBUTARY_COSMOS__ENDPOINT", cosmos_endpoint())
        .env("TRIBUTARY_COSMOS__HTTP2", "false")
        .env("TRIBUTARY_COSMOS__BINARY_ENCODING", "false")
        .env("TRIBUTARY_COSMOS__DEADLINE_MS", "3000")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("check-config finishes")
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

/// The line of `stdout` for check `name`.
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l[6.min(l.len())..].starts_with(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} line in:\n{stdout}"))
}

async fn cosmos_database(name: &str) {
    let mut s = tributary_cosmos::CosmosSettings {
        endpoint: cosmos_endpoint(),
        key: Some(COSMOS_KEY.to_owned().into()),
        database: name.into(),
        create_if_absent: true,
        ..Default::default()
    };
    s.http2 = false;
    s.binary_encoding = false;
    CosmosDb::connect(&s, None)
        .await
        .expect("the Cosmos DB test server creates the database");
}

#[tokio::test]
async fn check_config_passes_on_the_test_servers() {
    let db = Database::create().await;
    let name = unique("checkok");
    let settings = real_settings(&db, &name, CacheBackend::Redis);
    tributary_kafka::ensure_topics(&settings.kafka)
        .await
        .expect("topics");
    cosmos_database(&name).await;
    let (out, stdout) = check_config(&[
        ("TRIBUTARY_COSMOS__KEY", COSMOS_KEY.into()),
        ("TRIBUTARY_COSMOS__DATABASE", name.clone()),
        ("TRIBUTARY_KAFKA__BROKERS", KAFKA.into()),
        ("TRIBUTARY_KAFKA__TOPIC", settings.kafka.topic.clone()),
        (
            "TRIBUTARY_KAFKA__DEAD_LETTER_TOPIC",
            settings.kafka.dead_letter_topic.clone(),
        ),
        ("TRIBUTARY_KAFKA__CREATE_TOPICS", "false".into()),
        ("TRIBUTARY_POSTGRES__URL", db.url.clone()),
        ("TRIBUTARY_REDIS__PREFIX", name.clone()),
    ])
    .await;
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(line(&stdout, "cosmos").starts_with("ok"), "{stdout}");
    assert!(
        line(&stdout, "postgres schema").contains("up to date"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "postgres permissions").starts_with("ok"),
        "{stdout}"
    );
    let topic = format!("kafka topic {}", settings.kafka.topic);
    assert!(
        line(&stdout, &topic).contains("exists, 6 partition(s)"),
        "{stdout}"
    );
    assert!(line(&stdout, "redis").contains("PONG"), "{stdout}");
}

#[tokio::test]
async fn check_config_names_each_broken_backend_and_what_to_do() {
    let db = Database::create_unmigrated().await;
    let name = unique("checkbad");
    cosmos_database(&name).await;
    // Another valid-looking key: the test server checks master-key signatures.
    let wrong_key = COSMOS_KEY.replace('C', "D");
    let (out, stdout) = check_config(&[
        ("TRIBUTARY_COSMOS__KEY", wrong_key),
        ("TRIBUTARY_COSMOS__DATABASE", name.clone()),
        ("TRIBUTARY_KAFKA__BROKERS", KAFKA.into()),
        ("TRIBUTARY_KAFKA__TOPIC", format!("{name}.missing")),
        ("TRIBUTARY_KAFKA__CREATE_TOPICS", "false".into()),
        ("TRIBUTARY_POSTGRES__URL", db.url.clone()),
        ("TRIBUTARY_REDIS__URL", "redis://127.0.0.1:1/0".into()),
    ])
    .await;
    assert!(!out.status.success(), "{stdout}");
    let cosmos = line(&stdout, "cosmos");
    assert!(
        cosmos.starts_with("FAIL") && cosmos.contains("cosmos.key"),
        "{stdout}"
    );
    let schema = line(&stdout, "postgres schema");
    assert!(schema.starts_with("FAIL"), "{stdout}");
    assert!(
        schema.contains("0 of") && schema.contains("tributary migrate"),
        "{stdout}"
    );
    let topic = line(&stdout, &format!("kafka topic {name}.missing"));
    assert!(
        topic.starts_with("FAIL") && topic.contains("does not exist"),
        "{stdout}"
    );
    let redis = line(&stdout, "redis");
    assert!(
        redis.starts_with("FAIL") && redis.contains("redis.url"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "postgres").starts_with("ok"),
        "the server itself is fine"
    );
}

#[tokio::test]
async fn check_config_names_a_wrong_port() {
    let db = Database::create().await;
    let data = tempfile::tempdir().expect("dir");
    let (out, stdout) = check_config(&[
        ("TRIBUTARY_BACKENDS__READING_STORE", "embedded".into()),
        ("TRIBUTARY_BACKENDS__CACHE", "memory".into()),
        ("TRIBUTARY_KAFKA__BROKERS", "127.0.0.1:1".into()),
        ("TRIBUTARY_POSTGRES__URL", db.url.replace(":5432/", ":1/")),
        ("TRIBUTARY_DATA_DIR", data.path().display().to_string()),
    ])
    .await;
    assert!(!out.status.success(), "{stdout}");
    let kafka = line(&stdout, "kafka");
    assert!(
        kafka.starts_with("FAIL") && kafka.contains("kafka.brokers"),
        "{stdout}"
    );
    let pg = line(&stdout, "postgres");
    assert!(
        pg.starts_with("FAIL") && pg.contains("postgres.url"),
        "{stdout}"
    );
}
