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
/// The spread is at least this share of the seasonal pattern's range.
const PATTERN_FLOOR: f64 = 0.01;
/// Smoothing per reading when no season is learnt.
pub(super) const FLAT_LEVEL_ALPHA: f64 = 0.05;
pub(super) const FLAT_SCALE_ALPHA: f64 = 0.02;

/// Where a time falls in the season: the two bins around it, the weight of the second, and how
/// much each speaks for the time (`distances`, worked out once per value).
#[derive(Debug, Clone, Copy)]
pub(super) struct Phase {
    pub k0: usize,
    pub k1: usize,
    pub f: f64,
    pub d0: f64,
    pub d1: f64,
    /// At an edge of the pattern, the nearer bin's value is carried on along its own side's slope
    /// to this phase (the ramp of a sawtooth up to its drop); 0 elsewhere.
    pub ext: f64,
    /// The phase is at such an edge.
    pub edge: bool,
    /// The seasonal pattern's range (highest learnt offset minus lowest).
    pub range: f64,
}

/// What a value is judged against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Baseline {
    pub expected: f64,
    pub spread: f64,
    pub phase: Option<Phase>,
    /// No learnt bin covers this phase yet.
    pub first_visit: bool,
    /// One of the two bins around this phase is not learnt yet (the first season): a deviation
    /// is the shape still being learnt, not news about the level.
    pub partial: bool,
}

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

    fn phase(&self, ts: i64) -> Option<Phase> {
        if self.season_ms <= 0 {
            return None;
        }
        // Bin centres sit at (k + 0.5) / BINS of the season; interpolate between the two around ts.
        let p = ts.rem_euclid(self.season_ms) as f64 * BINS as f64 / self.season_ms as f64 - 0.5;
        let floor = p.floor();
        let k0 = (floor as i64).rem_euclid(BINS as i64) as usize;
        let mut ph = Phase {
            k0,
            k1: (k0 + 1) % BINS,
            f: p - floor,
            d0: 0.0,
            d1: 0.0,
            ext: 0.0,
            edge: false,
            range: 0.0,
        };
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for (o, v) in self.offsets.iter().zip(&self.visits) {
            if *v > 0 {
                (lo, hi) = (lo.min(*o), hi.max(*o));
            }
        }
        ph.range = f64::from(hi - lo).max(0.0);
        (ph.d0, ph.d1, ph.ext, ph.edge) = self.distances(ph);
        Some(ph)
    }

    /// How much each of the two bins around a phase speaks for it: linear by distance, except
    /// across a jump of the seasonal pattern (the edge of a square wave or sawtooth), where the
    /// nearer bin alone does — interpolating across an edge would expect a value in the middle —
    /// carried on along the slope from its other neighbour (`Phase::ext`).
    pub(super) fn distances(&self, ph: Phase) -> (f64, f64, f64, bool) {
        if self.visits[ph.k0] > 0 && self.visits[ph.k1] > 0 {
            let step = f64::from((self.offsets[ph.k0] - self.offsets[ph.k1]).abs());
            let noise = f64::from(self.spreads[ph.k0].max(self.spreads[ph.k1]));
            if step > 0.25 * ph.range && step > 4.0 * noise {
                // The nearer bin, the neighbour on its far side, and how far (in bins) the phase
                // is from the nearer bin's centre, away from that neighbour.
                let (near, outer, dist) = if ph.f < 0.5 {
                    (ph.k0, (ph.k0 + BINS - 1) % BINS, ph.f)
                } else {
                    (ph.k1, (ph.k1 + 1) % BINS, 1.0 - ph.f)
                };
                let slope = f64::from(self.offsets[near] - self.offsets[outer]);
                let ext = if self.visits[outer] > 0 && slope.abs() < 0.5 * step {
                    slope * dist
                } else {
                    0.0
                };
                return if ph.f < 0.5 {
                    (1.0, 0.0, ext, true)
                } else {
                    (0.0, 1.0, ext, true)
                };
            }
        }
        (1.0 - ph.f, ph.f, 0.0, false)
    }

    /// The weights of the two bins around a phase: by `distances`, bins never learnt or mostly
    /// idle left out. None when neither can say anything.
    pub(super) fn weights(&self, ph: Phase) -> Option<(f64, f64)> {
        let w = |k: usize, d: f64| {
            if self.visits[k] == 0 {
                0.0
            } else {
                d * (1.0 - f64::from(self.idle[k]))
            }
        };
        let (w0, w1) = (w(ph.k0, ph.d0), w(ph.k1, ph.d1));
        let total = w0 + w1;
        (total > 1e-6).then(|| (w0 / total, w1 / total))
    }

    pub(super) fn offset_at(&self, phase: Option<Phase>) -> f64 {
        match phase.and_then(|ph| self.weights(ph).map(|w| (ph, w))) {
            Some((ph, (w0, w1))) => {
                w0 * f64::from(self.offsets[ph.k0]) + w1 * f64::from(self.offsets[ph.k1]) + ph.ext
            }
            None => 0.0,
        }
    }

    pub(super) fn idle_at(&self, phase: Option<Phase>) -> f32 {
        match phase {
            Some(ph) => {
                let f = ph.f as f32;
                (1.0 - f) * self.idle[ph.k0] + f * self.idle[ph.k1]
            }
            None => 1.0,
        }
    }

    fn baseline(&self, ts: i64, cfg: &MetricConfig) -> Baseline {
        let phase = self.phase(ts);
        let learnt = phase.and_then(|ph| self.weights(ph).map(|w| (ph, w)));
        // A phase where the metric always idles expects the idle value, and any other is news.
        // So does a phase never learnt that the metric has been idling through: a value leaving
        // the idle value there is judged, not learnt as the phase's first. (Either bin will do:
        // next to where it starts idling, too.)
        let idling = match (learnt, self.plateau, phase) {
            (None, Some(idle), Some(ph))
                if self.idle[ph.k0].max(self.idle[ph.k1]) >= 0.5
                    || (self.prev == idle && self.idle_usual) =>
            {
                Some(idle)
            }
            _ => None,
        };
        let (offset, local) = match learnt {
            Some((ph, (w0, w1))) => (
                w0 * f64::from(self.offsets[ph.k0]) + w1 * f64::from(self.offsets[ph.k1]) + ph.ext,
                w0 * f64::from(self.spreads[ph.k0]) + w1 * f64::from(self.spreads[ph.k1]),
            ),
            None => (0.0, self.scale),
        };
        let expected = idling.unwrap_or(self.level + offset);
        let floor = cfg
            .min_spread
            .max(0.5 * self.quantum)
            .max(1e-6 * expected.abs())
            // A noise-free pattern is not expected to repeat to better than 1% of its range.
            .max(PATTERN_FLOOR * phase.map_or(0.0, |ph| ph.range))
            .max(1e-12);
        let spread = match idling {
            Some(_) => floor,
            None => local.max(0.5 * self.scale).max(floor),
        };
        Baseline {
            expected,
            spread,
            phase,
            first_visit: phase.is_some() && learnt.is_none() && idling.is_none(),
            partial: phase.is_some_and(|ph| self.visits[ph.k0] == 0 || self.visits[ph.k1] == 0),
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
