//! `tributary simulate`: a fleet of realistic devices POSTing to any deployment by URL, with labelled
//! anomalies, duplicates, invalid and late readings injected, deterministically from a seed; it
//! writes a truth file of what the target acknowledged for `tributary verify`.
//!
//! Pure parts: [`rng`] (SplitMix64 + Box–Muller), [`model`] (devices, metrics, anomaly episodes),
//! [`schedule`] (what is due when), [`wire`] (the JSON, valid and invalid), [`ledger`] (what entered
//! the truth), [`truth`] (the file format). Edges: [`client`] (HTTP with retries), [`freshness`]
//! (202 → visible sampling), [`run`] (pacing, concurrency), `output` (progress bar, truth writer,
//! summary), [`args`] (the command line). [`feed_simple`] is `dev --simulate`.

pub mod args;
pub mod client;
pub mod freshness;
pub mod ledger;
pub mod model;
mod output;
pub mod rng;
pub mod run;
pub mod schedule;
mod simple;
pub mod truth;
pub mod wire;

pub use model::AnomalyKind;
pub use run::{run, SimulateConfig, SimulateError, Simulated};
pub use schedule::FleetConfig;
pub use simple::feed_simple;
