/**
 * Countersign itself for the load runs, started through startCountersign exactly as main.ts does
 * (its own SQLite store in a data directory, or with `databaseUrl` the PostgreSQL store on that fresh
 * database as COUNTERSIGN_STORE=postgres chooses it; the shipped durability, info logs on stdout), with the
 * example config and the recording Azure gateway. Before it starts, pending requests are created
 * through the product path (createRequest) and their card messages registered, so that each load
 * click approves a distinct request from the card message posted for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/log/logger';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import { readSettings } from '../../src/settings';
import { recordingAzure } from '../lib/azure-stub';
import { EXAMPLE_CONFIG, auditCounts, createPendingPool } from '../lib/pool';
import { report, serve, type Message } from '../lib/proc';
import { startProfile, stopProfile } from '../lib/profile';

let running: RunningCountersign | undefined;
const azure = recordingAzure({ hold: true });
let dataDir = '';
let databaseUrl: string | undefined;

async function start(m: Message): Promise<Message> {
  dataDir = String(m.dataDir);
  databaseUrl = m.databaseUrl ? String(m.databaseUrl) : undefined;
  const poolSize = Number(m.pool ?? 0);
  const pool = poolSize > 0 ? await createPendingPool(dataDir, poolSize, 'P', databaseUrl) : [];
  const poolFile = path.join(dataDir, 'pool.json');
  fs.writeFileSync(poolFile, JSON.stringify(pool));
  // The load is two people making requests as fast as they can: it measures what creating a request
  // costs, so one person's rate limit (docs/limits.md) is lifted here.
  const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, LOG_LEVEL: 'info', COUNTERSIGN_REQUESTS_PER_HOUR: '1000000', ...(databaseUrl ? { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: databaseUrl } : {}) });
  running = await startCountersign({ settings, config: loadConfig(EXAMPLE_CONFIG), azure, log: createLogger(settings.logLevel) });
  await startProfile();
  return { type: 'ready', url: running.url, poolFile };
}

serve({
  start,
  stats: async () => {
    await stopProfile('product-bot');
    // What the window left behind (card updates and messages queued under Teams' per-conversation
    // rate limit, held ARM operations) is not waited for: the audit log says what was done.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { type: 'stats', audit: await auditCounts(dataDir, databaseUrl), azureCalls: azure.calls, rssMb: process.memoryUsage().rss / 2 ** 20 };
  },
  // The store is durable at every commit; nothing needs draining to stop a benchmark run.
  stop: () => process.exit(0),
});
report({ type: 'spawned' });
