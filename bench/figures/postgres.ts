/**
 * Figure 3b: durable audit appends on PostgreSQL, 50 appenders across two processes (two instances
 * on one chain), against raw batched inserts of pre-sealed rows into the same schema. Each run gets
 * a database of its own, dropped at the end. Skipped, saying so, when no PostgreSQL answers.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startChild, type Message } from '../lib/proc';

interface Rate extends Message {
  count: number;
  seconds: number;
  perSecond: number;
}

export interface PostgresAppendFigure {
  product: Rate;
  baseline: Rate;
}

const ADMIN_URL = process.env.COUNTERSIGN_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function run(script: string, message: Message): Promise<Rate> {
  const child = startChild(script);
  try {
    await child.next('spawned', 60_000);
    return await child.request<Rate>(message, 'result', 900_000);
  } finally {
    await child.stop();
  }
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A database of its own for one run (countersign_bench_<random>); undefined when PostgreSQL cannot be reached (the reason is printed). */
export async function createBenchDatabase(say: (line: string) => void, what: string): Promise<BenchDatabase | undefined> {
  const name = `countersign_bench_${randomBytes(5).toString('hex')}`;
  try {
    await admin(`CREATE DATABASE ${name}`);
  } catch (err) {
    say(`${what} skipped: no PostgreSQL at ${ADMIN_URL.replace(/:[^:@/]*@/, '@')} (${(err as Error).message}); set COUNTERSIGN_BENCH_PG_URL`);
    return undefined;
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Undefined when PostgreSQL cannot be reached (the reason is printed). */
export async function runPostgresAppend(count: number, rounds: number, say: (line: string) => void): Promise<PostgresAppendFigure | undefined> {
  const db = await createBenchDatabase(say, 'PostgreSQL append');
  if (!db) return undefined;
  const url = new URL(db.url);
  const best: Partial<PostgresAppendFigure> = {};
  try {
    for (let round = 0; round < rounds; round++) {
      const schemaOf = (mode: string) => `${mode}_${round}`;
      const setup = new pg.Client({ connectionString: url.toString() });
      await setup.connect();
      await setup.query(`CREATE SCHEMA ${schemaOf('baseline')}; CREATE SCHEMA ${schemaOf('product')}`);
      await setup.end();
      const baseline = await run('pg-audit-append.ts', { type: 'run', mode: 'baseline', url: url.toString(), schema: schemaOf('baseline'), count, concurrency: 50 });
      // Two instances at once, 25 appenders each, on one chain: the figure is all records over the longer of the two.
      const half = Math.floor(count / 2);
      const [a, b] = await Promise.all([
        run('pg-audit-append.ts', { type: 'run', mode: 'product', url: url.toString(), schema: schemaOf('product'), from: 0, count: half, concurrency: 25 }),
        run('pg-audit-append.ts', { type: 'run', mode: 'product', url: url.toString(), schema: schemaOf('product'), from: half, count: count - half, concurrency: 25 }),
      ]);
      const seconds = Math.max(a.seconds, b.seconds);
      const product: Rate = { type: 'result', count: a.count + b.count, seconds, perSecond: (a.count + b.count) / seconds };
      if (!best.product || product.perSecond > best.product.perSecond) best.product = product;
      if (!best.baseline || baseline.perSecond > best.baseline.perSecond) best.baseline = baseline;
    }
  } finally {
    await db.drop();
  }
  return best as PostgresAppendFigure;
}
