// Azure Container Registry for the two images (native and Functions host); the AKS kubelet identity
// pulls from it, so no pull secret is needed.

@description('Azure region.')
param location string

@description('Registry name: 5-50 alphanumerics, globally unique.')
param name string

@description('Tags for every resource.')
param tags object

@description('Registry SKU.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param sku string = 'Standard'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
