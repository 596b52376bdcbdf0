//! The simulator's bookkeeping of what the target acknowledged: from each request's items and its
//! outcome, which readings enter the truth (once per identity), and the run's counts. Pure.

use super::model::{SimReading, METRICS};
use super::schedule::Item;
use super::truth::{RunSummary, TruthReading};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// How one request ended, after retries.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The target answered with its ingest report: a 2xx, or a 400 in which every item was rejected.
    Answered {
        success: bool,
        accepted: u64,
        duplicates: u64,
        /// Positions of the rejected items.
        rejected: Vec<usize>,
        /// When the answer arrived (epoch ms).
        at_ms: i64,
    },
    /// No answer that acknowledges anything (retries exhausted, or a non-retryable error).
    Failed,
}

/// A freshly acknowledged first send, a candidate for a freshness sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub device_id: Arc<str>,
    pub seq: u64,
    pub ts_ms: i64,
    pub at_ms: i64,
}

/// What one request changed: truth lines to write, and the newest reading it acknowledged.
#[derive(Debug, Default)]
pub struct Recorded {
    pub lines: Vec<TruthReading>,
    pub newest: Option<Acked>,
}

#[derive(Debug, Default)]
pub struct Ledger {
    acked: HashSet<(u32, u64)>,
    unacked: HashMap<(u32, u64), SimReading>,
    counts: RunSummary,
}

impl Ledger {
    /// Records one finished request of `items`, which took `attempts` attempts.
    pub fn record(&mut self, items: &[Item], outcome: &Outcome, attempts: u32) -> Recorded {
        let c = &mut self.counts;
        c.requests += 1;
        c.retries += u64::from(attempts.saturating_sub(1));
        let (success, rejected, at_ms) = match outcome {
            Outcome::Answered {
                success,
                accepted,
                duplicates,
                rejected,
                at_ms,
            } => {
                c.accepted += accepted;
                c.duplicates += duplicates;
                c.rejected += rejected.len() as u64;
                (*success, rejected.as_slice(), *at_ms)
            }
            Outcome::Failed => {
                c.failed_requests += 1;
                (false, &[][..], 0)
            }
        };
        let mut out = Recorded::default();
        for (index, item) in items.iter().enumerate() {
            let was_rejected = rejected.contains(&index);
            let acked = success && !was_rejected;
            let (reading, first_send) = match item {
                Item::Invalid { .. } => {
                    self.counts.invalid_sent += 1;
                    self.counts.invalid_accepted += u64::from(acked);
                    continue;
                }
                Item::Reading(r) => {
                    self.counts.readings_sent += 1;
                    (r, true)
                }
                Item::Resend(r) => {
                    self.counts.resent += 1;
                    (r, false)
                }
            };
            self.counts.valid_rejected += u64::from(was_rejected);
            let id = (reading.device, reading.seq);
            if !acked {
                if !self.acked.contains(&id) {
                    self.unacked.insert(id, reading.clone());
                }
                continue;
            }
            if !self.acked.insert(id) {
                continue;
            }
            self.unacked.remove(&id);
            out.lines.push(truth_line(reading, Some(at_ms)));
            if first_send
                && !reading.late
                && out.newest.as_ref().is_none_or(|n| reading.ts_ms > n.ts_ms)
            {
                out.newest = Some(Acked {
                    device_id: reading.device_id.clone(),
                    seq: reading.seq,
                    ts_ms: reading.ts_ms,
                    at_ms,
                });
            }
        }
        out
    }

    /// The counts so far (summary fields the ledger does not know are left default).
    pub fn counts(&self) -> &RunSummary {
        &self.counts
    }

    /// Ends the run: the readings never acknowledged, and the final counts.
    pub fn finish(mut self) -> (Vec<TruthReading>, RunSummary) {
        self.counts.acknowledged = self.acked.len() as u64;
        self.counts.unacknowledged = self.unacked.len() as u64;
        let mut unacked: Vec<SimReading> = self.unacked.into_values().collect();
        unacked.sort_by_key(|r| (r.device, r.seq));
        let lines = unacked.iter().map(|r| truth_line(r, None)).collect();
        (lines, self.counts)
    }
}

fn truth_line(r: &SimReading, acked_at_ms: Option<i64>) -> TruthReading {
    TruthReading {
        device_id: r.device_id.to_string(),
        seq: r.seq,
        ts: r.ts_ms,
        metrics: METRICS
            .iter()
            .zip(r.values)
            .map(|(m, v)| ((*m).to_owned(), v))
            .collect(),
        labels: METRICS
            .iter()
            .zip(r.labels)
            .filter_map(|(m, l)| l.map(|l| ((*m).to_owned(), l)))
            .collect(),
        late: r.late,
        acked_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::schedule::InvalidKind;

    fn reading(seq: u64, ts_ms: i64) -> SimReading {
        SimReading {
            device: 1,
            device_id: "sim-t-00001".into(),
            seq,
            ts_ms,
            values: [1.0, 2.0, 3.0],
            labels: [None, None, None],
            late: false,
        }
    }

    fn answered(rejected: Vec<usize>, at_ms: i64) -> Outcome {
        Outcome::Answered {
            success: true,
            accepted: 1,
            duplicates: 0,
            rejected,
            at_ms,
        }
    }

    #[test]
    fn a_reading_enters_the_truth_once_however_often_it_is_acknowledged() {
        let mut ledger = Ledger::default();
        let first = ledger.record(&[Item::Reading(reading(1, 10))], &answered(vec![], 50), 1);
        assert_eq!(first.lines.len(), 1);
        assert_eq!(first.lines[0].acked_at_ms, Some(50));
        assert_eq!(first.newest.unwrap().seq, 1);
        let again = ledger.record(&[Item::Resend(reading(1, 10))], &answered(vec![], 90), 2);
        assert!(again.lines.is_empty() && again.newest.is_none());
        let (unacked, counts) = ledger.finish();
        assert!(unacked.is_empty());
        assert_eq!(
            (counts.acknowledged, counts.resent, counts.retries),
            (1, 1, 1)
        );
    }

    #[test]
    fn a_failed_request_leaves_its_readings_unacknowledged_until_a_resend_is_acknowledged() {
        let mut ledger = Ledger::default();
        ledger.record(
            &[Item::Reading(reading(1, 10)), Item::Reading(reading(2, 20))],
            &Outcome::Failed,
            5,
        );
        let resend = ledger.record(&[Item::Resend(reading(2, 20))], &answered(vec![], 70), 1);
        assert_eq!(resend.lines[0].seq, 2);
        assert!(
            resend.newest.is_none(),
            "a resend's 202 is not a freshness sample"
        );
        let (unacked, counts) = ledger.finish();
        assert_eq!(unacked.len(), 1);
        assert_eq!((unacked[0].seq, unacked[0].acked_at_ms), (1, None));
        assert_eq!((counts.failed_requests, counts.unacknowledged), (1, 1));
    }

    #[test]
    fn rejections_are_checked_against_what_was_meant_to_be_invalid() {
        let mut ledger = Ledger::default();
        let bad = Item::Invalid {
            kind: InvalidKind::MissingTs,
            body: serde_json::json!({}),
        };
        // The invalid copy at 0 is accepted (wrong), the valid reading at 1 rejected (wrong).
        let rec = ledger.record(
            &[bad, Item::Reading(reading(1, 10))],
            &answered(vec![1], 5),
            1,
        );
        assert!(rec.lines.is_empty());
        let (unacked, counts) = ledger.finish();
        assert_eq!((counts.invalid_accepted, counts.valid_rejected), (1, 1));
        assert_eq!(unacked.len(), 1);
    }

    #[test]
    fn the_newest_first_send_that_is_not_late_is_the_freshness_candidate() {
        let mut ledger = Ledger::default();
        let mut late = reading(3, 99);
        late.late = true;
        let items = [
            Item::Reading(reading(1, 10)),
            Item::Reading(reading(2, 20)),
            Item::Reading(late),
        ];
        let rec = ledger.record(&items, &answered(vec![], 5), 1);
        assert_eq!(rec.newest.unwrap().seq, 2);
    }
}
