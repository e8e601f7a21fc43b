import assert from 'node:assert/strict';
import type { AzureGateway } from '../../src/app/ports';
import { changedPaths, summarize } from '../../src/azure/what-if';
import { changeView } from '../../src/cards/request-summary';
import type { ApprovalRequest } from '../../src/domain/request';
import type { ChangeOperation, WhatIfChange } from '../../src/domain/operation';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayFor, ids, startTestSandbox } from '../support/sandbox';

type DeployOp = Extract<ChangeOperation, { kind: 'deployTemplate' }>;

describe('Azure gateway: what-if before a deployment', () => {
  let sandbox: ArmSandbox;
  let azure: AzureGateway;
  let id: ReturnType<typeof ids>;

  before(async () => {
    sandbox = await startTestSandbox();
    azure = gatewayFor(sandbox);
    id = ids(sandbox);
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  /** The seeded site and plan as they are, plus one new site; the plan's capacity from a parameter. */
  function op(capacity: number, mode: DeployOp['mode'] = 'Incremental'): DeployOp {
    return {
      kind: 'deployTemplate',
      subscriptionId: sandbox.subscriptionId,
      resourceGroup: 'production-api-service',
      deploymentName: 'preview',
      parameters: { capacity },
      mode,
      template: {
        contentVersion: '1.0.0.0',
        parameters: { capacity: { type: 'int' } },
        resources: [
          {
            type: 'Microsoft.Web/serverfarms',
            apiVersion: '2023-12-01',
            name: 'api-service-plan',
            location: 'West Europe',
            kind: 'linux',
            sku: { name: 'P1v3', capacity: "[parameters('capacity')]" },
            properties: { reserved: true },
          },
          {
            type: 'Microsoft.Web/sites',
            apiVersion: '2023-12-01',
            name: 'api-service',
            location: '[resourceGroup().location]',
            properties: {
              serverFarmId: "[resourceId('Microsoft.Web/serverfarms', 'api-service-plan')]",
              httpsOnly: true,
              siteConfig: { alwaysOn: true, linuxFxVersion: 'NODE|20-lts' },
            },
          },
          { type: 'Microsoft.Web/sites', apiVersion: '2023-12-01', name: 'api-canary', properties: { httpsOnly: true } },
        ],
      },
    };
  }

  function change(changes: WhatIfChange[], name: string): WhatIfChange | undefined {
    return changes.find((c) => c.resourceId.toLowerCase().endsWith(`/${name}`));
  }

  it('reports Create for a new resource, NoChange for an identical one and Modify with the changed paths', async () => {
    const summary = await azure.whatIf(op(4));
    assert.equal(summary.status, 'Succeeded');
    assert.equal(summary.error, undefined);
    assert.equal(change(summary.changes, 'api-canary')?.changeType, 'Create');
    assert.deepEqual(change(summary.changes, 'api-service'), { resourceId: id.site, changeType: 'NoChange' });
    assert.deepEqual(change(summary.changes, 'api-service-plan'), { resourceId: id.plan, changeType: 'Modify', changedPaths: ['sku.capacity'] });
  });

  it('sees the same template as NoChange once the group already matches it', async () => {
    const summary = await azure.whatIf(op(2));
    assert.equal(change(summary.changes, 'api-service-plan')?.changeType, 'NoChange');
  });

  it('notices drift: a property changed behind our back shows up as a Modify', async () => {
    sandbox.faults.drift(id.site, { properties: { httpsOnly: false } });
    const summary = await azure.whatIf(op(2));
    assert.deepEqual(change(summary.changes, 'api-service')?.changedPaths, ['properties.httpsOnly']);
  });

  it('in Complete mode, resources the template leaves out are to be deleted', async () => {
    const template = op(2, 'Complete');
    template.template.resources = (template.template.resources as unknown[]).slice(1, 2);
    const summary = await azure.whatIf(template);
    assert.equal(change(summary.changes, 'api-service-plan')?.changeType, 'Delete');
    const incremental = await azure.whatIf({ ...template, mode: 'Incremental' });
    assert.equal(change(incremental.changes, 'api-service-plan')?.changeType, 'Ignore');
  });

  it('answers an invalid template with status Failed and the reason, instead of throwing', async () => {
    const bad = op(2);
    bad.parameters = { capacity: 'four' };
    const summary = await azure.whatIf(bad);
    assert.equal(summary.status, 'Failed');
    assert.deepEqual(summary.changes, []);
    assert.match(summary.error ?? '', /InvalidTemplate: .*Expected 'Integer'\. Actual 'String'/);
  });

  it('writes array element changes as path[index]', () => {
    assert.deepEqual(
      changedPaths([
        { path: 'properties.ipRules', propertyChangeType: 'Array', children: [{ path: '1', propertyChangeType: 'Modify' }] },
        { path: 'tags.owner', propertyChangeType: 'Delete' },
        { path: 'properties.etag', propertyChangeType: 'NoEffect' },
      ]),
      ['properties.ipRules[1]', 'tags.owner'],
    );
  });
});

describe('what-if changes of a type Countersign does not know', () => {
  it('are shown as changes Azure cannot predict, and the card still renders', () => {
    const result = { status: 'Succeeded', changes: [{ resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a', changeType: 'Replace' }, { resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/b', changeType: 'toString' }, { resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/c', changeType: 'Create' }] };
    const summary = summarize(result as unknown as Parameters<typeof summarize>[0]);
    assert.deepEqual(summary.changes.map((c) => c.changeType), ['Unsupported', 'Unsupported', 'Create']);
    assert.match(changeView({ whatIf: summary } as unknown as ApprovalRequest).changesSummary, /2 that Azure cannot predict/);
  });
});
