// User-assigned managed identities: one for the pipeline's pods (ingest, analyze, process, query and
// the migrate job) and one for the Cosmos DB change-feed scaler that KEDA calls. Both reach Azure
// through AKS workload identity; federation.bicep binds them to Kubernetes service accounts.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param namePrefix string

@description('Tags for every resource.')
param tags object

resource app 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${namePrefix}-app'
  location: location
  tags: tags
}

resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${namePrefix}-cosmos-scaler'
  location: location
  tags: tags
}

output appName string = app.name
output appClientId string = app.properties.clientId
output appPrincipalId string = app.properties.principalId
output scalerName string = scaler.name
output scalerClientId string = scaler.properties.clientId
output scalerPrincipalId string = scaler.properties.principalId
