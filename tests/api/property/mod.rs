//! Issue 11's property test: readings from the whole input space (see `gen`) are POSTed to a running
//! app; whatever ingest accepts must lie in the acceptance window with finite, bounded values, and
//! must come out of store → change feed → analyze → event log → process → query exactly: every
//! (device, metric, minute) window with its count, min, max and sum, and every device's latest.
//! Run on the embedded adapters and on Kafka + PostgreSQL + Redis.

mod gen;

use crate::helpers::spawn_app;
use crate::real::{real_settings, unique, Database};
use gen::Body;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tributary::settings::CacheBackend;
use tributary::startup::{Application, Stages};
use tributary_core::Timestamp;

const DAY: i128 = 86_400_000;

#[derive(Debug, Default, PartialEq)]
struct Window {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// Σ|v|: sums in another order differ by rounding relative to this, not to the sum itself
    /// (1e150 − 1e150 + 1 is 1 or 0 by order).
    magnitude: f64,
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($fmt)*)));
        }
    };
}

/// How many generated readings were accepted and rejected over a run (a run that accepts or rejects
/// nothing would prove nothing).
#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    rejected: AtomicU64,
}

/// Posts one body and waits until every reading it accepted shows, exactly, in the query API.
async fn carries(
    client: &reqwest::Client,
    base: &str,
    body: &Body,
    settle: Duration,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let mut request = client
        .post(format!("{base}/api/telemetry"))
        .header("content-type", body.content_type())
        .body(body.bytes());
    if body.gzip {
        request = request.header("content-encoding", "gzip");
    }
    let sent_at = i128::from(Timestamp::now().millis());
    let resp = request
        .send()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let status = resp.status().as_u16();
    let report: Value = resp
        .json()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    ensure!(status == 202 || status == 400, "status {status}: {report}");
    let rejected: Vec<u64> = report["rejected"]
        .as_array()
        .ok_or_else(|| TestCaseError::fail(format!("not a per-reading report: {report}")))?
        .iter()
        .filter_map(|r| r["index"].as_u64())
        .collect();
    let accepted: Vec<&gen::Item> = (0..body.items.len())
        .filter(|i| !rejected.contains(&(*i as u64)))
        .map(|i| &body.items[i])
        .collect();
    ensure!(
        report["accepted"] == accepted.len() && report["duplicates"] == 0,
        "{report}"
    );
    ensure!(
        (status == 202) != accepted.is_empty(),
        "status {status}: {report}"
    );
    tally
        .accepted
        .fetch_add(accepted.len() as u64, Ordering::Relaxed);
    tally
        .rejected
        .fetch_add(rejected.len() as u64, Ordering::Relaxed);
    let mut windows: BTreeMap<(String, String, i128), Window> = BTreeMap::new();
    let mut latest: BTreeMap<String, i128> = BTreeMap::new();
    for item in &accepted {
        let ts = item.ts.ok_or_else(|| {
            TestCaseError::fail(format!("accepted a reading with no instant: {}", item.text))
        })?;
        let now = i128::from(Timestamp::now().millis());
        ensure!(
            ts <= now + 300_000 && ts >= sent_at - 7 * DAY,
            "accepted ts {ts} outside the window: {}",
            item.text
        );
        let mut names: Vec<&str> = item.metrics.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        ensure!(
            names.len() == item.metrics.len(),
            "accepted a repeated metric name: {}",
            item.text
        );
        for (name, v) in &item.metrics {
            ensure!(
                v.is_finite() && v.abs() <= 1e150,
                "accepted {name} = {v}: {}",
                item.text
            );
            let start = ts - ts.rem_euclid(60_000);
            let w = windows
                .entry((item.device.clone(), name.clone(), start))
                .or_insert(Window {
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    ..Window::default()
                });
            w.count += 1;
            w.sum += v;
            w.magnitude += v.abs();
            w.min = w.min.min(*v);
            w.max = w.max.max(*v);
        }
        let seen = latest.entry(item.device.clone()).or_insert(ts);
        *seen = (*seen).max(ts);
    }
    let deadline = Instant::now() + settle;
    loop {
        match shown(client, base, &windows, &latest).await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(TestCaseError::fail(e)),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Whether the query API shows exactly the expected windows and latest instants (else the first miss).
async fn shown(
    client: &reqwest::Client,
    base: &str,
    windows: &BTreeMap<(String, String, i128), Window>,
    latest: &BTreeMap<String, i128>,
) -> Result<(), String> {
    let get = |path: String| async move {
        let resp = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.map_err(|e| format!("{path}: {e}"))?;
        if status >= 500 {
            panic!("{path} answered {status}: {body}");
        }
        Ok::<_, String>((status, body))
    };
    for (device, ts) in latest {
        let (status, body) = get(format!("/api/devices/{device}/latest")).await?;
        if status != 200
            || body["lastSeen"] != serde_json::json!(Timestamp::from_millis(*ts as i64))
        {
            return Err(format!(
                "{device}: latest is {status} {body}, want lastSeen {ts}"
            ));
        }
    }
    for ((device, metric, start), want) in windows {
        let path = format!(
            "/api/devices/{device}/series?metric={metric}&from={start}&to={}",
            start + 60_000
        );
        let (status, body) = get(path.clone()).await?;
        let point = &body["points"][0];
        let got = Window {
            count: point["count"].as_u64().unwrap_or(0),
            sum: point["sum"].as_f64().unwrap_or(f64::NAN),
            min: point["min"].as_f64().unwrap_or(f64::NAN),
            max: point["max"].as_f64().unwrap_or(f64::NAN),
            magnitude: 0.0,
        };
        let sum_ok = (got.sum - want.sum).abs() <= 1e-9 * want.magnitude.max(1.0);
        if status != 200
            || got.count != want.count
            || got.min != want.min
            || got.max != want.max
            || !sum_ok
        {
            return Err(format!("{path}: {status} {body}, want {want:?}"));
        }
    }
    let (status, body) = get("/api/anomalies?limit=10000".into()).await?;
    if status != 200 || !body["anomalies"].is_array() {
        return Err(format!("anomalies: {status} {body}"));
    }
    Ok(())
}

/// Runs `cases` generated bodies against the app at `base`.
async fn property(base: String, cases: u32, settle: Duration) {
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases,
            max_shrink_iters: 200,
            failure_persistence: None,
            ..Config::default()
        });
        let client = reqwest::Client::new();
        let case = AtomicU64::new(0);
        let tally = Tally::default();
        runner
            .run(&gen::body(Timestamp::now().millis()), |body| {
                let body = body.for_case(case.fetch_add(1, Ordering::Relaxed));
                handle.block_on(carries(&client, &base, &body, settle, &tally))
            })
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((
            tally.accepted.load(Ordering::Relaxed),
            tally.rejected.load(Ordering::Relaxed),
        ))
    })
    .await
    .expect("the property runs");
    match outcome {
        Err(e) => panic!("{e}"),
        Ok((accepted, rejected)) => {
            eprintln!(
                "{cases} bodies: {accepted} readings accepted and carried, {rejected} rejected"
            );
            assert!(
                accepted > 0 && rejected > 0,
                "{accepted} accepted, {rejected} rejected"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reading_ingest_accepts_flows_through_the_embedded_pipeline_to_the_query_api() {
    let app = spawn_app().await;
    property(app.base.clone(), 64, Duration::from_secs(20)).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reading_ingest_accepts_flows_through_kafka_postgres_and_redis_to_the_query_api() {
    let db = Database::create().await;
    let topic = unique("property");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = real_settings(&db, &topic, CacheBackend::Redis);
    settings.data_dir = dir.path().to_path_buf();
    let shutdown = CancellationToken::new();
    let app = Application::build(&settings, Stages::all(), shutdown.clone())
        .await
        .expect("builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let running = tokio::spawn(app.run_until_stopped());
    property(base, 16, Duration::from_secs(60)).await;
    shutdown.cancel();
    running.await.expect("joins").expect("ran cleanly");
}
