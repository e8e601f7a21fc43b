/**
 * Two instances on one PostgreSQL database, one of them stopped right after its claim of an execution
 * committed (a VM frozen, SIGSTOP, a GC pause) for longer than its lease: the other takes the execution
 * over, and the stopped one, when it wakes, sends nothing and records what happened beside the row.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from '../../src/domain/audit';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { asked, click } from '../app/steps';
import { collect } from '../store/store-contract';
import { TestClock } from '../support/app-fakes';
import { instanceOn } from '../support/app-on-fakes';
import { MemoryAzure } from '../support/memory-azure';
import { alice, bob } from '../support/people';
import { schemaPerTest } from '../support/postgres';

describe('PostgreSQL: an instance stopped between its claim and its send', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  const open = async () => {
    const store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() } });
    opened.push(store);
    return store;
  };

  it('sends nothing once its lease passed and the other instance took the execution over, and records both instances\' view', async () => {
    const azure = new MemoryAzure(true);
    const [storeA, storeB] = [await open(), await open()];
    // Instance A stops right after its claim committed: the commit's answer reaches it only once woken.
    let claimed!: () => void;
    const claim = new Promise<void>((resolve) => (claimed = resolve));
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const update = storeA.requests.update.bind(storeA.requests);
    storeA.requests.update = async (next, expected, events) => {
      const records = await update(next, expected, events);
      if (events.some((e) => e.type === 'execution.started')) {
        claimed();
        await woken;
      }
      return records;
    };
    const a = instanceOn(storeA, new TestClock(new Date(), { realTime: true }), azure, { owner: 'run-a', leaseMs: 1500 });
    const b = instanceOn(storeB, new TestClock(new Date(), { realTime: true }), azure, { owner: 'run-b', leaseMs: 1500 });
    const r = await asked(a, alice, 'delete resource group staging-old');
    await click(a, bob, r, 'approve');
    await claim;
    // A's lease (1.5 s on the database's clock) passes; B's sweep takes the execution over and ends it.
    let taken: string[] = [];
    for (let i = 0; i < 50 && taken.length === 0; i++) {
      await sleep(100);
      taken = await b.app.executor.resumeAbandoned();
    }
    assert.deepEqual(taken, [r.id]);
    await b.app.executor.idle();
    assert.equal((await storeB.requests.get(r.id))?.state, 'succeeded');
    assert.equal(azure.sent.length, 1, 'sent by B, which took it over');
    // A wakes up and goes on from its claim.
    wake();
    await a.app.executor.idle();
    assert.equal(azure.sent.length, 1, 'A sent nothing');
    assert.equal(azure.withheld.length, 1);
    const records: AuditRecord[] = await collect(storeB.audit.read({ requestId: r.id }));
    assert.deepEqual(records.filter((x) => x.type.startsWith('execution.')).map((x) => x.type), ['execution.started', 'execution.resumed', 'execution.progressed', 'execution.succeeded', 'execution.lease_lost']);
    const lost = records.at(-1)!;
    assert.match(lost.outcome.detail ?? '', /^run-a did not send the operation: the lease of run-a had 0 ms of its 1500 ms left, .*; nothing of the operation had been sent by it\. The request is succeeded\.$/);
    assert.deepEqual(lost.data, { owner: 'run-a', sent: false, state: 'succeeded' });
    assert.ok(a.log.lines.some((l) => l.level === 'error' && l.msg === 'execution not sent: its lease had passed, and another run holds it or it ended'));
    assert.equal((await storeA.requests.get(r.id))?.state, 'succeeded', 'the request is as B left it');
  });
});
