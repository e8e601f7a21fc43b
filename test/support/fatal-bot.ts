/**
 * A bot in process on a data directory of the test's, with its log lines and what it hands on as
 * fatal (onFatal) kept: for the faults after which Countersign must say it has to be restarted.
 */
import pino from 'pino';
import { loadConfig } from '../../src/config/load';
import type { Logger } from '../../src/log/context';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import { readSettings } from '../../src/settings';
import { EXAMPLE_CONFIG } from './harness';
import { gatewayFor, startTestSandbox } from './sandbox';

export interface WatchedBot {
  bot: RunningCountersign;
  lines: { level: number; msg: string }[];
  fatal: string[];
  /** Whether the log holds the fatal line that says Countersign must be restarted. */
  saidMustRestart(): boolean;
  stop(): Promise<void>;
}

export async function startWatchedBot(dataDir: string): Promise<WatchedBot> {
  const sandbox = await startTestSandbox();
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) }) as pino.Logger & Logger;
  const fatal: string[] = [];
  const bot = await startCountersign({
    settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir }),
    config: loadConfig(EXAMPLE_CONFIG),
    azure: gatewayFor(sandbox),
    log,
    onFatal: (reason) => fatal.push(reason),
  }).catch(async (err: unknown) => {
    await sandbox.close();
    throw err;
  });
  return {
    bot,
    lines,
    fatal,
    saidMustRestart: () => lines.some((l) => l.level === 60 && l.msg === 'the store can no longer write: Countersign must be restarted'),
    stop: async () => {
      await bot.stop();
      await sandbox.close();
    },
  };
}
