//! Device models: each simulated device has a clock offset, a `seq` counter and three metrics, each a
//! daily-like pattern plus Gaussian noise, into which labelled anomaly episodes are injected (spikes,
//! level shifts, drift, stuck values). Pure and deterministic from the device's own PRNG stream.

use super::rng::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;
use std::sync::Arc;

/// The metrics every simulated device reports, in this order.
pub const METRICS: [&str; 3] = ["temperature", "vibration", "pressure"];
/// Readings a metric sees before an episode may start: the detector's warm-up (20) plus a margin.
pub const WARMUP_READINGS: u64 = 30;
/// Normal readings after an episode before the next one may start, so episodes never touch.
pub const COOLDOWN_READINGS: u32 = 30;
const DAY_MS: f64 = 86_400_000.0;
const HOUR_MS: f64 = 3_600_000.0;

/// The kinds of injected anomaly, as written in the truth file's `labels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnomalyKind {
    /// One reading far (8–15 σ) from normal.
    Spike,
    /// 10–30 readings offset by 6–10 σ.
    LevelShift,
    /// 20–40 readings drifting linearly away, reaching 10–20 σ.
    Drift,
    /// 10–30 readings frozen at the last normal value.
    Stuck,
}

impl AnomalyKind {
    pub const ALL: [Self; 4] = [Self::Spike, Self::LevelShift, Self::Drift, Self::Stuck];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spike => "spike",
            Self::LevelShift => "levelShift",
            Self::Drift => "drift",
            Self::Stuck => "stuck",
        }
    }
}

/// One generated reading (valid by construction).
#[derive(Debug, Clone, PartialEq)]
pub struct SimReading {
    pub device: u32,
    pub device_id: Arc<str>,
    pub seq: u64,
    pub ts_ms: i64,
    /// Values in [`METRICS`] order.
    pub values: [f64; 3],
    /// The anomaly kind injected into each metric of this reading, if any.
    pub labels: [Option<AnomalyKind>; 3],
    /// Its `ts` was pushed minutes into the past (a buffered upload).
    pub late: bool,
}

#[derive(Debug, Clone)]
struct Episode {
    kind: AnomalyKind,
    /// Readings done and total.
    done: u32,
    length: u32,
    /// Offset in σ units (signed): the spike/shift size, or the drift reached at the end.
    size: f64,
    /// The frozen value of a stuck episode.
    held: f64,
}

#[derive(Debug, Clone)]
struct MetricModel {
    base: f64,
    daily_amplitude: f64,
    phase: f64,
    noise_sd: f64,
    decimals: i32,
    episode: Option<Episode>,
    cooldown: u32,
    last: f64,
}

impl MetricModel {
    fn new(metric: usize, rng: &mut Rng) -> Self {
        // Noise stays above the detector's σ floor (0.1 % of the mean), so σ-sized anomalies are fair.
        let (base, daily_amplitude, noise_sd, decimals) = match metric {
            0 => (rng.range(40.0, 80.0), rng.range(2.0, 8.0), 0.3, 3),
            1 => (rng.range(0.02, 0.05), 0.005, 0.002, 5),
            _ => (rng.range(98.0, 104.0), 0.5, 0.2, 3),
        };
        Self {
            base,
            daily_amplitude,
            phase: rng.range(0.0, TAU),
            noise_sd,
            decimals,
            episode: None,
            cooldown: 0,
            last: base,
        }
    }

    /// The next value at event time `t_ms`; `anomaly_chance` is the chance an episode starts here.
    fn sample(
        &mut self,
        t_ms: i64,
        seen: u64,
        anomaly_chance: f64,
        rng: &mut Rng,
    ) -> (f64, Option<AnomalyKind>) {
        let t = t_ms as f64;
        let pattern = self.base
            + self.daily_amplitude * (TAU * t / DAY_MS + self.phase).sin()
            + 0.3 * self.daily_amplitude * (TAU * t / HOUR_MS + 2.0 * self.phase).sin();
        let normal = pattern + self.noise_sd * rng.normal();
        if self.episode.is_none()
            && self.cooldown == 0
            && seen >= WARMUP_READINGS
            && rng.chance(anomaly_chance)
        {
            self.episode = Some(self.start_episode(rng));
        }
        self.cooldown = self.cooldown.saturating_sub(1);
        let Some(ep) = self.episode.as_mut() else {
            let value = round(normal, self.decimals);
            self.last = value;
            return (value, None);
        };
        ep.done += 1;
        let raw = match ep.kind {
            AnomalyKind::Spike | AnomalyKind::LevelShift => normal + ep.size * self.noise_sd,
            AnomalyKind::Drift => {
                normal + ep.size * self.noise_sd * f64::from(ep.done) / f64::from(ep.length)
            }
            AnomalyKind::Stuck => ep.held,
        };
        let kind = ep.kind;
        if ep.done >= ep.length {
            self.episode = None;
            self.cooldown = COOLDOWN_READINGS;
        }
        (round(raw, self.decimals), Some(kind))
    }

    fn start_episode(&self, rng: &mut Rng) -> Episode {
        let kind = AnomalyKind::ALL[rng.between(0, 3) as usize];
        let (length, size) = match kind {
            AnomalyKind::Spike => (1, rng.range(8.0, 15.0)),
            AnomalyKind::LevelShift => (rng.between(10, 30), rng.range(6.0, 10.0)),
            AnomalyKind::Drift => (rng.between(20, 40), rng.range(10.0, 20.0)),
            AnomalyKind::Stuck => (rng.between(10, 30), 0.0),
        };
        Episode {
            kind,
            done: 0,
            length: length as u32,
            size: size * rng.sign(),
            held: self.last,
        }
    }
}

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// One simulated device.
#[derive(Debug, Clone)]
pub struct DeviceModel {
    index: u32,
    id: Arc<str>,
    /// This device's clock error, constant for its life.
    clock_offset_ms: i64,
    seq: u64,
    metrics: [MetricModel; 3],
    rng: Rng,
}

impl DeviceModel {
    pub fn new(index: u32, tag: &str, rng: &mut Rng) -> Self {
        let mut rng = rng.fork();
        let metrics = [0, 1, 2].map(|m| MetricModel::new(m, &mut rng));
        Self {
            index,
            id: format!("sim-{tag}-{index:05}").into(),
            clock_offset_ms: (rng.normal() * 300.0) as i64,
            seq: 0,
            metrics,
            rng,
        }
    }

    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// The reading this device takes at `due_ms` (epoch ms): its clock adds offset and jitter; with
    /// chance `late` its `ts` lies 2–30 minutes back (uploaded from a buffer).
    pub fn next(&mut self, due_ms: i64, anomaly_chance: f64, late: f64) -> SimReading {
        let seen = self.seq;
        self.seq += 1;
        let jitter = (self.rng.normal() * 20.0) as i64;
        let mut ts_ms = due_ms + self.clock_offset_ms + jitter;
        let is_late = self.rng.chance(late);
        if is_late {
            ts_ms -= self.rng.between(2 * 60_000, 30 * 60_000) as i64;
        }
        let mut values = [0.0; 3];
        let mut labels = [None; 3];
        for (m, model) in self.metrics.iter_mut().enumerate() {
            (values[m], labels[m]) = model.sample(ts_ms, seen, anomaly_chance, &mut self.rng);
        }
        SimReading {
            device: self.index,
            device_id: self.id.clone(),
            seq: self.seq,
            ts_ms,
            values,
            labels,
            late: is_late,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(anomaly_chance: f64, n: usize) -> Vec<SimReading> {
        let mut device = DeviceModel::new(3, "t", &mut Rng::new(9));
        (0..n)
            .map(|i| device.next(1_764_176_400_000 + i as i64 * 1000, anomaly_chance, 0.0))
            .collect()
    }

    #[test]
    fn a_device_counts_seq_from_one_and_names_itself_by_tag_and_index() {
        let r = readings(0.0, 3);
        assert_eq!(r.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(&*r[0].device_id, "sim-t-00003");
    }

    #[test]
    fn without_anomalies_values_stay_near_their_pattern_and_carry_no_labels() {
        let r = readings(0.0, 500);
        assert!(r.iter().all(|r| r.labels.iter().all(Option::is_none)));
        let temps: Vec<f64> = r.iter().map(|r| r.values[0]).collect();
        let (lo, hi) = temps
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        assert!(hi - lo < 20.0, "temperature ranged {lo}..{hi}");
    }

    #[test]
    fn every_anomaly_kind_is_injected_and_labelled_after_the_warm_up() {
        let r = readings(0.02, 5_000);
        let mut kinds = std::collections::BTreeSet::new();
        for reading in &r {
            for label in reading.labels.iter().flatten() {
                assert!(reading.seq > WARMUP_READINGS, "episode during warm-up");
                kinds.insert(*label);
            }
        }
        assert_eq!(kinds.len(), 4, "{kinds:?}");
    }

    #[test]
    fn a_stuck_episode_repeats_one_value_and_a_spike_is_far_from_normal() {
        let r = readings(0.02, 5_000);
        for m in 0..3 {
            // The first stuck run of this metric, if one was injected.
            let run: Vec<f64> = r
                .iter()
                .skip_while(|x| x.labels[m] != Some(AnomalyKind::Stuck))
                .take_while(|x| x.labels[m] == Some(AnomalyKind::Stuck))
                .map(|x| x.values[m])
                .collect();
            assert!(run.windows(2).all(|w| w[0] == w[1]), "{run:?}");
        }
        let spike = r
            .windows(2)
            .find(|w| w[1].labels[0] == Some(AnomalyKind::Spike))
            .expect("a temperature spike in 5000 readings");
        assert!((spike[1].values[0] - spike[0].values[0]).abs() > 5.0 * 0.3);
    }
}
