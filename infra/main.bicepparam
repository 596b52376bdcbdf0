// Example parameters for infra/main.bicep. Copy and adjust per environment; values that differ per
// run or must stay out of git come from the environment (infra/deploy.sh sets them).
using 'main.bicep'

param environmentName = readEnvironmentVariable('TRIBUTARY_ENV', 'dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param tags = {
  owner: 'platform'
}

// Kafka: Event Hubs' Kafka endpoint by default; 'hdInsight' runs brokers inside the virtual network
// (then also set the two HDInsight passwords below).
param kafkaFlavor = 'eventHubs'
param kafkaPartitions = 8
// Standard: no Kafka compression; Premium: gzip (infra/overlay-values.sh picks it).
param eventHubsSku = 'Standard'

param istioRevision = 'asm-1-26'
param cosmosServerless = false

param apimPublisherEmail = readEnvironmentVariable('APIM_PUBLISHER_EMAIL', 'platform@example.com')
param apimSku = 'BasicV2'
param apimAuthMode = 'subscriptionKey'
param ingestCallsPerDevicePerMinute = 60
param ingestBackendUrl = readEnvironmentVariable('TRIBUTARY_INGRESS_URL', 'http://ingress.invalid')
param ingestFunctionKey = readEnvironmentVariable('TRIBUTARY_INGEST_FUNCTION_KEY', '')

// A person or group who may log in to PostgreSQL with psql (optional).
param postgresAdminObjectId = readEnvironmentVariable('POSTGRES_ADMIN_OBJECT_ID', '')
param postgresAdminName = readEnvironmentVariable('POSTGRES_ADMIN_NAME', '')
param postgresAdminType = 'Group'

param hdInsightGatewayPassword = readEnvironmentVariable('HDINSIGHT_GATEWAY_PASSWORD', '')
param hdInsightSshPassword = readEnvironmentVariable('HDINSIGHT_SSH_PASSWORD', '')
