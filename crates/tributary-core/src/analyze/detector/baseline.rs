//! What a value is judged against: where its time falls in the season (the bins around it, an edge
//! of the pattern, how idle the phase is) and the expected value and spread there. Reads the state,
//! never changes it.

use super::config::MetricConfig;
use super::state::{MetricState, BINS};

/// The spread is at least this share of the seasonal pattern's range.
const PATTERN_FLOOR: f64 = 0.01;

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
    pub(super) fn phase(&self, ts: i64) -> Option<Phase> {
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

    pub(super) fn baseline(&self, ts: i64, cfg: &MetricConfig) -> Baseline {
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
}
