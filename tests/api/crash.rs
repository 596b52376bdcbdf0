//! Crash recovery of the real process: `tributary dev` is killed with SIGKILL mid-stream, twice, and
//! restarted on the same data directory while a device keeps sending (retrying what was not
//! acknowledged). Every window must equal the ground truth exactly: nothing lost, nothing twice.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tributary_core::Timestamp;

const DEVICES: i64 = 10;
const BATCHES: i64 = 40;
const PER_BATCH: i64 = 25;
const MINUTE: i64 = 60_000;

struct Dev {
    child: Child,
    base: String,
}

async fn start(dir: &Path) -> Dev {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["dev", "--port", "0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("tributary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await
            .expect("stdout readable")
            .expect("a banner line");
        if let Some(rest) = line.split("dashboard at ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .expect("url")
                .trim_end_matches('/')
                .to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Dev { child, base }
}

fn batch(base_ts: i64, b: i64) -> Value {
    (0..PER_BATCH)
        .map(|i| {
            let k = b * PER_BATCH + i;
            json!({
                "deviceId": format!("crash-{}", k % DEVICES),
                "seq": k,
                "ts": base_ts + k * 2_000,
                "metrics": {"t": (k % 17) as f64 * 0.5, "u": k as f64},
            })
        })
        .collect()
}

/// Posts until the batch is acknowledged, as a device would.
async fn deliver(client: &reqwest::Client, dev: &Dev, body: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(resp) = client
            .post(format!("{}/api/telemetry", dev.base))
            .json(body)
            .send()
            .await
        {
            if resp.status() == 202 {
                return resp.json().await.expect("report");
            }
        }
        assert!(Instant::now() < deadline, "batch never acknowledged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

type Truth = BTreeMap<(String, String, i64), (u64, f64, f64, f64)>;

fn truth(base_ts: i64) -> Truth {
    let mut out = Truth::new();
    for b in 0..BATCHES {
        for r in batch(base_ts, b).as_array().expect("array") {
            let device = r["deviceId"].as_str().expect("id").to_owned();
            let start = Timestamp::from_millis(r["ts"].as_i64().expect("ts"))
                .floor(MINUTE)
                .millis();
            for (metric, v) in r["metrics"].as_object().expect("metrics") {
                let v = v.as_f64().expect("number");
                let e = out
                    .entry((device.clone(), metric.clone(), start))
                    .or_insert((0, 0.0, f64::MAX, f64::MIN));
                *e = (e.0 + 1, e.1 + v, e.2.min(v), e.3.max(v));
            }
        }
    }
    out
}

async fn observed(client: &reqwest::Client, dev: &Dev, base_ts: i64) -> Truth {
    let mut out = Truth::new();
    for d in 0..DEVICES {
        for metric in ["t", "u"] {
            let url = format!(
                "{}/api/devices/crash-{d}/series?metric={metric}&from={base_ts}&to={}",
                dev.base,
                base_ts + 60 * MINUTE
            );
            let Ok(resp) = client.get(url).send().await else {
                continue;
            };
            let Ok(body) = resp.json::<Value>().await else {
                continue;
            };
            for p in body["points"].as_array().into_iter().flatten() {
                let start = Timestamp::parse_rfc3339(p["start"].as_str().expect("start"))
                    .expect("ts")
                    .millis();
                let value = |k: &str| p[k].as_f64().expect("number");
                out.insert(
                    (format!("crash-{d}"), metric.to_owned(), start),
                    (
                        p["count"].as_u64().expect("count"),
                        value("sum"),
                        value("min"),
                        value("max"),
                    ),
                );
            }
        }
    }
    out
}

#[tokio::test]
async fn sigkill_mid_stream_loses_nothing_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let base_ts = Timestamp::from_millis(Timestamp::now().millis() - 45 * MINUTE)
        .floor(MINUTE)
        .millis();
    let mut dev = start(dir.path()).await;
    for b in 0..BATCHES {
        if b == 12 || b == 27 {
            // Kill while a batch is in flight and the pipeline is still working through earlier ones.
            let inflight = {
                let (client, url, body) = (
                    client.clone(),
                    format!("{}/api/telemetry", dev.base),
                    batch(base_ts, b),
                );
                tokio::spawn(async move {
                    client
                        .post(url)
                        .json(&body)
                        .send()
                        .await
                        .map(|r| r.status())
                })
            };
            tokio::time::sleep(Duration::from_millis(5)).await;
            dev.child.start_kill().expect("SIGKILL");
            dev.child.wait().await.expect("killed");
            let _ = inflight.await;
            dev = start(dir.path()).await;
        }
        deliver(&client, &dev, &batch(base_ts, b)).await;
    }
    // Resending acknowledged batches is harmless.
    for b in [0, 13, 39] {
        let report = deliver(&client, &dev, &batch(base_ts, b)).await;
        assert_eq!(report["duplicates"], PER_BATCH, "{report}");
    }
    let expected = truth(base_ts);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = observed(&client, &dev, base_ts).await;
    while seen != expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        seen = observed(&client, &dev, base_ts).await;
    }
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(k, v)| seen.get(*k) != Some(*v))
        .take(5)
        .map(|(k, v)| format!("{k:?}: expected {v:?}, got {:?}", seen.get(k)))
        .collect();
    assert!(
        wrong.is_empty(),
        "windows differ from the truth:\n{}",
        wrong.join("\n")
    );
    assert_eq!(seen.len(), expected.len(), "unexpected extra windows");
}
