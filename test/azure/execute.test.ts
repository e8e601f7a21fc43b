import assert from 'node:assert/strict';
import type { AzureGateway } from '../../src/app/ports';
import type { ChangeOperation } from '../../src/domain/operation';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayFor, ids, RecordingHooks, startTestSandbox, webAppTemplate } from '../support/sandbox';

describe('Azure gateway: executing approved changes against the ARM sandbox', () => {
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

  it('deploys a template: resources exist, outputs come back, progress counts every resource', async () => {
    const hooks = new RecordingHooks();
    const op: ChangeOperation = {
      kind: 'deployTemplate',
      subscriptionId: sub,
      resourceGroup: 'production-api-service',
      deploymentName: 'web-checkout',
      template: webAppTemplate(),
      parameters: { siteName: 'checkout', capacity: 3 },
      mode: 'Incremental',
    };
    const outcome = await azure.execute(op, hooks);

    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.deepEqual(outcome.status === 'succeeded' && outcome.outputs, { url: 'https://checkout.azurewebsites.net' });
    const site = sandbox.state.resource(`${id.group('production-api-service')}/providers/Microsoft.Web/sites/checkout`);
    const plan = sandbox.state.resource(`${id.group('production-api-service')}/providers/Microsoft.Web/serverfarms/checkout-plan`);
    assert.equal(site?.properties.serverFarmId, plan?.id);
    assert.equal(plan?.sku?.capacity, 3);
    assert.equal(sandbox.state.deployment('production-api-service', 'web-checkout')?.correlationId, outcome.ref.correlationId);
    assert.ok(outcome.ref.resourceIds.some((r) => r.endsWith('/deployments/web-checkout')));
    assert.ok(outcome.ref.resourceIds.includes(site!.id), 'the deployed resources are in the ref');
    const last = hooks.progress[hooks.progress.length - 1];
    assert.deepEqual(last, { state: 'Succeeded', done: 2, total: 2 });
  });

  it('withholds outputs that look secret (by type, by name, by a key or signature in the value) before anything keeps them, naming them', async () => {
    const template = webAppTemplate();
    template.outputs = {
      ...(template.outputs as Record<string, unknown>),
      adminPassword: { type: 'string', value: 'Pa55-word-in-the-clear' },
      storage_account_key: { type: 'string', value: 'c2VjcmV0LWtleQ==' },
      clientSecret: { type: 'string', value: 'client-secret-value' },
      sasToken: { type: 'string', value: 'sv=2024&sig=abc' },
      primaryConnectionString: { type: 'string', value: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=ZZZ' },
      blobUrl: { type: 'string', value: 'https://a.blob.core.windows.net/c?sv=2024&sig=SIGNATURE' },
      storage: { type: 'string', value: 'DefaultEndpointsProtocol=https;AccountName=b;AccountKey=YYY' },
      hidden: { type: 'securestring', value: 'secure-in-the-clear' },
      settings: { type: 'secureObject', value: { a: 'secure-object-in-the-clear' } },
      instances: { type: 'int', value: 3 },
    };
    const outcome = await azure.execute(
      { kind: 'deployTemplate', subscriptionId: sub, resourceGroup: 'production-api-service', deploymentName: 'with-secrets', template, parameters: { siteName: 'secrets', capacity: 1 }, mode: 'Incremental' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.deepEqual(outcome.status === 'succeeded' && outcome.outputs, { url: 'https://secrets.azurewebsites.net', instances: 3 });
    assert.deepEqual(outcome.status === 'succeeded' && outcome.withheldOutputs, ['adminPassword', 'storage_account_key', 'clientSecret', 'sasToken', 'primaryConnectionString', 'blobUrl', 'storage', 'hidden', 'settings']);
    for (const secret of ['Pa55', 'c2VjcmV0', 'client-secret', 'sig=', 'AccountKey', 'in-the-clear']) assert.ok(!JSON.stringify(outcome).includes(secret), secret);
  });

  it('hands the poller state to onStarted before the deployment has finished', async () => {
    // Still deploying when the gateway hears ARM accepted it, on a loaded machine too.
    sandbox.timing.deploymentStepMs = 250;
    const hooks = new RecordingHooks((ref) => {
      const d = sandbox.state.deployment('production-api-service', 'slow-one');
      assert.ok(d && d.provisioningState !== 'Succeeded', 'onStarted runs while ARM is still deploying');
      assert.match(ref.pollUrl ?? '', /\/deployments\/slow-one\/operationStatuses\//i);
      assert.ok(ref.resumeState && JSON.parse(ref.resumeState).state.config.operationLocation === ref.pollUrl);
      assert.ok(ref.correlationId);
    });
    const outcome = await azure.execute(
      {
        kind: 'deployTemplate',
        subscriptionId: sub,
        resourceGroup: 'production-api-service',
        deploymentName: 'slow-one',
        template: webAppTemplate(),
        parameters: { siteName: 'slow' },
        mode: 'Incremental',
      },
      hooks,
    );
    assert.equal(outcome.status, 'succeeded');
    assert.equal(hooks.events[0], 'started');
    const partial = hooks.progress.filter((p) => p.state === 'Running' && p.total === 2);
    assert.ok(partial.some((p) => (p.done ?? 0) < 2), `progress was seen part-way: ${hooks.events.join(' ')}`);
  });

  it('counts only the resources that ran when a condition skips one', async () => {
    const template = webAppTemplate();
    template.resources = [
      ...(template.resources as unknown[]),
      { condition: false, type: 'Microsoft.Web/sites', apiVersion: '2023-12-01', name: 'skipped' },
    ];
    const hooks = new RecordingHooks();
    const outcome = await azure.execute(
      { kind: 'deployTemplate', subscriptionId: sub, resourceGroup: 'production-api-service', deploymentName: 'web-cond', template, parameters: { siteName: 'cond' }, mode: 'Incremental' },
      hooks,
    );
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(hooks.progress[hooks.progress.length - 1], { state: 'Succeeded', done: 2, total: 2 });
  });

  it('creates a resource group with its location and tags', async () => {
    const hooks = new RecordingHooks();
    const outcome = await azure.execute(
      { kind: 'createResourceGroup', subscriptionId: sub, resourceGroup: 'feature-x', location: 'westeurope', tags: { owner: 'ana' } },
      hooks,
    );
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(sandbox.state.resourceGroup('feature-x'), {
      id: id.group('feature-x'),
      name: 'feature-x',
      location: 'westeurope',
      tags: { owner: 'ana' },
      provisioningState: 'Succeeded',
    });
    assert.deepEqual(hooks.started[0].resourceIds, [id.group('feature-x')]);
  });

  it('deletes a resource group and everything in it, following the Location until it is gone', async () => {
    const hooks = new RecordingHooks((ref) => assert.match(ref.pollUrl ?? '', /\/operationresults\//i));
    const outcome = await azure.execute({ kind: 'deleteResourceGroup', subscriptionId: sub, resourceGroup: 'staging-old' }, hooks);
    assert.equal(outcome.status, 'succeeded');
    assert.equal(sandbox.state.resourceGroup('staging-old'), undefined);
    assert.equal(sandbox.state.resource(id.storage), undefined);
    assert.equal(hooks.started.length, 1);
  });

  for (const [operation, expected] of [
    ['Merge', { environment: 'production', role: 'batch', costCenter: 'cc-42' }],
    ['Replace', { costCenter: 'cc-42' }],
    ['Delete', { environment: 'production' }],
  ] as const) {
    it(`sets tags on a resource with ${operation}`, async () => {
      const before = sandbox.state.resource(id.vm)!.etag;
      const tags: Record<string, string> = operation === 'Delete' ? { role: 'batch' } : { costCenter: 'cc-42' };
      const outcome = await azure.execute({ kind: 'setTags', subscriptionId: sub, scope: id.vm, tags, operation }, new RecordingHooks());
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      const vm = sandbox.state.resource(id.vm)!;
      assert.deepEqual(vm.tags, expected);
      assert.notEqual(vm.etag, before, 'a tag change gives the resource a new etag');
    });
  }

  it('sets tags on a resource group', async () => {
    const outcome = await azure.execute(
      { kind: 'setTags', subscriptionId: sub, scope: id.group('staging-old'), tags: { expires: '2027-01-01' }, operation: 'Merge' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'succeeded');
    assert.equal(sandbox.state.resourceGroup('staging-old')?.tags.expires, '2027-01-01');
  });

  it('deletes a virtual machine by id, polling the provider operation', async () => {
    const hooks = new RecordingHooks((ref) => assert.match(ref.pollUrl ?? '', /Microsoft\.Compute\/locations\/northeurope\/operations\//));
    const outcome = await azure.execute(
      { kind: 'deleteResource', subscriptionId: sub, resourceId: id.vm, apiVersion: '2024-07-01' },
      hooks,
    );
    assert.equal(outcome.status, 'succeeded');
    assert.equal(sandbox.state.resource(id.vm), undefined);
  });

  it('restarts a web app (synchronous provider action)', async () => {
    sandbox.faults.drift(id.site, { properties: { state: 'Stopped' } });
    const outcome = await azure.execute(
      { kind: 'resourceAction', subscriptionId: sub, resourceId: id.site, action: 'restart', apiVersion: '2023-12-01' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'succeeded');
    assert.equal(sandbox.state.resource(id.site)?.properties.state, 'Running');
  });

  it('powers off a virtual machine (asynchronous provider action, polled to the end)', async () => {
    const hooks = new RecordingHooks((ref) => {
      assert.match(ref.pollUrl ?? '', /\/operations\//);
      assert.match(
        JSON.stringify(sandbox.state.resource(id.vm)?.properties.extended),
        /PowerState\/running/,
        'the VM is still running when the action is accepted',
      );
    });
    const outcome = await azure.execute(
      { kind: 'resourceAction', subscriptionId: sub, resourceId: id.vm, action: 'powerOff', apiVersion: '2024-07-01' },
      hooks,
    );
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.match(JSON.stringify(sandbox.state.resource(id.vm)?.properties.extended), /PowerState\/stopped/);
  });

  it('refuses an action the provider does not have, in words', async () => {
    const outcome = await azure.execute(
      { kind: 'resourceAction', subscriptionId: sub, resourceId: id.plan, action: 'restart', apiVersion: '2023-12-01' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.status === 'failed' && outcome.error.httpStatus, 404);
  });

  it('scales an App Service plan to the approved capacity, keeping its sku', async () => {
    const outcome = await azure.execute(
      { kind: 'scaleResource', subscriptionId: sub, resourceId: id.plan, capacity: 5, apiVersion: '2023-12-01' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'succeeded');
    assert.match(outcome.status === 'succeeded' ? (outcome.summary ?? '') : '', /from 2 to 5/);
    assert.deepEqual(sandbox.state.resource(id.plan)?.sku, { name: 'P1v3', capacity: 5 });
  });

  it('scales a scale set as a long-running update: Updating meanwhile, its state recorded to resume from', async () => {
    // Still updating when the gateway hears ARM accepted it, on a loaded machine too.
    sandbox.timing.operationMs = 300;
    const hooks = new RecordingHooks((ref) => {
      assert.ok(ref.resumeState, 'the poller state is handed over');
      assert.equal(sandbox.state.resource(id.scaleSet)?.properties.provisioningState, 'Updating');
    });
    const outcome = await azure.execute(
      { kind: 'scaleResource', subscriptionId: sub, resourceId: id.scaleSet, capacity: 4, apiVersion: '2024-07-01' },
      hooks,
    );
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.match(outcome.status === 'succeeded' ? (outcome.summary ?? '') : '', /from 2 to 4/);
    assert.deepEqual(sandbox.state.resource(id.scaleSet)?.sku, { name: 'Standard_D2s_v5', tier: 'Standard', capacity: 4 });
    assert.equal(sandbox.state.resource(id.scaleSet)?.properties.provisioningState, 'Succeeded');
  });

  it('starts the operation with the correlation id recorded with the claim', async () => {
    const from = sandbox.requests.length;
    const claimed = Object.assign(new RecordingHooks(), { correlationId: 'claimed-0001' });
    const outcome = await azure.execute({ kind: 'deleteResourceGroup', subscriptionId: sub, resourceGroup: 'staging-old' }, claimed);
    assert.equal(outcome.ref.correlationId, 'claimed-0001');
    const deletes = sandbox.requests.slice(from).filter((r) => r.method === 'DELETE');
    assert.deepEqual(deletes.map((r) => r.correlationId), ['claimed-0001']);
  });
});
