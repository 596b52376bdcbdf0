//! Labelled anomaly episodes laid over a normal series: a spike, a level shift, a drift, a stuck
//! value or an out-of-range value, sized by the series' own noise, never in its first two days.

use super::families::{Family, Normal, DAY_MS};
use crate::simulate::rng::Rng;
use tributary_core::AnomalyKind;

/// A series with a truth label per reading.
pub struct Labelled {
    pub ts: Vec<i64>,
    pub values: Vec<f64>,
    pub labels: Vec<Option<AnomalyKind>>,
}

/// Kinds that make sense for a family (a noise-free signal cannot drift "by σ"; a constant cannot
/// be stuck).
fn kinds(family: Family) -> &'static [AnomalyKind] {
    use AnomalyKind::*;
    match family {
        Family::Seasonal | Family::Regime | Family::Weekly => {
            &[Spike, LevelShift, Drift, Stuck, OutOfRange]
        }
        Family::Machine => &[Spike, LevelShift, Drift, Stuck],
        Family::Counter => &[Spike, LevelShift, Stuck, OutOfRange],
        Family::Bursty => &[Spike, LevelShift, Drift, OutOfRange],
        Family::Periodic => &[Spike, LevelShift, OutOfRange],
        Family::Flat => &[LevelShift],
    }
}

/// Lays `count` episodes over `normal`, spaced apart, after its first two days.
pub fn inject(family: Family, normal: Normal, rng: &mut Rng, count: usize) -> Labelled {
    let n = normal.values.len();
    let mut out = Labelled {
        ts: normal.ts.clone(),
        values: normal.values.clone(),
        labels: vec![None; n],
    };
    if count == 0 || n < 10 {
        return out;
    }
    let every = (normal.ts[1] - normal.ts[0]).max(1);
    let first = ((2 * DAY_MS) / every) as usize;
    let slot = n.saturating_sub(first) / count;
    if slot < 200 {
        return out;
    }
    for k in 0..count {
        let kind = *pick(rng, kinds(family));
        let lo = first + k * slot + 20;
        let hi = first + (k + 1) * slot - 150;
        let mut at = lo + rng.between(0, (hi - lo) as u64) as usize;
        if kind == AnomalyKind::Stuck || family == Family::Machine {
            // A frozen or misbehaving value is only visible while the metric normally varies.
            match (at..hi).find(|&i| !normal.idle[i.saturating_sub(1)] && !normal.idle[i]) {
                Some(i) => at = i,
                None => continue,
            }
        }
        let len = match (family, kind) {
            (Family::Flat, _) => n - at,
            (_, AnomalyKind::Spike) => 1,
            (_, AnomalyKind::OutOfRange) => rng.between(1, 3) as usize,
            (Family::Machine, _) => rng.between(12, 48) as usize,
            _ => rng.between(24, 120) as usize,
        };
        let end = (at + len).min(n);
        apply(&mut out, &normal, rng, kind, at, end);
        for label in &mut out.labels[at..end] {
            *label = Some(kind);
        }
    }
    if normal.integer {
        for v in &mut out.values {
            *v = v.round().max(0.0);
        }
    }
    out
}

fn apply(
    out: &mut Labelled,
    normal: &Normal,
    rng: &mut Rng,
    kind: AnomalyKind,
    at: usize,
    end: usize,
) {
    let sigma = normal.sigma[at].max(1e-9);
    let sign = rng.sign();
    match kind {
        AnomalyKind::Spike => {
            let size = rng.range(7.0, 14.0) * sigma * normal.spike_sigmas;
            out.values[at] += if normal.integer && out.values[at] < size {
                size
            } else {
                sign * size
            };
        }
        AnomalyKind::LevelShift => {
            let size = sign * rng.range(4.0, 8.0) * sigma;
            for v in &mut out.values[at..end] {
                *v += size;
            }
        }
        AnomalyKind::Drift => {
            let size = sign * rng.range(6.0, 12.0) * sigma;
            let len = (end - at) as f64;
            for (i, v) in out.values[at..end].iter_mut().enumerate() {
                *v += size * (i + 1) as f64 / len;
            }
        }
        AnomalyKind::Stuck => {
            let frozen = out.values[at - 1];
            out.values[at..end].fill(frozen);
        }
        AnomalyKind::OutOfRange => {
            let seen = &normal.values[..at];
            let min = seen.iter().copied().fold(f64::INFINITY, f64::min);
            let max = seen.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let width = (max - min).max(10.0 * sigma);
            let v = if sign > 0.0 || (normal.integer && min - width * 3.0 < 0.0) {
                max + rng.range(1.5, 3.0) * width
            } else {
                min - rng.range(1.5, 3.0) * width
            };
            out.values[at..end].fill(v);
        }
    }
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.between(0, items.len() as u64 - 1) as usize]
}
