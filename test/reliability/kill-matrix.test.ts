/**
 * A bounded kill matrix: a few rounds of SIGKILL while clicks and executions are under way, each at a
 * different moment, restarting the bot process on the same data directory every time. After the
 * rounds: every restart was allowed (a crash is not a lost database), every acknowledged approval is
 * in the audit, no request was claimed for execution twice, every acknowledged approval came to an
 * end, and the chain verifies.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyChain } from '../../src/audit/verify/verify';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { CrashRig } from '../crash/support';
import { people } from '../support/teams';

/** When, after the clicks of a round start, the bot is killed (ms). */
const KILL_AFTER_MS = [40, 150, 400];
/** One request per group in a round, so one execution does not change what another was approved against. */
const GROUPS = ['staging-old', 'staging-api-service', 'staging-web-frontend'];

describe('a bounded kill matrix (SIGKILL under load, restart, repeat)', function () {
  this.timeout(180000);
  let rig: CrashRig;
  before(async () => {
    rig = await CrashRig.create();
  });
  after(async () => rig.close());

  it('loses no acknowledged approval, claims no execution twice, and keeps a verifiable chain', async () => {
    await rig.start();
    const asked: string[] = [];
    const acknowledged: string[] = [];
    for (const [round, killAfter] of KILL_AFTER_MS.entries()) {
      const cards = [];
      for (const group of GROUPS) cards.push(await rig.ask(`tag ${group} k${round} v${round}`));
      asked.push(...cards.map((c) => c.requestId));
      const clicks = cards.map((c) =>
        rig.teams!.click(people.bob, c.cardId, 'approve').then(
          (answer) => {
            if (answer.status === 200 && !/nothing changed/.test(JSON.stringify(answer.body))) acknowledged.push(c.requestId);
          },
          () => undefined, // killed before it answered: not acknowledged
        ),
      );
      await sleep(killAfter);
      await rig.kill();
      await Promise.all(clicks);
      await rig.start(); // refused if the crash had looked like a lost database
    }
    assert.ok(acknowledged.length > 0, 'some approvals were acknowledged before a kill');

    for (const id of acknowledged) {
      // An end: executed, or stopped by drift detection (a request of another round on the same group
      // finished after this one was asked for), in which case nothing ran.
      const done = await rig.until(id, ['succeeded', 'failed', 'unknown', 'needs_reapproval']);
      if (done.state === 'needs_reapproval') assert.ok(!rig.audit(id).some((r) => r.type === 'execution.started'), `${id} drifted after it started`);
      else if (done.state === 'failed' && /^NotSentOnResume: /.test(done.outcomeDetail ?? '')) {
        // Claimed, killed before Azure took it, and the group changed before the run that resumed it
        // would have sent it (a tag of another round): the drift check before that first send stopped it.
        assert.ok(!rig.audit(id).some((r) => r.type === 'execution.progressed' && /accepted by Azure/.test(r.outcome.detail ?? '')), `${id} was sent to Azure`);
      } else assert.equal(done.state, 'succeeded', `${id}: ${done.outcomeDetail}`);
      const records = rig.audit(id);
      assert.ok(records.some((r) => r.type === 'request.approved' && r.actor?.aadObjectId === people.bob.aadObjectId), `the approval of ${id} is in the audit`);
    }
    for (const id of asked) {
      const started = rig.audit(id).filter((r) => r.type === 'execution.started').length;
      assert.ok(started <= 1, `${id} was claimed for execution ${started} times`);
    }

    await rig.stop();
    const store = await openSqliteStore({ file: databaseFile(rig.dataDir) });
    try {
      const chain = await verifyChain(store.audit.read());
      assert.equal(chain.ok, true, JSON.stringify(chain));
    } finally {
      await store.close();
    }
  });
});
