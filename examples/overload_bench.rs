//! Overload load generator: CLIENTS devices each POST gzip bodies of READINGS unique readings, back
//! to back for SECONDS, backing off as `Retry-After` says on 503/429 and resending the same body until
//! it is acknowledged; meanwhile IDLE connections make one request each and wait to be closed. Then it
//! checks through the query API that every acknowledged reading is counted exactly once.
//!
//!     cargo run --release --example overload_bench -- --target http://127.0.0.1:7071 \
//!         --clients 400 --readings 10000 --seconds 60 --idle 20

use clap::Parser;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:7071")]
    target: String,
    #[arg(long, default_value_t = 400)]
    clients: usize,
    #[arg(long, default_value_t = 10_000)]
    readings: u64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    #[arg(long, default_value_t = 20)]
    idle: usize,
    /// Longest to wait, after the load, for a client's last body and for the pipeline to count all.
    #[arg(long, default_value_t = 600)]
    settle_seconds: u64,
    /// The server's idle timeout: idle connections must close within a second or two of it.
    #[arg(long, default_value_t = 5.0)]
    idle_timeout_s: f64,
}

#[derive(Default)]
struct Tally {
    accepted_requests: u64,
    refused: u64,
    refused_without_retry_after: u64,
    other_status: u64,
    errors: u64,
    accepted_ms: Vec<f64>,
    refused_ms: Vec<f64>,
}

/// One gzip body of `n` readings of `device`, seq from `first`, spread over the last 10 minutes.
fn body(device: &str, first: u64, n: u64) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut json = String::with_capacity(n as usize * 80);
    json.push('[');
    for i in 0..n {
        if i > 0 {
            json.push(',');
        }
        let seq = first + i;
        json.push_str(&format!(
            r#"{{"deviceId":"{device}","seq":{seq},"ts":{},"metrics":{{"t":{:.2}}}}}"#,
            now - 1_000 - (seq % 600) as i64 * 1_000,
            20.0 + (seq % 89) as f64 * 0.1
        ));
    }
    json.push(']');
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(json.as_bytes());
    gz.finish().unwrap_or_default()
}

/// Sends one body until it is acknowledged or `give_up` passes; true when acknowledged.
async fn deliver(
    client: &reqwest::Client,
    url: &str,
    gz: Vec<u8>,
    give_up: Instant,
    tally: &Mutex<Tally>,
) -> bool {
    while Instant::now() < give_up {
        let started = Instant::now();
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gz.clone())
            .send()
            .await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        // The tally is updated under the lock; the back-off happens after it is released.
        let pause = {
            let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
            match sent {
                Ok(r) if r.status().as_u16() == 202 => {
                    t.accepted_requests += 1;
                    t.accepted_ms.push(ms);
                    return true;
                }
                Ok(r) if matches!(r.status().as_u16(), 503 | 429) => {
                    t.refused += 1;
                    t.refused_ms.push(ms);
                    let wait = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                    if wait.is_none() {
                        t.refused_without_retry_after += 1;
                    }
                    wait.unwrap_or(1)
                }
                Ok(_) => {
                    t.other_status += 1;
                    1
                }
                Err(_) => {
                    t.errors += 1;
                    1
                }
            }
        };
        tokio::time::sleep(Duration::from_secs(pause)).await;
    }
    false
}

/// Makes one request on a fresh connection, then waits for the server to close it: seconds idle.
async fn idle_connection(addr: String, limit: Duration) -> Option<f64> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        .await
        .ok()?;
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.ok()?;
    let idle_since = Instant::now();
    if n == 0 {
        return None;
    }
    loop {
        match tokio::time::timeout_at((idle_since + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(idle_since.elapsed().as_secs_f64()),
            Ok(Ok(_)) => {}
        }
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn counted(client: &reqwest::Client, target: &str, device: &str) -> u64 {
    let now = chrono::Utc::now().timestamp_millis();
    let url = format!(
        "{target}/api/devices/{device}/series?metric=t&from={}&to={}",
        now - 3_600_000,
        now + 60_000
    );
    let Ok(r) = client.get(url).send().await else {
        return 0;
    };
    let Ok(body) = r.json::<serde_json::Value>().await else {
        return 0;
    };
    body["points"]
        .as_array()
        .map_or(0, |p| p.iter().filter_map(|p| p["count"].as_u64()).sum())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = args.target.trim_end_matches('/').to_owned();
    let url = format!("{target}/api/telemetry");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()?;
    let run = chrono::Utc::now().timestamp() as u64 % 100_000 * 1_000_000_000;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let addr = target.trim_start_matches("http://").to_owned();
    let idle: Vec<_> = (0..args.idle)
        .map(|_| {
            tokio::spawn(idle_connection(
                addr.clone(),
                Duration::from_secs(args.seconds + 120),
            ))
        })
        .collect();
    let started = Instant::now();
    let stop = started + Duration::from_secs(args.seconds);
    let give_up = stop + Duration::from_secs(args.settle_seconds.min(120));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..args.clients {
        let (client, url, tally) = (client.clone(), url.clone(), tally.clone());
        let n = args.readings;
        clients.spawn(async move {
            let device = format!("ovl-{run}-{c:04}");
            let (mut acked, mut unacked, mut seq) = (0u64, 0u64, run);
            while Instant::now() < stop {
                let gz = body(&device, seq, n);
                seq += n;
                match deliver(&client, &url, gz, give_up, &tally).await {
                    true => acked += n,
                    false => unacked += n,
                }
            }
            (device, acked, unacked)
        });
    }
    let mut devices = Vec::new();
    while let Some(done) = clients.join_next().await {
        devices.push(done?);
    }
    let load_s = started.elapsed().as_secs_f64();
    let t = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    let (acked, unacked): (u64, u64) = devices.iter().fold((0, 0), |(a, u), d| (a + d.1, u + d.2));
    let (mut ok_ms, mut refused_ms) = (t.accepted_ms, t.refused_ms);
    println!(
        "load: clients={} readings_per_body={} seconds={load_s:.1} accepted_requests={} refused_503_429={} refused_without_retry_after={} other_status={} errors={} acked_readings={acked} unacked_readings={unacked} accepted_p50_ms={:.0} accepted_p99_ms={:.0} refused_p50_ms={:.0} refused_p99_ms={:.0}",
        args.clients, args.readings, t.accepted_requests, t.refused, t.refused_without_retry_after, t.other_status, t.errors,
        percentile(&mut ok_ms, 0.5), percentile(&mut ok_ms, 0.99), percentile(&mut refused_ms, 0.5), percentile(&mut refused_ms, 0.99)
    );

    let mut closed = Vec::new();
    for handle in idle {
        if let Ok(Some(s)) = handle.await {
            closed.push(s);
        }
    }
    let (first_closed, last_closed) = (percentile(&mut closed, 0.0), percentile(&mut closed, 1.0));
    let on_time = closed.len() == args.idle
        && (args.idle == 0
            || (first_closed >= args.idle_timeout_s - 0.5
                && last_closed <= args.idle_timeout_s + 2.0));
    println!(
        "idle: connections={} closed={} closed_after_s_min={first_closed:.1} closed_after_s_max={last_closed:.1} on_time={on_time}",
        args.idle, closed.len()
    );
    let answered = t.refused > 0 && t.refused_without_retry_after == 0;

    let settle = Instant::now() + Duration::from_secs(args.settle_seconds);
    let mut pending: Vec<_> = devices;
    let (mut exact, mut over) = (0usize, 0usize);
    let mut counted_total = 0u64;
    while !pending.is_empty() && Instant::now() < settle {
        let mut still = Vec::new();
        for (device, a, u) in pending {
            let c = counted(&client, &target, &device).await;
            if c > a + u {
                over += 1;
                counted_total += c;
            } else if c >= a {
                exact += 1;
                counted_total += c;
            } else {
                still.push((device, a, u));
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let short = pending.len();
    println!(
        "verify: devices={} all_acked_counted={} counted_more_than_sent={over} short={short} counted_readings={counted_total} drain_s={:.1} result={}",
        args.clients, exact, started.elapsed().as_secs_f64() - load_s,
        if short == 0 && over == 0 { "PASS" } else { "FAIL" }
    );
    if short > 0 || over > 0 {
        anyhow::bail!(
            "{short} devices short of what was acknowledged, {over} counted more than sent"
        );
    }
    if !answered {
        anyhow::bail!("overload was not answered with 503/429 and Retry-After");
    }
    if !on_time {
        anyhow::bail!("idle connections were not all closed on time");
    }
    Ok(())
}
