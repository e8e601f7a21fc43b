/**
 * The last word before an execution's write leaves: the gateway asks ExecutionHooks.maySend right
 * before each write goes to the HTTP client (after the token was fetched, on every try), and a
 * write it withholds never reaches ARM. Reads, and a what-if, are not asked about.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAzureGateway } from '../../src/azure';
import type { AzureGateway } from '../../src/app/ports';
import type { ChangeOperation } from '../../src/domain/operation';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayOptionsFor, ids, RecordingHooks, startTestSandbox, webAppTemplate } from '../support/sandbox';

/** Hooks whose maySend answers `answer()` and keeps a line per question in `events`. */
class FencedHooks extends RecordingHooks {
  asked = 0;
  beforeFirstSend?: () => Promise<string | undefined>;
  constructor(private readonly answer: () => string | undefined) {
    super();
  }
  maySend(): string | undefined {
    this.asked += 1;
    this.events.push('maySend');
    return this.answer();
  }
}

describe('Azure gateway: an execution\'s writes leave only while its hooks let them (maySend)', () => {
  let sandbox: ArmSandbox;
  let azure: AzureGateway;
  let id: ReturnType<typeof ids>;
  const writes = (pathEnd: string) => sandbox.requests.filter((r) => r.method !== 'GET' && r.path.toLowerCase().endsWith(pathEnd.toLowerCase())).map((r) => `${r.method} ${r.status}`);

  before(async () => {
    sandbox = await startTestSandbox();
    azure = createAzureGateway(gatewayOptionsFor(sandbox));
    id = ids(sandbox);
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  const restart = (): ChangeOperation => ({ kind: 'resourceAction', subscriptionId: sandbox.subscriptionId, resourceId: id.vm, action: 'restart', apiVersion: '2024-07-01' });

  it('asks after the token was fetched, and sends nothing it withholds: the call fails, no answer of Azure\'s', async () => {
    // A token that takes its time (a managed identity endpoint slow to answer); the lease runs out meanwhile.
    let leaseLeft = true;
    const events: string[] = [];
    const slow = createAzureGateway({
      ...gatewayOptionsFor(sandbox),
      credential: {
        getToken: async () => {
          await sleep(50);
          leaseLeft = false;
          events.push('token');
          return { token: 'sandbox', expiresOnTimestamp: Date.now() + 3600_000 };
        },
      },
    });
    const hooks = new FencedHooks(() => (events.push('maySend'), leaseLeft ? undefined : 'the lease of run-a had 0 ms left'));
    await assert.rejects(slow.execute(restart(), hooks), (err: Error) => err.name === 'SendWithheldError' && /^POST \/subscriptions\/.*\/restart was not sent to Azure Resource Manager: the lease of run-a had 0 ms left$/.test(err.message));
    assert.deepEqual(events, ['token', 'maySend']);
    assert.deepEqual(writes('/restart'), [], 'nothing reached ARM');
    assert.deepEqual(hooks.started, []);
  });

  it('asks again before each try of a write, and stops the retry it withholds', async () => {
    // ARM answers the deployment's PUT 503 once; the SDK's retry would send it again.
    sandbox.faults.throttle({ method: 'PUT', pathContains: '/deployments/fenced', unavailable: true, retryAfterSeconds: 0 });
    let tries = 0;
    const hooks = new FencedHooks(() => (++tries === 1 ? undefined : 'the lease of run-a had 120 ms of its 1500 ms left'));
    const op: ChangeOperation = { kind: 'deployTemplate', subscriptionId: sandbox.subscriptionId, resourceGroup: 'production-api-service', deploymentName: 'fenced', template: webAppTemplate(), parameters: { siteName: 'fenced' }, mode: 'Incremental' };
    await assert.rejects(azure.execute(op, hooks), /^SendWithheldError: PUT .*\/deployments\/fenced was not sent to Azure Resource Manager: the lease of run-a had 120 ms/);
    assert.equal(hooks.asked, 2);
    assert.deepEqual(writes('/deployments/fenced'), ['PUT 503'], 'the first try only');
  });

  it('lets every write go while it says nothing, and asks about writes only: polls, reads and a what-if are not its', async () => {
    const hooks = new FencedHooks(() => undefined);
    const op: ChangeOperation = { kind: 'deployTemplate', subscriptionId: sandbox.subscriptionId, resourceGroup: 'production-api-service', deploymentName: 'let-go', template: webAppTemplate(), parameters: { siteName: 'let-go' }, mode: 'Incremental' };
    const outcome = await azure.execute(op, hooks);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.equal(hooks.asked, 1, 'the PUT alone, not the polls that followed it');
    assert.ok(sandbox.requests.filter((r) => r.method === 'GET').length > 1);
    // A resumed execution's drift check (a what-if, a POST) made from inside the execution is no write of it.
    const fresh = { ...op, deploymentName: 'checked-first' } as Extract<ChangeOperation, { kind: 'deployTemplate' }>;
    const inside = new FencedHooks(() => 'withheld');
    let whatIfAnswered = false;
    inside.beforeFirstSend = async () => {
      await azure.whatIf(fresh);
      whatIfAnswered = true;
      return 'stopped here by the test';
    };
    const resumed = await azure.resume(fresh, { resourceIds: [] }, inside);
    assert.equal(resumed.status === 'failed' && resumed.error.code, 'NotSentOnResume');
    assert.ok(whatIfAnswered);
    assert.equal(inside.asked, 0);
  });
});
