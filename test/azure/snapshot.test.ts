import assert from 'node:assert/strict';
import type { AzureGateway } from '../../src/app/ports';
import { compareSnapshots } from '../../src/domain/drift';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayFor, ids, RecordingHooks, startTestSandbox, webAppTemplate } from '../support/sandbox';

describe('Azure gateway: reading the target for drift detection', () => {
  let sandbox: ArmSandbox;
  let azure: AzureGateway;
  let id: ReturnType<typeof ids>;
  let sub: string;

  before(async () => {
    sandbox = await startTestSandbox();
    azure = gatewayFor(sandbox);
    id = ids(sandbox);
    sub = sandbox.subscriptionId;
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('reads a resource\'s ETag, SKU, provisioning state and tags', async () => {
    const snap = await azure.snapshot({ kind: 'scaleResource', subscriptionId: sub, resourceId: id.plan, capacity: 3, apiVersion: '2023-12-01' });
    assert.equal(snap.exists, true);
    assert.equal(snap.etag, sandbox.state.resource(id.plan)?.etag);
    assert.deepEqual(snap.facts, { 'sku.name': 'P1v3', 'sku.capacity': '2', provisioningState: 'Succeeded' });
  });

  it('reads a virtual machine\'s power state, and sees it change when someone stops the machine', async () => {
    const op = { kind: 'resourceAction' as const, subscriptionId: sub, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' };
    const before = await azure.snapshot(op);
    assert.equal(before.facts.powerState, 'PowerState/running');
    sandbox.faults.drift(id.vm, { properties: { extended: { instanceView: { powerState: { code: 'PowerState/stopped' } } } } });
    const after = await azure.snapshot(op);
    assert.deepEqual(compareSnapshots(before, after), ['powerState: "PowerState/running" → "PowerState/stopped"']);
  });

  it('notices a change it does not itself compare through the ETag', async () => {
    const op = { kind: 'deleteResource' as const, subscriptionId: sub, resourceId: id.site, apiVersion: '2023-12-01' };
    const before = await azure.snapshot(op);
    sandbox.faults.drift(id.site, { properties: { httpsOnly: false } });
    const lines = compareSnapshots(before, await azure.snapshot(op));
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^ETag .* → .*: the resource was modified$/);
  });

  it('lists every resource of a group about to be deleted, so one added since shows as drift', async () => {
    const op = { kind: 'deleteResourceGroup' as const, subscriptionId: sub, resourceGroup: 'staging-old' };
    const before = await azure.snapshot(op);
    assert.deepEqual(before.facts, {
      location: 'westeurope',
      'tags.environment': 'staging',
      'tags.expires': '2026-01-31',
      provisioningState: 'Succeeded',
      'resource Microsoft.Storage/storageAccounts/stagingoldlogs': 'present',
      'resources.count': '1',
    });
    sandbox.state.putResource('staging-old', { type: 'Microsoft.Web/sites', name: 'still-used', location: 'westeurope' });
    assert.deepEqual(compareSnapshots(before, await azure.snapshot(op)), [
      'resource Microsoft.Web/sites/still-used: (none) → "present"',
      'resources.count: "1" → "2"',
    ]);
  });

  it('reads the tags at a scope, and a changed tag is drift for a tag operation', async () => {
    const op = { kind: 'setTags' as const, subscriptionId: sub, scope: id.group('production-vm'), tags: { owner: 'ops' }, operation: 'Merge' as const };
    const before = await azure.snapshot(op);
    assert.deepEqual(before, { exists: true, facts: { 'tags.environment': 'production' } });
    sandbox.faults.drift(id.group('production-vm'), { tags: { owner: 'someone' } });
    assert.deepEqual(compareSnapshots(before, await azure.snapshot(op)), ['tags.owner: (none) → "someone"']);
  });

  it('reports a target that does not exist as such, not as an error', async () => {
    const missing = await azure.snapshot({ kind: 'createResourceGroup', subscriptionId: sub, resourceGroup: 'not-yet', location: 'westeurope', tags: {} });
    assert.deepEqual(missing, { exists: false, facts: {} });
    const gone = await azure.snapshot({ kind: 'deleteResource', subscriptionId: sub, resourceId: `${id.group('staging-old')}/providers/Microsoft.Web/sites/nope`, apiVersion: '2023-12-01' });
    assert.equal(gone.exists, false);
  });

  it('rejects with the missing action in words when the identity may not read the target', async () => {
    sandbox.faults.denyAction('Microsoft.Compute/virtualMachines/read');
    await assert.rejects(
      azure.snapshot({ kind: 'resourceAction', subscriptionId: sub, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' }),
      /not allowed to perform 'Microsoft\.Compute\/virtualMachines\/read'/,
    );
  });

  it('marks a read that failed for a passing reason as transient (worth trying again), and a refusal as not', async () => {
    const op = { kind: 'resourceAction' as const, subscriptionId: sub, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' };
    sandbox.faults.throttle({ count: 10, retryAfterSeconds: 0, method: 'GET', pathContains: '/virtualmachines/batch-worker-01' });
    await assert.rejects(azure.snapshot(op), (err: { transient?: boolean; message: string }) => err.transient === true && /throttling/.test(err.message));
    sandbox.faults.clear();
    sandbox.faults.denyAction('Microsoft.Compute/virtualMachines/read');
    await assert.rejects(azure.snapshot(op), (err: { transient?: boolean }) => err.transient === false);
    sandbox.faults.clear();
    sandbox.faults.throttle({ count: 10, retryAfterSeconds: 0, unavailable: true, pathContains: '/whatif' });
    const whatIf = await azure.whatIf({ kind: 'deployTemplate', subscriptionId: sub, resourceGroup: 'production-api-service', deploymentName: 'drift-503', template: webAppTemplate(), parameters: { siteName: 'api-service' }, mode: 'Incremental' });
    assert.equal(whatIf.transient, true, JSON.stringify(whatIf));
  });

  it('finds an identical what-if for an unchanged group, and a different one after a change behind Countersign\'s back', async () => {
    const op = {
      kind: 'deployTemplate' as const,
      subscriptionId: sub,
      resourceGroup: 'production-api-service',
      deploymentName: 'drift-check',
      template: webAppTemplate(),
      parameters: { siteName: 'api-service', capacity: 2 },
      mode: 'Incremental' as const,
    };
    const first = await azure.whatIf(op);
    assert.deepEqual(await azure.whatIf(op), first);
    const outcome = await azure.execute({ ...op, parameters: { siteName: 'api-service', capacity: 4 } }, new RecordingHooks());
    assert.equal(outcome.status, 'succeeded');
    assert.notDeepEqual(await azure.whatIf(op), first);
  });
});
