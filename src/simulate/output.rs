//! What the simulator shows and writes: the progress bar, the truth file writer and the printed
//! summary. No decisions here; `run` calls these with what the ledger decided.

use super::run::{SimulateError, Simulated};
use super::truth::{RunSummary, TruthLine};
use crate::verify::stats::percentiles;
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

pub fn progress_bar(enabled: bool, planned: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(planned);
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} readings, {per_sec} · {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

pub fn progress_message(c: &RunSummary) -> String {
    format!(
        "accepted {} · duplicates {} · rejected {} · errors {} (retries {})",
        c.accepted, c.duplicates, c.rejected, c.failed_requests, c.retries
    )
}

/// Writes truth lines when a truth file was asked for; otherwise does nothing.
pub struct TruthWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl TruthWriter {
    pub fn create(path: Option<PathBuf>) -> Result<Self, SimulateError> {
        let Some(path) = path else {
            return Ok(Self {
                path: PathBuf::new(),
                out: None,
            });
        };
        let file = File::create(&path).map_err(|source| SimulateError::Truth {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            path,
            out: Some(BufWriter::new(file)),
        })
    }

    fn fail(&self, source: std::io::Error) -> SimulateError {
        SimulateError::Truth {
            path: self.path.clone(),
            source,
        }
    }

    pub fn write(&mut self, line: &TruthLine) -> Result<(), SimulateError> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let written = serde_json::to_writer(&mut *out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        written.map_err(|e| self.fail(e))
    }

    pub fn finish(mut self) -> Result<(), SimulateError> {
        match self.out.take() {
            Some(mut out) => out.flush().map_err(|e| self.fail(e)),
            None => Ok(()),
        }
    }
}

impl std::fmt::Display for Simulated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.summary;
        let secs = s.sent_in_ms as f64 / 1000.0;
        writeln!(
            f,
            "simulated {} readings from {} devices in {secs:.1} s against {} (ended after {:.1} s)",
            s.readings_sent,
            s.devices,
            s.target,
            s.elapsed_ms as f64 / 1000.0
        )?;
        writeln!(
            f,
            "  achieved_rate readings_per_s={:.0} (asked {})",
            s.readings_sent as f64 / secs.max(0.001),
            s.rate
        )?;
        writeln!(
            f,
            "  sent: {} resends, {} invalid copies, in {} requests ({} retries, {} failed)",
            s.resent, s.invalid_sent, s.requests, s.retries, s.failed_requests
        )?;
        writeln!(
            f,
            "  target answered: accepted {}, duplicates {}, rejected {}",
            s.accepted, s.duplicates, s.rejected
        )?;
        writeln!(
            f,
            "  acknowledged {} distinct readings; {} never acknowledged",
            s.acknowledged, s.unacknowledged
        )?;
        writeln!(
            f,
            "  contract: {} invalid copies accepted, {} valid readings rejected",
            s.invalid_accepted, s.valid_rejected
        )?;
        match percentiles(&self.freshness_ms) {
            Some(p) => write!(f, "  freshness_ms (202 → visible in /latest) {p}"),
            None => write!(f, "  freshness_ms (202 → visible in /latest) no samples"),
        }
    }
}
