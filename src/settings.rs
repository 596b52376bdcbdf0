//! Typed settings, built once at start-up and passed down; nothing reads configuration elsewhere.
//! Today: defaults overridden by command-line flags (each also readable from a `TRIBUTARY_*`
//! environment variable, see `cli`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use tributary_core::analyze::DetectorConfig;
use tributary_core::ingest::IngestLimits;

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Where the embedded stores keep their files.
    pub data_dir: PathBuf,
    pub limits: IngestLimits,
    pub detector: DetectorConfig,
    /// Change-feed page size for analyze.
    pub analyze_batch: usize,
    /// Event-log batch size for process.
    pub process_batch: usize,
    /// Feed this many simulated devices into the running pipeline.
    pub simulate: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            // The Functions host's default port, so URLs match `func start`.
            port: 7071,
            data_dir: PathBuf::from("./.tributary"),
            limits: IngestLimits::default(),
            detector: DetectorConfig::default(),
            analyze_batch: 1000,
            process_batch: 1000,
            simulate: None,
        }
    }
}
