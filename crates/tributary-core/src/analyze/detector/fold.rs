//! Folding an in-order value into a metric's state: level, seasonal bins, spreads, the tail of z,
//! autocorrelation, range, step size and idling, with every deviation winsorised so that one
//! outlier cannot blind the detector, and learning paused while a change is building up.

use super::baseline::{Baseline, Phase};
use super::observe::{
    CUSUM_H, EXCESS_MIN, FLAT_LEVEL_ALPHA, FLAT_SCALE_ALPHA, LOG_EXCESS_0, LOG_EXCESS_MIN, P0,
    Q_MAX, Q_MIN,
};
use super::state::{MetricState, BINS};

/// Deviations beyond this many spreads count as this many when learning.
const WINSOR: f64 = 3.0;
/// Learning rate of the tail quantile and of the median excess over it.
const TAIL_RATE: f64 = 0.05;
/// Learning rate of the power-law tail's scale, per exceedance of `q`, and the most one
/// exceedance counts for (ln of z / q).
const LOG_RATE: f64 = 0.05;
const LOG_CAP: f64 = 2.0;
/// Learning rate of the autocorrelation and of the idle shares.
const SLOW_RATE: f64 = 0.01;
/// A run of one value this long, not flagged, makes that value the idle value.
const PLATEAU_RUN: u32 = 10;
/// While the CUSUM is above this share of its limit, spreads and tails are not learnt (a change
/// may be building up, and it must not teach the detector that it is normal).
const SUSPECT: f64 = 0.33;

/// What scoring found out about a value, for learning from it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Evidence {
    /// Deviation from the expected value, raw score, standardised (clipped) deviation.
    pub r: f64,
    pub z: f64,
    pub u: f64,
    pub base: Baseline,
    /// It scored as an unusual point after probation: kept out of level, range and tail.
    pub unusual_point: bool,
    /// Probation is over (before, a building change cannot be told from a baseline still being
    /// learnt, so learning never pauses).
    pub settled: bool,
}

impl MetricState {
    /// Learns from `x`.
    pub(super) fn fold(&mut self, x: f64, ts: i64, e: &Evidence) {
        self.tick(ts);
        let step = (x - self.prev).abs();
        if step > 0.0 && (self.quantum == 0.0 || step < self.quantum) {
            self.quantum = step;
        }
        self.prev = x;
        self.streak = if e.u.abs() >= 3.0 {
            let sign = e.u.signum() as i32;
            if self.streak.signum() == sign {
                self.streak + sign
            } else {
                sign
            }
        } else {
            0
        };
        let idle = self.plateau == Some(x);
        let suspect = e.settled && self.up.max(self.down) > CUSUM_H * SUSPECT;
        match e.base.phase {
            // Idling that builds up a change (traffic gone to zero) does not teach that idling
            // is usual there.
            Some(_) if idle && suspect => {}
            Some(ph) => self.learn_idle(ph, if idle { 1.0 } else { 0.0 }),
            None => {}
        }
        // Only a value the metric could idle at: its lowest, or any if it rarely changes
        // (otherwise a run of repeats is the stuck test's business). Zero is not special: busy
        // traffic that never went to zero is down, not idle, when it does.
        let could_idle = x <= self.lo || self.change_rate < 0.5;
        if self.repeats >= PLATEAU_RUN
            && could_idle
            && !self.stuck_flagged
            && self.plateau != Some(x)
        {
            self.plateau = Some(x);
        }
        if idle {
            // The idle value is a mode of its own (a machine stopped), not a level: it teaches
            // neither the level, the bins nor the tail, so the running values are still expected.
            self.prev_dev = 0.0;
            return;
        }
        let rates = self.rates();
        let r = e.r;
        let spread = e.base.spread;
        let w = r.clamp(-WINSOR * spread, WINSOR * spread);
        let quiet = self.repeats >= 2 || suspect;
        if e.unusual_point {
            // Out of the level and range; but a phase that is "unusual" every day (the edge of a
            // square wave) is learnt by its bins, and the tail learns it (a metric whose ordinary
            // bursts alarm must learn that its tail is heavy: keeping alarms out would hide it).
            self.prev_dev = 0.0;
            if !suspect && self.rest == 0 && e.z > self.q {
                // (Only the first of an incident's values: the rest are the same incident.)
                self.learn_log_tail(e.z);
            }
            if !e.base.first_visit {
                self.learn_bins(
                    x,
                    e.base.phase,
                    rates.1,
                    (w, r.abs().min(4.0 * spread)),
                    false,
                );
            }
            return;
        }
        let dev = (r / spread).clamp(-3.0, 3.0);
        if !e.base.first_visit && self.repeats < 2 && !suspect {
            self.uu += SLOW_RATE * (dev * self.prev_dev - self.uu);
            self.u2 += SLOW_RATE * (dev * dev - self.u2);
        }
        self.prev_dev = dev;
        if self.rest == 0 && !suspect {
            // (An incident's values do not widen the range seen: an outage at zero must not make
            // zero look like a value the metric takes.)
            self.lo = self.lo.min(x);
            self.hi = self.hi.max(x);
        }
        self.learn_bins(
            x,
            e.base.phase,
            rates.1,
            (w, r.abs().min(4.0 * spread)),
            quiet,
        );
        if e.base.first_visit {
            // The first value of a phase defines its offset; it says nothing about noise yet.
            return;
        }
        let (level_a, scale_a) = (rates.0, rates.2);
        // During the rest after an alarm the level re-learns fast: the incident may have moved it.
        let level_a = if self.rest > 0 {
            level_a.max(0.2)
        } else {
            level_a
        };
        if !e.base.partial {
            // While a change is building up the level follows only what is within the usual
            // noise, so that the change test can see it whole.
            let w = if suspect && self.rest == 0 {
                w.clamp(-spread, spread)
            } else {
                w
            };
            self.level += level_a * w;
        }
        if !quiet {
            self.scale += scale_a * (r.abs().min(4.0 * spread) - self.scale);
            self.learn_tail(e.z);
        }
    }

    /// An idle value where idling is usual: only time, repeats and the idle shares move.
    pub(super) fn fold_idle(&mut self, x: f64, ts: i64, phase: Option<Phase>) {
        self.tick(ts);
        if x == self.prev {
            self.repeats += 1;
        } else {
            (self.repeats, self.stuck_flagged) = (0, false);
        }
        self.prev = x;
        self.prev_dev = 0.0;
        self.streak = 0;
        self.rest = self.rest.saturating_sub(1);
        // Only idling where it is usual teaches where it is usual: a run that merely goes on (a
        // weekend) must not make a weekday's working hours look like idle time.
        if let Some(ph) = phase.filter(|ph| self.idle_at(Some(*ph)) >= super::observe::IDLE_MIN) {
            self.learn_idle(ph, 1.0);
        }
    }

    /// Ends probation: what z looked like while the baseline was being learnt says little about
    /// its tail, which starts afresh.
    pub(super) fn settle(&mut self) {
        (self.q, self.excess, self.log_excess, self.settled) = (3.0, 1.0, LOG_EXCESS_0, true);
        self.settled_n = self.n;
    }

    fn tick(&mut self, ts: i64) {
        let dt = ts.saturating_sub(self.last_ts) as f64;
        if dt > 0.0 {
            self.interval = if self.interval == 0.0 {
                dt
            } else {
                self.interval + 0.1 * (dt - self.interval)
            };
        }
        self.last_ts = ts;
        self.n += 1;
    }

    fn learn_idle(&mut self, ph: Phase, target: f32) {
        for (k, d) in [(ph.k0, 1.0 - ph.f), (ph.k1, ph.f)] {
            let rate = SLOW_RATE.max(1.0 / (f64::from(self.visits[k]) + 1.0)) * d;
            self.idle[k] += rate as f32 * (target - self.idle[k]);
        }
    }

    /// Moves the two bins around the phase towards the value (a running mean over their first
    /// visits, then smoothing); a bin never visited starts at the value.
    fn learn_bins(
        &mut self,
        x: f64,
        phase: Option<Phase>,
        bin_a: f64,
        (w, abs_dev): (f64, f64),
        quiet: bool,
    ) {
        let Some(ph) = phase else {
            return;
        };
        let (d0, d1) = (ph.d0, ph.d1);
        let nearest = if ph.f < 0.5 { ph.k0 } else { ph.k1 };
        for (k, d) in [(ph.k0, d0), (ph.k1, d1)] {
            let d = d * (1.0 - f64::from(self.idle[k]));
            if self.visits[k] == 0 {
                // A bin starts from a value of its own half of the phase, never from across an
                // edge of the pattern.
                if k == nearest {
                    self.offsets[k] = (x - self.level) as f32;
                    self.spreads[k] = self.scale as f32;
                    self.visits[k] = 1;
                }
                continue;
            }
            let rate = d * bin_a.max(1.0 / (f64::from(self.visits[k]) + 1.0));
            self.visits[k] = self.visits[k].saturating_add(1);
            self.offsets[k] += (rate * w) as f32;
            if !quiet {
                let s = f64::from(self.spreads[k]);
                self.spreads[k] = (s + rate * (abs_dev - s)) as f32;
            }
        }
    }

    /// Smoothing rates (level, seasonal bin, overall spread) per reading, from the typical interval
    /// and the season: the level remembers ~3 h of a day, each bin ~2 days of its phase.
    fn rates(&self) -> (f64, f64, f64) {
        if self.season_ms <= 0 || self.interval <= 0.0 {
            return (FLAT_LEVEL_ALPHA, 0.0, FLAT_SCALE_ALPHA);
        }
        let season = self.season_ms as f64;
        let rate = |tau: f64| (1.0 - (-self.interval / tau).exp()).clamp(1e-4, 0.5);
        (
            rate(season / 8.0),
            rate(2.0 * season / BINS as f64),
            rate(season / 4.0),
        )
    }

    /// Tracks the 99.5th percentile of z, and the median excess over it (robust to the odd
    /// enormous value), as the scale of an exponential tail; and the mean of ln(z / q) beyond
    /// it, as the scale of a power-law (Pareto) tail.
    fn learn_tail(&mut self, z: f64) {
        if z > self.q {
            let median = |scale: f64, excess: f64| {
                let m = scale * std::f64::consts::LN_2;
                let m = if excess > m {
                    m * (1.0 + TAIL_RATE)
                } else {
                    m * (1.0 - TAIL_RATE)
                };
                m / std::f64::consts::LN_2
            };
            self.excess = median(self.excess, z - self.q).max(EXCESS_MIN);
            self.learn_log_tail(z);
            self.q += TAIL_RATE * self.q * (1.0 - P0);
        } else {
            self.q -= TAIL_RATE * self.q * P0;
        }
        self.q = self.q.clamp(Q_MIN, Q_MAX);
    }

    /// Learns the power-law tail's scale from an exceedance of `q`.
    fn learn_log_tail(&mut self, z: f64) {
        // The mean (Hill's estimator of 1/α), since the far tail is what it must describe; each
        // exceedance capped, so that one enormous value cannot make the tail heavy.
        let ln = (z / self.q).ln().min(LOG_CAP);
        self.log_excess = (self.log_excess + LOG_RATE * (ln - self.log_excess)).max(LOG_EXCESS_MIN);
    }

    /// Moves the level by the shift the change test saw (the mean deviation over its run, or, for
    /// a streak without a run, to `x`), restarting the change test.
    pub(super) fn relevel(&mut self, x: f64, base: Baseline) {
        if self.run >= 2 {
            self.level += self.run_dev / f64::from(self.run);
        } else {
            self.level = x - self.offset_at(base.phase);
        }
        self.restart_change_test();
    }

    pub(super) fn restart_change_test(&mut self) {
        (self.up, self.down, self.run, self.run_sum, self.run_dev) = (0.0, 0.0, 0, 0.0, 0.0);
        self.streak = 0;
    }
}
