// HDInsight Kafka, the option to Event Hubs: brokers inside the virtual network (plaintext on 9092,
// reachable only from the AKS subnet). HDInsight needs a storage account of its own for the cluster
// file system. Broker host names are read after deployment (`az hdinsight host list`), so the
// bootstrap servers are a deploy-time value, not an output.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param namePrefix string

@description('Tags for every resource.')
param tags object

@description('Subnet of the cluster.')
param subnetId string

@description('Virtual network of the cluster.')
param vnetId string

@description('Cluster version.')
param clusterVersion string = '5.1'

@description('Kafka component version.')
param kafkaVersion string = '3.2'

@description('Broker (worker node) count.')
@minValue(3)
param brokerCount int = 3

@description('Managed disks per broker.')
@minValue(1)
param disksPerBroker int = 2

@description('Cluster gateway (Ambari) user name.')
param gatewayUser string = 'admin'

@description('Cluster gateway password.')
@secure()
param gatewayPassword string

@description('SSH user of the nodes.')
param sshUser string = 'sshuser'

@description('SSH password of the nodes.')
@secure()
param sshPassword string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: take('sthdi${uniqueString(resourceGroup().id, namePrefix)}', 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
  }
}

var workerNodeSize = 'Standard_D4a_v4'
var headNodeSize = 'Standard_E4_v3'

resource cluster 'Microsoft.HDInsight/clusters@2021-06-01' = {
  name: 'hdi-${namePrefix}'
  location: location
  tags: tags
  properties: {
    clusterVersion: clusterVersion
    osType: 'Linux'
    tier: 'Standard'
    clusterDefinition: {
      kind: 'kafka'
      componentVersion: {
        Kafka: kafkaVersion
      }
      configurations: {
        gateway: {
          'restAuthCredential.isEnabled': true
          'restAuthCredential.username': gatewayUser
          'restAuthCredential.password': gatewayPassword
        }
      }
    }
    storageProfile: {
      storageaccounts: [
        {
          name: replace(replace(storage.properties.primaryEndpoints.blob, 'https://', ''), '/', '')
          isDefault: true
          container: 'hdi-${namePrefix}'
          key: storage.listKeys().keys[0].value
        }
      ]
    }
    computeProfile: {
      roles: [
        {
          name: 'headnode'
          targetInstanceCount: 2
          hardwareProfile: {
            vmSize: headNodeSize
          }
          osProfile: {
            linuxOperatingSystemProfile: {
              username: sshUser
              password: sshPassword
            }
          }
          virtualNetworkProfile: {
            id: vnetId
            subnet: subnetId
          }
        }
        {
          name: 'workernode'
          targetInstanceCount: brokerCount
          hardwareProfile: {
            vmSize: workerNodeSize
          }
          dataDisksGroups: [
            {
              disksPerNode: disksPerBroker
            }
          ]
          osProfile: {
            linuxOperatingSystemProfile: {
              username: sshUser
              password: sshPassword
            }
          }
          virtualNetworkProfile: {
            id: vnetId
            subnet: subnetId
          }
        }
        {
          name: 'zookeepernode'
          targetInstanceCount: 3
          hardwareProfile: {
            vmSize: 'Standard_A4_v2'
          }
          osProfile: {
            linuxOperatingSystemProfile: {
              username: sshUser
              password: sshPassword
            }
          }
          virtualNetworkProfile: {
            id: vnetId
            subnet: subnetId
          }
        }
      ]
    }
  }
}

output clusterName string = cluster.name
