//! TLS as Azure requires it, against the private TLS-only PostgreSQL and Redis that scripts/test.sh
//! starts (scripts/tls-servers.sh): `tributary migrate` and a clean `tributary run` reach them with
//! `sslmode=verify-full` and `rediss://` and the simulated fleet passes verify. A build without TLS
//! support in sqlx or redis fails here, as it would fail on Azure.

use super::unique;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;
use tributary::simulate::{self, FleetConfig, SimulateConfig};
use tributary::verify::{self, VerifyConfig};

/// The test servers' coordinates, from the `TRIBUTARY_TEST_TLS_*` variables scripts/test.sh exports.
pub struct TlsServers {
    pub ca: String,
    pub pg_port: u16,
    pub redis_port: u16,
    pub redis_user: String,
    /// The password of PostgreSQL role `tributary_app` and of the Redis user: a fake Entra token.
    pub token: String,
}

impl TlsServers {
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is unset: run scripts/test.sh, which starts the TLS test servers")
            })
        };
        let port = |name: &str| var(name).parse::<u16>().expect("a port");
        Self {
            ca: var("TRIBUTARY_TEST_TLS_CA"),
            pg_port: port("TRIBUTARY_TEST_TLS_PG_PORT"),
            redis_port: port("TRIBUTARY_TEST_TLS_REDIS_PORT"),
            redis_user: var("TRIBUTARY_TEST_TLS_REDIS_USER"),
            token: var("TRIBUTARY_TEST_TLS_TOKEN"),
        }
    }

    /// `user[:password]@localhost` with full verification against the test CA.
    pub fn pg_url(&self, userinfo: &str, database: &str) -> String {
        format!(
            "postgres://{userinfo}@localhost:{}/{database}?sslmode=verify-full&sslrootcert={}",
            self.pg_port, self.ca
        )
    }

    /// A fresh database owned by `tributary_app`, created over TLS as the trusted `postgres` user.
    pub async fn create_database(&self) -> String {
        use sqlx::Connection;
        let name = unique("tributary_tls");
        let mut admin = sqlx::PgConnection::connect(&self.pg_url("postgres", "postgres"))
            .await
            .expect("the TLS PostgreSQL accepts a verify-full connection");
        sqlx::query(&format!("CREATE DATABASE {name} OWNER tributary_app"))
            .execute(&mut admin)
            .await
            .expect("create database");
        name
    }

    /// Keys under `prefix` in the TLS Redis, counted with redis-cli (independent of the binary).
    pub fn redis_keys(&self, prefix: &str) -> usize {
        let out = std::process::Command::new("redis-cli")
            .args([
                "--tls",
                "--cacert",
                &self.ca,
                "-h",
                "localhost",
                "--no-auth-warning",
            ])
            .args([
                "-p",
                &self.redis_port.to_string(),
                "--user",
                &self.redis_user,
            ])
            .args([
                "--pass",
                &self.token,
                "--scan",
                "--pattern",
                &format!("{prefix}*"),
            ])
            .output()
            .expect("redis-cli runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).lines().count()
    }
}

/// The binary with the environment a container on Azure gets, pointed at the TLS test servers.
fn tributary(tls: &TlsServers, database: &str, prefix: &str, data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    command
        .env("RUST_LOG", "warn")
        .env("TRIBUTARY_DATA_DIR", data_dir)
        // Readings and events stay embedded, named explicitly as `run` requires.
        .env("TRIBUTARY_BACKENDS__READING_STORE", "embedded")
        .env("TRIBUTARY_BACKENDS__EVENT_LOG", "embedded")
        .env("TRIBUTARY_BACKENDS__RESULT_STORE", "postgres")
        .env("TRIBUTARY_BACKENDS__CACHE", "redis")
        .env(
            "TRIBUTARY_POSTGRES__URL",
            tls.pg_url(&format!("tributary_app:{}", tls.token), database),
        )
        .env(
            "TRIBUTARY_REDIS__URL",
            format!(
                "rediss://{}:{}@localhost:{}/0",
                tls.redis_user, tls.token, tls.redis_port
            ),
        )
        .env("TRIBUTARY_REDIS__CA_FILE", &tls.ca)
        .env("TRIBUTARY_REDIS__PREFIX", prefix)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn healthy(base: &str, child: &mut Child) {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("tributary run exited before serving: {status}");
        }
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tributary run never answered /healthz");
}

#[tokio::test]
async fn a_clean_run_on_tls_postgres_and_redis_passes_verify() {
    let tls = TlsServers::from_env();
    let database = tls.create_database().await;
    let prefix = unique("tls");
    let dir = tempfile::tempdir().expect("temp dir");

    let migrate = tributary(&tls, &database, &prefix, dir.path())
        .arg("migrate")
        .status()
        .await
        .expect("migrate runs");
    assert!(migrate.success(), "tributary migrate over TLS: {migrate}");

    let port = free_port();
    let mut run = tributary(&tls, &database, &prefix, dir.path())
        .args(["run", "--port", &port.to_string()])
        .spawn()
        .expect("tributary run starts");
    let base = format!("http://127.0.0.1:{port}");
    healthy(&base, &mut run).await;

    let truth = dir.path().join("truth.ndjson");
    let fleet = FleetConfig {
        devices: 5,
        rate: 50.0,
        duration_ms: 6_000,
        duplicates: 0.02,
        anomalies: 0.003,
        invalid: 0.01,
        late: 0.02,
        seed: 12,
        tag: "tls".into(),
    };
    let simulated = simulate::run(
        SimulateConfig {
            truth: Some(truth.clone()),
            ..SimulateConfig::new(&base, fleet)
        },
        CancellationToken::new(),
    )
    .await
    .expect("simulate runs");
    assert_eq!(simulated.summary.failed_requests, 0, "{simulated}");
    let report = verify::run(VerifyConfig {
        quiet: Duration::from_secs(2),
        poll: Duration::from_millis(200),
        ..VerifyConfig::new(&base, &truth, Duration::from_secs(60))
    })
    .await
    .expect("verify runs");
    assert!(report.passed(), "{report:?}");
    assert!(report.windows.readings_lost() == 0 && simulated.summary.acknowledged > 250);
    assert!(
        tls.redis_keys(&prefix) >= 5,
        "the latest state of each device is in the TLS Redis"
    );
    let _ = run.start_kill();
}
