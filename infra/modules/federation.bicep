// Federated credentials: tokens the AKS OIDC issuer signs for these Kubernetes service accounts are
// accepted as the managed identities. The subjects must match infra/k8s/base/serviceaccounts.yaml.

@description('The AKS cluster OIDC issuer URL.')
param oidcIssuerUrl string

@description('Name of the pipeline identity.')
param appIdentityName string

@description('Name of the Cosmos DB scaler identity.')
param scalerIdentityName string

@description('Kubernetes namespace of the pipeline.')
param namespace string

resource app 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: appIdentityName
}

resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: scalerIdentityName
}

resource appFederation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = {
  parent: app
  name: 'aks-${namespace}-tributary'
  properties: {
    issuer: oidcIssuerUrl
    subject: 'system:serviceaccount:${namespace}:tributary'
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

resource scalerFederation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = {
  parent: scaler
  name: 'aks-${namespace}-cosmos-scaler'
  properties: {
    issuer: oidcIssuerUrl
    subject: 'system:serviceaccount:${namespace}:cosmos-scaler'
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}
