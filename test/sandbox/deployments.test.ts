import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ArmSandbox } from '../../src/sandbox';
import { ids, startTestSandbox, webAppTemplate } from '../support/sandbox';
import { armRequest, type RawAnswer } from '../support/sandbox-http';

describe('ARM sandbox: deployments', () => {
  let sandbox: ArmSandbox;
  let id: ReturnType<typeof ids>;
  let deployments: string;
  const call = (method: string, path: string, body?: unknown) => armRequest(sandbox, method, path, { body, apiVersion: '2025-04-01' });
  const body = (siteName: string, mode = 'Incremental', template: Record<string, unknown> = webAppTemplate()) => ({
    properties: { mode, template, parameters: { siteName: { value: siteName } } },
  });

  /**
   * A step of the deployments whose running state a test must see: several HTTPS calls (a TLS
   * handshake each) fit into it even when a loaded machine makes them ten times slower.
   */
  const STEP_MS = 400;

  async function until(what: () => Promise<boolean>, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > end) assert.fail('timed out');
      await sleep(5);
    }
  }

  const stateOf = async (name: string) => (await call('GET', `${deployments}/${name}`)).body.properties.provisioningState as string;

  before(async () => {
    sandbox = await startTestSandbox();
    id = ids(sandbox);
    deployments = `${id.group('production-api-service')}/providers/Microsoft.Resources/deployments`;
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('accepts a deployment with 201 and Azure-AsyncOperation, runs it, and reports Succeeded with outputs', async () => {
    // Steps long enough that the status read right after the PUT finds it still running on a loaded machine.
    sandbox.timing.deploymentStepMs = STEP_MS;
    const accepted = await call('PUT', `${deployments}/d1`, body('alpha'));
    assert.equal(accepted.status, 201);
    assert.equal(accepted.body.properties.provisioningState, 'Accepted');
    const statusUrl = accepted.headers['azure-asyncoperation'];
    assert.match(statusUrl, /\/deployments\/d1\/operationStatuses\/[0-9a-f]+\?api-version=2025-04-01$/);
    assert.equal((await call('GET', statusUrl)).body.status, 'Running');
    await until(async () => (await call('GET', statusUrl)).body.status === 'Succeeded');
    const done = await call('GET', `${deployments}/d1`);
    assert.deepEqual(done.body.properties.outputs, { url: { type: 'String', value: 'https://alpha.azurewebsites.net' } });
    assert.equal(done.body.properties.outputResources.length, 2);
    assert.ok(sandbox.state.resource(`${id.group('production-api-service')}/providers/Microsoft.Web/sites/alpha`));
  });

  it('shows progress through deployment operations, one per template resource', async () => {
    // Each phase lasts a step: long enough for a poll (two HTTPS calls) to see it on a loaded machine.
    sandbox.timing.deploymentStepMs = STEP_MS;
    await call('PUT', `${deployments}/d2`, body('beta'));
    const counts: string[] = [];
    await until(async () => {
      const ops: RawAnswer = await call('GET', `${id.group('production-api-service')}/deployments/d2/operations`);
      counts.push(ops.body.value.map((o: { properties: { provisioningState: string } }) => o.properties.provisioningState).join(','));
      return (await stateOf('d2')) === 'Succeeded';
    }, 10 * STEP_MS);
    assert.ok(counts.includes('Running'), `the first operation was seen running: ${counts.join(' | ')}`);
    assert.ok(counts.includes('Succeeded,Running'), `then the second: ${counts.join(' | ')}`);
    const ops = await call('GET', `${deployments}/d2/operations`);
    assert.deepEqual(
      ops.body.value.map((o: { properties: { targetResource: { resourceName: string }; provisioningOperation: string } }) => [
        o.properties.targetResource.resourceName,
        o.properties.provisioningOperation,
      ]),
      [['beta-plan', 'Create'], ['beta', 'Create']],
      'in dependency order',
    );
  });

  it('refuses a second PUT while the first runs (DeploymentActive), and can cancel it', async () => {
    // The second PUT and the cancel must come while it runs (two steps).
    sandbox.timing.deploymentStepMs = STEP_MS;
    await call('PUT', `${deployments}/d3`, body('gamma'));
    const again = await call('PUT', `${deployments}/d3`, body('gamma'));
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'DeploymentActive');
    assert.equal((await call('POST', `${deployments}/d3/cancel`)).status, 204);
    await until(async () => (await stateOf('d3')) === 'Canceled');
    assert.equal((await call('POST', `${deployments}/d3/cancel`)).status, 409, 'a finished deployment cannot be cancelled');
  });

  it('fails a deployment as told: Failed status, DeploymentFailed with the resource error, failed operation', async () => {
    sandbox.faults.failDeployment({ deploymentName: 'd4', error: { code: 'Conflict', message: 'Website with given name delta already exists.' } });
    const accepted = await call('PUT', `${deployments}/d4`, body('delta'));
    await until(async () => (await call('GET', accepted.headers['azure-asyncoperation'])).body.status === 'Failed');
    const status = await call('GET', accepted.headers['azure-asyncoperation']);
    assert.equal(status.body.error.code, 'DeploymentFailed');
    assert.deepEqual(status.body.error.details, [{ code: 'Conflict', message: 'Website with given name delta already exists.' }]);
    const ops = await call('GET', `${deployments}/d4/operations`);
    const failed = ops.body.value.find((o: { properties: { provisioningState: string } }) => o.properties.provisioningState === 'Failed');
    assert.equal(failed.properties.targetResource.resourceName, 'delta');
    assert.equal(failed.properties.statusMessage.error.code, 'Conflict');
  });

  it('makes a deployment slow when told to', async () => {
    // Far slower than the wait below however late it is read (the next test's reset stops it).
    sandbox.faults.slowDeployment({ deploymentName: 'd5', stepMs: 60_000 });
    await call('PUT', `${deployments}/d5`, body('epsilon'));
    await sleep(100);
    assert.equal(await stateOf('d5'), 'Running');
  });

  it('stops a running deployment when reset, so it cannot leak into the next test', async () => {
    sandbox.timing.deploymentStepMs = 40;
    await call('PUT', `${deployments}/d9`, body('iota'));
    sandbox.reset();
    await sleep(120);
    assert.deepEqual(sandbox.state.resources('production-api-service').map((r) => r.name).sort(), ['api-service', 'api-service-plan']);
  });

  it('in Complete mode deletes what the template does not mention', async () => {
    const template = webAppTemplate();
    const accepted = await call('PUT', `${deployments}/d6`, body('zeta', 'Complete', template));
    await until(async () => (await call('GET', accepted.headers['azure-asyncoperation'])).body.status === 'Succeeded');
    const names = sandbox.state.resources('production-api-service').map((r) => r.name).sort();
    assert.deepEqual(names, ['zeta', 'zeta-plan']);
  });

  it('validates without deploying, and refuses an invalid template synchronously', async () => {
    const valid = await call('POST', `${deployments}/d7/validate`, body('eta'));
    assert.equal(valid.status, 200);
    assert.equal(valid.body.properties.validatedResources.length, 2);
    assert.equal(sandbox.state.resources('production-api-service').length, 2, 'nothing deployed');
    const invalid = await call('POST', `${deployments}/d7/validate`, { properties: { mode: 'Incremental', template: webAppTemplate() } });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error.message, /siteName/);
  });

  it('answers what-if with 202 + Location, then the changes', async () => {
    const accepted = await call('POST', `${deployments}/d8/whatIf`, body('theta'));
    assert.equal(accepted.status, 202);
    let result: RawAnswer | undefined;
    await until(async () => {
      result = await call('GET', accepted.headers.location);
      return result.status === 200;
    });
    assert.equal(result!.body.status, 'Succeeded');
    const changes = result!.body.properties.changes as { changeType: string; resourceId: string }[];
    assert.deepEqual(changes.map((c) => c.changeType).sort(), ['Create', 'Create', 'Ignore', 'Ignore']);
  });
});
