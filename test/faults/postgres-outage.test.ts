/**
 * The PostgreSQL server refusing new connections while instances run (an outage as an administrator
 * makes one: `ALTER DATABASE ... ALLOW_CONNECTIONS false` and every session ended; a login refused, a
 * database gone): what the instance meets then is its database out of reach, and the person is told
 * so, not "an internal error".
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { failedText } from '../../src/teams/fault-text';
import { aRequest, anEvent, requestRef } from '../store/fixtures';
import { schemaPerTest } from '../support/postgres';

describe('faults: PostgreSQL refusing new connections while the instance runs', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  let admin: pg.Client | undefined;
  afterEach(async () => {
    await admin?.query(`ALTER DATABASE ${database.db().name} ALLOW_CONNECTIONS true`);
    await admin?.end();
    admin = undefined;
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  });

  it('tells a read and a write that fail to connect as the database out of reach', async () => {
    const store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() } });
    opened.push(store);
    const r = aRequest('CS-OUTAGE1');
    await store.requests.insert(r, [anEvent('request.created', { request: requestRef(r.id) })]);
    const url = new URL(database.db().url);
    url.pathname = '/postgres';
    admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${database.db().name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database.db().name]);
    // A read may first meet a pooled connection the server just ended (told as a broken one); then a new one is refused.
    let read: unknown;
    for (let i = 0; i < 5 && !/not currently accepting/.test(String(read)); i++) {
      read = await store.requests.get(r.id).then(
        () => assert.fail('the read succeeded'),
        (err: unknown) => err,
      );
    }
    assert.match(String(read), /not currently accepting connections/);
    assert.equal(store.storageFault(read), 'unreachable');
    assert.match(failedText('handle this message', store.storageFault(read)), /it cannot reach its database right now, so nothing was changed/);
    const write = await store.audit.append([anEvent('click.refused', { request: requestRef(r.id) })]).then(
      () => assert.fail('the write succeeded'),
      (err: unknown) => err,
    );
    assert.equal(store.storageFault(write), 'unreachable', String(write));
    // Logins refused and a database gone are met when connecting too: the same.
    for (const code of ['28P01', '28000', '3D000']) assert.equal(store.storageFault(Object.assign(new Error('refused'), { code })), 'unreachable', code);
  });
});
