//! Detector v2: per (device, metric), a seasonal baseline learnt online, a robust spread with a
//! floor for flat and integer metrics, a tail probability for each value (peaks over a running
//! quantile), a range guard, a CUSUM change test for shifts and drifts, stuck detection, and a
//! probation and rest period. O(1) per value, bounded state, deterministic. README: "The detector".

mod config;
mod fold;
mod observe;
mod pack;
mod state;
#[cfg(test)]
mod tests;
mod week;

pub use config::{DetectorConfig, MetricConfig, MetricOverride, DEFAULT_THRESHOLD};
pub use state::{DeviceState, MetricState};
