//! The Cosmos DB adapters against the project's test server (`tests/support/cosmos-server`, started by
//! `scripts/test.sh` on 127.0.0.1:8081 with the emulator's well-known key, Entra tokens accepted and
//! four partition key ranges). Every test makes its own database.

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tributary_core::ports::{Continuation, FeedLeases, Inserted, Lease, ReadingStore};
use tributary_core::{PortError, Reading, Timestamp};
use tributary_cosmos::{
    CosmosAuth, CosmosDb, CosmosFeedLeases, CosmosReadingStore, CosmosSettings,
};

/// The Cosmos DB emulator's published key, which the test server is started with.
const KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

fn endpoint() -> String {
    std::env::var("TRIBUTARY_TEST_COSMOS").unwrap_or_else(|_| "http://127.0.0.1:8081/".into())
}

fn settings(database: &str) -> CosmosSettings {
    CosmosSettings {
        endpoint: endpoint(),
        key: Some(SecretString::from(KEY)),
        database: database.into(),
        create_if_absent: true,
        http2: false,
        binary_encoding: false,
        deadline_ms: 3_000,
        ..Default::default()
    }
}

fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{what}-{}-{nanos}", std::process::id())
}

async fn open() -> CosmosDb {
    CosmosDb::connect(&settings(&unique("store")), None)
        .await
        .expect("the Cosmos test server is running (scripts/test.sh starts it)")
}

fn reading(device: &str, id: &str, ts: i64, value: f64) -> Reading {
    Reading {
        device_id: tributary_testkit::device(device),
        id: tributary_testkit::rid(id),
        ts: tributary_testkit::at(tributary_testkit::T0 + ts),
        seq: None,
        metrics: [(tributary_testkit::metric("temp"), value)].into(),
        tags: [("site".to_owned(), "north".to_owned())].into(),
        received_at: tributary_testkit::at(tributary_testkit::T0 + ts + 5),
    }
}

/// Reads the whole change feed from `from` until it is drained.
async fn drain(store: &CosmosReadingStore, mut from: Continuation) -> (Vec<Reading>, Continuation) {
    let mut all = Vec::new();
    loop {
        let page = store.changes(&from, 2).await.expect("change feed");
        from = page.continuation;
        if page.readings.is_empty() {
            return (all, from);
        }
        all.extend(page.readings);
    }
}

fn by_key(readings: Vec<Reading>) -> BTreeMap<(String, String), Reading> {
    readings
        .into_iter()
        .map(|r| ((r.device_id.to_string(), r.id.to_string()), r))
        .collect()
}

#[tokio::test]
async fn readings_round_trip_once_and_a_resend_is_a_duplicate() {
    let db = open().await;
    let store = CosmosReadingStore::new(db);
    let first = vec![
        reading("pump-1", "a", 0, 1.5),
        reading("pump-1", "b/with?odd#chars", 1_000, 2.5),
        reading("pump-2", "a", 0, 3.5),
    ];
    assert_eq!(
        store.insert_new(&first).await.unwrap(),
        vec![Inserted::New; 3]
    );

    // The device resends two of them with one new reading, in one request.
    let resend = vec![
        first[1].clone(),
        reading("pump-1", "c", 2_000, 4.5),
        first[0].clone(),
    ];
    assert_eq!(
        store.insert_new(&resend).await.unwrap(),
        vec![Inserted::Duplicate, Inserted::New, Inserted::Duplicate]
    );

    let (fed, _) = drain(&store, Continuation::start()).await;
    let mut expected = first.clone();
    expected.push(resend[1].clone());
    assert_eq!(
        fed.len(),
        4,
        "each reading once in the change feed: {fed:?}"
    );
    assert_eq!(by_key(fed), by_key(expected));
}

#[tokio::test]
async fn the_change_feed_resumes_from_its_continuation() {
    let store = CosmosReadingStore::new(open().await);
    store
        .insert_new(&[reading("d1", "1", 0, 1.0), reading("d2", "1", 0, 2.0)])
        .await
        .unwrap();
    let (before, continuation) = drain(&store, Continuation::start()).await;
    assert_eq!(before.len(), 2);

    // Nothing new: the same position, nothing read.
    let page = store.changes(&continuation, 10).await.unwrap();
    assert!(page.readings.is_empty());
    assert_eq!(page.remaining, Some(0));

    store
        .insert_new(&[reading("d3", "1", 0, 3.0)])
        .await
        .unwrap();
    let (after, _) = drain(&store, page.continuation).await;
    assert_eq!(
        after
            .iter()
            .map(|r| r.device_id.to_string())
            .collect::<Vec<_>>(),
        ["d3"]
    );
}

#[tokio::test]
async fn a_wrong_key_is_rejected() {
    let mut s = settings(&unique("wrong-key"));
    s.key = Some(SecretString::from(
        "bm90IHRoZSBrZXkgbm90IHRoZSBrZXkgbm90IHRoZSBrZXkgbm90IHRoZSBrZXk=",
    ));
    let err = match CosmosDb::connect(&s, None).await {
        Err(e) => e,
        Ok(db) => CosmosReadingStore::new(db)
            .insert_new(&[reading("d", "1", 0, 1.0)])
            .await
            .expect_err("a wrong key must not write"),
    };
    assert!(
        matches!(err, PortError::Broken { .. }),
        "not retryable: {err}"
    );
    assert!(
        err.to_string().contains("401") || err.to_string().contains("nauthorized"),
        "{err}"
    );
}

/// Answers a JWT-shaped token and records the scopes it was asked for.
#[derive(Debug, Default)]
struct FakeCredential {
    scopes: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl TokenCredential for FakeCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        if let Ok(mut seen) = self.scopes.lock() {
            seen.extend(scopes.iter().map(|s| s.to_string()));
        }
        let expires =
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(AccessToken::new(
            "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ0ZXN0In0.c2ln",
            expires,
        ))
    }
}

#[tokio::test]
async fn entra_id_authenticates_with_the_credential_given() {
    let credential = Arc::new(FakeCredential::default());
    let mut s = settings(&unique("entra"));
    s.auth = CosmosAuth::Entra;
    s.key = None;
    let db = CosmosDb::connect(&s, Some(credential.clone() as Arc<dyn TokenCredential>))
        .await
        .expect("the test server accepts Entra tokens");
    let store = CosmosReadingStore::new(db);
    assert_eq!(
        store
            .insert_new(&[reading("d", "1", 0, 1.0)])
            .await
            .unwrap(),
        [Inserted::New]
    );
    let scopes = credential.scopes.lock().unwrap().clone();
    assert!(!scopes.is_empty(), "the credential was asked for a token");
    assert!(
        scopes.iter().all(|s| s.ends_with("/.default")),
        "{scopes:?}"
    );
}

async fn admin(path: &str, body: &str) {
    let url = format!("{}_admin/{path}", endpoint());
    let status = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("admin endpoint")
        .status();
    assert!(status.is_success(), "admin {path}: {status}");
}

/// The server's throttling and fault injection are global, so these run as one test.
#[tokio::test]
async fn throttling_is_retried_within_the_deadline_then_reported_as_unavailable() {
    let store = CosmosReadingStore::new(open().await);

    admin("throttle", r#"{"count": 3, "retryAfterMs": 100}"#).await;
    let outcome = store.insert_new(&[reading("t", "1", 0, 1.0)]).await;
    admin("reset", "{}").await;
    assert_eq!(outcome.unwrap(), [Inserted::New], "three 429s are retried");

    admin("throttle", r#"{"count": 100000, "retryAfterMs": 500}"#).await;
    let started = Instant::now();
    let outcome = store
        .insert_new(&[reading("t", "2", 0, 1.0), reading("t", "3", 0, 1.0)])
        .await;
    let took = started.elapsed();
    admin("reset", "{}").await;
    let err = outcome.expect_err("throttled past the deadline");
    assert!(
        err.is_retryable(),
        "503 + Retry-After, not a failure: {err}"
    );
    assert!(
        took < Duration::from_secs(10),
        "gave up near the 3 s deadline, took {took:?}"
    );

    // Nothing was half-written: the client's retry stores both, once.
    let outcome = store
        .insert_new(&[reading("t", "2", 0, 1.0), reading("t", "3", 0, 1.0)])
        .await;
    assert_eq!(outcome.unwrap(), [Inserted::New, Inserted::New]);
}

#[tokio::test]
async fn leases_cover_every_range_and_a_stale_write_loses() {
    let db = open().await;
    let leases = CosmosFeedLeases::new(db.clone());
    let all = leases.leases().await.unwrap();
    assert!(
        all.len() >= 2,
        "the test server has several ranges: {all:?}"
    );
    assert!(all.iter().all(|l| l.owner.is_none()));
    assert_eq!(
        leases.leases().await.unwrap(),
        all,
        "reading again creates nothing"
    );

    let now = Timestamp::now();
    let take = |owner: &str, lease: &Lease| Lease {
        owner: Some(owner.into()),
        expires_at: now.saturating_add_ms(10_000),
        ..lease.clone()
    };
    let a = leases
        .replace(&all[0], take("a", &all[0]))
        .await
        .unwrap()
        .expect("a takes it");
    assert_ne!(a.version, all[0].version);
    assert!(
        leases
            .replace(&all[0], take("b", &all[0]))
            .await
            .unwrap()
            .is_none(),
        "b read it before a took it"
    );
    let mut moved = a.clone();
    moved.continuation = Continuation("somewhere".into());
    let a2 = leases
        .replace(&a, moved)
        .await
        .unwrap()
        .expect("a still holds it");
    let stored = leases.leases().await.unwrap();
    let back = stored.iter().find(|l| l.range == a2.range).unwrap();
    assert_eq!(back.owner.as_deref(), Some("a"));
    assert_eq!(back.continuation, Continuation("somewhere".into()));

    // Each lease's first continuation reads exactly its range; together they read every reading once.
    let store = CosmosReadingStore::new(db);
    let readings: Vec<Reading> = (0..40)
        .map(|d| reading(&format!("dev-{d}"), "1", 0, 1.0))
        .collect();
    store.insert_new(&readings).await.unwrap();
    let mut seen = Vec::new();
    for lease in &all {
        let (fed, _) = drain(&store, lease.continuation.clone()).await;
        seen.extend(fed);
    }
    assert_eq!(seen.len(), readings.len());
    assert_eq!(by_key(seen), by_key(readings));
}
