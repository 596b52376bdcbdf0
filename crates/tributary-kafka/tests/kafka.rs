//! The Kafka adapters against a real broker (nisshi on 127.0.0.1:9092, started by `.ci/run`): events
//! are keyed by device (one device, one partition, in order), consumed with their positions, and a
//! consumer that commits resumes after what it committed.

use std::collections::BTreeMap;
use std::time::Duration;
use tributary_core::ports::EventLog;
use tributary_kafka::{
    decode, ensure_topics, KafkaEventLog, KafkaSettings, KafkaSource, RawMessage,
};
use tributary_testkit::{scored, T0};

fn settings(test: &str) -> KafkaSettings {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let topic = format!("{test}-{nanos}");
    KafkaSettings {
        brokers: "127.0.0.1:9092".into(),
        dead_letter_topic: format!("{topic}.dead-letter"),
        consumer_group: format!("{topic}-group"),
        topic,
        partitions: 3,
        max_batch: 7,
        ..KafkaSettings::default()
    }
}

async fn consume(source: &KafkaSource, n: usize) -> Vec<RawMessage> {
    let mut out = Vec::new();
    while out.len() < n {
        let batch = tokio::time::timeout(Duration::from_secs(30), source.next_batch())
            .await
            .expect("messages within 30 s")
            .expect("a batch");
        assert!(batch.len() <= 7, "batches respect max_batch");
        out.extend(batch);
    }
    out
}

#[tokio::test]
async fn events_are_keyed_by_device_and_consumed_in_order_with_their_positions() {
    let s = settings("keyed");
    ensure_topics(&s).await.expect("topics");
    ensure_topics(&s)
        .await
        .expect("creating existing topics is fine");
    let events: Vec<_> = (0..30i64)
        .map(|i| {
            scored(
                &format!("dev-{}", i % 5),
                &format!("r{i}"),
                T0 + i * 1000,
                &[("t", i as f64, false)],
            )
        })
        .collect();
    KafkaEventLog::new(&s)
        .expect("producer")
        .publish(&events)
        .await
        .expect("published");

    let source = KafkaSource::subscribe(&s).expect("consumer");
    let messages = consume(&source, 30).await;
    let mut partition_of: BTreeMap<String, i32> = BTreeMap::new();
    let mut per_device: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for m in &messages {
        let event = decode(m.payload.as_deref().expect("payload")).expect("a scored reading");
        assert_eq!(m.key.as_deref(), Some(event.device_id.as_str().as_bytes()));
        let device = event.device_id.to_string();
        assert_eq!(
            *partition_of.entry(device.clone()).or_insert(m.partition),
            m.partition,
            "one device, one partition"
        );
        per_device
            .entry(device)
            .or_default()
            .push(event.ts.millis());
        offsets.entry(m.partition).or_default().push(m.offset);
    }
    for ts in per_device.values() {
        assert!(
            ts.windows(2).all(|w| w[0] < w[1]),
            "a device's events arrive in order"
        );
    }
    for list in offsets.values() {
        assert!(
            list.windows(2).all(|w| w[1] == w[0] + 1),
            "offsets are contiguous per partition"
        );
    }
    let next: BTreeMap<i32, i64> = offsets
        .iter()
        .map(|(p, o)| (*p, o[o.len() - 1] + 1))
        .collect();
    source.commit(&next).expect("commit");
    drop(source);

    // The same group resumes after the commit: only new events arrive.
    let more = scored("dev-0", "r-late", T0 + 99_000, &[("t", 1.0, false)]);
    KafkaEventLog::new(&s)
        .expect("producer")
        .publish(std::slice::from_ref(&more))
        .await
        .expect("published");
    let again = KafkaSource::subscribe(&s).expect("consumer");
    let resumed = consume(&again, 1).await;
    assert_eq!(resumed.len(), 1);
    assert_eq!(
        decode(resumed[0].payload.as_deref().expect("payload")).expect("decodes"),
        more
    );
}

#[test]
fn a_payload_that_is_not_a_scored_reading_says_why() {
    let err = decode(b"{\"deviceId\": 1}").expect_err("not a reading");
    assert!(err.starts_with("not a scored reading: "), "{err}");
}
