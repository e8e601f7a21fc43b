/**
 * A request's row locked by another session (`SELECT ... FOR UPDATE` left open in an operator's
 * psql, a stuck transaction) for longer than COUNTERSIGN_STORE_LOCK_WAIT: the sweeps every instance
 * runs give up on that request alone, and go on with the others (expire, escalate and remind them,
 * take their executions over), rather than stopping at it, sweep after sweep, for as long as the lock is held.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { StoreLockWaitError } from '../../src/store/postgres/lock-wait';
import { aRequest, anEvent } from '../store/fixtures';
import { asked, click } from '../app/steps';
import { TestClock } from '../support/app-fakes';
import { appOnStore, instanceOn } from '../support/app-on-fakes';
import { MemoryAzure } from '../support/memory-azure';
import { reachConfigText, RecordingMessenger } from '../support/reach';
import { alice, bob } from '../support/people';
import { schemaPerTest } from '../support/postgres';

describe('PostgreSQL: a request row locked by another session', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  const sessions: pg.Client[] = [];
  afterEach(async () => {
    for (const c of sessions.splice(0)) await c.end().catch(() => undefined);
    for (const s of opened.splice(0)) await s.close();
  });
  const open = async () => {
    const store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() }, lockWaitMs: 300 });
    opened.push(store);
    return store;
  };
  /** An operator's session holding the request's row, as `BEGIN; SELECT ... FOR UPDATE` left open. */
  const lockRow = async (requestId: string) => {
    const c = await database.db().superuser();
    sessions.push(c);
    await c.query(`SET search_path = ${database.schema()}; SET application_name = 'operator-psql'`);
    await c.query('BEGIN');
    await c.query('SELECT 1 FROM requests WHERE id = $1 FOR UPDATE', [requestId]);
    return { release: () => c.query('ROLLBACK') };
  };

  it('expires the other requests past their time, and the locked one once it is released', async () => {
    const f = appOnStore(await open());
    const first = await asked(f, alice, 'delete resource group rg-locked');
    const second = await asked(f, alice, 'delete resource group rg-free');
    f.clock.advance(Date.parse(second.expiresAt) - f.clock.now().getTime() + 1000);
    const lock = await lockRow(first.id);
    // The sweep still fails (the caller logs it), but only once it went past the locked request.
    await assert.rejects(f.app.sweepExpired(), /lock/);
    assert.equal((await f.request(second.id)).state, 'expired', 'the request after the locked one expired');
    assert.equal((await f.request(first.id)).state, 'pending');
    assert.ok(f.log.lines.some((l) => l.level === 'error' && JSON.stringify(l).includes(first.id)), 'the request it gave up on is named in the log');
    await lock.release();
    assert.deepEqual(await f.app.sweepExpired(), [first.id]);
  });

  it('takes over the other abandoned executions', async () => {
    const azure = new MemoryAzure(true);
    const [storeA, storeB] = [await open(), await open()];
    // Instance A dies right after each of its claims committed: nothing follows either execution.
    const update = storeA.requests.update.bind(storeA.requests);
    let claims = 0;
    storeA.requests.update = async (next, expected, events) => {
      const records = await update(next, expected, events);
      if (events.some((e) => e.type === 'execution.started')) {
        claims++;
        await new Promise<never>(() => undefined);
      }
      return records;
    };
    const a = instanceOn(storeA, new TestClock(new Date(), { realTime: true }), azure, { owner: 'run-a', leaseMs: 1000 });
    const b = instanceOn(storeB, new TestClock(new Date(), { realTime: true }), azure, { owner: 'run-b', leaseMs: 1000 });
    const first = await asked(a, alice, 'delete resource group rg-locked');
    const second = await asked(a, alice, 'delete resource group rg-free');
    await click(a, bob, first, 'approve');
    await click(a, bob, second, 'approve');
    for (let i = 0; i < 500 && claims < 2; i++) await sleep(20);
    assert.equal(claims, 2);
    // Both leases (1 s on the database's clock) pass.
    await sleep(1500);
    const lock = await lockRow(first.id);
    const taken = await b.app.executor.resumeAbandoned().catch((err: unknown) => String(err));
    await b.app.executor.idle();
    assert.equal((await storeB.requests.get(second.id))?.state, 'succeeded', `the execution after the locked one was taken over (${JSON.stringify(taken)})`);
    assert.equal((await storeB.requests.get(first.id))?.state, 'executing');
    await lock.release();
    assert.deepEqual(await b.app.executor.resumeAbandoned(), [first.id]);
    await b.app.executor.idle();
    assert.equal((await storeB.requests.get(first.id))?.state, 'succeeded');
    assert.equal(azure.sent.length, 2, 'each sent once, by B');
  });
  it('escalates and reminds the other requests due', async () => {
    const f = appOnStore(await open(), { configText: reachConfigText(), messenger: new RecordingMessenger() });
    const first = await asked(f, alice, 'delete resource group rg-locked');
    const second = await asked(f, alice, 'delete resource group rg-free');
    await f.app.tellingIdle();
    // 41 minutes on: the first reminder (30 minutes) and the escalation (40 minutes) of both are due.
    f.clock.advance(Date.parse(second.createdAt) + 41 * 60_000 - f.clock.now().getTime());
    const lock = await lockRow(first.id);
    await assert.rejects(f.app.sweepReach(), /lock/);
    await f.app.tellingIdle();
    const after = await f.request(second.id);
    assert.ok(after.escalation, 'the request after the locked one was escalated');
    assert.equal(after.reminders?.sent, 1, 'and reminded, though the escalation sweep had failed');
    assert.equal((await f.request(first.id)).escalation, undefined);
    await lock.release();
    const again = await f.app.sweepReach();
    assert.deepEqual([again.escalated, again.reminded], [[first.id], [first.id]]);
    await f.app.tellingIdle();
  });
  it('fails only the write of the locked request, not the others committed with it (group commit)', async () => {
    const store = await open();
    for (const id of ['CS-1', 'CS-2', 'CS-3']) await store.requests.insert(aRequest(id), [anEvent('request.created')]);
    const lock = await lockRow('CS-2');
    const update = (id: string) => store.requests.update({ ...aRequest(id), version: 2, state: 'rejected' }, 1, [anEvent('request.rejected')]);
    // Submitted in one turn: one group, one transaction, in request-id order (CS-1 before the locked one, CS-3 after it).
    const [one, two, three] = await Promise.allSettled([update('CS-1'), update('CS-2'), update('CS-3')]);
    assert.equal(two.status, 'rejected');
    const refused = (two as PromiseRejectedResult).reason as unknown;
    assert.ok(refused instanceof StoreLockWaitError, String(refused));
    // Row locks are not in pg_locks: the session is named by its transaction's lock on the table,
    // and this instance's own short writes are not (their transactions are younger than the wait).
    assert.match(refused.message, /rows of the table requests held in RowShareLock by PostgreSQL process \d+ \(operator-psql\) for \d+ ms/);
    assert.equal(refused.holders.length, 1, refused.message);
    assert.deepEqual([one.status, three.status], ['fulfilled', 'fulfilled'], String([one, three].map((o) => (o as PromiseRejectedResult).reason)));
    assert.deepEqual(await Promise.all(['CS-1', 'CS-2', 'CS-3'].map(async (id) => (await store.requests.get(id))?.state)), ['rejected', 'pending', 'rejected']);
    await lock.release();
    await update('CS-2');
    assert.equal((await store.requests.get('CS-2'))?.state, 'rejected');
  });
});
