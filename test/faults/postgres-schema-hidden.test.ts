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
    await su(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => su(`DROP ROLE IF EXISTS ${role}`));
  });

  it('is not ready and refuses writes as a privilege taken away, naming the grant, not as tables dropped; and writes again once it is given back', async () => {
    const { db, schema } = { db: database.db(), schema: database.schema() };
    opened.push(await openPostgresStore({ connection: { ...db.connection, schema } }));
    await su(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
    const s = await openPostgresStore({ connection: { ...db.connection, schema, url: db.url.replace('postgres@', `${role}@`) }, migrate: 'never' });
    opened.push(s);
    await s.requests.insert(aRequest('CS-HIDDEN1'), [anEvent('request.created')]);
    await su(`REVOKE USAGE ON SCHEMA ${schema} FROM ${role}`);
    assert.equal(await s.ping(), false);
    assert.match(s.writeReadiness().problem ?? '', new RegExp(`the role ${role} may not use the schema ${schema} \\(no USAGE on it\\)`));
    const refused = await s.requests.insert(aRequest('CS-HIDDEN2'), [anEvent('request.created')]).then(() => undefined, (err: unknown) => err);
    assert.equal(s.storageFault(refused), 'denied', String(refused));
    await su(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
    assert.equal(await s.ping(), true, s.writeReadiness().problem);
    await s.requests.insert(aRequest('CS-HIDDEN2'), [anEvent('request.created')]);
  });
});
