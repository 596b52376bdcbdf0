//! Anomaly detection quality against the simulator's labels. Pure.
//!
//! An *episode* is a run of consecutive `seq`s of one device and metric with the same label (the
//! simulator keeps episodes 30 readings apart). A flag (a row of `/api/anomalies`) is a true positive
//! when it falls inside an episode of its device and metric or within [`TAIL`] readings after it
//! (the detector may react to a level shift, drift or stuck value ending). Precision counts flags;
//! recall counts episodes: an episode is detected when at least one flag is a true positive for it.
//! False flags on late readings are counted apart: the detector scores in arrival order, so a late
//! reading's value (from minutes back in a daily pattern) can look far from the current mean.

use crate::simulate::AnomalyKind;
use std::collections::{BTreeMap, HashSet};

/// Readings after an episode in which a flag is still credited to it.
pub const TAIL: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labelled {
    pub device_id: String,
    pub metric: String,
    pub seq: u64,
    pub kind: AnomalyKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub device_id: String,
    pub metric: String,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    pub device_id: String,
    pub metric: String,
    pub kind: AnomalyKind,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// Groups labelled readings into episodes.
pub fn episodes(mut labelled: Vec<Labelled>) -> Vec<Episode> {
    labelled.sort();
    let mut out: Vec<Episode> = Vec::new();
    for l in labelled {
        match out.last_mut() {
            Some(e)
                if e.device_id == l.device_id
                    && e.metric == l.metric
                    && e.kind == l.kind
                    && e.last_seq + 1 == l.seq =>
            {
                e.last_seq = l.seq;
            }
            _ => out.push(Episode {
                device_id: l.device_id,
                metric: l.metric,
                kind: l.kind,
                first_seq: l.seq,
                last_seq: l.seq,
            }),
        }
    }
    out
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectionReport {
    pub episodes: usize,
    pub detected: usize,
    /// (detected, injected) per kind.
    pub by_kind: BTreeMap<AnomalyKind, (usize, usize)>,
    pub flags: usize,
    pub true_flags: usize,
    /// False flags on readings the simulator sent late.
    pub late_false_flags: usize,
    /// The anomaly list hit its limit: older flags were not seen.
    pub truncated: bool,
}

impl DetectionReport {
    pub fn precision(&self) -> Option<f64> {
        (self.flags > 0).then(|| self.true_flags as f64 / self.flags as f64)
    }

    pub fn recall(&self) -> Option<f64> {
        (self.episodes > 0).then(|| self.detected as f64 / self.episodes as f64)
    }
}

/// Scores `flags` (already limited to the truth's devices) against `episodes`; `late` holds the
/// (device, seq) of late readings.
pub fn score(
    episodes: &[Episode],
    flags: &[Flag],
    late: &HashSet<(String, u64)>,
) -> DetectionReport {
    let mut by_series: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, e) in episodes.iter().enumerate() {
        by_series
            .entry((&e.device_id, &e.metric))
            .or_default()
            .push(i);
    }
    let mut detected = vec![false; episodes.len()];
    let mut true_flags = 0;
    let mut late_false_flags = 0;
    for flag in flags {
        let hit = by_series
            .get(&(flag.device_id.as_str(), flag.metric.as_str()))
            .and_then(|candidates| {
                candidates.iter().find(|i| {
                    let e = &episodes[**i];
                    (e.first_seq..=e.last_seq + TAIL).contains(&flag.seq)
                })
            });
        if let Some(i) = hit {
            true_flags += 1;
            detected[*i] = true;
        } else if late.contains(&(flag.device_id.clone(), flag.seq)) {
            late_false_flags += 1;
        }
    }
    let mut by_kind: BTreeMap<AnomalyKind, (usize, usize)> = BTreeMap::new();
    for (e, hit) in episodes.iter().zip(&detected) {
        let entry = by_kind.entry(e.kind).or_default();
        entry.0 += usize::from(*hit);
        entry.1 += 1;
    }
    DetectionReport {
        episodes: episodes.len(),
        detected: detected.iter().filter(|d| **d).count(),
        by_kind,
        flags: flags.len(),
        true_flags,
        late_false_flags,
        truncated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(device: &str, seq: u64, kind: AnomalyKind) -> Labelled {
        Labelled {
            device_id: device.into(),
            metric: "t".into(),
            seq,
            kind,
        }
    }

    fn flag(device: &str, seq: u64) -> Flag {
        Flag {
            device_id: device.into(),
            metric: "t".into(),
            seq,
        }
    }

    #[test]
    fn consecutive_labels_of_one_kind_form_one_episode() {
        let e = episodes(vec![
            label("a", 12, AnomalyKind::LevelShift),
            label("a", 10, AnomalyKind::LevelShift),
            label("a", 11, AnomalyKind::LevelShift),
            label("a", 50, AnomalyKind::Spike),
            label("b", 51, AnomalyKind::Spike),
        ]);
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].first_seq, e[0].last_seq), (10, 12));
    }

    #[test]
    fn precision_counts_flags_and_recall_counts_episodes() {
        let e = episodes(vec![
            label("a", 10, AnomalyKind::LevelShift),
            label("a", 11, AnomalyKind::LevelShift),
            label("a", 50, AnomalyKind::Spike),
            label("a", 90, AnomalyKind::Stuck),
        ]);
        // Two flags in the shift, one just after it (tail), one far from anything, none for stuck.
        let flags = [
            flag("a", 10),
            flag("a", 11),
            flag("a", 14),
            flag("a", 30),
            flag("a", 50),
        ];
        let late = HashSet::from([("a".to_owned(), 30)]);
        let r = score(&e, &flags, &late);
        assert_eq!(
            (r.flags, r.true_flags, r.episodes, r.detected),
            (5, 4, 3, 2)
        );
        assert_eq!(r.late_false_flags, 1);
        assert_eq!(r.precision(), Some(0.8));
        assert_eq!(r.by_kind[&AnomalyKind::Stuck], (0, 1));
        assert_eq!(r.by_kind[&AnomalyKind::Spike], (1, 1));
    }

    #[test]
    fn without_flags_or_episodes_the_ratios_are_undefined() {
        let r = score(&[], &[], &HashSet::new());
        assert_eq!((r.precision(), r.recall()), (None, None));
    }
}
