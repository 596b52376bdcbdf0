//! The PostgreSQL result store against the machine's PostgreSQL: the shared `ResultStore` conformance
//! suite (each case on a fresh, migrated database from `#[sqlx::test]`), its SQL merge rules against
//! the core's, outages, and the Entra token plumbing with a fake credential.

use sqlx::PgPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tributary_core::auth::{AccessToken, TokenSource};
use tributary_core::ports::ResultStore;
use tributary_postgres::{PgResultStore, PgSettings};
use tributary_testkit::TestResult;

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {$(
        #[sqlx::test(migrator = "tributary_postgres::MIGRATOR")]
        async fn $case(pool: PgPool) -> TestResult {
            tributary_testkit::result_store::$case(&PgResultStore::new(pool)).await
        }
    )*};
}

conformance!(
    applies_each_reading_exactly_once,
    late_readings_merge_into_their_old_window,
    devices_and_anomalies_reflect_fresh_readings,
    an_empty_batch_changes_nothing,
    one_batch_spanning_many_devices_and_windows_is_applied_whole,
    any_batching_with_redeliveries_and_republishes_gives_the_core_aggregate,
    concurrent_applies_of_the_same_batch_count_it_once,
    devices_page_through_every_device_exactly_once,
    latest_follows_the_core_rule_in_any_order,
);

/// Hands out `token-1`, `token-2`, … each expiring almost at once, and counts the calls.
struct FakeCredential {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenSource for FakeCredential {
    async fn token(&self) -> Result<AccessToken, String> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(AccessToken {
            secret: format!("token-{n}"),
            // Expires within the refresh margin, so the refresher renews it right away.
            expires_at: SystemTime::now() + Duration::from_secs(1),
        })
    }
}

#[sqlx::test(migrator = "tributary_postgres::MIGRATOR")]
async fn an_entra_token_is_used_as_the_password_and_refreshed_before_it_expires(
    pool: PgPool,
) -> TestResult {
    // The machine's PostgreSQL trusts local connections, so any password works; what is tested is
    // that a token is fetched at start, renewed in the background, and the pool keeps working.
    let options = pool.connect_options();
    let url = format!(
        "postgres://postgres@{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    );
    let settings = PgSettings {
        url: url.into(),
        ..PgSettings::default()
    };
    let credential = Arc::new(FakeCredential {
        calls: AtomicUsize::new(0),
    });
    let store = PgResultStore::connect(&settings, Some(credential.clone())).await?;
    assert_eq!(
        credential.calls.load(Ordering::SeqCst),
        1,
        "a token is fetched before connecting"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        credential.calls.load(Ordering::SeqCst) >= 3,
        "the token is refreshed in the background"
    );
    assert!(
        store.positions("anyone").await?.is_empty(),
        "the pool still serves queries"
    );
    Ok(())
}

#[tokio::test]
async fn an_unreachable_database_is_a_retryable_error() {
    // Nothing listens on port 9 (discard) on loopback: the connection is refused.
    let settings = PgSettings {
        url: "postgres://postgres@127.0.0.1:9/none".to_owned().into(),
        acquire_timeout_secs: 1,
        ..PgSettings::default()
    };
    let store = PgResultStore::connect(&settings, None)
        .await
        .expect("connects lazily");
    let err = store.positions("c").await.expect_err("no database there");
    assert!(err.is_retryable(), "{err}");
}

#[sqlx::test(migrator = "tributary_postgres::MIGRATOR")]
async fn checkpoints_keep_the_continuation_and_exact_detector_states(pool: PgPool) -> TestResult {
    use tributary_core::analyze::{score_value, DetectorConfig, DeviceState};
    use tributary_core::ports::{CheckpointStore, Continuation, Progress, Quarantine, SetAside};
    use tributary_testkit::{at, device, metric, T0};
    let store = tributary_postgres::PgCheckpointStore::new(pool);
    assert_eq!(store.continuation("analyze").await?, None);
    let mut state = DeviceState::new();
    let cfg = DetectorConfig::default().for_metric("pressure");
    for i in 0..50 {
        let x = 1013.0 + f64::from(i) * 0.013_711_9;
        score_value(
            &mut state,
            &metric("pressure"),
            x,
            at(T0 + i64::from(i) * 60_000),
            &cfg,
        );
    }
    let poison = SetAside {
        source: "change_feed".into(),
        key: "dev/p".into(),
        record: "{\"ts\": \"bad\u{0}\"}".into(),
        reason: "stored reading is unreadable".into(),
        set_aside_at: tributary_core::Timestamp::from_millis(7),
    };
    let progress = Progress {
        key: "analyze",
        continuation: &Continuation("42".into()),
    };
    // Twice: a replayed page sets the same record aside once.
    for _ in 0..2 {
        store
            .commit(
                "analyze",
                Some(progress),
                &[(device("d1"), state.clone())],
                std::slice::from_ref(&poison),
            )
            .await?;
    }
    let listed = store.list(10).await?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        listed[0].record, "{\"ts\": \"bad\u{fffd}\"}",
        "kept verbatim but for NUL, which PostgreSQL text cannot hold"
    );
    assert_eq!(
        (listed[0].key.as_str(), listed[0].set_aside_at.millis()),
        ("dev/p", 7)
    );
    store.release(&listed).await?;
    assert!(store.list(10).await?.is_empty());
    assert_eq!(
        store.continuation("analyze").await?,
        Some(Continuation("42".into()))
    );
    let loaded = store
        .detector_states("analyze", &[device("d1"), device("d2")])
        .await?;
    assert_eq!(
        loaded,
        vec![(device("d1"), state)],
        "states round-trip bit for bit"
    );
    assert!(store
        .detector_states("other-feed", &[device("d1")])
        .await?
        .is_empty());
    Ok(())
}
