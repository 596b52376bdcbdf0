//! Detector settings: `[detector]` defaults and per-metric overrides, validated at start-up, and
//! resolved to one `MetricConfig` per metric name. Plain data; no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[detector]`: defaults for every metric, and `[detector.metrics.<name>]` overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorConfig {
    /// Score (0–1] at or above which a value is flagged. 0.4 means "one in 10,000".
    pub threshold: f64,
    /// Length of the seasonal pattern learnt, in seconds (86400: daily); 0 learns none.
    pub season_secs: u64,
    /// The spread (typical deviation) never counts as less than this, in the metric's unit.
    pub min_spread: f64,
    /// Readings a metric sees before it may be flagged (besides a whole first season).
    pub probation: u64,
    /// Overrides by metric name.
    pub metrics: BTreeMap<String, MetricOverride>,
}

/// What one metric changes from the defaults; absent fields inherit them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricOverride {
    pub threshold: Option<f64>,
    pub season_secs: Option<u64>,
    pub min_spread: Option<f64>,
    pub probation: Option<u64>,
    /// Not scored at all: no state, score 0, never flagged.
    pub off: bool,
}

/// The settings for one metric, after overrides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricConfig {
    pub threshold: f64,
    pub season_ms: i64,
    pub min_spread: f64,
    pub probation: u64,
    pub off: bool,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            season_secs: 86_400,
            min_spread: 0.0,
            probation: 50,
            metrics: BTreeMap::new(),
        }
    }
}

/// The default threshold: a one-in-ten-thousand surprise (tuned on the evaluation corpus).
pub const DEFAULT_THRESHOLD: f64 = 0.4;
/// Longest season: four weeks (the bins must stay meaningful).
const MAX_SEASON_SECS: u64 = 28 * 86_400;

impl DetectorConfig {
    /// The settings that apply to `metric`.
    pub fn for_metric(&self, metric: &str) -> MetricConfig {
        let o = self.metrics.get(metric);
        let pick = |f: fn(&MetricOverride) -> Option<f64>, d: f64| o.and_then(f).unwrap_or(d);
        let season = o.and_then(|o| o.season_secs).unwrap_or(self.season_secs);
        MetricConfig {
            threshold: pick(|o| o.threshold, self.threshold),
            season_ms: i64::try_from(season.saturating_mul(1000)).unwrap_or(i64::MAX),
            min_spread: pick(|o| o.min_spread, self.min_spread),
            probation: o.and_then(|o| o.probation).unwrap_or(self.probation),
            off: o.is_some_and(|o| o.off),
        }
    }

    /// Refuses settings the detector cannot honour, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        check(
            "detector",
            self.threshold,
            self.season_secs,
            self.min_spread,
        )?;
        for (name, o) in &self.metrics {
            crate::MetricName::parse(name)
                .map_err(|e| format!("detector.metrics.{name}: not a metric name: {e}"))?;
            let merged = self.for_metric(name);
            check(
                &format!("detector.metrics.{name}"),
                merged.threshold,
                o.season_secs.unwrap_or(self.season_secs),
                merged.min_spread,
            )?;
        }
        Ok(())
    }
}

fn check(at: &str, threshold: f64, season_secs: u64, min_spread: f64) -> Result<(), String> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(format!("{at}.threshold must be in (0, 1], got {threshold}"));
    }
    if season_secs > MAX_SEASON_SECS {
        return Err(format!(
            "{at}.season_secs must be at most {MAX_SEASON_SECS} (four weeks), got {season_secs}"
        ));
    }
    if !(min_spread.is_finite() && min_spread >= 0.0) {
        return Err(format!(
            "{at}.min_spread must be a finite number >= 0, got {min_spread}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_the_fields_they_name() {
        let mut cfg = DetectorConfig::default();
        cfg.metrics.insert(
            "rpm".into(),
            MetricOverride {
                season_secs: Some(0),
                min_spread: Some(5.0),
                ..Default::default()
            },
        );
        let rpm = cfg.for_metric("rpm");
        assert_eq!((rpm.season_ms, rpm.min_spread), (0, 5.0));
        assert_eq!(rpm.threshold, DEFAULT_THRESHOLD);
        assert_eq!(cfg.for_metric("other").season_ms, 86_400_000);
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn validation_names_the_bad_field() {
        let mut cfg = DetectorConfig {
            threshold: 1.5,
            ..Default::default()
        };
        assert!(cfg.validate().unwrap_err().contains("detector.threshold"));
        cfg.threshold = 0.5;
        cfg.metrics.insert(
            "temp".into(),
            MetricOverride {
                min_spread: Some(-1.0),
                ..Default::default()
            },
        );
        let err = cfg.validate().unwrap_err();
        assert!(err.contains("detector.metrics.temp.min_spread"), "{err}");
        cfg.metrics.clear();
        cfg.metrics
            .insert("bad name!".into(), MetricOverride::default());
        assert!(cfg.validate().unwrap_err().contains("not a metric name"));
    }
}
