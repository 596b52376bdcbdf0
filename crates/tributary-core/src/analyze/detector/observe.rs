//! Scoring one value against a metric's state, then folding it in. Every test turns its evidence
//! into the same unit — −log10 of a tail probability, over 10 — so one threshold fits them all.

use super::config::{MetricConfig, DEFAULT_THRESHOLD};
use super::fold::Evidence;
use super::state::{MetricState, BINS};
use crate::{AnomalyKind, ScoredValue};

/// Tail level the running quantile `q` of z tracks (its 99.5th percentile).
pub(super) const P0: f64 = 0.005;
pub(super) const Q_MIN: f64 = 2.0;
pub(super) const Q_MAX: f64 = 1e6;
/// z's 99.5th percentile when deviations are normal; a larger `q` means a heavier-tailed metric.
const Q_NORMAL: f64 = 3.5;
pub(super) const EXCESS_MIN: f64 = 0.5;
/// The power-law tail's scale (of ln(z / q) beyond `q`): at the start (what normal deviations
/// give, so that a light-tailed metric is judged by its exponential tail), and at least.
pub(super) const LOG_EXCESS_0: f64 = 0.12;
pub(super) const LOG_EXCESS_MIN: f64 = 0.08;
/// CUSUM: per-reading allowance, clip of each standardised deviation, and the sum that scores as
/// the default threshold.
const CUSUM_K: f64 = 1.0;
const CLIP: f64 = 3.0;
pub(super) const CUSUM_H: f64 = 12.0;
/// Values the restarted tail learns from before anything is flagged: 1/P0 (or a season).
const TAIL_WARMUP: u64 = 200;
/// Decades (of −log10 p) a run of repeats must add beyond the threshold to count as stuck.
const STUCK_GRACE: f64 = 2.0;
/// Readings after an alarm during which no new alarm is raised (the incident is the same).
const REST: u32 = 20;
/// Consecutive clipped deviations on one side that move the level there (after an alarm).
const STREAK: i32 = 3;
/// Autocorrelation is capped here, so that a smooth metric keeps some sensitivity.
const RHO_MAX: f64 = 0.9;
/// A phase where the metric idles at least this often accepts the idle value without question.
pub(super) const IDLE_MIN: f32 = 0.05;
/// Smoothing per reading when no season is learnt.
pub(super) const FLAT_LEVEL_ALPHA: f64 = 0.05;
pub(super) const FLAT_SCALE_ALPHA: f64 = 0.02;

impl MetricState {
    /// Scores `x` measured at `ts` (epoch ms), then folds it in. A reading older than the newest
    /// one seen (late) is judged at its own phase against the current state, can be flagged only as
    /// a spike or out of range, and changes nothing.
    pub fn observe(&mut self, x: f64, ts: i64, cfg: &MetricConfig) -> ScoredValue {
        if self.n == 0 {
            self.start(x, ts, cfg);
            return ScoredValue {
                expected: Some(x),
                ..ScoredValue::plain(x, 0.0, false)
            };
        }
        if cfg.season_ms != self.season_ms {
            self.reset_season(cfg.season_ms);
        }
        let late = ts < self.last_ts;
        if !late {
            self.enter_day(ts);
            if !self.settled && self.probation_over(ts, cfg) {
                self.settle();
            }
        }
        let base = self.baseline(ts, cfg);
        let z_band = self.z_at(cfg.threshold);
        let mut out = ScoredValue {
            expected: Some(base.expected),
            lower: Some(base.expected - z_band * base.spread),
            upper: Some(base.expected + z_band * base.spread),
            ..ScoredValue::plain(x, 0.0, false)
        };
        if !late && self.plateau == Some(x) {
            // Idling where the metric often idles (a machine off at night), or staying idle past
            // the time it usually starts (a weekend, which a daily season cannot know): nothing to
            // judge. Going idle where it never does is judged, and so is the idle run it starts.
            let usual = self.idle_at(base.phase) >= IDLE_MIN || (self.prev == x && self.idle_usual);
            self.idle_usual = usual;
            if usual {
                self.fold_idle(x, ts, base.phase);
                return out;
            }
        }
        let r = x - base.expected;
        // The surprise is in the innovation: what the deviation adds to the part the previous
        // deviation predicts (autocorrelated noise wanders; a spike jumps). Across an edge of the
        // pattern the previous deviation, on the other side of a jump, predicts nothing.
        let at_edge = base.phase.is_some_and(|ph| ph.edge);
        let rho = if at_edge {
            0.0
        } else {
            (self.uu / self.u2).clamp(0.0, RHO_MAX)
        };
        let dev = r / base.spread;
        let z = (dev - rho * self.prev_dev).abs() / (1.0 - rho * rho).sqrt();
        // A phase seen for the first time has no baseline yet: only the range guard can judge it.
        let mut score = if base.first_visit {
            0.0
        } else {
            self.tail_score(z)
        };
        let mut kind = AnomalyKind::Spike;
        // Beyond the range seen, unless the metric's own tail says such values are ordinary (a
        // new record burst of heavy-tailed traffic).
        if self.outside(x, base.spread) && (base.first_visit || score >= cfg.threshold) {
            (score, kind) = (1.0, AnomalyKind::OutOfRange);
        }
        let point_score = score;
        let allowed = self.may_alarm(ts, cfg);
        if late {
            out.score = score;
            out.anomaly = allowed && score >= cfg.threshold;
            out.kind = out.anomaly.then_some(kind);
            return out;
        }
        let heavy = (self.q / Q_NORMAL).max(1.0);
        let u = (dev / heavy * ((1.0 - rho) / (1.0 + rho)).sqrt()).clamp(-CLIP, CLIP);
        let (change, change_kind) = self.change_test(u, r);
        if change > score {
            (score, kind) = (change, change_kind);
        }
        let stuck = self.stuck_test(x);
        if stuck > score {
            (score, kind) = (stuck, AnomalyKind::Stuck);
        }
        out.score = score;
        out.anomaly = allowed && score >= cfg.threshold;
        out.kind = out.anomaly.then_some(kind);
        let evidence = Evidence {
            r,
            z,
            u,
            base,
            unusual_point: self.probation_over(ts, cfg) && point_score >= cfg.threshold,
            settled: self.probation_over(ts, cfg),
        };
        self.fold(x, ts, &evidence);
        if change >= cfg.threshold || (self.streak.abs() >= STREAK && (self.rest > 0 || !allowed)) {
            if self.plateau == Some(x) {
                // Gone idle: the running level stays what it was; the change test starts again.
                self.restart_change_test();
            } else {
                self.relevel(x, base);
            }
        }
        if out.anomaly {
            self.rest = REST;
            // One incident, one alarm: an idle run that was flagged is known for the rest of it.
            self.idle_usual |= self.plateau == Some(x);
            self.stuck_flagged |= kind == AnomalyKind::Stuck;
        } else {
            self.rest = self.rest.saturating_sub(1);
        }
        out
    }

    fn start(&mut self, x: f64, ts: i64, cfg: &MetricConfig) {
        self.reset_season(cfg.season_ms);
        self.n = 1;
        (self.first_ts, self.last_ts) = (ts, ts);
        (self.level, self.prev, self.lo, self.hi) = (x, x, x, x);
        self.day = ts.div_euclid(super::week::DAY_MS);
    }

    fn reset_season(&mut self, season_ms: i64) {
        self.season_ms = season_ms.max(0);
        let bins = if self.season_ms > 0 { BINS } else { 0 };
        self.offsets = vec![0.0; bins];
        self.spreads = vec![0.0; bins];
        self.visits = vec![0; bins];
        self.idle = vec![0.0; bins];
    }

    pub(super) fn probation_over(&self, ts: i64, cfg: &MetricConfig) -> bool {
        self.n >= cfg.probation && ts.saturating_sub(self.first_ts) >= self.season_ms
    }

    /// Late readings count as the newest one for probation: being late does not reopen it.
    /// After probation the tail starts afresh, and a tail quantile of p means something only
    /// after about 1/p values: until then nothing is flagged.
    fn may_alarm(&self, ts: i64, cfg: &MetricConfig) -> bool {
        self.rest == 0
            && self.probation_over(ts.max(self.last_ts), cfg)
            && self.settled
            && self.n >= self.settled_n + self.tail_warmup()
    }

    /// `TAIL_WARMUP` values, but no more than a season's worth (sparse metrics would wait days).
    fn tail_warmup(&self) -> u64 {
        if self.season_ms > 0 && self.interval > 0.0 {
            TAIL_WARMUP.min((self.season_ms as f64 / self.interval) as u64)
        } else {
            TAIL_WARMUP
        }
    }

    /// −log10 of the tail probability of z (peaks over the running quantile), by whichever tail
    /// fits the metric's excesses more loosely: exponential (light-tailed noise), or power-law
    /// (bursty traffic, whose ordinary bursts are many times its typical deviation).
    fn tail_score(&self, z: f64) -> f64 {
        let light = (z - self.q) / self.excess;
        let heavy = (z.max(1e-300) / self.q).ln() / self.log_excess;
        let nats = -P0.ln() + light.min(heavy);
        (nats / std::f64::consts::LN_10 / 10.0).clamp(0.0, 1.0)
    }

    /// The z at which `tail_score` reaches `threshold`: the band's half-width in spreads.
    fn z_at(&self, threshold: f64) -> f64 {
        let nats = threshold * 10.0 * std::f64::consts::LN_10 + P0.ln();
        let light = self.q + self.excess * nats;
        let heavy = self.q * (self.log_excess * nats).min(700.0).exp();
        light.max(heavy).max(0.0)
    }

    /// Far outside everything seen so far: beyond the range by its own width (at least 10 spreads).
    fn outside(&self, x: f64, spread: f64) -> bool {
        let margin = (self.hi - self.lo).max(10.0 * spread);
        x > self.hi + margin || x < self.lo - margin
    }

    /// Updates the CUSUM with `u`; returns its score and whether it looks like a shift or a drift.
    fn change_test(&mut self, u: f64, r: f64) -> (f64, AnomalyKind) {
        self.up = (self.up + u - CUSUM_K).max(0.0);
        self.down = (self.down - u - CUSUM_K).max(0.0);
        if self.up > 0.0 || self.down > 0.0 {
            self.run += 1;
            self.run_sum += u.abs();
            self.run_dev += r;
        } else {
            (self.run, self.run_sum, self.run_dev) = (0, 0.0, 0.0);
        }
        let score = (DEFAULT_THRESHOLD * self.up.max(self.down) / CUSUM_H).min(1.0);
        let mean = self.run_sum / f64::from(self.run.max(1));
        let growing = self.run >= 8 && u.abs() > 1.3 * mean;
        let kind = if growing {
            AnomalyKind::Drift
        } else {
            AnomalyKind::LevelShift
        };
        (score, kind)
    }

    /// Scores a run of repeats by how unlikely it is for this metric's rate of change; repeats of 0
    /// or of the lowest value seen are idling, not stuck.
    fn stuck_test(&mut self, x: f64) -> f64 {
        let changed = x != self.prev;
        self.change_rate += 0.01 * (f64::from(u8::from(changed)) - self.change_rate);
        if changed {
            (self.repeats, self.stuck_flagged) = (0, false);
            return 0.0;
        }
        self.repeats += 1;
        if self.stuck_flagged || x <= self.lo {
            return 0.0;
        }
        let per_repeat = -(1.0 - self.change_rate.min(0.9)).log10();
        // A frozen value goes on for long: it can wait for two more decades of evidence than a
        // spike, which keeps a small count's ordinary repeats (1, 1, 1, …) from alarming.
        ((f64::from(self.repeats) * per_repeat - STUCK_GRACE) / 10.0).clamp(0.0, 1.0)
    }
}
