//! The HTTP server: hyper-util's connection builder in place of `axum::serve`, for the bounds that
//! has none of: a header read timeout, an idle-connection timeout, and a connection limit below the
//! open-file limit. On shutdown it stops accepting and lets the requests in progress finish.

mod activity;
mod files;

pub use files::connection_limit;

use crate::overload::OverloadSettings;
use activity::Activity;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the server bounds its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl ServerLimits {
    /// From the settings; the connection limit is derived from the open-file limit when not set.
    pub fn from_settings(overload: &OverloadSettings) -> Self {
        Self {
            header_read_timeout: overload.header_read_timeout(),
            idle_timeout: overload.idle_timeout(),
            max_connections: connection_limit(overload.max_connections, overload.reserved_files),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits for the connections to
/// finish what they are doing (idle ones close at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    loop {
        // Past the limit, connections wait in the listen backlog and hold no file of ours.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of files or a reset before accept: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (io, activity) = Activity::wrap(stream);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        let idle = limits.idle_timeout;
        connections.spawn(async move {
            let _permit = permit;
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            tokio::pin!(conn);
            // When the connection was asked to close, and whether for shutdown (no deadline: the
            // drain has its own) or for idleness (closed outright if it lingers another period).
            let mut closing: Option<(tokio::time::Instant, bool)> = None;
            loop {
                let idle_at = activity.last() + idle;
                tokio::select! {
                    served = conn.as_mut() => {
                        if let Err(e) = served {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = shutdown.cancelled(), if closing.is_none() => {
                        conn.as_mut().graceful_shutdown();
                        closing = Some((tokio::time::Instant::now(), false));
                    }
                    _ = tokio::time::sleep_until(idle_at), if closing.is_none() => {
                        if activity.last() + idle <= tokio::time::Instant::now() {
                            tracing::debug!("closing an idle connection");
                            conn.as_mut().graceful_shutdown();
                            closing = Some((tokio::time::Instant::now(), true));
                        }
                    }
                    _ = lingering(closing, idle) => break,
                }
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Completes when a connection closed for idleness has still not finished one more idle period.
async fn lingering(closing: Option<(tokio::time::Instant, bool)>, idle: Duration) {
    match closing {
        Some((since, true)) => tokio::time::sleep_until(since + idle).await,
        _ => std::future::pending().await,
    }
}
