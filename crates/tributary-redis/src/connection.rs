//! One Redis connection per process, shared by the cache and the live feed. With an Entra token source
//! the token is the password (Azure Managed Redis): it is fetched before connecting, and shortly before
//! it expires a new connection is made with a fresh token and swapped in; the live feed's subscription
//! reconnects with the current client whenever it drops.

use crate::{error, RedisSettings, BACKEND};
use redis::aio::ConnectionManager;
use redis::IntoConnectionInfo;
use secrecy::ExposeSecret;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tributary_core::auth::{refresh_delay, TokenSource};
use tributary_core::PortError;

#[derive(Clone)]
pub struct RedisConnection {
    inner: Arc<Inner>,
}

struct Inner {
    manager: RwLock<ConnectionManager>,
    client: RwLock<redis::Client>,
}

fn client_with(
    settings: &RedisSettings,
    password: Option<&str>,
) -> Result<redis::Client, PortError> {
    let bad =
        |e: redis::RedisError| PortError::broken(BACKEND, format!("bad Redis URL: {:?}", e.kind()));
    let mut info = settings
        .url
        .expose_secret()
        .into_connection_info()
        .map_err(bad)?;
    if let Some(password) = password {
        let redis = info.redis_settings().clone().set_password(password);
        info = info.set_redis_settings(redis);
    }
    match &settings.ca_file {
        None => redis::Client::open(info).map_err(bad),
        // Trust exactly these CAs instead of the built-in public roots (a private CA, the tests').
        Some(path) => {
            let root_cert = std::fs::read(path).map_err(|e| {
                PortError::broken(BACKEND, format!("Redis CA file {}: {e}", path.display()))
            })?;
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert),
            };
            redis::Client::build_with_tls(info, certificates).map_err(bad)
        }
    }
}

impl RedisConnection {
    pub async fn connect(
        settings: &RedisSettings,
        token: Option<Arc<dyn TokenSource>>,
    ) -> Result<Self, PortError> {
        let first = match &token {
            Some(source) => Some(
                source
                    .token()
                    .await
                    .map_err(|e| PortError::unavailable(BACKEND, e))?,
            ),
            None => None,
        };
        let client = client_with(settings, first.as_ref().map(|t| t.secret.as_str()))?;
        let manager = ConnectionManager::new(client.clone())
            .await
            .map_err(error)?;
        let connection = Self {
            inner: Arc::new(Inner {
                manager: RwLock::new(manager),
                client: RwLock::new(client),
            }),
        };
        if let (Some(source), Some(first)) = (token, first) {
            tokio::spawn(refresh(
                Arc::downgrade(&connection.inner),
                settings.clone(),
                source,
                first.expires_at,
            ));
        }
        Ok(connection)
    }

    pub(crate) fn manager(&self) -> ConnectionManager {
        match self.inner.manager.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn client(&self) -> redis::Client {
        match self.inner.client.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Swaps in a connection with a fresh token before the current one expires; stops with the connection.
async fn refresh(
    inner: std::sync::Weak<Inner>,
    settings: RedisSettings,
    source: Arc<dyn TokenSource>,
    mut expires_at: SystemTime,
) {
    loop {
        tokio::time::sleep(refresh_delay(
            expires_at,
            SystemTime::now(),
            Duration::from_millis(50),
        ))
        .await;
        if inner.strong_count() == 0 {
            return;
        }
        let renewed = async {
            let token = source
                .token()
                .await
                .map_err(|e| PortError::unavailable(BACKEND, e))?;
            let client = client_with(&settings, Some(&token.secret))?;
            let manager = ConnectionManager::new(client.clone())
                .await
                .map_err(error)?;
            Ok::<_, PortError>((token.expires_at, client, manager))
        };
        match renewed.await {
            Ok((expiry, client, manager)) => {
                let Some(inner) = inner.upgrade() else { return };
                if let Ok(mut m) = inner.manager.write() {
                    *m = manager;
                }
                if let Ok(mut c) = inner.client.write() {
                    *c = client;
                }
                expires_at = expiry;
                tracing::debug!("Redis access token refreshed");
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis access token refresh failed; retrying");
                expires_at = SystemTime::now()
                    + tributary_core::auth::REFRESH_MARGIN
                    + Duration::from_secs(5);
            }
        }
    }
}
