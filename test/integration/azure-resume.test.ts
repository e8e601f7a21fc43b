/**
 * A graceful stop in the middle of a long deployment: Countersign waits its grace period, then stops
 * following the deployment and releases the lease, so the next start resumes it at once (no waiting
 * for the lease to expire), following the same ARM operation to the end.
 */
import assert from 'node:assert/strict';
import type { RunningCountersign } from '../../src/composition-root';
import { cardText } from '../support/connector';
import { inProcessRuns, type InProcessRuns } from '../support/in-process';
import { eventually, people, TeamsDriver } from '../support/teams';

describe('a graceful stop while a deployment runs (bot in process, ARM sandbox)', function () {
  this.timeout(30000);
  let runs: InProcessRuns;
  const start = (): Promise<RunningCountersign> => runs.start({ env: { COUNTERSIGN_EXECUTION_LEASE: '60s' }, shutdownGraceMs: 200 });

  beforeEach(async () => {
    runs = await inProcessRuns('countersign-resume-');
  });
  afterEach(async () => {
    await runs.close();
  });

  it('releases the lease at shutdown, and the next start follows the same deployment to the end', async () => {
    const { connector, sandbox, store } = runs;
    const first = await start();
    const teams = new TeamsDriver(first.url, connector);
    const from = await teams.say(people.alice, 'deploy staging api-service');
    const cardId = teams.since(from).find((s) => s.kind === 'reply')!.id;
    sandbox.faults.slowDeployment({ stepMs: 600 });
    await teams.click(people.bob, cardId, 'approve');
    const requestId = await eventually('the request claimed', async () => (await store.requests.list({ states: ['executing'] }))[0]?.id);
    await eventually('ARM accepted the deployment', async () => (await store.requests.get(requestId))?.execution?.ref.resumeState);

    await runs.stop(first);
    const left = await store.requests.get(requestId);
    assert.equal(left?.state, 'executing');
    assert.ok(Date.parse(left!.execution!.lease!.expiresAt) <= Date.now(), 'the lease was released, not left to expire in 60 s');
    assert.equal(sandbox.state.deployment('staging-api-service', `countersign-${requestId}`)?.provisioningState, 'Running');

    const second = await start();
    await eventually('the deployment is followed to the end', async () => (await store.requests.get(requestId))?.state === 'succeeded', 15000);
    await second.executor.idle();
    await second.notifier.idle();
    const puts = sandbox.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/countersign-${requestId}`));
    assert.equal(puts.length, 1, 'the deployment was sent once');
    const types: string[] = [];
    for await (const e of store.audit.read({ requestId })) types.push(e.type);
    assert.ok(types.includes('execution.resumed'), types.join(', '));
    assert.match(cardText(connector.card(cardId)), /SUCCEEDED/);
  });
});
