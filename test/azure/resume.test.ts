/**
 * Resuming what an earlier run started: the first run is stopped right after ARM accepted the operation
 * (its wait aborted, as if the process died), then a second gateway (a new process, in effect) resumes
 * from the ref the first one recorded. ARM must see the operation sent once.
 */
import assert from 'node:assert/strict';
import type { AzureGateway } from '../../src/app/ports';
import type { ArmOperationRef, ChangeOperation, ExecutionOutcome } from '../../src/domain/operation';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayFor, ids, RecordingHooks, startTestSandbox, webAppTemplate } from '../support/sandbox';

/**
 * How long the sandbox runs a deployment step and an operation here: the first run must stop waiting
 * (5 ms after ARM accepted it) before the operation ends, on a loaded machine too.
 */
const RUNNING_STEP_MS = 250;
const RUNNING_OPERATION_MS = 500;

/** Runs `op` until ARM accepted it, then stops waiting; returns the ref the run recorded. */
async function startAndDie(azure: AzureGateway, op: ChangeOperation): Promise<ArmOperationRef> {
  const abort = new AbortController();
  const hooks = new RecordingHooks(() => {
    setTimeout(() => abort.abort(), 5);
  }, abort.signal);
  const outcome = await azure.execute(op, hooks);
  assert.equal(outcome.status, 'unknown', `the first run stopped waiting: ${JSON.stringify(outcome)}`);
  assert.equal(hooks.started.length, 1);
  return hooks.started[0];
}

function writes(sandbox: ArmSandbox, pathEnd: string): string[] {
  return sandbox.requests.filter((r) => r.method !== 'GET' && r.path.toLowerCase().endsWith(pathEnd.toLowerCase())).map((r) => `${r.method} ${r.status}`);
}

function succeeded(outcome: ExecutionOutcome): Extract<ExecutionOutcome, { status: 'succeeded' }> {
  assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
  return outcome as Extract<ExecutionOutcome, { status: 'succeeded' }>;
}

describe('Azure gateway: resuming an operation an earlier run started', () => {
  let sandbox: ArmSandbox;
  let first: AzureGateway;
  let second: AzureGateway;
  let id: ReturnType<typeof ids>;
  let sub: string;
  const deploy = (name: string): Extract<ChangeOperation, { kind: 'deployTemplate' }> => ({
    kind: 'deployTemplate',
    subscriptionId: sub,
    resourceGroup: 'production-api-service',
    deploymentName: name,
    template: webAppTemplate(),
    parameters: { siteName: 'resumed' },
    mode: 'Incremental',
  });

  before(async () => {
    sandbox = await startTestSandbox();
    first = gatewayFor(sandbox);
    second = gatewayFor(sandbox);
    id = ids(sandbox);
    sub = sandbox.subscriptionId;
  });
  after(() => sandbox.close());
  beforeEach(() => {
    sandbox.reset();
    sandbox.requests.length = 0;
  });

  it('restores the deployment poller from its recorded state and follows it to the outputs, sending the PUT once', async () => {
    sandbox.timing.deploymentStepMs = RUNNING_STEP_MS;
    const ref = await startAndDie(first, deploy('resume-me'));
    assert.ok(ref.resumeState);
    const hooks = new RecordingHooks();
    const outcome = succeeded(await second.resume(deploy('resume-me'), ref, hooks));
    assert.deepEqual(outcome.outputs, { url: 'https://resumed.azurewebsites.net' });
    assert.equal(outcome.ref.correlationId, ref.correlationId);
    assert.deepEqual(writes(sandbox, '/deployments/resume-me'), ['PUT 201']);
    assert.deepEqual(hooks.progress[hooks.progress.length - 1], { state: 'Succeeded', done: 2, total: 2 });
  });

  it('reports a deployment that failed while nobody watched with ARM\'s details', async () => {
    sandbox.timing.deploymentStepMs = RUNNING_STEP_MS;
    sandbox.faults.failDeployment({ error: { code: 'SkuNotAvailable', message: 'P1v3 is not available.' } });
    const ref = await startAndDie(first, deploy('fails-later'));
    await new Promise((r) => setTimeout(r, 3 * RUNNING_STEP_MS));
    const outcome = await second.resume(deploy('fails-later'), ref, new RecordingHooks());
    assert.equal(outcome.status, 'failed');
    assert.deepEqual(outcome.status === 'failed' && outcome.error.details, ['SkuNotAvailable: P1v3 is not available.']);
  });

  it('finds the deployment by name and correlation id when the run died before saving ARM\'s answer', async () => {
    sandbox.timing.deploymentStepMs = RUNNING_STEP_MS;
    const ref = await startAndDie(first, deploy('unsaved'));
    const claimOnly: ArmOperationRef = { correlationId: ref.correlationId, resourceIds: [] };
    succeeded(await second.resume(deploy('unsaved'), claimOnly, new RecordingHooks()));
    assert.deepEqual(writes(sandbox, '/deployments/unsaved'), ['PUT 201']);
  });

  it('starts a deployment ARM never received, carrying the claimed correlation id', async () => {
    const outcome = succeeded(await second.resume(deploy('never-sent'), { correlationId: 'claimed-corr', resourceIds: [] }, new RecordingHooks()));
    assert.equal(outcome.ref.correlationId, 'claimed-corr');
    assert.equal(sandbox.state.deployment('production-api-service', 'never-sent')?.correlationId, 'claimed-corr');
    assert.deepEqual(writes(sandbox, '/deployments/never-sent'), ['PUT 201']);
  });

  it('does not adopt a deployment of the same name that another caller started', async () => {
    succeeded(await first.execute(deploy('someone-elses'), new RecordingHooks()));
    const outcome = await second.resume(deploy('someone-elses'), { correlationId: 'not-theirs', resourceIds: [] }, new RecordingHooks());
    assert.equal(outcome.status, 'unknown');
    assert.equal(outcome.status === 'unknown' && outcome.error.code, 'DeploymentNotOurs');
  });

  it('follows a resource group deletion to its end, sending the DELETE once', async () => {
    sandbox.timing.operationMs = RUNNING_OPERATION_MS;
    const op: ChangeOperation = { kind: 'deleteResourceGroup', subscriptionId: sub, resourceGroup: 'staging-old' };
    const ref = await startAndDie(first, op);
    succeeded(await second.resume(op, ref, new RecordingHooks()));
    assert.equal(sandbox.state.resourceGroup('staging-old'), undefined);
    assert.deepEqual(writes(sandbox, '/resourcegroups/staging-old'), ['DELETE 202']);
  });

  it('reconciles a group deletion with no recorded answer from the group: gone is done', async () => {
    const op: ChangeOperation = { kind: 'deleteResourceGroup', subscriptionId: sub, resourceGroup: 'staging-old' };
    sandbox.state.removeGroup('staging-old');
    succeeded(await second.resume(op, { correlationId: 'c', resourceIds: [] }, new RecordingHooks()));
    assert.deepEqual(writes(sandbox, '/resourcegroups/staging-old'), [], 'nothing was sent');
  });

  it('follows a virtual machine deletion through the provider\'s operation', async () => {
    sandbox.timing.operationMs = RUNNING_OPERATION_MS;
    const op: ChangeOperation = { kind: 'deleteResource', subscriptionId: sub, resourceId: id.vm, apiVersion: '2024-07-01' };
    const ref = await startAndDie(first, op);
    succeeded(await second.resume(op, ref, new RecordingHooks()));
    assert.equal(sandbox.state.resource(id.vm), undefined);
    assert.deepEqual(writes(sandbox, '/virtualmachines/batch-worker-01'), ['DELETE 202']);
  });

  it('follows a virtual machine action from the recorded async-operation URL, posting it once', async () => {
    sandbox.timing.operationMs = RUNNING_OPERATION_MS;
    const op: ChangeOperation = { kind: 'resourceAction', subscriptionId: sub, resourceId: id.vm, action: 'powerOff', apiVersion: '2024-07-01' };
    const ref = await startAndDie(first, op);
    succeeded(await second.resume(op, ref, new RecordingHooks()));
    assert.match(JSON.stringify(sandbox.state.resource(id.vm)?.properties.extended), /PowerState\/stopped/);
    assert.deepEqual(writes(sandbox, '/batch-worker-01/poweroff'), ['POST 202']);
  });

  it('leaves an action with no recorded answer unknown, and does not send it again', async () => {
    const op: ChangeOperation = { kind: 'resourceAction', subscriptionId: sub, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' };
    const outcome = await second.resume(op, { correlationId: 'corr-9', resourceIds: [] }, new RecordingHooks());
    assert.equal(outcome.status, 'unknown');
    assert.match(outcome.status === 'unknown' ? outcome.error.message : '', /not sent again: check the resource's activity log for correlation id corr-9/);
    assert.deepEqual(writes(sandbox, '/restart'), []);
  });

  it('follows a scale set\'s capacity change (a long-running PATCH) to the new capacity', async () => {
    sandbox.timing.operationMs = RUNNING_OPERATION_MS;
    const op: ChangeOperation = { kind: 'scaleResource', subscriptionId: sub, resourceId: id.scaleSet, capacity: 5, apiVersion: '2024-07-01' };
    const ref = await startAndDie(first, op);
    assert.equal(sandbox.state.resource(id.scaleSet)?.properties.provisioningState, 'Updating');
    const outcome = succeeded(await second.resume(op, ref, new RecordingHooks()));
    assert.match(outcome.summary ?? '', /to 5 instance\(s\)/);
    assert.equal(sandbox.state.resource(id.scaleSet)?.sku?.capacity, 5);
    assert.deepEqual(writes(sandbox, '/virtualmachinescalesets/batch-pool'), ['PATCH 202']);
  });

  it('reconciles tags with no recorded answer: already applied is done, not applied is sent once', async () => {
    const op: ChangeOperation = { kind: 'setTags', subscriptionId: sub, scope: id.vm, tags: { costCenter: 'cc-42' }, operation: 'Merge' };
    const claim = { correlationId: 'c', resourceIds: [] };
    succeeded(await second.resume(op, claim, new RecordingHooks()));
    assert.equal(sandbox.state.resource(id.vm)?.tags.costCenter, 'cc-42');
    succeeded(await second.resume(op, claim, new RecordingHooks()));
    assert.deepEqual(writes(sandbox, '/tags/default'), ['PATCH 200'], 'the second resume found the tag in place');
  });

  it('leaves an accepted tag change that the tags no longer show unknown', async () => {
    const op: ChangeOperation = { kind: 'setTags', subscriptionId: sub, scope: id.vm, tags: { costCenter: 'cc-42' }, operation: 'Merge' };
    const outcome = await second.resume(op, { correlationId: 'c', pollUrl: 'https://x/recorded', resourceIds: [] }, new RecordingHooks());
    assert.equal(outcome.status, 'unknown');
    assert.deepEqual(writes(sandbox, '/tags/default'), []);
  });
  describe('asks before the first send of a resumed operation (no ARM answer recorded, the target untouched)', () => {
    /** Hooks whose last check before a first send answers `reason` (undefined: go ahead), counting the asks. */
    function asking(reason: string | undefined): RecordingHooks & { asked: number } {
      const hooks = Object.assign(new RecordingHooks(), { asked: 0 });
      Object.assign(hooks, {
        beforeFirstSend: async () => {
          hooks.asked++;
          return reason;
        },
      });
      return hooks;
    }
    const claim = { correlationId: 'claimed', resourceIds: [] };

    it('sends nothing when told not to, for every kind that would be sent for the first time, and says why', async () => {
      const ops: [ChangeOperation, string][] = [
        [{ kind: 'deleteResourceGroup', subscriptionId: sub, resourceGroup: 'staging-old' }, '/resourcegroups/staging-old'],
        [{ kind: 'setTags', subscriptionId: sub, scope: id.vm, tags: { costCenter: 'cc-42' }, operation: 'Merge' }, '/tags/default'],
        [deploy('not-yet'), '/deployments/not-yet'],
        [{ kind: 'createResourceGroup', subscriptionId: sub, resourceGroup: 'brand-new', location: 'westeurope', tags: {} }, '/resourcegroups/brand-new'],
      ];
      for (const [op, pathEnd] of ops) {
        const hooks = asking('what it would do changed since it was approved (x)');
        const outcome = await second.resume(op, claim, hooks);
        assert.equal(outcome.status, 'failed', `${op.kind}: ${JSON.stringify(outcome)}`);
        assert.equal(outcome.status === 'failed' && outcome.error.code, 'NotSentOnResume');
        assert.match(outcome.status === 'failed' ? outcome.error.message : '', /^Not executed: what it would do changed since it was approved \(x\)\. Nothing was sent to Azure; ask again\.$/);
        assert.equal(hooks.asked, 1, op.kind);
        assert.deepEqual(writes(sandbox, pathEnd), [], `${op.kind}: nothing was sent`);
      }
    });

    it('sends once when let, and never asks where the operation had taken effect or was accepted', async () => {
      const op: ChangeOperation = { kind: 'deleteResourceGroup', subscriptionId: sub, resourceGroup: 'staging-old' };
      const go = asking(undefined);
      succeeded(await second.resume(op, claim, go));
      assert.equal(go.asked, 1);
      assert.deepEqual(writes(sandbox, '/resourcegroups/staging-old'), ['DELETE 202']);
      const gone = asking('must not be asked');
      succeeded(await second.resume(op, claim, gone));
      assert.equal(gone.asked, 0, 'the group is gone already: nothing to send, nothing asked');
    });
  });
});
