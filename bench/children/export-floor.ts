/**
 * The floor of figure 5: what reading the stored records and writing them out costs without any
 * Countersign code: better-sqlite3 pages of 1000 rows (the stored text is already the record's
 * canonical JSON, so a JSON Lines export could be these bytes), written with backpressure to a
 * file. Reports its own time and peak resident set.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import Database from 'better-sqlite3';
import { databaseFile } from '../../src/settings';
import { serve } from '../lib/proc';

serve({
  run: async (m) => {
    const started = process.hrtime.bigint();
    const db = new Database(databaseFile(String(m.dataDir)), { readonly: true });
    const page = db.prepare('SELECT seq, record FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 1000');
    const out = fs.createWriteStream(String(m.file));
    let count = 0;
    for (let after = 0; ; ) {
      const rows = page.all(after) as { seq: number; record: string }[];
      if (rows.length === 0) break;
      let text = '';
      for (const row of rows) text += `${row.record}\n`;
      count += rows.length;
      after = rows[rows.length - 1].seq;
      if (!out.write(text)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    db.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const bytes = fs.statSync(String(m.file)).size;
    fs.rmSync(String(m.file), { force: true });
    return { type: 'result', count, seconds, bytes, maxRssMb: process.resourceUsage().maxRSS / 1024, uptimeSeconds: process.uptime() };
  },
});
process.send?.({ type: 'spawned' });
