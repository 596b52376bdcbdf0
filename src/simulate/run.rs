//! The simulator's edge: pace the fleet's schedule in real time, send batches with bounded
//! concurrency, record each outcome in the ledger, write the truth file, sample freshness and draw a
//! progress bar. All decisions about *what* to send live in the pure modules beside this one.

use super::client::{post_batch, RetryPolicy};
use super::freshness;
use super::ledger::{Ledger, Outcome};
use super::output::{progress_bar, progress_message, TruthWriter};
use super::rng::Rng;
use super::schedule::{wire, Fleet, FleetConfig, Item, Planned};
use super::truth::{FreshnessSample, RunSummary, TruthLine};
use axum::body::Bytes;
use std::iter::Peekable;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tributary_core::Timestamp;

/// Everything one simulation needs.
#[derive(Debug, Clone)]
pub struct SimulateConfig {
    /// Base URL of the deployment, e.g. `http://127.0.0.1:7071`.
    pub target: String,
    pub fleet: FleetConfig,
    /// Most readings per request.
    pub batch: usize,
    /// Most requests in flight.
    pub concurrency: usize,
    /// Longest a due reading waits for its batch to fill.
    pub linger: Duration,
    pub retry: RetryPolicy,
    /// Per attempt; a timeout is retried.
    pub request_timeout: Duration,
    pub truth: Option<PathBuf>,
    pub progress: bool,
    /// Most freshness samples in flight (0: none), and how often each polls.
    pub freshness_samplers: usize,
    pub freshness_poll: Duration,
}

impl SimulateConfig {
    pub fn new(target: impl Into<String>, fleet: FleetConfig) -> Self {
        Self {
            target: target.into(),
            fleet,
            batch: 100,
            concurrency: 4,
            linger: Duration::from_millis(250),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(10),
            truth: None,
            progress: false,
            freshness_samplers: 2,
            freshness_poll: Duration::from_millis(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("invalid simulation: {0}")]
    Config(String),
    #[error("cannot write the truth file {path}: {source}")]
    Truth {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// What a run did: its counts and the freshness samples (ms).
#[derive(Debug, Clone)]
pub struct Simulated {
    pub summary: RunSummary,
    pub freshness_ms: Vec<i64>,
}

/// A finished request: its items, outcome and attempts.
type Done = (Vec<Item>, Outcome, u32);

/// Runs the simulation until the schedule is done (or `shutdown`), then writes the truth's
/// unacknowledged and summary lines.
pub async fn run(
    cfg: SimulateConfig,
    shutdown: CancellationToken,
) -> Result<Simulated, SimulateError> {
    check(&cfg)?;
    let target = cfg.target.trim_end_matches('/').to_owned();
    let url = format!("{target}/api/telemetry");
    let client = reqwest::Client::builder()
        .timeout(cfg.request_timeout)
        .pool_max_idle_per_host(cfg.concurrency + cfg.freshness_samplers)
        .build()?;
    let mut truth = TruthWriter::create(cfg.truth.clone())?;
    let bar = progress_bar(cfg.progress, cfg.fleet.planned());
    let started_at_ms = Timestamp::now().millis();
    let started = Instant::now();
    let mut fleet = Fleet::new(cfg.fleet.clone(), started_at_ms).peekable();
    let mut ledger = Ledger::default();
    let mut rng = Rng::new(cfg.fleet.seed ^ 0x5EED);
    let mut in_flight: JoinSet<Done> = JoinSet::new();
    let mut samplers: JoinSet<Option<FreshnessSample>> = JoinSet::new();
    let mut freshness_ms = Vec::new();
    let mut sent_in = Duration::ZERO;
    let mut next = take_batch(&mut fleet, cfg.batch, cfg.linger);
    loop {
        if next.is_none() && in_flight.is_empty() && samplers.is_empty() {
            break;
        }
        let can_send = next.is_some() && in_flight.len() < cfg.concurrency;
        let send_at = started
            + Duration::from_millis(next.as_ref().map_or(0, |b| b.last_due_ms).max(0) as u64);
        tokio::select! {
            biased;
            _ = shutdown.cancelled(), if next.is_some() => {
                tracing::info!("stopping: no new batches; waiting for those in flight");
                next = None;
                samplers.abort_all();
            }
            Some(done) = in_flight.join_next() => {
                let Ok((items, outcome, attempts)) = done else { continue };
                let recorded = ledger.record(&items, &outcome, attempts);
                for line in recorded.lines {
                    truth.write(&TruthLine::Reading(line))?;
                }
                if let Some(acked) = recorded.newest {
                    if samplers.len() < cfg.freshness_samplers && !shutdown.is_cancelled() {
                        let poll = cfg.freshness_poll;
                        let give_up = Duration::from_secs(10);
                        samplers.spawn(freshness::sample(client.clone(), target.clone(), acked, poll, give_up));
                    }
                }
                let first_sends = items.iter().filter(|i| matches!(i, Item::Reading(_))).count();
                if first_sends > 0 {
                    sent_in = started.elapsed();
                }
                bar.inc(first_sends as u64);
                bar.set_message(progress_message(ledger.counts()));
            }
            Some(sample) = samplers.join_next() => {
                if let Ok(Some(sample)) = sample {
                    freshness_ms.push(sample.freshness_ms);
                    truth.write(&TruthLine::Freshness(sample))?;
                }
            }
            _ = tokio::time::sleep_until(send_at), if can_send => {
                if let Some(batch) = next.take() {
                    let (client, url, policy) = (client.clone(), url.clone(), cfg.retry);
                    let mut jitter = rng.fork();
                    in_flight.spawn(async move {
                        let (outcome, attempts) =
                            post_batch(&client, &url, batch.body, &policy, &mut jitter).await;
                        (batch.items, outcome, attempts)
                    });
                }
                next = take_batch(&mut fleet, cfg.batch, cfg.linger);
            }
        }
    }
    bar.finish_and_clear();
    let (unacked, counts) = ledger.finish();
    for line in unacked {
        truth.write(&TruthLine::Unacknowledged(line))?;
    }
    let summary = RunSummary {
        target,
        seed: cfg.fleet.seed,
        tag: cfg.fleet.tag.clone(),
        devices: cfg.fleet.devices,
        rate: cfg.fleet.rate,
        started_at_ms,
        sent_in_ms: sent_in.as_millis() as i64,
        elapsed_ms: started.elapsed().as_millis() as i64,
        freshness_samples: freshness_ms.len() as u64,
        ..counts
    };
    truth.write(&TruthLine::Summary(summary.clone()))?;
    truth.finish()?;
    Ok(Simulated {
        summary,
        freshness_ms,
    })
}

fn check(cfg: &SimulateConfig) -> Result<(), SimulateError> {
    let f = &cfg.fleet;
    let bad = |what: String| Err(SimulateError::Config(what));
    if f.devices == 0 || !(f.rate > 0.0 && f.rate.is_finite()) || f.duration_ms <= 0 {
        return bad("devices, rate and duration must be positive".into());
    }
    for (name, p) in [
        ("duplicates", f.duplicates),
        ("anomalies", f.anomalies),
        ("invalid", f.invalid),
        ("late", f.late),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return bad(format!("--{name} is a fraction from 0 to 1; got {p}"));
        }
    }
    if !(1..=10_000).contains(&cfg.batch) || cfg.concurrency == 0 {
        return bad("batch must be 1–10000 and concurrency at least 1".into());
    }
    Ok(())
}

/// A batch ready to send: its items, their JSON array, and when its last item is due.
struct Batch {
    items: Vec<Item>,
    body: Bytes,
    last_due_ms: i64,
}

/// The next batch: up to `max` items, those due within `linger` of the first.
fn take_batch(fleet: &mut Peekable<Fleet>, max: usize, linger: Duration) -> Option<Batch> {
    let first = fleet.next()?;
    let close_by = first.due_ms + linger.as_millis() as i64;
    let mut last_due_ms = first.due_ms;
    let mut items = vec![first.item];
    while items.len() < max {
        match fleet.next_if(|p: &Planned| p.due_ms <= close_by) {
            Some(p) => {
                last_due_ms = p.due_ms;
                items.push(p.item);
            }
            None => break,
        }
    }
    let values: Vec<serde_json::Value> = items
        .iter()
        .map(|item| match item {
            Item::Reading(r) | Item::Resend(r) => wire(r),
            Item::Invalid { body, .. } => body.clone(),
        })
        .collect();
    let body = serde_json::to_vec(&values).unwrap_or_default().into();
    Some(Batch {
        items,
        body,
        last_due_ms,
    })
}
