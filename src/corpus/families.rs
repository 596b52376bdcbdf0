//! The normal behaviour of each kind of series in the evaluation corpus: what users' metrics look
//! like (seasons, autocorrelated noise, idling, counts, bursts, slow regime changes). No anomalies.

use crate::simulate::rng::Rng;
use std::f64::consts::TAU;

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 1440 * MINUTE_MS;

/// One family of series; the corpus cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Temperature-like: daily cycle with a harmonic, AR(1) noise, slow weather.
    Seasonal,
    /// Business traffic: daily and weekly profile, multiplicative noise.
    Weekly,
    /// Noise-free periodic signals (square, sine, sawtooth, schedule).
    Periodic,
    /// Constant values.
    Flat,
    /// Integer event counts per interval, rate following the day, zero at night.
    Counter,
    /// Heavy-tailed, bursty request traffic: ordinary Pareto bursts up to several times the level,
    /// so a labelled spike is sized beyond its ordinary bursts, not by its log-normal noise.
    Bursty,
    /// Slowly wandering level (regime changes over days) with noise.
    Regime,
    /// A machine on a duty cycle: runs on weekdays, idles flat otherwise.
    Machine,
}

impl Family {
    pub const ALL: [Family; 8] = [
        Self::Seasonal,
        Self::Weekly,
        Self::Periodic,
        Self::Flat,
        Self::Counter,
        Self::Bursty,
        Self::Regime,
        Self::Machine,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Seasonal => "seasonal",
            Self::Weekly => "weekly",
            Self::Periodic => "periodic",
            Self::Flat => "flat",
            Self::Counter => "counter",
            Self::Bursty => "bursty",
            Self::Regime => "regime",
            Self::Machine => "machine",
        }
    }
}

/// A normal series and what an anomaly of "one σ" means for it at each reading.
pub struct Normal {
    pub ts: Vec<i64>,
    pub values: Vec<f64>,
    /// The noise scale at each reading (for noise-free series, a fraction of the amplitude).
    pub sigma: Vec<f64>,
    /// Values are whole numbers.
    pub integer: bool,
    /// Readings where the metric idles (flat): no stuck episode is placed there.
    pub idle: Vec<bool>,
    /// How many `sigma` a labelled spike's "one σ" is: 1, except for heavy-tailed traffic, whose
    /// ordinary bursts reach 7 σ of its log-normal noise a few times per 10,000 readings, so that a
    /// spike sized by that σ alone is not unusual for it (see `Family::Bursty`).
    pub spike_sigmas: f64,
}

/// Draws a normal series of `family` with `n` readings every `every_ms`, starting at `start`.
pub fn normal(family: Family, rng: &mut Rng, start: i64, every_ms: i64, n: usize) -> Normal {
    let ts: Vec<i64> = (0..n as i64).map(|i| start + i * every_ms).collect();
    let day = |t: i64| (t.rem_euclid(DAY_MS)) as f64 / DAY_MS as f64;
    // Monday to Friday: epoch day 0 was a Thursday, so day + 3 counts from a Monday.
    let weekday = |t: i64| (t.div_euclid(DAY_MS) + 3).rem_euclid(7) < 5;
    let mut out = Normal {
        ts: ts.clone(),
        values: Vec::with_capacity(n),
        sigma: Vec::with_capacity(n),
        integer: false,
        idle: vec![false; n],
        spike_sigmas: 1.0,
    };
    let mut ar = 0.0;
    let phi = rng.range(0.3, 0.85);
    let mut ar_step = |rng: &mut Rng| {
        ar = phi * ar + (1.0 - phi * phi).sqrt() * rng.normal();
        ar
    };
    match family {
        Family::Seasonal => {
            let (base, amp, sigma) = (
                rng.range(-10.0, 60.0),
                rng.range(2.0, 12.0),
                rng.range(0.2, 1.0),
            );
            let (shift, h2) = (rng.unit(), rng.range(0.0, 0.4));
            let mut weather = 0.0;
            for &t in &ts {
                let p = TAU * (day(t) + shift);
                weather += 0.002 * rng.normal() * amp - 0.0005 * weather;
                out.values.push(
                    base + amp * p.sin()
                        + amp * h2 * (2.0 * p).sin()
                        + weather
                        + sigma * ar_step(rng),
                );
                out.sigma.push(sigma);
            }
        }
        Family::Weekly => {
            let (base, weekend, noise) = (
                rng.range(50.0, 2000.0),
                rng.range(0.4, 0.85),
                rng.range(0.04, 0.12),
            );
            for &t in &ts {
                let d = day(t);
                let profile = 0.25 + 0.75 * (0.5 - 0.5 * (TAU * d).cos()).powf(1.5);
                let level = base * profile * if weekday(t) { 1.0 } else { weekend };
                out.values.push(level * (1.0 + noise * ar_step(rng)));
                out.sigma.push(level * noise);
            }
        }
        Family::Periodic => {
            let (shape, amp, base) = (
                rng.between(0, 3),
                rng.range(1.0, 100.0),
                rng.range(-50.0, 50.0),
            );
            let (on, off) = (rng.range(0.2, 0.45), rng.range(0.55, 0.9));
            for &t in &ts {
                let d = day(t);
                let v = match shape {
                    0 => {
                        if (on..off).contains(&d) {
                            amp
                        } else {
                            0.0
                        }
                    }
                    1 => amp * (TAU * d).sin(),
                    2 => amp * d,
                    _ => amp * [0.0, 0.3, 1.0, 0.6, 0.3, 0.0][(d * 6.0) as usize % 6],
                };
                out.values.push(base + v);
                out.sigma.push(0.05 * amp);
            }
        }
        Family::Flat => {
            let v = [0.0, 1.0, 21.5, 1013.25, rng.range(-100.0, 100.0)][rng.between(0, 4) as usize];
            for _ in &ts {
                out.values.push(v);
                out.sigma.push(v.abs().max(1.0) * 0.02);
            }
            out.idle.fill(true);
        }
        Family::Counter => {
            let peak = rng.range(0.5, 40.0);
            out.integer = true;
            for &t in &ts {
                let d = day(t);
                let rate = if (0.3..0.9).contains(&d) {
                    peak * (TAU * (d - 0.3) / 1.2).sin().max(0.05)
                } else {
                    0.0
                };
                let count = poisson(rng, rate);
                out.values.push(count);
                out.sigma.push(rate.sqrt().max(1.0));
            }
            for (i, v) in out.values.iter().enumerate() {
                out.idle[i] = *v == 0.0;
            }
        }
        Family::Bursty => {
            let (base, sigma_ln) = (rng.range(20.0, 5000.0), rng.range(0.15, 0.35));
            let mut burst = 0.0_f64;
            for &t in &ts {
                let d = day(t);
                let profile = 0.3 + 0.7 * (0.5 - 0.5 * (TAU * (d - 0.1)).cos());
                if rng.chance(0.01) {
                    // Pareto-sized bursts: normal for this traffic, up to several times the level.
                    burst += (1.0 - rng.unit()).powf(-1.0 / 2.5) - 1.0;
                }
                burst *= 0.6;
                let level = base * profile * if weekday(t) { 1.0 } else { 0.7 };
                out.values
                    .push((level * (1.0 + burst) * (sigma_ln * rng.normal()).exp()).round());
                out.sigma.push(level * sigma_ln);
            }
            out.integer = true;
            // Ordinary bursts exceed 5.3 times the level once per 10,000 readings (0.01 per
            // reading, Pareto tail (1 + b)^-2.5): a labelled spike must be beyond that to be an
            // anomaly of this traffic, so its σ is 0.9 of the level (7 σ = 6.3 times the level).
            out.spike_sigmas = 0.9 / sigma_ln;
        }
        Family::Regime => {
            let (mut level, sigma) = (rng.range(-20.0, 200.0), rng.range(0.5, 5.0));
            let mut slope = 0.0;
            let per_day = (DAY_MS / (ts[1] - ts[0]).max(1)) as f64;
            for _ in &ts {
                // Regimes change over days: the slope itself wanders.
                if rng.chance(2.0 / per_day) {
                    slope = rng.range(-4.0, 4.0) * sigma / per_day;
                }
                level += slope;
                out.values.push(level + sigma * ar_step(rng));
                out.sigma.push(sigma);
            }
        }
        Family::Machine => {
            let (idle, run, sigma) = (
                rng.range(0.0, 5.0).round(),
                rng.range(20.0, 80.0),
                rng.range(0.5, 3.0),
            );
            let (from, to) = (rng.range(0.25, 0.35), rng.range(0.65, 0.8));
            for (i, &t) in ts.iter().enumerate() {
                let running = weekday(t) && (from..to).contains(&day(t));
                if running {
                    out.values.push(run + sigma * ar_step(rng));
                } else {
                    out.values.push(idle);
                    out.idle[i] = true;
                }
                out.sigma.push(sigma);
            }
        }
    }
    out
}

/// A Poisson draw (Knuth for small rates, a rounded normal for large ones).
fn poisson(rng: &mut Rng, rate: f64) -> f64 {
    if rate <= 0.0 {
        return 0.0;
    }
    if rate > 30.0 {
        return (rate + rate.sqrt() * rng.normal()).round().max(0.0);
    }
    let (limit, mut p, mut k) = ((-rate).exp(), 1.0, 0.0);
    loop {
        p *= rng.unit();
        if p <= limit {
            return k;
        }
        k += 1.0;
    }
}
