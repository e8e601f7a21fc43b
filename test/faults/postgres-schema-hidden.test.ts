/**
 * USAGE on Countersign's schema taken from the bot's role while the instances run (`REVOKE
 * countersign_runtime FROM <bot>`, or `REVOKE USAGE ON SCHEMA … FROM countersign_runtime`): PostgreSQL
 * then answers every statement "relation … does not exist" (42P01), as for a table dropped. Tried for
 * real with two instances on a schema of their own: both took it as their tables dropped, told
 * clicks the database was changed under them, logged "restore the database from a backup" and exited.
 * It is a privilege to give back, told as one, and the instance goes on once it is.
 */
import assert from 'node:assert/strict';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { aRequest, anEvent } from '../store/fixtures';
import { schemaPerTest } from '../support/postgres';

describe('PostgreSQL: the schema made unusable to the running bot\'s role', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const role = `countersign_test_hidden_${process.pid}`;
  const opened: PostgresStore[] = [];
  const su = async (sql: string) => {
    const c = await database.db().superuser();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await su(`DROP OWNED BY ${role}, ${role}_rt; DROP ROLE IF EXISTS ${role}; DROP ROLE IF EXISTS ${role}_rt`).catch(() => su(`DROP ROLE IF EXISTS ${role}; DROP ROLE IF EXISTS ${role}_rt`));
  });

  it('is not ready and refuses writes as a privilege taken away, naming the grant, not as tables dropped; and writes again once it is given back', async () => {
    const { db, schema } = { db: database.db(), schema: database.schema() };
    opened.push(await openPostgresStore({ connection: { ...db.connection, schema } }));
    // The bot's login, and a role standing for countersign_runtime (one per server: not made by a test).
    await su(
      `CREATE ROLE ${role}_rt NOLOGIN; GRANT USAGE ON SCHEMA ${schema} TO ${role}_rt; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}_rt; CREATE ROLE ${role} LOGIN; GRANT ${role}_rt TO ${role}`,
    );
    const s = await openPostgresStore({ connection: { ...db.connection, schema, url: db.url.replace('postgres@', `${role}@`) }, migrate: 'never' });
    opened.push(s);
    await s.requests.insert(aRequest('CS-HIDDEN1'), [anEvent('request.created')]);
    await su(`REVOKE ${role}_rt FROM ${role}`);
    assert.equal(await s.ping(), false);
    assert.match(s.writeReadiness().problem ?? '', new RegExp(`the role ${role} may not use the schema ${schema} \\(no USAGE on it\\)`));
    // Several at once: each connection of the pool looks its search path up without the schema.
    const refused = await Promise.allSettled([2, 3, 4].map((n) => s.requests.insert(aRequest(`CS-HIDDEN${n}`), [anEvent('request.created')])));
    assert.deepEqual(refused.map((r) => (r.status === 'rejected' ? s.storageFault(r.reason) : 'written')), ['denied', 'denied', 'denied']);
    await su(`GRANT ${role}_rt TO ${role}`);
    // A connection that looked its path up meanwhile still answers "does not exist" once, and is then closed.
    const tries: string[] = [];
    for (let i = 0; i < 12 && tries.at(-1) !== 'written'; i++) {
      tries.push(await s.requests.insert(aRequest('CS-HIDDEN5'), [anEvent('request.created')]).then(() => 'written', (err: unknown) => String(err)));
    }
    assert.equal(tries.at(-1), 'written', tries.join('\n'));
    assert.ok(!tries.some((t) => /is gone from/.test(t)), tries.join('\n'));
    assert.equal(await s.ping(), true, s.writeReadiness().problem);
  });
});
