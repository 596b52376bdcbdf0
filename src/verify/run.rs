//! The verifier's edge: load the truth, poll the target until its windows settle, fetch the anomaly
//! list once, and assemble the report. Judging is done by the pure modules beside this one.

use super::compare::{compare, WindowReport, Windows};
use super::detection::{episodes, score, DetectionReport};
use super::expected::{Expected, TruthError};
use super::fetch::{self, FetchError};
use super::stats::{percentiles, Percentiles};
use crate::simulate::truth::RunSummary;
use std::collections::HashSet;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Base URL of the deployment, e.g. `http://127.0.0.1:7071`.
    pub target: String,
    pub truth: PathBuf,
    /// Longest to wait for the target's windows to match.
    pub timeout: Duration,
    /// Stop waiting early when nothing the target shows has changed for this long.
    pub quiet: Duration,
    /// Pause between polls.
    pub poll: Duration,
    /// Series requests in flight at once.
    pub concurrency: usize,
}

impl VerifyConfig {
    pub fn new(target: impl Into<String>, truth: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self {
            target: target.into(),
            truth: truth.into(),
            timeout,
            quiet: Duration::from_secs(10).min(timeout / 4),
            poll: Duration::from_millis(500),
            concurrency: 8,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot open the truth file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Truth(#[from] TruthError),
    #[error("the target did not answer within the timeout; last error: {0}")]
    Target(#[from] FetchError),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Everything verify found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub windows: WindowReport,
    pub detection: DetectionReport,
    pub freshness: Option<Percentiles>,
    pub summary: Option<RunSummary>,
    /// How long it waited, and whether the windows matched by then.
    pub waited: Duration,
}

impl VerifyReport {
    /// No window lost, double-counted or wrong.
    pub fn passed(&self) -> bool {
        self.windows.passed()
    }
}

pub async fn run(cfg: VerifyConfig) -> Result<VerifyReport, VerifyError> {
    let file = std::fs::File::open(&cfg.truth).map_err(|source| VerifyError::Open {
        path: cfg.truth.clone(),
        source,
    })?;
    let expected = Expected::load(BufReader::new(file))?;
    let target = cfg.target.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let started = Instant::now();
    let windows = settle(&cfg, &client, target, &expected, started).await?;
    let devices: HashSet<String> = expected.ranges.keys().map(|(d, _)| d.clone()).collect();
    let since = expected.first_ts.unwrap_or(0);
    let (flags, truncated) = fetch::flags(&client, target, since, &devices).await?;
    let detection = DetectionReport {
        truncated,
        ..score(&episodes(expected.labelled), &flags, &expected.late)
    };
    Ok(VerifyReport {
        windows,
        detection,
        freshness: percentiles(&expected.freshness_ms),
        summary: expected.summary,
        waited: started.elapsed(),
    })
}

/// Polls until the windows match, stop changing for `quiet`, or the timeout passes.
async fn settle(
    cfg: &VerifyConfig,
    client: &reqwest::Client,
    target: &str,
    expected: &Expected,
    started: Instant,
) -> Result<WindowReport, VerifyError> {
    let mut last: Option<Windows> = None;
    let mut unchanged_since = Instant::now();
    loop {
        let timed_out = started.elapsed() >= cfg.timeout;
        match fetch::observed(client, target, &expected.ranges, cfg.concurrency).await {
            Ok(observed) => {
                let report = compare(&expected.windows, &expected.unacknowledged, &observed);
                let quiet =
                    last.as_ref() == Some(&observed) && unchanged_since.elapsed() >= cfg.quiet;
                if report.passed() || quiet || timed_out {
                    return Ok(report);
                }
                if last.as_ref() != Some(&observed) {
                    last = Some(observed);
                    unchanged_since = Instant::now();
                }
            }
            Err(e) if timed_out => return Err(e.into()),
            Err(e) => tracing::warn!(error = %e, "target not answering yet; retrying"),
        }
        tokio::time::sleep(cfg.poll).await;
    }
}
