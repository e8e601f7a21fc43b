import assert from 'node:assert/strict';
import type { AzureGateway } from '../../src/app/ports';
import type { ChangeOperation, ExecutionOutcome } from '../../src/domain/operation';
import type { ArmSandbox } from '../../src/sandbox';
import { createAzureGateway } from '../../src/azure';
import { cappedRetryAfterPolicy, createArmClients } from '../../src/azure/clients';
import { createHttpHeaders, createPipelineRequest, type PipelineRequest } from '@azure/core-rest-pipeline';
import { gatewayFor, gatewayOptionsFor, ids, RecordingHooks, startTestSandbox, webAppTemplate } from '../support/sandbox';

function errorOf(outcome: ExecutionOutcome) {
  assert.notEqual(outcome.status, 'succeeded', `expected a failure, got ${JSON.stringify(outcome)}`);
  return (outcome as Exclude<ExecutionOutcome, { status: 'succeeded' }>).error;
}

describe('Azure gateway: when Azure says no, or cannot say', () => {
  let sandbox: ArmSandbox;
  let azure: AzureGateway;
  let id: ReturnType<typeof ids>;
  let deploy: (name: string, siteName?: string) => Extract<ChangeOperation, { kind: 'deployTemplate' }>;

  before(async () => {
    sandbox = await startTestSandbox();
    azure = gatewayFor(sandbox);
    id = ids(sandbox);
    deploy = (name, siteName = 'checkout') => ({
      kind: 'deployTemplate',
      subscriptionId: sandbox.subscriptionId,
      resourceGroup: 'production-api-service',
      deploymentName: name,
      template: webAppTemplate(),
      parameters: { siteName },
      mode: 'Incremental',
    });
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('a failing deployment is a failed outcome carrying ARM\'s error details in words', async () => {
    sandbox.faults.failDeployment({
      resourceName: 'checkout-plan',
      error: { code: 'SkuNotAvailable', message: "The requested size 'P1v3' is currently not available in location 'westeurope'." },
    });
    const outcome = await azure.execute(deploy('web-fails'), new RecordingHooks());
    assert.equal(outcome.status, 'failed');
    const error = errorOf(outcome);
    assert.equal(error.code, 'DeploymentFailed');
    assert.match(error.message, /At least one resource deployment operation failed/);
    assert.deepEqual(error.details, ["SkuNotAvailable: The requested size 'P1v3' is currently not available in location 'westeurope'."]);
    const site = `${id.group('production-api-service')}/providers/Microsoft.Web/sites/checkout`;
    assert.equal(sandbox.state.resource(site), undefined, 'the site depends on the failed plan and was never deployed');
  });

  describe('a status URL pointing away from ARM, or answering no status', () => {
    const powerOff = () => ({ kind: 'resourceAction' as const, subscriptionId: sandbox.subscriptionId, resourceId: id.vm, action: 'powerOff', apiVersion: '2024-07-01' });

    it('an action whose status header names another host ends unknown: nothing is sent there, no other host\'s word is taken', async () => {
      sandbox.faults.redirectStatus({ method: 'POST', to: 'https://127.0.0.2:9/steal/status?api-version=1' });
      const hooks = new RecordingHooks();
      const outcome = await azure.execute(powerOff(), hooks);
      assert.equal(outcome.status, 'unknown', JSON.stringify(outcome));
      const error = errorOf(outcome);
      assert.equal(error.code, 'NotAzureResourceManager');
      assert.match(error.message, /points at https:\/\/127\.0\.0\.2:9, not Azure Resource Manager: Countersign sends its token to ARM only/);
      assert.equal(hooks.started.length, 1, 'accepted: started, its foreign URL not recorded to resume from');
      assert.equal(hooks.started[0].pollUrl, undefined);
    });

    it('a group delete whose Location names another host ends unknown, never succeeded on that host\'s word', async () => {
      sandbox.faults.redirectStatus({ method: 'DELETE', to: 'https://127.0.0.2:9/steal/aso?api-version=1' });
      const outcome = await azure.execute({ kind: 'deleteResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'staging-old' }, new RecordingHooks());
      assert.equal(outcome.status, 'unknown', JSON.stringify(outcome));
      assert.match(JSON.stringify(errorOf(outcome)), /not Azure Resource Manager/);
    });

    it('never sends a call, or the token, to another host', async () => {
      let tokens = 0;
      const clients = createArmClients({ subscriptionId: sandbox.subscriptionId, endpoint: sandbox.url, caPem: sandbox.caPem, credential: { getToken: async () => (tokens++, { token: 't', expiresOnTimestamp: Date.now() + 3600_000 }) } });
      await assert.rejects(clients.send({ method: 'GET', url: 'https://elsewhere.example/x?api-version=1' }), (err: Error & { code?: string }) => err.code === 'NotAzureResourceManager' && /elsewhere\.example/.test(err.message));
      assert.equal(tokens, 0);
    });

    it('a status answer without a status (another service\'s JSON) is a read that failed: unknown after the patience, not running forever', async () => {
      const patient = createAzureGateway({ ...gatewayOptionsFor(sandbox), statusPatienceMs: 300 });
      sandbox.faults.redirectStatus({ method: 'POST', to: `${sandbox.url}/_sandbox/state` });
      const outcome = await patient.execute(powerOff(), new RecordingHooks());
      assert.equal(outcome.status, 'unknown', JSON.stringify(outcome));
      assert.match(errorOf(outcome).message, /its status could not be read for \d+ s .*holds no status \(JSON without a status field\)/);
    });
  });

  it('caps a Retry-After ARM gives at a minute before the SDK waits on it (a day held a drift check that long)', async () => {
    const capped = cappedRetryAfterPolicy();
    const answer = (headers: Record<string, string>) => async (request: PipelineRequest) => ({ request, status: 429, headers: createHttpHeaders(headers) });
    const request = createPipelineRequest({ url: `${sandbox.url}/x` });
    assert.equal((await capped.sendRequest(request, answer({ 'retry-after': '86400' }))).headers.get('retry-after'), '60');
    assert.equal((await capped.sendRequest(request, answer({ 'retry-after': new Date(Date.now() + 3600_000).toUTCString() }))).headers.get('retry-after'), '60');
    assert.equal((await capped.sendRequest(request, answer({ 'retry-after': '7' }))).headers.get('retry-after'), '7');
    assert.equal((await capped.sendRequest(request, answer({ 'retry-after-ms': '999999' }))).headers.get('retry-after-ms'), '60000');
  });

  it('a template ARM rejects is a failed outcome with the validation message', async () => {
    const op = deploy('bad-template');
    op.template = { ...op.template, resources: [{ type: 'Microsoft.Web/sites', apiVersion: '2023-12-01', name: "[reference('x').name]" }] };
    const hooks = new RecordingHooks();
    const outcome = await azure.execute(op, hooks);
    assert.equal(outcome.status, 'failed');
    const error = errorOf(outcome);
    assert.equal(error.code, 'InvalidTemplate');
    assert.equal(error.httpStatus, 400);
    assert.match(error.message, /The template function 'reference' is not valid/);
    assert.equal(hooks.started.length, 0, 'a refused operation was never started');
  });

  it('AuthorizationFailed names the missing action and the scope', async () => {
    sandbox.faults.denyAction('Microsoft.Resources/subscriptions/resourceGroups/delete');
    const outcome = await azure.execute(
      { kind: 'deleteResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'staging-old' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'failed');
    const error = errorOf(outcome);
    assert.equal(error.code, 'AuthorizationFailed');
    assert.equal(error.httpStatus, 403);
    assert.match(error.message, /not allowed to perform 'Microsoft\.Resources\/subscriptions\/resourceGroups\/delete'/);
    assert.match(error.message, new RegExp(`on '/subscriptions/${sandbox.subscriptionId}/resourcegroups/staging-old'`, 'i'));
    assert.ok(sandbox.state.resourceGroup('staging-old'), 'nothing was deleted');
  });

  it('a deployment needs write on every resource type in its template', async () => {
    sandbox.faults.denyAction('Microsoft.Web/sites/write');
    const outcome = await azure.execute(deploy('no-site-write'), new RecordingHooks());
    const error = errorOf(outcome);
    assert.equal(error.code, 'AuthorizationFailed');
    assert.match(error.message, /'Microsoft\.Web\/sites\/write' on '[^']+\/providers\/Microsoft\.Web\/sites\/checkout'/);
  });

  it('429 with Retry-After is retried by the SDK without the caller noticing', async () => {
    sandbox.faults.throttle({ count: 1, retryAfterSeconds: 1, pathContains: '/resourcegroups/feature-y' });
    const started = Date.now();
    const outcome = await azure.execute(
      { kind: 'createResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'feature-y', location: 'westeurope', tags: {} },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'succeeded');
    assert.ok(Date.now() - started >= 900, 'the SDK waited for Retry-After');
    const calls = sandbox.requests.filter((r) => r.path.toLowerCase().endsWith('/resourcegroups/feature-y')).map((r) => r.status);
    assert.deepEqual(calls, [429, 201]);
  });

  it('throttling that outlasts the retries is a failed outcome that says so', async () => {
    sandbox.faults.throttle({ count: 10, retryAfterSeconds: 0, pathContains: '/resourcegroups/feature-z' });
    const outcome = await azure.execute(
      { kind: 'createResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'feature-z', location: 'westeurope', tags: {} },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'failed');
    const error = errorOf(outcome);
    assert.equal(error.httpStatus, 429);
    assert.match(error.message, /throttling/);
  });

  describe('an accepted operation whose status cannot be read for a while', () => {
    it('a deployment whose status polls are throttled past the SDK\'s retries is followed to its end, not failed', async () => {
      sandbox.timing.deploymentStepMs = 20;
      sandbox.faults.throttle({ count: 6, retryAfterSeconds: 0, method: 'GET', pathContains: '/deployments/web-throttled-polls' });
      const hooks = new RecordingHooks();
      const outcome = await azure.execute(deploy('web-throttled-polls'), hooks);
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      assert.equal(hooks.started.length, 1);
      const throttled = sandbox.requests.filter((r) => r.method === 'GET' && r.path.includes('/deployments/web-throttled-polls') && r.status === 429);
      assert.equal(throttled.length, 6, 'every throttled read was answered 429 and the polling went on');
    });

    it('a resource group delete whose Location polls get 503s is followed to its end', async () => {
      const from = sandbox.requests.length;
      sandbox.faults.throttle({ count: 5, retryAfterSeconds: 0, unavailable: true, method: 'GET', pathContains: '/operationresults/' });
      const outcome = await azure.execute({ kind: 'deleteResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'staging-old' }, new RecordingHooks());
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      assert.equal(sandbox.state.resourceGroup('staging-old'), undefined);
      assert.ok(sandbox.requests.slice(from).some((r) => r.status === 503), 'the polls met the 503s');
    });

    it('an action whose status document cannot be read for a while is followed to its end', async () => {
      sandbox.faults.throttle({ count: 5, retryAfterSeconds: 0, method: 'GET', pathContains: '/operations/' });
      const outcome = await azure.execute(
        { kind: 'resourceAction', subscriptionId: sandbox.subscriptionId, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' },
        new RecordingHooks(),
      );
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    });

    it('a deployment another run started, followed by reading it, is followed through throttled reads', async () => {
      sandbox.timing.deploymentStepMs = 40;
      const abort = new AbortController();
      // The first run stops following as soon as ARM accepted the deployment (its answer unrecorded here).
      const first = new RecordingHooks(() => void setTimeout(() => abort.abort(), 1), abort.signal);
      await azure.execute(deploy('web-adopted'), first);
      const claimOnly = { correlationId: first.started[0].correlationId, resourceIds: [] };
      sandbox.faults.throttle({ count: 6, retryAfterSeconds: 0, method: 'GET', pathContains: '/deployments/web-adopted' });
      const outcome = await azure.resume(deploy('web-adopted'), claimOnly, new RecordingHooks());
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      const throttled = sandbox.requests.filter((r) => r.method === 'GET' && r.path.includes('/deployments/web-adopted') && r.status === 429);
      assert.equal(throttled.length, 6);
    });

    it('past the patience the outcome is unknown, never failed: the operation may have run', async () => {
      const impatient = createAzureGateway({ ...gatewayOptionsFor(sandbox), statusPatienceMs: 100 });
      sandbox.timing.deploymentStepMs = 20;
      sandbox.faults.throttle({ count: 10_000, retryAfterSeconds: 0, method: 'GET', pathContains: '/deployments/web-unreadable' });
      const outcome = await impatient.execute(deploy('web-unreadable'), new RecordingHooks());
      assert.equal(outcome.status, 'unknown', JSON.stringify(outcome));
      const error = errorOf(outcome);
      assert.equal(error.code, 'OperationStatusUnreadable');
      assert.match(error.message, /^Azure accepted the operation, but its status could not be read for \d+ s \(last answer: .*throttling.*\)\. It may still be running, or have ended either way: how it ended is unknown/);
      sandbox.faults.clear();
      const action = createAzureGateway({ ...gatewayOptionsFor(sandbox), statusPatienceMs: 100 });
      sandbox.faults.throttle({ count: 10_000, retryAfterSeconds: 0, unavailable: true, method: 'GET', pathContains: '/operations/' });
      const restart = await action.execute(
        { kind: 'resourceAction', subscriptionId: sandbox.subscriptionId, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' },
        new RecordingHooks(),
      );
      assert.equal(restart.status, 'unknown', JSON.stringify(restart));
      assert.match(errorOf(restart).message, /^Azure accepted "restart" on .*batch-worker-01, but its status could not be read/);
    });
  });

  describe('an answer ARM gave that could not be read (a 2xx whose JSON body was cut short)', () => {
    const requestsTo = (method: string, pathEnd: string, from = 0) =>
      sandbox.requests.slice(from).filter((r) => r.method === method && r.path.toLowerCase().endsWith(pathEnd.toLowerCase())).map((r) => r.status);

    it('a tag PATCH answered 200 cut short succeeded, read back from the tags; a tag write ARM refuses (403) still fails', async () => {
      const tagsOf = `${id.vm}/providers/Microsoft.Resources/tags/default`;
      sandbox.faults.truncatedBody({ method: 'PATCH', pathContains: '/tags/default' });
      const outcome = await azure.execute({ kind: 'setTags', subscriptionId: sandbox.subscriptionId, scope: id.vm, tags: { costCenter: 'cc-42' }, operation: 'Merge' }, new RecordingHooks());
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      assert.match(outcome.status === 'succeeded' ? (outcome.summary ?? '') : '', /costCenter=cc-42.* Azure's answer to the request could not be read, so this was read back from Azure\.$/);
      assert.equal(sandbox.state.resource(id.vm)?.tags.costCenter, 'cc-42');
      assert.deepEqual(requestsTo('PATCH', tagsOf), [200], 'the PATCH went out once');

      sandbox.faults.denyAction('Microsoft.Resources/tags/write');
      const refused = await azure.execute({ kind: 'setTags', subscriptionId: sandbox.subscriptionId, scope: id.vm, tags: { owner: 'x' }, operation: 'Merge' }, new RecordingHooks());
      assert.equal(refused.status, 'failed', JSON.stringify(refused));
      assert.equal(errorOf(refused).httpStatus, 403);
    });

    it('a resource group created with a 201 cut short succeeded, read back from the group', async () => {
      sandbox.faults.truncatedBody({ method: 'PUT', pathContains: '/resourcegroups/half-answered' });
      const outcome = await azure.execute(
        { kind: 'createResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'half-answered', location: 'westeurope', tags: { owner: 'alice' } },
        new RecordingHooks(),
      );
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      assert.match(outcome.status === 'succeeded' ? (outcome.summary ?? '') : '', /^Resource group half-answered created in westeurope\. Azure's answer/);
      assert.deepEqual(sandbox.state.resourceGroup('half-answered')?.tags, { owner: 'alice' });
      assert.deepEqual(requestsTo('PUT', '/resourcegroups/half-answered'), [201], 'the PUT went out once');
    });

    it('a deployment whose PUT was answered 201 cut short is found by name and correlation id and followed to its end', async () => {
      // Still running when found after the cut-short answer (two steps), on a loaded machine too.
      sandbox.timing.deploymentStepMs = 250;
      sandbox.faults.truncatedBody({ method: 'PUT', pathContains: '/deployments/web-half-answered' });
      const running: (string | undefined)[] = [];
      const hooks = new RecordingHooks(() => {
        running.push(sandbox.state.deployment('production-api-service', 'web-half-answered')?.provisioningState);
      });
      const outcome = await azure.execute(deploy('web-half-answered'), hooks);
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      assert.equal(hooks.started.length, 1, 'the deployment found is recorded as started, to be followed');
      assert.match(hooks.started[0].pollUrl ?? '', /\/deployments\/web-half-answered$/);
      assert.notEqual(running[0], 'Succeeded', 'it was found while it still ran');
      assert.deepEqual(requestsTo('PUT', '/deployments/web-half-answered'), [201], 'the PUT went out once');
      assert.ok(sandbox.state.resource(`${id.group('production-api-service')}/providers/Microsoft.Web/sites/checkout`));
    });

    it('a scale whose PATCH was answered cut short succeeded, read back; one whose read before it was cut short fails, nothing sent', async () => {
      const scale = (capacity: number): ChangeOperation => ({ kind: 'scaleResource', subscriptionId: sandbox.subscriptionId, resourceId: id.plan, capacity, apiVersion: '2023-12-01' });
      sandbox.faults.truncatedBody({ method: 'PATCH', pathContains: '/serverfarms/api-service-plan' });
      const outcome = await azure.execute(scale(5), new RecordingHooks());
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
      assert.equal(sandbox.state.resource(id.plan)?.sku?.capacity, 5);
      assert.deepEqual(requestsTo('PATCH', '/serverfarms/api-service-plan'), [200], 'the PATCH went out once');

      const from = sandbox.requests.length;
      sandbox.faults.truncatedBody({ method: 'GET', pathContains: '/serverfarms/api-service-plan' });
      const unread = await azure.execute(scale(6), new RecordingHooks());
      assert.equal(unread.status, 'failed', JSON.stringify(unread));
      assert.equal(errorOf(unread).code, 'PARSE_ERROR');
      assert.deepEqual(requestsTo('PATCH', '/serverfarms/api-service-plan', from), [], 'nothing was sent');
      assert.equal(sandbox.state.resource(id.plan)?.sku?.capacity, 5);
    });

    it('a deployment that fails after its PUT was answered cut short is a failed outcome with ARM\'s error (its own ending)', async () => {
      sandbox.faults.truncatedBody({ method: 'PUT', pathContains: '/deployments/web-half-failing' });
      sandbox.faults.failDeployment({ deploymentName: 'web-half-failing', error: { code: 'SkuNotAvailable', message: 'P1v3 is not available.' } });
      const outcome = await azure.execute(deploy('web-half-failing'), new RecordingHooks());
      assert.equal(outcome.status, 'failed', JSON.stringify(outcome));
      assert.equal(errorOf(outcome).code, 'DeploymentFailed');
    });

    it('a deployment whose status reads are answered cut short is followed to its end', async () => {
      sandbox.timing.deploymentStepMs = 20;
      sandbox.faults.truncatedBody({ count: 3, method: 'GET', pathContains: '/operationstatuses/' });
      const outcome = await azure.execute(deploy('web-half-polled'), new RecordingHooks());
      assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    });
  });

  it('a tag write whose every try got an ambiguous 500 is read back: the tags show the change, so it succeeded', async () => {
    sandbox.faults.ambiguousFailure({ method: 'PATCH', pathContains: '/tags/default', count: 10 });
    const outcome = await azure.execute({ kind: 'setTags', subscriptionId: sandbox.subscriptionId, scope: id.group('staging-old'), tags: { costCenter: 'cc-77' }, operation: 'Merge' }, new RecordingHooks());
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.match(outcome.status === 'succeeded' ? (outcome.summary ?? '') : '', /^Tags merged on .*; Azure's answer was lost \(.+\), and the tags read back show the change: .*costCenter=cc-77/);
    assert.equal(sandbox.state.resourceGroup('staging-old')?.tags.costCenter, 'cc-77');
    sandbox.faults.clear();
  });

  it('a deployment whose PUT got an ambiguous 500 is recognised on the retry and followed to the end', async () => {
    sandbox.faults.ambiguousFailure({ method: 'PUT', pathContains: '/deployments/web-ambiguous' });
    const hooks = new RecordingHooks();
    const outcome = await azure.execute(deploy('web-ambiguous'), hooks);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    const puts = sandbox.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/web-ambiguous')).map((r) => r.status);
    assert.deepEqual(puts, [500, 409], 'the SDK retried the PUT and met our own running deployment');
    assert.equal(hooks.started.length, 1);
    assert.match(hooks.started[0].pollUrl ?? '', /\/deployments\/web-ambiguous$/);
    assert.ok(sandbox.state.resource(`${id.group('production-api-service')}/providers/Microsoft.Web/sites/checkout`));
  });

  it('a resource group delete whose first answer was an ambiguous 500 succeeded: the retry finds the group gone (404), which is what was asked', async () => {
    await azure.execute({ kind: 'createResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'gone-after-500', location: 'westeurope', tags: {} }, new RecordingHooks());
    sandbox.faults.ambiguousFailure({ method: 'DELETE', pathContains: '/resourcegroups/gone-after-500' });
    const from = sandbox.requests.length;
    // The retry waits longer than the sandbox takes to delete a group, as the SDK's default backoff (0.8 s and up) does against Azure.
    const patient = createAzureGateway({ ...gatewayOptionsFor(sandbox), retry: { maxRetries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 200 } });
    const outcome = await patient.execute({ kind: 'deleteResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'gone-after-500' }, new RecordingHooks());
    const deletes = sandbox.requests.slice(from).filter((r) => r.method === 'DELETE').map((r) => r.status);
    assert.deepEqual(deletes, [500, 404], 'the SDK retried the DELETE and found its own work done');
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.match(outcome.status === 'succeeded' ? (outcome.summary ?? '') : '', /^Resource group gone-after-500 is gone: Azure answered that it does not exist/);
    assert.equal(sandbox.state.resourceGroup('gone-after-500'), undefined);
  });

  it('a write answered only with 500s is an unknown outcome (it may have happened)', async () => {
    sandbox.faults.ambiguousFailure({ count: 10, pathContains: '/resourcegroups/maybe' });
    const outcome = await azure.execute(
      { kind: 'createResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'maybe', location: 'westeurope', tags: {} },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'unknown');
    assert.equal(errorOf(outcome).httpStatus, 500);
    assert.ok(sandbox.state.resourceGroup('maybe'), 'the write did happen');
  });

  it('an action answered with an ambiguous 500 is unknown and is not sent again', async () => {
    sandbox.faults.ambiguousFailure({ method: 'POST', pathContains: '/restart' });
    const from = sandbox.requests.length;
    const outcome = await azure.execute(
      { kind: 'resourceAction', subscriptionId: sandbox.subscriptionId, resourceId: id.site, action: 'restart', apiVersion: '2023-12-01' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'unknown');
    assert.equal(errorOf(outcome).httpStatus, 500);
    const posts = sandbox.requests.slice(from).filter((r) => r.method === 'POST' && r.path.endsWith('/restart')).map((r) => r.status);
    assert.deepEqual(posts, [500], 'the POST went out once');
  });

  it('an action ARM throttles is retried after Retry-After (a 429 means nothing was done)', async () => {
    sandbox.faults.throttle({ count: 2, retryAfterSeconds: 0, method: 'POST', pathContains: '/restart' });
    const from = sandbox.requests.length;
    const outcome = await azure.execute(
      { kind: 'resourceAction', subscriptionId: sandbox.subscriptionId, resourceId: id.site, action: 'restart', apiVersion: '2023-12-01' },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    const posts = sandbox.requests.slice(from).filter((r) => r.method === 'POST' && r.path.endsWith('/restart')).map((r) => r.status);
    assert.deepEqual(posts, [429, 429, 200]);
  });

  it('a running deployment cancelled through Countersign ends Canceled in Azure', async () => {
    // The cancel (another HTTPS call) must reach ARM within the deployment's two steps, on a loaded machine too.
    sandbox.timing.deploymentStepMs = 250;
    const op = deploy('web-stop-me');
    const hooks = new RecordingHooks(async () => {
      await azure.cancel(op);
    });
    const outcome = await azure.execute(op, hooks);
    assert.equal(errorOf(outcome).code, 'DeploymentCanceled');
    assert.equal(sandbox.state.deployment('production-api-service', 'web-stop-me')?.provisioningState, 'Canceled');
  });

  it('cancelling a deployment that already finished is refused in words', async () => {
    const op = deploy('web-done');
    assert.equal((await azure.execute(op, new RecordingHooks())).status, 'succeeded');
    await assert.rejects(azure.cancel(op), /DeploymentCannotBeCancelled: The deployment 'web-done' cannot be cancelled because it is in 'Succeeded' state/);
  });

  it('a deployment cancelled in Azure is a failed outcome saying so', async () => {
    // Still running when the gateway hears ARM accepted it, on a loaded machine too.
    sandbox.timing.deploymentStepMs = 250;
    const hooks = new RecordingHooks(() => {
      sandbox.state.liveDeployment('production-api-service', 'web-cancelled')!.cancelRequested = true;
    });
    const outcome = await azure.execute(deploy('web-cancelled'), hooks);
    assert.equal(outcome.status, 'failed');
    assert.equal(errorOf(outcome).code, 'DeploymentCanceled');
  });

  it('stopping the wait (abort) leaves the outcome unknown, with the ref to resume from', async () => {
    // Far from ending when the wait is stopped, however late that is (the next test's reset stops it).
    sandbox.timing.deploymentStepMs = 5000;
    const abort = new AbortController();
    const hooks = new RecordingHooks(() => {
      setTimeout(() => abort.abort(), 30);
    }, abort.signal);
    const outcome = await azure.execute(deploy('web-abandoned'), hooks);
    assert.equal(outcome.status, 'unknown');
    assert.equal(errorOf(outcome).code, 'Aborted');
    assert.match(outcome.ref.pollUrl ?? '', /operationStatuses/);
  });

  it('a failing onStarted hook is the caller\'s error, not an Azure outcome', async () => {
    const hooks = new RecordingHooks(() => {
      throw new Error('could not save the ARM reference');
    });
    await assert.rejects(
      azure.execute({ kind: 'deleteResourceGroup', subscriptionId: sandbox.subscriptionId, resourceGroup: 'staging-old' }, hooks),
      /could not save the ARM reference/,
    );
  });

  it('an unreachable endpoint is a failed outcome (nothing was sent)', async () => {
    const closed = await startTestSandbox();
    const unreachable = gatewayFor(closed);
    await closed.close();
    const outcome = await unreachable.execute(
      { kind: 'createResourceGroup', subscriptionId: closed.subscriptionId, resourceGroup: 'x', location: 'westeurope', tags: {} },
      new RecordingHooks(),
    );
    assert.equal(outcome.status, 'failed', JSON.stringify(outcome));
    assert.equal(errorOf(outcome).code, 'ECONNREFUSED');
  });
});
