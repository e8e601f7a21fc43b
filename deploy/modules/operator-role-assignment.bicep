// Assigns Countersign's operator role to its managed identity on one resource group (the group this
// module is deployed to), for deployments that must not reach the rest of the subscription.
targetScope = 'resourceGroup'

@description('Id of the operator role definition (from operator-role.bicep).')
param roleDefinitionId string

@description('Object id of the managed identity that gets the role.')
param principalId string

resource groupAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionId)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    // A new identity may not have replicated yet; naming the type avoids the lookup that would fail.
    principalType: 'ServicePrincipal'
    description: 'Countersign executes approved requests as this managed identity.'
  }
}

output roleAssignmentId string = groupAssignment.id
