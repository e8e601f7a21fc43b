/**
 * Builds a data directory whose audit log holds `records` records, written through the product's
 * append path (SqliteAuditLog.append, which seals and chains every record) in batches of 1000, and
 * optionally `pending` pending requests created through createRequest with their card messages.
 */
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { sampleDraft } from '../lib/sample';
import { serve } from '../lib/proc';
import { createPendingPool } from '../lib/pool';

const BATCH = 1000;

serve({
  build: async (m) => {
    const dataDir = String(m.dataDir);
    const records = Number(m.records ?? 0);
    const started = process.hrtime.bigint();
    if (records > 0) {
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      for (let done = 0; done < records; done += BATCH) {
        const drafts = Array.from({ length: Math.min(BATCH, records - done) }, (_, k) => sampleDraft(done + k));
        await store.audit.append(drafts);
      }
      await store.close();
    }
    const pool = Number(m.pending ?? 0) > 0 ? await createPendingPool(dataDir, Number(m.pending)) : [];
    return { type: 'built', seconds: Number(process.hrtime.bigint() - started) / 1e9, pending: pool.length };
  },
});
process.send?.({ type: 'spawned' });
