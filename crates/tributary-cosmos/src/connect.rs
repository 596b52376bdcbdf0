//! Opens the account (key or Entra ID), creates the database and containers when configured to, and
//! hands out the two container clients. Settings only; no reading or lease logic.

use crate::{error, CosmosAuth, CosmosSettings, BACKEND};
use azure_core::credentials::{Secret, TokenCredential};
use azure_data_cosmos::clients::ContainerClient;
use azure_data_cosmos::models::{ContainerProperties, PartitionKeyDefinition};
use azure_data_cosmos::options::{
    BinaryEncodingOptions, ConnectionPoolOptions, EndToEndOperationLatencyPolicy, OperationOptions,
    ThrottlingRetryOptions,
};
use azure_data_cosmos::{
    AccountEndpoint, AccountReference, CosmosClient, CosmosClientBuilder, CosmosRuntime,
    RoutingStrategy,
};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tributary_core::PortError;

/// The readings and leases containers of one account.
#[derive(Clone)]
pub struct CosmosDb {
    pub readings: ContainerClient,
    pub leases: ContainerClient,
    pub(crate) settings: Arc<CosmosSettings>,
}

impl CosmosDb {
    /// Connects with the configured authentication; `credential` is used for `auth = "entra"`.
    pub async fn connect(
        settings: &CosmosSettings,
        credential: Option<Arc<dyn TokenCredential>>,
    ) -> Result<Self, PortError> {
        let endpoint: AccountEndpoint = settings.endpoint.parse().map_err(|e| {
            PortError::broken(BACKEND, format!("endpoint {:?}: {e}", settings.endpoint))
        })?;
        let account = match settings.auth {
            CosmosAuth::Key => {
                let key = settings.key.as_ref().ok_or_else(|| {
                    PortError::broken(BACKEND, "cosmos.auth is \"key\" but cosmos.key is not set")
                })?;
                AccountReference::with_authentication_key(
                    endpoint,
                    Secret::new(key.expose_secret().to_owned()),
                )
            }
            CosmosAuth::Entra => {
                let credential = credential.ok_or_else(|| {
                    PortError::broken(BACKEND, "cosmos.auth is \"entra\" but no credential")
                })?;
                AccountReference::with_credential(endpoint, credential)
            }
        };
        let client = client(settings, account).await?;
        let database = client.database_client(settings.database.as_str());
        if settings.create_if_absent {
            create_if_absent(&client, settings).await?;
        }
        let mut containers = Vec::with_capacity(2);
        for name in [&settings.readings_container, &settings.leases_container] {
            let container = database
                .container_client(name.as_str(), None)
                .await
                .map_err(|e| error(&format!("container {name}"), e))?;
            containers.push(container);
        }
        let leases = containers.pop().expect("two containers");
        let readings = containers.pop().expect("two containers");
        Ok(Self {
            readings,
            leases,
            settings: Arc::new(settings.clone()),
        })
    }

    /// Options for one call: throttling (429) and transient failures are retried by the SDK, but the
    /// whole call, retries included, ends at the deadline.
    pub(crate) fn operation_options(&self) -> OperationOptions {
        let deadline = Duration::from_millis(self.settings.deadline_ms);
        let mut throttling = ThrottlingRetryOptions::default();
        throttling.max_retry_wait_time = Some(deadline);
        let mut options = OperationOptions::default();
        options.throttling_retry_options = Some(throttling);
        options.end_to_end_latency_policy = Some(EndToEndOperationLatencyPolicy::new(deadline));
        options
    }
}

async fn client(
    settings: &CosmosSettings,
    account: AccountReference,
) -> Result<CosmosClient, PortError> {
    let mut builder = CosmosClientBuilder::new().with_binary_encoding_options(
        BinaryEncodingOptions::new().with_enabled(settings.binary_encoding),
    );
    if !settings.http2 {
        let pool = ConnectionPoolOptions::builder()
            .with_is_http2_allowed(false)
            .build()
            .map_err(|e| error("connection pool options", e))?;
        let runtime = CosmosRuntime::builder()
            .with_connection_pool(pool)
            .build()
            .await
            .map_err(|e| error("runtime", e))?;
        builder = builder.with_runtime(runtime);
    }
    builder
        .build(account, RoutingStrategy::PreferredRegions(Vec::new()))
        .await
        .map_err(|e| error(&format!("connect to {}", settings.endpoint), e))
}

async fn create_if_absent(
    client: &CosmosClient,
    settings: &CosmosSettings,
) -> Result<(), PortError> {
    let conflict_is_fine = |what: &str, r: Result<(), azure_data_cosmos::CosmosError>| match r {
        Err(e) if !e.status().is_conflict() => Err(error(&format!("create {what}"), e)),
        _ => Ok(()),
    };
    conflict_is_fine(
        "database",
        client
            .create_database(&settings.database, None)
            .await
            .map(drop),
    )?;
    let database = client.database_client(settings.database.as_str());
    let mut readings = ContainerProperties::new(
        settings.readings_container.clone(),
        PartitionKeyDefinition::from("/deviceId"),
    );
    if let Some(ttl) = settings.ttl_secs {
        readings = readings.with_default_ttl(ttl);
    }
    let leases = ContainerProperties::new(
        settings.leases_container.clone(),
        PartitionKeyDefinition::from("/id"),
    );
    for properties in [readings, leases] {
        let name = properties.id.to_string();
        conflict_is_fine(
            &name,
            database.create_container(properties, None).await.map(drop),
        )?;
    }
    Ok(())
}
