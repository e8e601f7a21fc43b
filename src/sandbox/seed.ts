/**
 * What the sandbox's subscription holds at start: a few resource groups a demo can act on.
 */
import type { ResourceDefinition } from './state';
import type { SandboxState } from './state';

export interface SeedGroup {
  name: string;
  location: string;
  tags?: Record<string, string>;
  resources?: ResourceDefinition[];
}

export interface SandboxSeed {
  subscriptionTags?: Record<string, string>;
  resourceGroups: SeedGroup[];
}

export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-00000000c0de';
export const DEFAULT_TENANT_ID = '00000000-0000-0000-0000-0000000ca11e';

export function defaultSeed(subscriptionId: string = DEFAULT_SUBSCRIPTION_ID): SandboxSeed {
  const farmId = `/subscriptions/${subscriptionId}/resourceGroups/production-api-service/providers/Microsoft.Web/serverfarms/api-service-plan`;
  return {
    resourceGroups: [
      {
        name: 'production-api-service',
        location: 'westeurope',
        tags: { environment: 'production', owner: 'platform-team' },
        resources: [
          {
            type: 'Microsoft.Web/serverfarms',
            name: 'api-service-plan',
            location: 'westeurope',
            kind: 'linux',
            sku: { name: 'P1v3', tier: 'PremiumV3', size: 'P1v3', family: 'Pv3', capacity: 2 },
            tags: { environment: 'production' },
            properties: { reserved: true },
          },
          {
            type: 'Microsoft.Web/sites',
            name: 'api-service',
            location: 'westeurope',
            kind: 'app,linux',
            tags: { environment: 'production', service: 'api' },
            properties: { serverFarmId: farmId, httpsOnly: true, siteConfig: { alwaysOn: true, linuxFxVersion: 'NODE|20-lts' } },
          },
        ],
      },
      {
        name: 'staging-old',
        location: 'westeurope',
        tags: { environment: 'staging', expires: '2026-01-31' },
        resources: [
          {
            type: 'Microsoft.Storage/storageAccounts',
            name: 'stagingoldlogs',
            location: 'westeurope',
            kind: 'StorageV2',
            sku: { name: 'Standard_LRS', tier: 'Standard' },
            tags: { environment: 'staging' },
            properties: { accessTier: 'Hot', minimumTlsVersion: 'TLS1_2' },
          },
        ],
      },
      {
        name: 'production-vm',
        location: 'northeurope',
        tags: { environment: 'production' },
        resources: [
          {
            type: 'Microsoft.Compute/virtualMachines',
            name: 'batch-worker-01',
            location: 'northeurope',
            tags: { environment: 'production', role: 'batch' },
            properties: { hardwareProfile: { vmSize: 'Standard_D2s_v5' }, storageProfile: { osDisk: { osType: 'Linux' } } },
          },
        ],
      },
    ],
  };
}

export function applySeed(state: SandboxState, seed: SandboxSeed): void {
  state.subscriptionTags = { ...(seed.subscriptionTags ?? {}) };
  for (const group of seed.resourceGroups) {
    state.putGroup(group.name, group.location, group.tags ?? {});
    for (const resource of group.resources ?? []) state.putResource(group.name, resource);
  }
}
