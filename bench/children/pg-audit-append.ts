/**
 * Figure 3b: durable audit appends on PostgreSQL. `product`: appenders each awaiting
 * PostgresAuditLog.append of one event at a time (this process is one of two instances appending to
 * the same chain at once). `baseline`: the same rows, sealed beforehand, inserted raw into the same
 * schema (triggers included) with the same durability, 50 rows per transaction under the chain lock:
 * what PostgreSQL and the disk alone do.
 */
import pg from 'pg';
import { sealRecord } from '../../src/audit/chain/chain';
import type { ChainHead } from '../../src/domain/audit';
import { openPostgresStore } from '../../src/store/postgres';
import { CHAIN_LOCK } from '../../src/store/postgres/chain-append';
import { uuidv7 } from '../../src/store/ids';
import { sampleDraft } from '../lib/sample';
import { serve } from '../lib/proc';
import { timeConcurrentAppends } from '../lib/appenders';

async function product(url: string, schema: string, from: number, count: number, appenders: number): Promise<number> {
  const store = await openPostgresStore({ connection: { url, schema, max: 10 } });
  const events = Array.from({ length: count }, (_, i) => sampleDraft(from + i));
  const seconds = await timeConcurrentAppends(store.audit, events, appenders);
  await store.close();
  return seconds;
}

async function baseline(url: string, schema: string, count: number, batch: number): Promise<number> {
  await (await openPostgresStore({ connection: { url, schema } })).close();
  let head: ChainHead | undefined;
  const rows = Array.from({ length: count }, (_, i) => {
    const { record, text } = sealRecord(sampleDraft(i), head, uuidv7());
    head = { seq: record.seq, hash: record.hash };
    return [record.seq, record.id, record.time, record.type, record.request?.id ?? null, record.actor?.aadObjectId ?? null, record.prevHash, record.hash, text];
  });
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  const insert = `INSERT INTO audit_log (seq, id, time, type, request_id, actor_id, prev_hash, hash, record)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])`;
  const started = process.hrtime.bigint();
  for (let at = 0; at < count; at += batch) {
    const slice = rows.slice(at, at + batch);
    await client.query('BEGIN; SET LOCAL synchronous_commit = on');
    await client.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
    await client.query(insert, Array.from({ length: 9 }, (_, c) => slice.map((r) => r[c])));
    await client.query('COMMIT');
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.end();
  return seconds;
}

serve({
  run: async (m) => {
    const url = String(m.url);
    const schema = String(m.schema);
    const count = Number(m.count);
    const seconds =
      m.mode === 'product'
        ? await product(url, schema, Number(m.from ?? 0), count, Number(m.concurrency ?? 25))
        : await baseline(url, schema, count, Number(m.concurrency ?? 50));
    return { type: 'result', count, seconds, perSecond: count / seconds };
  },
});
process.send?.({ type: 'spawned' });
