/**
 * Figure 7, no leaks: the soak (children/soak.ts) against the fake connector, the bot in a process
 * of its own pinned as in figures 1 and 2. RSS at the end against RSS after the first 20,000 requests (after half the run when it is shorter than 40,000).
 */
import { shippedNodeOptions, startChild, type Message } from '../lib/proc';

export interface SoakFigure extends Message {
  count: number;
  conversations: number;
  approved: number;
  seconds: number;
  checkpoint: number;
  rssAtCheckpointMb: number;
  rssAtEndMb: number;
  peakRssMb: number;
  auditRecords: number;
  auditBytesPerRequest: number;
  databaseBytesPerRequest: number;
}

export async function runSoak(dataDir: string, count: number, conversations: number): Promise<SoakFigure> {
  // The soak's approver is one person: with a personal chat, every request's card to them would wait
  // in one queue behind Teams' 60 messages in 30 seconds (200,000 of them, days of sending), and that
  // queue, not the request path, would set the memory. So the connector answers the start of a
  // personal chat as Teams does for someone without the app (404), as it did before figure 2 needed it.
  const connector = startChild('connector.ts', { cpus: '1', env: { BENCH_CONNECTOR_PERSONAL_CHAT: 'not-installed' } });
  try {
    const { url } = await connector.next<Message & { url: string }>('ready');
    const bot = startChild('soak.ts', { cpus: '0', nodeOptions: shippedNodeOptions() });
    try {
      await bot.next('spawned', 60_000);
      return await bot.request<SoakFigure>({ type: 'run', dataDir, connectorUrl: String(url), count, conversations, checkpoint: Math.min(20_000, Math.floor(count / 2 / 50) * 50) }, 'result', 7_200_000);
    } finally {
      await bot.stop(30_000);
    }
  } finally {
    await connector.stop();
  }
}
