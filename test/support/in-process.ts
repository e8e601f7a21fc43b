/**
 * Runs of Countersign started and stopped in the test's process on one database file, with the ARM
 * sandbox and the fake Bot Connector: for scenarios across a restart or several instances.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Clock } from '../../src/app/ports';
import { loadConfig } from '../../src/config/load';
import type { Logger } from '../../src/log/context';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import type { ArmSandbox } from '../../src/sandbox';
import { databaseFile, readSettings } from '../../src/settings';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { FakeConnector } from './connector';
import { EXAMPLE_CONFIG } from './people';
import { gatewayFor, startTestSandbox } from './sandbox';

export interface InProcessRuns {
  sandbox: ArmSandbox;
  connector: FakeConnector;
  store: SqliteStore;
  /** Starts another run on the same database (the example config, a quiet log). */
  start(options?: { env?: Record<string, string>; clock?: Clock; pollMs?: number; sweepIntervalMs?: number; shutdownGraceMs?: number }): Promise<RunningCountersign>;
  /** Stops one run (gracefully, as a deployment would), leaving the others. */
  stop(bot: RunningCountersign): Promise<void>;
  close(): Promise<void>;
}

export async function inProcessRuns(prefix: string): Promise<InProcessRuns> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const sandbox = await startTestSandbox();
  const connector = await new FakeConnector().start();
  const store = await openSqliteStore({ file: databaseFile(dataDir) });
  const running: RunningCountersign[] = [];
  const quiet = () => pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() })) as pino.Logger & Logger;
  const runs: InProcessRuns = {
    sandbox,
    connector,
    store,
    async start(o = {}) {
      const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, ...(o.env ?? {}) });
      const bot = await startCountersign({
        settings,
        config: loadConfig(EXAMPLE_CONFIG),
        azure: gatewayFor(sandbox, o.pollMs ?? 20),
        log: quiet(),
        store,
        ...(o.clock ? { clock: o.clock } : {}),
        ...(o.sweepIntervalMs ? { sweepIntervalMs: o.sweepIntervalMs } : {}),
        ...(o.shutdownGraceMs ? { shutdownGraceMs: o.shutdownGraceMs } : {}),
      });
      running.push(bot);
      return bot;
    },
    async stop(bot) {
      running.splice(running.indexOf(bot), 1);
      await bot.stop();
    },
    async close() {
      for (const bot of running.splice(0)) await bot.stop();
      await store.close();
      await connector.stop();
      await sandbox.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return runs;
}
