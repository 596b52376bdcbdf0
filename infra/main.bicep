// Tributary on Azure: AKS (KEDA, Istio, workload identity), ACR, Cosmos DB, Event Hubs' Kafka
// endpoint (or HDInsight Kafka), PostgreSQL, Azure Managed Redis, API Management, monitoring and the
// identities that tie them together. Deploy into a resource group:
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
// The outputs are what infra/deploy.sh writes into the Kubernetes overlay (infra/k8s/overlays/azure).

targetScope = 'resourceGroup'

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Short environment name, part of every resource name (e.g. prod, staging).')
@minLength(2)
@maxLength(10)
param environmentName string

@description('Tags for every resource.')
param tags object = {}

@description('Kafka implementation: Event Hubs\' Kafka endpoint (default), or HDInsight Kafka inside the virtual network.')
@allowed([
  'eventHubs'
  'hdInsight'
])
param kafkaFlavor string = 'eventHubs'

@description('Event Hubs tier. Kafka clients may compress only on Premium (and Dedicated), and only with gzip; infra/overlay-values.sh sets the producer\'s compression from this.')
@allowed([
  'Standard'
  'Premium'
])
param eventHubsSku string = 'Standard'

@description('Partitions of the scored-readings topic (the most process replicas that share work).')
@minValue(1)
@maxValue(32)
param kafkaPartitions int = 8

@description('Istio revision of the AKS service mesh add-on (`az aks mesh get-revisions -l <region>`).')
param istioRevision string = 'asm-1-26'

@description('Kubernetes version of the cluster; empty takes the region default.')
param kubernetesVersion string = ''

@description('Kubernetes namespace of the pipeline; must match infra/k8s/base/namespace.yaml.')
param namespace string = 'tributary'

@description('Cosmos DB serverless instead of autoscale throughput.')
param cosmosServerless bool = false

@description('API Management publisher e-mail.')
param apimPublisherEmail string

@description('API Management publisher name.')
param apimPublisherName string = 'Tributary'

@description('API Management SKU.')
@allowed([
  'Developer'
  'BasicV2'
  'StandardV2'
  'Premium'
])
param apimSku string = 'BasicV2'

@description('How devices authenticate to ingest: APIM subscription key, or a JWT.')
@allowed([
  'subscriptionKey'
  'jwt'
])
param apimAuthMode string = 'subscriptionKey'

@description('OpenID configuration URL of the device token issuer (jwt mode).')
param apimOpenIdConfigUrl string = ''

@description('Audience of device tokens (jwt mode).')
param apimAudience string = ''

@description('Requests per device per minute through API Management.')
@minValue(1)
param ingestCallsPerDevicePerMinute int = 60

@description('Ingest backend base URL behind APIM (the Istio ingress gateway); infra/deploy.sh sets it after the first rollout.')
param ingestBackendUrl string = 'http://ingress.invalid'

@description('Functions host key of the Ingest function; only for the functions-host overlay.')
@secure()
param ingestFunctionKey string = ''

@description('Optional Entra administrator of PostgreSQL besides the pipeline identity (object id, name, type).')
param postgresAdminObjectId string = ''

param postgresAdminName string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param postgresAdminType string = 'Group'

@description('HDInsight gateway password (hdInsight flavor only).')
@secure()
param hdInsightGatewayPassword string = ''

@description('HDInsight node SSH password (hdInsight flavor only).')
@secure()
param hdInsightSshPassword string = ''

var namePrefix = 'tributary-${environmentName}'
var suffix = uniqueString(resourceGroup().id, environmentName)
var allTags = union(tags, {
  application: 'tributary'
  environment: environmentName
})
var useHdInsight = kafkaFlavor == 'hdInsight'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    namePrefix: namePrefix
    tags: allTags
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    namePrefix: namePrefix
    tags: allTags
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    namePrefix: namePrefix
    tags: allTags
    withHdInsightSubnet: useHdInsight
  }
}

module acr 'modules/acr.bicep' = {
  name: 'acr'
  params: {
    location: location
    name: 'acrtributary${suffix}'
    tags: allTags
  }
}

module aks 'modules/aks.bicep' = {
  name: 'aks'
  params: {
    location: location
    namePrefix: namePrefix
    tags: allTags
    kubernetesVersion: kubernetesVersion
    istioRevision: istioRevision
    vnetName: network.outputs.vnetName
    subnetName: 'snet-aks'
    workspaceId: monitoring.outputs.workspaceId
    acrName: acr.outputs.name
  }
}

module federation 'modules/federation.bicep' = {
  name: 'federation'
  params: {
    oidcIssuerUrl: aks.outputs.oidcIssuerUrl
    appIdentityName: identity.outputs.appName
    scalerIdentityName: identity.outputs.scalerName
    namespace: namespace
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    location: location
    accountName: 'cosmos-${namePrefix}-${suffix}'
    tags: allTags
    serverless: cosmosServerless
    appPrincipalId: identity.outputs.appPrincipalId
    scalerPrincipalId: identity.outputs.scalerPrincipalId
  }
}

module eventHubs 'modules/eventhubs.bicep' = if (!useHdInsight) {
  name: 'eventhubs'
  params: {
    location: location
    namespaceName: 'evhns-${namePrefix}-${suffix}'
    tags: allTags
    sku: eventHubsSku
    partitionCount: kafkaPartitions
    appPrincipalId: identity.outputs.appPrincipalId
  }
}

module hdInsight 'modules/hdinsight-kafka.bicep' = if (useHdInsight) {
  name: 'hdinsight-kafka'
  params: {
    location: location
    namePrefix: namePrefix
    tags: allTags
    vnetId: network.outputs.vnetId
    subnetId: network.outputs.hdInsightSubnetId
    gatewayPassword: hdInsightGatewayPassword
    sshPassword: hdInsightSshPassword
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: location
    serverName: 'psql-${namePrefix}-${suffix}'
    tags: allTags
    subnetId: network.outputs.postgresSubnetId
    vnetId: network.outputs.vnetId
    appIdentityName: identity.outputs.appName
    appPrincipalId: identity.outputs.appPrincipalId
    extraAdminObjectId: postgresAdminObjectId
    extraAdminName: postgresAdminName
    extraAdminType: postgresAdminType
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  params: {
    location: location
    name: 'redis-${namePrefix}-${suffix}'
    tags: allTags
    appPrincipalId: identity.outputs.appPrincipalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: take('sttrib${suffix}', 24)
    tags: allTags
    appPrincipalId: identity.outputs.appPrincipalId
  }
}

module apim 'modules/apim.bicep' = {
  name: 'apim'
  params: {
    location: location
    name: 'apim-${namePrefix}-${suffix}'
    tags: allTags
    sku: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    backendUrl: ingestBackendUrl
    authMode: apimAuthMode
    openIdConfigUrl: apimOpenIdConfigUrl
    audience: apimAudience
    callsPerDevice: ingestCallsPerDevicePerMinute
    renewalPeriodSeconds: 60
    ingestFunctionKey: ingestFunctionKey
    appInsightsId: monitoring.outputs.appInsightsId
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  }
}

@description('Registry login server; images are <acrLoginServer>/tributary:<tag> and /tributary-functions:<tag>.')
output acrLoginServer string = acr.outputs.loginServer
output acrName string = acr.outputs.name
output aksName string = aks.outputs.name
output istioRevision string = istioRevision
output namespace string = namespace
output tenantId string = tenant().tenantId

@description('Client id for the tributary service account annotation and the KEDA/Functions identity settings.')
output appIdentityClientId string = identity.outputs.appClientId
@description('Object id of the pipeline identity: its Redis user name.')
output appIdentityPrincipalId string = identity.outputs.appPrincipalId
output scalerIdentityClientId string = identity.outputs.scalerClientId

output cosmosEndpoint string = cosmos.outputs.endpoint
output cosmosDatabase string = cosmos.outputs.databaseName
output cosmosReadingsContainer string = cosmos.outputs.readingsContainerName
output cosmosLeasesContainer string = cosmos.outputs.leasesContainerName

output kafkaFlavor string = kafkaFlavor
@description('Kafka bootstrap servers (Event Hubs); for HDInsight, infra/deploy.sh lists the brokers.')
output eventHubsSku string = useHdInsight ? '' : eventHubs.outputs.sku
output eventHubsKafkaEndpoint string = useHdInsight ? '' : eventHubs.outputs.kafkaBootstrapServers
output eventHubsNamespace string = useHdInsight ? '' : eventHubs.outputs.namespaceName
output kafkaTopic string = useHdInsight ? 'tributary.scored-readings.v1' : eventHubs.outputs.topic
output kafkaPartitions int = kafkaPartitions
output hdInsightClusterName string = useHdInsight ? hdInsight.outputs.clusterName : ''

output postgresHost string = postgres.outputs.host
output postgresDatabase string = postgres.outputs.databaseName
output postgresUser string = postgres.outputs.user

output redisHost string = redis.outputs.host
output redisPort int = redis.outputs.port

output storageAccountName string = storage.outputs.name
output apimName string = apim.outputs.name
output apimGatewayUrl string = apim.outputs.gatewayUrl
output apimIngestUrl string = apim.outputs.ingestUrl
output appInsightsConnectionString string = monitoring.outputs.appInsightsConnectionString
