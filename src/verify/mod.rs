//! `tributary verify`: check a deployment against a simulator's truth file. Waits until results
//! settle, then compares every (device, metric, 1-minute window) count, sum, min and max; reports
//! lost, double-counted and wrong windows by name, anomaly precision and recall, and freshness.
//!
//! Pure parts: [`expected`] (truth → expected windows), [`compare`], [`detection`], [`stats`];
//! edges: [`fetch`] (the query API), [`run`] (settling), [`args`] (the command line).

pub mod args;
pub mod compare;
pub mod detection;
pub mod expected;
pub mod fetch;
mod report;
pub mod run;
pub mod stats;

pub use run::{run, VerifyConfig, VerifyError, VerifyReport};
