//! Percentiles of latency samples (nearest rank), shared by the simulator's and verifier's reports.

use std::fmt;

/// p50 / p95 / p99 / max of some millisecond samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: i64,
    pub p95: i64,
    pub p99: i64,
    pub max: i64,
}

/// Nearest-rank percentiles; `None` without samples.
pub fn percentiles(values: &[i64]) -> Option<Percentiles> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = |p: f64| {
        let r = (p * sorted.len() as f64).ceil() as usize;
        sorted[r.clamp(1, sorted.len()) - 1]
    };
    Some(Percentiles {
        samples: sorted.len(),
        p50: rank(0.50),
        p95: rank(0.95),
        p99: rank(0.99),
        max: sorted[sorted.len() - 1],
    })
}

/// `samples=N p50=… p95=… p99=… max=…`: stable keys, so scripts can pick figures out.
impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "samples={} p50={} p95={} p99={} max={}",
            self.samples, self.p50, self.p95, self.p99, self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred_are_the_ranks_themselves() {
        let values: Vec<i64> = (1..=100).rev().collect();
        let p = percentiles(&values).unwrap();
        assert_eq!(
            (p.p50, p.p95, p.p99, p.max, p.samples),
            (50, 95, 99, 100, 100)
        );
    }

    #[test]
    fn one_sample_is_every_percentile_and_none_is_no_answer() {
        let p = percentiles(&[7]).unwrap();
        assert_eq!((p.p50, p.p99), (7, 7));
        assert!(percentiles(&[]).is_none());
    }
}
