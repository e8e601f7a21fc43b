// The custom role Countersign's managed identity acts under: exactly the actions its commands need,
// listed in deploy/role-actions.json. Role definitions live at subscription level, hence this scope.
// At subscription scope the role is also assigned here; at resource-group scope main.bicep assigns it
// with operator-role-assignment.bicep.
targetScope = 'subscription'

@description('Display name of the role; unique in the tenant.')
param roleName string

@description('Resource provider operations the role allows (no wildcards).')
param actions array

@description('The one scope the role can be assigned at: the subscription id or a resource group id.')
param assignableScope string

@description('Object id of the managed identity that gets the role.')
param principalId string

@description('Assign the role at the subscription (otherwise the caller assigns it at a resource group).')
param assignAtSubscription bool

resource operatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // Stable per subscription and role name, so redeploying updates the role instead of adding one.
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'Countersign runs approved Azure changes with these actions only.'
    type: 'CustomRole'
    assignableScopes: [
      assignableScope
    ]
    permissions: [
      {
        actions: actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource subscriptionAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (assignAtSubscription) {
  name: guid(subscription().id, principalId, operatorRole.id)
  properties: {
    roleDefinitionId: operatorRole.id
    principalId: principalId
    // A new identity may not have replicated yet; naming the type avoids the lookup that would fail.
    principalType: 'ServicePrincipal'
    description: 'Countersign executes approved requests as this managed identity.'
  }
}

output roleDefinitionId string = operatorRole.id
