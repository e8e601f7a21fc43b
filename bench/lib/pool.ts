/**
 * Pending requests for the benchmarks, created through the product path (createRequest, as a
 * message does) with their card messages registered, and what a run left in the audit log.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AppDeps } from '../../src/app/context';
import { createRequest } from '../../src/app/requests';
import { systemClock } from '../../src/app/ids';
import { loadConfig } from '../../src/config/load';
import { SANDBOX_SUBSCRIPTION_ID } from '../../src/sandbox';
import { databaseFile } from '../../src/settings';
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

/** Creates `count` pending requests by Alice through createRequest, each with its card message. */
export async function createPendingPool(dataDir: string, count: number, prefix = 'P'): Promise<ClickTarget[]> {
  const config = loadConfig(EXAMPLE_CONFIG);
  const store = await openSqliteStore({ file: databaseFile(dataDir) });
  const deps: AppDeps = {
    store,
    azure: recordingAzure(),
    notifier: { cardChanged: async () => undefined, tellRequester: async () => undefined },
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
        const result = await createRequest(deps, { command, values: { name: `staging-old-${i % 1000}` }, reason: 'incident 4711 cleanup', actor, source });
        if (!result.ok) throw new Error(`could not create a pending request: ${JSON.stringify(result)}`);
        const cardActivityId = `bench-card-${prefix}-${i}`;
        await store.conversations.saveCardMessage(result.request.id, { conversationId: CHANNEL.id, activityId: cardActivityId });
        return { requestId: result.request.id, cardActivityId, operationHash: result.request.operationHash };
      }),
    );
    pool.push(...made);
  }
  await store.close();
  return pool;
}

/** Audit records by type, read with a connection of its own. */
export function auditCounts(dataDir: string): Record<string, number> {
  const db = new Database(databaseFile(dataDir), { readonly: true });
  try {
    const rows = db.prepare('SELECT type, COUNT(*) AS n FROM audit_log GROUP BY type').all() as { type: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  } finally {
    db.close();
  }
}

