//! What the detector remembers per (device, metric), how it is stored (format 3: per-bin arrays
//! packed, see `pack`), and how stored state of format 2 (plain arrays) and of the first detector
//! (version 1: `{n, mean, var}`) loads. About 1 KiB in memory.

use crate::MetricName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Phase-of-season bins (48 per day: half-hour bins for the default daily season).
pub const BINS: usize = 48;
/// The state format this detector writes.
pub const VERSION: u8 = 3;

/// Detector state of one metric of one device. Every field is plain data so that a replay from the
/// stored copy scores bit for bit as the original run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricState {
    /// Format version, always `VERSION` once loaded.
    pub v: u8,
    /// In-order readings folded in.
    pub n: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    /// Typical time between readings (ms), smoothed.
    pub interval: f64,
    /// Deseasonalised level.
    pub level: f64,
    /// Typical absolute deviation from the expected value, over all phases.
    pub scale: f64,
    /// Season the bins were learnt for (ms); 0 = none.
    pub season_ms: i64,
    /// Seasonal offset per bin (added to `level`), interpolated between bin centres.
    #[serde(with = "super::pack")]
    pub offsets: Vec<f32>,
    /// Typical absolute deviation per bin.
    #[serde(with = "super::pack")]
    pub spreads: Vec<f32>,
    /// Values learnt per bin (saturating; 0 = never visited).
    #[serde(with = "super::pack")]
    pub visits: Vec<u8>,
    /// Share of the bin's readings that were the idle value, smoothed.
    #[serde(with = "super::pack")]
    pub idle: Vec<f32>,
    /// The value the metric idles at (a long unflagged run of one value), once known.
    pub plateau: Option<f64>,
    /// The current idle run began where idling is usual (so it is not judged while it lasts).
    #[serde(default)]
    pub idle_usual: bool,
    /// Lag-1 autocorrelation of standardised deviations: smoothed products and squares, and the
    /// previous deviation.
    pub uu: f64,
    pub u2: f64,
    pub prev_dev: f64,
    /// Running 99.5th percentile of the raw score z = |deviation| / spread.
    pub q: f64,
    /// Mean excess of z over `q` when exceeded (the tail's scale).
    pub excess: f64,
    /// Mean of ln(z / q) when z exceeds `q` (a power-law tail's scale, 1/α).
    #[serde(default = "log_excess_0")]
    pub log_excess: f64,
    /// Two-sided CUSUM of standardised deviations, and the length and sum of the current run.
    pub up: f64,
    pub down: f64,
    pub run: u32,
    pub run_sum: f64,
    /// Sum of the raw deviations over the current run: the size of a shift, once divided.
    pub run_dev: f64,
    /// Consecutive large deviations on one side (a level shift in the making).
    pub streak: i32,
    pub prev: f64,
    pub repeats: u32,
    /// Share of readings that differ from the one before, smoothed.
    pub change_rate: f64,
    /// The current repeat run has already been flagged as stuck.
    pub stuck_flagged: bool,
    /// Range of unflagged values seen.
    pub lo: f64,
    pub hi: f64,
    /// Smallest non-zero step seen between consecutive values (0 = none yet).
    pub quantum: f64,
    /// Readings left in the rest period after an alarm.
    pub rest: u32,
    /// Probation has ended (and the tail, learnt while the baseline was still rough, restarted).
    pub settled: bool,
    /// `n` when probation ended.
    #[serde(default)]
    pub settled_n: u64,
    /// Weekday levels (daily season only): the day (days since the epoch) of the last reading,
    /// the level when it began, whether its start is still to be measured, the jump at the start
    /// of each weekday (`day % 7`), and which of them have been seen.
    #[serde(default)]
    pub day: i64,
    #[serde(default)]
    pub day_start: f64,
    #[serde(default)]
    pub week_pending: bool,
    #[serde(default)]
    pub week: [f32; 7],
    #[serde(default)]
    pub week_seen: u8,
}

impl MetricState {
    /// The state before any reading.
    pub fn new() -> Self {
        Self {
            v: VERSION,
            n: 0,
            first_ts: 0,
            last_ts: 0,
            interval: 0.0,
            level: 0.0,
            scale: 0.0,
            season_ms: 0,
            offsets: Vec::new(),
            spreads: Vec::new(),
            visits: Vec::new(),
            idle: Vec::new(),
            plateau: None,
            idle_usual: false,
            uu: 0.0,
            u2: 1.0,
            prev_dev: 0.0,
            q: 3.0,
            excess: 1.0,
            log_excess: super::observe::LOG_EXCESS_0,
            up: 0.0,
            down: 0.0,
            run: 0,
            run_sum: 0.0,
            run_dev: 0.0,
            streak: 0,
            prev: 0.0,
            repeats: 0,
            change_rate: 0.5,
            stuck_flagged: false,
            lo: 0.0,
            hi: 0.0,
            quantum: 0.0,
            rest: 0,
            settled: false,
            settled_n: 0,
            day: 0,
            day_start: 0.0,
            week_pending: false,
            week: [0.0; 7],
            week_seen: 0,
        }
    }

    /// A restart from the first detector's statistics: level and spread carry over, the probation
    /// starts again (so no alarm storm follows an upgrade), the seasonal bins are learnt afresh.
    fn from_v1(v1: V1Stats) -> Self {
        let mut s = Self::new();
        if v1.n > 0 && v1.mean.is_finite() && v1.var.is_finite() {
            s.level = v1.mean;
            // Mean absolute deviation of a normal distribution is 0.8 σ.
            s.scale = 0.8 * v1.var.max(0.0).sqrt();
            s.lo = v1.mean;
            s.hi = v1.mean;
            s.prev = v1.mean;
        }
        s
    }
}

fn log_excess_0() -> f64 {
    super::observe::LOG_EXCESS_0
}

impl Default for MetricState {
    fn default() -> Self {
        Self::new()
    }
}

/// The first detector's state.
#[derive(Debug, Clone, Copy, Deserialize)]
struct V1Stats {
    n: u64,
    mean: f64,
    var: f64,
}

/// Either format, as found in a checkpoint store.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Current(Box<MetricState>),
    V1(V1Stats),
}

/// Detector state of one device: per metric. Loads either format; always saves the current one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "BTreeMap<MetricName, Stored>")]
pub struct DeviceState {
    pub metrics: BTreeMap<MetricName, MetricState>,
}

impl From<BTreeMap<MetricName, Stored>> for DeviceState {
    fn from(stored: BTreeMap<MetricName, Stored>) -> Self {
        let metrics = stored
            .into_iter()
            .map(|(name, s)| {
                let state = match s {
                    // Version 2 has every field but the new ones, which start afresh.
                    Stored::Current(s) => MetricState { v: VERSION, ..*s },
                    Stored::V1(v1) => MetricState::from_v1(v1),
                };
                (name, state)
            })
            .collect();
        Self { metrics }
    }
}

impl Serialize for DeviceState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.metrics.serialize(serializer)
    }
}

impl DeviceState {
    pub fn new() -> Self {
        Self::default()
    }
}
