/**
 * A database put back from a copy that ends before an execution (the write-ahead log of a crash cut
 * short, a restore), and the loss accepted with `countersign audit accept-loss`: a request the copy
 * holds approved, not yet claimed, already ran in what was lost. It must not run again at the next
 * start (before, it was started again, and only a drift check that happened to see the target changed
 * stood between it and a second run in Azure; an outside fault-injection trial).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { databaseFile } from '../../src/settings';
import { audit } from '../cli/run-audit';
import { eventually } from '../support/teams';
import { CrashRig } from './support';

describe('a request approved before a loss of audit records that was accepted (Countersign in its own process)', function () {
  this.timeout(120000);
  let rig: CrashRig;
  beforeEach(async () => {
    rig = await CrashRig.create();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('expires unrun at accept-loss, saying why, and is not sent to Azure again at the next start', async () => {
    rig.sandbox.state.putResource('production-vm', { type: 'Microsoft.Compute/virtualMachines', name: 'batch-worker-02', location: 'northeurope' });
    await rig.start();
    const asked = await rig.ask('vm restart batch-worker-02');
    // The check before the claim reads the VM: held back a moment, so a copy of the database holds the request approved, unclaimed.
    rig.sandbox.faults.stall({ method: 'GET', pathContains: '/virtualmachines/batch-worker-02', ms: 3000, count: 1 });
    await rig.approve(asked.cardId);
    await eventually('approved', () => rig.request(asked.requestId)?.state === 'approved');
    const copy = `${rig.dataDir}-copy.db`;
    const db = new Database(databaseFile(rig.dataDir), { readonly: true });
    await db.backup(copy);
    db.close();
    assert.equal((await rig.until(asked.requestId, ['succeeded', 'failed', 'unknown'])).state, 'succeeded');
    assert.deepEqual(rig.writes('/restart'), ['POST 202']);
    await sleep(1500); // the checkpoint signed after the execution
    await rig.stop();

    for (const side of ['-wal', '-shm']) fs.rmSync(databaseFile(rig.dataDir) + side, { force: true });
    fs.renameSync(copy, databaseFile(rig.dataDir));
    const refused = rig.launch();
    assert.equal((await refused.exited).code, 1, 'the start sees records missing');
    rig.bot = undefined;
    const accepted = await audit(['accept-loss', '--data-dir', rig.dataDir, '--reason', 'restored from a copy, INC-4721']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, new RegExp(`1 request\\(s\\) still open \\(waiting for approval, approved or scheduled\\) expired unrun, since what was lost may show they were approved and already ran \\(or were rejected or cancelled\\): ${asked.requestId}\\. Check their targets in Azure`));
    const expired = rig.request(asked.requestId);
    assert.equal(expired?.state, 'expired');
    assert.match(expired?.outcomeDetail ?? '', /^Not executed: it was approved when a loss of audit records was accepted \(countersign audit accept-loss; the log then ended at record \d+\), .* so it does not run again on its own/);
    assert.equal(rig.audit(asked.requestId).at(-1)?.type, 'request.expired');

    await rig.start();
    await sleep(3000);
    assert.equal(rig.request(asked.requestId)?.state, 'expired');
    assert.deepEqual(rig.writes('/restart'), ['POST 202'], 'sent to Azure once');
    await rig.stop();
    const verify = await audit(['verify', '--data-dir', rig.dataDir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /NOTE: records were lost from this log, and the loss was accepted/);
  });
});
