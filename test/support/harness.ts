/**
 * The whole of Countersign for a test: the real bot over HTTP on an ephemeral loopback port, its
 * SQLite store in a temp folder, the real ARM SDK against the ARM sandbox, and the fake Bot
 * Connector recording what Teams would show.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createAzureGateway, sandboxCredential } from '../../src/azure';
import type { Logger } from '../../src/log/context';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { openSqliteStore } from '../../src/store/sqlite';
import { databaseFile } from '../../src/settings';
import { loadConfig, parseConfig, type CountersignConfig } from '../../src/config/load';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import { startArmSandbox, type ArmSandbox, type SandboxTiming } from '../../src/sandbox';
import type { AzureGateway, Directory } from '../../src/app/ports';
import { readSettings } from '../../src/settings';
import type { Telemetry } from '../../src/telemetry';
import { FakeConnector } from './connector';
import { TestClock } from './app-fakes';
import { EXAMPLE_CONFIG } from './people';
import { TeamsDriver } from './teams';

export { EXAMPLE_CONFIG } from './people';
export { TestClock } from './app-fakes';

export interface Harness {
  bot: RunningCountersign;
  sandbox: ArmSandbox;
  connector: FakeConnector;
  teams: TeamsDriver;
  clock: TestClock;
  dataDir: string;
  /** Every line logged so far, parsed. */
  logs: Record<string, unknown>[];
  /** Every line logged so far, exactly as written. */
  rawLogs: string[];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** YAML text replacing the example config (written next to the example templates). */
  configText?: string;
  config?: CountersignConfig;
  env?: Record<string, string>;
  sweepIntervalMs?: number;
  /** Wraps the SQLite store (fault injection). */
  wrapStore?: (store: Store) => Store;
  /** The logger, writing JSON lines into `sink` (default: pino at debug). */
  logger?: (sink: Writable) => pino.Logger & Logger;
  /** True: the clock follows real time (and can still be advanced). Default: stopped at the start. */
  realTime?: boolean;
  /** The sandbox's timing (default: 5 ms steps). */
  sandboxTiming?: Partial<SandboxTiming>;
  /** The Azure gateway (default: the real SDK against the sandbox, polling every 5 ms). */
  azure?: (sandbox: ArmSandbox) => AzureGateway;
  /** Telemetry the bot sends to (in-memory exporters). */
  telemetry?: Telemetry;
  /** Entra group membership (e.g. GraphDirectory against a fake Graph). */
  directory?: Directory;
  /** How long a stop waits for executions, then for messages (default: the bot's 20 s). */
  shutdownGraceMs?: number;
}

/** The one way tests start the whole bot (test/ops builds its logged variant on it). */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-test-'));
  const sandbox = await startArmSandbox({ timing: { deploymentStepMs: 5, operationMs: 5, retryAfterSeconds: 0, ...options.sandboxTiming } });
  const connector = await new FakeConnector().start();
  const clock = new TestClock(new Date(), { realTime: options.realTime ?? false });
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line.trim()) continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  const log = options.logger ? options.logger(sink) : (pino({ level: 'debug' }, sink) as pino.Logger & Logger);
  const config = options.config ?? (options.configText ? parseConfig(options.configText, EXAMPLE_CONFIG) : loadConfig(EXAMPLE_CONFIG));
  const azure = options.azure
    ? options.azure(sandbox)
    : createAzureGateway({
        subscriptionId: sandbox.subscriptionId,
        credential: sandboxCredential(),
        endpoint: sandbox.url,
        caPem: sandbox.caPem,
        sandbox: true,
        pollIntervalMs: 5,
      });
  const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, LOG_LEVEL: 'debug', ...(options.env ?? {}) });
  const raw = await openSqliteStore({ file: databaseFile(dataDir), busyTimeoutMs: settings.storeLockWaitMs });
  const store = options.wrapStore ? options.wrapStore(raw) : raw;
  const bot = await startCountersign({ settings, config, azure, clock, log, store, ...(options.sweepIntervalMs ? { sweepIntervalMs: options.sweepIntervalMs } : {}), ...(options.telemetry ? { telemetry: options.telemetry } : {}), ...(options.directory ? { directory: options.directory } : {}), ...(options.shutdownGraceMs !== undefined ? { shutdownGraceMs: options.shutdownGraceMs } : {}) });
  const teams = new TeamsDriver(bot.url, connector);
  return {
    bot,
    sandbox,
    connector,
    teams,
    clock,
    dataDir,
    logs,
    rawLogs,
    async stop() {
      await bot.executor.idle();
      await bot.stop();
      await raw.close();
      await connector.stop();
      await sandbox.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
