/**
 * Countersign with its real logger (src/log/logger.ts) writing JSON lines into memory, the ARM sandbox and
 * the fake Bot Connector: what an operator would see in the logs of a real run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/log/logger';
import { startCountersign, type RunningCountersign } from '../../src/main';
import type { ArmSandbox } from '../../src/sandbox';
import { databaseFile, readSettings } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { FakeConnector } from '../support/connector';
import { EXAMPLE_CONFIG } from '../support/harness';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { TeamsDriver } from '../support/teams';

export type LogLine = Record<string, unknown> & { msg?: string };

export interface LoggedCountersign {
  bot: RunningCountersign;
  sandbox: ArmSandbox;
  connector: FakeConnector;
  teams: TeamsDriver;
  /** Every line logged so far, parsed. */
  lines: LogLine[];
  /** Every line logged so far, exactly as written. */
  raw: string[];
  stop(): Promise<void>;
}

export async function startLoggedCountersign(options: { secrets?: string[]; wrapStore?: (store: Store) => Store } = {}): Promise<LoggedCountersign> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-ops-'));
  const sandbox = await startTestSandbox();
  const connector = await new FakeConnector().start();
  const raw: string[] = [];
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line.trim()) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      cb();
    },
  });
  const log = createLogger('debug', sink, { secrets: options.secrets ?? [] });
  const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir });
  const opened = await openSqliteStore({ file: databaseFile(dataDir) });
  const store = options.wrapStore ? options.wrapStore(opened) : opened;
  const bot = await startCountersign({ settings, config: loadConfig(EXAMPLE_CONFIG), azure: gatewayFor(sandbox), log, store });
  return {
    bot,
    sandbox,
    connector,
    teams: new TeamsDriver(bot.url, connector),
    lines,
    raw,
    async stop() {
      await bot.stop();
      await opened.close();
      await connector.stop();
      await sandbox.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits for the bot's background work (executions, card updates) to finish. */
export async function settled(c: LoggedCountersign): Promise<void> {
  await c.bot.executor.idle();
  await c.bot.notifier.idle();
}
