//! The fleet's schedule: which reading, resend or invalid reading is due when. Reading `i` of the run
//! is due `i / rate` seconds after the start and comes from device `i mod devices`; resends and
//! invalid copies are mixed in. Pure: the same config, seed and start give the same items.

use super::model::{DeviceModel, SimReading};
use super::rng::Rng;
pub use super::wire::{wire, InvalidKind};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// What to simulate. Proportions are fractions in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    pub devices: u32,
    /// Readings per second, over the whole fleet.
    pub rate: f64,
    pub duration_ms: i64,
    /// Chance a reading is sent again 0.2–3 s later (a device unsure whether it arrived).
    pub duplicates: f64,
    /// Chance, per reading and metric, that an anomaly episode starts.
    pub anomalies: f64,
    /// Chance a reading is preceded by an invalid copy of itself (which must be rejected).
    pub invalid: f64,
    /// Chance a reading's `ts` lies 2–30 minutes back.
    pub late: f64,
    pub seed: u64,
    /// Part of every device id (`sim-<tag>-00042`), so runs never share devices.
    pub tag: String,
}

impl FleetConfig {
    /// Readings (not counting resends and invalid copies) the run sends.
    pub fn planned(&self) -> u64 {
        (self.rate * self.duration_ms as f64 / 1000.0)
            .round()
            .max(0.0) as u64
    }
}

/// One thing to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A reading sent for the first time.
    Reading(SimReading),
    /// The same reading again, byte for byte: the target must answer it as a duplicate.
    Resend(SimReading),
    /// A reading the target must reject.
    Invalid { kind: InvalidKind, body: Value },
}

/// An item and when it is due, in ms after the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub due_ms: i64,
    pub item: Item,
}

/// A resend waiting in the heap, ordered by due time then by when it was scheduled.
#[derive(Debug)]
struct Resend {
    due_ms: i64,
    order: u64,
    reading: SimReading,
}

impl PartialEq for Resend {
    fn eq(&self, other: &Self) -> bool {
        (self.due_ms, self.order) == (other.due_ms, other.order)
    }
}
impl Eq for Resend {}
impl PartialOrd for Resend {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Resend {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due_ms, self.order).cmp(&(other.due_ms, other.order))
    }
}

/// The whole run's items in due order, as an iterator.
pub struct Fleet {
    cfg: FleetConfig,
    start_ms: i64,
    devices: Vec<DeviceModel>,
    rng: Rng,
    next: u64,
    planned: u64,
    resends: BinaryHeap<Reverse<Resend>>,
    queued: VecDeque<Planned>,
}

impl Fleet {
    /// The fleet of `cfg`, its schedule starting at `start_ms` (epoch ms).
    pub fn new(cfg: FleetConfig, start_ms: i64) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let devices = (0..cfg.devices.max(1))
            .map(|d| DeviceModel::new(d, &cfg.tag, &mut rng))
            .collect();
        Self {
            planned: cfg.planned(),
            cfg,
            start_ms,
            devices,
            rng,
            next: 0,
            resends: BinaryHeap::new(),
            queued: VecDeque::new(),
        }
    }

    fn due(&self, index: u64) -> i64 {
        (index as f64 * 1000.0 / self.cfg.rate) as i64
    }
}

impl Iterator for Fleet {
    type Item = Planned;

    fn next(&mut self) -> Option<Planned> {
        if let Some(queued) = self.queued.pop_front() {
            return Some(queued);
        }
        let next_due = (self.next < self.planned).then(|| self.due(self.next));
        if let Some(Reverse(top)) = self.resends.peek() {
            if next_due.is_none_or(|due| top.due_ms <= due) {
                let Reverse(resend) = self.resends.pop()?;
                return Some(Planned {
                    due_ms: resend.due_ms,
                    item: Item::Resend(resend.reading),
                });
            }
        }
        let due_ms = next_due?;
        let device = (self.next % self.devices.len() as u64) as usize;
        self.next += 1;
        let reading =
            self.devices[device].next(self.start_ms + due_ms, self.cfg.anomalies, self.cfg.late);
        if self.rng.chance(self.cfg.duplicates) {
            let delay = self.rng.between(200, 3_000) as i64;
            self.resends.push(Reverse(Resend {
                due_ms: due_ms + delay,
                order: self.next,
                reading: reading.clone(),
            }));
        }
        let planned = Planned {
            due_ms,
            item: Item::Reading(reading),
        };
        if self.rng.chance(self.cfg.invalid) {
            let kind = InvalidKind::ALL[self.rng.between(0, 6) as usize];
            let Item::Reading(reading) = &planned.item else {
                unreachable!("built above")
            };
            let body = kind.corrupt(reading);
            self.queued.push_back(planned);
            return Some(Planned {
                due_ms,
                item: Item::Invalid { kind, body },
            });
        }
        Some(planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_core::ingest::{validate, IngestLimits, WireReading};
    use tributary_core::Timestamp;

    const START: i64 = 1_764_176_400_000;

    fn config() -> FleetConfig {
        FleetConfig {
            devices: 20,
            rate: 100.0,
            duration_ms: 30_000,
            duplicates: 0.05,
            anomalies: 0.005,
            invalid: 0.05,
            late: 0.05,
            seed: 7,
            tag: "t".into(),
        }
    }

    fn validates(body: &Value, now: i64) -> Result<(), String> {
        let wire: WireReading = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
        validate(wire, &IngestLimits::default(), Timestamp::from_millis(now)).map(|_| ())
    }

    #[test]
    fn the_same_seed_and_start_give_the_same_items_and_another_seed_does_not() {
        let a: Vec<Planned> = Fleet::new(config(), START).collect();
        let b: Vec<Planned> = Fleet::new(config(), START).collect();
        assert_eq!(a, b);
        let other: Vec<Planned> = Fleet::new(
            FleetConfig {
                seed: 8,
                ..config()
            },
            START,
        )
        .collect();
        assert_ne!(a, other);
    }

    #[test]
    fn the_schedule_holds_every_planned_reading_once_in_due_order_with_faults_mixed_in() {
        let items: Vec<Planned> = Fleet::new(config(), START).collect();
        assert!(items.windows(2).all(|w| w[0].due_ms <= w[1].due_ms));
        let count = |f: fn(&Item) -> bool| items.iter().filter(|p| f(&p.item)).count();
        assert_eq!(count(|i| matches!(i, Item::Reading(_))), 3_000);
        let resends = count(|i| matches!(i, Item::Resend(_)));
        let invalid = count(|i| matches!(i, Item::Invalid { .. }));
        assert!((100..200).contains(&resends), "{resends} resends");
        assert!((100..200).contains(&invalid), "{invalid} invalid");
        let mut ids: Vec<(u32, u64)> = items
            .iter()
            .filter_map(|p| match &p.item {
                Item::Reading(r) => Some((r.device, r.seq)),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 3_000, "identities are unique");
    }

    #[test]
    fn readings_and_resends_are_valid_and_every_invalid_copy_is_rejected_by_the_core() {
        for p in Fleet::new(config(), START) {
            let now = START + p.due_ms;
            match &p.item {
                Item::Reading(r) | Item::Resend(r) => validates(&wire(r), now).expect("valid"),
                Item::Invalid { kind, body } => {
                    assert!(validates(body, now).is_err(), "{kind:?} accepted: {body}")
                }
            }
        }
    }

    #[test]
    fn late_readings_lie_minutes_back_and_the_others_near_their_due_time() {
        for p in Fleet::new(config(), START) {
            if let Item::Reading(r) = p.item {
                let behind = START + p.due_ms - r.ts_ms;
                if r.late {
                    assert!((100_000..=1_900_000).contains(&behind), "{behind}");
                } else {
                    assert!(behind.abs() < 5_000, "{behind}");
                }
            }
        }
    }
}
