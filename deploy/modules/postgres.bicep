// Optional PostgreSQL flexible server for Countersign's request and audit store, reachable only from
// the web app's outbound addresses, TLS required.
@description('Server name; becomes <name>.postgres.database.azure.com.')
param serverName string

param location string

param administratorLogin string

@secure()
param administratorLoginPassword string

param databaseName string

@description('Object id of the Microsoft Entra administrator (user or group) of the server; main.bicep refuses a deployment without one.')
param entraAdminObjectId string

@description('Its display name (user principal name or group name).')
param entraAdminName string

@allowed(['User', 'Group'])
param entraAdminType string

@description('Addresses allowed through the firewall (the web app\'s possible outbound addresses).')
param allowedIpAddresses array

param tags object

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: serverName
  location: location
  tags: tags
  sku: {
    name: 'Standard_B1ms'
    tier: 'Burstable'
  }
  properties: {
    version: '16'
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorLoginPassword
    // Entra for the app (its managed identity's token) and the administrators; the password login is
    // kept for the schema owner that runs `countersign store migrate-schema`.
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Enabled'
      tenantId: tenant().tenantId
    }
    storage: {
      storageSizeGB: 32
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 14
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
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

// Always: the app's principal can only be created by an Entra administrator (docs/postgresql.md).
resource entraAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: entraAdminObjectId
  properties: {
    principalName: entraAdminName
    principalType: entraAdminType
    tenantId: tenant().tenantId
  }
  dependsOn: [database]
}

// One at a time: the server refuses concurrent firewall changes.
@batchSize(1)
resource firewallRules 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = [
  for (address, index) in allowedIpAddresses: {
    parent: server
    name: 'web-app-outbound-${index}'
    properties: {
      startIpAddress: trim(address)
      endIpAddress: trim(address)
    }
  }
]

output fullyQualifiedDomainName string = server.properties.fullyQualifiedDomainName
