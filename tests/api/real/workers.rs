//! Native process workers as real processes in one consumer group: one is SIGKILLed mid-stream and
//! another started, and every window still equals the ground truth; SIGTERM drains and exits 0.

use super::*;
use std::process::Stdio;
use tokio::process::{Child, Command};

const SETTLE: Duration = Duration::from_secs(120);

/// `tributary run --stages process` on Kafka and PostgreSQL, configured through the environment
/// exactly as a container would be.
fn worker(settings: &Settings) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args([
            "--log-format",
            "json",
            "run",
            "--stages",
            "process",
            "--port",
            "0",
        ])
        .env("RUST_LOG", "warn")
        .env("TRIBUTARY_BACKENDS__EVENT_LOG", "kafka")
        .env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgres")
        // `run` uses embedded (here in-memory) backends only when named.
        .env("TRIBUTARY_BACKENDS__CACHE", "memory")
        .env("TRIBUTARY_KAFKA__BROKERS", KAFKA)
        .env("TRIBUTARY_KAFKA__TOPIC", &settings.kafka.topic)
        .env(
            "TRIBUTARY_KAFKA__DEAD_LETTER_TOPIC",
            &settings.kafka.dead_letter_topic,
        )
        .env(
            "TRIBUTARY_KAFKA__CONSUMER_GROUP",
            &settings.kafka.consumer_group,
        )
        .env("TRIBUTARY_KAFKA__MAX_BATCH", "50")
        .env(
            "TRIBUTARY_POSTGRES__URL",
            secrecy::ExposeSecret::expose_secret(&settings.postgres.url),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("worker starts")
}

#[tokio::test]
async fn three_workers_with_one_killed_mid_stream_count_every_reading_exactly_once() {
    let db = Database::create().await;
    let topic = unique("workers");
    let settings = real_settings(&db, &topic, tributary::settings::CacheBackend::Memory);
    tributary_kafka::ensure_topics(&settings.kafka)
        .await
        .expect("6-partition topic");
    let readings = fleet(24, 40, now_minus_minutes(45));
    let mut workers: Vec<Child> = (0..3).map(|_| worker(&settings)).collect();
    let chunks: Vec<&[ScoredReading]> = readings.chunks(readings.len() / 10 + 1).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        publish(&settings, chunk).await;
        // Analyze republishes after a crash: resend part of an earlier chunk under new offsets.
        if i > 0 {
            publish(&settings, &chunks[i - 1][..chunks[i - 1].len() / 5]).await;
        }
        if i == 4 {
            workers[0].start_kill().expect("SIGKILL");
            workers[0].wait().await.expect("killed");
        }
        if i == 6 {
            workers.push(worker(&settings));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    settles_to_truth(&db.store().await, &readings, SETTLE).await;
}

#[tokio::test]
async fn sigterm_finishes_the_batch_in_hand_and_exits_cleanly_within_ten_seconds() {
    let db = Database::create().await;
    let topic = unique("sigterm");
    let settings = real_settings(&db, &topic, tributary::settings::CacheBackend::Memory);
    let readings = fleet(6, 30, now_minus_minutes(30));
    publish(&settings, &readings).await;
    let mut first = worker(&settings);
    let store = db.store().await;
    crate::helpers::eventually("the worker to apply something", SETTLE, || async {
        (!stored(&store, &readings).await.is_empty()).then_some(())
    })
    .await;
    let pid = first.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), first.wait())
        .await
        .expect("exits within 10 s")
        .expect("exit status");
    assert!(exit.success(), "exit status {exit}");
    // Whatever it had not finished is picked up by the next worker; nothing is lost or doubled.
    let _second = worker(&settings);
    settles_to_truth(&store, &readings, SETTLE).await;
}
