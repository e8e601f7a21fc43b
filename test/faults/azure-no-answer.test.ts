/**
 * A stop while Azure accepts calls and never answers: the turns and executions waiting for it get
 * the stop's grace, then their calls are given up, so the stop still ends in bounded time; a request
 * whose drift check was waiting stays approved (the next start runs it), and a person whose request
 * was being prepared is told it could not be.
 */
import assert from 'node:assert/strict';
import { auditOf, requestVia } from '../support/flows';
import { startHarness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

describe('a stop while Azure does not answer (in process)', function () {
  this.timeout(30_000);

  it('gives up the calls still waiting after the grace: the stop ends, the approved request stays approved, the asking person is told', async () => {
    const h = await startHarness({ shutdownGraceMs: 500 });
    try {
      const { requestId, cardId } = await requestVia(h, 'delete resource group staging-old');
      // From now on ARM takes reads of resource groups and never answers them (within the test).
      h.sandbox.faults.stall({ method: 'GET', pathContains: '/resourcegroups/', ms: 60_000, count: 20 });
      const clicked = await h.teams.click(people.bob, cardId, 'approve');
      assert.equal(clicked.status, 200);
      // Another request's preparation waits for ARM too (its turn is not answered yet): of another
      // group, as the same one would be refused at once as already asked for.
      const before = h.connector.sent.length;
      const asking = h.teams.say(people.alice, 'delete resource group staging-api-service', opsChannel);
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await h.bot.stop();
      const took = Date.now() - started;
      assert.ok(took < 6_000, `the stop took ${took} ms`);
      await asking;
      assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'approved', 'left approved for the next start');
      assert.deepEqual(await auditOf(h, { requestId, types: ['request.approved', 'execution.failed', 'drift.detected'] }).then((rs) => rs.map((r) => r.type)), ['request.approved']);
      const told = h.teams.since(before).map((s) => String(s.activity.text ?? '')).join('\n');
      assert.match(told, /could not read the target of this operation, so it cannot be put up for approval: .*Countersign is stopping/);
      assert.ok(h.logs.some((l) => l.msg === 'turns still waiting for Azure at shutdown: their calls to Azure are given up'));
      assert.ok(h.logs.some((l) => l.msg === 'Countersign stopped'), 'the stop went to its end (store closed)');
    } finally {
      await h.stop().catch(() => undefined);
    }
  });
});
