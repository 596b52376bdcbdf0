//! Tests against the real servers `.ci/run` provides: Kafka (nisshi on 127.0.0.1:9092), the machine's
//! PostgreSQL and Redis. Every test makes its own topic, consumer group, database and key prefix.

mod broken;
mod check_config;
mod cosmos;
mod kafka;
mod outage;
mod readiness;
mod tls;
mod tls_tokens;
mod workers;

use sqlx::Connection;
use std::time::Duration;
use tributary::settings::{CacheBackend, EventLogBackend, ResultStoreBackend, Settings};
use tributary_core::ports::EventLog;
use tributary_core::{ScoredReading, Timestamp};
use tributary_postgres::PgResultStore;

pub const KAFKA: &str = "127.0.0.1:9092";
pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A name unique to this test run, for topics, groups, databases and prefixes.
pub fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{what}_{}_{nanos}", std::process::id())
}

/// A fresh, migrated PostgreSQL database; dropped when the guard is.
pub struct Database {
    pub name: String,
    pub url: String,
}

impl Database {
    pub async fn create() -> Self {
        let db = Self::create_unmigrated().await;
        db.store().await.migrate().await.expect("migrate");
        db
    }

    /// A fresh database with no schema, as before `tributary migrate`.
    pub async fn create_unmigrated() -> Self {
        let name = unique("tributary_test");
        let mut admin = sqlx::PgConnection::connect(PG_ADMIN)
            .await
            .expect("PostgreSQL is running");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create database");
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        Self { name, url }
    }

    pub async fn store(&self) -> PgResultStore {
        let settings = tributary_postgres::PgSettings {
            url: self.url.clone().into(),
            ..Default::default()
        };
        PgResultStore::connect(&settings, None)
            .await
            .expect("connect")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Best effort, in the background: a leftover test database is harmless.
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(PG_ADMIN).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        });
    }
}

/// Settings for the real backends: Kafka topic and group, PostgreSQL database, Redis prefix.
pub fn real_settings(db: &Database, topic: &str, cache: CacheBackend) -> Settings {
    let mut s = Settings::default();
    s.http.port = 0;
    s.backends.event_log = EventLogBackend::Kafka;
    s.backends.result_store = ResultStoreBackend::Postgres;
    s.backends.cache = cache;
    s.kafka.brokers = KAFKA.into();
    s.kafka.topic = topic.into();
    s.kafka.dead_letter_topic = format!("{topic}.dead-letter");
    s.kafka.consumer_group = format!("{topic}-group");
    s.postgres.url = db.url.clone().into();
    s.redis.prefix = topic.into();
    s.redis.ttl_secs = 300;
    s
}

/// Scored readings for `devices` devices over a few windows, with integer values (exact sums).
pub fn fleet(devices: usize, per_device: i64, start: i64) -> Vec<ScoredReading> {
    let mut out = Vec::new();
    for k in 0..per_device {
        for d in 0..devices {
            let i = k * 1000 + d as i64;
            let metrics = [
                ("temp", (i % 41) as f64, false),
                ("hum", (i % 7) as f64, false),
            ];
            out.push(tributary_testkit::scored(
                &format!("dev-{d}"),
                &format!("r{k}"),
                start + k * 3_000,
                &metrics,
            ));
        }
    }
    out
}

pub use tributary_testkit::result_store::{expected as truth, Windows};

/// What the result store holds for the devices and metrics of `readings` (empty while unreachable).
pub async fn stored(store: &PgResultStore, readings: &[ScoredReading]) -> Windows {
    tributary_testkit::result_store::observed(store, readings)
        .await
        .unwrap_or_default()
}

/// Waits until the store holds exactly the truth of `readings`; panics naming the first difference.
pub async fn settles_to_truth(
    store: &PgResultStore,
    readings: &[ScoredReading],
    timeout: Duration,
) {
    let expected = truth(readings);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let seen = stored(store, readings).await;
        if seen == expected {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let wrong = expected.iter().find(|(k, v)| seen.get(*k) != Some(*v));
            let extra = seen.keys().find(|k| !expected.contains_key(*k));
            panic!("results never matched the truth: first difference {wrong:?} (stored {:?}); extra {extra:?}",
                wrong.and_then(|(k, _)| seen.get(k)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Publishes through the real Kafka event log (as analyze does), creating the topic first.
pub async fn publish(settings: &Settings, events: &[ScoredReading]) {
    tributary_kafka::ensure_topics(&settings.kafka)
        .await
        .expect("topics");
    let log = tributary_kafka::KafkaEventLog::new(&settings.kafka).expect("producer");
    for chunk in events.chunks(200) {
        log.publish(chunk).await.expect("publish");
    }
}

pub fn now_minus_minutes(m: i64) -> i64 {
    Timestamp::now().millis() - m * 60_000
}
