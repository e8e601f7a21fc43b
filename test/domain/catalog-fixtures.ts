import { Catalog, type CommandSpec, type ParameterSpec } from '../../src/domain/catalog';

export function cmd(name: string, parameters: ParameterSpec[], operation: CommandSpec['operation']): CommandSpec {
  return { name, description: name, sensitive: true, parameters, operation };
}

/** "delete" is declared before "delete resource group" on purpose: the longer name must still win. */
export const deleteResource = cmd('delete', [{ name: 'id', type: 'string' }], {
  kind: 'deleteResource',
  resourceId: '{id}',
  apiVersion: '2023-01-01',
});

export const deleteGroup = cmd('delete resource group', [{ name: 'name', type: 'string', description: "the resource group's name", pattern: '^[A-Za-z0-9][A-Za-z0-9._()-]{0,88}[A-Za-z0-9_()-]$' }], {
  kind: 'deleteResourceGroup',
  resourceGroup: '{name}',
});

export const deploy = cmd(
  'deploy',
  [
    { name: 'environment', type: 'enum', allowed: ['production', 'staging'] },
    { name: 'service', type: 'enum', allowed: ['api-service', 'web-frontend'] },
  ],
  { kind: 'deployTemplate', resourceGroup: '{environment}-{service}', template: 'templates/{service}.json', parameters: { environment: '{environment}' } },
);

export const scale = cmd(
  'scale',
  [
    { name: 'app', type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    { name: 'instances', type: 'integer', min: 1, max: 10, default: '2' },
  ],
  {
    kind: 'scaleResource',
    resourceId: '/subscriptions/{subscriptionId}/resourceGroups/apps/providers/Microsoft.Web/serverfarms/{app}',
    capacity: '{instances}',
    apiVersion: '2023-12-01',
  },
);

export const tag = cmd(
  'tag',
  [
    { name: 'group', type: 'string' },
    { name: 'key', type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' },
    { name: 'value', type: 'string' },
  ],
  { kind: 'setTags', scope: '/subscriptions/{subscriptionId}/resourceGroups/{group}', tags: { '{key}': '{value}', requestedBy: 'countersign-{requestId}' } },
);

export const restart = cmd('restart app', [{ name: 'app', type: 'string' }, { name: 'slot', type: 'enum', allowed: ['production', 'staging'], default: 'production' }], {
  kind: 'resourceAction',
  resourceId: '/subscriptions/{subscriptionId}/resourceGroups/apps/providers/Microsoft.Web/sites/{app}/slots/{slot}',
  action: 'restart',
  apiVersion: '2023-12-01',
});

export const catalog = new Catalog([deleteResource, deleteGroup, deploy, scale, tag, restart]);
