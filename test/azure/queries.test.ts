import assert from 'node:assert/strict';
import type { AzureGateway } from '../../src/app/ports';
import { MAX_ROWS } from '../../src/azure';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayFor, ids, RecordingHooks, startTestSandbox, webAppTemplate } from '../support/sandbox';

describe('Azure gateway: read-only queries', () => {
  let sandbox: ArmSandbox;
  let azure: AzureGateway;
  let sub: string;
  let id: ReturnType<typeof ids>;

  before(async () => {
    // A small page size, so that lists go through nextLink paging as they do in Azure.
    sandbox = await startTestSandbox({ pageSize: 7 });
    azure = gatewayFor(sandbox);
    sub = sandbox.subscriptionId;
    id = ids(sandbox);
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('lists resource groups with location, state and tags', async () => {
    const result = await azure.query({ kind: 'listResourceGroups', subscriptionId: sub });
    assert.deepEqual(result.columns, ['Name', 'Location', 'State', 'Tags']);
    assert.deepEqual(result.rows[0], ['production-api-service', 'westeurope', 'Succeeded', 'environment=production, owner=platform-team']);
    assert.deepEqual(result.rows.map((r) => r[0]), [
      'production-api-service',
      'production-vm',
      'production-web-frontend',
      'staging-api-service',
      'staging-old',
      'staging-web-frontend',
    ]);
    assert.equal(result.truncated, undefined);
  });

  it('lists the resources of a group, filtered by type', async () => {
    const result = await azure.query({
      kind: 'listResources',
      subscriptionId: sub,
      resourceGroup: 'production-api-service',
      resourceType: 'Microsoft.Web/sites',
    });
    assert.equal(result.title, 'Resources in resource group production-api-service of type Microsoft.Web/sites');
    assert.deepEqual(result.rows, [['api-service', 'Microsoft.Web/sites', 'westeurope', '']]);
  });

  it('lists subscription resources by tag, and by tag and type together (ARM cannot combine those filters)', async () => {
    const byTag = await azure.query({ kind: 'listResources', subscriptionId: sub, tag: { name: 'environment' } });
    assert.deepEqual(byTag.columns, ['Name', 'Type', 'Location', 'Resource group']);
    assert.deepEqual(byTag.rows.map((r) => r[0]).sort(), ['batch-worker-01', 'stagingoldlogs']);
    const both = await azure.query({
      kind: 'listResources',
      subscriptionId: sub,
      tag: { name: 'environment', value: 'production' },
      resourceType: 'Microsoft.Compute/virtualMachines',
    });
    assert.deepEqual(both.rows, [['batch-worker-01', 'Microsoft.Compute/virtualMachines', 'northeurope', 'production-vm']]);
  });

  it(`shows at most ${MAX_ROWS} rows and says when there were more`, async () => {
    for (let i = 0; i < MAX_ROWS + 5; i++) {
      sandbox.state.putResource('staging-old', { type: 'Microsoft.Storage/storageAccounts', name: `bulk${String(i).padStart(3, '0')}`, location: 'westeurope' });
    }
    const result = await azure.query({ kind: 'listResources', subscriptionId: sub, resourceGroup: 'staging-old' });
    assert.equal(result.rows.length, MAX_ROWS);
    assert.equal(result.truncated, true);
  });

  it('shows one resource as property/value rows', async () => {
    const result = await azure.query({ kind: 'showResource', subscriptionId: sub, resourceId: id.plan, apiVersion: '2023-12-01' });
    assert.equal(result.title, 'Microsoft.Web/serverfarms/api-service-plan');
    const rows = Object.fromEntries(result.rows);
    assert.equal(rows.SKU, 'P1v3, capacity 2');
    assert.equal(rows.Kind, 'linux');
    assert.equal(rows['properties.status'], 'Ready');
    assert.equal(rows.Tags, '');
  });

  it('lists deployments and their operations after a deployment ran', async () => {
    sandbox.faults.failDeployment({ resourceName: 'shop', error: { code: 'Conflict', message: 'Website with given name shop already exists.' } });
    await azure.execute(
      {
        kind: 'deployTemplate',
        subscriptionId: sub,
        resourceGroup: 'production-api-service',
        deploymentName: 'web-shop',
        template: webAppTemplate(),
        parameters: { siteName: 'shop' },
        mode: 'Incremental',
      },
      new RecordingHooks(),
    );
    const deployments = await azure.query({ kind: 'listDeployments', subscriptionId: sub, resourceGroup: 'production-api-service' });
    assert.deepEqual(deployments.rows.map((r) => [r[0], r[1], r[4]]), [['web-shop', 'Failed', 'Incremental']]);
    const operations = await azure.query({
      kind: 'deploymentOperations',
      subscriptionId: sub,
      resourceGroup: 'production-api-service',
      deploymentName: 'web-shop',
    });
    assert.deepEqual(operations.rows, [
      ['shop-plan', 'Microsoft.Web/serverfarms', 'Create', 'Succeeded', 'OK', ''],
      ['shop', 'Microsoft.Web/sites', 'Create', 'Failed', 'BadRequest', 'Conflict: Website with given name shop already exists.'],
    ]);
  });

  it("redacts a SAS signature an operation's failure quotes, in the execution's outcome and in the operations table", async () => {
    const sas = 'https://acct.blob.core.windows.net/t/nested.json?sv=2022-11-02&sp=r&sig=q7V%2BdF0yX3kz9Lw1mN2bC4eR5tY6uI7oP8aS9dF0gH1%3D';
    sandbox.faults.failDeployment({ resourceName: 'shop', error: { code: 'InvalidContentLink', message: `Unable to download deployment content from '${sas}'.` } });
    const outcome = await azure.execute(
      { kind: 'deployTemplate', subscriptionId: sub, resourceGroup: 'production-api-service', deploymentName: 'web-sas', template: webAppTemplate(), parameters: { siteName: 'shop' }, mode: 'Incremental' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'failed');
    assert.ok(!JSON.stringify(outcome).includes('q7V%2BdF0'), `the outcome carries the SAS: ${JSON.stringify(outcome)}`);
    const operations = await azure.query({ kind: 'deploymentOperations', subscriptionId: sub, resourceGroup: 'production-api-service', deploymentName: 'web-sas' });
    assert.deepEqual(operations.rows[1].slice(3), ['Failed', 'BadRequest', "InvalidContentLink: Unable to download deployment content from 'https://acct.blob.core.windows.net/t/nested.json?sv=2022-11-02&sp=r&sig=[redacted]'."]);
  });

  it('answers a what-if query as a table of changes', async () => {
    const result = await azure.query({
      kind: 'whatIfDeployment',
      subscriptionId: sub,
      resourceGroup: 'production-api-service',
      template: webAppTemplate(),
      parameters: { siteName: 'preview' },
      mode: 'Incremental',
    });
    assert.deepEqual(result.columns, ['Change', 'Resource', 'Changed properties']);
    assert.deepEqual(result.rows.filter((r) => r[0] === 'Create').map((r) => r[1]).sort(), [
      'Microsoft.Web/serverfarms/preview-plan',
      'Microsoft.Web/sites/preview',
    ]);
  });

  it('rejects with ARM\'s reason in words when the group does not exist', async () => {
    await assert.rejects(
      azure.query({ kind: 'listResources', subscriptionId: sub, resourceGroup: 'nope' }),
      (e: Error) => e.name === 'ArmRequestError' && /ResourceGroupNotFound: Resource group 'nope' could not be found/.test(e.message),
    );
  });
});
