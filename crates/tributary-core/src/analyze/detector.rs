//! The first anomaly detector: per device and metric, an exponentially weighted mean and variance.
//! A value scores |x − mean| / σ against the statistics *before* it; after a warm-up, a score at or
//! above the threshold is an anomaly. Flagged values update the statistics clamped to the threshold,
//! so one spike does not blind the detector to the next. Deterministic: same inputs, same scores.

use crate::{MetricName, ScoredValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Detector tuning. Defaults suit readings every few seconds with a daily pattern.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorConfig {
    /// Weight of each new value in the running mean and variance (memory ≈ 1/alpha readings).
    pub alpha: f64,
    /// Values seen before any can be flagged.
    pub warmup: u64,
    /// Score at or above which a value is an anomaly.
    pub threshold: f64,
    /// σ never counts as less than this fraction of |mean| (plus a tiny absolute floor), so a
    /// constant metric does not flag every rounding change.
    pub relative_sigma_floor: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            warmup: 20,
            threshold: 5.0,
            relative_sigma_floor: 0.001,
        }
    }
}

/// Running statistics of one metric of one device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    pub n: u64,
    pub mean: f64,
    pub var: f64,
}

/// Detector state of one device: statistics per metric.
pub type DeviceState = BTreeMap<MetricName, MetricStats>;

impl MetricStats {
    /// Scores `x`, then folds it into the statistics.
    pub fn observe(&mut self, x: f64, cfg: &DetectorConfig) -> ScoredValue {
        if self.n == 0 {
            *self = Self {
                n: 1,
                mean: x,
                var: 0.0,
            };
            return ScoredValue {
                value: x,
                score: 0.0,
                anomaly: false,
            };
        }
        let sigma = self
            .var
            .sqrt()
            .max(self.mean.abs() * cfg.relative_sigma_floor)
            .max(1e-9);
        let score = (x - self.mean).abs() / sigma;
        let warm = self.n >= cfg.warmup;
        let anomaly = warm && score >= cfg.threshold;
        let folded = if anomaly {
            self.mean + (x - self.mean).signum() * cfg.threshold * sigma
        } else {
            x
        };
        let diff = folded - self.mean;
        let incr = cfg.alpha * diff;
        self.mean += incr;
        self.var = (1.0 - cfg.alpha) * (self.var + diff * incr);
        self.n += 1;
        ScoredValue {
            value: x,
            score: if warm { score } else { 0.0 },
            anomaly,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic noise source, so the test needs no RNG crate.
    fn noise(i: u64) -> f64 {
        let x = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    }

    #[test]
    fn noisy_steady_signal_is_never_flagged_and_a_spike_is() {
        let cfg = DetectorConfig::default();
        let mut stats = MetricStats::default();
        for i in 0..500 {
            let s = stats.observe(70.0 + noise(i), &cfg);
            assert!(!s.anomaly, "false positive at {i}: {s:?}");
        }
        let spike = stats.observe(90.0, &cfg);
        assert!(spike.anomaly && spike.score > 10.0, "{spike:?}");
        // The spike does not blind the detector: a second one is flagged too.
        assert!(stats.observe(90.0, &cfg).anomaly);
        // And normal values stay normal afterwards.
        assert!(!stats.observe(70.0, &cfg).anomaly);
    }

    #[test]
    fn nothing_is_flagged_during_warm_up() {
        let cfg = DetectorConfig::default();
        let mut stats = MetricStats::default();
        for i in 0..cfg.warmup {
            let x = if i % 2 == 0 { 0.0 } else { 1000.0 };
            assert!(!stats.observe(x, &cfg).anomaly);
        }
    }

    #[test]
    fn a_constant_metric_tolerates_tiny_changes() {
        let cfg = DetectorConfig::default();
        let mut stats = MetricStats::default();
        for _ in 0..100 {
            stats.observe(100.0, &cfg);
        }
        assert!(!stats.observe(100.04, &cfg).anomaly);
        assert!(stats.observe(101.0, &cfg).anomaly);
    }
}
