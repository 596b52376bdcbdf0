// Cosmos DB for NoSQL: the reading store. Readings are partitioned by device (`/deviceId`); the lease
// container holds the change-feed leases of analyze (prefix `analyze-`, see functions/Analyze) with
// the `/id` partition key the change-feed processor requires. Keys are disabled: the pipeline and
// the KEDA scaler authenticate with Microsoft Entra ID through workload identity.

@description('Azure region.')
param location string

@description('Account name: 3-44 lowercase letters, digits and hyphens, globally unique.')
param accountName string

@description('Tags for every resource.')
param tags object

@description('Database name.')
param databaseName string = 'tributary'

@description('Readings container name.')
param readingsContainerName string = 'readings'

@description('Leases container name.')
param leasesContainerName string = 'leases'

@description('Serverless (pay per request) instead of autoscale provisioned throughput.')
param serverless bool = false

@description('Autoscale ceiling of the readings container in RU/s (provisioned accounts only).')
@minValue(1000)
param readingsMaxThroughput int = 4000

@description('Seconds a reading lives in the store; -1 keeps them forever. Longer than the 7 days ingest accepts, so an expired reading can never come back as new.')
param readingsTimeToLive int = 2592000

@description('Principal of the pipeline identity (read and write).')
param appPrincipalId string

@description('Principal of the change-feed scaler identity (read only).')
param scalerPrincipalId string

var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'
var dataReaderRoleId = '00000000-0000-0000-0000-000000000001'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: serverless ? [
      {
        name: 'EnableServerless'
      }
    ] : []
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource readings 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: readingsContainerName
  properties: {
    resource: {
      id: readingsContainerName
      partitionKey: {
        paths: [
          '/deviceId'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: readingsTimeToLive
    }
    options: serverless ? {} : {
      autoscaleSettings: {
        maxThroughput: readingsMaxThroughput
      }
    }
  }
}

resource leases 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: leasesContainerName
  properties: {
    resource: {
      id: leasesContainerName
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
        version: 2
      }
    }
    options: serverless ? {} : {
      autoscaleSettings: {
        maxThroughput: 1000
      }
    }
  }
}

resource appData 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, appPrincipalId, dataContributorRoleId)
  properties: {
    principalId: appPrincipalId
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    scope: account.id
  }
}

resource scalerData 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, scalerPrincipalId, dataReaderRoleId)
  properties: {
    principalId: scalerPrincipalId
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataReaderRoleId}'
    scope: account.id
  }
}

output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output readingsContainerName string = readings.name
output leasesContainerName string = leases.name
