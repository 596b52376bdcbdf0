// Event Hubs as the Kafka event log: a Standard namespace exposes the Kafka endpoint
// (<namespace>.servicebus.windows.net:9093, SASL_SSL). One event hub per topic. Two SAS rules: the
// pipeline's (send and listen) and a listen-only one for KEDA's Kafka scaler, whose SASL client
// cannot use workload identity (see infra/README.md). The pipeline identity also gets the data
// roles, for OAUTHBEARER once the Kafka client uses Entra tokens.

@description('Azure region.')
param location string

@description('Namespace name: 6-50 characters, globally unique.')
param namespaceName string

@description('Tags for every resource.')
param tags object

@description('Event Hubs tier (Standard or higher has the Kafka endpoint).')
@allowed([
  'Standard'
  'Premium'
])
param sku string = 'Standard'

@description('Throughput units (Standard) or processing units (Premium).')
@minValue(1)
param capacity int = 2

@description('The scored-readings topic.')
param topic string = 'tributary.scored-readings.v1'

@description('Dead-letter topic for messages process cannot apply.')
param deadLetterTopic string = 'tributary.scored-readings.v1.dead-letter'

@description('Partitions of the topic: the most process replicas that share the work.')
@minValue(1)
@maxValue(32)
param partitionCount int = 8

@description('Principal of the pipeline identity.')
param appPrincipalId string

var dataSenderRoleId = '2b629674-e913-4c01-ae53-ef4638d8f975'
var dataReceiverRoleId = 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: sku
    tier: sku
    capacity: capacity
  }
  properties: {
    kafkaEnabled: true
    minimumTlsVersion: '1.2'
    disableLocalAuth: false
    isAutoInflateEnabled: false
  }
}

resource scoredReadings 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: topic
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: 7
  }
}

resource deadLetter 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: deadLetterTopic
  properties: {
    partitionCount: 1
    messageRetentionInDays: 7
  }
}

resource appRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: namespace
  name: 'tributary-app'
  properties: {
    rights: [
      'Send'
      'Listen'
    ]
  }
}

resource scalerRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: namespace
  name: 'keda-scaler'
  properties: {
    rights: [
      'Listen'
    ]
  }
}

resource appSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appPrincipalId, dataSenderRoleId)
  scope: namespace
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataSenderRoleId)
  }
}

resource appReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, appPrincipalId, dataReceiverRoleId)
  scope: namespace
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dataReceiverRoleId)
  }
}

output namespaceName string = namespace.name
output sku string = namespace.sku.name
output kafkaBootstrapServers string = '${namespace.name}.servicebus.windows.net:9093'
output topic string = scoredReadings.name
output deadLetterTopic string = deadLetter.name
output partitionCount int = partitionCount
output appRuleName string = appRule.name
output scalerRuleName string = scalerRule.name
