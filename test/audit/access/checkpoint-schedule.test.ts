/**
 * When checkpoints are signed besides the timer: every N records, and soon after a record saying
 * Azure is being or was changed, at most once a gap under load.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkpointSchedule } from '../../../src/audit/access/checkpoint-schedule';
import type { Store } from '../../../src/app/ports';
import type { AuditStore } from '../../../src/audit/ports';

type Both = Store & AuditStore;

let seq = 0;
const record = (type: string) => ({ seq: ++seq, hash: 'h'.repeat(64), type });

/** A store whose only write is `audit.append`, answering with records of the types given. */
function fakeStore(): Both {
  return {
    requests: {},
    auditAccess: {},
    audit: { append: async (types: string[]) => types.map(record) },
  } as unknown as Both;
}

describe('the checkpoint schedule', () => {
  it('signs once N records were appended, counting no checkpoint records', async () => {
    const due: string[] = [];
    const s = checkpointSchedule(fakeStore(), { every: 3, due: async (t) => void due.push(t) });
    const append = (types: string[]) => (s.store.audit as unknown as { append(t: string[]): Promise<unknown> }).append(types);
    await append(['request.created', 'audit.checkpoint']);
    await append(['approval.granted']);
    assert.deepEqual(due, []);
    await append(['request.approved']);
    assert.deepEqual(due, ['records']);
    s.stop();
  });

  it('signs at once after an execution record, then at most once a gap, however many come', async () => {
    const due: string[] = [];
    let now = 10_000;
    const s = checkpointSchedule(fakeStore(), { every: 1000, gapMs: 50, now: () => now, due: async (t) => void due.push(t) });
    const append = (types: string[]) => (s.store.audit as unknown as { append(t: string[]): Promise<unknown> }).append(types);
    await append(['request.created', 'approval.granted']);
    assert.deepEqual(due, [], 'nothing changed in Azure');
    await append(['execution.started']);
    await sleep(0);
    assert.deepEqual(due, ['execution'], 'the first one at once');
    for (const t of ['execution.succeeded', 'execution.started', 'execution.failed', 'execution.unknown']) await append([t]);
    await sleep(0);
    assert.deepEqual(due, ['execution'], 'the rest wait for the gap');
    now += 50;
    await sleep(80);
    assert.deepEqual(due, ['execution', 'execution'], 'one more for all of them');
    now += 1000;
    await append(['execution.cancelled']);
    await sleep(0);
    assert.deepEqual(due, ['execution', 'execution', 'execution'], 'after a quiet gap, at once again');
    s.stop();
  });

  it('signs nothing more once stopped, not even one waiting for its gap', async () => {
    const due: string[] = [];
    let now = 0;
    const s = checkpointSchedule(fakeStore(), { every: 1000, gapMs: 30, now: () => now, due: async (t) => void due.push(t) });
    const append = (types: string[]) => (s.store.audit as unknown as { append(t: string[]): Promise<unknown> }).append(types);
    await append(['execution.started']);
    await append(['execution.succeeded']);
    s.stop();
    now += 100;
    await sleep(60);
    assert.deepEqual(due, ['execution']);
  });
});
