//! Scoring a detector's alarms against labelled episodes, the way streaming anomaly benchmarks do:
//! each episode opens a window (its readings and the next `AFTER`); the earliest alarm in a window
//! earns a reward that falls from ~1 at its start to 0 at its end (a scaled sigmoid, as NAB's standard
//! profile), a missed window costs 1, and each alarm outside every window costs 0.11. Pure.

use tributary_core::AnomalyKind;

/// Readings after an episode that still count as catching it: the end of an episode is itself a
/// change, and a frozen value or a drift can only be told from noise after some readings.
pub const AFTER: usize = 12;
const A_FP: f64 = 0.11;

#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub kind: AnomalyKind,
    pub start: usize,
    pub len: usize,
    pub detection: Option<Detection>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub delay_rows: usize,
    pub delay_ms: i64,
    /// The kind the detector gave its first alarm in the window.
    pub kind: AnomalyKind,
    pub reward: f64,
}

/// How one series went.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub name: String,
    /// The name up to its last `-` (the corpus names series `<family>-<index>`).
    pub family: String,
    pub rows: usize,
    /// Readings outside every window.
    pub normal_rows: usize,
    pub episodes: Vec<Episode>,
    pub alarms: usize,
    pub false_alarms: usize,
}

/// The NAB-style reward for a first detection at `at` in window [start, end).
fn reward(at: usize, start: usize, end: usize) -> f64 {
    let y = (at as f64 - (end - 1) as f64) / (end - start) as f64;
    2.0 / (1.0 + (5.0 * y).exp()) - 1.0
}

/// Scores one series: `labels` per row (truth) against `alarms` per row (the detector's kind).
pub fn evaluate(
    name: &str,
    ts: &[i64],
    labels: &[Option<AnomalyKind>],
    alarms: &[Option<AnomalyKind>],
) -> Outcome {
    let n = labels.len();
    let mut episodes = Vec::new();
    let mut in_window = vec![false; n];
    let mut i = 0;
    while i < n {
        let Some(kind) = labels[i] else {
            i += 1;
            continue;
        };
        let start = i;
        while i < n && labels[i] == Some(kind) {
            i += 1;
        }
        let end = (i + AFTER).min(n);
        in_window[start..end].fill(true);
        let detection = (start..end).find_map(|at| {
            alarms[at].map(|k| Detection {
                delay_rows: at - start,
                delay_ms: ts[at] - ts[start],
                kind: k,
                reward: reward(at, start, end),
            })
        });
        episodes.push(Episode {
            kind,
            start,
            len: i - start,
            detection,
        });
    }
    let alarm_count = alarms.iter().filter(|a| a.is_some()).count();
    let false_alarms = (0..n)
        .filter(|&i| alarms[i].is_some() && !in_window[i])
        .count();
    Outcome {
        name: name.to_owned(),
        family: name.rsplit_once('-').map_or(name, |(f, _)| f).to_owned(),
        rows: n,
        normal_rows: in_window.iter().filter(|w| !**w).count(),
        episodes,
        alarms: alarm_count,
        false_alarms,
    }
}

/// Totals over a corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub series: usize,
    pub rows: usize,
    pub episodes: usize,
    pub detected: usize,
    pub alarms: usize,
    pub false_alarms: usize,
    pub normal_rows: usize,
    /// Detected episodes / episodes.
    pub recall: f64,
    /// Alarms inside a window / alarms.
    pub precision: f64,
    pub false_alarms_per_10k: f64,
    /// Readings from an episode's start to its first alarm: median and 90th percentile.
    pub delay_median: f64,
    pub delay_p90: f64,
    /// The windowed score, 0 (never alarm) to 100 (every window at its start, no false alarm).
    pub windowed_score: f64,
    /// First alarms whose kind matches the label / detected episodes.
    pub kind_accuracy: f64,
}

impl Summary {
    pub fn of(outcomes: &[Outcome]) -> Self {
        let episodes: Vec<&Episode> = outcomes.iter().flat_map(|o| &o.episodes).collect();
        let detections: Vec<&Detection> = episodes
            .iter()
            .filter_map(|e| e.detection.as_ref())
            .collect();
        let alarms: usize = outcomes.iter().map(|o| o.alarms).sum();
        let false_alarms: usize = outcomes.iter().map(|o| o.false_alarms).sum();
        let normal_rows: usize = outcomes.iter().map(|o| o.normal_rows).sum();
        let mut delays: Vec<f64> = detections.iter().map(|d| d.delay_rows as f64).collect();
        delays.sort_by(f64::total_cmp);
        let raw: f64 = episodes
            .iter()
            .map(|e| e.detection.map_or(-1.0, |d| d.reward))
            .sum::<f64>()
            - A_FP * false_alarms as f64;
        let perfect: f64 = episodes
            .iter()
            .map(|e| reward(e.start, e.start, e.start + e.len + AFTER))
            .sum();
        let null = -(episodes.len() as f64);
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        Self {
            series: outcomes.len(),
            rows: outcomes.iter().map(|o| o.rows).sum(),
            episodes: episodes.len(),
            detected: detections.len(),
            alarms,
            false_alarms,
            normal_rows,
            recall: ratio(detections.len(), episodes.len()),
            precision: ratio(alarms - false_alarms, alarms),
            false_alarms_per_10k: 1e4 * false_alarms as f64 / normal_rows.max(1) as f64,
            delay_median: quantile(&delays, 0.5),
            delay_p90: quantile(&delays, 0.9),
            windowed_score: if perfect > null {
                100.0 * (raw - null) / (perfect - null)
            } else {
                0.0
            },
            kind_accuracy: ratio(
                episodes
                    .iter()
                    .filter(|e| e.detection.is_some_and(|d| d.kind == e.kind))
                    .count(),
                detections.len(),
            ),
        }
    }
}

/// The `q` quantile of sorted values (nearest rank); NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use AnomalyKind::*;

    #[test]
    fn early_detection_scores_higher_and_false_alarms_cost() {
        let ts: Vec<i64> = (0..100).collect();
        let mut labels = vec![None; 100];
        labels[40..50].fill(Some(LevelShift));
        let mut early = vec![None; 100];
        early[41] = Some(LevelShift);
        let mut late = vec![None; 100];
        late[58] = Some(Spike);
        let (e, l) = (
            evaluate("s-1", &ts, &labels, &early),
            evaluate("s-1", &ts, &labels, &late),
        );
        let (se, sl) = (Summary::of(std::slice::from_ref(&e)), Summary::of(&[l]));
        assert_eq!(e.family, "s");
        assert!(se.windowed_score > sl.windowed_score && sl.windowed_score > 0.0);
        assert_eq!((se.recall, se.precision, se.kind_accuracy), (1.0, 1.0, 1.0));
        assert_eq!(sl.kind_accuracy, 0.0);
        assert_eq!(se.delay_median, 1.0);
        let mut noisy = early.clone();
        noisy[5] = Some(Spike);
        noisy[80] = Some(Spike);
        let sn = Summary::of(&[evaluate("s-1", &ts, &labels, &noisy)]);
        assert_eq!((sn.false_alarms, sn.precision), (2, 1.0 / 3.0));
        assert!(sn.windowed_score < se.windowed_score);
        let never = Summary::of(&[evaluate("s-1", &ts, &labels, &[None; 100])]);
        assert_eq!((never.recall, never.windowed_score), (0.0, 0.0));
        assert_eq!(never.normal_rows, 100 - 10 - AFTER);
    }
}
