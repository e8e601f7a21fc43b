/**
 * Pending requests for the benchmarks, created through the product path (createRequest, as a
 * message does) with their card messages registered, and what a run left in the audit log.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AppDeps } from '../../src/app/context';
import { createRequest } from '../../src/app/requests';
import { systemClock } from '../../src/app/ids';
import { loadConfig } from '../../src/config/load';
import { SANDBOX_SUBSCRIPTION_ID } from '../../src/sandbox';
import { databaseFile } from '../../src/settings';
import type { CountersignStore } from '../../src/store/countersign-store';
import { openPostgresStore } from '../../src/store/postgres';
import { openSqliteStore } from '../../src/store/sqlite';
import { actorOf } from '../../test/support/people';
import { CHANNEL, alice, type ClickTarget } from './activities';
import { recordingAzure } from './azure-stub';

export const EXAMPLE_CONFIG = path.resolve(__dirname, '..', '..', 'config', 'countersign.example.yaml');

const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Ids shaped like the product's (CS- and eight Crockford characters), counted so a pool never collides. */
function countedIds(prefix: string) {
  let n = 0;
  return {
    requestId: () => {
      let x = n++;
      let id = '';
      for (let k = 0; k < 7; k++, x = Math.floor(x / 32)) id = ALPHABET[x % 32] + id;
      return `CS-${prefix}${id}`;
    },
  };
}

/** The store a run uses: the SQLite file in the data directory, or the PostgreSQL database at `databaseUrl`. */
function openBenchStore(dataDir: string, databaseUrl?: string): Promise<CountersignStore> {
  return databaseUrl ? openPostgresStore({ connection: { url: databaseUrl, max: 10 }, migrate: 'always' }) : openSqliteStore({ file: databaseFile(dataDir) });
}

/**
 * Creates `count` pending requests by Alice through createRequest, each with its card message, in
 * the data directory's SQLite store or, given `databaseUrl`, in that PostgreSQL database.
 */
export async function createPendingPool(dataDir: string, count: number, prefix = 'P', databaseUrl?: string): Promise<ClickTarget[]> {
  const config = loadConfig(EXAMPLE_CONFIG);
  const store = await openBenchStore(dataDir, databaseUrl);
  const deps: AppDeps = {
    store,
    azure: recordingAzure(),
    notifier: { cardChanged: async () => undefined, tellRequester: async () => 'sent' as const },
    config,
    clock: systemClock,
    ids: countedIds(prefix),
    log: quietLog,
    subscriptionId: SANDBOX_SUBSCRIPTION_ID,
  };
  const command = config.catalog.find('delete resource group');
  if (!command) throw new Error('the example config has no "delete resource group" command');
  const actor = actorOf(alice);
  const pool: ClickTarget[] = [];
  const BATCH = 1000;
  for (let start = 0; start < count; start += BATCH) {
    const made = await Promise.all(
      Array.from({ length: Math.min(BATCH, count - start) }, async (_, k) => {
        const i = start + k;
        const source = { channelId: 'msteams', conversationId: CHANNEL.id, conversationType: CHANNEL.conversationType, activityId: `bench-ask-${i}` };
        const result = await createRequest(deps, { command, values: { name: `staging-old-${i}` }, reason: 'incident 4711 cleanup', actor, source });
        if (!result.ok) throw new Error(`could not create a pending request: ${JSON.stringify(result)}`);
        const cardActivityId = `bench-card-${prefix}-${i}`;
        await store.cards.saveCardMessage(result.request.id, { conversationId: CHANNEL.id, activityId: cardActivityId });
        return { requestId: result.request.id, cardActivityId, operationHash: result.request.operationHash };
      }),
    );
    pool.push(...made);
  }
  await store.close();
  return pool;
}

/** Audit records by type, read with a connection of its own (SQLite file, or the PostgreSQL database at `databaseUrl`). */
export async function auditCounts(dataDir: string, databaseUrl?: string): Promise<Record<string, number>> {
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ type: string; n: string }>('SELECT type, COUNT(*) AS n FROM audit_log GROUP BY type');
      return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
    } finally {
      await client.end();
    }
  }
  const db = new Database(databaseFile(dataDir), { readonly: true });
  try {
    const rows = db.prepare('SELECT type, COUNT(*) AS n FROM audit_log GROUP BY type').all() as { type: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  } finally {
    db.close();
  }
}

