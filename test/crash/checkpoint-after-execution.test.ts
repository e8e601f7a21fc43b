/**
 * An executed operation is covered by a signed checkpoint within about a second, in the checkpoint
 * file too: a crash that then takes the end of the log with it (a write-ahead log cut short while
 * the bot was down) can no longer make the request and its Azure change vanish unnoticed, as it
 * could while the next checkpoint was up to 1,000 records or 15 minutes away (an outside
 * fault-injection trial).
 */
import assert from 'node:assert/strict';
import { checkpointFileOf, readCheckpointFile } from '../../src/audit/access/checkpoints';
import { eventually } from '../support/teams';
import { CrashRig } from './support';

describe('a checkpoint soon after an execution (Countersign in its own process)', function () {
  this.timeout(60000);
  let rig: CrashRig;
  beforeEach(async () => {
    rig = await CrashRig.create();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('signs the outcome of an execution into the checkpoint file before the process is killed', async () => {
    await rig.start();
    const asked = await rig.ask('tag staging-old costcentre 4711');
    await rig.approve(asked.cardId);
    const done = await rig.until(asked.requestId, ['succeeded', 'failed', 'unknown']);
    assert.equal(done.state, 'succeeded', done.outcomeDetail);
    const outcome = rig.audit(asked.requestId).find((e) => e.type === 'execution.succeeded')!;
    const file = checkpointFileOf(rig.dataDir);
    await eventually('a checkpoint in the file reaches the outcome', () => readCheckpointFile(file).checkpoints.some((c) => c.seq >= outcome.seq), 5000);
    await rig.kill();
    // What the killed process left: the file's checkpoint reaches the outcome, signed for the execution.
    assert.ok(readCheckpointFile(file).checkpoints.some((c) => c.seq >= outcome.seq));
    const triggers = rig.auditAll().filter((e) => e.type === 'audit.checkpoint').map((e) => e.data?.trigger);
    assert.ok(triggers.includes('execution'), triggers.join(', '));
    assert.ok(!triggers.includes('shutdown'), 'killed, not stopped');
  });
});
