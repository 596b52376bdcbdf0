//! The command line: `tributary dev …`. Each subcommand turns flags into `Settings` and runs.

use crate::settings::Settings;
use crate::startup::{cancel_on_signal, Application};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "tributary",
    version,
    about = "Device telemetry pipeline: ingest → analyze → process → query"
)]
struct Cli {
    /// Log format: pretty for people, json for log collectors.
    #[arg(
        long,
        value_enum,
        global = true,
        default_value = "pretty",
        env = "TRIBUTARY_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline in this process on embedded, durable storage (no services needed).
    Dev(DevArgs),
}

#[derive(clap::Args)]
struct DevArgs {
    /// Port for HTTP (the Functions default, 7071).
    #[arg(long, default_value_t = 7071, env = "TRIBUTARY_PORT")]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "TRIBUTARY_HOST")]
    host: IpAddr,
    /// Directory of the embedded stores; kept across restarts.
    #[arg(long, default_value = "./.tributary", env = "TRIBUTARY_DATA_DIR")]
    data_dir: PathBuf,
    /// Feed this many simple simulated devices (one reading per device per second).
    #[arg(long, value_name = "N")]
    simulate: Option<usize>,
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Dev(args) => dev(args).await,
        }
    })
}

async fn dev(args: DevArgs) -> anyhow::Result<()> {
    let settings = Settings {
        host: args.host,
        port: args.port,
        data_dir: args.data_dir,
        simulate: args.simulate,
        ..Settings::default()
    };
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let app = Application::build_dev(&settings, shutdown).await?;
    tracing::info!(data_dir = %settings.data_dir.display(), "tributary dev is running");
    println!(
        "Tributary dev: dashboard at {}  (POST readings to {}api/telemetry)",
        app.url(),
        app.url()
    );
    app.run_until_stopped().await
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
