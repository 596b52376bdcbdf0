//! Domain nouns. Each newtype validates on parse, so a value of the type is always valid.

mod names;
mod reading;
mod timestamp;

pub use names::{DeviceId, MetricName, ReadingId};
pub use reading::{AnomalyKind, Reading, ScoredReading, ScoredValue, Tags};
pub use timestamp::Timestamp;
