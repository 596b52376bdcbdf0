//! Ingest load generator: POSTs batches of unique readings to a running Tributary with bounded
//! concurrency for a fixed time, then prints readings/s and request latency percentiles.
//!
//!     cargo run --release --example ingest_bench -- --target http://127.0.0.1:7071 \
//!         --batch 100 --concurrency 8 --seconds 20
//!
//! Every reading is new (unique device and seq), so each is validated and durably stored.

use clap::Parser;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:7071")]
    target: String,
    #[arg(long, default_value_t = 100)]
    batch: u64,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 1000)]
    devices: u64,
}

fn body(first: u64, batch: u64, devices: u64, now_ms: i64) -> String {
    let mut out = String::with_capacity(batch as usize * 160);
    out.push('[');
    for k in first..first + batch {
        if k > first {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"deviceId":"bench-{:05}","seq":{},"ts":{},"metrics":{{"temperature":{:.2},"vibration":{:.4}}},"tags":{{"site":"north"}}}}"#,
            k % devices,
            k / devices,
            now_ms - 1000,
            60.0 + (k % 97) as f64 * 0.1,
            0.02 + (k % 13) as f64 * 0.001
        ));
    }
    out.push(']');
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = format!("{}/api/telemetry", args.target.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    // A per-run offset keeps seq numbers unique across runs against the same data directory.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        * 1_000_000;
    let next = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, next, accepted) =
            (client.clone(), url.clone(), next.clone(), accepted.clone());
        let (batch, devices) = (args.batch, args.devices);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let first = run + next.fetch_add(batch, Ordering::Relaxed);
                let now_ms = chrono::Utc::now().timestamp_millis();
                let payload = body(first, batch, devices, now_ms);
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(payload)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 202 => {
                        let report: serde_json::Value = r.json().await.unwrap_or_default();
                        accepted
                            .fetch_add(report["accepted"].as_u64().unwrap_or(0), Ordering::Relaxed);
                        latencies.push(sent.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    let accepted = accepted.load(Ordering::Relaxed);
    println!(
        "batch={} concurrency={} seconds={:.1} requests={} errors={} accepted={} readings_per_s={:.0} p50_ms={:.2} p99_ms={:.2}",
        args.batch,
        args.concurrency,
        elapsed,
        latencies.len(),
        errors,
        accepted,
        accepted as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
