// Azure Managed Redis, the latest-state cache and live feed: TLS on port 10000, access keys off,
// Microsoft Entra ID only. Non-clustered, because the cache's Lua scripts and pub/sub expect one
// endpoint. The Redis user of an identity is its object id; the password is an Entra token for
// https://redis.azure.com/.default.

@description('Azure region.')
param location string

@description('Cache name, globally unique.')
param name string

@description('Tags for every resource.')
param tags object

@description('Azure Managed Redis SKU.')
param skuName string = 'Balanced_B1'

@description('Replicate for high availability.')
param highAvailability bool = false

@description('Object id of the pipeline identity.')
param appPrincipalId string

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    minimumTlsVersion: '1.2'
    highAvailability: highAvailability ? 'Enabled' : 'Disabled'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    clusteringPolicy: 'NoCluster'
    evictionPolicy: 'VolatileLRU'
    accessKeysAuthentication: 'Disabled'
  }
}

resource appAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = {
  parent: database
  name: 'tributaryapp'
  properties: {
    accessPolicyName: 'default'
    user: {
      objectId: appPrincipalId
    }
  }
}

output host string = cluster.properties.hostName
output port int = database.properties.port
