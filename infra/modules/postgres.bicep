// PostgreSQL flexible server, the result store: private access through a delegated subnet, Microsoft
// Entra authentication only (no passwords). The pipeline identity is an Entra administrator, because
// `tributary migrate` runs as it and owns the schema; its role name is the identity's name.

@description('Azure region.')
param location string

@description('Server name: 3-63 lowercase letters, digits and hyphens, globally unique.')
param serverName string

@description('Tags for every resource.')
param tags object

@description('Delegated subnet of the server.')
param subnetId string

@description('Virtual network linked to the private DNS zone.')
param vnetId string

@description('Database the pipeline uses.')
param databaseName string = 'tributary'

@description('PostgreSQL major version.')
param version string = '16'

@description('Compute size.')
param skuName string = 'Standard_D2ds_v5'

@description('Compute tier of that size.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string = 'GeneralPurpose'

@description('Storage in GiB.')
@minValue(32)
param storageSizeGB int = 64

@description('Zone-redundant high availability.')
param highAvailability bool = false

@description('Name and object id of the pipeline identity.')
param appIdentityName string

param appPrincipalId string

@description('Optional extra Entra administrator (a person or group running psql), object id and name.')
param extraAdminObjectId string = ''

param extraAdminName string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param extraAdminType string = 'Group'

resource dnsZone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: '${serverName}.private.postgres.database.azure.com'
  location: 'global'
  tags: tags
}

resource dnsLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: dnsZone
  name: 'vnet'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: serverName
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  dependsOn: [
    dnsLink
  ]
  properties: {
    version: version
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: highAvailability ? 'ZoneRedundant' : 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Disabled'
      delegatedSubnetResourceId: subnetId
      privateDnsZoneArmResourceId: dnsZone.id
    }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// Administrator writes cannot run concurrently with other server operations: chain them.
resource appAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: appPrincipalId
  dependsOn: [
    database
  ]
  properties: {
    principalName: appIdentityName
    principalType: 'ServicePrincipal'
    tenantId: tenant().tenantId
  }
}

resource extraAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = if (!empty(extraAdminObjectId)) {
  parent: server
  name: empty(extraAdminObjectId) ? 'none' : extraAdminObjectId
  dependsOn: [
    appAdmin
  ]
  properties: {
    principalName: extraAdminName
    principalType: extraAdminType
    tenantId: tenant().tenantId
  }
}

output host string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
output user string = appIdentityName
