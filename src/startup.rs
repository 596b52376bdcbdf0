//! Start-up: `Application::build` opens the adapters the chosen stages need (embedded or real, by
//! settings) and binds the listener; `run_until_stopped` serves HTTP and runs the stage triggers until
//! the token is cancelled, then drains: HTTP stops accepting, triggers finish the batch in hand. A
//! trigger that ends or panics on its own marks its stage dead and stops the process (`supervise`).

mod supervise;
mod wiring;

use crate::app::app;
use crate::settings::Settings;
use crate::state::AppState;
use anyhow::Context;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use supervise::Trigger;
pub use wiring::{token_source, Face, Stages};

/// Name of the change feed analyze checkpoints under.
pub const ANALYZE_FEED: &str = "analyze";

pub struct Application {
    listener: TcpListener,
    server_limits: crate::server::ServerLimits,
    state: AppState,
    triggers: Vec<Trigger>,
    shutdown: CancellationToken,
    /// From shutdown to exit, HTTP and triggers together (`shutdown.drain_secs`).
    drain: Duration,
}

impl Application {
    /// The dev face: every stage in this process, on the backends the settings name (embedded by default).
    pub async fn build_dev(
        settings: &Settings,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        Self::build(settings, Stages::all(), shutdown).await
    }

    /// The native face: the chosen stages, on the backends the settings name.
    pub async fn build(
        settings: &Settings,
        stages: Stages,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        Self::build_face(settings, stages, Face::Native, shutdown).await
    }

    /// The custom-handler face: every function of the app, invoked by the Functions host (HTTP
    /// functions by proxying, Analyze and Process by trigger invocations); no triggers of its own.
    pub async fn build_host(
        settings: &Settings,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        Self::build_face(settings, Stages::all(), Face::Host, shutdown).await
    }

    async fn build_face(
        settings: &Settings,
        stages: Stages,
        face: Face,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let (state, triggers) = wiring::wire(settings, stages, face, shutdown.clone()).await?;
        let listener = TcpListener::bind((settings.http.host, settings.http.port))
            .await
            .with_context(|| format!("binding {}:{}", settings.http.host, settings.http.port))?;
        let mut app = Self {
            listener,
            server_limits: crate::server::ServerLimits::from_settings(&settings.overload),
            state,
            triggers,
            shutdown: shutdown.clone(),
            drain: settings.shutdown.drain(),
        };
        if let Some(devices) = settings.simulate {
            let target = format!("http://{}", app.listener.local_addr()?);
            app.add_trigger(
                "simulate",
                crate::simulate::feed_simple(target, devices, shutdown),
            );
        }
        Ok(app)
    }

    /// Runs `task` beside the stages, supervised as `stage`: should it end or panic before shutdown,
    /// the stage is reported dead and the process drains and stops with an error.
    pub fn add_trigger(
        &mut self,
        stage: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let health = self.state.health.stage(stage);
        self.triggers.push(Trigger::new(health, task));
    }

    /// Per-stage health, as `/healthz` and `/readyz` report it.
    pub fn health(&self) -> crate::health::Health {
        self.state.health.clone()
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

    /// Serves HTTP and runs the triggers until shutdown is asked for or a trigger dies, then drains
    /// both within the drain deadline. Errs if a trigger died (so the process exits non-zero).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let server = crate::server::serve(
            self.listener,
            app(self.state.clone()),
            self.server_limits,
            self.shutdown.clone(),
        );
        supervise::run(
            async move {
                server.await;
                Ok(())
            },
            self.triggers,
            &self.state.health,
            &self.shutdown,
            self.drain,
        )
        .await
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
