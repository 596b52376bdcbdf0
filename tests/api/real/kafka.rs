//! The pipeline over Kafka, PostgreSQL and Redis: exact aggregates end to end, messages that match the
//! documented schema, a Redis flush that costs nothing, and a poison message that is dead-lettered
//! without stalling its partition.

use super::*;
use crate::helpers::eventually;
use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tributary::settings::CacheBackend;
use tributary::startup::{Application, Stages};

const SETTLE: Duration = Duration::from_secs(60);

fn consumer(topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", unique("inspect"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

#[tokio::test]
async fn a_pipeline_over_kafka_postgres_and_redis_gives_exactly_the_expected_aggregates() {
    let db = Database::create().await;
    let topic = unique("pipeline");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = real_settings(&db, &topic, CacheBackend::Redis);
    settings.data_dir = dir.path().to_path_buf();
    // Redis database 12 is this test's own: it flushes it below.
    settings.redis.url = "redis://127.0.0.1:6379/12".to_owned().into();
    let shutdown = CancellationToken::new();
    let app = Application::build(&settings, Stages::all(), shutdown.clone())
        .await
        .expect("builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let running = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let start = now_minus_minutes(30);
    let readings: Vec<Value> = (0..200i64)
        .map(|i| {
            json!({"deviceId": format!("d{}", i % 8), "seq": i, "ts": start + i * 4_000,
                        "metrics": {"t": (i % 23) as f64, "u": (i % 5) as f64}})
        })
        .collect();
    for chunk in readings.chunks(50) {
        let resp = client
            .post(format!("{base}/api/telemetry"))
            .json(chunk)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 202);
    }
    let expected: Vec<ScoredReading> = readings
        .iter()
        .map(|r| {
            let m = |k: &'static str| (k, r["metrics"][k].as_f64().unwrap_or_default(), false);
            tributary_testkit::scored(
                r["deviceId"].as_str().unwrap_or_default(),
                &format!("seq:{}", r["seq"]),
                r["ts"].as_i64().unwrap_or_default(),
                &[m("t"), m("u")],
            )
        })
        .collect();
    let store = db.store().await;
    let counts = |w: &Windows| -> Vec<(u64, f64, f64, f64)> {
        w.values().map(|a| (a.count, a.sum, a.min, a.max)).collect()
    };
    let want = counts(&truth(&expected));
    eventually(
        "PostgreSQL to hold the exact aggregates",
        SETTLE,
        || async { (counts(&stored(&store, &expected).await) == want).then_some(()) },
    )
    .await;

    // The latest state comes from Redis; after a flush it refills from new readings alone.
    let latest: Value = client
        .get(format!("{base}/api/devices/d7/latest"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        latest["lastSeen"],
        json!(Timestamp::from_millis(start + 199 * 4_000))
    );
    let last_minute = Timestamp::from_millis(start + 199 * 4_000).floor(60_000);
    assert_eq!(
        latest["currentWindows"]["t"]["start"],
        json!(last_minute),
        "the current window comes from Redis"
    );
    let mut redis = redis::Client::open("redis://127.0.0.1:6379/12")
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut redis)
        .await
        .expect("flush");
    let newer =
        json!({"deviceId": "d7", "seq": 1000, "ts": start + 1_000_000, "metrics": {"t": 77.0}});
    client
        .post(format!("{base}/api/telemetry"))
        .json(&newer)
        .send()
        .await
        .expect("post");
    eventually("the cache to refill", SETTLE, || async {
        let v: Value = client
            .get(format!("{base}/api/devices/d7/latest"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v["metrics"]["t"]["value"] == 77.0).then_some(())
    })
    .await;
    let d7 = stored(&store, &expected)
        .await
        .into_iter()
        .filter(|((d, _, _), _)| d.as_str() == "d7")
        .count();
    assert!(d7 > 0, "PostgreSQL was not affected by the flush");

    // Every message on the topic is keyed by device and valid against the documented schema.
    let schema: Value =
        serde_json::from_str(include_str!("../../../schemas/scored-reading.v1.json"))
            .expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let inspect = consumer(&topic);
    let mut messages = inspect.stream();
    let mut seen = 0;
    while seen < 201 {
        let message = tokio::time::timeout(SETTLE, messages.next())
            .await
            .expect("messages")
            .expect("stream")
            .expect("message");
        let payload: Value =
            serde_json::from_slice(message.payload().expect("payload")).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&payload)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "message does not match the schema: {errors:?}\n{payload}"
        );
        assert_eq!(
            message.key(),
            payload["deviceId"].as_str().map(str::as_bytes),
            "keyed by device"
        );
        let header = message
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == tributary_kafka::SCHEMA_HEADER));
        assert_eq!(
            header.and_then(|h| h.value),
            Some(tributary_kafka::SCHEMA.as_bytes())
        );
        seen += 1;
    }
    shutdown.cancel();
    running.await.expect("task").expect("clean stop");
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_and_its_partition_keeps_moving() {
    let db = Database::create().await;
    let topic = unique("poison");
    let mut settings = real_settings(&db, &topic, CacheBackend::Memory);
    settings.kafka.partitions = 1;
    let events = fleet(3, 10, now_minus_minutes(20));
    let (before, after) = events.split_at(15);
    publish(&settings, before).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .create()
        .expect("producer");
    let poison = FutureRecord::to(&topic)
        .key("dev-0")
        .payload("{\"deviceId\": 42, oops");
    let poison_offset = producer
        .send(poison, Duration::from_secs(10))
        .await
        .expect("poison sent")
        .offset;
    publish(&settings, after).await;

    let shutdown = CancellationToken::new();
    let stages = Stages::parse("process").expect("stages");
    let app = Application::build(&settings, stages, shutdown.clone())
        .await
        .expect("builds");
    let running = tokio::spawn(app.run_until_stopped());
    let store = db.store().await;
    settles_to_truth(&store, &events, SETTLE).await;
    use tributary_core::ports::ResultStore;
    let positions = store
        .positions(&format!("{}/{topic}", settings.kafka.consumer_group))
        .await
        .expect("positions");
    assert_eq!(
        positions.get(&0),
        Some(&(events.len() as i64 + 1)),
        "the partition moved past the poison"
    );

    let dead = consumer(&settings.kafka.dead_letter_topic);
    let message = tokio::time::timeout(SETTLE, dead.recv())
        .await
        .expect("a dead letter")
        .expect("message");
    assert_eq!(message.payload(), Some(&b"{\"deviceId\": 42, oops"[..]));
    let header = |name: &str| {
        message.headers().and_then(|h| {
            h.iter()
                .find(|x| x.key == name)
                .and_then(|x| x.value.map(|v| String::from_utf8_lossy(v).into_owned()))
        })
    };
    assert!(
        header("tributary-dead-letter-reason")
            .is_some_and(|r| r.starts_with("not a scored reading")),
        "{:?}",
        header("tributary-dead-letter-reason")
    );
    assert_eq!(
        header("tributary-original-offset"),
        Some(poison_offset.to_string())
    );
    assert_eq!(header("tributary-original-topic"), Some(topic.clone()));
    shutdown.cancel();
    running.await.expect("task").expect("clean stop");
}
