/**
 * Figure 3: durable audit appends. `product`: 50 appenders each awaiting SqliteAuditLog.append of
 * one event at a time, as concurrent clicks do (the group committer shares commits between them).
 * `baseline`: the same rows, sealed beforehand, inserted with raw better-sqlite3 into the same
 * schema with the same durability (WAL, synchronous=FULL), 50 rows per transaction: what SQLite and
 * the disk alone do.
 */
import path from 'node:path';
import { sealRecord } from '../../src/audit/chain/chain';
import type { ChainHead } from '../../src/domain/audit';
import type { AuditEventDraft } from '../../src/domain/audit';
import { openSqliteStore } from '../../src/store/sqlite';
import { openWritable } from '../../src/store/sqlite/connection';
import { migrate } from '../../src/store/sqlite/migrations';
import { uuidv7 } from '../../src/store/ids';
import { sampleDraft } from '../lib/sample';
import { serve } from '../lib/proc';
import { timeConcurrentAppends } from '../lib/appenders';

function drafts(count: number): AuditEventDraft[] {
  return Array.from({ length: count }, (_, i) => sampleDraft(i));
}

async function product(file: string, count: number, appenders: number): Promise<number> {
  const store = await openSqliteStore({ file });
  const seconds = await timeConcurrentAppends(store.audit, drafts(count), appenders);
  await store.close();
  return seconds;
}

type Row = (string | number | null)[];

function sealer(): (d: AuditEventDraft) => Row {
  let head: ChainHead | undefined;
  return (d) => {
    const { record, text } = sealRecord(d, head, uuidv7());
    head = { seq: record.seq, hash: record.hash };
    return [record.seq, record.id, record.time, record.type, record.request?.id ?? null, record.actor?.aadObjectId ?? null, record.prevHash, record.hash, text];
  };
}

/**
 * `sealInline` (a diagnostic, not the floor): the same raw batched inserts with each row sealed
 * (canonical JSON, SHA-256) just before its insert, which tells how much of the distance between
 * the product and the floor is the sealing and how much the group committer.
 */
function baseline(file: string, count: number, batch: number, sealInline = false): number {
  const db = openWritable(file);
  migrate(db);
  const seal = sealer();
  const events = drafts(count);
  const rows: Row[] = sealInline ? [] : events.map(seal);
  const insert = db.prepare('INSERT INTO audit_log (seq, id, time, type, request_id, actor_id, prev_hash, hash, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const started = process.hrtime.bigint();
  for (let at = 0; at < count; at += batch) {
    begin.run();
    for (let i = at; i < Math.min(count, at + batch); i++) insert.run(sealInline ? seal(events[i]) : rows[i]);
    commit.run();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return seconds;
}

serve({
  run: async (m) => {
    const file = path.join(String(m.dir), `${String(m.mode)}.db`);
    const count = Number(m.count);
    const concurrency = Number(m.concurrency ?? 50);
    const seconds = m.mode === 'product' ? await product(file, count, concurrency) : baseline(file, count, concurrency, m.mode === 'sealInline');
    return { type: 'result', count, seconds, perSecond: count / seconds };
  },
});
process.send?.({ type: 'spawned' });
