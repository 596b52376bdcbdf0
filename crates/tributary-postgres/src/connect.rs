//! Connecting to PostgreSQL: a password from the URL, or a Microsoft Entra ID access token used as the
//! password and swapped into the pool's connect options before it expires (Azure Database for
//! PostgreSQL flexible server). The token comes from a `TokenSource`, so tests can use a fake.

use crate::{error, PgResultStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tributary_core::auth::{refresh_delay, TokenSource};
use tributary_core::PortError;

/// How the result store reaches PostgreSQL.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PgSettings {
    /// `postgres://user[:password]@host:port/database?sslmode=…`. Never logged.
    pub url: SecretString,
    pub max_connections: u32,
    /// Seconds to wait for a connection before failing the call (it is then retried).
    pub acquire_timeout_secs: u64,
    /// `password` (in the URL) or `entra`: a Microsoft Entra token as the password for the URL's user
    /// (Azure Database for PostgreSQL flexible server).
    pub auth: tributary_core::auth::Auth,
}

/// The token scope for Azure Database for PostgreSQL.
pub const ENTRA_SCOPE: &str = "https://ossrdbms-aad.database.windows.net/.default";

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("postgres://postgres@127.0.0.1:5432/tributary"),
            max_connections: 10,
            acquire_timeout_secs: 5,
            auth: tributary_core::auth::Auth::Password,
        }
    }
}

impl PgResultStore {
    /// Connects lazily (the first query connects), so start-up does not fail while PostgreSQL is briefly
    /// away. With a token source, the token is the password and is refreshed in the background.
    pub async fn connect(
        settings: &PgSettings,
        token: Option<Arc<dyn TokenSource>>,
    ) -> Result<Self, PortError> {
        let options = PgConnectOptions::from_str(settings.url.expose_secret())
            .map_err(|e| PortError::broken(crate::BACKEND, format!("bad PostgreSQL URL: {e}")))?;
        let pool_options = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs));
        let pool = match token {
            None => pool_options.connect_lazy_with(options),
            Some(source) => {
                let first = source
                    .token()
                    .await
                    .map_err(|e| PortError::unavailable(crate::BACKEND, e))?;
                let pool = pool_options.connect_lazy_with(options.clone().password(&first.secret));
                spawn_refresher(pool.clone(), options, source, first.expires_at);
                pool
            }
        };
        // Touch the pool so an unreachable server shows in the logs at start-up, without failing it.
        if let Err(e) = sqlx::query("SELECT 1").execute(&pool).await.map_err(error) {
            tracing::warn!(error = %e, "PostgreSQL not reachable yet; will retry on use");
        }
        Ok(Self::new(pool))
    }
}

/// The refresher task: sleeps until shortly before expiry, fetches a new token and swaps it into the
/// pool's connect options (existing connections stay authenticated; new ones use the new token).
fn spawn_refresher(
    pool: sqlx::PgPool,
    options: PgConnectOptions,
    source: Arc<dyn TokenSource>,
    mut expires_at: SystemTime,
) {
    tokio::spawn(async move {
        loop {
            let wait = refresh_delay(expires_at, SystemTime::now(), Duration::from_millis(50));
            tokio::time::sleep(wait).await;
            if pool.is_closed() {
                return;
            }
            match source.token().await {
                Ok(token) => {
                    pool.set_connect_options(options.clone().password(&token.secret));
                    expires_at = token.expires_at;
                    tracing::debug!("PostgreSQL access token refreshed");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "PostgreSQL access token refresh failed; retrying");
                    expires_at = SystemTime::now()
                        + tributary_core::auth::REFRESH_MARGIN
                        + Duration::from_secs(5);
                }
            }
        }
    });
}
