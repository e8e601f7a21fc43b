/**
 * Azure Resource Manager that accepts a call and never answers (a dropped NAT flow, a hung proxy): each
 * try of a call fails after COUNTERSIGN_AZURE_TIMEOUT as a broken connection, so a read is tried again
 * and then fails in words (transient), and a write's outcome is found out, never assumed; at a stop,
 * every call still waiting is given up at once.
 */
import assert from 'node:assert/strict';
import { withTurnDeadline, type SnapshotOperation } from '../../src/app/ports';
import { createAzureGateway } from '../../src/azure';
import type { ArmSandbox } from '../../src/sandbox';
import { gatewayOptionsFor, ids, RecordingHooks, startTestSandbox } from '../support/sandbox';

describe('Azure gateway: ARM that does not answer', function () {
  this.timeout(20_000);
  let sandbox: ArmSandbox;
  let id: ReturnType<typeof ids>;
  before(async () => {
    sandbox = await startTestSandbox();
    id = ids(sandbox);
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  const gateway = (timeoutMs: number) => createAzureGateway({ ...gatewayOptionsFor(sandbox), timeoutMs, retry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
  const scale = (): SnapshotOperation => ({ kind: 'scaleResource', subscriptionId: sandbox.subscriptionId, resourceId: id.plan, capacity: 3, apiVersion: '2023-12-01' });

  it('fails a read that gets no answer after each try\'s timeout, tried again, in words, as a passing failure', async () => {
    sandbox.faults.stall({ method: 'GET', pathContains: '/serverfarms/', ms: 5_000, count: 10 });
    const started = Date.now();
    const err = await gateway(200).snapshot(scale()).then(
      () => assert.fail('the read should fail'),
      (e: Error & { transient?: boolean }) => e,
    );
    const took = Date.now() - started;
    assert.match(err.message, /^ETIMEDOUT: Could not reach Azure Resource Manager: no answer within 0 s \(COUNTERSIGN_AZURE_TIMEOUT\) to GET \/subscriptions\/.*\/serverfarms\//);
    assert.equal(err.transient, true, 'a drift check tries again later');
    assert.ok(took >= 600 && took < 3_000, `three tries of 200 ms each, not the stall's 5 s: took ${took} ms`);
  });

  it('within a person\'s turn, gives a read no more than the turn leaves and does not try it again: the person is told within Teams\' window, not after 30 s a try', async () => {
    sandbox.faults.stall({ method: 'GET', pathContains: '/serverfarms/', ms: 60_000, count: 10 });
    const started = performance.now();
    const outcome = await Promise.race([
      withTurnDeadline(() => gateway(30_000).snapshot(scale()), started, 6000).then(
        () => 'read',
        (e: Error) => e.message,
      ),
      // One try of 5 s: a second would end after 10 s.
      new Promise<string>((resolve) => setTimeout(() => resolve('no answer after 9 s'), 9000)),
    ]);
    assert.match(outcome, /Azure Resource Manager did not answer GET \/subscriptions\/.*\/serverfarms\/.* within 5 s, the time this message or click had left/);
  });

  it('does not send an unrepeatable write again when its answer does not come: its outcome is found out', async () => {
    sandbox.faults.stall({ method: 'POST', pathContains: '/restart', ms: 3_000 });
    const outcome = await gateway(300).execute({ kind: 'resourceAction', subscriptionId: sandbox.subscriptionId, resourceId: id.site, action: 'restart', apiVersion: '2023-12-01' }, new RecordingHooks());
    assert.equal(outcome.status, 'unknown', JSON.stringify(outcome));
    assert.match(JSON.stringify(outcome), /no answer within 0 s \(COUNTERSIGN_AZURE_TIMEOUT\) to POST /);
    // The sandbox records a request once it has answered it: after the stall.
    await new Promise((r) => setTimeout(r, 3_200));
    const posts = sandbox.requests.filter((r) => r.method === 'POST' && r.path.includes('/restart'));
    assert.equal(posts.length, 1, 'a POST whose answer did not come is never sent again');
  });

  it('fails a call whose token does not come within the timeout, and gives one up at a stop', async () => {
    const hanging = { getToken: () => new Promise<never>(() => undefined) };
    const azure = createAzureGateway({ ...gatewayOptionsFor(sandbox), credential: hanging, timeoutMs: 200, retry: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
    const started = Date.now();
    await assert.rejects(azure.snapshot(scale()), /ETIMEDOUT: Could not reach Azure Resource Manager: no token for Azure Resource Manager within 0 s \(COUNTERSIGN_AZURE_TIMEOUT\)/);
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    const stopping = createAzureGateway({ ...gatewayOptionsFor(sandbox), credential: hanging, timeoutMs: 30_000 });
    const waiting = stopping.snapshot(scale()).then(
      () => assert.fail('the read should be given up'),
      (e: Error) => e,
    );
    await new Promise((r) => setTimeout(r, 100));
    const stoppedAt = Date.now();
    stopping.stopWaiting();
    assert.match((await waiting).message, /Countersign is stopping and stopped waiting for a token for Azure Resource Manager/);
    assert.ok(Date.now() - stoppedAt < 1_000);
  });

  it('gives up every call still waiting at a stop, at once, and sends none after', async () => {
    sandbox.faults.stall({ method: 'GET', pathContains: '/serverfarms/', ms: 10_000 });
    const azure = gateway(30_000);
    const waiting = azure.snapshot(scale()).then(
      () => assert.fail('the read should be given up'),
      (e: Error) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    const stoppedAt = Date.now();
    azure.stopWaiting();
    const err = await waiting;
    assert.ok(Date.now() - stoppedAt < 1_000, 'given up at once');
    assert.match(err.message, /Countersign is stopping and stopped waiting for Azure Resource Manager's answer to GET /);
    const before = sandbox.requests.length;
    await assert.rejects(azure.snapshot(scale()), /Countersign is stopping/);
    assert.equal(sandbox.requests.length, before, 'nothing is sent once stopping');
  });
});
