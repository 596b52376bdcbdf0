//! Microsoft Entra ID tokens for backends that take one as the password (PostgreSQL flexible server,
//! Azure Managed Redis), from azure_identity: workload identity on AKS (the webhook's
//! `AZURE_FEDERATED_TOKEN_FILE`), else managed identity on Azure hosts (`IDENTITY_ENDPOINT`), else the
//! developer's `az` / `azd` login. The credential caches and renews tokens; the adapters ask again
//! shortly before expiry.

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_identity::{
    DeveloperToolsCredential, ManagedIdentityCredential, WorkloadIdentityCredential,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tributary_core::auth::{AccessToken, TokenSource};

/// Tokens for one scope from one credential.
pub struct EntraTokenSource {
    credential: Arc<dyn TokenCredential>,
    scope: String,
}

impl EntraTokenSource {
    pub fn new(credential: Arc<dyn TokenCredential>, scope: &str) -> Self {
        Self {
            credential,
            scope: scope.to_owned(),
        }
    }

    /// The credential this environment offers (see the module docs for the order).
    pub fn from_environment(scope: &str) -> Result<Self, String> {
        Ok(Self::new(environment_credential()?, scope))
    }
}

/// The credential this environment offers: workload identity, else managed identity, else the
/// developer's tools (see the module docs). For SDKs that take a credential themselves (Cosmos DB).
pub fn environment_credential() -> Result<Arc<dyn TokenCredential>, String> {
    if std::env::var_os("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        Ok(WorkloadIdentityCredential::new(None).map_err(|e| format!("workload identity: {e}"))?)
    } else if std::env::var_os("IDENTITY_ENDPOINT").is_some()
        || std::env::var_os("MSI_ENDPOINT").is_some()
    {
        Ok(ManagedIdentityCredential::new(None).map_err(|e| format!("managed identity: {e}"))?)
    } else {
        Ok(
            DeveloperToolsCredential::new(None)
                .map_err(|e| format!("developer credential: {e}"))?,
        )
    }
}

#[async_trait]
impl TokenSource for EntraTokenSource {
    async fn token(&self) -> Result<AccessToken, String> {
        let token = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| format!("no Entra token for {}: {e}", self.scope))?;
        let expires = u64::try_from(token.expires_on.unix_timestamp()).unwrap_or(0);
        Ok(AccessToken {
            secret: token.token.secret().to_owned(),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(expires),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken as AzureToken, TokenRequestOptions};
    use std::sync::Mutex;

    /// Records the scopes asked for and answers a fixed token.
    #[derive(Debug, Default)]
    struct FakeCredential {
        scopes: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl TokenCredential for FakeCredential {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AzureToken> {
            self.scopes
                .lock()
                .map_err(|_| {
                    azure_core::Error::with_message(azure_core::error::ErrorKind::Other, "poisoned")
                })?
                .extend(scopes.iter().map(|s| s.to_string()));
            let expires = azure_core::time::OffsetDateTime::from_unix_timestamp(1_900_000_000)
                .map_err(|e| {
                    azure_core::Error::with_message(
                        azure_core::error::ErrorKind::Other,
                        e.to_string(),
                    )
                })?;
            Ok(AzureToken::new("eyJ0eXAi.fake.token", expires))
        }
    }

    #[tokio::test]
    async fn tokens_come_from_the_credential_for_the_backends_scope() {
        let credential = Arc::new(FakeCredential::default());
        let source = EntraTokenSource::new(
            credential.clone(),
            "https://ossrdbms-aad.database.windows.net/.default",
        );
        let token = source.token().await.expect("a token");
        assert_eq!(token.secret, "eyJ0eXAi.fake.token");
        assert_eq!(
            token.expires_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000)
        );
        assert_eq!(
            *credential.scopes.lock().expect("lock"),
            ["https://ossrdbms-aad.database.windows.net/.default"]
        );
    }
}
