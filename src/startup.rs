//! Start-up: `Application::build_dev` opens the embedded stores and binds the listener;
//! `run_until_stopped` serves HTTP and runs the in-process triggers until the token is cancelled,
//! then drains: HTTP stops accepting, triggers finish the batch in hand, all within a deadline.

use crate::app::app;
use crate::settings::Settings;
use crate::state::{system_clock, AppState};
use crate::telemetry::Telemetry;
use crate::triggers::analyze::AnalyzeTrigger;
use crate::triggers::process::ProcessTrigger;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tributary_core::analyze::Analyzer;
use tributary_embedded::{BroadcastLiveFeed, EmbeddedStorage, MemoryLatestCache};

/// How long shutdown waits for HTTP and the triggers to finish.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);
/// Name of the change feed analyze checkpoints under.
pub const ANALYZE_FEED: &str = "analyze";

pub struct Application {
    listener: TcpListener,
    state: AppState,
    analyze: AnalyzeTrigger,
    process: ProcessTrigger,
    simulate: Option<usize>,
}

impl Application {
    /// The dev face: every stage in this process on embedded storage under `settings.data_dir`.
    pub async fn build_dev(
        settings: &Settings,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let storage = EmbeddedStorage::open(&settings.data_dir)
            .await
            .with_context(|| {
                format!("opening the data directory {}", settings.data_dir.display())
            })?;
        let readings = Arc::new(storage.readings);
        let events = Arc::new(storage.events);
        let results = Arc::new(storage.results);
        let cache = Arc::new(MemoryLatestCache::default());
        let live = Arc::new(BroadcastLiveFeed::default());
        let telemetry = Arc::new(Telemetry::default());
        let stored = Arc::new(Notify::new());
        let published = Arc::new(Notify::new());
        let listener = TcpListener::bind((settings.host, settings.port))
            .await
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let analyze = AnalyzeTrigger {
            analyzer: Analyzer::new(ANALYZE_FEED, settings.detector, settings.analyze_batch),
            store: readings.clone(),
            checkpoints: Arc::new(storage.checkpoints),
            log: events.clone(),
            telemetry: telemetry.clone(),
            wake: stored.clone(),
            published: published.clone(),
        };
        let process = ProcessTrigger {
            log: events,
            results: results.clone(),
            cache: cache.clone(),
            live: live.clone(),
            telemetry: telemetry.clone(),
            max_batch: settings.process_batch,
            wake: published,
        };
        let state = AppState {
            readings,
            results,
            cache,
            live,
            limits: settings.limits,
            telemetry,
            clock: system_clock(),
            stored,
            shutdown,
        };
        Ok(Self {
            listener,
            state,
            analyze,
            process,
            simulate: settings.simulate,
        })
    }

    /// The HTTP app over this application's state, for in-process (`oneshot`) tests.
    pub fn router(&self) -> axum::Router {
        app(self.state.clone())
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The base URL clients use (the dashboard is at `/`).
    pub fn url(&self) -> String {
        match self.listener.local_addr() {
            Ok(addr) => format!("http://{addr}/"),
            Err(_) => "(unbound)".to_owned(),
        }
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = self.state.shutdown.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(self.analyze.run(shutdown.clone()));
        tasks.spawn(self.process.run(shutdown.clone()));
        if let Some(devices) = self.simulate {
            let target = format!("http://{}", self.listener.local_addr()?);
            tasks.spawn(crate::simulate::feed_simple(
                target,
                devices,
                shutdown.clone(),
            ));
        }
        let server = axum::serve(self.listener, app(self.state))
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let served = server.await.context("serving HTTP");
        let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("triggers did not stop within {DRAIN_DEADLINE:?}; exiting anyway");
        }
        served
    }
}

/// Cancels `token` on Ctrl-C or SIGTERM (Kubernetes and KEDA scale-in send SIGTERM).
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        token.cancel();
    });
}
