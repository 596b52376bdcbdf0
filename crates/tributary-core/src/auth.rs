//! Access tokens for backends that accept a Microsoft Entra ID token as the password (PostgreSQL
//! flexible server, Azure Managed Redis). Adapters refresh before expiry; where tokens come from is
//! an adapter of its own (azure_identity in production, a fake in tests).

use async_trait::async_trait;
use std::time::{Duration, SystemTime};

/// How a backend authenticates: a password (in its URL, or none), or a Microsoft Entra token used as
/// the password for the identity named as the URL's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    #[default]
    Password,
    Entra,
}

/// A bearer token and when it stops being valid.
#[derive(Clone)]
pub struct AccessToken {
    pub secret: String,
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where tokens come from. `token` may be called often; sources cache as they see fit.
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn token(&self) -> Result<AccessToken, String>;
}

/// Refresh this long before a token expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How long to wait before refreshing a token that expires at `expires_at` (at least `floor`).
pub fn refresh_delay(expires_at: SystemTime, now: SystemTime, floor: Duration) -> Duration {
    expires_at
        .duration_since(now)
        .unwrap_or_default()
        .saturating_sub(REFRESH_MARGIN)
        .max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_five_minutes_before_expiry_but_never_in_a_busy_loop() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let floor = Duration::from_millis(50);
        assert_eq!(
            refresh_delay(now + Duration::from_secs(3600), now, floor),
            Duration::from_secs(3300)
        );
        assert_eq!(
            refresh_delay(now + Duration::from_secs(60), now, floor),
            floor
        );
        assert_eq!(
            refresh_delay(now - Duration::from_secs(60), now, floor),
            floor
        );
        assert!(!format!(
            "{:?}",
            AccessToken {
                secret: "s3cret".into(),
                expires_at: now
            }
        )
        .contains("s3cret"));
    }
}
