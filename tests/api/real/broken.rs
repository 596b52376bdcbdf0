//! A broken backend is waited on, never blamed on the data: a process worker pointed at a database
//! nobody migrated dead-letters nothing, logs the trouble once instead of spinning, and counts every
//! reading once `migrate` has run. And an event PostgreSQL refuses on its merits is dead-lettered
//! alone while the rest of its batch is counted.

use super::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;
use tributary::settings::CacheBackend;
use tributary::startup::{Application, Stages};

const SETTLE: Duration = Duration::from_secs(120);

/// Messages in a topic (the sum of its partitions' high watermarks; 0 if it does not exist).
fn messages_in(topic: &str) -> i64 {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .create()
        .expect("consumer");
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)) else {
        return 0;
    };
    metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions())
        .filter_map(|p| {
            consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .ok()
        })
        .map(|(_, high)| high)
        .sum()
}

#[tokio::test]
async fn a_worker_on_an_unmigrated_database_waits_quietly_and_counts_everything_after_migrate() {
    let db = Database::create_unmigrated().await;
    let topic = unique("unmigrated");
    let settings = real_settings(&db, &topic, CacheBackend::Memory);
    let events = fleet(4, 10, now_minus_minutes(20));
    publish(&settings, &events).await;

    let mut worker = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "--log-format",
            "json",
            "run",
            "--stages",
            "process",
            "--port",
            "0",
        ])
        .env("RUST_LOG", "info,sqlx=warn,rdkafka=warn")
        .env("TRIBUTARY_BACKENDS__EVENT_LOG", "kafka")
        .env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgres")
        .env("TRIBUTARY_BACKENDS__CACHE", "memory")
        .env("TRIBUTARY_KAFKA__BROKERS", KAFKA)
        .env("TRIBUTARY_KAFKA__TOPIC", &topic)
        .env(
            "TRIBUTARY_KAFKA__DEAD_LETTER_TOPIC",
            &settings.kafka.dead_letter_topic,
        )
        .env(
            "TRIBUTARY_KAFKA__CONSUMER_GROUP",
            &settings.kafka.consumer_group,
        )
        .env("TRIBUTARY_POSTGRES__URL", &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("worker starts");
    // Logs go to standard output.
    let mut lines = BufReader::new(worker.stdout.take().expect("stdout")).lines();
    let log = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line);
        }
        seen
    });

    // Long enough for several attempts on the broken database.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        messages_in(&settings.kafka.dead_letter_topic),
        0,
        "nothing is dead-lettered for a broken database"
    );
    db.store().await.migrate().await.expect("migrate");
    settles_to_truth(&db.store().await, &events, SETTLE).await;
    assert_eq!(messages_in(&settings.kafka.dead_letter_topic), 0);

    let _ = worker.start_kill();
    let _ = worker.wait().await;
    let log = log.await.expect("log reader");
    let broken: Vec<&String> = log.iter().filter(|l| l.contains("is broken")).collect();
    assert_eq!(
        broken.len(),
        1,
        "the broken database is logged once: {log:#?}"
    );
    assert!(
        broken[0].contains("ERROR") && broken[0].contains("does not exist"),
        "{}",
        broken[0]
    );
    assert!(
        log.iter().any(|l| l.contains("backend recovered")),
        "the recovery is logged: {log:#?}"
    );
    assert!(
        log.len() < 20,
        "a quiet wait, not a flood: {} lines",
        log.len()
    );
}

#[tokio::test]
async fn an_event_postgres_refuses_is_dead_lettered_alone_and_the_rest_of_its_batch_counts() {
    let db = Database::create().await;
    let topic = unique("refused");
    let mut settings = real_settings(&db, &topic, CacheBackend::Memory);
    settings.kafka.partitions = 1;
    let start = now_minus_minutes(20);
    // Two values whose window sum overflows double precision: PostgreSQL refuses the second
    // (SQLSTATE 22003, a data exception), however it is batched.
    let huge =
        |id: &str| tributary_testkit::scored("dev-0", id, start, &[("temp", 1.5e308, false)]);
    let first = huge("huge-1");
    publish(&settings, std::slice::from_ref(&first)).await;

    let shutdown = CancellationToken::new();
    let app = Application::build(
        &settings,
        Stages::parse("process").expect("stages"),
        shutdown.clone(),
    )
    .await
    .expect("builds");
    let running = tokio::spawn(app.run_until_stopped());
    let store = db.store().await;
    settles_to_truth(&store, std::slice::from_ref(&first), SETTLE).await;

    let healthy = fleet(3, 8, start + 60_000);
    let mut batch = healthy[..12].to_vec();
    batch.push(huge("huge-2"));
    batch.extend_from_slice(&healthy[12..]);
    publish(&settings, &batch).await;
    let mut counted = healthy.clone();
    counted.push(first);
    settles_to_truth(&store, &counted, SETTLE).await;
    assert_eq!(messages_in(&settings.kafka.dead_letter_topic), 1);
    shutdown.cancel();
    running.await.expect("task").expect("clean stop");
}
