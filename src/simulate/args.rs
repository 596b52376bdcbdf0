//! The `tributary simulate` command line: flags into a [`SimulateConfig`], then run and print the
//! summary. Exits non-zero when the target disagreed with the ingest contract.

use super::{run, FleetConfig, SimulateConfig};
use crate::startup::cancel_on_signal;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Base URL of the deployment to feed, e.g. http://127.0.0.1:7071.
    #[arg(long, default_value = "http://127.0.0.1:7071")]
    target: String,
    /// Number of devices.
    #[arg(long, default_value_t = 20)]
    devices: u32,
    /// Readings per second over the whole fleet.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// How long to send, e.g. 30s or 5m.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Most readings per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Most requests in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Fraction of readings sent a second time 0.2–3 s later (must come back as duplicates).
    #[arg(long, default_value_t = 0.01)]
    duplicates: f64,
    /// Chance per reading and metric that a labelled anomaly episode starts.
    #[arg(long, default_value_t = 0.001)]
    anomalies: f64,
    /// Fraction of readings preceded by an invalid copy (must be rejected).
    #[arg(long, default_value_t = 0.001)]
    invalid: f64,
    /// Fraction of readings whose ts lies 2–30 minutes back.
    #[arg(long, default_value_t = 0.01)]
    late: f64,
    /// Seed: the same seed gives the same readings relative to the start.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Part of every device id (default: from the start time, so runs never share devices).
    #[arg(long)]
    tag: Option<String>,
    /// Write what the target acknowledged here (NDJSON; see README "Simulate and verify").
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Freshness samples in flight at once (0 turns sampling off).
    #[arg(long, default_value_t = 2)]
    freshness_samplers: usize,
    /// Hide the progress bar.
    #[arg(long)]
    no_progress: bool,
}

pub async fn main(args: SimulateArgs) -> anyhow::Result<()> {
    let tag = args.tag.unwrap_or_else(default_tag);
    let fleet = FleetConfig {
        devices: args.devices,
        rate: args.rate,
        duration_ms: args.duration.as_millis() as i64,
        duplicates: args.duplicates,
        anomalies: args.anomalies,
        invalid: args.invalid,
        late: args.late,
        seed: args.seed,
        tag,
    };
    let cfg = SimulateConfig {
        batch: args.batch,
        concurrency: args.concurrency,
        truth: args.truth.clone(),
        progress: !args.no_progress,
        freshness_samplers: args.freshness_samplers,
        ..SimulateConfig::new(args.target, fleet)
    };
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let simulated = run(cfg, shutdown).await.context("simulating")?;
    println!("{simulated}");
    if let Some(path) = &args.truth {
        println!("  truth: {}", path.display());
    }
    let s = &simulated.summary;
    if s.invalid_accepted + s.valid_rejected > 0 {
        anyhow::bail!(
            "the target disagreed with the ingest contract: {} invalid readings accepted, {} valid rejected",
            s.invalid_accepted,
            s.valid_rejected
        );
    }
    Ok(())
}

/// Base-36 seconds since the epoch: short, and different for runs a second apart.
fn default_tag() -> String {
    let mut n = (tributary_core::Timestamp::now().millis() / 1000).max(0) as u64;
    let mut out = Vec::new();
    while n > 0 {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_else(|_| "run".into())
}
