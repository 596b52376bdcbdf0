//! Detector v2 (state format 3): per (device, metric), a seasonal baseline learnt online (with
//! weekday levels, edges and idle stretches), a robust spread with a floor for flat, integer and
//! noise-free metrics, a tail probability for each value (peaks over a running quantile, with an
//! exponential and a power-law tail), a range guard, a CUSUM change test for shifts and drifts,
//! stuck detection, and a probation and rest period. O(1) per value, bounded state, deterministic.
//! README: "The detector".

mod baseline;
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
