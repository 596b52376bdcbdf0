//! How a verify report reads: totals, a few named windows of each kind of mismatch, detection
//! precision and recall, freshness percentiles, and PASS or FAIL.

use super::compare::Mismatch;
use super::run::VerifyReport;
use std::fmt;

/// Mismatches named per kind; the rest are counted.
const NAMED: usize = 5;

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |x| format!("{:.1} %", x * 100.0))
}

fn list(f: &mut fmt::Formatter<'_>, what: &str, items: &[Mismatch]) -> fmt::Result {
    for m in items.iter().take(NAMED) {
        writeln!(f, "  {what}: {m}")?;
    }
    if items.len() > NAMED {
        writeln!(f, "  … and {} more {what} windows", items.len() - NAMED)?;
    }
    Ok(())
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.windows;
        writeln!(
            f,
            "windows (device × metric × minute): {} expected, {} matched; readings×metrics: {} expected, {} observed (waited {:.1} s)",
            w.expected_windows,
            w.matched,
            w.expected_readings,
            w.observed_readings,
            self.waited.as_secs_f64()
        )?;
        writeln!(
            f,
            "lost windows {} ({} readings) · double-counted windows {} ({} readings) · wrong windows {} · unconfirmed {}",
            w.lost.len(),
            w.readings_lost(),
            w.double_counted.len(),
            w.readings_extra(),
            w.wrong.len(),
            w.unconfirmed.len()
        )?;
        list(f, "lost", &w.lost)?;
        list(f, "double-counted", &w.double_counted)?;
        list(f, "wrong", &w.wrong)?;
        list(f, "unconfirmed", &w.unconfirmed)?;
        let d = &self.detection;
        let kinds: Vec<String> = d
            .by_kind
            .iter()
            .map(|(k, (hit, all))| format!("{} {hit}/{all}", k.as_str()))
            .collect();
        writeln!(
            f,
            "anomaly detection: recall {} ({} of {} episodes: {}), precision {} ({} of {} flags in an episode; {} false flags on late readings){}",
            percent(d.recall()),
            d.detected,
            d.episodes,
            if kinds.is_empty() { "none".to_owned() } else { kinds.join(", ") },
            percent(d.precision()),
            d.true_flags,
            d.flags,
            d.late_false_flags,
            if d.truncated { "; the anomaly list was cut at its limit" } else { "" }
        )?;
        match &self.freshness {
            Some(p) => writeln!(f, "freshness_ms (202 → visible in /latest) {p}")?,
            None => writeln!(f, "freshness_ms (202 → visible in /latest) no samples")?,
        }
        if let Some(s) = &self.summary {
            if s.unacknowledged > 0 {
                writeln!(
                    f,
                    "note: {} readings were never acknowledged; windows holding them may legitimately show more",
                    s.unacknowledged
                )?;
            }
        }
        write!(f, "{}", if self.passed() { "PASS" } else { "FAIL" })
    }
}
