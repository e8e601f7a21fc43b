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

/**
 * Matches the example catalog (config/countersign.example.yaml): `deploy {environment} {service}` targets
 * {environment}-{service}. production-api-service still runs on a plan named before the template's
 * naming scheme (what-if: Create the new plan, Modify the site, Ignore the old plan), production-web-frontend
 * matches its template (NoChange), the staging groups are empty (Create); staging-old is there to be
 * deleted, production-vm to be restarted, tagged and scaled (batch-pool, a scale set, scales as a
 * long-running operation).
 */
export function defaultSeed(subscriptionId: string = DEFAULT_SUBSCRIPTION_ID): SandboxSeed {
  const farm = (group: string, name: string) =>
    `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/Microsoft.Web/serverfarms/${name}`;
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
            sku: { name: 'P1v3', capacity: 2 },
            properties: { reserved: true },
          },
          {
            type: 'Microsoft.Web/sites',
            name: 'api-service',
            location: 'westeurope',
            properties: {
              serverFarmId: farm('production-api-service', 'api-service-plan'),
              httpsOnly: true,
              siteConfig: { linuxFxVersion: 'NODE|20-lts', alwaysOn: true },
            },
          },
        ],
      },
      { name: 'staging-api-service', location: 'westeurope', tags: { environment: 'staging', owner: 'platform-team' } },
      {
        name: 'production-web-frontend',
        location: 'westeurope',
        tags: { environment: 'production', owner: 'web-team' },
        resources: [
          {
            type: 'Microsoft.Web/serverfarms',
            name: 'web-frontend-plan-production',
            location: 'westeurope',
            kind: 'linux',
            sku: { name: 'B1', capacity: 1 },
            properties: { reserved: true },
          },
          {
            type: 'Microsoft.Web/sites',
            name: 'web-frontend',
            location: 'westeurope',
            properties: {
              serverFarmId: farm('production-web-frontend', 'web-frontend-plan-production'),
              httpsOnly: true,
              siteConfig: { linuxFxVersion: 'NODE|20-lts', alwaysOn: true, minTlsVersion: '1.2' },
            },
          },
        ],
      },
      { name: 'staging-web-frontend', location: 'westeurope', tags: { environment: 'staging', owner: 'web-team' } },
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
          {
            type: 'Microsoft.Compute/virtualMachineScaleSets',
            name: 'batch-pool',
            location: 'northeurope',
            sku: { name: 'Standard_D2s_v5', tier: 'Standard', capacity: 2 },
            tags: { role: 'batch-pool' },
            properties: { upgradePolicy: { mode: 'Manual' }, orchestrationMode: 'Uniform' },
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
