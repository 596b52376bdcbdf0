//! The Redis adapters against the machine's Redis: the cache merges by event time, expires, and
//! refills after a flush; the live feed crosses "processes" (two feeds on one channel) and keeps
//! recent anomalies. Each test uses its own key prefix.

use futures::StreamExt;
use std::time::Duration;
use tributary_core::ports::{LatestCache, LiveFeed, LiveUpdate};
use tributary_core::process::DeviceLatest;
use tributary_redis::{Keys, RedisLatestCache, RedisLiveFeed, RedisSettings};
use tributary_testkit::{device, metric, scored, T0};

fn settings(test: &str, db: u8) -> RedisSettings {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    RedisSettings {
        url: format!("redis://127.0.0.1:6379/{db}").into(),
        prefix: format!("tributary-test:{test}:{nanos}"),
        // Test keys clean themselves up.
        ttl_secs: 300,
        ..RedisSettings::default()
    }
}

fn latest(dev: &str, ts: i64, temp: f64) -> DeviceLatest {
    DeviceLatest::from_reading(&scored(dev, "r", ts, &[("temp", temp, false)]))
}

async fn raw(db: u8) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:6379/{db}"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis is running")
}

#[tokio::test]
async fn the_cache_keeps_the_latest_value_by_event_time() {
    let cache = RedisLatestCache::connect(&settings("merge", 0))
        .await
        .expect("connect");
    let pump = device("pump-1");
    assert_eq!(cache.get(&pump).await.expect("get"), None);

    cache
        .merge(&[latest("pump-1", T0 + 10_000, 1.0)])
        .await
        .expect("merge");
    // An older value arriving later does not replace the newer one.
    let mut older = latest("pump-1", T0 + 5_000, 9.0);
    older
        .metrics
        .insert(metric("hum"), older.metrics[&metric("temp")]);
    cache.merge(&[older]).await.expect("merge");
    let got = cache.get(&pump).await.expect("get").expect("cached");
    assert_eq!(got.metrics[&metric("temp")].value, 1.0);
    assert_eq!(
        got.metrics[&metric("hum")].value,
        9.0,
        "a metric seen only in the older reading is kept"
    );
    assert_eq!(got.last_seen.millis(), T0 + 10_000);

    cache
        .merge(&[
            latest("pump-1", T0 + 20_000, 3.0),
            latest("pump-2", T0, 4.0),
        ])
        .await
        .expect("merge");
    let got = cache.get(&pump).await.expect("get").expect("cached");
    assert_eq!(
        (got.metrics[&metric("temp")].value, got.last_seen.millis()),
        (3.0, T0 + 20_000)
    );
    assert_eq!(
        cache
            .get(&device("pump-2"))
            .await
            .expect("get")
            .expect("cached")
            .metrics
            .len(),
        1
    );
}

#[tokio::test]
async fn cached_state_expires_after_its_ttl() {
    let mut s = settings("ttl", 0);
    s.ttl_secs = 60;
    let cache = RedisLatestCache::connect(&s).await.expect("connect");
    cache
        .merge(&[latest("pump-9", T0, 1.0)])
        .await
        .expect("merge");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(Keys::new(&s.prefix).latest(&device("pump-9")))
        .query_async(&mut raw(0).await)
        .await
        .expect("PTTL");
    assert!((1..=60_000).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn after_a_flush_the_cache_refills_from_new_readings() {
    // Database 13 is this test's own, so FLUSHDB cannot disturb tests running alongside.
    let cache = RedisLatestCache::connect(&settings("flush", 13))
        .await
        .expect("connect");
    cache
        .merge(&[latest("pump-1", T0, 1.0)])
        .await
        .expect("merge");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut raw(13).await)
        .await
        .expect("flush");
    assert_eq!(cache.get(&device("pump-1")).await.expect("get"), None);
    cache
        .merge(&[latest("pump-1", T0 + 1_000, 2.0)])
        .await
        .expect("merge after flush");
    let got = cache
        .get(&device("pump-1"))
        .await
        .expect("get")
        .expect("refilled");
    assert_eq!(got.metrics[&metric("temp")].value, 2.0);
}

#[tokio::test]
async fn live_updates_reach_subscribers_of_another_feed_and_anomalies_are_kept() {
    let s = settings("live", 0);
    let publisher = RedisLiveFeed::connect(&s).await.expect("connect");
    let listener = RedisLiveFeed::connect(&s).await.expect("connect");
    let mut updates = listener.subscribe(None);
    let reading = scored(
        "fan-1",
        "r1",
        T0,
        &[("rpm", 1200.0, true), ("temp", 40.0, false)],
    );
    // The subscription is established asynchronously: publish until it is seen.
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            publisher
                .publish(std::slice::from_ref(&reading))
                .await
                .expect("publish");
            if let Ok(Some(got)) =
                tokio::time::timeout(Duration::from_millis(200), updates.next()).await
            {
                return got;
            }
        }
    })
    .await
    .expect("a live update across feeds");
    assert_eq!(
        received,
        LiveUpdate::Reading {
            id: None,
            reading: Box::new(reading)
        }
    );
    let anomalies: Vec<String> = redis::cmd("LRANGE")
        .arg(Keys::new(&s.prefix).anomalies())
        .arg(0)
        .arg(-1)
        .query_async(&mut raw(0).await)
        .await
        .expect("LRANGE");
    assert!(
        !anomalies.is_empty() && anomalies[0].contains("\"rpm\""),
        "{anomalies:?}"
    );
}

/// Hands out `token-1`, `token-2`, … each expiring almost at once, and counts the calls.
struct FakeCredential {
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl tributary_core::auth::TokenSource for FakeCredential {
    async fn token(&self) -> Result<tributary_core::auth::AccessToken, String> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Ok(tributary_core::auth::AccessToken {
            secret: format!("token-{n}"),
            expires_at: std::time::SystemTime::now() + Duration::from_secs(1),
        })
    }
}

#[tokio::test]
async fn an_entra_token_is_the_password_and_a_fresh_one_is_swapped_in_before_it_expires() {
    use std::sync::atomic::Ordering;
    // A Redis of this test's own whose only user accepts token-1 … token-200 as passwords, as Azure
    // Managed Redis accepts each fresh Entra token.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(
        [
            "--user", "default", "off", "--user", "app", "on", "~*", "&*", "+@all",
        ]
        .map(String::from),
    );
    args.extend((1..=200).map(|n| format!(">token-{n}")));
    let mut server = std::process::Command::new("redis-server")
        .args(&args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = RedisSettings {
        url: format!("redis://app@127.0.0.1:{port}/0").into(),
        prefix: "entra-test".into(),
        auth: tributary_core::auth::Auth::Entra,
        ..RedisSettings::default()
    };

    let without = RedisLatestCache::new(
        tributary_redis::RedisConnection::connect(&s, None)
            .await
            .expect("connects"),
        &s,
    );
    assert!(
        without.merge(&[latest("pump-1", T0, 1.0)]).await.is_err(),
        "no token, no access"
    );

    let credential = std::sync::Arc::new(FakeCredential {
        calls: Default::default(),
    });
    let connection = tributary_redis::RedisConnection::connect(&s, Some(credential.clone()))
        .await
        .expect("connects with a token");
    let cache = RedisLatestCache::new(connection, &s);
    cache
        .merge(&[latest("pump-1", T0, 1.0)])
        .await
        .expect("merge with token-1");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        credential.calls.load(Ordering::SeqCst) >= 3,
        "tokens are renewed in the background"
    );
    cache
        .merge(&[latest("pump-1", T0 + 1, 2.0)])
        .await
        .expect("merge after renewals");
    let got = cache
        .get(&device("pump-1"))
        .await
        .expect("get")
        .expect("cached");
    assert_eq!(got.metrics[&metric("temp")].value, 2.0);
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::test]
async fn the_cache_keeps_each_metrics_current_window() {
    use tributary_core::process::{WindowAggregate, WindowKey};
    let cache = RedisLatestCache::connect(&settings("windows", 0))
        .await
        .expect("connect");
    let key = |m: &str, start: i64| WindowKey {
        device_id: device("pump-1"),
        metric: metric(m),
        start: tributary_testkit::at(start),
    };
    let w = |count: u64, sum: f64| WindowAggregate {
        count,
        sum,
        ..WindowAggregate::of(sum, tributary_testkit::at(T0), false)
    };
    cache
        .merge_windows(&[
            (key("temp", T0 + 60_000), w(2, 5.0)),
            (key("hum", T0), w(1, 1.0)),
        ])
        .await
        .expect("merge");
    // An older window arriving later does not replace the current one; a newer state of it does.
    cache
        .merge_windows(&[(key("temp", T0), w(9, 9.0))])
        .await
        .expect("merge");
    cache
        .merge_windows(&[(key("temp", T0 + 60_000), w(3, 8.0))])
        .await
        .expect("merge");
    let current = cache.current_windows(&device("pump-1")).await.expect("get");
    assert_eq!(
        current[&metric("temp")],
        (tributary_testkit::at(T0 + 60_000), w(3, 8.0))
    );
    assert_eq!(current[&metric("hum")].1.count, 1);
    assert!(cache
        .current_windows(&device("pump-2"))
        .await
        .expect("get")
        .is_empty());
}

mod latest_rule;
