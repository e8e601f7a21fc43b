/**
 * A database or role setting that cancels statements (`statement_timeout`, `temp_file_limit`) set
 * while the instances run, then reset: PostgreSQL applies `ALTER … SET` to new sessions only, so the
 * pool's connections opened meanwhile keep cancelling. Tried for real with two instances: after
 * `ALTER ROLE … RESET statement_timeout` their clicks were still told "overloaded" a minute later,
 * the busy connections never idle long enough to be closed. A connection the server cancelled a
 * statement on is dropped, so the next one starts with the settings now in force.
 */
import assert from 'node:assert/strict';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { aRequest, anEvent } from '../store/fixtures';
import { schemaPerTest } from '../support/postgres';

describe('PostgreSQL: a statement_timeout set and then reset while the instance runs', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  let store: PostgresStore | undefined;
  afterEach(async () => {
    await store?.close();
    await database.db().superuser().then(async (c) => {
      await c.query(`ALTER DATABASE ${database.db().name} RESET statement_timeout`);
      await c.end();
    });
  });

  it('lets writes wait for a lock again once the setting is reset, on connections opened while it was in force', async () => {
    const { db, schema } = { db: database.db(), schema: database.schema() };
    store = await openPostgresStore({ connection: { ...db.connection, schema, max: 3 } });
    const s = store;
    await s.requests.insert(aRequest('CS-HELD'), [anEvent('request.created')]);
    const su = await db.superuser();
    await su.query(`SET search_path = ${schema}`);
    try {
      await su.query(`ALTER DATABASE ${db.name} SET statement_timeout = '100ms'`);
      // Every connection of the pool opened again under the setting (as after a restart of the server).
      await su.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [db.name]);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the pool hears of it and drops them
      await su.query('BEGIN; LOCK TABLE requests IN ACCESS EXCLUSIVE MODE');
      // Three reads at once take the pool's three connections; each is cancelled waiting for the lock.
      const reads = await Promise.allSettled([1, 2, 3].map(() => s.requests.get('CS-HELD')));
      assert.deepEqual(reads.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'read')), ['57014', '57014', '57014']);
      await su.query('ROLLBACK');
      await su.query(`ALTER DATABASE ${db.name} RESET statement_timeout`);
      // The setting gone, a lock held for 400 ms: a write waits for it (COUNTERSIGN_STORE_LOCK_WAIT, 5 s).
      await su.query('BEGIN; LOCK TABLE requests IN ACCESS EXCLUSIVE MODE');
      setTimeout(() => void su.query('ROLLBACK'), 400);
      const approved = await s.requests.update({ ...aRequest('CS-HELD'), version: 2, state: 'approved' }, 1, [anEvent('request.approved')]).then(
        () => 'committed',
        (err: unknown) => String(err),
      );
      assert.equal(approved, 'committed');
    } finally {
      await su.end();
    }
  });
});
