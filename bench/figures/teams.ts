/**
 * Figures 1 and 2: the Teams paths under load. The bot under test (Countersign, or the bare
 * botbuilder bot that is its floor) runs alone on CPU 0; autocannon and the fake Bot Connector share
 * CPU 1. Both bots get the same arrangement, the same activities and the same connector.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClickTarget } from '../lib/activities';
import { requestCard } from '../../src/cards/request-card';
import { shippedNodeOptions, startChild, type Child, type Message } from '../lib/proc';
import type { BenchDatabase } from './postgres';
import { sampleRequest } from '../lib/sample';
import type { LoadResult, LoadSpec } from '../children/load';

const BOT_CPU = '0';
const LOAD_CPU = '1';

export interface TeamsRunOptions {
  kind: 'approve' | 'message';
  connections: number;
  /** Open-loop at this many requests a second instead of saturating `connections` (children/load.ts). */
  rate?: number;
  warmupSeconds: number;
  seconds: number;
  /** Floor and product alternate this many times; the best run of each counts (the least disturbed). */
  rounds: number;
  /** The product on PostgreSQL: each round on a fresh database of its own, dropped after it. */
  postgres?: () => Promise<BenchDatabase>;
  /**
   * At most this many pending requests (creating them on PostgreSQL runs at about 150 a second here,
   * and the product there answers far fewer clicks than the floor); a run that runs out fails as unclean.
   */
  maxPool?: number;
  /**
   * The floor as measured minutes before in the same run (the quick run reuses the SQLite click's
   * floor for the PostgreSQL one, to stay short); the bare bot is then not run again.
   */
  floor?: LoadResult;
}

export interface TeamsFigure {
  baseline: LoadResult;
  product: LoadResult;
  /** What the product did during the run (audit records by type, connector calls, Azure calls). */
  checks: Record<string, unknown>;
}

async function load(spec: Omit<LoadSpec, 'type'>): Promise<LoadResult> {
  const child = startChild('load.ts', { cpus: LOAD_CPU });
  try {
    await child.next('ready');
    return await child.request<LoadResult>({ type: 'run', ...spec }, 'result');
  } finally {
    await child.stop();
  }
}

function syntheticPool(dir: string, size: number): string {
  const pool: ClickTarget[] = Array.from({ length: size }, (_, i) => ({ requestId: `CS-B${String(i).padStart(7, '0')}`, cardActivityId: `bench-card-${i}`, operationHash: 'f'.repeat(64) }));
  const file = path.join(dir, 'pool.json');
  fs.writeFileSync(file, JSON.stringify(pool));
  return file;
}

/** The bare bot's answer: a card the size of Countersign's request card, rendered once. */
export function writeFixedCard(dir: string): string {
  const file = path.join(dir, 'fixed-card.json');
  fs.writeFileSync(file, JSON.stringify(requestCard(sampleRequest())));
  return file;
}

/** A bot under load on BOT_CPU: the product with the Node options it ships with (`nodeOptions`), the bare bot with Node's defaults. */
async function withBot<T>(script: string, start: Message | undefined, use: (bot: Child, ready: Message) => Promise<T>, options: { env?: Record<string, string>; nodeOptions?: string[] } = {}): Promise<T> {
  const bot = startChild(script, { cpus: BOT_CPU, ...options });
  try {
    const ready = start ? (await bot.next('spawned', 60_000), await bot.request<Message>(start, 'ready', 300_000)) : await bot.next<Message>('ready', 60_000);
    return await use(bot, ready);
  } finally {
    await bot.stop(30_000);
  }
}

export async function runTeamsFigure(options: TeamsRunOptions): Promise<TeamsFigure> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `countersign-bench-${options.kind}-`));
  const connector = startChild('connector.ts', { cpus: LOAD_CPU });
  try {
    const { url: connectorUrl } = await connector.next<Message & { url: string }>('ready');
    const spec = { connectorUrl: String(connectorUrl), kind: options.kind, connections: options.connections, ...(options.rate ? { rate: options.rate } : {}), warmupSeconds: options.warmupSeconds, seconds: options.seconds };

    const baselinePool = options.kind === 'approve' ? syntheticPool(work, 400_000) : undefined;
    const fixedCard = writeFixedCard(work);
    let baseline: LoadResult | undefined;
    let product: LoadResult | undefined;
    let stats: Message = { type: 'stats' };
    let poolSize = 0;
    for (let round = 0; round < options.rounds; round++) {
      const b =
        options.floor ??
        (await withBot(
          'bare-bot.ts',
          undefined,
          (_bot, ready) => load({ ...spec, url: String(ready.url), ...(baselinePool ? { poolFile: baselinePool } : {}) }),
          { env: { BENCH_FIXED_CARD: fixedCard } },
        ));
      if (!baseline || b.rps > baseline.rps) baseline = b;
      // Enough distinct pending requests for the product even if it kept up with the floor.
      const offered = options.rate ?? b.rps;
      poolSize = options.kind === 'approve' ? Math.min(options.maxPool ?? Infinity, Math.ceil(offered * (options.warmupSeconds + options.seconds) * 1.15) + 500) : 0;
      await connector.request({ type: 'reset' }, 'reset');
      const dataDir = path.join(work, `product-${round}`);
      fs.mkdirSync(dataDir);
      const db = options.postgres ? await options.postgres() : undefined;
      let p;
      try {
        p = await withBot('product-bot.ts', { type: 'start', dataDir, pool: poolSize, ...(db ? { databaseUrl: db.url } : {}) }, async (bot, ready) => {
          const result = await load({ ...spec, url: String(ready.url), ...(ready.poolFile ? { poolFile: String(ready.poolFile) } : {}) });
          const s = await bot.request<Message>({ type: 'stats' }, 'stats', 300_000);
          return { result, s };
        }, { nodeOptions: shippedNodeOptions() });
      } finally {
        await db?.drop();
      }
      if (!product || p.result.rps > product.rps) {
        product = p.result;
        stats = p.s;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    if (!baseline || !product) throw new Error('no rounds were run');
    // Every measured click must have been a real approval of its own request, and every answer good.
    const counts = (stats.audit ?? {}) as Record<string, number>;
    if (product.bad > 0 || baseline.bad > 0 || (counts['click.refused'] ?? 0) > 0 || (options.kind === 'approve' && (counts['approval.granted'] ?? 0) < product.requests)) {
      throw new Error(`the ${options.kind} run was not clean: ${product.bad} bad product answers, ${baseline.bad} bad floor answers, audit ${JSON.stringify(counts)}`);
    }
    const connectorStats = await connector.request<Message>({ type: 'stats' }, 'stats');
    const { type: _a, ...audit } = stats;
    const { type: _b, ...sent } = connectorStats;
    return { baseline, product, checks: { poolSize, ...audit, connector: sent } };
  } finally {
    await connector.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
