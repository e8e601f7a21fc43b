import assert from 'node:assert/strict';
import type { AzureGateway } from '../../src/app/ports';
import { requiredActions } from '../../src/azure';
import { CHANGE_KINDS, QUERY_KINDS, isChangeOperation, type ChangeKind, type OperationSpec, type QueryKind } from '../../src/domain/operation';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayFor, ids, RecordingHooks, startTestSandbox, webAppTemplate } from '../support/sandbox';

describe('RBAC actions each operation needs', () => {
  let sandbox: ArmSandbox;
  let azure: AzureGateway;
  let samples: Record<ChangeKind | QueryKind, OperationSpec>;

  before(async () => {
    sandbox = await startTestSandbox();
    azure = gatewayFor(sandbox);
    const id = ids(sandbox);
    const subscriptionId = sandbox.subscriptionId;
    const rg = 'production-api-service';
    // One example of every kind; the Record type fails to compile when a kind is added without one.
    samples = {
      deployTemplate: { kind: 'deployTemplate', subscriptionId, resourceGroup: rg, deploymentName: 'd1', template: webAppTemplate(), parameters: { siteName: 'perm' }, mode: 'Incremental' },
      createResourceGroup: { kind: 'createResourceGroup', subscriptionId, resourceGroup: 'new-group', location: 'westeurope', tags: {} },
      deleteResourceGroup: { kind: 'deleteResourceGroup', subscriptionId, resourceGroup: 'staging-old' },
      setTags: { kind: 'setTags', subscriptionId, scope: id.site, tags: { a: 'b' }, operation: 'Merge' },
      deleteResource: { kind: 'deleteResource', subscriptionId, resourceId: id.vm, apiVersion: '2024-07-01' },
      resourceAction: { kind: 'resourceAction', subscriptionId, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' },
      scaleResource: { kind: 'scaleResource', subscriptionId, resourceId: id.plan, capacity: 3, apiVersion: '2023-12-01' },
      listResourceGroups: { kind: 'listResourceGroups', subscriptionId },
      listResources: { kind: 'listResources', subscriptionId, resourceGroup: rg, resourceType: 'Microsoft.Web/sites' },
      showResource: { kind: 'showResource', subscriptionId, resourceId: id.site, apiVersion: '2023-12-01' },
      listDeployments: { kind: 'listDeployments', subscriptionId, resourceGroup: rg },
      deploymentOperations: { kind: 'deploymentOperations', subscriptionId, resourceGroup: rg, deploymentName: 'seeded' },
      whatIfDeployment: { kind: 'whatIfDeployment', subscriptionId, resourceGroup: rg, template: webAppTemplate(), parameters: { siteName: 'perm' }, mode: 'Incremental' },
    };
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('names actions for every operation kind', () => {
    for (const kind of [...CHANGE_KINDS, ...QUERY_KINDS]) {
      const actions = requiredActions(samples[kind]);
      assert.ok(actions.length > 0, kind);
      for (const a of actions) assert.match(a, /^Microsoft\.[A-Za-z]+\/[A-Za-z/]+\/(read|write|delete|action)$/, `${kind}: ${a}`);
    }
  });

  it('derives provider actions from the resource id and the template', () => {
    assert.deepEqual(requiredActions(samples.resourceAction), [
      'Microsoft.Compute/virtualMachines/restart/action',
      'Microsoft.Compute/locations/operations/read',
      'Microsoft.Compute/virtualMachines/read',
    ]);
    assert.deepEqual(requiredActions(samples.scaleResource), [
      'Microsoft.Web/serverfarms/read',
      'Microsoft.Web/serverfarms/write',
      'Microsoft.Web/locations/operationResults/read',
    ]);
    assert.deepEqual(requiredActions(samples.deployTemplate), [
      'Microsoft.Resources/deployments/write',
      'Microsoft.Resources/deployments/read',
      'Microsoft.Resources/deployments/operationstatuses/read',
      'Microsoft.Resources/deployments/operations/read',
      'Microsoft.Resources/deployments/whatIf/action',
      'Microsoft.Resources/subscriptions/operationresults/read',
      'Microsoft.Resources/deployments/cancel/action',
      'Microsoft.Web/sites/write',
      'Microsoft.Web/serverfarms/write',
    ]);
    assert.deepEqual(requiredActions(samples.setTags), ['Microsoft.Resources/tags/write', 'Microsoft.Resources/tags/read']);
    assert.deepEqual(requiredActions(samples.listResources), ['Microsoft.Resources/subscriptions/resourceGroups/resources/read']);
    assert.deepEqual(requiredActions({ kind: 'listResources', subscriptionId: 'x' }), ['Microsoft.Resources/subscriptions/resources/read']);
  });

  it('refuses to guess the action for a template resource whose type is an expression', () => {
    const op = samples.deployTemplate as Extract<OperationSpec, { kind: 'deployTemplate' }>;
    assert.throws(
      () => requiredActions({ ...op, template: { resources: [{ type: "[parameters('t')]", name: 'x' }] } }),
      /template resource 0 has type "\[parameters\('t'\)\]"/,
    );
  });

  for (const kind of [...CHANGE_KINDS, ...QUERY_KINDS]) {
    it(`${kind}: an identity granted exactly these actions can do it, and not without the first`, async () => {
      const op = samples[kind];
      const actions = requiredActions(op);
      if (kind === 'deploymentOperations') await seedDeployment();
      sandbox.faults.restrictTo(actions);
      await assertAllowed(op);
      if (kind === 'deploymentOperations') return; // the seeded deployment is gone with the reset below
      sandbox.reset();
      sandbox.faults.restrictTo(actions.slice(1));
      await assert.rejects(assertAllowed(op), /AuthorizationFailed|not allowed/);
    });
  }

  async function seedDeployment(): Promise<void> {
    const outcome = await azure.execute(
      { ...(samples.deployTemplate as Extract<OperationSpec, { kind: 'deployTemplate' }>), deploymentName: 'seeded' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'succeeded');
  }

  async function assertAllowed(op: OperationSpec): Promise<void> {
    if (!isChangeOperation(op)) {
      await azure.query(op);
      return;
    }
    if (op.kind === 'deployTemplate') {
      const preview = await azure.whatIf(op);
      if (preview.error) throw new Error(preview.error);
    } else {
      // What approval records and drift detection reads again.
      await azure.snapshot(op);
    }
    const outcome = await azure.execute(op, new RecordingHooks());
    if (outcome.status !== 'succeeded') throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
  }
});
