/**
 * COUNTERSIGN_DATABASE_POOL_SIZE=1, which the settings allow: one connection per instance. Nothing
 * may ask the pool for a second connection while it holds the first, or it waits for itself until
 * the pool's connection timeout and is told as the server being unreachable.
 */
import assert from 'node:assert/strict';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { aRequest, anEvent, requestRef } from '../store/fixtures';
import { schemaPerTest } from '../support/postgres';

describe('PostgreSQL: a pool of one connection', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('creates the schema of a new database, told to the bot first (as its start does), and then writes', async () => {
    const told: string[] = [];
    const store = await openPostgresStore({
      connection: { ...database.db().connection, schema: database.schema(), max: 1, connectionTimeoutMs: 3000 },
      beforeEmptySchema: async (found) => {
        told.push(found.what);
      },
    });
    opened.push(store);
    assert.deepEqual(told, [`the schema ${database.schema()} of ${store.target} holds none of Countersign's tables (there is no schema_migrations)`]);
    const r = aRequest('CS-POOL1');
    await Promise.all([store.requests.insert(r, [anEvent('request.created', { request: requestRef(r.id) })]), store.audit.append([anEvent('config.loaded')])]);
    assert.equal((await store.requests.get(r.id))?.state, 'pending');
  });
});
