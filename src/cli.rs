//! The command line: `dev` and `run` load `Settings` (defaults, `--config` file, environment, flags)
//! and run the pipeline; `migrate` prepares PostgreSQL; `check-config` checks the settings against the
//! backends; `simulate` and `verify` exercise a deployment.

use crate::settings::{implicit_embedded, ResultStoreBackend, Settings};
use crate::startup::{cancel_on_signal, Application, Stages};
use anyhow::Context;
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
    /// Run the whole pipeline in this process on embedded, durable storage (no services needed);
    /// settings can point any port at a real backend.
    Dev(DevArgs),
    /// Run the chosen stages on the configured backends (the native face, for KEDA-scaled containers).
    Run(RunArgs),
    /// Create or update the PostgreSQL schema (run it as a deploy step before new replicas start).
    Migrate(ConfigArgs),
    /// Load the settings and check every backend the stages need (reachable, credentials, schema
    /// migrated, topics, containers); one line per check; exits non-zero if any fails.
    CheckConfig(CheckArgs),
    /// Serve every function to the Azure Functions host as its custom handler (started by the host,
    /// from host.json): HTTP on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT.
    Serve(ConfigArgs),
    /// Assemble a deployable function app folder (host.json, functions, this binary) and a zip of it.
    Package(PackageArgs),
    /// Feed a deployment a simulated fleet (duplicates, invalid, late readings, labelled anomalies);
    /// optionally write what it acknowledged to a truth file.
    Simulate(crate::simulate::args::SimulateArgs),
    /// Check a deployment against a truth file: lost, double-counted and wrong windows, anomaly
    /// precision and recall, freshness. Exits non-zero on any mismatch.
    Verify(crate::verify::args::VerifyArgs),
    /// List the records analyze and process set aside (unreadable or refused), or replay them.
    DeadLetters(DeadLettersArgs),
    /// Score a CSV offline with the pipeline's detector (`--labels`: evaluate against labels).
    Detect(crate::detect::DetectArgs),
    /// Write the seeded, labelled evaluation corpus for `detect --labels`.
    Corpus(crate::corpus::CorpusArgs),
}

#[derive(clap::Args)]
struct DeadLettersArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Directory of the embedded stores [default: ./.tributary].
    #[arg(long, env = "TRIBUTARY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: crate::dead_letters::Action,
}

#[derive(clap::Args)]
struct ConfigArgs {
    /// TOML settings file (see README); environment variables `TRIBUTARY_<SECTION>__<KEY>` override it.
    #[arg(long, env = "TRIBUTARY_CONFIG")]
    config: Option<PathBuf>,
}

/// Flags that override the settings for where this process listens and keeps embedded data.
#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Port for HTTP [default: 7071, the Functions default].
    #[arg(long, env = "TRIBUTARY_PORT")]
    port: Option<u16>,
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long, env = "TRIBUTARY_HOST")]
    host: Option<IpAddr>,
    /// Directory of the embedded stores; kept across restarts [default: ./.tributary].
    #[arg(long, env = "TRIBUTARY_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl ServeArgs {
    fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = load(&self.config)?;
        if let Some(port) = self.port {
            settings.http.port = port;
        }
        if let Some(host) = self.host {
            settings.http.host = host;
        }
        if let Some(dir) = &self.data_dir {
            settings.data_dir = dir.clone();
        }
        Ok(settings)
    }
}

#[derive(clap::Args)]
struct DevArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Feed this many simple simulated devices (one reading per device per second).
    #[arg(long, value_name = "N")]
    simulate: Option<usize>,
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Stages to run, comma-separated: ingest, analyze, process, query.
    #[arg(long, default_value = "ingest,analyze,process,query", value_parser = Stages::parse, env = "TRIBUTARY_STAGES")]
    stages: Stages,
}

#[derive(clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Stages whose backends to check, comma-separated: ingest, analyze, process, query.
    #[arg(long, default_value = "ingest,analyze,process,query", value_parser = Stages::parse, env = "TRIBUTARY_STAGES")]
    stages: Stages,
}

#[derive(clap::Args)]
struct PackageArgs {
    /// Where host.json and functions/ are.
    #[arg(long, default_value = ".")]
    app_root: PathBuf,
    /// Output folder (replaced); the zip is written beside it.
    #[arg(long, default_value = "target/functionapp")]
    out: PathBuf,
    /// The Linux binary to ship [default: this one].
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Skip the zip.
    #[arg(long)]
    no_zip: bool,
}

fn load(args: &ConfigArgs) -> anyhow::Result<Settings> {
    let settings = Settings::load(args.config.as_deref())
        .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
    settings
        .detector
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
    Ok(settings)
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Dev(args) => dev(args).await,
            Command::Run(args) => run(args).await,
            Command::Migrate(args) => migrate(&load(&args)?).await,
            Command::CheckConfig(args) => check_config(args).await,
            Command::Serve(args) => serve_host(args).await,
            Command::Package(args) => package(args),
            Command::Simulate(args) => crate::simulate::args::main(args).await,
            Command::Verify(args) => crate::verify::args::main(args).await,
            Command::DeadLetters(args) => {
                let mut settings = load(&args.config)?;
                if let Some(dir) = args.data_dir {
                    settings.data_dir = dir;
                }
                crate::dead_letters::main(&settings, args.action).await
            }
            Command::Detect(args) => crate::detect::main(args),
            Command::Corpus(args) => crate::corpus::main(args),
        }
    });
    // The drain is already over (bounded by `shutdown.drain_secs`); connections it gave up on must not
    // hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn dev(args: DevArgs) -> anyhow::Result<()> {
    let mut settings = args.serve.settings()?;
    settings.simulate = args.simulate;
    if settings.backends.result_store == ResultStoreBackend::Postgres {
        migrate(&settings).await?;
    }
    serve(settings, Stages::all(), "dev").await
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let settings = args.serve.settings()?;
    let implicit = implicit_embedded(&settings, args.stages);
    if !implicit.is_empty() {
        let lines: Vec<String> = implicit.iter().map(|i| format!("  - {i}")).collect();
        anyhow::bail!(
            "tributary run does not fall back to embedded storage (tributary dev does):\n{}",
            lines.join("\n")
        );
    }
    serve(settings, args.stages, "run").await
}

async fn check_config(args: CheckArgs) -> anyhow::Result<()> {
    let settings = load(&args.config)?;
    let failed = crate::check::check(&settings, args.stages).await;
    match failed {
        0 => Ok(()),
        n => anyhow::bail!("{n} check(s) failed"),
    }
}

async fn serve(settings: Settings, stages: Stages, face: &str) -> anyhow::Result<()> {
    tracing::debug!(?settings, ?stages, "settings");
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let app = Application::build(&settings, stages, shutdown).await?;
    tracing::info!(?stages, backends = ?settings.backends, "tributary {face} is running");
    println!(
        "Tributary {face}: dashboard at {}  (POST readings to {}api/telemetry)",
        app.url(),
        app.url()
    );
    app.run_until_stopped().await
}

async fn serve_host(args: ConfigArgs) -> anyhow::Result<()> {
    let mut settings = load(&args)?;
    let port = std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT")
        .or_else(|_| std::env::var("FUNCTIONS_HTTPWORKER_PORT"))
        .context(
            "FUNCTIONS_CUSTOMHANDLER_PORT is not set: `serve` is started by the Functions host \
             (use `tributary run` or `tributary dev` to run on your own)",
        )?;
    settings.http.host = std::net::Ipv4Addr::LOCALHOST.into();
    settings.http.port = port
        .parse()
        .context("FUNCTIONS_CUSTOMHANDLER_PORT is not a port")?;
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let app = Application::build_host(&settings, shutdown).await?;
    tracing::info!(url = %app.url(), backends = ?settings.backends, "custom handler ready for the Functions host");
    app.run_until_stopped().await
}

fn package(args: PackageArgs) -> anyhow::Result<()> {
    let binary = match args.binary {
        Some(path) => path,
        None => std::env::current_exe().context("locating this binary")?,
    };
    let done = crate::package::package(&args.app_root, &binary, &args.out, !args.no_zip)?;
    println!(
        "function app in {} ({})",
        done.dir.display(),
        done.functions.join(", ")
    );
    if let Some(zip) = done.zip {
        println!("zip: {}", zip.display());
    }
    Ok(())
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let token =
        crate::startup::token_source(settings.postgres.auth, tributary_postgres::ENTRA_SCOPE)?;
    let store = tributary_postgres::PgResultStore::connect(&settings.postgres, token).await?;
    store.migrate().await.context("migrating PostgreSQL")?;
    tracing::info!("PostgreSQL schema is up to date");
    Ok(())
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
