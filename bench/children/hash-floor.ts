/**
 * The floor of figure 4: Node's SHA-256 (one-shot crypto.hash, as the product uses) over the
 * canonical bytes of the same records (each record's RFC 8785 text without its hash), prepared in
 * memory beforehand so that only hashing is timed. For the record, two more floors no verifier of
 * this database can beat: reading the rows (pages of 1000, as verification reads them) and parsing
 * their JSON.
 */
import { hash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../../src/domain/audit';
import { auditRecordBody } from '../../src/domain/canonical';
import { databaseFile } from '../../src/settings';
import { serve } from '../lib/proc';

function bestOf(passes: number, run: () => number): number {
  let best = Infinity;
  for (let pass = 0; pass < passes; pass++) {
    const started = process.hrtime.bigint();
    if (run() === 0) throw new Error('nothing was done');
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return best;
}

serve({
  run: (m) => {
    const db = new Database(databaseFile(String(m.dataDir)), { readonly: true });
    const limit = Number(m.limit);
    const page = db.prepare('SELECT seq, id, time, type, request_id, actor_id, prev_hash, hash, record FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 1000');
    const texts: string[] = [];
    const readSeconds = bestOf(2, () => {
      texts.length = 0;
      for (let after = 0; texts.length < limit; ) {
        const rows = page.all(after) as { seq: number; record: string }[];
        if (rows.length === 0) break;
        for (const row of rows) texts.push(row.record);
        after = rows[rows.length - 1].seq;
      }
      return texts.length;
    });
    db.close();
    texts.length = Math.min(texts.length, limit);
    const parseSeconds = bestOf(2, () => texts.reduce((n, t) => n + (JSON.parse(t) as AuditRecord).seq, 0));
    const bodies = texts.map((t) => Buffer.from(auditRecordBody(JSON.parse(t) as AuditRecord)));
    const count = bodies.length;
    texts.length = 0;
    const seconds = bestOf(3, () => bodies.reduce((n, b) => n + hash('sha256', b, 'hex').length, 0));
    return { type: 'result', count, seconds, perSecond: count / seconds, readPerSecond: count / readSeconds, parsePerSecond: count / parseSeconds };
  },
});
process.send?.({ type: 'spawned' });
