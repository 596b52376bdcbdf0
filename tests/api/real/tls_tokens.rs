//! Entra-style tokens as passwords over TLS, as on Azure: the PostgreSQL result store with
//! `sslmode=verify-full` and the Redis connection over `rediss://`, against the TLS-only servers
//! scripts/test.sh starts, with a token source handing out the token those servers accept. Each test
//! also shows the server refuses what Azure would refuse (no token; no TLS; an untrusted CA).

use super::tls::TlsServers;
use super::unique;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tributary_core::auth::{AccessToken, Auth, TokenSource};
use tributary_core::ports::{LatestCache, ResultStore};
use tributary_core::process::DeviceLatest;
use tributary_postgres::{PgResultStore, PgSettings};
use tributary_redis::{RedisConnection, RedisLatestCache, RedisSettings};

/// Hands out the one token the test servers accept, valid for an hour.
struct TestToken(String);

#[async_trait::async_trait]
impl TokenSource for TestToken {
    async fn token(&self) -> Result<AccessToken, String> {
        Ok(AccessToken {
            secret: self.0.clone(),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
        })
    }
}

fn token(tls: &TlsServers) -> Option<Arc<dyn TokenSource>> {
    Some(Arc::new(TestToken(tls.token.clone())))
}

#[tokio::test]
async fn the_result_store_signs_in_with_a_token_over_verify_full_tls() {
    let tls = TlsServers::from_env();
    let database = tls.create_database().await;
    let settings = PgSettings {
        url: tls.pg_url("tributary_app", &database).into(),
        auth: Auth::Entra,
        acquire_timeout_secs: 5,
        ..PgSettings::default()
    };
    let store = PgResultStore::connect(&settings, token(&tls))
        .await
        .expect("connects");
    store
        .migrate()
        .await
        .expect("migrates over TLS with the token");
    assert!(store.positions("tls").await.expect("reads").is_empty());

    let without_token = PgResultStore::connect(&settings, None).await.expect("lazy");
    assert!(
        without_token.positions("tls").await.is_err(),
        "the server takes the token as the password, and nothing else"
    );
    let plain = PgSettings {
        url: format!(
            "postgres://tributary_app@127.0.0.1:{}/{database}?sslmode=disable",
            tls.pg_port
        )
        .into(),
        ..settings.clone()
    };
    let plain = PgResultStore::connect(&plain, token(&tls))
        .await
        .expect("lazy");
    assert!(
        plain.positions("tls").await.is_err(),
        "the server refuses connections without TLS"
    );
}

#[tokio::test]
async fn the_latest_cache_signs_in_with_a_token_over_rediss() {
    let tls = TlsServers::from_env();
    let settings = RedisSettings {
        url: format!("rediss://{}@localhost:{}/0", tls.redis_user, tls.redis_port).into(),
        prefix: unique("tls-cache"),
        ttl_secs: 300,
        auth: Auth::Entra,
        ca_file: Some(tls.ca.clone().into()),
        ..RedisSettings::default()
    };
    let connection = RedisConnection::connect(&settings, token(&tls))
        .await
        .expect("connects over TLS with the token");
    let cache = RedisLatestCache::new(connection, &settings);
    let reading =
        tributary_testkit::scored("pump-tls", "r1", 1_764_000_000_000, &[("temp", 7.5, false)]);
    cache
        .merge(&[DeviceLatest::from_reading(&reading)])
        .await
        .expect("merges");
    let got = cache
        .get(&tributary_testkit::device("pump-tls"))
        .await
        .expect("reads")
        .expect("cached");
    assert_eq!(got.metrics[&tributary_testkit::metric("temp")].value, 7.5);

    let public_roots_only = RedisSettings {
        ca_file: None,
        ..settings.clone()
    };
    assert!(
        RedisConnection::connect(&public_roots_only, token(&tls))
            .await
            .is_err(),
        "the test CA is not among the public roots: its certificate is refused"
    );
    // Without a token the connection may open, but nothing is allowed (the default user is off).
    if let Ok(connection) = RedisConnection::connect(&settings, None).await {
        let without = RedisLatestCache::new(connection, &settings);
        assert!(
            without
                .merge(&[DeviceLatest::from_reading(&reading)])
                .await
                .is_err(),
            "no token, no access"
        );
    }
}
