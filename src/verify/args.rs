//! The `tributary verify` command line: print the report; exit non-zero on any mismatch.

use super::{run, VerifyConfig};
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Base URL of the deployment, e.g. http://127.0.0.1:7071.
    #[arg(long, default_value = "http://127.0.0.1:7071")]
    target: String,
    /// The truth file `tributary simulate --truth` wrote.
    #[arg(long)]
    truth: PathBuf,
    /// Longest to wait for results to settle, e.g. 60s or 5m.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

pub async fn main(args: VerifyArgs) -> anyhow::Result<()> {
    let cfg = VerifyConfig::new(args.target, args.truth, args.timeout);
    let report = run(cfg).await.context("verifying")?;
    println!("{report}");
    let w = &report.windows;
    if !report.passed() {
        anyhow::bail!(
            "verification failed: {} lost, {} double-counted, {} wrong windows",
            w.lost.len(),
            w.double_counted.len(),
            w.wrong.len()
        );
    }
    Ok(())
}
