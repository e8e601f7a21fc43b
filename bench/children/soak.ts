/**
 * Figure 7, the soak: Countersign (started as product-bot.ts starts it, executions running to
 * their end against the Azure stub) takes `count` requests through the product path, in windows of
 * 50: Alice asks in one of `conversations` channels over HTTP (request stored and audited, card posted
 * to the fake connector), Bob approves each from the card message posted for it (approval,
 * execution against the stub, card updates). The driver keeps nothing but the current window, so the
 * resident set read from /proc is the bot's. RSS is sampled at the checkpoint the orchestrator names and at
 * the end; audit bytes per request come from the database file.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/log/logger';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import { databaseFile, readSettings } from '../../src/settings';
import { TENANT, clickActivity, messageActivity } from '../lib/activities';
import { recordingAzure } from '../lib/azure-stub';
import { EXAMPLE_CONFIG } from '../lib/pool';
import { report, serve, type Message } from '../lib/proc';

const WINDOW = 50;

function rssMb(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Memory after a full collection (MB): what is still referenced, by kind (diagnostic for RSS). */
function liveMemory(): Record<string, number> {
  gc();
  return Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 2 ** 20)]));
}

async function post(url: string, activity: Record<string, unknown>): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
  } catch (err) {
    // fetch says only "fetch failed": the reason (reset, refused, timeout) is its cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`posting ${String(activity.id)} failed: ${cause?.code ?? ''} ${cause?.message ?? String(err)}`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new Error(`the bot answered ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

async function drain(bot: RunningCountersign): Promise<void> {
  // Executions finish in the background: wait until nothing is left approved or executing.
  for (let i = 0; i < 600; i++) {
    const open = await bot.store.requests.list({ states: ['approved', 'executing'], limit: 1 });
    if (open.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function run(m: Message): Promise<Message> {
  const dataDir = String(m.dataDir);
  const connectorUrl = String(m.connectorUrl);
  const count = Number(m.count);
  const conversations = Number(m.conversations);
  const checkpoint = Number(m.checkpoint);
  const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, LOG_LEVEL: 'info', COUNTERSIGN_REQUESTS_PER_HOUR: '100000000' });
  const bot = await startCountersign({ settings, config: loadConfig(EXAMPLE_CONFIG), azure: recordingAzure(), log: createLogger(settings.logLevel) });
  const started = performance.now();
  let rssAtCheckpoint = NaN;
  let heapAtCheckpoint: Record<string, number> = {};
  let approved = 0;
  /** [requests done, RSS MB] every twentieth of the run. */
  const trajectory: [number, number][] = [];
  for (let done = 0; done < count; ) {
    const n = Math.min(WINDOW, count - done);
    const asked = Array.from({ length: n }, (_, k) => {
      const i = done + k;
      const conversation = { id: `19:soak-${i % conversations}@thread.tacv2`, conversationType: 'channel', tenantId: TENANT, isGroup: true };
      return { i, conversation, ask: { ...messageActivity(connectorUrl, i), id: `soak-ask-${i}`, conversation } };
    });
    await Promise.all(asked.map((a) => post(bot.url, a.ask)));
    const pending = await bot.store.requests.list({ states: ['pending'] });
    await Promise.all(
      pending.map(async (request, k) => {
        const [card] = await bot.store.cards.getCardMessages(request.id);
        if (!card) throw new Error(`no card message for ${request.id}`);
        const click = clickActivity(connectorUrl, { requestId: request.id, cardActivityId: card.activityId, operationHash: request.operationHash }, done + k);
        await post(bot.url, { ...click, id: `soak-click-${done + k}`, conversation: { id: card.conversationId, conversationType: 'channel', tenantId: TENANT, isGroup: true } });
        approved++;
      }),
    );
    done += n;
    if (done % Math.max(WINDOW, Math.floor(count / 20 / WINDOW) * WINDOW) === 0) trajectory.push([done, Math.round(rssMb())]);
    if (done === checkpoint) {
      await drain(bot);
      rssAtCheckpoint = rssMb();
      heapAtCheckpoint = liveMemory();
    }
  }
  await drain(bot);
  const seconds = (performance.now() - started) / 1000;
  const rssAtEnd = rssMb();
  const heapAtEnd = liveMemory();
  if (process.env.BENCH_SOAK_SMAPS) fs.writeFileSync(process.env.BENCH_SOAK_SMAPS, fs.readFileSync('/proc/self/smaps'));
  if (process.env.BENCH_SOAK_HEAP_SNAPSHOT) v8.writeHeapSnapshot(process.env.BENCH_SOAK_HEAP_SNAPSHOT);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  await bot.stop();
  const file = databaseFile(dataDir);
  const db = new Database(file, { readonly: true });
  const audit = db.prepare('SELECT COUNT(*) AS records, SUM(LENGTH(CAST(record AS BLOB))) AS bytes FROM audit_log').get() as { records: number; bytes: number };
  db.close();
  return { type: 'result', count, conversations, approved, seconds, rssAtCheckpointMb: rssAtCheckpoint, checkpoint, rssAtEndMb: rssAtEnd, memoryAtCheckpoint: heapAtCheckpoint, memoryAtEnd: heapAtEnd, peakRssMb, trajectory, auditRecords: audit.records, auditBytesPerRequest: audit.bytes / count, databaseBytesPerRequest: fs.statSync(file).size / count };
}

serve({ run });
report({ type: 'spawned' });
