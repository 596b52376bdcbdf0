#!/usr/bin/env bash
# Writes one deployment's values into the Kubernetes overlays from the Bicep outputs: app.env,
# deploy.env and tributary.toml of overlays/azure, functions.env of overlays/functions-host.
# infra/deploy.sh runs it after `az deployment group create`; the tests run it on sample outputs
# (tests/fixtures/azure/bicep-outputs.json) and check what it writes against what the Bicep enforces.
#   infra/overlay-values.sh OUTPUTS_JSON [K8S_DIR]     (K8S_DIR defaults to infra/k8s)
# Environment: IMAGE_TAG and SCALER_TAG (required); KAFKA_BROKERS (HDInsight: required; Event Hubs:
# the namespace's Kafka endpoint from the outputs). Needs jq.
set -euo pipefail
outputs_file=${1:?usage: overlay-values.sh OUTPUTS_JSON [K8S_DIR]}
k8s=${2:-$(dirname "$0")/k8s}
: "${IMAGE_TAG:?set IMAGE_TAG}" "${SCALER_TAG:?set SCALER_TAG}"
overlay=$k8s/overlays/azure
out() { jq -er --arg k "$1" '.[$k].value' "$outputs_file"; }
acr=$(out acrLoginServer)
cosmos=$(out cosmosEndpoint)

if [ "$(out kafkaFlavor)" = eventHubs ]; then
  brokers=${KAFKA_BROKERS:-$(out eventHubsKafkaEndpoint)}
  # Event Hubs takes Kafka compression only on Premium and Dedicated, and then only gzip
  # ("Compression", learn.microsoft.com/azure/event-hubs/azure-event-hubs-apache-kafka-overview).
  case "$(out eventHubsSku)" in
    Standard) compression=none ;;
    Premium) compression=gzip ;;
    *) echo "unknown Event Hubs tier $(out eventHubsSku)" >&2; exit 1 ;;
  esac
  cat >"$overlay/tributary.toml" <<TOML
# Written by infra/overlay-values.sh. Event Hubs' Kafka endpoint: SASL_SSL with PLAIN, user
# "\$ConnectionString", the password from TRIBUTARY_KAFKA__SASL_PASSWORD (Secret tributary-kafka).
# compression.type follows the namespace's tier ($(out eventHubsSku)).
[kafka.options]
"security.protocol" = "SASL_SSL"
"sasl.mechanism" = "PLAIN"
"sasl.username" = "\$ConnectionString"
"compression.type" = "$compression"
TOML
else
  brokers=${KAFKA_BROKERS:?HDInsight needs KAFKA_BROKERS}
  printf '[kafka.options]\n"security.protocol" = "PLAINTEXT"\n' >"$overlay/tributary.toml"
fi

# The Bicep turns off local auth on Cosmos DB (disableLocalAuth), password auth on PostgreSQL
# (passwordAuth: Disabled) and access keys on Redis (accessKeysAuthentication: Disabled): every
# client uses Entra tokens. PostgreSQL and Redis take TLS only; the binary carries the public roots.
cat >"$overlay/app.env" <<ENV
TRIBUTARY_LOG_FORMAT=json
TRIBUTARY_HTTP__HOST=0.0.0.0
TRIBUTARY_HTTP__PORT=8080
TRIBUTARY_DATA_DIR=/tmp/tributary
TRIBUTARY_BACKENDS__READING_STORE=cosmos
TRIBUTARY_BACKENDS__EVENT_LOG=kafka
TRIBUTARY_BACKENDS__RESULT_STORE=postgres
TRIBUTARY_BACKENDS__CACHE=redis
TRIBUTARY_COSMOS__ENDPOINT=$cosmos
TRIBUTARY_COSMOS__AUTH=entra
TRIBUTARY_COSMOS__DATABASE=$(out cosmosDatabase)
TRIBUTARY_COSMOS__READINGS_CONTAINER=$(out cosmosReadingsContainer)
TRIBUTARY_COSMOS__LEASES_CONTAINER=$(out cosmosLeasesContainer)
TRIBUTARY_KAFKA__BROKERS=$brokers
TRIBUTARY_KAFKA__TOPIC=$(out kafkaTopic)
TRIBUTARY_KAFKA__CONSUMER_GROUP=tributary-process
TRIBUTARY_KAFKA__CREATE_TOPICS=false
TRIBUTARY_POSTGRES__URL=postgres://$(out postgresUser)@$(out postgresHost):5432/$(out postgresDatabase)?sslmode=verify-full
TRIBUTARY_POSTGRES__AUTH=entra
TRIBUTARY_REDIS__URL=rediss://$(out appIdentityPrincipalId)@$(out redisHost):$(out redisPort)/0
TRIBUTARY_REDIS__AUTH=entra
APPLICATIONINSIGHTS_CONNECTION_STRING=$(out appInsightsConnectionString)
ENV
cat >"$overlay/deploy.env" <<ENV
TRIBUTARY_IMAGE=$acr/tributary:$IMAGE_TAG
FUNCTIONS_IMAGE=$acr/tributary-functions:$IMAGE_TAG
COSMOS_SCALER_IMAGE=$acr/external-scaler-azure-cosmos-db:$SCALER_TAG
ISTIO_REVISION=$(out istioRevision)
APP_CLIENT_ID=$(out appIdentityClientId)
SCALER_CLIENT_ID=$(out scalerIdentityClientId)
COSMOS_ENDPOINT=$cosmos
COSMOS_DATABASE=$(out cosmosDatabase)
COSMOS_READINGS_CONTAINER=$(out cosmosReadingsContainer)
COSMOS_LEASES_CONTAINER=$(out cosmosLeasesContainer)
KAFKA_BOOTSTRAP_SERVERS=$brokers
KAFKA_TOPIC=$(out kafkaTopic)
KAFKA_CONSUMER_GROUP=tributary-process
ENV
cat >"$k8s/overlays/functions-host/functions.env" <<ENV
FUNCTIONS_WORKER_RUNTIME=custom
ASPNETCORE_URLS=http://+:8080
AzureWebJobsStorage__accountName=$(out storageAccountName)
AzureWebJobsSecretStorageType=kubernetes
AzureWebJobsKubernetesSecretName=secrets/tributary-function-keys
CosmosDB__accountEndpoint=$cosmos
COSMOS_DATABASE=$(out cosmosDatabase)
COSMOS_READINGS_CONTAINER=$(out cosmosReadingsContainer)
COSMOS_LEASES_CONTAINER=$(out cosmosLeasesContainer)
KAFKA_BROKERS=$brokers
KAFKA_TOPIC=$(out kafkaTopic)
KAFKA_CONSUMER_GROUP=tributary-process
KAFKA_USERNAME=\$ConnectionString
ENV
