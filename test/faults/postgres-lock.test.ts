/**
 * Another session holding a lock the writers need (`LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE`
 * in an operator's psql, a stuck transaction) on the PostgreSQL store: a write waits at most
 * COUNTERSIGN_STORE_LOCK_WAIT in all, then fails with StoreLockWaitError naming the lock, nothing
 * committed; the person who clicked is told nothing changed; /readyz is 503 while the lock is held
 * past the wait and 200 after; reads of other tables, /healthz and the pool keep answering.
 */
import assert from 'node:assert/strict';
import { verifyChain } from '../../src/audit/verify/verify';
import { openPostgresStore, POSTGRES_MIGRATIONS, type PostgresStore } from '../../src/store/postgres';
import { StoreLockWaitError, StorePoolBusyError } from '../../src/store/postgres/lock-wait';
import { isConnectionError } from '../../src/store/postgres/tx';
import { READ_HEAD } from '../../src/store/postgres/chain-append';
import { aRequest, anEvent } from '../store/fixtures';
import { requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { holdAfterQuery, schemaPerTest, type TestDatabase } from '../support/postgres';
import { eventually, people } from '../support/teams';

const LIMIT_MS = 300;

/** A superuser session holding `tables` in ACCESS EXCLUSIVE mode, as an operator's psql would. */
async function holdLock(db: TestDatabase, schema: string, tables: string): Promise<{ release(): Promise<void> }> {
  const c = await db.superuser();
  await c.query(`SET search_path = ${schema}; SET application_name = 'operator-psql'`);
  await c.query(`BEGIN; LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
  return {
    async release() {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

async function timed<T>(p: Promise<T>): Promise<{ ms: number; outcome: PromiseSettledResult<T> }> {
  const t0 = Date.now();
  const [outcome] = await Promise.allSettled([p]);
  return { ms: Date.now() - t0, outcome };
}

function reasonOf(outcome: PromiseSettledResult<unknown>): unknown {
  assert.equal(outcome.status, 'rejected', 'the write failed');
  return (outcome as PromiseRejectedResult).reason;
}

describe('PostgreSQL: a lock held by another session', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let schema: string;
  const opened: PostgresStore[] = [];
  const held: { release(): Promise<void> }[] = [];

  const open = async (lockWaitMs = LIMIT_MS, max = 10, connectionTimeoutMs?: number) => {
    const s = await openPostgresStore({
      connection: { ...db.connection, schema, max, ...(connectionTimeoutMs ? { connectionTimeoutMs } : {}) },
      lockWaitMs,
      readiness: { failureHoldMs: 60_000 },
    });
    opened.push(s);
    return s;
  };
  const lock = async (tables: string) => {
    const l = await holdLock(db, schema, tables);
    held.push(l);
    return l;
  };

  const database = schemaPerTest();
  beforeEach(() => {
    db = database.db();
    schema = database.schema();
  });
  afterEach(async () => {
    for (const l of held.splice(0)) await l.release().catch(() => undefined);
    for (const s of opened.splice(0)) await s.close();
  });

  describe('the store', () => {
    it('fails an append within the wait, naming the lock, commits nothing, and appends once the lock is released', async () => {
      const store = await open();
      await store.audit.append([anEvent('config.loaded')]);
      const l = await lock('audit_log');
      const { ms, outcome } = await timed(store.audit.append([anEvent('request.created')]));
      const err = reasonOf(outcome);
      assert.ok(err instanceof StoreLockWaitError, `a StoreLockWaitError, not ${String(err)}`);
      assert.match(err.message, /the table audit_log held in AccessExclusiveLock by PostgreSQL process \d+ \(operator-psql\)/);
      assert.match(err.message, /waited \d+ ms for it \(COUNTERSIGN_STORE_LOCK_WAIT 300 ms\), nothing was written/);
      assert.ok(ms >= LIMIT_MS - 20 && ms < LIMIT_MS + 700, `failed after ${ms} ms`);
      assert.equal(store.storageFault(err), 'busy', 'told as a database held by another process, not a lost connection');
      await l.release();
      const [next] = await store.audit.append([anEvent('request.approved')]);
      assert.equal(next.seq, 2);
      assert.equal((await verifyChain(store.audit.read())).ok, true);
    });

    it('fails every request write of a group and those queued behind it within one wait, not one wait each', async () => {
      const store = await open();
      for (const id of ['CS-1', 'CS-2', 'CS-3', 'CS-4']) await store.requests.insert(aRequest(id), [anEvent('request.created')]);
      const l = await lock('requests');
      const update = (id: string) => store.requests.update({ ...aRequest(id), version: 2, state: 'rejected' }, 1, [anEvent('request.rejected')]);
      const t0 = Date.now();
      const first = [update('CS-1'), update('CS-2'), update('CS-3')];
      await new Promise((r) => setTimeout(r, 100));
      // Submitted while the first group waits: its time in line counts against its wait.
      const queued = timed(update('CS-4'));
      const outcomes = await Promise.allSettled(first);
      const ms = Date.now() - t0;
      for (const o of [...outcomes, (await queued).outcome]) assert.ok(reasonOf(o) instanceof StoreLockWaitError, String(reasonOf(o)));
      assert.ok(ms < LIMIT_MS + 200, `the group failed after ${ms} ms (the wait is ${LIMIT_MS} ms)`);
      assert.ok((await queued).ms < LIMIT_MS + 100, `the write queued behind it failed after ${(await queued).ms} ms (the wait is ${LIMIT_MS} ms)`);
      await l.release();
      for (const id of ['CS-1', 'CS-2', 'CS-3', 'CS-4']) assert.equal((await store.requests.get(id))?.version, 1, `${id} was not changed`);
      await update('CS-1');
      assert.equal((await store.requests.get('CS-1'))?.state, 'rejected');
    });

    it('counts every lock a write waits for against the one wait', async () => {
      const store = await open();
      const first = await lock('requests');
      await lock('request_versions');
      setTimeout(() => void first.release(), 200);
      // The INSERT into requests waits 200 ms, then the one into request_versions what is left.
      const { ms, outcome } = await timed(store.requests.insert(aRequest('CS-1'), [anEvent('request.created')]));
      assert.match(String(reasonOf(outcome)), /the table request_versions held in AccessExclusiveLock/);
      assert.ok(ms < LIMIT_MS + 100, `failed after ${ms} ms (the wait is ${LIMIT_MS} ms)`);
    });

    it('counts the wait for the chain lock and for audit_log after it as one wait, for an append and a checkpoint', async () => {
      // The chain lock is held by another session (as another instance's append waiting for
      // audit_log holds it) for most of the wait, then released; audit_log stays locked. Each
      // lock waited for alone would take ~1.8 wait in all.
      const wait = 600;
      const store = await open(wait);
      await store.audit.append([anEvent('config.loaded')]);
      await lock('audit_log');
      const chain = await db.superuser();
      try {
        for (const write of [
          () => store.audit.append([anEvent('request.created')]),
          () => store.auditAccess.saveCheckpoint({ seq: 1, hash: 'h', time: '2030-01-01T00:00:00.000Z', keyId: 'k', signature: 's' }, [anEvent('audit.checkpoint')]),
        ]) {
          await chain.query('SELECT pg_advisory_lock(4771034112002)'); // CHAIN_LOCK
          const unlock = new Promise((r) => setTimeout(r, wait - 100)).then(() => chain.query('SELECT pg_advisory_unlock(4771034112002)'));
          const { ms, outcome } = await timed(write());
          await unlock;
          const err = reasonOf(outcome);
          assert.ok(err instanceof StoreLockWaitError, `a StoreLockWaitError, not ${String(err)}`);
          assert.match(err.message, /the table audit_log held in AccessExclusiveLock/);
          assert.ok(ms < 1.5 * wait, `failed after ${ms} ms (the wait is ${wait} ms)`);
        }
      } finally {
        await chain.end();
      }
    });

    it('keeps reads of other tables answering and bounds reads of the locked one, even with a small pool', async () => {
      const store = await open(LIMIT_MS, 2);
      await store.requests.insert(aRequest('CS-1'), [anEvent('request.created')]);
      await lock('audit_log');
      const writes = Array.from({ length: 4 }, () => store.audit.append([anEvent('execution.progressed')]).catch((e: unknown) => e));
      const reads = Array.from({ length: 4 }, () => timed(store.audit.head()));
      const { ms, outcome } = await timed(store.requests.get('CS-1'));
      assert.equal(outcome.status, 'fulfilled');
      assert.ok(ms < 4 * LIMIT_MS + 500, `a read of requests took ${ms} ms`);
      for (const r of await Promise.all(reads)) {
        assert.equal((reasonOf(r.outcome) as { code?: string }).code, '55P03', 'a read of the locked table gives up');
        assert.match(String(reasonOf(r.outcome)), /^StoreLockWaitError: the store .* is locked by another session: the table audit_log held in AccessExclusiveLock by PostgreSQL process \d+ \(operator-psql\) .*nothing was read$/, 'naming what holds it, as a write does');
        assert.ok(r.ms < 4 * LIMIT_MS + 500, `a read of audit_log took ${r.ms} ms`);
      }
      for (const w of await Promise.all(writes)) assert.ok(w instanceof StoreLockWaitError);
    });

    it('bounds every read of a locked table by one wait, counting its time in line for a connection', async () => {
      // Eight reads, two connections: each in turn waiting the whole wait would answer the last after four.
      const wait = 600;
      const store = await open(wait, 2);
      await store.requests.insert(aRequest('CS-1'), [anEvent('request.created')]);
      await lock('requests');
      const reads = await Promise.all(Array.from({ length: 8 }, () => timed(store.requests.get('CS-1'))));
      for (const r of reads) {
        const err = reasonOf(r.outcome);
        assert.equal((err as { code?: string }).code, '55P03', `a read of the locked table gives up: ${String(err)}`);
        assert.equal(store.storageFault(err), 'busy');
        assert.ok(r.ms < 1.5 * wait, `a read answered after ${r.ms} ms (the wait is ${wait} ms)`);
      }
      // The connections keep their own lock_timeout for the reads after them.
      const c = await store.pool.connect();
      try {
        assert.equal((await c.query<{ lock_timeout: string }>('SHOW lock_timeout')).rows[0].lock_timeout, `${wait}ms`);
      } finally {
        c.release();
      }
    });

    it('tells a full pool whose connections all wait for a lock as the store being busy, for a read and a write', async () => {
      const store = await open(1500, 1, 200);
      await store.requests.insert(aRequest('CS-1'), [anEvent('request.created')]);
      await lock('requests');
      const holding = store.requests.get('CS-1').catch(() => undefined); // holds the one connection, waiting
      await new Promise((r) => setTimeout(r, 50));
      for (const p of [store.requests.get('CS-1'), store.audit.append([anEvent('execution.progressed')])] as Promise<unknown>[]) {
        const err = reasonOf((await timed(p)).outcome);
        assert.ok(err instanceof StorePoolBusyError, `a StorePoolBusyError, not ${String(err)}`);
        assert.match(err.message, /no connection of its pool \(1\) came free within \d+ ms/);
        assert.equal(store.storageFault(err), 'busy', 'told as a busy database, not an internal error');
      }
      await holding;
    });

    it('is not ready while the lock is held past the wait, and ready again once it is released', async () => {
      const store = await open();
      await store.audit.append([anEvent('config.loaded')]);
      assert.equal(await store.ping(), true);
      const l = await lock('audit_log');
      assert.equal(await store.ping(), true, 'a lock held for less than writes wait for it is waited out');
      await new Promise((r) => setTimeout(r, LIMIT_MS + 50));
      assert.equal(await store.ping(), false);
      assert.match(store.writeReadiness().problem ?? '', /writes cannot take their locks: the table audit_log held in AccessExclusiveLock by PostgreSQL process \d+ \(operator-psql\)/);
      await l.release();
      assert.equal(await store.ping(), true);
    });

    for (const [table, why] of [
      ['card_messages', 'every click binds or claims its card there'],
      ['dialog_state', 'every message reads and writes its form state there, help included'],
    ]) {
      it(`is not ready while ${table} is locked past the wait: ${why}`, async () => {
        const store = await open();
        const l = await lock(table);
        await new Promise((r) => setTimeout(r, LIMIT_MS + 50));
        assert.equal(await store.ping(), false);
        assert.match(store.writeReadiness().problem ?? '', new RegExp(`the table ${table} held in AccessExclusiveLock by PostgreSQL process \\d+ \\(operator-psql\\)`));
        await l.release();
        assert.equal(await store.ping(), true);
      });
    }

    it('is not ready at once when a write gave up on a lock, until a write commits', async () => {
      const store = await open();
      await store.audit.append([anEvent('config.loaded')]);
      const l = await lock('audit_log');
      await assert.rejects(store.audit.append([anEvent('request.created')]), StoreLockWaitError);
      assert.equal(await store.ping(), false, 'a write already gave up');
      await l.release();
      // No table lock now, but the refusal is recent (a row or the chain lock may still be held).
      assert.equal(await store.ping(), false);
      assert.match(store.writeReadiness().problem ?? '', /a write gave up waiting for a lock \d+ ms ago/);
      await store.audit.append([anEvent('request.created')]);
      assert.equal(await store.ping(), true);
    });

    it('is not ready while another session holds the chain lock, past the hold after a refused write, and ready once it is released', async () => {
      const store = await openPostgresStore({ connection: { ...db.connection, schema }, lockWaitMs: LIMIT_MS, readiness: { failureHoldMs: 100 } });
      opened.push(store);
      await store.audit.append([anEvent('config.loaded')]);
      const c = await db.superuser();
      try {
        await c.query("SET application_name = 'operator-psql'; SELECT pg_advisory_lock(4771034112002)"); // CHAIN_LOCK, as a session would
        assert.equal(await store.ping(), true, 'a lock held for less than writes wait for it is waited out');
        await assert.rejects(store.audit.append([anEvent('request.created')]), StoreLockWaitError);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await store.ping(), false, 'still not ready once the refusal is older than the hold: the lock is still held');
        assert.match(store.writeReadiness().problem ?? '', /writes cannot take their locks: the audit chain lock held in ExclusiveLock by PostgreSQL process \d+ \(operator-psql\)/);
        await c.query('SELECT pg_advisory_unlock(4771034112002)');
        assert.equal(await store.ping(), true, store.writeReadiness().problem);
        assert.equal((await store.audit.append([anEvent('request.created')]))[0].seq, 2);
      } finally {
        await c.end();
      }
    });

    it('counts a lock held by an idle session from when it went idle, not from when the probe first saw it', async () => {
      const store = await open();
      await store.audit.append([anEvent('config.loaded')]);
      await lock('audit_log');
      const c = await db.superuser();
      try {
        await c.query('SELECT pg_advisory_lock(4771034112002)');
        await new Promise((r) => setTimeout(r, LIMIT_MS + 100));
        assert.equal(await store.ping(), false, 'the first probe finds both held past the wait');
        assert.match(store.writeReadiness().problem ?? '', /the table audit_log held in AccessExclusiveLock .*; the audit chain lock held in ExclusiveLock/);
      } finally {
        await c.end();
      }
    });

    it('stays ready while its own commits take and release the chain lock', async () => {
      const store = await open();
      let done = false;
      const appending = (async () => {
        while (!done) await Promise.all(Array.from({ length: 5 }, () => store.audit.append([anEvent('execution.progressed')])));
      })();
      try {
        for (const until = Date.now() + 4 * LIMIT_MS; Date.now() < until; ) {
          assert.equal(await store.ping(), true, store.writeReadiness().problem);
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        done = true;
        await appending;
      }
    });

    it('tells how long ago a write gave up on a lock from when it did, when it gave up while the readiness probe ran', async () => {
      const store = await open(200);
      const r = aRequest('CS-ROWLOCK');
      await store.requests.insert(r, [anEvent('request.created')]);
      // Another session holds the request's row (a lock the probe cannot see).
      const c = await db.superuser();
      held.push({
        async release() {
          await c.query('ROLLBACK');
          await c.end();
        },
      });
      await c.query(`SET search_path = ${schema}; BEGIN; SELECT id FROM requests WHERE id = 'CS-ROWLOCK' FOR UPDATE`);
      // The probe stops at its read of the head until the write gave up.
      const { reached: read, release } = holdAfterQuery(store.pool, READ_HEAD);
      const probe = store.ping();
      await read;
      const refused = await store.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]).catch((err: unknown) => err);
      assert.ok(refused instanceof StoreLockWaitError, String(refused));
      release();
      assert.equal(await probe, false);
      assert.match(store.writeReadiness().problem ?? '', /^a write gave up waiting for a lock \d+ ms ago: the store .* is locked by another session/);
    });

    it('never takes a lock timeout for a broken connection', () => {
      assert.equal(isConnectionError(Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' })), false);
      assert.equal(isConnectionError(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })), false);
      assert.equal(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
    });

    it('lets migrations wait for the lock longer than writes do', async () => {
      const first = await open();
      await first.close();
      opened.splice(0);
      const c = await db.superuser();
      await c.query(`SET search_path = ${schema}`);
      // As an instance migrating to the last version: it holds MIGRATION_LOCK, the schema one version short.
      const last = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1];
      await c.query('SELECT pg_advisory_lock(4771034112001)');
      await c.query('DELETE FROM schema_migrations WHERE version = $1', [last.version]);
      try {
        const opening = open(100);
        await new Promise((r) => setTimeout(r, 400));
        await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [last.version, last.name]);
        await c.query('SELECT pg_advisory_unlock(4771034112001)');
        const store = await opening;
        assert.equal(await store.ping(), true);
      } finally {
        await c.end();
      }
    });

    it('stops a start with nothing to migrate that meets a lock on schema_migrations within the wait, naming the lock and its holder', async () => {
      await (await open()).close();
      opened.splice(0);
      await lock('schema_migrations');
      const started = await timed(open(200));
      const err = reasonOf(started.outcome);
      assert.match(
        String(err),
        /is reachable, but another session held a lock Countersign needs at start for longer than COUNTERSIGN_STORE_LOCK_WAIT \(55P03 lock_not_available: the store .* is locked by another session: the table schema_migrations held in AccessExclusiveLock by PostgreSQL process \d+ \(operator-psql\) for \d+ ms; waited \d+ ms for it \(COUNTERSIGN_STORE_LOCK_WAIT 200 ms\)/,
      );
      assert.ok(started.ms < 3000, `the start gave up after ${started.ms} ms`);
    });

    it('stops a start that meets the lock with what holds it, not as an unreachable server', async () => {
      await (await open()).close();
      opened.splice(0);
      await lock('audit_log');
      const started = await timed(open(200));
      const err = reasonOf(started.outcome);
      assert.match(String(err), /is reachable, but another session held a lock Countersign needs at start for longer than COUNTERSIGN_STORE_LOCK_WAIT \(55P03 lock_not_available: (canceling statement due to lock timeout|the store .* is locked by another session: the table audit_log held in AccessExclusiveLock by PostgreSQL process \d+ \(operator-psql\) .*)\): find the session holding it/);
      assert.doesNotMatch(String(err), /unreachable|firewall/);
      assert.ok(started.ms < 3000, `the start gave up after ${started.ms} ms`);
    });
  });

  describe('the bot', () => {
    let h: Harness | undefined;
    let store: PostgresStore | undefined;
    afterEach(async () => {
      await h?.stop();
      h = undefined;
    });

    const readyz = async () => (await fetch(`${h!.bot.url}/readyz`)).status;

    it('tells the clicker nothing changed within the wait, turns /readyz 503 while the lock is held and 200 after; the approval goes through then', async () => {
      store = await open(400);
      h = await startHarness({ env: { COUNTERSIGN_STORE_LOCK_WAIT: '400ms' }, wrapStore: () => store! });
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
      assert.equal(await readyz(), 200);
      const l = await lock('audit_log');
      const t0 = Date.now();
      const answer = await h.teams.click(people.bob, cardId, 'approve');
      const ms = Date.now() - t0;
      assert.match(String(answer.body.value), new RegExp(`could not record this action for request ${requestId}: another process is holding its database, so nothing was changed`));
      assert.ok(ms < 3000, `the click was answered after ${ms} ms`);
      assert.equal(await readyz(), 503);
      assert.equal((await fetch(`${h.bot.url}/healthz`)).status, 200);
      const warned = h.logs.find((x) => x.msg === 'store not ready for writes: /readyz answers 503');
      assert.match(String(warned?.problem), /audit_log held in AccessExclusiveLock/);
      await l.release();
      assert.equal((await store.requests.get(requestId))?.state, 'pending');
      const again = await h.teams.click(people.bob, cardId, 'approve');
      assert.doesNotMatch(JSON.stringify(again.body), /nothing changed/);
      await eventually('ready again', async () => (await readyz()) === 200, 5000);
      assert.ok(h.logs.some((x) => x.msg === 'store ready for writes again'));
    });
  });
});
