// Countersign in one resource group: an Azure Bot with the Teams channel, a Linux Web App running the
// bot, one user-assigned managed identity (the bot's Bot Framework identity and the caller of every ARM
// operation), a custom role holding only the actions Countersign's commands need, Application Insights
// on a Log Analytics workspace, and optionally a PostgreSQL flexible server.
//
//   az deployment group create -g <bot resource group> -f deploy/main.bicep -p @deploy/main.parameters.json
//
// See deploy/README.md for the whole walkthrough.
targetScope = 'resourceGroup'

@description('Short name the resource names derive from, e.g. countersign-prod.')
@minLength(3)
@maxLength(24)
param namePrefix string

@description('Region for everything except the bot registration, which is global.')
param location string = resourceGroup().location

@description('UserAssignedMSI: the bot signs in to Bot Framework as the managed identity (no secret). SingleTenant: as an Entra app registration you created (singleTenantAppId + singleTenantAppPassword).')
@allowed(['UserAssignedMSI', 'SingleTenant'])
param botAppType string = 'UserAssignedMSI'

@description('SingleTenant only: client id of the Entra app registration of the bot.')
param singleTenantAppId string = ''

@description('SingleTenant only: its client secret, or a Key Vault reference @Microsoft.KeyVault(SecretUri=...) readable by the managed identity.')
@secure()
param singleTenantAppPassword string = ''

@description('Azure Bot pricing tier. Teams is a standard channel: F0 is free for it.')
@allowed(['F0', 'S1'])
param botSku string = 'F0'

@description('App Service plan tier (Linux). Basic or higher: Free and Shared have no Always On.')
@allowed(['B1', 'B2', 'B3', 'S1', 'S2', 'P0v3', 'P1v3'])
param appServiceSku string = 'B1'

@description('Where the managed identity may act: subscription (needed to create resource groups) or resourceGroup (only targetResourceGroupName).')
@allowed(['subscription', 'resourceGroup'])
param roleAssignmentScope string = 'resourceGroup'

@description('resourceGroup scope only: the existing resource group Countersign manages. Not the bot\'s own group.')
param targetResourceGroupName string = ''

@description('Path of the Countersign YAML config on the web app; /home survives restarts and redeployments.')
param countersignConfigPath string = '/home/site/countersign/countersign.yaml'

@description('Directory of the SQLite database and signing keys; on /home so it persists.')
param countersignDataDir string = '/home/site/countersign/data'

@description('Create a PostgreSQL flexible server (and its database) and run Countersign on it with several instances (COUNTERSIGN_STORE=postgres, Microsoft Entra authentication). Without it the store is SQLite: one instance only.')
param deployPostgres bool = false

@description('deployPostgres only: App Service instances (at least 2, so one can die without stopping approvals).')
@minValue(2)
@maxValue(10)
param postgresInstanceCount int = 2

@description('deployPostgres only, and required with it: object id of the Microsoft Entra user or group administering the database (it runs the one SQL step of docs/postgresql.md).')
param postgresEntraAdminObjectId string = ''

@description('deployPostgres only, and required with it: display name (user principal name or group name) of that administrator.')
param postgresEntraAdminName string = ''

@description('deployPostgres only: User or Group.')
@allowed(['User', 'Group'])
param postgresEntraAdminType string = 'Group'

@description('deployPostgres only: administrator login of the PostgreSQL server.')
param postgresAdminLogin string = 'countersign'

@description('deployPostgres only: administrator password. Pass it on the command line, never in a file.')
@secure()
param postgresAdminPassword string = ''

@description('Days Log Analytics keeps logs (App Service console logs and Application Insights).')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Tags put on every resource.')
param tags object = {}

var uniqueSuffix = take(uniqueString(subscription().id, resourceGroup().id, namePrefix), 8)
var webAppName = '${namePrefix}-${uniqueSuffix}'
var botName = '${namePrefix}-bot-${uniqueSuffix}'
var postgresServerName = '${namePrefix}-pg-${uniqueSuffix}'
// Known before the web app exists, so the app can carry it in its own settings.
var publicUrl = 'https://${webAppName}.azurewebsites.net'
var usesManagedIdentityForBot = botAppType == 'UserAssignedMSI'
var manageWholeSubscription = roleAssignmentScope == 'subscription'
// A role scoped to one group needs that group, and never the bot's own: Countersign could then delete
// itself and its audit data (deploy/README.md). fail() stops the deployment with its message (see below).
var roleScopeId = manageWholeSubscription ? subscription().id : empty(targetResourceGroupName) ? fail('roleAssignmentScope=resourceGroup needs targetResourceGroupName: the existing resource group Countersign manages.') : toLower(targetResourceGroupName) == toLower(resourceGroup().name) ? fail('targetResourceGroupName must not be the resource group the bot is deployed to: Countersign could then delete itself and its audit data. Name the group it manages.') : '${subscription().id}/resourceGroups/${targetResourceGroupName}'
// Kept in its own file so a test can compare it with what the command catalog needs.
var roleActions = loadJsonContent('role-actions.json').actions

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-identity'
  location: location
  tags: tags
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-insights'
  location: location
  kind: 'web'
  tags: tags
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${namePrefix}-plan'
  location: location
  kind: 'linux'
  tags: tags
  sku: {
    name: appServiceSku
    // SQLite is one instance only: its file lives on /home, a network share where SQLite's write-ahead
    // log is not safe, and one process must write it. PostgreSQL is shared: at least two instances.
    capacity: deployPostgres ? postgresInstanceCount : 1
  }
  properties: {
    reserved: true
  }
}

// A SingleTenant bot without its app registration would start with no MicrosoftAppId and be refused
// (it listens on 0.0.0.0): refuse the deployment instead, naming the parameters.
var botAppId = usesManagedIdentityForBot ? identity.properties.clientId : empty(singleTenantAppId) || empty(singleTenantAppPassword) ? fail('botAppType=SingleTenant needs singleTenantAppId and singleTenantAppPassword: the client id and secret of the Entra app registration of the bot (deploy/README.md step 4).') : singleTenantAppId

var coreAppSettings = [
  { name: 'MicrosoftAppId', value: botAppId }
  { name: 'MicrosoftAppType', value: botAppType }
  { name: 'MicrosoftAppTenantId', value: tenant().tenantId }
  // DefaultAzureCredential picks this user-assigned identity for the ARM calls.
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'COUNTERSIGN_CONFIG', value: countersignConfigPath }
  { name: 'COUNTERSIGN_DATA_DIR', value: countersignDataDir }
  // The bot listens on loopback unless told otherwise; App Service forwards to the container's PORT.
  { name: 'COUNTERSIGN_HOST', value: '0.0.0.0' }
  { name: 'COUNTERSIGN_PUBLIC_URL', value: publicUrl }
  // Countersign sends its traces and metrics itself (OpenTelemetry, src/telemetry); App Service's
  // auto-instrumentation agent (ApplicationInsightsAgent_EXTENSION_VERSION) stays off so nothing is sent twice.
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
  // The zip from `npm run package:deploy` is complete (compiled code, production node_modules with
  // better-sqlite3 built for Node 24 on Linux x64): nothing is built on the server.
  { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'false' }
]
var singleTenantAppSettings = usesManagedIdentityForBot ? [] : [
  { name: 'MicrosoftAppPassword', value: singleTenantAppPassword }
]
// PostgreSQL, chosen explicitly, reached with the libpq variables and no password in the settings: the
// managed identity's Microsoft Entra token is the password (it logs in as the database principal named
// after the identity, holding only the runtime role: docs/postgresql.md gives the SQL step).
var postgresAppSettings = deployPostgres ? [
  { name: 'COUNTERSIGN_STORE', value: 'postgres' }
  { name: 'PGHOST', value: '${postgresServerName}.postgres.database.azure.com' }
  { name: 'PGDATABASE', value: 'countersign' }
  { name: 'PGUSER', value: identity.name }
  { name: 'PGSSLMODE', value: 'verify-full' }
  { name: 'COUNTERSIGN_DATABASE_AUTH', value: 'entra' }
  { name: 'COUNTERSIGN_DATABASE_CLIENT_ID', value: identity.properties.clientId }
  // Each instance keeps to its share of Teams' per-conversation rate limits (docs/postgresql.md):
  // keep it equal to the plan's capacity if you scale by hand.
  { name: 'COUNTERSIGN_INSTANCES', value: string(postgresInstanceCount) }
] : []

resource webApp 'Microsoft.Web/sites@2024-04-01' = {
  name: webAppName
  location: location
  kind: 'app,linux'
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    // Key Vault references in app settings resolve with the same identity.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'NODE|24-lts'
      // Node itself, not `npm start`: a stop signal must reach node for its graceful stop (drain, leases
      // released, shutdown checkpoint). The start script is the same command after `exec`, for anyone
      // who runs `npm start`. App Service's own startup script still sits above it. The young generation
      // is held to 16 MB semi-spaces, whatever memory the plan's machine has (docs/operations-runtime.md).
      appCommandLine: 'node --max-semi-space-size=16 --enable-source-maps dist/main.js'
      alwaysOn: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      healthCheckPath: '/healthz'
      appSettings: concat(coreAppSettings, singleTenantAppSettings, postgresAppSettings)
    }
  }
}

resource webAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: webApp
  properties: {
    workspaceId: workspace.id
    logs: [
      for category in ['AppServiceConsoleLogs', 'AppServiceHTTPLogs', 'AppServicePlatformLogs']: {
        category: category
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botName
  location: 'global'
  kind: 'azurebot'
  tags: tags
  sku: {
    name: botSku
  }
  properties: {
    displayName: 'Countersign'
    description: 'Azure changes from Teams, run only after a second person approves.'
    endpoint: 'https://${webApp.properties.defaultHostName}/api/messages'
    msaAppId: botAppId
    msaAppType: botAppType
    msaAppTenantId: tenant().tenantId
    msaAppMSIResourceId: usesManagedIdentityForBot ? identity.id : null
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

module operatorRole 'modules/operator-role.bicep' = {
  name: 'countersign-operator-role'
  scope: subscription()
  params: {
    roleName: 'Countersign operator (${namePrefix})'
    actions: roleActions
    assignableScope: roleScopeId
    principalId: identity.properties.principalId
    assignAtSubscription: manageWholeSubscription
  }
}

module operatorRoleAssignment 'modules/operator-role-assignment.bicep' = if (!manageWholeSubscription) {
  name: 'countersign-operator-assignment'
  // The fallback keeps the scope valid when this module is skipped (subscription scope).
  scope: resourceGroup(manageWholeSubscription ? resourceGroup().name : targetResourceGroupName)
  params: {
    roleDefinitionId: operatorRole.outputs.roleDefinitionId
    principalId: identity.properties.principalId
  }
}

module postgres 'modules/postgres.bicep' = if (deployPostgres) {
  name: 'countersign-postgres'
  params: {
    serverName: postgresServerName
    location: location
    administratorLogin: postgresAdminLogin
    // The schema's owner logs in with it (countersign store migrate-schema): none would leave the server unusable.
    administratorLoginPassword: deployPostgres && empty(postgresAdminPassword) ? fail('deployPostgres=true needs postgresAdminPassword: the password of the administrator login of the server, which creates the schema (deploy/README.md step 7). Pass it on the command line.') : postgresAdminPassword
    databaseName: 'countersign'
    // Without an Entra administrator nobody can create the app's database principal, so the app could
    // never log in: refuse the deployment, saying why. Bicep has no assert outside its experimental
    // features; fail() (a flow-control function, ARM's own, evaluated only on the branch of the ternary
    // taken) stops the deployment with this message. `deployPostgres &&` keeps it off the path of a
    // SQLite deployment even if the skipped module's parameters were evaluated.
    entraAdminObjectId: deployPostgres && (empty(postgresEntraAdminObjectId) || empty(postgresEntraAdminName)) ? fail('deployPostgres=true needs postgresEntraAdminObjectId and postgresEntraAdminName: the Microsoft Entra user or group that creates the app\'s database principal (deploy/README.md step 4).') : postgresEntraAdminObjectId
    entraAdminName: postgresEntraAdminName
    entraAdminType: postgresEntraAdminType
    // Only the web app's outbound addresses may connect (TLS and the password are still required).
    allowedIpAddresses: split(webApp.properties.possibleOutboundIpAddresses, ',')
    tags: tags
  }
}

@description('Name of the web app, for az webapp commands.')
output webAppName string = webApp.name

@description('Public base URL of the bot; its host goes into the Teams manifest validDomains.')
output webAppUrl string = 'https://${webApp.properties.defaultHostName}'

@description('The bot\'s Microsoft App ID: MicrosoftAppId for the Teams app package.')
output botAppId string = botAppId

output botName string = bot.name

@description('Client id of the managed identity (AZURE_CLIENT_ID on the web app).')
output managedIdentityClientId string = identity.properties.clientId

@description('Object (principal) id of the managed identity, the one the role is assigned to.')
output managedIdentityPrincipalId string = identity.properties.principalId

output operatorRoleDefinitionId string = operatorRole.outputs.roleDefinitionId

@description('Scope at which the managed identity holds the operator role.')
output operatorRoleScope string = roleScopeId

output logAnalyticsWorkspaceId string = workspace.properties.customerId

output postgresHost string = deployPostgres ? postgres.outputs.fullyQualifiedDomainName : ''

@description('deployPostgres only: the database principal to create for the app (docs/postgresql.md).')
output postgresAppPrincipal string = deployPostgres ? identity.name : ''
