/** The store contract against PostgreSQL: one database for the run, a fresh schema for each test. */
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres';
import type { PostgresStore } from '../../src/store/postgres';
import { createTestDatabase, freshSchema } from '../support/postgres';
import type { TestDatabase } from '../support/postgres';
import { storeContract } from './store-contract';
import type { StoreHarness } from './store-contract';

let db: TestDatabase | undefined;

/** A PostgreSQL store in a fresh schema, with small pages so paging is exercised. */
export async function postgresHarness(): Promise<StoreHarness & { store: PostgresStore; schema: string }> {
  if (!db) throw new Error('the test database was not created');
  const schema = freshSchema();
  const su = await db.superuser();
  await su.query(`CREATE SCHEMA ${schema}`);
  await su.end();
  const connection = { ...db.connection, schema };
  let store = await openPostgresStore({ connection, pageSize: 7 });
  const withClient = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: db!.url, options: `-c search_path=${schema}` });
    c.setTypeParser(20, Number);
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const others: PostgresStore[] = [];
  const harness = {
    schema,
    store,
    async another() {
      const other = await openPostgresStore({ connection, pageSize: 7 });
      others.push(other);
      return other;
    },
    async reopen() {
      await store.close();
      store = await openPostgresStore({ connection, pageSize: 7 });
      harness.store = store;
      return store;
    },
    exec: (sql: string) => withClient(async (c) => void (await c.query(sql))),
    query: (sql: string) => withClient(async (c) => (await c.query(sql)).rows as Record<string, unknown>[]),
    async cleanup() {
      for (const other of others) await other.close();
      await store.close();
      await withClient(async (c) => void (await c.query(`DROP SCHEMA ${schema} CASCADE`)));
    },
  };
  return harness;
}

describe('PostgreSQL, in a database of its own for this run', () => {
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });
  storeContract('PostgreSQL', postgresHarness);
});
