// AKS with what the manifests rely on: the KEDA add-on (ScaledObjects), the Istio-based service mesh
// add-on with an external ingress gateway (mutual TLS between pods, ingress for the HTTP functions),
// the OIDC issuer and workload identity (pods reach Azure without secrets), Container Insights, and
// AcrPull for the kubelet.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param namePrefix string

@description('Tags for every resource.')
param tags object

@description('Kubernetes version; empty takes the region default.')
param kubernetesVersion string = ''

@description('Istio control-plane revision of the mesh add-on, e.g. asm-1-26 (`az aks mesh get-revisions`).')
param istioRevision string

@description('Virtual network of the nodes.')
param vnetName string

@description('Subnet of the nodes in that network.')
param subnetName string

@description('VM size of the system and user node pools.')
param nodeVmSize string = 'Standard_D4ds_v5'

@description('Smallest and largest number of user nodes.')
@minValue(1)
param userNodeMin int = 2

@maxValue(100)
param userNodeMax int = 10

@description('Log Analytics workspace for Container Insights.')
param workspaceId string

@description('Registry the kubelet pulls images from.')
param acrName string

var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull
var networkContributorRoleId = '4d97b98b-1d4f-4787-a291-c67834d212e7' // Network Contributor

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' existing = {
  name: vnetName
}

resource subnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: subnetName
}

// A user-assigned control-plane identity, so it can be given the subnet before the cluster exists.
resource controlPlane 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${namePrefix}-aks'
  location: location
  tags: tags
}

resource controlPlaneSubnet 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subnet.id, controlPlane.id, networkContributorRoleId)
  scope: subnet
  properties: {
    principalId: controlPlane.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', networkContributorRoleId)
  }
}

resource cluster 'Microsoft.ContainerService/managedClusters@2025-10-01' = {
  name: 'aks-${namePrefix}'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${controlPlane.id}': {}
    }
  }
  dependsOn: [
    controlPlaneSubnet
  ]
  sku: {
    name: 'Base'
    tier: 'Standard'
  }
  properties: {
    kubernetesVersion: empty(kubernetesVersion) ? null : kubernetesVersion
    dnsPrefix: 'aks-${namePrefix}'
    enableRBAC: true
    disableLocalAccounts: false
    agentPoolProfiles: [
      {
        name: 'system'
        mode: 'System'
        count: 2
        vmSize: nodeVmSize
        osType: 'Linux'
        osSKU: 'AzureLinux'
        vnetSubnetID: subnet.id
        availabilityZones: [
          '1'
          '2'
          '3'
        ]
        nodeTaints: [
          'CriticalAddonsOnly=true:NoSchedule'
        ]
      }
      {
        name: 'user'
        mode: 'User'
        vmSize: nodeVmSize
        osType: 'Linux'
        osSKU: 'AzureLinux'
        vnetSubnetID: subnet.id
        enableAutoScaling: true
        count: userNodeMin
        minCount: userNodeMin
        maxCount: userNodeMax
        availabilityZones: [
          '1'
          '2'
          '3'
        ]
      }
    ]
    networkProfile: {
      networkPlugin: 'azure'
      networkPluginMode: 'overlay'
      networkDataplane: 'cilium'
      networkPolicy: 'cilium'
      loadBalancerSku: 'standard'
      podCidr: '192.168.0.0/16'
      serviceCidr: '172.16.0.0/16'
      dnsServiceIP: '172.16.0.10'
    }
    oidcIssuerProfile: {
      enabled: true
    }
    securityProfile: {
      workloadIdentity: {
        enabled: true
      }
    }
    workloadAutoScalerProfile: {
      keda: {
        enabled: true
      }
    }
    serviceMeshProfile: {
      mode: 'Istio'
      istio: {
        revisions: [
          istioRevision
        ]
        components: {
          ingressGateways: [
            {
              mode: 'External'
              enabled: true
            }
          ]
        }
      }
    }
    addonProfiles: {
      omsagent: {
        enabled: true
        config: {
          logAnalyticsWorkspaceResourceID: workspaceId
          useAADAuth: 'true'
        }
      }
    }
    autoUpgradeProfile: {
      upgradeChannel: 'patch'
      nodeOSUpgradeChannel: 'NodeImage'
    }
  }
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: acrName
}

resource kubeletAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, cluster.id, acrPullRoleId)
  scope: registry
  properties: {
    principalId: cluster.properties.identityProfile.kubeletidentity.objectId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
  }
}

output name string = cluster.name
output oidcIssuerUrl string = cluster.properties.oidcIssuerProfile.issuerURL
