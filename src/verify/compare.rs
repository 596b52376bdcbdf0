//! The heart of verify: expected (device, metric, 1-minute window) aggregates from the truth against
//! what the target shows. Counts, min and max must be equal; sums equal within a relative 1e-9
//! (addition order differs). Pure.

use std::collections::BTreeMap;
use std::fmt;
use tributary_core::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowKey {
    pub device_id: String,
    pub metric: String,
    pub start_ms: i64,
}

/// Count, sum, min and max of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Agg {
    pub fn of(value: f64) -> Self {
        Self {
            count: 1,
            sum: value,
            min: value,
            max: value,
        }
    }

    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Same count, min and max; sums within 1e-9 · max(1, |sum|).
    pub fn agrees_with(&self, other: &Self) -> bool {
        let tolerance = 1e-9 * self.sum.abs().max(1.0);
        self.count == other.count
            && self.min == other.min
            && self.max == other.max
            && (self.sum - other.sum).abs() <= tolerance
    }
}

pub type Windows = BTreeMap<WindowKey, Agg>;

/// A window that does not match, with both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub key: WindowKey,
    pub expected: Option<Agg>,
    pub observed: Option<Agg>,
    /// Readings in this window the target never acknowledged (it may or may not hold them).
    pub unacknowledged: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowReport {
    pub expected_windows: usize,
    pub matched: usize,
    pub expected_readings: u64,
    pub observed_readings: u64,
    /// Fewer readings than acknowledged (a window missing entirely included).
    pub lost: Vec<Mismatch>,
    /// More readings than acknowledged, beyond what unacknowledged readings could explain.
    pub double_counted: Vec<Mismatch>,
    /// The right count but another sum, min or max.
    pub wrong: Vec<Mismatch>,
    /// More readings than acknowledged, all explained by unacknowledged ones: not a failure.
    pub unconfirmed: Vec<Mismatch>,
}

impl WindowReport {
    pub fn passed(&self) -> bool {
        self.lost.is_empty() && self.double_counted.is_empty() && self.wrong.is_empty()
    }

    /// Readings missing over all lost windows, and readings too many over double-counted ones.
    pub fn readings_lost(&self) -> u64 {
        self.lost
            .iter()
            .map(|m| count(m.expected) - count(m.observed))
            .sum()
    }

    pub fn readings_extra(&self) -> u64 {
        self.double_counted
            .iter()
            .map(|m| count(m.observed) - count(m.expected))
            .sum()
    }
}

fn count(agg: Option<Agg>) -> u64 {
    agg.map_or(0, |a| a.count)
}

/// Classifies every window expected or observed.
pub fn compare(
    expected: &Windows,
    unacknowledged: &BTreeMap<WindowKey, u64>,
    observed: &Windows,
) -> WindowReport {
    let mut report = WindowReport {
        expected_windows: expected.len(),
        expected_readings: expected.values().map(|a| a.count).sum(),
        observed_readings: observed.values().map(|a| a.count).sum(),
        ..WindowReport::default()
    };
    let keys = expected
        .keys()
        .chain(observed.keys().filter(|k| !expected.contains_key(*k)));
    for key in keys {
        let (e, o) = (expected.get(key).copied(), observed.get(key).copied());
        let unacked = unacknowledged.get(key).copied().unwrap_or(0);
        let mismatch = || Mismatch {
            key: key.clone(),
            expected: e,
            observed: o,
            unacknowledged: unacked,
        };
        let (ec, oc) = (count(e), count(o));
        if oc < ec {
            report.lost.push(mismatch());
        } else if oc > ec && oc - ec <= unacked {
            report.unconfirmed.push(mismatch());
        } else if oc > ec {
            report.double_counted.push(mismatch());
        } else if let (Some(e), Some(o)) = (e, o) {
            if e.agrees_with(&o) {
                report.matched += 1;
            } else {
                report.wrong.push(mismatch());
            }
        }
    }
    report
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |agg: Option<Agg>| match agg {
            Some(a) => format!(
                "count {} sum {} min {} max {}",
                a.count, a.sum, a.min, a.max
            ),
            None => "nothing".to_owned(),
        };
        write!(
            f,
            "{} {} window {}: expected {}; observed {}",
            self.key.device_id,
            self.key.metric,
            Timestamp::from_millis(self.key.start_ms),
            side(self.expected),
            side(self.observed)
        )?;
        if self.unacknowledged > 0 {
            write!(f, " ({} unacknowledged readings here)", self.unacknowledged)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(device: &str, minute: i64) -> WindowKey {
        WindowKey {
            device_id: device.into(),
            metric: "temperature".into(),
            start_ms: minute * 60_000,
        }
    }

    fn agg(values: &[f64]) -> Agg {
        let mut a = Agg::of(values[0]);
        values[1..].iter().for_each(|v| a.add(*v));
        a
    }

    #[test]
    fn identical_windows_match_even_when_sums_differ_by_rounding() {
        let expected = Windows::from([(key("a", 1), agg(&[0.1, 0.2, 0.3]))]);
        let observed = Windows::from([(key("a", 1), agg(&[0.3, 0.2, 0.1]))]);
        assert_ne!(expected[&key("a", 1)].sum, observed[&key("a", 1)].sum);
        let report = compare(&expected, &BTreeMap::new(), &observed);
        assert!(report.passed());
        assert_eq!((report.matched, report.expected_readings), (1, 3));
    }

    #[test]
    fn missing_and_short_windows_are_lost_and_extra_ones_double_counted() {
        let expected = Windows::from([
            (key("a", 1), agg(&[1.0, 2.0])),
            (key("a", 2), agg(&[1.0])),
            (key("b", 1), agg(&[5.0])),
        ]);
        let observed = Windows::from([
            (key("a", 1), agg(&[1.0])),
            (key("b", 1), agg(&[5.0, 5.0])),
            (key("b", 3), agg(&[7.0])),
        ]);
        let report = compare(&expected, &BTreeMap::new(), &observed);
        let keys = |v: &[Mismatch]| v.iter().map(|m| m.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&report.lost), vec![key("a", 1), key("a", 2)]);
        assert_eq!(keys(&report.double_counted), vec![key("b", 1), key("b", 3)]);
        assert_eq!((report.readings_lost(), report.readings_extra()), (2, 2));
        assert!(!report.passed());
    }

    #[test]
    fn the_same_count_with_another_value_is_wrong_and_names_the_window() {
        let expected = Windows::from([(key("a", 1), agg(&[1.0, 2.0]))]);
        let observed = Windows::from([(key("a", 1), agg(&[1.0, 2.5]))]);
        let report = compare(&expected, &BTreeMap::new(), &observed);
        assert_eq!(report.wrong.len(), 1);
        let text = report.wrong[0].to_string();
        assert!(
            text.starts_with("a temperature window 1970-01-01T00:01:00.000Z"),
            "{text}"
        );
        assert!(text.contains("max 2.5"), "{text}");
    }

    #[test]
    fn extra_readings_explained_by_unacknowledged_ones_are_unconfirmed_not_failures() {
        let expected = Windows::from([(key("a", 1), agg(&[1.0]))]);
        let observed = Windows::from([(key("a", 1), agg(&[1.0, 9.0]))]);
        let unacked = BTreeMap::from([(key("a", 1), 1)]);
        let report = compare(&expected, &unacked, &observed);
        assert!(report.passed());
        assert_eq!(report.unconfirmed.len(), 1);
    }
}
