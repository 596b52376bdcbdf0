// The virtual network: AKS nodes, PostgreSQL (private access through a delegated subnet) and, when
// chosen, HDInsight Kafka share it, so the brokers and the database are reachable only from inside.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param namePrefix string

@description('Tags for every resource.')
param tags object

@description('Address space of the virtual network.')
param addressPrefix string = '10.40.0.0/16'

@description('Also create the subnet HDInsight Kafka needs.')
param withHdInsightSubnet bool = false

var aksSubnet = {
  name: 'snet-aks'
  properties: {
    addressPrefix: cidrSubnet(addressPrefix, 20, 0)
  }
}

var postgresSubnet = {
  name: 'snet-postgres'
  properties: {
    addressPrefix: cidrSubnet(addressPrefix, 24, 16)
    delegations: [
      {
        name: 'postgres'
        properties: {
          serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers'
        }
      }
    ]
  }
}

var hdInsightSubnet = {
  name: 'snet-hdinsight'
  properties: {
    addressPrefix: cidrSubnet(addressPrefix, 24, 17)
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'vnet-${namePrefix}'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: withHdInsightSubnet ? [aksSubnet, postgresSubnet, hdInsightSubnet] : [aksSubnet, postgresSubnet]
  }
}

output vnetId string = vnet.id
output vnetName string = vnet.name
output aksSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-aks')
output postgresSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-postgres')
output hdInsightSubnetId string = withHdInsightSubnet
  ? resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-hdinsight')
  : ''
