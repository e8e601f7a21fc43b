import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArmSandbox } from '../../src/sandbox';
import { ids, startTestSandbox } from '../support/sandbox';
import { armRequest } from '../support/sandbox-http';

describe('ARM sandbox: the wire protocol', () => {
  let sandbox: ArmSandbox;
  let id: ReturnType<typeof ids>;
  const call = (method: string, path: string, options?: Parameters<typeof armRequest>[3]) => armRequest(sandbox, method, path, options);

  before(async () => {
    sandbox = await startTestSandbox({ pageSize: 2 });
    id = ids(sandbox);
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('refuses a request without a bearer token with 401 and an ARM error body', async () => {
    const answer = await call('GET', id.group('staging-old'), { token: false });
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, { error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." } });
  });

  it('requires the api-version query parameter', async () => {
    const answer = await call('GET', id.group('staging-old'), { apiVersion: null });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error.code, 'MissingApiVersionParameter');
  });

  it('only serves TLS to clients that trust its certificate', async () => {
    const other = await startTestSandbox();
    try {
      await assert.rejects(call('GET', id.group('staging-old'), { ca: other.caPem }), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      await other.close();
    }
  });

  it('matches paths case-insensitively and answers with the stored casing', async () => {
    const answer = await call('GET', id.group('STAGING-OLD').replace('resourceGroups', 'RESOURCEGROUPS').toUpperCase().replace(/API-VERSION.*/, ''));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.name, 'staging-old');
    assert.equal(answer.body.id, id.group('staging-old'));
  });

  it('says which subscription, group or resource it cannot find', async () => {
    assert.equal((await call('GET', '/subscriptions/other/resourcegroups/x')).body.error.code, 'SubscriptionNotFound');
    assert.deepEqual((await call('GET', id.group('nope'))).body.error, { code: 'ResourceGroupNotFound', message: "Resource group 'nope' could not be found." });
    const missing = await call('GET', `${id.group('staging-old')}/providers/Microsoft.Web/sites/ghost`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /The Resource 'Microsoft.Web\/sites\/ghost' under resource group 'staging-old' was not found/);
  });

  it('creates a group (201), updates it (200), answers HEAD, and refuses to move its location', async () => {
    assert.equal((await call('PUT', id.group('new-rg'), { body: { location: 'westeurope', tags: { a: '1' } } })).status, 201);
    assert.equal((await call('PUT', id.group('new-rg'), { body: { location: 'West Europe', tags: { a: '2' } } })).status, 200);
    assert.deepEqual(sandbox.state.resourceGroup('new-rg')?.tags, { a: '2' });
    assert.equal((await call('HEAD', id.group('new-rg'))).status, 204);
    assert.equal((await call('HEAD', id.group('gone'))).status, 404);
    const moved = await call('PUT', id.group('new-rg'), { body: { location: 'eastus' } });
    assert.equal(moved.status, 409);
    assert.equal(moved.body.error.code, 'InvalidResourceGroupLocation');
  });

  it('deletes a group as a long-running operation: 202 + Location, Deleting, then gone', async () => {
    // Long enough that the two reads after the DELETE (a TLS handshake each) still find it running on a loaded machine.
    sandbox.timing.operationMs = 500;
    const accepted = await call('DELETE', id.group('staging-old'));
    assert.equal(accepted.status, 202);
    assert.match(accepted.headers.location, /\/operationresults\/.+api-version=/);
    assert.equal((await call('GET', id.group('staging-old'))).body.properties.provisioningState, 'Deleting');
    assert.equal((await call('GET', accepted.headers.location)).status, 202);
    await sleep(600);
    assert.equal((await call('GET', accepted.headers.location)).status, 200);
    assert.equal((await call('GET', id.group('staging-old'))).status, 404);
    assert.equal((await call('GET', id.storage)).status, 404, 'its resources went with it');
  });

  it('gives a resource a new etag on every change and honours If-Match', async () => {
    const first = await call('GET', id.plan);
    assert.equal(first.headers.etag, first.body.etag);
    const patched = await call('PATCH', id.plan, { body: { sku: { capacity: 3 } }, headers: { 'if-match': first.body.etag } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.sku.capacity, 3);
    assert.equal(patched.body.sku.name, 'P1v3', 'PATCH merges');
    assert.notEqual(patched.body.etag, first.body.etag);
    const stale = await call('PATCH', id.plan, { body: { sku: { capacity: 4 } }, headers: { 'if-match': first.body.etag } });
    assert.equal(stale.status, 412);
    assert.equal(sandbox.state.resource(id.plan)?.sku?.capacity, 3);
  });

  it('runs provider actions: 200 for web apps, 202 and polling for virtual machines, 404 for an unknown action', async () => {
    assert.equal((await call('POST', `${id.site}/stop`)).status, 200);
    assert.equal(sandbox.state.resource(id.site)?.properties.state, 'Stopped');
    const accepted = await call('POST', `${id.vm}/deallocate`);
    assert.equal(accepted.status, 202);
    assert.match(accepted.headers['azure-asyncoperation'], /Microsoft\.Compute\/locations\/northeurope\/operations\//);
    await sleep(40);
    assert.equal((await call('GET', accepted.headers['azure-asyncoperation'])).body.status, 'Succeeded');
    assert.match(JSON.stringify(sandbox.state.resource(id.vm)?.properties), /PowerState\/deallocated/);
    assert.equal((await call('POST', `${id.plan}/restart`)).body.error.code, 'InvalidResourceType');
  });

  it('deletes a resource that does not exist with 204, as ARM does', async () => {
    assert.equal((await call('DELETE', `${id.group('staging-old')}/providers/Microsoft.Web/sites/ghost`)).status, 204);
  });

  it('keeps tags at any scope: PUT replaces, PATCH merges/replaces/deletes, DELETE clears', async () => {
    const tags = `${id.group('production-vm')}/providers/Microsoft.Resources/tags/default`;
    const put = await call('PUT', tags, { body: { properties: { tags: { a: '1', b: '2' } } } });
    assert.deepEqual(put.body, { id: tags, name: 'default', type: 'Microsoft.Resources/tags', properties: { tags: { a: '1', b: '2' } } });
    await call('PATCH', tags, { body: { operation: 'Merge', properties: { tags: { c: '3' } } } });
    await call('PATCH', tags, { body: { operation: 'Delete', properties: { tags: { a: '1', b: 'other-value' } } } });
    assert.deepEqual((await call('GET', tags)).body.properties.tags, { b: '2', c: '3' }, 'Delete removes a tag only when its value matches');
    await call('DELETE', tags);
    assert.deepEqual(sandbox.state.resourceGroup('production-vm')?.tags, {});
    const subscription = await call('PATCH', `${id.subscription}/providers/Microsoft.Resources/tags/default`, { body: { operation: 'Replace', properties: { tags: { billing: 'x' } } } });
    assert.deepEqual(subscription.body.properties.tags, { billing: 'x' });
  });

  it('filters resource lists as ARM does, and pages them through nextLink', async () => {
    const byType = await call('GET', `${id.subscription}/resources?$filter=resourceType eq 'Microsoft.Compute/virtualMachines'`);
    assert.deepEqual(byType.body.value.map((r: { name: string }) => r.name), ['batch-worker-01']);
    const byTag = await call('GET', `${id.subscription}/resources?$filter=tagName eq 'role' and tagValue eq 'batch'`);
    assert.deepEqual(byTag.body.value.map((r: { name: string }) => r.name), ['batch-worker-01']);
    assert.equal(byTag.body.value[0].tags, undefined, 'ARM leaves tags out when filtering by tag');
    const combined = await call('GET', `${id.subscription}/resources?$filter=tagName eq 'role' and resourceType eq 'x/y'`);
    assert.equal(combined.status, 400);
    const names: string[] = [];
    let next: string | undefined = `${id.subscription}/resources`;
    while (next) {
      const page: { body: { value: { name: string }[]; nextLink?: string } } = await call('GET', next);
      assert.ok(page.body.value.length <= 2);
      names.push(...page.body.value.map((r) => r.name));
      next = page.body.nextLink;
    }
    assert.deepEqual(names.sort(), [
      'api-service',
      'api-service-plan',
      'batch-pool',
      'batch-worker-01',
      'stagingoldlogs',
      'web-frontend',
      'web-frontend-plan-production',
    ]);
  });

  it('throttles with 429, Retry-After and an ARM body while the fault lasts', async () => {
    sandbox.faults.throttle({ count: 2, retryAfterSeconds: 3, method: 'GET' });
    const first = await call('GET', id.site);
    assert.equal(first.status, 429);
    assert.equal(first.headers['retry-after'], '3');
    assert.equal(first.body.error.code, 'TooManyRequests');
    assert.equal((await call('GET', id.site)).status, 429);
    assert.equal((await call('GET', id.site)).status, 200);
  });

  it('an ambiguous failure applies the write and still answers 500', async () => {
    sandbox.faults.ambiguousFailure({ method: 'PATCH' });
    const answer = await call('PATCH', id.plan, { body: { sku: { capacity: 9 } } });
    assert.equal(answer.status, 500);
    assert.equal(answer.body.error.code, 'InternalServerError');
    assert.equal(sandbox.state.resource(id.plan)?.sku?.capacity, 9);
  });

  it('a truncated body: the write takes effect, answered with its status and half its JSON', async () => {
    sandbox.faults.truncatedBody({ method: 'PATCH' });
    const answer = await call('PATCH', id.plan, { body: { sku: { capacity: 7 } } });
    assert.equal(answer.status, 200);
    const text = answer.body as string;
    assert.equal(typeof text, 'string', 'the body is not JSON');
    assert.ok(text.startsWith('{"'), text);
    assert.equal(answer.headers['content-length'], String(Buffer.byteLength(text)), 'a complete HTTP answer, its body cut short');
    assert.equal(sandbox.state.resource(id.plan)?.sku?.capacity, 7);
    assert.equal(typeof (await call('PATCH', id.plan, { body: { sku: { capacity: 8 } } })).body, 'object', 'only the next matching answer was cut');
  });

  it('a stalled write takes effect at once but is answered only later', async () => {
    // The stall is long against a call's own time on a loaded machine: whether the write had taken
    // effect before its answer, and whether the next one was stalled, do not depend on the machine.
    const STALL_MS = 1000;
    sandbox.faults.stall({ method: 'POST', pathContains: '/stop', ms: STALL_MS });
    const started = Date.now();
    let answered = false;
    const answer = call('POST', `${id.site}/stop`).finally(() => (answered = true));
    while (sandbox.state.resource(id.site)?.properties.state !== 'Stopped' && !answered) await sleep(10);
    assert.equal(answered, false, 'the action happened before its answer came');
    assert.equal((await answer).status, 200);
    assert.ok(Date.now() - started >= STALL_MS - 10);
    const again = Date.now();
    assert.equal((await call('POST', `${id.site}/stop`)).status, 200);
    assert.ok(Date.now() - again < STALL_MS - 10, 'only the next matching write was stalled');
  });

  it('answers AuthorizationFailed with the action and scope when an action is denied', async () => {
    sandbox.faults.denyAction('Microsoft.Web/sites/restart/action', id.group('production-api-service'));
    const denied = await call('POST', `${id.site}/restart`);
    assert.equal(denied.status, 403);
    assert.match(denied.body.error.message, new RegExp(`perform action 'Microsoft.Web/sites/restart/action' over scope '${id.site}'`));
    assert.equal((await call('POST', `${id.site}/stop`)).status, 200, 'other actions are still allowed');
  });

  it('is controlled from another process through /_sandbox/', async () => {
    const control = (method: string, path: string, body?: unknown) => call(method, `/_sandbox/${path}`, { token: false, apiVersion: null, body });
    assert.equal((await control('POST', 'faults/throttle', { count: 1, retryAfterSeconds: 1 })).status, 204);
    assert.equal((await call('GET', id.site)).status, 429);
    assert.equal((await control('POST', 'faults/truncatedBody', { method: 'GET', pathContains: '/sites/' })).status, 204);
    assert.equal(typeof (await call('GET', id.site)).body, 'string', 'the answer was cut short');
    assert.equal((await control('POST', 'faults/drift', { resourceId: id.vm, tags: { environment: 'changed' } })).status, 204);
    assert.equal(sandbox.state.resource(id.vm)?.tags.environment, 'changed');
    await control('POST', 'faults/restrictTo', { actions: ['Microsoft.Resources/subscriptions/resourceGroups/read'] });
    assert.equal((await call('GET', id.site)).status, 403);
    assert.equal((await control('POST', 'reset')).status, 204);
    assert.equal((await call('GET', id.vm)).body.tags.environment, 'production');
    const state = await control('GET', 'state');
    assert.equal(state.body.resourceGroups.length, 6);
    assert.equal((await control('POST', 'faults/unknown')).status, 400);
  });

  it('answers 400 naming what is wrong to a fault request that would do nothing', async () => {
    const control = (path: string, body?: unknown) => call('POST', `/_sandbox/faults/${path}`, { token: false, apiVersion: null, body });
    const refused = async (path: string, body: unknown, message: RegExp) => {
      const answer = await control(path, body);
      assert.equal(answer.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.equal(answer.body.error.code, 'InvalidFault');
      assert.match(answer.body.error.message, message);
    };
    const before = sandbox.state.resourceGroup('production-vm')?.tags;
    await refused('drift', { resourceId: id.group('production-vm') }, /drift of the resource group .*production-vm needs tags/);
    await refused('drift', { resourceId: id.vm }, /needs what changes: tags, sku, properties or kind/);
    await refused('drift', { resourceId: id.vm, tags: {} }, /changes nothing: tags is empty/);
    await refused('drift', { resourceId: id.group('production-vm'), sku: { name: 'x' }, tags: { a: 'b' } }, /changes only its tags, not sku/);
    await refused('drift', { tags: { a: 'b' } }, /drift needs resourceId/);
    await refused('drift', { resourceId: id.vm, tags: { a: 1 } }, /drift's tags must be an object of tag values/);
    await refused('Drfit', { resourceId: id.vm, tags: { a: 'b' } }, /There is no fault 'Drfit'\. The faults are throttle, ambiguousFailure, stall, truncatedBody, redirectStatus, failDeployment, slowDeployment, denyAction, restrictTo, drift\./);
    await refused('throttle', { pathcontains: '/sites/' }, /throttle has no field 'pathcontains': its fields are method, pathContains, count, retryAfterSeconds, unavailable/);
    await refused('throttle', { count: '2' }, /throttle's count must be a whole number above 0/);
    await refused('throttle', 'now', /throttle takes a JSON object/);
    await refused('stall', { method: 'POST' }, /stall needs ms/);
    await refused('slowDeployment', {}, /slowDeployment needs stepMs/);
    await refused('denyAction', { scope: id.group('production-vm') }, /denyAction needs action/);
    await refused('restrictTo', { actions: 'Microsoft.Web/sites/read' }, /restrictTo's actions must be an array/);
    await refused('failDeployment', { error: 'Conflict' }, /failDeployment's error must be an ARM error body/);
    assert.deepEqual(sandbox.state.resourceGroup('production-vm')?.tags, before);
    assert.equal((await call('GET', id.site)).status, 200, 'no refused fault was injected');

    assert.equal((await control('drift', { resourceId: id.group('production-vm'), tags: { owner: 'someone-else' } })).status, 204);
    assert.equal(sandbox.state.resourceGroup('production-vm')?.tags.owner, 'someone-else');
    assert.equal((await control('ambiguousfailure')).status, 204, 'a fault whose options all have defaults needs no body; names are case-insensitive');
  });
});
