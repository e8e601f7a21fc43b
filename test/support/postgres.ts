/**
 * PostgreSQL for tests: each test run gets a database of its own (countersign_test_<random>),
 * dropped at the end; the `test` and `postgres` databases are never written. The server is the
 * local one (127.0.0.1:5432, trust authentication), or COUNTERSIGN_TEST_PG_URL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresConnectionOptions } from '../../src/store/postgres';

const ADMIN_URL = process.env.COUNTERSIGN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  connection: PostgresConnectionOptions;
  /** A connection of the database superuser (for tampering, as an attacker with the server would). */
  superuser(): Promise<pg.Client>;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `countersign_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const base = new URL(ADMIN_URL);
  base.pathname = `/${name}`;
  const url = base.toString();
  return {
    name,
    url,
    connection: { url, max: 10 },
    async superuser() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    },
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

let schemas = 0;

/** A fresh schema name for one test in the run's database. */
export function freshSchema(): string {
  return `t${process.pid}_${++schemas}`;
}

/**
 * Mocha hooks for a describe block: a database of its own for the block, a fresh schema for each
 * test in it. The accessors give the current ones (set before the block's own beforeEach hooks run).
 */
export function schemaPerTest(): { db(): TestDatabase; schema(): string } {
  let db: TestDatabase | undefined;
  let schema = '';
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    schema = freshSchema();
    const c = await db!.superuser();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
  });
  return { db: () => db!, schema: () => schema };
}

/**
 * Holds every connection of `pool` lent from now on, right after it ran `sql`, until `release()`:
 * `reached` resolves when one got there. For tests of what happens between two queries of a probe.
 */
export function holdAfterQuery(pool: pg.Pool, sql: string): { reached: Promise<void>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  (pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
    const client = await connect();
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
      const out = await query(...args);
      if (args[0] === sql) {
        arrived();
        await gate;
      }
      return out;
    };
    return client;
  };
  return { reached, release };
}
